/* Private to the library: the context and what it owns (backend table,
 * thread pool, scratch arena, log), errors, the parallel loop, the QP tape.
 * The backend contract itself is backend.h. */
#ifndef DOPT_INTERNAL_H
#define DOPT_INTERNAL_H

#include "dopt.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dopt_backend_ops;  /* backend.h */
struct dopt_pool;         /* parallel.c */
struct dopt_job_runner;   /* job.c */
struct dopt_temp_block;   /* memory.c */

/* The two kinds of memory a cap applies to (dopt_context_set_memory_limit). */
enum { DOPT_MEM_HOST = 0, DOPT_MEM_DEVICE = 1 };

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
    /* memory caps (memory.c), indexed by DOPT_MEM_HOST / DOPT_MEM_DEVICE */
    size_t mem_cap[2];                /* 0 = none */
    size_t mem_used[2];               /* the arena, live temporaries, reservations of the running call */
    int mem_refused;                  /* a cap refused a request since the flag was cleared (chunking retries) */
    struct dopt_temp_block *temps;    /* live dopt_temp_alloc blocks, for their sizes */
    struct dopt_job_runner *jobs;     /* the thread running submitted jobs (job.c); NULL before the first */
    char backend_note[512]; /* why this backend: replayed to a log callback set later */
    int backend_note_level;
    char error[1024];
    int ragged_policy;           /* dopt_ragged_policy (dopt_context_set_ragged_policy) */
    double ragged_max_pad_waste; /* its padded-work bound; 0 = the default */
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

/* A function the compiler must not inline (a code-generation choice that
 * measurably matters, said where it is used). */
#if defined(__GNUC__)
#define DOPT_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define DOPT_NOINLINE __declspec(noinline)
#else
#define DOPT_NOINLINE
#endif

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

/* A backend entry's per-call buffers laid out in the arena: every buffer is
 * added first (its pointer variable and size), then ONE commit reserves the
 * total and points every variable into the arena. Each buffer starts on a
 * DOPT_SCRATCH_ALIGN boundary (what cudaMalloc gives; vector loads) and
 * takes at least one aligned unit, so a zero-sized buffer still gets its own
 * non-NULL pointer (CUB takes a NULL temp pointer as a size query).
 *
 *     dopt_scratch_plan plan;
 *     dopt_scratch_plan_init(&plan, "qp backward (cuda)");
 *     dopt_scratch_plan_add(&plan, (void **)&dx, (size_t)B * n, sizeof(double));
 *     dopt_scratch_plan_add(&plan, &cub_tmp, tmp_bytes, 1);
 *     DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
 *
 * THE RULE: the arena is one block per context, and a reserve that grows it
 * frees the old block. So between a commit and the last use of its pointers
 * (for CUDA: until the stream has run the kernels that use them), nothing
 * may reserve the arena again: no second commit or dopt_scratch_reserve, and
 * no call of another backend entry or public layer function on the same
 * context (they take the arena too). Size every buffer of an entry before
 * its commit (CUB's temp-storage sizes come from a query with a NULL temp
 * pointer, which touches no buffer). An entry that can only size a buffer
 * after a kernel has run commits a second plan only once its stream is
 * synchronized and nothing of the first plan is read again (ilp_cuda.cu).
 * Memory that must live across several entries of one layer call is
 * alloc/free'd through the table instead (src/layers/ilp_api.c). Entries
 * that return before their kernels finish would also need the next call on
 * the same stream: dopt_context_set_cuda_stream synchronizes the old stream
 * when the arena exists. */
#define DOPT_SCRATCH_ALIGN 256
#define DOPT_SCRATCH_PLAN_SLOTS 16
typedef struct dopt_scratch_plan {
    const char *what; /* the entry, for messages */
    void **slot[DOPT_SCRATCH_PLAN_SLOTS];
    size_t offset[DOPT_SCRATCH_PLAN_SLOTS]; /* from the aligned base */
    int count;
    size_t total;     /* bytes of the layout (a multiple of DOPT_SCRATCH_ALIGN) */
    int too_many;     /* more than DOPT_SCRATCH_PLAN_SLOTS buffers were added */
    int too_large;    /* the layout exceeds SIZE_MAX */
} dopt_scratch_plan;

void dopt_scratch_plan_init(dopt_scratch_plan *plan, const char *what);
/* Records *slot = a buffer of count * elem_bytes bytes (the product checked);
 * *slot is set to NULL now and to the buffer by the commit. */
void dopt_scratch_plan_add(dopt_scratch_plan *plan, void **slot, size_t count, size_t elem_bytes);
/* One dopt_scratch_reserve for the layout, then every added slot points at
 * its buffer. On failure (too many buffers, a size beyond size_t, no
 * memory) every slot stays NULL and the message names plan->what. */
