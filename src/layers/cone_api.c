/* Cone layer entry points: argument checks, defaults, the tape's memory,
 * one dispatch to the backend. */
#include "internal.h"
#include "backend.h"
#include "cone_tape.h"
#include "cone_ipm.h" /* dopt_cone_layout_of, dopt_cone_keep_size */

#include <stdlib.h>
#include <string.h>

int64_t dopt_cone_rows(const dopt_cone_dims *d)
{
    if (!d || d->l < 0 || d->nq < 0 || d->ns < 0 || (d->nq > 0 && !d->q) || (d->ns > 0 && !d->s)) return 0;
    int64_t m = d->l;
    for (int32_t c = 0; c < d->nq; ++c) {
        if (d->q[c] < 1) return 0;
        m += d->q[c];
    }
    for (int32_t c = 0; c < d->ns; ++c) {
        if (d->s[c] < 1 || d->s[c] > 1024) return 0;
        m += (int64_t)d->s[c] * (d->s[c] + 1) / 2;
    }
    return m;
}

void dopt_cone_options_default(dopt_cone_options *opt, dopt_dtype dtype)
{
    if (!opt) return;
    opt->tol = dtype == DOPT_FLOAT32 ? 1e-4 : 1e-8;
    opt->tol_inf = dtype == DOPT_FLOAT32 ? 1e-5 : 1e-8;
    opt->max_iter = 100;
    opt->refine = 3;
}

/* The dense KKT matrix is (n + k + m)^2 per instance: beyond this the
 * layer is the wrong tool (and the sizes would overflow int). */
#define DOPT_CONE_MAX_N 4096

static dopt_status cone_validate(dopt_context *ctx, const dopt_cone_problem *P, const dopt_cone_options *opt,
                                 dopt_cone_options *out)
{
    if (!P) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone: problem is NULL");
    if (P->dtype != DOPT_FLOAT32 && P->dtype != DOPT_FLOAT64)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone: dtype must be DOPT_FLOAT32 or DOPT_FLOAT64");
    if (P->batch < 0) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone: batch = %lld < 0", (long long)P->batch);
    if (P->n < 1 || P->k < 0)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone: need n >= 1, k >= 0 (got n=%d k=%d)", P->n, P->k);
    const dopt_cone_dims *d = &P->cones;
    if (d->l < 0 || d->nq < 0 || d->ns < 0)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone: cones l=%d nq=%d ns=%d must be >= 0", d->l, d->nq,
                         d->ns);
    if ((d->nq > 0 && !d->q) || (d->ns > 0 && !d->s))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone: cones.q or cones.s is NULL but nq or ns > 0");
    for (int32_t c = 0; c < d->nq; ++c)
        if (d->q[c] < 1)
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone: second-order cone %d has size %d < 1", c, d->q[c]);
    for (int32_t c = 0; c < d->ns; ++c)
        if (d->s[c] < 1 || d->s[c] > 1024)
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone: PSD cone %d has order %d (need 1..1024)", c,
                             d->s[c]);
    int64_t m = dopt_cone_rows(d);
    if ((int64_t)P->n + P->k + m > DOPT_CONE_MAX_N)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "cone: n + k + m = %lld is beyond this dense solver (at most %d)",
                         (long long)(P->n + P->k + m), DOPT_CONE_MAX_N);
    /* data pointers are needed only when there is an instance to read */
    if (P->batch > 0 && !P->c) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone: c is NULL");
    if (P->batch > 0 && m > 0 && (!P->G || !P->h))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone: m = %lld but G or h is NULL", (long long)m);
    if (P->batch > 0 && P->k > 0 && (!P->A || !P->b))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone: k = %d but A or b is NULL", P->k);
    if (P->shared & ~0x1Fu)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone: unknown bits in shared: 0x%x", P->shared);
    int64_t N = P->n + P->k + m;
    if ((double)P->batch * (double)N * (double)N > 4.0e15)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone: batch * size overflows");
    dopt_cone_options o;
    dopt_cone_options_default(&o, P->dtype);
    if (opt) {
        if (opt->tol < 0 || opt->tol_inf < 0 || opt->max_iter < 0 || opt->refine < 0 || opt->tol != opt->tol ||
            opt->tol_inf != opt->tol_inf)
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone: options must be non-negative numbers");
        if (opt->tol > 0) o.tol = opt->tol;
        if (opt->tol_inf > 0) o.tol_inf = opt->tol_inf;
        if (opt->max_iter > 0) o.max_iter = opt->max_iter;
        if (opt->refine > 0) o.refine = opt->refine;
    }
    *out = o;
    return DOPT_OK;
}

