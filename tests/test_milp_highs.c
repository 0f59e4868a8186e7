/* The HiGHS backend: it agrees with the exact solver (and Cbc when built
 * in) on optimal objectives of small generated and hand-written models
 * (infeasible, unbounded with its ray, equality rows, general integers, free
 * columns); statuses, incumbent, bound and gap at a time limit; AUTO's
 * choice; a batched search on 4 workers equals the one on 1 (HiGHS is
 * deterministic with one thread per job); the batch's own budget; bad
 * options. Skips (exit 77), saying so, when HiGHS is not built in. */
#include <time.h>

#include "test_util.h"

static const char *msg(void) { return dopt_context_last_error(tu_ctx); }

static double wall_now(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int same_objective(double a, double b) { return fabs(a - b) <= 1e-7 * (1 + fabs(a)); }

static dopt_milp_result solve(const dopt_milp *p, dopt_milp_solver solver, double time_limit, double *x)
{
    dopt_milp_options o;
    dopt_milp_options_default(&o);
    o.solver = solver, o.time_limit = time_limit;
    dopt_milp_result r;
    memset(&r, 0, sizeof r);
    r.x = x;
    CHECK(dopt_milp_solve(tu_ctx, p, &o, &r) == DOPT_OK, "solve (solver %d): %s", (int)solver, msg());
    return r;
}

static dopt_milp *generate_with(const dopt_gen_params *g, uint64_t seed)
{
    dopt_milp *p = NULL;
    CHECK(dopt_gen_instance(tu_ctx, g, seed, &p) == DOPT_OK && p, "generate: %s", msg());
    return p;
}

/* Small instances of every generator family: HiGHS's optimum equals the
 * exact solver's (where it takes the model) and Cbc's (when built in); its
 * x is feasible and has its objective. */
static void test_generated_agreement(void)
{
    static const dopt_gen_family fam[] = {DOPT_GEN_RC, DOPT_GEN_WSC, DOPT_GEN_KNAPSACK, DOPT_GEN_SETCOVER,
                                          DOPT_GEN_CAUCTION, DOPT_GEN_FACILITY, DOPT_GEN_INDSET};
    int compared_exact = 0, compared_cbc = 0;
    for (size_t f = 0; f < sizeof fam / sizeof *fam; ++f)
        for (uint64_t seed = 0; seed < 4; ++seed) {
            dopt_gen_params g;
            dopt_gen_params_preset(tu_ctx, fam[f], DOPT_GEN_EASY, &g);
            /* small enough for the exact solver or for seconds of Cbc on a loaded machine */
            g.sc_rows = 40, g.sc_cols = 60, g.ca_items = 20, g.ca_bids = 40, g.cfl_customers = 8;
            g.cfl_facilities = 5, g.is_nodes = 40;
            if (fam[f] == DOPT_GEN_KNAPSACK) g.co_n = 14, g.co_m = 1 + (int)(seed % 3);
            dopt_milp *p = generate_with(&g, seed);
            if (!p) continue;
            double *x = calloc((size_t)p->n, 8);
            dopt_milp_result h = solve(p, DOPT_MILP_HIGHS, 0, x);
            CHECK(h.status == DOPT_SOLVED && h.solver == DOPT_MILP_HIGHS && h.has_solution,
                  "family %d seed %llu: HiGHS status %d", (int)fam[f], (unsigned long long)seed, h.status);
            CHECK(dopt_milp_violation(p, x) <= 1e-6 && same_objective(dopt_milp_objective(p, x), h.objective),
                  "family %d: HiGHS's x feasible (violation %g) with its objective", (int)fam[f],
                  dopt_milp_violation(p, x));
            CHECK(h.gap >= 0 && h.gap <= 1e-9 && same_objective(h.bound, h.objective) &&
                      !strcmp(h.solver_status, "HiGHS: Optimal"),
                  "family %d: optimal: gap %g, bound %g, objective %g, '%s'", (int)fam[f], h.gap, h.bound, h.objective,
                  h.solver_status);
            dopt_milp_options eo;
            dopt_milp_options_default(&eo);
            dopt_milp_result e;
            memset(&e, 0, sizeof e);
            eo.solver = DOPT_MILP_EXACT;
            if (dopt_milp_solve(tu_ctx, p, &eo, &e) == DOPT_OK) {
                CHECK(e.status == DOPT_SOLVED && same_objective(e.objective, h.objective) && e.gap == 0 &&
                          !strcmp(e.solver_status, "exact: optimal"),
                      "family %d seed %llu: exact %d %.12g (gap %g, '%s'), HiGHS %.12g", (int)fam[f],
                      (unsigned long long)seed, e.status, e.objective, e.gap, e.solver_status, h.objective);
                ++compared_exact;
            }
            if (dopt_milp_have_cbc()) {
                dopt_milp_result c = solve(p, DOPT_MILP_CBC, 0, NULL);
                CHECK(c.status == DOPT_SOLVED && same_objective(c.objective, h.objective) &&
                          !strncmp(c.solver_status, "Cbc: status 0", 13),
                      "family %d seed %llu: Cbc %d %.12g ('%s'), HiGHS %.12g", (int)fam[f], (unsigned long long)seed,
                      c.status, c.objective, c.solver_status, h.objective);
                ++compared_cbc;
            }
            free(x);
            dopt_milp_free(p);
        }
    printf("generated: HiGHS vs exact on %d, vs Cbc on %d%s\n", compared_exact, compared_cbc,
           dopt_milp_have_cbc() ? "" : " (Cbc not built in: skipped)");
}

/* a model from dense rows (m x n, row-major; zeros dropped) */
static dopt_milp *dense_model(int32_t n, int32_t m, const double *A)
{
    dopt_milp *p = NULL;
    CHECK_OK(dopt_milp_alloc(tu_ctx, n, m, (int64_t)n * m, &p));
    if (!p) return NULL;
    int64_t nz = 0;
    for (int32_t j = 0; j < n; ++j) {
        p->col_ptr[j] = nz;
        for (int32_t i = 0; i < m; ++i)
            if (A[i * n + j] != 0) p->row_idx[nz] = i, p->values[nz++] = A[i * n + j];
    }
    p->col_ptr[n] = nz, p->nnz = nz;
    return p;
}

/* the recession direction's promises (dopt_milp_options.ray) */
static int is_improving_ray(const dopt_milp *p, const double *r)
{
    double big = 0, cr = 0;
    for (int32_t j = 0; j < p->n; ++j) {
        big = fmax(big, fabs(r[j]));
        cr += p->c[j] * r[j];
        if ((isfinite(p->col_lo[j]) && r[j] < -1e-9) || (isfinite(p->col_hi[j]) && r[j] > 1e-9)) return 0;
    }
    for (int32_t i = 0; i < p->m; ++i) {
        double ar = 0;
        for (int32_t j = 0; j < p->n; ++j)
            for (int64_t k = p->col_ptr[j]; k < p->col_ptr[j + 1]; ++k)
                if (p->row_idx[k] == i) ar += p->values[k] * r[j];
        if ((isfinite(p->row_lo[i]) && ar < -1e-9) || (isfinite(p->row_hi[i]) && ar > 1e-9)) return 0;
    }
    return fabs(big - 1) < 1e-12 && (p->maximize ? cr > 1e-9 : cr < -1e-9);
}

static void test_hand_written(void)
{
    double x[4];
    /* infeasible: x + y >= 3 over binaries */
    static const double A1[2] = {1, 1};
    dopt_milp *p = dense_model(2, 1, A1);
    if (!p) return;
    p->row_lo[0] = 3;
    for (int j = 0; j < 2; ++j) p->integer[j] = 1, p->col_hi[j] = 1, p->c[j] = 1;
    dopt_milp_result r = solve(p, DOPT_MILP_HIGHS, 0, x);
    CHECK(r.status == DOPT_PRIMAL_INFEASIBLE && !r.has_solution && isnan(r.objective) && isnan(r.gap),
          "HiGHS: infeasible, got %d ('%s')", r.status, r.solver_status);
    /* the same as an LP (relax): infeasible too */
    dopt_milp_options o;
    dopt_milp_options_default(&o);
    o.solver = DOPT_MILP_HIGHS, o.relax = 1;
    CHECK(dopt_milp_solve(tu_ctx, p, &o, &r) == DOPT_OK && r.status == DOPT_PRIMAL_INFEASIBLE,
          "HiGHS relaxed: infeasible, got %d", r.status);
    /* unbounded: min -x - y, x, y >= 0 integer, x - y <= 1; with its ray */
    p->row_lo[0] = -HUGE_VAL, p->row_hi[0] = 1, p->values[1] = -1;
    for (int j = 0; j < 2; ++j) p->col_hi[j] = HUGE_VAL, p->c[j] = -1;
    double ray[2] = {NAN, NAN};
    for (int relax = 0; relax < 2; ++relax) {
        o.relax = relax, o.ray = ray;
        ray[0] = ray[1] = NAN;
        CHECK(dopt_milp_solve(tu_ctx, p, &o, &r) == DOPT_OK && r.status == DOPT_DUAL_INFEASIBLE && !r.has_solution,
              "HiGHS (relax %d): unbounded, got %d ('%s')", relax, r.status, r.solver_status);
        CHECK(r.has_ray && is_improving_ray(p, ray), "HiGHS (relax %d): ray (%g, %g)", relax, ray[0], ray[1]);
    }
    o.ray = NULL, o.relax = 0;
    CHECK(dopt_milp_solve(tu_ctx, p, &o, &r) == DOPT_OK && r.status == DOPT_DUAL_INFEASIBLE && !r.has_ray,
          "unbounded without a ray buffer: status %d, has_ray %d", r.status, r.has_ray);
    dopt_milp_free(p);

    /* equality rows and general integers: max 3a + 2b + c with
     * a + b + c = 7, a - b = 1, a, b in [-5, 7] integer, c in [0, 2.5]
     * continuous. a = b + 1, c = 6 - 2b (<= 2.5: b >= 1.75, so b >= 2):
     * objective 3b + 3 + 2b + 6 - 2b = 3b + 9, c >= 0: b <= 3 -> b = 3,
     * a = 4, c = 0: 18. */
    static const double A2[6] = {1, 1, 1, 1, -1, 0};
    p = dense_model(3, 2, A2);
    if (!p) return;
    p->maximize = 1, p->c[0] = 3, p->c[1] = 2, p->c[2] = 1;
    p->row_lo[0] = p->row_hi[0] = 7, p->row_lo[1] = p->row_hi[1] = 1;
    p->col_lo[0] = p->col_lo[1] = -5, p->col_hi[0] = p->col_hi[1] = 7, p->integer[0] = p->integer[1] = 1;
    p->col_hi[2] = 2.5;
    r = solve(p, DOPT_MILP_HIGHS, 0, x);
    CHECK(r.status == DOPT_SOLVED && same_objective(r.objective, 18) && fabs(x[0] - 4) < 1e-9 && fabs(x[1] - 3) < 1e-9,
          "equalities, general integers: HiGHS %d %g at (%g, %g, %g), want 18 at (4, 3, 0)", r.status, r.objective, x[0],
          x[1], x[2]);
    if (dopt_milp_have_cbc()) {
        dopt_milp_result c = solve(p, DOPT_MILP_CBC, 0, NULL);
        CHECK(c.status == DOPT_SOLVED && same_objective(c.objective, 18), "Cbc: %d %g", c.status, c.objective);
    }
    /* all integer (c integer in [0, 2]): the exact solver takes it too */
    p->integer[2] = 1, p->col_hi[2] = 2;
    r = solve(p, DOPT_MILP_HIGHS, 0, x);
    dopt_milp_result e = solve(p, DOPT_MILP_EXACT, 0, NULL);
    CHECK(r.status == DOPT_SOLVED && e.status == DOPT_SOLVED && same_objective(r.objective, e.objective) &&
              same_objective(r.objective, 18),
          "all integer: HiGHS %g, exact %g, want 18", r.objective, e.objective);
    dopt_milp_free(p);

    /* a free column: min f + 2 y, f free continuous, f - y >= -3.5, f + y >= 1,
     * y integer in [0, 10]. f >= max(y - 3.5, 1 - y); objective f + 2y is
     * smallest at y = 0, f = 1: 1 (y = 1: f >= 0, 2; ...). With an offset 5: 6. */
    static const double A3[4] = {1, -1, 1, 1};
    p = dense_model(2, 2, A3);
    if (!p) return;
    p->c[0] = 1, p->c[1] = 2, p->offset = 5, p->col_lo[0] = -HUGE_VAL, p->col_hi[0] = HUGE_VAL;
    p->row_lo[0] = -3.5, p->row_lo[1] = 1, p->integer[1] = 1, p->col_hi[1] = 10;
    r = solve(p, DOPT_MILP_HIGHS, 0, x);
    CHECK(r.status == DOPT_SOLVED && same_objective(r.objective, 6) && same_objective(r.bound, 6),
          "free column: HiGHS %d %g (bound %g), want 6", r.status, r.objective, r.bound);
    if (dopt_milp_have_cbc()) {
        dopt_milp_result c = solve(p, DOPT_MILP_CBC, 0, NULL);
        CHECK(c.status == DOPT_SOLVED && same_objective(c.objective, 6), "free column: Cbc %d %g", c.status,
              c.objective);
    }
    /* maximize f instead: unbounded (f grows freely) */
    p->maximize = 1;
    r = solve(p, DOPT_MILP_HIGHS, 0, NULL);
    CHECK(r.status == DOPT_DUAL_INFEASIBLE, "free column maximized: unbounded, got %d", r.status);
    dopt_milp_free(p);
}

/* AUTO is HiGHS; a MIP start is taken; relax gives a bound below the MILP */
static void test_auto_start_relax(void)
{
    dopt_gen_params g;
    dopt_gen_params_preset(tu_ctx, DOPT_GEN_SETCOVER, DOPT_GEN_EASY, &g);
    g.sc_rows = 60, g.sc_cols = 90;
    dopt_milp *p = generate_with(&g, 11);
    if (!p) return;
    double *x = calloc((size_t)p->n, 8), *ones = malloc((size_t)p->n * 8);
    for (int32_t j = 0; j < p->n; ++j) ones[j] = 1; /* every set: a feasible cover */
    dopt_milp_result r = solve(p, DOPT_MILP_AUTO, 0, x);
    CHECK(r.solver == DOPT_MILP_HIGHS && r.status == DOPT_SOLVED, "AUTO ran solver %d, status %d", (int)r.solver,
          r.status);
    dopt_milp_options o;
    dopt_milp_options_default(&o);
    o.solver = DOPT_MILP_HIGHS, o.start = ones;
    dopt_milp_result s;
    memset(&s, 0, sizeof s);
    CHECK(dopt_milp_solve(tu_ctx, p, &o, &s) == DOPT_OK && s.status == DOPT_SOLVED &&
              same_objective(s.objective, r.objective),
          "with a start: %d %g, without %g", s.status, s.objective, r.objective);
    o.start = NULL, o.relax = 1;
    CHECK(dopt_milp_solve(tu_ctx, p, &o, &s) == DOPT_OK && s.status == DOPT_SOLVED && s.objective <= r.objective + 1e-9 &&
              s.nodes == 0,
          "relaxation %d %g <= MILP %g", s.status, s.objective, r.objective);
    free(x), free(ones);
    dopt_milp_free(p);
}

/* A hard set cover cannot be solved in 1 s: time limit, with an incumbent
 * (feasible, its objective), a bound below it and the gap between them,
 * within the limit plus 1 s and one step of HiGHS (slack for a loaded test
 * machine: 2 cores, several builds). */
static void test_time_limit(void)
{
    dopt_gen_params g;
    dopt_gen_params_preset(tu_ctx, DOPT_GEN_SETCOVER, DOPT_GEN_HARD, &g);
    dopt_milp *p = generate_with(&g, 2);
    if (!p) return;
    double *x = calloc((size_t)p->n, 8);
    const double limit = 1.0;
    double t0 = wall_now();
    dopt_milp_result r = solve(p, DOPT_MILP_HIGHS, limit, x);
    double took = wall_now() - t0;
    /* HiGHS stopped by its clock, or killed 0.75 s after the deadline when
     * it was inside a step that does not look at it */
    CHECK(r.status == DOPT_ITERATION_LIMIT &&
              (strstr(r.solver_status, "Time limit") || strstr(r.solver_status, "killed at the deadline")),
          "status %d ('%s')", r.status, r.solver_status);
    CHECK(took < 2 * limit + 1, "limit %g s took %.2f s", limit, took);
    if (r.has_solution) {
        CHECK(dopt_milp_violation(p, x) <= 1e-6 && same_objective(dopt_milp_objective(p, x), r.objective),
              "incumbent feasible with its objective");
        CHECK(r.bound <= r.objective + 1e-6 && same_objective(r.gap, fabs(r.objective - r.bound) / fabs(r.objective)),
              "bound %g <= incumbent %g, gap %g", r.bound, r.objective, r.gap);
    } else {
        CHECK(isnan(r.objective) && isnan(r.gap), "no incumbent: objective and gap NaN");
    }
    printf("time limit %g s: %.2f s, incumbent %s %g, bound %g, gap %g\n", limit, took, r.has_solution ? "yes" : "no",
           r.objective, r.bound, r.gap);
    free(x);
    dopt_milp_free(p);
}

/* The batch on 4 workers equals the batch on 1, bitwise (x, objective,
 * nodes): one single-threaded HiGHS per job, no shared state. */
static void test_batch_parallel_equals_serial(void)
{
    enum { MODELS = 3, CAND = 4, JOBS = MODELS * CAND };
    dopt_gen_params g;
    dopt_gen_params_preset(tu_ctx, DOPT_GEN_CAUCTION, DOPT_GEN_EASY, &g);
    g.ca_items = 30, g.ca_bids = 60;
    dopt_milp *models[MODELS] = {0};
    int32_t n = -1;
    for (int i = 0; i < MODELS; ++i) models[i] = generate_with(&g, 20 + (uint64_t)i);
    for (int i = 0; i < MODELS; ++i)
        if (!models[i]) goto done;
    n = models[0]->n;
    int64_t model_of[JOBS], offset[JOBS];
    double *preds = malloc((size_t)JOBS * (size_t)n * 8), *xs[2];
    xs[0] = malloc((size_t)JOBS * (size_t)n * 8), xs[1] = malloc((size_t)JOBS * (size_t)n * 8);
    uint64_t state = 7;
    for (int j = 0; j < JOBS; ++j) {
        model_of[j] = j / CAND, offset[j] = (int64_t)j * n;
        CHECK(models[j / CAND]->n == n, "same n");
        for (int32_t k = 0; k < n; ++k) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            preds[(size_t)j * n + k] = (double)(state >> 11) / 9007199254740992.0;
        }
    }
    dopt_milp_search_options so;
    dopt_milp_search_options_default(&so);
    so.milp.solver = DOPT_MILP_HIGHS, so.delta = 6;
    dopt_milp_search_result res[2][JOBS];
    double took[2];
    for (int run = 0; run < 2; ++run) {
        memset(res[run], 0, sizeof res[run]);
        for (int j = 0; j < JOBS; ++j) res[run][j].milp.x = xs[run] + (size_t)j * n;
        CHECK_OK(dopt_context_set_threads(tu_ctx, run == 0 ? 1 : 4));
        double t0 = wall_now();
        CHECK(dopt_milp_search_batch(tu_ctx, (const dopt_milp *const *)models, JOBS, model_of, preds, offset, &so,
                                     res[run]) == DOPT_OK,
              "batch: %s", msg());
        took[run] = wall_now() - t0;
    }
    CHECK_OK(dopt_context_set_threads(tu_ctx, 0));
    int same = 1, solved = 0;
    for (int j = 0; j < JOBS; ++j) {
        const dopt_milp_result *a = &res[0][j].milp, *b = &res[1][j].milp;
        same &= a->status == b->status && a->has_solution == b->has_solution && a->nodes == b->nodes &&
                res[0][j].rounds == res[1][j].rounds && a->solver == DOPT_MILP_HIGHS && b->solver == DOPT_MILP_HIGHS;
        if (a->has_solution && b->has_solution)
            same &= a->objective == b->objective && !memcmp(a->x, b->x, (size_t)n * 8);
        solved += a->status == DOPT_SOLVED;
    }
    CHECK(same, "4 workers give the same results as 1");
    CHECK(solved > 0, "some trust regions solved (%d)", solved);
    printf("batch of %d HiGHS searches: 1 worker %.2f s, 4 workers %.2f s, identical results\n", JOBS, took[0],
           took[1]);

    /* the call's budget: 0.05 s for 12 jobs cannot cover them all; the call
     * returns within it plus one job's limit (itself cut to what is left) */
    so.batch_time_limit = 0.05;
    for (int j = 0; j < JOBS; ++j) res[0][j].milp.x = xs[0] + (size_t)j * n;
    CHECK_OK(dopt_context_set_threads(tu_ctx, 2));
    double t0 = wall_now();
    CHECK(dopt_milp_search_batch(tu_ctx, (const dopt_milp *const *)models, JOBS, model_of, preds, offset, &so,
                                 res[0]) == DOPT_OK,
          "budgeted batch: %s", msg());
    double spent = wall_now() - t0;
    CHECK_OK(dopt_context_set_threads(tu_ctx, 0));
    int unstarted = 0, ok = 1;
    for (int j = 0; j < JOBS; ++j) {
        const dopt_milp_result *a = &res[0][j].milp;
        ok &= a->status == DOPT_SOLVED || a->status == DOPT_ITERATION_LIMIT;
        if (a->status == DOPT_SOLVED) ok &= a->objective == res[1][j].milp.objective || res[0][j].rounds == 0;
        unstarted += res[0][j].rounds == 0;
        if (res[0][j].rounds == 0)
            ok &= a->status == DOPT_ITERATION_LIMIT && !a->has_solution && strstr(a->solver_status, "batch") != NULL;
    }
    CHECK(ok, "budgeted batch: statuses optimal (as unbudgeted) or time limit; unstarted jobs say why");
    CHECK(spent < 0.05 + 1.5, "budget 0.05 s: the call took %.2f s", spent);
    printf("batch budget 0.05 s: %.2f s, %d of %d jobs not started\n", spent, unstarted, JOBS);
    /* a NaN budget is refused */
    so.batch_time_limit = NAN;
    CHECK(dopt_milp_search_batch(tu_ctx, (const dopt_milp *const *)models, JOBS, model_of, preds, offset, &so,
                                 res[0]) == DOPT_ERR_INVALID_ARGUMENT &&
              strstr(msg(), "batch_time_limit"),
          "NaN batch_time_limit: %s", msg());
    free(preds), free(xs[0]), free(xs[1]);
done:
    for (int i = 0; i < MODELS; ++i) dopt_milp_free(models[i]);
}

static void test_bad_options(void)
{
    static const double A1[2] = {1, 1};
    dopt_milp *p = dense_model(2, 1, A1);
    if (!p) return;
    dopt_milp_options o;
    dopt_milp_options_default(&o);
    dopt_milp_result r;
    memset(&r, 0, sizeof r);
    o.solver = (dopt_milp_solver)5; /* 4 is DOPT_MILP_PORTFOLIO */
    CHECK(dopt_milp_solve(tu_ctx, p, &o, &r) == DOPT_ERR_INVALID_ARGUMENT && strstr(msg(), "HIGHS"),
          "solver 5: %s", msg());
    dopt_milp_free(p);
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_init(1, argv);
    if (!dopt_milp_have_highs()) {
        printf("skipped: HiGHS is not built in (scripts/ensure-highs.sh installs it; then rebuild)\n");
        dopt_context_destroy(tu_ctx);
        return TEST_SKIP;
    }
    test_generated_agreement();
    test_hand_written();
    test_auto_start_relax();
    test_time_limit();
    test_batch_parallel_equals_serial();
    test_bad_options();
    return tu_finish("test_milp_highs");
}
