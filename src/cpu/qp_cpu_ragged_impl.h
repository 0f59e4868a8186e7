/* Ragged QP batches on the CPU for one precision (included twice by
 * qp_cpu_ragged.c): ONE parallel loop over the instances in the plan's
 * order (largest estimated cost first, small dynamic chunks: the big ones
 * start first and the small ones fill the gaps), each instance solved by
 * the uniform per-instance code at its own offsets in a per-worker
 * workspace sized for the largest instance. A finished instance costs
 * nothing further: there is nothing to compact in a per-instance loop. */

typedef struct {
    const dopt_qp_ragged_layout *L;
    const DREAL *Q, *p, *G, *h, *A, *b;
    DFN(qp_settings) set;
    DREAL *work; /* max_work per worker */
    DREAL *keep; /* the tape's factorizations, or NULL */
    DREAL *x, *lam, *nu;
    int32_t *status, *iters;
} DFN(qp_ragged_job);

/* One instance, kept out of line: inlined into the loop below, gcc
 * compiled the interior point about 25% slower than in the uniform loop
 * (measured: 1650 against 2060 instances/s on one core, bitwise the same
 * results), where the same kernel code stays a function of its own. */
static DOPT_NOINLINE void DFN(qp_ragged_one)(const DFN(qp_ragged_job) *j, DREAL *wk, int64_t i)
{
    DFN(qp_ragged_solve_instance)(&j->L->index, j->Q, j->p, j->G, j->h, j->A, j->b, &j->set, wk, j->keep, i, j->x,
                                  j->lam, j->nu, j->status, j->iters);
}

static void DFN(qp_ragged_range)(void *arg, int64_t t0, int64_t t1, int worker)
{
    DFN(qp_ragged_job) *j = (DFN(qp_ragged_job) *)arg;
    DREAL *wk = j->work + (size_t)worker * j->L->max_work;
    for (int64_t t = t0; t < t1; ++t) DFN(qp_ragged_one)(j, wk, j->L->order[t]);
}

/* Chunks of one instance: the instances differ in cost by orders of
 * magnitude, so a chunk of several could put two big ones on one worker. */
#define QP_RAGGED_GRAIN 1

static dopt_status DFN(qp_ragged_solve_cpu)(dopt_context *ctx, const dopt_qp_ragged_problem *P,
                                            const dopt_qp_ragged_layout *L, const dopt_qp_options *o,
                                            dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    int64_t B = L->batch;
    int workers = dopt_worker_count(ctx->threads, B, QP_RAGGED_GRAIN);
    DFN(qp_ragged_job) j;
    j.L = L;
    j.Q = (const DREAL *)P->Q;
    j.p = (const DREAL *)P->p;
    j.G = (const DREAL *)P->G;
    j.h = (const DREAL *)P->h;
    j.A = (const DREAL *)P->A;
    j.b = (const DREAL *)P->b;
    j.set = DFN(qp_settings_of)(o);
    j.keep = NULL;
    if (tape) {
        size_t kept = (size_t)L->index.keep[B];
        if (!dopt_host_reserve(&tape->work, &tape->cap_work, sizeof(DREAL) * kept))
            return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp ragged: out of memory for the tape");
        j.keep = (DREAL *)tape->work;
        tape->work_per_instance = 0; /* per instance: L->index.keep */
    }
    DOPT_TRY(dopt_scratch_reserve(ctx, sizeof(DREAL) * L->max_work * (size_t)workers, (void **)&j.work));
    j.x = (DREAL *)sol->x;
    j.lam = (DREAL *)sol->lam;
    j.nu = (DREAL *)sol->nu;
    j.status = sol->status;
    j.iters = sol->iters;
    dopt_parallel_for(ctx, workers, B, QP_RAGGED_GRAIN, DFN(qp_ragged_range), &j);
    if (!tape) return DOPT_OK;
    return dopt_qp_cpu_tape_keep_solution(ctx, "qp ragged", tape, sol, sizeof(DREAL), (size_t)L->total_n,
                                          (size_t)L->total_m, (size_t)L->total_k, B);
}

typedef struct {
    const dopt_qp_tape *T;
    const DREAL *gx, *glam, *gnu;
    DREAL *DX, *DLT, *DN;
    DREAL *work; /* max_work per worker */
    dopt_qp_grad_out g;
} DFN(qp_ragged_adjoint_job);

