//! The engine behind the kernel: runs a cell's Reprise magics and hands the rest to the Rust-cell
//! engine (evcxr), records the cell into the session, and answers complete/inspect/history.

use super::emit::{Bundle, Emit, Recorder};
use super::magics;
use super::session::Session;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Where the engine finds the store and the repository.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub store: PathBuf,
    pub repo: PathBuf,
    /// Names the notebook, for its pinned dependency lockfile.
    pub notebook: Option<String>,
}

/// Interrupts the running cell from another thread: kills the Rust runtime process and raises a
/// flag that long magics check.
#[derive(Clone, Default)]
pub struct Interrupter {
    flag: Arc<AtomicBool>,
    pub(crate) process: Arc<Mutex<Option<Arc<Mutex<std::process::Child>>>>>,
}

impl Interrupter {
    pub fn interrupt(&self) {
        self.flag.store(true, Ordering::SeqCst);
        if let Some(child) = self.process.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            let _ = child.lock().unwrap_or_else(|p| p.into_inner()).kill();
        }
    }
    pub fn reset(&self) {
        self.flag.store(false, Ordering::SeqCst);
    }
    pub fn raised(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Ok,
    Error { ename: String, evalue: String, traceback: Vec<String> },
}

/// How a cell ended.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub status: Status,
    /// The execute_result bundle, if the cell has a value.
    pub result: Option<Bundle>,
    /// Payloads (the pager).
    pub payload: Vec<Value>,
}

impl Outcome {
    pub fn ok(result: Option<Bundle>) -> Outcome {
        Outcome { status: Status::Ok, result, payload: Vec::new() }
    }
    pub fn error(ename: &str, evalue: &str, traceback: Vec<String>) -> Outcome {
        let traceback = if traceback.is_empty() { vec![format!("{ename}: {evalue}")] } else { traceback };
        Outcome { status: Status::Error { ename: ename.into(), evalue: evalue.into(), traceback }, result: None, payload: Vec::new() }
    }
}

pub struct Engine {
    /// execution_count of the last cell that stored history.
    pub count: u64,
    pub cfg: EngineConfig,
    pub session: Session,
    pub interrupt: Interrupter,
    /// The run hash of this session's latest `:run`, which `:rerun last` and `:show last` name.
    pub last_run: Option<String>,
    #[cfg(feature = "notebook")]
    pub rust: super::rust_cells::RustCells,
}

impl Engine {
    /// Starts the engine; the Rust-cell engine warms up in the background so the kernel answers at once.
    pub fn start(cfg: EngineConfig, interrupt: Interrupter) -> Engine {
        Engine {
            count: 0,
            #[cfg(feature = "notebook")]
            rust: super::rust_cells::RustCells::start(&cfg, interrupt.clone()),
            session: Session::new(cfg.notebook.clone()),
            last_run: None,
            cfg,
            interrupt,
        }
    }

    /// Runs a cell: its Reprise magic lines first, in order, then the rest as Rust.
    pub fn execute(&mut self, code: &str, out: Arc<dyn Emit>, store_history: bool) -> Outcome {
        self.interrupt.reset();
        if store_history {
            self.count += 1;
        }
        let rec = Recorder::new(out);
        let outcome = self.run_cell(code, rec.clone());
        if store_history {
            self.session.record(self.count, code, &outcome, rec.take());
        }
        outcome
    }

    fn run_cell(&mut self, code: &str, out: Arc<Recorder>) -> Outcome {
        let (magic_lines, rest) = magics::split(code);
        let mut last = Outcome::ok(None);
        let mut bindings = String::new();
        for line in magic_lines {
            if line.trim_start().strip_prefix(":let").is_some_and(|r| r.starts_with(char::is_whitespace) || r.is_empty()) {
                match magics::let_binding(&line, self) {
                    Ok(stmt) => bindings += &(stmt + "\n"),
                    Err(outcome) => return *outcome,
                }
                continue;
            }
            last = magics::run(&line, self, out.as_ref());
            if last.status != Status::Ok {
                return last;
            }
        }
        if rest.trim().is_empty() && bindings.is_empty() {
            return last;
        }
        let rest = bindings + &self.project_deps(&rest);
        let mut rust = self.rust_cell(&rest, out);
        rust.payload.extend(last.payload);
        rust
    }

