/* dopt bench bern: (1) throughput of sampling + penalty + gradient in
 * (samples x nonzeros)/s on sparse A, with the machine's memory bandwidth
 * for reference; (2) `bern-train`: unsupervised DiffILO-style training of
 * xhat per instance (Adam on logits, mu schedule) on set cover and maximum
 * independent set, with each estimator, then round and repair. --export
 * writes the instances and results for bench/compare_bern.py, which solves
 * them exactly with HiGHS. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "qp_generate.h"

/* ---- instances (dense, float64) ---------------------------------------------- */

typedef struct {
    int n, m;
    double *A, *b, *c;
} binprob;

/* Set cover: m elements x n sets, each element in each set with prob.
 * density (at least one set), costs uniform integers 1..100; rows are
 * -sum_{j covers i} x_j <= -1. */
static void free_prob(binprob *p) { free(p->A), free(p->b), free(p->c); }

/* 1 when the instance's arrays were allocated; else frees them */
static int prob_ok(binprob *p)
{
    if (p->A && p->b && p->c) return 1;
    free_prob(p);
    memset(p, 0, sizeof *p);
    return 0;
}

static binprob gen_setcover(int n, int m, double density, uint64_t *rs)
{
    binprob p = {n, m, calloc((size_t)m * n, 8), calloc(m, 8), calloc(n, 8)};
    if (!prob_ok(&p)) return p;
    for (int i = 0; i < m; ++i) {
        int any = 0;
        for (int j = 0; j < n; ++j)
            if (dopt_gen_uniform(rs) < density) p.A[(size_t)i * n + j] = -1, any = 1;
        if (!any) p.A[(size_t)i * n + (int)(dopt_gen_uniform(rs) * n)] = -1;
        p.b[i] = -1;
    }
    for (int j = 0; j < n; ++j) p.c[j] = 1 + floor(100 * dopt_gen_uniform(rs));
    return p;
}

/* Maximum independent set on a Barabasi-Albert graph (affinity a): one row
 * x_u + x_v <= 1 per edge, objective -sum x. */
static binprob gen_mis(int n, int a, uint64_t *rs)
{
    int cap = n * a + 1, ne = 0;
    int *eu = malloc(sizeof(int) * cap), *ev = malloc(sizeof(int) * cap), *deg = calloc(n, sizeof(int));
    int *ends = malloc(sizeof(int) * 2 * cap); /* endpoint list: preferential attachment */
    int nends = 0;
    if (!eu || !ev || !deg || !ends) {
        free(eu), free(ev), free(deg), free(ends);
        return (binprob){n, 0, NULL, NULL, NULL};
    }
    for (int u = 0; u <= a && u < n; ++u)
        for (int v = 0; v < u; ++v) eu[ne] = u, ev[ne] = v, ends[nends++] = u, ends[nends++] = v, ++ne;
    for (int u = a + 1; u < n; ++u) {
        int chosen[64], nc = 0;
        while (nc < a) {
            int v = ends[(int)(dopt_gen_uniform(rs) * nends)];
            int dup = 0;
            for (int q = 0; q < nc; ++q) dup |= chosen[q] == v;
            if (!dup) chosen[nc++] = v;
        }
        for (int q = 0; q < nc; ++q) eu[ne] = u, ev[ne] = chosen[q], ends[nends++] = u, ends[nends++] = chosen[q], ++ne;
    }
    binprob p = {n, ne, calloc((size_t)ne * n, 8), calloc(ne, 8), calloc(n, 8)};
    if (!prob_ok(&p)) {
        free(eu), free(ev), free(deg), free(ends);
        return p;
    }
    for (int e = 0; e < ne; ++e) {
        p.A[(size_t)e * n + eu[e]] = 1;
        p.A[(size_t)e * n + ev[e]] = 1;
        p.b[e] = 1;
    }
    for (int j = 0; j < n; ++j) p.c[j] = -1;
    free(eu), free(ev), free(deg), free(ends);
    return p;
}

/* ---- training ------------------------------------------------------------------- */

typedef struct {
    double obj_repaired, viol_rounded;
    int feasible_rounded, repaired;
} train_result;

/* Trains logits for a batch of instances of equal size (stacked), returns per
 * instance results. */
