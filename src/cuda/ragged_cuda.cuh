/* The CUDA backend's check of a block batch's offset arrays (device
 * memory): kernels/ragged_ptr.h's rules, one thread per instance (the
 * lowest bad one by atomicMin), then one download of the arrays' ends, the
 * totals the scratch is sized by, and the bad instance's step; one stream
 * synchronization. The same messages as the CPU backend (src/cpu/ragged_cpu.h).
 * Included by bern_cuda.cu and diffusion_cuda.cu: everything is static. */
#ifndef DOPT_RAGGED_CUDA_CUH
#define DOPT_RAGGED_CUDA_CUH

#include "cuda_check.h"
#include "ragged_ptr.h"

#define DOPT_RAGGED_BLOCK 256

static __global__ void dopt_ragged_check_kernel(const int64_t *var_ptr, const int64_t *con_ptr, int64_t batch,
                                                unsigned long long *first)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch) return;
    if (dopt_ragged_step_check(var_ptr, con_ptr, i) != DOPT_RAGGED_OK) atomicMin(first, (unsigned long long)i);
}

/* out: var_ptr[0], var_ptr[batch], con_ptr[0], con_ptr[batch], the first bad
 * instance (-1: none), its code, and the two offsets of its bad step */
static __global__ void dopt_ragged_ends_kernel(const int64_t *var_ptr, const int64_t *con_ptr, int64_t batch,
                                               const unsigned long long *first, int64_t *out)
{
    out[0] = var_ptr[0];
    out[1] = var_ptr[batch];
    out[2] = con_ptr ? con_ptr[0] : 0;
    out[3] = con_ptr ? con_ptr[batch] : 0;
    out[4] = *first == ~0ull ? -1 : (int64_t)*first;
    out[5] = out[6] = out[7] = 0;
    if (out[4] < 0) return;
    int64_t i = out[4];
    int code = dopt_ragged_step_check(var_ptr, con_ptr, i);
    const int64_t *p = code == DOPT_RAGGED_VAR_DECREASES ? var_ptr : con_ptr;
    out[5] = code;
    out[6] = p[i];
    out[7] = p[i + 1];
}

typedef struct {
    int64_t vars, cons; /* var_ptr[batch], con_ptr[batch] */
} dopt_ragged_totals;

/* DOPT_ERR_INVALID_ARGUMENT naming the array and the instance, or the
 * totals. con_ptr may be NULL (a layout of variables only). Uses the arena,
 * which the caller commits again afterwards (nothing of this plan is read then). */
static dopt_status dopt_ragged_check_cuda(dopt_context *ctx, const char *what, const int64_t *var_ptr,
                                          const int64_t *con_ptr, int64_t batch, dopt_ragged_totals *tot)
{
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    unsigned grid = 1;
    DOPT_TRY(dopt_grid_checked(ctx, what, batch, DOPT_RAGGED_BLOCK, &grid));
    unsigned long long *first = NULL;
    int64_t *out = NULL;
    dopt_scratch_plan plan;
    dopt_scratch_plan_init(&plan, "block batch offsets check (cuda)");
    dopt_scratch_plan_add(&plan, (void **)&first, 1, sizeof(unsigned long long));
    dopt_scratch_plan_add(&plan, (void **)&out, 8, sizeof(int64_t));
    DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
    DOPT_CU(ctx, cudaMemsetAsync(first, 0xFF, sizeof(unsigned long long), s));
    dopt_ragged_check_kernel<<<grid, DOPT_RAGGED_BLOCK, 0, s>>>(var_ptr, con_ptr, batch, first);
    DOPT_CU_LAUNCH(ctx);
    dopt_ragged_ends_kernel<<<1, 1, 0, s>>>(var_ptr, con_ptr, batch, first, out);
    DOPT_CU_LAUNCH(ctx);
    int64_t h[8];
    DOPT_CU(ctx, cudaMemcpyAsync(h, out, sizeof h, cudaMemcpyDeviceToHost, s));
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    char msg[256];
    /* the ends first, as the CPU backend reports them */
    int code = dopt_ragged_ends_check(h[0], h[1], h[2], h[3]);
    if (code != DOPT_RAGGED_OK) {
        long long a = code == DOPT_RAGGED_VAR_START      ? h[0]
                      : code == DOPT_RAGGED_CON_START    ? h[2]
                      : code == DOPT_RAGGED_VAR_TOO_MANY ? h[1]
                                                         : h[3];
        dopt_ragged_message(msg, sizeof msg, what, code, -1, a, 0);
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s", msg);
    }
    if (h[4] >= 0) {
        dopt_ragged_message(msg, sizeof msg, what, (int)h[5], (long long)h[4], (long long)h[6], (long long)h[7]);
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s", msg);
    }
    tot->vars = h[1];
    tot->cons = h[3];
    return DOPT_OK;
}

#endif
