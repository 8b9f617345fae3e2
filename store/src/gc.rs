//! `gc`: keep every object reachable from refs, the caller's roots and live writers' temporary
//! roots (`pins/`), and every object younger than the grace period; delete the rest. The store
//! cannot read records, so the caller says which objects an object refers to, and may refuse.
//!
//! It marks without a lock, then takes `gc.lock` exclusively (writers hold it shared while they
//! pin and publish), looks at refs and pins again, marks what is new, and only then deletes: an
//! object published before that look is pinned, and none can be published during the deletes.

use crate::digest::Digest;
use crate::error::StoreError;
use crate::objects::{Store, read_dir_sorted};
use crate::pins::{self, GcLock, PinsFile};
use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Objects larger than this are leaves: they are never read to look for references.
const MAX_PARSED: u64 = 16 << 20;
/// Files in `tmp/` older than this belong to writers that died; younger ones may be in use.
const TMP_GRACE: Duration = Duration::from_secs(3600);

/// How `gc` runs.
#[derive(Debug, Clone)]
pub struct GcOptions {
    pub dry_run: bool,
    /// Unreachable objects younger than this are kept (a second line of defence after pins).
    pub keep_newer: Duration,
}

/// What `gc` kept and deleted (or would delete, on a dry run).
#[derive(Debug, Default)]
pub struct GcReport {
    pub kept: usize,
    /// Unreachable objects kept because they are younger than `keep_newer`.
    pub young: usize,
    /// (object, size in bytes), sorted.
    pub removed: Vec<(Digest, u64)>,
    pub freed: u64,
    /// Reachable digests that are not in the store.
    pub missing: Vec<Digest>,
    pub tmp_removed: usize,
    /// Live writers whose temporary roots were kept.
    pub live_pins: usize,
    /// Temporary roots of writers that are gone (discarded, unless a dry run): who, why, how many.
    pub stale_pins: Vec<(PathBuf, String, usize)>,
    pub dry_run: bool,
}

/// An object the caller's `children` cannot read (an unknown kind): nothing is deleted.
pub type Refusal = String;

