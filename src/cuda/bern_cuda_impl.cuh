/* CUDA backend of the Bernoulli surrogate for one precision (DREAL, DFN),
 * included twice by bern_cuda.cu through both_precisions.h. Kernels call the
 * DFN(...) routines of kernels/bern.h; nothing here is per-precision by hand.
 *
 * Uniform and block (ragged) batches run the same kernels: instance i's
 * variables start at bern_var0 (i * n, or var_ptr[i]), and its slices of
 * the per-sample scratch are packed by bern_slice, which for a uniform
 * batch is the old i * size layout. Per-variable arrays (xhat, xc, the
 * gradient sums) have V = var_ptr[batch] (B * n) entries, the per-sample
 * gradients V * K: the segmented sums over K samples are the same for both. */

/* Sample k of instance i's scratch: x, r, g (2 n_i + m_i values). */
static __device__ DREAL *DFN(bern_sample_scratch)(const DFN(bern_batch) *bt, DREAL *scratch, int K, int64_t i, int k)
{
    int n = DFN(bern_nvar)(bt, i), m = DFN(bern_ncon)(bt, i);
    return scratch + DFN(bern_slice)(bt, i, (size_t)2 * K, (size_t)K, 0) + (size_t)k * (size_t)(2 * n + m);
}

/* xhat and xc from the input (logits or probabilities), and each
 * instance's status. mark: n ints of scratch per instance (the duplicate
 * column check; its first sample's scratch, not yet in use). */
__global__ void DFN(bern_prepare_kernel)(DFN(bern_batch) bt, const DREAL *in, int logits, int64_t B, int K,
                                         DREAL *xhat, DREAL *xc, int32_t *status, DREAL *scratch)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    int64_t o = DFN(bern_var0)(&bt, i);
    DFN(bern_view) v = DFN(bern_batch_view)(&bt, i);
    DFN(bern_xhat_of)(in + o, logits, v.n, xhat + o, xc + o);
    status[i] = DFN(bern_check)(&v, xhat + o, logits, (int32_t *)DFN(bern_sample_scratch)(&bt, scratch, K, i, 0));
}

/* penalties only (REINFORCE's first pass) */
__global__ void DFN(bern_penalty_kernel)(DFN(bern_batch) bt, const DREAL *xhat, const DREAL *xc,
                                         const int32_t *status, int K, uint64_t seed, int64_t B, DREAL *scratch,
                                         DREAL *phi)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= B * K) return;
    int64_t i = t / K;
    int k = (int)(t % K);
    if (status[i] != DOPT_INST_SOLVED) {
        phi[t] = 0;
        return;
    }
    DFN(bern_view) v = DFN(bern_batch_view)(&bt, i);
    int64_t o = DFN(bern_var0)(&bt, i);
    DREAL *x = DFN(bern_sample_scratch)(&bt, scratch, K, i, k), *r = x + v.n;
    DFN(bern_sample)(&v, xhat + o, xc ? xc + o : NULL, seed, (uint32_t)i, (uint32_t)k, x);
    phi[t] = DFN(bern_activities)(&v, x, r);
}

/* one (instance, sample): penalty into phi[i*K + k], gradient into G[(var0 + j)*K + k] */
__global__ void DFN(bern_sample_kernel)(DFN(bern_batch) bt, const DREAL *xhat, const DREAL *xc,
                                        const int32_t *status, int est, int K, uint64_t seed, int64_t B,
                                        const double *phisum, DREAL *scratch, DREAL *phi, DREAL *G)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= B * K) return;
    int64_t i = t / K;
    int k = (int)(t % K);
    int64_t o = DFN(bern_var0)(&bt, i);
    int n = DFN(bern_nvar)(&bt, i);
    if (status[i] != DOPT_INST_SOLVED) {
        phi[t] = 0;
        for (int j = 0; j < n; ++j) G[(o + j) * K + k] = 0;
        return;
    }
    DFN(bern_view) v = DFN(bern_batch_view)(&bt, i);
    DREAL *x = DFN(bern_sample_scratch)(&bt, scratch, K, i, k), *r = x + n, *g = r + v.m;
    DREAL base = 0;
    if (est == DOPT_BERN_REINFORCE) base = (DREAL)((phisum[i] - (double)phi[t]) / (K - 1));
    DREAL p = DFN(bern_one_sample)(&v, xhat + o, xc ? xc + o : NULL, est, seed, (uint32_t)i, (uint32_t)k, base, x, r,
                                   g);
    phi[t] = p;
    for (int j = 0; j < n; ++j) G[(o + j) * K + k] = g[j];
}

