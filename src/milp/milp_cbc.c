/* The COIN-OR Cbc backend (built when coinor-libcbc-dev is found): the model
 * loaded through Cbc's C interface, limits and status mapped to dopt's.
 * Models without integer columns (or --relax) go to Clp, Cbc's own LP
 * solver, directly: Cbc 2.10's C interface maps an unbounded LP to
 * "infeasible" (after presolve) or to no status at all (without it), and has
 * no recession direction; Clp has both. */
#include <float.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coin/Cbc_C_Interface.h>
#include <coin/Clp_C_Interface.h>

#include "milp_backend.h"
#include "milp_internal.h"

int dopt_milp_have_cbc(void) { return 1; }

/* Cbc 2.10's C interface runs CbcMain1, whose parameter tables are global:
 * two solves at once corrupt each other's settings (seen in test_milp).
 * Calls are serialized; parallelism inside one solve is Cbc's `threads`.
 * Clp keeps its state in its model and runs without the lock. */
static pthread_mutex_t cbc_lock = PTHREAD_MUTEX_INITIALIZER;

static double cbc_value(double v) { return v == HUGE_VAL ? DBL_MAX : v == -HUGE_VAL ? -DBL_MAX : v; }

/* Seconds left of the call's wall-clock limit (opt->time_limit from t_start);
 * HUGE_VAL without a limit. */
static double seconds_left(const dopt_milp_options *opt, double t_start)
{
    return opt->time_limit > 0 ? opt->time_limit - (milp_wall_seconds() - t_start) : HUGE_VAL;
}

/* the model's data in the solvers' form (infinite bounds as DBL_MAX) */
typedef struct {
    CoinBigIndex *start;
    double *clo, *chi, *rlo, *rhi;
} coin_arrays;

static void coin_free(coin_arrays *a) { free(a->start), free(a->clo), free(a->chi), free(a->rlo), free(a->rhi); }

static int coin_fill(const dopt_milp *p, coin_arrays *a)
{
    size_t n = (size_t)p->n, m = (size_t)p->m;
    a->start = malloc((n + 1) * sizeof *a->start);
    a->clo = malloc((n ? n : 1) * 8), a->chi = malloc((n ? n : 1) * 8);
    a->rlo = malloc((m ? m : 1) * 8), a->rhi = malloc((m ? m : 1) * 8);
    if (!a->start || !a->clo || !a->chi || !a->rlo || !a->rhi) return 0;
    for (size_t j = 0; j <= n; ++j) a->start[j] = (CoinBigIndex)p->col_ptr[j];
    for (size_t j = 0; j < n; ++j) a->clo[j] = cbc_value(p->col_lo[j]), a->chi[j] = cbc_value(p->col_hi[j]);
    for (size_t i = 0; i < m; ++i) a->rlo[i] = cbc_value(p->row_lo[i]), a->rhi[i] = cbc_value(p->row_hi[i]);
    return 1;
}

/* Clp's own limit counts CPU seconds (ClpModel's wall-clock limit is not in
 * its C interface; its message callback comes with its printed log): on a
 * loaded machine a 0.4 s limit ran 6.8 s of wall time. Under a limit, Clp
 * runs in slices of this many iterations, the wall clock checked between
 * them; each slice continues from the last basis (dual simplex). */
enum { CLP_SLICE = 100 };

/* The LP (integrality dropped) by Clp. Statuses: Clp_status 0 optimal, 1
 * primal infeasible, 2 dual infeasible (unbounded), 3 iteration or time
 * limit, 4 numerical trouble. The wall-clock limit: CLP_SLICE (Clp's own
 * CPU-seconds limit is not used: it counts the whole process, every worker
 * thread of a batched search). When unbounded and opt->ray is given, Clp's
 * ray (scaled to max |r_j| = 1) is the recession direction. */
