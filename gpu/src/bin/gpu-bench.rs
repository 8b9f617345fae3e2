//! `gpu-bench`: on a CUDA machine, measures the copy and SGEMM ceilings and prints one row per
//! kernel (median time, throughput, share of its ceiling, parity with the CPU twin).

#[cfg(feature = "cuda")]
fn main() {
    if std::env::args().any(|a| a == "--compile-only") {
        match reprise_gpu::cuda::compile_check("compute_90") {
            Ok(ptx) => {
                println!("kernels compile for compute_90 (NVRTC, --fmad=false)");
                // `--ptx-dir DIR` keeps the PTX for ptxas -v (registers, spills, shared memory).
                if let Some(dir) = std::env::args().skip_while(|a| a != "--ptx-dir").nth(1) {
                    for (d, src) in ptx {
                        let path = std::path::Path::new(&dir).join(format!("kernels_dim{d}.ptx"));
                        if let Err(e) = std::fs::write(&path, src) {
                            eprintln!("gpu-bench: cannot write {}: {e}", path.display());
                            std::process::exit(1);
                        }
                    }
                }
            }
            Err(e) => {
                eprintln!("gpu-bench: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if let Err(e) = bench::run() {
        eprintln!("gpu-bench: {e}");
        std::process::exit(1);
    }
}

#[cfg(not(feature = "cuda"))]
fn main() {
    eprintln!("gpu-bench: built without the `cuda` feature; nothing to measure");
    std::process::exit(2);
}

#[cfg(feature = "cuda")]
mod bench {
    use cudarc::cublas::sys::cublasOperation_t::CUBLAS_OP_N;
    use cudarc::cublas::{CudaBlas, Gemm, GemmConfig};
    use reprise_gpu::cuda::{CudaBackend, concrete};
    use reprise_gpu::{Backend, Cpu, GAUSS_RTOL, GpuError};

    type R<T> = Result<T, Box<dyn std::error::Error>>;

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    /// Median over `reps` timed repetitions after one warm-up.
    fn timed(g: &CudaBackend, reps: usize, mut f: impl FnMut() -> Result<(), GpuError>) -> R<f64> {
        f()?;
        let mut t = Vec::new();
        for _ in 0..reps {
            t.push(g.time_ms(&mut f)?);
        }
        Ok(median(t))
    }

    fn data(n: usize, stream: u64) -> Vec<f32> {
        let mut rng = rand_philox::Philox::new([21, 22], (stream as u128) << 64);
        (0..n).map(|_| rand_philox::u32_to_unit_f32(rng.next_u32()) * 2.0 - 0.5).collect()
    }

    fn row(name: &str, size: &str, ms: f64, rate: String, share: String, parity: &str) {
        println!("| {name:<22} | {size:<24} | {ms:>9.3} | {rate:>22} | {share:>18} | {parity:<22} |");
    }

    pub fn run() -> R<()> {
        let g = concrete().map_err(|e| format!("no CUDA backend: {e}"))?;
        let c = g.contract();
        println!("device: {} ({}), driver {}, NVRTC {}, layout {}", c["device"], c["arch"], c["driver"], c["nvrtc"], c["layout"]);
        let s = g.stream().clone();

        // Ceilings: a 2 GiB device-to-device copy (bytes read + written) and SGEMM 8192³.
        let big = 1usize << 29;
        let src = g.upload(&vec![1.0f32; big])?;
        let mut dst = s.alloc_zeros::<f32>(big)?;
        let copy_ms = timed(&g, 5, || s.memcpy_dtod(&src, &mut dst).map_err(|e| GpuError::Cuda { what: "copy", why: format!("{e:?}") }))?;
        let copy_bw = 2.0 * 4.0 * big as f64 / (copy_ms * 1e-3);
        drop(dst);
        let k = 8192usize;
        let a = g.upload(&data(k * k, 1))?;
        let b = g.upload(&data(k * k, 2))?;
        let mut cm = s.alloc_zeros::<f32>(k * k)?;
        let blas = CudaBlas::new(s.clone())?;
        let cfg = GemmConfig { transa: CUBLAS_OP_N, transb: CUBLAS_OP_N, m: k as i32, n: k as i32, k: k as i32, alpha: 1.0f32, lda: k as i32, ldb: k as i32, beta: 0.0, ldc: k as i32 };
        let gemm_ms = timed(&g, 5, || unsafe { blas.gemm(cfg, &a, &b, &mut cm) }.map_err(|e| GpuError::Cuda { what: "sgemm", why: format!("{e:?}") }))?;
        let flops = 2.0 * (k as f64).powi(3) / (gemm_ms * 1e-3);
        drop((a, b, cm));
        println!("ceilings: copy {:.2} TB/s (2 GiB, read+write), SGEMM {:.1} TFLOP/s (8192³, FP32, no TF32)", copy_bw / 1e12, flops / 1e12);
        println!();
        println!("| {:<22} | {:<24} | {:>9} | {:>22} | {:>18} | {:<22} |", "kernel", "size", "median ms", "throughput", "share of ceiling", "parity with CPU twin");
        println!("|{}|", ["-", "-", "-", "-", "-", "-"].iter().map(|_| "---").collect::<Vec<_>>().join("|"));

        // Deterministic sum over 2^28 f32 (1 GiB read).
        let n = 1usize << 28;
        let host = data(n, 3);
        let xd = g.upload(&host)?;
        let mut res = None;
        let ms = timed(&g, 9, || {
            res = Some(g.reduce_launch(&xd, None, n)?);
            Ok(())
        })?;
        let sum = g.download(res.as_ref().expect("timed ran"))?[0];
        let ok = sum.to_bits() == Cpu.det_sum(&host)?.to_bits();
        let bw = 4.0 * n as f64 / (ms * 1e-3);
        row("det_sum", "2^28 f32", ms, format!("{:.2} TB/s", bw / 1e12), format!("{:.0} % of copy", 100.0 * bw / copy_bw), if ok { "bitwise" } else { "MISMATCH" });
        drop(xd);

        // Philox fill, 2^26 words written.
        let n = 1usize << 26;
        let mut out = s.alloc_zeros::<u32>(n)?;
        let ms = timed(&g, 9, || g.philox_fill_dev([1, 2], 3, &mut out, n))?;
        let ok = g.download(&out)? == Cpu.philox_fill([1, 2], 3, n)?;
        let bw = 4.0 * n as f64 / (ms * 1e-3);
        row("philox_fill", "2^26 words", ms, format!("{:.2} TB/s", bw / 1e12), format!("{:.0} % of copy", 100.0 * bw / copy_bw), if ok { "word for word" } else { "MISMATCH" });
        drop(out);

        // Scalar multiplier bootstrap, n = 2^20, B = 8192, multipliers made in the kernel.
        let (n, draws) = (1usize << 20, 8192usize);
        let psi = data(n, 4);
        let pd = g.upload(&psi)?;
        let mut od = s.alloc_zeros::<f64>(draws)?;
        let ms = timed(&g, 5, || g.boot_dev(&pd, n, [5, 6], 0, draws, &mut od))?;
        let got = g.download(&od)?;
        let check: Vec<usize> = vec![0, 1, 2, 3, 4097, draws - 1];
        let ok = check.iter().all(|&b| Cpu.rademacher_boot(&psi, [5, 6], b as u64, 1).map(|v| v[0].to_bits() == got[b].to_bits()).unwrap_or(false));
        let floor_ms = 4.0 * (n * draws) as f64 / copy_bw * 1e3; // stored f32 ξ streamed at the copy rate
        row(
            "rademacher_boot",
            "n=2^20, B=8192",
            ms,
            format!("{:.2} T elem·rep/s", (n * draws) as f64 / (ms * 1e-3) / 1e12),
            format!("{:.1}× under GEMV floor {:.2} ms", floor_ms / ms, floor_ms),
            if ok { "bitwise (6 replicates)" } else { "MISMATCH" },
        );
        // The same with Gaussian multipliers (Box–Muller in the kernel, f64 log/sincos).
        let ms = timed(&g, 5, || g.gaussian_boot_dev(&pd, n, [5, 6], 0, draws, &mut od))?;
        let got = g.download(&od)?;
        let scale: f64 = psi.iter().map(|v| v.abs() as f64).sum();
        let worst = check.iter().map(|&b| Cpu.gaussian_boot(&psi, [5, 6], b as u64, 1).map(|v| (v[0] - got[b]).abs() / scale).unwrap_or(f64::INFINITY)).fold(0.0, f64::max);
        row(
            "gaussian_boot",
            "n=2^20, B=8192",
            ms,
            format!("{:.2} T elem·rep/s", (n * draws) as f64 / (ms * 1e-3) / 1e12),
            format!("{:.1}× under GEMV floor {:.2} ms", floor_ms / ms, floor_ms),
            &if worst <= reprise_gpu::GAUSSIAN_BOOT_RTOL { format!("rel {worst:.1e} ≤ 1e-12") } else { format!("OUT OF TOL {worst:.1e}") },
        );
        drop((pd, od));

        // Two-sided bootstrap at an R3D-like size: 20 000 units, 99 quantiles, 2000 draws.
        let (n, m, draws) = (20_000usize, 99usize, 2000usize);
        let a: Vec<f64> = data(n * m, 5).into_iter().map(f64::from).collect();
        let plus: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
        let t0 = std::time::Instant::now();
        let sides = g.rademacher_sides(&a, m, &plus, [1, 1], 0, draws)?;
        let gpu_ms = t0.elapsed().as_secs_f64() * 1e3;
        let t0 = std::time::Instant::now();
        let cpu = Cpu.rademacher_sides(&a, m, &plus, [1, 1], 0, 16)?;
        let cpu_ms = t0.elapsed().as_secs_f64() * 1e3 * (draws as f64 / 16.0);
        let ok = sides.plus[..16 * m] == cpu.plus[..] && sides.minus[..16 * m] == cpu.minus[..];
        row("rademacher_sides", "20000×99, B=2000", gpu_ms, format!("{:.1} G elem·rep/s", (n * m * draws) as f64 / (gpu_ms * 1e-3) / 1e9), format!("{:.0}× CPU twin, {} threads", cpu_ms / gpu_ms, std::thread::available_parallelism().map_or(1, |n| n.get())), if ok { "bitwise (16 replicates)" } else { "MISMATCH" });

        // DisCoCat: 10 000 sentence vectors against 100 verb matrices, d = 300, f64, dot4 order.
        let (d, k, verbs) = (300usize, 10_000usize, 100usize);
        let mats: Vec<f64> = data(verbs * d * d, 8).into_iter().map(f64::from).collect();
        let xs: Vec<f64> = data(k * d, 9).into_iter().map(f64::from).collect();
        let group: Vec<u32> = (0..k).map(|i| ((i * 2654435761) % verbs) as u32).collect();
        let mut mt = vec![0.0; mats.len()];
        for v in 0..verbs {
            for i in 0..d {
                for j in 0..d {
                    mt[v * d * d + j * d + i] = mats[v * d * d + i * d + j];
                }
            }
        }
        let (tiles, order) = reprise_gpu::layout::mv_tiles(&group);
        let (md, xd, td, odr) = (g.upload(&mt)?, g.upload(&xs)?, g.upload(&tiles)?, g.upload(&order)?);
        let mut od = s.alloc_zeros::<f64>(k * d)?;
        let ms = timed(&g, 9, || g.matvecs_dev(&md, &xd, &td, &odr, tiles.len() / 3, d, &mut od))?;
        let got = g.download(&od)?;
        let t0 = std::time::Instant::now();
        let cpu = Cpu.grouped_matvecs(&mats, d, &group, &xs)?;
        let cpu_ms = t0.elapsed().as_secs_f64() * 1e3;
        let ok = got.iter().zip(&cpu).all(|(a, b)| a.to_bits() == b.to_bits());
        row(
            "grouped_matvecs (f64)",
            "10k × 300², 100 verbs",
            ms,
            format!("{:.0} GFLOP/s f64", 2.0 * (k * d * d) as f64 / (ms * 1e-3) / 1e9),
            format!("{:.0}× CPU twin, {} threads", cpu_ms / ms, std::thread::available_parallelism().map_or(1, |n| n.get())),
            if ok { "bitwise (all)" } else { "MISMATCH" },
        );
        drop((md, xd, td, odr, od));

        // Gaussian row sums, n = m = 32768, d = 16: no Gram matrix stored.
        let (n, d) = (32768usize, 16usize);
        let (x, w) = (data(n * d, 6), data(n, 7));
        let (xd, wd) = (g.upload(&x)?, g.upload(&w)?);
        let mut od = s.alloc_zeros::<f64>(n)?;
        let gamma = 0.5 / d as f32;
        let ms = timed(&g, 5, || g.gauss_dev(&xd, &xd, &wd, n, n, d, gamma, &mut od))?;
        let got = g.download(&od)?;
        let rows = 64;
        let cpu = Cpu.gauss_row_sums(&x[..rows * d], &x, d, &w, gamma)?;
        let wabs: Vec<f32> = w.iter().map(|v| v.abs()).collect();
        let scale = Cpu.gauss_row_sums(&x[..rows * d], &x, d, &wabs, gamma)?;
        let worst = (0..rows).map(|i| (got[i] - cpu[i]).abs() / scale[i]).fold(0.0, f64::max);
        let pairs = (n * n) as f64 / (ms * 1e-3);
        let flop_per_pair = (3 * d + 4) as f64;
        row(
            "gauss_row_sums",
            "32768², d=16",
            ms,
            format!("{:.0} G pairs/s", pairs / 1e9),
            format!("{:.0} % of SGEMM", 100.0 * pairs * flop_per_pair / flops),
            &if worst <= GAUSS_RTOL { format!("rel {worst:.1e} ≤ {GAUSS_RTOL:.0e}") } else { format!("OUT OF TOL {worst:.1e}") },
        );
        Ok(())
    }
}
