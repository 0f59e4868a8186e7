/* Backward rules of the ILP layer, per instance, in float64 (docs/ILP.md).
 * Each writes the instance's [dA (m x n) | db (m) | dc (n)] into a float64
 * row of G; a second pass (ilp_reduce_elem) converts to the caller's dtype
 * and sums shared parameters over the batch in instance order, so results
 * do not depend on the thread count.
 *
 * CombOptNet (Paulus et al. 2021), as the paper states it:
 *  - project y - dy onto the box (eq. 12): dy' = y - clamp(y - dy, l, u);
 *  - order |dy'| decreasing (ties: lower index), Delta_k = sum_{j<=k}
 *    sign(dy'_{k_j}) e_{k_j} (eq. 9), lambda_k = |dy'_{k_k}| - |dy'_{k_{k+1}}|
 *    (Prop. 1), targets y'_k = y - Delta_k;
 *  - mismatch (eq. 5) with dist_j(x) = |a_j'x - b_j| / |a_j|: for a feasible
 *    target the soft-min (eq. 11, temperature tau; tau = 0 the hard min) of
 *    dist_j(y); for an infeasible one the sum of dist_j(y'_k) over violated
 *    rows; 0 for a target outside the box;
 *  - cost rule (eq. 7): c'(y'_k - y) for feasible targets;
 *  - dA, db, dc = sum_k lambda_k dP_k (eq. 6): a sum, not the authors' mean.
 * An instance without a solution gets zeros (its y is undefined). */
#ifndef DOPT_ILP_GRAD_H
#define DOPT_ILP_GRAD_H

#include "ilp_solver.h"

enum { ILP_GRAD_COMBOPT = 0, ILP_GRAD_DBB = 1, ILP_GRAD_PERTURBED = 2, ILP_GRAD_IDENTITY = 3, ILP_GRAD_SPO = 4 };

typedef struct {
    int method;
    double tau, lambda, eps;
    int32_t samples;
    uint64_t seed;
    const void *y, *dy; /* forward solution and dL/dy (batch, n) */
    int8_t dt_y, dt_dy;
    const int32_t *status; /* forward status (batch) */
    const double *ys;      /* extra solves: DBB (batch, n), perturbed (batch * K, n), SPO+ (batch, n);
                              ragged: the same with instance i's K samples at K * off_n(i) */
    const int32_t *ys_status; /* DBB: the extra solve's status; SPO+: y*(c)'s (batch), or NULL */
    const void *ytrue;     /* SPO+: y*(c_true) (batch, n) */
    int8_t dt_ytrue;
    double *G;             /* (batch, m n + m + n); ragged: row i at off_g(i) */
    double *loss;          /* SPO+ loss (batch), float64 */
    double *y_eps;         /* perturbed: E[y] (batch, n), float64, optional */
} ilp_grad_args;

DOPT_KFN size_t ilp_grad_row(int n, int m) { return (size_t)m * n + (size_t)m + (size_t)n; }

/* Mismatch P of target yk (eq. 5, soft-min eq. 11) and, with weight lam,
 * lam * dP/dA and lam * dP/db added to dA, db (either may be NULL). `viol`
 * receives whether yk violates a row (strictly: a_j'yk > b_j). Rows with
 * a_j = 0 have no distance and are skipped. work: m doubles. */
