/* dopt bench ilp-ragged: a mixed-size ILP batch (n drawn log-uniformly, m =
 * n/2 knapsack-like rows, binary) solved four ways, instances per second:
 *   ragged   one dopt_ilp_ragged_solve call;
 *   (a)      the same instances grouped by size, one uniform call per size,
 *            back to back (grouping not timed);
 *   (b)      everything padded to the largest size in one uniform call
 *            (padded variables fixed at 0 with zero cost, padded rows
 *            absent: b = +inf), padding not timed;
 *   (c)      one instance at a time (a uniform call of batch 1 each).
 * Every way's objectives are checked against the ragged call's (1e-9
 * relative). Also the useful fraction of (b)'s tableau work per pivot,
 * sum_i (m_i + 1)(n_i + m_i + 1) / (B (M + 1)(N + M + 1)), an estimate (node
 * counts are reported per way). Prints a markdown table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct {
    int64_t B;
    int32_t *n, *m;
    int64_t *on, *omn, *om; /* offsets (B + 1) */
    double *c, *A, *b;
} batch;

static uint64_t rng_state;
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double rng_unif(void) { return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0); }

/* n log-uniform in [lo, hi], m = max(1, n / 2) rows a'y <= sum(a) / 2 with
 * a_j in {0..9} (y = 0 feasible), costs -(value) with value in [1, 10]. */
static int make_batch(batch *p, int64_t B, int lo, int hi, uint64_t seed)
{
    rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
    memset(p, 0, sizeof *p);
    p->B = B;
    p->n = malloc(4 * (size_t)B), p->m = malloc(4 * (size_t)B);
    p->on = calloc((size_t)B + 1, 8), p->omn = calloc((size_t)B + 1, 8), p->om = calloc((size_t)B + 1, 8);
    if (!p->n || !p->m || !p->on || !p->omn || !p->om) return 0;
    for (int64_t i = 0; i < B; ++i) {
        int n = (int)floor(exp(log(lo) + rng_unif() * (log(hi + 1.0) - log(lo))));
        if (n > hi) n = hi;
        p->n[i] = n, p->m[i] = n / 2 > 1 ? n / 2 : 1;
        p->on[i + 1] = p->on[i] + n;
        p->omn[i + 1] = p->omn[i] + (int64_t)p->m[i] * n;
        p->om[i + 1] = p->om[i] + p->m[i];
    }
    p->c = malloc(8 * (size_t)p->on[B]), p->A = malloc(8 * (size_t)p->omn[B]), p->b = malloc(8 * (size_t)p->om[B]);
    if (!p->c || !p->A || !p->b) return 0;
    for (int64_t i = 0; i < B; ++i) {
        int n = p->n[i], m = p->m[i];
        for (int j = 0; j < n; ++j) p->c[p->on[i] + j] = -(1 + 9 * rng_unif());
        for (int r = 0; r < m; ++r) {
            double s = 0;
            for (int j = 0; j < n; ++j) {
                double a = (double)(rng_next() % 10);
                p->A[p->omn[i] + (int64_t)r * n + j] = a;
                s += a;
            }
            p->b[p->om[i] + r] = floor(s / 2);
        }
    }
    return 1;
}

static void free_batch(batch *p)
{
    free(p->n), free(p->m), free(p->on), free(p->omn), free(p->om), free(p->c), free(p->A), free(p->b);
}

/* Results of one way, per instance in the caller's order. */
typedef struct {
    double *obj;
    int64_t *nodes;
    double seconds; /* best of the repetitions */
} way;

static int solve_uniform(dopt_context *ctx, int64_t B, int n, int m, const double *c, const double *A,
                         const double *b, const double *lb, const double *ub, double *obj, int64_t *nodes)
{
    double *y = malloc(8 * (size_t)B * (size_t)n + 8);
    int32_t *st = malloc(4 * (size_t)B + 4);
    dopt_ilp_problem P = {B, n, m, DOPT_FLOAT64, c, A, b, lb, ub, 0};
    dopt_ilp_solution S = {y, obj, NULL, st, nodes};
    int ok = y && st && dopt_ilp_solve(ctx, &P, NULL, &S) == DOPT_OK;
    if (!ok) fprintf(stderr, "dopt: bench ilp-ragged: %s\n", dopt_context_last_error(ctx));
    free(y), free(st);
    return ok;
}

/* The ragged call. */
static int run_ragged(dopt_context *ctx, const batch *p, way *w)
{
    double *y = malloc(8 * (size_t)p->on[p->B] + 8);
    int32_t *st = malloc(4 * (size_t)p->B + 4);
    dopt_ilp_ragged_problem P = {p->B, p->n, p->m, DOPT_FLOAT64, p->c, p->A, p->b, NULL, NULL};
    dopt_ilp_solution S = {y, w->obj, NULL, st, w->nodes};
    int ok = y && st && dopt_ilp_ragged_solve(ctx, &P, NULL, &S) == DOPT_OK;
    if (!ok) fprintf(stderr, "dopt: bench ilp-ragged: %s\n", dopt_context_last_error(ctx));
    free(y), free(st);
    return ok;
}

