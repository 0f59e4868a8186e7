/* The CUDA QP layer's warp layout (qp_cuda_warp.h): both precisions from one
 * source (qp_cuda_warp_impl.h). */
#include "qp_cuda_warp.h"
#include "qp_ipm.h"

/* threads per block: whole warps, so that a group of DOPT_QP_WARP instances
 * is one warp (coalescing needs it; correctness does not) */
#define DOPT_QP_WARP_BLOCK 128
static_assert(DOPT_QP_WARP_BLOCK % DOPT_QP_WARP == 0, "a block holds whole warp-layout groups");

/* the path is relative to both_precisions.h, which includes it */
#define DOPT_BOTH_PRECISIONS "../cuda/qp_cuda_warp_impl.h"
#include "both_precisions.h"

extern "C" cudaError_t dopt_qp_cuda_warp_launch(const dopt_qp_problem *P, const dopt_qp_options *o, void *keep,
                                                const dopt_qp_solution *sol, int64_t threads, int64_t per_thread,
                                                void *lanes, void *one, cudaStream_t s)
{
    return P->dtype == DOPT_FLOAT64 ? qp_warp_launch_d(P, o, keep, sol, threads, per_thread, lanes, one, s)
                                    : qp_warp_launch_f(P, o, keep, sol, threads, per_thread, lanes, one, s);
}
