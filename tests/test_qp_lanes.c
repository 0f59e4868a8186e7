/* The interleaved QP layouts (kernels/qp_ilv_impl.h): the CPU's SIMD lanes
 * and the GPU's warp layout (its code run on the CPU: DOPT_QP_LAYOUT=warp),
 * against the per-instance layout on the CPU backend. Each lane does the
 * per-instance arithmetic in the same order, so the claim tested is the
 * strongest one: x, lam, nu, status, iterations and the gradients of the
 * backward (from the tape the lanes kept) are bitwise equal to the
 * per-instance path's, on mixed batches (solved, primal and dual
 * infeasible, NaN data, a failed Cholesky of H that needs the retries, rows
 * switched off, the iteration limit, reduced accuracy), in float64 and
 * float32, for batch sizes that are not a multiple of the lane count and
 * B = 1, shared parameters, any batch order and any thread count. The
 * layout is forced through DOPT_QP_LAYOUT. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "qp_harness.h"
#include "qp_cpu_layout.h"

typedef struct {
    int64_t B;
    int n, m, k;
    unsigned shared;
    double *Q, *p, *G, *h, *A, *b; /* float64 host data (full batch, or one copy when shared) */
} tl_batch;

typedef struct {
    double *x, *lam, *nu; /* float64 copies of the outputs */
    int32_t *status, *iters;
    double *dQ, *dp, *dG, *dh, *dA, *db; /* gradients (when asked) */
} tl_result;

static size_t tl_copies(const tl_batch *t, unsigned bit) { return (t->shared & bit) ? 1 : (size_t)t->B; }

static void *tl_conv(const double *v, size_t count, int f32)
{
    if (!f32) {
        double *o = (double *)malloc(sizeof(double) * (count ? count : 1));
        if (count) memcpy(o, v, sizeof(double) * count);
        return o;
    }
    float *o = (float *)malloc(sizeof(float) * (count ? count : 1));
    for (size_t i = 0; i < count; ++i) o[i] = (float)v[i];
    return o;
}

static double *tl_back(const void *v, size_t count, int f32)
{
    double *o = (double *)calloc(count ? count : 1, sizeof(double));
    for (size_t i = 0; i < count; ++i) o[i] = f32 ? (double)((const float *)v)[i] : ((const double *)v)[i];
    return o;
}

/* Solves t in `layout` with `threads` threads; with grad, also the backward
 * of the loss sum(x) + sum(lam) + sum(nu) (every gradient output). */
