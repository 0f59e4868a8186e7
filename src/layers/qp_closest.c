/* Closest-feasible QPs: for an instance whose constraints Gx <= h, Ax = b
 * are infeasible, the solution of
 *     minimize 1/2 x'Qx + p'x  s.t.  Gx <= h + t,  Ax = b + r
 * with (t, r) the least-norm shift that makes them feasible. Two QPs of this
 * layer, solved as sub-batches of the infeasible instances only:
 *
 *  phase 1, in (x, t, r):  minimize 1/2||t||^2 + 1/2||r||^2
 *                          s.t. Gx - t <= h,  Ax - r = b
 *    always feasible and bounded below; strictly convex in (t, r), so the
 *    shift is unique, and by its KKT conditions it equals the phase's own
 *    multipliers: t = lam1 >= 0, r = nu1, with G't + A'r = 0.
 *
 *  the shifted QP. Its feasible set {Gx <= h + t, Ax = b + r} has no
 *    interior: t'(Gx - h - t) + r'(Ax - b - r) = 0 on it (G't + A'r = 0 and
 *    h't + b'r = -||(t, r)||^2), so every row with t_i > 0 holds with
 *    equality. An interior point method needs that said explicitly: those
 *    rows (t_i above the row's phase-1 slack) become equality rows with
 *    right-hand side G_i x1, the other rows keep G_i x <= max(h_i, G_i x1),
 *    and Ax = A x1, where x1 is phase 1's x. The right-hand sides are
 *    consistent (x1 satisfies them), which the dependent rows need.
 *
 * Gradients (the backward): the total derivative of x, through the shifted
 * problem (h' = h + t, b' = b + r as its data) and through the shift's
 * dependence on (G, h, A, b), the phase-1 layer's backward with incoming
 * dL/dt = dL/dh', dL/dr = dL/db'. The shifted problem's multipliers are not
 * unique (any multiple of (t, r) may be added); that freedom changes the
 * pieces but not their sum along every perturbation under which the
 * solution is differentiable (docs/QP.md).
 *
 * The sub-problems are staged through host memory (the backend's
 * upload/download), so the same code serves both backends; the cost is
 * only paid for infeasible instances, and only when the mode is on. */
#include "qp_closest.h"

#include "backend.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { BUF_Q1, BUF_P1, BUF_G1, BUF_H1, BUF_A1, BUF_B1, BUF_X1, BUF_LAM1, BUF_NU1, BUF_ST1, BUF_IT1,
       BUF_Q2, BUF_P2, BUF_G2, BUF_H2, BUF_A2, BUF_B2, BUF_X2, BUF_LAM2, BUF_NU2, BUF_ST2, BUF_IT2, BUF_COUNT };

struct dopt_qp_closest {
    int64_t count;   /* infeasible instances */
    int64_t *index;  /* host: their positions in the batch */
    int32_t n, m, k;
    int8_t *row_eq;  /* host, count x m: 1 where the row became an equality of the shifted QP */
    void *buf[BUF_COUNT]; /* backend memory: the sub-problems' data and solutions */
    dopt_qp_problem p1, p2;
    dopt_qp_tape *t1, *t2;
};

void dopt_qp_closest_free(struct dopt_qp_closest *c, const struct dopt_backend_ops *ops, int device)
{
    if (!c) return;
    dopt_qp_tape_destroy(c->t1);
    dopt_qp_tape_destroy(c->t2);
    for (int b = 0; b < BUF_COUNT; ++b)
        if (c->buf[b]) ops->free(device, c->buf[b]);
    free(c->index);
    free(c->row_eq);
    free(c);
}

static size_t elem_size(dopt_dtype dt) { return dt == DOPT_FLOAT64 ? sizeof(double) : sizeof(float); }

/* dst[0..count) = the backend array src from element `off`, as double. */
static dopt_status fetch(dopt_context *ctx, dopt_dtype dt, const void *src, size_t off, size_t count, double *dst)
{
    if (count == 0) return DOPT_OK;
    size_t es = elem_size(dt);
    if (dt == DOPT_FLOAT64) return DOPT_CALL(ctx, download, dst, (const char *)src + off * es, count * es);
    float *tmp = (float *)malloc(count * sizeof(float));
    if (!tmp) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp closest: out of memory");
    dopt_status st = DOPT_CALL(ctx, download, tmp, (const char *)src + off * es, count * es);
    for (size_t e = 0; e < count && st == DOPT_OK; ++e) dst[e] = tmp[e];
    free(tmp);
    return st;
}

