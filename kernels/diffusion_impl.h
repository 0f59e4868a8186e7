/* Score-based diffusion steps for MILP solution generation (SRG), one row of
 * the (rows, n) state at a time, written once for both precisions (included
 * by diffusion.h). The network is the caller's: it supplies the noise
 * prediction eps_hat(x_t, t) for every row before each step.
 *
 * Conventions (docs/DIFFUSION.md): x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps;
 * the score is grad log p_t = -eps_hat / sqrt(1 - abar_t). Constraints are
 * SRG's A x >= b. Guidance terms
 *     O(x) = || c .* (x - xref) ||_1,   P(x) = lambda || max(b - A x, 0) ||_1,
 *     dO/dx = c .* sign(c .* (x - xref)),   dP/dx = -lambda A' 1[A x < b]. */

/* Standard normals for (row, step, coordinates 4q..4q+3): Box-Muller on
 * Philox words, stream 1 (the Bernoulli sampler uses stream 0). */
DOPT_KFN void DFN(diff_normals4)(uint64_t seed, uint32_t row, uint32_t step, uint32_t q, DREAL out[4])
{
    double g[4];
    dopt_normals4(seed, row, step, q, 1, g);
    for (int t = 0; t < 4; ++t) out[t] = (DREAL)g[t];
}

/* z (n) for (row, step). */
DOPT_KFN void DFN(diff_noise_row)(uint64_t seed, uint32_t row, uint32_t step, int n, DREAL *z)
{
    DREAL g[4];
    for (int j0 = 0; j0 < n; j0 += 4) {
        DFN(diff_normals4)(seed, row, step, (uint32_t)j0 >> 2, g);
        for (int q = 0; q < 4 && j0 + q < n; ++q) z[j0 + q] = g[q];
    }
}

/* Forward noising of one row: x_t = sqrt(abar) x0 + sqrt(1 - abar) eps; eps
 * drawn from (seed, row, step) and returned (the training pair). */
DOPT_KFN void DFN(diff_noise_forward)(int n, const DREAL *x0, double abar, uint64_t seed, uint32_t row, uint32_t step,
                                      DREAL *xt, DREAL *eps)
{
    DFN(diff_noise_row)(seed, row, step, n, eps);
    DREAL a = (DREAL)sqrt(abar), s = (DREAL)sqrt(1 - abar);
    for (int j = 0; j < n; ++j) xt[j] = a * x0[j] + s * eps[j];
}

/* DDPM (Ho et al.; SRG Algorithm 1) from t to t-1, in place:
 * mu = (x - beta_t / sqrt(1 - abar_t) eps_hat) / sqrt(alpha_t),
 * x <- mu + sqrt(beta_t) z for t > 1, x <- mu at the last step. */
DOPT_KFN void DFN(diff_ddpm_row)(int n, DREAL *x, const DREAL *eps_hat, double abar_t, double abar_prev, int last,
                                 uint64_t seed, uint32_t row, uint32_t step)
{
    double alpha = abar_t / abar_prev, beta = 1 - alpha;
    DREAL c1 = (DREAL)(1 / sqrt(alpha)), c2 = (DREAL)(beta / sqrt(1 - abar_t)), sd = (DREAL)sqrt(beta);
    DREAL g[4];
    for (int j0 = 0; j0 < n; j0 += 4) {
        if (!last) DFN(diff_normals4)(seed, row, step, (uint32_t)j0 >> 2, g);
        for (int q = 0; q < 4 && j0 + q < n; ++q) {
            int j = j0 + q;
            DREAL mu = c1 * (x[j] - c2 * eps_hat[j]);
            x[j] = last ? mu : mu + sd * g[q];
        }
    }
}

/* DDIM (Song et al. 2021) from t to an earlier t' (any sub-sequence):
 * x0_hat = (x - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t),
 * sigma = eta sqrt((1 - abar_t') / (1 - abar_t)) sqrt(1 - abar_t / abar_t'),
 * x <- sqrt(abar_t') x0_hat + sqrt(1 - abar_t' - sigma^2) eps_hat + sigma z. */
