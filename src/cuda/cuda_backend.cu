/* The CUDA backend's operations table (src/core/backend.h).
 *
 * Every entry runs under a device guard: it saves the caller's current
 * device, makes the context's device current before anything else (so
 * handles, scratch and launches land on it) and restores the caller's
 * device on return. The layer entries themselves live in qp_cuda.cu,
 * bern_cuda.cu, diffusion_cuda.cu and ilp_cuda.cu. */
#include "backend.h"
#include "cuda_check.h"

#include <stdio.h>
#include <string.h>

#define DOPT_STR2(...) #__VA_ARGS__ /* the list has commas: one argument per architecture */
#define DOPT_STR(...) DOPT_STR2(__VA_ARGS__)
/* nvcc's list of the architectures this file is compiled for, e.g. "800,900" */
#ifdef __CUDA_ARCH_LIST__
#define DOPT_BUILT_ARCHS DOPT_STR(__CUDA_ARCH_LIST__)
#else
#define DOPT_BUILT_ARCHS "unknown"
#endif

namespace {

/* Makes `device` current for its lifetime; restores the caller's device. */
class device_guard {
  public:
    device_guard(dopt_context *ctx, int device)
    {
        if (cudaGetDevice(&caller_) != cudaSuccess) {
            cudaGetLastError();
            caller_ = -1;
        }
        if (caller_ == device) return;
        cudaError_t e = cudaSetDevice(device);
        if (e != cudaSuccess) {
            cudaGetLastError();
            status_ = dopt_fail(ctx, DOPT_ERR_CUDA, "cuda: cannot make device %d current: %s", device,
                                cudaGetErrorString(e));
        }
    }
    ~device_guard()
    {
        int now = -1;
        if (caller_ >= 0 && (cudaGetDevice(&now) != cudaSuccess || now != caller_)) cudaSetDevice(caller_);
    }
    device_guard(const device_guard &) = delete;
    device_guard &operator=(const device_guard &) = delete;
    dopt_status status() const { return status_; }

  private:
    int caller_ = -1;
    dopt_status status_ = DOPT_OK;
};

} // namespace

/* The body of a table entry: `call` on ctx's device. */
#define DOPT_ON_DEVICE(ctx, call)                             \
    do {                                                      \
        device_guard guard_((ctx), (ctx)->cuda_device);       \
        if (guard_.status() != DOPT_OK) return guard_.status(); \
        return (call);                                        \
    } while (0)

static dopt_status cu_error(dopt_context *ctx, const char *what, cudaError_t e)
{
    cudaGetLastError(); /* a failed call leaves nothing behind for the next one */
    return dopt_fail(ctx, e == cudaErrorMemoryAllocation ? DOPT_ERR_OUT_OF_MEMORY : DOPT_ERR_CUDA, "cuda: %s: %s",
                     what, cudaGetErrorString(e));
}

static cudaStream_t stream_of(const dopt_context *ctx) { return (cudaStream_t)ctx->cuda_stream; }

/* ---- the kernel probe ---- */

__global__ void dopt_probe_kernel(void) {}

/* "900,1000" -> "sm_90, sm_100" */
static void arch_names(char *out, size_t len)
{
    const char *s = DOPT_BUILT_ARCHS;
    size_t at = 0;
    out[0] = 0;
    while (*s && at + 16 < len) {
        int v = 0;
        while (*s >= '0' && *s <= '9') v = 10 * v + (*s++ - '0');
        at += (size_t)snprintf(out + at, len - at, "%ssm_%d", at ? ", " : "", v / 10);
        while (*s && (*s < '0' || *s > '9')) ++s;
    }
    if (!out[0]) snprintf(out, len, "%s", DOPT_BUILT_ARCHS);
}

/* One trivial launch on ctx's device: a build without code for this GPU's
 * architecture fails here, at context creation, instead of at the first
 * layer call. */
