/* dopt bern DIR: the Bernoulli surrogate's loss and gradient from .npy
 * files. File names, shapes and options are a contract (README.md). */
#define _POSIX_C_SOURCE 200809L /* sysconf in cli_layer_input.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_layer_input.h"
#include "cli_output.h" /* output paths checked before the work */

static int parse_estimator(const char *s, dopt_bern_estimator *e)
{
    if (!strcmp(s, "unbiased")) *e = DOPT_BERN_UNBIASED;
    else if (!strcmp(s, "reinforce")) *e = DOPT_BERN_REINFORCE;
    else if (!strcmp(s, "diffilo")) *e = DOPT_BERN_DIFFILO;
    else if (!strcmp(s, "exact")) *e = DOPT_BERN_EXACT;
    else {
        fprintf(stderr, "dopt: --estimator expects unbiased, reinforce, diffilo or exact, got '%s'\n", s);
        return 0;
    }
    return 1;
}

int cli_bern(int argc, char **argv)
{
    const char *dir = NULL, *outdir = NULL;
    dopt_backend backend = DOPT_BACKEND_CPU;
    dopt_bern_options opt;
    dopt_bern_options_default(&opt);
    long long threads = 0, samples = 64, seed = 0;
    double mu = 1;
    int quiet = 0;
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--out")) { if (!(outdir = cli_value(argc, argv, &i))) return CLI_USAGE; }
        else if (!strcmp(a, "--estimator")) {
            if (!(v = cli_value(argc, argv, &i)) || !parse_estimator(v, &opt.estimator)) return CLI_USAGE;
        } else if (!strcmp(a, "--samples")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 1, 1 << 24, &samples)) return CLI_USAGE;
        } else if (!strcmp(a, "--seed")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 0, 1LL << 62, &seed)) return CLI_USAGE;
        } else if (!strcmp(a, "--mu")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_double(v, a, 1e-300, 1e300, &mu)) return CLI_USAGE;
        } else if (!strcmp(a, "--backend")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_backend(v, &backend)) return CLI_USAGE;
        } else if (!strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 0, 4096, &threads)) return CLI_USAGE;
        } else if (!strcmp(a, "--logits")) opt.logits = 1;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "dopt: unknown option %s\n", a);
            cli_usage(stderr, "bern", NULL);
            return CLI_USAGE;
        } else if (!dir) dir = a;
        else {
            fprintf(stderr, "dopt: unexpected argument '%s'\n", a);
            return CLI_USAGE;
        }
    }
    if (!dir) {
        cli_usage(stderr, "bern", NULL);
        return CLI_USAGE;
    }
    if (!outdir) outdir = dir;
    opt.samples = (int32_t)samples;
    opt.seed = (uint64_t)seed;
    opt.mu = mu;

    int rc = CLI_FAIL;
    dopt_npy X, A, b, c;
    memset(&X, 0, sizeof X), memset(&A, 0, sizeof A), memset(&b, 0, sizeof b), memset(&c, 0, sizeof c);
    void *hx = NULL, *hA = NULL, *hb = NULL, *hc = NULL, *dx = NULL, *dA = NULL, *db = NULL, *dc = NULL;
    void *loss = NULL, *grad = NULL, *lse = NULL, *gse = NULL;
    int32_t *st = NULL;
    void *h_loss = NULL, *h_grad = NULL, *h_lse = NULL, *h_gse = NULL;
    int32_t *h_st = NULL;
    dopt_context *ctx = NULL;
    int has_c;
    char pX[4096], pA[4096], pb[4096], pc[4096];
    cli_layer_path(pX, sizeof pX, dir, "xhat"), cli_layer_path(pA, sizeof pA, dir, "A");
    cli_layer_path(pb, sizeof pb, dir, "b"), cli_layer_path(pc, sizeof pc, dir, "c");
    if (cli_load(dir, "xhat", 1, &X) < 0 || cli_load(dir, "A", 1, &A) < 0 || cli_load(dir, "b", 1, &b) < 0) goto done;
    has_c = cli_load(dir, "c", 0, &c);
    if (has_c < 0) goto done;
    if (X.ndim != 2) {
        fprintf(stderr, "dopt: %s must have shape (B, n)\n", pX);
        goto done;
    }
    int64_t B = X.shape[0], n = X.shape[1];
    if (n < 1) {
        fprintf(stderr, "dopt: %s has n = 0\n", pX);
        goto done;
    }
    if (!(A.ndim == 3 && A.shape[0] == B && A.shape[2] == n) && !(A.ndim == 2 && A.shape[1] == n)) {
        fprintf(stderr, "dopt: %s must have shape (B, m, n) or (m, n) with B = %lld, n = %lld\n", pA, (long long)B,
                (long long)n);
        goto done;
    }
    int64_t m = A.shape[A.ndim - 2];
    if (!(b.ndim == 2 && b.shape[0] == B && b.shape[1] == m) && !(b.ndim == 1 && b.shape[0] == m)) {
        fprintf(stderr, "dopt: %s must have shape (B, m) or (m) with B = %lld, m = %lld\n", pb, (long long)B,
                (long long)m);
        goto done;
    }
    if (has_c && !(c.ndim == 2 && c.shape[0] == B && c.shape[1] == n) && !(c.ndim == 1 && c.shape[0] == n)) {
        fprintf(stderr, "dopt: %s must have shape (B, n) or (n)\n", pc);
        goto done;
    }
    if (opt.estimator == DOPT_BERN_EXACT && n > 16) {
        fprintf(stderr, "dopt: --estimator exact enumerates 2^n points and is limited to n <= 16 (n = %lld)\n",
                (long long)n);
        goto done;
    }
    /* float32 only when every input is float32 (integers convert to float64) */
    dopt_dtype dt = (cli_layer_needs_f64(&X) || cli_layer_needs_f64(&A) || cli_layer_needs_f64(&b) ||
                     (has_c && cli_layer_needs_f64(&c)))
                        ? DOPT_FLOAT64
                        : DOPT_FLOAT32;
    size_t es = dt == DOPT_FLOAT64 ? 8 : 4;
    if (!(hx = cli_layer_real(&X, pX, dt, quiet)) || !(hA = cli_layer_real(&A, pA, dt, quiet)) ||
        !(hb = cli_layer_real(&b, pb, dt, quiet)))
        goto done;
    if (has_c && !(hc = cli_layer_real(&c, pc, dt, quiet))) goto done;
    if (!cli_make_dir(outdir) || !cli_dir_writable("bern", "--out", outdir)) goto done;
    if (dopt_context_create(&ctx, backend) != DOPT_OK) {
        fprintf(stderr, "dopt: %s\n", dopt_context_last_error(ctx));
        goto done;
    }
    if (threads) dopt_context_set_threads(ctx, (int)threads);
    {
        /* outputs (loss, grad and their standard errors, twice: backend and
         * host) and each worker's scratch, which holds the K samples */
        double workers = (double)dopt_context_threads(ctx), nb = (double)B;
        double bytes = 2 * nb * (double)(2 * n + 2) * (double)es +
                       workers * (double)(5 * n + m + samples) * (double)es;
        if (!cli_layer_memory_ok(bytes, "bern", "--samples, --threads or the batch")) goto done;
    }
    if (!(dx = cli_stage(ctx, hx, X.count * es)) || !(dA = cli_stage(ctx, hA, A.count * es)) ||
        !(db = cli_stage(ctx, hb, b.count * es)) || (has_c && !(dc = cli_stage(ctx, hc, c.count * es))))
        goto done;
    size_t nb = (size_t)B;
    loss = cli_alloc(ctx, nb * es), grad = cli_alloc(ctx, nb * n * es), lse = cli_alloc(ctx, nb * es);
    gse = cli_alloc(ctx, nb * n * es), st = (int32_t *)cli_alloc(ctx, nb * 4);
    h_loss = malloc(nb * es + 1), h_grad = malloc(nb * n * es + 1), h_lse = malloc(nb * es + 1);
    h_gse = malloc(nb * n * es + 1), h_st = (int32_t *)malloc(nb * 4 + 1);
    if (!loss || !grad || !lse || !gse || !st || !h_loss || !h_grad || !h_lse || !h_gse || !h_st) {
        fprintf(stderr, "dopt: out of memory\n");
        goto done;
    }
    dopt_bern_problem P = {B, (int32_t)n, (int32_t)m, dt, dA, NULL, NULL, NULL, db, dc, 0};
    if (A.ndim == 2) P.shared |= DOPT_BERN_SHARE_A;
    if (b.ndim == 1) P.shared |= DOPT_BERN_SHARE_B;
    if (has_c && c.ndim == 1) P.shared |= DOPT_BERN_SHARE_C;
    dopt_bern_result res = {loss, grad, lse, gse, st};
    double t0 = cli_now();
    if (dopt_bern_eval(ctx, &P, dx, &opt, &res) != DOPT_OK) {
        fprintf(stderr, "dopt: bern failed: %s\n", dopt_context_last_error(ctx));
        goto done;
    }
    double t1 = cli_now();
    if (!cli_fetch(ctx, h_loss, loss, nb * es) || !cli_fetch(ctx, h_grad, grad, nb * n * es) ||
        !cli_fetch(ctx, h_lse, lse, nb * es) || !cli_fetch(ctx, h_gse, gse, nb * n * es) ||
        !cli_fetch(ctx, h_st, st, nb * 4) || !cli_make_dir(outdir))
        goto done;
    int64_t s1[1] = {B}, s2[2] = {B, n};
    if (!cli_write(outdir, "loss", dt, 1, s1, h_loss) || !cli_write(outdir, "grad", dt, 2, s2, h_grad) ||
        !cli_write_i32(outdir, "status", B, h_st))
        goto done;
    if (opt.estimator != DOPT_BERN_EXACT &&
        (!cli_write(outdir, "loss_se", dt, 1, s1, h_lse) || !cli_write(outdir, "grad_se", dt, 2, s2, h_gse)))
        goto done;
    long long invalid = 0;
    for (size_t i = 0; i < nb; ++i) invalid += h_st[i] != 0;
    if (!quiet) {
        static const char *names[4] = {"unbiased", "reinforce", "diffilo", "exact"};
        printf("bern: %lld instances (n=%lld m=%lld, %s, %s estimator, %d samples) in %.2f ms\n", (long long)B,
               (long long)n, (long long)m, dt == DOPT_FLOAT64 ? "float64" : "float32", names[opt.estimator],
               opt.estimator == DOPT_BERN_EXACT ? 0 : opt.samples, 1e3 * (t1 - t0));
        if (invalid)
            printf("  %lld instances with invalid data (status 5: xhat outside (0,1) or non-finite data): "
                   "their loss and grad are NaN\n",
                   invalid);
    }
    rc = CLI_OK;
done:
    if (ctx) {
        cli_unstage(ctx, hx, dx), cli_unstage(ctx, hA, dA), cli_unstage(ctx, hb, db), cli_unstage(ctx, hc, dc);
        cli_release(ctx, loss), cli_release(ctx, grad), cli_release(ctx, lse), cli_release(ctx, gse);
        cli_release(ctx, st);
    }
    free(hx), free(hA), free(hb), free(hc), free(h_loss), free(h_grad), free(h_lse), free(h_gse), free(h_st);
    dopt_npy_free(&X), dopt_npy_free(&A), dopt_npy_free(&b), dopt_npy_free(&c);
    dopt_context_destroy(ctx);
    return rc;
}
