/* The QP layer's closest-feasible mode (infeasible_mode =
 * DOPT_QP_INFEASIBLE_CLOSEST): a hand-solved instance; random infeasible
 * instances checked against the optimality conditions that characterize
 * the closest-feasible solution (independently of how it was computed);
 * feasible instances of a mixed batch bitwise as without the mode;
 * gradients against central differences; shared parameters; float32;
 * bad options. */
#include "test_util.h"

typedef struct {
    int64_t B;
    int n, m, k;
    uint32_t shared;
    double *Q, *p, *G, *h, *A, *b; /* host */
} inst;

typedef struct {
    double *x, *lam, *nu;
    int32_t *status, *iters;
} result;

static size_t count_of(const inst *P, uint32_t bit, size_t per) { return (P->shared & bit) ? per : (size_t)P->B * per; }

static void result_alloc(result *r, const inst *P)
{
    r->x = (double *)calloc((size_t)P->B * P->n + 1, sizeof(double));
    r->lam = (double *)calloc((size_t)P->B * P->m + 1, sizeof(double));
    r->nu = (double *)calloc((size_t)P->B * P->k + 1, sizeof(double));
    r->status = (int32_t *)calloc((size_t)P->B + 1, sizeof(int32_t));
    r->iters = (int32_t *)calloc((size_t)P->B + 1, sizeof(int32_t));
}

static void result_free(result *r)
{
    free(r->x);
    free(r->lam);
    free(r->nu);
    free(r->status);
    free(r->iters);
}

/* Device copies of an instance set's data (the host arrays on the CPU). */
typedef struct {
    void *Q, *p, *G, *h, *A, *b;
} dev_data;

static dev_data upload(const inst *P)
{
    size_t n = (size_t)P->n, m = (size_t)P->m, k = (size_t)P->k, d = sizeof(double);
    dev_data D;
    D.Q = tu_dev(P->Q, d * count_of(P, DOPT_QP_SHARE_Q, n * n));
    D.p = tu_dev(P->p, d * count_of(P, DOPT_QP_SHARE_P, n));
    D.G = m ? tu_dev(P->G, d * count_of(P, DOPT_QP_SHARE_G, m * n)) : NULL;
    D.h = m ? tu_dev(P->h, d * count_of(P, DOPT_QP_SHARE_H, m)) : NULL;
    D.A = k ? tu_dev(P->A, d * count_of(P, DOPT_QP_SHARE_A, k * n)) : NULL;
    D.b = k ? tu_dev(P->b, d * count_of(P, DOPT_QP_SHARE_B, k)) : NULL;
    return D;
}

static void release(const inst *P, dev_data *D)
{
    tu_dev_free(P->Q, D->Q);
    tu_dev_free(P->p, D->p);
    tu_dev_free(P->G, D->G);
    tu_dev_free(P->h, D->h);
    tu_dev_free(P->A, D->A);
    tu_dev_free(P->b, D->b);
}

/* Solves in float64 with the given mode (and tol; 0 = default); tape optional. */
static dopt_status solve(const inst *P, const dev_data *D, int mode, double tol, result *r, dopt_qp_tape **tape)
{
    dopt_qp_problem prob = {P->B, P->n, P->m, P->k, DOPT_FLOAT64, D->Q, D->p, D->G, D->h, D->A, D->b, P->shared};
    dopt_qp_options opt;
    dopt_qp_options_default(&opt, DOPT_FLOAT64);
    opt.infeasible_mode = mode;
    if (tol > 0) opt.tol = tol;
    size_t d = sizeof(double);
    dopt_qp_solution sol;
    sol.x = tu_dev_out(r->x, d * (size_t)P->B * P->n);
    sol.lam = P->m ? tu_dev_out(r->lam, d * (size_t)P->B * P->m) : NULL;
    sol.nu = P->k ? tu_dev_out(r->nu, d * (size_t)P->B * P->k) : NULL;
    sol.status = (int32_t *)tu_dev_out(r->status, 4 * (size_t)P->B);
    sol.iters = (int32_t *)tu_dev_out(r->iters, 4 * (size_t)P->B);
    dopt_status st = dopt_qp_solve(tu_ctx, &prob, &opt, &sol, tape);
    tu_host(r->x, sol.x, d * (size_t)P->B * P->n);
    tu_host(r->lam, sol.lam, d * (size_t)P->B * P->m);
    tu_host(r->nu, sol.nu, d * (size_t)P->B * P->k);
    tu_host(r->status, sol.status, 4 * (size_t)P->B);
    tu_host(r->iters, sol.iters, 4 * (size_t)P->B);
    tu_dev_free(r->x, sol.x);
    tu_dev_free(r->lam, sol.lam);
    tu_dev_free(r->nu, sol.nu);
    tu_dev_free(r->status, sol.status);
    tu_dev_free(r->iters, sol.iters);
    return st;
}

