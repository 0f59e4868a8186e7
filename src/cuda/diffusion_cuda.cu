/* CUDA backend of the diffusion (SRG) kernels: one thread per row of the
 * (rows, n) state runs kernels/diffusion.h (the CPU's code); the best
 * candidate per instance is a CUB segmented reduction with a fixed,
 * deterministic order (feasible first, then violation, objective, index). */
#include <cub/cub.cuh>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include "cuda_check.h"
#include "diffusion.h"

#include <string.h>

#define DOPT_DIFF_BLOCK 128

template <typename T> struct DiffT;
template <> struct DiffT<double> {
    typedef diff_batch_d batch;
    typedef diff_step_args_d args;
};
template <> struct DiffT<float> {
    typedef diff_batch_f batch;
    typedef diff_step_args_f args;
};

__device__ inline void dstep(const diff_step_args_d *a, const diff_batch_d *b, int n, int64_t r, double *x, double *e,
                             double *s)
{
    diff_step_entry_d(a, b, n, r, x, e, s);
}
__device__ inline void dstep(const diff_step_args_f *a, const diff_batch_f *b, int n, int64_t r, float *x, float *e,
                             float *s)
{
    diff_step_entry_f(a, b, n, r, x, e, s);
}
__device__ inline void dnoise(int n, const double *x0, double ab, uint64_t sd, uint32_t r, uint32_t st, double *xt,
                              double *e)
{
    diff_noise_forward_d(n, x0, ab, sd, r, st, xt, e);
}
__device__ inline void dnoise(int n, const float *x0, double ab, uint64_t sd, uint32_t r, uint32_t st, float *xt,
                              float *e)
{
    diff_noise_forward_f(n, x0, ab, sd, r, st, xt, e);
}
__device__ inline void dtarget(const diff_batch_d *b, const double *xt, const double *e, double ab, double go,
                               double gc, double lam, int rd, int64_t r, double *s, double *t)
{
    diff_target_entry_d(b, xt, e, ab, go, gc, lam, rd, r, s, t);
}
__device__ inline void dtarget(const diff_batch_f *b, const float *xt, const float *e, double ab, float go, float gc,
                               float lam, int rd, int64_t r, float *s, float *t)
{
    diff_target_entry_f(b, xt, e, ab, go, gc, lam, rd, r, s, t);
}
__device__ inline void dscore(const diff_batch_d *b, const double *x, int rd, int64_t r, double *s, double *o,
                              double *v)
{
    diff_score_entry_d(b, x, rd, r, s, o, v);
}
__device__ inline void dscore(const diff_batch_f *b, const float *x, int rd, int64_t r, float *s, float *o, float *v)
{
    diff_score_entry_f(b, x, rd, r, s, o, v);
}

template <typename T>
__global__ void diff_step_kernel(typename DiffT<T>::args a, typename DiffT<T>::batch bt, int n, int64_t rows, T *x,
                                 T *eps, T *scratch, size_t ssz)
{
    int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    dstep(&a, &bt, n, r, x, eps, scratch + r * ssz);
}

template <typename T>
__global__ void diff_noise_kernel(int n, int64_t rows, const T *x0, double abar, uint64_t seed, uint32_t step, T *xt,
                                  T *eps)
{
    int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    dnoise(n, x0 + r * n, abar, seed, (uint32_t)r, step, xt + r * n, eps + r * n);
}

template <typename T>
__global__ void diff_target_kernel(typename DiffT<T>::batch bt, int64_t rows, const T *xt, const T *eps, double abar,
                                   T go, T gc, T lam, int round, T *scratch, size_t ssz, T *target)
{
    int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    dtarget(&bt, xt, eps, abar, go, gc, lam, round, r, scratch + r * ssz, target);
}

template <typename T>
__global__ void diff_score_kernel(typename DiffT<T>::batch bt, int64_t rows, const T *x, int round, T *scratch, T *obj,
                                  T *viol)
{
    int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    dscore(&bt, x, round, r, scratch + r * bt.n, obj, viol);
}

/* a candidate for the segmented arg-best */
template <typename T> struct cand {
    T viol, obj;
    int idx;
};

template <typename T> struct cand_of {
    const T *viol, *obj;
    __host__ __device__ cand<T> operator()(int r) const
    {
        cand<T> c;
        c.viol = viol[r];
        c.obj = obj[r];
        c.idx = r;
        return c;
    }
};

/* associative and deterministic: ties go to the lower index */
template <typename T> struct cand_best {
    T tol;
    __host__ __device__ cand<T> operator()(const cand<T> &a, const cand<T> &b) const
    {
        int fa = a.viol <= tol, fb = b.viol <= tol;
        if (fa != fb) return fa ? a : b;
        if (!fa && a.viol != b.viol) return a.viol < b.viol ? a : b;
        if (a.obj != b.obj) return a.obj < b.obj ? a : b;
        return a.idx < b.idx ? a : b;
    }
};

