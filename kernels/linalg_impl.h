/* Small dense linear algebra for one instance, row-major, written once for
 * both precisions: include with DREAL / DFN defined (see qp_ipm.h).
 * No guard on purpose: this file is instantiated once per precision. */

/* x . y with eight partial sums in a fixed order: the compiler may then
 * vectorize it without reassociating (a single running sum cannot be
 * vectorized under strict IEEE semantics), and the result is the same for
 * every thread count and on the GPU. */
DOPT_KFN DREAL DFN(la_dot)(int n, const DREAL *DOPT_RESTRICT x, const DREAL *DOPT_RESTRICT y)
{
    DREAL a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        a0 += x[i] * y[i];
        a1 += x[i + 1] * y[i + 1];
        a2 += x[i + 2] * y[i + 2];
        a3 += x[i + 3] * y[i + 3];
        a4 += x[i + 4] * y[i + 4];
        a5 += x[i + 5] * y[i + 5];
        a6 += x[i + 6] * y[i + 6];
        a7 += x[i + 7] * y[i + 7];
    }
    for (; i < n; ++i) a0 += x[i] * y[i];
    return ((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7));
}

/* x . y accumulated in double whatever DREAL is, in la_dot's order (for
 * DREAL = double it is la_dot). The float32 solve computes its residuals
 * with it: a residual is a small difference of large terms, and summed in
 * float its rounding (about sqrt(n) eps_f of the terms) is a floor of
 * 1e-6 relative that the interior point cannot get below; the iterate and
 * the factorization stay in float. */
DOPT_KFN double DFN(la_dot_acc)(int n, const DREAL *DOPT_RESTRICT x, const DREAL *DOPT_RESTRICT y)
{
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        a0 += (double)x[i] * y[i];
        a1 += (double)x[i + 1] * y[i + 1];
        a2 += (double)x[i + 2] * y[i + 2];
        a3 += (double)x[i + 3] * y[i + 3];
        a4 += (double)x[i + 4] * y[i + 4];
        a5 += (double)x[i + 5] * y[i + 5];
        a6 += (double)x[i + 6] * y[i + 6];
        a7 += (double)x[i + 7] * y[i + 7];
    }
    for (; i < n; ++i) a0 += (double)x[i] * y[i];
    return ((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7));
}

/* acc[q] += (M' x)[j0 + q] for q < width <= 8, summed in double: eight
 * adjacent columns of M (rows x cols, row-major) at a time, so each row is
 * read as one contiguous run (the transposed products M'x of the
 * mixed-precision residuals, each entry summed in double before it is
 * rounded). */
DOPT_KFN void DFN(la_gemv_t_block8_acc)(int rows, int cols, const DREAL *DOPT_RESTRICT m,
                                        const DREAL *DOPT_RESTRICT x, int j0, int width, double *DOPT_RESTRICT acc)
{
    if (width == 8) {
        for (int r = 0; r < rows; ++r) {
            const DREAL *row = m + (size_t)r * cols + j0;
            double xr = x[r];
            for (int q = 0; q < 8; ++q) acc[q] += (double)row[q] * xr;
        }
        return;
    }
    for (int r = 0; r < rows; ++r) {
        const DREAL *row = m + (size_t)r * cols + j0;
        double xr = x[r];
        for (int q = 0; q < width; ++q) acc[q] += (double)row[q] * xr;
    }
}

/* y += a * x */
DOPT_KFN void DFN(la_axpy)(int n, DREAL a, const DREAL *DOPT_RESTRICT x, DREAL *DOPT_RESTRICT y)
{
    for (int i = 0; i < n; ++i) y[i] += a * x[i];
}

/* In-place Cholesky H = U'U of the upper triangle of an n x n row-major
 * matrix (U = L' is kept in the upper triangle; "L" below means U').
 * Right-looking, so every update is a contiguous row axpy. Returns 0, or
 * k+1 when pivot k is not positive (or NaN). The strict lower triangle is
 * neither read nor written. */
