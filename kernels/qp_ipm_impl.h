/* Per-instance primal-dual interior point for
 *     minimize 1/2 x'Qx + p'x  subject to  Gx <= h,  Ax = b
 * in its homogeneous self-dual embedding (variables x, s, z, y, tau, kappa),
 * Mehrotra predictor-corrector, written once for both precisions.
 * Included by qp_ipm.h with DREAL / DFN set; see docs/QP.md for the maths.
 *
 * Rows with h_i = +inf are absent for this instance: they get no slack, no
 * dual, and W_i = 0, so a batch may share G while using different rows. */

typedef struct {
    int n, m, k;
    const DREAL *Q; /* n x n, may be NULL (LP) */
    const DREAL *p; /* n */
    const DREAL *G; /* m x n */
    const DREAL *h; /* m, +inf = row absent */
    const DREAL *A; /* k x n */
    const DREAL *b; /* k */
} DFN(qp_view);

typedef struct {
    DREAL tol;     /* relative residual / gap tolerance */
    DREAL tol_inf; /* certificate tolerance: infeasible within radius 1/tol_inf */
    int max_iter;
    int refine;    /* max iterative refinement steps per KKT solve */
} DFN(qp_settings);

/* Scalars of one instance's solve; lives beside its workspace (on the GPU,
 * in device memory between the phase kernels). */
typedef struct {
    DREAL tau, kappa;
    DREAL delta, eps_s; /* regularization used by the current factor */
    DREAL rtau, mu;     /* tau-residual and complementarity of the current iterate (before_factor -> after_factor) */
    DREAL merit;      /* max of the relative residuals and gap at the last check (tol-scaled tests) */
    DREAL best_merit; /* smallest merit so far */
    int stall;        /* checks since best_merit last fell by half */
    int tau_fixed;    /* float32 near the solution: tau held, the tau row dropped (qp_ipm_step) */
    int status, iter;
    int started;     /* 1 once the data was accepted and a start point set */
    int stage;       /* DOPT_QP_STAGE_*: what the next factorization is for */
    int keep_factor; /* a solved instance refactors K at its solution for the tape */
} DFN(qp_state);

/* Workspace slices of one instance (all DREAL, contiguous). The first
 * qp_work_persist_size values (Qs, L, M, S, W, W^-1, rho) are all that the
 * backward needs: a tape keeps only that prefix. */
typedef struct {
    DREAL *Qs, *L, *M, *S;
    DREAL *W, *Winv;
    DREAL *rho; /* one scalar: the augmented-Lagrangian weight of A'A in H */
    DREAL *Hb;  /* Qs + rho A'A + delta0 I: the part of H fixed for the solve */
    DREAL *Gw;  /* W^1/2 G, scratch of the factorization */
    DREAL *s;
    DREAL *rx, *rz, *ry, *Qx, *Gz, *Ay;
    DREAL *dx, *dz, *dy, *ds;
    DREAL *vx, *vz, *vy;
    DREAL *bx, *bz, *by;
    DREAL *ex, *ez, *ey;
    DREAL *tn, *tk;
} DFN(qp_work);

DOPT_KFN size_t DFN(qp_work_persist_size)(int n, int m, int k)
{
    return (size_t)2 * n * n + (size_t)k * n + (size_t)k * k + (size_t)2 * m + 1;
}

DOPT_KFN size_t DFN(qp_work_size)(int n, int m, int k)
{
    return DFN(qp_work_persist_size)(n, m, k) + (size_t)n * n + (size_t)m * n + (size_t)10 * n + (size_t)9 * m +
           (size_t)6 * k;
}

DOPT_KFN DFN(qp_work) DFN(qp_work_map)(DREAL *base, int n, int m, int k)
{
    DFN(qp_work) w;
    DREAL *c = base;
    w.Qs = c; c += (size_t)n * n;
    w.L = c; c += (size_t)n * n;
    w.M = c; c += (size_t)k * n;
    w.S = c; c += (size_t)k * k;
    w.W = c; c += m;
    w.Winv = c; c += m;
    w.rho = c; c += 1;
    /* end of the persistent prefix */
    w.Hb = c; c += (size_t)n * n;
    w.Gw = c; c += (size_t)m * n;
    w.s = c; c += m;
    w.rx = c; c += n;
    w.rz = c; c += m;
    w.ry = c; c += k;
    w.Qx = c; c += n;
    w.Gz = c; c += n;
    w.Ay = c; c += n;
    w.dx = c; c += n;
    w.dz = c; c += m;
    w.dy = c; c += k;
    w.ds = c; c += m;
    w.vx = c; c += n;
    w.vz = c; c += m;
    w.vy = c; c += k;
    w.bx = c; c += n;
    w.bz = c; c += m;
    w.by = c; c += k;
    w.ex = c; c += n;
    w.ez = c; c += m;
    w.ey = c; c += k;
    w.tn = c; c += n;
    w.tk = c; c += k;
    (void)c;
    return w;
}

DOPT_KFN int DFN(qp_row_on)(const DFN(qp_view) *v, int i) { return v->h[i] <= DREAL_MAX; }

/* ---- data checks ------------------------------------------------------ */

DOPT_KFN int DFN(qp_all_finite)(size_t len, const DREAL *x)
{
    for (size_t i = 0; i < len; ++i)
        if (!(DABS(x[i]) <= DREAL_MAX)) return 0;
    return 1;
}

/* DOPT_INST_RUNNING when usable, else the instance's final status. */
DOPT_KFN int DFN(qp_check_data)(const DFN(qp_view) *v)
{
    int n = v->n, m = v->m, k = v->k;
    if (v->Q && !DFN(qp_all_finite)((size_t)n * n, v->Q)) return DOPT_INST_INVALID;
    if (!DFN(qp_all_finite)((size_t)n, v->p)) return DOPT_INST_INVALID;
    if (!DFN(qp_all_finite)((size_t)m * n, v->G)) return DOPT_INST_INVALID;
    if (!DFN(qp_all_finite)((size_t)k * n, v->A)) return DOPT_INST_INVALID;
    if (!DFN(qp_all_finite)((size_t)k, v->b)) return DOPT_INST_INVALID;
    /* h_i = +inf switches row i off; NaN and -inf are invalid. "G_i x <= -inf"
     * is infeasible, but it has no finite Farkas certificate (G'lam + A'nu = 0,
     * lam >= 0, h'lam + b'nu < 0) unless G_i = 0, so status 1, which promises
     * one in lam and nu, would be a lie: such data is rejected instead. */
    for (int i = 0; i < m; ++i) {
        DREAL hi = v->h[i];
        if (hi != hi || hi < -DREAL_MAX) return DOPT_INST_INVALID;
    }
    return DOPT_INST_RUNNING;
}

/* Symmetrize Q into w->Qs (the objective only sees (Q+Q')/2, and so does
 * the gradient) and test positive semidefiniteness with a Cholesky of
 * Qs + sqrt(eps) * max|diag| * I, using w->L as scratch. */
