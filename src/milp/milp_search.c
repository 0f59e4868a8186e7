/* Predict-and-search: the trust-region subproblem around a rounded
 * prediction (Han et al. 2023), as one extra row over the binaries, with
 * repair by widening the radius. docs/MILP.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "milp_backend.h"
#include "milp_internal.h"

void dopt_milp_search_options_default(dopt_milp_search_options *opt)
{
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    dopt_milp_options_default(&opt->milp);
    opt->repair = 1;
}

static int is_binary(const dopt_milp *p, int32_t j) { return p->integer[j] && p->col_lo[j] == 0 && p->col_hi[j] == 1; }

typedef struct {
    const double *pred;
    int32_t j;
} ranked;

static int by_pred(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    double u = x->pred[x->j], v = y->pred[y->j];
    if (u != v) return u < v ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j); /* ties by index: deterministic */
}

/* The model plus the row sum_{I0} x - sum_{I1} x <= delta - |I1| (side[j]: 0 not in I,
 * +1 center 0, -1 center 1). */
static dopt_milp *with_trust_row(const dopt_milp *p, const int8_t *side)
{
    int64_t extra = 0;
    for (int32_t j = 0; j < p->n; ++j) extra += side[j] != 0;
    dopt_milp *q = milp_alloc(p->n, p->m + 1, p->nnz + extra);
    if (!q) return NULL;
    int64_t nz = 0;
    for (int32_t j = 0; j < p->n; ++j) {
        q->col_ptr[j] = nz;
        for (int64_t k = p->col_ptr[j]; k < p->col_ptr[j + 1]; ++k) q->row_idx[nz] = p->row_idx[k], q->values[nz++] = p->values[k];
        if (side[j]) q->row_idx[nz] = p->m, q->values[nz++] = side[j];
    }
    q->col_ptr[p->n] = nz, q->nnz = nz;
    memcpy(q->c, p->c, (size_t)p->n * 8), memcpy(q->col_lo, p->col_lo, (size_t)p->n * 8);
    memcpy(q->col_hi, p->col_hi, (size_t)p->n * 8), memcpy(q->integer, p->integer, (size_t)p->n);
    memcpy(q->row_lo, p->row_lo, (size_t)p->m * 8), memcpy(q->row_hi, p->row_hi, (size_t)p->m * 8);
    q->row_lo[p->m] = -HUGE_VAL;
    q->offset = p->offset, q->maximize = p->maximize;
    return q;
}

dopt_status dopt_milp_search(dopt_context *ctx, const dopt_milp *model, const double *pred,
                             const dopt_milp_search_options *opt, dopt_milp_search_result *res)
{
    if (!milp_begin(ctx)) return DOPT_ERR_INVALID_ARGUMENT;
    char msg[MILP_MSG_LEN] = "";
    return milp_report(ctx, milp_search(model, pred, opt, res, msg, sizeof msg), msg);
}

