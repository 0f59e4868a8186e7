/* The interleaved CPU driver of the QP layer for one precision (included
 * twice by qp_cpu.c with DREAL / DFN set): each worker takes a range of
 * instances and runs it DFN(qpl_width) at a time in lock step
 * (kernels/qp_ilv_impl.h), refilling a lane with the range's next instance
 * as soon as its own is done. Per lane it computes exactly what
 * qp_solve_instance computes (see qp_ilv_impl.h), so the results do not
 * depend on the lane, the range or the thread count. */

typedef struct {
    DFN(qp_batch) bt;
    DFN(qp_settings) set;
    DREAL *mem; /* per worker: lane workspace, lane data, lane x, z, y, one instance's workspace and x, z, y */
    size_t per_worker;
    size_t wsz;
    DREAL *keep; /* tape: the persistent prefix per instance, or NULL */
    size_t psz;
    DREAL *x, *lam, *nu;
    int32_t *status, *iters;
} DFN(qpl_job);

/* One worker's buffers, mapped. */
typedef struct {
    DFN(qp_work) lw; /* the lanes' workspace */
    DREAL *lbase;    /* its base (gather / scatter) */
    DFN(qpl_data) ld;
    DREAL *lx, *lz, *ly;
    DREAL *one; /* one instance's workspace (qp_work_size) */
    DREAL *ox, *oz, *oy;
    DFN(qp_state) st[DFN(qpl_width)];
    int64_t inst[DFN(qpl_width)]; /* instance in each lane, -1 = idle */
} DFN(qpl_lanes);

static void DFN(qpl_lanes_map)(DFN(qpl_lanes) *L, DREAL *base, int n, int m, int k)
{
    size_t wsz = DFN(qp_work_size)(n, m, k);
    /* zeroed once per range: an idle lane then computes on finite values */
    memset(base, 0, sizeof(DREAL) * DFN(qpl_scratch_size)(n, m, k));
    L->lbase = base;
    L->lw = DFN(qpl_work_map)(base, n, m, k);
    DREAL *c = base + wsz * DFN(qpl_width);
    L->ld = DFN(qpl_data_map)(c, n, m, k);
    c += DFN(qpl_data_size)(n, m, k);
    L->lx = c; c += (size_t)n * DFN(qpl_width);
    L->lz = c; c += (size_t)m * DFN(qpl_width);
    L->ly = c; c += (size_t)k * DFN(qpl_width);
    L->one = c; c += wsz;
    L->ox = c; c += n;
    L->oz = c; c += m;
    L->oy = c;
    for (int l = 0; l < DFN(qpl_width); ++l) L->inst[l] = -1;
}

/* Copies instance i's data into lane l (interleaved; shared data is repeated). */
static void DFN(qpl_pack_data)(DFN(qpl_lanes) *L, const DFN(qp_view) *v, int l)
{
    int n = v->n, m = v->m, k = v->k;
    DFN(qpl_scatter)((size_t)n, v->p, l, L->ld.p);
    if (m) {
        DFN(qpl_scatter)((size_t)m * n, v->G, l, L->ld.G);
        DFN(qpl_scatter)((size_t)m, v->h, l, L->ld.h);
    }
    if (k) {
        DFN(qpl_scatter)((size_t)k * n, v->A, l, L->ld.A);
        DFN(qpl_scatter)((size_t)k, v->b, l, L->ld.b);
    }
}

/* Lane l's workspace and iterate into the one-instance buffers, and back.
 * Strided copies touch one cache line per element, so only what the
 * per-instance code reads is copied: `len` leading values of the workspace
 * (the tape's prefix, and Hb after it for the retries), s and the
 * right-hand side bx, bz, by (the start point's); everything (len = the
 * workspace) for an iterating lane whose factorization failed. */
static size_t DFN(qpl_live_len)(const DFN(qp_batch) *bt)
{
    return DFN(qp_work_persist_size)(bt->n, bt->m, bt->k) + (size_t)bt->n * bt->n; /* + Hb */
}

static void DFN(qpl_unpack)(DFN(qpl_lanes) *L, const DFN(qp_batch) *bt, size_t len, int l)
{
    size_t nmk = (size_t)bt->n + bt->m + bt->k;
    DFN(qp_work) w = DFN(qp_work_map)(L->one, bt->n, bt->m, bt->k);
    DFN(qpl_gather)(len, L->lbase, l, L->one);
    DFN(qpl_gather)((size_t)bt->m, L->lw.s, l, w.s);
    DFN(qpl_gather)(nmk, L->lw.bx, l, w.bx); /* bx, bz, by are contiguous */
    DFN(qpl_gather)((size_t)bt->n, L->lx, l, L->ox);
    DFN(qpl_gather)((size_t)bt->m, L->lz, l, L->oz);
    DFN(qpl_gather)((size_t)bt->k, L->ly, l, L->oy);
}