static dopt_status clp_run(const dopt_milp *p, const dopt_milp_options *opt, double seconds, dopt_milp_result *res,
                           char *err, size_t errlen)
{
    coin_arrays a = {0};
    Clp_Simplex *model = Clp_newModel();
    dopt_status st = DOPT_OK;
    if (!model || !coin_fill(p, &a)) {
        st = milp_error(err, errlen, DOPT_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    Clp_loadProblem(model, p->n, p->m, a.start, p->row_idx, p->values, a.clo, a.chi, p->c, a.rlo, a.rhi);
    Clp_setOptimizationDirection(model, p->maximize ? -1 : 1);
    Clp_setLogLevel(model, opt->verbose ? 1 : 0);
    double t0 = milp_wall_seconds();
    if (isfinite(seconds)) {
        Clp_setMaximumIterations(model, CLP_SLICE);
        Clp_initialSolve(model);
        while (Clp_status(model) == 3 && Clp_isIterationLimitReached(model) && milp_wall_seconds() - t0 < seconds) {
            Clp_setMaximumIterations(model, Clp_numberIterations(model) + CLP_SLICE);
            Clp_dual(model, 0);
        }
    } else {
        Clp_initialSolve(model);
    }
    res->seconds = milp_wall_seconds() - t0;
    res->nodes = 0;
    int s = Clp_status(model);
    res->status = s == 0 ? DOPT_SOLVED : s == 1 ? DOPT_PRIMAL_INFEASIBLE : s == 2 ? DOPT_DUAL_INFEASIBLE
                : s == 3 ? DOPT_ITERATION_LIMIT : DOPT_NUMERICAL_FAILURE;
    res->has_solution = res->status == DOPT_SOLVED;
    snprintf(res->solver_status, sizeof res->solver_status, "Clp: status %d, secondary %d", s,
             Clp_secondaryStatus(model));
    if (res->has_solution) {
        const double *x = Clp_primalColumnSolution(model);
        res->objective = res->bound = dopt_milp_objective(p, x);
        if (res->x) memcpy(res->x, x, (size_t)p->n * 8);
    }
    if (res->status == DOPT_DUAL_INFEASIBLE && opt->ray) {
        double *ray = Clp_unboundedRay(model), big = 0;
        for (int32_t j = 0; ray && j < p->n; ++j) big = fmax(big, fabs(ray[j]));
        if (ray && big > 0 && isfinite(big)) {
            for (int32_t j = 0; j < p->n; ++j) opt->ray[j] = ray[j] / big;
            res->has_ray = 1;
        }
        if (ray) Clp_freeRay(model, ray);
    }
done:
    if (model) Clp_deleteModel(model);
    coin_free(&a);
    return st;
}

/* The MILP by Cbc (with its presolve, cuts and heuristics), to finish by the
 * wall-clock `deadline` (HUGE_VAL: none). The time spent waiting for the
 * lock counts (batched searches queue here): *started = 0 when no more than
 * min_seconds were left once it was held. */
static dopt_status cbc_run(const dopt_milp *p, const dopt_milp_options *opt, double deadline, double min_seconds,
                           int *started, dopt_milp_result *res, char *err, size_t errlen)
{
    size_t n = (size_t)p->n;
    coin_arrays a = {0};
    int filled = coin_fill(p, &a);
    pthread_mutex_lock(&cbc_lock);
    double seconds = deadline - milp_wall_seconds();
    Cbc_Model *model = NULL;
    dopt_status st = DOPT_OK;
    /* the check of milp_solve_cbc again, now that the lock is held: a job
     * that waited for it may have too little time left for Cbc's root */
    if (!(*started = seconds > min_seconds)) goto done;
    model = Cbc_newModel();
    if (!filled || !model) {
        st = milp_error(err, errlen, DOPT_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    Cbc_loadProblem(model, p->n, p->m, a.start, p->row_idx, p->values, a.clo, a.chi, p->c, a.rlo, a.rhi);
    Cbc_setObjSense(model, p->maximize ? -1 : 1);
    for (int32_t j = 0; j < p->n; ++j)
        if (p->integer[j]) Cbc_setInteger(model, j);
    Cbc_setLogLevel(model, opt->verbose ? 1 : 0);
    if (!opt->verbose) Cbc_setParameter(model, "slog", "0");
    /* Cbc measures its limit in CPU seconds unless told otherwise: on a busy
     * machine that overran the wall-clock limit (5 s took 10 s) */
    Cbc_setParameter(model, "timeMode", "elapsed");
    if (isfinite(seconds)) Cbc_setMaximumSeconds(model, seconds > 1e-3 ? seconds : 1e-3);
    if (opt->gap > 0) Cbc_setAllowableFractionGap(model, opt->gap);
    if (opt->threads > 1) {
        char t[16];
        snprintf(t, sizeof t, "%d", opt->threads);
        Cbc_setParameter(model, "threads", t);
    }
    if (opt->start) Cbc_setInitialSolution(model, opt->start);
    double t0 = milp_wall_seconds();
    Cbc_solve(model);
    res->seconds = milp_wall_seconds() - t0;
    res->nodes = Cbc_getNodeCount(model);
    const double *x = Cbc_bestSolution(model);
    /* A limit is checked before "infeasible": Cbc stopped by its clock in
     * preprocessing can report a feasible model proven infeasible (seen: a
     * queued job of a batched search reaching Cbc with little time left). */
    /* An "infeasible" that arrives as the clock runs out (the last 5 % of
     * the time Cbc was given) is not trusted either: with a few
     * milliseconds left, Cbc's preprocessing has reported feasible set
     * covers infeasible without raising its limit flag (CI, a batched
     * search's last queued job). A proof found earlier stands. */
    int at_deadline = isfinite(seconds) && milp_wall_seconds() >= deadline - 0.05 * seconds;
    int limit_hit = Cbc_isSecondsLimitReached(model) || Cbc_isNodeLimitReached(model) || Cbc_status(model) == 1;
    if (Cbc_isProvenOptimal(model)) res->status = DOPT_SOLVED;
    else if (limit_hit) res->status = DOPT_ITERATION_LIMIT;
    else if (Cbc_isProvenInfeasible(model) && !at_deadline) res->status = DOPT_PRIMAL_INFEASIBLE;
    else if (Cbc_isProvenInfeasible(model)) res->status = DOPT_ITERATION_LIMIT, limit_hit = -1;
    else if (Cbc_isContinuousUnbounded(model)) res->status = DOPT_DUAL_INFEASIBLE;
    else res->status = DOPT_NUMERICAL_FAILURE;
    res->has_solution = x != NULL && (res->status == DOPT_SOLVED || res->status == DOPT_ITERATION_LIMIT);
    snprintf(res->solver_status, sizeof res->solver_status, "Cbc: status %d, secondary %d", Cbc_status(model),
             Cbc_secondaryStatus(model));
    if (res->has_solution) {
        res->objective = dopt_milp_objective(p, x);
        if (res->x) memcpy(res->x, x, n * 8);
    }
    if (res->status == DOPT_SOLVED) res->bound = res->objective;
    else if (res->status == DOPT_ITERATION_LIMIT)
        res->bound = limit_hit < 0 ? NAN : Cbc_getBestPossibleObjValue(model) + p->offset; /* NaN: no bound */
done:
    if (model) Cbc_deleteModel(model);
    pthread_mutex_unlock(&cbc_lock);
    coin_free(&a);
    return st;
}

static int has_integers(const dopt_milp *p)
{
    for (int32_t j = 0; j < p->n; ++j)
        if (p->integer[j]) return 1;
    return 0;
}

/* The outcome when the limit ran out before Cbc could start. */
static void out_of_time(dopt_milp_result *res)
{
    res->status = DOPT_ITERATION_LIMIT, res->has_solution = 0;
    res->objective = res->bound = NAN;
}

dopt_status milp_solve_cbc(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                           size_t errlen)
{
    if (p->nnz > INT32_MAX) return milp_error(err, errlen, DOPT_ERR_UNSUPPORTED, "Cbc takes at most 2^31 nonzeros");
    double t_start = milp_wall_seconds();
    if (opt->relax || !has_integers(p)) return clp_run(p, opt, seconds_left(opt, t_start), res, err, errlen);
    dopt_status st;
    double min_seconds = 0; /* the least time Cbc is started with */
    if (opt->time_limit > 0) {
        /* Cbc cannot stop inside its root LP solve (seen: a 0.4 s limit
         * taking 1.6 s on a trust-region subproblem), and the C interface
         * has no event handler to make it. The LP relaxation first, by Clp
         * under the limit: it settles infeasibility itself (certified: no
         * integer point in an empty relaxation), gives the bound, and says
         * how long Cbc's root would take: Cbc is not started when less time
         * than that is left (twice the LP's time, below). */
        dopt_milp_options lpo = *opt;
        lpo.ray = NULL;
        dopt_milp_result lp = {0};
        st = clp_run(p, &lpo, seconds_left(opt, t_start), &lp, err, errlen);
        if (st != DOPT_OK) return st;
        /* Cbc's root: its own LP solve (about lp.seconds again) and at least
         * one round of cuts and heuristics before it looks at the clock */
        min_seconds = 2 * lp.seconds;
        int stop = lp.status == DOPT_PRIMAL_INFEASIBLE || lp.status == DOPT_ITERATION_LIMIT ||
                   (lp.status == DOPT_SOLVED && seconds_left(opt, t_start) < min_seconds);
        if (stop) {
            if (lp.status == DOPT_PRIMAL_INFEASIBLE) res->status = DOPT_PRIMAL_INFEASIBLE, res->has_solution = 0;
            else out_of_time(res);
            res->objective = NAN;
            res->bound = lp.status == DOPT_SOLVED ? lp.objective : NAN;
            res->nodes = 0;
            res->seconds = milp_wall_seconds() - t_start;
            return DOPT_OK;
        }
    }
    int started = 0;
    st = cbc_run(p, opt, opt->time_limit > 0 ? t_start + opt->time_limit : HUGE_VAL, min_seconds, &started, res, err,
                 errlen);
    if (st == DOPT_OK && !started) out_of_time(res); /* the limit ran out waiting for Cbc */
    if (st == DOPT_OK && res->status == DOPT_DUAL_INFEASIBLE && opt->ray) {
        /* the direction: the LP relaxation's ray (a recession direction of
         * the relaxation along which the objective improves without bound) */
        dopt_milp_result lp = {0};
        double left = seconds_left(opt, t_start);
        if (left > 0 && clp_run(p, opt, left, &lp, err, errlen) == DOPT_OK) res->has_ray = lp.has_ray;
    }
    /* Cbc's "infeasible" for a MILP rests on its search (an LP-feasible model
     * can be integer infeasible). Its known misreport, an unbounded LP called
     * infeasible after presolve (gas11 of HiGHS's test set; `min -x, x >= 1`),
     * cannot arise here: LPs go to Clp above. */
    res->seconds = milp_wall_seconds() - t_start;
    return st;
}