DOPT_KFN int DFN(qp_prepare_q)(const DFN(qp_view) *v, DFN(qp_work) *w)
{
    int n = v->n;
    if (!v->Q) {
        for (size_t i = 0; i < (size_t)n * n; ++i) w->Qs[i] = 0;
        return 1;
    }
    DREAL dmax = 0;
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j <= i; ++j) {
            DREAL q = (DREAL)0.5 * (v->Q[(size_t)i * n + j] + v->Q[(size_t)j * n + i]);
            w->Qs[(size_t)i * n + j] = q;
            w->Qs[(size_t)j * n + i] = q;
        }
        DREAL d = DABS(v->Q[(size_t)i * n + i]);
        if (d > dmax) dmax = d;
    }
    DREAL shift = DSQRT(DREAL_EPS) * dmax + DREAL_MIN_NORMAL;
    for (int i = 0; i < n; ++i) {
        for (int j = i; j < n; ++j) w->L[(size_t)i * n + j] = w->Qs[(size_t)i * n + j];
        w->L[(size_t)i * n + i] += shift;
    }
    return DFN(la_cholesky)(n, w->L) == 0;
}

/* ---- the reduced KKT system ------------------------------------------ */
/* K = [Qs  G'  A'; G  -W^-1  0; A  0  0] restricted to rows that are on.
 * Eliminating dz leaves [H A'; A 0] with H = Qs + G'WG. Since A dx = by,
 * adding rho A'(A dx - by) changes nothing but makes H_rho = H + rho A'A
 * positive definite whenever K is nonsingular (Q may be singular: LPs, PSD
 * Q, free directions fixed only by equalities). Factored as
 * L L' = H_rho + delta I and S S' = M M' + eps_s I with M = L^-1 A'
 * (so A H_rho^-1 A' = M M'). Returns 0 or nonzero on failure. */
/* Largest |diag(Qs)|: the scale of the regularization and of the W cap. */
DOPT_KFN DREAL DFN(qp_qdiag)(const DFN(qp_view) *v, const DFN(qp_work) *w)
{
    DREAL qdiag = 0;
    for (int i = 0; i < v->n; ++i) {
        DREAL d = DABS(w->Qs[(size_t)i * v->n + i]);
        if (d > qdiag) qdiag = d;
    }
    return qdiag;
}

/* The parts of H_rho that do not change between iterations:
 * out = Qs + rho A'A + delta I (upper triangle), rho chosen here. */
DOPT_KFN void DFN(qp_form_h_base)(const DFN(qp_view) *v, DFN(qp_work) *w, DREAL delta, DREAL *out)
{
    int n = v->n, k = v->k;
    DREAL amax = 0;
    for (int r = 0; r < k; ++r) {
        DREAL a2 = DFN(la_dot)(n, v->A + (size_t)r * n, v->A + (size_t)r * n);
        if (a2 > amax) amax = a2;
    }
    DREAL rho = amax > 0 ? (1 + DFN(qp_qdiag)(v, w)) / amax : 0;
    *w->rho = rho;
    for (int i = 0; i < n; ++i)
        for (int j = i; j < n; ++j) out[(size_t)i * n + j] = w->Qs[(size_t)i * n + j];
    for (int r = 0; r < k; ++r) {
        const DREAL *g = v->A + (size_t)r * n;
        for (int i = 0; i < n; ++i) {
            DREAL a = rho * g[i];
            if (a != 0) DFN(la_axpy)(n - i, a, g + i, out + (size_t)i * n + i);
        }
    }
    for (int i = 0; i < n; ++i) out[(size_t)i * n + i] += delta;
}

/* H += G' W G (upper triangle): Gw = W^1/2 G (rows that are off are 0), then
 * the blocked Gram update. */
DOPT_KFN void DFN(qp_add_gwg)(const DFN(qp_view) *v, const DFN(qp_work) *w)
{
    int n = v->n, m = v->m;
    if (m == 0) return;
    for (int r = 0; r < m; ++r) {
        DREAL sw = DSQRT(w->W[r]);
        const DREAL *g = v->G + (size_t)r * n;
        DREAL *o = w->Gw + (size_t)r * n;
        for (int j = 0; j < n; ++j) o[j] = sw * g[j];
    }
    DFN(la_syrk_upper_add)(n, m, w->Gw, w->L);
}

/* Given the Cholesky factor L of H_rho: M = L^-1 A' and S S' = M M' + eps_s I. */
DOPT_KFN int DFN(qp_factor_schur)(const DFN(qp_view) *v, DFN(qp_work) *w, DFN(qp_state) *st)
{
    int n = v->n, k = v->k;
    if (k == 0) return 0;
    for (int r = 0; r < k; ++r) {
        DREAL *mr = w->M + (size_t)r * n;
        for (int j = 0; j < n; ++j) mr[j] = v->A[(size_t)r * n + j];
        DFN(la_solve_lower)(n, w->L, mr);
    }
    DREAL sdiag = 0;
    for (int i = 0; i < k; ++i) {
        DREAL d = DFN(la_dot)(n, w->M + (size_t)i * n, w->M + (size_t)i * n);
        if (d > sdiag) sdiag = d;
    }
    DREAL eps_s = DREAL_REG * sdiag + DREAL_MIN_NORMAL;
    for (int attempt = 0; attempt < 8; ++attempt, eps_s *= 100) {
        for (int i = 0; i < k; ++i)
            for (int j = i; j < k; ++j)
                w->S[(size_t)i * k + j] =
                    DFN(la_dot)(n, w->M + (size_t)i * n, w->M + (size_t)j * n) + (i == j ? eps_s : 0);
        if (DFN(la_cholesky)(k, w->S) == 0) {
            st->eps_s = eps_s;
            return 0;
        }
    }
    return 1;
}

/* The first regularization tried; raised 100-fold per failed Cholesky. */
DOPT_KFN DREAL DFN(qp_delta0)(const DFN(qp_view) *v, const DFN(qp_work) *w)
{
    return DREAL_REG * (1 + DFN(qp_qdiag)(v, w));
}

/* The factorization of K is split so that a batch can hand its central
 * piece (L += Gw'Gw and the Cholesky of L, the O(n^3) part) to a batched
 * library: qp_assemble fills L and Gw, qp_factor_assembled is the in-kernel
 * version of that piece, qp_factor_complete finishes from its outcome. */

/* First attempt's matrix before the Gram update: L = Hb (the whole n x n
 * block: Hb's strict lower triangle is zero, so L's is zero too and a
 * library reading either triangle sees the same matrix), Gw = W^1/2 G with
 * zero rows where the row is off. */
DOPT_KFN void DFN(qp_assemble)(const DFN(qp_view) *v, DFN(qp_work) *w)
{
    int n = v->n, m = v->m;
    for (size_t e = 0; e < (size_t)n * n; ++e) w->L[e] = w->Hb[e];
    for (int r = 0; r < m; ++r) {
        DREAL sw = DSQRT(w->W[r]);
        const DREAL *g = v->G + (size_t)r * n;
        DREAL *o = w->Gw + (size_t)r * n;
        for (int j = 0; j < n; ++j) o[j] = sw * g[j];
    }
}

/* In-kernel central piece: L += Gw'Gw (upper triangle), L = U'U in place.
 * Returns 0, or the failed pivot + 1 (the convention of LAPACK's info). */
DOPT_KFN int DFN(qp_factor_assembled)(const DFN(qp_view) *v, DFN(qp_work) *w)
{
    if (v->m > 0) DFN(la_syrk_upper_add)(v->n, v->m, w->Gw, w->L);
    return DFN(la_cholesky)(v->n, w->L);
}

/* Later attempts after a failed first Cholesky: rebuild H with a 100-fold
 * larger delta each time. Returns 0 or nonzero on failure. */
