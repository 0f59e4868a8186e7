/* Bernoulli surrogate: the generator's known answers, the unbiased and
 * REINFORCE estimators against exact enumeration within Monte-Carlo error
 * bars, the published DiffILO estimator against the critique's closed forms
 * (1-D bias, 2-D non-zero curl), determinism across thread counts, CSR vs
 * dense, bad input, and round-and-repair. */
#include "philox.h"
#include "test_util.h"
#include "cpu_compare.h"

/* ---- helpers ---------------------------------------------------------------- */

typedef struct {
    int64_t B;
    int n, m;
    double *A, *b, *c, *xhat; /* dense per instance */
} bprob;

static bprob bgen(int64_t B, int n, int m, uint64_t seed, int with_c)
{
    bprob p = {B, n, m, calloc((size_t)B * m * n + 1, 8), calloc((size_t)B * m + 1, 8),
               with_c ? calloc((size_t)B * n, 8) : NULL, calloc((size_t)B * n, 8)};
    tu_seed(seed);
    for (int64_t i = 0; i < B; ++i) {
        for (int r = 0; r < m; ++r) {
            double rowsum = 0;
            for (int j = 0; j < n; ++j) {
                double u = tu_unif();
                double a = u < 0.35 ? 0 : floor(7 * tu_unif()) - 2; /* integers in [-2, 4], sparse */
                p.A[(i * m + r) * n + j] = a;
                rowsum += a > 0 ? a : 0;
            }
            p.b[i * m + r] = floor(rowsum * tu_unif());
        }
        for (int j = 0; j < n; ++j) {
            p.xhat[i * n + j] = 0.1 + 0.8 * tu_unif();
            if (with_c) p.c[i * n + j] = tu_normal();
        }
    }
    return p;
}

static void bfree(bprob *p)
{
    free(p->A), free(p->b), free(p->c), free(p->xhat);
}

typedef struct {
    double *loss, *grad, *lse, *gse;
    int32_t *st;
} bout;

static bout bout_alloc(const bprob *p)
{
    bout o = {calloc((size_t)p->B, 8), calloc((size_t)p->B * p->n, 8), calloc((size_t)p->B, 8),
              calloc((size_t)p->B * p->n, 8), calloc((size_t)p->B, 4)};
    return o;
}

static void bout_free(bout *o) { free(o->loss), free(o->grad), free(o->lse), free(o->gse), free(o->st); }

static dopt_status beval(const bprob *p, dopt_bern_estimator est, int K, uint64_t seed, double mu, bout *o)
{
    size_t B = (size_t)p->B, n = p->n, m = p->m;
    void *A = tu_dev(p->A, 8 * B * m * n), *b = tu_dev(p->b, 8 * B * m), *c = tu_dev(p->c, 8 * B * n),
         *x = tu_dev(p->xhat, 8 * B * n);
    dopt_bern_problem P = {p->B, p->n, p->m, DOPT_FLOAT64, A, NULL, NULL, NULL, b, c, 0};
    dopt_bern_options opt = {est, K, seed, mu, 0};
    dopt_bern_result r = {tu_dev_out(o->loss, 8 * B), tu_dev_out(o->grad, 8 * B * n), tu_dev_out(o->lse, 8 * B),
                          tu_dev_out(o->gse, 8 * B * n), (int32_t *)tu_dev_out(o->st, 4 * B)};
    dopt_status s = dopt_bern_eval(tu_ctx, &P, x, &opt, &r);
    tu_host(o->loss, r.loss, 8 * B), tu_host(o->grad, r.grad, 8 * B * n), tu_host(o->lse, r.loss_se, 8 * B);
    tu_host(o->gse, r.grad_se, 8 * B * n), tu_host(o->st, r.status, 4 * B);
    tu_dev_free(o->loss, r.loss), tu_dev_free(o->grad, r.grad), tu_dev_free(o->lse, r.loss_se);
    tu_dev_free(o->gse, r.grad_se), tu_dev_free(o->st, r.status);
    tu_dev_free(p->A, A), tu_dev_free(p->b, b), tu_dev_free(p->c, c), tu_dev_free(p->xhat, x);
    return s;
}

