/* The sparse QP layer's structure and tape (opaque in dopt_sparse_qp.h),
 * shared by src/layers/sparse_qp_api.c and the backends. */
#ifndef DOPT_SPARSE_QP_INTERNAL_H
#define DOPT_SPARSE_QP_INTERNAL_H

#include "dopt.h"

struct dopt_backend_ops;

/* The patterns (copies) and the factored matrix's pattern, built by the
 * layer without any solver: Kf (see kernels/sparse_qp_ipm.h) is N x N, N =
 * n + m + k, columns x | z | y, upper triangle in CSC with sorted rows:
 *   column j < n:      the rows i <= j of Qs = (Q + Q')/2's pattern, and j
 *   column n + r:      G's row r (rows < n), then the diagonal
 *   column n + m + r:  A's row r, then the diagonal
 * so a G or A value's position is its column start plus its offset in the
 * CSR row; kq maps each Q entry to its (upper) position, kdiag the x
 * diagonal. The first n columns alone are Qs's upper triangle plus the
 * diagonal: the matrix of the positive semidefiniteness test. */
struct dopt_sparse_qp_structure {
    const struct dopt_backend_ops *ops; /* the backend that analysed it */
    int32_t n, m, k;
    int64_t *Qp, *Gp, *Ap; /* n + 1, m + 1, k + 1 */
    int32_t *Qi, *Gi, *Ai;
    int64_t N, nnzK;
    int64_t *Kp, *Ki;     /* Ki in int64: what CHOLMOD's long interface reads */
    int64_t *kq, *kdiag;  /* nnz(Q), n */
    void *backend;        /* the backend's analysis (CPU: CHOLMOD symbolic factors) */
    int32_t factor_path;  /* the backend's choice: DOPT_SQP_PATH_LDL or DOPT_SQP_PATH_NORMAL */
    int32_t ldl_order;    /* Kf's LDL' ordering: DOPT_SQP_ORDER_DUALS_FIRST or DOPT_SQP_ORDER_AMD */
};

/* How the CPU backend solves with Kf (docs/SPARSE_QP.md, "Two factorizations"):
 * a simplicial LDL' of Kf, or the dual normal equations (Qs diagonal). */
enum { DOPT_SQP_PATH_LDL = 0, DOPT_SQP_PATH_NORMAL = 1 };

/* The ordering of Kf's LDL' (docs/SPARSE_QP.md, "Ordering: duals first"):
 * the inequality duals, then the variables, then the equalities; or AMD's
 * unconstrained ordering where that costs too much. */
enum { DOPT_SQP_ORDER_AMD = 0, DOPT_SQP_ORDER_DUALS_FIRST = 1 };

struct dopt_sparse_qp_tape {
    const struct dopt_backend_ops *ops;
    const dopt_sparse_qp_structure *S;
    dopt_sparse_qp_values values; /* the caller's arrays */
    dopt_qp_options opt;
    int64_t batch;
    double *x, *lam, *nu; /* the solution in double (batch x n, m, k) */
    double *W, *Winv;     /* the scaling of each kept factor (batch x m) */
    int32_t *status;
    void **factors;       /* batch: the backend's numeric factor at the solution, or NULL */
};

#endif
