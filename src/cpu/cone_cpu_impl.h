/* CPU backend of the cone layer for one precision (included twice by
 * cone_cpu.c with DREAL / DFN set): loops over instances on the thread
 * pool, each running kernels/cone_ipm.h, the code the CUDA backend runs. */

typedef struct {
    DFN(cone_batch) bt;
    dopt_cone_layout L;
    DFN(cone_settings) set;
    DREAL *work; /* one workspace per worker */
    size_t wsz;
    DREAL *keep; /* the tape's slots, or NULL */
    size_t ksz;
    DREAL *x, *s, *z, *y;
    int32_t *status, *iters;
} DFN(cone_solve_job);

static void DFN(cone_solve_range)(void *arg, int64_t b0, int64_t b1, int worker)
{
    DFN(cone_solve_job) *job = (DFN(cone_solve_job) *)arg;
    DREAL *wk = job->work + (size_t)worker * job->wsz;
    int n = job->bt.n, k = job->bt.k, m = job->bt.m;
    for (int64_t i = b0; i < b1; ++i) {
        DFN(cone_view) v = DFN(cone_view_of)(&job->bt, i);
        int32_t it = 0;
        int st = DFN(cone_solve_instance)(&v, &job->L, &job->set, wk, job->keep ? job->keep + (size_t)i * job->ksz : NULL,
                                          job->x + i * n, job->s + i * m, job->z + i * m, job->y + i * k, &it);
        job->status[i] = st;
        if (job->iters) job->iters[i] = it;
    }
}

static dopt_status DFN(cone_solve_cpu)(dopt_context *ctx, const dopt_cone_problem *P, const dopt_cone_options *o,
                                       dopt_cone_solution *sol, dopt_cone_tape *tape)
{
    int64_t B = P->batch;
    DFN(cone_solve_job) job;
    job.L = dopt_cone_layout_of(&P->cones, P->cones.q, P->cones.s);
    job.bt = DFN(cone_batch_of)(P, job.L.m);
    job.set = DFN(cone_settings_of)(o);
    job.wsz = dopt_cone_work_size(P->n, P->k, &job.L);
    job.ksz = dopt_cone_keep_size(P->n, P->k, &job.L);
    job.keep = tape ? (DREAL *)tape->keep : NULL;
    /* m = 0 or k = 0: the kernels still index the outputs, never write them */
    static DREAL none[1];
    job.x = (DREAL *)sol->x;
    job.s = job.L.m ? (DREAL *)sol->s : none;
    job.z = job.L.m ? (DREAL *)sol->z : none;
    job.y = P->k ? (DREAL *)sol->y : none;
    job.status = sol->status;
    job.iters = sol->iters;
    int workers = dopt_worker_count(ctx->threads, B, 1);
    DOPT_TRY(dopt_scratch_reserve(ctx, sizeof(DREAL) * job.wsz * (size_t)workers, (void **)&job.work));
    dopt_parallel_for(ctx, workers, B, 1, DFN(cone_solve_range), &job);
    return DOPT_OK;
}

/* ---- backward ---- */

typedef struct {
    const dopt_cone_tape *T;
    dopt_cone_layout L;
    int n, k, m;
    const DREAL *gx, *gs, *gz, *gy;
    DREAL *U; /* per instance (ux, uy, uz) */
    DREAL *work;
} DFN(cone_adjoint_job);

static void DFN(cone_adjoint_range)(void *arg, int64_t b0, int64_t b1, int worker)
{
    DFN(cone_adjoint_job) *j = (DFN(cone_adjoint_job) *)arg;
    int n = j->n, k = j->k, m = j->m, N = n + k + m;
    DREAL *wk = j->work + (size_t)worker * 4 * N;
    const int32_t *status = (const int32_t *)j->T->status;
    for (int64_t i = b0; i < b1; ++i) {
        DREAL *u = j->U + (size_t)i * N;
        DFN(cone_adjoint_instance)(&j->L, n, k, (const DREAL *)j->T->keep + (size_t)i * j->T->keep_per_instance,
                                   j->T->opt.refine + 2, status[i], j->gx + i * n, j->gs ? j->gs + i * m : NULL,
                                   j->gz ? j->gz + i * m : NULL, j->gy ? j->gy + i * k : NULL, u, u + n, u + n + k,
                                   wk);
    }
}

/* out (rows x n) = -(P_b ux_b' + Q_b x_b') per instance b, or its sum over
 * the batch when shared (in instance order: independent of the threads).
 * P, Q are the solution's and the adjoint's row vectors (at offsets pofs,
 * qofs of the tape's solution and the adjoint), x and ux the x parts. */
typedef struct {
    const dopt_cone_tape *T;
    const DREAL *U;
    int64_t B;
    int rows, n, N, pofs, shared;
    DREAL *out;
} DFN(cone_outer_job);

