//! Sweeps and kernel sessions as things to share: what a hash names (a run, a sweep with every
//! recorded cell's run, its aggregate and tables, or a session with its blobs and dependency
//! lock), how a bundle or a remote checks it arrived whole, and the refs that keep it on arrival.

use crate::bundle::{BundledRun, closure};
use crate::error::RunnerError;
use crate::gcroots::{self, SESSION_SCHEMA, aggregate_ref, kind_name, reach, schema_of};
use crate::record::RECORD_SCHEMA;
use crate::spec::SPEC_SCHEMA;
use crate::sweep::{AGGREGATE_SCHEMA, Aggregate, SWEEP_SCHEMA, SweepManifest};
use reprise_store::{Digest, RefExpect, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// `meta/roots.json` of a bundle: the sweeps and sessions it carries besides its runs.
pub const ROOTS_META: &str = "roots.json";

/// A sweep as shared: its manifest and, when it was aggregated, its aggregate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SharedSweep {
    pub manifest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<String>,
}

/// The sweeps and sessions a bundle or a push carries (their cells' runs travel as runs).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Roots {
    #[serde(default)]
    pub sweeps: Vec<SharedSweep>,
    #[serde(default)]
    pub sessions: Vec<String>,
}

impl Roots {
    pub fn is_empty(&self) -> bool {
        self.sweeps.is_empty() && self.sessions.is_empty()
    }

    /// Adds `other`'s sweeps and sessions not already here, in order.
    pub fn merge(&mut self, other: Roots) {
        for s in other.sweeps {
            if !self.sweeps.contains(&s) {
                self.sweeps.push(s);
            }
        }
        for s in other.sessions {
            if !self.sessions.contains(&s) {
                self.sessions.push(s);
            }
        }
    }

    /// The digest a sweep or session is known by first: the first sweep's manifest, else the
    /// first session.
    pub fn first(&self) -> Option<&String> {
        self.sweeps.first().map(|s| &s.manifest).or(self.sessions.first())
    }
}

/// What one hash given to `bundle export` or `remote push` stands for.
pub struct Shared {
    /// The runs to carry, each with every object it reaches.
    pub runs: Vec<(BundledRun, BTreeSet<Digest>)>,
    pub roots: Roots,
    /// The objects the sweep or session reaches beyond its runs.
    pub objects: BTreeSet<Digest>,
}

/// Resolves a run hash or spec, a sweep (or its aggregate) or a session, to what sharing it carries.
pub fn resolve(store: &Store, hash: &str) -> Result<Shared, RunnerError> {
    let d = store.resolve(hash)?;
    let schema = schema_of(&store.read_verified(&d)?);
    let mut out = Shared { runs: Vec::new(), roots: Roots::default(), objects: BTreeSet::new() };
    match schema.as_deref() {
        Some(RECORD_SCHEMA) | Some(SPEC_SCHEMA) => out.runs.push(closure(store, &d.hex())?),
        Some(AGGREGATE_SCHEMA) => {
            let a: Aggregate = serde_json::from_slice(&store.read_verified(&d)?)
                .map_err(|e| RunnerError::Malformed { what: "sweep aggregate", why: e.to_string() })?;
            return resolve(store, &a.sweep);
        }
        Some(SWEEP_SCHEMA) => {
            let m = SweepManifest::parse(&store.read_verified(&d)?)?;
            for spec in m.spec_digests() {
                if let Some(record) = store.read_ref(&format!("runs/{spec}"))? {
                    out.runs.push(closure(store, &record.hex())?);
                }
            }
            let aggregate = store.read_ref(&aggregate_ref(&d))?;
            out.objects.extend(reach(store, d)?);
            if let Some(a) = aggregate {
                out.objects.extend(reach(store, a)?);
            }
            out.roots.sweeps.push(SharedSweep { manifest: d.hex(), aggregate: aggregate.map(|a| a.hex()) });
        }
        Some(SESSION_SCHEMA) => {
            out.objects.extend(reach(store, d)?);
            out.roots.sessions.push(d.hex());
        }
        other => {
            return Err(RunnerError::User(format!(
                "{} is a {}: bundles and remotes carry runs, sweeps and sessions (give the hash of one of those)",
                d.short(12),
                other.map_or("plain object", kind_name)
            )));
        }
    }
    Ok(out)
}

/// Checks that each root arrived whole: its manifest (of the right kind) and everything it reaches
/// are among the objects `read` can give (`None`: not carried).
pub fn check(roots: &Roots, read: &dyn Fn(&Digest) -> Result<Option<Vec<u8>>, RunnerError>) -> Result<(), RunnerError> {
    let mut named: Vec<(String, &str)> = Vec::new();
    for s in &roots.sweeps {
        named.push((s.manifest.clone(), SWEEP_SCHEMA));
        if let Some(a) = &s.aggregate {
            named.push((a.clone(), AGGREGATE_SCHEMA));
        }
    }
    named.extend(roots.sessions.iter().map(|s| (s.clone(), SESSION_SCHEMA)));
    for (hex, want) in named {
        let root = Digest::parse(&hex).ok_or_else(|| RunnerError::User(format!("the {} `{hex}` is not a digest", kind_name(want))))?;
        let missing = |d: &Digest| RunnerError::User(format!("{} {} is not whole: object {} is missing", kind_name(want), root.short(12), d.short(12)));
        let bytes = read(&root)?.ok_or_else(|| missing(&root))?;
        if schema_of(&bytes).as_deref() != Some(want) {
            return Err(RunnerError::User(format!("{} is listed as a {} but is not one", root.short(12), kind_name(want))));
        }
        let mut seen = BTreeSet::new();
        let mut stack = vec![(root, bytes)];
        while let Some((d, bytes)) = stack.pop() {
            if !seen.insert(d) {
                continue;
            }
            for c in gcroots::children(&d, &bytes).map_err(|why| RunnerError::Malformed { what: "object", why: format!("{}: {why}", d.short(12)) })? {
                if !seen.contains(&c) {
                    stack.push((c, read(&c)?.ok_or_else(|| missing(&c))?));
                }
            }
        }
    }
    Ok(())
}

/// Sets the refs that keep each root in `store` (`sweeps/`, `sweep-aggregates/`, `sessions/`).
pub fn keep(store: &Store, roots: &Roots) -> Result<(), RunnerError> {
    for s in &roots.sweeps {
        let m = Digest::parse(&s.manifest).expect("checked");
        store.update_ref(&format!("sweeps/{m}"), RefExpect::Any, Some(m))?;
        if let Some(a) = s.aggregate.as_deref().and_then(Digest::parse) {
            store.update_ref(&aggregate_ref(&m), RefExpect::Any, Some(a))?;
        }
    }
    for s in &roots.sessions {
        let d = Digest::parse(s).expect("checked");
        store.update_ref(&format!("sessions/{d}"), RefExpect::Any, Some(d))?;
    }
    Ok(())
}
