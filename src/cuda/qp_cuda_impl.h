/* CUDA backend of the QP layer for one precision (included twice by
 * qp_cuda.cu through both_precisions.h, with DREAL / DFN set). The
 * per-instance math, phases included, is kernels/qp_ipm.h; here are only the
 * launches, the batch bookkeeping and the library calls. */

/* ---- small n, per instance (DOPT_QP_LAYOUT=instance): one thread per instance
 * runs the whole solve on its own contiguous workspace -------------------------- */
__global__ void DFN(qp_small_kernel)(DFN(qp_batch) bt, DFN(qp_settings) set, DREAL *work, size_t wsz, DREAL *keep,
                                     size_t psz, int64_t B, DREAL *x, DREAL *lam, DREAL *nu, int32_t *status,
                                     int32_t *iters)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    DFN(qp_solve_instance)(&bt, &set, work + i * wsz, keep ? keep + i * psz : NULL, i, x, lam, nu, status, iters);
}

/* ---- large n: the phases of kernels/qp_ipm_impl.h, one kernel each ------------- */
__global__ void DFN(qp_begin_kernel)(DFN(qp_batch) bt, DREAL *work, size_t wsz, DFN(qp_state) *state, int64_t B,
                                     int keep_factor)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    DFN(qp_instance_begin)(&bt, work + i * wsz, &state[i], i, keep_factor);
}

__global__ void DFN(qp_before_factor_kernel)(DFN(qp_batch) bt, DFN(qp_settings) set, DREAL *work, size_t wsz,
                                             DFN(qp_state) *state, int64_t B, DREAL *x, DREAL *lam, DREAL *nu,
                                             int *needs_factor)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    needs_factor[i] = DFN(qp_instance_before_factor)(&bt, &set, work + i * wsz, &state[i], i, x, lam, nu);
}

/* The library's pointer arrays: L and Gw of the j-th instance that needs a factorization. */
__global__ void DFN(qp_pointers_kernel)(DFN(qp_batch) bt, DREAL *work, size_t wsz, const int *active,
                                        const int *nactive, DREAL **lptr, const DREAL **gptr)
{
    int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= *nactive) return;
    DFN(qp_work) w = DFN(qp_work_map)(work + (int64_t)active[j] * wsz, bt.n, bt.m, bt.k);
    lptr[j] = w.L;
    gptr[j] = w.Gw;
}

__global__ void DFN(qp_after_factor_kernel)(DFN(qp_batch) bt, DFN(qp_settings) set, DREAL *work, size_t wsz,
                                            DFN(qp_state) *state, const int *active, const int *nactive,
                                            const int *info, DREAL *x, DREAL *lam, DREAL *nu)
{
    int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= *nactive) return;
    int64_t i = active[j];
    DFN(qp_instance_after_factor)(&bt, &set, work + i * wsz, &state[i], i, x, lam, nu, info[j]);
}

__global__ void DFN(qp_end_kernel)(DFN(qp_batch) bt, DREAL *work, size_t wsz, DFN(qp_state) *state, DREAL *keep,
                                   size_t psz, int64_t B, DREAL *x, DREAL *lam, DREAL *nu, int32_t *status,
                                   int32_t *iters)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    DFN(qp_instance_end)(&bt, work + i * wsz, &state[i], keep ? keep + i * psz : NULL, i, x, lam, nu, status, iters);
}

/* The batch in lock step: every round, the instances that need a
 * factorization (compacted with CUB) get L += Gw'Gw by batched GEMM and the
 * Cholesky of L by batched potrf, between the before- and after-factor
 * phases; finished instances cost nothing. The buffers are the solve's
 * (dopt_lockstep_plan, committed by qp_cuda_solve); nothing here takes the arena. */