static const double *slice(const double *a, const inst *P, uint32_t bit, int64_t i, size_t per)
{
    return (P->shared & bit) ? a : a + (size_t)i * per;
}

/* The conditions that make x the closest-feasible solution, whatever
 * computed it: (1) x minimizes phi(x) = 1/2||(Gx - h)_+||^2 + 1/2||Ax - b||^2
 * (phi is convex: grad phi(x) = G't + A'r = 0 with t = (Gx - h)_+, r = Ax - b
 * suffices), so (t, r) is the least-norm shift and x is feasible for the
 * shifted problem; (2) lam >= 0, nu are KKT multipliers of the shifted
 * problem at x: Qx + p + G'lam + A'nu = 0, lam_i (G_i x - h_i - t_i) = 0.
 * Returns the largest violation. */
static double closest_violation(const inst *P, int64_t i, const double *x, const double *lam, const double *nu)
{
    int n = P->n, m = P->m, k = P->k;
    const double *Q = slice(P->Q, P, DOPT_QP_SHARE_Q, i, (size_t)n * n), *p = slice(P->p, P, DOPT_QP_SHARE_P, i, n);
    const double *G = m ? slice(P->G, P, DOPT_QP_SHARE_G, i, (size_t)m * n) : NULL;
    const double *h = m ? slice(P->h, P, DOPT_QP_SHARE_H, i, m) : NULL;
    const double *A = k ? slice(P->A, P, DOPT_QP_SHARE_A, i, (size_t)k * n) : NULL;
    const double *b = k ? slice(P->b, P, DOPT_QP_SHARE_B, i, k) : NULL;
    double worst = 0, gphi[64], stat[64], t[64], r[64];
    for (int j = 0; j < n; ++j) {
        gphi[j] = 0;
        stat[j] = p[j];
        for (int e = 0; e < n; ++e) stat[j] += Q[(size_t)j * n + e] * x[e];
    }
    for (int row = 0; row < m; ++row) {
        double gx = 0;
        for (int e = 0; e < n; ++e) gx += G[(size_t)row * n + e] * x[e];
        t[row] = gx > h[row] ? gx - h[row] : 0;
        for (int e = 0; e < n; ++e) {
            gphi[e] += G[(size_t)row * n + e] * t[row];
            stat[e] += G[(size_t)row * n + e] * lam[row];
        }
        double comp = fabs(lam[row] * (gx - h[row] - t[row]));
        if (comp > worst) worst = comp;
        if (-lam[row] > worst) worst = -lam[row];
    }
    for (int row = 0; row < k; ++row) {
        double ax = 0;
        for (int e = 0; e < n; ++e) ax += A[(size_t)row * n + e] * x[e];
        r[row] = ax - b[row];
        for (int e = 0; e < n; ++e) {
            gphi[e] += A[(size_t)row * n + e] * r[row];
            stat[e] += A[(size_t)row * n + e] * nu[row];
        }
    }
    for (int j = 0; j < n; ++j) {
        if (fabs(gphi[j]) > worst) worst = fabs(gphi[j]);
        if (fabs(stat[j]) > worst) worst = fabs(stat[j]);
    }
    return worst;
}

