//! Rust cells through the `evcxr` crate: started in the background so the kernel answers at once,
//! stdout/stderr streamed while the cell runs, panics turned into errors, interrupts that say which
//! variables were lost, rust-analyzer pointed at the installed sources (never `rustup`), and the
//! notebook's `:dep`s pinned by a Cargo.lock.

use super::emit::{Emit, Recorder};
use super::build_seed;
use super::plain_display::{self, PlainDisplay};
use super::type_probe;
use super::stderr_sync::{Settled, StderrSync};
use super::engine::{EngineConfig, Interrupter, Outcome};
use crossbeam_channel::{Receiver, Sender, select};
use evcxr::{CommandContext, Error as EvcxrError};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Lines the runtime process prints to talk to the kernel (after a 0x1e record separator).
pub const PANIC_MARK: &str = "\u{1e}REPRISE_PANIC ";
/// What the runtime's stdout relay prints when a `?` in a cell returned an error (evcxr itself only
/// prints the error to stderr and reports the cell as a success).
pub const USER_ERROR_MARK: &str = "\u{1e}REPRISE_USER_ERROR";
pub const DISPLAY_MARK: &str = "\u{1e}REPRISE_DISPLAY ";
const CLEAR_MARK: &str = "\u{1e}REPRISE_CLEAR ";

/// The JSON string escaper the prelude and the panic hook share (a literal, for `concat!`).
macro_rules! json_string_fn {
    () => {
        r#"
#[allow(dead_code)]
fn reprise_json_string(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}
"#
    };
}

/// Functions a session gets: displays and clear_output that reach the notebook while the cell
/// runs. evcxr compiles every item defined so far into each cell, so they are defined only once a
/// cell names one of them ([`PRELUDE_NAMES`]): cells that do not use them compile without them.
const PRELUDE: &str = concat!(
    json_string_fn!(),
    r#"
/// Shows `data` (of MIME type `mime`) in the notebook now.
#[allow(dead_code)]
fn reprise_display(mime: &str, data: &str) {
    println!("\u{1e}REPRISE_DISPLAY {{\"data\":{{{}:{}}},\"id\":null,\"update\":false}}", reprise_json_string(mime), reprise_json_string(data));
}
/// Shows (`update` false) or replaces (`update` true) the display called `id`.
#[allow(dead_code)]
fn reprise_update_display(id: &str, mime: &str, data: &str, update: bool) {
    println!("\u{1e}REPRISE_DISPLAY {{\"data\":{{{}:{}}},\"id\":{},\"update\":{}}}", reprise_json_string(mime), reprise_json_string(data), reprise_json_string(id), update);
}
/// Clears the cell's output (`wait`: when the next output arrives).
#[allow(dead_code)]
fn reprise_clear_output(wait: bool) {
    println!("\u{1e}REPRISE_CLEAR {}", wait);
}
"#
);

/// A cell that names one of these gets the prelude defined first.
const PRELUDE_NAMES: [&str; 4] = ["reprise_display", "reprise_update_display", "reprise_clear_output", "reprise_json_string"];

/// Run in the runtime process first and after every restart: cells link their own (dynamic) std,
/// so the panic hook must be set from a cell. It reports the panic to the kernel, which turns it
/// into the cell's error (message and location); the default hook's text would only repeat it on
/// stderr. Its escaper is local to the closure, so the hook defines no session item.
const PANIC_HOOK: &str = concat!(
    "std::panic::set_hook(Box::new(|info| {",
    json_string_fn!(),
    r#"
    let msg = if let Some(s) = info.payload().downcast_ref::<&str>() { s.to_string() }
        else if let Some(s) = info.payload().downcast_ref::<String>() { s.clone() }
        else { "panic".to_string() };
    let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
    println!("\u{1e}REPRISE_PANIC {{\"message\":{},\"location\":{}}}", reprise_json_string(&msg), reprise_json_string(&at));
}));
"#
);

struct Ready {
    ctx: Option<Result<CommandContext, String>>,
}

/// What the forwarder thread reports back for the running cell.
#[derive(Default)]
struct CellState {
    emit: Option<Arc<Recorder>>,
    panic: Option<(String, String)>,
    /// A `?` in the cell returned an error early ([`USER_ERROR_MARK`]).
    user_error: bool,
}

