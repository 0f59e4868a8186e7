/* What the CPU QP solve allocates (qp_cpu_impl.h), for the layer's
 * decisions under a memory cap: one workspace per worker thread in the
 * arena, whatever the batch; a tape keeps the factorization and copies of
 * x, lam, nu and status per instance. The estimate serves calls under a
 * cap, and under a cap the interleaved layout (qp_cpu_lanes_impl.h, W
 * workspaces per worker) does not run (dopt_qp_cpu_uses_lanes). */
#include "internal.h"
#include "backend.h"

#include "../../kernels/qp_ipm.h"

void dopt_qp_memory_cpu(const dopt_context *ctx, const dopt_qp_problem *P, int with_tape, dopt_qp_memory_need *need)
{
    int f64 = P->dtype == DOPT_FLOAT64;
    size_t es = f64 ? sizeof(double) : sizeof(float);
    size_t wsz = f64 ? qp_work_size_d(P->n, P->m, P->k) : qp_work_size_f(P->n, P->m, P->k);
    size_t psz = f64 ? qp_work_persist_size_d(P->n, P->m, P->k) : qp_work_persist_size_f(P->n, P->m, P->k);
    int64_t grain = P->batch >= 256 ? 8 : 1; /* as qp_solve_cpu */
    int workers = dopt_worker_count(ctx->threads, P->batch, grain);
    need->fixed = es * wsz * (size_t)workers;
    need->per_instance = 0;
    need->tape_per_instance =
        with_tape ? es * (psz + (size_t)P->n + (size_t)P->m + (size_t)P->k) + sizeof(int32_t) : 0;
}
