/* .npy reader and writer: round trips, NumPy-written headers, and malformed
 * files rejected with a message (never a crash). */
#include "npy.h"
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

static int read_named(const char *name, dopt_npy *a, char *err, size_t errlen)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return dopt_npy_read(path, a, err, errlen);
}

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
    (void)tu_ctx;
    char err[1024], path[512];
    /* round trip */
    double v[6] = {1, -2.5, 3e300, -0.0, 1e-300, 7};
    int64_t shape[2] = {2, 3};
    snprintf(path, sizeof path, "%s/rt.npy", tmpdir);
    CHECK(dopt_npy_write(path, 'f', 8, 2, shape, v, err, sizeof err) == DOPT_NPY_OK, "%s", err);
    dopt_npy a;
    CHECK(dopt_npy_read(path, &a, err, sizeof err) == DOPT_NPY_OK, "%s", err);
    CHECK(a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.kind == 'f' && a.itemsize == 8, "shape/dtype");
    CHECK(a.data && memcmp(a.data, v, sizeof v) == 0, "data differs after a round trip");
    dopt_npy_free(&a);
    /* 1-D and 0-length arrays */
    int64_t s1 = 0;
    snprintf(path, sizeof path, "%s/empty.npy", tmpdir);
    CHECK(dopt_npy_write(path, 'f', 4, 1, &s1, v, err, sizeof err) == DOPT_NPY_OK, "%s", err);
    CHECK(dopt_npy_read(path, &a, err, sizeof err) == DOPT_NPY_OK && a.count == 0 && a.ndim == 1, "empty array");
    dopt_npy_free(&a);

    unsigned char buf[4096];
    float f3[3] = {1, 2, 3};
    size_t len = numpy_file(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f3, sizeof f3);
    write_raw("np.npy", buf, len);
    CHECK(read_named("np.npy", &a, err, sizeof err) == DOPT_NPY_OK && a.count == 3 && ((float *)a.data)[2] == 3,
          "NumPy-style header: %s", err);
    dopt_npy_free(&a);
    /* big-endian data is swapped */
    unsigned char be[8] = {0x3f, 0xf0, 0, 0, 0, 0, 0, 0}; /* 1.0 as >f8 */
    len = numpy_file(buf, "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", be, 8);
    write_raw("be.npy", buf, len);
    CHECK(read_named("be.npy", &a, err, sizeof err) == DOPT_NPY_OK && ((double *)a.data)[0] == 1.0, "big endian");
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
        err[0] = 0;
        int rc = read_named(bad[i].name, &a, err, sizeof err);
        CHECK(rc == DOPT_NPY_MALFORMED && strlen(err) > 0, "%s: rc %d (%s)", bad[i].name, rc, err);
        CHECK(a.data == NULL, "%s: no data after failure", bad[i].name);
    }
    write_raw("magic.npy", "hello world, not numpy", 22);
    CHECK(read_named("magic.npy", &a, err, sizeof err) == DOPT_NPY_MALFORMED, "bad magic");
    CHECK(read_named("missing.npy", &a, err, sizeof err) == DOPT_NPY_NOT_FOUND, "missing file");
    printf("test_npy: %d checks, %d failed\n", tu_checks, tu_failures);
    return tu_failures ? 1 : 0;
}
