/* CUDA backend of the Bernoulli surrogate. The per-sample math is
 * kernels/bern.h (the CPU's code):
 *  - one thread per (instance, sample) draws the sample, computes the row
 *    activities, the penalty and the estimator's gradient, and writes them in
 *    (instance, coordinate, sample) order;
 *  - CUB segmented reductions sum each (instance, coordinate) over the K
 *    samples, and their squares, in a fixed order (deterministic; a tree
 *    order, so sums equal the CPU's sequential ones up to rounding);
 *  - a per-instance kernel turns the sums into loss, gradient and standard
 *    errors (bern_finish, shared with the CPU).
 * REINFORCE first reduces the penalties (its leave-one-out baseline). The
 * exact estimator and rounding run one thread per instance.
 *
 * Both precisions come from one source, bern_cuda_impl.cuh, included twice
 * by src/cpu/both_precisions.h exactly as the CPU backend does. */
#include <cub/cub.cuh>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include "bern.h"
#include "cuda_check.h"
#include "cuda_segments.h"
#include "ragged_cuda.cuh"

#include <string.h>

#define DOPT_BERN_BLOCK 128

/* ---- precision-generic helpers of the CUB reductions ---- */

/* penalties are summed in double whatever the precision (as on the CPU) */
struct bern_square_op {
    template <typename T> __host__ __device__ double operator()(T v) const { return (double)v * (double)v; }
};
struct bern_to_double_op {
    template <typename T> __host__ __device__ double operator()(T v) const { return (double)v; }
};
struct bern_square_same_op {
    template <typename T> __host__ __device__ T operator()(T v) const { return v * v; }
};

static dopt_status bern_grid(dopt_context *ctx, int64_t count, unsigned *grid)
{
    return dopt_grid_checked(ctx, "bern", count, DOPT_BERN_BLOCK, grid);
}

/* "../cuda/": both_precisions.h (src/cpu) includes the file relative to itself */
#define DOPT_BOTH_PRECISIONS "../cuda/bern_cuda_impl.cuh"
#include "both_precisions.h"

extern "C" dopt_status dopt_bern_eval_cuda(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat,
                                           const dopt_bern_options *o, dopt_bern_result *res)
{
    return P->dtype == DOPT_FLOAT64 ? bern_eval_run_d(ctx, P, xhat, o, res) : bern_eval_run_f(ctx, P, xhat, o, res);
}

extern "C" dopt_status dopt_bern_round_cuda(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat, void *x,
                                            int32_t *status)
{
    return P->dtype == DOPT_FLOAT64 ? bern_round_run_d(ctx, P, xhat, x, status)
                                    : bern_round_run_f(ctx, P, xhat, x, status);
}

extern "C" dopt_status dopt_bern_eval_blocks_cuda(dopt_context *ctx, const dopt_bern_blocks *P, const void *xhat,
                                                  const dopt_bern_options *o, dopt_bern_result *res)
{
    return P->dtype == DOPT_FLOAT64 ? bern_blocks_run_d(ctx, P, xhat, o, res, NULL, NULL)
                                    : bern_blocks_run_f(ctx, P, xhat, o, res, NULL, NULL);
}

extern "C" dopt_status dopt_bern_round_blocks_cuda(dopt_context *ctx, const dopt_bern_blocks *P, const void *xhat,
                                                   void *x, int32_t *status)
{
    return P->dtype == DOPT_FLOAT64 ? bern_blocks_run_d(ctx, P, xhat, NULL, NULL, x, status)
                                    : bern_blocks_run_f(ctx, P, xhat, NULL, NULL, x, status);
}
