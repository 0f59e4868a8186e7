/* Ragged (heterogeneous) QP batches: every instance of a shuffled mixed
 * batch, solved in one ragged call, gets bitwise what solving it alone
 * (dopt_qp_solve, batch 1) gives, forward and backward, in both precisions
 * and for several thread counts; bad sizes and buffers are clear errors;
 * a tape moves between uniform and ragged calls; a 100,000-instance mixed
 * batch with infeasible and invalid instances runs (under ASan by `make
 * sanitize`). */
#include <pthread.h>

#include "qp_generate.h"
#include "qp_ragged.h" /* dopt_qp_ragged_group_stats; qp_ipm.h: the pad kernels */
#include "test_util.h"

typedef struct {
    int64_t B;
    int32_t *n, *m, *k;
    int64_t *oQ, *on, *oG, *om, *oA, *ok; /* B + 1 each */
    double *Q, *p, *G, *h, *A, *b;        /* float64 master copy */
    int has_Q;
} rq_batch;

static void *rq_calloc(size_t count, size_t size) { return calloc(count ? count : 1, size); }

static void rq_offsets(rq_batch *r)
{
    r->oQ = (int64_t *)rq_calloc((size_t)r->B + 1, 8);
    r->on = (int64_t *)rq_calloc((size_t)r->B + 1, 8);
    r->oG = (int64_t *)rq_calloc((size_t)r->B + 1, 8);
    r->om = (int64_t *)rq_calloc((size_t)r->B + 1, 8);
    r->oA = (int64_t *)rq_calloc((size_t)r->B + 1, 8);
    r->ok = (int64_t *)rq_calloc((size_t)r->B + 1, 8);
    for (int64_t i = 0; i < r->B; ++i) {
        int64_t n = r->n[i], m = r->m[i], k = r->k[i];
        r->oQ[i + 1] = r->oQ[i] + n * n;
        r->on[i + 1] = r->on[i] + n;
        r->oG[i + 1] = r->oG[i] + m * n;
        r->om[i + 1] = r->om[i] + m;
        r->oA[i + 1] = r->oA[i] + k * n;
        r->ok[i + 1] = r->ok[i] + k;
    }
}

/* Kinds of instance in the mixed batch. */
enum { RQ_CONVEX, RQ_PSD, RQ_LP, RQ_INFEASIBLE, RQ_UNBOUNDED, RQ_NAN, RQ_ABSENT_ROW, RQ_KINDS };

/* A mixed batch: sizes drawn in [1, max_n], every kind present; Q kept
 * (zero for LPs) unless lp_only, which makes every instance an LP and
 * drops Q. */
static rq_batch rq_make_kinds(int64_t B, int max_n, uint64_t seed, int lp_only, int unique)
{
    rq_batch r;
    memset(&r, 0, sizeof r);
    r.B = B;
    r.has_Q = !lp_only;
    r.n = (int32_t *)rq_calloc((size_t)B, 4);
    r.m = (int32_t *)rq_calloc((size_t)B, 4);
    r.k = (int32_t *)rq_calloc((size_t)B, 4);
    int *kind = (int *)rq_calloc((size_t)B, sizeof(int));
    tu_seed(seed);
    for (int64_t i = 0; i < B; ++i) {
        int n = 1 + (int)(tu_next() % (uint64_t)max_n);
        int kd = lp_only ? (i % 3 == 0 ? RQ_UNBOUNDED : RQ_LP) : (int)(tu_next() % RQ_KINDS);
        if (unique && (kd == RQ_PSD || kd == RQ_LP)) kd = RQ_CONVEX; /* a unique solution to compare */
        int k = (int)(tu_next() % (uint64_t)(n / 2 + 1));
        int m = (int)(tu_next() % (uint64_t)(2 * n + 1));
        if (kd == RQ_LP && m < n - k) m = n - k;
        if ((kd == RQ_INFEASIBLE || kd == RQ_ABSENT_ROW) && m < 2) m = 2;
        if (kd == RQ_UNBOUNDED) m = k = 0;
        if (tu_next() % 7 == 0 && kd != RQ_LP && kd != RQ_INFEASIBLE && kd != RQ_ABSENT_ROW) m = 0;
        r.n[i] = n;
        r.m[i] = m;
        r.k[i] = k;
        kind[i] = kd;
    }
    rq_offsets(&r);
    r.Q = (double *)rq_calloc((size_t)r.oQ[B], 8);
    r.p = (double *)rq_calloc((size_t)r.on[B], 8);
    r.G = (double *)rq_calloc((size_t)r.oG[B], 8);
    r.h = (double *)rq_calloc((size_t)r.om[B], 8);
    r.A = (double *)rq_calloc((size_t)r.oA[B], 8);
    r.b = (double *)rq_calloc((size_t)r.ok[B], 8);
    for (int64_t i = 0; i < B; ++i) {
        int n = r.n[i], m = r.m[i], k = r.k[i];
        double *Q = r.Q + r.oQ[i], *p = r.p + r.on[i], *G = r.G + r.oG[i], *h = r.h + r.om[i];
        dopt_gen_kind g = kind[i] == RQ_PSD ? DOPT_GEN_PSD : kind[i] == RQ_LP ? DOPT_GEN_LP : DOPT_GEN_STRICTLY_CONVEX;
        if (kind[i] == RQ_UNBOUNDED) {
            for (int j = 0; j < n; ++j) p[j] = j % 2 ? 1.0 : -1.0; /* Q = 0, no rows */
            continue;
        }
        dopt_qp_generate(1, n, m, k, g, 10.0, seed * 1000 + (uint64_t)i, Q, p, G, h, r.A + r.oA[i], r.b + r.ok[i],
                         NULL, NULL, NULL);
        if (kind[i] == RQ_INFEASIBLE) { /* G_0 x <= h_0 and G_0 x >= h_0 + 1 */
            for (int j = 0; j < n; ++j) G[n + j] = -G[j];
            h[1] = -h[0] - 1;
        }
        if (kind[i] == RQ_NAN) p[0] = NAN;
        if (kind[i] == RQ_ABSENT_ROW) h[m - 1] = INFINITY;
    }
    free(kind);
    return r;
}