DOPT_KFN void DFN(diff_ddim_row)(int n, DREAL *x, const DREAL *eps_hat, double abar_t, double abar_prev, double eta,
                                 uint64_t seed, uint32_t row, uint32_t step)
{
    double sigma = eta * sqrt((1 - abar_prev) / (1 - abar_t)) * sqrt(1 - abar_t / abar_prev);
    double dir = 1 - abar_prev - sigma * sigma;
    DREAL a = (DREAL)sqrt(abar_prev), d = (DREAL)sqrt(dir > 0 ? dir : 0), s = (DREAL)sigma;
    DREAL st = (DREAL)sqrt(1 - abar_t), it = (DREAL)(1 / sqrt(abar_t));
    DREAL g[4] = {0, 0, 0, 0};
    for (int j0 = 0; j0 < n; j0 += 4) {
        if (sigma > 0) DFN(diff_normals4)(seed, row, step, (uint32_t)j0 >> 2, g);
        for (int q = 0; q < 4 && j0 + q < n; ++q) {
            int j = j0 + q;
            DREAL x0 = (x[j] - st * eps_hat[j]) * it;
            x[j] = a * x0 + d * eps_hat[j] + s * g[q];
        }
    }
}

/* A MILP row set in CSR (A x >= b), for guidance and candidate evaluation. */
typedef struct {
    int n, m;
    const int64_t *row_ptr;
    const int32_t *col; /* column col[e] is local variable col[e] - col0 */
    int64_t col0;       /* 0, or a block batch's var_ptr[i] (global column indices) */
    const DREAL *val;
    const DREAL *b, *c;
} DFN(diff_milp);

/* Violation sum_i max(b_i - a_i'x, 0), NaN when a row's gap is NaN (a NaN
 * candidate must not pass as feasible); with viol_rows != NULL also marks
 * each violated row (1) or not (0, also for NaN). */
DOPT_KFN DREAL DFN(diff_violation)(const DFN(diff_milp) *p, const DREAL *x, DREAL *viol_rows)
{
    DREAL v = 0;
    for (int i = 0; i < p->m; ++i) {
        DREAL ax = 0;
        for (int64_t e = p->row_ptr[i]; e < p->row_ptr[i + 1]; ++e) ax += p->val[e] * x[p->col[e] - p->col0];
        DREAL gap = p->b[i] - ax;
        if (viol_rows) viol_rows[i] = gap > 0 ? (DREAL)1 : (DREAL)0;
        if (!(gap <= 0)) v += gap; /* NaN propagates: a NaN row is not satisfied */
    }
    return v;
}

/* g += wo * dO/dx + wp * dP/dx at x (xref may be NULL: no O term).
 * rows: m scratch values. */
DOPT_KFN void DFN(diff_guidance_grad)(const DFN(diff_milp) *p, const DREAL *x, const DREAL *xref, DREAL lambda,
                                      DREAL wo, DREAL wp, DREAL *rows, DREAL *g)
{
    int n = p->n;
    if (xref && wo != 0)
        for (int j = 0; j < n; ++j) {
            DREAL d = p->c[j] * (x[j] - xref[j]);
            g[j] += wo * p->c[j] * (DREAL)(d > 0 ? 1 : (d < 0 ? -1 : 0));
        }
    if (wp != 0) {
        DFN(diff_violation)(p, x, rows);
        for (int i = 0; i < p->m; ++i) {
            if (rows[i] == 0) continue;
            for (int64_t e = p->row_ptr[i]; e < p->row_ptr[i + 1]; ++e)
                g[p->col[e] - p->col0] -= wp * lambda * p->val[e];
        }
    }
}

/* SRG's training target (eq. 19, signs as derived in docs/DIFFUSION.md):
 *     target = eps + sqrt(abar_t) (gamma_o c .* sign(c .* ([x_t] - x*))
 *                                  - gamma_c lambda A' 1[A [x_t] < b]),
 * [x_t] the rounded state (round = 1) or x_t itself; xround, rows: n, m scratch. */