struct seg_off {
    int len;
    __host__ __device__ int operator()(int i) const { return i * len; }
};

template <typename T>
__global__ void diff_best_kernel(int64_t B, int K, int n, int round, const cand<T> *best, const T *x, int32_t *out,
                                 T *best_x)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    int r = best[i].idx;
    out[i] = (int32_t)(r - i * K);
    if (best_x)
        for (int j = 0; j < n; ++j) {
            T v = x[(int64_t)r * n + j];
            best_x[i * n + j] = round ? (T)floor((double)v + 0.5) : v;
        }
}

static diff_batch_d diff_batch_t(const dopt_milp_batch *p, double) { return diff_batch_of_d(p); }
static diff_batch_f diff_batch_t(const dopt_milp_batch *p, float) { return diff_batch_of_f(p); }
template <typename T> static typename DiffT<T>::batch diff_batch_of(const dopt_milp_batch *p)
{
    return diff_batch_t(p, (T)0);
}

struct diff_buffers {
    void *scratch, *obj, *viol, *best, *tmp;
};

static void diff_release(diff_buffers *b)
{
    void *all[] = {b->scratch, b->obj, b->viol, b->best, b->tmp};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i)
        if (all[i]) cudaFree(all[i]);
    memset(b, 0, sizeof *b);
}

