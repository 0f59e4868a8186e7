/* dopt: the ILP layer: exact small integer programs and their gradients.
 * Part of the public API; include dopt.h (the umbrella) or this header. */
#ifndef DOPT_ILP_PUBLIC_H
#define DOPT_ILP_PUBLIC_H

#include "dopt_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- ILP layer: exact small integer programs -------------------------------
 *   minimize c'y  subject to  A y <= b,  lb <= y <= ub,  y integer
 * per instance (CombOptNet's convention), n and m up to 64 (accepted up to
 * 256). Shapes: c (batch, n) or (n); A (batch, m, n) or (m, n); b (batch, m)
 * or (m); lb, ub (batch, n) or (n), NULL = 0 and 1 (binary). Bounds must be
 * finite, |bound| <= 1e9; they are rounded inward to integers. b_i = +inf
 * switches row i off for that instance (as h_i = +inf in the QP layer);
 * b_i = -inf or NaN is invalid data. Everything is
 * solved in float64 whatever the dtype. Branch and bound with a bounded dual
 * simplex (docs/ILP.md): the objective is optimal to 1e-9 relative. CPU and
 * GPU objectives agree to that tolerance; y may differ between alternative
 * optima (docs/ARCHITECTURE.md, "CPU vs GPU results"). */
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
    const void *c, *A, *b, *lb, *ub; /* backend memory (device for CUDA), shapes above */
    uint32_t shared; /* DOPT_ILP_SHARE_* bits */
} dopt_ilp_problem;

typedef struct dopt_ilp_options {
    int64_t node_limit; /* LP relaxations per instance; 0 = default 1,000,000 */
    double time_limit;  /* wall-clock seconds from the start of the call, one deadline for every
                           instance; 0 = none (with one, results depend on timing) */
} dopt_ilp_options;

/* node_limit 1,000,000, no time limit. A NULL options pointer (and a 0
 * node_limit) means these. */
DOPT_API void dopt_ilp_options_default(dopt_ilp_options *opt);

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
    uint64_t seed;   /* Philox seed of Z: the same for every thread count; CPU and GPU equal up to rounding */
} dopt_ilp_grad_options;

/* COMBOPT, tau 0.5, lambda 10, epsilon 1, 10 samples, seed 0. A NULL
 * gradient-options pointer means these. */
DOPT_API void dopt_ilp_grad_options_default(dopt_ilp_grad_options *g);

/* Given the forward's y (batch, n) and status (batch) and dL/dy (batch, n),
 * writes dA, db, dc (each optional, shaped like the parameter; shared ones
 * get the batch sum; all arrays backend memory;
 * DBB, perturbed and identity give dA = db = 0; an absent row, b_i = +inf,
 * gets 0). A NaN or Inf in an instance's dy makes its dA, db, dc NaN for
 * every method, whatever its status. DBB solves the batch once more,
 * perturbed K times (opt's limits apply). */
DOPT_API dopt_status dopt_ilp_backward(dopt_context *ctx, const dopt_ilp_problem *prob, const dopt_ilp_options *opt,
                                       const dopt_ilp_grad_options *g, const void *y, const int32_t *status,
                                       const void *dy, void *dA, void *db, void *dc);

/* The perturbed optimizer's forward: y_eps (batch, n, backend memory) = mean
 * over K samples of y(c + eps Z), with the same Z as dopt_ilp_backward for
 * the same seed. */
DOPT_API dopt_status dopt_ilp_perturbed(dopt_context *ctx, const dopt_ilp_problem *prob, const dopt_ilp_options *opt,
                                        const dopt_ilp_grad_options *g, void *y_eps);

