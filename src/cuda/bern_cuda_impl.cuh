/* CUDA backend of the Bernoulli surrogate for one precision (DREAL, DFN),
 * included twice by bern_cuda.cu through both_precisions.h. Kernels call the
 * DFN(...) routines of kernels/bern.h; nothing here is per-precision by hand. */

/* xhat and xc from the input (logits or probabilities), and each
 * instance's status. mark: n ints of scratch per instance (the duplicate
 * column check; taken from the per-sample scratch, not yet in use). */
__global__ void DFN(bern_prepare_kernel)(DFN(bern_batch) bt, const DREAL *in, int logits, int64_t B, DREAL *xhat,
                                         DREAL *xc, int32_t *status, DREAL *mark, size_t mark_stride)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    DFN(bern_xhat_of)(in + i * bt.n, logits, bt.n, xhat + i * bt.n, xc + i * bt.n);
    DFN(bern_view) v = DFN(bern_batch_view)(&bt, i);
    status[i] = DFN(bern_check)(&v, xhat + i * bt.n, logits, (int32_t *)(mark + i * mark_stride));
}

/* penalties only (REINFORCE's first pass) */
__global__ void DFN(bern_penalty_kernel)(DFN(bern_batch) bt, const DREAL *xhat, const DREAL *xc,
                                         const int32_t *status, int K, uint64_t seed, int64_t B, DREAL *scratch,
                                         size_t ssz, DREAL *phi)
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
    DREAL *x = scratch + t * ssz, *r = x + bt.n;
    DFN(bern_sample)(&v, xhat + i * bt.n, xc ? xc + i * bt.n : NULL, seed, (uint32_t)i, (uint32_t)k, x);
    phi[t] = DFN(bern_activities)(&v, x, r);
}

/* one (instance, sample): penalty into phi[i*K + k], gradient into G[(i*n + j)*K + k] */
__global__ void DFN(bern_sample_kernel)(DFN(bern_batch) bt, const DREAL *xhat, const DREAL *xc,
                                        const int32_t *status, int est, int K, uint64_t seed, int64_t B,
                                        const double *phisum, DREAL *scratch, size_t ssz, DREAL *phi, DREAL *G)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= B * K) return;
    int64_t i = t / K;
    int k = (int)(t % K), n = bt.n;
    if (status[i] != DOPT_INST_SOLVED) {
        phi[t] = 0;
        for (int j = 0; j < n; ++j) G[(i * n + j) * K + k] = 0;
        return;
    }
    DFN(bern_view) v = DFN(bern_batch_view)(&bt, i);
    DREAL *x = scratch + t * ssz, *r = x + n, *g = r + bt.m;
    DREAL base = 0;
    if (est == DOPT_BERN_REINFORCE) base = (DREAL)((phisum[i] - (double)phi[t]) / (K - 1));
    DREAL p = DFN(bern_one_sample)(&v, xhat + i * n, xc ? xc + i * n : NULL, est, seed, (uint32_t)i, (uint32_t)k,
                                   base, x, r, g);
    phi[t] = p;
    for (int j = 0; j < n; ++j) G[(i * n + j) * K + k] = g[j];
}

__global__ void DFN(bern_finish_kernel)(DFN(bern_batch) bt, const DREAL *xhat, const DREAL *xc,
                                        const int32_t *status, int K, DREAL mu, int logits, int64_t B,
                                        const double *ps, const double *pq,
                                        const DREAL *gs, const DREAL *gq, DREAL *loss, DREAL *grad, DREAL *loss_se,
                                        DREAL *grad_se)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    int n = bt.n;
    DREAL *g = grad + i * n, *gse = grad_se ? grad_se + i * n : NULL;
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
    const DREAL *xh = xhat + i * n;
    loss[i] = DFN(bern_finish)(&v, xh, K, mu, ps[i], pq[i], gs + i * n, gq + i * n, g, loss_se ? loss_se + i : NULL,
                               gse);
    if (logits) DFN(bern_logit_chain)(xh, xc + i * n, n, g, gse);
}

__global__ void DFN(bern_exact_kernel)(DFN(bern_batch) bt, const DREAL *in, int logits, DREAL mu, int64_t B,
                                       DREAL *work, size_t wsz, DREAL *loss, DREAL *grad, DREAL *loss_se,
                                       DREAL *grad_se, int32_t *status)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    status[i] = DFN(bern_eval_instance)(&bt, in, DOPT_BERN_EXACT, 1, mu, 0, logits, i, work + i * wsz, loss, grad,
                                        loss_se, grad_se);
}

__global__ void DFN(bern_round_kernel)(DFN(bern_batch) bt, const DREAL *xhat, int64_t B, DREAL *work, size_t wsz,
                                       DREAL *x, int32_t *status)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    status[i] = DFN(bern_round_instance)(&bt, xhat, i, x, work + i * wsz);
}

