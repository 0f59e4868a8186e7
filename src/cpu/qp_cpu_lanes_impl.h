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
 * qp_cuda_warp.cu's kernel runs, thread by thread, on as many threads
 * (dopt_qp_warp_max_threads: each solves its range of consecutive instances,
 * refilling its lane), with checks that a thread keeps to its lane. Each
 * worker takes whole groups of DOPT_QP_WARP threads and runs each group
 * twice:
 *  1. the group's buffer, and DOPT_QP_WARP guard values on each side, filled
 *     with NaN, the "threads" last lane first; after each one every value
 *     outside its lane (guards included) must be unchanged (a stray write);
 *  2. the buffer filled with large finite values of both signs, the threads
 *     first lane first; each thread's outputs (x, lam, nu, status,
 *     iterations, the tape's prefix) must be bitwise those of pass 1 (a read
 *     of another lane's value, which NaN can hide: a max or min select drops
 *     it, changes them).
 * Either fails the solve with DOPT_ERR_INTERNAL. The per-thread buffer is
 * NaN-filled before every thread, so a value read before its thread wrote it
 * shows as NaN in the results, which the tests compare bitwise with the
 * per-instance layout's. */
enum { DFN(qpw_guard) = DOPT_QP_WARP };

typedef struct {
    DFN(qpl_job_warp) job;
    DREAL *mem;     /* per worker: DFN(qpw_worker_size) values */
    int32_t *its;   /* per worker: 2 x per_thread (pass 1's statuses and iterations) */
    int64_t *wrote; /* per worker: 1 + the first instance that wrote outside its lane, or 0 */
    int64_t *read;  /* per worker: 1 + the first instance whose results depend on other lanes, or 0 */
    int64_t batch, threads, per_thread;
} DFN(qpw_cpu_job);

/* one instance's outputs: x, lam, nu and the tape's prefix */
static size_t DFN(qpw_output_size)(const DFN(qp_batch) *bt)
{
    return (size_t)bt->n + bt->m + bt->k + DFN(qp_work_persist_size)(bt->n, bt->m, bt->k);
}

/* the group's buffer with its guards, its copy, one thread's buffer, and
 * the saved outputs of one thread's range */
static size_t DFN(qpw_worker_size)(const DFN(qp_batch) *bt, int64_t per_thread)
{
    size_t ext = DFN(qpl_lanes_size_warp)(bt->n, bt->m, bt->k) + 2 * (size_t)DFN(qpw_guard);
    return 2 * ext + DFN(qpl_one_size_warp)(bt->n, bt->m, bt->k) + (size_t)per_thread * DFN(qpw_output_size)(bt);
}

/* Instance i's outputs into out and it (save = 1) or compared with them; 1 = equal. */
static int DFN(qpw_outputs)(const DFN(qpl_job_warp) *job, int64_t i, DREAL *out, int32_t it[2], int save)
{
    const DFN(qp_batch) *bt = &job->bt;
    DFN(qp_slice) o = DFN(qp_slice_of)(bt, i, job->x, job->lam, job->nu);
    const DREAL *part[4] = {o.x, o.lam, o.nu, job->keep ? job->keep + (size_t)i * job->psz : NULL};
    size_t len[4] = {(size_t)bt->n, (size_t)bt->m, (size_t)bt->k, 0};
    if (job->keep && DFN(qp_status_has_solution)(job->status[i])) len[3] = job->psz;
    int32_t now[2] = {job->status[i], job->iters ? job->iters[i] : 0};
    int same = 1;
    DREAL *c = out;
    for (int q = 0; q < 4; ++q) {
        if (len[q] == 0) continue;
        if (save)
            memcpy(c, part[q], sizeof(DREAL) * len[q]);
        else
            same &= memcmp(c, part[q], sizeof(DREAL) * len[q]) == 0;
        c += len[q];
    }
    if (save)
        memcpy(it, now, sizeof now);
    else
        same &= memcmp(it, now, sizeof now) == 0;
    return same;
}