template <typename T>
static dopt_status step_run(dopt_context *ctx, const dopt_diffusion_step_desc *st, int64_t rows, int32_t n, void *x,
                            void *eps, const dopt_milp_batch *guide, const dopt_guidance *g, diff_buffers *bf)
{
    DOPT_CU(ctx, cudaSetDevice(ctx->cuda_device));
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    typename DiffT<T>::args a;
    memset(&a, 0, sizeof a);
    a.sampler = (int)st->sampler;
    a.abar_t = st->abar[st->t];
    a.abar_prev = st->abar[st->t_prev];
    a.eta = st->eta;
    a.last = st->t_prev == 0;
    a.seed = st->seed;
    a.step = (uint32_t)st->t;
    a.guided = guide != NULL;
    if (g) a.gamma_o = (T)g->gamma_o, a.gamma_c = (T)g->gamma_c, a.lambda = (T)g->lambda;
    size_t ssz = guide ? (size_t)guide->m + (size_t)n : 1;
    DOPT_CU(ctx, cudaMalloc(&bf->scratch, sizeof(T) * ssz * (size_t)rows));
    diff_step_kernel<T><<<dopt_grid(rows, DOPT_DIFF_BLOCK), DOPT_DIFF_BLOCK, 0, s>>>(
        a, diff_batch_of<T>(guide), n, rows, (T *)x, (T *)eps, (T *)bf->scratch, ssz);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

extern "C" dopt_status dopt_diffusion_step_cuda(dopt_context *ctx, const dopt_diffusion_step_desc *st, int64_t rows,
                                                int32_t n, dopt_dtype dt, void *x, void *eps_hat,
                                                const dopt_milp_batch *guide, const dopt_guidance *g)
{
    diff_buffers bf;
    memset(&bf, 0, sizeof bf);
    dopt_status r = dt == DOPT_FLOAT64 ? step_run<double>(ctx, st, rows, n, x, eps_hat, guide, g, &bf)
                                       : step_run<float>(ctx, st, rows, n, x, eps_hat, guide, g, &bf);
    diff_release(&bf);
    return r;
}

extern "C" dopt_status dopt_diffusion_noise_cuda(dopt_context *ctx, int64_t rows, int32_t n, dopt_dtype dt,
                                                 const void *x0, double abar_t, uint64_t seed, uint32_t step, void *xt,
                                                 void *eps)
{
    DOPT_CU(ctx, cudaSetDevice(ctx->cuda_device));
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    unsigned grid = dopt_grid(rows, DOPT_DIFF_BLOCK);
    if (dt == DOPT_FLOAT64)
        diff_noise_kernel<double><<<grid, DOPT_DIFF_BLOCK, 0, s>>>(n, rows, (const double *)x0, abar_t, seed, step,
                                                                   (double *)xt, (double *)eps);
    else
        diff_noise_kernel<float><<<grid, DOPT_DIFF_BLOCK, 0, s>>>(n, rows, (const float *)x0, abar_t, seed, step,
                                                                  (float *)xt, (float *)eps);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

template <typename T>
static dopt_status target_run(dopt_context *ctx, const dopt_milp_batch *guide, const dopt_guidance *g, const void *xt,
                              const void *eps, double abar, int round, void *target, diff_buffers *bf)
{
    DOPT_CU(ctx, cudaSetDevice(ctx->cuda_device));
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    int64_t rows = guide->batch * (int64_t)guide->samples;
    size_t ssz = (size_t)guide->n + (size_t)guide->m;
    DOPT_CU(ctx, cudaMalloc(&bf->scratch, sizeof(T) * ssz * (size_t)rows));
    diff_target_kernel<T><<<dopt_grid(rows, DOPT_DIFF_BLOCK), DOPT_DIFF_BLOCK, 0, s>>>(
        diff_batch_of<T>(guide), rows, (const T *)xt, (const T *)eps, abar, (T)g->gamma_o, (T)g->gamma_c,
        (T)g->lambda, round, (T *)bf->scratch, ssz, (T *)target);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

extern "C" dopt_status dopt_srg_target_cuda(dopt_context *ctx, const dopt_milp_batch *guide, const dopt_guidance *g,
                                            const void *xt, const void *eps, double abar_t, int round, void *target)
{
    diff_buffers bf;
    memset(&bf, 0, sizeof bf);
    dopt_status r = guide->dtype == DOPT_FLOAT64 ? target_run<double>(ctx, guide, g, xt, eps, abar_t, round, target, &bf)
                                                 : target_run<float>(ctx, guide, g, xt, eps, abar_t, round, target, &bf);
    diff_release(&bf);
    return r;
}

template <typename T>
static dopt_status cand_run(dopt_context *ctx, const dopt_milp_batch *guide, const void *x, int round, double tol,
                            void *objective, void *violation, int32_t *best, void *best_x, diff_buffers *bf)
{
    DOPT_CU(ctx, cudaSetDevice(ctx->cuda_device));
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    int64_t B = guide->batch, rows = B * (int64_t)guide->samples;
    if (rows > 2147483647) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "candidates (cuda): too many rows");
    int n = guide->n, K = guide->samples;
    DOPT_CU(ctx, cudaMalloc(&bf->scratch, sizeof(T) * (size_t)n * (size_t)rows));
    T *obj = (T *)objective, *viol = (T *)violation;
    if (!obj) {
        DOPT_CU(ctx, cudaMalloc(&bf->obj, sizeof(T) * (size_t)rows));
        obj = (T *)bf->obj;
    }
    if (!viol) {
        DOPT_CU(ctx, cudaMalloc(&bf->viol, sizeof(T) * (size_t)rows));
        viol = (T *)bf->viol;
    }
    DOPT_CU(ctx, cudaMalloc(&bf->best, sizeof(cand<T>) * (size_t)B));
    diff_score_kernel<T><<<dopt_grid(rows, DOPT_DIFF_BLOCK), DOPT_DIFF_BLOCK, 0, s>>>(
        diff_batch_of<T>(guide), rows, (const T *)x, round, (T *)bf->scratch, obj, viol);
    DOPT_CU_LAUNCH(ctx);
    thrust::counting_iterator<int> ids(0);
    cand_of<T> mk = {viol, obj};
    thrust::transform_iterator<cand_of<T>, thrust::counting_iterator<int> > in(ids, mk);
    thrust::transform_iterator<seg_off, thrust::counting_iterator<int> > off(ids, seg_off{K});
    cand_best<T> op = {(T)tol};
    cand<T> init;
    init.viol = (T)INFINITY;
    init.obj = (T)INFINITY;
    init.idx = 2147483647;
    size_t bytes = 0;
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Reduce(NULL, bytes, in, (cand<T> *)bf->best, (int)B, off, off + 1, op,
                                                    init, s));
    DOPT_CU(ctx, cudaMalloc(&bf->tmp, bytes ? bytes : 1));
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Reduce(bf->tmp, bytes, in, (cand<T> *)bf->best, (int)B, off, off + 1, op,
                                                    init, s));
    diff_best_kernel<T><<<dopt_grid(B, DOPT_DIFF_BLOCK), DOPT_DIFF_BLOCK, 0, s>>>(
        B, K, n, round, (const cand<T> *)bf->best, (const T *)x, best, (T *)best_x);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

extern "C" dopt_status dopt_diffusion_candidates_cuda(dopt_context *ctx, const dopt_milp_batch *guide, const void *x,
                                                      int round, double feas_tol, void *objective, void *violation,
                                                      int32_t *best, void *best_x)
{
    diff_buffers bf;
    memset(&bf, 0, sizeof bf);
    dopt_status r = guide->dtype == DOPT_FLOAT64
                        ? cand_run<double>(ctx, guide, x, round, feas_tol, objective, violation, best, best_x, &bf)
                        : cand_run<float>(ctx, guide, x, round, feas_tol, objective, violation, best, best_x, &bf);
    diff_release(&bf);
    return r;
}
