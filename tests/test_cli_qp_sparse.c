/* `dopt qp solve DIR` with sparse inputs (DIR/Q.npz, G.npz, A.npz in
 * scipy.sparse.save_npz's CSR format; the contract of the sparse-layer
 * issue): the sparse run agrees with the dense run of the same problem (x,
 * lam, nu and the gradients; the .npz gradients on their patterns, the
 * dense gradients of .npy matrices in full, off the union pattern too);
 * non-canonical CSR is made canonical; every malformed archive gives a
 * non-zero exit and a message naming the file. The .npz files are written
 * from C (the internal writer that stores scipy's b'csr'), so no Python is
 * needed. Without a sparse QP layer in the build (DOPT_ERR_UNSUPPORTED) the
 * numerical checks are skipped, saying so, and the input checks still run. */
#include <sys/stat.h>
#include <sys/wait.h>

#include "test_util.h"
#include "cli_util.h"
#include "dopt_npz.h"
#include "dopt_sparse_qp.h"
#include "npy_internal.h"

enum { N = 7, M = 5, K = 2, B = 4 };

/* A CSR matrix as the test writes it: int32 indptr and indices, float64 data. */
typedef struct {
    int rows, cols, nnz;
    int32_t indptr[N + 1];
    int32_t indices[N * N];
    double data[N * N];
} csr;

/* The problem: shared sparse Q, G, A; per-instance p, h; shared b. */
static csr Qs, Gs, As;
static double p[B * N], h[B * M], b[K], dx[B * N], dlam[B * M];

/* entry i of a numeric array as a double */
static double value_of(const dopt_npy *a, size_t i)
{
    const unsigned char *q = (const unsigned char *)a->data + i * (size_t)a->itemsize;
    if (a->kind == 'f') {
        if (a->itemsize == 8) {
            double v;
            memcpy(&v, q, 8);
            return v;
        }
        float v;
        memcpy(&v, q, 4);
        return v;
    }
    if (a->itemsize == 8) {
        int64_t v;
        memcpy(&v, q, 8);
        return (double)v;
    }
    int32_t v;
    memcpy(&v, q, 4);
    return v;
}

static void dense_of(const csr *c, double *out)
{
    memset(out, 0, sizeof(double) * (size_t)c->rows * (size_t)c->cols);
    for (int r = 0; r < c->rows; ++r)
        for (int e = c->indptr[r]; e < c->indptr[r + 1]; ++e) out[r * c->cols + c->indices[e]] += c->data[e];
}

/* keeps the entries of dense (rows x cols) that `keep` says, row by row */
static void csr_of(int rows, int cols, const double *dense, csr *c)
{
    memset(c, 0, sizeof *c);
    c->rows = rows;
    c->cols = cols;
    for (int r = 0; r < rows; ++r) {
        for (int j = 0; j < cols; ++j)
            if (dense[r * cols + j] != 0) {
                c->indices[c->nnz] = j;
                c->data[c->nnz++] = dense[r * cols + j];
            }
        c->indptr[r + 1] = c->nnz;
    }
}

static void make_problem(void)
{
    tu_seed(19);
    double Qd[N * N] = {0}, Gd[M * N] = {0}, Ad[K * N] = {0};
    /* Q: a band (diagonally dominant: positive definite) with a few far entries, symmetric */
    for (int i = 0; i < N; ++i) {
        Qd[i * N + i] = 3 + tu_unif();
        if (i + 1 < N) Qd[i * N + i + 1] = Qd[(i + 1) * N + i] = 0.5 * tu_normal();
    }
    Qd[0 * N + 5] = Qd[5 * N + 0] = 0.3;
    for (int r = 0; r < M; ++r)
        for (int j = 0; j < N; ++j)
            if (tu_unif() < 0.45 || j == r) Gd[r * N + j] = tu_normal();
    for (int r = 0; r < K; ++r)
        for (int j = 0; j < N; ++j)
            if (tu_unif() < 0.5 || j == 2 * r) Ad[r * N + j] = tu_normal();
    csr_of(N, N, Qd, &Qs);
    csr_of(M, N, Gd, &Gs);
    csr_of(K, N, Ad, &As);
    /* large linear terms and tight bounds: some inequalities are active */
    for (int e = 0; e < B * N; ++e) p[e] = 3 * tu_normal();
    for (int e = 0; e < B * M; ++e) h[e] = 0.1 + 0.4 * tu_unif();
    for (int e = 0; e < K; ++e) b[e] = 0.2 * tu_normal();
    for (int e = 0; e < B * N; ++e) dx[e] = tu_normal();
    for (int e = 0; e < B * M; ++e) dlam[e] = tu_normal();
}

