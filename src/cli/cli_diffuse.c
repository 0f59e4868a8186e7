/* dopt diffuse sample: DDPM / DDIM sampling of a Gaussian (or Gaussian
 * mixture) target with its exact score at every step, so that only the
 * sampler is under test. File names and options are a contract (README). */
#define _POSIX_C_SOURCE 200809L /* sysconf in cli_layer_input.h */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_layer_input.h"
#include "cli_output.h" /* output paths checked before the work */

static double *load_f64(const char *dir, const char *name, dopt_npy *a, char *path, size_t size, int quiet)
{
    cli_layer_path(path, size, dir, name);
    if (cli_load(dir, name, 1, a) < 0) return NULL;
    return (double *)cli_layer_real(a, path, DOPT_FLOAT64, quiet);
}

/* 1 when every entry is finite, else 0 with a message naming the file. */
static int all_finite(const char *path, const double *v, size_t len)
{
    for (size_t i = 0; i < len; ++i)
        if (!isfinite(v[i])) {
            fprintf(stderr, "dopt: %s: entry %zu is %g (the target must be finite)\n", path, i, v[i]);
            return 0;
        }
    return 1;
}

/* A covariance (n x n) must be symmetric (to 1e-9 of its largest entry) and
 * positive semidefinite: a Cholesky of C + (sqrt(eps) max|C_ii| + tiny) I,
 * the rule the QP layer applies to Q. `which` names the component (or ""). */
static int covariance_ok(const char *path, const char *which, int n, const double *C)
{
    double cmax = 0, dmax = 0;
    for (size_t e = 0; e < (size_t)n * n; ++e) cmax = fmax(cmax, fabs(C[e]));
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < a; ++b)
            if (fabs(C[a * n + b] - C[b * n + a]) > 1e-9 * cmax) {
                fprintf(stderr, "dopt: %s: %snot symmetric: [%d, %d] = %g but [%d, %d] = %g\n", path, which, a, b,
                        C[a * n + b], b, a, C[b * n + a]);
                return 0;
            }
    for (int a = 0; a < n; ++a) dmax = fmax(dmax, fabs(C[a * n + a]));
    double *L = malloc(sizeof(double) * (size_t)n * n + 1);
    if (!L) {
        fprintf(stderr, "dopt: %s: out of memory checking it\n", path);
        return 0;
    }
    double shift = sqrt(2.220446049250313e-16) * dmax + 1e-300;
    int ok = 1;
    for (int j = 0; j < n && ok; ++j) { /* lower Cholesky, column by column */
        double d = C[j * n + j] + shift;
        for (int k = 0; k < j; ++k) d -= L[j * n + k] * L[j * n + k];
        if (!(d > 0)) {
            ok = 0;
            break;
        }
        L[j * n + j] = sqrt(d);
        for (int i = j + 1; i < n; ++i) {
            double v = 0.5 * (C[i * n + j] + C[j * n + i]);
            for (int k = 0; k < j; ++k) v -= L[i * n + k] * L[j * n + k];
            L[i * n + j] = v / L[j * n + j];
        }
    }
    free(L);
    if (!ok) fprintf(stderr, "dopt: %s: %snot positive semidefinite (a covariance must be)\n", path, which);
    return ok;
}

