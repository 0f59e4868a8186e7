/* CPU backend of the QP layer for one precision (included twice by
 * qp_cpu.c with DREAL / DFN set): a loop over instances on the thread pool,
 * each running kernels/qp_ipm.h, the code the CUDA backend runs. */

/* a solve's job (kernels/qp_ilv_driver_impl.h) and one full workspace per
 * worker (it stays in cache) */
typedef struct {
    DFN(qpl_job) job;
    DREAL *work;
} DFN(qp_solve_job);

static void DFN(qp_solve_range)(void *arg, int64_t b0, int64_t b1, int worker)
{
    DFN(qp_solve_job) *sj = (DFN(qp_solve_job) *)arg;
    const DFN(qpl_job) *job = &sj->job;
    DREAL *wk = sj->work + (size_t)worker * job->wsz;
    for (int64_t i = b0; i < b1; ++i)
        DFN(qp_solve_instance)(&job->bt, &job->set, wk, job->keep ? job->keep + (size_t)i * job->psz : NULL, i,
                               job->x, job->lam, job->nu, job->status, job->iters);
}

/* The tape's persistent prefix per instance, reserved (keep = NULL without
 * a tape), and after the solve the tape's copy of the solution. */
static dopt_status DFN(qp_cpu_tape_reserve)(dopt_context *ctx, const dopt_qp_problem *P, dopt_qp_tape *tape,
                                            DREAL **keep)
{
    *keep = NULL;
    if (!tape) return DOPT_OK;
    size_t psz = DFN(qp_work_persist_size)(P->n, P->m, P->k);
    if (!dopt_host_reserve(&tape->work, &tape->cap_work, sizeof(DREAL) * psz * (size_t)P->batch))
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp: out of memory for the tape");
    *keep = (DREAL *)tape->work;
    return DOPT_OK;
}

static dopt_status DFN(qp_cpu_tape_finish)(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_solution *sol,
                                           dopt_qp_tape *tape)
{
    if (!tape) return DOPT_OK;
    tape->work_per_instance = DFN(qp_work_persist_size)(P->n, P->m, P->k);
    size_t B = (size_t)P->batch;
    return dopt_qp_cpu_tape_keep_solution(ctx, "qp", tape, sol, sizeof(DREAL), B * P->n, B * P->m, B * P->k,
                                          P->batch);
}

static dopt_status DFN(qp_solve_cpu)(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                                     dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    int64_t B = P->batch;
    if (B == 0) return DOPT_OK;
    int64_t grain = B >= 256 ? 8 : 1;
    int workers = dopt_worker_count(ctx->threads, B, grain);
    DREAL *keep;
    DOPT_TRY(DFN(qp_cpu_tape_reserve)(ctx, P, tape, &keep));
    DFN(qp_solve_job) sj;
    sj.job = DFN(qpl_job_of)(P, o, keep, sol);
    DOPT_TRY(dopt_scratch_reserve(ctx, sizeof(DREAL) * sj.job.wsz * (size_t)workers, (void **)&sj.work));
    dopt_parallel_for(ctx, workers, B, grain, DFN(qp_solve_range), &sj);
    return DFN(qp_cpu_tape_finish)(ctx, P, sol, tape);
}

/* ---- backward ---- */

typedef struct {
    const dopt_qp_tape *T;
    DFN(qp_batch) bt;
    const DREAL *gx, *glam, *gnu;
    DREAL *DX, *DLT, *DN;
    DREAL *work; /* one full workspace per worker */
    size_t wsz;
} DFN(qp_adjoint_job);

static void DFN(qp_adjoint_range)(void *arg, int64_t b0, int64_t b1, int worker)
{
    DFN(qp_adjoint_job) *job = (DFN(qp_adjoint_job) *)arg;
    const dopt_qp_tape *T = job->T;
    DREAL *wk = job->work + (size_t)worker * job->wsz;
    for (int64_t i = b0; i < b1; ++i)
        DFN(qp_adjoint_instance)(&job->bt, (const DREAL *)T->work + i * T->work_per_instance, wk, T->opt.refine + 3,
                                 T->status[i], job->gx, job->glam, job->gnu, i, job->DX, job->DLT, job->DN);
}

/* out (rows x n) [+]= scale * (U r X' + V r Y') for each instance: the
 * outer-product gradients of Q (U=dx, X=x, V=x, Y=dx, scale 1/2), of G
 * (dlt, x, lam, dx) and of A (dnu, x, nu, dx). Shared: summed over the
 * batch in instance order, one output row per task, so the result does not
 * depend on the thread count. */
typedef struct {
    int64_t B;
    int rows, n, shared;
    DREAL scale;
    const DREAL *U, *X, *V, *Y;
    DREAL *out;
} DFN(qp_outer_job);

