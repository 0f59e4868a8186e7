/* Small dense linear algebra for one instance, row-major, written once for
 * both precisions: include with DREAL / DFN defined (see qp_ipm.h).
 * No guard on purpose: this file is instantiated once per precision. */

/* x . y */
DOPT_KFN DREAL DFN(la_dot)(int n, const DREAL *DOPT_RESTRICT x, const DREAL *DOPT_RESTRICT y)
{
    DREAL acc = 0;
    for (int i = 0; i < n; ++i) acc += x[i] * y[i];
    return acc;
}

/* y += a * x */
DOPT_KFN void DFN(la_axpy)(int n, DREAL a, const DREAL *DOPT_RESTRICT x, DREAL *DOPT_RESTRICT y)
{
    for (int i = 0; i < n; ++i) y[i] += a * x[i];
}

DOPT_KFN DREAL DFN(la_norm_inf)(int n, const DREAL *x)
{
    DREAL r = 0;
    for (int i = 0; i < n; ++i) {
        DREAL a = DABS(x[i]);
        if (a > r || a != a) r = a; /* NaN propagates */
    }
    return r;
}

/* In-place Cholesky of the lower triangle of an n x n row-major matrix.
 * Row-oriented (left-looking) so the inner products are contiguous.
 * Returns 0, or i+1 when pivot i is not positive (or NaN). The strict upper
 * triangle is neither read nor written. */
DOPT_KFN int DFN(la_cholesky)(int n, DREAL *a)
{
    for (int i = 0; i < n; ++i) {
        DREAL *ai = a + (size_t)i * n;
        for (int j = 0; j < i; ++j) {
            const DREAL *aj = a + (size_t)j * n;
            ai[j] = (ai[j] - DFN(la_dot)(j, ai, aj)) / aj[j];
        }
        DREAL d = ai[i] - DFN(la_dot)(i, ai, ai);
        if (!(d > 0)) return i + 1;
        ai[i] = DSQRT(d);
    }
    return 0;
}

/* Solve L y = x in place (L lower, from la_cholesky). */
DOPT_KFN void DFN(la_solve_lower)(int n, const DREAL *DOPT_RESTRICT l, DREAL *DOPT_RESTRICT x)
{
    for (int i = 0; i < n; ++i) {
        const DREAL *li = l + (size_t)i * n;
        x[i] = (x[i] - DFN(la_dot)(i, li, x)) / li[i];
    }
}

/* Solve L^T y = x in place, column sweeps so that memory is read by rows. */
DOPT_KFN void DFN(la_solve_lower_t)(int n, const DREAL *DOPT_RESTRICT l, DREAL *DOPT_RESTRICT x)
{
    for (int i = n - 1; i >= 0; --i) {
        const DREAL *li = l + (size_t)i * n;
        x[i] /= li[i];
        DFN(la_axpy)(i, -x[i], li, x);
    }
}

/* Solve (L L^T) y = x in place. */
DOPT_KFN void DFN(la_cholesky_solve)(int n, const DREAL *l, DREAL *x)
{
    DFN(la_solve_lower)(n, l, x);
    DFN(la_solve_lower_t)(n, l, x);
}

/* y = M x for M (rows x cols), row-major. */
DOPT_KFN void DFN(la_gemv)(int rows, int cols, const DREAL *DOPT_RESTRICT m,
                           const DREAL *DOPT_RESTRICT x, DREAL *DOPT_RESTRICT y)
{
    for (int r = 0; r < rows; ++r) y[r] = DFN(la_dot)(cols, m + (size_t)r * cols, x);
}

/* y += M^T x for M (rows x cols). */
DOPT_KFN void DFN(la_gemv_t_add)(int rows, int cols, const DREAL *DOPT_RESTRICT m,
                                 const DREAL *DOPT_RESTRICT x, DREAL *DOPT_RESTRICT y)
{
    for (int r = 0; r < rows; ++r)
        if (x[r] != 0) DFN(la_axpy)(cols, x[r], m + (size_t)r * cols, y);
}
