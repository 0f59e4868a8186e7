/* The cone layer's per-instance interior point and adjoint, one precision
 * per inclusion (DREAL / DFN set by cone_ipm.h). No include guard.
 *
 * The method (docs/CONE.md): the homogeneous self-dual embedding in
 * (x, y, z, s, tau, kappa), Mehrotra predictor-corrector steps with
 * Nesterov-Todd scaling W. The Newton system's z rows, G dx - W'W dz = r,
 * are solved in the scaled variable u = W dz (as CVXOPT does): one
 * factorization per step of
 *     [ -I      W^-T G   0  ]   rows u (m)
 *     [ G'W^-1  0        A' ]   rows x (n)
 *     [ 0       A        0  ]   rows y (k)
 * whose z block is perfectly conditioned, where -W'W's condition number
 * grows like 1/mu^2 and loses the pivots near the solution. The u rows
 * come first: eliminating them first is the normal-equations order, and
 * the matrix is factored through that Schur complement (an LDL' of
 * (n + k) x (n + k), below), with static and dynamic regularization and
 * iterative refinement against the unregularized matrix. The backward
 * builds and factors its own matrix, the derivative of the residual map at
 * the solution (cone_keep_jacobian). */

typedef struct {
    DREAL tol, tol_inf;
    int max_iter, refine;
} DFN(cone_settings);

/* One instance's data (row-major): c n, G m x n, h m, A k x n, b k. */
typedef struct {
    int n, k;
    const DREAL *c, *G, *h, *A, *b;
} DFN(cone_view);

/* A batch as the kernels address it: base pointers and batch strides in
 * elements (0 = shared); instance i's view. Shared by both backends. */
typedef struct {
    const DREAL *c, *G, *h, *A, *b;
    int64_t sc, sG, sh, sA, sb;
    int n, k, m;
} DFN(cone_batch);

DOPT_KFN DFN(cone_batch) DFN(cone_batch_of)(const dopt_cone_problem *P, int m)
{
    DFN(cone_batch) bt;
    int64_t n = P->n, k = P->k;
    unsigned sh = P->shared;
    bt.c = (const DREAL *)P->c;
    bt.G = (const DREAL *)P->G;
    bt.h = (const DREAL *)P->h;
    bt.A = (const DREAL *)P->A;
    bt.b = (const DREAL *)P->b;
    bt.sc = (sh & DOPT_CONE_SHARE_C) ? 0 : n;
    bt.sG = (sh & DOPT_CONE_SHARE_G) ? 0 : m * n;
    bt.sh = (sh & DOPT_CONE_SHARE_H) ? 0 : m;
    bt.sA = (sh & DOPT_CONE_SHARE_A) ? 0 : k * n;
    bt.sb = (sh & DOPT_CONE_SHARE_B) ? 0 : k;
    bt.n = P->n;
    bt.k = P->k;
    bt.m = m;
    return bt;
}

DOPT_KFN DFN(cone_view) DFN(cone_view_of)(const DFN(cone_batch) *bt, int64_t i)
{
    DFN(cone_view) v;
    v.n = bt->n;
    v.k = bt->k;
    v.c = bt->c + i * bt->sc;
    v.G = bt->G ? bt->G + i * bt->sG : NULL;
    v.h = bt->h ? bt->h + i * bt->sh : NULL;
    v.A = bt->A ? bt->A + i * bt->sA : NULL;
    v.b = bt->b ? bt->b + i * bt->sb : NULL;
    return v;
}

DOPT_KFN DFN(cone_settings) DFN(cone_settings_of)(const dopt_cone_options *o)
{
    DFN(cone_settings) s;
    s.tol = (DREAL)o->tol;
    s.tol_inf = (DREAL)o->tol_inf;
    s.max_iter = o->max_iter;
    s.refine = o->refine;
    return s;
}

/* The scaled KKT matrix of the header's comment is kept in pieces: its
 * z block is -I, so the matrix is determined by Gs = W^-T G (m x n) and A.
 * Gs at the scaling whose inverse is Winv (NULL: W = I, the start point). */
DOPT_KFN void DFN(cone_kkt_assemble)(const DFN(cone_view) *v, const dopt_cone_layout *L, const DREAL *Winv, DREAL *Gs)
{
    if (Winv)
        DFN(cone_scale_rows)(L, Winv, 1, v->n, v->G, Gs);
    else
        for (size_t i = 0; i < (size_t)L->m * v->n; ++i) Gs[i] = v->G[i];
}

/* The factor of K + diag(-reg on z, +reg on x, -reg on y) is made by
 * eliminating the z block first: its pivots are -(1 + reg) exactly, so what
 * an LDL' of the whole matrix (z rows first) would compute is the LDL' of
 * the (n + k) x (n + k) Schur complement
 *     F = [ reg I + Gs'Gs/(1 + reg)   A'     ]
 *         [ A                         -reg I ]
 * (the normal equations), at (n + k)^3/6 + n^2 m/2 multiply-adds instead of
 * (n + k + m)^3/6: cone_factor_init, cone_factor_gram and cone_factor_ldl
 * below (the solve in phases). */

/* out = K v for the unregularized scaled KKT matrix (rows z, x, y):
 * out_z = -v_z + Gs v_x, out_x = Gs' v_z + A' v_y, out_y = A v_x. Gs is
 * read once: each row serves its product with v_x and its share of Gs'v_z. */