DOPT_KFN int DFN(qp_factor_retry)(const DFN(qp_view) *v, DFN(qp_work) *w, DFN(qp_state) *st)
{
    DREAL delta = DFN(qp_delta0)(v, w);
    for (int attempt = 1; attempt < 8; ++attempt) {
        delta *= 100;
        DFN(qp_form_h_base)(v, w, delta, w->L);
        DFN(qp_add_gwg)(v, w);
        if (DFN(la_cholesky)(v->n, w->L) == 0) {
            st->delta = delta;
            return DFN(qp_factor_schur)(v, w, st);
        }
    }
    return 1;
}

/* Given info of the central piece on the assembled L (0: L holds U with
 * H_rho + delta0 I = U'U): the Schur complement, or the retries. */
DOPT_KFN int DFN(qp_factor_complete)(const DFN(qp_view) *v, DFN(qp_work) *w, DFN(qp_state) *st, int info)
{
    if (info != 0) return DFN(qp_factor_retry)(v, w, st);
    st->delta = DFN(qp_delta0)(v, w);
    return DFN(qp_factor_schur)(v, w, st);
}

/* Factors K at the current W in one go. Returns 0 or nonzero on failure. */
DOPT_KFN int DFN(qp_factor)(const DFN(qp_view) *v, DFN(qp_work) *w, DFN(qp_state) *st)
{
    DFN(qp_assemble)(v, w);
    return DFN(qp_factor_complete)(v, w, st, DFN(qp_factor_assembled)(v, w));
}

/* One solve with the factors: K [dx; dz; dy] = [bx; bz; by]. */
DOPT_KFN void DFN(qp_kkt_base_solve)(const DFN(qp_view) *v, DFN(qp_work) *w, const DREAL *bx,
                                     const DREAL *bz, const DREAL *by, DREAL *dx, DREAL *dz, DREAL *dy)
{
    int n = v->n, m = v->m, k = v->k;
    for (int j = 0; j < n; ++j) dx[j] = bx[j];
    for (int r = 0; r < m; ++r)
        if (w->W[r] != 0) DFN(la_axpy)(n, w->W[r] * bz[r], v->G + (size_t)r * n, dx);
    for (int r = 0; r < k; ++r) DFN(la_axpy)(n, *w->rho * by[r], v->A + (size_t)r * n, dx);
    DFN(la_solve_lower)(n, w->L, dx);
    if (k > 0) {
        for (int r = 0; r < k; ++r) dy[r] = DFN(la_dot)(n, w->M + (size_t)r * n, dx) - by[r];
        DFN(la_cholesky_solve)(k, w->S, dy);
        for (int r = 0; r < k; ++r) DFN(la_axpy)(n, -dy[r], w->M + (size_t)r * n, dx);
    }
    DFN(la_solve_lower_t)(n, w->L, dx);
    for (int r = 0; r < m; ++r)
        dz[r] = w->W[r] != 0 ? w->W[r] * (DFN(la_dot)(n, v->G + (size_t)r * n, dx) - bz[r]) : 0;
}

/* e = b - K d; returns max |e| relative to max |b| (0 when b = 0). */
DOPT_KFN DREAL DFN(qp_kkt_residual)(const DFN(qp_view) *v, DFN(qp_work) *w, const DREAL *bx,
                                    const DREAL *bz, const DREAL *by, const DREAL *dx,
                                    const DREAL *dz, const DREAL *dy)
{
    int n = v->n, m = v->m, k = v->k;
    DREAL en = 0, bn = 0;
    if (DREAL_MIXED) {
        /* float32: each entry of b - K d summed in double, then rounded
         * (la_dot_acc): refinement then converges to the float solution's
         * own accuracy instead of stalling at float's summation error */
        for (int j0 = 0; j0 < n; j0 += 8) {
            int width = n - j0 < 8 ? n - j0 : 8;
            double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            DFN(la_gemv_t_block8_acc)(n, n, w->Qs, dx, j0, width, acc); /* Qs is symmetric: Qs'dx = Qs dx */
            DFN(la_gemv_t_block8_acc)(m, n, v->G, dz, j0, width, acc);
            DFN(la_gemv_t_block8_acc)(k, n, v->A, dy, j0, width, acc);
            for (int q = 0; q < width; ++q) w->ex[j0 + q] = (DREAL)((double)bx[j0 + q] - acc[q]);
        }
    } else {
        DFN(la_gemv)(n, n, w->Qs, dx, w->ex);
        DFN(la_gemv_t_add)(m, n, v->G, dz, w->ex);
        DFN(la_gemv_t_add)(k, n, v->A, dy, w->ex);
        for (int j = 0; j < n; ++j) w->ex[j] = bx[j] - w->ex[j];
    }
    for (int j = 0; j < n; ++j) {
        if (DABS(w->ex[j]) > en) en = DABS(w->ex[j]);
        if (DABS(bx[j]) > bn) bn = DABS(bx[j]);
    }
    for (int r = 0; r < m; ++r) {
        if (w->W[r] == 0) { w->ez[r] = 0; continue; }
        w->ez[r] = (DREAL)((double)bz[r] - (DFN(la_dot_acc)(n, v->G + (size_t)r * n, dx) -
                                            (double)w->Winv[r] * dz[r]));
        if (DABS(w->ez[r]) > en) en = DABS(w->ez[r]);
        if (DABS(bz[r]) > bn) bn = DABS(bz[r]);
    }
    for (int r = 0; r < k; ++r) {
        w->ey[r] = (DREAL)((double)by[r] - DFN(la_dot_acc)(n, v->A + (size_t)r * n, dx));
        if (DABS(w->ey[r]) > en) en = DABS(w->ey[r]);
        if (DABS(by[r]) > bn) bn = DABS(by[r]);
    }
    if (en != en) return en;
    return bn > 0 ? en / bn : en;
}

/* Solve K d = b with iterative refinement against the unregularized K
 * (the regularization only preconditions), until the relative residual is
 * below `stop`: the forward's Newton directions need sqrt(eps) (residuals
 * are recomputed exactly every iteration), the backward's gradient eps. */
DOPT_KFN void DFN(qp_kkt_solve)(const DFN(qp_view) *v, DFN(qp_work) *w, int refine, DREAL stop, const DREAL *bx,
                                const DREAL *bz, const DREAL *by, DREAL *dx, DREAL *dz, DREAL *dy)
{
    int n = v->n, m = v->m, k = v->k;
    DFN(qp_kkt_base_solve)(v, w, bx, bz, by, dx, dz, dy);
    DREAL prev = DREAL_MAX;
    for (int it = 0; it < refine; ++it) {
        DREAL rel = DFN(qp_kkt_residual)(v, w, bx, bz, by, dx, dz, dy);
        if (!(rel > stop) || !(rel < (DREAL)0.5 * prev)) break;
        prev = rel;
        /* the correction overwrites its own right-hand side ez in place */
        DFN(qp_kkt_base_solve)(v, w, w->ex, w->ez, w->ey, w->tn, w->ez, w->tk);
        for (int j = 0; j < n; ++j) dx[j] += w->tn[j];
        for (int r = 0; r < m; ++r) dz[r] += w->ez[r];
        for (int r = 0; r < k; ++r) dy[r] += w->tk[r];
    }
}

/* ---- the interior point iteration ------------------------------------ */

/* Statuses whose x, lam, nu are a solution (the tape keeps their factor, the
 * backward differentiates them). */
DOPT_KFN int DFN(qp_status_has_solution)(int status)
{
    return status == DOPT_INST_SOLVED || status == DOPT_INST_REDUCED_ACCURACY;
}

