/* CUDA backend of the diffusion kernels for one precision (DREAL, DFN),
 * included twice by diffusion_cuda.cu through both_precisions.h. Kernels
 * call the DFN(...) row routines of kernels/diffusion.h, which address
 * uniform and block (ragged) batches alike; only the per-row scratch is
 * laid out here. */

/* Row r's scratch: ssz values per row (a uniform batch), or in a block
 * batch n_i (+ m_i with rows) per row of instance i, packed like the state
 * (samples rows per instance): samples * (V (+ M)) values in all. */
static __device__ DREAL *DFN(diff_row_scratch)(const DFN(diff_batch) *bt, DREAL *scratch, size_t ssz, int64_t r,
                                               int with_rows)
{
    if (!bt->var_ptr) return scratch + r * ssz;
    int64_t i = r / bt->samples, k = r % bt->samples;
    int64_t n = bt->var_ptr[i + 1] - bt->var_ptr[i], m = with_rows ? bt->con_ptr[i + 1] - bt->con_ptr[i] : 0;
    int64_t base = bt->samples * (bt->var_ptr[i] + (with_rows ? bt->con_ptr[i] : 0));
    return scratch + base + k * (n + m);
}

__global__ void DFN(diff_step_kernel)(DFN(diff_step_args) a, DFN(diff_batch) bt, int n, int64_t rows, DREAL *x,
                                      DREAL *eps, DREAL *scratch, size_t ssz)
{
    int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    DREAL *sc = a.guided ? DFN(diff_row_scratch)(&bt, scratch, ssz, r, 1) : scratch;
    DFN(diff_step_entry)(&a, &bt, n, r, x, eps, sc);
}

__global__ void DFN(diff_noise_kernel)(DFN(diff_batch) bt, int n, int64_t rows, const DREAL *x0, double abar,
                                       uint64_t seed, uint32_t step, DREAL *xt, DREAL *eps)
{
    int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    DFN(diff_noise_entry)(&bt, n, x0, abar, seed, step, r, xt, eps);
}

__global__ void DFN(diff_target_kernel)(DFN(diff_batch) bt, int64_t rows, const DREAL *xt, const DREAL *eps,
                                        double abar, DREAL go, DREAL gc, DREAL lam, int round, DREAL *scratch,
                                        size_t ssz, DREAL *target)
{
    int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    DFN(diff_target_entry)(&bt, xt, eps, abar, go, gc, lam, round, r, DFN(diff_row_scratch)(&bt, scratch, ssz, r, 1),
                           target);
}

__global__ void DFN(diff_score_kernel)(DFN(diff_batch) bt, int64_t rows, const DREAL *x, int round, DREAL *scratch,
                                       DREAL *obj, DREAL *viol)
{
    int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    DFN(diff_score_entry)(&bt, x, round, r, DFN(diff_row_scratch)(&bt, scratch, (size_t)bt.n, r, 0), obj, viol);
}

/* a candidate of the segmented arg-best: its scores and global row */
typedef struct {
    DREAL viol, obj;
    int64_t idx;
} DFN(diff_cand);

struct DFN(diff_cand_of) {
    const DREAL *viol, *obj;
    __host__ __device__ DFN(diff_cand) operator()(int64_t r) const
    {
        DFN(diff_cand) c;
        c.viol = viol[r];
        c.obj = obj[r];
        c.idx = r;
        return c;
    }
};

/* the earlier of two candidates in diff_before's total order (associative
 * and commutative, so CUB's reduction order does not matter) */
struct DFN(diff_cand_best) {
    DREAL tol;
    __host__ __device__ DFN(diff_cand) operator()(const DFN(diff_cand) &a, const DFN(diff_cand) &b) const
    {
        return DFN(diff_before)(a.viol, a.obj, a.idx, b.viol, b.obj, b.idx, tol) ? a : b;
    }
};

