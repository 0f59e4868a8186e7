/* Batch addressing and one-instance entry points of the Bernoulli surrogate,
 * shared by the CPU loop and the CUDA kernels. Included by bern.h.
 *
 * One body of math for uniform and block (ragged) batches: the batch says
 * where instance i's variables and rows start and how many it has
 * (bern_var0, bern_nvar, bern_ncon), and its view carries the column base
 * (global column - var_ptr[i] = local index), so bern_impl.h's
 * per-instance code never knows which kind of batch it serves. */

typedef struct {
    int n, m;               /* uniform sizes (block batches: unused) */
    const DREAL *A;         /* dense, or NULL */
    const int64_t *row_ptr; /* CSR */
    const int32_t *col;
    const DREAL *val;
    const DREAL *b, *c;
    int64_t sA, sR, sb, sc; /* batch strides (elements), 0 = shared */
    const int64_t *var_ptr, *con_ptr; /* block batch when var_ptr != NULL */
} DFN(bern_batch);

/* The public problem as the kernels address it: shared parts get stride 0. */
DOPT_KFN DFN(bern_batch) DFN(bern_batch_of)(const dopt_bern_problem *P)
{
    DFN(bern_batch) bt;
    int64_t n = P->n, m = P->m;
    unsigned sh = P->shared;
    bt.n = P->n;
    bt.m = P->m;
    bt.A = (const DREAL *)P->A;
    bt.row_ptr = P->row_ptr;
    bt.col = P->col_idx;
    bt.val = (const DREAL *)P->values;
    bt.b = (const DREAL *)P->b;
    bt.c = (const DREAL *)P->c;
    bt.sA = (sh & DOPT_BERN_SHARE_A) ? 0 : m * n;
    bt.sR = (sh & DOPT_BERN_SHARE_A) ? 0 : m + 1;
    bt.sb = (sh & DOPT_BERN_SHARE_B) || !P->b ? 0 : m;
    bt.sc = (sh & DOPT_BERN_SHARE_C) ? 0 : n;
    bt.var_ptr = bt.con_ptr = NULL;
    return bt;
}

/* A block batch: CSR only, nothing shared, offsets from var_ptr / con_ptr. */
DOPT_KFN DFN(bern_batch) DFN(bern_batch_of_blocks)(const dopt_bern_blocks *P)
{
    DFN(bern_batch) bt;
    bt.n = bt.m = 0;
    bt.A = NULL;
    bt.row_ptr = P->row_ptr;
    bt.col = P->col_idx;
    bt.val = (const DREAL *)P->values;
    bt.b = (const DREAL *)P->b;
    bt.c = (const DREAL *)P->c;
    bt.sA = bt.sR = bt.sb = bt.sc = 0;
    bt.var_ptr = P->var_ptr;
    bt.con_ptr = P->con_ptr;
    return bt;
}

/* Where instance i's variables start in the concatenated arrays, and how
 * many it has; its rows likewise. */
DOPT_KFN int64_t DFN(bern_var0)(const DFN(bern_batch) *bt, int64_t i)
{
    return bt->var_ptr ? bt->var_ptr[i] : i * bt->n;
}
DOPT_KFN int DFN(bern_nvar)(const DFN(bern_batch) *bt, int64_t i)
{
    return bt->var_ptr ? (int)(bt->var_ptr[i + 1] - bt->var_ptr[i]) : bt->n;
}
DOPT_KFN int64_t DFN(bern_con0)(const DFN(bern_batch) *bt, int64_t i)
{
    return bt->var_ptr ? bt->con_ptr[i] : i * bt->m;
}
DOPT_KFN int DFN(bern_ncon)(const DFN(bern_batch) *bt, int64_t i)
{
    return bt->var_ptr ? (int)(bt->con_ptr[i + 1] - bt->con_ptr[i]) : bt->m;
}

/* Offset of instance i's slice of a scratch array that holds per_var values
 * per variable, per_con per row and per_inst per instance: i * (per_var n +
 * per_con m + per_inst) for a uniform batch, the same packing for a block
 * one (so a uniform batch's scratch layout is unchanged). */
DOPT_KFN size_t DFN(bern_slice)(const DFN(bern_batch) *bt, int64_t i, size_t per_var, size_t per_con, size_t per_inst)
{
    return per_var * (size_t)DFN(bern_var0)(bt, i) + per_con * (size_t)DFN(bern_con0)(bt, i) + per_inst * (size_t)i;
}

DOPT_KFN DFN(bern_view) DFN(bern_batch_view)(const DFN(bern_batch) *bt, int64_t i)
{
    DFN(bern_view) v;
    v.col0 = 0;
    if (bt->var_ptr) { /* a block batch: its own rows of the one CSR matrix, global columns */
        v.n = DFN(bern_nvar)(bt, i);
        v.m = DFN(bern_ncon)(bt, i);
        v.row_ptr = bt->row_ptr + bt->con_ptr[i];
        v.col = bt->col;
        v.val = bt->val;
        v.col0 = bt->var_ptr[i];
        v.b = bt->b ? bt->b + bt->con_ptr[i] : NULL;
        v.c = bt->c ? bt->c + bt->var_ptr[i] : NULL;
        return v;
    }
    v.n = bt->n;
    v.m = bt->m;
    if (bt->A) {
        v.row_ptr = NULL;
        v.col = NULL;
        v.val = bt->A + i * bt->sA;
    } else { /* CSR; with m = 0 there may be no arrays at all (then nothing is read) */
        v.row_ptr = bt->row_ptr ? bt->row_ptr + i * bt->sR : NULL;
        v.col = bt->col;
        v.val = bt->val;
    }
    v.b = bt->b ? bt->b + i * bt->sb : NULL;
    v.c = bt->c ? bt->c + i * bt->sc : NULL;
    return v;
}

