/* QP fixtures for the tests: generated instances with known solutions, a
 * solve that works on either backend, and an independent KKT check. */
#ifndef DOPT_QP_HARNESS_H
#define DOPT_QP_HARNESS_H

#include "qp_generate.h"
#include "test_util.h"

typedef struct {
    int64_t B;
    int n, m, k;
    unsigned shared;
    double *Q, *p, *G, *h, *A, *b;    /* host, float64 */
    double *xs, *ls, *ns;             /* known solution */
    void *dQ, *dp, *dG, *dh, *dA, *db; /* where the backend reads them */
} tq_data;

typedef struct {
    double *x, *lam, *nu;
    int32_t *status, *iters;
} tq_out;

static double *tq_alloc(size_t count) { return (double *)calloc(count ? count : 1, sizeof(double)); }

static tq_data tq_gen(int64_t B, int n, int m, int k, dopt_gen_kind kind, double cond, uint64_t seed)
{
    tq_data d;
    memset(&d, 0, sizeof d);
    d.B = B;
    d.n = n;
    d.m = m;
    d.k = k;
    size_t b = (size_t)B;
    d.Q = tq_alloc(b * n * n);
    d.p = tq_alloc(b * n);
    d.G = tq_alloc(b * m * n);
    d.h = tq_alloc(b * m);
    d.A = tq_alloc(b * k * n);
    d.b = tq_alloc(b * k);
    d.xs = tq_alloc(b * n);
    d.ls = tq_alloc(b * m);
    d.ns = tq_alloc(b * k);
    dopt_qp_generate(B, n, m, k, kind, cond, seed, d.Q, d.p, d.G, d.h, d.A, d.b, d.xs, d.ls, d.ns);
    return d;
}

/* number of instances a parameter's array holds */
static size_t tq_copies(const tq_data *d, unsigned bit) { return (d->shared & bit) ? 1 : (size_t)d->B; }

static void tq_stage(tq_data *d)
{
    size_t n = d->n, m = d->m, k = d->k;
    d->dQ = tu_dev(d->Q, sizeof(double) * tq_copies(d, DOPT_QP_SHARE_Q) * n * n);
    d->dp = tu_dev(d->p, sizeof(double) * tq_copies(d, DOPT_QP_SHARE_P) * n);
    d->dG = tu_dev(d->G, sizeof(double) * tq_copies(d, DOPT_QP_SHARE_G) * m * n);
    d->dh = tu_dev(d->h, sizeof(double) * tq_copies(d, DOPT_QP_SHARE_H) * m);
    d->dA = tu_dev(d->A, sizeof(double) * tq_copies(d, DOPT_QP_SHARE_A) * k * n);
    d->db = tu_dev(d->b, sizeof(double) * tq_copies(d, DOPT_QP_SHARE_B) * k);
}

static void tq_free(tq_data *d)
{
    tu_dev_free(d->Q, d->dQ);
    tu_dev_free(d->p, d->dp);
    tu_dev_free(d->G, d->dG);
    tu_dev_free(d->h, d->dh);
    tu_dev_free(d->A, d->dA);
    tu_dev_free(d->b, d->db);
    free(d->Q), free(d->p), free(d->G), free(d->h), free(d->A), free(d->b);
    free(d->xs), free(d->ls), free(d->ns);
    memset(d, 0, sizeof *d);
}

static dopt_qp_problem tq_problem(const tq_data *d)
{
    dopt_qp_problem P;
    memset(&P, 0, sizeof P);
    P.batch = d->B;
    P.n = d->n;
    P.m = d->m;
    P.k = d->k;
    P.dtype = DOPT_FLOAT64;
    P.Q = d->dQ;
    P.p = d->dp;
    P.G = d->m ? d->dG : NULL;
    P.h = d->m ? d->dh : NULL;
    P.A = d->k ? d->dA : NULL;
    P.b = d->k ? d->db : NULL;
    P.shared = d->shared;
    return P;
}