/* the critique's f_1 (closed form, checked against quadrature in docs) */
static double f1(double x) { return x * (1 - x) / ((2 * x - 1) * (2 * x - 1)) * (log(2 - 2 * x) + 2 * x - 1); }
static double f1p(double x) { return (f1(x + 1e-5) - f1(x - 1e-5)) / 2e-5; }

/* ---- tests --------------------------------------------------------------------- */

static void test_philox_known_answers(void)
{
    /* Random123's known-answer vectors for Philox4x32-10 */
    dopt_philox4 c0 = {{0, 0, 0, 0}};
    dopt_philox4 r = dopt_philox4x32_10(c0, 0);
    CHECK(r.v[0] == 0x6627e8d5u && r.v[1] == 0xe169c58du && r.v[2] == 0xbc57ac4cu && r.v[3] == 0x9b00dbd8u,
          "philox(0, 0)");
    dopt_philox4 c1 = {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}};
    r = dopt_philox4x32_10(c1, 0xffffffffffffffffull);
    CHECK(r.v[0] == 0x408f276du && r.v[1] == 0x41c83b0eu && r.v[2] == 0xa20bc7c6u && r.v[3] == 0x6d5451fdu,
          "philox(ones, ones)");
    dopt_philox4 c2 = {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
    r = dopt_philox4x32_10(c2, ((uint64_t)0x299f31d0u << 32) | 0xa4093822u);
    CHECK(r.v[0] == 0xd16cfe09u && r.v[1] == 0x94fdccebu && r.v[2] == 0x5001e420u && r.v[3] == 0x24126ea1u,
          "philox(pi)");
}

/* The exact reference's gradient against central differences of its loss. */
static void test_exact_reference(void)
{
    bprob p = bgen(20, 6, 3, 5, 1);
    bout o = bout_alloc(&p);
    CHECK_OK(beval(&p, DOPT_BERN_EXACT, 1, 0, 2.0, &o));
    double worst = 0;
    for (int64_t i = 0; i < p.B; ++i)
        for (int j = 0; j < p.n; ++j) {
            double s = p.xhat[i * p.n + j], L[2];
            for (int d = 0; d < 2; ++d) {
                p.xhat[i * p.n + j] = s + (d ? -1e-6 : 1e-6);
                bout t = bout_alloc(&p);
                beval(&p, DOPT_BERN_EXACT, 1, 0, 2.0, &t);
                L[d] = t.loss[i];
                bout_free(&t);
            }
            p.xhat[i * p.n + j] = s;
            double fd = (L[0] - L[1]) / 2e-6, e = fabs(fd - o.grad[i * p.n + j]) / (1 + fabs(fd));
            if (e > worst) worst = e;
        }
    /* the loss is multilinear in xhat: central differences are exact up to rounding */
    CHECK(worst < 1e-7, "exact gradient vs finite differences: %.3e", worst);
    bout_free(&o);
    bfree(&p);
}

/* Unbiased estimators: the sample mean matches exact enumeration within
 * 5 standard errors (computed from the samples), coordinate by coordinate. */
static void test_unbiased_against_exact(dopt_bern_estimator est, const char *name)
{
    int K = 4000;
    int bad = 0, total = 0;
    double worst = 0;
    for (int n = 2; n <= 12; n += 2) {
        bprob p = bgen(16, n, 1 + n / 3, 100 + n, 1);
        bout mc = bout_alloc(&p), ex = bout_alloc(&p);
        CHECK_OK(beval(&p, est, K, 7, 3.0, &mc));
        CHECK_OK(beval(&p, DOPT_BERN_EXACT, 1, 0, 3.0, &ex));
        for (int64_t i = 0; i < p.B; ++i) {
            for (int j = 0; j < n; ++j) {
                double d = fabs(mc.grad[i * n + j] - ex.grad[i * n + j]), se = mc.gse[i * n + j];
                ++total;
                double z = se > 0 ? d / se : (d < 1e-12 ? 0 : INFINITY);
                if (z > worst) worst = z;
                bad += z > 5;
            }
            double dl = fabs(mc.loss[i] - ex.loss[i]);
            ++total;
            bad += !(dl <= 5 * mc.lse[i] + 1e-12);
        }
        bout_free(&mc), bout_free(&ex);
        bfree(&p);
    }
    CHECK(bad == 0, "%s: %d of %d estimates beyond 5 standard errors of the exact value (worst z %.2f)", name, bad,
          total, worst);
}

