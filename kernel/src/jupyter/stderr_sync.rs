//! When a cell's stderr has all been forwarded: evcxr reads the runtime process's stderr pipe on a
//! thread of its own, so the last lines a cell wrote can still be on their way when the cell ends.
//!
//! The runtime writes those lines before it reports the cell complete, so they are in the pipe or
//! past it. Once the pipe is empty and evcxr's reader thread is blocked reading it again, every
//! complete line has been sent on (the reader only reads when it holds no whole line). Both are
//! asked of Linux: the pipe's unread bytes (`FIONREAD` on the kernel's read end, found by the
//! pipe's inode) and the thread's current system call (`/proc/self/task/<tid>/syscall`).

use std::os::fd::RawFd;
use std::path::Path;

/// The pipe behind the runtime's stderr, as this process sees it.
#[derive(Clone, Copy, PartialEq, Debug)]
struct Pipe {
    pid: u32,
    fd: RawFd,
}

/// Finds, once per runtime process, the pipe and the thread that reads it.
#[derive(Default)]
pub struct StderrSync {
    pipe: Option<Pipe>,
    reader: Option<u32>,
}

/// What [`StderrSync::settled`] can tell.
#[derive(PartialEq, Debug)]
pub enum Settled {
    Yes,
    NotYet,
    /// The pipe or its reader cannot be seen (not Linux, no /proc, the runtime gone): fall back to waiting.
    Unknown,
}

fn link(path: &Path) -> Option<String> {
    std::fs::read_link(path).ok().map(|p| p.to_string_lossy().into_owned())
}

/// This process's descriptor for the pipe that is `pid`'s stderr.
fn find_pipe(pid: u32) -> Option<Pipe> {
    let target = link(&Path::new("/proc").join(pid.to_string()).join("fd/2"))?;
    if !target.starts_with("pipe:") {
        return None;
    }
    let own = std::fs::read_dir("/proc/self/fd").ok()?;
    let fd = own.flatten().filter_map(|e| e.file_name().to_str()?.parse::<RawFd>().ok()).find(|&fd| fd > 2 && link(&Path::new("/proc/self/fd").join(fd.to_string())).as_deref() == Some(&target))?;
    Some(Pipe { pid, fd })
}

/// Whether thread `tid` of this process is blocked in `read(fd, …)`.
fn reading(tid: u32, fd: RawFd) -> Option<bool> {
    let call = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).ok()?;
    let mut parts = call.split_whitespace();
    let (nr, arg) = (parts.next()?, parts.next());
    Some(nr.parse::<i64>().ok() == Some(libc::SYS_read) && arg.and_then(|a| i64::from_str_radix(a.trim_start_matches("0x"), 16).ok()) == Some(i64::from(fd)))
}

/// The thread of this process blocked reading `fd`, if one is now.
fn find_reader(fd: RawFd) -> Option<u32> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    tasks.flatten().filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok()).find(|&tid| reading(tid, fd) == Some(true))
}

/// Bytes written to the pipe and not yet read.
fn unread(fd: RawFd) -> Option<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer; `fd` is open (its link was just read).
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    (rc == 0).then_some(n.max(0) as usize)
}

impl StderrSync {
    /// Whether everything runtime process `pid` wrote to stderr so far has been handed to evcxr's
    /// stderr channel.
    pub fn settled(&mut self, pid: Option<u32>) -> Settled {
        let Some(pid) = pid else { return Settled::Unknown };
        if self.pipe.is_none_or(|p| p.pid != pid) {
            (self.pipe, self.reader) = (find_pipe(pid), None);
        }
        let Some(pipe) = self.pipe else { return Settled::Unknown };
        // The descriptor may have been closed and reused since it was found (a restarted runtime).
        if link(&Path::new("/proc/self/fd").join(pipe.fd.to_string())) != link(&Path::new("/proc").join(pid.to_string()).join("fd/2")) {
            self.pipe = None;
            return Settled::Unknown;
        }
        match unread(pipe.fd) {
            None => return Settled::Unknown,
            Some(n) if n > 0 => return Settled::NotYet,
            Some(_) => {}
        }
        if let Some(tid) = self.reader {
            match reading(tid, pipe.fd) {
                Some(true) => return Settled::Yes,
                Some(false) => return Settled::NotYet,
                None => self.reader = None,
            }
        }
        // Not known yet, or gone: a thread found blocked on the pipe is the reader.
        self.reader = find_reader(pipe.fd);
        if self.reader.is_some() { Settled::Yes } else { Settled::NotYet }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, Write};
    use std::time::{Duration, Instant};

    /// A child that reports each step done on stdout after its stderr lines (as evcxr's runtime
    /// does), read by a slow thread as evcxr reads it: settled only once every line is in the channel.
    #[test]
    fn settled_means_every_line_reached_the_reader() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "read x; echo one >&2; echo two >&2; echo done; read y; echo three >&2; echo done; read z"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = crossbeam_channel::unbounded();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                std::thread::sleep(Duration::from_millis(30));
                let _ = tx.send(line);
            }
        });
        let (mut stdin, mut stdout) = (child.stdin.take().unwrap(), std::io::BufReader::new(child.stdout.take().unwrap()).lines());
        let mut sync = StderrSync::default();
        let pid = Some(child.id());
        let mut step = |sync: &mut StderrSync| {
            writeln!(stdin, "go").unwrap();
            assert_eq!(stdout.next().unwrap().unwrap(), "done");
            let t0 = Instant::now();
            while sync.settled(pid) != Settled::Yes {
                assert!(t0.elapsed() < Duration::from_secs(10), "never settled");
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        step(&mut sync);
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), ["one", "two"]);
        step(&mut sync);
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), ["three"]);
        assert_eq!(sync.settled(None), Settled::Unknown);
        drop(step);
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