static dopt_status DFN(qp_cuda_solve_large)(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                                            DREAL *work, size_t wsz, DREAL *keep, size_t psz, dopt_qp_solution *sol,
                                            const struct dopt_lockstep_buffers *bf)
{
    struct dopt_cuda_handles *hd;
    DOPT_TRY(dopt_cuda_handles_get(ctx, &hd));
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    int64_t B = P->batch;
    int n = P->n, m = P->m;
    DFN(qp_batch) bt = DFN(qp_batch_of)(P);
    DFN(qp_settings) set = DFN(qp_settings_of)(o);
    unsigned grid = dopt_grid(B, DOPT_BLOCK);
    DFN(qp_state) *state = (DFN(qp_state) *)bf->state;
    int *needs = (int *)bf->needs, *active = (int *)bf->active, *nactive = (int *)bf->nactive, *info = (int *)bf->info;
    DREAL **lptr = (DREAL **)bf->lptr;
    const DREAL **gptr = (const DREAL **)bf->gptr;

    DREAL *x = (DREAL *)sol->x, *lam = (DREAL *)sol->lam, *nu = (DREAL *)sol->nu;
    DFN(qp_begin_kernel)<<<grid, DOPT_BLOCK, 0, s>>>(bt, work, wsz, state, B, keep != NULL);
    DOPT_CU_LAUNCH(ctx);
    const DREAL one = 1;
    /* rounds: the start point, at most max_iter steps, the tape's factor, and
     * the one that finds nothing left; qp_instance_end reports any instance
     * still unfinished after them (none, unless the phases misbehave) */
    int64_t rounds = (int64_t)set.max_iter + 3;
    for (int64_t round = 0; round < rounds; ++round) {
        DFN(qp_before_factor_kernel)<<<grid, DOPT_BLOCK, 0, s>>>(bt, set, work, wsz, state, B, x, lam, nu, needs);
        DOPT_CU_LAUNCH(ctx);
        int count = 0;
        DOPT_TRY(dopt_lockstep_select(ctx, bf, B, &count));
        if (count == 0) break;
        unsigned agrid = dopt_grid(count, DOPT_BLOCK);
        DFN(qp_pointers_kernel)<<<agrid, DOPT_BLOCK, 0, s>>>(bt, work, wsz, active, nactive, lptr, gptr);
        DOPT_CU_LAUNCH(ctx);
        /* L (column-major view: the same symmetric matrix) += Gw' Gw, where the
         * row-major m x n Gw is column-major n x m */
        if (m > 0)
            DOPT_CUBLAS(ctx, DFN(dopt_cublas_gemm_batched)(hd->blas, CUBLAS_OP_N, CUBLAS_OP_T, n, n, m, &one, gptr, n,
                                                           gptr, n, &one, lptr, n, count));
        /* column-major lower Cholesky (H = L L') is, read row-major, the upper
         * factor U = L' of la_cholesky */
        DOPT_CUSOLVER(ctx, DFN(dopt_cusolver_potrf_batched)(hd->solver, CUBLAS_FILL_MODE_LOWER, n, lptr, n, info,
                                                            count));
        DFN(qp_after_factor_kernel)<<<agrid, DOPT_BLOCK, 0, s>>>(bt, set, work, wsz, state, active, nactive, info, x,
                                                                  lam, nu);
        DOPT_CU_LAUNCH(ctx);
    }
    DFN(qp_end_kernel)<<<grid, DOPT_BLOCK, 0, s>>>(bt, work, wsz, state, keep, psz, B, x, lam, nu, sol->status,
                                                    sol->iters);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

static dopt_status DFN(qp_cuda_solve)(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                                      dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    int64_t B = P->batch;
    if (B == 0) return DOPT_OK;
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    size_t wsz = DFN(qp_work_size)(P->n, P->m, P->k), psz = DFN(qp_work_persist_size)(P->n, P->m, P->k);
    DREAL *work = NULL, *keep = NULL;
    if (tape) { /* the tape keeps only the factorization (the workspace's prefix); it owns that memory */
        DOPT_TRY(dopt_cuda_reserve(ctx, &tape->work, &tape->cap_work, sizeof(DREAL) * psz * (size_t)B));
        keep = (DREAL *)tape->work;
    }
    /* every scratch buffer of the solve, all paths, in one plan */
    int large = P->n >= DOPT_QP_CUDA_LARGE_N, warp = !large && dopt_qp_cuda_uses_warp(P);
    int64_t per_thread = dopt_qp_warp_per_thread(B, dopt_qp_warp_max_threads());
    int64_t threads = (B + per_thread - 1) / per_thread, groups = (threads + DOPT_QP_WARP - 1) / DOPT_QP_WARP;
    size_t lsz = DFN(qpl_lanes_size_warp)(P->n, P->m, P->k), osz = DFN(qpl_one_size_warp)(P->n, P->m, P->k);
    DREAL *lanes = NULL, *one = NULL; /* the warp layout's (qp_cuda_warp.cu) */
    struct dopt_lockstep_buffers bf;
    memset(&bf, 0, sizeof bf);
    dopt_scratch_plan plan;
    dopt_scratch_plan_init(&plan, "qp solve (cuda)");
    if (warp) {
        dopt_scratch_plan_add(&plan, (void **)&lanes, (size_t)groups, sizeof(DREAL) * lsz);
        dopt_scratch_plan_add(&plan, (void **)&one, (size_t)threads, sizeof(DREAL) * osz);
    } else {
        dopt_scratch_plan_add(&plan, (void **)&work, (size_t)B, sizeof(DREAL) * wsz);
    }
    if (large) DOPT_TRY(dopt_lockstep_plan(ctx, &plan, B, sizeof(DFN(qp_state)), sizeof(DREAL *), &bf));
    DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
    dopt_status st = DOPT_OK;
    if (warp) {
        /* zeroed: the lanes of a last, partly empty group are never written */
        cudaError_t e = cudaMemsetAsync(lanes, 0, sizeof(DREAL) * lsz * (size_t)groups, s);
        if (e == cudaSuccess) e = dopt_qp_cuda_warp_launch(P, o, keep, sol, threads, per_thread, lanes, one, s);
        if (e == cudaSuccess) e = cudaStreamSynchronize(s);
        if (e != cudaSuccess)
            st = dopt_fail(ctx, DOPT_ERR_CUDA, "qp (cuda): warp-layout solve kernel failed: %s", cudaGetErrorString(e));
    } else if (!large) {
        DFN(qp_small_kernel)<<<dopt_grid(B, DOPT_BLOCK), DOPT_BLOCK, 0, s>>>(
            DFN(qp_batch_of)(P), DFN(qp_settings_of)(o), work, wsz, keep, psz, B, (DREAL *)sol->x, (DREAL *)sol->lam,
            (DREAL *)sol->nu, sol->status, sol->iters);
        cudaError_t e = cudaGetLastError();
        if (e == cudaSuccess) e = cudaStreamSynchronize(s);
        if (e != cudaSuccess)
            st = dopt_fail(ctx, DOPT_ERR_CUDA, "qp (cuda): solve kernel failed: %s", cudaGetErrorString(e));
    } else {
        st = DFN(qp_cuda_solve_large)(ctx, P, o, work, wsz, keep, psz, sol, &bf);
    }
    if (!tape || st != DOPT_OK) return st;
    tape->work_per_instance = psz;
    size_t nx = (size_t)B * P->n, nl = (size_t)B * P->m, nn = (size_t)B * P->k;
    DOPT_TRY(dopt_cuda_reserve(ctx, &tape->x, &tape->cap_x, sizeof(DREAL) * nx));
    DOPT_TRY(dopt_cuda_reserve(ctx, &tape->lam, &tape->cap_lam, sizeof(DREAL) * nl));
    DOPT_TRY(dopt_cuda_reserve(ctx, &tape->nu, &tape->cap_nu, sizeof(DREAL) * nn));
    DOPT_TRY(dopt_cuda_reserve(ctx, (void **)&tape->status, &tape->cap_status, sizeof(int32_t) * (size_t)B));
    DOPT_CU(ctx, cudaMemcpyAsync(tape->x, sol->x, sizeof(DREAL) * nx, cudaMemcpyDeviceToDevice, s));
    if (nl) DOPT_CU(ctx, cudaMemcpyAsync(tape->lam, sol->lam, sizeof(DREAL) * nl, cudaMemcpyDeviceToDevice, s));
    if (nn) DOPT_CU(ctx, cudaMemcpyAsync(tape->nu, sol->nu, sizeof(DREAL) * nn, cudaMemcpyDeviceToDevice, s));
    DOPT_CU(ctx, cudaMemcpyAsync(tape->status, sol->status, sizeof(int32_t) * B, cudaMemcpyDeviceToDevice, s));
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}

/* ---- backward ---------------------------------------------------------------- */
__global__ void DFN(qp_adjoint_kernel)(DFN(qp_batch) bt, const DREAL *kept, size_t psz, DREAL *work, size_t wsz,
                                       int refine, const int32_t *status, const DREAL *gx, const DREAL *glam,
                                       const DREAL *gnu, int64_t B, DREAL *DX, DREAL *DLT, DREAL *DN)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    DFN(qp_adjoint_instance)(&bt, kept + i * psz, work + i * wsz, refine, status[i], gx, glam, gnu, i, DX, DLT, DN);
}

