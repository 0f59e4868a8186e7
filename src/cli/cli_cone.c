/* dopt cone solve DIR: batched cone programs (and backward) from .npy files
 * and DIR/cones.json. The file names, shapes and status codes are a
 * contract (docs/CONE.md "Command line"). */
#define _POSIX_C_SOURCE 200809L /* sysconf in cli_layer_input.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_batch_io.h" /* the options, inputs and gradients shared with qp solve */
#include "cli_cone.h"
#include "cli_layer_input.h"
#include "cli_output.h" /* output paths checked before the work */
#include "cli_summary.h"  /* the summary after the solve */

int cli_cone(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "solve") != 0) {
        cli_usage(stderr, "cone", "solve");
        return CLI_USAGE;
    }
    cli_batch_options o;
    cli_batch_options_init(&o);
    for (int i = 1; i < argc; ++i)
        if (!cli_batch_parse_option(argc, argv, &i, "cone", &o)) return CLI_USAGE;
    const char *dir = o.dir, *outdir = o.outdir, *dxf = o.dxf;
    int quiet = o.quiet;
    if (!dir) {
        cli_usage(stderr, "cone", "solve");
        return CLI_USAGE;
    }
    if (!outdir) outdir = dir;

    cli_batch_input in[5];
    static const char *const names[5] = {"c", "G", "h", "A", "b"};
    static const int base[5] = {1, 2, 1, 2, 1};
    cli_batch_inputs_init(in, 5, dir, names, base);
    in[1].hint = in[2].hint = " (the rows cones.json describes)";
    int rc = CLI_FAIL;
    dopt_context *ctx = NULL;
    cli_cone_spec cones;
    memset(&cones, 0, sizeof cones);
    void *x = NULL, *sv = NULL, *zv = NULL, *yv = NULL, *gx = NULL, *dx_dev = NULL;
    int32_t *status = NULL, *iters = NULL;
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
    if (!cli_batch_inputs_load(in, 5, dir, 3)) goto done;
    if (!cli_batch_inputs_paired(&in[3], &in[4], dir)) goto done;
    const dopt_npy *ca = &in[0].arr;
    if (ca->ndim < 1 || ca->ndim > 2) {
        fprintf(stderr, "dopt: %s must have shape (B,n) or (n)\n", in[0].path);
        goto done;
    }
    int64_t n = ca->shape[ca->ndim - 1], k = 0, B;
    if (n < 1) {
        fprintf(stderr, "dopt: %s has n = 0 variables\n", in[0].path);
        goto done;
    }
    if (!cli_batch_input_rows(&in[3], "k", &k)) goto done;
    const int64_t rows[5] = {n, mc, mc, k, k};
    dopt_dtype dt;
    if (!cli_batch_inputs_check(in, 5, rows, n, &B, &dt)) goto done;
    if (n + k + mc > 4096) {
        fprintf(stderr, "dopt: n + k + m = %lld is beyond this dense solver (at most 4096)\n", (long long)(n + k + mc));
        goto done;
    }
    if (!cli_batch_inputs_convert(in, 5, dt, quiet)) goto done;
    if (dxf && !cli_layer_load_grad(dxf, B, n, dt, quiet, &gx)) goto done;
    size_t es = dt == DOPT_FLOAT64 ? 8 : 4;
    {
        double N = (double)(n + k + mc);
        double bytes = (double)B * (2 * N * N + 8 * N) * (double)es * (dxf ? 2.0 : 1.0);
        if (!cli_layer_memory_ok(bytes, "cone solve", "the batch size")) goto done;
    }
    if (!cli_make_dir(outdir) || !cli_dir_writable("cone solve", "--out", outdir)) goto done;

    if (!cli_batch_context(o.backend, o.threads, &ctx)) goto done;
    if (!cli_batch_inputs_stage(ctx, in, 5, es)) goto done;

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
    P.shared = cli_batch_shared_bits(in, 5, bits);
    dopt_cone_options opt;
    dopt_cone_options_default(&opt, dt);
    if (o.tol > 0) opt.tol = o.tol;
    if (o.max_iter > 0) opt.max_iter = (int32_t)o.max_iter;

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
    dopt_status s = dopt_cone_solve(ctx, &P, &opt, &sol, dxf ? &tape : NULL);
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
        if (!cli_batch_grads_alloc(ctx, in, 5, es)) goto done;
        dopt_cone_grad_in gin = {dx_dev, NULL, NULL, NULL};
        dopt_cone_grad_out gout = {in[0].grad_dev, mc ? in[1].grad_dev : NULL, mc ? in[2].grad_dev : NULL,
                                   k ? in[3].grad_dev : NULL, k ? in[4].grad_dev : NULL};
        double t2 = cli_now();
        s = dopt_cone_backward(ctx, tape, &gin, &gout);
        double t3 = cli_now();
        if (s != DOPT_OK) {
            fprintf(stderr, "dopt: cone backward failed: %s\n", dopt_context_last_error(ctx));
            goto done;
        }
        if (!cli_batch_grads_write(ctx, in, 5, es, outdir, dt)) goto done;
        if (!quiet) printf("cone backward: %.2f ms\n", 1e3 * (t3 - t2));
    }
    rc = CLI_OK;
done:
    cli_batch_inputs_free(ctx, in, 5);
    if (ctx) {
        cli_release(ctx, x);
        cli_release(ctx, sv);
        cli_release(ctx, zv);
        cli_release(ctx, yv);
        cli_release(ctx, status);
        cli_release(ctx, iters);
        cli_unstage(ctx, gx, dx_dev);
    }
    free(gx);
    cli_cone_spec_free(&cones);
    dopt_cone_tape_destroy(tape);
    dopt_context_destroy(ctx);
    return rc;
}
