/* The cones of the cone layer, one precision per inclusion: the identity,
 * how far a point is outside, the longest step inside, Nesterov-Todd
 * scaling, the Jordan product and division by the scaled point lambda.
 * A point's rows are ordered: the orthant (l), each second-order cone,
 * each PSD cone in svec order (docs/CONE.md). The scaling W is stored per
 * block: l diagonal entries, then a dense q x q and t x t (t = s(s+1)/2)
 * matrix per second-order and PSD cone (dopt_cone_layout.nw values).
 * No include guard on purpose. */

#define DOPT_CONE_SQRT2 ((DREAL)1.41421356237309504880)

/* mat(v): the symmetric s x s matrix of an svec */
DOPT_KFN void DFN(cone_mat)(int s, const DREAL *v, DREAL *X)
{
    for (int j = 0; j < s; ++j)
        for (int i = j; i < s; ++i) {
            DREAL a = v[dopt_cone_svec_index(s, i, j)];
            if (i != j) a /= DOPT_CONE_SQRT2;
            X[i * s + j] = a;
            X[j * s + i] = a;
        }
}

/* svec(X) of the symmetric part of X */
DOPT_KFN void DFN(cone_svec)(int s, const DREAL *X, DREAL *v)
{
    for (int j = 0; j < s; ++j)
        for (int i = j; i < s; ++i)
            v[dopt_cone_svec_index(s, i, j)] =
                i == j ? X[i * s + i] : (X[i * s + j] + X[j * s + i]) / 2 * DOPT_CONE_SQRT2;
}

/* e: the identity of the cone's Jordan algebra (1; (1, 0); svec(I)) */
DOPT_KFN void DFN(cone_identity)(const dopt_cone_layout *L, DREAL *e)
{
    for (int i = 0; i < L->m; ++i) e[i] = 0;
    for (int i = 0; i < L->l; ++i) e[i] = 1;
    int off = L->l;
    for (int c = 0; c < L->nq; ++c) {
        e[off] = 1;
        off += L->q[c];
    }
    for (int c = 0; c < L->ns; ++c) {
        int s = L->s[c];
        for (int i = 0; i < s; ++i) e[off + dopt_cone_svec_index(s, i, i)] = 1;
        off += s * (s + 1) / 2;
    }
}

/* The largest t over the blocks such that u + t e lies on a block's
 * boundary: u is inside the cone iff the result is < 0 (for the start
 * point's shift). scratch: smax^2 + 5 smax. */
DOPT_KFN DREAL DFN(cone_outside)(const dopt_cone_layout *L, const DREAL *u, DREAL *scratch)
{
    DREAL worst = -DREAL_MAX;
    for (int i = 0; i < L->l; ++i)
        if (-u[i] > worst) worst = -u[i];
    int off = L->l;
    for (int c = 0; c < L->nq; ++c) {
        int q = L->q[c];
        DREAL r = DSQRT(DFN(cone_dot)(q - 1, u + off + 1, u + off + 1));
        if (r - u[off] > worst) worst = r - u[off];
        off += q;
    }
    for (int c = 0; c < L->ns; ++c) {
        int s = L->s[c];
        DREAL *X = scratch, *e = scratch + s * s;
        DFN(cone_mat)(s, u + off, X);
        DFN(cone_sym_eig)(s, X, e, NULL, e + s);
        for (int i = 0; i < s; ++i)
            if (-e[i] > worst) worst = -e[i];
        off += s * (s + 1) / 2;
    }
    return worst;
}

/* 1 when u is strictly inside K by the very tests the NT scaling makes
 * (t0 > 0 and t0^2 - |t1|^2 > 0; a Cholesky of mat(u)), else 0: a step the
 * exact step length allows can still land outside by rounding when the
 * iterate hugs a face. scratch: 2 smax^2. */
