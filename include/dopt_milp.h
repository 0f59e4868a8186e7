/* dopt: MILP instances (sparse, any size), a MILP solver front end (HiGHS or
 * COIN-OR Cbc when built in, the exact small-ILP solver), predict-and-search,
 * and the rows of a binary model for the Bernoulli and diffusion layers.
 * Part of the public API; include dopt.h (the umbrella) or this header. MPS
 * files: dopt_mps.h; instance generators: dopt_gen.h. See docs/MILP.md.
 *
 *   minimize (maximize when `maximize`)  c'x + offset
 *   subject to  row_lo <= A x <= row_hi,  col_lo <= x <= col_hi,
 *               x_j integer where integer[j]
 *
 * A is stored by columns (CSC), as MPS lists it. Infinite bounds are
 * +-HUGE_VAL.
 *
 * Host only: every array here (models, predictions, results) is host memory,
 * whatever the context's backend; a CUDA context works too (the calls use it
 * for its error message, log and thread count, never the device). Calls that
 * can fail take the context first and report there (dopt_context_last_error);
 * calls that cannot fail (_default, _free, objective, violation, comparisons)
 * take none. */
#ifndef DOPT_MILP_H
#define DOPT_MILP_H

#include "dopt_core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dopt_milp {
    int32_t n, m;     /* columns, rows */
    int64_t nnz;
    int64_t *col_ptr; /* (n + 1) */
    int32_t *row_idx; /* (nnz), strictly increasing inside a column */
    double *values;   /* (nnz), no explicit zeros */
    double *c;        /* (n) */
    double offset;    /* constant term of the objective */
    int32_t maximize;
    double *col_lo, *col_hi; /* (n) */
    double *row_lo, *row_hi; /* (m) */
    uint8_t *integer;        /* (n) 0/1 */
    /* Names (NUL-terminated, no blanks); any may be NULL: then written as
     * "C<j>" / "R<i>" / "OBJ" / "NONAME". */
    char *name, *obj_name;
    char **col_names, **row_names;
} dopt_milp;

/* *out = a new model (host memory) with every array allocated: c = 0,
 * columns continuous in [0, +inf), rows free, A empty (col_ptr all 0) with
 * room for nnz entries. DOPT_ERR_INVALID_ARGUMENT for a negative size,
 * DOPT_ERR_OUT_OF_MEMORY; *out = NULL then. Free with dopt_milp_free. */
DOPT_API dopt_status dopt_milp_alloc(dopt_context *ctx, int32_t n, int32_t m, int64_t nnz, dopt_milp **out);
DOPT_API void dopt_milp_free(dopt_milp *model);
/* Structural check (sizes, sorted in-range indices, finite coefficients,
 * lo <= hi, no NaN): DOPT_OK or DOPT_ERR_INVALID_ARGUMENT with a message. */
DOPT_API dopt_status dopt_milp_check(dopt_context *ctx, const dopt_milp *model);
/* objective value of x (host, n values), offset included */
DOPT_API double dopt_milp_objective(const dopt_milp *model, const double *x);
/* largest violation of rows, bounds and integrality of x (host, n values;
 * tolerance-free); HUGE_VAL when x has a NaN or out of memory */
DOPT_API double dopt_milp_violation(const dopt_milp *model, const double *x);

/* ---- solving ----------------------------------------------------------------- */
typedef enum dopt_milp_solver {
    DOPT_MILP_AUTO = 0,  /* HiGHS when built in, else Cbc when built in, else the exact small-ILP solver */
    DOPT_MILP_CBC = 1,      /* COIN-OR Cbc (optional dependency; each solve in a child process of its own) */
    DOPT_MILP_EXACT = 2,    /* dopt's branch and bound: all-integer, finite bounds, n <= 256 */
    DOPT_MILP_HIGHS = 3,    /* HiGHS (optional dependency; reentrant: one instance per call) */
    DOPT_MILP_PORTFOLIO = 4 /* HiGHS and Cbc side by side (both needed): the first proof, else the better
                             * incumbent and the tighter bound; result.solver names the one kept */
} dopt_milp_solver;

typedef struct dopt_milp_options {
    dopt_milp_solver solver; /* default AUTO */
    double time_limit; /* wall-clock seconds from the start of the call (every backend, every
                          internal re-solve included); 0 or +inf = none (default 0) */
    double gap;        /* relative gap to stop at; 0 = prove optimality (to the backend's absolute
                          tolerance: Cbc 1e-10, HiGHS 1e-6) */
    int32_t threads;   /* the backend's threads (Cbc, HiGHS); 0 = 1 */
    int32_t relax;     /* solve the LP relaxation (integrality dropped) */
    int32_t verbose;   /* solver log on stdout */
    const double *start; /* a solution to start from (host, n values), or NULL */
    /* Where to write a recession direction when the model is unbounded
     * (host, n values, the caller's), or NULL (default): then r with
     * max |r_j| = 1, A r within the rows' infinite sides, bounds likewise,
     * and c'r improving (res->has_ray = 1). Cbc (Clp's ray) and HiGHS (its
     * primal ray) backends (the exact solver takes finite bounds, so never
     * sees an unbounded model); for a MILP, the direction of its LP
     * relaxation. Ignored by the search calls. */
    double *ray;
} dopt_milp_options;

