//! The cudarc backend: kernels from `kernels/kernels.cu` compiled by NVRTC at run time (no FMA
//! contraction), one context and stream per process, probed without ever panicking the caller.

use crate::layout::*;
use crate::{Backend, GpuError, KERNELS, Sides};
use cudarc::driver::sys::CUevent_flags::CU_EVENT_DEFAULT;
use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::{CompileOptions, compile_ptx_with_opts};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

/// One CUDA device with the kernels loaded.
pub struct CudaBackend {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    module: Arc<CudaModule>,
    arch: &'static str,
    /// Gaussian row-sum modules, compiled once per dimension (`-DDIM=d`).
    gauss: Mutex<BTreeMap<usize, Arc<CudaModule>>>,
    contract: BTreeMap<String, String>,
}

fn err(what: &'static str) -> impl Fn(cudarc::driver::DriverError) -> GpuError {
    move |e| GpuError::Cuda { what, why: format!("{e:?}") }
}

/// The process's CUDA backend, probed on first use; `Err` says why there is none.
pub fn shared() -> Result<Arc<dyn Backend>, String> {
    static SHARED: OnceLock<Result<Arc<CudaBackend>, String>> = OnceLock::new();
    SHARED.get_or_init(|| CudaBackend::probe(0).map(Arc::new)).clone().map(|b| b as Arc<dyn Backend>)
}

/// The concrete backend (for benchmarks that time device-resident work).
pub fn concrete() -> Result<Arc<CudaBackend>, String> {
    static SHARED: OnceLock<Result<Arc<CudaBackend>, String>> = OnceLock::new();
    SHARED.get_or_init(|| CudaBackend::probe(0).map(Arc::new)).clone()
}

fn compile(arch: &'static str, extra: Vec<String>) -> Result<cudarc::nvrtc::Ptx, String> {
    compile_ptx_with_opts(KERNELS, CompileOptions { arch: Some(arch), fmad: Some(false), options: extra, ..Default::default() })
        .map_err(|e| format!("NVRTC could not compile the kernels: {e:?}"))
}

/// Compiles every kernel for `arch` (and the Gaussian kernel for a few dimensions) with NVRTC
/// alone: checks the sources on a machine with libnvrtc but no driver or device.
/// Returns the PTX per dimension.
pub fn compile_check(arch: &'static str) -> Result<Vec<(usize, String)>, String> {
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err("libnvrtc is not on the loader path".into());
    }
    [1, 3, 16, GAUSS_MAX_DIM].into_iter().map(|d| Ok((d, compile(arch, vec![format!("-DDIM={d}")])?.to_src()))).collect()
}

