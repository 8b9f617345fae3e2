//! Remote stores: where they are (one small file per remote under the store's `remotes/`) and,
//! with the `remote` feature, a client that moves objects and named files to and from them.
//!
//! A remote holds, under its prefix: `FORMAT` (`reprise-remote 1`), `objects/sha256/ab/<hex>`
//! (the same immutable objects as a local store, fixed depth so no key is a prefix of another)
//! and `runs/<record hex>.json` (what the runner writes to describe a pushed run).

#[cfg(feature = "remote")]
mod client;

#[cfg(feature = "remote")]
pub use client::{Remote, RemoteOptions, Transfer};

use crate::{Store, StoreError};
use std::fmt;
use std::fs;
use std::path::PathBuf;

/// The first line of a remote's `FORMAT` key.
pub const REMOTE_FORMAT: &str = "reprise-remote 1";

/// What is wrong with a remote, naming it and the way out.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("`{url}` is not a remote URL: {why} (use file:///absolute/path or s3://bucket/prefix)")]
    BadUrl { url: String, why: String },
    #[error("`{0}` is not a remote name: use letters, digits, '.', '_' and '-'")]
    BadName(String),
    #[error("no remote named `{name}`{}; add one with `reprise remote add {name} <url>`", if known.is_empty() { String::new() } else { format!(" (known: {})", known.join(", ")) })]
    Unknown { name: String, known: Vec<String> },
    #[error("remote `{name}` already exists ({url}); remove it first with `reprise remote rm {name}`")]
    Exists { name: String, url: String },
    #[error("remote `{remote}`: {why}")]
    Remote { remote: String, why: String },
    #[error("remote `{remote}` has no object {digest}; push the runs that need it from a store that has it")]
    Missing { remote: String, digest: String },
    #[error("remote `{remote}`: {op}: {why}")]
    Transfer { remote: String, op: String, why: String },
}

/// Where a remote lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteUrl {
    /// A folder (a shared disk, a mounted volume).
    File(PathBuf),
    /// A bucket and a key prefix (possibly empty) in S3 or an S3-compatible server.
    S3 { bucket: String, prefix: String },
}

impl RemoteUrl {
    pub fn parse(url: &str) -> Result<RemoteUrl, RemoteError> {
        let bad = |why: &str| RemoteError::BadUrl { url: url.to_string(), why: why.to_string() };
        if let Some(path) = url.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(bad("a file URL needs an absolute path (three slashes: file:///srv/reprise)"));
            }
            if path.split('/').any(|s| s == "..") {
                return Err(bad("`..` is not allowed in a remote path"));
            }
            return Ok(RemoteUrl::File(PathBuf::from(path.trim_end_matches('/')).components().collect()));
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let bucket_ok = (3..=63).contains(&bucket.len())
                && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
                && bucket.as_bytes()[0].is_ascii_alphanumeric();
            if !bucket_ok {
                return Err(bad("an S3 bucket name has 3-63 lowercase letters, digits, '-' or '.'"));
            }
            let prefix = prefix.trim_matches('/');
            if prefix.split('/').any(|s| s == ".." || s == ".") || prefix.contains("//") {
                return Err(bad("the key prefix has an empty, `.` or `..` segment"));
            }
            return Ok(RemoteUrl::S3 { bucket: bucket.to_string(), prefix: prefix.to_string() });
        }
        Err(bad("unknown scheme"))
    }
}

impl fmt::Display for RemoteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteUrl::File(p) => write!(f, "file://{}", p.display()),
            RemoteUrl::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            RemoteUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// A named remote as the store remembers it. Credentials are never stored: an S3 remote reads
/// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`) when it connects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteConfig {
    pub name: String,
    pub url: RemoteUrl,
    /// An S3-compatible server's address (`http://127.0.0.1:9000`); AWS when absent.
    pub endpoint: Option<String>,
    pub region: Option<String>,
}

impl RemoteConfig {
    fn to_text(&self) -> String {
        let mut s = format!("url {}\n", self.url);
        if let Some(e) = &self.endpoint {
            s += &format!("endpoint {e}\n");
        }
        if let Some(r) = &self.region {
            s += &format!("region {r}\n");
        }
        s
    }

    fn from_text(name: &str, text: &str) -> Result<RemoteConfig, RemoteError> {
        let mut url = None;
        let (mut endpoint, mut region) = (None, None);
        for line in text.lines() {
            match line.split_once(' ') {
                Some(("url", u)) => url = Some(RemoteUrl::parse(u)?),
                Some(("endpoint", e)) => endpoint = Some(e.to_string()),
                Some(("region", r)) => region = Some(r.to_string()),
                _ => return Err(RemoteError::Remote { remote: name.into(), why: format!("its settings file has a line `{line}` this build does not read") }),
            }
        }
        let url = url.ok_or_else(|| RemoteError::Remote { remote: name.into(), why: "its settings file names no url".into() })?;
        Ok(RemoteConfig { name: name.into(), url, endpoint, region })
    }
}