__global__ void DFN(diff_best_kernel)(DFN(diff_batch) bt, int64_t B, int round, const DFN(diff_cand) *best,
                                      const DREAL *x, int32_t *out, DREAL *best_x)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    int64_t r = best[i].idx; /* every segment is non-empty (samples >= 1): never the identity */
    out[i] = (int32_t)(r - i * bt.samples);
    if (best_x) DFN(diff_copy_best)(&bt, x, round, i, r, best_x);
}

/* The CSR check (kernels/diffusion.h), one thread per distinct A: the
 * lowest bad instance by atomicMin, then one thread finds its row again. */
__global__ void DFN(diff_check_kernel)(DFN(diff_batch) bt, int64_t count, unsigned long long *first)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    int row;
    int32_t col;
    if (DFN(diff_check_csr)(&bt, i, &row, &col) != DOPT_DIFF_CSR_OK) atomicMin(first, (unsigned long long)i);
}

/* out: the bad instance (-1: none), code, row, column, the instance's
 * variables and (block batches) its first variable, -1 for uniform */
__global__ void DFN(diff_check_detail_kernel)(DFN(diff_batch) bt, const unsigned long long *first, int64_t *out)
{
    out[0] = -1;
    if (*first == ~0ull) return;
    int row;
    int32_t col;
    int64_t i = (int64_t)*first;
    out[1] = DFN(diff_check_csr)(&bt, i, &row, &col);
    out[0] = i;
    out[2] = row;
    out[3] = col;
    out[4] = DFN(diff_nvar)(&bt, bt.n, i);
    out[5] = bt.var_ptr ? bt.var_ptr[i] : -1;
}

/* DOPT_ERR_INVALID_ARGUMENT naming the first bad instance and row, before
 * any kernel reads through the guide's CSR (a read out of bounds would
 * poison the CUDA context). Synchronizes the stream; uses the arena, which
 * the caller commits again afterwards (nothing of this plan is read then). */
static dopt_status DFN(diff_check_batch_run)(dopt_context *ctx, DFN(diff_batch) bt, int64_t batch, const char *what)
{
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    int64_t count = DFN(diff_csr_copies)(&bt, batch);
    unsigned grid = 1;
    DOPT_TRY(diff_grid(ctx, count, &grid));
    unsigned long long *first = NULL;
    int64_t *out = NULL;
    dopt_scratch_plan plan;
    dopt_scratch_plan_init(&plan, "diffusion CSR check (cuda)");
    dopt_scratch_plan_add(&plan, (void **)&first, 1, sizeof(unsigned long long));
    dopt_scratch_plan_add(&plan, (void **)&out, 6, sizeof(int64_t));
    DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
    DOPT_CU(ctx, cudaMemsetAsync(first, 0xFF, sizeof(unsigned long long), s));
    DFN(diff_check_kernel)<<<grid, DOPT_DIFF_BLOCK, 0, s>>>(bt, count, first);
    DOPT_CU_LAUNCH(ctx);
    DFN(diff_check_detail_kernel)<<<1, 1, 0, s>>>(bt, first, out);
    DOPT_CU_LAUNCH(ctx);
    int64_t h[6];
    DOPT_CU(ctx, cudaMemcpyAsync(h, out, sizeof h, cudaMemcpyDeviceToHost, s));
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    if (h[0] < 0) return DOPT_OK;
    char msg[256];
    dopt_diff_csr_message(msg, sizeof msg, what, bt.sR == 0 && !bt.var_ptr, (long long)h[0], (int)h[1], (int)h[2],
                          (int32_t)h[3], (int)h[4], (long long)h[5]);
    return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s", msg);
}

/* DOPT_ERR_INVALID_ARGUMENT naming the first bad instance and row, before
 * any kernel reads through the guide's CSR (a read out of bounds would
 * poison the CUDA context). Synchronizes the stream; uses the arena, which
 * the caller commits again afterwards (nothing of this plan is read then). */
