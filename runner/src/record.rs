//! `RunRecord`: binds a spec digest to its output digests and comparison rules; its digest is the
//! run hash users see. Wall time, host and start time live in a separate provenance note.

use crate::error::RunnerError;
use crate::spec::parse_digest;
use reprise_core::{CompareRule, canon};
use reprise_store::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const RECORD_SCHEMA: &str = "reprise.record/1";
pub const NOTE_SCHEMA: &str = "reprise.note/1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputEntry {
    pub digest: String,
    pub media_type: String,
    pub rule: CompareRule,
    pub size: u64,
}

impl OutputEntry {
    pub fn digest(&self) -> Result<Digest, RunnerError> {
        parse_digest(&self.digest, "output digest")
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema: String,
    pub spec: String,
    pub outputs: BTreeMap<String, OutputEntry>,
}

impl RunRecord {
    pub fn canonical(&self) -> Result<Vec<u8>, RunnerError> {
        Ok(canon::to_vec(self)?)
    }

    pub fn parse(bytes: &[u8]) -> Result<RunRecord, RunnerError> {
        serde_json::from_slice(bytes).map_err(|e| RunnerError::Malformed { what: "run record", why: e.to_string() })
    }

    pub fn spec_digest(&self) -> Result<Digest, RunnerError> {
        parse_digest(&self.spec, "spec digest")
    }

    /// Every object this record refers to (not transitively).
    pub fn references(&self) -> Vec<Digest> {
        let mut out: Vec<Digest> = Digest::parse(&self.spec).into_iter().collect();
        out.extend(self.outputs.values().filter_map(|o| Digest::parse(&o.digest)));
        out
    }
}

/// What is known of one execution of a run but is not part of its identity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProvenanceNote {
    pub schema: String,
    pub record: String,
    pub experiment: String,
    /// RFC 3339, UTC.
    pub started: String,
    pub wall_ms: u64,
    pub host: String,
    pub threads: usize,
    pub cpu_features: Vec<String>,
    pub reprise_version: String,
    /// Input name → path relative to the repository, where the file lay inside it.
    pub input_paths: BTreeMap<String, String>,
}

impl ProvenanceNote {
    pub fn parse(bytes: &[u8]) -> Result<ProvenanceNote, RunnerError> {
        serde_json::from_slice(bytes).map_err(|e| RunnerError::Malformed { what: "provenance note", why: e.to_string() })
    }
}
