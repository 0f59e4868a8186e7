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

/* dopt_bern_eval of a float64 problem staged on the backend, its outputs
 * staged and brought back into o. */
static dopt_status eval_f64(const dopt_bern_problem *P, const void *x, const dopt_bern_options *opt, bout *o)
{
    size_t B = (size_t)P->batch, n = (size_t)P->n;
    dopt_bern_result r = {tu_dev_out(o->loss, 8 * B), tu_dev_out(o->grad, 8 * B * n), tu_dev_out(o->lse, 8 * B),
                          tu_dev_out(o->gse, 8 * B * n), (int32_t *)tu_dev_out(o->st, 4 * B)};
    dopt_status s = dopt_bern_eval(tu_ctx, P, x, opt, &r);
    tu_host(o->loss, r.loss, 8 * B), tu_host(o->grad, r.grad, 8 * B * n), tu_host(o->lse, r.loss_se, 8 * B);
    tu_host(o->gse, r.grad_se, 8 * B * n), tu_host(o->st, r.status, 4 * B);
    tu_dev_free(o->loss, r.loss), tu_dev_free(o->grad, r.grad), tu_dev_free(o->lse, r.loss_se);
    tu_dev_free(o->gse, r.grad_se), tu_dev_free(o->st, r.status);
    return s;
}

