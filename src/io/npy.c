/* .npy reader and writer (include/dopt_npy.h). The header is a Python dict
 * literal; we parse exactly the three keys NumPy writes and reject anything
 * we cannot map. Every failure is a message in the context. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "npy_internal.h"

static dopt_status fail(dopt_context *ctx, dopt_status status, const char *path, const char *what)
{
    return dopt_fail(ctx, status, "%s: %s", path, what);
}

static const char *find_key(const char *hdr, const char *key)
{
    const char *p = strstr(hdr, key);
    if (!p) return NULL;
    p += strlen(key);
    while (*p == ' ' || *p == '\'' || *p == '"') ++p;
    if (*p != ':') return NULL;
    ++p;
    while (*p == ' ') ++p;
    return p;
}

static void byteswap(unsigned char *d, size_t count, int size)
{
    for (size_t i = 0; i < count; ++i, d += size)
        for (int a = 0, b = size - 1; a < b; ++a, --b) {
            unsigned char t = d[a];
            d[a] = d[b];
            d[b] = t;
        }
}

/* Bytes between the current position and the end of f, or -1 when the
 * stream cannot tell (not seekable): the caller then finds out by reading. */
static long long bytes_left(FILE *f)
{
    long here = ftell(f);
    if (here < 0 || fseek(f, 0, SEEK_END) != 0) return -1;
    long end = ftell(f);
    if (end < 0 || fseek(f, here, SEEK_SET) != 0) return -1;
    return (long long)end - here;
}

/* Reads up to n bytes from the source; returns how many it read. */
static size_t src_read(dopt_npy_source *src, void *dst, size_t n)
{
    if (src->file) return fread(dst, 1, n, src->file);
    size_t have = src->len - src->pos;
    if (n > have) n = have;
    if (n) memcpy(dst, src->mem + src->pos, n);
    src->pos += n;
    return n;
}

/* Bytes the source has left, or -1 when a stream cannot tell. */
static long long src_left(dopt_npy_source *src)
{
    return src->file ? bytes_left(src->file) : (long long)(src->len - src->pos);
}

dopt_status dopt_npy_parse(dopt_context *ctx, const char *path, dopt_npy_source *src, dopt_npy *out)
{
    return dopt_npy_parse_ex(ctx, path, src, out, 0);
}

/* A fixed-width string dtype ('S' bytes, 'U' UCS-4) of 1..256 characters,
 * accepted only with DOPT_NPY_ALLOW_STRINGS; *bytes is the item size. */
static int string_dtype(char kind, int chars, int *bytes)
{
    if ((kind != 'S' && kind != 'U') || chars < 1 || chars > 256) return 0;
    *bytes = kind == 'U' ? 4 * chars : chars;
    return 1;
}

