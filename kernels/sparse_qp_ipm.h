/* Per-instance interior point of the sparse QP layer, in double:
 *     minimize 1/2 x'Qx + p'x  subject to  Gx <= h,  Ax = b
 * with Q, G, A sparse (CSR, one pattern per batch). The method is the dense
 * layer's (kernels/qp_ipm_impl.h: homogeneous self-dual embedding, Mehrotra
 * predictor-corrector, the same residuals, termination tests, certificates,
 * step rule, W cap, refinement), so both layers agree on every instance both
 * can take; only the linear algebra differs. The Newton system
 *     K = [ Qs  G'    A' ]
 *         [ G  -W^-1  0  ]      (Qs = (Q + Q')/2, W = z/s)
 *         [ A   0     0  ]
 * is factored as the quasidefinite matrix
 *     Kf = [ Qs + delta I   G'        A'       ]
 *          [ G             -W_f^-1    0        ]
 *          [ A              0        -delta I  ]
 * (W_f = W capped as in the dense layer), scaled symmetrically by
 * diag(I, W_f^1/2, I) so that the z block is -I and the G block W_f^1/2 G
 * (W spans 1e-12 to 1e12 near a solution), by a sparse LDL' whose symbolic
 * analysis is done once per pattern; iterative refinement against K removes
 * the regularization. dz is kept in the system rather than eliminated into
 * Q + G'WG: one dense row of G (a covering constraint) would make G'WG dense.
 * The factorization itself is the caller's (sqp_factorizer): CHOLMOD on the
 * CPU (src/cpu/sparse_qp_cpu.c). docs/SPARSE_QP.md. */
#ifndef DOPT_SPARSE_QP_IPM_H
#define DOPT_SPARSE_QP_IPM_H

#include "dopt_kernel_common.h"
#include "qp_ipm.h" /* the dense layer's state, settings and termination tests (_d) */

/* The dense layer's float64 constants (kernels/qp_ipm.h, where they are
 * macros scoped to its instantiation): the same values, so the two layers
 * take the same steps. */
#define SQP_EPS_3_4 1.8e-12        /* eps^(3/4): the W cap */
#define SQP_REFINE_STOP (4 * DBL_EPSILON)
#define SQP_REFINE_FWD 1.5e-8      /* sqrt(eps) */
/* An LDL' factor's Newton directions and start point are refined further,
 * to eps^(2/3) (the dense layer's regularization, DREAL_REG): a base solve
 * about delta accurate passes the sqrt(eps) test unrefined at SQP_REG, which
 * leaves A dx and Q dx errors of that order in every step, while an
 * unboundedness certificate needs them below tol_inf (1e-9) relative to
 * -p'x. The refinement steps stay the caller's (settings.refine): at most
 * that many extra solves per direction, no factorization. */
#define SQP_REFINE_FWD_LDL 3.7e-11 /* eps^(2/3) */
#define SQP_STEP_FRACTION 0.99
/* Kf's static regularization when its LDL' uses AMD's unconstrained
 * ordering: larger than the dense layer's eps^(2/3) (3.7e-11), which such an
 * LDL' does not survive (pivots lose their signs: sqp_ldl_inertia_ok);
 * 1e-8 is the order sparse interior point codes use (Clarabel, OSQP). A
 * factor whose pivots still have the wrong signs is refused and delta
 * raised, as the dense layer's failed Cholesky is (sqp_factorizer). Taken
 * only where the duals-first ordering costs too much (src/cpu/
 * sparse_qp_cpu.c, SQP_DUALS_FIRST_FLOP_RATIO; docs/SPARSE_QP.md). */
#define SQP_REG 1e-8
/* The regularization of the factorizations whose pivots are definite in
 * exact arithmetic: the dual normal equations' S = C + R D^-1 R' (x
 * eliminated; Cholesky), and Kf's LDL' in the duals-first ordering (the
 * inertia check refuses the rare factor that rounding spoils). There 1e-8
 * blurred the recession directions that unboundedness certificates need: of 174 random unbounded LPs (n = 24,
 * m = 40, k = 4, half of G's rows zero) 10 ended at the iteration limit or
 * as numerical failures at 1e-8 on the normal path and none at 1e-9 to
 * 1e-11. On the duals-first LDL' 1e-10 certified every unbounded instance
 * of 2048 mixed random QPs and LPs, as the dense layer does (1e-9 left 1
 * uncertified, 1e-8 left 5 of the first 1024). */
