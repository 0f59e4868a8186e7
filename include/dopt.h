/* dopt: batched, differentiable solvers for thousands of small optimization
 * problems per call, on the CPU and on CUDA GPUs.
 *
 * Conventions (all functions):
 *  - Every call returns a dopt_status; on failure a message is kept in the
 *    context (dopt_context_last_error). The library never prints, never exits.
 *  - Arrays are batch-major and contiguous, row-major inside an instance.
 *  - Array pointers live where the context's backend computes: host memory
 *    for DOPT_BACKEND_CPU, device memory for DOPT_BACKEND_CUDA.
 *  - Each instance has its own outcome (dopt_instance_status); one bad
 *    instance never disturbs the others. */
#ifndef DOPT_H
#define DOPT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(DOPT_SHARED_BUILD)
#define DOPT_API __declspec(dllexport)
#elif defined(__GNUC__)
#define DOPT_API __attribute__((visibility("default")))
#else
#define DOPT_API
#endif

/* ---- call status ------------------------------------------------------- */
typedef enum dopt_status {
    DOPT_OK = 0,
    DOPT_ERR_INVALID_ARGUMENT = 1, /* null pointer, bad size, bad option */
    DOPT_ERR_OUT_OF_MEMORY = 2,
    DOPT_ERR_UNSUPPORTED = 3,      /* e.g. CUDA backend not built in */
    DOPT_ERR_NO_DEVICE = 4,        /* CUDA built in, but no usable GPU */
    DOPT_ERR_CUDA = 5,             /* a CUDA runtime or library call failed */
    DOPT_ERR_INTERNAL = 6
} dopt_status;

DOPT_API const char *dopt_status_string(dopt_status status);

/* ---- per-instance outcome (the values of status.npy in the CLI) -------- */
typedef enum dopt_instance_status {
    DOPT_SOLVED = 0,            /* optimal to the requested tolerance */
    DOPT_PRIMAL_INFEASIBLE = 1, /* certificate found: lam, nu hold it */
    DOPT_DUAL_INFEASIBLE = 2,   /* unbounded: x holds a recession direction */
    DOPT_ITERATION_LIMIT = 3,   /* x, lam, nu hold the last iterate */
    DOPT_NUMERICAL_FAILURE = 4, /* factorization failed even regularized */
    DOPT_INVALID_DATA = 5       /* NaN/Inf in the data, or Q not PSD */
} dopt_instance_status;

DOPT_API const char *dopt_instance_status_string(int status);

/* ---- context -------------------------------------------------------------- */
typedef enum dopt_backend {
    DOPT_BACKEND_CPU = 0,
    DOPT_BACKEND_CUDA = 1,
    DOPT_BACKEND_AUTO = 2 /* CUDA when built in and a device is present, else CPU */
} dopt_backend;

typedef enum dopt_dtype { DOPT_FLOAT32 = 0, DOPT_FLOAT64 = 1 } dopt_dtype;

typedef struct dopt_context dopt_context;

/* Log levels passed to the callback. */
enum { DOPT_LOG_ERROR = 0, DOPT_LOG_WARN = 1, DOPT_LOG_INFO = 2 };
typedef void (*dopt_log_fn)(void *user, int level, const char *message);

/* Creates a context. DOPT_BACKEND_CUDA fails with DOPT_ERR_UNSUPPORTED when
 * the library was built without CUDA and DOPT_ERR_NO_DEVICE without a GPU;
 * *ctx is still created (on the CPU) so the message can be read, and must
 * be destroyed. */
DOPT_API dopt_status dopt_context_create(dopt_context **ctx, dopt_backend backend);
DOPT_API void dopt_context_destroy(dopt_context *ctx);
/* The backend calls run on (AUTO resolved). */
DOPT_API dopt_backend dopt_context_backend(const dopt_context *ctx);
/* CPU worker threads; 0 = all online processors (default). Set 1 when the
 * host framework already parallelizes over calls. */
