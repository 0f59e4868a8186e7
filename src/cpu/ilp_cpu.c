/* CPU backend of the ILP layer: instances spread over the thread pool in
 * small dynamic chunks, since tree sizes differ by orders of magnitude
 * within one batch. Every instance runs kernels/ilp_solver.h. */
#include "internal.h"
#include "backend.h"

#include <stdlib.h>

typedef struct {
    const ilp_view *v;
    ilp_limits lim;
    const ilp_out *out;
    unsigned char *work;
    size_t wbytes;
    int depth; /* trail levels per workspace */
} solve_job;

/* Queue positions [p0, p1): a ragged batch takes its instances largest
 * estimated cost first (ilp_solve_at), so the dynamic chunks end on small
 * instances (LPT); results go to the caller's positions. */
static void solve_range(void *arg, int64_t p0, int64_t p1, int worker)
{
    solve_job *j = (solve_job *)arg;
    unsigned char *buf = j->work + (size_t)worker * j->wbytes;
    double *y = (double *)buf;
    for (int64_t p = p0; p < p1; ++p) {
        int64_t s = ilp_solve_at(j->v, p), yo = ilp_y_off(j->v, s);
        int n = ilp_n_of(j->v, ilp_inst_of(j->v, s));
        ilp_result r = ilp_solve_one(j->v, s, &j->lim, buf + sizeof(double) * (size_t)j->v->n, j->depth, y);
        for (int k = 0; k < n; ++k) ilp_st(j->out->y, j->out->dt_y, yo + k, y[k]);
        if (j->out->obj) ilp_st(j->out->obj, j->out->dt_obj, s, r.obj);
        if (j->out->bound) ilp_st(j->out->bound, j->out->dt_obj, s, r.bound);
        j->out->status[s] = r.status;
        if (j->out->nodes) j->out->nodes[s] = r.nodes;
    }
}

/* The deepest trail any instance of the view can need (ilp_trail_depth);
 * shared or default bounds are the same for every instance of a uniform
 * batch (not of a ragged one: its default box has n_i coordinates). */
static int trail_depth_of(const ilp_view *v)
{
    int shared_box =
        !v->rg.n && (!v->lb || (v->share & ILP_SHARE_LB)) && (!v->ub || (v->share & ILP_SHARE_UB));
    int64_t instances = shared_box ? 1 : v->solves / v->group, depth = 0;
    for (int64_t i = 0; i < instances && depth < ILP_MAX_TRAIL; ++i) {
        int d = ilp_trail_depth(v, i);
        if (d > depth) depth = d;
    }
    return (int)depth;
}

/* Time limits: one deadline for the whole call, taken when the call starts
 * (docs/ILP.md); every instance stops at the same wall-clock moment. */
dopt_status dopt_ilp_solve_cpu(dopt_context *ctx, const ilp_view *v, const dopt_ilp_options *o, const ilp_out *out)
{
    solve_job j;
    j.v = v;
    j.out = out;
    j.lim.node_limit = o->node_limit;
    j.lim.deadline_ns = o->time_limit > 0 ? ilp_now_ns() + (uint64_t)(o->time_limit * 1e9) : 0;
    j.depth = trail_depth_of(v);
    j.wbytes = sizeof(double) * (size_t)v->n + ilp_work_bytes(v->n, v->m, j.depth);
    j.wbytes = (j.wbytes + 63) & ~(size_t)63;
    int workers = dopt_worker_count(ctx->threads, v->solves, 1);
    DOPT_TRY(dopt_scratch_reserve(ctx, j.wbytes * (size_t)workers, (void **)&j.work));
    dopt_parallel_for(ctx, workers, v->solves, 1, solve_range, &j);
    return DOPT_OK;
}

typedef struct {
    const ilp_view *v;
    const ilp_grad_args *ga;
    double *work;
    size_t wsz;
} grad_job;

static void grad_range(void *arg, int64_t i0, int64_t i1, int worker)
{
    grad_job *j = (grad_job *)arg;
    double *w = j->work + (size_t)worker * j->wsz;
    int *order = (int *)(w + ilp_grad_work(j->v->n, j->v->m));
    for (int64_t i = i0; i < i1; ++i) ilp_grad_instance(j->v, j->ga, i, w, order);
}

dopt_status dopt_ilp_grad_cpu(dopt_context *ctx, const ilp_view *v, const ilp_grad_args *ga, int64_t batch)
{
    grad_job j;
    j.v = v;
    j.ga = ga;
    j.wsz = ilp_grad_work(v->n, v->m) + (size_t)v->n; /* + n ints */
    int workers = dopt_worker_count(ctx->threads, batch, 16);
    DOPT_TRY(dopt_scratch_reserve(ctx, sizeof(double) * j.wsz * (size_t)workers, (void **)&j.work));
    dopt_parallel_for(ctx, workers, batch, 16, grad_range, &j);
    return DOPT_OK;
}

static void reduce_range(void *arg, int64_t e0, int64_t e1, int worker)
{
    (void)worker;
    const ilp_block *b = (const ilp_block *)arg;
    for (int64_t e = e0; e < e1; ++e) ilp_block_elem(b, e);
}

dopt_status dopt_ilp_reduce_cpu(dopt_context *ctx, const ilp_block *blk)
{
    int64_t count = ilp_block_count(blk);
    int workers = dopt_worker_count(ctx->threads, count, 256);
    dopt_parallel_for(ctx, workers, count, 256, reduce_range, (void *)blk);
    return DOPT_OK;
}
