/* Logistic-reparameterized Bernoulli surrogate of a binary ILP
 *     min c'x  s.t.  Ax <= b,  x in {0,1}^n,
 * for one instance, written once for both precisions (included by bern.h).
 *
 * Relaxed probabilities xhat in (0,1)^n; samples
 *     x_j = 1[logit(xhat_j) + logit(eps_j) >= 0],  eps_j ~ U(0,1) (Philox),
 * so x ~ prod Bernoulli(xhat_j). Loss
 *     F(xhat) = c'xhat + mu sum_i E[max(a_i'x - b_i, 0)],
 * and its gradient by one of the estimators of docs/BERNOULLI.md. A is CSR
 * (row_ptr != NULL: absolute offsets into col / val, which may be NULL when
 * the rows have no entries) or dense (row_ptr == NULL); the dense path skips
 * zeros, so both do the same arithmetic.
 *
 * The point is xhat (P(x_j = 1)) and its complement xc (P(x_j = 0)). With
 * logits both come from the logit (sigmoid(l), sigmoid(-l)), so xc keeps its
 * precision where xhat rounds to 1, and xhat may be exactly 0 or 1 for a
 * large finite logit; every formula below uses xhat and xc, never 1 - xhat,
 * and divides by neither where it can be 0. xc == NULL (probabilities)
 * means xc_j = 1 - xhat_j, formed in double. */

typedef struct {
    int n, m;
    const int64_t *row_ptr; /* m + 1; NULL: dense */
    const int32_t *col;     /* CSR column indices (NULL allowed when no row has entries) */
    int64_t col0;           /* the index of local column 0 in col: 0, or a block batch's var_ptr[i] */
    const DREAL *val;       /* CSR values, or the dense m x n row-major matrix */
    const DREAL *b;         /* m */
    const DREAL *c;         /* n, or NULL for 0 */
} DFN(bern_view);

/* P(x_j = 0) in double: xc_j, or 1 - xhat_j. */
DOPT_KFN double DFN(bern_q)(const DREAL *xhat, const DREAL *xc, int j)
{
    return xc ? (double)xc[j] : 1 - (double)xhat[j];
}

/* Per-instance scratch: x, activities r, one sample's gradient g, the sums
 * of g and g^2, and the K per-sample penalties (REINFORCE's baseline). */
DOPT_KFN size_t DFN(bern_work_size)(int n, int m, int K) { return (size_t)4 * n + (size_t)m + (size_t)K; }

/* Validates one instance; DOPT_INST_SOLVED or DOPT_INST_INVALID. The point:
 * xhat in (0,1) (closed = 0: probabilities the estimators divide by), or in
 * [0,1] (closed = 1: from finite logits, or for rounding; NaN is invalid).
 * The data: finite c, b and A; CSR offsets >= 0 and non-decreasing, column
 * indices in [col0, col0 + n) (the instance's own variables), no column
 * twice in a row (each entry would be flipped on its own), and no entries
 * when col or val is NULL. mark: n ints of scratch for the duplicate check
 * (one pass over each row, no sorting). */
DOPT_KFN int DFN(bern_check)(const DFN(bern_view) *v, const DREAL *xhat, int closed, int32_t *mark)
{
    for (int j = 0; j < v->n; ++j) {
        int ok = closed ? (xhat[j] >= 0 && xhat[j] <= 1) : (xhat[j] > 0 && xhat[j] < 1);
        if (!ok || (v->c && !(DABS(v->c[j]) <= DREAL_MAX))) return DOPT_INST_INVALID;
    }
    if (v->row_ptr)
        for (int j = 0; j < v->n; ++j) mark[j] = -1;
    for (int i = 0; i < v->m; ++i) {
        if (!(DABS(v->b[i]) <= DREAL_MAX)) return DOPT_INST_INVALID;
        if (v->row_ptr) {
            int64_t e0 = v->row_ptr[i], e1 = v->row_ptr[i + 1];
            if (!(e0 >= 0 && e0 <= e1)) return DOPT_INST_INVALID;
            if (e1 > e0 && (!v->col || !v->val)) return DOPT_INST_INVALID;
            for (int64_t e = e0; e < e1; ++e) {
                int64_t j = (int64_t)v->col[e] - v->col0; /* 64-bit: a column far outside cannot wrap into range */
                if (!(DABS(v->val[e]) <= DREAL_MAX) || j < 0 || j >= v->n || mark[j] == i) return DOPT_INST_INVALID;
                mark[j] = i;
            }
        } else {
            for (int j = 0; j < v->n; ++j)
                if (!(DABS(v->val[(size_t)i * v->n + j]) <= DREAL_MAX)) return DOPT_INST_INVALID;
        }
    }
    return DOPT_INST_SOLVED;
}

