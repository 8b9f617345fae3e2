//! The Gaussian kernels of IPM balancing: bandwidths, an exponential of our own, distances from
//! one point to runs of rows, kernel means, and the stored kernel matrix with its product.

use ndarray::{Array1, Array2};
use rayon::prelude::*;

/// The Gaussian kernel's bandwidth γ in k(x, x') = exp(−‖x − x'‖²/(2γ²)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bandwidth {
    Fixed(f64),
    /// The mean of the kernels with γ ∈ {1, 3, 10}.
    Mean,
}

impl Bandwidth {
    pub fn parse(s: &str) -> Result<Bandwidth, String> {
        match s {
            "mean" => Ok(Bandwidth::Mean),
            _ => s.parse::<f64>().ok().filter(|g| *g > 0.0).map(Bandwidth::Fixed).ok_or_else(|| format!("kernel bandwidth `{s}` is neither `mean` nor a positive number")),
        }
    }

    /// k at squared distance d².
    pub(super) fn kernel(self, d2: f64) -> f64 {
        match self {
            Bandwidth::Fixed(g) => fixed_kernel(d2, -0.5 / (g * g)),
            Bandwidth::Mean => mean_kernel(d2),
        }
    }

    /// The kernel applied in place to a run of squared distances: one loop per bandwidth kind,
    /// so the exponentials run in vector lanes.
    fn apply(self, run: &mut [f64]) {
        match self {
            Bandwidth::Fixed(g) => {
                let scale = -0.5 / (g * g);
                run.iter_mut().for_each(|v| *v = fixed_kernel(*v, scale));
            }
            Bandwidth::Mean => run.iter_mut().for_each(|v| *v = mean_kernel(*v)),
        }
    }
}

/// exp(−d²/(2γ²)) given −1/(2γ²): multiplications only, no division in the loop.
#[inline(always)]
fn fixed_kernel(d2: f64, scale: f64) -> f64 {
    exp_neg(d2 * scale)
}

/// The mean of the kernels with γ = 1, 3, 10. exp(−d²/2) = exp(−d²/18)⁹, by three squarings and a
/// product: one exponential fewer.
#[inline(always)]
fn mean_kernel(d2: f64) -> f64 {
    let e3 = exp_neg(d2 * (-1.0 / 18.0));
    let e3_4 = (e3 * e3) * (e3 * e3);
    (e3_4 * e3_4 * e3 + e3 + exp_neg(d2 * (-1.0 / 200.0))) * (1.0 / 3.0)
}

/// e^x for x ≤ 0 in plain arithmetic, so a kernel has the same bits on every machine (the C
/// library's exp may differ between versions, and picks its code by CPU) and its loops vectorise:
/// x = k·ln 2 + r with |r| ≤ ln 2 / 2 (ln 2 in two parts, so k·ln 2 is exact), e^r by its Taylor
/// polynomial to degree 13 (truncation below 10⁻¹⁷ relatively), times 2^k built from its bits.
/// Within one unit in the last place of the C library's value (the tests measure it); results
/// below the smallest normal number (x < −708.39) are 0.
#[inline(always)]
pub(super) fn exp_neg(x: f64) -> f64 {
    // ln 2 = LN2_HI + LN2_LO, the first with its low 21 bits zero (fdlibm's split)
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5·2⁵²: adding it rounds to an integer
    const SMALLEST: f64 = -708.396_418_532_264_1; // ln of the smallest normal number
    let xc = if x < SMALLEST { SMALLEST } else { x };
    let t = xc * std::f64::consts::LOG2_E + ROUND;
    let k = t - ROUND;
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    // 1/13!, 1/12!, …, 1/2!
    const C: [f64; 12] = [
        1.0 / 6_227_020_800.0,
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
    ];
    let q = C[1..].iter().fold(C[0], |q, c| q * r + c);
    let scale = f64::from_bits((t.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(1023)) << 52);
    let e = (1.0 + (r + r * r * q)) * scale;
    if x < SMALLEST { 0.0 } else { e }
}

/// The rows of a matrix kept twice: as rows, and dimension by dimension, so that the squared
/// distances from one point to a run of rows are computed across the rows (in vector lanes), each
/// summed over the dimensions in order.
pub(super) struct Points {
    pub(super) n: usize,
    d: usize,
    rows: Vec<f64>,
    by_dim: Vec<f64>,
}

/// Rows per run of distances: a run's sums stay in the first-level cache.
const RUN: usize = 256;

impl Points {
    pub(super) fn new(a: &Array2<f64>) -> Points {
        let (n, d) = a.dim();
        Points { n, d, rows: a.iter().copied().collect(), by_dim: a.t().iter().copied().collect() }
    }