fn name_ok(n: &str) -> bool {
    !n.is_empty() && n.len() <= 64 && !n.starts_with('.') && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

impl Store {
    fn remotes_dir(&self) -> PathBuf {
        self.root().join("remotes")
    }

    /// Every remote, sorted by name.
    pub fn remotes(&self) -> Result<Vec<RemoteConfig>, RemoteError> {
        let dir = self.remotes_dir();
        let mut names: Vec<String> = match fs::read_dir(&dir) {
            Ok(rd) => rd.flatten().filter_map(|e| e.file_name().into_string().ok()).filter(|n| name_ok(n)).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
            Err(e) => return Err(StoreError::Io { op: "list", path: dir, source: e }.into()),
        };
        names.sort();
        names.iter().map(|n| self.remote_config(n)).collect()
    }

    pub fn remote_config(&self, name: &str) -> Result<RemoteConfig, RemoteError> {
        if !name_ok(name) {
            return Err(RemoteError::BadName(name.into()));
        }
        let path = self.remotes_dir().join(name);
        match fs::read_to_string(&path) {
            Ok(text) => RemoteConfig::from_text(name, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let known = self.remotes()?.into_iter().map(|r| r.name).collect();
                Err(RemoteError::Unknown { name: name.into(), known })
            }
            Err(e) => Err(StoreError::Io { op: "read", path, source: e }.into()),
        }
    }

    /// Remembers a remote; an existing name is an error (nothing is replaced silently).
    pub fn add_remote(&self, cfg: &RemoteConfig) -> Result<(), RemoteError> {
        if !name_ok(&cfg.name) {
            return Err(RemoteError::BadName(cfg.name.clone()));
        }
        let dir = self.remotes_dir();
        fs::create_dir_all(&dir).map_err(StoreError::io("create", &dir))?;
        let tmp_dir = self.tmp_dir();
        let mut tmp = tempfile::NamedTempFile::new_in(&tmp_dir).map_err(StoreError::io("create a file in", &tmp_dir))?;
        std::io::Write::write_all(&mut tmp, cfg.to_text().as_bytes()).map_err(StoreError::io("write", tmp.path().to_path_buf()))?;
        let dest = dir.join(&cfg.name);
        match tmp.persist_noclobber(&dest) {
            Ok(_) => Ok(()),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                let url = self.remote_config(&cfg.name).map(|c| c.url.to_string()).unwrap_or_default();
                Err(RemoteError::Exists { name: cfg.name.clone(), url })
            }
            Err(e) => Err(StoreError::Io { op: "write", path: dest, source: e.error }.into()),
        }
    }

    /// Forgets a remote (its contents are not touched).
    pub fn remove_remote(&self, name: &str) -> Result<RemoteConfig, RemoteError> {
        let cfg = self.remote_config(name)?;
        let path = self.remotes_dir().join(name);
        fs::remove_file(&path).map_err(StoreError::io("remove", &path))?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_print_back() {
        for u in ["file:///srv/lab", "s3://lab-runs", "s3://lab-runs/team/a"] {
            assert_eq!(RemoteUrl::parse(u).unwrap().to_string(), u);
        }
        assert_eq!(RemoteUrl::parse("s3://lab-runs/team/").unwrap().to_string(), "s3://lab-runs/team");
        for (u, why) in [
            ("file://rel/path", "absolute path"),
            ("file:///srv/../etc", "`..`"),
            ("s3://B", "bucket name"),
            ("s3://lab/a/../b", "segment"),
            ("http://x", "unknown scheme"),
        ] {
            let e = RemoteUrl::parse(u).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(u), "{u}: {e}");
        }
    }

    #[test]
    fn remotes_are_remembered_listed_and_removed() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::init(t.path()).unwrap();
        assert!(s.remotes().unwrap().is_empty());
        let lab = RemoteConfig { name: "lab".into(), url: RemoteUrl::parse("s3://lab-runs/x").unwrap(), endpoint: Some("http://127.0.0.1:9000".into()), region: None };
        let disk = RemoteConfig { name: "disk".into(), url: RemoteUrl::parse("file:///srv/r").unwrap(), endpoint: None, region: Some("eu-west-1".into()) };
        s.add_remote(&lab).unwrap();
        s.add_remote(&disk).unwrap();
        assert_eq!(s.remotes().unwrap(), vec![disk.clone(), lab.clone()]);
        assert!(s.add_remote(&lab).unwrap_err().to_string().contains("already exists (s3://lab-runs/x)"));
        assert!(s.add_remote(&RemoteConfig { name: "../x".into(), ..lab.clone() }).is_err());
        assert_eq!(s.remove_remote("lab").unwrap(), lab);
        let e = s.remote_config("lab").unwrap_err().to_string();
        assert!(e.contains("no remote named `lab` (known: disk)"), "{e}");
    }
}