static rq_batch rq_make(int64_t B, int max_n, uint64_t seed, int lp_only)
{
    return rq_make_kinds(B, max_n, seed, lp_only, 0);
}

static void rq_free(rq_batch *r)
{
    void *f[] = {r->n, r->m, r->k, r->oQ, r->on, r->oG, r->om, r->oA, r->ok, r->Q, r->p, r->G, r->h, r->A, r->b};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; ++i) free(f[i]);
}

/* An array of len float64 values in the dtype (a fresh copy). */
static void *rq_cast(const double *src, size_t len, dopt_dtype dt)
{
    if (dt == DOPT_FLOAT64) {
        double *d = (double *)rq_calloc(len, 8);
        if (len) memcpy(d, src, 8 * len);
        return d;
    }
    float *f = (float *)rq_calloc(len, 4);
    for (size_t i = 0; i < len; ++i) f[i] = (float)src[i];
    return f;
}

typedef struct {
    void *Q, *p, *G, *h, *A, *b;
} rq_data;

static rq_data rq_data_of(const rq_batch *r, dopt_dtype dt)
{
    rq_data d;
    int64_t B = r->B;
    d.Q = r->has_Q ? rq_cast(r->Q, (size_t)r->oQ[B], dt) : NULL;
    d.p = rq_cast(r->p, (size_t)r->on[B], dt);
    d.G = rq_cast(r->G, (size_t)r->oG[B], dt);
    d.h = rq_cast(r->h, (size_t)r->om[B], dt);
    d.A = rq_cast(r->A, (size_t)r->oA[B], dt);
    d.b = rq_cast(r->b, (size_t)r->ok[B], dt);
    return d;
}

static void rq_data_free(rq_data *d)
{
    free(d->Q);
    free(d->p);
    free(d->G);
    free(d->h);
    free(d->A);
    free(d->b);
}

static dopt_qp_ragged_problem rq_problem(const rq_batch *r, const rq_data *d, dopt_dtype dt)
{
    dopt_qp_ragged_problem P = {r->B, r->n, r->m, r->k, dt, d->Q, d->p, d->G, d->h, d->A, d->b};
    return P;
}

typedef struct {
    void *x, *lam, *nu;
    int32_t *status, *iters;
    void *dQ, *dp, *dG, *dh, *dA, *db;
} rq_out;

static rq_out rq_out_alloc(const rq_batch *r, size_t es)
{
    int64_t B = r->B;
    rq_out o;
    o.x = rq_calloc((size_t)r->on[B], es);
    o.lam = rq_calloc((size_t)r->om[B], es);
    o.nu = rq_calloc((size_t)r->ok[B], es);
    o.status = (int32_t *)rq_calloc((size_t)B, 4);
    o.iters = (int32_t *)rq_calloc((size_t)B, 4);
    o.dQ = rq_calloc((size_t)r->oQ[B], es);
    o.dp = rq_calloc((size_t)r->on[B], es);
    o.dG = rq_calloc((size_t)r->oG[B], es);
    o.dh = rq_calloc((size_t)r->om[B], es);
    o.dA = rq_calloc((size_t)r->oA[B], es);
    o.db = rq_calloc((size_t)r->ok[B], es);
    return o;
}

static void rq_out_free(rq_out *o)
{
    void *f[] = {o->x, o->lam, o->nu, o->status, o->iters, o->dQ, o->dp, o->dG, o->dh, o->dA, o->db};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; ++i) free(f[i]);
}

/* Incoming gradients: float64 master values cast to dt. */
typedef struct {
    void *gx, *glam, *gnu;
} rq_gin;

static rq_gin rq_gin_make(const rq_batch *r, dopt_dtype dt, uint64_t seed)
{
    int64_t B = r->B;
    size_t ln = (size_t)r->on[B], lm = (size_t)r->om[B], lk = (size_t)r->ok[B];
    double *t = (double *)rq_calloc(ln + lm + lk, 8);
    tu_seed(seed);
    for (size_t i = 0; i < ln + lm + lk; ++i) t[i] = tu_normal();
    rq_gin g = {rq_cast(t, ln, dt), rq_cast(t + ln, lm, dt), rq_cast(t + ln + lm, lk, dt)};
    free(t);
    return g;
}

#define AT(ptr, off, es) ((ptr) ? (void *)((char *)(ptr) + (size_t)(off) * (es)) : NULL)

/* Instance i solved alone (dopt_qp_solve, batch 1) and differentiated with
 * the same incoming gradient, into o at i's offsets. */
static void rq_solve_alone(const rq_batch *r, const rq_data *d, dopt_dtype dt, const rq_gin *g, int64_t i,
                           rq_out *o)
{
    size_t es = dt == DOPT_FLOAT64 ? 8 : 4;
    int n = r->n[i], m = r->m[i], k = r->k[i];
    dopt_qp_problem P = {1, n, m, k, dt,
                         AT(d->Q, r->oQ[i], es), AT(d->p, r->on[i], es),
                         m ? AT(d->G, r->oG[i], es) : NULL, m ? AT(d->h, r->om[i], es) : NULL,
                         k ? AT(d->A, r->oA[i], es) : NULL, k ? AT(d->b, r->ok[i], es) : NULL, 0};
    dopt_qp_solution s = {AT(o->x, r->on[i], es), m ? AT(o->lam, r->om[i], es) : NULL,
                          k ? AT(o->nu, r->ok[i], es) : NULL, o->status + i, o->iters + i};
    dopt_qp_tape *tape = NULL;
    CHECK_OK(dopt_qp_solve(tu_ctx, &P, NULL, &s, &tape));
    if (!g) {
        dopt_qp_tape_destroy(tape);
        return;
    }
    dopt_qp_grad_in gi = {AT(g->gx, r->on[i], es), m ? AT(g->glam, r->om[i], es) : NULL,
                          k ? AT(g->gnu, r->ok[i], es) : NULL};
    dopt_qp_grad_out go = {AT(o->dQ, r->oQ[i], es), AT(o->dp, r->on[i], es), m ? AT(o->dG, r->oG[i], es) : NULL,
                           m ? AT(o->dh, r->om[i], es) : NULL, k ? AT(o->dA, r->oA[i], es) : NULL,
                           k ? AT(o->db, r->ok[i], es) : NULL};
    CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gi, &go));
    dopt_qp_tape_destroy(tape);
}

