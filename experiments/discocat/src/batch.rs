//! Many sentence pairs at once (S V O against S L O, as in GS2011): Kronecker, copy and relational
//! similarities grouped by verb, so each d × d verb matrix is read once per group, not per pair.
//!
//! Matrix–vector work runs in blocks of four sentences with four fixed partial sums per dot
//! product; an AVX2 build of the same code is picked at run time. Lane arithmetic is identical
//! (no FMA), so every machine gets the same bits, with or without AVX2, on any thread count.

use super::models;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Nouns (n × d), verb vectors (k × d) and relational verb matrices (k × d × d), row-major.
pub struct Lexicon<'a> {
    pub d: usize,
    pub nouns: &'a [f64],
    pub verbs: &'a [f64],
    pub rels: &'a [f64],
}

/// One item: subject and object (noun rows), the verb and the landmark (verb rows).
#[derive(Debug, Clone, Copy)]
pub struct Pair {
    pub s: u32,
    pub o: u32,
    pub verb: u32,
    pub landmark: u32,
}

impl Lexicon<'_> {
    fn noun(&self, i: u32) -> &[f64] {
        &self.nouns[i as usize * self.d..(i as usize + 1) * self.d]
    }
    fn verb(&self, i: u32) -> &[f64] {
        &self.verbs[i as usize * self.d..(i as usize + 1) * self.d]
    }
    fn rel(&self, i: u32) -> &[f64] {
        let dd = self.d * self.d;
        &self.rels[i as usize * dd..(i as usize + 1) * dd]
    }
}

/// Dot product with four partial sums in a fixed order: ((p₀ + p₁) + (p₂ + p₃)) + tail.
#[inline(always)]
pub fn dot4(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            acc[l] += x[l] * y[l];
        }
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + tail
}

/// Sentences per cache block (their vectors stay in L2) and rows of M per block (in L1); chosen
/// by a sweep of bench/discocat.sh at d = 300 on a 2-core EPYC.
const SENTENCE_BLOCK: usize = 128;
const ROW_BLOCK: usize = 16;

