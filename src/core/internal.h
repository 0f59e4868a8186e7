/* Private to the library: the context and what it owns (backend table,
 * thread pool, scratch arena, log), errors, the parallel loop, the QP tape.
 * The backend contract itself is backend.h. */
#ifndef DOPT_INTERNAL_H
#define DOPT_INTERNAL_H

#include "dopt.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dopt_backend_ops; /* backend.h */
struct dopt_pool;        /* parallel.c */

struct dopt_context {
    const struct dopt_backend_ops *ops; /* the backend every call runs on */
    int threads;                        /* as set: 0 = all processors */
    int cuda_device;
    void *cuda_stream;
    dopt_log_fn log;
    void *log_user;
    void *cuda_private;     /* library handles of the CUDA backend (cuda_runtime.cu) */
    struct dopt_pool *pool; /* CPU workers, created at the first parallel call */
    void *scratch;          /* grow-only arena in the backend's memory */
    size_t scratch_bytes;
    int scratch_device; /* device the arena lives on */
    char backend_note[512]; /* why this backend: replayed to a log callback set later */
    int backend_note_level;
    char error[1024];
};

/* Records a message (printf-style), passes it to the log callback as
 * DOPT_LOG_ERROR, and returns status. */
dopt_status dopt_fail(dopt_context *ctx, dopt_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Passes a message to the log callback, if any. */
void dopt_log(const dopt_context *ctx, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Returns the status of `call` from the enclosing function unless it is DOPT_OK. */
#define DOPT_TRY(call)                \
    do {                              \
        dopt_status s_ = (call);      \
        if (s_ != DOPT_OK) return s_; \
    } while (0)

/* ---- CPU parallel loop (parallel.c) ----
 * dopt_parallel_for runs fn over [0, count) in chunks of `grain`, taken
 * dynamically by `workers` workers; worker is in [0, workers) and the
 * calling thread is worker 0. The partition never affects results: callers
 * write disjoint outputs. The workers are ctx's pool (created at the first
 * call with dopt_context_threads(ctx) workers, kept until the thread count
 * changes or the context is destroyed); workers is capped at the pool's
 * size. ctx = NULL (callers without a context) or a call from inside a
 * running loop of the same context use threads of their own for the call. */
typedef void (*dopt_range_fn)(void *arg, int64_t begin, int64_t end, int worker);
int dopt_worker_count(int threads, int64_t count, int64_t grain);
void dopt_parallel_for(dopt_context *ctx, int workers, int64_t count, int64_t grain, dopt_range_fn fn, void *arg);
/* Joins and frees ctx's pool (dopt_context_destroy, thread count change). */
void dopt_pool_release(dopt_context *ctx);

/* ---- per-call scratch (memory.c) ----
 * One grow-only block per context in the memory of its backend (host for
 * the CPU, device for CUDA): *ptr gets at least `bytes`, valid until the
 * next dopt_scratch_reserve on ctx or the context's destruction. Callers
 * never free it. Its contents are not preserved when it grows. On failure
 * *ptr = NULL and the message is recorded. */
dopt_status dopt_scratch_reserve(dopt_context *ctx, size_t bytes, void **ptr);
void dopt_scratch_release(dopt_context *ctx);

/* ---- QP ---- */
struct dopt_qp_tape {
    const struct dopt_backend_ops *ops; /* recorded on; frees the buffers below */
    int device;                         /* device the buffers live on */
    dopt_qp_problem prob;
    dopt_qp_options opt;
    size_t work_per_instance; /* elements */
    void *work;               /* batch * work_per_instance: factors at the solution */
    void *x, *lam, *nu;       /* copies of the solution */
    int32_t *status;
    /* bytes allocated behind each pointer: a tape passed back to
     * dopt_qp_solve is refilled in place, growing only when needed */
    size_t cap_work, cap_x, cap_lam, cap_nu, cap_status;
    void *adjoint; /* backward scratch (dx, dlam~, dnu per instance), kept for reuse */
    size_t cap_adjoint;
};

/* Makes *buf hold at least `bytes` (host memory; the CPU backend's tape
 * buffers); 0 on failure. memory.c */
int dopt_host_reserve(void **buf, size_t *cap, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
