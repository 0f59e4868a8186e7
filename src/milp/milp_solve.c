/* dopt_milp_solve: option checks and the choice of backend. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "milp_backend.h"
#include "milp_internal.h"

double milp_wall_seconds(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

dopt_milp_solver milp_resolve_solver(dopt_milp_solver s)
{
    if (s != DOPT_MILP_AUTO) return s;
    return dopt_milp_have_highs() ? DOPT_MILP_HIGHS : dopt_milp_have_cbc() ? DOPT_MILP_CBC : DOPT_MILP_EXACT;
}

/* |objective - bound| / |objective|, the relative gap as HiGHS reports it */
static double relative_gap(const dopt_milp_result *res)
{
    if (!res->has_solution || isnan(res->objective) || isnan(res->bound)) return NAN;
    double diff = fabs(res->objective - res->bound);
    if (diff == 0) return 0;
    return res->objective != 0 ? diff / fabs(res->objective) : HUGE_VAL;
}

static const char *exact_status_name(int32_t status)
{
    switch (status) {
    case DOPT_SOLVED: return "optimal";
    case DOPT_PRIMAL_INFEASIBLE: return "infeasible";
    case DOPT_ITERATION_LIMIT: return "time limit";
    default: return dopt_instance_status_string(status);
    }
}

static dopt_status run_backend(dopt_milp_solver which, const dopt_milp *p, const dopt_milp_options *opt,
                               dopt_milp_result *res, char *err, size_t errlen)
{
    if (which == DOPT_MILP_PORTFOLIO) return milp_solve_portfolio(p, opt, res, err, errlen);
    if (which == DOPT_MILP_HIGHS) {
        if (!dopt_milp_have_highs()) return milp_error(err, errlen, DOPT_ERR_UNSUPPORTED, "%s", MILP_NO_HIGHS_MESSAGE);
        return milp_solve_highs_guarded(p, opt, NULL, res, err, errlen);
    }
    if (which == DOPT_MILP_CBC) {
        if (!dopt_milp_have_cbc())
            return milp_error(err, errlen, DOPT_ERR_UNSUPPORTED,
                              "this dopt was built without COIN-OR Cbc (install coinor-libcbc-dev and rebuild)");
        return milp_solve_cbc(p, opt, res, err, errlen);
    }
    const char *why = milp_exact_unsuitable(p, opt);
    if (*why)
        return milp_error(err, errlen, DOPT_ERR_UNSUPPORTED, "the exact small-ILP solver cannot take this model: %s%s",
                          why, dopt_milp_have_highs() || dopt_milp_have_cbc() ? "" : " (and neither HiGHS nor Cbc is built in)");
    dopt_status st = milp_solve_exact(p, opt, res, err, errlen);
    if (st == DOPT_OK)
        snprintf(res->solver_status, sizeof res->solver_status, "exact: %s", exact_status_name(res->status));
    return st;
}

void dopt_milp_options_default(dopt_milp_options *opt)
{
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->solver = DOPT_MILP_AUTO;
}

dopt_status dopt_milp_solve(dopt_context *ctx, const dopt_milp *model, const dopt_milp_options *opt,
                            dopt_milp_result *res)
{
    if (!milp_begin(ctx)) return DOPT_ERR_INVALID_ARGUMENT;
    char msg[MILP_MSG_LEN] = "";
    return milp_report(ctx, milp_solve(model, opt, res, msg, sizeof msg), msg);
}

dopt_status milp_solve(const dopt_milp *p, const dopt_milp_options *opt_in, dopt_milp_result *res, char *err,
                       size_t errlen)
{
    dopt_milp_options opt;
    if (opt_in) opt = *opt_in;
    else dopt_milp_options_default(&opt);
    if (!res) return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "result is NULL");
    res->status = DOPT_INVALID_DATA, res->has_solution = 0, res->has_ray = 0;
    res->objective = res->bound = res->gap = NAN, res->seconds = 0, res->nodes = 0;
    res->solver_status[0] = 0;
    if (!(opt.time_limit >= 0) || !(opt.gap >= 0) || opt.threads < 0 || opt.threads > 1024 ||
        opt.solver < DOPT_MILP_AUTO || opt.solver > DOPT_MILP_PORTFOLIO)
        return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT,
                          "options: time_limit and gap must be >= 0 (not NaN), threads in [0, 1024], solver AUTO, "
                          "HIGHS, CBC, EXACT or PORTFOLIO (time_limit %g, gap %g, threads %d, solver %d)",
                          opt.time_limit, opt.gap, opt.threads, (int)opt.solver);
    dopt_status st = milp_check(p, err, errlen);
    if (st != DOPT_OK) return st;
    for (int32_t j = 0; opt.start && j < p->n; ++j)
        if (isnan(opt.start[j])) /* Cbc would take it as a value */
            return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "options: start[%d] is NaN", j);
    dopt_milp_solver which = res->solver = milp_resolve_solver(opt.solver);
    st = run_backend(which, p, &opt, res, err, errlen);
    if (st != DOPT_OK) return st;
    res->gap = relative_gap(res);
    if (!res->solver_status[0]) /* decided before the backend ran (out of time, an empty relaxation) */
        snprintf(res->solver_status, sizeof res->solver_status, "%s: not started (%s)",
                 which == DOPT_MILP_HIGHS ? "HiGHS" : which == DOPT_MILP_CBC ? "Cbc" : "exact",
                 dopt_instance_status_string(res->status));
    return st;
}
