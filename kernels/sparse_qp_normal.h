/* The dual normal equations: a second way to solve with the sparse QP
 * layer's regularized Newton matrix Kf (kernels/sparse_qp_ipm.h) when its x
 * block is diagonal (Qs diagonal: every LP, Q = gamma I). Kf, as the kernel
 * fills it (scaled: G's row r times W_r^1/2),
 *     [ Dq     Gs'   Gr'   A' ]     Dq = diag(Qs) + delta I
 *     [ Gs    -Cs    0     0  ]     Gs: G's singleton rows (one stored entry)
 *     [ Gr     0    -Cr    0  ]     Gr: G's other rows
 *     [ A      0     0    -Ca ]     C = minus Kf's diagonal there (1, delta)
 * Eliminating the singleton rows' dz (bounds such as 0 <= x <= 1) folds them
 * into the diagonal, D = Dq + Gs' Cs^-1 Gs (positive: delta > 0); eliminating
 * x then leaves, for the other rows R = [Gr; A],
 *     S = C_R + R D^-1 R'        (positive definite)
 * which a supernodal LL' (BLAS-3) factors, where the indefinite Kf needs a
 * simplicial LDL'. In exact arithmetic S's solve is Kf's: the kernel's
 * refinement against the true K is unchanged. S has the size of R's rows:
 * the covering rows of a set cover (500), not its 2500 rows and columns.
 * One dense column of R (a variable in every row) makes S dense, as one
 * dense row of G would make G'WG dense: the analysis compares the two
 * factorizations' flops (src/cpu/sparse_qp_normal_cpu.c). docs/SPARSE_QP.md. */
#ifndef DOPT_SPARSE_QP_NORMAL_H
#define DOPT_SPARSE_QP_NORMAL_H

#include "dopt_kernel_common.h"

/* Where S's ingredients sit in Kf's values (the same for every instance;
 * built once per structure). R's rows: G's non-singleton rows in order, then
 * A's rows. */
typedef struct {
    int n;
    int64_t nR, nsing, nnzS;
    const int64_t *kdiag;  /* n: Dq's positions in Kf */
    /* singleton rows: the Kf positions of the entry g and of the diagonal -c,
     * the entry's column, and the row's index in the stacked [x; z; y] */
    const int64_t *sg, *sc, *scol, *srow;
    /* R by columns: column j's entries t in Rcp[j] .. Rcp[j+1] - 1, in
     * increasing R row Rr[t], value at Kf position Rk[t] */
    const int64_t *Rcp, *Rr, *Rk;
    const int64_t *Rdiag;  /* nR: the Kf position of each R row's -C */
    const int64_t *Rstk;   /* nR: each R row's index in the stacked [x; z; y] */
    /* positions in S's values, laid out as the factorization reads them (the
     * CPU: the lower triangle of S permuted by the fill-reducing ordering):
     * each R row's diagonal, and, for column j, every pair t <= u of its
     * entries in order, the entry S(Rr[t], Rr[u]) */
    const int64_t *Sdiag;  /* nR */
    const int64_t *pairpos;
} sqp_normal_map;

/* One factorization's numbers, which the solve reads (and the backward
 * keeps beside the factor): D, R's values by columns (Rv[t] = Kf's value at
 * Rk[t]), each singleton row's entry g and its c. sqp_normal_vals_size
 * doubles, mapped by sqp_normal_vals_map. */
typedef struct {
    double *D, *Rv, *gs, *cs;
} sqp_normal_vals;

DOPT_KFN size_t sqp_normal_vals_size(const sqp_normal_map *mp)
{
    return (size_t)mp->n + (size_t)mp->Rcp[mp->n] + 2 * (size_t)mp->nsing;
}

DOPT_KFN sqp_normal_vals sqp_normal_vals_map(const sqp_normal_map *mp, double *c)
{
    sqp_normal_vals v;
    v.D = c;
    c += mp->n;
    v.Rv = c;
    c += mp->Rcp[mp->n];
    v.gs = c;
    c += mp->nsing;
    v.cs = c;
    return v;
}

