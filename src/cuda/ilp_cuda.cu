/* CUDA backend of the ILP layer. Scheme (docs/ILP.md): a persistent grid of
 * threads, each running kernels/ilp_solver.h on one instance at a time and
 * taking the next instance from a global atomic counter when it finishes.
 * Tree sizes differ by orders of magnitude within a batch; with the queue a
 * large tree holds one thread while the others drain the rest of the batch,
 * instead of a whole statically assigned block waiting for it. Each thread's
 * workspace (tableau, trail) is its own slice of one device buffer, so the
 * grid is sized to a memory budget, not to the batch:
 *  - the trail is sized by the boxes (ilp_trail_depth: n levels for binary
 *    problems instead of ILP_MAX_TRAIL), found by a prepare kernel;
 *  - every workspace of a call (solver, gradient) stays within
 *    DOPT_ILP_WORK_BUDGET, and the thread count is rounded DOWN to whole
 *    blocks, so the rounding never exceeds the budget;
 *  - no thread count above what the device can hold resident (more would
 *    only wait for a slot).
 * Time limit: one deadline for the whole call (see ilp_prepare_kernel).
 * Gradient rows and their reduction are one thread per instance / output
 * element. Only the CUDA runtime is used: no cuBLAS/cuSOLVER handles. */
#include "cuda_check.h"
#include "ilp_backend.h"

#define DOPT_ILP_BLOCK 64
/* device workspace budget of one ILP backend call (solver or gradient) */
#define DOPT_ILP_WORK_BUDGET (512ull << 20)

/* Call-level values the prepare kernel leaves for the host. */
enum { ILP_CTL_NEXT = 0, ILP_CTL_DEPTH = 1, ILP_CTL_START = 2, ILP_CTL_COUNT = 3 };

/* Thread 0 reads the device's global nanosecond timer (%globaltimer, one
 * clock for every SM) at the start of the call; the host adds the time limit
 * to it, so every solver thread compares the same clock against the same
 * absolute deadline. The host cannot compute the deadline from its own
 * clock: %globaltimer is not specified to match any host clock. Every thread
 * also raises ctl[DEPTH] to the trail its data instance needs. */
__global__ void ilp_prepare_kernel(ilp_view v, int64_t instances, unsigned long long *ctl)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i == 0) ctl[ILP_CTL_START] = (unsigned long long)ilp_now_ns();
    if (i < instances) atomicMax(&ctl[ILP_CTL_DEPTH], (unsigned long long)ilp_trail_depth(&v, i));
}

__global__ void ilp_solve_kernel(ilp_view v, ilp_limits lim, int depth, ilp_out out, unsigned char *work,
                                 size_t wbytes, unsigned long long *next)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    unsigned char *buf = work + (size_t)t * wbytes;
    double *y = (double *)buf;
    for (;;) {
        int64_t p = (int64_t)atomicAdd(next, 1ull);
        if (p >= v.solves) break;
        int64_t s = ilp_solve_at(&v, p), yo = ilp_y_off(&v, s); /* ragged: largest cost first */
        int n = ilp_n_of(&v, ilp_inst_of(&v, s));
        ilp_result r = ilp_solve_one(&v, s, &lim, buf + sizeof(double) * (size_t)v.n, depth, y);
        for (int k = 0; k < n; ++k) ilp_st(out.y, out.dt_y, yo + k, y[k]);
        if (out.obj) ilp_st(out.obj, out.dt_obj, s, r.obj);
        if (out.bound) ilp_st(out.bound, out.dt_obj, s, r.bound);
        out.status[s] = r.status;
        if (out.nodes) out.nodes[s] = r.nodes;
    }
}

/* Threads for `items` work items of `bytes` workspace each: at most the
 * budget, the items and the resident capacity, in whole blocks (rounded
 * down; one partial block when fewer than a block fit). */
static dopt_status ilp_threads(dopt_context *ctx, int64_t items, size_t bytes, unsigned *blocks, unsigned *block)
{
    int sms = 0, per_sm = 0;
    DOPT_CU(ctx, cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, ctx->cuda_device));
    DOPT_CU(ctx, cudaDeviceGetAttribute(&per_sm, cudaDevAttrMaxThreadsPerMultiProcessor, ctx->cuda_device));
    int64_t threads = (int64_t)(DOPT_ILP_WORK_BUDGET / (bytes ? bytes : 1));
    if (threads < 1)
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "ilp (cuda): one workspace (%zu bytes) exceeds the budget",
                         bytes);
    int64_t resident = (int64_t)sms * per_sm;
    if (threads > items) threads = items;
    if (resident > 0 && threads > resident) threads = resident;
    if (threads < 1) threads = 1;
    *block = threads < DOPT_ILP_BLOCK ? (unsigned)threads : DOPT_ILP_BLOCK;
    *blocks = (unsigned)(threads / *block);
    return DOPT_OK;
}

/* Two scratch plans, one after the other: the workspace's size depends on the
 * trail depth, which the prepare kernel finds. The first plan (the control
 * words) is dead before the second is committed: the stream is synchronized
 * and host_ctl holds what the prepare kernel left, so the second commit may
 * grow (move) the arena. The solve kernel's instance counter lives in the
 * second plan and is zeroed there. */