#define SQP_REG_NORMAL 1e-10

/* One instance's data and where each value goes in Kf's upper triangle
 * (CSC, columns x | z | y, the same for every instance: see
 * src/layers/sparse_qp_internal.h). */
typedef struct {
    int n, m, k;
    const int64_t *Qp; const int32_t *Qi; const double *Qv; /* Qv NULL: an LP */
    const double *p;
    const int64_t *Gp; const int32_t *Gi; const double *Gv;
    const double *h;
    const int64_t *Ap; const int32_t *Ai; const double *Av;
    const double *b;
    const int64_t *Kp;   /* Kf's column pointers (N + 1) */
    const int64_t *kq;   /* Q entry e -> its position in Kf (upper triangle) */
    const int64_t *kdiag; /* x-block diagonal positions (n) */
} sqp_view;

/* The numeric factorization, supplied by the backend. factor: Kf from its
 * values (Kp's layout); 0 on success. Kf is quasidefinite, so its LDL' has
 * the n variables' pivots positive and the rest negative in exact
 * arithmetic; a factor without that inertia is refused (nonzero), and
 * sqp_factor raises delta, as the dense layer does when its Cholesky fails
 * (sqp_ldl_inertia_ok says why). factor also sets refine_fwd for the factor
 * it made. solve: b <- Kf^-1 b (length N). */
typedef struct sqp_factorizer {
    int (*factor)(struct sqp_factorizer *f, const double *kval);
    void (*solve)(struct sqp_factorizer *f, double *b);
    double reg; /* Kf's static regularization before the (1 + max |Q_ii|) scale: SQP_REG (AMD's ordering),
                   or SQP_REG_NORMAL (duals first: the normal path, or the duals-first LDL') */
    double refine_fwd; /* the relative residual Newton directions are refined to with the current
                          factor: SQP_REFINE_FWD_LDL (LDL' of Kf) or SQP_REFINE_FWD (0: that) */
} sqp_factorizer;

/* The forward refinement's stop for the current factor. */
DOPT_KFN double sqp_refine_fwd(const sqp_factorizer *f)
{
    return f->refine_fwd > 0 ? f->refine_fwd : SQP_REFINE_FWD;
}

/* The instance's scalars: the dense layer's (qp_state_d; eps_s, stage and
 * keep_factor unused here). The settings are qp_settings_d. */
typedef qp_state_d sqp_state;
typedef qp_settings_d sqp_settings;

/* Workspace of one instance (doubles, sqp_work_size of them). */
typedef struct {
    double *kval;               /* Kf's values */
    double *s, *W, *Winv, *g2;  /* m each; g2 = |G_r|^2 */
    double *rx, *Qx, *Gz, *Ay;  /* n */
    double *rz, *ry;            /* m, k */
    double *d, *v, *rhs, *e, *c; /* N each: stacked [x; z; y] */
    double *ds;                 /* m */
    double *tn, *tq;            /* n */
} sqp_work;

DOPT_KFN size_t sqp_work_size(int n, int m, int k, int64_t nnzK)
{
    size_t N = (size_t)n + m + k;
    return (size_t)nnzK + 5 * (size_t)m + 6 * (size_t)n + (size_t)k + 5 * N;
}

DOPT_KFN sqp_work sqp_work_map(double *c, int n, int m, int k, int64_t nnzK)
{
    size_t N = (size_t)n + m + k;
    sqp_work w;
    w.kval = c; c += nnzK;
    w.s = c; c += m;
    w.W = c; c += m;
    w.Winv = c; c += m;
    w.g2 = c; c += m;
    w.rx = c; c += n;
    w.Qx = c; c += n;
    w.Gz = c; c += n;
    w.Ay = c; c += n;
    w.rz = c; c += m;
    w.ry = c; c += k;
    w.d = c; c += N;
    w.v = c; c += N;
    w.rhs = c; c += N;
    w.e = c; c += N;
    w.c = c; c += N;
    w.ds = c; c += m;
    w.tn = c; c += n;
    w.tq = c; c += n;
    return w;
}

