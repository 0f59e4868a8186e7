/* The CPU backend's check of a block batch's offset arrays (host memory
 * there): kernels/ragged_ptr.h's rules over the whole batch, and the sizes
 * the loops need (totals and the largest instance, for the per-worker
 * scratch). Used by the Bernoulli and diffusion block entries. */
#ifndef DOPT_RAGGED_CPU_H
#define DOPT_RAGGED_CPU_H

#include "internal.h"
#include "../../kernels/ragged_ptr.h"

typedef struct {
    int64_t vars, cons; /* var_ptr[batch], con_ptr[batch] */
    int nmax, mmax;     /* the largest instance's variables and rows */
} dopt_ragged_sizes;

/* DOPT_ERR_INVALID_ARGUMENT naming the array and the first bad instance;
 * con_ptr may be NULL (a layout of variables only: diffusion's unguided
 * step and noise). O(batch), serial: cheaper than one instance's work. */
static inline dopt_status dopt_ragged_check_cpu(dopt_context *ctx, const char *what, const int64_t *var_ptr,
                                                const int64_t *con_ptr, int64_t batch, dopt_ragged_sizes *sz)
{
    char msg[256];
    sz->vars = sz->cons = 0;
    sz->nmax = sz->mmax = 0;
    int64_t con_first = con_ptr ? con_ptr[0] : 0, con_last = con_ptr ? con_ptr[batch] : 0;
    int code = dopt_ragged_ends_check(var_ptr[0], var_ptr[batch], con_first, con_last);
    if (code != DOPT_RAGGED_OK) {
        long long a = code == DOPT_RAGGED_VAR_START      ? var_ptr[0]
                      : code == DOPT_RAGGED_CON_START    ? con_first
                      : code == DOPT_RAGGED_VAR_TOO_MANY ? var_ptr[batch]
                                                         : con_last;
        dopt_ragged_message(msg, sizeof msg, what, code, -1, a, 0);
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s", msg);
    }
    sz->vars = var_ptr[batch];
    sz->cons = con_last;
    for (int64_t i = 0; i < batch; ++i) {
        code = dopt_ragged_step_check(var_ptr, con_ptr, i);
        if (code != DOPT_RAGGED_OK) {
            const int64_t *p = code == DOPT_RAGGED_VAR_DECREASES ? var_ptr : con_ptr;
            dopt_ragged_message(msg, sizeof msg, what, code, (long long)i, (long long)p[i], (long long)p[i + 1]);
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s", msg);
        }
        int64_t n = var_ptr[i + 1] - var_ptr[i], m = con_ptr ? con_ptr[i + 1] - con_ptr[i] : 0;
        if (n > sz->nmax) sz->nmax = (int)n;
        if (m > sz->mmax) sz->mmax = (int)m;
    }
    return DOPT_OK;
}

#endif