/* W = z/s for the factorization and W^-1 = s/z for residuals. Near the
 * solution W of an active row grows without bound (1e17 is typical after a
 * full final step), and H = Q + G'WG would then lose Q's part below
 * rounding. The factorization therefore uses W capped so that no row
 * outweighs Q's scale by more than eps^(-3/4); iterative refinement against
 * the true K (true W^-1) removes the difference. The cap trades the
 * Cholesky's accuracy (eps * cap) against the distance to the true K
 * (1 / cap): eps^(-3/4) keeps both small, also when K itself is nearly
 * singular, as on infeasible instances where tau -> 0. */
DOPT_KFN void DFN(qp_set_scaling)(const DFN(qp_view) *v, DFN(qp_work) *w, const DREAL *z)
{
    int n = v->n;
    DREAL cap = (1 + DFN(qp_qdiag)(v, w)) / DREAL_EPS_3_4;
    for (int r = 0; r < v->m; ++r) {
        if (DFN(qp_row_on)(v, r)) {
            const DREAL *g = v->G + (size_t)r * n;
            DREAL g2 = DFN(la_dot)(n, g, g);
            DREAL wr = z[r] / w->s[r];
            w->W[r] = g2 > 0 && wr * g2 > cap ? cap / g2 : wr;
            w->Winv[r] = w->s[r] / z[r];
        } else {
            w->W[r] = 0;
            w->Winv[r] = 0;
        }
    }
}

/* The start point is the solution of
 *     min 1/2 x'Qx + p'x + 1/2 |Gx - h|^2  s.t.  Ax = b,
 * with slacks and duals shifted into the interior (as CVXOPT's coneqp).
 * qp_ipm_setup checks the data, prepares Q, caches Hb and sets W = I and the
 * right-hand side; K is then factored; qp_ipm_start_point solves. */
DOPT_KFN int DFN(qp_ipm_setup)(const DFN(qp_view) *v, DFN(qp_work) *w, DFN(qp_state) *st)
{
    int n = v->n, m = v->m, k = v->k;
    st->iter = 0;
    st->started = 0;
    st->merit = st->best_merit = DREAL_MAX;
    st->stall = 0;
    st->tau_fixed = 0;
    st->tau = 1;
    st->kappa = 1;
    st->status = DFN(qp_check_data)(v);
    if (st->status != DOPT_INST_RUNNING) return st->status;
    if (!DFN(qp_prepare_q)(v, w)) return st->status = DOPT_INST_INVALID;
    DFN(qp_form_h_base)(v, w, DFN(qp_delta0)(v, w), w->Hb);
    for (int r = 0; r < m; ++r) {
        int on = DFN(qp_row_on)(v, r);
        w->s[r] = 1;
        w->W[r] = on ? 1 : 0;
        w->Winv[r] = on ? 1 : 0;
        w->bz[r] = on ? v->h[r] : 0;
    }
    for (int j = 0; j < n; ++j) w->bx[j] = -v->p[j];
    for (int r = 0; r < k; ++r) w->by[r] = v->b[r];
    return st->status = DOPT_INST_RUNNING;
}

/* With K factored at W = I: the start point. Returns the status. */
DOPT_KFN int DFN(qp_ipm_start_point)(const DFN(qp_view) *v, const DFN(qp_settings) *set, DFN(qp_work) *w,
                                     DFN(qp_state) *st, DREAL *x, DREAL *z, DREAL *y)
{
    int n = v->n, m = v->m, k = v->k;
    DFN(qp_kkt_solve)(v, w, set->refine, DREAL_REFINE_FWD, w->bx, w->bz, w->by, x, z, y);
    /* z now holds Gx - h on rows that are on */
    DREAL smin = DREAL_MAX, zmin = DREAL_MAX;
    for (int r = 0; r < m; ++r) {
        if (!DFN(qp_row_on)(v, r)) { w->s[r] = 1; z[r] = 0; continue; }
        w->s[r] = -z[r];
        if (w->s[r] < smin) smin = w->s[r];
        if (z[r] < zmin) zmin = z[r];
    }
    for (int r = 0; r < m; ++r) {
        if (!DFN(qp_row_on)(v, r)) continue;
        /* shift into the interior with a margin of 1 (a near-zero entry would
         * make W = z/s degenerate and the first Newton step explode) */
        if (smin < 1) w->s[r] += 1 - smin;
        if (zmin < 1) z[r] += 1 - zmin;
    }
    if (!DFN(qp_all_finite)((size_t)n, x) || !DFN(qp_all_finite)((size_t)k, y))
        return st->status = DOPT_INST_NUMERICAL;
    st->started = 1;
    return st->status = DOPT_INST_RUNNING;
}

/* The tolerance below which an instance that cannot reach set->tol (no
 * progress, or out of iterations) is "solved to reduced accuracy" rather
 * than failed: 100 tol, but at least what the precision reaches reliably
 * (DREAL_REDUCED_FLOOR: 100 times its default tol), and at most 1e-3 (or
 * tol itself when that is looser). */
DOPT_KFN DREAL DFN(qp_reduced_tol)(const DFN(qp_settings) *set)
{
    DREAL r = 100 * set->tol;
    if (r < DREAL_REDUCED_FLOOR) r = DREAL_REDUCED_FLOOR;
    if (r > (DREAL)1e-3) r = set->tol > (DREAL)1e-3 ? set->tol : (DREAL)1e-3;
    return r;
}

/* What the termination tests read of an iterate: max-norms of the
 * residuals and of the data's products, and the inner products, however
 * they were computed (densely in qp_ipm_check; on CSR data by
 * kernels/sparse_qp_ipm.h, which calls qp_check_tests_d so that the sparse
 * and dense layers stop, certify and classify by the same rules). */
typedef struct {
    DREAL nQx, nGz, nAy, np, nrx, nsum; /* over x's rows; nsum = |G'z + A'y| */
    DREAL nrz, nGx, ns, nh, gxpos;      /* over the rows that are on */
    DREAL nry, nAx, nb;
    double hz, sz, by, xQx, px;
    int mact; /* rows that are on */
} DFN(qp_norms);

/* A qp_norms with nothing accumulated (no memset: this runs on the GPU too). */
DOPT_KFN void DFN(qp_norms_clear)(DFN(qp_norms) *q)
{
    q->nQx = q->nGz = q->nAy = q->np = q->nrx = q->nsum = 0;
    q->nrz = q->nGx = q->ns = q->nh = q->gxpos = 0;
    q->nry = q->nAx = q->nb = 0;
    q->hz = q->sz = q->by = q->xQx = q->px = 0;
    q->mact = 0;
}

/* The norms' accumulation, one piece per kind of row, shared by the dense
 * check and the sparse layer (kernels/sparse_qp_ipm.h) so both measure an
 * iterate alike. Start from qp_norms_clear. */
DOPT_KFN void DFN(qp_norms_x_rows)(DFN(qp_norms) *q, int n, const DREAL *Qx, const DREAL *Gz, const DREAL *Ay,
                                   const DREAL *p, const DREAL *rx)
{
    for (int j = 0; j < n; ++j) {
        DREAL a = DABS(Qx[j]), g = DABS(Gz[j]), c = DABS(Ay[j]), pp = DABS(p[j]);
        if (a > q->nQx) q->nQx = a;
        if (g > q->nGz) q->nGz = g;
        if (c > q->nAy) q->nAy = c;
        if (pp > q->np) q->np = pp;
        if (DABS(rx[j]) > q->nrx) q->nrx = DABS(rx[j]);
        DREAL gy = DABS(Gz[j] + Ay[j]);
        if (gy > q->nsum) q->nsum = gy;
    }
}

