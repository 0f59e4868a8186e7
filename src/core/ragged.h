/* Host-side helpers shared by the ragged (heterogeneous) batches of the QP
 * and ILP layers: size checks naming the instance, offsets of concatenated
 * arrays by prefix sums with overflow checks, and the longest-processing-
 * time-first instance order the CPU loops use. Every array here is HOST
 * memory. ragged.c */
#ifndef DOPT_RAGGED_H
#define DOPT_RAGGED_H

#include "internal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Checks lo <= sizes[i] <= hi for every instance. sizes NULL means "all 0"
 * (allowed only when lo <= 0). On the first bad one: DOPT_ERR_INVALID_ARGUMENT
 * with "<layer>: <name>[i] = v, need lo <= <name> <= hi" recorded on ctx. */
dopt_status dopt_ragged_check_sizes(dopt_context *ctx, const char *layer, const char *name, int64_t batch,
                                    const int32_t *sizes, int32_t lo, int32_t hi);

/* Offsets of a concatenated array whose instance i holds rows[i] * cols[i]
 * elements (rows or cols NULL: that factor is 1; use a size array for both
 * to get n_i^2). off has batch + 1 entries: off[i] is where instance i
 * starts, off[batch] the total. Sizes must already be checked non-negative.
 * A total beyond `limit` elements (and so any int64 overflow: limit is at
 * most INT64_MAX) is DOPT_ERR_INVALID_ARGUMENT naming `what`. */
dopt_status dopt_ragged_offsets(dopt_context *ctx, const char *layer, const char *what, int64_t batch,
                                const int32_t *rows, const int32_t *cols, int64_t limit, int64_t *off);

/* order (batch entries) = the instances sorted by cost, largest first, ties
 * in index order (so the order, and with it everything computed from it,
 * does not depend on the sort's internals). With dynamic chunks of a
 * parallel loop this is the LPT rule: the big instances start first and the
 * small ones fill the gaps at the end. cost may hold any finite or infinite
 * values (NaN sorts last). DOPT_ERR_OUT_OF_MEMORY (recorded) when the sort's
 * temporary cannot be allocated. */
dopt_status dopt_ragged_order_by_cost(dopt_context *ctx, int64_t batch, const double *cost, int64_t *order);

#ifdef __cplusplus
}
#endif
#endif
