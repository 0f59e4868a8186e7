/* Small dense linear algebra on interleaved instances ("lanes"): element e
 * of lane l's vector or matrix lies at [e * DREAL_LANE_STRIDE + l], so
 * consecutive lanes are consecutive addresses. One call computes the lanes
 * l < DREAL_LANES:
 *  - on the CPU both are the SIMD width, and the innermost loop of every
 *    routine runs over the lanes with unit stride (one SIMD body);
 *  - on the GPU (the warp layout) the stride is a warp's 32 threads and each
 *    thread computes one lane (DREAL_LANES = 1, the base pointers offset by
 *    its lane), so the threads of a warp read consecutive addresses.
 * Per-lane values the routines keep (coefficients, sums) are arrays of
 * DREAL_LANES. Each routine does, lane by lane, exactly the arithmetic of its
 * counterpart in linalg_impl.h in the same order (la_dot's eight partial
 * sums included), so a lane computes what the per-instance code computes,
 * bit for bit. Included per precision and layout by qp_ipm.h with DREAL /
 * DFN / LFN / DREAL_LANES / DREAL_LANE_STRIDE set. No guard on purpose. */

/* out[l] = x_l . y_l in la_dot's order: eight partial sums per lane, each
 * its own array so that every statement is one SIMD operation over the
 * lanes (a two-dimensional accumulator made the compiler shuffle). */
#define QPL_DOT_BODY(ACC, CAST)                                                                   \
    ACC a0[DREAL_LANES], a1[DREAL_LANES], a2[DREAL_LANES], a3[DREAL_LANES], a4[DREAL_LANES],     \
        a5[DREAL_LANES], a6[DREAL_LANES], a7[DREAL_LANES];                                       \
    for (int l = 0; l < DREAL_LANES; ++l) a0[l] = a1[l] = a2[l] = a3[l] = a4[l] = a5[l] = a6[l] = a7[l] = 0; \
    int i = 0;                                                                                    \
    for (; i + 8 <= n; i += 8) {                                                                  \
        const DREAL *xi = x + (size_t)i * DREAL_LANE_STRIDE, *yi = y + (size_t)i * DREAL_LANE_STRIDE;         \
        for (int l = 0; l < DREAL_LANES; ++l) {                                                   \
            a0[l] += CAST xi[l] * yi[l];                                                          \
            a1[l] += CAST xi[DREAL_LANE_STRIDE + l] * yi[DREAL_LANE_STRIDE + l];                              \
            a2[l] += CAST xi[2 * DREAL_LANE_STRIDE + l] * yi[2 * DREAL_LANE_STRIDE + l];                      \
            a3[l] += CAST xi[3 * DREAL_LANE_STRIDE + l] * yi[3 * DREAL_LANE_STRIDE + l];                      \
            a4[l] += CAST xi[4 * DREAL_LANE_STRIDE + l] * yi[4 * DREAL_LANE_STRIDE + l];                      \
            a5[l] += CAST xi[5 * DREAL_LANE_STRIDE + l] * yi[5 * DREAL_LANE_STRIDE + l];                      \
            a6[l] += CAST xi[6 * DREAL_LANE_STRIDE + l] * yi[6 * DREAL_LANE_STRIDE + l];                      \
            a7[l] += CAST xi[7 * DREAL_LANE_STRIDE + l] * yi[7 * DREAL_LANE_STRIDE + l];                      \
        }                                                                                         \
    }                                                                                             \
    for (; i < n; ++i) {                                                                          \
        const DREAL *xi = x + (size_t)i * DREAL_LANE_STRIDE, *yi = y + (size_t)i * DREAL_LANE_STRIDE;         \
        for (int l = 0; l < DREAL_LANES; ++l) a0[l] += CAST xi[l] * yi[l];                        \
    }                                                                                             \
    for (int l = 0; l < DREAL_LANES; ++l) out[l] = ((a0[l] + a4[l]) + (a1[l] + a5[l])) + ((a2[l] + a6[l]) + (a3[l] + a7[l]));

DOPT_KFN void LFN(lv_dot)(int n, const DREAL *x, const DREAL *y, DREAL *DOPT_RESTRICT out)
{
    QPL_DOT_BODY(DREAL, )
}

/* out[l] = x_l . y_l summed in double (la_dot_acc's order) */
DOPT_KFN void LFN(lv_dot_acc)(int n, const DREAL *x, const DREAL *y, double *DOPT_RESTRICT out)
{
    QPL_DOT_BODY(double, (double))
}
#undef QPL_DOT_BODY

