/* ILP layer entry points: argument checks, defaults, and the composition of
 * the backward rules from backend solves (docs/ILP.md). */
#include "internal.h"
#include "backend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ILP_DEFAULT_NODE_LIMIT 1000000

void dopt_ilp_grad_options_default(dopt_ilp_grad_options *g)
{
    if (!g) return;
    memset(g, 0, sizeof *g);
    g->method = DOPT_ILP_COMBOPT;
    g->tau = 0.5;
    g->lambda = 10;
    g->epsilon = 1;
    g->samples = 10;
}

void dopt_ilp_options_default(dopt_ilp_options *opt)
{
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->node_limit = ILP_DEFAULT_NODE_LIMIT;
}

static dopt_status check_problem(dopt_context *ctx, const dopt_ilp_problem *P)
{
    if (!P) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp: problem is NULL");
    if (P->dtype != DOPT_FLOAT32 && P->dtype != DOPT_FLOAT64)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp: dtype must be DOPT_FLOAT32 or DOPT_FLOAT64");
    if (P->batch < 0 || P->n < 1 || P->n > ILP_MAX_DIM || P->m < 0 || P->m > ILP_MAX_DIM)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "ilp: need batch >= 0, 1 <= n <= %d, 0 <= m <= %d (got %lld, %d, %d)", ILP_MAX_DIM,
                         ILP_MAX_DIM, (long long)P->batch, P->n, P->m);
    if (P->batch > 0xFFFFFFFFll)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp: batch above 2^32 (the noise counter is 32-bit)");
    if (P->shared & ~0x1Fu) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp: unknown bits in shared");
    if (!P->c) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp: c is NULL");
    if (P->m > 0 && (!P->A || !P->b))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp: m = %d but A or b is NULL", P->m);
    return DOPT_OK;
}

static dopt_status resolve_options(dopt_context *ctx, const dopt_ilp_options *opt, dopt_ilp_options *o)
{
    dopt_ilp_options_default(o);
    if (opt) {
        if (opt->node_limit < 0) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp: node_limit must be >= 0");
        if (!(opt->time_limit >= 0 && opt->time_limit < 1e9))
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp: time_limit must be in [0, 1e9) seconds");
        if (opt->node_limit > 0) o->node_limit = opt->node_limit;
        o->time_limit = opt->time_limit;
    }
    return DOPT_OK;
}

static dopt_status check_grad_options(dopt_context *ctx, const dopt_ilp_grad_options *g, dopt_ilp_grad_options *r)
{
    dopt_ilp_grad_options_default(r);
    if (g) *r = *g;
    if (r->method < DOPT_ILP_COMBOPT || r->method > DOPT_ILP_IDENTITY)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp: unknown gradient method %d", (int)r->method);
    if (!(r->tau >= 0 && r->tau < INFINITY)) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp: tau must be >= 0");
    if (!(r->lambda > 0 && r->lambda < INFINITY))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp: lambda must be > 0");
    if (!(r->epsilon > 0 && r->epsilon < INFINITY))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp: epsilon must be > 0");
    if (r->samples < 1 || r->samples > 1000000)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp: samples must be in [1, 1e6]");
    return DOPT_OK;
}

/* The checks every entry starts with: context, problem, options (and the
 * gradient options when g != NULL). */
static dopt_status begin(dopt_context *ctx, const dopt_ilp_problem *P, const dopt_ilp_options *opt,
                         dopt_ilp_options *o, const dopt_ilp_grad_options *gopt, dopt_ilp_grad_options *g)
{
    DOPT_NOT_BUSY(ctx);
    ctx->error[0] = 0;
    DOPT_TRY(check_problem(ctx, P));
    DOPT_TRY(resolve_options(ctx, opt, o));
    if (g) DOPT_TRY(check_grad_options(ctx, gopt, g));
    if (g && g->method == DOPT_ILP_PERTURBED && (int64_t)g->samples * P->batch > 0xFFFFFFFFll)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp: batch * samples above 2^32");
    return DOPT_OK;
}

