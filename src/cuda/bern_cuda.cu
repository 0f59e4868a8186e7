/* CUDA backend of the Bernoulli surrogate. The per-sample math is
 * kernels/bern.h (the CPU's code):
 *  - one thread per (instance, sample) draws the sample, computes the row
 *    activities, the penalty and the estimator's gradient, and writes them in
 *    (instance, coordinate, sample) order;
 *  - CUB segmented reductions sum each (instance, coordinate) over the K
 *    samples, and their squares, in a fixed order (deterministic);
 *  - a per-instance kernel turns the sums into loss, gradient and standard
 *    errors (bern_finish, shared with the CPU).
 * REINFORCE first reduces the penalties (its leave-one-out baseline). The
 * exact estimator and rounding run one thread per instance. */
#include <cub/cub.cuh>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include "bern.h"
#include "cuda_check.h"

#include <string.h>

#define DOPT_BERN_BLOCK 128

template <typename T> struct BernT;
template <> struct BernT<double> {
    typedef bern_batch_d batch;
    typedef bern_view_d view;
};
template <> struct BernT<float> {
    typedef bern_batch_f batch;
    typedef bern_view_f view;
};

/* overloads routing to the _d / _f kernels */
__device__ inline bern_view_d bview(const bern_batch_d *b, int64_t i) { return bern_batch_view_d(b, i); }
__device__ inline bern_view_f bview(const bern_batch_f *b, int64_t i) { return bern_batch_view_f(b, i); }
__device__ inline int bcheck(const bern_view_d *v, const double *x) { return bern_check_d(v, x); }
__device__ inline int bcheck(const bern_view_f *v, const float *x) { return bern_check_f(v, x); }
__device__ inline void bsample(const bern_view_d *v, const double *xh, uint64_t s, uint32_t i, uint32_t k, double *x)
{
    bern_sample_d(v, xh, s, i, k, x);
}
__device__ inline void bsample(const bern_view_f *v, const float *xh, uint64_t s, uint32_t i, uint32_t k, float *x)
{
    bern_sample_f(v, xh, s, i, k, x);
}
__device__ inline double bact(const bern_view_d *v, const double *x, double *r) { return bern_activities_d(v, x, r); }
__device__ inline float bact(const bern_view_f *v, const float *x, float *r) { return bern_activities_f(v, x, r); }
__device__ inline double bone(const bern_view_d *v, const double *xh, int e, uint64_t s, uint32_t i, uint32_t k,
                              double base, double *x, double *r, double *g)
{
    return bern_one_sample_d(v, xh, e, s, i, k, base, x, r, g);
}
__device__ inline float bone(const bern_view_f *v, const float *xh, int e, uint64_t s, uint32_t i, uint32_t k,
                             float base, float *x, float *r, float *g)
{
    return bern_one_sample_f(v, xh, e, s, i, k, base, x, r, g);
}
__device__ inline double bfinish(const bern_view_d *v, const double *xh, int K, double mu, double ps, double pq,
                                 const double *gs, const double *gq, double *g, double *lse, double *gse)
{
    return bern_finish_d(v, xh, K, mu, ps, pq, gs, gq, g, lse, gse);
}
__device__ inline float bfinish(const bern_view_f *v, const float *xh, int K, float mu, double ps, double pq,
                                const float *gs, const float *gq, float *g, float *lse, float *gse)
{
    return bern_finish_f(v, xh, K, mu, ps, pq, gs, gq, g, lse, gse);
}
__device__ inline int bexact_inst(const bern_batch_d *b, const double *in, int e, int K, double mu, uint64_t s,
                                  int lg, int64_t i, double *w, double *l, double *g, double *lse, double *gse)
{
    return bern_eval_instance_d(b, in, e, K, mu, s, lg, i, w, l, g, lse, gse);
}
__device__ inline int bexact_inst(const bern_batch_f *b, const float *in, int e, int K, float mu, uint64_t s, int lg,
                                  int64_t i, float *w, float *l, float *g, float *lse, float *gse)
{
    return bern_eval_instance_f(b, in, e, K, mu, s, lg, i, w, l, g, lse, gse);
}
__device__ inline int bround(const bern_batch_d *b, const double *xh, int64_t i, double *x, double *w)
{
    return bern_round_instance_d(b, xh, i, x, w);
}
__device__ inline int bround(const bern_batch_f *b, const float *xh, int64_t i, float *x, float *w)
{
    return bern_round_instance_f(b, xh, i, x, w);
}