int cli_diffuse(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "sample") != 0) {
        cli_usage(stderr, "diffuse", "sample");
        return CLI_USAGE;
    }
    const char *gdir = NULL, *mdir = NULL, *out = NULL;
    dopt_sampler sampler = DOPT_SAMPLER_DDPM;
    dopt_schedule sched = DOPT_SCHEDULE_LINEAR;
    dopt_backend backend = DOPT_BACKEND_CPU;
    double eta = 0;
    long long steps = 0, K = -1, seed = -1, threads = 0;
    int have_sampler = 0, quiet = 0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--gaussian")) { if (!(gdir = cli_value(argc, argv, &i))) return CLI_USAGE; }
        else if (!strcmp(a, "--mixture")) { if (!(mdir = cli_value(argc, argv, &i))) return CLI_USAGE; }
        else if (!strcmp(a, "--out")) { if (!(out = cli_value(argc, argv, &i))) return CLI_USAGE; }
        else if (!strcmp(a, "--sampler")) {
            if (!(v = cli_value(argc, argv, &i))) return CLI_USAGE;
            if (!strcmp(v, "ddpm")) sampler = DOPT_SAMPLER_DDPM;
            else if (!strcmp(v, "ddim")) sampler = DOPT_SAMPLER_DDIM;
            else {
                fprintf(stderr, "dopt: --sampler expects ddpm or ddim, got '%s'\n", v);
                return CLI_USAGE;
            }
            have_sampler = 1;
        } else if (!strcmp(a, "--schedule")) {
            if (!(v = cli_value(argc, argv, &i))) return CLI_USAGE;
            if (!strcmp(v, "linear")) sched = DOPT_SCHEDULE_LINEAR;
            else if (!strcmp(v, "cosine")) sched = DOPT_SCHEDULE_COSINE;
            else {
                fprintf(stderr, "dopt: --schedule expects linear or cosine, got '%s'\n", v);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--eta")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_double(v, a, 0, 1, &eta)) return CLI_USAGE;
        } else if (!strcmp(a, "--steps")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 1, 100000, &steps)) return CLI_USAGE;
        } else if (!strcmp(a, "--samples")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 1, 1LL << 31, &K)) return CLI_USAGE;
        } else if (!strcmp(a, "--seed")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 0, 1LL << 62, &seed)) return CLI_USAGE;
        } else if (!strcmp(a, "--backend")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_backend(v, &backend)) return CLI_USAGE;
        } else if (!strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 0, 4096, &threads)) return CLI_USAGE;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else {
            fprintf(stderr, "dopt: unknown option %s\n", a);
            cli_usage(stderr, "diffuse", "sample");
            return CLI_USAGE;
        }
    }
    if ((!gdir == !mdir) || !have_sampler || K < 0 || seed < 0 || !out) {
        fprintf(stderr, "dopt: diffuse sample needs one of --gaussian/--mixture, and --sampler, --samples, --seed, --out\n");
        cli_usage(stderr, "diffuse", "sample");
        return CLI_USAGE;
    }
    if (sampler == DOPT_SAMPLER_DDPM && eta != 0) fprintf(stderr, "dopt: note: --eta applies to ddim only\n");

    int rc = CLI_FAIL, n = 0, comps = 1;
    dopt_npy a1, a2, a3;
    memset(&a1, 0, sizeof a1), memset(&a2, 0, sizeof a2), memset(&a3, 0, sizeof a3);
    double *w = NULL, *means = NULL, *covs = NULL, *x = NULL, *eps = NULL, *abar = NULL, *zero = NULL;
    void *dx = NULL, *de = NULL;
    dopt_context *ctx = NULL;
    char p1[4096], p2[4096], p3[4096];
    if (gdir) {
        if (!(means = load_f64(gdir, "mean", &a1, p1, sizeof p1, quiet)) ||
            !(covs = load_f64(gdir, "cov", &a2, p2, sizeof p2, quiet)))
            goto done;
        if (a1.ndim != 1 || a2.ndim != 2 || a2.shape[0] != a1.shape[0] || a2.shape[1] != a1.shape[0]) {
            fprintf(stderr, "dopt: %s must be (n,) and %s (n, n)\n", p1, p2);
            goto done;
        }
        n = (int)a1.shape[0];
        if (!all_finite(p1, means, (size_t)n) || !all_finite(p2, covs, (size_t)n * n) ||
            !covariance_ok(p2, "", n, covs))
            goto done;
        w = malloc(sizeof(double));
        if (!w) goto done;
        w[0] = 1;
    } else {
        if (!(w = load_f64(mdir, "weights", &a1, p1, sizeof p1, quiet)) ||
            !(means = load_f64(mdir, "means", &a2, p2, sizeof p2, quiet)) ||
            !(covs = load_f64(mdir, "covs", &a3, p3, sizeof p3, quiet)))
            goto done;
        if (a1.ndim != 1 || a2.ndim != 2 || a3.ndim != 3 || a2.shape[0] != a1.shape[0] || a3.shape[0] != a1.shape[0] ||
            a3.shape[1] != a2.shape[1] || a3.shape[2] != a2.shape[1]) {
            fprintf(stderr, "dopt: %s (c,), %s (c, n) and %s (c, n, n) expected\n", p1, p2, p3);
            goto done;
        }
        comps = (int)a1.shape[0];
        n = (int)a2.shape[1];
        if (comps < 1) {
            fprintf(stderr, "dopt: %s has no components\n", p1);
            goto done;
        }
        double wsum = 0;
        for (int c = 0; c < comps; ++c) {
            if (!(w[c] >= 0 && w[c] < INFINITY)) {
                fprintf(stderr, "dopt: %s: weight %d is %g (weights must be finite and >= 0)\n", p1, c, w[c]);
                goto done;
            }
            wsum += w[c];
        }
        if (!(wsum > 0)) {
            fprintf(stderr, "dopt: %s: the weights sum to 0\n", p1);
            goto done;
        }
        /* weights proportional to the mixture's: normalized, with a note */
        if (fabs(wsum - 1) > 1e-9) {
            if (!quiet) fprintf(stderr, "dopt: note: %s sums to %g; normalized to 1\n", p1, wsum);
            for (int c = 0; c < comps; ++c) w[c] /= wsum;
        }
        if (!all_finite(p2, means, (size_t)comps * n) || !all_finite(p3, covs, (size_t)comps * n * n)) goto done;
        for (int c = 0; c < comps; ++c) {
            char which[64];
            snprintf(which, sizeof which, "component %d is ", c);
            if (!covariance_ok(p3, which, n, covs + (size_t)c * n * n)) goto done;
        }
    }
    if (n < 1) {
        fprintf(stderr, "dopt: the target has n = 0\n");
        goto done;
    }
    if (!cli_file_writable("diffuse sample", "--out", out)) goto done;
    if (dopt_context_create(&ctx, backend) != DOPT_OK) {
        fprintf(stderr, "dopt: %s\n", dopt_context_last_error(ctx));
        goto done;
    }
    if (threads) dopt_context_set_threads(ctx, (int)threads);
    /* DDPM: a T-step schedule, every step. DDIM: T evenly spaced steps of a
     * schedule of max(T, 1000) timesteps. */
    int T = (int)(steps ? steps : (sampler == DOPT_SAMPLER_DDPM ? 1000 : 100));
    int Tsched = sampler == DOPT_SAMPLER_DDPM ? T : (T > 1000 ? T : 1000);
    size_t bytes = sizeof(double) * (size_t)K * n;
    /* x, eps and the zero mean of the first draw, K x n each, on the host */
    if (!cli_layer_memory_ok(3.0 * sizeof(double) * (double)K * n, "diffuse sample", "--samples")) goto done;
    abar = malloc(sizeof(double) * ((size_t)Tsched + 1));
    x = malloc(bytes), eps = malloc(bytes), zero = calloc((size_t)K * n, sizeof(double));
    if (!abar || !x || !eps || !zero) {
        fprintf(stderr, "dopt: out of memory for %lld samples\n", K);
        goto done;
    }
    dopt_diffusion_schedule(sched, Tsched, abar);
    /* x_T ~ N(0, I) from the same generator (step Tsched + 1) */
    dopt_context *host = NULL;
    if (dopt_context_create(&host, DOPT_BACKEND_CPU) != DOPT_OK) {
        fprintf(stderr, "dopt: %s\n", dopt_context_last_error(host));
        dopt_context_destroy(host);
        goto done;
    }
    if (threads) dopt_context_set_threads(host, (int)threads);
    if (dopt_diffusion_noise(host, K, n, DOPT_FLOAT64, zero, 1e-300, (uint64_t)seed, (uint32_t)Tsched + 1, x, eps) !=
        DOPT_OK) {
        fprintf(stderr, "dopt: diffusion noise failed: %s\n", dopt_context_last_error(host));
        dopt_context_destroy(host);
        goto done;
    }
    /* backend copies of x and eps: the host arrays themselves on the CPU */
    if (!(dx = cli_stage(ctx, x, bytes)) || !(de = cli_stage(ctx, eps, bytes))) {
        dopt_context_destroy(host);
        goto done;
    }
    double t0 = cli_now();
    int t = Tsched, done_steps = 0;
    cli_layer_progress prog = cli_layer_progress_start("diffuse sample, steps", quiet);
    while (t > 0) {
        cli_layer_progress_tick(&prog, done_steps, T);
        int tp = sampler == DOPT_SAMPLER_DDPM ? t - 1 : (int)floor((double)Tsched * (T - done_steps - 1) / T);
        if (tp >= t) tp = t - 1;
        if (dopt_diffusion_mixture_eps(host, n, comps, w, means, covs, abar[t], K, x, eps) != DOPT_OK) {
            fprintf(stderr, "dopt: %s\n", dopt_context_last_error(host));
            dopt_context_destroy(host);
            goto done;
        }
        dopt_diffusion_step_desc d = {sampler, abar, t, tp, eta, (uint64_t)seed};
        /* the noise prediction is computed on the host each step */
        dopt_status s = dopt_memory_upload(ctx, dx, x, bytes);
        if (s == DOPT_OK) s = dopt_memory_upload(ctx, de, eps, bytes);
        if (s == DOPT_OK) s = dopt_diffusion_step(ctx, &d, K, n, DOPT_FLOAT64, dx, de, NULL, NULL);
        if (s == DOPT_OK) s = dopt_memory_download(ctx, x, dx, bytes);
        if (s != DOPT_OK) {
            fprintf(stderr, "dopt: diffusion step failed: %s\n", dopt_context_last_error(ctx));
            dopt_context_destroy(host);
            goto done;
        }
        t = tp;
        ++done_steps;
    }
    double t1 = cli_now();
    dopt_context_destroy(host);
    {
        int64_t shape[2] = {K, n};
        if (!cli_npy_write(out, 'f', 8, 2, shape, x)) goto done;
    }
    if (!quiet)
        printf("diffuse sample: %lld samples of n = %d (%s, %d steps, %s schedule%s) in %.2f s -> %s\n", K, n,
           sampler == DOPT_SAMPLER_DDPM ? "ddpm" : "ddim", done_steps,
           sched == DOPT_SCHEDULE_LINEAR ? "linear" : "cosine", sampler == DOPT_SAMPLER_DDIM && eta > 0 ? ", eta > 0" : "",
           t1 - t0, out);
    rc = CLI_OK;
done:
    if (ctx) cli_unstage(ctx, x, dx), cli_unstage(ctx, eps, de);
    dopt_context_destroy(ctx);
    dopt_npy_free(&a1), dopt_npy_free(&a2), dopt_npy_free(&a3);
    free(w), free(means), free(covs), free(x), free(eps), free(abar), free(zero);
    return rc;
}
