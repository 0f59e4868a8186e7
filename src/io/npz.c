/* .npz reader and writer (include/dopt_npz.h): a zip archive of .npy members.
 * We read the central directory (the authoritative sizes and offsets; local
 * headers of archives NumPy writes carry zip64 placeholders), check each
 * member's CRC-32, and parse it with the .npy parser. Written archives are
 * stored (uncompressed), byte-for-byte deterministic (fixed timestamps), and
 * use zip64 records only where sizes or offsets need them. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "npy_internal.h"
#include "dopt_npz.h"

#ifdef DOPT_HAVE_ZLIB
#include <zlib.h>
#endif

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u
#define ZIP32_MAX 0xFFFFFFFFu

/* ---- CRC-32 (IEEE 802.3, reflected; what zip stores) ---- */
/* The table is built per call (2,048 shifts): no shared state between threads. */
typedef struct {
    uint32_t t[256];
} crc_table;

static void crc_init(crc_table *tab)
{
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        tab->t[i] = c;
    }
}

static uint32_t crc_update(const crc_table *tab, uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    crc = ~crc;
    for (size_t i = 0; i < len; ++i) crc = tab->t[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* ---- little-endian fields ---- */
static uint32_t get16(const unsigned char *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }
static uint32_t get32(const unsigned char *p) { return get16(p) | (get16(p + 2) << 16); }
static uint64_t get64(const unsigned char *p) { return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32); }
static void put16(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v)
{
    put16(p, v & 0xFFFF);
    put16(p + 2, v >> 16);
}
static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static int seek_to(FILE *f, uint64_t off)
{
#if defined(_WIN32)
    return _fseeki64(f, (long long)off, SEEK_SET);
#else
    if (off > (uint64_t)LONG_MAX) return -1;
    return fseek(f, (long)off, SEEK_SET);
#endif
}

static int read_at(FILE *f, uint64_t off, void *buf, size_t len)
{
    return seek_to(f, off) == 0 && fread(buf, 1, len, f) == len;
}

/* ---- reading ---- */

typedef struct {
    uint64_t csize, usize, offset;
    uint32_t crc, method, flags;
    char *name;
} zip_member;

/* Finds the end-of-central-directory record (the comment may follow it)
 * and the central directory's offset, size and entry count, zip64 or not. */
static dopt_status find_directory(dopt_context *ctx, const char *path, FILE *f, uint64_t *cd_off, uint64_t *cd_size,
                                  uint64_t *entries, uint64_t *file_size)
{
    if (fseek(f, 0, SEEK_END) != 0) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: cannot seek", path);
    long end = ftell(f);
    *file_size = end > 0 ? (uint64_t)end : 0;
    if (end < 22) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: not a .npz (zip) file: too short", path);
    size_t tail = (size_t)(end < 65557 ? end : 65557); /* 22 + the longest comment */
    unsigned char *buf = (unsigned char *)malloc(tail);
    if (!buf) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    uint64_t base = (uint64_t)end - tail;
    if (!read_at(f, base, buf, tail)) {
        free(buf);
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: read failed", path);
    }
    long at = -1;
    for (long i = (long)tail - 22; i >= 0; --i)
        if (get32(buf + i) == SIG_END && (size_t)i + 22 + get16(buf + i + 20) == tail) {
            at = i;
            break;
        }
    if (at < 0) {
        free(buf);
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "%s: not a .npz (zip) file: no end of central directory (truncated?)", path);
    }
    const unsigned char *e = buf + at;
    if (get16(e + 4) != 0 || get16(e + 6) != 0) {
        free(buf);
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: multi-disk zip archives are not supported", path);
    }
    *entries = get16(e + 10);
    *cd_size = get32(e + 12);
    *cd_off = get32(e + 16);
    uint64_t eocd = base + (uint64_t)at;
    free(buf);
    if (*entries == 0xFFFF || *cd_size == ZIP32_MAX || *cd_off == ZIP32_MAX) {
        unsigned char loc[20], rec[56];
        if (eocd < 20 || !read_at(f, eocd - 20, loc, 20) || get32(loc) != SIG_LOCATOR64 ||
            !read_at(f, get64(loc + 8), rec, 56) || get32(rec) != SIG_END64)
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: zip64 end of central directory missing or damaged",
                             path);
        *entries = get64(rec + 32);
        *cd_size = get64(rec + 40);
        *cd_off = get64(rec + 48);
    }
    if (*cd_off > (uint64_t)end || *cd_size > (uint64_t)end - *cd_off)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: central directory beyond the end of the file", path);
    return DOPT_OK;
}