DOPT_KFN int DFN(cone_inside)(const dopt_cone_layout *L, const DREAL *u, DREAL *scratch)
{
    for (int i = 0; i < L->l; ++i)
        if (!(u[i] > 0)) return 0;
    int off = L->l;
    for (int c = 0; c < L->nq; ++c) {
        int q = L->q[c];
        if (!(u[off] > 0 && u[off] * u[off] - DFN(cone_dot)(q - 1, u + off + 1, u + off + 1) > 0)) return 0;
        off += q;
    }
    for (int c = 0; c < L->ns; ++c) {
        int s = L->s[c];
        DFN(cone_mat)(s, u + off, scratch);
        if (DFN(cone_chol)(s, scratch, scratch + s * s)) return 0;
        off += s * (s + 1) / 2;
    }
    return 1;
}

/* The smallest positive root of a t^2 + 2 b t + c (c > 0), DREAL_MAX when none:
 * where u + t d leaves a second-order cone. */
DOPT_KFN DREAL DFN(cone_soc_root)(DREAL a, DREAL b, DREAL c)
{
    if (!(c > 0)) return 0;
    if (a == 0) return b < 0 ? -c / (2 * b) : DREAL_MAX;
    DREAL disc = b * b - a * c;
    if (disc < 0) return DREAL_MAX; /* then a > 0: never leaves */
    DREAL q = -(b + (b >= 0 ? DSQRT(disc) : -DSQRT(disc)));
    DREAL best = DREAL_MAX;
    if (q != 0) {
        DREAL r1 = q / a, r2 = c / q;
        if (r1 > 0 && r1 < best) best = r1;
        if (r2 > 0 && r2 < best) best = r2;
    }
    return best;
}

/* min(tmax, the longest step t >= 0 with u + t d in the cone) (u inside;
 * tmax = DREAL_MAX: DREAL_MAX when unbounded), 0 when u is not inside.
 * A caller that caps the step passes the cap as tmax, which spares the
 * PSD blocks' eigenvalue iterations where a block allows more. With
 * diagonal_psd, u's PSD blocks are known to be diagonal (u = lambda, the
 * scaled point), which spares their Cholesky factorizations. scratch:
 * 4 smax^2 + smax. */
DOPT_KFN DREAL DFN(cone_max_step)(const dopt_cone_layout *L, const DREAL *u, const DREAL *d, int diagonal_psd,
                                  DREAL tmax, DREAL *scratch)
{
    DREAL t = tmax;
    for (int i = 0; i < L->l; ++i)
        if (d[i] < 0) {
            DREAL r = -u[i] / d[i];
            if (r < t) t = r;
        }
    int off = L->l;
    for (int c = 0; c < L->nq; ++c) {
        int q = L->q[c];
        const DREAL *uu = u + off, *dd = d + off;
        DREAL a = dd[0] * dd[0] - DFN(cone_dot)(q - 1, dd + 1, dd + 1);
        DREAL b = uu[0] * dd[0] - DFN(cone_dot)(q - 1, uu + 1, dd + 1);
        DREAL cc = uu[0] * uu[0] - DFN(cone_dot)(q - 1, uu + 1, uu + 1);
        DREAL r = uu[0] > 0 ? DFN(cone_soc_root)(a, b, cc) : 0;
        if (r < t) t = r;
        /* the root may be lost to rounding where f touches 0 (always so
         * for q = 1): t0 + t d0 >= 0 is necessary in any case */
        if (dd[0] < 0 && -uu[0] / dd[0] < t) t = -uu[0] / dd[0];
        off += q;
    }
    for (int c = 0; c < L->ns; ++c) {
        int s = L->s[c];
        DREAL *U = scratch, *Lc = U + s * s, *D = Lc + s * s, *Y = D + s * s;
        if (diagonal_psd) { /* mat(u) = diag(lambda): L^-1 D L^-T = Lambda^-1/2 D Lambda^-1/2 */
            DFN(cone_mat)(s, d + off, U);
            for (int i = 0; i < s; ++i) {
                DREAL li = u[off + dopt_cone_svec_index(s, i, i)];
                if (!(li > 0)) return 0;
                Y[i] = 1 / DSQRT(li);
            }
            for (int i = 0; i < s; ++i)
                for (int j = 0; j < s; ++j) U[i * s + j] *= Y[i] * Y[j];
            DREAL emin = DFN(cone_sym_min_eig_below)(s, U, -1 / t, Lc);
            if (emin != emin) return 0;
            if (emin < 0 && -1 / emin < t) t = -1 / emin;
            off += s * (s + 1) / 2;
            continue;
        }
        DFN(cone_mat)(s, u + off, U);
        if (DFN(cone_chol)(s, U, Lc)) return 0;
        DFN(cone_mat)(s, d + off, D);
        /* Y = L^-1 D, column by column, then U = L^-1 Y' = L^-1 D L^-T */
        for (int col = 0; col < s; ++col)
            for (int i = 0; i < s; ++i) {
                DREAL v = D[i * s + col];
                for (int k = 0; k < i; ++k) v -= Lc[i * s + k] * Y[k * s + col];
                Y[i * s + col] = v / Lc[i * s + i];
            }
        for (int col = 0; col < s; ++col)
            for (int i = 0; i < s; ++i) {
                DREAL v = Y[col * s + i];
                for (int k = 0; k < i; ++k) v -= Lc[i * s + k] * U[k * s + col];
                U[i * s + col] = v / Lc[i * s + i];
            }
        for (int i = 0; i < s; ++i) /* symmetrize the rounding */
            for (int j = 0; j < i; ++j) U[i * s + j] = U[j * s + i] = (U[i * s + j] + U[j * s + i]) / 2;
        DREAL emin = DFN(cone_sym_min_eig_below)(s, U, -1 / t, Lc); /* Lc, D, Y are free: it needs 5s, and 3 s^2 >= 5s from s = 2 (s = 1 reduces nothing and uses 2) */
        if (emin != emin) return 0;
        if (emin < 0 && -1 / emin < t) t = -1 / emin;
        off += s * (s + 1) / 2;
    }
    return t;
}