/* x1 <= 0 and x1 >= 1 in R^2, Q = I, p = (0, -1): the least shift moves both
 * bounds by 1/2, the closest feasible set is {x1 = 1/2}, x = (1/2, 1). */
static void test_hand_solved(void)
{
    double Q[] = {1, 0, 0, 1}, p[] = {0, -1}, G[] = {1, 0, -1, 0}, h[] = {0, -1};
    inst P = {1, 2, 2, 0, 0, Q, p, G, h, NULL, NULL};
    dev_data D = upload(&P);
    result r;
    result_alloc(&r, &P);
    CHECK_OK(solve(&P, &D, DOPT_QP_INFEASIBLE_REPORT, 0, &r, NULL));
    CHECK(r.status[0] == DOPT_PRIMAL_INFEASIBLE, "without the mode: status %d", r.status[0]);
    CHECK_OK(solve(&P, &D, DOPT_QP_INFEASIBLE_CLOSEST, 0, &r, NULL));
    CHECK(r.status[0] == DOPT_SOLVED_CLOSEST_FEASIBLE, "status %d", r.status[0]);
    CHECK(fabs(r.x[0] - 0.5) < 1e-7 && fabs(r.x[1] - 1) < 1e-7, "x = (%.10g, %.10g), want (0.5, 1)", r.x[0], r.x[1]);
    CHECK(r.lam[0] >= 0 && r.lam[1] >= 0, "lam = (%g, %g) must be >= 0", r.lam[0], r.lam[1]);
    CHECK(closest_violation(&P, 0, r.x, r.lam, r.nu) < 1e-7, "KKT violation %g",
          closest_violation(&P, 0, r.x, r.lam, r.nu));
    CHECK(strcmp(dopt_instance_status_string(DOPT_SOLVED_CLOSEST_FEASIBLE), "unknown") != 0, "status 7 has a name");
    result_free(&r);
    release(&P, &D);
}

/* Random instance i of a mixed batch: n = 5, m = 8, k = 2; odd instances
 * infeasible (the last row contradicts the sum of the first three: G_7 =
 * -(G_0 + G_1 + G_2), h_7 = -(h_0 + h_1 + h_2) - 1), even ones feasible
 * (h > 0, x = 0 satisfies Gx <= h; b = A x0). */
static void fill_random(inst *P, uint64_t seed)
{
    int n = P->n, m = P->m, k = P->k;
    tu_seed(seed);
    for (int64_t i = 0; i < P->B; ++i) {
        double *Q = P->Q + (P->shared & DOPT_QP_SHARE_Q ? 0 : (size_t)i * n * n);
        if (i == 0 || !(P->shared & DOPT_QP_SHARE_Q)) {
            double M[25];
            for (int e = 0; e < n * n; ++e) M[e] = tu_normal();
            for (int a = 0; a < n; ++a)
                for (int c = 0; c < n; ++c) {
                    double s = a == c ? 0.1 : 0;
                    for (int e = 0; e < n; ++e) s += M[a * n + e] * M[c * n + e] / n;
                    Q[a * n + c] = s;
                }
        }
        double *p = P->p + (size_t)i * n, *G = P->G + (size_t)i * m * n, *h = P->h + (size_t)i * m;
        double *A = P->A + (size_t)i * k * n, *b = P->b + (size_t)i * k;
        for (int j = 0; j < n; ++j) p[j] = tu_normal();
        for (int e = 0; e < m * n; ++e) G[e] = tu_normal();
        for (int row = 0; row < m; ++row) h[row] = 0.1 + tu_unif();
        double x0[5];
        for (int j = 0; j < n; ++j) x0[j] = 0.01 * tu_normal();
        for (int e = 0; e < k * n; ++e) A[e] = tu_normal();
        for (int row = 0; row < k; ++row) {
            b[row] = 0;
            for (int j = 0; j < n; ++j) b[row] += A[row * n + j] * x0[j];
        }
        if (i % 2) {
            for (int j = 0; j < n; ++j) G[(m - 1) * n + j] = -(G[j] + G[n + j] + G[2 * n + j]);
            h[m - 1] = -(h[0] + h[1] + h[2]) - 1;
            if (i % 4 == 3)
                for (int row = 0; row < k; ++row) b[row] += 0.5 * tu_normal(); /* moved equalities too */
        }
    }
}

