/* Block-diagonal (ragged) batches of the diffusion calls (noise, step with
 * and without guidance, SRG target, candidates):
 *  - equal sizes: bitwise the uniform calls' results, both precisions;
 *  - different sizes: instance i's rows bitwise equal the same instance's
 *    rows at the same row numbers in a batch of i + 1 copies of it (the
 *    noise counter is the row), block and uniform; target and candidates,
 *    which draw nothing, equal the instance alone;
 *  - bad data: a column in another instance's range, decreasing or
 *    misplaced offsets, missing arrays: errors naming what and where. */
#include "test_util.h"

enum { NOPS = 11 };

/* A block batch on the host (float64) with its state inputs (S rows per instance). */
typedef struct {
    int64_t B;
    int S;
    int64_t *vp, *cp, *rp;
    int32_t *col;
    double *val, *b, *c, *xref;     /* nnz, M, V, V */
    double *x0, *eh, *xt, *eps, *xc; /* S * V each */
} dblk;

static int64_t dv(const dblk *h) { return h->vp[h->B]; }
static int64_t dm(const dblk *h) { return h->cp[h->B]; }
static int64_t dz(const dblk *h) { return h->rp[dm(h)]; }

static double *dalloc(int64_t k) { return calloc((size_t)(k > 0 ? k : 1), sizeof(double)); }

static dblk dblk_make(int64_t B, int S, const int *n, const int *m, uint64_t seed)
{
    tu_seed(seed);
    dblk h;
    memset(&h, 0, sizeof h);
    h.B = B, h.S = S;
    h.vp = calloc((size_t)B + 1, 8), h.cp = calloc((size_t)B + 1, 8);
    int64_t cap = 0;
    for (int64_t i = 0; i < B; ++i) h.vp[i + 1] = h.vp[i] + n[i], h.cp[i + 1] = h.cp[i] + m[i], cap += (int64_t)n[i] * m[i];
    int64_t V = h.vp[B], M = h.cp[B];
    h.rp = calloc((size_t)M + 1, 8);
    h.col = calloc((size_t)cap + 1, 4);
    h.val = dalloc(cap), h.b = dalloc(M), h.c = dalloc(V), h.xref = dalloc(V);
    int64_t e = 0;
    for (int64_t i = 0; i < B; ++i)
        for (int r = 0; r < m[i]; ++r) {
            for (int j = 0; j < n[i]; ++j)
                if (tu_unif() < 0.6) h.col[e] = (int32_t)(h.vp[i] + j), h.val[e++] = floor(tu_unif() * 5) - 1;
            h.rp[h.cp[i] + r + 1] = e;
            h.b[h.cp[i] + r] = floor(tu_unif() * 4);
        }
    for (int64_t k = 0; k < V; ++k) h.c[k] = tu_normal(), h.xref[k] = tu_unif() < 0.5 ? 0 : 1;
    double **st[5] = {&h.x0, &h.eh, &h.xt, &h.eps, &h.xc};
    for (int a = 0; a < 5; ++a) {
        *st[a] = dalloc(S * V);
        for (int64_t k = 0; k < S * V; ++k) (*st[a])[k] = a == 4 ? 1.5 * tu_unif() - 0.2 : tu_normal();
    }
    return h;
}

static void dblk_free(dblk *h)
{
    free(h->vp), free(h->cp), free(h->rp), free(h->col), free(h->val), free(h->b), free(h->c), free(h->xref);
    free(h->x0), free(h->eh), free(h->xt), free(h->eps), free(h->xc);
}

