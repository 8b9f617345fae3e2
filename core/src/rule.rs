//! How a rerun's output is compared with the recorded one: `exact` (byte-identical) by default,
//! or a declared tolerance for outputs that cannot be exact (a GPU transcendental, say).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A comparison rule; written as `exact`, `ulps<=N` or `rtol=X` in records and reports.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum CompareRule {
    #[default]
    Exact,
    /// Every float element within N units in the last place.
    Ulps(u64),
    /// Every float element with |a-b| <= X·max(|a|,|b|).
    Rtol(f64),
}

impl CompareRule {
    /// Does an element pair pass? (Exact passes only bit-identical values.)
    pub fn accepts(&self, a: f64, b: f64) -> bool {
        match *self {
            CompareRule::Exact => a.to_bits() == b.to_bits(),
            CompareRule::Ulps(n) => ulp_distance(a, b) <= n,
            CompareRule::Rtol(r) => a == b || (a - b).abs() <= r * a.abs().max(b.abs()),
        }
    }
}

/// Distance in units in the last place between two doubles (`u64::MAX` if either is NaN and they differ).
pub fn ulp_distance(a: f64, b: f64) -> u64 {
    if a.to_bits() == b.to_bits() {
        return 0;
    }
    if a.is_nan() || b.is_nan() {
        return u64::MAX;
    }
    // Map the sign-magnitude bit patterns onto a monotone integer line.
    fn key(x: f64) -> i128 {
        let b = x.to_bits() as i64;
        if b < 0 { -((b & i64::MAX) as i128) } else { b as i128 }
    }
    (key(a) - key(b)).unsigned_abs().min(u64::MAX as u128) as u64
}

impl fmt::Display for CompareRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompareRule::Exact => f.write_str("exact"),
            CompareRule::Ulps(n) => write!(f, "ulps<={n}"),
            CompareRule::Rtol(r) => write!(f, "rtol={r:?}"),
        }
    }
}

impl FromStr for CompareRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a comparison rule (expected `exact`, `ulps<=N` or `rtol=X`)");
        if s == "exact" {
            Ok(CompareRule::Exact)
        } else if let Some(n) = s.strip_prefix("ulps<=") {
            n.parse().map(CompareRule::Ulps).map_err(|_| bad())
        } else if let Some(r) = s.strip_prefix("rtol=") {
            match r.parse::<f64>() {
                Ok(x) if x.is_finite() && x >= 0.0 => Ok(CompareRule::Rtol(x)),
                _ => Err(bad()),
            }
        } else {
            Err(bad())
        }
    }
}

impl Serialize for CompareRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CompareRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulps_count_representable_steps_across_zero() {
        assert_eq!(ulp_distance(1.0, 1.0), 0);
        assert_eq!(ulp_distance(1.0, f64::from_bits(1.0f64.to_bits() + 3)), 3);
        assert_eq!(ulp_distance(0.0, -0.0), 0);
        assert_eq!(ulp_distance(f64::from_bits(1), -f64::from_bits(1)), 2);
        assert_eq!(ulp_distance(f64::NAN, 1.0), u64::MAX);
    }

    #[test]
    fn rules_round_trip_through_text() {
        for r in [CompareRule::Exact, CompareRule::Ulps(4), CompareRule::Rtol(1e-12)] {
            assert_eq!(r.to_string().parse::<CompareRule>().unwrap(), r);
        }
        assert!("rtol=-1".parse::<CompareRule>().is_err());
        assert!(CompareRule::Rtol(1e-3).accepts(1000.0, 1000.5));
        assert!(!CompareRule::Exact.accepts(0.1, 0.1 + 1e-17 + 1e-16));
    }
}
