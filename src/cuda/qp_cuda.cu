/* CUDA backend of the QP layer. The per-instance math is kernels/qp_ipm.h,
 * the code the CPU backend runs; this file only launches it and calls the
 * libraries:
 *  - n < DOPT_QP_CUDA_LARGE_N: one thread per instance runs the whole solve.
 *  - larger n: the batch iterates in lock step on the host; each iteration
 *    forms H = H_base + (W^1/2 G)'(W^1/2 G) with cuBLAS batched GEMM and
 *    factors it with cuSOLVER batched Cholesky, over the instances still
 *    running only (compacted with CUB), so converged instances stop costing
 *    work. An instance whose Cholesky fails falls back to the per-thread
 *    factorization with growing regularization.
 *  - backward: one thread per instance for the adjoint solve; shared
 *    parameters' gradients are batch sums done by cuBLAS GEMM/GEMV (fixed
 *    order, no atomics: deterministic). */
#include <cub/cub.cuh>
#include <thrust/iterator/counting_iterator.h>

#include "cuda_check.h"
#include "qp_ipm.h"

#include <stdlib.h>
#include <string.h>

#define DOPT_QP_CUDA_LARGE_N 64
#define DOPT_BLOCK 128

/* ---- precision traits: route to the _d / _f instantiations ---------------- */
template <typename T> struct QP;
template <> struct QP<double> {
    typedef qp_batch_d batch;
    typedef qp_settings_d settings;
    typedef qp_state_d state;
    typedef qp_work_d work;
    typedef qp_view_d view;
    static __host__ __device__ size_t work_size(int n, int m, int k) { return qp_work_size_d(n, m, k); }
    static __host__ __device__ size_t persist_size(int n, int m, int k) { return qp_work_persist_size_d(n, m, k); }
    static cublasStatus_t gemm_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                       int k, const double *alpha, const double *const A[], int lda,
                                       const double *const B[], int ldb, const double *beta, double *const C[],
                                       int ldc, int count)
    {
        return cublasDgemmBatched(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, count);
    }
    static cusolverStatus_t potrf_batched(cusolverDnHandle_t h, int n, double *A[], int lda, int *info, int count)
    {
        return cusolverDnDpotrfBatched(h, CUBLAS_FILL_MODE_LOWER, n, A, lda, info, count);
    }
    static cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                               const double *alpha, const double *A, int lda, const double *B, int ldb,
                               const double *beta, double *C, int ldc)
    {
        return cublasDgemm(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    }
    static cublasStatus_t gemv(cublasHandle_t h, int m, int n, const double *alpha, const double *A, int lda,
                               const double *x, const double *beta, double *y)
    {
        return cublasDgemv(h, CUBLAS_OP_N, m, n, alpha, A, lda, x, 1, beta, y, 1);
    }
};
template <> struct QP<float> {
    typedef qp_batch_f batch;
    typedef qp_settings_f settings;
    typedef qp_state_f state;
    typedef qp_work_f work;
    typedef qp_view_f view;
    static __host__ __device__ size_t work_size(int n, int m, int k) { return qp_work_size_f(n, m, k); }
    static __host__ __device__ size_t persist_size(int n, int m, int k) { return qp_work_persist_size_f(n, m, k); }
    static cublasStatus_t gemm_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                       int k, const float *alpha, const float *const A[], int lda,
                                       const float *const B[], int ldb, const float *beta, float *const C[],
                                       int ldc, int count)
    {
        return cublasSgemmBatched(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, count);
    }
    static cusolverStatus_t potrf_batched(cusolverDnHandle_t h, int n, float *A[], int lda, int *info, int count)
    {
        return cusolverDnSpotrfBatched(h, CUBLAS_FILL_MODE_LOWER, n, A, lda, info, count);
    }
    static cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                               const float *alpha, const float *A, int lda, const float *B, int ldb,
                               const float *beta, float *C, int ldc)
    {
        return cublasSgemm(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    }
    static cublasStatus_t gemv(cublasHandle_t h, int m, int n, const float *alpha, const float *A, int lda,
                               const float *x, const float *beta, float *y)
    {
        return cublasSgemv(h, CUBLAS_OP_N, m, n, alpha, A, lda, x, 1, beta, y, 1);
    }
};

