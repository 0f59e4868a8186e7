/* dopt demo combopt: CombOptNet's constraint-learning experiments (Paulus et
 * al. 2021, Sec. 4.1-4.2) with this library only.
 *
 * A dataset fixes hidden constraints; from pairs (c, y*(c)) a layer learns
 * its own m constraints in the learnable-origin parametrization
 * (a_k, r_k, o_k; b_k = r_k + a_k'o_k), trained by Adam (lr 5e-4, batch 8,
 * 100 epochs) on the MSE between y and y* normalized to [-1/2, 1/2]^n, the
 * gradient flowing through dopt_ilp_backward (CombOptNet, tau = 0.5) and
 * dopt_ilp_origin_backward. Accuracy = share of the 1,000 test costs whose
 * predicted y equals y*.
 *  - Random constraints (RC): n = 16, m = 1, 2, 4, 8 hidden unit-normal rows
 *    through origins in the central half of the box at distance r = 0.2
 *    (box width units), signs flipped so a random corner is feasible; costs
 *    random unit vectors; box [0,1] (binary) or [-5,5] (dense).
 *  - Weighted set covering (WSC): universe of m = 4, 6, 8, 10 elements,
 *    n = 2m subsets of at most 3 elements covering every element, positive
 *    uniform costs; rows -sum_{S ∋ k} y_S <= -1.
 * Runs (task, m, seed) are spread over worker threads, one context each.
 * No library internals: the hidden constraints come from dopt_gen_combopt_rows,
 * the random numbers from the fixtures' splitmix64 stream (qp_generate.h). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "qp_generate.h" /* dopt_gen_uniform, dopt_gen_normal: the splitmix64 stream */

enum { TASK_RC_BINARY = 0, TASK_RC_DENSE = 1, TASK_WSC = 2 };
static const char *task_names[3] = {"RC binary", "RC dense", "WSC"};
/* the paper's accuracies (Table 8/9, learnable origins, Delta basis, tau 0.5) */
static const double paper[3][4] = {{97.8, 94.2, 77.4, 46.5}, {87.3, 70.2, 29.6, 2.3}, {100, 97.2, 79.7, 56.7}};
static const int task_m[3][4] = {{1, 2, 4, 8}, {1, 2, 4, 8}, {4, 6, 8, 10}};

typedef struct {
    int task, mi, seed;
    int epochs, ntrain, ntest;
    double accuracy, box_accuracy, seconds;
    int failed;
} run_desc;

typedef struct {
    int n, m, ntrain, ntest;
    double lo, hi;
    double *A, *b;      /* hidden constraints */
    double *c, *ystar;  /* (ntrain + ntest, n) */
} dataset;

/* a uniformly random unit vector (normalized Gaussian), as the library's
 * random-constraint generator draws its rows */
static void unit_vector(uint64_t *rng, int n, double *v)
{
    double s = 0;
    for (int j = 0; j < n; ++j) v[j] = dopt_gen_normal(rng), s += v[j] * v[j];
    s = sqrt(s);
    for (int j = 0; j < n; ++j) v[j] /= s;
}

/* Learnable-origin rows initialized as the paper initializes RC constraints:
 * unit normals, origins uniform in the central half of the box, r = 0.2 width. */
static void init_origin_rows(uint64_t *rng, int m, int n, double lo, double hi, double *a, double *r, double *o)
{
    double w = hi - lo, center = 0.5 * (lo + hi);
    for (int k = 0; k < m; ++k) {
        unit_vector(rng, n, a + (size_t)k * n);
        r[k] = 0.2 * w;
        for (int j = 0; j < n; ++j) o[(size_t)k * n + j] = center + (dopt_gen_uniform(rng) - 0.5) * 0.5 * w;
    }
}

static int solve_shared(dopt_context *ctx, int64_t B, int n, int m, const double *c, const double *A,
                        const double *b, double lo, double hi, double *y, int32_t *st)
{
    double lb[64], ub[64];
    for (int j = 0; j < n; ++j) lb[j] = lo, ub[j] = hi;
    dopt_ilp_problem P = {B, n, m, DOPT_FLOAT64, c, A, b, lb, ub,
                          DOPT_ILP_SHARE_A | DOPT_ILP_SHARE_B | DOPT_ILP_SHARE_LB | DOPT_ILP_SHARE_UB};
    dopt_ilp_solution S = {y, NULL, NULL, st, NULL};
    return dopt_ilp_solve(ctx, &P, NULL, &S) == DOPT_OK;
}

