/* Reading and writing NumPy .npy files (format versions 1.0-3.0, C order).
 * Used by the CLI and the tests; errors come back as messages, never aborts. */
#ifndef DOPT_NPY_H
#define DOPT_NPY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DOPT_NPY_MAX_DIM 8

typedef struct dopt_npy {
    char kind;    /* 'f' float, 'i' signed int, 'u' unsigned, 'b' bool */
    int itemsize; /* bytes per element */
    int ndim;
    int64_t shape[DOPT_NPY_MAX_DIM];
    size_t count; /* product of shape */
    void *data;   /* little-endian native, malloc'ed */
} dopt_npy;

enum { DOPT_NPY_OK = 0, DOPT_NPY_NOT_FOUND = 1, DOPT_NPY_MALFORMED = 2, DOPT_NPY_IO = 3, DOPT_NPY_NOMEM = 4 };

int dopt_npy_read(const char *path, dopt_npy *out, char *err, size_t errlen);
int dopt_npy_write(const char *path, char kind, int itemsize, int ndim, const int64_t *shape, const void *data,
                   char *err, size_t errlen);
void dopt_npy_free(dopt_npy *a);

#ifdef __cplusplus
}
#endif
#endif