impl CudaBackend {
    /// Opens device `ordinal`: driver library, device count, NVRTC, context, kernels. A missing
    /// driver or a stub library is an `Err`, never a panic (cudarc panics on some of them).
    pub fn probe(ordinal: usize) -> Result<CudaBackend, String> {
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err("no CUDA driver library (libcuda.so / libcuda.so.1) on the loader path".into());
        }
        match std::panic::catch_unwind(|| Self::open(ordinal)) {
            Ok(r) => r,
            Err(p) => Err(format!(
                "the CUDA driver library is incomplete: {}",
                p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
            )),
        }
    }

    fn open(ordinal: usize) -> Result<CudaBackend, String> {
        let n = CudaContext::device_count().map_err(|e| format!("cuInit/cuDeviceGetCount failed: {e:?}"))?;
        if n as i64 <= ordinal as i64 {
            return Err(format!("the CUDA driver sees {n} device(s)"));
        }
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return Err("a CUDA device is present but libnvrtc is not on the loader path".into());
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| format!("cannot open device {ordinal}: {e:?}"))?;
        let (maj, min) = ctx.compute_capability().map_err(|e| format!("{e:?}"))?;
        let arch: &'static str = Box::leak(format!("compute_{maj}{min}").into_boxed_str());
        let module = ctx.load_module(compile(arch, vec![])?).map_err(|e| format!("cannot load the kernels: {e:?}"))?;
        let mut driver = 0i32;
        unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut driver) };
        let (mut nv_maj, mut nv_min) = (0i32, 0i32);
        unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut nv_maj, &mut nv_min) };
        let name = ctx.name().unwrap_or_else(|_| "unknown".into());
        let contract = BTreeMap::from([
            ("kind".to_string(), "cuda".to_string()),
            ("device".to_string(), name),
            ("arch".to_string(), format!("sm_{maj}{min}")),
            ("driver".to_string(), format!("{}.{}", driver / 1000, (driver % 1000) / 10)),
            ("nvrtc".to_string(), format!("{nv_maj}.{nv_min}")),
            ("kernels".to_string(), crate::kernels_digest()),
            ("layout".to_string(), LAYOUT_VERSION.to_string()),
        ]);
        let stream = ctx.default_stream();
        Ok(CudaBackend { ctx, stream, module, arch, gauss: Mutex::new(BTreeMap::new()), contract })
    }

    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    fn func(&self, name: &str) -> Result<CudaFunction, GpuError> {
        self.module.load_function(name).map_err(err("load_function"))
    }

    pub fn upload<T: cudarc::driver::DeviceRepr>(&self, host: &[T]) -> Result<CudaSlice<T>, GpuError> {
        self.stream.clone_htod(host).map_err(err("upload"))
    }

    pub fn download<T: cudarc::driver::DeviceRepr + Default + Clone>(&self, dev: &CudaSlice<T>) -> Result<Vec<T>, GpuError> {
        self.stream.clone_dtoh(dev).map_err(err("download"))
    }

    /// Milliseconds `work` takes on the stream, between two timing events.
    pub fn time_ms(&self, work: impl FnOnce() -> Result<(), GpuError>) -> Result<f64, GpuError> {
        let a = self.stream.record_event(Some(CU_EVENT_DEFAULT)).map_err(err("event"))?;
        work()?;
        let b = self.stream.record_event(Some(CU_EVENT_DEFAULT)).map_err(err("event"))?;
        b.synchronize().map_err(err("event"))?;
        Ok(a.elapsed_ms(&b).map_err(err("event"))? as f64)
    }

    /// The deterministic sum or dot of device-resident f32 data (y: `None` for a sum).
    pub fn reduce_dev(&self, x: &CudaSlice<f32>, y: Option<&CudaSlice<f32>>, n: usize) -> Result<f64, GpuError> {
        if n == 0 {
            return Ok(0.0);
        }
        Ok(self.download(&self.reduce_launch(x, y, n)?)?[0])
    }

    /// Launches the reduction stages; the result stays on the device (one f64).
    pub fn reduce_launch(&self, x: &CudaSlice<f32>, y: Option<&CudaSlice<f32>>, n: usize) -> Result<CudaSlice<f64>, GpuError> {
        let blocks = n.div_ceil(SUM_BLOCK).max(1);
        // Every entry is written by the kernel, so the buffers need no zeroing.
        let mut partial = unsafe { self.stream.alloc::<f64>(blocks) }.map_err(err("alloc"))?;
        let f1 = self.func("det_sum_stage1")?;
        let cfg = |b: usize| LaunchConfig { grid_dim: (b as u32, 1, 1), block_dim: (SUM_THREADS as u32, 1, 1), shared_mem_bytes: 0 };
        let n64 = n as u64;
        unsafe {
            let mut l = self.stream.launch_builder(&f1);
            l.arg(x);
            let null = 0u64;
            match y {
                Some(y) => l.arg(y),
                None => l.arg(&null),
            };
            l.arg(&n64).arg(&mut partial).launch(cfg(blocks)).map_err(err("det_sum_stage1"))?;
        }
        let f2 = self.func("det_sum_stage2")?;
        let mut len = blocks;
        while len > 1 {
            let b = len.div_ceil(SUM2_BLOCK);
            let mut next = unsafe { self.stream.alloc::<f64>(b) }.map_err(err("alloc"))?;
            let l64 = len as u64;
            unsafe { self.stream.launch_builder(&f2).arg(&partial).arg(&l64).arg(&mut next).launch(cfg(b)).map_err(err("det_sum_stage2"))? };
            partial = next;
            len = b;
        }
        Ok(partial)
    }

    pub fn philox_fill_dev(&self, key: [u32; 2], stream: u64, out: &mut CudaSlice<u32>, n: usize) -> Result<(), GpuError> {
        let groups = n.div_ceil(4);
        let f = self.func("philox_fill")?;
        let n64 = n as u64;
        let cfg = LaunchConfig { grid_dim: (groups.div_ceil(256).max(1) as u32, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
        unsafe { self.stream.launch_builder(&f).arg(&key[0]).arg(&key[1]).arg(&stream).arg(&n64).arg(out).launch(cfg).map_err(err("philox_fill"))? };
        Ok(())
    }

    pub fn boot_dev(&self, psi: &CudaSlice<f32>, n: usize, key: [u32; 2], stream0: u64, draws: usize, out: &mut CudaSlice<f64>) -> Result<(), GpuError> {
        self.boot_kernel("rademacher_boot", psi, n, key, stream0, draws, out)
    }

    pub fn gaussian_boot_dev(&self, psi: &CudaSlice<f32>, n: usize, key: [u32; 2], stream0: u64, draws: usize, out: &mut CudaSlice<f64>) -> Result<(), GpuError> {
        self.boot_kernel("gaussian_boot", psi, n, key, stream0, draws, out)
    }

    /// A bootstrap kernel on host data: upload ψ, run `name`, download the draws.
    fn boot_host(&self, name: &'static str, psi: &[f32], key: [u32; 2], stream0: u64, draws: usize) -> Result<Vec<f64>, GpuError> {
        if draws == 0 {
            return Ok(vec![]);
        }
        if psi.is_empty() {
            return Ok(vec![0.0; draws]);
        }
        let pd = self.upload(psi)?;
        let mut out = self.stream.alloc_zeros::<f64>(draws).map_err(err("alloc"))?;
        self.boot_kernel(name, &pd, psi.len(), key, stream0, draws, &mut out)?;
        self.download(&out)
    }

    #[allow(clippy::too_many_arguments)]
    fn boot_kernel(&self, name: &'static str, psi: &CudaSlice<f32>, n: usize, key: [u32; 2], stream0: u64, draws: usize, out: &mut CudaSlice<f64>) -> Result<(), GpuError> {
        let f = self.func(name)?;
        let (n64, d64) = (n as u64, draws as u64);
        let cfg = LaunchConfig { grid_dim: (draws.div_ceil(BOOT_REPS) as u32, 1, 1), block_dim: (SUM_THREADS as u32, 1, 1), shared_mem_bytes: 0 };
        unsafe {
            self.stream
                .launch_builder(&f)
                .arg(psi)
                .arg(&n64)
                .arg(&key[0])
                .arg(&key[1])
                .arg(&stream0)
                .arg(&d64)
                .arg(out)
                .launch(cfg)
                .map_err(err(name))?
        };
        Ok(())
    }

    /// Grouped matrix-vector products on device-resident, transposed matrices (see the kernel).
    #[allow(clippy::too_many_arguments)]
    pub fn matvecs_dev(&self, mt: &CudaSlice<f64>, xs: &CudaSlice<f64>, tiles: &CudaSlice<u32>, order: &CudaSlice<u32>, n_tiles: usize, d: usize, out: &mut CudaSlice<f64>) -> Result<(), GpuError> {
        let f = self.func("grouped_matvecs")?;
        let d64 = d as u64;
        // One row per thread in a single pass where it fits (the kernel needs ~170 registers,
        // so at most 384 threads per block; 352 leaves headroom).
        let threads = d.next_multiple_of(32).min(352) as u32;
        let cfg = LaunchConfig { grid_dim: (n_tiles as u32, 1, 1), block_dim: (threads, 1, 1), shared_mem_bytes: (MV_TILE * d * 8) as u32 };
        unsafe { self.stream.launch_builder(&f).arg(mt).arg(xs).arg(tiles).arg(order).arg(&d64).arg(out).launch(cfg).map_err(err("grouped_matvecs"))? };
        Ok(())
    }

    fn gauss_module(&self, d: usize) -> Result<Arc<CudaModule>, GpuError> {
        let mut cache = self.gauss.lock().expect("gauss module cache");
        if let Some(m) = cache.get(&d) {
            return Ok(m.clone());
        }
        let ptx = compile(self.arch, vec![format!("-DDIM={d}")]).map_err(|why| GpuError::Cuda { what: "NVRTC", why })?;
        let m = self.ctx.load_module(ptx).map_err(err("load_module"))?;
        cache.insert(d, m.clone());
        Ok(m)
    }

    /// Gaussian row sums of device-resident data into `out` (n values).
    #[allow(clippy::too_many_arguments)]
    pub fn gauss_dev(&self, x: &CudaSlice<f32>, y: &CudaSlice<f32>, w: &CudaSlice<f32>, n: usize, m: usize, d: usize, gamma: f32, out: &mut CudaSlice<f64>) -> Result<(), GpuError> {
        let module = self.gauss_module(d)?;
        let rows = module.load_function("gauss_rows").map_err(err("load_function"))?;
        let combine = module.load_function("gauss_combine").map_err(err("load_function"))?;
        let chunks = m.div_ceil(GAUSS_COLS).max(1);
        let mut partial = self.stream.alloc_zeros::<f64>(chunks * n).map_err(err("alloc"))?;
        let (n64, m64, c64) = (n as u64, m as u64, chunks as u64);
        let cfg = LaunchConfig { grid_dim: (n.div_ceil(GAUSS_ROWS) as u32, chunks as u32, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
        unsafe {
            self.stream
                .launch_builder(&rows)
                .arg(x)
                .arg(y)
                .arg(w)
                .arg(&n64)
                .arg(&m64)
                .arg(&gamma)
                .arg(&mut partial)
                .launch(cfg)
                .map_err(err("gauss_rows"))?
        };
        let cfg = LaunchConfig { grid_dim: (n.div_ceil(256) as u32, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
        unsafe { self.stream.launch_builder(&combine).arg(&partial).arg(&n64).arg(&c64).arg(out).launch(cfg).map_err(err("gauss_combine"))? };
        Ok(())
    }
}

impl Backend for CudaBackend {
    fn kind(&self) -> &'static str {
        "cuda"
    }

    fn contract(&self) -> BTreeMap<String, String> {
        self.contract.clone()
    }

    fn det_sum(&self, x: &[f32]) -> Result<f64, GpuError> {
        if x.is_empty() {
            return Ok(0.0);
        }
        let xd = self.upload(x)?;
        self.reduce_dev(&xd, None, x.len())
    }

    fn det_dot(&self, x: &[f32], y: &[f32]) -> Result<f64, GpuError> {
        crate::check_len("y", y.len(), x.len())?;
        if x.is_empty() {
            return Ok(0.0);
        }
        let (xd, yd) = (self.upload(x)?, self.upload(y)?);
        self.reduce_dev(&xd, Some(&yd), x.len())
    }

    fn philox_fill(&self, key: [u32; 2], stream: u64, n: usize) -> Result<Vec<u32>, GpuError> {
        if n == 0 {
            return Ok(vec![]);
        }
        let mut out = self.stream.alloc_zeros::<u32>(n).map_err(err("alloc"))?;
        self.philox_fill_dev(key, stream, &mut out, n)?;
        self.download(&out)
    }

    fn rademacher_boot(&self, psi: &[f32], key: [u32; 2], stream0: u64, draws: usize) -> Result<Vec<f64>, GpuError> {
        self.boot_host("rademacher_boot", psi, key, stream0, draws)
    }

    fn gaussian_boot(&self, psi: &[f32], key: [u32; 2], stream0: u64, draws: usize) -> Result<Vec<f64>, GpuError> {
        self.boot_host("gaussian_boot", psi, key, stream0, draws)
    }

    fn rademacher_sides(&self, a: &[f64], m: usize, plus: &[bool], key: [u32; 2], stream0: u64, draws: usize) -> Result<Sides, GpuError> {
        let n = plus.len();
        crate::check_len("score matrix", a.len(), n * m)?;
        if draws == 0 || m == 0 || n == 0 {
            return Ok(Sides { plus: vec![0.0; draws * m], minus: vec![0.0; draws * m] });
        }
        let ad = self.upload(a)?;
        let pd = self.upload(&plus.iter().map(|&p| p as u8).collect::<Vec<u8>>())?;
        let mut po = self.stream.alloc_zeros::<f64>(draws * m).map_err(err("alloc"))?;
        let mut mo = self.stream.alloc_zeros::<f64>(draws * m).map_err(err("alloc"))?;
        let f = self.func("rademacher_sides")?;
        let (n64, m64) = (n as u64, m as u64);
        let cfg = LaunchConfig { grid_dim: (draws as u32, 1, 1), block_dim: (m.clamp(32, 128).next_multiple_of(32) as u32, 1, 1), shared_mem_bytes: 0 };
        unsafe {
            self.stream
                .launch_builder(&f)
                .arg(&ad)
                .arg(&pd)
                .arg(&n64)
                .arg(&m64)
                .arg(&key[0])
                .arg(&key[1])
                .arg(&stream0)
                .arg(&mut po)
                .arg(&mut mo)
                .launch(cfg)
                .map_err(err("rademacher_sides"))?
        };
        Ok(Sides { plus: self.download(&po)?, minus: self.download(&mo)? })
    }

    fn grouped_matvecs(&self, mats: &[f64], d: usize, group: &[u32], xs: &[f64]) -> Result<Vec<f64>, GpuError> {
        crate::matvec_shapes(mats, d, group, xs)?;
        if d > MV_MAX_DIM {
            return crate::Cpu.grouped_matvecs(mats, d, group, xs);
        }
        if group.is_empty() {
            return Ok(vec![]);
        }
        let g = mats.len() / (d * d);
        let mut mt = vec![0.0; mats.len()];
        for k in 0..g {
            let (src, dst) = (&mats[k * d * d..(k + 1) * d * d], &mut mt[k * d * d..(k + 1) * d * d]);
            for i in 0..d {
                for j in 0..d {
                    dst[j * d + i] = src[i * d + j];
                }
            }
        }
        let (tiles, order) = mv_tiles(group);
        let (md, xd, td, od) = (self.upload(&mt)?, self.upload(xs)?, self.upload(&tiles)?, self.upload(&order)?);
        let mut out = self.stream.alloc_zeros::<f64>(xs.len()).map_err(err("alloc"))?;
        self.matvecs_dev(&md, &xd, &td, &od, tiles.len() / 3, d, &mut out)?;
        self.download(&out)
    }

    fn gauss_row_sums(&self, x: &[f32], y: &[f32], d: usize, w: &[f32], gamma: f32) -> Result<Vec<f64>, GpuError> {
        let (n, m) = crate::gauss_shapes(x, y, d, w)?;
        if d > GAUSS_MAX_DIM {
            // The column tile no longer fits in shared memory: the CPU twin answers (same contract).
            return crate::Cpu.gauss_row_sums(x, y, d, w, gamma);
        }
        if n == 0 {
            return Ok(vec![]);
        }
        if m == 0 {
            return Ok(vec![0.0; n]);
        }
        let (xd, yd, wd) = (self.upload(x)?, self.upload(y)?, self.upload(w)?);
        let mut out = self.stream.alloc_zeros::<f64>(n).map_err(err("alloc"))?;
        self.gauss_dev(&xd, &yd, &wd, n, m, d, gamma, &mut out)?;
        self.download(&out)
    }
}
