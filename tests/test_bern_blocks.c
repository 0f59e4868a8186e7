/* Block-diagonal (ragged) batches of the Bernoulli surrogate
 * (dopt_bern_eval_blocks, dopt_bern_round_blocks):
 *  - equal sizes: bitwise the uniform batch's results (every estimator,
 *    probabilities and logits, both precisions, rounding);
 *  - different sizes: instance i of a shuffled block batch bitwise equals
 *    instance i of a uniform batch holding i + 1 copies of it (the sample
 *    counter is the instance index), and for the exact estimator and
 *    rounding a uniform batch of that instance alone;
 *  - bad data: a column in another instance's range, a repeated column, a
 *    decreasing row offset give that instance status 5 and leave the others
 *    bitwise unchanged; bad offset arrays are an error naming the instance;
 *  - a larger mixed batch with invalid instances (run under ASan). */
#include "test_util.h"

/* One block batch on the host, in float64 (converted for float32 runs). */
typedef struct {
    int64_t B;
    int64_t *vp, *cp, *rp; /* var_ptr, con_ptr (B + 1), row_ptr (M + 1) */
    int32_t *col;          /* global */
    double *val, *b, *c, *x; /* nnz, M, V, V (probabilities in (0, 1)) */
} blk;

static int64_t blk_vars(const blk *h) { return h->vp[h->B]; }
static int64_t blk_cons(const blk *h) { return h->cp[h->B]; }
static int64_t blk_nnz(const blk *h) { return h->rp[blk_cons(h)]; }

/* Random instances with the given sizes: each row a random subset of the
 * instance's variables (distinct columns), b set so that some rows bind. */
static blk blk_make(int64_t B, const int *n, const int *m, uint64_t seed)
{
    tu_seed(seed);
    blk h;
    h.B = B;
    h.vp = calloc((size_t)B + 1, sizeof(int64_t));
    h.cp = calloc((size_t)B + 1, sizeof(int64_t));
    for (int64_t i = 0; i < B; ++i) h.vp[i + 1] = h.vp[i] + n[i], h.cp[i + 1] = h.cp[i] + m[i];
    int64_t V = h.vp[B], M = h.cp[B], cap = 0;
    for (int64_t i = 0; i < B; ++i) cap += (int64_t)n[i] * m[i];
    h.rp = calloc((size_t)M + 1, sizeof(int64_t));
    h.col = calloc((size_t)cap + 1, sizeof(int32_t));
    h.val = calloc((size_t)cap + 1, sizeof(double));
    h.b = calloc((size_t)M + 1, sizeof(double));
    h.c = calloc((size_t)V + 1, sizeof(double));
    h.x = calloc((size_t)V + 1, sizeof(double));
    int64_t e = 0;
    for (int64_t i = 0; i < B; ++i) {
        for (int r = 0; r < m[i]; ++r) {
            int64_t row = h.cp[i] + r;
            double sum = 0;
            for (int j = 0; j < n[i]; ++j) {
                if (tu_unif() < 0.5) continue;
                h.col[e] = (int32_t)(h.vp[i] + j);
                h.val[e] = (double)(1 + (int)(tu_unif() * 4)) * (tu_unif() < 0.2 ? -1 : 1);
                sum += h.val[e] > 0 ? h.val[e] : 0;
                ++e;
            }
            h.rp[row + 1] = e;
            h.b[row] = floor(sum * tu_unif());
        }
        for (int j = 0; j < n[i]; ++j) {
            h.c[h.vp[i] + j] = tu_normal();
            h.x[h.vp[i] + j] = 0.05 + 0.9 * tu_unif();
        }
    }
    return h;
}

static void blk_free(blk *h)
{
    free(h->vp), free(h->cp), free(h->rp), free(h->col), free(h->val), free(h->b), free(h->c), free(h->x);
}

/* A copy of count doubles in the dtype (float64: a copy; float32: rounded). */
static void *typed(const double *src, int64_t count, int f32)
{
    size_t es = f32 ? 4 : 8;
    void *d = malloc(es * (size_t)(count > 0 ? count : 1));
    for (int64_t k = 0; k < count; ++k) {
        if (f32) ((float *)d)[k] = (float)src[k];
        else ((double *)d)[k] = src[k];
    }
    return d;
}

/* Outputs of one evaluation or rounding, host memory, in the dtype. */
typedef struct {
    void *loss, *grad, *lse, *gse, *x;
    int32_t *st;
} outs;

