/* `dopt ilp solve --ragged IN.npz`: the contract of the ragged-batch issue.
 * A ragged file (float64 and float32) gives OUT.npz with the documented
 * keys, dtypes and lengths, bitwise the library's dopt_ilp_ragged_solve and
 * _backward on the same data; the default OUT is IN's folder/out.npz; bad
 * files (missing key, wrong dtype, inconsistent lengths, negative or too
 * large sizes, mixed float dtypes, a bad --dy) give a message naming the
 * key and a non-zero exit, and write nothing. */
#define _POSIX_C_SOURCE 200809L
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

#include "cli_util.h"

/* One ragged instance set (host doubles), as the file will hold it. */
enum { RB = 5 };
static const int32_t rn[RB] = {3, 1, 6, 2, 4}, rm[RB] = {2, 0, 3, 1, 5};
static int64_t sum_n, sum_mn, sum_m;
static double *rc, *rA, *rb_, *rdy;

static void make_data(void)
{
    sum_n = sum_mn = sum_m = 0;
    for (int i = 0; i < RB; ++i) sum_n += rn[i], sum_mn += (int64_t)rm[i] * rn[i], sum_m += rm[i];
    rc = malloc(8 * sum_n), rA = malloc(8 * sum_mn), rb_ = malloc(8 * sum_m), rdy = malloc(8 * sum_n);
    tu_seed(5);
    for (int64_t e = 0; e < sum_n; ++e) rc[e] = round(8 * tu_normal()) / 8, rdy[e] = round(8 * tu_normal()) / 8;
    for (int64_t e = 0; e < sum_mn; ++e) rA[e] = (double)(int)(tu_next() % 7) - 3;
    for (int64_t e = 0; e < sum_m; ++e) rb_[e] = (double)(int)(tu_next() % 5);
    rb_[1] = INFINITY; /* an absent row */
}

/* An entry of `count` values converted from doubles to (kind, itemsize). */
typedef struct {
    dopt_npz_entry e;
    int64_t shape[1];
    void *buf;
} entry_buf;

static void entry_make(entry_buf *b, const char *name, char kind, int itemsize, const double *v, int64_t count)
{
    b->buf = calloc((size_t)count + 1, 8);
    for (int64_t i = 0; i < count; ++i) {
        unsigned char *p = (unsigned char *)b->buf + i * itemsize;
        if (kind == 'f' && itemsize == 4) *(float *)p = (float)v[i];
        else if (kind == 'f') *(double *)p = v[i];
        else if (itemsize == 4) *(int32_t *)p = (int32_t)v[i];
        else *(int64_t *)p = (int64_t)v[i];
    }
    b->shape[0] = count;
    dopt_npz_entry e = {name, kind, itemsize, 1, b->shape, b->buf};
    b->e = e;
}

/* What a file variant changes. */
typedef struct {
    const char *drop;        /* a key left out */
    const char *float_sizes; /* "n" or "m" written as float64 */
    int f32;                 /* the float arrays as float32 */
    const char *mixed;       /* this key float32, the others float64 */
    int short_c;             /* c one value short */
    int short_m;             /* m one instance short */
    int bad_n, bad_m;        /* n[2] = bad_n, m[1] = bad_m when nonzero */
} variant;

static void write_file(const char *path, const variant *v)
{
    double n[RB], m[RB];
    for (int i = 0; i < RB; ++i) n[i] = rn[i], m[i] = rm[i];
    if (v->bad_n) n[2] = v->bad_n;
    if (v->bad_m) m[1] = v->bad_m;
    entry_buf b[5];
    int count = 0;
    const char *keys[5] = {"n", "m", "c", "A", "b"};
    const double *vals[5] = {n, m, rc, rA, rb_};
    int64_t counts[5] = {RB, RB - (v->short_m ? 1 : 0), sum_n - (v->short_c ? 1 : 0), sum_mn, sum_m};
    for (int k = 0; k < 5; ++k) {
        if (v->drop && !strcmp(v->drop, keys[k])) continue;
        char kind = k < 2 ? 'i' : 'f';
        int size = k < 2 ? 4 : (v->f32 ? 4 : 8);
        if (v->float_sizes && !strcmp(v->float_sizes, keys[k])) kind = 'f', size = 8;
        if (v->mixed && !strcmp(v->mixed, keys[k])) size = 4;
        entry_make(&b[count++], keys[k], kind, size, vals[k], counts[k]);
    }
    dopt_npz_entry e[5];
    for (int k = 0; k < count; ++k) e[k] = b[k].e;
    CHECK(dopt_npz_write(tu_ctx, path, count, e) == DOPT_OK, "%s", dopt_context_last_error(tu_ctx));
    for (int k = 0; k < count; ++k) free(b[k].buf);
}