static void DFN(qp_outer_range)(void *arg, int64_t t0, int64_t t1, int worker)
{
    (void)worker;
    DFN(qp_outer_job) *j = (DFN(qp_outer_job) *)arg;
    size_t R = (size_t)j->rows, n = (size_t)j->n;
    if (j->shared) {
        for (int64_t r = t0; r < t1; ++r) {
            DREAL *o = j->out + (size_t)r * n;
            for (size_t c = 0; c < n; ++c) o[c] = 0;
            for (int64_t b = 0; b < j->B; ++b) {
                DREAL u = j->U[b * R + r], vv = j->V[b * R + r];
                const DREAL *x = j->X + b * n, *y = j->Y + b * n;
                if (u == 0 && vv == 0) continue;
                for (size_t c = 0; c < n; ++c) o[c] += u * x[c] + vv * y[c];
            }
            for (size_t c = 0; c < n; ++c) o[c] *= j->scale;
        }
    } else {
        for (int64_t b = t0; b < t1; ++b)
            for (size_t r = 0; r < R; ++r)
                DFN(qp_outer_row)(j->n, j->scale, j->U[b * R + r], j->X + b * n, j->V[b * R + r], j->Y + b * n,
                                  j->out + (b * R + r) * n);
    }
}

static void DFN(qp_outer)(dopt_context *ctx, int64_t B, int rows, int n, int shared, DREAL scale, const DREAL *U,
                          const DREAL *X, const DREAL *V, const DREAL *Y, DREAL *out)
{
    DFN(qp_outer_job) j = {B, rows, n, shared, scale, U, X, V, Y, out};
    int64_t tasks = shared ? rows : B;
    dopt_parallel_for(ctx, dopt_worker_count(ctx->threads, tasks, 4), tasks, 4, DFN(qp_outer_range), &j);
}

/* out (len) = scale * U_b (per instance) or scale * sum_b U_b (shared). */
static void DFN(qp_vec_grad)(int64_t B, int len, int shared, DREAL scale, const DREAL *U, DREAL *out)
{
    if (!shared) {
        for (size_t i = 0; i < (size_t)B * len; ++i) out[i] = scale * U[i];
        return;
    }
    for (int c = 0; c < len; ++c) out[c] = 0;
    for (int64_t b = 0; b < B; ++b)
        for (int c = 0; c < len; ++c) out[c] += U[(size_t)b * len + c];
    for (int c = 0; c < len; ++c) out[c] *= scale;
}

static dopt_status DFN(qp_backward_cpu)(dopt_context *ctx, const dopt_qp_tape *T, const dopt_qp_grad_in *gin,
                                        dopt_qp_grad_out *g)
{
    const dopt_qp_problem *P = &T->prob;
    int64_t B = P->batch;
    int n = P->n, m = P->m, k = P->k;
    DFN(qp_adjoint_job) job;
    job.T = T;
    job.bt = DFN(qp_batch_of)(P);
    job.gx = (const DREAL *)gin->dx;
    job.glam = m ? (const DREAL *)gin->dlam : NULL;
    job.gnu = k ? (const DREAL *)gin->dnu : NULL;
    /* scratch kept in the tape: repeated backward passes allocate nothing */
    dopt_qp_tape *Tm = (dopt_qp_tape *)T;
    if (!dopt_host_reserve(&Tm->adjoint, &Tm->cap_adjoint, sizeof(DREAL) * (size_t)B * (size_t)(n + m + k)))
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp backward: out of memory");
    job.DX = (DREAL *)Tm->adjoint;
    job.DLT = job.DX + (size_t)B * n;
    job.DN = job.DLT + (size_t)B * m;
    int64_t grain = B >= 256 ? 8 : 1;
    int workers = dopt_worker_count(ctx->threads, B, grain);
    job.wsz = DFN(qp_work_size)(n, m, k);
    DOPT_TRY(dopt_scratch_reserve(ctx, sizeof(DREAL) * job.wsz * (size_t)workers, (void **)&job.work));
    dopt_parallel_for(ctx, workers, B, grain, DFN(qp_adjoint_range), &job);
    const DREAL *x = (const DREAL *)T->x, *lam = (const DREAL *)T->lam, *nu = (const DREAL *)T->nu;
    unsigned sh = P->shared;
    if (g->dp) DFN(qp_vec_grad)(B, n, (sh & DOPT_QP_SHARE_P) != 0, 1, job.DX, (DREAL *)g->dp);
    if (g->dQ)
        DFN(qp_outer)(ctx, B, n, n, !P->Q || (sh & DOPT_QP_SHARE_Q), (DREAL)0.5, job.DX, x, x, job.DX,
                      (DREAL *)g->dQ);
    if (m && g->dG)
        DFN(qp_outer)(ctx, B, m, n, (sh & DOPT_QP_SHARE_G) != 0, 1, job.DLT, x, lam, job.DX, (DREAL *)g->dG);
    if (m && g->dh) DFN(qp_vec_grad)(B, m, (sh & DOPT_QP_SHARE_H) != 0, -1, job.DLT, (DREAL *)g->dh);
    if (k && g->dA)
        DFN(qp_outer)(ctx, B, k, n, (sh & DOPT_QP_SHARE_A) != 0, 1, job.DN, x, nu, job.DX, (DREAL *)g->dA);
    if (k && g->db) DFN(qp_vec_grad)(B, k, (sh & DOPT_QP_SHARE_B) != 0, -1, job.DN, (DREAL *)g->db);
    return DOPT_OK;
}
