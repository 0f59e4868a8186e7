/* The .npz side of the ragged commands (`dopt qp solve --ragged`, `dopt ilp
 * solve --ragged`): size arrays, concatenated data, incoming gradients and
 * the default output path, checked the same way for both, every failure a
 * message naming the key (cli_ragged_io.c). */
#ifndef DOPT_CLI_RAGGED_IO_H
#define DOPT_CLI_RAGGED_IO_H

#include "cli.h"
#include "dopt_npz.h"

/* "DIR-of-IN/out.npz" (or "out.npz") into buf. */
void cli_ragged_default_out(char *buf, size_t size, const char *in);

/* The size array `key`: present, 1-D, of an integer dtype (int32 is the
 * format; any other integer type is read when its values are in range),
 * length *B (*B < 0: this one sets it), values in [lo, hi]. Copied into *out
 * (int32, malloc'd, B + 1 entries). `needs` completes "IN has no array 'k'
 * (...)". 1 done, 0 failed (reported). */
int cli_ragged_sizes(const dopt_npz *z, const char *in, const char *key, int32_t lo, int32_t hi, const char *needs,
                     int64_t *B, int32_t **out);

/* The concatenated float array `key`: float32 or float64, the same as the
 * arrays read before it (*dt < 0: not fixed yet; set here), 1-D with `want`
 * values. NULL when absent (*bad = 0 for an optional key; a required one is
 * reported, *bad = 1) or bad (*bad = 1, reported). */
const dopt_npy *cli_ragged_data(const dopt_npz *z, const char *in, const char *key, int required, int64_t want,
                                const char *needs, int *dt, int *bad);

/* An incoming gradient file (named by option `what`): a 1-D float .npy of
 * `want` values, converted to dt (malloc'd); NULL on failure (reported). */
void *cli_ragged_grad(const char *path, const char *what, int64_t want, dopt_dtype dt);

#endif
