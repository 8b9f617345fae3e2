//! `verify`: rehash every object, move the corrupt ones aside to `quarantine/` (so that any later
//! put, import, pull or rerun of those bytes restores them), and report which expected objects
//! (ref targets, plus any the caller names) are missing.

use crate::digest::Digest;
use crate::error::StoreError;
use crate::objects::{Store, hash_stream, read_dir_sorted, sync_dir};
use crate::pins::GcLock;
use std::collections::BTreeSet;
use std::fs::File;
use std::path::PathBuf;

/// Receives progress of long store work (the binary draws a bar).
pub trait Progress {
    fn start(&self, what: &str, total: u64);
    fn advance(&self, n: u64);
}

impl Progress for () {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
}

/// What `verify` found.
#[derive(Debug, Default)]
pub struct VerifyReport {
    pub checked: usize,
    pub bytes: u64,
    /// (name, digest its bytes actually have, where the damaged file was moved)
    pub corrupt: Vec<(Digest, Digest, PathBuf)>,
    /// Files in `quarantine/` from earlier runs of verify: (file, whether its object has since
    /// been restored). Never deleted by Reprise: the user looks and deletes them.
    pub quarantined_before: Vec<(PathBuf, bool)>,
    /// (digest, who expects it)
    pub missing: Vec<(Digest, String)>,
    /// Files under `objects/` whose names are not digests.
    pub stray: Vec<PathBuf>,
    /// Leftovers of interrupted writes in `tmp/` (harmless; `gc` removes old ones).
    pub tmp_files: usize,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.corrupt.is_empty() && self.missing.is_empty() && self.stray.is_empty()
    }
}

impl Store {
    /// Rehashes every object. `expected` names objects that must exist, with who expects them;
    /// every ref's target is expected too.
    pub fn verify(&self, expected: &[(Digest, String)], progress: &dyn Progress) -> Result<VerifyReport, StoreError> {
        let mut report = VerifyReport::default();
        let objects = self.list()?;
        progress.start("verifying objects", objects.len() as u64);
        report.quarantined_before = self.quarantined()?;
        for d in &objects {
            let path = self.object_path(d);
            let mut f = File::open(&path).map_err(StoreError::io("open", &path))?;
            let (n, actual) = hash_stream(&mut f, None).map_err(StoreError::io("read", &path))?;
            report.bytes += n;
            report.checked += 1;
            if actual != *d
                && let Some(moved) = self.quarantine(d)?
            {
                report.corrupt.push((*d, actual, moved));
            }
            progress.advance(1);
        }
        for fan in read_dir_sorted(&self.objects_dir())? {
            let fan_name = fan.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let entries = if fan.is_dir() { read_dir_sorted(&fan)? } else { vec![fan.clone()] };
            for e in entries {
                let name = e.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if e == fan || Digest::parse(&format!("{fan_name}{name}")).is_none() {
                    report.stray.push(e);
                }
            }
        }
        let present: BTreeSet<Digest> = objects.into_iter().collect();
        let mut want: Vec<(Digest, String)> =
            self.list_refs("")?.into_iter().map(|(name, d)| (d, format!("ref {name}"))).collect();
        want.extend(expected.iter().cloned());
        want.sort();
        want.dedup();
        report.missing = want.into_iter().filter(|(d, _)| !present.contains(d)).collect();
        report.tmp_files = read_dir_sorted(&self.tmp_dir())?.len();
        Ok(report)
    }
}

impl Store {
    fn quarantine_dir(&self) -> PathBuf {
        self.root().join("quarantine")
    }

    /// Moves the object file `d` to `quarantine/<hex>` when its bytes are (still, under gc's
    /// exclusive lock, so that no writer is repairing it meanwhile) not the ones its name promises.
    /// Returns where it went, or None when it had been repaired.
    fn quarantine(&self, d: &Digest) -> Result<Option<PathBuf>, StoreError> {
        let _exclusive = GcLock::exclusive(self.root())?;
        let path = self.object_path(d);
        let mut f = File::open(&path).map_err(StoreError::io("open", &path))?;
        if hash_stream(&mut f, None).map_err(StoreError::io("read", &path))?.1 == *d {
            return Ok(None);
        }
        let dir = self.quarantine_dir();
        std::fs::create_dir_all(&dir).map_err(StoreError::io("create", &dir))?;
        let mut dest = dir.join(d.hex());
        let mut n = 1;
        while dest.exists() {
            dest = dir.join(format!("{}.{n}", d.hex()));
            n += 1;
        }
        std::fs::rename(&path, &dest).map_err(StoreError::io("move aside", &path))?;
        sync_dir(&dir)?;
        sync_dir(path.parent().unwrap())?;
        Ok(Some(dest))
    }

    /// The files in `quarantine/`, each with whether the object it was named after is back.
    pub fn quarantined(&self) -> Result<Vec<(PathBuf, bool)>, StoreError> {
        Ok(read_dir_sorted(&self.quarantine_dir())?
            .into_iter()
            .map(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let back = Digest::parse(name.split('.').next().unwrap_or("")).is_some_and(|d| self.contains(&d));
                (p, back)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RefExpect;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_flipped_byte_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::init(dir.path()).unwrap();
        let good = s.put_bytes(b"good bytes").unwrap();
        let bad = s.put_bytes(b"bytes to be damaged").unwrap();
        assert!(s.verify(&[], &()).unwrap().ok());
        let p = s.object_path(&bad);
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        let mut bytes = fs::read(&p).unwrap();
        bytes[3] ^= 0x01;
        fs::write(&p, &bytes).unwrap();
        assert!(matches!(s.read_verified(&bad), Err(StoreError::Corrupt { .. })));
        let r = s.verify(&[], &()).unwrap();
        assert_eq!(r.checked, 2);
        let moved = dir.path().join("quarantine").join(bad.hex());
        assert_eq!(r.corrupt, vec![(bad, Digest::of(&bytes), moved.clone())]);
        assert!(!r.ok());
        assert_eq!(fs::read(&moved).unwrap(), bytes, "the damaged bytes are kept, not deleted");
        assert!(!s.contains(&bad));
        assert_eq!(s.read_verified(&good).unwrap(), b"good bytes");
        // The next put of those bytes restores the object; the quarantined file stays, marked.
        assert_eq!(s.put_bytes(b"bytes to be damaged").unwrap(), bad);
        let r = s.verify(&[], &()).unwrap();
        assert!(r.ok());
        assert_eq!(r.quarantined_before, vec![(moved, true)]);
    }

    #[test]
    fn a_put_replaces_a_damaged_object_of_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::init(dir.path()).unwrap();
        let d = s.put_bytes(b"some bytes").unwrap();
        let p = s.object_path(&d);
        for damage in [&b"some bytes!"[..], &b"some bytez"[..]] {
            fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
            fs::write(&p, damage).unwrap();
            assert_eq!(s.put_bytes(b"some bytes").unwrap(), d);
            assert_eq!(s.read_verified(&d).unwrap(), b"some bytes");
        }
    }

    #[test]
    fn missing_ref_targets_and_expected_objects_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::init(dir.path()).unwrap();
        let gone = Digest::of(b"never stored");
        s.update_ref("runs/a", RefExpect::Absent, Some(gone)).unwrap();
        let other = Digest::of(b"also absent");
        let r = s.verify(&[(other, "record x".into())], &()).unwrap();
        let mut want = vec![(gone, "ref runs/a".to_string()), (other, "record x".to_string())];
        want.sort();
        assert_eq!(r.missing, want);
    }
}
