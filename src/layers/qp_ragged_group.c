/* Ragged QP batches in size classes: the instances sorted by size, cut
 * into classes, each class padded (where exact, kernels/qp_batch_impl.h
 * "size classes") into one uniform batch and solved by the backend's
 * uniform entry, results and gradients scattered back with the padding
 * dropped. The path for backends whose fast solver needs uniform batches
 * (cuBLAS/cuSOLVER), selectable on the CPU by the policy so that the CPU
 * tests prove the padding exact. Policy and proof: docs/QP.md "Ragged
 * batches". */
#include "qp_ragged.h"

#include "backend.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int32_t N, M, K;
    int64_t first, size;   /* its instances: sorted[first .. first + size) */
    void *data[6];         /* the padded Q p G h A b, backend memory, owned */
    dopt_qp_tape *tape;    /* its uniform tape (a recording call), else NULL */
} qp_class;

struct dopt_qp_ragged_groups {
    int64_t count;
    qp_class *cls;
    int64_t *sorted;        /* host: the instances by class */
    void *dev;              /* backend copy of the plan's block and `sorted` (non-CPU backends) */
    dopt_qp_ragged_index ix; /* the index where the backend reads it */
    const int64_t *members; /* `sorted` where the backend reads it */
};

void dopt_qp_ragged_groups_free(struct dopt_qp_ragged_groups *g, const struct dopt_backend_ops *ops, int device)
{
    if (!g) return;
    for (int64_t c = 0; c < g->count; ++c) {
        for (int t = 0; t < 6; ++t)
            if (g->cls[c].data[t]) ops->free(device, g->cls[c].data[t]);
        dopt_qp_tape_destroy(g->cls[c].tape);
    }
    if (g->dev) ops->free(device, g->dev);
    free(g->cls);
    free(g->sorted);
    free(g);
}

typedef struct {
    int32_t n, m, k;
    int64_t index;
} size_key;