impl Store {
    /// Collects garbage. `roots` are kept besides every ref's target and every live writer's pins;
    /// `children(d, bytes)` returns the objects that object `d` refers to, or why it cannot tell
    /// (then `gc` deletes nothing and says so).
    pub fn gc(
        &self,
        roots: &[Digest],
        children: &dyn Fn(&Digest, &[u8]) -> Result<Vec<Digest>, Refusal>,
        opts: &GcOptions,
    ) -> Result<GcReport, StoreError> {
        let mut report = GcReport { dry_run: opts.dry_run, ..GcReport::default() };
        let mut reachable = BTreeSet::new();
        let (_, mut stack) = self.gc_roots(roots)?;
        self.mark(&mut stack, &mut reachable, children, &mut report)?;
        // Deletes only under the exclusive lock, after a second look at refs and pins.
        let _lock = if opts.dry_run { None } else { Some(GcLock::exclusive(self.root())?) };
        let (pins_now, mut stack) = self.gc_roots(roots)?;
        stack.retain(|d| !reachable.contains(d));
        self.mark(&mut stack, &mut reachable, children, &mut report)?;
        report.live_pins = pins_now.iter().filter(|p| p.stale.is_none()).count();
        let now = SystemTime::now();
        for d in self.list()? {
            if reachable.contains(&d) {
                report.kept += 1;
                continue;
            }
            let path = self.object_path(&d);
            let meta = fs::metadata(&path).ok();
            let age = meta.as_ref().and_then(|m| m.modified().ok()).and_then(|t| now.duration_since(t).ok()).unwrap_or_default();
            if age < opts.keep_newer {
                report.young += 1;
                continue;
            }
            let size = meta.map(|m| m.len()).unwrap_or(0);
            if !opts.dry_run {
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(StoreError::Io { op: "delete", path, source: e }),
                }
            }
            report.freed += size;
            report.removed.push((d, size));
        }
        for p in pins_now.into_iter().filter(|p| p.stale.is_some()) {
            if !opts.dry_run {
                let _ = fs::remove_file(&p.path);
            }
            let who = p.process.as_ref().map(|pr| pr.to_string()).unwrap_or_else(|| "an unknown writer".into());
            report.stale_pins.push((p.path, format!("{who}: {}", p.stale.unwrap_or_default()), p.digests.len()));
        }
        for tmp in read_dir_sorted(&self.tmp_dir())? {
            let old = fs::metadata(&tmp)
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > TMP_GRACE);
            if old {
                if !opts.dry_run {
                    fs::remove_file(&tmp).map_err(StoreError::io("delete", &tmp))?;
                }
                report.tmp_removed += 1;
            }
        }
        report.missing.sort();
        report.missing.dedup();
        Ok(report)
    }

    /// The live pins, refs and the caller's roots, and every pins file as read. Pins are read
    /// first: a writer names its objects in refs before its pins go, so one that finishes between
    /// the two reads is seen in one or the other (refs first could miss it in both).
    fn gc_roots(&self, roots: &[Digest]) -> Result<(Vec<PinsFile>, Vec<Digest>), StoreError> {
        let pins = pins::read_all(self.root())?;
        let mut stack: Vec<Digest> = pins.iter().filter(|p| p.stale.is_none()).flat_map(|p| p.digests.iter().copied()).collect();
        stack.extend(self.list_refs("")?.into_iter().map(|(_, d)| d));
        stack.extend_from_slice(roots);
        Ok((pins, stack))
    }

    fn mark(
        &self,
        stack: &mut Vec<Digest>,
        reachable: &mut BTreeSet<Digest>,
        children: &dyn Fn(&Digest, &[u8]) -> Result<Vec<Digest>, Refusal>,
        report: &mut GcReport,
    ) -> Result<(), StoreError> {
        while let Some(d) = stack.pop() {
            if !reachable.insert(d) {
                continue;
            }
            let path = self.object_path(&d);
            match fs::metadata(&path) {
                Ok(m) if m.len() <= MAX_PARSED => {
                    let bytes = match self.read(&d) {
                        Ok(b) => b,
                        Err(StoreError::NotFound(_)) => continue, // deleted since listed (by a --now gc beside us)
                        Err(e) => return Err(e),
                    };
                    let kids = children(&d, &bytes).map_err(|why| StoreError::GcRefused { object: d, why })?;
                    stack.extend(kids);
                }
                Ok(_) => {}
                Err(_) => report.missing.push(d),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RefExpect;

    #[test]
    fn keeps_the_reachable_and_deletes_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::init(dir.path()).unwrap();
        // Written by another handle, gone by the time gc runs (a handle's own puts are pinned).
        let w = Store::open(dir.path()).unwrap();
        let leaf = w.put_bytes(b"leaf").unwrap();
        // A "parent" object lists its children as hex lines.
        let parent = w.put_bytes(format!("{leaf}\n").as_bytes()).unwrap();
        let rooted = w.put_bytes(b"kept as an explicit root").unwrap();
        let junk = w.put_bytes(b"unreachable").unwrap();
        drop(w);
        s.update_ref("runs/p", RefExpect::Absent, Some(parent)).unwrap();
        let children = |_: &Digest, b: &[u8]| -> Result<Vec<Digest>, Refusal> {
            Ok(String::from_utf8_lossy(b).lines().filter_map(Digest::parse).collect())
        };
        let now = |dry_run| GcOptions { dry_run, keep_newer: Duration::ZERO };
        let dry = s.gc(&[rooted], &children, &now(true)).unwrap();
        assert_eq!(dry.removed, vec![(junk, 11)]);
        assert!(s.contains(&junk), "a dry run deletes nothing");
        let real = s.gc(&[rooted], &children, &now(false)).unwrap();
        assert_eq!(real.removed, vec![(junk, 11)]);
        assert_eq!(real.kept, 3);
        assert!(!s.contains(&junk));
        assert!(s.contains(&leaf) && s.contains(&parent) && s.contains(&rooted));
    }

    #[test]
    fn a_live_writers_objects_and_young_ones_are_kept_and_a_refusal_deletes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::init(dir.path()).unwrap();
        let none = |_: &Digest, _: &[u8]| -> Result<Vec<Digest>, Refusal> { Ok(vec![]) };
        let writer = Store::open(dir.path()).unwrap();
        let pinned = writer.put_bytes(b"being written by a live writer").unwrap();
        let found = {
            let other = Store::open(dir.path()).unwrap();
            other.put_bytes(b"found, not put").unwrap()
        };
        writer.pin(&[found]).unwrap();
        let opts = GcOptions { dry_run: false, keep_newer: Duration::ZERO };
        let r = s.gc(&[], &none, &opts).unwrap();
        assert!(r.removed.is_empty() && s.contains(&pinned) && s.contains(&found), "{r:?}");
        assert_eq!(r.live_pins, 1);
        drop(writer);
        let r = s.gc(&[], &none, &GcOptions { dry_run: false, keep_newer: Duration::from_secs(3600) }).unwrap();
        assert_eq!((r.removed.len(), r.young), (0, 2), "younger than the grace period");
        let refuse = |d: &Digest, _: &[u8]| -> Result<Vec<Digest>, Refusal> { Err(format!("unknown kind of {}", d.short(6))) };
        s.update_ref("x/y", crate::RefExpect::Absent, Some(pinned)).unwrap();
        let err = s.gc(&[], &refuse, &opts).unwrap_err();
        assert!(err.to_string().contains("gc deleted nothing") && err.to_string().contains("unknown kind of"), "{err}");
        assert!(s.contains(&found), "nothing deleted");
        let r = s.gc(&[], &none, &opts).unwrap();
        assert_eq!(r.removed.len(), 1, "unpinned, old enough and unreachable: {r:?}");
        assert!(!s.contains(&found) && s.contains(&pinned));
    }
}