/* acc[q][l] += (M_l' x_l)[j0 + q], q < width <= 8, in double (la_gemv_t_block8_acc) */
DOPT_KFN void LFN(lv_gemv_t_block8_acc)(int rows, int cols, const DREAL *m, const DREAL *x, int j0, int width,
                                        double acc[8][DREAL_LANES])
{
    for (int r = 0; r < rows; ++r) {
        const DREAL *row = m + ((size_t)r * cols + j0) * DREAL_LANE_STRIDE, *xr = x + (size_t)r * DREAL_LANE_STRIDE;
        for (int q = 0; q < width; ++q)
            for (int l = 0; l < DREAL_LANES; ++l) acc[q][l] += (double)row[(size_t)q * DREAL_LANE_STRIDE + l] * xr[l];
    }
}

/* y_l += a[l] * x_l (a, x, y distinct: restrict spares the compiler an
 * aliasing check and a scalar copy of the loop) */
DOPT_KFN void LFN(lv_axpy)(int n, const DREAL *DOPT_RESTRICT a, const DREAL *DOPT_RESTRICT x, DREAL *DOPT_RESTRICT y)
{
    for (int i = 0; i < n; ++i) {
        const DREAL *xi = x + (size_t)i * DREAL_LANE_STRIDE;
        DREAL *yi = y + (size_t)i * DREAL_LANE_STRIDE;
        for (int l = 0; l < DREAL_LANES; ++l) yi[l] += a[l] * xi[l];
    }
}

/* y_l += a[q][l] * x_q,l for q = 0..3 in that order, x_q = x + q * stride:
 * four lv_axpy calls' arithmetic, element by element in the same order,
 * in one pass over y (a quarter of the loads and stores of y; with
 * contraction off the sum is rounded as the four calls round it). */
DOPT_KFN void LFN(lv_axpy4)(int n, const DREAL a[4][DREAL_LANES], const DREAL *DOPT_RESTRICT x, size_t stride,
                            DREAL *DOPT_RESTRICT y)
{
    const DREAL *x0 = x, *x1 = x + stride, *x2 = x + 2 * stride, *x3 = x + 3 * stride;
    for (int i = 0; i < n; ++i) {
        size_t o = (size_t)i * DREAL_LANE_STRIDE;
        DREAL *yi = y + o;
        for (int l = 0; l < DREAL_LANES; ++l)
            yi[l] = (((yi[l] + a[0][l] * x0[o + l]) + a[1][l] * x1[o + l]) + a[2][l] * x2[o + l]) + a[3][l] * x3[o + l];
    }
}

/* y += sum_r a[r] x_r over `rows` vectors x_r = x + r * stride, in the order
 * r = 0, 1, ... (a: rows x DREAL_LANES, per-lane coefficients): lv_axpy per
 * row, fused four rows at a time. */
DOPT_KFN void LFN(lv_axpy_rows)(int n, int rows, const DREAL *a, const DREAL *x, size_t stride, DREAL *y)
{
    int r = 0;
    for (; r + 4 <= rows; r += 4)
        LFN(lv_axpy4)(n, (const DREAL(*)[DREAL_LANES])(a + (size_t)r * DREAL_LANES), x + (size_t)r * stride, stride, y);
    for (; r < rows; ++r) LFN(lv_axpy)(n, a + (size_t)r * DREAL_LANES, x + (size_t)r * stride, y);
}

/* y_l += a[l] * x_l on the lanes where on[l], y_l unchanged elsewhere (a
 * blend, not a branch: the loop stays one SIMD body) */
DOPT_KFN void LFN(lv_axpy_if)(int n, const int *DOPT_RESTRICT on, const DREAL *DOPT_RESTRICT a, const DREAL *DOPT_RESTRICT x, DREAL *DOPT_RESTRICT y)
{
    for (int i = 0; i < n; ++i) {
        const DREAL *xi = x + (size_t)i * DREAL_LANE_STRIDE;
        DREAL *yi = y + (size_t)i * DREAL_LANE_STRIDE;
        for (int l = 0; l < DREAL_LANES; ++l) yi[l] = on[l] ? yi[l] + a[l] * xi[l] : yi[l];
    }
}

/* la_cholesky per lane. info[l] = 0, or the first pivot k+1 that was not
 * positive. A lane that failed goes on with pivot 1 (its values stay finite
 * and are discarded: the caller refactors it on its own); the others are
 * not affected. Right-looking in panels of four pivots: the panel's rows
 * are updated step by step as la_cholesky does, the rows below the panel
 * once per panel by lv_axpy4, which adds the four steps' terms to each
 * element in the same order: the arithmetic of la_cholesky, with a
 * quarter of the passes over the trailing matrix. */