dopt_status dopt_npy_parse_ex(dopt_context *ctx, const char *path, dopt_npy_source *src, dopt_npy *out, int flags)
{
    memset(out, 0, sizeof *out);
    unsigned char pre[12];
    const dopt_status bad = DOPT_ERR_INVALID_ARGUMENT;
    dopt_status st = bad;
    char *hdr = NULL;
    if (src_read(src, pre, 10) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        fail(ctx, bad, path, "not a .npy file (bad magic)");
        goto done;
    }
    size_t hlen;
    if (pre[6] == 1) {
        hlen = (size_t)pre[8] | ((size_t)pre[9] << 8);
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (src_read(src, pre + 10, 2) != 2) {
            fail(ctx, bad, path, "truncated header");
            goto done;
        }
        hlen = (size_t)pre[8] | ((size_t)pre[9] << 8) | ((size_t)pre[10] << 16) | ((size_t)pre[11] << 24);
    } else {
        fail(ctx, bad, path, "unsupported .npy format version");
        goto done;
    }
    if (hlen > (1u << 24)) {
        fail(ctx, bad, path, "header too large");
        goto done;
    }
    hdr = (char *)malloc(hlen + 1);
    if (!hdr) {
        st = fail(ctx, DOPT_ERR_OUT_OF_MEMORY, path, "out of memory");
        goto done;
    }
    if (src_read(src, hdr, hlen) != hlen) {
        fail(ctx, bad, path, "truncated header");
        goto done;
    }
    hdr[hlen] = 0;
    const char *d = find_key(hdr, "'descr'");
    if (!d || (*d != '\'' && *d != '"')) {
        fail(ctx, bad, path, "header has no 'descr'");
        goto done;
    }
    char endian = d[1], kind = d[2];
    int size = atoi(d + 3), string_bytes = 0;
    int is_string = (flags & DOPT_NPY_ALLOW_STRINGS) && string_dtype(kind, size, &string_bytes);
    if (is_string) size = string_bytes;
    if (!(endian == '<' || endian == '>' || endian == '|' || endian == '=') ||
        (!is_string && (!(kind == 'f' || kind == 'i' || kind == 'u' || kind == 'b') ||
                        !(size == 1 || size == 2 || size == 4 || size == 8) || (kind == 'f' && size < 4)))) {
        fail(ctx, bad, path, "unsupported dtype (need float32/float64 or an integer type)");
        goto done;
    }
    const char *fo = find_key(hdr, "'fortran_order'");
    if (!fo) {
        fail(ctx, bad, path, "header has no 'fortran_order'");
        goto done;
    }
    if (strncmp(fo, "False", 5) != 0) {
        fail(ctx, bad, path, "Fortran-ordered arrays are not supported (save with np.ascontiguousarray)");
        goto done;
    }
    const char *sh = find_key(hdr, "'shape'");
    if (!sh || *sh != '(') {
        fail(ctx, bad, path, "header has no 'shape'");
        goto done;
    }
    ++sh;
    size_t count = 1;
    for (;;) {
        while (*sh == ' ' || *sh == ',') ++sh;
        if (*sh == ')') break;
        char *end;
        long long v = strtoll(sh, &end, 10);
        if (end == sh || v < 0) {
            fail(ctx, bad, path, "malformed shape");
            goto done;
        }
        if (out->ndim == DOPT_NPY_MAX_DIM) {
            fail(ctx, bad, path, "too many dimensions");
            goto done;
        }
        out->shape[out->ndim++] = v;
        if (v > 0 && count > ((size_t)1 << 40) / (size_t)v) {
            fail(ctx, bad, path, "array too large");
            goto done;
        }
        count *= (size_t)v;
        sh = end;
    }
    /* the file must hold what the header claims: checked before allocating,
     * so a short file with a huge shape is "truncated", not a failed
     * allocation of what it pretends to hold */
    long long left = src_left(src);
    if (left >= 0 && (unsigned long long)left < (unsigned long long)count * (unsigned long long)size) {
        fail(ctx, bad, path, "file shorter than its shape says (truncated data)");
        goto done;
    }
    out->kind = kind;
    out->itemsize = size;
    out->count = count;
    out->data = malloc(count * (size_t)size + 1);
    if (!out->data) {
        st = fail(ctx, DOPT_ERR_OUT_OF_MEMORY, path, "out of memory");
        goto done;
    }
    if (src_read(src, out->data, (size_t)size * count) != (size_t)size * count) {
        fail(ctx, bad, path, "file shorter than its shape says (truncated data)");
        goto done;
    }
    unsigned char extra;
    if (src_read(src, &extra, 1) != 0) {
        fail(ctx, bad, path, "trailing bytes after the data");
        goto done;
    }
    if (endian == '>' && kind == 'U') byteswap((unsigned char *)out->data, count * (size_t)size / 4, 4); /* per character */
    else if (endian == '>' && kind != 'S' && size > 1) byteswap((unsigned char *)out->data, count, size);
    st = DOPT_OK;
done:
    free(hdr);
    if (st != DOPT_OK) dopt_npy_free(out);
    return st;
}

dopt_status dopt_npy_read(dopt_context *ctx, const char *path, dopt_npy *out)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    if (!path || !out) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "npy read: NULL path or output");
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return fail(ctx, DOPT_ERR_INVALID_ARGUMENT, path, errno == ENOENT ? "no such file" : strerror(errno));
    dopt_npy_source src = {f, NULL, 0, 0};
    dopt_status st = dopt_npy_parse(ctx, path, &src, out);
    fclose(f);
    return st;
}

