/* Bad input: per-instance statuses for infeasible, unbounded, NaN/Inf,
 * non-PSD and iteration-limited instances, call errors for malformed
 * arguments, and a 10,000-instance batch mixing good and bad instances in
 * which the good ones are unaffected. */
#include "qp_harness.h"

static int solve_status(int n, int m, int k, const double *Q, const double *p, const double *G, const double *h,
                        const double *A, const double *b, const dopt_qp_options *opt, double *x)
{
    return tq_solve_single(n, m, k, Q, p, G, h, A, b, opt, x, NULL, NULL);
}

static void test_statuses(void)
{
    double x[4];
    { /* x <= -1 and x >= 1 */
        double Q[1] = {1}, p[1] = {0}, G[2] = {1, -1}, h[2] = {-1, -1};
        int st = solve_status(1, 2, 0, Q, p, G, h, NULL, NULL, NULL, NULL);
        CHECK(st == DOPT_PRIMAL_INFEASIBLE, "contradictory bounds: status %d", st);
    }
    { /* inconsistent equalities x1 + x2 = 1, x1 + x2 = 2 */
        double Q[4] = {1, 0, 0, 1}, p[2] = {0, 0}, A[4] = {1, 1, 1, 1}, b[2] = {1, 2};
        int st = solve_status(2, 0, 2, Q, p, NULL, NULL, A, b, NULL, NULL);
        CHECK(st == DOPT_PRIMAL_INFEASIBLE, "inconsistent equalities: status %d", st);
    }
    { /* equality and inequality clash: x1 + x2 = 3, x <= 1 */
        double Q[4] = {1, 0, 0, 1}, p[2] = {0, 0}, G[4] = {1, 0, 0, 1}, h[2] = {1, 1}, A[2] = {1, 1}, b[1] = {3};
        int st = solve_status(2, 2, 1, Q, p, G, h, A, b, NULL, NULL);
        CHECK(st == DOPT_PRIMAL_INFEASIBLE, "equality vs bounds: status %d", st);
    }
    { /* LP unbounded: min -x s.t. x >= 0 */
        double Q[1] = {0}, p[1] = {-1}, G[1] = {-1}, h[1] = {0};
        int st = solve_status(1, 1, 0, Q, p, G, h, NULL, NULL, NULL, x);
        CHECK(st == DOPT_DUAL_INFEASIBLE, "unbounded LP: status %d", st);
        CHECK(x[0] > 0, "recession direction should point to +x, got %g", x[0]);
    }
    { /* PSD QP unbounded along the null space of Q: min x1^2 - x2, no constraints */
        double Q[4] = {2, 0, 0, 0}, p[2] = {0, -1};
        int st = solve_status(2, 0, 0, Q, p, NULL, NULL, NULL, NULL, NULL, NULL);
        CHECK(st == DOPT_DUAL_INFEASIBLE, "unbounded PSD QP: status %d", st);
    }
    { /* NaN in p, Inf in Q, NaN in h, non-PSD Q */
        double Q[4] = {1, 0, 0, 1}, p[2] = {NAN, 0}, G[2] = {1, 1}, h[1] = {1};
        CHECK(solve_status(2, 1, 0, Q, p, G, h, NULL, NULL, NULL, NULL) == DOPT_INVALID_DATA, "NaN in p");
        double Q2[4] = {1, INFINITY, 0, 1}, p2[2] = {0, 0};
        CHECK(solve_status(2, 1, 0, Q2, p2, G, h, NULL, NULL, NULL, NULL) == DOPT_INVALID_DATA, "Inf in Q");
        double h3[1] = {NAN};
        CHECK(solve_status(2, 1, 0, Q, p2, G, h3, NULL, NULL, NULL, NULL) == DOPT_INVALID_DATA, "NaN in h");
        double Q4[4] = {1, 2, 2, 1};
        CHECK(solve_status(2, 1, 0, Q4, p2, G, h, NULL, NULL, NULL, NULL) == DOPT_INVALID_DATA, "indefinite Q");
        double Q5[4] = {-1e-3, 0, 0, 1};
        CHECK(solve_status(2, 1, 0, Q5, p2, G, h, NULL, NULL, NULL, NULL) == DOPT_INVALID_DATA, "negative diagonal");
        double G6[2] = {1, NAN}, h6[1] = {INFINITY};
        CHECK(solve_status(2, 1, 0, Q, p2, G6, h6, NULL, NULL, NULL, NULL) == DOPT_INVALID_DATA, "NaN in an absent row");
    }
    { /* h = -inf: a row nothing satisfies, but no finite Farkas certificate
       * exists, so it is invalid data (status 1 promises a certificate) */
        double Q[1] = {1}, p[1] = {0}, G[1] = {1}, h[1] = {-INFINITY};
        CHECK(solve_status(1, 1, 0, Q, p, G, h, NULL, NULL, NULL, NULL) == DOPT_INVALID_DATA, "h = -inf");
        double A[1] = {1}, b[1] = {-INFINITY}, h2[1] = {1};
        CHECK(solve_status(1, 1, 1, Q, p, G, h2, A, b, NULL, NULL) == DOPT_INVALID_DATA, "b = -inf");
        b[0] = INFINITY;
        CHECK(solve_status(1, 1, 1, Q, p, G, h2, A, b, NULL, NULL) == DOPT_INVALID_DATA, "b = +inf");
    }
    { /* iteration limit */
        tq_data d = tq_gen(1, 20, 20, 5, DOPT_GEN_STRICTLY_CONVEX, 10, 3);
        dopt_qp_options opt;
        dopt_qp_options_default(&opt, DOPT_FLOAT64);
        opt.max_iter = 2;
        int st = solve_status(20, 20, 5, d.Q, d.p, d.G, d.h, d.A, d.b, &opt, NULL);
        CHECK(st == DOPT_ITERATION_LIMIT, "max_iter = 2: status %d", st);
        tq_free(&d);
    }
    { /* all rows absent (h = +inf everywhere): unconstrained */
        double Q[4] = {2, 1, 1, 2}, p[2] = {1, 1}, G[4] = {1, 0, 0, 1}, h[2] = {INFINITY, INFINITY};
        int st = solve_status(2, 2, 0, Q, p, G, h, NULL, NULL, NULL, x);
        CHECK(st == DOPT_SOLVED && fabs(x[0] + 1.0 / 3) < 1e-8, "all rows absent: status %d x %g", st, x[0]);
    }
}

