/* The driver of the interleaved QP layout for one precision and layout
 * (included by qp_ipm.h after qp_ilv_impl.h, with DREAL / DFN / LFN /
 * DREAL_LANES / DREAL_LANE_STRIDE set): a range of instances runs QL at a
 * time in lock step through the routines of qp_ilv_impl.h, a lane refilled
 * with the range's next instance as soon as its own is done. Per lane it
 * computes exactly what qp_solve_instance computes (see qp_ilv_impl.h), so
 * the results do not depend on the lane, the range or the thread count.
 *  - CPU (src/cpu/qp_cpu_lanes_impl.h): a worker's range, QL = the SIMD width.
 *  - GPU (src/cuda/qp_cuda_impl.h, the warp layout): each thread runs the
 *    range of its one instance with QL = 1 on a lane of its warp group's
 *    buffers, interleaved 32 wide, so a warp's loads are coalesced.
 * No guard on purpose. */

#define QL DREAL_LANES
#define QS DREAL_LANE_STRIDE

typedef struct {
    DFN(qp_batch) bt;
    DFN(qp_settings) set;
    size_t wsz;
    DREAL *keep; /* tape: the persistent prefix per instance, or NULL */
    size_t psz;
    DREAL *x, *lam, *nu;
    int32_t *status, *iters;
} LFN(qpl_job);

/* The job of a solve: its outputs, and the tape's persistent prefix per
 * instance in keep (or NULL). */
DOPT_KFN LFN(qpl_job) LFN(qpl_job_of)(const dopt_qp_problem *P, const dopt_qp_options *o, DREAL *keep,
                                      const dopt_qp_solution *sol)
{
    LFN(qpl_job) job;
    job.bt = DFN(qp_batch_of)(P);
    job.set = DFN(qp_settings_of)(o);
    job.wsz = DFN(qp_work_size)(P->n, P->m, P->k);
    job.psz = DFN(qp_work_persist_size)(P->n, P->m, P->k);
    job.keep = keep;
    job.x = (DREAL *)sol->x;
    job.lam = (DREAL *)sol->lam;
    job.nu = (DREAL *)sol->nu;
    job.status = sol->status;
    job.iters = sol->iters;
    return job;
}

/* The buffers of QL lanes and of one instance, mapped. */
typedef struct {
    DFN(qp_work) lw; /* the lanes' workspace */
    DREAL *lbase;    /* its base (gather / scatter) */
    LFN(qpl_data) ld;
    DREAL *lx, *lz, *ly;
    DREAL *one; /* one instance's workspace (qp_work_size) */
    DREAL *ox, *oz, *oy;
    DFN(qp_state) st[QL];
    int64_t inst[QL]; /* instance in each lane, -1 = idle */
} LFN(qpl_lanes);

/* The lanes' buffers (LFN(qpl_lanes_size) values: workspace, data, x, z, y,
 * all interleaved) and one instance's (LFN(qpl_one_size): workspace, x, z,
 * y), mapped; every lane idle. On the GPU `lanes` is the warp group's
 * buffer offset by the thread's lane. The caller zeroes the lanes' buffer
 * first (an idle lane then computes on finite values). */
DOPT_KFN size_t LFN(qpl_lanes_size)(int n, int m, int k)
{
    return DFN(qp_work_size)(n, m, k) * QS + LFN(qpl_data_size)(n, m, k) + ((size_t)n + m + k) * QS;
}

DOPT_KFN size_t LFN(qpl_one_size)(int n, int m, int k) { return DFN(qp_work_size)(n, m, k) + (size_t)n + m + k; }

/* one CPU worker's scratch: its lanes and its one instance (the CPU
 * layer's memory estimate uses it too) */
DOPT_KFN size_t LFN(qpl_scratch_size)(int n, int m, int k)
{
    return LFN(qpl_lanes_size)(n, m, k) + LFN(qpl_one_size)(n, m, k);
}

DOPT_KFN void LFN(qpl_lanes_map)(LFN(qpl_lanes) *L, DREAL *lanes, DREAL *one, int n, int m, int k)
{
    size_t wsz = DFN(qp_work_size)(n, m, k);
    L->lbase = lanes;
    L->lw = LFN(qpl_work_map)(lanes, n, m, k);
    DREAL *c = lanes + wsz * QS;
    L->ld = LFN(qpl_data_map)(c, n, m, k);
    c += LFN(qpl_data_size)(n, m, k);
    L->lx = c; c += (size_t)n * QS;
    L->lz = c; c += (size_t)m * QS;
    L->ly = c;
    L->one = one;
    L->ox = one + wsz;
    L->oz = L->ox + n;
    L->oy = L->oz + m;
    for (int l = 0; l < QL; ++l) L->inst[l] = -1;
}

