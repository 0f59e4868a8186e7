/* dopt: the sparse QP / LP layer (interior point on a sparse factorization of
 * the reduced KKT system, implicit-differentiation gradients on the sparsity
 * pattern). Part of the public API; include dopt.h (the umbrella) or this
 * header. docs/SPARSE_QP.md explains the method.
 *
 *   minimize 1/2 x'Qx + p'x  subject to  Gx <= h,  Ax = b      (per instance)
 *
 * the dense layer's problem (dopt_qp.h) with Q (n x n), G (m x n) and A
 * (k x n) stored in CSR. The whole batch shares ONE sparsity pattern per
 * matrix; the values may differ per instance. The pattern is analysed once
 * (fill-reducing ordering, symbolic factorization) by
 * dopt_sparse_qp_analyze; the structure is then used for any number of
 * solves with new values, which is what a training loop does.
 *
 * Backends: the CPU backend factors with CHOLMOD (SuiteSparse) and is built
 * when CHOLMOD is found; without it, and on the CUDA backend (whose sparse
 * path is not built yet), dopt_sparse_qp_analyze returns
 * DOPT_ERR_UNSUPPORTED. */
#ifndef DOPT_SPARSE_QP_PUBLIC_H
#define DOPT_SPARSE_QP_PUBLIC_H

#include "dopt_qp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One matrix's CSR pattern, HOST memory: rows + 1 row pointers (indptr[0] =
 * 0, nondecreasing, indptr[rows] = nnz) and nnz column indices, strictly
 * increasing within each row (scipy's canonical format: sorted, no
 * duplicates) and in [0, cols). A matrix with nnz = 0 may pass NULL arrays
 * when rows = 0; otherwise indptr is required. */
typedef struct dopt_csr_pattern {
    int32_t rows, cols;
    int64_t nnz;
    const int64_t *indptr;
    const int32_t *indices;
} dopt_csr_pattern;

/* The patterns of a problem family. Q is n x n (an LP: rows = 0, nnz = 0,
 * NULL arrays; or an n x n pattern with nnz = 0); only the
 * symmetric part of Q is used, as in the dense layer: the pattern may hold
 * both triangles (as scipy stores a symmetric matrix) or either one, and
 * the values must make 1/2 (Q + Q') positive semidefinite. G is m x n, A is
 * k x n; m = 0 or k = 0 are allowed (that pattern then has rows = 0).
 * Every pattern's sizes must agree with n, m, k. */
typedef struct dopt_sparse_qp_pattern {
    int32_t n, m, k;
    dopt_csr_pattern Q, G, A;
} dopt_sparse_qp_pattern;

/* The analysed structure: the patterns (copied: the caller's arrays may be
 * freed after the call), the reduced KKT system's pattern, its fill-reducing
 * ordering and symbolic factorization. Opaque; immutable once made, so one
 * structure may serve several contexts and threads at once. */
typedef struct dopt_sparse_qp_structure dopt_sparse_qp_structure;

/* Checks and analyses pat (host memory; nothing of it is kept). A bad pattern (sizes that disagree, indptr not
 * monotone, an index out of range or out of order) is
 * DOPT_ERR_INVALID_ARGUMENT with a message naming the matrix and the row.
 * A build without a sparse direct solver returns DOPT_ERR_UNSUPPORTED.
 * The CPU backend chooses here how it factors (docs/SPARSE_QP.md, "Two
 * factorizations"): an LDL' of the KKT matrix, or, when Q's pattern is
 * diagonal (LPs, Q = gamma I) and it is cheaper, a supernodal Cholesky of
 * the dual normal equations. The environment variable DOPT_SPARSE_QP_FACTOR
 * (read at this call) forces one: "ldl", "normal" (where Q's pattern is
 * diagonal) or "auto" (the default); another value is
 * DOPT_ERR_INVALID_ARGUMENT. */
DOPT_API dopt_status dopt_sparse_qp_analyze(dopt_context *ctx, const dopt_sparse_qp_pattern *pat,
                                            dopt_sparse_qp_structure **out);
DOPT_API void dopt_sparse_qp_structure_destroy(dopt_sparse_qp_structure *s);

/* Analyses `count` patterns at once, on the context's thread pool (the
 * analyses of a ragged batch: a pattern per graph); out[i] is what
 * dopt_sparse_qp_analyze(ctx, &pats[i], &out[i]) makes. A bad pattern
 * fails the call with a message naming it ("sparse qp: pattern 3: ..."),
 * and then every out[i] is NULL (nothing is left to free). */
DOPT_API dopt_status dopt_sparse_qp_analyze_many(dopt_context *ctx, int64_t count, const dopt_sparse_qp_pattern *pats,
                                                 dopt_sparse_qp_structure **out);

/* The values of a batch, BACKEND memory (host for the CPU backend, device
 * for CUDA), of dtype: Q_values (batch, nnz(Q)) in the pattern's order (NULL
 * when nnz(Q) = 0: an LP); p (batch,
 * n); G_values (batch, nnz(G)); h (batch, m); A_values (batch, nnz(A)); b
 * (batch, k). A bit of DOPT_QP_SHARE_* in `shared` makes that parameter one
 * copy for the whole batch (no leading batch dimension). h = +inf marks an
 * absent row, NaN/Inf elsewhere makes that instance DOPT_INVALID_DATA, as
 * in the dense layer. */