/* (a): instances grouped by (n, m), built before the clock starts. */
typedef struct {
    int n, m;
    int64_t count;
    int64_t *members;
    double *c, *A, *b, *obj;
    int64_t *nodes;
} group;

static int build_groups(const batch *p, group **out, int *count)
{
    int cap = 0, g = 0;
    group *gs = NULL;
    for (int64_t i = 0; i < p->B; ++i) {
        int k = 0;
        while (k < g && (gs[k].n != p->n[i] || gs[k].m != p->m[i])) ++k;
        if (k == g) {
            if (g == cap) {
                cap = cap ? 2 * cap : 16;
                group *t = realloc(gs, sizeof(group) * (size_t)cap);
                if (!t) return 0;
                gs = t;
            }
            memset(&gs[g], 0, sizeof(group));
            gs[g].n = p->n[i], gs[g].m = p->m[i];
            gs[g].members = malloc(8 * (size_t)p->B);
            ++g;
        }
        gs[k].members[gs[k].count++] = i;
    }
    for (int k = 0; k < g; ++k) {
        group *q = &gs[k];
        size_t n = q->n, m = q->m, C = (size_t)q->count;
        q->c = malloc(8 * n * C), q->A = malloc(8 * m * n * C), q->b = malloc(8 * m * C);
        q->obj = malloc(8 * C), q->nodes = malloc(8 * C);
        for (size_t t = 0; t < C; ++t) {
            int64_t i = q->members[t];
            memcpy(q->c + t * n, p->c + p->on[i], 8 * n);
            memcpy(q->A + t * m * n, p->A + p->omn[i], 8 * m * n);
            memcpy(q->b + t * m, p->b + p->om[i], 8 * m);
        }
    }
    *out = gs, *count = g;
    return 1;
}

static void free_groups(group *gs, int count)
{
    for (int k = 0; k < count; ++k)
        free(gs[k].members), free(gs[k].c), free(gs[k].A), free(gs[k].b), free(gs[k].obj), free(gs[k].nodes);
    free(gs);
}

static int run_grouped(dopt_context *ctx, group *gs, int count, way *w)
{
    for (int k = 0; k < count; ++k)
        if (!solve_uniform(ctx, gs[k].count, gs[k].n, gs[k].m, gs[k].c, gs[k].A, gs[k].b, NULL, NULL, gs[k].obj,
                           gs[k].nodes))
            return 0;
    for (int k = 0; k < count; ++k)
        for (int64_t t = 0; t < gs[k].count; ++t)
            w->obj[gs[k].members[t]] = gs[k].obj[t], w->nodes[gs[k].members[t]] = gs[k].nodes[t];
    return 1;
}

/* (b): padded to N x M, built before the clock starts. */
typedef struct {
    int N, M;
    double *c, *A, *b, *lb, *ub;
} padded;

static int build_padded(const batch *p, padded *q)
{
    q->N = 0, q->M = 0;
    for (int64_t i = 0; i < p->B; ++i) {
        if (p->n[i] > q->N) q->N = p->n[i];
        if (p->m[i] > q->M) q->M = p->m[i];
    }
    size_t B = (size_t)p->B, N = q->N, M = q->M;
    q->c = calloc(B * N, 8), q->A = calloc(B * M * N, 8), q->b = malloc(8 * B * M);
    q->lb = calloc(B * N, 8), q->ub = calloc(B * N, 8);
    if (!q->c || !q->A || !q->b || !q->lb || !q->ub) return 0;
    for (size_t i = 0; i < B; ++i) {
        int n = p->n[i], m = p->m[i];
        for (int j = 0; j < n; ++j) q->c[i * N + j] = p->c[p->on[i] + j], q->ub[i * N + j] = 1;
        for (size_t r = 0; r < M; ++r) {
            q->b[i * M + r] = (int)r < m ? p->b[p->om[i] + r] : INFINITY; /* padded rows absent */
            if ((int)r < m)
                for (int j = 0; j < n; ++j) q->A[(i * M + r) * N + j] = p->A[p->omn[i] + (int64_t)r * n + j];
        }
    }
    return 1;
}

static void free_padded(padded *q) { free(q->c), free(q->A), free(q->b), free(q->lb), free(q->ub); }

static int run_one_at_a_time(dopt_context *ctx, const batch *p, way *w)
{
    for (int64_t i = 0; i < p->B; ++i)
        if (!solve_uniform(ctx, 1, p->n[i], p->m[i], p->c + p->on[i], p->A + p->omn[i], p->b + p->om[i], NULL, NULL,
                           w->obj + i, w->nodes + i))
            return 0;
    return 1;
}

