/* Ragged (heterogeneous) batches of the ILP layer: a shuffled batch of mixed
 * sizes (feasible, infeasible, invalid instances; default and custom
 * bounds; absent rows; float32 and float64; one and two threads) gives
 * results BITWISE identical to solving each instance alone with the uniform
 * layer, objectives checked against enumeration; every backward rule, the
 * perturbed forward and SPO+ bitwise equal to the uniform layer instance by
 * instance; a ragged batch of equal sizes equals the uniform batch call;
 * bad input gives a clear error; a 100,000-instance stress batch. */
#include "test_util.h"
#include "cpu_compare.h"

/* ---- a ragged problem on the host ------------------------------------------ */
enum { KIND_PLAIN = 0, KIND_INFEASIBLE = 1, KIND_INVALID = 2, KIND_EMPTY_BOX = 3 };

typedef struct {
    int64_t B;
    int32_t *n, *m;
    int64_t *on, *omn, *om; /* offsets (B + 1) into c/lb/ub, A, b */
    double *c, *A, *b, *lb, *ub; /* lb, ub NULL: 0 and 1 */
    int *kind;
} rprob;

static void rfree(rprob *p)
{
    free(p->n), free(p->m), free(p->on), free(p->omn), free(p->om);
    free(p->c), free(p->A), free(p->b), free(p->lb), free(p->ub), free(p->kind);
}

static void roffsets(rprob *p)
{
    p->on = calloc(p->B + 1, 8), p->omn = calloc(p->B + 1, 8), p->om = calloc(p->B + 1, 8);
    for (int64_t i = 0; i < p->B; ++i) {
        p->on[i + 1] = p->on[i] + p->n[i];
        p->omn[i + 1] = p->omn[i] + (int64_t)p->m[i] * p->n[i];
        p->om[i + 1] = p->om[i] + p->m[i];
    }
}

static int irand(int lo, int hi) { return lo + (int)(tu_next() % (uint64_t)(hi - lo + 1)); }

/* B instances with n in [1, max_n], m in [0, max_m], shuffled kinds. Data
 * are integers and multiples of 1/8, exact in float32, so both precisions
 * solve the same problems. `bounds`: general integer boxes (lb in [-2, 0],
 * width 0..3) instead of binary. `odd`: also infeasible and invalid ones. */
static rprob random_ragged(int64_t B, int max_n, int max_m, int bounds, int odd, uint64_t seed)
{
    tu_seed(seed);
    rprob p;
    memset(&p, 0, sizeof p);
    p.B = B;
    p.n = malloc(4 * B + 4), p.m = malloc(4 * B + 4), p.kind = calloc(B + 1, sizeof(int));
    for (int64_t i = 0; i < B; ++i) p.n[i] = irand(1, max_n), p.m[i] = irand(0, max_m);
    roffsets(&p);
    p.c = malloc(8 * p.on[B] + 8), p.A = malloc(8 * p.omn[B] + 8), p.b = malloc(8 * p.om[B] + 8);
    if (bounds) p.lb = malloc(8 * p.on[B] + 8), p.ub = malloc(8 * p.on[B] + 8);
    for (int64_t i = 0; i < B; ++i) {
        int n = p.n[i], m = p.m[i];
        double *c = p.c + p.on[i], *A = p.A + p.omn[i], *b = p.b + p.om[i];
        double *lb = bounds ? p.lb + p.on[i] : NULL, *ub = bounds ? p.ub + p.on[i] : NULL;
        for (int j = 0; j < n; ++j) {
            c[j] = round(8 * tu_normal()) / 8;
            if (bounds) lb[j] = irand(-2, 0), ub[j] = lb[j] + irand(0, 3);
        }
        for (int r = 0; r < m; ++r) {
            double mag = 0;
            for (int j = 0; j < n; ++j) A[r * n + j] = irand(-3, 3), mag += fabs(A[r * n + j]);
            b[r] = tu_unif() < 0.15 ? INFINITY : round(mag * (tu_unif() - 0.3)); /* some rows absent */
        }
        double u = tu_unif();
        if (!odd || u < 0.75) continue;
        if (u < 0.85 && m > 0) { /* sum y <= sum lb - 1: no point of the box satisfies it */
            double lo = 0;
            for (int j = 0; j < n; ++j) A[j] = 1, lo += bounds ? lb[j] : 0;
            b[0] = lo - 1;
            p.kind[i] = KIND_INFEASIBLE;
        } else if (u < 0.85 && bounds) {
            lb[n - 1] = ub[n - 1] + 1;
            p.kind[i] = KIND_EMPTY_BOX;
        } else if (u < 0.95) {
            int w = irand(0, 2);
            if (w == 0 || m == 0) c[irand(0, n - 1)] = NAN;
            else if (w == 1) A[irand(0, m * n - 1)] = NAN;
            else b[irand(0, m - 1)] = -INFINITY;
            p.kind[i] = KIND_INVALID;
        }
    }
    return p;
}

/* Instance i alone, replicated `copies` times, as a uniform problem (host doubles). */
typedef struct {
    int64_t B;
    int n, m;
    double *c, *A, *b, *lb, *ub;
} uprob;