static outs outs_new(int64_t B, int64_t V, int f32)
{
    size_t es = f32 ? 4 : 8;
    outs o;
    o.loss = calloc((size_t)B + 1, es), o.lse = calloc((size_t)B + 1, es);
    o.grad = calloc((size_t)V + 1, es), o.gse = calloc((size_t)V + 1, es), o.x = calloc((size_t)V + 1, es);
    o.st = calloc((size_t)B + 1, sizeof(int32_t));
    return o;
}
static void outs_free(outs *o) { free(o->loss), free(o->grad), free(o->lse), free(o->gse), free(o->x), free(o->st); }

/* The point: probabilities, or their logits. */
static double *point_of(const double *x, int64_t V, int logits)
{
    double *p = malloc(sizeof(double) * (size_t)(V > 0 ? V : 1));
    for (int64_t k = 0; k < V; ++k) p[k] = logits ? log(x[k] / (1 - x[k])) : x[k];
    return p;
}

/* Evaluates (round = 0) or rounds (round = 1) a block batch (Pb) or a
 * uniform one (Pu; the other NULL) of B instances and V variables at the
 * staged point x; the outputs land in o. */
static dopt_status eval_or_round(const dopt_bern_blocks *Pb, const dopt_bern_problem *Pu, const void *x, int64_t B,
                                 int64_t V, size_t es, const dopt_bern_options *opt, int round, outs *o)
{
    dopt_status s;
    int32_t *st = tu_dev_out(o->st, 4 * (size_t)(B + 1));
    if (round) {
        void *xo = tu_dev_out(o->x, es * (size_t)(V + 1));
        s = Pb ? dopt_bern_round_blocks(tu_ctx, Pb, x, xo, st) : dopt_bern_round(tu_ctx, Pu, x, xo, st);
        tu_host(o->x, xo, es * (size_t)V);
        tu_dev_free(o->x, xo);
    } else {
        dopt_bern_result r = {tu_dev_out(o->loss, es * (size_t)(B + 1)), tu_dev_out(o->grad, es * (size_t)(V + 1)),
                              tu_dev_out(o->lse, es * (size_t)(B + 1)), tu_dev_out(o->gse, es * (size_t)(V + 1)), st};
        s = Pb ? dopt_bern_eval_blocks(tu_ctx, Pb, x, opt, &r) : dopt_bern_eval(tu_ctx, Pu, x, opt, &r);
        tu_host(o->loss, r.loss, es * (size_t)B), tu_host(o->grad, r.grad, es * (size_t)V);
        tu_host(o->lse, r.loss_se, es * (size_t)B), tu_host(o->gse, r.grad_se, es * (size_t)V);
        tu_dev_free(o->loss, r.loss), tu_dev_free(o->grad, r.grad), tu_dev_free(o->lse, r.loss_se);
        tu_dev_free(o->gse, r.grad_se);
    }
    tu_host(o->st, st, 4 * (size_t)B);
    tu_dev_free(o->st, st);
    return s;
}

/* Evaluates (round = 0) or rounds (round = 1) a block batch, staged on the backend. */
static dopt_status run_blocks(const blk *h, int f32, const dopt_bern_options *opt, int round, outs *o)
{
    int64_t B = h->B, V = blk_vars(h), M = blk_cons(h), nnz = blk_nnz(h);
    size_t es = f32 ? 4 : 8;
    double *pt = point_of(h->x, V, opt ? opt->logits : 0);
    void *hv = typed(h->val, nnz, f32), *hb = typed(h->b, M, f32), *hc = typed(h->c, V, f32), *hx = typed(pt, V, f32);
    dopt_bern_blocks P;
    memset(&P, 0, sizeof P);
    P.batch = B;
    P.dtype = f32 ? DOPT_FLOAT32 : DOPT_FLOAT64;
    P.var_ptr = tu_dev(h->vp, 8 * (size_t)(B + 1));
    P.con_ptr = tu_dev(h->cp, 8 * (size_t)(B + 1));
    P.row_ptr = tu_dev(h->rp, 8 * (size_t)(M + 1));
    P.col_idx = tu_dev(h->col, 4 * (size_t)(nnz + 1));
    P.values = tu_dev(hv, es * (size_t)(nnz + 1));
    P.b = tu_dev(hb, es * (size_t)(M + 1));
    P.c = tu_dev(hc, es * (size_t)(V + 1));
    void *x = tu_dev(hx, es * (size_t)(V + 1));
    dopt_status s = eval_or_round(&P, NULL, x, B, V, es, opt, round, o);
    tu_dev_free(h->vp, (void *)P.var_ptr), tu_dev_free(h->cp, (void *)P.con_ptr), tu_dev_free(h->rp, (void *)P.row_ptr);
    tu_dev_free(h->col, (void *)P.col_idx), tu_dev_free(hv, (void *)P.values), tu_dev_free(hb, (void *)P.b);
    tu_dev_free(hc, (void *)P.c), tu_dev_free(hx, x);
    free(hv), free(hb), free(hc), free(hx), free(pt);
    return s;
}

