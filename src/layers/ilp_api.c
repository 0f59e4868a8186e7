/* ILP layer entry points: argument checks, defaults, and the composition of
 * the backward rules from backend solves (docs/ILP.md). */
#include "ilp_layer.h"

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

dopt_status ilp_layer_options(dopt_context *ctx, int64_t batch, const dopt_ilp_options *opt, dopt_ilp_options *o,
                              const dopt_ilp_grad_options *gopt, dopt_ilp_grad_options *g)
{
    DOPT_TRY(resolve_options(ctx, opt, o));
    if (g) DOPT_TRY(check_grad_options(ctx, gopt, g));
    if (g && g->method == DOPT_ILP_PERTURBED && (int64_t)g->samples * batch > 0xFFFFFFFFll)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp: batch * samples above 2^32");
    return DOPT_OK;
}

/* The checks every uniform entry starts with: context, problem, options (and
 * the gradient options when g != NULL). */
static dopt_status begin(dopt_context *ctx, const dopt_ilp_problem *P, const dopt_ilp_options *opt,
                         dopt_ilp_options *o, const dopt_ilp_grad_options *gopt, dopt_ilp_grad_options *g)
{
    ctx->error[0] = 0;
    DOPT_TRY(check_problem(ctx, P));
    return ilp_layer_options(ctx, P->batch, opt, o, g ? gopt : NULL, g);
}

/* A uniform batch: every instance n x m, offsets inst * size. */
static ilp_batch batch_of(const dopt_ilp_problem *P)
{
    ilp_batch B;
    memset(&B, 0, sizeof B);
    ilp_view *v = &B.v;
    int8_t dt = P->dtype == DOPT_FLOAT64;
    v->solves = P->batch;
    v->n = P->n;
    v->m = P->m;
    v->group = 1;
    v->c = P->c, v->A = P->A, v->b = P->b, v->lb = P->lb, v->ub = P->ub;
    v->dt_c = v->dt_A = v->dt_b = v->dt_lb = v->dt_ub = v->dt_cadd = dt;
    v->share = P->shared;
    v->c_scale = 1;
    B.batch = P->batch;
    B.total_n = (size_t)P->batch * (size_t)P->n;
    B.total_mn = (size_t)P->batch * (size_t)P->m * (size_t)P->n;
    B.total_m = (size_t)P->batch * (size_t)P->m;
    B.total_g = (size_t)P->batch * ilp_grad_row(P->n, P->m);
    B.shared = P->shared;
    return B;
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

void *ilp_scratch_alloc(dopt_context *ctx, size_t bytes)
{
    void *p = NULL;
    if (DOPT_CALL(ctx, alloc, bytes ? bytes : 1, &p) != DOPT_OK) return NULL;
    return p;
}

void ilp_scratch_free(dopt_context *ctx, void *p)
{
    if (p && ctx->ops->free) ctx->ops->free(ctx->cuda_device, p);
}

dopt_status ilp_batch_solve(dopt_context *ctx, const ilp_batch *B, const dopt_ilp_options *o, dopt_ilp_solution *sol)
{
    ilp_out out = {sol->y, B->v.dt_c, sol->obj, sol->bound, B->v.dt_c, sol->status, sol->nodes};
    return backend_solve(ctx, &B->v, o, &out);
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
    ilp_batch B = batch_of(P);
    return ilp_batch_solve(ctx, &B, &o, sol);
}

/* Solves `v` (its instances' solves; y_count = their y values) into float64
 * y and status scratch. */
static dopt_status solve_scratch(dopt_context *ctx, const ilp_view *v, size_t y_count, const dopt_ilp_options *o,
                                 double **y, int32_t **status)
{
    *y = (double *)ilp_scratch_alloc(ctx, sizeof(double) * y_count);
    *status = (int32_t *)ilp_scratch_alloc(ctx, sizeof(int32_t) * (size_t)v->solves);
    if (!*y || !*status) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "ilp: out of memory for extra solves");
    ilp_out out = {*y, 1, NULL, NULL, 1, *status, NULL};
    return backend_solve(ctx, v, o, &out);
}