__global__ void DFN(bern_finish_kernel)(DFN(bern_batch) bt, const DREAL *xhat, const DREAL *xc,
                                        const int32_t *status, int K, DREAL mu, int logits, int64_t B,
                                        const double *ps, const double *pq,
                                        const DREAL *gs, const DREAL *gq, DREAL *loss, DREAL *grad, DREAL *loss_se,
                                        DREAL *grad_se)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    int64_t o = DFN(bern_var0)(&bt, i);
    int n = DFN(bern_nvar)(&bt, i);
    DREAL *g = grad + o, *gse = grad_se ? grad_se + o : NULL;
    if (status[i] != DOPT_INST_SOLVED) {
        loss[i] = (DREAL)NAN;
        if (loss_se) loss_se[i] = (DREAL)NAN;
        for (int j = 0; j < n; ++j) {
            g[j] = (DREAL)NAN;
            if (gse) gse[j] = (DREAL)NAN;
        }
        return;
    }
    DFN(bern_view) v = DFN(bern_batch_view)(&bt, i);
    const DREAL *xh = xhat + o;
    loss[i] = DFN(bern_finish)(&v, xh, K, mu, ps[i], pq[i], gs + o, gq + o, g, loss_se ? loss_se + i : NULL, gse);
    if (logits) DFN(bern_logit_chain)(xh, xc + o, n, g, gse);
}

/* work: bern_instance_work(n_i, m_i, 1) = 6 n_i + m_i + 1 values per instance */
__global__ void DFN(bern_exact_kernel)(DFN(bern_batch) bt, const DREAL *in, int logits, DREAL mu, int64_t B,
                                       DREAL *work, DREAL *loss, DREAL *grad, DREAL *loss_se, DREAL *grad_se,
                                       int32_t *status)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    status[i] = DFN(bern_eval_instance)(&bt, in, DOPT_BERN_EXACT, 1, mu, 0, logits, i,
                                        work + DFN(bern_slice)(&bt, i, 6, 1, 1), loss, grad, loss_se, grad_se);
}

/* work: n_i + m_i + 1 values per instance */
__global__ void DFN(bern_round_kernel)(DFN(bern_batch) bt, const DREAL *xhat, int64_t B, DREAL *work, DREAL *x,
                                       int32_t *status)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    status[i] = DFN(bern_round_instance)(&bt, xhat, i, x, work + DFN(bern_slice)(&bt, i, 1, 1, 1));
}

