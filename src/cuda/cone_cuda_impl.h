/* CUDA backend of the cone layer for one precision (included twice by
 * cone_cuda.cu through both_precisions.h, with DREAL / DFN set). */

__global__ void DFN(cone_solve_kernel)(DFN(cone_batch) bt, dopt_cone_layout L, DFN(cone_settings) set, DREAL *work,
                                       size_t wsz, DREAL *keep, size_t ksz, int64_t B, DREAL *x, DREAL *s, DREAL *z,
                                       DREAL *y, int32_t *status, int32_t *iters)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    DFN(cone_view) v = DFN(cone_view_of)(&bt, i);
    int32_t it = 0;
    status[i] = DFN(cone_solve_instance)(&v, &L, &set, work + i * wsz, keep ? keep + i * ksz : NULL,
                                         x + i * bt.n, s + i * bt.m, z + i * bt.m, y + i * bt.k, &it);
    if (iters) iters[i] = it;
}

/* The layout with its size arrays in device memory (dq, ds: nq and ns ints). */
static dopt_status DFN(cone_device_layout)(dopt_context *ctx, const dopt_cone_problem *P, int32_t *dq, int32_t *ds,
                                           dopt_cone_layout *L)
{
    cudaStream_t st = (cudaStream_t)ctx->cuda_stream;
    const dopt_cone_dims *d = &P->cones;
    if (d->nq) DOPT_CU(ctx, cudaMemcpyAsync(dq, d->q, sizeof(int32_t) * (size_t)d->nq, cudaMemcpyHostToDevice, st));
    if (d->ns) DOPT_CU(ctx, cudaMemcpyAsync(ds, d->s, sizeof(int32_t) * (size_t)d->ns, cudaMemcpyHostToDevice, st));
    *L = dopt_cone_layout_of(d, dq, ds);
    return DOPT_OK;
}

/* ---- large n: the phases of kernels/cone_ipm_impl.h, one kernel each ------------ */
__global__ void DFN(cone_begin_kernel)(DFN(cone_batch) bt, dopt_cone_layout L, DREAL *work, size_t wsz,
                                       DFN(cone_state) *state, int64_t B)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    DFN(cone_view) v = DFN(cone_view_of)(&bt, i);
    DFN(cone_phase_begin)(&v, &L, work + i * wsz, &state[i]);
}

__global__ void DFN(cone_before_factor_kernel)(DFN(cone_batch) bt, dopt_cone_layout L, DFN(cone_settings) set,
                                               DREAL *work, size_t wsz, DFN(cone_state) *state, int64_t B,
                                               int *needs_factor)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    DFN(cone_view) v = DFN(cone_view_of)(&bt, i);
    needs_factor[i] = DFN(cone_phase_before_factor)(&v, &L, &set, work + i * wsz, &state[i]);
}

/* The library's pointer arrays: F and Gs of the j-th instance that needs a factorization. */
__global__ void DFN(cone_pointers_kernel)(DFN(cone_batch) bt, dopt_cone_layout L, DREAL *work, size_t wsz,
                                          const int *active, const int *nactive, DREAL **fptr, const DREAL **gptr)
{
    int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= *nactive) return;
    DFN(cone_work) w = DFN(cone_work_map)(work + (int64_t)active[j] * wsz, bt.n, bt.k, &L);
    fptr[j] = w.F;
    gptr[j] = w.Gs;
}

__global__ void DFN(cone_after_factor_kernel)(DFN(cone_batch) bt, dopt_cone_layout L, DFN(cone_settings) set,
                                              DREAL *work, size_t wsz, DFN(cone_state) *state, const int *active,
                                              const int *nactive, const int *info)
{
    int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= *nactive) return;
    int64_t i = active[j];
    DFN(cone_view) v = DFN(cone_view_of)(&bt, i);
    DFN(cone_work) w = DFN(cone_work_map)(work + i * wsz, bt.n, bt.k, &L);
    DFN(cone_factor_after_cholesky)(bt.n, bt.k, L.m, w.Gs, v.A, info[j], w.F, w.tv);
    DFN(cone_phase_after_factor)(&v, &L, &set, work + i * wsz, &state[i]);
}

