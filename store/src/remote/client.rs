//! The remote client: object_store underneath (a local folder or S3), a private tokio runtime,
//! create-if-absent puts with SHA-256 checksums, retries with backoff, parallel transfers.

use super::{REMOTE_FORMAT, RemoteConfig, RemoteError, RemoteUrl};
use crate::{Digest, Progress, Store, StoreError};
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, Checksum};
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig, WriteMultipart};
use std::io::Read;
use std::sync::Arc;

/// Objects larger than this go up in parts (S3 takes at most 5 GiB in one put).
const MULTIPART_OVER: u64 = 64 << 20;
const PART: usize = 16 << 20;

/// How a remote transfers, and the S3 settings the caller read from its environment
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
/// `AWS_ENDPOINT_URL`); the store itself reads no environment.
#[derive(Clone, Debug)]
pub struct RemoteOptions {
    /// Transfers in flight at once.
    pub jobs: usize,
    /// Retries of a failed request (with exponential backoff), for S3 remotes.
    pub retries: usize,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub session_token: Option<String>,
    /// Used when the remote's settings name no region.
    pub region: Option<String>,
    /// Used when the remote's settings name no endpoint.
    pub endpoint: Option<String>,
    /// A folder remote's folder is made when missing (otherwise a missing folder, such as an
    /// unmounted share, is an error rather than an empty remote on the local disk).
    pub create: bool,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions { jobs: 8, retries: 10, access_key: None, secret_key: None, session_token: None, region: None, endpoint: None, create: false }
    }
}

/// What a push or pull moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transfer {
    /// Objects sent (push) or received and published (pull).
    pub moved: usize,
    /// Objects the other side already had.
    pub present: usize,
    pub bytes: u64,
}

/// A connected remote.
pub struct Remote {
    name: String,
    os: Arc<dyn ObjectStore>,
    prefix: String,
    rt: tokio::runtime::Runtime,
    jobs: usize,
}

