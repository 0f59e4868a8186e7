/* CPU backend of the diffusion kernels for one precision (included twice by
 * diffusion_cpu.c): loops over rows on the thread pool. Each row's result
 * depends only on its own data and (seed, row, step), so the results are
 * bitwise the same for every thread count. */

typedef struct {
    DFN(diff_step_args) a;
    DFN(diff_batch) bt;
    int n, round;
    DREAL *x, *eps, *out, *obj, *viol, tol;
    const DREAL *cx, *ceps;
    DREAL *scratch;
    size_t ssz;
    int32_t *best;
    int kind; /* 0 step, 1 noise, 2 target, 3 score, 4 select */
    double abar;
    uint64_t seed;
    uint32_t step;
    DREAL go, gc, lam;
} DFN(diff_job);

static void DFN(diff_range)(void *arg, int64_t r0, int64_t r1, int worker)
{
    DFN(diff_job) *j = (DFN(diff_job) *)arg;
    DREAL *s = j->scratch + (size_t)worker * j->ssz;
    for (int64_t r = r0; r < r1; ++r) {
        switch (j->kind) {
        case 0: DFN(diff_step_entry)(&j->a, &j->bt, j->n, r, j->x, j->eps, s); break;
        case 1:
            DFN(diff_noise_forward)(j->n, j->cx + r * j->n, j->abar, j->seed, (uint32_t)r, j->step, j->x + r * j->n,
                                    j->eps + r * j->n);
            break;
        case 2: DFN(diff_target_entry)(&j->bt, j->cx, j->ceps, j->abar, j->go, j->gc, j->lam, j->round, r, s, j->out); break;
        case 3: DFN(diff_score_entry)(&j->bt, j->cx, j->round, r, s, j->obj, j->viol); break;
        default: j->best[r] = DFN(diff_select_entry)(&j->bt, j->cx, j->round, j->tol, j->obj, j->viol, r, j->out); break;
        }
    }
}

static dopt_status DFN(diff_run)(dopt_context *ctx, DFN(diff_job) *j, int64_t count)
{
    int64_t grain = j->n >= 256 ? 4 : 64;
    int workers = dopt_worker_count(ctx->threads, count, grain);
    DOPT_TRY(dopt_scratch_reserve(ctx, sizeof(DREAL) * (j->ssz ? j->ssz : 1) * (size_t)workers, (void **)&j->scratch));
    dopt_parallel_for(ctx, workers, count, grain, DFN(diff_range), j);
    return DOPT_OK;
}

/* The CSR check (kernels/diffusion.h) over the instances in parallel: each
 * worker keeps the lowest bad instance it saw (a chunk stops at its first),
 * so the one reported is the lowest overall, whatever the partition. */
typedef struct {
    DFN(diff_batch) bt;
    int64_t *first; /* per worker */
} DFN(diff_check_job);

static void DFN(diff_check_range)(void *arg, int64_t i0, int64_t i1, int worker)
{
    DFN(diff_check_job) *j = (DFN(diff_check_job) *)arg;
    for (int64_t i = i0; i < i1 && i < j->first[worker]; ++i) {
        int row;
        int32_t col;
        if (DFN(diff_check_csr)(&j->bt, i, &row, &col) != DOPT_DIFF_CSR_OK) {
            j->first[worker] = i;
            return;
        }
    }
}

/* DOPT_ERR_INVALID_ARGUMENT naming the first bad instance and row, before
 * anything reads through the guide's CSR. O(m + nnz) per distinct A. */
static dopt_status DFN(diff_check_cpu)(dopt_context *ctx, const dopt_diffusion_guide *guide, const char *what)
{
    if (!guide || guide->m == 0) return DOPT_OK;
    DFN(diff_check_job) j;
    j.bt = DFN(diff_batch_of)(guide);
    int64_t count = DFN(diff_csr_copies)(&j.bt, guide->batch);
    int64_t grain = 16;
    int workers = dopt_worker_count(ctx->threads, count, grain);
    DOPT_TRY(dopt_scratch_reserve(ctx, sizeof(int64_t) * (size_t)workers, (void **)&j.first));
    for (int w = 0; w < workers; ++w) j.first[w] = INT64_MAX;
    dopt_parallel_for(ctx, workers, count, grain, DFN(diff_check_range), &j);
    int64_t bad = INT64_MAX;
    for (int w = 0; w < workers; ++w)
        if (j.first[w] < bad) bad = j.first[w];
    if (bad == INT64_MAX) return DOPT_OK;
    int row;
    int32_t col;
    int code = DFN(diff_check_csr)(&j.bt, bad, &row, &col);
    char msg[256];
    dopt_diff_csr_message(msg, sizeof msg, what, j.bt.sR == 0, (long long)bad, code, row, col, guide->n);
    return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s", msg);
}