/* 1-D, a > b > 0. The published estimator's mean is a (f1'(xhat) + 1/2):
 * by Leibniz' rule, -int d/dxhat h = f1' + 1/2 (h = 1/2 at the moving bound),
 * and the constant (a - b) of the surrogate's integrand has no derivative.
 * The critique (and the issue quoting it) write a (f1' + 1/2) + (a - b): that
 * extra (a - b) is a slip; quadrature and these samples agree on a (f1' + 1/2)
 * (docs/BERNOULLI.md). So the mean differs from the derivative of its own
 * surrogate a f1 + (a - b) xhat by b - a/2 (the critique's Figure 2 shift),
 * and from the true derivative a - b by much more; the unbiased estimator's
 * mean is a - b. */
static void test_diffilo_1d(void)
{
    double a = 1.0, b = 0.6;
    double xs[4] = {0.15, 0.3, 0.7, 0.85};
    int K = 200000;
    for (int t = 0; t < 4; ++t) {
        bprob p = {1, 1, 1, calloc(1, 8), calloc(1, 8), NULL, calloc(1, 8)};
        p.A[0] = a, p.b[0] = b, p.xhat[0] = xs[t];
        bout d = bout_alloc(&p), u = bout_alloc(&p), e = bout_alloc(&p);
        CHECK_OK(beval(&p, DOPT_BERN_DIFFILO, K, 11, 1.0, &d));
        CHECK_OK(beval(&p, DOPT_BERN_UNBIASED, K, 11, 1.0, &u));
        CHECK_OK(beval(&p, DOPT_BERN_EXACT, 1, 0, 1.0, &e));
        double published = a * (f1p(xs[t]) + 0.5);
        double surrogate = a * f1p(xs[t]) + (a - b);
        CHECK(fabs(d.grad[0] - published) <= 5 * d.gse[0] + 1e-9,
              "x=%.2f: DiffILO mean %.6f, closed form a(f1'+1/2) = %.6f (se %.1e)", xs[t], d.grad[0], published,
              d.gse[0]);
        CHECK(fabs(d.grad[0] - surrogate - (b - a / 2)) <= 5 * d.gse[0] + 1e-9,
              "x=%.2f: DiffILO mean minus its surrogate's derivative should be b - a/2", xs[t]);
        CHECK(fabs(d.grad[0] - (published + (a - b))) > 20 * d.gse[0],
              "x=%.2f: the critique's a(f1'+1/2)+(a-b) should be rejected by the samples", xs[t]);
        CHECK(fabs(d.grad[0] - (a - b)) > 20 * d.gse[0], "x=%.2f: DiffILO mean should be far from a - b", xs[t]);
        CHECK(fabs(e.grad[0] - (a - b)) < 1e-12, "exact derivative %.6f != a - b", e.grad[0]);
        CHECK(fabs(u.grad[0] - (a - b)) <= 5 * u.gse[0] + 1e-12, "unbiased mean %.6f vs a - b", u.grad[0]);
        bout_free(&d), bout_free(&u), bout_free(&e);
        bfree(&p);
    }
}

/* 2-D, a1 + a2 > b >= a1 >= a2 > 0, c = 0: the published estimator's mean
 * field is g = [x2 a1 (1/2 + f1'(x1)), x1 a2 (1/2 + f1'(x2))] (as the
 * critique states), whose curl d g1/d x2 - d g2/d x1 =
 * (a1 - a2)/2 + a1 f1'(x1) - a2 f1'(x2) (the critique prints it with the
 * opposite sign) is not zero: no loss has g as its gradient. The exact
 * gradient of the true loss is curl-free. */
