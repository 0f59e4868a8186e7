/* dopt: asynchronous calls (submit / test / wait) and per-context memory
 * caps. Part of the public API; include dopt.h (the umbrella) or this header.
 *
 * ---- asynchronous calls ----------------------------------------------------
 * A *_submit call takes the arguments of the blocking call of the same name,
 * queues the call on the context and returns at once with a job handle:
 *
 *     dopt_job *job;
 *     dopt_qp_solve_submit(ctx, &prob, NULL, &sol, NULL, &job);
 *     ... other host work (not on ctx) ...
 *     dopt_status st = dopt_job_wait(job);   // the call's status
 *     dopt_job_destroy(job);
 *
 *  - What is copied: the structs passed by pointer (problem, options,
 *    solution descriptors). What is NOT copied: the arrays they point to.
 *    Inputs must stay alive and unchanged, and outputs must not be read or
 *    written, until the job is done. A tape argument (dopt_qp_tape **) is a
 *    pointer the job uses: *tape is read when the job starts and written
 *    when it ends, so the variable must outlive the job.
 *  - Where it runs: on one host thread owned by the context (started at the
 *    first submit, joined by dopt_context_destroy), which uses the context's
 *    CPU worker pool as a blocking call would. Jobs of one context run one
 *    at a time, in submission order; results are bitwise those of the
 *    blocking call. For parallel jobs use several contexts (independent,
 *    each with its own thread, pool and arena; safe from several host
 *    threads, one context per thread).
 *  - While a job of a context is pending (submitted, not yet done), the
 *    context belongs to it: other calls on that context (layer calls,
 *    settings, memory helpers) are refused with DOPT_ERR_INVALID_ARGUMENT
 *    and dopt_context_last_error says so, without disturbing the job. Further
 *    submits on the same context are allowed (queued) from the thread that
 *    uses the context: a context, submits included, belongs to one calling
 *    thread at a time like every context (dopt_core.h); a job handle may be
 *    waited on from any thread. dopt_job_wait, _test,
 *    _destroy and dopt_context_destroy are the calls to use meanwhile.
 *    (The check covers the QP and ILP calls, the context settings and the
 *    memory helpers; the other layers' calls are refused before their
 *    backend work but may garble the job's message, and the host-only MILP
 *    calls are not checked: make none of them.)
 *  - Errors: argument errors of the call are the job's status, returned by
 *    dopt_job_wait (submit itself checks only what it must copy). The
 *    job's message: dopt_job_last_error; also copied to
 *    dopt_context_last_error by dopt_job_wait when no other job of the
 *    context is pending then. The log callback, if any, is called on the
 *    context's thread while a job runs.
 *  - CUDA contexts: the job's thread issues the call's work on the context's
 *    stream and synchronizes that stream before the job counts as done, so a
 *    done job's outputs are ready to read, as after a blocking call.
 *  - fork(): a child process inherits no job thread. Jobs submitted before
 *    the fork never run in the child: waiting there returns
 *    DOPT_ERR_INVALID_ARGUMENT; the context itself is usable in the child
 *    (a CPU context; a new job thread starts at its next submit).
 *
 * ---- memory caps -----------------------------------------------------------
 * dopt_context_set_memory_limit caps what the library allocates for a
 * context on its own: the scratch arena (kept between calls), the temporary
 * buffers of a call, the QP tape a call fills, and the sparse QP layer's
 * solve and backward memory (its workspaces and CHOLMOD factors, an
 * estimate from the symbolic analysis, docs/SPARSE_QP.md; the analysis of a
 * sparse structure itself, done once, is not counted). host_bytes caps host
 * memory (everything on a CPU context; host staging on a CUDA context),
 * device_bytes device memory (CUDA contexts). Arrays the caller passes, and
 * memory the caller asks for through dopt_memory_alloc, are not counted;
 * nor is a tape once the call that filled it has returned (it is the
 * caller's then, like an output array).
 *  - A request beyond the cap is DOPT_ERR_OUT_OF_MEMORY with a message
 *    naming the cap and the request; the arena never grows past the cap.
 *  - Chunking: where a call's memory grows with the batch (the QP solve's
 *    per-instance workspaces on CUDA), a uniform batch that does not fit is
 *    run as consecutive chunks that do, with the same results (bitwise) as
 *    one call. A call that records a QP tape is not chunked (the tape holds
 *    the whole batch): it must fit as a whole, else DOPT_ERR_OUT_OF_MEMORY
 *    saying so. On the CPU the workspaces are per worker thread, not per
 *    instance: a cap below them is an error, not a reason to chunk (set
 *    fewer threads instead).
 *  - 0 means no cap (the default). Lowering a cap below the current arena
 *    frees the arena (it is regrown within the cap at the next call). */