static dopt_status DFN(diff_step_cpu)(dopt_context *ctx, const dopt_diffusion_step_desc *st, int64_t rows, int32_t n,
                                      void *x, void *eps_hat, const dopt_diffusion_guide *guide, const dopt_guidance *g)
{
    DOPT_TRY(DFN(diff_check_cpu)(ctx, guide, "diffusion step"));
    DFN(diff_job) j;
    memset(&j, 0, sizeof j);
    j.kind = 0;
    j.n = n;
    j.bt = DFN(diff_batch_of)(guide);
    j.a.sampler = (int)st->sampler;
    j.a.abar_t = st->abar[st->t];
    j.a.abar_prev = st->abar[st->t_prev];
    j.a.eta = st->eta;
    j.a.last = st->t_prev == 0;
    j.a.seed = st->seed;
    j.a.step = (uint32_t)st->t;
    j.a.guided = guide != NULL;
    if (g) {
        j.a.gamma_o = (DREAL)g->gamma_o;
        j.a.gamma_c = (DREAL)g->gamma_c;
        j.a.lambda = (DREAL)g->lambda;
    }
    j.x = (DREAL *)x;
    j.eps = (DREAL *)eps_hat;
    j.ssz = guide ? (size_t)guide->m + (size_t)n : 1;
    return DFN(diff_run)(ctx, &j, rows);
}

static dopt_status DFN(diff_noise_cpu)(dopt_context *ctx, int64_t rows, int32_t n, const void *x0, double abar,
                                       uint64_t seed, uint32_t step, void *xt, void *eps)
{
    DFN(diff_job) j;
    memset(&j, 0, sizeof j);
    j.kind = 1;
    j.n = n;
    j.cx = (const DREAL *)x0;
    j.x = (DREAL *)xt;
    j.eps = (DREAL *)eps;
    j.abar = abar;
    j.seed = seed;
    j.step = step;
    j.ssz = 1;
    return DFN(diff_run)(ctx, &j, rows);
}

static dopt_status DFN(diff_target_cpu)(dopt_context *ctx, const dopt_diffusion_guide *guide, const dopt_guidance *g,
                                        const void *xt, const void *eps, double abar, int round, void *target)
{
    DOPT_TRY(DFN(diff_check_cpu)(ctx, guide, "srg target"));
    DFN(diff_job) j;
    memset(&j, 0, sizeof j);
    j.kind = 2;
    j.n = guide->n;
    j.bt = DFN(diff_batch_of)(guide);
    j.cx = (const DREAL *)xt;
    j.ceps = (const DREAL *)eps;
    j.out = (DREAL *)target;
    j.abar = abar;
    j.round = round;
    j.go = (DREAL)g->gamma_o;
    j.gc = (DREAL)g->gamma_c;
    j.lam = (DREAL)g->lambda;
    j.ssz = (size_t)guide->n + (size_t)guide->m;
    return DFN(diff_run)(ctx, &j, guide->batch * (int64_t)guide->samples);
}

static dopt_status DFN(diff_candidates_cpu)(dopt_context *ctx, const dopt_diffusion_guide *guide, const void *x, int round,
                                            double tol, void *objective, void *violation, int32_t *best, void *best_x)
{
    DOPT_TRY(DFN(diff_check_cpu)(ctx, guide, "candidates"));
    int64_t rows = guide->batch * (int64_t)guide->samples;
    DREAL *obj = objective ? (DREAL *)objective : (DREAL *)malloc(sizeof(DREAL) * (size_t)rows);
    DREAL *viol = violation ? (DREAL *)violation : (DREAL *)malloc(sizeof(DREAL) * (size_t)rows);
    if (!obj || !viol) {
        if (!objective) free(obj);
        if (!violation) free(viol);
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "candidates: out of memory");
    }
    DFN(diff_job) j;
    memset(&j, 0, sizeof j);
    j.kind = 3;
    j.n = guide->n;
    j.bt = DFN(diff_batch_of)(guide);
    j.cx = (const DREAL *)x;
    j.round = round;
    j.obj = obj;
    j.viol = viol;
    j.ssz = (size_t)guide->n;
    dopt_status s = DFN(diff_run)(ctx, &j, rows);
    if (s == DOPT_OK) {
        j.kind = 4;
        j.tol = (DREAL)tol;
        j.best = best;
        j.out = (DREAL *)best_x;
        s = DFN(diff_run)(ctx, &j, guide->batch);
    }
    if (!objective) free(obj);
    if (!violation) free(viol);
    return s;
}
