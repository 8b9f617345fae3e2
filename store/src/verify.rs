//! `verify`: rehash every object and report the corrupt ones, and which expected objects (ref
//! targets, plus any the caller names) are missing.

use crate::digest::Digest;
use crate::error::StoreError;
use crate::objects::{Store, hash_stream, read_dir_sorted};
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
    /// (name, digest its bytes actually have)
    pub corrupt: Vec<(Digest, Digest)>,
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
        for d in &objects {
            let path = self.object_path(d);
            let mut f = File::open(&path).map_err(StoreError::io("open", &path))?;
            let (n, actual) = hash_stream(&mut f, None).map_err(StoreError::io("read", &path))?;
            report.bytes += n;
            report.checked += 1;
            if actual != *d {
                report.corrupt.push((*d, actual));
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
        let r = s.verify(&[], &()).unwrap();
        assert_eq!(r.checked, 2);
        assert_eq!(r.corrupt, vec![(bad, Digest::of(&bytes))]);
        assert!(!r.ok());
        assert!(matches!(s.read_verified(&bad), Err(StoreError::Corrupt { .. })));
        assert_eq!(s.read_verified(&good).unwrap(), b"good bytes");
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