static tl_result tl_solve(const tl_batch *t, int f32, const char *layout, int threads, const dopt_qp_options *opt,
                          int grad)
{
    setenv("DOPT_QP_LAYOUT", layout, 1);
    CHECK_OK(dopt_context_set_threads(tu_ctx, threads));
    size_t B = (size_t)t->B, n = t->n, m = t->m, k = t->k, es = f32 ? sizeof(float) : sizeof(double);
    void *Q = t->Q ? tl_conv(t->Q, tl_copies(t, DOPT_QP_SHARE_Q) * n * n, f32) : NULL;
    void *p = tl_conv(t->p, tl_copies(t, DOPT_QP_SHARE_P) * n, f32);
    void *G = m ? tl_conv(t->G, tl_copies(t, DOPT_QP_SHARE_G) * m * n, f32) : NULL;
    void *h = m ? tl_conv(t->h, tl_copies(t, DOPT_QP_SHARE_H) * m, f32) : NULL;
    void *A = k ? tl_conv(t->A, tl_copies(t, DOPT_QP_SHARE_A) * k * n, f32) : NULL;
    void *b = k ? tl_conv(t->b, tl_copies(t, DOPT_QP_SHARE_B) * k, f32) : NULL;
    dopt_qp_problem P;
    memset(&P, 0, sizeof P);
    P.batch = t->B, P.n = t->n, P.m = t->m, P.k = t->k;
    P.dtype = f32 ? DOPT_FLOAT32 : DOPT_FLOAT64;
    P.Q = Q, P.p = p, P.G = G, P.h = h, P.A = A, P.b = b;
    P.shared = t->shared;
    const char *taken = dopt_qp_cpu_uses_warp(tu_ctx) ? "warp" : dopt_qp_cpu_uses_lanes(tu_ctx, &P) ? "lanes" : "instance";
    CHECK(strcmp(taken, layout) == 0, "layout %s not taken (%s was)", layout, taken);
    dopt_qp_solution s;
    s.x = calloc(B * n + 1, es);
    s.lam = calloc(B * m + 1, es);
    s.nu = calloc(B * k + 1, es);
    s.status = (int32_t *)calloc(B + 1, sizeof(int32_t));
    s.iters = (int32_t *)calloc(B + 1, sizeof(int32_t));
    dopt_qp_tape *tape = NULL;
    CHECK_OK(dopt_qp_solve(tu_ctx, &P, opt, &s, grad ? &tape : NULL));
    tl_result r;
    memset(&r, 0, sizeof r);
    r.x = tl_back(s.x, B * n, f32);
    r.lam = tl_back(s.lam, B * m, f32);
    r.nu = tl_back(s.nu, B * k, f32);
    r.status = s.status;
    r.iters = s.iters;
    if (grad) {
        double *ones = (double *)malloc(sizeof(double) * (B * (n + m + k) + 1));
        for (size_t i = 0; i < B * (n + m + k) + 1; ++i) ones[i] = 1;
        void *gx = tl_conv(ones, B * n, f32), *gl = tl_conv(ones, B * m, f32), *gn = tl_conv(ones, B * k, f32);
        dopt_qp_grad_in gin = {gx, m ? gl : NULL, k ? gn : NULL};
        size_t lens[6] = {tl_copies(t, DOPT_QP_SHARE_Q) * n * n, tl_copies(t, DOPT_QP_SHARE_P) * n,
                          tl_copies(t, DOPT_QP_SHARE_G) * m * n, tl_copies(t, DOPT_QP_SHARE_H) * m,
                          tl_copies(t, DOPT_QP_SHARE_A) * k * n, tl_copies(t, DOPT_QP_SHARE_B) * k};
        if (!t->Q) lens[0] = n * n;
        void *go[6];
        for (int g = 0; g < 6; ++g) go[g] = calloc(lens[g] + 1, es);
        dopt_qp_grad_out gout = {go[0], go[1], m ? go[2] : NULL, m ? go[3] : NULL, k ? go[4] : NULL,
                                 k ? go[5] : NULL};
        CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gin, &gout));
        double **dst[6] = {&r.dQ, &r.dp, &r.dG, &r.dh, &r.dA, &r.db};
        for (int g = 0; g < 6; ++g) {
            *dst[g] = tl_back(go[g], lens[g], f32);
            free(go[g]);
        }
        free(gx), free(gl), free(gn), free(ones);
        dopt_qp_tape_destroy(tape);
    }
    free(s.x), free(s.lam), free(s.nu);
    free(Q), free(p), free(G), free(h), free(A), free(b);
    unsetenv("DOPT_QP_LAYOUT");
    return r;
}

static void tl_result_free(tl_result *r)
{
    free(r->x), free(r->lam), free(r->nu), free(r->status), free(r->iters);
    free(r->dQ), free(r->dp), free(r->dG), free(r->dh), free(r->dA), free(r->db);
    memset(r, 0, sizeof *r);
}

/* bitwise equality (NaN payloads included: memcmp) */
static void tl_same(const char *what, const char *arr, const void *a, const void *b, size_t bytes)
{
    if (bytes == 0) return;
    if (memcmp(a, b, bytes) == 0) {
        ++tu_checks;
        return;
    }
    size_t first = 0;
    while (first < bytes && ((const unsigned char *)a)[first] == ((const unsigned char *)b)[first]) ++first;
    CHECK(0, "%s: %s differs between the layouts (first at byte %zu)", what, arr, first);
}

