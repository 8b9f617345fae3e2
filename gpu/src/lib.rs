//! Compute backends for the hot loops: the CPU reference (always built) and a cudarc backend
//! (feature `cuda`) with the same API, chosen at run time; each states the contract runs record.

pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod layout;

pub use cpu::Cpu;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The CUDA C source of every kernel; its SHA-256 enters the contract of the CUDA backend.
pub const KERNELS: &str = include_str!("../kernels/kernels.cu");

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GpuError {
    #[error("backend `cuda` was asked for but no CUDA device can be used: {0}. Use backend=auto to fall back to the CPU, or backend=cpu")]
    Unavailable(String),
    #[error("CUDA failed in {what}: {why}")]
    Cuda { what: &'static str, why: String },
    #[error("{0}")]
    Shape(String),
    #[error("unknown backend `{0}`: choose auto, cpu or cuda")]
    UnknownRequest(String),
}

pub(crate) fn check_len(what: &str, got: usize, want: usize) -> Result<(), GpuError> {
    if got == want { Ok(()) } else { Err(GpuError::Shape(format!("{what} has {got} values, expected {want}"))) }
}

pub(crate) fn matvec_shapes(mats: &[f64], d: usize, group: &[u32], xs: &[f64]) -> Result<(), GpuError> {
    if d == 0 || mats.len() % (d * d) != 0 {
        return Err(GpuError::Shape(format!("grouped matvecs: {} matrix values are not a whole number of {d} × {d} matrices", mats.len())));
    }
    check_len("vectors", xs.len(), group.len() * d)?;
    let g = mats.len() / (d * d);
    if let Some(bad) = group.iter().find(|&&k| k as usize >= g) {
        return Err(GpuError::Shape(format!("grouped matvecs: group {bad} named but only {g} matrices given")));
    }
    Ok(())
}

pub(crate) fn gauss_shapes(x: &[f32], y: &[f32], d: usize, w: &[f32]) -> Result<(usize, usize), GpuError> {
    if d == 0 || x.len() % d != 0 || y.len() % d != 0 {
        return Err(GpuError::Shape(format!("Gaussian row sums: dimension {d} does not divide x ({}) and y ({})", x.len(), y.len())));
    }
    check_len("weights", w.len(), y.len() / d)?;
    Ok((x.len() / d, y.len() / d))
}

/// Plus- and minus-side sums of a two-sided bootstrap, each `draws × m`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Sides {
    pub plus: Vec<f64>,
    pub minus: Vec<f64>,
}

/// A compute backend: one method per hot kernel, plain slices in, `Vec` out. The CPU backend is
/// the reference; a GPU backend gives the same bits for every method except `gauss_row_sums`
/// (transcendental: within [`GAUSS_RTOL`] of Σ|terms|).
pub trait Backend: Send + Sync {
    /// `cpu` or `cuda`.
    fn kind(&self) -> &'static str;
    /// What a run must record about this backend (device, driver, kernel-source digest, …).
    fn contract(&self) -> BTreeMap<String, String>;
    /// Σ x_i in f64, in the fixed two-stage order of `layout`.
    fn det_sum(&self, x: &[f32]) -> Result<f64, GpuError>;
    /// Σ x_i y_i in f64 (each product exact), same order as `det_sum`.
    fn det_dot(&self, x: &[f32], y: &[f32]) -> Result<f64, GpuError>;
    /// `n` Philox4x32-10 words of `stream` in stream order (word 4g+w = component w of block g).
    fn philox_fill(&self, key: [u32; 2], stream: u64, n: usize) -> Result<Vec<u32>, GpuError>;
    /// T_b = Σ_i ξ_bi ψ_i for b < draws, ξ Rademacher from stream `stream0 + b` (layout v2).
    fn rademacher_boot(&self, psi: &[f32], key: [u32; 2], stream0: u64, draws: usize) -> Result<Vec<f64>, GpuError>;
    /// T_b = Σ_i z_bi ψ_i with standard normal multipliers (layout g1), in `rademacher_boot`'s
    /// order; GPU and CPU agree within [`GAUSSIAN_BOOT_RTOL`] · Σ|ψ_i| (device log/sincos).
    fn gaussian_boot(&self, psi: &[f32], key: [u32; 2], stream0: u64, draws: usize) -> Result<Vec<f64>, GpuError>;
    /// For a score matrix `a` (n × m, row-major) and each draw b: Σ over plus-side units of ξ_bi
    /// a_ij, and the same over the other units, in unit order.
    fn rademacher_sides(&self, a: &[f64], m: usize, plus: &[bool], key: [u32; 2], stream0: u64, draws: usize) -> Result<Sides, GpuError>;
    /// out_k = M_{group[k]} x_k for d × d row-major matrices `mats` (G of them) and vectors `xs`
    /// (K × d), each dot product in the `layout::dot4` order (the DisCoCat batch's order).
    fn grouped_matvecs(&self, mats: &[f64], d: usize, group: &[u32], xs: &[f64]) -> Result<Vec<f64>, GpuError>;
    /// Row sums Σ_j w_j exp(−γ‖x_i − y_j‖²) of the Gaussian kernel without forming it (x: n × d,
    /// y: m × d, row-major).
    fn gauss_row_sums(&self, x: &[f32], y: &[f32], d: usize, w: &[f32], gamma: f32) -> Result<Vec<f64>, GpuError>;
}