/* The point (n) from the caller's input: xhat = the input itself and xc =
 * NULL (1 - xhat), or with logits xhat = sigmoid(l) and xc = sigmoid(-l),
 * each from the logit (xc stays accurate where xhat rounds to 1, and the
 * reverse); a NaN or infinite logit gives NaN (invalid). One routine for the
 * CPU loop and the CUDA prepare kernel. */
DOPT_KFN void DFN(bern_xhat_of)(const DREAL *in, int logits, int n, DREAL *xhat, DREAL *xc)
{
    for (int j = 0; j < n; ++j) {
        double l = (double)in[j];
        if (!logits) {
            xhat[j] = in[j];
        } else if (!(fabs(l) <= DBL_MAX)) {
            xhat[j] = xc[j] = (DREAL)NAN;
        } else {
            xhat[j] = (DREAL)(1 / (1 + exp(-l)));
            xc[j] = (DREAL)(1 / (1 + exp(l)));
        }
    }
}

/* With logits the gradient is taken with respect to logit(xhat): the chain
 * rule multiplies by d xhat / d logit = xhat (1 - xhat) = xhat xc (0 once
 * the logit saturates so far that xc underflows). */
DOPT_KFN void DFN(bern_logit_chain)(const DREAL *xhat, const DREAL *xc, int n, DREAL *g, DREAL *gse)
{
    for (int j = 0; j < n; ++j) {
        DREAL d = xhat[j] * xc[j];
        g[j] *= d;
        if (gse) gse[j] *= d;
    }
}

/* Work per instance for bern_eval_instance: the estimator's plus xhat and xc. */
DOPT_KFN size_t DFN(bern_instance_work)(int n, int m, int K) { return DFN(bern_work_size)(n, m, K) + (size_t)2 * n; }

/* Instance i: loss, gradient and standard errors; with logits, the input is
 * logit(xhat) and the gradient is taken with respect to it. */
DOPT_KFN int DFN(bern_eval_instance)(const DFN(bern_batch) *bt, const DREAL *in, int estimator, int K, DREAL mu,
                                     uint64_t seed, int logits, int64_t i, DREAL *work, DREAL *loss, DREAL *grad,
                                     DREAL *loss_se, DREAL *grad_se)
{
    DFN(bern_view) v = DFN(bern_batch_view)(bt, i);
    int n = v.n;
    int64_t o = DFN(bern_var0)(bt, i);
    DREAL *xhat = work + DFN(bern_work_size)(n, v.m, K), *xc = xhat + n;
    DFN(bern_xhat_of)(in + o, logits, n, xhat, xc);
    const DREAL *xcp = logits ? xc : NULL;
    DREAL *g = grad + o, *gse = grad_se ? grad_se + o : NULL;
    int st;
    if (estimator == DOPT_BERN_EXACT) {
        /* a uniform batch's n is checked by the caller; a block instance's here */
        st = n <= 16 ? DFN(bern_exact)(&v, xhat, xcp, mu, work, loss + i, g) : DOPT_INST_INVALID;
        if (st != DOPT_INST_SOLVED) {
            loss[i] = (DREAL)NAN;
            for (int j = 0; j < n; ++j) g[j] = (DREAL)NAN;
        }
        if (loss_se) loss_se[i] = 0;
        if (gse)
            for (int j = 0; j < n; ++j) gse[j] = 0;
    } else {
        st = DFN(bern_instance)(&v, xhat, xcp, estimator, K, mu, seed, (uint32_t)i, work, loss + i, g,
                                loss_se ? loss_se + i : NULL, gse);
    }
    if (logits && st == DOPT_INST_SOLVED) DFN(bern_logit_chain)(xhat, xc, n, g, gse);
    return st;
}

/* Instance i: round and repair into x (0/1). xhat may be 0 or 1 here (a
 * probability that rounds, however saturated). work: n + m values. */
DOPT_KFN int DFN(bern_round_instance)(const DFN(bern_batch) *bt, const DREAL *xhat, int64_t i, DREAL *x, DREAL *work)
{
    DFN(bern_view) v = DFN(bern_batch_view)(bt, i);
    int64_t o = DFN(bern_var0)(bt, i);
    if (DFN(bern_check)(&v, xhat + o, 1, (int32_t *)work) != DOPT_INST_SOLVED) {
        for (int j = 0; j < v.n; ++j) x[o + j] = 0;
        return DOPT_INST_INVALID;
    }
    return DFN(bern_round_repair)(&v, xhat + o, x + o, work);
}