pub struct RustCells {
    ready: Arc<(Mutex<Ready>, Condvar)>,
    cell: Arc<Mutex<CellState>>,
    flush: Sender<Sender<()>>,
    notice: Option<String>,
    /// rust-analyzer cannot type variables (no rust-src, or forced for tests): untyped `let`s are
    /// typed by the compiler before the cell runs ([`type_probe`]).
    probe_first: bool,
    /// The notebook has been told once that variable types came from the compiler.
    told_probe: bool,
    pending_lock: Option<Vec<u8>>,
    lock_target: Option<PathBuf>,
    interrupt: Interrupter,
    /// The plain-text display trait that saves evcxr's second compile of most cells.
    display: PlainDisplay,
    /// The current runtime process has the panic hook.
    hook_set: bool,
    /// The `:dep` build shared across kernels ([`build_seed`]), planted before this kernel's first.
    seed: PathBuf,
    seed_planted: bool,
    /// Since when the seed holds this kernel's build: later `:dep` cells save it only if cargo
    /// rebuilt something.
    seed_current_since: Option<std::time::SystemTime>,
}

/// Sets an environment variable unless it already holds `value`. The kernel calls this before it
/// starts other threads; a second engine in the same process (a replay) finds the values set.
fn set_env(key: &str, value: &Path) {
    if std::env::var_os(key).as_deref() != Some(value.as_os_str()) {
        // SAFETY: first call happens on the main thread before the runtime starts; later calls
        // with the same value return above without writing.
        unsafe { std::env::set_var(key, value) };
    }
}

/// Set to 1, the kernel acts as on a toolchain without rust-src even where it has one (the tests
/// take that path on every machine).
pub const NO_RUST_SRC_ENV: &str = "REPRISE_KERNEL_NO_RUST_SRC";

/// Points rust-analyzer at the toolchain's `rust-src`, or at an empty stand-in so that it never
/// runs `rustup component add` (which would change the toolchain). Returns a notice when degraded.
fn rust_src(cache: &Path) -> Option<String> {
    let forced = std::env::var_os(NO_RUST_SRC_ENV).is_some_and(|v| v == "1");
    let sysroot = std::process::Command::new("rustc").args(["--print", "sysroot"]).output().ok();
    let sysroot = sysroot.map(|s| PathBuf::from(String::from_utf8_lossy(&s.stdout).trim()));
    let real = sysroot.map(|s| s.join("lib/rustlib/src/rust/library"));
    if let Some(real) = real.filter(|r| !forced && r.join("core").is_dir()) {
        set_env("RUST_SRC_PATH", &real);
        return None;
    }
    let stub = cache.join("rust-src-stub");
    for krate in ["core", "alloc", "std"] {
        let dir = stub.join(krate).join("src");
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join("lib.rs"), "");
    }
    set_env("RUST_SRC_PATH", &stub);
    Some(format!(
        "{}, so completion and hover know nothing of std and the compiler names the types of variables kept between cells (one extra compile in a cell with an untyped `let`); `rustup component add rust-src` gives completion and hover for std (Reprise never changes the toolchain itself)",
        if forced { format!("{NO_RUST_SRC_ENV}=1 hides the toolchain's rust-src component") } else { "the toolchain has no rust-src component".to_string() }
    ))
}

impl RustCells {
    /// Starts evcxr on a background thread.
    pub fn start(cfg: &EngineConfig, interrupt: Interrupter) -> RustCells {
        let cache = cfg.store.join("cache");
        let notice = rust_src(&cache);
        static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if let Some(n) = &notice
            && !SAID.swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            eprintln!("reprise kernel: note: {n}");
        }
        // Every engine builds with cargo's defaults: an inherited CARGO_INCREMENTAL (CI sets 0)
        // would change the path crates' fingerprints between `reprise kernel prepare` in a shell
        // and a kernel started by Jupyter, and the prepared build would not be reused.
        if std::env::var_os("CARGO_INCREMENTAL").is_some() {
            // SAFETY: as in `set_env`: the first engine removes it before other threads start.
            unsafe { std::env::remove_var("CARGO_INCREMENTAL") };
        }
        // Ignore the user's evcxr configuration (init.evcxr, prelude.rs): sessions must replay anywhere.
        let config_dir = cache.join("evcxr-config");
        let _ = std::fs::create_dir_all(&config_dir);
        set_env("EVCXR_CONFIG_DIR", &config_dir);