DOPT_KFN void DFN(cone_kkt_apply)(int n, int k, int m, const DREAL *Gs, const DREAL *A, const DREAL *v, DREAL *out)
{
    const DREAL *vz = v, *vx = v + m, *vy = v + m + n;
    DREAL *oz = out, *ox = out + m, *oy = out + m + n;
    for (int j = 0; j < n; ++j) ox[j] = 0;
    int i = 0;
    for (; i + 2 <= m; i += 2) { /* two rows per pass over v_x and o_x */
        const DREAL *g0 = Gs + (size_t)i * n, *g1 = g0 + n;
        DREAL d0, d1;
        DFN(cone_dot2)(n, g0, g1, vx, &d0, &d1);
        oz[i] = d0 - vz[i];
        oz[i + 1] = d1 - vz[i + 1];
        DFN(cone_axpy2)(n, vz[i], g0, vz[i + 1], g1, ox);
    }
    if (i < m) {
        const DREAL *g = Gs + (size_t)i * n;
        oz[i] = DFN(cone_dot)(n, g, vx) - vz[i];
        for (int j = 0; j < n; ++j) ox[j] += vz[i] * g[j];
    }
    for (int r = 0; r < k; ++r) {
        DREAL a = vy[r];
        if (a != 0)
            for (int j = 0; j < n; ++j) ox[j] += a * A[(size_t)r * n + j];
    }
    for (int r = 0; r < k; ++r) oy[r] = DFN(cone_dot)(n, A + (size_t)r * n, vx);
}

/* v = F^-1 r with F's factor (cone_factor_ldl; in place is allowed):
 * the Schur complement's system for (x, y) with right-hand side
 * (r_x + Gs' r_z/(1 + reg), r_y), then v_z = (Gs v_x - r_z)/(1 + reg). */
DOPT_KFN void DFN(cone_kkt_factor_solve)(int n, int k, int m, const DREAL *Gs, const DREAL *F, const DREAL *r,
                                         DREAL *v)
{
    DREAL inv = 1 / (1 + DREAL_CONE_REG);
    DREAL *vx = v + m, *vy = v + m + n;
    for (int j = 0; j < n; ++j) vx[j] = r[m + j];
    for (int q = 0; q < k; ++q) vy[q] = r[m + n + q];
    int i = 0;
    for (; i + 2 <= m; i += 2) /* two rows of Gs per pass over v_x */
        DFN(cone_axpy2)(n, r[i] * inv, Gs + (size_t)i * n, r[i + 1] * inv, Gs + (size_t)(i + 1) * n, vx);
    if (i < m)
        for (int j = 0; j < n; ++j) vx[j] += r[i] * inv * Gs[(size_t)i * n + j];
    DFN(cone_ldl_solve)(n + k, F, vx); /* (x, y) are contiguous */
    for (i = 0; i + 2 <= m; i += 2) { /* r may alias v: r[i], r[i+1] are read first */
        DREAL d0, d1;
        DFN(cone_dot2)(n, Gs + (size_t)i * n, Gs + (size_t)(i + 1) * n, vx, &d0, &d1);
        v[i] = (d0 - r[i]) * inv;
        v[i + 1] = (d1 - r[i + 1]) * inv;
    }
    if (i < m) v[i] = (DFN(cone_dot)(n, Gs + (size_t)i * n, vx) - r[i]) * inv;
}

/* v = K^-1 rhs through the factor F, refined against K until the residual
 * is at most `target` times the right-hand side's scale (at most `refine`
 * steps); res: N scratch. Returns 0 when the refined residual is still
 * above sqrt(eps) of that scale (or NaN): near the solution the matrix's
 * condition number outgrows the precision, the LDL' loses pivots and
 * refinement diverges instead of converging. */
DOPT_KFN int DFN(cone_kkt_solve)(int n, int k, int m, const DREAL *Gs, const DREAL *A, const DREAL *F, int refine,
                                 DREAL target, const DREAL *rhs, DREAL *v, DREAL *res)
{
    int N = n + k + m;
    DFN(cone_kkt_factor_solve)(n, k, m, Gs, F, rhs, v);
    DREAL scale = 1 + DFN(cone_norm_inf)(N, rhs);
    for (int r = 0; r <= refine; ++r) {
        DFN(cone_kkt_apply)(n, k, m, Gs, A, v, res);
        for (int i = 0; i < N; ++i) res[i] = rhs[i] - res[i];
        DREAL rn = DFN(cone_norm_inf)(N, res);
        /* the last pass only measures; small enough stops (NaN: not small) */
        if (r == refine || !(rn > target * scale)) return rn <= DSQRT(DREAL_EPS) * scale;
        DFN(cone_kkt_factor_solve)(n, k, m, Gs, F, res, res);
        for (int i = 0; i < N; ++i) v[i] += res[i];
    }
    return 0; /* not reached */
}

/* rx = A'y + G'z + c tau, ry = A x - b tau, rz = G x + s - h tau */
DOPT_KFN void DFN(cone_residuals)(const DFN(cone_view) *v, int m, const DREAL *x, const DREAL *y, const DREAL *z,
                                  const DREAL *s, DREAL tau, DREAL *rx, DREAL *ry, DREAL *rz)
{
    int n = v->n, k = v->k;
    for (int j = 0; j < n; ++j) rx[j] = v->c[j] * tau;
    for (int i = 0; i < m; ++i)
        if (z[i] != 0)
            for (int j = 0; j < n; ++j) rx[j] += z[i] * v->G[(size_t)i * n + j];
    for (int r = 0; r < k; ++r)
        if (y[r] != 0)
            for (int j = 0; j < n; ++j) rx[j] += y[r] * v->A[(size_t)r * n + j];
    for (int r = 0; r < k; ++r) ry[r] = DFN(cone_dot)(n, v->A + (size_t)r * n, x) - v->b[r] * tau;
    for (int i = 0; i < m; ++i) rz[i] = DFN(cone_dot)(n, v->G + (size_t)i * n, x) + s[i] - v->h[i] * tau;
}

DOPT_KFN int DFN(cone_all_finite)(size_t len, const DREAL *a)
{
    for (size_t i = 0; i < len; ++i)
        if (!(a[i] - a[i] == 0)) return 0; /* NaN and +-Inf give NaN */
    return 1;
}

/* Writes instance outputs: a * (x, s, z, y) per the mask (1 x, 2 s, 4 z,
 * 8 y; a part not in the mask is zeroed). */
DOPT_KFN void DFN(cone_write_out)(int n, int k, int m, int mask, DREAL a, const DREAL *x, const DREAL *s,
                                  const DREAL *z, const DREAL *y, DREAL *xo, DREAL *so, DREAL *zo, DREAL *yo)
{
    for (int j = 0; j < n; ++j) xo[j] = (mask & 1) ? a * x[j] : 0;
    for (int i = 0; i < m; ++i) {
        so[i] = (mask & 2) ? a * s[i] : 0;
        zo[i] = (mask & 4) ? a * z[i] : 0;
    }
    for (int r = 0; r < k; ++r) yo[r] = (mask & 8) ? a * y[r] : 0;
}

