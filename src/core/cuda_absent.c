/* Built when the CUDA backend is not: every CUDA entry says so. */
#include "internal.h"
#include "ilp_backend.h"

int dopt_cuda_device_count(void) { return -1; }

dopt_status dopt_qp_solve_cuda(dopt_context *ctx, const dopt_qp_problem *prob, const dopt_qp_options *opt,
                               dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    (void)prob;
    (void)opt;
    (void)sol;
    (void)tape;
    return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED, "the CUDA backend is not built in");
}

dopt_status dopt_qp_backward_cuda(dopt_context *ctx, const dopt_qp_tape *tape, const dopt_qp_grad_in *gin,
                                  dopt_qp_grad_out *gout)
{
    (void)tape;
    (void)gin;
    (void)gout;
    return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED, "the CUDA backend is not built in");
}

void dopt_cuda_free(void *p) { (void)p; }

void *dopt_cuda_alloc(size_t bytes)
{
    (void)bytes;
    return NULL;
}

int dopt_cuda_upload(void *dst, const void *src, size_t bytes)
{
    (void)dst;
    (void)src;
    (void)bytes;
    return 1;
}

int dopt_cuda_download(void *dst, const void *src, size_t bytes)
{
    (void)dst;
    (void)src;
    (void)bytes;
    return 1;
}

void dopt_cuda_context_release(dopt_context *ctx) { (void)ctx; }

dopt_status dopt_bern_eval_cuda(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat,
                                const dopt_bern_options *o, dopt_bern_result *res)
{
    (void)P;
    (void)xhat;
    (void)o;
    (void)res;
    return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED, "the CUDA backend is not built in");
}

dopt_status dopt_bern_round_cuda(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat, void *x,
                                 int32_t *status)
{
    (void)P;
    (void)xhat;
    (void)x;
    (void)status;
    return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED, "the CUDA backend is not built in");
}

dopt_status dopt_diffusion_step_cuda(dopt_context *ctx, const dopt_diffusion_step_desc *st, int64_t rows, int32_t n,
                                     dopt_dtype dt, void *x, void *eps_hat, const dopt_milp_batch *guide,
                                     const dopt_guidance *g)
{
    (void)st, (void)rows, (void)n, (void)dt, (void)x, (void)eps_hat, (void)guide, (void)g;
    return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED, "the CUDA backend is not built in");
}

dopt_status dopt_diffusion_noise_cuda(dopt_context *ctx, int64_t rows, int32_t n, dopt_dtype dt, const void *x0,
                                      double abar_t, uint64_t seed, uint32_t step, void *xt, void *eps)
{
    (void)rows, (void)n, (void)dt, (void)x0, (void)abar_t, (void)seed, (void)step, (void)xt, (void)eps;
    return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED, "the CUDA backend is not built in");
}

dopt_status dopt_srg_target_cuda(dopt_context *ctx, const dopt_milp_batch *guide, const dopt_guidance *g,
                                 const void *xt, const void *eps, double abar_t, int round, void *target)
{
    (void)guide, (void)g, (void)xt, (void)eps, (void)abar_t, (void)round, (void)target;
    return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED, "the CUDA backend is not built in");
}

dopt_status dopt_diffusion_candidates_cuda(dopt_context *ctx, const dopt_milp_batch *guide, const void *x, int round,
                                           double feas_tol, void *objective, void *violation, int32_t *best,
                                           void *best_x)
{
    (void)guide, (void)x, (void)round, (void)feas_tol, (void)objective, (void)violation, (void)best, (void)best_x;
    return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED, "the CUDA backend is not built in");
}


dopt_status dopt_ilp_solve_cuda(dopt_context *ctx, const ilp_view *v, const dopt_ilp_options *o, const ilp_out *out)
{
    (void)v;
    (void)o;
    (void)out;
    return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED, "the CUDA backend is not built in");
}

dopt_status dopt_ilp_grad_cuda(dopt_context *ctx, const ilp_view *v, const ilp_grad_args *ga, int64_t batch)
{
    (void)v;
    (void)ga;
    (void)batch;
    return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED, "the CUDA backend is not built in");
}

dopt_status dopt_ilp_reduce_cuda(dopt_context *ctx, const ilp_block *blk)
{
    (void)blk;
    return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED, "the CUDA backend is not built in");
}
