/* dopt: MILP instances (sparse, any size), MPS files, the benchmark
 * generators of the ML-for-MILP literature, a MILP solver front end (COIN-OR
 * Cbc when built in, the exact small-ILP solver otherwise) and
 * predict-and-search. Host memory only; included by dopt.h. See docs/MILP.md.
 *
 *   minimize (maximize when `maximize`)  c'x + offset
 *   subject to  row_lo <= A x <= row_hi,  col_lo <= x <= col_hi,
 *               x_j integer where integer[j]
 *
 * A is stored by columns (CSC), as MPS lists it. Infinite bounds are
 * +-HUGE_VAL. */
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

/* A model with every array allocated: c = 0, columns continuous in
 * [0, +inf), rows free, A empty (col_ptr all 0) with room for nnz entries.
 * NULL when out of memory or a size is negative. */
DOPT_API dopt_milp *dopt_milp_alloc(int32_t n, int32_t m, int64_t nnz);
DOPT_API void dopt_milp_free(dopt_milp *model);
/* Structural check (sizes, sorted in-range indices, finite coefficients,
 * lo <= hi, no NaN): DOPT_OK or DOPT_ERR_INVALID_ARGUMENT with a message. */
DOPT_API dopt_status dopt_milp_check(const dopt_milp *model, char *err, size_t errlen);
/* objective value of x (n values), offset included */
DOPT_API double dopt_milp_objective(const dopt_milp *model, const double *x);
/* largest violation of rows, bounds and integrality (tolerance-free) */
DOPT_API double dopt_milp_violation(const dopt_milp *model, const double *x);

/* ---- MPS ------------------------------------------------------------------
 * Sections NAME, OBJSENSE (MAX/MIN, same line or next), OBJSENSE MAXIMIZE,
 * ROWS (N/E/L/G; the first N row is the objective, later ones dropped),
 * COLUMNS (with 'MARKER' INTORG/INTEND), RHS (objective-row entry = -offset),
 * RANGES, BOUNDS (UP LO FX FR MI PL BV LI UI), ENDATA. Integer columns with
 * no bounds get [0, 1] only with BV; otherwise [0, +inf) as most readers
 * today (not the historical default [0, 1]): docs/MILP.md. Errors name the
 * line: "line 17: unknown row 'R9' in COLUMNS". */
typedef enum dopt_mps_format {
    DOPT_MPS_AUTO = 0,  /* free; if that fails, fixed columns (names with blanks) */
    DOPT_MPS_FREE = 1,  /* whitespace-separated fields */
    DOPT_MPS_FIXED = 2  /* fields at columns 2-3, 5-12, 15-22, 25-36, 40-47, 50-61 */
} dopt_mps_format;

DOPT_API dopt_status dopt_mps_parse(const char *text, size_t len, dopt_mps_format format, dopt_milp **out,
                                    char *err, size_t errlen);
DOPT_API dopt_status dopt_mps_read(const char *path, dopt_mps_format format, dopt_milp **out, char *err,
                                   size_t errlen);
/* Free MPS, numbers with 17 significant digits: reading it back gives the
 * identical model. */
DOPT_API dopt_status dopt_mps_write(const dopt_milp *model, const char *path, char *err, size_t errlen);

/* ---- generators -------------------------------------------------------------
 * Ecole's / Gasse et al. (2019)'s four families and CombOptNet's three,
 * seeded and deterministic (the same file for the same parameters and seed
 * on every machine). docs/MILP.md gives the algorithms. */
typedef enum dopt_gen_family {
    DOPT_GEN_SETCOVER = 0,   /* Balas & Ho: rows x cols, density, costs 1..max_coef, min */
    DOPT_GEN_CAUCTION = 1,   /* Leyton-Brown "arbitrary" bids, max */
    DOPT_GEN_FACILITY = 2,   /* capacitated facility location (Cornuejols et al.), min */
    DOPT_GEN_INDSET = 3,     /* maximum independent set, clique-partition rows, max */
    DOPT_GEN_RC = 4,         /* CombOptNet random constraints (n = 16, box [0,1] or [-5,5]) */
    DOPT_GEN_WSC = 5,        /* CombOptNet weighted set covering */
    DOPT_GEN_KNAPSACK = 6    /* 0-1 knapsack */
} dopt_gen_family;

