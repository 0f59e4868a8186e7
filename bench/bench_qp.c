/* dopt bench qp: forward and forward+backward throughput over a grid of
 * batch sizes and problem sizes (m = n inequalities, k = n/4 equalities),
 * plus the FLOP rate of the per-instance factorization. Instances come from
 * the known-solution generator, so every timed solve is also checked.
 * --export writes the instances so that bench/compare_qp.py times the
 * established tools on exactly the same problems. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "qp_generate.h"
#include "qp_ipm.h"
#include "bench_qp_model.h"

typedef struct {
    int64_t B;
    int n, m, k;
    double fwd_s, fb_s, iters, max_err;
    int64_t solved;
} bench_row;

double bench_qp_factor_flops(int n, int m, int k)
{
    double dn = n, dm = m, dk = k;
    return dm * dn * (dn + 1) + dk * dn * (dn + 1) + dn * dn * dn / 3 + dk * dn * dn + dk * dk * dn + dk * dk * dk / 3;
}

/* One generated instance (m = n, k = n/4) with Q prepared and W = I: what
 * the factorization timings factor. */
typedef struct {
    int n, m, k;
    double *Q, *p, *G, *h, *A, *b, *work;
    qp_view_d v;
    qp_work_d w;
} factor_instance;

static factor_instance factor_instance_make(int n)
{
    factor_instance f;
    int m = n, k = n / 4;
    f.n = n, f.m = m, f.k = k;
    f.Q = malloc(sizeof(double) * n * n), f.p = malloc(sizeof(double) * n), f.G = malloc(sizeof(double) * m * n);
    f.h = malloc(sizeof(double) * m), f.A = malloc(sizeof(double) * (k * n + 1)), f.b = malloc(sizeof(double) * (k + 1));
    dopt_qp_generate(1, n, m, k, DOPT_GEN_STRICTLY_CONVEX, 10, 5, f.Q, f.p, f.G, f.h, f.A, f.b, NULL, NULL, NULL);
    f.work = calloc(qp_work_size_d(n, m, k), sizeof(double));
    f.v = (qp_view_d){n, m, k, f.Q, f.p, f.G, f.h, f.A, f.b};
    f.w = qp_work_map_d(f.work, n, m, k);
    qp_prepare_q_d(&f.v, &f.w);
    for (int r = 0; r < m; ++r) f.w.W[r] = f.w.Winv[r] = 1;
    return f;
}

static void factor_instance_free(factor_instance *f)
{
    free(f->Q), free(f->p), free(f->G), free(f->h), free(f->A), free(f->b), free(f->work);
}

double bench_qp_factor_gflops(int n, double min_time)
{
    factor_instance f = factor_instance_make(n);
    qp_state_d st;
    memset(&st, 0, sizeof st);
    long reps = 0;
    double t0 = cli_now(), t1;
    do {
        for (int i = 0; i < 16; ++i) qp_factor_d(&f.v, &f.w, &st);
        reps += 16;
        t1 = cli_now();
    } while (t1 - t0 < min_time);
    factor_instance_free(&f);
    return bench_qp_factor_flops(f.n, f.m, f.k) * (double)reps / (t1 - t0) * 1e-9;
}

/* The same factorization in the interleaved layout (qpl_assemble,
 * qpl_factor_assembled, qpl_factor_complete: W = 8 instances in lock step,
 * the lanes holding copies of one instance), counted per instance. */