    pub(super) fn row(&self, i: usize) -> &[f64] {
        &self.rows[i * self.d..(i + 1) * self.d]
    }

    /// k(x, row j) for the rows j = lo, lo + 1, … into `out`, ‖x − row j‖² summed over the
    /// dimensions in order.
    pub(super) fn kernel_to(&self, x: &[f64], lo: usize, bw: Bandwidth, out: &mut [f64]) {
        for (r, run) in out.chunks_mut(RUN).enumerate() {
            let start = lo + r * RUN;
            run.fill(0.0);
            for (k, xk) in x.iter().enumerate() {
                let col = &self.by_dim[k * self.n + start..k * self.n + start + run.len()];
                for (o, c) in run.iter_mut().zip(col) {
                    let e = c - xk;
                    *o += e * e;
                }
            }
            bw.apply(run);
        }
    }

    /// Σ_{j ∈ lo..hi} k(x, row j), added in row order.
    pub(super) fn kernel_sum(&self, x: &[f64], lo: usize, hi: usize, bw: Bandwidth) -> f64 {
        let mut buf = [0.0; RUN];
        let mut sum = 0.0;
        let mut start = lo;
        while start < hi {
            let run = &mut buf[..RUN.min(hi - start)];
            self.kernel_to(x, start, bw, run);
            sum = run.iter().fold(sum, |s, v| s + v);
            start += run.len();
        }
        sum
    }
}

/// Row means of the kernel between `a`'s rows and `b`'s rows: (1/|b|) Σ_i k(a_j, b_i).
pub(super) fn kernel_row_means(a: &Points, b: &Points, bw: Bandwidth) -> Array1<f64> {
    let m = b.n as f64;
    let v: Vec<f64> = (0..a.n).into_par_iter().map(|j| b.kernel_sum(a.row(j), 0, b.n, bw) / m).collect();
    Array1::from(v)
}

/// The mean of the kernel over all pairs of `a`'s rows, (1/n²) Σᵢ Σⱼ k(aᵢ, aⱼ): each pair once
/// (k is symmetric), rows in parallel, row sums added in row order.
pub(super) fn kernel_mean(a: &Points, bw: Bandwidth) -> f64 {
    let n = a.n;
    let sums: Vec<f64> = (0..n).into_par_iter().map(|i| 2.0 * a.kernel_sum(a.row(i), 0, i, bw) + bw.kernel(0.0)).collect();
    sums.iter().sum::<f64>() / (n as f64 * n as f64)
}

/// K + ridge·I for the rows of `a`, its lower triangle stored packed by rows (row i holds
/// columns 0..=i): each pair's kernel computed once, and a product reads each entry once.
pub(super) struct Stored {
    pub(super) n: usize,
    data: Vec<f64>,
    /// Row ranges of the product's parallel tasks, each about the same number of entries; fixed
    /// by n alone, so the product's sums do not depend on threads.
    blocks: Vec<(usize, usize)>,
}

/// Parallel tasks of a [`Stored`] product.
const PRODUCT_BLOCKS: usize = 16;

impl Stored {
    pub(super) fn new(a: &Points, bw: Bandwidth, ridge: f64) -> Stored {
        let n = a.n;
        let mut data = vec![0.0; n * (n + 1) / 2];
        let mut rows: Vec<(usize, &mut [f64])> = Vec::with_capacity(n);
        let mut rest = &mut data[..];
        for i in 0..n {
            let (row, tail) = rest.split_at_mut(i + 1);
            rows.push((i, row));
            rest = tail;
        }
        rows.into_par_iter().for_each(|(i, row)| {
            a.kernel_to(a.row(i), 0, bw, row);
            row[i] += ridge;
        });
        let mut blocks = Vec::with_capacity(PRODUCT_BLOCKS);
        let (per, mut lo) = (data.len().div_ceil(PRODUCT_BLOCKS).max(1), 0);
        for i in 0..n {
            if (i + 1) * (i + 2) / 2 >= per * (blocks.len() + 1) || i + 1 == n {
                blocks.push((lo, i + 1));
                lo = i + 1;
            }
        }
        Stored { n, data, blocks }
    }

    /// Row i's entries in columns 0..=i.
    pub(super) fn lower(&self, i: usize) -> &[f64] {
        &self.data[i * (i + 1) / 2..(i + 1) * (i + 2) / 2]
    }

    pub(super) fn diagonal(&self, i: usize) -> f64 {
        self.lower(i)[i]
    }

    /// Row i whole (the columns past i read down column i).
    pub(super) fn row(&self, i: usize) -> Vec<f64> {
        let mut r = self.lower(i).to_vec();
        r.extend((i + 1..self.n).map(|j| self.lower(j)[i]));
        r
    }