/* The backward's system at a solution (x, y, z, s)/tau (docs/CONE.md
 * "Backward"): with v = z - s, z = Pi(v) and s = Pi(v) - v, and P = DPi(v),
 * the optimality conditions c + A'y + G'Pi(v) = 0, Ax = b,
 * Gx + Pi(v) - v = h differentiate to M (dx, dy, dv) = (-dc - dA'y - dG'z,
 * db - dA x, dh - dG x) with
 *     M = [ 0  A'  G'P   ]   rows x
 *         [ A  0   0     ]   rows y
 *         [ G  0   P - I ]   rows v
 * Kept: M, its LU factors and pivots, (x, y, z) and s.
 * Pj, Tm: nw scratch each; scr as for cone_proj_jacobian. */
DOPT_KFN void DFN(cone_keep_jacobian)(const DFN(cone_view) *v, const dopt_cone_layout *L, const DREAL *x,
                                      const DREAL *y, const DREAL *z, const DREAL *s, DREAL tau, DREAL *keep,
                                      DREAL *Pj, DREAL *Tm, DREAL *scr)
{
    const int n = v->n, k = v->k, m = L->m, N = n + k + m;
    DREAL *M = keep, *LU = M + (size_t)N * N, *piv = LU + (size_t)N * N, *sol = piv + N, *sk = sol + N;
    for (int j = 0; j < n; ++j) sol[j] = x[j] / tau;
    for (int r = 0; r < k; ++r) sol[n + r] = y[r] / tau;
    for (int i = 0; i < m; ++i) {
        sol[n + k + i] = z[i] / tau;
        sk[i] = s[i] / tau;
    }
    DREAL *vv = piv; /* v = z - s, in the pivots' slot until the LU */
    for (int i = 0; i < m; ++i) vv[i] = sol[n + k + i] - sk[i];
    DFN(cone_proj_jacobian)(L, vv, Pj, scr, Tm);
    for (size_t i = 0; i < (size_t)N * N; ++i) M[i] = 0;
    for (int r = 0; r < k; ++r)
        for (int j = 0; j < n; ++j) M[(size_t)j * N + n + r] = M[(size_t)(n + r) * N + j] = v->A[(size_t)r * n + j];
    for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) M[(size_t)(n + k + i) * N + j] = v->G[(size_t)i * n + j];
    /* the v columns, block by block: rows x get G'P, rows v get P - I */
    int off = 0, woff = 0;
    for (int c = 0; c < L->l + L->nq + L->ns; ++c) {
        int q = c < L->l ? 1 : c < L->l + L->nq ? L->q[c - L->l] : L->s[c - L->l - L->nq] * (L->s[c - L->l - L->nq] + 1) / 2;
        const DREAL *Pc = Pj + woff;
        DREAL *row = LU; /* (G'P)'s column off+a as a row, in LU's slot (free until the LU) */
        for (int a = 0; a < q; ++a) {
            for (int b = 0; b < q; ++b) M[(size_t)(n + k + off + a) * N + n + k + off + b] = Pc[a * q + b] - (a == b);
            /* (G'P)_{j, off+a} = sum_b P_{b a} G_{off+b, j}: rows of G, unit stride */
            for (int j = 0; j < n; ++j) row[j] = 0;
            for (int b = 0; b < q; ++b) {
                DREAL p = Pc[b * q + a];
                const DREAL *g = v->G + (size_t)(off + b) * n;
                if (p != 0)
                    for (int j = 0; j < n; ++j) row[j] += p * g[j];
            }
            for (int j = 0; j < n; ++j) M[(size_t)j * N + n + k + off + a] = row[j];
        }
        off += q;
        woff += q * q;
    }
    for (size_t i = 0; i < (size_t)N * N; ++i) LU[i] = M[i];
    DREAL scale = 1 + DFN(cone_norm_inf)(N * N, M);
    DFN(cone_lu)(N, LU, piv, DREAL_EPS * scale);
}

/* The status when the next step cannot be computed: what the iterate shows
 * at DOPT_CONE_NEAR times the tolerances (a near-optimal point first). */
DOPT_KFN int DFN(cone_fallback_status)(int near_solved, int near_infeasible, int near_unbounded)
{
    if (near_solved) return DOPT_INST_REDUCED_ACCURACY;
    if (near_infeasible) return DOPT_INST_PRIMAL_INFEASIBLE;
    if (near_unbounded) return DOPT_INST_DUAL_INFEASIBLE;
    return DOPT_INST_NUMERICAL;
}

/* ---- the solve in phases ------------------------------------------------
 * One instance's interior point as a state machine, so that a batch can
 * run it in lock step with the factorization done for the whole batch by a
 * library (the CUDA backend's large-n path: batched GEMM and potrf between
 * the phases), while the per-instance driver below runs the same phases
 * with the factorization in this file:
 *     if (cone_phase_begin)
 *         while (cone_phase_before_factor) {
 *             cone_factor_gram; cone_factor_ldl;        (or the library's)
 *             cone_phase_after_factor;
 *         }
 *     cone_phase_end;
 * Every factorization is of F, the Schur complement of docs/CONE.md:
 * before_factor writes its fixed part (cone_factor_init) and Gs, the
 * factorization adds Gs'Gs/(1 + reg) to its x block and factors it. The
 * first round factors the start point's matrix (W = I). */

/* The workspace's pieces (dopt_cone_work_size elements in all). */
typedef struct {
    DREAL *Gs, *F, *W, *Winv, *lam, *x, *y, *z, *s, *rx, *ry, *rz, *v1, *v2, *rhs, *res, *tv;
    DREAL *ds, *wsa, *wza, *rc, *t1, *t2, *t3, *e, *hs, *dz, *scr;
} DFN(cone_work);

