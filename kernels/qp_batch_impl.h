/* Batch addressing and the per-instance entry points of the QP layer, shared
 * by the CPU loop and the CUDA kernels (one instance per call). Included by
 * qp_ipm.h per precision. */

/* A batch: base pointers and batch strides in elements (0 = shared). */
typedef struct {
    const DREAL *Q, *p, *G, *h, *A, *b;
    int64_t sQ, sp, sG, sh, sA, sb;
    int n, m, k;
} DFN(qp_batch);

/* The public options in the kernels' precision. */
DOPT_KFN DFN(qp_settings) DFN(qp_settings_of)(const dopt_qp_options *o)
{
    DFN(qp_settings) s;
    s.tol = (DREAL)o->tol;
    s.tol_inf = (DREAL)o->tol_inf;
    s.max_iter = o->max_iter;
    s.refine = o->refine;
    return s;
}

/* The public problem as the kernels address it: shared parameters get stride 0. */
DOPT_KFN DFN(qp_batch) DFN(qp_batch_of)(const dopt_qp_problem *P)
{
    DFN(qp_batch) bt;
    int64_t n = P->n, m = P->m, k = P->k;
    unsigned sh = P->shared;
    bt.Q = (const DREAL *)P->Q;
    bt.p = (const DREAL *)P->p;
    bt.G = (const DREAL *)P->G;
    bt.h = (const DREAL *)P->h;
    bt.A = (const DREAL *)P->A;
    bt.b = (const DREAL *)P->b;
    bt.sQ = (sh & DOPT_QP_SHARE_Q) ? 0 : n * n;
    bt.sp = (sh & DOPT_QP_SHARE_P) ? 0 : n;
    bt.sG = (sh & DOPT_QP_SHARE_G) ? 0 : m * n;
    bt.sh = (sh & DOPT_QP_SHARE_H) ? 0 : m;
    bt.sA = (sh & DOPT_QP_SHARE_A) ? 0 : k * n;
    bt.sb = (sh & DOPT_QP_SHARE_B) ? 0 : k;
    bt.n = P->n;
    bt.m = P->m;
    bt.k = P->k;
    return bt;
}

DOPT_KFN DFN(qp_view) DFN(qp_batch_view)(const DFN(qp_batch) *bt, int64_t i)
{
    DFN(qp_view) v;
    v.n = bt->n;
    v.m = bt->m;
    v.k = bt->k;
    v.Q = bt->Q ? bt->Q + i * bt->sQ : NULL;
    v.p = bt->p + i * bt->sp;
    v.G = bt->G ? bt->G + i * bt->sG : NULL;
    v.h = bt->h ? bt->h + i * bt->sh : NULL;
    v.A = bt->A ? bt->A + i * bt->sA : NULL;
    v.b = bt->b ? bt->b + i * bt->sb : NULL;
    return v;
}

/* Instance i's rows of the batch's outputs (NULL for an empty block). */
typedef struct {
    DREAL *x, *lam, *nu;
} DFN(qp_slice);

DOPT_KFN DFN(qp_slice) DFN(qp_slice_of)(const DFN(qp_batch) *bt, int64_t i, DREAL *x, DREAL *lam, DREAL *nu)
{
    DFN(qp_slice) o;
    o.x = x + i * bt->n;
    o.lam = bt->m ? lam + i * bt->m : NULL;
    o.nu = bt->k ? nu + i * bt->k : NULL;
    return o;
}

/* The phases of qp_ipm_impl.h for instance i of a batch, each on i's own
 * full workspace `work` and state: what a batched driver calls per instance
 * (the CUDA large-n path, one thread per instance and phase; tests/
 * test_qp_phases.c on the CPU). qp_instance_end also writes status and
 * iterations and, with keep != NULL (instance i's tape slot), copies the
 * factorization at the solution (the workspace's persistent prefix). */
DOPT_KFN void DFN(qp_instance_begin)(const DFN(qp_batch) *bt, DREAL *work, DFN(qp_state) *st, int64_t i,
                                     int keep_factor)
{
    DFN(qp_view) v = DFN(qp_batch_view)(bt, i);
    DFN(qp_work) w = DFN(qp_work_map)(work, bt->n, bt->m, bt->k);
    DFN(qp_phase_begin)(&v, &w, st, keep_factor);
}