/* The t x t matrix (t = s(s+1)/2) of Z -> R'ZR in svec coordinates: column
 * (i, j) is svec(R' E_ij R) for the svec basis element E_ij. */
DOPT_KFN void DFN(cone_psd_map)(int sd, const DREAL *R, DREAL *out)
{
    int t = sd * (sd + 1) / 2;
    /* svec positions run in the loops' order (column j, then row i >= j):
     * counters instead of dopt_cone_svec_index */
    int col = 0;
    for (int j = 0; j < sd; ++j)
        for (int i = j; i < sd; ++i, ++col) {
            const DREAL *ri = R + i * sd, *rj = R + j * sd;
            int row = 0;
            for (int bcol = 0; bcol < sd; ++bcol) {
                DREAL *o = out + col;
                if (i == j) {
                    o[(size_t)row * t] = ri[bcol] * ri[bcol];
                    ++row;
                    for (int a = bcol + 1; a < sd; ++a, ++row) o[(size_t)row * t] = ri[a] * ri[bcol] * DOPT_CONE_SQRT2;
                } else {
                    o[(size_t)row * t] = DOPT_CONE_SQRT2 * ri[bcol] * rj[bcol];
                    ++row;
                    for (int a = bcol + 1; a < sd; ++a, ++row)
                        o[(size_t)row * t] = ri[a] * rj[bcol] + rj[a] * ri[bcol];
                }
            }
        }
}

/* Nesterov-Todd scaling at (s, z), both inside: W with W z = W^-T s =
 * lambda. W is symmetric on orthant and second-order blocks; on a PSD block
 * it is the map Z -> R'ZR with R'ZR = R^-1 S R^-T = diag(lambda), whose
 * transpose (in svec, an orthonormal basis) is Z -> RZR'. Writes W (nw values)
 * and lambda (m; a PSD block's lambda is svec of a diagonal matrix).
 * Also writes W's inverse Winv (same layout). W may be NULL: the interior
 * point needs only Winv and lambda, and the PSD blocks' W costs as much as
 * Winv. Returns 0, or 1 when s or z
 * is not inside the cone. scratch: 7 smax^2 + 5 smax. */
