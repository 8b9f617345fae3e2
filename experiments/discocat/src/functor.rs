//! The DisCoCat functor into finite-dimensional vector spaces: atomic types to dimensions, word
//! and box names to tensors, and any well-typed diagram evaluated by contracting along its cups.

use super::DiscoError;
use super::pregroup::{Diagram, Ty};
use ndarray::{ArrayD, IxDyn};
use std::collections::BTreeMap;

/// F(x) for atomic types and F(word) for boxes. A word of type t₁…tₖ is a tensor of shape
/// (dim t₁, …, dim tₖ); a box from `dom` to `cod` is a tensor of shape (cod dims…, dom dims…).
#[derive(Debug, Clone, Default)]
pub struct Functor {
    pub dims: BTreeMap<String, usize>,
    pub arrows: BTreeMap<String, ArrayD<f64>>,
}

/// A tensor whose axes carry wire labels.
struct Part {
    t: ArrayD<f64>,
    labels: Vec<usize>,
}

impl Functor {
    pub fn new(dims: &[(&str, usize)]) -> Self {
        Functor { dims: dims.iter().map(|&(k, v)| (k.to_string(), v)).collect(), arrows: BTreeMap::new() }
    }

    /// Sets F(name); its shape is checked when a diagram uses it.
    pub fn set(&mut self, name: &str, t: ArrayD<f64>) -> &mut Self {
        self.arrows.insert(name.into(), t);
        self
    }

    pub fn shape(&self, ty: &Ty) -> Result<Vec<usize>, DiscoError> {
        ty.0.iter()
            .map(|s| self.dims.get(&s.base).copied().ok_or_else(|| DiscoError::Type(format!("the functor gives no dimension for the atomic type `{}` (set it in Functor::new)", s.base))))
            .collect()
    }

    fn arrow(&self, name: &str, shape: &[usize]) -> Result<ArrayD<f64>, DiscoError> {
        let t = self.arrows.get(name).ok_or_else(|| DiscoError::Type(format!("the functor has no tensor for `{name}` (set it with Functor::set)")))?;
        if t.shape() != shape {
            return Err(DiscoError::Type(format!("the tensor of `{name}` has shape {:?}, its type wants {shape:?}", t.shape())));
        }
        Ok(t.clone())
    }

    /// F(diagram): the tensor over the open wires, in order. Each cup contracts the two tensors
    /// holding its wires (or traces one); what is left unconnected is joined by outer products.
    pub fn eval(&self, d: &Diagram) -> Result<ArrayD<f64>, DiscoError> {
        let w = d.wiring()?;
        let mut parts: Vec<Part> = Vec::new();
        let mut next = 0;
        for word in &d.words {
            let shape = self.shape(&word.ty)?;
            let k = shape.len();
            parts.push(Part { t: self.arrow(&word.name, &shape)?, labels: (next..next + k).collect() });
            next += k;
        }
        // replay ops in order: cups join labels, boxes add a tensor and join their inputs
        let mut cups = w.cups.iter();
        let mut boxes = w.boxes.iter();
        let mut fresh = w.types.len();
        for op in &d.ops {
            match op {
                super::pregroup::Op::Cup(_) => {
                    let &(a, b) = cups.next().expect("wiring has one cup per cup op");
                    join(&mut parts, a, b);
                }
                super::pregroup::Op::Box { name, dom, cod, .. } => {
                    let (_, taken, made) = boxes.next().expect("wiring has one box per box op");
                    let mut shape = self.shape(cod)?;
                    shape.extend(self.shape(dom)?);
                    let inputs: Vec<usize> = (fresh..fresh + taken.len()).collect();
                    fresh += taken.len();
                    parts.push(Part { t: self.arrow(name, &shape)?, labels: made.iter().chain(&inputs).copied().collect() });
                    for (&a, &b) in taken.iter().zip(&inputs) {
                        join(&mut parts, a, b);
                    }
                }
            }
        }
        let mut acc = Part { t: ArrayD::from_elem(IxDyn(&[]), 1.0), labels: Vec::new() };
        for p in parts {
            acc = contract(acc, p, &[]);
        }
        let order: Vec<usize> = w.open.iter().map(|o| acc.labels.iter().position(|l| l == o).expect("open wire survives")).collect();
        Ok(acc.t.permuted_axes(IxDyn(&order)).as_standard_layout().into_owned())
    }
}