static int rq_same(const void *a, const void *b, size_t bytes) { return bytes == 0 || memcmp(a, b, bytes) == 0; }

/* Every output of the ragged call equals the one-at-a-time reference bitwise. */
static void rq_compare(const char *what, const rq_batch *r, size_t es, const rq_out *got, const rq_out *ref,
                       int grads)
{
    int64_t B = r->B;
    CHECK(rq_same(got->status, ref->status, 4 * (size_t)B), "%s: status", what);
    CHECK(rq_same(got->iters, ref->iters, 4 * (size_t)B), "%s: iters", what);
    CHECK(rq_same(got->x, ref->x, es * (size_t)r->on[B]), "%s: x", what);
    CHECK(rq_same(got->lam, ref->lam, es * (size_t)r->om[B]), "%s: lam", what);
    CHECK(rq_same(got->nu, ref->nu, es * (size_t)r->ok[B]), "%s: nu", what);
    if (!grads) return;
    CHECK(rq_same(got->dQ, ref->dQ, es * (size_t)r->oQ[B]), "%s: dQ", what);
    CHECK(rq_same(got->dp, ref->dp, es * (size_t)r->on[B]), "%s: dp", what);
    CHECK(rq_same(got->dG, ref->dG, es * (size_t)r->oG[B]), "%s: dG", what);
    CHECK(rq_same(got->dh, ref->dh, es * (size_t)r->om[B]), "%s: dh", what);
    CHECK(rq_same(got->dA, ref->dA, es * (size_t)r->oA[B]), "%s: dA", what);
    CHECK(rq_same(got->db, ref->db, es * (size_t)r->ok[B]), "%s: db", what);
}

static dopt_qp_solution rq_sol(rq_out *o) { return (dopt_qp_solution){o->x, o->lam, o->nu, o->status, o->iters}; }
static dopt_qp_grad_out rq_gout(rq_out *o) { return (dopt_qp_grad_out){o->dQ, o->dp, o->dG, o->dh, o->dA, o->db}; }

/* The main property, for one batch, dtype and thread count. */
static void rq_check_bitwise(const char *what, const rq_batch *r, dopt_dtype dt, int threads)
{
    size_t es = dt == DOPT_FLOAT64 ? 8 : 4;
    rq_data d = rq_data_of(r, dt);
    rq_gin g = rq_gin_make(r, dt, 99);
    rq_out ref = rq_out_alloc(r, es), got = rq_out_alloc(r, es);
    CHECK_OK(dopt_context_set_threads(tu_ctx, 1));
    for (int64_t i = 0; i < r->B; ++i) rq_solve_alone(r, &d, dt, &g, i, &ref);
    CHECK_OK(dopt_context_set_threads(tu_ctx, threads));
    dopt_qp_ragged_problem P = rq_problem(r, &d, dt);
    dopt_qp_solution s = rq_sol(&got);
    dopt_qp_tape *tape = NULL;
    CHECK_OK(dopt_qp_ragged_solve(tu_ctx, &P, NULL, &s, &tape));
    dopt_qp_grad_in gi = {g.gx, g.glam, g.gnu};
    dopt_qp_grad_out go = rq_gout(&got);
    CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gi, &go));
    char label[160];
    snprintf(label, sizeof label, "%s (%s, %d threads)", what, dt == DOPT_FLOAT64 ? "f64" : "f32", threads);
    rq_compare(label, r, es, &got, &ref, 1);
    /* a second backward on the same tape (its scratch reused) gives the same */
    rq_out again = rq_out_alloc(r, es);
    dopt_qp_grad_out go2 = rq_gout(&again);
    CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gi, &go2));
    CHECK(rq_same(again.dG, got.dG, es * (size_t)r->oG[r->B]) && rq_same(again.dQ, got.dQ, es * (size_t)r->oQ[r->B]),
          "%s: repeated backward", label);
    /* every status occurs that the batch was built to contain */
    int seen[8] = {0};
    for (int64_t i = 0; i < r->B; ++i)
        if (got.status[i] >= 0 && got.status[i] < 8) seen[got.status[i]] = 1;
    CHECK(seen[DOPT_SOLVED] && seen[DOPT_DUAL_INFEASIBLE], "%s: solved and unbounded instances present", label);
    if (r->has_Q)
        CHECK(seen[DOPT_PRIMAL_INFEASIBLE] && seen[DOPT_INVALID_DATA], "%s: infeasible and invalid present", label);
    dopt_qp_tape_destroy(tape);
    rq_out_free(&again);
    rq_out_free(&ref);
    rq_out_free(&got);
    free(g.gx);
    free(g.glam);
    free(g.gnu);
    rq_data_free(&d);
}

/* A tape refilled by a uniform call after a ragged one, and again by a
 * ragged one, still differentiates its latest call. */