static void test_diffilo_2d_curl(void)
{
    double a1 = 1.0, a2 = 0.7, b = 1.2;
    double pts[3][2] = {{0.3, 0.6}, {0.7, 0.2}, {0.8, 0.8}};
    int K = 200000;
    for (int t = 0; t < 3; ++t) {
        double x1 = pts[t][0], x2 = pts[t][1];
        bprob p = {1, 2, 1, calloc(2, 8), calloc(1, 8), NULL, calloc(2, 8)};
        p.A[0] = a1, p.A[1] = a2, p.b[0] = b, p.xhat[0] = x1, p.xhat[1] = x2;
        bout d = bout_alloc(&p);
        CHECK_OK(beval(&p, DOPT_BERN_DIFFILO, K, 21, 1.0, &d));
        double g1 = x2 * a1 * (0.5 + f1p(x1)), g2 = x1 * a2 * (0.5 + f1p(x2));
        CHECK(fabs(d.grad[0] - g1) <= 5 * d.gse[0] && fabs(d.grad[1] - g2) <= 5 * d.gse[1],
              "(%.1f, %.1f): DiffILO mean (%.5f, %.5f) vs closed form (%.5f, %.5f)", x1, x2, d.grad[0], d.grad[1], g1,
              g2);
        double curl = (a1 - a2) / 2 + a1 * f1p(x1) - a2 * f1p(x2);
        /* the closed form's curl, by differences of g itself */
        double h = 1e-4;
        double dg1dx2 = ((x2 + h) * a1 * (0.5 + f1p(x1)) - (x2 - h) * a1 * (0.5 + f1p(x1))) / (2 * h);
        double dg2dx1 = ((x1 + h) * a2 * (0.5 + f1p(x2)) - (x1 - h) * a2 * (0.5 + f1p(x2))) / (2 * h);
        CHECK(fabs((dg1dx2 - dg2dx1) - curl) < 1e-6 && fabs(curl) > 0.01, "(%.1f, %.1f): curl %.4f (by differences %.4f)",
              x1, x2, curl, dg1dx2 - dg2dx1);
        /* exact gradient of the true loss: differences of the field are symmetric */
        double e[2][2];
        for (int s = 0; s < 2; ++s) {
            for (int q = 0; q < 2; ++q) {
                double save = p.xhat[q];
                p.xhat[q] = save + (s ? -h : h);
                bout ex = bout_alloc(&p);
                CHECK_OK(beval(&p, DOPT_BERN_EXACT, 1, 0, 1.0, &ex));
                e[s][q] = q == 0 ? ex.grad[1] : ex.grad[0]; /* d g2 / d x1, d g1 / d x2 */
                bout_free(&ex);
                p.xhat[q] = save;
            }
        }
        double curl_exact = (e[0][1] - e[1][1]) / (2 * h) - (e[0][0] - e[1][0]) / (2 * h);
        CHECK(fabs(curl_exact) < 1e-8, "exact gradient's curl %.3e", curl_exact);
        bout_free(&d);
        bfree(&p);
    }
}

static void test_determinism_and_csr(void)
{
    if (tu_cuda()) return;
    bprob p = bgen(64, 30, 12, 77, 1);
    bout a = bout_alloc(&p), b = bout_alloc(&p), c = bout_alloc(&p);
    dopt_context_set_threads(tu_ctx, 1);
    CHECK_OK(beval(&p, DOPT_BERN_UNBIASED, 64, 5, 2.0, &a));
    dopt_context_set_threads(tu_ctx, 3);
    CHECK_OK(beval(&p, DOPT_BERN_UNBIASED, 64, 5, 2.0, &b));
    dopt_context_set_threads(tu_ctx, 0);
    CHECK(memcmp(a.grad, b.grad, 8 * 64 * 30) == 0 && memcmp(a.loss, b.loss, 8 * 64) == 0,
          "results depend on the thread count");
    /* the same problem as CSR (zeros dropped) */
    size_t nnz = 0;
    for (size_t e = 0; e < (size_t)64 * 12 * 30; ++e) nnz += p.A[e] != 0;
    int64_t *rp = malloc(8 * (64 * 13));
    int32_t *col = malloc(4 * (nnz + 1));
    double *val = malloc(8 * (nnz + 1));
    size_t q = 0;
    for (int i = 0; i < 64; ++i)
        for (int r = 0; r < 12; ++r) {
            rp[i * 13 + r] = (int64_t)q;
            for (int j = 0; j < 30; ++j)
                if (p.A[(i * 12 + r) * 30 + j] != 0) col[q] = j, val[q++] = p.A[(i * 12 + r) * 30 + j];
            if (r == 11) rp[i * 13 + 12] = (int64_t)q;
        }
    dopt_bern_problem P = {64, 30, 12, DOPT_FLOAT64, NULL, rp, col, val, p.b, p.c, 0};
    dopt_bern_options opt = {DOPT_BERN_UNBIASED, 64, 5, 2.0, 0};
    dopt_bern_result r = {c.loss, c.grad, c.lse, c.gse, c.st};
    CHECK_OK(dopt_bern_eval(tu_ctx, &P, p.xhat, &opt, &r));
    CHECK(memcmp(a.grad, c.grad, 8 * 64 * 30) == 0 && memcmp(a.loss, c.loss, 8 * 64) == 0,
          "CSR and dense A give different results");
    /* a column index out of range: that instance only is invalid */
    col[rp[5 * 13]] = 99;
    CHECK_OK(dopt_bern_eval(tu_ctx, &P, p.xhat, &opt, &r));
    CHECK(c.st[5] == DOPT_INVALID_DATA && c.st[4] == 0 && c.st[6] == 0, "bad column: status %d", c.st[5]);
    free(rp), free(col), free(val);
    bout_free(&a), bout_free(&b), bout_free(&c);
    bfree(&p);
}

