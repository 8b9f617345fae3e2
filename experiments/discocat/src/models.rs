//! The concrete compositional models named by formula (aliases in [`Model::parse`]), each as a
//! materialised sentence tensor and as a factorised cosine that never builds anything d × d.
//!
//! Naming of the two "copy" models: Kartsaklis & Sadrzadeh (and Wijnholds, and the Frobenius
//! diagram reading) call s ⊙ (V o) *copy-subject* and o ⊙ (Vᵀ s) *copy-object*; Milajevs et al.
//! 2014, his thesis and `fowler.corpora` use the opposite labels. Here they are `s_hadamard_Vo`
//! and `o_hadamard_VTs`; the aliases carry the author (`copy_subject_ks` = `copy_object_milajevs`
//! = s ⊙ (V o)), and a bare `copy_subject` is refused as ambiguous.

use super::DiscoError;

/// A compositional model of a transitive sentence subject–verb–object. `v` is the verb's
/// distributional vector, `V` its relational matrix Σₖ s⁽ᵏ⁾ ⊗ o⁽ᵏ⁾ (row = subject, column = object).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Model {
    /// v
    Verb,
    /// s + v + o
    Add,
    /// s ⊙ v ⊙ o
    Mult,
    /// (v ⊗ v) ⊙ (s ⊗ o) = (v ⊙ s) ⊗ (v ⊙ o)
    Kronecker,
    /// V ⊙ (s ⊗ o) ("categorical" in GS2011)
    Relational,
    /// s ⊙ (V o)
    SHadamardVo,
    /// o ⊙ (Vᵀ s)
    OHadamardVTs,
    /// s ⊙ (V o) + o ⊙ (Vᵀ s)
    FrobeniusAdd,
    /// (s ⊙ (V o)) ⊙ (o ⊙ (Vᵀ s))
    FrobeniusMult,
    /// (s ⊙ (V o)) ⊗ (o ⊙ (Vᵀ s))
    FrobeniusOuter,
}

impl Model {
    pub const ALL: [Model; 10] = [Model::Verb, Model::Add, Model::Mult, Model::Kronecker, Model::Relational, Model::SHadamardVo, Model::OHadamardVTs, Model::FrobeniusAdd, Model::FrobeniusMult, Model::FrobeniusOuter];
    pub const NAMES: [&'static str; 10] = ["verb", "add", "mult", "kronecker", "relational", "s_hadamard_Vo", "o_hadamard_VTs", "frobenius_add", "frobenius_mult", "frobenius_outer"];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn formula(self) -> &'static str {
        ["v", "s + v + o", "s ⊙ v ⊙ o", "(v⊗v) ⊙ (s⊗o)", "V ⊙ (s⊗o)", "s ⊙ (V o)", "o ⊙ (Vᵀ s)", "s⊙(V o) + o⊙(Vᵀ s)", "s⊙(V o) ⊙ o⊙(Vᵀ s)", "s⊙(V o) ⊗ o⊙(Vᵀ s)"][self as usize]
    }

    /// Whether the model needs the relational matrix V (from corpus triples).
    pub fn relational(self) -> bool {
        self as usize >= Model::Relational as usize
    }

    /// A model by its formula name or a usual alias.
    pub fn parse(name: &str) -> Result<Model, DiscoError> {
        let n = name.trim().to_ascii_lowercase().replace('-', "_");
        let m = match n.as_str() {
            "verb" | "verb_only" => Model::Verb,
            "add" | "additive" => Model::Add,
            "mult" | "multiplicative" => Model::Mult,
            "kronecker" => Model::Kronecker,
            "relational" | "categorical" => Model::Relational,
            "s_hadamard_vo" | "copy_subject_ks" | "copy_object_milajevs" => Model::SHadamardVo,
            "o_hadamard_vts" | "copy_object_ks" | "copy_subject_milajevs" => Model::OHadamardVTs,
            "frobenius_add" | "frobenius_additive" => Model::FrobeniusAdd,
            "frobenius_mult" | "frobenius_multiplicative" => Model::FrobeniusMult,
            "frobenius_outer" => Model::FrobeniusOuter,
            "copy_subject" | "copy_object" => {
                return Err(DiscoError::Model(format!(
                    "`{name}` is ambiguous: Kartsaklis & Sadrzadeh call s⊙(V o) copy-subject, Milajevs calls it copy-object. Write s_hadamard_Vo or o_hadamard_VTs (or copy_subject_ks / copy_subject_milajevs)"
                )));
            }
            _ => return Err(DiscoError::Model(format!("no model `{name}`; models: {}", Self::NAMES.join(", ")))),
        };
        Ok(m)
    }
}

/// The words of one transitive sentence: subject, verb vector, relational verb matrix (d × d,
/// row-major; needed only by the relational models), object.
#[derive(Clone, Copy)]
pub struct Svo<'a> {
    pub s: &'a [f64],
    pub v: &'a [f64],
    pub rel: Option<&'a [f64]>,
    pub o: &'a [f64],
}

