//! What the runner's objects refer to, for the store's `gc` and `verify`: records name their spec
//! and outputs, specs their inputs and diff, notes their record, sweeps their specs; lockfiles
//! are roots.

use crate::error::RunnerError;
use crate::lockfile::read_locks;
use crate::record::{NOTE_SCHEMA, ProvenanceNote, RECORD_SCHEMA, RunRecord};
use crate::spec::{RunSpec, SPEC_SCHEMA};
use crate::sweep::{SWEEP_SCHEMA, SweepManifest};
use reprise_store::{Digest, Store};
use std::path::Path;

/// The objects an object refers to (empty for plain data).
pub fn children(_: &Digest, bytes: &[u8]) -> Vec<Digest> {
    if bytes.first() != Some(&b'{') {
        return Vec::new();
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else { return Vec::new() };
    match v.get("schema").and_then(|s| s.as_str()) {
        Some(RECORD_SCHEMA) => RunRecord::parse(bytes).map(|r| r.references()).unwrap_or_default(),
        Some(SPEC_SCHEMA) => RunSpec::parse(bytes).map(|s| s.references()).unwrap_or_default(),
        Some(SWEEP_SCHEMA) => SweepManifest::parse(bytes).map(|m| m.spec_digests()).unwrap_or_default(),
        Some(NOTE_SCHEMA) => ProvenanceNote::parse(bytes).ok().and_then(|n| Digest::parse(&n.record)).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// Digests pinned by the repository's lockfiles.
pub fn lock_roots(repo: &Path) -> Result<Vec<Digest>, RunnerError> {
    Ok(read_locks(repo)?.into_iter().flat_map(|(_, l)| l.digests()).collect())
}

/// Every object that must exist because something reachable from a ref names it, with who names it.
pub fn expected_objects(store: &Store) -> Result<Vec<(Digest, String)>, RunnerError> {
    let mut out = Vec::new();
    let mut stack: Vec<Digest> = store.list_refs("")?.into_iter().map(|(_, d)| d).collect();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(d) = stack.pop() {
        if !seen.insert(d) {
            continue;
        }
        let Ok(bytes) = store.read(&d) else { continue };
        for c in children(&d, &bytes) {
            out.push((c, format!("object {}", d.short(12))));
            stack.push(c);
        }
    }
    Ok(out)
}