DOPT_KFN int DFN(cone_nt_scaling)(const dopt_cone_layout *L, const DREAL *s, const DREAL *z, DREAL *W, DREAL *Winv,
                                  DREAL *lam, DREAL *scratch)
{
    for (int i = 0; i < L->l; ++i) {
        if (!(s[i] > 0 && z[i] > 0)) return 1;
        DREAL w = DSQRT(s[i] / z[i]);
        if (W) W[i] = w;
        Winv[i] = 1 / w;
        lam[i] = DSQRT(s[i] * z[i]);
    }
    int off = L->l, woff = L->l;
    for (int c = 0; c < L->nq; ++c) {
        int q = L->q[c];
        const DREAL *sc = s + off, *zc = z + off;
        DREAL sn = sc[0] * sc[0] - DFN(cone_dot)(q - 1, sc + 1, sc + 1);
        DREAL zn = zc[0] * zc[0] - DFN(cone_dot)(q - 1, zc + 1, zc + 1);
        if (!(sc[0] > 0 && zc[0] > 0 && sn > 0 && zn > 0)) return 1;
        DREAL ss = DSQRT(sn), zs = DSQRT(zn);
        DREAL dotn = DFN(cone_dot)(q, sc, zc) / (ss * zs); /* sbar'zbar >= 1 */
        DREAL gamma = DSQRT((1 + dotn) / 2), eta = DSQRT(ss / zs);
        DREAL *Wi = Winv + woff;
        DREAL w0 = (sc[0] / ss + zc[0] / zs) / (2 * gamma);
        DREAL *w1 = scratch; /* wbar's tail */
        for (int i = 1; i < q; ++i) w1[i - 1] = (sc[i] / ss - zc[i] / zs) / (2 * gamma);
        /* W = eta [w0 w1'; w1 I + w1 w1'/(1 + w0)], W^-1 = J W J / eta^2 */
        Wi[0] = w0 / eta;
        for (int i = 1; i < q; ++i) Wi[i] = Wi[i * q] = -w1[i - 1] / eta;
        for (int i = 1; i < q; ++i)
            for (int j = 1; j < q; ++j) Wi[i * q + j] = ((i == j ? (DREAL)1 : (DREAL)0) + w1[i - 1] * w1[j - 1] / (1 + w0)) / eta;
        if (W) {
            DREAL *Wc = W + woff;
            for (int i = 0; i < q * q; ++i) Wc[i] = eta * eta * Wi[i];
            for (int i = 1; i < q; ++i) Wc[i] = Wc[i * q] = -Wc[i];
        }
        /* lambda = W z = eta (w0 z0 + w1'z1, z0 w1 + z1 + (w1'z1/(1 + w0)) w1) */
        DREAL wz = DFN(cone_dot)(q - 1, w1, zc + 1);
        lam[off] = eta * (w0 * zc[0] + wz);
        for (int i = 1; i < q; ++i) lam[off + i] = eta * (zc[0] * w1[i - 1] + zc[i] + wz / (1 + w0) * w1[i - 1]);
        off += q;
        woff += q * q;
    }
    for (int c = 0; c < L->ns; ++c) {
        int sd = L->s[c], t = sd * (sd + 1) / 2, s2 = sd * sd;
        DREAL *S = scratch, *Z = S + s2, *Ls = Z + s2, *Lz = Ls + s2, *P = Lz + s2, *V = P + s2, *R = V + s2,
              *e = R + s2;
        DFN(cone_mat)(sd, s + off, S);
        DFN(cone_mat)(sd, z + off, Z);
        if (DFN(cone_chol)(sd, S, Ls) || DFN(cone_chol)(sd, Z, Lz)) return 1;
        /* Q = Lz' Ls (into S), P = Q'Q = Ls' Z Ls; eig P = V diag(lambda^2) V'
         * (the singular values of Q directly, as CVXOPT takes them, would
         * keep more digits of the small lambda_i, but measured on the NPA
         * family the solutions at tol 1e-12 agree to 4e-13 in the objective
         * while the one-sided Jacobi SVD costs 3.5 % more instructions) */
        for (int i = 0; i < sd; ++i)
            for (int j = 0; j < sd; ++j) {
                DREAL v = 0;
                for (int k = (i > j ? i : j); k < sd; ++k) v += Lz[k * sd + i] * Ls[k * sd + j];
                S[i * sd + j] = v;
            }
        for (int i = 0; i < sd; ++i)
            for (int j = 0; j <= i; ++j) {
                DREAL v = 0;
                for (int k = 0; k < sd; ++k) v += S[k * sd + i] * S[k * sd + j];
                P[i * sd + j] = P[j * sd + i] = v;
            }
        DFN(cone_sym_eig)(sd, P, e, V, e + sd);
        for (int i = 0; i < sd; ++i) {
            if (!(e[i] > 0)) return 1;
            e[i] = DSQRT(e[i]); /* lambda_i */
        }
        /* R = Ls V diag(lambda^-1/2) */
        for (int i = 0; i < sd; ++i)
            for (int j = 0; j < sd; ++j) {
                DREAL v = 0;
                for (int k = 0; k <= i; ++k) v += Ls[i * sd + k] * V[k * sd + j];
                R[i * sd + j] = v / DSQRT(e[j]);
            }
        if (W) DFN(cone_psd_map)(sd, R, W + woff);
        /* R^-1 = diag(lambda^1/2) V' Ls^-1: M = Ls^-T V by back substitution (into P) */
        for (int col = 0; col < sd; ++col)
            for (int i = sd - 1; i >= 0; --i) {
                DREAL v = V[i * sd + col];
                for (int k = i + 1; k < sd; ++k) v -= Ls[k * sd + i] * P[k * sd + col];
                P[i * sd + col] = v / Ls[i * sd + i];
            }
        for (int i = 0; i < sd; ++i)
            for (int j = 0; j < sd; ++j) R[i * sd + j] = DSQRT(e[i]) * P[j * sd + i];
        DFN(cone_psd_map)(sd, R, Winv + woff);
        for (int i = 0; i < t; ++i) lam[off + i] = 0;
        for (int i = 0; i < sd; ++i) lam[off + dopt_cone_svec_index(sd, i, i)] = e[i];
        off += t;
        woff += t * t;
    }
    return 0;
}

