/* dopt: reading and writing NumPy .npy files (format versions 1.0-3.0, C
 * order), the array format of the `dopt` command line and handy for moving
 * batches between dopt and Python. Part of the public API; include dopt.h
 * (the umbrella) or this header.
 *
 * Host only: paths and arrays are host memory whatever the context's
 * backend (a CUDA context works too). Failures are reported through the
 * context like every call: DOPT_ERR_INVALID_ARGUMENT for a file that is
 * missing, unreadable, malformed or truncated, or cannot be written (the
 * message starts with the path and says which), DOPT_ERR_OUT_OF_MEMORY. */
#ifndef DOPT_NPY_H
#define DOPT_NPY_H

#include "dopt_core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DOPT_NPY_MAX_DIM 8

typedef struct dopt_npy {
    char kind;    /* 'f' float, 'i' signed int, 'u' unsigned, 'b' bool */
    int itemsize; /* bytes per element: 1, 2, 4 or 8 (floats 4 or 8) */
    int ndim;
    int64_t shape[DOPT_NPY_MAX_DIM];
    size_t count; /* product of shape */
    void *data;   /* host, count * itemsize bytes, native (little-endian) order; malloc'ed */
} dopt_npy;

/* Reads path into *out (zeroed first; out->data allocated by the call, free
 * with dopt_npy_free; NULL after a failure). Big-endian data is swapped. The
 * file must hold exactly the data its header describes: a header claiming
 * more is reported as truncated before anything is allocated for the data. */
DOPT_API dopt_status dopt_npy_read(dopt_context *ctx, const char *path, dopt_npy *out);
/* Writes an array of `kind` ('f', 'i', 'u', 'b') and itemsize bytes, shape
 * (ndim values, 0 <= ndim <= DOPT_NPY_MAX_DIM), data host memory in C order
 * (may be NULL when the shape has a 0), as a version 1.0 .npy file. */
DOPT_API dopt_status dopt_npy_write(dopt_context *ctx, const char *path, char kind, int itemsize, int ndim,
                                    const int64_t *shape, const void *data);
/* Frees a->data (a may be NULL); a is left empty. */
DOPT_API void dopt_npy_free(dopt_npy *a);

#ifdef __cplusplus
}
#endif
#endif