/* Instance i as `copies` copies of itself (S rows each). */
static dblk dblk_copies(const dblk *h, int64_t i, int64_t copies)
{
    int n = (int)(h->vp[i + 1] - h->vp[i]), m = (int)(h->cp[i + 1] - h->cp[i]), S = h->S;
    int64_t e0 = h->rp[h->cp[i]], nz = h->rp[h->cp[i + 1]] - e0;
    dblk c;
    memset(&c, 0, sizeof c);
    c.B = copies, c.S = S;
    c.vp = calloc((size_t)copies + 1, 8), c.cp = calloc((size_t)copies + 1, 8);
    c.rp = calloc((size_t)(copies * m + 1), 8), c.col = calloc((size_t)(copies * nz + 1), 4);
    c.val = dalloc(copies * nz), c.b = dalloc(copies * m), c.c = dalloc(copies * n), c.xref = dalloc(copies * n);
    double *const src[5] = {h->x0, h->eh, h->xt, h->eps, h->xc};
    double **dst[5] = {&c.x0, &c.eh, &c.xt, &c.eps, &c.xc};
    for (int a = 0; a < 5; ++a) *dst[a] = dalloc(copies * S * n);
    for (int64_t k = 0; k < copies; ++k) {
        c.vp[k + 1] = c.vp[k] + n, c.cp[k + 1] = c.cp[k] + m;
        for (int r = 0; r < m; ++r)
            c.rp[k * m + r + 1] = k * nz + h->rp[h->cp[i] + r + 1] - e0, c.b[k * m + r] = h->b[h->cp[i] + r];
        for (int64_t e = 0; e < nz; ++e)
            c.col[k * nz + e] = (int32_t)(h->col[e0 + e] - h->vp[i] + k * n), c.val[k * nz + e] = h->val[e0 + e];
        for (int j = 0; j < n; ++j) c.c[k * n + j] = h->c[h->vp[i] + j], c.xref[k * n + j] = h->xref[h->vp[i] + j];
        for (int a = 0; a < 5; ++a)
            memcpy(*dst[a] + k * S * n, src[a] + S * h->vp[i], sizeof(double) * (size_t)(S * n));
    }
    return c;
}

static void *typed(const double *src, int64_t count, int f32)
{
    void *d = malloc((f32 ? 4 : 8) * (size_t)(count > 0 ? count : 1));
    for (int64_t k = 0; k < count; ++k) {
        if (f32) ((float *)d)[k] = (float)src[k];
        else ((double *)d)[k] = src[k];
    }
    return d;
}

/* Every call's outputs, host memory in the dtype. state[0..9]: noise x_t,
 * noise eps, DDPM guided x, its modified eps_hat, DDIM unguided x, DDIM
 * guided x, DDPM last step x, target (round 0), target (round 1), cand x
 * unused; obj, viol (rows), best (B), best_x (V). */
typedef struct {
    void *state[NOPS];
    void *obj, *viol, *bestx;
    int32_t *best;
} res;

static void res_free(res *r)
{
    for (int a = 0; a < NOPS; ++a) free(r->state[a]);
    free(r->obj), free(r->viol), free(r->bestx), free(r->best);
}

/* A state of S*V values: upload, run, download. */
static void *up(const void *host, size_t bytes) { return tu_dev(host, bytes); }

/* Runs every call on h, as a block batch (uniform = 0) or, when all
 * instances have n variables and m rows, as the uniform calls. */