/* largest first: n, then m, then k; ties by index (a total order) */
static int by_size(const void *a, const void *b)
{
    const size_key *x = (const size_key *)a, *y = (const size_key *)b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    if (x->m != y->m) return x->m > y->m ? -1 : 1;
    if (x->k != y->k) return x->k > y->k ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Cuts the sorted instances into classes. EXACT: equal (n, m, k). PAD: an
 * instance joins the open class when the class's padded work stays within
 * max_waste of its total (work = dopt_qp_ragged_cost at the class's sizes
 * per slot) and every member keeps N - n >= K - k (each padded equality row
 * needs its own padded variable); else it opens the next class. */
static dopt_status build_classes(dopt_context *ctx, const dopt_qp_ragged_layout *L, int exact, double max_waste,
                                 struct dopt_qp_ragged_groups *g)
{
    int64_t B = L->batch;
    size_key *keys = (size_key *)malloc(sizeof(size_key) * (size_t)B);
    g->sorted = (int64_t *)malloc(sizeof(int64_t) * (size_t)B);
    g->cls = (qp_class *)calloc((size_t)B, sizeof(qp_class)); /* at most one class per instance */
    if (!keys || !g->sorted || !g->cls) {
        free(keys);
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp ragged: out of memory for the size classes");
    }
    for (int64_t i = 0; i < B; ++i) {
        keys[i].n = L->index.n[i];
        keys[i].m = L->index.m[i];
        keys[i].k = L->index.k[i];
        keys[i].index = i;
    }
    qsort(keys, (size_t)B, sizeof *keys, by_size);
    g->count = 0;
    qp_class *open = NULL;
    double useful = 0;
    int32_t max_gap = 0; /* max over members of n - k */
    for (int64_t s = 0; s < B; ++s) {
        const size_key *x = &keys[s];
        g->sorted[s] = x->index;
        double cost = dopt_qp_ragged_cost(x->n, x->m, x->k);
        if (open) {
            int join;
            if (exact) {
                join = x->n == open->N && x->m == open->M && x->k == open->K;
            } else {
                int32_t M = x->m > open->M ? x->m : open->M, K = x->k > open->K ? x->k : open->K;
                int32_t gap = x->n - x->k > max_gap ? x->n - x->k : max_gap;
                double total = (double)(open->size + 1) * dopt_qp_ragged_cost(open->N, M, K);
                join = open->N - K >= gap && 1.0 - (useful + cost) / total <= max_waste;
                if (join) {
                    open->M = M;
                    open->K = K;
                    max_gap = gap;
                }
            }
            if (join) {
                open->size++;
                useful += cost;
                continue;
            }
        }
        open = &g->cls[g->count++];
        open->N = x->n;
        open->M = x->m;
        open->K = x->k;
        open->first = s;
        open->size = 1;
        useful = cost;
        max_gap = x->n - x->k;
    }
    free(keys);
    return DOPT_OK;
}

/* The plan's index and the member list where the backend reads them: the
 * host's on the CPU, one uploaded copy elsewhere. */
static dopt_status place_index(dopt_context *ctx, const dopt_qp_ragged_layout *L, struct dopt_qp_ragged_groups *g)
{
    if (ctx->ops->kind == DOPT_BACKEND_CPU) {
        g->ix = L->index;
        g->members = g->sorted;
        return DOPT_OK;
    }
    size_t list = sizeof(int64_t) * (size_t)L->batch;
    DOPT_TRY(ctx->ops->alloc(ctx, L->bytes + list, &g->dev));
    DOPT_TRY(ctx->ops->upload(ctx, g->dev, L->block, L->bytes));
    DOPT_TRY(ctx->ops->upload(ctx, (char *)g->dev + L->bytes, g->sorted, list));
    /* the same offsets inside the uploaded block */
    const char *h = (const char *)L->block;
    char *d = (char *)g->dev;
#define REBASE(field) g->ix.field = (const void *)(d + ((const char *)L->index.field - h))
    REBASE(n);
    REBASE(m);
    REBASE(k);
    REBASE(oQ);
    REBASE(on);
    REBASE(oG);
    REBASE(om);
    REBASE(oA);
    REBASE(ok);
    REBASE(keep);
#undef REBASE
    g->members = (const int64_t *)(d + L->bytes);
    return DOPT_OK;
}

static dopt_qp_ragged_move move_of(const struct dopt_qp_ragged_groups *g, const qp_class *c, int what, dopt_dtype dt)
{
    dopt_qp_ragged_move mv;
    memset(&mv, 0, sizeof mv);
    mv.what = what;
    mv.dtype = dt;
    mv.ix = g->ix;
    mv.members = g->members + c->first;
    mv.count = c->size;
    mv.N = c->N;
    mv.M = c->M;
    mv.K = c->K;
    return mv;
}

/* Element counts of a class's six arrays. */
static void class_lens(const qp_class *c, size_t len[6])
{
    size_t S = (size_t)c->size, N = (size_t)c->N, M = (size_t)c->M, K = (size_t)c->K;
    len[0] = S * N * N;
    len[1] = S * N;
    len[2] = S * M * N;
    len[3] = S * M;
    len[4] = S * K * N;
    len[5] = S * K;
}

/* Buffers of a call that only live during it (class outputs, gradients). */
typedef struct {
    void *p[12];
} temp_set;

static void temp_free(dopt_context *ctx, temp_set *t)
{
    for (int i = 0; i < 12; ++i) dopt_temp_free(ctx, t->p[i]);
    memset(t, 0, sizeof *t);
}

/* counted under the context's memory cap (dopt_async.h) */
static dopt_status temp_alloc(dopt_context *ctx, temp_set *t, int slot, size_t bytes)
{
    return dopt_temp_alloc(ctx, bytes, &t->p[slot], "qp ragged class buffers");
}

/* Pads class c's instances (c may be a part of a class: a range of its
 * members), solves them as one uniform batch and scatters the results. */
static dopt_status solve_class(dopt_context *ctx, const dopt_qp_ragged_problem *P, const dopt_qp_options *o,
                               dopt_qp_solution *sol, dopt_qp_tape *tape, const struct dopt_qp_ragged_groups *g,
                               qp_class *c, size_t *charged)
{
    size_t es = P->dtype == DOPT_FLOAT64 ? 8 : 4;
    const void *rdata[6] = {P->Q, P->p, P->G, P->h, P->A, P->b};
    {
        size_t len[6];
        class_lens(c, len);
        /* a class's padded data: a temporary of the call, or with a tape
         * kept by it (then the backend's own allocation, reserved against
         * the cap until the call ends, as the uniform layer's tapes) */
        for (int t = 0; t < 6; ++t) {
            if (!len[t]) continue;
            if (!tape) {
                DOPT_TRY(dopt_temp_alloc(ctx, len[t] * es, &c->data[t], "qp ragged padded class"));
                continue;
            }
            DOPT_TRY(dopt_mem_charge(ctx, dopt_mem_kind(ctx), len[t] * es, "qp ragged padded class (tape)"));
            *charged += len[t] * es;
            DOPT_TRY(ctx->ops->alloc(ctx, len[t] * es, &c->data[t]));
        }
        dopt_qp_ragged_move mv = move_of(g, c, DOPT_QP_RAGGED_PAD_DATA, P->dtype);
        for (int t = 0; t < 6; ++t) {
            mv.r[t] = (void *)rdata[t];
            mv.c[t] = c->data[t];
        }
        DOPT_TRY(DOPT_CALL(ctx, qp_ragged_move, &mv));
        temp_set out;
        memset(&out, 0, sizeof out);
        dopt_status st = temp_alloc(ctx, &out, 0, len[1] * es);
        if (st == DOPT_OK) st = temp_alloc(ctx, &out, 1, len[3] * es);
        if (st == DOPT_OK) st = temp_alloc(ctx, &out, 2, len[5] * es);
        if (st == DOPT_OK) st = temp_alloc(ctx, &out, 3, (size_t)c->size * 4);
        if (st == DOPT_OK) st = temp_alloc(ctx, &out, 4, (size_t)c->size * 4);
        dopt_qp_problem U;
        memset(&U, 0, sizeof U);
        U.batch = c->size;
        U.n = c->N;
        U.m = c->M;
        U.k = c->K;
        U.dtype = P->dtype;
        U.Q = c->data[0];
        U.p = c->data[1];
        U.G = c->M ? c->data[2] : NULL;
        U.h = c->M ? c->data[3] : NULL;
        U.A = c->K ? c->data[4] : NULL;
        U.b = c->K ? c->data[5] : NULL;
        dopt_qp_solution cs = {out.p[0], c->M ? out.p[1] : NULL, c->K ? out.p[2] : NULL, (int32_t *)out.p[3],
                               (int32_t *)out.p[4]};
        if (st == DOPT_OK && tape) {
            c->tape = (dopt_qp_tape *)calloc(1, sizeof *c->tape);
            if (!c->tape) st = dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp ragged: out of memory for a class's tape");
            else {
                c->tape->ops = ctx->ops;
                c->tape->device = ctx->cuda_device;
                c->tape->prob = U;
                c->tape->opt = *o;
            }
        }
        /* the uniform layer's capped dispatch: chunks under a memory cap */
        if (st == DOPT_OK) st = dopt_qp_solve_capped(ctx, &U, o, &cs, c->tape);
        if (st == DOPT_OK) {
            dopt_qp_ragged_move back = move_of(g, c, DOPT_QP_RAGGED_UNPAD_SOLUTION, P->dtype);
            back.c[0] = out.p[0];
            back.c[1] = out.p[1];
            back.c[2] = out.p[2];
            back.cstatus = (const int32_t *)out.p[3];
            back.citers = (const int32_t *)out.p[4];
            back.r[0] = sol->x;
            back.r[1] = sol->lam;
            back.r[2] = sol->nu;
            back.rstatus = sol->status;
            back.riters = sol->iters;
            st = DOPT_CALL(ctx, qp_ragged_move, &back);
        }
        if (st == DOPT_OK && ctx->ops->synchronize) st = ctx->ops->synchronize(ctx); /* before the frees */
        temp_free(ctx, &out);
        if (st != DOPT_OK) return st;
        if (!tape) /* nothing will read the class's data again */
            for (int t = 0; t < 6; ++t) {
                dopt_temp_free(ctx, c->data[t]);
                c->data[t] = NULL;
            }
    }
    return DOPT_OK;
}

/* Bytes a class's instance needs for its padded data and outputs. */
static size_t class_bytes_per_instance(const qp_class *c, size_t es)
{
    size_t N = (size_t)c->N, M = (size_t)c->M, K = (size_t)c->K;
    return es * (N * N + N + M * N + M + K * N + K + N + M + K) + 2 * sizeof(int32_t);
}

/* Every class in turn. Without a tape, a class whose padded copy would not
 * fit the memory cap runs in parts of its members (each part a uniform batch
 * of its own: the same per-instance results), using at most half of the room
 * left for the copies and the rest for the solve (which chunks itself). */
static dopt_status group_solve(dopt_context *ctx, const dopt_qp_ragged_problem *P, const dopt_qp_options *o,
                               dopt_qp_solution *sol, dopt_qp_tape *tape, struct dopt_qp_ragged_groups *g,
                               size_t *charged)
{
    size_t es = P->dtype == DOPT_FLOAT64 ? 8 : 4;
    for (int64_t ci = 0; ci < g->count; ++ci) {
        qp_class *c = &g->cls[ci];
        int kind = dopt_mem_kind(ctx);
        size_t room = dopt_mem_room(ctx, kind), per = class_bytes_per_instance(c, es);
        if (tape || room == SIZE_MAX || per * (size_t)c->size <= room / 2) {
            DOPT_TRY(solve_class(ctx, P, o, sol, tape, g, c, charged));
            continue;
        }
        int64_t part = (int64_t)(room / 2 / per);
        if (part < 1) part = 1; /* its allocation then reports the cap */
        dopt_log(ctx, DOPT_LOG_INFO, "qp ragged: a class of %lld instances (n = %d) solved in parts of %lld under the "
                 "%s memory cap", (long long)c->size, c->N, (long long)part, kind == DOPT_MEM_HOST ? "host" : "device");
        for (int64_t first = 0; first < c->size; first += part) {
            qp_class piece = *c;
            piece.first = c->first + first;
            piece.size = c->size - first < part ? c->size - first : part;
            DOPT_TRY(solve_class(ctx, P, o, sol, NULL, g, &piece, charged));
        }
    }
    return DOPT_OK;
}

dopt_status dopt_qp_ragged_group_solve(dopt_context *ctx, const dopt_qp_ragged_problem *P,
                                       const dopt_qp_ragged_layout *L, const dopt_qp_options *o,
                                       dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    if (!ctx->ops->qp_ragged_move) return dopt_unsupported(ctx, "qp_ragged_move");
    struct dopt_qp_ragged_groups *g = (struct dopt_qp_ragged_groups *)calloc(1, sizeof *g);
    if (!g) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "qp ragged: out of memory for the size classes");
    int exact = ctx->ragged_policy == DOPT_RAGGED_EXACT;
    double waste = ctx->ragged_max_pad_waste > 0 ? ctx->ragged_max_pad_waste : 0.25;
    dopt_status st = build_classes(ctx, L, exact, waste, g);
    if (st == DOPT_OK) st = place_index(ctx, L, g);
    size_t charged = 0;
    if (st == DOPT_OK) st = group_solve(ctx, P, o, sol, tape, g, &charged);
    dopt_mem_uncharge(ctx, dopt_mem_kind(ctx), charged);
    if (st != DOPT_OK && !tape)
        for (int64_t ci = 0; ci < g->count; ++ci) /* a failed call's temporaries */
            for (int t = 0; t < 6; ++t) {
                dopt_temp_free(ctx, g->cls[ci].data[t]);
                g->cls[ci].data[t] = NULL;
            }
    if (st != DOPT_OK || !tape) {
        dopt_qp_ragged_groups_free(g, ctx->ops, ctx->cuda_device);
        return st;
    }
    tape->groups = g;
    return DOPT_OK;
}

