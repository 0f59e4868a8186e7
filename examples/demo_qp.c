/* dopt demo: learning the hidden constraints of a QP layer.
 *
 * A hidden polytope {x : G* x <= h*} in R^n maps a cost p to the projection
 *     x*(p) = argmin 1/2 |x|^2 + p'x  s.t.  G* x <= h*.
 * From (p, x*(p)) pairs alone, a layer with its own shared (G, h) is trained
 * by Adam on the mean squared error, the gradient flowing through
 * dopt_qp_backward (dG, dh summed over the batch). Needs nothing but the
 * library; prints the loss falling and the held-out error of the learned
 * polytope. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "qp_generate.h"

typedef struct {
    int n, m;
    double *G, *h; /* shared, learned */
} polytope;

/* Solves the projections of the batch onto the polytope; returns the number solved. */
static int64_t project(dopt_context *ctx, const polytope *pl, int64_t B, const double *Q, const double *p, double *x,
                       double *lam, int32_t *st, dopt_qp_tape **tape)
{
    dopt_qp_problem P = {B, pl->n, pl->m, 0, DOPT_FLOAT64, Q, p, pl->G, pl->h, NULL, NULL,
                         DOPT_QP_SHARE_Q | DOPT_QP_SHARE_G | DOPT_QP_SHARE_H};
    dopt_qp_solution sol = {x, lam, NULL, st, NULL};
    if (dopt_qp_solve(ctx, &P, NULL, &sol, tape) != DOPT_OK) {
        fprintf(stderr, "dopt demo: %s\n", dopt_context_last_error(ctx));
        return -1;
    }
    int64_t ok = 0;
    for (int64_t i = 0; i < B; ++i) {
        ok += st[i] == DOPT_SOLVED;
    }
    return ok;
}

static double mse(int64_t B, int n, const double *x, const double *y)
{
    double s = 0;
    for (size_t i = 0; i < (size_t)B * n; ++i) s += (x[i] - y[i]) * (x[i] - y[i]);
    return s / (double)B;
}