fn need_rel<'a>(x: &Svo<'a>, m: Model) -> Result<&'a [f64], DiscoError> {
    x.rel.ok_or_else(|| DiscoError::Model(format!("model {} needs the verb's relational matrix: give (verb, subject, object) triples", m.name())))
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The cosine; 0 when either vector is zero.
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    ratio(dot(a, b), dot(a, a), dot(b, b))
}

fn ratio(ab: f64, aa: f64, bb: f64) -> f64 {
    if aa == 0.0 || bb == 0.0 { 0.0 } else { ab / (aa.sqrt() * bb.sqrt()) }
}

fn zip3(a: &[f64], b: &[f64], c: &[f64], f: impl Fn(f64, f64, f64) -> f64) -> Vec<f64> {
    a.iter().zip(b).zip(c).map(|((x, y), z)| f(*x, *y, *z)).collect()
}

fn had(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x * y).collect()
}

fn outer(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().flat_map(|x| b.iter().map(move |y| x * y)).collect()
}

/// V x for a d × d row-major V.
pub fn matvec(v: &[f64], x: &[f64]) -> Vec<f64> {
    v.chunks_exact(x.len()).map(|row| dot(row, x)).collect()
}

/// Vᵀ x for a d × d row-major V.
pub fn matvec_t(v: &[f64], x: &[f64]) -> Vec<f64> {
    let d = x.len();
    let mut out = vec![0.0; d];
    for (xi, row) in x.iter().zip(v.chunks_exact(d)) {
        for (o, r) in out.iter_mut().zip(row) {
            *o += xi * r;
        }
    }
    out
}

/// s ⊙ (V o) and o ⊙ (Vᵀ s).
fn copies(x: &Svo, rel: &[f64]) -> (Vec<f64>, Vec<f64>) {
    (had(x.s, &matvec(rel, x.o)), had(x.o, &matvec_t(rel, x.s)))
}

/// The sentence tensor, flattened row-major (d, d², or d² for the outer Frobenius model).
pub fn sentence(m: Model, x: &Svo) -> Result<Vec<f64>, DiscoError> {
    Ok(match m {
        Model::Verb => x.v.to_vec(),
        Model::Add => zip3(x.s, x.v, x.o, |a, b, c| a + b + c),
        Model::Mult => zip3(x.s, x.v, x.o, |a, b, c| a * b * c),
        Model::Kronecker => outer(&had(x.v, x.s), &had(x.v, x.o)),
        Model::Relational => {
            // (sᵢ Vᵢⱼ) oⱼ: the order in which contracting the Frobenius lift multiplies, so both agree to the bit
            let rel = need_rel(x, m)?;
            let d = x.s.len();
            rel.chunks_exact(d).zip(x.s).flat_map(|(row, si)| row.iter().zip(x.o).map(move |(v, oj)| si * v * oj)).collect()
        }
        Model::SHadamardVo => copies(x, need_rel(x, m)?).0,
        Model::OHadamardVTs => copies(x, need_rel(x, m)?).1,
        Model::FrobeniusAdd => {
            let (a, b) = copies(x, need_rel(x, m)?);
            a.iter().zip(&b).map(|(p, q)| p + q).collect()
        }
        Model::FrobeniusMult => {
            let (a, b) = copies(x, need_rel(x, m)?);
            had(&a, &b)
        }
        Model::FrobeniusOuter => {
            let (a, b) = copies(x, need_rel(x, m)?);
            outer(&a, &b)
        }
    })
}