/* xhat from the input (logits or probabilities), and each instance's status */
template <typename T>
__global__ void bern_prepare_kernel(typename BernT<T>::batch bt, const T *in, int logits, int64_t B, T *xhat,
                                    int32_t *status)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    for (int j = 0; j < bt.n; ++j) {
        T v = in[i * bt.n + j];
        xhat[i * bt.n + j] = logits ? (T)(1 / (1 + exp(-(double)v))) : v;
    }
    typename BernT<T>::view v = bview(&bt, i);
    status[i] = bcheck(&v, xhat + i * bt.n);
}

/* penalties only (REINFORCE's first pass) */
template <typename T>
__global__ void bern_penalty_kernel(typename BernT<T>::batch bt, const T *xhat, const int32_t *status, int K,
                                    uint64_t seed, int64_t B, T *scratch, size_t ssz, T *phi)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= B * K) return;
    int64_t i = t / K;
    int k = (int)(t % K);
    if (status[i] != DOPT_INST_SOLVED) {
        phi[t] = 0;
        return;
    }
    typename BernT<T>::view v = bview(&bt, i);
    T *x = scratch + t * ssz, *r = x + bt.n;
    bsample(&v, xhat + i * bt.n, seed, (uint32_t)i, (uint32_t)k, x);
    phi[t] = bact(&v, x, r);
}

/* one (instance, sample): penalty into phi[i*K + k], gradient into G[(i*n + j)*K + k] */
template <typename T>
__global__ void bern_sample_kernel(typename BernT<T>::batch bt, const T *xhat, const int32_t *status, int est, int K,
                                   uint64_t seed, int64_t B, const double *phisum, T *scratch, size_t ssz, T *phi,
                                   T *G)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= B * K) return;
    int64_t i = t / K;
    int k = (int)(t % K), n = bt.n;
    if (status[i] != DOPT_INST_SOLVED) {
        phi[t] = 0;
        for (int j = 0; j < n; ++j) G[(i * n + j) * K + k] = 0;
        return;
    }
    typename BernT<T>::view v = bview(&bt, i);
    T *x = scratch + t * ssz, *r = x + n, *g = r + bt.m;
    T base = 0;
    if (est == DOPT_BERN_REINFORCE) base = (T)((phisum[i] - (double)phi[t]) / (K - 1));
    T p = bone(&v, xhat + i * n, est, seed, (uint32_t)i, (uint32_t)k, base, x, r, g);
    phi[t] = p;
    for (int j = 0; j < n; ++j) G[(i * n + j) * K + k] = g[j];
}

template <typename T>
__global__ void bern_finish_kernel(typename BernT<T>::batch bt, const T *xhat, const int32_t *status, int K, T mu,
                                   int logits, int64_t B, const double *ps, const double *pq, const T *gs,
                                   const T *gq, T *loss, T *grad, T *loss_se, T *grad_se)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    int n = bt.n;
    T *g = grad + i * n, *gse = grad_se ? grad_se + i * n : NULL;
    if (status[i] != DOPT_INST_SOLVED) {
        loss[i] = (T)NAN;
        if (loss_se) loss_se[i] = (T)NAN;
        for (int j = 0; j < n; ++j) {
            g[j] = (T)NAN;
            if (gse) gse[j] = (T)NAN;
        }
        return;
    }
    typename BernT<T>::view v = bview(&bt, i);
    const T *xh = xhat + i * n;
    loss[i] = bfinish(&v, xh, K, mu, ps[i], pq[i], gs + i * n, gq + i * n, g, loss_se ? loss_se + i : NULL, gse);
    if (logits)
        for (int j = 0; j < n; ++j) {
            T d = xh[j] * (1 - xh[j]);
            g[j] *= d;
            if (gse) gse[j] *= d;
        }
}

template <typename T>
__global__ void bern_exact_kernel(typename BernT<T>::batch bt, const T *in, int logits, T mu, int64_t B, T *work,
                                  size_t wsz, T *loss, T *grad, T *loss_se, T *grad_se, int32_t *status)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    status[i] = bexact_inst(&bt, in, DOPT_BERN_EXACT, 1, mu, 0, logits, i, work + i * wsz, loss, grad, loss_se,
                            grad_se);
}

