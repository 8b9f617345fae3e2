// Reprise GPU kernels, compiled at run time by NVRTC with --fmad=false (no FMA contraction).
// Every reduction has a fixed decomposition and a fixed shared-memory tree; gpu/src/cpu.rs
// emulates each one loop for loop. Layout constants live in gpu/src/layout.rs: keep them equal.

typedef unsigned int u32;
typedef unsigned long long u64;

#define SUM_THREADS 256
#define SUM_ITEMS 8            // float4 loads per thread in stage 1 (8192 floats per block)
#define SUM2_ITEMS 8           // doubles per thread in stage 2 (2048 per block)
#define BOOT_REPS 4            // replicates per block of the scalar bootstrap
#define CHUNK 4096             // elements per warp-chunk of the Rademacher layout

__device__ __forceinline__ void philox10(u32 c[4], u32 k0, u32 k1) {
    #pragma unroll
    for (int r = 0; r < 10; r++) {
        if (r > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        u32 hi0 = __umulhi(0xD2511F53u, c[0]), lo0 = 0xD2511F53u * c[0];
        u32 hi1 = __umulhi(0xCD9E8D57u, c[2]), lo1 = 0xCD9E8D57u * c[2];
        u32 n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
        c[0] = n0; c[1] = lo1; c[2] = n2; c[3] = lo0;
    }
}

// The Philox block `blk` of stream `stream`: counter words (blk_lo, blk_hi, stream_lo, stream_hi).
__device__ __forceinline__ void philox_block(u64 stream, u64 blk, u32 k0, u32 k1, u32 out[4]) {
    out[0] = (u32)blk; out[1] = (u32)(blk >> 32); out[2] = (u32)stream; out[3] = (u32)(stream >> 32);
    philox10(out, k0, k1);
}

__device__ __forceinline__ void tree256(double* sh, int t) {
    for (int s = SUM_THREADS / 2; s > 0; s >>= 1) {
        if (t < s) sh[t] += sh[t + s];
        __syncthreads();
    }
}

// Stage 1 of the deterministic sum (dot when y != 0): block g covers [g*8192, (g+1)*8192);
// thread t adds, in f64, elements g*8192 + (k*256 + t)*4 + c for k = 0..7, c = 0..3.
extern "C" __global__ void det_sum_stage1(const float* x, const float* y, u64 n, double* partial) {
    __shared__ double sh[SUM_THREADS];
    int t = threadIdx.x;
    u64 base = (u64)blockIdx.x * (SUM_THREADS * SUM_ITEMS * 4);
    double acc = 0.0;
    if (base + SUM_THREADS * SUM_ITEMS * 4 <= n) {
        // A full block: issue every load before the first add (same order of adds).
        float4 a[SUM_ITEMS];
        #pragma unroll
        for (int k = 0; k < SUM_ITEMS; k++) a[k] = *reinterpret_cast<const float4*>(x + base + ((u64)k * SUM_THREADS + t) * 4);
        if (y) {
            float4 b[SUM_ITEMS];
            #pragma unroll
            for (int k = 0; k < SUM_ITEMS; k++) b[k] = *reinterpret_cast<const float4*>(y + base + ((u64)k * SUM_THREADS + t) * 4);
            #pragma unroll
            for (int k = 0; k < SUM_ITEMS; k++) {
                acc += (double)a[k].x * (double)b[k].x; acc += (double)a[k].y * (double)b[k].y;
                acc += (double)a[k].z * (double)b[k].z; acc += (double)a[k].w * (double)b[k].w;
            }
        } else {
            #pragma unroll
            for (int k = 0; k < SUM_ITEMS; k++) {
                acc += (double)a[k].x; acc += (double)a[k].y; acc += (double)a[k].z; acc += (double)a[k].w;
            }
        }
    } else {
        for (int k = 0; k < SUM_ITEMS; k++) {
            u64 i = base + ((u64)k * SUM_THREADS + t) * 4;
            for (int c = 0; c < 4; c++) {
                if (i + c < n) acc += y ? (double)x[i + c] * (double)y[i + c] : (double)x[i + c];
            }
        }
    }
    sh[t] = acc;
    __syncthreads();
    tree256(sh, t);
    if (t == 0) partial[blockIdx.x] = sh[0];
}

// Stage 2: f64 partials, block g covers [g*2048, (g+1)*2048); thread t adds k*256 + t, k = 0..7.
extern "C" __global__ void det_sum_stage2(const double* x, u64 n, double* partial) {
    __shared__ double sh[SUM_THREADS];
    int t = threadIdx.x;
    u64 base = (u64)blockIdx.x * (SUM_THREADS * SUM2_ITEMS);
    double acc = 0.0;
    #pragma unroll
    for (int k = 0; k < SUM2_ITEMS; k++) {
        u64 i = base + (u64)k * SUM_THREADS + t;
        if (i < n) acc += x[i];
    }
    sh[t] = acc;
    __syncthreads();
    tree256(sh, t);
    if (t == 0) partial[blockIdx.x] = sh[0];
}

// Philox fill in stream order: word 4g + w is component w of block g of `stream`.
extern "C" __global__ void philox_fill(u32 k0, u32 k1, u64 stream, u64 n, u32* out) {
    u64 g = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (g * 4 >= n) return;
    u32 w[4];
    philox_block(stream, g, k0, k1, w);
    if (g * 4 + 3 < n) {
        *reinterpret_cast<uint4*>(out + g * 4) = make_uint4(w[0], w[1], w[2], w[3]);
    } else {
        for (int c = 0; c < 4; c++) if (g * 4 + c < n) out[g * 4 + c] = w[c];
    }
}

// Rademacher multipliers, layout v2 ("thread-owned bits"): element i of replicate b uses bit
// k % 32 of word k / 32 (k = (i / 32) % 128) of Philox block (i / 4096) * 32 + i % 32 of stream
// stream0 + b; a set bit means -1.
//
// Scalar bootstrap T_b = sum_i xi_bi psi_i: block r handles replicates 4r..4r+3; warp w of 8 takes
// chunks w, w+8, ...; lane l adds, in f64, elements c*4096 + k*32 + l for k = 0..127; then a
// fixed tree over the 256 threads.
extern "C" __global__ void rademacher_boot(const float* psi, u64 n, u32 k0, u32 k1, u64 stream0, u64 draws, double* out) {
    __shared__ double sh[BOOT_REPS][SUM_THREADS];
    int t = threadIdx.x, warp = t >> 5, lane = t & 31;
    u64 b0 = (u64)blockIdx.x * BOOT_REPS;
    double acc[BOOT_REPS];
    #pragma unroll
    for (int r = 0; r < BOOT_REPS; r++) acc[r] = 0.0;
    u64 chunks = (n + CHUNK - 1) / CHUNK;
    for (u64 c = warp; c < chunks; c += SUM_THREADS / 32) {
        u32 bits[BOOT_REPS][4];
        #pragma unroll
        for (int r = 0; r < BOOT_REPS; r++) philox_block(stream0 + b0 + r, c * 32 + lane, k0, k1, bits[r]);
        u64 base = c * CHUNK + lane;
        bool full = base + (u64)127 * 32 < n;
        #pragma unroll
        for (int kw = 0; kw < 4; kw++) {
            u32 w[BOOT_REPS];
            #pragma unroll
            for (int r = 0; r < BOOT_REPS; r++) w[r] = bits[r][kw];
            #pragma unroll 8
            for (int kb = 0; kb < 32; kb++) {
                u64 i = base + (u64)(kw * 32 + kb) * 32;
                if (!full && i >= n) break;
                double v = (double)psi[i];
                #pragma unroll
                for (int r = 0; r < BOOT_REPS; r++) acc[r] += ((w[r] >> kb) & 1u) ? -v : v;
            }
        }
    }
    #pragma unroll
    for (int r = 0; r < BOOT_REPS; r++) sh[r][t] = acc[r];
    __syncthreads();
    for (int s = SUM_THREADS / 2; s > 0; s >>= 1) {
        if (t < s) {
            #pragma unroll
            for (int r = 0; r < BOOT_REPS; r++) sh[r][t] += sh[r][t + s];
        }
        __syncthreads();
    }
    if (t < BOOT_REPS && b0 + t < draws) out[b0 + t] = sh[t][0];
}

// Gaussian multipliers, layout g1: element i of replicate b is normal k = (i / 32) % 4 of Philox
// block (i / 128) * 32 + i % 32 of stream stream0 + b, by Box-Muller on words (w0, w1) for k = 0, 1
// (cos, sin) and (w2, w3) for k = 2, 3, with u(w) = (w + 0.5) / 2^32. log, sqrt and sincos are
// the device's: the CPU twin agrees within a declared tolerance, not bit for bit.
__device__ __forceinline__ double unit(u32 w) { return ((double)w + 0.5) * 2.3283064365386963e-10; }
extern "C" __global__ void gaussian_boot(const float* psi, u64 n, u32 k0, u32 k1, u64 stream0, u64 draws, double* out) {
    __shared__ double sh[BOOT_REPS][SUM_THREADS];
    int t = threadIdx.x, warp = t >> 5, lane = t & 31;
    u64 b0 = (u64)blockIdx.x * BOOT_REPS;
    double acc[BOOT_REPS];
    #pragma unroll
    for (int r = 0; r < BOOT_REPS; r++) acc[r] = 0.0;
    u64 chunks = (n + 127) / 128;
    for (u64 c = warp; c < chunks; c += SUM_THREADS / 32) {
        u64 base = c * 128 + lane;
        double v[4];
        #pragma unroll
        for (int k = 0; k < 4; k++) v[k] = base + k * 32 < n ? (double)psi[base + k * 32] : 0.0;
        #pragma unroll
        for (int r = 0; r < BOOT_REPS; r++) {
            u32 w[4];
            philox_block(stream0 + b0 + r, c * 32 + lane, k0, k1, w);
            double z[4], s, co;
            double r0 = sqrt(-2.0 * log(unit(w[0])));
            sincos(6.283185307179586 * unit(w[1]), &s, &co);
            z[0] = r0 * co; z[1] = r0 * s;
            double r1 = sqrt(-2.0 * log(unit(w[2])));
            sincos(6.283185307179586 * unit(w[3]), &s, &co);
            z[2] = r1 * co; z[3] = r1 * s;
            #pragma unroll
            for (int k = 0; k < 4; k++) if (base + k * 32 < n) acc[r] += z[k] * v[k];
        }
    }
    #pragma unroll
    for (int r = 0; r < BOOT_REPS; r++) sh[r][t] = acc[r];
    __syncthreads();
    for (int s = SUM_THREADS / 2; s > 0; s >>= 1) {
        if (t < s) {
            #pragma unroll
            for (int r = 0; r < BOOT_REPS; r++) sh[r][t] += sh[r][t + s];
        }
        __syncthreads();
    }
    if (t < BOOT_REPS && b0 + t < draws) out[b0 + t] = sh[t][0];
}

// Two-sided bootstrap of a score matrix a (n x m, row-major, f64): for replicate b (one block)
// and column j, P[b,j] = sum over plus-side units of xi_bi a_ij and M[b,j] over the others, each
// in unit index order (the CPU's order). Multipliers as in rademacher_boot; the block builds the
// signs of a 4096-unit chunk in shared memory, lane l of warp 0 computing Philox block c*32 + l.
extern "C" __global__ void rademacher_sides(const double* a, const unsigned char* plus, u64 n, u64 m,
                                            u32 k0, u32 k1, u64 stream0, double* p_out, double* m_out) {
    __shared__ u32 bits[32][4];
    u64 b = blockIdx.x;
    int t = threadIdx.x;
    for (u64 j0 = 0; j0 < m; j0 += blockDim.x) {
        u64 j = j0 + t;
        double ap = 0.0, am = 0.0;
        for (u64 c = 0; c * CHUNK < n; c++) {
            __syncthreads();
            if (t < 32) philox_block(stream0 + b, c * 32 + t, k0, k1, bits[t]);
            __syncthreads();
            if (j < m) {
                u64 end = min(n - c * CHUNK, (u64)CHUNK);
                for (u64 e = 0; e < end; e++) {
                    u64 i = c * CHUNK + e;
                    u32 k = (u32)(e >> 5), l = (u32)(e & 31);
                    double v = a[i * m + j];
                    if ((bits[l][k >> 5] >> (k & 31)) & 1u) v = -v;
                    if (plus[i]) ap += v; else am += v;
                }
            }
        }
        if (j < m) { p_out[b * m + j] = ap; m_out[b * m + j] = am; }
    }
}

// Gaussian-kernel row sums out_i = sum_j w_j exp(-gamma * |x_i - y_j|^2), DIM fixed at compile
// time. Block (bx, by) covers rows bx*512 + t and bx*512 + 256 + t, and columns
// [by*GCOLS, (by+1)*GCOLS) in tiles of 256 staged in shared memory; each row adds its terms in f64
// in column order and writes one partial per (row, column chunk); gauss_combine adds the chunks
// in order. Rows never interact, so how rows map to threads does not change any bit.
#ifndef DIM
#define DIM 1
#endif
#define GCOLS 4096
#define DIMP ((DIM + 3) / 4 * 4)
__device__ __forceinline__ float gauss_dist(const float* xi, const float* yj) {
    float s = 0.0f;
    #pragma unroll
    for (int d = 0; d < DIM; d++) { float df = xi[d] - yj[d]; s = fmaf(df, df, s); }
    return s;
}
extern "C" __global__ void gauss_rows(const float* x, const float* y, const float* w, u64 n, u64 m,
                                      float gamma, double* partial) {
    __shared__ __align__(16) float ys[256][DIMP];
    __shared__ float ws[256];
    int t = threadIdx.x;
    u64 i0 = (u64)blockIdx.x * 512 + t, i1 = i0 + 256;
    u64 jc = (u64)blockIdx.y * GCOLS;
    float x0[DIM], x1[DIM];
    #pragma unroll
    for (int d = 0; d < DIM; d++) {
        x0[d] = i0 < n ? x[i0 * DIM + d] : 0.0f;
        x1[d] = i1 < n ? x[i1 * DIM + d] : 0.0f;
    }
    double acc0 = 0.0, acc1 = 0.0;
    u64 jend = min(m, jc + GCOLS);
    for (u64 j0 = jc; j0 < jend; j0 += 256) {
        __syncthreads();
        if (j0 + t < jend) {
            #pragma unroll
            for (int d = 0; d < DIM; d++) ys[t][d] = y[(j0 + t) * DIM + d];
            ws[t] = w[j0 + t];
        }
        __syncthreads();
        u64 cnt = min((u64)256, jend - j0);
        for (u64 jj = 0; jj < cnt; jj++) {
            float yj[DIMP];
            #pragma unroll
            for (int d = 0; d < DIMP; d += 4) {
                float4 v = *reinterpret_cast<const float4*>(&ys[jj][d]);
                yj[d] = v.x; yj[d + 1] = v.y; yj[d + 2] = v.z; yj[d + 3] = v.w;
            }
            float wj = ws[jj];
            acc0 += (double)(wj * expf(-gamma * gauss_dist(x0, yj)));
            acc1 += (double)(wj * expf(-gamma * gauss_dist(x1, yj)));
        }
    }
    if (i0 < n) partial[(u64)blockIdx.y * n + i0] = acc0;
    if (i1 < n) partial[(u64)blockIdx.y * n + i1] = acc1;
}

extern "C" __global__ void gauss_combine(const double* partial, u64 n, u64 chunks, double* out) {
    u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    double acc = 0.0;
    for (u64 c = 0; c < chunks; c++) acc += partial[c * n + i];
    out[i] = acc;
}

// Grouped matrix-vector products out_k = M_{g(k)} x_k (f64, d x d matrices), every dot product
// summed as the CPU's dot4: four partial sums by j % 4 over j < c = d/4*4, a tail over c..d that
// starts from -0.0 (Rust's f64 Sum), then ((p0 + p1) + (p2 + p3)) + tail. Matrices arrive
// transposed (mt[g][j][i] = M_g[i][j]) so that threads i read consecutive addresses. A block
// handles one tile: up to MV_TILE vectors of one group (tiles[3t..3t+3] = group, first, count
// into `order`), their x staged in dynamic shared memory; thread i computes row i for all of them.
#define MV_TILE 8
extern "C" __global__ void grouped_matvecs(const double* mt, const double* xs, const u32* tiles, const u32* order,
                                           u64 d, double* out) {
    extern __shared__ double xsh[];
    u32 g = tiles[3 * blockIdx.x], first = tiles[3 * blockIdx.x + 1], cnt = tiles[3 * blockIdx.x + 2];
    for (u64 e = threadIdx.x; e < MV_TILE * d; e += blockDim.x) {
        u64 q = e / d, j = e % d;
        xsh[e] = q < cnt ? xs[(u64)order[first + q] * d + j] : 0.0;
    }
    __syncthreads();
    const double* m = mt + (u64)g * d * d;
    u64 c = d / 4 * 4;
    for (u64 i = threadIdx.x; i < d; i += blockDim.x) {
        double acc[MV_TILE][4];
        #pragma unroll
        for (int q = 0; q < MV_TILE; q++) { acc[q][0] = 0.0; acc[q][1] = 0.0; acc[q][2] = 0.0; acc[q][3] = 0.0; }
        #pragma unroll 2
        for (u64 j = 0; j < c; j += 4) {
            #pragma unroll
            for (int l = 0; l < 4; l++) {
                double mv = m[(j + l) * d + i];
                #pragma unroll
                for (int q = 0; q < MV_TILE; q++) acc[q][l] += mv * xsh[q * d + j + l];
            }
        }
        #pragma unroll
        for (int q = 0; q < MV_TILE; q++) {
            if (q < cnt) {
                double tail = -0.0;
                for (u64 j = c; j < d; j++) tail += m[j * d + i] * xsh[q * d + j];
                out[(u64)order[first + q] * d + i] = ((acc[q][0] + acc[q][1]) + (acc[q][2] + acc[q][3])) + tail;
            }
        }
    }
}