/* device-side entry points per precision (overloads on the batch type) */
__device__ inline void dev_solve_instance(const qp_batch_d *bt, const qp_settings_d *s, double *w, double *keep, int64_t i,
                                          double *x, double *l, double *u, int32_t *st, int32_t *it)
{
    qp_solve_instance_d(bt, s, w, keep, i, x, l, u, st, it);
}
__device__ inline void dev_solve_instance(const qp_batch_f *bt, const qp_settings_f *s, float *w, float *keep, int64_t i,
                                          float *x, float *l, float *u, int32_t *st, int32_t *it)
{
    qp_solve_instance_f(bt, s, w, keep, i, x, l, u, st, it);
}

/* ---- small n: one thread per instance --------------------------------------- */
template <typename T>
__global__ void qp_solve_small_kernel(typename QP<T>::batch bt, typename QP<T>::settings set, T *work, size_t wsz,
                                      T *keep, size_t psz, int64_t B, T *x, T *lam, T *nu, int32_t *status,
                                      int32_t *iters)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    dev_solve_instance(&bt, &set, work + i * wsz, keep ? keep + i * psz : NULL, i, x, lam, nu, status, iters);
}

/* ---- large n: phases of the same iteration ---------------------------------- */
#define DOPT_PHASE_KERNELS(SFX)                                                                                   \
    __global__ void qp_phase_start_##SFX(qp_batch_##SFX bt, qp_settings_##SFX set, SFX##_real *work, size_t wsz,    \
                                         qp_state_##SFX *state, int64_t B, SFX##_real *x, SFX##_real *lam,         \
                                         SFX##_real *nu)                                                           \
    {                                                                                                             \
        int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;                                               \
        if (i >= B) return;                                                                                       \
        qp_view_##SFX v = qp_batch_view_##SFX(&bt, i);                                                            \
        qp_work_##SFX w = qp_work_map_##SFX(work + i * wsz, bt.n, bt.m, bt.k);                                    \
        SFX##_real *xi = x + i * bt.n, *zi = bt.m ? lam + i * bt.m : NULL, *yi = bt.k ? nu + i * bt.k : NULL;    \
        qp_ipm_start_##SFX(&v, &set, &w, &state[i], xi, zi, yi); /* also caches H's fixed part in w.Hb */       \
    }                                                                                                             \
    __global__ void qp_phase_check_##SFX(qp_batch_##SFX bt, qp_settings_##SFX set, SFX##_real *work, size_t wsz,    \
                                         qp_state_##SFX *state, SFX##_real *scalars, int *running, int64_t B,      \
                                         SFX##_real *x, SFX##_real *lam, SFX##_real *nu)                           \
    {                                                                                                             \
        int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;                                               \
        if (i >= B) return;                                                                                       \
        running[i] = 0;                                                                                           \
        if (state[i].status != DOPT_INST_RUNNING) return;                                                         \
        qp_view_##SFX v = qp_batch_view_##SFX(&bt, i);                                                            \
        qp_work_##SFX w = qp_work_map_##SFX(work + i * wsz, bt.n, bt.m, bt.k);                                    \
        SFX##_real *xi = x + i * bt.n, *zi = bt.m ? lam + i * bt.m : NULL, *yi = bt.k ? nu + i * bt.k : NULL;    \
        if (qp_ipm_check_##SFX(&v, &set, &w, &state[i], xi, zi, yi, &scalars[2 * i], &scalars[2 * i + 1]) !=     \
            DOPT_INST_RUNNING)                                                                                    \
            return;                                                                                               \
        qp_set_scaling_##SFX(&v, &w, zi);                                                                         \
        running[i] = 1;                                                                                           \
    }                                                                                                             \
    /* L = Hb, Gw = W^1/2 G, and the pointer arrays of the running instances */                                  \
    __global__ void qp_phase_prepare_##SFX(qp_batch_##SFX bt, SFX##_real *work, size_t wsz, const int *active,    \
                                           const int *nactive, SFX##_real **lptr, const SFX##_real **gptr)        \
    {                                                                                                             \
        int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;                                               \
        if (j >= *nactive) return;                                                                                \
        int64_t i = active[j];                                                                                    \
        int n = bt.n, m = bt.m;                                                                                   \
        qp_view_##SFX v = qp_batch_view_##SFX(&bt, i);                                                            \
        qp_work_##SFX w = qp_work_map_##SFX(work + i * wsz, n, m, bt.k);                                          \
        for (size_t e = 0; e < (size_t)n * n; ++e) w.L[e] = w.Hb[e];                                              \
        SFX##_real *g = w.Gw;                                                                                     \
        for (int r = 0; r < m; ++r) {                                                                             \
            SFX##_real sw = sqrt(w.W[r]);                                                                         \
            for (int c = 0; c < n; ++c) g[(size_t)r * n + c] = sw * v.G[(size_t)r * n + c];                      \
        }                                                                                                         \
        lptr[j] = w.L;                                                                                            \
        gptr[j] = g;                                                                                              \
    }                                                                                                             \
    /* after potrfBatched: Schur complement, or the per-thread fallback, then the step */                        \
    __global__ void qp_phase_step_##SFX(qp_batch_##SFX bt, qp_settings_##SFX set, SFX##_real *work, size_t wsz,     \
                                        qp_state_##SFX *state, const SFX##_real *scalars, const int *active,       \
                                        const int *nactive, const int *info, SFX##_real *x, SFX##_real *lam,       \
                                        SFX##_real *nu)                                                            \
    {                                                                                                             \
        int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;                                               \
        if (j >= *nactive) return;                                                                                \
        int64_t i = active[j];                                                                                    \
        qp_view_##SFX v = qp_batch_view_##SFX(&bt, i);                                                            \
        qp_work_##SFX w = qp_work_map_##SFX(work + i * wsz, bt.n, bt.m, bt.k);                                    \
        qp_state_##SFX *st = &state[i];                                                                           \
        int failed;                                                                                               \
        if (info[j] == 0) {                                                                                       \
            st->delta = qp_delta0_##SFX(&v, &w);                                                                  \
            failed = qp_factor_schur_##SFX(&v, &w, st);                                                           \
        } else {                                                                                                  \
            failed = qp_factor_##SFX(&v, &w, st);                                                                 \
        }                                                                                                         \
        if (failed) {                                                                                             \
            st->status = DOPT_INST_NUMERICAL;                                                                     \
            return;                                                                                               \
        }                                                                                                         \
        SFX##_real *xi = x + i * bt.n, *zi = bt.m ? lam + i * bt.m : NULL, *yi = bt.k ? nu + i * bt.k : NULL;    \
        qp_ipm_step_##SFX(&v, &set, &w, st, xi, zi, yi, scalars[2 * i], scalars[2 * i + 1]);                     \
    }                                                                                                             \
    __global__ void qp_phase_finish_##SFX(qp_batch_##SFX bt, SFX##_real *work, size_t wsz, qp_state_##SFX *state,   \
                                          SFX##_real *keep, int64_t B, SFX##_real *x, SFX##_real *lam,             \
                                          SFX##_real *nu,                                                          \
                                          int32_t *status, int32_t *iters)                                         \
    {                                                                                                             \
        int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;                                               \
        if (i >= B) return;                                                                                       \
        qp_view_##SFX v = qp_batch_view_##SFX(&bt, i);                                                            \
        qp_work_##SFX w = qp_work_map_##SFX(work + i * wsz, bt.n, bt.m, bt.k);                                    \
        qp_state_##SFX *st = &state[i];                                                                           \
        SFX##_real *xi = x + i * bt.n, *zi = bt.m ? lam + i * bt.m : NULL, *yi = bt.k ? nu + i * bt.k : NULL;    \
        if (st->status == DOPT_INST_RUNNING) st->status = DOPT_INST_ITERATION_LIMIT;                              \
        if (keep && st->status == DOPT_INST_SOLVED) {                                                             \
            qp_set_scaling_##SFX(&v, &w, zi);                                                                     \
            if (qp_factor_##SFX(&v, &w, st)) st->status = DOPT_INST_NUMERICAL;                                    \
            size_t psz = qp_work_persist_size_##SFX(bt.n, bt.m, bt.k), e;                                         \
            if (st->status == DOPT_INST_SOLVED)                                                                   \
                for (e = 0; e < psz; ++e) keep[i * psz + e] = work[i * wsz + e];                                  \
        }                                                                                                         \
        if (!st->started) { /* rejected before iterating, as in qp_ipm_solve */                                 \
            for (int c = 0; c < bt.n; ++c) xi[c] = 0;                                                             \
            for (int r = 0; r < bt.m; ++r) zi[r] = 0;                                                             \
            for (int r = 0; r < bt.k; ++r) yi[r] = 0;                                                             \
        } else {                                                                                                  \
            qp_ipm_finish_##SFX(&v, &w, st, xi, zi, yi);                                                          \
        }                                                                                                         \
        status[i] = st->status;                                                                                   \
        if (iters) iters[i] = st->iter;                                                                           \
    }

typedef double d_real;
typedef float f_real;
DOPT_PHASE_KERNELS(d)
DOPT_PHASE_KERNELS(f)

template <typename T> struct Phase;
template <> struct Phase<double> {
#define DOPT_PHASES(SFX)                                                                                          \
    static void start(unsigned g, cudaStream_t s, qp_batch_##SFX bt, qp_settings_##SFX set, SFX##_real *work,      \
                      size_t wsz, qp_state_##SFX *st, int64_t B, SFX##_real *x, SFX##_real *l, SFX##_real *u)      \
    {                                                                                                             \
        qp_phase_start_##SFX<<<g, DOPT_BLOCK, 0, s>>>(bt, set, work, wsz, st, B, x, l, u);                        \
    }                                                                                                             \
    static void check(unsigned g, cudaStream_t s, qp_batch_##SFX bt, qp_settings_##SFX set, SFX##_real *work,      \
                      size_t wsz, qp_state_##SFX *st, SFX##_real *sc, int *run, int64_t B, SFX##_real *x,          \
                      SFX##_real *l, SFX##_real *u)                                                                \
    {                                                                                                             \
        qp_phase_check_##SFX<<<g, DOPT_BLOCK, 0, s>>>(bt, set, work, wsz, st, sc, run, B, x, l, u);               \
    }                                                                                                             \
    static void prepare(unsigned g, cudaStream_t s, qp_batch_##SFX bt, SFX##_real *work, size_t wsz,               \
                        const int *act, const int *nact, SFX##_real **lp, const SFX##_real **gp)                   \
    {                                                                                                             \
        qp_phase_prepare_##SFX<<<g, DOPT_BLOCK, 0, s>>>(bt, work, wsz, act, nact, lp, gp);                        \
    }                                                                                                             \
    static void step(unsigned g, cudaStream_t s, qp_batch_##SFX bt, qp_settings_##SFX set, SFX##_real *work,       \
                     size_t wsz, qp_state_##SFX *st, const SFX##_real *sc, const int *act, const int *nact,        \
                     const int *info, SFX##_real *x, SFX##_real *l, SFX##_real *u)                                 \
    {                                                                                                             \
        qp_phase_step_##SFX<<<g, DOPT_BLOCK, 0, s>>>(bt, set, work, wsz, st, sc, act, nact, info, x, l, u);       \
    }                                                                                                             \
    static void finish(unsigned g, cudaStream_t s, qp_batch_##SFX bt, SFX##_real *work, size_t wsz,                \
                       qp_state_##SFX *st, SFX##_real *keep, int64_t B, SFX##_real *x, SFX##_real *l, SFX##_real *u, \
                       int32_t *status, int32_t *iters)                                                            \
    {                                                                                                             \
        qp_phase_finish_##SFX<<<g, DOPT_BLOCK, 0, s>>>(bt, work, wsz, st, keep, B, x, l, u, status, iters);       \
    }
    DOPT_PHASES(d)
};
template <> struct Phase<float> {
    DOPT_PHASES(f)
};

/* ---- the batch description --------------------------------------------------- */
static qp_batch_d batch_of_t(const dopt_qp_problem *P, double) { return qp_batch_of_d(P); }
static qp_batch_f batch_of_t(const dopt_qp_problem *P, float) { return qp_batch_of_f(P); }
template <typename T> static typename QP<T>::batch batch_of(const dopt_qp_problem *P) { return batch_of_t(P, (T)0); }

static qp_settings_d settings_t(const dopt_qp_options *o, double) { return qp_settings_of_d(o); }
static qp_settings_f settings_t(const dopt_qp_options *o, float) { return qp_settings_of_f(o); }
template <typename T> static typename QP<T>::settings settings_of(const dopt_qp_options *o)
{
    return settings_t(o, (T)0);
}

/* Device buffers of one large-n solve, released in one place. */
struct large_buffers {
    void *state, *scalars, *running, *active, *nactive, *info, *lptr, *gptr, *cub_tmp;
};

static void large_release(large_buffers *b)
{
    void **all[] = {&b->state, &b->scalars, &b->running, &b->active, &b->nactive,
                    &b->info,  &b->lptr,    &b->gptr,    &b->cub_tmp};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) {
        if (*all[i]) cudaFree(*all[i]);
        *all[i] = NULL;
    }
}

template <typename T>
static dopt_status solve_large(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o, T *work,
                               size_t wsz, T *keep, dopt_qp_solution *sol, large_buffers *bf)
{
    struct dopt_cuda_handles *hd;
    DOPT_TRY(dopt_cuda_handles_get(ctx, &hd));
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    int64_t B = P->batch;
    int n = P->n, m = P->m;
    typename QP<T>::batch bt = batch_of<T>(P);
    typename QP<T>::settings set = settings_of<T>(o);
    unsigned grid = dopt_grid(B, DOPT_BLOCK);
    DOPT_CU(ctx, cudaMalloc(&bf->state, sizeof(typename QP<T>::state) * (size_t)B));
    DOPT_CU(ctx, cudaMalloc(&bf->scalars, sizeof(T) * 2 * (size_t)B));
    DOPT_CU(ctx, cudaMalloc(&bf->running, sizeof(int) * (size_t)B));
    DOPT_CU(ctx, cudaMalloc(&bf->active, sizeof(int) * (size_t)B));
    DOPT_CU(ctx, cudaMalloc(&bf->nactive, sizeof(int)));
    DOPT_CU(ctx, cudaMalloc(&bf->info, sizeof(int) * (size_t)B));
    DOPT_CU(ctx, cudaMalloc(&bf->lptr, sizeof(T *) * (size_t)B));
    DOPT_CU(ctx, cudaMalloc(&bf->gptr, sizeof(T *) * (size_t)B));
    int *running = (int *)bf->running, *active = (int *)bf->active, *nactive = (int *)bf->nactive;
    /* CUB scratch for the compaction of running instances */
    size_t tmp_bytes = 0;
    thrust::counting_iterator<int> ids(0);
    DOPT_CU(ctx, cub::DeviceSelect::Flagged(NULL, tmp_bytes, ids, running, active, nactive, (int)B, s));
    DOPT_CU(ctx, cudaMalloc(&bf->cub_tmp, tmp_bytes ? tmp_bytes : 1));

    typedef typename QP<T>::state state_t;
    state_t *state = (state_t *)bf->state;
    T *x = (T *)sol->x, *lam = (T *)sol->lam, *nu = (T *)sol->nu;
    Phase<T>::start(grid, s, bt, set, work, wsz, state, B, x, lam, nu);
    DOPT_CU_LAUNCH(ctx);
    const T one = 1;
    for (int it = 0; it <= o->max_iter; ++it) {
        Phase<T>::check(grid, s, bt, set, work, wsz, state, (T *)bf->scalars, running, B, x, lam, nu);
        DOPT_CU_LAUNCH(ctx);
        DOPT_CU(ctx, cub::DeviceSelect::Flagged(bf->cub_tmp, tmp_bytes, ids, running, active, nactive, (int)B, s));
        int count = 0;
        DOPT_CU(ctx, cudaMemcpyAsync(&count, nactive, sizeof(int), cudaMemcpyDeviceToHost, s));
        DOPT_CU(ctx, cudaStreamSynchronize(s));
        if (count == 0) break;
        unsigned agrid = dopt_grid(count, DOPT_BLOCK);
        Phase<T>::prepare(agrid, s, bt, work, wsz, active, nactive, (T **)bf->lptr, (const T **)bf->gptr);
        DOPT_CU_LAUNCH(ctx);
        /* L (column-major view: the same symmetric matrix) += Gw' Gw, where the
         * row-major m x n Gw is column-major n x m */
        if (m > 0)
            DOPT_CUBLAS(ctx, QP<T>::gemm_batched(hd->blas, CUBLAS_OP_N, CUBLAS_OP_T, n, n, m, &one,
                                                 (const T *const *)bf->gptr, n, (const T *const *)bf->gptr, n, &one,
                                                 (T *const *)bf->lptr, n, count));
        /* column-major lower Cholesky (H = L L') is, read row-major, the upper
         * factor U = L' the kernels use */
        DOPT_CUSOLVER(ctx, QP<T>::potrf_batched(hd->solver, n, (T **)bf->lptr, n, (int *)bf->info, count));
        Phase<T>::step(agrid, s, bt, set, work, wsz, state, (const T *)bf->scalars, active, nactive,
                       (const int *)bf->info, x, lam, nu);
        DOPT_CU_LAUNCH(ctx);
    }
    Phase<T>::finish(grid, s, bt, work, wsz, state, keep, B, x, lam, nu, sol->status, sol->iters);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

template <typename T>
static dopt_status solve_typed(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                               dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    DOPT_CU(ctx, cudaSetDevice(ctx->cuda_device));
    int64_t B = P->batch;
    if (B == 0) return DOPT_OK;
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    size_t wsz = QP<T>::work_size(P->n, P->m, P->k), psz = QP<T>::persist_size(P->n, P->m, P->k);
    T *work = NULL, *keep = NULL;
    if (tape) { /* the tape keeps only the factorization (the workspace's prefix) */
        DOPT_TRY(dopt_cuda_reserve(ctx, &tape->work, &tape->cap_work, sizeof(T) * psz * (size_t)B));
        keep = (T *)tape->work;
    }
    DOPT_CU(ctx, cudaMalloc(&work, sizeof(T) * wsz * (size_t)B));
    dopt_status st = DOPT_OK;
    if (P->n < DOPT_QP_CUDA_LARGE_N) {
        qp_solve_small_kernel<T><<<dopt_grid(B, DOPT_BLOCK), DOPT_BLOCK, 0, s>>>(
            batch_of<T>(P), settings_of<T>(o), work, wsz, keep, psz, B, (T *)sol->x, (T *)sol->lam, (T *)sol->nu,
            sol->status, sol->iters);
        cudaError_t e = cudaGetLastError();
        if (e == cudaSuccess) e = cudaStreamSynchronize(s);
        if (e != cudaSuccess)
            st = dopt_fail(ctx, DOPT_ERR_CUDA, "qp (cuda): solve kernel failed: %s", cudaGetErrorString(e));
    } else {
        large_buffers bf;
        memset(&bf, 0, sizeof bf);
        st = solve_large<T>(ctx, P, o, work, wsz, keep, sol, &bf);
        large_release(&bf);
    }
    cudaFree(work);
    if (!tape || st != DOPT_OK) return st;
    tape->work_per_instance = psz;
    size_t nx = (size_t)B * P->n, nl = (size_t)B * P->m, nn = (size_t)B * P->k;
    DOPT_TRY(dopt_cuda_reserve(ctx, &tape->x, &tape->cap_x, sizeof(T) * nx));
    DOPT_TRY(dopt_cuda_reserve(ctx, &tape->lam, &tape->cap_lam, sizeof(T) * nl));
    DOPT_TRY(dopt_cuda_reserve(ctx, &tape->nu, &tape->cap_nu, sizeof(T) * nn));
    DOPT_TRY(dopt_cuda_reserve(ctx, (void **)&tape->status, &tape->cap_status, sizeof(int32_t) * (size_t)B));
    DOPT_CU(ctx, cudaMemcpyAsync(tape->x, sol->x, sizeof(T) * nx, cudaMemcpyDeviceToDevice, s));
    if (nl) DOPT_CU(ctx, cudaMemcpyAsync(tape->lam, sol->lam, sizeof(T) * nl, cudaMemcpyDeviceToDevice, s));
    if (nn) DOPT_CU(ctx, cudaMemcpyAsync(tape->nu, sol->nu, sizeof(T) * nn, cudaMemcpyDeviceToDevice, s));
    DOPT_CU(ctx, cudaMemcpyAsync(tape->status, sol->status, sizeof(int32_t) * B, cudaMemcpyDeviceToDevice, s));
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

extern "C" dopt_status dopt_qp_solve_cuda(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                                          dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    return P->dtype == DOPT_FLOAT64 ? solve_typed<double>(ctx, P, o, sol, tape)
                                    : solve_typed<float>(ctx, P, o, sol, tape);
}

/* ---- backward ------------------------------------------------------------------ */
__device__ inline void dev_adjoint(const qp_batch_d *bt, const double *kept, double *w, int refine, int32_t st,
                                   const double *gx,
                                   const double *gl, const double *gn, int64_t i, double *DX, double *DLT, double *DN)
{
    qp_adjoint_instance_d(bt, kept, w, refine, st, gx, gl, gn, i, DX, DLT, DN);
}
__device__ inline void dev_adjoint(const qp_batch_f *bt, const float *kept, float *w, int refine, int32_t st,
                                   const float *gx,
                                   const float *gl, const float *gn, int64_t i, float *DX, float *DLT, float *DN)
{
    qp_adjoint_instance_f(bt, kept, w, refine, st, gx, gl, gn, i, DX, DLT, DN);
}
__device__ inline void dev_outer_row(int n, double s, double u, const double *x, double v, const double *y, double *o)
{
    qp_outer_row_d(n, s, u, x, v, y, o);
}
__device__ inline void dev_outer_row(int n, float s, float u, const float *x, float v, const float *y, float *o)
{
    qp_outer_row_f(n, s, u, x, v, y, o);
}

template <typename T>
__global__ void qp_adjoint_kernel(typename QP<T>::batch bt, const T *kept, size_t psz, T *work, size_t wsz,
                                  int refine, const int32_t *status, const T *gx, const T *glam, const T *gnu,
                                  int64_t B, T *DX, T *DLT, T *DN)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    dev_adjoint(&bt, kept + i * psz, work + i * wsz, refine, status[i], gx, glam, gnu, i, DX, DLT, DN);
}

/* per-instance outer-product gradient: one thread per (instance, row) */
template <typename T>
__global__ void qp_outer_kernel(int64_t B, int rows, int n, T scale, const T *U, const T *X, const T *V, const T *Y,
                                T *out)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= B * rows) return;
    int64_t b = t / rows;
    dev_outer_row(n, scale, U[t], X + b * n, V[t], Y + b * n, out + t * n);
}

template <typename T> __global__ void qp_scale_kernel(int64_t len, T scale, const T *in, T *out)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t < len) out[t] = scale * in[t];
}

template <typename T> __global__ void qp_fill_kernel(int64_t len, T value, T *out)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t < len) out[t] = value;
}