int cli_demo(int argc, char **argv)
{
    if (argc > 0 && !strcmp(argv[0], "combopt")) return cli_demo_combopt(argc - 1, argv + 1);
    long long steps = 300, seed = 1, threads = 0;
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--steps")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 1, 1000000, &steps)) return CLI_USAGE;
        } else if (!strcmp(a, "--seed")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 0, 1LL << 62, &seed)) return CLI_USAGE;
        } else if (!strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 0, 4096, &threads)) return CLI_USAGE;
        } else if (a[0] == '-') {
            return cli_usage_error("demo", NULL, "unknown option %s", a);
        } else {
            return cli_usage_error("demo", NULL, "unexpected argument '%s' (the one subcommand is combopt, first)", a);
        }
    }
    const int n = 3, m = 6;
    const int64_t B = 512, T = 2000; /* training pairs per step, held-out pairs */
    uint64_t rs = (uint64_t)seed * 0x9E3779B97F4A7C15ull + 7;
    /* hidden polytope: m random unit normals at distance 0.5..1 from 0 */
    polytope truth = {n, m, calloc((size_t)m * n, sizeof(double)), calloc(m, sizeof(double))};
    for (int r = 0; r < m; ++r) {
        double nr = 0;
        for (int j = 0; j < n; ++j) {
            truth.G[r * n + j] = dopt_gen_normal(&rs);
            nr += truth.G[r * n + j] * truth.G[r * n + j];
        }
        for (int j = 0; j < n; ++j) truth.G[r * n + j] /= sqrt(nr);
        truth.h[r] = 0.5 + 0.5 * dopt_gen_uniform(&rs);
    }
    /* the learner: twice as many rows (a row that never touches the data gets
     * no gradient, so spares make the fit robust), random normals, offsets 1 */
    const int ml = 2 * m;
    polytope learn = {n, ml, calloc((size_t)ml * n, sizeof(double)), calloc(ml, sizeof(double))};
    for (int r = 0; r < ml; ++r) {
        for (int j = 0; j < n; ++j) learn.G[r * n + j] = dopt_gen_normal(&rs);
        learn.h[r] = 1.0;
    }
    double Q[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    size_t nb = (size_t)(B > T ? B : T);
    double *p = malloc(sizeof(double) * nb * n), *y = malloc(sizeof(double) * nb * n),
           *x = malloc(sizeof(double) * nb * n), *lam = malloc(sizeof(double) * nb * 2 * m),
           *w = malloc(sizeof(double) * nb * n), *dG = malloc(sizeof(double) * 2 * m * n), *dh = malloc(sizeof(double) * 2 * m),
           *ptest = malloc(sizeof(double) * T * n), *ytest = malloc(sizeof(double) * T * n);
    int32_t *st = malloc(sizeof(int32_t) * nb);
    cli_adam aG = {calloc((size_t)2 * m * n, sizeof(double)), calloc((size_t)2 * m * n, sizeof(double)), (size_t)2 * m * n, 0};
    cli_adam ah = {calloc(2 * m, sizeof(double)), calloc(2 * m, sizeof(double)), (size_t)2 * m, 0};
    dopt_context *ctx = NULL;
    int rc = CLI_FAIL;
    if (dopt_context_create(&ctx, DOPT_BACKEND_CPU) != DOPT_OK) goto done;
    if (threads) dopt_context_set_threads(ctx, (int)threads);

    /* held-out set */
    for (size_t i = 0; i < (size_t)T * n; ++i) ptest[i] = 1.5 * dopt_gen_normal(&rs);
    if (project(ctx, &truth, T, Q, ptest, ytest, lam, st, NULL) != T) goto done;

    printf("dopt demo: learning a hidden polytope (%d facets in R^%d) from projections onto it,\n"
           "with a %d-row QP layer trained through dopt_qp_backward; %lld Adam steps of %lld pairs\n", m, n, ml, steps,
           (long long)B);
    if (project(ctx, &learn, T, Q, ptest, x, lam, st, NULL) < 0) goto done;
    double start_err = mse(T, n, x, ytest);
    printf("%6s %12s %14s\n", "step", "train loss", "held-out loss");
    dopt_qp_tape *tape = NULL;
    double lr = 0.05;
    for (long long s = 1; s <= steps; ++s) {
        for (size_t i = 0; i < (size_t)B * n; ++i) p[i] = 1.5 * dopt_gen_normal(&rs);
        if (project(ctx, &truth, B, Q, p, y, lam, st, NULL) != B) goto done;
        int64_t solved = project(ctx, &learn, B, Q, p, x, lam, st, &tape);
        if (solved < 0) goto done;
        double loss = mse(B, n, x, y);
        for (size_t i = 0; i < (size_t)B * n; ++i) w[i] = 2 * (x[i] - y[i]) / (double)B;
        dopt_qp_grad_in gin = {w, NULL, NULL};
        dopt_qp_grad_out gout = {NULL, NULL, dG, dh, NULL, NULL};
        if (dopt_qp_backward(ctx, tape, &gin, &gout) != DOPT_OK) {
            fprintf(stderr, "dopt demo: %s\n", dopt_context_last_error(ctx));
            dopt_qp_tape_destroy(tape);
            goto done;
        }
        double sl = lr * pow(0.01, (double)s / (double)steps); /* decays 100-fold over the run */
        cli_adam_step(&aG, learn.G, dG, sl);
        cli_adam_step(&ah, learn.h, dh, sl);
        if (s == 1 || s % (steps / 10 > 0 ? steps / 10 : 1) == 0 || s == steps) {
            if (project(ctx, &learn, T, Q, ptest, x, lam, st, NULL) < 0) goto done;
            printf("%6lld %12.3e %14.3e%s\n", s, loss, mse(T, n, x, ytest),
                   solved < B ? "  (some instances unsolved: zero gradient)" : "");
            fflush(stdout);
        }
    }
    dopt_qp_tape_destroy(tape);
    if (project(ctx, &learn, T, Q, ptest, x, lam, st, NULL) < 0) goto done;
    double end_err = mse(T, n, x, ytest);
    int close = 0;
    for (int64_t i = 0; i < T; ++i) {
        double e = 0;
        for (int j = 0; j < n; ++j) e += (x[i * n + j] - ytest[i * n + j]) * (x[i * n + j] - ytest[i * n + j]);
        close += sqrt(e) < 1e-2;
    }
    printf("held-out mean squared error: %.3e at the start, %.3e after training (%.0fx lower);\n"
           "%.1f%% of held-out projections within 0.01 of the truth\n",
           start_err, end_err, start_err / (end_err > 0 ? end_err : 1e-300), 100.0 * close / (double)T);
    rc = CLI_OK;
done:
    if (rc != CLI_OK && ctx && dopt_context_last_error(ctx)[0])
        fprintf(stderr, "dopt demo: %s\n", dopt_context_last_error(ctx));
    dopt_context_destroy(ctx);
    free(truth.G), free(truth.h), free(learn.G), free(learn.h), free(p), free(y), free(x), free(lam), free(w);
    free(dG), free(dh), free(ptest), free(ytest), free(st), free(aG.m1), free(aG.m2), free(ah.m1), free(ah.m2);
    return rc;
}