static int train(dopt_context *ctx, int B, binprob *ps, dopt_bern_estimator est, int steps, int K, uint64_t seed,
                 double mu_end, train_result *out)
{
    int n = ps[0].n, m = ps[0].m;
    for (int i = 1; i < B; ++i)
        if (ps[i].m > m) m = ps[i].m;
    /* pad rows to equal m with empty rows 0 <= 1 */
    double *A = calloc((size_t)B * m * n, 8), *b = calloc((size_t)B * m, 8), *c = calloc((size_t)B * n, 8);
    double *L = calloc((size_t)B * n, 8), *g = calloc((size_t)B * n, 8), *loss = calloc(B, 8);
    double *m1 = calloc((size_t)B * n, 8), *m2 = calloc((size_t)B * n, 8), *xh = calloc((size_t)B * n, 8),
           *x = calloc((size_t)B * n, 8);
    int32_t *st = calloc(B, 4);
    double cmax = 0;
    int ok = A && b && c && L && g && loss && m1 && m2 && xh && x && st;
    if (!ok) {
        fprintf(stderr, "dopt bench bern-train: out of memory for %d instances of n = %d, m = %d\n", B, n, m);
        B = 0, steps = 0;
    }
    for (int i = 0; i < B; ++i) {
        memcpy(A + (size_t)i * m * n, ps[i].A, 8 * (size_t)ps[i].m * n);
        for (int r = 0; r < m; ++r) b[(size_t)i * m + r] = r < ps[i].m ? ps[i].b[r] : 1;
        memcpy(c + (size_t)i * n, ps[i].c, 8 * (size_t)n);
        for (int j = 0; j < n; ++j) cmax = fabs(ps[i].c[j]) > cmax ? fabs(ps[i].c[j]) : cmax;
    }
    dopt_bern_problem P = {B, n, m, DOPT_FLOAT64, A, NULL, NULL, NULL, b, c, 0};
    dopt_bern_result res = {loss, g, NULL, NULL, st};
    const double lr = 0.1, b1 = 0.9, b2 = 0.999;
    for (int t = 0; t < steps && ok; ++t) {
        /* the penalty weight grows from the cost scale to mu_end times it over
         * the first 70 % of the steps */
        double mu = dopt_bern_mu_schedule(t, cmax, pow(mu_end, 1.0 / (0.7 * steps)), mu_end * cmax);
        dopt_bern_options o = {est, K, seed + (uint64_t)t * 0x9E3779B97F4A7C15ull, mu, 1};
        if (dopt_bern_eval(ctx, &P, L, &o, &res) != DOPT_OK) {
            fprintf(stderr, "dopt bench bern: %s\n", dopt_context_last_error(ctx));
            ok = 0;
            break;
        }
        double c1 = 1 - pow(b1, t + 1), c2 = 1 - pow(b2, t + 1);
        for (size_t q = 0; q < (size_t)B * n; ++q) {
            double gq = g[q] / (mu > 0 ? mu : 1); /* scale-free steps */
            m1[q] = b1 * m1[q] + (1 - b1) * gq;
            m2[q] = b2 * m2[q] + (1 - b2) * gq * gq;
            L[q] -= lr * (m1[q] / c1) / (sqrt(m2[q] / c2) + 1e-8);
            if (L[q] > 12) L[q] = 12;
            if (L[q] < -12) L[q] = -12;
        }
    }
    for (size_t q = 0; q < (size_t)B * n; ++q) xh[q] = 1 / (1 + exp(-L[q]));
    if (ok) {
        for (int i = 0; i < B; ++i) { /* rounded, before repair */
            double viol = 0;
            for (int r = 0; r < m; ++r) {
                double ax = 0;
                for (int j = 0; j < n; ++j) ax += A[((size_t)i * m + r) * n + j] * (xh[(size_t)i * n + j] >= 0.5);
                viol += ax > b[(size_t)i * m + r] ? ax - b[(size_t)i * m + r] : 0;
            }
            out[i].viol_rounded = viol;
            out[i].feasible_rounded = viol == 0;
        }
        ok = dopt_bern_round(ctx, &P, xh, x, st) == DOPT_OK;
        for (int i = 0; ok && i < B; ++i) {
            out[i].repaired = st[i] == 0;
            double obj = 0;
            for (int j = 0; j < n; ++j) obj += c[(size_t)i * n + j] * x[(size_t)i * n + j];
            out[i].obj_repaired = obj;
        }
    }
    free(A), free(b), free(c), free(L), free(g), free(loss), free(m1), free(m2), free(xh), free(x), free(st);
    return ok;
}