static dopt_status beval(const bprob *p, dopt_bern_estimator est, int K, uint64_t seed, double mu, bout *o)
{
    size_t B = (size_t)p->B, n = p->n, m = p->m;
    void *A = tu_dev(p->A, 8 * B * m * n), *b = tu_dev(p->b, 8 * B * m), *c = tu_dev(p->c, 8 * B * n),
         *x = tu_dev(p->xhat, 8 * B * n);
    dopt_bern_problem P = {p->B, p->n, p->m, DOPT_FLOAT64, A, NULL, NULL, NULL, b, c, 0};
    dopt_bern_options opt = {est, K, seed, mu, 0};
    dopt_status s = eval_f64(&P, x, &opt, o);
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


/* ---- saturating logits, duplicate CSR columns, empty CSR arrays ------------- */

/* Evaluates p on the context's backend in float64 or float32, with A dense
 * or CSR (zeros dropped), at the inputs `in` (B, n): probabilities, or logits
 * with logits = 1. Outputs back in float64. */
static dopt_status beval_input(const bprob *p, const double *in, int f32, int csr, int logits,
                               dopt_bern_estimator est, int K, uint64_t seed, double mu, bout *o)
{
    size_t B = (size_t)p->B, n = p->n, m = p->m, es = f32 ? 4 : 8, nnz = 0;
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
    free(hA), free(hv), free(hb), free(hc), free(hx), free(rp), free(col), free(val);
    return st;
}

/* beval_input at p's xhat, given as probabilities or converted to logits. */
static dopt_status beval_any(const bprob *p, int f32, int csr, int logits, dopt_bern_estimator est, int K,
                             uint64_t seed, double mu, bout *o)
{
    size_t count = (size_t)p->B * (size_t)p->n;
    double *in = malloc(8 * count);
    for (size_t e = 0; e < count; ++e) in[e] = logits ? log(p->xhat[e] / (1 - p->xhat[e])) : p->xhat[e];
    dopt_status st = beval_input(p, in, f32, csr, logits, est, K, seed, mu, o);
    free(in);
    return st;
}

/* Evaluates a dense problem (A (B, m, n), b, c) at the logits z (B, n), in
 * float64 or float32; outputs back in float64. */
static dopt_status beval_logits(const bprob *p, const double *z, int f32, dopt_bern_estimator est, int K, double mu,
                                bout *o)
{
    return beval_input(p, z, f32, 0, 1, est, K, 23, mu, o);
}

/* F and dF/dlogit of one instance by enumeration in long double, from the
 * logits: P(x_j = 1) = 1 / (1 + e^-l), P(x_j = 0) = 1 / (1 + e^l), and
 * dF/dl_j = p_j q_j (c_j + mu E[phi(x, x_j = 1) - phi(x, x_j = 0)]). */
static void logit_reference(const bprob *p, int64_t i, const double *z, double mu, double *loss, double *grad,
                            double *scale)
{
    int n = p->n, m = p->m;
    long double P[16], Q[16], acc[16] = {0}, mag[16] = {0}, L = 0;
    for (int j = 0; j < n; ++j) P[j] = 1 / (1 + expl(-(long double)z[j])), Q[j] = 1 / (1 + expl((long double)z[j]));
    for (uint32_t bits = 0; bits < (1u << n); ++bits) {
        long double w = 1, phi = 0;
        for (int j = 0; j < n; ++j) w *= (bits >> j) & 1u ? P[j] : Q[j];
        for (int r = 0; r < m; ++r) {
            long double ax = 0;
            for (int j = 0; j < n; ++j) ax += p->A[(i * m + r) * n + j] * (long double)((bits >> j) & 1u);
            if (ax > p->b[i * m + r]) phi += ax - p->b[i * m + r];
        }
        L += w * phi;
        /* d E[phi] / d p_j: phi(x) times +-(the weight of x without coordinate j) */
        for (int j = 0; j < n; ++j) {
            long double wj = 1;
            for (int k = 0; k < n; ++k)
                if (k != j) wj *= (bits >> k) & 1u ? P[k] : Q[k];
            acc[j] += (bits >> j) & 1u ? phi * wj : -phi * wj;
            mag[j] += phi * wj;
        }
    }
    long double cx = 0;
    for (int j = 0; j < n; ++j) cx += p->c[i * n + j] * P[j];
    *loss = (double)(cx + mu * L);
    for (int j = 0; j < n; ++j) {
        grad[j] = (double)(P[j] * Q[j] * (p->c[i * n + j] + mu * acc[j]));
        /* the size of the terms that make grad[j] (an error bound's unit) */
        scale[j] = (double)(P[j] * Q[j] * (fabsl((long double)p->c[i * n + j]) + mu * mag[j]));
    }
}

/* A finite logit is valid data however large: sigmoid(l) rounds to 1 above
 * about 36.7 (float64) / 16.6 (float32), which used to be status 5. Every
 * estimator evaluates it; the exact one matches an enumeration in long
 * double from the logits; the sampled ones agree with it within their
 * standard errors; NaN and infinite logits stay status 5. */
static void test_saturated_logits(void)
{
    bprob p = bgen(8, 4, 2, 41, 1);
    double mu = 1.5;
    for (int f32 = 0; f32 < 2; ++f32) {
        double big = f32 ? 20 : 40; /* beyond the saturation of the dtype */
        double z[8][4] = {{big, -big, 0.3, -1.2}, {800, -800, 1.0, 2.0}, {1e300, big + 0.5, -big - 3, 0.5},
                          {0.1, -0.4, 1.5, -2.0}, {big, big, -big, -big}, {NAN, 0.2, 0.3, 0.4},
                          {0.1, INFINITY, 0.3, 0.4}, {0.1, 0.2, -INFINITY, 0.4}};
        if (f32) z[2][0] = 1e30; /* finite in float32 */
        bout ex = bout_alloc(&p);
        CHECK_OK(beval_logits(&p, &z[0][0], f32, DOPT_BERN_EXACT, 1, mu, &ex));
        CHECK(ex.st[0] == 0 && ex.st[1] == 0 && ex.st[2] == 0 && ex.st[3] == 0 && ex.st[4] == 0,
              "f32=%d: finite saturating logits are valid: statuses %d %d %d %d %d", f32, ex.st[0], ex.st[1],
              ex.st[2], ex.st[3], ex.st[4]);
        CHECK(ex.st[5] == DOPT_INVALID_DATA && ex.st[6] == DOPT_INVALID_DATA && ex.st[7] == DOPT_INVALID_DATA,
              "f32=%d: NaN / +inf / -inf logits are invalid: %d %d %d", f32, ex.st[5], ex.st[6], ex.st[7]);
        double tol = f32 ? 2e-6 : 1e-12;
        for (int64_t i = 0; i < 5; ++i) {
            double L, G[4], S[4];
            logit_reference(&p, i, z[i], mu, &L, G, S);
            CHECK(fabs(ex.loss[i] - L) <= tol * (1 + fabs(L)), "f32=%d instance %lld: exact loss %.17g vs %.17g", f32,
                  (long long)i, ex.loss[i], L);
            for (int j = 0; j < 4; ++j)
                CHECK(fabs(ex.grad[i * 4 + j] - G[j]) <= tol * S[j],
                      "f32=%d instance %lld: exact d/dlogit[%d] %.17g vs %.17g", f32, (long long)i, j,
                      ex.grad[i * 4 + j], G[j]);
        }
        /* an underflowed complement: no gradient at all through that logit */
        CHECK(ex.grad[1 * 4 + 0] == 0 && ex.grad[1 * 4 + 1] == 0, "f32=%d: logits of +-800 get gradient %g %g", f32,
              ex.grad[4], ex.grad[5]);
        dopt_bern_estimator est[3] = {DOPT_BERN_UNBIASED, DOPT_BERN_REINFORCE, DOPT_BERN_DIFFILO};
        for (int e = 0; e < 3; ++e) {
            bout mc = bout_alloc(&p);
            CHECK_OK(beval_logits(&p, &z[0][0], f32, est[e], 4000, mu, &mc));
            for (int64_t i = 0; i < 8; ++i)
                CHECK(mc.st[i] == ex.st[i], "f32=%d estimator %d instance %lld: status %d, exact's %d", f32, (int)est[e],
                      (long long)i, mc.st[i], ex.st[i]);
            for (int64_t i = 0; i < 5; ++i) {
                CHECK(isfinite(mc.loss[i]) && isfinite(mc.lse[i]), "f32=%d estimator %d: loss %g", f32, (int)est[e],
                      mc.loss[i]);
                for (int j = 0; j < 4; ++j) {
                    double g = mc.grad[i * 4 + j], se = mc.gse[i * 4 + j], gx = ex.grad[i * 4 + j];
                    CHECK(isfinite(g) && isfinite(se), "f32=%d estimator %d instance %lld: gradient[%d] %g (se %g)",
                          f32, (int)est[e], (long long)i, j, g, se);
                    /* unbiased ones: within 5 standard errors of the exact value */
                    if (est[e] != DOPT_BERN_DIFFILO)
                        CHECK(fabs(g - gx) <= 5 * se + (f32 ? 1e-5 : 1e-12) * (1 + fabs(gx)),
                              "f32=%d estimator %d instance %lld: gradient[%d] %.9g vs exact %.9g (se %.2g)", f32,
                              (int)est[e], (long long)i, j, g, gx, se);
                    /* a saturated logit has (almost) no gradient, also for DiffILO's */
                    if (fabs(z[i][j]) >= big) CHECK(fabs(g) < 1e-6, "f32=%d estimator %d: saturated gradient %g", f32,
                                                    (int)est[e], g);
                }
                if (est[e] != DOPT_BERN_DIFFILO)
                    CHECK(fabs(mc.loss[i] - ex.loss[i]) <= 5 * mc.lse[i] + (f32 ? 1e-5 : 1e-12) * (1 + fabs(ex.loss[i])),
                          "f32=%d estimator %d instance %lld: loss %.9g vs exact %.9g", f32, (int)est[e], (long long)i,
                          mc.loss[i], ex.loss[i]);
            }
            bout_free(&mc);
        }
        bout_free(&ex);
    }
    bfree(&p);

    /* rounding takes probabilities in [0, 1] (what sigmoid of a large logit gives) */
    double A[2] = {1, 1}, b[1] = {1}, c[2] = {-1, -2}, xh[8] = {1.0, 0.0, 0.0, 1.0, NAN, 0.5, 1.5, 0.2};
    double x[8] = {0};
    int32_t st[4] = {-1, -1, -1, -1};
    void *dA = tu_dev(A, 16), *db = tu_dev(b, 8), *dc = tu_dev(c, 16), *dx = tu_dev(xh, 64), *dy = tu_dev_out(x, 64);
    int32_t *ds = (int32_t *)tu_dev_out(st, 16);
    dopt_bern_problem P = {4, 2, 1, DOPT_FLOAT64, dA, NULL, NULL, NULL, db, dc,
                           DOPT_BERN_SHARE_A | DOPT_BERN_SHARE_B | DOPT_BERN_SHARE_C};
    CHECK_OK(dopt_bern_round(tu_ctx, &P, dx, dy, ds));
    tu_host(x, dy, 64), tu_host(st, ds, 16);
    CHECK(st[0] == 0 && st[1] == 0 && x[0] == 1 && x[1] == 0 && x[2] == 0 && x[3] == 1,
          "rounding probabilities 0 and 1: status %d %d, x %g %g %g %g", st[0], st[1], x[0], x[1], x[2], x[3]);
    CHECK(st[2] == DOPT_INVALID_DATA && st[3] == DOPT_INVALID_DATA, "NaN / 1.5 in rounding: status %d %d", st[2], st[3]);
    tu_dev_free(A, dA), tu_dev_free(b, db), tu_dev_free(c, dc), tu_dev_free(xh, dx), tu_dev_free(x, dy);
    tu_dev_free(st, ds);
}

/* tu_dev_free for inputs held by const pointers */
static void bfree_in(const void *host, void *dev) { tu_dev_free((void *)host, dev); }

/* Evaluates CSR problems: row_ptr (B, m+1) absolute (shared when shared
 * != 0), xhat (B, n), float64. */
static dopt_status beval_csr(int64_t B, int n, int m, const int64_t *rp, const int32_t *col, const double *val,
                             size_t nnz, const double *b, const double *c, uint32_t shared, const double *xhat,
                             dopt_bern_estimator est, int K, bout *o)
{
    size_t copies = (shared & DOPT_BERN_SHARE_A) ? 1 : (size_t)B, cb = (shared & DOPT_BERN_SHARE_B) ? 1 : (size_t)B,
           cc = (shared & DOPT_BERN_SHARE_C) ? 1 : (size_t)B;
    void *R = tu_dev(rp, 8 * copies * (m + 1)), *C = tu_dev(col, 4 * nnz), *V = tu_dev(val, 8 * nnz);
    void *db = tu_dev(b, 8 * cb * m), *dc = tu_dev(c, 8 * cc * n), *dx = tu_dev(xhat, 8 * (size_t)B * n);
    dopt_bern_problem P = {B, n, m, DOPT_FLOAT64, NULL, (const int64_t *)R, (const int32_t *)C, V, db, dc, shared};
    dopt_bern_options opt = {est, K, 3, 2.0, 0};
    dopt_status s = eval_f64(&P, dx, &opt, o);
    bfree_in(rp, R), bfree_in(col, C), bfree_in(val, V), bfree_in(b, db), bfree_in(c, dc);
    bfree_in(xhat, dx);
    return s;
}

/* Rounds CSR problems as beval_csr evaluates them. */
static dopt_status bround_csr(int64_t B, int n, int m, const int64_t *rp, const int32_t *col, const double *val,
                              size_t nnz, const double *b, const double *c, uint32_t shared, const double *xhat,
                              double *x, int32_t *st)
{
    size_t copies = (shared & DOPT_BERN_SHARE_A) ? 1 : (size_t)B, cb = (shared & DOPT_BERN_SHARE_B) ? 1 : (size_t)B,
           cc = (shared & DOPT_BERN_SHARE_C) ? 1 : (size_t)B;
    void *R = tu_dev(rp, 8 * copies * (m + 1)), *C = tu_dev(col, 4 * nnz), *V = tu_dev(val, 8 * nnz);
    void *db = tu_dev(b, 8 * cb * m), *dc = tu_dev(c, 8 * cc * n), *dx = tu_dev(xhat, 8 * (size_t)B * n);
    void *dy = tu_dev_out(x, 8 * (size_t)B * n);
    int32_t *ds = (int32_t *)tu_dev_out(st, 4 * (size_t)B);
    dopt_bern_problem P = {B, n, m, DOPT_FLOAT64, NULL, (const int64_t *)R, (const int32_t *)C, V, db, dc, shared};
    dopt_status s = dopt_bern_round(tu_ctx, &P, dx, dy, ds);
    tu_host(x, dy, 8 * (size_t)B * n), tu_host(st, ds, 4 * (size_t)B);
    bfree_in(rp, R), bfree_in(col, C), bfree_in(val, V), bfree_in(b, db), bfree_in(c, dc);
    bfree_in(xhat, dx), tu_dev_free(x, dy), tu_dev_free(st, ds);
    return s;
}

/* A CSR row that lists a column twice is that instance's status 5 (the
 * estimators flip x_j per entry, which for two entries of one column gives a
 * wrong "unbiased" and "exact" gradient); columns in any order are fine. */
static void test_duplicate_columns(void)
{
    /* three instances, n = 4, m = 2, integer values (sums exact in any order);
     * instance 1's row 1 lists column 1 twice (2 - 1 = 1 in total) */
    int64_t rp[9] = {0, 2, 5, 5, 7, 10, 10, 12, 15};
    int32_t col[15] = {2, 0, 3, 1, 0, /**/ 2, 0, 1, 3, 1, /**/ 2, 0, 3, 1, 0};
    double val[15] = {1, 2, 1, -1, 1, /**/ 1, 2, 2, 1, -1, /**/ 1, 2, 1, -1, 1};
    double b[2] = {1.5, 0.5}, c[4] = {0.3, -0.2, 0.1, 0.4};
    double xhat[12] = {0.3, 0.6, 0.45, 0.7, 0.3, 0.6, 0.45, 0.7, 0.2, 0.5, 0.8, 0.35};
    /* the same matrices dense (instance 1 with the duplicate summed) */
    double A[24] = {2, 0, 1, 0, 1, -1, 0, 1, /**/ 2, 0, 1, 0, 0, 1, 0, 1, /**/ 2, 0, 1, 0, 1, -1, 0, 1};
    dopt_bern_estimator est[2] = {DOPT_BERN_EXACT, DOPT_BERN_UNBIASED};
    for (int e = 0; e < 2; ++e) {
        bprob d = {3, 4, 2, A, NULL, NULL, NULL};
        d.b = malloc(8 * 6), d.c = malloc(8 * 12), d.xhat = xhat;
        for (int i = 0; i < 3; ++i) memcpy(d.b + 2 * i, b, 16), memcpy(d.c + 4 * i, c, 32);
        bout o = bout_alloc(&d), ref = bout_alloc(&d);
        CHECK_OK(beval_csr(3, 4, 2, rp, col, val, 15, b, c, DOPT_BERN_SHARE_B | DOPT_BERN_SHARE_C, xhat, est[e],
                           64, &o));
        CHECK(o.st[0] == 0 && o.st[1] == DOPT_INVALID_DATA && o.st[2] == 0,
              "estimator %d: a column listed twice in a row is status 5 (statuses %d %d %d)", (int)est[e], o.st[0],
              o.st[1], o.st[2]);
        CHECK(isnan(o.loss[1]) && isnan(o.grad[4]), "the duplicate's outputs are NaN");
        /* unsorted columns: the same results as the dense matrix */
        void *dA = tu_dev(A, 8 * 24), *db = tu_dev(d.b, 48), *dc = tu_dev(d.c, 96), *dx = tu_dev(xhat, 96);
        dopt_bern_problem P = {3, 4, 2, DOPT_FLOAT64, dA, NULL, NULL, NULL, db, dc, 0};
        dopt_bern_options opt = {est[e], 64, 3, 2.0, 0};
        dopt_bern_result r = {tu_dev_out(ref.loss, 24), tu_dev_out(ref.grad, 96), tu_dev_out(ref.lse, 24),
                              tu_dev_out(ref.gse, 96), (int32_t *)tu_dev_out(ref.st, 12)};
        CHECK_OK(dopt_bern_eval(tu_ctx, &P, dx, &opt, &r));
        tu_host(ref.loss, r.loss, 24), tu_host(ref.grad, r.grad, 96), tu_host(ref.st, r.status, 12);
        tu_dev_free(ref.loss, r.loss), tu_dev_free(ref.grad, r.grad), tu_dev_free(ref.lse, r.loss_se);
        tu_dev_free(ref.gse, r.grad_se), tu_dev_free(ref.st, r.status);
        tu_dev_free(A, dA), tu_dev_free(d.b, db), tu_dev_free(d.c, dc), tu_dev_free(xhat, dx);
        for (int i = 0; i < 3; i += 2) {
            CHECK(o.loss[i] == ref.loss[i], "estimator %d instance %d: CSR (unsorted) loss %.17g, dense %.17g",
                  (int)est[e], i, o.loss[i], ref.loss[i]);
            for (int j = 0; j < 4; ++j)
                CHECK(o.grad[i * 4 + j] == ref.grad[i * 4 + j], "estimator %d instance %d: gradient[%d] %.17g vs %.17g",
                      (int)est[e], i, j, o.grad[i * 4 + j], ref.grad[i * 4 + j]);
        }
        bout_free(&o), bout_free(&ref);
        free(d.b), free(d.c);
    }
    /* rounding refuses it too; a shared A with a duplicate: every instance */
    double x[12] = {0};
    int32_t st[3] = {-1, -1, -1};
    CHECK_OK(bround_csr(3, 4, 2, rp, col, val, 15, b, c, DOPT_BERN_SHARE_B | DOPT_BERN_SHARE_C, xhat, x, st));
    CHECK(st[0] != DOPT_INVALID_DATA && st[1] == DOPT_INVALID_DATA && st[2] != DOPT_INVALID_DATA,
          "round: statuses %d %d %d", st[0], st[1], st[2]);
    int64_t rps[3] = {5, 7, 10}; /* instance 1's rows as the shared A */
    bprob s3 = {3, 4, 2, A, NULL, NULL, xhat};
    bout o = bout_alloc(&s3);
    CHECK_OK(beval_csr(3, 4, 2, rps, col, val, 15, b, c, 7, xhat, DOPT_BERN_UNBIASED, 16, &o));
    CHECK(o.st[0] == DOPT_INVALID_DATA && o.st[1] == DOPT_INVALID_DATA && o.st[2] == DOPT_INVALID_DATA,
          "shared A with a duplicate: statuses %d %d %d", o.st[0], o.st[1], o.st[2]);
    bout_free(&o);
}

/* m > 0 rows and no entries at all: the caller's col_idx and values are
 * empty arrays, whose pointers may be NULL; that is a valid CSR matrix
 * (A = 0), not a missing one. NULL arrays under rows that do have entries
 * are that instance's status 5, not a crash. */
static void test_empty_csr(void)
{
    int64_t rp[6] = {0, 0, 0, 0, 0, 0}; /* two instances, absolute offsets */
    double b[2] = {-1, 0.5}, c[3] = {1, -2, 0.5}, xhat[6] = {0.2, 0.5, 0.9, 0.4, 0.3, 0.6};
    bprob d = {2, 3, 2, NULL, NULL, NULL, xhat};
    dopt_bern_estimator est[3] = {DOPT_BERN_EXACT, DOPT_BERN_UNBIASED, DOPT_BERN_REINFORCE};
    for (int e = 0; e < 3; ++e) {
        bout o = bout_alloc(&d);
        CHECK_OK(beval_csr(2, 3, 2, rp, NULL, NULL, 0, b, c, DOPT_BERN_SHARE_B | DOPT_BERN_SHARE_C, xhat, est[e], 8,
                           &o));
        for (int i = 0; i < 2; ++i) {
            /* phi = max(0 - b_0, 0) + max(0 - b_1, 0) = 1 for every sample: F = c'xhat + 2 * 1 */
            double cx = c[0] * xhat[3 * i] + c[1] * xhat[3 * i + 1] + c[2] * xhat[3 * i + 2];
            CHECK(o.st[i] == 0 && fabs(o.loss[i] - (cx + 2.0)) < 1e-14 && o.lse[i] == 0,
                  "estimator %d instance %d: status %d, loss %.17g (expected %.17g)", (int)est[e], i, o.st[i],
                  o.loss[i], cx + 2.0);
            for (int j = 0; j < 3; ++j)
                CHECK(o.grad[3 * i + j] == c[j], "estimator %d: gradient %.17g, expected c = %g", (int)est[e],
                      o.grad[3 * i + j], c[j]);
        }
        bout_free(&o);
    }
    double x[6] = {0};
    int32_t st[2] = {-1, -1};
    double bf[2] = {1, 0.5};
    CHECK_OK(bround_csr(2, 3, 2, rp, NULL, NULL, 0, bf, c, DOPT_BERN_SHARE_B | DOPT_BERN_SHARE_C, xhat, x, st));
    CHECK(st[0] == 0 && st[1] == 0 && x[0] == 0 && x[1] == 1 && x[2] == 0 && x[4] == 1,
          "round with no entries: status %d %d, x %g %g %g", st[0], st[1], x[0], x[1], x[2]);
    /* instance 1 has entries but there are no arrays: status 5 for it only */
    int64_t rp2[6] = {0, 0, 0, 0, 1, 2};
    bout o = bout_alloc(&d);
    CHECK_OK(beval_csr(2, 3, 2, rp2, NULL, NULL, 0, b, c, DOPT_BERN_SHARE_B | DOPT_BERN_SHARE_C, xhat,
                       DOPT_BERN_UNBIASED, 8, &o));
    CHECK(o.st[0] == 0 && o.st[1] == DOPT_INVALID_DATA, "entries without arrays: statuses %d %d", o.st[0], o.st[1]);
    bout_free(&o);
}

/* ---- the CUDA backend against the CPU backend ------------------------------- */


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
    test_saturated_logits();
    test_duplicate_columns();
    test_empty_csr();
    test_cuda_matches_cpu();
    CHECK(fabs(dopt_bern_mu_schedule(3, 1, 2, 100) - 8) < 1e-12 && dopt_bern_mu_schedule(10, 1, 2, 100) == 100,
          "mu schedule");
    return tu_finish("test_bern");
}
