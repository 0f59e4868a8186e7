/* The HiGHS backend (built when CMake finds HiGHS's C API: a system install
 * or PyPI's highsbox under .deps/, scripts/ensure-highs.sh). One Highs
 * object per call: HiGHS keeps its state in the object (and its task
 * scheduler per calling thread), so calls run at once on any threads
 * without a lock, which the batched search relies on. Statuses map to
 * dopt's as Cbc's do (docs/MILP.md has the table). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interfaces/highs_c_api.h"

#include "milp_backend.h"
#include "milp_internal.h"

int dopt_milp_have_highs(void) { return 1; }

/* HiGHS's own names of its model statuses (as its modelStatusToString
 * spells them), for dopt_milp_result.solver_status */
static const char *highs_status_name(HighsInt s)
{
    static const char *const names[] = {"Not Set", "Load error", "Model error", "Presolve error", "Solve error",
                                        "Postsolve error", "Empty", "Optimal", "Infeasible",
                                        "Primal infeasible or unbounded", "Unbounded",
                                        "Bound on objective reached", "Target for objective reached",
                                        "Time limit reached", "Iteration limit reached", "Unknown",
                                        "Solution limit reached", "Interrupted by user"};
    return s >= 0 && s < (HighsInt)(sizeof names / sizeof *names) ? names[s] : "(unknown status)";
}

/* the model in HiGHS's index type, with its integrality array (NULL for an LP) */
typedef struct {
    HighsInt *start, *index, *integrality;
} highs_arrays;

static void highs_arrays_free(highs_arrays *a) { free(a->start), free(a->index), free(a->integrality); }

static int highs_arrays_fill(const dopt_milp *p, int with_integers, highs_arrays *a)
{
    size_t n = (size_t)p->n, nnz = (size_t)p->nnz;
    a->start = malloc((n + 1) * sizeof *a->start);
    a->index = malloc((nnz ? nnz : 1) * sizeof *a->index);
    a->integrality = with_integers ? malloc((n ? n : 1) * sizeof *a->integrality) : NULL;
    if (!a->start || !a->index || (with_integers && !a->integrality)) return 0;
    for (size_t j = 0; j <= n; ++j) a->start[j] = (HighsInt)p->col_ptr[j];
    for (size_t k = 0; k < nnz; ++k) a->index[k] = (HighsInt)p->row_idx[k];
    for (size_t j = 0; with_integers && j < n; ++j)
        a->integrality[j] = p->integer[j] ? kHighsVarTypeInteger : kHighsVarTypeContinuous;
    return 1;
}

/* A Highs object holding p (integrality dropped unless with_integers) with
 * dopt's options; NULL when out of memory or HiGHS refuses the model. */
static void *highs_load(const dopt_milp *p, const dopt_milp_options *opt, int with_integers)
{
    highs_arrays a = {0};
    void *h = NULL;
    if (!highs_arrays_fill(p, with_integers, &a)) goto done;
    h = Highs_create();
    if (!h) goto done;
    Highs_setBoolOptionValue(h, "output_flag", opt->verbose != 0);
    /* one thread unless asked: jobs of a batched search run side by side,
     * and a single-threaded HiGHS is deterministic */
    Highs_setIntOptionValue(h, "threads", opt->threads > 0 ? opt->threads : 1);
    /* HiGHS stops at a 1e-4 relative gap by default; dopt's gap 0 means prove optimality */
    Highs_setDoubleOptionValue(h, "mip_rel_gap", opt->gap);
    HighsInt sense = p->maximize ? kHighsObjSenseMaximize : kHighsObjSenseMinimize;
    /* HiGHS's infinity is IEEE inf, dopt's too: bounds pass as they are */
    HighsInt rc = Highs_passModel(h, p->n, p->m, (HighsInt)p->nnz, 0, kHighsMatrixFormatColwise, 0, sense, p->offset,
                                  p->c, p->col_lo, p->col_hi, p->row_lo, p->row_hi, a.start, a.index, p->values, NULL,
                                  NULL, NULL, a.integrality);
    if (rc == kHighsStatusError) Highs_destroy(h), h = NULL;
done:
    highs_arrays_free(&a);
    return h;
}

/* HiGHS's feasibility jump (a primal heuristic before the root LP) stops
 * at an effort limit of 1024 steps per nonzero and never looks at the
 * clock: on a 2000 x 1000 set cover (1e5 nonzeros) it ran 1.7 s on a quiet
 * machine and up to 4 s past a 2 s limit on a loaded one. Under a time
 * limit it runs only when the time left is at least FJ_SAFETY times its
 * expected length (FJ_SECONDS_PER_NONZERO, measured there, times 3 for a
 * loaded machine), so that the limit holds; without a limit HiGHS's
 * default (on) stands. */
