/* dopt qp solve DIR: batch QP solve (and backward) from .npy files.
 * The file names, shapes and status codes are a contract (README.md). */
#define _POSIX_C_SOURCE 200809L /* sysconf in cli_layer_input.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_batch_io.h" /* the options, inputs and gradients shared with cone solve */
#include "cli_layer_input.h"
#include "cli_output.h" /* output paths checked before the work */
#include "cli_qp_output.h" /* x, lam, nu, status, iters and the summary (shared with the sparse inputs) */
#include "cli_qp_sparse.h" /* DIR/Q.npz, G.npz, A.npz: the sparse layer */

int cli_qp(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "solve") != 0) {
        cli_usage(stderr, "qp", "solve");
        return CLI_USAGE;
    }
    cli_batch_options o;
    cli_batch_options_init(&o);
    const char *dlamf = NULL, *dnuf = NULL, *ragged = NULL;
    double max_pad_waste = 0;
    int policy = -1, closest = 0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--ragged")) { if (!(ragged = cli_value(argc, argv, &i))) return CLI_USAGE; }
        else if (!strcmp(a, "--ragged-policy")) {
            if (!(v = cli_value(argc, argv, &i))) return CLI_USAGE;
            policy = !strcmp(v, "auto") ? DOPT_RAGGED_AUTO : !strcmp(v, "exact") ? DOPT_RAGGED_EXACT
                   : !strcmp(v, "pad")  ? DOPT_RAGGED_PAD : -2;
            if (policy == -2) return cli_usage_error("qp", "solve", "--ragged-policy must be auto, exact or pad, got '%s'", v);
        } else if (!strcmp(a, "--max-pad-waste")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_double(v, a, 0, 0.99, &max_pad_waste)) return CLI_USAGE;
        }
        else if (!strcmp(a, "--dlam")) { if (!(dlamf = cli_value(argc, argv, &i))) return CLI_USAGE; }
        else if (!strcmp(a, "--dnu")) { if (!(dnuf = cli_value(argc, argv, &i))) return CLI_USAGE; }
        else if (!strcmp(a, "--closest-feasible")) closest = 1;
        else if (!cli_batch_parse_option(argc, argv, &i, "qp", &o)) return CLI_USAGE;
    }
    const char *dir = o.dir, *outdir = o.outdir, *dxf = o.dxf;
    int quiet = o.quiet;
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
        return cli_qp_ragged(ragged, outdir, dxf, dlamf, dnuf, o.backend, (int)o.threads, (int)o.max_iter, o.tol,
                             quiet, policy < 0 ? DOPT_RAGGED_AUTO : policy, max_pad_waste);
    if (!outdir) outdir = dir;
    int sparse = cli_qp_sparse_inputs(dir);
    if (sparse < 0) return CLI_FAIL;
    if (sparse && closest)
        return cli_usage_error("qp", "solve", "--closest-feasible is for dense inputs (.npy), not the sparse layer (.npz)");
    if (sparse)
        return cli_qp_sparse(dir, outdir, dxf, dlamf, dnuf, o.backend, (int)o.threads, (int)o.max_iter, o.tol, quiet);

    cli_batch_input in[6];
    static const char *const names[6] = {"Q", "p", "G", "h", "A", "b"};
    static const int base[6] = {2, 1, 2, 1, 2, 1};
    cli_batch_inputs_init(in, 6, dir, names, base);
    int rc = CLI_FAIL;
    dopt_context *ctx = NULL;
    void *gx = NULL, *glam = NULL, *gnu = NULL;
    dopt_qp_solution sol;
    memset(&sol, 0, sizeof sol);
    void *dx_dev = NULL, *dlam_dev = NULL, *dnu_dev = NULL;
    dopt_qp_tape *tape = NULL;

    if (!cli_batch_inputs_load(in, 6, dir, 2)) goto done;
    if (!cli_batch_inputs_paired(&in[2], &in[3], dir) || !cli_batch_inputs_paired(&in[4], &in[5], dir)) goto done;
    /* sizes: n from Q, m from G, k from A */
    const dopt_npy *Qa = &in[0].arr;
    if (Qa->ndim < 2 || Qa->ndim > 3) {
        fprintf(stderr, "dopt: %s must have shape (B,n,n) or (n,n)\n", in[0].path);
        goto done;
    }
    int64_t n = Qa->shape[Qa->ndim - 1], m = 0, k = 0, B;
    if (n < 1) {
        fprintf(stderr, "dopt: %s has n = 0 variables\n", in[0].path);
        goto done;
    }
    if (!cli_batch_input_rows(&in[2], "m", &m) || !cli_batch_input_rows(&in[4], "k", &k)) goto done;
    const int64_t rows[6] = {n, n, m, m, k, k};
    dopt_dtype dt;
    if (!cli_batch_inputs_check(in, 6, rows, n, &B, &dt)) goto done;
    if (!cli_batch_inputs_convert(in, 6, dt, quiet)) goto done;

    /* gradients in: checked before any work is done */
    if (dxf && !cli_layer_load_grad(dxf, B, n, dt, quiet, &gx)) goto done;
    if (dlamf && !cli_layer_load_grad(dlamf, B, m, dt, quiet, &glam)) goto done;
    if (dnuf && !cli_layer_load_grad(dnuf, B, k, dt, quiet, &gnu)) goto done;

    if (!cli_make_dir(outdir) || !cli_dir_writable("qp solve", "--out", outdir)) goto done;

    if (!cli_batch_context(o.backend, o.threads, &ctx)) goto done;
    size_t es = dt == DOPT_FLOAT64 ? 8 : 4;
    if (!cli_batch_inputs_stage(ctx, in, 6, es)) goto done;

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
    P.shared = cli_batch_shared_bits(in, 6, bits);
    dopt_qp_options opt;
    dopt_qp_options_default(&opt, dt);
    if (o.tol > 0) opt.tol = o.tol;
    if (o.max_iter > 0) opt.max_iter = (int32_t)o.max_iter;
    if (closest) opt.infeasible_mode = DOPT_QP_INFEASIBLE_CLOSEST;

    size_t nB = (size_t)B;
    if (!cli_qp_alloc_solution(ctx, B, n, m, k, es, &sol)) goto done;
    double t0 = cli_now();
    dopt_status s = dopt_qp_solve(ctx, &P, &opt, &sol, dxf ? &tape : NULL);
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
        if (!cli_batch_grads_alloc(ctx, in, 6, es)) goto done;
        dopt_qp_grad_in gin = {dx_dev, dlam_dev, dnu_dev};
        dopt_qp_grad_out gout = {in[0].grad_dev, in[1].grad_dev, in[2].grad_dev,
                                 in[3].grad_dev, in[4].grad_dev, in[5].grad_dev};
        double t2 = cli_now();
        s = dopt_qp_backward(ctx, tape, &gin, &gout);
        double t3 = cli_now();
        if (s != DOPT_OK) {
            fprintf(stderr, "dopt: qp backward failed: %s\n", dopt_context_last_error(ctx));
            goto done;
        }
        if (!cli_batch_grads_write(ctx, in, 6, es, outdir, dt)) goto done;
        if (!quiet) printf("qp backward: %.2f ms\n", 1e3 * (t3 - t2));
    }
    rc = CLI_OK;
done:
    cli_batch_inputs_free(ctx, in, 6);
    if (ctx) {
        cli_qp_release_solution(ctx, &sol);
        cli_unstage(ctx, gx, dx_dev);
        cli_unstage(ctx, glam, dlam_dev);
        cli_unstage(ctx, gnu, dnu_dev);
    }
    free(gx);
    free(glam);
    free(gnu);
    dopt_qp_tape_destroy(tape);
    dopt_context_destroy(ctx);
    return rc;
}