/* A batch of B instances with V variables and M rows in all. */
static dopt_status DFN(bern_eval_batch_run)(dopt_context *ctx, DFN(bern_batch) bt, int64_t B, int64_t V, int64_t M,
                                            const void *in, const dopt_bern_options *o, dopt_bern_result *res)
{
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    int K = o->samples;
    unsigned g1 = 1, gk = 1; /* set by bern_grid */
    DOPT_TRY(bern_grid(ctx, B, &g1));
    DREAL *scratch = NULL;
    dopt_scratch_plan plan;
    if (o->estimator == DOPT_BERN_EXACT) {
        dopt_scratch_plan_init(&plan, "bern eval (cuda)");
        dopt_scratch_plan_add(&plan, (void **)&scratch, (size_t)(6 * V + M + B), sizeof(DREAL));
        DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
        DFN(bern_exact_kernel)<<<g1, DOPT_BERN_BLOCK, 0, s>>>(bt, (const DREAL *)in, o->logits, (DREAL)o->mu, B,
                                                              scratch, (DREAL *)res->loss, (DREAL *)res->grad,
                                                              (DREAL *)res->loss_se, (DREAL *)res->grad_se,
                                                              res->status);
        DOPT_CU_LAUNCH(ctx);
        DOPT_CU(ctx, cudaStreamSynchronize(s));
        return DOPT_OK;
    }
    int64_t BK = B * K; /* per-variable arrays: V entries; the gradient sums: V segments of K */
    DOPT_TRY(bern_grid(ctx, BK, &gk));
    size_t sample_scratch = (size_t)K * (size_t)(2 * V + M); /* x, r, g of every sample */

    /* segmented sums over samples: B segments of K (penalties), V of K
     * (gradients); offsets and segment counts are 64-bit */
    typedef thrust::transform_iterator<bern_to_double_op, DREAL *> to_double_it;
    typedef thrust::transform_iterator<bern_square_op, DREAL *> square_double_it;
    typedef thrust::transform_iterator<bern_square_same_op, DREAL *> square_it;
    thrust::counting_iterator<int64_t> zero(0);
    dopt_seg_offsets offK(zero, dopt_seg_offset{K});
    /* CUB's temp sizes first, before anything is allocated: a NULL temp
     * pointer only computes them (the data pointers, still NULL, are not read) */
    DREAL *xhat = NULL, *xc = NULL, *phi = NULL, *G = NULL, *gs = NULL, *gq = NULL;
    double *ps = NULL, *pq = NULL;
    size_t t1 = 0, t2 = 0, t3 = 0, t4 = 0;
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(NULL, t1, to_double_it(phi, bern_to_double_op()), ps, B, offK,
                                                 offK + 1, s));
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(NULL, t2, square_double_it(phi, bern_square_op()), pq, B, offK,
                                                 offK + 1, s));
    if (V > 0) { /* a block batch may have no variables at all: no gradient segments */
        DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(NULL, t3, G, gs, V, offK, offK + 1, s));
        DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(NULL, t4, square_it(G, bern_square_same_op()), gq, V, offK,
                                                     offK + 1, s));
    }
    size_t tmax = t1 > t2 ? t1 : t2;
    tmax = tmax > t3 ? tmax : t3;
    tmax = tmax > t4 ? tmax : t4;
    void *tmp = NULL;
    dopt_scratch_plan_init(&plan, "bern eval (cuda)");
    dopt_scratch_plan_add(&plan, (void **)&xhat, (size_t)V, sizeof(DREAL));
    dopt_scratch_plan_add(&plan, (void **)&xc, (size_t)V, sizeof(DREAL));
    dopt_scratch_plan_add(&plan, (void **)&scratch, sample_scratch ? sample_scratch : 1, sizeof(DREAL));
    dopt_scratch_plan_add(&plan, (void **)&phi, (size_t)BK, sizeof(DREAL));
    dopt_scratch_plan_add(&plan, (void **)&G, (size_t)(V * K), sizeof(DREAL));
    dopt_scratch_plan_add(&plan, (void **)&ps, (size_t)B, sizeof(double));
    dopt_scratch_plan_add(&plan, (void **)&pq, (size_t)B, sizeof(double));
    dopt_scratch_plan_add(&plan, (void **)&gs, (size_t)V, sizeof(DREAL));
    dopt_scratch_plan_add(&plan, (void **)&gq, (size_t)V, sizeof(DREAL));
    dopt_scratch_plan_add(&plan, &tmp, tmax ? tmax : 1, 1);
    DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
    /* instance i's duplicate-column marks: its first sample's scratch (>= n values) */
    DFN(bern_prepare_kernel)<<<g1, DOPT_BERN_BLOCK, 0, s>>>(bt, (const DREAL *)in, o->logits, B, K, xhat, xc,
                                                            res->status, scratch);
    const DREAL *xcp = o->logits ? xc : NULL; /* probabilities: xc = 1 - xhat */
    DOPT_CU_LAUNCH(ctx);

    to_double_it phid(phi, bern_to_double_op());
    square_double_it phisq(phi, bern_square_op());
    square_it Gsq(G, bern_square_same_op());
    if (o->estimator == DOPT_BERN_REINFORCE) {
        DFN(bern_penalty_kernel)<<<gk, DOPT_BERN_BLOCK, 0, s>>>(bt, xhat, xcp, res->status, K, o->seed, B, scratch,
                                                                phi);
        DOPT_CU_LAUNCH(ctx);
        DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(tmp, t1, phid, ps, B, offK, offK + 1, s));
    }
    DFN(bern_sample_kernel)<<<gk, DOPT_BERN_BLOCK, 0, s>>>(bt, xhat, xcp, res->status, (int)o->estimator, K,
                                                           o->seed, B, ps, scratch, phi, G);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(tmp, t1, phid, ps, B, offK, offK + 1, s));
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(tmp, t2, phisq, pq, B, offK, offK + 1, s));
    if (V > 0) {
        DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(tmp, t3, G, gs, V, offK, offK + 1, s));
        DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(tmp, t4, Gsq, gq, V, offK, offK + 1, s));
    }
    DFN(bern_finish_kernel)<<<g1, DOPT_BERN_BLOCK, 0, s>>>(bt, xhat, xc, res->status, K, (DREAL)o->mu, o->logits,
                                                           B, ps, pq, gs, gq, (DREAL *)res->loss,
                                                           (DREAL *)res->grad, (DREAL *)res->loss_se,
                                                           (DREAL *)res->grad_se);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