__global__ void DFN(cone_end_kernel)(DFN(cone_batch) bt, dopt_cone_layout L, DREAL *work, size_t wsz,
                                     const DFN(cone_state) *state, DREAL *keep, size_t ksz, int64_t B, DREAL *x,
                                     DREAL *s, DREAL *z, DREAL *y, int32_t *status, int32_t *iters)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    DFN(cone_view) v = DFN(cone_view_of)(&bt, i);
    int32_t it = 0;
    status[i] = DFN(cone_phase_end)(&v, &L, work + i * wsz, &state[i], keep ? keep + i * ksz : NULL, x + i * bt.n,
                                    s + i * bt.m, z + i * bt.m, y + i * bt.k, &it);
    if (iters) iters[i] = it;
}

/* The batch in lock step: every round, the instances that need a
 * factorization (compacted with CUB) get F's x block += Gs'Gs/(1 + reg) by
 * batched GEMM and its Cholesky by batched potrf, between the before- and
 * after-factor phases; the after-factor phase rewrites the Cholesky factor
 * as the kernels' LDL', factors the equality rows, and refactors in the
 * kernel where potrf failed. Finished instances cost nothing. */
static dopt_status DFN(cone_cuda_solve_large)(dopt_context *ctx, const dopt_cone_problem *P, dopt_cone_layout L,
                                              DFN(cone_settings) set, DREAL *work, size_t wsz, DREAL *keep,
                                              size_t ksz, DREAL *x, DREAL *s, DREAL *z, DREAL *y, int32_t *status,
                                              int32_t *iters, const struct dopt_lockstep_buffers *bf)
{
    struct dopt_cuda_handles *hd;
    DOPT_TRY(dopt_cuda_handles_get(ctx, &hd));
    cudaStream_t st = (cudaStream_t)ctx->cuda_stream;
    int64_t B = P->batch;
    int n = P->n, k = P->k, m = L.m, R = n + k;
    DFN(cone_batch) bt = DFN(cone_batch_of)(P, m);
    unsigned grid = dopt_grid(B, DOPT_CONE_BLOCK);
    DFN(cone_state) *state = (DFN(cone_state) *)bf->state;
    int *needs = (int *)bf->needs, *active = (int *)bf->active, *nactive = (int *)bf->nactive, *info = (int *)bf->info;
    DREAL **fptr = (DREAL **)bf->lptr;
    const DREAL **gptr = (const DREAL **)bf->gptr;
    DFN(cone_begin_kernel)<<<grid, DOPT_CONE_BLOCK, 0, st>>>(bt, L, work, wsz, state, B);
    DOPT_CU_LAUNCH(ctx);
    const DREAL one = 1, weight = DFN(cone_gram_weight)();
    /* rounds: the start point, at most max_iter steps, and the one that
     * finds nothing left */
    int64_t rounds = (int64_t)set.max_iter + 3;
    for (int64_t round = 0; round < rounds; ++round) {
        DFN(cone_before_factor_kernel)<<<grid, DOPT_CONE_BLOCK, 0, st>>>(bt, L, set, work, wsz, state, B, needs);
        DOPT_CU_LAUNCH(ctx);
        int count = 0;
        DOPT_TRY(dopt_lockstep_select(ctx, bf, B, &count));
        if (count == 0) break;
        unsigned agrid = dopt_grid(count, DOPT_CONE_BLOCK);
        DFN(cone_pointers_kernel)<<<agrid, DOPT_CONE_BLOCK, 0, st>>>(bt, L, work, wsz, active, nactive, fptr, gptr);
        DOPT_CU_LAUNCH(ctx);
        /* F's x block (leading dimension R; column-major view: the same
         * symmetric block) += weight Gs'Gs, where the row-major m x n Gs is
         * column-major n x m */
        if (m > 0)
            DOPT_CUBLAS(ctx, DFN(dopt_cublas_gemm_batched)(hd->blas, CUBLAS_OP_N, CUBLAS_OP_T, n, n, m, &weight, gptr,
                                                           n, gptr, n, &one, fptr, R, count));
        DOPT_CUSOLVER(ctx, DFN(dopt_cusolver_potrf_batched)(hd->solver, CUBLAS_FILL_MODE_LOWER, n, fptr, R, info,
                                                            count));
        DFN(cone_after_factor_kernel)<<<agrid, DOPT_CONE_BLOCK, 0, st>>>(bt, L, set, work, wsz, state, active,
                                                                          nactive, info);
        DOPT_CU_LAUNCH(ctx);
    }
    DFN(cone_end_kernel)<<<grid, DOPT_CONE_BLOCK, 0, st>>>(bt, L, work, wsz, state, keep, ksz, B, x, s, z, y, status,
                                                            iters);
    DOPT_CU_LAUNCH(ctx);
    return DOPT_OK;
}