/* Copies instance i's data into lane l (interleaved; shared data is repeated). */
DOPT_KFN void LFN(qpl_pack_data)(LFN(qpl_lanes) *L, const DFN(qp_view) *v, int l)
{
    int n = v->n, m = v->m, k = v->k;
    LFN(qpl_scatter)((size_t)n, v->p, l, L->ld.p);
    if (m) {
        LFN(qpl_scatter)((size_t)m * n, v->G, l, L->ld.G);
        LFN(qpl_scatter)((size_t)m, v->h, l, L->ld.h);
    }
    if (k) {
        LFN(qpl_scatter)((size_t)k * n, v->A, l, L->ld.A);
        LFN(qpl_scatter)((size_t)k, v->b, l, L->ld.b);
    }
}

/* Lane l's workspace and iterate into the one-instance buffers, and back.
 * Strided copies touch one cache line per element, so only what the
 * per-instance code reads is copied: `len` leading values of the workspace
 * (the tape's prefix, and Hb after it for the retries), s and the
 * right-hand side bx, bz, by (the start point's); everything (len = the
 * workspace) for an iterating lane whose factorization failed. */
DOPT_KFN size_t LFN(qpl_live_len)(const DFN(qp_batch) *bt)
{
    return DFN(qp_work_persist_size)(bt->n, bt->m, bt->k) + (size_t)bt->n * bt->n; /* + Hb */
}

DOPT_KFN void LFN(qpl_unpack)(LFN(qpl_lanes) *L, const DFN(qp_batch) *bt, size_t len, int l)
{
    size_t nmk = (size_t)bt->n + bt->m + bt->k;
    DFN(qp_work) w = DFN(qp_work_map)(L->one, bt->n, bt->m, bt->k);
    LFN(qpl_gather)(len, L->lbase, l, L->one);
    LFN(qpl_gather)((size_t)bt->m, L->lw.s, l, w.s);
    LFN(qpl_gather)(nmk, L->lw.bx, l, w.bx); /* bx, bz, by are contiguous */
    LFN(qpl_gather)((size_t)bt->n, L->lx, l, L->ox);
    LFN(qpl_gather)((size_t)bt->m, L->lz, l, L->oz);
    LFN(qpl_gather)((size_t)bt->k, L->ly, l, L->oy);
}

DOPT_KFN void LFN(qpl_repack)(LFN(qpl_lanes) *L, const DFN(qp_batch) *bt, size_t len, int l)
{
    size_t nmk = (size_t)bt->n + bt->m + bt->k;
    DFN(qp_work) w = DFN(qp_work_map)(L->one, bt->n, bt->m, bt->k);
    LFN(qpl_scatter)(len, L->one, l, L->lbase);
    LFN(qpl_scatter)((size_t)bt->m, w.s, l, L->lw.s);
    LFN(qpl_scatter)(nmk, w.bx, l, L->lw.bx);
    LFN(qpl_scatter)((size_t)bt->n, L->ox, l, L->lx);
    LFN(qpl_scatter)((size_t)bt->m, L->oz, l, L->lz);
    LFN(qpl_scatter)((size_t)bt->k, L->oy, l, L->ly);
}

/* The outputs of instance i from the one-instance buffers (qp_instance_end). */
DOPT_KFN void LFN(qpl_finish_one)(LFN(qpl_job) *job, LFN(qpl_lanes) *L, DFN(qp_state) *st, int64_t i)
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
DOPT_KFN int LFN(qpl_fill)(LFN(qpl_job) *job, LFN(qpl_lanes) *L, int l, int64_t *next, int64_t end)
{
    const DFN(qp_batch) *bt = &job->bt;
    while (*next < end) {
        int64_t i = (*next)++;
        DFN(qp_view) v = DFN(qp_batch_view)(bt, i);
        DFN(qp_work) w = DFN(qp_work_map)(L->one, bt->n, bt->m, bt->k);
        DFN(qp_phase_begin)(&v, &w, &L->st[l], job->keep != NULL);
        if (L->st[l].stage == DOPT_QP_STAGE_DONE) {
            LFN(qpl_finish_one)(job, L, &L->st[l], i);
            continue;
        }
        for (int j = 0; j < bt->n; ++j) L->ox[j] = 0;
        for (int r = 0; r < bt->m; ++r) L->oz[r] = 0;
        for (int r = 0; r < bt->k; ++r) L->oy[r] = 0;
        LFN(qpl_repack)(L, bt, LFN(qpl_live_len)(bt), l);
        LFN(qpl_pack_data)(L, &v, l);
        L->inst[l] = i;
        return 1;
    }
    L->inst[l] = -1;
    return 0;
}