/* An inequality row that is on: gx = G_r x, rz its residual, s, h, z. */
DOPT_KFN void DFN(qp_norms_ineq_row)(DFN(qp_norms) *q, DREAL gx, DREAL rz, DREAL s, DREAL h, DREAL z)
{
    ++q->mact;
    if (DABS(rz) > q->nrz) q->nrz = DABS(rz);
    if (DABS(gx) > q->nGx) q->nGx = DABS(gx);
    if (gx > q->gxpos) q->gxpos = gx;
    if (s > q->ns) q->ns = s;
    if (DABS(h) > q->nh) q->nh = DABS(h);
    q->hz += (double)h * z; /* in double: the gap is their small difference with p'x (float32) */
    q->sz += (double)s * z;
}

/* An equality row: ax = A_r x, ry its residual, b, y. */
DOPT_KFN void DFN(qp_norms_eq_row)(DFN(qp_norms) *q, DREAL ax, DREAL ry, DREAL b, DREAL y)
{
    if (DABS(ry) > q->nry) q->nry = DABS(ry);
    if (DABS(ax) > q->nAx) q->nAx = DABS(ax);
    if (DABS(b) > q->nb) q->nb = DABS(b);
    q->by += (double)b * y;
}

/* The termination tests from an iterate's norms: converged, certificate of
 * primal or dual infeasibility, reduced accuracy, iteration limit. Sets
 * *rtau and *mu; returns the (possibly final) status. */
DOPT_KFN int DFN(qp_check_tests)(const DFN(qp_settings) *set, DFN(qp_state) *st, const DFN(qp_norms) *q,
                                 DREAL *rtau, DREAL *mu)
{
    DREAL tau = st->tau, kappa = st->kappa;
    DREAL nQx = q->nQx, nGz = q->nGz, nAy = q->nAy, np = q->np, nrx = q->nrx, nsum = q->nsum;
    DREAL nrz = q->nrz, nGx = q->nGx, ns = q->ns, nh = q->nh, gxpos = q->gxpos;
    DREAL nry = q->nry, nAx = q->nAx, nb = q->nb;
    double hz = q->hz, sz = q->sz, by = q->by, xQx = q->xQx, px = q->px;
    int mact = q->mact;
    *rtau = (DREAL)(px + hz + by + xQx / tau + kappa);
    *mu = (DREAL)((sz + (double)tau * kappa) / (mact + 1));
    if (!(DABS(*rtau) <= DREAL_MAX) || !(nrx <= DREAL_MAX) || !(nrz <= DREAL_MAX) ||
        !(nry <= DREAL_MAX) || !(tau > 0))
        return st->status = DOPT_INST_NUMERICAL;

    /* convergence of the normalized point (x, s, z, y) / tau */
    DREAL tol = set->tol;
    DREAL dres = nrx / (tau + (nQx > nGz ? nQx : nGz) + (nAy > np * tau ? nAy : np * tau));
    DREAL sp = tau + nGx + ns + nh * tau;
    DREAL pres_z = nrz / sp;
    DREAL pres_y = nry / (tau + nAx + nb * tau);
    DREAL pobj = ((DREAL)0.5 * xQx / tau + px) / tau;
    DREAL dobj = (-(DREAL)0.5 * xQx / tau - hz - by) / tau;
    DREAL gap = DABS(pobj - dobj);
    DREAL gap_c = sz / (tau * tau);
    if (gap_c > gap) gap = gap_c;
    DREAL objscale = 1 + (DABS(pobj) < DABS(dobj) ? DABS(pobj) : DABS(dobj));
    if (dres <= tol && pres_z <= tol && pres_y <= tol && gap <= tol * objscale)
        return st->status = DOPT_INST_SOLVED;
    DREAL merit = dres;
    if (pres_z > merit) merit = pres_z;
    if (pres_y > merit) merit = pres_y;
    if (gap / objscale > merit) merit = gap / objscale;
    st->merit = merit;
    if (merit < (DREAL)0.5 * st->best_merit) {
        st->best_merit = merit;
        st->stall = 0;
    } else {
        st->stall += 1;
    }
    int reduced_ok = merit <= DFN(qp_reduced_tol)(set);
    /* float32: once the point passes the 1e-4 tests (DREAL_REDUCED_FLOOR) the instance is
     * feasible with tau bounded away from 0, and the embedding has done its
     * job; from here its tau row, whose Schur complement den tends to 0
     * like mu and is lost to float rounding (dtau then explodes), is
     * dropped: tau is held and the steps are plain Mehrotra steps on the
     * normalized problem (qp_ipm_step). float64 keeps the full embedding. */
    if (DREAL_MIXED && merit <= DREAL_REDUCED_FLOOR && !st->tau_fixed) {
        st->tau_fixed = 1;
        st->kappa = 0;
    }

    /* certificates, scale-free: no feasible point within 1-norm 1/tol_inf */
    DREAL cert_p = hz + by;
    if (cert_p < 0 && nsum <= set->tol_inf * (-cert_p)) return st->status = DOPT_INST_PRIMAL_INFEASIBLE;
    if (px < 0) {
        DREAL viol = nQx;
        if (gxpos > viol) viol = gxpos;
        if (nAx > viol) viol = nAx;
        if (viol <= set->tol_inf * (-px)) return st->status = DOPT_INST_DUAL_INFEASIBLE;
    }
    /* no progress for DREAL_STALL_CHECKS iterations, or out of
     * iterations, at a point that passes the reduced tolerance: the
     * requested one is out of the precision's reach */
    if (reduced_ok && (st->stall >= DREAL_STALL_CHECKS || st->iter >= set->max_iter))
        return st->status = DOPT_INST_REDUCED_ACCURACY;
    if (st->iter >= set->max_iter) return st->status = DOPT_INST_ITERATION_LIMIT;
    return st->status = DOPT_INST_RUNNING;
}


/* Residuals of the embedding at the current iterate, then the termination
 * tests: converged, certificate of primal or dual infeasibility, iteration
 * limit. Returns the (possibly final) status; leaves rx, rz, ry, Qx and
 * w->bx[0..] untouched except the residual arrays. *rtau and *mu out. */