impl Remote {
    /// Connects (no request is made yet). An S3 remote needs `opts`' access and secret keys.
    pub fn connect(cfg: &RemoteConfig, opts: RemoteOptions) -> Result<Remote, RemoteError> {
        let err = |why: String| RemoteError::Remote { remote: cfg.name.clone(), why };
        let (os, prefix): (Arc<dyn ObjectStore>, String) = match &cfg.url {
            RemoteUrl::File(dir) => {
                if !dir.is_dir() {
                    if !opts.create {
                        return Err(err(format!(
                            "its folder {} does not exist (is the share mounted?); if that is the right place, make it with `reprise remote push {} --create`",
                            dir.display(),
                            cfg.name
                        )));
                    }
                    std::fs::create_dir_all(dir).map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
                }
                let fs = LocalFileSystem::new_with_prefix(dir).map_err(|e| err(format!("cannot open {}: {e}", dir.display())))?;
                (Arc::new(fs), String::new())
            }
            RemoteUrl::S3 { bucket, prefix } => {
                let (Some(key), Some(secret)) = (opts.access_key.clone(), opts.secret_key.clone()) else {
                    return Err(err("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (reprise never stores them)".into()));
                };
                let region = cfg.region.clone().or_else(|| opts.region.clone()).unwrap_or_else(|| "us-east-1".into());
                let retry = RetryConfig { max_retries: opts.retries, ..RetryConfig::default() };
                let mut b = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_access_key_id(key)
                    .with_secret_access_key(secret)
                    .with_checksum_algorithm(Checksum::SHA256)
                    .with_retry(retry);
                if let Some(token) = opts.session_token.clone() {
                    b = b.with_token(token);
                }
                if let Some(ep) = cfg.endpoint.clone().or_else(|| opts.endpoint.clone()) {
                    b = b.with_allow_http(ep.starts_with("http://")).with_endpoint(ep);
                }
                let s3 = b.build().map_err(|e| err(format!("cannot configure S3: {e}")))?;
                (Arc::new(s3), prefix.clone())
            }
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| err(format!("cannot start the I/O runtime: {e}")))?;
        Ok(Remote { name: cfg.name.clone(), os, prefix, rt, jobs: opts.jobs.max(1) })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn key(&self, rel: &str) -> Key {
        if self.prefix.is_empty() { Key::from(rel) } else { Key::from(format!("{}/{rel}", self.prefix)) }
    }

    fn object_key(&self, d: &Digest) -> Key {
        let hex = d.hex();
        self.key(&format!("objects/sha256/{}/{hex}", &hex[..2]))
    }

    fn transfer(&self, op: impl Into<String>) -> impl FnOnce(object_store::Error) -> RemoteError {
        let (remote, op) = (self.name.clone(), op.into());
        move |e| RemoteError::Transfer { remote, op, why: e.to_string() }
    }

    /// Checks the remote's `FORMAT`; an empty remote gets one when `create` is set.
    pub fn check_format(&self, create: bool) -> Result<(), RemoteError> {
        let want = format!("{REMOTE_FORMAT}\n");
        match self.get_file("FORMAT")? {
            Some(b) if b == want.as_bytes() => Ok(()),
            Some(b) => Err(RemoteError::Remote {
                remote: self.name.clone(),
                why: format!("its FORMAT is `{}`; this build reads `{REMOTE_FORMAT}`", String::from_utf8_lossy(&b).trim()),
            }),
            None if create => self.put_file("FORMAT", want.into_bytes()).map(|_| ()),
            None => Err(RemoteError::Remote { remote: self.name.clone(), why: "it is empty (no FORMAT): nothing was pushed there yet".into() }),
        }
    }

    /// Writes the named file unless it exists; an existing file must hold the same bytes.
    /// Returns whether it was written.
    pub fn put_file(&self, rel: &str, bytes: Vec<u8>) -> Result<bool, RemoteError> {
        let key = self.key(rel);
        let opts = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
        let res = self.rt.block_on(self.os.put_opts(&key, PutPayload::from(bytes.clone()), opts));
        match res {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => match self.get_file(rel)? {
                Some(there) if there == bytes => Ok(false),
                _ => Err(RemoteError::Remote { remote: self.name.clone(), why: format!("{rel} already exists with other bytes; it was left as it is") }),
            },
            Err(e) => Err(self.transfer(format!("writing {rel}"))(e)),
        }
    }

    pub fn get_file(&self, rel: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        let key = self.key(rel);
        self.rt.block_on(async {
            match self.os.get(&key).await {
                Ok(r) => Ok(Some(r.bytes().await.map_err(self.transfer(format!("reading {rel}")))?.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(self.transfer(format!("reading {rel}"))(e)),
            }
        })
    }

    /// The names of the files directly under `dir` (e.g. `runs`), sorted.
    pub fn list_files(&self, dir: &str) -> Result<Vec<String>, RemoteError> {
        let key = self.key(dir);
        let metas: Vec<_> = self.rt.block_on(self.os.list(Some(&key)).try_collect()).map_err(self.transfer(format!("listing {dir}")))?;
        let mut names: Vec<String> = metas.into_iter().filter_map(|m| m.location.filename().map(str::to_owned)).collect();
        names.sort();
        Ok(names)
    }

    pub fn has_object(&self, d: &Digest) -> Result<bool, RemoteError> {
        self.rt.block_on(self.head(d))
    }

    async fn head(&self, d: &Digest) -> Result<bool, RemoteError> {
        match self.os.head(&self.object_key(d)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.transfer(format!("looking for object {}", d.short(12)))(e)),
        }
    }

    /// Sends one object unless the remote has it; `None` when it was there already.
    async fn push_one(&self, store: &Store, d: Digest) -> Result<Option<u64>, RemoteError> {
        if self.head(&d).await? {
            return Ok(None);
        }
        let key = self.object_key(&d);
        let path = store.object_path(&d);
        let size = std::fs::metadata(&path).map_err(StoreError::io("read", &path))?.len();
        let op = format!("sending object {}", d.short(12));
        if size <= MULTIPART_OVER {
            let bytes = store.read_verified(&d)?;
            let opts = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
            return match self.os.put_opts(&key, PutPayload::from(bytes), opts).await {
                Ok(_) => Ok(Some(size)),
                Err(object_store::Error::AlreadyExists { .. }) => Ok(None),
                Err(e) => Err(self.transfer(op)(e)),
            };
        }
        // Multipart puts cannot be create-if-absent; the head above and content addressing
        // make an overwrite harmless (the same bytes).
        let up = self.os.put_multipart(&key).await.map_err(self.transfer(op.clone()))?;
        let mut w = WriteMultipart::new_with_chunk_size(up, PART);
        let mut f = store.open_object(&d)?;
        let mut hasher = crate::Hasher::new();
        let mut buf = vec![0u8; PART];
        loop {
            let n = f.read(&mut buf).map_err(StoreError::io("read", &path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            w.wait_for_capacity(2).await.map_err(self.transfer(op.clone()))?;
            w.write(&buf[..n]);
        }
        let actual = hasher.finish();
        if actual != d {
            let _ = w.abort().await;
            return Err(StoreError::Corrupt { expected: d, actual }.into());
        }
        w.finish().await.map_err(self.transfer(op))?;
        Ok(Some(size))
    }

    /// Receives one object into the store, verified before it is published.
    async fn pull_one(&self, store: &Store, d: Digest) -> Result<Option<u64>, RemoteError> {
        // Pinned before the look: an unreachable copy found here must outlive a `gc` until the
        // pull's refs name it.
        store.pin(std::slice::from_ref(&d))?;
        if store.contains(&d) {
            return Ok(None);
        }
        let op = format!("receiving object {}", d.short(12));
        let r = match self.os.get(&self.object_key(&d)).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Err(RemoteError::Missing { remote: self.name.clone(), digest: d.hex() }),
            Err(e) => return Err(self.transfer(op)(e)),
        };
        let mut incoming = store.incoming(d, &format!("remote `{}`", self.name))?;
        let mut stream = r.into_stream();
        let mut n = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(self.transfer(op.clone()))?;
            n += chunk.len() as u64;
            incoming.write(&chunk)?;
        }
        incoming.finish()?;
        Ok(Some(n))
    }

    /// Runs `one` over `digests`, `jobs` at a time, stopping at the first error.
    fn each<'a, F, Fut>(&'a self, digests: &[Digest], what: &str, progress: &dyn Progress, one: F) -> Result<Transfer, RemoteError>
    where
        F: Fn(Digest) -> Fut,
        Fut: std::future::Future<Output = Result<Option<u64>, RemoteError>> + 'a,
    {
        progress.start(what, digests.len() as u64);
        self.rt.block_on(async {
            let mut t = Transfer::default();
            let mut s = futures::stream::iter(digests.iter().copied().map(one)).buffer_unordered(self.jobs);
            while let Some(r) = s.next().await {
                match r? {
                    Some(n) => {
                        t.moved += 1;
                        t.bytes += n;
                    }
                    None => t.present += 1,
                }
                progress.advance(1);
            }
            Ok(t)
        })
    }

    /// Sends every object in `digests` the remote lacks (each read back and checked first).
    /// Safe to repeat after an interruption: what arrived is not sent again.
    pub fn push_objects(&self, store: &Store, digests: &[Digest], progress: &dyn Progress) -> Result<Transfer, RemoteError> {
        self.each(digests, "pushing objects", progress, |d| self.push_one(store, d))
    }

    /// Receives every object in `digests` the store lacks, each verified before it is published.
    pub fn pull_objects(&self, store: &Store, digests: &[Digest], progress: &dyn Progress) -> Result<Transfer, RemoteError> {
        self.each(digests, "pulling objects", progress, |d| self.pull_one(store, d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_remote(dir: &std::path::Path) -> Remote {
        let cfg = RemoteConfig { name: "disk".into(), url: RemoteUrl::File(dir.to_path_buf()), endpoint: None, region: None };
        Remote::connect(&cfg, RemoteOptions { create: true, ..RemoteOptions::default() }).unwrap()
    }

    #[test]
    fn a_missing_folder_is_made_only_when_asked() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("share");
        let cfg = RemoteConfig { name: "disk".into(), url: RemoteUrl::File(dir.clone()), endpoint: None, region: None };
        let e = Remote::connect(&cfg, RemoteOptions::default()).err().unwrap().to_string();
        assert!(e.contains(&format!("its folder {} does not exist", dir.display())) && e.contains("--create"), "{e}");
        assert!(!dir.exists());
        Remote::connect(&cfg, RemoteOptions { create: true, ..RemoteOptions::default() }).unwrap();
        assert!(dir.is_dir());
    }

    #[test]
    fn objects_go_to_a_folder_remote_and_come_back_verified() {
        let t = tempfile::tempdir().unwrap();
        let a = Store::init(t.path().join("a")).unwrap();
        let b = Store::init(t.path().join("b")).unwrap();
        let r = file_remote(&t.path().join("remote"));
        assert!(r.check_format(false).unwrap_err().to_string().contains("nothing was pushed there yet"));
        r.check_format(true).unwrap();
        r.check_format(false).unwrap();
        let big = vec![7u8; (MULTIPART_OVER + 5) as usize];
        let ds: Vec<Digest> = [&b"one"[..], b"two", &big].iter().map(|x| a.put_bytes(x).unwrap()).collect();
        let first = r.push_objects(&a, &ds[..1], &()).unwrap();
        assert_eq!((first.moved, first.present), (1, 0));
        let all = r.push_objects(&a, &ds, &()).unwrap();
        assert_eq!((all.moved, all.present, all.bytes), (2, 1, 3 + big.len() as u64), "what arrived is not sent again");
        let back = r.pull_objects(&b, &ds, &()).unwrap();
        assert_eq!((back.moved, back.present), (3, 0));
        assert_eq!(b.read(&ds[2]).unwrap(), big);
        // bytes changed on the remote are refused, and nothing is kept
        let hex = ds[0].hex();
        let on_disk = t.path().join("remote/objects/sha256").join(&hex[..2]).join(&hex);
        std::fs::write(&on_disk, b"ONE").unwrap();
        let c = Store::init(t.path().join("c")).unwrap();
        let e = r.pull_objects(&c, &ds[..1], &()).unwrap_err().to_string();
        assert!(e.contains("remote `disk` sent bytes hashing to") && e.contains("were not kept"), "{e}");
        assert!(c.list().unwrap().is_empty());
        let e = r.pull_objects(&c, &[Digest::of(b"never pushed")], &()).unwrap_err().to_string();
        assert!(e.contains("has no object"), "{e}");
        // named files are create-if-absent and never silently replaced
        assert!(r.put_file("runs/x.json", b"{}".to_vec()).unwrap());
        assert!(!r.put_file("runs/x.json", b"{}".to_vec()).unwrap());
        assert!(r.put_file("runs/x.json", b"[]".to_vec()).unwrap_err().to_string().contains("already exists with other bytes"));
        assert_eq!(r.list_files("runs").unwrap(), vec!["x.json".to_string()]);
        assert_eq!(r.get_file("runs/nope.json").unwrap(), None);
    }
}