    /// `:dep reprise-rdd` (no version) means this repository's crate of that name, wherever the
    /// workspace keeps it (`rdd/`, `experiments/rdd/`); a name the repository lacks stays as written.
    fn project_deps(&self, code: &str) -> String {
        code.lines()
            .map(|l| {
                let t = l.trim();
                match t.strip_prefix(":dep ").map(str::trim) {
                    Some(name) if name.starts_with("reprise-") && !name.contains(['=', ' ']) => match project_crate(&self.cfg.repo, name) {
                        Some(dir) => format!(":dep {name} = {{ path = \"{}\" }}", dir.display()),
                        None => l.to_string(),
                    },
                    _ => l.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[cfg(feature = "notebook")]
    pub fn rust_cell(&mut self, code: &str, out: Arc<Recorder>) -> Outcome {
        self.rust.execute(code, out)
    }

    #[cfg(not(feature = "notebook"))]
    pub fn rust_cell(&mut self, _code: &str, _out: Arc<Recorder>) -> Outcome {
        Outcome::error(
            "NoRustEngine",
            "this reprise was built without the `notebook` feature, so it runs magics but not Rust cells",
            vec!["rebuild with `cargo build --release` (the feature is on by default)".into()],
        )
    }

    /// complete_request: magic names after a leading `:`, else the Rust engine's completions.
    pub fn complete(&mut self, code: &str, cursor: usize) -> Value {
        let chars: Vec<char> = code.chars().collect();
        let cursor = cursor.min(chars.len());
        let line_start = chars[..cursor].iter().rposition(|c| *c == '\n').map(|i| i + 1).unwrap_or(0);
        let line: String = chars[line_start..cursor].iter().collect();
        if let Some(partial) = line.strip_prefix(':')
            && !partial.contains(' ')
        {
            let mut matches: Vec<String> = magics::names().into_iter().filter(|n| n.starts_with(partial)).map(|n| format!(":{n}")).collect();
            // evcxr's own commands (`:dep`, `:fmt`, `:clear` …) run in Rust cells too.
            let line_only: String = chars[line_start..].iter().take_while(|c| **c != '\n').collect();
            let theirs = self.complete_rust(&line_only, cursor - line_start);
            matches.extend(theirs["matches"].as_array().into_iter().flatten().filter_map(|m| m.as_str()).filter(|m| m.starts_with(':')).map(str::to_owned));
            matches.sort();
            matches.dedup();
            return json!({ "status": "ok", "matches": matches, "cursor_start": line_start, "cursor_end": cursor, "metadata": {} });
        }
        self.complete_rust(code, cursor)
    }

    #[cfg(feature = "notebook")]
    fn complete_rust(&mut self, code: &str, cursor: usize) -> Value {
        self.rust.complete(code, cursor)
    }
    #[cfg(not(feature = "notebook"))]
    fn complete_rust(&mut self, _code: &str, cursor: usize) -> Value {
        json!({ "status": "ok", "matches": [], "cursor_start": cursor, "cursor_end": cursor, "metadata": {} })
    }

    /// inspect_request: magic help on a `:` line, else the Rust engine's hover.
    pub fn inspect(&mut self, code: &str, cursor: usize) -> Value {
        let line = code.lines().find(|l| l.trim_start().starts_with(':'));
        if let Some(l) = line
            && let Some(text) = magics::help_for(l.trim_start()[1..].split_whitespace().next().unwrap_or(""))
        {
            return json!({ "status": "ok", "found": true, "data": { "text/plain": text }, "metadata": {} });
        }
        self.inspect_rust(code, cursor)
    }

    #[cfg(feature = "notebook")]
    fn inspect_rust(&mut self, code: &str, cursor: usize) -> Value {
        self.rust.inspect(code, cursor)
    }
    #[cfg(not(feature = "notebook"))]
    fn inspect_rust(&mut self, _code: &str, _cursor: usize) -> Value {
        json!({ "status": "ok", "found": false, "data": {}, "metadata": {} })
    }

    pub fn history(&self, content: &Value) -> Value {
        self.session.history(content)
    }

    pub fn shutdown(&mut self) {
        #[cfg(feature = "notebook")]
        self.rust.shutdown();
    }
}

/// The folder of the repository's crate `name` (`reprise-rdd` → `experiments/rdd`).
pub fn project_crate(repo: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    let short = name.strip_prefix("reprise-")?;
    let declares = |dir: &std::path::Path| {
        std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|t| t.lines().any(|l| l.split('=').map(str::trim).collect::<Vec<_>>() == ["name", &format!("\"{name}\"")]))
    };
    [repo.join(short), repo.join("experiments").join(short)].into_iter().find(|d| declares(d))
}
