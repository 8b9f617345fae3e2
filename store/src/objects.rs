//! Loose objects: streaming, atomic, create-if-absent writes through `tmp/` (a damaged object is
//! replaced), reads, and digest prefix resolution. A crash mid-write leaves at most a stray file in `tmp/`.

use crate::digest::{Digest, Hasher, hex_val};
use crate::error::StoreError;
use crate::pins::{GcLock, Pins};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::NamedTempFile;

const CHUNK: usize = 1 << 20;
/// Small files put in one call share one `syncfs` per batch rather than one fsync each.
const BATCH: usize = 64;

/// A store rooted at a directory. Every object a handle publishes is a temporary root of `gc`
/// until the handle (and its clones) drop: see [`crate::pins`].
#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
    pins: Arc<Pins>,
}

impl Store {
    /// Opens an existing store.
    pub fn open(root: impl AsRef<Path>) -> Result<Store, StoreError> {
        let root = root.as_ref().to_path_buf();
        let format_path = root.join("FORMAT");
        let found = match fs::read_to_string(&format_path) {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StoreError::NotAStore(root)),
            Err(e) => return Err(StoreError::Io { op: "read", path: format_path, source: e }),
        };
        if found.trim() != crate::FORMAT {
            return Err(StoreError::WrongFormat { path: root, found: found.trim().to_string() });
        }
        let pins = Arc::new(Pins::new(&root));
        Ok(Store { root, pins })
    }

    /// Opens the store at `root`, creating its layout first if the directory holds none.
    pub fn init(root: impl AsRef<Path>) -> Result<Store, StoreError> {
        let root = root.as_ref();
        for dir in ["objects/sha256", "refs", "tmp", "cache"] {
            let p = root.join(dir);
            fs::create_dir_all(&p).map_err(StoreError::io("create", &p))?;
        }
        let format_path = root.join("FORMAT");
        if !format_path.exists() {
            let mut f = NamedTempFile::new_in(root.join("tmp")).map_err(StoreError::io("create a file in", root.join("tmp")))?;
            writeln!(f, "{}", crate::FORMAT).map_err(StoreError::io("write", f.path().to_path_buf()))?;
            // Another process may create FORMAT at the same time; either copy is the same.
            let _ = f.persist_noclobber(&format_path);
        }
        Store::open(root)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Scratch space for callers (rebuildable; never holds objects).
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }

    pub(crate) fn objects_dir(&self) -> PathBuf {
        self.root.join("objects").join("sha256")
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Where the object `d` lives (whether or not it exists).
    pub fn object_path(&self, d: &Digest) -> PathBuf {
        let hex = d.hex();
        self.objects_dir().join(&hex[..2]).join(&hex[2..])
    }

    pub fn contains(&self, d: &Digest) -> bool {
        self.object_path(d).is_file()
    }

    /// Makes `digests` temporary roots of this handle: a writer that will refer to objects it
    /// found in the store rather than put calls this before it looks, so that `gc` cannot delete
    /// them in between.
    pub fn pin(&self, digests: &[Digest]) -> Result<(), StoreError> {
        let _shared = GcLock::shared(&self.root)?;
        self.pins.add(digests)
    }

    /// Stores bytes read from `r` (streamed: memory stays at one chunk), durably.
    pub fn put_reader(&self, r: impl Read) -> Result<Digest, StoreError> {
        let (tmp, digest) = self.write_tmp(r, "<input>")?;
        tmp.as_file().sync_all().map_err(StoreError::io("sync", tmp.path().to_path_buf()))?;
        if let Some(fan) = self.publish(tmp, &digest)? {
            sync_dir(&fan)?;
        }
        Ok(digest)
    }

    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Digest, StoreError> {
        self.put_reader(bytes)
    }

    pub fn put_file(&self, path: &Path) -> Result<Digest, StoreError> {
        let f = File::open(path).map_err(StoreError::io("open", path))?;
        self.put_reader(f)
    }

    /// Starts an object whose digest is promised by someone else (a remote, a peer): bytes are
    /// written under `tmp/` and published only by [`Incoming::finish`] when they hash to `expected`.
    pub fn incoming(&self, expected: Digest, from: &str) -> Result<Incoming<'_>, StoreError> {
        let tmp_dir = self.tmp_dir();
        let tmp = tempfile::Builder::new().prefix("in-").tempfile_in(&tmp_dir).map_err(StoreError::io("create a file in", &tmp_dir))?;
        Ok(Incoming { store: self, tmp, hasher: Hasher::new(), expected, from: from.to_string() })
    }

    /// Publishes files already under `tmp/` whose digests were computed while they were written
    /// (an unpacked bundle): one `syncfs` makes them durable, each is hard-linked into place
    /// (create-if-absent; a damaged object of that name is replaced), a second `syncfs` makes the
    /// links durable. Returns how many were new or repaired.
    pub(crate) fn adopt(&self, files: &[(Digest, PathBuf)]) -> Result<usize, StoreError> {
        self.sync_filesystem()?;
        let _shared = GcLock::shared(&self.root)?;
        self.pins.add(&files.iter().map(|(d, _)| *d).collect::<Vec<_>>())?;
        let mut new = 0;
        for (d, src) in files {
            let dest = self.object_path(d);
            if dest.is_file() {
                let size = fs::metadata(src).map_err(StoreError::io("stat", src))?.len();
                if intact(&dest, d, size).map_err(StoreError::io("read", &dest))? {
                    continue;
                }
                // A damaged copy is replaced by the verified one (an atomic rename over it).
                fs::set_permissions(src, fs::Permissions::from_mode(0o444)).map_err(StoreError::io("set read-only", src))?;
                fs::rename(src, &dest).map_err(StoreError::io("repair", &dest))?;
                new += 1;
                continue;
            }
            let fan = dest.parent().unwrap();
            if !fan.is_dir() {
                fs::create_dir_all(fan).map_err(StoreError::io("create", fan))?;
            }
            fs::set_permissions(src, fs::Permissions::from_mode(0o444)).map_err(StoreError::io("set read-only", src))?;
            match fs::hard_link(src, &dest) {
                Ok(()) => new += 1,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(StoreError::Io { op: "publish", path: dest, source: e }),
            }
        }
        self.sync_filesystem()?;
        Ok(new)
    }

    /// Stores many files; `done` is called with each file's digest once the object is durable
    /// and visible. A batch of files is made durable with one `syncfs` before it is published and
    /// its new directory entries with a second one after.
    pub fn put_files(
        &self,
        paths: impl IntoIterator<Item = PathBuf>,
        done: &mut dyn FnMut(&Path, Digest),
    ) -> Result<(), StoreError> {
        let mut batch: Vec<(PathBuf, NamedTempFile, Digest)> = Vec::with_capacity(BATCH);
        let mut paths = paths.into_iter().peekable();
        while let Some(path) = paths.next() {
            let f = File::open(&path).map_err(StoreError::io("open", &path))?;
            let (tmp, digest) = self.write_tmp(f, &path.display().to_string())?;
            batch.push((path, tmp, digest));
            if batch.len() == BATCH || paths.peek().is_none() {
                self.sync_filesystem()?;
                let mut published = Vec::with_capacity(batch.len());
                for (path, tmp, digest) in batch.drain(..) {
                    self.publish(tmp, &digest)?;
                    published.push((path, digest));
                }
                self.sync_filesystem()?;
                for (path, digest) in published {
                    done(&path, digest);
                }
            }
        }
        Ok(())
    }

    fn sync_filesystem(&self) -> Result<(), StoreError> {
        let dir = self.tmp_dir();
        let f = File::open(&dir).map_err(StoreError::io("open", &dir))?;
        // SAFETY: syncfs only reads the descriptor, which `f` keeps open for the call.
        if unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&f)) } != 0 {
            return Err(StoreError::Io { op: "syncfs", path: dir, source: io::Error::last_os_error() });
        }
        Ok(())
    }

    /// Copies `r` into a fresh file under `tmp/`, hashing while writing.
    fn write_tmp(&self, mut r: impl Read, what: &str) -> Result<(NamedTempFile, Digest), StoreError> {
        let tmp_dir = self.tmp_dir();
        let mut tmp = tempfile::Builder::new()
            .prefix("put-")
            .tempfile_in(&tmp_dir)
            .map_err(StoreError::io("create a file in", &tmp_dir))?;
        let mut hasher = Hasher::new();
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(StoreError::Io { op: "read", path: what.into(), source: e }),
            };
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n]).map_err(StoreError::io("write", tmp.path().to_path_buf()))?;
        }
        Ok((tmp, hasher.finish()))
    }

    /// Makes a durable temporary file the object `digest`, unless that object already exists.
    /// Returns the fan-out directory that gained an entry (the caller makes it durable).
    fn publish(&self, tmp: NamedTempFile, digest: &Digest) -> Result<Option<PathBuf>, StoreError> {
        let _shared = GcLock::shared(&self.root)?;
        self.pins.add(std::slice::from_ref(digest))?;
        let dest = self.object_path(digest);
        let fan = dest.parent().unwrap();
        if !fan.is_dir() {
            fs::create_dir_all(fan).map_err(StoreError::io("create", fan))?;
            sync_dir(&self.objects_dir())?;
        }
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o444))
            .map_err(StoreError::io("set read-only", tmp.path().to_path_buf()))?;
        match tmp.persist_noclobber(&dest) {
            Ok(_) => Ok(Some(fan.to_path_buf())),
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                // Someone stored the same bytes first: theirs is ours, unless theirs are damaged,
                // in which case these bytes repair the object (an atomic rename over it).
                let tmp = e.file;
                let size = tmp.as_file().metadata().map_err(StoreError::io("stat", tmp.path().to_path_buf()))?.len();
                if intact(&dest, digest, size).map_err(StoreError::io("read", &dest))? {
                    return Ok(None);
                }
                tmp.persist(&dest).map_err(|e| StoreError::Io { op: "repair", path: dest.clone(), source: e.error })?;
                Ok(Some(fan.to_path_buf()))
            }
            Err(e) => Err(StoreError::Io { op: "publish", path: dest, source: e.error }),
        }
    }

    /// Opens the object `d` for streaming reads.
    pub fn open_object(&self, d: &Digest) -> Result<File, StoreError> {
        let p = self.object_path(d);
        File::open(&p).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::NotFound(*d),
            _ => StoreError::Io { op: "open", path: p, source: e },
        })
    }

    /// Reads a whole object (for small objects: records, specs, summaries).
    pub fn read(&self, d: &Digest) -> Result<Vec<u8>, StoreError> {
        let mut f = self.open_object(d)?;
        let mut out = Vec::new();
        f.read_to_end(&mut out).map_err(StoreError::io("read", self.object_path(d)))?;
        Ok(out)
    }

    /// Reads a whole object and checks its digest.
    pub fn read_verified(&self, d: &Digest) -> Result<Vec<u8>, StoreError> {
        let bytes = self.read(d)?;
        let actual = Digest::of(&bytes);
        if actual != *d {
            return Err(StoreError::Corrupt { expected: *d, actual });
        }
        Ok(bytes)
    }

    /// Streams an object into `w`, checking its digest; returns the byte count.
    /// `w` has seen the bytes even when the check fails, so write to a temporary place.
    pub fn copy_verified(&self, d: &Digest, mut w: impl Write) -> Result<u64, StoreError> {
        let mut f = self.open_object(d)?;
        let (n, actual) = hash_stream(&mut f, Some(&mut w)).map_err(StoreError::io("copy", self.object_path(d)))?;
        if actual != *d {
            return Err(StoreError::Corrupt { expected: *d, actual });
        }
        Ok(n)
    }

    /// Every object digest in the store, sorted.
    pub fn list(&self) -> Result<Vec<Digest>, StoreError> {
        let mut out = Vec::new();
        let dir = self.objects_dir();
        for fan in read_dir_sorted(&dir)? {
            let Some(fan_name) = fan.file_name().and_then(|n| n.to_str()).map(str::to_owned) else { continue };
            if fan_name.len() != 2 || !fan.is_dir() {
                continue;
            }
            for obj in read_dir_sorted(&fan)? {
                if let Some(d) = obj.file_name().and_then(|n| n.to_str()).and_then(|n| Digest::parse(&format!("{fan_name}{n}"))) {
                    out.push(d);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Resolves a unique prefix of at least 6 hex digits to the one object it names.
    pub fn resolve(&self, prefix: &str) -> Result<Digest, StoreError> {
        let p = prefix.trim().to_ascii_lowercase();
        if p.len() < 6 || p.len() > 64 || !p.bytes().all(|c| hex_val(c).is_some()) {
            return Err(StoreError::BadPrefix(prefix.to_string()));
        }
        if let Some(d) = Digest::parse(&p) {
            return if self.contains(&d) { Ok(d) } else { Err(StoreError::NotFound(d)) };
        }
        let fan = self.objects_dir().join(&p[..2]);
        let mut candidates: Vec<Digest> = match fs::read_dir(&fan) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .filter(|n| n.starts_with(&p[2..]))
                .filter_map(|n| Digest::parse(&format!("{}{}", &p[..2], n)))
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(StoreError::Io { op: "list", path: fan, source: e }),
        };
        candidates.sort();
        match candidates.len() {
            0 => Err(StoreError::PrefixNotFound(p)),
            1 => Ok(candidates[0]),
            _ => Err(StoreError::Ambiguous { prefix: p, candidates }),
        }
    }
}

/// True when the file at `path` holds exactly the `size` bytes that hash to `d`.
pub(crate) fn intact(path: &Path, d: &Digest, size: u64) -> io::Result<bool> {
    if fs::metadata(path)?.len() != size {
        return Ok(false);
    }
    Ok(hash_stream(&mut File::open(path)?, None)?.1 == *d)
}

/// Reads `r` to the end, optionally copying into `w`; returns the length and digest.
pub(crate) fn hash_stream(r: &mut impl Read, mut w: Option<&mut dyn Write>) -> io::Result<(u64, Digest)> {
    let mut hasher = Hasher::new();
    // Small enough that streaming thousands of small objects does not spend its time zeroing it.
    let mut buf = vec![0u8; 256 << 10];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        if let Some(w) = w.as_deref_mut() {
            w.write_all(&buf[..n])?;
        }
        total += n as u64;
    }
    Ok((total, hasher.finish()))
}

pub(crate) fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut out: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok()).map(|e| e.path()).collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(StoreError::Io { op: "list", path: dir.to_path_buf(), source: e }),
    };
    out.sort();
    Ok(out)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(StoreError::io("sync", dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::init(dir.path()).unwrap();
        (dir, s)
    }

    #[test]
    fn put_is_idempotent_and_objects_are_read_only() {
        let (_d, s) = store();
        let a = s.put_bytes(b"hello").unwrap();
        let b = s.put_bytes(b"hello").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, Digest::of(b"hello"));
        assert_eq!(s.read_verified(&a).unwrap(), b"hello");
        let mode = fs::metadata(s.object_path(&a)).unwrap().permissions().mode();
        assert_eq!(mode & 0o222, 0, "objects are read-only");
        assert_eq!(fs::read_dir(s.tmp_dir()).unwrap().count(), 0, "tmp is empty after puts");
    }

    #[test]
    fn open_refuses_a_directory_that_is_not_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let err = Store::open(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::NotAStore(_)), "{err}");
    }

    #[test]
    fn ambiguous_prefixes_list_every_candidate() {
        let (_d, s) = store();
        // Two contents whose digests share their first 6 hex digits (found by search, ~2^12 tries).
        let mut seen = std::collections::HashMap::new();
        let (x, y) = (0u32..)
            .find_map(|i| {
                let d = Digest::of(&i.to_le_bytes());
                seen.insert(d.short(6), i).map(|j| (j, i))
            })
            .unwrap();
        let dx = s.put_bytes(&x.to_le_bytes()).unwrap();
        let dy = s.put_bytes(&y.to_le_bytes()).unwrap();
        let err = s.resolve(&dx.short(6)).unwrap_err();
        match &err {
            StoreError::Ambiguous { candidates, .. } => {
                let mut want = vec![dx, dy];
                want.sort();
                assert_eq!(candidates, &want);
            }
            other => panic!("expected ambiguity, got {other}"),
        }
        let msg = err.to_string();
        assert!(msg.contains(&dx.short(16)) && msg.contains(&dy.short(16)), "{msg}");
        assert_eq!(s.resolve(&dx.short(20)).unwrap(), dx);
        assert!(matches!(s.resolve("abc"), Err(StoreError::BadPrefix(_))));
        assert!(matches!(s.resolve("zzzzzz"), Err(StoreError::BadPrefix(_))));
    }

    #[test]
    fn put_files_reports_each_durable_object() {
        let (d, s) = store();
        let mut paths = Vec::new();
        for i in 0..3 {
            let p = d.path().join(format!("f{i}"));
            fs::write(&p, format!("content {i}")).unwrap();
            paths.push(p);
        }
        let mut got = Vec::new();
        s.put_files(paths.clone(), &mut |p, dg| got.push((p.to_path_buf(), dg))).unwrap();
        assert_eq!(got.len(), 3);
        for (p, dg) in got {
            assert_eq!(s.read_verified(&dg).unwrap(), fs::read(p).unwrap());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn round_trip_and_unique_prefixes(blobs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 1..8)) {
            let (_d, s) = store();
            for b in &blobs {
                let dg = s.put_bytes(b).unwrap();
                prop_assert_eq!(&s.read_verified(&dg).unwrap(), b);
                prop_assert_eq!(s.resolve(&dg.short(12)).unwrap(), dg);
                prop_assert_eq!(s.resolve(&dg.hex()).unwrap(), dg);
            }
            let mut want: Vec<Digest> = blobs.iter().map(|b| Digest::of(b)).collect();
            want.sort();
            want.dedup();
            prop_assert_eq!(s.list().unwrap(), want);
        }
    }
}

/// An object on its way in from an untrusted source: hashed while written, published only when
/// its bytes are the promised ones; dropped unfinished, it leaves nothing.
pub struct Incoming<'s> {
    store: &'s Store,
    tmp: NamedTempFile,
    hasher: Hasher,
    expected: Digest,
    from: String,
}

impl Incoming<'_> {
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        self.hasher.update(bytes);
        self.tmp.write_all(bytes).map_err(StoreError::io("write", self.tmp.path().to_path_buf()))
    }

    /// Publishes the object if its bytes hash to the promised digest; otherwise discards them
    /// and returns `Untrusted`.
    pub fn finish(self) -> Result<Digest, StoreError> {
        let actual = self.hasher.finish();
        if actual != self.expected {
            return Err(StoreError::Untrusted { from: self.from, expected: self.expected, actual });
        }
        self.tmp.as_file().sync_all().map_err(StoreError::io("sync", self.tmp.path().to_path_buf()))?;
        if let Some(fan) = self.store.publish(self.tmp, &actual)? {
            sync_dir(&fan)?;
        }
        Ok(actual)
    }
}
