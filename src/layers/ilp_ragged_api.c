/* Ragged (heterogeneous) batches of the ILP layer: argument checks, the
 * per-instance tables (sizes, offsets of the concatenated arrays, the order
 * instances are taken in) uploaded once per call, then the same
 * compositions as a uniform batch (ilp_layer.h). No padding: the kernels
 * read each instance at its own sizes (kernels/ilp_view.h). */
#include "ilp_layer.h"
#include "ragged.h"

#include <stdlib.h>
#include <string.h>

/* The tables of one call in the backend's memory, one allocation: the
 * int64 parts first (alignment), then the int32 sizes. */
typedef struct {
    void *mem;
    ilp_batch batch;
} ragged_call;

/* Estimated work of one instance, for the largest-first order: an LP pivot
 * touches the (m + 1) x (n + m + 1) tableau, and a tree's nodes and pivots
 * grow with n and m. Only the order depends on it, never a result. */
static double estimated_cost(int32_t n, int32_t m)
{
    return (double)(m + 1) * (double)(n + m + 1) * (double)(n + m + 1);
}

static dopt_status check_ragged(dopt_context *ctx, const dopt_ilp_ragged_problem *P)
{
    if (!P) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp ragged: problem is NULL");
    if (P->dtype != DOPT_FLOAT32 && P->dtype != DOPT_FLOAT64)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp ragged: dtype must be DOPT_FLOAT32 or DOPT_FLOAT64");
    if (P->batch < 0 || P->batch > 0xFFFFFFFFll)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "ilp ragged: batch must be in [0, 2^32] (the noise counter is 32-bit), got %lld",
                         (long long)P->batch);
    if (P->batch == 0) return DOPT_OK;
    if (!P->n || !P->m)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp ragged: the size arrays n and m (host memory) are required");
    DOPT_TRY(dopt_ragged_check_sizes(ctx, "ilp ragged", "n", P->batch, P->n, 1, ILP_MAX_DIM));
    DOPT_TRY(dopt_ragged_check_sizes(ctx, "ilp ragged", "m", P->batch, P->m, 0, ILP_MAX_DIM));
    if (!P->c) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp ragged: c is NULL");
    return DOPT_OK;
}

/* Checks the problem and builds the call's tables; on success the caller
 * ends with ragged_release. */
static dopt_status ragged_begin(dopt_context *ctx, const dopt_ilp_ragged_problem *P, ragged_call *rc)
{
    memset(rc, 0, sizeof *rc);
    DOPT_TRY(check_ragged(ctx, P));
    int64_t B = P->batch, rows = B + 1;
    if (B == 0) return DOPT_OK;
    size_t off_count = (size_t)ILP_OFF_KINDS * (size_t)rows;
    size_t bytes = sizeof(int64_t) * (off_count + (size_t)B) + sizeof(int32_t) * 2 * (size_t)B;
    unsigned char *host = (unsigned char *)malloc(bytes);
    double *cost = (double *)malloc(sizeof(double) * (size_t)B);
    if (!host || !cost) {
        free(host), free(cost);
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "ilp ragged: out of memory for the instance tables");
    }
    int64_t *off = (int64_t *)host, *order = off + off_count;
    int32_t *ns = (int32_t *)(order + B), *ms = ns + B;
    memcpy(ns, P->n, sizeof(int32_t) * (size_t)B);
    memcpy(ms, P->m, sizeof(int32_t) * (size_t)B);
    /* sizes are <= 256 and B < 2^32: every total fits an int64 with room */
    const int64_t limit = INT64_MAX;
    dopt_status st = dopt_ragged_offsets(ctx, "ilp ragged", "c", B, ns, NULL, limit, off + ILP_OFF_N * rows);
    if (st == DOPT_OK) st = dopt_ragged_offsets(ctx, "ilp ragged", "A", B, ms, ns, limit, off + ILP_OFF_MN * rows);
    if (st == DOPT_OK) st = dopt_ragged_offsets(ctx, "ilp ragged", "b", B, ms, NULL, limit, off + ILP_OFF_M * rows);
    int32_t max_n = 1, max_m = 0;
    if (st == DOPT_OK) {
        int64_t *og = off + ILP_OFF_G * rows, total = 0;
        for (int64_t i = 0; i < B; ++i) {
            og[i] = total;
            total += (int64_t)ilp_grad_row(ns[i], ms[i]);
            if (ns[i] > max_n) max_n = ns[i];
            if (ms[i] > max_m) max_m = ms[i];
            cost[i] = estimated_cost(ns[i], ms[i]);
        }
        og[B] = total;
        st = dopt_ragged_order_by_cost(ctx, B, cost, order);
    }
    if (st == DOPT_OK && off[ILP_OFF_M * rows + B] > 0 && (!P->A || !P->b))
        st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp ragged: some m[i] > 0 but A or b is NULL");
    if (st == DOPT_OK) {
        rc->mem = ilp_scratch_alloc(ctx, bytes);
        if (!rc->mem) st = dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "ilp ragged: out of memory for the instance tables");
    }
    if (st == DOPT_OK) st = DOPT_CALL(ctx, upload, rc->mem, host, bytes);
    if (st == DOPT_OK) {
        ilp_batch *b = &rc->batch;
        ilp_view *v = &b->v;
        unsigned char *dev = (unsigned char *)rc->mem;
        int8_t dt = P->dtype == DOPT_FLOAT64;
        v->solves = B;
        v->n = max_n; /* workspaces are sized for the largest instance */
        v->m = max_m;
        v->group = 1;
        v->c = P->c, v->A = P->A, v->b = P->b, v->lb = P->lb, v->ub = P->ub;
        v->dt_c = v->dt_A = v->dt_b = v->dt_lb = v->dt_ub = v->dt_cadd = dt;
        v->c_scale = 1;
        v->rg.off = (const int64_t *)dev;
        v->rg.order = B > 1 ? (const int64_t *)dev + off_count : NULL;
        v->rg.n = (const int32_t *)(dev + sizeof(int64_t) * (off_count + (size_t)B));
        v->rg.m = v->rg.n + B;
        v->rg.count = B;
        b->batch = B;
        b->total_n = (size_t)off[ILP_OFF_N * rows + B];
        b->total_mn = (size_t)off[ILP_OFF_MN * rows + B];
        b->total_m = (size_t)off[ILP_OFF_M * rows + B];
        b->total_g = (size_t)off[ILP_OFF_G * rows + B];
    }
    free(host);
    free(cost);
    if (st != DOPT_OK) {
        ilp_scratch_free(ctx, rc->mem);
        rc->mem = NULL;
    }
    return st;
}