DOPT_KFN int sqp_row_on(const sqp_view *v, int r) { return v->h[r] <= DBL_MAX; }

DOPT_KFN int sqp_finite(int64_t len, const double *x)
{
    for (int64_t i = 0; i < len; ++i)
        if (!(fabs(x[i]) <= DBL_MAX)) return 0;
    return 1;
}

/* The dense layer's data check (qp_check_data) on the values. */
DOPT_KFN int sqp_check_data(const sqp_view *v)
{
    if (v->Qv && !sqp_finite(v->Qp[v->n], v->Qv)) return DOPT_INST_INVALID;
    if (!sqp_finite(v->n, v->p)) return DOPT_INST_INVALID;
    if (v->m && !sqp_finite(v->Gp[v->m], v->Gv)) return DOPT_INST_INVALID;
    if (v->k && !sqp_finite(v->Ap[v->k], v->Av)) return DOPT_INST_INVALID;
    if (!sqp_finite(v->k, v->b)) return DOPT_INST_INVALID;
    for (int r = 0; r < v->m; ++r) {
        double hr = v->h[r];
        if (hr != hr || hr < -DBL_MAX) return DOPT_INST_INVALID;
    }
    return DOPT_INST_RUNNING;
}

/* ---- sparse products (fixed order: bitwise reproducible) ---- */

/* y = Qs x, Qs = (Q + Q')/2 from the entries as given. */
DOPT_KFN void sqp_qmul(const sqp_view *v, const double *x, double *y)
{
    for (int j = 0; j < v->n; ++j) y[j] = 0;
    if (!v->Qv) return;
    for (int i = 0; i < v->n; ++i)
        for (int64_t e = v->Qp[i]; e < v->Qp[i + 1]; ++e) {
            int j = v->Qi[e];
            double q = 0.5 * v->Qv[e];
            y[i] += q * x[j];
            y[j] += q * x[i];
        }
}

DOPT_KFN double sqp_row_dot(const int64_t *Rp, const int32_t *Ri, const double *Rv, int r, const double *x)
{
    double acc = 0;
    for (int64_t e = Rp[r]; e < Rp[r + 1]; ++e) acc += Rv[e] * x[Ri[e]];
    return acc;
}

/* y += R' z over the rows of R (rows with z_r = 0 add nothing). */
DOPT_KFN void sqp_tmul_add(int rows, const int64_t *Rp, const int32_t *Ri, const double *Rv, const double *z,
                           double *y)
{
    for (int r = 0; r < rows; ++r) {
        double zr = z[r];
        if (zr == 0) continue;
        for (int64_t e = Rp[r]; e < Rp[r + 1]; ++e) y[Ri[e]] += Rv[e] * zr;
    }
}

DOPT_KFN double sqp_dot(int64_t n, const double *x, const double *y)
{
    double acc = 0;
    for (int64_t i = 0; i < n; ++i) acc += x[i] * y[i];
    return acc;
}

DOPT_KFN double sqp_qdiag(const sqp_view *v)
{
    double qd = 0;
    if (!v->Qv) return 0;
    for (int i = 0; i < v->n; ++i)
        for (int64_t e = v->Qp[i]; e < v->Qp[i + 1]; ++e)
            if (v->Qi[e] == i && fabs(v->Qv[e]) > qd) qd = fabs(v->Qv[e]);
    return qd;
}

/* ---- the factorization of Kf ---- */

/* The scaled Kf's values at regularization delta and the current W: row r
 * of G times W_f,r^1/2 and -1 on the z diagonal (rows that are off get a
 * zero row and -1, so their dz is 0); sqp_base_solve undoes the scaling. */