/* status: DOPT_SOLVED, DOPT_PRIMAL_INFEASIBLE, DOPT_DUAL_INFEASIBLE
 * (unbounded: LPs and MILPs alike), DOPT_ITERATION_LIMIT (time or node
 * limit; has_solution says whether x holds an incumbent),
 * DOPT_NUMERICAL_FAILURE, DOPT_INVALID_DATA.
 * objective and bound are in the model's sense, offset included (NaN when
 * unknown); bound is the best proven bound (the backend's dual bound) and
 * gap = |objective - bound| / |objective| (0 when they are equal, +inf when
 * objective is 0 and they differ, NaN without both). */
enum { DOPT_MILP_STATUS_TEXT = 64 };
typedef struct dopt_milp_result {
    int32_t status, has_solution;
    double objective, bound, seconds;
    int64_t nodes;
    double *x; /* (n), host, the caller's, or NULL: the solution is written there */
    dopt_milp_solver solver; /* the backend that ran (HIGHS, CBC or EXACT; AUTO resolved) */
    int32_t has_ray; /* 1: opt->ray holds a recession direction (status DUAL_INFEASIBLE) */
    double gap;      /* relative MIP gap, as above */
    /* the backend's own status, NUL-terminated: "HiGHS: Time limit reached",
     * "Cbc: status 1, secondary 2 (...)", "Clp: status 0", "exact: optimal" */
    char solver_status[DOPT_MILP_STATUS_TEXT];
} dopt_milp_result;

/* All zero: AUTO solver, no limits. A NULL options pointer means these. */
DOPT_API void dopt_milp_options_default(dopt_milp_options *opt);
/* 1 when the Cbc backend is built in */
DOPT_API int dopt_milp_have_cbc(void);
/* 1 when the HiGHS backend is built in */
DOPT_API int dopt_milp_have_highs(void);
/* Solves one model. Returns an error only for bad arguments or a solver
 * that is not available (message in ctx); outcomes are in res. */
DOPT_API dopt_status dopt_milp_solve(dopt_context *ctx, const dopt_milp *model, const dopt_milp_options *opt,
                                     dopt_milp_result *res);
/* 1 when a has a solution with a better objective than b's in the model's
 * sense (or a has one and b has none); 0 otherwise. */
DOPT_API int dopt_milp_result_better(const dopt_milp *model, const dopt_milp_result *a, const dopt_milp_result *b);

/* ---- predict-and-search (Han et al. 2023; SRG's search step) ------------------
 * From a prediction p (n values; for binary columns the probability of 1):
 * the center xt_j = [p_j >= 1/2] of the binaries; the trust set I = the k0
 * binaries of smallest p (center 0) and k1 of largest p (center 1), or all
 * binaries when k0 = k1 = 0; then the original MILP plus the single row
 *     sum_{j in I, xt_j = 0} x_j + sum_{j in I, xt_j = 1} (1 - x_j) <= delta
 * solved by the chosen solver. Repair: when that subproblem is infeasible
 * (the center too far from any feasible point), delta is doubled until it
 * is feasible or covers I (then the subproblem is the full MILP).
 *
 * The result's milp.status is the TRUST-REGION SUBPROBLEM's: DOPT_SOLVED
 * means optimal within the trust region, not the model's optimum, unless
 * whole_model says the region could not cut anything (delta_used >= |I|:
 * the row sums |I| distances of at most 1 each); then the status is the
 * model's own (optimal, infeasible, ...). */
typedef struct dopt_milp_search_options {
    dopt_milp_options milp; /* solver; time_limit: wall-clock seconds for the whole search (every
                               repair round; per job in the batch calls); ray ignored */
    double delta;           /* Hamming radius, >= 0 (not NaN); default 0; >= |I| = the whole model */
    int32_t k0, k1;         /* sizes of the trust set, >= 0 with k0 + k1 <= the model's binaries
                               (DOPT_ERR_INVALID_ARGUMENT otherwise); 0, 0 = all binaries (default) */
    int32_t repair;         /* 1 (default): widen delta while infeasible */
    /* The batch calls' budget: wall-clock seconds for the whole call from its
     * start (0 or +inf = none, the default; >= 0, not NaN); each job gets
     * min(milp.time_limit, what is left of it), and a job that starts with
     * none left reports DOPT_ITERATION_LIMIT without solving. The single
     * search takes it like milp.time_limit (the smaller holds). */
    double batch_time_limit;
} dopt_milp_search_options;