DOPT_KFN void LFN(lv_cholesky)(int n, DREAL *a, int *info)
{
    for (int l = 0; l < DREAL_LANES; ++l) info[l] = 0;
    DREAL neg[DREAL_LANES];
    size_t row = (size_t)n * DREAL_LANE_STRIDE;
    for (int k0 = 0; k0 < n; k0 += 4) {
        int k1 = k0 + 4 < n ? k0 + 4 : n; /* the panel: pivots k0 .. k1 - 1 */
        for (int k = k0; k < k1; ++k) {
            DREAL *ak = a + (size_t)k * row;
            DREAL *dk = ak + (size_t)k * DREAL_LANE_STRIDE;
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
                for (int l = 0; l < DREAL_LANES; ++l) ak[(size_t)j * DREAL_LANE_STRIDE + l] *= inv[l];
            for (int i = k + 1; i < k1; ++i) {
                for (int l = 0; l < DREAL_LANES; ++l) neg[l] = -ak[(size_t)i * DREAL_LANE_STRIDE + l];
                LFN(lv_axpy)(n - i, neg, ak + (size_t)i * DREAL_LANE_STRIDE, a + ((size_t)i * n + i) * DREAL_LANE_STRIDE);
            }
        }
        if (k1 == n) continue; /* the last panel has no rows below it */
        for (int i = k1; i < n; ++i) {
            const DREAL *panel = a + (size_t)k0 * row + (size_t)i * DREAL_LANE_STRIDE; /* u[k0..k0+3][i..n) */
            DREAL neg4[4][DREAL_LANES];
            for (int q = 0; q < 4; ++q)
                for (int l = 0; l < DREAL_LANES; ++l) neg4[q][l] = -panel[(size_t)q * row + l];
            LFN(lv_axpy4)(n - i, (const DREAL(*)[DREAL_LANES])neg4, panel, row, a + ((size_t)i * n + i) * DREAL_LANE_STRIDE);
        }
    }
}

/* L y = x in place, L = U' (la_solve_lower): in blocks of four steps, the
 * block's own unknowns step by step, the rest once per block (lv_axpy4:
 * each element gets the four steps' terms in la_solve_lower's order). */
DOPT_KFN void LFN(lv_solve_lower)(int n, const DREAL *u, DREAL *x)
{
    size_t row = (size_t)n * DREAL_LANE_STRIDE;
    for (int k0 = 0; k0 < n; k0 += 4) {
        int k1 = k0 + 4 < n ? k0 + 4 : n;
        DREAL neg4[4][DREAL_LANES];
        for (int k = k0; k < k1; ++k) {
            const DREAL *uk = u + (size_t)k * row;
            DREAL *xk = x + (size_t)k * DREAL_LANE_STRIDE;
            DREAL *neg = neg4[k - k0];
            for (int l = 0; l < DREAL_LANES; ++l) {
                xk[l] /= uk[(size_t)k * DREAL_LANE_STRIDE + l];
                neg[l] = -xk[l];
            }
            LFN(lv_axpy)(k1 - k - 1, neg, uk + (size_t)(k + 1) * DREAL_LANE_STRIDE, x + (size_t)(k + 1) * DREAL_LANE_STRIDE);
        }
        if (k1 < n) /* a full block with unknowns below it */
            LFN(lv_axpy4)(n - k1, (const DREAL(*)[DREAL_LANES])neg4, u + (size_t)k0 * row + (size_t)k1 * DREAL_LANE_STRIDE, row,
                          x + (size_t)k1 * DREAL_LANE_STRIDE);
    }
}

/* L' y = x in place, L' = U (la_solve_lower_t) */
DOPT_KFN void LFN(lv_solve_lower_t)(int n, const DREAL *u, DREAL *x)
{
    DREAL d[DREAL_LANES];
    for (int i = n - 1; i >= 0; --i) {
        const DREAL *ui = u + (size_t)i * n * DREAL_LANE_STRIDE;
        LFN(lv_dot)(n - i - 1, ui + (size_t)(i + 1) * DREAL_LANE_STRIDE, x + (size_t)(i + 1) * DREAL_LANE_STRIDE, d);
        DREAL *xi = x + (size_t)i * DREAL_LANE_STRIDE;
        for (int l = 0; l < DREAL_LANES; ++l) xi[l] = (xi[l] - d[l]) / ui[(size_t)i * DREAL_LANE_STRIDE + l];
    }
}

DOPT_KFN void LFN(lv_cholesky_solve)(int n, const DREAL *u, DREAL *x)
{
    LFN(lv_solve_lower)(n, u, x);
    LFN(lv_solve_lower_t)(n, u, x);
}

/* y = M x (la_gemv) */
DOPT_KFN void LFN(lv_gemv)(int rows, int cols, const DREAL *m, const DREAL *x, DREAL *y)
{
    for (int r = 0; r < rows; ++r)
        LFN(lv_dot)(cols, m + (size_t)r * cols * DREAL_LANE_STRIDE, x, y + (size_t)r * DREAL_LANE_STRIDE);
}