DOPT_KFN double ilp_mismatch(int n, int m, const double *A, const double *b, const double *y, const double *yk,
                             double tau, double lam, double *dA, double *db, int *viol, double *work)
{
    int infeasible = 0;
    for (int i = 0; i < m; ++i) {
        const double *a = A + (size_t)i * n;
        double s = -b[i];
        for (int j = 0; j < n; ++j) s += a[j] * yk[j];
        if (s > 0) infeasible = 1;
    }
    *viol = infeasible;
    double P = 0;
    if (infeasible) {
        /* sum over violated rows of (a'yk - b)/|a| */
        for (int i = 0; i < m; ++i) {
            const double *a = A + (size_t)i * n;
            double s = -b[i], nn = 0;
            for (int j = 0; j < n; ++j) s += a[j] * yk[j], nn += a[j] * a[j];
            if (!(s > 0) || nn == 0) continue;
            double na = sqrt(nn);
            P += s / na;
            if (dA)
                for (int j = 0; j < n; ++j) dA[(size_t)i * n + j] += lam * (yk[j] / na - s * a[j] / (na * nn));
            if (db) db[i] += lam * (-1.0 / na);
        }
        return P;
    }
    /* soft-min over rows of dist_j(y); y is feasible, so a'y - b <= 0 and
     * d|a'y - b|/d(a, b) = -(y, -1): the one-sided derivative from the
     * feasible side, also at a tight row */
    double dmin = INFINITY;
    int any = 0;
    for (int i = 0; i < m; ++i) {
        const double *a = A + (size_t)i * n;
        double s = -b[i], nn = 0;
        for (int j = 0; j < n; ++j) s += a[j] * y[j], nn += a[j] * a[j];
        work[i] = nn > 0 ? fabs(s) / sqrt(nn) : INFINITY;
        if (nn > 0) any = 1;
        if (work[i] < dmin) dmin = work[i];
    }
    if (!any) return 0;
    double Z = 0;
    int first = -1;
    for (int i = 0; i < m; ++i) {
        if (work[i] == INFINITY) continue;
        if (tau > 0)
            Z += exp(-(work[i] - dmin) / tau);
        else if (first < 0 && work[i] == dmin)
            first = i;
    }
    P = tau > 0 ? dmin - tau * log(Z) : dmin;
    for (int i = 0; i < m; ++i) {
        if (work[i] == INFINITY) continue;
        double wgt = tau > 0 ? exp(-(work[i] - dmin) / tau) / Z : (i == first ? 1.0 : 0.0);
        if (wgt == 0) continue;
        const double *a = A + (size_t)i * n;
        double s = -b[i], nn = 0;
        for (int j = 0; j < n; ++j) s += a[j] * y[j], nn += a[j] * a[j];
        double na = sqrt(nn), as = fabs(s);
        if (dA)
            for (int j = 0; j < n; ++j) dA[(size_t)i * n + j] += lam * wgt * (-y[j] / na - as * a[j] / (na * nn));
        if (db) db[i] += lam * wgt * (1.0 / na);
    }
    return P;
}

/* The Delta basis of eq. (9) for a projected gradient g: order sorts |g|
 * decreasing (stable: ties keep the lower index first) and lam[k] =
 * |g_{order k}| - |g_{order k+1}| (Proposition 1), so that
 * sum_k lam[k] Delta_k = g with Delta_k = sum_{j<=k} sign(g_{order j}) e_{order j}. */
DOPT_KFN void ilp_delta_basis(int n, const double *g, int *order, double *lam)
{
    for (int j = 0; j < n; ++j) order[j] = j;
    for (int j = 1; j < n; ++j) {
        int t = order[j], k = j;
        while (k > 0 && fabs(g[order[k - 1]]) < fabs(g[t])) order[k] = order[k - 1], --k;
        order[k] = t;
    }
    for (int k = 0; k < n; ++k) lam[k] = fabs(g[order[k]]) - (k + 1 < n ? fabs(g[order[k + 1]]) : 0.0);
}

/* The CombOptNet backward of one instance. work: 4n + m doubles + n ints. */
DOPT_KFN void ilp_combopt(int n, int m, const double *A, const double *b, const double *L, const double *U,
                          const double *y, const double *dy, double tau, double *dA, double *db, double *dc,
                          double *work, int *order)
{
    double *g = work, *yk = work + n, *lam = work + 2 * n, *rows = work + 3 * n;
    for (int j = 0; j < n; ++j) {
        double target = fmin(fmax(y[j] - dy[j], L[j]), U[j]);
        g[j] = y[j] - target; /* projected dy (eq. 12-13) */
        yk[j] = y[j];
    }
    ilp_delta_basis(n, g, order, lam);
    for (int k = 0; k < n; ++k) {
        double gk = g[order[k]];
        if (gk == 0) break;
        yk[order[k]] -= gk > 0 ? 1.0 : -1.0; /* y'_k = y - Delta_k */
        if (lam[k] == 0) continue;
        int inside = 1;
        for (int j = 0; j < n; ++j)
            if (yk[j] < L[j] || yk[j] > U[j]) inside = 0;
        if (!inside) continue;
        int viol = 0;
        ilp_mismatch(n, m, A, b, y, yk, tau, lam[k], dA, db, &viol, rows);
        if (!viol)
            for (int j = 0; j < n; ++j) dc[j] += lam[k] * (yk[j] - y[j]); /* eq. 7 */
    }
}