DOPT_KFN void sqp_fill_kf(const sqp_view *v, sqp_work *w, double delta, int64_t nnzK)
{
    int n = v->n, m = v->m, k = v->k;
    for (int64_t q = 0; q < nnzK; ++q) w->kval[q] = 0;
    if (v->Qv)
        for (int i = 0; i < n; ++i)
            for (int64_t e = v->Qp[i]; e < v->Qp[i + 1]; ++e)
                w->kval[v->kq[e]] += (v->Qi[e] == i ? 1.0 : 0.5) * v->Qv[e];
    for (int j = 0; j < n; ++j) w->kval[v->kdiag[j]] += delta;
    for (int r = 0; r < m; ++r) {
        int64_t col = v->Kp[n + r];
        int on = w->W[r] != 0;
        double sw = on ? sqrt(w->W[r]) : 0;
        for (int64_t e = v->Gp[r]; e < v->Gp[r + 1]; ++e) w->kval[col + (e - v->Gp[r])] = sw * v->Gv[e];
        w->kval[v->Kp[n + r + 1] - 1] = -1;
    }
    for (int r = 0; r < k; ++r) {
        int64_t col = v->Kp[n + m + r];
        for (int64_t e = v->Ap[r]; e < v->Ap[r + 1]; ++e) w->kval[col + (e - v->Ap[r])] = v->Av[e];
        w->kval[v->Kp[n + m + r + 1] - 1] = -delta;
    }
}

/* Factors Kf, raising delta 100-fold per failure as the dense layer does
 * (qp_factor_retry). Returns 0 or nonzero. */
DOPT_KFN int sqp_factor(const sqp_view *v, sqp_work *w, sqp_state *st, sqp_factorizer *f, int64_t nnzK)
{
    double delta = (f->reg > 0 ? f->reg : SQP_REG) * (1 + sqp_qdiag(v));
    for (int attempt = 0; attempt < 8; ++attempt, delta *= 100) {
        sqp_fill_kf(v, w, delta, nnzK);
        if (f->factor(f, w->kval) == 0) {
            st->delta = delta;
            return 0;
        }
    }
    return 1;
}

/* W = z/s capped as in qp_set_scaling, W^-1 = s/z (rows that are off: 0). */
DOPT_KFN void sqp_set_scaling(const sqp_view *v, sqp_work *w, const double *z)
{
    double cap = (1 + sqp_qdiag(v)) / SQP_EPS_3_4;
    for (int r = 0; r < v->m; ++r) {
        if (sqp_row_on(v, r)) {
            double g2 = w->g2[r], wr = z[r] / w->s[r];
            w->W[r] = g2 > 0 && wr * g2 > cap ? cap / g2 : wr;
            w->Winv[r] = w->s[r] / z[r];
        } else {
            w->W[r] = 0;
            w->Winv[r] = 0;
        }
    }
}

/* d = Kf^-1 b (stacked) through the scaled factor, S Kf S = LDL' with
 * S = diag(I, W^1/2, I): d = S (S Kf S)^-1 S b; rows that are off get 0. */
DOPT_KFN void sqp_base_solve(const sqp_view *v, const sqp_work *w, sqp_factorizer *f, const double *b, double *d)
{
    int n = v->n, m = v->m, N = v->n + v->m + v->k;
    for (int q = 0; q < N; ++q) d[q] = b[q];
    for (int r = 0; r < m; ++r) d[n + r] = w->W[r] != 0 ? sqrt(w->W[r]) * d[n + r] : 0;
    f->solve(f, d);
    for (int r = 0; r < m; ++r) d[n + r] = w->W[r] != 0 ? sqrt(w->W[r]) * d[n + r] : 0;
}

/* e = b - K d with the true K; returns max|e| / max|b| (qp_kkt_residual). */
DOPT_KFN double sqp_kkt_residual(const sqp_view *v, sqp_work *w, const double *b, const double *d)
{
    int n = v->n, m = v->m, k = v->k;
    double *e = w->e, en = 0, bn = 0;
    sqp_qmul(v, d, e);
    sqp_tmul_add(m, v->Gp, v->Gi, v->Gv, d + n, e);
    sqp_tmul_add(k, v->Ap, v->Ai, v->Av, d + n + m, e);
    for (int j = 0; j < n; ++j) {
        e[j] = b[j] - e[j];
        if (fabs(e[j]) > en) en = fabs(e[j]);
        if (fabs(b[j]) > bn) bn = fabs(b[j]);
    }
    for (int r = 0; r < m; ++r) {
        double *er = e + n + r;
        if (w->W[r] == 0) { *er = 0; continue; }
        *er = b[n + r] - (sqp_row_dot(v->Gp, v->Gi, v->Gv, r, d) - w->Winv[r] * d[n + r]);
        if (fabs(*er) > en) en = fabs(*er);
        if (fabs(b[n + r]) > bn) bn = fabs(b[n + r]);
    }
    for (int r = 0; r < k; ++r) {
        double *er = e + n + m + r;
        *er = b[n + m + r] - sqp_row_dot(v->Ap, v->Ai, v->Av, r, d);
        if (fabs(*er) > en) en = fabs(*er);
        if (fabs(b[n + m + r]) > bn) bn = fabs(b[n + m + r]);
    }
    if (en != en) return en;
    return bn > 0 ? en / bn : en;
}