DOPT_API dopt_status dopt_context_set_threads(dopt_context *ctx, int threads);
DOPT_API int dopt_context_threads(const dopt_context *ctx);
/* CUDA device ordinal and stream (a cudaStream_t, NULL = legacy default). */
DOPT_API dopt_status dopt_context_set_cuda_device(dopt_context *ctx, int device);
DOPT_API dopt_status dopt_context_set_cuda_stream(dopt_context *ctx, void *stream);
DOPT_API void dopt_context_set_log(dopt_context *ctx, dopt_log_fn fn, void *user);
/* Message of the last failed call on this context ("" if none). */
DOPT_API const char *dopt_context_last_error(const dopt_context *ctx);
/* 1 when the CUDA backend is built in and a device is visible. */
DOPT_API int dopt_cuda_available(void);
DOPT_API const char *dopt_version(void);

/* ---- QP / LP layer ---------------------------------------------------------
 *   minimize 1/2 x'Qx + p'x  subject to  Gx <= h,  Ax = b      (per instance)
 * Shapes (per instance): Q n x n, p n, G m x n, h m, A k x n, b k.
 * A parameter whose bit is set in `shared` is one copy for the whole batch;
 * otherwise it has a leading batch dimension. Q may be NULL (an LP); Q must be
 * positive semidefinite (only its symmetric part is used). h may contain
 * +inf: that row is absent for that instance. m = 0 or k = 0 are allowed
 * (G, h or A, b then NULL). */
enum {
    DOPT_QP_SHARE_Q = 1u << 0,
    DOPT_QP_SHARE_P = 1u << 1,
    DOPT_QP_SHARE_G = 1u << 2,
    DOPT_QP_SHARE_H = 1u << 3,
    DOPT_QP_SHARE_A = 1u << 4,
    DOPT_QP_SHARE_B = 1u << 5
};

typedef struct dopt_qp_problem {
    int64_t batch;
    int32_t n, m, k;
    dopt_dtype dtype;
    const void *Q, *p, *G, *h, *A, *b;
    uint32_t shared; /* DOPT_QP_SHARE_* bits */
} dopt_qp_problem;

typedef struct dopt_qp_options {
    double tol;      /* relative KKT residual and gap; default 1e-8 (f64), 1e-4 (f32) */
    double tol_inf;  /* infeasibility certificates; default 1e-9 (f64), 1e-6 (f32) */
    int32_t max_iter; /* default 50 */
    int32_t refine;  /* iterative refinement steps per KKT solve; default 2 (backward: +3) */
} dopt_qp_options;

/* Fills the defaults for a dtype. Zero fields passed to dopt_qp_solve also
 * mean "default". */
DOPT_API void dopt_qp_options_default(dopt_qp_options *opt, dopt_dtype dtype);

/* Outputs, caller-allocated in the backend's memory: x (batch,n), lam
 * (batch,m), nu (batch,k) of the problem's dtype; status and iters (batch)
 * int32. lam/nu may be NULL when m/k are 0; iters may be NULL. */
typedef struct dopt_qp_solution {
    void *x, *lam, *nu;
    int32_t *status, *iters;
} dopt_qp_solution;

/* What the backward pass needs: the factorization of each instance's KKT
 * system at its solution, and copies of x, lam, nu. It refers to the
 * problem's arrays, which must stay alive and unchanged until the tape is
 * destroyed. */
typedef struct dopt_qp_tape dopt_qp_tape;

/* Solves the batch. With tape != NULL, also records *tape for
 * dopt_qp_backward (memory: batch * (2n^2 + kn + k^2 + 2m + 1) values: the
 * factorization at the solution; the rest of the workspace is per thread).
 * *tape must be NULL or a tape from an earlier call, which is then refilled
 * in place (its memory reused, grown only when needed): in a training loop,
 * keep one tape per layer and pass it every step. */
DOPT_API dopt_status dopt_qp_solve(dopt_context *ctx, const dopt_qp_problem *prob,
                                   const dopt_qp_options *opt, dopt_qp_solution *sol,
                                   dopt_qp_tape **tape);

/* Incoming gradients dL/dx (batch,n), optional dL/dlam (batch,m), dL/dnu (batch,k). */
typedef struct dopt_qp_grad_in {
    const void *dx, *dlam, *dnu;
} dopt_qp_grad_in;

