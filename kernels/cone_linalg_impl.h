/* Small dense linear algebra of the cone layer, one precision per
 * inclusion (DREAL / DFN set by cone_ipm.h). Row-major throughout. Kept
 * apart from linalg_impl.h (the QP layer's) so that a translation unit may
 * include both layers' kernels. No include guard on purpose. */

DOPT_KFN DREAL DFN(cone_dot)(int n, const DREAL *x, const DREAL *y)
{
    /* four partial sums in a fixed order: the same result on every thread and the GPU */
    DREAL a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        a0 += x[i] * y[i];
        a1 += x[i + 1] * y[i + 1];
        a2 += x[i + 2] * y[i + 2];
        a3 += x[i + 3] * y[i + 3];
    }
    for (; i < n; ++i) a0 += x[i] * y[i];
    return (a0 + a2) + (a1 + a3);
}

DOPT_KFN DREAL DFN(cone_norm_inf)(int n, const DREAL *x)
{
    DREAL r = 0;
    for (int i = 0; i < n; ++i) {
        DREAL a = DABS(x[i]);
        if (a > r || a != a) r = a; /* a NaN wins, so it is seen */
    }
    return r;
}

/* Dense LDL' of a symmetric N x N matrix (its lower triangle is read) with
 * no pivoting: the KKT matrix is quasi-definite once regularized, so every
 * symmetric order has an LDL' (Vanderbei). Pivot i is expected positive
 * for pos0 <= i < pos1 and negative elsewhere; a pivot of the wrong sign or below `tiny` in size is replaced by
 * sign * bump (dynamic regularization; iterative refinement against the
 * unregularized matrix then repairs the solution). L (unit, strict lower)
 * overwrites the lower triangle, D the diagonal. t: N scratch. Returns the
 * number of pivots replaced. */
DOPT_KFN int DFN(cone_ldl)(int N, DREAL *a, int pos0, int pos1, DREAL tiny, DREAL bump, DREAL *t)
{
    int bumped = 0;
    for (int i = 0; i < N; ++i) {
        DREAL *ai = a + (size_t)i * N;
        for (int j = 0; j < i; ++j) {
            const DREAL *aj = a + (size_t)j * N;
            DREAL v = ai[j] - DFN(cone_dot)(j, t, aj); /* t[k] = L_ik d_k for k < j */
            t[j] = v;
            ai[j] = v / aj[j];
        }
        DREAL d = ai[i] - DFN(cone_dot)(i, t, ai);
        DREAL sign = i >= pos0 && i < pos1 ? (DREAL)1 : (DREAL)-1;
        if (!(sign * d > tiny)) {
            d = sign * bump;
            ++bumped;
        }
        ai[i] = d;
    }
    return bumped;
}

/* Solves (L D L') v = r in place with cone_ldl's factor. */
DOPT_KFN void DFN(cone_ldl_solve)(int N, const DREAL *f, DREAL *v)
{
    for (int i = 0; i < N; ++i) v[i] -= DFN(cone_dot)(i, f + (size_t)i * N, v);
    for (int i = 0; i < N; ++i) v[i] /= f[(size_t)i * N + i];
    for (int i = N - 1; i >= 0; --i) {
        DREAL vi = v[i];
        if (vi != 0)
            for (int j = 0; j < i; ++j) v[j] -= f[(size_t)i * N + j] * vi;
    }
}

/* Cholesky S = L L' of an s x s symmetric matrix, L lower into l (upper
 * part zeroed). Returns 0, or 1 when S is not positive definite. */
DOPT_KFN int DFN(cone_chol)(int s, const DREAL *a, DREAL *l)
{
    for (int i = 0; i < s; ++i)
        for (int j = 0; j < s; ++j) {
            if (j > i) {
                l[i * s + j] = 0;
                continue;
            }
            DREAL v = a[i * s + j] - DFN(cone_dot)(j, l + i * s, l + j * s);
            if (j == i) {
                if (!(v > 0)) return 1;
                l[i * s + i] = DSQRT(v);
            } else {
                l[i * s + j] = v / l[j * s + j];
            }
        }
    return 0;
}

/* Eigenvalues (into e) and, with v != NULL, eigenvectors (columns of v) of
 * a symmetric s x s matrix, by cyclic Jacobi rotations: small, branch-light
 * and accurate, which is what one GPU thread per instance wants. a is
 * destroyed. */