/* Runs the instances [b0, b1) through the lanes of L (mapped by
 * LFN(qpl_lanes_map)), QL at a time, refilling a lane as soon as its
 * instance is done. */
DOPT_KFN void LFN(qpl_run)(LFN(qpl_job) *job, LFN(qpl_lanes) *L, int64_t b0, int64_t b1)
{
    const DFN(qp_batch) *bt = &job->bt;
    int n = bt->n, m = bt->m, k = bt->k;
    DFN(qp_state) *st = L->st;
    int64_t next = b0;
    int busy = 0;
    for (int l = 0; l < QL; ++l) busy += LFN(qpl_fill)(job, L, l, &next, b1);
    int run[QL], info[QL], fast[QL], go[QL];
    while (busy) {
        /* before the factorization: residuals and tests of the iterating lanes */
        int any = 0;
        for (int l = 0; l < QL; ++l) {
            run[l] = L->inst[l] >= 0 && st[l].stage == DOPT_QP_STAGE_ITERATE;
            any |= run[l];
        }
        if (any) {
            LFN(qpl_check)(&L->ld, &job->set, &L->lw, st, run, L->lx, L->lz, L->ly);
            for (int l = 0; l < QL; ++l) {
                if (!run[l] || st[l].status == DOPT_INST_RUNNING) continue;
                if (st[l].keep_factor && DFN(qp_status_has_solution)(st[l].status))
                    st[l].stage = DOPT_QP_STAGE_TAPE;
                else {
                    run[l] = 0;
                    st[l].stage = DOPT_QP_STAGE_DONE;
                }
            }
            LFN(qpl_set_scaling)(&L->ld, &L->lw, run, L->lz);
        }
        /* finished lanes out, waiting instances in */
        busy = 0;
        for (int l = 0; l < QL; ++l) {
            if (L->inst[l] >= 0 && st[l].stage == DOPT_QP_STAGE_DONE) {
                LFN(qpl_unpack)(L, bt, DFN(qp_work_persist_size)(n, m, k), l);
                LFN(qpl_finish_one)(job, L, &st[l], L->inst[l]);
                LFN(qpl_fill)(job, L, l, &next, b1);
            }
            busy += L->inst[l] >= 0;
        }
        if (!busy) break;
        /* the factorization of every lane, interleaved */
        LFN(qpl_assemble)(&L->ld, &L->lw);
        LFN(qpl_factor_assembled)(&L->ld, &L->lw, info);
        any = 0;
        for (int l = 0; l < QL; ++l) {
            fast[l] = L->inst[l] >= 0 && info[l] == 0 && st[l].stage != DOPT_QP_STAGE_DONE;
            any |= fast[l];
        }
        if (any) LFN(qpl_factor_complete)(&L->ld, &L->lw, st, fast); /* a failed Schur: per instance below */
        /* the failed factorizations (rare): per instance, on a de-interleaved
         * copy, before the start points and steps below reuse the scratch */
        for (int l = 0; l < QL; ++l) {
            if (L->inst[l] < 0 || fast[l]) continue;
            DFN(qp_view) v = DFN(qp_batch_view)(bt, L->inst[l]);
            DFN(qp_work) w = DFN(qp_work_map)(L->one, n, m, k);
            size_t len = st[l].stage == DOPT_QP_STAGE_START ? LFN(qpl_live_len)(bt) : job->wsz;
            LFN(qpl_unpack)(L, bt, len, l);
            DFN(qp_phase_after_factor)(&v, &job->set, &w, &st[l], L->ox, L->oz, L->oy, info[l]);
            LFN(qpl_repack)(L, bt, len, l);
        }
        any = 0;
        for (int l = 0; l < QL; ++l) {
            go[l] = fast[l] && st[l].stage == DOPT_QP_STAGE_START;
            any |= go[l];
        }
        if (any) LFN(qpl_start_point)(&L->ld, &job->set, &L->lw, st, go, L->lx, L->lz, L->ly);
        any = 0;
        for (int l = 0; l < QL; ++l) {
            go[l] = fast[l] && st[l].stage == DOPT_QP_STAGE_ITERATE;
            any |= go[l];
        }
        if (any) LFN(qpl_step)(&L->ld, &job->set, &L->lw, st, go, L->lx, L->lz, L->ly);
        for (int l = 0; l < QL; ++l)
            if (fast[l])
                st[l].stage = st[l].stage != DOPT_QP_STAGE_TAPE && st[l].status == DOPT_INST_RUNNING
                                  ? DOPT_QP_STAGE_ITERATE
                                  : DOPT_QP_STAGE_DONE;
    }
}

#undef QL
#undef QS
