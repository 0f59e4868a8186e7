/* The CPU backend's operations table: host memory and the *_cpu entries. */
#include "internal.h"
#include "backend.h"

#include <stdlib.h>
#include <string.h>

static dopt_status cpu_alloc(dopt_context *ctx, size_t bytes, void **ptr)
{
    *ptr = malloc(bytes);
    if (!*ptr) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "cpu: out of memory for %zu bytes", bytes);
    return DOPT_OK;
}

static void cpu_free(int device, void *ptr)
{
    (void)device;
    free(ptr);
}

/* host to host: the buffers may be the same one (the CLI stages in place) */
static dopt_status cpu_copy(dopt_context *ctx, void *dst, const void *src, size_t bytes)
{
    (void)ctx;
    if (dst != src) memmove(dst, src, bytes);
    return DOPT_OK;
}

static dopt_status cpu_set_zero(dopt_context *ctx, void *ptr, size_t bytes)
{
    (void)ctx;
    memset(ptr, 0, bytes);
    return DOPT_OK;
}

/* calls return when their work is done */
static dopt_status cpu_synchronize(dopt_context *ctx)
{
    (void)ctx;
    return DOPT_OK;
}

const dopt_backend_ops dopt_cpu_backend_ops = {
    .name = "cpu",
    .kind = DOPT_BACKEND_CPU,
    .device_count = NULL,
    .open = NULL,
    .release = NULL,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_copy,
    .download = cpu_copy,
    .copy = cpu_copy,
    .set_zero = cpu_set_zero,
    .synchronize = cpu_synchronize,
    .qp_solve = dopt_qp_solve_cpu,
    .qp_backward = dopt_qp_backward_cpu,
    .qp_ragged_solve = dopt_qp_ragged_solve_cpu,
    .qp_ragged_backward = dopt_qp_ragged_backward_cpu,
    .qp_ragged_move = dopt_qp_ragged_move_cpu,
    .bern_eval = dopt_bern_eval_cpu,
    .bern_round = dopt_bern_round_cpu,
    .diffusion_step = dopt_diffusion_step_cpu,
    .diffusion_noise = dopt_diffusion_noise_cpu,
    .srg_target = dopt_srg_target_cpu,
    .diffusion_candidates = dopt_diffusion_candidates_cpu,
    .ilp_solve = dopt_ilp_solve_cpu,
    .ilp_grad = dopt_ilp_grad_cpu,
    .ilp_reduce = dopt_ilp_reduce_cpu,
    .bern_eval_blocks = dopt_bern_eval_blocks_cpu,
    .bern_round_blocks = dopt_bern_round_blocks_cpu,
    .diffusion_step_blocks = dopt_diffusion_step_blocks_cpu,
    .diffusion_noise_blocks = dopt_diffusion_noise_blocks_cpu,
    .srg_target_blocks = dopt_srg_target_blocks_cpu,
    .diffusion_candidates_blocks = dopt_diffusion_candidates_blocks_cpu,
    .qp_memory = dopt_qp_memory_cpu,
    .cone_solve = dopt_cone_solve_cpu,
    .cone_backward = dopt_cone_backward_cpu,
#ifdef DOPT_HAVE_CHOLMOD
    .sparse_qp_analyze = dopt_sparse_qp_analyze_cpu,
    .sparse_qp_structure_free = dopt_sparse_qp_structure_free_cpu,
    .sparse_qp_solve = dopt_sparse_qp_solve_cpu,
    .sparse_qp_backward = dopt_sparse_qp_backward_cpu,
    .sparse_qp_tape_free = dopt_sparse_qp_tape_free_cpu,
#endif
};
