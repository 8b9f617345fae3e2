//! The standard normal distribution: CDF through libm's `erfc` (accurate in both tails) and the
//! quantile function (Acklam's rational start, then Halley steps on the CDF to full precision).

/// Φ(x).
pub fn cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Two-sided p-value of a z statistic: 2Φ(−|z|).
pub fn two_sided_p(z: f64) -> f64 {
    2.0 * cdf(-z.abs())
}

/// Φ⁻¹(p) for 0 < p < 1.
#[allow(clippy::excessive_precision)] // Acklam's published coefficients, as printed
pub fn quantile(p: f64) -> f64 {
    assert!(
        p > 0.0 && p < 1.0,
        "normal quantile of {p}: p must be in (0, 1)"
    );
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383577518672690e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let mut x = if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    for _ in 0..2 {
        let e = cdf(x) - p;
        let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
        x -= u / (1.0 + x * u / 2.0);
    }
    x
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_values() {
        assert!((super::quantile(0.975) - 1.959963984540054).abs() < 1e-15);
        assert!((super::quantile(0.95) - 1.6448536269514722).abs() < 1e-15);
        assert!((super::quantile(1e-10) + 6.361340902404056).abs() < 1e-12);
        assert!((super::cdf(1.959963984540054) - 0.975).abs() < 1e-16);
        assert!((super::two_sided_p(-1.959963984540054) - 0.05).abs() < 1e-15);
    }
}