typedef enum dopt_gen_size { DOPT_GEN_EASY = 0, DOPT_GEN_MEDIUM = 1, DOPT_GEN_HARD = 2 } dopt_gen_size;

typedef struct dopt_gen_params {
    dopt_gen_family family;
    /* set cover */
    int32_t sc_rows, sc_cols;
    double sc_density;
    int32_t sc_max_coef;
    /* combinatorial auction */
    int32_t ca_items, ca_bids;
    double ca_add_item_prob;
    /* facility location */
    int32_t cfl_customers, cfl_facilities;
    double cfl_ratio;
    /* independent set: graph 0 = Barabasi-Albert (affinity), 1 = Erdos-Renyi (edge_prob) */
    int32_t is_nodes, is_graph, is_affinity;
    double is_edge_prob;
    /* CombOptNet: n variables, m constraints; rc_dense selects the [-5,5] box */
    int32_t co_n, co_m, rc_dense;
} dopt_gen_params;

/* The published parameters: Gasse et al. 2019's easy/medium/hard (CA with
 * add_item_prob 0.7, as Gasse; Ecole >= 0.8 uses 0.65), CombOptNet's sizes
 * for rc/wsc (docs/MILP.md). */
DOPT_API dopt_status dopt_gen_params_preset(dopt_gen_family family, dopt_gen_size size, dopt_gen_params *p);
DOPT_API dopt_status dopt_gen_instance(const dopt_gen_params *p, uint64_t seed, dopt_milp **out, char *err,
                                       size_t errlen);

/* ---- solving ----------------------------------------------------------------- */
typedef enum dopt_milp_solver {
    DOPT_MILP_AUTO = 0,  /* Cbc when built in, else the exact small-ILP solver */
    DOPT_MILP_CBC = 1,   /* COIN-OR Cbc (optional dependency) */
    DOPT_MILP_EXACT = 2  /* dopt's branch and bound: all-integer, finite bounds, n <= 256 */
} dopt_milp_solver;

typedef struct dopt_milp_options {
    dopt_milp_solver solver;
    double time_limit; /* seconds; 0 = none */
    double gap;        /* relative gap to stop at; 0 = prove optimality (to Cbc's 1e-10 absolute) */
    int32_t threads;   /* Cbc threads; 0 = 1 */
    int32_t relax;     /* solve the LP relaxation (integrality dropped) */
    int32_t verbose;   /* solver log on stdout */
    const double *start; /* a solution to start from (n values), or NULL */
} dopt_milp_options;

/* status: DOPT_SOLVED, DOPT_PRIMAL_INFEASIBLE, DOPT_DUAL_INFEASIBLE
 * (unbounded), DOPT_ITERATION_LIMIT (time or node limit; has_solution says
 * whether x holds an incumbent), DOPT_NUMERICAL_FAILURE, DOPT_INVALID_DATA.
 * objective and bound are in the model's sense, offset included (NaN when
 * unknown). */
typedef struct dopt_milp_result {
    int32_t status, has_solution;
    double objective, bound, seconds;
    int64_t nodes;
    double *x; /* (n), caller's, or NULL */
    dopt_milp_solver solver; /* the backend that ran (CBC or EXACT; AUTO resolved) */
} dopt_milp_result;

DOPT_API void dopt_milp_options_default(dopt_milp_options *opt);
/* 1 when the Cbc backend is built in */
DOPT_API int dopt_milp_have_cbc(void);
/* Solves one model. Returns an error (with the message in err) only for bad
 * arguments or a solver that is not available; outcomes are in res. */
DOPT_API dopt_status dopt_milp_solve(const dopt_milp *model, const dopt_milp_options *opt, dopt_milp_result *res,
                                     char *err, size_t errlen);

