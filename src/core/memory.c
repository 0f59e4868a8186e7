/* Memory where the context's backend computes: the public helpers and the
 * per-context scratch arena. Both go through the backend table, so the same
 * code serves host memory (CPU) and device memory (CUDA). */
#include "internal.h"
#include "backend.h"

#include <stdlib.h>

/* The checks every helper starts with; clears the last error. */
static dopt_status begin(dopt_context *ctx, const char *what, const void *a, const void *b, size_t bytes)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    if (bytes > 0 && (!a || !b)) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: NULL pointer for %zu bytes", what, bytes);
    return DOPT_OK;
}

dopt_status dopt_memory_alloc(dopt_context *ctx, size_t bytes, void **ptr)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    if (!ptr) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "memory alloc: ptr is NULL");
    *ptr = NULL;
    return DOPT_CALL(ctx, alloc, bytes ? bytes : 1, ptr);
}

dopt_status dopt_memory_free(dopt_context *ctx, void *ptr)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    if (!ptr) return DOPT_OK;
    if (!ctx->ops->free) return dopt_unsupported(ctx, "free");
    ctx->ops->free(ctx->cuda_device, ptr);
    return DOPT_OK;
}

dopt_status dopt_memory_upload(dopt_context *ctx, void *dst, const void *host_src, size_t bytes)
{
    DOPT_TRY(begin(ctx, "memory upload", dst, host_src, bytes));
    return bytes ? DOPT_CALL(ctx, upload, dst, host_src, bytes) : DOPT_OK;
}

dopt_status dopt_memory_download(dopt_context *ctx, void *host_dst, const void *src, size_t bytes)
{
    DOPT_TRY(begin(ctx, "memory download", host_dst, src, bytes));
    return bytes ? DOPT_CALL(ctx, download, host_dst, src, bytes) : DOPT_OK;
}

dopt_status dopt_memory_copy(dopt_context *ctx, void *dst, const void *src, size_t bytes)
{
    DOPT_TRY(begin(ctx, "memory copy", dst, src, bytes));
    return bytes ? DOPT_CALL(ctx, copy, dst, src, bytes) : DOPT_OK;
}

dopt_status dopt_memory_set_zero(dopt_context *ctx, void *ptr, size_t bytes)
{
    DOPT_TRY(begin(ctx, "memory set zero", ptr, ptr, bytes));
    return bytes ? DOPT_CALL(ctx, set_zero, ptr, bytes) : DOPT_OK;
}

dopt_status dopt_context_synchronize(dopt_context *ctx)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    return ctx->ops->synchronize ? ctx->ops->synchronize(ctx) : DOPT_OK;
}

dopt_status dopt_scratch_reserve(dopt_context *ctx, size_t bytes, void **ptr)
{
    *ptr = NULL;
    if (ctx->scratch && bytes <= ctx->scratch_bytes) {
        *ptr = ctx->scratch;
        return DOPT_OK;
    }
    /* grow by half again, so that slowly growing batches reallocate rarely */
    size_t want = ctx->scratch_bytes + ctx->scratch_bytes / 2;
    if (want < bytes) want = bytes;
    if (want < 4096) want = 4096;
    dopt_scratch_release(ctx);
    void *p = NULL;
    DOPT_TRY(DOPT_CALL(ctx, alloc, want, &p));
    ctx->scratch = p;
    ctx->scratch_bytes = want;
    ctx->scratch_device = ctx->cuda_device;
    dopt_log(ctx, DOPT_LOG_INFO, "scratch: %s arena grown to %zu bytes", ctx->ops->name, want);
    *ptr = p;
    return DOPT_OK;
}

void dopt_scratch_release(dopt_context *ctx)
{
    if (ctx->scratch && ctx->ops->free) ctx->ops->free(ctx->scratch_device, ctx->scratch);
    ctx->scratch = NULL;
    ctx->scratch_bytes = 0;
}

int dopt_host_reserve(void **buf, size_t *cap, size_t bytes)
{
    if (bytes <= *cap && *buf) return 1;
    free(*buf);
    *buf = malloc(bytes ? bytes : 1);
    *cap = *buf ? bytes : 0;
    return *buf != NULL;
}
