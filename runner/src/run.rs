//! Running an experiment: check params, store inputs, capture provenance, hash the spec, return a
//! memoised record or run and store outputs, record and provenance note.
//!
//! Refs written: `runs/<spec digest>` → record (the memo), `notes/<record digest>` → latest note.

use crate::env::Environment;
use crate::error::RunnerError;
use crate::provenance::{self, CodeState};
use crate::record::{NOTE_SCHEMA, OutputEntry, ProvenanceNote, RECORD_SCHEMA, RunRecord};
use crate::spec::{CodeRef, ExperimentRef, RunSpec, SPEC_SCHEMA};
use reprise_core::{Experiment, Outputs, Params, Progress, RunCtx};
use reprise_store::{Digest, RefExpect, Store};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// Records `record` as the memo of spec `spec` unless the store holds one; returns the record it
/// holds when that is another. A writer that records the same spec at the same moment wins.
pub fn memo_if_absent(store: &Store, spec: &Digest, record: &Digest) -> Result<Option<Digest>, RunnerError> {
    let name = format!("runs/{spec}");
    match store.read_ref(&name)? {
        Some(existing) => Ok((existing != *record).then_some(existing)),
        None => match store.update_ref(&name, RefExpect::Absent, Some(*record)) {
            Ok(()) | Err(reprise_store::StoreError::RefConflict { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        },
    }
}

/// What the user asked to run.
#[derive(Clone, Debug, Default)]
pub struct RunRequest {
    pub params: Vec<String>,
    pub seed: u64,
    pub inputs: Vec<(String, PathBuf)>,
    /// Run even when the spec's record is already stored.
    pub force: bool,
    /// RFC 3339 start time for the provenance note (never hashed).
    pub started: String,
}

/// The result of `run`.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    pub record_digest: Digest,
    pub record: RunRecord,
    pub spec_digest: Digest,
    pub spec: RunSpec,
    /// The record was already stored and nothing ran.
    pub memoised: bool,
}

/// Runs experiments into a store, in an environment.
pub struct Runner<'a> {
    pub store: Store,
    pub env: Environment,
    pub progress: &'a dyn Progress,
}