/* The backend array dst from element `off` = src[0..count) in dtype dt. */
static dopt_status store(dopt_context *ctx, dopt_dtype dt, void *dst, size_t off, size_t count, const double *src)
{
    if (count == 0) return DOPT_OK;
    size_t es = elem_size(dt);
    if (dt == DOPT_FLOAT64) return DOPT_CALL(ctx, upload, (char *)dst + off * es, src, count * es);
    float *tmp = (float *)malloc(count * sizeof(float));
    if (!tmp) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp closest: out of memory");
    for (size_t e = 0; e < count; ++e) tmp[e] = (float)src[e];
    dopt_status st = DOPT_CALL(ctx, upload, (char *)dst + off * es, tmp, count * es);
    free(tmp);
    return st;
}

/* c->buf[slot] = `bytes` of backend memory (at least 1). */
static dopt_status grab(dopt_context *ctx, struct dopt_qp_closest *c, int slot, size_t bytes)
{
    return DOPT_CALL(ctx, alloc, bytes ? bytes : 1, &c->buf[slot]);
}

/* A backend copy of host doubles in dtype dt, in c->buf[slot]. */
static dopt_status grab_from(dopt_context *ctx, struct dopt_qp_closest *c, int slot, dopt_dtype dt,
                             const double *src, size_t count)
{
    DOPT_TRY(grab(ctx, c, slot, count * elem_size(dt)));
    return store(ctx, dt, c->buf[slot], 0, count, src);
}

/* Host arrays of the infeasible instances' data, as double (Q, p only for
 * the instances' x-part of the shifted problem, which takes them from the
 * caller's arrays directly when shared). */
typedef struct {
    double *G, *h, *A, *b, *x1, *t, *r, *x2, *lam2, *nu2, *lam, *nu;
    int32_t *st1, *it1, *st2, *it2, *status, *iters;
} host_arrays;

static void host_free(host_arrays *H)
{
    void *p[] = {H->G, H->h, H->A, H->b, H->x1, H->t, H->r, H->x2, H->lam2, H->nu2, H->lam, H->nu,
                 H->st1, H->it1, H->st2, H->it2, H->status, H->iters};
    for (size_t e = 0; e < sizeof p / sizeof p[0]; ++e) free(p[e]);
}

/* The caller's per-instance array `src` (elements of `per` each), gathered
 * for the instances in index into a new backend buffer c->buf[slot]. */
static dopt_status gather(dopt_context *ctx, struct dopt_qp_closest *c, int slot, dopt_dtype dt, const void *src,
                          size_t per)
{
    size_t es = elem_size(dt);
    DOPT_TRY(grab(ctx, c, slot, (size_t)c->count * per * es));
    for (int64_t j = 0; j < c->count && per > 0; ++j)
        DOPT_TRY(DOPT_CALL(ctx, copy, (char *)c->buf[slot] + (size_t)j * per * es,
                           (const char *)src + (size_t)c->index[j] * per * es, per * es));
    return DOPT_OK;
}

