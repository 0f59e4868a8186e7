/* CPU backend of the QP layer: both precisions from one source. */
#include "internal.h"
#include "backend.h"
#include "qp_cpu_tape.h"
#include "qp_cpu_layout.h"

#include <stdlib.h>
#include <string.h>

#include "../../kernels/qp_ipm.h"

/* Largest n solved interleaved by default, per dtype (measured crossover,
 * docs/QP.md). */
#define DOPT_QP_LANES_MAX_N_F64 0
#define DOPT_QP_LANES_MAX_N_F32 0

#define DOPT_BOTH_PRECISIONS "qp_cpu_impl.h"
#include "both_precisions.h"
#define DOPT_BOTH_PRECISIONS "qp_cpu_lanes_impl.h"
#include "both_precisions.h"

/* Whether the batch runs interleaved (qp_cpu_lanes_impl.h) or one instance
 * per task. DOPT_QP_LAYOUT=lanes|instance forces one (tests, benchmarks);
 * otherwise the interleaved layout below the crossover measured on an
 * AVX-512 core (docs/QP.md, "Interleaved layout"). */
int dopt_qp_cpu_uses_lanes(const dopt_qp_problem *P)
{
    const char *layout = getenv("DOPT_QP_LAYOUT");
    if (layout && strcmp(layout, "lanes") == 0) return 1;
    if (layout && strcmp(layout, "instance") == 0) return 0;
    int max_n = P->dtype == DOPT_FLOAT64 ? DOPT_QP_LANES_MAX_N_F64 : DOPT_QP_LANES_MAX_N_F32;
    return P->n <= max_n && P->batch >= 2;
}

int dopt_qp_cpu_lane_width(dopt_dtype dtype) { return dtype == DOPT_FLOAT64 ? qpl_width_d : qpl_width_f; }

dopt_status dopt_qp_solve_cpu(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                              dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    if (dopt_qp_cpu_uses_lanes(P))
        return P->dtype == DOPT_FLOAT64 ? qp_solve_cpu_lanes_d(ctx, P, o, sol, tape)
                                        : qp_solve_cpu_lanes_f(ctx, P, o, sol, tape);
    return P->dtype == DOPT_FLOAT64 ? qp_solve_cpu_d(ctx, P, o, sol, tape) : qp_solve_cpu_f(ctx, P, o, sol, tape);
}

dopt_status dopt_qp_backward_cpu(dopt_context *ctx, const dopt_qp_tape *T, const dopt_qp_grad_in *gin,
                                 dopt_qp_grad_out *gout)
{
    return T->prob.dtype == DOPT_FLOAT64 ? qp_backward_cpu_d(ctx, T, gin, gout) : qp_backward_cpu_f(ctx, T, gin, gout);
}