DOPT_KFN DFN(cone_work) DFN(cone_work_map)(DREAL *work, int n, int k, const dopt_cone_layout *L)
{
    const int m = L->m, N = n + k + m;
    DFN(cone_work) w;
    w.Gs = work;
    w.F = w.Gs + (size_t)m * n;
    w.W = w.F + (size_t)(n + k) * (n + k);
    w.Winv = w.W + L->nw;
    w.lam = w.Winv + L->nw;
    w.x = w.lam + m;
    w.y = w.x + n;
    w.z = w.y + k;
    w.s = w.z + m;
    w.rx = w.s + m;
    w.ry = w.rx + n;
    w.rz = w.ry + k;
    w.v1 = w.rz + m;
    w.v2 = w.v1 + N;
    w.rhs = w.v2 + N;
    w.res = w.rhs + N;
    w.tv = w.res + N;
    w.ds = w.tv + N;
    w.wsa = w.ds + m;
    w.wza = w.wsa + m;
    w.rc = w.wza + m;
    w.t1 = w.rc + m;
    w.t2 = w.t1 + m;
    w.t3 = w.t2 + m;
    w.e = w.t3 + m;
    w.hs = w.e + m;
    w.dz = w.hs + m;
    w.scr = w.dz + m;
    return w;
}

/* What an instance carries between phases (device memory for CUDA). */
typedef struct {
    DREAL tau, kappa, mu, rtau, nc, nb, nh, ratio; /* ratio: the termination tests' largest, relative to its bound */
    int32_t status, it, started, near_solved, near_infeasible, near_unbounded;
} DFN(cone_state);

/* F's fixed part: reg I on the x block (both triangles: a library may add
 * Gs'Gs to either), A below it, -reg I on the y block. */
DOPT_KFN void DFN(cone_factor_init)(int n, int k, const DREAL *A, DREAL *F)
{
    const int R = n + k;
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) F[(size_t)i * R + j] = i == j ? DREAL_CONE_REG : 0;
    for (int r = 0; r < k; ++r) {
        for (int j = 0; j < n; ++j) F[(size_t)(n + r) * R + j] = A[(size_t)r * n + j];
        for (int j = n; j < n + r; ++j) F[(size_t)(n + r) * R + j] = 0;
        F[(size_t)(n + r) * R + n + r] = -DREAL_CONE_REG;
    }
}

/* 1/(1 + reg): the weight of Gs'Gs in F (for a library's GEMM too) */
DOPT_KFN DREAL DFN(cone_gram_weight)(void)
{
    return 1 / (1 + DREAL_CONE_REG);
}

/* F's x block (lower triangle) += Gs'Gs/(1 + reg), as m rank-one updates
 * by Gs's rows: every inner loop runs along a row of Gs and of F (unit
 * stride), where the inner products of Gs's columns would stride by n. */
DOPT_KFN void DFN(cone_factor_gram)(int n, int k, int m, const DREAL *Gs, DREAL *F)
{
    const int R = n + k;
    DREAL inv = DFN(cone_gram_weight)();
    for (int r = 0; r < m; ++r) {
        const DREAL *g = Gs + (size_t)r * n;
        for (int i = 0; i < n; ++i) {
            DREAL a = g[i] * inv;
            DREAL *fi = F + (size_t)i * R;
            if (a != 0)
                for (int j = 0; j <= i; ++j) fi[j] += a * g[j];
        }
    }
}

/* The LDL' of F (x pivots positive, y negative) from row `from` on, rows
 * before it already factored. t: n + k scratch. */
DOPT_KFN void DFN(cone_factor_ldl)(int n, int k, int from, DREAL *F, DREAL *t)
{
    DFN(cone_ldl_rows)(n + k, F, from, 0, n, DREAL_CONE_TINY, DREAL_CONE_BUMP, t);
}

/* After a library's Cholesky of F's x block: F read as column-major holds
 * L with L L' = H in its lower triangle (row-major: the upper), info its
 * status. Rewrites rows 0..n-1 as cone_ldl's unit L and D, then factors the
 * y rows. A failed Cholesky, or a pivot cone_ldl would have replaced (below
 * DREAL_CONE_TINY), is redone here from Gs (so both paths regularize
 * alike). */
DOPT_KFN void DFN(cone_factor_after_cholesky)(int n, int k, int m, const DREAL *Gs, const DREAL *A, int info,
                                              DREAL *F, DREAL *t)
{
    const int R = n + k;
    int ok = info == 0;
    for (int j = 0; j < n && ok; ++j) {
        DREAL d = F[(size_t)j * R + j];
        ok = d * d > DREAL_CONE_TINY;
    }
    if (!ok) {
        DFN(cone_factor_init)(n, k, A, F);
        DFN(cone_factor_gram)(n, k, m, Gs, F);
        DFN(cone_factor_ldl)(n, k, 0, F, t);
        return;
    }
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < i; ++j) F[(size_t)i * R + j] = F[(size_t)j * R + i] / F[(size_t)j * R + j];
    for (int j = 0; j < n; ++j) F[(size_t)j * R + j] *= F[(size_t)j * R + j];
    DFN(cone_factor_ldl)(n, k, n, F, t);
}

/* Starts an instance: 1 when it goes on to its first factorization, 0 when
 * its data is invalid (NaN or Inf: status 5). */
DOPT_KFN int DFN(cone_phase_begin)(const DFN(cone_view) *v, const dopt_cone_layout *L, DREAL *work,
                                   DFN(cone_state) *st)
{
    const int n = v->n, k = v->k, m = L->m;
    st->status = DOPT_INST_RUNNING;
    st->it = st->started = st->near_solved = st->near_infeasible = st->near_unbounded = 0;
    st->tau = st->kappa = 1;
    st->mu = st->rtau = 0;
    st->ratio = DREAL_MAX;
    if (!DFN(cone_all_finite)((size_t)n, v->c) || !DFN(cone_all_finite)((size_t)m * n, v->G) ||
        !DFN(cone_all_finite)((size_t)m, v->h) || !DFN(cone_all_finite)((size_t)k * n, v->A) ||
        !DFN(cone_all_finite)((size_t)k, v->b)) {
        st->status = DOPT_INST_INVALID;
        return 0;
    }
    DFN(cone_work) w = DFN(cone_work_map)(work, n, k, L);
    DFN(cone_identity)(L, w.e);
    st->nc = DFN(cone_norm_inf)(n, v->c);
    st->nb = DFN(cone_norm_inf)(k, v->b);
    st->nh = DFN(cone_norm_inf)(m, v->h);
    return 1;
}