impl Runner<'_> {
    /// Builds the spec a request stands for: params are checked before anything else happens.
    pub fn prepare(&self, exp: &dyn Experiment, req: &RunRequest) -> Result<(RunSpec, BTreeMap<String, String>), RunnerError> {
        let params = Params::from_args(&exp.params(), &req.params)?;
        let required = exp.inputs();
        let declared: Vec<&str> = required.iter().chain(&exp.optional_inputs()).copied().collect();
        for (name, _) in &req.inputs {
            if !declared.contains(&name.as_str()) {
                return Err(RunnerError::User(format!(
                    "experiment {} takes no input `{name}` (its inputs: {})",
                    exp.name(),
                    if declared.is_empty() { "none".to_string() } else { declared.join(", ") }
                )));
            }
        }
        if let Some(missing) = required.iter().find(|d| !req.inputs.iter().any(|(n, _)| n == *d)) {
            return Err(reprise_core::ExperimentError::MissingInput(missing.to_string()).into());
        }
        let code = provenance::capture(&self.env.repo)?;
        let root = provenance::workdir(&self.env.repo)?;
        let mut inputs = BTreeMap::new();
        let mut input_paths = BTreeMap::new();
        for (name, path) in &req.inputs {
            let d = self.store.put_file(path).map_err(|e| RunnerError::User(format!("input `{name}`: {e}")))?;
            inputs.insert(name.clone(), d.hex());
            if let Some(rel) = path.canonicalize().ok().and_then(|p| p.strip_prefix(&root).ok().map(|r| r.to_string_lossy().into_owned())) {
                input_paths.insert(name.clone(), rel);
            }
        }
        let spec = self.spec_for(exp, params, req.seed, inputs, &code)?;
        Ok((spec, input_paths))
    }

    /// The spec of running `exp` with these values on the current code.
    pub fn spec_for(
        &self,
        exp: &dyn Experiment,
        params: Params,
        seed: u64,
        inputs: BTreeMap<String, String>,
        code: &CodeState,
    ) -> Result<RunSpec, RunnerError> {
        let backend = match exp.backend_request(&params) {
            Some(req) => (self.env.resolve_backend)(&req).map_err(|why| RunnerError::User(format!("{}: {why}", exp.name())))?,
            None => self.env.backend.clone(),
        };
        let diff = match &code.diff {
            Some(bytes) => Some(self.store.put_bytes(bytes)?.hex()),
            None => None,
        };
        Ok(RunSpec {
            schema: SPEC_SCHEMA.into(),
            experiment: ExperimentRef { name: exp.name().into(), version: exp.version() },
            params,
            seed: reprise_core::Seed(seed),
            rng: reprise_core::seed::STREAM_RULE.into(),
            inputs,
            code: CodeRef { commit: code.commit.clone(), dirty: diff.is_some(), scope: diff.is_some().then(|| provenance::CODE_SCOPE.to_string()), diff },
            cargo_lock: provenance::cargo_lock_digest(&self.env.repo)?.hex(),
            toolchain: self.env.toolchain.clone(),
            target: self.env.target.clone(),
            features: self.env.features.clone(),
            backend,
        })
    }

    /// Runs a request, or returns its stored record when the same spec already ran.
    pub fn run(&self, exp: &dyn Experiment, req: &RunRequest) -> Result<RunOutcome, RunnerError> {
        let (spec, input_paths) = self.prepare(exp, req)?;
        let spec_digest = self.store.put_bytes(&spec.canonical()?)?;
        if !req.force
            && let Some((record_digest, record)) = self.memo(&spec_digest)?
        {
            return Ok(RunOutcome { record_digest, record, spec_digest, spec, memoised: true });
        }
        let (record_digest, record) = self.execute(exp, &spec, &req.started, input_paths)?;
        self.store.update_ref(&format!("runs/{spec_digest}"), RefExpect::Any, Some(record_digest))?;
        Ok(RunOutcome { record_digest, record, spec_digest, spec, memoised: false })
    }

    /// The stored record of a spec, if it ran before and its record is intact.
    pub fn memo(&self, spec_digest: &Digest) -> Result<Option<(Digest, RunRecord)>, RunnerError> {
        let Some(d) = self.store.read_ref(&format!("runs/{spec_digest}"))? else { return Ok(None) };
        match self.store.read(&d) {
            Ok(bytes) => Ok(Some((d, RunRecord::parse(&bytes)?))),
            Err(reprise_store::StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Runs `spec` as recorded (whatever the current code state), stores outputs, record and a
    /// provenance note. Does not touch the memo ref.
    pub fn execute(
        &self,
        exp: &dyn Experiment,
        spec: &RunSpec,
        started: &str,
        input_paths: BTreeMap<String, String>,
    ) -> Result<(Digest, RunRecord), RunnerError> {
        if exp.name() != spec.experiment.name || exp.version() != spec.experiment.version {
            return Err(RunnerError::User(format!(
                "the spec asks for {} version {}, this build has {} version {}",
                spec.experiment.name,
                spec.experiment.version,
                exp.name(),
                exp.version()
            )));
        }
        let spec_digest = self.store.put_bytes(&spec.canonical()?)?;
        let mut inputs = BTreeMap::new();
        for (name, d) in spec.input_digests()? {
            inputs.insert(name, self.store.read_verified(&d)?);
        }
        let params = Params::validate(&exp.params(), &spec.params)?;
        let ctx = RunCtx { params, seed: spec.seed, inputs, progress: self.progress };
        let clock = Instant::now();
        let outputs = exp.run(&ctx)?;
        let wall_ms = clock.elapsed().as_millis() as u64;
        let record = self.store_outputs(&spec_digest, &outputs)?;
        let record_digest = self.store.put_bytes(&record.canonical()?)?;
        let note = ProvenanceNote {
            schema: NOTE_SCHEMA.into(),
            record: record_digest.hex(),
            experiment: spec.experiment.name.clone(),
            started: started.to_string(),
            wall_ms,
            host: self.env.host.clone(),
            threads: self.env.threads,
            cpu_features: self.env.cpu_features.clone(),
            reprise_version: self.env.reprise_version.clone(),
            input_paths,
        };
        let note_digest = self.store.put_bytes(&reprise_core::canon::to_vec(&note)?)?;
        self.store.update_ref(&format!("notes/{record_digest}"), RefExpect::Any, Some(note_digest))?;
        Ok((record_digest, record))
    }

    fn store_outputs(&self, spec_digest: &Digest, outputs: &Outputs) -> Result<RunRecord, RunnerError> {
        let mut entries = BTreeMap::new();
        for (name, out) in &outputs.0 {
            let d = self.store.put_bytes(&out.bytes)?;
            entries.insert(
                name.clone(),
                OutputEntry { digest: d.hex(), media_type: out.media_type.clone(), rule: out.rule, size: out.bytes.len() as u64 },
            );
        }
        Ok(RunRecord { schema: RECORD_SCHEMA.into(), spec: spec_digest.hex(), outputs: entries })
    }

    /// The provenance note of a record, if one is stored.
    pub fn note(&self, record: &Digest) -> Result<Option<ProvenanceNote>, RunnerError> {
        match self.store.read_ref(&format!("notes/{record}"))? {
            Some(d) => Ok(Some(ProvenanceNote::parse(&self.store.read(&d)?)?)),
            None => Ok(None),
        }
    }

    /// Every recorded run: (spec digest, record digest), from the memo refs.
    pub fn runs(&self) -> Result<Vec<(Digest, Digest)>, RunnerError> {
        Ok(self
            .store
            .list_refs("runs")?
            .into_iter()
            .filter_map(|(name, rec)| Digest::parse(name.strip_prefix("runs/")?).map(|s| (s, rec)))
            .collect())
    }
}