/* K d = b with refinement against K until the relative residual is below
 * stop (qp_kkt_solve). b must not alias d. */
DOPT_KFN void sqp_kkt_solve(const sqp_view *v, sqp_work *w, sqp_factorizer *f, int refine, double stop,
                            const double *b, double *d)
{
    int N = v->n + v->m + v->k;
    sqp_base_solve(v, w, f, b, d);
    double prev = DBL_MAX;
    for (int it = 0; it < refine; ++it) {
        double rel = sqp_kkt_residual(v, w, b, d);
        if (!(rel > stop) || !(rel < 0.5 * prev)) break;
        prev = rel;
        sqp_base_solve(v, w, f, w->e, w->c);
        for (int q = 0; q < N; ++q) d[q] += w->c[q];
    }
}

/* ---- the interior point (qp_ipm_impl.h's steps on sparse data) ---- */

/* Checks the data, sets W = I and the start point's right-hand side in rhs.
 * Q's positive semidefiniteness is the caller's test (it needs its own
 * factorization). */
DOPT_KFN int sqp_setup(const sqp_view *v, sqp_work *w, sqp_state *st)
{
    int n = v->n, m = v->m, k = v->k;
    st->iter = 0;
    st->started = 0;
    st->merit = st->best_merit = DBL_MAX;
    st->stall = 0;
    st->tau_fixed = 0; /* float64: the full embedding throughout */
    st->eps_s = 0;
    st->stage = 0;
    st->keep_factor = 0;
    st->tau = 1;
    st->kappa = 1;
    st->delta = st->rtau = st->mu = 0;
    st->status = sqp_check_data(v);
    if (st->status != DOPT_INST_RUNNING) return st->status;
    for (int r = 0; r < m; ++r) {
        int on = sqp_row_on(v, r);
        double g2 = 0;
        for (int64_t e = v->Gp[r]; e < v->Gp[r + 1]; ++e) g2 += v->Gv[e] * v->Gv[e];
        w->g2[r] = g2;
        w->s[r] = 1;
        w->W[r] = on ? 1 : 0;
        w->Winv[r] = on ? 1 : 0;
        w->rhs[n + r] = on ? v->h[r] : 0;
    }
    for (int j = 0; j < n; ++j) w->rhs[j] = -v->p[j];
    for (int r = 0; r < k; ++r) w->rhs[n + m + r] = v->b[r];
    return st->status;
}

/* With Kf factored at W = I: the start point (qp_ipm_start_point). */
DOPT_KFN int sqp_start_point(const sqp_view *v, const sqp_settings *o, sqp_work *w, sqp_state *st,
                             sqp_factorizer *f, double *x, double *z, double *y)
{
    int n = v->n, m = v->m, k = v->k;
    sqp_kkt_solve(v, w, f, o->refine, sqp_refine_fwd(f), w->rhs, w->d);
    for (int j = 0; j < n; ++j) x[j] = w->d[j];
    for (int r = 0; r < m; ++r) z[r] = w->d[n + r];
    for (int r = 0; r < k; ++r) y[r] = w->d[n + m + r];
    double smin = DBL_MAX, zmin = DBL_MAX;
    for (int r = 0; r < m; ++r) {
        if (!sqp_row_on(v, r)) { w->s[r] = 1; z[r] = 0; continue; }
        w->s[r] = -z[r];
        if (w->s[r] < smin) smin = w->s[r];
        if (z[r] < zmin) zmin = z[r];
    }
    for (int r = 0; r < m; ++r) {
        if (!sqp_row_on(v, r)) continue;
        if (smin < 1) w->s[r] += 1 - smin;
        if (zmin < 1) z[r] += 1 - zmin;
    }
    if (!sqp_finite(n, x) || !sqp_finite(k, y)) return st->status = DOPT_INST_NUMERICAL;
    st->started = 1;
    return st->status = DOPT_INST_RUNNING;
}

