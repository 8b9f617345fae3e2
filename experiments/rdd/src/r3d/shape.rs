//! Functions on quantile functions: empirical quantiles (R type 7, and Hmisc's weighted variant),
//! the two monotone repairs (CFG rearrangement, PAVA isotonic regression) and the Gini index.

pub use reprise_stats::quantile::type7;

/// The type-7 quantiles of `y` at `grid` (sorts a copy).
pub fn quantiles(y: &[f64], grid: &[f64]) -> Vec<f64> {
    let mut s = y.to_vec();
    s.sort_by(f64::total_cmp);
    grid.iter().map(|&q| type7(&s, q)).collect()
}

/// Weighted quantiles as Hmisc's `wtd.quantile(normwt = TRUE)`: weights rescaled to sum to the
/// sample size, tied values pooled, and the type-7 rule applied on the cumulative weights.
pub fn weighted_quantiles(y: &[f64], w: &[f64], grid: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..y.len()).collect();
    idx.sort_by(|&a, &b| y[a].total_cmp(&y[b]));
    let total: f64 = w.iter().sum();
    let scale = y.len() as f64 / total;
    let (mut xs, mut cum) = (Vec::<f64>::new(), Vec::<f64>::new());
    let mut acc = 0.0;
    for &i in &idx {
        acc += w[i] * scale;
        if xs.last() == Some(&y[i]) {
            *cum.last_mut().expect("pooled") = acc;
        } else {
            xs.push(y[i]);
            cum.push(acc);
        }
    }
    let n = acc;
    // Right-continuous step function of the cumulative weight (R's approx, method "constant", f = 1).
    let at = |t: f64| -> f64 { cum.iter().position(|&c| c >= t).map_or(xs[xs.len() - 1], |j| xs[j]) };
    grid.iter()
        .map(|&q| {
            let order = 1.0 + (n - 1.0) * q;
            let low = order.floor().max(1.0);
            let high = (low + 1.0).min(n);
            let frac = order - order.floor();
            (1.0 - frac) * at(low) + frac * at(high)
        })
        .collect()
}

/// Unweighted isotonic (non-decreasing) regression by pool-adjacent-violators.
pub fn pava(y: &[f64]) -> Vec<f64> {
    let mut blocks: Vec<(f64, usize)> = Vec::with_capacity(y.len());
    for &v in y {
        blocks.push((v, 1));
        while blocks.len() > 1 && blocks[blocks.len() - 2].0 > blocks[blocks.len() - 1].0 {
            let (m2, n2) = blocks.pop().expect("two blocks");
            let (m1, n1) = blocks.pop().expect("two blocks");
            blocks.push(((m1 * n1 as f64 + m2 * n2 as f64) / (n1 + n2) as f64, n1 + n2));
        }
    }
    blocks.into_iter().flat_map(|(m, n)| std::iter::repeat_n(m, n)).collect()
}

/// Chernozhukov–Fernández-Val–Galichon rearrangement of `y` over an increasing grid: the curve is
/// interpolated at 1001 equally spaced points of the rescaled grid, and the grid's positions are
/// read off the sorted values with the type-7 rule.
pub fn rearrange(grid: &[f64], y: &[f64]) -> Vec<f64> {
    let m = grid.len();
    if m < 2 {
        return y.to_vec();
    }
    let (lo, hi) = (grid[0], grid[m - 1]);
    let nx: Vec<f64> = grid.iter().map(|q| (q - lo) / (hi - lo)).collect();
    let mut seg = 0;
    let mut f: Vec<f64> = (0..=1000)
        .map(|k| {
            let u = k as f64 / 1000.0;
            while seg + 2 < m && nx[seg + 1] < u {
                seg += 1;
            }
            let (a, b) = (nx[seg], nx[seg + 1]);
            if u <= a {
                y[seg]
            } else if u >= b {
                y[seg + 1]
            } else {
                y[seg] + (u - a) / (b - a) * (y[seg + 1] - y[seg])
            }
        })
        .collect();
    f.sort_by(f64::total_cmp);
    nx.iter().map(|&p| type7(&f, p)).collect()
}

/// Gini index of the distribution with quantile function `qf` on `grid`: the Lorenz curve by the
/// trapezoid rule, the ends padded with the first and last value.
pub fn gini(grid: &[f64], qf: &[f64]) -> f64 {
    let q: Vec<f64> = std::iter::once(0.0).chain(grid.iter().copied()).chain(std::iter::once(1.0)).collect();
    let v: Vec<f64> = std::iter::once(qf[0]).chain(qf.iter().copied()).chain(std::iter::once(qf[qf.len() - 1])).collect();
    let mut area = vec![0.0; q.len()];
    for k in 1..q.len() {
        area[k] = area[k - 1] + (q[k] - q[k - 1]) * (v[k] + v[k - 1]) / 2.0;
    }
    let mu = area[q.len() - 1];
    if mu == 0.0 {
        return 0.0;
    }
    let lorenz: f64 = (1..q.len()).map(|k| (q[k] - q[k - 1]) * (area[k] + area[k - 1]) / (2.0 * mu)).sum();
    1.0 - 2.0 * lorenz
}