/* The same data as a uniform CSR batch (all instances of equal sizes n, m):
 * per-instance row offsets (B, m+1), local column indices. */
static dopt_status run_uniform(const blk *h, int n, int m, int f32, const dopt_bern_options *opt, int round, outs *o)
{
    int64_t B = h->B, V = blk_vars(h), M = blk_cons(h), nnz = blk_nnz(h);
    size_t es = f32 ? 4 : 8;
    int64_t *rp = malloc(8 * (size_t)(B * (m + 1)));
    int32_t *col = malloc(4 * (size_t)(nnz + 1));
    for (int64_t i = 0; i < B; ++i) {
        for (int r = 0; r <= m; ++r) rp[i * (m + 1) + r] = h->rp[h->cp[i] + r];
        for (int64_t e = h->rp[h->cp[i]]; e < h->rp[h->cp[i + 1]]; ++e) col[e] = (int32_t)(h->col[e] - h->vp[i]);
    }
    double *pt = point_of(h->x, V, opt ? opt->logits : 0);
    void *hv = typed(h->val, nnz, f32), *hb = typed(h->b, M, f32), *hc = typed(h->c, V, f32), *hx = typed(pt, V, f32);
    dopt_bern_problem P;
    memset(&P, 0, sizeof P);
    P.batch = B, P.n = n, P.m = m;
    P.dtype = f32 ? DOPT_FLOAT32 : DOPT_FLOAT64;
    P.row_ptr = tu_dev(rp, 8 * (size_t)(B * (m + 1)));
    P.col_idx = tu_dev(col, 4 * (size_t)(nnz + 1));
    P.values = tu_dev(hv, es * (size_t)(nnz + 1));
    P.b = tu_dev(hb, es * (size_t)(M + 1));
    P.c = tu_dev(hc, es * (size_t)(V + 1));
    void *x = tu_dev(hx, es * (size_t)(V + 1));
    dopt_status s = eval_or_round(NULL, &P, x, B, V, es, opt, round, o);
    tu_dev_free(rp, (void *)P.row_ptr), tu_dev_free(col, (void *)P.col_idx), tu_dev_free(hv, (void *)P.values);
    tu_dev_free(hb, (void *)P.b), tu_dev_free(hc, (void *)P.c), tu_dev_free(hx, x);
    free(rp), free(col), free(hv), free(hb), free(hc), free(hx), free(pt);
    return s;
}

/* Instance i of h, alone: a block batch of `copies` copies of it (so that
 * the last copy draws with instance counter copies - 1). */
static blk blk_copies(const blk *h, int64_t i, int64_t copies)
{
    int n = (int)(h->vp[i + 1] - h->vp[i]), m = (int)(h->cp[i + 1] - h->cp[i]);
    int64_t e0 = h->rp[h->cp[i]], nz = h->rp[h->cp[i + 1]] - e0;
    blk c;
    c.B = copies;
    c.vp = calloc((size_t)copies + 1, 8), c.cp = calloc((size_t)copies + 1, 8);
    c.rp = calloc((size_t)(copies * m + 1), 8);
    c.col = calloc((size_t)(copies * nz + 1), 4), c.val = calloc((size_t)(copies * nz + 1), 8);
    c.b = calloc((size_t)(copies * m + 1), 8), c.c = calloc((size_t)(copies * n + 1), 8);
    c.x = calloc((size_t)(copies * n + 1), 8);
    for (int64_t k = 0; k < copies; ++k) {
        c.vp[k + 1] = c.vp[k] + n, c.cp[k + 1] = c.cp[k] + m;
        for (int r = 0; r < m; ++r) {
            c.rp[k * m + r + 1] = k * nz + (h->rp[h->cp[i] + r + 1] - e0);
            c.b[k * m + r] = h->b[h->cp[i] + r];
        }
        for (int64_t e = 0; e < nz; ++e) {
            c.col[k * nz + e] = (int32_t)(h->col[e0 + e] - h->vp[i] + k * n);
            c.val[k * nz + e] = h->val[e0 + e];
        }
        for (int j = 0; j < n; ++j) c.c[k * n + j] = h->c[h->vp[i] + j], c.x[k * n + j] = h->x[h->vp[i] + j];
    }
    return c;
}