static int write_instance(const char *dir, const char *name, const binprob *p)
{
    char d[2048];
    snprintf(d, sizeof d, "%s/%s", dir, name);
    if (!cli_make_dir(d)) return 0;
    int64_t sA[2] = {p->m, p->n}, sb[1] = {p->m}, sc[1] = {p->n};
    return cli_write(d, "A", DOPT_FLOAT64, 2, sA, p->A) && cli_write(d, "b", DOPT_FLOAT64, 1, sb, p->b) &&
           cli_write(d, "c", DOPT_FLOAT64, 1, sc, p->c);
}

/* Bytes the densest family (independent set: about 4n edge rows of n
 * doubles per instance, held once per instance and once stacked) needs. */
static double train_bytes(long long count, long long n) { return 2.0 * (double)count * 4.0 * n * 8.0 * n; }

/* Physical memory in bytes, 0 when unknown. */
static double physical_bytes(void)
{
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) return (double)pages * (double)page;
#endif
    return 0;
}

static int bench_train(int argc, char **argv)
{
    long long count = 8, steps = 300, K = 64, threads = 0, n_sc = 200, n_mis = 200;
    double mu_end = 100;
    const char *export_dir = NULL;
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--count")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 1, 10000, &count)) return CLI_USAGE;
        } else if (!strcmp(a, "--steps")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 1, 1000000, &steps)) return CLI_USAGE;
        } else if (!strcmp(a, "--samples")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 2, 1 << 20, &K)) return CLI_USAGE;
        } else if (!strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 0, 4096, &threads)) return CLI_USAGE;
        } else if (!strcmp(a, "--n")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 10, 100000, &n_sc)) return CLI_USAGE;
            n_mis = n_sc;
        } else if (!strcmp(a, "--mu-end")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_double(v, a, 1, 1e12, &mu_end)) return CLI_USAGE;
        } else if (!strcmp(a, "--export")) {
            if (!(export_dir = cli_value(argc, argv, &i))) return CLI_USAGE;
        } else if (a[0] == '-') {
            return cli_usage_error("bench", "bern-train", "unknown option %s", a);
        } else {
            return cli_usage_error("bench", "bern-train", "unexpected argument '%s'", a);
        }
    }
    /* the instances are dense: refuse up front what cannot fit */
    double need = train_bytes(count, n_mis > n_sc ? n_mis : n_sc), have = physical_bytes();
    if (have > 0 && need > have) {
        fprintf(stderr,
                "dopt bench bern-train: --n %lld with --count %lld needs about %.1f GB for the dense constraint "
                "matrices, more than this machine's %.1f GB; lower --n or --count\n",
                n_sc, count, need * 1e-9, have * 1e-9);
        return CLI_FAIL;
    }
    FILE *js = NULL;
    char path[2048];
    if (export_dir) { /* the outputs are checked before the (long) run */
        snprintf(path, sizeof path, "%s/results.json", export_dir);
        if (!cli_make_dir(export_dir)) return CLI_FAIL;
        if (!(js = fopen(path, "w"))) {
            fprintf(stderr, "dopt bench bern-train: cannot write %s: %s\n", path, strerror(errno));
            return CLI_FAIL;
        }
        fprintf(js, "[\n");
    }
    dopt_context *ctx = NULL;
    if (dopt_context_create(&ctx, DOPT_BACKEND_CPU) != DOPT_OK) {
        fprintf(stderr, "dopt bench bern-train: %s\n", dopt_context_last_error(ctx));
        dopt_context_destroy(ctx);
        if (js) fclose(js);
        return CLI_FAIL;
    }
    if (threads) dopt_context_set_threads(ctx, (int)threads);
    int first = 1, rc = CLI_OK;
    static const char *fam[2] = {"setcover", "mis"};
    static const char *en[3] = {"unbiased", "reinforce", "diffilo"};
    printf("dopt bench bern-train: %lld instances per family, %lld Adam steps, %lld samples, mu from max|c| to %g "
           "max|c|\n",
           count, steps, K, mu_end);
    printf("%-9s %-10s %14s %16s %14s\n", "family", "estimator", "rounded feas.", "mean violation", "mean objective");
    for (int f = 0; f < 2 && rc == CLI_OK; ++f) {
        binprob *ps = calloc((size_t)count, sizeof(binprob));
        train_result *r = calloc((size_t)count, sizeof *r);
        uint64_t rs = 12345 + (uint64_t)f;
        if (!ps || !r) {
            fprintf(stderr, "dopt bench bern-train: out of memory for %lld instances\n", count);
            rc = CLI_FAIL;
        }
        for (long long i = 0; rc == CLI_OK && i < count; ++i) {
            ps[i] = f == 0 ? gen_setcover((int)n_sc, (int)n_sc / 2, 0.05, &rs) : gen_mis((int)n_mis, 4, &rs);
            if (!ps[i].A) {
                fprintf(stderr, "dopt bench bern-train: out of memory for a %s instance of n = %lld\n", fam[f],
                        f == 0 ? n_sc : n_mis);
                rc = CLI_FAIL;
            } else if (export_dir) {
                char name[64];
                snprintf(name, sizeof name, "%s_%03lld", fam[f], i);
                if (!write_instance(export_dir, name, &ps[i])) rc = CLI_FAIL;
            }
        }
        for (int e = 0; e < 3 && rc == CLI_OK; ++e) {
            memset(r, 0, sizeof *r * (size_t)count);
            double t0 = cli_now();
            if (!train(ctx, (int)count, ps, (dopt_bern_estimator)e, (int)steps, (int)K, 7, mu_end, r)) {
                rc = CLI_FAIL;
                break;
            }
            double t1 = cli_now();
            double feas = 0, viol = 0, obj = 0;
            for (long long i = 0; i < count; ++i) {
                feas += r[i].feasible_rounded;
                viol += r[i].viol_rounded;
                obj += r[i].obj_repaired;
                if (js)
                    fprintf(js,
                            "%s  {\"family\": \"%s\", \"instance\": \"%s_%03lld\", \"estimator\": \"%s\", "
                            "\"feasible_rounded\": %d, \"violation_rounded\": %.6g, \"repaired\": %d, "
                            "\"objective\": %.10g}",
                            first ? "" : ",\n", fam[f], fam[f], i, en[e], r[i].feasible_rounded, r[i].viol_rounded,
                            r[i].repaired, r[i].obj_repaired),
                        first = 0;
            }
            printf("%-9s %-10s %13.0f%% %16.3f %14.2f   (%.1f s)\n", fam[f], en[e], 100 * feas / count, viol / count,
                   obj / count, t1 - t0);
            fflush(stdout);
        }
        for (long long i = 0; ps && i < count; ++i) free_prob(&ps[i]);
        free(ps), free(r);
    }
    if (js) {
        fprintf(js, "\n]\n");
        if (fclose(js) != 0 && rc == CLI_OK) {
            fprintf(stderr, "dopt bench bern-train: writing %s failed: %s\n", path, strerror(errno));
            rc = CLI_FAIL;
        }
    }
    dopt_context_destroy(ctx);
    return rc;
}