/* per-instance outer-product gradient: one thread per (instance, row) */
__global__ void DFN(qp_outer_kernel)(int64_t B, int rows, int n, DREAL scale, const DREAL *U, const DREAL *X,
                                     const DREAL *V, const DREAL *Y, DREAL *out)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= B * rows) return;
    int64_t b = t / rows;
    DFN(qp_outer_row)(n, scale, U[t], X + b * n, V[t], Y + b * n, out + t * n);
}

__global__ void DFN(qp_scale_kernel)(int64_t len, DREAL scale, const DREAL *in, DREAL *out)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t < len) out[t] = scale * in[t];
}

__global__ void DFN(qp_fill_kernel)(int64_t len, DREAL value, DREAL *out)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t < len) out[t] = value;
}

/* out (rows x n, row-major) = scale * (U' X + V' Y) summed over the batch, with
 * U (B x rows), X (B x n) row-major: in column-major terms out' = X U' + Y V'.
 * Shared: cuBLAS GEMM (fixed order, no atomics: deterministic). */
static dopt_status DFN(qp_outer_grad)(dopt_context *ctx, struct dopt_cuda_handles *hd, int64_t B, int rows, int n,
                                      int shared, DREAL scale, const DREAL *U, const DREAL *X, const DREAL *V,
                                      const DREAL *Y, DREAL *out)
{
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    if (!shared) {
        DFN(qp_outer_kernel)<<<dopt_grid(B * rows, DOPT_BLOCK), DOPT_BLOCK, 0, s>>>(B, rows, n, scale, U, X, V, Y,
                                                                                   out);
        DOPT_CU_LAUNCH(ctx);
        return DOPT_OK;
    }
    const DREAL zero = 0, one = 1;
    DOPT_CUBLAS(ctx, DFN(dopt_cublas_gemm)(hd->blas, CUBLAS_OP_N, CUBLAS_OP_T, n, rows, (int)B, &scale, X, n, U, rows,
                                           &zero, out, n));
    DOPT_CUBLAS(ctx, DFN(dopt_cublas_gemm)(hd->blas, CUBLAS_OP_N, CUBLAS_OP_T, n, rows, (int)B, &scale, Y, n, V, rows,
                                           &one, out, n));
    return DOPT_OK;
}