/* One search, its message into err: safe on any thread (nothing shared is written). */
dopt_status milp_search(const dopt_milp *p, const double *pred, const dopt_milp_search_options *opt_in,
                        dopt_milp_search_result *res, char *err, size_t errlen)
{
    dopt_milp_search_options opt;
    if (opt_in) opt = *opt_in;
    else dopt_milp_search_options_default(&opt);
    if (!pred || !res) return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "NULL prediction or result");
    double *x_out = res->milp.x;
    memset(res, 0, sizeof *res);
    res->milp.x = x_out, res->milp.status = DOPT_INVALID_DATA, res->milp.objective = res->milp.bound = NAN;
    res->milp.solver = milp_resolve_solver(opt.milp.solver);
    opt.milp.ray = NULL; /* one caller's buffer, many jobs: not for searches */
    if (!(opt.delta >= 0) || opt.k0 < 0 || opt.k1 < 0 || !(opt.batch_time_limit >= 0))
        return res->call_status = milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT,
                                             "search options: delta and batch_time_limit must be >= 0 (not NaN), "
                                             "k0 and k1 >= 0 (delta %g, batch_time_limit %g, k0 %d, k1 %d)",
                                             opt.delta, opt.batch_time_limit, opt.k0, opt.k1);
    /* alone, the call's budget is one more limit on this search: the smaller holds */
    if (opt.batch_time_limit > 0 && (opt.milp.time_limit == 0 || opt.batch_time_limit < opt.milp.time_limit))
        opt.milp.time_limit = opt.batch_time_limit;
    opt.batch_time_limit = 0;
    dopt_status st = milp_check(p, err, errlen);
    if (st != DOPT_OK) return res->call_status = st;
    int32_t n = p->n, nb = 0;
    for (int32_t j = 0; j < n; ++j) nb += is_binary(p, j);
    /* k0 + k1 beyond the binaries would fix every binary silently: refused */
    if ((int64_t)opt.k0 + opt.k1 > nb)
        return res->call_status = milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT,
                                             "search options: k0 + k1 = %lld exceeds the model's %d binaries",
                                             (long long)opt.k0 + opt.k1, nb);
    for (int32_t j = 0; j < p->n; ++j)
        if (isnan(pred[j])) return DOPT_OK; /* per-instance outcome: invalid data */
    nb = 0;
    ranked *order = malloc((size_t)(n ? n : 1) * sizeof *order);
    int8_t *side = calloc((size_t)(n ? n : 1), 1);
    double *center = malloc((size_t)(n ? n : 1) * 8);
    dopt_milp *q = NULL;
    if (!order || !side || !center) {
        st = milp_error(err, errlen, DOPT_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    /* the rounded prediction; binaries ranked by p */
    for (int32_t j = 0; j < n; ++j) {
        double v = pred[j];
        if (p->integer[j]) v = nearbyint(v);
        center[j] = fmin(fmax(v, p->col_lo[j]), p->col_hi[j]);
        if (is_binary(p, j)) order[nb].pred = pred, order[nb++].j = j, center[j] = pred[j] >= 0.5;
    }
    int32_t k0 = opt.k0, k1 = opt.k1, ones = 0;
    if (k0 == 0 && k1 == 0) {
        for (int32_t q2 = 0; q2 < nb; ++q2) {
            int32_t j = order[q2].j;
            side[j] = center[j] ? -1 : 1, ones += center[j] != 0;
        }
        res->trust_size = nb;
    } else {
        qsort(order, (size_t)nb, sizeof *order, by_pred);
        for (int32_t q2 = 0; q2 < k0; ++q2) side[order[q2].j] = 1, center[order[q2].j] = 0;
        for (int32_t q2 = nb - k1; q2 < nb; ++q2) side[order[q2].j] = -1, center[order[q2].j] = 1;
        ones = k1, res->trust_size = k0 + k1;
    }
    res->center_violation = dopt_milp_violation(p, center);
    q = with_trust_row(p, side);
    if (!q) {
        st = milp_error(err, errlen, DOPT_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    double delta = opt.delta, limit = opt.milp.time_limit, t_start = milp_wall_seconds();
    for (;;) {
        q->row_hi[p->m] = delta - ones;
        res->rounds++;
        res->delta_used = delta;
        /* the limit covers the whole call: each round gets what is left */
        if (limit > 0) opt.milp.time_limit = fmax(limit - (milp_wall_seconds() - t_start), 1e-3);
        st = milp_solve(q, &opt.milp, &res->milp, err, errlen);
        res->milp.seconds = milp_wall_seconds() - t_start; /* total over rounds */
        if (st != DOPT_OK || res->milp.status != DOPT_PRIMAL_INFEASIBLE || !opt.repair || delta >= res->trust_size) break;
        if (limit > 0 && milp_wall_seconds() - t_start >= limit) {
            /* infeasible so far, no time to widen: the search ran out of time */
            res->milp.status = DOPT_ITERATION_LIMIT, res->milp.bound = NAN;
            break;
        }
        delta = delta < 1 ? 1 : 2 * delta;
        if (delta > res->trust_size) delta = res->trust_size;
    }
    /* the trust row sums |I| distances of at most 1: at delta >= |I| it cuts nothing */
    res->whole_model = st == DOPT_OK && res->delta_used >= res->trust_size;
done:
    dopt_milp_free(q);
    free(order), free(side), free(center);
    return res->call_status = st;
}

/* The batch's first failure as each worker saw it: workers write only their
 * own record, the calling thread reads them all after the join. */
typedef struct {
    int64_t job; /* lowest failing job of this worker; -1 none */
    char msg[MILP_MSG_LEN];
} first_failure;

typedef struct {
    const dopt_milp *const *models;
    const int64_t *model_of, *pred_offset;
    const double *preds;
    const dopt_milp_search_options *opt;
    dopt_milp_search_result *res;
    first_failure *fail; /* one per worker */
    double deadline;     /* of the whole call (opt->batch_time_limit); HUGE_VAL: none */
} batch_args;

/* A job that found the call's budget spent: the outcome of a limit, nothing solved. */
static void out_of_budget(dopt_milp_search_result *r)
{
    double *x = r->milp.x;
    memset(r, 0, sizeof *r);
    r->milp.x = x, r->milp.status = DOPT_ITERATION_LIMIT;
    r->milp.objective = r->milp.bound = r->milp.gap = NAN;
    snprintf(r->milp.solver_status, sizeof r->milp.solver_status, "not started: the batch's time limit ran out");
    r->center_violation = NAN;
}

static void search_range(void *arg, int64_t begin, int64_t end, int worker)
{
    batch_args *a = arg;
    first_failure *mine = &a->fail[worker];
    for (int64_t j = begin; j < end; ++j) {
        char msg[MILP_MSG_LEN] = "";
        dopt_milp_search_result *r = &a->res[j];
        const dopt_milp *p = a->models[a->model_of[j]];
        dopt_milp_search_options o = *a->opt;
        if (isfinite(a->deadline)) {
            /* this job's limit: its own, cut to what is left of the call's */
            double left = a->deadline - milp_wall_seconds();
            if (left <= 0) {
                out_of_budget(r);
                r->milp.solver = milp_resolve_solver(o.milp.solver);
                continue;
            }
            if (o.milp.time_limit == 0 || left < o.milp.time_limit) o.milp.time_limit = left;
        }
        o.batch_time_limit = 0;
        dopt_status st = milp_search(p, a->preds + a->pred_offset[j], &o, r, msg, sizeof msg);
        r->call_status = st;
        if (st != DOPT_OK && (mine->job < 0 || j < mine->job)) {
            mine->job = j;
            memcpy(mine->msg, msg, sizeof msg);
        }
    }
}

dopt_status dopt_milp_search_batch(dopt_context *ctx, const dopt_milp *const *models, int64_t jobs,
                                   const int64_t *model_of, const double *preds, const int64_t *pred_offset,
                                   const dopt_milp_search_options *opt, dopt_milp_search_result *res)
{
    if (!milp_begin(ctx)) return DOPT_ERR_INVALID_ARGUMENT;
    if (jobs < 0 || (jobs && (!models || !model_of || !preds || !pred_offset || !res)))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "milp search batch: NULL argument or negative job count");
    dopt_milp_search_options o;
    if (opt) o = *opt;
    else dopt_milp_search_options_default(&o);
    if (o.milp.threads == 0) o.milp.threads = 1; /* parallel over jobs, not inside one */
    if (!(o.batch_time_limit >= 0))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "milp search batch: batch_time_limit must be >= 0, not NaN (%g)",
                         o.batch_time_limit);
    double deadline = o.batch_time_limit > 0 ? milp_wall_seconds() + o.batch_time_limit : HUGE_VAL;
    int workers = dopt_worker_count(ctx->threads, jobs, 1);
    first_failure *fail = malloc((size_t)workers * sizeof *fail);
    if (!fail) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "milp search batch: out of memory");
    for (int w = 0; w < workers; ++w) fail[w].job = -1, fail[w].msg[0] = 0;
    batch_args a = {models, model_of, pred_offset, preds, &o, res, fail, deadline};
    dopt_parallel_for(ctx, workers, jobs, 1, search_range, &a);
    const first_failure *first = NULL;
    for (int w = 0; w < workers; ++w)
        if (fail[w].job >= 0 && (!first || fail[w].job < first->job)) first = &fail[w];
    dopt_status st = DOPT_OK;
    if (first)
        st = dopt_fail(ctx, res[first->job].call_status, "job %lld: %s", (long long)first->job,
                       first->msg[0] ? first->msg : dopt_status_string(res[first->job].call_status));
    free(fail);
    return st;
}

