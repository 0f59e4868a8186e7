/* Shared host-side pieces of ragged batches (ragged.h). */
#include "ragged.h"

#include <stdlib.h>

dopt_status dopt_ragged_check_sizes(dopt_context *ctx, const char *layer, const char *name, int64_t batch,
                                    const int32_t *sizes, int32_t lo, int32_t hi)
{
    if (!sizes) {
        if (lo <= 0 || batch == 0) return DOPT_OK;
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: %s is NULL (sizes are required)", layer, name);
    }
    for (int64_t i = 0; i < batch; ++i)
        if (sizes[i] < lo || sizes[i] > hi)
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: %s[%lld] = %d, need %d <= %s <= %d", layer, name,
                             (long long)i, sizes[i], lo, name, hi);
    return DOPT_OK;
}

dopt_status dopt_ragged_offsets(dopt_context *ctx, const char *layer, const char *what, int64_t batch,
                                const int32_t *rows, const int32_t *cols, int64_t limit, int64_t *off)
{
    int64_t total = 0;
    for (int64_t i = 0; i < batch; ++i) {
        off[i] = total;
        /* both factors are < 2^31, so their product fits an int64 */
        int64_t count = (int64_t)(rows ? rows[i] : 1) * (int64_t)(cols ? cols[i] : 1);
        if (count > limit - total)
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                             "%s: the concatenated %s exceeds %lld elements at instance %lld", layer, what,
                             (long long)limit, (long long)i);
        total += count;
    }
    off[batch] = total;
    return DOPT_OK;
}

typedef struct {
    double cost;
    int64_t index;
} ragged_key;

static int by_cost_descending(const void *a, const void *b)
{
    const ragged_key *x = (const ragged_key *)a, *y = (const ragged_key *)b;
    int xnan = x->cost != x->cost, ynan = y->cost != y->cost;
    if (xnan != ynan) return xnan - ynan; /* NaN last */
    if (!xnan && x->cost != y->cost) return x->cost > y->cost ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

dopt_status dopt_ragged_order_by_cost(dopt_context *ctx, int64_t batch, const double *cost, int64_t *order)
{
    if (batch <= 0) return DOPT_OK;
    ragged_key *keys = (ragged_key *)malloc(sizeof(ragged_key) * (size_t)batch);
    if (!keys) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "ragged batch: out of memory for the instance order");
    for (int64_t i = 0; i < batch; ++i) {
        keys[i].cost = cost[i];
        keys[i].index = i;
    }
    /* ties are broken by index, so the order is total and qsort's
     * instability cannot show */
    qsort(keys, (size_t)batch, sizeof *keys, by_cost_descending);
    for (int64_t i = 0; i < batch; ++i) order[i] = keys[i].index;
    free(keys);
    return DOPT_OK;
}