/* out = W v, or W' v with trans; out != v. */
DOPT_KFN void DFN(cone_scale)(const dopt_cone_layout *L, const DREAL *W, int trans, const DREAL *v, DREAL *out)
{
    for (int i = 0; i < L->l; ++i) out[i] = W[i] * v[i];
    int off = L->l, woff = L->l;
    for (int c = 0; c < L->nq + L->ns; ++c) {
        int q = c < L->nq ? L->q[c] : L->s[c - L->nq] * (L->s[c - L->nq] + 1) / 2;
        const DREAL *Wc = W + woff;
        if (!trans || c < L->nq) {
            for (int i = 0; i < q; ++i) out[off + i] = DFN(cone_dot)(q, Wc + i * q, v + off);
        } else {
            for (int i = 0; i < q; ++i) out[off + i] = 0;
            for (int k = 0; k < q; ++k)
                for (int i = 0; i < q; ++i) out[off + i] += Wc[k * q + i] * v[off + k];
        }
        off += q;
        woff += q * q;
    }
}

/* Out = W G, or W' G with trans, for an m x n row-major G: cone_scale on
 * every column, computed a block of rows at a time (row combinations, which
 * vectorize over the n columns). Out != G. */
DOPT_KFN void DFN(cone_scale_rows)(const dopt_cone_layout *L, const DREAL *W, int trans, int n, const DREAL *G,
                                   DREAL *Out)
{
    for (int i = 0; i < L->l; ++i)
        for (int j = 0; j < n; ++j) Out[(size_t)i * n + j] = W[i] * G[(size_t)i * n + j];
    int off = L->l, woff = L->l;
    for (int c = 0; c < L->nq + L->ns; ++c) {
        int q = c < L->nq ? L->q[c] : L->s[c - L->nq] * (L->s[c - L->nq] + 1) / 2;
        const DREAL *Wc = W + woff;
        int symmetric = !trans || c < L->nq; /* second-order blocks are symmetric */
        for (int i = 0; i < q; ++i) {
            DREAL *o = Out + (size_t)(off + i) * n;
            for (int j = 0; j < n; ++j) o[j] = 0;
            /* W's row i, or its column i with trans */
            const DREAL *wi = symmetric ? Wc + (size_t)i * q : Wc + i;
            const int ws = symmetric ? 1 : q;
            int k = 0;
            for (; k + 2 <= q; k += 2) { /* two rows of G per pass over o: half the loads and stores of o */
                DREAL w0 = wi[k * ws], w1 = wi[(k + 1) * ws];
                const DREAL *g0 = G + (size_t)(off + k) * n, *g1 = g0 + n;
                for (int j = 0; j < n; ++j) o[j] += w0 * g0[j] + w1 * g1[j];
            }
            if (k < q) {
                DREAL w = wi[k * ws];
                const DREAL *g = G + (size_t)(off + k) * n;
                for (int j = 0; j < n; ++j) o[j] += w * g[j];
            }
        }
        off += q;
        woff += q * q;
    }
}

