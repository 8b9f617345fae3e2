//! Rich output printed in the middle of a cell (`EVCXR_BEGIN_CONTENT mime` … `EVCXR_END_CONTENT`,
//! what `plotly::Plot::evcxr_display()` prints) shown when it is printed, each as its own display.
//!
//! evcxr gathers such blocks into the cell's result and keeps only the last of each MIME type, so
//! two plots in one cell showed one, at the end. In the process that runs cells, stdout goes
//! through a relay that turns each group of adjacent blocks (one `evcxr_display` call) into one
//! display message for the kernel. A group followed at once by the end of the cell is the cell's
//! final value and goes to evcxr as before (the execute result), as does a group of `text/plain`
//! alone (a `Debug` value's text).

use std::io::{BufRead, BufReader, Write};
use std::os::fd::FromRawFd;
use std::sync::mpsc;
use std::time::Duration;

const BEGIN: &str = "EVCXR_BEGIN_CONTENT ";
const END: &str = "EVCXR_END_CONTENT";
/// What evcxr's runtime prints when a cell's function has returned, and when it panicked.
const COMPLETE: &str = "EVCXR_EXECUTION_COMPLETE";
const PANICKED: &str = "EVCXR_PANIC_NOTIFICATION";
/// What evcxr's runtime prints when a `?` returned an error from the cell.
const USER_ERROR: &str = "EVCXR_ERROR_OCCURRED";
/// An empty block that result types print around their display bundle
/// (`reprise_stats::display::evcxr_bundle`): it closes the group, so that the next display call's
/// blocks never join it whatever their MIME types. Never forwarded.
const BOUNDARY: &str = "application/x-reprise-display-boundary";
/// How long a finished block waits for another of the same display call before it is sent.
const GROUP_WAIT: Duration = Duration::from_millis(100);

/// In evcxr's runtime process (and only there), puts the relay between the cells' stdout and the
/// pipe to the kernel. Does nothing when it cannot (the output then reaches evcxr as before).
pub fn install_in_runtime() {
    if std::env::var_os("EVCXR_IS_RUNTIME").is_none() {
        return;
    }
    let mut fds = [0; 2];
    // SAFETY: plain descriptor calls on fresh descriptors, before any thread of this process
    // writes to stdout; on failure nothing has been changed.
    let (reader, real) = unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return;
        }
        let real = libc::dup(1);
        if real < 0 || libc::dup2(fds[1], 1) < 0 {
            libc::close(fds[0]);
            libc::close(fds[1]);
            return;
        }
        libc::close(fds[1]);
        (std::fs::File::from_raw_fd(fds[0]), std::fs::File::from_raw_fd(real))
    };
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut r = BufReader::new(reader);
        loop {
            let mut line = Vec::new();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || relay(rx, std::io::BufWriter::new(real)));
}