static void ragged_release(dopt_context *ctx, ragged_call *rc)
{
    ilp_scratch_free(ctx, rc->mem);
    rc->mem = NULL;
}

dopt_status dopt_ilp_ragged_solve(dopt_context *ctx, const dopt_ilp_ragged_problem *P, const dopt_ilp_options *opt,
                                  dopt_ilp_solution *sol)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    dopt_ilp_options o;
    DOPT_TRY(check_ragged(ctx, P));
    DOPT_TRY(ilp_layer_options(ctx, P->batch, opt, &o, NULL, NULL));
    if (!sol || (P->batch > 0 && (!sol->y || !sol->status)))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp ragged: y and status outputs are required");
    if (P->batch == 0) return DOPT_OK;
    ragged_call rc;
    DOPT_TRY(ragged_begin(ctx, P, &rc));
    dopt_status st = ilp_batch_solve(ctx, &rc.batch, &o, sol);
    ragged_release(ctx, &rc);
    return st;
}

dopt_status dopt_ilp_ragged_backward(dopt_context *ctx, const dopt_ilp_ragged_problem *P, const dopt_ilp_options *opt,
                                     const dopt_ilp_grad_options *gopt, const void *y, const int32_t *status,
                                     const void *dy, void *dA, void *db, void *dc)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    dopt_ilp_options o;
    dopt_ilp_grad_options g;
    DOPT_TRY(check_ragged(ctx, P));
    DOPT_TRY(ilp_layer_options(ctx, P->batch, opt, &o, gopt, &g));
    if (P->batch > 0 && (!y || !status || !dy))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp ragged backward: y, status and dy are required");
    if (P->batch == 0) return DOPT_OK;
    ragged_call rc;
    DOPT_TRY(ragged_begin(ctx, P, &rc));
    dopt_status st = ilp_batch_backward(ctx, &rc.batch, &o, &g, y, status, dy, dA, db, dc);
    ragged_release(ctx, &rc);
    return st;
}

dopt_status dopt_ilp_ragged_perturbed(dopt_context *ctx, const dopt_ilp_ragged_problem *P,
                                      const dopt_ilp_options *opt, const dopt_ilp_grad_options *gopt, void *y_eps)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    dopt_ilp_options o;
    dopt_ilp_grad_options g;
    DOPT_TRY(check_ragged(ctx, P));
    DOPT_TRY(ilp_layer_options(ctx, P->batch, opt, &o, gopt, &g));
    if (P->batch > 0 && !y_eps)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp ragged perturbed: y_eps is required");
    if (P->batch == 0) return DOPT_OK;
    if ((int64_t)g.samples * P->batch > 0xFFFFFFFFll) /* the method need not be PERTURBED here */
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp ragged: batch * samples above 2^32");
    ragged_call rc;
    DOPT_TRY(ragged_begin(ctx, P, &rc));
    dopt_status st = ilp_batch_perturbed(ctx, &rc.batch, &o, &g, y_eps);
    ragged_release(ctx, &rc);
    return st;
}

dopt_status dopt_ilp_ragged_spo_plus(dopt_context *ctx, const dopt_ilp_ragged_problem *P, const dopt_ilp_options *opt,
                                     const void *c_true, const void *y_true, void *loss, void *dc)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    dopt_ilp_options o;
    DOPT_TRY(check_ragged(ctx, P));
    DOPT_TRY(ilp_layer_options(ctx, P->batch, opt, &o, NULL, NULL));
    if (P->batch > 0 && (!c_true || !loss))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ilp ragged spo+: c_true and loss are required");
    if (P->batch == 0) return DOPT_OK;
    ragged_call rc;
    DOPT_TRY(ragged_begin(ctx, P, &rc));
    dopt_status st = ilp_batch_spo_plus(ctx, &rc.batch, &o, c_true, y_true, loss, dc);
    ragged_release(ctx, &rc);
    return st;
}
