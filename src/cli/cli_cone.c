/* dopt cone solve DIR: batched cone programs (and backward) from .npy files
 * and DIR/cones.json. The file names, shapes and status codes are a
 * contract (docs/CONE.md "Command line"). */
#define _POSIX_C_SOURCE 200809L /* sysconf in cli_layer_input.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_cone.h"
#include "cli_layer_input.h"
#include "cli_output.h" /* output paths checked before the work */
#include "cli_summary.h"  /* the summary after the solve */

typedef struct {
    const char *name;
    char path[4096]; /* DIR/NAME.npy, for messages */
    int base_ndim;   /* dimensions of one instance */
    int64_t rows;    /* first dimension of one instance */
    dopt_npy arr;
    int present, batched;
    void *host, *dev;
} cone_input;

/* Checks an input's shape against (rows[, n]) and records whether it is batched. */
static int cone_check_shape(cone_input *in, int64_t n, int64_t *B)
{
    const int64_t want[2] = {in->rows, n};
    const char *hint = in->name[0] == 'G' || in->name[0] == 'h' ? " (the rows cones.json describes)" : "";
    return cli_layer_check_shape(&in->arr, in->path, in->base_ndim, want, hint, B, &in->batched);
}

int cli_cone(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "solve") != 0) {
        cli_usage(stderr, "cone", "solve");
        return CLI_USAGE;
    }
    const char *dir = NULL, *outdir = NULL, *dxf = NULL;
    dopt_backend backend = DOPT_BACKEND_CPU;
    long long threads = 0, max_iter = 0;
    double tol = 0;
    int quiet = 0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--out")) {
            if (!(outdir = cli_value(argc, argv, &i))) return CLI_USAGE;
        } else if (!strcmp(a, "--dx")) {
            if (!(dxf = cli_value(argc, argv, &i))) return CLI_USAGE;
        } else if (!strcmp(a, "--backend")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_backend(v, &backend)) return CLI_USAGE;
        } else if (!strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 0, 4096, &threads)) return CLI_USAGE;
        } else if (!strcmp(a, "--max-iter")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 1, 100000, &max_iter)) return CLI_USAGE;
        } else if (!strcmp(a, "--tol")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_double(v, a, 1e-300, 1, &tol)) return CLI_USAGE;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "dopt: unknown option %s\n", a);
            cli_usage(stderr, "cone", "solve");
            return CLI_USAGE;
        } else if (!dir) {
            dir = a;
        } else {
            fprintf(stderr, "dopt: unexpected argument '%s'\n", a);
            cli_usage(stderr, "cone", "solve");
            return CLI_USAGE;
        }
    }
    if (!dir) {
        cli_usage(stderr, "cone", "solve");
        return CLI_USAGE;
    }
    if (!outdir) outdir = dir;

    cone_input in[5];
    memset(in, 0, sizeof in);
    static const char *names[5] = {"c", "G", "h", "A", "b"};
    static const int base[5] = {1, 2, 1, 2, 1};
    for (int t = 0; t < 5; ++t) {
        in[t].name = names[t];
        in[t].base_ndim = base[t];
        cli_layer_path(in[t].path, sizeof in[t].path, dir, names[t]);
    }
    int rc = CLI_FAIL;
    dopt_context *ctx = NULL;
    cli_cone_spec cones;
    memset(&cones, 0, sizeof cones);
    void *x = NULL, *sv = NULL, *zv = NULL, *yv = NULL, *gx = NULL, *dx_dev = NULL;
    int32_t *status = NULL, *iters = NULL;
    void *grads[5] = {0}, *grads_host[5] = {0};
    dopt_cone_tape *tape = NULL;

    char jpath[4096];
    snprintf(jpath, sizeof jpath, "%s/cones.json", dir);
    if (!cli_cone_read_json(jpath, &cones)) goto done;
    dopt_cone_dims dims = {cones.l, cones.nq, cones.q, cones.ns, cones.s};
    for (int32_t c = 0; c < cones.ns; ++c)
        if (cones.s[c] > 1024) {
            fprintf(stderr, "dopt: %s: PSD order %d is beyond this dense solver (at most 1024)\n", jpath, cones.s[c]);
            goto done;
        }
    int64_t mc = dopt_cone_rows(&dims);
    for (int t = 0; t < 5; ++t) {
        int r = cli_load(dir, in[t].name, t < 3, &in[t].arr);
        if (r < 0) goto done;
        in[t].present = r;
    }
    if (in[3].present != in[4].present) {
        fprintf(stderr, "dopt: %s/A.npy and %s/b.npy must be given together\n", dir, dir);
        goto done;
    }
    const dopt_npy *ca = &in[0].arr;
    if (ca->ndim < 1 || ca->ndim > 2) {
        fprintf(stderr, "dopt: %s must have shape (B,n) or (n)\n", in[0].path);
        goto done;
    }
    int64_t n = ca->shape[ca->ndim - 1], k = 0, B = -1;
    if (n < 1) {
        fprintf(stderr, "dopt: %s has n = 0 variables\n", in[0].path);
        goto done;
    }
    if (in[3].present) {
        if (in[3].arr.ndim < 2) {
            fprintf(stderr, "dopt: %s must have shape (B,k,n) or (k,n)\n", in[3].path);
            goto done;
        }
        k = in[3].arr.shape[in[3].arr.ndim - 2];
    }
    int64_t rows[5] = {n, mc, mc, k, k};
    dopt_dtype dt = DOPT_FLOAT32;
    for (int t = 0; t < 5; ++t) {
        if (!in[t].present) continue;
        in[t].rows = rows[t];
        if (!cone_check_shape(&in[t], n, &B)) goto done;
        if (cli_layer_needs_f64(&in[t].arr)) dt = DOPT_FLOAT64;
    }
    if (B < 0) B = 1;
    if (n + k + mc > 4096) {
        fprintf(stderr, "dopt: n + k + m = %lld is beyond this dense solver (at most 4096)\n", (long long)(n + k + mc));
        goto done;
    }
    for (int t = 0; t < 5; ++t)
        if (in[t].present && !(in[t].host = cli_layer_real(&in[t].arr, in[t].path, dt, quiet))) goto done;
    if (dxf && !cli_layer_load_grad(dxf, B, n, dt, quiet, &gx)) goto done;
    size_t es = dt == DOPT_FLOAT64 ? 8 : 4;
    {
        double N = (double)(n + k + mc);
        double bytes = (double)B * (2 * N * N + 8 * N) * (double)es * (dxf ? 2.0 : 1.0);
        if (!cli_layer_memory_ok(bytes, "cone solve", "the batch size")) goto done;
    }
    if (!cli_make_dir(outdir) || !cli_dir_writable("cone solve", "--out", outdir)) goto done;

    dopt_status s = dopt_context_create(&ctx, backend);
    if (s != DOPT_OK) {
        fprintf(stderr, "dopt: %s\n", dopt_context_last_error(ctx));
        goto done;
    }
    if (threads) dopt_context_set_threads(ctx, (int)threads);
    dopt_backend be = dopt_context_backend(ctx);
    for (int t = 0; t < 5; ++t)
        if (in[t].present && !(in[t].dev = cli_stage(ctx, in[t].host, in[t].arr.count * es))) goto done;

    dopt_cone_problem P;
    memset(&P, 0, sizeof P);
    P.batch = B;
    P.n = (int32_t)n;
    P.k = (int32_t)k;
    P.cones = dims;
    P.dtype = dt;
    P.c = in[0].dev;
    P.G = mc ? in[1].dev : NULL;
    P.h = mc ? in[2].dev : NULL;
    P.A = k ? in[3].dev : NULL;
    P.b = k ? in[4].dev : NULL;
    static const unsigned bits[5] = {DOPT_CONE_SHARE_C, DOPT_CONE_SHARE_G, DOPT_CONE_SHARE_H, DOPT_CONE_SHARE_A,
                                     DOPT_CONE_SHARE_B};
    for (int t = 0; t < 5; ++t)
        if (in[t].present && !in[t].batched) P.shared |= bits[t];
    dopt_cone_options opt;
    dopt_cone_options_default(&opt, dt);
    if (tol > 0) opt.tol = tol;
    if (max_iter > 0) opt.max_iter = (int32_t)max_iter;

    size_t nB = (size_t)B;
    x = cli_alloc(ctx, nB * n * es);
    sv = cli_alloc(ctx, nB * mc * es);
    zv = cli_alloc(ctx, nB * mc * es);
    yv = cli_alloc(ctx, nB * k * es);
    status = (int32_t *)cli_alloc(ctx, nB * 4);
    iters = (int32_t *)cli_alloc(ctx, nB * 4);
    if (!x || !sv || !zv || !yv || !status || !iters) {
        fprintf(stderr, "dopt: out of memory for %lld instances\n", (long long)B);
        goto done;
    }
    dopt_cone_solution sol = {x, sv, zv, yv, status, iters};
    double t0 = cli_now();
    s = dopt_cone_solve(ctx, &P, &opt, &sol, dxf ? &tape : NULL);
    double t1 = cli_now();
    if (s != DOPT_OK) {
        fprintf(stderr, "dopt: cone solve failed: %s (%s)\n", dopt_context_last_error(ctx), dopt_status_string(s));
        goto done;
    }
    {
        void *hx = malloc(nB * n * es + 1), *hs = malloc(nB * mc * es + 1), *hz = malloc(nB * mc * es + 1),
             *hy = malloc(nB * k * es + 1);
        int32_t *hst = (int32_t *)malloc(nB * 4 + 1), *hit = (int32_t *)malloc(nB * 4 + 1);
        int wrote = hx && hs && hz && hy && hst && hit && cli_fetch(ctx, hx, x, nB * n * es) &&
                    cli_fetch(ctx, hs, sv, nB * mc * es) && cli_fetch(ctx, hz, zv, nB * mc * es) &&
                    cli_fetch(ctx, hy, yv, nB * k * es) && cli_fetch(ctx, hst, status, nB * 4) &&
                    cli_fetch(ctx, hit, iters, nB * 4);
        int64_t shx[2] = {B, n}, shm[2] = {B, mc}, shk[2] = {B, k};
        wrote = wrote && cli_write(outdir, "x", dt, 2, shx, hx) && cli_write(outdir, "s", dt, 2, shm, hs) &&
                cli_write(outdir, "z", dt, 2, shm, hz) && cli_write(outdir, "y", dt, 2, shk, hy) &&
                cli_write_i32(outdir, "status", B, hst) && cli_write_i32(outdir, "iters", B, hit);
        if (wrote && !quiet) {
            printf("cone solve: %lld instances (n=%lld m=%lld k=%lld, ", (long long)B, (long long)n, (long long)mc,
                   (long long)k);
            cli_print_run_kind(ctx, dt);
            printf(") in %.2f ms, mean %.1f iterations\n", 1e3 * (t1 - t0), cli_mean_iterations(hit, B));
            cli_print_status_counts(hst, B);
        }
        free(hx);
        free(hs);
        free(hz);
        free(hy);
        free(hst);
        free(hit);
        if (!wrote) goto done;
    }
    if (dxf) {
        if (!(dx_dev = cli_stage(ctx, gx, nB * n * es))) goto done;
        for (int t = 0; t < 5; ++t) {
            if (!in[t].present) continue;
            size_t bytes = in[t].arr.count * es;
            grads_host[t] = malloc(bytes + 1);
            grads[t] = be == DOPT_BACKEND_CPU ? grads_host[t] : cli_alloc(ctx, bytes + 1);
            if (!grads_host[t] || !grads[t]) {
                fprintf(stderr, "dopt: out of memory for gradients\n");
                goto done;
            }
        }
        dopt_cone_grad_in gin = {dx_dev, NULL, NULL, NULL};
        dopt_cone_grad_out gout = {grads[0], mc ? grads[1] : NULL, mc ? grads[2] : NULL, k ? grads[3] : NULL,
                                   k ? grads[4] : NULL};
        double t2 = cli_now();
        s = dopt_cone_backward(ctx, tape, &gin, &gout);
        double t3 = cli_now();
        if (s != DOPT_OK) {
            fprintf(stderr, "dopt: cone backward failed: %s\n", dopt_context_last_error(ctx));
            goto done;
        }
        static const char *gnames[5] = {"dc", "dG", "dh", "dA", "db"};
        for (int t = 0; t < 5; ++t) {
            if (!in[t].present) continue;
            if (in[t].arr.count && !cli_fetch(ctx, grads_host[t], grads[t], in[t].arr.count * es)) goto done;
            if (!cli_write(outdir, gnames[t], dt, in[t].arr.ndim, in[t].arr.shape, grads_host[t])) goto done;
        }
        if (!quiet) printf("cone backward: %.2f ms\n", 1e3 * (t3 - t2));
    }
    rc = CLI_OK;
done:
    if (ctx) {
        for (int t = 0; t < 5; ++t) {
            cli_unstage(ctx, in[t].host, in[t].dev);
            cli_unstage(ctx, grads_host[t], grads[t]);
        }
        cli_release(ctx, x);
        cli_release(ctx, sv);
        cli_release(ctx, zv);
        cli_release(ctx, yv);
        cli_release(ctx, status);
        cli_release(ctx, iters);
        cli_unstage(ctx, gx, dx_dev);
    }
    for (int t = 0; t < 5; ++t) {
        dopt_npy_free(&in[t].arr);
        free(in[t].host);
        free(grads_host[t]);
    }
    free(gx);
    cli_cone_spec_free(&cones);
    dopt_cone_tape_destroy(tape);
    dopt_context_destroy(ctx);
    return rc;
}