#ifndef DOPT_ASYNC_H
#define DOPT_ASYNC_H

#include "dopt_core.h"
#include "dopt_ilp.h"
#include "dopt_qp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dopt_job dopt_job;

/* dopt_qp_solve, queued. *job = the handle (NULL on failure). Fails at once
 * only when ctx, prob or job is NULL, or when called from inside a job of
 * the same context (a log callback) (DOPT_ERR_INVALID_ARGUMENT), or when the
 * context cannot start its thread (DOPT_ERR_OUT_OF_MEMORY / _INTERNAL). */
DOPT_API dopt_status dopt_qp_solve_submit(dopt_context *ctx, const dopt_qp_problem *prob, const dopt_qp_options *opt,
                                          dopt_qp_solution *sol, dopt_qp_tape **tape, dopt_job **job);
/* dopt_ilp_solve, queued; as dopt_qp_solve_submit. */
DOPT_API dopt_status dopt_ilp_solve_submit(dopt_context *ctx, const dopt_ilp_problem *prob, const dopt_ilp_options *opt,
                                           dopt_ilp_solution *sol, dopt_job **job);
/* The ragged solves, queued; as dopt_qp_solve_submit. The struct is
 * copied, not the arrays it points to: the size arrays (host) as well as
 * the data must stay alive and unchanged until the job is done. */
DOPT_API dopt_status dopt_qp_ragged_solve_submit(dopt_context *ctx, const dopt_qp_ragged_problem *prob,
                                                 const dopt_qp_options *opt, dopt_qp_solution *sol,
                                                 dopt_qp_tape **tape, dopt_job **job);
DOPT_API dopt_status dopt_ilp_ragged_solve_submit(dopt_context *ctx, const dopt_ilp_ragged_problem *prob,
                                                  const dopt_ilp_options *opt, dopt_ilp_solution *sol,
                                                  dopt_job **job);
/* 1 when the job is done, 0 while it is queued or running; -1 for NULL.
 * Never blocks. */
DOPT_API int dopt_job_test(const dopt_job *job);
/* Blocks until the job is done; returns the call's status (again on every
 * later wait). DOPT_ERR_INVALID_ARGUMENT for NULL, or for a job submitted
 * in the parent of a fork()ed process. */
DOPT_API dopt_status dopt_job_wait(dopt_job *job);
/* The call's message once done ("" when it succeeded or is still running). */
DOPT_API const char *dopt_job_last_error(const dopt_job *job);
/* Waits for the job, then frees the handle. NULL is a no-op. A job may be
 * destroyed after its context. */
DOPT_API void dopt_job_destroy(dopt_job *job);

/* Caps, in bytes, on the host and device memory the library allocates for
 * ctx (above); 0 = none. */
DOPT_API dopt_status dopt_context_set_memory_limit(dopt_context *ctx, size_t host_bytes, size_t device_bytes);
/* Bytes of each kind the context holds now (its arena; temporaries while a
 * call runs). Either pointer may be NULL. For tests and monitoring. */
DOPT_API dopt_status dopt_context_memory_in_use(const dopt_context *ctx, size_t *host_bytes, size_t *device_bytes);

#ifdef __cplusplus
}
#endif
#endif