dopt_status dopt_npy_check_array(dopt_context *ctx, const char *path, char kind, int itemsize, int ndim,
                                  const int64_t *shape, const void *data, size_t *count_out)
{
    return dopt_npy_check_array_ex(ctx, path, kind, itemsize, ndim, shape, data, count_out, 0);
}

dopt_status dopt_npy_check_array_ex(dopt_context *ctx, const char *path, char kind, int itemsize, int ndim,
                                    const int64_t *shape, const void *data, size_t *count_out, int flags)
{
    int bytes;
    int is_string = (flags & DOPT_NPY_ALLOW_STRINGS) && kind == 'S' && string_dtype(kind, itemsize, &bytes);
    if (!is_string && (!(kind == 'f' || kind == 'i' || kind == 'u' || kind == 'b') ||
                       !(itemsize == 1 || itemsize == 2 || itemsize == 4 || itemsize == 8) ||
                       (kind == 'f' && itemsize < 4)))
        return fail(ctx, DOPT_ERR_INVALID_ARGUMENT, path,
                    "unsupported dtype (kind 'f' with itemsize 4 or 8, or 'i', 'u', 'b' with 1, 2, 4 or 8)");
    if (ndim < 0 || ndim > DOPT_NPY_MAX_DIM || (ndim > 0 && !shape))
        return fail(ctx, DOPT_ERR_INVALID_ARGUMENT, path, "ndim must be in [0, 8], with a shape");
    size_t count = 1;
    for (int i = 0; i < ndim; ++i) {
        if (shape[i] < 0) return fail(ctx, DOPT_ERR_INVALID_ARGUMENT, path, "negative dimension in shape");
        if (shape[i] > 0 && count > ((size_t)1 << 40) / (size_t)shape[i])
            return fail(ctx, DOPT_ERR_INVALID_ARGUMENT, path, "array too large");
        count *= (size_t)shape[i];
    }
    if (count > 0 && !data) return fail(ctx, DOPT_ERR_INVALID_ARGUMENT, path, "data is NULL");
    *count_out = count;
    return DOPT_OK;
}

size_t dopt_npy_header(char kind, int itemsize, int ndim, const int64_t *shape, char *buf)
{
    char dict[512];
    /* bytes have no byte order: NumPy writes '|S3' */
    int len = snprintf(dict, sizeof dict, "{'descr': '%c%c%d', 'fortran_order': False, 'shape': (",
                       kind == 'S' ? '|' : '<', kind, itemsize);
    for (int i = 0; i < ndim; ++i)
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%lld%s", (long long)shape[i],
                        ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
    len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    /* pad with spaces so that data starts on a 64-byte boundary, end with \n */
    size_t total = 10 + (size_t)len + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)len + pad + 1;
    const unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                                   (unsigned char)(hlen >> 8)};
    memcpy(buf, pre, 10);
    memcpy(buf + 10, dict, (size_t)len);
    memset(buf + 10 + len, ' ', pad);
    buf[10 + hlen - 1] = '\n';
    return 10 + hlen;
}

dopt_status dopt_npy_write(dopt_context *ctx, const char *path, char kind, int itemsize, int ndim,
                           const int64_t *shape, const void *data)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    if (!path) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "npy write: NULL path");
    size_t count = 0;
    DOPT_TRY(dopt_npy_check_array(ctx, path, kind, itemsize, ndim, shape, data, &count));
    char header[DOPT_NPY_HEADER_MAX];
    size_t hlen = dopt_npy_header(kind, itemsize, ndim, shape, header);
    FILE *f = fopen(path, "wb");
    if (!f) return fail(ctx, DOPT_ERR_INVALID_ARGUMENT, path, strerror(errno));
    int ok = fwrite(header, 1, hlen, f) == hlen;
    ok = ok && (count == 0 || fwrite(data, (size_t)itemsize, count, f) == count);
    if (fclose(f) != 0) ok = 0;
    if (!ok) return fail(ctx, DOPT_ERR_INVALID_ARGUMENT, path, "write failed");
    return DOPT_OK;
}

void dopt_npy_free(dopt_npy *a)
{
    if (!a) return;
    free(a->data);
    a->data = NULL;
}