static void test_call_errors(void)
{
    double Q[1] = {1}, p[1] = {0}, x[1];
    int32_t st[1];
    dopt_qp_problem P;
    memset(&P, 0, sizeof P);
    P.batch = 1, P.n = 1, P.dtype = DOPT_FLOAT64, P.Q = Q, P.p = p;
    dopt_qp_solution s = {x, NULL, NULL, st, NULL};
    CHECK(dopt_qp_solve(tu_ctx, NULL, NULL, &s, NULL) == DOPT_ERR_INVALID_ARGUMENT, "NULL problem");
    CHECK(strlen(dopt_context_last_error(tu_ctx)) > 0, "an error message is kept");
    dopt_qp_problem bad = P;
    bad.n = 0;
    CHECK(dopt_qp_solve(tu_ctx, &bad, NULL, &s, NULL) == DOPT_ERR_INVALID_ARGUMENT, "n = 0");
    bad = P;
    bad.batch = -1;
    CHECK(dopt_qp_solve(tu_ctx, &bad, NULL, &s, NULL) == DOPT_ERR_INVALID_ARGUMENT, "batch < 0");
    bad = P;
    bad.m = 2;
    CHECK(dopt_qp_solve(tu_ctx, &bad, NULL, &s, NULL) == DOPT_ERR_INVALID_ARGUMENT, "m > 0 with G NULL");
    bad = P;
    bad.dtype = (dopt_dtype)7;
    CHECK(dopt_qp_solve(tu_ctx, &bad, NULL, &s, NULL) == DOPT_ERR_INVALID_ARGUMENT, "bad dtype");
    bad = P;
    bad.p = NULL;
    CHECK(dopt_qp_solve(tu_ctx, &bad, NULL, &s, NULL) == DOPT_ERR_INVALID_ARGUMENT, "p NULL");
    dopt_qp_solution nos = {NULL, NULL, NULL, st, NULL};
    CHECK(dopt_qp_solve(tu_ctx, &P, NULL, &nos, NULL) == DOPT_ERR_INVALID_ARGUMENT, "x NULL");
    dopt_qp_options o;
    dopt_qp_options_default(&o, DOPT_FLOAT64);
    o.tol = -1;
    CHECK(dopt_qp_solve(tu_ctx, &P, &o, &s, NULL) == DOPT_ERR_INVALID_ARGUMENT, "negative tol");
    CHECK(dopt_qp_backward(tu_ctx, NULL, NULL, NULL) == DOPT_ERR_INVALID_ARGUMENT, "backward without tape");
    /* empty batch: nothing to do, OK, and backward of it too */
    bad = P;
    bad.batch = 0;
    dopt_qp_tape *tape = NULL;
    dopt_qp_solution empty = {NULL, NULL, NULL, NULL, NULL};
    CHECK(dopt_qp_solve(tu_ctx, &bad, NULL, &empty, &tape) == DOPT_OK, "empty batch");
    dopt_qp_grad_in gi = {NULL, NULL, NULL};
    dopt_qp_grad_out go = {NULL, NULL, NULL, NULL, NULL, NULL};
    CHECK(dopt_qp_backward(tu_ctx, tape, &gi, &go) == DOPT_OK, "backward of an empty batch");
    dopt_qp_tape_destroy(tape);
    /* the gradient of a shared parameter over an empty batch is an empty sum:
     * zero, written (a caller that reuses its buffers must not get the last
     * step's values back) */
    if (!tu_cuda()) {
        double G1[2] = {1, -1}, h1[2] = {1, 1};
        bad.m = 2, bad.G = G1, bad.h = h1;
        bad.shared = DOPT_QP_SHARE_Q | DOPT_QP_SHARE_G | DOPT_QP_SHARE_H;
        tape = NULL;
        CHECK_OK(dopt_qp_solve(tu_ctx, &bad, NULL, &empty, &tape));
        double dQ[1] = {7}, dG[2] = {7, 7}, dh[2] = {7, 7};
        dopt_qp_grad_out gs = {dQ, NULL, dG, dh, NULL, NULL};
        CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gi, &gs));
        CHECK(dQ[0] == 0 && dG[0] == 0 && dG[1] == 0 && dh[0] == 0 && dh[1] == 0,
              "shared gradients of an empty batch are zero: dQ %g dG %g %g dh %g %g", dQ[0], dG[0], dG[1],
              dh[0], dh[1]);
        dopt_qp_tape_destroy(tape);
    }
    /* a tape passed for refilling is released by every failed call, also by
     * one that lacks solution buffers (it leaked: LeakSanitizer in `make
     * sanitize` reports it) */
    if (!tu_cuda()) {
        tape = NULL;
        CHECK_OK(dopt_qp_solve(tu_ctx, &P, NULL, &s, &tape));
        CHECK(tape != NULL, "a tape is recorded");
        CHECK(dopt_qp_solve(tu_ctx, &P, NULL, &nos, &tape) == DOPT_ERR_INVALID_ARGUMENT, "x NULL, tape reused");
        CHECK(tape == NULL, "the failed call hands back no tape");
    }
    dopt_context *c2 = NULL;
    CHECK(dopt_context_create(&c2, (dopt_backend)9) == DOPT_ERR_INVALID_ARGUMENT, "unknown backend");
    dopt_context_destroy(c2);
}