static dopt_status run_all(const dblk *h, int uniform, int f32, res *out)
{
    int64_t B = h->B, V = dv(h), M = dm(h), nz = dz(h), S = h->S, R = B * S;
    size_t es = f32 ? 4 : 8, sv = es * (size_t)(S * V + 1);
    int n = B ? (int)(h->vp[1] - h->vp[0]) : 1, m = B ? (int)(h->cp[1] - h->cp[0]) : 0;
    dopt_dtype dt = f32 ? DOPT_FLOAT32 : DOPT_FLOAT64;
    void *hv = typed(h->val, nz, f32), *hb = typed(h->b, M, f32), *hc = typed(h->c, V, f32);
    void *hr = typed(h->xref, V, f32);
    int64_t *urp = malloc(8 * (size_t)(B * (m + 1) + 1));
    int32_t *ucol = malloc(4 * (size_t)(nz + 1));
    for (int64_t i = 0; uniform && i < B; ++i) {
        for (int r = 0; r <= m; ++r) urp[i * (m + 1) + r] = h->rp[h->cp[i] + r];
        for (int64_t e = h->rp[h->cp[i]]; e < h->rp[h->cp[i + 1]]; ++e) ucol[e] = (int32_t)(h->col[e] - h->vp[i]);
    }
    dopt_diffusion_blocks P, L; /* the MILPs, and the layout alone */
    memset(&P, 0, sizeof P);
    P.batch = B, P.samples = (int32_t)S, P.dtype = dt;
    P.var_ptr = tu_dev(h->vp, 8 * (size_t)(B + 1)), P.con_ptr = tu_dev(h->cp, 8 * (size_t)(B + 1));
    P.row_ptr = tu_dev(h->rp, 8 * (size_t)(M + 1)), P.col_idx = tu_dev(h->col, 4 * (size_t)(nz + 1));
    P.values = tu_dev(hv, es * (size_t)(nz + 1)), P.b = tu_dev(hb, es * (size_t)(M + 1));
    P.c = tu_dev(hc, es * (size_t)(V + 1)), P.xref = tu_dev(hr, es * (size_t)(V + 1));
    L = P;
    L.con_ptr = L.row_ptr = NULL, L.col_idx = NULL, L.values = L.b = L.c = L.xref = NULL;
    dopt_diffusion_guide G;
    memset(&G, 0, sizeof G);
    G.batch = B, G.n = n, G.m = m, G.samples = (int32_t)S, G.dtype = dt;
    G.row_ptr = uniform ? tu_dev(urp, 8 * (size_t)(B * (m + 1) + 1)) : NULL;
    G.col_idx = uniform ? tu_dev(ucol, 4 * (size_t)(nz + 1)) : NULL;
    G.values = P.values, G.b = P.b, G.c = P.c, G.xref = P.xref;

    double abar[11];
    CHECK_OK(dopt_diffusion_schedule(DOPT_SCHEDULE_COSINE, 10, abar));
    dopt_guidance g = {0.4, 1.3, 2.0};
    dopt_diffusion_step_desc ddpm = {DOPT_SAMPLER_DDPM, abar, 6, 5, 0, 77};
    dopt_diffusion_step_desc ddim = {DOPT_SAMPLER_DDIM, abar, 9, 4, 0.7, 78};
    dopt_diffusion_step_desc ddim0 = {DOPT_SAMPLER_DDIM, abar, 4, 1, 0, 79};
    dopt_diffusion_step_desc last = {DOPT_SAMPLER_DDPM, abar, 1, 0, 0, 80};
    dopt_status s = DOPT_OK, t;
#define RUN(call)                  \
    do {                           \
        t = (call);                \
        if (s == DOPT_OK) s = t;   \
    } while (0)
    void *in[5];
    const double *srcs[5] = {h->x0, h->eh, h->xt, h->eps, h->xc};
    for (int a = 0; a < 5; ++a) in[a] = typed(srcs[a], S * V, f32);
    for (int a = 0; a < NOPS; ++a) out->state[a] = calloc(1, sv);
    /* noise */
    void *x0 = up(in[0], sv), *xt = tu_dev_out(out->state[0], sv), *ep = tu_dev_out(out->state[1], sv);
    if (uniform) RUN(dopt_diffusion_noise(tu_ctx, R, n, dt, x0, abar[3], 12, 3, xt, ep));
    else RUN(dopt_diffusion_noise_blocks(tu_ctx, &L, x0, abar[3], 12, 3, xt, ep));
    tu_host(out->state[0], xt, sv), tu_host(out->state[1], ep, sv);
    /* steps: each from x_t with eps_hat (a fresh copy: guidance modifies it) */
    const dopt_diffusion_step_desc *steps[4] = {&ddpm, &ddim, &ddim0, &last};
    int guided[4] = {1, 0, 1, 1}, slot[4] = {2, 4, 5, 6};
    for (int k = 0; k < 4; ++k) {
        memcpy(out->state[slot[k]], in[2], es * (size_t)(S * V));
        void *x = up(out->state[slot[k]], sv), *eh = NULL;
        void *ehost = k == 0 ? out->state[3] : malloc(sv);
        memcpy(ehost, in[1], es * (size_t)(S * V));
        eh = up(ehost, sv);
        if (uniform) RUN(dopt_diffusion_step(tu_ctx, steps[k], R, n, dt, x, eh, guided[k] ? &G : NULL, &g));
        else RUN(dopt_diffusion_step_blocks(tu_ctx, steps[k], guided[k] ? &P : &L, x, eh, &g));
        tu_host(out->state[slot[k]], x, sv), tu_host(ehost, eh, sv);
        tu_dev_free(out->state[slot[k]], x), tu_dev_free(ehost, eh);
        if (k != 0) free(ehost);
    }
    /* targets */
    void *xtin = up(in[2], sv), *epin = up(in[3], sv);
    for (int round = 0; round <= 1; ++round) {
        void *tg = tu_dev_out(out->state[7 + round], sv);
        if (uniform) RUN(dopt_srg_target(tu_ctx, &G, &g, xtin, epin, abar[5], round, tg));
        else RUN(dopt_srg_target_blocks(tu_ctx, &P, &g, xtin, epin, abar[5], round, tg));
        tu_host(out->state[7 + round], tg, sv);
        tu_dev_free(out->state[7 + round], tg);
    }
    /* candidates */
    out->obj = calloc((size_t)R + 1, es), out->viol = calloc((size_t)R + 1, es);
    out->best = calloc((size_t)B + 1, 4), out->bestx = calloc((size_t)V + 1, es);
    void *xc = up(in[4], sv), *ob = tu_dev_out(out->obj, es * (size_t)(R + 1));
    void *vi = tu_dev_out(out->viol, es * (size_t)(R + 1)), *bx = tu_dev_out(out->bestx, es * (size_t)(V + 1));
    int32_t *be = tu_dev_out(out->best, 4 * (size_t)(B + 1));
    if (uniform) RUN(dopt_diffusion_candidates(tu_ctx, &G, xc, 1, 1e-9, ob, vi, be, bx));
    else RUN(dopt_diffusion_candidates_blocks(tu_ctx, &P, xc, 1, 1e-9, ob, vi, be, bx));
    tu_host(out->obj, ob, es * (size_t)R), tu_host(out->viol, vi, es * (size_t)R);
    tu_host(out->best, be, 4 * (size_t)B), tu_host(out->bestx, bx, es * (size_t)V);
#undef RUN
    tu_dev_free(out->obj, ob), tu_dev_free(out->viol, vi), tu_dev_free(out->best, be), tu_dev_free(out->bestx, bx);
    tu_dev_free(in[4], xc), tu_dev_free(in[2], xtin), tu_dev_free(in[3], epin), tu_dev_free(in[0], x0);
    tu_dev_free(out->state[0], xt), tu_dev_free(out->state[1], ep);
    for (int a = 0; a < 5; ++a) free(in[a]);
    tu_dev_free(h->vp, (void *)P.var_ptr), tu_dev_free(h->cp, (void *)P.con_ptr);
    tu_dev_free(h->rp, (void *)P.row_ptr), tu_dev_free(h->col, (void *)P.col_idx);
    tu_dev_free(hv, (void *)P.values), tu_dev_free(hb, (void *)P.b), tu_dev_free(hc, (void *)P.c);
    tu_dev_free(hr, (void *)P.xref);
    if (uniform) tu_dev_free(urp, (void *)G.row_ptr), tu_dev_free(ucol, (void *)G.col_idx);
    free(hv), free(hb), free(hc), free(hr), free(urp), free(ucol);
    return s;
}