static dopt_status DFN(cone_cuda_solve)(dopt_context *ctx, const dopt_cone_problem *P, const dopt_cone_options *o,
                                        dopt_cone_solution *sol, dopt_cone_tape *tape)
{
    int64_t B = P->batch;
    dopt_cone_layout Lh = dopt_cone_layout_of(&P->cones, P->cones.q, P->cones.s);
    size_t wsz = dopt_cone_work_size(P->n, P->k, &Lh), ksz = dopt_cone_keep_size(P->n, P->k, &Lh);
    size_t sizes = (size_t)(P->cones.nq + P->cones.ns + 2);
    int large = P->n >= DOPT_CONE_CUDA_LARGE_N;
    DREAL *work = NULL;
    int32_t *dq = NULL;
    struct dopt_lockstep_buffers bf;
    memset(&bf, 0, sizeof bf);
    dopt_scratch_plan plan;
    dopt_scratch_plan_init(&plan, "cone solve (cuda)");
    dopt_scratch_plan_add(&plan, (void **)&work, wsz * (size_t)B, sizeof(DREAL));
    dopt_scratch_plan_add(&plan, (void **)&dq, sizes, sizeof(int32_t));
    if (large) DOPT_TRY(dopt_lockstep_plan(ctx, &plan, B, sizeof(DFN(cone_state)), sizeof(DREAL *), &bf));
    DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
    int32_t *ds = dq + P->cones.nq + 1;
    dopt_cone_layout L;
    DOPT_TRY(DFN(cone_device_layout)(ctx, P, dq, ds, &L));
    /* m = 0 or k = 0: the kernels index these outputs but never write them */
    DREAL *none = work;
    DREAL *x = (DREAL *)sol->x, *s = Lh.m ? (DREAL *)sol->s : none, *z = Lh.m ? (DREAL *)sol->z : none,
          *y = P->k ? (DREAL *)sol->y : none, *keep = tape ? (DREAL *)tape->keep : NULL;
    if (large)
        return DFN(cone_cuda_solve_large)(ctx, P, L, DFN(cone_settings_of)(o), work, wsz, keep, ksz, x, s, z, y,
                                          sol->status, sol->iters, &bf);
    unsigned grid = dopt_grid(B, DOPT_CONE_BLOCK); /* B * N^2 is bounded by the layer: far below the launch limit */
    DFN(cone_solve_kernel)<<<grid, DOPT_CONE_BLOCK, 0, (cudaStream_t)ctx->cuda_stream>>>(
        DFN(cone_batch_of)(P, Lh.m), L, DFN(cone_settings_of)(o), work, wsz, keep, ksz, B, x, s, z, y, sol->status,
        sol->iters);
    DOPT_CU_LAUNCH(ctx);
    return DOPT_OK;
}

__global__ void DFN(cone_adjoint_kernel)(dopt_cone_layout L, int n, int k, const DREAL *keep, size_t ksz, int refine,
                                         const int32_t *status, const DREAL *gx, const DREAL *gs, const DREAL *gz,
                                         const DREAL *gy, DREAL *U, DREAL *work, int64_t B)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B) return;
    int m = L.m, N = n + k + m;
    DREAL *u = U + i * N;
    DFN(cone_adjoint_instance)(&L, n, k, keep + i * ksz, refine, status[i], gx + i * n, gs ? gs + i * m : NULL,
                               gz ? gz + i * m : NULL, gy ? gy + i * k : NULL, u, u + n, u + n + k,
                               work + i * 4 * (int64_t)N);
}

/* out = -(P_b,r ux_b,c + Q_b,r x_b,c) per entry, or its sum over b when shared
 * (P: the solution's rows at pofs, Q: the adjoint's; x, ux their first n). */
__global__ void DFN(cone_grad_mat_kernel)(const DREAL *keep, size_t ksz, const DREAL *U, int64_t B, int rows, int n,
                                          int N, int pofs, int shared, DREAL *out)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    int64_t per = (int64_t)rows * n;
    if (t >= (shared ? per : B * per)) return;
    int64_t b0 = shared ? 0 : t / per, b1 = shared ? B : b0 + 1;
    int r = (int)((t % per) / n), c = (int)(t % n);
    DREAL acc = 0;
    for (int64_t b = b0; b < b1; ++b) {
        const DREAL *sol = keep + b * ksz + 2 * (size_t)N * N + N, *u = U + b * N;
        acc -= sol[pofs + r] * u[c] + u[pofs + r] * sol[c];
    }
    out[t] = acc;
}