/* The library on the same data: y, obj, status, nodes and the CombOptNet
 * gradients, as the file's dtype stores them (returned as doubles). */
typedef struct {
    double *y, *obj, *dA, *db, *dc;
    int32_t status[RB];
    int64_t nodes[RB];
} reference;

static void to_doubles(double *out, const void *p, int64_t count, int f32)
{
    for (int64_t i = 0; i < count; ++i) out[i] = f32 ? ((const float *)p)[i] : ((const double *)p)[i];
}

static void *from_doubles(const double *v, int64_t count, int f32)
{
    void *p = malloc(8 * (size_t)count + 8);
    for (int64_t i = 0; i < count; ++i) {
        if (f32) ((float *)p)[i] = (float)v[i];
        else ((double *)p)[i] = v[i];
    }
    return p;
}

static reference library_result(int f32)
{
    reference r;
    size_t es = f32 ? 4 : 8;
    void *c = from_doubles(rc, sum_n, f32), *A = from_doubles(rA, sum_mn, f32), *b = from_doubles(rb_, sum_m, f32);
    void *dy = from_doubles(rdy, sum_n, f32);
    void *y = malloc(es * sum_n), *obj = malloc(es * RB), *dA = malloc(es * sum_mn), *db = malloc(es * sum_m),
         *dc = malloc(es * sum_n);
    dopt_ilp_ragged_problem P = {RB, rn, rm, f32 ? DOPT_FLOAT32 : DOPT_FLOAT64, c, A, b, NULL, NULL};
    dopt_ilp_solution S = {y, obj, NULL, r.status, r.nodes};
    CHECK_OK(dopt_ilp_ragged_solve(tu_ctx, &P, NULL, &S));
    CHECK_OK(dopt_ilp_ragged_backward(tu_ctx, &P, NULL, NULL, y, r.status, dy, dA, db, dc));
    r.y = malloc(8 * sum_n), r.obj = malloc(8 * RB), r.dA = malloc(8 * sum_mn), r.db = malloc(8 * sum_m);
    r.dc = malloc(8 * sum_n);
    to_doubles(r.y, y, sum_n, f32), to_doubles(r.obj, obj, RB, f32), to_doubles(r.dA, dA, sum_mn, f32);
    to_doubles(r.db, db, sum_m, f32), to_doubles(r.dc, dc, sum_n, f32);
    free(c), free(A), free(b), free(dy), free(y), free(obj), free(dA), free(db), free(dc);
    return r;
}

static void reference_free(reference *r) { free(r->y), free(r->obj), free(r->dA), free(r->db), free(r->dc); }

/* OUT.npz's array `key`: kind, itemsize, length checked; as doubles (or NULL). */
static double *out_array(const dopt_npz *z, const char *key, char kind, int itemsize, int64_t count)
{
    const dopt_npy *a = dopt_npz_find(z, key);
    CHECK(a != NULL, "OUT.npz has no '%s'", key);
    if (!a) return NULL;
    CHECK(a->kind == kind && a->itemsize == itemsize && a->ndim == 1 && a->shape[0] == count,
          "'%s': kind %c size %d ndim %d len %lld, expected %c %d 1-D %lld", key, a->kind, a->itemsize, a->ndim,
          a->ndim ? (long long)a->shape[0] : -1LL, kind, itemsize, (long long)count);
    if (!(a->kind == kind && a->itemsize == itemsize && (int64_t)a->count == count)) return NULL;
    double *v = malloc(8 * (size_t)count + 8);
    for (int64_t i = 0; i < count; ++i) {
        const unsigned char *p = (const unsigned char *)a->data + i * itemsize;
        v[i] = kind == 'f' ? (itemsize == 4 ? *(const float *)p : *(const double *)p)
                           : (itemsize == 4 ? *(const int32_t *)p : (double)*(const int64_t *)p);
    }
    return v;
}