DOPT_KFN int DFN(qp_instance_before_factor)(const DFN(qp_batch) *bt, const DFN(qp_settings) *set, DREAL *work,
                                            DFN(qp_state) *st, int64_t i, DREAL *x, DREAL *lam, DREAL *nu)
{
    DFN(qp_view) v = DFN(qp_batch_view)(bt, i);
    DFN(qp_work) w = DFN(qp_work_map)(work, bt->n, bt->m, bt->k);
    DFN(qp_slice) o = DFN(qp_slice_of)(bt, i, x, lam, nu);
    return DFN(qp_phase_before_factor)(&v, set, &w, st, o.x, o.lam, o.nu);
}

/* The central piece in kernel (what the batched path does with libraries). */
DOPT_KFN int DFN(qp_instance_factor)(const DFN(qp_batch) *bt, DREAL *work, int64_t i)
{
    DFN(qp_view) v = DFN(qp_batch_view)(bt, i);
    DFN(qp_work) w = DFN(qp_work_map)(work, bt->n, bt->m, bt->k);
    return DFN(qp_factor_assembled)(&v, &w);
}

DOPT_KFN void DFN(qp_instance_after_factor)(const DFN(qp_batch) *bt, const DFN(qp_settings) *set, DREAL *work,
                                            DFN(qp_state) *st, int64_t i, DREAL *x, DREAL *lam, DREAL *nu, int info)
{
    DFN(qp_view) v = DFN(qp_batch_view)(bt, i);
    DFN(qp_work) w = DFN(qp_work_map)(work, bt->n, bt->m, bt->k);
    DFN(qp_slice) o = DFN(qp_slice_of)(bt, i, x, lam, nu);
    DFN(qp_phase_after_factor)(&v, set, &w, st, o.x, o.lam, o.nu, info);
}

DOPT_KFN void DFN(qp_instance_end)(const DFN(qp_batch) *bt, DREAL *work, DFN(qp_state) *st, DREAL *keep, int64_t i,
                                   DREAL *x, DREAL *lam, DREAL *nu, int32_t *status, int32_t *iters)
{
    DFN(qp_view) v = DFN(qp_batch_view)(bt, i);
    DFN(qp_work) w = DFN(qp_work_map)(work, bt->n, bt->m, bt->k);
    DFN(qp_slice) o = DFN(qp_slice_of)(bt, i, x, lam, nu);
    DFN(qp_phase_end)(&v, &w, st, o.x, o.lam, o.nu);
    status[i] = st->status;
    if (iters) iters[i] = st->iter;
    if (keep && DFN(qp_status_has_solution)(st->status)) {
        size_t len = DFN(qp_work_persist_size)(bt->n, bt->m, bt->k);
        for (size_t e = 0; e < len; ++e) keep[e] = work[e];
    }
}

/* Solves instance i in the full workspace `work`: the phases in order with
 * the factorization in kernel (the CPU backend, and the CUDA backend's
 * small-n path, one thread per instance). keep as in qp_instance_end. */
DOPT_KFN void DFN(qp_solve_instance)(const DFN(qp_batch) *bt, const DFN(qp_settings) *set, DREAL *work, DREAL *keep,
                                     int64_t i, DREAL *x, DREAL *lam, DREAL *nu, int32_t *status, int32_t *iters)
{
    DFN(qp_state) st;
    DFN(qp_instance_begin)(bt, work, &st, i, keep != NULL);
    while (DFN(qp_instance_before_factor)(bt, set, work, &st, i, x, lam, nu))
        DFN(qp_instance_after_factor)(bt, set, work, &st, i, x, lam, nu, DFN(qp_instance_factor)(bt, work, i));
    DFN(qp_instance_end)(bt, work, &st, keep, i, x, lam, nu, status, iters);
}

/* 1 when instance i's incoming gradients (gx, and glam, gnu when given) are
 * all finite. */