/// Declared tolerance of `gauss_row_sums` between backends, relative to Σ_j |w_j k_ij|: GPU
/// `expf` and the CPU's libm differ by an ulp or two.
pub const GAUSS_RTOL: f64 = 1e-6;

/// Declared tolerance of `gaussian_boot` between backends, relative to Σ|ψ_i|: each multiplier
/// (|z| < 7) differs by an ulp or two, so sums differ by far less.
pub const GAUSSIAN_BOOT_RTOL: f64 = 1e-12;

/// What a run asks for: `auto` (CUDA when usable, else the CPU, saying why), `cpu` or `cuda`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Auto,
    Cpu,
    Cuda,
}

impl std::str::FromStr for Request {
    type Err = GpuError;
    fn from_str(s: &str) -> Result<Self, GpuError> {
        match s {
            "auto" => Ok(Request::Auto),
            "cpu" => Ok(Request::Cpu),
            "cuda" => Ok(Request::Cuda),
            other => Err(GpuError::UnknownRequest(other.to_string())),
        }
    }
}

/// The backend a request resolved to, and why `auto` fell back to the CPU when it did.
#[derive(Clone)]
pub struct Selected {
    pub backend: Arc<dyn Backend>,
    pub fallback: Option<String>,
}

/// Why CUDA cannot be used here, or `None` when it can (probes once per process).
pub fn cuda_unavailable() -> Option<String> {
    #[cfg(feature = "cuda")]
    {
        cuda::shared().err()
    }
    #[cfg(not(feature = "cuda"))]
    {
        Some("this binary was built without the `cuda` feature".into())
    }
}

/// Resolves a request: `cuda` without a usable device is an error, `auto` falls back.
pub fn select(req: Request) -> Result<Selected, GpuError> {
    let cpu = || Arc::new(Cpu) as Arc<dyn Backend>;
    match req {
        Request::Cpu => Ok(Selected { backend: cpu(), fallback: None }),
        Request::Auto | Request::Cuda => {
            #[cfg(feature = "cuda")]
            if let Ok(b) = cuda::shared() {
                return Ok(Selected { backend: b, fallback: None });
            }
            let why = cuda_unavailable().unwrap_or_default();
            if req == Request::Cuda {
                Err(GpuError::Unavailable(why))
            } else {
                Ok(Selected { backend: cpu(), fallback: Some(why) })
            }
        }
    }
}

/// The contract a request resolves to, as a run spec records it (`backend` param → spec).
pub fn resolve_contract(request: &str) -> Result<BTreeMap<String, String>, String> {
    let req: Request = request.parse().map_err(|e: GpuError| e.to_string())?;
    select(req).map(|s| s.backend.contract()).map_err(|e| e.to_string())
}

/// The backend of runs that do not ask for one: the CPU reference.
pub fn default_backend() -> &'static dyn Backend {
    &Cpu
}

/// Hex SHA-256 of the kernel sources.
pub fn kernels_digest() -> String {
    use sha2::Digest;
    sha2::Sha256::digest(KERNELS.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_contract_names_its_kind() {
        assert_eq!(default_backend().contract()["kind"], "cpu");
    }

    #[test]
    fn requests_parse_and_auto_falls_back_with_a_reason_without_a_gpu() {
        assert!("gpu".parse::<Request>().unwrap_err().to_string().contains("auto, cpu or cuda"));
        if let Some(why) = cuda_unavailable() {
            let s = select(Request::Auto).unwrap();
            assert_eq!(s.backend.kind(), "cpu");
            assert_eq!(s.fallback.as_deref(), Some(why.as_str()));
            let err = select(Request::Cuda).err().unwrap().to_string();
            assert!(err.contains("backend=auto"), "{err}");
        }
        assert_eq!(resolve_contract("cpu").unwrap()["kind"], "cpu");
    }
}
