/* Diffusion (SRG) entry points: schedules, argument checks, dispatch. */
#include "internal.h"
#include "backend.h"

#include <math.h>
#include <string.h>

dopt_status dopt_diffusion_schedule(dopt_schedule kind, int32_t T, double *abar)
{
    if (T < 1 || T > 1000000 || !abar) return DOPT_ERR_INVALID_ARGUMENT;
    abar[0] = 1;
    if (kind == DOPT_SCHEDULE_LINEAR) {
        /* Ho et al.: beta linear from 1e-4 to 0.02 for T = 1000; for other T the
         * endpoints scale by 1000/T so that the total noise stays comparable */
        double b0 = 1e-4 * 1000.0 / T, b1 = 0.02 * 1000.0 / T;
        if (b1 > 0.999) b1 = 0.999;
        if (b0 > b1) b0 = b1;
        for (int t = 1; t <= T; ++t) {
            double beta = T == 1 ? b1 : b0 + (b1 - b0) * (double)(t - 1) / (double)(T - 1);
            abar[t] = abar[t - 1] * (1 - beta);
        }
        return DOPT_OK;
    }
    if (kind == DOPT_SCHEDULE_COSINE) {
        const double s = 0.008, pi2 = 1.5707963267948966;
        double f0 = cos(s / (1 + s) * pi2);
        f0 *= f0;
        for (int t = 1; t <= T; ++t) {
            double f = cos(((double)t / T + s) / (1 + s) * pi2);
            double ab = f * f / f0;
            double beta = 1 - ab / abar[t - 1];
            if (beta > 0.999) beta = 0.999;
            abar[t] = abar[t - 1] * (1 - beta);
        }
        return DOPT_OK;
    }
    return DOPT_ERR_INVALID_ARGUMENT;
}

static dopt_status check_milp(dopt_context *ctx, const dopt_diffusion_guide *p, int64_t rows, int32_t n, dopt_dtype dt)
{
    if (!p) return DOPT_OK;
    if (p->dtype != dt) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion: guidance dtype differs from x's");
    if (p->n != n || p->batch < 1 || p->samples < 1 || p->m < 0)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion: milp batch needs n = %d, batch >= 1, samples >= 1",
                         n);
    if (rows >= 0 && p->batch * (int64_t)p->samples != rows)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion: rows = %lld but batch * samples = %lld",
                         (long long)rows, (long long)(p->batch * (int64_t)p->samples));
    /* col_idx / values may be NULL when no row has entries (an empty array's
     * pointer); the backends check the CSR rows (offsets, column indices,
     * entries without arrays) before reading through them */
    if (p->m > 0 && (!p->row_ptr || !p->b))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "diffusion: CSR A (row_ptr, and col_idx and values unless A has no entries) and b required");
    if (!p->c) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion: c is required");
    if (p->shared & ~0x7u) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion: unknown bits in shared");
    return DOPT_OK;
}

void dopt_guidance_default(dopt_guidance *g)
{
    if (!g) return;
    g->gamma_o = 0, g->gamma_c = 1, g->lambda = 1;
}

static int bad_abar(double v) { return !(v > 0 && v <= 1); }
static dopt_status check_step(dopt_context *ctx, const dopt_diffusion_step_desc *st);

dopt_status dopt_diffusion_step(dopt_context *ctx, const dopt_diffusion_step_desc *st, int64_t rows, int32_t n,
                                dopt_dtype dt, void *x, void *eps_hat, const dopt_diffusion_guide *guide,
                                const dopt_guidance *g)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    if (!st || !st->abar) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion step: step and abar required");
    if (dt != DOPT_FLOAT32 && dt != DOPT_FLOAT64) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion: dtype");
    if (rows < 0 || n < 1) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion: rows >= 0 and n >= 1 needed");
    if (rows > 0 && (!x || !eps_hat)) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion: x and eps_hat required");
    DOPT_TRY(check_step(ctx, st));
    DOPT_TRY(check_milp(ctx, guide, rows, n, dt));
    dopt_guidance defaults;
    if (guide && !g) dopt_guidance_default(&defaults), g = &defaults;
    if (rows == 0) return DOPT_OK;
    return DOPT_CALL(ctx, diffusion_step, st, rows, n, dt, x, eps_hat, guide, g);
}