/// Copies lines from `rx` to `out`, regrouping content blocks; flushes after every line.
fn relay(rx: mpsc::Receiver<Vec<u8>>, mut out: impl Write) {
    let mut pending: Vec<(String, String)> = Vec::new();
    let mut block: Option<(String, Vec<String>)> = None;
    // The pending group is a whole display call: the next block starts another.
    let mut closed = false;
    loop {
        let rich = pending.iter().any(|(m, _)| m != "text/plain");
        let next = if rich && block.is_none() { rx.recv_timeout(GROUP_WAIT) } else { rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected) };
        let line = match next {
            Ok(l) => l,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                send(&mut out, &mut pending, false);
                closed = false;
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                send(&mut out, &mut pending, true);
                return;
            }
        };
        let text = String::from_utf8_lossy(&line);
        let bare = text.trim_end_matches(['\n', '\r']);
        if let Some((mime, lines)) = block.as_mut() {
            if bare == END {
                if mime == BOUNDARY {
                    closed = !pending.is_empty();
                    block = None;
                    continue;
                }
                // A MIME type the group already has starts the next display call's group.
                if pending.iter().any(|(m, _)| m == mime) {
                    send(&mut out, &mut pending, false);
                }
                pending.push((std::mem::take(mime), lines.join("\n")));
                block = None;
                continue;
            }
            if bare != COMPLETE && bare != PANICKED {
                lines.push(bare.to_string());
                continue;
            }
            // A block cut short by a panic: evcxr sees it as it was printed, then the notice.
            send(&mut out, &mut pending, true);
            let (mime, lines) = block.take().expect("open");
            let raw: String = std::iter::once(format!("{BEGIN}{mime}\n")).chain(lines.iter().map(|l| format!("{l}\n"))).collect();
            let _ = out.write_all(raw.as_bytes());
        }
        if let Some(mime) = bare.strip_prefix(BEGIN) {
            let mime = mime.trim().to_string();
            if closed && mime != BOUNDARY {
                send(&mut out, &mut pending, false);
                closed = false;
            }
            block = Some((mime, Vec::new()));
            continue;
        }
        send(&mut out, &mut pending, bare == COMPLETE);
        closed = false;
        if bare == USER_ERROR {
            let _ = writeln!(out, "{}", super::rust_cells::USER_ERROR_MARK);
        }
        let _ = out.write_all(&line).and_then(|_| out.flush());
    }
}