static dopt_status DFN(bern_eval_run)(dopt_context *ctx, const dopt_bern_problem *P, const void *in,
                                      const dopt_bern_options *o, dopt_bern_result *res)
{
    return DFN(bern_eval_batch_run)(ctx, DFN(bern_batch_of)(P), P->batch, P->batch * P->n, P->batch * P->m, in, o,
                                    res);
}

static dopt_status DFN(bern_round_batch_run)(dopt_context *ctx, DFN(bern_batch) bt, int64_t B, int64_t V, int64_t M,
                                             const void *xhat, void *x, int32_t *status)
{
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    unsigned g1 = 1;
    DOPT_TRY(bern_grid(ctx, B, &g1));
    DREAL *scratch = NULL;
    dopt_scratch_plan plan;
    dopt_scratch_plan_init(&plan, "bern round (cuda)");
    dopt_scratch_plan_add(&plan, (void **)&scratch, (size_t)(V + M + B), sizeof(DREAL));
    DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
    DFN(bern_round_kernel)<<<g1, DOPT_BERN_BLOCK, 0, s>>>(bt, (const DREAL *)xhat, B, scratch, (DREAL *)x, status);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

static dopt_status DFN(bern_round_run)(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat, void *x,
                                       int32_t *status)
{
    return DFN(bern_round_batch_run)(ctx, DFN(bern_batch_of)(P), P->batch, P->batch * P->n, P->batch * P->m, xhat,
                                     x, status);
}

/* Block batches: the offsets checked and the totals read (one download). */
static dopt_status DFN(bern_blocks_run)(dopt_context *ctx, const dopt_bern_blocks *P, const void *xhat,
                                        const dopt_bern_options *o, dopt_bern_result *res, void *x, int32_t *status)
{
    dopt_ragged_totals tot;
    DOPT_TRY(dopt_ragged_check_cuda(ctx, "bern blocks", P->var_ptr, P->con_ptr, P->batch, &tot));
    if (tot.cons > 0 && !P->b)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern blocks: b is NULL but there are %lld rows",
                         (long long)tot.cons);
    DFN(bern_batch) bt = DFN(bern_batch_of_blocks)(P);
    if (res) return DFN(bern_eval_batch_run)(ctx, bt, P->batch, tot.vars, tot.cons, xhat, o, res);
    return DFN(bern_round_batch_run)(ctx, bt, P->batch, tot.vars, tot.cons, xhat, x, status);
}
