/* CSR matrices of `dopt qp solve` (cli_csr.h): scipy's .npz in and out,
 * checks with messages naming the file, canonical form, dense batches to
 * one union pattern. */
#define _POSIX_C_SOURCE 200809L /* sysconf in cli_layer_input.h */
#include "cli_csr.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_layer_input.h"
#include "npy_internal.h" /* the npz reader and writer that accept scipy's format string */

void cli_csr_free(cli_csr *c)
{
    if (!c) return;
    free(c->indptr);
    free(c->indices);
    free(c->values);
    memset(c, 0, sizeof *c);
}

/* An integer array's entry i as int64 (the caller checked the kind). An
 * unsigned 64-bit value beyond INT64_MAX comes back as -1: out of range for
 * every use here. */
static int64_t int_entry(const dopt_npy *a, size_t i)
{
    const unsigned char *p = (const unsigned char *)a->data + i * (size_t)a->itemsize;
    if (a->kind == 'u') {
        uint64_t u = 0;
        memcpy(&u, p, (size_t)a->itemsize); /* little-endian host (the reader's native order) */
        return u > (uint64_t)INT64_MAX ? -1 : (int64_t)u;
    }
    switch (a->itemsize) {
    case 1: return *(const int8_t *)p;
    case 2: { int16_t v; memcpy(&v, p, 2); return v; }
    case 4: { int32_t v; memcpy(&v, p, 4); return v; }
    default: { int64_t v; memcpy(&v, p, 8); return v; }
    }
}

static int is_int_array(const dopt_npy *a) { return a->kind == 'i' || a->kind == 'u'; }

/* The member `key` or NULL with a message (scipy always writes it). */
static const dopt_npy *member(const dopt_npz *z, const char *path, const char *key)
{
    const dopt_npy *a = dopt_npz_find(z, key);
    if (!a)
        fprintf(stderr, "dopt: %s: no '%s' entry; expected a CSR matrix as scipy.sparse.save_npz writes it "
                        "(keys data, indices, indptr, shape, format)\n", path, key);
    return a;
}

/* The format string (bytes or UCS-4, a scalar or one element) into buf. */
static int format_string(const dopt_npy *a, const char *path, char *buf, size_t size)
{
    if ((a->kind != 'S' && a->kind != 'U') || a->count != 1 || a->ndim > 1) {
        fprintf(stderr, "dopt: %s: 'format' must be one string such as b'csr'\n", path);
        return 0;
    }
    const unsigned char *p = (const unsigned char *)a->data;
    size_t chars = a->kind == 'U' ? (size_t)a->itemsize / 4 : (size_t)a->itemsize, len = 0;
    for (size_t c = 0; c < chars && len + 1 < size; ++c) {
        uint32_t code = p[c];
        if (a->kind == 'U') memcpy(&code, p + 4 * c, 4);
        if (code == 0) break; /* NumPy pads short strings with NULs */
        buf[len++] = code < 128 && code >= 32 ? (char)code : '?';
    }
    buf[len] = 0;
    return 1;
}

/* One dimension of a 1-D integer member: its length must be `want` (< 0: any). */
static int int_vector(const dopt_npy *a, const char *path, const char *key, int64_t want)
{
    if (!is_int_array(a) || a->ndim != 1) {
        fprintf(stderr, "dopt: %s: '%s' must be a 1-D integer array (int32 or int64)\n", path, key);
        return 0;
    }
    if (want >= 0 && a->shape[0] != want) {
        fprintf(stderr, "dopt: %s: '%s' has %lld entries; expected %lld\n", path, key, (long long)a->shape[0],
                (long long)want);
        return 0;
    }
    return 1;
}

typedef struct {
    int32_t col;
    int64_t at; /* position in the file's row: ties keep the file's order */
} col_at;

static int by_col_then_at(const void *pa, const void *pb)
{
    const col_at *a = (const col_at *)pa, *b = (const col_at *)pb;
    if (a->col != b->col) return a->col < b->col ? -1 : 1;
    return a->at < b->at ? -1 : a->at > b->at;
}

/* Sorts each row by column and sums repeated columns (in the file's order),
 * as scipy's sum_duplicates; *changed tells whether anything moved. */
static int canonicalize(cli_csr *c, const char *path, int *changed)
{
    *changed = 0;
    int64_t longest = 0;
    for (int64_t r = 0; r < c->rows; ++r) {
        int64_t len = c->indptr[r + 1] - c->indptr[r];
        if (len > longest) longest = len;
        for (int64_t e = c->indptr[r] + 1; e < c->indptr[r + 1]; ++e)
            if (c->indices[e] <= c->indices[e - 1]) *changed = 1;
    }
    if (!*changed) return 1;
    col_at *order = (col_at *)malloc(sizeof *order * (size_t)(longest ? longest : 1));
    double *row_vals = (double *)malloc(sizeof *row_vals * (size_t)(longest ? longest : 1));
    if (!order || !row_vals) {
        free(order);
        free(row_vals);
        fprintf(stderr, "dopt: %s: out of memory sorting the indices\n", path);
        return 0;
    }
    int64_t out = 0, start = 0;
    for (int64_t r = 0; r < c->rows; ++r) {
        int64_t end = c->indptr[r + 1], len = end - start;
        for (int64_t e = 0; e < len; ++e) {
            order[e].col = c->indices[start + e];
            order[e].at = e;
            row_vals[e] = c->values[start + e];
        }
        qsort(order, (size_t)len, sizeof *order, by_col_then_at);
        c->indptr[r] = out;
        for (int64_t e = 0; e < len; ++e) {
            double v = row_vals[order[e].at];
            if (e > 0 && order[e].col == order[e - 1].col) {
                c->values[out - 1] += v;
                continue;
            }
            c->indices[out] = order[e].col;
            c->values[out++] = v;
        }
        start = end;
    }
    c->indptr[c->rows] = out;
    c->nnz = out;
    free(order);
    free(row_vals);
    return 1;
}

