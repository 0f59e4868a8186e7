/* Small dense linear algebra on DREAL_LANES instances at once, interleaved:
 * element e of lane l's vector or matrix lies at [e * DREAL_LANES + l], so
 * the innermost loop of every routine runs over the lanes with unit stride
 * (the compiler turns it into SIMD code; on a GPU, consecutive threads
 * would read consecutive addresses). Each routine does, lane by lane,
 * exactly the arithmetic of its counterpart in linalg_impl.h in the same
 * order (la_dot's eight partial sums included), so a lane computes what
 * the per-instance code computes, bit for bit. Included per precision by
 * qp_ipm.h with DREAL / DFN / DREAL_LANES set. No guard on purpose. */

/* out[l] = x_l . y_l in la_dot's order: eight partial sums per lane, each
 * its own array so that every statement is one SIMD operation over the
 * lanes (a two-dimensional accumulator made the compiler shuffle). */
#define QPL_DOT_BODY(ACC, CAST)                                                                   \
    ACC a0[DREAL_LANES], a1[DREAL_LANES], a2[DREAL_LANES], a3[DREAL_LANES], a4[DREAL_LANES],     \
        a5[DREAL_LANES], a6[DREAL_LANES], a7[DREAL_LANES];                                       \
    for (int l = 0; l < DREAL_LANES; ++l) a0[l] = a1[l] = a2[l] = a3[l] = a4[l] = a5[l] = a6[l] = a7[l] = 0; \
    int i = 0;                                                                                    \
    for (; i + 8 <= n; i += 8) {                                                                  \
        const DREAL *xi = x + (size_t)i * DREAL_LANES, *yi = y + (size_t)i * DREAL_LANES;         \
        for (int l = 0; l < DREAL_LANES; ++l) {                                                   \
            a0[l] += CAST xi[l] * yi[l];                                                          \
            a1[l] += CAST xi[DREAL_LANES + l] * yi[DREAL_LANES + l];                              \
            a2[l] += CAST xi[2 * DREAL_LANES + l] * yi[2 * DREAL_LANES + l];                      \
            a3[l] += CAST xi[3 * DREAL_LANES + l] * yi[3 * DREAL_LANES + l];                      \
            a4[l] += CAST xi[4 * DREAL_LANES + l] * yi[4 * DREAL_LANES + l];                      \
            a5[l] += CAST xi[5 * DREAL_LANES + l] * yi[5 * DREAL_LANES + l];                      \
            a6[l] += CAST xi[6 * DREAL_LANES + l] * yi[6 * DREAL_LANES + l];                      \
            a7[l] += CAST xi[7 * DREAL_LANES + l] * yi[7 * DREAL_LANES + l];                      \
        }                                                                                         \
    }                                                                                             \
    for (; i < n; ++i) {                                                                          \
        const DREAL *xi = x + (size_t)i * DREAL_LANES, *yi = y + (size_t)i * DREAL_LANES;         \
        for (int l = 0; l < DREAL_LANES; ++l) a0[l] += CAST xi[l] * yi[l];                        \
    }                                                                                             \
    for (int l = 0; l < DREAL_LANES; ++l) out[l] = ((a0[l] + a4[l]) + (a1[l] + a5[l])) + ((a2[l] + a6[l]) + (a3[l] + a7[l]));

DOPT_KFN void DFN(lv_dot)(int n, const DREAL *x, const DREAL *y, DREAL *DOPT_RESTRICT out)
{
    QPL_DOT_BODY(DREAL, )
}

/* out[l] = x_l . y_l summed in double (la_dot_acc's order) */
DOPT_KFN void DFN(lv_dot_acc)(int n, const DREAL *x, const DREAL *y, double *DOPT_RESTRICT out)
{
    QPL_DOT_BODY(double, (double))
}
#undef QPL_DOT_BODY

