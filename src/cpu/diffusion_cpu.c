/* CPU backend of the diffusion kernels: both precisions from one source. */
#include "internal.h"
#include "backend.h"

#include <stdlib.h>
#include <string.h>

#include "../../kernels/diffusion.h"
#include "ragged_cpu.h"

#define DOPT_BOTH_PRECISIONS "diffusion_cpu_impl.h"
#include "both_precisions.h"

dopt_status dopt_diffusion_step_cpu(dopt_context *ctx, const dopt_diffusion_step_desc *st, int64_t rows, int32_t n,
                                    dopt_dtype dt, void *x, void *eps_hat, const dopt_diffusion_guide *guide,
                                    const dopt_guidance *g)
{
    return dt == DOPT_FLOAT64 ? diff_step_cpu_d(ctx, st, rows, n, x, eps_hat, guide, g)
                              : diff_step_cpu_f(ctx, st, rows, n, x, eps_hat, guide, g);
}

dopt_status dopt_diffusion_noise_cpu(dopt_context *ctx, int64_t rows, int32_t n, dopt_dtype dt, const void *x0,
                                     double abar_t, uint64_t seed, uint32_t step, void *xt, void *eps)
{
    return dt == DOPT_FLOAT64 ? diff_noise_cpu_d(ctx, rows, n, x0, abar_t, seed, step, xt, eps)
                              : diff_noise_cpu_f(ctx, rows, n, x0, abar_t, seed, step, xt, eps);
}

dopt_status dopt_srg_target_cpu(dopt_context *ctx, const dopt_diffusion_guide *guide, const dopt_guidance *g,
                                const void *xt, const void *eps, double abar_t, int round, void *target)
{
    return guide->dtype == DOPT_FLOAT64 ? diff_target_cpu_d(ctx, guide, g, xt, eps, abar_t, round, target)
                                        : diff_target_cpu_f(ctx, guide, g, xt, eps, abar_t, round, target);
}

dopt_status dopt_diffusion_candidates_cpu(dopt_context *ctx, const dopt_diffusion_guide *guide, const void *x, int round,
                                          double feas_tol, void *objective, void *violation, int32_t *best,
                                          void *best_x)
{
    return guide->dtype == DOPT_FLOAT64
               ? diff_candidates_cpu_d(ctx, guide, x, round, feas_tol, objective, violation, best, best_x)
               : diff_candidates_cpu_f(ctx, guide, x, round, feas_tol, objective, violation, best, best_x);
}

dopt_status dopt_diffusion_step_blocks_cpu(dopt_context *ctx, const dopt_diffusion_step_desc *st,
                                           const dopt_diffusion_blocks *P, void *x, void *eps_hat,
                                           const dopt_guidance *g)
{
    return P->dtype == DOPT_FLOAT64 ? diff_step_blocks_cpu_d(ctx, st, P, x, eps_hat, g)
                                    : diff_step_blocks_cpu_f(ctx, st, P, x, eps_hat, g);
}

dopt_status dopt_diffusion_noise_blocks_cpu(dopt_context *ctx, const dopt_diffusion_blocks *P, const void *x0,
                                            double abar_t, uint64_t seed, uint32_t step, void *xt, void *eps)
{
    return P->dtype == DOPT_FLOAT64 ? diff_noise_blocks_cpu_d(ctx, P, x0, abar_t, seed, step, xt, eps)
                                    : diff_noise_blocks_cpu_f(ctx, P, x0, abar_t, seed, step, xt, eps);
}

dopt_status dopt_srg_target_blocks_cpu(dopt_context *ctx, const dopt_diffusion_blocks *P, const dopt_guidance *g,
                                       const void *xt, const void *eps, double abar_t, int round, void *target)
{
    return P->dtype == DOPT_FLOAT64 ? diff_target_blocks_cpu_d(ctx, P, g, xt, eps, abar_t, round, target)
                                    : diff_target_blocks_cpu_f(ctx, P, g, xt, eps, abar_t, round, target);
}

dopt_status dopt_diffusion_candidates_blocks_cpu(dopt_context *ctx, const dopt_diffusion_blocks *P, const void *x,
                                                 int round, double feas_tol, void *objective, void *violation,
                                                 int32_t *best, void *best_x)
{
    return P->dtype == DOPT_FLOAT64
               ? diff_candidates_blocks_cpu_d(ctx, P, x, round, feas_tol, objective, violation, best, best_x)
               : diff_candidates_blocks_cpu_f(ctx, P, x, round, feas_tol, objective, violation, best, best_x);
}