static int read_checked(const dopt_npz *z, const char *path, int quiet, cli_csr *out)
{
    const dopt_npy *fmt, *shape, *indptr, *indices, *data;
    if (!(fmt = member(z, path, "format")) || !(shape = member(z, path, "shape")) ||
        !(indptr = member(z, path, "indptr")) || !(indices = member(z, path, "indices")) ||
        !(data = member(z, path, "data")))
        return 0;
    char name[64];
    if (!format_string(fmt, path, name, sizeof name)) return 0;
    if (strcmp(name, "csr") != 0) {
        fprintf(stderr, "dopt: %s: format '%s'; only CSR matrices are read (save A.tocsr() with "
                        "scipy.sparse.save_npz)\n", path, name);
        return 0;
    }
    if (!int_vector(shape, path, "shape", 2)) return 0;
    int64_t rows = int_entry(shape, 0), cols = int_entry(shape, 1);
    if (rows < 0 || cols < 0 || rows > INT32_MAX || cols > INT32_MAX) {
        fprintf(stderr, "dopt: %s: shape (%lld, %lld) is negative or beyond 2^31 - 1\n", path, (long long)rows,
                (long long)cols);
        return 0;
    }
    if (!int_vector(indptr, path, "indptr", rows + 1) || !int_vector(indices, path, "indices", -1)) return 0;
    int64_t nnz = indices->shape[0];
    if (data->ndim != 1 || data->shape[0] != nnz) {
        fprintf(stderr, "dopt: %s: 'data' has shape", path);
        for (int d = 0; d < data->ndim; ++d) fprintf(stderr, "%s%lld", d ? "x" : " ", (long long)data->shape[d]);
        fprintf(stderr, " but 'indices' has %lld entries (one value per stored entry)\n", (long long)nnz);
        return 0;
    }
    if (!cli_layer_dtype_ok(data, path)) return 0;
    if (data->kind != 'f' && !quiet)
        fprintf(stderr, "dopt: note: %s: 'data' is %s; converted to float64\n", path, cli_layer_dtype_name(data));
    out->rows = rows;
    out->cols = cols;
    out->nnz = nnz;
    out->copies = 1;
    out->f32 = data->kind == 'f' && data->itemsize == 4;
    out->indptr = (int64_t *)malloc(sizeof(int64_t) * (size_t)(rows + 1));
    out->indices = (int32_t *)malloc(sizeof(int32_t) * (size_t)(nnz ? nnz : 1));
    out->values = (double *)malloc(sizeof(double) * (size_t)(nnz ? nnz : 1));
    if (!out->indptr || !out->indices || !out->values) {
        fprintf(stderr, "dopt: %s: out of memory\n", path);
        return 0;
    }
    for (int64_t r = 0; r <= rows; ++r) out->indptr[r] = int_entry(indptr, (size_t)r);
    if (out->indptr[0] != 0) {
        fprintf(stderr, "dopt: %s: indptr[0] is %lld; it must be 0\n", path, (long long)out->indptr[0]);
        return 0;
    }
    for (int64_t r = 0; r < rows; ++r)
        if (out->indptr[r + 1] < out->indptr[r]) {
            fprintf(stderr, "dopt: %s: indptr is not monotone: indptr[%lld] = %lld < indptr[%lld] = %lld (row %lld)\n",
                    path, (long long)(r + 1), (long long)out->indptr[r + 1], (long long)r,
                    (long long)out->indptr[r], (long long)r);
            return 0;
        }
    if (out->indptr[rows] != nnz) {
        fprintf(stderr, "dopt: %s: indptr[-1] = %lld but 'indices' and 'data' have %lld entries\n", path,
                (long long)out->indptr[rows], (long long)nnz);
        return 0;
    }
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t e = out->indptr[r]; e < out->indptr[r + 1]; ++e) {
            int64_t col = int_entry(indices, (size_t)e);
            if (col < 0 || col >= cols) {
                fprintf(stderr, "dopt: %s: indices[%lld] = %lld (row %lld) is out of range [0, %lld)\n", path,
                        (long long)e, (long long)col, (long long)r, (long long)cols);
                return 0;
            }
            out->indices[e] = (int32_t)col;
        }
    for (int64_t e = 0; e < nnz; ++e) out->values[e] = cli_npy_value(data, (size_t)e);
    int changed;
    if (!canonicalize(out, path, &changed)) return 0;
    if (changed && !quiet)
        fprintf(stderr, "dopt: note: %s: indices sorted within rows and repeated entries summed (scipy's "
                        "canonical CSR); %lld stored entries remain\n", path, (long long)out->nnz);
    return 1;
}