/* How write_npz damages an archive (one at a time). */
typedef struct {
    const char *format; /* NULL: "csr" */
    const char *drop;   /* a key left out */
    int indptr_len_delta, data_len_delta;
    int shape_cols_delta;
    int swap_indptr;  /* indptr[1] > indptr[2]: not monotone */
    int bad_index;    /* one index = cols */
    int indptr_last_delta;
    int f32_data; /* not damage: data stored as float32 */
} damage;

static void write_npz(const char *path, const csr *c, const damage *d)
{
    static const damage none;
    if (!d) d = &none;
    int32_t indptr[N + 2];
    int32_t indices[N * N + 1];
    double data[N * N + 2];
    float data32[N * N + 2];
    memcpy(indptr, c->indptr, sizeof(int32_t) * (size_t)(c->rows + 1));
    memcpy(indices, c->indices, sizeof(int32_t) * (size_t)c->nnz);
    memcpy(data, c->data, sizeof(double) * (size_t)c->nnz);
    data[c->nnz] = data[c->nnz + 1] = 1.0;
    for (int e = 0; e < c->nnz + 2; ++e) data32[e] = (float)data[e];
    indptr[c->rows + 1] = c->nnz;
    if (d->swap_indptr) indptr[1] = indptr[2] + 1;
    if (d->bad_index) indices[c->nnz - 1] = c->cols;
    indptr[c->rows] += d->indptr_last_delta;
    const char *fmt = d->format ? d->format : "csr";
    int64_t shape_v[2] = {c->rows, c->cols + d->shape_cols_delta}, two = 2;
    int64_t ptr_len = c->rows + 1 + d->indptr_len_delta, nnz = c->nnz, data_len = c->nnz + d->data_len_delta;
    dopt_npz_entry all[5] = {
        {"indices", 'i', 4, 1, &nnz, indices},
        {"indptr", 'i', 4, 1, &ptr_len, indptr},
        {"format", 'S', (int)strlen(fmt), 0, NULL, fmt},
        {"shape", 'i', 8, 1, &two, shape_v},
        {"data", 'f', d->f32_data ? 4 : 8, 1, &data_len, d->f32_data ? (const void *)data32 : (const void *)data},
    };
    dopt_npz_entry kept[5];
    int count = 0;
    for (int e = 0; e < 5; ++e)
        if (!d->drop || strcmp(d->drop, all[e].name)) kept[count++] = all[e];
    CHECK(dopt_npz_write_ex(tu_ctx, path, count, kept, DOPT_NPY_ALLOW_STRINGS) == DOPT_OK, "%s",
          dopt_context_last_error(tu_ctx));
}

/* p, and h (with G) and b (with A) when asked for */
static void put_vectors_as(const char *dir, int with_h, int with_b, int f32)
{
    int64_t sp[2] = {B, N}, sh[2] = {B, M}, sb[1] = {K};
    put(dir, "p", 2, sp, p, f32);
    if (with_h) put(dir, "h", 2, sh, h, f32);
    if (with_b) put(dir, "b", 1, sb, b, f32);
}