/* Parses the central directory into members (names malloc'ed). */
static dopt_status read_directory(dopt_context *ctx, const char *path, FILE *f, zip_member **out, uint64_t *count,
                                  uint64_t *file_size)
{
    uint64_t cd_off = 0, cd_size = 0, entries = 0;
    DOPT_TRY(find_directory(ctx, path, f, &cd_off, &cd_size, &entries, file_size));
    if (entries > cd_size / 46)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: central directory too small for %llu entries", path,
                         (unsigned long long)entries);
    unsigned char *cd = (unsigned char *)malloc(cd_size ? cd_size : 1);
    zip_member *m = (zip_member *)calloc(entries ? entries : 1, sizeof *m);
    if (!cd || !m) {
        free(cd);
        free(m);
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    dopt_status st = DOPT_OK;
    if (!read_at(f, cd_off, cd, cd_size)) st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: read failed", path);
    size_t pos = 0;
    for (uint64_t i = 0; st == DOPT_OK && i < entries; ++i) {
        const unsigned char *h = cd + pos;
        if (cd_size - pos < 46 || get32(h) != SIG_CENTRAL) {
            st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: central directory entry %llu damaged", path,
                           (unsigned long long)i);
            break;
        }
        size_t nlen = get16(h + 28), xlen = get16(h + 30), clen = get16(h + 32);
        if (cd_size - pos < 46 + nlen + xlen + clen) {
            st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: central directory entry %llu truncated", path,
                           (unsigned long long)i);
            break;
        }
        zip_member *z = &m[i];
        z->flags = get16(h + 8);
        z->method = get16(h + 10);
        z->crc = get32(h + 16);
        z->csize = get32(h + 20);
        z->usize = get32(h + 24);
        z->offset = get32(h + 42);
        z->name = (char *)malloc(nlen + 1);
        if (!z->name) {
            st = dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
            break;
        }
        memcpy(z->name, h + 46, nlen);
        z->name[nlen] = 0;
        /* zip64 extra: the 64-bit values of exactly the fields saturated above, in order */
        const unsigned char *x = h + 46 + nlen, *xend = x + xlen;
        while (x + 4 <= xend) {
            uint32_t id = get16(x), len = get16(x + 2);
            const unsigned char *v = x + 4, *vend = v + len;
            if (vend > xend) break;
            if (id == 1) {
                if (z->usize == ZIP32_MAX && v + 8 <= vend) z->usize = get64(v), v += 8;
                if (z->csize == ZIP32_MAX && v + 8 <= vend) z->csize = get64(v), v += 8;
                if (z->offset == ZIP32_MAX && v + 8 <= vend) z->offset = get64(v), v += 8;
            }
            x = vend;
        }
        if (z->usize == ZIP32_MAX || z->csize == ZIP32_MAX || z->offset == ZIP32_MAX)
            st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: member '%s' lacks its zip64 sizes", path, z->name);
        pos += 46 + nlen + xlen + clen;
    }
    free(cd);
    if (st != DOPT_OK) {
        for (uint64_t i = 0; i < entries; ++i) free(m[i].name);
        free(m);
        return st;
    }
    *out = m;
    *count = entries;
    return DOPT_OK;
}

/* The member's bytes, uncompressed and CRC-checked, in a malloc'ed block. */
static dopt_status member_bytes(dopt_context *ctx, const char *path, FILE *f, uint64_t file_size,
                                const zip_member *z, unsigned char **out)
{
    *out = NULL;
    unsigned char lh[30];
    if (!read_at(f, z->offset, lh, 30) || get32(lh) != SIG_LOCAL)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: member '%s': local header damaged", path, z->name);
    if (z->flags & 1)
        return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED, "%s: member '%s' is encrypted", path, z->name);
    if (z->method != 0 && z->method != 8)
        return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED, "%s: member '%s': compression method %u (only stored and deflate)",
                         path, z->name, (unsigned)z->method);
#ifndef DOPT_HAVE_ZLIB
    if (z->method == 8)
        return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED,
                         "%s: member '%s' is compressed (np.savez_compressed) and this build of dopt has no zlib: "
                         "save with np.savez, or rebuild dopt with zlib",
                         path, z->name);
