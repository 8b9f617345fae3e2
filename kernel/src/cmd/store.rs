//! `reprise store put|get|resolve`: the object layer by hand (and for benchmarks against
//! `sha256sum` and `git hash-object`).

use super::Ctx;
use crate::cli::StoreCommand;
use std::io::{BufRead, Write};
use std::path::PathBuf;

pub fn store(ctx: &Ctx, cmd: StoreCommand) -> anyhow::Result<()> {
    match cmd {
        StoreCommand::Put { files, stdin_paths } => {
            let store = ctx.store_for_write()?;
            let mut out = std::io::stdout().lock();
            if stdin_paths {
                let paths = std::io::stdin().lock().lines().map_while(Result::ok).filter(|l| !l.is_empty()).map(PathBuf::from);
                // Each digest is printed (and flushed) only once its object is durable and visible.
                let mut err = None;
                store.put_files(paths, &mut |_, d| {
                    if err.is_none() {
                        err = writeln!(out, "{d}").and_then(|_| out.flush()).err();
                    }
                })?;
                if let Some(e) = err {
                    return Err(e.into());
                }
            } else if files.is_empty() {
                return Err(crate::error::user("nothing to store", Some("name files, `-` for stdin, or pass --stdin-paths")));
            } else {
                for f in files {
                    let d = if f.as_os_str() == "-" {
                        store.put_reader(std::io::stdin().lock())?
                    } else {
                        let file = std::fs::File::open(&f).map_err(|e| crate::error::user(format!("cannot read {}: {e}", f.display()), None))?;
                        let len = file.metadata()?.len();
                        reprise_core::Progress::start(&ctx.bar, "storing", len);
                        let d = store.put_reader(Counted { inner: file, bar: &ctx.bar })?;
                        ctx.bar.done();
                        d
                    };
                    writeln!(out, "{d}")?;
                }
            }
            Ok(())
        }
        StoreCommand::Get { digest } => {
            let store = ctx.store()?;
            let d = store.resolve(&digest)?;
            store.copy_verified(&d, std::io::stdout().lock())?;
            Ok(())
        }
        StoreCommand::Resolve { prefix } => {
            let store = ctx.store()?;
            println!("{}", store.resolve(&prefix)?);
            Ok(())
        }
    }
}

/// Advances the progress bar by the bytes read.
struct Counted<'a, R> {
    inner: R,
    bar: &'a crate::progress::Bar,
}

impl<R: std::io::Read> std::io::Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        reprise_core::Progress::advance(self.bar, n as u64);
        Ok(n)
    }
}
