/* `dopt qp solve --ragged IN.npz`: the contract of the ragged-batch issue.
 * Outputs (keys, lengths, dtypes, default path) and their values, bitwise
 * equal to dopt_qp_ragged_solve and its backward in this process (which
 * test_qp_ragged ties to solving each instance alone); bad archives (missing
 * key, wrong dtype, inconsistent lengths, negative sizes, mixed float
 * dtypes) give a message naming the key and a non-zero exit. */
#include <sys/stat.h>
#include <sys/wait.h>

#include "test_util.h"
#include "cli_util.h"
#include "dopt_npz.h"

#define RB 5
static const int32_t rn[RB] = {3, 1, 6, 2, 4}, rm[RB] = {2, 0, 5, 1, 3}, rk[RB] = {1, 0, 2, 0, 1};

typedef struct {
    int64_t len[6]; /* Q p G h A b */
    double *v[6];
    double *dx;
} rc_data;

static rc_data rc_make(void)
{
    rc_data d;
    memset(&d, 0, sizeof d);
    for (int i = 0; i < RB; ++i) {
        d.len[0] += (int64_t)rn[i] * rn[i];
        d.len[1] += rn[i];
        d.len[2] += (int64_t)rm[i] * rn[i];
        d.len[3] += rm[i];
        d.len[4] += (int64_t)rk[i] * rn[i];
        d.len[5] += rk[i];
    }
    /* + 4: the "too long" archives write a few values past the end */
    for (int t = 0; t < 6; ++t) d.v[t] = (double *)calloc((size_t)d.len[t] + 4, 8);
    d.dx = (double *)calloc((size_t)d.len[1] + 1, 8);
    tu_seed(7);
    int64_t oQ = 0, on = 0, oG = 0, om = 0, oA = 0, ok = 0;
    for (int i = 0; i < RB; ++i) {
        int n = rn[i];
        double M[36];
        for (int e = 0; e < n * n; ++e) M[e] = tu_normal();
        for (int r = 0; r < n; ++r)
            for (int c = 0; c < n; ++c) {
                double s = r == c ? 1.0 : 0.0;
                for (int e = 0; e < n; ++e) s += M[r * n + e] * M[c * n + e];
                d.v[0][oQ + r * n + c] = s;
            }
        for (int j = 0; j < n; ++j) d.v[1][on + j] = tu_normal();
        for (int e = 0; e < rm[i] * n; ++e) d.v[2][oG + e] = tu_normal();
        for (int r = 0; r < rm[i]; ++r) d.v[3][om + r] = 0.5 + tu_unif();
        for (int e = 0; e < rk[i] * n; ++e) d.v[4][oA + e] = tu_normal();
        for (int r = 0; r < rk[i]; ++r) d.v[5][ok + r] = 0.1 * tu_normal();
        for (int j = 0; j < n; ++j) d.dx[on + j] = tu_normal();
        oQ += n * n;
        on += n;
        oG += rm[i] * n;
        om += rm[i];
        oA += rk[i] * n;
        ok += rk[i];
    }
    return d;
}

static void rc_free(rc_data *d)
{
    for (int t = 0; t < 6; ++t) free(d->v[t]);
    free(d->dx);
}

static const char *rc_keys[9] = {"n", "m", "k", "Q", "p", "G", "h", "A", "b"};

/* Writes the archive; `drop` (a key or NULL) is left out, `f32_key` (a key,
 * "*" for all, or NULL) is stored as float32, n_override replaces n. */