static uprob instance_copies(const rprob *p, int64_t i, int64_t copies)
{
    uprob u;
    u.B = copies, u.n = p->n[i], u.m = p->m[i];
    size_t n = u.n, mn = (size_t)u.m * u.n, m = u.m;
    u.c = malloc(8 * n * copies + 8), u.A = malloc(8 * mn * copies + 8), u.b = malloc(8 * m * copies + 8);
    u.lb = p->lb ? malloc(8 * n * copies + 8) : NULL, u.ub = p->ub ? malloc(8 * n * copies + 8) : NULL;
    for (int64_t k = 0; k < copies; ++k) {
        memcpy(u.c + k * n, p->c + p->on[i], 8 * n);
        memcpy(u.A + k * mn, p->A + p->omn[i], 8 * mn);
        memcpy(u.b + k * m, p->b + p->om[i], 8 * m);
        if (u.lb) memcpy(u.lb + k * n, p->lb + p->on[i], 8 * n), memcpy(u.ub + k * n, p->ub + p->on[i], 8 * n);
    }
    return u;
}

static void ufree(uprob *u) { free(u->c), free(u->A), free(u->b), free(u->lb), free(u->ub); }

/* ---- staging: one dtype, host doubles in, host doubles out -------------------- */
typedef struct {
    tc_buf c, A, b, lb, ub;
} staged;

static staged stage_arrays(const double *c, size_t nc, const double *A, size_t nA, const double *b, size_t nb,
                           const double *lb, const double *ub, int f32)
{
    staged s;
    s.c = tc_buf_in(c, nc, f32), s.A = tc_buf_in(A, nA, f32), s.b = tc_buf_in(b, nb, f32);
    s.lb = tc_buf_in(lb, nc, f32), s.ub = tc_buf_in(ub, nc, f32);
    return s;
}

static void unstage(staged *s)
{
    tc_buf_done(&s->c, NULL), tc_buf_done(&s->A, NULL), tc_buf_done(&s->b, NULL);
    tc_buf_done(&s->lb, NULL), tc_buf_done(&s->ub, NULL);
}

static tc_buf out_buf(size_t count, int f32)
{
    tc_buf t = {calloc(count + 1, f32 ? 4 : 8), NULL, count, f32};
    t.dev = tu_dev_out(t.host, (f32 ? 4 : 8) * count);
    return t;
}

/* Everything a call returns, as doubles (int arrays kept as they are). */
typedef struct {
    double *y, *obj, *bound;
    int32_t *status;
    int64_t *nodes;
} sol_h;

static sol_h sol_alloc(int64_t B, size_t ny)
{
    sol_h s = {calloc(ny + 1, 8), calloc(B + 1, 8), calloc(B + 1, 8), calloc(B + 1, 4), calloc(B + 1, 8)};
    return s;
}

static void sol_free(sol_h *s) { free(s->y), free(s->obj), free(s->bound), free(s->status), free(s->nodes); }

typedef dopt_status (*solve_fn)(const void *prob, dopt_ilp_solution *S);
static dopt_status call_ragged_solve(const void *P, dopt_ilp_solution *S)
{
    return dopt_ilp_ragged_solve(tu_ctx, (const dopt_ilp_ragged_problem *)P, NULL, S);
}
static dopt_status call_uniform_solve(const void *P, dopt_ilp_solution *S)
{
    return dopt_ilp_solve(tu_ctx, (const dopt_ilp_problem *)P, NULL, S);
}

static void run_solve(solve_fn fn, const void *P, int64_t B, size_t ny, int f32, sol_h *out)
{
    tc_buf y = out_buf(ny, f32), obj = out_buf(B, f32), bound = out_buf(B, f32);
    int32_t *st = tu_dev_out(out->status, 4 * B);
    int64_t *nodes = tu_dev_out(out->nodes, 8 * B);
    dopt_ilp_solution S = {y.dev, obj.dev, bound.dev, st, nodes};
    CHECK_OK(fn(P, &S));
    tc_buf_done(&y, out->y), tc_buf_done(&obj, out->obj), tc_buf_done(&bound, out->bound);
    tu_host(out->status, st, 4 * B), tu_host(out->nodes, nodes, 8 * B);
    tu_dev_free(out->status, st), tu_dev_free(out->nodes, nodes);
}

static dopt_ilp_ragged_problem ragged_of(const rprob *p, const staged *s, int f32)
{
    dopt_ilp_ragged_problem P = {p->B, p->n, p->m, f32 ? DOPT_FLOAT32 : DOPT_FLOAT64,
                                 s->c.dev, s->A.dev, s->b.dev, s->lb.dev, s->ub.dev};
    return P;
}

static staged stage_ragged(const rprob *p, int f32)
{
    return stage_arrays(p->c, p->on[p->B], p->A, p->omn[p->B], p->b, p->om[p->B], p->lb, p->ub, f32);
}

