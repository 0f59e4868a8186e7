/* Error checks for the CUDA backend: every failure becomes a dopt_status
 * with file, line and the library's message in the context. Nothing aborts.
 * Each macro returns from the enclosing function. Nothing leaks: per-call
 * buffers live in the context's scratch arena (dopt_scratch_plan in
 * src/core/internal.h), which is never freed by a call. */
#ifndef DOPT_CUDA_CHECK_H
#define DOPT_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include "internal.h"

#define DOPT_CU(ctx, call)                                                                              \
    do {                                                                                                \
        cudaError_t e_ = (call);                                                                        \
        if (e_ != cudaSuccess)                                                                          \
            return dopt_fail((ctx), DOPT_ERR_CUDA, "%s:%d: %s: %s", __FILE__, __LINE__, #call,          \
                             cudaGetErrorString(e_));                                                   \
    } while (0)

/* after a kernel launch: launch errors now, execution errors at the next sync */
#define DOPT_CU_LAUNCH(ctx) DOPT_CU(ctx, cudaGetLastError())

#define DOPT_CUBLAS(ctx, call)                                                                          \
    do {                                                                                                \
        cublasStatus_t e_ = (call);                                                                     \
        if (e_ != CUBLAS_STATUS_SUCCESS)                                                                \
            return dopt_fail((ctx), DOPT_ERR_CUDA, "%s:%d: %s: cuBLAS status %d", __FILE__, __LINE__,   \
                             #call, (int)e_);                                                           \
    } while (0)

#define DOPT_CUSOLVER(ctx, call)                                                                        \
    do {                                                                                                \
        cusolverStatus_t e_ = (call);                                                                   \
        if (e_ != CUSOLVER_STATUS_SUCCESS)                                                              \
            return dopt_fail((ctx), DOPT_ERR_CUDA, "%s:%d: %s: cuSOLVER status %d", __FILE__, __LINE__, \
                             #call, (int)e_);                                                           \
    } while (0)

/* Library handles, created once per context and device. */
struct dopt_cuda_handles {
    cublasHandle_t blas;
    cusolverDnHandle_t solver;
    int device;
};
dopt_status dopt_cuda_handles_get(dopt_context *ctx, struct dopt_cuda_handles **out);

/* Makes *buf hold at least `bytes` of device memory: for memory that
 * outlives the call and is owned by it (the QP tape's buffers), never for
 * per-call scratch, which comes from the arena. */
static inline dopt_status dopt_cuda_reserve(dopt_context *ctx, void **buf, size_t *cap, size_t bytes)
{
    if (*buf && bytes <= *cap) return DOPT_OK;
    if (*buf) cudaFree(*buf);
    *buf = NULL;
    *cap = 0;
    DOPT_CU(ctx, cudaMalloc(buf, bytes ? bytes : 1));
    *cap = bytes;
    return DOPT_OK;
}

static inline unsigned dopt_grid(int64_t count, unsigned block) { return (unsigned)((count + block - 1) / block); }

/* A one-dimensional grid of `block`-thread blocks covering `count` threads,
 * or a clear error when it exceeds the launch limit of 2^31 - 1 blocks. */
static inline dopt_status dopt_grid_checked(dopt_context *ctx, const char *who, int64_t count, unsigned block,
                                            unsigned *grid)
{
    int64_t blocks = (count + (int64_t)block - 1) / (int64_t)block;
    if (blocks > 2147483647)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s (cuda): %lld threads exceed one launch; split the batch",
                         who, (long long)count);
    *grid = (unsigned)(blocks > 0 ? blocks : 1);
    return DOPT_OK;
}

#endif