/* The termination tests and the step's scaling and matrix: 1 when F is to
 * be factored (its fixed part and Gs are written), 0 when the instance is
 * done (st->status set). */
DOPT_KFN int DFN(cone_phase_before_factor)(const DFN(cone_view) *v, const dopt_cone_layout *L,
                                           const DFN(cone_settings) *set, DREAL *work, DFN(cone_state) *st)
{
    if (st->status != DOPT_INST_RUNNING) return 0;
    const int n = v->n, k = v->k, m = L->m, N = n + k + m;
    DFN(cone_work) w = DFN(cone_work_map)(work, n, k, L);
    if (!st->started) { /* the start point's matrix: W = I */
        DFN(cone_kkt_assemble)(v, L, NULL, w.Gs);
        DFN(cone_factor_init)(n, k, v->A, w.F);
        return 1;
    }
    const DREAL *x = w.x, *y = w.y, *z = w.z, *s = w.s, tau = st->tau, kappa = st->kappa;
    DFN(cone_residuals)(v, m, x, y, z, s, tau, w.rx, w.ry, w.rz);
    DREAL cx = DFN(cone_dot)(n, v->c, x), by = DFN(cone_dot)(k, v->b, y), hz = DFN(cone_dot)(m, v->h, z);
    DREAL sz = DFN(cone_dot)(m, s, z);
    st->rtau = kappa + cx + by + hz;
    DREAL mu = st->mu = (sz + tau * kappa) / ((DREAL)L->degree + 1);
    if (!(mu == mu) || !(tau == tau) || !DFN(cone_all_finite)((size_t)N, x)) {
        st->status = DOPT_INST_NUMERICAL;
        return 0;
    }
    /* termination tests on the normalized point (docs/CONE.md) */
    DREAL pobj = cx / tau, dobj = -(by + hz) / tau, gap = sz / (tau * tau);
    DREAL ap = DABS(pobj), ad = DABS(dobj), scale = 1 + (ap < ad ? ap : ad);
    /* the largest of the tests' ratios to their bounds: <= tol is solved */
    DREAL ratio = DFN(cone_norm_inf)(n, w.rx) / ((1 + st->nc) * tau);
    DREAL t = DFN(cone_norm_inf)(k, w.ry) / ((1 + st->nb) * tau);
    ratio = t > ratio || t != t ? t : ratio;
    t = DFN(cone_norm_inf)(m, w.rz) / ((1 + st->nh) * tau);
    ratio = t > ratio || t != t ? t : ratio;
    t = DABS(pobj - dobj) / scale;
    ratio = t > ratio || t != t ? t : ratio;
    t = gap / scale;
    ratio = t > ratio || t != t ? t : ratio;
    st->ratio = ratio;
    if (ratio <= set->tol) {
        st->status = DOPT_INST_SOLVED;
        return 0;
    }
    /* the fallback when the next step cannot be computed (below) */
    st->near_solved = ratio <= DOPT_CONE_NEAR * set->tol;
    st->near_infeasible = st->near_unbounded = 0;
    DREAL bz = by + hz;
    if (bz < 0) { /* Farkas: A'y + G'z ~ 0, z in K, b'y + h'z < 0 */
        DREAL worst = 0;
        for (int j = 0; j < n; ++j) {
            DREAL a = 0;
            for (int i = 0; i < m; ++i) a += v->G[(size_t)i * n + j] * z[i];
            for (int r = 0; r < k; ++r) a += v->A[(size_t)r * n + j] * y[r];
            if (DABS(a) > worst) worst = DABS(a);
        }
        if (worst <= set->tol_inf * -bz) {
            st->status = DOPT_INST_PRIMAL_INFEASIBLE;
            return 0;
        }
        st->near_infeasible = worst <= DOPT_CONE_NEAR * set->tol_inf * -bz;
    }
    if (cx < 0) { /* recession: A x ~ 0, G x + s ~ 0, s in K, c'x < 0 */
        DREAL worst = 0;
        for (int r = 0; r < k; ++r) {
            DREAL a = DABS(DFN(cone_dot)(n, v->A + (size_t)r * n, x));
            if (a > worst) worst = a;
        }
        for (int i = 0; i < m; ++i) {
            DREAL a = DABS(DFN(cone_dot)(n, v->G + (size_t)i * n, x) + s[i]);
            if (a > worst) worst = a;
        }
        if (worst <= set->tol_inf * -cx) {
            st->status = DOPT_INST_DUAL_INFEASIBLE;
            return 0;
        }
        st->near_unbounded = worst <= DOPT_CONE_NEAR * set->tol_inf * -cx;
    }
    if (st->it >= set->max_iter) {
        st->status = DOPT_INST_ITERATION_LIMIT;
        return 0;
    }
    /* A step that cannot be computed (the scaling point left the cone by
     * rounding, or the KKT solve diverged) ends the solve with what the
     * iterate already shows at DOPT_CONE_NEAR times the tolerances:
     * solved to reduced accuracy, or a certificate of infeasibility or
     * unboundedness (these iterates diverge, so the step often fails
     * just before the certificate's ratio reaches tol_inf), else
     * numerical failure. */
    if (m > 0 && DFN(cone_nt_scaling)(L, s, z, NULL, w.Winv, w.lam, w.scr)) {
        st->status = DFN(cone_fallback_status)(st->near_solved, st->near_infeasible, st->near_unbounded);
        return 0;
    }
    DFN(cone_kkt_assemble)(v, L, w.Winv, w.Gs);
    DFN(cone_factor_init)(n, k, v->A, w.F);
    return 1;
}