static staged stage_uniform(const uprob *u, int f32, dopt_ilp_problem *P)
{
    size_t B = u->B;
    staged s = stage_arrays(u->c, B * u->n, u->A, B * u->m * u->n, u->b, B * u->m, u->lb, u->ub, f32);
    dopt_ilp_problem Q = {u->B, u->n, u->m, f32 ? DOPT_FLOAT32 : DOPT_FLOAT64, s.c.dev, s.A.dev, s.b.dev,
                          s.lb.dev, s.ub.dev, 0};
    *P = Q;
    return s;
}

/* Bitwise equality of two double arrays (NaN payloads included). */
static int same_bits(const char *what, int64_t inst, const double *a, const double *b, size_t count)
{
    for (size_t e = 0; e < count; ++e)
        if (memcmp(&a[e], &b[e], 8) != 0) {
            CHECK(0, "%s, instance %lld: element %zu is %.17g ragged vs %.17g alone", what, (long long)inst, e, a[e],
                  b[e]);
            return 0;
        }
    ++tu_checks;
    return 1;
}

/* ---- the oracle: every point of the box ------------------------------------- */
/* min c'y over the integer box of instance i subject to its present rows;
 * returns 0 when the box has more than `cap` points (not enumerated). */
static int enumerate(const rprob *p, int64_t i, double cap, double *best, int *feasible)
{
    int n = p->n[i], m = p->m[i];
    const double *c = p->c + p->on[i], *A = p->A + p->omn[i], *b = p->b + p->om[i];
    double lo[16], hi[16], y[16], points = 1;
    for (int j = 0; j < n; ++j) {
        lo[j] = p->lb ? p->lb[p->on[i] + j] : 0, hi[j] = p->ub ? p->ub[p->on[i] + j] : 1;
        if (lo[j] > hi[j]) {
            *feasible = 0;
            return 1;
        }
        points *= hi[j] - lo[j] + 1;
    }
    if (points > cap) return 0;
    *feasible = 0;
    *best = INFINITY;
    for (int j = 0; j < n; ++j) y[j] = lo[j];
    for (;;) {
        int ok = 1;
        for (int r = 0; r < m && ok; ++r) {
            if (b[r] == INFINITY) continue;
            double act = 0;
            for (int j = 0; j < n; ++j) act += A[r * n + j] * y[j];
            ok = act <= b[r];
        }
        if (ok) {
            double v = 0;
            for (int j = 0; j < n; ++j) v += c[j] * y[j];
            if (v < *best) *best = v;
            *feasible = 1;
        }
        int j = 0;
        while (j < n && y[j] == hi[j]) y[j] = lo[j], ++j;
        if (j == n) break;
        y[j] += 1;
    }
    return 1;
}

/* ---- solve: ragged vs alone -------------------------------------------------- */
static void check_solve_alone(const char *what, const rprob *p, int f32, const sol_h *r, int64_t i, int enumerate_it)
{
    uprob u = instance_copies(p, i, 1);
    dopt_ilp_problem P;
    staged s = stage_uniform(&u, f32, &P);
    sol_h a = sol_alloc(1, u.n);
    run_solve(call_uniform_solve, &P, 1, u.n, f32, &a);
    char name[200];
    snprintf(name, sizeof name, "%s: y", what);
    same_bits(name, i, r->y + p->on[i], a.y, u.n);
    snprintf(name, sizeof name, "%s: obj", what);
    same_bits(name, i, r->obj + i, a.obj, 1);
    snprintf(name, sizeof name, "%s: bound", what);
    same_bits(name, i, r->bound + i, a.bound, 1);
    CHECK(r->status[i] == a.status[0] && r->nodes[i] == a.nodes[0],
          "%s, instance %lld: status %d nodes %lld ragged vs %d %lld alone", what, (long long)i, r->status[i],
          (long long)r->nodes[i], a.status[0], (long long)a.nodes[0]);
    int expect = p->kind[i] == KIND_INVALID ? DOPT_INVALID_DATA
                 : p->kind[i] == KIND_PLAIN ? -1 : DOPT_PRIMAL_INFEASIBLE;
    if (expect >= 0)
        CHECK(r->status[i] == expect, "%s, instance %lld (kind %d): status %d, expected %d", what, (long long)i,
              p->kind[i], r->status[i], expect);
    double best = 0;
    int feasible = 0;
    if (enumerate_it && p->kind[i] != KIND_INVALID && enumerate(p, i, 1e5, &best, &feasible)) {
        if (!feasible)
            CHECK(r->status[i] == DOPT_PRIMAL_INFEASIBLE && r->obj[i] == INFINITY,
                  "%s, instance %lld: infeasible by enumeration, status %d obj %g", what, (long long)i, r->status[i],
                  r->obj[i]);
        else
            CHECK(r->status[i] == DOPT_SOLVED && fabs(r->obj[i] - best) <= (f32 ? 1e-6 : 1e-9) * (1 + fabs(best)),
                  "%s, instance %lld: status %d obj %.17g, enumeration %.17g", what, (long long)i, r->status[i],
                  r->obj[i], best);
    }
    sol_free(&a);
    unstage(&s);
    ufree(&u);
}

/* ---- backward: ragged vs the uniform layer ------------------------------------ */
typedef struct {
    double *dA, *db, *dc;
} grads;

