/* CUDA backend of ragged QP batches: the grouped path's pad-and-gather and
 * scatter (qp_ragged_move), one thread per class slot running the kernels/
 * functions the CPU runs. The classes themselves are uniform batches solved
 * by the uniform entry (qp_cuda.cu); the plan is src/layers/qp_ragged_group.c.
 * No native per-instance ragged solve yet (docs/QP.md "Ragged batches"). */
#include "cuda_check.h"
#include "qp_ipm.h"
#include "qp_ragged.h"

#define DOPT_RAGGED_BLOCK 128

#define DOPT_RAGGED_MOVE_KERNEL(SUFFIX, REAL)                                                                      \
    __global__ void qp_ragged_move_kernel_##SUFFIX(dopt_qp_ragged_move mv)                                         \
    {                                                                                                              \
        int64_t s = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;                                                \
        if (s >= mv.count) return;                                                                                 \
        int64_t i = mv.members[s];                                                                                 \
        REAL *r[6], *c[6];                                                                                         \
        for (int t = 0; t < 6; ++t) {                                                                              \
            r[t] = (REAL *)mv.r[t];                                                                                \
            c[t] = (REAL *)mv.c[t];                                                                                \
        }                                                                                                          \
        switch (mv.what) {                                                                                         \
        case DOPT_QP_RAGGED_PAD_DATA:                                                                              \
            qp_ragged_pad_data_##SUFFIX(&mv.ix, r[0], r[1], r[2], r[3], r[4], r[5], i, mv.N, mv.M, mv.K, s, c[0], \
                                        c[1], c[2], c[3], c[4], c[5]);                                             \
            break;                                                                                                 \
        case DOPT_QP_RAGGED_PAD_GRAD_IN:                                                                           \
            qp_ragged_pad_grad_in_##SUFFIX(&mv.ix, r[0], r[1], r[2], i, mv.N, mv.M, mv.K, s, c[0], c[1], c[2]);    \
            break;                                                                                                 \
        case DOPT_QP_RAGGED_UNPAD_SOLUTION:                                                                        \
            qp_ragged_unpad_solution_##SUFFIX(&mv.ix, i, mv.N, mv.M, mv.K, s, c[0], c[1], c[2], mv.cstatus,       \
                                              mv.citers, r[0], r[1], r[2], mv.rstatus, mv.riters);                 \
            break;                                                                                                 \
        default:                                                                                                   \
            qp_ragged_unpad_grads_##SUFFIX(&mv.ix, i, mv.N, mv.M, mv.K, s, c[0], c[1], c[2], c[3], c[4], c[5],     \
                                           r[0], r[1], r[2], r[3], r[4], r[5]);                                    \
        }                                                                                                          \
    }

DOPT_RAGGED_MOVE_KERNEL(d, double)
DOPT_RAGGED_MOVE_KERNEL(f, float)

extern "C" dopt_status dopt_qp_ragged_move_cuda(dopt_context *ctx, const dopt_qp_ragged_move *mv)
{
    if (mv->count == 0) return DOPT_OK;
    cudaStream_t stream = (cudaStream_t)ctx->cuda_stream;
    unsigned blocks = (unsigned)((mv->count + DOPT_RAGGED_BLOCK - 1) / DOPT_RAGGED_BLOCK);
    if (mv->dtype == DOPT_FLOAT64)
        qp_ragged_move_kernel_d<<<blocks, DOPT_RAGGED_BLOCK, 0, stream>>>(*mv);
    else
        qp_ragged_move_kernel_f<<<blocks, DOPT_RAGGED_BLOCK, 0, stream>>>(*mv);
    DOPT_CU_LAUNCH(ctx);
    return DOPT_OK;
}