DOPT_KFN void DFN(diff_srg_target)(const DFN(diff_milp) *p, const DREAL *xt, const DREAL *xstar, const DREAL *eps,
                                   double abar_t, DREAL gamma_o, DREAL gamma_c, DREAL lambda, int round, DREAL *xround,
                                   DREAL *rows, DREAL *target)
{
    int n = p->n;
    for (int j = 0; j < n; ++j) {
        xround[j] = round ? (DREAL)floor((double)xt[j] + 0.5) : xt[j];
        target[j] = 0;
    }
    DREAL k = (DREAL)sqrt(abar_t);
    DFN(diff_guidance_grad)(p, xround, xstar, lambda, gamma_o, gamma_c, rows, target);
    for (int j = 0; j < n; ++j) target[j] = eps[j] + k * target[j];
}

/* Guided noise prediction for sampling: eps_hat += sqrt(1 - abar_t) *
 * (gamma_o dO/dx + gamma_c dP/dx) at x_t (grad log p decreases by the same
 * gradient, so the sampler descends O and P). */
DOPT_KFN void DFN(diff_guide_row)(const DFN(diff_milp) *p, const DREAL *xt, const DREAL *xref, double abar_t,
                                  DREAL gamma_o, DREAL gamma_c, DREAL lambda, DREAL *rows, DREAL *gtmp, DREAL *eps_hat)
{
    int n = p->n;
    for (int j = 0; j < n; ++j) gtmp[j] = 0;
    DFN(diff_guidance_grad)(p, xt, xref, lambda, gamma_o, gamma_c, rows, gtmp);
    DREAL k = (DREAL)sqrt(1 - abar_t);
    for (int j = 0; j < n; ++j) eps_hat[j] += k * gtmp[j];
}

/* One candidate: optionally rounded to the nearest integer (into xr), its
 * objective c'x and violation. */
DOPT_KFN void DFN(diff_candidate)(const DFN(diff_milp) *p, const DREAL *x, int round, DREAL *xr, DREAL *obj,
                                  DREAL *viol)
{
    DREAL o = 0;
    for (int j = 0; j < p->n; ++j) {
        xr[j] = round ? (DREAL)floor((double)x[j] + 0.5) : x[j];
        o += p->c[j] * xr[j];
    }
    *obj = o;
    *viol = DFN(diff_violation)(p, xr, NULL);
}

/* The order of candidates, one function for the CPU scan and the CUDA
 * reduction (so both pick the same one): does candidate a come before b?
 * Feasible (violation <= tol) first, then the smaller violation, then the
 * smaller objective, then the lower row index. NaN is the worst value: a
 * NaN violation ranks after every number (neither feasible nor comparable),
 * a NaN objective after every number. Index < 0 marks "no candidate" (the
 * reduction's identity), after everything. A strict total order on distinct
 * indices, so any reduction order gives the same minimum. */
DOPT_KFN int DFN(diff_before)(DREAL va, DREAL oa, int64_t ia, DREAL vb, DREAL ob, int64_t ib, DREAL tol)
{
    if ((ia < 0) != (ib < 0)) return ib < 0;
    int ca = va <= tol ? 0 : (va == va ? 1 : 2), cb = vb <= tol ? 0 : (vb == vb ? 1 : 2);
    if (ca != cb) return ca < cb;
    if (ca == 1 && va != vb) return va < vb;
    int na = oa != oa, nb = ob != ob;
    if (na != nb) return nb;
    if (!na && oa != ob) return oa < ob;
    return ia < ib;
}

/* ---- batch addressing and per-row entry points (CPU loop and CUDA) ----
 * One body for uniform and block (ragged) batches: the batch says where row
 * r of the state and instance i's variables and rows start and how long
 * they are; the per-row routines above never know which kind they serve.
 * Row r is sample r % samples of instance r / samples in both; a block
 * batch lays instance i's samples out one after another from
 * samples * var_ptr[i], so equal sizes give exactly the uniform layout. */

typedef struct {
    int n, m, samples;
    const int64_t *row_ptr;
    const int32_t *col;
    const DREAL *val, *b, *c, *xref;
    int64_t sR, sb, sc;               /* batch strides, 0 = shared; xref is per instance */
    const int64_t *var_ptr, *con_ptr; /* block batch when var_ptr != NULL (con_ptr NULL: layout only) */
} DFN(diff_batch);