static void DFN(cone_outer_row)(const DFN(cone_outer_job) *j, int64_t b, int r, DREAL *o)
{
    const DREAL *sol = (const DREAL *)j->T->keep + (size_t)b * j->T->keep_per_instance + 2 * (size_t)j->N * j->N + j->N;
    const DREAL *u = j->U + (size_t)b * j->N;
    DREAL p = sol[j->pofs + r], q = u[j->pofs + r];
    if (p == 0 && q == 0) return;
    for (int c = 0; c < j->n; ++c) o[c] -= p * u[c] + q * sol[c];
}

static void DFN(cone_outer_range)(void *arg, int64_t t0, int64_t t1, int worker)
{
    (void)worker;
    DFN(cone_outer_job) *j = (DFN(cone_outer_job) *)arg;
    size_t n = (size_t)j->n;
    for (int64_t t = t0; t < t1; ++t) {
        if (j->shared) { /* task t: output row t, summed over the batch */
            DREAL *o = j->out + (size_t)t * n;
            for (size_t c = 0; c < n; ++c) o[c] = 0;
            for (int64_t b = 0; b < j->B; ++b) DFN(cone_outer_row)(j, b, (int)t, o);
        } else { /* task t: instance t's rows */
            for (int r = 0; r < j->rows; ++r) {
                DREAL *o = j->out + ((size_t)t * j->rows + r) * n;
                for (size_t c = 0; c < n; ++c) o[c] = 0;
                DFN(cone_outer_row)(j, t, r, o);
            }
        }
    }
}

/* out (len) = sign * U's block at ofs, per instance or summed when shared */
static void DFN(cone_vec_grad)(int64_t B, int N, int ofs, int len, int shared, DREAL sign, const DREAL *U, DREAL *out)
{
    if (!shared) {
        for (int64_t b = 0; b < B; ++b)
            for (int c = 0; c < len; ++c) out[(size_t)b * len + c] = sign * U[(size_t)b * N + ofs + c];
        return;
    }
    for (int c = 0; c < len; ++c) out[c] = 0;
    for (int64_t b = 0; b < B; ++b)
        for (int c = 0; c < len; ++c) out[c] += U[(size_t)b * N + ofs + c];
    for (int c = 0; c < len; ++c) out[c] *= sign;
}

static dopt_status DFN(cone_backward_cpu)(dopt_context *ctx, const dopt_cone_tape *T, const dopt_cone_grad_in *gin,
                                          dopt_cone_grad_out *g)
{
    const dopt_cone_problem *P = &T->prob;
    int64_t B = P->batch;
    int n = P->n, k = P->k, m = (int)dopt_cone_rows(&P->cones), N = n + k + m;
    DFN(cone_adjoint_job) job;
    job.T = T;
    job.L = dopt_cone_layout_of(&P->cones, P->cones.q, P->cones.s);
    job.n = n;
    job.k = k;
    job.m = m;
    job.gx = (const DREAL *)gin->dx;
    job.gs = m ? (const DREAL *)gin->ds : NULL;
    job.gz = m ? (const DREAL *)gin->dz : NULL;
    job.gy = k ? (const DREAL *)gin->dy : NULL;
    job.U = (DREAL *)T->adjoint;
    int workers = dopt_worker_count(ctx->threads, B, 1);
    DOPT_TRY(dopt_scratch_reserve(ctx, sizeof(DREAL) * 4 * (size_t)N * (size_t)workers, (void **)&job.work));
    dopt_parallel_for(ctx, workers, B, 1, DFN(cone_adjoint_range), &job);
    unsigned sh = P->shared;
    /* dc = -ux, db = uy, dh = uz, dA = -(y ux' + uy x'), dG = -(z ux' + uz x') */
    if (g->dc) DFN(cone_vec_grad)(B, N, 0, n, (sh & DOPT_CONE_SHARE_C) != 0, -1, job.U, (DREAL *)g->dc);
    if (k && g->db) DFN(cone_vec_grad)(B, N, n, k, (sh & DOPT_CONE_SHARE_B) != 0, 1, job.U, (DREAL *)g->db);
    if (m && g->dh) DFN(cone_vec_grad)(B, N, n + k, m, (sh & DOPT_CONE_SHARE_H) != 0, 1, job.U, (DREAL *)g->dh);
    struct {
        void *out;
        int rows, pofs;
        unsigned bit;
    } mats[2] = {{g->dA, k, n, DOPT_CONE_SHARE_A}, {g->dG, m, n + k, DOPT_CONE_SHARE_G}};
    for (int a = 0; a < 2; ++a) {
        if (!mats[a].out || !mats[a].rows) continue;
        DFN(cone_outer_job) oj = {T, job.U, B, mats[a].rows, n, N, mats[a].pofs, (sh & mats[a].bit) != 0,
                                  (DREAL *)mats[a].out};
        int64_t tasks = oj.shared ? mats[a].rows : B;
        dopt_parallel_for(ctx, dopt_worker_count(ctx->threads, tasks, 4), tasks, 4, DFN(cone_outer_range), &oj);
    }
    return DOPT_OK;
}
