//! `gc`: keep every object reachable from refs and the caller's roots, delete the rest.
//! The store cannot read records, so the caller says which objects an object refers to.

use crate::digest::Digest;
use crate::error::StoreError;
use crate::objects::{Store, read_dir_sorted};
use std::collections::BTreeSet;
use std::fs;
use std::time::{Duration, SystemTime};

/// Objects larger than this are leaves: they are never read to look for references.
const MAX_PARSED: u64 = 16 << 20;
/// Files in `tmp/` older than this belong to writers that died; younger ones may be in use.
const TMP_GRACE: Duration = Duration::from_secs(3600);

/// What `gc` kept and deleted (or would delete, on a dry run).
#[derive(Debug, Default)]
pub struct GcReport {
    pub kept: usize,
    /// (object, size in bytes), sorted.
    pub removed: Vec<(Digest, u64)>,
    pub freed: u64,
    /// Reachable digests that are not in the store.
    pub missing: Vec<Digest>,
    pub tmp_removed: usize,
    pub dry_run: bool,
}

impl Store {
    /// Collects garbage. `roots` are kept besides every ref's target; `children(d, bytes)` returns
    /// the objects that object `d` refers to. Do not run it beside writers that have not yet
    /// published their refs.
    pub fn gc(
        &self,
        roots: &[Digest],
        children: &dyn Fn(&Digest, &[u8]) -> Vec<Digest>,
        dry_run: bool,
    ) -> Result<GcReport, StoreError> {
        let mut stack: Vec<Digest> = self.list_refs("")?.into_iter().map(|(_, d)| d).collect();
        stack.extend_from_slice(roots);
        let mut reachable = BTreeSet::new();
        let mut report = GcReport { dry_run, ..GcReport::default() };
        while let Some(d) = stack.pop() {
            if !reachable.insert(d) {
                continue;
            }
            let path = self.object_path(&d);
            match fs::metadata(&path) {
                Ok(m) if m.len() <= MAX_PARSED => stack.extend(children(&d, &self.read(&d)?)),
                Ok(_) => {}
                Err(_) => report.missing.push(d),
            }
        }
        for d in self.list()? {
            if reachable.contains(&d) {
                report.kept += 1;
                continue;
            }
            let path = self.object_path(&d);
            let size = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if !dry_run {
                fs::remove_file(&path).map_err(StoreError::io("delete", &path))?;
            }
            report.freed += size;
            report.removed.push((d, size));
        }
        let now = SystemTime::now();
        for tmp in read_dir_sorted(&self.tmp_dir())? {
            let old = fs::metadata(&tmp)
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > TMP_GRACE);
            if old {
                if !dry_run {
                    fs::remove_file(&tmp).map_err(StoreError::io("delete", &tmp))?;
                }
                report.tmp_removed += 1;
            }
        }
        report.missing.sort();
        Ok(report)
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
        let leaf = s.put_bytes(b"leaf").unwrap();
        // A "parent" object lists its children as hex lines.
        let parent = s.put_bytes(format!("{leaf}\n").as_bytes()).unwrap();
        let rooted = s.put_bytes(b"kept as an explicit root").unwrap();
        let junk = s.put_bytes(b"unreachable").unwrap();
        s.update_ref("runs/p", RefExpect::Absent, Some(parent)).unwrap();
        let children = |_: &Digest, b: &[u8]| -> Vec<Digest> {
            String::from_utf8_lossy(b).lines().filter_map(Digest::parse).collect()
        };
        let dry = s.gc(&[rooted], &children, true).unwrap();
        assert_eq!(dry.removed, vec![(junk, 11)]);
        assert!(s.contains(&junk), "a dry run deletes nothing");
        let real = s.gc(&[rooted], &children, false).unwrap();
        assert_eq!(real.removed, vec![(junk, 11)]);
        assert_eq!(real.kept, 3);
        assert!(!s.contains(&junk));
        assert!(s.contains(&leaf) && s.contains(&parent) && s.contains(&rooted));
    }
}