/* With F factored: the start point (first round) or one Mehrotra
 * predictor-corrector step. */
DOPT_KFN void DFN(cone_phase_after_factor)(const DFN(cone_view) *v, const dopt_cone_layout *L,
                                           const DFN(cone_settings) *set, DREAL *work, DFN(cone_state) *st)
{
    const int n = v->n, k = v->k, m = L->m, N = n + k + m;
    DFN(cone_work) w = DFN(cone_work_map)(work, n, k, L);
    DREAL *Gs = w.Gs, *F = w.F, *x = w.x, *y = w.y, *z = w.z, *s = w.s, *rhs = w.rhs, *v1 = w.v1, *v2 = w.v2;
    DREAL *res = w.res, *rc = w.rc, *t1 = w.t1, *t2 = w.t2, *t3 = w.t3, *ds = w.ds, *dz = w.dz, *lam = w.lam;
    DREAL *Winv = w.Winv, *hs = w.hs, *scr = w.scr;
    /* permuted blocks of an N-vector: z first, then x, then y */
#define CONE_Z(vec) (vec)
#define CONE_X(vec) ((vec) + m)
#define CONE_Y(vec) ((vec) + m + n)
    /* Refinement targets. The predictor's direction only sets sigma and
     * the corrector's second-order term: an error e (relative) in it moves
     * the iterates by about e times a step, so it is refined only to
     * tol/100 (at the default tol 1e-8 mostly not at all: the first
     * residual is 1e-10 to 1e-13 of the scale). So are the start point's
     * solves (it is shifted into the cone anyway) and, while the iterate is
     * far from the tolerance (its tests above 1000 tol), the other two
     * solves: their error is then far below what the next iterations
     * correct (an inexact Newton step). Near the end every step taken is
     * refined to rounding. */
    DREAL loose = set->tol / 100;
    loose = loose < DSQRT(DREAL_EPS) ? loose : DSQRT(DREAL_EPS);
    loose = loose > 4 * DREAL_EPS ? loose : 4 * DREAL_EPS;
    if (!st->started) {
        /* ---- start point (as CVXOPT's conelp): least-squares primal and
         * least-norm dual at W = I, shifted into the cone ---- */
        for (int i = 0; i < m; ++i) CONE_Z(rhs)[i] = v->h[i];
        for (int j = 0; j < n; ++j) CONE_X(rhs)[j] = 0;
        for (int r = 0; r < k; ++r) CONE_Y(rhs)[r] = v->b[r];
        DFN(cone_kkt_solve)(n, k, m, Gs, v->A, F, set->refine, loose, rhs, v1, res);
        for (int j = 0; j < n; ++j) x[j] = CONE_X(v1)[j];
        for (int i = 0; i < m; ++i) s[i] = -CONE_Z(v1)[i];
        for (int i = 0; i < m; ++i) CONE_Z(rhs)[i] = 0;
        for (int j = 0; j < n; ++j) CONE_X(rhs)[j] = -v->c[j];
        for (int r = 0; r < k; ++r) CONE_Y(rhs)[r] = 0;
        DFN(cone_kkt_solve)(n, k, m, Gs, v->A, F, set->refine, loose, rhs, v1, res);
        for (int r = 0; r < k; ++r) y[r] = CONE_Y(v1)[r];
        for (int i = 0; i < m; ++i) z[i] = CONE_Z(v1)[i];
        for (int pass = 0; pass < 2 && m > 0; ++pass) {
            DREAL *u = pass ? z : s;
            DREAL out = DFN(cone_outside)(L, u, scr);
            DREAL nu = DFN(cone_norm_inf)(m, u);
            if (out >= -(DREAL)1e-8 * (nu > 1 ? nu : 1))
                for (int i = 0; i < m; ++i) u[i] += (1 + out) * w.e[i];
        }
        st->tau = st->kappa = 1;
        st->started = 1;
        return;
    }
    DREAL tau = st->tau, kappa = st->kappa, mu = st->mu;
    DFN(cone_scale)(L, Winv, 1, v->h, hs); /* W^-T h: h'dz = hs'(W dz) */
    for (int i = 0; i < m; ++i) CONE_Z(rhs)[i] = hs[i];
    for (int j = 0; j < n; ++j) CONE_X(rhs)[j] = -v->c[j];
    for (int r = 0; r < k; ++r) CONE_Y(rhs)[r] = v->b[r];
    const DREAL tight = st->ratio > 1000 * set->tol ? loose : 4 * DREAL_EPS;
    int solved_ok = DFN(cone_kkt_solve)(n, k, m, Gs, v->A, F, set->refine, tight, rhs, v1, res);
    /* = -|W z1|^2 - kappa/tau < 0 for the unregularized system */
    const DREAL den = DFN(cone_dot)(n, v->c, CONE_X(v1)) + DFN(cone_dot)(k, v->b, CONE_Y(v1)) +
                      DFN(cone_dot)(m, hs, CONE_Z(v1)) - kappa / tau;
    DREAL sigma = 0, dtau_a = 0, dkappa_a = 0;
    for (int pass = 0; pass < 2; ++pass) {
        DREAL f = pass ? 1 - sigma : 1, rkappa;
        if (!pass) {
            for (int i = 0; i < m; ++i) rc[i] = -lam[i];
            rkappa = -tau * kappa;
        } else { /* lambda \ (-lambda o lambda - (W^-T ds_a) o (W dz_a) + sigma mu e) */
            DFN(cone_jordan)(L, lam, lam, t1, scr);
            DFN(cone_jordan)(L, w.wsa, w.wza, t2, scr);
            for (int i = 0; i < m; ++i) rc[i] = -t1[i] - t2[i] + sigma * mu * w.e[i];
            DFN(cone_jordan_div)(L, lam, rc, rc);
            rkappa = -tau * kappa - dtau_a * dkappa_a + sigma * mu;
        }
        if (!pass) DFN(cone_scale)(L, Winv, 1, w.rz, t3); /* both passes: W^-T (-f rz - W' rc) = -f W^-T rz - rc */
        for (int i = 0; i < m; ++i) CONE_Z(rhs)[i] = -f * t3[i] - rc[i];
        for (int j = 0; j < n; ++j) CONE_X(rhs)[j] = -f * w.rx[j];
        for (int r = 0; r < k; ++r) CONE_Y(rhs)[r] = -f * w.ry[r];
        solved_ok &= DFN(cone_kkt_solve)(n, k, m, Gs, v->A, F, set->refine, pass ? tight : loose, rhs, v2, res);
        if (!solved_ok) break;
        DREAL num = -f * st->rtau - rkappa / tau -
                    (DFN(cone_dot)(n, v->c, CONE_X(v2)) + DFN(cone_dot)(k, v->b, CONE_Y(v2)) +
                     DFN(cone_dot)(m, hs, CONE_Z(v2)));
        DREAL dtau = num / den;
        for (int i = 0; i < N; ++i) v2[i] += dtau * v1[i];
        DREAL dkappa = (rkappa - kappa * dtau) / tau;
        for (int i = 0; i < m; ++i) t1[i] = CONE_Z(v2)[i]; /* W dz */
        DFN(cone_scale)(L, Winv, 0, t1, dz);
        for (int i = 0; i < m; ++i) t2[i] = rc[i] - t1[i]; /* W^-T ds */
        /* ds from the z rows, G dx + ds - h dtau = -f rz, rather than as
         * W'(rc - W dz): near the solution W has entries ~ mu^-1/2 and
         * that product loses the primal residual's digits */
        for (int i = 0; i < m; ++i)
            ds[i] = v->h[i] * dtau - f * w.rz[i] - DFN(cone_dot)(n, v->G + (size_t)i * n, CONE_X(v2));
        DREAL alpha = DREAL_MAX;
        if (m > 0) {
            /* Step lengths in the scaled space, lambda + a W^-T ds and
             * lambda + a W dz (W maps the cone onto itself, and lambda's
             * PSD blocks are diagonal, which spares a Cholesky
             * factorization and two triangular solves per block). W dz is
             * the solved variable itself, so z's step is taken there in
             * both passes. The affine step only sets sigma, so its s step
             * is too; the corrector's s step is measured on s itself, with
             * ds from the z rows (W^-T ds from rc - W dz would carry the
             * digits W's ~mu^-1/2 entries lose). The taken step is then
             * checked on s and z themselves (below). Longer steps than the
             * caps are never taken. */
            DREAL cap = pass ? 2 : 1; /* 2 > 1 / DREAL_STEP_FRACTION */
            DREAL a1 = pass ? DFN(cone_max_step)(L, s, ds, 0, cap, scr) : DFN(cone_max_step)(L, lam, t2, 1, cap, scr);
            DREAL a2;
            if (pass) {
                /* the corrector's z length: the orthant and second-order
                 * blocks on z itself, where that is as cheap; lambda = W z
                 * holds only to W's rounding, which in float moved steps
                 * onto the boundary (float SOCPs at tol 1e-6 reached the
                 * iteration limit: 8 of 1024). PSD blocks in the scaled
                 * space, where z's own would need a Cholesky factor. */
                dopt_cone_layout head = *L;
                head.ns = 0;
                a2 = DFN(cone_max_step)(&head, z, dz, 0, a1, scr);
                if (L->ns > 0) {
                    int off = L->l;
                    for (int c = 0; c < L->nq; ++c) off += L->q[c];
                    dopt_cone_layout tail = *L;
                    tail.l = tail.nq = 0;
                    a2 = DFN(cone_max_step)(&tail, lam + off, t1 + off, 1, a2, scr);
                }
            } else {
                a2 = DFN(cone_max_step)(L, lam, t1, 1, a1, scr);
            }
            alpha = a1 < a2 ? a1 : a2;
        }
        if (dtau < 0 && -tau / dtau < alpha) alpha = -tau / dtau;
        if (dkappa < 0 && -kappa / dkappa < alpha) alpha = -kappa / dkappa;
        if (!pass) {
            DREAL a = alpha < 1 ? alpha : 1;
            sigma = (1 - a) * (1 - a) * (1 - a);
            for (int i = 0; i < m; ++i) {
                w.wsa[i] = t2[i];
                w.wza[i] = t1[i];
            }
            dtau_a = dtau;
            dkappa_a = dkappa;
        } else {
            alpha = DREAL_STEP_FRACTION * alpha;
            if (alpha > 1) alpha = 1;
            for (int back = 0; back < 30 && m > 0; ++back, alpha *= (DREAL)0.5) { /* stay strictly inside */
                for (int i = 0; i < m; ++i) {
                    t1[i] = s[i] + alpha * ds[i];
                    t2[i] = z[i] + alpha * dz[i];
                }
                if (DFN(cone_inside)(L, t1, scr) && DFN(cone_inside)(L, t2, scr)) break;
            }
            for (int j = 0; j < n; ++j) x[j] += alpha * CONE_X(v2)[j];
            for (int r = 0; r < k; ++r) y[r] += alpha * CONE_Y(v2)[r];
            for (int i = 0; i < m; ++i) {
                z[i] += alpha * dz[i];
                s[i] += alpha * ds[i];
            }
            st->tau = tau + alpha * dtau;
            st->kappa = kappa + alpha * dkappa;
        }
    }
#undef CONE_Z
#undef CONE_X
#undef CONE_Y
    if (!solved_ok)
        st->status = DFN(cone_fallback_status)(st->near_solved, st->near_infeasible, st->near_unbounded);
    else
        ++st->it;
}