/* Writes the blocks of G into dA, db, dc (each optional). */
static dopt_status emit_gradients(dopt_context *ctx, const ilp_batch *B, const double *G, void *dA, void *db,
                                  void *dc)
{
    const ilp_view *v = &B->v;
    int8_t dt = v->dt_c;
    ilp_block blocks[3];
    memset(blocks, 0, sizeof blocks);
    void *outs[3] = {dA, db, dc};
    if (v->rg.n) {
        size_t totals[3] = {B->total_mn, B->total_m, B->total_n};
        for (int k = 0; k < 3; ++k) {
            blocks[k].G = G, blocks[k].batch = B->batch, blocks[k].len = totals[k];
            blocks[k].out = outs[k], blocks[k].dt = dt, blocks[k].rg = v->rg, blocks[k].part = k;
        }
    } else {
        size_t row = ilp_grad_row(v->n, v->m), mn = (size_t)v->m * v->n;
        size_t offsets[3] = {0, mn, mn + v->m}, lens[3] = {mn, (size_t)v->m, (size_t)v->n};
        uint32_t bits[3] = {DOPT_ILP_SHARE_A, DOPT_ILP_SHARE_B, DOPT_ILP_SHARE_C};
        for (int k = 0; k < 3; ++k) {
            blocks[k].G = G, blocks[k].batch = B->batch, blocks[k].row = row;
            blocks[k].offset = offsets[k], blocks[k].len = lens[k], blocks[k].shared = (B->shared & bits[k]) != 0;
            blocks[k].out = outs[k], blocks[k].dt = dt;
        }
    }
    for (int k = 0; k < 3; ++k)
        if (blocks[k].out && blocks[k].len > 0) DOPT_TRY(backend_reduce(ctx, &blocks[k]));
    return DOPT_OK;
}

/* The perturbed solves of every instance: its K samples one after another. */
static ilp_view perturbed_view(const ilp_batch *B, const dopt_ilp_grad_options *g)
{
    ilp_view v = B->v;
    v.group = g->samples;
    v.solves = B->batch * g->samples;
    v.eps = g->epsilon;
    v.seed = g->seed;
    return v;
}

dopt_status ilp_batch_backward(dopt_context *ctx, const ilp_batch *B, const dopt_ilp_options *o,
                               const dopt_ilp_grad_options *g, const void *y, const int32_t *status, const void *dy,
                               void *dA, void *db, void *dc)
{
    const ilp_view *v = &B->v;
    ilp_grad_args ga;
    memset(&ga, 0, sizeof ga);
    ga.method = (int)g->method;
    ga.tau = g->tau, ga.lambda = g->lambda, ga.eps = g->epsilon, ga.samples = g->samples, ga.seed = g->seed;
    ga.y = y, ga.dy = dy, ga.dt_y = ga.dt_dy = v->dt_c, ga.status = status;
    double *ys = NULL, *G = NULL;
    int32_t *ys_status = NULL;
    dopt_status st = DOPT_OK;
    if (g->method == DOPT_ILP_DBB) {
        ilp_view vd = *v;
        vd.c_add = dy; /* c + lambda dy, per instance */
        vd.add_scale = g->lambda;
        vd.share &= ~(uint32_t)ILP_SHARE_CADD;
        st = solve_scratch(ctx, &vd, B->total_n, o, &ys, &ys_status);
    } else if (g->method == DOPT_ILP_PERTURBED) {
        ilp_view vp = perturbed_view(B, g);
        st = solve_scratch(ctx, &vp, B->total_n * (size_t)g->samples, o, &ys, &ys_status);
    }
    if (st == DOPT_OK) {
        ga.ys = ys;
        if (g->method == DOPT_ILP_DBB) ga.ys_status = ys_status;
        G = (double *)ilp_scratch_alloc(ctx, sizeof(double) * B->total_g);
        ga.G = G;
        st = G ? backend_grad(ctx, v, &ga, B->batch)
               : dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "ilp: out of memory for gradients");
    }
    if (st == DOPT_OK) st = emit_gradients(ctx, B, G, dA, db, dc);
    ilp_scratch_free(ctx, ys);
    ilp_scratch_free(ctx, ys_status);
    ilp_scratch_free(ctx, G);
    return st;
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
    ilp_batch B = batch_of(P);
    return ilp_batch_backward(ctx, &B, &o, &g, y, status, dy, dA, db, dc);
}

