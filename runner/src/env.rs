//! The environment a run happens in, as the binary knows it: compile-time facts (toolchain,
//! target, features, backend) and run-time ones (repository, threads, CPU features, host).

use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct Environment {
    /// The git repository whose code the binary was built from.
    pub repo: PathBuf,
    /// `rustc -vV` of the compiler that built the binary.
    pub toolchain: String,
    pub target: String,
    pub features: Vec<String>,
    pub backend: BTreeMap<String, String>,
    /// Resolves a run's backend request (`auto`, `cpu`, `cuda`) to the contract its spec records.
    pub resolve_backend: fn(&str) -> Result<BTreeMap<String, String>, String>,
    pub threads: usize,
    pub cpu_features: Vec<String>,
    pub host: String,
    pub reprise_version: String,
}

/// A resolver for binaries without GPU support: everything runs on the CPU reference.
pub fn cpu_only(request: &str) -> Result<BTreeMap<String, String>, String> {
    match request {
        "auto" | "cpu" => Ok(BTreeMap::from([("kind".to_string(), "cpu".to_string())])),
        other => Err(format!("backend `{other}` is not available in this build: use backend=cpu or auto")),
    }
}

impl Environment {
    /// The fields a rerun report puts side by side, as (field, value).
    pub fn comparable(&self) -> Vec<(&'static str, String)> {
        vec![
            ("toolchain", self.toolchain.trim().to_string()),
            ("target", self.target.clone()),
            ("features", self.features.join(",")),
            ("backend", self.backend.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")),
            ("threads", self.threads.to_string()),
            ("cpu_features", self.cpu_features.join(",")),
        ]
    }
}
