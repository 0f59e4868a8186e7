/* dopt: the QP / LP layer (interior point, OptNet-style gradients).
 * Part of the public API; include dopt.h (the umbrella) or this header. */
#ifndef DOPT_QP_PUBLIC_H
#define DOPT_QP_PUBLIC_H

#include "dopt_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- QP / LP layer ---------------------------------------------------------
 *   minimize 1/2 x'Qx + p'x  subject to  Gx <= h,  Ax = b      (per instance)
 * Shapes (per instance): Q n x n, p n, G m x n, h m, A k x n, b k.
 * A parameter whose bit is set in `shared` is one copy for the whole batch;
 * otherwise it has a leading batch dimension. Q may be NULL (an LP); Q must be
 * positive semidefinite (only its symmetric part is used). h may contain
 * +inf: that row is absent for that instance (h = -inf, NaN anywhere, or Inf
 * elsewhere is DOPT_INVALID_DATA: no finite certificate exists for
 * "G_i x <= -inf"). m = 0 or k = 0 are allowed
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
    double tol;      /* relative KKT residual and gap; default 1e-8 (f64), 1e-6 (f32) */
    double tol_inf;  /* infeasibility certificates; default 1e-9 (f64), 1e-6 (f32) */
    int32_t max_iter; /* default 50 */
    int32_t refine;  /* iterative refinement steps per KKT solve; default 2 (backward: +3) */
    int32_t infeasible_mode; /* DOPT_QP_INFEASIBLE_*; default (0) REPORT */
} dopt_qp_options;

/* What an instance with infeasible constraints gets (dopt_qp_options.infeasible_mode).
 *  DOPT_QP_INFEASIBLE_REPORT   status DOPT_PRIMAL_INFEASIBLE and a Farkas
 *                              certificate in lam, nu (the default)
 *  DOPT_QP_INFEASIBLE_CLOSEST  the solution of the closest feasible problem,
 *        minimize 1/2 x'Qx + p'x  s.t.  Gx <= h + t,  Ax = b + r,
 *    with (t, r) the shift of least Euclidean norm ||t||^2 + ||r||^2 that
 *    makes the constraints feasible (unique; t >= 0 follows, it is not
 *    imposed), status DOPT_SOLVED_CLOSEST_FEASIBLE. It is found by a phase-1
 *    QP in (x, t, r) and the shifted QP, both solved by this layer on the
 *    infeasible instances only: feasible instances are untouched (bitwise
 *    the results of REPORT). lam, nu: a multiplier of the shifted problem
 *    (not unique there: any multiple of (t, r) may be added; the one with
 *    lam >= 0 of least such multiple is returned). The backward gives the
 *    total derivative of x, the shift's own dependence on G, h, A, b
 *    included; dL/dlam, dL/dnu of these instances are not used. Uniform
 *    batches only (dopt_qp_ragged_solve refuses the mode). Phase 1 is a
 *    dense QP in n + m + k variables: when that exceeds 4096 and some
 *    instance is infeasible, the call is DOPT_ERR_INVALID_ARGUMENT. docs/QP.md,
 *    "Closest feasible problems". */
enum { DOPT_QP_INFEASIBLE_REPORT = 0, DOPT_QP_INFEASIBLE_CLOSEST = 1 };

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
 * Instances that were not solved contribute zero. A NaN or Inf in an
 * instance's incoming gradient makes all its gradients NaN (solved or not). */
typedef struct dopt_qp_grad_out {
    void *dQ, *dp, *dG, *dh, *dA, *db;
} dopt_qp_grad_out;

/* Implicit differentiation of the KKT conditions at the solution (OptNet),
 * reusing the forward's factorization. The tape can be used repeatedly. */
DOPT_API dopt_status dopt_qp_backward(dopt_context *ctx, const dopt_qp_tape *tape,
                                      const dopt_qp_grad_in *gin, dopt_qp_grad_out *gout);
DOPT_API void dopt_qp_tape_destroy(dopt_qp_tape *tape);

