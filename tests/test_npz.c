/* .npz reader and writer (the public dopt_npz.h): archives written by NumPy
 * (np.savez, and np.savez_compressed when the build has zlib) read back to
 * the values NumPy saved; our archives read back bit for bit; damaged,
 * truncated and non-zip files and bad entries are messages, never crashes.
 * argv: backend, work folder, the fixtures folder (tests/data/npz). */
#include "test_util.h"

static const char *tmpdir, *fixtures;

static const char *message(void) { return dopt_context_last_error(tu_ctx); }

/* The arrays the archives in tests/data/npz hold (NumPy wrote them):
 *   n = int32 [3, 1, 2]; x = float64 arange(14) * 0.5 - 1; scal = float32 2.5 (0-d);
 *   empty = float32 (0, 3); i64 = int64 [[1, -2], [3, 4]] */
static void check_numpy_archive(const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", fixtures, file);
    dopt_npz z;
    dopt_status st = dopt_npz_read(tu_ctx, path, &z);
#ifndef DOPT_TEST_HAVE_ZLIB
    if (strstr(file, "compressed")) {
        CHECK(st == DOPT_ERR_UNSUPPORTED && strstr(message(), "zlib"), "compressed without zlib: %s", message());
        return;
    }
#endif
    CHECK(st == DOPT_OK, "%s: %s", file, message());
    if (st != DOPT_OK) return;
    CHECK(z.count == 5, "%s: %lld arrays", file, (long long)z.count);
    const dopt_npy *n = dopt_npz_find(&z, "n"), *x = dopt_npz_find(&z, "x"), *s = dopt_npz_find(&z, "scal"),
                   *e = dopt_npz_find(&z, "empty"), *i = dopt_npz_find(&z, "i64");
    CHECK(n && n->kind == 'i' && n->itemsize == 4 && n->ndim == 1 && n->count == 3, "%s: n", file);
    if (n) CHECK(((int32_t *)n->data)[0] == 3 && ((int32_t *)n->data)[2] == 2, "%s: n values", file);
    CHECK(x && x->kind == 'f' && x->itemsize == 8 && x->count == 14, "%s: x", file);
    for (int k = 0; x && k < 14; ++k) CHECK(((double *)x->data)[k] == k * 0.5 - 1, "%s: x[%d]", file, k);
    CHECK(s && s->ndim == 0 && s->count == 1 && s->itemsize == 4 && ((float *)s->data)[0] == 2.5f, "%s: scal", file);
    CHECK(e && e->ndim == 2 && e->shape[0] == 0 && e->shape[1] == 3 && e->count == 0, "%s: empty", file);
    CHECK(i && i->kind == 'i' && i->itemsize == 8 && i->shape[0] == 2 && ((int64_t *)i->data)[1] == -2, "%s: i64",
          file);
    CHECK(dopt_npz_find(&z, "missing") == NULL && dopt_npz_find(&z, "x.npy") == NULL, "names without .npy");
    dopt_npz_free(&z);
    CHECK(z.count == 0 && z.names == NULL, "free leaves it empty");
}

static long file_bytes(const char *path, unsigned char **buf)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    *buf = (unsigned char *)malloc((size_t)len);
    if (fread(*buf, 1, (size_t)len, f) != (size_t)len) len = -1;
    fclose(f);
    return len;
}

static void write_bytes(const char *path, const unsigned char *buf, long len)
{
    FILE *f = fopen(path, "wb");
    fwrite(buf, 1, (size_t)len, f);
    fclose(f);
}

