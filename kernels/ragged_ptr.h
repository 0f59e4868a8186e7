/* The offset arrays of a block-diagonal (ragged) batch, as graph libraries
 * produce them: var_ptr (batch + 1) over the concatenated variables and
 * con_ptr (batch + 1) over the concatenated constraint rows; instance i owns
 * variables [var_ptr[i], var_ptr[i+1]) and rows [con_ptr[i], con_ptr[i+1]).
 * Shared by the Bernoulli surrogate and the diffusion blocks, by the CPU
 * backend (a host loop) and the CUDA one (a check kernel). Precision-free. */
#ifndef DOPT_RAGGED_PTR_H
#define DOPT_RAGGED_PTR_H

#include "dopt_kernel_common.h"

#include <stdio.h>

/* What is wrong with the offset arrays (0: nothing). */
enum {
    DOPT_RAGGED_OK = 0,
    DOPT_RAGGED_VAR_START = 1, /* var_ptr[0] != 0 */
    DOPT_RAGGED_CON_START = 2, /* con_ptr[0] != 0 */
    DOPT_RAGGED_VAR_DECREASES = 3,
    DOPT_RAGGED_CON_DECREASES = 4,
    DOPT_RAGGED_VAR_TOO_MANY = 5, /* var_ptr[batch] > INT32_MAX: col_idx holds global indices in int32 */
    DOPT_RAGGED_CON_TOO_MANY = 6  /* con_ptr[batch] > INT32_MAX: an instance's row count is an int */
};

/* Instance i's step of the offset arrays: a size below 0 is the one error
 * that belongs to an instance (the starts and the total belong to the batch).
 * Overlapping instances cannot be told apart from the caller's mistake, so
 * a decreasing array is an error of the call, not a status of the instance. */
DOPT_KFN int dopt_ragged_step_check(const int64_t *var_ptr, const int64_t *con_ptr, int64_t i)
{
    if (var_ptr[i + 1] < var_ptr[i]) return DOPT_RAGGED_VAR_DECREASES;
    if (con_ptr && con_ptr[i + 1] < con_ptr[i]) return DOPT_RAGGED_CON_DECREASES;
    return DOPT_RAGGED_OK;
}

/* The batch-level checks, from the two ends of each array. */
DOPT_KFN int dopt_ragged_ends_check(int64_t var_first, int64_t var_last, int64_t con_first, int64_t con_last)
{
    if (var_first != 0) return DOPT_RAGGED_VAR_START;
    if (con_first != 0) return DOPT_RAGGED_CON_START;
    if (var_last > INT32_MAX) return DOPT_RAGGED_VAR_TOO_MANY;
    if (con_last > INT32_MAX) return DOPT_RAGGED_CON_TOO_MANY;
    return DOPT_RAGGED_OK;
}

/* The message for a code above (host code of both backends); inst is the
 * instance of a decreasing step, a the first value, bval the second. */
static inline void dopt_ragged_message(char *buf, size_t len, const char *what, int code, long long inst,
                                       long long a, long long bval)
{
    if (code == DOPT_RAGGED_VAR_START)
        snprintf(buf, len, "%s: var_ptr[0] must be 0 (got %lld)", what, a);
    else if (code == DOPT_RAGGED_CON_START)
        snprintf(buf, len, "%s: con_ptr[0] must be 0 (got %lld)", what, a);
    else if (code == DOPT_RAGGED_VAR_TOO_MANY)
        snprintf(buf, len, "%s: var_ptr[batch] = %lld variables in all: at most 2^31 - 1 (col_idx is int32)", what, a);
    else if (code == DOPT_RAGGED_CON_TOO_MANY)
        snprintf(buf, len, "%s: con_ptr[batch] = %lld rows in all: at most 2^31 - 1", what, a);
    else
        snprintf(buf, len, "%s: %s decreases at instance %lld (%lld, then %lld): offsets must be non-decreasing",
                 what, code == DOPT_RAGGED_VAR_DECREASES ? "var_ptr" : "con_ptr", inst, a, bval);
}

#endif
