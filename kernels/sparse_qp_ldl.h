/* A simplicial LDL' factorization of a symmetrically permuted matrix,
 * P K P' = L D L': its numeric factorization on a static schedule and its
 * solves. Stored column by column as CHOLMOD's simplicial factor is (L unit
 * lower triangular; column j's first entry is D_j, the next nz[j] - 1
 * entries are L's below-diagonal entries of that column), so the inertia
 * test reads CHOLMOD's factor (Qs's semidefiniteness test) and ours alike.
 * Used by the sparse QP layer (kernels/sparse_qp_ipm.h). */
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
    /* NULL, or per column j the position from which its rows run
     * consecutively to the column's end (sqp_ldl_schedule's tail) */
    const int64_t *tail;
} sqp_ldl;

/* The numeric LDL' on a static schedule. For a symmetric matrix A whose
 * pattern is fixed (the batch shares it; every iterate refactors it), the
 * elimination tree and every row's nonzero pattern are computed once
 * (src/cpu/sparse_qp_ldl_schedule.c), so a factorization is only its
 * arithmetic: the up-looking LDL' (row k of L from a sparse triangular
 * solve with the rows above it), with no tree walk, no marks and no
 * transpose per call. L is written in sqp_ldl's layout, so the solve above
 * reads it. Plain arrays and no allocation: the code a GPU thread or a SIMD
 * lane would run for its instance. */
typedef struct {
    int64_t N;
    const int64_t *colp;   /* N + 1: column j of L at colp[j] (its diagonal slot), then its rows */
    const int64_t *colnz;  /* N: entries in column j, the diagonal included */
    const int64_t *rowi;   /* colp[N]: row indices, increasing within a column after the diagonal */
    /* row k of L: the columns i < k with L(k, i) structurally nonzero, in
     * increasing order (a topological order of the row's triangular solve),
     * and the position of L(k, i) in column i */
    const int64_t *rowp, *rowcol, *rowpos;
    /* N: where column j's rows start to run consecutively to its end
     * (colp[j] + 1 <= tail[j] <= colp[j] + colnz[j]): the dense trailing
     * block that fill creates (83-92 % of a graph matrix's flops, measured),
     * where the scatter through rowi becomes a unit-stride loop the
     * compiler vectorizes. Each y element gets the same operations in the
     * same order either way: bitwise the same factor. */
    const int64_t *tail;
} sqp_ldl_schedule;

/* y[0..len) -= l[0..len) * a: a consecutive run of rows (restrict: y is
 * the scratch or solve vector, l the factor's values; they never overlap). */
DOPT_KFN void sqp_ldl_axpy_run(double *DOPT_RESTRICT y, const double *DOPT_RESTRICT l, int64_t len, double a)
{
    for (int64_t u = 0; u < len; ++u) y[u] -= l[u] * a;
}

/* l[0..len) . t[0..len) in eight partial sums: a run is up to the dense
 * trailing block's size, and one chain of dependent adds would bound the
 * loop by the add's latency rather than by its loads. A fixed order:
 * bitwise reproducible. */
DOPT_KFN double sqp_ldl_dot_run(const double *l, const double *t, int64_t len)
{
    double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t u = 0;
    for (; u + 8 <= len; u += 8)
        for (int r = 0; r < 8; ++r) a[r] += l[u + r] * t[u + r];
    double sum = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    for (; u < len; ++u) sum += l[u] * t[u];
    return sum;
}

/* val <- the LDL' of A (upper triangle in CSC, rows sorted, already in the
 * factor's order): val[colp[j]] = D_j, then column j of L below its unit
 * diagonal. y: N scratch values, all zero on entry and on return. A zero
 * or non-finite pivot is not an error here: it propagates, and the caller's
 * inertia test (sqp_ldl_inertia_ok) refuses the factor. */
DOPT_KFN void sqp_ldl_numeric(const sqp_ldl_schedule *s, const int64_t *Ap, const int64_t *Ai, const double *Ax,
                              double *val, double *y)
{
    for (int64_t k = 0; k < s->N; ++k) {
        for (int64_t p = Ap[k]; p < Ap[k + 1]; ++p) y[Ai[p]] += Ax[p];
        double dk = y[k];
        y[k] = 0;
        for (int64_t t = s->rowp[k]; t < s->rowp[k + 1]; ++t) {
            int64_t i = s->rowcol[t], pos = s->rowpos[t];
            double yi = y[i];
            y[i] = 0;
            /* column i's rows above k: every one is in row k's pattern too
             * (the elimination tree's property), so y is cleared behind */
            int64_t c0 = s->tail[i] < pos ? s->tail[i] : pos;
            for (int64_t q = s->colp[i] + 1; q < c0; ++q) y[s->rowi[q]] -= val[q] * yi;
            if (c0 < pos) sqp_ldl_axpy_run(y + s->rowi[c0], val + c0, pos - c0, yi);
            double l = yi / val[s->colp[i]];
            dk -= l * yi;
            val[pos] = l;
        }
        val[s->colp[k]] = dk;
    }
}

/* b <- K^-1 b, with `tmp` N scratch values. */
DOPT_KFN void sqp_ldl_solve(const sqp_ldl *f, double *b, double *tmp)
{
    int64_t N = f->N;
    for (int64_t j = 0; j < N; ++j) tmp[j] = b[f->perm[j]];
    for (int64_t j = 0; j < N; ++j) { /* L y = P b */
        double yj = tmp[j];
        if (yj == 0) continue;
        int64_t p0 = f->colp[j] + 1, p1 = f->colp[j] + f->colnz[j], c0 = f->tail ? f->tail[j] : p1;
        for (int64_t q = p0; q < c0; ++q) tmp[f->rowi[q]] -= f->val[q] * yj;
        if (c0 < p1) sqp_ldl_axpy_run(tmp + f->rowi[c0], f->val + c0, p1 - c0, yj);
    }
    for (int64_t j = 0; j < N; ++j) tmp[j] /= f->val[f->colp[j]]; /* D */
    for (int64_t j = N - 1; j >= 0; --j) { /* L' */
        double acc = tmp[j];
        int64_t p0 = f->colp[j] + 1, p1 = f->colp[j] + f->colnz[j], c0 = f->tail ? f->tail[j] : p1;
        for (int64_t q = p0; q < c0; ++q) acc -= f->val[q] * tmp[f->rowi[q]];
        if (c0 < p1) acc -= sqp_ldl_dot_run(f->val + c0, tmp + f->rowi[c0], p1 - c0);
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