dopt_status dopt_scratch_plan_commit(dopt_context *ctx, dopt_scratch_plan *plan);

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
    /* a ragged batch's tape (dopt_qp_ragged_solve): its plan (host memory,
     * owned; NULL for a uniform tape) and problem, whose size arrays point
     * into the plan; prob then holds only batch and dtype */
    struct dopt_qp_ragged_layout *ragged;
    dopt_qp_ragged_problem rprob;
    struct dopt_qp_ragged_groups *groups; /* its size classes when solved grouped, else NULL */
    /* infeasible_mode CLOSEST: the phase-1 and shifted sub-problems of the
     * instances that were infeasible (src/layers/qp_closest.c), else NULL */
    struct dopt_qp_closest *closest;
};

/* The gradient of a shared parameter over an empty batch is the empty sum,
 * zero: writes zeros to outs[i] (counts[i] values of elem_bytes each, the
 * backend's memory) where shared_bits has bits[i] set and outs[i] is not
 * NULL. The backward passes call it for batch 0, where nothing else runs. */
dopt_status dopt_zero_shared_grads(dopt_context *ctx, int count, void *const *outs, const size_t *counts,
                                   const uint32_t *bits, uint32_t shared_bits, size_t elem_bytes);

/* Makes *buf hold at least `bytes` (host memory; the CPU backend's tape
 * buffers); 0 on failure. memory.c */
int dopt_host_reserve(void **buf, size_t *cap, size_t bytes);

/* ---- memory caps (memory.c) ----
 * Every byte the library allocates for a context on its own is counted in
 * ctx->mem_used against ctx->mem_cap of its kind: the arena (by
 * dopt_scratch_reserve), temporaries (dopt_temp_alloc) and reservations a
 * layer makes for memory a backend allocates outside those (the QP tape).
 * Only the thread that owns the context at the time (the caller, or the job
 * thread while a job runs) touches these fields: no locking. */
/* The kind of the backend's memory: host for the CPU, device for CUDA. */
int dopt_mem_kind(const dopt_context *ctx);
/* Bytes of `kind` still free under the cap (SIZE_MAX without one). */
size_t dopt_mem_room(const dopt_context *ctx, int kind);
/* Counts `bytes` of `kind`; beyond the cap: DOPT_ERR_OUT_OF_MEMORY, a
 * message naming `what`, the request and the cap, ctx->mem_refused = 1,
 * nothing counted. */
dopt_status dopt_mem_charge(dopt_context *ctx, int kind, size_t bytes, const char *what);
void dopt_mem_uncharge(dopt_context *ctx, int kind, size_t bytes);
/* Backend memory for a call's temporaries that must live across several
 * backend entries (the arena cannot): alloc through the table, counted.
 * dopt_temp_free(NULL) is a no-op. */
dopt_status dopt_temp_alloc(dopt_context *ctx, size_t bytes, void **ptr, const char *what);
/* Host memory for a call's staging, counted as host (on a CUDA context too:
 * the host cap). Freed by dopt_temp_free as well. */
dopt_status dopt_host_temp_alloc(dopt_context *ctx, size_t bytes, void **ptr, const char *what);
void dopt_temp_free(dopt_context *ctx, void *ptr);

/* ---- asynchronous jobs (job.c) ----
 * A job is one call, run later on the context's job thread: `fn` with a
 * copy of `args` (args_bytes bytes, copied at submit). A submit variant of a
 * public call is an args struct, a run function that makes the blocking
 * call from it, and a wrapper that fills the struct and calls
 * dopt_job_submit (src/layers/async_api.c). */
typedef dopt_status (*dopt_job_fn)(dopt_context *ctx, void *args);
dopt_status dopt_job_submit(dopt_context *ctx, dopt_job_fn fn, const void *args, size_t args_bytes, dopt_job **job);
/* 1 when a job of ctx is pending and the calling thread is not the job
 * thread running it: the context is not the caller's to use now. */
int dopt_context_busy(const dopt_context *ctx);
/* What dopt_context_last_error says while the context is busy. */
#define DOPT_BUSY_MESSAGE                                                                                     \
    "the context has a submitted job pending: wait for it (dopt_job_wait) before other calls on the context"
/* The check at the public entry points: the context must not be busy. */
#define DOPT_NOT_BUSY(ctx)                                               \
    do {                                                                 \
        if (dopt_context_busy(ctx)) return DOPT_ERR_INVALID_ARGUMENT;     \
    } while (0)
/* Waits for every pending job of ctx and joins its job thread. */
void dopt_jobs_release(dopt_context *ctx);

/* ---- chunking under a memory cap (src/layers/qp_chunked.c) ----
 * The QP solve as the layer dispatches it: one backend call when the batch
 * fits the cap, else consecutive chunks (no tape) or an error (tape). */
dopt_status dopt_qp_solve_capped(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                                 dopt_qp_solution *sol, dopt_qp_tape *tape);

#ifdef __cplusplus
}
#endif
#endif