static tq_out tq_out_alloc(const tq_data *d)
{
    tq_out o;
    size_t b = (size_t)d->B;
    o.x = tq_alloc(b * d->n);
    o.lam = tq_alloc(b * d->m);
    o.nu = tq_alloc(b * d->k);
    o.status = (int32_t *)calloc(b + 1, sizeof(int32_t));
    o.iters = (int32_t *)calloc(b + 1, sizeof(int32_t));
    return o;
}

static void tq_out_free(tq_out *o)
{
    free(o->x), free(o->lam), free(o->nu), free(o->status), free(o->iters);
}

/* Solves d (staged) on the test's backend; outputs land in o (host). */
static dopt_status tq_solve(const tq_data *d, const dopt_qp_options *opt, tq_out *o, dopt_qp_tape **tape)
{
    size_t b = (size_t)d->B;
    dopt_qp_problem P = tq_problem(d);
    dopt_qp_solution s;
    s.x = tu_dev_out(o->x, sizeof(double) * b * d->n);
    s.lam = tu_dev_out(o->lam, sizeof(double) * b * d->m);
    s.nu = tu_dev_out(o->nu, sizeof(double) * b * d->k);
    s.status = (int32_t *)tu_dev_out(o->status, sizeof(int32_t) * b);
    s.iters = (int32_t *)tu_dev_out(o->iters, sizeof(int32_t) * b);
    dopt_status st = dopt_qp_solve(tu_ctx, &P, opt, &s, tape);
    tu_host(o->x, s.x, sizeof(double) * b * d->n);
    tu_host(o->lam, s.lam, sizeof(double) * b * d->m);
    tu_host(o->nu, s.nu, sizeof(double) * b * d->k);
    tu_host(o->status, s.status, sizeof(int32_t) * b);
    tu_host(o->iters, s.iters, sizeof(int32_t) * b);
    tu_dev_free(o->x, s.x);
    tu_dev_free(o->lam, s.lam);
    tu_dev_free(o->nu, s.nu);
    tu_dev_free(o->status, s.status);
    tu_dev_free(o->iters, s.iters);
    return st;
}

/* Solves one hand-written instance (host arrays, any may be NULL when its
 * block is empty) on the test's backend; copies out x, lam, nu when given.
 * Returns the instance status; x must come back finite whatever the status. */
static int tq_solve_single(int n, int m, int k, const double *Q, const double *p, const double *G, const double *h,
                           const double *A, const double *b, const dopt_qp_options *opt, double *x, double *lam,
                           double *nu)
{
    tq_data d;
    memset(&d, 0, sizeof d);
    d.B = 1, d.n = n, d.m = m, d.k = k;
    d.Q = (double *)Q, d.p = (double *)p, d.G = (double *)G, d.h = (double *)h, d.A = (double *)A,
    d.b = (double *)b;
    tq_stage(&d);
    tq_out o = tq_out_alloc(&d);
    CHECK_OK(tq_solve(&d, opt, &o, NULL));
    int st = o.status[0];
    for (int j = 0; j < n; ++j) CHECK(isfinite(o.x[j]), "x[%d] = %g is not finite (status %d)", j, o.x[j], st);
    if (x) memcpy(x, o.x, sizeof(double) * n);
    if (lam && m) memcpy(lam, o.lam, sizeof(double) * m);
    if (nu && k) memcpy(nu, o.nu, sizeof(double) * k);
    tq_out_free(&o);
    tu_dev_free(d.Q, d.dQ), tu_dev_free(d.p, d.dp), tu_dev_free(d.G, d.dG);
    tu_dev_free(d.h, d.dh), tu_dev_free(d.A, d.dA), tu_dev_free(d.b, d.db);
    return st;
}

#define TQ_SLICE(d, arr, bit, len, i) ((d)->arr + (((d)->shared & (bit)) ? 0 : (size_t)(i) * (len)))

/* Independent optimality check of instance i: the largest of the relative
 * stationarity, primal feasibility, dual feasibility, complementarity and
 * duality-gap violations. Rows with h = +inf are ignored. */