static dopt_status probe(dopt_context *ctx)
{
    int dev = ctx->cuda_device;
    cudaDeviceProp prop;
    memset(&prop, 0, sizeof prop);
    if (cudaGetDeviceProperties(&prop, dev) != cudaSuccess) {
        cudaGetLastError();
        snprintf(prop.name, sizeof prop.name, "?");
    }
    cudaStream_t s = NULL;
    cudaError_t e = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    if (e == cudaSuccess) {
        dopt_probe_kernel<<<1, 1, 0, s>>>();
        e = cudaGetLastError();
        if (e == cudaSuccess) e = cudaStreamSynchronize(s);
        cudaStreamDestroy(s);
    }
    if (e == cudaSuccess) return DOPT_OK;
    cudaGetLastError();
    char archs[256];
    arch_names(archs, sizeof archs);
    return dopt_fail(ctx, DOPT_ERR_NO_DEVICE,
                     "cuda: device %d (%s, compute capability %d.%d) cannot run this build's kernels (%s); the "
                     "library was built for %s: rebuild with CMAKE_CUDA_ARCHITECTURES including %d%d",
                     dev, prop.name, prop.major, prop.minor, cudaGetErrorString(e), archs, prop.major, prop.minor);
}

/* A new context starts on the caller's current device, not on device 0: a
 * process that drives GPU k (one rank of a multi-GPU job, with every GPU
 * visible) must not create state on GPU 0. */
static dopt_status cuda_open(dopt_context *ctx)
{
    int current = 0;
    if (cudaGetDevice(&current) != cudaSuccess) {
        cudaGetLastError();
        current = 0;
    }
    ctx->cuda_device = current;
    DOPT_ON_DEVICE(ctx, probe(ctx));
}

static void cuda_release(dopt_context *ctx) { dopt_cuda_context_release(ctx); /* guards its own device */ }

/* ---- memory ---- */

static dopt_status alloc_here(dopt_context *ctx, size_t bytes, void **ptr)
{
    cudaError_t e = cudaMalloc(ptr, bytes);
    if (e != cudaSuccess) {
        *ptr = NULL;
        return cu_error(ctx, "cudaMalloc", e);
    }
    return DOPT_OK;
}

static dopt_status cuda_alloc(dopt_context *ctx, size_t bytes, void **ptr)
{
    DOPT_ON_DEVICE(ctx, alloc_here(ctx, bytes, ptr));
}

static void cuda_free(int device, void *ptr)
{
    if (!ptr) return;
    device_guard guard(NULL, device);
    cudaFree(ptr);
}

static dopt_status copy_here(dopt_context *ctx, void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    cudaError_t e = cudaMemcpyAsync(dst, src, bytes, kind, stream_of(ctx));
    /* the host buffer holds the data when the call returns */
    if (e == cudaSuccess && kind == cudaMemcpyDeviceToHost) e = cudaStreamSynchronize(stream_of(ctx));
    return e == cudaSuccess ? DOPT_OK : cu_error(ctx, "cudaMemcpyAsync", e);
}

static dopt_status cuda_upload(dopt_context *ctx, void *dst, const void *host_src, size_t bytes)
{
    DOPT_ON_DEVICE(ctx, copy_here(ctx, dst, host_src, bytes, cudaMemcpyHostToDevice));
}

static dopt_status cuda_download(dopt_context *ctx, void *host_dst, const void *src, size_t bytes)
{
    DOPT_ON_DEVICE(ctx, copy_here(ctx, host_dst, src, bytes, cudaMemcpyDeviceToHost));
}

static dopt_status cuda_copy(dopt_context *ctx, void *dst, const void *src, size_t bytes)
{
    DOPT_ON_DEVICE(ctx, copy_here(ctx, dst, src, bytes, cudaMemcpyDeviceToDevice));
}

static dopt_status zero_here(dopt_context *ctx, void *ptr, size_t bytes)
{
    cudaError_t e = cudaMemsetAsync(ptr, 0, bytes, stream_of(ctx));
    return e == cudaSuccess ? DOPT_OK : cu_error(ctx, "cudaMemsetAsync", e);
}

static dopt_status cuda_set_zero(dopt_context *ctx, void *ptr, size_t bytes)
{
    DOPT_ON_DEVICE(ctx, zero_here(ctx, ptr, bytes));
}

