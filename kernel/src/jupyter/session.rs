//! Recorded sessions: every executed cell's source, execution count and output digests. `:session
//! save` stores them (and the pinned dependency lock) and returns a hash; `replay` runs the cells
//! again in a fresh engine and compares outputs cell by cell.

use super::emit::{Bundle, Emitted, Nowhere};
use super::engine::{Engine, EngineConfig, Outcome, Status};
use reprise_store::{Digest, RefExpect, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

pub use reprise_runner::gcroots::SESSION_SCHEMA;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputRecord {
    /// `stream:stdout`, `display`, `result` or `error`.
    pub kind: String,
    pub mime: String,
    pub digest: String,
    /// Compared on replay (false for what legitimately changes, such as a magic's memo note).
    pub compare: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellRecord {
    pub count: u64,
    pub source: String,
    pub status: String,
    pub outputs: Vec<OutputRecord>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: String,
    pub notebook: Option<String>,
    pub reprise_version: String,
    pub toolchain: String,
    /// Digest of the Cargo.lock that pins the cells' `:dep`s.
    pub deps_lock: Option<String>,
    pub cells: Vec<CellRecord>,
}

#[derive(Default)]
pub struct Session {
    pub cells: Vec<CellRecord>,
    blobs: BTreeMap<String, Vec<u8>>,
    pub notebook: Option<String>,
    pub deps_lock: Option<Vec<u8>>,
}

fn bytes_of(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        other => reprise_core::canon::to_vec(other).unwrap_or_else(|_| other.to_string().into_bytes()),
    }
}

impl Session {
    pub fn new(notebook: Option<String>) -> Session {
        Session { notebook, ..Session::default() }
    }

    fn blob(&mut self, kind: &str, mime: &str, v: &Value, compare: bool) -> OutputRecord {
        let bytes = bytes_of(v);
        let d = Digest::of(&bytes).hex();
        self.blobs.insert(d.clone(), bytes);
        OutputRecord { kind: kind.into(), mime: mime.into(), digest: d, compare }
    }

    fn bundle(&mut self, kind: &str, b: &Bundle, compare: bool) -> Vec<OutputRecord> {
        b.iter().map(|(mime, v)| self.blob(kind, mime, v, compare)).collect()
    }

    /// Records one executed cell.
    pub fn record(&mut self, count: u64, source: &str, outcome: &Outcome, emitted: Vec<Emitted>) {
        let rust = !super::magics::split(source).1.trim().is_empty();
        let mut streams: BTreeMap<String, String> = BTreeMap::new();
        let mut outputs = Vec::new();
        for e in &emitted {
            match e {
                Emitted::Stream { name, text } => streams.entry(name.clone()).or_default().push_str(text),
                Emitted::Display { data, update: false } => outputs.extend(self.bundle("display", data, rust)),
                _ => {}
            }
        }
        for (name, text) in streams {
            // stderr carries compiler warnings and notices that may change with the environment.
            let r = self.blob(&format!("stream:{name}"), "text/plain", &Value::String(text), name == "stdout");
            outputs.insert(0, r);
        }
        if let Some(result) = &outcome.result {
            outputs.extend(self.bundle("result", result, true));
        }
        let status = match &outcome.status {
            Status::Ok => "ok",
            // What an interrupted cell printed depends on when the interrupt came.
            Status::Error { ename, .. } if ename == "KeyboardInterrupt" => "interrupted",
            Status::Error { ename, evalue, .. } => {
                outputs.push(self.blob("error", "text/plain", &Value::String(format!("{ename}: {evalue}")), true));
                "error"
            }
        };
        self.cells.push(CellRecord { count, source: source.to_string(), status: status.into(), outputs });
    }

    /// Stores the session (outputs, dependency lock, manifest) and returns its hash; writes the
    /// notebook's pinned lock under `lockfiles/notebooks/` when the notebook is named.
    pub fn save(&mut self, store: &Store, repo: &Path) -> Result<Digest, reprise_store::StoreError> {
        for bytes in self.blobs.values() {
            store.put_bytes(bytes)?;
        }
        let deps_lock = match &self.deps_lock {
            Some(lock) => {
                if let Some(name) = &self.notebook {
                    let dir = repo.join("lockfiles").join("notebooks");
                    let _ = std::fs::create_dir_all(&dir);
                    let _ = std::fs::write(dir.join(format!("{name}.Cargo.lock")), lock);
                }
                Some(store.put_bytes(lock)?.hex())
            }
            None => None,
        };
        let manifest = Manifest {
            schema: SESSION_SCHEMA.into(),
            notebook: self.notebook.clone(),
            reprise_version: env!("CARGO_PKG_VERSION").into(),
            toolchain: crate::env::toolchain().lines().next().unwrap_or_default().to_string(),
            deps_lock,
            cells: self.cells.clone(),
        };
        let bytes = reprise_core::canon::to_vec(&manifest).expect("a session manifest has no floats");
        let d = store.put_bytes(&bytes)?;
        store.update_ref(&format!("sessions/{d}"), RefExpect::Any, Some(d))?;
        Ok(d)
    }

    /// history_request: `tail`, `range` and `search` over the recorded cells.
    pub fn history(&self, c: &Value) -> Value {
        let entry = |cell: &CellRecord| {
            if c["output"].as_bool().unwrap_or(false) {
                json!([1, cell.count, [cell.source, Value::Null]])
            } else {
                json!([1, cell.count, cell.source])
            }
        };
        let n = c["n"].as_u64().unwrap_or(10) as usize;
        let cells: Vec<&CellRecord> = match c["hist_access_type"].as_str().unwrap_or("tail") {
            "range" => {
                let start = c["start"].as_u64().unwrap_or(0);
                let stop = c["stop"].as_u64().unwrap_or(u64::MAX);
                self.cells.iter().filter(|x| x.count >= start && x.count < stop).collect()
            }
            "search" => {
                let pattern = c["pattern"].as_str().unwrap_or("*");
                let mut hits: Vec<&CellRecord> = self.cells.iter().filter(|x| glob(pattern, &x.source)).collect();
                if c["unique"].as_bool().unwrap_or(false) {
                    let mut seen = std::collections::HashSet::new();
                    hits.retain(|x| seen.insert(x.source.clone()));
                }
                let skip = hits.len().saturating_sub(n);
                hits.into_iter().skip(skip).collect()
            }
            _ => {
                let skip = self.cells.len().saturating_sub(n);
                self.cells.iter().skip(skip).collect()
            }
        };
        json!({ "status": "ok", "history": cells.into_iter().map(entry).collect::<Vec<_>>() })
    }
}

/// `*` and `?` glob matching (IPython's history search patterns).
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The result of replaying a saved session.
pub struct ReplayReport {
    pub session: String,
    /// (execution count, matches, what differs)
    pub cells: Vec<(u64, bool, String)>,
}

impl ReplayReport {
    pub fn passes(&self) -> bool {
        self.cells.iter().all(|c| c.1)
    }

    pub fn text(&self) -> String {
        let mut s = format!("replay of session {}\n", &self.session[..12]);
        for (count, ok, why) in &self.cells {
            let verdict = if !ok { "DIFFERENT" } else if why.is_empty() { "same" } else { "skipped" };
            s.push_str(&format!("  [{count}] {verdict}{}\n", if why.is_empty() { String::new() } else { format!(": {why}") }));
        }
        let bad = self.cells.iter().filter(|c| !c.1).count();
        s.push_str(&if bad == 0 { format!("every cell gives the same outputs ({} cells)", self.cells.len()) } else { format!("{bad} of {} cells differ", self.cells.len()) });
        s
    }
}

/// Replays a saved session in a fresh engine and compares each cell's outputs.
pub fn replay(store: &Store, hash: &str, cfg: &EngineConfig) -> anyhow::Result<ReplayReport> {
    let d = store.resolve(hash)?;
    let manifest: Manifest = serde_json::from_slice(&store.read_verified(&d)?)?;
    if manifest.schema != SESSION_SCHEMA {
        anyhow::bail!("{} is not a recorded session", d.short(12));
    }
    let mut cfg = cfg.clone();
    cfg.notebook = manifest.notebook.clone();
    let mut engine = Engine::start(cfg, Default::default());
    #[cfg(feature = "notebook")]
    if let Some(lock) = &manifest.deps_lock {
        engine.rust.preload_lock(store.read_verified(&reprise_store::Digest::parse(lock).ok_or_else(|| anyhow::anyhow!("bad lock digest"))?)?);
    }
    let mut cells = Vec::new();
    for cell in &manifest.cells {
        if cell.status == "interrupted" {
            // It was stopped by hand; running it again could run forever.
            cells.push((cell.count, true, "skipped: interrupted when it was recorded".to_string()));
            continue;
        }
        engine.execute(&cell.source, Arc::new(Nowhere), true);
        let new = engine.session.cells.last().expect("the cell was recorded");
        let want: Vec<&OutputRecord> = cell.outputs.iter().filter(|o| o.compare).collect();
        let got: Vec<&OutputRecord> = new.outputs.iter().filter(|o| o.compare).collect();
        let mut why = Vec::new();
        if cell.status != new.status {
            why.push(format!("status {} → {}", cell.status, new.status));
        }
        if want != got {
            let key = |o: &&OutputRecord| format!("{} {}", o.kind, o.mime);
            let digests = |list: &[&OutputRecord], k: &str| list.iter().filter(|o| key(o) == k).map(|o| o.digest.clone()).collect::<Vec<_>>();
            let mut keys: std::collections::BTreeSet<String> = want.iter().chain(&got).map(key).collect();
            keys.retain(|k| digests(&want, k) != digests(&got, k));
            why.push(format!("outputs differ: {}", keys.into_iter().collect::<Vec<_>>().join(", ")));
        }
        cells.push((cell.count, why.is_empty(), why.join("; ")));
    }
    engine.shutdown();
    Ok(ReplayReport { session: d.hex(), cells })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_like_ipython_history_search() {
        assert!(glob("*1*", "let x = 1;"));
        assert!(glob("let ?", "let x"));
        assert!(!glob("fn*", "let x"));
        assert!(glob("*", ""));
    }

    #[test]
    fn history_tail_range_and_search() {
        let mut s = Session::new(None);
        for (i, src) in ["let a = 1;", "println!(\"{a}\");", "let b = 2;"].iter().enumerate() {
            s.record(i as u64 + 1, src, &Outcome::ok(None), vec![]);
        }
        let tail = s.history(&json!({ "hist_access_type": "tail", "n": 2 }));
        assert_eq!(tail["history"], json!([[1, 2, "println!(\"{a}\");"], [1, 3, "let b = 2;"]]));
        let range = s.history(&json!({ "hist_access_type": "range", "start": 1, "stop": 2 }));
        assert_eq!(range["history"], json!([[1, 1, "let a = 1;"]]));
        let search = s.history(&json!({ "hist_access_type": "search", "pattern": "let*", "n": 10 }));
        assert_eq!(search["history"].as_array().unwrap().len(), 2);
    }
}