static void DFN(qpl_repack)(DFN(qpl_lanes) *L, const DFN(qp_batch) *bt, size_t len, int l)
{
    size_t nmk = (size_t)bt->n + bt->m + bt->k;
    DFN(qp_work) w = DFN(qp_work_map)(L->one, bt->n, bt->m, bt->k);
    DFN(qpl_scatter)(len, L->one, l, L->lbase);
    DFN(qpl_scatter)((size_t)bt->m, w.s, l, L->lw.s);
    DFN(qpl_scatter)(nmk, w.bx, l, L->lw.bx);
    DFN(qpl_scatter)((size_t)bt->n, L->ox, l, L->lx);
    DFN(qpl_scatter)((size_t)bt->m, L->oz, l, L->lz);
    DFN(qpl_scatter)((size_t)bt->k, L->oy, l, L->ly);
}

/* The outputs of instance i from the one-instance buffers (qp_instance_end). */
static void DFN(qpl_finish_one)(DFN(qpl_job) *job, DFN(qpl_lanes) *L, DFN(qp_state) *st, int64_t i)
{
    const DFN(qp_batch) *bt = &job->bt;
    DFN(qp_view) v = DFN(qp_batch_view)(bt, i);
    DFN(qp_work) w = DFN(qp_work_map)(L->one, bt->n, bt->m, bt->k);
    DFN(qp_slice) o = DFN(qp_slice_of)(bt, i, job->x, job->lam, job->nu);
    for (int j = 0; j < bt->n; ++j) o.x[j] = L->ox[j];
    for (int r = 0; r < bt->m; ++r) o.lam[r] = L->oz[r];
    for (int r = 0; r < bt->k; ++r) o.nu[r] = L->oy[r];
    DFN(qp_phase_end)(&v, &w, st, o.x, o.lam, o.nu);
    job->status[i] = st->status;
    if (job->iters) job->iters[i] = st->iter;
    if (job->keep && DFN(qp_status_has_solution)(st->status)) {
        DREAL *keep = job->keep + (size_t)i * job->psz;
        for (size_t e = 0; e < job->psz; ++e) keep[e] = L->one[e];
    }
}

/* Puts the next instance of [*next, end) that needs a factorization into
 * lane l (instances rejected by the setup are finished on the way).
 * Returns 1, or 0 with the lane idle when the range is exhausted. */
static int DFN(qpl_fill)(DFN(qpl_job) *job, DFN(qpl_lanes) *L, int l, int64_t *next, int64_t end)
{
    const DFN(qp_batch) *bt = &job->bt;
    while (*next < end) {
        int64_t i = (*next)++;
        DFN(qp_view) v = DFN(qp_batch_view)(bt, i);
        DFN(qp_work) w = DFN(qp_work_map)(L->one, bt->n, bt->m, bt->k);
        DFN(qp_phase_begin)(&v, &w, &L->st[l], job->keep != NULL);
        if (L->st[l].stage == DOPT_QP_STAGE_DONE) {
            DFN(qpl_finish_one)(job, L, &L->st[l], i);
            continue;
        }
        for (int j = 0; j < bt->n; ++j) L->ox[j] = 0;
        for (int r = 0; r < bt->m; ++r) L->oz[r] = 0;
        for (int r = 0; r < bt->k; ++r) L->oy[r] = 0;
        DFN(qpl_repack)(L, bt, DFN(qpl_live_len)(bt), l);
        DFN(qpl_pack_data)(L, &v, l);
        L->inst[l] = i;
        return 1;
    }
    L->inst[l] = -1;
    return 0;
}