/* y += M' x. la_gemv_t_add skips the rows with x_r = 0; here they are added
 * (0 * M_r: the data is finite), which changes nothing but the sign of a
 * zero entry of y (-0 + 0 = +0). A branch per lane would cost more than the
 * product: the loop would not be one SIMD body. */
DOPT_KFN void LFN(lv_gemv_t_add)(int rows, int cols, const DREAL *m, const DREAL *x, DREAL *y)
{
    size_t row = (size_t)cols * DREAL_LANE_STRIDE;
    DREAL a4[4][DREAL_LANES]; /* x's four rows as per-lane coefficients (x is strided, a4 is not) */
    for (int r0 = 0; r0 < rows; r0 += 4) {
        int nr = rows - r0 < 4 ? rows - r0 : 4;
        for (int q = 0; q < nr; ++q)
            for (int l = 0; l < DREAL_LANES; ++l) a4[q][l] = x[(size_t)(r0 + q) * DREAL_LANE_STRIDE + l];
        LFN(lv_axpy_rows)(cols, nr, &a4[0][0], m + (size_t)r0 * row, row, y);
    }
}

/* c[p][q][l] = sum_r y[r][i + p] y[r][j + q] for p < ni <= 4, q < width <= 4,
 * summed over the rows in order from 0: a block of Y'Y whose loads of Y
 * serve four products each (sixteen accumulators: AVX-512's 32 registers
 * hold them and the eight loads of a row). */
DOPT_KFN void LFN(lv_gram_block)(int n, int rows, const DREAL *y, int i, int ni, int j, int width,
                                 DREAL c[4][4][DREAL_LANES])
{
    for (int p = 0; p < 4; ++p)
        for (int q = 0; q < 4; ++q)
            for (int l = 0; l < DREAL_LANES; ++l) c[p][q][l] = 0;
    if (ni == 4 && width == 4) {
        for (int r = 0; r < rows; ++r) {
            const DREAL *yr = y + (size_t)r * n * DREAL_LANE_STRIDE;
            const DREAL *yi = yr + (size_t)i * DREAL_LANE_STRIDE, *yj = yr + (size_t)j * DREAL_LANE_STRIDE;
            for (int p = 0; p < 4; ++p)
                for (int q = 0; q < 4; ++q)
                    for (int l = 0; l < DREAL_LANES; ++l)
                        c[p][q][l] += yi[(size_t)p * DREAL_LANE_STRIDE + l] * yj[(size_t)q * DREAL_LANE_STRIDE + l];
        }
        return;
    }
    for (int r = 0; r < rows; ++r) {
        const DREAL *yr = y + (size_t)r * n * DREAL_LANE_STRIDE;
        const DREAL *yi = yr + (size_t)i * DREAL_LANE_STRIDE, *yj = yr + (size_t)j * DREAL_LANE_STRIDE;
        for (int p = 0; p < ni; ++p)
            for (int q = 0; q < width; ++q)
                for (int l = 0; l < DREAL_LANES; ++l)
                    c[p][q][l] += yi[(size_t)p * DREAL_LANE_STRIDE + l] * yj[(size_t)q * DREAL_LANE_STRIDE + l];
    }
}

/* A = B + Y'Y on the upper triangle and A = B below it, Y (rows x n): each
 * entry of Y'Y summed over the rows in order from 0 and then added to B's,
 * the rounding of la_syrk_upper_add on a copy of B (one pass over A
 * instead of a copy and an update), in blocks of four rows by four columns
 * (the entries of a diagonal block left of the diagonal are computed and
 * dropped). */
DOPT_KFN void LFN(lv_syrk_upper_set)(int n, int rows, const DREAL *y, const DREAL *b, DREAL *a)
{
    DREAL c[4][4][DREAL_LANES];
    for (int i = 1; i < n; ++i)
        for (size_t e = (size_t)i * n; e < (size_t)i * n + i; ++e)
            for (int l = 0; l < DREAL_LANES; ++l) a[e * DREAL_LANE_STRIDE + l] = b[e * DREAL_LANE_STRIDE + l];
    for (int i = 0; i < n; i += 4) {
        int ni = n - i < 4 ? n - i : 4;
        for (int j = i; j < n; j += 4) {
            int width = n - j < 4 ? n - j : 4;
            LFN(lv_gram_block)(n, rows, y, i, ni, j, width, c);
            for (int p = 0; p < ni; ++p) {
                size_t o = ((size_t)(i + p) * n + j) * DREAL_LANE_STRIDE;
                for (int q = 0; q < width; ++q) {
                    if (j + q < i + p) continue;
                    for (int l = 0; l < DREAL_LANES; ++l)
                        a[o + (size_t)q * DREAL_LANE_STRIDE + l] = b[o + (size_t)q * DREAL_LANE_STRIDE + l] + c[p][q][l];
                }
            }
        }
    }
}