/* The instance's outputs xo (n), so, zo (m), yo (k) and, with keep (NULL or
 * dopt_cone_keep_size elements), the backward's matrix at a solution (zeros
 * for an instance without one). Returns the status; *iters_out the Newton
 * steps taken. */
DOPT_KFN int DFN(cone_phase_end)(const DFN(cone_view) *v, const dopt_cone_layout *L, DREAL *work,
                                 const DFN(cone_state) *st, DREAL *keep, DREAL *xo, DREAL *so, DREAL *zo, DREAL *yo,
                                 int32_t *iters_out)
{
    const int n = v->n, k = v->k, m = L->m, N = n + k + m;
    DFN(cone_work) w = DFN(cone_work_map)(work, n, k, L);
    const DREAL *x = w.x, *y = w.y, *z = w.z, *s = w.s, tau = st->tau;
    int status = st->status;
    *iters_out = st->it;
    int has_solution = status == DOPT_INST_SOLVED || status == DOPT_INST_REDUCED_ACCURACY;
    if (has_solution && keep) /* the derivative of the residual map, for the backward */
        DFN(cone_keep_jacobian)(v, L, x, y, z, s, tau, keep, w.W, w.Winv, w.scr); /* the solve's W slots are free */
    if (!has_solution && keep) { /* the backward reads these as zero gradients' factors */
        DREAL *sol = keep + 2 * (size_t)N * N + N;
        for (int i = 0; i < N + m; ++i) sol[i] = 0;
    }
    switch (status) {
    case DOPT_INST_SOLVED:
    case DOPT_INST_REDUCED_ACCURACY:
    case DOPT_INST_ITERATION_LIMIT:
        DFN(cone_write_out)(n, k, m, 15, 1 / tau, x, s, z, y, xo, so, zo, yo);
        break;
    case DOPT_INST_PRIMAL_INFEASIBLE:
        DFN(cone_write_out)(n, k, m, 4 | 8, -1 / (DFN(cone_dot)(k, v->b, y) + DFN(cone_dot)(m, v->h, z)), x, s, z,
                            y, xo, so, zo, yo);
        break;
    case DOPT_INST_DUAL_INFEASIBLE:
        DFN(cone_write_out)(n, k, m, 1 | 2, -1 / DFN(cone_dot)(n, v->c, x), x, s, z, y, xo, so, zo, yo);
        break;
    default:
        DFN(cone_write_out)(n, k, m, 0, 0, x, s, z, y, xo, so, zo, yo);
    }
    return status;
}