DOPT_KFN int DFN(qp_ipm_check)(const DFN(qp_view) *v, const DFN(qp_settings) *set, DFN(qp_work) *w,
                               DFN(qp_state) *st, const DREAL *x, const DREAL *z, const DREAL *y,
                               DREAL *rtau, DREAL *mu)
{
    int n = v->n, m = v->m, k = v->k;
    DREAL tau = st->tau;
    if (DREAL_MIXED) {
        /* float32: r_x summed in double from its unrounded terms (see
         * la_dot_acc); the parts Qx, G'z, A'y are kept rounded */
        for (int j0 = 0; j0 < n; j0 += 8) {
            int width = n - j0 < 8 ? n - j0 : 8;
            double qx[8] = {0, 0, 0, 0, 0, 0, 0, 0}, gz[8] = {0, 0, 0, 0, 0, 0, 0, 0},
                   ay[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            DFN(la_gemv_t_block8_acc)(n, n, w->Qs, x, j0, width, qx); /* Qs symmetric */
            DFN(la_gemv_t_block8_acc)(m, n, v->G, z, j0, width, gz);
            DFN(la_gemv_t_block8_acc)(k, n, v->A, y, j0, width, ay);
            for (int q = 0; q < width; ++q) {
                int j = j0 + q;
                w->Qx[j] = (DREAL)qx[q];
                w->Gz[j] = (DREAL)gz[q];
                w->Ay[j] = (DREAL)ay[q];
                w->rx[j] = (DREAL)(qx[q] + gz[q] + ay[q] + (double)v->p[j] * tau);
            }
        }
    } else {
        DFN(la_gemv)(n, n, w->Qs, x, w->Qx);
        for (int j = 0; j < n; ++j) { w->Gz[j] = 0; w->Ay[j] = 0; }
        DFN(la_gemv_t_add)(m, n, v->G, z, w->Gz);
        DFN(la_gemv_t_add)(k, n, v->A, y, w->Ay);
        for (int j = 0; j < n; ++j) w->rx[j] = w->Qx[j] + w->Gz[j] + w->Ay[j] + v->p[j] * tau;
    }
    DFN(qp_norms) q;
    DFN(qp_norms_clear)(&q);
    DFN(qp_norms_x_rows)(&q, n, w->Qx, w->Gz, w->Ay, v->p, w->rx);
    for (int r = 0; r < m; ++r) {
        if (!DFN(qp_row_on)(v, r)) { w->rz[r] = 0; continue; }
        double gx_acc = DFN(la_dot_acc)(n, v->G + (size_t)r * n, x);
        w->rz[r] = (DREAL)(gx_acc + w->s[r] - (double)v->h[r] * tau);
        DFN(qp_norms_ineq_row)(&q, (DREAL)gx_acc, w->rz[r], w->s[r], v->h[r], z[r]);
    }
    for (int r = 0; r < k; ++r) {
        double ax_acc = DFN(la_dot_acc)(n, v->A + (size_t)r * n, x);
        w->ry[r] = (DREAL)(ax_acc - (double)v->b[r] * tau);
        DFN(qp_norms_eq_row)(&q, (DREAL)ax_acc, w->ry[r], v->b[r], y[r]);
    }
    q.xQx = DFN(la_dot_acc)(n, x, w->Qx);
    q.px = DFN(la_dot_acc)(n, v->p, x);
    return DFN(qp_check_tests)(set, st, &q, rtau, mu);
}

/* Mehrotra's centering from the affine step's complementarity mu_aff and
 * the current mu: sigma = (mu_aff / mu)^3 clamped to [0, 1]; gives the
 * corrector's eta = 1 - sigma and target sigma*mu. One rule for the dense,
 * interleaved and sparse paths. */
DOPT_KFN void DFN(qp_centering)(DREAL mu_aff, DREAL mu, DREAL *eta, DREAL *smu)
{
    DREAL sigma = mu > 0 ? mu_aff / mu : 0;
    if (sigma > 1) sigma = 1;
    if (sigma < 0) sigma = 0;
    sigma = sigma * sigma * sigma;
    *eta = 1 - sigma;
    *smu = sigma * mu;
}

/* (p + 2Qx/tau)'dx + h'dz + b'dy: the tau-row of the linearized embedding. */
DOPT_KFN DREAL DFN(qp_tau_row)(const DFN(qp_view) *v, const DFN(qp_work) *w, DREAL tau,
                               const DREAL *dx, const DREAL *dz, const DREAL *dy)
{
    DREAL acc = 0;
    for (int j = 0; j < v->n; ++j) acc += (v->p[j] + 2 * w->Qx[j] / tau) * dx[j];
    for (int r = 0; r < v->m; ++r)
        if (w->W[r] != 0) acc += v->h[r] * dz[r];
    for (int r = 0; r < v->k; ++r) acc += v->b[r] * dy[r];
    return acc;
}

/* Step to the boundary of the cone (s, z, tau, kappa > 0), capped at 2
 * (callers want min(1, fraction * boundary step)). */
DOPT_KFN DREAL DFN(qp_max_step)(const DFN(qp_view) *v, const DFN(qp_work) *w, const DREAL *z,
                                const DFN(qp_state) *st, DREAL dtau, DREAL dkappa)
{
    DREAL a = 2;
    for (int r = 0; r < v->m; ++r) {
        if (w->W[r] == 0) continue;
        if (w->ds[r] < 0 && -w->s[r] / w->ds[r] < a) a = -w->s[r] / w->ds[r];
        if (w->dz[r] < 0 && -z[r] / w->dz[r] < a) a = -z[r] / w->dz[r];
    }
    if (dtau < 0 && -st->tau / dtau < a) a = -st->tau / dtau;
    if (dkappa < 0 && -st->kappa / dkappa < a) a = -st->kappa / dkappa;
    return a;
}

/* Solve for one Mehrotra direction given the right-hand side already in
 * bx, bz, by (with eta and the complementarity term folded in), then fold in
 * the tau direction. den is the tau-row's Schur complement (negative). */
DOPT_KFN void DFN(qp_direction)(const DFN(qp_view) *v, int refine, DFN(qp_work) *w, const DFN(qp_state) *st,
                                DREAL rhs_tau, DREAL den, DREAL *dtau)
{
    int n = v->n, m = v->m, k = v->k;
    DFN(qp_kkt_solve)(v, w, refine, DREAL_REFINE_FWD, w->bx, w->bz, w->by, w->dx, w->dz, w->dy);
    if (st->tau_fixed) {
        *dtau = 0;
        return;
    }
    DREAL t = (rhs_tau - DFN(qp_tau_row)(v, w, st->tau, w->dx, w->dz, w->dy)) / den;
    DFN(la_axpy)(n, t, w->vx, w->dx);
    DFN(la_axpy)(m, t, w->vz, w->dz);
    DFN(la_axpy)(k, t, w->vy, w->dy);
    *dtau = t;
}

/* One predictor-corrector step from the residuals left by qp_ipm_check.
 * The factorization of K at this iterate must be current (qp_factor). */
DOPT_KFN int DFN(qp_ipm_step)(const DFN(qp_view) *v, const DFN(qp_settings) *set, DFN(qp_work) *w,
                              DFN(qp_state) *st, DREAL *x, DREAL *z, DREAL *y, DREAL rtau, DREAL mu)
{
    int n = v->n, m = v->m, k = v->k;
    DREAL tau = st->tau, kappa = st->kappa;
    int mact = 0;
    /* v = K^-1 [-p; h; b], the direction of tau */
    for (int j = 0; j < n; ++j) w->bx[j] = -v->p[j];
    for (int r = 0; r < m; ++r) {
        int on = w->W[r] != 0;
        mact += on;
        w->bz[r] = on ? v->h[r] : 0;
    }
    for (int r = 0; r < k; ++r) w->by[r] = v->b[r];
    DREAL den = -1; /* with tau held (tau_fixed) the tau row is not solved: v = 0, dtau = 0 */
    if (st->tau_fixed) {
        for (int j = 0; j < n; ++j) w->vx[j] = 0;
        for (int r = 0; r < m; ++r) w->vz[r] = 0;
        for (int r = 0; r < k; ++r) w->vy[r] = 0;
    } else {
        /* solved to full accuracy (at least 3 refinement steps): den below has
         * its guaranteed sign only when v solves K exactly, and near the
         * solution den -> 0 */
        DFN(qp_kkt_solve)(v, w, set->refine > 3 ? set->refine : 3, DREAL_REFINE_STOP, w->bx, w->bz, w->by, w->vx,
                          w->vz, w->vy);
        /* den = -(v_x - x/tau)'Q(v_x - x/tau) - v_z' W^-1 v_z - kappa/tau < 0,
         * the form that cannot lose its sign to cancellation */
        for (int j = 0; j < n; ++j) w->tn[j] = w->vx[j] - x[j] / tau;
        DFN(la_gemv)(n, n, w->Qs, w->tn, w->ex);
        den = -DFN(la_dot)(n, w->tn, w->ex) - kappa / tau;
        for (int r = 0; r < m; ++r)
            if (w->W[r] != 0) den -= w->vz[r] * w->vz[r] * w->Winv[r];
    }

    /* predictor (affine scaling): eta = 1, sigma = 0 */
    for (int j = 0; j < n; ++j) w->bx[j] = -w->rx[j];
    for (int r = 0; r < m; ++r) w->bz[r] = w->W[r] != 0 ? -w->rz[r] + w->s[r] : 0;
    for (int r = 0; r < k; ++r) w->by[r] = -w->ry[r];
    DREAL dtau, dkappa;
    /* the affine direction only sets sigma and the second-order term: no refinement */
    DFN(qp_direction)(v, 0, w, st, -rtau + kappa, den, &dtau);
    for (int r = 0; r < m; ++r) w->ds[r] = w->W[r] != 0 ? -w->s[r] - w->Winv[r] * w->dz[r] : 0;
    dkappa = st->tau_fixed ? 0 : -kappa - kappa * dtau / tau;
    /* The tau-row is not linear in (x, tau): along a step, x'Qx/tau grows by
     * a^2 (dx - x dtau/tau)'Q(dx - x dtau/tau)/(tau + a dtau) beyond its
     * linearization. The corrector takes this second-order term from the
     * affine direction, as it takes ds.*dz for the complementarity. */
    for (int j = 0; j < n; ++j) w->tn[j] = w->dx[j] - x[j] * dtau / tau;
    DFN(la_gemv)(n, n, w->Qs, w->tn, w->ex);
    DREAL tau_second_order = DFN(la_dot)(n, w->tn, w->ex) / tau;
    DREAL a = DFN(qp_max_step)(v, w, z, st, dtau, dkappa);
    if (a > 1) a = 1;
    DREAL mu_aff = (tau + a * dtau) * (kappa + a * dkappa);
    for (int r = 0; r < m; ++r)
        if (w->W[r] != 0) mu_aff += (w->s[r] + a * w->ds[r]) * (z[r] + a * w->dz[r]);
    mu_aff /= (DREAL)(mact + 1);
    DREAL eta, smu;
    DFN(qp_centering)(mu_aff, mu, &eta, &smu);

    /* corrector: target sigma*mu plus the second-order term of the predictor */
    for (int j = 0; j < n; ++j) w->bx[j] = -eta * w->rx[j];
    for (int r = 0; r < m; ++r)
        w->bz[r] = w->W[r] != 0
                       ? -eta * w->rz[r] + (w->s[r] * z[r] + w->ds[r] * w->dz[r] - smu) / z[r]
                       : 0;
    for (int r = 0; r < k; ++r) w->by[r] = -eta * w->ry[r];
    DREAL rkappa = tau * kappa + dtau * dkappa - smu;
    DFN(qp_direction)(v, set->refine, w, st, -eta * rtau + rkappa / tau - tau_second_order, den, &dtau);
    for (int r = 0; r < m; ++r)
        w->ds[r] = w->W[r] != 0 ? -(w->bz[r] + eta * w->rz[r]) - w->Winv[r] * w->dz[r] : 0;
    dkappa = st->tau_fixed ? 0 : -(rkappa + kappa * dtau) / tau;
    a = DFN(qp_max_step)(v, w, z, st, dtau, dkappa);
    a *= DREAL_STEP_FRACTION;
    if (a > 1) a = 1;
    if (!(a > 0)) return st->status = DOPT_INST_NUMERICAL;
    DFN(la_axpy)(n, a, w->dx, x);
    DFN(la_axpy)(k, a, w->dy, y);
    for (int r = 0; r < m; ++r) {
        if (w->W[r] == 0) continue;
        w->s[r] += a * w->ds[r];
        z[r] += a * w->dz[r];
    }
    st->tau = tau + a * dtau;
    st->kappa = kappa + a * dkappa;
    st->iter += 1;
    return st->status;
}

/* ---- the outputs per status, shared with the sparse layer ----------------
 * (kernels/sparse_qp_ipm.h's sqp_finish): a solution (solved, reduced
 * accuracy, iteration limit) is the iterate over tau; a Farkas certificate
 * (primal infeasible) is (lam, nu) scaled to h'lam + b'nu = -1; a recession
 * direction (dual infeasible) is x scaled to p'x = -1; anything else is
 * zero. The sum a certificate is scaled by is the caller's (each layer its
 * own dot product), asked for only when qp_finish_kind says so. */
#ifndef QP_FINISH_SOLUTION
#define QP_FINISH_NONE 0
#define QP_FINISH_SOLUTION 1
#define QP_FINISH_FARKAS 2    /* needs h'z + b'y over the rows that are on: qp_farkas_sum */
#define QP_FINISH_RECESSION 3 /* needs p'x */
#endif

DOPT_KFN int DFN(qp_finish_kind)(int status)
{
    switch (status) {
    case DOPT_INST_SOLVED:
    case DOPT_INST_REDUCED_ACCURACY:
    case DOPT_INST_ITERATION_LIMIT:
        return QP_FINISH_SOLUTION;
    case DOPT_INST_PRIMAL_INFEASIBLE:
        return QP_FINISH_FARKAS;
    case DOPT_INST_DUAL_INFEASIBLE:
        return QP_FINISH_RECESSION;
    default:
        return QP_FINISH_NONE;
    }
}

DOPT_KFN DREAL DFN(qp_farkas_sum)(int m, int k, const DREAL *h, const DREAL *z, const DREAL *b, const DREAL *y)
{
    DREAL c = 0;
    for (int r = 0; r < m; ++r)
        if (h[r] <= DREAL_MAX) c += h[r] * z[r];
    for (int r = 0; r < k; ++r) c += b[r] * y[r];
    return c;
}

/* sx scales x (and a solution's slacks), sz scales lam and nu; cert: the
 * certificate's sum for FARKAS and RECESSION, else unused. */
DOPT_KFN void DFN(qp_finish_scales)(int kind, DREAL tau, DREAL cert, DREAL *sx, DREAL *sz)
{
    *sx = *sz = 0;
    if (kind == QP_FINISH_SOLUTION) *sx = *sz = 1 / tau;
    else if (kind == QP_FINISH_FARKAS) *sz = cert < 0 ? -1 / cert : 0;
    else if (kind == QP_FINISH_RECESSION) *sx = cert < 0 ? -1 / cert : 0;
}

/* x *= sx, (z, y) *= sz; a zero scale (and a row that is off) gives 0. */
DOPT_KFN void DFN(qp_finish_outputs)(int n, int m, int k, const DREAL *h, DREAL sx, DREAL sz, DREAL *x, DREAL *z,
                                     DREAL *y)
{
    for (int j = 0; j < n; ++j) x[j] = sx != 0 ? x[j] * sx : 0;
    for (int r = 0; r < m; ++r) z[r] = sz != 0 && h[r] <= DREAL_MAX ? z[r] * sz : 0;
    for (int r = 0; r < k; ++r) y[r] = sz != 0 ? y[r] * sz : 0;
}

/* Turns the iterate into the caller's outputs (see docs/QP.md, statuses). */
DOPT_KFN void DFN(qp_ipm_finish)(const DFN(qp_view) *v, DFN(qp_work) *w, DFN(qp_state) *st,
                                 DREAL *x, DREAL *z, DREAL *y)
{
    int n = v->n, m = v->m, k = v->k;
    int kind = DFN(qp_finish_kind)(st->status);
    DREAL cert = kind == QP_FINISH_FARKAS      ? DFN(qp_farkas_sum)(m, k, v->h, z, v->b, y)
                 : kind == QP_FINISH_RECESSION ? DFN(la_dot)(n, v->p, x)
                                               : 0;
    DREAL sx, sz;
    DFN(qp_finish_scales)(kind, st->tau, cert, &sx, &sz);
    if (kind == QP_FINISH_SOLUTION)
        for (int r = 0; r < m; ++r) w->s[r] *= sx;
    DFN(qp_finish_outputs)(n, m, k, v->h, sx, sz, x, z, y);
}

/* ---- the solve in phases ------------------------------------------------
 * One instance's solve is
 *     qp_phase_begin;
 *     while (qp_phase_before_factor)
 *         qp_phase_after_factor(info of the central piece on the assembled L);
 *     qp_phase_end;
 * where the central piece (L += Gw'Gw, Cholesky of L: qp_factor_assembled)
 * is the only step left to the caller. qp_solve_instance (qp_batch_impl.h)
 * runs it in kernel, per instance (CPU backend, CUDA small-n path); the
 * CUDA backend's large-n path runs every phase for all running instances in
 * lock step and the central piece as batched GEMM + Cholesky. Each
 * factorization serves one purpose, the instance's stage: the start point,
 * a Newton step, or (keep_factor) the tape's factor at the solution. */

/* Clears the workspace (the tape then holds no stale values), checks the
 * data and sets up the start point's system. */
DOPT_KFN void DFN(qp_phase_begin)(const DFN(qp_view) *v, DFN(qp_work) *w, DFN(qp_state) *st, int keep_factor)
{
    size_t len = DFN(qp_work_size)(v->n, v->m, v->k);
    for (size_t e = 0; e < len; ++e) w->Qs[e] = 0; /* Qs is the workspace's base */
    st->delta = st->eps_s = 0;
    st->rtau = st->mu = 0;
    st->keep_factor = keep_factor;
    st->stage = DFN(qp_ipm_setup)(v, w, st) == DOPT_INST_RUNNING ? DOPT_QP_STAGE_START : DOPT_QP_STAGE_DONE;
}

/* Decides whether the instance needs a factorization and assembles it (L, Gw:
 * qp_assemble). Returns 1 when it does, 0 when the instance is done. At an
 * iterate this is where the residuals and the termination tests run. */
DOPT_KFN int DFN(qp_phase_before_factor)(const DFN(qp_view) *v, const DFN(qp_settings) *set, DFN(qp_work) *w,
                                         DFN(qp_state) *st, const DREAL *x, const DREAL *z, const DREAL *y)
{
    switch (st->stage) {
    case DOPT_QP_STAGE_START:
        break;
    case DOPT_QP_STAGE_ITERATE:
        if (DFN(qp_ipm_check)(v, set, w, st, x, z, y, &st->rtau, &st->mu) != DOPT_INST_RUNNING) {
            if (!(st->keep_factor && DFN(qp_status_has_solution)(st->status))) {
                st->stage = DOPT_QP_STAGE_DONE;
                return 0;
            }
            st->stage = DOPT_QP_STAGE_TAPE;
        }
        DFN(qp_set_scaling)(v, w, z);
        break;
    default:
        return 0;
    }
    DFN(qp_assemble)(v, w);
    return 1;
}

/* Given info of the central piece (0 = L factored): completes the
 * factorization, then the start point, the predictor-corrector step, or
 * nothing more (the tape's factor). */
DOPT_KFN void DFN(qp_phase_after_factor)(const DFN(qp_view) *v, const DFN(qp_settings) *set, DFN(qp_work) *w,
                                         DFN(qp_state) *st, DREAL *x, DREAL *z, DREAL *y, int info)
{
    int stage = st->stage;
    if (stage == DOPT_QP_STAGE_DONE) return;
    if (DFN(qp_factor_complete)(v, w, st, info)) {
        st->status = DOPT_INST_NUMERICAL;
        st->stage = DOPT_QP_STAGE_DONE;
        return;
    }
    if (stage == DOPT_QP_STAGE_START)
        DFN(qp_ipm_start_point)(v, set, w, st, x, z, y);
    else if (stage == DOPT_QP_STAGE_ITERATE)
        DFN(qp_ipm_step)(v, set, w, st, x, z, y, st->rtau, st->mu);
    st->stage = stage != DOPT_QP_STAGE_TAPE && st->status == DOPT_INST_RUNNING ? DOPT_QP_STAGE_ITERATE
                                                                               : DOPT_QP_STAGE_DONE;
}

/* The caller's outputs (see docs/QP.md, statuses). An instance its driver
 * left unfinished (the batched path bounds its rounds) reports the iteration
 * limit from an iterate, else a numerical failure. */
DOPT_KFN void DFN(qp_phase_end)(const DFN(qp_view) *v, DFN(qp_work) *w, DFN(qp_state) *st, DREAL *x, DREAL *z,
                                DREAL *y)
{
    if (st->stage == DOPT_QP_STAGE_ITERATE) st->status = DOPT_INST_ITERATION_LIMIT;
    else if (st->stage != DOPT_QP_STAGE_DONE) st->status = DOPT_INST_NUMERICAL;
    st->stage = DOPT_QP_STAGE_DONE;
    if (st->started) {
        DFN(qp_ipm_finish)(v, w, st, x, z, y);
        return;
    }
    /* rejected before iterating: nothing meaningful to report */
    for (int j = 0; j < v->n; ++j) x[j] = 0;
    for (int r = 0; r < v->m; ++r) z[r] = 0;
    for (int r = 0; r < v->k; ++r) y[r] = 0;
}

/* Backward: with the factorization of K at the solution, solve
 *   K [dx; dlt; dnu] = -[gx; glam; gnu]
 * (the transposed KKT Jacobian of OptNet, written in the symmetric form with
 * dlt = diag(lam) dlam, which stays well conditioned as s -> 0), refining
 * harder than the forward since the gradient is the product. */
DOPT_KFN void DFN(qp_adjoint)(const DFN(qp_view) *v, DREAL *work, int refine, const DREAL *gx,
                              const DREAL *glam, const DREAL *gnu, DREAL *dx, DREAL *dlt, DREAL *dnu)
{
    int n = v->n, m = v->m, k = v->k;
    DFN(qp_work) w = DFN(qp_work_map)(work, n, m, k);
    for (int j = 0; j < n; ++j) w.bx[j] = -gx[j];
    for (int r = 0; r < m; ++r) w.bz[r] = w.W[r] != 0 && glam ? -glam[r] : 0;
    for (int r = 0; r < k; ++r) w.by[r] = gnu ? -gnu[r] : 0;
    DFN(qp_kkt_solve)(v, &w, refine, DREAL_REFINE_STOP, w.bx, w.bz, w.by, dx, dlt, dnu);
}
