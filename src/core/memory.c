/* Memory where the context's backend computes: the public helpers and the
 * per-context scratch arena. Both go through the backend table, so the same
 * code serves host memory (CPU) and device memory (CUDA). */
#include "internal.h"
#include "backend.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
    /* device memory serves only the device it was allocated on
     * (dopt_context_set_cuda_device releases it; this keeps the invariant) */
    if (ctx->scratch && ctx->ops->kind == DOPT_BACKEND_CUDA && ctx->scratch_device != ctx->cuda_device)
        dopt_scratch_release(ctx);
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

void dopt_scratch_plan_init(dopt_scratch_plan *plan, const char *what)
{
    memset(plan, 0, sizeof *plan);
    plan->what = what ? what : "scratch";
}

void dopt_scratch_plan_add(dopt_scratch_plan *plan, void **slot, size_t count, size_t elem_bytes)
{
    *slot = NULL;
    if (plan->count >= DOPT_SCRATCH_PLAN_SLOTS) {
        plan->too_many = 1;
        return;
    }
    plan->slot[plan->count] = slot;
    plan->offset[plan->count] = plan->total;
    ++plan->count;
    if (elem_bytes && count > SIZE_MAX / elem_bytes) {
        plan->too_large = 1;
        return;
    }
    size_t bytes = count * elem_bytes;
    /* whole aligned units, at least one: every buffer has its own address */
    size_t units = bytes / DOPT_SCRATCH_ALIGN + (bytes % DOPT_SCRATCH_ALIGN != 0);
    if (units == 0) units = 1;
    if (units > (SIZE_MAX - plan->total) / DOPT_SCRATCH_ALIGN) {
        plan->too_large = 1;
        return;
    }
    plan->total += units * DOPT_SCRATCH_ALIGN;
}

dopt_status dopt_scratch_plan_commit(dopt_context *ctx, dopt_scratch_plan *plan)
{
    if (plan->too_many)
        return dopt_fail(ctx, DOPT_ERR_INTERNAL, "%s: more than %d scratch buffers in one plan", plan->what,
                         DOPT_SCRATCH_PLAN_SLOTS);
    if (plan->too_large)
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "%s: the scratch buffers exceed the address space (size_t)",
                         plan->what);
    if (plan->count == 0) return DOPT_OK;
    /* padded so that the start can be aligned (the CPU's malloc gives 16
     * bytes); total is a multiple of the alignment, so the pad fits size_t */
    void *block = NULL;
    dopt_status st = dopt_scratch_reserve(ctx, plan->total + (DOPT_SCRATCH_ALIGN - 1), &block);
    if (st != DOPT_OK) {
        char why[sizeof ctx->error];
        memcpy(why, ctx->error, sizeof why);
        return dopt_fail(ctx, st, "%s: %zu bytes of scratch: %s", plan->what, plan->total, why);
    }
    size_t misalign = (size_t)((uintptr_t)block % DOPT_SCRATCH_ALIGN);
    char *base = (char *)block + (misalign ? DOPT_SCRATCH_ALIGN - misalign : 0);
    for (int i = 0; i < plan->count; ++i) *plan->slot[i] = base + plan->offset[i];
    return DOPT_OK;
}

int dopt_host_reserve(void **buf, size_t *cap, size_t bytes)
{
    if (bytes <= *cap && *buf) return 1;
    free(*buf);
    *buf = malloc(bytes ? bytes : 1);
    *cap = *buf ? bytes : 0;
    return *buf != NULL;
}