/* SPO+ (Elmachtoub & Grigas 2022) with prob->c the predicted cost c^ and
 * c_true shaped like c: loss (batch) = -z(2c^ - c) + 2c^'y*(c) - z(c), and
 * its subgradient dc = 2 (y*(c) - y(2c^ - c)) shaped like c. y_true
 * (batch, n) may be NULL: then y*(c) is solved. All arrays backend memory.
 * An instance with a NaN/Inf cost, or whose solve finds no point
 * (infeasible, invalid data, numerical failure), gets a NaN loss and NaN dc
 * (there is no status output: NaN is the per-instance signal). */
DOPT_API dopt_status dopt_ilp_spo_plus(dopt_context *ctx, const dopt_ilp_problem *prob, const dopt_ilp_options *opt,
                                       const void *c_true, const void *y_true, void *loss, void *dc);

/* ---- Ragged (heterogeneous) batches ----------------------------------------
 * Instances of different sizes in one call, without padding: instance i has
 * n[i] in [1, 256] variables and m[i] in [0, 256] rows (the size arrays are
 * HOST memory, length batch). Its arrays lie one after another in the
 * concatenations, each row-major as in the uniform layer:
 *     c, lb, ub: sum n_i values (instance i's start at sum_{j<i} n_j),
 *     A: sum m_i n_i,  b: sum m_i.
 * The data arrays are backend memory (device memory for CUDA); lb, ub NULL
 * mean 0 and 1 for every instance. Nothing is shared between instances.
 * Every instance runs exactly the arithmetic of a uniform batch of its own
 * size: results are bitwise those of solving it alone (same backend), and
 * a ragged batch whose sizes happen to be equal gives the uniform batch's
 * results (the perturbed noise is drawn per (instance index, sample, j) as
 * in the uniform layer). The CPU takes instances largest estimated cost
 * first with dynamic chunks, the GPU's queue likewise (docs/ILP.md, "Ragged
 * batches"); results are in the caller's order. A bad size is
 * DOPT_ERR_INVALID_ARGUMENT naming the instance. */
typedef struct dopt_ilp_ragged_problem {
    int64_t batch;
    const int32_t *n, *m; /* HOST memory, batch values each */
    dopt_dtype dtype;
    const void *c, *A, *b, *lb, *ub; /* backend memory, concatenated as above */
} dopt_ilp_ragged_problem;

/* sol (backend memory): y (sum n_i, concatenated like c); obj, bound
 * (optional), status, nodes (optional) one per instance, as in
 * dopt_ilp_solve. */
DOPT_API dopt_status dopt_ilp_ragged_solve(dopt_context *ctx, const dopt_ilp_ragged_problem *prob,
                                           const dopt_ilp_options *opt, dopt_ilp_solution *sol);

/* dopt_ilp_backward for a ragged batch, every method: y, dy and dc sum n_i,
 * dA sum m_i n_i, db sum m_i (concatenated like the data; dA, db, dc each
 * optional), status one per instance. Backend memory. */
DOPT_API dopt_status dopt_ilp_ragged_backward(dopt_context *ctx, const dopt_ilp_ragged_problem *prob,
                                              const dopt_ilp_options *opt, const dopt_ilp_grad_options *g,
                                              const void *y, const int32_t *status, const void *dy, void *dA,
                                              void *db, void *dc);

/* dopt_ilp_perturbed for a ragged batch: y_eps (sum n_i, backend memory). */
DOPT_API dopt_status dopt_ilp_ragged_perturbed(dopt_context *ctx, const dopt_ilp_ragged_problem *prob,
                                               const dopt_ilp_options *opt, const dopt_ilp_grad_options *g,
                                               void *y_eps);

/* dopt_ilp_spo_plus for a ragged batch: c_true, y_true (optional) and dc
 * (optional) sum n_i, loss one per instance; backend memory. */
DOPT_API dopt_status dopt_ilp_ragged_spo_plus(dopt_context *ctx, const dopt_ilp_ragged_problem *prob,
                                              const dopt_ilp_options *opt, const void *c_true, const void *y_true,
                                              void *loss, void *dc);

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
#endif