static void test_mixed_batch(uint32_t share_q)
{
    int64_t B = 12;
    int n = 5, m = 8, k = 2;
    inst P = {B, n, m, k, share_q, NULL, NULL, NULL, NULL, NULL, NULL};
    P.Q = (double *)calloc((size_t)B * n * n, sizeof(double));
    P.p = (double *)calloc((size_t)B * n, sizeof(double));
    P.G = (double *)calloc((size_t)B * m * n, sizeof(double));
    P.h = (double *)calloc((size_t)B * m, sizeof(double));
    P.A = (double *)calloc((size_t)B * k * n, sizeof(double));
    P.b = (double *)calloc((size_t)B * k, sizeof(double));
    fill_random(&P, 11 + share_q);
    dev_data D = upload(&P);
    result plain, closest;
    result_alloc(&plain, &P);
    result_alloc(&closest, &P);
    CHECK_OK(solve(&P, &D, DOPT_QP_INFEASIBLE_REPORT, 0, &plain, NULL));
    CHECK_OK(solve(&P, &D, DOPT_QP_INFEASIBLE_CLOSEST, 0, &closest, NULL));
    for (int64_t i = 0; i < B; ++i) {
        if (i % 2 == 0) {
            CHECK(plain.status[i] == DOPT_SOLVED, "feasible instance %lld: status %d", (long long)i, plain.status[i]);
            int same = !memcmp(plain.x + i * n, closest.x + i * n, sizeof(double) * n) &&
                       !memcmp(plain.lam + i * m, closest.lam + i * m, sizeof(double) * m) &&
                       !memcmp(plain.nu + i * k, closest.nu + i * k, sizeof(double) * k) &&
                       plain.status[i] == closest.status[i] && plain.iters[i] == closest.iters[i];
            CHECK(same, "feasible instance %lld changed by the mode", (long long)i);
            continue;
        }
        CHECK(plain.status[i] == DOPT_PRIMAL_INFEASIBLE, "instance %lld: status %d", (long long)i, plain.status[i]);
        CHECK(closest.status[i] == DOPT_SOLVED_CLOSEST_FEASIBLE, "instance %lld: status %d", (long long)i,
              closest.status[i]);
        CHECK(closest.iters[i] > plain.iters[i], "instance %lld: iterations of all three solves", (long long)i);
        /* bound: the phase-1 and shifted solves meet relative residuals 1e-10 and 1e-8 on data of size ~1-5 */
        double v = closest_violation(&P, i, closest.x + i * n, closest.lam + i * m, closest.nu + i * k);
        CHECK(v < 1e-6, "instance %lld: closest-feasible optimality violated by %g", (long long)i, v);
    }
    result_free(&plain);
    result_free(&closest);
    release(&P, &D);
    free(P.Q), free(P.p), free(P.G), free(P.h), free(P.A), free(P.b);
}

/* w'x as a function of the data, for central differences */
static double objective(const inst *P, const double *w)
{
    dev_data D = upload(P);
    result r;
    result_alloc(&r, P);
    dopt_status st = solve(P, &D, DOPT_QP_INFEASIBLE_CLOSEST, 1e-12, &r, NULL);
    double s = 0;
    for (size_t e = 0; e < (size_t)P->B * P->n; ++e) s += w[e] * r.x[e];
    CHECK(st == DOPT_OK, "perturbed solve failed");
    result_free(&r);
    release(P, &D);
    return s;
}

/* Backward against central differences of w'x. which: bit set of the
 * parameters checked (DOPT_QP_SHARE_* bits as names). */
