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
        case 1: DFN(diff_noise_entry)(&j->bt, j->n, j->cx, j->abar, j->seed, j->step, r, j->x, j->eps); break;
        case 2: DFN(diff_target_entry)(&j->bt, j->cx, j->ceps, j->abar, j->go, j->gc, j->lam, j->round, r, s, j->out); break;
        case 3: DFN(diff_score_entry)(&j->bt, j->cx, j->round, r, s, j->obj, j->viol); break;
        default: j->best[r] = DFN(diff_select_entry)(&j->bt, j->cx, j->round, j->tol, j->obj, j->viol, r, j->out); break;
        }
    }
}

/* The loop over count rows (or instances); nlen: the longest row (grain). */
static dopt_status DFN(diff_run_sized)(dopt_context *ctx, DFN(diff_job) *j, int64_t count, int nlen)
{
    int64_t grain = nlen >= 256 ? 4 : 64;
    int workers = dopt_worker_count(ctx->threads, count, grain);
    DOPT_TRY(dopt_scratch_reserve(ctx, sizeof(DREAL) * (j->ssz ? j->ssz : 1) * (size_t)workers, (void **)&j->scratch));
    dopt_parallel_for(ctx, workers, count, grain, DFN(diff_range), j);
    return DOPT_OK;
}

static dopt_status DFN(diff_run)(dopt_context *ctx, DFN(diff_job) *j, int64_t count)
{
    return DFN(diff_run_sized)(ctx, j, count, j->n);
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
 * anything reads through the batch's CSR. O(m + nnz) per distinct A. */
static dopt_status DFN(diff_check_batch_cpu)(dopt_context *ctx, DFN(diff_batch) bt, int64_t batch, const char *what)
{
    DFN(diff_check_job) j;
    j.bt = bt;
    int64_t count = DFN(diff_csr_copies)(&j.bt, batch);
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
    int shared = j.bt.sR == 0 && !j.bt.var_ptr;
    dopt_diff_csr_message(msg, sizeof msg, what, shared, (long long)bad, code, row, col,
                          DFN(diff_nvar)(&j.bt, j.bt.n, bad), j.bt.var_ptr ? (long long)j.bt.var_ptr[bad] : -1);
    return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s", msg);
}

static dopt_status DFN(diff_check_cpu)(dopt_context *ctx, const dopt_diffusion_guide *guide, const char *what)
{
    if (!guide || guide->m == 0) return DOPT_OK;
    return DFN(diff_check_batch_cpu)(ctx, DFN(diff_batch_of)(guide), guide->batch, what);
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
    j.a = DFN(diff_step_args_of)(st, guide != NULL, g);
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
    j.bt = DFN(diff_batch_of)(NULL);
    j.cx = (const DREAL *)x0;
    j.x = (DREAL *)xt;
    j.eps = (DREAL *)eps;
    j.abar = abar;
    j.seed = seed;
    j.step = step;
    j.ssz = 1;
    return DFN(diff_run)(ctx, &j, rows);
}

/* The SRG target over rows of bt; nmax, mmax bound the instances' sizes. */
static dopt_status DFN(diff_target_batch_cpu)(dopt_context *ctx, DFN(diff_batch) bt, int64_t rows, int nmax, int mmax,
                                              const dopt_guidance *g, const void *xt, const void *eps, double abar,
                                              int round, void *target)
{
    DFN(diff_job) j;
    memset(&j, 0, sizeof j);
    j.kind = 2;
    j.n = nmax;
    j.bt = bt;
    j.cx = (const DREAL *)xt;
    j.ceps = (const DREAL *)eps;
    j.out = (DREAL *)target;
    j.abar = abar;
    j.round = round;
    j.go = (DREAL)g->gamma_o;
    j.gc = (DREAL)g->gamma_c;
    j.lam = (DREAL)g->lambda;
    j.ssz = (size_t)nmax + (size_t)mmax;
    return DFN(diff_run)(ctx, &j, rows);
}

static dopt_status DFN(diff_target_cpu)(dopt_context *ctx, const dopt_diffusion_guide *guide, const dopt_guidance *g,
                                        const void *xt, const void *eps, double abar, int round, void *target)
{
    DOPT_TRY(DFN(diff_check_cpu)(ctx, guide, "srg target"));
    return DFN(diff_target_batch_cpu)(ctx, DFN(diff_batch_of)(guide), guide->batch * (int64_t)guide->samples,
                                      guide->n, guide->m, g, xt, eps, abar, round, target);
}

/* Scores every row of bt, then picks each instance's best. */
static dopt_status DFN(diff_candidates_batch_cpu)(dopt_context *ctx, DFN(diff_batch) bt, int64_t batch, int nmax,
                                                  const void *x, int round, double tol, void *objective,
                                                  void *violation, int32_t *best, void *best_x)
{
    int64_t rows = batch * (int64_t)bt.samples;
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
    j.n = nmax;
    j.bt = bt;
    j.cx = (const DREAL *)x;
    j.round = round;
    j.obj = obj;
    j.viol = viol;
    j.ssz = (size_t)nmax;
    dopt_status s = DFN(diff_run)(ctx, &j, rows);
    if (s == DOPT_OK) {
        j.kind = 4;
        j.tol = (DREAL)tol;
        j.best = best;
        j.out = (DREAL *)best_x;
        s = DFN(diff_run)(ctx, &j, batch);
    }
    if (!objective) free(obj);
    if (!violation) free(viol);
    return s;
}

static dopt_status DFN(diff_candidates_cpu)(dopt_context *ctx, const dopt_diffusion_guide *guide, const void *x, int round,
                                            double tol, void *objective, void *violation, int32_t *best, void *best_x)
{
    DOPT_TRY(DFN(diff_check_cpu)(ctx, guide, "candidates"));
    return DFN(diff_candidates_batch_cpu)(ctx, DFN(diff_batch_of)(guide), guide->batch, guide->n, x, round, tol,
                                          objective, violation, best, best_x);
}

/* ---- block-diagonal batches ---- */

/* The offset arrays (kernels/ragged_ptr.h), then, with MILP data (c
 * non-NULL), b and the CSR rows: everything before a loop reads through. */
static dopt_status DFN(diff_blocks_prepare_cpu)(dopt_context *ctx, const dopt_diffusion_blocks *P, const char *what,
                                                dopt_ragged_sizes *sz)
{
    int milp = P->c != NULL;
    DOPT_TRY(dopt_ragged_check_cpu(ctx, what, P->var_ptr, milp ? P->con_ptr : NULL, P->batch, sz));
    if (!milp) return DOPT_OK;
    if (sz->cons > 0 && !P->b)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: b is NULL but there are %lld rows", what,
                         (long long)sz->cons);
    return DFN(diff_check_batch_cpu)(ctx, DFN(diff_batch_of_blocks)(P), P->batch, what);
}