static int same_bytes(const void *a, const void *b, size_t bytes) { return bytes == 0 || !memcmp(a, b, bytes); }

static const char *est_name[] = {"unbiased", "reinforce", "diffilo", "exact"};

/* Equal sizes: a block batch is bitwise the uniform batch. */
static void test_equal_sizes(void)
{
    enum { B = 9, N = 7, M = 4 };
    int n[B], m[B];
    for (int i = 0; i < B; ++i) n[i] = N, m[i] = M;
    blk h = blk_make(B, n, m, 11);
    for (int f32 = 0; f32 <= 1; ++f32)
        for (int est = 0; est <= 3; ++est)
            for (int logits = 0; logits <= 1; ++logits) {
                dopt_bern_options o;
                dopt_bern_options_default(&o);
                o.estimator = (dopt_bern_estimator)est, o.samples = 33, o.seed = 5, o.mu = 2.5, o.logits = logits;
                outs a = outs_new(B, B * N, f32), u = outs_new(B, B * N, f32);
                CHECK_OK(run_blocks(&h, f32, &o, 0, &a));
                CHECK_OK(run_uniform(&h, N, M, f32, &o, 0, &u));
                size_t es = f32 ? 4 : 8;
                CHECK(same_bytes(a.loss, u.loss, es * B) && same_bytes(a.grad, u.grad, es * B * N) &&
                          same_bytes(a.lse, u.lse, es * B) && same_bytes(a.gse, u.gse, es * B * N) &&
                          same_bytes(a.st, u.st, 4 * B),
                      "equal sizes: block != uniform (%s, f32 %d, logits %d)", est_name[est], f32, logits);
                for (int i = 0; i < B; ++i) CHECK(a.st[i] == 0, "instance %d status %d", i, a.st[i]);
                outs_free(&a), outs_free(&u);
            }
    for (int f32 = 0; f32 <= 1; ++f32) {
        outs a = outs_new(B, B * N, f32), u = outs_new(B, B * N, f32);
        CHECK_OK(run_blocks(&h, f32, NULL, 1, &a));
        CHECK_OK(run_uniform(&h, N, M, f32, NULL, 1, &u));
        CHECK(same_bytes(a.x, u.x, (f32 ? 4 : 8) * B * N) && same_bytes(a.st, u.st, 4 * B),
              "equal sizes: block rounding != uniform (f32 %d)", f32);
        outs_free(&a), outs_free(&u);
    }
    blk_free(&h);
}

/* Different sizes (in a shuffled order, empty instances included): each
 * instance bitwise equals the same instance at the same batch position. */
