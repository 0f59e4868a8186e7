/* CSR matrices for `dopt qp solve` with sparse inputs: reading the .npz
 * that scipy.sparse.save_npz writes (keys data, indices, indptr, shape,
 * format), checking it, making it canonical; building one pattern for a
 * batch of dense matrices (the union of their nonzeros); writing a
 * gradient on a pattern as a scipy-loadable .npz. Every message names the
 * file as the user gave it. */
#ifndef DOPT_CLI_CSR_H
#define DOPT_CLI_CSR_H

#include <stdint.h>

#include "cli.h"

/* A pattern in canonical CSR (indices strictly increasing in each row) and
 * its values: `copies` value sets of nnz each (1 when shared by the batch,
 * else the batch size), in the pattern's order, as doubles. f32: every value
 * came from float32 data (the layer may then compute in float32). */
typedef struct {
    int64_t rows, cols, nnz;
    int64_t *indptr;  /* rows + 1 */
    int32_t *indices; /* nnz */
    double *values;   /* copies * nnz */
    int64_t copies;
    int f32;
} cli_csr;

/* Reads path (scipy's CSR .npz; format 'csr' as a bytes or unicode scalar,
 * shape (2,) integers, indptr and indices int32/int64, data float32/float64
 * or integers exact in float64). Indices unsorted within a row or repeated
 * are made canonical as scipy's sum_duplicates does (sorted, repeats summed;
 * a note on stderr unless quiet). 1 done; 0 with a message naming path. */
int cli_csr_read(const char *path, int quiet, cli_csr *out);

/* The union pattern of a dense (rows, cols) matrix or a batch of them
 * (batch > 0: (batch, rows, cols), one value set per instance) whose
 * row-major values are `dense`: every position nonzero (or NaN) in some
 * instance. 1 done; 0 (out of memory, reported naming path). */
int cli_csr_from_dense(const double *dense, int64_t batch, int64_t rows, int64_t cols, int f32, const char *path,
                       cli_csr *out);

/* Writes values (nnz, of dt) on the pattern of c to path as scipy's CSR
 * .npz (format b'csr', shape int64, indptr int32 when nnz fits else int64,
 * indices int32). 1 done; 0 reported. */
int cli_csr_write(const char *path, const cli_csr *c, dopt_dtype dt, const void *values);

void cli_csr_free(cli_csr *c);

#endif