static void DFN(qpl_solve_range)(void *arg, int64_t b0, int64_t b1, int worker)
{
    DFN(qpl_job) *job = (DFN(qpl_job) *)arg;
    const DFN(qp_batch) *bt = &job->bt;
    int n = bt->n, m = bt->m, k = bt->k;
    DFN(qpl_lanes) L;
    DFN(qpl_lanes_map)(&L, job->mem + (size_t)worker * job->per_worker, n, m, k);
    DFN(qp_state) *st = L.st;
    int64_t next = b0;
    int busy = 0;
    for (int l = 0; l < DFN(qpl_width); ++l) busy += DFN(qpl_fill)(job, &L, l, &next, b1);
    int run[DFN(qpl_width)], info[DFN(qpl_width)], fast[DFN(qpl_width)], go[DFN(qpl_width)];
    while (busy) {
        /* before the factorization: residuals and tests of the iterating lanes */
        int any = 0;
        for (int l = 0; l < DFN(qpl_width); ++l) {
            run[l] = L.inst[l] >= 0 && st[l].stage == DOPT_QP_STAGE_ITERATE;
            any |= run[l];
        }
        if (any) {
            DFN(qpl_check)(&L.ld, &job->set, &L.lw, st, run, L.lx, L.lz, L.ly);
            for (int l = 0; l < DFN(qpl_width); ++l) {
                if (!run[l] || st[l].status == DOPT_INST_RUNNING) continue;
                if (st[l].keep_factor && DFN(qp_status_has_solution)(st[l].status))
                    st[l].stage = DOPT_QP_STAGE_TAPE;
                else {
                    run[l] = 0;
                    st[l].stage = DOPT_QP_STAGE_DONE;
                }
            }
            DFN(qpl_set_scaling)(&L.ld, &L.lw, run, L.lz);
        }
        /* finished lanes out, waiting instances in */
        busy = 0;
        for (int l = 0; l < DFN(qpl_width); ++l) {
            if (L.inst[l] >= 0 && st[l].stage == DOPT_QP_STAGE_DONE) {
                DFN(qpl_unpack)(&L, bt, DFN(qp_work_persist_size)(n, m, k), l);
                DFN(qpl_finish_one)(job, &L, &st[l], L.inst[l]);
                DFN(qpl_fill)(job, &L, l, &next, b1);
            }
            busy += L.inst[l] >= 0;
        }
        if (!busy) break;
        /* the factorization of every lane, interleaved */
        DFN(qpl_assemble)(&L.ld, &L.lw);
        DFN(qpl_factor_assembled)(&L.ld, &L.lw, info);
        any = 0;
        for (int l = 0; l < DFN(qpl_width); ++l) {
            fast[l] = L.inst[l] >= 0 && info[l] == 0 && st[l].stage != DOPT_QP_STAGE_DONE;
            any |= fast[l];
        }
        if (any) DFN(qpl_factor_complete)(&L.ld, &L.lw, st, fast); /* a failed Schur: per instance below */
        /* the failed factorizations (rare): per instance, on a de-interleaved
         * copy, before the start points and steps below reuse the scratch */
        for (int l = 0; l < DFN(qpl_width); ++l) {
            if (L.inst[l] < 0 || fast[l]) continue;
            DFN(qp_view) v = DFN(qp_batch_view)(bt, L.inst[l]);
            DFN(qp_work) w = DFN(qp_work_map)(L.one, n, m, k);
            size_t len = st[l].stage == DOPT_QP_STAGE_START ? DFN(qpl_live_len)(bt) : job->wsz;
            DFN(qpl_unpack)(&L, bt, len, l);
            DFN(qp_phase_after_factor)(&v, &job->set, &w, &st[l], L.ox, L.oz, L.oy, info[l]);
            DFN(qpl_repack)(&L, bt, len, l);
        }
        any = 0;
        for (int l = 0; l < DFN(qpl_width); ++l) {
            go[l] = fast[l] && st[l].stage == DOPT_QP_STAGE_START;
            any |= go[l];
        }
        if (any) DFN(qpl_start_point)(&L.ld, &job->set, &L.lw, st, go, L.lx, L.lz, L.ly);
        any = 0;
        for (int l = 0; l < DFN(qpl_width); ++l) {
            go[l] = fast[l] && st[l].stage == DOPT_QP_STAGE_ITERATE;
            any |= go[l];
        }
        if (any) DFN(qpl_step)(&L.ld, &job->set, &L.lw, st, go, L.lx, L.lz, L.ly);
        for (int l = 0; l < DFN(qpl_width); ++l)
            if (fast[l])
                st[l].stage = st[l].stage != DOPT_QP_STAGE_TAPE && st[l].status == DOPT_INST_RUNNING
                                  ? DOPT_QP_STAGE_ITERATE
                                  : DOPT_QP_STAGE_DONE;
    }
}

static dopt_status DFN(qp_solve_cpu_lanes)(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                                           dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    int64_t B = P->batch;
    if (B == 0) return DOPT_OK;
    int64_t grain = dopt_qp_cpu_lanes_grain(P->dtype);
    int workers = dopt_worker_count(ctx->threads, B, grain);
    DFN(qpl_job) job;
    job.bt = DFN(qp_batch_of)(P);
    job.set = DFN(qp_settings_of)(o);
    job.wsz = DFN(qp_work_size)(P->n, P->m, P->k);
    job.psz = DFN(qp_work_persist_size)(P->n, P->m, P->k);
    job.per_worker = DFN(qpl_scratch_size)(P->n, P->m, P->k);
    job.keep = NULL;
    if (tape) {
        if (!dopt_host_reserve(&tape->work, &tape->cap_work, sizeof(DREAL) * job.psz * (size_t)B))
            return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp: out of memory for the tape");
        job.keep = (DREAL *)tape->work;
    }
    DOPT_TRY(dopt_scratch_reserve(ctx, sizeof(DREAL) * job.per_worker * (size_t)workers, (void **)&job.mem));
    job.x = (DREAL *)sol->x;
    job.lam = (DREAL *)sol->lam;
    job.nu = (DREAL *)sol->nu;
    job.status = sol->status;
    job.iters = sol->iters;
    dopt_parallel_for(ctx, workers, B, grain, DFN(qpl_solve_range), &job);
    if (!tape) return DOPT_OK;
    tape->work_per_instance = job.psz;
    return dopt_qp_cpu_tape_keep_solution(ctx, "qp", tape, sol, sizeof(DREAL), (size_t)B * P->n, (size_t)B * P->m,
                                          (size_t)B * P->k, B);
}