template <typename T>
__global__ void bern_round_kernel(typename BernT<T>::batch bt, const T *xhat, int64_t B, T *work, size_t wsz, T *x,
                                  int32_t *status)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    status[i] = bround(&bt, xhat, i, x, work + i * wsz);
}

struct square_op {
    template <typename T> __host__ __device__ double operator()(T v) const { return (double)v * (double)v; }
};
struct to_double_op {
    template <typename T> __host__ __device__ double operator()(T v) const { return (double)v; }
};
struct square_same_op {
    template <typename T> __host__ __device__ T operator()(T v) const { return v * v; }
};

/* offsets of equal segments of length len: i * len */
struct seg_offset {
    int len;
    __host__ __device__ int operator()(int i) const { return i * len; }
};

static bern_batch_d bern_batch_t(const dopt_bern_problem *P, double) { return bern_batch_of_d(P); }
static bern_batch_f bern_batch_t(const dopt_bern_problem *P, float) { return bern_batch_of_f(P); }
template <typename T> static typename BernT<T>::batch bern_batch_of(const dopt_bern_problem *P)
{
    return bern_batch_t(P, (T)0);
}

struct bern_buffers {
    void *xhat, *scratch, *phi, *G, *ps, *pq, *gs, *gq, *tmp;
};

template <typename T>
static dopt_status bern_eval_run(dopt_context *ctx, const dopt_bern_problem *P, const void *in,
                                 const dopt_bern_options *o, dopt_bern_result *res, bern_buffers *bf)
{
    DOPT_CU(ctx, cudaSetDevice(ctx->cuda_device));
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    int64_t B = P->batch;
    int n = P->n, m = P->m, K = o->samples;
    typename BernT<T>::batch bt = bern_batch_of<T>(P);
    if (o->estimator == DOPT_BERN_EXACT) {
        size_t wsz = (size_t)4 * n + m + 1 + n;
        DOPT_CU(ctx, cudaMalloc(&bf->scratch, sizeof(T) * wsz * (size_t)B));
        bern_exact_kernel<T><<<dopt_grid(B, DOPT_BERN_BLOCK), DOPT_BERN_BLOCK, 0, s>>>(
            bt, (const T *)in, o->logits, (T)o->mu, B, (T *)bf->scratch, wsz, (T *)res->loss, (T *)res->grad,
            (T *)res->loss_se, (T *)res->grad_se, res->status);
        DOPT_CU_LAUNCH(ctx);
        DOPT_CU(ctx, cudaStreamSynchronize(s));
        return DOPT_OK;
    }
    if ((double)B * K > 2147483647.0 || (double)B * n > 2147483647.0)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern (cuda): batch * samples too large for one call");
    size_t ssz = (size_t)2 * n + m;
    int64_t BK = B * K;
    DOPT_CU(ctx, cudaMalloc(&bf->xhat, sizeof(T) * (size_t)B * n));
    DOPT_CU(ctx, cudaMalloc(&bf->scratch, sizeof(T) * ssz * (size_t)BK));
    DOPT_CU(ctx, cudaMalloc(&bf->phi, sizeof(T) * (size_t)BK));
    DOPT_CU(ctx, cudaMalloc(&bf->G, sizeof(T) * (size_t)BK * n));
    DOPT_CU(ctx, cudaMalloc(&bf->ps, sizeof(double) * (size_t)B));
    DOPT_CU(ctx, cudaMalloc(&bf->pq, sizeof(double) * (size_t)B));
    DOPT_CU(ctx, cudaMalloc(&bf->gs, sizeof(T) * (size_t)B * n));
    DOPT_CU(ctx, cudaMalloc(&bf->gq, sizeof(T) * (size_t)B * n));
    T *xhat = (T *)bf->xhat, *phi = (T *)bf->phi, *G = (T *)bf->G;
    double *ps = (double *)bf->ps, *pq = (double *)bf->pq;
    unsigned g1 = dopt_grid(B, DOPT_BERN_BLOCK), gk = dopt_grid(BK, DOPT_BERN_BLOCK);
    bern_prepare_kernel<T><<<g1, DOPT_BERN_BLOCK, 0, s>>>(bt, (const T *)in, o->logits, B, xhat, res->status);
    DOPT_CU_LAUNCH(ctx);

    /* segmented sums over samples: B segments of K (penalties), B*n of K (gradients) */
    thrust::counting_iterator<int> zero(0);
    thrust::transform_iterator<seg_offset, thrust::counting_iterator<int> > offK(zero, seg_offset{K});
    thrust::transform_iterator<to_double_op, T *> phid(phi, to_double_op());
    thrust::transform_iterator<square_op, T *> phisq(phi, square_op());
    thrust::transform_iterator<square_same_op, T *> Gsq(G, square_same_op());
    size_t t1 = 0, t2 = 0, t3 = 0, t4 = 0;
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(NULL, t1, phid, ps, (int)B, offK, offK + 1, s));
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(NULL, t2, phisq, pq, (int)B, offK, offK + 1, s));
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(NULL, t3, G, (T *)bf->gs, (int)(B * n), offK, offK + 1, s));
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(NULL, t4, Gsq, (T *)bf->gq, (int)(B * n), offK, offK + 1, s));
    size_t tmax = t1 > t2 ? t1 : t2;
    tmax = tmax > t3 ? tmax : t3;
    tmax = tmax > t4 ? tmax : t4;
    DOPT_CU(ctx, cudaMalloc(&bf->tmp, tmax ? tmax : 1));

    if (o->estimator == DOPT_BERN_REINFORCE) {
        bern_penalty_kernel<T><<<gk, DOPT_BERN_BLOCK, 0, s>>>(bt, xhat, res->status, K, o->seed, B, (T *)bf->scratch,
                                                               ssz, phi);
        DOPT_CU_LAUNCH(ctx);
        DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(bf->tmp, t1, phid, ps, (int)B, offK, offK + 1, s));
    }
    bern_sample_kernel<T><<<gk, DOPT_BERN_BLOCK, 0, s>>>(bt, xhat, res->status, (int)o->estimator, K, o->seed, B, ps,
                                                          (T *)bf->scratch, ssz, phi, G);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(bf->tmp, t1, phid, ps, (int)B, offK, offK + 1, s));
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(bf->tmp, t2, phisq, pq, (int)B, offK, offK + 1, s));
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(bf->tmp, t3, G, (T *)bf->gs, (int)(B * n), offK, offK + 1, s));
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(bf->tmp, t4, Gsq, (T *)bf->gq, (int)(B * n), offK, offK + 1, s));
    bern_finish_kernel<T><<<g1, DOPT_BERN_BLOCK, 0, s>>>(bt, xhat, res->status, K, (T)o->mu, o->logits, B, ps, pq,
                                                          (const T *)bf->gs, (const T *)bf->gq, (T *)res->loss,
                                                          (T *)res->grad, (T *)res->loss_se, (T *)res->grad_se);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

