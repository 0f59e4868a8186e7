/* HiGHS under a time limit, in a child process killed 0.75 s after the
 * deadline: HiGHS looks at its clock in presolve, the simplex and the tree
 * but not inside its feasibility jump (5.1 s for a 2 s search on the hard
 * set cover at load 10; milp_highs.c now skips it under short limits), and
 * the guarantee must not rest on knowing every such step. The
 * same machinery as Cbc's (milp_child.h); docs/MILP.md, "Time limits".
 * Without a limit HiGHS runs in the caller's process (it is reentrant). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milp_backend.h"
#include "milp_child.h"
#include "milp_internal.h"

/* the child's answer through the pipe: this, then x and the ray (n each) */
typedef struct {
    milp_child_record head;
    int32_t call_status;
    milp_child_answer answer;
    char err[256];
} highs_record;

typedef struct {
    const dopt_milp *p;
    const dopt_milp_options *opt;
    const atomic_int *stop; /* used where the work runs in the caller's process */
} highs_job;

static void highs_work(void *arg, milp_child_channel *ch)
{
    const highs_job *job = arg;
    size_t n = (size_t)job->p->n;
    highs_record *rec = calloc(1, sizeof *rec + 2 * n * 8);
    if (!rec) return;
    dopt_milp_result r = {0};
    r.x = (double *)(rec + 1), r.objective = r.bound = NAN; /* as milp_solve starts every result */
    dopt_milp_options opt = *job->opt;
    opt.ray = job->opt->ray ? r.x + n : NULL;
    dopt_status st = milp_solve_highs_stoppable(job->p, &opt, milp_child_separate(ch) ? NULL : job->stop, &r,
                                                rec->err, sizeof rec->err);
    rec->head.final = 1, rec->call_status = st;
    milp_child_answer_pack(&rec->answer, &r);
    milp_child_send(ch, rec);
    free(rec);
}

dopt_status milp_solve_highs_guarded(const dopt_milp *p, const dopt_milp_options *opt, const atomic_int *stop,
                                     dopt_milp_result *res, char *err, size_t errlen)
{
    if (!(opt->time_limit > 0) || !dopt_milp_have_highs()) return milp_solve_highs_stoppable(p, opt, stop, res, err, errlen);
    double t_start = milp_wall_seconds();
    size_t n = (size_t)p->n, len = sizeof(highs_record) + 2 * n * 8;
    highs_record *rec = malloc(len);
    if (!rec) return milp_error(err, errlen, DOPT_ERR_OUT_OF_MEMORY, "out of memory");
    highs_job job = {p, opt, stop};
    int records = 0;
    milp_child_outcome how = milp_run_in_child(highs_work, &job, rec, len, t_start + opt->time_limit + MILP_KILL_GRACE,
                                               stop, !opt->verbose, NULL, &records);
    dopt_status st = DOPT_OK;
    res->nodes = 0, res->has_ray = 0;
    if (how == MILP_CHILD_DONE && rec->call_status != DOPT_OK) {
        rec->err[sizeof rec->err - 1] = 0;
        st = milp_error(err, errlen, (dopt_status)rec->call_status, "%s", rec->err);
    } else if (how == MILP_CHILD_DONE) {
        milp_child_answer_unpack(&rec->answer, (const double *)(rec + 1), n, opt->ray, res);
    } else {
        /* killed (deadline, or the portfolio's stop) or died: what HiGHS
         * had found is lost with its process */
        res->status = how == MILP_CHILD_KILLED ? DOPT_ITERATION_LIMIT : DOPT_NUMERICAL_FAILURE;
        res->has_solution = 0, res->objective = res->bound = NAN;
        snprintf(res->solver_status, sizeof res->solver_status, "HiGHS: %s",
                 how == MILP_CHILD_FAILED      ? "its process died"
                 : stop && atomic_load(stop)   ? "stopped (the other solver finished)"
                                               : "killed at the deadline");
    }
    free(rec);
    res->seconds = milp_wall_seconds() - t_start;
    return st;
}
