/* The backend operations table: everything a backend (CPU, CUDA) provides,
 * as one struct of function pointers. A context picks its table when it is
 * created (ctx->ops); the layer entry points (src/layers) check arguments
 * and call through the table, never a backend by name. docs/BACKEND.md is
 * the contract of every entry.
 *
 * A NULL entry means "this backend does not implement it": DOPT_CALL turns
 * it into DOPT_ERR_UNSUPPORTED with a message, the one place that decides. */
#ifndef DOPT_BACKEND_H
#define DOPT_BACKEND_H

#include "dopt.h"
#include "ilp_backend.h" /* ilp_view, ilp_grad_args, ilp_out, ilp_block */

#ifdef __cplusplus
extern "C" {
#endif

/* The layer entries' signatures, written once: the table's fields and both
 * backends' functions are declared with them. */
typedef dopt_status dopt_qp_solve_entry(dopt_context *ctx, const dopt_qp_problem *prob, const dopt_qp_options *opt,
                                        dopt_qp_solution *sol, dopt_qp_tape *tape);
typedef dopt_status dopt_qp_backward_entry(dopt_context *ctx, const dopt_qp_tape *tape, const dopt_qp_grad_in *gin,
                                           dopt_qp_grad_out *gout);
/* Ragged QP batches: the layer's plan (sizes, offsets, order; host memory,
 * src/layers/qp_ragged.h) comes with the problem. The backward finds the
 * plan in the tape (tape->ragged). */
struct dopt_qp_ragged_layout;
typedef dopt_status dopt_qp_ragged_solve_entry(dopt_context *ctx, const dopt_qp_ragged_problem *prob,
                                               const struct dopt_qp_ragged_layout *plan, const dopt_qp_options *opt,
                                               dopt_qp_solution *sol, dopt_qp_tape *tape);
/* One pad-and-gather or scatter between a ragged batch and a size class's
 * uniform batch (struct dopt_qp_ragged_move, src/layers/qp_ragged.h). */
struct dopt_qp_ragged_move;
typedef dopt_status dopt_qp_ragged_move_entry(dopt_context *ctx, const struct dopt_qp_ragged_move *mv);
/* The cone layer: the tape is the layer's (src/layers/cone_tape.h), its
 * buffers allocated by the layer in the backend's memory. */
typedef dopt_status dopt_cone_solve_entry(dopt_context *ctx, const dopt_cone_problem *prob,
                                          const dopt_cone_options *opt, dopt_cone_solution *sol,
                                          dopt_cone_tape *tape);
typedef dopt_status dopt_cone_backward_entry(dopt_context *ctx, const dopt_cone_tape *tape,
                                             const dopt_cone_grad_in *gin, dopt_cone_grad_out *gout);
typedef dopt_status dopt_bern_eval_entry(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat,
                                         const dopt_bern_options *o, dopt_bern_result *res);
typedef dopt_status dopt_bern_round_entry(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat, void *x,
                                          int32_t *status);
typedef dopt_status dopt_bern_eval_blocks_entry(dopt_context *ctx, const dopt_bern_blocks *P, const void *xhat,
                                                const dopt_bern_options *o, dopt_bern_result *res);
typedef dopt_status dopt_bern_round_blocks_entry(dopt_context *ctx, const dopt_bern_blocks *P, const void *xhat,
                                                 void *x, int32_t *status);
typedef dopt_status dopt_diffusion_step_entry(dopt_context *ctx, const dopt_diffusion_step_desc *st, int64_t rows,
                                              int32_t n, dopt_dtype dt, void *x, void *eps_hat,
                                              const dopt_diffusion_guide *guide, const dopt_guidance *g);
typedef dopt_status dopt_diffusion_noise_entry(dopt_context *ctx, int64_t rows, int32_t n, dopt_dtype dt,
                                               const void *x0, double abar_t, uint64_t seed, uint32_t step, void *xt,
                                               void *eps);
typedef dopt_status dopt_srg_target_entry(dopt_context *ctx, const dopt_diffusion_guide *guide,
                                          const dopt_guidance *g, const void *xt, const void *eps, double abar_t,
                                          int round, void *target);
typedef dopt_status dopt_diffusion_candidates_entry(dopt_context *ctx, const dopt_diffusion_guide *guide,
                                                    const void *x, int round, double feas_tol, void *objective,
                                                    void *violation, int32_t *best, void *best_x);
typedef dopt_status dopt_diffusion_step_blocks_entry(dopt_context *ctx, const dopt_diffusion_step_desc *st,
                                                     const dopt_diffusion_blocks *P, void *x, void *eps_hat,
                                                     const dopt_guidance *g);
typedef dopt_status dopt_diffusion_noise_blocks_entry(dopt_context *ctx, const dopt_diffusion_blocks *P, const void *x0,
                                                      double abar_t, uint64_t seed, uint32_t step, void *xt,
                                                      void *eps);
typedef dopt_status dopt_srg_target_blocks_entry(dopt_context *ctx, const dopt_diffusion_blocks *P,
                                                 const dopt_guidance *g, const void *xt, const void *eps,
                                                 double abar_t, int round, void *target);
typedef dopt_status dopt_diffusion_candidates_blocks_entry(dopt_context *ctx, const dopt_diffusion_blocks *P,
                                                           const void *x, int round, double feas_tol, void *objective,
                                                           void *violation, int32_t *best, void *best_x);
typedef dopt_status dopt_ilp_solve_entry(dopt_context *ctx, const ilp_view *v, const dopt_ilp_options *o,
                                         const ilp_out *out);
typedef dopt_status dopt_ilp_grad_entry(dopt_context *ctx, const ilp_view *v, const ilp_grad_args *ga, int64_t batch);
typedef dopt_status dopt_ilp_reduce_entry(dopt_context *ctx, const ilp_block *blk);
/* The memory a qp_solve of `prob` takes in the backend's memory: `fixed`
 * bytes whatever the batch, `per_instance` more per instance of the call,
 * and `tape_per_instance` per instance kept by a tape when one is recorded.
 * The layer sizes chunks under a memory cap with it (qp_chunked.c); an
 * estimate, not a promise: a chunk the cap still refuses is halved. */
typedef struct dopt_qp_memory_need {
    size_t fixed, per_instance, tape_per_instance;
} dopt_qp_memory_need;
typedef void dopt_qp_memory_entry(const dopt_context *ctx, const dopt_qp_problem *prob, int with_tape,
                                  dopt_qp_memory_need *need);

/* The sparse QP layer (src/layers/sparse_qp_internal.h): analyze fills
 * s->backend from the layer-built patterns; the free entries release what
 * the backend put in a structure or a tape (tape->factors). */
typedef dopt_status dopt_sparse_qp_analyze_entry(dopt_context *ctx, dopt_sparse_qp_structure *s);
typedef void dopt_sparse_qp_structure_free_entry(dopt_sparse_qp_structure *s);
/* solve and backward take groups (dopt_sparse_qp_solve_groups), checked by
 * the layer: the backend runs all their instances in one parallel loop.
 * tapes[g] (NULL: no tape) is prepared by the layer (ops, S set). */
typedef dopt_status dopt_sparse_qp_solve_entry(dopt_context *ctx, int64_t count, const dopt_sparse_qp_group *groups,
                                               const dopt_qp_options *opt, dopt_sparse_qp_tape *const *tapes);
typedef dopt_status dopt_sparse_qp_backward_entry(dopt_context *ctx, int64_t count,
                                                  const dopt_sparse_qp_group_grad *groups);
typedef void dopt_sparse_qp_tape_free_entry(dopt_sparse_qp_tape *tape);

typedef struct dopt_backend_ops {
    const char *name;  /* "cpu", "cuda": messages and logs */
    dopt_backend kind; /* what dopt_context_backend reports */

    /* ---- devices (NULL for the CPU) ---- */
    /* Number of usable devices; 0 when none (no driver, no GPU). */
    int (*device_count)(void);
    /* Readies ctx's device (ctx->cuda_device) for this backend: checks that
     * kernels run there. DOPT_ERR_NO_DEVICE with a message when they cannot. */
    dopt_status (*open)(dopt_context *ctx);
    /* Frees the per-context state the backend created (library handles).
     * The scratch arena is freed by the core, through `free`. */
    void (*release)(dopt_context *ctx);

    /* ---- memory where the backend computes ---- */
    dopt_status (*alloc)(dopt_context *ctx, size_t bytes, void **ptr); /* bytes >= 1 */
    /* `device` is the ordinal the memory was allocated on (tapes outlive
     * their context); the CPU ignores it. ptr may be NULL. */
    void (*free)(int device, void *ptr);
    dopt_status (*upload)(dopt_context *ctx, void *dst, const void *host_src, size_t bytes);
    dopt_status (*download)(dopt_context *ctx, void *host_dst, const void *src, size_t bytes);
    dopt_status (*copy)(dopt_context *ctx, void *dst, const void *src, size_t bytes);
    dopt_status (*set_zero)(dopt_context *ctx, void *ptr, size_t bytes);
    /* Waits until the work queued by this context's calls has finished. */
    dopt_status (*synchronize)(dopt_context *ctx);

    /* ---- layers: arguments already checked by src/layers ---- */
    dopt_qp_solve_entry *qp_solve;
    dopt_qp_backward_entry *qp_backward;
    dopt_qp_ragged_solve_entry *qp_ragged_solve;
    dopt_qp_backward_entry *qp_ragged_backward; /* a tape with tape->ragged set */
    dopt_qp_ragged_move_entry *qp_ragged_move;  /* the grouped path's pad and scatter */
    dopt_bern_eval_entry *bern_eval;
    dopt_bern_round_entry *bern_round;
    dopt_diffusion_step_entry *diffusion_step;
    dopt_diffusion_noise_entry *diffusion_noise;
    dopt_srg_target_entry *srg_target;
    dopt_diffusion_candidates_entry *diffusion_candidates;
    dopt_ilp_solve_entry *ilp_solve;
    dopt_ilp_grad_entry *ilp_grad;
    dopt_ilp_reduce_entry *ilp_reduce;

    /* ---- block-diagonal (ragged) batches: Bernoulli surrogate, diffusion ---- */
    dopt_bern_eval_blocks_entry *bern_eval_blocks;
    dopt_bern_round_blocks_entry *bern_round_blocks;
    dopt_diffusion_step_blocks_entry *diffusion_step_blocks;
    dopt_diffusion_noise_blocks_entry *diffusion_noise_blocks;
    dopt_srg_target_blocks_entry *srg_target_blocks;
    dopt_diffusion_candidates_blocks_entry *diffusion_candidates_blocks;
    /* ---- cone programs ---- */
    dopt_cone_solve_entry *cone_solve;
    dopt_cone_backward_entry *cone_backward;
    /* ---- queries (NULL: the layer assumes nothing and never chunks) ---- */
    dopt_qp_memory_entry *qp_memory;
    /* ---- sparse QP (NULL: DOPT_ERR_UNSUPPORTED; CUDA not built yet) ---- */
    dopt_sparse_qp_analyze_entry *sparse_qp_analyze;
    dopt_sparse_qp_structure_free_entry *sparse_qp_structure_free;
    dopt_sparse_qp_solve_entry *sparse_qp_solve;
    dopt_sparse_qp_backward_entry *sparse_qp_backward;
    dopt_sparse_qp_tape_free_entry *sparse_qp_tape_free;
} dopt_backend_ops;

/* The tables. The CUDA one exists only when the CUDA backend is built in
 * (DOPT_HAVE_CUDA); nothing outside src/core names it. */
extern const dopt_backend_ops dopt_cpu_backend_ops;
#ifdef DOPT_HAVE_CUDA
extern const dopt_backend_ops dopt_cuda_backend_ops;
#endif

/* Records "<entry>: not supported by the <name> backend" and returns
 * DOPT_ERR_UNSUPPORTED. */
dopt_status dopt_unsupported(dopt_context *ctx, const char *entry);

/* Calls table entry `entry` of ctx's backend with (ctx, ...), or reports
 * DOPT_ERR_UNSUPPORTED when the backend leaves it NULL. A context with a
 * submitted job pending belongs to its job thread (dopt_async.h): a call
 * from another thread is refused here too, the backstop for entry points
 * without their own DOPT_NOT_BUSY check (no work, no arena, no pool). */
#define DOPT_CALL(ctx, entry, ...)                                                                   \
    (dopt_context_busy(ctx) ? DOPT_ERR_INVALID_ARGUMENT                                             \
     : (ctx)->ops->entry    ? (ctx)->ops->entry((ctx), __VA_ARGS__)                                  \
                            : dopt_unsupported((ctx), #entry))

/* ---- the CPU backend's entries (src/cpu) ---- */
dopt_qp_solve_entry dopt_qp_solve_cpu;
dopt_qp_backward_entry dopt_qp_backward_cpu;
dopt_qp_ragged_solve_entry dopt_qp_ragged_solve_cpu;
dopt_qp_backward_entry dopt_qp_ragged_backward_cpu;
dopt_qp_ragged_move_entry dopt_qp_ragged_move_cpu;
dopt_bern_eval_entry dopt_bern_eval_cpu;
dopt_bern_round_entry dopt_bern_round_cpu;
dopt_bern_eval_blocks_entry dopt_bern_eval_blocks_cpu;
dopt_bern_round_blocks_entry dopt_bern_round_blocks_cpu;
dopt_diffusion_step_blocks_entry dopt_diffusion_step_blocks_cpu;
dopt_diffusion_noise_blocks_entry dopt_diffusion_noise_blocks_cpu;
dopt_srg_target_blocks_entry dopt_srg_target_blocks_cpu;
dopt_diffusion_candidates_blocks_entry dopt_diffusion_candidates_blocks_cpu;
dopt_diffusion_step_entry dopt_diffusion_step_cpu;
dopt_diffusion_noise_entry dopt_diffusion_noise_cpu;
dopt_srg_target_entry dopt_srg_target_cpu;
dopt_diffusion_candidates_entry dopt_diffusion_candidates_cpu;
dopt_ilp_solve_entry dopt_ilp_solve_cpu;
dopt_ilp_grad_entry dopt_ilp_grad_cpu;
dopt_ilp_reduce_entry dopt_ilp_reduce_cpu;
dopt_qp_memory_entry dopt_qp_memory_cpu;
dopt_cone_solve_entry dopt_cone_solve_cpu;
dopt_cone_backward_entry dopt_cone_backward_cpu;
#ifdef DOPT_HAVE_CHOLMOD
dopt_sparse_qp_analyze_entry dopt_sparse_qp_analyze_cpu;
dopt_sparse_qp_structure_free_entry dopt_sparse_qp_structure_free_cpu;
dopt_sparse_qp_solve_entry dopt_sparse_qp_solve_cpu;
dopt_sparse_qp_backward_entry dopt_sparse_qp_backward_cpu;
dopt_sparse_qp_tape_free_entry dopt_sparse_qp_tape_free_cpu;
#endif

/* ---- the CUDA backend's entries (src/cuda; wrapped by cuda_backend.cu) ---- */
#ifdef DOPT_HAVE_CUDA
dopt_qp_solve_entry dopt_qp_solve_cuda;
dopt_qp_backward_entry dopt_qp_backward_cuda;
dopt_qp_ragged_move_entry dopt_qp_ragged_move_cuda;
dopt_bern_eval_entry dopt_bern_eval_cuda;
dopt_bern_round_entry dopt_bern_round_cuda;
dopt_diffusion_step_entry dopt_diffusion_step_cuda;
dopt_diffusion_noise_entry dopt_diffusion_noise_cuda;
dopt_srg_target_entry dopt_srg_target_cuda;
dopt_diffusion_candidates_entry dopt_diffusion_candidates_cuda;
dopt_ilp_solve_entry dopt_ilp_solve_cuda;
dopt_ilp_grad_entry dopt_ilp_grad_cuda;
dopt_ilp_reduce_entry dopt_ilp_reduce_cuda;
dopt_bern_eval_blocks_entry dopt_bern_eval_blocks_cuda;
dopt_bern_round_blocks_entry dopt_bern_round_blocks_cuda;
dopt_diffusion_step_blocks_entry dopt_diffusion_step_blocks_cuda;
dopt_diffusion_noise_blocks_entry dopt_diffusion_noise_blocks_cuda;
dopt_srg_target_blocks_entry dopt_srg_target_blocks_cuda;
dopt_diffusion_candidates_blocks_entry dopt_diffusion_candidates_blocks_cuda;
dopt_qp_memory_entry dopt_qp_memory_cuda;
dopt_cone_solve_entry dopt_cone_solve_cuda;
dopt_cone_backward_entry dopt_cone_backward_cuda;
/* cuda_runtime.cu: device discovery and the context's library handles */
int dopt_cuda_device_count(void);
void dopt_cuda_context_release(dopt_context *ctx);
#endif

#ifdef __cplusplus
}
#endif
#endif
