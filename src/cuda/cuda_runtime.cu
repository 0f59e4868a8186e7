/* Device discovery, memory staging and the library handles of a context. */
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

extern "C" void *dopt_cuda_alloc(size_t bytes)
{
    void *p = NULL;
    if (cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess) return NULL;
    return p;
}

extern "C" void dopt_cuda_free(void *p)
{
    if (p) cudaFree(p);
}

extern "C" int dopt_cuda_upload(void *dst, const void *src, size_t bytes)
{
    return cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice) != cudaSuccess;
}

extern "C" int dopt_cuda_download(void *dst, const void *src, size_t bytes)
{
    return cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost) != cudaSuccess;
}

extern "C" void dopt_cuda_context_release(dopt_context *ctx)
{
    struct dopt_cuda_handles *h = (struct dopt_cuda_handles *)ctx->cuda_private;
    if (!h) return;
    cudaSetDevice(h->device);
    cublasDestroy(h->blas);
    cusolverDnDestroy(h->solver);
    free(h);
    ctx->cuda_private = NULL;
}

dopt_status dopt_cuda_handles_get(dopt_context *ctx, struct dopt_cuda_handles **out)
{
    DOPT_CU(ctx, cudaSetDevice(ctx->cuda_device));
    struct dopt_cuda_handles *h = (struct dopt_cuda_handles *)ctx->cuda_private;
    if (h && h->device != ctx->cuda_device) dopt_cuda_context_release(ctx), h = NULL;
    if (!h) {
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
    }
    cudaStream_t stream = (cudaStream_t)ctx->cuda_stream;
    DOPT_CUBLAS(ctx, cublasSetStream(h->blas, stream));
    DOPT_CUSOLVER(ctx, cusolverDnSetStream(h->solver, stream));
    *out = h;
    return DOPT_OK;
}