#endif
    uint64_t data = z->offset + 30 + get16(lh + 26) + get16(lh + 28);
    /* sizes are checked against the file before anything is allocated, so a
     * damaged size field is a message, not a huge allocation: the data must
     * lie inside the file, a stored member's sizes agree, and deflate expands
     * by at most 1032:1 */
    if (data > file_size || z->csize > file_size - data)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: member '%s' extends past the end of the file", path,
                         z->name);
    if ((z->method == 0 && z->usize != z->csize) || (z->method == 8 && z->usize / 1032 > z->csize))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: member '%s': inconsistent sizes", path, z->name);
    unsigned char *raw = (unsigned char *)malloc(z->csize ? z->csize : 1);
    if (!raw) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "%s: out of memory for member '%s'", path, z->name);
    if (!read_at(f, data, raw, z->csize)) {
        free(raw);
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: member '%s' truncated", path, z->name);
    }
    unsigned char *bytes = raw;
#ifdef DOPT_HAVE_ZLIB
    if (z->method == 8) {
        bytes = (unsigned char *)malloc(z->usize ? z->usize : 1);
        if (!bytes) {
            free(raw);
            return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "%s: out of memory for member '%s'", path, z->name);
        }
        /* raw deflate (negative window bits): zip members have no zlib header;
         * inflated in pieces because zlib counts in 32-bit uInt */
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        int ok = inflateInit2(&zs, -MAX_WBITS) == Z_OK;
        int rc = Z_OK;
        uint64_t in_left = z->csize, out_left = z->usize;
        const unsigned char *in = raw;
        unsigned char *outp = bytes;
        while (ok && rc == Z_OK) {
            uInt in_chunk = (uInt)(in_left < 0x40000000u ? in_left : 0x40000000u);
            uInt out_chunk = (uInt)(out_left < 0x40000000u ? out_left : 0x40000000u);
            zs.next_in = (Bytef *)in;
            zs.avail_in = in_chunk;
            zs.next_out = outp;
            zs.avail_out = out_chunk;
            rc = inflate(&zs, Z_NO_FLUSH);
            in += in_chunk - zs.avail_in;
            in_left -= in_chunk - zs.avail_in;
            outp += out_chunk - zs.avail_out;
            out_left -= out_chunk - zs.avail_out;
            if (rc == Z_OK && in_chunk == zs.avail_in && out_chunk == zs.avail_out) rc = Z_DATA_ERROR; /* stuck */
            if (rc == Z_BUF_ERROR) rc = Z_DATA_ERROR;
        }
        if (ok) inflateEnd(&zs);
        free(raw);
        if (!ok || rc != Z_STREAM_END || out_left != 0) {
            free(bytes);
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: member '%s': damaged compressed data", path,
                             z->name);
        }
    }
#endif
    crc_table tab;
    crc_init(&tab);
    if (crc_update(&tab, 0, bytes, z->usize) != z->crc) {
        free(bytes);
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: member '%s': CRC mismatch (damaged file)", path,
                         z->name);
    }
    *out = bytes;
    return DOPT_OK;
}

dopt_status dopt_npz_read(dopt_context *ctx, const char *path, dopt_npz *out)
{
    return dopt_npz_read_ex(ctx, path, out, 0);
}

dopt_status dopt_npz_read_ex(dopt_context *ctx, const char *path, dopt_npz *out, int flags)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    if (!path || !out) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "npz read: NULL path or output");
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: %s", path,
                         errno == ENOENT ? "no such file" : strerror(errno));
    zip_member *m = NULL;
    uint64_t count = 0;
    uint64_t file_size = 0;
    dopt_status st = read_directory(ctx, path, f, &m, &count, &file_size);
    if (st == DOPT_OK) {
        out->names = (char **)calloc(count ? count : 1, sizeof *out->names);
        out->arrays = (dopt_npy *)calloc(count ? count : 1, sizeof *out->arrays);
        if (!out->names || !out->arrays) st = dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    for (uint64_t i = 0; st == DOPT_OK && i < count; ++i) {
        zip_member *z = &m[i];
        size_t len = strlen(z->name);
        if (len == 0 || z->name[len - 1] == '/') continue; /* a directory entry holds no array */
        if (len > 4 && !strcmp(z->name + len - 4, ".npy")) z->name[len - 4] = 0;
        if (dopt_npz_find(out, z->name)) {
            st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: the name '%s' appears twice", path, z->name);
            break;
        }
        unsigned char *bytes;
        st = member_bytes(ctx, path, f, file_size, z, &bytes);
        if (st != DOPT_OK) break;
        char label[1024];
        snprintf(label, sizeof label, "%s['%s']", path, z->name);
        dopt_npy_source src = {NULL, bytes, 0, (size_t)z->usize};
        st = dopt_npy_parse_ex(ctx, label, &src, &out->arrays[out->count], flags);
        free(bytes);
        if (st != DOPT_OK) break;
        out->names[out->count++] = z->name;
        z->name = NULL; /* owned by out now */
    }
    for (uint64_t i = 0; i < count; ++i) free(m[i].name);
    free(m);
    fclose(f);
    if (st != DOPT_OK) dopt_npz_free(out);
    return st;
}