/* ---- throughput ------------------------------------------------------------------ */

static int bench_throughput(int argc, char **argv)
{
    long long threads = 0;
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i], *v; /* the option's name: cli_value moves i onto the value */
        if (!strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 0, 4096, &threads)) return CLI_USAGE;
        } else if (a[0] == '-') {
            return cli_usage_error("bench", "bern", "unknown option %s", a);
        } else {
            return cli_usage_error("bench", "bern", "unexpected argument '%s'", a);
        }
    }
    dopt_context *ctx = NULL;
    if (dopt_context_create(&ctx, DOPT_BACKEND_CPU) != DOPT_OK) {
        fprintf(stderr, "dopt bench bern: %s\n", dopt_context_last_error(ctx));
        dopt_context_destroy(ctx);
        return CLI_FAIL;
    }
    if (threads) dopt_context_set_threads(ctx, (int)threads);
    double bw = cli_triad_gbs((int)threads);
    printf("dopt bench bern: sampling + penalty + gradient, CSR A with 5 nonzeros per row, m = n/2, K = 64, "
           "float64, %d threads\n", dopt_context_threads(ctx));
    printf("memory bandwidth (triad, same threads): %.1f GB/s\n", bw);
    printf("%6s %6s %8s %10s %14s %16s %14s\n", "n", "B", "nnz", "estimator", "time/call ms", "(K*nnz)/s", "GB/s touched");
    int sizes[3] = {1000, 3000, 10000}, rc = CLI_OK;
    static const char *en[3] = {"unbiased", "reinforce", "diffilo"};
    for (int s = 0; s < 3 && rc == CLI_OK; ++s) {
        int n = sizes[s], m = n / 2, B = 16, K = 64, per = 5;
        size_t nnz = (size_t)m * per;
        int64_t *rp = malloc(8 * (size_t)(m + 1));
        int32_t *col = malloc(4 * nnz);
        double *val = malloc(8 * nnz), *b = malloc(8 * (size_t)m), *c = malloc(8 * (size_t)n);
        double *xh = malloc(8 * (size_t)B * n), *g = malloc(8 * (size_t)B * n), *loss = malloc(8 * (size_t)B);
        int32_t *st = malloc(4 * (size_t)B);
        uint64_t rs = 99;
        if (!rp || !col || !val || !b || !c || !xh || !g || !loss || !st) {
            fprintf(stderr, "dopt bench bern: out of memory for n = %d\n", n);
            free(rp), free(col), free(val), free(b), free(c), free(xh), free(g), free(loss), free(st);
            rc = CLI_FAIL;
            break;
        }
        for (int i = 0; i <= m; ++i) rp[i] = (int64_t)i * per;
        for (size_t e = 0; e < nnz; ++e) col[e] = (int32_t)(dopt_gen_uniform(&rs) * n), val[e] = 1;
        for (int i = 0; i < m; ++i) b[i] = 2;
        for (int j = 0; j < n; ++j) c[j] = -1;
        for (size_t q = 0; q < (size_t)B * n; ++q) xh[q] = 0.2 + 0.6 * dopt_gen_uniform(&rs);
        dopt_bern_problem P = {B, n, m, DOPT_FLOAT64, NULL, rp, col, val, b, c,
                               DOPT_BERN_SHARE_A | DOPT_BERN_SHARE_B | DOPT_BERN_SHARE_C};
        for (int e = 0; e < 3 && rc == CLI_OK; ++e) {
            dopt_bern_options o = {(dopt_bern_estimator)e, K, 1, 1.0, 0};
            dopt_bern_result r = {loss, g, NULL, NULL, st};
            double best = 1e300, tot = 0;
            int reps = 0;
            do {
                double t0 = cli_now();
                if (dopt_bern_eval(ctx, &P, xh, &o, &r) != DOPT_OK) { /* a failed call is no measurement */
                    fprintf(stderr, "dopt bench bern: %s\n", dopt_context_last_error(ctx));
                    rc = CLI_FAIL;
                    break;
                }
                double dt = cli_now() - t0;
                best = dt < best ? dt : best;
                tot += dt;
                ++reps;
            } while (tot < 0.5 && reps < 50);
            if (rc != CLI_OK) break;
            double rate = (double)B * K * (double)nnz / best;
            /* bytes a sample pass must touch: the CSR row (12 B per nonzero), x and g
             * reads/writes (16 B per variable), activities (8 B per row) */
            double bytes = (double)B * K * (12.0 * nnz + 16.0 * n + 8.0 * m);
            printf("%6d %6d %8zu %10s %14.2f %16.3g %14.1f\n", n, B, nnz, en[e], 1e3 * best, rate, bytes / best * 1e-9);
        }
        free(rp), free(col), free(val), free(b), free(c), free(xh), free(g), free(loss), free(st);
    }
    dopt_context_destroy(ctx);
    return rc;
}

int cli_bench_bern(int argc, char **argv, int training)
{
    return training ? bench_train(argc, argv) : bench_throughput(argc, argv);
}
