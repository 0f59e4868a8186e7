/* QP layer entry points: argument checks, defaults, dispatch to a backend. */
#include "internal.h"
#include "backend.h"
#include "qp_closest.h"
#include "qp_ragged.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


void dopt_qp_options_default(dopt_qp_options *opt, dopt_dtype dtype)
{
    if (!opt) return;
    opt->tol = dtype == DOPT_FLOAT32 ? 1e-6 : 1e-8;
    opt->tol_inf = dtype == DOPT_FLOAT32 ? 1e-6 : 1e-9;
    opt->max_iter = 50;
    opt->refine = 2;
    opt->infeasible_mode = DOPT_QP_INFEASIBLE_REPORT;
}

static dopt_status qp_validate(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *opt,
                             dopt_qp_options *out)
{
    if (!P) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp: problem is NULL");
    if (P->dtype != DOPT_FLOAT32 && P->dtype != DOPT_FLOAT64)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp: dtype must be DOPT_FLOAT32 or DOPT_FLOAT64");
    if (P->batch < 0) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp: batch = %lld < 0", (long long)P->batch);
    if (P->n < 1 || P->m < 0 || P->k < 0)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp: need n >= 1, m >= 0, k >= 0 (got n=%d m=%d k=%d)",
                         P->n, P->m, P->k);
    if (P->n > 4096 || P->m > 65536 || P->k > 65536)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "qp: sizes n=%d m=%d k=%d are beyond this dense solver (n <= 4096, m <= 65536)", P->n,
                         P->m, P->k);
    if (!P->p) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp: p is NULL");
    if (P->m > 0 && (!P->G || !P->h))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp: m = %d but G or h is NULL", P->m);
    if (P->k > 0 && (!P->A || !P->b))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp: k = %d but A or b is NULL", P->k);
    if (P->shared & ~0x3Fu)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp: unknown bits in shared: 0x%x", P->shared);
    double per = (double)P->n * P->n + (double)P->m * P->n + (double)P->k * P->n;
    if ((double)P->batch * per > 9.0e15)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp: batch * size overflows");
    return dopt_qp_resolve_options(ctx, "qp", P->dtype, opt, out);
}

dopt_status dopt_qp_resolve_options(dopt_context *ctx, const char *who, dopt_dtype dtype, const dopt_qp_options *opt,
                                    dopt_qp_options *out)
{
    dopt_qp_options d;
    dopt_qp_options_default(&d, dtype);
    if (opt) {
        if (opt->tol < 0 || opt->tol_inf < 0 || opt->max_iter < 0 || opt->refine < 0 || opt->tol != opt->tol ||
            opt->tol_inf != opt->tol_inf)
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: options must be non-negative numbers", who);
        if (opt->tol > 0) d.tol = opt->tol;
        if (opt->tol_inf > 0) d.tol_inf = opt->tol_inf;
        if (opt->max_iter > 0) d.max_iter = opt->max_iter;
        if (opt->refine > 0) d.refine = opt->refine;
        if (opt->infeasible_mode != DOPT_QP_INFEASIBLE_REPORT && opt->infeasible_mode != DOPT_QP_INFEASIBLE_CLOSEST)
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                             "%s: infeasible_mode = %d is neither DOPT_QP_INFEASIBLE_REPORT (0) nor "
                             "DOPT_QP_INFEASIBLE_CLOSEST (1)", who, opt->infeasible_mode);
        d.infeasible_mode = opt->infeasible_mode;
    }
    *out = d;
    return DOPT_OK;
}

dopt_qp_tape *dopt_qp_take_tape(dopt_context *ctx, dopt_qp_tape **tape_out)
{
    dopt_qp_tape *reuse = tape_out ? *tape_out : NULL;
    if (tape_out) *tape_out = NULL;
    if (reuse && (reuse->ops != ctx->ops || reuse->device != ctx->cuda_device)) {
        dopt_qp_tape_destroy(reuse); /* recorded elsewhere: its memory is not this backend's */
        reuse = NULL;
    }
    return reuse;
}

