/* Small dense linear algebra of the cone layer, one precision per
 * inclusion (DREAL / DFN set by cone_ipm.h). Row-major throughout. Kept
 * apart from linalg_impl.h (the QP layer's) so that a translation unit may
 * include both layers' kernels. No include guard on purpose. */

DOPT_KFN DREAL DFN(cone_dot)(int n, const DREAL *x, const DREAL *y)
{
    /* two partial sums in a fixed order (the same result on every thread
     * and the GPU); two, not four: most of these vectors are 1-15 long,
     * where a four-way loop's remainder handling costs more than it saves */
    DREAL a0 = 0, a1 = 0;
    int i = 0;
    for (; i + 2 <= n; i += 2) {
        a0 += x[i] * y[i];
        a1 += x[i + 1] * y[i + 1];
    }
    if (i < n) a0 += x[i] * y[i];
    return a0 + a1;
}

/* x0'y and x1'y in one pass over y: each with cone_dot's partial sums in
 * cone_dot's order, so the results are bitwise cone_dot's */
DOPT_KFN void DFN(cone_dot2)(int n, const DREAL *x0, const DREAL *x1, const DREAL *y, DREAL *d0, DREAL *d1)
{
    DREAL a0 = 0, a1 = 0, b0 = 0, b1 = 0;
    int i = 0;
    for (; i + 2 <= n; i += 2) {
        a0 += x0[i] * y[i];
        a1 += x0[i + 1] * y[i + 1];
        b0 += x1[i] * y[i];
        b1 += x1[i + 1] * y[i + 1];
    }
    if (i < n) {
        a0 += x0[i] * y[i];
        b0 += x1[i] * y[i];
    }
    *d0 = a0 + a1;
    *d1 = b0 + b1;
}

/* y += a0 x0 + a1 x1, added in that order (bitwise two axpys) */
DOPT_KFN void DFN(cone_axpy2)(int n, DREAL a0, const DREAL *x0, DREAL a1, const DREAL *x1, DREAL *y)
{
    for (int i = 0; i < n; ++i) y[i] = (y[i] + a0 * x0[i]) + a1 * x1[i];
}

DOPT_KFN DREAL DFN(cone_norm_inf)(int n, const DREAL *x)
{
    DREAL r = 0;
    int nan = 0;
    for (int i = 0; i < n; ++i) { /* branch-free: the maximum's position is data */
        DREAL a = DABS(x[i]);
        r = a > r ? a : r;
        nan |= a != a;
    }
    if (nan) /* a NaN wins, so it is seen */
        for (int i = 0; i < n; ++i)
            if (x[i] != x[i]) return DABS(x[i]);
    return r;
}

/* Dense LDL' of a symmetric N x N matrix (its lower triangle is read) with
 * no pivoting: the KKT matrix is quasi-definite once regularized, so every
 * symmetric order has an LDL' (Vanderbei). Pivot i is expected positive
 * for pos0 <= i < pos1 and negative elsewhere; a pivot of the wrong sign or below `tiny` in size is replaced by
 * sign * bump (dynamic regularization; iterative refinement against the
 * unregularized matrix then repairs the solution). L (unit, strict lower)
 * overwrites the lower triangle, D the diagonal. Rows before `from` are
 * taken as already factored (a library's Cholesky of a leading block,
 * rewritten in this form). t: N scratch. Returns the number of pivots
 * replaced. */