DOPT_KFN int DFN(la_cholesky)(int n, DREAL *a)
{
    for (int k = 0; k < n; ++k) {
        DREAL *ak = a + (size_t)k * n;
        DREAL d = ak[k];
        if (!(d > 0)) return k + 1;
        DREAL u = DSQRT(d), inv = 1 / u;
        ak[k] = u;
        for (int j = k + 1; j < n; ++j) ak[j] *= inv;
        for (int i = k + 1; i < n; ++i) DFN(la_axpy)(n - i, -ak[i], ak + i, a + (size_t)i * n + i);
    }
    return 0;
}

/* Solve L y = x in place, L = U' (forward substitution by row axpys). */
DOPT_KFN void DFN(la_solve_lower)(int n, const DREAL *DOPT_RESTRICT u, DREAL *DOPT_RESTRICT x)
{
    for (int k = 0; k < n; ++k) {
        const DREAL *uk = u + (size_t)k * n;
        x[k] /= uk[k];
        DFN(la_axpy)(n - k - 1, -x[k], uk + k + 1, x + k + 1);
    }
}

/* Solve L' y = x in place, L' = U (back substitution by row dots). */
DOPT_KFN void DFN(la_solve_lower_t)(int n, const DREAL *DOPT_RESTRICT u, DREAL *DOPT_RESTRICT x)
{
    for (int i = n - 1; i >= 0; --i) {
        const DREAL *ui = u + (size_t)i * n;
        x[i] = (x[i] - DFN(la_dot)(n - i - 1, ui + i + 1, x + i + 1)) / ui[i];
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

/* One 4 x 8 block of Y'Y: out[a][b] = sum_r y[r][i0+a] y[r][j0+b], the
 * inner loop one broadcast times one contiguous 8-vector per row (what SIMD
 * units, and GPU registers, do best). */
DOPT_KFN void DFN(la_gram_block_4x8)(int n, int rows, const DREAL *DOPT_RESTRICT y, int i0, int j0,
                                     DREAL *DOPT_RESTRICT c0, DREAL *DOPT_RESTRICT c1, DREAL *DOPT_RESTRICT c2,
                                     DREAL *DOPT_RESTRICT c3)
{
    for (int b = 0; b < 8; ++b) c0[b] = c1[b] = c2[b] = c3[b] = 0;
    for (int r = 0; r < rows; ++r) {
        const DREAL *yr = y + (size_t)r * n;
        const DREAL g0 = yr[i0], g1 = yr[i0 + 1], g2 = yr[i0 + 2], g3 = yr[i0 + 3];
        const DREAL *yj = yr + j0;
        for (int b = 0; b < 8; ++b) {
            c0[b] += g0 * yj[b];
            c1[b] += g1 * yj[b];
            c2[b] += g2 * yj[b];
            c3[b] += g3 * yj[b];
        }
    }
}

/* A += Y' Y on the upper triangle, Y (rows x n) row-major: the Gram matrix
 * of the columns of Y (here Y = W^1/2 G, so H += G'WG), by 4 x 8 blocks;
 * edge blocks take the scalar path. */
DOPT_KFN void DFN(la_syrk_upper_add)(int n, int rows, const DREAL *DOPT_RESTRICT y, DREAL *DOPT_RESTRICT a)
{
    DREAL c[4][8];
    for (int i0 = 0; i0 < n; i0 += 4) {
        for (int j0 = (i0 / 8) * 8; j0 < n; j0 += 8) {
            if (i0 + 4 <= n && j0 + 8 <= n) {
                DFN(la_gram_block_4x8)(n, rows, y, i0, j0, c[0], c[1], c[2], c[3]);
            } else {
                for (int p = 0; p < 4; ++p)
                    for (int q = 0; q < 8; ++q) {
                        DREAL acc = 0;
                        if (i0 + p < n && j0 + q < n)
                            for (int r = 0; r < rows; ++r) acc += y[(size_t)r * n + i0 + p] * y[(size_t)r * n + j0 + q];
                        c[p][q] = acc;
                    }
            }
            for (int p = 0; p < 4 && i0 + p < n; ++p)
                for (int q = 0; q < 8 && j0 + q < n; ++q)
                    if (j0 + q >= i0 + p) a[(size_t)(i0 + p) * n + j0 + q] += c[p][q];
        }
    }
}