static const char *method_name[4] = {"combopt", "dbb", "perturbed", "identity"};

static dopt_ilp_grad_options grad_opts(int method)
{
    dopt_ilp_grad_options g;
    dopt_ilp_grad_options_default(&g);
    g.method = (dopt_ilp_method)method;
    g.samples = 3;
    g.seed = 41;
    return g;
}

/* The uniform backward of `copies` replicas of instance i, taking instance
 * i's y, status and dy for every replica: replica k runs with instance
 * index k, so replica i draws the perturbed noise instance i draws in the
 * ragged batch. Returns replica `copies - 1`'s gradients (host doubles). */
static grads uniform_backward(const rprob *p, int64_t i, int64_t copies, int f32, const dopt_ilp_grad_options *g,
                              const double *y, const int32_t *status, const double *dy)
{
    uprob u = instance_copies(p, i, copies);
    dopt_ilp_problem P;
    staged s = stage_uniform(&u, f32, &P);
    size_t n = u.n, m = u.m, C = (size_t)copies;
    double *ys = malloc(8 * n * C + 8), *dys = malloc(8 * n * C + 8);
    int32_t *sts = malloc(4 * C + 4);
    for (size_t k = 0; k < C; ++k) {
        memcpy(ys + k * n, y + p->on[i], 8 * n), memcpy(dys + k * n, dy + p->on[i], 8 * n);
        sts[k] = status[i];
    }
    tc_buf yb = tc_buf_in(ys, n * C, f32), dyb = tc_buf_in(dys, n * C, f32);
    int32_t *sd = tu_dev(sts, 4 * C);
    tc_buf gA = out_buf(m * n * C, f32), gb = out_buf(m * C, f32), gc = out_buf(n * C, f32);
    CHECK_OK(dopt_ilp_backward(tu_ctx, &P, NULL, g, yb.dev, sd, dyb.dev, gA.dev, m ? gb.dev : NULL, gc.dev));
    double *A = malloc(8 * m * n * C + 8), *b = malloc(8 * m * C + 8), *c = malloc(8 * n * C + 8);
    tc_buf_done(&gA, A), tc_buf_done(&gb, b), tc_buf_done(&gc, c);
    grads r = {malloc(8 * m * n + 8), malloc(8 * m + 8), malloc(8 * n + 8)};
    memcpy(r.dA, A + (C - 1) * m * n, 8 * m * n), memcpy(r.db, b + (C - 1) * m, 8 * m);
    memcpy(r.dc, c + (C - 1) * n, 8 * n);
    tc_buf_done(&yb, NULL), tc_buf_done(&dyb, NULL);
    tu_dev_free(sts, sd);
    free(A), free(b), free(c), free(ys), free(dys), free(sts);
    unstage(&s);
    ufree(&u);
    return r;
}

static void check_backward(const char *what, const rprob *p, const staged *s, int f32, const sol_h *r,
                           const double *dy)
{
    dopt_ilp_ragged_problem P = ragged_of(p, s, f32);
    int64_t B = p->B;
    size_t ny = p->on[B], nA = p->omn[B], nb = p->om[B];
    tc_buf yb = tc_buf_in(r->y, ny, f32), dyb = tc_buf_in(dy, ny, f32);
    int32_t *sd = tu_dev(r->status, 4 * B);
    char name[200];
    for (int method = 0; method < 4; ++method) {
        dopt_ilp_grad_options g = grad_opts(method);
        tc_buf gA = out_buf(nA, f32), gb = out_buf(nb, f32), gc = out_buf(ny, f32);
        CHECK_OK(dopt_ilp_ragged_backward(tu_ctx, &P, NULL, &g, yb.dev, sd, dyb.dev, gA.dev, gb.dev, gc.dev));
        double *dA = malloc(8 * nA + 8), *db = malloc(8 * nb + 8), *dc = malloc(8 * ny + 8);
        tc_buf_done(&gA, dA), tc_buf_done(&gb, db), tc_buf_done(&gc, dc);
        size_t nonzero = 0;
        for (int64_t i = 0; i < B; ++i) {
            /* the noise of instance i comes from its index: replicate it i + 1 times */
            int64_t copies = method == DOPT_ILP_PERTURBED ? i + 1 : 1;
            grads u = uniform_backward(p, i, copies, f32, &g, r->y, r->status, dy);
            int n = p->n[i], m = p->m[i];
            snprintf(name, sizeof name, "%s %s: dA", what, method_name[method]);
            same_bits(name, i, dA + p->omn[i], u.dA, (size_t)m * n);
            snprintf(name, sizeof name, "%s %s: db", what, method_name[method]);
            same_bits(name, i, db + p->om[i], u.db, m);
            snprintf(name, sizeof name, "%s %s: dc", what, method_name[method]);
            same_bits(name, i, dc + p->on[i], u.dc, n);
            for (int j = 0; j < n; ++j) nonzero += u.dc[j] != 0;
            free(u.dA), free(u.db), free(u.dc);
        }
        CHECK(nonzero > 0, "%s %s: every dc is 0, nothing compared", what, method_name[method]);
        free(dA), free(db), free(dc);
    }
    tc_buf_done(&yb, NULL), tc_buf_done(&dyb, NULL);
    tu_dev_free(r->status, sd);
}