static void DFN(qp_ragged_adjoint_range)(void *arg, int64_t t0, int64_t t1, int worker)
{
    DFN(qp_ragged_adjoint_job) *j = (DFN(qp_ragged_adjoint_job) *)arg;
    const dopt_qp_tape *T = j->T;
    const dopt_qp_ragged_layout *L = T->ragged;
    const dopt_qp_ragged_problem *P = &T->rprob;
    DREAL *wk = j->work + (size_t)worker * L->max_work;
    for (int64_t t = t0; t < t1; ++t) {
        int64_t i = L->order[t];
        DFN(qp_batch) bt = DFN(qp_ragged_batch)(&L->index, (const DREAL *)P->Q, (const DREAL *)P->p,
                                                (const DREAL *)P->G, (const DREAL *)P->h, (const DREAL *)P->A,
                                                (const DREAL *)P->b, i);
        DFN(qp_ragged_adjoint_instance)(&L->index, &bt, (const DREAL *)T->work, wk, T->opt.refine + 3, T->status[i],
                                        j->gx, j->glam, j->gnu, i, j->DX, j->DLT, j->DN);
        DFN(qp_ragged_grads_instance)(&L->index, L->has_Q, i, (const DREAL *)T->x, (const DREAL *)T->lam,
                                      (const DREAL *)T->nu, j->DX, j->DLT, j->DN, (DREAL *)j->g.dQ,
                                      (DREAL *)j->g.dp, (DREAL *)j->g.dG, (DREAL *)j->g.dh, (DREAL *)j->g.dA,
                                      (DREAL *)j->g.db);
    }
}

static dopt_status DFN(qp_ragged_backward_cpu)(dopt_context *ctx, const dopt_qp_tape *T, const dopt_qp_grad_in *gin,
                                               dopt_qp_grad_out *g)
{
    const dopt_qp_ragged_layout *L = T->ragged;
    int64_t B = L->batch;
    DFN(qp_ragged_adjoint_job) j;
    j.T = T;
    j.gx = (const DREAL *)gin->dx;
    j.glam = (const DREAL *)gin->dlam;
    j.gnu = (const DREAL *)gin->dnu;
    j.g = *g;
    /* scratch kept in the tape: repeated backward passes allocate nothing */
    dopt_qp_tape *Tm = (dopt_qp_tape *)T;
    size_t len = (size_t)(L->total_n + L->total_m + L->total_k);
    if (!dopt_host_reserve(&Tm->adjoint, &Tm->cap_adjoint, sizeof(DREAL) * len))
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp ragged backward: out of memory");
    j.DX = (DREAL *)Tm->adjoint;
    j.DLT = j.DX + L->total_n;
    j.DN = j.DLT + L->total_m;
    int workers = dopt_worker_count(ctx->threads, B, QP_RAGGED_GRAIN);
    DOPT_TRY(dopt_scratch_reserve(ctx, sizeof(DREAL) * L->max_work * (size_t)workers, (void **)&j.work));
    dopt_parallel_for(ctx, workers, B, QP_RAGGED_GRAIN, DFN(qp_ragged_adjoint_range), &j);
    return DOPT_OK;
}

#undef QP_RAGGED_GRAIN

/* ---- the grouped path's pad and scatter, one task per class slot ---- */
static void DFN(qp_ragged_move_range)(void *arg, int64_t c0, int64_t c1, int worker)
{
    (void)worker;
    const dopt_qp_ragged_move *mv = (const dopt_qp_ragged_move *)arg;
    DREAL *r[6], *c[6];
    for (int t = 0; t < 6; ++t) {
        r[t] = (DREAL *)mv->r[t];
        c[t] = (DREAL *)mv->c[t];
    }
    for (int64_t s = c0; s < c1; ++s) {
        int64_t i = mv->members[s];
        switch (mv->what) {
        case DOPT_QP_RAGGED_PAD_DATA:
            DFN(qp_ragged_pad_data)(&mv->ix, r[0], r[1], r[2], r[3], r[4], r[5], i, mv->N, mv->M, mv->K, s, c[0],
                                    c[1], c[2], c[3], c[4], c[5]);
            break;
        case DOPT_QP_RAGGED_PAD_GRAD_IN:
            DFN(qp_ragged_pad_grad_in)(&mv->ix, r[0], r[1], r[2], i, mv->N, mv->M, mv->K, s, c[0], c[1], c[2]);
            break;
        case DOPT_QP_RAGGED_UNPAD_SOLUTION:
            DFN(qp_ragged_unpad_solution)(&mv->ix, i, mv->N, mv->M, mv->K, s, c[0], c[1], c[2], mv->cstatus,
                                          mv->citers, r[0], r[1], r[2], mv->rstatus, mv->riters);
            break;
        default:
            DFN(qp_ragged_unpad_grads)(&mv->ix, i, mv->N, mv->M, mv->K, s, c[0], c[1], c[2], c[3], c[4], c[5], r[0],
                                       r[1], r[2], r[3], r[4], r[5]);
        }
    }
}