static void check_gradients(inst *P, uint32_t which, const char *label)
{
    int n = P->n, m = P->m, k = P->k;
    int64_t B = P->B;
    double *w = (double *)malloc(sizeof(double) * (size_t)B * n);
    tu_seed(99);
    for (size_t e = 0; e < (size_t)B * n; ++e) w[e] = tu_normal();
    dev_data D = upload(P);
    result r;
    result_alloc(&r, P);
    dopt_qp_tape *tape = NULL;
    CHECK_OK(solve(P, &D, DOPT_QP_INFEASIBLE_CLOSEST, 1e-12, &r, &tape));
    size_t d = sizeof(double);
    double *params[6] = {P->Q, P->p, P->G, P->h, P->A, P->b};
    size_t per[6] = {(size_t)n * n, (size_t)n, (size_t)m * n, (size_t)m, (size_t)k * n, (size_t)k};
    uint32_t bits[6] = {DOPT_QP_SHARE_Q, DOPT_QP_SHARE_P, DOPT_QP_SHARE_G,
                        DOPT_QP_SHARE_H, DOPT_QP_SHARE_A, DOPT_QP_SHARE_B};
    const char *names[6] = {"Q", "p", "G", "h", "A", "b"};
    double *grad[6];
    void *dgrad[6];
    for (int q = 0; q < 6; ++q) {
        size_t len = count_of(P, bits[q], per[q]);
        grad[q] = (double *)calloc(len + 1, d);
        dgrad[q] = per[q] ? tu_dev_out(grad[q], d * len) : NULL;
    }
    void *dw = tu_dev(w, d * (size_t)B * n);
    dopt_qp_grad_in gin = {dw, NULL, NULL};
    dopt_qp_grad_out gout = {dgrad[0], dgrad[1], dgrad[2], dgrad[3], dgrad[4], dgrad[5]};
    CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gin, &gout));
    for (int q = 0; q < 6; ++q) {
        size_t len = count_of(P, bits[q], per[q]);
        if (per[q]) tu_host(grad[q], dgrad[q], d * len);
        if (!(which & bits[q]) || !per[q]) continue;
        double worst = 0, scale = 1;
        for (size_t e = 0; e < len; ++e) {
            double keep = params[q][e], eps = 1e-6;
            params[q][e] = keep + eps;
            double up = objective(P, w);
            params[q][e] = keep - eps;
            double down = objective(P, w);
            params[q][e] = keep;
            double num = (up - down) / (2 * eps);
            if (fabs(num) > scale) scale = fabs(num);
            if (fabs(num - grad[q][e]) > worst) worst = fabs(num - grad[q][e]);
        }
        /* bound: solves to tol 1e-12 (phase 1 to 1e-13) leave noise ~1e-12 / eps =
         * 1e-6 in the difference quotient at worst; measured ~1e-10 */
        CHECK(worst <= 2e-6 * scale, "%s: d%s off central differences by %g", label, names[q], worst);
    }
    for (int q = 0; q < 6; ++q) {
        tu_dev_free(grad[q], dgrad[q]);
        free(grad[q]);
    }
    tu_dev_free(w, dw);
    dopt_qp_tape_destroy(tape);
    result_free(&r);
    release(P, &D);
    free(w);
}

