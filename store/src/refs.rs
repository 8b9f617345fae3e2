//! Refs: mutable names under `refs/` that point at objects, updated by compare-and-swap through a
//! `.lock` file and an atomic rename, so concurrent writers never lose an update silently.

use crate::digest::Digest;
use crate::error::StoreError;
use crate::objects::{Store, read_dir_sorted, sync_dir};
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a ref must hold for an update to go through.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RefExpect {
    /// Whatever it holds.
    Any,
    /// It must not exist.
    Absent,
    /// It must point at this object.
    Is(Digest),
}

/// Waits this long in total for another writer's lock before giving up.
const LOCK_PATIENCE: Duration = Duration::from_secs(5);

impl Store {
    fn ref_path(&self, name: &str) -> Result<PathBuf, StoreError> {
        let ok = !name.is_empty()
            && name.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && !seg.ends_with(".lock")
                    && seg.bytes().all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
            });
        if !ok {
            return Err(StoreError::BadRefName(name.to_string()));
        }
        Ok(self.root().join("refs").join(name))
    }

    /// The object `name` points at, if the ref exists.
    pub fn read_ref(&self, name: &str) -> Result<Option<Digest>, StoreError> {
        let path = self.ref_path(name)?;
        match fs::read_to_string(&path) {
            Ok(s) => Digest::parse(s.trim())
                .map(Some)
                .ok_or_else(|| StoreError::BadRef { name: name.to_string(), content: s.trim().to_string() }),
            Err(e) if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory => Ok(None),
            Err(e) => Err(StoreError::Io { op: "read", path, source: e }),
        }
    }

    /// Sets (`Some`) or deletes (`None`) the ref `name`, if it currently holds what `expect` says.
    pub fn update_ref(&self, name: &str, expect: RefExpect, new: Option<Digest>) -> Result<(), StoreError> {
        let path = self.ref_path(name)?;
        let dir = path.parent().unwrap().to_path_buf();
        fs::create_dir_all(&dir).map_err(StoreError::io("create", &dir))?;
        let lock = path.with_file_name(format!("{}.lock", path.file_name().unwrap().to_string_lossy()));
        let mut file = acquire(&lock, name)?;
        let mut renamed = false;
        let result = (|| {
            let current = self.read_ref(name)?;
            let ok = match expect {
                RefExpect::Any => true,
                RefExpect::Absent => current.is_none(),
                RefExpect::Is(d) => current == Some(d),
            };
            if !ok {
                return Err(StoreError::RefConflict {
                    name: name.to_string(),
                    expected: match expect {
                        RefExpect::Is(d) => d.hex(),
                        _ => "no ref".into(),
                    },
                    found: current.map(|d| d.hex()).unwrap_or_else(|| "no ref".into()),
                });
            }
            match new {
                Some(d) => {
                    writeln!(file, "{d}").and_then(|_| file.sync_all()).map_err(StoreError::io("write", &lock))?;
                    fs::rename(&lock, &path).map_err(StoreError::io("rename", &lock))?;
                    renamed = true;
                }
                None => match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::Io { op: "delete", path: path.clone(), source: e }),
                },
            }
            sync_dir(&dir)
        })();
        // Once renamed, the lock path may already be another writer's lock: never delete it then.
        if !renamed {
            let _ = fs::remove_file(&lock);
        }
        result
    }

    /// Every ref under `prefix` (e.g. `runs`), with its target, sorted by name.
    pub fn list_refs(&self, prefix: &str) -> Result<Vec<(String, Digest)>, StoreError> {
        let base = self.root().join("refs");
        let start = if prefix.is_empty() { base.clone() } else { self.ref_path(prefix)? };
        let mut out = Vec::new();
        walk(&base, &start, &mut |name| {
            if let Some(d) = self.read_ref(&name)? {
                out.push((name, d));
            }
            Ok(())
        })?;
        out.sort();
        Ok(out)
    }
}

fn acquire(lock: &Path, name: &str) -> Result<fs::File, StoreError> {
    let mut waited = Duration::ZERO;
    let mut pause = Duration::from_millis(1);
    loop {
        match OpenOptions::new().write(true).create_new(true).open(lock) {
            Ok(f) => return Ok(f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && waited < LOCK_PATIENCE => {
                std::thread::sleep(pause);
                waited += pause;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(StoreError::RefLocked { name: name.to_string(), lock: lock.to_path_buf() });
            }
            Err(e) => return Err(StoreError::Io { op: "lock", path: lock.to_path_buf(), source: e }),
        }
    }
}

fn walk(base: &Path, dir: &Path, f: &mut dyn FnMut(String) -> Result<(), StoreError>) -> Result<(), StoreError> {
    if dir.is_file() {
        let rel = dir.strip_prefix(base).unwrap().to_string_lossy().into_owned();
        return f(rel);
    }
    for entry in read_dir_sorted(dir)? {
        if entry.extension().is_some_and(|e| e == "lock") {
            continue;
        }
        walk(base, &entry, f)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_and_swap() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::init(dir.path()).unwrap();
        let a = s.put_bytes(b"a").unwrap();
        let b = s.put_bytes(b"b").unwrap();
        s.update_ref("runs/x", RefExpect::Absent, Some(a)).unwrap();
        assert_eq!(s.read_ref("runs/x").unwrap(), Some(a));
        assert!(matches!(s.update_ref("runs/x", RefExpect::Absent, Some(b)), Err(StoreError::RefConflict { .. })));
        assert!(matches!(s.update_ref("runs/x", RefExpect::Is(b), Some(b)), Err(StoreError::RefConflict { .. })));
        s.update_ref("runs/x", RefExpect::Is(a), Some(b)).unwrap();
        assert_eq!(s.list_refs("runs").unwrap(), vec![("runs/x".to_string(), b)]);
        s.update_ref("runs/x", RefExpect::Is(b), None).unwrap();
        assert_eq!(s.read_ref("runs/x").unwrap(), None);
        assert!(matches!(s.update_ref("../escape", RefExpect::Any, Some(a)), Err(StoreError::BadRefName(_))));
    }

    #[test]
    fn concurrent_increments_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::init(dir.path()).unwrap();
        let digests: Vec<Digest> = (0..=80u32).map(|i| s.put_bytes(&i.to_le_bytes()).unwrap()).collect();
        s.update_ref("counter", RefExpect::Absent, Some(digests[0])).unwrap();
        std::thread::scope(|sc| {
            for _ in 0..4 {
                sc.spawn(|| {
                    let mut done = 0;
                    while done < 20 {
                        let cur = s.read_ref("counter").unwrap().unwrap();
                        let i = digests.iter().position(|d| *d == cur).unwrap();
                        if s.update_ref("counter", RefExpect::Is(cur), Some(digests[i + 1])).is_ok() {
                            done += 1;
                        }
                    }
                });
            }
        });
        assert_eq!(s.read_ref("counter").unwrap(), Some(digests[80]));
    }
}
