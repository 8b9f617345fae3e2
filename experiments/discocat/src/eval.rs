//! Spearman's ρ with average ranks for ties, the two evaluation protocols (every judgment a data
//! point; per-item mean ratings) and inter-annotator agreement (leave-one-out, mean pairwise).

use serde::Serialize;
use std::collections::BTreeMap;

/// One human rating of one item.
#[derive(Debug, Clone)]
pub struct Judgment {
    pub annotator: String,
    pub item: usize,
    pub rating: f64,
}

/// Ranks 1..n, tied values sharing the mean of their ranks.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = mean;
        }
        i = j + 1;
    }
    r
}

/// Pearson's r; NaN when either side is constant.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 { f64::NAN } else { sxy / (sxx * syy).sqrt() }
}

/// Spearman's ρ: Pearson's r of the average ranks.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// ρ of a model's item similarities against the ratings, under both protocols.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rho {
    /// Every judgment a data point (GS2011's and ML2008's own protocol).
    pub per_judgment: f64,
    /// Ratings averaged per item first (Milajevs et al. 2014 and later).
    pub item_mean: f64,
}

/// Mean rating of each item (items without a judgment get NaN).
pub fn item_means(judgments: &[Judgment], items: usize) -> Vec<f64> {
    let mut sum = vec![0.0; items];
    let mut n = vec![0usize; items];
    for j in judgments {
        sum[j.item] += j.rating;
        n[j.item] += 1;
    }
    sum.iter().zip(&n).map(|(s, &k)| if k == 0 { f64::NAN } else { s / k as f64 }).collect()
}

/// Both protocols for similarities `sim[item]`; judgments of items with a NaN similarity are left out.
pub fn rho(sim: &[f64], judgments: &[Judgment]) -> Rho {
    let kept: Vec<&Judgment> = judgments.iter().filter(|j| !sim[j.item].is_nan()).collect();
    let x: Vec<f64> = kept.iter().map(|j| sim[j.item]).collect();
    let y: Vec<f64> = kept.iter().map(|j| j.rating).collect();
    let means = item_means(judgments, sim.len());
    let (a, b): (Vec<f64>, Vec<f64>) = sim.iter().zip(&means).filter(|(s, m)| !s.is_nan() && !m.is_nan()).map(|(s, m)| (*s, *m)).unzip();
    Rho { per_judgment: spearman(&x, &y), item_mean: spearman(&a, &b) }
}

/// How far humans agree: the upper bound a model's ρ is read against.
#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    /// Mean over annotators of ρ between their ratings and the other annotators' mean ratings of
    /// the same items (GS2011's "human agreement").
    pub leave_one_out: f64,
    /// Mean over annotator pairs with at least three common items of ρ on those items.
    pub mean_pairwise: f64,
    pub annotators: usize,
    /// Annotators or pairs left out because their ratings were constant (ρ undefined).
    pub undefined_left_out: usize,
    pub pairs: usize,
}

pub fn agreement(judgments: &[Judgment], items: usize) -> Agreement {
    let mut by: BTreeMap<&str, BTreeMap<usize, f64>> = BTreeMap::new();
    let mut sum = vec![0.0; items];
    let mut n = vec![0usize; items];
    for j in judgments {
        by.entry(j.annotator.as_str()).or_default().insert(j.item, j.rating);
        sum[j.item] += j.rating;
        n[j.item] += 1;
    }
    let mut undefined = 0;
    let mut loo = Vec::new();
    for ratings in by.values() {
        let (x, y): (Vec<f64>, Vec<f64>) = ratings.iter().filter(|(i, _)| n[**i] > 1).map(|(i, r)| (*r, (sum[*i] - r) / (n[*i] - 1) as f64)).unzip();
        let r = spearman(&x, &y);
        if r.is_nan() { undefined += 1 } else { loo.push(r) }
    }
    let names: Vec<&BTreeMap<usize, f64>> = by.values().collect();
    let mut pair = Vec::new();
    for a in 0..names.len() {
        for b in a + 1..names.len() {
            let (x, y): (Vec<f64>, Vec<f64>) = names[a].iter().filter_map(|(i, r)| names[b].get(i).map(|s| (*r, *s))).unzip();
            if x.len() >= 3 {
                let r = spearman(&x, &y);
                if r.is_nan() { undefined += 1 } else { pair.push(r) }
            }
        }
    }
    let mean = |v: &[f64]| if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 };
    Agreement { leave_one_out: mean(&loo), mean_pairwise: mean(&pair), annotators: by.len(), undefined_left_out: undefined, pairs: pair.len() }
}
