/* The context: backend choice, settings, error messages, logging. */
#include "internal.h"
#include "backend.h"
#include "dopt_version.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dopt_version(void) { return DOPT_VERSION_STRING; }

const char *dopt_status_string(dopt_status status)
{
    switch (status) {
    case DOPT_OK: return "ok";
    case DOPT_ERR_INVALID_ARGUMENT: return "invalid argument";
    case DOPT_ERR_OUT_OF_MEMORY: return "out of memory";
    case DOPT_ERR_UNSUPPORTED: return "unsupported";
    case DOPT_ERR_NO_DEVICE: return "no CUDA device";
    case DOPT_ERR_CUDA: return "CUDA error";
    case DOPT_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *dopt_instance_status_string(int status)
{
    switch (status) {
    case DOPT_SOLVED: return "solved";
    case DOPT_PRIMAL_INFEASIBLE: return "primal infeasible";
    case DOPT_DUAL_INFEASIBLE: return "dual infeasible (unbounded)";
    case DOPT_ITERATION_LIMIT: return "iteration limit";
    case DOPT_NUMERICAL_FAILURE: return "numerical failure";
    case DOPT_INVALID_DATA: return "invalid data";
    case DOPT_SOLVED_REDUCED_ACCURACY: return "solved to reduced accuracy";
    case DOPT_SOLVED_CLOSEST_FEASIBLE: return "solved the closest feasible problem";
    }
    return "unknown";
}

dopt_status dopt_fail(dopt_context *ctx, dopt_status status, const char *fmt, ...)
{
    if (!ctx) return status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
    va_end(ap);
    if (ctx->log) ctx->log(ctx->log_user, DOPT_LOG_ERROR, ctx->error);
    return status;
}

void dopt_log(const dopt_context *ctx, int level, const char *fmt, ...)
{
    if (!ctx || !ctx->log) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ctx->log(ctx->log_user, level, buf);
}

dopt_status dopt_unsupported(dopt_context *ctx, const char *entry)
{
    return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED, "%s is not supported by the %s backend", entry, ctx->ops->name);
}

/* The CUDA table when it is built in, else NULL. */
static const dopt_backend_ops *cuda_ops(void)
{
#ifdef DOPT_HAVE_CUDA
    return &dopt_cuda_backend_ops;
#else
    return NULL;
#endif
}

static int cuda_devices(void)
{
    const dopt_backend_ops *cu = cuda_ops();
    return cu ? cu->device_count() : 0;
}

int dopt_cuda_available(void) { return cuda_devices() > 0; }

/* Why CUDA cannot be used, in ctx->error; the status to report for it. */
/* The backend choice, kept for a log callback installed after creation. */
static void note_backend(dopt_context *ctx, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void note_backend(dopt_context *ctx, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->backend_note, sizeof ctx->backend_note, fmt, ap);
    va_end(ap);
    ctx->backend_note_level = level;
    dopt_log(ctx, level, "%s", ctx->backend_note);
}

static dopt_status cuda_unusable(dopt_context *ctx)
{
    const dopt_backend_ops *cu = cuda_ops();
    if (!cu)
        return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED,
                         "the CUDA backend is not built in (configure with -DDOPT_WITH_CUDA=ON)");
    if (cu->device_count() < 1)
        return dopt_fail(ctx, DOPT_ERR_NO_DEVICE, "the CUDA backend is built in but no CUDA device is visible");
    ctx->ops = cu; /* open() runs on the CUDA backend */
    dopt_status st = cu->open ? cu->open(ctx) : DOPT_OK;
    ctx->ops = &dopt_cpu_backend_ops;
    return st;
}

dopt_status dopt_context_create(dopt_context **out, dopt_backend backend)
{
    if (!out) return DOPT_ERR_INVALID_ARGUMENT;
    dopt_context *ctx = (dopt_context *)calloc(1, sizeof *ctx);
    *out = ctx;
    if (!ctx) return DOPT_ERR_OUT_OF_MEMORY;
    ctx->ops = &dopt_cpu_backend_ops;
    if (backend == DOPT_BACKEND_CPU) {
        note_backend(ctx, DOPT_LOG_INFO, "backend: cpu (requested)");
        return DOPT_OK;
    }
    if (backend != DOPT_BACKEND_CUDA && backend != DOPT_BACKEND_AUTO)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "unknown backend %d", (int)backend);
    dopt_status st = cuda_unusable(ctx);
    if (st == DOPT_OK) {
        ctx->ops = cuda_ops();
        note_backend(ctx, DOPT_LOG_INFO, "backend: cuda on device %d (%s requested)", ctx->cuda_device,
                     backend == DOPT_BACKEND_AUTO ? "auto" : "cuda");
        return DOPT_OK;
    }
    if (backend == DOPT_BACKEND_CUDA) return st;
    /* AUTO: the CPU, and the reason stays readable in dopt_context_last_error */
    note_backend(ctx, DOPT_LOG_INFO, "backend: cpu (auto requested; falling back because %s)", ctx->error);
    return DOPT_OK;
}