/* Residuals (qp_ipm_check's float64 branch on CSR data), then the dense
 * layer's own termination tests (qp_check_tests_d). */
DOPT_KFN int sqp_check(const sqp_view *v, const sqp_settings *o, sqp_work *w, sqp_state *st, const double *x,
                       const double *z, const double *y)
{
    int n = v->n, m = v->m, k = v->k;
    double tau = st->tau;
    sqp_qmul(v, x, w->Qx);
    for (int j = 0; j < n; ++j) { w->Gz[j] = 0; w->Ay[j] = 0; }
    sqp_tmul_add(m, v->Gp, v->Gi, v->Gv, z, w->Gz);
    sqp_tmul_add(k, v->Ap, v->Ai, v->Av, y, w->Ay);
    for (int j = 0; j < n; ++j) w->rx[j] = w->Qx[j] + w->Gz[j] + w->Ay[j] + v->p[j] * tau;
    qp_norms_d q;
    qp_norms_clear_d(&q);
    qp_norms_x_rows_d(&q, n, w->Qx, w->Gz, w->Ay, v->p, w->rx);
    for (int r = 0; r < m; ++r) {
        if (!sqp_row_on(v, r)) { w->rz[r] = 0; continue; }
        double gx = sqp_row_dot(v->Gp, v->Gi, v->Gv, r, x);
        w->rz[r] = gx + w->s[r] - v->h[r] * tau;
        qp_norms_ineq_row_d(&q, gx, w->rz[r], w->s[r], v->h[r], z[r]);
    }
    for (int r = 0; r < k; ++r) {
        double ax = sqp_row_dot(v->Ap, v->Ai, v->Av, r, x);
        w->ry[r] = ax - v->b[r] * tau;
        qp_norms_eq_row_d(&q, ax, w->ry[r], v->b[r], y[r]);
    }
    q.xQx = sqp_dot(n, x, w->Qx);
    q.px = sqp_dot(n, v->p, x);
    return qp_check_tests_d(o, st, &q, &st->rtau, &st->mu);
}

/* (p + 2Qx/tau)'dx + h'dz + b'dy over the stacked d (qp_tau_row). */
DOPT_KFN double sqp_tau_row(const sqp_view *v, const sqp_work *w, double tau, const double *d)
{
    int n = v->n, m = v->m, k = v->k;
    double acc = 0;
    for (int j = 0; j < n; ++j) acc += (v->p[j] + 2 * w->Qx[j] / tau) * d[j];
    for (int r = 0; r < m; ++r)
        if (w->W[r] != 0) acc += v->h[r] * d[n + r];
    for (int r = 0; r < k; ++r) acc += v->b[r] * d[n + m + r];
    return acc;
}

DOPT_KFN double sqp_max_step(const sqp_view *v, const sqp_work *w, const double *z, const sqp_state *st,
                             double dtau, double dkappa)
{
    int n = v->n;
    double a = 2;
    for (int r = 0; r < v->m; ++r) {
        if (w->W[r] == 0) continue;
        double dz = w->d[n + r];
        if (w->ds[r] < 0 && -w->s[r] / w->ds[r] < a) a = -w->s[r] / w->ds[r];
        if (dz < 0 && -z[r] / dz < a) a = -z[r] / dz;
    }
    if (dtau < 0 && -st->tau / dtau < a) a = -st->tau / dtau;
    if (dkappa < 0 && -st->kappa / dkappa < a) a = -st->kappa / dkappa;
    return a;
}

/* One Mehrotra direction from w->rhs into w->d, with the tau direction
 * folded in (qp_direction, float64: tau is never held). */
DOPT_KFN double sqp_direction(const sqp_view *v, int refine, sqp_work *w, sqp_factorizer *f, const sqp_state *st,
                              double rhs_tau, double den)
{
    int N = v->n + v->m + v->k;
    sqp_kkt_solve(v, w, f, refine, sqp_refine_fwd(f), w->rhs, w->d);
    double t = (rhs_tau - sqp_tau_row(v, w, st->tau, w->d)) / den;
    for (int q = 0; q < N; ++q) w->d[q] += t * w->v[q];
    return t;
}

