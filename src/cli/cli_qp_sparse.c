/* `dopt qp solve DIR` with sparse matrices (cli_qp_sparse.h): the inputs
 * read and checked (every message names the file), the problem analysed
 * and solved by the sparse layer, the outputs written by the dense
 * command's code (cli_qp_output.h), the gradients of .npz inputs written on
 * their patterns. */
#define _POSIX_C_SOURCE 200809L /* access, sysconf (cli_layer_input.h) */
#include "cli_qp_sparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_csr.h"
#include "dopt_sparse_qp.h"
#include "cli_layer_input.h"
#include "cli_output.h"
#include "cli_qp_output.h"

static const char *const matrix_names[3] = {"Q", "G", "A"}, *const vector_names[3] = {"p", "h", "b"};
static const char *const matrix_grad_names[3] = {"dQ", "dG", "dA"}, *const vector_grad_names[3] = {"dp", "dh", "db"};
static const unsigned matrix_share_bits[3] = {DOPT_QP_SHARE_Q, DOPT_QP_SHARE_G, DOPT_QP_SHARE_A};

/* Q, G or A: a .npz (one pattern and one set of values for the batch) or a
 * dense .npy turned into a pattern (the union of its nonzeros). */
typedef struct {
    char path[4096]; /* as the user gave it, for messages */
    int present, from_npz, batched;
    dopt_npy dense; /* the .npy as read (empty for a .npz) */
    cli_csr csr;
    void *host, *dev; /* csr.copies x nnz values of the run's dtype, and where the backend reads them */
} sq_matrix;

/* p, h or b: .npy, (len) or (B, len); passed to the layer per instance (B
 * rows, a shared vector repeated) so that the backward gives per-instance
 * dp, dh, db, from which the dense gradients of .npy matrices are formed. */
typedef struct {
    char path[4096];
    int present, batched;
    dopt_npy arr;
    void *host, *dev; /* B x len of the run's dtype */
} sq_vector;

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

int cli_qp_sparse_inputs(const char *dir)
{
    int any = 0;
    for (int t = 0; t < 3; ++t) {
        char npz[4096], npy[4096];
        snprintf(npz, sizeof npz, "%s/%s.npz", dir, matrix_names[t]);
        cli_layer_path(npy, sizeof npy, dir, matrix_names[t]);
        int has_npz = file_exists(npz);
        if (has_npz && file_exists(npy)) {
            fprintf(stderr, "dopt: %s and %s both exist; give %s once, dense (.npy) or sparse (.npz)\n", npy, npz,
                    matrix_names[t]);
            return -1;
        }
        any |= has_npz;
    }
    return any;
}