DOPT_KFN int DFN(qp_grad_in_finite)(int n, int m, int k, const DREAL *gx, const DREAL *glam, const DREAL *gnu,
                                    int64_t i)
{
    if (!DFN(qp_all_finite)((size_t)n, gx + i * n)) return 0;
    if (glam && !DFN(qp_all_finite)((size_t)m, glam + i * m)) return 0;
    if (gnu && !DFN(qp_all_finite)((size_t)k, gnu + i * k)) return 0;
    return 1;
}

/* Adjoint of instance i into DX, DLT, DN (zero unless it was solved): the
 * kept prefix is copied into the full workspace `work`, whose rest is the
 * refinement's scratch. A NaN or Inf in the instance's incoming gradient
 * makes its whole adjoint NaN, whatever its status, so every gradient of
 * that instance (and the batch sums of shared ones) is NaN: a non-finite
 * incoming gradient never vanishes into a zero or a finite number. */
DOPT_KFN void DFN(qp_adjoint_instance)(const DFN(qp_batch) *bt, const DREAL *kept, DREAL *work, int refine,
                                       int32_t status, const DREAL *gx, const DREAL *glam, const DREAL *gnu, int64_t i,
                                       DREAL *DX, DREAL *DLT, DREAL *DN)
{
    int n = bt->n, m = bt->m, k = bt->k;
    DREAL *dx = DX + i * n, *dlt = DLT + i * m, *dn = DN + i * k;
    if (!DFN(qp_grad_in_finite)(n, m, k, gx, glam, gnu, i)) {
        DREAL nan = (DREAL)NAN;
        for (int j = 0; j < n; ++j) dx[j] = nan;
        for (int r = 0; r < m; ++r) dlt[r] = nan;
        for (int r = 0; r < k; ++r) dn[r] = nan;
        return;
    }
    if (!DFN(qp_status_has_solution)(status)) {
        for (int j = 0; j < n; ++j) dx[j] = 0;
        for (int r = 0; r < m; ++r) dlt[r] = 0;
        for (int r = 0; r < k; ++r) dn[r] = 0;
        return;
    }
    size_t len = DFN(qp_work_persist_size)(n, m, k);
    for (size_t e = 0; e < len; ++e) work[e] = kept[e];
    DFN(qp_view) v = DFN(qp_batch_view)(bt, i);
    DFN(qp_adjoint)(&v, work, refine, gx + i * n, glam ? glam + i * m : NULL, gnu ? gnu + i * k : NULL, dx, dlt, dn);
}

/* One row of a per-instance outer-product gradient:
 * out = scale * (u x + vv y), the rows of dQ (u = dx_i, x, vv = x_i, y = dx),
 * dG (dlt_r, x, lam_r, dx) and dA (dnu_r, x, nu_r, dx). */
DOPT_KFN void DFN(qp_outer_row)(int n, DREAL scale, DREAL u, const DREAL *x, DREAL vv, const DREAL *y, DREAL *out)
{
    u *= scale;
    vv *= scale;
    for (int c = 0; c < n; ++c) out[c] = u * x[c] + vv * y[c];
}

/* ---- ragged batches: instance i as a batch of one ---- */

/* Instance i of a ragged batch as a one-instance batch over the concatenated
 * data (Q NULL stays NULL): everything per instance then runs the uniform
 * code at index 0, so a ragged instance computes exactly what solving it
 * alone computes. */
DOPT_KFN DFN(qp_batch) DFN(qp_ragged_batch)(const dopt_qp_ragged_index *ix, const DREAL *Q, const DREAL *p,
                                           const DREAL *G, const DREAL *h, const DREAL *A, const DREAL *b, int64_t i)
{
    DFN(qp_batch) bt;
    int n = ix->n[i], m = ix->m ? ix->m[i] : 0, k = ix->k ? ix->k[i] : 0;
    bt.Q = Q ? Q + ix->oQ[i] : NULL;
    bt.p = p + ix->on[i];
    bt.G = m && G ? G + ix->oG[i] : NULL;
    bt.h = m && h ? h + ix->om[i] : NULL;
    bt.A = k && A ? A + ix->oA[i] : NULL;
    bt.b = k && b ? b + ix->ok[i] : NULL;
    bt.sQ = (int64_t)n * n;
    bt.sp = n;
    bt.sG = (int64_t)m * n;
    bt.sh = m;
    bt.sA = (int64_t)k * n;
    bt.sb = k;
    bt.n = n;
    bt.m = m;
    bt.k = k;
    return bt;
}