static void tl_compare(const char *what, const tl_batch *t, const tl_result *a, const tl_result *b, int grad)
{
    size_t B = (size_t)t->B, n = t->n, m = t->m, k = t->k;
    tl_same(what, "status", a->status, b->status, sizeof(int32_t) * B);
    tl_same(what, "iters", a->iters, b->iters, sizeof(int32_t) * B);
    tl_same(what, "x", a->x, b->x, sizeof(double) * B * n);
    tl_same(what, "lam", a->lam, b->lam, sizeof(double) * B * m);
    tl_same(what, "nu", a->nu, b->nu, sizeof(double) * B * k);
    if (!grad) return;
    tl_same(what, "dQ", a->dQ, b->dQ, sizeof(double) * (t->Q ? tl_copies(t, DOPT_QP_SHARE_Q) : 1) * n * n);
    tl_same(what, "dp", a->dp, b->dp, sizeof(double) * tl_copies(t, DOPT_QP_SHARE_P) * n);
    tl_same(what, "dG", a->dG, b->dG, sizeof(double) * tl_copies(t, DOPT_QP_SHARE_G) * m * n);
    tl_same(what, "dh", a->dh, b->dh, sizeof(double) * tl_copies(t, DOPT_QP_SHARE_H) * m);
    tl_same(what, "dA", a->dA, b->dA, sizeof(double) * tl_copies(t, DOPT_QP_SHARE_A) * k * n);
    tl_same(what, "db", a->db, b->db, sizeof(double) * tl_copies(t, DOPT_QP_SHARE_B) * k);
}

/* The layouts on t: per instance, lanes, and the GPU's warp layout run on
 * the CPU; bitwise comparison; returns the lanes' result. */
static tl_result tl_both(const char *what, const tl_batch *t, int f32, const dopt_qp_options *opt, int grad)
{
    tl_result a = tl_solve(t, f32, "instance", 1, opt, grad);
    tl_result b = tl_solve(t, f32, "lanes", 1, opt, grad);
    tl_result c = tl_solve(t, f32, "warp", 1, opt, grad);
    /* the warp layout on 5 threads: each solves a range of instances,
     * refilling its lane (one group, partly empty) */
    setenv("DOPT_QP_WARP_THREADS", "5", 1);
    tl_result d = tl_solve(t, f32, "warp", 1, opt, grad);
    unsetenv("DOPT_QP_WARP_THREADS");
    tl_compare(what, t, &a, &b, grad);
    char warp[160];
    snprintf(warp, sizeof warp, "%s (warp layout)", what);
    tl_compare(warp, t, &a, &c, grad);
    snprintf(warp, sizeof warp, "%s (warp layout, 5 threads)", what);
    tl_compare(warp, t, &a, &d, grad);
    tl_result_free(&a);
    tl_result_free(&c);
    tl_result_free(&d);
    return b;
}

static tl_batch tl_from(const tq_data *d, unsigned shared)
{
    tl_batch t;
    t.B = d->B, t.n = d->n, t.m = d->m, t.k = d->k;
    t.shared = shared;
    t.Q = d->Q, t.p = d->p, t.G = d->G, t.h = d->h, t.A = d->A, t.b = d->b;
    return t;
}

/* Turns instances of a generated batch into the special cases; returns the
 * index of each (or -1 where the batch is too small). */
enum { TL_NAN, TL_INFEAS, TL_UNBOUNDED, TL_BADCHOL, TL_ROWS_OFF, TL_CASES };
static void tl_mix(tq_data *d, int64_t at[TL_CASES])
{
    int n = d->n, m = d->m, k = d->k;
    for (int c = 0; c < TL_CASES; ++c) at[c] = -1;
    /* spread over the batch so the cases fall into different lanes and groups */
    int64_t pos[TL_CASES] = {1, 6, 9, 20, 27};
    for (int c = 0; c < TL_CASES; ++c) {
        int64_t i = pos[c];
        if (i >= d->B) continue;
        double *Q = d->Q + i * n * n, *p = d->p + i * n, *G = d->G + i * m * n, *h = d->h + i * m,
               *A = d->A + i * k * n;
        switch (c) {
        case TL_NAN:
            p[0] = NAN;
            break;
        case TL_INFEAS: /* G_1 = -G_0, h_1 < -h_0: G_0 x <= h_0 and G_0 x >= -h_1 > h_0 */
            if (m < 2) continue;
            for (int j = 0; j < n; ++j) G[n + j] = -G[j];
            h[1] = -h[0] - 1;
            break;
        case TL_UNBOUNDED: /* an LP free along x_0 with p_0 < 0 */
            for (int e = 0; e < n * n; ++e) Q[e] = 0;
            for (int r = 0; r < m; ++r) G[r * n] = 0;
            for (int r = 0; r < k; ++r) A[r * n] = 0;
            p[0] = -1;
            break;
        case TL_BADCHOL: /* Q = diag(1, .., 1, -1e-10): passes the PSD test (shift
                            sqrt(eps)), but H + delta0 I is not positive definite
                            along x_{n-1}, which no row touches: the retries */
            for (int e = 0; e < n * n; ++e) Q[e] = 0;
            for (int j = 0; j < n - 1; ++j) Q[j * n + j] = 1;
            Q[(n - 1) * n + n - 1] = -1e-10;
            for (int r = 0; r < m; ++r) G[r * n + n - 1] = 0;
            for (int r = 0; r < k; ++r) A[r * n + n - 1] = 0;
            p[n - 1] = 0;
            break;
        case TL_ROWS_OFF:
            for (int r = 0; r < m; r += 2) h[r] = INFINITY;
            break;
        }
        at[c] = i;
    }
}