/* The step descriptor (st and st->abar non-NULL). */
static dopt_status check_step(dopt_context *ctx, const dopt_diffusion_step_desc *st)
{
    if (st->sampler != DOPT_SAMPLER_DDPM && st->sampler != DOPT_SAMPLER_DDIM)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion: unknown sampler");
    if (st->t < 1 || st->t_prev < 0 || st->t_prev >= st->t)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion: need 0 <= t_prev < t (got t=%d, t_prev=%d)", st->t,
                         st->t_prev);
    if (st->sampler == DOPT_SAMPLER_DDPM && st->t_prev != st->t - 1)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion: DDPM steps one timestep at a time (t_prev = t - 1)");
    if (!(st->eta >= 0 && st->eta <= 1)) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion: eta in [0, 1]");
    if (bad_abar(st->abar[st->t]) || bad_abar(st->abar[st->t_prev]) || st->abar[st->t] >= 1)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion: abar must be in (0, 1] and abar[t] < 1");
    return DOPT_OK;
}

dopt_status dopt_diffusion_noise(dopt_context *ctx, int64_t rows, int32_t n, dopt_dtype dt, const void *x0,
                                 double abar_t, uint64_t seed, uint32_t step, void *xt, void *eps)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    if ((dt != DOPT_FLOAT32 && dt != DOPT_FLOAT64) || rows < 0 || n < 1 || bad_abar(abar_t))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion noise: bad dtype, sizes or abar");
    if (rows > 0 && (!x0 || !xt || !eps)) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion noise: NULL array");
    if (rows == 0) return DOPT_OK;
    return DOPT_CALL(ctx, diffusion_noise, rows, n, dt, x0, abar_t, seed, step, xt, eps);
}

dopt_status dopt_srg_target(dopt_context *ctx, const dopt_diffusion_guide *guide, const dopt_guidance *g, const void *xt,
                            const void *eps, double abar_t, int round, void *target)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    if (!guide || !guide->xref)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "srg target: guide (with xref = x*) required");
    dopt_guidance defaults;
    if (!g) dopt_guidance_default(&defaults), g = &defaults;
    DOPT_TRY(check_milp(ctx, guide, -1, guide->n, guide->dtype));
    if (!xt || !eps || !target || bad_abar(abar_t))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "srg target: x_t, eps, target and abar in (0, 1] required");
    return DOPT_CALL(ctx, srg_target, guide, g, xt, eps, abar_t, round, target);
}

dopt_status dopt_diffusion_candidates(dopt_context *ctx, const dopt_diffusion_guide *guide, const void *x, int round,
                                      double feas_tol, void *objective, void *violation, int32_t *best, void *best_x)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    if (!guide) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "candidates: guide (the MILPs) required");
    DOPT_TRY(check_milp(ctx, guide, -1, guide->n, guide->dtype));
    if (!x || !best || !(feas_tol >= 0))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "candidates: x, best and feas_tol >= 0 required");
    return DOPT_CALL(ctx, diffusion_candidates, guide, x, round, feas_tol, objective, violation, best, best_x);
}

/* ---- block-diagonal batches: what the host can check without reading the
 * arrays (they may live on the device); the backend checks the offsets and
 * the CSR rows. milp: the call needs the MILP arrays (c, con_ptr, row_ptr). */