const dopt_npy *dopt_npz_find(const dopt_npz *z, const char *name)
{
    if (!z || !name) return NULL;
    for (int64_t i = 0; i < z->count; ++i)
        if (z->names[i] && !strcmp(z->names[i], name)) return &z->arrays[i];
    return NULL;
}

void dopt_npz_free(dopt_npz *z)
{
    if (!z) return;
    for (int64_t i = 0; i < z->count; ++i) {
        free(z->names[i]);
        dopt_npy_free(&z->arrays[i]);
    }
    free(z->names);
    free(z->arrays);
    memset(z, 0, sizeof *z);
}

/* ---- writing ---- */

static int valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > 200) return 0;
    for (; *s; ++s)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-' || *s == '.'))
            return 0;
    return 1;
}

typedef struct {
    uint64_t offset, size;
    uint32_t crc;
} written_member;

static int put_bytes(FILE *f, const void *p, size_t n) { return n == 0 || fwrite(p, 1, n, f) == n; }

/* Local header + name (+ zip64 extra when the member is that large) + data. */
static int write_member(FILE *f, const crc_table *tab, uint64_t offset, const dopt_npz_entry *e, size_t count,
                        written_member *w)
{
    char header[DOPT_NPY_HEADER_MAX];
    size_t hlen = dopt_npy_header(e->kind, e->itemsize, e->ndim, e->shape, header);
    size_t bytes = count * (size_t)e->itemsize;
    w->offset = offset;
    w->size = (uint64_t)hlen + bytes;
    w->crc = crc_update(tab, crc_update(tab, 0, header, hlen), e->data, bytes);
    int big = w->size >= ZIP32_MAX;
    size_t nlen = strlen(e->name) + 4;
    unsigned char lh[30];
    put32(lh, SIG_LOCAL);
    put16(lh + 4, big ? 45 : 20);
    put16(lh + 6, 0);
    put16(lh + 8, 0);                       /* stored */
    put16(lh + 10, 0);                      /* 00:00:00 */
    put16(lh + 12, (0u << 9) | (1u << 5) | 1); /* 1980-01-01: fixed, so output is reproducible */
    put32(lh + 14, w->crc);
    put32(lh + 18, big ? ZIP32_MAX : (uint32_t)w->size);
    put32(lh + 22, big ? ZIP32_MAX : (uint32_t)w->size);
    put16(lh + 26, (uint32_t)nlen);
    put16(lh + 28, big ? 20 : 0);
    unsigned char x[20];
    put16(x, 1);
    put16(x + 2, 16);
    put64(x + 4, w->size);
    put64(x + 12, w->size);
    return put_bytes(f, lh, 30) && put_bytes(f, e->name, nlen - 4) && put_bytes(f, ".npy", 4) &&
           (!big || put_bytes(f, x, 20)) && put_bytes(f, header, hlen) && put_bytes(f, e->data, bytes);
}

