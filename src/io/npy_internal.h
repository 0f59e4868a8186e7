/* What the .npz reader and writer share with the .npy ones: parsing one .npy
 * from a file or from memory (a zip member), and building a header. */
#ifndef DOPT_NPY_INTERNAL_H
#define DOPT_NPY_INTERNAL_H

#include <stdio.h>

#include "dopt_npy.h"

/* Either a stream (file != NULL; what is left of it is the array) or a block
 * of memory mem[pos, len). */
typedef struct dopt_npy_source {
    FILE *file;
    const unsigned char *mem;
    size_t pos, len;
} dopt_npy_source;

/* Parses one .npy from src into *out (zeroed first; data malloc'ed; freed
 * on failure). `path` names the array in messages. The source must hold
 * exactly the array: a short one is "truncated", a longer one "trailing
 * bytes". */
dopt_status dopt_npy_parse(dopt_context *ctx, const char *path, dopt_npy_source *src, dopt_npy *out);

/* The checks of dopt_npy_write's arguments; *count = the product of shape. */
dopt_status dopt_npy_check_array(dopt_context *ctx, const char *path, char kind, int itemsize, int ndim,
                                 const int64_t *shape, const void *data, size_t *count);

/* Flag of the _ex functions: also fixed-width strings, which the public
 * readers refuse (their callers expect numbers). Reading: kind 'S' (bytes,
 * itemsize = characters) or 'U' (UCS-4, itemsize = 4 x characters, native
 * order), 1 to 256 characters; writing: kind 'S' only. scipy.sparse.save_npz
 * stores a matrix's format as such a string (b'csr'). Internal: the CLI's
 * sparse inputs and outputs. */
#define DOPT_NPY_ALLOW_STRINGS 1
dopt_status dopt_npy_parse_ex(dopt_context *ctx, const char *path, dopt_npy_source *src, dopt_npy *out, int flags);
dopt_status dopt_npy_check_array_ex(dopt_context *ctx, const char *path, char kind, int itemsize, int ndim,
                                    const int64_t *shape, const void *data, size_t *count, int flags);
/* dopt_npz_read / dopt_npz_write (dopt_npz.h) with the flags above. */
struct dopt_npz;
struct dopt_npz_entry;
dopt_status dopt_npz_read_ex(dopt_context *ctx, const char *path, struct dopt_npz *out, int flags);
dopt_status dopt_npz_write_ex(dopt_context *ctx, const char *path, int64_t count, const struct dopt_npz_entry *entries,
                              int flags);

/* Bytes a header can take: 10 of preamble, a dict of at most 512, padding
 * to 64. */
#define DOPT_NPY_HEADER_MAX 640
/* Writes the version 1.0 header (preamble, dict, padding, newline) of an
 * array into buf (DOPT_NPY_HEADER_MAX bytes) and returns its length, a
 * multiple of 64. Arguments as checked by dopt_npy_check_array. */
size_t dopt_npy_header(char kind, int itemsize, int ndim, const int64_t *shape, char *buf);

#endif