typedef struct dopt_milp_search_result {
    dopt_milp_result milp; /* of the last subproblem solved (x: the solution) */
    double delta_used;     /* radius of that subproblem */
    int32_t trust_size;    /* |I| */
    int32_t rounds;        /* subproblems solved (1 + widenings) */
    double center_violation; /* violation of the rounded center (0: it was feasible) */
    /* 1: the last subproblem was the whole model (delta_used >= trust_size), so milp.status
     * is the model's; 0: it is the trust region's ("optimal within the trust region") */
    int32_t whole_model;
    /* DOPT_OK, or why this search could not run (bad model or options, out
     * of memory): the batch calls attempt every job and set it per job. */
    dopt_status call_status;
} dopt_milp_search_result;

/* delta 0, all binaries, repair on, dopt_milp_options_default. A NULL
 * options pointer means these. */
DOPT_API void dopt_milp_search_options_default(dopt_milp_search_options *opt);
/* One prediction: pred (host, model->n values); res->milp.x is the caller's
 * (host, n) or NULL. A NaN in pred is a per-search outcome
 * (res->milp.status = DOPT_INVALID_DATA), not an error. */
DOPT_API dopt_status dopt_milp_search(dopt_context *ctx, const dopt_milp *model, const double *pred,
                                      const dopt_milp_search_options *opt, dopt_milp_search_result *res);
/* Many, on the context's CPU threads (dopt_context_set_threads; jobs run
 * one solver thread each unless milp.threads says otherwise): every job
 * runs side by side with the others (one HiGHS instance per job; Cbc, whose
 * C interface is not reentrant, in a child process per job under a time
 * limit, else one at a time; docs/MILP.md). Job j (of `jobs`) searches
 * models[model_of[j]] from preds + pred_offset[j] (that model's n values).
 * All host memory: models (any count), model_of and pred_offset (jobs),
 * preds, res (jobs, the caller's, with res[j].milp.x the caller's (host,
 * n) or NULL). Every job is attempted, its own failure in
 * res[j].call_status; the call returns the first failing job's status, with
 * "job J: <message>" in ctx. */
DOPT_API dopt_status dopt_milp_search_batch(dopt_context *ctx, const dopt_milp *const *models, int64_t jobs,
                                            const int64_t *model_of, const double *preds, const int64_t *pred_offset,
                                            const dopt_milp_search_options *opt, dopt_milp_search_result *res);

/* A predictor for dopt_milp_search_predict: writes `candidates` predictions
 * (host, candidates x model->n, row-major) for model `index`; returns 0 on
 * success. Called from the calling thread only, one model at a time (a
 * network need not be thread-safe). */
typedef int (*dopt_milp_predict_fn)(void *user, int64_t index, const dopt_milp *model, int32_t candidates,
                                    double *preds);

/* Predict-and-search over many models: the predictor's candidates for every
 * model, all searched (on the context's threads), and per model the best
 * candidate's result in best[i] (host, count; best[i].milp.x: the caller's,
 * host, n values, or NULL); best_index (host, count, optional) says which
 * candidate. */
DOPT_API dopt_status dopt_milp_search_predict(dopt_context *ctx, const dopt_milp *const *models, int64_t count,
                                              int32_t candidates, dopt_milp_predict_fn predict, void *user,
                                              const dopt_milp_search_options *opt, dopt_milp_search_result *best,
                                              int32_t *best_index);

/* ---- a binary model in one-sided inequality form, for the other layers -------
 * The Bernoulli surrogate (dopt_bern_problem: A x <= b) and SRG's guidance
 * and candidates (dopt_diffusion_guide: A x >= b) take a binary program as CSR
 * rows in one direction. dopt_milp_to_binary_form turns each finite side of
 * each row of the model into one such row, and c into the objective to
 * minimize (negated for a maximization; the offset dropped). Every column
 * must be binary (both layers sample x in {0,1}^n): DOPT_ERR_UNSUPPORTED
 * otherwise. Host memory, float64, allocated by the call; free with
 * dopt_milp_binary_form_free. (To use it on a CUDA context, upload the
 * arrays first.) */
typedef enum dopt_milp_row_sense {
    DOPT_MILP_ROWS_LE = 0, /* A x <= b: the Bernoulli surrogate */
    DOPT_MILP_ROWS_GE = 1  /* A x >= b: SRG's guidance and candidates */
} dopt_milp_row_sense;

typedef struct dopt_milp_binary_form {
    int32_t n, m;      /* columns, one-sided rows */
    int64_t *row_ptr;  /* (m + 1) */
    int32_t *col_idx;  /* (row_ptr[m]) */
    double *values;    /* (row_ptr[m]) */
    double *b;         /* (m) */
    double *c;         /* (n): minimize c'x */
} dopt_milp_binary_form;

DOPT_API dopt_status dopt_milp_to_binary_form(dopt_context *ctx, const dopt_milp *model, dopt_milp_row_sense sense,
                                              dopt_milp_binary_form *out);
DOPT_API void dopt_milp_binary_form_free(dopt_milp_binary_form *form);

#ifdef __cplusplus
}
#endif
#endif
