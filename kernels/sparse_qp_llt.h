/* Solves with a supernodal LL' factorization of a symmetrically permuted
 * matrix, P S P' = L L', stored as CHOLMOD's supernodal factor is: supernode
 * s holds the columns super[s] .. super[s+1]-1 of L as one dense column-major
 * block with pi[s+1] - pi[s] rows (their row indices at ls[pi[s]..], the
 * supernode's own columns first) starting at lx[px[s]]; the block's part
 * above the diagonal is unused. Plain arrays, so the same code serves any
 * library that produces such a factor. The solve is ours rather than the
 * library's so that it allocates nothing and runs in a fixed order (its cost,
 * O(nnz(L)), is small next to the factorization's). Used by the dual normal
 * equations of the sparse QP layer (kernels/sparse_qp_normal.h). */
#ifndef DOPT_SPARSE_QP_LLT_H
#define DOPT_SPARSE_QP_LLT_H

#include "dopt_kernel_common.h"

typedef struct {
    int64_t N, nsuper;
    const int64_t *perm;  /* perm[j]: the row of S that is row j of P S P' */
    const int64_t *super; /* nsuper + 1: the first column of each supernode */
    const int64_t *pi;    /* nsuper + 1: each supernode's first row index in ls */
    const int64_t *px;    /* nsuper + 1: each supernode's first value in lx */
    const int64_t *ls;
    const double *lx;
} sqp_llt;

/* b <- S^-1 b, with `tmp` N scratch values. */
DOPT_KFN void sqp_llt_solve(const sqp_llt *f, double *b, double *tmp)
{
    int64_t N = f->N;
    for (int64_t j = 0; j < N; ++j) tmp[j] = b[f->perm[j]];
    for (int64_t s = 0; s < f->nsuper; ++s) { /* L y = P b */
        int64_t k1 = f->super[s], ncol = f->super[s + 1] - k1;
        int64_t nrow = f->pi[s + 1] - f->pi[s];
        const int64_t *rows = f->ls + f->pi[s];
        const double *blk = f->lx + f->px[s];
        double *own = tmp + k1; /* the supernode's own rows are contiguous: a loop the compiler vectorizes */
        for (int64_t c = 0; c < ncol; ++c) {
            const double *col = blk + c * nrow;
            double yc = own[c] / col[c];
            own[c] = yc;
            if (yc == 0) continue;
            for (int64_t i = c + 1; i < ncol; ++i) own[i] -= col[i] * yc;
            for (int64_t i = ncol; i < nrow; ++i) tmp[rows[i]] -= col[i] * yc;
        }
    }
    for (int64_t s = f->nsuper - 1; s >= 0; --s) { /* L' */
        int64_t k1 = f->super[s], ncol = f->super[s + 1] - k1;
        int64_t nrow = f->pi[s + 1] - f->pi[s];
        const int64_t *rows = f->ls + f->pi[s];
        const double *blk = f->lx + f->px[s];
        double *own = tmp + k1;
        for (int64_t c = ncol - 1; c >= 0; --c) {
            const double *col = blk + c * nrow;
            /* four partial sums: a dot product's add chain, not its memory,
             * bounds this loop (the order is fixed: bitwise reproducible) */
            double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            int64_t i = c + 1;
            for (; i + 4 <= ncol; i += 4) {
                a0 += col[i] * own[i];
                a1 += col[i + 1] * own[i + 1];
                a2 += col[i + 2] * own[i + 2];
                a3 += col[i + 3] * own[i + 3];
            }
            for (; i < ncol; ++i) a0 += col[i] * own[i];
            for (i = ncol; i < nrow; ++i) a1 += col[i] * tmp[rows[i]];
            own[c] = (own[c] - ((a0 + a1) + (a2 + a3))) / col[c];
        }
    }
    for (int64_t j = 0; j < N; ++j) b[f->perm[j]] = tmp[j];
}

#endif