/// Writes the gathered blocks: back in evcxr's form when they are the cell's value (`last`) or
/// plain text only, else as one display message.
fn send(out: &mut impl Write, pending: &mut Vec<(String, String)>, last: bool) {
    if pending.is_empty() {
        return;
    }
    let blocks = std::mem::take(pending);
    let text = if last || blocks.iter().all(|(m, _)| m == "text/plain") {
        blocks.iter().map(|(m, d)| format!("{BEGIN}{m}\n{d}\n{END}\n")).collect::<String>()
    } else {
        let data: serde_json::Map<String, serde_json::Value> = blocks.into_iter().map(|(m, d)| (m, serde_json::Value::String(d))).collect();
        format!("{}{}\n", super::rust_cells::DISPLAY_MARK, serde_json::json!({ "data": data, "id": null, "update": false }))
    };
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relayed(lines: &[&str]) -> String {
        let (tx, rx) = mpsc::channel();
        for l in lines {
            tx.send(format!("{l}\n").into_bytes()).unwrap();
        }
        drop(tx);
        let mut out = Vec::new();
        relay(rx, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn blocks_become_displays_in_place_and_the_cells_value_stays_evcxrs() {
        let out = relayed(&[
            "before",
            "EVCXR_BEGIN_CONTENT text/html",
            "<b>one</b>",
            "EVCXR_END_CONTENT",
            "EVCXR_BEGIN_CONTENT application/json",
            "{\"a\": 1}",
            "EVCXR_END_CONTENT",
            "between",
            "EVCXR_BEGIN_CONTENT text/html",
            "<i>two</i>",
            "line 2",
            "EVCXR_END_CONTENT",
            "EVCXR_BEGIN_CONTENT text/html",
            "<i>three</i>",
            "EVCXR_END_CONTENT",
            "after",
            "EVCXR_BEGIN_CONTENT text/plain",
            "a Debug value printed mid-cell",
            "EVCXR_END_CONTENT",
            "EVCXR_BEGIN_CONTENT text/html",
            "<u>the value</u>",
            "EVCXR_END_CONTENT",
            "EVCXR_EXECUTION_COMPLETE",
        ]);
        let lines: Vec<&str> = out.lines().collect();
        let display = |l: &str| -> serde_json::Value { serde_json::from_str(l.strip_prefix(super::super::rust_cells::DISPLAY_MARK).unwrap_or_else(|| panic!("{l}"))).unwrap() };
        assert_eq!(lines[0], "before");
        let first = display(lines[1]);
        assert_eq!(first["data"]["text/html"], "<b>one</b>");
        assert_eq!(first["data"]["application/json"], "{\"a\": 1}", "one evcxr_display call, one display");
        assert_eq!(lines[2], "between");
        assert_eq!(display(lines[3])["data"]["text/html"], "<i>two</i>\nline 2");
        assert_eq!(display(lines[4])["data"]["text/html"], "<i>three</i>", "two calls back to back, two displays");
        assert_eq!(lines[5], "after");
        // The value's blocks, followed by the end of the cell, go back to evcxr untouched.
        assert_eq!(
            lines[6..].join("\n"),
            "EVCXR_BEGIN_CONTENT text/plain\na Debug value printed mid-cell\nEVCXR_END_CONTENT\nEVCXR_BEGIN_CONTENT text/html\n<u>the value</u>\nEVCXR_END_CONTENT\nEVCXR_EXECUTION_COMPLETE"
        );
        let cut = relayed(&["EVCXR_BEGIN_CONTENT text/html", "<b>half", "EVCXR_PANIC_NOTIFICATION", "EVCXR_EXECUTION_COMPLETE"]);
        assert_eq!(cut, "EVCXR_BEGIN_CONTENT text/html\n<b>half\nEVCXR_PANIC_NOTIFICATION\nEVCXR_EXECUTION_COMPLETE\n", "a panic never swallows the end of the cell");
        let plain = ["EVCXR_BEGIN_CONTENT text/plain", "7", "EVCXR_END_CONTENT", "x"];
        assert_eq!(relayed(&plain), "EVCXR_BEGIN_CONTENT text/plain\n7\nEVCXR_END_CONTENT\nx\n", "plain text alone is evcxr's");
        let b = |m: &str, d: &str| format!("EVCXR_BEGIN_CONTENT {m}\n{d}\nEVCXR_END_CONTENT");
        let edge = format!("EVCXR_BEGIN_CONTENT {BOUNDARY}\nEVCXR_END_CONTENT");
        let (plot, table) = (b("application/vnd.plotly.v1+json", "{}"), [edge.clone(), b("text/plain", "τ"), b("text/html", "<table>"), edge.clone()].join("\n"));
        let cell = [plot.as_str(), table.as_str(), "EVCXR_EXECUTION_COMPLETE"].join("\n");
        let out = relayed(&cell.lines().collect::<Vec<_>>());
        let lines: Vec<&str> = out.lines().collect();
        assert!(display(lines[0])["data"]["application/vnd.plotly.v1+json"].is_string(), "{out}");
        assert!(display(lines[0])["data"].get("text/plain").is_none(), "a plot and a table printed back to back stay two displays: {out}");
        assert_eq!(lines[1..].join("\n"), "EVCXR_BEGIN_CONTENT text/plain\nτ\nEVCXR_END_CONTENT\nEVCXR_BEGIN_CONTENT text/html\n<table>\nEVCXR_END_CONTENT\nEVCXR_EXECUTION_COMPLETE", "the boundary is never forwarded and the value stays evcxr's");
        let early = relayed(&["EVCXR_ERROR_OCCURRED", "EVCXR_EXECUTION_COMPLETE"]);
        assert_eq!(early, format!("{}\nEVCXR_ERROR_OCCURRED\nEVCXR_EXECUTION_COMPLETE\n", super::super::rust_cells::USER_ERROR_MARK), "a `?` that returned early is told to the kernel");
    }

    #[test]
    fn a_display_followed_by_a_long_computation_is_sent_without_waiting_for_it() {
        let (tx, rx) = mpsc::channel();
        for l in ["EVCXR_BEGIN_CONTENT text/html", "<b>now</b>", "EVCXR_END_CONTENT"] {
            tx.send(format!("{l}\n").into_bytes()).unwrap();
        }
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let w = Shared(out.clone());
        let t = std::thread::spawn(move || relay(rx, w));
        let t0 = std::time::Instant::now();
        while out.lock().unwrap().is_empty() {
            assert!(t0.elapsed() < Duration::from_secs(10), "the display was held back");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(String::from_utf8(out.lock().unwrap().clone()).unwrap().contains("<b>now</b>"));
        drop(tx);
        t.join().unwrap();
    }
}