/* The perturbed forward and SPO+ of a ragged batch against the uniform
 * layer, instance by instance. */
static void check_perturbed_spo(const char *what, const rprob *p, const staged *s, int f32)
{
    dopt_ilp_ragged_problem P = ragged_of(p, s, f32);
    int64_t B = p->B;
    size_t ny = p->on[B];
    dopt_ilp_grad_options g = grad_opts(DOPT_ILP_PERTURBED);
    tc_buf ye = out_buf(ny, f32);
    CHECK_OK(dopt_ilp_ragged_perturbed(tu_ctx, &P, NULL, &g, ye.dev));
    double *y_eps = malloc(8 * ny + 8);
    tc_buf_done(&ye, y_eps);
    double *ctrue = malloc(8 * ny + 8);
    for (size_t e = 0; e < ny; ++e) ctrue[e] = p->c[e] + round(4 * tu_normal()) / 8;
    tc_buf ct = tc_buf_in(ctrue, ny, f32), loss = out_buf(B, f32), sdc = out_buf(ny, f32);
    CHECK_OK(dopt_ilp_ragged_spo_plus(tu_ctx, &P, NULL, ct.dev, NULL, loss.dev, sdc.dev));
    double *l = malloc(8 * B + 8), *dc = malloc(8 * ny + 8);
    tc_buf_done(&loss, l), tc_buf_done(&sdc, dc), tc_buf_done(&ct, NULL);
    char name[200];
    for (int64_t i = 0; i < B; ++i) {
        int64_t copies = i + 1;
        uprob u = instance_copies(p, i, copies);
        dopt_ilp_problem Q;
        staged us = stage_uniform(&u, f32, &Q);
        size_t n = u.n, C = (size_t)copies;
        tc_buf ue = out_buf(n * C, f32);
        CHECK_OK(dopt_ilp_perturbed(tu_ctx, &Q, NULL, &g, ue.dev));
        double *uy = malloc(8 * n * C + 8);
        tc_buf_done(&ue, uy);
        snprintf(name, sizeof name, "%s: perturbed y_eps", what);
        same_bits(name, i, y_eps + p->on[i], uy + (C - 1) * n, n);
        free(uy);
        /* SPO+ has no noise: instance i alone */
        Q.batch = 1;
        tc_buf uct = tc_buf_in(ctrue + p->on[i], n, f32), ul = out_buf(1, f32), udc = out_buf(n, f32);
        CHECK_OK(dopt_ilp_spo_plus(tu_ctx, &Q, NULL, uct.dev, NULL, ul.dev, udc.dev));
        double l1, *dc1 = malloc(8 * n + 8);
        tc_buf_done(&ul, &l1), tc_buf_done(&udc, dc1), tc_buf_done(&uct, NULL);
        snprintf(name, sizeof name, "%s: SPO+ loss", what);
        same_bits(name, i, l + i, &l1, 1);
        snprintf(name, sizeof name, "%s: SPO+ dc", what);
        same_bits(name, i, dc + p->on[i], dc1, n);
        free(dc1);
        unstage(&us);
        ufree(&u);
    }
    free(y_eps), free(ctrue), free(l), free(dc);
}

/* A shuffled heterogeneous batch, bitwise against each instance alone. */
static void test_heterogeneous(int f32, int bounds, int threads)
{
    char what[120];
    snprintf(what, sizeof what, "%s, %s bounds, %d thread(s)", f32 ? "f32" : "f64", bounds ? "custom" : "default",
             threads);
    CHECK_OK(dopt_context_set_threads(tu_ctx, threads));
    rprob p = random_ragged(48, 12, 12, bounds, 1, 1000 + 10 * bounds + f32);
    staged s = stage_ragged(&p, f32);
    dopt_ilp_ragged_problem P = ragged_of(&p, &s, f32);
    sol_h r = sol_alloc(p.B, p.on[p.B]);
    run_solve(call_ragged_solve, &P, p.B, p.on[p.B], f32, &r);
    int seen[6] = {0};
    for (int64_t i = 0; i < p.B; ++i) {
        check_solve_alone(what, &p, f32, &r, i, 1);
        if (r.status[i] >= 0 && r.status[i] < 6) seen[r.status[i]]++;
    }
    CHECK(seen[DOPT_SOLVED] >= 10 && seen[DOPT_PRIMAL_INFEASIBLE] >= 2 && seen[DOPT_INVALID_DATA] >= 2,
          "%s: the batch should mix outcomes (solved %d, infeasible %d, invalid %d)", what, seen[DOPT_SOLVED],
          seen[DOPT_PRIMAL_INFEASIBLE], seen[DOPT_INVALID_DATA]);
    double *dy = malloc(8 * p.on[p.B] + 8);
    for (int64_t e = 0; e < p.on[p.B]; ++e) dy[e] = round(8 * tu_normal()) / 8;
    dy[p.on[5]] = NAN; /* a non-finite incoming gradient: that instance's row is NaN, the others untouched */
    check_backward(what, &p, &s, f32, &r, dy);
    check_perturbed_spo(what, &p, &s, f32);
    free(dy);
    sol_free(&r);
    unstage(&s);
    rfree(&p);
    CHECK_OK(dopt_context_set_threads(tu_ctx, 0));
}