static void DFN(qpw_solve_groups)(void *arg, int64_t g0, int64_t g1, int worker)
{
    DFN(qpw_cpu_job) *cj = (DFN(qpw_cpu_job) *)arg;
    const DFN(qp_batch) *bt = &cj->job.bt;
    size_t lsz = DFN(qpl_lanes_size_warp)(bt->n, bt->m, bt->k), osz = DFN(qpl_one_size_warp)(bt->n, bt->m, bt->k);
    size_t G = DFN(qpw_guard), ext = lsz + 2 * G, out = DFN(qpw_output_size)(bt);
    DREAL *buf = cj->mem + (size_t)worker * DFN(qpw_worker_size)(bt, cj->per_thread), *copy = buf + ext;
    DREAL *one = copy + ext, *saved = one + osz;
    int32_t *its = cj->its + (size_t)worker * 2 * (size_t)cj->per_thread;
    int64_t R = cj->per_thread;
    for (int64_t g = g0; g < g1; ++g) {
        int64_t t0 = g * DOPT_QP_WARP, t1 = t0 + DOPT_QP_WARP < cj->threads ? t0 + DOPT_QP_WARP : cj->threads;
        /* pass 1: NaN, last lane first, writes checked; outputs in the job's arrays */
        for (size_t e = 0; e < ext; ++e) buf[e] = (DREAL)NAN;
        memcpy(copy, buf, sizeof(DREAL) * ext);
        for (int64_t t = t1 - 1; t >= t0; --t) {
            size_t lane = (size_t)(t - t0);
            int64_t b0 = t * R, b1 = b0 + R < cj->batch ? b0 + R : cj->batch;
            for (size_t e = 0; e < osz; ++e) one[e] = (DREAL)NAN;
            DFN(qpl_lanes_warp) L;
            DFN(qpl_lanes_map_warp)(&L, buf + G + lane, one, bt->n, bt->m, bt->k);
            DFN(qpl_run_warp)(&cj->job, &L, b0, b1);
            for (size_t e = 0; e < ext; ++e) {
                int own = e >= G && e < G + lsz && (e - G) % DOPT_QP_WARP == lane;
                if (own)
                    copy[e] = buf[e];
                else if (memcmp(&copy[e], &buf[e], sizeof(DREAL)) != 0 && cj->wrote[worker] == 0)
                    cj->wrote[worker] = b0 + 1;
            }
        }
        /* pass 2: large finite values, first lane first; outputs compared with pass 1's */
        for (size_t e = 0; e < ext; ++e) buf[e] = (DREAL)((e & 1) ? -1 : 1) * (DREAL)(1000 * (1 + e % 7));
        for (int64_t t = t0; t < t1; ++t) {
            int64_t b0 = t * R, b1 = b0 + R < cj->batch ? b0 + R : cj->batch;
            for (int64_t i = b0; i < b1; ++i)
                DFN(qpw_outputs)(&cj->job, i, saved + (size_t)(i - b0) * out, its + 2 * (i - b0), 1);
            for (size_t e = 0; e < osz; ++e) one[e] = (DREAL)NAN;
            DFN(qpl_lanes_warp) L;
            DFN(qpl_lanes_map_warp)(&L, buf + G + (size_t)(t - t0), one, bt->n, bt->m, bt->k);
            DFN(qpl_run_warp)(&cj->job, &L, b0, b1);
            for (int64_t i = b0; i < b1; ++i)
                if (!DFN(qpw_outputs)(&cj->job, i, saved + (size_t)(i - b0) * out, its + 2 * (i - b0), 0) &&
                    cj->read[worker] == 0)
                    cj->read[worker] = i + 1;
        }
    }
}

static dopt_status DFN(qp_solve_cpu_warp)(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                                          dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    int64_t B = P->batch;
    if (B == 0) return DOPT_OK;
    DFN(qpw_cpu_job) cj;
    cj.batch = B;
    cj.per_thread = dopt_qp_warp_per_thread(B, dopt_qp_warp_max_threads());
    cj.threads = (B + cj.per_thread - 1) / cj.per_thread;
    int64_t groups = (cj.threads + DOPT_QP_WARP - 1) / DOPT_QP_WARP;
    int workers = dopt_worker_count(ctx->threads, groups, 1);
    DREAL *keep;
    DOPT_TRY(DFN(qp_cpu_tape_reserve)(ctx, P, tape, &keep));
    cj.job = DFN(qpl_job_of_warp)(P, o, keep, sol);
    size_t reals = sizeof(DREAL) * DFN(qpw_worker_size)(&cj.job.bt, cj.per_thread) * (size_t)workers;
    size_t ints = sizeof(int32_t) * 2 * (size_t)cj.per_thread * (size_t)workers;
    reals = (reals + sizeof(int64_t) - 1) / sizeof(int64_t) * sizeof(int64_t);
    ints = (ints + sizeof(int64_t) - 1) / sizeof(int64_t) * sizeof(int64_t);
    void *mem;
    DOPT_TRY(dopt_scratch_reserve(ctx, reals + ints + 2 * sizeof(int64_t) * (size_t)workers, &mem));
    cj.mem = (DREAL *)mem;
    cj.its = (int32_t *)((char *)mem + reals);
    cj.wrote = (int64_t *)((char *)mem + reals + ints);
    cj.read = cj.wrote + workers;
    memset(cj.wrote, 0, 2 * sizeof(int64_t) * (size_t)workers);
    dopt_parallel_for(ctx, workers, groups, 1, DFN(qpw_solve_groups), &cj);
    for (int w = 0; w < workers; ++w) {
        if (cj.wrote[w])
            return dopt_fail(ctx, DOPT_ERR_INTERNAL,
                             "qp (warp layout on the CPU): the thread of instance %lld wrote outside its lane",
                             (long long)(cj.wrote[w] - 1));
        if (cj.read[w])
            return dopt_fail(ctx, DOPT_ERR_INTERNAL,
                             "qp (warp layout on the CPU): instance %lld's results depend on other lanes' values",
                             (long long)(cj.read[w] - 1));
    }
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
