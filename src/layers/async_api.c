/* The submit variants of the public calls (dopt_async.h): each is an
 * argument struct holding copies of the call's structs, a run function that
 * makes the blocking call from it on the context's job thread, and a wrapper
 * that fills the struct and queues it (src/core/job.c). Adding one for
 * another call is these three pieces. */
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

/* ---- QP solve ---- */
typedef struct {
    dopt_qp_problem prob;
    dopt_qp_options opt;
    dopt_qp_solution sol;
    int has_opt, has_sol; /* NULL options mean the defaults; a NULL solution is the call's error */
    dopt_qp_tape **tape;  /* the caller's variable: read when the job starts, written when it ends */
} qp_solve_call;

static dopt_status run_qp_solve(dopt_context *ctx, void *args)
{
    qp_solve_call *a = (qp_solve_call *)args;
    return dopt_qp_solve(ctx, &a->prob, a->has_opt ? &a->opt : NULL, a->has_sol ? &a->sol : NULL, a->tape);
}

dopt_status dopt_qp_solve_submit(dopt_context *ctx, const dopt_qp_problem *prob, const dopt_qp_options *opt,
                                 dopt_qp_solution *sol, dopt_qp_tape **tape, dopt_job **job)
{
    DOPT_TRY(check_submit(ctx, prob, job, "qp solve submit"));
    qp_solve_call a;
    memset(&a, 0, sizeof a);
    a.prob = *prob;
    if (opt) a.opt = *opt, a.has_opt = 1;
    if (sol) a.sol = *sol, a.has_sol = 1;
    a.tape = tape;
    return dopt_job_submit(ctx, run_qp_solve, &a, sizeof a, job);
}

/* ---- ILP solve ---- */
typedef struct {
    dopt_ilp_problem prob;
    dopt_ilp_options opt;
    dopt_ilp_solution sol;
    int has_opt, has_sol;
} ilp_solve_call;

static dopt_status run_ilp_solve(dopt_context *ctx, void *args)
{
    ilp_solve_call *a = (ilp_solve_call *)args;
    return dopt_ilp_solve(ctx, &a->prob, a->has_opt ? &a->opt : NULL, a->has_sol ? &a->sol : NULL);
}

dopt_status dopt_ilp_solve_submit(dopt_context *ctx, const dopt_ilp_problem *prob, const dopt_ilp_options *opt,
                                  dopt_ilp_solution *sol, dopt_job **job)
{
    DOPT_TRY(check_submit(ctx, prob, job, "ilp solve submit"));
    ilp_solve_call a;
    memset(&a, 0, sizeof a);
    a.prob = *prob;
    if (opt) a.opt = *opt, a.has_opt = 1;
    if (sol) a.sol = *sol, a.has_sol = 1;
    return dopt_job_submit(ctx, run_ilp_solve, &a, sizeof a, job);
}