/* One predictor-corrector step (qp_ipm_step). */
DOPT_KFN int sqp_step(const sqp_view *v, const sqp_settings *o, sqp_work *w, sqp_state *st,
                      sqp_factorizer *f, double *x, double *z, double *y)
{
    int n = v->n, m = v->m, k = v->k;
    double tau = st->tau, kappa = st->kappa, rtau = st->rtau, mu = st->mu;
    int mact = 0;
    double *dx = w->d, *dz = w->d + n, *dy = w->d + n + m;
    for (int j = 0; j < n; ++j) w->rhs[j] = -v->p[j];
    for (int r = 0; r < m; ++r) {
        int on = w->W[r] != 0;
        mact += on;
        w->rhs[n + r] = on ? v->h[r] : 0;
    }
    for (int r = 0; r < k; ++r) w->rhs[n + m + r] = v->b[r];
    sqp_kkt_solve(v, w, f, o->refine > 3 ? o->refine : 3, SQP_REFINE_STOP, w->rhs, w->v);
    for (int j = 0; j < n; ++j) w->tn[j] = w->v[j] - x[j] / tau;
    sqp_qmul(v, w->tn, w->tq);
    double den = -sqp_dot(n, w->tn, w->tq) - kappa / tau;
    for (int r = 0; r < m; ++r)
        if (w->W[r] != 0) den -= w->v[n + r] * w->v[n + r] * w->Winv[r];

    /* predictor */
    for (int j = 0; j < n; ++j) w->rhs[j] = -w->rx[j];
    for (int r = 0; r < m; ++r) w->rhs[n + r] = w->W[r] != 0 ? -w->rz[r] + w->s[r] : 0;
    for (int r = 0; r < k; ++r) w->rhs[n + m + r] = -w->ry[r];
    double dtau = sqp_direction(v, 0, w, f, st, -rtau + kappa, den);
    for (int r = 0; r < m; ++r) w->ds[r] = w->W[r] != 0 ? -w->s[r] - w->Winv[r] * dz[r] : 0;
    double dkappa = -kappa - kappa * dtau / tau;
    for (int j = 0; j < n; ++j) w->tn[j] = dx[j] - x[j] * dtau / tau;
    sqp_qmul(v, w->tn, w->tq);
    double tau_second_order = sqp_dot(n, w->tn, w->tq) / tau;
    double a = sqp_max_step(v, w, z, st, dtau, dkappa);
    if (a > 1) a = 1;
    double mu_aff = (tau + a * dtau) * (kappa + a * dkappa);
    for (int r = 0; r < m; ++r)
        if (w->W[r] != 0) mu_aff += (w->s[r] + a * w->ds[r]) * (z[r] + a * dz[r]);
    mu_aff /= (double)(mact + 1);
    double eta, smu;
    qp_centering_d(mu_aff, mu, &eta, &smu);

    /* corrector */
    for (int j = 0; j < n; ++j) w->rhs[j] = -eta * w->rx[j];
    for (int r = 0; r < m; ++r)
        w->rhs[n + r] = w->W[r] != 0 ? -eta * w->rz[r] + (w->s[r] * z[r] + w->ds[r] * dz[r] - smu) / z[r] : 0;
    for (int r = 0; r < k; ++r) w->rhs[n + m + r] = -eta * w->ry[r];
    double rkappa = tau * kappa + dtau * dkappa - smu;
    dtau = sqp_direction(v, o->refine, w, f, st, -eta * rtau + rkappa / tau - tau_second_order, den);
    for (int r = 0; r < m; ++r)
        w->ds[r] = w->W[r] != 0 ? -(w->rhs[n + r] + eta * w->rz[r]) - w->Winv[r] * dz[r] : 0;
    dkappa = -(rkappa + kappa * dtau) / tau;
    a = sqp_max_step(v, w, z, st, dtau, dkappa);
    a *= SQP_STEP_FRACTION;
    if (a > 1) a = 1;
    if (!(a > 0)) return st->status = DOPT_INST_NUMERICAL;
    for (int j = 0; j < n; ++j) x[j] += a * dx[j];
    for (int r = 0; r < k; ++r) y[r] += a * dy[r];
    for (int r = 0; r < m; ++r) {
        if (w->W[r] == 0) continue;
        w->s[r] += a * w->ds[r];
        z[r] += a * dz[r];
    }
    st->tau = tau + a * dtau;
    st->kappa = kappa + a * dkappa;
    st->iter += 1;
    return st->status;
}