/* 10,000 instances: every 7th infeasible, every 11th with a NaN, every 13th
 * unbounded, the rest random with known solutions. Good instances must match
 * a solve of the good instances alone, bit for bit, and their gradients must
 * be untouched by the bad ones (which get zero gradients). */
static void test_big_mixed_batch(void)
{
    int n = 8, m = 8, k = 2;
    int64_t B = 10000;
    tq_data d = tq_gen(B, n, m, k, DOPT_GEN_STRICTLY_CONVEX, 10, 2024);
    int *kind = (int *)calloc((size_t)B, sizeof(int));
    for (int64_t i = 0; i < B; ++i) {
        if (i % 7 == 3) { /* infeasible: first row says G0 x <= h0 and a second says -G0 x <= -h0 - 1 */
            memcpy(d.G + (i * m + 1) * n, d.G + i * m * n, sizeof(double) * n);
            for (int j = 0; j < n; ++j) d.G[(i * m + 1) * n + j] *= -1;
            d.h[i * m + 1] = -d.h[i * m] - 1;
            kind[i] = DOPT_PRIMAL_INFEASIBLE;
        } else if (i % 11 == 5) {
            d.p[i * n + 2] = NAN;
            kind[i] = DOPT_INVALID_DATA;
        } else if (i % 13 == 6) { /* unbounded LP: Q = 0, no rows, no equalities restricting p */
            memset(d.Q + i * n * n, 0, sizeof(double) * n * n);
            for (int q = 0; q < m; ++q) d.h[i * m + q] = INFINITY;
            memset(d.A + i * k * n, 0, sizeof(double) * k * n);
            memset(d.b + i * k, 0, sizeof(double) * k);
            kind[i] = DOPT_DUAL_INFEASIBLE;
        }
    }
    tq_stage(&d);
    tq_out o = tq_out_alloc(&d);
    dopt_qp_tape *tape = NULL;
    CHECK_OK(tq_solve(&d, NULL, &o, &tape));
    int wrong = 0, firstwrong = -1;
    double worst = 0;
    for (int64_t i = 0; i < B; ++i) {
        if (o.status[i] != kind[i]) {
            if (firstwrong < 0) firstwrong = (int)i;
            ++wrong;
        } else if (kind[i] == DOPT_SOLVED) {
            double e = tq_max_abs_diff((size_t)n, o.x + i * n, d.xs + i * n);
            if (e > worst) worst = e;
        }
    }
    CHECK(wrong == 0, "%d of %lld statuses wrong (first: instance %d, status %d, expected %d)", wrong, (long long)B,
          firstwrong, firstwrong >= 0 ? o.status[firstwrong] : 0, firstwrong >= 0 ? kind[firstwrong] : 0);
    /* lam_min(Q) >= 1/cond = 0.1, and a gap of tol = 1e-8 bounds the
     * distance to the optimum by sqrt(gap / lam_min) = 3.2e-4 */
    CHECK(worst < 3.2e-4, "good instances: worst distance to the known optimum %.3e", worst);
    for (size_t j = 0; j < (size_t)B * n; ++j) CHECK(isfinite(o.x[j]), "x[%zu] not finite", j);

    /* gradients: bad instances give exactly zero, good ones finite */
    double *w = tq_alloc((size_t)B * n), *dp = tq_alloc((size_t)B * n), *dG = tq_alloc((size_t)B * m * n);
    for (size_t j = 0; j < (size_t)B * n; ++j) w[j] = 1;
    void *wd = tu_dev(w, sizeof(double) * B * n);
    void *dpd = tu_dev_out(dp, sizeof(double) * B * n), *dGd = tu_dev_out(dG, sizeof(double) * B * m * n);
    dopt_qp_grad_in gi = {wd, NULL, NULL};
    dopt_qp_grad_out go = {NULL, dpd, dGd, NULL, NULL, NULL};
    CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gi, &go));
    tu_host(dp, dpd, sizeof(double) * B * n);
    tu_host(dG, dGd, sizeof(double) * B * m * n);
    int badgrad = 0;
    for (int64_t i = 0; i < B; ++i)
        for (int j = 0; j < n; ++j) {
            double g = dp[i * n + j];
            if (kind[i] != DOPT_SOLVED ? g != 0 : !isfinite(g)) ++badgrad;
        }
    CHECK(badgrad == 0, "%d gradient entries wrong (bad instances must give 0, good ones finite)", badgrad);

    /* the good instances alone: identical bits */
    int64_t ng = 0;
    for (int64_t i = 0; i < B; ++i) ng += kind[i] == DOPT_SOLVED;
    tq_data g = tq_gen(ng, n, m, k, DOPT_GEN_STRICTLY_CONVEX, 10, 1);
    int64_t c = 0;
    for (int64_t i = 0; i < B; ++i) {
        if (kind[i] != DOPT_SOLVED) continue;
        memcpy(g.Q + c * n * n, d.Q + i * n * n, sizeof(double) * n * n);
        memcpy(g.p + c * n, d.p + i * n, sizeof(double) * n);
        memcpy(g.G + c * m * n, d.G + i * m * n, sizeof(double) * m * n);
        memcpy(g.h + c * m, d.h + i * m, sizeof(double) * m);
        memcpy(g.A + c * k * n, d.A + i * k * n, sizeof(double) * k * n);
        memcpy(g.b + c * k, d.b + i * k, sizeof(double) * k);
        ++c;
    }
    tq_stage(&g);
    tq_out og = tq_out_alloc(&g);
    CHECK_OK(tq_solve(&g, NULL, &og, NULL));
    c = 0;
    int differ = 0;
    for (int64_t i = 0; i < B; ++i) {
        if (kind[i] != DOPT_SOLVED) continue;
        differ += memcmp(o.x + i * n, og.x + c * n, sizeof(double) * n) != 0;
        ++c;
    }
    CHECK(differ == 0, "%d good instances changed because bad ones shared their batch", differ);
    tq_out_free(&og);
    tq_free(&g);
    tu_dev_free(w, wd), tu_dev_free(dp, dpd), tu_dev_free(dG, dGd);
    free(w), free(dp), free(dG), free(kind);
    dopt_qp_tape_destroy(tape);
    tq_out_free(&o);
    tq_free(&d);
}