static int make_dataset(dopt_context *ctx, const run_desc *d, dataset *D)
{
    uint64_t rng = 0x5EED0000ull + 7919ull * (uint64_t)d->seed + 104729ull * (uint64_t)(d->task * 16 + d->mi);
    int m = task_m[d->task][d->mi], n = d->task == TASK_WSC ? 2 * m : 16;
    D->n = n, D->m = m, D->ntrain = d->ntrain, D->ntest = d->ntest;
    D->lo = d->task == TASK_RC_DENSE ? -5 : 0;
    D->hi = d->task == TASK_RC_DENSE ? 5 : 1;
    int64_t N = d->ntrain + d->ntest;
    D->A = calloc((size_t)m * n, 8), D->b = calloc(m, 8);
    D->c = calloc((size_t)N * n, 8), D->ystar = calloc((size_t)N * n, 8);
    int32_t *st = calloc(N, 4);
    if (!D->A || !D->b || !D->c || !D->ystar || !st) return free(st), 0;
    /* the hidden constraints, then the costs, from one stream */
    dopt_gen_family family = d->task == TASK_WSC ? DOPT_GEN_WSC : DOPT_GEN_RC;
    if (dopt_gen_combopt_rows(ctx, family, n, m, d->task == TASK_RC_DENSE, &rng, D->A, D->b) != DOPT_OK)
        return free(st), 0;
    if (d->task == TASK_WSC) {
        for (int64_t i = 0; i < N * n; ++i) D->c[i] = dopt_gen_uniform(&rng);
    } else {
        for (int64_t i = 0; i < N; ++i) unit_vector(&rng, n, D->c + (size_t)i * n);
    }
    int ok = solve_shared(ctx, N, n, m, D->c, D->A, D->b, D->lo, D->hi, D->ystar, st);
    for (int64_t i = 0; ok && i < N; ++i) ok = st[i] == DOPT_SOLVED;
    free(st);
    return ok;
}

static void free_dataset(dataset *D) { free(D->A), free(D->b), free(D->c), free(D->ystar); }

static int same(const double *a, const double *b, int n)
{
    for (int j = 0; j < n; ++j)
        if (fabs(a[j] - b[j]) > 1e-5) return 0;
    return 1;
}