static ilp_view view_of(const dopt_ilp_problem *P)
{
    ilp_view v;
    memset(&v, 0, sizeof v);
    int8_t dt = P->dtype == DOPT_FLOAT64;
    v.solves = P->batch;
    v.n = P->n;
    v.m = P->m;
    v.group = 1;
    v.c = P->c, v.A = P->A, v.b = P->b, v.lb = P->lb, v.ub = P->ub;
    v.dt_c = v.dt_A = v.dt_b = v.dt_lb = v.dt_ub = v.dt_cadd = dt;
    v.share = P->shared;
    v.c_scale = 1;
    return v;
}

static dopt_status backend_solve(dopt_context *ctx, const ilp_view *v, const dopt_ilp_options *o, const ilp_out *out)
{
    return DOPT_CALL(ctx, ilp_solve, v, o, out);
}

static dopt_status backend_grad(dopt_context *ctx, const ilp_view *v, const ilp_grad_args *ga, int64_t batch)
{
    return DOPT_CALL(ctx, ilp_grad, v, ga, batch);
}

static dopt_status backend_reduce(dopt_context *ctx, const ilp_block *b)
{
    return DOPT_CALL(ctx, ilp_reduce, b);
}

/* Intermediate results in the backend's memory, alive across several
 * backend calls (which use the context's arena themselves); NULL on
 * failure, the caller reports. */
static void *scratch_alloc(dopt_context *ctx, size_t bytes)
{
    void *p = NULL;
    if (dopt_temp_alloc(ctx, bytes, &p, "ilp temporaries") != DOPT_OK) return NULL; /* counted under the cap */
    return p;
}

static void scratch_free(dopt_context *ctx, void *p) { dopt_temp_free(ctx, p); }

/* A failed scratch_alloc: its own message (a memory cap names itself) is
 * kept; this one only when there is none. */
static dopt_status scratch_failed(dopt_context *ctx, const char *what)
{
    if (ctx->error[0]) return DOPT_ERR_OUT_OF_MEMORY;
    return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "ilp: out of memory for %s", what);
}

dopt_status dopt_ilp_solve(dopt_context *ctx, const dopt_ilp_problem *P, const dopt_ilp_options *opt,
                           dopt_ilp_solution *sol)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    dopt_ilp_options o;
    DOPT_TRY(begin(ctx, P, opt, &o, NULL, NULL));
    if (!sol || (P->batch > 0 && (!sol->y || !sol->status)))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp: y and status outputs are required");
    if (P->batch == 0) return DOPT_OK;
    ilp_view v = view_of(P);
    ilp_out out = {sol->y, v.dt_c, sol->obj, sol->bound, v.dt_c, sol->status, sol->nodes};
    return backend_solve(ctx, &v, &o, &out);
}

/* Solves `v` into float64 y (solves, n) and status scratch. */
static dopt_status solve_scratch(dopt_context *ctx, const ilp_view *v, const dopt_ilp_options *o, double **y,
                                 int32_t **status)
{
    *y = (double *)scratch_alloc(ctx, sizeof(double) * (size_t)v->solves * (size_t)v->n);
    *status = (int32_t *)scratch_alloc(ctx, sizeof(int32_t) * (size_t)v->solves);
    if (!*y || !*status) return scratch_failed(ctx, "extra solves");
    ilp_out out = {*y, 1, NULL, NULL, 1, *status, NULL};
    return backend_solve(ctx, v, o, &out);
}

/* Writes the blocks of G into dA, db, dc (each optional). */
static dopt_status emit_gradients(dopt_context *ctx, const dopt_ilp_problem *P, const double *G, void *dA, void *db,
                                  void *dc)
{
    size_t row = ilp_grad_row(P->n, P->m), mn = (size_t)P->m * P->n;
    int8_t dt = P->dtype == DOPT_FLOAT64;
    ilp_block blocks[3] = {
        {G, P->batch, row, 0, mn, (P->shared & DOPT_ILP_SHARE_A) != 0, dA, dt},
        {G, P->batch, row, mn, (size_t)P->m, (P->shared & DOPT_ILP_SHARE_B) != 0, db, dt},
        {G, P->batch, row, mn + P->m, (size_t)P->n, (P->shared & DOPT_ILP_SHARE_C) != 0, dc, dt},
    };
    for (int k = 0; k < 3; ++k)
        if (blocks[k].out && blocks[k].len > 0) DOPT_TRY(backend_reduce(ctx, &blocks[k]));
    return DOPT_OK;
}

