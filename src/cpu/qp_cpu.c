/* CPU backend of the QP layer: both precisions from one source. */
#include "internal.h"
#include "backend.h"
#include "qp_cpu_tape.h"

#include <stdlib.h>
#include <string.h>

#include "../../kernels/qp_ipm.h"

#define DOPT_BOTH_PRECISIONS "qp_cpu_impl.h"
#include "both_precisions.h"

dopt_status dopt_qp_solve_cpu(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                              dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    return P->dtype == DOPT_FLOAT64 ? qp_solve_cpu_d(ctx, P, o, sol, tape) : qp_solve_cpu_f(ctx, P, o, sol, tape);
}

dopt_status dopt_qp_backward_cpu(dopt_context *ctx, const dopt_qp_tape *T, const dopt_qp_grad_in *gin,
                                 dopt_qp_grad_out *gout)
{
    return T->prob.dtype == DOPT_FLOAT64 ? qp_backward_cpu_d(ctx, T, gin, gout) : qp_backward_cpu_f(ctx, T, gin, gout);
}