/* Solves instance i of a ragged batch in the workspace `work` (at least
 * qp_work_size of its sizes), writing x, lam, nu at its offsets and status,
 * iters at i; keep (the tape's base, or NULL) gets its factorization at
 * ix->keep[i]. */
DOPT_KFN void DFN(qp_ragged_solve_instance)(const dopt_qp_ragged_index *ix, const DREAL *Q, const DREAL *p,
                                            const DREAL *G, const DREAL *h, const DREAL *A, const DREAL *b,
                                            const DFN(qp_settings) *set, DREAL *work, DREAL *keep, int64_t i,
                                            DREAL *x, DREAL *lam, DREAL *nu, int32_t *status, int32_t *iters)
{
    DFN(qp_batch) bt = DFN(qp_ragged_batch)(ix, Q, p, G, h, A, b, i);
    DFN(qp_solve_instance)(&bt, set, work, keep ? keep + ix->keep[i] : NULL, 0, x + ix->on[i],
                           bt.m ? lam + ix->om[i] : NULL, bt.k ? nu + ix->ok[i] : NULL, status + i,
                           iters ? iters + i : NULL);
}

/* Adjoint of instance i of a ragged batch (qp_adjoint_instance at its
 * offsets): DX, DLT, DN in the x, lam, nu layouts. */
DOPT_KFN void DFN(qp_ragged_adjoint_instance)(const dopt_qp_ragged_index *ix, const DFN(qp_batch) *bt,
                                              const DREAL *kept, DREAL *work, int refine, int32_t status,
                                              const DREAL *gx, const DREAL *glam, const DREAL *gnu, int64_t i,
                                              DREAL *DX, DREAL *DLT, DREAL *DN)
{
    DFN(qp_adjoint_instance)(bt, kept + ix->keep[i], work, refine, status, gx + ix->on[i],
                             glam && bt->m ? glam + ix->om[i] : NULL, gnu && bt->k ? gnu + ix->ok[i] : NULL, 0,
                             DX + ix->on[i], DLT + ix->om[i], DN + ix->ok[i]);
}

/* The gradients of instance i of a ragged batch from its adjoint, each
 * output optional, the arithmetic of the uniform backward for a batch of
 * one: dQ = 1/2 (dx x' + x dx') (with Q NULL the uniform layer treats Q as
 * shared: the batch-sum form, (0 + dx_r x + x_r dx) / 2, reproduced here),
 * dp = dx, dG = dlt x' + lam dx', dh = -dlt, dA = dnu x' + nu dx', db = -dnu. */
