/* Private to the library: the context, the thread pool, the tape, and the
 * contract every backend implements (one function per public entry). */
#ifndef DOPT_INTERNAL_H
#define DOPT_INTERNAL_H

#include "dopt.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dopt_context {
    dopt_backend backend; /* resolved: CPU or CUDA */
    int threads;          /* 0 = all processors */
    int cuda_device;
    void *cuda_stream;
    dopt_log_fn log;
    void *log_user;
    void *cuda_private; /* library handles of the CUDA backend */
    char error[1024];
};

/* Records a message (printf-style) and returns status. */
dopt_status dopt_fail(dopt_context *ctx, dopt_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void dopt_log(const dopt_context *ctx, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Runs fn over [0, count) in chunks of `grain`, dynamically scheduled over
 * `threads` workers (0 = all processors). worker is in [0, workers). The
 * partition never affects results: callers write disjoint outputs. */
typedef void (*dopt_range_fn)(void *arg, int64_t begin, int64_t end, int worker);
int dopt_worker_count(int threads, int64_t count, int64_t grain);
void dopt_parallel_for(int workers, int64_t count, int64_t grain, dopt_range_fn fn, void *arg);

/* ---- QP ---- */
struct dopt_qp_tape {
    dopt_backend backend;
    dopt_qp_problem prob;
    dopt_qp_options opt;
    size_t work_per_instance; /* elements */
    void *work;               /* batch * work_per_instance: factors at the solution */
    void *x, *lam, *nu;       /* copies of the solution */
    int32_t *status;
    /* bytes allocated behind each pointer: a tape passed back to
     * dopt_qp_solve is refilled in place, growing only when needed */
    size_t cap_work, cap_x, cap_lam, cap_nu, cap_status;
    void *adjoint; /* backward scratch (dx, dlam~, dnu per instance), kept for reuse */
    size_t cap_adjoint;
};

/* Makes *buf hold at least `bytes` (host memory); 0 on failure. */
int dopt_host_reserve(void **buf, size_t *cap, size_t bytes);

dopt_status dopt_qp_validate(dopt_context *ctx, const dopt_qp_problem *prob,
                             const dopt_qp_options *opt, dopt_qp_options *resolved);

dopt_status dopt_qp_solve_cpu(dopt_context *ctx, const dopt_qp_problem *prob,
                              const dopt_qp_options *opt, dopt_qp_solution *sol, dopt_qp_tape *tape);
dopt_status dopt_qp_backward_cpu(dopt_context *ctx, const dopt_qp_tape *tape,
                                 const dopt_qp_grad_in *gin, dopt_qp_grad_out *gout);

/* Returns the status of `call` from the enclosing function unless it is DOPT_OK. */
#define DOPT_TRY(call)                \
    do {                              \
        dopt_status s_ = (call);      \
        if (s_ != DOPT_OK) return s_; \
    } while (0)

/* ---- Bernoulli surrogate ---- */
dopt_status dopt_bern_eval_cpu(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat,
                               const dopt_bern_options *o, dopt_bern_result *res);
dopt_status dopt_bern_round_cpu(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat, void *x,
                                int32_t *status);
dopt_status dopt_bern_eval_cuda(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat,
                                const dopt_bern_options *o, dopt_bern_result *res);
dopt_status dopt_bern_round_cuda(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat, void *x,
                                 int32_t *status);

/* ---- diffusion ---- */
#define DOPT_DIFFUSION_PROTOS(SUFFIX)                                                                             \
    dopt_status dopt_diffusion_step_##SUFFIX(dopt_context *ctx, const dopt_diffusion_step_desc *st, int64_t rows,  \
                                            int32_t n, dopt_dtype dt, void *x, void *eps_hat,                     \
                                            const dopt_milp_batch *guide, const dopt_guidance *g);                \
    dopt_status dopt_diffusion_noise_##SUFFIX(dopt_context *ctx, int64_t rows, int32_t n, dopt_dtype dt,          \
                                             const void *x0, double abar_t, uint64_t seed, uint32_t step,         \
                                             void *xt, void *eps);                                                \
    dopt_status dopt_srg_target_##SUFFIX(dopt_context *ctx, const dopt_milp_batch *guide, const dopt_guidance *g,  \
                                        const void *xt, const void *eps, double abar_t, int round, void *target); \
    dopt_status dopt_diffusion_candidates_##SUFFIX(dopt_context *ctx, const dopt_milp_batch *guide, const void *x, \
                                                  int round, double feas_tol, void *objective, void *violation,   \
                                                  int32_t *best, void *best_x);
DOPT_DIFFUSION_PROTOS(cpu)
DOPT_DIFFUSION_PROTOS(cuda)

/* CUDA backend (src/cuda); stubs answering DOPT_ERR_UNSUPPORTED when not built. */
int dopt_cuda_device_count(void);
dopt_status dopt_qp_solve_cuda(dopt_context *ctx, const dopt_qp_problem *prob,
                               const dopt_qp_options *opt, dopt_qp_solution *sol, dopt_qp_tape *tape);
dopt_status dopt_qp_backward_cuda(dopt_context *ctx, const dopt_qp_tape *tape,
                                  const dopt_qp_grad_in *gin, dopt_qp_grad_out *gout);
void dopt_cuda_free(void *device_ptr);
void dopt_cuda_context_release(dopt_context *ctx);
/* Staging for callers holding host arrays (the CLI, tests): NULL / nonzero on failure. */
void *dopt_cuda_alloc(size_t bytes);
int dopt_cuda_upload(void *device_dst, const void *host_src, size_t bytes);
int dopt_cuda_download(void *host_dst, const void *device_src, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