/* Outgoing gradients, each optional (NULL = not wanted), shaped like the
 * corresponding parameter: a shared parameter gets the sum over the batch.
 * Instances that were not solved contribute zero. */
typedef struct dopt_qp_grad_out {
    void *dQ, *dp, *dG, *dh, *dA, *db;
} dopt_qp_grad_out;

/* Implicit differentiation of the KKT conditions at the solution (OptNet),
 * reusing the forward's factorization. The tape can be used repeatedly. */
DOPT_API dopt_status dopt_qp_backward(dopt_context *ctx, const dopt_qp_tape *tape,
                                      const dopt_qp_grad_in *gin, dopt_qp_grad_out *gout);
DOPT_API void dopt_qp_tape_destroy(dopt_qp_tape *tape);

/* ---- Bernoulli surrogate of binary ILPs (DiffILO, with correct gradients) ----
 * For  min c'x  s.t.  Ax <= b,  x in {0,1}^n  and relaxed probabilities
 * xhat in (0,1)^n per instance, samples x_j = 1[logit(xhat_j) + logit(eps_j)
 * >= 0] (eps from Philox: the same numbers on every backend and thread count)
 * estimate  F(xhat) = c'xhat + mu sum_i E[max(a_i'x - b_i, 0)]  and its
 * gradient. See docs/BERNOULLI.md. */
typedef enum dopt_bern_estimator {
    DOPT_BERN_UNBIASED = 0,  /* default: exact difference in each x_j (local expectation), unbiased */
    DOPT_BERN_REINFORCE = 1, /* score function with a leave-one-out baseline, unbiased */
    DOPT_BERN_DIFFILO = 2,   /* as published (Geng et al. 2025): biased, its mean is not a gradient */
    DOPT_BERN_EXACT = 3      /* enumerates {0,1}^n, n <= 16: the reference */
} dopt_bern_estimator;

enum { DOPT_BERN_SHARE_A = 1u << 0, DOPT_BERN_SHARE_B = 1u << 1, DOPT_BERN_SHARE_C = 1u << 2 };

typedef struct dopt_bern_problem {
    int64_t batch;
    int32_t n, m;
    dopt_dtype dtype;
    /* A: dense (A != NULL: (batch, m, n) or (m, n) shared) or CSR (A == NULL):
     * row_ptr (batch, m+1) or (m+1) shared, absolute offsets into col_idx and
     * values. CSR and dense give identical results. */
    const void *A;
    const int64_t *row_ptr;
    const int32_t *col_idx;
    const void *values;
    const void *b; /* (batch, m) or (m) shared */
    const void *c; /* (batch, n), (n) shared, or NULL (0) */
    uint32_t shared; /* DOPT_BERN_SHARE_* */
} dopt_bern_problem;

typedef struct dopt_bern_options {
    dopt_bern_estimator estimator;
    int32_t samples; /* K per instance; default 64 */
    uint64_t seed;
    double mu;       /* penalty weight; 0 = default 1 */
    int32_t logits;  /* 1: input is logit(xhat) and the gradient is with respect to it */
} dopt_bern_options;

/* Outputs (backend memory, dtype of the problem): loss (batch), grad (batch,
 * n); loss_se, grad_se (standard errors from the samples) may be NULL and are
 * 0 for DOPT_BERN_EXACT; status (batch) int32: 0 ok, 5 invalid data (xhat
 * outside (0,1), non-finite data, bad column index), whose outputs are NaN. */
typedef struct dopt_bern_result {
    void *loss, *grad, *loss_se, *grad_se;
    int32_t *status;
} dopt_bern_result;

DOPT_API void dopt_bern_options_default(dopt_bern_options *opt);
DOPT_API dopt_status dopt_bern_eval(dopt_context *ctx, const dopt_bern_problem *prob, const void *xhat,
                                    const dopt_bern_options *opt, dopt_bern_result *res);
/* Rounds at 1/2 and repairs greedily (docs/BERNOULLI.md): x (batch, n) of
 * 0/1 in the problem's dtype; status 0 feasible, 1 not repaired, 5 invalid. */