static double bench_qp_factor_gflops_lanes(int n, double min_time)
{
    factor_instance f = factor_instance_make(n);
    int m = f.m, k = f.k, lanes = qpl_width_d;
    f.w.rho[0] = 1;
    size_t wsz = qp_work_size_d(n, m, k);
    double *lw_base = calloc(wsz * lanes, sizeof(double)), *ld_base = calloc(qpl_data_size_d(n, m, k), sizeof(double));
    qp_state_d st[qpl_width_d];
    memset(st, 0, sizeof st);
    qp_work_d lw = qpl_work_map_d(lw_base, n, m, k);
    qpl_data_d ld = qpl_data_map_d(ld_base, n, m, k);
    int fast[qpl_width_d], info[qpl_width_d];
    for (int l = 0; l < lanes; ++l) {
        qpl_scatter_d(wsz, f.work, l, lw_base);
        qpl_scatter_d((size_t)n, f.p, l, ld.p);
        qpl_scatter_d((size_t)m * n, f.G, l, ld.G);
        qpl_scatter_d((size_t)m, f.h, l, ld.h);
        qpl_scatter_d((size_t)k * n, f.A, l, ld.A);
        qpl_scatter_d((size_t)k, f.b, l, ld.b);
    }
    long reps = 0;
    double t0 = cli_now(), t1;
    do {
        for (int i = 0; i < 16; ++i) {
            for (int l = 0; l < lanes; ++l) fast[l] = 1;
            qpl_assemble_d(&ld, &lw);
            qpl_factor_assembled_d(&ld, &lw, info);
            qpl_factor_complete_d(&ld, &lw, st, fast);
        }
        reps += 16 * lanes;
        t1 = cli_now();
    } while (t1 - t0 < min_time);
    int ok = 1;
    for (int l = 0; l < lanes; ++l) ok &= info[l] == 0 && fast[l];
    factor_instance_free(&f);
    free(lw_base), free(ld_base);
    return ok ? bench_qp_factor_flops(n, m, k) * (double)reps / (t1 - t0) * 1e-9 : NAN;
}

static int export_instances(const char *root, int64_t B, int n, int m, int k, const double *Q, const double *p,
                            const double *G, const double *h, const double *A, const double *b, const double *xs)
{
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/B%lld_n%d", root, (long long)B, n);
    if (!cli_make_dir(root) || !cli_make_dir(dir)) return 0;
    int64_t sQ[3] = {B, n, n}, sp[2] = {B, n}, sG[3] = {B, m, n}, sh[2] = {B, m}, sA[3] = {B, k, n}, sb[2] = {B, k};
    return cli_write(dir, "Q", DOPT_FLOAT64, 3, sQ, Q) && cli_write(dir, "p", DOPT_FLOAT64, 2, sp, p) &&
           cli_write(dir, "G", DOPT_FLOAT64, 3, sG, G) && cli_write(dir, "h", DOPT_FLOAT64, 2, sh, h) &&
           cli_write(dir, "A", DOPT_FLOAT64, 3, sA, A) && cli_write(dir, "b", DOPT_FLOAT64, 2, sb, b) &&
           cli_write(dir, "xstar", DOPT_FLOAT64, 2, sp, xs);
}

typedef struct {
    dopt_context *ctx;
    const dopt_qp_problem *P;
    const dopt_qp_options *opt;
    dopt_qp_solution *sol;
    dopt_qp_tape *tape;
    dopt_qp_grad_in gin;
    dopt_qp_grad_out gout;
    int backward;
} qp_timing;

/* Best wall time of one solve (and backward) over repetitions filling
 * min_time (at least one, at most 50). 0 on a library error (reported). */
static int time_best(qp_timing *t, double min_time, double *best)
{
    double total = 0;
    int reps = 0;
    *best = 1e300;
    do {
        double t0 = cli_now();
        dopt_status s = dopt_qp_solve(t->ctx, t->P, t->opt, t->sol, t->backward ? &t->tape : NULL);
        if (s == DOPT_OK && t->backward) s = dopt_qp_backward(t->ctx, t->tape, &t->gin, &t->gout);
        if (s == DOPT_OK) s = dopt_context_synchronize(t->ctx); /* CUDA calls may return before they ran */
        if (s != DOPT_OK) {
            fprintf(stderr, "dopt bench: %s\n", dopt_context_last_error(t->ctx));
            return 0;
        }
        double dt = cli_now() - t0;
        *best = dt < *best ? dt : *best;
        total += dt;
        ++reps;
    } while (total < min_time && reps < 50);
    return 1;
}