static dopt_status check_blocks(dopt_context *ctx, const dopt_diffusion_blocks *p, int milp, const char *what)
{
    if (!p) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: blocks is NULL", what);
    if (p->dtype != DOPT_FLOAT32 && p->dtype != DOPT_FLOAT64)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: dtype must be DOPT_FLOAT32 or DOPT_FLOAT64", what);
    if (p->batch < 0 || p->samples < 1)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: need batch >= 0 and samples >= 1 (got %lld, %d)", what,
                         (long long)p->batch, p->samples);
    if (p->batch > 0xFFFFFFFFll / p->samples) /* batch * samples, without overflowing */
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "%s: batch * samples above 2^32 (the noise's row counter is 32-bit)", what);
    if (p->batch > 0 && !p->var_ptr) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: var_ptr is required", what);
    if (milp && !p->c) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: c is required", what);
    if (p->c && p->batch > 0 && (!p->con_ptr || !p->row_ptr))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "%s: with c (the MILPs), con_ptr (batch + 1) and row_ptr (con_ptr[batch] + 1) are required",
                         what);
    return DOPT_OK;
}

dopt_status dopt_diffusion_step_blocks(dopt_context *ctx, const dopt_diffusion_step_desc *st,
                                       const dopt_diffusion_blocks *blocks, void *x, void *eps_hat,
                                       const dopt_guidance *g)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    if (!st || !st->abar) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion step: step and abar required");
    DOPT_TRY(check_step(ctx, st));
    DOPT_TRY(check_blocks(ctx, blocks, 0, "diffusion step blocks"));
    if (blocks->batch > 0 && (!x || !eps_hat))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion step blocks: x and eps_hat required");
    dopt_guidance defaults;
    if (blocks->c && !g) dopt_guidance_default(&defaults), g = &defaults;
    if (blocks->batch == 0) return DOPT_OK;
    return DOPT_CALL(ctx, diffusion_step_blocks, st, blocks, x, eps_hat, g);
}

dopt_status dopt_diffusion_noise_blocks(dopt_context *ctx, const dopt_diffusion_blocks *blocks, const void *x0,
                                        double abar_t, uint64_t seed, uint32_t step, void *xt, void *eps)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    DOPT_TRY(check_blocks(ctx, blocks, 0, "diffusion noise blocks"));
    if (bad_abar(abar_t)) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion noise blocks: abar in (0, 1]");
    if (blocks->batch > 0 && (!x0 || !xt || !eps))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "diffusion noise blocks: NULL array");
    if (blocks->batch == 0) return DOPT_OK;
    return DOPT_CALL(ctx, diffusion_noise_blocks, blocks, x0, abar_t, seed, step, xt, eps);
}

dopt_status dopt_srg_target_blocks(dopt_context *ctx, const dopt_diffusion_blocks *blocks, const dopt_guidance *g,
                                   const void *xt, const void *eps, double abar_t, int round, void *target)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    DOPT_TRY(check_blocks(ctx, blocks, 1, "srg target blocks"));
    if (blocks->batch > 0 && !blocks->xref)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "srg target blocks: xref (x*) required");
    if ((blocks->batch > 0 && (!xt || !eps || !target)) || bad_abar(abar_t))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "srg target blocks: x_t, eps, target and abar in (0, 1] required");
    dopt_guidance defaults;
    if (!g) dopt_guidance_default(&defaults), g = &defaults;
    if (blocks->batch == 0) return DOPT_OK;
    return DOPT_CALL(ctx, srg_target_blocks, blocks, g, xt, eps, abar_t, round, target);
}

dopt_status dopt_diffusion_candidates_blocks(dopt_context *ctx, const dopt_diffusion_blocks *blocks, const void *x,
                                             int round, double feas_tol, void *objective, void *violation,
                                             int32_t *best, void *best_x)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    DOPT_TRY(check_blocks(ctx, blocks, 1, "candidates blocks"));
    if ((blocks->batch > 0 && (!x || !best)) || !(feas_tol >= 0))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "candidates blocks: x, best and feas_tol >= 0 required");
    if (blocks->batch == 0) return DOPT_OK;
    return DOPT_CALL(ctx, diffusion_candidates_blocks, blocks, x, round, feas_tol, objective, violation, best, best_x);
}
