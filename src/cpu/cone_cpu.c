/* CPU backend of the cone layer: both precisions from one source. */
#include "internal.h"
#include "backend.h"
#include "cone_tape.h"

#include <stdlib.h>
#include <string.h>

#include "../../kernels/cone_ipm.h"

#define DOPT_BOTH_PRECISIONS "cone_cpu_impl.h"
#include "both_precisions.h"

dopt_status dopt_cone_solve_cpu(dopt_context *ctx, const dopt_cone_problem *P, const dopt_cone_options *o,
                                dopt_cone_solution *sol, dopt_cone_tape *tape)
{
    return P->dtype == DOPT_FLOAT64 ? cone_solve_cpu_d(ctx, P, o, sol, tape) : cone_solve_cpu_f(ctx, P, o, sol, tape);
}

dopt_status dopt_cone_backward_cpu(dopt_context *ctx, const dopt_cone_tape *T, const dopt_cone_grad_in *gin,
                                   dopt_cone_grad_out *gout)
{
    return T->prob.dtype == DOPT_FLOAT64 ? cone_backward_cpu_d(ctx, T, gin, gout)
                                         : cone_backward_cpu_f(ctx, T, gin, gout);
}