struct backward_buffers {
    void *DX, *DLT, *DN, *ones, *work;
};

/* out (rows x n, row-major) = scale * (U' X + V' Y) summed over the batch, with
 * U (B x rows), X (B x n) row-major: in column-major terms out' = X U' + Y V'. */
template <typename T>
static dopt_status outer_grad(dopt_context *ctx, struct dopt_cuda_handles *hd, int64_t B, int rows, int n, int shared,
                              T scale, const T *U, const T *X, const T *V, const T *Y, T *out)
{
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    if (!shared) {
        qp_outer_kernel<T><<<dopt_grid(B * rows, DOPT_BLOCK), DOPT_BLOCK, 0, s>>>(B, rows, n, scale, U, X, V, Y, out);
        DOPT_CU_LAUNCH(ctx);
        return DOPT_OK;
    }
    const T zero = 0, one = 1;
    DOPT_CUBLAS(ctx, QP<T>::gemm(hd->blas, CUBLAS_OP_N, CUBLAS_OP_T, n, rows, (int)B, &scale, X, n, U, rows, &zero,
                                 out, n));
    DOPT_CUBLAS(ctx, QP<T>::gemm(hd->blas, CUBLAS_OP_N, CUBLAS_OP_T, n, rows, (int)B, &scale, Y, n, V, rows, &one,
                                 out, n));
    return DOPT_OK;
}