static void same(const char *what, const double *a, const double *b, int64_t count)
{
    if (!a || !b) return;
    int64_t bad = 0;
    for (int64_t i = 0; i < count; ++i) bad += memcmp(&a[i], &b[i], 8) != 0;
    CHECK(bad == 0, "%s: %lld of %lld values differ from the library's", what, (long long)bad, (long long)count);
}

static void test_good_file(int f32)
{
    char dir[1024], in[1100], dy[1100], cmd[4096], out[1100];
    snprintf(dir, sizeof dir, "%s/good%d", work, f32);
    mkdirs(dir);
    snprintf(in, sizeof in, "%s/in.npz", dir);
    snprintf(dy, sizeof dy, "%s/dy.npy", dir);
    snprintf(out, sizeof out, "%s/out.npz", dir);
    unlink(out);
    variant v = {0};
    v.f32 = f32;
    write_file(in, &v);
    int64_t shape[1] = {sum_n};
    CHECK(dopt_npy_write(tu_ctx, dy, 'f', 8, 1, shape, rdy) == DOPT_OK, "%s", dopt_context_last_error(tu_ctx));
    snprintf(cmd, sizeof cmd, "ilp solve --ragged '%s' --dy '%s' --method combopt --quiet", in, dy);
    int code = run(cmd);
    CHECK(code == 0, "good ragged file (f32 %d): exit %d: %s", f32, code, output_of("stderr"));
    dopt_npz z;
    CHECK(dopt_npz_read(tu_ctx, out, &z) == DOPT_OK, "default OUT %s: %s", out, dopt_context_last_error(tu_ctx));
    reference r = library_result(f32);
    int es = f32 ? 4 : 8;
    double *y = out_array(&z, "y", 'f', es, sum_n), *obj = out_array(&z, "obj", 'f', es, RB);
    double *st = out_array(&z, "status", 'i', 4, RB), *nodes = out_array(&z, "nodes", 'i', 8, RB);
    double *dA = out_array(&z, "dA", 'f', es, sum_mn), *db = out_array(&z, "db", 'f', es, sum_m);
    double *dc = out_array(&z, "dc", 'f', es, sum_n);
    same("y", y, r.y, sum_n), same("obj", obj, r.obj, RB);
    same("dA", dA, r.dA, sum_mn), same("db", db, r.db, sum_m), same("dc", dc, r.dc, sum_n);
    double rs[RB], rnodes[RB];
    for (int i = 0; i < RB; ++i) rs[i] = r.status[i], rnodes[i] = (double)r.nodes[i];
    same("status", st, rs, RB), same("nodes", nodes, rnodes, RB);
    int solved = 0;
    for (int i = 0; i < RB; ++i) solved += r.status[i] == DOPT_SOLVED;
    CHECK(solved >= 3, "the good file should have solvable instances (%d solved)", solved);
    free(y), free(obj), free(st), free(nodes), free(dA), free(db), free(dc);
    dopt_npz_free(&z);
    reference_free(&r);
    /* --out elsewhere; without --dy no gradients */
    char out2[1200];
    snprintf(out2, sizeof out2, "%s/other.npz", dir);
    snprintf(cmd, sizeof cmd, "ilp solve --ragged '%s' --out '%s' --quiet", in, out2);
    CHECK(run(cmd) == 0, "--out: %s", output_of("stderr"));
    CHECK(dopt_npz_read(tu_ctx, out2, &z) == DOPT_OK, "--out %s: %s", out2, dopt_context_last_error(tu_ctx));
    CHECK(dopt_npz_find(&z, "y") && !dopt_npz_find(&z, "dA"), "--out without --dy: y and no dA");
    dopt_npz_free(&z);
}

