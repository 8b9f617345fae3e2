//! Empirical quantiles shared by the sciences (the R3D estimator's quantile functions, the causal
//! outcome model's spline knots).

/// R's type-7 quantile of a sorted sample: linear interpolation at 1 + (n − 1)q.
pub fn type7(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let h = (n - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}