static int same(const void *a, const void *b, size_t bytes) { return bytes == 0 || !memcmp(a, b, bytes); }

static const char *op_name[NOPS] = {"noise x_t", "noise eps", "DDPM guided", "guided eps_hat", "DDIM unguided",
                                    "DDIM guided", "DDPM last", "target", "target rounded", "", ""};

/* Instance i of a (block batch a over h) equals instance k of b (over c):
 * its S rows of every state, scores, best and best_x. */
static void compare_instance(const dblk *h, const res *a, int64_t i, const dblk *c, const res *b, int64_t k,
                             int f32, int states, const char *what)
{
    size_t es = f32 ? 4 : 8;
    int64_t n = h->vp[i + 1] - h->vp[i], S = h->S;
    const char *pa, *pb;
    for (int op = 0; op < 9; ++op) {
        int random = op <= 6;
        if ((random && !states) || (!random && states == 2)) continue;
        pa = (const char *)a->state[op] + es * (size_t)(S * h->vp[i]);
        pb = (const char *)b->state[op] + es * (size_t)(S * c->vp[k]);
        CHECK(same(pa, pb, es * (size_t)(S * n)), "%s: instance %lld: %s differs", what, (long long)i, op_name[op]);
    }
    if (states == 2) return;
    CHECK(same((const char *)a->obj + es * (size_t)(i * S), (const char *)b->obj + es * (size_t)(k * S), es * S) &&
              same((const char *)a->viol + es * (size_t)(i * S), (const char *)b->viol + es * (size_t)(k * S),
                   es * S) &&
              a->best[i] == b->best[k] &&
              same((const char *)a->bestx + es * (size_t)h->vp[i], (const char *)b->bestx + es * (size_t)c->vp[k],
                   es * (size_t)n),
          "%s: instance %lld: candidates differ", what, (long long)i);
}