DOPT_KFN int DFN(cone_ldl_rows)(int N, DREAL *a, int from, int pos0, int pos1, DREAL tiny, DREAL bump, DREAL *t)
{
    int bumped = 0;
    for (int i = from; i < N; ++i) {
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

/* Householder reduction of a symmetric s x s matrix a (both triangles;
 * destroyed) to the tridiagonal T = V' a V: diagonal d (s), subdiagonal e
 * (s - 1, at least 1 slot); with V != NULL also the orthogonal V (s x s,
 * row-major), accumulated reflector by reflector. scratch: 3s. */
DOPT_KFN void DFN(cone_tridiagonalize)(int s, DREAL *a, DREAL *d, DREAL *e, DREAL *V, DREAL *scratch)
{
    DREAL *x = scratch, *p = x + s, *w = p + s;
    if (V)
        for (int i = 0; i < s; ++i)
            for (int j = 0; j < s; ++j) V[i * s + j] = i == j ? (DREAL)1 : (DREAL)0;
    for (int k = 0; k + 2 < s; ++k) {
        int r = s - k - 1; /* the trailing block a[k+1.., k+1..] */
        DREAL xmax = 0; /* x = a[k+1.., k], then the reflector v */
        int below = 0;  /* a nonzero (or NaN) below x[0], tested so: its square may underflow */
        for (int i = 0; i < r; ++i) {
            x[i] = a[(k + 1 + i) * s + k];
            DREAL ai = DABS(x[i]);
            xmax = ai > xmax ? ai : xmax;
            if (i) below |= x[i] != 0;
        }
        if (!below) { /* already reduced */
            e[k] = x[0];
            continue;
        }
        /* H = I - beta v v' does not change when x is scaled, so x is
         * scaled by the power of two nearest its largest entry, as LAPACK's
         * dlarfg scales: in float, entries near 1e-20 would make beta
         * overflow (then inf - inf) and entries near 1e19 make S v overflow.
         * A power of two is exact, so where the plain arithmetic neither
         * under- nor overflows the results are bitwise the same. */
        int ex = 0; /* xmax = f 2^ex, f in [1/2, 1): scaled to [1, 2) */
        (void)DFREXP(xmax, &ex);
        ex = ex - 1 > DREAL_MAX_EXP - 2 ? DREAL_MAX_EXP - 2 : ex - 1 < 2 - DREAL_MAX_EXP ? 2 - DREAL_MAX_EXP : ex - 1;
        DREAL up = DLDEXP((DREAL)1, ex), down = DLDEXP((DREAL)1, -ex);
        DREAL sigma = 0; /* NaN in x stays NaN through sigma */
        for (int i = 0; i < r; ++i) {
            x[i] *= down;
            if (i) sigma += x[i] * x[i];
        }
        DREAL norm = DSQRT(x[0] * x[0] + sigma), alpha = x[0] >= 0 ? -norm : norm;
        x[0] -= alpha;
        alpha *= up;
        DREAL beta = 2 / (x[0] * x[0] + sigma);
        /* S <- H S H, H = I - beta v v': p = beta S v, w = p - (beta/2)(v'p) v, S -= v w' + w v' */
        DREAL vp = 0;
        for (int i = 0; i < r; ++i) {
            DREAL acc = 0;
            for (int j = 0; j < r; ++j) acc += a[(k + 1 + i) * s + k + 1 + j] * x[j];
            p[i] = beta * acc;
            vp += x[i] * p[i];
        }
        for (int i = 0; i < r; ++i) w[i] = p[i] - beta / 2 * vp * x[i];
        for (int i = 0; i < r; ++i)
            for (int j = 0; j < r; ++j) a[(k + 1 + i) * s + k + 1 + j] -= x[i] * w[j] + w[i] * x[j];
        e[k] = alpha;
        if (V) /* V <- V H on columns k+1.. (row 0 is e_0 throughout) */
            for (int i = 1; i < s; ++i) {
                DREAL *vi = V + i * s + k + 1, t = 0;
                for (int j = 0; j < r; ++j) t += vi[j] * x[j];
                t *= beta;
                for (int j = 0; j < r; ++j) vi[j] -= t * x[j];
            }
    }
    if (s >= 2) e[s - 2] = a[(s - 1) * s + s - 2];
    for (int i = 0; i < s; ++i) d[i] = a[i * s + i];
}

/* sqrt(a^2 + b^2) without overflow or underflow in the squares (the
 * scaled form only where the plain one would lose them) */
DOPT_KFN DREAL DFN(cone_hypot)(DREAL a, DREAL b)
{
    DREAL t = a * a + b * b;
    if (t < DREAL_MAX && t > DREAL_MIN) return DSQRT(t);
    DREAL x = DABS(a), y = DABS(b), big = x > y ? x : y, small = x > y ? y : x;
    if (big == 0) return small; /* both 0 (or y NaN: NaN) */
    DREAL q = small / big;
    return big * DSQRT(1 + q * q);
}

/* Eigenvalues (into e) and, with v != NULL, eigenvectors (columns of v) of
 * a symmetric s x s matrix (both triangles): Householder reduction to a
 * tridiagonal matrix (cone_tridiagonalize), then the implicit QL method with
 * Wilkinson's shift, the rotations applied to the reduction's V. Its cost is
 * a few s^3 against ~6 sweeps of 2 s^3 for cyclic Jacobi (3-4x fewer
 * instructions at s = 5), at the same (normwise) accuracy; the scaling
 * matrix it serves is well conditioned near the central path. Eigenvalues
 * come unsorted. NaN data gives NaN eigenvalues. a is destroyed; scratch: 4s. */
DOPT_KFN void DFN(cone_sym_eig)(int s, DREAL *a, DREAL *e, DREAL *v, DREAL *scratch)
{
    DREAL *d = e, *sub = scratch; /* sub[i] couples i and i + 1; sub[s-1] = 0 */
    DFN(cone_tridiagonalize)(s, a, d, sub, v, scratch + s);
    sub[s - 1] = 0;
    for (int l = 0; l < s; ++l) {
        /* QL converges in 2-3 iterations per eigenvalue; the cap only ends
         * NaN data (which gives NaN eigenvalues, as documented) */
        for (int iter = 0; iter < 60; ++iter) {
            int m = l; /* the first negligible coupling at or after l */
            while (m < s - 1 && !(DABS(sub[m]) <= DREAL_EPS * (DABS(d[m]) + DABS(d[m + 1])))) ++m;
            if (m == l) break; /* d[l] has converged */
            /* shift: the eigenvalue of the leading 2 x 2 block nearer d[l] */
            DREAL g = (d[l + 1] - d[l]) / (2 * sub[l]);
            DREAL r = DFN(cone_hypot)(g, 1);
            g = d[m] - d[l] + sub[l] / (g + (g >= 0 ? r : -r));
            DREAL sn = 1, c = 1, p = 0;
            int i = m - 1;
            for (; i >= l; --i) { /* chase the bulge from m up to l with Givens rotations */
                DREAL f = sn * sub[i], b = c * sub[i];
                r = DFN(cone_hypot)(f, g);
                sub[i + 1] = r;
                if (r == 0) { /* the coupling underflowed: split here */
                    d[i + 1] -= p;
                    sub[m] = 0;
                    break;
                }
                sn = f / r;
                c = g / r;
                g = d[i + 1] - p;
                r = (d[i] - g) * sn + 2 * c * b;
                p = sn * r;
                d[i + 1] = g + p;
                g = c * r - b;
                if (v)
                    for (int k = 0; k < s; ++k) {
                        DREAL *row = v + k * s, vt = row[i + 1];
                        row[i + 1] = sn * row[i] + c * vt;
                        row[i] = c * row[i] - sn * vt;
                    }
            }
            if (r == 0 && i >= l) continue;
            d[l] -= p;
            sub[l] = g;
            sub[m] = 0;
        }
    }
}

/* 1 when x lies below every eigenvalue of the symmetric tridiagonal T
 * (diagonal d, s entries; subdiagonal e, s - 1): every pivot q_i of
 * T - xI = L D L' is positive. Then also g = sum_i 1/(lambda_i - x) and
 * h = sum_i 1/(lambda_i - x)^2, from the pivots and their first two
 * x-derivatives: g = -sum q_i'/q_i, h = sum (q_i'/q_i)^2 - q_i''/q_i. */
DOPT_KFN int DFN(cone_tridiag_below)(int s, const DREAL *d, const DREAL *e, DREAL x, DREAL *g_out, DREAL *h_out)
{
    DREAL q = d[0] - x, dq = -1, ddq = 0, g = 0, h = 0;
    for (int i = 0;; ++i) {
        if (!(q > 0)) return 0;
        DREAL r = 1 / q, dlog = dq * r;
        g -= dlog;
        h += dlog * dlog - ddq * r;
        if (i + 1 >= s) break;
        DREAL er = e[i] * r;
        ddq = er * er * (ddq - 2 * dq * dq * r);
        dq = -1 + er * er * dq;
        q = d[i + 1] - x - e[i] * er;
    }
    *g_out = g;
    *h_out = h;
    return 1;
}

/* The smallest eigenvalue of a symmetric s x s matrix when it is below
 * `floor` (<= 0), else 0 (NaN for NaN data): what the longest step inside
 * a PSD cone needs, where a step limit beyond the one already known does
 * not matter. Householder reduction to a tridiagonal T, a count of its
 * eigenvalues below floor, then Laguerre's method from Gershgorin's lower
 * bound, whose iterates are lower bounds (a step computed from one never
 * overshoots). It stops at a relative step sqrt(eps): the step fraction
 * (0.99) and the backtracking make more digits useless. Skipping the
 * eigenvectors and all eigenvalues but one makes this several times
 * cheaper than a full eigendecomposition at s = 5. a is destroyed;
 * scratch: 5s. */
DOPT_KFN DREAL DFN(cone_sym_min_eig_below)(int s, DREAL *a, DREAL floor, DREAL *scratch)
{
    DREAL *d = scratch, *e = d + s; /* diagonal, subdiagonal (s - 1, at least 1) */
    DFN(cone_tridiagonalize)(s, a, d, e, NULL, e + s);
    DREAL lo = DREAL_MAX, tnorm = 0;
    for (int i = 0; i < s; ++i) {
        DREAL rad = (i > 0 ? DABS(e[i - 1]) : 0) + (i + 1 < s ? DABS(e[i]) : 0);
        if (!(rad - rad == 0) || !(d[i] - d[i] == 0)) return d[i] - d[i] + rad - rad; /* NaN */
        if (d[i] - rad < lo) lo = d[i] - rad;
        if (DABS(d[i]) + rad > tnorm) tnorm = DABS(d[i]) + rad;
    }
    /* T - xI = L D L' has as many negative pivots as T has eigenvalues below x */
    if (lo >= floor) return 0;
    {
        int below = 0;
        DREAL q = d[0] - floor;
        for (int i = 0;; ++i) {
            if (q == 0) q = DREAL_EPS * tnorm + DREAL_MIN; /* LAPACK's pivmin */
            below += q < 0;
            if (i + 1 >= s) break;
            q = d[i + 1] - floor - e[i] * e[i] / q;
        }
        if (!below) return 0;
    }
    /* Laguerre's method on det(T - xI) from the left of every eigenvalue:
     * for a polynomial with real roots its iterates from there climb
     * monotonically to the smallest root, cubically near it (exactly in one
     * step when s = 2), and never pass it, so every iterate is a lower
     * bound (Newton's method has the same property but crawls when started
     * far away: 10 steps on average at s = 5, against 2-4). A point counts
     * as below the root only when every pivot of T - xI (computed) is
     * positive, so what is returned is a lower bound of T's smallest
     * eigenvalue; the reduction to T moves the eigenvalues by about
     * eps |A|, which the step fraction (0.99) and the caller's backtracking
     * absorb. An iterate xn that lands on or past the root (rounding) is
     * pulled back to xn - f |xn|, f = 16 eps, 256 eps, ... while that stays
     * above the previous iterate, which is returned when none is below. */
    DREAL x = lo - (DREAL_EPS * tnorm + DREAL_MIN), g, h, rel = DSQRT(DREAL_EPS);
    if (!DFN(cone_tridiag_below)(s, d, e, x, &g, &h)) return x; /* only by rounding: Gershgorin's bound holds */
    for (int it = 0; it < 60; ++it) {
        DREAL disc = (DREAL)(s - 1) * ((DREAL)s * h - g * g);
        DREAL step = (DREAL)s / (g + DSQRT(disc > 0 ? disc : 0));
        if (!(step > rel * DABS(x))) break; /* also stops on NaN */
        DREAL gn, hn;
        if (DFN(cone_tridiag_below)(s, d, e, x + step, &gn, &hn)) {
            x += step;
            g = gn;
            h = hn;
            continue;
        }
        DREAL xn = x + step;
        for (DREAL frac = 16 * DREAL_EPS; frac < 1; frac *= 16) {
            DREAL back = xn - frac * DABS(xn);
            if (!(back > x)) break;
            if (DFN(cone_tridiag_below)(s, d, e, back, &gn, &hn)) {
                x = back;
                break;
            }
        }
        break;
    }
    return x;
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
 * M' = U' L' P, so U' w = g, L' q = w, u = P' q, both triangular solves
 * by rows of U and L (column-oriented substitution: unit stride). t: N
 * scratch. */
DOPT_KFN void DFN(cone_lu_solve_t)(int N, const DREAL *lu, const DREAL *piv, DREAL *g, DREAL *t)
{
    for (int j = 0; j < N; ++j) { /* U' lower: forward */
        const DREAL *uj = lu + (size_t)j * N;
        DREAL gj = g[j] / uj[j];
        g[j] = gj;
        if (gj != 0)
            for (int i = j + 1; i < N; ++i) g[i] -= uj[i] * gj;
    }
    for (int j = N - 1; j > 0; --j) { /* L' unit upper: backward */
        const DREAL *lj = lu + (size_t)j * N;
        DREAL gj = g[j];
        if (gj != 0)
            for (int i = 0; i < j; ++i) g[i] -= lj[i] * gj;
    }
    for (int i = 0; i < N; ++i) t[(int)piv[i]] = g[i];
    for (int i = 0; i < N; ++i) g[i] = t[i];
}