void dopt_context_destroy(dopt_context *ctx)
{
    if (!ctx) return;
    dopt_jobs_release(ctx); /* pending jobs finish first: they use everything below */
    dopt_pool_release(ctx);
    dopt_scratch_release(ctx);
    if (ctx->ops->release) ctx->ops->release(ctx);
    free(ctx);
}

dopt_backend dopt_context_backend(const dopt_context *ctx) { return ctx ? ctx->ops->kind : DOPT_BACKEND_CPU; }

dopt_status dopt_context_set_threads(dopt_context *ctx, int threads)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
    if (threads < 0) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "threads must be >= 0, got %d", threads);
    int before = dopt_context_threads(ctx);
    ctx->threads = threads;
    if (dopt_context_threads(ctx) != before) dopt_pool_release(ctx); /* recreated at the next parallel call */
    if (ctx->ops->kind != DOPT_BACKEND_CPU)
        dopt_log(ctx, DOPT_LOG_INFO, "threads: %d CPU workers (host-side work only on the %s backend)",
                 dopt_context_threads(ctx), ctx->ops->name);
    return DOPT_OK;
}

int dopt_context_threads(const dopt_context *ctx) { return ctx ? dopt_worker_count(ctx->threads, INT64_MAX, 1) : 1; }

dopt_status dopt_context_set_cuda_device(dopt_context *ctx, int device)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
    if (!cuda_ops())
        return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED, "CUDA device %d: the CUDA backend is not built in", device);
    int devices = cuda_devices();
    if (device < 0 || device >= devices)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "CUDA device %d is not available (%d visible)", device,
                         devices);
    if (device == ctx->cuda_device) return DOPT_OK;
    if (ctx->ops->kind != DOPT_BACKEND_CUDA) {
        ctx->cuda_device = device; /* used if a CUDA context is made from these settings */
        dopt_log(ctx, DOPT_LOG_WARN, "CUDA device %d set on a %s context: ignored by its calls", device,
                 ctx->ops->name);
        return DOPT_OK;
    }
    /* handles and the arena belong to the old device */
    int old = ctx->cuda_device;
    dopt_scratch_release(ctx);
    if (ctx->ops->release) ctx->ops->release(ctx);
    ctx->cuda_device = device;
    dopt_status st = ctx->ops->open ? ctx->ops->open(ctx) : DOPT_OK;
    if (st != DOPT_OK) {
        ctx->cuda_device = old; /* keep a working device; the message says why */
        return st;
    }
    dopt_log(ctx, DOPT_LOG_INFO, "backend: cuda on device %d", device);
    return DOPT_OK;
}

dopt_status dopt_context_set_cuda_stream(dopt_context *ctx, void *stream)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
    if (stream && ctx->ops->kind != DOPT_BACKEND_CUDA)
        dopt_log(ctx, DOPT_LOG_WARN, "CUDA stream set on a %s context: ignored", ctx->ops->name);
    /* Consecutive calls reuse the scratch arena, ordered by their stream:
     * work still queued on the old stream may use it, and the new stream
     * would not wait for it. */
    int cuda_arena = ctx->ops->kind == DOPT_BACKEND_CUDA && ctx->scratch != NULL;
    if (stream != ctx->cuda_stream && cuda_arena && ctx->ops->synchronize) {
        dopt_status st = ctx->ops->synchronize(ctx);
        if (st != DOPT_OK) return st; /* the stream stays; the message says why */
    }
    ctx->cuda_stream = stream;
    return DOPT_OK;
}

void dopt_context_set_log(dopt_context *ctx, dopt_log_fn fn, void *user)
{
    if (!ctx || dopt_context_busy(ctx)) return; /* the running job calls the callback */
    ctx->log = fn;
    ctx->log_user = user;
    /* creation happened before any callback could be installed */
    if (fn && ctx->backend_note[0]) fn(user, ctx->backend_note_level, ctx->backend_note);
}

const char *dopt_context_last_error(const dopt_context *ctx)
{
    if (!ctx) return "no context";
    /* the running job writes ctx->error: reading it now would race */
    return dopt_context_busy(ctx) ? DOPT_BUSY_MESSAGE : ctx->error;
}