static void rq_check_tape_reuse(void)
{
    rq_batch r = rq_make(12, 6, 5, 0);
    rq_data d = rq_data_of(&r, DOPT_FLOAT64);
    rq_gin g = rq_gin_make(&r, DOPT_FLOAT64, 3);
    rq_out ref = rq_out_alloc(&r, 8), got = rq_out_alloc(&r, 8);
    for (int64_t i = 0; i < r.B; ++i) rq_solve_alone(&r, &d, DOPT_FLOAT64, &g, i, &ref);
    dopt_qp_ragged_problem P = rq_problem(&r, &d, DOPT_FLOAT64);
    dopt_qp_solution s = rq_sol(&got);
    dopt_qp_tape *tape = NULL;
    CHECK_OK(dopt_qp_ragged_solve(tu_ctx, &P, NULL, &s, &tape));
    /* uniform: instance 0 alone, differentiated through the same tape */
    int n0 = r.n[0], m0 = r.m[0], k0 = r.k[0];
    dopt_qp_problem U = {1, n0, m0, k0, DOPT_FLOAT64, d.Q, d.p, m0 ? d.G : NULL, m0 ? d.h : NULL,
                         k0 ? d.A : NULL, k0 ? d.b : NULL, 0};
    double ux[64], ul[64], un[64], udp[64];
    int32_t ust;
    dopt_qp_solution us = {ux, ul, un, &ust, NULL};
    CHECK_OK(dopt_qp_solve(tu_ctx, &U, NULL, &us, &tape));
    CHECK(tape != NULL, "uniform refill keeps a tape");
    dopt_qp_grad_in ugi = {g.gx, m0 ? g.glam : NULL, k0 ? g.gnu : NULL};
    dopt_qp_grad_out ugo = {NULL, udp, NULL, NULL, NULL, NULL};
    CHECK_OK(dopt_qp_backward(tu_ctx, tape, &ugi, &ugo));
    CHECK(rq_same(udp, ref.dp, 8 * (size_t)n0), "uniform call on a ragged tape: dp");
    /* and back to ragged */
    CHECK_OK(dopt_qp_ragged_solve(tu_ctx, &P, NULL, &s, &tape));
    dopt_qp_grad_in gi = {g.gx, g.glam, g.gnu};
    dopt_qp_grad_out go = rq_gout(&got);
    CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gi, &go));
    rq_compare("ragged after uniform on one tape", &r, 8, &got, &ref, 1);
    dopt_qp_tape_destroy(tape);
    rq_out_free(&ref);
    rq_out_free(&got);
    free(g.gx);
    free(g.glam);
    free(g.gnu);
    rq_data_free(&d);
    rq_free(&r);
}

static int rq_error_says(dopt_status st, const char *needle)
{
    return st == DOPT_ERR_INVALID_ARGUMENT && strstr(dopt_context_last_error(tu_ctx), needle) != NULL;
}

static void rq_check_bad_input(void)
{
    rq_batch r = rq_make(6, 4, 11, 0);
    rq_data d = rq_data_of(&r, DOPT_FLOAT64);
    rq_out o = rq_out_alloc(&r, 8);
    dopt_qp_solution s = rq_sol(&o);
    dopt_qp_ragged_problem P = rq_problem(&r, &d, DOPT_FLOAT64);
    dopt_qp_tape *tape = NULL;
    CHECK_OK(dopt_qp_ragged_solve(tu_ctx, &P, NULL, &s, &tape));
    CHECK(tape != NULL, "a tape");
    int32_t keep = r.n[3];
    r.n[3] = 0;
    dopt_status st = dopt_qp_ragged_solve(tu_ctx, &P, NULL, &s, &tape);
    CHECK(rq_error_says(st, "n[3] = 0"), "n[3] = 0 -> %s", dopt_context_last_error(tu_ctx));
    CHECK(tape == NULL, "a failed call leaves no tape (the old one is destroyed)");
    r.n[3] = 5000;
    st = dopt_qp_ragged_solve(tu_ctx, &P, NULL, &s, NULL);
    CHECK(rq_error_says(st, "n[3] = 5000"), "n too large -> %s", dopt_context_last_error(tu_ctx));
    r.n[3] = keep;
    keep = r.m[2];
    r.m[2] = -1;
    st = dopt_qp_ragged_solve(tu_ctx, &P, NULL, &s, NULL);
    CHECK(rq_error_says(st, "m[2] = -1"), "m < 0 -> %s", dopt_context_last_error(tu_ctx));
    r.m[2] = keep;
    r.k[5] = -3;
    st = dopt_qp_ragged_solve(tu_ctx, &P, NULL, &s, NULL);
    CHECK(rq_error_says(st, "k[5] = -3"), "k < 0 -> %s", dopt_context_last_error(tu_ctx));
    r.k[5] = 0;
    dopt_qp_ragged_problem bad = P;
    bad.batch = -1;
    CHECK(rq_error_says(dopt_qp_ragged_solve(tu_ctx, &bad, NULL, &s, NULL), "batch"), "negative batch");
    bad = P;
    bad.n = NULL;
    CHECK(rq_error_says(dopt_qp_ragged_solve(tu_ctx, &bad, NULL, &s, NULL), "n"), "NULL n");
    bad = P;
    bad.p = NULL;
    CHECK(rq_error_says(dopt_qp_ragged_solve(tu_ctx, &bad, NULL, &s, NULL), "p is NULL"), "NULL p");
    bad = P;
    bad.G = NULL;
    CHECK(rq_error_says(dopt_qp_ragged_solve(tu_ctx, &bad, NULL, &s, NULL), "G or h"), "NULL G");
    bad = P;
    bad.dtype = (dopt_dtype)7;
    CHECK(rq_error_says(dopt_qp_ragged_solve(tu_ctx, &bad, NULL, &s, NULL), "dtype"), "bad dtype");
    dopt_qp_solution nos = s;
    nos.x = NULL;
    CHECK(rq_error_says(dopt_qp_ragged_solve(tu_ctx, &P, NULL, &nos, NULL), "solution buffers"), "NULL x");
    dopt_qp_options opt;
    dopt_qp_options_default(&opt, DOPT_FLOAT64);
    opt.tol = -1;
    CHECK(rq_error_says(dopt_qp_ragged_solve(tu_ctx, &P, &opt, &s, NULL), "options"), "bad options");
    /* m, k NULL: all zero (every instance of this batch then unconstrained) */
    bad = P;
    bad.m = bad.k = NULL;
    CHECK_OK(dopt_qp_ragged_solve(tu_ctx, &bad, NULL, &s, NULL));
    /* empty batch */
    bad = P;
    bad.batch = 0;
    CHECK_OK(dopt_qp_ragged_solve(tu_ctx, &bad, NULL, NULL, &tape));
    dopt_qp_grad_in gi = {NULL, NULL, NULL};
    dopt_qp_grad_out go = {NULL, NULL, NULL, NULL, NULL, NULL};
    CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gi, &go));
    dopt_qp_tape_destroy(tape);
    CHECK(dopt_context_set_ragged_policy(tu_ctx, (dopt_ragged_policy)9, 0) == DOPT_ERR_INVALID_ARGUMENT,
          "unknown policy");
    CHECK(dopt_context_set_ragged_policy(tu_ctx, DOPT_RAGGED_PAD, 1.5) == DOPT_ERR_INVALID_ARGUMENT, "waste >= 1");
    rq_out_free(&o);
    rq_data_free(&d);
    rq_free(&r);
}