    /// (K + ridge·I)v from the lower triangle: each block of rows adds Σ_{j≤i} a_ij v_j to row i
    /// and scatters a_ij v_i to the rows j < i in a vector of its own; row i's total is its own
    /// sum plus the blocks' scattered parts, added in block order. Within a block, rows go four
    /// at a time through the columns they share, so each v_j and scattered sum is read once for
    /// four entries.
    pub(super) fn matvec(&self, v: &Array1<f64>) -> Array1<f64> {
        let v = v.as_slice().expect("contiguous");
        let parts: Vec<(Vec<f64>, Vec<f64>)> = self.blocks.par_iter().map(|&(lo, hi)| self.block_product(v, lo, hi)).collect();
        let mut out = Vec::with_capacity(self.n);
        for (own, _) in &parts {
            out.extend_from_slice(own);
        }
        for (_, spread) in &parts {
            for (o, t) in out.iter_mut().zip(spread) {
                *o += t;
            }
        }
        Array1::from(out)
    }

    /// Rows lo..hi of the lower triangle times v: their own sums, and what they scatter to rows 0..hi.
    fn block_product(&self, v: &[f64], lo: usize, hi: usize) -> (Vec<f64>, Vec<f64>) {
        let (mut own, mut spread) = (vec![0.0; hi - lo], vec![0.0; hi]);
        let mut i = lo;
        while i + 4 <= hi {
            let [r0, r1, r2, r3] = std::array::from_fn(|q| &self.lower(i + q)[..i]);
            let vi = [v[i], v[i + 1], v[i + 2], v[i + 3]];
            // Four lanes per row over the shared columns 0..full, then the rest column by column.
            let mut s = [[0.0f64; 4]; 4];
            let full = i / 4 * 4;
            let lanes = r0.chunks_exact(4).zip(r1.chunks_exact(4)).zip(r2.chunks_exact(4)).zip(r3.chunks_exact(4));
            for ((((k0, k1), k2), k3), (vj, t)) in lanes.zip(v[..full].chunks_exact(4).zip(spread[..full].chunks_exact_mut(4))) {
                for l in 0..4 {
                    s[0][l] += k0[l] * vj[l];
                    s[1][l] += k1[l] * vj[l];
                    s[2][l] += k2[l] * vj[l];
                    s[3][l] += k3[l] * vj[l];
                    t[l] += (k0[l] * vi[0] + k1[l] * vi[1]) + (k2[l] * vi[2] + k3[l] * vi[3]);
                }
            }
            let mut rest = [0.0f64; 4];
            for j in full..i {
                let k = [r0[j], r1[j], r2[j], r3[j]];
                for q in 0..4 {
                    rest[q] += k[q] * v[j];
                }
                spread[j] += (k[0] * vi[0] + k[1] * vi[1]) + (k[2] * vi[2] + k[3] * vi[3]);
            }
            // The triangle the four rows make among themselves.
            for (q, vq) in vi.iter().enumerate() {
                let row = self.lower(i + q);
                for j in i..i + q {
                    rest[q] += row[j] * v[j];
                    spread[j] += row[j] * vq;
                }
                rest[q] += row[i + q] * vq;
                own[i + q - lo] = ((s[q][0] + s[q][1]) + (s[q][2] + s[q][3])) + rest[q];
            }
            i += 4;
        }
        for i in i..hi {
            let (row, vi) = (self.lower(i), v[i]);
            let mut sum = row[i] * vi;
            for j in 0..i {
                sum += row[j] * v[j];
                spread[j] += row[j] * vi;
            }
            own[i - lo] = sum;
        }
        (own, spread)
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between two positive doubles.
    fn ulps(a: f64, b: f64) -> u64 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn exponential_is_within_one_ulp_of_the_c_library() {
        let mut worst = 0;
        for i in 0..1_000_000u32 {
            // the whole range, and densely near 0 where kernels mostly live
            for x in [-(f64::from(i) * 708.39 / 1e6), -(f64::from(i) * 2e-5), -(f64::from(i) * 3.7e-9)] {
                worst = worst.max(ulps(exp_neg(x), x.exp()));
            }
        }
        assert!(worst <= 1, "{worst} ulp");
        assert_eq!(exp_neg(0.0), 1.0);
        assert_eq!(exp_neg(-0.0), 1.0);
        assert_eq!(exp_neg(-708.4), 0.0);
        assert_eq!(exp_neg(-1e300), 0.0);
        assert_eq!(exp_neg(f64::NEG_INFINITY), 0.0);
        assert!(exp_neg(-708.39) >= f64::MIN_POSITIVE);
    }
}