/* out (len) = scale * U_b per instance, or scale * sum_b U_b (shared: GEMV with ones). */
static dopt_status DFN(qp_vec_grad)(dopt_context *ctx, struct dopt_cuda_handles *hd, int64_t B, int len, int shared,
                                    DREAL scale, const DREAL *U, const DREAL *ones, DREAL *out)
{
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    if (!shared) {
        DFN(qp_scale_kernel)<<<dopt_grid(B * len, DOPT_BLOCK), DOPT_BLOCK, 0, s>>>(B * len, scale, U, out);
        DOPT_CU_LAUNCH(ctx);
        return DOPT_OK;
    }
    const DREAL zero = 0;
    DOPT_CUBLAS(ctx, DFN(dopt_cublas_gemv)(hd->blas, CUBLAS_OP_N, len, (int)B, &scale, U, len, ones, 1, &zero, out, 1));
    return DOPT_OK;
}

static dopt_status DFN(qp_cuda_backward)(dopt_context *ctx, const dopt_qp_tape *tp, const dopt_qp_grad_in *gin,
                                         dopt_qp_grad_out *g)
{
    struct dopt_cuda_handles *hd;
    DOPT_TRY(dopt_cuda_handles_get(ctx, &hd));
    cudaStream_t s = (cudaStream_t)ctx->cuda_stream;
    const dopt_qp_problem *P = &tp->prob;
    int64_t B = P->batch;
    int n = P->n, m = P->m, k = P->k;
    if (B > 2147483647) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "qp backward (cuda): batch too large");
    size_t wsz = DFN(qp_work_size)(n, m, k);
    DREAL *DX = NULL, *DLT = NULL, *DN = NULL, *ones = NULL, *work = NULL;
    dopt_scratch_plan plan;
    dopt_scratch_plan_init(&plan, "qp backward (cuda)");
    dopt_scratch_plan_add(&plan, (void **)&DX, (size_t)B * n, sizeof(DREAL));
    dopt_scratch_plan_add(&plan, (void **)&DLT, (size_t)B * m + 1, sizeof(DREAL));
    dopt_scratch_plan_add(&plan, (void **)&DN, (size_t)B * k + 1, sizeof(DREAL));
    dopt_scratch_plan_add(&plan, (void **)&ones, (size_t)B, sizeof(DREAL));
    dopt_scratch_plan_add(&plan, (void **)&work, (size_t)B, sizeof(DREAL) * wsz);
    DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
    DFN(qp_fill_kernel)<<<dopt_grid(B, DOPT_BLOCK), DOPT_BLOCK, 0, s>>>(B, (DREAL)1, ones);
    DOPT_CU_LAUNCH(ctx);
    DFN(qp_adjoint_kernel)<<<dopt_grid(B, DOPT_BLOCK), DOPT_BLOCK, 0, s>>>(
        DFN(qp_batch_of)(P), (const DREAL *)tp->work, tp->work_per_instance, work, wsz, tp->opt.refine + 3,
        tp->status, (const DREAL *)gin->dx, m ? (const DREAL *)gin->dlam : NULL, k ? (const DREAL *)gin->dnu : NULL, B,
        DX, DLT, DN);
    DOPT_CU_LAUNCH(ctx);
    const DREAL *x = (const DREAL *)tp->x, *lam = (const DREAL *)tp->lam, *nu = (const DREAL *)tp->nu;
    unsigned sh = P->shared;
    if (g->dp) DOPT_TRY(DFN(qp_vec_grad)(ctx, hd, B, n, (sh & DOPT_QP_SHARE_P) != 0, 1, DX, ones, (DREAL *)g->dp));
    if (g->dQ)
        DOPT_TRY(DFN(qp_outer_grad)(ctx, hd, B, n, n, !P->Q || (sh & DOPT_QP_SHARE_Q), (DREAL)0.5, DX, x, x, DX,
                                    (DREAL *)g->dQ));
    if (m && g->dG)
        DOPT_TRY(DFN(qp_outer_grad)(ctx, hd, B, m, n, (sh & DOPT_QP_SHARE_G) != 0, 1, DLT, x, lam, DX,
                                    (DREAL *)g->dG));
    if (m && g->dh)
        DOPT_TRY(DFN(qp_vec_grad)(ctx, hd, B, m, (sh & DOPT_QP_SHARE_H) != 0, -1, DLT, ones, (DREAL *)g->dh));
    if (k && g->dA)
        DOPT_TRY(DFN(qp_outer_grad)(ctx, hd, B, k, n, (sh & DOPT_QP_SHARE_A) != 0, 1, DN, x, nu, DX,
                                    (DREAL *)g->dA));
    if (k && g->db)
        DOPT_TRY(DFN(qp_vec_grad)(ctx, hd, B, k, (sh & DOPT_QP_SHARE_B) != 0, -1, DN, ones, (DREAL *)g->db));
    DOPT_CU(ctx, cudaStreamSynchronize(s));
    return DOPT_OK;
}