static double tq_kkt_error(const tq_data *d, int64_t i, const double *x, const double *lam, const double *nu)
{
    int n = d->n, m = d->m, k = d->k;
    const double *Q = TQ_SLICE(d, Q, DOPT_QP_SHARE_Q, (size_t)n * n, i);
    const double *p = TQ_SLICE(d, p, DOPT_QP_SHARE_P, (size_t)n, i);
    const double *G = TQ_SLICE(d, G, DOPT_QP_SHARE_G, (size_t)m * n, i);
    const double *h = TQ_SLICE(d, h, DOPT_QP_SHARE_H, (size_t)m, i);
    const double *A = TQ_SLICE(d, A, DOPT_QP_SHARE_A, (size_t)k * n, i);
    const double *b = TQ_SLICE(d, b, DOPT_QP_SHARE_B, (size_t)k, i);
    double err = 0, scale = 1, xQx = 0, px = 0, hl = 0, bn = 0;
    for (int j = 0; j < n; ++j) {
        double r = p[j], qx = 0;
        for (int c = 0; c < n; ++c) qx += 0.5 * (Q[j * n + c] + Q[c * n + j]) * x[c];
        r += qx;
        for (int q = 0; q < m; ++q)
            if (isfinite(h[q])) r += G[q * n + j] * lam[q];
        for (int q = 0; q < k; ++q) r += A[q * n + j] * nu[q];
        xQx += x[j] * qx;
        px += p[j] * x[j];
        if (fabs(p[j]) > scale) scale = fabs(p[j]);
        if (fabs(qx) > scale) scale = fabs(qx);
        if (fabs(r) > err * scale) err = fabs(r) / scale;
    }
    for (int q = 0; q < m; ++q) {
        if (!isfinite(h[q])) continue;
        double gx = 0;
        for (int j = 0; j < n; ++j) gx += G[q * n + j] * x[j];
        double sc = 1 + fabs(h[q]) + fabs(gx);
        double v = (gx - h[q]) / sc;
        if (v > err) err = v;
        if (-lam[q] > err) err = -lam[q];
        double c = fabs(lam[q] * (h[q] - gx)) / sc;
        if (c > err) err = c;
        hl += h[q] * lam[q];
    }
    for (int q = 0; q < k; ++q) {
        double ax = 0;
        for (int j = 0; j < n; ++j) ax += A[q * n + j] * x[j];
        double v = fabs(ax - b[q]) / (1 + fabs(b[q]));
        if (v > err) err = v;
        bn += b[q] * nu[q];
    }
    double pobj = 0.5 * xQx + px, dobj = -0.5 * xQx - hl - bn;
    double gap = fabs(pobj - dobj) / (1 + fabs(pobj));
    if (gap > err) err = gap;
    if (err != err) err = INFINITY;
    return err;
}

static double tq_max_abs_diff(size_t len, const double *a, const double *b)
{
    double e = 0;
    for (size_t i = 0; i < len; ++i) {
        double v = fabs(a[i] - b[i]);
        if (v > e || v != v) e = v;
    }
    return e;
}

/* ---- the CPU backend as the reference of the CUDA results ---- */

/* Elements of each gradient (dQ dp dG dh dA db) for d's sharing. */
static void tq_grad_lens(const tq_data *d, size_t lens[6])
{
    size_t n = d->n, m = d->m, k = d->k;
    size_t per[6] = {n * n, n, m * n, m, k * n, k};
    unsigned bits[6] = {DOPT_QP_SHARE_Q, DOPT_QP_SHARE_P, DOPT_QP_SHARE_G,
                        DOPT_QP_SHARE_H, DOPT_QP_SHARE_A, DOPT_QP_SHARE_B};
    for (int t = 0; t < 6; ++t) lens[t] = per[t] * tq_copies(d, bits[t]);
}

/* Solves d (its host arrays) on a fresh CPU context into o; with gx != NULL
 * also the backward of <gx, x> + <glam, lam> + <gnu, nu> (host arrays,
 * glam/gnu may be NULL) into grad[6] (sized by tq_grad_lens). */
