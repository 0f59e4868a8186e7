/* The portfolio (DOPT_MILP_PORTFOLIO, `--solver portfolio`): HiGHS and Cbc
 * side by side on the same model, HiGHS on a thread of its own, Cbc in its
 * child process watched from the calling thread. Each wins where the other
 * fails (issue 18's benchmark: HiGHS solves b-ball, set1ch, noswot where Cbc
 * hits the limit; Cbc markshare_4_0, pk1, mas76 where HiGHS does). The first
 * proof (optimal, infeasible, unbounded) stops the other; at the limit the
 * better incumbent and the tighter bound of the two are kept.
 * docs/MILP.md, "The portfolio". */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milp_backend.h"
#include "milp_internal.h"

enum { NONE = 0, HIGHS_WON = 1, CBC_WON = 2 };

typedef struct {
    const dopt_milp *p;
    dopt_milp_options opt; /* opt.ray: this side's own buffer (or NULL) */
    atomic_int *my_stop;   /* set by the other side when it proves first */
    atomic_int *other_stop;
    atomic_int *winner;
    int me; /* HIGHS_WON or CBC_WON */
    dopt_milp_result res;
    dopt_status st;
    char err[MILP_MSG_LEN];
} side;

static int is_proof(int32_t s) { return s == DOPT_SOLVED || s == DOPT_PRIMAL_INFEASIBLE || s == DOPT_DUAL_INFEASIBLE; }

static void run_side(side *s)
{
    s->st = s->me == HIGHS_WON
                ? milp_solve_highs_guarded(s->p, &s->opt, s->my_stop, &s->res, s->err, sizeof s->err)
                : milp_solve_cbc_stoppable(s->p, &s->opt, s->my_stop, &s->res, s->err, sizeof s->err);
    int expected = NONE;
    /* a proof, and the first one: the other side is told to stop */
    if (s->st == DOPT_OK && is_proof(s->res.status) && atomic_compare_exchange_strong(s->winner, &expected, s->me))
        atomic_store(s->other_stop, 1);
}

static void *highs_thread(void *arg)
{
    run_side(arg);
    return NULL;
}

/* the tighter of two bounds in the model's sense (NaN: unknown) */
static double tighter(const dopt_milp *p, double a, double b)
{
    if (isnan(a)) return b;
    if (isnan(b)) return a;
    return p->maximize ? fmin(a, b) : fmax(a, b);
}

static const char *name_of(int who) { return who == HIGHS_WON ? "HiGHS" : "Cbc"; }

dopt_status milp_solve_portfolio(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                                 size_t errlen)
{
    if (!dopt_milp_have_highs() || !dopt_milp_have_cbc())
        return milp_error(err, errlen, DOPT_ERR_UNSUPPORTED, "the portfolio needs both HiGHS and Cbc; this dopt has %s",
                          dopt_milp_have_highs() ? "HiGHS only" : dopt_milp_have_cbc() ? "Cbc only" : "neither");
    double t_start = milp_wall_seconds();
    size_t n = (size_t)p->n;
    /* each side its own x and ray: they run at once */
    double *buf = malloc((4 * n + 1) * 8);
    if (!buf) return milp_error(err, errlen, DOPT_ERR_OUT_OF_MEMORY, "out of memory");
    atomic_int stop_highs = 0, stop_cbc = 0, winner = NONE;
    side sides[2];
    memset(sides, 0, sizeof sides);
    for (int k = 0; k < 2; ++k) {
        side *s = &sides[k];
        /* as milp_solve starts every result: no objective, no bound until a
         * side reports one (a proof of infeasibility leaves them unset) */
        s->res.objective = s->res.bound = NAN;
        s->p = p, s->opt = *opt, s->winner = &winner, s->me = k == 0 ? HIGHS_WON : CBC_WON;
        s->my_stop = k == 0 ? &stop_highs : &stop_cbc, s->other_stop = k == 0 ? &stop_cbc : &stop_highs;
        s->res.x = buf + (size_t)k * n;
        s->opt.ray = opt->ray ? buf + (size_t)(2 + k) * n : NULL;
    }
    pthread_t thread;
    int threaded = pthread_create(&thread, NULL, highs_thread, &sides[0]) == 0;
    if (!threaded) run_side(&sides[0]); /* no thread: one after the other, HiGHS first */
    run_side(&sides[1]);
    if (threaded) pthread_join(thread, NULL);

    const side *h = &sides[0], *c = &sides[1];
    dopt_status st = DOPT_OK;
    int who = atomic_load(&winner);
    const side *pick = NULL;
    if (who != NONE) {
        pick = who == HIGHS_WON ? h : c; /* the first proof */
    } else if (h->st != DOPT_OK && c->st != DOPT_OK) {
        st = milp_error(err, errlen, h->st, "portfolio: HiGHS: %s; Cbc: %s", h->err, c->err);
    } else if (h->st != DOPT_OK || c->st != DOPT_OK) {
        pick = h->st == DOPT_OK ? h : c; /* the one that ran */
    }
    if (pick) {
        *res = (dopt_milp_result){.status = pick->res.status, .has_solution = pick->res.has_solution,
                                  .objective = pick->res.objective, .bound = pick->res.bound, .nodes = pick->res.nodes,
                                  .x = res->x, .has_ray = pick->res.has_ray, .gap = NAN};
        memcpy(res->solver_status, pick->res.solver_status, sizeof res->solver_status);
        if (who == NONE) /* the other side could not run: say why in the status text */
            snprintf(res->solver_status, sizeof res->solver_status, "portfolio: %s alone (%s failed)",
                     name_of(pick->me), name_of(pick == h ? CBC_WON : HIGHS_WON));
    } else if (st == DOPT_OK) {
        /* both at their limit (or failed numerically): the better incumbent,
         * the tighter bound */
        const side *inc = dopt_milp_result_better(p, &c->res, &h->res) ? c : h;
        int limit = h->res.status == DOPT_ITERATION_LIMIT || c->res.status == DOPT_ITERATION_LIMIT;
        *res = (dopt_milp_result){.status = limit ? DOPT_ITERATION_LIMIT : inc->res.status,
                                  .has_solution = inc->res.has_solution, .objective = inc->res.objective,
                                  .bound = tighter(p, h->res.bound, c->res.bound),
                                  .nodes = h->res.nodes + c->res.nodes, .x = res->x, .gap = NAN};
        pick = inc;
        const char *bound_by = isnan(res->bound)                ? "none"
                               : res->bound == h->res.bound ? name_of(HIGHS_WON)
                                                            : name_of(CBC_WON);
        snprintf(res->solver_status, sizeof res->solver_status, "portfolio: incumbent %s, bound %s",
                 inc->res.has_solution ? name_of(inc->me) : "none", bound_by);
    }
    if (pick) {
        res->solver = pick->me == HIGHS_WON ? DOPT_MILP_HIGHS : DOPT_MILP_CBC;
        if (res->has_solution && res->x) memcpy(res->x, pick->res.x, n * 8);
        if (res->has_ray && opt->ray) memcpy(opt->ray, pick->opt.ray, n * 8);
    }
    free(buf);
    res->seconds = milp_wall_seconds() - t_start;
    return st;
}