static void rc_write(const char *path, const rc_data *d, const char *drop, const char *f32_key,
                     const int32_t *n_override, const int32_t *m_override, int64_t p_len_delta)
{
    dopt_npz_entry e[9];
    int64_t shapes[9];
    float *f32[6] = {0};
    int count = 0;
    for (int t = 0; t < 9; ++t) {
        if (drop && !strcmp(drop, rc_keys[t])) continue;
        dopt_npz_entry *x = &e[count++];
        x->name = rc_keys[t];
        x->ndim = 1;
        x->shape = &shapes[t];
        if (t < 3) {
            shapes[t] = RB;
            x->kind = 'i';
            x->itemsize = 4;
            x->data = t == 0 ? (n_override ? n_override : rn) : t == 1 ? (m_override ? m_override : rm) : rk;
            continue;
        }
        int a = t - 3;
        shapes[t] = d->len[a] + (a == 1 ? p_len_delta : 0);
        x->kind = 'f';
        if (f32_key && (!strcmp(f32_key, "*") || !strcmp(f32_key, rc_keys[t]))) {
            f32[a] = (float *)calloc((size_t)d->len[a] + 1, 4);
            for (int64_t i = 0; i < d->len[a]; ++i) f32[a][i] = (float)d->v[a][i];
            x->itemsize = 4;
            x->data = f32[a];
        } else {
            x->itemsize = 8;
            x->data = d->v[a];
        }
    }
    CHECK(dopt_npz_write(tu_ctx, path, count, e) == DOPT_OK, "%s", dopt_context_last_error(tu_ctx));
    for (int a = 0; a < 6; ++a) free(f32[a]);
}

static const dopt_npy *rc_find(const dopt_npz *z, const char *key, char kind, int itemsize, int64_t len)
{
    const dopt_npy *a = dopt_npz_find(z, key);
    CHECK(a != NULL, "output has '%s'", key);
    if (!a) return NULL;
    CHECK(a->kind == kind && a->itemsize == itemsize && a->ndim == 1 && (int64_t)a->count == len,
          "'%s': kind %c size %d ndim %d count %lld, want %c %d 1 %lld", key, a->kind, a->itemsize, a->ndim,
          (long long)a->count, kind, itemsize, (long long)len);
    return a;
}

