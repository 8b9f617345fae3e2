//! Compute backends: the CPU reference, always built, and (with the GPU issue) a cudarc backend
//! behind the `cuda` feature with the same API. Each backend states the contract a run records.

use std::collections::BTreeMap;

/// A compute backend. Its contract enters every run spec, so a rerun on another backend shows up.
pub trait Backend: Send + Sync {
    /// `cpu` or `cuda`.
    fn kind(&self) -> &'static str;
    /// What a run must record about this backend (device, driver, kernel-source digest, …).
    fn contract(&self) -> BTreeMap<String, String>;
}

/// The reference backend: plain Rust on the CPU.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu;

impl Backend for Cpu {
    fn kind(&self) -> &'static str {
        "cpu"
    }
    fn contract(&self) -> BTreeMap<String, String> {
        BTreeMap::from([("kind".to_string(), "cpu".to_string())])
    }
}

/// The backend runs use. Until the cudarc backend lands this is always the CPU reference.
pub fn default_backend() -> &'static dyn Backend {
    &Cpu
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_contract_names_its_kind() {
        assert_eq!(super::default_backend().contract()["kind"], "cpu");
    }
}
