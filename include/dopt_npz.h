/* dopt: reading and writing NumPy .npz archives (what np.savez and
 * np.savez_compressed write: a zip of .npy members). The input and output
 * format of the CLI's ragged batches (`dopt qp solve --ragged IN.npz`).
 * Part of the public API; include dopt.h (the umbrella) or this header.
 *
 * Host only, like dopt_npy.h: paths and arrays are host memory whatever the
 * context's backend. Failures are reported through the context:
 * DOPT_ERR_INVALID_ARGUMENT for a file that is missing, not a zip, truncated,
 * or holds a member that is not a valid .npy (the message names the path and
 * the member), DOPT_ERR_UNSUPPORTED for a compressed member in a build
 * without zlib, DOPT_ERR_OUT_OF_MEMORY. */
#ifndef DOPT_NPZ_H
#define DOPT_NPZ_H

#include "dopt_npy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An archive read into memory: count arrays, names[i] the member name
 * without its ".npy" suffix (the key np.load gives). */
typedef struct dopt_npz {
    int64_t count;
    char **names;
    dopt_npy *arrays;
} dopt_npz;

/* Reads every member of path into *out (zeroed first; free with
 * dopt_npz_free; empty after a failure). Stored and (with zlib) deflated
 * members, zip64 archives. A name twice is invalid. */
DOPT_API dopt_status dopt_npz_read(dopt_context *ctx, const char *path, dopt_npz *out);
/* The array named `name`, or NULL when the archive has none. */
DOPT_API const dopt_npy *dopt_npz_find(const dopt_npz *z, const char *name);
/* Frees everything z holds (z may be NULL); z is left empty. */
DOPT_API void dopt_npz_free(dopt_npz *z);

/* One array to write: as the arguments of dopt_npy_write, and its name
 * (letters, digits, '_', '-', '.'; stored as name + ".npy"). */
typedef struct dopt_npz_entry {
    const char *name;
    char kind;
    int itemsize;
    int ndim;
    const int64_t *shape;
    const void *data;
} dopt_npz_entry;

/* Writes count arrays as an uncompressed archive (what np.savez writes;
 * np.load reads it). Every entry is checked before the file is created;
 * names must be distinct. */
DOPT_API dopt_status dopt_npz_write(dopt_context *ctx, const char *path, int64_t count,
                                    const dopt_npz_entry *entries);

#ifdef __cplusplus
}
#endif
#endif