/* Reads instance i's A, b and integer box (float64) into A (mn), b (m), L (n), U (n). */
DOPT_KFN void ilp_read_data(const ilp_view *v, int64_t i, double *A, double *b, double *L, double *U)
{
    int n = ilp_n_of(v, i), m = ilp_m_of(v, i);
    int64_t oa = ilp_off(v, ILP_SHARE_A, i, ILP_OFF_MN), ob = ilp_off(v, ILP_SHARE_B, i, ILP_OFF_M);
    for (int k = 0; k < m * n; ++k) A[k] = ilp_ld(v->A, v->dt_A, oa + k);
    for (int k = 0; k < m; ++k) {
        b[k] = ilp_ld(v->b, v->dt_b, ob + k);
        if (ilp_row_absent(b[k])) { /* a zero row has no distance: no mismatch, zero gradient */
            b[k] = 0;
            for (int j = 0; j < n; ++j) A[(size_t)k * n + j] = 0;
        }
    }
    for (int j = 0; j < n; ++j) ilp_int_bounds(v, i, j, &L[j], &U[j]);
}

DOPT_KFN size_t ilp_grad_work(int n, int m) { return (size_t)m * n + 2 * (size_t)m + 10 * (size_t)n + 64; }

/* Gradient row of instance i for the method in ga (work: ilp_grad_work
 * doubles plus n ints). A NaN or Inf anywhere in the instance's dy makes its
 * whole row (dA, db, dc) NaN, for every method and whatever the status:
 * a non-finite incoming gradient must not vanish (CombOptNet's box
 * projection and DBB's extra solve would otherwise turn it into finite
 * numbers). The perturbed method's y_eps does not depend on dy and is
 * still written. */
DOPT_KFN void ilp_grad_instance(const ilp_view *v, const ilp_grad_args *ga, int64_t i, double *work, int *order)
{
    int n = ilp_n_of(v, i), m = ilp_m_of(v, i);
    int64_t on = ilp_inst_off(v, ILP_OFF_N, i); /* y, dy, y_eps, ys (times K for the perturbed samples) */
    double *G = ga->G + ilp_inst_off(v, ILP_OFF_G, i);
    double *dA = G, *db = G + (size_t)m * n, *dc = db + m;
    for (size_t k = 0; k < ilp_grad_row(n, m); ++k) G[k] = 0;
    double *y = work, *dy = work + n, *rest = work + 2 * n;
    for (int j = 0; j < n; ++j) {
        y[j] = ilp_ld(ga->y, ga->dt_y, on + j);
        dy[j] = ga->dy ? ilp_ld(ga->dy, ga->dt_dy, on + j) : 0.0;
    }
    int solved = ga->status[i] == DOPT_INST_SOLVED || ga->status[i] == DOPT_INST_ITERATION_LIMIT;
    int dy_finite = 1;
    for (int j = 0; j < n; ++j)
        if (!isfinite(dy[j])) dy_finite = 0;
    if (!dy_finite && ga->method != ILP_GRAD_SPO) {
        for (size_t k = 0; k < ilp_grad_row(n, m); ++k) G[k] = NAN;
        if (ga->method == ILP_GRAD_PERTURBED && ga->y_eps) {
            int K = ga->samples;
            for (int j = 0; j < n; ++j) {
                double s = 0;
                for (int k = 0; k < K; ++k) s += ga->ys[on * K + (int64_t)k * n + j];
                ga->y_eps[on + j] = s / K;
            }
        }
        return;
    }
    if (ga->method == ILP_GRAD_PERTURBED) {
        /* y_eps = mean_k y(c + eps Z_k); dc = mean_k Z_k <y_k, dy> / eps */
        double *z = rest, *ym = rest + n;
        for (int j = 0; j < n; ++j) ym[j] = 0;
        int K = ga->samples;
        for (int k = 0; k < K; ++k) {
            const double *yk = ga->ys + on * K + (int64_t)k * n;
            double dot = 0;
            for (int j = 0; j < n; ++j) dot += yk[j] * dy[j], ym[j] += yk[j];
            ilp_noise(ga->seed, (uint32_t)i, (uint32_t)k, n, z);
            for (int j = 0; j < n; ++j) dc[j] += z[j] * dot;
        }
        for (int j = 0; j < n; ++j) dc[j] /= (double)K * ga->eps;
        if (ga->y_eps)
            for (int j = 0; j < n; ++j) ga->y_eps[on + j] = ym[j] / K;
        return;
    }
    if (ga->method == ILP_GRAD_SPO) {
        /* l = -(2c^ - c)'y~ + 2c^'y* - c'y*,  dl/dc^ = 2 (y* - y~) */
        const double *ytil = ga->ys + on;
        int64_t oc = ilp_off(v, ILP_SHARE_C, i, ILP_OFF_N), ot = ilp_off(v, ILP_SHARE_CADD, i, ILP_OFF_N);
        double l = 0;
        int finite = 1;
        for (int j = 0; j < n; ++j) {
            double ch = ilp_ld(v->c, v->dt_c, oc + j), ct = ilp_ld(v->c_add, v->dt_cadd, ot + j);
            double ystar = ilp_ld(ga->ytrue, ga->dt_ytrue, on + j);
            if (!isfinite(ch) || !isfinite(ct) || !isfinite(ystar)) finite = 0;
            l += -(2 * ch - ct) * ytil[j] + 2 * ch * ystar - ct * ystar;
            dc[j] = 2 * (ystar - ytil[j]);
        }
        /* a NaN/Inf cost makes the solves invalid (y = 0), which would leave a
         * finite dc: the loss and the whole subgradient are NaN instead. So
         * does a solve that found no point (infeasible, invalid, numerical
         * failure): its y is no solution, and a finite loss from it would be
         * garbage. ys_status: the y*(c) solve's, NULL when y* was given. */
        if (!solved || (ga->ys_status && ga->ys_status[i] != DOPT_INST_SOLVED &&
                        ga->ys_status[i] != DOPT_INST_ITERATION_LIMIT))
            finite = 0;
        if (!finite)
            for (int j = 0; j < n; ++j) dc[j] = NAN;
        ga->loss[i] = finite ? l : NAN;
        return;
    }
    if (!solved) return;
    if (ga->method == ILP_GRAD_IDENTITY) {
        for (int j = 0; j < n; ++j) dc[j] = -dy[j];
        return;
    }
    if (ga->method == ILP_GRAD_DBB) {
        const double *yl = ga->ys + on; /* y(c + lambda dy) */
        /* finite dy whose c + lambda dy overflows makes the extra solve
         * invalid (y = 0): its difference would be a finite, wrong dc */
        int bad = ga->ys_status &&
                  (ga->ys_status[i] == DOPT_INST_INVALID || ga->ys_status[i] == DOPT_INST_NUMERICAL);
        for (int j = 0; j < n; ++j) dc[j] = bad ? NAN : (yl[j] - y[j]) / ga->lambda;
        return;
    }
    double *A = rest, *b = A + (size_t)m * n, *L = b + m, *U = L + n, *scratch = U + n;
    ilp_read_data(v, i, A, b, L, U);
    ilp_combopt(n, m, A, b, L, U, y, dy, ga->tau, dA, db, dc, scratch, order);
}