DOPT_API dopt_status dopt_bern_round(dopt_context *ctx, const dopt_bern_problem *prob, const void *xhat, void *x,
                                     int32_t *status);
/* mu at a training step: mu0 * growth^step, capped at mu_max. */
DOPT_API double dopt_bern_mu_schedule(int64_t step, double mu0, double growth, double mu_max);

/* ---- diffusion sampling for MILP solutions (SRG) ----------------------------
 * The caller's network predicts the noise eps_hat(x_t, t) of every row of a
 * (rows, n) state between steps; dopt runs the reverse steps (DDPM, DDIM),
 * SRG's Lagrangian guidance, its training targets, and candidate selection.
 * Noise comes from Philox: a pure function of (seed, row, step), so results
 * are bitwise the same for every thread count. Sign conventions:
 * docs/DIFFUSION.md. Constraints follow SRG: A x >= b. */
typedef enum dopt_schedule { DOPT_SCHEDULE_LINEAR = 0, DOPT_SCHEDULE_COSINE = 1 } dopt_schedule;
typedef enum dopt_sampler { DOPT_SAMPLER_DDPM = 0, DOPT_SAMPLER_DDIM = 1 } dopt_sampler;

/* abar (T+1 values, host memory): abar[0] = 1, abar[t] = prod_{s<=t}(1 - beta_s).
 * Linear: beta from 1e-4 to 0.02 (Ho et al.); cosine: Nichol & Dhariwal
 * (offset 0.008, beta capped at 0.999). */
DOPT_API dopt_status dopt_diffusion_schedule(dopt_schedule kind, int32_t T, double *abar);

enum { DOPT_MILP_SHARE_A = 1u << 0, DOPT_MILP_SHARE_B = 1u << 1, DOPT_MILP_SHARE_C = 1u << 2 };

/* A batch of MILPs (A x >= b, objective c) for guidance and candidates; row
 * r of a (rows, n) state belongs to instance r / samples. */
typedef struct dopt_milp_batch {
    int64_t batch;
    int32_t n, m, samples;
    dopt_dtype dtype;
    const int64_t *row_ptr; /* CSR: (batch, m+1), or (m+1) shared; absolute offsets */
    const int32_t *col_idx;
    const void *values;
    const void *b;    /* (batch, m) or (m) shared */
    const void *c;    /* (batch, n) or (n) shared */
    const void *xref; /* (batch, n) reference solution x* for O, or NULL (no O term) */
    uint32_t shared;  /* DOPT_MILP_SHARE_* */
} dopt_milp_batch;

typedef struct dopt_guidance {
    double gamma_o, gamma_c; /* weights of O(x) = |c.*(x - x*)|_1 and P(x) = lambda |max(b - Ax, 0)|_1 */
    double lambda;
} dopt_guidance;

typedef struct dopt_diffusion_step_desc {
    dopt_sampler sampler;
    const double *abar; /* host, from dopt_diffusion_schedule */
    int32_t t, t_prev;  /* DDPM: t_prev = t - 1; DDIM: any t_prev < t */
    double eta;         /* DDIM only: 0 deterministic, 1 DDPM-like */
    uint64_t seed;
} dopt_diffusion_step_desc;

/* One reverse step of every row, in place. eps_hat (rows, n) is the
 * network's prediction at (x, t); with guide and g non-NULL, the guidance
 * sqrt(1 - abar_t)(gamma_o dO/dx + gamma_c dP/dx) is added to it first (it
 * is modified). */
DOPT_API dopt_status dopt_diffusion_step(dopt_context *ctx, const dopt_diffusion_step_desc *step, int64_t rows,
                                         int32_t n, dopt_dtype dtype, void *x, void *eps_hat,
                                         const dopt_milp_batch *guide, const dopt_guidance *g);

/* Training pairs: x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, eps from
 * (seed, row, step); writes x_t and eps (rows, n). */
DOPT_API dopt_status dopt_diffusion_noise(dopt_context *ctx, int64_t rows, int32_t n, dopt_dtype dtype,
                                          const void *x0, double abar_t, uint64_t seed, uint32_t step, void *xt,
                                          void *eps);