#define FJ_SECONDS_PER_NONZERO 1.7e-5
#define FJ_SAFETY 10.0

/* Runs h with what is left of the call's wall-clock limit (HiGHS's
 * time_limit is wall-clock seconds of its run clock, zeroed here). */
static HighsInt highs_run_until(void *h, double deadline, int64_t nnz)
{
    if (isfinite(deadline)) {
        double left = deadline - milp_wall_seconds();
        Highs_zeroAllClocks(h);
        Highs_setDoubleOptionValue(h, "time_limit", left > 1e-3 ? left : 1e-3);
        double jump_seconds = 3 * FJ_SECONDS_PER_NONZERO * (double)nnz;
        Highs_setBoolOptionValue(h, "mip_heuristic_run_feasibility_jump", left >= FJ_SAFETY * jump_seconds);
    }
    return Highs_run(h);
}

/* dopt's status of HiGHS's model status (the table of docs/MILP.md) */
static int32_t map_status(HighsInt s)
{
    if (s == kHighsModelStatusOptimal) return DOPT_SOLVED;
    if (s == kHighsModelStatusInfeasible) return DOPT_PRIMAL_INFEASIBLE;
    if (s == kHighsModelStatusUnbounded) return DOPT_DUAL_INFEASIBLE;
    if (s == kHighsModelStatusTimeLimit || s == kHighsModelStatusIterationLimit ||
        s == kHighsModelStatusSolutionLimit || s == kHighsModelStatusInterrupt ||
        s == kHighsModelStatusObjectiveBound || s == kHighsModelStatusObjectiveTarget)
        return DOPT_ITERATION_LIMIT;
    return DOPT_NUMERICAL_FAILURE;
}

/* The LP relaxation without presolve, for what presolve left open
 * ("infeasible or unbounded") and for the ray of an unbounded MILP. Fills
 * *status (dopt's) and, when unbounded and ray is given, ray (max |r_j| = 1;
 * returns 1 then). */
static int relaxation_verdict(const dopt_milp *p, const dopt_milp_options *opt, double deadline, int32_t *status,
                              double *ray)
{
    void *h = highs_load(p, opt, 0);
    *status = DOPT_NUMERICAL_FAILURE;
    if (!h) return 0;
    Highs_setStringOptionValue(h, "presolve", "off");
    highs_run_until(h, deadline, p->nnz);
    *status = map_status(Highs_getModelStatus(h));
    int got = 0;
    if (*status == DOPT_DUAL_INFEASIBLE && ray) {
        HighsInt has = 0;
        if (Highs_getPrimalRay(h, &has, ray) != kHighsStatusError && has) {
            double big = 0;
            for (int32_t j = 0; j < p->n; ++j) big = fmax(big, fabs(ray[j]));
            if (big > 0 && isfinite(big)) {
                for (int32_t j = 0; j < p->n; ++j) ray[j] /= big;
                got = 1;
            }
        }
    }
    Highs_destroy(h);
    return got;
}

/* The portfolio's stop hook (milp_portfolio.c): HiGHS asks at its MIP,
 * simplex and IPM interrupt points whether to stop; *stop says so. */
static void stop_callback(int type, const char *message, const HighsCallbackDataOut *out, HighsCallbackDataIn *in,
                          void *user)
{
    (void)type, (void)message, (void)out;
    if (in && atomic_load((const atomic_int *)user)) in->user_interrupt = 1;
}

static void watch_stop(void *h, const atomic_int *stop)
{
    if (!stop) return;
    Highs_setCallback(h, stop_callback, (void *)(uintptr_t)stop);
    Highs_startCallback(h, kHighsCallbackMipInterrupt);
    Highs_startCallback(h, kHighsCallbackSimplexInterrupt);
    Highs_startCallback(h, kHighsCallbackIpmInterrupt);
}

dopt_status milp_solve_highs(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                             size_t errlen)
{
    return milp_solve_highs_stoppable(p, opt, NULL, res, err, errlen);
}