static void test_bad_input(void)
{
    bprob p = bgen(4, 5, 2, 3, 0);
    p.xhat[1 * 5 + 2] = 1.0;  /* on the boundary */
    p.xhat[2 * 5 + 0] = NAN;
    bout o = bout_alloc(&p);
    CHECK_OK(beval(&p, DOPT_BERN_UNBIASED, 16, 1, 1.0, &o));
    CHECK(o.st[0] == 0 && o.st[3] == 0 && o.st[1] == DOPT_INVALID_DATA && o.st[2] == DOPT_INVALID_DATA,
          "statuses %d %d %d %d", o.st[0], o.st[1], o.st[2], o.st[3]);
    CHECK(isnan(o.loss[1]) && isfinite(o.loss[0]) && isfinite(o.loss[3]), "invalid instances report NaN, others not");
    bout_free(&o);
    bprob big = bgen(1, 24, 2, 3, 0);
    bout ob = bout_alloc(&big);
    CHECK(beval(&big, DOPT_BERN_EXACT, 1, 0, 1.0, &ob) == DOPT_ERR_INVALID_ARGUMENT, "exact with n = 24 is refused");
    CHECK(beval(&big, DOPT_BERN_UNBIASED, 0, 0, -1.0, &ob) == DOPT_ERR_INVALID_ARGUMENT, "negative mu is refused");
    CHECK(beval(&big, (dopt_bern_estimator)9, 4, 0, 1.0, &ob) == DOPT_ERR_INVALID_ARGUMENT, "unknown estimator");
    bout_free(&ob);
    bfree(&big);
    bfree(&p);
}

/* Round-and-repair on random set covers: the result is always feasible. */
static void test_round_repair(void)
{
    if (tu_cuda()) return;
    int n = 40, m = 25;
    int64_t B = 50;
    bprob p = {B, n, m, calloc((size_t)B * m * n, 8), calloc((size_t)B * m, 8), calloc((size_t)B * n, 8),
               calloc((size_t)B * n, 8)};
    tu_seed(9);
    /* cover: sum_{j in S_r} x_j >= 1  <=>  -sum x_j <= -1 */
    for (int64_t i = 0; i < B; ++i) {
        for (int r = 0; r < m; ++r) {
            int any = 0;
            for (int j = 0; j < n; ++j)
                if (tu_unif() < 0.1) p.A[(i * m + r) * n + j] = -1, any = 1;
            if (!any) p.A[(i * m + r) * n + (r % n)] = -1;
            p.b[i * m + r] = -1;
        }
        for (int j = 0; j < n; ++j) p.c[i * n + j] = 1 + tu_unif(), p.xhat[i * n + j] = 0.05 + 0.5 * tu_unif();
    }
    double *x = calloc((size_t)B * n, 8);
    int32_t *st = calloc(B, 4);
    dopt_bern_problem P = {B, n, m, DOPT_FLOAT64, p.A, NULL, NULL, NULL, p.b, p.c, 0};
    CHECK_OK(dopt_bern_round(tu_ctx, &P, p.xhat, x, st));
    int infeasible = 0;
    for (int64_t i = 0; i < B; ++i) {
        CHECK(st[i] == 0, "instance %lld not repaired", (long long)i);
        for (int r = 0; r < m; ++r) {
            double ax = 0;
            for (int j = 0; j < n; ++j) ax += p.A[(i * m + r) * n + j] * x[i * n + j];
            infeasible += ax > p.b[i * m + r];
        }
    }
    CHECK(infeasible == 0, "%d rows violated after repair", infeasible);
    free(x), free(st);
    bfree(&p);
}