dopt_status dopt_qp_ragged_group_backward(dopt_context *ctx, const dopt_qp_tape *tape, const dopt_qp_grad_in *gin,
                                          dopt_qp_grad_out *gout)
{
    const struct dopt_qp_ragged_groups *g = tape->groups;
    dopt_dtype dt = tape->rprob.dtype;
    size_t es = dt == DOPT_FLOAT64 ? 8 : 4;
    void *want[6] = {gout->dQ, gout->dp, gout->dG, gout->dh, gout->dA, gout->db};
    for (int64_t ci = 0; ci < g->count; ++ci) {
        const qp_class *c = &g->cls[ci];
        size_t len[6];
        class_lens(c, len);
        temp_set tmp;
        memset(&tmp, 0, sizeof tmp);
        dopt_status st = temp_alloc(ctx, &tmp, 0, len[1] * es);
        if (st == DOPT_OK) st = temp_alloc(ctx, &tmp, 1, len[3] * es);
        if (st == DOPT_OK) st = temp_alloc(ctx, &tmp, 2, len[5] * es);
        for (int t = 0; t < 6 && st == DOPT_OK; ++t)
            if (want[t] && len[t]) st = temp_alloc(ctx, &tmp, 3 + t, len[t] * es);
        if (st == DOPT_OK) {
            dopt_qp_ragged_move mv = move_of(g, c, DOPT_QP_RAGGED_PAD_GRAD_IN, dt);
            mv.r[0] = (void *)gin->dx;
            mv.r[1] = (void *)gin->dlam;
            mv.r[2] = (void *)gin->dnu;
            mv.c[0] = tmp.p[0];
            mv.c[1] = tmp.p[1];
            mv.c[2] = tmp.p[2];
            st = DOPT_CALL(ctx, qp_ragged_move, &mv);
        }
        if (st == DOPT_OK) {
            dopt_qp_grad_in cg = {tmp.p[0], c->M ? tmp.p[1] : NULL, c->K ? tmp.p[2] : NULL};
            dopt_qp_grad_out co = {tmp.p[3], tmp.p[4], tmp.p[5], tmp.p[6], tmp.p[7], tmp.p[8]};
            st = DOPT_CALL(ctx, qp_backward, c->tape, &cg, &co);
        }
        if (st == DOPT_OK) {
            dopt_qp_ragged_move back = move_of(g, c, DOPT_QP_RAGGED_UNPAD_GRADS, dt);
            for (int t = 0; t < 6; ++t) {
                back.c[t] = tmp.p[3 + t];
                back.r[t] = tmp.p[3 + t] ? want[t] : NULL;
            }
            st = DOPT_CALL(ctx, qp_ragged_move, &back);
        }
        if (st == DOPT_OK && ctx->ops->synchronize) st = ctx->ops->synchronize(ctx);
        temp_free(ctx, &tmp);
        if (st != DOPT_OK) return st;
    }
    return DOPT_OK;
}

void dopt_qp_ragged_group_stats(const dopt_qp_tape *tape, int64_t *classes, int64_t *padded)
{
    const struct dopt_qp_ragged_groups *g = tape ? tape->groups : NULL;
    *classes = g ? g->count : 0;
    *padded = 0;
    if (!g) return;
    const dopt_qp_ragged_index *ix = &tape->ragged->index;
    for (int64_t c = 0; c < g->count; ++c)
        for (int64_t s = 0; s < g->cls[c].size; ++s) {
            int64_t i = g->sorted[g->cls[c].first + s];
            *padded += ix->n[i] != g->cls[c].N || ix->m[i] != g->cls[c].M || ix->k[i] != g->cls[c].K;
        }
}