/* A bad file: exit non-zero, stderr names `needle`, nothing written. */
static void bad_file(const char *what, const variant *v, const char *extra, const char *needle)
{
    char dir[1024], in[1100], out[1100], cmd[4096];
    snprintf(dir, sizeof dir, "%s/bad", work);
    mkdirs(dir);
    snprintf(in, sizeof in, "%s/in.npz", dir);
    snprintf(out, sizeof out, "%s/out.npz", dir);
    unlink(out);
    write_file(in, v);
    snprintf(cmd, sizeof cmd, "ilp solve --ragged '%s' %s", in, extra ? extra : "");
    int code = run(cmd);
    CHECK(code != 0 && stderr_mentions(needle), "%s: exit %d, stderr should name %s: %s", what, code, needle,
          output_of("stderr"));
    CHECK(access(out, F_OK) != 0, "%s: nothing should be written", what);
}

static void test_bad_files(void)
{
    variant v;
    memset(&v, 0, sizeof v), v.drop = "b";
    bad_file("missing b", &v, NULL, "'b'");
    memset(&v, 0, sizeof v), v.drop = "m";
    bad_file("missing m", &v, NULL, "'m'");
    memset(&v, 0, sizeof v), v.float_sizes = "n";
    bad_file("float n", &v, NULL, "'n'");
    memset(&v, 0, sizeof v), v.bad_m = -1;
    bad_file("negative m", &v, NULL, "'m'[1] = -1");
    memset(&v, 0, sizeof v), v.bad_n = -3;
    bad_file("negative n", &v, NULL, "'n'[2] = -3");
    memset(&v, 0, sizeof v), v.bad_n = 300;
    bad_file("n too big", &v, NULL, "'n'[2] = 300");
    memset(&v, 0, sizeof v), v.short_c = 1;
    bad_file("c too short", &v, NULL, "'c'");
    memset(&v, 0, sizeof v), v.short_m = 1;
    bad_file("m shorter than n", &v, NULL, "'m'");
    memset(&v, 0, sizeof v), v.mixed = "A";
    bad_file("mixed float dtypes", &v, NULL, "'A'");
    memset(&v, 0, sizeof v);
    char dy[1100], extra[1200];
    snprintf(dy, sizeof dy, "%s/dy_short.npy", work);
    int64_t shape[1] = {sum_n - 1};
    CHECK(dopt_npy_write(tu_ctx, dy, 'f', 8, 1, shape, rdy) == DOPT_OK, "%s", dopt_context_last_error(tu_ctx));
    snprintf(extra, sizeof extra, "--dy '%s'", dy);
    bad_file("short --dy", &v, extra, "--dy");
    /* not an archive; both DIR and --ragged */
    char notnpz[1100], cmd[4096];
    snprintf(notnpz, sizeof notnpz, "%s/not.npz", work);
    FILE *f = fopen(notnpz, "w");
    if (f) fputs("hello", f), fclose(f);
    snprintf(cmd, sizeof cmd, "ilp solve --ragged '%s'", notnpz);
    CHECK(run(cmd) != 0 && stderr_mentions("not.npz"), "not an npz: %s", output_of("stderr"));
    snprintf(cmd, sizeof cmd, "ilp solve '%s' --ragged '%s'", work, notnpz);
    CHECK(run(cmd) == 2, "DIR and --ragged together: usage error");
}

int main(int argc, char **argv)
{
    tu_init(1, (char *[]){argv[0], (char *)"cpu"});
    if (argc < 3) {
        fprintf(stderr, "usage: test_cli_ilp_ragged DOPT_BINARY WORKDIR\n");
        return 2;
    }
    dopt_bin = argv[1];
    work = argv[2];
    mkdirs(work);
    make_data();
    test_good_file(0);
    test_good_file(1);
    test_bad_files();
    free(rc), free(rA), free(rb_), free(rdy);
    return tu_finish("test_cli_ilp_ragged");
}