dopt_status ilp_batch_perturbed(dopt_context *ctx, const ilp_batch *B, const dopt_ilp_options *o,
                                const dopt_ilp_grad_options *g, void *y_eps)
{
    ilp_view vp = perturbed_view(B, g);
    double *ys = NULL, *G = NULL, *ym = NULL;
    int32_t *ys_status = NULL;
    dopt_status st = solve_scratch(ctx, &vp, B->total_n * (size_t)g->samples, o, &ys, &ys_status);
    if (st == DOPT_OK) {
        G = (double *)ilp_scratch_alloc(ctx, sizeof(double) * B->total_g);
        ym = (double *)ilp_scratch_alloc(ctx, sizeof(double) * B->total_n);
        if (!G || !ym) st = dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "ilp: out of memory for y_eps");
    }
    if (st == DOPT_OK) {
        /* the gradient kernel averages the samples; dy = NULL (dc unused) */
        ilp_grad_args ga;
        memset(&ga, 0, sizeof ga);
        ga.method = ILP_GRAD_PERTURBED;
        ga.eps = g->epsilon, ga.samples = g->samples, ga.seed = g->seed;
        ga.y = ys, ga.dt_y = 1; /* read but unused by this rule */
        ga.status = ys_status;
        ga.ys = ys, ga.G = G, ga.y_eps = ym;
        st = backend_grad(ctx, &B->v, &ga, B->batch);
    }
    if (st == DOPT_OK) {
        /* ym already has the output's layout: a dtype conversion, one row */
        ilp_block blk;
        memset(&blk, 0, sizeof blk);
        blk.G = ym, blk.batch = 1, blk.row = blk.len = B->total_n, blk.out = y_eps, blk.dt = B->v.dt_c;
        st = backend_reduce(ctx, &blk);
    }
    ilp_scratch_free(ctx, ys);
    ilp_scratch_free(ctx, ys_status);
    ilp_scratch_free(ctx, G);
    ilp_scratch_free(ctx, ym);
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
    ilp_batch B = batch_of(P);
    return ilp_batch_perturbed(ctx, &B, &o, &g, y_eps);
}

dopt_status ilp_batch_spo_plus(dopt_context *ctx, const ilp_batch *B, const dopt_ilp_options *o, const void *c_true,
                               const void *y_true, void *loss, void *dc)
{
    ilp_view v = B->v;
    v.c_add = c_true; /* shaped like c: shared with it */
    v.share = (v.share & ~(uint32_t)ILP_SHARE_CADD) | ((B->shared & DOPT_ILP_SHARE_C) ? ILP_SHARE_CADD : 0);
    ilp_view vs = v; /* 2 c^ - c */
    vs.c_scale = 2, vs.add_scale = -1;
    ilp_view vt = v; /* c */
    vt.c_scale = 0, vt.add_scale = 1;
    double *ytil = NULL, *ystar = NULL, *G = NULL, *l = NULL;
    int32_t *st1 = NULL, *st2 = NULL;
    dopt_status st = solve_scratch(ctx, &vs, B->total_n, o, &ytil, &st1);
    if (st == DOPT_OK && !y_true) st = solve_scratch(ctx, &vt, B->total_n, o, &ystar, &st2);
    if (st == DOPT_OK) {
        G = (double *)ilp_scratch_alloc(ctx, sizeof(double) * B->total_g);
        l = (double *)ilp_scratch_alloc(ctx, sizeof(double) * (size_t)B->batch);
        if (!G || !l) st = dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "ilp: out of memory for spo+");
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
        st = backend_grad(ctx, &v, &ga, B->batch);
    }
    if (st == DOPT_OK) {
        ilp_block lb;
        memset(&lb, 0, sizeof lb);
        lb.G = l, lb.batch = B->batch, lb.row = lb.len = 1, lb.out = loss, lb.dt = v.dt_c;
        st = backend_reduce(ctx, &lb);
    }
    if (st == DOPT_OK && dc) st = emit_gradients(ctx, B, G, NULL, NULL, dc);
    ilp_scratch_free(ctx, ytil);
    ilp_scratch_free(ctx, ystar);
    ilp_scratch_free(ctx, st1);
    ilp_scratch_free(ctx, st2);
    ilp_scratch_free(ctx, G);
    ilp_scratch_free(ctx, l);
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
    ilp_batch B = batch_of(P);
    return ilp_batch_spo_plus(ctx, &B, &o, c_true, y_true, loss, dc);
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