/* 100,000 tiny mixed instances (infeasible, unbounded, invalid among them):
 * the call completes, every status is a public outcome, and a sample of
 * instances equals its solve alone. */
static void rq_check_stress(void)
{
    rq_batch r = rq_make(100000, 4, 21, 0);
    rq_data d = rq_data_of(&r, DOPT_FLOAT64);
    rq_out o = rq_out_alloc(&r, 8), ref = rq_out_alloc(&r, 8);
    dopt_qp_ragged_problem P = rq_problem(&r, &d, DOPT_FLOAT64);
    dopt_qp_solution s = rq_sol(&o);
    CHECK_OK(dopt_context_set_threads(tu_ctx, 0));
    CHECK_OK(dopt_qp_ragged_solve(tu_ctx, &P, NULL, &s, NULL));
    int64_t count[8] = {0}, other = 0;
    for (int64_t i = 0; i < r.B; ++i) {
        if (o.status[i] >= 0 && o.status[i] < 8) ++count[o.status[i]];
        else ++other;
    }
    CHECK(other == 0, "every status a public outcome");
    CHECK(count[DOPT_SOLVED] > 50000 && count[DOPT_PRIMAL_INFEASIBLE] > 0 && count[DOPT_DUAL_INFEASIBLE] > 0 &&
              count[DOPT_INVALID_DATA] > 0,
          "mixed outcomes: solved %lld infeasible %lld unbounded %lld invalid %lld", (long long)count[0],
          (long long)count[1], (long long)count[2], (long long)count[5]);
    int sample_ok = 1;
    for (int64_t i = 0; i < r.B; i += 997) {
        rq_solve_alone(&r, &d, DOPT_FLOAT64, NULL, i, &ref);
        int n = r.n[i];
        if (ref.status[i] != o.status[i] ||
            memcmp((double *)ref.x + r.on[i], (double *)o.x + r.on[i], 8 * (size_t)n) != 0)
            sample_ok = 0;
    }
    CHECK(sample_ok, "sampled instances equal their solve alone");
    printf("stress: %lld instances: solved %lld, infeasible %lld, unbounded %lld, invalid %lld\n", (long long)r.B,
           (long long)count[0], (long long)count[1], (long long)count[2], (long long)count[5]);
    rq_out_free(&o);
    rq_out_free(&ref);
    rq_data_free(&d);
    rq_free(&r);
}


/* The grouped path. EXACT classes: a class is a uniform batch of copies
 * and the CPU's uniform batch runs the per-instance code, so everything is
 * bitwise what AUTO (and solving each alone) gives when Q is given. */
static void rq_check_exact_classes(const rq_batch *mixed)
{
    CHECK_OK(dopt_context_set_ragged_policy(tu_ctx, DOPT_RAGGED_EXACT, 0));
    rq_check_bitwise("EXACT classes", mixed, DOPT_FLOAT64, 2);
    rq_check_bitwise("EXACT classes", mixed, DOPT_FLOAT32, 1);
    rq_data d = rq_data_of(mixed, DOPT_FLOAT64);
    rq_out o = rq_out_alloc(mixed, 8);
    dopt_qp_ragged_problem P = rq_problem(mixed, &d, DOPT_FLOAT64);
    dopt_qp_solution s = rq_sol(&o);
    dopt_qp_tape *tape = NULL;
    CHECK_OK(dopt_qp_ragged_solve(tu_ctx, &P, NULL, &s, &tape));
    int64_t classes = 0, padded = -1;
    dopt_qp_ragged_group_stats(tape, &classes, &padded);
    CHECK(classes > 1 && classes <= mixed->B && padded == 0, "EXACT: %lld classes, %lld padded", (long long)classes,
          (long long)padded);
    dopt_qp_tape_destroy(tape);
    rq_out_free(&o);
    rq_data_free(&d);
    CHECK_OK(dopt_context_set_ragged_policy(tu_ctx, DOPT_RAGGED_AUTO, 0));
}

static double rq_rel_gap(size_t len, const void *a, const void *b, size_t es, const double *scale_of)
{
    double worst = 0;
    for (size_t i = 0; i < len; ++i) {
        double x = es == 8 ? ((const double *)a)[i] : ((const float *)a)[i];
        double y = es == 8 ? ((const double *)b)[i] : ((const float *)b)[i];
        double e = fabs(x - y) / (1 + (scale_of ? *scale_of : fabs(y)));
        if (!(e <= worst)) worst = e; /* NaN propagates */
    }
    return worst;
}

/* PAD classes: padding changes neither the solution nor the gradient,
 * beyond the solver's tolerance. Instances with unique solutions
 * (strictly convex; infeasible, unbounded, invalid ones for the statuses). */
