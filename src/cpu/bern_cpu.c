/* CPU backend of the Bernoulli surrogate: both precisions from one source. */
#include "internal.h"
#include "backend.h"

#include <stdlib.h>
#include <string.h>

#include "../../kernels/bern.h"
#include "ragged_cpu.h"

#define DOPT_BOTH_PRECISIONS "bern_cpu_impl.h"
#include "both_precisions.h"

dopt_status dopt_bern_eval_cpu(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat,
                               const dopt_bern_options *o, dopt_bern_result *res)
{
    return P->dtype == DOPT_FLOAT64 ? bern_run_uniform_cpu_d(ctx, P, xhat, o, res, NULL, NULL)
                                    : bern_run_uniform_cpu_f(ctx, P, xhat, o, res, NULL, NULL);
}

dopt_status dopt_bern_round_cpu(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat, void *x,
                                int32_t *status)
{
    return P->dtype == DOPT_FLOAT64 ? bern_run_uniform_cpu_d(ctx, P, xhat, NULL, NULL, x, status)
                                    : bern_run_uniform_cpu_f(ctx, P, xhat, NULL, NULL, x, status);
}

dopt_status dopt_bern_eval_blocks_cpu(dopt_context *ctx, const dopt_bern_blocks *P, const void *xhat,
                                      const dopt_bern_options *o, dopt_bern_result *res)
{
    return P->dtype == DOPT_FLOAT64 ? bern_run_blocks_cpu_d(ctx, P, xhat, o, res, NULL, NULL)
                                    : bern_run_blocks_cpu_f(ctx, P, xhat, o, res, NULL, NULL);
}

dopt_status dopt_bern_round_blocks_cpu(dopt_context *ctx, const dopt_bern_blocks *P, const void *xhat, void *x,
                                       int32_t *status)
{
    return P->dtype == DOPT_FLOAT64 ? bern_run_blocks_cpu_d(ctx, P, xhat, NULL, NULL, x, status)
                                    : bern_run_blocks_cpu_f(ctx, P, xhat, NULL, NULL, x, status);
}
