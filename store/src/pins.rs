//! Temporary roots and the gc lock. Every object a process publishes (or relies on finding) is
//! first named in that process's own file under `pins/`, so `gc` keeps it while the process lives;
//! `gc` deletes only while it holds `gc.lock` exclusively, and naming and publishing hold it shared,
//! so no object appears, unseen, between gc's last look at the pins and its deletes.
//!
//! A pins file starts `reprise-pins 1 host=H pid=P start=T` (T: the process's start time in clock
//! ticks since boot, so a reused pid is not taken for the writer), then one digest a line. It is
//! removed when the store handle drops; one left by a process that died is stale: `gc` discards it
//! and says whose it was. A file of another host (a store on a shared file system) cannot be
//! checked: it counts until untouched for [`FOREIGN_STALE`].

use crate::digest::Digest;
use crate::error::StoreError;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

const HEADER: &str = "reprise-pins 1";
/// A writer waits this long for a running gc before it says that it is waiting.
const WAIT_QUIETLY: Duration = Duration::from_secs(1);
/// A pins file of another host untouched this long is taken as stale.
pub const FOREIGN_STALE: Duration = Duration::from_secs(24 * 3600);

/// What to call when a writer has to wait for `gc` (the binary prints it; this crate never does).
static WAIT_NOTICE: OnceLock<fn(&str)> = OnceLock::new();

/// Sets the function told when a publish waits for a running `gc` to finish deleting.
pub fn on_gc_wait(notice: fn(&str)) {
    let _ = WAIT_NOTICE.set(notice);
}

/// This process's pins file in one store: created at its first pin, removed on drop.
#[derive(Debug)]
pub(crate) struct Pins {
    root: PathBuf,
    file: Mutex<Option<(PathBuf, File)>>,
}

impl Pins {
    pub(crate) fn new(root: &Path) -> Pins {
        Pins { root: root.to_path_buf(), file: Mutex::new(None) }
    }

    /// Names `digests` as this process's roots. The caller holds the shared gc lock.
    pub(crate) fn add(&self, digests: &[Digest]) -> Result<(), StoreError> {
        if digests.is_empty() {
            return Ok(());
        }
        let mut g = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            static SEQ: AtomicU64 = AtomicU64::new(0);
            let dir = self.root.join("pins");
            fs::create_dir_all(&dir).map_err(StoreError::io("create", &dir))?;
            let me = Process::current();
            let path = dir.join(format!("{}-{}-{}", me.host, me.pid, SEQ.fetch_add(1, Ordering::Relaxed)));
            let mut f = OpenOptions::new().create(true).truncate(true).write(true).open(&path).map_err(StoreError::io("create", &path))?;
            writeln!(f, "{HEADER} host={} pid={} start={}", me.host, me.pid, me.start).map_err(StoreError::io("write", &path))?;
            *g = Some((path, f));
        }
        let (path, f) = g.as_mut().unwrap();
        let mut lines = String::with_capacity(65 * digests.len());
        for d in digests {
            lines.push_str(&d.hex());
            lines.push('\n');
        }
        f.write_all(lines.as_bytes()).map_err(StoreError::io("write", path.clone()))
    }
}

impl Drop for Pins {
    fn drop(&mut self) {
        if let Some((path, _)) = self.file.get_mut().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// `gc.lock`, held shared by writers while they name and publish, exclusively by `gc` while it
/// deletes. Released on drop.
pub(crate) struct GcLock(#[allow(dead_code)] File);

impl GcLock {
    fn open(root: &Path) -> Result<File, StoreError> {
        let path = root.join("gc.lock");
        OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&path).map_err(StoreError::io("open", &path))
    }

    fn flock(f: &File, op: libc::c_int, root: &Path) -> Result<bool, StoreError> {
        loop {
            // SAFETY: flock only reads the descriptor, which `f` keeps open.
            if unsafe { libc::flock(f.as_raw_fd(), op) } == 0 {
                return Ok(true);
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return Ok(false),
                _ => return Err(StoreError::Io { op: "lock", path: root.join("gc.lock"), source: e }),
            }
        }
    }

    /// The shared lock; a writer kept waiting longer than [`WAIT_QUIETLY`] says so once through
    /// [`on_gc_wait`].
    pub(crate) fn shared(root: &Path) -> Result<GcLock, StoreError> {
        let f = Self::open(root)?;
        let t0 = std::time::Instant::now();
        while !Self::flock(&f, libc::LOCK_SH | libc::LOCK_NB, root)? {
            if t0.elapsed() >= WAIT_QUIETLY {
                if let Some(say) = WAIT_NOTICE.get() {
                    say(&format!("`reprise gc` is deleting objects in {}; waiting for it to finish", root.display()));
                }
                Self::flock(&f, libc::LOCK_SH, root)?;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(GcLock(f))
    }

    /// The exclusive lock `gc` deletes under.
    pub(crate) fn exclusive(root: &Path) -> Result<GcLock, StoreError> {
        let f = Self::open(root)?;
        Self::flock(&f, libc::LOCK_EX, root)?;
        Ok(GcLock(f))
    }
}

/// A process as a pins file names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Process {
    pub host: String,
    pub pid: u32,
    /// Start time in clock ticks since boot (0 where /proc cannot tell).
    pub start: u64,
}

impl Process {
    fn current() -> Process {
        let pid = std::process::id();
        Process { host: hostname(), pid, start: start_ticks(pid).unwrap_or(0) }
    }
}

impl std::fmt::Display for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "process {} on {}", self.pid, self.host)
    }
}