/* The perturbed solves of every instance: y (batch * K, n) float64. */
static ilp_view perturbed_view(const dopt_ilp_problem *P, const dopt_ilp_grad_options *g)
{
    ilp_view v = view_of(P);
    v.group = g->samples;
    v.solves = P->batch * g->samples;
    v.eps = g->epsilon;
    v.seed = g->seed;
    return v;
}

dopt_status dopt_ilp_backward(dopt_context *ctx, const dopt_ilp_problem *P, const dopt_ilp_options *opt,
                              const dopt_ilp_grad_options *gopt, const void *y, const int32_t *status,
                              const void *dy, void *dA, void *db, void *dc)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    dopt_ilp_options o;
    dopt_ilp_grad_options g;
    DOPT_TRY(begin(ctx, P, opt, &o, gopt, &g));
    if (P->batch > 0 && (!y || !status || !dy))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp backward: y, status and dy are required");
    if (P->batch == 0) return DOPT_OK;
    ilp_view v = view_of(P);
    ilp_grad_args ga;
    memset(&ga, 0, sizeof ga);
    ga.method = (int)g.method;
    ga.tau = g.tau, ga.lambda = g.lambda, ga.eps = g.epsilon, ga.samples = g.samples, ga.seed = g.seed;
    ga.y = y, ga.dy = dy, ga.dt_y = ga.dt_dy = v.dt_c, ga.status = status;
    double *ys = NULL, *G = NULL;
    int32_t *ys_status = NULL;
    dopt_status st = DOPT_OK;
    if (g.method == DOPT_ILP_DBB) {
        ilp_view vd = v;
        vd.c_add = dy; /* c + lambda dy, per instance */
        vd.add_scale = g.lambda;
        vd.share &= ~(uint32_t)ILP_SHARE_CADD;
        st = solve_scratch(ctx, &vd, &o, &ys, &ys_status);
    } else if (g.method == DOPT_ILP_PERTURBED) {
        ilp_view vp = perturbed_view(P, &g);
        st = solve_scratch(ctx, &vp, &o, &ys, &ys_status);
    }
    if (st == DOPT_OK) {
        ga.ys = ys;
        if (g.method == DOPT_ILP_DBB) ga.ys_status = ys_status;
        G = (double *)scratch_alloc(ctx, sizeof(double) * ilp_grad_row(P->n, P->m) * (size_t)P->batch);
        ga.G = G;
        st = G ? backend_grad(ctx, &v, &ga, P->batch)
               : scratch_failed(ctx, "gradients");
    }
    if (st == DOPT_OK) st = emit_gradients(ctx, P, G, dA, db, dc);
    scratch_free(ctx, ys);
    scratch_free(ctx, ys_status);
    scratch_free(ctx, G);
    return st;
}

dopt_status dopt_ilp_perturbed(dopt_context *ctx, const dopt_ilp_problem *P, const dopt_ilp_options *opt,
                               const dopt_ilp_grad_options *gopt, void *y_eps)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    dopt_ilp_options o;
    dopt_ilp_grad_options g;
    DOPT_TRY(begin(ctx, P, opt, &o, gopt, &g));
    if (P->batch > 0 && !y_eps) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp perturbed: y_eps is required");
    if (P->batch == 0) return DOPT_OK;
    ilp_view v = view_of(P), vp = perturbed_view(P, &g);
    double *ys = NULL, *G = NULL, *ym = NULL;
    int32_t *ys_status = NULL;
    dopt_status st = solve_scratch(ctx, &vp, &o, &ys, &ys_status);
    if (st == DOPT_OK) {
        size_t row = ilp_grad_row(P->n, P->m);
        G = (double *)scratch_alloc(ctx, sizeof(double) * row * (size_t)P->batch);
        ym = (double *)scratch_alloc(ctx, sizeof(double) * (size_t)P->n * (size_t)P->batch);
        if (!G || !ym) st = scratch_failed(ctx, "y_eps");
    }
    if (st == DOPT_OK) {
        /* the gradient kernel averages the samples; dy = NULL (dc unused) */
        ilp_grad_args ga;
        memset(&ga, 0, sizeof ga);
        ga.method = ILP_GRAD_PERTURBED;
        ga.eps = g.epsilon, ga.samples = g.samples, ga.seed = g.seed;
        ga.y = ys, ga.dt_y = 1; /* read but unused by this rule */
        ga.status = ys_status;
        ga.ys = ys, ga.G = G, ga.y_eps = ym;
        st = backend_grad(ctx, &v, &ga, P->batch);
    }
    if (st == DOPT_OK) {
        ilp_block blk = {ym, P->batch, (size_t)P->n, 0, (size_t)P->n, 0, y_eps, v.dt_c};
        st = backend_reduce(ctx, &blk);
    }
    scratch_free(ctx, ys);
    scratch_free(ctx, ys_status);
    scratch_free(ctx, G);
    scratch_free(ctx, ym);
    return st;
}