static void put_vectors(const char *dir, int with_h, int with_b) { put_vectors_as(dir, with_h, with_b, 0); }

static void put_dense_matrix(const char *dir, const char *name, const csr *c)
{
    double d[N * N];
    dense_of(c, d);
    int64_t shape[2] = {c->rows, c->cols};
    put(dir, name, 2, shape, d, 0);
}

static void remove_file(const char *dir, const char *name)
{
    char path[2400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    remove(path);
}

/* |a - b| <= tol (1 + |b|) over the arrays DIR_A/name.npy and DIR_B/name.npy */
static void compare(const char *da, const char *db, const char *name, double tol)
{
    dopt_npy a, c;
    if (!get(da, name, &a)) return;
    if (!get(db, name, &c)) {
        dopt_npy_free(&a);
        return;
    }
    CHECK(a.count == c.count && a.ndim == c.ndim, "%s: %s has %zu values (%d dims), %s %zu (%d)", name, da, a.count,
          a.ndim, db, c.count, c.ndim);
    for (int d = 0; d < a.ndim && d < c.ndim; ++d)
        CHECK(a.shape[d] == c.shape[d], "%s: dimension %d differs", name, d);
    double worst = 0;
    for (size_t i = 0; i < a.count && i < c.count; ++i) {
        double u = value_of(&a, i), v = value_of(&c, i);
        double err = fabs(u - v) / (1 + fabs(v));
        if (!(err <= worst)) worst = err;
    }
    CHECK(worst <= tol, "%s: sparse and dense runs differ by %.3g (relative), more than %.1g", name, worst, tol);
    dopt_npy_free(&a);
    dopt_npy_free(&c);
}

static int sparse_layer_available(void)
{
    static const int64_t indptr[2] = {0, 1};
    static const int32_t indices[1] = {0};
    dopt_sparse_qp_pattern pat;
    memset(&pat, 0, sizeof pat);
    pat.n = 1;
    pat.Q.rows = pat.Q.cols = 1;
    pat.Q.nnz = 1;
    pat.Q.indptr = indptr;
    pat.Q.indices = indices;
    pat.G.cols = pat.A.cols = 1;
    dopt_sparse_qp_structure *s = NULL;
    dopt_status st = dopt_sparse_qp_analyze(tu_ctx, &pat, &s);
    dopt_sparse_qp_structure_destroy(s);
    if (st == DOPT_ERR_UNSUPPORTED) {
        printf("skipped (numerical checks): %s\n", dopt_context_last_error(tu_ctx));
        return 0;
    }
    CHECK(st == DOPT_OK, "analyse of a 1x1 pattern: %s", dopt_context_last_error(tu_ctx));
    return st == DOPT_OK;
}

/* Reads OUT/dNAME.npz: scipy's keys, format b'csr', shape, the pattern of c,
 * and its data equal to the dense gradient DENSE/dNAME.npy at the pattern. */
static void check_npz_grad(const char *out, const char *dense_dir, const char *name, const csr *c, double tol)
{
    char path[2400], gname[16];
    snprintf(gname, sizeof gname, "d%s", name);
    snprintf(path, sizeof path, "%s/%s.npz", out, gname);
    dopt_npz z;
    if (dopt_npz_read_ex(tu_ctx, path, &z, DOPT_NPY_ALLOW_STRINGS) != DOPT_OK) {
        CHECK(0, "%s: %s", path, dopt_context_last_error(tu_ctx));
        return;
    }
    const dopt_npy *fmt = dopt_npz_find(&z, "format"), *shape = dopt_npz_find(&z, "shape"),
                   *indptr = dopt_npz_find(&z, "indptr"), *indices = dopt_npz_find(&z, "indices"),
                   *data = dopt_npz_find(&z, "data");
    CHECK(fmt && shape && indptr && indices && data, "%s: a key of data, indices, indptr, shape, format is missing",
          path);
    dopt_npy dense;
    if (fmt && shape && indptr && indices && data && get(dense_dir, gname, &dense)) {
        CHECK(fmt->kind == 'S' && fmt->itemsize == 3 && fmt->ndim == 0 && !memcmp(fmt->data, "csr", 3),
              "%s: format is not b'csr'", path);
        CHECK(shape->count == 2 && value_of(shape, 0) == c->rows && value_of(shape, 1) == c->cols,
              "%s: shape", path);
        CHECK(indptr->count == (size_t)c->rows + 1 && indices->count == (size_t)c->nnz &&
                  data->count == (size_t)c->nnz && indices->kind == 'i' && indices->itemsize == 4,
              "%s: lengths or dtypes", path);
        for (int r = 0; r <= c->rows && indptr->count == (size_t)c->rows + 1; ++r)
            CHECK(value_of(indptr, (size_t)r) == c->indptr[r], "%s: indptr[%d]", path, r);
        double worst = 0;
        for (int r = 0; r < c->rows && data->count == (size_t)c->nnz; ++r)
            for (int e = c->indptr[r]; e < c->indptr[r + 1]; ++e) {
                CHECK(value_of(indices, (size_t)e) == c->indices[e], "%s: indices[%d]", path, e);
                double v = value_of(&dense, (size_t)r * (size_t)c->cols + (size_t)c->indices[e]);
                double err = fabs(value_of(data, (size_t)e) - v) / (1 + fabs(v));
                if (!(err <= worst)) worst = err;
            }
        CHECK(worst <= tol, "%s: differs from the dense gradient on the pattern by %.3g", path, worst);
        dopt_npy_free(&dense);
    }
    dopt_npz_free(&z);
}

/* Tolerance of the agreement: both runs solve to --tol 1e-10 (relative
 * KKT residual and gap) on small, well-conditioned instances (Q diagonally
 * dominant, strictly complementary at these data), where the solution and
 * the adjoint move by at most a modest multiple of that residual: 1e-6 is
 * far above that and far below any real error (wrong pattern, a lost
 * entry, a transposed gradient). */
#define AGREE 1e-6

static void test_sparse_matches_dense(int available)
{
    char sp[1024], de[1024], cmd[4096];
    snprintf(sp, sizeof sp, "%s/sparse", work);
    snprintf(de, sizeof de, "%s/dense", work);
    mkdirs(sp);
    mkdirs(de);
    put_vectors(sp, 1, 1);
    put_vectors(de, 1, 1);
    char path[2400];
    const csr *mats[3] = {&Qs, &Gs, &As};
    const char *names[3] = {"Q", "G", "A"};
    for (int t = 0; t < 3; ++t) {
        snprintf(path, sizeof path, "%s/%s.npz", sp, names[t]);
        write_npz(path, mats[t], NULL);
        put_dense_matrix(de, names[t], mats[t]);
    }
    int64_t sx[2] = {B, N}, sl[2] = {B, M};
    put(work, "dx", 2, sx, dx, 0);
    put(work, "dlam", 2, sl, dlam, 0);
    snprintf(cmd, sizeof cmd, "qp solve '%s' --tol 1e-10 --dx '%s/dx.npy' --dlam '%s/dlam.npy'", sp, work, work);
    int rc = run(cmd);
    if (!available) {
        CHECK(rc != 0 && stderr_mentions("sparse"), "without a sparse layer: exit %d, stderr '%s'", rc,
              output_of("stderr"));
        return;
    }
    CHECK(rc == 0, "sparse run: exit %d: %s", rc, output_of("stderr"));
    CHECK(strstr(output_of("stdout"), "sparse layer") != NULL, "the summary does not say the sparse layer ran");
    snprintf(cmd, sizeof cmd, "qp solve '%s' --tol 1e-10 --dx '%s/dx.npy' --dlam '%s/dlam.npy'", de, work, work);
    rc = run(cmd);
    CHECK(rc == 0, "dense run: exit %d: %s", rc, output_of("stderr"));
    static const char *outs[] = {"x", "lam", "nu", "dp", "dh", "db"};
    for (size_t i = 0; i < sizeof outs / sizeof *outs; ++i) compare(sp, de, outs[i], AGREE);
    dopt_npy st;
    if (get(sp, "status", &st)) {
        for (size_t i = 0; i < st.count; ++i)
            CHECK(((int32_t *)st.data)[i] == 0, "instance %zu: status %d", i, ((int32_t *)st.data)[i]);
        dopt_npy_free(&st);
    }
    dopt_npy lam;
    if (get(sp, "lam", &lam)) { /* the data must make the gradients through G and h nontrivial */
        int active = 0;
        for (size_t i = 0; i < lam.count; ++i) active += ((double *)lam.data)[i] > 1e-6;
        CHECK(active > 0, "no active inequality: the test data do not exercise dG");
        dopt_npy_free(&lam);
    }
    for (int t = 0; t < 3; ++t) check_npz_grad(sp, de, names[t], mats[t], AGREE);
    for (int t = 0; t < 3; ++t) {
        snprintf(path, sizeof path, "%s/d%s.npy", sp, names[t]);
        struct stat sb;
        CHECK(stat(path, &sb) != 0, "%s written for a sparse input (its gradient belongs in d%s.npz)", path, names[t]);
    }
}

/* Every input float32 (the .npz data too): the run is float32 (outputs of
 * that dtype), solved in float64 inside the layer and rounded. It is
 * compared with the float64 run of the unrounded data: the inputs differ by
 * float32 rounding (6e-8 relative), amplified by the instances'
 * conditioning (measured: x 1.7e-6, dp 2.6e-5 relative, dp being the more
 * sensitive adjoint); 1e-4 leaves a factor 4 and still catches a lost
 * entry or a wrong value (errors of order 1). */
static void test_float32(int available)
{
    if (!available) return;
    char dir[1024], sp64[1024], cmd[4096], path[2400];
    snprintf(dir, sizeof dir, "%s/float32", work);
    snprintf(sp64, sizeof sp64, "%s/sparse", work);
    mkdirs(dir);
    put_vectors_as(dir, 1, 1, 1);
    const csr *mats[3] = {&Qs, &Gs, &As};
    const char *names[3] = {"Q", "G", "A"};
    damage f32 = {.f32_data = 1};
    for (int t = 0; t < 3; ++t) {
        snprintf(path, sizeof path, "%s/%s.npz", dir, names[t]);
        write_npz(path, mats[t], &f32);
    }
    snprintf(cmd, sizeof cmd, "qp solve '%s' --dx '%s/dx.npy' --dlam '%s/dlam.npy' --quiet", dir, work, work);
    int rc = run(cmd);
    CHECK(rc == 0, "float32 run: exit %d: %s", rc, output_of("stderr"));
    dopt_npy x;
    if (get(dir, "x", &x)) {
        CHECK(x.kind == 'f' && x.itemsize == 4, "float32 inputs gave x of itemsize %d", x.itemsize);
        dopt_npy_free(&x);
    }
    snprintf(path, sizeof path, "%s/dG.npz", dir);
    dopt_npz z;
    if (dopt_npz_read_ex(tu_ctx, path, &z, DOPT_NPY_ALLOW_STRINGS) == DOPT_OK) {
        const dopt_npy *data = dopt_npz_find(&z, "data");
        CHECK(data && data->itemsize == 4, "%s: data is not float32", path);
        dopt_npz_free(&z);
    } else {
        CHECK(0, "%s: %s", path, dopt_context_last_error(tu_ctx));
    }
    compare(dir, sp64, "x", 1e-4);
    compare(dir, sp64, "dp", 1e-4);
}

/* Q sparse, G a dense batch (B, M, N) whose instances have different
 * zeros (the pattern is their union), A dense and shared: every dense
 * gradient equals the dense run's everywhere (entries zero in every
 * instance too). */
static void test_mixed(int available)
{
    if (!available) return;
    char sp[1024], de[1024], cmd[4096], path[2400];
    snprintf(sp, sizeof sp, "%s/mixed", work);
    snprintf(de, sizeof de, "%s/mixed_dense", work);
    mkdirs(sp);
    mkdirs(de);
    put_vectors(sp, 1, 1);
    put_vectors(de, 1, 1);
    double Gd[M * N], Gb[B * M * N];
    dense_of(&Gs, Gd);
    for (int i = 0; i < B; ++i)
        for (int e = 0; e < M * N; ++e) {
            double v = Gd[e] * (1 + 0.2 * tu_normal());
            if (Gd[e] != 0 && (e + i) % 5 == 0) v = 0; /* a zero in this instance only */
            Gb[i * M * N + e] = v;
        }
    int64_t sg[3] = {B, M, N};
    put(sp, "G", 3, sg, Gb, 0);
    put(de, "G", 3, sg, Gb, 0);
    put_dense_matrix(sp, "A", &As);
    put_dense_matrix(de, "A", &As);
    snprintf(path, sizeof path, "%s/Q.npz", sp);
    write_npz(path, &Qs, NULL);
    put_dense_matrix(de, "Q", &Qs);
    snprintf(cmd, sizeof cmd, "qp solve '%s' --tol 1e-10 --dx '%s/dx.npy' --dlam '%s/dlam.npy' --quiet", sp, work, work);
    int rc = run(cmd);
    CHECK(rc == 0, "mixed run: exit %d: %s", rc, output_of("stderr"));
    snprintf(cmd, sizeof cmd, "qp solve '%s' --tol 1e-10 --dx '%s/dx.npy' --dlam '%s/dlam.npy' --quiet", de, work, work);
    rc = run(cmd);
    CHECK(rc == 0, "dense run: exit %d: %s", rc, output_of("stderr"));
    static const char *outs[] = {"x", "lam", "nu", "dp", "dh", "db", "dG", "dA"};
    for (size_t i = 0; i < sizeof outs / sizeof *outs; ++i) compare(sp, de, outs[i], AGREE);
    check_npz_grad(sp, de, "Q", &Qs, AGREE);

    /* a NaN in instance 2's G: status 5 there, the other instances bitwise as before */
    char nan_dir[1024];
    snprintf(nan_dir, sizeof nan_dir, "%s/mixed_nan", work);
    mkdirs(nan_dir);
    put_vectors(nan_dir, 1, 1);
    /* at an entry nonzero in that instance: the union pattern, and so every other instance's
     * factorization, stays as it was */
    int at = 0;
    while (Gb[2 * M * N + at] == 0) ++at;
    Gb[2 * M * N + at] = NAN;
    put(nan_dir, "G", 3, sg, Gb, 0);
    put_dense_matrix(nan_dir, "A", &As);
    snprintf(path, sizeof path, "%s/Q.npz", nan_dir);
    write_npz(path, &Qs, NULL);
    snprintf(cmd, sizeof cmd, "qp solve '%s' --tol 1e-10 --quiet", nan_dir);
    rc = run(cmd);
    CHECK(rc == 0, "NaN run: exit %d: %s", rc, output_of("stderr"));
    dopt_npy st, xa, xb;
    if (get(nan_dir, "status", &st) && get(nan_dir, "x", &xa) && get(sp, "x", &xb)) {
        const int32_t *code = (const int32_t *)st.data;
        for (int i = 0; i < B; ++i) {
            CHECK(code[i] == (i == 2 ? DOPT_INVALID_DATA : 0), "instance %d: status %d", i, code[i]);
            if (i != 2)
                CHECK(!memcmp((double *)xa.data + i * N, (double *)xb.data + i * N, sizeof(double) * N),
                      "instance %d changed by a NaN in instance 2", i);
        }
        dopt_npy_free(&st);
        dopt_npy_free(&xa);
        dopt_npy_free(&xb);
    }
}

/* Rows with unsorted indices and a repeated entry give the run of the
 * canonical matrix (the repeat 0.5 + 0.25 = 0.75 is exact), and dG.npz
 * comes back on the canonical pattern. */
static void test_canonical(int available)
{
    char dir[1024], ref[1024], cmd[4096], path[2400];
    snprintf(dir, sizeof dir, "%s/noncanonical", work);
    snprintf(ref, sizeof ref, "%s/canonical", work);
    mkdirs(dir);
    mkdirs(ref);
    put_vectors(dir, 1, 0);
    put_vectors(ref, 1, 0);
    csr G = Gs;
    G.data[0] = 0.75; /* row 0's first entry, split below */
    csr messy = G;
    /* row 0 reversed, its first entry (now last) split into 0.5 + 0.25, shifting the later rows by one */
    int r0 = G.indptr[1];
    for (int e = 0; e < r0; ++e) {
        messy.indices[e] = G.indices[r0 - 1 - e];
        messy.data[e] = G.data[r0 - 1 - e];
    }
    messy.data[r0 - 1] = 0.5;
    messy.indices[r0] = G.indices[0];
    messy.data[r0] = 0.25;
    for (int e = r0; e < G.nnz; ++e) {
        messy.indices[e + 1] = G.indices[e];
        messy.data[e + 1] = G.data[e];
    }
    for (int r = 1; r <= G.rows; ++r) messy.indptr[r] = G.indptr[r] + 1;
    messy.nnz = G.nnz + 1;
    snprintf(path, sizeof path, "%s/G.npz", dir);
    write_npz(path, &messy, NULL);
    snprintf(path, sizeof path, "%s/G.npz", ref);
    write_npz(path, &G, NULL);
    put_dense_matrix(dir, "Q", &Qs);
    put_dense_matrix(ref, "Q", &Qs);
    snprintf(cmd, sizeof cmd, "qp solve '%s' --dx '%s/dx.npy'", dir, work);
    int rc = run(cmd);
    if (!available) {
        CHECK(rc != 0, "without a sparse layer the run must fail");
        return;
    }
    CHECK(rc == 0, "non-canonical run: exit %d: %s", rc, output_of("stderr"));
    CHECK(stderr_mentions("canonical") && stderr_mentions("G.npz"), "no note on the canonical form: '%s'",
          output_of("stderr"));
    snprintf(cmd, sizeof cmd, "qp solve '%s' --dx '%s/dx.npy'", ref, work);
    rc = run(cmd);
    CHECK(rc == 0, "canonical run: exit %d: %s", rc, output_of("stderr"));
    compare(dir, ref, "x", 0); /* the same matrix after canonicalization: bitwise */
    compare(dir, ref, "dh", 0);
    /* dG.npz on the canonical pattern: compared with the dense-shaped reference through its own pattern */
    char refdense[1024];
    snprintf(refdense, sizeof refdense, "%s/canonical_dense", work);
    mkdirs(refdense);
    put_vectors(refdense, 1, 0);
    put_dense_matrix(refdense, "Q", &Qs);
    put_dense_matrix(refdense, "G", &G);
    snprintf(cmd, sizeof cmd, "qp solve '%s' --dx '%s/dx.npy' --quiet", refdense, work);
    CHECK(run(cmd) == 0, "dense reference run: %s", output_of("stderr"));
    check_npz_grad(dir, refdense, "G", &G, AGREE);
}

/* One malformed input: exit != 0 and stderr naming `file` (and `what`). */
static void expect_failure(const char *dir, const char *file, const char *what, const char *label)
{
    char cmd[4096], path[2400];
    snprintf(cmd, sizeof cmd, "qp solve '%s' --quiet", dir);
    int rc = run(cmd);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    CHECK(rc != 0, "%s: exit 0", label);
    CHECK(stderr_mentions(path), "%s: the message does not name %s: '%s'", label, path, output_of("stderr"));
    if (what) CHECK(stderr_mentions(what), "%s: the message does not say '%s': '%s'", label, what, output_of("stderr"));
    snprintf(path, sizeof path, "%s/x.npy", dir);
    struct stat sb;
    CHECK(stat(path, &sb) != 0, "%s: x.npy written after a failure", label);
}

static void test_malformed(void)
{
    char dir[1024], path[2400];
    snprintf(dir, sizeof dir, "%s/bad", work);
    mkdirs(dir);
    put_vectors(dir, 1, 0);
    put_dense_matrix(dir, "Q", &Qs);
    snprintf(path, sizeof path, "%s/G.npz", dir);

    write_npz(path, &Gs, NULL);
    put_dense_matrix(dir, "G", &Gs);
    expect_failure(dir, "G.npy", "G.npz", "both G.npy and G.npz");
    remove_file(dir, "G.npy");

    struct {
        damage d;
        const char *what, *label;
    } cases[] = {
        {{.format = "csc"}, "csc", "format csc"},
        {{.format = "coo"}, "coo", "format coo"},
        {{.drop = "indptr"}, "indptr", "no indptr"},
        {{.drop = "format"}, "format", "no format"},
        {{.swap_indptr = 1}, "monotone", "indptr not monotone"},
        {{.indptr_len_delta = -1}, "indptr", "indptr too short"},
        {{.bad_index = 1}, "out of range", "index out of range"},
        {{.data_len_delta = 1}, "data", "data longer than nnz"},
        {{.data_len_delta = -1}, "data", "data shorter than nnz"},
        {{.indptr_last_delta = -1}, "indptr", "indptr[-1] != nnz"},
        {{.shape_cols_delta = 1}, "shape", "shape not matching n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i) {
        write_npz(path, &Gs, &cases[i].d);
        expect_failure(dir, "G.npz", cases[i].what, cases[i].label);
    }
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs("not a zip archive", f);
        fclose(f);
    }
    expect_failure(dir, "G.npz", NULL, "not a zip");

    /* G.npz without h.npy */
    write_npz(path, &Gs, NULL);
    remove_file(dir, "h.npy");
    expect_failure(dir, "G.npz", "h.npy", "G without h");
    /* Q.npz that is not square */
    char qdir[1024];
    snprintf(qdir, sizeof qdir, "%s/bad_q", work);
    mkdirs(qdir);
    put_vectors(qdir, 0, 0);
    snprintf(path, sizeof path, "%s/Q.npz", qdir);
    damage wide = {.shape_cols_delta = 1};
    write_npz(path, &Qs, &wide);
    expect_failure(qdir, "Q.npz", "square", "Q not square");
}

static void test_help(void)
{
    CHECK(run("qp solve --help") == 0, "qp solve --help: exit != 0");
    const char *out = output_of("stdout");
    CHECK(strstr(out, "Q.npz") && strstr(out, "dQ.npz") && strstr(out, "sum_duplicates") &&
              strstr(out, "save_npz"),
          "qp solve --help does not document the .npz inputs and outputs");
}

int main(int argc, char **argv)
{
    tu_init(1, (char *[]){argv[0], (char *)"cpu"});
    if (argc < 3) {
        fprintf(stderr, "usage: test_cli_qp_sparse DOPT_BINARY WORKDIR\n");
        return 2;
    }
    dopt_bin = argv[1];
    work = argv[2];
    mkdirs(work);
    make_problem();
    int available = sparse_layer_available();
    test_help();
    test_malformed();
    test_sparse_matches_dense(available);
    test_float32(available); /* after test_sparse_matches_dense: compares with its outputs */
    test_mixed(available);
    test_canonical(available);
    return tu_finish("test_cli_qp_sparse");
}