/* out = sign * U's block at ofs, per instance or summed over the batch */
__global__ void DFN(cone_grad_vec_kernel)(const DREAL *U, int64_t B, int N, int ofs, int len, int shared, DREAL sign,
                                          DREAL *out)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= (shared ? len : B * len)) return;
    if (shared) {
        DREAL acc = 0;
        for (int64_t b = 0; b < B; ++b) acc += U[b * N + ofs + t];
        out[t] = sign * acc;
    } else {
        out[t] = sign * U[(t / len) * N + ofs + t % len];
    }
}

static dopt_status DFN(cone_cuda_backward)(dopt_context *ctx, const dopt_cone_tape *T, const dopt_cone_grad_in *gin,
                                           dopt_cone_grad_out *g)
{
    const dopt_cone_problem *P = &T->prob;
    cudaStream_t st = (cudaStream_t)ctx->cuda_stream;
    int64_t B = P->batch;
    int n = P->n, k = P->k;
    dopt_cone_layout Lh = dopt_cone_layout_of(&P->cones, P->cones.q, P->cones.s);
    int m = Lh.m, N = n + k + m;
    size_t sizes = (size_t)(P->cones.nq + P->cones.ns + 2);
    void *scratch = NULL;
    DOPT_TRY(dopt_scratch_reserve(ctx, sizeof(DREAL) * 4 * (size_t)N * (size_t)B + sizeof(int32_t) * sizes, &scratch));
    DREAL *work = (DREAL *)scratch;
    int32_t *dq = (int32_t *)(work + 4 * (size_t)N * (size_t)B), *ds = dq + P->cones.nq + 1;
    dopt_cone_layout L;
    DOPT_TRY(DFN(cone_device_layout)(ctx, P, dq, ds, &L));
    DREAL *U = (DREAL *)T->adjoint;
    const DREAL *keep = (const DREAL *)T->keep;
    size_t ksz = T->keep_per_instance;
    unsigned grid = dopt_grid(B, DOPT_CONE_BLOCK);
    DFN(cone_adjoint_kernel)<<<grid, DOPT_CONE_BLOCK, 0, st>>>(
        L, n, k, keep, ksz, T->opt.refine + 2, (const int32_t *)T->status, (const DREAL *)gin->dx,
        m ? (const DREAL *)gin->ds : NULL, m ? (const DREAL *)gin->dz : NULL, k ? (const DREAL *)gin->dy : NULL, U,
        work, B);
    DOPT_CU_LAUNCH(ctx);
    unsigned sh = P->shared;
    struct {
        void *out;
        int ofs, len;
        unsigned bit;
        DREAL sign;
    } vecs[3] = {{g->dc, 0, n, DOPT_CONE_SHARE_C, -1}, {g->db, n, k, DOPT_CONE_SHARE_B, 1},
                 {g->dh, n + k, m, DOPT_CONE_SHARE_H, 1}};
    for (int a = 0; a < 3; ++a) {
        if (!vecs[a].out || !vecs[a].len) continue;
        int shared = (sh & vecs[a].bit) != 0;
        grid = dopt_grid(shared ? vecs[a].len : B * vecs[a].len, DOPT_CONE_BLOCK);
        DFN(cone_grad_vec_kernel)<<<grid, DOPT_CONE_BLOCK, 0, st>>>(U, B, N, vecs[a].ofs, vecs[a].len, shared,
                                                                     vecs[a].sign, (DREAL *)vecs[a].out);
        DOPT_CU_LAUNCH(ctx);
    }
    struct {
        void *out;
        int rows, pofs;
        unsigned bit;
    } mats[2] = {{g->dA, k, n, DOPT_CONE_SHARE_A}, {g->dG, m, n + k, DOPT_CONE_SHARE_G}};
    for (int a = 0; a < 2; ++a) {
        if (!mats[a].out || !mats[a].rows) continue;
        int shared = (sh & mats[a].bit) != 0;
        int64_t count = (int64_t)mats[a].rows * n * (shared ? 1 : B);
        grid = dopt_grid(count, DOPT_CONE_BLOCK);
        DFN(cone_grad_mat_kernel)<<<grid, DOPT_CONE_BLOCK, 0, st>>>(keep, ksz, U, B, mats[a].rows, n, N, mats[a].pofs,
                                                                     shared, (DREAL *)mats[a].out);
        DOPT_CU_LAUNCH(ctx);
    }
    return DOPT_OK;
}