/* A NaN or Inf in the incoming gradient (dx, dlam or dnu) of an instance,
 * solved or not, makes all of that instance's gradients NaN and leaves the
 * others bitwise unchanged; a shared parameter's batch sum becomes NaN. */
static void test_nonfinite_grad_in(void)
{
    int64_t B = 5;
    int n = 4, m = 3, k = 1;
    tq_data d = tq_gen(B, n, m, k, DOPT_GEN_STRICTLY_CONVEX, 10, 9);
    d.p[4 * n] = NAN; /* instance 4: invalid data (not solved) */
    tq_stage(&d);
    tq_out o = tq_out_alloc(&d);
    dopt_qp_tape *tape = NULL;
    CHECK_OK(tq_solve(&d, NULL, &o, &tape));
    CHECK(o.status[4] == DOPT_INVALID_DATA, "instance 4 should be invalid: %d", o.status[4]);
    size_t lens[6];
    tq_grad_lens(&d, lens);
    double gx[20], glam[15], gnu[5];
    tu_seed(5);
    for (int e = 0; e < 20; ++e) gx[e] = tu_normal();
    for (int e = 0; e < 15; ++e) glam[e] = tu_normal();
    for (int e = 0; e < 5; ++e) gnu[e] = tu_normal();
    double *clean[6], *dirty[6];
    for (int pass = 0; pass < 2; ++pass) {
        double **out = pass ? dirty : clean;
        if (pass) {
            gx[0 * n + 1] = NAN;      /* instance 0: NaN in dx */
            glam[1 * m + 2] = NAN;    /* instance 1: NaN in dlam */
            gnu[2] = INFINITY;        /* instance 2: Inf in dnu */
            gx[4 * n + 0] = NAN;      /* instance 4 (not solved): NaN in dx */
        }
        void *gxd = tu_dev(gx, sizeof gx), *gld = tu_dev(glam, sizeof glam), *gnd = tu_dev(gnu, sizeof gnu);
        void *od[6];
        for (int t = 0; t < 6; ++t) {
            out[t] = tq_alloc(lens[t]);
            od[t] = tu_dev_out(out[t], sizeof(double) * lens[t]);
        }
        dopt_qp_grad_in gi = {gxd, gld, gnd};
        dopt_qp_grad_out go = {od[0], od[1], od[2], od[3], od[4], od[5]};
        CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gi, &go));
        for (int t = 0; t < 6; ++t) tu_host(out[t], od[t], sizeof(double) * lens[t]), tu_dev_free(out[t], od[t]);
        tu_dev_free(gx, gxd), tu_dev_free(glam, gld), tu_dev_free(gnu, gnd);
    }
    const char *names[6] = {"dQ", "dp", "dG", "dh", "dA", "db"};
    for (int t = 0; t < 6; ++t) {
        size_t per = lens[t] / (size_t)B;
        int lost = 0, changed = 0;
        for (int64_t i = 0; i < B; ++i)
            for (size_t e = 0; e < per; ++e) {
                double c = clean[t][i * per + e], v = dirty[t][i * per + e];
                if (i == 3)
                    changed += memcmp(&c, &v, sizeof c) != 0;
                else
                    lost += !isnan(v);
            }
        CHECK(lost == 0, "%s: %d entries of instances with a NaN/Inf incoming gradient are not NaN", names[t], lost);
        CHECK(changed == 0, "%s: %d entries of the clean instance changed", names[t], changed);
        free(clean[t]), free(dirty[t]);
    }
    dopt_qp_tape_destroy(tape);

    /* shared G: the batch sum is NaN (instance 0's G for every instance;
     * the generated h keep them feasible or not, the sum is NaN either way) */
    tq_free(&d);
    d = tq_gen(B, n, m, k, DOPT_GEN_STRICTLY_CONVEX, 10, 9);
    for (int64_t i = 1; i < B; ++i) memcpy(d.G + i * m * n, d.G, sizeof(double) * m * n);
    d.shared = DOPT_QP_SHARE_G;
    tape = NULL;
    tq_stage(&d);
    tq_out o2 = tq_out_alloc(&d);
    CHECK_OK(tq_solve(&d, NULL, &o2, &tape));
    double dG[12], dh[15];
    void *gxd = tu_dev(gx, sizeof gx), *dGd = tu_dev_out(dG, sizeof dG), *dhd = tu_dev_out(dh, sizeof dh);
    dopt_qp_grad_in gi = {gxd, NULL, NULL};
    dopt_qp_grad_out go = {NULL, NULL, dGd, dhd, NULL, NULL};
    CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gi, &go));
    tu_host(dG, dGd, sizeof dG), tu_host(dh, dhd, sizeof dh);
    int finite = 0;
    for (int e = 0; e < 12; ++e) finite += !isnan(dG[e]);
    CHECK(finite == 0, "shared dG: %d entries finite despite a NaN dx", finite);
    tu_dev_free(gx, gxd), tu_dev_free(dG, dGd), tu_dev_free(dh, dhd);
    dopt_qp_tape_destroy(tape);
    tq_out_free(&o2);
    tq_out_free(&o);
    tq_free(&d);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    test_statuses();
    test_call_errors();
    test_big_mixed_batch();
    test_nonfinite_grad_in();
    return tu_finish("test_qp_bad");
}
