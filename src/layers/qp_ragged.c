/* Ragged QP batches, host side: the plan of a call (sizes checked, offsets
 * by prefix sums, the largest-first order), the public entry with its
 * choice between the backend's native path and size classes
 * (qp_ragged_group.c), and the policy setter. Natively, a backend solves
 * each instance with the uniform per-instance code at its offsets
 * (kernels/qp_batch_impl.h). */
#include "qp_ragged.h"

#include "backend.h"
#include "ragged.h"

#include <stdlib.h>
#include <string.h>

/* Per-instance limits of the dense solver: those of the uniform layer. */
#define QP_RAGGED_MAX_N 4096
#define QP_RAGGED_MAX_MK 65536
/* The largest concatenated array, in elements: the uniform layer's bound on
 * batch * size, so byte counts stay far from overflowing. */
#define QP_RAGGED_MAX_ELEMENTS ((int64_t)9000000000000000LL)

double dopt_qp_ragged_cost(int32_t n, int32_t m, int32_t k)
{
    double dn = n;
    return dn * dn * dn / 3.0 + ((double)m + (double)k) * dn * dn + dn * dn;
}

/* Round a byte count up to 8 so every array in the block stays aligned. */
static size_t align8(size_t bytes) { return (bytes + 7) & ~(size_t)7; }

void dopt_qp_ragged_layout_free(dopt_qp_ragged_layout *L)
{
    if (!L) return;
    free(L->block);
    memset(L, 0, sizeof *L);
}