/* Makes *buf hold `bytes` of the backend's memory (a tape refilled in place
 * keeps a buffer that is large enough). */
static dopt_status cone_tape_reserve(dopt_context *ctx, dopt_cone_tape *T, void **buf, size_t *cap, size_t bytes)
{
    if (*buf && *cap >= bytes) return DOPT_OK;
    T->ops->free(T->device, *buf);
    *buf = NULL;
    *cap = 0;
    DOPT_TRY(ctx->ops->alloc(ctx, bytes ? bytes : 1, buf));
    *cap = bytes;
    return DOPT_OK;
}

/* A tape for this call: the one passed back (when it was recorded on this
 * backend and device) or a new one, its problem and cone sizes set. */
static dopt_status cone_tape_prepare(dopt_context *ctx, const dopt_cone_problem *P, const dopt_cone_options *o,
                                     dopt_cone_tape *reuse, dopt_cone_tape **out)
{
    dopt_cone_tape *T = reuse;
    if (T && (T->ops != ctx->ops || T->device != ctx->cuda_device)) {
        dopt_cone_tape_destroy(T); /* its memory is not this backend's */
        T = NULL;
    }
    if (!T) {
        T = (dopt_cone_tape *)calloc(1, sizeof *T);
        if (!T) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "cone: out of memory for the tape");
        T->ops = ctx->ops;
        T->device = ctx->cuda_device;
    }
    *out = T;
    const dopt_cone_dims *d = &P->cones;
    int32_t *q = (int32_t *)realloc(T->q, sizeof(int32_t) * (size_t)(d->nq > 0 ? d->nq : 1));
    if (q) T->q = q;
    int32_t *s = (int32_t *)realloc(T->s, sizeof(int32_t) * (size_t)(d->ns > 0 ? d->ns : 1));
    if (s) T->s = s;
    if (!q || !s) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "cone: out of memory for the tape");
    if (d->nq) memcpy(T->q, d->q, sizeof(int32_t) * (size_t)d->nq);
    if (d->ns) memcpy(T->s, d->s, sizeof(int32_t) * (size_t)d->ns);
    T->prob = *P;
    T->prob.cones.q = T->q;
    T->prob.cones.s = T->s;
    T->opt = *o;
    int64_t m = dopt_cone_rows(d), N = P->n + P->k + m;
    dopt_cone_layout L = dopt_cone_layout_of(d, d->q, d->s);
    T->keep_per_instance = dopt_cone_keep_size(P->n, P->k, &L);
    (void)m;
    (void)N;
    size_t es = P->dtype == DOPT_FLOAT64 ? sizeof(double) : sizeof(float);
    size_t B = (size_t)P->batch;
    DOPT_TRY(cone_tape_reserve(ctx, T, &T->keep, &T->cap_keep, es * T->keep_per_instance * B));
    DOPT_TRY(cone_tape_reserve(ctx, T, &T->status, &T->cap_status, sizeof(int32_t) * B));
    return DOPT_OK;
}

