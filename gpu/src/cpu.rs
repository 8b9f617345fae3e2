//! The CPU backend: each kernel's twin, written to add in exactly the GPU's order, so the two
//! agree bit for bit wherever only + − × and sign flips are involved.

use crate::layout::*;
use crate::{Backend, GpuError, Sides};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// The reference backend: plain Rust on the CPU.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu;

fn tree(sh: &mut [f64]) -> f64 {
    let mut s = sh.len() / 2;
    while s > 0 {
        for t in 0..s {
            sh[t] += sh[t + s];
        }
        s /= 2;
    }
    sh[0]
}

/// Stage 1 of the deterministic sum or dot (`y` given) over f32 data, one f64 per 8192-block.
fn stage1(x: &[f32], y: Option<&[f32]>) -> Vec<f64> {
    let n = x.len();
    let term = |i: usize| match y {
        Some(y) => x[i] as f64 * y[i] as f64,
        None => x[i] as f64,
    };
    (0..n.div_ceil(SUM_BLOCK))
        .map(|g| {
            let mut sh = [0.0f64; SUM_THREADS];
            for (t, acc) in sh.iter_mut().enumerate() {
                for k in 0..SUM_ITEMS {
                    let i = g * SUM_BLOCK + (k * SUM_THREADS + t) * 4;
                    for c in 0..4 {
                        if i + c < n {
                            *acc += term(i + c);
                        }
                    }
                }
            }
            tree(&mut sh)
        })
        .collect()
}

fn stage2(x: &[f64]) -> Vec<f64> {
    (0..x.len().div_ceil(SUM2_BLOCK))
        .map(|g| {
            let mut sh = [0.0f64; SUM_THREADS];
            for (t, acc) in sh.iter_mut().enumerate() {
                for k in 0..SUM2_ITEMS {
                    if let Some(v) = x.get(g * SUM2_BLOCK + k * SUM_THREADS + t) {
                        *acc += v;
                    }
                }
            }
            tree(&mut sh)
        })
        .collect()
}

/// Stage 1, then stage 2 until one value is left (the GPU launches the same sequence).
pub(crate) fn reduce(x: &[f32], y: Option<&[f32]>) -> f64 {
    let mut p = stage1(x, y);
    while p.len() > 1 {
        p = stage2(&p);
    }
    p.first().copied().unwrap_or(0.0)
}

