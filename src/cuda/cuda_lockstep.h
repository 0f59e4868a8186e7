/* Scratch of a batch that runs a layer's per-instance phases in lock step
 * with a library factorization between them (the QP and cone layers'
 * large-n paths): the per-instance states, the flags of the instances that
 * need a factorization this round, their compacted indices and count, the
 * library's info and pointer arrays, and CUB's temp storage for the
 * compaction. Laid out in the solve's one scratch plan. */
#ifndef DOPT_CUDA_LOCKSTEP_H
#define DOPT_CUDA_LOCKSTEP_H

#include <cub/cub.cuh>
#include <thrust/iterator/counting_iterator.h>

#include "cuda_check.h"

struct dopt_lockstep_buffers {
    void *state, *needs, *active, *nactive, *info, *lptr, *gptr, *cub_tmp;
    size_t tmp_bytes; /* CUB's temp storage for the compaction */
};

/* Adds the buffers for B instances (state_bytes each, and two pointer
 * arrays of ptr_bytes entries) to the plan. CUB's temp size is queried
 * first: a NULL temp pointer only computes it (the other pointers, still
 * NULL, are not read). */
static inline dopt_status dopt_lockstep_plan(dopt_context *ctx, dopt_scratch_plan *plan, int64_t B, size_t state_bytes,
                                             size_t ptr_bytes, struct dopt_lockstep_buffers *bf)
{
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    thrust::counting_iterator<int> ids(0);
    bf->tmp_bytes = 0;
    DOPT_CU(ctx, cub::DeviceSelect::Flagged(NULL, bf->tmp_bytes, ids, (int *)NULL, (int *)NULL, (int *)NULL, (int)B,
                                            s));
    dopt_scratch_plan_add(plan, &bf->state, (size_t)B, state_bytes);
    dopt_scratch_plan_add(plan, &bf->needs, (size_t)B, sizeof(int));
    dopt_scratch_plan_add(plan, &bf->active, (size_t)B, sizeof(int));
    dopt_scratch_plan_add(plan, &bf->nactive, 1, sizeof(int));
    dopt_scratch_plan_add(plan, &bf->info, (size_t)B, sizeof(int));
    dopt_scratch_plan_add(plan, &bf->lptr, (size_t)B, ptr_bytes);
    dopt_scratch_plan_add(plan, &bf->gptr, (size_t)B, ptr_bytes);
    dopt_scratch_plan_add(plan, &bf->cub_tmp, bf->tmp_bytes ? bf->tmp_bytes : 1, 1);
    return DOPT_OK;
}

/* Compacts the flagged instances (needs) into active and their count into
 * nactive, and returns the count on the host (one synchronization). */
static inline dopt_status dopt_lockstep_select(dopt_context *ctx, const struct dopt_lockstep_buffers *bf, int64_t B,
                                               int *count)
{
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    thrust::counting_iterator<int> ids(0);
    size_t tmp_bytes = bf->tmp_bytes;
    DOPT_CU(ctx, cub::DeviceSelect::Flagged(bf->cub_tmp, tmp_bytes, ids, (int *)bf->needs, (int *)bf->active,
                                            (int *)bf->nactive, (int)B, s));
    *count = 0;
    DOPT_CU(ctx, cudaMemcpyAsync(count, bf->nactive, sizeof(int), cudaMemcpyDeviceToHost, s));
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

#endif
