/* Device discovery and the cuBLAS/cuSOLVER handles of a context. The
 * handles are created at the first call that asks for them (the QP layer's
 * batched path), on the context's device, which the table entry's device
 * guard (cuda_backend.cu) has made current. */
#include "backend.h"
#include "cuda_check.h"

#include <stdlib.h>

extern "C" int dopt_cuda_device_count(void)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        cudaGetLastError(); /* clear the sticky "no driver" error */
        return 0;
    }
    return count;
}

extern "C" void dopt_cuda_context_release(dopt_context *ctx)
{
    struct dopt_cuda_handles *h = (struct dopt_cuda_handles *)ctx->cuda_private;
    if (!h) return;
    int caller = -1;
    if (cudaGetDevice(&caller) != cudaSuccess) caller = -1;
    cudaSetDevice(h->device); /* a handle is destroyed on the device it was made on */
    cublasDestroy(h->blas);
    cusolverDnDestroy(h->solver);
    if (caller >= 0) cudaSetDevice(caller);
    free(h);
    ctx->cuda_private = NULL;
}

dopt_status dopt_cuda_handles_get(dopt_context *ctx, struct dopt_cuda_handles **out)
{
    struct dopt_cuda_handles *h = (struct dopt_cuda_handles *)ctx->cuda_private;
    if (h && h->device != ctx->cuda_device) dopt_cuda_context_release(ctx), h = NULL;
    if (!h) {
        DOPT_CU(ctx, cudaSetDevice(ctx->cuda_device)); /* already current inside a table entry */
        h = (struct dopt_cuda_handles *)calloc(1, sizeof *h);
        if (!h) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "cuda: out of memory for handles");
        h->device = ctx->cuda_device;
        if (cublasCreate(&h->blas) != CUBLAS_STATUS_SUCCESS) {
            free(h);
            return dopt_fail(ctx, DOPT_ERR_CUDA, "cuda: cublasCreate failed");
        }
        if (cusolverDnCreate(&h->solver) != CUSOLVER_STATUS_SUCCESS) {
            cublasDestroy(h->blas);
            free(h);
            return dopt_fail(ctx, DOPT_ERR_CUDA, "cuda: cusolverDnCreate failed");
        }
        ctx->cuda_private = h;
        dopt_log(ctx, DOPT_LOG_INFO, "cuda: cuBLAS and cuSOLVER handles created on device %d", h->device);
    }
    cudaStream_t stream = (cudaStream_t)ctx->cuda_stream;
    DOPT_CUBLAS(ctx, cublasSetStream(h->blas, stream));
    DOPT_CUSOLVER(ctx, cusolverDnSetStream(h->solver, stream));
    *out = h;
    return DOPT_OK;
}
