//! Bundles, the container: one zstd-compressed tar holding `FORMAT`, objects (`objects/<hex>`),
//! named metadata files (`meta/<name>`) and a `SHA256SUMS` over all of them. Written as a stream;
//! read as untrusted input: every entry is checked and unpacked under the store's `tmp/` before
//! anything is kept.

use crate::objects::hash_stream;
use crate::{Digest, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The first entry of every bundle, and its whole content.
pub const BUNDLE_FORMAT: &str = "reprise-bundle 1\n";

/// Caps on what an untrusted bundle may expand to, checked before each entry is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Total bytes of all entries once decompressed.
    pub max_expanded: u64,
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_expanded: 64 << 30, max_entries: 1_000_000 }
    }
}

/// What is wrong with a bundle (or with writing one), naming the entry.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{op}: {source}")]
    Io { op: String, source: io::Error },
    #[error("the bundle is not a zstd-compressed tar, or it is truncated: {0}")]
    Container(String),
    #[error("entry `{name}` is refused: {why}")]
    Entry { name: String, why: String },
    #[error("the bundle's FORMAT is `{0}`; this build reads `reprise-bundle 1`")]
    Format(String),
    #[error("entry `{0}` appears twice")]
    Duplicate(String),
    #[error("entry `{name}` hashes to {actual}, but {claim} says {expected}")]
    Digest { name: String, expected: String, actual: String, claim: &'static str },
    #[error("SHA256SUMS {0}")]
    Sums(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the bundle expands past the limit of {limit} {what} (at entry `{name}`); nothing was kept. If you trust its sender, raise the limit (--max-expanded / --max-entries)")]
    TooLarge { what: &'static str, limit: u64, name: String },
}

fn io_err(op: impl Into<String>) -> impl FnOnce(io::Error) -> BundleError {
    let op = op.into();
    move |source| BundleError::Io { op, source }
}

/// What an entry name means: only these forms exist in a bundle.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Name {
    Format,
    Sums,
    Object(Digest),
    Meta(String),
}

fn meta_name_ok(n: &str) -> bool {
    !n.is_empty() && n.len() <= 100 && !n.starts_with('.') && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn parse_name(raw: &str) -> Result<Name, String> {
    match raw {
        "FORMAT" => return Ok(Name::Format),
        "SHA256SUMS" => return Ok(Name::Sums),
        _ => {}
    }
    if let Some(hex) = raw.strip_prefix("objects/") {
        return Digest::parse(hex).filter(|d| d.hex() == hex).map(Name::Object).ok_or_else(|| "an object's name must be 64 lowercase hex digits".to_string());
    }
    if let Some(m) = raw.strip_prefix("meta/")
        && meta_name_ok(m)
    {
        return Ok(Name::Meta(m.to_string()));
    }
    Err("not a name a bundle may hold (FORMAT, SHA256SUMS, objects/<hex>, meta/<name>); absolute paths, `..` and folders are refused".into())
}

fn name_text(n: &Name) -> String {
    match n {
        Name::Format => "FORMAT".into(),
        Name::Sums => "SHA256SUMS".into(),
        Name::Object(d) => format!("objects/{}", d.hex()),
        Name::Meta(m) => format!("meta/{m}"),
    }
}

/// Writes a bundle into `W` as a stream: memory holds one chunk of one entry at a time.
pub struct BundleWriter<W: Write> {
    tar: tar::Builder<zstd::stream::write::Encoder<'static, W>>,
    sums: BTreeMap<String, Digest>,
}

impl<W: Write> BundleWriter<W> {
    pub fn new(w: W) -> Result<Self, BundleError> {
        let enc = zstd::stream::write::Encoder::new(w, 3).map_err(io_err("starting zstd"))?;
        let mut b = BundleWriter { tar: tar::Builder::new(enc), sums: BTreeMap::new() };
        b.entry(Name::Format, BUNDLE_FORMAT.len() as u64, BUNDLE_FORMAT.as_bytes())?;
        Ok(b)
    }

    fn entry(&mut self, name: Name, size: u64, r: impl Read) -> Result<Digest, BundleError> {
        let text = name_text(&name);
        if self.sums.contains_key(&text) {
            return Err(BundleError::Duplicate(text));
        }
        let mut h = tar::Header::new_ustar();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        let mut hr = HashingReader { inner: r, hasher: crate::Hasher::new() };
        self.tar.append_data(&mut h, &text, &mut hr).map_err(io_err(format!("writing {text}")))?;
        let d = hr.hasher.finish();
        self.sums.insert(text, d);
        Ok(d)
    }

    /// Adds the object `d`, streamed from the store; fails (leaving the output unusable) when the
    /// stored bytes do not hash to `d`.
    pub fn add_object(&mut self, store: &Store, d: &Digest) -> Result<u64, BundleError> {
        let f = store.open_object(d)?;
        let size = f.metadata().map_err(io_err(format!("reading object {}", d.short(12))))?.len();
        let got = self.entry(Name::Object(*d), size, f)?;
        if got != *d {
            return Err(StoreError::Corrupt { expected: *d, actual: got }.into());
        }
        Ok(size)
    }

    /// Adds `meta/<name>` from a reader of `size` bytes.
    pub fn add_meta(&mut self, name: &str, size: u64, r: impl Read) -> Result<(), BundleError> {
        if !meta_name_ok(name) {
            return Err(BundleError::Invalid(format!("`{name}` is not a valid metadata name")));
        }
        self.entry(Name::Meta(name.into()), size, r).map(|_| ())
    }

    /// Writes `SHA256SUMS` and closes the tar and the compressor; returns the writer.
    pub fn finish(mut self) -> Result<W, BundleError> {
        let sums: String = self.sums.iter().map(|(n, d)| format!("{}  {n}\n", d.hex())).collect();
        let mut h = tar::Header::new_ustar();
        h.set_size(sums.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        self.tar.append_data(&mut h, "SHA256SUMS", sums.as_bytes()).map_err(io_err("writing SHA256SUMS"))?;
        let enc = self.tar.into_inner().map_err(io_err("closing the tar"))?;
        enc.finish().map_err(io_err("closing zstd"))
    }
}

struct HashingReader<R> {
    inner: R,
    hasher: crate::Hasher,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// A bundle unpacked and checked under the store's `tmp/` (removed on drop): every entry's bytes
/// match `SHA256SUMS`, every object its name. Nothing is in the store until `publish_objects`.
pub struct Unpacked {
    dir: tempfile::TempDir,
    pub objects: BTreeMap<Digest, PathBuf>,
    pub meta: BTreeMap<String, PathBuf>,
}

impl Unpacked {
    pub fn meta_bytes(&self, name: &str) -> Result<Vec<u8>, BundleError> {
        let p = self.meta.get(name).ok_or_else(|| BundleError::Invalid(format!("the bundle has no meta/{name}")))?;
        std::fs::read(p).map_err(io_err(format!("reading meta/{name}")))
    }

    pub fn object_bytes(&self, d: &Digest) -> Result<Vec<u8>, BundleError> {
        let p = self.objects.get(d).ok_or_else(|| BundleError::Invalid(format!("the bundle has no object {}", d.short(12))))?;
        std::fs::read(p).map_err(io_err(format!("reading object {}", d.short(12))))
    }

    /// Publishes every object into the store (create-if-absent; each digest was checked while
    /// it was unpacked, into the store's own `tmp/`). Returns how many were new.
    pub fn publish_objects(&self, store: &Store) -> Result<usize, BundleError> {
        let files: Vec<(Digest, PathBuf)> = self.objects.iter().map(|(d, p)| (*d, p.clone())).collect();
        Ok(store.adopt(&files)?)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Unpacks an untrusted bundle: regular files only, names of the allowed forms, no duplicates,
/// sizes as declared, then `FORMAT`, `SHA256SUMS` (exactly the entries, each digest right) and
/// every object's name checked. Any problem is an error naming the entry; nothing is kept.
pub fn unpack(store: &Store, r: impl Read) -> Result<Unpacked, BundleError> {
    unpack_with(store, r, Limits::default())
}

/// `unpack` with caps on the expanded size and the number of entries.
pub fn unpack_with(store: &Store, r: impl Read, limits: Limits) -> Result<Unpacked, BundleError> {
    let tmp = store.root().join("tmp");
    std::fs::create_dir_all(&tmp).map_err(io_err(format!("creating {}", tmp.display())))?;
    let dir = tempfile::Builder::new().prefix("bundle-").tempdir_in(&tmp).map_err(io_err("creating a scratch folder"))?;
    std::fs::create_dir(dir.path().join("objects")).map_err(io_err("creating a scratch folder"))?;
    std::fs::create_dir(dir.path().join("meta")).map_err(io_err("creating a scratch folder"))?;
    let dec = zstd::stream::read::Decoder::new(r).map_err(|e| BundleError::Container(e.to_string()))?;
    let mut ar = tar::Archive::new(dec);
    let mut seen: BTreeMap<Name, (Digest, PathBuf)> = BTreeMap::new();
    let mut raw_names: BTreeSet<String> = BTreeSet::new();
    let mut expanded = 0u64;
    for entry in ar.entries().map_err(|e| BundleError::Container(e.to_string()))? {
        let mut e = entry.map_err(|e| BundleError::Container(e.to_string()))?;
        let raw = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let kind = e.header().entry_type();
        if kind != tar::EntryType::Regular {
            let what = match kind {
                tar::EntryType::Symlink => "a symbolic link",
                tar::EntryType::Link => "a hard link",
                tar::EntryType::Directory => "a folder",
                tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => "a device or pipe",
                _ => "not a regular file",
            };
            return Err(BundleError::Entry { name: raw, why: format!("it is {what}; a bundle holds regular files only") });
        }
        let name = parse_name(&raw).map_err(|why| BundleError::Entry { name: raw.clone(), why })?;
        if !raw_names.insert(raw.clone()) {
            return Err(BundleError::Duplicate(raw));
        }
        let declared = e.header().size().map_err(|err| BundleError::Entry { name: raw.clone(), why: err.to_string() })?;
        if raw_names.len() as u64 > limits.max_entries {
            return Err(BundleError::TooLarge { what: "entries", limit: limits.max_entries, name: raw });
        }
        expanded = expanded.saturating_add(declared);
        if expanded > limits.max_expanded {
            return Err(BundleError::TooLarge { what: "bytes", limit: limits.max_expanded, name: raw });
        }
        let dest = match &name {
            Name::Object(d) => dir.path().join("objects").join(d.hex()),
            Name::Meta(m) => dir.path().join("meta").join(m),
            Name::Format => dir.path().join("FORMAT"),
            Name::Sums => dir.path().join("SHA256SUMS"),
        };
        let mut f = File::create(&dest).map_err(io_err(format!("unpacking {raw}")))?;
        let (n, d) = hash_stream(&mut e, Some(&mut f)).map_err(|err| BundleError::Entry { name: raw.clone(), why: format!("cannot be read whole: {err}") })?;
        if n != declared {
            return Err(BundleError::Entry { name: raw, why: format!("its header declares {declared} bytes but it holds {n}") });
        }
        seen.insert(name, (d, dest));
    }
    let read_small = |n: &Name| -> Result<String, BundleError> {
        let (_, p) = seen.get(n).ok_or_else(|| BundleError::Invalid(format!("the bundle has no {}", name_text(n))))?;
        std::fs::read_to_string(p).map_err(io_err(format!("reading {}", name_text(n))))
    };
    let format = read_small(&Name::Format)?;
    if format != BUNDLE_FORMAT {
        return Err(BundleError::Format(format.trim().chars().take(60).collect()));
    }
    let sums = read_small(&Name::Sums)?;
    let mut listed: BTreeMap<String, String> = BTreeMap::new();
    for (i, line) in sums.lines().enumerate() {
        let (hex, n) = line.split_once("  ").ok_or_else(|| BundleError::Sums(format!("line {} is not `<sha256>  <name>`", i + 1)))?;
        if listed.insert(n.to_string(), hex.to_string()).is_some() {
            return Err(BundleError::Sums(format!("lists `{n}` twice")));
        }
    }
    let mut out = Unpacked { dir, objects: BTreeMap::new(), meta: BTreeMap::new() };
    for (name, (d, path)) in seen {
        if name == Name::Sums {
            continue;
        }
        let text = name_text(&name);
        let want = listed.remove(&text).ok_or_else(|| BundleError::Sums(format!("does not list `{text}`")))?;
        if want != d.hex() {
            return Err(BundleError::Digest { name: text, expected: want, actual: d.hex(), claim: "SHA256SUMS" });
        }
        match name {
            Name::Object(o) if o != d => return Err(BundleError::Digest { name: text, expected: o.hex(), actual: d.hex(), claim: "its name" }),
            Name::Object(o) => {
                out.objects.insert(o, path);
            }
            Name::Meta(m) => {
                out.meta.insert(m, path);
            }
            _ => {}
        }
    }
    if let Some(missing) = listed.keys().next() {
        return Err(BundleError::Sums(format!("lists `{missing}`, which the bundle does not hold")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let t = tempfile::tempdir().unwrap();
        let s = Store::init(t.path().join("s")).unwrap();
        (t, s)
    }

    fn bundle(s: &Store, objects: &[&[u8]]) -> Vec<u8> {
        let mut w = BundleWriter::new(Vec::new()).unwrap();
        for o in objects {
            let d = s.put_bytes(o).unwrap();
            w.add_object(s, &d).unwrap();
        }
        w.add_meta("runs.json", 2, &b"[]"[..]).unwrap();
        w.finish().unwrap()
    }

    /// A raw tar (zstd-compressed) with the given entries, to forge hostile bundles.
    fn forge(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap());
        for (name, kind, bytes) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_entry_type(*kind);
            h.set_mode(0o644);
            if *kind == tar::EntryType::Symlink || *kind == tar::EntryType::Link {
                h.set_link_name("/etc/passwd").unwrap();
                h.set_size(0);
            }
            // write the name bytes raw, so `..` and absolute paths get through the builder
            let raw = name.as_bytes();
            h.as_old_mut().name[..raw.len()].copy_from_slice(raw);
            h.set_cksum();
            b.append(&h, if h.size().unwrap() == 0 { &b""[..] } else { *bytes }).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    /// Every path under `dir` with its bytes (folders as empty), sorted.
    fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    out.push((p.clone(), vec![]));
                    stack.push(p);
                } else {
                    out.push((p.clone(), std::fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn round_trip_keeps_every_object_and_meta_file() {
        let (_t, s) = store();
        let bytes = bundle(&s, &[b"one", b"two"]);
        let (_t2, s2) = store();
        let u = unpack(&s2, &bytes[..]).unwrap();
        assert_eq!(u.objects.len(), 2);
        assert_eq!(u.meta_bytes("runs.json").unwrap(), b"[]");
        assert_eq!(s2.list().unwrap().len(), 0, "nothing is kept before publish");
        assert_eq!(u.publish_objects(&s2).unwrap(), 2);
        assert_eq!(s2.read(&Digest::of(b"two")).unwrap(), b"two");
        assert_eq!(u.publish_objects(&s2).unwrap(), 0, "publishing twice adds nothing");
    }

    #[test]
    fn hostile_bundles_are_refused_with_the_entry_named() {
        let (_t, s) = store();
        let sums = |entries: &[(&str, &[u8])]| -> Vec<u8> { entries.iter().map(|(n, b)| format!("{}  {n}\n", Digest::of(b).hex())).collect::<String>().into_bytes() };
        let fmt: &[u8] = BUNDLE_FORMAT.as_bytes();
        let obj: &[u8] = b"payload";
        let oname = format!("objects/{}", Digest::of(obj).hex());
        let good_sums = sums(&[("FORMAT", fmt), (&oname, obj)]);
        let reg = tar::EntryType::Regular;
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (forge(&[("FORMAT", reg, fmt), ("../evil", reg, obj), ("SHA256SUMS", reg, &good_sums)]), "`../evil` is refused"),
            (forge(&[("FORMAT", reg, fmt), ("/etc/evil", reg, obj), ("SHA256SUMS", reg, &good_sums)]), "`/etc/evil` is refused"),
            (forge(&[("FORMAT", reg, fmt), ("meta/link", tar::EntryType::Symlink, b""), ("SHA256SUMS", reg, &good_sums)]), "symbolic link"),
            (forge(&[("FORMAT", reg, fmt), ("meta/hard", tar::EntryType::Link, b""), ("SHA256SUMS", reg, &good_sums)]), "hard link"),
            (forge(&[("FORMAT", reg, fmt), ("meta/dev", tar::EntryType::Char, b""), ("SHA256SUMS", reg, &good_sums)]), "device"),
            (forge(&[("FORMAT", reg, fmt), (&oname, reg, obj), (&oname, reg, obj), ("SHA256SUMS", reg, &good_sums)]), "appears twice"),
            (forge(&[("FORMAT", reg, fmt), (&oname, reg, b"payloaX"), ("SHA256SUMS", reg, &good_sums)]), "but SHA256SUMS says"),
            (forge(&[("FORMAT", reg, fmt), (&oname, reg, obj)]), "has no SHA256SUMS"),
            (forge(&[("FORMAT", reg, fmt), (&oname, reg, obj), ("meta/extra", reg, b"x"), ("SHA256SUMS", reg, &good_sums)]), "does not list `meta/extra`"),
            (forge(&[("FORMAT", reg, b"reprise-bundle 9\n"), ("SHA256SUMS", reg, &sums(&[("FORMAT", b"reprise-bundle 9\n")]))]), "FORMAT is `reprise-bundle 9`"),
            (b"not zstd at all".to_vec(), "not a zstd-compressed tar"),
        ];
        s.put_bytes(b"already here").unwrap();
        let before = snapshot(s.root());
        for (bytes, want) in cases {
            let err = unpack(&s, &bytes[..]).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(want), "expected `{want}`, got `{err}`");
            assert_eq!(snapshot(s.root()), before, "after `{want}` the store is byte for byte as it was");
        }
        // an object whose bytes do not match its name, with SHA256SUMS agreeing with the bytes
        let wrong = format!("objects/{}", Digest::of(b"other").hex());
        let bytes = forge(&[("FORMAT", reg, fmt), (&wrong, reg, obj), ("SHA256SUMS", reg, &sums(&[("FORMAT", fmt), (&wrong, obj)]))]);
        assert!(unpack(&s, &bytes[..]).err().unwrap().to_string().contains("but its name says"));
        // a truncated bundle
        let good = bundle(&s, &[b"one", b"two"]);
        assert!(unpack(&s, &good[..good.len() / 2]).is_err());
        assert_eq!(std::fs::read_dir(s.root().join("tmp")).unwrap().count(), 0, "scratch folders are removed");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]
        /// Damaged bundles (flipped bytes, truncations) are refused or read whole, never panic,
        /// and leave no scratch behind; what is read whole holds the original objects.
        #[test]
        fn damaged_bundles_never_panic_or_leave_scratch(flips in proptest::collection::vec((0usize..1 << 16, 1u8..=255), 0..4), cut in proptest::option::of(0usize..1 << 16)) {
            let (_t, s) = store();
            let mut bytes = bundle(&s, &[b"one", b"two", &[7u8; 3000]]);
            for (at, x) in &flips {
                let i = at % bytes.len();
                bytes[i] ^= x;
            }
            if let Some(c) = cut {
                bytes.truncate(c % (bytes.len() + 1));
            }
            let (_t2, s2) = store();
            if let Ok(u) = unpack(&s2, &bytes[..]) {
                for d in u.objects.keys() {
                    proptest::prop_assert!(s.contains(d));
                }
            }
            proptest::prop_assert_eq!(std::fs::read_dir(s2.root().join("tmp")).unwrap().count(), 0);
        }
    }

    #[test]
    fn a_decompression_bomb_and_too_many_entries_stop_at_the_limit() {
        let (_t, s) = store();
        // 256 MiB of zeros compress to a few KiB; a 16 MiB cap stops it at the first big entry
        let zeros = vec![0u8; 256 << 20];
        let d = s.put_bytes(&zeros).unwrap();
        let mut w = BundleWriter::new(Vec::new()).unwrap();
        w.add_object(&s, &d).unwrap();
        let bomb = w.finish().unwrap();
        assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
        let (_t2, s2) = store();
        let small = Limits { max_expanded: 16 << 20, max_entries: 100 };
        let err = unpack_with(&s2, &bomb[..], small).err().unwrap().to_string();
        assert!(err.contains("expands past the limit of 16777216 bytes") && err.contains(&d.hex()), "{err}");
        let many = bundle(&s, &[b"1", b"2", b"3", b"4"]);
        let err = unpack_with(&s2, &many[..], Limits { max_entries: 3, ..small }).err().unwrap().to_string();
        assert!(err.contains("limit of 3 entries"), "{err}");
        assert_eq!(std::fs::read_dir(s2.root().join("tmp")).unwrap().count(), 0);
        assert!(s2.list().unwrap().is_empty());
        assert_eq!(unpack_with(&s2, &many[..], Limits { max_entries: 7, ..small }).unwrap().objects.len(), 4);
    }
}
