//! The binned scatter of the scalar RDD: evenly spaced bin means on each side of the cutoff, and
//! the local polynomial curves that [`figure`](super::figure) draws through them.

use super::side::{Design, Side};
use serde::Serialize;

/// The mean of x and y over one bin.
#[derive(Debug, Clone, Serialize)]
pub struct Bin {
    pub side: &'static str,
    pub lo: f64,
    pub hi: f64,
    pub n: usize,
    pub x_mean: f64,
    pub y_mean: f64,
}

/// `k` equal-width bins spanning each side's range; empty bins are left out.
pub fn bins(d: &Design, k: usize) -> Vec<Bin> {
    let mut out = Vec::new();
    for side in d.sides() {
        let far = side.x[side.len() - 1];
        let (lo, hi) = if side.label == "left" {
            (far, d.c)
        } else {
            (d.c, far)
        };
        let width = (hi - lo) / k as f64;
        let mut acc = vec![(0usize, 0.0, 0.0); k];
        for i in 0..side.len() {
            let j = if width > 0.0 {
                (((side.x[i] - lo) / width).floor() as usize).min(k - 1)
            } else {
                0
            };
            acc[j].0 += 1;
            acc[j].1 += side.x[i];
            acc[j].2 += side.y[i];
        }
        for (j, (n, sx, sy)) in acc.into_iter().enumerate() {
            if n > 0 {
                out.push(Bin {
                    side: side.label,
                    lo: lo + j as f64 * width,
                    hi: lo + (j + 1) as f64 * width,
                    n,
                    x_mean: sx / n as f64,
                    y_mean: sy / n as f64,
                });
            }
        }
    }
    out
}

pub(crate) fn curve(side: &Side, c: f64, h: f64, coef: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let sign = if side.label == "left" { -1.0 } else { 1.0 };
    let reach = h.min(side.d[side.len() - 1]);
    let xs: Vec<f64> = (0..=60)
        .map(|i| c + sign * reach * i as f64 / 60.0)
        .collect();
    let ys = xs
        .iter()
        .map(|x| coef.iter().rev().fold(0.0, |acc, b| acc * (x - c) + b))
        .collect();
    (xs, ys)
}
