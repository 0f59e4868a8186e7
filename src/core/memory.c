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
    DOPT_NOT_BUSY(ctx);
    ctx->error[0] = 0;
    if (bytes > 0 && (!a || !b)) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: NULL pointer for %zu bytes", what, bytes);
    return DOPT_OK;
}

dopt_status dopt_memory_alloc(dopt_context *ctx, size_t bytes, void **ptr)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
    ctx->error[0] = 0;
    if (!ptr) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "memory alloc: ptr is NULL");
    *ptr = NULL;
    return DOPT_CALL(ctx, alloc, bytes ? bytes : 1, ptr);
}

dopt_status dopt_memory_free(dopt_context *ctx, void *ptr)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
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
    DOPT_NOT_BUSY(ctx);
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
    /* the new block replaces the old one: what the cap leaves beside the
     * other counted memory bounds it, and a request beyond that fails
     * before the old block is freed */
    int kind = dopt_mem_kind(ctx);
    size_t room = dopt_mem_room(ctx, kind);
    if (room != SIZE_MAX) room += ctx->scratch_bytes;
    if (bytes > room) {
        ctx->mem_refused = 1;
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY,
                         "scratch arena: %zu bytes of %s memory requested, over the context's %s memory cap of %zu "
                         "bytes (%zu held by other buffers)",
                         bytes, kind == DOPT_MEM_HOST ? "host" : "device", kind == DOPT_MEM_HOST ? "host" : "device",
                         ctx->mem_cap[kind], ctx->mem_used[kind] - ctx->scratch_bytes);
    }
    /* grow by half again, so that slowly growing batches reallocate rarely
     * (never past the cap: then exactly what fits) */
    size_t want = ctx->scratch_bytes + ctx->scratch_bytes / 2;
    if (want < bytes) want = bytes;
    if (want < 4096) want = 4096;
    if (want > room) want = room;
    dopt_scratch_release(ctx);
    void *p = NULL;
    DOPT_TRY(DOPT_CALL(ctx, alloc, want, &p));
    ctx->scratch = p;
    ctx->scratch_bytes = want;
    ctx->scratch_device = ctx->cuda_device;
    ctx->mem_used[kind] += want;
    dopt_log(ctx, DOPT_LOG_INFO, "scratch: %s arena grown to %zu bytes", ctx->ops->name, want);
    *ptr = p;
    return DOPT_OK;
}

void dopt_scratch_release(dopt_context *ctx)
{
    if (ctx->scratch && ctx->ops->free) ctx->ops->free(ctx->scratch_device, ctx->scratch);
    if (ctx->scratch) dopt_mem_uncharge(ctx, dopt_mem_kind(ctx), ctx->scratch_bytes);
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

/* ---- memory caps ---- */

static const char *kind_name(int kind) { return kind == DOPT_MEM_HOST ? "host" : "device"; }

int dopt_mem_kind(const dopt_context *ctx)
{
    return ctx->ops->kind == DOPT_BACKEND_CUDA ? DOPT_MEM_DEVICE : DOPT_MEM_HOST;
}

size_t dopt_mem_room(const dopt_context *ctx, int kind)
{
    size_t cap = ctx->mem_cap[kind], used = ctx->mem_used[kind];
    if (cap == 0) return SIZE_MAX;
    return used < cap ? cap - used : 0;
}

dopt_status dopt_mem_charge(dopt_context *ctx, int kind, size_t bytes, const char *what)
{
    if (bytes > dopt_mem_room(ctx, kind)) {
        ctx->mem_refused = 1;
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY,
                         "%s: %zu bytes of %s memory requested, over the context's %s memory cap of %zu bytes (%zu "
                         "in use)",
                         what, bytes, kind_name(kind), kind_name(kind), ctx->mem_cap[kind], ctx->mem_used[kind]);
    }
    ctx->mem_used[kind] += bytes;
    return DOPT_OK;
}

void dopt_mem_uncharge(dopt_context *ctx, int kind, size_t bytes)
{
    ctx->mem_used[kind] = bytes < ctx->mem_used[kind] ? ctx->mem_used[kind] - bytes : 0;
}

struct dopt_temp_block {
    void *ptr;
    size_t bytes;
    int kind;
    struct dopt_temp_block *next;
};