/* ---- equal sizes: the ragged call is the uniform call ---------------------------- */
static void test_equal_sizes(int f32)
{
    const int64_t B = 24;
    const int n = 7, m = 5;
    rprob p;
    tu_seed(78 + f32);
    memset(&p, 0, sizeof p);
    p.B = B;
    p.n = malloc(4 * B), p.m = malloc(4 * B), p.kind = calloc(B, sizeof(int));
    for (int64_t i = 0; i < B; ++i) p.n[i] = n, p.m[i] = m;
    roffsets(&p);
    p.c = malloc(8 * B * n), p.A = malloc(8 * B * m * n), p.b = malloc(8 * B * m);
    p.lb = malloc(8 * B * n), p.ub = malloc(8 * B * n);
    for (int64_t e = 0; e < B * n; ++e) p.c[e] = round(8 * tu_normal()) / 8, p.lb[e] = irand(-1, 0), p.ub[e] = 2;
    for (int64_t e = 0; e < B * m * n; ++e) p.A[e] = irand(-3, 3);
    for (int64_t e = 0; e < B * m; ++e) p.b[e] = irand(-2, 6);
    p.b[3] = INFINITY;
    p.c[2 * n] = NAN; /* instance 2 invalid */

    staged s = stage_ragged(&p, f32);
    dopt_ilp_ragged_problem R = ragged_of(&p, &s, f32);
    dopt_ilp_problem U = {B, n, m, R.dtype, R.c, R.A, R.b, R.lb, R.ub, 0};
    const char *what = f32 ? "equal sizes f32" : "equal sizes f64";
    sol_h r = sol_alloc(B, B * n), u = sol_alloc(B, B * n);
    run_solve(call_ragged_solve, &R, B, B * n, f32, &r);
    run_solve(call_uniform_solve, &U, B, B * n, f32, &u);
    same_bits("equal sizes: y", -1, r.y, u.y, B * n);
    same_bits("equal sizes: obj", -1, r.obj, u.obj, B);
    same_bits("equal sizes: bound", -1, r.bound, u.bound, B);
    CHECK(!memcmp(r.status, u.status, 4 * B) && !memcmp(r.nodes, u.nodes, 8 * B), "%s: status/nodes differ", what);
    double *dy = malloc(8 * B * n);
    for (int64_t e = 0; e < B * n; ++e) dy[e] = tu_normal();
    tc_buf yb = tc_buf_in(r.y, B * n, f32), dyb = tc_buf_in(dy, B * n, f32);
    int32_t *sd = tu_dev(r.status, 4 * B);
    for (int method = 0; method < 4; ++method) {
        dopt_ilp_grad_options g = grad_opts(method);
        double *out[2][3];
        for (int k = 0; k < 2; ++k) {
            tc_buf gA = out_buf(B * m * n, f32), gb = out_buf(B * m, f32), gc = out_buf(B * n, f32);
            if (k == 0)
                CHECK_OK(dopt_ilp_ragged_backward(tu_ctx, &R, NULL, &g, yb.dev, sd, dyb.dev, gA.dev, gb.dev, gc.dev));
            else
                CHECK_OK(dopt_ilp_backward(tu_ctx, &U, NULL, &g, yb.dev, sd, dyb.dev, gA.dev, gb.dev, gc.dev));
            out[k][0] = malloc(8 * B * m * n), out[k][1] = malloc(8 * B * m), out[k][2] = malloc(8 * B * n);
            tc_buf_done(&gA, out[k][0]), tc_buf_done(&gb, out[k][1]), tc_buf_done(&gc, out[k][2]);
        }
        char name[120];
        size_t counts[3] = {(size_t)B * m * n, (size_t)B * m, (size_t)B * n};
        const char *part[3] = {"dA", "db", "dc"};
        for (int k = 0; k < 3; ++k) {
            snprintf(name, sizeof name, "%s %s: %s", what, method_name[method], part[k]);
            same_bits(name, -1, out[0][k], out[1][k], counts[k]);
            free(out[0][k]), free(out[1][k]);
        }
    }
    dopt_ilp_grad_options g = grad_opts(DOPT_ILP_PERTURBED);
    tc_buf e0 = out_buf(B * n, f32), e1 = out_buf(B * n, f32);
    CHECK_OK(dopt_ilp_ragged_perturbed(tu_ctx, &R, NULL, &g, e0.dev));
    CHECK_OK(dopt_ilp_perturbed(tu_ctx, &U, NULL, &g, e1.dev));
    double *ye0 = malloc(8 * B * n), *ye1 = malloc(8 * B * n);
    tc_buf_done(&e0, ye0), tc_buf_done(&e1, ye1);
    same_bits("equal sizes: y_eps", -1, ye0, ye1, B * n);
    tc_buf l0 = out_buf(B, f32), l1 = out_buf(B, f32), d0 = out_buf(B * n, f32), d1 = out_buf(B * n, f32);
    CHECK_OK(dopt_ilp_ragged_spo_plus(tu_ctx, &R, NULL, dyb.dev, yb.dev, l0.dev, d0.dev));
    CHECK_OK(dopt_ilp_spo_plus(tu_ctx, &U, NULL, dyb.dev, yb.dev, l1.dev, d1.dev));
    double *ls0 = malloc(8 * B), *ls1 = malloc(8 * B), *dc0 = malloc(8 * B * n), *dc1 = malloc(8 * B * n);
    tc_buf_done(&l0, ls0), tc_buf_done(&l1, ls1), tc_buf_done(&d0, dc0), tc_buf_done(&d1, dc1);
    same_bits("equal sizes: SPO+ loss", -1, ls0, ls1, B);
    same_bits("equal sizes: SPO+ dc", -1, dc0, dc1, B * n);
    free(ye0), free(ye1), free(ls0), free(ls1), free(dc0), free(dc1), free(dy);
    tc_buf_done(&yb, NULL), tc_buf_done(&dyb, NULL);
    tu_dev_free(r.status, sd);
    sol_free(&r), sol_free(&u);
    unstage(&s);
    rfree(&p);
}