/* out = u o v, the Jordan product per block: u_i v_i; (u'v, u0 v1 + v0 u1);
 * svec((UV + VU)/2). scratch: 3 smax^2. out may not alias u or v. */
DOPT_KFN void DFN(cone_jordan)(const dopt_cone_layout *L, const DREAL *u, const DREAL *v, DREAL *out, DREAL *scratch)
{
    for (int i = 0; i < L->l; ++i) out[i] = u[i] * v[i];
    int off = L->l;
    for (int c = 0; c < L->nq; ++c) {
        int q = L->q[c];
        out[off] = DFN(cone_dot)(q, u + off, v + off);
        for (int i = 1; i < q; ++i) out[off + i] = u[off] * v[off + i] + v[off] * u[off + i];
        off += q;
    }
    for (int c = 0; c < L->ns; ++c) {
        int s = L->s[c];
        DREAL *U = scratch, *V = U + s * s, *P = V + s * s;
        DFN(cone_mat)(s, u + off, U);
        DFN(cone_mat)(s, v + off, V);
        for (int i = 0; i < s; ++i)
            for (int j = 0; j < s; ++j) P[i * s + j] = DFN(cone_dot)(s, U + i * s, V + j * s); /* (UV)_ij, V sym */
        DFN(cone_svec)(s, P, out + off); /* svec of the symmetric part = (UV + VU)/2 */
        off += s * (s + 1) / 2;
    }
}

/* out = lambda \ r: the solution of lambda o out = r (lambda from
 * cone_nt_scaling: a PSD block's is diagonal, so its division is entrywise
 * by (lambda_i + lambda_j)/2). out may alias r. */
DOPT_KFN void DFN(cone_jordan_div)(const dopt_cone_layout *L, const DREAL *lam, const DREAL *r, DREAL *out)
{
    for (int i = 0; i < L->l; ++i) out[i] = r[i] / lam[i];
    int off = L->l;
    for (int c = 0; c < L->nq; ++c) {
        int q = L->q[c];
        const DREAL *lc = lam + off;
        DREAL det = lc[0] * lc[0] - DFN(cone_dot)(q - 1, lc + 1, lc + 1);
        DREAL x0 = (lc[0] * r[off] - DFN(cone_dot)(q - 1, lc + 1, r + off + 1)) / det;
        for (int i = 1; i < q; ++i) out[off + i] = (r[off + i] - x0 * lc[i]) / lc[0];
        out[off] = x0;
        off += q;
    }
    for (int c = 0; c < L->ns; ++c) {
        int s = L->s[c];
        for (int j = 0; j < s; ++j)
            for (int i = j; i < s; ++i) {
                int idx = off + dopt_cone_svec_index(s, i, j);
                DREAL li = lam[off + dopt_cone_svec_index(s, i, i)], lj = lam[off + dopt_cone_svec_index(s, j, j)];
                out[idx] = r[idx] / ((li + lj) / 2);
            }
        off += s * (s + 1) / 2;
    }
}