dopt_status dopt_ilp_spo_plus(dopt_context *ctx, const dopt_ilp_problem *P, const dopt_ilp_options *opt,
                              const void *c_true, const void *y_true, void *loss, void *dc)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    dopt_ilp_options o;
    DOPT_TRY(begin(ctx, P, opt, &o, NULL, NULL));
    if (P->batch > 0 && (!c_true || !loss))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp spo+: c_true and loss are required");
    if (P->batch == 0) return DOPT_OK;
    ilp_view v = view_of(P);
    v.c_add = c_true; /* shaped like c: shared with it */
    v.share = (v.share & ~(uint32_t)ILP_SHARE_CADD) | ((P->shared & DOPT_ILP_SHARE_C) ? ILP_SHARE_CADD : 0);
    ilp_view vs = v; /* 2 c^ - c */
    vs.c_scale = 2, vs.add_scale = -1;
    ilp_view vt = v; /* c */
    vt.c_scale = 0, vt.add_scale = 1;
    double *ytil = NULL, *ystar = NULL, *G = NULL, *l = NULL;
    int32_t *st1 = NULL, *st2 = NULL;
    dopt_status st = solve_scratch(ctx, &vs, &o, &ytil, &st1);
    if (st == DOPT_OK && !y_true) st = solve_scratch(ctx, &vt, &o, &ystar, &st2);
    if (st == DOPT_OK) {
        G = (double *)scratch_alloc(ctx, sizeof(double) * ilp_grad_row(P->n, P->m) * (size_t)P->batch);
        l = (double *)scratch_alloc(ctx, sizeof(double) * (size_t)P->batch);
        if (!G || !l) st = scratch_failed(ctx, "spo+");
    }
    if (st == DOPT_OK) {
        ilp_grad_args ga;
        memset(&ga, 0, sizeof ga);
        ga.method = ILP_GRAD_SPO;
        ga.y = ytil, ga.dt_y = 1, ga.status = st1;
        ga.ys = ytil, ga.ys_status = st2; /* NULL when y_true was given */
        ga.ytrue = y_true ? y_true : (const void *)ystar;
        ga.dt_ytrue = y_true ? v.dt_c : 1;
        ga.G = G, ga.loss = l;
        st = backend_grad(ctx, &v, &ga, P->batch);
    }
    if (st == DOPT_OK) {
        ilp_block lb = {l, P->batch, 1, 0, 1, 0, loss, v.dt_c};
        st = backend_reduce(ctx, &lb);
    }
    if (st == DOPT_OK && dc) st = emit_gradients(ctx, P, G, NULL, NULL, dc);
    scratch_free(ctx, ytil);
    scratch_free(ctx, ystar);
    scratch_free(ctx, st1);
    scratch_free(ctx, st2);
    scratch_free(ctx, G);
    scratch_free(ctx, l);
    return st;
}

void dopt_ilp_origin_to_b(int32_t m, int32_t n, const double *a, const double *r, const double *o, double *b)
{
    for (int32_t j = 0; j < m; ++j) {
        double s = r[j];
        for (int32_t k = 0; k < n; ++k) s += a[(size_t)j * n + k] * o[(size_t)j * n + k];
        b[j] = s;
    }
}

void dopt_ilp_origin_backward(int32_t m, int32_t n, const double *a, const double *o, const double *dA,
                              const double *db, double *da, double *dr, double *d_o)
{
    for (int32_t j = 0; j < m; ++j) {
        double dbj = db ? db[j] : 0.0;
        for (int32_t k = 0; k < n; ++k) {
            size_t e = (size_t)j * n + k;
            if (da) da[e] = (dA ? dA[e] : 0.0) + dbj * o[e];
            if (d_o) d_o[e] = dbj * a[e];
        }
        if (dr) dr[j] = dbj;
    }
}
