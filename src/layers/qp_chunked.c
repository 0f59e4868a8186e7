/* The QP solve under a memory cap: the backend says what a solve takes
 * (dopt_qp_memory_entry); a batch whose per-instance memory does not fit is
 * solved as consecutive chunks that do. Each instance's result depends only
 * on its own data, so the chunks' results are bitwise those of one call. A
 * tape holds the whole batch and is not split: with one, the call fits as a
 * whole or fails. */
#include "internal.h"
#include "backend.h"

#include <stdint.h>
#include <string.h>

/* Instances [first, first + count) of P: per-instance arrays offset, shared
 * ones (one copy for the batch) and absent ones (NULL) not. */
static dopt_qp_problem chunk_problem(const dopt_qp_problem *P, int64_t first, int64_t count)
{
    size_t es = P->dtype == DOPT_FLOAT64 ? sizeof(double) : sizeof(float);
    size_t n = (size_t)P->n, m = (size_t)P->m, k = (size_t)P->k, f = (size_t)first;
    dopt_qp_problem c = *P;
    c.batch = count;
#define DOPT_CHUNK_OFFSET(field, bit, per)                                           \
    if (c.field && !(P->shared & (bit))) c.field = (const char *)P->field + f * (per)*es
    DOPT_CHUNK_OFFSET(Q, DOPT_QP_SHARE_Q, n * n);
    DOPT_CHUNK_OFFSET(p, DOPT_QP_SHARE_P, n);
    DOPT_CHUNK_OFFSET(G, DOPT_QP_SHARE_G, m * n);
    DOPT_CHUNK_OFFSET(h, DOPT_QP_SHARE_H, m);
    DOPT_CHUNK_OFFSET(A, DOPT_QP_SHARE_A, k * n);
    DOPT_CHUNK_OFFSET(b, DOPT_QP_SHARE_B, k);
#undef DOPT_CHUNK_OFFSET
    return c;
}

static dopt_qp_solution chunk_solution(const dopt_qp_problem *P, const dopt_qp_solution *sol, int64_t first)
{
    size_t es = P->dtype == DOPT_FLOAT64 ? sizeof(double) : sizeof(float);
    size_t f = (size_t)first;
    dopt_qp_solution c = *sol;
    c.x = (char *)sol->x + f * (size_t)P->n * es;
    if (c.lam) c.lam = (char *)sol->lam + f * (size_t)P->m * es;
    if (c.nu) c.nu = (char *)sol->nu + f * (size_t)P->k * es;
    c.status = sol->status + f;
    if (c.iters) c.iters = sol->iters + f;
    return c;
}

/* a * b + c, saturating at SIZE_MAX (then certainly beyond any cap) */
static size_t bytes_for(size_t fixed, size_t per, int64_t count)
{
    size_t c = (size_t)count;
    if (per && c > (SIZE_MAX - fixed) / per) return SIZE_MAX;
    return fixed + per * c;
}

static const char *kind_name(int kind) { return kind == DOPT_MEM_HOST ? "host" : "device"; }

static dopt_status solve_with_tape(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                                   dopt_qp_solution *sol, dopt_qp_tape *tape, const dopt_qp_memory_need *need,
                                   int kind, size_t room)
{
    size_t tape_bytes = bytes_for(0, need->tape_per_instance, P->batch);
    size_t whole = bytes_for(need->fixed, need->per_instance, P->batch);
    whole = whole > SIZE_MAX - tape_bytes ? SIZE_MAX : whole + tape_bytes;
    if (whole > room) {
        ctx->mem_refused = 1;
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY,
                         "qp: %lld instances with a tape need about %zu bytes of %s memory (%zu of them the tape), "
                         "over the %zu the context's %s memory cap of %zu bytes leaves; a call that records a tape "
                         "is not split into chunks: raise the cap or pass smaller batches",
                         (long long)P->batch, whole, kind_name(kind), tape_bytes, room, kind_name(kind),
                         ctx->mem_cap[kind]);
    }
    /* the tape's buffers are the backend's own allocations (they outlive
     * the call): reserved against the cap while the call runs */
    DOPT_TRY(dopt_mem_charge(ctx, kind, tape_bytes, "qp tape"));
    dopt_status st = DOPT_CALL(ctx, qp_solve, P, o, sol, tape);
    dopt_mem_uncharge(ctx, kind, tape_bytes);
    return st;
}

dopt_status dopt_qp_solve_capped(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                                 dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    int kind = dopt_mem_kind(ctx);
    if (ctx->mem_cap[kind] == 0 || !ctx->ops->qp_memory || P->batch == 0)
        return DOPT_CALL(ctx, qp_solve, P, o, sol, tape);
    dopt_qp_memory_need need;
    memset(&need, 0, sizeof need);
    ctx->ops->qp_memory(ctx, P, tape != NULL, &need);
    /* the arena is replaced when it grows: its bytes are room too */
    size_t room = dopt_mem_room(ctx, kind) + ctx->scratch_bytes;
    if (tape) return solve_with_tape(ctx, P, o, sol, tape, &need, kind, room);
    if (need.per_instance == 0 || bytes_for(need.fixed, need.per_instance, P->batch) <= room)
        return DOPT_CALL(ctx, qp_solve, P, o, sol, tape); /* the arena's own check has the last word */
    int64_t chunk = room > need.fixed ? (int64_t)((room - need.fixed) / need.per_instance) : 0;
    if (chunk < 1) {
        ctx->mem_refused = 1;
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY,
                         "qp: one instance needs about %zu bytes of %s memory, over the %zu the context's %s memory "
                         "cap of %zu bytes leaves",
                         bytes_for(need.fixed, need.per_instance, 1), kind_name(kind), room, kind_name(kind),
                         ctx->mem_cap[kind]);
    }
    dopt_log(ctx, DOPT_LOG_INFO, "qp: %lld instances solved in chunks of at most %lld under the %s memory cap",
             (long long)P->batch, (long long)chunk, kind_name(kind));
    for (int64_t first = 0; first < P->batch;) {
        int64_t count = P->batch - first < chunk ? P->batch - first : chunk;
        dopt_qp_problem cp = chunk_problem(P, first, count);
        dopt_qp_solution cs = chunk_solution(P, sol, first);
        ctx->mem_refused = 0;
        dopt_status st = DOPT_CALL(ctx, qp_solve, &cp, o, &cs, NULL);
        if (st == DOPT_ERR_OUT_OF_MEMORY && ctx->mem_refused && count > 1) {
            chunk = count / 2; /* the estimate was short: the same instances again, in halves */
            ctx->error[0] = 0;
            continue;
        }
        if (st != DOPT_OK) return st;
        first += count;
    }
    return DOPT_OK;
}
