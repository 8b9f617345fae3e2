//! Yu & Wang's uniform transformer for one covariate: map every unit through the control group's
//! empirical CDF, so controls become (nearly) Uniform[0, 1] and the treated units' density g₁ on
//! that scale is the density ratio f₁/f₀; the ATT is then a two-sample kernel U-statistic
//! τ̂ = Ȳ₁ − (1/(n₀n₁)) Σ_{j: T=0} Σ_{i: T=1} K_h(U_i − U_j) Y_j.
//! K is Epanechnikov with reflection at 0 and 1; h follows Silverman's rule on the treated U.
//! Standard errors: the first-order (projection) variance of the two-sample U-statistic.

use super::estimators::Estimate;
use super::frame::Sample;
use reprise_stats::linalg::mean_sd;
use ndarray::ArrayView1;

fn epanechnikov(u: f64) -> f64 {
    if u.abs() < 1.0 {
        0.75 * (1.0 - u * u)
    } else {
        0.0
    }
}

/// K_h(u − v) on [0, 1] with the mass that would fall outside reflected back in.
fn reflected(u: f64, v: f64, h: f64) -> f64 {
    (epanechnikov((u - v) / h) + epanechnikov((u + v) / h) + epanechnikov((2.0 - u - v) / h)) / h
}

/// The ATT from one scalar covariate `x` (for instance an estimated propensity score), in the
/// U-statistic form above and in a normalised (Hájek) form that divides the control term by the
/// weights' own sum — the U-statistic's weights ω_j = (1/n₁)Σᵢ K_h(Uᵢ, U_j)/n₀ sum to one only
/// approximately, so it inherits a bias proportional to the outcome's level. Returns both and
/// the bandwidth. `label` names the covariate in the estimators' names.
pub fn att(s: &Sample, x: ArrayView1<f64>, label: &str) -> ([Estimate; 2], f64) {
    let (r1, r0) = (s.arm_rows(1), s.arm_rows(0));
    let mut controls: Vec<f64> = r0.iter().map(|&j| x[j]).collect();
    controls.sort_by(f64::total_cmp);
    let n0 = controls.len() as f64;
    let ecdf = |v: f64| controls.partition_point(|c| *c <= v) as f64 / n0;
    let u1: Vec<f64> = r1.iter().map(|&i| ecdf(x[i])).collect();
    let u0: Vec<f64> = r0.iter().map(|&j| ecdf(x[j])).collect();
    let n1 = u1.len() as f64;
    let (_, sd1) = mean_sd(ArrayView1::from(&u1));
    let h = (1.06 * sd1.max(1e-3) * n1.powf(-0.2)).min(0.5);
    let y1: Vec<f64> = r1.iter().map(|&i| s.y[i]).collect();
    let y0: Vec<f64> = r0.iter().map(|&j| s.y[j]).collect();
    // ĝ₁(U_j) = (1/n₁)Σᵢ K_h(Uᵢ, U_j): the treated density on the control-uniform scale.
    let g: Vec<f64> = u0.iter().map(|&uj| u1.iter().map(|&ui| reflected(ui, uj, h)).sum::<f64>() / n1).collect();
    let gbar = g.iter().sum::<f64>() / n0;
    let ybar1 = y1.iter().sum::<f64>() / n1;
    // Projections of the two-sample U-statistic (centre c = 0) and of its normalised form
    // (c = μ̂₀, scaled by 1/ḡ): treated i: (1/n₀)Σⱼ K_h(Uᵢ, Uⱼ)(Yⱼ − c)/s, control j: ĝ₁(Uⱼ)(Yⱼ − c)/s.
    let project = |c: f64, scale: f64| -> (f64, f64) {
        let t: Vec<f64> = u1.iter().map(|&ui| u0.iter().zip(&y0).map(|(&uj, &yj)| reflected(ui, uj, h) * (yj - c)).sum::<f64>() / n0 / scale).collect();
        let k: Vec<f64> = g.iter().zip(&y0).map(|(gj, yj)| gj * (yj - c) / scale).collect();
        let d: Vec<f64> = y1.iter().zip(&t).map(|(y, t)| y - t).collect();
        let (_, sd_d) = mean_sd(ArrayView1::from(&d));
        let (_, sd_k) = mean_sd(ArrayView1::from(&k));
        (k.iter().sum::<f64>() / n0, (sd_d * sd_d / n1 + sd_k * sd_k / n0).sqrt())
    };
    let (control_term, se_u) = project(0.0, 1.0);
    let mu0 = control_term / gbar;
    let (_, se_h) = project(mu0, gbar);
    (
        [
            Estimate::new(&format!("uniform transformer, U-statistic ({label})"), "ATT", ybar1 - control_term, se_u),
            Estimate::new(&format!("uniform transformer, normalised ({label})"), "ATT", ybar1 - mu0, se_h),
        ],
        h,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};
    use rand::Rng;
    use rand_distr::StandardNormal;

    /// X ~ N(0,1) among controls, N(0.7,1) among treated, Y = 2X + 1{treated}·3 + noise: ATT = 3,
    /// while the naive contrast is 3 + 2·0.7 = 4.4.
    #[test]
    fn recovers_the_att_where_the_naive_contrast_is_biased() {
        let mut rng = reprise_core::Seed(5).stream("uniform");
        let n = 4000;
        let mut x = Array1::zeros(n);
        let mut y = Array1::zeros(n);
        let mut z = Array1::zeros(n);
        for i in 0..n {
            let t = f64::from(u8::from(i % 3 == 0));
            x[i] = rng.sample::<f64, _>(StandardNormal) + 0.7 * t;
            y[i] = 2.0 * x[i] + 3.0 * t + rng.sample::<f64, _>(StandardNormal);
            z[i] = t;
        }
        let s = Sample::new(y, z, Array2::from_shape_fn((n, 1), |(i, _)| x[i]), vec!["x".into()]).unwrap();
        let (both, h) = att(&s, x.view(), "x");
        assert!(h > 0.0 && h < 0.5);
        for e in &both {
            assert!((e.estimate - 3.0).abs() < 3.0 * e.se + 0.15, "{e:?}");
            assert!(e.se > 0.02 && e.se < 0.5, "{e:?}");
        }
        // Shifting the outcome's level moves the U-statistic form but not the normalised one.
        let shifted = Sample::new(&s.y + 200.0, s.z.clone(), s.x.clone(), s.names.clone()).unwrap();
        let (moved, _) = att(&shifted, x.view(), "x");
        assert!((moved[1].estimate - both[1].estimate).abs() < 1e-9, "{moved:?}");
        assert!((moved[0].estimate - both[0].estimate).abs() > 1e-6, "{moved:?}");
        let naive = super::super::estimators::difference_in_means(&s).estimate;
        assert!((naive - 4.4).abs() < 0.3, "{naive}");
    }
}
