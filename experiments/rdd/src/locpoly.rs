//! Weighted local-polynomial fits on a window of one side, in the basis u^j with u = (x − c)/s
//! (well conditioned at any bandwidth), residuals (nearest-neighbour or HC0–HC3) and sandwiches.

use super::side::Side;
use super::{Kernel, RddError};
use reprise_stats::linalg::{chol_inverse, cholesky};
use ndarray::Array2;

/// How residuals for the variance are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vce {
    /// Nearest-neighbour residuals with at least this many matches (rdrobust's default, 3).
    Nn(usize),
    /// Heteroskedasticity-robust residuals HC0–HC3 from the fit itself.
    Hc(u8),
}

impl Vce {
    pub fn parse(s: &str, nnmatch: usize) -> Result<Vce, String> {
        match s {
            "nn" => Ok(Vce::Nn(nnmatch)),
            "hc0" => Ok(Vce::Hc(0)),
            "hc1" => Ok(Vce::Hc(1)),
            "hc2" => Ok(Vce::Hc(2)),
            "hc3" => Ok(Vce::Hc(3)),
            _ => Err(format!(
                "unknown variance estimator `{s}`; use nn, hc0, hc1, hc2 or hc3"
            )),
        }
    }
}

/// A local polynomial of order `k − 1` fitted to the first `n` units of a side.
pub struct Fit {
    pub n: usize,
    pub k: usize,
    /// The basis scale: u = (x − c)/s.
    pub s: f64,
    /// Row-major n × k basis u^j, u = (x − c)/s.
    pub rows: Vec<f64>,
    /// Kernel weights K(|x − c|/h)/h.
    pub w: Vec<f64>,
    /// (Σ w R R')⁻¹ in the scaled basis.
    pub ginv: Array2<f64>,
}

impl Fit {
    pub fn new(
        side: &Side,
        n: usize,
        kernel: Kernel,
        h: f64,
        s: f64,
        order: usize,
    ) -> Result<Fit, RddError> {
        let k = order + 1;
        let mut rows = Vec::with_capacity(n * k);
        for &r in &side.r[..n] {
            let u = r / s;
            let mut p = 1.0;
            for _ in 0..k {
                rows.push(p);
                p *= u;
            }
        }
        let w: Vec<f64> = side.d[..n].iter().map(|&d| kernel.weight(d, h)).collect();
        let g = hankel(&side.r[..n], s, &w, k);
        let positive = w.iter().take_while(|&&v| v > 0.0).count();
        let l = cholesky(&g).map_err(|_| RddError::TooFew {
            side: side.label,
            n: positive,
            distinct: side.distinct(positive),
            bandwidth: h,
            order,
        })?;
        Ok(Fit {
            n,
            s,
            k,
            rows,
            w,
            ginv: chol_inverse(&l),
        })
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.rows[i * self.k..(i + 1) * self.k]
    }

    /// Γ⁻¹ Σ w R v: the coefficients of `v` (scaled basis).
    pub fn coef(&self, v: &[f64]) -> Vec<f64> {
        self.ginv_times(&self.rw(v))
    }

    /// Σ w R v (scaled basis).
    pub fn rw(&self, v: &[f64]) -> Vec<f64> {
        let mut m = vec![0.0; self.k];
        for (i, &wi) in self.w.iter().enumerate() {
            let f = wi * v[i];
            for (mj, rj) in m.iter_mut().zip(self.row(i)) {
                *mj += f * rj;
            }
        }
        m
    }

    /// Σ w a b − (Σ w R a)' Γ⁻¹ (Σ w R b): the weighted cross-product of `a` and `b` after
    /// partialling out the polynomial (the same in any basis).
    pub fn partial_cross(&self, a: &[f64], b: &[f64]) -> f64 {
        let direct: f64 = self.w.iter().zip(a).zip(b).map(|((w, a), b)| w * a * b).sum();
        direct - self.rw(a).iter().zip(self.coef(b)).map(|(u, c)| u * c).sum::<f64>()
    }

    pub fn ginv_times(&self, m: &[f64]) -> Vec<f64> {
        (0..self.k)
            .map(|a| (0..self.k).map(|b| self.ginv[[a, b]] * m[b]).sum())
            .collect()
    }

    /// Σ w R u^power (the bias direction of a fit of this order).
    pub fn moment(&self, s: f64, side: &Side, power: i32) -> Vec<f64> {
        let mut m = vec![0.0; self.k];
        for (i, &wi) in self.w.iter().enumerate() {
            let f = wi * (side.r[i] / s).powi(power);
            for (mj, rj) in m.iter_mut().zip(self.row(i)) {
                *mj += f * rj;
            }
        }
        m
    }