static void test_gradients(void)
{
    /* Where the infeasibility is robust (n + 1 rows in general position) x is
     * differentiable in every parameter: a triangle x1 >= 1, x2 >= 1.2,
     * x1 + 1.1 x2 <= 1 in R^2 plus an inactive row, and a pair of inequalities
     * crossing an equality; between them a feasible instance (mixed batch). */
    double Q[] = {1, 0.2, 0.2, 2, 1, 0, 0, 1, 2, 0, 0, 1};
    double p[] = {0.3, -0.2, 0.1, 0.4, -0.5, 0.2};
    double G[] = {-1, 0, 0, -1, 1, 1.1, 0.2, 1, /* triangle */
                  1, 0, 0, 1, -1, 0, 0, -1,       /* a box: feasible */
                  -1, 0.1, 0.3, -1, 0, 0, 0, 0};   /* two rows, with A below */
    double h[] = {-1, -1.2, 1, 10, 1, 1, 1, 1, -1, -1, INFINITY, INFINITY};
    double A[] = {0, 0, 0, 0, 1, 1.2}, b[] = {0, 0, 0.5};
    /* the first two instances have no real equality: A = 0, b = 0 is the zero row */
    inst P = {3, 2, 4, 1, 0, Q, p, G, h, A, b};
    check_gradients(&P, 0x3F, "robust");

    /* x1 <= 0, x1 >= 1 in R^3 with an equality: infeasible, but tilting G
     * makes it feasible, so x is differentiable in Q, p, h, b only */
    double Q3[] = {2, 0.3, 0.1, 0.3, 1.5, -0.2, 0.1, -0.2, 1};
    double p3[] = {0.5, -1, 0.25}, G3[] = {1, 0, 0, -1, 0, 0, 0, 1, 1}, h3[] = {0, -1, 5};
    double A3[] = {0.3, 1, -0.4}, b3[] = {0.7};
    inst P3 = {1, 3, 3, 1, 0, Q3, p3, G3, h3, A3, b3};
    check_gradients(&P3, DOPT_QP_SHARE_Q | DOPT_QP_SHARE_P | DOPT_QP_SHARE_H | DOPT_QP_SHARE_B, "not robust");
}

/* Shared G, h: the gradient is the sum of the per-instance ones. */
static void test_shared(void)
{
    double Q[] = {1, 0, 0, 1}, p[] = {0.3, -0.2, -0.1, 0.6};
    double G[] = {-1, 0, 0, -1, 1, 1.1, 0.2, 1}, h[] = {-1, -1.2, 1, 10};
    double G2[16], h2[8];
    memcpy(G2, G, sizeof G), memcpy(G2 + 8, G, sizeof G);
    memcpy(h2, h, sizeof h), memcpy(h2 + 4, h, sizeof h);
    inst S = {2, 2, 4, 0, DOPT_QP_SHARE_Q | DOPT_QP_SHARE_G | DOPT_QP_SHARE_H, Q, p, G, h, NULL, NULL};
    double Q2[8];
    memcpy(Q2, Q, sizeof Q), memcpy(Q2 + 4, Q, sizeof Q);
    inst U = {2, 2, 4, 0, 0, Q2, p, G2, h2, NULL, NULL};
    double dx[] = {1, -2, 0.5, 0.25};
    double gS[3][16], gU[3][16];
    inst *sets[2] = {&S, &U};
    for (int v = 0; v < 2; ++v) {
        inst *P = sets[v];
        dev_data D = upload(P);
        result r;
        result_alloc(&r, P);
        dopt_qp_tape *tape = NULL;
        CHECK_OK(solve(P, &D, DOPT_QP_INFEASIBLE_CLOSEST, 0, &r, &tape));
        CHECK(r.status[0] == DOPT_SOLVED_CLOSEST_FEASIBLE && r.status[1] == DOPT_SOLVED_CLOSEST_FEASIBLE,
              "shared=%d: statuses %d %d", v == 0, r.status[0], r.status[1]);
        double(*g)[16] = v == 0 ? gS : gU;
        size_t lens[3] = {count_of(P, DOPT_QP_SHARE_Q, 4), count_of(P, DOPT_QP_SHARE_G, 8),
                          count_of(P, DOPT_QP_SHARE_H, 4)};
        void *dg[3];
        for (int q = 0; q < 3; ++q) dg[q] = tu_dev_out(g[q], sizeof(double) * lens[q]);
        void *ddx = tu_dev(dx, sizeof dx);
        dopt_qp_grad_in gin = {ddx, NULL, NULL};
        dopt_qp_grad_out gout = {dg[0], NULL, dg[1], dg[2], NULL, NULL};
        CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gin, &gout));
        for (int q = 0; q < 3; ++q) {
            tu_host(g[q], dg[q], sizeof(double) * lens[q]);
            tu_dev_free(g[q], dg[q]);
        }
        tu_dev_free(dx, ddx);
        dopt_qp_tape_destroy(tape);
        result_free(&r);
        release(P, &D);
    }
    double worst = 0;
    for (int e = 0; e < 4; ++e) worst = fmax(worst, fabs(gS[0][e] - (gU[0][e] + gU[0][4 + e])));
    for (int e = 0; e < 8; ++e) worst = fmax(worst, fabs(gS[1][e] - (gU[1][e] + gU[1][8 + e])));
    for (int e = 0; e < 4; ++e) worst = fmax(worst, fabs(gS[2][e] - (gU[2][e] + gU[2][4 + e])));
    CHECK(worst < 1e-9, "shared gradients differ from the summed per-instance ones by %g", worst);
}

