//! `RunSpec`: everything that determines a run's outputs, hashed canonically; its digest is the
//! run's spec id. No timestamps, hostnames or absolute paths.

use crate::error::RunnerError;
use reprise_core::{Params, Seed, canon};
use reprise_store::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const SPEC_SCHEMA: &str = "reprise.spec/1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExperimentRef {
    pub name: String,
    pub version: u32,
}

/// The code a run was made with: a git commit and, when the code differed from it, the digest of
/// the diff (stored as an object) that `rerun` applies on top of the commit, with the rule that
/// chose which paths are code (`provenance::CODE_SCOPE`; absent in specs made when every changed
/// file counted, and in clean specs, whose meaning the rule does not change).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CodeRef {
    pub commit: String,
    pub dirty: bool,
    pub diff: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    pub schema: String,
    pub experiment: ExperimentRef,
    pub params: Params,
    pub seed: Seed,
    /// The rule that turns (seed, name) into random streams.
    pub rng: String,
    /// Input name → digest of its bytes (stored as an object).
    pub inputs: BTreeMap<String, String>,
    pub code: CodeRef,
    /// SHA-256 of the repository's Cargo.lock.
    pub cargo_lock: String,
    /// `rustc -vV` of the compiler that built the binary.
    pub toolchain: String,
    pub target: String,
    pub features: Vec<String>,
    /// `kind` = cpu, or cuda with device, driver and NVRTC versions, kernel-source digest, layout.
    pub backend: BTreeMap<String, String>,
}

impl RunSpec {
    pub fn canonical(&self) -> Result<Vec<u8>, RunnerError> {
        Ok(canon::to_vec(self)?)
    }

    pub fn digest(&self) -> Result<Digest, RunnerError> {
        Ok(Digest::of(&self.canonical()?))
    }

    pub fn parse(bytes: &[u8]) -> Result<RunSpec, RunnerError> {
        serde_json::from_slice(bytes).map_err(|e| RunnerError::Malformed { what: "run spec", why: e.to_string() })
    }

    /// Input digests, parsed.
    pub fn input_digests(&self) -> Result<BTreeMap<String, Digest>, RunnerError> {
        self.inputs
            .iter()
            .map(|(k, v)| Ok((k.clone(), parse_digest(v, "input digest")?)))
            .collect()
    }

    pub fn diff_digest(&self) -> Result<Option<Digest>, RunnerError> {
        self.code.diff.as_deref().map(|d| parse_digest(d, "diff digest")).transpose()
    }

    /// Every object this spec refers to.
    pub fn references(&self) -> Vec<Digest> {
        let mut out: Vec<Digest> = self.inputs.values().filter_map(|v| Digest::parse(v)).collect();
        out.extend(self.code.diff.as_deref().and_then(Digest::parse));
        out
    }
}

pub(crate) fn parse_digest(s: &str, what: &'static str) -> Result<Digest, RunnerError> {
    Digest::parse(s).ok_or_else(|| RunnerError::Malformed { what, why: format!("`{s}` is not a digest") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reprise_core::ParamValue;

    pub(crate) fn sample() -> RunSpec {
        let mut params = BTreeMap::new();
        params.insert("n".to_string(), ParamValue::Int(10));
        params.insert("h".to_string(), ParamValue::Float(0.25));
        RunSpec {
            schema: SPEC_SCHEMA.into(),
            experiment: ExperimentRef { name: "demo.pi".into(), version: 1 },
            params: Params(params),
            seed: Seed(7),
            rng: reprise_core::seed::STREAM_RULE.into(),
            inputs: BTreeMap::new(),
            code: CodeRef { commit: "a".repeat(40), dirty: false, diff: None, scope: None },
            cargo_lock: "b".repeat(64),
            toolchain: "rustc 1.95.0".into(),
            target: "x86_64-unknown-linux-gnu".into(),
            features: vec![],
            backend: [("kind".to_string(), "cpu".to_string())].into(),
        }
    }

    #[test]
    fn spec_round_trips_through_its_canonical_bytes() {
        let s = sample();
        let bytes = s.canonical().unwrap();
        let back = RunSpec::parse(&bytes).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.digest().unwrap(), s.digest().unwrap());
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with(r#"{"backend":{"kind":"cpu"},"cargo_lock":"#), "{text}");
        assert!(text.contains(r#""params":{"h":0.25,"n":10}"#), "{text}");
    }
}