static void rq_check_padded_classes(dopt_dtype dt)
{
    size_t es = dt == DOPT_FLOAT64 ? 8 : 4;
    rq_batch r = rq_make_kinds(80, 12, 31, 0, 1);
    rq_data d = rq_data_of(&r, dt);
    rq_gin g = rq_gin_make(&r, dt, 17);
    rq_out ex = rq_out_alloc(&r, es), pad = rq_out_alloc(&r, es);
    dopt_qp_ragged_problem P = rq_problem(&r, &d, dt);
    dopt_qp_grad_in gi = {g.gx, g.glam, g.gnu};
    dopt_qp_tape *tape = NULL;
    dopt_qp_solution s = rq_sol(&ex);
    dopt_qp_grad_out go = rq_gout(&ex);
    CHECK_OK(dopt_qp_ragged_solve(tu_ctx, &P, NULL, &s, &tape));
    CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gi, &go));
    CHECK_OK(dopt_context_set_ragged_policy(tu_ctx, DOPT_RAGGED_PAD, 0.9));
    s = rq_sol(&pad);
    go = rq_gout(&pad);
    CHECK_OK(dopt_qp_ragged_solve(tu_ctx, &P, NULL, &s, &tape)); /* the native tape refilled as grouped */
    CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gi, &go));
    int64_t classes = 0, padded = 0;
    dopt_qp_ragged_group_stats(tape, &classes, &padded);
    /* equality rows limit which sizes can share a class (N - n >= K - k) */
    CHECK(padded >= r.B / 4 && classes <= 3 * r.B / 4, "PAD: %lld classes, %lld of %lld instances padded", (long long)classes,
          (long long)padded, (long long)r.B);
    CHECK(rq_same(ex.status, pad.status, 4 * (size_t)r.B), "PAD: the same statuses");
    /* solved instances: the tolerances are the solver's (relative KKT
     * residual 1e-8 / 1e-4) times the conditioning of these generated
     * problems (cond 10), with a margin of 10 */
    double tol = dt == DOPT_FLOAT64 ? 1e-6 : 1e-2, gtol = dt == DOPT_FLOAT64 ? 1e-5 : 5e-2;
    double wx = 0, wl = 0, wg[6] = {0};
    for (int64_t i = 0; i < r.B; ++i) {
        if (ex.status[i] != DOPT_SOLVED) continue;
        int n = r.n[i], m = r.m[i], k = r.k[i];
        double e;
        if ((e = rq_rel_gap((size_t)n, (char *)pad.x + es * r.on[i], (char *)ex.x + es * r.on[i], es, NULL)) > wx) wx = e;
        if ((e = rq_rel_gap((size_t)m, (char *)pad.lam + es * r.om[i], (char *)ex.lam + es * r.om[i], es, NULL)) > wl) wl = e;
        if ((e = rq_rel_gap((size_t)k, (char *)pad.nu + es * r.ok[i], (char *)ex.nu + es * r.ok[i], es, NULL)) > wl) wl = e;
        int64_t off[6] = {r.oQ[i], r.on[i], r.oG[i], r.om[i], r.oA[i], r.ok[i]};
        size_t len[6] = {(size_t)n * n, (size_t)n, (size_t)m * n, (size_t)m, (size_t)k * n, (size_t)k};
        void *pg[6] = {pad.dQ, pad.dp, pad.dG, pad.dh, pad.dA, pad.db}, *eg[6] = {ex.dQ, ex.dp, ex.dG, ex.dh, ex.dA, ex.db};
        for (int t = 0; t < 6; ++t)
            if ((e = rq_rel_gap(len[t], (char *)pg[t] + es * off[t], (char *)eg[t] + es * off[t], es, NULL)) > wg[t])
                wg[t] = e;
    }
    const char *label = dt == DOPT_FLOAT64 ? "f64" : "f32";
    CHECK(wx <= tol && wl <= 10 * tol, "PAD %s: x within %g (%g), duals within %g (%g)", label, tol, wx, 10 * tol, wl);
    for (int t = 0; t < 6; ++t)
        CHECK(wg[t] <= gtol, "PAD %s: gradient %d within %g (%g)", label, t, gtol, wg[t]);
    printf("PAD %s: %lld classes, %lld padded; worst relative gaps x %.2g, duals %.2g, grads %.2g %.2g %.2g %.2g %.2g %.2g\n",
           label, (long long)classes, (long long)padded, wx, wl, wg[0], wg[1], wg[2], wg[3], wg[4], wg[5]);
    /* unsolved instances: zero gradients either way */
    CHECK_OK(dopt_context_set_ragged_policy(tu_ctx, DOPT_RAGGED_AUTO, 0));
    dopt_qp_tape_destroy(tape);
    rq_out_free(&ex);
    rq_out_free(&pad);
    free(g.gx);
    free(g.glam);
    free(g.gnu);
    rq_data_free(&d);
    rq_free(&r);
}

/* The padding itself: one instance padded by the kernels' pad function to
 * a larger class and solved as a uniform batch keeps its padded variables
 * at exactly 0, its padded duals at 0, and its own part equal to its solve
 * alone within the tolerance. */