static void test_heterogeneous(void)
{
    enum { B = 14 };
    int n[B] = {3, 12, 0, 5, 1, 9, 16, 2, 7, 4, 11, 6, 8, 10};
    int m[B] = {2, 5, 3, 0, 1, 6, 4, 2, 3, 7, 1, 2, 5, 0};
    blk h = blk_make(B, n, m, 23);
    for (int est = 0; est <= 3; ++est)
        for (int logits = 0; logits <= 1; ++logits) {
            dopt_bern_options o;
            dopt_bern_options_default(&o);
            o.estimator = (dopt_bern_estimator)est, o.samples = 17, o.seed = 99, o.mu = 1.5, o.logits = logits;
            outs a = outs_new(B, blk_vars(&h), 0);
            CHECK_OK(run_blocks(&h, 0, &o, 0, &a));
            for (int64_t i = 0; i < B; ++i) {
                CHECK(a.st[i] == 0, "%s: instance %lld status %d", est_name[est], (long long)i, a.st[i]);
                /* the exact estimator draws nothing: the instance alone; the
                 * sampled ones: the same instance counter (i + 1 copies) */
                int64_t copies = est == DOPT_BERN_EXACT ? 1 : i + 1;
                blk c = blk_copies(&h, i, copies);
                outs u = outs_new(copies, blk_vars(&c), 0);
                CHECK_OK(run_blocks(&c, 0, &o, 0, &u));
                int64_t k = copies - 1, ni = n[i];
                const double *ag = (const double *)a.grad + h.vp[i], *ug = (const double *)u.grad + c.vp[k];
                const double *as = (const double *)a.gse + h.vp[i], *us = (const double *)u.gse + c.vp[k];
                CHECK(((double *)a.loss)[i] == ((double *)u.loss)[k] && same_bytes(ag, ug, 8 * (size_t)ni) &&
                          ((double *)a.lse)[i] == ((double *)u.lse)[k] && same_bytes(as, us, 8 * (size_t)ni),
                      "%s logits %d: instance %lld differs from itself alone", est_name[est], logits, (long long)i);
                /* a uniform batch of the same copies (n >= 1 there): the same bits again */
                if (ni > 0) {
                    outs w = outs_new(copies, blk_vars(&c), 0);
                    CHECK_OK(run_uniform(&c, (int)ni, m[i], 0, &o, 0, &w));
                    CHECK(((double *)w.loss)[k] == ((double *)u.loss)[k] &&
                              same_bytes((const double *)w.grad + c.vp[k], ug, 8 * (size_t)ni),
                          "%s: instance %lld: block copies != uniform copies", est_name[est], (long long)i);
                    outs_free(&w);
                }
                outs_free(&u);
                blk_free(&c);
            }
            /* an instance without variables: the penalty of x = () exactly */
            double pen = 0;
            for (int64_t r = h.cp[2]; r < h.cp[3]; ++r) pen += h.b[r] < 0 ? -h.b[r] : 0;
            CHECK(fabs(((double *)a.loss)[2] - 1.5 * pen) <= 1e-12 * (1 + pen), "empty instance loss %g vs %g",
                  ((double *)a.loss)[2], 1.5 * pen);
            outs_free(&a);
        }
    /* rounding: the instance alone */
    outs a = outs_new(B, blk_vars(&h), 0);
    CHECK_OK(run_blocks(&h, 0, NULL, 1, &a));
    for (int64_t i = 0; i < B; ++i) {
        blk c = blk_copies(&h, i, 1);
        outs u = outs_new(1, blk_vars(&c), 0);
        CHECK_OK(run_blocks(&c, 0, NULL, 1, &u));
        CHECK(a.st[i] == u.st[0] && same_bytes((double *)a.x + h.vp[i], u.x, 8 * (size_t)n[i]),
              "rounding: instance %lld differs from itself alone", (long long)i);
        /* a feasible rounding satisfies every row of its own instance */
        if (a.st[i] == 0)
            for (int64_t r = h.cp[i]; r < h.cp[i + 1]; ++r) {
                double ax = 0;
                for (int64_t e = h.rp[r]; e < h.rp[r + 1]; ++e) ax += h.val[e] * ((double *)a.x)[h.col[e]];
                CHECK(ax <= h.b[r], "rounding: instance %lld row %lld violated", (long long)i, (long long)r);
            }
        outs_free(&u);
        blk_free(&c);
    }
    outs_free(&a);
    blk_free(&h);
}

/* Padding changes nothing: the block batch against a uniform batch padded
 * to the largest instance (padded variables: c = 0 and in no row; padded
 * rows: no entries and b = 1, so 0 <= 1 never binds). Every sample of a
 * real coordinate uses its own counter, so the real coordinates' results
 * are bitwise the same; the exact estimator enumerates the padded
 * coordinates too (same value, other rounding) and is left out. */