static void train_one(run_desc *d)
{
    double t0 = cli_now();
    dopt_context *ctx = NULL;
    dataset D;
    memset(&D, 0, sizeof D);
    d->failed = 1;
    if (dopt_context_create(&ctx, DOPT_BACKEND_CPU) != DOPT_OK) goto out;
    dopt_context_set_threads(ctx, 1);
    if (!make_dataset(ctx, d, &D)) goto out;
    int n = D.n, m = D.m, B = 8;
    double w = D.hi - D.lo;
    uint64_t rng = 0xC0FFEEull + 31ull * (uint64_t)d->seed + 7ull * (uint64_t)d->mi + 1009ull * (uint64_t)d->task;
    size_t mn = (size_t)m * n;
    double *a = calloc(mn, 8), *r = calloc(m, 8), *o = calloc(mn, 8), *b = calloc(m, 8);
    double *da = calloc(mn, 8), *dr = calloc(m, 8), *d_o = calloc(mn, 8), *dA = calloc(mn, 8), *db = calloc(m, 8);
    double *y = calloc((size_t)d->ntest * n, 8), *dy = calloc((size_t)B * n, 8), lb[64], ub[64];
    int32_t *st = calloc(d->ntest, 4);
    int *perm = calloc(D.ntrain, sizeof(int));
    cli_adam opt[3] = {{calloc(mn, 8), calloc(mn, 8), mn, 0},
                       {calloc(m, 8), calloc(m, 8), (size_t)m, 0},
                       {calloc(mn, 8), calloc(mn, 8), mn, 0}};
    for (int j = 0; j < n; ++j) lb[j] = D.lo, ub[j] = D.hi;
    init_origin_rows(&rng, m, n, D.lo, D.hi, a, r, o);
    for (int i = 0; i < D.ntrain; ++i) perm[i] = i;
    dopt_ilp_grad_options g;
    dopt_ilp_grad_options_default(&g); /* CombOptNet, tau = 0.5 */
    int ok = 1;
    for (int ep = 0; ep < d->epochs && ok; ++ep) {
        for (int i = D.ntrain - 1; i > 0; --i) { /* shuffle */
            int k = (int)((i + 1) * dopt_gen_uniform(&rng)), t = perm[i];
            perm[i] = perm[k], perm[k] = t;
        }
        for (int s0 = 0; s0 + B <= D.ntrain && ok; s0 += B) {
            double cb[8 * 64], ys[8 * 64];
            for (int q = 0; q < B; ++q) {
                memcpy(cb + q * n, D.c + (size_t)perm[s0 + q] * n, 8 * n);
                memcpy(ys + q * n, D.ystar + (size_t)perm[s0 + q] * n, 8 * n);
            }
            dopt_ilp_origin_to_b(m, n, a, r, o, b);
            ok = solve_shared(ctx, B, n, m, cb, a, b, D.lo, D.hi, y, st);
            /* MSE of y and y* scaled to [-1/2, 1/2]^n: dL/dy = 2 (y - y*) / (w^2 B n) */
            for (int e = 0; e < B * n; ++e) dy[e] = 2 * (y[e] - ys[e]) / (w * w * B * n);
            dopt_ilp_problem P = {B, n, m, DOPT_FLOAT64, cb, a, b, lb, ub,
                                  DOPT_ILP_SHARE_A | DOPT_ILP_SHARE_B | DOPT_ILP_SHARE_LB | DOPT_ILP_SHARE_UB};
            ok = ok && dopt_ilp_backward(ctx, &P, NULL, &g, y, st, dy, dA, db, NULL) == DOPT_OK;
            dopt_ilp_origin_backward(m, n, a, o, dA, db, da, dr, d_o);
            cli_adam_step(&opt[0], a, da, 5e-4);
            cli_adam_step(&opt[1], r, dr, 5e-4);
            cli_adam_step(&opt[2], o, d_o, 5e-4);
        }
    }
    if (ok) {
        dopt_ilp_origin_to_b(m, n, a, r, o, b);
        const double *ct = D.c + (size_t)D.ntrain * n, *yt = D.ystar + (size_t)D.ntrain * n;
        ok = solve_shared(ctx, D.ntest, n, m, ct, a, b, D.lo, D.hi, y, st);
        int hit = 0, box = 0;
        for (int i = 0; i < D.ntest; ++i) {
            hit += st[i] == DOPT_SOLVED && same(y + (size_t)i * n, yt + (size_t)i * n, n);
            double yb[64]; /* the box-only solution */
            for (int j = 0; j < n; ++j) yb[j] = ct[(size_t)i * n + j] < 0 ? D.hi : D.lo;
            box += same(yb, yt + (size_t)i * n, n);
        }
        d->accuracy = 100.0 * hit / D.ntest;
        d->box_accuracy = 100.0 * box / D.ntest;
        d->failed = !ok;
    }
    free(a), free(r), free(o), free(b), free(da), free(dr), free(d_o), free(dA), free(db), free(y), free(dy);
    free(st), free(perm);
    for (int k = 0; k < 3; ++k) free(opt[k].m1), free(opt[k].m2);
out:
    free_dataset(&D);
    dopt_context_destroy(ctx);
    d->seconds = cli_now() - t0;
}

typedef struct {
    run_desc *runs;
    int count, next, done;
    pthread_mutex_t lock;
} pool;

static void *worker(void *arg)
{
    pool *p = (pool *)arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        int k = p->next++;
        pthread_mutex_unlock(&p->lock);
        if (k >= p->count) return NULL;
        run_desc *d = &p->runs[k];
        train_one(d);
        pthread_mutex_lock(&p->lock);
        p->done++;
        fprintf(stderr, "[%d/%d] %s m=%d seed %d: accuracy %.1f%% (box-only %.1f%%) in %.1f s%s\n", p->done, p->count,
                task_names[d->task], task_m[d->task][d->mi], d->seed, d->accuracy, d->box_accuracy, d->seconds,
                d->failed ? " FAILED" : "");
        pthread_mutex_unlock(&p->lock);
    }
}