int cli_csr_read(const char *path, int quiet, cli_csr *out)
{
    memset(out, 0, sizeof *out);
    dopt_context *ctx = NULL;
    if (dopt_context_create(&ctx, DOPT_BACKEND_CPU) != DOPT_OK) {
        fprintf(stderr, "dopt: %s: cannot create a context to read it\n", path);
        dopt_context_destroy(ctx);
        return 0;
    }
    dopt_npz z;
    int ok = dopt_npz_read_ex(ctx, path, &z, DOPT_NPY_ALLOW_STRINGS) == DOPT_OK;
    if (!ok) fprintf(stderr, "dopt: %s\n", dopt_context_last_error(ctx)); /* the message names the path */
    dopt_context_destroy(ctx);
    if (ok) {
        ok = read_checked(&z, path, quiet, out);
        dopt_npz_free(&z);
    }
    if (!ok) cli_csr_free(out);
    return ok;
}

int cli_csr_from_dense(const double *dense, int64_t batch, int64_t rows, int64_t cols, int f32, const char *path,
                       cli_csr *out)
{
    memset(out, 0, sizeof *out);
    int64_t copies = batch > 0 ? batch : 1;
    size_t plane = (size_t)rows * (size_t)cols;
    out->rows = rows;
    out->cols = cols;
    out->copies = copies;
    out->f32 = f32;
    out->indptr = (int64_t *)malloc(sizeof(int64_t) * (size_t)(rows + 1));
    if (!out->indptr) goto oom;
    int64_t nnz = 0;
    out->indptr[0] = 0;
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c)
            for (int64_t b = 0; b < copies; ++b)
                if (dense[(size_t)b * plane + (size_t)r * (size_t)cols + (size_t)c] != 0) { /* NaN too */
                    ++nnz;
                    break;
                }
        out->indptr[r + 1] = nnz;
    }
    out->nnz = nnz;
    out->indices = (int32_t *)malloc(sizeof(int32_t) * (size_t)(nnz ? nnz : 1));
    out->values = (double *)malloc(sizeof(double) * (size_t)(nnz ? nnz : 1) * (size_t)copies);
    if (!out->indices || !out->values) goto oom;
    int64_t e = 0;
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
            int any = 0;
            for (int64_t b = 0; b < copies && !any; ++b)
                any = dense[(size_t)b * plane + (size_t)r * (size_t)cols + (size_t)c] != 0;
            if (!any) continue;
            out->indices[e] = (int32_t)c;
            for (int64_t b = 0; b < copies; ++b)
                out->values[(size_t)b * (size_t)nnz + (size_t)e] =
                    dense[(size_t)b * plane + (size_t)r * (size_t)cols + (size_t)c];
            ++e;
        }
    return 1;
oom:
    fprintf(stderr, "dopt: %s: out of memory building its sparsity pattern\n", path);
    cli_csr_free(out);
    return 0;
}

int cli_csr_write(const char *path, const cli_csr *c, dopt_dtype dt, const void *values)
{
    int small = c->nnz <= INT32_MAX;
    void *indptr = malloc((small ? 4 : 8) * (size_t)(c->rows + 1));
    if (!indptr) {
        fprintf(stderr, "dopt: %s: out of memory\n", path);
        return 0;
    }
    for (int64_t r = 0; r <= c->rows; ++r) {
        if (small) ((int32_t *)indptr)[r] = (int32_t)c->indptr[r];
        else ((int64_t *)indptr)[r] = c->indptr[r];
    }
    const int64_t shape_value[2] = {c->rows, c->cols}, two = 2, ptr_len = c->rows + 1, nnz = c->nnz;
    /* scipy's keys and order; format b'csr' as NumPy stores a bytes scalar */
    const dopt_npz_entry entries[5] = {
        {"indices", 'i', 4, 1, &nnz, c->indices},
        {"indptr", 'i', small ? 4 : 8, 1, &ptr_len, indptr},
        {"format", 'S', 3, 0, NULL, "csr"},
        {"shape", 'i', 8, 1, &two, shape_value},
        {"data", 'f', dt == DOPT_FLOAT64 ? 8 : 4, 1, &nnz, values},
    };
    dopt_context *ctx = NULL;
    int ok = dopt_context_create(&ctx, DOPT_BACKEND_CPU) == DOPT_OK &&
             dopt_npz_write_ex(ctx, path, 5, entries, DOPT_NPY_ALLOW_STRINGS) == DOPT_OK;
    if (!ok) fprintf(stderr, "dopt: %s\n", ctx ? dopt_context_last_error(ctx) : "cannot create a context");
    dopt_context_destroy(ctx);
    free(indptr);
    return ok;
}