static void test_padding(void)
{
    enum { B = 10 };
    int n[B] = {3, 12, 1, 5, 9, 7, 2, 11, 4, 6}, m[B] = {2, 5, 1, 0, 6, 3, 2, 4, 7, 1};
    blk h = blk_make(B, n, m, 31);
    int N = 0, M = 0;
    for (int i = 0; i < B; ++i) N = n[i] > N ? n[i] : N, M = m[i] > M ? m[i] : M;
    /* the padded data as a block batch of equal sizes (run_uniform turns it into the uniform call) */
    blk p;
    int64_t nnz = blk_nnz(&h);
    p.B = B;
    p.vp = calloc(B + 1, 8), p.cp = calloc(B + 1, 8), p.rp = calloc((size_t)B * M + 1, 8);
    p.col = calloc((size_t)nnz + 1, 4), p.val = calloc((size_t)nnz + 1, 8), p.b = calloc((size_t)B * M, 8);
    p.c = calloc((size_t)B * N, 8), p.x = calloc((size_t)B * N, 8);
    for (int i = 0; i < B; ++i) {
        p.vp[i + 1] = p.vp[i] + N, p.cp[i + 1] = p.cp[i] + M;
        for (int r = 0; r < M; ++r) {
            int64_t row = (int64_t)i * M + r;
            p.rp[row + 1] = r < m[i] ? p.rp[row] + (h.rp[h.cp[i] + r + 1] - h.rp[h.cp[i] + r]) : p.rp[row];
            p.b[row] = r < m[i] ? h.b[h.cp[i] + r] : 1;
            for (int64_t e = 0; r < m[i] && e < p.rp[row + 1] - p.rp[row]; ++e) {
                p.col[p.rp[row] + e] = (int32_t)(h.col[h.rp[h.cp[i] + r] + e] - h.vp[i] + p.vp[i]);
                p.val[p.rp[row] + e] = h.val[h.rp[h.cp[i] + r] + e];
            }
        }
        for (int j = 0; j < N; ++j) {
            p.c[(int64_t)i * N + j] = j < n[i] ? h.c[h.vp[i] + j] : 0;
            p.x[(int64_t)i * N + j] = j < n[i] ? h.x[h.vp[i] + j] : 0.5; /* logit 0 */
        }
    }
    for (int est = 0; est <= 2; ++est)
        for (int logits = 0; logits <= 1; ++logits) {
            dopt_bern_options o;
            dopt_bern_options_default(&o);
            o.estimator = (dopt_bern_estimator)est, o.samples = 12, o.seed = 3, o.logits = logits;
            outs a = outs_new(B, blk_vars(&h), 0), u = outs_new(B, (int64_t)B * N, 0);
            CHECK_OK(run_blocks(&h, 0, &o, 0, &a));
            CHECK_OK(run_uniform(&p, N, M, 0, &o, 0, &u));
            for (int i = 0; i < B; ++i) {
                const double *ag = (double *)a.grad + h.vp[i], *ug = (double *)u.grad + (int64_t)i * N;
                const double *as = (double *)a.gse + h.vp[i], *us = (double *)u.gse + (int64_t)i * N;
                CHECK(((double *)a.loss)[i] == ((double *)u.loss)[i] && ((double *)a.lse)[i] == ((double *)u.lse)[i] &&
                          same_bytes(ag, ug, 8 * (size_t)n[i]) && same_bytes(as, us, 8 * (size_t)n[i]) &&
                          a.st[i] == u.st[i],
                      "%s logits %d: padding changed instance %d", est_name[est], logits, i);
            }
            outs_free(&a), outs_free(&u);
        }
    outs a = outs_new(B, blk_vars(&h), 0), u = outs_new(B, (int64_t)B * N, 0);
    CHECK_OK(run_blocks(&h, 0, NULL, 1, &a));
    for (int i = 0; i < B * N; ++i) p.x[i] = p.x[i] == 0.5 && i % N >= n[i / N] ? 0 : p.x[i]; /* padded: round to 0 */
    CHECK_OK(run_uniform(&p, N, M, 0, NULL, 1, &u));
    for (int i = 0; i < B; ++i) {
        CHECK(a.st[i] == u.st[i] && same_bytes((double *)a.x + h.vp[i], (double *)u.x + (int64_t)i * N, 8 * (size_t)n[i]),
              "rounding: padding changed instance %d", i);
        for (int j = n[i]; j < N; ++j) CHECK(((double *)u.x)[(int64_t)i * N + j] == 0, "a padded variable set");
    }
    outs_free(&a), outs_free(&u);
    blk_free(&p), blk_free(&h);
}