/* Draws sample k into x (x_j in {0, 1}). logit(xhat) + logit(eps) >= 0 is
 * eps >= 1 - xhat = xc (logit is increasing): the same samples without logs,
 * and exact for a saturated logit (xc = sigmoid(-l) > 0 while xhat = 1). */
DOPT_KFN void DFN(bern_sample)(const DFN(bern_view) *v, const DREAL *xhat, const DREAL *xc, uint64_t seed,
                               uint32_t instance, uint32_t k, DREAL *x)
{
    for (int j0 = 0; j0 < v->n; j0 += 4) {
        dopt_philox4 r = dopt_philox_draw(seed, instance, k, (uint32_t)j0 >> 2, 0);
        for (int q = 0; q < 4 && j0 + q < v->n; ++q)
            x[j0 + q] = dopt_u01_open(r.v[q]) >= DFN(bern_q)(xhat, xc, j0 + q) ? (DREAL)1 : (DREAL)0;
    }
}

/* eps_j of sample k (the uniform behind bern_sample's draw). */
DOPT_KFN double DFN(bern_eps)(uint64_t seed, uint32_t instance, uint32_t k, int j)
{
    dopt_philox4 r = dopt_philox_draw(seed, instance, k, (uint32_t)j >> 2, 0);
    return dopt_u01_open(r.v[j & 3]);
}

/* r = A x, returns the penalty sum_i max(r_i - b_i, 0). */
DOPT_KFN DREAL DFN(bern_activities)(const DFN(bern_view) *v, const DREAL *x, DREAL *r)
{
    DREAL pen = 0;
    for (int i = 0; i < v->m; ++i) {
        DREAL acc = 0;
        DOPT_BERN_FOR_ROW(v, i, j, a, acc += a * x[j];);
        r[i] = acc;
        if (acc > v->b[i]) pen += acc - v->b[i];
    }
    return pen;
}

/* Unbiased (local expectation): g_j = phi(x, x_j = 1) - phi(x, x_j = 0),
 * exact in x_j given the other coordinates, O(nnz) by updating activities. */
DOPT_KFN void DFN(bern_grad_unbiased)(const DFN(bern_view) *v, const DREAL *x, const DREAL *r, DREAL *g)
{
    for (int j = 0; j < v->n; ++j) g[j] = 0;
    for (int i = 0; i < v->m; ++i) {
        DREAL ri = r[i], bi = v->b[i];
        DOPT_BERN_FOR_ROW(v, i, j, a, {
            DREAL r1 = ri + a * (1 - x[j]) - bi, r0 = ri - a * x[j] - bi;
            g[j] += (r1 > 0 ? r1 : 0) - (r0 > 0 ? r0 : 0);
        });
    }
}

/* DiffILO as published: g_j = (sum over violated rows of a_ij) times
 * d sigma(z_j) / d xhat_j, z_j = logit(xhat_j) + logit(eps_j). Biased: its
 * mean is not the gradient of any loss in more than one dimension (see
 * docs/BERNOULLI.md). rowsum is n scratch values. */
DOPT_KFN void DFN(bern_grad_diffilo)(const DFN(bern_view) *v, const DREAL *xhat, const DREAL *xc, const DREAL *r,
                                     uint64_t seed, uint32_t instance, uint32_t k, DREAL *rowsum, DREAL *g)
{
    int n = v->n;
    for (int j = 0; j < n; ++j) rowsum[j] = 0;
    for (int i = 0; i < v->m; ++i)
        if (r[i] - v->b[i] > 0) DOPT_BERN_FOR_ROW(v, i, j, a, rowsum[j] += a;);
    for (int j = 0; j < n; ++j) {
        if (rowsum[j] == 0) {
            g[j] = 0;
            continue;
        }
        /* sigma(z) = p e / d with p = xhat, q = xc, d = p e + q (1 - e), and
         * dz/dxhat = 1 / (p q), so sigma'(z) dz/dxhat = e (1 - e) / d^2: no
         * division by p q (0 when a logit saturates); d >= min(e, 1 - e) > 0 */
        double p = (double)xhat[j], q = DFN(bern_q)(xhat, xc, j), e = DFN(bern_eps)(seed, instance, k, j);
        double d = p * e + q * (1 - e);
        g[j] = rowsum[j] * (DREAL)(e * (1 - e) / (d * d));
    }
}

/* One sample k: draws x, computes activities r, returns the penalty, and
 * writes the estimator's gradient of the penalty into g. base is
 * REINFORCE's baseline (ignored otherwise). x, r, g: n, m, n scratch. */