/* ---- ragged (heterogeneous) batches ----------------------------------------
 * Instance i has its own sizes n[i] >= 1, m[i] >= 0, k[i] >= 0 (n <= 4096,
 * m, k <= 65536, as for uniform batches). The size arrays are HOST memory,
 * length batch; m or k NULL = all 0. The data arrays are BACKEND memory
 * (host for the CPU backend, device for CUDA): every instance's arrays lie
 * one after another, each row-major, offsets implied by the sizes:
 *   Q  sum n_i^2   (instance i's starts at sum_{j<i} n_j^2)
 *   p  sum n_i,    G  sum m_i n_i,    h  sum m_i,    A  sum k_i n_i,    b  sum k_i
 * Q NULL = every instance an LP. G, h may be NULL when every m_i is 0, A, b
 * when every k_i is 0. There are no shared parameters. h = +inf marks an
 * absent row, exactly as in the uniform layer. */
typedef struct dopt_qp_ragged_problem {
    int64_t batch;
    const int32_t *n, *m, *k;
    dopt_dtype dtype;
    const void *Q, *p, *G, *h, *A, *b;
} dopt_qp_ragged_problem;

/* Solves a ragged batch. sol (backend memory, caller-allocated): x (sum n_i),
 * lam (sum m_i), nu (sum k_i) in the concatenated layout, status and iters
 * (batch) int32, all in the caller's instance order. Each instance gets the
 * result of solving it alone (dopt_qp_solve with batch 1 and its sizes);
 * on the CPU backend bitwise so, whatever the thread count. How the work is
 * scheduled is docs/QP.md "Ragged batches" and
 * dopt_context_set_ragged_policy (the CUDA backend runs ragged batches in
 * padded size classes: results equal to solving alone within the solver's
 * tolerance). tape as for dopt_qp_solve: a
 * tape of an earlier uniform or ragged call is refilled in place; it keeps
 * copies of the size arrays, the data arrays must stay alive and unchanged
 * until it is destroyed. A bad size is DOPT_ERR_INVALID_ARGUMENT naming the
 * instance. */
DOPT_API dopt_status dopt_qp_ragged_solve(dopt_context *ctx, const dopt_qp_ragged_problem *prob,
                                          const dopt_qp_options *opt, dopt_qp_solution *sol,
                                          dopt_qp_tape **tape);

/* dopt_qp_backward takes a ragged tape unchanged: gin dx (sum n_i), dlam
 * (sum m_i), dnu (sum k_i) and gout dQ (sum n_i^2; also when Q was NULL: the
 * gradient with respect to a zero Q), dp, dG, dh, dA, db in the concatenated
 * layouts of the problem. */


/* How a context schedules ragged QP batches (docs/QP.md "Ragged batches"):
 *  DOPT_RAGGED_AUTO   the backend's native path: on the CPU one loop over
 *                     the instances, largest first, nothing padded (results
 *                     bitwise those of solving each instance alone)
 *  DOPT_RAGGED_EXACT  size classes of equal (n, m, k), each solved as one
 *                     uniform batch (CPU: bitwise as AUTO when Q is given)
 *  DOPT_RAGGED_PAD    size classes padded up to the class's largest sizes
 *                     where the padding is exact and the padded work stays
 *                     within max_pad_waste of the class's work; results
 *                     equal AUTO's to the solver's tolerance
 * max_pad_waste in [0, 1): 0 = the default 0.25; used by DOPT_RAGGED_PAD.
 * The grouped policies are the path for solvers that need uniform batches;
 * on the CPU they exist to be checked and compared. */
typedef enum dopt_ragged_policy {
    DOPT_RAGGED_AUTO = 0,
    DOPT_RAGGED_EXACT = 1,
    DOPT_RAGGED_PAD = 2
} dopt_ragged_policy;
DOPT_API dopt_status dopt_context_set_ragged_policy(dopt_context *ctx, dopt_ragged_policy policy,
                                                    double max_pad_waste);

#ifdef __cplusplus
}
#endif
#endif