/// cos(sentence(x), sentence(y)) by the factorised identities: Kronecker and outer Frobenius as a
/// product of two O(d) cosines, relational as Σᵢⱼ VᵢⱼWᵢⱼ sᵢs′ᵢ oⱼo′ⱼ without a d × d sentence.
pub fn similarity(m: Model, x: &Svo, y: &Svo) -> Result<f64, DiscoError> {
    Ok(match m {
        Model::Kronecker => cosine(&had(x.v, x.s), &had(y.v, y.s)) * cosine(&had(x.v, x.o), &had(y.v, y.o)),
        Model::Relational => {
            let (vx, vy) = (need_rel(x, m)?, need_rel(y, m)?);
            let d = x.s.len();
            let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
            for i in 0..d {
                let (rx, ry) = (&vx[i * d..(i + 1) * d], &vy[i * d..(i + 1) * d]);
                let (mut a, mut b, mut c) = (0.0, 0.0, 0.0);
                for j in 0..d {
                    let (p, q) = (rx[j] * x.o[j], ry[j] * y.o[j]);
                    a += p * q;
                    b += p * p;
                    c += q * q;
                }
                xy += x.s[i] * y.s[i] * a;
                xx += x.s[i] * x.s[i] * b;
                yy += y.s[i] * y.s[i] * c;
            }
            ratio(xy, xx, yy)
        }
        Model::FrobeniusOuter => {
            let ((a1, b1), (a2, b2)) = (copies(x, need_rel(x, m)?), copies(y, need_rel(y, m)?));
            cosine(&a1, &a2) * cosine(&b1, &b2)
        }
        _ => cosine(&sentence(m, x)?, &sentence(m, y)?),
    })
}

/// Intransitive sentences subject–verb (ML2008): `verb` v, `add` s + v, `mult` s ⊙ v, and
/// `relational` v_rel ⊙ s with v_rel = Σₖ s⁽ᵏ⁾ over the verb's corpus subjects (GS2011).
pub fn intransitive(m: Model, s: &[f64], v: &[f64], rel: Option<&[f64]>) -> Result<Vec<f64>, DiscoError> {
    Ok(match m {
        Model::Verb => v.to_vec(),
        Model::Add => s.iter().zip(v).map(|(a, b)| a + b).collect(),
        Model::Mult => had(s, v),
        Model::Relational => had(rel.ok_or_else(|| DiscoError::Model("the intransitive relational model needs the verb's summed subjects: give (verb, subject, -) triples".into()))?, s),
        other => return Err(DiscoError::Model(format!("model {} is for transitive sentences; intransitive ones take verb, add, mult, relational", other.name()))),
    })
}

/// An adjective–noun phrase: a + n for the additive model, a ⊙ n otherwise (Mitchell & Lapata's
/// two baselines; the noun phrases of KS2013 / GS2012 sentences).
pub fn adjective_noun(m: Model, a: &[f64], n: &[f64]) -> Vec<f64> {
    match m {
        Model::Add => a.iter().zip(n).map(|(x, y)| x + y).collect(),
        _ => had(a, n),
    }
}

/// The Frobenius lift of V to an order-3 verb tensor T ∈ N ⊗ S ⊗ N with S = N ⊗ N,
/// T[i, (i, j), j] = Vᵢⱼ (both argument wires copied): its cup contraction with s and o is
/// V ⊙ (s ⊗ o), the relational sentence.
pub fn frobenius_lift(rel: &[f64], d: usize) -> ndarray::ArrayD<f64> {
    let mut t = ndarray::ArrayD::zeros(ndarray::IxDyn(&[d, d * d, d]));
    for i in 0..d {
        for j in 0..d {
            t[[i, i * d + j, j]] = rel[i * d + j];
        }
    }
    t
}

/// The one-wire Frobenius lifts, S = N: copying the subject wire gives T[i, i, j] = Vᵢⱼ
/// (s ⊙ (V o)); copying the object wire gives T[i, j, j] = Vᵢⱼ (o ⊙ (Vᵀ s)).
pub fn copy_lift(rel: &[f64], d: usize, subject: bool) -> ndarray::ArrayD<f64> {
    let mut t = ndarray::ArrayD::zeros(ndarray::IxDyn(&[d, d, d]));
    for i in 0..d {
        for j in 0..d {
            let k = if subject { i } else { j };
            t[[i, k, j]] = rel[i * d + j];
        }
    }
    t
}
