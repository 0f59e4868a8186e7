/* dopt: Bernoulli surrogates of binary ILPs (DiffILO, with correct gradients).
 * Part of the public API; include dopt.h (the umbrella) or this header. */
#ifndef DOPT_BERN_PUBLIC_H
#define DOPT_BERN_PUBLIC_H

#include "dopt_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Bernoulli surrogate of binary ILPs (DiffILO, with correct gradients) ----
 * For  min c'x  s.t.  Ax <= b,  x in {0,1}^n  and relaxed probabilities
 * xhat in (0,1)^n per instance, samples x_j = 1[logit(xhat_j) + logit(eps_j)
 * >= 0] (eps from Philox: the same numbers on every backend and thread count)
 * estimate  F(xhat) = c'xhat + mu sum_i E[max(a_i'x - b_i, 0)]  and its
 * gradient. Results are bitwise the same for every thread count, and equal
 * on CPU and GPU up to rounding (docs/ARCHITECTURE.md). See docs/BERNOULLI.md. */
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
     * values. CSR and dense give identical results. An instance's CSR rows
     * must have offsets >= 0 and non-decreasing, column indices in [0, n),
     * and no column twice in a row (the estimators flip x_j per entry: sum
     * duplicates first); else that instance is status 5. col_idx and values
     * may be NULL when no row has entries (nnz = 0; an instance with entries
     * and no arrays is status 5). Offsets past the arrays' end cannot be
     * checked (their length is not passed). */
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
    int32_t logits;  /* 1: input is logit(xhat) and the gradient is with respect to it. Every
                      * finite logit is valid, also where sigmoid rounds to 0 or 1 (samples and
                      * gradients are computed from the logit); NaN and +-inf are status 5. */
} dopt_bern_options;

/* Outputs (backend memory, dtype of the problem): loss (batch), grad (batch,
 * n); loss_se, grad_se (standard errors from the samples) may be NULL and are
 * 0 for DOPT_BERN_EXACT; status (batch) int32: 0 ok, 5 invalid data (xhat
 * outside (0,1) or a NaN / infinite logit, non-finite data, a bad CSR row:
 * offsets, column index, a column twice), whose outputs are NaN. */
typedef struct dopt_bern_result {
    void *loss, *grad, *loss_se, *grad_se;
    int32_t *status;
} dopt_bern_result;

DOPT_API void dopt_bern_options_default(dopt_bern_options *opt);
DOPT_API dopt_status dopt_bern_eval(dopt_context *ctx, const dopt_bern_problem *prob, const void *xhat,
                                    const dopt_bern_options *opt, dopt_bern_result *res);
/* Rounds at 1/2 and repairs greedily (docs/BERNOULLI.md): xhat (batch, n)
 * probabilities in [0, 1] (0 and 1 included: what sigmoid of a large logit
 * gives); x (batch, n) of 0/1 in the problem's dtype; status 0 feasible, 1
 * not repaired, 5 invalid (xhat NaN or outside [0, 1], or the data as for
 * dopt_bern_eval; x = 0). */
DOPT_API dopt_status dopt_bern_round(dopt_context *ctx, const dopt_bern_problem *prob, const void *xhat, void *x,
                                     int32_t *status);
/* ---- block-diagonal (ragged) batches ----
 * Instances of different sizes in one call, in the layout graph libraries
 * produce (PyTorch Geometric's ptr offsets): instance i owns the variables
 * [var_ptr[i], var_ptr[i+1]) of the concatenated variable arrays (xhat, c,
 * grad, x) and the constraint rows [con_ptr[i], con_ptr[i+1]) of one CSR
 * matrix (b, and row_ptr's rows), whose column indices are GLOBAL variable
 * indices. No padding: every row and every variable belongs to one instance.
 *
 * Every array is in backend memory (the device's for a CUDA context), like
 * the uniform problem's. The host reads var_ptr[0], var_ptr[batch],
 * con_ptr[0] and con_ptr[batch] (on CUDA one small download and one stream
 * synchronization, with the result of a check kernel), to size the scratch.
 *
 * Checked for the whole call (DOPT_ERR_INVALID_ARGUMENT, the message naming
 * the array and the instance): var_ptr[0] = con_ptr[0] = 0, both arrays
 * non-decreasing (instances that overlap could not be told apart), at most
 * 2^31 - 1 variables in all (col_idx is int32), b non-NULL when there are
 * rows. Per instance (status 5, outputs NaN / x = 0, other instances
 * untouched): what dopt_bern_problem's CSR rules say, with columns outside
 * the instance's own range [var_ptr[i], var_ptr[i+1]) (a row reaching into
 * another instance) also invalid, and with DOPT_BERN_EXACT an instance of
 * more than 16 variables. An instance with no variables or no rows is
 * valid. Samples use (seed, instance i, sample k, local coordinate j), the
 * uniform batch's counters: a block batch whose instances all have the same
 * sizes gives bitwise the results of dopt_bern_eval on the same data. */
typedef struct dopt_bern_blocks {
    int64_t batch;
    dopt_dtype dtype;
    const int64_t *var_ptr; /* batch + 1 offsets into the variables */
    const int64_t *con_ptr; /* batch + 1 offsets into the constraint rows */
    const int64_t *row_ptr; /* con_ptr[batch] + 1 absolute offsets into col_idx and values */
    const int32_t *col_idx; /* global variable indices; NULL allowed when no row has entries */
    const void *values;     /* NULL allowed when no row has entries */
    const void *b;          /* con_ptr[batch]; NULL allowed when con_ptr[batch] = 0 */
    const void *c;          /* var_ptr[batch], or NULL (0) */
} dopt_bern_blocks;

/* dopt_bern_eval on a block batch: xhat (or logits) var_ptr[batch];
 * res->loss, loss_se, status (batch); res->grad, grad_se var_ptr[batch]. */
DOPT_API dopt_status dopt_bern_eval_blocks(dopt_context *ctx, const dopt_bern_blocks *prob, const void *xhat,
                                           const dopt_bern_options *opt, dopt_bern_result *res);
/* dopt_bern_round on a block batch: xhat and x var_ptr[batch], status (batch). */
DOPT_API dopt_status dopt_bern_round_blocks(dopt_context *ctx, const dopt_bern_blocks *prob, const void *xhat, void *x,
                                            int32_t *status);
/* mu at a training step: mu0 * growth^step, capped at mu_max. */
DOPT_API double dopt_bern_mu_schedule(int64_t step, double mu0, double growth, double mu_max);

#ifdef __cplusplus
}
#endif
#endif