static void test_equal_sizes(void)
{
    enum { B = 7, S = 3, N = 6, M = 4 };
    int n[B], m[B];
    for (int i = 0; i < B; ++i) n[i] = N, m[i] = M;
    dblk h = dblk_make(B, S, n, m, 5);
    for (int f32 = 0; f32 <= 1; ++f32) {
        res a, u;
        CHECK_OK(run_all(&h, 0, f32, &a));
        CHECK_OK(run_all(&h, 1, f32, &u));
        for (int64_t i = 0; i < B; ++i) compare_instance(&h, &a, i, &h, &u, i, f32, 1, "equal sizes, block vs uniform");
        /* guidance did something (the comparison is not of two no-ops) */
        CHECK(f32 || !same(a.state[3], h.eh, 8 * S * B * N), "the guided step left eps_hat as it was");
        res_free(&a), res_free(&u);
    }
    dblk_free(&h);
}

static void test_heterogeneous(void)
{
    enum { B = 9, S = 2 };
    int n[B] = {5, 1, 0, 9, 3, 12, 2, 7, 4}, m[B] = {3, 2, 2, 0, 4, 6, 1, 3, 2};
    dblk h = dblk_make(B, S, n, m, 9);
    res a;
    CHECK_OK(run_all(&h, 0, 0, &a));
    for (int64_t i = 0; i < B; ++i) {
        /* noise and steps: the same rows at the same row numbers (i + 1 copies) */
        dblk c = dblk_copies(&h, i, i + 1);
        res u;
        CHECK_OK(run_all(&c, 0, 0, &u));
        compare_instance(&h, &a, i, &c, &u, i, 0, 2, "heterogeneous vs copies (block)");
        if (n[i] > 0) {
            res w;
            CHECK_OK(run_all(&c, 1, 0, &w));
            compare_instance(&c, &u, i, &c, &w, i, 0, 2, "copies: block vs uniform");
            res_free(&w);
        }
        res_free(&u);
        dblk_free(&c);
        /* target and candidates draw nothing: the instance alone */
        dblk one = dblk_copies(&h, i, 1);
        res o;
        CHECK_OK(run_all(&one, 0, 0, &o));
        compare_instance(&h, &a, i, &one, &o, 0, 0, 0, "heterogeneous vs alone");
        if (n[i] > 0) {
            res w;
            CHECK_OK(run_all(&one, 1, 0, &w));
            compare_instance(&one, &o, 0, &one, &w, 0, 0, 0, "alone: block vs uniform");
            res_free(&w);
        }
        res_free(&o);
        dblk_free(&one);
    }
    /* an independent check of one instance's violation: sum max(b - Ax, 0) of the rounded candidate */
    for (int64_t i = 0; i < B; ++i)
        for (int k = 0; k < S; ++k) {
            double v = 0;
            const double *x = h.xc + S * h.vp[i] + k * (h.vp[i + 1] - h.vp[i]);
            for (int64_t r = h.cp[i]; r < h.cp[i + 1]; ++r) {
                double ax = 0;
                for (int64_t e = h.rp[r]; e < h.rp[r + 1]; ++e) ax += h.val[e] * floor(x[h.col[e] - h.vp[i]] + 0.5);
                v += h.b[r] - ax > 0 ? h.b[r] - ax : 0;
            }
            CHECK(fabs(((double *)a.viol)[i * S + k] - v) <= 1e-12, "instance %lld sample %d violation %g vs %g",
                  (long long)i, k, ((double *)a.viol)[i * S + k], v);
        }
    res_free(&a);
    dblk_free(&h);
}