DOPT_KFN void DFN(qp_ragged_grads_instance)(const dopt_qp_ragged_index *ix, int has_Q, int64_t i, const DREAL *x,
                                            const DREAL *lam, const DREAL *nu, const DREAL *DX, const DREAL *DLT,
                                            const DREAL *DN, DREAL *dQ, DREAL *dp, DREAL *dG, DREAL *dh, DREAL *dA,
                                            DREAL *db)
{
    int n = ix->n[i], m = ix->m ? ix->m[i] : 0, k = ix->k ? ix->k[i] : 0;
    const DREAL *xi = x + ix->on[i], *dx = DX + ix->on[i];
    if (dp)
        for (int j = 0; j < n; ++j) dp[ix->on[i] + j] = dx[j];
    if (dQ) {
        DREAL *o = dQ + ix->oQ[i];
        for (int r = 0; r < n; ++r) {
            if (has_Q) {
                DFN(qp_outer_row)(n, (DREAL)0.5, dx[r], xi, xi[r], dx, o + (size_t)r * n);
                continue;
            }
            DREAL *orow = o + (size_t)r * n;
            for (int c = 0; c < n; ++c) orow[c] = 0;
            if (!(dx[r] == 0 && xi[r] == 0))
                for (int c = 0; c < n; ++c) orow[c] += dx[r] * xi[c] + xi[r] * dx[c];
            for (int c = 0; c < n; ++c) orow[c] *= (DREAL)0.5;
        }
    }
    if (m) {
        const DREAL *dl = DLT + ix->om[i], *li = lam + ix->om[i];
        if (dG)
            for (int r = 0; r < m; ++r) DFN(qp_outer_row)(n, 1, dl[r], xi, li[r], dx, dG + ix->oG[i] + (size_t)r * n);
        if (dh)
            for (int r = 0; r < m; ++r) dh[ix->om[i] + r] = -1 * dl[r];
    }
    if (k) {
        const DREAL *dn = DN + ix->ok[i], *ni = nu + ix->ok[i];
        if (dA)
            for (int r = 0; r < k; ++r) DFN(qp_outer_row)(n, 1, dn[r], xi, ni[r], dx, dA + ix->oA[i] + (size_t)r * n);
        if (db)
            for (int r = 0; r < k; ++r) db[ix->ok[i] + r] = -1 * dn[r];
    }
}

/* ---- ragged batches in size classes: pad-and-gather, scatter ----
 * A class (N, M, K) holds instances with n <= N, m <= M, k <= K as one
 * uniform batch, slot c holding instance i = members[c]. Padding that
 * changes neither the solution nor the gradient (docs/QP.md "Ragged
 * batches"): a padded variable j >= n gets Q_jj = 1, p_j = 0 and zero
 * columns in G and A except below; a padded inequality row is a zero row
 * with h = +inf (an absent row: no slack, no dual, not counted in mu); the
 * padded equality row r >= k is paired with its own padded variable
 * j = n + (r - k) (A[r, j] = 1, b_r = 0; the class builder guarantees
 * N - n >= K - k), so it reads x_j = 0, which the padded block satisfies
 * with nu_r = 0. The KKT system is block diagonal with a zero right-hand
 * side in the padded block, so the padded entries stay 0 and the real
 * block's equations are the instance's own. */

/* Slot c of a class's data from instance i (Q NULL: an LP, zero block). */
DOPT_KFN void DFN(qp_ragged_pad_data)(const dopt_qp_ragged_index *ix, const DREAL *Q, const DREAL *p, const DREAL *G,
                                      const DREAL *h, const DREAL *A, const DREAL *b, int64_t i, int N, int M, int K,
                                      int64_t c, DREAL *Qc, DREAL *pc, DREAL *Gc, DREAL *hc, DREAL *Ac, DREAL *bc)
{
    int n = ix->n[i], m = ix->m ? ix->m[i] : 0, k = ix->k ? ix->k[i] : 0;
    const DREAL *Qi = Q ? Q + ix->oQ[i] : NULL, *pi = p + ix->on[i];
    DREAL *Qo = Qc + c * (int64_t)N * N, *po = pc + c * (int64_t)N;
    for (int r = 0; r < N; ++r)
        for (int col = 0; col < N; ++col)
            Qo[(size_t)r * N + col] = r < n && col < n ? (Qi ? Qi[(size_t)r * n + col] : 0) : (r == col ? 1 : 0);
    for (int j = 0; j < N; ++j) po[j] = j < n ? pi[j] : 0;
    if (M) {
        DREAL *Go = Gc + c * (int64_t)M * N, *ho = hc + c * (int64_t)M;
        for (int r = 0; r < M; ++r) {
            for (int col = 0; col < N; ++col) Go[(size_t)r * N + col] = r < m && col < n ? G[ix->oG[i] + (size_t)r * n + col] : 0;
            ho[r] = r < m ? h[ix->om[i] + r] : (DREAL)INFINITY;
        }
    }
    if (K) {
        DREAL *Ao = Ac + c * (int64_t)K * N, *bo = bc + c * (int64_t)K;
        for (int r = 0; r < K; ++r) {
            for (int col = 0; col < N; ++col)
                Ao[(size_t)r * N + col] = r < k ? (col < n ? A[ix->oA[i] + (size_t)r * n + col] : 0)
                                                : (col == n + (r - k) ? 1 : 0);
            bo[r] = r < k ? b[ix->ok[i] + r] : 0;
        }
    }
}

