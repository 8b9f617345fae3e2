//! Corpus (verb, subject, object) triples and the relational verbs built from them:
//! V = Σₖ s⁽ᵏ⁾ ⊗ o⁽ᵏ⁾ for transitive use, v = Σₖ s⁽ᵏ⁾ for intransitive use (object `-`).

use super::DiscoError;
use super::vectors::Vectors;
use serde::Serialize;
use std::collections::BTreeMap;

/// Relational verb representations, by verb.
#[derive(Debug, Default)]
pub struct Relational {
    pub matrices: BTreeMap<String, Vec<f64>>,
    pub subjects: BTreeMap<String, Vec<f64>>,
    pub report: TriplesReport,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct TriplesReport {
    pub lines: usize,
    pub used: usize,
    /// Triples dropped because a subject or object has no vector.
    pub dropped_oov: usize,
    pub verbs: usize,
}

impl Relational {
    /// Reads `verb subject object [count]` lines (`#` comments; object `-` for an intransitive
    /// use) and sums outer products of the argument vectors, weighted by count, in file order.
    pub fn build(text: &str, source: &str, vecs: &Vectors) -> Result<Relational, DiscoError> {
        let d = vecs.dim;
        let mut r = Relational::default();
        for (k, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            let count = match f.len() {
                3 => 1.0,
                4 => f[3].parse::<f64>().ok().filter(|c| c.is_finite() && *c > 0.0).ok_or_else(|| DiscoError::Input(format!("{source} line {}: count `{}` is not a positive number", k + 1, f[3])))?,
                n => return Err(DiscoError::Input(format!("{source} line {}: {n} fields; a triple is `verb subject object [count]` (object `-` when intransitive)", k + 1))),
            };
            r.report.lines += 1;
            let Some(s) = vecs.get(f[1]) else {
                r.report.dropped_oov += 1;
                continue;
            };
            if f[2] == "-" {
                let acc = r.subjects.entry(f[0].to_string()).or_insert_with(|| vec![0.0; d]);
                for (a, x) in acc.iter_mut().zip(s) {
                    *a += count * x;
                }
            } else {
                let Some(o) = vecs.get(f[2]) else {
                    r.report.dropped_oov += 1;
                    continue;
                };
                let acc = r.matrices.entry(f[0].to_string()).or_insert_with(|| vec![0.0; d * d]);
                for (row, si) in acc.chunks_exact_mut(d).zip(s) {
                    for (a, oj) in row.iter_mut().zip(o) {
                        *a += count * si * oj;
                    }
                }
            }
            r.report.used += 1;
        }
        r.report.verbs = r.matrices.keys().chain(r.subjects.keys()).collect::<std::collections::BTreeSet<_>>().len();
        Ok(r)
    }
}