static int parse(int argc, char **argv, long long *B, long long *lo, long long *hi, long long *threads,
                 long long *reps, long long *seed, int *quick)
{
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i], *v;
#define NUM(lo_, hi_, out) (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, lo_, hi_, out))
        if (!strcmp(a, "--quick")) *quick = 1;
        else if (!strcmp(a, "--batch")) { if (NUM(1, 10000000, B)) return 0; }
        else if (!strcmp(a, "--min-n")) { if (NUM(1, 256, lo)) return 0; }
        else if (!strcmp(a, "--max-n")) { if (NUM(1, 256, hi)) return 0; }
        else if (!strcmp(a, "--threads")) { if (NUM(0, 4096, threads)) return 0; }
        else if (!strcmp(a, "--repeat")) { if (NUM(1, 1000, reps)) return 0; }
        else if (!strcmp(a, "--seed")) { if (NUM(0, 1LL << 62, seed)) return 0; }
        else return cli_usage_error("bench", "ilp-ragged", "unknown option %s", a), 0;
#undef NUM
    }
    if (*lo > *hi) return cli_usage_error("bench", "ilp-ragged", "--min-n above --max-n"), 0;
    return 1;
}

int cli_bench_ilp_ragged(int argc, char **argv)
{
    long long B = 10000, lo = 4, hi = 32, threads = 0, reps = 1, seed = 1;
    int quick = 0;
    if (!parse(argc, argv, &B, &lo, &hi, &threads, &reps, &seed, &quick)) return CLI_USAGE;
    if (quick) B = B < 1000 ? B : 1000, reps = 1;
    dopt_context *ctx = NULL;
    if (dopt_context_create(&ctx, DOPT_BACKEND_CPU) != DOPT_OK) {
        fprintf(stderr, "dopt: %s\n", dopt_context_last_error(ctx));
        return CLI_FAIL;
    }
    if (threads) dopt_context_set_threads(ctx, (int)threads);
    batch p;
    group *gs = NULL;
    int groups = 0, rc = CLI_FAIL;
    padded q;
    memset(&q, 0, sizeof q);
    way w[4];
    memset(w, 0, sizeof w);
    if (!make_batch(&p, B, (int)lo, (int)hi, (uint64_t)seed) || !build_groups(&p, &gs, &groups) ||
        !build_padded(&p, &q)) {
        fprintf(stderr, "dopt: bench ilp-ragged: out of memory\n");
        goto done;
    }
    for (int k = 0; k < 4; ++k) {
        w[k].obj = malloc(8 * (size_t)B), w[k].nodes = malloc(8 * (size_t)B), w[k].seconds = INFINITY;
        if (!w[k].obj || !w[k].nodes) goto done;
    }
    for (long long r = 0; r < reps; ++r)
        for (int k = 0; k < 4; ++k) {
            double t0 = cli_now();
            int ok = k == 0   ? run_ragged(ctx, &p, &w[0])
                     : k == 1 ? run_grouped(ctx, gs, groups, &w[1])
                     : k == 2 ? solve_uniform(ctx, B, q.N, q.M, q.c, q.A, q.b, q.lb, q.ub, w[2].obj, w[2].nodes)
                              : run_one_at_a_time(ctx, &p, &w[3]);
            double t = cli_now() - t0;
            if (!ok) goto done;
            if (t < w[k].seconds) w[k].seconds = t;
        }
    int64_t mismatched = 0;
    for (int k = 1; k < 4; ++k)
        for (int64_t i = 0; i < B; ++i)
            if (!(fabs(w[k].obj[i] - w[0].obj[i]) <= 1e-9 * fmax(1, fabs(w[0].obj[i])))) ++mismatched;
    double useful = 0;
    for (int64_t i = 0; i < B; ++i) useful += (double)(p.m[i] + 1) * (double)(p.n[i] + p.m[i] + 1);
    useful /= (double)B * (double)(q.M + 1) * (double)(q.N + q.M + 1);
    static const char *names[4] = {"ragged (one call)", "(a) uniform per size, back to back", "(b) padded to the largest",
                                   "(c) one instance at a time"};
    printf("ILP mixed batch: B = %lld, n log-uniform in [%lld, %lld], m = n/2, binary; %d sizes; %d threads; best of "
           "%lld\n\n",
           B, lo, hi, groups, dopt_context_threads(ctx), reps);
    printf("| way | seconds | instances/s | ragged's speed / this | mean nodes |\n|---|---|---|---|---|\n");
    for (int k = 0; k < 4; ++k) {
        double nodes = 0;
        for (int64_t i = 0; i < B; ++i) nodes += (double)w[k].nodes[i];
        printf("| %s | %.3f | %.0f | %.2f | %.1f |\n", names[k], w[k].seconds, (double)B / w[k].seconds,
               w[k].seconds / w[0].seconds, nodes / (double)B);
    }
    printf("\nuseful fraction of (b)'s tableau work per pivot: %.3f; objectives differing from the ragged call's: "
           "%lld\n",
           useful, (long long)mismatched);
    rc = mismatched ? CLI_FAIL : CLI_OK;
done:
    for (int k = 0; k < 4; ++k) free(w[k].obj), free(w[k].nodes);
    free_groups(gs, groups);
    free_padded(&q);
    free_batch(&p);
    dopt_context_destroy(ctx);
    return rc;
}