/* ---- the CUDA backend against the CPU backend ------------------------------- */

/* Evaluates p on the context's backend in float64 or float32, with A dense
 * or CSR (zeros dropped), xhat as probabilities or as logits. */
static dopt_status beval_any(const bprob *p, int f32, int csr, int logits, dopt_bern_estimator est, int K,
                             uint64_t seed, double mu, bout *o)
{
    size_t B = (size_t)p->B, n = p->n, m = p->m, es = f32 ? 4 : 8, nnz = 0;
    double *in = malloc(8 * B * n);
    for (size_t e = 0; e < B * n; ++e) in[e] = logits ? log(p->xhat[e] / (1 - p->xhat[e])) : p->xhat[e];
    int64_t *rp = NULL;
    int32_t *col = NULL;
    double *val = NULL;
    if (csr) {
        rp = malloc(8 * B * (m + 1));
        col = malloc(4 * (B * m * n + 1));
        val = malloc(8 * (B * m * n + 1));
        for (size_t i = 0; i < B; ++i)
            for (size_t r = 0; r < m; ++r) {
                rp[i * (m + 1) + r] = (int64_t)nnz;
                for (size_t j = 0; j < n; ++j)
                    if (p->A[(i * m + r) * n + j] != 0) col[nnz] = (int32_t)j, val[nnz++] = p->A[(i * m + r) * n + j];
                rp[i * (m + 1) + r + 1] = (int64_t)nnz;
            }
    }
    void *hA = csr ? NULL : tc_to_dtype(p->A, B * m * n, f32), *hv = csr ? tc_to_dtype(val, nnz, f32) : NULL;
    void *hb = tc_to_dtype(p->b, B * m, f32), *hc = tc_to_dtype(p->c, B * n, f32), *hx = tc_to_dtype(in, B * n, f32);
    void *A = tu_dev(hA, es * B * m * n), *v = tu_dev(hv, es * nnz), *b = tu_dev(hb, es * B * m);
    void *c = tu_dev(hc, es * B * n), *x = tu_dev(hx, es * B * n);
    void *R = tu_dev(rp, 8 * B * (m + 1)), *C = tu_dev(col, 4 * nnz);
    dopt_bern_problem P = {p->B, p->n, p->m, f32 ? DOPT_FLOAT32 : DOPT_FLOAT64, A, csr ? R : NULL, csr ? C : NULL,
                           v, b, c, 0};
    dopt_bern_options opt = {est, K, seed, mu, logits};
    void *hl = malloc(es * B + 8), *hg = malloc(es * B * n + 8), *hls = malloc(es * B + 8), *hgs = malloc(es * B * n + 8);
    dopt_bern_result r = {tu_dev_out(hl, es * B), tu_dev_out(hg, es * B * n), tu_dev_out(hls, es * B),
                          tu_dev_out(hgs, es * B * n), (int32_t *)tu_dev_out(o->st, 4 * B)};
    dopt_status st = dopt_bern_eval(tu_ctx, &P, x, &opt, &r);
    tu_host(hl, r.loss, es * B), tu_host(hg, r.grad, es * B * n), tu_host(hls, r.loss_se, es * B);
    tu_host(hgs, r.grad_se, es * B * n), tu_host(o->st, r.status, 4 * B);
    tc_from_dtype(o->loss, hl, B, f32), tc_from_dtype(o->grad, hg, B * n, f32);
    tc_from_dtype(o->lse, hls, B, f32), tc_from_dtype(o->gse, hgs, B * n, f32);
    tu_dev_free(hl, r.loss), tu_dev_free(hg, r.grad), tu_dev_free(hls, r.loss_se), tu_dev_free(hgs, r.grad_se);
    tu_dev_free(o->st, r.status);
    tu_dev_free(hA, A), tu_dev_free(hv, v), tu_dev_free(hb, b), tu_dev_free(hc, c), tu_dev_free(hx, x);
    tu_dev_free(rp, R), tu_dev_free(col, C);
    free(hl), free(hg), free(hls), free(hgs);
    free(hA), free(hv), free(hb), free(hc), free(hx), free(in), free(rp), free(col), free(val);
    return st;
}