/// One pins file as `gc` reads it.
#[derive(Debug)]
pub struct PinsFile {
    pub path: PathBuf,
    pub process: Option<Process>,
    pub digests: Vec<Digest>,
    /// Why it no longer protects anything; `None` while its writer lives.
    pub stale: Option<String>,
}

/// Every pins file of the store, each judged live or stale.
pub(crate) fn read_all(root: &Path) -> Result<Vec<PinsFile>, StoreError> {
    let dir = root.join("pins");
    let mut out = Vec::new();
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(StoreError::Io { op: "list", path: dir, source: e }),
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let here = hostname();
    let now = SystemTime::now();
    for path in paths {
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue, // its writer just finished
            Err(e) => return Err(StoreError::Io { op: "read", path, source: e }),
        };
        let mut lines = text.lines();
        let process = lines.next().and_then(parse_header);
        let digests = lines.filter_map(Digest::parse).collect();
        let age = fs::metadata(&path).and_then(|m| m.modified()).ok().and_then(|t| now.duration_since(t).ok()).unwrap_or_default();
        let stale = match &process {
            None => Some("it has no readable header".to_string()),
            Some(p) if p.host == here => match start_ticks(p.pid) {
                None if !pid_exists(p.pid) => Some("it has ended".to_string()),
                Some(t) if p.start != 0 && t != p.start => Some("it has ended (its pid now belongs to another process)".to_string()),
                _ => None,
            },
            Some(_) if age > FOREIGN_STALE => Some(format!("another host's, untouched for {} h", age.as_secs() / 3600)),
            Some(_) => None,
        };
        out.push(PinsFile { path, process, digests, stale });
    }
    Ok(out)
}

fn parse_header(line: &str) -> Option<Process> {
    let rest = line.strip_prefix(HEADER)?;
    let (mut host, mut pid, mut start) = (None, None, None);
    for kv in rest.split_whitespace() {
        match kv.split_once('=')? {
            ("host", v) => host = Some(v.to_string()),
            ("pid", v) => pid = v.parse().ok(),
            ("start", v) => start = v.parse().ok(),
            _ => {}
        }
    }
    Some(Process { host: host?, pid: pid?, start: start? })
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = if ok { String::from_utf8_lossy(&buf[..end]).into_owned() } else { String::new() };
    let name: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c)).collect();
    if name.is_empty() { "localhost".into() } else { name }
}

/// Field 22 of /proc/PID/stat (after the parenthesised command name, which may hold spaces).
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().nth(19)?.parse().ok()
}

fn pid_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: signal 0 only asks whether the process exists.
    unsafe { libc::kill(pid, 0) == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pins_file_names_its_process_and_goes_with_its_handle() {
        let dir = tempfile::tempdir().unwrap();
        let d = Digest::of(b"x");
        let pins = Pins::new(dir.path());
        pins.add(&[d]).unwrap();
        let files = read_all(dir.path()).unwrap();
        assert_eq!(files.len(), 1);
        let f = &files[0];
        assert_eq!(f.digests, vec![d]);
        assert_eq!(f.process.as_ref().unwrap().pid, std::process::id());
        assert!(f.process.as_ref().unwrap().start > 0, "read from /proc");
        assert_eq!(f.stale, None, "this process lives");
        drop(pins);
        assert!(read_all(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn a_dead_or_reused_pid_is_stale_and_another_hosts_file_counts_until_old() {
        let dir = tempfile::tempdir().unwrap();
        let pins = dir.path().join("pins");
        fs::create_dir_all(&pins).unwrap();
        let d = Digest::of(b"y");
        let here = hostname();
        // A process that has ended: a child we waited for.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        fs::write(pins.join("a"), format!("{HEADER} host={here} pid={gone} start=5\n{d}\n")).unwrap();
        let me = std::process::id();
        let start = start_ticks(me).unwrap();
        fs::write(pins.join("b"), format!("{HEADER} host={here} pid={me} start={}\n{d}\n", start + 1)).unwrap();
        fs::write(pins.join("c"), format!("{HEADER} host=elsewhere pid=1 start=1\n{d}\n")).unwrap();
        fs::write(pins.join("d"), "not a header\n").unwrap();
        let files = read_all(dir.path()).unwrap();
        let stale: Vec<Option<&str>> = files.iter().map(|f| f.stale.as_deref()).collect();
        assert_eq!(stale[0], Some("it has ended"));
        assert!(stale[1].unwrap().contains("another process"), "{stale:?}");
        assert_eq!(stale[2], None, "another host's file counts while recent");
        assert_eq!(stale[3], Some("it has no readable header"));
    }
}
