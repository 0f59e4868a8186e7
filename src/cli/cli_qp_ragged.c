/* dopt qp solve --ragged IN.npz: a ragged (heterogeneous) QP batch from one
 * .npz archive, solved (and differentiated) in one dopt_qp_ragged_solve.
 * The keys, layouts and outputs are a contract (the ragged-batch issue,
 * docs/QP.md "Ragged batches"): int32 n, m, k (B); Q, p, G, h, A, b the
 * concatenations of every instance's row-major arrays, one float dtype. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_output.h"
#include "cli_summary.h"
#include "cli_ragged_io.h"

int cli_qp_ragged(const char *in, const char *out_arg, const char *dxf, const char *dlamf, const char *dnuf,
                  dopt_backend backend, int threads, int max_iter, double tol, int quiet, int policy,
                  double max_pad_waste)
{
    char out[4096];
    if (out_arg) snprintf(out, sizeof out, "%s", out_arg);
    else cli_ragged_default_out(out, sizeof out, in);
    int rc = CLI_FAIL;
    dopt_npz z;
    memset(&z, 0, sizeof z);
    dopt_context *ctx = NULL;
    int32_t *n = NULL, *m = NULL, *k = NULL;
    void *gx = NULL, *glam = NULL, *gnu = NULL;
    void *dev[6] = {0}, *res[3] = {0}, *host_res[3] = {0}, *grads[6] = {0}, *host_grads[6] = {0};
    void *gdev[3] = {0};
    int32_t *status = NULL, *iters = NULL, *hs = NULL, *hi = NULL;
    dopt_qp_tape *tape = NULL;
    static const char *keys[6] = {"Q", "p", "G", "h", "A", "b"};
    const dopt_npy *arr[6] = {0};

    dopt_status s = dopt_context_create(&ctx, backend);
    if (s != DOPT_OK) {
        fprintf(stderr, "dopt: %s\n", dopt_context_last_error(ctx));
        goto done;
    }
    if (dopt_npz_read(ctx, in, &z) != DOPT_OK) {
        fprintf(stderr, "dopt: %s\n", dopt_context_last_error(ctx));
        goto done;
    }
    int64_t B = -1;
    static const char needs[] = "the ragged QP format needs n, m, k, Q, p, G, h, A, b";
    /* int32 sizes; the layer checks its own limits (n <= 4096, ...) naming the instance */
    if (!cli_ragged_sizes(&z, in, "n", 1, INT32_MAX, needs, &B, &n) ||
        !cli_ragged_sizes(&z, in, "m", 0, INT32_MAX, needs, &B, &m) ||
        !cli_ragged_sizes(&z, in, "k", 0, INT32_MAX, needs, &B, &k))
        goto done;
    /* lengths the sizes imply (in double first: no overflow before the check) */
    double len_d[6] = {0};
    for (int64_t i = 0; i < B; ++i) {
        double dn = n[i], dm = m[i], dk = k[i];
        len_d[0] += dn * dn;
        len_d[1] += dn;
        len_d[2] += dm * dn;
        len_d[3] += dm;
        len_d[4] += dk * dn;
        len_d[5] += dk;
    }
    int64_t len[6];
    for (int t = 0; t < 6; ++t) {
        if (len_d[t] > 9.0e15) {
            fprintf(stderr, "dopt: %s: the sizes make '%s' too long (%.3g values)\n", in, keys[t], len_d[t]);
            goto done;
        }
        len[t] = (int64_t)len_d[t];
    }
    int dt_i = -1;
    for (int t = 0; t < 6; ++t) {
        int bad;
        if (!(arr[t] = cli_ragged_data(&z, in, keys[t], 1, len[t], needs, &dt_i, &bad))) goto done;
    }
    dopt_dtype dt = (dopt_dtype)dt_i;
    size_t es = dt == DOPT_FLOAT64 ? 8 : 4;
    if (dxf && !(gx = cli_ragged_grad(dxf, "--dx", len[1], dt))) goto done;
    if (dlamf && !(glam = cli_ragged_grad(dlamf, "--dlam", len[3], dt))) goto done;
    if (dnuf && !(gnu = cli_ragged_grad(dnuf, "--dnu", len[5], dt))) goto done;
    if (!cli_file_writable("qp solve", "--out", out)) goto done;

    if (threads) dopt_context_set_threads(ctx, threads);
    if (dopt_context_set_ragged_policy(ctx, (dopt_ragged_policy)policy, max_pad_waste) != DOPT_OK) {
        fprintf(stderr, "dopt: %s\n", dopt_context_last_error(ctx));
        goto done;
    }
    for (int t = 0; t < 6; ++t)
        if (!(dev[t] = cli_stage(ctx, arr[t]->data, (size_t)len[t] * es + 1))) goto done;
    int64_t rlen[3] = {len[1], len[3], len[5]};
    for (int t = 0; t < 3; ++t)
        if (!(res[t] = cli_alloc(ctx, (size_t)rlen[t] * es + 1)) || !(host_res[t] = malloc((size_t)rlen[t] * es + 1)))
            goto done;
    status = (int32_t *)cli_alloc(ctx, (size_t)B * 4 + 4);
    iters = (int32_t *)cli_alloc(ctx, (size_t)B * 4 + 4);
    hs = (int32_t *)malloc((size_t)B * 4 + 4);
    hi = (int32_t *)malloc((size_t)B * 4 + 4);
    if (!status || !iters || !hs || !hi) goto done;

    dopt_qp_ragged_problem P = {B, n, m, k, dt, dev[0], dev[1], dev[2], dev[3], dev[4], dev[5]};
    dopt_qp_options opt;
    dopt_qp_options_default(&opt, dt);
    if (tol > 0) opt.tol = tol;
    if (max_iter > 0) opt.max_iter = max_iter;
    dopt_qp_solution sol = {res[0], res[1], res[2], status, iters};
    double t0 = cli_now();
    s = dopt_qp_ragged_solve(ctx, &P, &opt, &sol, dxf ? &tape : NULL);
    double t1 = cli_now();
    if (s != DOPT_OK) {
        fprintf(stderr, "dopt: qp solve --ragged failed: %s (%s)\n", dopt_context_last_error(ctx),
                dopt_status_string(s));
        goto done;
    }
    for (int t = 0; t < 3; ++t)
        if (!cli_fetch(ctx, host_res[t], res[t], (size_t)rlen[t] * es)) goto done;
    if (!cli_fetch(ctx, hs, status, (size_t)B * 4) || !cli_fetch(ctx, hi, iters, (size_t)B * 4)) goto done;

    if (dxf) {
        void *gin_host[3] = {gx, glam, gnu};
        for (int t = 0; t < 3; ++t)
            if (gin_host[t] && !(gdev[t] = cli_stage(ctx, gin_host[t], (size_t)rlen[t] * es + 1))) goto done;
        for (int t = 0; t < 6; ++t)
            if (!(grads[t] = cli_alloc(ctx, (size_t)len[t] * es + 1)) ||
                !(host_grads[t] = malloc((size_t)len[t] * es + 1)))
                goto done;
        dopt_qp_grad_in gin = {gdev[0], gdev[1], gdev[2]};
        dopt_qp_grad_out gout = {grads[0], grads[1], grads[2], grads[3], grads[4], grads[5]};
        s = dopt_qp_backward(ctx, tape, &gin, &gout);
        if (s != DOPT_OK) {
            fprintf(stderr, "dopt: qp backward failed: %s\n", dopt_context_last_error(ctx));
            goto done;
        }
        for (int t = 0; t < 6; ++t)
            if (!cli_fetch(ctx, host_grads[t], grads[t], (size_t)len[t] * es)) goto done;
    }

    int64_t shape[9] = {rlen[0], rlen[1], rlen[2], B, B, len[0], len[1], len[2], len[3]};
    int64_t shape2[2] = {len[4], len[5]};
    char fk = 'f';
    int isz = (int)es;
    dopt_npz_entry e[11] = {
        {"x", fk, isz, 1, &shape[0], host_res[0]}, {"lam", fk, isz, 1, &shape[1], host_res[1]},
        {"nu", fk, isz, 1, &shape[2], host_res[2]}, {"status", 'i', 4, 1, &shape[3], hs},
        {"iters", 'i', 4, 1, &shape[4], hi},       {"dQ", fk, isz, 1, &shape[5], host_grads[0]},
        {"dp", fk, isz, 1, &shape[6], host_grads[1]}, {"dG", fk, isz, 1, &shape[7], host_grads[2]},
        {"dh", fk, isz, 1, &shape[8], host_grads[3]}, {"dA", fk, isz, 1, &shape2[0], host_grads[4]},
        {"db", fk, isz, 1, &shape2[1], host_grads[5]}};
    if (dopt_npz_write(ctx, out, dxf ? 11 : 5, e) != DOPT_OK) {
        fprintf(stderr, "dopt: %s\n", dopt_context_last_error(ctx));
        goto done;
    }
    if (!quiet) {
        printf("qp solve --ragged: %lld instances (", (long long)B);
        cli_print_run_kind(ctx, dt);
        printf(") in %.2f ms, mean %.1f iterations -> %s\n", 1e3 * (t1 - t0), cli_mean_iterations(hi, B), out);
        cli_print_status_counts(hs, B);
    }
    rc = CLI_OK;
done:
    if (ctx) {
        for (int t = 0; t < 6; ++t) {
            if (arr[t]) cli_unstage(ctx, arr[t]->data, dev[t]);
            cli_release(ctx, grads[t]);
        }
        for (int t = 0; t < 3; ++t) cli_release(ctx, res[t]);
        cli_unstage(ctx, gx, gdev[0]);
        cli_unstage(ctx, glam, gdev[1]);
        cli_unstage(ctx, gnu, gdev[2]);
        cli_release(ctx, status);
        cli_release(ctx, iters);
    }
    dopt_qp_tape_destroy(tape);
    for (int t = 0; t < 6; ++t) free(host_grads[t]);
    for (int t = 0; t < 3; ++t) free(host_res[t]);
    free(hs);
    free(hi);
    free(gx);
    free(glam);
    free(gnu);
    free(n);
    free(m);
    free(k);
    dopt_npz_free(&z);
    dopt_context_destroy(ctx);
    return rc;
}