/* The same evaluation here and on the CPU backend, compared under the
 * documented bounds: float64 1e-10 (loss, gradient) and 1e-6 (standard
 * errors), float32 1e-4 and 1e-2. */
static void bern_compare(const char *what, const bprob *p, int f32, int csr, int logits, dopt_bern_estimator est,
                         int K)
{
    bout g = bout_alloc(p), c = bout_alloc(p);
    CHECK_OK(beval_any(p, f32, csr, logits, est, K, 17, 2.0, &g));
    TC_ON_CPU(CHECK_OK(beval_any(p, f32, csr, logits, est, K, 17, 2.0, &c)));
    size_t B = (size_t)p->B, n = p->n;
    double tol = f32 ? 1e-4 : 1e-10, tol_se = f32 ? 1e-2 : 1e-6;
    char name[160];
    snprintf(name, sizeof name, "%s: loss", what), tc_close(name, g.loss, c.loss, B, tol);
    snprintf(name, sizeof name, "%s: gradient", what), tc_close(name, g.grad, c.grad, B * n, tol);
    snprintf(name, sizeof name, "%s: loss se", what), tc_close(name, g.lse, c.lse, B, tol_se);
    snprintf(name, sizeof name, "%s: gradient se", what), tc_close(name, g.gse, c.gse, B * n, tol_se);
    snprintf(name, sizeof name, "%s: status", what), tc_same_i32(name, g.st, c.st, B);
    int solved = 0;
    for (size_t i = 0; i < B; ++i) solved += c.st[i] == DOPT_SOLVED;
    CHECK(solved > 0, "%s: no instance solved, nothing compared", what);
    bout_free(&g), bout_free(&c);
}

/* Round-and-repair of p on the context's backend; x back in float64. */
static void round_any(const bprob *p, int f32, double *xo, int32_t *so)
{
    size_t B = (size_t)p->B, n = p->n, m = p->m, es = f32 ? 4 : 8;
    void *hA = tc_to_dtype(p->A, B * m * n, f32), *hb = tc_to_dtype(p->b, B * m, f32), *hc = tc_to_dtype(p->c, B * n, f32);
    void *hx = tc_to_dtype(p->xhat, B * n, f32), *hy = malloc(es * B * n);
    void *A = tu_dev(hA, es * B * m * n), *b = tu_dev(hb, es * B * m), *c = tu_dev(hc, es * B * n);
    void *x = tu_dev(hx, es * B * n), *y = tu_dev_out(hy, es * B * n);
    int32_t *st = (int32_t *)tu_dev_out(so, 4 * B);
    dopt_bern_problem P = {p->B, p->n, p->m, f32 ? DOPT_FLOAT32 : DOPT_FLOAT64, A, NULL, NULL, NULL, b, c, 0};
    CHECK_OK(dopt_bern_round(tu_ctx, &P, x, y, st));
    tu_host(hy, y, es * B * n), tu_host(so, st, 4 * B);
    tc_from_dtype(xo, hy, B * n, f32);
    tu_dev_free(hA, A), tu_dev_free(hb, b), tu_dev_free(hc, c), tu_dev_free(hx, x), tu_dev_free(hy, y);
    tu_dev_free(so, st);
    free(hA), free(hb), free(hc), free(hx), free(hy);
}

/* Round-and-repair here and on the CPU: x and status exactly equal (the
 * decisions compare sums of +-a_ij and c_j, which rounding cannot reorder). */
static void round_compare(const char *what, const bprob *p, int f32)
{
    size_t B = (size_t)p->B, n = p->n;
    double *xg = calloc(B * n, 8), *xc = calloc(B * n, 8);
    int32_t *sg = calloc(B, 4), *sc = calloc(B, 4);
    round_any(p, f32, xg, sg);
    TC_ON_CPU(round_any(p, f32, xc, sc));
    char name[160];
    snprintf(name, sizeof name, "%s: x", what), tc_close(name, xg, xc, B * n, 0);
    snprintf(name, sizeof name, "%s: status", what), tc_same_i32(name, sg, sc, B);
    free(xg), free(xc), free(sg), free(sc);
}

/* Every CUDA path of the layer against the CPU backend: the three sampled
 * estimators and the exact one, dense and CSR, probabilities and logits,
 * float64 and float32, round-and-repair, a non-default stream, device 1. */