/* Bad rows are that instance's status 5; the others keep their bits. */
static void test_bad_rows(void)
{
    enum { B = 6 };
    int n[B] = {4, 5, 3, 6, 2, 18}, m[B] = {3, 3, 2, 3, 2, 2};
    blk h = blk_make(B, n, m, 7);
    dopt_bern_options o;
    dopt_bern_options_default(&o);
    o.samples = 8;
    outs good = outs_new(B, blk_vars(&h), 0), bad = outs_new(B, blk_vars(&h), 0);
    CHECK_OK(run_blocks(&h, 0, &o, 0, &good));
    /* instance 1: a column of instance 2 (a row reaching across); instance
     * 3: a column twice in a row; instance 4: a decreasing row offset
     * (between its own two rows, so no other instance's rows move) */
    int64_t e1 = h.rp[h.cp[1]];
    CHECK(h.rp[h.cp[2]] > e1, "instance 1 has entries");
    int32_t save1 = h.col[e1];
    h.col[e1] = (int32_t)h.vp[2];
    int64_t r3 = h.cp[3];
    while (h.rp[r3 + 1] - h.rp[r3] < 2 && r3 + 1 < h.cp[4]) ++r3;
    int has_pair = h.rp[r3 + 1] - h.rp[r3] >= 2;
    int64_t e3 = h.rp[r3];
    int32_t save3 = 0;
    if (has_pair) save3 = h.col[e3 + 1], h.col[e3 + 1] = h.col[e3];
    int64_t save4 = h.rp[h.cp[4] + 1];
    h.rp[h.cp[4] + 1] = h.rp[h.cp[4]] - 1;
    CHECK_OK(run_blocks(&h, 0, &o, 0, &bad));
    CHECK(bad.st[1] == 5, "a column in another instance: status %d", bad.st[1]);
    if (has_pair) CHECK(bad.st[3] == 5, "a repeated column: status %d", bad.st[3]);
    CHECK(bad.st[4] == 5, "a decreasing row offset: status %d", bad.st[4]);
    CHECK(isnan(((double *)bad.loss)[1]) && isnan(((double *)bad.grad)[h.vp[1]]), "invalid outputs are NaN");
    for (int i = 0; i < B; ++i) {
        if (i == 1 || i == 4 || (i == 3 && has_pair)) continue;
        CHECK(bad.st[i] == good.st[i] && ((double *)bad.loss)[i] == ((double *)good.loss)[i] &&
                  same_bytes((double *)bad.grad + h.vp[i], (double *)good.grad + h.vp[i], 8 * (size_t)n[i]),
              "instance %d disturbed by its neighbours' bad rows", i);
    }
    /* rounding: the same statuses, x = 0 for the invalid */
    outs rb = outs_new(B, blk_vars(&h), 0);
    CHECK_OK(run_blocks(&h, 0, NULL, 1, &rb));
    CHECK(rb.st[1] == 5 && rb.st[4] == 5, "rounding statuses %d %d", rb.st[1], rb.st[4]);
    h.col[e1] = save1;
    if (has_pair) h.col[e3 + 1] = save3;
    h.rp[h.cp[4] + 1] = save4;
    /* the exact estimator: the instance of 18 variables alone is status 5 */
    o.estimator = DOPT_BERN_EXACT;
    outs ex = outs_new(B, blk_vars(&h), 0);
    CHECK_OK(run_blocks(&h, 0, &o, 0, &ex));
    CHECK(ex.st[5] == 5 && isnan(((double *)ex.loss)[5]), "exact with n = 18: status %d", ex.st[5]);
    for (int i = 0; i < 5; ++i) CHECK(ex.st[i] == 0, "exact: instance %d status %d", i, ex.st[i]);
    outs_free(&ex), outs_free(&rb), outs_free(&good), outs_free(&bad);
    blk_free(&h);
}

/* Offset arrays the call cannot split into instances: errors that say where. */
static void expect_error(blk *h, const char *want, const char *what)
{
    outs o = outs_new(h->B, blk_vars(h) > 0 ? blk_vars(h) : 1, 0);
    dopt_status s = run_blocks(h, 0, NULL, 0, &o);
    const char *msg = dopt_context_last_error(tu_ctx);
    CHECK(s == DOPT_ERR_INVALID_ARGUMENT && strstr(msg, want), "%s: got %s: '%s', want '%s'", what,
          dopt_status_string(s), msg, want);
    outs_free(&o);
}