static int write_directory(FILE *f, int64_t count, const dopt_npz_entry *entries, const written_member *w,
                           uint64_t cd_off)
{
    uint64_t cd_size = 0;
    for (int64_t i = 0; i < count; ++i) {
        int big_size = w[i].size >= ZIP32_MAX, big_off = w[i].offset >= ZIP32_MAX;
        size_t nlen = strlen(entries[i].name) + 4;
        unsigned char ch[46], x[28];
        size_t xlen = 0;
        if (big_size || big_off) {
            size_t v = 4;
            if (big_size) put64(x + v, w[i].size), put64(x + v + 8, w[i].size), v += 16;
            if (big_off) put64(x + v, w[i].offset), v += 8;
            put16(x, 1);
            put16(x + 2, (uint32_t)(v - 4));
            xlen = v;
        }
        put32(ch, SIG_CENTRAL);
        put16(ch + 4, xlen ? 45 : 20);
        put16(ch + 6, xlen ? 45 : 20);
        put16(ch + 8, 0);
        put16(ch + 10, 0);
        put16(ch + 12, 0);
        put16(ch + 14, (0u << 9) | (1u << 5) | 1);
        put32(ch + 16, w[i].crc);
        put32(ch + 20, big_size ? ZIP32_MAX : (uint32_t)w[i].size);
        put32(ch + 24, big_size ? ZIP32_MAX : (uint32_t)w[i].size);
        put16(ch + 28, (uint32_t)nlen);
        put16(ch + 30, (uint32_t)xlen);
        put16(ch + 32, 0);
        put16(ch + 34, 0);
        put16(ch + 36, 0);
        put32(ch + 38, 0);
        put32(ch + 42, big_off ? ZIP32_MAX : (uint32_t)w[i].offset);
        if (!put_bytes(f, ch, 46) || !put_bytes(f, entries[i].name, nlen - 4) || !put_bytes(f, ".npy", 4) ||
            !put_bytes(f, x, xlen))
            return 0;
        cd_size += 46 + nlen + xlen;
    }
    int zip64 = count >= 0xFFFF || cd_off >= ZIP32_MAX || cd_size >= ZIP32_MAX;
    if (zip64) {
        unsigned char rec[56], loc[20];
        put32(rec, SIG_END64);
        put64(rec + 4, 44);
        put16(rec + 12, 45);
        put16(rec + 14, 45);
        put32(rec + 16, 0);
        put32(rec + 20, 0);
        put64(rec + 24, (uint64_t)count);
        put64(rec + 32, (uint64_t)count);
        put64(rec + 40, cd_size);
        put64(rec + 48, cd_off);
        put32(loc, SIG_LOCATOR64);
        put32(loc + 4, 0);
        put64(loc + 8, cd_off + cd_size);
        put32(loc + 16, 1);
        if (!put_bytes(f, rec, 56) || !put_bytes(f, loc, 20)) return 0;
    }
    unsigned char end[22];
    put32(end, SIG_END);
    put16(end + 4, 0);
    put16(end + 6, 0);
    put16(end + 8, zip64 ? 0xFFFF : (uint32_t)count);
    put16(end + 10, zip64 ? 0xFFFF : (uint32_t)count);
    put32(end + 12, zip64 ? ZIP32_MAX : (uint32_t)cd_size);
    put32(end + 16, zip64 ? ZIP32_MAX : (uint32_t)cd_off);
    put16(end + 20, 0);
    return put_bytes(f, end, 22);
}

dopt_status dopt_npz_write(dopt_context *ctx, const char *path, int64_t count, const dopt_npz_entry *entries)
{
    return dopt_npz_write_ex(ctx, path, count, entries, 0);
}

dopt_status dopt_npz_write_ex(dopt_context *ctx, const char *path, int64_t count, const dopt_npz_entry *entries,
                              int flags)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    if (!path) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "npz write: NULL path");
    if (count < 0 || (count > 0 && !entries))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: need count >= 0 entries", path);
    size_t *counts = (size_t *)malloc(sizeof *counts * (size_t)(count ? count : 1));
    written_member *w = (written_member *)malloc(sizeof *w * (size_t)(count ? count : 1));
    if (!counts || !w) {
        free(counts);
        free(w);
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    dopt_status st = DOPT_OK;
    for (int64_t i = 0; st == DOPT_OK && i < count; ++i) {
        const dopt_npz_entry *e = &entries[i];
        if (!valid_name(e->name)) {
            st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                           "%s: entry %lld: name must be 1-200 letters, digits, '_', '-' or '.'", path,
                           (long long)i);
            break;
        }
        for (int64_t j = 0; j < i; ++j)
            if (!strcmp(entries[j].name, e->name))
                st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: the name '%s' appears twice", path, e->name);
        if (st != DOPT_OK) break;
        char label[1024];
        snprintf(label, sizeof label, "%s['%s']", path, e->name);
        st = dopt_npy_check_array_ex(ctx, label, e->kind, e->itemsize, e->ndim, e->shape, e->data, &counts[i], flags);
    }
    FILE *f = NULL;
    if (st == DOPT_OK) {
        f = fopen(path, "wb");
        if (!f) st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: %s", path, strerror(errno));
    }
    if (st == DOPT_OK) {
        crc_table tab;
        crc_init(&tab);
        uint64_t offset = 0;
        int ok = 1;
        for (int64_t i = 0; ok && i < count; ++i) {
            ok = write_member(f, &tab, offset, &entries[i], counts[i], &w[i]);
            offset += 30 + strlen(entries[i].name) + 4 + (w[i].size >= ZIP32_MAX ? 20 : 0) + w[i].size;
        }
        ok = ok && write_directory(f, count, entries, w, offset);
        if (fclose(f) != 0) ok = 0;
        if (!ok) {
            remove(path); /* never leave a truncated archive behind */
            st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: write failed", path);
        }
    }
    free(counts);
    free(w);
    return st;
}
