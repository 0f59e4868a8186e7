/* CUDA backend of the ILP layer. Scheme (docs/ILP.md): a persistent grid of
 * threads, each running kernels/ilp_solver.h on one instance at a time and
 * taking the next instance from a global atomic counter when it finishes.
 * Tree sizes differ by orders of magnitude within a batch; with the queue a
 * large tree holds one thread while the others drain the rest of the batch,
 * instead of a whole statically assigned block waiting for it. Each thread's
 * workspace (tableau, trail) is its own slice of one device buffer, so the
 * grid is sized to a memory budget, not to the batch. Gradient rows and
 * their reduction are one thread per instance / output element. */
#include "cuda_check.h"
#include "ilp_backend.h"

#define DOPT_ILP_BLOCK 64
/* device workspace budget for the persistent solver threads */
#define DOPT_ILP_WORK_BUDGET (512ull << 20)

__global__ void ilp_solve_kernel(ilp_view v, int64_t node_limit, double time_limit, ilp_out out,
                                 unsigned char *work, size_t wbytes, unsigned long long *next)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    unsigned char *buf = work + (size_t)t * wbytes;
    double *y = (double *)buf;
    ilp_limits lim;
    lim.node_limit = node_limit;
    lim.deadline_ns = time_limit > 0 ? ilp_now_ns() + (uint64_t)(time_limit * 1e9) : 0;
    int n = v.n;
    for (;;) {
        int64_t s = (int64_t)atomicAdd(next, 1ull);
        if (s >= v.solves) break;
        ilp_work w = ilp_work_carve(buf + sizeof(double) * (size_t)n, n, v.m);
        ilp_result r = ilp_solve_one(&v, s, &lim, &w, y);
        for (int k = 0; k < n; ++k) ilp_st(out.y, out.dt_y, s * n + k, y[k]);
        if (out.obj) ilp_st(out.obj, out.dt_obj, s, r.obj);
        if (out.bound) ilp_st(out.bound, out.dt_obj, s, r.bound);
        out.status[s] = r.status;
        if (out.nodes) out.nodes[s] = r.nodes;
    }
}

extern "C" dopt_status dopt_ilp_solve_cuda(dopt_context *ctx, const ilp_view *v, const dopt_ilp_options *o,
                                           const ilp_out *out)
{
    struct dopt_cuda_handles *h;
    DOPT_TRY(dopt_cuda_handles_get(ctx, &h));
    cudaStream_t stream = (cudaStream_t)ctx->cuda_stream;
    size_t wbytes = (sizeof(double) * (size_t)v->n + ilp_work_bytes(v->n, v->m) + 255) & ~(size_t)255;
    int64_t threads = (int64_t)(DOPT_ILP_WORK_BUDGET / wbytes);
    if (threads > v->solves) threads = v->solves;
    if (threads > 65536) threads = 65536;
    if (threads < 1) threads = 1;
    unsigned blocks = dopt_grid(threads, DOPT_ILP_BLOCK);
    threads = (int64_t)blocks * DOPT_ILP_BLOCK;
    unsigned char *work = NULL;
    unsigned long long *next = NULL;
    dopt_status st = DOPT_OK;
    if (cudaMalloc((void **)&work, wbytes * (size_t)threads) != cudaSuccess ||
        cudaMalloc((void **)&next, sizeof *next) != cudaSuccess) {
        cudaGetLastError();
        st = dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "ilp: out of device memory for the solver workspace");
    }
    if (st == DOPT_OK && cudaMemsetAsync(next, 0, sizeof *next, stream) != cudaSuccess)
        st = dopt_fail(ctx, DOPT_ERR_CUDA, "ilp: cudaMemsetAsync failed");
    if (st == DOPT_OK) {
        ilp_solve_kernel<<<blocks, DOPT_ILP_BLOCK, 0, stream>>>(*v, o->node_limit, o->time_limit, *out, work, wbytes,
                                                                next);
        cudaError_t e = cudaGetLastError();
        if (e == cudaSuccess) e = cudaStreamSynchronize(stream);
        if (e != cudaSuccess) st = dopt_fail(ctx, DOPT_ERR_CUDA, "ilp: solve kernel: %s", cudaGetErrorString(e));
    }
    cudaFree(work);
    cudaFree(next);
    return st;
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
    struct dopt_cuda_handles *h;
    DOPT_TRY(dopt_cuda_handles_get(ctx, &h));
    cudaStream_t stream = (cudaStream_t)ctx->cuda_stream;
    size_t wsz = ilp_grad_work(v->n, v->m) + (size_t)v->n;
    int64_t threads = batch < 32768 ? batch : 32768;
    unsigned blocks = dopt_grid(threads, DOPT_ILP_BLOCK);
    double *work = NULL;
    if (cudaMalloc((void **)&work, sizeof(double) * wsz * (size_t)blocks * DOPT_ILP_BLOCK) != cudaSuccess) {
        cudaGetLastError();
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "ilp: out of device memory for the gradient workspace");
    }
    ilp_grad_kernel<<<blocks, DOPT_ILP_BLOCK, 0, stream>>>(*v, *ga, batch, work, wsz);
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) e = cudaStreamSynchronize(stream);
    cudaFree(work);
    if (e != cudaSuccess) return dopt_fail(ctx, DOPT_ERR_CUDA, "ilp: gradient kernel: %s", cudaGetErrorString(e));
    return DOPT_OK;
}

__global__ void ilp_reduce_kernel(ilp_block b, int64_t count)
{
    int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e < count) ilp_reduce_elem(b.G, b.batch, b.row, b.offset, b.len, b.shared, b.out, b.dt, e);
}

extern "C" dopt_status dopt_ilp_reduce_cuda(dopt_context *ctx, const ilp_block *blk)
{
    cudaStream_t stream = (cudaStream_t)ctx->cuda_stream;
    int64_t count = blk->shared ? (int64_t)blk->len : blk->batch * (int64_t)blk->len;
    if (count == 0) return DOPT_OK;
    ilp_reduce_kernel<<<dopt_grid(count, 256), 256, 0, stream>>>(*blk, count);
    DOPT_CU_LAUNCH(ctx);
    DOPT_CU(ctx, cudaStreamSynchronize(stream));
    return DOPT_OK;
}