/* float32: the hand-solved instance to float accuracy. */
static void test_float32(void)
{
    float Q[] = {1, 0, 0, 1}, p[] = {0, -1}, G[] = {1, 0, -1, 0}, h[] = {0, -1};
    float x[2] = {0}, lam[2] = {0};
    int32_t status = -1, iters = 0;
    void *dQ = tu_dev(Q, sizeof Q), *dp = tu_dev(p, sizeof p), *dG = tu_dev(G, sizeof G), *dh = tu_dev(h, sizeof h);
    dopt_qp_problem prob = {1, 2, 2, 0, DOPT_FLOAT32, dQ, dp, dG, dh, NULL, NULL, 0};
    dopt_qp_options opt;
    dopt_qp_options_default(&opt, DOPT_FLOAT32);
    opt.infeasible_mode = DOPT_QP_INFEASIBLE_CLOSEST;
    dopt_qp_solution sol = {tu_dev_out(x, sizeof x), tu_dev_out(lam, sizeof lam), NULL,
                            (int32_t *)tu_dev_out(&status, 4), (int32_t *)tu_dev_out(&iters, 4)};
    CHECK_OK(dopt_qp_solve(tu_ctx, &prob, &opt, &sol, NULL));
    tu_host(x, sol.x, sizeof x);
    tu_host(&status, sol.status, 4);
    CHECK(status == DOPT_SOLVED_CLOSEST_FEASIBLE, "float32 status %d", status);
    CHECK(fabsf(x[0] - 0.5f) < 1e-4f && fabsf(x[1] - 1) < 1e-4f, "float32 x = (%g, %g)", x[0], x[1]);
    tu_dev_free(x, sol.x), tu_dev_free(lam, sol.lam), tu_dev_free(&status, sol.status);
    tu_dev_free(&iters, sol.iters);
    tu_dev_free(Q, dQ), tu_dev_free(p, dp), tu_dev_free(G, dG), tu_dev_free(h, dh);
}

