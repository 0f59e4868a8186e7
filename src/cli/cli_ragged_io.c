/* The .npz side of the ragged commands (cli_ragged_io.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_layer_input.h"
#include "cli_ragged_io.h"

void cli_ragged_default_out(char *buf, size_t size, const char *in)
{
    const char *slash = strrchr(in, '/');
    if (!slash) snprintf(buf, size, "out.npz");
    else snprintf(buf, size, "%.*s/out.npz", (int)(slash - in), in);
}

int cli_ragged_sizes(const dopt_npz *z, const char *in, const char *key, int32_t lo, int32_t hi, const char *needs,
                     int64_t *B, int32_t **out)
{
    const dopt_npy *a = dopt_npz_find(z, key);
    if (!a) return fprintf(stderr, "dopt: %s has no array '%s' (%s)\n", in, key, needs), 0;
    if ((a->kind != 'i' && a->kind != 'u') || a->ndim != 1)
        return fprintf(stderr, "dopt: %s: '%s' must be int32, 1-D (B,); got %s with %d dimension(s)\n", in, key,
                       cli_layer_dtype_name(a), a->ndim),
               0;
    if (*B >= 0 && a->shape[0] != *B)
        return fprintf(stderr, "dopt: %s: '%s' has %lld values but 'n' has %lld (one per instance)\n", in, key,
                       (long long)a->shape[0], (long long)*B),
               0;
    *B = a->shape[0];
    *out = (int32_t *)malloc(sizeof(int32_t) * (size_t)(*B + 1));
    if (!*out) return fprintf(stderr, "dopt: out of memory reading '%s'\n", key), 0;
    for (int64_t i = 0; i < *B; ++i) {
        /* as a double: exact for every value in range, and any value out of
         * range (up to 2^64) still compares as out of range */
        double v = cli_npy_value(a, (size_t)i);
        if (!(v >= lo && v <= hi))
            return fprintf(stderr, "dopt: %s: '%s'[%lld] = %.0f; need %d <= %s <= %d\n", in, key, (long long)i, v,
                           (int)lo, key, (int)hi),
                   0;
        (*out)[i] = (int32_t)v;
    }
    return 1;
}

const dopt_npy *cli_ragged_data(const dopt_npz *z, const char *in, const char *key, int required, int64_t want,
                                const char *needs, int *dt, int *bad)
{
    const dopt_npy *a = dopt_npz_find(z, key);
    *bad = 0;
    if (!a) {
        if (required) {
            fprintf(stderr, "dopt: %s has no array '%s' (%s)\n", in, key, needs);
            *bad = 1;
        }
        return NULL;
    }
    *bad = 1;
    if (a->kind != 'f' || (a->itemsize != 4 && a->itemsize != 8))
        return fprintf(stderr, "dopt: %s: '%s' must be float32 or float64, got %s\n", in, key, cli_layer_dtype_name(a)),
               NULL;
    int mine = a->itemsize == 8 ? DOPT_FLOAT64 : DOPT_FLOAT32;
    if (*dt >= 0 && mine != *dt)
        return fprintf(stderr, "dopt: %s: '%s' is %s but the arrays before it are %s (one float dtype for all)\n", in,
                       key, mine == DOPT_FLOAT64 ? "float64" : "float32", *dt == DOPT_FLOAT64 ? "float64" : "float32"),
               NULL;
    *dt = mine;
    if (a->ndim != 1 || (int64_t)a->count != want)
        return fprintf(stderr,
                       "dopt: %s: '%s' must be 1-D with %lld values (from the sizes), has %lld value(s) in %d "
                       "dimension(s)\n",
                       in, key, (long long)want, (long long)a->count, a->ndim),
               NULL;
    *bad = 0;
    return a;
}

void *cli_ragged_grad(const char *path, const char *what, int64_t want, dopt_dtype dt)
{
    dopt_npy a;
    if (!cli_npy_read(path, &a)) return NULL;
    void *out = NULL;
    if (a.ndim != 1 || (int64_t)a.count != want || a.kind != 'f')
        fprintf(stderr, "dopt: %s (%s) must be a 1-D float array of %lld values (the sum of the sizes), got %s with "
                "%lld value(s)\n",
                path, what, (long long)want, cli_layer_dtype_name(&a), (long long)a.count);
    else
        out = cli_to_real(&a, dt, path);
    dopt_npy_free(&a);
    return out;
}
