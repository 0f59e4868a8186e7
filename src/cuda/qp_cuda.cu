/* CUDA backend of the QP layer. The per-instance math is kernels/qp_ipm.h,
 * the code the CPU backend runs, phases included; this file and its
 * per-precision body qp_cuda_impl.h only launch it and call the libraries:
 *  - n < DOPT_QP_CUDA_LARGE_N: one thread per instance runs the whole solve,
 *    by default in the warp layout (the interleaved interior point of
 *    kernels/qp_ilv_impl.h, one lane per thread, a warp's 32 instances
 *    interleaved so that its loads are coalesced); with
 *    DOPT_QP_LAYOUT=instance on a contiguous workspace per thread
 *    (qp_solve_instance). Both give bitwise the per-instance arithmetic up
 *    to nvcc's contraction into fused multiply-adds.
 *  - larger n: the batch runs the same phases in lock step, one kernel per
 *    phase; between before- and after-factor, L += Gw'Gw is cuBLAS batched
 *    GEMM and its Cholesky cuSOLVER batched potrf, over the instances that
 *    need a factorization only (compacted with CUB), so finished instances
 *    stop costing work. A failed Cholesky is retried per thread with growing
 *    regularization by the after-factor phase.
 *  - backward: one thread per instance for the adjoint solve; shared
 *    parameters' gradients are batch sums done by cuBLAS GEMM/GEMV (fixed
 *    order, no atomics: deterministic).
 * Both precisions come from one source through src/cpu/both_precisions.h,
 * as on the CPU; cuda_blas.h names the precision's library routines. */
#include "backend.h" /* dopt_qp_memory_need */
#include "cuda_blas.h"
#include "cuda_check.h"
#include "cuda_lockstep.h"
#include "qp_cuda_warp.h"
#include "qp_layout.h"
#include "qp_ipm.h"

#include <stdlib.h>
#include <string.h>

#define DOPT_QP_CUDA_LARGE_N 64
#define DOPT_BLOCK 128

/* Whether a batch with n < DOPT_QP_CUDA_LARGE_N runs in the warp layout (the
 * default) or one thread per instance on a contiguous workspace
 * (DOPT_QP_LAYOUT=instance: the comparison, and a fallback). Neither has
 * run on a GPU yet; the warp layout is the default because its loads are
 * coalesced (docs/QP.md, "The GPU's warp layout"). */
static int dopt_qp_cuda_uses_warp(const dopt_qp_problem *P)
{
    (void)P;
    const char *layout = getenv("DOPT_QP_LAYOUT");
    return !(layout && strcmp(layout, "instance") == 0);
}

/* the path is relative to both_precisions.h, which includes it */
#define DOPT_BOTH_PRECISIONS "../cuda/qp_cuda_impl.h"
#include "both_precisions.h"

extern "C" dopt_status dopt_qp_solve_cuda(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                                          dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    return P->dtype == DOPT_FLOAT64 ? qp_cuda_solve_d(ctx, P, o, sol, tape) : qp_cuda_solve_f(ctx, P, o, sol, tape);
}

extern "C" dopt_status dopt_qp_backward_cuda(dopt_context *ctx, const dopt_qp_tape *tp, const dopt_qp_grad_in *gin,
                                             dopt_qp_grad_out *g)
{
    return tp->prob.dtype == DOPT_FLOAT64 ? qp_cuda_backward_d(ctx, tp, gin, g) : qp_cuda_backward_f(ctx, tp, gin, g);
}

/* What qp_cuda_solve allocates, for the layer's chunking under a memory cap:
 * per instance, its workspace and (n >= DOPT_QP_CUDA_LARGE_N) its lock-step
 * state, flags and pointers; fixed, the plan's alignment padding and CUB's
 * compaction storage (allowed for generously: its size needs a CUDA call,
 * and a chunk the cap still refuses is halved by the layer). A tape keeps
 * the factorization and copies of x, lam, nu and status per instance. */
extern "C" void dopt_qp_memory_cuda(const dopt_context *ctx, const dopt_qp_problem *P, int with_tape,
                                    dopt_qp_memory_need *need)
{
    (void)ctx;
    int f64 = P->dtype == DOPT_FLOAT64;
    size_t es = f64 ? sizeof(double) : sizeof(float);
    size_t wsz = f64 ? qp_work_size_d(P->n, P->m, P->k) : qp_work_size_f(P->n, P->m, P->k);
    size_t psz = f64 ? qp_work_persist_size_d(P->n, P->m, P->k) : qp_work_persist_size_f(P->n, P->m, P->k);
    size_t state = f64 ? sizeof(qp_state_d) : sizeof(qp_state_f);
    int large = P->n >= DOPT_QP_CUDA_LARGE_N, warp = !large && dopt_qp_cuda_uses_warp(P);
    need->per_instance = es * wsz + (large ? state + 3 * sizeof(int) + 2 * sizeof(void *) : 0);
    need->fixed = (size_t)(DOPT_SCRATCH_PLAN_SLOTS + 1) * DOPT_SCRATCH_ALIGN + (large ? (size_t)1 << 16 : 0);
    if (warp) { /* per thread (at most one per instance) a lane of its group and a buffer; the last group's rest */
        size_t lsz = f64 ? qpl_lanes_size_warp_d(P->n, P->m, P->k) : qpl_lanes_size_warp_f(P->n, P->m, P->k);
        size_t osz = f64 ? qpl_one_size_warp_d(P->n, P->m, P->k) : qpl_one_size_warp_f(P->n, P->m, P->k);
        need->per_instance = es * (lsz / DOPT_QP_WARP + osz);
        need->fixed += es * lsz;
    }
    need->tape_per_instance =
        with_tape ? es * (psz + (size_t)P->n + (size_t)P->m + (size_t)P->k) + sizeof(int32_t) : 0;
}