static void bern_release(bern_buffers *b)
{
    void *all[] = {b->xhat, b->scratch, b->phi, b->G, b->ps, b->pq, b->gs, b->gq, b->tmp};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i)
        if (all[i]) cudaFree(all[i]);
    memset(b, 0, sizeof *b);
}

extern "C" dopt_status dopt_bern_eval_cuda(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat,
                                           const dopt_bern_options *o, dopt_bern_result *res)
{
    bern_buffers bf;
    memset(&bf, 0, sizeof bf);
    dopt_status st = P->dtype == DOPT_FLOAT64 ? bern_eval_run<double>(ctx, P, xhat, o, res, &bf)
                                              : bern_eval_run<float>(ctx, P, xhat, o, res, &bf);
    bern_release(&bf);
    return st;
}

template <typename T>
static dopt_status bern_round_run(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat, void *x,
                                  int32_t *status, bern_buffers *bf)
{
    DOPT_CU(ctx, cudaSetDevice(ctx->cuda_device));
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    size_t wsz = (size_t)P->n + P->m + 1;
    DOPT_CU(ctx, cudaMalloc(&bf->scratch, sizeof(T) * wsz * (size_t)P->batch));
    bern_round_kernel<T><<<dopt_grid(P->batch, DOPT_BERN_BLOCK), DOPT_BERN_BLOCK, 0, s>>>(
        bern_batch_of<T>(P), (const T *)xhat, P->batch, (T *)bf->scratch, wsz, (T *)x, status);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

extern "C" dopt_status dopt_bern_round_cuda(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat, void *x,
                                            int32_t *status)
{
    bern_buffers bf;
    memset(&bf, 0, sizeof bf);
    dopt_status st = P->dtype == DOPT_FLOAT64 ? bern_round_run<double>(ctx, P, xhat, x, status, &bf)
                                              : bern_round_run<float>(ctx, P, xhat, x, status, &bf);
    bern_release(&bf);
    return st;
}
