/* Solves with a simplicial LDL' factorization of a symmetrically permuted
 * matrix, P K P' = L D L', stored column by column as CHOLMOD's simplicial
 * factor is (L unit lower triangular; column j's first entry is D_j, the
 * next nz[j] - 1 entries are L's below-diagonal entries of that column).
 * Plain arrays, so the same code serves any library that produces such a
 * factor. Used by the sparse QP layer (kernels/sparse_qp_ipm.h). */
#ifndef DOPT_SPARSE_QP_LDL_H
#define DOPT_SPARSE_QP_LDL_H

#include "dopt_kernel_common.h"

typedef struct {
    int64_t N;
    const int64_t *perm; /* perm[j]: the row of K that is row j of P K P' */
    const int64_t *colp; /* column j starts at colp[j] */
    const int64_t *colnz; /* entries in column j, the diagonal included */
    const int64_t *rowi;
    const double *val;
} sqp_ldl;

/* b <- K^-1 b, with `tmp` N scratch values. */
DOPT_KFN void sqp_ldl_solve(const sqp_ldl *f, double *b, double *tmp)
{
    int64_t N = f->N;
    for (int64_t j = 0; j < N; ++j) tmp[j] = b[f->perm[j]];
    for (int64_t j = 0; j < N; ++j) { /* L y = P b */
        double yj = tmp[j];
        if (yj == 0) continue;
        int64_t p0 = f->colp[j] + 1, p1 = f->colp[j] + f->colnz[j];
        for (int64_t q = p0; q < p1; ++q) tmp[f->rowi[q]] -= f->val[q] * yj;
    }
    for (int64_t j = 0; j < N; ++j) tmp[j] /= f->val[f->colp[j]]; /* D */
    for (int64_t j = N - 1; j >= 0; --j) { /* L' */
        double acc = tmp[j];
        int64_t p0 = f->colp[j] + 1, p1 = f->colp[j] + f->colnz[j];
        for (int64_t q = p0; q < p1; ++q) acc -= f->val[q] * tmp[f->rowi[q]];
        tmp[j] = acc;
    }
    for (int64_t j = 0; j < N; ++j) b[f->perm[j]] = tmp[j];
}

/* 1 when the pivots have the inertia of a matrix whose first `npos` rows
 * are positive definite and the rest negative definite: D_j > 0 for those
 * rows, D_j < 0 for the others, all finite. With npos = N: the matrix is
 * positive definite (the test of Q's semidefiniteness). With npos = n: the
 * quasidefinite Kf's inertia, which its LDL' has for every ordering in exact
 * arithmetic; an ordering that eliminates a variable (pivot ~delta) before
 * the duals it touches creates entries ~1/delta, and at a small delta late
 * pivots lose their sign to rounding. Such a factor is refused and delta
 * raised: a wrong-signed factor preconditions the refinement so badly that
 * its residual can grow (measured: relative residual 1 to 5 after the base
 * solve on random LPs forced onto this path, which then ran to the
 * iteration limit where the dense layer certified unboundedness in 4-6
 * iterations). docs/SPARSE_QP.md. */
DOPT_KFN int sqp_ldl_inertia_ok(const sqp_ldl *f, int64_t npos)
{
    for (int64_t j = 0; j < f->N; ++j) {
        double d = f->val[f->colp[j]];
        if (!(fabs(d) <= DBL_MAX)) return 0;
        if (f->perm[j] < npos ? !(d > 0) : !(d < 0)) return 0;
    }
    return 1;
}

#endif