/// Contracts wire `a` with wire `b` in the network.
fn join(parts: &mut Vec<Part>, a: usize, b: usize) {
    let find = |parts: &Vec<Part>, l: usize| parts.iter().position(|p| p.labels.contains(&l)).expect("every wire is on a tensor");
    let (pa, pb) = (find(parts, a), find(parts, b));
    if pa == pb {
        let p = parts.remove(pa);
        parts.insert(pa, trace(p, a, b));
        return;
    }
    let (lo, hi) = (pa.min(pb), pa.max(pb));
    let h = parts.remove(hi);
    let l = parts.remove(lo);
    let (x, y) = if pa < pb { (l, h) } else { (h, l) };
    let (ax, ay) = (x.labels.iter().position(|&q| q == a || q == b).unwrap(), y.labels.iter().position(|&q| q == a || q == b).unwrap());
    parts.insert(lo, contract(x, y, &[(ax, ay)]));
}

/// Σ over the paired axes of x ⊗ y; the result's axes are x's free axes then y's, in order.
/// Plain loops in a fixed order (no CPU-dispatched gemm): the same bits on every machine.
fn contract(x: Part, y: Part, pairs: &[(usize, usize)]) -> Part {
    let fx: Vec<usize> = (0..x.labels.len()).filter(|i| pairs.iter().all(|p| p.0 != *i)).collect();
    let fy: Vec<usize> = (0..y.labels.len()).filter(|i| pairs.iter().all(|p| p.1 != *i)).collect();
    let px: Vec<usize> = fx.iter().copied().chain(pairs.iter().map(|p| p.0)).collect();
    let py: Vec<usize> = pairs.iter().map(|p| p.1).chain(fy.iter().copied()).collect();
    let shape_x: Vec<usize> = fx.iter().map(|&i| x.t.shape()[i]).collect();
    let shape_y: Vec<usize> = fy.iter().map(|&i| y.t.shape()[i]).collect();
    let s: usize = pairs.iter().map(|p| x.t.shape()[p.0]).product();
    let (m, n) = (shape_x.iter().product::<usize>(), shape_y.iter().product::<usize>());
    let xs = x.t.permuted_axes(IxDyn(&px)).as_standard_layout().into_owned().into_raw_vec_and_offset().0;
    let ys = y.t.permuted_axes(IxDyn(&py)).as_standard_layout().into_owned().into_raw_vec_and_offset().0;
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        let row = &mut out[i * n..(i + 1) * n];
        for k in 0..s {
            let a = xs[i * s + k];
            for (o, b) in row.iter_mut().zip(&ys[k * n..(k + 1) * n]) {
                *o += a * b;
            }
        }
    }
    let labels = fx.iter().map(|&i| x.labels[i]).chain(fy.iter().map(|&i| y.labels[i])).collect();
    let shape: Vec<usize> = shape_x.into_iter().chain(shape_y).collect();
    Part { t: ArrayD::from_shape_vec(IxDyn(&shape), out).expect("sizes agree"), labels }
}

/// Σ_k t[…k…k…] over the axes labelled `a` and `b`.
fn trace(p: Part, a: usize, b: usize) -> Part {
    let ia = p.labels.iter().position(|&q| q == a).unwrap();
    let ib = p.labels.iter().position(|&q| q == b).unwrap();
    let rest: Vec<usize> = (0..p.labels.len()).filter(|&i| i != ia && i != ib).collect();
    let perm: Vec<usize> = rest.iter().copied().chain([ia, ib]).collect();
    let d = p.t.shape()[ia];
    let shape: Vec<usize> = rest.iter().map(|&i| p.t.shape()[i]).collect();
    let r: usize = shape.iter().product();
    let v = p.t.permuted_axes(IxDyn(&perm)).as_standard_layout().into_owned().into_raw_vec_and_offset().0;
    let out: Vec<f64> = (0..r).map(|i| (0..d).map(|k| v[i * d * d + k * d + k]).sum()).collect();
    Part { t: ArrayD::from_shape_vec(IxDyn(&shape), out).expect("sizes agree"), labels: rest.iter().map(|&i| p.labels[i]).collect() }
}