static void test_mixed(int f32, int64_t B, int n, int m, int k, dopt_gen_kind kind, uint64_t seed)
{
    char what[128];
    snprintf(what, sizeof what, "mixed %s B=%lld n=%d m=%d k=%d kind=%d", f32 ? "f32" : "f64", (long long)B, n, m, k,
             (int)kind);
    tq_data d = tq_gen(B, n, m, k, kind, 10, seed);
    int64_t at[TL_CASES];
    tl_mix(&d, at);
    tl_batch t = tl_from(&d, 0);
    dopt_qp_options opt;
    dopt_qp_options_default(&opt, f32 ? DOPT_FLOAT32 : DOPT_FLOAT64);
    tl_result r = tl_both(what, &t, f32, &opt, 1);
    /* the special cases got the status they must have, so the comparison
     * above covered them */
    if (at[TL_NAN] >= 0) CHECK(r.status[at[TL_NAN]] == DOPT_INST_INVALID, "%s: NaN -> %d", what, r.status[at[TL_NAN]]);
    if (at[TL_INFEAS] >= 0)
        CHECK(r.status[at[TL_INFEAS]] == DOPT_INST_PRIMAL_INFEASIBLE, "%s: infeasible -> %d", what,
              r.status[at[TL_INFEAS]]);
    /* float64 only: the per-instance float32 path (which the lanes match
     * bitwise above) ends this one as a numerical failure */
    if (at[TL_UNBOUNDED] >= 0 && !f32)
        CHECK(r.status[at[TL_UNBOUNDED]] == DOPT_INST_DUAL_INFEASIBLE, "%s: unbounded -> %d", what,
              r.status[at[TL_UNBOUNDED]]);
    int solved = 0;
    for (int64_t i = 0; i < B; ++i) {
        int special = 0;
        for (int c = 0; c < TL_CASES; ++c) special |= at[c] == i;
        if (special) continue;
        solved += r.status[i] == DOPT_INST_SOLVED || r.status[i] == DOPT_INST_REDUCED_ACCURACY;
        /* ordinary instances: solved, and the solution is the known one */
        if (r.status[i] == DOPT_INST_SOLVED && kind == DOPT_GEN_STRICTLY_CONVEX) {
            double err = tq_max_abs_diff((size_t)n, r.x + i * n, d.xs + i * n);
            CHECK(err < (f32 ? 2e-3 : 1e-6), "%s: instance %lld x off the known solution by %g", what, (long long)i,
                  err);
        }
    }
    int ordinary = (int)B;
    for (int c = 0; c < TL_CASES; ++c) ordinary -= at[c] >= 0;
    CHECK(solved == ordinary, "%s: %d of %d ordinary instances solved", what, solved, ordinary);
    tl_result_free(&r);
    tq_free(&d);
}