/* ---- bad input ------------------------------------------------------------------- */
static void expect_error(const char *what, dopt_status st, const char *needle)
{
    const char *msg = dopt_context_last_error(tu_ctx);
    CHECK(st == DOPT_ERR_INVALID_ARGUMENT && strstr(msg, needle),
          "%s: expected DOPT_ERR_INVALID_ARGUMENT mentioning '%s', got %s: %s", what, needle,
          dopt_status_string(st), msg);
}

static void test_bad_input(void)
{
    double c[8] = {1, 2, 3, 4, 5, 6, 7, 8}, A[16] = {0}, b[4] = {1, 1, 1, 1}, y[8], dy[8] = {0};
    int32_t n[3] = {2, 3, 1}, m[3] = {1, 0, 1}, st[3];
    dopt_ilp_ragged_problem P = {3, n, m, DOPT_FLOAT64, c, A, b, NULL, NULL};
    dopt_ilp_solution S = {y, NULL, NULL, st, NULL};
    CHECK_OK(dopt_ilp_ragged_solve(tu_ctx, &P, NULL, &S));
    CHECK(st[0] == DOPT_SOLVED && st[1] == DOPT_SOLVED && st[2] == DOPT_SOLVED, "small valid batch: %d %d %d", st[0],
          st[1], st[2]);
    n[1] = 0;
    expect_error("n = 0", dopt_ilp_ragged_solve(tu_ctx, &P, NULL, &S), "n[1] = 0");
    n[1] = -4;
    expect_error("negative n", dopt_ilp_ragged_solve(tu_ctx, &P, NULL, &S), "n[1] = -4");
    n[1] = 257;
    expect_error("n too big", dopt_ilp_ragged_solve(tu_ctx, &P, NULL, &S), "n[1] = 257");
    n[1] = 3;
    m[2] = -1;
    expect_error("negative m", dopt_ilp_ragged_backward(tu_ctx, &P, NULL, NULL, y, st, dy, NULL, NULL, NULL),
                 "m[2] = -1");
    m[2] = 300;
    expect_error("m too big", dopt_ilp_ragged_solve(tu_ctx, &P, NULL, &S), "m[2] = 300");
    m[2] = 1;
    P.n = NULL;
    expect_error("NULL n", dopt_ilp_ragged_solve(tu_ctx, &P, NULL, &S), "size arrays");
    P.n = n;
    P.c = NULL;
    expect_error("NULL c", dopt_ilp_ragged_solve(tu_ctx, &P, NULL, &S), "c is NULL");
    P.c = c;
    P.A = NULL;
    expect_error("NULL A with rows", dopt_ilp_ragged_solve(tu_ctx, &P, NULL, &S), "A or b is NULL");
    P.A = A;
    P.batch = -1;
    expect_error("negative batch", dopt_ilp_ragged_solve(tu_ctx, &P, NULL, &S), "batch");
    P.batch = 3;
    P.dtype = (dopt_dtype)7;
    expect_error("bad dtype", dopt_ilp_ragged_solve(tu_ctx, &P, NULL, &S), "dtype");
    P.dtype = DOPT_FLOAT64;
    S.status = NULL;
    expect_error("NULL status", dopt_ilp_ragged_solve(tu_ctx, &P, NULL, &S), "status");
    S.status = st;
    expect_error("NULL dy", dopt_ilp_ragged_backward(tu_ctx, &P, NULL, NULL, y, st, NULL, NULL, NULL, NULL), "dy");
    expect_error("NULL y_eps", dopt_ilp_ragged_perturbed(tu_ctx, &P, NULL, NULL, NULL), "y_eps");
    expect_error("NULL loss", dopt_ilp_ragged_spo_plus(tu_ctx, &P, NULL, c, NULL, NULL, NULL), "loss");
    expect_error("NULL problem", dopt_ilp_ragged_solve(tu_ctx, NULL, NULL, &S), "problem is NULL");
    m[0] = m[2] = 0; /* no rows anywhere: A and b may be NULL */
    P.A = P.b = NULL;
    CHECK_OK(dopt_ilp_ragged_solve(tu_ctx, &P, NULL, &S));
    CHECK(y[0] == 0 && y[1] == 0 && st[0] == DOPT_SOLVED, "no rows, positive costs: y = 0");
    P.batch = 0;
    P.n = P.m = NULL;
    CHECK_OK(dopt_ilp_ragged_solve(tu_ctx, &P, NULL, &S)); /* an empty batch needs no arrays */
    CHECK(dopt_ilp_ragged_solve(NULL, &P, NULL, &S) == DOPT_ERR_INVALID_ARGUMENT, "NULL context");
}

