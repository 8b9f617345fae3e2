//! Helpers: running the binary, temporary stores and git repositories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_reprise");

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `reprise --store <store> --repo <repo> args…`, with progress bars off.
pub fn reprise(store: &Path, repo: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--store").arg(store).arg("--repo").arg(repo).arg("--quiet").args(args);
    c.env_remove("REPRISE_STORE").env_remove("REPRISE_REPO").env_remove("REPRISE_RERUN_TARGET_DIR");
    c
}

pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// The last line printed on stdout.
    pub fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or_default()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
}

pub fn ran(out: Output) -> Ran {
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs and returns the outcome, whatever it is.
pub fn try_run(mut c: Command) -> Ran {
    ran(c.output().expect("the reprise binary starts"))
}

/// Runs and asserts success.
pub fn ok(c: Command) -> Ran {
    let args: Vec<String> = c.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
    let r = try_run(c);
    assert_eq!(r.code, 0, "command failed: reprise {}\nstdout:\n{}\nstderr:\n{}", args.join(" "), r.stdout, r.stderr);
    r
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=Reprise Test", "-c", "user.email=test@reprise.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A git repository holding one commit: a copy of this workspace's sources (tracked and
/// untracked-but-not-ignored files, as they are on disk now, so it matches the binary under test).
pub fn workspace_repo(dir: &Path) -> String {
    let ws = workspace();
    let list = Command::new("git").args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"]).current_dir(&ws).output().unwrap();
    assert!(list.status.success());
    for rel in list.stdout.split(|b| *b == 0).filter(|s| !s.is_empty()) {
        let rel = Path::new(std::str::from_utf8(rel).unwrap());
        let src = ws.join(rel);
        if !src.is_file() {
            continue; // deleted in the working tree
        }
        let dst = dir.join(rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(&src, &dst).unwrap();
    }
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "copy of the workspace"]);
    git(dir, &["rev-parse", "HEAD"])
}

/// A small repository (a Cargo.lock and a README) for tests that need provenance but no rebuild.
pub fn small_repo(dir: &Path) -> String {
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::write(dir.join("README.md"), "test repository\n").unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "init"]);
    git(dir, &["rev-parse", "HEAD"])
}

/// A temporary directory holding a small repo at `repo/`, a store path `store/` and a folder
/// `scratch/` for the test's own files (outside the repository, so it stays clean).
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["repo", "scratch"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        small_repo(&dir.path().join("repo"));
        Sandbox { dir }
    }
    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }
    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }
    pub fn scratch(&self) -> PathBuf {
        self.dir.path().join("scratch")
    }
    pub fn cmd(&self, args: &[&str]) -> Command {
        reprise(&self.store(), &self.repo(), args)
    }
}

/// An S3 server (s3s-fs) on 127.0.0.1 serving `root`, in this process, for as long as it lives.
/// `fail_puts_after(n)` makes object uploads after the n-th answer 503, to interrupt a push.
pub struct S3Server {
    pub endpoint: String,
    puts: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    limit: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    _rt: tokio::runtime::Runtime,
}

pub const S3_KEY: &str = "test-ak";
pub const S3_SECRET: &str = "test-sk";

impl S3Server {
    /// Serves `root` (created, with a bucket folder `bucket`) with the test credentials.
    pub fn start(root: &Path, bucket: &str) -> S3Server {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        std::fs::create_dir_all(root.join(bucket)).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let mut b = s3s::service::S3ServiceBuilder::new(s3s_fs::FileSystem::new(root).unwrap());
        b.set_auth(s3s::auth::SimpleAuth::from_single(S3_KEY, S3_SECRET));
        let svc = b.build();
        let puts = Arc::new(AtomicUsize::new(0));
        let limit = Arc::new(AtomicUsize::new(usize::MAX));
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let (p, l) = (puts.clone(), limit.clone());
        rt.spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (svc, p, l) = (svc.clone(), p.clone(), l.clone());
                let handler = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (svc, p, l) = (svc.clone(), p.clone(), l.clone());
                    async move {
                        if req.method() == hyper::Method::PUT && req.uri().path().contains("/objects/") && p.fetch_add(1, Ordering::SeqCst) >= l.load(Ordering::SeqCst) {
                            let mut r = hyper::Response::new(s3s::Body::empty());
                            *r.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
                            return Ok::<_, s3s::HttpError>(r);
                        }
                        hyper::service::Service::call(&svc, req).await
                    }
                });
                let conn = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(sock), handler)
                    .into_owned();
                tokio::spawn(conn);
            }
        });
        S3Server { endpoint: format!("http://{addr}"), puts, limit, _rt: rt }
    }

    /// Object uploads after the next `n` fail with 503 Service Unavailable.
    pub fn fail_puts_after(&self, n: usize) {
        use std::sync::atomic::Ordering;
        self.limit.store(self.puts.load(Ordering::SeqCst) + n, Ordering::SeqCst);
    }

    pub fn heal(&self) {
        self.limit.store(usize::MAX, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The command with the test S3 credentials and no other AWS settings.
pub fn with_s3_credentials(mut c: Command) -> Command {
    for v in ["AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN", "AWS_PROFILE"] {
        c.env_remove(v);
    }
    c.env("AWS_ACCESS_KEY_ID", S3_KEY).env("AWS_SECRET_ACCESS_KEY", S3_SECRET);
    c
}

/// Every file under `dir` (relative path, SHA-256 of its bytes), sorted, leaving out `tmp/` (writes in
/// progress): two equal trees are the same store byte for byte.
pub fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(dir).unwrap().display().to_string(), sha256_hex(&std::fs::read(&p).unwrap())));
            }
        }
    }
    out.retain(|(p, _)| !p.starts_with("tmp/"));
    out.sort();
    out
}


pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A session saved as the kernel saves one: output blobs, a manifest, the ref `sessions/<d>`.
pub fn save_session(sb: &Sandbox, tag: u8) -> Vec<String> {
    let put = |bytes: &[u8]| {
        let f = sb.scratch().join("blob");
        std::fs::write(&f, bytes).unwrap();
        ok(sb.cmd(&["store", "put", f.to_str().unwrap()])).last_line().to_string()
    };
    let blob = put(format!("output {tag}\n").as_bytes());
    let manifest = format!(
        r#"{{"cells":[{{"count":1,"outputs":[{{"compare":true,"digest":"{blob}","kind":"stream:stdout","mime":"text/plain"}}],"source":"println!(\"output {tag}\");","status":"ok"}}],"deps_lock":null,"notebook":null,"reprise_version":"0.1.0","schema":"reprise.session/1","toolchain":"rustc"}}"#
    );
    let d = put(manifest.as_bytes());
    std::fs::create_dir_all(sb.store().join("refs/sessions")).unwrap();
    std::fs::write(sb.store().join("refs/sessions").join(&d), format!("{d}\n")).unwrap();
    vec![d, blob]
}