/* Solves one instance: the phases in sequence, with this file's
 * factorization. work: dopt_cone_work_size elements; keep, outputs and the
 * return as for cone_phase_end. */
DOPT_KFN int DFN(cone_solve_instance)(const DFN(cone_view) *v, const dopt_cone_layout *L,
                                      const DFN(cone_settings) *set, DREAL *work, DREAL *keep, DREAL *xo, DREAL *so,
                                      DREAL *zo, DREAL *yo, int32_t *iters_out)
{
    DFN(cone_state) st;
    if (DFN(cone_phase_begin)(v, L, work, &st)) {
        DFN(cone_work) w = DFN(cone_work_map)(work, v->n, v->k, L);
        while (DFN(cone_phase_before_factor)(v, L, set, work, &st)) {
            DFN(cone_factor_gram)(v->n, v->k, L->m, w.Gs, w.F);
            DFN(cone_factor_ldl)(v->n, v->k, 0, w.F, w.tv);
            DFN(cone_phase_after_factor)(v, L, set, work, &st);
        }
    }
    return DFN(cone_phase_end)(v, L, work, &st, keep, xo, so, zo, yo, iters_out);
}

/* The adjoint of one solved instance: u = M^-T g for cone_keep_jacobian's
 * M, g = (gx, gy, P gz + (P - I) gs) (dz = P dv, ds = (P - I) dv), refined
 * against M. Written out as ux (n), uy (k), uv (m): the gradients are then
 * dc = -ux, db = uy, dh = uv, dA = -(y ux' + uy x'), dG = -(z ux' + uv x').
 * Unsolved instances get u = 0. work: 4N. */
DOPT_KFN void DFN(cone_adjoint_instance)(const dopt_cone_layout *L, int n, int k, const DREAL *keep, int refine,
                                         int status, const DREAL *gx, const DREAL *gs, const DREAL *gz,
                                         const DREAL *gy, DREAL *ux, DREAL *uy, DREAL *uv, DREAL *work)
{
    int m = L->m, N = n + k + m;
    if (status != DOPT_INST_SOLVED && status != DOPT_INST_REDUCED_ACCURACY) {
        for (int j = 0; j < n; ++j) ux[j] = 0;
        for (int r = 0; r < k; ++r) uy[r] = 0;
        for (int i = 0; i < m; ++i) uv[i] = 0;
        return;
    }
    const DREAL *M = keep, *LU = M + (size_t)N * N, *piv = LU + (size_t)N * N;
    DREAL *g = work, *u = g + N, *res = u + N, *t = res + N;
    for (int j = 0; j < n; ++j) g[j] = gx[j];
    for (int r = 0; r < k; ++r) g[n + r] = gy ? gy[r] : 0;
    /* P gz + (P - I) gs = (P - I)(gz + gs) + gz, P - I the v block of M (symmetric) */
    for (int i = 0; i < m; ++i) t[i] = (gz ? gz[i] : 0) + (gs ? gs[i] : 0);
    for (int i = 0; i < m; ++i)
        g[n + k + i] = DFN(cone_dot)(m, M + (size_t)(n + k + i) * N + n + k, t) + (gz ? gz[i] : 0);
    for (int i = 0; i < N; ++i) u[i] = g[i];
    DFN(cone_lu_solve_t)(N, LU, piv, u, t);
    DREAL scale = 1 + DFN(cone_norm_inf)(N, g);
    for (int r = 0; r < refine; ++r) { /* res = g - M'u */
        for (int i = 0; i < N; ++i) res[i] = g[i];
        for (int i = 0; i < N; ++i) {
            DREAL ui = u[i];
            if (ui != 0)
                for (int j = 0; j < N; ++j) res[j] -= M[(size_t)i * N + j] * ui;
        }
        if (!(DFN(cone_norm_inf)(N, res) > 4 * DREAL_EPS * scale)) break;
        DFN(cone_lu_solve_t)(N, LU, piv, res, t);
        for (int i = 0; i < N; ++i) u[i] += res[i];
    }
    for (int j = 0; j < n; ++j) ux[j] = u[j];
    for (int r = 0; r < k; ++r) uy[r] = u[n + r];
    for (int i = 0; i < m; ++i) uv[i] = u[n + k + i];
}