static dopt_status build_and_solve(dopt_context *ctx, struct dopt_qp_closest *c, const dopt_qp_problem *P,
                                   const dopt_qp_options *o, dopt_qp_solution *sol, int want_tape, host_arrays *H)
{
    const int64_t C = c->count;
    const int n = P->n, m = P->m, k = P->k, n1 = n + m + k, k2 = k + m;
    const dopt_dtype dt = P->dtype;
    const uint32_t sh = P->shared;
    dopt_qp_options sub = *o;
    sub.infeasible_mode = DOPT_QP_INFEASIBLE_REPORT;
    /* phase 1 in float64 to 1/100 of tol: the closest point's error is phase
     * 1's, amplified (measured: x off by ~ 1e2 tol at tol = 1e-8); one more
     * iteration buys the factor. float32 has no digits to spare. */
    dopt_qp_options sub1 = sub;
    if (P->dtype == DOPT_FLOAT64) sub1.tol = o->tol * 1e-2 > 1e-13 ? o->tol * 1e-2 : 1e-13;

    /* the instances' G, h, A, b on the host */
    H->G = (double *)malloc(sizeof(double) * ((size_t)C * m * n + 1));
    H->h = (double *)malloc(sizeof(double) * ((size_t)C * m + 1));
    H->A = (double *)malloc(sizeof(double) * ((size_t)C * k * n + 1));
    H->b = (double *)malloc(sizeof(double) * ((size_t)C * k + 1));
    if (!H->G || !H->h || !H->A || !H->b) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp closest: out of memory");
    for (int64_t j = 0; j < C; ++j) {
        size_t i = (size_t)c->index[j];
        size_t mn = (size_t)m * n, kn = (size_t)k * n;
        if (m) {
            DOPT_TRY(fetch(ctx, dt, P->G, (sh & DOPT_QP_SHARE_G) ? 0 : i * mn, mn, H->G + j * mn));
            DOPT_TRY(fetch(ctx, dt, P->h, (sh & DOPT_QP_SHARE_H) ? 0 : i * m, (size_t)m, H->h + j * m));
        }
        if (k) {
            DOPT_TRY(fetch(ctx, dt, P->A, (sh & DOPT_QP_SHARE_A) ? 0 : i * kn, kn, H->A + j * kn));
            DOPT_TRY(fetch(ctx, dt, P->b, (sh & DOPT_QP_SHARE_B) ? 0 : i * k, (size_t)k, H->b + j * k));
        }
    }

    /* ---- phase 1: minimize 1/2||t||^2 + 1/2||r||^2, Gx - t <= h, Ax - r = b */
    {
        size_t n1n1 = (size_t)n1 * n1;
        double *Q1 = (double *)calloc(n1n1 + (size_t)n1, sizeof(double));
        if (!Q1) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp closest: out of memory");
        for (int j = n; j < n1; ++j) Q1[(size_t)j * n1 + j] = 1;
        dopt_status st = grab_from(ctx, c, BUF_Q1, dt, Q1, n1n1);
        if (st == DOPT_OK) st = grab_from(ctx, c, BUF_P1, dt, Q1 + n1n1, (size_t)n1); /* zeros */
        free(Q1);
        DOPT_TRY(st);
    }
    if (m) {
        double *G1 = (double *)calloc((size_t)C * m * n1, sizeof(double));
        if (!G1) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp closest: out of memory");
        for (int64_t j = 0; j < C; ++j)
            for (int r = 0; r < m; ++r) {
                double *row = G1 + ((size_t)j * m + r) * n1;
                memcpy(row, H->G + ((size_t)j * m + r) * n, sizeof(double) * n);
                row[n + r] = -1;
            }
        dopt_status st = grab_from(ctx, c, BUF_G1, dt, G1, (size_t)C * m * n1);
        free(G1);
        DOPT_TRY(st);
        DOPT_TRY(grab_from(ctx, c, BUF_H1, dt, H->h, (size_t)C * m));
    }
    if (k) {
        double *A1 = (double *)calloc((size_t)C * k * n1, sizeof(double));
        if (!A1) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp closest: out of memory");
        for (int64_t j = 0; j < C; ++j)
            for (int r = 0; r < k; ++r) {
                double *row = A1 + ((size_t)j * k + r) * n1;
                memcpy(row, H->A + ((size_t)j * k + r) * n, sizeof(double) * n);
                row[n + m + r] = -1;
            }
        dopt_status st = grab_from(ctx, c, BUF_A1, dt, A1, (size_t)C * k * n1);
        free(A1);
        DOPT_TRY(st);
        DOPT_TRY(grab_from(ctx, c, BUF_B1, dt, H->b, (size_t)C * k));
    }
    size_t es = elem_size(dt);
    DOPT_TRY(grab(ctx, c, BUF_X1, (size_t)C * n1 * es));
    DOPT_TRY(grab(ctx, c, BUF_LAM1, (size_t)C * m * es));
    DOPT_TRY(grab(ctx, c, BUF_NU1, (size_t)C * k * es));
    DOPT_TRY(grab(ctx, c, BUF_ST1, (size_t)C * sizeof(int32_t)));
    DOPT_TRY(grab(ctx, c, BUF_IT1, (size_t)C * sizeof(int32_t)));
    dopt_qp_problem *P1 = &c->p1;
    memset(P1, 0, sizeof *P1);
    P1->batch = C;
    P1->n = n1;
    P1->m = m;
    P1->k = k;
    P1->dtype = dt;
    P1->Q = c->buf[BUF_Q1];
    P1->p = c->buf[BUF_P1];
    P1->G = m ? c->buf[BUF_G1] : NULL;
    P1->h = m ? c->buf[BUF_H1] : NULL;
    P1->A = k ? c->buf[BUF_A1] : NULL;
    P1->b = k ? c->buf[BUF_B1] : NULL;
    P1->shared = DOPT_QP_SHARE_Q | DOPT_QP_SHARE_P;
    dopt_qp_solution s1 = {c->buf[BUF_X1], c->buf[BUF_LAM1], c->buf[BUF_NU1], (int32_t *)c->buf[BUF_ST1],
                           (int32_t *)c->buf[BUF_IT1]};
    DOPT_TRY(dopt_qp_solve(ctx, P1, &sub1, &s1, want_tape ? &c->t1 : NULL));

    H->x1 = (double *)malloc(sizeof(double) * ((size_t)C * n1 + 1));
    H->t = (double *)malloc(sizeof(double) * ((size_t)C * m + 1));
    H->r = (double *)malloc(sizeof(double) * ((size_t)C * k + 1));
    H->st1 = (int32_t *)malloc(sizeof(int32_t) * (size_t)C);
    H->it1 = (int32_t *)malloc(sizeof(int32_t) * (size_t)C);
    c->row_eq = (int8_t *)calloc((size_t)C * m + 1, 1);
    if (!H->x1 || !H->t || !H->r || !H->st1 || !H->it1 || !c->row_eq)
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp closest: out of memory");
    DOPT_TRY(fetch(ctx, dt, c->buf[BUF_X1], 0, (size_t)C * n1, H->x1));
    DOPT_TRY(fetch(ctx, dt, c->buf[BUF_LAM1], 0, (size_t)C * m, H->t));
    DOPT_TRY(fetch(ctx, dt, c->buf[BUF_NU1], 0, (size_t)C * k, H->r));
    DOPT_TRY(DOPT_CALL(ctx, download, H->st1, c->buf[BUF_ST1], sizeof(int32_t) * (size_t)C));
    DOPT_TRY(DOPT_CALL(ctx, download, H->it1, c->buf[BUF_IT1], sizeof(int32_t) * (size_t)C));

    /* ---- the shifted problem, rows with t_i > 0 as equalities */
    {
        double *h2 = (double *)malloc(sizeof(double) * ((size_t)C * m + 1));
        double *A2 = (double *)calloc((size_t)C * k2 * n + 1, sizeof(double));
        double *b2 = (double *)calloc((size_t)C * k2 + 1, sizeof(double));
        dopt_status st = h2 && A2 && b2 ? DOPT_OK : dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp closest: out of memory");
        for (int64_t j = 0; j < C && st == DOPT_OK; ++j) {
            const double *x1 = H->x1 + (size_t)j * n1, *t = H->t + (size_t)j * m;
            for (int r = 0; r < k; ++r) {
                const double *a = H->A + ((size_t)j * k + r) * n;
                double ax = 0;
                for (int e = 0; e < n; ++e) ax += a[e] * x1[e];
                memcpy(A2 + ((size_t)j * k2 + r) * n, a, sizeof(double) * n);
                b2[(size_t)j * k2 + r] = ax;
            }
            for (int r = 0; r < m; ++r) {
                const double *g = H->G + ((size_t)j * m + r) * n;
                double hr = H->h[(size_t)j * m + r];
                double gx = 0;
                for (int e = 0; e < n; ++e) gx += g[e] * x1[e];
                if (!(hr <= DBL_MAX)) {
                    h2[(size_t)j * m + r] = INFINITY; /* absent in the problem, absent here */
                } else if (t[r] > 0 && t[r] > hr + x1[n + r] - gx) {
                    /* the multiplier t_i exceeds the row's slack in phase 1 (the
                     * usual interior point test of activity): t_i > 0, so the row
                     * holds with equality on the shifted problem's whole feasible
                     * set. Left an inequality, it would be forced tight only
                     * through t'(Gx - h - t) = 0, to within (phase-1 error) / t_i. */
                    c->row_eq[(size_t)j * m + r] = 1;
                    h2[(size_t)j * m + r] = INFINITY;
                    memcpy(A2 + ((size_t)j * k2 + k + r) * n, g, sizeof(double) * n);
                    b2[(size_t)j * k2 + k + r] = gx;
                } else {
                    h2[(size_t)j * m + r] = gx > hr ? gx : hr;
                }
            }
        }
        if (st == DOPT_OK && m) st = grab_from(ctx, c, BUF_H2, dt, h2, (size_t)C * m);
        if (st == DOPT_OK && k2) st = grab_from(ctx, c, BUF_A2, dt, A2, (size_t)C * k2 * n);
        if (st == DOPT_OK && k2) st = grab_from(ctx, c, BUF_B2, dt, b2, (size_t)C * k2);
        free(h2);
        free(A2);
        free(b2);
        DOPT_TRY(st);
    }
    dopt_qp_problem *P2 = &c->p2;
    memset(P2, 0, sizeof *P2);
    P2->batch = C;
    P2->n = n;
    P2->m = m;
    P2->k = k2;
    P2->dtype = dt;
    /* Q, p, G as the caller shares them (their gradients then come out summed as the caller's do) */
    if (!P->Q || (sh & DOPT_QP_SHARE_Q)) {
        P2->Q = P->Q;
        P2->shared |= DOPT_QP_SHARE_Q;
    } else {
        DOPT_TRY(gather(ctx, c, BUF_Q2, dt, P->Q, (size_t)n * n));
        P2->Q = c->buf[BUF_Q2];
    }
    if (sh & DOPT_QP_SHARE_P) {
        P2->p = P->p;
        P2->shared |= DOPT_QP_SHARE_P;
    } else {
        DOPT_TRY(gather(ctx, c, BUF_P2, dt, P->p, (size_t)n));
        P2->p = c->buf[BUF_P2];
    }
    if (m) {
        if (sh & DOPT_QP_SHARE_G) {
            P2->G = P->G;
            P2->shared |= DOPT_QP_SHARE_G;
        } else {
            DOPT_TRY(gather(ctx, c, BUF_G2, dt, P->G, (size_t)m * n));
            P2->G = c->buf[BUF_G2];
        }
        P2->h = c->buf[BUF_H2];
    }
    P2->A = k2 ? c->buf[BUF_A2] : NULL;
    P2->b = k2 ? c->buf[BUF_B2] : NULL;
    DOPT_TRY(grab(ctx, c, BUF_X2, (size_t)C * n * es));
    DOPT_TRY(grab(ctx, c, BUF_LAM2, (size_t)C * m * es));
    DOPT_TRY(grab(ctx, c, BUF_NU2, (size_t)C * k2 * es));
    DOPT_TRY(grab(ctx, c, BUF_ST2, (size_t)C * sizeof(int32_t)));
    DOPT_TRY(grab(ctx, c, BUF_IT2, (size_t)C * sizeof(int32_t)));
    dopt_qp_solution s2 = {c->buf[BUF_X2], c->buf[BUF_LAM2], c->buf[BUF_NU2], (int32_t *)c->buf[BUF_ST2],
                           (int32_t *)c->buf[BUF_IT2]};
    DOPT_TRY(dopt_qp_solve(ctx, P2, &sub, &s2, want_tape ? &c->t2 : NULL));

    /* ---- the caller's outputs for these instances */
    H->x2 = (double *)malloc(sizeof(double) * ((size_t)C * n + 1));
    H->lam2 = (double *)malloc(sizeof(double) * ((size_t)C * m + 1));
    H->nu2 = (double *)malloc(sizeof(double) * ((size_t)C * k2 + 1));
    H->lam = (double *)malloc(sizeof(double) * ((size_t)m + 1));
    H->nu = (double *)malloc(sizeof(double) * ((size_t)k + 1));
    H->st2 = (int32_t *)malloc(sizeof(int32_t) * (size_t)C);
    H->it2 = (int32_t *)malloc(sizeof(int32_t) * (size_t)C);
    if (!H->x2 || !H->lam2 || !H->nu2 || !H->lam || !H->nu || !H->st2 || !H->it2)
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp closest: out of memory");
    DOPT_TRY(fetch(ctx, dt, c->buf[BUF_LAM2], 0, (size_t)C * m, H->lam2));
    DOPT_TRY(fetch(ctx, dt, c->buf[BUF_NU2], 0, (size_t)C * k2, H->nu2));
    DOPT_TRY(DOPT_CALL(ctx, download, H->st2, c->buf[BUF_ST2], sizeof(int32_t) * (size_t)C));
    DOPT_TRY(DOPT_CALL(ctx, download, H->it2, c->buf[BUF_IT2], sizeof(int32_t) * (size_t)C));
    for (int64_t j = 0; j < C; ++j) {
        size_t i = (size_t)c->index[j];
        int phase1 = H->st1[j], shifted = H->st2[j];
        int solved1 = phase1 == DOPT_SOLVED || phase1 == DOPT_SOLVED_REDUCED_ACCURACY;
        int solved2 = shifted == DOPT_SOLVED || shifted == DOPT_SOLVED_REDUCED_ACCURACY;
        H->status[i] = !solved1 ? phase1 : solved2 ? DOPT_SOLVED_CLOSEST_FEASIBLE : shifted;
        H->iters[i] += H->it1[j] + H->it2[j];
        DOPT_TRY(DOPT_CALL(ctx, copy, (char *)sol->x + i * (size_t)n * es, (char *)c->buf[BUF_X2] + (size_t)j * n * es,
                           (size_t)n * es));
        /* multipliers of the inequality form: an equality row's nu as its lam, then
         * alpha (t, r) added (G't + A'r = 0 keeps stationarity) with the least
         * alpha >= 0 that makes lam >= 0 */
        const double *t = H->t + (size_t)j * m, *rr = H->r + (size_t)j * k;
        double alpha = 0;
        for (int r = 0; r < m; ++r) {
            int eq = c->row_eq[(size_t)j * m + r];
            H->lam[r] = eq ? H->nu2[(size_t)j * k2 + k + r] : H->lam2[(size_t)j * m + r];
            if (eq && H->lam[r] < 0 && -H->lam[r] / t[r] > alpha) alpha = -H->lam[r] / t[r];
        }
        for (int r = 0; r < m; ++r) {
            int on = H->h[(size_t)j * m + r] <= DBL_MAX;
            H->lam[r] = on ? H->lam[r] + alpha * t[r] : 0;
            if (H->lam[r] < 0) H->lam[r] = 0; /* a rounding-level negative on a row left an inequality */
        }
        for (int r = 0; r < k; ++r) H->nu[r] = H->nu2[(size_t)j * k2 + r] + alpha * rr[r];
        if (m) DOPT_TRY(store(ctx, dt, sol->lam, i * (size_t)m, (size_t)m, H->lam));
        if (k) DOPT_TRY(store(ctx, dt, sol->nu, i * (size_t)k, (size_t)k, H->nu));
    }
    return DOPT_OK;
}