/* The public batch as the kernels address it (NULL: an empty batch). */
DOPT_KFN DFN(diff_batch) DFN(diff_batch_of)(const dopt_diffusion_guide *p)
{
    DFN(diff_batch) bt;
    bt.n = bt.m = bt.samples = 0;
    bt.row_ptr = NULL;
    bt.col = NULL;
    bt.val = bt.b = bt.c = bt.xref = NULL;
    bt.sR = bt.sb = bt.sc = 0;
    bt.var_ptr = bt.con_ptr = NULL;
    if (!p) return bt;
    bt.n = p->n;
    bt.m = p->m;
    bt.samples = p->samples;
    bt.row_ptr = p->row_ptr;
    bt.col = p->col_idx;
    bt.val = (const DREAL *)p->values;
    bt.b = (const DREAL *)p->b;
    bt.c = (const DREAL *)p->c;
    bt.xref = (const DREAL *)p->xref;
    bt.sR = (p->shared & DOPT_DIFFUSION_SHARE_A) ? 0 : (int64_t)p->m + 1;
    bt.sb = (p->shared & DOPT_DIFFUSION_SHARE_B) ? 0 : p->m;
    bt.sc = (p->shared & DOPT_DIFFUSION_SHARE_C) ? 0 : p->n;
    return bt;
}

/* A block batch: CSR rows and variables by var_ptr / con_ptr, nothing shared. */
DOPT_KFN DFN(diff_batch) DFN(diff_batch_of_blocks)(const dopt_diffusion_blocks *p)
{
    DFN(diff_batch) bt;
    bt.n = bt.m = 0;
    bt.samples = p->samples;
    bt.row_ptr = p->row_ptr;
    bt.col = p->col_idx;
    bt.val = (const DREAL *)p->values;
    bt.b = (const DREAL *)p->b;
    bt.c = (const DREAL *)p->c;
    bt.xref = (const DREAL *)p->xref;
    bt.sR = bt.sb = bt.sc = 0;
    bt.var_ptr = p->var_ptr;
    bt.con_ptr = p->con_ptr;
    return bt;
}

/* Instance i's first variable in the concatenated (batch, n) arrays (c,
 * xref, best_x), and its number of variables (n: a uniform batch's). */
DOPT_KFN int64_t DFN(diff_var0)(const DFN(diff_batch) *bt, int n, int64_t i)
{
    return bt->var_ptr ? bt->var_ptr[i] : i * n;
}
DOPT_KFN int DFN(diff_nvar)(const DFN(diff_batch) *bt, int n, int64_t i)
{
    return bt->var_ptr ? (int)(bt->var_ptr[i + 1] - bt->var_ptr[i]) : n;
}

/* Where row r of the (rows, n) state starts, and its length. */
DOPT_KFN int64_t DFN(diff_row0)(const DFN(diff_batch) *bt, int n, int64_t r)
{
    if (!bt->var_ptr) return r * n;
    int64_t i = r / bt->samples, k = r % bt->samples;
    return bt->samples * bt->var_ptr[i] + k * (bt->var_ptr[i + 1] - bt->var_ptr[i]);
}
DOPT_KFN int DFN(diff_row_n)(const DFN(diff_batch) *bt, int n, int64_t r)
{
    return bt->var_ptr ? DFN(diff_nvar)(bt, n, r / bt->samples) : n;
}

/* Instance i's rows: m of them from row first (block: con_ptr). */
DOPT_KFN int DFN(diff_ncon)(const DFN(diff_batch) *bt, int64_t i)
{
    return bt->var_ptr ? (int)(bt->con_ptr[i + 1] - bt->con_ptr[i]) : bt->m;
}

DOPT_KFN DFN(diff_milp) DFN(diff_batch_milp)(const DFN(diff_batch) *bt, int64_t inst)
{
    DFN(diff_milp) p;
    p.col = bt->col;
    p.val = bt->val;
    if (bt->var_ptr) {
        p.n = DFN(diff_nvar)(bt, 0, inst);
        p.m = DFN(diff_ncon)(bt, inst);
        p.row_ptr = bt->row_ptr + bt->con_ptr[inst];
        p.col0 = bt->var_ptr[inst];
        p.b = bt->b ? bt->b + bt->con_ptr[inst] : NULL;
        p.c = bt->c + bt->var_ptr[inst];
        return p;
    }
    p.n = bt->n;
    p.m = bt->m;
    p.row_ptr = bt->row_ptr ? bt->row_ptr + inst * bt->sR : NULL;
    p.col0 = 0;
    p.b = bt->b ? bt->b + inst * bt->sb : NULL;
    p.c = bt->c + inst * bt->sc;
    return p;
}

