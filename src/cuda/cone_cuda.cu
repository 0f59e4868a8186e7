/* CUDA backend of the cone layer: thin. The per-instance math is
 * kernels/cone_ipm.h, the code the CPU backend runs, phases included:
 *  - solve, n < DOPT_CONE_CUDA_LARGE_N: one thread per instance runs the
 *    whole interior point (cone_solve_instance: the phases in order, the
 *    factorization in the kernel) on its own workspace in the arena;
 *  - solve, larger n: the batch runs the same phases in lock step, one
 *    kernel per phase; between before- and after-factor, the Schur
 *    complement's x block gets Gs'Gs by cuBLAS batched GEMM and its
 *    Cholesky by cuSOLVER batched potrf, over the instances that need a
 *    factorization only (compacted with CUB), as the QP layer does;
 *  - backward: one thread per instance for the adjoint solve, then one
 *    thread per output entry for the gradients; a shared parameter's entry
 *    sums over the batch in instance order (deterministic, no atomics).
 * The cone sizes (host arrays) are copied to the arena for the kernels.
 * Both precisions come from one source through src/cpu/both_precisions.h.
 * The backward's residual-map matrix (n + k + m square) is factored per
 * thread at the end of the solve at every size: docs/CONE.md "CUDA". */
#include "backend.h"
#include "cone_tape.h"
#include "cuda_blas.h"
#include "cuda_check.h"
#include "cuda_lockstep.h"
#include "cone_ipm.h"

#include <stdlib.h>
#include <string.h>

#define DOPT_CONE_BLOCK 64
#define DOPT_CONE_CUDA_LARGE_N 64

/* the path is relative to both_precisions.h, which includes it */
#define DOPT_BOTH_PRECISIONS "../cuda/cone_cuda_impl.h"
#include "both_precisions.h"

extern "C" dopt_status dopt_cone_solve_cuda(dopt_context *ctx, const dopt_cone_problem *P, const dopt_cone_options *o,
                                            dopt_cone_solution *sol, dopt_cone_tape *tape)
{
    return P->dtype == DOPT_FLOAT64 ? cone_cuda_solve_d(ctx, P, o, sol, tape) : cone_cuda_solve_f(ctx, P, o, sol, tape);
}

extern "C" dopt_status dopt_cone_backward_cuda(dopt_context *ctx, const dopt_cone_tape *T, const dopt_cone_grad_in *gin,
                                               dopt_cone_grad_out *g)
{
    return T->prob.dtype == DOPT_FLOAT64 ? cone_cuda_backward_d(ctx, T, gin, g) : cone_cuda_backward_f(ctx, T, gin, g);
}
