/* The warp-layout QP kernel for one precision (included twice by
 * qp_cuda_warp.cu through both_precisions.h, with DREAL / DFN set): each
 * thread solves its range of instances (one, unless the batch exceeds the
 * thread cap: qp_layout.h), on a lane of its warp's group, whose buffers are
 * interleaved DOPT_QP_WARP wide (kernels/qp_ilv_layouts.h): element e of
 * the group's lane l at [e * 32 + l], so a warp's threads read consecutive
 * addresses; a thread refills its lane with its next instance as soon as
 * one is done. Each thread also has a per-instance buffer for the
 * once-per-instance and rare steps (setup, outputs, a failed
 * factorization's retries). The math, driver included, is kernels/; this
 * only maps the buffers. */

__global__ void DFN(qp_warp_kernel)(DFN(qpl_job_warp) job, DREAL *lanes, size_t lsz, DREAL *one, size_t osz,
                                    int64_t B, int64_t threads, int64_t per_thread)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= threads) return;
    int64_t g = t / DOPT_QP_WARP, b0 = t * per_thread, b1 = b0 + per_thread < B ? b0 + per_thread : B;
    DFN(qpl_lanes_warp) L;
    DFN(qpl_lanes_map_warp)(&L, lanes + (size_t)g * lsz + (size_t)(t - g * DOPT_QP_WARP), one + (size_t)t * osz,
                            job.bt.n, job.bt.m, job.bt.k);
    DFN(qpl_run_warp)(&job, &L, b0, b1);
}

static cudaError_t DFN(qp_warp_launch)(const dopt_qp_problem *P, const dopt_qp_options *o, void *keep,
                                       const dopt_qp_solution *sol, int64_t threads, int64_t per_thread,
                                       void *lanes, void *one, cudaStream_t s)
{
    size_t lsz = DFN(qpl_lanes_size_warp)(P->n, P->m, P->k), osz = DFN(qpl_one_size_warp)(P->n, P->m, P->k);
    unsigned grid = (unsigned)((threads + DOPT_QP_WARP_BLOCK - 1) / DOPT_QP_WARP_BLOCK);
    DFN(qp_warp_kernel)<<<grid, DOPT_QP_WARP_BLOCK, 0, s>>>(DFN(qpl_job_of_warp)(P, o, (DREAL *)keep, sol),
                                                           (DREAL *)lanes, lsz, (DREAL *)one, osz, P->batch,
                                                           threads, per_thread);
    return cudaGetLastError();
}
