/* dopt qp solve DIR: batch QP solve (and backward) from .npy files.
 * The file names, shapes and status codes are a contract (README.md). */
#define _POSIX_C_SOURCE 200809L /* sysconf in cli_layer_input.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_layer_input.h"
#include "cli_output.h" /* output paths checked before the work */
#include "cli_qp_output.h" /* x, lam, nu, status, iters and the summary (shared with the sparse inputs) */
#include "cli_qp_sparse.h" /* DIR/Q.npz, G.npz, A.npz: the sparse layer */

typedef struct {
    const char *name;
    char path[4096]; /* DIR/NAME.npy, for messages */
    int base_ndim; /* dimensions of one instance */
    dopt_npy arr;
    int present;
    int batched;
    void *host; /* converted to the working dtype */
    void *dev;  /* where the backend reads it */
} qp_input;

/* Checks an input's shape against (rows[, n]) and records whether it is batched. */
static int check_shape(qp_input *in, int64_t rows, int64_t n, int64_t *B)
{
    const int64_t want[2] = {rows, n};
    return cli_layer_check_shape(&in->arr, in->path, in->base_ndim, want, "", B, &in->batched);
}

int cli_qp(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "solve") != 0) {
        cli_usage(stderr, "qp", "solve");
        return CLI_USAGE;
    }
    const char *dir = NULL, *outdir = NULL, *dxf = NULL, *dlamf = NULL, *dnuf = NULL, *ragged = NULL;
    dopt_backend backend = DOPT_BACKEND_CPU;
    long long threads = 0, max_iter = 0;
    double tol = 0, max_pad_waste = 0;
    int quiet = 0, policy = -1, closest = 0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--out")) { if (!(outdir = cli_value(argc, argv, &i))) return CLI_USAGE; }
        else if (!strcmp(a, "--ragged")) { if (!(ragged = cli_value(argc, argv, &i))) return CLI_USAGE; }
        else if (!strcmp(a, "--ragged-policy")) {
            if (!(v = cli_value(argc, argv, &i))) return CLI_USAGE;
            policy = !strcmp(v, "auto") ? DOPT_RAGGED_AUTO : !strcmp(v, "exact") ? DOPT_RAGGED_EXACT
                   : !strcmp(v, "pad")  ? DOPT_RAGGED_PAD : -2;
            if (policy == -2) return cli_usage_error("qp", "solve", "--ragged-policy must be auto, exact or pad, got '%s'", v);
        } else if (!strcmp(a, "--max-pad-waste")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_double(v, a, 0, 0.99, &max_pad_waste)) return CLI_USAGE;
        }
        else if (!strcmp(a, "--dx")) { if (!(dxf = cli_value(argc, argv, &i))) return CLI_USAGE; }
        else if (!strcmp(a, "--dlam")) { if (!(dlamf = cli_value(argc, argv, &i))) return CLI_USAGE; }
        else if (!strcmp(a, "--dnu")) { if (!(dnuf = cli_value(argc, argv, &i))) return CLI_USAGE; }
        else if (!strcmp(a, "--backend")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_backend(v, &backend)) return CLI_USAGE;
        } else if (!strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 0, 4096, &threads)) return CLI_USAGE;
        } else if (!strcmp(a, "--max-iter")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 1, 100000, &max_iter)) return CLI_USAGE;
        } else if (!strcmp(a, "--tol")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_double(v, a, 1e-300, 1, &tol)) return CLI_USAGE;
        } else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (!strcmp(a, "--closest-feasible")) closest = 1;
        else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "dopt: unknown option %s\n", a);
            cli_usage(stderr, "qp", "solve");
            return CLI_USAGE;
        } else if (!dir) dir = a;
        else {
            fprintf(stderr, "dopt: unexpected argument '%s'\n", a);
            cli_usage(stderr, "qp", "solve");
            return CLI_USAGE;
        }
    }
    if (ragged && dir) return cli_usage_error("qp", "solve", "give either DIR or --ragged IN.npz, not both");
    if (!dir && !ragged) {
        cli_usage(stderr, "qp", "solve");
        return CLI_USAGE;
    }
    if ((dlamf || dnuf) && !dxf) {
        fprintf(stderr, "dopt: --dlam/--dnu need --dx (the gradient with respect to x)\n");
        return CLI_USAGE;
    }
    if (!ragged && (policy >= 0 || max_pad_waste > 0))
        return cli_usage_error("qp", "solve", "--ragged-policy and --max-pad-waste need --ragged");
    if (ragged && closest)
        return cli_usage_error("qp", "solve", "--closest-feasible is for uniform batches (DIR), not --ragged");
    if (ragged)
        return cli_qp_ragged(ragged, outdir, dxf, dlamf, dnuf, backend, (int)threads, (int)max_iter, tol, quiet,
                             policy < 0 ? DOPT_RAGGED_AUTO : policy, max_pad_waste);
    if (!outdir) outdir = dir;
    int sparse = cli_qp_sparse_inputs(dir);
    if (sparse < 0) return CLI_FAIL;
    if (sparse && closest)
        return cli_usage_error("qp", "solve", "--closest-feasible is for dense inputs (.npy), not the sparse layer (.npz)");
    if (sparse)
        return cli_qp_sparse(dir, outdir, dxf, dlamf, dnuf, backend, (int)threads, (int)max_iter, tol, quiet);

    qp_input in[6];
    memset(in, 0, sizeof in);
    static const char *names[6] = {"Q", "p", "G", "h", "A", "b"};
    for (int t = 0; t < 6; ++t) {
        in[t].name = names[t];
        in[t].base_ndim = t % 2 ? 1 : 2;
        cli_layer_path(in[t].path, sizeof in[t].path, dir, names[t]);
    }
    int rc = CLI_FAIL;
    dopt_context *ctx = NULL;
    void *gx = NULL, *glam = NULL, *gnu = NULL;
    dopt_qp_solution sol;
    memset(&sol, 0, sizeof sol);
    void *dx_dev = NULL, *dlam_dev = NULL, *dnu_dev = NULL;
    void *grads[6] = {0}, *grads_host[6] = {0};
    dopt_qp_tape *tape = NULL;

    for (int t = 0; t < 6; ++t) {
        int r = cli_load(dir, in[t].name, t < 2, &in[t].arr);
        if (r < 0) goto done;
        in[t].present = r;
    }
    if (in[2].present != in[3].present) {
        fprintf(stderr, "dopt: %s/G.npy and %s/h.npy must be given together\n", dir, dir);
        goto done;
    }
    if (in[4].present != in[5].present) {
        fprintf(stderr, "dopt: %s/A.npy and %s/b.npy must be given together\n", dir, dir);
        goto done;
    }
    /* sizes: n from Q, m from G, k from A */
    const dopt_npy *Qa = &in[0].arr;
    if (Qa->ndim < 2 || Qa->ndim > 3) {
        fprintf(stderr, "dopt: %s must have shape (B,n,n) or (n,n)\n", in[0].path);
        goto done;
    }
    int64_t n = Qa->shape[Qa->ndim - 1], m = 0, k = 0, B = -1;
    if (n < 1) {
        fprintf(stderr, "dopt: %s has n = 0 variables\n", in[0].path);
        goto done;
    }
    if (in[2].present) {
        if (in[2].arr.ndim < 2) {
            fprintf(stderr, "dopt: %s must have shape (B,m,n) or (m,n)\n", in[2].path);
            goto done;
        }
        m = in[2].arr.shape[in[2].arr.ndim - 2];
    }
    if (in[4].present) {
        if (in[4].arr.ndim < 2) {
            fprintf(stderr, "dopt: %s must have shape (B,k,n) or (k,n)\n", in[4].path);
            goto done;
        }
        k = in[4].arr.shape[in[4].arr.ndim - 2];
    }
    int64_t rows[6] = {n, n, m, m, k, k};
    dopt_dtype dt = DOPT_FLOAT32;
    for (int t = 0; t < 6; ++t) {
        if (!in[t].present) continue;
        if (!check_shape(&in[t], rows[t], n, &B)) goto done;
        if (cli_layer_needs_f64(&in[t].arr)) dt = DOPT_FLOAT64; /* float64 or integer data */
    }
    if (B < 0) B = 1;
    for (int t = 0; t < 6; ++t)
        if (in[t].present && !(in[t].host = cli_layer_real(&in[t].arr, in[t].path, dt, quiet))) goto done;

    /* gradients in: checked before any work is done */
    if (dxf && !cli_layer_load_grad(dxf, B, n, dt, quiet, &gx)) goto done;
    if (dlamf && !cli_layer_load_grad(dlamf, B, m, dt, quiet, &glam)) goto done;
    if (dnuf && !cli_layer_load_grad(dnuf, B, k, dt, quiet, &gnu)) goto done;

    if (!cli_make_dir(outdir) || !cli_dir_writable("qp solve", "--out", outdir)) goto done;

    dopt_status s = dopt_context_create(&ctx, backend);
    if (s != DOPT_OK) {
        fprintf(stderr, "dopt: %s\n", dopt_context_last_error(ctx));
        goto done;
    }
    if (threads) dopt_context_set_threads(ctx, (int)threads);
    dopt_backend be = dopt_context_backend(ctx);
    size_t es = dt == DOPT_FLOAT64 ? 8 : 4;
    for (int t = 0; t < 6; ++t)
        if (in[t].present && !(in[t].dev = cli_stage(ctx, in[t].host, in[t].arr.count * es))) goto done;

    dopt_qp_problem P;
    memset(&P, 0, sizeof P);
    P.batch = B;
    P.n = (int32_t)n;
    P.m = (int32_t)m;
    P.k = (int32_t)k;
    P.dtype = dt;
    P.Q = in[0].dev;
    P.p = in[1].dev;
    P.G = m ? in[2].dev : NULL;
    P.h = m ? in[3].dev : NULL;
    P.A = k ? in[4].dev : NULL;
    P.b = k ? in[5].dev : NULL;
    static const unsigned bits[6] = {DOPT_QP_SHARE_Q, DOPT_QP_SHARE_P, DOPT_QP_SHARE_G,
                                     DOPT_QP_SHARE_H, DOPT_QP_SHARE_A, DOPT_QP_SHARE_B};
    for (int t = 0; t < 6; ++t)
        if (in[t].present && !in[t].batched) P.shared |= bits[t];
    dopt_qp_options opt;
    dopt_qp_options_default(&opt, dt);
    if (tol > 0) opt.tol = tol;
    if (max_iter > 0) opt.max_iter = (int32_t)max_iter;
    if (closest) opt.infeasible_mode = DOPT_QP_INFEASIBLE_CLOSEST;

    size_t nB = (size_t)B;
    if (!cli_qp_alloc_solution(ctx, B, n, m, k, es, &sol)) goto done;
    double t0 = cli_now();
    s = dopt_qp_solve(ctx, &P, &opt, &sol, dxf ? &tape : NULL);
    double t1 = cli_now();
    if (s != DOPT_OK) {
        fprintf(stderr, "dopt: qp solve failed: %s (%s)\n", dopt_context_last_error(ctx), dopt_status_string(s));
        goto done;
    }
    if (!cli_qp_write_solution(ctx, outdir, dt, B, n, m, k, &sol, t1 - t0, quiet, NULL)) goto done;

    if (dxf) {
        if (!(dx_dev = cli_stage(ctx, gx, nB * n * es))) goto done;
        if (glam && !(dlam_dev = cli_stage(ctx, glam, nB * m * es))) goto done;
        if (gnu && !(dnu_dev = cli_stage(ctx, gnu, nB * k * es))) goto done;
        for (int t = 0; t < 6; ++t) {
            if (!in[t].present) continue;
            size_t bytes = in[t].arr.count * es;
            grads_host[t] = malloc(bytes + 1);
            grads[t] = be == DOPT_BACKEND_CPU ? grads_host[t] : cli_alloc(ctx, bytes + 1);
            if (!grads_host[t] || !grads[t]) {
                fprintf(stderr, "dopt: out of memory for gradients\n");
                goto done;
            }
        }
        dopt_qp_grad_in gin = {dx_dev, dlam_dev, dnu_dev};
        dopt_qp_grad_out gout = {grads[0], grads[1], grads[2], grads[3], grads[4], grads[5]};
        double t2 = cli_now();
        s = dopt_qp_backward(ctx, tape, &gin, &gout);
        double t3 = cli_now();
        if (s != DOPT_OK) {
            fprintf(stderr, "dopt: qp backward failed: %s\n", dopt_context_last_error(ctx));
            goto done;
        }
        static const char *gnames[6] = {"dQ", "dp", "dG", "dh", "dA", "db"};
        for (int t = 0; t < 6; ++t) {
            if (!in[t].present) continue;
            if (!cli_fetch(ctx, grads_host[t], grads[t], in[t].arr.count * es)) goto done;
            if (!cli_write(outdir, gnames[t], dt, in[t].arr.ndim, in[t].arr.shape, grads_host[t])) goto done;
        }
        if (!quiet) printf("qp backward: %.2f ms\n", 1e3 * (t3 - t2));
    }
    rc = CLI_OK;
done:
    if (ctx) {
        for (int t = 0; t < 6; ++t) {
            cli_unstage(ctx, in[t].host, in[t].dev);
            cli_unstage(ctx, grads_host[t], grads[t]);
        }
        cli_qp_release_solution(ctx, &sol);
        cli_unstage(ctx, gx, dx_dev);
        cli_unstage(ctx, glam, dlam_dev);
        cli_unstage(ctx, gnu, dnu_dev);
    }
    for (int t = 0; t < 6; ++t) {
        dopt_npy_free(&in[t].arr);
        free(in[t].host);
        free(grads_host[t]);
    }
    free(gx);
    free(glam);
    free(gnu);
    dopt_qp_tape_destroy(tape);
    dopt_context_destroy(ctx);
    return rc;
}