        let ready = Arc::new((Mutex::new(Ready { ctx: None }), Condvar::new()));
        let cell: Arc<Mutex<CellState>> = Arc::default();
        let (flush_tx, flush_rx) = crossbeam_channel::unbounded::<Sender<()>>();
        let (r, c, i) = (ready.clone(), cell.clone(), interrupt.clone());
        let progress = build_progress();
        std::thread::spawn(move || {
            let made = CommandContext::new().map_err(|e| e.to_string());
            let made = made.map(|(ctx, outputs)| {
                *i.process.lock().unwrap_or_else(|p| p.into_inner()) = Some(ctx.process_handle());
                let c2 = c.clone();
                let process = i.process.clone();
                std::thread::spawn(move || forward(outputs.stdout, outputs.stderr, progress, flush_rx, c2, process));
                ctx
            });
            let (lock, cv) = &*r;
            lock.lock().unwrap_or_else(|p| p.into_inner()).ctx = Some(made);
            cv.notify_all();
        });
        let lock_target = cfg.notebook.as_ref().map(|n| cfg.repo.join("lockfiles/notebooks").join(format!("{n}.Cargo.lock")));
        let pending_lock = lock_target.as_ref().and_then(|p| std::fs::read(p).ok());
        let seed = build_seed::seed_dir(&cache);
        let probe_first = notice.is_some();
        RustCells { ready, cell, flush: flush_tx, notice, probe_first, told_probe: false, pending_lock, lock_target, interrupt, display: PlainDisplay::default(), hook_set: false, seed, seed_planted: false, seed_current_since: None }
    }

    /// Waits for evcxr, then runs `f` on it.
    fn with_ctx<T>(&mut self, f: impl FnOnce(&mut CommandContext) -> T) -> Result<T, String> {
        let (lock, cv) = &*self.ready;
        let mut g = lock.lock().unwrap_or_else(|p| p.into_inner());
        while g.ctx.is_none() {
            g = cv.wait(g).unwrap_or_else(|p| p.into_inner());
        }
        match g.ctx.as_mut().unwrap() {
            // evcxr and rust-analyzer can panic on inputs they do not expect: that fails the
            // request, not the kernel.
            Ok(ctx) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(ctx))).map_err(|p| {
                let why = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
                format!("the Rust engine failed internally: {why}")
            }),
            Err(e) => Err(e.clone()),
        }
    }

    /// Waits until everything the runtime printed so far has been forwarded.
    fn drain(&self) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        if self.flush.send(tx).is_ok() {
            let _ = rx.recv_timeout(Duration::from_secs(5));
        }
    }

    /// The crate directory evcxr builds cells in.
    fn compile_dir(ctx: &mut CommandContext) -> Option<PathBuf> {
        let out = ctx.execute(":last_compile_dir").ok()?;
        out.content_by_mime_type.get("text/plain").map(|s| PathBuf::from(s.trim()))
    }

    /// Uses `bytes` as the Cargo.lock of the next dependency resolution.
    pub fn preload_lock(&mut self, bytes: Vec<u8>) {
        self.pending_lock = Some(bytes);
    }

    /// Names the notebook: its pinned lock is loaded now and rewritten after each `:dep` build.
    pub fn pin_notebook(&mut self, repo: &Path, name: &str) {
        let p = repo.join("lockfiles/notebooks").join(format!("{name}.Cargo.lock"));
        if let Ok(b) = std::fs::read(&p) {
            self.pending_lock = Some(b);
        }
        self.lock_target = Some(p);
    }

    /// The resolved Cargo.lock of this session's dependencies, if any were added.
    pub fn cargo_lock(&mut self) -> Option<Vec<u8>> {
        self.with_ctx(|ctx| Self::compile_dir(ctx).and_then(|d| std::fs::read(d.join("Cargo.lock")).ok())).ok().flatten()
    }

    /// Sets the panic hook (once per runtime process), defines the prelude when `code` names one of
    /// its functions, and keeps the plain-text display trait in step with evcxr's settings. The
    /// session's item names tell what a `:clear` removed.
    fn load_prelude(&mut self, code: &str) -> Result<(), String> {
        let (has_trait, has_prelude) = self.with_ctx(|ctx| {
            let (mut t, mut p) = (false, false);
            for n in ctx.defined_item_names() {
                t |= n == plain_display::TRAIT;
                p |= n == PRELUDE_NAMES[0];
            }
            (t, p)
        })?;
        let hook = !self.hook_set;
        let items = !has_prelude && PRELUDE_NAMES.iter().any(|n| code.contains(n));
        let display = self.display.before(code, has_trait);
        if !hook && !items && display.is_none() {
            return Ok(());
        }
        let shown = self.with_ctx(|ctx| {
            let mut shown = None;
            if let Some((src, what)) = display {
                // With the hook when both are due: one compile, not two.
                let ok = ctx.execute(&if hook { format!("{src}{PANIC_HOOK}") } else { src }).is_ok();
                if !ok && what == plain_display::Defined::Off {
                    return Err("turning off the Reprise display trait for this cell's `:fmt`/`:types`".to_string());
                }
                shown = Some((what, ok));
                if hook && !ok {
                    ctx.execute(PANIC_HOOK).map_err(|e| format!("setting the panic hook: {e}"))?;
                }
            } else if hook {
                ctx.execute(PANIC_HOOK).map_err(|e| format!("setting the panic hook: {e}"))?;
            }
            if items {
                ctx.execute(PRELUDE).map_err(|e| format!("loading the Reprise prelude: {e}"))?;
            }
            Ok::<_, String>(shown)
        })??;
        if let Some((what, ok)) = shown {
            self.display.defined(what, ok);
        }
        self.hook_set = true;
        Ok(())
    }

    pub fn execute(&mut self, code: &str, out: Arc<Recorder>) -> Outcome {
        if let Err(e) = self.load_prelude(code) {
            return Outcome::error("EngineError", &e, vec![]);
        }
        if let Some(lock) = self.pending_lock.take() {
            let _ = self.with_ctx(|ctx| {
                if let Some(dir) = Self::compile_dir(ctx) {
                    let _ = std::fs::write(dir.join("Cargo.lock"), lock);
                }
            });
        }
        {
            let mut c = self.cell.lock().unwrap_or_else(|p| p.into_inner());
            c.emit = Some(out.clone());
            c.panic = None;
            c.user_error = false;
        }
        let adds_dep = code.lines().any(|l| l.trim_start().starts_with(":dep"));
        if adds_dep && !self.seed_planted {
            let seed = self.seed.clone();
            self.seed_current_since = self.seed.is_dir().then(std::time::SystemTime::now);
            let _ = self.with_ctx(|ctx| Self::compile_dir(ctx).map(|dir| build_seed::plant(&seed, &dir)));
            self.seed_planted = true;
        }
        // Untyped `let`s typed by the compiler: first where rust-analyzer cannot (no rust-src), or
        // after evcxr gave up on a type.
        let mut typed = match self.probe_first {
            true => self.typed(code, &out),
            false => Ok(None),
        };
        let mut result = typed.as_ref().map_err(Clone::clone).map(|t| self.run_once(t.as_ref().map_or(code, |t| &t.code)));
        if !self.probe_first && matches!(&result, Ok(Ok((Err(EvcxrError::Message(m)), _))) if type_probe::is_unknown_type_error(m)) {
            typed = self.typed(code, &out);
            match &typed {
                Ok(Some(t)) => result = Ok(self.run_once(&t.code)),
                Ok(None) => {}
                Err(outcome) => result = Err(outcome.clone()),
            }
        }
        // A written type that names a crate the session lacks: say which, and the way out.
        if let (Ok(Some(t)), Ok(Ok((Err(EvcxrError::CompilationErrors(errors)), _)))) = (&typed, &result)
            && let Some(why) = errors.first().and_then(|e| t.missing_crate(&e.message()))
        {
            result = Err(Outcome::error("TypeError", &why, vec![]));
        }
        self.drain();
        let (panic, user_error) = {
            let mut c = self.cell.lock().unwrap_or_else(|p| p.into_inner());
            c.emit = None;
            (c.panic.take(), std::mem::take(&mut c.user_error))
        };
        let result = match result {
            Ok(r) => r,
            Err(outcome) => return outcome,
        };
        let (result, vars_before) = match result {
            Ok(r) => r,
            Err(e) => return Outcome::error("EngineError", &e, vec![]),
        };
        self.display.after(code, result.is_ok());
        if adds_dep && let Some(target) = self.lock_target.clone() && let Some(lock) = self.cargo_lock() {
            let _ = std::fs::create_dir_all(target.parent().unwrap());
            let _ = std::fs::write(&target, lock);
        }
        if adds_dep && result.is_ok() {
            let (seed, since) = (self.seed.clone(), self.seed_current_since);
            let saved = self.with_ctx(|ctx| {
                Self::compile_dir(ctx).filter(|dir| since.is_none_or(|t| build_seed::rebuilt(dir, t))).map(|dir| build_seed::save(&seed, &dir))
            });
            if let Ok(Some(())) = saved {
                self.seed_current_since = Some(std::time::SystemTime::now());
            }
        }
        match result {
            Ok(outputs) => {
                if let Some((message, location)) = panic {
                    return Outcome::error("panic", &message, vec![format!("thread panicked{location}:"), message.clone()]);
                }
                if user_error {
                    let why = last_stderr(&out).unwrap_or_else(|| "an error (printed above)".into());
                    return Outcome::error("Error", &why, vec![format!("the cell stopped at a `?`: {why}")]);
                }
                let bundle = mime_bundle(outputs.content_by_mime_type, &*out);
                Outcome::ok(if bundle.is_empty() { None } else { Some(bundle) })
            }
            Err(EvcxrError::CompilationErrors(errors)) => {
                let first = errors.first().map(|e| e.message()).unwrap_or_default();
                let traceback: Vec<String> = errors.iter().flat_map(|e| e.rendered().lines().map(str::to_owned).collect::<Vec<_>>()).collect();
                Outcome::error("CompilationError", &first, traceback)
            }
            Err(EvcxrError::SubprocessTerminated(why)) => {
                let cause = if self.interrupt.raised() { "interrupted" } else { "the evaluation process ended" };
                let lost = if vars_before.is_empty() { "no variables were lost".to_string() } else { format!("variables lost: {}", vars_before.join(", ")) };
                out.stream("stderr", &format!("{cause}; {lost}. `:restore` replays this session's cells to rebuild them.\n"));
                // The prelude's functions survive a restart; the new process needs the hook again.
                self.hook_set = false;
                Outcome::error(if self.interrupt.raised() { "KeyboardInterrupt" } else { "ProcessEnded" }, &format!("{cause} ({why}); {lost}"), vec![])
            }
            Err(e) => Outcome::error("EvalError", &e.to_string(), vec![]),
        }
    }

    /// Runs `code` in evcxr (with the final place borrowed for the display trait); also returns the
    /// variables the session had before.
    fn run_once(&mut self, code: &str) -> Result<(Result<evcxr::EvalOutputs, EvcxrError>, Vec<String>), String> {
        let borrowed = self.display.borrowed(code);
        self.with_ctx(|ctx| {
            let vars: Vec<String> = ctx.variables_and_types().map(|(n, _)| n.to_string()).collect();
            // evcxr's rustc-wrapper cache stays off: switched on for `:dep` cells only, it changed
            // the build's environment from cell to cell, and cargo rebuilt every crate with a build
            // script (serde, thiserror …) at each switch (~20 s a `:dep` cell). Builds are shared
            // between kernels through the store's build seed instead ([`build_seed`]).
            let r = match &borrowed {
                Some(b) => match ctx.execute(&b.code) {
                    Err(EvcxrError::CompilationErrors(errors)) if b.retry_as_written(errors.iter().map(|e| e.rendered())) => ctx.execute(code),
                    r => r,
                },
                None => ctx.execute(code),
            };
            (r, vars)
        })
    }

    /// `code` with the types of its untyped `let`s written in, as the compiler names them
    /// ([`type_probe`]); `None` when there is nothing to type or the probe cannot tell (evcxr then
    /// gets the cell as written). An error outcome when the cell's own code does not compile or a
    /// type cannot be named.
    fn typed(&mut self, code: &str, out: &Arc<Recorder>) -> Result<Option<type_probe::Typed>, Outcome> {
        let lets = type_probe::untyped_lets(code);
        if lets.is_empty() {
            return Ok(None);
        }
        let wrapper = std::env::current_exe().map_err(|e| Outcome::error("EngineError", &format!("finding the kernel's own binary to name variable types: {e}"), vec![]))?;
        let errors = self
            .with_ctx(|ctx| {
                let vars: Vec<(String, String)> = ctx.variables_and_types().map(|(n, t)| (n.to_string(), t.to_string())).collect();
                match ctx.execute(&type_probe::probe_cell(code, &lets, &vars, &wrapper)) {
                    Err(EvcxrError::CompilationErrors(errors)) => errors.iter().filter(|e| e.level() == "error").map(|e| (e.message(), e.rendered())).collect(),
                    _ => Vec::new(),
                }
            })
            .map_err(|e| Outcome::error("EngineError", &e, vec![]))?;
        let rendered: Vec<&str> = errors.iter().map(|(_, r)| r.as_str()).collect();
        let answer = type_probe::read_answer(&rendered, lets.len());
        if !answer.cell_errors.is_empty() {
            // The cell's own errors, unless they concern the probe's wrapping (then evcxr says).
            if answer.cell_errors.iter().any(|&i| rendered[i].contains("__reprise_type_probe")) {
                return Ok(None);
            }
            let first = errors[answer.cell_errors[0]].0.clone();
            let traceback = answer.cell_errors.iter().flat_map(|&i| rendered[i].lines().map(str::to_owned).collect::<Vec<_>>()).collect();
            return Err(Outcome::error("CompilationError", &first, traceback));
        }
        let mut typed_lets = Vec::new();
        let mut types = Vec::new();
        for (u, t) in lets.iter().zip(answer.types) {
            let Some(t) = t else { continue };
            match type_probe::nameable(&u.name, &t) {
                Ok(t) => {
                    typed_lets.push(u.clone());
                    types.push(t);
                }
                Err(why) => return Err(Outcome::error("TypeError", &why, vec![])),
            }
        }
        if typed_lets.is_empty() {
            return Ok(None);
        }
        if !self.told_probe {
            self.told_probe = true;
            let names: Vec<String> = typed_lets.iter().map(|u| format!("`{}`", u.name)).collect();
            let why = if self.probe_first { "the toolchain has no rust-src component" } else { "rust-analyzer could not tell" };
            out.stream(
                "stderr",
                &format!("note: the compiler named the types of {} ({why}; one extra compile in cells with an untyped `let`); `rustup component add rust-src` gives completion and hover for std. Said once per kernel.\n", names.join(", ")),
            );
        }
        Ok(Some(type_probe::Typed::new(code, &typed_lets, types)))
    }

    /// Completions from rust-analyzer; cursor positions are in Unicode code points.
    pub fn complete(&mut self, code: &str, cursor: usize) -> Value {
        let byte = byte_offset(code, cursor);
        let notice = self.notice.clone();
        let r = self.with_ctx(|ctx| ctx.completions(code, byte).ok()).ok().flatten();
        match r {
            Some(c) => json!({
                "status": "ok",
                "matches": c.completions.iter().map(|x| x.code.clone()).collect::<Vec<_>>(),
                "cursor_start": char_offset(code, c.start_offset),
                "cursor_end": char_offset(code, c.end_offset),
                "metadata": { "reprise_notice": notice },
            }),
            None => json!({ "status": "ok", "matches": [], "cursor_start": cursor, "cursor_end": cursor, "metadata": {} }),
        }
    }

    /// Hover documentation from rust-analyzer.
    pub fn inspect(&mut self, code: &str, cursor: usize) -> Value {
        let byte = byte_offset(code, cursor);
        let r = self.with_ctx(|ctx| ctx.hover_at(code, byte).ok()).ok().flatten();
        match r {
            Some((plain, html)) if !plain.trim().is_empty() => {
                json!({ "status": "ok", "found": true, "data": { "text/plain": plain, "text/html": html }, "metadata": {} })
            }
            _ => json!({ "status": "ok", "found": false, "data": {}, "metadata": {} }),
        }
    }

    pub fn shutdown(&mut self) {
        if let Some(child) = self.interrupt.process.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = child.lock().unwrap_or_else(|p| p.into_inner()).kill();
        }
    }
}

