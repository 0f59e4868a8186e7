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
#include "milp_child.h"
#include "milp_internal.h"

int dopt_milp_have_cbc(void) { return 1; }

/* Cbc 2.10's C interface runs CbcMain1, whose parameter tables are global:
 * two solves at once in one process corrupt each other's settings (seen in
 * test_milp). Each Cbc run therefore has a process of its own (a forked
 * child, milp_child.h), which also lets the deadline be held by killing
 * it; only where no child can be made does Cbc run here, serialized by this
 * lock. Clp keeps its state in its model and runs here without the lock. */
static pthread_mutex_t cbc_lock = PTHREAD_MUTEX_INITIALIZER;

/* Cbc is started only with at least its root LP's time plus this left: a
 * process and a model to set up, and time to look at the clock once. */
#define CBC_MIN_SECONDS 0.01
/* How much earlier than the deadline Cbc is asked to stop (at most; 10 % of
 * its time on short runs): see cbc_solve_model */
#define CBC_EARLY_SECONDS 0.5

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
static dopt_status clp_run(const dopt_milp *p, const dopt_milp_options *opt, double seconds, const atomic_int *stop,
                           dopt_milp_result *res, char *err, size_t errlen)
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
    if (isfinite(seconds) || stop) {
        Clp_setMaximumIterations(model, CLP_SLICE);
        Clp_initialSolve(model);
        while (Clp_status(model) == 3 && Clp_isIterationLimitReached(model) && milp_wall_seconds() - t0 < seconds &&
               !(stop && atomic_load(stop))) {
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

/* The MILP by Cbc (with its presolve, cuts and heuristics), told to stop by
 * the wall-clock `deadline` (HUGE_VAL: none); res->x: room for n values.
 * 0 when out of memory. */
static int cbc_solve_model(const dopt_milp *p, const dopt_milp_options *opt, double deadline, dopt_milp_result *res)
{
    coin_arrays a = {0};
    Cbc_Model *model = Cbc_newModel();
    int ok = coin_fill(p, &a) && model;
    if (!ok) goto done;
    double seconds = deadline - milp_wall_seconds();
    Cbc_loadProblem(model, p->n, p->m, a.start, p->row_idx, p->values, a.clo, a.chi, p->c, a.rlo, a.rhi);
    Cbc_setObjSense(model, p->maximize ? -1 : 1);
    for (int32_t j = 0; j < p->n; ++j)
        if (p->integer[j]) Cbc_setInteger(model, j);
    Cbc_setLogLevel(model, opt->verbose ? 1 : 0);
    if (!opt->verbose) Cbc_setParameter(model, "slog", "0");
    /* Cbc measures its limit in CPU seconds unless told otherwise: on a busy
     * machine that overran the wall-clock limit (5 s took 10 s) */
    Cbc_setParameter(model, "timeMode", "elapsed");
    /* Cbc stops at its next look at the clock after its limit, up to about
     * a second late in its root on a loaded machine (2 cores, load 12),
     * where it is killed and its incumbent is lost: it is told a little
     * less than the time it has, so that it usually stops by itself */
    if (isfinite(seconds)) seconds -= fmin(CBC_EARLY_SECONDS, 0.1 * seconds);
    if (isfinite(seconds)) Cbc_setMaximumSeconds(model, seconds > 1e-3 ? seconds : 1e-3);
    double cbc_deadline = milp_wall_seconds() + seconds; /* Cbc's own */
    if (opt->gap > 0) Cbc_setAllowableFractionGap(model, opt->gap);
    if (opt->threads > 1) {
        char t[16];
        snprintf(t, sizeof t, "%d", opt->threads);
        Cbc_setParameter(model, "threads", t);
    }
    if (opt->start) Cbc_setInitialSolution(model, opt->start);
    Cbc_solve(model);
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
    int at_deadline = isfinite(seconds) && milp_wall_seconds() >= cbc_deadline - 0.05 * seconds;
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
    res->objective = res->bound = NAN;
    if (res->has_solution) {
        res->objective = dopt_milp_objective(p, x);
        memcpy(res->x, x, (size_t)p->n * 8);
    }
    if (res->status == DOPT_SOLVED) res->bound = res->objective;
    else if (res->status == DOPT_ITERATION_LIMIT)
        res->bound = limit_hit < 0 ? NAN : Cbc_getBestPossibleObjValue(model) + p->offset; /* NaN: no bound */
done:
    if (model) Cbc_deleteModel(model);
    coin_free(&a);
    return ok;
}

static int has_integers(const dopt_milp *p)
{
    for (int32_t j = 0; j < p->n; ++j)
        if (p->integer[j]) return 1;
    return 0;
}

/* What the work hands back, through the child's pipe: this, then x and the
 * ray (n values each). final = 0: the LP relaxation's outcome (its bound),
 * what stands if Cbc is killed before it answers. */
typedef struct {
    milp_child_record head;
    int32_t call_status; /* DOPT_OK, or the failure (out of memory) */
    milp_child_answer answer;
} cbc_record;

typedef struct {
    const dopt_milp *p;
    dopt_milp_options opt; /* opt.ray: set by the work to its record's room when the caller wants a ray */
    int want_ray;
    double t_start;
    const atomic_int *stop; /* read by Clp's slices where the work runs in the caller's process */
} cbc_job;

static void send(milp_child_channel *ch, cbc_record *rec, int final, dopt_status call_status,
                 const dopt_milp_result *r)
{
    rec->head.final = final, rec->call_status = call_status;
    milp_child_answer_pack(&rec->answer, r);
    milp_child_send(ch, rec);
}

/* The whole backend's work, in a child process (or, where none can be
 * made, in the caller's under cbc_lock): under a time limit, the LP
 * relaxation first; then Cbc; the ray of an unbounded model. */
static void cbc_work(void *arg, milp_child_channel *ch)
{
    cbc_job *job = arg;
    const dopt_milp *p = job->p;
    size_t n = (size_t)p->n, len = sizeof(cbc_record) + 2 * n * 8;
    cbc_record *rec = calloc(1, len);
    if (!rec) return; /* no record: the parent reports the failure */
    dopt_milp_result r = {0};
    r.x = (double *)(rec + 1), r.objective = r.bound = NAN; /* as milp_solve starts every result */
    dopt_milp_options opt = job->opt;
    opt.ray = job->want_ray ? r.x + n : NULL;
    double t_start = job->t_start;
    dopt_status st;
    char err[8];
    /* Clp in slices under the clock only where nothing can kill it: in a
     * child it runs in one go (slices cost: 1.3 s instead of 0.15 s for the
     * hard set cover's LP) and the kill holds the deadline */
    int separate = milp_child_separate(ch);
    const atomic_int *stop = separate ? NULL : job->stop;
    double clp_seconds = separate ? HUGE_VAL : seconds_left(&opt, t_start);
    if (opt.relax || !has_integers(p)) {
        st = clp_run(p, &opt, clp_seconds, stop, &r, err, sizeof err);
        send(ch, rec, 1, st, &r);
        free(rec);
        return;
    }
    double lp_seconds = 0, lp_bound = NAN;
    if (opt.time_limit > 0) {
        /* The LP relaxation first, by Clp under the limit: it settles
         * infeasibility itself (certified: no integer point in an empty
         * relaxation), gives the bound that stands if Cbc has to be killed,
         * and says how long Cbc's root LP will take: Cbc is not started
         * when less time than that is left (it could not get past the LP).
         * Where Cbc cannot be killed (no child process), it needs twice
         * that: its root LP and one round of cuts before it looks at the
         * clock. */
        dopt_milp_options lpo = opt;
        lpo.ray = NULL;
        dopt_milp_result lp = {0}; /* lp.x NULL: only its bound is wanted */
        st = clp_run(p, &lpo, clp_seconds, stop, &lp, err, sizeof err);
        lp_seconds = lp.seconds;
        lp_bound = lp.status == DOPT_SOLVED ? lp.objective : NAN;
        double need = separate ? lp_seconds + CBC_MIN_SECONDS : 2 * lp_seconds;
        int give_up = st != DOPT_OK || lp.status == DOPT_PRIMAL_INFEASIBLE || lp.status == DOPT_ITERATION_LIMIT ||
                      (job->stop && atomic_load(job->stop)) ||
                      (lp.status == DOPT_SOLVED && seconds_left(&opt, t_start) < need);
        r.status = lp.status == DOPT_PRIMAL_INFEASIBLE ? DOPT_PRIMAL_INFEASIBLE : DOPT_ITERATION_LIMIT;
        r.has_solution = 0, r.objective = NAN, r.bound = lp_bound, r.nodes = 0;
        memcpy(r.solver_status, lp.solver_status, sizeof r.solver_status); /* the LP's, until Cbc answers */
        send(ch, rec, give_up, st, &r); /* the answer, or the bound that stands if Cbc is killed */
        if (give_up) {
            free(rec);
            return;
        }
    }
    double deadline = opt.time_limit > 0 ? t_start + opt.time_limit : HUGE_VAL;
    if (!cbc_solve_model(p, &opt, deadline, &r)) {
        send(ch, rec, 1, DOPT_ERR_OUT_OF_MEMORY, &r);
        free(rec);
        return;
    }
    if (r.status == DOPT_ITERATION_LIMIT && isnan(r.bound)) r.bound = lp_bound;
    if (r.status == DOPT_DUAL_INFEASIBLE && opt.ray) {
        /* the direction: the LP relaxation's ray (a recession direction of
         * the relaxation along which the objective improves without bound) */
        dopt_milp_result lp = {0};
        double left = seconds_left(&opt, t_start);
        if (left > 0 && clp_run(p, &opt, separate ? HUGE_VAL : left, stop, &lp, err, sizeof err) == DOPT_OK)
            r.has_ray = lp.has_ray;
    }
    send(ch, rec, 1, DOPT_OK, &r);
    free(rec);
}

dopt_status milp_solve_cbc(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                           size_t errlen)
{
    return milp_solve_cbc_stoppable(p, opt, NULL, res, err, errlen);
}

dopt_status milp_solve_cbc_stoppable(const dopt_milp *p, const dopt_milp_options *opt, const atomic_int *stop,
                                     dopt_milp_result *res, char *err, size_t errlen)
{
    if (p->nnz > INT32_MAX) return milp_error(err, errlen, DOPT_ERR_UNSUPPORTED, "Cbc takes at most 2^31 nonzeros");
    double t_start = milp_wall_seconds();
    int lp_only = opt->relax || !has_integers(p);
    /* an LP without a limit or a stop: Clp is reentrant and needs no clock */
    if (lp_only && !(opt->time_limit > 0) && !stop) return clp_run(p, opt, HUGE_VAL, NULL, res, err, errlen);
    size_t n = (size_t)p->n, len = sizeof(cbc_record) + 2 * n * 8;
    cbc_record *rec = malloc(len);
    if (!rec) return milp_error(err, errlen, DOPT_ERR_OUT_OF_MEMORY, "out of memory");
    cbc_job job = {p, *opt, opt->ray != NULL, t_start, stop};
    double kill_at = opt->time_limit > 0 ? t_start + opt->time_limit + MILP_KILL_GRACE : HUGE_VAL;
    int records = 0;
    milp_child_outcome how = milp_run_in_child(cbc_work, &job, rec, len, kill_at, stop, !opt->verbose,
                                               lp_only ? NULL : &cbc_lock, &records);
    dopt_status st = DOPT_OK;
    res->nodes = 0, res->has_ray = 0;
    if (records && rec->call_status != DOPT_OK) {
        st = milp_error(err, errlen, (dopt_status)rec->call_status, "out of memory");
    } else if (records) {
        /* the answer, or the LP's bound that stood when Cbc was killed or died */
        milp_child_answer_unpack(&rec->answer, (const double *)(rec + 1), n, opt->ray, res);
        if (how == MILP_CHILD_FAILED && !rec->head.final) res->status = DOPT_NUMERICAL_FAILURE;
    } else {
        /* killed before the LP answered (or while it was queued), or died */
        res->status = how == MILP_CHILD_KILLED ? DOPT_ITERATION_LIMIT : DOPT_NUMERICAL_FAILURE;
        res->has_solution = 0, res->objective = res->bound = NAN;
    }
    if (st == DOPT_OK && how != MILP_CHILD_DONE) /* the reason, for the result's solver_status */
        snprintf(res->solver_status, sizeof res->solver_status, "Cbc: %s",
                 how == MILP_CHILD_FAILED        ? "its process died"
                 : stop && atomic_load(stop)     ? "stopped (the other solver finished)"
                 : records && !rec->head.final   ? "killed at the deadline (the LP's bound kept)"
                                                 : "killed at the deadline");
    free(rec);
    /* Cbc's "infeasible" for a MILP rests on its search (an LP-feasible model
     * can be integer infeasible). Its known misreport, an unbounded LP called
     * infeasible after presolve (gas11 of HiGHS's test set; `min -x, x >= 1`),
     * cannot arise here: LPs go to Clp above. */
    res->seconds = milp_wall_seconds() - t_start;
    return st;
}