/* Output element e of a gradient (dtype dt) whose per-instance block starts
 * at `offset` in the G rows and has `len` entries: the sum over the batch
 * when the parameter is shared, else instance e / len's own entry. */
DOPT_KFN void ilp_reduce_elem(const double *G, int64_t batch, size_t row, size_t offset, size_t len, int shared,
                              void *out, int dt, int64_t e)
{
    if (shared) {
        double s = 0;
        for (int64_t i = 0; i < batch; ++i) s += G[(size_t)i * row + offset + (size_t)e];
        ilp_st(out, dt, e, s);
    } else {
        int64_t i = e / (int64_t)len, k = e % (int64_t)len;
        ilp_st(out, dt, e, G[(size_t)i * row + offset + (size_t)k]);
    }
}

/* Which gradient of a ragged batch a reduction writes: dA (sum m_i n_i),
 * db (sum m_i) or dc (sum n_i). */
enum { ILP_PART_A = 0, ILP_PART_B = 1, ILP_PART_C = 2 };

/* Output element e of part `part` of a ragged batch: instance i's block in
 * the output starts at its offset of the part's kind, and in its G row after
 * the parts before it. The instance is found by bisection over the offsets
 * (the largest i with off[i] <= e: instances with an empty block share the
 * offset of the next one, which the search skips). Never shared. */
DOPT_KFN void ilp_reduce_ragged_elem(const ilp_ragged *rg, const double *G, int part, void *out, int dt, int64_t e)
{
    int kind = part == ILP_PART_A ? ILP_OFF_MN : part == ILP_PART_B ? ILP_OFF_M : ILP_OFF_N;
    const int64_t *off = rg->off + (int64_t)kind * (rg->count + 1);
    int64_t lo = 0, hi = rg->count - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        if (off[mid] <= e)
            lo = mid;
        else
            hi = mid - 1;
    }
    int64_t n = rg->n[lo], m = rg->m[lo];
    int64_t skip = part == ILP_PART_A ? 0 : part == ILP_PART_B ? m * n : m * n + m;
    const int64_t *goff = rg->off + (int64_t)ILP_OFF_G * (rg->count + 1);
    ilp_st(out, dt, e, G[goff[lo] + skip + (e - off[lo])]);
}

#endif