/* Times one configuration; the instances are checked against the known optimum. */
static int bench_one(dopt_context *ctx, int64_t B, int n, double min_time, double tol, const char *export_dir,
                     bench_row *row)
{
    int m = n, k = n / 4;
    size_t b = (size_t)B;
    double *Q = malloc(sizeof(double) * b * n * n), *p = malloc(sizeof(double) * b * n),
           *G = malloc(sizeof(double) * b * m * n), *h = malloc(sizeof(double) * b * m),
           *A = malloc(sizeof(double) * (b * k * n + 1)), *bb = malloc(sizeof(double) * (b * k + 1)),
           *xs = malloc(sizeof(double) * b * n), *x = malloc(sizeof(double) * b * n),
           *lam = malloc(sizeof(double) * b * m), *nu = malloc(sizeof(double) * (b * k + 1)),
           *w = malloc(sizeof(double) * b * n), *dp = malloc(sizeof(double) * b * n),
           *dG = malloc(sizeof(double) * b * m * n), *dh = malloc(sizeof(double) * b * m);
    int32_t *st = malloc(sizeof(int32_t) * b), *it = malloc(sizeof(int32_t) * b);
    int ok = Q && p && G && h && A && bb && xs && x && lam && nu && w && dp && dG && dh && st && it;
    if (!ok) {
        fprintf(stderr, "dopt bench: out of memory for B=%lld n=%d\n", (long long)B, n);
        goto out;
    }
    dopt_qp_generate(B, n, m, k, DOPT_GEN_STRICTLY_CONVEX, 10, 2026, Q, p, G, h, A, bb, xs, NULL, NULL);
    if (export_dir && !export_instances(export_dir, B, n, m, k, Q, p, G, h, A, bb, xs)) {
        ok = 0;
        goto out;
    }
    for (size_t j = 0; j < b * n; ++j) w[j] = 1;
    /* every array where the backend computes (the host arrays themselves on
     * the CPU; device copies on CUDA, outside the timing) */
    enum { NARR = 14 };
    void *host[NARR] = {Q, p, G, h, A, bb, x, lam, nu, st, it, w, dp, dG};
    size_t bytes[NARR] = {8 * b * n * n, 8 * b * n, 8 * b * m * n, 8 * b * m, 8 * b * k * n, 8 * b * k, 8 * b * n,
                          8 * b * m, 8 * b * k, 4 * b, 4 * b, 8 * b * n, 8 * b * n, 8 * b * m * n};
    void *dev[NARR + 1] = {0};
    for (int a = 0; a < NARR && ok; ++a) ok = (dev[a] = cli_stage(ctx, host[a], bytes[a])) != NULL;
    ok = ok && (dev[NARR] = cli_stage(ctx, dh, 8 * b * m)) != NULL;
    if (ok) {
        dopt_qp_problem P = {B, n, m, k, DOPT_FLOAT64, dev[0], dev[1], dev[2], dev[3], dev[4], dev[5], 0};
        dopt_qp_solution sol = {dev[6], dev[7], dev[8], (int32_t *)dev[9], (int32_t *)dev[10]};
        dopt_qp_options opt;
        dopt_qp_options_default(&opt, DOPT_FLOAT64);
        if (tol > 0) opt.tol = tol;
        /* forward, then forward + backward (dQ is skipped: the comparison tools
         * differentiate p, G, h, A, b the same way); the tape is reused across
         * repetitions, as a training loop would */
        qp_timing tm = {ctx, &P, &opt, &sol, NULL, {dev[11], NULL, NULL},
                        {NULL, dev[12], dev[13], dev[NARR], NULL, NULL}, 0};
        ok = time_best(&tm, min_time, &row->fwd_s);
        tm.backward = 1;
        ok = ok && time_best(&tm, min_time, &row->fb_s);
        dopt_qp_tape_destroy(tm.tape);
        /* the solution and statuses back on the host for the check */
        for (int a = 6; a <= 10 && ok; ++a)
            if (dev[a] != host[a]) ok = cli_fetch(ctx, host[a], dev[a], bytes[a]);
    }
    for (int a = 0; a < NARR; ++a) cli_unstage(ctx, host[a], dev[a]);
    cli_unstage(ctx, dh, dev[NARR]);
    if (!ok) goto out;
    row->solved = 0;
    row->iters = 0;
    row->max_err = 0;
    for (size_t i = 0; i < b; ++i) {
        row->solved += st[i] == DOPT_SOLVED;
        row->iters += it[i];
        for (int j = 0; j < n; ++j) {
            double e = fabs(x[i * n + j] - xs[i * n + j]);
            if (e > row->max_err) row->max_err = e;
        }
    }
    row->iters /= (double)B;
    row->B = B;
    row->n = n;
    row->m = m;
    row->k = k;
out:
    free(Q), free(p), free(G), free(h), free(A), free(bb), free(xs), free(x), free(lam), free(nu), free(w);
    free(dp), free(dG), free(dh), free(st), free(it);
    return ok;
}

