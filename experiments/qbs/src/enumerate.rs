//! Exact enumeration of finite discrete programs: every path of categorical choices, in order,
//! with its probability times exp(Σ scores); results aggregated by value.

use super::{Handler, Prob, QbsError};
use std::collections::BTreeMap;

/// An exact finite measure: values with their (unnormalised) masses.
#[derive(Debug, Clone)]
pub struct Dist<T> {
    pub items: BTreeMap<T, f64>,
}

impl<T: Ord + Clone> Dist<T> {
    /// The total mass (the evidence, for a scored program).
    pub fn mass(&self) -> f64 {
        self.items.values().sum()
    }

    pub fn prob(&self, x: &T) -> f64 {
        self.items.get(x).copied().unwrap_or(0.0) / self.mass()
    }

    /// The probability of `x` without normalising.
    pub fn mass_of(&self, x: &T) -> f64 {
        self.items.get(x).copied().unwrap_or(0.0)
    }
}

struct Paths {
    path: Vec<usize>,
    arity: Vec<usize>,
    pos: usize,
    prob: f64,
    logw: f64,
    uniform_used: bool,
}

impl Handler for Paths {
    fn uniform(&mut self) -> f64 {
        self.uniform_used = true;
        0.5
    }
    fn categorical(&mut self, p: &[f64]) -> usize {
        if self.pos == self.path.len() {
            self.path.push(0);
            self.arity.push(p.len());
        }
        let i = self.path[self.pos];
        self.pos += 1;
        self.prob *= p.get(i).copied().unwrap_or(0.0);
        i
    }
    fn score(&mut self, log_w: f64) {
        self.logw += log_w;
    }
}

/// Every execution path of `p`, depth first, in the order of the choices' indices.
pub fn enumerate<T: Ord + Clone + 'static>(p: &Prob<T>) -> Result<Dist<T>, QbsError> {
    let mut items: BTreeMap<T, f64> = BTreeMap::new();
    let mut st = Paths { path: Vec::new(), arity: Vec::new(), pos: 0, prob: 1.0, logw: 0.0, uniform_used: false };
    loop {
        st.pos = 0;
        st.prob = 1.0;
        st.logw = 0.0;
        let x = p.run(&mut st);
        if st.uniform_used {
            return Err(QbsError::NotEnumerable("it draws a continuous uniform (use a sampler, or discrete choices)".into()));
        }
        st.path.truncate(st.pos);
        st.arity.truncate(st.pos);
        let w = st.prob * st.logw.exp();
        if st.prob > 0.0 {
            *items.entry(x).or_insert(0.0) += w;
        }
        // the next path: bump the deepest choice that has an untried index
        loop {
            match st.path.last_mut() {
                None => return Ok(Dist { items }),
                Some(last) if *last + 1 < *st.arity.last().expect("same length") => {
                    *last += 1;
                    break;
                }
                Some(_) => {
                    st.path.pop();
                    st.arity.pop();
                }
            }
        }
    }
}