dopt_status dopt_qp_closest_solve(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                                  dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    if (tape && tape->closest) {
        dopt_qp_closest_free(tape->closest, tape->ops, tape->device);
        tape->closest = NULL;
    }
    const int64_t B = P->batch;
    if (B == 0) return DOPT_OK;
    host_arrays H;
    memset(&H, 0, sizeof H);
    H.status = (int32_t *)malloc(sizeof(int32_t) * (size_t)B);
    H.iters = (int32_t *)calloc((size_t)B, sizeof(int32_t));
    if (!H.status || !H.iters) {
        host_free(&H);
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp closest: out of memory");
    }
    dopt_status st = DOPT_CALL(ctx, download, H.status, sol->status, sizeof(int32_t) * (size_t)B);
    if (st == DOPT_OK && sol->iters) st = DOPT_CALL(ctx, download, H.iters, sol->iters, sizeof(int32_t) * (size_t)B);
    int64_t count = 0;
    for (int64_t i = 0; i < B && st == DOPT_OK; ++i) count += H.status[i] == DOPT_PRIMAL_INFEASIBLE;
    if (st != DOPT_OK || count == 0) {
        host_free(&H);
        return st;
    }
    /* phase 1 is a dense QP in n + m + k variables: say so before building
     * its (n + m + k)^2 Q rather than let the sub-solve refuse sizes the
     * caller never gave (the dense layer's n <= 4096, qp_validate) */
    if ((int64_t)P->n + P->m + P->k > 4096) {
        host_free(&H);
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "qp closest feasible: %lld instance(s) infeasible, and the phase-1 problem has n + m + k "
                         "= %lld variables, beyond the dense layer's 4096; use infeasible_mode REPORT",
                         (long long)count, (long long)P->n + P->m + P->k);
    }
    struct dopt_qp_closest *c = (struct dopt_qp_closest *)calloc(1, sizeof *c);
    if (c) c->index = (int64_t *)malloc(sizeof(int64_t) * (size_t)count);
    if (!c || !c->index) {
        free(c);
        host_free(&H);
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp closest: out of memory");
    }
    c->count = count;
    c->n = P->n;
    c->m = P->m;
    c->k = P->k;
    for (int64_t i = 0, j = 0; i < B; ++i)
        if (H.status[i] == DOPT_PRIMAL_INFEASIBLE) c->index[j++] = i;
    char saved[sizeof ctx->error];
    st = build_and_solve(ctx, c, P, o, sol, tape != NULL, &H);
    if (st == DOPT_OK) st = DOPT_CALL(ctx, upload, sol->status, H.status, sizeof(int32_t) * (size_t)B);
    if (st == DOPT_OK && sol->iters)
        st = DOPT_CALL(ctx, upload, sol->iters, H.iters, sizeof(int32_t) * (size_t)B);
    host_free(&H);
    if (st != DOPT_OK) {
        /* the sub-solve's message names "qp"; say where it came from */
        memcpy(saved, ctx->error, sizeof saved);
        dopt_qp_closest_free(c, ctx->ops, ctx->cuda_device);
        return dopt_fail(ctx, st, "qp closest feasible: %s", saved);
    }
    if (tape) tape->closest = c;
    else dopt_qp_closest_free(c, ctx->ops, ctx->cuda_device);
    return DOPT_OK;
}