dopt_status dopt_qp_ragged_layout_build(dopt_context *ctx, const dopt_qp_ragged_problem *P,
                                        dopt_qp_ragged_layout *L)
{
    static const char *layer = "qp ragged";
    if (!P) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp ragged: problem is NULL");
    if (P->dtype != DOPT_FLOAT32 && P->dtype != DOPT_FLOAT64)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp ragged: dtype must be DOPT_FLOAT32 or DOPT_FLOAT64");
    int64_t B = P->batch;
    if (B < 0) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp ragged: batch = %lld < 0", (long long)B);
    if ((uint64_t)B > (uint64_t)QP_RAGGED_MAX_ELEMENTS / 64)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp ragged: batch = %lld is too large", (long long)B);
    if (B > 0 && !P->n) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp ragged: n (the sizes) is NULL");
    DOPT_TRY(dopt_ragged_check_sizes(ctx, layer, "n", B, P->n, 1, QP_RAGGED_MAX_N));
    DOPT_TRY(dopt_ragged_check_sizes(ctx, layer, "m", B, P->m, 0, QP_RAGGED_MAX_MK));
    DOPT_TRY(dopt_ragged_check_sizes(ctx, layer, "k", B, P->k, 0, QP_RAGGED_MAX_MK));

    /* one block: n, m, k copies, seven offset tables, the order, the costs */
    size_t b32 = align8(sizeof(int32_t) * (size_t)B), b64 = sizeof(int64_t) * (size_t)(B + 1);
    size_t bytes = 3 * b32 + 7 * b64 + sizeof(int64_t) * (size_t)B + sizeof(double) * (size_t)B;
    if (!dopt_host_reserve(&L->block, &L->cap_block, bytes))
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp ragged: out of memory for the batch's offsets");
    char *c = (char *)L->block;
    int32_t *n = (int32_t *)c, *m = (int32_t *)(c + b32), *k = (int32_t *)(c + 2 * b32);
    c += 3 * b32;
    int64_t *off[7];
    for (int t = 0; t < 7; ++t, c += b64) off[t] = (int64_t *)c;
    int64_t *order = (int64_t *)c;
    double *cost = (double *)(c + sizeof(int64_t) * (size_t)B);
    if (B > 0) memcpy(n, P->n, sizeof(int32_t) * (size_t)B);
    if (B > 0 && P->m) memcpy(m, P->m, sizeof(int32_t) * (size_t)B);
    else if (B > 0) memset(m, 0, sizeof(int32_t) * (size_t)B);
    if (B > 0 && P->k) memcpy(k, P->k, sizeof(int32_t) * (size_t)B);
    else if (B > 0) memset(k, 0, sizeof(int32_t) * (size_t)B);

    const int64_t lim = QP_RAGGED_MAX_ELEMENTS;
    DOPT_TRY(dopt_ragged_offsets(ctx, layer, "Q (n_i^2 values)", B, n, n, lim, off[0]));
    DOPT_TRY(dopt_ragged_offsets(ctx, layer, "p, x (n_i values)", B, n, NULL, lim, off[1]));
    DOPT_TRY(dopt_ragged_offsets(ctx, layer, "G (m_i n_i values)", B, m, n, lim, off[2]));
    DOPT_TRY(dopt_ragged_offsets(ctx, layer, "h, lam (m_i values)", B, m, NULL, lim, off[3]));
    DOPT_TRY(dopt_ragged_offsets(ctx, layer, "A (k_i n_i values)", B, k, n, lim, off[4]));
    DOPT_TRY(dopt_ragged_offsets(ctx, layer, "b, nu (k_i values)", B, k, NULL, lim, off[5]));
    /* the tape's kept factorizations: qp_work_persist_size each */
    int64_t total = 0;
    size_t max_work = 0;
    int32_t mn = 0, mm = 0, mk = 0;
    for (int64_t i = 0; i < B; ++i) {
        off[6][i] = total;
        int64_t keep = (int64_t)qp_work_persist_size_d(n[i], m[i], k[i]);
        if (keep > lim - total)
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                             "qp ragged: the batch's factorizations exceed %lld values at instance %lld",
                             (long long)lim, (long long)i);
        total += keep;
        size_t work = qp_work_size_d(n[i], m[i], k[i]);
        if (work > max_work) max_work = work;
        if (n[i] > mn) mn = n[i];
        if (m[i] > mm) mm = m[i];
        if (k[i] > mk) mk = k[i];
        cost[i] = dopt_qp_ragged_cost(n[i], m[i], k[i]);
    }
    off[6][B] = total;

    int64_t tn = off[1][B], tm = off[3][B], tk = off[5][B];
    if (B > 0 && !P->p) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp ragged: p is NULL");
    if (tm > 0 && (!P->G || !P->h))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp ragged: sum of m is %lld but G or h is NULL",
                         (long long)tm);
    if (tk > 0 && (!P->A || !P->b))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp ragged: sum of k is %lld but A or b is NULL",
                         (long long)tk);
    DOPT_TRY(dopt_ragged_order_by_cost(ctx, B, cost, order));

    L->batch = B;
    L->bytes = bytes;
    L->has_Q = P->Q != NULL;
    L->index.n = n;
    L->index.m = m;
    L->index.k = k;
    L->index.oQ = off[0];
    L->index.on = off[1];
    L->index.oG = off[2];
    L->index.om = off[3];
    L->index.oA = off[4];
    L->index.ok = off[5];
    L->index.keep = off[6];
    L->order = order;
    L->max_n = mn;
    L->max_m = mm;
    L->max_k = mk;
    L->max_work = max_work;
    L->total_n = tn;
    L->total_m = tm;
    L->total_k = tk;
    return DOPT_OK;
}