/* A call with bad blocks: DOPT_ERR_INVALID_ARGUMENT whose message has want. */
static void expect(dopt_status s, const char *want, const char *what)
{
    const char *msg = dopt_context_last_error(tu_ctx);
    CHECK(s == DOPT_ERR_INVALID_ARGUMENT && strstr(msg, want), "%s: %s '%s', want '%s'", what, dopt_status_string(s),
          msg, want);
}

static void test_bad_input(void)
{
    enum { B = 3, S = 2 };
    int n[B] = {3, 4, 2}, m[B] = {2, 2, 1};
    dblk h = dblk_make(B, S, n, m, 13);
    int64_t V = dv(&h);
    double abar[11];
    CHECK_OK(dopt_diffusion_schedule(DOPT_SCHEDULE_LINEAR, 10, abar));
    dopt_diffusion_step_desc st = {DOPT_SAMPLER_DDPM, abar, 3, 2, 0, 1};
    dopt_diffusion_blocks P;
    memset(&P, 0, sizeof P);
    P.batch = B, P.samples = S, P.dtype = DOPT_FLOAT64;
    P.var_ptr = tu_dev(h.vp, 8 * (B + 1)), P.con_ptr = tu_dev(h.cp, 8 * (B + 1));
    P.row_ptr = tu_dev(h.rp, 8 * (size_t)(dm(&h) + 1)), P.col_idx = tu_dev(h.col, 4 * (size_t)(dz(&h) + 1));
    P.values = tu_dev(h.val, 8 * (size_t)(dz(&h) + 1)), P.b = tu_dev(h.b, 8 * (size_t)dm(&h));
    P.c = tu_dev(h.c, 8 * (size_t)V), P.xref = tu_dev(h.xref, 8 * (size_t)V);
    size_t sv = 8 * (size_t)(S * V);
    double *hx = malloc(sv), *he = malloc(sv), *ho = malloc(8 * B * S), *hvi = malloc(8 * B * S);
    memcpy(hx, h.xt, sv), memcpy(he, h.eh, sv);
    void *x = tu_dev(hx, sv), *e = tu_dev(he, sv), *ob = tu_dev_out(ho, 8 * B * S), *vi = tu_dev_out(hvi, 8 * B * S);
    int32_t best[B], *bd = tu_dev_out(best, sizeof best);
    CHECK_OK(dopt_diffusion_candidates_blocks(tu_ctx, &P, x, 1, 0, ob, vi, bd, NULL));
    /* a column of instance 2 in instance 1's first row with entries */
    int64_t r1 = h.cp[1];
    while (h.rp[r1 + 1] == h.rp[r1] && r1 + 1 < h.cp[2]) ++r1;
    CHECK(h.rp[r1 + 1] > h.rp[r1], "instance 1 has entries");
    int32_t save = h.col[h.rp[r1]];
    h.col[h.rp[r1]] = (int32_t)h.vp[2];
    void *col2 = tu_dev(h.col, 4 * (size_t)(dz(&h) + 1));
    const int32_t *col1 = P.col_idx;
    P.col_idx = col2;
    char want[96];
    snprintf(want, sizeof want, "instance 1, row %d: column index %d outside the instance's variables [%lld, %lld)",
             (int)(r1 - h.cp[1]), (int)h.vp[2], (long long)h.vp[1], (long long)h.vp[2]);
    expect(dopt_diffusion_candidates_blocks(tu_ctx, &P, x, 1, 0, ob, vi, bd, NULL), want, "candidates, column");
    expect(dopt_srg_target_blocks(tu_ctx, &P, NULL, x, e, abar[3], 0, e), want, "target, column");
    expect(dopt_diffusion_step_blocks(tu_ctx, &st, &P, x, e, NULL), want, "step, column");
    tu_dev_free(h.col, col2);
    P.col_idx = col1;
    h.col[h.rp[r1]] = save;
    /* offsets */
    int64_t vbad[B + 1] = {0, 3, 2, 9}, cbad[B + 1] = {1, 2, 4, 5};
    const int64_t *vp = P.var_ptr, *cp = P.con_ptr;
    void *vb = tu_dev(vbad, sizeof vbad), *cb = tu_dev(cbad, sizeof cbad);
    P.var_ptr = vb;
    expect(dopt_diffusion_candidates_blocks(tu_ctx, &P, x, 1, 0, ob, vi, bd, NULL), "var_ptr decreases at instance 1",
           "var_ptr decreasing");
    expect(dopt_diffusion_noise_blocks(tu_ctx, &P, x, abar[2], 0, 1, x, e), "var_ptr decreases at instance 1",
           "noise, var_ptr decreasing");
    P.var_ptr = vp, P.con_ptr = cb;
    expect(dopt_srg_target_blocks(tu_ctx, &P, NULL, x, e, abar[3], 0, e), "con_ptr[0] must be 0", "con_ptr[0]");
    P.con_ptr = cp;
    tu_dev_free(vbad, vb), tu_dev_free(cbad, cb);
    /* missing arrays and sizes */
    dopt_diffusion_blocks Q = P;
    Q.c = NULL;
    expect(dopt_diffusion_candidates_blocks(tu_ctx, &Q, x, 1, 0, ob, vi, bd, NULL), "c is required", "no c");
    Q = P, Q.xref = NULL;
    expect(dopt_srg_target_blocks(tu_ctx, &Q, NULL, x, e, abar[3], 0, e), "xref", "no xref");
    Q = P, Q.samples = 0;
    expect(dopt_diffusion_step_blocks(tu_ctx, &st, &Q, x, e, NULL), "samples >= 1", "samples 0");
    Q = P, Q.var_ptr = NULL;
    expect(dopt_diffusion_noise_blocks(tu_ctx, &Q, x, abar[2], 0, 1, x, e), "var_ptr is required", "no var_ptr");
    Q = P, Q.row_ptr = NULL;
    expect(dopt_diffusion_step_blocks(tu_ctx, &st, &Q, x, e, NULL), "row_ptr", "guided without row_ptr");
    expect(dopt_diffusion_step_blocks(tu_ctx, &st, NULL, x, e, NULL), "blocks is NULL", "NULL blocks");
    Q = P, Q.b = NULL;
    expect(dopt_diffusion_candidates_blocks(tu_ctx, &Q, x, 1, 0, ob, vi, bd, NULL), "b is NULL", "no b");
    Q = P, Q.batch = (int64_t)1 << 40;
    expect(dopt_diffusion_noise_blocks(tu_ctx, &Q, x, abar[2], 0, 1, x, e), "above 2^32", "batch * samples");
    Q = P, Q.batch = 0;
    CHECK_OK(dopt_diffusion_candidates_blocks(tu_ctx, &Q, NULL, 1, 0, NULL, NULL, NULL, NULL));
    tu_dev_free(h.vp, (void *)P.var_ptr), tu_dev_free(h.cp, (void *)P.con_ptr), tu_dev_free(h.rp, (void *)P.row_ptr);
    tu_dev_free(h.col, (void *)P.col_idx), tu_dev_free(h.val, (void *)P.values), tu_dev_free(h.b, (void *)P.b);
    tu_dev_free(h.c, (void *)P.c), tu_dev_free(h.xref, (void *)P.xref);
    tu_dev_free(hx, x), tu_dev_free(he, e), tu_dev_free(ho, ob), tu_dev_free(hvi, vi), tu_dev_free(best, bd);
    free(hx), free(he), free(ho), free(hvi);
    dblk_free(&h);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    test_equal_sizes();
    test_heterogeneous();
    test_bad_input();
    return tu_finish("test_diffusion_blocks");
}
