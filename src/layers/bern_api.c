/* Bernoulli surrogate entry points: argument checks, defaults, dispatch. */
#include "internal.h"
#include "backend.h"

#include <math.h>
#include <string.h>

void dopt_bern_options_default(dopt_bern_options *opt)
{
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->estimator = DOPT_BERN_UNBIASED;
    opt->samples = 64;
    opt->seed = 0;
    opt->mu = 1;
    opt->logits = 0;
}

double dopt_bern_mu_schedule(int64_t step, double mu0, double growth, double mu_max)
{
    if (step < 0) step = 0;
    double mu = mu0 * pow(growth, (double)step);
    return mu < mu_max ? mu : mu_max;
}

static dopt_status check_problem(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat)
{
    if (!P) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern: problem is NULL");
    if (P->dtype != DOPT_FLOAT32 && P->dtype != DOPT_FLOAT64)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern: dtype must be DOPT_FLOAT32 or DOPT_FLOAT64");
    if (P->batch < 0 || P->n < 1 || P->m < 0)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern: need batch >= 0, n >= 1, m >= 0 (got %lld, %d, %d)",
                         (long long)P->batch, P->n, P->m);
    if (P->shared & ~0x7u) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern: unknown bits in shared");
    if (P->m > 0 && !P->b) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern: m = %d but b is NULL", P->m);
    /* CSR col_idx / values may be NULL when there are no entries (an empty
     * array's pointer): the backend reads row_ptr, which may live on the
     * device, and gives an instance whose rows have entries status 5 then */
    if (P->m > 0 && !P->A && !P->row_ptr)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "bern: give A dense, or row_ptr, col_idx and values (CSR; col_idx and values may be NULL "
                         "only when no row has entries)");
    if (P->batch > 0 && !xhat) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern: xhat is NULL");
    if (P->batch > 0xFFFFFFFFll)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern: batch above 2^32 (the sample counter is 32-bit)");
    return DOPT_OK;
}

/* The options with defaults filled in, checked; n_exact: the uniform n
 * (for blocks -1: the exact estimator's limit is checked per instance). */
static dopt_status resolve_options(dopt_context *ctx, const dopt_bern_options *opt, int n_exact, dopt_bern_options *o)
{
    dopt_bern_options_default(o);
    if (opt) {
        *o = *opt;
        if (o->samples == 0) o->samples = 64;
        if (o->mu == 0) o->mu = 1;
    }
    if (o->estimator < DOPT_BERN_UNBIASED || o->estimator > DOPT_BERN_EXACT)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern: unknown estimator %d", (int)o->estimator);
    if (o->samples < 1 || o->samples > (1 << 24))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern: samples must be in [1, 2^24], got %d", o->samples);
    if (!(o->mu > 0 && o->mu < INFINITY)) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern: mu must be > 0");
    if (o->estimator == DOPT_BERN_EXACT && n_exact > 16)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "bern: the exact estimator enumerates 2^n points and is limited to n <= 16 (n = %d)", n_exact);
    if (o->estimator == DOPT_BERN_REINFORCE && o->samples < 2)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern: REINFORCE's baseline needs at least 2 samples");
    return DOPT_OK;
}

dopt_status dopt_bern_eval(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat,
                           const dopt_bern_options *opt, dopt_bern_result *res)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    DOPT_TRY(check_problem(ctx, P, xhat));
    dopt_bern_options o;
    DOPT_TRY(resolve_options(ctx, opt, P->n, &o));
    if (!res || (P->batch > 0 && (!res->loss || !res->grad || !res->status)))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern: loss, grad and status outputs are required");
    if (P->batch == 0) return DOPT_OK;
    return DOPT_CALL(ctx, bern_eval, P, xhat, &o, res);
}

dopt_status dopt_bern_round(dopt_context *ctx, const dopt_bern_problem *P, const void *xhat, void *x, int32_t *status)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    DOPT_TRY(check_problem(ctx, P, xhat));
    if (P->batch > 0 && (!x || !status))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern round: x and status outputs are required");
    if (P->batch == 0) return DOPT_OK;
    return DOPT_CALL(ctx, bern_round, P, xhat, x, status);
}

/* What the host can check of a block batch without reading its arrays
 * (they may live on the device): the backend checks the offsets. */
static dopt_status check_blocks(dopt_context *ctx, const dopt_bern_blocks *P, const void *xhat)
{
    if (!P) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern blocks: problem is NULL");
    if (P->dtype != DOPT_FLOAT32 && P->dtype != DOPT_FLOAT64)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern blocks: dtype must be DOPT_FLOAT32 or DOPT_FLOAT64");
    if (P->batch < 0) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern blocks: batch < 0");
    if (P->batch > 0xFFFFFFFFll)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "bern blocks: batch above 2^32 (the sample counter is 32-bit)");
    if (P->batch == 0) return DOPT_OK;
    if (!P->var_ptr || !P->con_ptr || !P->row_ptr)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "bern blocks: var_ptr, con_ptr (batch + 1) and row_ptr (con_ptr[batch] + 1) are required");
    if (!xhat) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern blocks: xhat is NULL");
    return DOPT_OK;
}

dopt_status dopt_bern_eval_blocks(dopt_context *ctx, const dopt_bern_blocks *P, const void *xhat,
                                  const dopt_bern_options *opt, dopt_bern_result *res)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    DOPT_TRY(check_blocks(ctx, P, xhat));
    dopt_bern_options o;
    DOPT_TRY(resolve_options(ctx, opt, -1, &o));
    if (!res || (P->batch > 0 && (!res->loss || !res->grad || !res->status)))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern blocks: loss, grad and status outputs are required");
    if (P->batch == 0) return DOPT_OK;
    return DOPT_CALL(ctx, bern_eval_blocks, P, xhat, &o, res);
}

dopt_status dopt_bern_round_blocks(dopt_context *ctx, const dopt_bern_blocks *P, const void *xhat, void *x,
                                   int32_t *status)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    ctx->error[0] = 0;
    DOPT_TRY(check_blocks(ctx, P, xhat));
    if (P->batch > 0 && (!x || !status))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "bern round blocks: x and status outputs are required");
    if (P->batch == 0) return DOPT_OK;
    return DOPT_CALL(ctx, bern_round_blocks, P, xhat, x, status);
}