static void tq_cpu_reference(const tq_data *d, const dopt_qp_options *opt, tq_out *o, const double *gx,
                             const double *glam, const double *gnu, double **grad)
{
    dopt_context *cpu = NULL;
    if (dopt_context_create(&cpu, DOPT_BACKEND_CPU) != DOPT_OK) {
        CHECK(0, "cannot create the CPU reference context");
        dopt_context_destroy(cpu);
        return;
    }
    tq_data h = *d;
    h.dQ = h.Q, h.dp = h.p, h.dG = h.G, h.dh = h.h, h.dA = h.A, h.db = h.b;
    dopt_qp_problem P = tq_problem(&h);
    dopt_qp_solution s = {o->x, o->lam, o->nu, o->status, o->iters};
    dopt_qp_tape *tape = NULL;
    dopt_status st = dopt_qp_solve(cpu, &P, opt, &s, gx ? &tape : NULL);
    CHECK(st == DOPT_OK, "CPU reference solve: %s", dopt_context_last_error(cpu));
    if (gx && st == DOPT_OK) {
        dopt_qp_grad_in gin = {gx, d->m ? glam : NULL, d->k ? gnu : NULL};
        dopt_qp_grad_out gout = {grad[0], grad[1], d->m ? grad[2] : NULL, d->m ? grad[3] : NULL,
                                 d->k ? grad[4] : NULL, d->k ? grad[5] : NULL};
        st = dopt_qp_backward(cpu, tape, &gin, &gout);
        CHECK(st == DOPT_OK, "CPU reference backward: %s", dopt_context_last_error(cpu));
    }
    dopt_qp_tape_destroy(tape);
    dopt_context_destroy(cpu);
}

/* The test's results o (and gradients grad, or NULL) against the CPU
 * backend's on the same data. On the CPU the arithmetic is the same and
 * deterministic, so they must be bitwise equal (a fresh context, other
 * thread counts allowed). On CUDA it is not the same (nvcc contracts
 * a*b+c into fused multiply-adds, cuBLAS/cuSOLVER sum in their own order on
 * the large-n path), so the caller bounds the difference: statuses equal,
 * max |x - x_cpu| <= xbound, and each gradient within gbound times its
 * largest CPU entry (at least 1e-2, as the finite-difference checks). */
static void tq_check_against_cpu(const char *what, const tq_data *d, const dopt_qp_options *opt, const tq_out *o,
                                 double xbound, const double *gx, const double *glam, const double *gnu,
                                 double **grad, double gbound)
{
    size_t b = (size_t)d->B, lens[6];
    tq_grad_lens(d, lens);
    tq_out r = tq_out_alloc(d);
    double *rg[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    if (grad)
        for (int t = 0; t < 6; ++t) rg[t] = tq_alloc(lens[t]);
    tq_cpu_reference(d, opt, &r, grad ? gx : NULL, glam, gnu, rg);
    static const char *names[6] = {"dQ", "dp", "dG", "dh", "dA", "db"};
    if (!tu_cuda()) {
        CHECK(!memcmp(o->x, r.x, sizeof(double) * b * d->n) && !memcmp(o->lam, r.lam, sizeof(double) * b * d->m) &&
                  !memcmp(o->nu, r.nu, sizeof(double) * b * d->k) && !memcmp(o->status, r.status, 4 * b),
              "%s: the CPU backend's result differs between two contexts", what);
        for (int t = 0; t < 6 && grad; ++t)
            CHECK(!memcmp(grad[t], rg[t], sizeof(double) * lens[t]), "%s: %s differs between two CPU contexts", what,
                  names[t]);
    } else {
        CHECK(!memcmp(o->status, r.status, 4 * b), "%s: statuses differ from the CPU backend's", what);
        double dx = tq_max_abs_diff(b * d->n, o->x, r.x);
        CHECK(dx <= xbound, "%s: max |x - x_cpu| = %.3e > %.3e", what, dx, xbound);
        for (int t = 0; t < 6 && grad; ++t) {
            double big = 1e-2;
            for (size_t j = 0; j < lens[t]; ++j)
                if (fabs(rg[t][j]) > big) big = fabs(rg[t][j]);
            double dg = tq_max_abs_diff(lens[t], grad[t], rg[t]);
            CHECK(dg <= gbound * big, "%s: max |%s - %s_cpu| = %.3e > %.3e", what, names[t], names[t], dg,
                  gbound * big);
        }
    }
    for (int t = 0; t < 6; ++t) free(rg[t]);
    tq_out_free(&r);
}

#endif
