//! Every kind of hashed object the runner and the kernel write, and what each refers to: the one
//! walker `gc`, `verify` and `show` share. Records name their spec and outputs, specs their inputs
//! and diff, notes their record, sweeps their specs, a sweep's aggregate its sweep and tables,
//! a session its output blobs and dependency lock; lockfiles are roots. An object of a Reprise
//! schema this build does not know is refused, so `gc` deletes nothing rather than guess.

use crate::error::RunnerError;
use crate::lockfile::{LOCK_SCHEMA, Lock, read_locks};
use crate::record::{NOTE_SCHEMA, ProvenanceNote, RECORD_SCHEMA, RunRecord};
use crate::spec::{RunSpec, SPEC_SCHEMA};
use crate::sweep::{AGGREGATE_SCHEMA, SWEEP_SCHEMA, SweepManifest};
use reprise_store::{Digest, Store};
use serde_json::Value;
use std::path::Path;

/// A kernel session manifest (`:session save`): cells with the digests of their outputs.
pub const SESSION_SCHEMA: &str = "reprise.session/1";
/// The ref that keeps a sweep's aggregate (and through it the experiment's tables).
pub fn aggregate_ref(sweep: &Digest) -> String {
    format!("sweep-aggregates/{}", sweep.hex())
}

/// What kind of object `bytes` is: its Reprise schema, if it has one.
pub fn schema_of(bytes: &[u8]) -> Option<String> {
    if bytes.first() != Some(&b'{') {
        return None;
    }
    let v: Value = serde_json::from_slice(bytes).ok()?;
    v.get("schema")?.as_str().filter(|s| s.starts_with("reprise.")).map(str::to_string)
}

/// A short name of a kind, for messages ("record", "session", …).
pub fn kind_name(schema: &str) -> &'static str {
    match schema {
        RECORD_SCHEMA => "run record",
        SPEC_SCHEMA => "run spec",
        NOTE_SCHEMA => "provenance note",
        SWEEP_SCHEMA => "sweep",
        AGGREGATE_SCHEMA => "sweep aggregate",
        SESSION_SCHEMA => "session",
        LOCK_SCHEMA => "lock",
        _ => "object",
    }
}

/// The objects an object refers to (none for plain data); why not, for a Reprise schema this
/// build does not know or an object of a known kind that does not parse.
pub fn children(_: &Digest, bytes: &[u8]) -> Result<Vec<Digest>, String> {
    let Some(schema) = schema_of(bytes) else { return Ok(Vec::new()) };
    let bad = |e: RunnerError| format!("a {} that does not parse: {e}", kind_name(&schema));
    match schema.as_str() {
        RECORD_SCHEMA => RunRecord::parse(bytes).map(|r| r.references()).map_err(bad),
        SPEC_SCHEMA => RunSpec::parse(bytes).map(|s| s.references()).map_err(bad),
        SWEEP_SCHEMA => SweepManifest::parse(bytes).map(|m| m.spec_digests()).map_err(bad),
        NOTE_SCHEMA => ProvenanceNote::parse(bytes).map(|n| Digest::parse(&n.record).into_iter().collect()).map_err(bad),
        AGGREGATE_SCHEMA => {
            let v: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
            let mut out: Vec<Digest> = v["sweep"].as_str().and_then(Digest::parse).into_iter().collect();
            out.extend(v["tables"].as_object().into_iter().flatten().filter_map(|(_, d)| d.as_str().and_then(Digest::parse)));
            Ok(out)
        }
        SESSION_SCHEMA => {
            let v: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
            let mut out: Vec<Digest> = v["deps_lock"].as_str().and_then(Digest::parse).into_iter().collect();
            for cell in v["cells"].as_array().into_iter().flatten() {
                out.extend(cell["outputs"].as_array().into_iter().flatten().filter_map(|o| o["digest"].as_str().and_then(Digest::parse)));
            }
            Ok(out)
        }
        LOCK_SCHEMA => serde_json::from_slice::<Lock>(bytes).map(|l| l.digests()).map_err(|e| format!("a lock that does not parse: {e}")),
        other => Err(format!("its schema `{other}` is not one this build of Reprise knows")),
    }
}

/// `root` and every object it reaches (objects not in the store are included, not followed);
/// what a bundle or a push of a run carries.
pub fn reach(store: &Store, root: Digest) -> Result<std::collections::BTreeSet<Digest>, RunnerError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        if !seen.insert(d) {
            continue;
        }
        let bytes = match store.read(&d) {
            Ok(b) => b,
            Err(reprise_store::StoreError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        stack.extend(children(&d, &bytes).map_err(|why| RunnerError::Malformed { what: "object", why: format!("{}: {why}", d.short(12)) })?);
    }
    Ok(seen)
}

/// Digests pinned by the repository's lockfiles.
pub fn lock_roots(repo: &Path) -> Result<Vec<Digest>, RunnerError> {
    Ok(read_locks(repo)?.into_iter().flat_map(|(_, l)| l.digests()).collect())
}

/// Every object that must exist because something reachable from a ref names it, with who names
/// it (`session 1a2b3c4d5e6f`, `run record …`); objects of unknown kinds are named as such.
pub fn expected_objects(store: &Store) -> Result<Vec<(Digest, String)>, RunnerError> {
    let mut out = Vec::new();
    let mut stack: Vec<Digest> = store.list_refs("")?.into_iter().map(|(_, d)| d).collect();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(d) = stack.pop() {
        if !seen.insert(d) {
            continue;
        }
        let Ok(bytes) = store.read(&d) else { continue };
        let owner = format!("{} {}", schema_of(&bytes).map_or("object", |s| kind_name(&s)), d.short(12));
        match children(&d, &bytes) {
            Ok(kids) => {
                for c in kids {
                    out.push((c, owner.clone()));
                    stack.push(c);
                }
            }
            Err(why) => out.push((d, format!("{owner}, unreadable: {why}"))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_and_aggregates_name_their_parts_and_an_unknown_schema_is_refused() {
        let (a, b, c) = (Digest::of(b"a"), Digest::of(b"b"), Digest::of(b"c"));
        let session = format!(r#"{{"schema":"{SESSION_SCHEMA}","deps_lock":"{a}","cells":[{{"outputs":[{{"digest":"{b}"}}]}},{{"outputs":[]}}]}}"#);
        assert_eq!(children(&a, session.as_bytes()).unwrap(), vec![a, b]);
        let agg = format!(r#"{{"schema":"{AGGREGATE_SCHEMA}","sweep":"{c}","tables":{{"t":"{a}"}}}}"#);
        assert_eq!(children(&a, agg.as_bytes()).unwrap(), vec![c, a]);
        let why = children(&a, br#"{"schema":"reprise.notebook-run/1"}"#).unwrap_err();
        assert!(why.contains("reprise.notebook-run/1"), "{why}");
        assert_eq!(children(&a, br#"{"schema":"someone-elses/2","x":1}"#).unwrap(), vec![], "not a Reprise kind: plain data");
        assert_eq!(children(&a, b"plain bytes").unwrap(), vec![]);
        assert!(children(&a, format!(r#"{{"schema":"{RECORD_SCHEMA}"}}"#).as_bytes()).unwrap_err().contains("run record"));
    }
}