/* Results do not depend on the position in the batch nor the thread count. */
static void test_order_and_threads(int f32)
{
    const char *what = f32 ? "order/threads f32" : "order/threads f64";
    int64_t B = 45;
    int n = 7, m = 10, k = 2;
    tq_data d = tq_gen(B, n, m, k, DOPT_GEN_STRICTLY_CONVEX, 10, 77);
    int64_t at[TL_CASES];
    tl_mix(&d, at);
    tl_batch t = tl_from(&d, 0);
    dopt_qp_options opt;
    dopt_qp_options_default(&opt, f32 ? DOPT_FLOAT32 : DOPT_FLOAT64);
    tl_result one = tl_solve(&t, f32, "lanes", 1, &opt, 0);
    tl_result two = tl_solve(&t, f32, "lanes", 2, &opt, 0);
    tl_compare(what, &t, &one, &two, 0);
    /* the warp layout on two workers: two groups of 32, the second partly empty */
    tl_result warp2 = tl_solve(&t, f32, "warp", 2, &opt, 0);
    tl_compare(what, &t, &one, &warp2, 0);
    tl_result_free(&warp2);
    /* reversed batch */
    tq_data e = tq_gen(B, n, m, k, DOPT_GEN_STRICTLY_CONVEX, 10, 77);
    for (int64_t i = 0; i < B; ++i) {
        int64_t j = B - 1 - i;
        memcpy(e.Q + i * n * n, d.Q + j * n * n, sizeof(double) * n * n);
        memcpy(e.p + i * n, d.p + j * n, sizeof(double) * n);
        memcpy(e.G + i * m * n, d.G + j * m * n, sizeof(double) * m * n);
        memcpy(e.h + i * m, d.h + j * m, sizeof(double) * m);
        memcpy(e.A + i * k * n, d.A + j * k * n, sizeof(double) * k * n);
        memcpy(e.b + i * k, d.b + j * k, sizeof(double) * k);
    }
    tl_batch u = tl_from(&e, 0);
    tl_result rev = tl_solve(&u, f32, "lanes", 1, &opt, 0);
    int same = 1;
    for (int64_t i = 0; i < B; ++i) {
        int64_t j = B - 1 - i;
        same &= rev.status[i] == one.status[j] && rev.iters[i] == one.iters[j];
        same &= memcmp(rev.x + i * n, one.x + j * n, sizeof(double) * n) == 0;
        same &= memcmp(rev.lam + i * m, one.lam + j * m, sizeof(double) * m) == 0;
        same &= memcmp(rev.nu + i * k, one.nu + j * k, sizeof(double) * k) == 0;
    }
    CHECK(same, "%s: the reversed batch's results differ", what);
    tl_result_free(&one);
    tl_result_free(&two);
    tl_result_free(&rev);
    tq_free(&d);
    tq_free(&e);
}

/* Shared parameters (one copy of G, h, A, b for the batch), Q absent (LP). */
static void test_shared(int f32)
{
    int64_t B = 21;
    int n = 6, m = 9, k = 2;
    tq_data d = tq_gen(B, n, m, k, DOPT_GEN_LP, 10, 5);
    tl_batch t = tl_from(&d, DOPT_QP_SHARE_G | DOPT_QP_SHARE_H | DOPT_QP_SHARE_A | DOPT_QP_SHARE_B);
    t.Q = NULL;
    dopt_qp_options opt;
    dopt_qp_options_default(&opt, f32 ? DOPT_FLOAT32 : DOPT_FLOAT64);
    tl_result r = tl_both(f32 ? "shared LP f32" : "shared LP f64", &t, f32, &opt, 1);
    tl_result_free(&r);
    tq_free(&d);
}

/* Few iterations: the iteration limit and reduced accuracy, per lane. */
static void test_iteration_limit(int f32)
{
    int64_t B = 30;
    tq_data d = tq_gen(B, 8, 12, 2, DOPT_GEN_PSD, 100, 9);
    tl_batch t = tl_from(&d, 0);
    dopt_qp_options opt;
    dopt_qp_options_default(&opt, f32 ? DOPT_FLOAT32 : DOPT_FLOAT64);
    int limits[3] = {1, 4, 7};
    for (int c = 0; c < 3; ++c) {
        opt.max_iter = limits[c];
        opt.tol = c == 2 ? 1e-12 : opt.tol; /* unreachable: reduced accuracy or the limit */
        char what[64];
        snprintf(what, sizeof what, "max_iter=%d %s", limits[c], f32 ? "f32" : "f64");
        tl_result r = tl_both(what, &t, f32, &opt, 1);
        int limited = 0;
        for (int64_t i = 0; i < B; ++i) limited += r.status[i] == DOPT_INST_ITERATION_LIMIT;
        if (c == 0) CHECK(limited == B, "%s: %d of %lld at the limit", what, limited, (long long)B);
        tl_result_free(&r);
    }
    tq_free(&d);
}