template <typename T>
static dopt_status vec_grad(dopt_context *ctx, struct dopt_cuda_handles *hd, int64_t B, int len, int shared, T scale,
                            const T *U, const T *ones, T *out)
{
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    if (!shared) {
        qp_scale_kernel<T><<<dopt_grid(B * len, DOPT_BLOCK), DOPT_BLOCK, 0, s>>>(B * len, scale, U, out);
        DOPT_CU_LAUNCH(ctx);
        return DOPT_OK;
    }
    const T zero = 0;
    DOPT_CUBLAS(ctx, QP<T>::gemv(hd->blas, len, (int)B, &scale, U, len, ones, &zero, out));
    return DOPT_OK;
}

template <typename T>
static dopt_status backward_run(dopt_context *ctx, const dopt_qp_tape *tp, const dopt_qp_grad_in *gin,
                                dopt_qp_grad_out *g, backward_buffers *bf)
{
    struct dopt_cuda_handles *hd;
    DOPT_TRY(dopt_cuda_handles_get(ctx, &hd));
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    const dopt_qp_problem *P = &tp->prob;
    int64_t B = P->batch;
    int n = P->n, m = P->m, k = P->k;
    if (B > 2147483647) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp backward (cuda): batch too large");
    DOPT_CU(ctx, cudaMalloc(&bf->DX, sizeof(T) * (size_t)B * n));
    DOPT_CU(ctx, cudaMalloc(&bf->DLT, sizeof(T) * ((size_t)B * m + 1)));
    DOPT_CU(ctx, cudaMalloc(&bf->DN, sizeof(T) * ((size_t)B * k + 1)));
    DOPT_CU(ctx, cudaMalloc(&bf->ones, sizeof(T) * (size_t)B));
    size_t wsz = QP<T>::work_size(n, m, k);
    DOPT_CU(ctx, cudaMalloc(&bf->work, sizeof(T) * wsz * (size_t)B));
    T *DX = (T *)bf->DX, *DLT = (T *)bf->DLT, *DN = (T *)bf->DN, *ones = (T *)bf->ones;
    qp_fill_kernel<T><<<dopt_grid(B, DOPT_BLOCK), DOPT_BLOCK, 0, s>>>(B, (T)1, ones);
    DOPT_CU_LAUNCH(ctx);
    qp_adjoint_kernel<T><<<dopt_grid(B, DOPT_BLOCK), DOPT_BLOCK, 0, s>>>(
        batch_of<T>(P), (const T *)tp->work, tp->work_per_instance, (T *)bf->work, wsz, tp->opt.refine + 3,
        tp->status, (const T *)gin->dx,
        m ? (const T *)gin->dlam : NULL, k ? (const T *)gin->dnu : NULL, B, DX, DLT, DN);
    DOPT_CU_LAUNCH(ctx);
    const T *x = (const T *)tp->x, *lam = (const T *)tp->lam, *nu = (const T *)tp->nu;
    unsigned sh = P->shared;
    if (g->dp) DOPT_TRY(vec_grad<T>(ctx, hd, B, n, (sh & DOPT_QP_SHARE_P) != 0, (T)1, DX, ones, (T *)g->dp));
    if (g->dQ)
        DOPT_TRY(outer_grad<T>(ctx, hd, B, n, n, !P->Q || (sh & DOPT_QP_SHARE_Q), (T)0.5, DX, x, x, DX, (T *)g->dQ));
    if (m && g->dG)
        DOPT_TRY(outer_grad<T>(ctx, hd, B, m, n, (sh & DOPT_QP_SHARE_G) != 0, (T)1, DLT, x, lam, DX, (T *)g->dG));
    if (m && g->dh) DOPT_TRY(vec_grad<T>(ctx, hd, B, m, (sh & DOPT_QP_SHARE_H) != 0, (T)-1, DLT, ones, (T *)g->dh));
    if (k && g->dA)
        DOPT_TRY(outer_grad<T>(ctx, hd, B, k, n, (sh & DOPT_QP_SHARE_A) != 0, (T)1, DN, x, nu, DX, (T *)g->dA));
    if (k && g->db) DOPT_TRY(vec_grad<T>(ctx, hd, B, k, (sh & DOPT_QP_SHARE_B) != 0, (T)-1, DN, ones, (T *)g->db));
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

template <typename T>
static dopt_status backward_typed(dopt_context *ctx, const dopt_qp_tape *tp, const dopt_qp_grad_in *gin,
                                  dopt_qp_grad_out *g)
{
    backward_buffers bf;
    memset(&bf, 0, sizeof bf);
    dopt_status st = backward_run<T>(ctx, tp, gin, g, &bf);
    cudaFree(bf.DX);
    cudaFree(bf.DLT);
    cudaFree(bf.DN);
    cudaFree(bf.ones);
    cudaFree(bf.work);
    return st;
}

extern "C" dopt_status dopt_qp_backward_cuda(dopt_context *ctx, const dopt_qp_tape *tp, const dopt_qp_grad_in *gin,
                                             dopt_qp_grad_out *g)
{
    return tp->prob.dtype == DOPT_FLOAT64 ? backward_typed<double>(ctx, tp, gin, g)
                                          : backward_typed<float>(ctx, tp, gin, g);
}