typedef struct dopt_sparse_qp_values {
    int64_t batch;
    dopt_dtype dtype;
    const void *Q_values, *p, *G_values, *h, *A_values, *b;
    uint32_t shared; /* DOPT_QP_SHARE_* bits */
} dopt_sparse_qp_values;

/* What the backward pass needs: each instance's numeric factorization at its
 * solution (host memory: about nnz(L) values and indices per solved
 * instance, L the factor of the (n + m + k)-square Newton system) and
 * copies of x, lam, nu. It refers to the structure and to the
 * values' arrays, which must stay alive and unchanged until the tape is
 * destroyed. */
typedef struct dopt_sparse_qp_tape dopt_sparse_qp_tape;

/* Solves the batch: the statuses, certificates, options (dopt_qp_options:
 * tol, tol_inf, max_iter, refine; infeasible_mode must be REPORT:
 * DOPT_QP_INFEASIBLE_CLOSEST is DOPT_ERR_INVALID_ARGUMENT) and outputs (dopt_qp_solution: x
 * (batch, n), lam (batch, m), nu (batch, k), status, iters; backend memory)
 * of dopt_qp_solve. float32 values are solved in float64 internally and the
 * results rounded (the default options are still float32's: tol 1e-6). Instances are independent: a bad instance never changes
 * another's result, and the result of an instance does not depend on the
 * batch or the thread count (bitwise on the CPU). tape as in dopt_qp_solve:
 * NULL for no tape, else *tape NULL or a tape of an earlier call with the
 * same structure, refilled in place. */
DOPT_API dopt_status dopt_sparse_qp_solve(dopt_context *ctx,
                                          const dopt_sparse_qp_structure *structure,
                                          const dopt_sparse_qp_values *values,
                                          const dopt_qp_options *opt, dopt_qp_solution *sol,
                                          dopt_sparse_qp_tape **tape);

/* Implicit differentiation at the solution, reusing the forward's
 * factorization. gin as for dopt_qp_backward. gout's dQ, dG, dA are
 * gradients with respect to the VALUES on the pattern: (batch, nnz) or, for
 * a shared matrix, (nnz) summed over the batch; dp, dh, db as in the dense
 * layer. A gradient with respect to Q's entry (i, j) is that of the matrix
 * as given (its symmetric part enters the problem), so for a pattern with
 * both triangles dQ_ij = dQ_ji. NULL = not wanted. Instances not solved
 * contribute zero. */
DOPT_API dopt_status dopt_sparse_qp_backward(dopt_context *ctx, const dopt_sparse_qp_tape *tape,
                                             const dopt_qp_grad_in *gin,
                                             dopt_qp_grad_out *gout);
DOPT_API void dopt_sparse_qp_tape_destroy(dopt_sparse_qp_tape *tape);

/* Ragged batches: several structures in one call. A batch whose instances
 * have different sizes or patterns (a different graph per training sample)
 * is a list of groups, each a structure and the values of its own batch
 * (a group of batch 1 per instance, or one group per distinct pattern);
 * every instance of every group runs on the context's thread pool at once,
 * so small groups keep all workers busy. Each group gets exactly what
 * dopt_sparse_qp_solve of that group alone gives (bitwise on the CPU).
 * Every group's values must have the same dtype; opt applies to all.
 * tapes: NULL for none, else `count` entries, each NULL or a tape of an
 * earlier call (refilled in place as in dopt_sparse_qp_solve); group g's
 * tape is tapes[g] afterwards, for dopt_sparse_qp_backward or
 * dopt_sparse_qp_backward_groups. A bad group fails the call with a message
 * naming it ("sparse qp: group 3: ..."), before anything is solved; after a
 * failure every tapes[g] is NULL (tapes passed in freed), except when the
 * call is refused outright (count < 0, groups NULL, one tape in two slots):
 * then tapes is left as it was. */
typedef struct dopt_sparse_qp_group {
    const dopt_sparse_qp_structure *structure;
    dopt_sparse_qp_values values;
    dopt_qp_solution solution; /* the group's outputs, as for dopt_sparse_qp_solve */
} dopt_sparse_qp_group;

DOPT_API dopt_status dopt_sparse_qp_solve_groups(dopt_context *ctx, int64_t count, const dopt_sparse_qp_group *groups,
                                                 const dopt_qp_options *opt, dopt_sparse_qp_tape **tapes);

/* The backward of several tapes in one call (every instance on the thread
 * pool at once); entry g is exactly dopt_sparse_qp_backward(ctx, tape, &in,
 * &out) of that group alone. */
typedef struct dopt_sparse_qp_group_grad {
    const dopt_sparse_qp_tape *tape;
    dopt_qp_grad_in in;
    dopt_qp_grad_out out;
} dopt_sparse_qp_group_grad;

DOPT_API dopt_status dopt_sparse_qp_backward_groups(dopt_context *ctx, int64_t count,
                                                    const dopt_sparse_qp_group_grad *groups);

#ifdef __cplusplus
}
#endif
#endif