static void test_bad_options(void)
{
    double Q[] = {1, 0, 0, 1}, p[] = {0, -1}, G[] = {1, 0, -1, 0}, h[] = {0, -1};
    inst P = {1, 2, 2, 0, 0, Q, p, G, h, NULL, NULL};
    dev_data D = upload(&P);
    result r;
    result_alloc(&r, &P);
    dopt_status st = solve(&P, &D, 2, 0, &r, NULL);
    CHECK(st == DOPT_ERR_INVALID_ARGUMENT && strstr(dopt_context_last_error(tu_ctx), "infeasible_mode"),
          "mode 2: %s (%s)", dopt_status_string(st), dopt_context_last_error(tu_ctx));
    /* ragged batches refuse the mode */
    int32_t nn = 2, mm = 2;
    dopt_qp_ragged_problem rp = {1, &nn, &mm, NULL, DOPT_FLOAT64, D.Q, D.p, D.G, D.h, NULL, NULL};
    dopt_qp_options opt;
    dopt_qp_options_default(&opt, DOPT_FLOAT64);
    opt.infeasible_mode = DOPT_QP_INFEASIBLE_CLOSEST;
    void *x = tu_dev_out(r.x, 16), *lam = tu_dev_out(r.lam, 16), *status = tu_dev_out(r.status, 4);
    dopt_qp_solution sol = {x, lam, NULL, (int32_t *)status, NULL};
    st = dopt_qp_ragged_solve(tu_ctx, &rp, &opt, &sol, NULL);
    CHECK(st == DOPT_ERR_INVALID_ARGUMENT && strstr(dopt_context_last_error(tu_ctx), "uniform"),
          "ragged: %s (%s)", dopt_status_string(st), dopt_context_last_error(tu_ctx));
    tu_dev_free(r.x, x), tu_dev_free(r.lam, lam), tu_dev_free(r.status, status);
    /* a tape refilled without the mode forgets the closest-feasible part */
    dopt_qp_tape *tape = NULL;
    CHECK_OK(solve(&P, &D, DOPT_QP_INFEASIBLE_CLOSEST, 0, &r, &tape));
    CHECK_OK(solve(&P, &D, DOPT_QP_INFEASIBLE_REPORT, 0, &r, &tape));
    double dx[2] = {1, 1}, dp[2] = {7, 7};
    void *ddx = tu_dev(dx, sizeof dx), *ddp = tu_dev_out(dp, sizeof dp);
    dopt_qp_grad_in gin = {ddx, NULL, NULL};
    dopt_qp_grad_out gout = {NULL, ddp, NULL, NULL, NULL, NULL};
    CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gin, &gout));
    tu_host(dp, ddp, sizeof dp);
    CHECK(dp[0] == 0 && dp[1] == 0, "an infeasible instance without the mode contributes zero (%g %g)", dp[0], dp[1]);
    tu_dev_free(dx, ddx), tu_dev_free(dp, ddp);
    dopt_qp_tape_destroy(tape);
    result_free(&r);
    release(&P, &D);
}

/* Phase 1 is a dense QP in n + m + k variables: beyond the dense layer's n
 * limit (4096) the mode fails at once, with a message naming that limit
 * (not after building an (n + m + k)^2 matrix, with a message about sizes
 * the caller never gave) */
static void test_phase1_too_large(void)
{
    int n = 2, m = 4095;
    double Q[4] = {1, 0, 0, 1}, p[2] = {0, 0};
    double *G = (double *)calloc((size_t)m * n, sizeof(double)), *h = (double *)malloc(sizeof(double) * (size_t)m);
    for (int r = 0; r < m; ++r) h[r] = INFINITY;
    G[0] = 1, h[0] = -1;  /* x0 <= -1 */
    G[2] = -1, h[1] = -1; /* x0 >= 1 */
    inst P = {1, n, m, 0, 0, Q, p, G, h, NULL, NULL};
    dev_data D = upload(&P);
    result r;
    result_alloc(&r, &P);
    dopt_status st = solve(&P, &D, DOPT_QP_INFEASIBLE_CLOSEST, 0, &r, NULL);
    CHECK(st == DOPT_ERR_INVALID_ARGUMENT && strstr(dopt_context_last_error(tu_ctx), "n + m + k"),
          "phase 1 too large: %s (%s)", dopt_status_string(st), dopt_context_last_error(tu_ctx));
    /* the same batch without the mode: its certificate, as always */
    CHECK_OK(solve(&P, &D, DOPT_QP_INFEASIBLE_REPORT, 0, &r, NULL));
    CHECK(r.status[0] == DOPT_PRIMAL_INFEASIBLE, "REPORT: status %d", r.status[0]);
    result_free(&r);
    release(&P, &D);
    free(G);
    free(h);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    test_hand_solved();
    test_mixed_batch(0);
    test_mixed_batch(DOPT_QP_SHARE_Q);
    test_gradients();
    test_shared();
    test_float32();
    test_bad_options();
    test_phase1_too_large();
    return tu_finish("test_qp_closest");
}
