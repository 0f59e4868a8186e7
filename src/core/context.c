/* Context, error messages, logging. */
#include "internal.h"
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

int dopt_cuda_available(void) { return dopt_cuda_device_count() > 0; }

dopt_status dopt_context_create(dopt_context **out, dopt_backend backend)
{
    if (!out) return DOPT_ERR_INVALID_ARGUMENT;
    dopt_context *ctx = (dopt_context *)calloc(1, sizeof *ctx);
    *out = ctx;
    if (!ctx) return DOPT_ERR_OUT_OF_MEMORY;
    ctx->backend = DOPT_BACKEND_CPU;
    if (backend == DOPT_BACKEND_CPU) return DOPT_OK;
    if (backend != DOPT_BACKEND_CUDA && backend != DOPT_BACKEND_AUTO)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "unknown backend %d", (int)backend);
    int devices = dopt_cuda_device_count();
    if (devices > 0) {
        ctx->backend = DOPT_BACKEND_CUDA;
        return DOPT_OK;
    }
    if (backend == DOPT_BACKEND_AUTO) return DOPT_OK;
    if (devices < 0)
        return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED,
                         "the CUDA backend is not built in (configure with -DDOPT_WITH_CUDA=ON)");
    return dopt_fail(ctx, DOPT_ERR_NO_DEVICE, "the CUDA backend is built in but no CUDA device is visible");
}

void dopt_context_destroy(dopt_context *ctx)
{
    if (!ctx) return;
    dopt_cuda_context_release(ctx);
    free(ctx);
}

dopt_backend dopt_context_backend(const dopt_context *ctx) { return ctx ? ctx->backend : DOPT_BACKEND_CPU; }

dopt_status dopt_context_set_threads(dopt_context *ctx, int threads)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    if (threads < 0) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "threads must be >= 0, got %d", threads);
    ctx->threads = threads;
    return DOPT_OK;
}

int dopt_context_threads(const dopt_context *ctx) { return ctx ? dopt_worker_count(ctx->threads, INT64_MAX, 1) : 1; }

dopt_status dopt_context_set_cuda_device(dopt_context *ctx, int device)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    int devices = dopt_cuda_device_count();
    if (device < 0 || device >= (devices > 0 ? devices : 0))
        return dopt_fail(ctx, devices < 0 ? DOPT_ERR_UNSUPPORTED : DOPT_ERR_INVALID_ARGUMENT,
                         "CUDA device %d is not available (%d visible)", device, devices > 0 ? devices : 0);
    ctx->cuda_device = device;
    return DOPT_OK;
}

dopt_status dopt_context_set_cuda_stream(dopt_context *ctx, void *stream)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->cuda_stream = stream;
    return DOPT_OK;
}

void dopt_context_set_log(dopt_context *ctx, dopt_log_fn fn, void *user)
{
    if (!ctx) return;
    ctx->log = fn;
    ctx->log_user = user;
}

const char *dopt_context_last_error(const dopt_context *ctx) { return ctx ? ctx->error : "no context"; }