static dopt_status sync_here(dopt_context *ctx)
{
    cudaError_t e = cudaStreamSynchronize(stream_of(ctx));
    return e == cudaSuccess ? DOPT_OK : cu_error(ctx, "cudaStreamSynchronize", e);
}

static dopt_status cuda_synchronize(dopt_context *ctx) { DOPT_ON_DEVICE(ctx, sync_here(ctx)); }

/* ---- layers ---- */

static dopt_status qp_solve(dopt_context *ctx, const dopt_qp_problem *prob, const dopt_qp_options *opt,
                            dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    DOPT_ON_DEVICE(ctx, dopt_qp_solve_cuda(ctx, prob, opt, sol, tape));
}

static dopt_status qp_backward(dopt_context *ctx, const dopt_qp_tape *tape, const dopt_qp_grad_in *gin,
                               dopt_qp_grad_out *gout)
{
    DOPT_ON_DEVICE(ctx, dopt_qp_backward_cuda(ctx, tape, gin, gout));
}

static dopt_status cone_solve(dopt_context *ctx, const dopt_cone_problem *prob, const dopt_cone_options *opt,
                              dopt_cone_solution *sol, dopt_cone_tape *tape)
{
    DOPT_ON_DEVICE(ctx, dopt_cone_solve_cuda(ctx, prob, opt, sol, tape));
}

static dopt_status cone_backward(dopt_context *ctx, const dopt_cone_tape *tape, const dopt_cone_grad_in *gin,
                                 dopt_cone_grad_out *gout)
{
    DOPT_ON_DEVICE(ctx, dopt_cone_backward_cuda(ctx, tape, gin, gout));
}

static dopt_status qp_ragged_move(dopt_context *ctx, const struct dopt_qp_ragged_move *mv)
{
    DOPT_ON_DEVICE(ctx, dopt_qp_ragged_move_cuda(ctx, mv));
}

static dopt_status bern_eval(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat,
                             const dopt_bern_options *o, dopt_bern_result *res)
{
    DOPT_ON_DEVICE(ctx, dopt_bern_eval_cuda(ctx, P, xhat, o, res));
}

static dopt_status bern_round(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat, void *x,
                              int32_t *status)
{
    DOPT_ON_DEVICE(ctx, dopt_bern_round_cuda(ctx, P, xhat, x, status));
}

static dopt_status diffusion_step(dopt_context *ctx, const dopt_diffusion_step_desc *st, int64_t rows, int32_t n,
                                  dopt_dtype dt, void *x, void *eps_hat, const dopt_diffusion_guide *guide,
                                  const dopt_guidance *g)
{
    DOPT_ON_DEVICE(ctx, dopt_diffusion_step_cuda(ctx, st, rows, n, dt, x, eps_hat, guide, g));
}

static dopt_status diffusion_noise(dopt_context *ctx, int64_t rows, int32_t n, dopt_dtype dt, const void *x0,
                                   double abar_t, uint64_t seed, uint32_t step, void *xt, void *eps)
{
    DOPT_ON_DEVICE(ctx, dopt_diffusion_noise_cuda(ctx, rows, n, dt, x0, abar_t, seed, step, xt, eps));
}

static dopt_status srg_target(dopt_context *ctx, const dopt_diffusion_guide *guide, const dopt_guidance *g,
                              const void *xt, const void *eps, double abar_t, int round, void *target)
{
    DOPT_ON_DEVICE(ctx, dopt_srg_target_cuda(ctx, guide, g, xt, eps, abar_t, round, target));
}

static dopt_status diffusion_candidates(dopt_context *ctx, const dopt_diffusion_guide *guide, const void *x, int round,
                                        double feas_tol, void *objective, void *violation, int32_t *best,
                                        void *best_x)
{
    DOPT_ON_DEVICE(ctx,
                   dopt_diffusion_candidates_cuda(ctx, guide, x, round, feas_tol, objective, violation, best, best_x));
}

static dopt_status ilp_solve(dopt_context *ctx, const ilp_view *v, const dopt_ilp_options *o, const ilp_out *out)
{
    DOPT_ON_DEVICE(ctx, dopt_ilp_solve_cuda(ctx, v, o, out));
}