static void test_cuda_matches_cpu(void)
{
    if (!tu_cuda()) return;
    bprob p = bgen(48, 14, 6, 31, 1);
    dopt_bern_estimator est[3] = {DOPT_BERN_UNBIASED, DOPT_BERN_REINFORCE, DOPT_BERN_DIFFILO};
    const char *en[3] = {"unbiased", "reinforce", "diffilo"};
    char what[96];
    for (int f32 = 0; f32 < 2; ++f32)
        for (int e = 0; e < 3; ++e) {
            snprintf(what, sizeof what, "%s %s dense", en[e], f32 ? "f32" : "f64");
            bern_compare(what, &p, f32, 0, 0, est[e], 64);
            snprintf(what, sizeof what, "%s %s CSR", en[e], f32 ? "f32" : "f64");
            bern_compare(what, &p, f32, 1, 0, est[e], 64);
            snprintf(what, sizeof what, "%s %s logits", en[e], f32 ? "f32" : "f64");
            bern_compare(what, &p, f32, 0, 1, est[e], 64);
        }
    bern_compare("exact f64", &p, 0, 0, 0, DOPT_BERN_EXACT, 1);
    bern_compare("exact f32 CSR logits", &p, 1, 1, 1, DOPT_BERN_EXACT, 1);

    /* round-and-repair on set covers (as test_round_repair) and on bgen's rows */
    bprob cover = {40, 30, 20, calloc(40 * 20 * 30, 8), calloc(40 * 20, 8), calloc(40 * 30, 8), calloc(40 * 30, 8)};
    tu_seed(19);
    for (int i = 0; i < 40; ++i) {
        for (int r = 0; r < 20; ++r) {
            for (int j = 0; j < 30; ++j)
                if (tu_unif() < 0.12) cover.A[(i * 20 + r) * 30 + j] = -1;
            cover.A[(i * 20 + r) * 30 + (r % 30)] = -1;
            cover.b[i * 20 + r] = -1;
        }
        for (int j = 0; j < 30; ++j) cover.c[i * 30 + j] = 1 + tu_unif(), cover.xhat[i * 30 + j] = 0.05 + 0.5 * tu_unif();
    }
    round_compare("round cover f64", &cover, 0);
    round_compare("round cover f32", &cover, 1);
    round_compare("round bgen f64", &p, 0);
    bfree(&cover);

    /* a non-default (non-blocking) stream */
    void *stream = tc_stream_create();
    CHECK(stream != NULL, "could not create a CUDA stream");
    if (stream) {
        CHECK_OK(dopt_context_set_cuda_stream(tu_ctx, stream));
        bern_compare("unbiased f64 on a stream", &p, 0, 0, 0, DOPT_BERN_UNBIASED, 64);
        bern_compare("reinforce f32 CSR on a stream", &p, 1, 1, 0, DOPT_BERN_REINFORCE, 64);
        round_compare("round f64 on a stream", &p, 0);
        CHECK_OK(dopt_context_set_cuda_stream(tu_ctx, NULL));
        tc_stream_destroy(stream);
    }

    /* device 1: the data live there too (allocated while it is current) */
    if (tc_use_device(1)) {
        CHECK_OK(dopt_context_set_cuda_device(tu_ctx, 1));
        bern_compare("unbiased f64 on device 1", &p, 0, 0, 0, DOPT_BERN_UNBIASED, 64);
        round_compare("round f64 on device 1", &p, 0);
        CHECK_OK(dopt_context_set_cuda_device(tu_ctx, 0));
        tc_use_device(0);
    } else {
        printf("device != 0: skipped (fewer than two CUDA devices)\n");
    }
    bfree(&p);
    tc_release();
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    test_philox_known_answers();
    test_exact_reference();
    test_unbiased_against_exact(DOPT_BERN_UNBIASED, "unbiased");
    test_unbiased_against_exact(DOPT_BERN_REINFORCE, "reinforce");
    test_diffilo_1d();
    test_diffilo_2d_curl();
    test_determinism_and_csr();
    test_bad_input();
    test_round_repair();
    test_cuda_matches_cpu();
    CHECK(fabs(dopt_bern_mu_schedule(3, 1, 2, 100) - 8) < 1e-12 && dopt_bern_mu_schedule(10, 1, 2, 100) == 100,
          "mu schedule");
    return tu_finish("test_bern");
}