static void test_bad_offsets(void)
{
    enum { B = 4 };
    int n[B] = {3, 4, 2, 5}, m[B] = {2, 1, 2, 2};
    blk h = blk_make(B, n, m, 3);
    int64_t v2 = h.vp[2];
    h.vp[2] = h.vp[1] - 1;
    expect_error(&h, "var_ptr decreases at instance 1", "var_ptr decreasing");
    h.vp[2] = v2;
    int64_t c3 = h.cp[3];
    h.cp[3] = h.cp[2] - 1;
    expect_error(&h, "con_ptr decreases at instance 2", "con_ptr decreasing");
    h.cp[3] = c3;
    h.vp[0] = 1;
    expect_error(&h, "var_ptr[0] must be 0", "var_ptr[0]");
    h.vp[0] = 0;
    h.cp[0] = 2;
    expect_error(&h, "con_ptr[0] must be 0", "con_ptr[0]");
    h.cp[0] = 0;
    /* NULL arrays and outputs: clear errors before anything is read */
    dopt_bern_blocks P;
    memset(&P, 0, sizeof P);
    P.batch = 2, P.dtype = DOPT_FLOAT64;
    double x[4] = {0.5, 0.5, 0.5, 0.5}, l[2], g[4];
    int32_t st[2];
    dopt_bern_result r = {l, g, NULL, NULL, st};
    CHECK(dopt_bern_eval_blocks(tu_ctx, &P, x, NULL, &r) == DOPT_ERR_INVALID_ARGUMENT &&
              strstr(dopt_context_last_error(tu_ctx), "var_ptr"),
          "NULL var_ptr: '%s'", dopt_context_last_error(tu_ctx));
    CHECK(dopt_bern_eval_blocks(tu_ctx, NULL, x, NULL, &r) == DOPT_ERR_INVALID_ARGUMENT, "NULL problem");
    P.dtype = (dopt_dtype)77;
    CHECK(dopt_bern_round_blocks(tu_ctx, &P, x, g, st) == DOPT_ERR_INVALID_ARGUMENT, "bad dtype");
    P.batch = 0, P.dtype = DOPT_FLOAT64;
    CHECK_OK(dopt_bern_eval_blocks(tu_ctx, &P, NULL, NULL, &r)); /* an empty batch reads nothing */
    /* b NULL while there are rows */
    if (!tu_cuda()) {
        int64_t vp[2] = {0, 2}, cp[2] = {0, 1}, rp[2] = {0, 1};
        int32_t col[1] = {0};
        double val[1] = {1};
        P.batch = 1, P.var_ptr = vp, P.con_ptr = cp, P.row_ptr = rp, P.col_idx = col, P.values = val, P.b = NULL;
        CHECK(dopt_bern_eval_blocks(tu_ctx, &P, x, NULL, &r) == DOPT_ERR_INVALID_ARGUMENT &&
                  strstr(dopt_context_last_error(tu_ctx), "b is NULL"),
              "b NULL with rows: '%s'", dopt_context_last_error(tu_ctx));
    }
    blk_free(&h);
}

/* Many mixed instances (100,000: the stress size), some invalid
 * (bad xhat, a column across), all statuses as expected; the ASan run reads
 * every array through. */
static void test_many(void)
{
    enum { B = 100000 };
    int *n = malloc(sizeof(int) * B), *m = malloc(sizeof(int) * B);
    tu_seed(41);
    for (int i = 0; i < B; ++i) n[i] = (int)(tu_unif() * 24), m[i] = (int)(tu_unif() * 10);
    blk h = blk_make(B, n, m, 41);
    int *want = calloc(B, sizeof(int));
    for (int i = 0; i < B; i += 97)
        if (n[i] > 0) h.x[h.vp[i]] = 1.5, want[i] = 5; /* outside (0, 1) */
    for (int i = 5; i + 1 < B; i += 131)
        for (int64_t e = h.rp[h.cp[i]]; e < h.rp[h.cp[i + 1]] && n[i + 1] > 0; ++e) {
            h.col[e] = (int32_t)h.vp[i + 1]; /* the first entry points into the next instance */
            want[i] = 5;
            break;
        }
    dopt_bern_options o;
    dopt_bern_options_default(&o);
    o.samples = 2;
    outs a = outs_new(B, blk_vars(&h), 0);
    CHECK_OK(run_blocks(&h, 0, &o, 0, &a));
    int wrong = 0;
    for (int i = 0; i < B; ++i) wrong += a.st[i] != want[i];
    CHECK(wrong == 0, "%d of %d statuses unexpected", wrong, B);
    /* one worker: the same bits (instances never share a sample counter) */
    if (!tu_cuda()) {
        CHECK_OK(dopt_context_set_threads(tu_ctx, 1));
        outs one = outs_new(B, blk_vars(&h), 0);
        CHECK_OK(run_blocks(&h, 0, &o, 0, &one));
        CHECK(same_bytes(one.loss, a.loss, 8 * (size_t)B) && same_bytes(one.grad, a.grad, 8 * (size_t)blk_vars(&h)) &&
                  same_bytes(one.st, a.st, 4 * (size_t)B),
              "one thread != the pool");
        CHECK_OK(dopt_context_set_threads(tu_ctx, 0));
        outs_free(&one);
    }
    outs_free(&a);
    free(want), free(n), free(m);
    blk_free(&h);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    test_equal_sizes();
    test_heterogeneous();
    test_padding();
    test_bad_rows();
    test_bad_offsets();
    test_many();
    return tu_finish("test_bern_blocks");
}