static dopt_status DFN(diff_check_run)(dopt_context *ctx, const dopt_diffusion_guide *guide, const char *what)
{
    if (!guide || guide->m == 0) return DOPT_OK;
    return DFN(diff_check_batch_run)(ctx, DFN(diff_batch_of)(guide), guide->batch, what);
}

/* The step over rows of bt; scratch_count values of scratch in all, ssz per
 * row for a uniform batch. */
static dopt_status DFN(diff_step_batch_run)(dopt_context *ctx, DFN(diff_step_args) a, DFN(diff_batch) bt, int n,
                                            int64_t rows, size_t scratch_count, size_t ssz, void *x, void *eps)
{
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    unsigned grid = 1;
    DOPT_TRY(diff_grid(ctx, rows, &grid));
    DREAL *scratch = NULL;
    dopt_scratch_plan plan;
    dopt_scratch_plan_init(&plan, "diffusion step (cuda)");
    dopt_scratch_plan_add(&plan, (void **)&scratch, scratch_count ? scratch_count : 1, sizeof(DREAL));
    DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
    DFN(diff_step_kernel)<<<grid, DOPT_DIFF_BLOCK, 0, s>>>(a, bt, n, rows, (DREAL *)x, (DREAL *)eps, scratch, ssz);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

static dopt_status DFN(diff_step_run)(dopt_context *ctx, const dopt_diffusion_step_desc *st, int64_t rows, int32_t n,
                                      void *x, void *eps, const dopt_diffusion_guide *guide, const dopt_guidance *g)
{
    DOPT_TRY(DFN(diff_check_run)(ctx, guide, "diffusion step"));
    size_t ssz = guide ? (size_t)guide->m + (size_t)n : 1;
    return DFN(diff_step_batch_run)(ctx, DFN(diff_step_args_of)(st, guide != NULL, g), DFN(diff_batch_of)(guide), n,
                                    rows, (size_t)rows * ssz, ssz, x, eps);
}

static dopt_status DFN(diff_noise_batch_run)(dopt_context *ctx, DFN(diff_batch) bt, int64_t rows, int32_t n,
                                             const void *x0, double abar, uint64_t seed, uint32_t step, void *xt,
                                             void *eps)
{
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    unsigned grid = 1;
    DOPT_TRY(diff_grid(ctx, rows, &grid));
    DFN(diff_noise_kernel)<<<grid, DOPT_DIFF_BLOCK, 0, s>>>(bt, n, rows, (const DREAL *)x0, abar, seed, step,
                                                            (DREAL *)xt, (DREAL *)eps);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

static dopt_status DFN(diff_noise_run)(dopt_context *ctx, int64_t rows, int32_t n, const void *x0, double abar,
                                       uint64_t seed, uint32_t step, void *xt, void *eps)
{
    return DFN(diff_noise_batch_run)(ctx, DFN(diff_batch_of)(NULL), rows, n, x0, abar, seed, step, xt, eps);
}

static dopt_status DFN(diff_target_batch_run)(dopt_context *ctx, DFN(diff_batch) bt, int64_t rows,
                                              size_t scratch_count, size_t ssz, const dopt_guidance *g,
                                              const void *xt, const void *eps, double abar, int round, void *target)
{
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    unsigned grid = 1;
    DOPT_TRY(diff_grid(ctx, rows, &grid));
    DREAL *scratch = NULL;
    dopt_scratch_plan plan;
    dopt_scratch_plan_init(&plan, "srg target (cuda)");
    dopt_scratch_plan_add(&plan, (void **)&scratch, scratch_count ? scratch_count : 1, sizeof(DREAL));
    DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
    DFN(diff_target_kernel)<<<grid, DOPT_DIFF_BLOCK, 0, s>>>(bt, rows, (const DREAL *)xt, (const DREAL *)eps, abar,
                                                             (DREAL)g->gamma_o, (DREAL)g->gamma_c, (DREAL)g->lambda,
                                                             round, scratch, ssz, (DREAL *)target);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

static dopt_status DFN(diff_target_run)(dopt_context *ctx, const dopt_diffusion_guide *guide, const dopt_guidance *g,
                                        const void *xt, const void *eps, double abar, int round, void *target)
{
    DOPT_TRY(DFN(diff_check_run)(ctx, guide, "srg target"));
    int64_t rows = guide->batch * (int64_t)guide->samples;
    size_t ssz = (size_t)guide->n + (size_t)guide->m;
    return DFN(diff_target_batch_run)(ctx, DFN(diff_batch_of)(guide), rows, (size_t)rows * ssz, ssz, g, xt, eps, abar,
                                      round, target);
}

/* Scores the rows of bt (scratch_count values of scratch), then the
 * segmented arg-best per instance. */
static dopt_status DFN(diff_cand_batch_run)(dopt_context *ctx, DFN(diff_batch) bt, int64_t B, size_t scratch_count,
                                            const void *x, int round, double tol, void *objective, void *violation,
                                            int32_t *best, void *best_x)
{
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    int K = bt.samples;
    int64_t rows = B * (int64_t)K;
    unsigned grid_rows = 1, grid_inst = 1;
    DOPT_TRY(diff_grid(ctx, rows, &grid_rows));
    DOPT_TRY(diff_grid(ctx, B, &grid_inst));
    typedef thrust::transform_iterator<DFN(diff_cand_of), thrust::counting_iterator<int64_t> > cand_it;
    thrust::counting_iterator<int64_t> ids(0);
    dopt_seg_offsets off(ids, dopt_seg_offset{K});
    DFN(diff_cand_best) op = {(DREAL)tol};
    DFN(diff_cand) none; /* the identity: after every candidate (idx < 0) */
    none.viol = (DREAL)NAN;
    none.obj = (DREAL)NAN;
    none.idx = -1;
    /* CUB's temp size first, before anything is allocated: a NULL temp
     * pointer only computes it (the score pointers, maybe still NULL, are not read) */
    DREAL *scratch = NULL, *obj = (DREAL *)objective, *viol = (DREAL *)violation;
    DFN(diff_cand) *out = NULL;
    size_t bytes = 0;
    DFN(diff_cand_of) probe = {viol, obj};
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Reduce(NULL, bytes, cand_it(ids, probe), out, B, off, off + 1, op, none,
                                                    s));
    void *tmp = NULL;
    dopt_scratch_plan plan;
    dopt_scratch_plan_init(&plan, "diffusion candidates (cuda)");
    dopt_scratch_plan_add(&plan, (void **)&scratch, scratch_count ? scratch_count : 1, sizeof(DREAL));
    if (!obj) dopt_scratch_plan_add(&plan, (void **)&obj, (size_t)rows, sizeof(DREAL));
    if (!viol) dopt_scratch_plan_add(&plan, (void **)&viol, (size_t)rows, sizeof(DREAL));
    dopt_scratch_plan_add(&plan, (void **)&out, (size_t)B, sizeof(DFN(diff_cand)));
    dopt_scratch_plan_add(&plan, &tmp, bytes ? bytes : 1, 1);
    DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
    DFN(diff_score_kernel)<<<grid_rows, DOPT_DIFF_BLOCK, 0, s>>>(bt, rows, (const DREAL *)x, round, scratch, obj,
                                                                 viol);
    DOPT_CU_LAUNCH(ctx);
    DFN(diff_cand_of) mk = {viol, obj};
    cand_it in(ids, mk);
    DOPT_CU(ctx, cub::DeviceSegmentedReduce::Reduce(tmp, bytes, in, out, B, off, off + 1, op, none, s));
    DFN(diff_best_kernel)<<<grid_inst, DOPT_DIFF_BLOCK, 0, s>>>(bt, B, round, out, (const DREAL *)x, best,
                                                                (DREAL *)best_x);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

static dopt_status DFN(diff_cand_run)(dopt_context *ctx, const dopt_diffusion_guide *guide, const void *x, int round,
                                      double tol, void *objective, void *violation, int32_t *best, void *best_x)
{
    DOPT_TRY(DFN(diff_check_run)(ctx, guide, "candidates"));
    int64_t rows = guide->batch * (int64_t)guide->samples;
    return DFN(diff_cand_batch_run)(ctx, DFN(diff_batch_of)(guide), guide->batch, (size_t)rows * (size_t)guide->n, x,
                                    round, tol, objective, violation, best, best_x);
}

/* ---- block-diagonal batches: the offsets (one download), b, the CSR rows ---- */

static dopt_status DFN(diff_blocks_prepare)(dopt_context *ctx, const dopt_diffusion_blocks *P, const char *what,
                                            dopt_ragged_totals *tot)
{
    int milp = P->c != NULL;
    DOPT_TRY(dopt_ragged_check_cuda(ctx, what, P->var_ptr, milp ? P->con_ptr : NULL, P->batch, tot));
    if (!milp) return DOPT_OK;
    if (tot->cons > 0 && !P->b)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: b is NULL but there are %lld rows", what,
                         (long long)tot->cons);
    return DFN(diff_check_batch_run)(ctx, DFN(diff_batch_of_blocks)(P), P->batch, what);
}

static dopt_status DFN(diff_step_blocks_run)(dopt_context *ctx, const dopt_diffusion_step_desc *st,
                                             const dopt_diffusion_blocks *P, void *x, void *eps,
                                             const dopt_guidance *g)
{
    dopt_ragged_totals tot;
    DOPT_TRY(DFN(diff_blocks_prepare)(ctx, P, "diffusion step blocks", &tot));
    int guided = P->c != NULL;
    size_t count = guided ? (size_t)P->samples * (size_t)(tot.vars + tot.cons) : 1;
    return DFN(diff_step_batch_run)(ctx, DFN(diff_step_args_of)(st, guided, g), DFN(diff_batch_of_blocks)(P), 0,
                                    P->batch * (int64_t)P->samples, count, 0, x, eps);
}

static dopt_status DFN(diff_noise_blocks_run)(dopt_context *ctx, const dopt_diffusion_blocks *P, const void *x0,
                                              double abar, uint64_t seed, uint32_t step, void *xt, void *eps)
{
    dopt_ragged_totals tot;
    DOPT_TRY(dopt_ragged_check_cuda(ctx, "diffusion noise blocks", P->var_ptr, NULL, P->batch, &tot));
    return DFN(diff_noise_batch_run)(ctx, DFN(diff_batch_of_blocks)(P), P->batch * (int64_t)P->samples, 0, x0, abar,
                                     seed, step, xt, eps);
}

static dopt_status DFN(diff_target_blocks_run)(dopt_context *ctx, const dopt_diffusion_blocks *P,
                                               const dopt_guidance *g, const void *xt, const void *eps, double abar,
                                               int round, void *target)
{
    dopt_ragged_totals tot;
    DOPT_TRY(DFN(diff_blocks_prepare)(ctx, P, "srg target blocks", &tot));
    return DFN(diff_target_batch_run)(ctx, DFN(diff_batch_of_blocks)(P), P->batch * (int64_t)P->samples,
                                      (size_t)P->samples * (size_t)(tot.vars + tot.cons), 0, g, xt, eps, abar, round,
                                      target);
}

static dopt_status DFN(diff_cand_blocks_run)(dopt_context *ctx, const dopt_diffusion_blocks *P, const void *x,
                                             int round, double tol, void *objective, void *violation, int32_t *best,
                                             void *best_x)
{
    dopt_ragged_totals tot;
    DOPT_TRY(DFN(diff_blocks_prepare)(ctx, P, "candidates blocks", &tot));
    return DFN(diff_cand_batch_run)(ctx, DFN(diff_batch_of_blocks)(P), P->batch,
                                    (size_t)P->samples * (size_t)tot.vars, x, round, tol, objective, violation, best,
                                    best_x);
}
