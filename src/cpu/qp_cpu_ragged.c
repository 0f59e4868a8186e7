/* CPU backend of ragged QP batches: both precisions from one source
 * (qp_cpu_ragged_impl.h). */
#include "internal.h"
#include "backend.h"
#include "qp_cpu_tape.h"
#include "qp_ragged.h"

#include <string.h>

#define DOPT_BOTH_PRECISIONS "qp_cpu_ragged_impl.h"
#include "both_precisions.h"

dopt_status dopt_qp_ragged_solve_cpu(dopt_context *ctx, const dopt_qp_ragged_problem *P,
                                     const struct dopt_qp_ragged_layout *L, const dopt_qp_options *o,
                                     dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    return P->dtype == DOPT_FLOAT64 ? qp_ragged_solve_cpu_d(ctx, P, L, o, sol, tape)
                                    : qp_ragged_solve_cpu_f(ctx, P, L, o, sol, tape);
}

dopt_status dopt_qp_ragged_backward_cpu(dopt_context *ctx, const dopt_qp_tape *T, const dopt_qp_grad_in *gin,
                                        dopt_qp_grad_out *gout)
{
    return T->rprob.dtype == DOPT_FLOAT64 ? qp_ragged_backward_cpu_d(ctx, T, gin, gout)
                                          : qp_ragged_backward_cpu_f(ctx, T, gin, gout);
}

dopt_status dopt_qp_ragged_move_cpu(dopt_context *ctx, const struct dopt_qp_ragged_move *mv)
{
    dopt_range_fn fn = mv->dtype == DOPT_FLOAT64 ? qp_ragged_move_range_d : qp_ragged_move_range_f;
    dopt_parallel_for(ctx, dopt_worker_count(ctx->threads, mv->count, 16), mv->count, 16, fn, (void *)mv);
    return DOPT_OK;
}