dopt_status dopt_qp_ragged_solve(dopt_context *ctx, const dopt_qp_ragged_problem *prob, const dopt_qp_options *opt,
                                 dopt_qp_solution *sol, dopt_qp_tape **tape_out)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
    ctx->error[0] = 0;
    dopt_qp_tape *reuse = dopt_qp_take_tape(ctx, tape_out);
    /* the plan lives in the tape when there is one (the backward needs it),
     * else on the stack for this call */
    dopt_qp_ragged_layout local;
    memset(&local, 0, sizeof local);
    dopt_qp_ragged_layout *L = &local;
    if (reuse && reuse->ragged) {
        L = reuse->ragged;
    } else if (tape_out) {
        L = (dopt_qp_ragged_layout *)calloc(1, sizeof *L);
        if (!L) {
            dopt_qp_tape_destroy(reuse);
            return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp ragged: out of memory for the tape");
        }
    }
    dopt_qp_options o;
    dopt_status st = dopt_qp_ragged_layout_build(ctx, prob, L);
    if (st == DOPT_OK) st = dopt_qp_resolve_options(ctx, "qp ragged", prob->dtype, opt, &o);
    if (st == DOPT_OK && o.infeasible_mode != DOPT_QP_INFEASIBLE_REPORT)
        st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                       "qp ragged: infeasible_mode DOPT_QP_INFEASIBLE_CLOSEST is for uniform batches only "
                       "(dopt_qp_solve)");
    if (st == DOPT_OK && L->batch > 0 &&
        (!sol || !sol->x || !sol->status || (L->total_m > 0 && !sol->lam) || (L->total_k > 0 && !sol->nu)))
        st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp ragged: solution buffers x, status (and lam, nu) required");
    dopt_qp_tape *tape = NULL;
    if (st == DOPT_OK && tape_out) {
        tape = reuse ? reuse : (dopt_qp_tape *)calloc(1, sizeof *tape);
        if (!tape) st = dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp ragged: out of memory for the tape");
    }
    if (st != DOPT_OK) {
        if (L != &local && (!reuse || L != reuse->ragged)) {
            dopt_qp_ragged_layout_free(L);
            free(L);
        }
        if (L == &local) dopt_qp_ragged_layout_free(L);
        dopt_qp_tape_destroy(reuse); /* as for the uniform layer: *tape_out is NULL on failure */
        return st;
    }
    if (tape && tape->groups) { /* the classes of an earlier grouped call */
        dopt_qp_ragged_groups_free(tape->groups, tape->ops, tape->device);
        tape->groups = NULL;
    }
    if (tape) {
        tape->ops = ctx->ops;
        tape->device = ctx->cuda_device;
        memset(&tape->prob, 0, sizeof tape->prob);
        tape->prob.batch = prob->batch;
        tape->prob.dtype = prob->dtype;
        tape->rprob = *prob;
        tape->rprob.n = L->index.n; /* the tape's copies: the caller's may go */
        tape->rprob.m = L->index.m;
        tape->rprob.k = L->index.k;
        tape->ragged = L;
        tape->opt = o;
    }
    if (L->batch > 0) {
        if (ctx->ragged_policy == DOPT_RAGGED_AUTO && ctx->ops->qp_ragged_solve) {
            /* the tape the native path fills outlives the call: reserved
             * against the memory cap while it runs, as the uniform layer's */
            size_t es = prob->dtype == DOPT_FLOAT64 ? 8 : 4, tape_bytes = 0;
            if (tape)
                tape_bytes = es * ((size_t)L->index.keep[L->batch] + (size_t)L->total_n + (size_t)L->total_m +
                                   (size_t)L->total_k) +
                             sizeof(int32_t) * (size_t)L->batch;
            int kind = dopt_mem_kind(ctx);
            st = tape_bytes ? dopt_mem_charge(ctx, kind, tape_bytes, "qp ragged tape") : DOPT_OK;
            if (st == DOPT_OK) {
                st = ctx->ops->qp_ragged_solve(ctx, prob, L, &o, sol, tape);
                dopt_mem_uncharge(ctx, kind, tape_bytes);
            }
        }
        else if (ctx->ragged_policy == DOPT_RAGGED_AUTO && !ctx->ops->qp_ragged_move)
            st = dopt_unsupported(ctx, "qp_ragged_solve");
        else
            st = dopt_qp_ragged_group_solve(ctx, prob, L, &o, sol, tape);
    }
    if (L == &local) dopt_qp_ragged_layout_free(L);
    if (st != DOPT_OK) {
        dopt_qp_tape_destroy(tape);
        return st;
    }
    if (tape_out) *tape_out = tape;
    return DOPT_OK;
}

dopt_status dopt_context_set_ragged_policy(dopt_context *ctx, dopt_ragged_policy policy, double max_pad_waste)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
    ctx->error[0] = 0;
    if (policy != DOPT_RAGGED_AUTO && policy != DOPT_RAGGED_EXACT && policy != DOPT_RAGGED_PAD)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ragged policy: unknown policy %d", (int)policy);
    if (!(max_pad_waste >= 0 && max_pad_waste < 1))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "ragged policy: max_pad_waste = %g, need 0 <= it < 1",
                         max_pad_waste);
    ctx->ragged_policy = (int)policy;
    ctx->ragged_max_pad_waste = max_pad_waste > 0 ? max_pad_waste : 0.25;
    return DOPT_OK;
}