DOPT_KFN DREAL DFN(bern_one_sample)(const DFN(bern_view) *v, const DREAL *xhat, const DREAL *xc, int estimator,
                                    uint64_t seed, uint32_t instance, uint32_t k, DREAL base, DREAL *x, DREAL *r,
                                    DREAL *g)
{
    int n = v->n;
    DFN(bern_sample)(v, xhat, xc, seed, instance, k, x);
    DREAL p = DFN(bern_activities)(v, x, r);
    if (estimator == DOPT_BERN_UNBIASED) {
        DFN(bern_grad_unbiased)(v, x, r, g);
    } else if (estimator == DOPT_BERN_REINFORCE) {
        /* the score (x_j - xhat_j) / (xhat_j xc_j) is 1 / xhat_j for x_j = 1 and
         * -1 / xc_j for x_j = 0; a sample only takes a value of positive
         * probability (x_j = 1 needs eps >= xc_j, so xhat_j > 0), so neither
         * divides by 0 */
        for (int j = 0; j < n; ++j) {
            double s = x[j] != 0 ? 1 / (double)xhat[j] : -1 / DFN(bern_q)(xhat, xc, j);
            g[j] = (p - base) * (DREAL)s;
        }
    } else { /* DOPT_BERN_DIFFILO; x is no longer needed: row-sum scratch */
        DFN(bern_grad_diffilo)(v, xhat, xc, r, seed, instance, k, x, g);
    }
    return p;
}

/* Loss and gradient from the sums over K samples: mean and standard error. */
DOPT_KFN DREAL DFN(bern_finish)(const DFN(bern_view) *v, const DREAL *xhat, int K, DREAL mu, double ps, double pq,
                                const DREAL *gs, const DREAL *gq, DREAL *grad, DREAL *loss_se, DREAL *grad_se)
{
    int n = v->n;
    double var = K > 1 ? (pq - ps * ps / K) / (K - 1) : 0;
    DREAL cx = 0;
    if (v->c)
        for (int j = 0; j < n; ++j) cx += v->c[j] * xhat[j];
    if (loss_se) *loss_se = mu * (DREAL)sqrt((var > 0 ? var : 0) / K);
    for (int j = 0; j < n; ++j) {
        double gm = (double)gs[j] / K, gv = K > 1 ? ((double)gq[j] - (double)gs[j] * gs[j] / K) / (K - 1) : 0;
        grad[j] = (v->c ? v->c[j] : 0) + mu * (DREAL)gm;
        if (grad_se) grad_se[j] = mu * (DREAL)sqrt((gv > 0 ? gv : 0) / K);
    }
    return cx + mu * (DREAL)(ps / K);
}

/* Everything for one instance: loss, gradient (with respect to xhat) and
 * their standard errors from K samples. estimator: DOPT_BERN_*. xc: the
 * complement from logits, or NULL (probabilities, which must lie in (0,1)). */
DOPT_KFN int DFN(bern_instance)(const DFN(bern_view) *v, const DREAL *xhat, const DREAL *xc, int estimator, int K,
                                DREAL mu, uint64_t seed, uint32_t instance, DREAL *work, DREAL *loss, DREAL *grad,
                                DREAL *loss_se, DREAL *grad_se)
{
    int n = v->n, m = v->m;
    int st = DFN(bern_check)(v, xhat, xc != NULL, (int32_t *)work);
    if (st != DOPT_INST_SOLVED) {
        *loss = (DREAL)NAN;
        for (int j = 0; j < n; ++j) grad[j] = (DREAL)NAN;
        if (loss_se) *loss_se = (DREAL)NAN;
        if (grad_se)
            for (int j = 0; j < n; ++j) grad_se[j] = (DREAL)NAN;
        return st;
    }
    DREAL *x = work, *g = x + n, *gs = g + n, *gq = gs + n, *r = gq + n, *phi = r + m;
    for (int j = 0; j < n; ++j) gs[j] = gq[j] = 0;
    double ps = 0, pq = 0, phisum = 0;
    /* REINFORCE needs every sample's penalty first (leave-one-out baseline) */
    if (estimator == DOPT_BERN_REINFORCE) {
        for (int k = 0; k < K; ++k) {
            DFN(bern_sample)(v, xhat, xc, seed, instance, (uint32_t)k, x);
            phi[k] = DFN(bern_activities)(v, x, r);
            phisum += phi[k];
        }
    }
    for (int k = 0; k < K; ++k) {
        DREAL base = estimator == DOPT_BERN_REINFORCE ? (DREAL)((phisum - phi[k]) / (K - 1)) : 0;
        DREAL p = DFN(bern_one_sample)(v, xhat, xc, estimator, seed, instance, (uint32_t)k, base, x, r, g);
        ps += p;
        pq += (double)p * p;
        for (int j = 0; j < n; ++j) {
            gs[j] += g[j];
            gq[j] += g[j] * g[j];
        }
    }
    *loss = DFN(bern_finish)(v, xhat, K, mu, ps, pq, gs, gq, grad, loss_se, grad_se);
    return DOPT_INST_SOLVED;
}