dopt_status dopt_milp_search_predict(dopt_context *ctx, const dopt_milp *const *models, int64_t count,
                                     int32_t candidates, dopt_milp_predict_fn predict, void *user,
                                     const dopt_milp_search_options *opt, dopt_milp_search_result *best,
                                     int32_t *best_index)
{
    if (!milp_begin(ctx)) return DOPT_ERR_INVALID_ARGUMENT;
    if (count < 0 || candidates < 1 || !predict || (count && (!models || !best)))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "milp search predict: bad arguments (count >= 0, candidates >= 1, predictor)");
    for (int64_t i = 0; i < count; ++i)
        if (!models[i])
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "milp search predict: model %lld is NULL", (long long)i);
    int64_t jobs = count * candidates, total = 0;
    for (int64_t i = 0; i < count; ++i) total += (int64_t)models[i]->n * candidates;
    double *preds = malloc((size_t)(total ? total : 1) * 8), *xs = malloc((size_t)(total ? total : 1) * 8);
    int64_t *model_of = malloc((size_t)(jobs ? jobs : 1) * 8), *offset = malloc((size_t)(jobs ? jobs : 1) * 8);
    dopt_milp_search_result *res = calloc((size_t)(jobs ? jobs : 1), sizeof *res);
    dopt_status st = DOPT_OK;
    if (!preds || !xs || !model_of || !offset || !res) {
        st = dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "milp search predict: out of memory");
        goto done;
    }
    int64_t at = 0;
    for (int64_t i = 0; i < count; ++i) {
        if (predict(user, i, models[i], candidates, preds + at) != 0) {
            st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "the predictor failed on model %lld", (long long)i);
            goto done;
        }
        for (int32_t k = 0; k < candidates; ++k) {
            int64_t j = i * candidates + k;
            model_of[j] = i, offset[j] = at, res[j].milp.x = xs + at;
            at += models[i]->n;
        }
    }
    st = dopt_milp_search_batch(ctx, models, jobs, model_of, preds, offset, opt, res);
    for (int64_t i = 0; st == DOPT_OK && i < count; ++i) {
        int32_t pick = 0;
        for (int32_t k = 1; k < candidates; ++k) {
            if (dopt_milp_result_better(models[i], &res[i * candidates + k].milp, &res[i * candidates + pick].milp))
                pick = k;
        }
        double *x = best[i].milp.x;
        best[i] = res[i * candidates + pick];
        best[i].milp.x = x;
        if (x && best[i].milp.has_solution) memcpy(x, res[i * candidates + pick].milp.x, (size_t)models[i]->n * 8);
        if (best_index) best_index[i] = pick;
    }
done:
    free(preds), free(xs), free(model_of), free(offset), free(res);
    return st;
}