/* ---- backward -------------------------------------------------------------- */

/* gout's array X (per instance `per` values, or one shared copy) += the
 * closest instances' contributions contrib (C x per, or one summed copy
 * when contrib_summed). */
static dopt_status add_into(dopt_context *ctx, dopt_dtype dt, const struct dopt_qp_closest *c, void *X, int shared,
                            size_t per, const double *contrib, int contrib_summed, double *scratch)
{
    if (!X || per == 0) return DOPT_OK;
    if (shared) {
        DOPT_TRY(fetch(ctx, dt, X, 0, per, scratch));
        for (int64_t j = 0; j < (contrib_summed ? 1 : c->count); ++j)
            for (size_t e = 0; e < per; ++e) scratch[e] += contrib[(size_t)j * per + e];
        return store(ctx, dt, X, 0, per, scratch);
    }
    for (int64_t j = 0; j < c->count; ++j) {
        size_t off = (size_t)c->index[j] * per;
        DOPT_TRY(fetch(ctx, dt, X, off, per, scratch));
        for (size_t e = 0; e < per; ++e) scratch[e] += contrib[(size_t)j * per + e];
        DOPT_TRY(store(ctx, dt, X, off, per, scratch));
    }
    return DOPT_OK;
}

typedef struct {
    void *buf[12]; /* backend scratch of the backward */
    double *host[12];
} bwd_scratch;

