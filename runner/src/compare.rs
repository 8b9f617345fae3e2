//! Comparing a rerun's output with the recorded one under its rule: identical, within the rule, or
//! different — with max abs/rel error, ULP distance, differing count and first index for arrays,
//! differing paths for JSON, and the first differing byte otherwise.

use reprise_core::npy::{self, Dtype};
use reprise_core::rule::ulp_distance;
use reprise_core::{CompareRule, MediaType};
use serde::Serialize;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Identical,
    WithinRule,
    Different,
    /// Recorded, but the rerun did not produce it.
    Missing,
    /// Produced by the rerun, but not recorded.
    Unexpected,
}

impl Verdict {
    pub fn passes(self) -> bool {
        matches!(self, Verdict::Identical | Verdict::WithinRule)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Detail {
    None,
    Array {
        dtype: String,
        recorded_shape: Vec<usize>,
        new_shape: Vec<usize>,
        elements: usize,
        differing: usize,
        first_index: Option<Vec<usize>>,
        max_abs: f64,
        max_rel: f64,
        max_ulps: u64,
    },
    Json {
        differing_paths: Vec<String>,
        more: usize,
    },
    Bytes {
        recorded_size: u64,
        new_size: u64,
        first_offset: Option<u64>,
    },
    Unreadable {
        why: String,
    },
}

/// Paths listed at most for a JSON difference.
const MAX_PATHS: usize = 20;

/// Compares two versions of an output.
pub fn compare(media_type: &str, rule: CompareRule, recorded: &[u8], new: &[u8]) -> (Verdict, Detail) {
    if recorded == new {
        return (Verdict::Identical, Detail::None);
    }
    match media_type {
        MediaType::NPY => compare_npy(rule, recorded, new),
        MediaType::JSON | MediaType::PLOTLY => compare_json(rule, recorded, new),
        _ => (Verdict::Different, bytes_detail(recorded, new)),
    }
}

fn bytes_detail(a: &[u8], b: &[u8]) -> Detail {
    let first = a.iter().zip(b).position(|(x, y)| x != y).or(if a.len() != b.len() { Some(a.len().min(b.len())) } else { None });
    Detail::Bytes { recorded_size: a.len() as u64, new_size: b.len() as u64, first_offset: first.map(|i| i as u64) }
}

fn compare_npy(rule: CompareRule, recorded: &[u8], new: &[u8]) -> (Verdict, Detail) {
    let (a, b) = match (npy::decode(recorded), npy::decode(new)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return (Verdict::Different, Detail::Unreadable { why: e.to_string() }),
    };
    if a.dtype != b.dtype || a.shape != b.shape {
        let d = Detail::Array {
            dtype: format!("{} vs {}", a.dtype.descr(), b.dtype.descr()),
            recorded_shape: a.shape.clone(),
            new_shape: b.shape.clone(),
            elements: a.len(),
            differing: a.len().max(b.len()),
            first_index: None,
            max_abs: f64::NAN,
            max_rel: f64::NAN,
            max_ulps: u64::MAX,
        };
        return (Verdict::Different, d);
    }
    let (mut differing, mut first, mut max_abs, mut max_rel, mut max_ulps) = (0usize, None, 0f64, 0f64, 0u64);
    let mut all_accepted = true;
    for i in 0..a.len() {
        if a.raw(i) == b.raw(i) {
            continue;
        }
        differing += 1;
        first.get_or_insert(i);
        let (x, y) = (a.get_f64(i), b.get_f64(i));
        let abs = (x - y).abs();
        let rel = if abs == 0.0 { 0.0 } else { abs / x.abs().max(y.abs()) };
        let ulps = match a.dtype {
            Dtype::F32 => f32_ulps(x as f32, y as f32),
            Dtype::F64 => ulp_distance(x, y),
            _ => abs as u64,
        };
        max_abs = max_abs.max(abs);
        max_rel = max_rel.max(rel);
        max_ulps = max_ulps.max(ulps);
        let accepted = match rule {
            CompareRule::Exact => false,
            CompareRule::Ulps(n) => a.dtype.is_float() && ulps <= n,
            CompareRule::Rtol(r) => abs <= r * x.abs().max(y.abs()),
        };
        all_accepted &= accepted;
    }
    let detail = Detail::Array {
        dtype: a.dtype.descr().to_string(),
        recorded_shape: a.shape.clone(),
        new_shape: b.shape.clone(),
        elements: a.len(),
        differing,
        first_index: first.map(|i| unravel(i, &a.shape)),
        max_abs,
        max_rel,
        max_ulps,
    };
    // No differing element means only the header bytes (padding) differ: the data are identical.
    let verdict = if differing == 0 || all_accepted { Verdict::WithinRule } else { Verdict::Different };
    (verdict, detail)
}

fn f32_ulps(a: f32, b: f32) -> u64 {
    if a.to_bits() == b.to_bits() {
        return 0;
    }
    if a.is_nan() || b.is_nan() {
        return u64::MAX;
    }
    let key = |x: f32| -> i64 {
        let b = x.to_bits() as i32;
        if b < 0 { -((b & i32::MAX) as i64) } else { b as i64 }
    };
    (key(a) - key(b)).unsigned_abs()
}

/// Turns a flat C-order index into one index per axis.
pub fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (axis, &dim) in shape.iter().enumerate().rev() {
        if dim > 0 {
            idx[axis] = flat % dim;
            flat /= dim;
        }
    }
    idx
}

fn compare_json(rule: CompareRule, recorded: &[u8], new: &[u8]) -> (Verdict, Detail) {
    let (a, b): (Value, Value) = match (serde_json::from_slice(recorded), serde_json::from_slice(new)) {
        (Ok(a), Ok(b)) => (a, b),
        _ => return (Verdict::Different, bytes_detail(recorded, new)),
    };
    let mut strict = Vec::new();
    let mut loose = Vec::new();
    walk(&a, &b, "$", rule, &mut strict, &mut loose);
    let verdict = if loose.is_empty() { Verdict::WithinRule } else { Verdict::Different };
    let paths = if loose.is_empty() { strict } else { loose };
    let more = paths.len().saturating_sub(MAX_PATHS);
    (verdict, Detail::Json { differing_paths: paths.into_iter().take(MAX_PATHS).collect(), more })
}

/// Collects paths whose values differ at all (`strict`) and those that differ beyond the rule (`loose`).
fn walk(a: &Value, b: &Value, path: &str, rule: CompareRule, strict: &mut Vec<String>, loose: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = format!("{path}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => walk(u, v, &p, rule, strict, loose),
                    _ => {
                        strict.push(p.clone());
                        loose.push(p);
                    }
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                walk(u, v, &format!("{path}[{i}]"), rule, strict, loose);
            }
        }
        (Value::Number(x), Value::Number(y)) if x != y => {
            strict.push(path.to_string());
            let within = match (x.as_f64(), y.as_f64()) {
                (Some(u), Some(v)) => rule != CompareRule::Exact && rule.accepts(u, v),
                _ => false,
            };
            if !within {
                loose.push(path.to_string());
            }
        }
        _ if a != b => {
            strict.push(path.to_string());
            loose.push(path.to_string());
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_differences_are_measured() {
        let a: Vec<f64> = (0..6).map(|i| i as f64).collect();
        let mut b = a.clone();
        b[4] = f64::from_bits(4.0f64.to_bits() + 2);
        let (v, d) = compare(MediaType::NPY, CompareRule::Exact, &npy::encode(&[2, 3], &a), &npy::encode(&[2, 3], &b));
        assert_eq!(v, Verdict::Different);
        match d {
            Detail::Array { differing, first_index, max_ulps, max_abs, max_rel, .. } => {
                assert_eq!(differing, 1);
                assert_eq!(first_index, Some(vec![1, 1]));
                assert_eq!(max_ulps, 2);
                assert_eq!(max_abs, b[4] - 4.0);
                assert_eq!(max_rel, (b[4] - 4.0) / b[4]);
            }
            other => panic!("{other:?}"),
        }
        let (v, _) = compare(MediaType::NPY, CompareRule::Ulps(4), &npy::encode(&[6], &a), &npy::encode(&[6], &b));
        assert_eq!(v, Verdict::WithinRule);
        let (v, _) = compare(MediaType::NPY, CompareRule::Ulps(1), &npy::encode(&[6], &a), &npy::encode(&[6], &b));
        assert_eq!(v, Verdict::Different);
    }

    #[test]
    fn json_differences_name_their_paths() {
        let a = br#"{"estimate":3.14,"n":10,"tags":["x"]}"#;
        let b = br#"{"estimate":3.1400000000001,"n":11,"tags":["x"]}"#;
        let (v, d) = compare(MediaType::JSON, CompareRule::Exact, a, b);
        assert_eq!(v, Verdict::Different);
        assert_eq!(d, Detail::Json { differing_paths: vec!["$.estimate".into(), "$.n".into()], more: 0 });
        let (v, d) = compare(MediaType::JSON, CompareRule::Rtol(1e-9), a, b);
        assert_eq!(v, Verdict::Different);
        assert_eq!(d, Detail::Json { differing_paths: vec!["$.n".into()], more: 0 });
    }

    #[test]
    fn other_bytes_report_the_first_differing_offset() {
        let (v, d) = compare(MediaType::CSV, CompareRule::Exact, b"a,b\n1,2\n", b"a,b\n1,3\n");
        assert_eq!(v, Verdict::Different);
        assert_eq!(d, Detail::Bytes { recorded_size: 8, new_size: 8, first_offset: Some(6) });
    }
}