extern "C" dopt_status dopt_ilp_solve_cuda(dopt_context *ctx, const ilp_view *v, const dopt_ilp_options *o,
                                           const ilp_out *out)
{
    cudaStream_t stream = (cudaStream_t)ctx->cuda_stream;
    unsigned long long *ctl = NULL;
    dopt_scratch_plan plan;
    dopt_scratch_plan_init(&plan, "ilp (cuda): prepare");
    dopt_scratch_plan_add(&plan, (void **)&ctl, ILP_CTL_COUNT, sizeof(unsigned long long));
    DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
    DOPT_CU(ctx, cudaMemsetAsync(ctl, 0, sizeof(unsigned long long) * ILP_CTL_COUNT, stream));
    /* shared or default bounds: one box for every instance of a uniform batch */
    int shared_box =
        !v->rg.n && (!v->lb || (v->share & ILP_SHARE_LB)) && (!v->ub || (v->share & ILP_SHARE_UB));
    int64_t instances = shared_box ? 1 : v->solves / v->group;
    unsigned pgrid = 1;
    DOPT_TRY(dopt_grid_checked(ctx, "ilp", instances, 256, &pgrid));
    ilp_prepare_kernel<<<pgrid, 256, 0, stream>>>(*v, instances, ctl);
    DOPT_CU_LAUNCH(ctx);
    unsigned long long host_ctl[ILP_CTL_COUNT];
    DOPT_CU(ctx, cudaMemcpyAsync(host_ctl, ctl, sizeof host_ctl, cudaMemcpyDeviceToHost, stream));
    DOPT_CU(ctx, cudaStreamSynchronize(stream));
    ilp_limits lim;
    lim.node_limit = o->node_limit;
    lim.deadline_ns = o->time_limit > 0 ? host_ctl[ILP_CTL_START] + (uint64_t)(o->time_limit * 1e9) : 0;
    int depth = (int)host_ctl[ILP_CTL_DEPTH];

    size_t wbytes = (sizeof(double) * (size_t)v->n + ilp_work_bytes(v->n, v->m, depth) + 255) & ~(size_t)255;
    unsigned blocks = 1, block = 1;
    DOPT_TRY(ilp_threads(ctx, v->solves, wbytes, &blocks, &block));
    unsigned long long *next = NULL;
    unsigned char *work = NULL;
    dopt_scratch_plan_init(&plan, "ilp (cuda): solver workspace");
    dopt_scratch_plan_add(&plan, (void **)&next, 1, sizeof(unsigned long long));
    dopt_scratch_plan_add(&plan, (void **)&work, (size_t)blocks * block, wbytes);
    DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
    DOPT_CU(ctx, cudaMemsetAsync(next, 0, sizeof(unsigned long long), stream));
    ilp_solve_kernel<<<blocks, block, 0, stream>>>(*v, lim, depth, *out, work, wbytes, next);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(stream));
    return DOPT_OK;
}

__global__ void ilp_grad_kernel(ilp_view v, ilp_grad_args ga, int64_t batch, double *work, size_t wsz)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    double *w = work + (size_t)t * wsz;
    int *order = (int *)(w + ilp_grad_work(v.n, v.m));
    for (int64_t i = t; i < batch; i += stride) ilp_grad_instance(&v, &ga, i, w, order);
}

extern "C" dopt_status dopt_ilp_grad_cuda(dopt_context *ctx, const ilp_view *v, const ilp_grad_args *ga,
                                          int64_t batch)
{
    cudaStream_t stream = (cudaStream_t)ctx->cuda_stream;
    size_t wsz = ilp_grad_work(v->n, v->m) + (size_t)v->n; /* doubles, + n ints */
    unsigned blocks = 1, block = 1;
    DOPT_TRY(ilp_threads(ctx, batch, sizeof(double) * wsz, &blocks, &block));
    double *work = NULL;
    dopt_scratch_plan plan;
    dopt_scratch_plan_init(&plan, "ilp (cuda): gradient workspace");
    dopt_scratch_plan_add(&plan, (void **)&work, (size_t)blocks * block, sizeof(double) * wsz);
    DOPT_TRY(dopt_scratch_plan_commit(ctx, &plan));
    ilp_grad_kernel<<<blocks, block, 0, stream>>>(*v, *ga, batch, work, wsz);
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) return dopt_fail(ctx, DOPT_ERR_CUDA, "ilp (cuda): gradient kernel: %s", cudaGetErrorString(e));
    return DOPT_OK;
}

__global__ void ilp_reduce_kernel(ilp_block b, int64_t count)
{
    int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e < count) ilp_block_elem(&b, e);
}

extern "C" dopt_status dopt_ilp_reduce_cuda(dopt_context *ctx, const ilp_block *blk)
{
    cudaStream_t stream = (cudaStream_t)ctx->cuda_stream;
    int64_t count = ilp_block_count(blk);
    if (count == 0) return DOPT_OK;
    unsigned grid = 1;
    DOPT_TRY(dopt_grid_checked(ctx, "ilp", count, 256, &grid));
    ilp_reduce_kernel<<<grid, 256, 0, stream>>>(*blk, count);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(stream));
    return DOPT_OK;
}