/* Slot c of a class's incoming gradients from instance i's (zero in the
 * padding; glam, gnu may be NULL). */
DOPT_KFN void DFN(qp_ragged_pad_grad_in)(const dopt_qp_ragged_index *ix, const DREAL *gx, const DREAL *glam,
                                         const DREAL *gnu, int64_t i, int N, int M, int K, int64_t c, DREAL *gxc,
                                         DREAL *glamc, DREAL *gnuc)
{
    int n = ix->n[i], m = ix->m ? ix->m[i] : 0, k = ix->k ? ix->k[i] : 0;
    for (int j = 0; j < N; ++j) gxc[c * N + j] = j < n ? gx[ix->on[i] + j] : 0;
    if (M && glamc)
        for (int r = 0; r < M; ++r) glamc[c * M + r] = r < m && glam ? glam[ix->om[i] + r] : 0;
    if (K && gnuc)
        for (int r = 0; r < K; ++r) gnuc[c * K + r] = r < k && gnu ? gnu[ix->ok[i] + r] : 0;
}

/* Instance i's solution from slot c (the padding dropped). */
DOPT_KFN void DFN(qp_ragged_unpad_solution)(const dopt_qp_ragged_index *ix, int64_t i, int N, int M, int K, int64_t c,
                                            const DREAL *xc, const DREAL *lamc, const DREAL *nuc,
                                            const int32_t *statusc, const int32_t *itersc, DREAL *x, DREAL *lam,
                                            DREAL *nu, int32_t *status, int32_t *iters)
{
    int n = ix->n[i], m = ix->m ? ix->m[i] : 0, k = ix->k ? ix->k[i] : 0;
    for (int j = 0; j < n; ++j) x[ix->on[i] + j] = xc[c * N + j];
    for (int r = 0; r < m; ++r) lam[ix->om[i] + r] = lamc[c * M + r];
    for (int r = 0; r < k; ++r) nu[ix->ok[i] + r] = nuc[c * K + r];
    status[i] = statusc[c];
    if (iters && itersc) iters[i] = itersc[c];
}

/* Instance i's gradients from slot c (each optional; the padding's dropped). */
DOPT_KFN void DFN(qp_ragged_unpad_grads)(const dopt_qp_ragged_index *ix, int64_t i, int N, int M, int K, int64_t c,
                                         const DREAL *dQc, const DREAL *dpc, const DREAL *dGc, const DREAL *dhc,
                                         const DREAL *dAc, const DREAL *dbc, DREAL *dQ, DREAL *dp, DREAL *dG,
                                         DREAL *dh, DREAL *dA, DREAL *db)
{
    int n = ix->n[i], m = ix->m ? ix->m[i] : 0, k = ix->k ? ix->k[i] : 0;
    if (dQ)
        for (int r = 0; r < n; ++r)
            for (int col = 0; col < n; ++col)
                dQ[ix->oQ[i] + (size_t)r * n + col] = dQc[c * (int64_t)N * N + (size_t)r * N + col];
    if (dp)
        for (int j = 0; j < n; ++j) dp[ix->on[i] + j] = dpc[c * N + j];
    if (dG)
        for (int r = 0; r < m; ++r)
            for (int col = 0; col < n; ++col)
                dG[ix->oG[i] + (size_t)r * n + col] = dGc[c * (int64_t)M * N + (size_t)r * N + col];
    if (dh)
        for (int r = 0; r < m; ++r) dh[ix->om[i] + r] = dhc[c * M + r];
    if (dA)
        for (int r = 0; r < k; ++r)
            for (int col = 0; col < n; ++col)
                dA[ix->oA[i] + (size_t)r * n + col] = dAc[c * (int64_t)K * N + (size_t)r * N + col];
    if (db)
        for (int r = 0; r < k; ++r) db[ix->ok[i] + r] = dbc[c * K + r];
}