static void rq_check_pad_kernel(void)
{
    int n = 4, m = 3, k = 1, N = 7, M = 5, K = 3;
    double Q[16], p[4], G[12], h[3], A[4], b[1];
    dopt_qp_generate(1, n, m, k, DOPT_GEN_STRICTLY_CONVEX, 10.0, 77, Q, p, G, h, A, b, NULL, NULL, NULL);
    int32_t nn = n, mm = m, kk = k;
    int64_t z = 0, oQ[2] = {0, 16}, on[2] = {0, 4}, oG[2] = {0, 12}, om[2] = {0, 3}, oA[2] = {0, 4}, ok[2] = {0, 1};
    dopt_qp_ragged_index ix = {&nn, &mm, &kk, oQ, on, oG, om, oA, ok, &z};
    double Qc[49], pc[7], Gc[35], hc[5], Ac[21], bc[3];
    qp_ragged_pad_data_d(&ix, Q, p, G, h, A, b, 0, N, M, K, 0, Qc, pc, Gc, hc, Ac, bc);
    double x[7], lam[5], nu[3], xs[4], ls[3], ns[1];
    int32_t st, sts;
    dopt_qp_problem U = {1, N, M, K, DOPT_FLOAT64, Qc, pc, Gc, hc, Ac, bc, 0};
    dopt_qp_solution us = {x, lam, nu, &st, NULL};
    CHECK_OK(dopt_qp_solve(tu_ctx, &U, NULL, &us, NULL));
    dopt_qp_problem S = {1, n, m, k, DOPT_FLOAT64, Q, p, G, h, A, b, 0};
    dopt_qp_solution ss = {xs, ls, ns, &sts, NULL};
    CHECK_OK(dopt_qp_solve(tu_ctx, &S, NULL, &ss, NULL));
    CHECK(st == DOPT_SOLVED && sts == DOPT_SOLVED, "both solved (%d, %d)", st, sts);
    for (int j = n; j < N; ++j) CHECK(x[j] == 0, "padded x[%d] = %g", j, x[j]);
    for (int r = m; r < M; ++r) CHECK(lam[r] == 0, "padded lam[%d] = %g", r, lam[r]);
    for (int r = k; r < K; ++r) CHECK(nu[r] == 0, "padded nu[%d] = %g", r, nu[r]);
    CHECK(rq_rel_gap(4, x, xs, 8, NULL) < 1e-6, "the real part equals the solve alone");
    for (int r = k; r < K; ++r) CHECK(Ac[r * N + n + (r - k)] == 1 && bc[r] == 0, "padded row %d pairs with a padded variable", r);
    CHECK(isinf(hc[M - 1]) && hc[M - 1] > 0, "padded inequality rows are absent (h = +inf)");
}

/* The CUDA backend (size classes, padded, over the uniform CUDA solver):
 * against the CPU's native path within the solver's tolerance. */
static void rq_check_cuda_against_cpu(dopt_dtype dt)
{
    size_t es = dt == DOPT_FLOAT64 ? 8 : 4;
    rq_batch r = rq_make_kinds(60, 12, 41, 0, 1);
    int64_t B = r.B;
    rq_data d = rq_data_of(&r, dt);
    rq_gin g = rq_gin_make(&r, dt, 5);
    rq_out cpu = rq_out_alloc(&r, es), gpu = rq_out_alloc(&r, es);
    dopt_context *host = NULL;
    CHECK(dopt_context_create(&host, DOPT_BACKEND_CPU) == DOPT_OK, "a CPU context");
    dopt_qp_ragged_problem P = rq_problem(&r, &d, dt);
    dopt_qp_solution s = rq_sol(&cpu);
    dopt_qp_grad_out go = rq_gout(&cpu);
    dopt_qp_grad_in gi = {g.gx, g.glam, g.gnu};
    dopt_qp_tape *tape = NULL;
    CHECK(dopt_qp_ragged_solve(host, &P, NULL, &s, &tape) == DOPT_OK, "cpu solve");
    CHECK(dopt_qp_backward(host, tape, &gi, &go) == DOPT_OK, "cpu backward");
    dopt_qp_tape_destroy(tape);
    tape = NULL;
    size_t len[6] = {(size_t)r.oQ[B], (size_t)r.on[B], (size_t)r.oG[B], (size_t)r.om[B], (size_t)r.oA[B],
                     (size_t)r.ok[B]};
    void *hin[6] = {d.Q, d.p, d.G, d.h, d.A, d.b}, *din[6];
    for (int t = 0; t < 6; ++t) din[t] = tu_dev(hin[t], len[t] * es + 1);
    void *hg[3] = {g.gx, g.glam, g.gnu}, *dg[3];
    size_t glen[3] = {len[1], len[3], len[5]};
    for (int t = 0; t < 3; ++t) dg[t] = tu_dev(hg[t], glen[t] * es + 1);
    void *hout[5] = {gpu.x, gpu.lam, gpu.nu, gpu.status, gpu.iters}, *dout[5];
    size_t olen[5] = {len[1] * es, len[3] * es, len[5] * es, 4 * (size_t)B, 4 * (size_t)B};
    for (int t = 0; t < 5; ++t) dout[t] = tu_dev_out(hout[t], olen[t] + 1);
    void *hgo[6] = {gpu.dQ, gpu.dp, gpu.dG, gpu.dh, gpu.dA, gpu.db}, *dgo[6];
    for (int t = 0; t < 6; ++t) dgo[t] = tu_dev_out(hgo[t], len[t] * es + 1);
    dopt_qp_ragged_problem DP = {B, r.n, r.m, r.k, dt, din[0], din[1], din[2], din[3], din[4], din[5]};
    dopt_qp_solution ds = {dout[0], dout[1], dout[2], (int32_t *)dout[3], (int32_t *)dout[4]};
    CHECK_OK(dopt_qp_ragged_solve(tu_ctx, &DP, NULL, &ds, &tape));
    dopt_qp_grad_in dgi = {dg[0], dg[1], dg[2]};
    dopt_qp_grad_out dgo_ = {dgo[0], dgo[1], dgo[2], dgo[3], dgo[4], dgo[5]};
    CHECK_OK(dopt_qp_backward(tu_ctx, tape, &dgi, &dgo_));
    for (int t = 0; t < 5; ++t) tu_host(hout[t], dout[t], olen[t]);
    for (int t = 0; t < 6; ++t) tu_host(hgo[t], dgo[t], len[t] * es);
    CHECK(rq_same(cpu.status, gpu.status, 4 * (size_t)B), "cuda: the CPU's statuses");
    double tol = dt == DOPT_FLOAT64 ? 1e-6 : 1e-2, gtol = dt == DOPT_FLOAT64 ? 1e-5 : 5e-2, wx = 0, wg = 0;
    for (int64_t i = 0; i < B; ++i) {
        if (cpu.status[i] != DOPT_SOLVED) continue;
        double e = rq_rel_gap((size_t)r.n[i], (char *)gpu.x + es * r.on[i], (char *)cpu.x + es * r.on[i], es, NULL);
        if (e > wx) wx = e;
        e = rq_rel_gap((size_t)r.n[i], (char *)gpu.dp + es * r.on[i], (char *)cpu.dp + es * r.on[i], es, NULL);
        if (e > wg) wg = e;
        e = rq_rel_gap((size_t)r.m[i] * r.n[i], (char *)gpu.dG + es * r.oG[i], (char *)cpu.dG + es * r.oG[i], es, NULL);
        if (e > wg) wg = e;
    }
    CHECK(wx <= tol && wg <= gtol, "cuda vs cpu: x %g (<= %g), gradients %g (<= %g)", wx, tol, wg, gtol);
    dopt_qp_tape_destroy(tape);
    for (int t = 0; t < 6; ++t) {
        tu_dev_free(hin[t], din[t]);
        tu_dev_free(hgo[t], dgo[t]);
    }
    for (int t = 0; t < 3; ++t) tu_dev_free(hg[t], dg[t]);
    for (int t = 0; t < 5; ++t) tu_dev_free(hout[t], dout[t]);
    dopt_context_destroy(host);
    rq_out_free(&cpu);
    rq_out_free(&gpu);
    free(g.gx);
    free(g.glam);
    free(g.gnu);
    rq_data_free(&d);
    rq_free(&r);
}

