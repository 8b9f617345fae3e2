//! The binary's environment: compile-time facts embedded by build.rs, and the run-time ones read
//! here (the only crate that reads environment variables).

use reprise_runner::Environment;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The repository this binary was built from (the workspace root at compile time).
pub fn build_repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("kernel/ has a parent").to_path_buf()
}

pub fn toolchain() -> &'static str {
    include_str!(concat!(env!("OUT_DIR"), "/rustc-vV.txt"))
}

fn cpu_features() -> Vec<String> {
    let mut v = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! probe {
            ($($f:tt),*) => {$( if std::is_x86_feature_detected!($f) { v.push($f.to_string()); } )*};
        }
        probe!("sse4.2", "avx", "avx2", "fma", "avx512f", "sha", "aes");
    }
    #[cfg(target_arch = "aarch64")]
    {
        macro_rules! probe {
            ($($f:tt),*) => {$( if std::arch::is_aarch64_feature_detected!($f) { v.push($f.to_string()); } )*};
        }
        probe!("neon", "sha2", "aes");
    }
    v
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// A run's backend request → the contract its spec records; says why when `auto` stays on the CPU.
fn resolve_backend(request: &str) -> Result<BTreeMap<String, String>, String> {
    let contract = reprise_gpu::resolve_contract(request)?;
    if request == "auto" && contract.get("kind").map(String::as_str) == Some("cpu") {
        eprintln!("note: backend=auto runs on the CPU ({})", reprise_gpu::cuda_unavailable().unwrap_or_default());
    }
    Ok(contract)
}

pub fn environment(repo: PathBuf) -> Environment {
    let mut features = Vec::new();
    if cfg!(feature = "cuda") {
        features.push("cuda".to_string());
    }
    Environment {
        repo,
        toolchain: toolchain().to_string(),
        target: env!("REPRISE_TARGET").to_string(),
        features,
        backend: reprise_gpu::default_backend().contract(),
        resolve_backend: resolve_backend,
        threads: rayon::current_num_threads(),
        cpu_features: cpu_features(),
        host: host(),
        reprise_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// Now, as RFC 3339 UTC: only for provenance notes, never hashed.
pub fn now() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}
