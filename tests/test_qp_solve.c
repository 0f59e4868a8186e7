/* QP forward pass: hand-checked answers, known-solution random instances
 * (KKT certificate and distance to the constructed optimum), empty blocks,
 * rows switched off by h = +inf, shared parameters, thread-count invariance. */
#include "qp_harness.h"

/* solve one small hand-written instance (double, per-instance data) */
/* one hand-written instance at a tight tolerance */
static int solve_one(int n, int m, int k, const double *Q, const double *p, const double *G, const double *h,
                     const double *A, const double *b, double *x, double *lam, double *nu)
{
    dopt_qp_options opt;
    dopt_qp_options_default(&opt, DOPT_FLOAT64);
    opt.tol = 1e-10;
    return tq_solve_single(n, m, k, Q, p, G, h, A, b, &opt, x, lam, nu);
}

static void test_hand_checked(void)
{
    double x[4], lam[4], nu[4];
    { /* min 1/2|x|^2 - x1 - x2 s.t. x1 + x2 <= 1: x = (1/2, 1/2), lam = 1/2 */
        double Q[4] = {1, 0, 0, 1}, p[2] = {-1, -1}, G[2] = {1, 1}, h[1] = {1};
        int st = solve_one(2, 1, 0, Q, p, G, h, NULL, NULL, x, lam, nu);
        CHECK(st == DOPT_SOLVED, "status %d", st);
        CHECK(fabs(x[0] - 0.5) < 1e-8 && fabs(x[1] - 0.5) < 1e-8, "x = %g %g", x[0], x[1]);
        CHECK(fabs(lam[0] - 0.5) < 1e-8, "lam = %g", lam[0]);
    }
    { /* LP: min -x1 - x2 s.t. x1 + 2x2 <= 4, 3x1 + x2 <= 6, x >= 0: (1.6, 1.2), duals (0.4, 0.2, 0, 0) */
        double Q[4] = {0, 0, 0, 0}, p[2] = {-1, -1}, G[8] = {1, 2, 3, 1, -1, 0, 0, -1}, h[4] = {4, 6, 0, 0};
        int st = solve_one(2, 4, 0, Q, p, G, h, NULL, NULL, x, lam, nu);
        CHECK(st == DOPT_SOLVED, "status %d", st);
        CHECK(fabs(x[0] - 1.6) < 1e-8 && fabs(x[1] - 1.2) < 1e-8, "x = %g %g", x[0], x[1]);
        CHECK(fabs(lam[0] - 0.4) < 1e-8 && fabs(lam[1] - 0.2) < 1e-8 && fabs(lam[2]) < 1e-8 && fabs(lam[3]) < 1e-8,
              "lam = %g %g %g %g", lam[0], lam[1], lam[2], lam[3]);
    }
    { /* equality only: min 1/2|x|^2 s.t. x1 + x2 + x3 = 1: x = 1/3, nu = -1/3 */
        double Q[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, p[3] = {0, 0, 0}, A[3] = {1, 1, 1}, b[1] = {1};
        int st = solve_one(3, 0, 1, Q, p, NULL, NULL, A, b, x, lam, nu);
        CHECK(st == DOPT_SOLVED, "status %d", st);
        for (int j = 0; j < 3; ++j) CHECK(fabs(x[j] - 1.0 / 3) < 1e-9, "x[%d] = %g", j, x[j]);
        CHECK(fabs(nu[0] + 1.0 / 3) < 1e-9, "nu = %g", nu[0]);
    }
    { /* unconstrained: Q = [[2,1],[1,2]], p = (1,1): x = -Q^-1 p = (-1/3, -1/3) */
        double Q[4] = {2, 1, 1, 2}, p[2] = {1, 1};
        int st = solve_one(2, 0, 0, Q, p, NULL, NULL, NULL, NULL, x, lam, nu);
        CHECK(st == DOPT_SOLVED, "status %d", st);
        CHECK(fabs(x[0] + 1.0 / 3) < 1e-9 && fabs(x[1] + 1.0 / 3) < 1e-9, "x = %g %g", x[0], x[1]);
    }
    { /* non-symmetric Q: only (Q+Q')/2 = [[2,1],[1,2]] counts */
        double Q[4] = {2, 2, 0, 2}, p[2] = {1, 1};
        int st = solve_one(2, 0, 0, Q, p, NULL, NULL, NULL, NULL, x, lam, nu);
        CHECK(st == DOPT_SOLVED && fabs(x[0] + 1.0 / 3) < 1e-9 && fabs(x[1] + 1.0 / 3) < 1e-9, "x = %g %g",
              x[0], x[1]);
    }
    { /* redundant equalities (second row = 2 x first): min |x|^2 s.t. x1 + x2 = 2, x >= 0 -> (1, 1) */
        double Q[4] = {2, 0, 0, 2}, p[2] = {0, 0}, G[4] = {-1, 0, 0, -1}, h[2] = {0, 0}, A[4] = {1, 1, 2, 2},
               b[2] = {2, 4};
        int st = solve_one(2, 2, 2, Q, p, G, h, A, b, x, lam, nu);
        CHECK(st == DOPT_SOLVED, "status %d", st);
        CHECK(fabs(x[0] - 1) < 1e-8 && fabs(x[1] - 1) < 1e-8, "x = %g %g", x[0], x[1]);
        CHECK(fabs(nu[0] + 2 * nu[1] + 2) < 1e-7, "nu1 + 2 nu2 = %g, want -2", nu[0] + 2 * nu[1]);
    }
    { /* LP with a free direction killed by the objective: min x1 s.t. x1 >= 1, |x2| <= 1 (x2 not unique) */
        double Q[4] = {0, 0, 0, 0}, p[2] = {1, 0}, G[6] = {-1, 0, 0, 1, 0, -1}, h[3] = {-1, 1, 1};
        int st = solve_one(2, 3, 0, Q, p, G, h, NULL, NULL, x, lam, nu);
        CHECK(st == DOPT_SOLVED && fabs(x[0] - 1) < 1e-8 && fabs(x[1]) <= 1 + 1e-8, "status %d x = %g %g", st,
              x[0], x[1]);
    }
}

/* A projection that stalled the embedding for 50 iterations before the
 * tau-row's second-order correction (caught by dopt demo). */
static void test_stalled_projection(void)
{
    double Q[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    double G[18] = {3.281482998011195, -0.20028707133354368, 1.0005682010967747, -1.6851661329505303, 2.174667672568412, -0.13951280798702481, -0.55505501396356016, -0.10368912816661388, -1.5563487464482684, 1.0797241615234898, -1.5517070690627239, -0.26709481603285873, 0.65197100115001061, -0.41566369023441635, -1.7825165295373782, -0.77166533297630058, 0.35735275912019421, -1.1893483907850633};
    double h[6] = {1.5363572411258748, 2.0311686175002075, 2.026755728906938, 0.89183963629936513, 1.833996350051587, 1.2968502125557415};
    double p[3] = {1.9441910086982386, 1.5721734823077531, -2.3517461457767528};
    tq_data d;
    memset(&d, 0, sizeof d);
    d.B = 1, d.n = 3, d.m = 6, d.Q = Q, d.p = p, d.G = G, d.h = h;
    tq_stage(&d);
    tq_out o = tq_out_alloc(&d);
    CHECK_OK(tq_solve(&d, NULL, &o, NULL));
    CHECK(o.status[0] == DOPT_SOLVED && o.iters[0] <= 15, "status %d after %d iterations", o.status[0], o.iters[0]);
    CHECK(tq_kkt_error(&d, 0, o.x, o.lam, NULL) < 1e-7, "KKT error %.3e", tq_kkt_error(&d, 0, o.x, o.lam, NULL));
    tq_out_free(&o);
    tu_dev_free(d.Q, d.dQ), tu_dev_free(d.p, d.dp), tu_dev_free(d.G, d.dG), tu_dev_free(d.h, d.dh);
}

/* Random instances with a constructed optimum: the certificate must hold,
 * and for unique optima the solution must match. */
static void test_random(int n, int m, int k, dopt_gen_kind kind, double cond, int64_t B, uint64_t seed)
{
    tq_data d = tq_gen(B, n, m, k, kind, cond, seed);
    tq_stage(&d);
    tq_out o = tq_out_alloc(&d);
    CHECK_OK(tq_solve(&d, NULL, &o, NULL));
    double worst = 0, worst_x = 0;
    int bad = 0;
    for (int64_t i = 0; i < B; ++i) {
        if (o.status[i] != DOPT_SOLVED) {
            ++bad;
            continue;
        }
        double e = tq_kkt_error(&d, i, o.x + i * n, o.lam + i * m, o.nu + i * k);
        if (e > worst) worst = e;
        if (kind == DOPT_GEN_STRICTLY_CONVEX) {
            double dx = tq_max_abs_diff((size_t)n, o.x + i * n, d.xs + i * n);
            if (dx > worst_x) worst_x = dx;
        }
    }
    CHECK(bad == 0, "n=%d m=%d k=%d kind=%d: %d of %lld not solved (first status %d)", n, m, k, (int)kind, bad,
          (long long)B, o.status[0]);
    for (int64_t i = 0; i < B && bad; ++i)
        if (o.status[i] != DOPT_SOLVED) printf("  instance %lld: status %d after %d iterations\n", (long long)i, o.status[i], o.iters[i]);
    /* default tol is 1e-8 relative; the KKT error measure here is normalized
     * differently, so allow 1e-6 */
    CHECK(worst < 1e-6, "n=%d m=%d k=%d kind=%d cond=%g: worst KKT error %.3e", n, m, k, (int)kind, cond, worst);
    /* lam_min(Q) >= 1/cond; a duality gap of tol bounds |x - x*| by
     * sqrt(tol * cond) (1e-8 is the default tol) */
    CHECK(kind != DOPT_GEN_STRICTLY_CONVEX || worst_x < sqrt(1e-8 * cond), "n=%d m=%d k=%d cond=%g: worst distance to the constructed optimum %.3e", n, m, k, cond, worst_x);
    tq_out_free(&o);
    tq_free(&d);
}

/* n >= 64 takes the CUDA backend's large-n path (batched library
 * factorization): its result against the CPU backend's. Bitwise on the CPU;
 * on CUDA each solution is within sqrt(tol * cond) = sqrt(1e-8 * 10) of the
 * optimum (lam_min(Q) >= 1/cond, see test_random), so the two are within
 * twice that of each other. */
static void test_large_against_cpu(int n, int m, int k, int64_t B, uint64_t seed)
{
    tq_data d = tq_gen(B, n, m, k, DOPT_GEN_STRICTLY_CONVEX, 10, seed);
    tq_stage(&d);
    tq_out o = tq_out_alloc(&d);
    CHECK_OK(tq_solve(&d, NULL, &o, NULL));
    for (int64_t i = 0; i < B; ++i)
        CHECK(o.status[i] == DOPT_SOLVED, "n=%d m=%d k=%d: instance %lld status %d", n, m, k, (long long)i, o.status[i]);
    char what[64];
    snprintf(what, sizeof what, "n=%d m=%d k=%d B=%lld", n, m, k, (long long)B);
    tq_check_against_cpu(what, &d, NULL, &o, 2 * sqrt(1e-8 * 10), NULL, NULL, NULL, NULL, 0);
    tq_out_free(&o);
    tq_free(&d);
}

/* h = +inf switches a row off: same answer as the instance without that row. */
static void test_inf_rows(void)
{
    int n = 6, m = 8, k = 2;
    tq_data d = tq_gen(4, n, m, k, DOPT_GEN_STRICTLY_CONVEX, 10, 77);
    /* instance 1: drop rows 0 and 3 (set h = inf); build a reference with them deleted */
    tq_data r = tq_gen(1, n, m - 2, k, DOPT_GEN_STRICTLY_CONVEX, 10, 1);
    memcpy(r.Q, d.Q + n * n, sizeof(double) * n * n);
    memcpy(r.p, d.p + n, sizeof(double) * n);
    memcpy(r.A, d.A + k * n, sizeof(double) * k * n);
    memcpy(r.b, d.b + k, sizeof(double) * k);
    int rr = 0;
    for (int q = 0; q < m; ++q) {
        if (q == 0 || q == 3) continue;
        memcpy(r.G + rr * n, d.G + (m + q) * n, sizeof(double) * n);
        r.h[rr++] = d.h[m + q];
    }
    d.h[m + 0] = INFINITY;
    d.h[m + 3] = INFINITY;
    tq_stage(&d);
    tq_stage(&r);
    tq_out o = tq_out_alloc(&d), orf = tq_out_alloc(&r);
    dopt_qp_options opt;
    dopt_qp_options_default(&opt, DOPT_FLOAT64);
    opt.tol = 1e-11;
    CHECK_OK(tq_solve(&d, &opt, &o, NULL));
    CHECK_OK(tq_solve(&r, &opt, &orf, NULL));
    CHECK(o.status[1] == DOPT_SOLVED && orf.status[0] == DOPT_SOLVED, "status %d %d", o.status[1], orf.status[0]);
    double e = tq_max_abs_diff((size_t)n, o.x + n, orf.x);
    CHECK(e < 1e-7, "x with inf rows differs from x without them by %.3e", e);
    CHECK(o.lam[m + 0] == 0 && o.lam[m + 3] == 0, "absent rows must have lam = 0 (%g, %g)", o.lam[m], o.lam[m + 3]);
    for (int i = 0; i < 4; ++i)
        CHECK(o.status[i] == DOPT_SOLVED && tq_kkt_error(&d, i, o.x + i * n, o.lam + i * m, o.nu + i * k) < 1e-7,
              "instance %d: status %d", i, o.status[i]);
    tq_out_free(&o);
    tq_out_free(&orf);
    tq_free(&d);
    tq_free(&r);
}

/* A shared parameter gives the same result as repeating it per instance. */
static void test_shared(void)
{
    int n = 5, m = 7, k = 2;
    int64_t B = 6;
    tq_data d = tq_gen(B, n, m, k, DOPT_GEN_STRICTLY_CONVEX, 10, 5);
    /* make Q, G, A identical across the batch; keep p, h, b per instance but
     * recompute them so that each instance is still feasible */
    for (int64_t i = 1; i < B; ++i) {
        memcpy(d.Q + i * n * n, d.Q, sizeof(double) * n * n);
        memcpy(d.G + i * m * n, d.G, sizeof(double) * m * n);
        memcpy(d.A + i * k * n, d.A, sizeof(double) * k * n);
        for (int q = 0; q < m; ++q) d.h[i * m + q] = d.h[q] + 0.1 * (double)i;
        for (int q = 0; q < k; ++q) d.b[i * k + q] = d.b[q] * (1 + 0.05 * (double)i);
    }
    tq_stage(&d);
    tq_out full = tq_out_alloc(&d), sh = tq_out_alloc(&d);
    CHECK_OK(tq_solve(&d, NULL, &full, NULL));
    tq_data s = d;
    s.shared = DOPT_QP_SHARE_Q | DOPT_QP_SHARE_G | DOPT_QP_SHARE_A;
    CHECK_OK(tq_solve(&s, NULL, &sh, NULL));
    CHECK(memcmp(full.x, sh.x, sizeof(double) * B * n) == 0, "shared and repeated parameters differ");
    for (int64_t i = 0; i < B; ++i) CHECK(sh.status[i] == DOPT_SOLVED, "status %d", sh.status[i]);
    tq_out_free(&full);
    tq_out_free(&sh);
    tq_free(&d);
}

/* Results are bitwise identical whatever the thread count. */
static void test_threads(void)
{
    if (tu_cuda()) return;
    tq_data d = tq_gen(300, 12, 12, 3, DOPT_GEN_STRICTLY_CONVEX, 100, 9);
    tq_stage(&d);
    tq_out a = tq_out_alloc(&d), b = tq_out_alloc(&d);
    dopt_context_set_threads(tu_ctx, 1);
    CHECK_OK(tq_solve(&d, NULL, &a, NULL));
    dopt_context_set_threads(tu_ctx, 5);
    CHECK_OK(tq_solve(&d, NULL, &b, NULL));
    dopt_context_set_threads(tu_ctx, 0);
    CHECK(memcmp(a.x, b.x, sizeof(double) * 300 * 12) == 0 && memcmp(a.iters, b.iters, sizeof(int32_t) * 300) == 0,
          "results depend on the thread count");
    tq_out_free(&a);
    tq_out_free(&b);
    tq_free(&d);
}

/* Projections onto random polytopes containing 0 (always feasible, strictly
 * convex): every instance must be solved, quickly. Guards the embedding's
 * tau-row correction: without it such instances stalled at the limit. */
static void test_projections(void)
{
    int n = 3, m = 12;
    int64_t B = 4000;
    tq_data d = tq_gen(B, n, m, 0, DOPT_GEN_STRICTLY_CONVEX, 10, 11);
    tu_seed(99);
    for (int64_t i = 0; i < B; ++i) {
        for (int j = 0; j < n * n; ++j) d.Q[i * n * n + j] = j % (n + 1) == 0;
        for (int j = 0; j < m * n; ++j) d.G[i * m * n + j] = 2 * tu_normal();
        for (int q = 0; q < m; ++q) d.h[i * m + q] = 0.5 + 1.5 * tu_unif();
        for (int j = 0; j < n; ++j) d.p[i * n + j] = 1.5 * tu_normal();
    }
    tq_stage(&d);
    tq_out o = tq_out_alloc(&d);
    CHECK_OK(tq_solve(&d, NULL, &o, NULL));
    int bad = 0, maxit = 0;
    double worst = 0;
    for (int64_t i = 0; i < B; ++i) {
        bad += o.status[i] != DOPT_SOLVED;
        if (o.iters[i] > maxit) maxit = o.iters[i];
        double e = tq_kkt_error(&d, i, o.x + i * n, o.lam + i * m, NULL);
        if (e > worst) worst = e;
    }
    CHECK(bad == 0, "%d of %lld projections not solved", bad, (long long)B);
    CHECK(maxit <= 25, "a projection took %d iterations", maxit);
    CHECK(worst < 1e-6, "projections: worst KKT error %.3e", worst);
    tq_out_free(&o);
    tq_free(&d);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    test_hand_checked();
    /* sizes around the small-kernel thresholds and the benchmark's shapes */
    int sizes[][3] = {{1, 1, 0}, {1, 2, 0}, {2, 0, 1}, {3, 3, 0}, {8, 8, 2}, {16, 4, 4}, {31, 31, 7},
                      {32, 32, 8}, {33, 33, 8}, {40, 80, 5}, {64, 64, 16}, {100, 20, 0},
                      {64, 0, 16}, {65, 0, 0}, {66, 40, 0}}; /* large n with m = 0, k = 0 */
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
        int n = sizes[s][0], m = sizes[s][1], k = sizes[s][2];
        test_random(n, m, k, DOPT_GEN_STRICTLY_CONVEX, 10, 20, 100 + s);
        test_random(n, m, k, DOPT_GEN_STRICTLY_CONVEX, 1e6, 10, 200 + s); /* ill-conditioned Q */
        test_random(n, m, k, DOPT_GEN_PSD, 0, 10, 300 + s);
        if (m >= n - k) test_random(n, m, k, DOPT_GEN_LP, 0, 10, 400 + s);
    }
    test_random(128, 128, 32, DOPT_GEN_STRICTLY_CONVEX, 10, 3, 7);
    int large[][3] = {{63, 63, 16}, {64, 64, 16}, {64, 0, 16}, {65, 40, 0}, {66, 0, 0}, {100, 20, 0}};
    for (size_t s = 0; s < sizeof large / sizeof large[0]; ++s)
        test_large_against_cpu(large[s][0], large[s][1], large[s][2], 12, 500 + s);
    test_inf_rows();
    test_projections();
    test_stalled_projection();
    test_shared();
    test_threads();
    return tu_finish("test_qp_solve");
}