static dopt_status closest_backward(dopt_context *ctx, const dopt_qp_tape *tape, const dopt_qp_grad_in *gin,
                                    dopt_qp_grad_out *gout, bwd_scratch *S)
{
    const struct dopt_qp_closest *c = tape->closest;
    const dopt_qp_problem *P = &tape->prob;
    const dopt_dtype dt = P->dtype;
    const size_t es = elem_size(dt);
    const int64_t C = c->count;
    const int n = c->n, m = c->m, k = c->k, n1 = n + m + k, k2 = k + m;
    const uint32_t sh = P->shared;
    const int shQ = !P->Q || (sh & DOPT_QP_SHARE_Q), shP = (sh & DOPT_QP_SHARE_P) != 0,
              shG = (sh & DOPT_QP_SHARE_G) != 0;
    const int want_shift = gout->dG || gout->dh || gout->dA || gout->db;
    enum { GX, DQ, DP, DG, DH, DA, DB, GX1, DG1, DH1, DA1, DB1 };
    size_t cnt[12];
    cnt[GX] = (size_t)C * n;
    cnt[DQ] = gout->dQ ? (size_t)n * n * (shQ ? 1 : (size_t)C) : 0;
    cnt[DP] = gout->dp ? (size_t)n * (shP ? 1 : (size_t)C) : 0;
    cnt[DG] = want_shift && m ? (size_t)m * n * (shG ? 1 : (size_t)C) : 0;
    cnt[DH] = want_shift ? (size_t)C * m : 0;
    cnt[DA] = want_shift ? (size_t)C * k2 * n : 0;
    cnt[DB] = want_shift ? (size_t)C * k2 : 0;
    cnt[GX1] = want_shift ? (size_t)C * n1 : 0;
    cnt[DG1] = want_shift && gout->dG ? (size_t)C * m * n1 : 0;
    cnt[DH1] = want_shift && gout->dh ? (size_t)C * m : 0;
    cnt[DA1] = want_shift && gout->dA ? (size_t)C * k * n1 : 0;
    cnt[DB1] = want_shift && gout->db ? (size_t)C * k : 0;
    for (int b = 0; b < 12; ++b) {
        S->host[b] = (double *)calloc(cnt[b] + 1, sizeof(double));
        if (!S->host[b]) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp closest backward: out of memory");
        if (cnt[b]) DOPT_TRY(DOPT_CALL(ctx, alloc, cnt[b] * es, &S->buf[b]));
    }
    /* the shifted problem's backward with the caller's dL/dx of these instances */
    for (int64_t j = 0; j < C; ++j)
        DOPT_TRY(DOPT_CALL(ctx, copy, (char *)S->buf[GX] + (size_t)j * n * es,
                           (const char *)gin->dx + (size_t)c->index[j] * n * es, (size_t)n * es));
    dopt_qp_grad_in g2 = {S->buf[GX], NULL, NULL};
    dopt_qp_grad_out o2 = {S->buf[DQ], S->buf[DP], S->buf[DG], S->buf[DH], S->buf[DA], S->buf[DB]};
    DOPT_TRY(dopt_qp_backward(ctx, c->t2, &g2, &o2));
    for (int b = DQ; b <= DB; ++b) DOPT_TRY(fetch(ctx, dt, S->buf[b], 0, cnt[b], S->host[b]));
    double *dQ = S->host[DQ], *dp = S->host[DP], *dG = S->host[DG], *dh2 = S->host[DH], *dA2 = S->host[DA],
           *db2 = S->host[DB];

    /* into the caller's layout: dh' and db' (the shifted data's gradients),
     * dG with the equality rows' part, dA */
    double *dGi = (double *)calloc((size_t)C * m * n + 1, sizeof(double));
    double *dhs = (double *)calloc((size_t)C * m + 1, sizeof(double));
    double *dAi = (double *)calloc((size_t)C * k * n + 1, sizeof(double));
    double *dbs = (double *)calloc((size_t)C * k + 1, sizeof(double));
    S->host[GX] = (free(S->host[GX]), dGi); /* freed with the scratch */
    if (!dGi || !dhs || !dAi || !dbs) {
        free(dhs);
        free(dAi);
        free(dbs);
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp closest backward: out of memory");
    }
    dopt_status st = DOPT_OK;
    if (want_shift) {
        for (int64_t j = 0; j < C; ++j) {
            for (int r = 0; r < m; ++r) {
                int eq = c->row_eq[(size_t)j * m + r];
                double *o = dGi + ((size_t)j * m + r) * n;
                if (eq) memcpy(o, dA2 + ((size_t)j * k2 + k + r) * n, sizeof(double) * n);
                else if (!shG) memcpy(o, dG + ((size_t)j * m + r) * n, sizeof(double) * n);
                dhs[(size_t)j * m + r] = eq ? db2[(size_t)j * k2 + k + r] : dh2[(size_t)j * m + r];
            }
            memcpy(dAi + (size_t)j * k * n, dA2 + (size_t)j * k2 * n, sizeof(double) * k * n);
            memcpy(dbs + (size_t)j * k, db2 + (size_t)j * k2, sizeof(double) * k);
        }
        /* the shift's response: phase 1's backward with dL/dt = dh', dL/dr = db' */
        void *gl = NULL, *gn = NULL;
        if (m) st = DOPT_CALL(ctx, alloc, (size_t)C * m * es, &gl);
        if (st == DOPT_OK && k) st = DOPT_CALL(ctx, alloc, (size_t)C * k * es, &gn);
        if (st == DOPT_OK) st = store(ctx, dt, gl, 0, (size_t)C * m, dhs);
        if (st == DOPT_OK) st = store(ctx, dt, gn, 0, (size_t)C * k, dbs);
        if (st == DOPT_OK) st = DOPT_CALL(ctx, set_zero, S->buf[GX1], (size_t)C * n1 * es);
        if (st == DOPT_OK) {
            dopt_qp_grad_in g1 = {S->buf[GX1], gl, gn};
            dopt_qp_grad_out o1 = {NULL, NULL, S->buf[DG1], S->buf[DH1], S->buf[DA1], S->buf[DB1]};
            st = dopt_qp_backward(ctx, c->t1, &g1, &o1);
        }
        if (gl) ctx->ops->free(ctx->cuda_device, gl);
        if (gn) ctx->ops->free(ctx->cuda_device, gn);
        for (int b = DG1; b <= DB1 && st == DOPT_OK; ++b) st = fetch(ctx, dt, S->buf[b], 0, cnt[b], S->host[b]);
        if (st == DOPT_OK) {
            for (int64_t j = 0; j < C; ++j) {
                for (int r = 0; r < m; ++r) {
                    if (gout->dG)
                        for (int e = 0; e < n; ++e)
                            dGi[((size_t)j * m + r) * n + e] += S->host[DG1][((size_t)j * m + r) * n1 + e];
                    if (gout->dh) dhs[(size_t)j * m + r] += S->host[DH1][(size_t)j * m + r];
                }
                for (int r = 0; r < k; ++r) {
                    if (gout->dA)
                        for (int e = 0; e < n; ++e)
                            dAi[((size_t)j * k + r) * n + e] += S->host[DA1][((size_t)j * k + r) * n1 + e];
                    if (gout->db) dbs[(size_t)j * k + r] += S->host[DB1][(size_t)j * k + r];
                }
            }
            if (shG && m) /* the inequality rows' part came out summed */
                for (size_t e = 0; e < (size_t)m * n; ++e) dGi[e] += dG[e];
        }
    }
    double *scratch = (double *)malloc(sizeof(double) * ((size_t)n * n + (size_t)(m + k) * n + (size_t)m + k + 1));
    if (st == DOPT_OK && !scratch) st = dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp closest backward: out of memory");
    if (st == DOPT_OK) st = add_into(ctx, dt, c, gout->dQ, shQ, (size_t)n * n, dQ, shQ, scratch);
    if (st == DOPT_OK) st = add_into(ctx, dt, c, gout->dp, shP, (size_t)n, dp, shP, scratch);
    if (st == DOPT_OK && m) st = add_into(ctx, dt, c, gout->dG, shG, (size_t)m * n, dGi, 0, scratch);
    if (st == DOPT_OK && m)
        st = add_into(ctx, dt, c, gout->dh, (sh & DOPT_QP_SHARE_H) != 0, (size_t)m, dhs, 0, scratch);
    if (st == DOPT_OK && k)
        st = add_into(ctx, dt, c, gout->dA, (sh & DOPT_QP_SHARE_A) != 0, (size_t)k * n, dAi, 0, scratch);
    if (st == DOPT_OK && k)
        st = add_into(ctx, dt, c, gout->db, (sh & DOPT_QP_SHARE_B) != 0, (size_t)k, dbs, 0, scratch);
    free(scratch);
    free(dhs);
    free(dAi);
    free(dbs);
    return st;
}

dopt_status dopt_qp_closest_backward(dopt_context *ctx, const dopt_qp_tape *tape, const dopt_qp_grad_in *gin,
                                     dopt_qp_grad_out *gout)
{
    if (!tape->closest) return DOPT_OK;
    bwd_scratch S;
    memset(&S, 0, sizeof S);
    dopt_status st = closest_backward(ctx, tape, gin, gout, &S);
    for (int b = 0; b < 12; ++b) {
        if (S.buf[b]) ctx->ops->free(ctx->cuda_device, S.buf[b]);
        free(S.host[b]);
    }
    return st;
}
