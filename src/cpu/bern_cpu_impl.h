/* CPU backend of the Bernoulli surrogate for one precision (included twice
 * by bern_cpu.c): a loop over instances on the thread pool running
 * kernels/bern.h. Samples depend only on (seed, instance, sample, j), so the
 * results do not depend on the thread count. */

typedef struct {
    DFN(bern_batch) bt;
    const DREAL *xhat;
    dopt_bern_options o;
    DREAL *work;
    size_t wsz;
    DREAL *loss, *grad, *loss_se, *grad_se, *x;
    int32_t *status;
} DFN(bern_job);

static void DFN(bern_eval_range)(void *arg, int64_t i0, int64_t i1, int worker)
{
    DFN(bern_job) *j = (DFN(bern_job) *)arg;
    DREAL *w = j->work + (size_t)worker * j->wsz;
    for (int64_t i = i0; i < i1; ++i)
        j->status[i] = DFN(bern_eval_instance)(&j->bt, j->xhat, (int)j->o.estimator, j->o.samples, (DREAL)j->o.mu,
                                               j->o.seed, j->o.logits, i, w, j->loss, j->grad, j->loss_se,
                                               j->grad_se);
}

static void DFN(bern_round_range)(void *arg, int64_t i0, int64_t i1, int worker)
{
    DFN(bern_job) *j = (DFN(bern_job) *)arg;
    DREAL *w = j->work + (size_t)worker * j->wsz;
    for (int64_t i = i0; i < i1; ++i) j->status[i] = DFN(bern_round_instance)(&j->bt, j->xhat, i, j->x, w);
}

/* The loop over a batch, uniform or block: bt addresses it, nmax and mmax
 * bound every instance's sizes (the per-worker scratch). */
static dopt_status DFN(bern_run_cpu)(dopt_context *ctx, DFN(bern_batch) bt, int64_t batch, int nmax, int mmax,
                                     const void *xhat, const dopt_bern_options *o, dopt_bern_result *res, void *x,
                                     int32_t *status)
{
    DFN(bern_job) j;
    memset(&j, 0, sizeof j);
    j.bt = bt;
    j.xhat = (const DREAL *)xhat;
    if (o) j.o = *o;
    int rounding = res == NULL;
    j.wsz = rounding ? (size_t)nmax + (size_t)mmax + 1 : DFN(bern_instance_work)(nmax, mmax, j.o.samples);
    int64_t grain = nmax >= 256 ? 1 : 16;
    int workers = dopt_worker_count(ctx->threads, batch, grain);
    DOPT_TRY(dopt_scratch_reserve(ctx, sizeof(DREAL) * j.wsz * (size_t)workers, (void **)&j.work));
    if (rounding) {
        j.x = (DREAL *)x;
        j.status = status;
        dopt_parallel_for(ctx, workers, batch, grain, DFN(bern_round_range), &j);
    } else {
        j.loss = (DREAL *)res->loss;
        j.grad = (DREAL *)res->grad;
        j.loss_se = (DREAL *)res->loss_se;
        j.grad_se = (DREAL *)res->grad_se;
        j.status = res->status;
        dopt_parallel_for(ctx, workers, batch, grain, DFN(bern_eval_range), &j);
    }
    return DOPT_OK;
}

static dopt_status DFN(bern_run_uniform_cpu)(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat,
                                             const dopt_bern_options *o, dopt_bern_result *res, void *x,
                                             int32_t *status)
{
    return DFN(bern_run_cpu)(ctx, DFN(bern_batch_of)(P), P->batch, P->n, P->m, xhat, o, res, x, status);
}

static dopt_status DFN(bern_run_blocks_cpu)(dopt_context *ctx, const dopt_bern_blocks *P, const void *xhat,
                                            const dopt_bern_options *o, dopt_bern_result *res, void *x,
                                            int32_t *status)
{
    dopt_ragged_sizes sz;
    DOPT_TRY(dopt_ragged_check_cpu(ctx, "bern blocks", P->var_ptr, P->con_ptr, P->batch, &sz));
    if (sz.cons > 0 && !P->b)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern blocks: b is NULL but there are %lld rows",
                         (long long)sz.cons);
    return DFN(bern_run_cpu)(ctx, DFN(bern_batch_of_blocks)(P), P->batch, sz.nmax, sz.mmax, xhat, o, res, x, status);
}