/* acc[q][l] += (M_l' x_l)[j0 + q], q < width <= 8, in double (la_gemv_t_block8_acc) */
DOPT_KFN void DFN(lv_gemv_t_block8_acc)(int rows, int cols, const DREAL *m, const DREAL *x, int j0, int width,
                                        double acc[8][DREAL_LANES])
{
    for (int r = 0; r < rows; ++r) {
        const DREAL *row = m + ((size_t)r * cols + j0) * DREAL_LANES, *xr = x + (size_t)r * DREAL_LANES;
        for (int q = 0; q < width; ++q)
            for (int l = 0; l < DREAL_LANES; ++l) acc[q][l] += (double)row[(size_t)q * DREAL_LANES + l] * xr[l];
    }
}

/* y_l += a[l] * x_l (a, x, y distinct: restrict spares the compiler an
 * aliasing check and a scalar copy of the loop) */
DOPT_KFN void DFN(lv_axpy)(int n, const DREAL *DOPT_RESTRICT a, const DREAL *DOPT_RESTRICT x, DREAL *DOPT_RESTRICT y)
{
    for (int i = 0; i < n; ++i) {
        const DREAL *xi = x + (size_t)i * DREAL_LANES;
        DREAL *yi = y + (size_t)i * DREAL_LANES;
        for (int l = 0; l < DREAL_LANES; ++l) yi[l] += a[l] * xi[l];
    }
}

/* y_l += a[l] * x_l on the lanes where on[l], y_l unchanged elsewhere (a
 * blend, not a branch: the loop stays one SIMD body) */
DOPT_KFN void DFN(lv_axpy_if)(int n, const int *DOPT_RESTRICT on, const DREAL *DOPT_RESTRICT a, const DREAL *DOPT_RESTRICT x, DREAL *DOPT_RESTRICT y)
{
    for (int i = 0; i < n; ++i) {
        const DREAL *xi = x + (size_t)i * DREAL_LANES;
        DREAL *yi = y + (size_t)i * DREAL_LANES;
        for (int l = 0; l < DREAL_LANES; ++l) yi[l] = on[l] ? yi[l] + a[l] * xi[l] : yi[l];
    }
}

/* la_cholesky per lane. info[l] = 0, or the first pivot k+1 that was not
 * positive. A lane that failed goes on with pivot 1 (its values stay finite
 * and are discarded: the caller refactors it on its own); the others are
 * not affected. */
DOPT_KFN void DFN(lv_cholesky)(int n, DREAL *a, int *info)
{
    for (int l = 0; l < DREAL_LANES; ++l) info[l] = 0;
    DREAL neg[DREAL_LANES];
    for (int k = 0; k < n; ++k) {
        DREAL *ak = a + (size_t)k * n * DREAL_LANES;
        DREAL *dk = ak + (size_t)k * DREAL_LANES;
        DREAL inv[DREAL_LANES];
        for (int l = 0; l < DREAL_LANES; ++l) {
            DREAL d = dk[l];
            int bad = !(d > 0);
            if (bad && info[l] == 0) info[l] = k + 1;
            d = bad ? 1 : d;
            DREAL u = DSQRT(d);
            dk[l] = u;
            inv[l] = 1 / u;
        }
        for (int j = k + 1; j < n; ++j)
            for (int l = 0; l < DREAL_LANES; ++l) ak[(size_t)j * DREAL_LANES + l] *= inv[l];
        for (int i = k + 1; i < n; ++i) {
            for (int l = 0; l < DREAL_LANES; ++l) neg[l] = -ak[(size_t)i * DREAL_LANES + l];
            DFN(lv_axpy)(n - i, neg, ak + (size_t)i * DREAL_LANES, a + ((size_t)i * n + i) * DREAL_LANES);
        }
    }
}

/* L y = x in place, L = U' (la_solve_lower) */
DOPT_KFN void DFN(lv_solve_lower)(int n, const DREAL *u, DREAL *x)
{
    DREAL neg[DREAL_LANES];
    for (int k = 0; k < n; ++k) {
        const DREAL *uk = u + (size_t)k * n * DREAL_LANES;
        DREAL *xk = x + (size_t)k * DREAL_LANES;
        for (int l = 0; l < DREAL_LANES; ++l) {
            xk[l] /= uk[(size_t)k * DREAL_LANES + l];
            neg[l] = -xk[l];
        }
        DFN(lv_axpy)(n - k - 1, neg, uk + (size_t)(k + 1) * DREAL_LANES, x + (size_t)(k + 1) * DREAL_LANES);
    }
}