/* Several host threads, each with its own context, solving and
 * differentiating ragged batches at the same time: each gets what the
 * same call gives alone (bitwise). */
typedef struct {
    const rq_batch *r;
    const rq_data *d;
    const rq_gin *g;
    rq_out out;
    int policy;
    int ok;
} rq_thread_job;

static void *rq_thread_main(void *arg)
{
    rq_thread_job *j = (rq_thread_job *)arg;
    dopt_context *ctx = NULL;
    j->ok = dopt_context_create(&ctx, DOPT_BACKEND_CPU) == DOPT_OK &&
            dopt_context_set_threads(ctx, 2) == DOPT_OK &&
            dopt_context_set_ragged_policy(ctx, (dopt_ragged_policy)j->policy, 0.5) == DOPT_OK;
    dopt_qp_ragged_problem P = rq_problem(j->r, j->d, DOPT_FLOAT64);
    dopt_qp_solution s = rq_sol(&j->out);
    dopt_qp_grad_out go = rq_gout(&j->out);
    dopt_qp_grad_in gi = {j->g->gx, j->g->glam, j->g->gnu};
    dopt_qp_tape *tape = NULL;
    for (int rep = 0; rep < 3 && j->ok; ++rep)
        j->ok = dopt_qp_ragged_solve(ctx, &P, NULL, &s, &tape) == DOPT_OK &&
                dopt_qp_backward(ctx, tape, &gi, &go) == DOPT_OK;
    dopt_qp_tape_destroy(tape);
    dopt_context_destroy(ctx);
    return NULL;
}

static void rq_check_concurrent(void)
{
    rq_batch r = rq_make(40, 10, 9, 0);
    rq_data d = rq_data_of(&r, DOPT_FLOAT64);
    rq_gin g = rq_gin_make(&r, DOPT_FLOAT64, 4);
    enum { T = 4 };
    rq_thread_job job[T];
    pthread_t tid[T];
    for (int t = 0; t < T; ++t) {
        job[t].r = &r;
        job[t].d = &d;
        job[t].g = &g;
        job[t].out = rq_out_alloc(&r, 8);
        job[t].policy = t % 2 ? DOPT_RAGGED_PAD : DOPT_RAGGED_AUTO;
        job[t].ok = 0;
    }
    for (int t = 0; t < T; ++t) CHECK(pthread_create(&tid[t], NULL, rq_thread_main, &job[t]) == 0, "thread %d", t);
    for (int t = 0; t < T; ++t) pthread_join(tid[t], NULL);
    for (int t = 0; t < T; ++t) CHECK(job[t].ok, "thread %d's calls succeeded", t);
    rq_compare("concurrent AUTO contexts", &r, 8, &job[2].out, &job[0].out, 1);
    rq_compare("concurrent PAD contexts", &r, 8, &job[3].out, &job[1].out, 1);
    for (int t = 0; t < T; ++t) rq_out_free(&job[t].out);
    free(g.gx);
    free(g.glam);
    free(g.gnu);
    rq_data_free(&d);
    rq_free(&r);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    if (tu_cuda()) { /* device memory: the staged comparison with the CPU only */
        rq_check_cuda_against_cpu(DOPT_FLOAT64);
        rq_check_cuda_against_cpu(DOPT_FLOAT32);
        return tu_finish("test_qp_ragged (cuda)");
    }
    rq_batch mixed = rq_make(60, 14, 1, 0);
    rq_batch lps = rq_make(20, 8, 2, 1);
    int threads[] = {1, 2, 3};
    for (int t = 0; t < 3; ++t) {
        rq_check_bitwise("mixed batch", &mixed, DOPT_FLOAT64, threads[t]);
        rq_check_bitwise("mixed batch", &mixed, DOPT_FLOAT32, threads[t]);
    }
    rq_check_bitwise("LPs, Q NULL", &lps, DOPT_FLOAT64, 2);
    rq_check_bitwise("LPs, Q NULL", &lps, DOPT_FLOAT32, 2);
    rq_check_tape_reuse();
    rq_check_pad_kernel();
    rq_check_exact_classes(&mixed);
    rq_check_padded_classes(DOPT_FLOAT64);
    rq_check_padded_classes(DOPT_FLOAT32);
    rq_check_bad_input();
    rq_check_concurrent();
    rq_check_stress();
    rq_free(&mixed);
    rq_free(&lps);
    return tu_finish("test_qp_ragged");
}