/* The caller's outputs: the dense layer's per-status pieces (qp_ipm_impl.h,
 * qp_finish_*), with this layer's own sums. */
DOPT_KFN void sqp_finish(const sqp_view *v, sqp_work *w, sqp_state *st, double *x, double *z, double *y)
{
    int n = v->n, m = v->m, k = v->k;
    if (!st->started) {
        for (int j = 0; j < n; ++j) x[j] = 0;
        for (int r = 0; r < m; ++r) z[r] = 0;
        for (int r = 0; r < k; ++r) y[r] = 0;
        return;
    }
    int kind = qp_finish_kind_d(st->status);
    double cert = kind == QP_FINISH_FARKAS      ? qp_farkas_sum_d(m, k, v->h, z, v->b, y)
                  : kind == QP_FINISH_RECESSION ? sqp_dot(n, v->p, x)
                                                : 0;
    double sx, sz;
    qp_finish_scales_d(kind, st->tau, cert, &sx, &sz);
    if (kind == QP_FINISH_SOLUTION)
        for (int r = 0; r < m; ++r) w->s[r] *= sx;
    qp_finish_outputs_d(n, m, k, v->h, sx, sz, x, z, y);
}

DOPT_KFN int sqp_has_solution(int status) { return qp_status_has_solution_d(status); }

/* One instance's whole solve. psd_ok: the caller's verdict on Q (0 = not
 * positive semidefinite: status DOPT_INST_INVALID, as in the dense layer).
 * keep: refactor at the solution for the backward (the factorizer then
 * holds that factor, and w->W, w->Winv hold its scaling). */
DOPT_KFN void sqp_solve_instance(const sqp_view *v, const sqp_settings *o, sqp_work *w, sqp_state *st,
                                 sqp_factorizer *f, int64_t nnzK, int psd_ok, int keep, double *x, double *z,
                                 double *y)
{
    if (sqp_setup(v, w, st) == DOPT_INST_RUNNING && !psd_ok) st->status = DOPT_INST_INVALID;
    if (st->status == DOPT_INST_RUNNING) {
        if (sqp_factor(v, w, st, f, nnzK)) st->status = DOPT_INST_NUMERICAL;
        else sqp_start_point(v, o, w, st, f, x, z, y);
    }
    while (st->status == DOPT_INST_RUNNING) {
        if (sqp_check(v, o, w, st, x, z, y) != DOPT_INST_RUNNING) {
            if (keep && sqp_has_solution(st->status)) {
                sqp_set_scaling(v, w, z);
                if (sqp_factor(v, w, st, f, nnzK)) st->status = DOPT_INST_NUMERICAL;
            }
            break;
        }
        sqp_set_scaling(v, w, z);
        if (sqp_factor(v, w, st, f, nnzK)) {
            st->status = DOPT_INST_NUMERICAL;
            break;
        }
        sqp_step(v, o, w, st, f, x, z, y);
    }
    sqp_finish(v, w, st, x, z, y);
}

/* Adjoint: K [dx; dlt; dnu] = -[gx; glam; gnu] with the factor at the
 * solution (qp_adjoint), into w->d. */
DOPT_KFN void sqp_adjoint(const sqp_view *v, sqp_work *w, sqp_factorizer *f, int refine, const double *gx,
                          const double *glam, const double *gnu)
{
    int n = v->n, m = v->m, k = v->k;
    for (int j = 0; j < n; ++j) w->rhs[j] = -gx[j];
    for (int r = 0; r < m; ++r) w->rhs[n + r] = w->W[r] != 0 && glam ? -glam[r] : 0;
    for (int r = 0; r < k; ++r) w->rhs[n + m + r] = gnu ? -gnu[r] : 0;
    sqp_kkt_solve(v, w, f, refine, SQP_REFINE_STOP, w->rhs, w->d);
}

#endif