/* SRG's training target (eq. 19, signs of docs/DIFFUSION.md) for rows of
 * x_t with their eps: target = eps + sqrt(abar_t)(gamma_o c.*sign(c.*([x_t] - x*))
 * - gamma_c lambda A' 1[A [x_t] < b]); [x_t] = round(x_t) when round. x* is
 * guide->xref (required). */
DOPT_API dopt_status dopt_srg_target(dopt_context *ctx, const dopt_milp_batch *guide, const dopt_guidance *g,
                                     const void *xt, const void *eps, double abar_t, int round, void *target);

/* Candidates: every row (batch * samples) rounded (when round) and scored
 * (objective c'x, violation sum max(b - Ax, 0)); per instance the best:
 * feasible (violation <= feas_tol) first, then smaller violation, then smaller
 * objective. objective, violation (rows) and best_x (batch, n) may be NULL. */
DOPT_API dopt_status dopt_diffusion_candidates(dopt_context *ctx, const dopt_milp_batch *guide, const void *x,
                                               int round, double feas_tol, void *objective, void *violation,
                                               int32_t *best, void *best_x);

/* The exact noise prediction of a Gaussian-mixture target (one component: a
 * Gaussian), for testing samplers without a network: for the noised target
 * p_t = sum_k w_k N(sqrt(abar) m_k, abar S_k + (1 - abar) I),
 * eps_hat(x) = -sqrt(1 - abar) grad log p_t(x). Host memory, float64:
 * weights (K), means (K, n), covs (K, n, n) SPD, x and eps (rows, n). */
DOPT_API dopt_status dopt_diffusion_mixture_eps(dopt_context *ctx, int32_t n, int32_t components, const double *weights,
                                                const double *means, const double *covs, double abar, int64_t rows,
                                                const double *x, double *eps);

/* ---- ILP layer: exact small integer programs -------------------------------
 *   minimize c'y  subject to  A y <= b,  lb <= y <= ub,  y integer
 * per instance (CombOptNet's convention), n and m up to 64 (accepted up to
 * 256). Shapes: c (batch, n) or (n); A (batch, m, n) or (m, n); b (batch, m)
 * or (m); lb, ub (batch, n) or (n), NULL = 0 and 1 (binary). Bounds must be
 * finite, |bound| <= 1e9; they are rounded inward to integers. Everything is
 * solved in float64 whatever the dtype. Branch and bound with a bounded dual
 * simplex (docs/ILP.md): the objective is optimal to 1e-9 relative. */
enum {
    DOPT_ILP_SHARE_A = 1u << 0,
    DOPT_ILP_SHARE_B = 1u << 1,
    DOPT_ILP_SHARE_C = 1u << 2,
    DOPT_ILP_SHARE_LB = 1u << 3,
    DOPT_ILP_SHARE_UB = 1u << 4
};

typedef struct dopt_ilp_problem {
    int64_t batch;
    int32_t n, m;
    dopt_dtype dtype;
    const void *c, *A, *b, *lb, *ub;
    uint32_t shared; /* DOPT_ILP_SHARE_* bits */
} dopt_ilp_problem;

typedef struct dopt_ilp_options {
    int64_t node_limit; /* LP relaxations per instance; 0 = default 1,000,000 */
    double time_limit;  /* seconds for the whole call; 0 = none (results then depend on timing) */
} dopt_ilp_options;

/* Outputs (backend memory): y (batch, n) and, optional, obj and bound
 * (batch) in the problem's dtype; status (batch) int32: DOPT_SOLVED,
 * DOPT_PRIMAL_INFEASIBLE, DOPT_ITERATION_LIMIT (node or time limit: y is the
 * best incumbent, obj its value, bound the proven lower bound; y = 0 and
 * obj = +inf without an incumbent), DOPT_NUMERICAL_FAILURE, DOPT_INVALID_DATA
 * (non-finite data, bounds beyond 1e9: obj = NaN). Infeasible instances get
 * y = 0 and obj = +inf (CombOptNet's convention). nodes (batch) int64, optional. */
