/* CPU backend of the QP layer: both precisions from one source. */
#include "internal.h"
#include "backend.h"
#include "qp_cpu_tape.h"
#include "qp_cpu_layout.h"
#include "qp_layout.h"

#include <stdlib.h>
#include <string.h>

#include "../../kernels/qp_ipm.h"

/* Largest n solved interleaved by default, per dtype: the crossover measured
 * on one AVX-512 core at B = 1024, m = n, k = n/4 (docs/QP.md, "Interleaved
 * layout"). With the four-step panels and four-row passes of the lane
 * kernels (2026-12-01, Zen 4): float64 lanes win 1.5x at n = 48, 1.03x at
 * 64, 1.07x at 80 and tie at 96; float32 win 1.2x from n = 64 to 128 and
 * 1.06x at 192 and 256. The limits keep the clear wins (the earlier
 * kernels, on a Xeon, lost past n = 40 / 64). Only measured with AVX-512
 * code (-march=native here): a build for an older baseline keeps the
 * per-instance layout unless DOPT_QP_LAYOUT asks for lanes. */
#ifdef __AVX512F__
#define DOPT_QP_LANES_MAX_N_F64 64
#define DOPT_QP_LANES_MAX_N_F32 128
#else
#define DOPT_QP_LANES_MAX_N_F64 0
#define DOPT_QP_LANES_MAX_N_F32 0
#endif

#define DOPT_BOTH_PRECISIONS "qp_cpu_impl.h"
#include "both_precisions.h"
#define DOPT_BOTH_PRECISIONS "qp_cpu_lanes_impl.h"
#include "both_precisions.h"

int dopt_qp_cpu_lane_width(dopt_dtype dtype) { return dtype == DOPT_FLOAT64 ? qpl_width_d : qpl_width_f; }

int64_t dopt_qp_cpu_lanes_grain(dopt_dtype dtype) { return 4 * (int64_t)dopt_qp_cpu_lane_width(dtype); }

/* Whether the batch runs interleaved (qp_cpu_lanes_impl.h) or one instance
 * per task. DOPT_QP_LAYOUT=lanes|instance forces one (tests, benchmarks);
 * otherwise the interleaved layout below the crossover measured on an
 * AVX-512 core (docs/QP.md, "Interleaved layout"). */
int dopt_qp_cpu_uses_lanes(const dopt_context *ctx, const dopt_qp_problem *P)
{
    const char *layout = getenv("DOPT_QP_LAYOUT");
    int want;
    if (layout && strcmp(layout, "lanes") == 0) {
        want = 1;
    } else if (layout && strcmp(layout, "instance") == 0) {
        want = 0;
    } else {
        int max_n = P->dtype == DOPT_FLOAT64 ? DOPT_QP_LANES_MAX_N_F64 : DOPT_QP_LANES_MAX_N_F32;
        /* below one full group, idle lanes would compute for nothing */
        want = P->n <= max_n && P->batch >= dopt_qp_cpu_lane_width(P->dtype);
    }
    /* under a host memory cap, the layout whose workspace the layer's
     * estimate describes (dopt_qp_memory_cpu): the lanes need W times more */
    return want && ctx->mem_cap[dopt_mem_kind(ctx)] == 0;
}

int dopt_qp_cpu_uses_warp(const dopt_context *ctx)
{
    const char *layout = getenv("DOPT_QP_LAYOUT");
    return layout && strcmp(layout, "warp") == 0 && ctx->mem_cap[dopt_mem_kind(ctx)] == 0;
}

dopt_status dopt_qp_solve_cpu(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                              dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    if (dopt_qp_cpu_uses_warp(ctx))
        return P->dtype == DOPT_FLOAT64 ? qp_solve_cpu_warp_d(ctx, P, o, sol, tape)
                                        : qp_solve_cpu_warp_f(ctx, P, o, sol, tape);
    if (dopt_qp_cpu_uses_lanes(ctx, P))
        return P->dtype == DOPT_FLOAT64 ? qp_solve_cpu_lanes_d(ctx, P, o, sol, tape)
                                        : qp_solve_cpu_lanes_f(ctx, P, o, sol, tape);
    return P->dtype == DOPT_FLOAT64 ? qp_solve_cpu_d(ctx, P, o, sol, tape) : qp_solve_cpu_f(ctx, P, o, sol, tape);
}

dopt_status dopt_qp_backward_cpu(dopt_context *ctx, const dopt_qp_tape *T, const dopt_qp_grad_in *gin,
                                 dopt_qp_grad_out *gout)
{
    return T->prob.dtype == DOPT_FLOAT64 ? qp_backward_cpu_d(ctx, T, gin, gout) : qp_backward_cpu_f(ctx, T, gin, gout);
}