/* L' y = x in place, L' = U (la_solve_lower_t) */
DOPT_KFN void DFN(lv_solve_lower_t)(int n, const DREAL *u, DREAL *x)
{
    DREAL d[DREAL_LANES];
    for (int i = n - 1; i >= 0; --i) {
        const DREAL *ui = u + (size_t)i * n * DREAL_LANES;
        DFN(lv_dot)(n - i - 1, ui + (size_t)(i + 1) * DREAL_LANES, x + (size_t)(i + 1) * DREAL_LANES, d);
        DREAL *xi = x + (size_t)i * DREAL_LANES;
        for (int l = 0; l < DREAL_LANES; ++l) xi[l] = (xi[l] - d[l]) / ui[(size_t)i * DREAL_LANES + l];
    }
}

DOPT_KFN void DFN(lv_cholesky_solve)(int n, const DREAL *u, DREAL *x)
{
    DFN(lv_solve_lower)(n, u, x);
    DFN(lv_solve_lower_t)(n, u, x);
}

/* y = M x (la_gemv) */
DOPT_KFN void DFN(lv_gemv)(int rows, int cols, const DREAL *m, const DREAL *x, DREAL *y)
{
    for (int r = 0; r < rows; ++r)
        DFN(lv_dot)(cols, m + (size_t)r * cols * DREAL_LANES, x, y + (size_t)r * DREAL_LANES);
}

/* y += M' x. la_gemv_t_add skips the rows with x_r = 0; here they are added
 * (0 * M_r: the data is finite), which changes nothing but the sign of a
 * zero entry of y (-0 + 0 = +0). A branch per lane would cost more than the
 * product: the loop would not be one SIMD body. */
DOPT_KFN void DFN(lv_gemv_t_add)(int rows, int cols, const DREAL *m, const DREAL *x, DREAL *y)
{
    for (int r = 0; r < rows; ++r) DFN(lv_axpy)(cols, x + (size_t)r * DREAL_LANES, m + (size_t)r * cols * DREAL_LANES, y);
}

/* A += Y'Y on the upper triangle, Y (rows x n): each entry summed over the
 * rows in order from 0 and then added, as la_syrk_upper_add does. Four
 * columns j share each load of Y[r][i]. */
DOPT_KFN void DFN(lv_syrk_upper_add)(int n, int rows, const DREAL *y, DREAL *a)
{
    for (int i = 0; i < n; ++i) {
        int j = i;
        for (; j + 4 <= n; j += 4) {
            DREAL c[4][DREAL_LANES];
            for (int q = 0; q < 4; ++q)
                for (int l = 0; l < DREAL_LANES; ++l) c[q][l] = 0;
            for (int r = 0; r < rows; ++r) {
                const DREAL *yi = y + ((size_t)r * n + i) * DREAL_LANES, *yj = y + ((size_t)r * n + j) * DREAL_LANES;
                for (int q = 0; q < 4; ++q)
                    for (int l = 0; l < DREAL_LANES; ++l) c[q][l] += yi[l] * yj[(size_t)q * DREAL_LANES + l];
            }
            DREAL *ai = a + ((size_t)i * n + j) * DREAL_LANES;
            for (int q = 0; q < 4; ++q)
                for (int l = 0; l < DREAL_LANES; ++l) ai[(size_t)q * DREAL_LANES + l] += c[q][l];
        }
        for (; j < n; ++j) {
            DREAL c[DREAL_LANES];
            for (int l = 0; l < DREAL_LANES; ++l) c[l] = 0;
            for (int r = 0; r < rows; ++r) {
                const DREAL *yi = y + ((size_t)r * n + i) * DREAL_LANES, *yj = y + ((size_t)r * n + j) * DREAL_LANES;
                for (int l = 0; l < DREAL_LANES; ++l) c[l] += yi[l] * yj[l];
            }
            DREAL *ai = a + ((size_t)i * n + j) * DREAL_LANES;
            for (int l = 0; l < DREAL_LANES; ++l) ai[l] += c[l];
        }
    }
}