dopt_status dopt_qp_solve(dopt_context *ctx, const dopt_qp_problem *prob, const dopt_qp_options *opt,
                          dopt_qp_solution *sol, dopt_qp_tape **tape_out)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
    ctx->error[0] = 0;
    dopt_qp_tape *reuse = dopt_qp_take_tape(ctx, tape_out);
    dopt_qp_options o;
    dopt_status st = qp_validate(ctx, prob, opt, &o);
    if (st != DOPT_OK) {
        dopt_qp_tape_destroy(reuse);
        return st;
    }
    if (!sol || (prob->batch > 0 && (!sol->x || !sol->status || (prob->m > 0 && !sol->lam) ||
                                     (prob->k > 0 && !sol->nu)))) {
        dopt_qp_tape_destroy(reuse); /* as on every other failure: *tape_out is NULL now */
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp: solution buffers x, status (and lam, nu) required");
    }
    dopt_qp_tape *tape = NULL;
    if (tape_out) {
        tape = reuse ? reuse : (dopt_qp_tape *)calloc(1, sizeof *tape);
        if (!tape) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp: out of memory for the tape");
        tape->ops = ctx->ops;
        tape->device = ctx->cuda_device;
        tape->prob = *prob;
        tape->opt = o;
        if (tape->closest) { /* an earlier call's closest-feasible sub-problems */
            dopt_qp_closest_free(tape->closest, tape->ops, tape->device);
            tape->closest = NULL;
        }
        if (tape->groups) {
            dopt_qp_ragged_groups_free(tape->groups, tape->ops, tape->device);
            tape->groups = NULL;
        }
        if (tape->ragged) { /* a ragged call's tape, refilled by a uniform one */
            dopt_qp_ragged_layout_free(tape->ragged);
            free(tape->ragged);
            tape->ragged = NULL;
        }
    }
    st = dopt_qp_solve_capped(ctx, prob, &o, sol, tape); /* the backend, in chunks under a memory cap */
    if (st == DOPT_OK && o.infeasible_mode == DOPT_QP_INFEASIBLE_CLOSEST)
        st = dopt_qp_closest_solve(ctx, prob, &o, sol, tape); /* the infeasible instances again */
    if (st != DOPT_OK) {
        dopt_qp_tape_destroy(tape);
        return st;
    }
    if (tape_out) *tape_out = tape;
    return DOPT_OK;
}

dopt_status dopt_qp_backward(dopt_context *ctx, const dopt_qp_tape *tape, const dopt_qp_grad_in *gin,
                             dopt_qp_grad_out *gout)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
    ctx->error[0] = 0;
    if (!tape) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp backward: tape is NULL (pass &tape to dopt_qp_solve)");
    if (!gin || (!gin->dx && tape->prob.batch > 0))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp backward: dL/dx is required");
    if (!gout) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp backward: gradient outputs are NULL");
    if (tape->ops != ctx->ops || tape->device != ctx->cuda_device)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "qp backward: the tape was recorded on another backend or device (%s, device %d)",
                         tape->ops->name, tape->device);
    if (tape->prob.batch == 0) {
        if (tape->ragged) return DOPT_OK; /* nothing is shared in a ragged batch */
        const dopt_qp_problem *P0 = &tape->prob;
        size_t n = (size_t)P0->n, m = (size_t)P0->m, k = (size_t)P0->k;
        void *outs[] = {gout->dQ, gout->dp, gout->dG, gout->dh, gout->dA, gout->db};
        size_t counts[] = {n * n, n, m * n, m, k * n, k};
        uint32_t bits[] = {DOPT_QP_SHARE_Q, DOPT_QP_SHARE_P, DOPT_QP_SHARE_G,
                           DOPT_QP_SHARE_H, DOPT_QP_SHARE_A, DOPT_QP_SHARE_B};
        return dopt_zero_shared_grads(ctx, 6, outs, counts, bits, P0->shared,
                                      P0->dtype == DOPT_FLOAT64 ? sizeof(double) : sizeof(float));
    }
    if (tape->groups) return dopt_qp_ragged_group_backward(ctx, tape, gin, gout);
    if (tape->ragged) return DOPT_CALL(ctx, qp_ragged_backward, tape, gin, gout);
    dopt_status st = DOPT_CALL(ctx, qp_backward, tape, gin, gout);
    if (st == DOPT_OK && tape->closest) st = dopt_qp_closest_backward(ctx, tape, gin, gout);
    return st;
}

void dopt_qp_tape_destroy(dopt_qp_tape *tape)
{
    if (!tape) return;
    /* through the table of the backend that recorded it: the context may be gone */
    void *bufs[] = {tape->work, tape->x, tape->lam, tape->nu, tape->status, tape->adjoint};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; ++i)
        if (bufs[i]) tape->ops->free(tape->device, bufs[i]);
    dopt_qp_ragged_groups_free(tape->groups, tape->ops, tape->device);
    dopt_qp_closest_free(tape->closest, tape->ops, tape->device);
    if (tape->ragged) dopt_qp_ragged_layout_free(tape->ragged);
    free(tape->ragged);
    free(tape);
}