int cli_demo_combopt(int argc, char **argv)
{
    long long seeds = 10, epochs = 100, threads = 0;
    int tasks[3] = {1, 1, 1};
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--seeds")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 1, 1000, &seeds)) return CLI_USAGE;
        } else if (!strcmp(a, "--epochs")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 1, 100000, &epochs)) return CLI_USAGE;
        } else if (!strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 0, 4096, &threads)) return CLI_USAGE;
        } else if (!strcmp(a, "--task")) {
            if (!(v = cli_value(argc, argv, &i))) return CLI_USAGE;
            tasks[0] = !strcmp(v, "rc-binary") || !strcmp(v, "all");
            tasks[1] = !strcmp(v, "rc-dense") || !strcmp(v, "all");
            tasks[2] = !strcmp(v, "wsc") || !strcmp(v, "all");
            if (!tasks[0] && !tasks[1] && !tasks[2]) {
                fprintf(stderr, "dopt: --task: expected rc-binary, rc-dense, wsc or all, got '%s'\n", v);
                return CLI_USAGE;
            }
        } else if (a[0] == '-') {
            return cli_usage_error("demo", "combopt", "unknown option %s", a);
        } else {
            return cli_usage_error("demo", "combopt", "unexpected argument '%s'", a);
        }
    }
    pool p;
    memset(&p, 0, sizeof p);
    p.runs = calloc(3 * 4 * (size_t)seeds, sizeof(run_desc));
    if (!p.runs) {
        fprintf(stderr, "dopt demo combopt: out of memory for %lld seeds\n", seeds);
        return CLI_FAIL;
    }
    for (int t = 0; t < 3; ++t)
        for (int mi = 0; mi < 4 && tasks[t]; ++mi)
            for (int s = 0; s < seeds; ++s) {
                run_desc d = {t, mi, s, (int)epochs, 1600, 1000, 0, 0, 0, 0};
                p.runs[p.count++] = d;
            }
    pthread_mutex_init(&p.lock, NULL);
    enum { MAX_WORKERS = 256 };
    int workers = (int)threads;
    if (workers <= 0) { /* as many as a default context uses */
        dopt_context *probe = NULL;
        workers = dopt_context_create(&probe, DOPT_BACKEND_CPU) == DOPT_OK ? dopt_context_threads(probe) : 1;
        dopt_context_destroy(probe);
    }
    /* at most one per run, and what the thread table holds: the count
     * printed is the count that runs */
    if (workers > p.count) workers = p.count > 0 ? p.count : 1;
    if (workers > MAX_WORKERS) workers = MAX_WORKERS;
    printf("CombOptNet constraint learning: %d runs (%lld seeds, %lld epochs, batch 8, Adam 5e-4, tau 0.5) on %d "
           "threads\n",
           p.count, seeds, epochs, workers);
    fflush(stdout);
    double t0 = cli_now();
    pthread_t tid[MAX_WORKERS];
    int started = 0;
    for (; started < workers; ++started)
        if (pthread_create(&tid[started], NULL, worker, &p) != 0) break;
    if (started == 0) worker(&p);
    for (int k = 0; k < started; ++k) pthread_join(tid[k], NULL);
    pthread_mutex_destroy(&p.lock);
    int failed = 0;
    printf("\naccuracy (y = y* on 1,000 test costs, %%), mean +- std over seeds; paper = Paulus et al. 2021, Tab. 8/9\n");
    printf("%-10s %4s %16s %8s %14s\n", "task", "m", "dopt", "paper", "box-only");
    for (int t = 0; t < 3; ++t)
        for (int mi = 0; mi < 4 && tasks[t]; ++mi) {
            double s1 = 0, s2 = 0, bx = 0;
            int k = 0;
            for (int q = 0; q < p.count; ++q) {
                run_desc *d = &p.runs[q];
                if (d->task != t || d->mi != mi) continue;
                failed += d->failed;
                s1 += d->accuracy, s2 += d->accuracy * d->accuracy, bx += d->box_accuracy, ++k;
            }
            double mean = s1 / k, sd = k > 1 ? sqrt(fmax(0, (s2 - k * mean * mean) / (k - 1))) : 0;
            printf("%-10s %4d %9.1f +- %4.1f %8.1f %13.1f\n", task_names[t], task_m[t][mi], mean, sd, paper[t][mi],
                   bx / k);
        }
    printf("(%d runs in %.0f s; %d failed)\n", p.count, cli_now() - t0, failed);
    free(p.runs);
    return failed ? CLI_FAIL : CLI_OK;
}