/* ---- predict-and-search (Han et al. 2023; SRG's search step) ------------------
 * From a prediction p (n values; for binary columns the probability of 1):
 * the center xt_j = [p_j >= 1/2] of the binaries; the trust set I = the k0
 * binaries of smallest p (center 0) and k1 of largest p (center 1), or all
 * binaries when k0 = k1 = 0; then the original MILP plus the single row
 *     sum_{j in I, xt_j = 0} x_j + sum_{j in I, xt_j = 1} (1 - x_j) <= delta
 * solved by the chosen solver. Repair: when that subproblem is infeasible
 * (the center too far from any feasible point), delta is doubled until it
 * is feasible or covers I (then the subproblem is the full MILP). */
typedef struct dopt_search_options {
    dopt_milp_options milp; /* solver, time limit per subproblem, ... */
    double delta;           /* Hamming radius; default 0 */
    int32_t k0, k1;         /* sizes of the trust set; 0, 0 = all binaries */
    int32_t repair;         /* 1 (default): widen delta while infeasible */
} dopt_search_options;

typedef struct dopt_search_result {
    dopt_milp_result milp; /* of the last subproblem solved (x: the solution) */
    double delta_used;     /* radius of that subproblem */
    int32_t trust_size;    /* |I| */
    int32_t rounds;        /* subproblems solved (1 + widenings) */
    double center_violation; /* violation of the rounded center (0: it was feasible) */
} dopt_search_result;

DOPT_API void dopt_search_options_default(dopt_search_options *opt);
/* One prediction. */
DOPT_API dopt_status dopt_milp_search(const dopt_milp *model, const double *pred, const dopt_search_options *opt,
                                      dopt_search_result *res, char *err, size_t errlen);
/* Many: job j searches models[model_of[j]] from preds + j * n_j (each
 * prediction as long as its model's n; pred_offset[j] gives its start in
 * preds), `workers` at once (0 = all processors; Cbc jobs then run one
 * thread each). res (jobs) and res[j].milp.x are the caller's. Returns the
 * first failure; every job is attempted. */
DOPT_API dopt_status dopt_milp_search_batch(const dopt_milp *const *models, int64_t jobs, const int64_t *model_of,
                                            const double *preds, const int64_t *pred_offset,
                                            const dopt_search_options *opt, int workers, dopt_search_result *res,
                                            char *err, size_t errlen);

/* A predictor for dopt_milp_search_predict: writes `candidates` predictions
 * (candidates x model->n, row-major) for model `index`; returns 0 on
 * success. Called from the calling thread only, one model at a time (a
 * network need not be thread-safe). */
typedef int (*dopt_milp_predict_fn)(void *user, int64_t index, const dopt_milp *model, int32_t candidates,
                                    double *preds);

/* Predict-and-search over many models: the predictor's candidates for every
 * model, all searched (workers at once), and per model the best candidate's
 * result in best[i] (best[i].milp.x: caller's, n values, or NULL);
 * best_index (count, optional) says which candidate. */
DOPT_API dopt_status dopt_milp_search_predict(const dopt_milp *const *models, int64_t count, int32_t candidates,
                                              dopt_milp_predict_fn predict, void *user,
                                              const dopt_search_options *opt, int workers, dopt_search_result *best,
                                              int32_t *best_index, char *err, size_t errlen);

/* ---- the rows of a binary model for the other layers ------------------------
 * One-sided CSR rows (host, float64): each finite side of each row becomes a
 * row, as A x <= b for the Bernoulli surrogate (geq = 0) or A x >= b for
 * SRG's guidance and candidates (geq = 1); c is the objective to minimize
 * (negated for a maximization; the offset dropped). Every column must be
 * binary (both layers sample x in {0,1}^n). Free with dopt_milp_rows_free. */
typedef struct dopt_milp_rows {
    int32_t n, m;
    int64_t *row_ptr; /* (m + 1) */
    int32_t *col_idx;
    double *values, *b, *c;
} dopt_milp_rows;

DOPT_API dopt_status dopt_milp_rows_of(const dopt_milp *model, int geq, dopt_milp_rows *out, char *err,
                                       size_t errlen);
DOPT_API void dopt_milp_rows_free(dopt_milp_rows *rows);

#ifdef __cplusplus
}
#endif
#endif
