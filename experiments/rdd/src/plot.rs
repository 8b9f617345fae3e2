//! Figures and tables of the scalar RDD: evenly spaced bin means on each side of the cutoff, and
//! the plotly figure of the bins with the two local polynomial fits inside their bandwidths.

use super::estimate::Estimate;
use super::side::{Design, Side};
use serde::Serialize;
use serde_json::{Value, json};

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

fn curve(side: &Side, c: f64, h: f64, coef: &[f64]) -> (Vec<f64>, Vec<f64>) {
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

/// Bin means with the local fits of order p on each side, the cutoff marked, the estimate in the title.
pub fn rdplot(
    title: &str,
    x_name: &str,
    y_name: &str,
    d: &Design,
    bins: &[Bin],
    e: &Estimate,
) -> Value {
    let mut data = Vec::new();
    for (side, h, fit, colour) in [
        (&d.left, e.h[0], &e.left, "#2a5db0"),
        (&d.right, e.h[1], &e.right, "#b0542a"),
    ] {
        let b: Vec<&Bin> = bins.iter().filter(|b| b.side == side.label).collect();
        data.push(json!({
            "type": "scatter", "mode": "markers", "name": format!("bin means ({})", side.label),
            "x": b.iter().map(|b| b.x_mean).collect::<Vec<_>>(), "y": b.iter().map(|b| b.y_mean).collect::<Vec<_>>(),
            "text": b.iter().map(|b| format!("{} units", b.n)).collect::<Vec<_>>(), "marker": {"color": colour, "opacity": 0.6}
        }));
        let (xs, ys) = curve(side, d.c, h, &fit.coefficients);
        data.push(json!({"type": "scatter", "mode": "lines", "name": format!("local fit, p = {} ({})", e.p, side.label), "x": xs, "y": ys, "line": {"color": colour, "width": 3}}));
    }
    let r = &e.robust;
    json!({
        "data": data,
        "layout": {
            "title": {"text": format!("{title}<br><sub>τ = {:.4} (conventional), robust {}% CI [{:.4}, {:.4}], h = {:.4}</sub>", e.conventional.estimate, e.level, r.ci[0], r.ci[1], e.h[0])},
            "xaxis": {"title": {"text": x_name}}, "yaxis": {"title": {"text": y_name}},
            "shapes": [{"type": "line", "x0": d.c, "x1": d.c, "yref": "paper", "y0": 0, "y1": 1, "line": {"dash": "dash", "color": "#888"}}]
        }
    })
}
