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

/* The GPU's warp layout on the CPU (DOPT_QP_LAYOUT=warp, tests): what
 * qp_cuda_impl.h's warp kernel runs, thread by thread. Each worker takes
 * whole groups of DOPT_QP_WARP instances. Their lanes' buffer starts as NaN
 * (a value read before its thread wrote it then shows in the results, which
 * the tests compare bitwise with the per-instance layout), the group's
 * "threads" run last lane first, and after each one every other lane of
 * the buffer is checked unchanged (against a copy): a thread that wrote
 * outside its lane fails the solve with DOPT_ERR_INTERNAL. */
typedef struct {
    DFN(qpl_job_warp) job;
    DREAL *mem;      /* per worker: one group's lanes, their copy, one instance's buffers */
    int64_t *stray;  /* per worker: 1 + the first instance that wrote outside its lane, or 0 */
    int64_t batch;
} DFN(qpw_cpu_job);

static void DFN(qpw_solve_groups)(void *arg, int64_t g0, int64_t g1, int worker)
{
    DFN(qpw_cpu_job) *cj = (DFN(qpw_cpu_job) *)arg;
    const DFN(qp_batch) *bt = &cj->job.bt;
    size_t lsz = DFN(qpl_lanes_size_warp)(bt->n, bt->m, bt->k), osz = DFN(qpl_one_size_warp)(bt->n, bt->m, bt->k);
    DREAL *lanes = cj->mem + (size_t)worker * (2 * lsz + osz), *copy = lanes + lsz, *one = copy + lsz;
    for (int64_t g = g0; g < g1; ++g) {
        for (size_t e = 0; e < lsz; ++e) lanes[e] = (DREAL)NAN;
        memcpy(copy, lanes, sizeof(DREAL) * lsz);
        int64_t first = g * DOPT_QP_WARP, last = first + DOPT_QP_WARP < cj->batch ? first + DOPT_QP_WARP : cj->batch;
        for (int64_t i = last - 1; i >= first; --i) {
            size_t lane = (size_t)(i - first);
            DFN(qpl_lanes_warp) L;
            DFN(qpl_lanes_map_warp)(&L, lanes + lane, one, bt->n, bt->m, bt->k);
            DFN(qpl_run_warp)(&cj->job, &L, i, i + 1);
            for (size_t e = 0; e < lsz; ++e) {
                if (e % DOPT_QP_WARP == lane)
                    copy[e] = lanes[e];
                else if (memcmp(&copy[e], &lanes[e], sizeof(DREAL)) != 0 && cj->stray[worker] == 0)
                    cj->stray[worker] = i + 1;
            }
        }
    }
}

static dopt_status DFN(qp_solve_cpu_warp)(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                                          dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    int64_t B = P->batch;
    if (B == 0) return DOPT_OK;
    int64_t groups = (B + DOPT_QP_WARP - 1) / DOPT_QP_WARP;
    int workers = dopt_worker_count(ctx->threads, groups, 1);
    DREAL *keep;
    DOPT_TRY(DFN(qp_cpu_tape_reserve)(ctx, P, tape, &keep));
    DFN(qpw_cpu_job) cj;
    cj.job = DFN(qpl_job_of_warp)(P, o, keep, sol);
    cj.batch = B;
    size_t per_worker = 2 * DFN(qpl_lanes_size_warp)(P->n, P->m, P->k) + DFN(qpl_one_size_warp)(P->n, P->m, P->k);
    size_t bytes = sizeof(DREAL) * per_worker * (size_t)workers;
    bytes = (bytes + sizeof(int64_t) - 1) / sizeof(int64_t) * sizeof(int64_t);
    void *mem;
    DOPT_TRY(dopt_scratch_reserve(ctx, bytes + sizeof(int64_t) * (size_t)workers, &mem));
    cj.mem = (DREAL *)mem;
    cj.stray = (int64_t *)((char *)mem + bytes);
    memset(cj.stray, 0, sizeof(int64_t) * (size_t)workers);
    dopt_parallel_for(ctx, workers, groups, 1, DFN(qpw_solve_groups), &cj);
    for (int w = 0; w < workers; ++w)
        if (cj.stray[w])
            return dopt_fail(ctx, DOPT_ERR_INTERNAL, "qp (warp layout on the CPU): instance %lld wrote outside its lane",
                             (long long)(cj.stray[w] - 1));
    return DFN(qp_cpu_tape_finish)(ctx, P, sol, tape);
}

static dopt_status DFN(qp_solve_cpu_lanes)(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                                           dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    int64_t B = P->batch;
    if (B == 0) return DOPT_OK;
    int64_t grain = dopt_qp_cpu_lanes_grain(P->dtype);
    int workers = dopt_worker_count(ctx->threads, B, grain);
    DREAL *keep;
    DOPT_TRY(DFN(qp_cpu_tape_reserve)(ctx, P, tape, &keep));
    DFN(qpl_cpu_job) cj;
    cj.job = DFN(qpl_job_of)(P, o, keep, sol);
    cj.per_worker = DFN(qpl_scratch_size)(P->n, P->m, P->k);
    DOPT_TRY(dopt_scratch_reserve(ctx, sizeof(DREAL) * cj.per_worker * (size_t)workers, (void **)&cj.mem));
    dopt_parallel_for(ctx, workers, B, grain, DFN(qpl_solve_range), &cj);
    return DFN(qp_cpu_tape_finish)(ctx, P, sol, tape);
}
