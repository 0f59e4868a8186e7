/* CUDA backend of the diffusion (SRG) kernels: one thread per row of the
 * (rows, n) state runs kernels/diffusion.h (the CPU's code); the best
 * candidate per instance is a CUB segmented reduction under
 * diff_before, the order the CPU scan uses (feasible first, then
 * violation, objective, index; NaN worst), so both pick the same candidate
 * from the same scores.
 *
 * Both precisions come from one source, diffusion_cuda_impl.cuh, included
 * twice by src/cpu/both_precisions.h exactly as the CPU backend does. */
#include <cub/cub.cuh>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include "cuda_check.h"
#include "cuda_segments.h"
#include "diffusion.h"
#include "ragged_cuda.cuh"

#include <string.h>

#define DOPT_DIFF_BLOCK 128

static dopt_status diff_grid(dopt_context *ctx, int64_t count, unsigned *grid)
{
    return dopt_grid_checked(ctx, "diffusion", count, DOPT_DIFF_BLOCK, grid);
}

/* "../cuda/": both_precisions.h (src/cpu) includes the file relative to itself */
#define DOPT_BOTH_PRECISIONS "../cuda/diffusion_cuda_impl.cuh"
#include "both_precisions.h"

extern "C" dopt_status dopt_diffusion_step_cuda(dopt_context *ctx, const dopt_diffusion_step_desc *st, int64_t rows,
                                                int32_t n, dopt_dtype dt, void *x, void *eps_hat,
                                                const dopt_diffusion_guide *guide, const dopt_guidance *g)
{
    return dt == DOPT_FLOAT64 ? diff_step_run_d(ctx, st, rows, n, x, eps_hat, guide, g)
                              : diff_step_run_f(ctx, st, rows, n, x, eps_hat, guide, g);
}

extern "C" dopt_status dopt_diffusion_noise_cuda(dopt_context *ctx, int64_t rows, int32_t n, dopt_dtype dt,
                                                 const void *x0, double abar_t, uint64_t seed, uint32_t step, void *xt,
                                                 void *eps)
{
    return dt == DOPT_FLOAT64 ? diff_noise_run_d(ctx, rows, n, x0, abar_t, seed, step, xt, eps)
                              : diff_noise_run_f(ctx, rows, n, x0, abar_t, seed, step, xt, eps);
}

extern "C" dopt_status dopt_srg_target_cuda(dopt_context *ctx, const dopt_diffusion_guide *guide, const dopt_guidance *g,
                                            const void *xt, const void *eps, double abar_t, int round, void *target)
{
    return guide->dtype == DOPT_FLOAT64 ? diff_target_run_d(ctx, guide, g, xt, eps, abar_t, round, target)
                                        : diff_target_run_f(ctx, guide, g, xt, eps, abar_t, round, target);
}

extern "C" dopt_status dopt_diffusion_candidates_cuda(dopt_context *ctx, const dopt_diffusion_guide *guide, const void *x,
                                                      int round, double feas_tol, void *objective, void *violation,
                                                      int32_t *best, void *best_x)
{
    return guide->dtype == DOPT_FLOAT64
               ? diff_cand_run_d(ctx, guide, x, round, feas_tol, objective, violation, best, best_x)
               : diff_cand_run_f(ctx, guide, x, round, feas_tol, objective, violation, best, best_x);
}

extern "C" dopt_status dopt_diffusion_step_blocks_cuda(dopt_context *ctx, const dopt_diffusion_step_desc *st,
                                                       const dopt_diffusion_blocks *P, void *x, void *eps_hat,
                                                       const dopt_guidance *g)
{
    return P->dtype == DOPT_FLOAT64 ? diff_step_blocks_run_d(ctx, st, P, x, eps_hat, g)
                                    : diff_step_blocks_run_f(ctx, st, P, x, eps_hat, g);
}

extern "C" dopt_status dopt_diffusion_noise_blocks_cuda(dopt_context *ctx, const dopt_diffusion_blocks *P,
                                                        const void *x0, double abar_t, uint64_t seed, uint32_t step,
                                                        void *xt, void *eps)
{
    return P->dtype == DOPT_FLOAT64 ? diff_noise_blocks_run_d(ctx, P, x0, abar_t, seed, step, xt, eps)
                                    : diff_noise_blocks_run_f(ctx, P, x0, abar_t, seed, step, xt, eps);
}

extern "C" dopt_status dopt_srg_target_blocks_cuda(dopt_context *ctx, const dopt_diffusion_blocks *P,
                                                   const dopt_guidance *g, const void *xt, const void *eps,
                                                   double abar_t, int round, void *target)
{
    return P->dtype == DOPT_FLOAT64 ? diff_target_blocks_run_d(ctx, P, g, xt, eps, abar_t, round, target)
                                    : diff_target_blocks_run_f(ctx, P, g, xt, eps, abar_t, round, target);
}

extern "C" dopt_status dopt_diffusion_candidates_blocks_cuda(dopt_context *ctx, const dopt_diffusion_blocks *P,
                                                             const void *x, int round, double feas_tol,
                                                             void *objective, void *violation, int32_t *best,
                                                             void *best_x)
{
    return P->dtype == DOPT_FLOAT64
               ? diff_cand_blocks_run_d(ctx, P, x, round, feas_tol, objective, violation, best, best_x)
               : diff_cand_blocks_run_f(ctx, P, x, round, feas_tol, objective, violation, best, best_x);
}