static dopt_status ilp_grad(dopt_context *ctx, const ilp_view *v, const ilp_grad_args *ga, int64_t batch)
{
    DOPT_ON_DEVICE(ctx, dopt_ilp_grad_cuda(ctx, v, ga, batch));
}

static dopt_status ilp_reduce(dopt_context *ctx, const ilp_block *blk)
{
    DOPT_ON_DEVICE(ctx, dopt_ilp_reduce_cuda(ctx, blk));
}

static dopt_status bern_eval_blocks(dopt_context *ctx, const dopt_bern_blocks *P, const void *xhat,
                                    const dopt_bern_options *o, dopt_bern_result *res)
{
    DOPT_ON_DEVICE(ctx, dopt_bern_eval_blocks_cuda(ctx, P, xhat, o, res));
}

static dopt_status bern_round_blocks(dopt_context *ctx, const dopt_bern_blocks *P, const void *xhat, void *x,
                                     int32_t *status)
{
    DOPT_ON_DEVICE(ctx, dopt_bern_round_blocks_cuda(ctx, P, xhat, x, status));
}

static dopt_status diffusion_step_blocks(dopt_context *ctx, const dopt_diffusion_step_desc *st,
                                         const dopt_diffusion_blocks *P, void *x, void *eps_hat,
                                         const dopt_guidance *g)
{
    DOPT_ON_DEVICE(ctx, dopt_diffusion_step_blocks_cuda(ctx, st, P, x, eps_hat, g));
}

static dopt_status diffusion_noise_blocks(dopt_context *ctx, const dopt_diffusion_blocks *P, const void *x0,
                                          double abar_t, uint64_t seed, uint32_t step, void *xt, void *eps)
{
    DOPT_ON_DEVICE(ctx, dopt_diffusion_noise_blocks_cuda(ctx, P, x0, abar_t, seed, step, xt, eps));
}

static dopt_status srg_target_blocks(dopt_context *ctx, const dopt_diffusion_blocks *P, const dopt_guidance *g,
                                     const void *xt, const void *eps, double abar_t, int round, void *target)
{
    DOPT_ON_DEVICE(ctx, dopt_srg_target_blocks_cuda(ctx, P, g, xt, eps, abar_t, round, target));
}

static dopt_status diffusion_candidates_blocks(dopt_context *ctx, const dopt_diffusion_blocks *P, const void *x,
                                               int round, double feas_tol, void *objective, void *violation,
                                               int32_t *best, void *best_x)
{
    DOPT_ON_DEVICE(ctx, dopt_diffusion_candidates_blocks_cuda(ctx, P, x, round, feas_tol, objective, violation, best,
                                                              best_x));
}

/* in the order of dopt_backend_ops (C++ has no out-of-order designators) */
extern "C" const dopt_backend_ops dopt_cuda_backend_ops = {
    "cuda",
    DOPT_BACKEND_CUDA,
    dopt_cuda_device_count,
    cuda_open,
    cuda_release,
    cuda_alloc,
    cuda_free,
    cuda_upload,
    cuda_download,
    cuda_copy,
    cuda_set_zero,
    cuda_synchronize,
    qp_solve,
    qp_backward,
    NULL, /* qp_ragged_solve: no native path yet; ragged batches run in size classes */
    NULL, /* qp_ragged_backward */
    qp_ragged_move,
    bern_eval,
    bern_round,
    diffusion_step,
    diffusion_noise,
    srg_target,
    diffusion_candidates,
    ilp_solve,
    ilp_grad,
    ilp_reduce,
    bern_eval_blocks,
    bern_round_blocks,
    diffusion_step_blocks,
    diffusion_noise_blocks,
    srg_target_blocks,
    diffusion_candidates_blocks,
    cone_solve,
    cone_backward,
    dopt_qp_memory_cuda, /* a host-side computation: no device guard */
    /* the sparse QP layer: not built for CUDA yet (docs/SPARSE_QP.md) */
    NULL, /* sparse_qp_analyze */
    NULL, /* sparse_qp_structure_free */
    NULL, /* sparse_qp_solve */
    NULL, /* sparse_qp_backward */
    NULL, /* sparse_qp_tape_free */
};