/* B n^3 above which --quick skips a grid configuration */
static const double quick_limit = 1024.0 * 32 * 32 * 32;

int cli_bench(int argc, char **argv)
{
    if (argc < 1) return cli_usage_error("bench", NULL, "which benchmark? qp, ragged, bern, bern-train, diffusion or milp");
    if (!strcmp(argv[0], "bern")) return cli_bench_bern(argc - 1, argv + 1, 0);
    if (!strcmp(argv[0], "bern-train")) return cli_bench_bern(argc - 1, argv + 1, 1);
    if (!strcmp(argv[0], "diffusion")) return cli_bench_diffusion(argc - 1, argv + 1);
    if (!strcmp(argv[0], "milp")) return cli_bench_milp(argc - 1, argv + 1);
    if (!strcmp(argv[0], "ragged")) return cli_bench_ragged(argc - 1, argv + 1);
    if (strcmp(argv[0], "qp") != 0) return cli_usage_error("bench", NULL, "unknown benchmark '%s'", argv[0]);
    int quick = 0;
    long long threads = 0, only_b = 0, only_n = 0;
    double min_time = 0.5, tol = 0;
    const char *export_dir = NULL, *json = NULL;
    dopt_backend backend = DOPT_BACKEND_CPU;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--quick")) quick = 1;
        else if (!strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 0, 4096, &threads)) return CLI_USAGE;
        } else if (!strcmp(a, "--batch")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 1, 1 << 24, &only_b)) return CLI_USAGE;
        } else if (!strcmp(a, "--n")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 4, 1024, &only_n)) return CLI_USAGE;
        } else if (!strcmp(a, "--tol")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_double(v, a, 1e-300, 1, &tol)) return CLI_USAGE;
        } else if (!strcmp(a, "--min-time")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_double(v, a, 0, 3600, &min_time)) return CLI_USAGE;
        } else if (!strcmp(a, "--backend")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_backend(v, &backend)) return CLI_USAGE;
        } else if (!strcmp(a, "--export")) {
            if (!(export_dir = cli_value(argc, argv, &i))) return CLI_USAGE;
        } else if (!strcmp(a, "--json")) {
            if (!(json = cli_value(argc, argv, &i))) return CLI_USAGE;
        } else if (a[0] == '-') {
            return cli_usage_error("bench", "qp", "unknown option %s", a);
        } else {
            return cli_usage_error("bench", "qp", "unexpected argument '%s'", a);
        }
    }
    /* The configurations: --batch and --n replace their axis of the grid
     * (any value in range, not only the grid's). --quick prunes the grid
     * but never a configuration asked for with both --batch and --n. */
    int64_t grid_b[4] = {1, 64, 1024, 8192}, batches[4];
    int grid_n[3] = {8, 32, 128}, sizes[3];
    int nbatch = only_b ? 1 : 4, nsize = only_n ? 1 : 3;
    for (int q = 0; q < nbatch; ++q) batches[q] = only_b ? only_b : grid_b[q];
    for (int q = 0; q < nsize; ++q) sizes[q] = only_n ? (int)only_n : grid_n[q];
    int64_t conf_b[12];
    int conf_n[12], nconf = 0;
    for (int s = 0; s < nsize; ++s)
        for (int q = 0; q < nbatch; ++q) {
            double work = (double)batches[q] * sizes[s] * sizes[s] * sizes[s];
            if (quick && !(only_b && only_n) && work > quick_limit) continue;
            conf_b[nconf] = batches[q], conf_n[nconf++] = sizes[s];
        }
    if (nconf == 0) /* only --quick with one of --batch / --n can prune everything */
        return cli_usage_error("bench", "qp",
                               "nothing to run: --quick skips every configuration with --%s %lld "
                               "(B n^3 > 1024 * 32^3); drop --quick or give both --batch and --n",
                               only_b ? "batch" : "n", only_b ? only_b : only_n);
    /* outputs are checked before the (long) run */
    FILE *jf = NULL;
    if (json && !(jf = fopen(json, "w"))) {
        fprintf(stderr, "dopt bench qp: cannot write %s: %s\n", json, strerror(errno));
        return CLI_FAIL;
    }
    if (export_dir && !cli_make_dir(export_dir)) {
        if (jf) fclose(jf), remove(json);
        return CLI_FAIL;
    }
    dopt_context *ctx = NULL;
    if (dopt_context_create(&ctx, backend) != DOPT_OK) {
        fprintf(stderr, "dopt bench qp: %s\n", dopt_context_last_error(ctx));
        dopt_context_destroy(ctx);
        if (jf) fclose(jf), remove(json);
        return CLI_FAIL;
    }
    if (threads) dopt_context_set_threads(ctx, (int)threads);
    printf("dopt bench qp: float64, tol %g, m = n inequalities, k = n/4 equalities, %s", tol > 0 ? tol : 1e-8,
           dopt_context_backend(ctx) == DOPT_BACKEND_CUDA ? "cuda" : "cpu");
    if (dopt_context_backend(ctx) == DOPT_BACKEND_CPU) printf(", %d threads", dopt_context_threads(ctx));
    printf("\n%8s %5s %5s %5s %14s %14s %9s %8s %10s\n", "B", "n", "m", "k", "fwd inst/s", "fwd+bwd inst/s", "iters",
           "solved", "max|x-x*|");
    bench_row rows[12];
    int nrows = 0, rc = CLI_OK;
    for (int c = 0; c < nconf; ++c) {
        int n = conf_n[c];
        int64_t B = conf_b[c];
        bench_row r;
        memset(&r, 0, sizeof r);
        if (!bench_one(ctx, B, n, min_time, tol, export_dir, &r)) {
            rc = CLI_FAIL;
            break;
        }
        rows[nrows++] = r;
        printf("%8lld %5d %5d %5d %14.0f %14.0f %9.1f %7lld%% %10.1e\n", (long long)B, n, r.m, r.k, (double)B / r.fwd_s,
               (double)B / r.fb_s, r.iters, (long long)(100 * r.solved / B), r.max_err);
        fflush(stdout);
    }
    if (rc == CLI_OK && !only_b) {
        printf("\nfactorization phase (form H = Q + G'WG + rho A'A, Cholesky, Schur complement), one core,\n"
               "per-instance layout / interleaved (%d lanes):\n", qpl_width_d);
        for (int s = 0; s < nsize; ++s)
            printf("  n = %3d: %6.2f / %6.2f GFLOP/s\n", sizes[s], bench_qp_factor_gflops(sizes[s], 0.2),
                   bench_qp_factor_gflops_lanes(sizes[s], 0.2));
    }
    if (jf) {
        if (rc == CLI_OK) {
            fprintf(jf, "[\n");
            for (int i = 0; i < nrows; ++i)
                fprintf(jf,
                        "  {\"B\": %lld, \"n\": %d, \"m\": %d, \"k\": %d, \"fwd_s\": %.9g, \"fwd_bwd_s\": %.9g, "
                        "\"iters\": %.3f, \"solved\": %lld, \"max_err\": %.3g, \"threads\": %d}%s\n",
                        (long long)rows[i].B, rows[i].n, rows[i].m, rows[i].k, rows[i].fwd_s, rows[i].fb_s,
                        rows[i].iters, (long long)rows[i].solved, rows[i].max_err, dopt_context_threads(ctx),
                        i + 1 < nrows ? "," : "");
            fprintf(jf, "]\n");
        }
        if (fclose(jf) != 0 && rc == CLI_OK) {
            fprintf(stderr, "dopt bench qp: writing %s failed: %s\n", json, strerror(errno));
            rc = CLI_FAIL;
        }
        if (rc != CLI_OK) remove(json); /* no partial results */
    }
    dopt_context_destroy(ctx);
    return rc;
}