static double value_at(const void *p, dopt_dtype dt, size_t i)
{
    return dt == DOPT_FLOAT64 ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

/* count doubles as a new buffer of dt (NULL reported) */
static void *to_dtype(const double *v, size_t count, dopt_dtype dt, const char *path)
{
    size_t es = dt == DOPT_FLOAT64 ? 8 : 4;
    void *out = malloc(count * es + 1);
    if (!out) {
        fprintf(stderr, "dopt: %s: out of memory\n", path);
        return NULL;
    }
    for (size_t i = 0; i < count; ++i) {
        if (dt == DOPT_FLOAT64) ((double *)out)[i] = v[i];
        else ((float *)out)[i] = (float)v[i];
    }
    return out;
}

/* Writes `sum` (one instance's worth, len values) or the per-instance
 * gradient (B x len) of dt with the shape the input had. */
static int write_like_input(const char *outdir, const char *name, dopt_dtype dt, const dopt_npy *input, int batched,
                            int64_t B, size_t len, const void *per_instance)
{
    if (batched) return cli_write(outdir, name, dt, input->ndim, input->shape, per_instance);
    double *sum = (double *)calloc(len + 1, sizeof(double));
    if (!sum) return fprintf(stderr, "dopt: out of memory for %s\n", name), 0;
    /* a shared input's gradient is the sum over the batch, as in the dense layer */
    for (int64_t i = 0; i < B; ++i)
        for (size_t e = 0; e < len; ++e) sum[e] += value_at(per_instance, dt, (size_t)i * len + e);
    void *out = to_dtype(sum, len, dt, name);
    int ok = out && cli_write(outdir, name, dt, input->ndim, input->shape, out);
    free(sum);
    free(out);
    return ok;
}

/* The dense gradient of a matrix given as .npy, from the backward's
 * per-instance dp (= dx, the adjoint's x part), dh (= -dlt), db (= -dnu)
 * and the solution: the dense layer's formulas (kernels/qp_batch_impl.h,
 * qp_outer_row): dQ = 1/2 (dx x' + x dx'), dG = dlt x' + lam dx',
 * dA = dnu x' + nu dx'. Off the pattern these are the gradients of entries
 * that are zero in every instance: not zero in general, so they are formed
 * here rather than read from the layer's pattern-only gradient. */
static int write_dense_matrix_grad(const char *outdir, int t, const sq_matrix *M, dopt_dtype dt, int64_t B,
                                   int64_t n, int64_t rows, const cli_qp_host_solution *sol, const void *dp,
                                   const void *dvec)
{
    size_t plane = (size_t)rows * (size_t)n, copies = M->batched ? (size_t)B : 1;
    double *g = (double *)calloc(copies * plane + 1, sizeof(double));
    if (!g) return fprintf(stderr, "dopt: out of memory for %s\n", matrix_grad_names[t]), 0;
    const void *dual = t == 1 ? sol->lam : sol->nu;
    for (int64_t i = 0; i < B; ++i) {
        double *o = g + (M->batched ? (size_t)i * plane : 0);
        size_t xo = (size_t)i * (size_t)n, ro = (size_t)i * (size_t)rows;
        for (int64_t r = 0; r < rows; ++r) {
            double u, vv; /* row r = u x' + vv dx' */
            if (t == 0) {
                u = 0.5 * value_at(dp, dt, xo + (size_t)r);
                vv = 0.5 * value_at(sol->x, dt, xo + (size_t)r);
            } else {
                u = -value_at(dvec, dt, ro + (size_t)r);
                vv = value_at(dual, dt, ro + (size_t)r);
            }
            for (int64_t c = 0; c < n; ++c)
                o[(size_t)r * (size_t)n + (size_t)c] +=
                    u * value_at(sol->x, dt, xo + (size_t)c) + vv * value_at(dp, dt, xo + (size_t)c);
        }
    }
    void *out = to_dtype(g, copies * plane, dt, matrix_grad_names[t]);
    int ok = out && cli_write(outdir, matrix_grad_names[t], dt, M->dense.ndim, M->dense.shape, out);
    free(g);
    free(out);
    return ok;
}

/* Reads Q, G or A (whichever file exists). 1 read or absent; 0 reported. */
static int read_matrix(const char *dir, int t, int quiet, sq_matrix *M)
{
    char npz[4096];
    snprintf(npz, sizeof npz, "%s/%s.npz", dir, matrix_names[t]);
    if (file_exists(npz)) {
        snprintf(M->path, sizeof M->path, "%s", npz);
        if (!cli_csr_read(npz, quiet, &M->csr)) return 0;
        M->present = M->from_npz = 1;
        return 1;
    }
    cli_layer_path(M->path, sizeof M->path, dir, matrix_names[t]);
    int r = cli_load(dir, matrix_names[t], 0, &M->dense);
    M->present = r == 1;
    return r >= 0;
}

/* The rows of a matrix (n for Q) from its file, or -1 reported. */
static int64_t matrix_rows(const sq_matrix *M, int t)
{
    if (M->from_npz) return M->csr.rows;
    const dopt_npy *a = &M->dense;
    if (a->ndim < 2 || a->ndim > 3) {
        fprintf(stderr, "dopt: %s must have shape (B,%s,n) or (%s,n)\n", M->path, t == 0 ? "n" : t == 1 ? "m" : "k",
                t == 0 ? "n" : t == 1 ? "m" : "k");
        return -1;
    }
    return a->shape[a->ndim - 2];
}

int cli_qp_sparse(const char *dir, const char *outdir, const char *dxf, const char *dlamf, const char *dnuf,
                  dopt_backend backend, int threads, int max_iter, double tol, int quiet)
{
    int rc = CLI_FAIL;
    sq_matrix M[3];
    sq_vector V[3];
    memset(M, 0, sizeof M);
    memset(V, 0, sizeof V);
    dopt_context *ctx = NULL;
    dopt_sparse_qp_structure *structure = NULL;
    dopt_sparse_qp_tape *tape = NULL;
    dopt_qp_solution sol;
    memset(&sol, 0, sizeof sol);
    cli_qp_host_solution hsol;
    memset(&hsol, 0, sizeof hsol);
    void *gin_host[3] = {0}, *gin_dev[3] = {0};
    void *mgrad_host[3] = {0}, *mgrad_dev[3] = {0}, *vgrad_host[3] = {0}, *vgrad_dev[3] = {0};
    int64_t *empty_indptr = NULL;
    dopt_dtype dt = DOPT_FLOAT32;

    for (int t = 0; t < 3; ++t) {
        if (!read_matrix(dir, t, quiet, &M[t])) goto done;
        cli_layer_path(V[t].path, sizeof V[t].path, dir, vector_names[t]);
        int r = cli_load(dir, vector_names[t], t == 0, &V[t].arr);
        if (r < 0) goto done;
        V[t].present = r;
    }
    for (int t = 1; t < 3; ++t)
        if (M[t].present != V[t].present) {
            fprintf(stderr, "dopt: %s and %s must be given together\n", M[t].present ? M[t].path : V[t].path,
                    M[t].present ? V[t].path : M[t].path);
            goto done;
        }

    /* sizes: n from Q (an LP may leave Q out: n from p), m from G, k from A */
    int64_t n, rows[3] = {0, 0, 0}, B = -1;
    if (M[0].present) {
        if ((n = matrix_rows(&M[0], 0)) < 0) goto done;
    } else {
        const dopt_npy *p = &V[0].arr;
        if (p->ndim < 1 || p->ndim > 2) {
            fprintf(stderr, "dopt: %s must have shape (B,n) or (n)\n", V[0].path);
            goto done;
        }
        n = p->shape[p->ndim - 1];
    }
    if (n < 1 || n > INT32_MAX) {
        fprintf(stderr, "dopt: %s gives n = %lld variables; need 1 <= n < 2^31\n", M[0].present ? M[0].path : V[0].path,
                (long long)n);
        goto done;
    }
    rows[0] = n;
    for (int t = 1; t < 3; ++t)
        if (M[t].present && (rows[t] = matrix_rows(&M[t], t)) < 0) goto done;
    if (rows[1] > INT32_MAX || rows[2] > INT32_MAX) {
        fprintf(stderr, "dopt: %s: more than 2^31 - 1 rows\n", rows[1] > INT32_MAX ? M[1].path : M[2].path);
        goto done;
    }
    for (int t = 0; t < 3; ++t) {
        if (!M[t].present) continue;
        if (M[t].from_npz) {
            if (M[t].csr.rows != rows[t] || M[t].csr.cols != n) {
                fprintf(stderr, "dopt: %s has shape (%lld, %lld); expected (%s, n) = (%lld, %lld)%s\n", M[t].path,
                        (long long)M[t].csr.rows, (long long)M[t].csr.cols, t == 0 ? "n" : t == 1 ? "m" : "k",
                        (long long)rows[t], (long long)n, t == 0 ? " (Q is square)" : " with n from Q or p");
                goto done;
            }
            if (!M[t].csr.f32) dt = DOPT_FLOAT64;
            continue;
        }
        const int64_t want[2] = {rows[t], n};
        if (!cli_layer_check_shape(&M[t].dense, M[t].path, 2, want, "", &B, &M[t].batched)) goto done;
        if (cli_layer_needs_f64(&M[t].dense)) dt = DOPT_FLOAT64;
    }
    for (int t = 0; t < 3; ++t) {
        if (!V[t].present) continue;
        const int64_t want[1] = {rows[t]};
        if (!cli_layer_check_shape(&V[t].arr, V[t].path, 1, want, "", &B, &V[t].batched)) goto done;
        if (cli_layer_needs_f64(&V[t].arr)) dt = DOPT_FLOAT64;
    }
    if (B < 0) B = 1;
    size_t es = dt == DOPT_FLOAT64 ? 8 : 4, nB = (size_t)B;

    /* values in the run's dtype: dense matrices to their union pattern, vectors one row per instance */
    for (int t = 0; t < 3; ++t) {
        if (!M[t].present) continue;
        if (!M[t].from_npz) {
            double *d = (double *)cli_layer_real(&M[t].dense, M[t].path, DOPT_FLOAT64, quiet);
            int ok = d && cli_csr_from_dense(d, M[t].batched ? B : 0, rows[t], n, 0, M[t].path, &M[t].csr);
            free(d);
            if (!ok) goto done;
        }
        if (!(M[t].host = to_dtype(M[t].csr.values, (size_t)M[t].csr.copies * (size_t)M[t].csr.nnz, dt, M[t].path)))
            goto done;
    }
    for (int t = 0; t < 3; ++t) {
        if (!V[t].present) continue;
        double *d = (double *)cli_layer_real(&V[t].arr, V[t].path, DOPT_FLOAT64, quiet);
        size_t len = (size_t)rows[t];
        double *rep = d ? (double *)malloc(nB * len * sizeof(double) + 1) : NULL;
        if (rep)
            for (size_t i = 0; i < nB; ++i) memcpy(rep + i * len, d + (V[t].batched ? i * len : 0), len * sizeof(double));
        V[t].host = rep ? to_dtype(rep, nB * len, dt, V[t].path) : NULL;
        free(d);
        free(rep);
        if (!V[t].host) goto done;
    }

    /* gradients in: checked before any work is done */
    const char *gin_files[3] = {dxf, dlamf, dnuf};
    for (int t = 0; t < 3; ++t)
        if (gin_files[t] && !cli_layer_load_grad(gin_files[t], B, rows[t], dt, quiet, &gin_host[t])) goto done;

    if (!cli_make_dir(outdir) || !cli_dir_writable("qp solve", "--out", outdir)) goto done;

    dopt_status s = dopt_context_create(&ctx, backend);
    if (s != DOPT_OK) {
        fprintf(stderr, "dopt: %s\n", dopt_context_last_error(ctx));
        goto done;
    }
    if (threads) dopt_context_set_threads(ctx, threads);

    dopt_sparse_qp_pattern pat;
    memset(&pat, 0, sizeof pat);
    pat.n = (int32_t)n;
    pat.m = (int32_t)rows[1];
    pat.k = (int32_t)rows[2];
    dopt_csr_pattern *pats[3] = {&pat.Q, &pat.G, &pat.A};
    for (int t = 0; t < 3; ++t) {
        dopt_csr_pattern *cp = pats[t];
        cp->rows = (int32_t)rows[t];
        cp->cols = (int32_t)n;
        if (M[t].present) {
            cp->nnz = M[t].csr.nnz;
            cp->indptr = M[t].csr.indptr;
            cp->indices = M[t].csr.indices;
        } else if (t == 0) { /* an LP: Q is n x n with no entries */
            if (!(empty_indptr = (int64_t *)calloc((size_t)n + 1, sizeof(int64_t)))) {
                fprintf(stderr, "dopt: out of memory\n");
                goto done;
            }
            cp->indptr = empty_indptr;
        }
    }
    s = dopt_sparse_qp_analyze(ctx, &pat, &structure);
    if (s != DOPT_OK) {
        fprintf(stderr, "dopt: qp solve (sparse inputs): %s (%s)\n", dopt_context_last_error(ctx),
                dopt_status_string(s));
        goto done;
    }
    for (int t = 0; t < 3; ++t) {
        size_t mbytes = M[t].present ? (size_t)M[t].csr.copies * (size_t)M[t].csr.nnz * es : 0;
        if (mbytes && !(M[t].dev = cli_stage(ctx, M[t].host, mbytes))) goto done;
        if (V[t].present && rows[t] && !(V[t].dev = cli_stage(ctx, V[t].host, nB * (size_t)rows[t] * es))) goto done;
    }
    dopt_sparse_qp_values val;
    memset(&val, 0, sizeof val);
    val.batch = B;
    val.dtype = dt;
    val.Q_values = M[0].dev;
    val.p = V[0].dev;
    val.G_values = M[1].dev;
    val.h = V[1].dev;
    val.A_values = M[2].dev;
    val.b = V[2].dev;
    for (int t = 0; t < 3; ++t)
        if (!M[t].present || M[t].from_npz || !M[t].batched) val.shared |= matrix_share_bits[t];
    dopt_qp_options opt;
    dopt_qp_options_default(&opt, dt);
    if (tol > 0) opt.tol = tol;
    if (max_iter > 0) opt.max_iter = (int32_t)max_iter;

    if (!cli_qp_alloc_solution(ctx, B, n, rows[1], rows[2], es, &sol)) goto done;
    double t0 = cli_now();
    s = dopt_sparse_qp_solve(ctx, structure, &val, &opt, &sol, dxf ? &tape : NULL);
    double t1 = cli_now();
    if (s != DOPT_OK) {
        fprintf(stderr, "dopt: qp solve failed: %s (%s)\n", dopt_context_last_error(ctx), dopt_status_string(s));
        goto done;
    }
    if (!cli_qp_write_solution(ctx, outdir, dt, B, n, rows[1], rows[2], &sol, t1 - t0, quiet, dxf ? &hsol : NULL))
        goto done;
    if (!quiet)
        printf("  sparse layer: one pattern for the batch, nnz Q=%lld G=%lld A=%lld\n",
               (long long)(M[0].present ? M[0].csr.nnz : 0), (long long)(M[1].present ? M[1].csr.nnz : 0),
               (long long)(M[2].present ? M[2].csr.nnz : 0));
    if (!dxf) {
        rc = CLI_OK;
        goto done;
    }

    for (int t = 0; t < 3; ++t)
        if (gin_host[t] && rows[t] && !(gin_dev[t] = cli_stage(ctx, gin_host[t], nB * (size_t)rows[t] * es)))
            goto done;
    dopt_backend be = dopt_context_backend(ctx);
    for (int t = 0; t < 3; ++t) {
        /* vectors: per instance (summed here for a shared input); .npz matrices: on the pattern, summed by the layer */
        size_t vbytes = V[t].present ? nB * (size_t)rows[t] * es : 0;
        size_t mbytes = M[t].present && M[t].from_npz ? (size_t)M[t].csr.nnz * es : 0;
        if (vbytes) {
            vgrad_host[t] = malloc(vbytes);
            vgrad_dev[t] = be == DOPT_BACKEND_CPU ? vgrad_host[t] : cli_alloc(ctx, vbytes);
            if (!vgrad_host[t] || !vgrad_dev[t]) goto grad_oom;
        }
        if (mbytes) {
            mgrad_host[t] = malloc(mbytes);
            mgrad_dev[t] = be == DOPT_BACKEND_CPU ? mgrad_host[t] : cli_alloc(ctx, mbytes);
            if (!mgrad_host[t] || !mgrad_dev[t]) goto grad_oom;
        }
    }
    dopt_qp_grad_in gin = {gin_dev[0], gin_dev[1], gin_dev[2]};
    dopt_qp_grad_out gout = {mgrad_dev[0], vgrad_dev[0], mgrad_dev[1], vgrad_dev[1], mgrad_dev[2], vgrad_dev[2]};
    double t2 = cli_now();
    s = dopt_sparse_qp_backward(ctx, tape, &gin, &gout);
    double t3 = cli_now();
    if (s != DOPT_OK) {
        fprintf(stderr, "dopt: qp backward failed: %s\n", dopt_context_last_error(ctx));
        goto done;
    }
    for (int t = 0; t < 3; ++t) {
        if (vgrad_host[t] && !cli_fetch(ctx, vgrad_host[t], vgrad_dev[t], nB * (size_t)rows[t] * es)) goto done;
        if (mgrad_host[t] && !cli_fetch(ctx, mgrad_host[t], mgrad_dev[t], (size_t)M[t].csr.nnz * es)) goto done;
    }
    for (int t = 0; t < 3; ++t) {
        if (V[t].present && rows[t] &&
            !write_like_input(outdir, vector_grad_names[t], dt, &V[t].arr, V[t].batched, B, (size_t)rows[t],
                              vgrad_host[t]))
            goto done;
        if (!M[t].present) continue;
        if (M[t].from_npz) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.npz", outdir, matrix_grad_names[t]);
            if (!cli_csr_write(path, &M[t].csr, dt, mgrad_host[t])) goto done;
        } else if (!write_dense_matrix_grad(outdir, t, &M[t], dt, B, n, rows[t], &hsol, vgrad_host[0],
                                            vgrad_host[t])) {
            goto done;
        }
    }
    if (!quiet) printf("qp backward: %.2f ms\n", 1e3 * (t3 - t2));
    rc = CLI_OK;
    goto done;
grad_oom:
    fprintf(stderr, "dopt: out of memory for gradients\n");
done:
    if (ctx) {
        for (int t = 0; t < 3; ++t) {
            cli_unstage(ctx, M[t].host, M[t].dev);
            cli_unstage(ctx, V[t].host, V[t].dev);
            cli_unstage(ctx, gin_host[t], gin_dev[t]);
            cli_unstage(ctx, vgrad_host[t], vgrad_dev[t]);
            cli_unstage(ctx, mgrad_host[t], mgrad_dev[t]);
        }
        cli_qp_release_solution(ctx, &sol);
    }
    for (int t = 0; t < 3; ++t) {
        dopt_npy_free(&M[t].dense);
        cli_csr_free(&M[t].csr);
        free(M[t].host);
        dopt_npy_free(&V[t].arr);
        free(V[t].host);
        free(gin_host[t]);
        free(vgrad_host[t]);
        free(mgrad_host[t]);
    }
    free(empty_indptr);
    cli_qp_host_free(&hsol);
    dopt_sparse_qp_tape_destroy(tape);
    dopt_sparse_qp_structure_destroy(structure);
    dopt_context_destroy(ctx);
    return rc;
}
