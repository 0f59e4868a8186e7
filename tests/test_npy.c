/* .npy reader and writer (the public dopt_npy.h): round trips, NumPy-written
 * headers, malformed files rejected with a message in the context (never a
 * crash), and a header claiming more data than the file holds reported as
 * truncated before anything is allocated for it. */
#include "test_util.h"

static const char *tmpdir;

static void write_raw(const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, len, f);
    fclose(f);
}

static dopt_status read_named(const char *name, dopt_npy *a)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return dopt_npy_read(tu_ctx, path, a);
}

static const char *message(void) { return dopt_context_last_error(tu_ctx); }

/* a header as NumPy 1.x writes it, data following */
static size_t numpy_file(unsigned char *buf, const char *dict, const void *data, size_t bytes)
{
    size_t dl = strlen(dict), total = 10 + dl + 1, pad = (64 - total % 64) % 64, hl = dl + pad + 1;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)(hl >> 8);
    memcpy(buf + 10, dict, dl);
    memset(buf + 10 + dl, ' ', pad);
    buf[10 + dl + pad] = '\n';
    memcpy(buf + 10 + hl, data, bytes);
    return 10 + hl + bytes;
}

int main(int argc, char **argv)
{
    tmpdir = argc > 2 ? argv[2] : "/tmp";
    tu_init(1, argv); /* a CPU context: the .npy calls report through it */
    char path[512];
    /* round trip */
    double v[6] = {1, -2.5, 3e300, -0.0, 1e-300, 7};
    int64_t shape[2] = {2, 3};
    snprintf(path, sizeof path, "%s/rt.npy", tmpdir);
    CHECK_OK(dopt_npy_write(tu_ctx, path, 'f', 8, 2, shape, v));
    dopt_npy a;
    CHECK_OK(dopt_npy_read(tu_ctx, path, &a));
    CHECK(a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.kind == 'f' && a.itemsize == 8, "shape/dtype");
    CHECK(a.data && memcmp(a.data, v, sizeof v) == 0, "data differs after a round trip");
    dopt_npy_free(&a);
    /* 1-D and 0-length arrays */
    int64_t s1 = 0;
    snprintf(path, sizeof path, "%s/empty.npy", tmpdir);
    CHECK_OK(dopt_npy_write(tu_ctx, path, 'f', 4, 1, &s1, v));
    CHECK(dopt_npy_read(tu_ctx, path, &a) == DOPT_OK && a.count == 0 && a.ndim == 1, "empty array");
    dopt_npy_free(&a);

    unsigned char buf[4096];
    float f3[3] = {1, 2, 3};
    size_t len = numpy_file(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f3, sizeof f3);
    write_raw("np.npy", buf, len);
    CHECK(read_named("np.npy", &a) == DOPT_OK && a.count == 3 && ((float *)a.data)[2] == 3, "NumPy-style header: %s",
          message());
    dopt_npy_free(&a);
    /* big-endian data is swapped */
    unsigned char be[8] = {0x3f, 0xf0, 0, 0, 0, 0, 0, 0}; /* 1.0 as >f8 */
    len = numpy_file(buf, "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", be, 8);
    write_raw("be.npy", buf, len);
    CHECK(read_named("be.npy", &a) == DOPT_OK && ((double *)a.data)[0] == 1.0, "big endian");
    dopt_npy_free(&a);

    /* malformed inputs: each must be rejected with a message */
    struct {
        const char *name, *dict;
        size_t databytes, cut;
    } bad[] = {
        {"fortran.npy", "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }", 32, 0},
        {"trunc.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", 16, 0},
        {"dtype.npy", "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", 16, 0},
        {"object.npy", "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", 8, 0},
        {"noshape.npy", "{'descr': '<f8', 'fortran_order': False, }", 8, 0},
        {"badshape.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }", 8, 0},
        {"trailing.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", 16, 0},
        {"cuthdr.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", 8, 40},
    };
    double zeros[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        len = numpy_file(buf, bad[i].dict, zeros, bad[i].databytes);
        if (bad[i].cut) len = bad[i].cut;
        write_raw(bad[i].name, buf, len);
        dopt_status st = read_named(bad[i].name, &a);
        CHECK(st == DOPT_ERR_INVALID_ARGUMENT && strstr(message(), bad[i].name), "%s: status %d (%s)", bad[i].name,
              (int)st, message());
        CHECK(a.data == NULL, "%s: no data after failure", bad[i].name);
    }
    write_raw("magic.npy", "hello world, not numpy", 22);
    CHECK(read_named("magic.npy", &a) == DOPT_ERR_INVALID_ARGUMENT && strstr(message(), "bad magic"), "bad magic: %s",
          message());
    CHECK(read_named("missing.npy", &a) == DOPT_ERR_INVALID_ARGUMENT && strstr(message(), "missing.npy: no such file"),
          "missing file: %s", message());

    /* A short file whose header claims a huge array: reported as truncated
     * from the file's size, before allocating what the header claims (10^5
     * x 10^5 doubles = 80 GB, and 10^6 x 10^6 = 8 TB, which no allocator
     * grants: an allocate-then-read reader says "out of memory" here). */
    static const char *huge[2] = {"{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }",
                                  "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }"};
    for (int h = 0; h < 2; ++h) {
        unsigned char kb[1024];
        memset(kb, 0, sizeof kb);
        len = numpy_file(buf, huge[h], kb, sizeof kb);
        write_raw("claims_huge.npy", buf, len);
        dopt_status st = read_named("claims_huge.npy", &a);
        CHECK(st == DOPT_ERR_INVALID_ARGUMENT && strstr(message(), "truncated") && !strstr(message(), "memory"),
              "1 KB file claiming %s: status %d, '%s'", h ? "10^6 x 10^6" : "10^5 x 10^5", (int)st, message());
        CHECK(a.data == NULL && a.count == 0, "nothing kept after the truncated file");
    }
    /* the writer checks its arguments */
    int64_t neg = -1;
    snprintf(path, sizeof path, "%s/never.npy", tmpdir);
    CHECK(dopt_npy_write(tu_ctx, path, 'f', 8, 1, &neg, v) == DOPT_ERR_INVALID_ARGUMENT && strstr(message(), "negative"),
          "negative dimension: %s", message());
    CHECK(dopt_npy_write(tu_ctx, path, 'c', 16, 1, &s1, v) == DOPT_ERR_INVALID_ARGUMENT && strstr(message(), "dtype"),
          "complex dtype: %s", message());
    CHECK(dopt_npy_read(NULL, path, &a) == DOPT_ERR_INVALID_ARGUMENT, "NULL context");
    return tu_finish("test_npy");
}