/* Checks instance inst's CSR rows before anything reads through them:
 * offsets >= 0 and non-decreasing, column indices in the instance's range
 * ([0, n), or a block instance's [var_ptr[i], var_ptr[i+1])), col_idx and
 * values present when a row has entries (they may be NULL when none has).
 * Returns DOPT_DIFF_CSR_OK, or the first problem with its row (and for a
 * bad column the index found) in *row, *col. Offsets past the end of the
 * caller's arrays cannot be seen here (their length is not passed). */
DOPT_KFN int DFN(diff_check_csr)(const DFN(diff_batch) *bt, int64_t inst, int *row, int32_t *col)
{
    *row = -1;
    *col = 0;
    int m = bt->var_ptr ? DFN(diff_ncon)(bt, inst) : bt->m;
    if (m == 0) return DOPT_DIFF_CSR_OK; /* row_ptr may be NULL then */
    const int64_t *rp = bt->var_ptr ? bt->row_ptr + bt->con_ptr[inst] : bt->row_ptr + inst * bt->sR;
    int64_t lo = bt->var_ptr ? bt->var_ptr[inst] : 0, hi = bt->var_ptr ? bt->var_ptr[inst + 1] : bt->n;
    for (int i = 0; i < m; ++i) {
        int64_t e0 = rp[i], e1 = rp[i + 1];
        *row = i;
        if (!(e0 >= 0 && e0 <= e1)) return DOPT_DIFF_CSR_OFFSETS;
        if (e1 > e0 && (!bt->col || !bt->val)) return DOPT_DIFF_CSR_MISSING;
        for (int64_t e = e0; e < e1; ++e)
            if (bt->col[e] < lo || bt->col[e] >= hi) {
                *col = bt->col[e];
                return DOPT_DIFF_CSR_COLUMN;
            }
    }
    return DOPT_DIFF_CSR_OK;
}

/* Instances whose CSR rows are checked: one when A is shared. */
DOPT_KFN int64_t DFN(diff_csr_copies)(const DFN(diff_batch) *bt, int64_t batch)
{
    return bt->sR || bt->var_ptr ? batch : 1;
}

typedef struct {
    int sampler; /* DOPT_SAMPLER_* */
    double abar_t, abar_prev, eta;
    int last;
    uint64_t seed;
    uint32_t step;
    int guided;
    DREAL gamma_o, gamma_c, lambda;
} DFN(diff_step_args);

/* The step's arguments from the public descriptor and guidance (g NULL:
 * no guidance weights): what both backends pass to their step kernels. */
DOPT_KFN DFN(diff_step_args) DFN(diff_step_args_of)(const dopt_diffusion_step_desc *st, int guided,
                                                   const dopt_guidance *g)
{
    DFN(diff_step_args) a;
    a.sampler = (int)st->sampler;
    a.abar_t = st->abar[st->t];
    a.abar_prev = st->abar[st->t_prev];
    a.eta = st->eta;
    a.last = st->t_prev == 0;
    a.seed = st->seed;
    a.step = (uint32_t)st->t;
    a.guided = guided;
    a.gamma_o = g ? (DREAL)g->gamma_o : (DREAL)0;
    a.gamma_c = g ? (DREAL)g->gamma_c : (DREAL)0;
    a.lambda = g ? (DREAL)g->lambda : (DREAL)0;
    return a;
}

/* Row r: guidance (if any), then the reverse step. scratch: m + n values
 * (the largest instance's for a block batch). n: a uniform batch's length. */