DOPT_KFN void DFN(cone_jacobi_eig)(int s, DREAL *a, DREAL *e, DREAL *v)
{
    if (v)
        for (int i = 0; i < s; ++i)
            for (int j = 0; j < s; ++j) v[i * s + j] = i == j ? (DREAL)1 : (DREAL)0;
    for (int sweep = 0; sweep < 60; ++sweep) {
        DREAL off = 0, tot = 0;
        for (int i = 0; i < s; ++i)
            for (int j = 0; j < s; ++j) {
                DREAL x = a[i * s + j] * a[i * s + j];
                tot += x;
                if (i != j) off += x;
            }
        if (!(off > DREAL_EPS * DREAL_EPS * tot)) break; /* also stops on NaN */
        for (int p = 0; p < s - 1; ++p)
            for (int q = p + 1; q < s; ++q) {
                DREAL apq = a[p * s + q];
                if (apq == 0) continue;
                DREAL theta = (a[q * s + q] - a[p * s + p]) / (2 * apq);
                DREAL t = (theta >= 0 ? (DREAL)1 : (DREAL)-1) / (DABS(theta) + DSQRT(theta * theta + 1));
                DREAL c = 1 / DSQRT(t * t + 1), sn = t * c;
                for (int k = 0; k < s; ++k) { /* columns p, q */
                    DREAL akp = a[k * s + p], akq = a[k * s + q];
                    a[k * s + p] = c * akp - sn * akq;
                    a[k * s + q] = sn * akp + c * akq;
                }
                for (int k = 0; k < s; ++k) { /* rows p, q */
                    DREAL apk = a[p * s + k], aqk = a[q * s + k];
                    a[p * s + k] = c * apk - sn * aqk;
                    a[q * s + k] = sn * apk + c * aqk;
                }
                if (v)
                    for (int k = 0; k < s; ++k) {
                        DREAL vkp = v[k * s + p], vkq = v[k * s + q];
                        v[k * s + p] = c * vkp - sn * vkq;
                        v[k * s + q] = sn * vkp + c * vkq;
                    }
            }
    }
    for (int i = 0; i < s; ++i) e[i] = a[i * s + i];
}

/* LU with partial pivoting of an N x N matrix in place (P a = L U, L unit
 * lower); piv[i] = the original row now at i (stored as DREAL so that the
 * tape is one array). A zero pivot is replaced by `tiny` (the matrix is
 * singular only at degenerate optima, where no derivative exists). */
DOPT_KFN void DFN(cone_lu)(int N, DREAL *a, DREAL *piv, DREAL tiny)
{
    for (int i = 0; i < N; ++i) piv[i] = (DREAL)i;
    for (int kk = 0; kk < N; ++kk) {
        int p = kk;
        DREAL best = DABS(a[(size_t)kk * N + kk]);
        for (int i = kk + 1; i < N; ++i)
            if (DABS(a[(size_t)i * N + kk]) > best) {
                best = DABS(a[(size_t)i * N + kk]);
                p = i;
            }
        if (p != kk) {
            for (int j = 0; j < N; ++j) {
                DREAL t = a[(size_t)kk * N + j];
                a[(size_t)kk * N + j] = a[(size_t)p * N + j];
                a[(size_t)p * N + j] = t;
            }
            DREAL t = piv[kk];
            piv[kk] = piv[p];
            piv[p] = t;
        }
        DREAL d = a[(size_t)kk * N + kk];
        if (!(DABS(d) > tiny)) d = a[(size_t)kk * N + kk] = d < 0 ? -tiny : tiny;
        for (int i = kk + 1; i < N; ++i) {
            DREAL f = a[(size_t)i * N + kk] / d;
            a[(size_t)i * N + kk] = f;
            if (f != 0)
                for (int j = kk + 1; j < N; ++j) a[(size_t)i * N + j] -= f * a[(size_t)kk * N + j];
        }
    }
}

/* Solves M' u = g in place (g in, u out) with cone_lu's factor of M:
 * M' = U' L' P, so U' w = g, L' q = w, u = P' q. t: N scratch. */
DOPT_KFN void DFN(cone_lu_solve_t)(int N, const DREAL *lu, const DREAL *piv, DREAL *g, DREAL *t)
{
    for (int i = 0; i < N; ++i) { /* U' lower: forward */
        DREAL acc = g[i];
        for (int j = 0; j < i; ++j) acc -= lu[(size_t)j * N + i] * g[j];
        g[i] = acc / lu[(size_t)i * N + i];
    }
    for (int i = N - 1; i >= 0; --i) { /* L' unit upper: backward */
        DREAL acc = g[i];
        for (int j = i + 1; j < N; ++j) acc -= lu[(size_t)j * N + i] * g[j];
        g[i] = acc;
    }
    for (int i = 0; i < N; ++i) t[(int)piv[i]] = g[i];
    for (int i = 0; i < N; ++i) g[i] = t[i];
}
