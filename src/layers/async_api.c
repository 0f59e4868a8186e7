/* The submit variants of the public calls (dopt_async.h): the call's structs
 * are copied into one argument record, a run function makes the blocking
 * call from it on the context's job thread (src/core/job.c). Adding a
 * variant for another solve is a run function and a three-line wrapper. */
#include "internal.h"

#include <string.h>

/* What a submit checks itself: the structs it copies, and where to put the
 * handle. The message only when the context is idle (a pending job owns it). */
static dopt_status check_submit(dopt_context *ctx, const void *prob, dopt_job **job, const char *call)
{
    if (job) *job = NULL;
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    if (prob && job) return DOPT_OK;
    if (dopt_context_busy(ctx)) return DOPT_ERR_INVALID_ARGUMENT;
    return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: %s is NULL", call, !prob ? "prob" : "job");
}

/* Copies of a solve's arguments. NULL options mean the defaults and a NULL
 * solution is the blocking call's own error, so both are passed on as NULL. */
typedef struct {
    union {
        dopt_qp_problem qp;
        dopt_qp_ragged_problem qp_ragged;
        dopt_ilp_problem ilp;
        dopt_ilp_ragged_problem ilp_ragged;
    } prob;
    union {
        dopt_qp_options qp;
        dopt_ilp_options ilp;
    } opt;
    union {
        dopt_qp_solution qp;
        dopt_ilp_solution ilp;
    } sol;
    int has_opt, has_sol;
    dopt_qp_tape **tape; /* the caller's variable: read when the job starts, written when it ends */
} solve_call;

static dopt_status queue_solve(dopt_context *ctx, dopt_job **job, const char *call, dopt_job_fn run,
                               const void *prob, size_t prob_bytes, const void *opt, size_t opt_bytes,
                               const void *sol, size_t sol_bytes, dopt_qp_tape **tape)
{
    DOPT_TRY(check_submit(ctx, prob, job, call));
    solve_call a;
    memset(&a, 0, sizeof a);
    memcpy(&a.prob, prob, prob_bytes);
    if (opt) memcpy(&a.opt, opt, opt_bytes), a.has_opt = 1;
    if (sol) memcpy(&a.sol, sol, sol_bytes), a.has_sol = 1;
    a.tape = tape;
    return dopt_job_submit(ctx, run, &a, sizeof a, job);
}

static dopt_status run_qp_solve(dopt_context *ctx, void *args)
{
    solve_call *a = (solve_call *)args;
    return dopt_qp_solve(ctx, &a->prob.qp, a->has_opt ? &a->opt.qp : NULL, a->has_sol ? &a->sol.qp : NULL, a->tape);
}

static dopt_status run_qp_ragged_solve(dopt_context *ctx, void *args)
{
    solve_call *a = (solve_call *)args;
    return dopt_qp_ragged_solve(ctx, &a->prob.qp_ragged, a->has_opt ? &a->opt.qp : NULL,
                                a->has_sol ? &a->sol.qp : NULL, a->tape);
}

static dopt_status run_ilp_solve(dopt_context *ctx, void *args)
{
    solve_call *a = (solve_call *)args;
    return dopt_ilp_solve(ctx, &a->prob.ilp, a->has_opt ? &a->opt.ilp : NULL, a->has_sol ? &a->sol.ilp : NULL);
}

static dopt_status run_ilp_ragged_solve(dopt_context *ctx, void *args)
{
    solve_call *a = (solve_call *)args;
    return dopt_ilp_ragged_solve(ctx, &a->prob.ilp_ragged, a->has_opt ? &a->opt.ilp : NULL,
                                 a->has_sol ? &a->sol.ilp : NULL);
}

dopt_status dopt_qp_solve_submit(dopt_context *ctx, const dopt_qp_problem *prob, const dopt_qp_options *opt,
                                 dopt_qp_solution *sol, dopt_qp_tape **tape, dopt_job **job)
{
    return queue_solve(ctx, job, "qp solve submit", run_qp_solve, prob, sizeof *prob, opt, sizeof *opt, sol,
                       sizeof *sol, tape);
}

dopt_status dopt_qp_ragged_solve_submit(dopt_context *ctx, const dopt_qp_ragged_problem *prob,
                                        const dopt_qp_options *opt, dopt_qp_solution *sol, dopt_qp_tape **tape,
                                        dopt_job **job)
{
    return queue_solve(ctx, job, "qp ragged solve submit", run_qp_ragged_solve, prob, sizeof *prob, opt,
                       sizeof *opt, sol, sizeof *sol, tape);
}

dopt_status dopt_ilp_solve_submit(dopt_context *ctx, const dopt_ilp_problem *prob, const dopt_ilp_options *opt,
                                  dopt_ilp_solution *sol, dopt_job **job)
{
    return queue_solve(ctx, job, "ilp solve submit", run_ilp_solve, prob, sizeof *prob, opt, sizeof *opt, sol,
                       sizeof *sol, NULL);
}

dopt_status dopt_ilp_ragged_solve_submit(dopt_context *ctx, const dopt_ilp_ragged_problem *prob,
                                         const dopt_ilp_options *opt, dopt_ilp_solution *sol, dopt_job **job)
{
    return queue_solve(ctx, job, "ilp ragged solve submit", run_ilp_ragged_solve, prob, sizeof *prob, opt,
                       sizeof *opt, sol, sizeof *sol, NULL);
}