int main(int argc, char **argv)
{
    tmpdir = argc > 2 ? argv[2] : "/tmp";
    fixtures = argc > 3 ? argv[3] : "tests/data/npz";
    tu_init(1, argv);
    check_numpy_archive("savez.npz");
    check_numpy_archive("savez_compressed.npz");

    /* our archive: a round trip of several dtypes, a 0-d and an empty array */
    char path[1024], bad[1024];
    snprintf(path, sizeof path, "%s/rt.npz", tmpdir);
    int32_t sizes[4] = {5, 0, -7, 2147483647};
    double vals[6] = {1, -2.5, 3e300, -0.0, 1e-300, 7};
    float f0 = -1.25f;
    int64_t nodes[3] = {1, (int64_t)1 << 40, -3};
    int64_t s4 = 4, s23[2] = {2, 3}, s3 = 3, s0 = 0;
    dopt_npz_entry in[5] = {
        {"sizes", 'i', 4, 1, &s4, sizes},      {"values", 'f', 8, 2, s23, vals}, {"zero_d", 'f', 4, 0, NULL, &f0},
        {"nodes", 'i', 8, 1, &s3, nodes},      {"none", 'f', 8, 1, &s0, NULL},
    };
    CHECK_OK(dopt_npz_write(tu_ctx, path, 5, in));
    dopt_npz z;
    CHECK_OK(dopt_npz_read(tu_ctx, path, &z));
    CHECK(z.count == 5, "round trip count %lld", (long long)z.count);
    for (int e = 0; e < 5 && z.count == 5; ++e) {
        const dopt_npy *a = dopt_npz_find(&z, in[e].name);
        CHECK(a && a->kind == in[e].kind && a->itemsize == in[e].itemsize && a->ndim == in[e].ndim, "entry %s",
              in[e].name);
        if (!a) continue;
        size_t bytes = a->count * (size_t)a->itemsize;
        CHECK(bytes == 0 || memcmp(a->data, in[e].data, bytes) == 0, "entry %s data", in[e].name);
    }
    CHECK(strcmp(z.names[0], "sizes") == 0 && strcmp(z.names[4], "none") == 0, "archive order kept");
    dopt_npz_free(&z);
    /* writing is deterministic: the same arrays give the same bytes */
    snprintf(bad, sizeof bad, "%s/rt2.npz", tmpdir);
    CHECK_OK(dopt_npz_write(tu_ctx, bad, 5, in));
    unsigned char *b1 = NULL, *b2 = NULL;
    long l1 = file_bytes(path, &b1), l2 = file_bytes(bad, &b2);
    CHECK(l1 > 0 && l1 == l2 && memcmp(b1, b2, (size_t)l1) == 0, "two writes differ");
    free(b2);

    /* damage: a flipped data byte is a CRC mismatch naming the member */
    unsigned char *copy = (unsigned char *)malloc((size_t)l1);
    memcpy(copy, b1, (size_t)l1);
    copy[30 + 9 + 128 + 2] ^= 0x40; /* inside "sizes" data (local header 30, name 9, npy header 128) */
    snprintf(bad, sizeof bad, "%s/crc.npz", tmpdir);
    write_bytes(bad, copy, l1);
    CHECK(dopt_npz_read(tu_ctx, bad, &z) == DOPT_ERR_INVALID_ARGUMENT && strstr(message(), "CRC") &&
              strstr(message(), "sizes"),
          "crc: %s", message());
    CHECK(z.count == 0 && z.arrays == NULL, "failed read leaves it empty");
    /* truncations at every length: a message each time, never a crash */
    snprintf(bad, sizeof bad, "%s/trunc.npz", tmpdir);
    int all_failed = 1;
    for (long len = 0; len < l1; len += (len < 64 ? 1 : 37)) {
        write_bytes(bad, b1, len);
        if (dopt_npz_read(tu_ctx, bad, &z) != DOPT_ERR_INVALID_ARGUMENT || message()[0] == 0) all_failed = 0;
        dopt_npz_free(&z);
    }
    CHECK(all_failed, "a truncated archive was accepted or failed without a message");
    /* every single byte damaged in turn: a message or (a byte nothing checks,
     * e.g. a timestamp) a successful read, never a crash or a huge allocation */
    int crashed_silently = 0;
    for (long pos = 0; pos < l1; ++pos) {
        memcpy(copy, b1, (size_t)l1);
        copy[pos] ^= 0xFF;
        write_bytes(bad, copy, l1);
        dopt_status s = dopt_npz_read(tu_ctx, bad, &z);
        if (s != DOPT_OK && message()[0] == 0) crashed_silently = 1;
        dopt_npz_free(&z);
    }
    CHECK(!crashed_silently, "a damaged archive failed without a message");
    /* not a zip; missing file; a .npy is not a .npz */
    write_bytes(bad, (const unsigned char *)"hello, this is no zip archive at all", 36);
    CHECK(dopt_npz_read(tu_ctx, bad, &z) == DOPT_ERR_INVALID_ARGUMENT && strstr(message(), "zip"), "not a zip: %s",
          message());
    snprintf(bad, sizeof bad, "%s/does_not_exist.npz", tmpdir);
    CHECK(dopt_npz_read(tu_ctx, bad, &z) == DOPT_ERR_INVALID_ARGUMENT && strstr(message(), "no such file"),
          "missing: %s", message());
    free(copy);
    free(b1);

    /* bad entries: nothing is written */
    snprintf(bad, sizeof bad, "%s/bad_entries.npz", tmpdir);
    remove(bad);
    dopt_npz_entry twice[2] = {in[0], in[0]};
    CHECK(dopt_npz_write(tu_ctx, bad, 2, twice) == DOPT_ERR_INVALID_ARGUMENT && strstr(message(), "twice"),
          "duplicate name: %s", message());
    dopt_npz_entry odd = in[0];
    odd.name = "a/b";
    CHECK(dopt_npz_write(tu_ctx, bad, 1, &odd) == DOPT_ERR_INVALID_ARGUMENT && strstr(message(), "name"),
          "bad name: %s", message());
    odd = in[1];
    odd.itemsize = 2;
    CHECK(dopt_npz_write(tu_ctx, bad, 1, &odd) == DOPT_ERR_INVALID_ARGUMENT && strstr(message(), "values"),
          "bad dtype names the entry: %s", message());
    FILE *f = fopen(bad, "rb");
    CHECK(f == NULL, "a rejected write created the file");
    if (f) fclose(f);
    CHECK(dopt_npz_write(tu_ctx, bad, -1, in) == DOPT_ERR_INVALID_ARGUMENT, "negative count");
    /* an empty archive is valid */
    CHECK_OK(dopt_npz_write(tu_ctx, bad, 0, NULL));
    CHECK(dopt_npz_read(tu_ctx, bad, &z) == DOPT_OK && z.count == 0, "empty archive: %s", message());
    dopt_npz_free(&z);
    return tu_finish("test_npz");
}