DOPT_KFN void DFN(diff_step_entry)(const DFN(diff_step_args) *a, const DFN(diff_batch) *bt, int n, int64_t r, DREAL *x,
                                   DREAL *eps_hat, DREAL *scratch)
{
    int64_t o = DFN(diff_row0)(bt, n, r);
    int nr = DFN(diff_row_n)(bt, n, r);
    DREAL *xr = x + o, *er = eps_hat + o;
    if (a->guided) {
        int64_t inst = r / bt->samples;
        DFN(diff_milp) p = DFN(diff_batch_milp)(bt, inst);
        const DREAL *xref = bt->xref ? bt->xref + DFN(diff_var0)(bt, n, inst) : NULL;
        DFN(diff_guide_row)(&p, xr, xref, a->abar_t, a->gamma_o, a->gamma_c, a->lambda, scratch, scratch + p.m, er);
    }
    if (a->sampler == 0)
        DFN(diff_ddpm_row)(nr, xr, er, a->abar_t, a->abar_prev, a->last, a->seed, (uint32_t)r, a->step);
    else
        DFN(diff_ddim_row)(nr, xr, er, a->abar_t, a->abar_prev, a->eta, a->seed, (uint32_t)r, a->step);
}

/* Row r of the forward noising (the training pairs). */
DOPT_KFN void DFN(diff_noise_entry)(const DFN(diff_batch) *bt, int n, const DREAL *x0, double abar, uint64_t seed,
                                    uint32_t step, int64_t r, DREAL *xt, DREAL *eps)
{
    int64_t o = DFN(diff_row0)(bt, n, r);
    DFN(diff_noise_forward)(DFN(diff_row_n)(bt, n, r), x0 + o, abar, seed, (uint32_t)r, step, xt + o, eps + o);
}

/* Row r of the SRG training target. scratch: n + m values. */
DOPT_KFN void DFN(diff_target_entry)(const DFN(diff_batch) *bt, const DREAL *xt, const DREAL *eps, double abar_t,
                                     DREAL gamma_o, DREAL gamma_c, DREAL lambda, int round, int64_t r, DREAL *scratch,
                                     DREAL *target)
{
    int64_t inst = r / bt->samples, o = DFN(diff_row0)(bt, bt->n, r);
    DFN(diff_milp) p = DFN(diff_batch_milp)(bt, inst);
    DFN(diff_srg_target)(&p, xt + o, bt->xref + DFN(diff_var0)(bt, bt->n, inst), eps + o, abar_t, gamma_o, gamma_c,
                         lambda, round, scratch, scratch + p.n, target + o);
}

/* Scores row r (objective, violation after optional rounding). scratch: n. */
DOPT_KFN void DFN(diff_score_entry)(const DFN(diff_batch) *bt, const DREAL *x, int round, int64_t r, DREAL *scratch,
                                    DREAL *obj, DREAL *viol)
{
    DFN(diff_milp) p = DFN(diff_batch_milp)(bt, r / bt->samples);
    DFN(diff_candidate)(&p, x + DFN(diff_row0)(bt, bt->n, r), round, scratch, obj + r, viol + r);
}

/* Copies row r (rounded when round) into instance i's best_x. */
DOPT_KFN void DFN(diff_copy_best)(const DFN(diff_batch) *bt, const DREAL *x, int round, int64_t i, int64_t r,
                                  DREAL *best_x)
{
    const DREAL *src = x + DFN(diff_row0)(bt, bt->n, r);
    DREAL *dst = best_x + DFN(diff_var0)(bt, bt->n, i);
    int n = DFN(diff_nvar)(bt, bt->n, i);
    for (int j = 0; j < n; ++j) dst[j] = round ? (DREAL)floor((double)src[j] + 0.5) : src[j];
}

/* Instance i: index (within its samples) of the best scored candidate, and
 * its (rounded) copy into best_x. */
DOPT_KFN int32_t DFN(diff_select_entry)(const DFN(diff_batch) *bt, const DREAL *x, int round, DREAL tol,
                                        const DREAL *obj, const DREAL *viol, int64_t i, DREAL *best_x)
{
    int K = bt->samples;
    int64_t r0 = i * K;
    int32_t best = 0;
    for (int k = 1; k < K; ++k)
        if (DFN(diff_before)(viol[r0 + k], obj[r0 + k], k, viol[r0 + best], obj[r0 + best], best, tol)) best = k;
    if (best_x) DFN(diff_copy_best)(bt, x, round, i, r0 + best, best_x);
    return best;
}