/// M xₖ for every vector xₖ (M is d × d), cache-blocked, two rows of M against four vectors at a
/// time; each dot product is summed exactly as [`dot4`] sums it, whatever the blocking.
#[inline(always)]
fn matvecs_body(m: &[f64], xs: &[&[f64]], out: &mut [f64]) {
    let d = xs.first().map_or(0, |x| x.len());
    let c = d / 4 * 4;
    let finish = |acc: &[f64; 4], tail: f64| ((acc[0] + acc[1]) + (acc[2] + acc[3])) + tail;
    let tail = |row: usize, x: &[f64]| -> f64 { (c..d).map(|j| m[row * d + j] * x[j]).sum() };
    let full = xs.len() / 4 * 4;
    let even = d / 2 * 2;
    for kb in (0..full).step_by(SENTENCE_BLOCK) {
        let ke = (kb + SENTENCE_BLOCK).min(full);
        for ib in (0..even).step_by(ROW_BLOCK) {
            let ie = (ib + ROW_BLOCK).min(even);
            for k in (kb..ke).step_by(4) {
                let x = [&xs[k][..c], &xs[k + 1][..c], &xs[k + 2][..c], &xs[k + 3][..c]];
                for i in (ib..ie).step_by(2) {
                    let (r0, r1) = (&m[i * d..i * d + c], &m[(i + 1) * d..(i + 1) * d + c]);
                    let mut acc = [[[0.0f64; 4]; 4]; 2];
                    let chunks = r0.chunks_exact(4).zip(r1.chunks_exact(4)).zip(x[0].chunks_exact(4).zip(x[1].chunks_exact(4)).zip(x[2].chunks_exact(4).zip(x[3].chunks_exact(4))));
                    for ((a0, a1), ((b0, b1), (b2, b3))) in chunks {
                        for (q, b) in [b0, b1, b2, b3].iter().enumerate() {
                            for l in 0..4 {
                                acc[0][q][l] += a0[l] * b[l];
                                acc[1][q][l] += a1[l] * b[l];
                            }
                        }
                    }
                    for (r, row) in [i, i + 1].into_iter().enumerate() {
                        for q in 0..4 {
                            out[(k + q) * d + row] = finish(&acc[r][q], tail(row, xs[k + q]));
                        }
                    }
                }
            }
        }
    }
    // an odd last row, and the sentences after the last full block of four
    for (q, x) in xs.iter().enumerate() {
        let rows = if q < full { even..d } else { 0..d };
        for i in rows {
            out[q * d + i] = dot4(&m[i * d..(i + 1) * d], x);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn matvecs_avx2(m: &[f64], xs: &[&[f64]], out: &mut [f64]) {
    matvecs_body(m, xs, out)
}

/// M xₖ for each k, as an m × d row-major block.
pub fn matvecs(m: &[f64], xs: &[&[f64]]) -> Vec<f64> {
    let d = xs.first().map_or(0, |x| x.len());
    let mut out = vec![0.0; xs.len() * d];
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        unsafe { matvecs_avx2(m, xs, &mut out) };
        return out;
    }
    matvecs_body(m, xs, &mut out);
    out
}

/// [`matvecs`] without the AVX2 build (to check both give the same bits).
pub fn matvecs_portable(m: &[f64], xs: &[&[f64]]) -> Vec<f64> {
    let d = xs.first().map_or(0, |x| x.len());
    let mut out = vec![0.0; xs.len() * d];
    matvecs_body(m, xs, &mut out);
    out
}

/// Indices of `pairs` grouped by `key`, groups in key order, pairs in input order within them.
fn groups<K: Ord>(pairs: &[Pair], key: impl Fn(&Pair) -> K) -> Vec<Vec<usize>> {
    let mut g: BTreeMap<K, Vec<usize>> = BTreeMap::new();
    for (i, p) in pairs.iter().enumerate() {
        g.entry(key(p)).or_default().push(i);
    }
    g.into_values().collect()
}

fn cos_from(ab: f64, aa: f64, bb: f64) -> f64 {
    if aa == 0.0 || bb == 0.0 { 0.0 } else { ab / (aa.sqrt() * bb.sqrt()) }
}

/// Kronecker similarity of each pair: cos(v⊙s, l⊙s) · cos(v⊙o, l⊙o), O(d) each.
pub fn kronecker(lex: &Lexicon, pairs: &[Pair]) -> Vec<f64> {
    pairs
        .par_iter()
        .with_min_len(256)
        .map(|p| {
            let (s, o, v, l) = (lex.noun(p.s), lex.noun(p.o), lex.verb(p.verb), lex.verb(p.landmark));
            let part = |x: &[f64]| {
                let (mut ab, mut aa, mut bb) = ([0.0f64; 4], [0.0f64; 4], [0.0f64; 4]);
                let mut t = [0.0f64; 3];
                let c = x.len() / 4 * 4;
                for j in (0..c).step_by(4) {
                    for q in 0..4 {
                        let (a, b) = (v[j + q] * x[j + q], l[j + q] * x[j + q]);
                        ab[q] += a * b;
                        aa[q] += a * a;
                        bb[q] += b * b;
                    }
                }
                for j in c..x.len() {
                    let (a, b) = (v[j] * x[j], l[j] * x[j]);
                    t[0] += a * b;
                    t[1] += a * a;
                    t[2] += b * b;
                }
                let sum = |u: [f64; 4], tail: f64| ((u[0] + u[1]) + (u[2] + u[3])) + tail;
                cos_from(sum(ab, t[0]), sum(aa, t[1]), sum(bb, t[2]))
            };
            part(s) * part(o)
        })
        .collect()
}

/// For each pair, M_key · x(pair) with M the verb's (or landmark's) matrix, transposed when
/// `transpose`; pairs grouped by that key so each matrix is read once per group.
fn grouped_matvecs(lex: &Lexicon, pairs: &[Pair], landmark: bool, transpose: bool, x: impl Fn(&Pair) -> u32 + Sync) -> Vec<f64> {
    let d = lex.d;
    let key = |p: &Pair| if landmark { p.landmark } else { p.verb };
    let gs = groups(pairs, key);
    let blocks: Vec<(Vec<usize>, Vec<f64>)> = gs
        .into_par_iter()
        .map(|idx| {
            let m = lex.rel(key(&pairs[idx[0]]));
            let mt;
            let m = if transpose {
                mt = (0..d * d).map(|k| m[(k % d) * d + k / d]).collect::<Vec<f64>>();
                &mt[..]
            } else {
                m
            };
            let xs: Vec<&[f64]> = idx.iter().map(|&i| lex.noun(x(&pairs[i]))).collect();
            let y = matvecs(m, &xs);
            (idx, y)
        })
        .collect();
    let mut out = vec![0.0; pairs.len() * d];
    for (idx, y) in blocks {
        for (q, &i) in idx.iter().enumerate() {
            out[i * d..(i + 1) * d].copy_from_slice(&y[q * d..(q + 1) * d]);
        }
    }
    out
}

/// Copy-model similarity of each pair: cos(s⊙(V o), s⊙(L o)) when `subject` (s_hadamard_Vo),
/// cos(o⊙(Vᵀ s), o⊙(Lᵀ s)) otherwise (o_hadamard_VTs).
pub fn copy(lex: &Lexicon, pairs: &[Pair], subject: bool) -> Vec<f64> {
    let d = lex.d;
    let arg = move |p: &Pair| if subject { p.o } else { p.s };
    let a = grouped_matvecs(lex, pairs, false, !subject, arg);
    let b = grouped_matvecs(lex, pairs, true, !subject, arg);
    pairs
        .par_iter()
        .enumerate()
        .with_min_len(256)
        .map(|(i, p)| {
            let w = lex.noun(if subject { p.s } else { p.o });
            let (ya, yb) = (&a[i * d..(i + 1) * d], &b[i * d..(i + 1) * d]);
            let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
            for j in 0..d {
                let (x, y) = (w[j] * ya[j], w[j] * yb[j]);
                ab += x * y;
                aa += x * x;
                bb += y * y;
            }
            cos_from(ab, aa, bb)
        })
        .collect()
}

/// Relational similarity of each pair: Σᵢⱼ VᵢⱼLᵢⱼ sᵢ² oⱼ² over the norms, computed as
/// (s⊙s)ᵀ (V⊙L) (o⊙o) with V⊙L formed once per (verb, landmark) group.
pub fn relational(lex: &Lexicon, pairs: &[Pair]) -> Vec<f64> {
    let d = lex.d;
    // (s⊙s)ᵀ (A⊙B) (o⊙o) for every pair of a group keyed by (A, B)
    let forms = |a_of: fn(&Pair) -> u32, b_of: fn(&Pair) -> u32| -> Vec<f64> {
        let gs = groups(pairs, |p| (a_of(p), b_of(p)));
        let blocks: Vec<(Vec<usize>, Vec<f64>)> = gs
            .into_par_iter()
            .map(|idx| {
                let p0 = pairs[idx[0]];
                let (a, b) = (lex.rel(a_of(&p0)), lex.rel(b_of(&p0)));
                let h: Vec<f64> = a.iter().zip(b).map(|(x, y)| x * y).collect();
                let o2: Vec<Vec<f64>> = idx.iter().map(|&i| lex.noun(pairs[i].o).iter().map(|x| x * x).collect()).collect();
                let refs: Vec<&[f64]> = o2.iter().map(|v| v.as_slice()).collect();
                let z = matvecs(&h, &refs);
                let vals = idx
                    .iter()
                    .enumerate()
                    .map(|(q, &i)| {
                        let s2: Vec<f64> = lex.noun(pairs[i].s).iter().map(|x| x * x).collect();
                        dot4(&s2, &z[q * d..(q + 1) * d])
                    })
                    .collect();
                (idx, vals)
            })
            .collect();
        let mut out = vec![0.0; pairs.len()];
        for (idx, vals) in blocks {
            for (i, v) in idx.into_iter().zip(vals) {
                out[i] = v;
            }
        }
        out
    };
    let xy = forms(|p| p.verb, |p| p.landmark);
    let xx = forms(|p| p.verb, |p| p.verb);
    let yy = forms(|p| p.landmark, |p| p.landmark);
    (0..pairs.len()).map(|i| cos_from(xy[i], xx[i], yy[i])).collect()
}

/// The same similarities one pair at a time through [`models::similarity`] (the reference).
pub fn one_by_one(lex: &Lexicon, pairs: &[Pair], m: models::Model) -> Vec<f64> {
    pairs
        .iter()
        .map(|p| {
            let x = models::Svo { s: lex.noun(p.s), v: lex.verb(p.verb), rel: Some(lex.rel(p.verb)), o: lex.noun(p.o) };
            let y = models::Svo { s: lex.noun(p.s), v: lex.verb(p.landmark), rel: Some(lex.rel(p.landmark)), o: lex.noun(p.o) };
            models::similarity(m, &x, &y).expect("relational matrices given")
        })
        .collect()
}