/* A counted block of `kind`: host memory by malloc, else the backend's. */
static dopt_status temp_alloc(dopt_context *ctx, int kind, size_t bytes, void **ptr, const char *what)
{
    *ptr = NULL;
    if (bytes == 0) bytes = 1;
    struct dopt_temp_block *blk = (struct dopt_temp_block *)malloc(sizeof *blk);
    if (!blk) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "%s: out of host memory", what);
    dopt_status st = dopt_mem_charge(ctx, kind, bytes, what);
    if (st == DOPT_OK) {
        if (kind == dopt_mem_kind(ctx)) {
            st = DOPT_CALL(ctx, alloc, bytes, ptr);
        } else {
            *ptr = malloc(bytes);
            if (!*ptr) st = dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "%s: out of host memory for %zu bytes", what, bytes);
        }
        if (st != DOPT_OK) dopt_mem_uncharge(ctx, kind, bytes);
    }
    if (st != DOPT_OK) {
        free(blk);
        *ptr = NULL;
        return st;
    }
    blk->ptr = *ptr;
    blk->bytes = bytes;
    blk->kind = kind;
    blk->next = ctx->temps;
    ctx->temps = blk;
    return DOPT_OK;
}

dopt_status dopt_temp_alloc(dopt_context *ctx, size_t bytes, void **ptr, const char *what)
{
    return temp_alloc(ctx, dopt_mem_kind(ctx), bytes, ptr, what);
}

dopt_status dopt_host_temp_alloc(dopt_context *ctx, size_t bytes, void **ptr, const char *what)
{
    return temp_alloc(ctx, DOPT_MEM_HOST, bytes, ptr, what);
}

void dopt_temp_free(dopt_context *ctx, void *ptr)
{
    if (!ptr) return;
    int kind = dopt_mem_kind(ctx);
    for (struct dopt_temp_block **at = &ctx->temps; *at; at = &(*at)->next) {
        struct dopt_temp_block *blk = *at;
        if (blk->ptr != ptr) continue;
        *at = blk->next;
        kind = blk->kind;
        dopt_mem_uncharge(ctx, blk->kind, blk->bytes);
        free(blk);
        break;
    }
    if (kind != dopt_mem_kind(ctx))
        free(ptr); /* host staging of a CUDA context */
    else if (ctx->ops->free)
        ctx->ops->free(ctx->cuda_device, ptr);
}

dopt_status dopt_context_set_memory_limit(dopt_context *ctx, size_t host_bytes, size_t device_bytes)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
    ctx->error[0] = 0;
    ctx->mem_cap[DOPT_MEM_HOST] = host_bytes;
    ctx->mem_cap[DOPT_MEM_DEVICE] = device_bytes;
    /* the arena is scratch: freed when the new cap is below what is held,
     * regrown within the cap at the next call that needs it */
    int kind = dopt_mem_kind(ctx);
    if (ctx->mem_cap[kind] && ctx->mem_used[kind] > ctx->mem_cap[kind]) dopt_scratch_release(ctx);
    if (device_bytes && ctx->ops->kind != DOPT_BACKEND_CUDA)
        dopt_log(ctx, DOPT_LOG_WARN, "memory: a device memory cap on a %s context has no effect", ctx->ops->name);
    return DOPT_OK;
}

dopt_status dopt_context_memory_in_use(const dopt_context *ctx, size_t *host_bytes, size_t *device_bytes)
{
    if (!ctx || dopt_context_busy(ctx)) return DOPT_ERR_INVALID_ARGUMENT;
    if (host_bytes) *host_bytes = ctx->mem_used[DOPT_MEM_HOST];
    if (device_bytes) *device_bytes = ctx->mem_used[DOPT_MEM_DEVICE];
    return DOPT_OK;
}

dopt_status dopt_zero_shared_grads(dopt_context *ctx, int count, void *const *outs, const size_t *counts,
                                   const uint32_t *bits, uint32_t shared_bits, size_t elem_bytes)
{
    for (int i = 0; i < count; ++i)
        if (outs[i] && (shared_bits & bits[i]) && counts[i] > 0)
            DOPT_TRY(ctx->ops->set_zero(ctx, outs[i], counts[i] * elem_bytes));
    return DOPT_OK;
}