fn byte_offset(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map(|(b, _)| b).unwrap_or(s.len())
}

fn char_offset(s: &str, bytes: usize) -> usize {
    s[..bytes.min(s.len())].chars().count()
}

/// Dependency build progress for the running cell. evcxr copies cargo's `Compiling <crate>` lines
/// to this process's own stderr (fd 2), where no notebook sees them; so fd 2 becomes a pipe, once
/// per process, whose reader copies every byte on to the original stderr and hands those lines to
/// the forwarder, which streams them into the running cell's stderr. Without a pipe (the calls
/// fail) the lines stay where evcxr puts them.
fn build_progress() -> Receiver<String> {
    static PROGRESS: std::sync::OnceLock<Receiver<String>> = std::sync::OnceLock::new();
    PROGRESS
        .get_or_init(|| {
            use std::io::{BufRead, Write};
            use std::os::fd::FromRawFd;
            let (tx, rx) = crossbeam_channel::unbounded();
            let mut fds = [0; 2];
            // SAFETY: plain descriptor calls; every descriptor created here is owned exactly once
            // (the read end and the saved stderr move into the reader thread's Files).
            let (read, saved) = unsafe {
                if libc::pipe(fds.as_mut_ptr()) != 0 {
                    return rx;
                }
                let saved = libc::dup(2);
                if saved < 0 || libc::dup2(fds[1], 2) < 0 {
                    libc::close(fds[0]);
                    libc::close(fds[1]);
                    if saved >= 0 {
                        libc::close(saved);
                    }
                    return rx;
                }
                libc::close(fds[1]);
                (std::fs::File::from_raw_fd(fds[0]), std::fs::File::from_raw_fd(saved))
            };
            std::thread::spawn(move || {
                let (mut reader, mut out) = (std::io::BufReader::new(read), saved);
                let mut line = Vec::new();
                // Reads for as long as anyone can write to fd 2: a pipe without its reader would turn
                // every later stderr write into SIGPIPE.
                loop {
                    match reader.read_until(b'\n', &mut line) {
                        Ok(0) => break,
                        Ok(_) => {
                            let _ = out.write_all(&line);
                            let text = String::from_utf8_lossy(&line);
                            if text.trim_start().starts_with("Compiling ") {
                                let _ = tx.send(text.into_owned());
                            }
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                    line.clear();
                }
            });
            rx
        })
        .clone()
}

/// A display's data as Jupyter wants it: JSON types (`application/json`, `…+json`) as JSON values,
/// the rest as text, and a Plotly figure with its static SVG drawing. Data of a JSON type that does
/// not parse is shown as text/plain, with a warning.
fn mime_bundle(texts: impl IntoIterator<Item = (String, String)>, out: &dyn Emit) -> serde_json::Map<String, Value> {
    let mut bundle = serde_json::Map::new();
    for (mime, data) in texts {
        let json = mime == "application/json" || mime.ends_with("+json");
        match json.then(|| serde_json::from_str::<Value>(&data)) {
            None => {
                bundle.insert(mime, Value::String(data));
            }
            Some(Ok(v)) => {
                bundle.insert(mime, v);
            }
            Some(Err(e)) => {
                out.stream("stderr", &format!("the {mime} output is not JSON ({e}); it is shown as text\n"));
                bundle.entry("text/plain").or_insert(Value::String(data));
            }
        }
    }
    // A Plotly figure gets the same static drawing beside it as the figures of `:run`.
    if !bundle.contains_key("image/svg+xml")
        && let Some(svg) = bundle.get("application/vnd.plotly.v1+json").and_then(crate::figure::svg)
    {
        bundle.insert("image/svg+xml".into(), Value::String(svg));
    }
    bundle
}

/// The last stderr text the cell printed, trimmed: what a `?` that returned early printed.
fn last_stderr(out: &Recorder) -> Option<String> {
    let log = out.log.lock().unwrap_or_else(|p| p.into_inner());
    log.iter().rev().find_map(|e| match e {
        super::emit::Emitted::Stream { name, text } if name == "stderr" && !text.trim().is_empty() => text.trim().lines().last().map(str::to_string),
        _ => None,
    })
}

/// The runtime process, once evcxr has started it (shared with the interrupter).
type RuntimeProcess = Arc<Mutex<Option<Arc<Mutex<std::process::Child>>>>>;

/// How long the end of a cell waits for stderr still in the pipe or on its reader thread
/// ([`StderrSync`]), and how long it waits blindly where that cannot be seen.
const STDERR_BUSY_WAIT: Duration = Duration::from_millis(200);
const STDERR_BLIND_WAIT: Duration = Duration::from_millis(15);

/// Forwards the runtime's stdout/stderr to the running cell, batching lines that arrive together,
/// and turns the marker lines into displays, clears and panics.
fn forward(stdout: Receiver<String>, stderr: Receiver<String>, progress: Receiver<String>, flush: Receiver<Sender<()>>, cell: Arc<Mutex<CellState>>, process: RuntimeProcess) {
    let mut sync = StderrSync::default();
    let pid = || process.lock().unwrap_or_else(|p| p.into_inner()).as_ref().and_then(|c| c.try_lock().ok().map(|c| c.id()));
    let handle_out = |first: String, rx: &Receiver<String>| {
        let mut lines = vec![first];
        while let Ok(l) = rx.try_recv() {
            lines.push(l);
        }
        let mut text = String::new();
        let mut c = cell.lock().unwrap_or_else(|p| p.into_inner());
        for line in lines {
            if line == USER_ERROR_MARK {
                c.user_error = true;
            } else if let Some(j) = line.strip_prefix(PANIC_MARK) {
                let v: Value = serde_json::from_str(j).unwrap_or(Value::Null);
                c.panic = Some((v["message"].as_str().unwrap_or("panic").to_string(), v["location"].as_str().unwrap_or("").to_string()));
            } else if let Some(j) = line.strip_prefix(DISPLAY_MARK) {
                if let (Some(e), Ok(v)) = (&c.emit, serde_json::from_str::<Value>(j)) {
                    if !text.is_empty() {
                        e.stream("stdout", &std::mem::take(&mut text));
                    }
                    if let Some(data) = v["data"].as_object() {
                        let texts = data.iter().map(|(m, d)| (m.clone(), d.as_str().unwrap_or_default().to_string()));
                        e.display(mime_bundle(texts, e.as_ref()), v["id"].as_str(), v["update"].as_bool().unwrap_or(false));
                    }
                }
            } else if let Some(w) = line.strip_prefix(CLEAR_MARK) {
                if let Some(e) = &c.emit {
                    if !text.is_empty() {
                        e.stream("stdout", &std::mem::take(&mut text));
                    }
                    e.clear_output(w.trim() == "true");
                }
            } else {
                text.push_str(&line);
                text.push('\n');
            }
        }
        if let (Some(e), false) = (&c.emit, text.is_empty()) {
            e.stream("stdout", &text);
        }
    };
    let handle_err = |first: String, rx: &Receiver<String>| {
        let mut text = format!("{first}\n");
        while let Ok(l) = rx.try_recv() {
            text.push_str(&l);
            text.push('\n');
        }
        let c = cell.lock().unwrap_or_else(|p| p.into_inner());
        match &c.emit {
            Some(e) => e.stream("stderr", &text),
            None => eprint!("{text}"),
        }
    };
    loop {
        select! {
            recv(stdout) -> l => match l { Ok(l) => handle_out(l, &stdout), Err(_) => break },
            recv(stderr) -> l => match l { Ok(l) => handle_err(l, &stderr), Err(_) => break },
            // Between cells the lines have already reached the kernel's own stderr: nothing to do.
            recv(progress) -> l => if let (Ok(l), Some(e)) = (l, &cell.lock().unwrap_or_else(|p| p.into_inner()).emit) {
                e.stream("stderr", &format!("{}\n", l.trim()));
            },
            recv(flush) -> ack => {
                let Ok(ack) = ack else { break };
                while let Ok(l) = stdout.try_recv() { handle_out(l, &stdout); }
                // stderr comes through another pipe and thread: wait until it is through.
                let t0 = Instant::now();
                loop {
                    let waited = t0.elapsed();
                    match sync.settled(pid()) {
                        Settled::Yes => break,
                        Settled::NotYet if waited < STDERR_BUSY_WAIT => std::thread::sleep(Duration::from_micros(200)),
                        Settled::Unknown if waited < STDERR_BLIND_WAIT => std::thread::sleep(STDERR_BLIND_WAIT - waited),
                        _ => break,
                    }
                }
                while let Ok(l) = stderr.try_recv() { handle_err(l, &stderr); }
                let _ = ack.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::emit::{Emitted, Nowhere, Recorder};
    use super::*;

    fn bundle(pairs: &[(&str, &str)]) -> (serde_json::Map<String, Value>, Vec<Emitted>) {
        let rec = Recorder::new(Arc::new(Nowhere));
        let b = mime_bundle(pairs.iter().map(|(m, d)| (m.to_string(), d.to_string())), rec.as_ref());
        (b, rec.take())
    }

    #[test]
    fn json_types_go_out_as_json_values_and_a_plotly_figure_gets_its_svg() {
        let fig = r#"{"data": [{"type": "scatter", "x": [1, 2], "y": [3, 4]}]}"#;
        let (b, said) = bundle(&[("application/vnd.plotly.v1+json", fig), ("text/plain", "{\"a\": 1}")]);
        assert_eq!(b["application/vnd.plotly.v1+json"]["data"][0]["y"], json!([3, 4]));
        assert_eq!(b["text/plain"], json!("{\"a\": 1}"), "text types stay text");
        assert!(b["image/svg+xml"].as_str().is_some_and(|s| s.starts_with("<svg")));
        assert!(said.is_empty());
        let (b, _) = bundle(&[("application/json", "[1, 2]")]);
        assert_eq!(b["application/json"], json!([1, 2]));
    }

    #[test]
    fn data_of_a_json_type_that_does_not_parse_is_shown_as_text_with_a_warning() {
        let (b, said) = bundle(&[("application/vnd.plotly.v1+json", "{not json")]);
        assert!(!b.contains_key("application/vnd.plotly.v1+json"));
        assert_eq!(b["text/plain"], json!("{not json"));
        let Some(Emitted::Stream { name, text }) = said.first() else { panic!("no warning: {said:?}") };
        assert_eq!(name, "stderr");
        assert!(text.contains("application/vnd.plotly.v1+json output is not JSON"), "{text}");
    }
}