typedef struct dopt_ilp_solution {
    void *y, *obj, *bound;
    int32_t *status;
    int64_t *nodes;
} dopt_ilp_solution;

DOPT_API dopt_status dopt_ilp_solve(dopt_context *ctx, const dopt_ilp_problem *prob, const dopt_ilp_options *opt,
                                    dopt_ilp_solution *sol);

/* Backward rules (docs/ILP.md). */
typedef enum dopt_ilp_method {
    DOPT_ILP_COMBOPT = 0,   /* CombOptNet (Paulus et al. 2021): dA, db, dc */
    DOPT_ILP_DBB = 1,       /* blackbox (Vlastelica et al. 2020): dc = (y(c + lambda dy) - y(c)) / lambda */
    DOPT_ILP_PERTURBED = 2, /* Berthet et al. 2020: dc = E[Z <y(c + eps Z), dy>] / eps */
    DOPT_ILP_IDENTITY = 3   /* straight-through for minimization: dc = -dy */
} dopt_ilp_method;

typedef struct dopt_ilp_grad_options {
    dopt_ilp_method method;
    double tau;      /* CombOptNet soft-min temperature; default 0.5 (0 = hard min) */
    double lambda;   /* DBB interpolation; default 10 */
    double epsilon;  /* perturbation scale; default 1 */
    int32_t samples; /* perturbation samples K; default 10 */
    uint64_t seed;   /* Philox seed of Z: identical on every backend and thread count */
} dopt_ilp_grad_options;

DOPT_API void dopt_ilp_grad_options_default(dopt_ilp_grad_options *g);

/* Given the forward's y and status and dL/dy (batch, n), writes dA, db, dc
 * (each optional, shaped like the parameter; shared ones get the batch sum;
 * DBB, perturbed and identity give dA = db = 0). DBB solves the batch once
 * more, perturbed K times (opt's limits apply). */
DOPT_API dopt_status dopt_ilp_backward(dopt_context *ctx, const dopt_ilp_problem *prob, const dopt_ilp_options *opt,
                                       const dopt_ilp_grad_options *g, const void *y, const int32_t *status,
                                       const void *dy, void *dA, void *db, void *dc);

/* The perturbed optimizer's forward: y_eps (batch, n) = mean over K samples
 * of y(c + eps Z), with the same Z as dopt_ilp_backward for the same seed. */
DOPT_API dopt_status dopt_ilp_perturbed(dopt_context *ctx, const dopt_ilp_problem *prob, const dopt_ilp_options *opt,
                                        const dopt_ilp_grad_options *g, void *y_eps);

/* SPO+ (Elmachtoub & Grigas 2022) with prob->c the predicted cost c^ and
 * c_true shaped like c: loss (batch) = -z(2c^ - c) + 2c^'y*(c) - z(c), and
 * its subgradient dc = 2 (y*(c) - y(2c^ - c)) shaped like c. y_true
 * (batch, n) may be NULL: then y*(c) is solved. */
DOPT_API dopt_status dopt_ilp_spo_plus(dopt_context *ctx, const dopt_ilp_problem *prob, const dopt_ilp_options *opt,
                                       const void *c_true, const void *y_true, void *loss, void *dc);

/* CombOptNet's learnable-origin constraints (host memory, float64, m rows):
 * row j is a_j'(y - o_j) <= r_j, the half-space bounded r_j / |a_j| away
 * from its own origin o_j (n values per row), i.e.
 *     b_j = r_j + a_j'o_j.
 * (The paper's text prints b = r - a'o; docs/ILP.md explains the sign.)
 * origin_backward maps (dA, db) to (da, dr, do); each output optional. */
DOPT_API void dopt_ilp_origin_to_b(int32_t m, int32_t n, const double *a, const double *r, const double *o,
                                   double *b);
DOPT_API void dopt_ilp_origin_backward(int32_t m, int32_t n, const double *a, const double *o, const double *dA,
                                       const double *db, double *da, double *dr, double *d_o);

#ifdef __cplusplus
}
#endif

#include "dopt_milp.h" /* MILP instances, MPS, generators, Cbc, predict-and-search */
#endif