impl Backend for Cpu {
    fn kind(&self) -> &'static str {
        "cpu"
    }

    fn contract(&self) -> BTreeMap<String, String> {
        BTreeMap::from([("kind".to_string(), "cpu".to_string())])
    }

    fn det_sum(&self, x: &[f32]) -> Result<f64, GpuError> {
        Ok(reduce(x, None))
    }

    fn det_dot(&self, x: &[f32], y: &[f32]) -> Result<f64, GpuError> {
        crate::check_len("y", y.len(), x.len())?;
        Ok(reduce(x, Some(y)))
    }

    fn philox_fill(&self, key: [u32; 2], stream: u64, n: usize) -> Result<Vec<u32>, GpuError> {
        let mut out = vec![0u32; n];
        rand_philox::Philox::new(key, (stream as u128) << 64).fill_u32(&mut out);
        Ok(out)
    }

    fn rademacher_boot(&self, psi: &[f32], key: [u32; 2], stream0: u64, draws: usize) -> Result<Vec<f64>, GpuError> {
        let n = psi.len();
        Ok((0..draws)
            .into_par_iter()
            .map(|b| {
                let neg = rademacher_negative(key, stream0 + b as u64, n);
                let mut sh = [0.0f64; SUM_THREADS];
                for (t, acc) in sh.iter_mut().enumerate() {
                    let (warp, lane) = (t / 32, t % 32);
                    for c in (warp..n.div_ceil(CHUNK)).step_by(SUM_THREADS / 32) {
                        for k in 0..128 {
                            let i = c * CHUNK + k * 32 + lane;
                            if i >= n {
                                break;
                            }
                            let v = psi[i] as f64;
                            *acc += if neg[i] { -v } else { v };
                        }
                    }
                }
                tree(&mut sh)
            })
            .collect())
    }

    fn gaussian_boot(&self, psi: &[f32], key: [u32; 2], stream0: u64, draws: usize) -> Result<Vec<f64>, GpuError> {
        let n = psi.len();
        Ok((0..draws)
            .into_par_iter()
            .map(|b| {
                let z = gaussian_multipliers(key, stream0 + b as u64, n);
                let mut sh = [0.0f64; SUM_THREADS];
                for (t, acc) in sh.iter_mut().enumerate() {
                    let (warp, lane) = (t / 32, t % 32);
                    for c in (warp..n.div_ceil(128)).step_by(SUM_THREADS / 32) {
                        for k in 0..4 {
                            let i = c * 128 + k * 32 + lane;
                            if i < n {
                                *acc += z[i] * psi[i] as f64;
                            }
                        }
                    }
                }
                tree(&mut sh)
            })
            .collect())
    }

    fn rademacher_sides(&self, a: &[f64], m: usize, plus: &[bool], key: [u32; 2], stream0: u64, draws: usize) -> Result<Sides, GpuError> {
        let n = plus.len();
        crate::check_len("score matrix", a.len(), n * m)?;
        let (mut p, mut mm) = (vec![0.0; draws * m], vec![0.0; draws * m]);
        if m == 0 {
            return Ok(Sides { plus: p, minus: mm });
        }
        p.par_chunks_mut(m).zip(mm.par_chunks_mut(m)).enumerate().for_each(|(b, (pb, mb))| {
            let neg = rademacher_negative(key, stream0 + b as u64, n);
            for (i, row) in a.chunks_exact(m).take(n).enumerate() {
                let acc = if plus[i] { &mut *pb } else { &mut *mb };
                for (s, &v) in acc.iter_mut().zip(row) {
                    *s += if neg[i] { -v } else { v };
                }
            }
        });
        Ok(Sides { plus: p, minus: mm })
    }

    fn grouped_matvecs(&self, mats: &[f64], d: usize, group: &[u32], xs: &[f64]) -> Result<Vec<f64>, GpuError> {
        crate::matvec_shapes(mats, d, group, xs)?;
        let mut out = vec![0.0; xs.len()];
        out.par_chunks_mut(d).zip(xs.par_chunks(d)).zip(group.par_iter()).for_each(|((o, x), &g)| {
            let m = &mats[g as usize * d * d..(g as usize + 1) * d * d];
            for (i, v) in o.iter_mut().enumerate() {
                *v = dot4(&m[i * d..(i + 1) * d], x);
            }
        });
        Ok(out)
    }

    fn gauss_row_sums(&self, x: &[f32], y: &[f32], d: usize, w: &[f32], gamma: f32) -> Result<Vec<f64>, GpuError> {
        let (n, m) = crate::gauss_shapes(x, y, d, w)?;
        Ok((0..n)
            .map(|i| {
                let xi = &x[i * d..(i + 1) * d];
                let mut total = 0.0;
                for jc in (0..m).step_by(GAUSS_COLS) {
                    let mut acc = 0.0f64;
                    for j in jc..(jc + GAUSS_COLS).min(m) {
                        let mut s = 0.0f32;
                        for (a, b) in xi.iter().zip(&y[j * d..(j + 1) * d]) {
                            let df = a - b;
                            s = df.mul_add(df, s);
                        }
                        acc += (w[j] * (-gamma * s).exp()) as f64;
                    }
                    total += acc;
                }
                total
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Vec<f32> {
        let mut rng = rand_philox::Philox::new([3, 4], 0);
        (0..n).map(|_| rand_philox::u32_to_unit_f32(rng.next_u32()) * 2.0 - 0.75).collect()
    }

    #[test]
    fn det_sum_and_dot_agree_with_naive_sums() {
        for n in [0, 1, 3, 8191, 8192, 8193, 2048 * 8192 + 5] {
            let x = data(n);
            let naive: f64 = x.iter().map(|&v| v as f64).sum();
            let got = Cpu.det_sum(&x).unwrap();
            assert!((got - naive).abs() <= 1e-9 * (1.0 + naive.abs()), "n={n}: {got} vs {naive}");
            let y: Vec<f32> = x.iter().rev().copied().collect();
            let naive: f64 = x.iter().zip(&y).map(|(&a, &b)| a as f64 * b as f64).sum();
            let got = Cpu.det_dot(&x, &y).unwrap();
            assert!((got - naive).abs() <= 1e-9 * (1.0 + naive.abs()), "n={n}: {got} vs {naive}");
        }
    }

    #[test]
    fn bootstraps_agree_with_the_naive_sums_over_the_same_signs() {
        let n = 9000;
        let psi = data(n);
        let key = [11, 12];
        let t = Cpu.rademacher_boot(&psi, key, 40, 3).unwrap();
        for (b, tb) in t.iter().enumerate() {
            let neg = rademacher_negative(key, 40 + b as u64, n);
            let naive: f64 = psi.iter().zip(&neg).map(|(&v, &s)| if s { -(v as f64) } else { v as f64 }).sum();
            assert!((tb - naive).abs() < 1e-9, "{tb} vs {naive}");
        }
        let g = Cpu.gaussian_boot(&psi, key, 40, 3).unwrap();
        for (b, gb) in g.iter().enumerate() {
            let z = gaussian_multipliers(key, 40 + b as u64, n);
            let naive: f64 = psi.iter().zip(&z).map(|(&v, z)| z * v as f64).sum();
            assert!((gb - naive).abs() < 1e-9, "{gb} vs {naive}");
        }
        let m = 3;
        let a: Vec<f64> = data(n * m).into_iter().map(f64::from).collect();
        let plus: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
        let s = Cpu.rademacher_sides(&a, m, &plus, key, 40, 2).unwrap();
        for b in 0..2 {
            let neg = rademacher_negative(key, 40 + b as u64, n);
            for j in 0..m {
                let (mut p, mut q) = (0.0, 0.0);
                for i in 0..n {
                    let v = if neg[i] { -a[i * m + j] } else { a[i * m + j] };
                    if plus[i] { p += v } else { q += v }
                }
                assert_eq!((s.plus[b * m + j], s.minus[b * m + j]), (p, q));
            }
        }
    }

    #[test]
    fn gauss_row_sums_match_f64_definition() {
        let (n, m, d) = (5, 5000, 3);
        let (x, y, w) = (data(n * d), data(m * d), data(m));
        let got = Cpu.gauss_row_sums(&x, &y, d, &w, 0.7).unwrap();
        for i in 0..n {
            let mut exact = 0.0;
            let mut scale = 0.0;
            for j in 0..m {
                let s: f64 = (0..d).map(|k| (x[i * d + k] as f64 - y[j * d + k] as f64).powi(2)).sum();
                exact += w[j] as f64 * (-0.7 * s).exp();
                scale += (w[j] as f64 * (-0.7 * s).exp()).abs();
            }
            assert!((got[i] - exact).abs() <= 1e-6 * scale, "{} vs {exact}", got[i]);
        }
    }

    #[test]
    fn grouped_matvecs_follow_their_groups_and_tiles_cover_every_vector() {
        let d = 7;
        let mats: Vec<f64> = data(3 * d * d).into_iter().map(f64::from).collect();
        let xs: Vec<f64> = data(20 * d).into_iter().map(|v| v as f64 * 0.5).collect();
        let group: Vec<u32> = (0..20).map(|k| (k * 7 % 3) as u32).collect();
        let out = Cpu.grouped_matvecs(&mats, d, &group, &xs).unwrap();
        for k in 0..20 {
            let g = group[k] as usize;
            for i in 0..d {
                let naive: f64 = (0..d).map(|j| mats[g * d * d + i * d + j] * xs[k * d + j]).sum();
                assert!((out[k * d + i] - naive).abs() < 1e-12);
            }
        }
        let (tiles, order) = mv_tiles(&group);
        let mut seen: Vec<u32> = tiles.chunks(3).flat_map(|t| order[t[1] as usize..(t[1] + t[2]) as usize].to_vec()).collect();
        assert!(tiles.chunks(3).all(|t| t[2] as usize <= MV_TILE && order[t[1] as usize..(t[1] + t[2]) as usize].iter().all(|&k| group[k as usize] == t[0])));
        seen.sort();
        assert_eq!(seen, (0..20).collect::<Vec<u32>>());
        assert!(Cpu.grouped_matvecs(&mats, d, &[5], &xs[..d]).unwrap_err().to_string().contains("group 5"));
    }

    #[test]
    fn philox_fill_is_stream_order() {
        let w = Cpu.philox_fill([5, 6], 9, 10).unwrap();
        assert_eq!(w[4..8], crate::layout::philox_block([5, 6], 9, 1));
    }
}