/* ---- stress: 100,000 mixed tiny instances ---------------------------------------- */
static void test_stress(void)
{
    const int64_t B = 100000;
    rprob p = random_ragged(B, 4, 3, 1, 1, 4242);
    staged s = stage_ragged(&p, 0);
    dopt_ilp_ragged_problem P = ragged_of(&p, &s, 0);
    sol_h r = sol_alloc(B, p.on[B]);
    run_solve(call_ragged_solve, &P, B, p.on[B], 0, &r);
    int64_t wrong = 0, seen[6] = {0};
    for (int64_t i = 0; i < B; ++i) {
        if (r.status[i] >= 0 && r.status[i] < 6) seen[r.status[i]]++;
        int expect = p.kind[i] == KIND_INVALID ? DOPT_INVALID_DATA
                     : p.kind[i] == KIND_PLAIN ? -1 : DOPT_PRIMAL_INFEASIBLE;
        if (expect >= 0 ? r.status[i] != expect
                        : r.status[i] != DOPT_SOLVED && r.status[i] != DOPT_PRIMAL_INFEASIBLE)
            ++wrong;
    }
    CHECK(wrong == 0, "stress: %lld instances with an unexpected status", (long long)wrong);
    CHECK(seen[DOPT_SOLVED] > B / 2 && seen[DOPT_PRIMAL_INFEASIBLE] > B / 50 && seen[DOPT_INVALID_DATA] > B / 50,
          "stress: outcomes solved %lld infeasible %lld invalid %lld", (long long)seen[DOPT_SOLVED],
          (long long)seen[DOPT_PRIMAL_INFEASIBLE], (long long)seen[DOPT_INVALID_DATA]);
    for (int64_t i = 0; i < B; i += 997) check_solve_alone("stress", &p, 0, &r, i, 1);
    /* the backward over the whole batch, spot-checked against the uniform layer */
    double *dy = malloc(8 * p.on[B] + 8), *dA = malloc(8 * p.omn[B] + 8), *db = malloc(8 * p.om[B] + 8),
           *dc = malloc(8 * p.on[B] + 8);
    for (int64_t e = 0; e < p.on[B]; ++e) dy[e] = round(8 * tu_normal()) / 8;
    dopt_ilp_grad_options g = grad_opts(DOPT_ILP_COMBOPT);
    tc_buf yb = tc_buf_in(r.y, p.on[B], 0), dyb = tc_buf_in(dy, p.on[B], 0);
    int32_t *sd = tu_dev(r.status, 4 * B);
    tc_buf gA = out_buf(p.omn[B], 0), gb = out_buf(p.om[B], 0), gc = out_buf(p.on[B], 0);
    CHECK_OK(dopt_ilp_ragged_backward(tu_ctx, &P, NULL, &g, yb.dev, sd, dyb.dev, gA.dev, gb.dev, gc.dev));
    tc_buf_done(&gA, dA), tc_buf_done(&gb, db), tc_buf_done(&gc, dc);
    for (int64_t i = 0; i < B; i += 1009) {
        grads u = uniform_backward(&p, i, 1, 0, &g, r.y, r.status, dy);
        same_bits("stress combopt: dA", i, dA + p.omn[i], u.dA, (size_t)p.m[i] * p.n[i]);
        same_bits("stress combopt: db", i, db + p.om[i], u.db, p.m[i]);
        same_bits("stress combopt: dc", i, dc + p.on[i], u.dc, p.n[i]);
        free(u.dA), free(u.db), free(u.dc);
    }
    tc_buf_done(&yb, NULL), tc_buf_done(&dyb, NULL);
    tu_dev_free(r.status, sd);
    free(dy), free(dA), free(db), free(dc);
    sol_free(&r);
    unstage(&s);
    rfree(&p);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    for (int f32 = 0; f32 <= 1; ++f32)
        for (int bounds = 0; bounds <= 1; ++bounds)
            for (int threads = 1; threads <= 2; ++threads) test_heterogeneous(f32, bounds, threads);
    test_equal_sizes(0);
    test_equal_sizes(1);
    if (!tu_cuda()) test_bad_input(); /* passes host arrays */
    test_stress();
    if (tc_cpu) tc_release();
    return tu_finish("test_ilp_ragged");
}
