//! CPU twin against the CUDA backend: bitwise for the deterministic kernels, within the declared
//! tolerance for the transcendental one. Without a GPU each test prints why it skipped, and
//! fails instead when REPRISE_REQUIRE_GPU=1.

use reprise_gpu::{Backend, Cpu, GAUSS_RTOL, GAUSSIAN_BOOT_RTOL};
use std::sync::Arc;

fn gpu() -> Option<Arc<dyn Backend>> {
    match reprise_gpu::select(reprise_gpu::Request::Cuda) {
        Ok(s) => Some(s.backend),
        Err(e) => {
            if std::env::var("REPRISE_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("REPRISE_REQUIRE_GPU=1 but {e}");
            }
            eprintln!("skipped: no CUDA device ({})", reprise_gpu::cuda_unavailable().unwrap_or_default());
            None
        }
    }
}

const SIZES: [usize; 6] = [1, 3, 8191, 8192, 8193, 1 << 20];

fn data(n: usize, stream: u64) -> Vec<f32> {
    let mut rng = rand_philox::Philox::new([7, 8], (stream as u128) << 64);
    (0..n).map(|_| rand_philox::u32_to_unit_f32(rng.next_u32()) * 3.0 - 1.0).collect()
}

#[test]
fn det_sum_and_dot_are_bitwise_equal() {
    let Some(g) = gpu() else { return };
    for n in SIZES.into_iter().chain([3_000_017]) {
        let (x, y) = (data(n, 1), data(n, 2));
        assert_eq!(g.det_sum(&x).unwrap().to_bits(), Cpu.det_sum(&x).unwrap().to_bits(), "sum n={n}");
        assert_eq!(g.det_dot(&x, &y).unwrap().to_bits(), Cpu.det_dot(&x, &y).unwrap().to_bits(), "dot n={n}");
    }
}

#[test]
fn philox_fill_is_word_for_word_equal() {
    let Some(g) = gpu() else { return };
    for n in SIZES {
        assert_eq!(g.philox_fill([1, 2], 3, n).unwrap(), Cpu.philox_fill([1, 2], 3, n).unwrap(), "n={n}");
    }
}

#[test]
fn rademacher_bootstrap_is_bitwise_equal() {
    let Some(g) = gpu() else { return };
    for n in SIZES {
        let psi = data(n, 3);
        let draws = if n > 100_000 { 5 } else { 9 };
        let (a, b) = (g.rademacher_boot(&psi, [5, 6], 100, draws).unwrap(), Cpu.rademacher_boot(&psi, [5, 6], 100, draws).unwrap());
        assert_eq!(a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), b.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "n={n}");
    }
}

#[test]
fn gaussian_bootstrap_within_declared_tolerance_and_stable_run_to_run() {
    let Some(g) = gpu() else { return };
    for n in SIZES {
        let psi = data(n, 3);
        let draws = if n > 100_000 { 5 } else { 9 };
        let (a, b) = (g.gaussian_boot(&psi, [5, 6], 100, draws).unwrap(), Cpu.gaussian_boot(&psi, [5, 6], 100, draws).unwrap());
        let scale: f64 = psi.iter().map(|v| v.abs() as f64).sum();
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= GAUSSIAN_BOOT_RTOL * scale, "n={n}: {x} vs {y}");
        }
        assert_eq!(a, g.gaussian_boot(&psi, [5, 6], 100, draws).unwrap(), "run to run");
    }
}

#[test]
fn two_sided_bootstrap_is_bitwise_equal() {
    let Some(g) = gpu() else { return };
    for (n, m) in [(1, 1), (3, 7), (8191, 7), (8192, 130), (8193, 99), (1 << 20, 3)] {
        let a: Vec<f64> = data(n * m, 4).into_iter().map(|v| v as f64 * 1.1).collect();
        let plus: Vec<bool> = (0..n).map(|i| (i * 7919) % 5 < 2).collect();
        let draws = if n > 100_000 { 2 } else { 6 };
        let (x, y) = (g.rademacher_sides(&a, m, &plus, [9, 9], 7, draws).unwrap(), Cpu.rademacher_sides(&a, m, &plus, [9, 9], 7, draws).unwrap());
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&x.plus), bits(&y.plus), "plus n={n} m={m}");
        assert_eq!(bits(&x.minus), bits(&y.minus), "minus n={n} m={m}");
    }
}

#[test]
fn gauss_row_sums_within_declared_tolerance_and_stable_run_to_run() {
    let Some(g) = gpu() else { return };
    for (n, m, d) in [(1, 1, 1), (300, 9000, 3), (257, 4097, 16)] {
        let (x, y, w) = (data(n * d, 5), data(m * d, 6), data(m, 7));
        let gamma = 0.5 / d as f32;
        let (a, b) = (g.gauss_row_sums(&x, &y, d, &w, gamma).unwrap(), Cpu.gauss_row_sums(&x, &y, d, &w, gamma).unwrap());
        let wabs: Vec<f32> = w.iter().map(|v| v.abs()).collect();
        let scale = Cpu.gauss_row_sums(&x, &y, d, &wabs, gamma).unwrap();
        for i in 0..n {
            assert!((a[i] - b[i]).abs() <= GAUSS_RTOL * scale[i], "row {i}: {} vs {} (scale {})", a[i], b[i], scale[i]);
        }
        assert_eq!(a, g.gauss_row_sums(&x, &y, d, &w, gamma).unwrap(), "run to run");
    }
}

#[test]
fn cuda_contract_names_device_versions_and_kernels() {
    let Some(g) = gpu() else { return };
    let c = g.contract();
    for k in ["device", "driver", "nvrtc", "kernels", "layout"] {
        assert!(c.contains_key(k), "{k} missing from {c:?}");
    }
    assert_eq!(c["kernels"], reprise_gpu::kernels_digest());
}

#[test]
fn grouped_matvecs_are_bitwise_equal() {
    let Some(g) = gpu() else { return };
    for (d, k, groups) in [(1, 1, 1), (3, 17, 2), (8, 100, 5), (301, 1000, 13), (300, 8193, 40)] {
        let mats: Vec<f64> = data(groups * d * d, 8).into_iter().map(f64::from).collect();
        let xs: Vec<f64> = data(k * d, 9).into_iter().map(|v| v as f64 / 3.0).collect();
        let group: Vec<u32> = (0..k).map(|i| ((i * 2654435761) % groups) as u32).collect();
        let (a, b) = (g.grouped_matvecs(&mats, d, &group, &xs).unwrap(), Cpu.grouped_matvecs(&mats, d, &group, &xs).unwrap());
        assert_eq!(a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), b.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "d={d} k={k}");
    }
}