/* The numbers and S's values from Kf's; 0 on success, 1 when D has a pivot
 * that is not positive and finite (the caller raises delta, as for a failed
 * LDL'). */
DOPT_KFN int sqp_normal_form(const sqp_normal_map *mp, const double *kval, sqp_normal_vals *nv, double *Sx)
{
    int n = mp->n;
    double *D = nv->D;
    for (int64_t t = 0; t < mp->Rcp[n]; ++t) nv->Rv[t] = kval[mp->Rk[t]];
    for (int j = 0; j < n; ++j) D[j] = kval[mp->kdiag[j]];
    for (int64_t r = 0; r < mp->nsing; ++r) {
        double g = kval[mp->sg[r]], c = -kval[mp->sc[r]];
        nv->gs[r] = g;
        nv->cs[r] = c;
        D[mp->scol[r]] += g * g / c;
    }
    for (int j = 0; j < n; ++j)
        if (!(D[j] > 0 && D[j] <= DBL_MAX)) return 1;
    for (int64_t q = 0; q < mp->nnzS; ++q) Sx[q] = 0;
    for (int64_t a = 0; a < mp->nR; ++a) Sx[mp->Sdiag[a]] = -kval[mp->Rdiag[a]];
    const int64_t *pos = mp->pairpos;
    for (int j = 0; j < n; ++j) {
        const double *col = nv->Rv + mp->Rcp[j];
        int64_t len = mp->Rcp[j + 1] - mp->Rcp[j];
        double inv = 1 / D[j];
        for (int64_t t = 0; t < len; ++t) {
            double vt = col[t] * inv;
            for (int64_t u = t; u < len; ++u) Sx[*pos++] += vt * col[u];
        }
    }
    return 0;
}

/* b <- Kf^-1 b (stacked [x; z; y], length n + m + k) with S's factor:
 * solveS(ctx, v) does v <- S^-1 v; tmp holds n + nR scratch values. */
DOPT_KFN void sqp_normal_solve(const sqp_normal_map *mp, const sqp_normal_vals *nv,
                               void (*solveS)(void *ctx, double *v), void *ctx, double *b, double *tmp)
{
    int n = mp->n;
    const double *D = nv->D, *Rv = nv->Rv;
    double *u = tmp, *yR = tmp + n;
    /* u = D^-1 (bx + Gs' Cs^-1 bs) */
    for (int j = 0; j < n; ++j) u[j] = b[j];
    for (int64_t r = 0; r < mp->nsing; ++r) u[mp->scol[r]] += nv->gs[r] * b[mp->srow[r]] / nv->cs[r];
    for (int j = 0; j < n; ++j) u[j] /= D[j];
    /* S yR = R u - bR */
    for (int64_t a = 0; a < mp->nR; ++a) yR[a] = -b[mp->Rstk[a]];
    for (int j = 0; j < n; ++j)
        for (int64_t t = mp->Rcp[j]; t < mp->Rcp[j + 1]; ++t) yR[mp->Rr[t]] += Rv[t] * u[j];
    if (mp->nR > 0) solveS(ctx, yR);
    /* x = u - D^-1 R' yR; the singleton rows' z = Cs^-1 (Gs x - bs) */
    for (int j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t t = mp->Rcp[j]; t < mp->Rcp[j + 1]; ++t) acc += Rv[t] * yR[mp->Rr[t]];
        b[j] = u[j] - acc / D[j];
    }
    for (int64_t r = 0; r < mp->nsing; ++r)
        b[mp->srow[r]] = (nv->gs[r] * b[mp->scol[r]] - b[mp->srow[r]]) / nv->cs[r];
    for (int64_t a = 0; a < mp->nR; ++a) b[mp->Rstk[a]] = yR[a];
}

#endif