/* Exact loss and gradient by enumerating {0,1}^n (n <= 20): the expectation
 * of the unbiased estimator, weighted by P(x). The reference for tests. */
DOPT_KFN int DFN(bern_exact)(const DFN(bern_view) *v, const DREAL *xhat, const DREAL *xc, DREAL mu, DREAL *work,
                             DREAL *loss, DREAL *grad)
{
    int n = v->n;
    int st = DFN(bern_check)(v, xhat, xc != NULL, (int32_t *)work);
    if (st != DOPT_INST_SOLVED || n > 20) {
        *loss = (DREAL)NAN;
        for (int j = 0; j < n; ++j) grad[j] = (DREAL)NAN;
        return DOPT_INST_INVALID;
    }
    DREAL *x = work, *g = x + n, *r = g + 3 * n;
    double P = 0;
    double acc[20];
    for (int j = 0; j < n; ++j) acc[j] = 0;
    for (uint32_t bits = 0; bits < (1u << n); ++bits) {
        double w = 1;
        for (int j = 0; j < n; ++j) {
            x[j] = (DREAL)((bits >> j) & 1u);
            w *= x[j] != 0 ? (double)xhat[j] : DFN(bern_q)(xhat, xc, j);
        }
        DREAL p = DFN(bern_activities)(v, x, r);
        DFN(bern_grad_unbiased)(v, x, r, g);
        P += w * p;
        for (int j = 0; j < n; ++j) acc[j] += w * g[j];
    }
    DREAL cx = 0;
    if (v->c)
        for (int j = 0; j < n; ++j) cx += v->c[j] * xhat[j];
    *loss = cx + mu * (DREAL)P;
    for (int j = 0; j < n; ++j) grad[j] = (v->c ? v->c[j] : 0) + mu * (DREAL)acc[j];
    return DOPT_INST_SOLVED;
}

/* Rounds xhat at 1/2 and repairs greedily: while some row is violated, flip
 * the variable that lowers the total violation most (ties: the cheaper flip);
 * then flips that keep feasibility and lower c'x, until none is left.
 * Returns 0 (feasible x found) or 1 (no improving flip left while still
 * violated). x gets the rounded/repaired 0/1 vector; work: n + m values. */
DOPT_KFN int DFN(bern_round_repair)(const DFN(bern_view) *v, const DREAL *xhat, DREAL *x, DREAL *work)
{
    int n = v->n, m = v->m;
    DREAL *r = work, *delta = work + m;
    for (int j = 0; j < n; ++j) x[j] = xhat[j] >= (DREAL)0.5 ? (DREAL)1 : (DREAL)0;
    DREAL viol = DFN(bern_activities)(v, x, r);
    for (int it = 0; it < 4 * n + 4 && viol > 0; ++it) {
        for (int j = 0; j < n; ++j) delta[j] = 0;
        for (int i = 0; i < m; ++i) {
            DREAL over = r[i] - v->b[i];
            DOPT_BERN_FOR_ROW(v, i, j, a, {
                DREAL after = over + a * (1 - 2 * x[j]);
                delta[j] += (after > 0 ? after : 0) - (over > 0 ? over : 0);
            });
        }
        int best = -1;
        DREAL bd = 0, bc = 0;
        for (int j = 0; j < n; ++j) {
            DREAL dc = v->c ? v->c[j] * (1 - 2 * x[j]) : 0;
            if (delta[j] < bd || (best >= 0 && delta[j] == bd && dc < bc)) {
                best = j;
                bd = delta[j];
                bc = dc;
            }
        }
        if (best < 0) return 1;
        x[best] = 1 - x[best];
        viol = DFN(bern_activities)(v, x, r);
    }
    if (viol > 0) return 1;
    /* improvement: flips that keep every row satisfied and lower the cost */
    if (v->c) {
        for (int pass = 0; pass < 2; ++pass) {
            int changed = 0;
            for (int j = 0; j < n; ++j) {
                if (!(v->c[j] * (1 - 2 * x[j]) < 0)) continue;
                x[j] = 1 - x[j];
                if (DFN(bern_activities)(v, x, r) > 0) x[j] = 1 - x[j];
                else changed = 1;
            }
            if (!changed) break;
        }
        DFN(bern_activities)(v, x, r);
    }
    return 0;
}