    /// Residuals of `v` for the variance: nearest-neighbour, or from this fit (HC0–HC3).
    pub fn residuals(&self, side: &Side, v: &[f64], vce: Vce) -> Vec<f64> {
        match vce {
            Vce::Nn(m) => side.nn_residuals(self.n, v, m),
            Vce::Hc(kind) => {
                let beta = self.coef(v);
                let nf = self.n as f64;
                let hc1 = (nf / (nf - self.k as f64)).sqrt();
                (0..self.n)
                    .map(|i| {
                        let row = self.row(i);
                        let e = v[i] - row.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>();
                        let lev = || self.w[i] * quad(&self.ginv, row);
                        match kind {
                            0 => e,
                            1 => e * hc1,
                            2 => e / (1.0 - lev()).sqrt(),
                            _ => e / (1.0 - lev()),
                        }
                    })
                    .collect()
            }
        }
    }

    /// Γ⁻¹ (Σ w_i² R_i R_i' e_i²) Γ⁻¹: the sandwich of this fit's own scores w_i R_i.
    pub fn sandwich(&self, side: &Side, e: &[f64]) -> Array2<f64> {
        let c: Vec<f64> = self.w.iter().zip(e).map(|(w, e)| w * w * e * e).collect();
        sandwich_of(&self.ginv, &hankel(&side.r[..self.n], self.s, &c, self.k))
    }

    /// The weighted design rows w_i R_i (the score directions of the conventional estimate).
    pub fn scores(&self) -> Vec<f64> {
        self.rows
            .chunks_exact(self.k)
            .zip(&self.w)
            .flat_map(|(r, &w)| r.iter().map(move |v| v * w))
            .collect()
    }
}

/// r' A r.
fn quad(a: &Array2<f64>, r: &[f64]) -> f64 {
    let k = r.len();
    (0..k)
        .map(|i| r[i] * (0..k).map(|j| a[[i, j]] * r[j]).sum::<f64>())
        .sum()
}

/// Σ_i c_i a_i a_i' over the rows a_i of a row-major n × k matrix, summed in row order.
fn cross(a: &[f64], k: usize, c: &[f64]) -> Array2<f64> {
    let mut m = Array2::<f64>::zeros((k, k));
    for (row, &ci) in a.chunks_exact(k).zip(c) {
        for p in 0..k {
            let v = ci * row[p];
            for q in 0..=p {
                m[[p, q]] += v * row[q];
            }
        }
    }
    for p in 0..k {
        for q in p + 1..k {
            m[[p, q]] = m[[q, p]];
        }
    }
    m
}

/// Σ_i c_i R_i R_i' for the power basis R_i = (1, u_i, …, u_i^{k−1}), u_i = r_i/s: a Hankel
/// matrix of the 2k − 1 moments Σ c_i u_i^j, each summed in row order.
fn hankel(r: &[f64], s: f64, c: &[f64], k: usize) -> Array2<f64> {
    let mut mom = vec![0.0; 2 * k - 1];
    for (&ri, &ci) in r.iter().zip(c) {
        let u = ri / s;
        let mut p = ci;
        for m in mom.iter_mut() {
            *m += p;
            p *= u;
        }
    }
    Array2::from_shape_fn((k, k), |(a, b)| mom[a + b])
}

/// Γ⁻¹ (Σ a_i a_i' e_i²) Γ⁻¹ for score rows `a` (n × k, row-major).
pub fn sandwich(ginv: &Array2<f64>, a: &[f64], e: &[f64]) -> Array2<f64> {
    let e2: Vec<f64> = e.iter().map(|v| v * v).collect();
    sandwich_of(ginv, &cross(a, ginv.nrows(), &e2))
}

/// Γ⁻¹ M Γ⁻¹ in plain loops, not ndarray's gemm: its CPU-dependent kernels could change the last bits.
fn sandwich_of(ginv: &Array2<f64>, m: &Array2<f64>) -> Array2<f64> {
    let k = ginv.nrows();
    let mul = |x: &Array2<f64>, y: &Array2<f64>| Array2::from_shape_fn((k, k), |(i, j)| (0..k).map(|l| x[[i, l]] * y[[l, j]]).sum());
    mul(&mul(ginv, m), ginv)
}