/* The CLI's outputs against the library's, float64. */
static void test_outputs(void)
{
    rc_data d = rc_make();
    char in[1024], dx[1024], out[1024], args[4096];
    snprintf(in, sizeof in, "%s/in.npz", work);
    snprintf(dx, sizeof dx, "%s/dx.npy", work);
    snprintf(out, sizeof out, "%s/out.npz", work);
    rc_write(in, &d, NULL, NULL, NULL, NULL, 0);
    int64_t nx = d.len[1];
    CHECK(dopt_npy_write(tu_ctx, dx, 'f', 8, 1, &nx, d.dx) == DOPT_OK, "dx");
    remove(out);
    snprintf(args, sizeof args, "qp solve --ragged '%s' --dx '%s' --threads 2", in, dx);
    CHECK(run(args) == 0, "ragged solve: %s", output_of("stderr"));
    CHECK(strstr(output_of("stdout"), "5 instances") != NULL, "summary: %s", output_of("stdout"));

    /* the reference: the library, in this process */
    int64_t tm = d.len[3], tk = d.len[5];
    double *x = calloc((size_t)nx, 8), *lam = calloc((size_t)tm, 8), *nu = calloc((size_t)tk, 8);
    int32_t st[RB], it[RB];
    dopt_qp_ragged_problem P = {RB, rn, rm, rk, DOPT_FLOAT64, d.v[0], d.v[1], d.v[2], d.v[3], d.v[4], d.v[5]};
    dopt_qp_solution sol = {x, lam, nu, st, it};
    dopt_qp_tape *tape = NULL;
    CHECK_OK(dopt_qp_ragged_solve(tu_ctx, &P, NULL, &sol, &tape));
    double *g[6];
    for (int t = 0; t < 6; ++t) g[t] = calloc((size_t)d.len[t] + 1, 8);
    dopt_qp_grad_in gi = {d.dx, NULL, NULL};
    dopt_qp_grad_out go = {g[0], g[1], g[2], g[3], g[4], g[5]};
    CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gi, &go));
    dopt_qp_tape_destroy(tape);

    dopt_npz z;
    CHECK(dopt_npz_read(tu_ctx, out, &z) == DOPT_OK, "read %s: %s", out, dopt_context_last_error(tu_ctx));
    CHECK(z.count == 11, "11 outputs, got %lld", (long long)z.count);
    const dopt_npy *a;
    if ((a = rc_find(&z, "x", 'f', 8, nx))) CHECK(!memcmp(a->data, x, 8 * (size_t)nx), "x equals the library's");
    if ((a = rc_find(&z, "lam", 'f', 8, tm))) CHECK(!memcmp(a->data, lam, 8 * (size_t)tm), "lam");
    if ((a = rc_find(&z, "nu", 'f', 8, tk))) CHECK(!memcmp(a->data, nu, 8 * (size_t)tk), "nu");
    if ((a = rc_find(&z, "status", 'i', 4, RB))) CHECK(!memcmp(a->data, st, sizeof st), "status");
    if ((a = rc_find(&z, "iters", 'i', 4, RB))) CHECK(!memcmp(a->data, it, sizeof it), "iters");
    static const char *gk[6] = {"dQ", "dp", "dG", "dh", "dA", "db"};
    for (int t = 0; t < 6; ++t)
        if ((a = rc_find(&z, gk[t], 'f', 8, d.len[t])))
            CHECK(!memcmp(a->data, g[t], 8 * (size_t)d.len[t]), "%s equals the library's", gk[t]);
    for (int i = 0; i < RB; ++i) CHECK(st[i] == DOPT_SOLVED, "instance %d solved", i);
    dopt_npz_free(&z);

    /* --out elsewhere; float32 in, float32 out; forward only: 5 arrays */
    char in32[1024], out32[1024];
    snprintf(in32, sizeof in32, "%s/in32.npz", work);
    snprintf(out32, sizeof out32, "%s/elsewhere.npz", work);
    rc_write(in32, &d, NULL, "*", NULL, NULL, 0);
    snprintf(args, sizeof args, "qp solve --ragged '%s' --out '%s' --quiet", in32, out32);
    CHECK(run(args) == 0, "float32: %s", output_of("stderr"));
    CHECK(output_of("stdout")[0] == 0, "--quiet prints nothing");
    if (dopt_npz_read(tu_ctx, out32, &z) == DOPT_OK) {
        CHECK(z.count == 5, "forward only: 5 outputs");
        if ((a = rc_find(&z, "x", 'f', 4, nx))) {
            double worst = 0;
            for (int64_t i = 0; i < nx; ++i) {
                double e = fabs(((const float *)a->data)[i] - x[i]);
                if (e > worst) worst = e;
            }
            /* float32 solve at its default tolerance 1e-4 on well-scaled data */
            CHECK(worst < 1e-2, "float32 x near the float64 x: %g", worst);
        }
        dopt_npz_free(&z);
    } else {
        CHECK(0, "read %s", out32);
    }
    for (int t = 0; t < 6; ++t) free(g[t]);
    free(x);
    free(lam);
    free(nu);
    rc_free(&d);
}

/* A bad archive: non-zero exit, stderr naming `key`. */
static void expect_bad(const char *what, const char *args, const char *key)
{
    int rc = run(args);
    CHECK(rc != 0, "%s: exit %d", what, rc);
    CHECK(stderr_mentions(key), "%s: stderr should name %s: %s", what, key, output_of("stderr"));
}