dopt_status milp_solve_highs_stoppable(const dopt_milp *p, const dopt_milp_options *opt, const atomic_int *stop,
                                       dopt_milp_result *res, char *err, size_t errlen)
{
    if (sizeof(HighsInt) < 8 && p->nnz > INT32_MAX)
        return milp_error(err, errlen, DOPT_ERR_UNSUPPORTED, "this HiGHS (32-bit indices) takes at most 2^31 nonzeros");
    double t_start = milp_wall_seconds();
    double deadline = opt->time_limit > 0 ? t_start + opt->time_limit : HUGE_VAL;
    int mip = 0;
    for (int32_t j = 0; !opt->relax && j < p->n; ++j) mip |= p->integer[j] != 0;
    size_t n = (size_t)p->n, m = (size_t)p->m;
    double *col = malloc((n ? n : 1) * 8), *col_dual = malloc((n ? n : 1) * 8);
    double *row = malloc((m ? m : 1) * 8), *row_dual = malloc((m ? m : 1) * 8);
    void *h = col && col_dual && row && row_dual ? highs_load(p, opt, mip) : NULL;
    dopt_status st = DOPT_OK;
    if (!h) {
        st = milp_error(err, errlen, col && row ? DOPT_ERR_INVALID_ARGUMENT : DOPT_ERR_OUT_OF_MEMORY,
                        col && row ? "HiGHS refused the model (or out of memory)" : "out of memory");
        goto done;
    }
    if (mip && opt->start) Highs_setSolution(h, opt->start, NULL, NULL, NULL);
    watch_stop(h, stop);
    highs_run_until(h, deadline, p->nnz);
    HighsInt model_status = Highs_getModelStatus(h);
    snprintf(res->solver_status, sizeof res->solver_status, "HiGHS: %s", highs_status_name(model_status));
    res->status = map_status(model_status);
    if (model_status == kHighsModelStatusModelEmpty) /* no columns: feasible iff every row holds 0 */
        res->status = dopt_milp_violation(p, col) == 0 ? DOPT_SOLVED : DOPT_PRIMAL_INFEASIBLE;
    int64_t nodes = 0;
    if (mip) Highs_getInt64InfoValue(h, "mip_node_count", &nodes);
    res->nodes = nodes;
    HighsInt primal_status = 0;
    Highs_getIntInfoValue(h, "primal_solution_status", &primal_status);
    res->has_solution = (res->status == DOPT_SOLVED || res->status == DOPT_ITERATION_LIMIT) &&
                        (primal_status == kHighsSolutionStatusFeasible || n == 0) &&
                        Highs_getSolution(h, col, col_dual, row, row_dual) != kHighsStatusError;
    if (res->has_solution) {
        /* HiGHS's integer columns hold values within its integrality
         * tolerance (1e-6), e.g. 0.9999999999999998: rounded, as Cbc
         * reports them, so that integral solutions are exactly integral */
        for (size_t j = 0; mip && j < n; ++j)
            if (p->integer[j]) col[j] = nearbyint(col[j]);
        res->objective = dopt_milp_objective(p, col);
        if (res->x) memcpy(res->x, col, n * 8);
    }
    double dual_bound = NAN;
    if (mip) Highs_getDoubleInfoValue(h, "mip_dual_bound", &dual_bound);
    if (res->status == DOPT_SOLVED) res->bound = mip && isfinite(dual_bound) ? dual_bound : res->objective;
    else if (res->status == DOPT_ITERATION_LIMIT) res->bound = isfinite(dual_bound) ? dual_bound : NAN;
    if (model_status == kHighsModelStatusUnboundedOrInfeasible) {
        /* presolve's "infeasible or unbounded": the relaxation without
         * presolve decides (empty: infeasible, certified; unbounded: the
         * model is unbounded, as Cbc reports a MILP with an unbounded
         * relaxation) */
        int32_t lp_status;
        res->has_ray = relaxation_verdict(p, opt, deadline, &lp_status, opt->ray);
        res->status = lp_status == DOPT_PRIMAL_INFEASIBLE || lp_status == DOPT_DUAL_INFEASIBLE ? lp_status
                    : lp_status == DOPT_ITERATION_LIMIT ? DOPT_ITERATION_LIMIT : DOPT_NUMERICAL_FAILURE;
        if (res->status != DOPT_DUAL_INFEASIBLE) res->has_ray = 0;
    } else if (res->status == DOPT_DUAL_INFEASIBLE && opt->ray) {
        int32_t lp_status;
        res->has_ray = relaxation_verdict(p, opt, deadline, &lp_status, opt->ray);
    }
done:
    if (h) Highs_destroy(h);
    free(col), free(col_dual), free(row), free(row_dual);
    res->seconds = milp_wall_seconds() - t_start;
    return st;
}