static dopt_status DFN(diff_step_blocks_cpu)(dopt_context *ctx, const dopt_diffusion_step_desc *st,
                                             const dopt_diffusion_blocks *P, void *x, void *eps_hat,
                                             const dopt_guidance *g)
{
    dopt_ragged_sizes sz;
    DOPT_TRY(DFN(diff_blocks_prepare_cpu)(ctx, P, "diffusion step blocks", &sz));
    DFN(diff_job) j;
    memset(&j, 0, sizeof j);
    j.kind = 0;
    j.bt = DFN(diff_batch_of_blocks)(P);
    j.a = DFN(diff_step_args_of)(st, P->c != NULL, g);
    j.x = (DREAL *)x;
    j.eps = (DREAL *)eps_hat;
    j.ssz = P->c ? (size_t)sz.mmax + (size_t)sz.nmax : 1;
    return DFN(diff_run_sized)(ctx, &j, P->batch * (int64_t)P->samples, sz.nmax);
}

static dopt_status DFN(diff_noise_blocks_cpu)(dopt_context *ctx, const dopt_diffusion_blocks *P, const void *x0,
                                              double abar, uint64_t seed, uint32_t step, void *xt, void *eps)
{
    dopt_ragged_sizes sz;
    DOPT_TRY(dopt_ragged_check_cpu(ctx, "diffusion noise blocks", P->var_ptr, NULL, P->batch, &sz));
    DFN(diff_job) j;
    memset(&j, 0, sizeof j);
    j.kind = 1;
    j.bt = DFN(diff_batch_of_blocks)(P);
    j.cx = (const DREAL *)x0;
    j.x = (DREAL *)xt;
    j.eps = (DREAL *)eps;
    j.abar = abar;
    j.seed = seed;
    j.step = step;
    j.ssz = 1;
    return DFN(diff_run_sized)(ctx, &j, P->batch * (int64_t)P->samples, sz.nmax);
}

static dopt_status DFN(diff_target_blocks_cpu)(dopt_context *ctx, const dopt_diffusion_blocks *P,
                                               const dopt_guidance *g, const void *xt, const void *eps, double abar,
                                               int round, void *target)
{
    dopt_ragged_sizes sz;
    DOPT_TRY(DFN(diff_blocks_prepare_cpu)(ctx, P, "srg target blocks", &sz));
    return DFN(diff_target_batch_cpu)(ctx, DFN(diff_batch_of_blocks)(P), P->batch * (int64_t)P->samples, sz.nmax,
                                      sz.mmax, g, xt, eps, abar, round, target);
}

static dopt_status DFN(diff_candidates_blocks_cpu)(dopt_context *ctx, const dopt_diffusion_blocks *P, const void *x,
                                                   int round, double tol, void *objective, void *violation,
                                                   int32_t *best, void *best_x)
{
    dopt_ragged_sizes sz;
    DOPT_TRY(DFN(diff_blocks_prepare_cpu)(ctx, P, "candidates blocks", &sz));
    return DFN(diff_candidates_batch_cpu)(ctx, DFN(diff_batch_of_blocks)(P), P->batch, sz.nmax, x, round, tol,
                                          objective, violation, best, best_x);
}