dopt_status dopt_cone_solve(dopt_context *ctx, const dopt_cone_problem *prob, const dopt_cone_options *opt,
                            dopt_cone_solution *sol, dopt_cone_tape **tape_out)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
    ctx->error[0] = 0;
    dopt_cone_tape *reuse = tape_out ? *tape_out : NULL;
    if (tape_out) *tape_out = NULL;
    dopt_cone_options o;
    dopt_status st = cone_validate(ctx, prob, opt, &o);
    if (st == DOPT_OK) {
        int64_t m = dopt_cone_rows(&prob->cones);
        if (!sol || (prob->batch > 0 && (!sol->x || !sol->status || (m > 0 && (!sol->s || !sol->z)) ||
                                         (prob->k > 0 && !sol->y))))
            st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone: solution buffers x, status (and s, z, y) required");
    }
    if (st != DOPT_OK) {
        dopt_cone_tape_destroy(reuse); /* as on every failure: *tape_out is NULL now */
        return st;
    }
    dopt_cone_tape *tape = NULL;
    if (tape_out) {
        st = cone_tape_prepare(ctx, prob, &o, reuse, &tape);
        if (st != DOPT_OK) {
            dopt_cone_tape_destroy(tape);
            return st;
        }
    }
    if (prob->batch > 0) st = DOPT_CALL(ctx, cone_solve, prob, &o, sol, tape);
    if (st == DOPT_OK && tape && prob->batch > 0)
        st = ctx->ops->copy(ctx, tape->status, sol->status, sizeof(int32_t) * (size_t)prob->batch);
    if (st != DOPT_OK) {
        dopt_cone_tape_destroy(tape);
        return st;
    }
    if (tape_out) *tape_out = tape;
    return DOPT_OK;
}

dopt_status dopt_cone_backward(dopt_context *ctx, const dopt_cone_tape *tape, const dopt_cone_grad_in *gin,
                               dopt_cone_grad_out *gout)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
    ctx->error[0] = 0;
    if (!tape)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone backward: tape is NULL (pass &tape to dopt_cone_solve)");
    if (!gin || (!gin->dx && tape->prob.batch > 0))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone backward: dL/dx is required");
    if (!gout) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "cone backward: gradient outputs are NULL");
    if (tape->ops != ctx->ops || tape->device != ctx->cuda_device)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "cone backward: the tape was recorded on another backend or device (%s, device %d)",
                         tape->ops->name, tape->device);
    if (tape->prob.batch == 0) {
        const dopt_cone_problem *P0 = &tape->prob;
        size_t n = (size_t)P0->n, k = (size_t)P0->k, m = (size_t)dopt_cone_rows(&P0->cones);
        void *outs[] = {gout->dc, gout->dG, gout->dh, gout->dA, gout->db};
        size_t counts[] = {n, m * n, m, k * n, k};
        uint32_t bits[] = {DOPT_CONE_SHARE_C, DOPT_CONE_SHARE_G, DOPT_CONE_SHARE_H, DOPT_CONE_SHARE_A,
                           DOPT_CONE_SHARE_B};
        return dopt_zero_shared_grads(ctx, 5, outs, counts, bits, P0->shared,
                                      P0->dtype == DOPT_FLOAT64 ? sizeof(double) : sizeof(float));
    }
    /* the adjoint vectors, kept in the tape: repeated backward passes allocate nothing */
    const dopt_cone_problem *P = &tape->prob;
    size_t es = P->dtype == DOPT_FLOAT64 ? sizeof(double) : sizeof(float);
    size_t N = (size_t)P->n + (size_t)P->k + (size_t)dopt_cone_rows(&P->cones);
    dopt_cone_tape *T = (dopt_cone_tape *)tape;
    DOPT_TRY(cone_tape_reserve(ctx, T, &T->adjoint, &T->cap_adjoint, es * N * (size_t)P->batch));
    return DOPT_CALL(ctx, cone_backward, tape, gin, gout);
}

void dopt_cone_tape_destroy(dopt_cone_tape *tape)
{
    if (!tape) return;
    /* through the table of the backend that recorded it: the context may be gone */
    void *bufs[] = {tape->keep, tape->status, tape->adjoint};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; ++i)
        if (bufs[i]) tape->ops->free(tape->device, bufs[i]);
    free(tape->q);
    free(tape->s);
    free(tape);
}
