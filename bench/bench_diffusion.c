/* dopt bench diffusion: reverse steps per second of the guided DDPM step
 * (Lagrangian guidance on a sparse set-cover A, then the update), excluding
 * the network, for (rows = B*K, n) over a grid; with the machine's measured
 * memory bandwidth and the bytes a step must move. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "qp_generate.h"

int cli_bench_diffusion(int argc, char **argv)
{
    long long threads = 0;
    double max_elems = 1.7e8;
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i], *v; /* the option's name: cli_value moves i onto the value */
        if (!strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 0, 4096, &threads)) return CLI_USAGE;
        } else if (!strcmp(a, "--max-elements")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_double(v, a, 1, 1e12, &max_elems)) return CLI_USAGE;
        } else if (a[0] == '-') {
            return cli_usage_error("bench", "diffusion", "unknown option %s", a);
        } else {
            return cli_usage_error("bench", "diffusion", "unexpected argument '%s'", a);
        }
    }
    long long rowsv[5] = {64, 1024, 4096, 16384, 65536};
    int nv[3] = {500, 1000, 5000};
    if ((double)rowsv[0] * nv[0] > max_elems) /* every configuration would be skipped */
        return cli_usage_error("bench", "diffusion",
                               "nothing to run: --max-elements %g is below the smallest configuration "
                               "(%lld rows x n = %d = %.0f elements)",
                               max_elems, rowsv[0], nv[0], (double)rowsv[0] * nv[0]);
    dopt_context *ctx = NULL;
    if (dopt_context_create(&ctx, DOPT_BACKEND_CPU) != DOPT_OK) {
        fprintf(stderr, "dopt bench diffusion: %s\n", dopt_context_last_error(ctx));
        dopt_context_destroy(ctx);
        return CLI_FAIL;
    }
    if (threads) dopt_context_set_threads(ctx, (int)threads);
    double bw = cli_triad_gbs((int)threads);
    printf("dopt bench diffusion: guided DDPM step (guidance on a shared set-cover A with m = n/2 rows, 5 nonzeros "
           "per row, then the update), float64, %d threads; network excluded\n",
           dopt_context_threads(ctx));
    printf("memory bandwidth (triad, same threads): %.1f GB/s\n", bw);
    printf("%8s %6s %14s %16s %12s %10s\n", "rows", "n", "ms / step", "row-steps / s", "GB/s moved", "of triad");
    double abar[1001];
    int rc = CLI_OK;
    dopt_diffusion_schedule(DOPT_SCHEDULE_LINEAR, 1000, abar);
    for (int s = 0; s < 3 && rc == CLI_OK; ++s) {
        int n = nv[s], m = n / 2, per = 5;
        size_t nnz = (size_t)m * per;
        int64_t *rp = malloc(8 * (size_t)(m + 1));
        int32_t *col = malloc(4 * nnz);
        double *val = malloc(8 * nnz), *b = malloc(8 * (size_t)m), *c = malloc(8 * (size_t)n);
        uint64_t rs = 5;
        if (!rp || !col || !val || !b || !c) {
            fprintf(stderr, "dopt bench diffusion: out of memory for n = %d\n", n);
            free(rp), free(col), free(val), free(b), free(c);
            rc = CLI_FAIL;
            break;
        }
        for (int i = 0; i <= m; ++i) rp[i] = (int64_t)i * per;
        for (size_t e = 0; e < nnz; ++e) col[e] = (int32_t)(dopt_gen_uniform(&rs) * n), val[e] = 1;
        for (int i = 0; i < m; ++i) b[i] = 1;
        for (int j = 0; j < n; ++j) c[j] = 1;
        for (int ri = 0; ri < 5 && rc == CLI_OK; ++ri) {
            long long rows = rowsv[ri];
            if ((double)rows * n > max_elems) {
                printf("%8lld %6d %14s   (skipped: %.1f GB per state array; raise --max-elements)\n", rows, n, "-",
                       8.0 * rows * n * 1e-9);
                continue;
            }
            double *x = malloc(sizeof(double) * rows * n), *eps = malloc(sizeof(double) * rows * n);
            if (!x || !eps) {
                free(x), free(eps);
                printf("%8lld %6d   (out of memory)\n", rows, n);
                continue;
            }
            for (size_t q = 0; q < (size_t)rows * n; ++q) x[q] = 0.3, eps[q] = 0.1;
            dopt_diffusion_guide gb = {1, n, m, (int32_t)rows, DOPT_FLOAT64, rp, col, val, b, c, NULL,
                                  DOPT_DIFFUSION_SHARE_A | DOPT_DIFFUSION_SHARE_B | DOPT_DIFFUSION_SHARE_C};
            gb.batch = 1;
            dopt_guidance g = {0, 1.0, 1.0};
            double best = 1e300, tot = 0;
            int reps = 0, t = 1000;
            do {
                dopt_diffusion_step_desc d = {DOPT_SAMPLER_DDPM, abar, t, t - 1, 0, 1};
                double t0 = cli_now();
                if (dopt_diffusion_step(ctx, &d, rows, n, DOPT_FLOAT64, x, eps, &gb, &g) != DOPT_OK) {
                    fprintf(stderr, "dopt bench diffusion: %s\n", dopt_context_last_error(ctx));
                    rc = CLI_FAIL; /* a failed call is no measurement */
                    break;
                }
                double dt = cli_now() - t0;
                best = dt < best ? dt : best;
                tot += dt;
                ++reps;
                if (--t < 2) t = 1000;
            } while (tot < 0.5 && reps < 200);
            if (rc != CLI_OK) {
                free(x), free(eps);
                break;
            }
            /* bytes a row-step moves: x read and written, eps read and written
             * (guidance), the activities scratch (m, written and read); the
             * shared CSR A (12 B per nonzero) stays in cache across rows */
            double bytes = (double)rows * (32.0 * n + 16.0 * m);
            printf("%8lld %6d %14.3f %16.3g %12.1f %9.0f%%\n", rows, n, 1e3 * best, (double)rows / best,
                   bytes / best * 1e-9, 100 * bytes / best * 1e-9 / bw);
            fflush(stdout);
            free(x), free(eps);
        }
        free(rp), free(col), free(val), free(b), free(c);
    }
    dopt_context_destroy(ctx);
    return rc;
}