static void test_bad_files(void)
{
    rc_data d = rc_make();
    char in[1024], args[4096];
    snprintf(in, sizeof in, "%s/bad.npz", work);
    snprintf(args, sizeof args, "qp solve --ragged '%s' --quiet", in);
    for (int t = 0; t < 9; ++t) {
        rc_write(in, &d, rc_keys[t], NULL, NULL, NULL, 0);
        char key[16];
        snprintf(key, sizeof key, "'%s'", rc_keys[t]);
        expect_bad("missing key", args, key);
    }
    rc_write(in, &d, NULL, "h", NULL, NULL, 0);
    expect_bad("mixed float dtypes", args, "'h'");
    int32_t neg[RB] = {3, 1, 6, -2, 4}, zero[RB] = {3, 0, 6, 2, 4}, mneg[RB] = {2, 0, -5, 1, 3};
    rc_write(in, &d, NULL, NULL, neg, NULL, 0);
    expect_bad("negative n", args, "'n'[3] = -2");
    rc_write(in, &d, NULL, NULL, zero, NULL, 0);
    expect_bad("n = 0", args, "'n'[1] = 0");
    rc_write(in, &d, NULL, NULL, NULL, mneg, 0);
    expect_bad("negative m", args, "'m'[2] = -5");
    rc_write(in, &d, NULL, NULL, NULL, NULL, -1);
    expect_bad("p too short", args, "'p'");
    rc_write(in, &d, NULL, NULL, NULL, NULL, 2);
    expect_bad("p too long", args, "'p'");
    { /* m shorter than n */
        dopt_npz_entry e[9];
        int64_t sh[9], four = RB - 1;
        for (int t = 0; t < 9; ++t) {
            e[t].name = rc_keys[t];
            e[t].ndim = 1;
            e[t].shape = &sh[t];
            sh[t] = t < 3 ? RB : d.len[t - 3];
            e[t].kind = t < 3 ? 'i' : 'f';
            e[t].itemsize = t < 3 ? 4 : 8;
            e[t].data = t == 0 ? (const void *)rn : t == 1 ? (const void *)rm : t == 2 ? (const void *)rk : d.v[t - 3];
        }
        e[1].shape = &four;
        CHECK(dopt_npz_write(tu_ctx, in, 9, e) == DOPT_OK, "write");
        expect_bad("m length", args, "'m'");
        /* n as float64, p as int32 */
        e[1].shape = &sh[1];
        double nf[RB] = {3, 1, 6, 2, 4};
        e[0].kind = 'f';
        e[0].itemsize = 8;
        e[0].data = nf;
        CHECK(dopt_npz_write(tu_ctx, in, 9, e) == DOPT_OK, "write");
        expect_bad("float n", args, "'n' must be int32");
        e[0].kind = 'i';
        e[0].itemsize = 4;
        e[0].data = rn;
        int32_t *pi = calloc((size_t)d.len[1], 4);
        e[4].kind = 'i';
        e[4].itemsize = 4;
        e[4].data = pi;
        CHECK(dopt_npz_write(tu_ctx, in, 9, e) == DOPT_OK, "write");
        expect_bad("integer p", args, "'p' must be float");
        free(pi);
    }
    /* dx of the wrong length */
    rc_write(in, &d, NULL, NULL, NULL, NULL, 0);
    char dx[1024];
    snprintf(dx, sizeof dx, "%s/dx_bad.npy", work);
    int64_t short_len = d.len[1] - 1;
    CHECK(dopt_npy_write(tu_ctx, dx, 'f', 8, 1, &short_len, d.dx) == DOPT_OK, "dx");
    snprintf(args, sizeof args, "qp solve --ragged '%s' --dx '%s' --quiet", in, dx);
    expect_bad("dx length", args, "--dx");
    snprintf(args, sizeof args, "qp solve --ragged '%s/none.npz' --quiet", work);
    expect_bad("no such file", args, "none.npz");
    snprintf(args, sizeof args, "qp solve '%s' --ragged '%s'", work, in);
    CHECK(run(args) == 2, "DIR and --ragged together: a usage error");
    rc_free(&d);
}

int main(int argc, char **argv)
{
    tu_init(1, (char *[]){argv[0], (char *)"cpu"});
    if (argc < 3) {
        fprintf(stderr, "usage: test_cli_qp_ragged DOPT_BINARY WORKDIR\n");
        return 2;
    }
    dopt_bin = argv[1];
    work = argv[2];
    mkdirs(work);
    test_outputs();
    test_bad_files();
    return tu_finish("test_cli_qp_ragged");
}