/* Degenerate shapes: no inequalities, no equalities, n = 1, B = 1. */
static void test_shapes(int f32)
{
    struct { int64_t B; int n, m, k; } s[] = {{1, 5, 6, 1}, {1, 1, 2, 0}, {17, 4, 0, 1}, {19, 5, 7, 0}, {3, 1, 1, 0},
                                             {40, 12, 16, 3}};
    for (size_t c = 0; c < sizeof s / sizeof s[0]; ++c) {
        tq_data d = tq_gen(s[c].B, s[c].n, s[c].m, s[c].k, DOPT_GEN_STRICTLY_CONVEX, 10, 100 + c);
        tl_batch t = tl_from(&d, 0);
        dopt_qp_options opt;
        dopt_qp_options_default(&opt, f32 ? DOPT_FLOAT32 : DOPT_FLOAT64);
        char what[96];
        snprintf(what, sizeof what, "shape B=%lld n=%d m=%d k=%d %s", (long long)s[c].B, s[c].n, s[c].m, s[c].k,
                 f32 ? "f32" : "f64");
        tl_result r = tl_both(what, &t, f32, &opt, 1);
        for (int64_t i = 0; i < s[c].B; ++i)
            CHECK(r.status[i] == DOPT_INST_SOLVED || r.status[i] == DOPT_INST_REDUCED_ACCURACY, "%s: status %d", what,
                  r.status[i]);
        tl_result_free(&r);
        tq_free(&d);
    }
}

/* The layout rule: the environment forces either; under a host memory cap
 * the per-instance layout runs (its workspace is what the estimate says);
 * below one group, never interleaved by default. */
static void test_selection(void)
{
    dopt_qp_problem P;
    memset(&P, 0, sizeof P);
    P.batch = 64, P.n = 8, P.m = 8, P.k = 2, P.dtype = DOPT_FLOAT64;
    setenv("DOPT_QP_LAYOUT", "lanes", 1);
    CHECK(dopt_qp_cpu_uses_lanes(tu_ctx, &P), "DOPT_QP_LAYOUT=lanes");
    CHECK_OK(dopt_context_set_memory_limit(tu_ctx, (size_t)1 << 40, 0));
    CHECK(!dopt_qp_cpu_uses_lanes(tu_ctx, &P), "a host memory cap keeps the per-instance layout");
    CHECK_OK(dopt_context_set_memory_limit(tu_ctx, 0, 0));
    setenv("DOPT_QP_LAYOUT", "instance", 1);
    CHECK(!dopt_qp_cpu_uses_lanes(tu_ctx, &P), "DOPT_QP_LAYOUT=instance");
    unsetenv("DOPT_QP_LAYOUT");
    P.batch = dopt_qp_cpu_lane_width(P.dtype) - 1;
    CHECK(!dopt_qp_cpu_uses_lanes(tu_ctx, &P), "B below one group");
    P.batch = 1024, P.n = 200;
    CHECK(!dopt_qp_cpu_uses_lanes(tu_ctx, &P), "n past the crossover");
#ifdef __AVX512F__
    P.n = 16;
    CHECK(dopt_qp_cpu_uses_lanes(tu_ctx, &P), "small n, AVX-512 build: interleaved by default");
#endif
    CHECK(dopt_qp_cpu_lane_width(DOPT_FLOAT64) == 8 && dopt_qp_cpu_lane_width(DOPT_FLOAT32) == 16, "lane widths");
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    if (dopt_context_backend(tu_ctx) != DOPT_BACKEND_CPU) {
        printf("skipped: the interleaved layout is the CPU backend's\n");
        dopt_context_destroy(tu_ctx);
        return TEST_SKIP;
    }
    test_selection();
    for (int f32 = 0; f32 <= 1; ++f32) {
        test_mixed(f32, 37, 9, 12, 3, DOPT_GEN_STRICTLY_CONVEX, 11);
        test_mixed(f32, 33, 6, 10, 0, DOPT_GEN_STRICTLY_CONVEX, 12);
        test_mixed(f32, 29, 10, 14, 2, DOPT_GEN_PSD, 13);
        test_mixed(f32, 24, 8, 12, 2, DOPT_GEN_LP, 14);
        /* k >= 4 and n, m, k not multiples of 4: the four-row passes over G,
         * A and M (lv_axpy4) with their remainders, panels with a short one */
        test_mixed(f32, 21, 14, 9, 5, DOPT_GEN_STRICTLY_CONVEX, 15);
        test_order_and_threads(f32);
        test_shared(f32);
        test_iteration_limit(f32);
        test_shapes(f32);
    }
    return tu_finish("test_qp_lanes");
}
