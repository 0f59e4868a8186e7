/* The COIN-OR Cbc backend (built when coinor-libcbc-dev is found): the model
 * loaded through Cbc's C interface, limits and status mapped to dopt's. */
#include <float.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coin/Cbc_C_Interface.h>

#include "milp_backend.h"
#include "milp_internal.h"

int dopt_milp_have_cbc(void) { return 1; }

/* Cbc 2.10's C interface runs CbcMain1, whose parameter tables are global:
 * two solves at once corrupt each other's settings (seen in test_milp).
 * Calls are serialized; parallelism inside one solve is Cbc's `threads`. */
static pthread_mutex_t cbc_lock = PTHREAD_MUTEX_INITIALIZER;

static double cbc_value(double v) { return v == HUGE_VAL ? DBL_MAX : v == -HUGE_VAL ? -DBL_MAX : v; }

/* what one Cbc run solves: the model, or its LP relaxation, with the
 * objective or without (feasibility), with Cbc's presolve or without */
typedef struct {
    int relax, zero_objective, no_presolve;
} cbc_variant;

static dopt_status cbc_run(const dopt_milp *p, const dopt_milp_options *opt, cbc_variant v, dopt_milp_result *res,
                           char *err, size_t errlen)
{
    size_t n = (size_t)p->n, m = (size_t)p->m;
    CoinBigIndex *start = malloc((n + 1) * sizeof *start);
    double *clo = malloc((n ? n : 1) * 8), *chi = malloc((n ? n : 1) * 8);
    double *rlo = malloc((m ? m : 1) * 8), *rhi = malloc((m ? m : 1) * 8), *zero = calloc(n ? n : 1, 8);
    pthread_mutex_lock(&cbc_lock);
    Cbc_Model *model = Cbc_newModel();
    dopt_status st = DOPT_OK;
    if (!start || !clo || !chi || !rlo || !rhi || !zero || !model) {
        st = milp_error(err, errlen, DOPT_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t j = 0; j <= n; ++j) start[j] = (CoinBigIndex)p->col_ptr[j];
    for (size_t j = 0; j < n; ++j) clo[j] = cbc_value(p->col_lo[j]), chi[j] = cbc_value(p->col_hi[j]);
    for (size_t i = 0; i < m; ++i) rlo[i] = cbc_value(p->row_lo[i]), rhi[i] = cbc_value(p->row_hi[i]);
    Cbc_loadProblem(model, p->n, p->m, start, p->row_idx, p->values, clo, chi, v.zero_objective ? zero : p->c, rlo,
                    rhi);
    Cbc_setObjSense(model, p->maximize ? -1 : 1);
    if (v.no_presolve) Cbc_setParameter(model, "presolve", "off");
    int any_int = 0;
    if (!opt->relax && !v.relax)
        for (int32_t j = 0; j < p->n; ++j)
            if (p->integer[j]) Cbc_setInteger(model, j), any_int = 1;
    Cbc_setLogLevel(model, opt->verbose ? 1 : 0);
    if (!opt->verbose) Cbc_setParameter(model, "slog", "0");
    if (opt->time_limit > 0) Cbc_setMaximumSeconds(model, opt->time_limit);
    if (opt->gap > 0) Cbc_setAllowableFractionGap(model, opt->gap);
    if (opt->threads > 1) {
        char t[16];
        snprintf(t, sizeof t, "%d", opt->threads);
        Cbc_setParameter(model, "threads", t);
    }
    if (opt->start && any_int) Cbc_setInitialSolution(model, opt->start);
    double t0 = milp_wall_seconds();
    Cbc_solve(model);
    res->seconds = milp_wall_seconds() - t0;
    res->nodes = Cbc_getNodeCount(model);
    const double *x = any_int ? Cbc_bestSolution(model) : Cbc_getColSolution(model);
    if (Cbc_isProvenOptimal(model)) res->status = DOPT_SOLVED;
    else if (Cbc_isProvenInfeasible(model)) res->status = DOPT_PRIMAL_INFEASIBLE;
    else if (Cbc_isContinuousUnbounded(model)) res->status = DOPT_DUAL_INFEASIBLE;
    else if (Cbc_isSecondsLimitReached(model) || Cbc_isNodeLimitReached(model) || Cbc_status(model) == 1)
        res->status = DOPT_ITERATION_LIMIT;
    else res->status = DOPT_NUMERICAL_FAILURE;
    res->has_solution = x != NULL && (res->status == DOPT_SOLVED || res->status == DOPT_ITERATION_LIMIT);
    if (res->has_solution) {
        res->objective = dopt_milp_objective(p, x);
        if (res->x) memcpy(res->x, x, n * 8);
    }
    if (res->status == DOPT_SOLVED) res->bound = res->objective;
    else if (res->status == DOPT_ITERATION_LIMIT && any_int) res->bound = Cbc_getBestPossibleObjValue(model) + p->offset;
done:
    if (model) Cbc_deleteModel(model);
    pthread_mutex_unlock(&cbc_lock);
    free(start), free(clo), free(chi), free(rlo), free(rhi), free(zero);
    return st;
}

static int has_integers(const dopt_milp *p)
{
    for (int32_t j = 0; j < p->n; ++j)
        if (p->integer[j]) return 1;
    return 0;
}

dopt_status milp_solve_cbc(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                           size_t errlen)
{
    if (p->nnz > INT32_MAX) return milp_error(err, errlen, DOPT_ERR_UNSUPPORTED, "Cbc takes at most 2^31 nonzeros");
    dopt_status st = cbc_run(p, opt, (cbc_variant){0, 0, 0}, res, err, errlen);
    if (st != DOPT_OK || res->status != DOPT_PRIMAL_INFEASIBLE) return st;
    /* Cbc 2.10 can call a feasible, unbounded LP "infeasible" when its presolve
     * found it unbounded (seen on gas11 of HiGHS's test set). Certify the claim
     * with the LP relaxation of the feasibility problem, without presolve: if
     * that is infeasible, so is the model. */
    dopt_milp_result check = {0};
    double seconds = res->seconds;
    st = cbc_run(p, opt, (cbc_variant){1, 1, 1}, &check, err, errlen);
    res->seconds += check.seconds;
    if (st != DOPT_OK || check.status != DOPT_SOLVED) return st;
    if (has_integers(p) && !opt->relax) return DOPT_OK; /* integer infeasibility rests on Cbc's search */
    /* a feasible LP: solve it again without presolve */
    seconds = res->seconds;
    st = cbc_run(p, opt, (cbc_variant){0, 0, 1}, res, err, errlen);
    res->seconds += seconds;
    if (st == DOPT_OK && res->status == DOPT_PRIMAL_INFEASIBLE) res->status = DOPT_NUMERICAL_FAILURE; /* contradicts itself */
    return st;
}