/* The Jacobian of the projection onto K at v (symmetric, 0 <= P <= I), in
 * W's block layout (nw values): the derivative of the residual map the
 * backward differentiates (z = Pi(v), s = Pi(v) - v at v = z - s).
 *  orthant: 1 where v_i > 0, else 0;
 *  second-order, v = (t, w), r = |w|: I inside, 0 in the polar cone, else
 *    1/2 [1, w'/r; w/r, (1 + t/r) I - (t/r) w w'/r^2];
 *  PSD, mat(v) = Q diag(e) Q': H -> Q (B o (Q'HQ)) Q' with B_ij =
 *    (e_i+ - e_j+)/(e_i - e_j) (1 or 0 where e_i = e_j). In svec
 *    coordinates H -> Q'HQ is the orthogonal t x t matrix T =
 *    cone_psd_map(Q) and B o is diagonal (b = svec's entries of B, unscaled),
 *    so the block is T' diag(b) T: t^3/2 multiply-adds, fewer where B has
 *    zeros (the eigenvalues of one sign), against ~2 s^5 for the map applied
 *    to each basis element.
 * scratch: 4 smax^2 + 4 smax; Tm: tmax^2 (t = s(s+1)/2). */
DOPT_KFN void DFN(cone_proj_jacobian)(const dopt_cone_layout *L, const DREAL *v, DREAL *P, DREAL *scratch,
                                      DREAL *Tm)
{
    for (int i = 0; i < L->l; ++i) P[i] = v[i] > 0 ? (DREAL)1 : (DREAL)0;
    int off = L->l, woff = L->l;
    for (int c = 0; c < L->nq; ++c) {
        int q = L->q[c];
        const DREAL *vc = v + off;
        DREAL *Pc = P + woff;
        DREAL t = vc[0], r = DSQRT(DFN(cone_dot)(q - 1, vc + 1, vc + 1));
        for (int i = 0; i < q * q; ++i) Pc[i] = 0;
        if (r <= t) {
            for (int i = 0; i < q; ++i) Pc[i * q + i] = 1;
        } else if (r > -t) { /* r > |t|, so r > 0 */
            Pc[0] = (DREAL)0.5;
            for (int i = 1; i < q; ++i) Pc[i] = Pc[i * q] = vc[i] / (2 * r);
            for (int i = 1; i < q; ++i)
                for (int j = 1; j < q; ++j)
                    Pc[i * q + j] = ((i == j ? 1 + t / r : (DREAL)0) - t / r * vc[i] * vc[j] / (r * r)) / 2;
        }
        off += q;
        woff += q * q;
    }
    for (int c = 0; c < L->ns; ++c) {
        int s = L->s[c], t = s * (s + 1) / 2, s2 = s * s;
        DREAL *X = scratch, *Q = X + s2, *B = Q + s2, *e = B + s2, *b = e + s; /* b: t values */
        DREAL *Pc = P + woff;
        DFN(cone_mat)(s, v + off, X);
        DFN(cone_sym_eig)(s, X, e, Q, b); /* b's slot is free until below */
        for (int i = 0; i < s; ++i)
            for (int j = 0; j < s; ++j) {
                DREAL pi = e[i] > 0 ? e[i] : 0, pj = e[j] > 0 ? e[j] : 0;
                if (e[i] != e[j] && (pi != 0 || pj != 0))
                    B[i * s + j] = (pi - pj) / (e[i] - e[j]);
                else
                    B[i * s + j] = e[i] > 0 ? (DREAL)1 : (DREAL)0;
            }
        for (int j = 0; j < s; ++j)
            for (int i = j; i < s; ++i) b[dopt_cone_svec_index(s, i, j)] = B[i * s + j];
        DFN(cone_psd_map)(s, Q, Tm); /* the map H -> Q'HQ */
        /* lower triangle of T' diag(b) T by rank-one updates along T's rows */
        for (int i = 0; i < t * t; ++i) Pc[i] = 0;
        for (int r = 0; r < t; ++r) {
            if (b[r] == 0) continue;
            const DREAL *tr = Tm + (size_t)r * t;
            for (int i = 0; i < t; ++i) {
                DREAL a = b[r] * tr[i];
                DREAL *pi = Pc + (size_t)i * t;
                if (a != 0)
                    for (int j = 0; j <= i; ++j) pi[j] += a * tr[j];
            }
        }
        for (int i = 0; i < t; ++i)
            for (int j = 0; j < i; ++j) Pc[(size_t)j * t + i] = Pc[(size_t)i * t + j];
        off += t;
        woff += t * t;
    }
}