static dopt_status DFN(bern_eval_run)(dopt_context *ctx, const dopt_bern_problem *P, const void *in,
                                      const dopt_bern_options *o, dopt_bern_result *res)
{
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    int64_t B = P->batch;
    int n = P->n, m = P->m, K = o->samples;
    DFN(bern_batch) bt = DFN(bern_batch_of)(P);
    unsigned g1 = 1, gk = 1; /* set by bern_grid */
    DOPT_TRY(bern_grid(ctx, B, &g1));
    DREAL *scratch = NULL;
    dopt_scratch_plan plan;
    if (o->estimator == DOPT_BERN_EXACT) {
        size_t wsz = DFN(bern_instance_work)(n, m, 1);
        dopt_scratch_plan_init(&plan, "bern eval (cuda)");
        dopt_scratch_plan_add(&plan, (void **)&scratch, (size_t)B, sizeof(DREAL) * wsz);
        DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
        DFN(bern_exact_kernel)<<<g1, DOPT_BERN_BLOCK, 0, s>>>(bt, (const DREAL *)in, o->logits, (DREAL)o->mu, B,
                                                              scratch, wsz, (DREAL *)res->loss, (DREAL *)res->grad,
                                                              (DREAL *)res->loss_se, (DREAL *)res->grad_se,
                                                              res->status);
        DOPT_CU_LAUNCH(ctx);
        DOPT_CU(ctx, cudaStreamSynchronize(s));
        return DOPT_OK;
    }
    int64_t BK = B * K, Bn = B * n;
    DOPT_TRY(bern_grid(ctx, BK, &gk));
    size_t ssz = (size_t)2 * n + m;

    /* segmented sums over samples: B segments of K (penalties), B*n of K
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
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(NULL, t3, G, gs, Bn, offK, offK + 1, s));
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(NULL, t4, square_it(G, bern_square_same_op()), gq, Bn, offK,
                                                 offK + 1, s));
    size_t tmax = t1 > t2 ? t1 : t2;
    tmax = tmax > t3 ? tmax : t3;
    tmax = tmax > t4 ? tmax : t4;
    void *tmp = NULL;
    dopt_scratch_plan_init(&plan, "bern eval (cuda)");
    dopt_scratch_plan_add(&plan, (void **)&xhat, (size_t)Bn, sizeof(DREAL));
    dopt_scratch_plan_add(&plan, (void **)&xc, (size_t)Bn, sizeof(DREAL));
    dopt_scratch_plan_add(&plan, (void **)&scratch, (size_t)BK, sizeof(DREAL) * ssz);
    dopt_scratch_plan_add(&plan, (void **)&phi, (size_t)BK, sizeof(DREAL));
    dopt_scratch_plan_add(&plan, (void **)&G, (size_t)BK, sizeof(DREAL) * (size_t)n);
    dopt_scratch_plan_add(&plan, (void **)&ps, (size_t)B, sizeof(double));
    dopt_scratch_plan_add(&plan, (void **)&pq, (size_t)B, sizeof(double));
    dopt_scratch_plan_add(&plan, (void **)&gs, (size_t)Bn, sizeof(DREAL));
    dopt_scratch_plan_add(&plan, (void **)&gq, (size_t)Bn, sizeof(DREAL));
    dopt_scratch_plan_add(&plan, &tmp, tmax ? tmax : 1, 1);
    DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
    /* instance i's duplicate-column marks: its first sample's scratch (>= n values) */
    DFN(bern_prepare_kernel)<<<g1, DOPT_BERN_BLOCK, 0, s>>>(bt, (const DREAL *)in, o->logits, B, xhat, xc,
                                                            res->status, scratch, (size_t)K * ssz);
    const DREAL *xcp = o->logits ? xc : NULL; /* probabilities: xc = 1 - xhat */
    DOPT_CU_LAUNCH(ctx);

    to_double_it phid(phi, bern_to_double_op());
    square_double_it phisq(phi, bern_square_op());
    square_it Gsq(G, bern_square_same_op());
    if (o->estimator == DOPT_BERN_REINFORCE) {
        DFN(bern_penalty_kernel)<<<gk, DOPT_BERN_BLOCK, 0, s>>>(bt, xhat, xcp, res->status, K, o->seed, B, scratch,
                                                                ssz, phi);
        DOPT_CU_LAUNCH(ctx);
        DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(tmp, t1, phid, ps, B, offK, offK + 1, s));
    }
    DFN(bern_sample_kernel)<<<gk, DOPT_BERN_BLOCK, 0, s>>>(bt, xhat, xcp, res->status, (int)o->estimator, K,
                                                           o->seed, B, ps, scratch, ssz, phi, G);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(tmp, t1, phid, ps, B, offK, offK + 1, s));
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(tmp, t2, phisq, pq, B, offK, offK + 1, s));
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(tmp, t3, G, gs, Bn, offK, offK + 1, s));
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Sum(tmp, t4, Gsq, gq, Bn, offK, offK + 1, s));
    DFN(bern_finish_kernel)<<<g1, DOPT_BERN_BLOCK, 0, s>>>(bt, xhat, xc, res->status, K, (DREAL)o->mu, o->logits,
                                                           B, ps, pq, gs, gq, (DREAL *)res->loss,
                                                           (DREAL *)res->grad, (DREAL *)res->loss_se,
                                                           (DREAL *)res->grad_se);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

static dopt_status DFN(bern_round_run)(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat, void *x,
                                       int32_t *status)
{
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    size_t wsz = (size_t)P->n + P->m + 1;
    unsigned g1 = 1;
    DOPT_TRY(bern_grid(ctx, P->batch, &g1));
    DREAL *scratch = NULL;
    dopt_scratch_plan plan;
    dopt_scratch_plan_init(&plan, "bern round (cuda)");
    dopt_scratch_plan_add(&plan, (void **)&scratch, (size_t)P->batch, sizeof(DREAL) * wsz);
    DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
    DFN(bern_round_kernel)<<<g1, DOPT_BERN_BLOCK, 0, s>>>(DFN(bern_batch_of)(P), (const DREAL *)xhat, P->batch,
                                                          scratch, wsz, (DREAL *)x, status);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}
