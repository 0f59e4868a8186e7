/* The interleaved CPU driver of the QP layer for one precision (included
 * twice by qp_cpu.c with DREAL / DFN set): each worker takes a range of
 * instances and runs it DFN(qpl_width) at a time in lock step
 * (kernels/qp_ilv_driver_impl.h), refilling a lane with the range's next
 * instance as soon as its own is done. Per lane it computes exactly what
 * qp_solve_instance computes (see qp_ilv_impl.h), so the results do not
 * depend on the lane, the range or the thread count. */

/* A worker's share: its buffers (zeroed once per range: an idle lane then
 * computes on finite values) and the range through kernels/qp_ilv_driver_impl.h. */
typedef struct {
    DFN(qpl_job) job;
    DREAL *mem; /* per worker: the lanes' buffers, then one instance's */
    size_t per_worker;
} DFN(qpl_cpu_job);

static void DFN(qpl_solve_range)(void *arg, int64_t b0, int64_t b1, int worker)
{
    DFN(qpl_cpu_job) *cj = (DFN(qpl_cpu_job) *)arg;
    const DFN(qp_batch) *bt = &cj->job.bt;
    DREAL *base = cj->mem + (size_t)worker * cj->per_worker;
    memset(base, 0, sizeof(DREAL) * cj->per_worker);
    DFN(qpl_lanes) L;
    DFN(qpl_lanes_map)(&L, base, base + DFN(qpl_lanes_size)(bt->n, bt->m, bt->k), bt->n, bt->m, bt->k);
    DFN(qpl_run)(&cj->job, &L, b0, b1);
}

static dopt_status DFN(qp_solve_cpu_lanes)(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                                           dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    int64_t B = P->batch;
    if (B == 0) return DOPT_OK;
    int64_t grain = dopt_qp_cpu_lanes_grain(P->dtype);
    int workers = dopt_worker_count(ctx->threads, B, grain);
    size_t psz = DFN(qp_work_persist_size)(P->n, P->m, P->k);
    DREAL *keep = NULL;
    if (tape) {
        if (!dopt_host_reserve(&tape->work, &tape->cap_work, sizeof(DREAL) * psz * (size_t)B))
            return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp: out of memory for the tape");
        keep = (DREAL *)tape->work;
    }
    DFN(qpl_cpu_job) cj;
    cj.job = DFN(qpl_job_of)(P, o, keep, sol);
    cj.per_worker = DFN(qpl_scratch_size)(P->n, P->m, P->k);
    DOPT_TRY(dopt_scratch_reserve(ctx, sizeof(DREAL) * cj.per_worker * (size_t)workers, (void **)&cj.mem));
    dopt_parallel_for(ctx, workers, B, grain, DFN(qpl_solve_range), &cj);
    if (!tape) return DOPT_OK;
    tape->work_per_instance = psz;
    return dopt_qp_cpu_tape_keep_solution(ctx, "qp", tape, sol, sizeof(DREAL), (size_t)B * P->n, (size_t)B * P->m,
                                          (size_t)B * P->k, B);
}
