//! The layout contract shared by the CUDA kernels and their CPU twins: block sizes, reduction
//! trees and how Philox words map to multipliers. Changing anything here changes results.

/// Recorded in every run spec that uses a backend; bump it with any change below or in a kernel.
pub const LAYOUT_VERSION: &str = "reprise.gpu.layout/1";

/// Threads per block of every reduction, and the width of its shared-memory tree.
pub const SUM_THREADS: usize = 256;
/// Stage 1 of the deterministic sum: float4 loads per thread (8192 floats per block).
pub const SUM_ITEMS: usize = 8;
pub const SUM_BLOCK: usize = SUM_THREADS * SUM_ITEMS * 4;
/// Stage 2: f64 partials per thread (2048 per block).
pub const SUM2_ITEMS: usize = 8;
pub const SUM2_BLOCK: usize = SUM_THREADS * SUM2_ITEMS;
/// Replicates per block of the scalar bootstrap.
pub const BOOT_REPS: usize = 4;
/// Elements per warp-chunk of the Rademacher layout: 32 lanes × 128 bits.
pub const CHUNK: usize = 4096;
/// Columns per chunk of the Gaussian row sums (grid.y).
pub const GAUSS_COLS: usize = 4096;
/// Rows per block of the Gaussian row sums (two per thread of 256); columns are staged in
/// shared memory 256 at a time.
pub const GAUSS_ROWS: usize = 512;
/// Largest dimension the Gaussian kernel stages in shared memory; larger ones run on the CPU twin.
pub const GAUSS_MAX_DIM: usize = 32;

/// Vectors of one group per block of the grouped matrix-vector products.
pub const MV_TILE: usize = 8;
/// Largest d whose MV_TILE staged vectors fit the default 48 KiB of shared memory.
pub const MV_MAX_DIM: usize = 48 * 1024 / (8 * MV_TILE);

/// `dot4` order of a dot product (four partial sums by j % 4, a tail from −0.0, then
/// ((p₀ + p₁) + (p₂ + p₃)) + tail): the CPU's DisCoCat batch order, which the GPU follows.
#[inline]
pub fn dot4(a: &[f64], b: &[f64]) -> f64 {
    let c = a.len() / 4 * 4;
    let mut acc = [0.0f64; 4];
    for j in (0..c).step_by(4) {
        for l in 0..4 {
            acc[l] += a[j + l] * b[j + l];
        }
    }
    let tail: f64 = (c..a.len()).map(|j| a[j] * b[j]).sum();
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + tail
}

/// Tiles of the grouped matrix-vector products: vectors sorted by (group, index), cut into runs of
/// at most MV_TILE of one group. Returns (tiles as group/first/count triples, the sorted order).
pub fn mv_tiles(group: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let mut order: Vec<u32> = (0..group.len() as u32).collect();
    order.sort_by_key(|&k| (group[k as usize], k));
    let mut tiles = Vec::new();
    let mut first = 0;
    while first < order.len() {
        let g = group[order[first] as usize];
        let mut cnt = 1;
        while cnt < MV_TILE && first + cnt < order.len() && group[order[first + cnt] as usize] == g {
            cnt += 1;
        }
        tiles.extend([g, first as u32, cnt as u32]);
        first += cnt;
    }
    (tiles, order)
}

/// Philox4x32-10 block `blk` of `stream` under `key`: counter words (blk lo, blk hi, stream lo,
/// stream hi), the `rand_philox` convention for the counter `(stream << 64) | blk`.
#[inline]
pub fn philox_block(key: [u32; 2], stream: u64, blk: u64) -> [u32; 4] {
    rand_philox::philox4x32_10([blk as u32, (blk >> 32) as u32, stream as u32, (stream >> 32) as u32], key)
}

/// Rademacher multipliers of one replicate (stream), layout v2: element i uses bit k % 32 of
/// word k / 32, k = (i / 32) % 128, of Philox block (i / 4096)·32 + i % 32. A set bit is −1.
/// Returned as a sign mask (true = −1).
pub fn rademacher_negative(key: [u32; 2], stream: u64, n: usize) -> Vec<bool> {
    let mut out = vec![false; n];
    for c in 0..n.div_ceil(CHUNK) {
        for lane in 0..32 {
            let w = philox_block(key, stream, (c * 32 + lane) as u64);
            for k in 0..128 {
                let i = c * CHUNK + k * 32 + lane;
                if i < n {
                    out[i] = (w[k >> 5] >> (k & 31)) & 1 == 1;
                }
            }
        }
    }
    out
}

/// Gaussian multipliers of one replicate (stream), layout g1: element i is normal k = (i/32) % 4
/// of Philox block (i/128)·32 + i % 32, by Box–Muller on words (w₀, w₁) for k = 0, 1 (cos, sin)
/// and (w₂, w₃) for k = 2, 3, with u(w) = (w + ½)/2³². The GPU's log/sincos differ by an ulp.
pub fn gaussian_multipliers(key: [u32; 2], stream: u64, n: usize) -> Vec<f64> {
    let unit = |w: u32| (w as f64 + 0.5) * 2.3283064365386963e-10;
    let mut out = vec![0.0; n];
    for c in 0..n.div_ceil(128) {
        for lane in 0..32 {
            let w = philox_block(key, stream, (c * 32 + lane) as u64);
            let (s0, c0) = (std::f64::consts::TAU * unit(w[1])).sin_cos();
            let (s1, c1) = (std::f64::consts::TAU * unit(w[3])).sin_cos();
            let (r0, r1) = ((-2.0 * unit(w[0]).ln()).sqrt(), (-2.0 * unit(w[2]).ln()).sqrt());
            for (k, z) in [r0 * c0, r0 * s0, r1 * c1, r1 * s1].into_iter().enumerate() {
                if let Some(o) = out.get_mut(c * 128 + k * 32 + lane) {
                    *o = z;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn philox_block_is_rand_philox_stream_order() {
        let key = [0x1234_5678, 0x9abc_def0];
        let mut rng = rand_philox::Philox::new(key, (7u128 << 64) | 5);
        let mut words = [0u32; 8];
        rng.fill_u32(&mut words);
        assert_eq!(philox_block(key, 7, 5), words[..4]);
        assert_eq!(philox_block(key, 7, 6), words[4..]);
    }

    #[test]
    fn gaussian_multipliers_have_unit_moments() {
        let z = gaussian_multipliers([3, 1], 0, 1 << 16);
        let n = z.len() as f64;
        let m = z.iter().sum::<f64>() / n;
        let v = z.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
        let k = z.iter().map(|x| (x - m).powi(4)).sum::<f64>() / n / (v * v);
        assert!(m.abs() < 0.02 && (v - 1.0).abs() < 0.02 && (k - 3.0).abs() < 0.1, "{m} {v} {k}");
        assert_eq!(gaussian_multipliers([3, 1], 0, 300), z[..300]);
    }

    #[test]
    fn rademacher_signs_are_balanced_and_stream_dependent() {
        let a = rademacher_negative([1, 2], 0, 1 << 16);
        let b = rademacher_negative([1, 2], 1, 1 << 16);
        let neg = a.iter().filter(|&&s| s).count() as f64 / a.len() as f64;
        assert!((neg - 0.5).abs() < 0.01, "{neg}");
        let same = a.iter().zip(&b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64;
        assert!((same - 0.5).abs() < 0.01, "{same}");
        // A prefix does not depend on n.
        assert_eq!(rademacher_negative([1, 2], 0, 5000), a[..5000]);
    }
}
