/* dopt bench ragged: heterogeneous batches, the benchmark.
 *
 * QP: B instances with n drawn log-uniformly from [nmin, nmax], m = n
 * inequalities, k = n/4 equalities (known-solution generator), solved
 *   ragged   one dopt_qp_ragged_solve call
 *   (a)      the same instances as uniform batches, one per size, back to back
 *   (b)      everything padded to the largest size, one uniform call
 *   (c)      one instance per call
 * ILP: B binary programs with n in [4, 20], m in [1, n] (c ~ N(0,1), A in
 * [0,1), b = half the row sums), the same four ways (padding: fixed-zero
 * variables with zero cost, absent rows b = +inf).
 *
 * Reported: instances/s of each, the ratios the issue asks for (ragged vs
 * (a), vs (b)), the useful fraction of the executed work (QP: the cost model
 * of bench_qp_model.h times each instance's iterations; ILP: the work of a
 * dual simplex pivot on the bounded tableau, (m + 1)(n + m + 1) per
 * instance), the achieved GFLOP/s against the measured
 * single-core factorization rate times the threads (the attainable limit
 * of this kernel, measured in the same run), and checks: ragged results
 * bitwise equal to (a) and (c) (exact sizes, the same kernel), padded ones
 * within the tolerance (QP) or of equal objective (ILP). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_qp_model.h"
#include "cli.h"
#include "qp_generate.h"
#include "splitmix.h"

typedef struct {
    int64_t B;
    int32_t *n, *m, *k;
    int64_t *oQ, *op, *oG, *oh, *oA, *ob; /* offsets, B + 1 */
    double *Q, *p, *G, *h, *A, *b, *xs;
} qp_set;

static void qp_set_free(qp_set *s)
{
    free(s->n), free(s->m), free(s->k);
    free(s->oQ), free(s->op), free(s->oG), free(s->oh), free(s->oA), free(s->ob);
    free(s->Q), free(s->p), free(s->G), free(s->h), free(s->A), free(s->b), free(s->xs);
}

static int qp_set_make(qp_set *s, int64_t B, int nmin, int nmax, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->B = B;
    s->n = malloc(sizeof(int32_t) * B), s->m = malloc(sizeof(int32_t) * B), s->k = malloc(sizeof(int32_t) * B);
    int64_t **offs[6] = {&s->oQ, &s->op, &s->oG, &s->oh, &s->oA, &s->ob};
    for (int a = 0; a < 6; ++a) *offs[a] = malloc(sizeof(int64_t) * (B + 1));
    if (!s->n || !s->m || !s->k || !s->oQ || !s->op || !s->oG || !s->oh || !s->oA || !s->ob) return 0;
    uint64_t rng = seed;
    double l0 = log((double)nmin), l1 = log((double)nmax);
    for (int a = 0; a < 6; ++a) (*offs[a])[0] = 0;
    for (int64_t i = 0; i < B; ++i) {
        int n = (int)lround(exp(l0 + (l1 - l0) * dopt_gen_uniform(&rng)));
        if (n < nmin) n = nmin;
        if (n > nmax) n = nmax;
        s->n[i] = n, s->m[i] = n, s->k[i] = n / 4;
        s->oQ[i + 1] = s->oQ[i] + (int64_t)n * n;
        s->op[i + 1] = s->op[i] + n;
        s->oG[i + 1] = s->oG[i] + (int64_t)n * n;
        s->oh[i + 1] = s->oh[i] + n;
        s->oA[i + 1] = s->oA[i] + (int64_t)(n / 4) * n;
        s->ob[i + 1] = s->ob[i] + n / 4;
    }
    s->Q = malloc(sizeof(double) * s->oQ[B]), s->p = malloc(sizeof(double) * s->op[B]);
    s->G = malloc(sizeof(double) * s->oG[B]), s->h = malloc(sizeof(double) * s->oh[B]);
    s->A = malloc(sizeof(double) * (s->oA[B] + 1)), s->b = malloc(sizeof(double) * (s->ob[B] + 1));
    s->xs = malloc(sizeof(double) * s->op[B]);
    if (!s->Q || !s->p || !s->G || !s->h || !s->A || !s->b || !s->xs) return 0;
    for (int64_t i = 0; i < B; ++i)
        dopt_qp_generate(1, s->n[i], s->m[i], s->k[i], DOPT_GEN_STRICTLY_CONVEX, 10, seed * 1000003u + (uint64_t)i,
                         s->Q + s->oQ[i], s->p + s->op[i], s->G + s->oG[i], s->h + s->oh[i], s->A + s->oA[i],
                         s->b + s->ob[i], s->xs + s->op[i], NULL, NULL);
    return 1;
}

typedef struct {
    double *x, *lam, *nu;
    int32_t *status, *iters;
} qp_out;

static int qp_out_make(qp_out *o, const qp_set *s)
{
    int64_t B = s->B;
    o->x = calloc((size_t)s->op[B], sizeof(double));
    o->lam = calloc((size_t)s->oh[B] + 1, sizeof(double));
    o->nu = calloc((size_t)s->ob[B] + 1, sizeof(double));
    o->status = calloc((size_t)B, sizeof(int32_t));
    o->iters = calloc((size_t)B, sizeof(int32_t));
    return o->x && o->lam && o->nu && o->status && o->iters;
}

static void qp_out_free(qp_out *o) { free(o->x), free(o->lam), free(o->nu), free(o->status), free(o->iters); }

static int report(dopt_context *ctx, const char *what)
{
    fprintf(stderr, "dopt bench ragged: %s: %s\n", what, dopt_context_last_error(ctx));
    return 0;
}

/* ragged: one call */
static int qp_ragged(dopt_context *ctx, const qp_set *s, qp_out *o, double *seconds)
{
    dopt_qp_ragged_problem P = {s->B, s->n, s->m, s->k, DOPT_FLOAT64, s->Q, s->p, s->G, s->h, s->A, s->b};
    dopt_qp_solution sol = {o->x, o->lam, o->nu, o->status, o->iters};
    double t0 = cli_now();
    if (dopt_qp_ragged_solve(ctx, &P, NULL, &sol, NULL) != DOPT_OK) return report(ctx, "ragged solve");
    *seconds = cli_now() - t0;
    return 1;
}

/* (a): per size, a uniform batch gathered beforehand (not timed), results
 * scattered back afterwards (not timed) */
static int qp_per_size(dopt_context *ctx, const qp_set *s, qp_out *o, double *seconds, int *classes)
{
    int64_t B = s->B;
    int nmax = 0;
    for (int64_t i = 0; i < B; ++i) nmax = s->n[i] > nmax ? s->n[i] : nmax;
    int64_t *idx = malloc(sizeof(int64_t) * B);
    if (!idx) return 0;
    double total = 0;
    int ok = 1;
    *classes = 0;
    for (int n = 1; n <= nmax && ok; ++n) {
        int64_t cnt = 0;
        for (int64_t i = 0; i < B; ++i)
            if (s->n[i] == n) idx[cnt++] = i;
        if (!cnt) continue;
        ++*classes;
        int m = n, k = n / 4;
        size_t nn = (size_t)n * n, mn = (size_t)m * n, kn = (size_t)k * n;
        double *Q = malloc(sizeof(double) * nn * cnt), *p = malloc(sizeof(double) * n * cnt),
               *G = malloc(sizeof(double) * mn * cnt), *h = malloc(sizeof(double) * m * cnt),
               *A = malloc(sizeof(double) * (kn * cnt + 1)), *b = malloc(sizeof(double) * (k * cnt + 1)),
               *x = malloc(sizeof(double) * n * cnt), *lam = malloc(sizeof(double) * m * cnt),
               *nu = malloc(sizeof(double) * (k * cnt + 1));
        int32_t *st = malloc(sizeof(int32_t) * cnt), *it = malloc(sizeof(int32_t) * cnt);
        if (!Q || !p || !G || !h || !A || !b || !x || !lam || !nu || !st || !it) ok = 0;
        for (int64_t j = 0; ok && j < cnt; ++j) {
            int64_t i = idx[j];
            memcpy(Q + j * nn, s->Q + s->oQ[i], sizeof(double) * nn);
            memcpy(p + j * n, s->p + s->op[i], sizeof(double) * n);
            memcpy(G + j * mn, s->G + s->oG[i], sizeof(double) * mn);
            memcpy(h + j * m, s->h + s->oh[i], sizeof(double) * m);
            if (k) memcpy(A + j * kn, s->A + s->oA[i], sizeof(double) * kn);
            if (k) memcpy(b + j * k, s->b + s->ob[i], sizeof(double) * k);
        }
        if (ok) {
            dopt_qp_problem P = {cnt, n, m, k, DOPT_FLOAT64, Q, p, G, h, k ? A : NULL, k ? b : NULL, 0};
            dopt_qp_solution sol = {x, lam, k ? nu : NULL, st, it};
            double t0 = cli_now();
            if (dopt_qp_solve(ctx, &P, NULL, &sol, NULL) != DOPT_OK) ok = report(ctx, "per-size solve");
            total += cli_now() - t0;
        }
        for (int64_t j = 0; ok && j < cnt; ++j) {
            int64_t i = idx[j];
            memcpy(o->x + s->op[i], x + j * n, sizeof(double) * n);
            memcpy(o->lam + s->oh[i], lam + j * m, sizeof(double) * m);
            if (k) memcpy(o->nu + s->ob[i], nu + j * k, sizeof(double) * k);
            o->status[i] = st[j], o->iters[i] = it[j];
        }
        free(Q), free(p), free(G), free(h), free(A), free(b), free(x), free(lam), free(nu), free(st), free(it);
    }
    free(idx);
    *seconds = total;
    return ok;
}

/* (b): everything padded to the largest size (padding as docs/QP.md proves
 * exact: unit curvature and zero cost on padded variables, padded
 * inequality rows absent (h = +inf), each padded equality row pinning one
 * padded variable to 0). Returns the executed cost model. */
static int qp_padded(dopt_context *ctx, const qp_set *s, qp_out *o, double *seconds, double *executed_flops)
{
    int64_t B = s->B;
    int N = 0, M = 0, K = 0;
    for (int64_t i = 0; i < B; ++i) {
        N = s->n[i] > N ? s->n[i] : N;
        M = s->m[i] > M ? s->m[i] : M;
        K = s->k[i] > K ? s->k[i] : K;
    }
    size_t NN = (size_t)N * N, MN = (size_t)M * N, KN = (size_t)K * N;
    double *Q = calloc(NN * B, sizeof(double)), *p = calloc((size_t)N * B, sizeof(double)),
           *G = calloc(MN * B, sizeof(double)), *h = malloc(sizeof(double) * M * B),
           *A = calloc(KN * B + 1, sizeof(double)), *b = calloc((size_t)K * B + 1, sizeof(double)),
           *x = malloc(sizeof(double) * N * B), *lam = malloc(sizeof(double) * M * B),
           *nu = malloc(sizeof(double) * (K * B + 1));
    int32_t *st = malloc(sizeof(int32_t) * B), *it = malloc(sizeof(int32_t) * B);
    int ok = Q && p && G && h && A && b && x && lam && nu && st && it;
    if (!ok) fprintf(stderr, "dopt bench ragged: out of memory for the padded batch (B = %lld, n = %d)\n",
                     (long long)B, N);
    for (int64_t i = 0; ok && i < B; ++i) {
        int n = s->n[i], m = s->m[i], k = s->k[i];
        double *Qi = Q + i * NN, *Gi = G + i * MN, *Ai = A + i * KN;
        for (int r = 0; r < n; ++r) memcpy(Qi + (size_t)r * N, s->Q + s->oQ[i] + (size_t)r * n, sizeof(double) * n);
        for (int j = n; j < N; ++j) Qi[(size_t)j * N + j] = 1;
        memcpy(p + i * N, s->p + s->op[i], sizeof(double) * n);
        for (int r = 0; r < m; ++r) memcpy(Gi + (size_t)r * N, s->G + s->oG[i] + (size_t)r * n, sizeof(double) * n);
        for (int r = 0; r < M; ++r) h[i * M + r] = r < m ? s->h[s->oh[i] + r] : INFINITY;
        for (int r = 0; r < k; ++r) memcpy(Ai + (size_t)r * N, s->A + s->oA[i] + (size_t)r * n, sizeof(double) * n);
        for (int r = k; r < K; ++r) Ai[(size_t)r * N + n + (r - k)] = 1; /* N - n >= K - k here (k = n/4) */
        if (k) memcpy(b + i * K, s->b + s->ob[i], sizeof(double) * k);
    }
    if (ok) {
        dopt_qp_problem P = {B, N, M, K, DOPT_FLOAT64, Q, p, G, h, K ? A : NULL, K ? b : NULL, 0};
        dopt_qp_solution sol = {x, lam, K ? nu : NULL, st, it};
        double t0 = cli_now();
        if (dopt_qp_solve(ctx, &P, NULL, &sol, NULL) != DOPT_OK) ok = report(ctx, "padded solve");
        *seconds = cli_now() - t0;
    }
    *executed_flops = 0;
    for (int64_t i = 0; ok && i < B; ++i) {
        memcpy(o->x + s->op[i], x + i * N, sizeof(double) * s->n[i]);
        o->status[i] = st[i], o->iters[i] = it[i];
        *executed_flops += it[i] * bench_qp_factor_flops(N, M, K);
    }
    free(Q), free(p), free(G), free(h), free(A), free(b), free(x), free(lam), free(nu), free(st), free(it);
    return ok;
}

/* (c): one instance per call (its arrays are contiguous in the ragged layout) */
static int qp_one_by_one(dopt_context *ctx, const qp_set *s, qp_out *o, double *seconds)
{
    double t0 = cli_now();
    for (int64_t i = 0; i < s->B; ++i) {
        int n = s->n[i], m = s->m[i], k = s->k[i];
        dopt_qp_problem P = {1, n, m, k, DOPT_FLOAT64, s->Q + s->oQ[i], s->p + s->op[i], s->G + s->oG[i],
                             s->h + s->oh[i], k ? s->A + s->oA[i] : NULL, k ? s->b + s->ob[i] : NULL, 0};
        dopt_qp_solution sol = {o->x + s->op[i], o->lam + s->oh[i], k ? o->nu + s->ob[i] : NULL, o->status + i,
                                o->iters + i};
        if (dopt_qp_solve(ctx, &P, NULL, &sol, NULL) != DOPT_OK) return report(ctx, "single solve");
    }
    *seconds = cli_now() - t0;
    return 1;
}

static double max_abs_diff(const double *a, const double *b, int64_t len)
{
    double d = 0;
    for (int64_t i = 0; i < len; ++i) d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

static int64_t count_solved(const int32_t *st, int64_t B)
{
    int64_t c = 0;
    for (int64_t i = 0; i < B; ++i) c += st[i] == DOPT_SOLVED;
    return c;
}

static int bench_qp_ragged(dopt_context *ctx, int64_t B, int nmin, int nmax, uint64_t seed, int padded, FILE *jf)
{
    qp_set s;
    qp_out r, a, b, c;
    memset(&r, 0, sizeof r), memset(&a, 0, sizeof a), memset(&b, 0, sizeof b), memset(&c, 0, sizeof c);
    int ok = qp_set_make(&s, B, nmin, nmax, seed) && qp_out_make(&r, &s) && qp_out_make(&a, &s) &&
             qp_out_make(&b, &s) && qp_out_make(&c, &s);
    if (!ok) fprintf(stderr, "dopt bench ragged: out of memory for %lld QP instances\n", (long long)B);
    double tr = 0, ta = 0, tb = 0, tc = 0, exec_b = 0;
    int classes = 0;
    ok = ok && qp_ragged(ctx, &s, &r, &tr) && qp_ragged(ctx, &s, &r, &tr); /* second run timed: warm caches */
    ok = ok && qp_per_size(ctx, &s, &a, &ta, &classes);
    ok = ok && (!padded || qp_padded(ctx, &s, &b, &tb, &exec_b));
    ok = ok && qp_one_by_one(ctx, &s, &c, &tc);
    if (!ok) {
        qp_set_free(&s), qp_out_free(&r), qp_out_free(&a), qp_out_free(&b), qp_out_free(&c);
        return 0;
    }
    int64_t nx = s.op[B];
    double useful = 0, useful_a = 0;
    for (int64_t i = 0; i < B; ++i) {
        useful += r.iters[i] * bench_qp_factor_flops(s.n[i], s.m[i], s.k[i]);
        useful_a += a.iters[i] * bench_qp_factor_flops(s.n[i], s.m[i], s.k[i]);
    }
    int same_a = memcmp(r.x, a.x, sizeof(double) * nx) == 0 && memcmp(r.status, a.status, sizeof(int32_t) * B) == 0;
    int same_c = memcmp(r.x, c.x, sizeof(double) * nx) == 0 && memcmp(r.status, c.status, sizeof(int32_t) * B) == 0;
    double err = max_abs_diff(r.x, s.xs, nx), err_b = padded ? max_abs_diff(r.x, b.x, nx) : 0;
    int threads = dopt_context_threads(ctx);
    double limit = bench_qp_factor_gflops(nmax, 0.3) * threads;
    printf("QP: B = %lld, n log-uniform in [%d, %d] (%d distinct sizes), m = n, k = n/4, float64, tol 1e-8, %d "
           "threads\n",
           (long long)B, nmin, nmax, classes, threads);
    printf("  %-34s %12s %10s %10s %9s %8s\n", "", "inst/s", "vs ragged", "GFLOP/s", "useful", "solved");
    printf("  %-34s %12.0f %10s %10.2f %8.0f%% %7.2f%%\n", "ragged (one call)", B / tr, "1.00", useful / tr * 1e-9,
           100.0, 100.0 * count_solved(r.status, B) / B);
    printf("  %-34s %12.0f %10.2f %10.2f %8.0f%% %7.2f%%\n", "(a) uniform batch per size", B / ta, tr / ta,
           useful_a / ta * 1e-9, 100.0, 100.0 * count_solved(a.status, B) / B);
    if (padded) {
        double useful_b = 0;
        for (int64_t i = 0; i < B; ++i) useful_b += b.iters[i] * bench_qp_factor_flops(s.n[i], s.m[i], s.k[i]);
        printf("  %-34s %12.0f %10.2f %10.2f %8.1f%% %7.2f%%\n", "(b) padded to the largest size", B / tb, tr / tb,
               exec_b / tb * 1e-9, 100.0 * useful_b / exec_b, 100.0 * count_solved(b.status, B) / B);
    }
    printf("  %-34s %12.0f %10.2f %10.2f %8.0f%% %7.2f%%\n", "(c) one instance per call", B / tc, tr / tc,
           useful / tc * 1e-9, 100.0, 100.0 * count_solved(c.status, B) / B);
    printf("  ragged / (a) = %.3f (goal >= 0.90)%s\n", ta / tr,
           padded ? "" : "; (b) skipped (--no-padded)");
    if (padded) printf("  ragged / (b) = %.2f (goal >= 3)\n", tb / tr);
    printf("  attainable: the factorization kernel at n = %d, %.2f GFLOP/s per core x %d = %.1f GFLOP/s; ragged "
           "reaches %.0f%% of it\n",
           nmax, limit / threads, threads, limit, 100.0 * useful / tr * 1e-9 / limit);
    printf("  checks: max|x - x*| = %.1e; ragged bitwise equal to (a): %s, to (c): %s", err, same_a ? "yes" : "NO",
           same_c ? "yes" : "NO");
    if (padded) printf("; max|x_padded - x_ragged| = %.1e", err_b);
    printf("\n");
    if (jf)
        fprintf(jf,
                "  \"qp\": {\"B\": %lld, \"nmin\": %d, \"nmax\": %d, \"threads\": %d, \"ragged_s\": %.6g, "
                "\"per_size_s\": %.6g, \"padded_s\": %.6g, \"one_by_one_s\": %.6g, \"useful_gflop\": %.6g, "
                "\"padded_executed_gflop\": %.6g, \"attainable_gflops\": %.4g, \"bitwise_a\": %d, \"bitwise_c\": %d, "
                "\"max_err\": %.3g},\n",
                (long long)B, nmin, nmax, threads, tr, ta, tb, tc, useful * 1e-9, exec_b * 1e-9, limit, same_a,
                same_c, err);
    ok = same_a && same_c;
    if (!ok) fprintf(stderr, "dopt bench ragged: QP results differ between the exact-size runs (a defect)\n");
    qp_set_free(&s), qp_out_free(&r), qp_out_free(&a), qp_out_free(&b), qp_out_free(&c);
    return ok;
}

/* ---- ILP ---- */

typedef struct {
    int64_t B;
    int32_t *n, *m;
    int64_t *oc, *oA, *ob;
    double *c, *A, *b;
} ilp_set;

static void ilp_set_free(ilp_set *s)
{
    free(s->n), free(s->m), free(s->oc), free(s->oA), free(s->ob), free(s->c), free(s->A), free(s->b);
}

static int ilp_set_make(ilp_set *s, int64_t B, int nmin, int nmax, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->B = B;
    s->n = malloc(sizeof(int32_t) * B), s->m = malloc(sizeof(int32_t) * B);
    s->oc = malloc(sizeof(int64_t) * (B + 1)), s->oA = malloc(sizeof(int64_t) * (B + 1));
    s->ob = malloc(sizeof(int64_t) * (B + 1));
    if (!s->n || !s->m || !s->oc || !s->oA || !s->ob) return 0;
    uint64_t rng = seed ^ 0x5bd1e995u;
    s->oc[0] = s->oA[0] = s->ob[0] = 0;
    for (int64_t i = 0; i < B; ++i) {
        int n = nmin + (int)(dopt_gen_uniform(&rng) * (nmax - nmin + 1));
        int m = 1 + (int)(dopt_gen_uniform(&rng) * n);
        n = n > nmax ? nmax : n;
        m = m > n ? n : m;
        s->n[i] = n, s->m[i] = m;
        s->oc[i + 1] = s->oc[i] + n;
        s->oA[i + 1] = s->oA[i] + (int64_t)m * n;
        s->ob[i + 1] = s->ob[i] + m;
    }
    s->c = malloc(sizeof(double) * s->oc[B]), s->A = malloc(sizeof(double) * s->oA[B]);
    s->b = malloc(sizeof(double) * s->ob[B]);
    if (!s->c || !s->A || !s->b) return 0;
    for (int64_t i = 0; i < B; ++i) {
        int n = s->n[i], m = s->m[i];
        for (int j = 0; j < n; ++j) s->c[s->oc[i] + j] = dopt_gen_normal(&rng); /* costs of both signs */
        for (int r = 0; r < m; ++r) {
            double sum = 0;
            for (int j = 0; j < n; ++j) sum += s->A[s->oA[i] + (int64_t)r * n + j] = dopt_gen_uniform(&rng);
            s->b[s->ob[i] + r] = 0.5 * sum;
        }
    }
    return 1;
}

typedef struct {
    double *y, *obj;
    int32_t *status;
    int64_t *nodes;
} ilp_out;

static int ilp_out_make(ilp_out *o, const ilp_set *s)
{
    o->y = calloc((size_t)s->oc[s->B], sizeof(double));
    o->obj = calloc((size_t)s->B, sizeof(double));
    o->status = calloc((size_t)s->B, sizeof(int32_t));
    o->nodes = calloc((size_t)s->B, sizeof(int64_t));
    return o->y && o->obj && o->status && o->nodes;
}

static void ilp_out_free(ilp_out *o) { free(o->y), free(o->obj), free(o->status), free(o->nodes); }

static int ilp_ragged(dopt_context *ctx, const ilp_set *s, ilp_out *o, double *seconds)
{
    dopt_ilp_ragged_problem P = {s->B, s->n, s->m, DOPT_FLOAT64, s->c, s->A, s->b, NULL, NULL};
    dopt_ilp_solution sol = {o->y, o->obj, NULL, o->status, o->nodes};
    double t0 = cli_now();
    if (dopt_ilp_ragged_solve(ctx, &P, NULL, &sol) != DOPT_OK) return report(ctx, "ILP ragged solve");
    *seconds = cli_now() - t0;
    return 1;
}

static int ilp_per_size(dopt_context *ctx, const ilp_set *s, int nmax, ilp_out *o, double *seconds, int *classes)
{
    int64_t B = s->B;
    int64_t *idx = malloc(sizeof(int64_t) * B);
    if (!idx) return 0;
    double total = 0;
    int ok = 1;
    *classes = 0;
    for (int n = 1; n <= nmax && ok; ++n)
        for (int m = 1; m <= n && ok; ++m) {
            int64_t cnt = 0;
            for (int64_t i = 0; i < B; ++i)
                if (s->n[i] == n && s->m[i] == m) idx[cnt++] = i;
            if (!cnt) continue;
            ++*classes;
            double *c = malloc(sizeof(double) * n * cnt), *A = malloc(sizeof(double) * m * n * cnt),
                   *b = malloc(sizeof(double) * m * cnt), *y = malloc(sizeof(double) * n * cnt),
                   *obj = malloc(sizeof(double) * cnt);
            int32_t *st = malloc(sizeof(int32_t) * cnt);
            int64_t *nodes = malloc(sizeof(int64_t) * cnt);
            if (!c || !A || !b || !y || !obj || !st || !nodes) ok = 0;
            for (int64_t j = 0; ok && j < cnt; ++j) {
                int64_t i = idx[j];
                memcpy(c + j * n, s->c + s->oc[i], sizeof(double) * n);
                memcpy(A + j * m * n, s->A + s->oA[i], sizeof(double) * m * n);
                memcpy(b + j * m, s->b + s->ob[i], sizeof(double) * m);
            }
            if (ok) {
                dopt_ilp_problem P = {cnt, n, m, DOPT_FLOAT64, c, A, b, NULL, NULL, 0};
                dopt_ilp_solution sol = {y, obj, NULL, st, nodes};
                double t0 = cli_now();
                if (dopt_ilp_solve(ctx, &P, NULL, &sol) != DOPT_OK) ok = report(ctx, "ILP per-size solve");
                total += cli_now() - t0;
            }
            for (int64_t j = 0; ok && j < cnt; ++j) {
                int64_t i = idx[j];
                memcpy(o->y + s->oc[i], y + j * n, sizeof(double) * n);
                o->obj[i] = obj[j], o->status[i] = st[j], o->nodes[i] = nodes[j];
            }
            free(c), free(A), free(b), free(y), free(obj), free(st), free(nodes);
        }
    free(idx);
    *seconds = total;
    return ok;
}

/* (b): padded variables fixed at 0 (ub = 0) with zero cost, padded rows absent (b = +inf) */
static int ilp_padded(dopt_context *ctx, const ilp_set *s, ilp_out *o, double *seconds, double *tableau_fraction)
{
    int64_t B = s->B;
    int N = 0, M = 0;
    for (int64_t i = 0; i < B; ++i) N = s->n[i] > N ? s->n[i] : N, M = s->m[i] > M ? s->m[i] : M;
    double *c = calloc((size_t)N * B, sizeof(double)), *A = calloc((size_t)M * N * B, sizeof(double)),
           *b = malloc(sizeof(double) * M * B), *ub = calloc((size_t)N * B, sizeof(double)),
           *y = malloc(sizeof(double) * N * B), *obj = malloc(sizeof(double) * B);
    int32_t *st = malloc(sizeof(int32_t) * B);
    int64_t *nodes = malloc(sizeof(int64_t) * B);
    int ok = c && A && b && ub && y && obj && st && nodes;
    double used = 0;
    for (int64_t i = 0; ok && i < B; ++i) {
        int n = s->n[i], m = s->m[i];
        memcpy(c + i * N, s->c + s->oc[i], sizeof(double) * n);
        for (int j = 0; j < n; ++j) ub[i * N + j] = 1;
        for (int r = 0; r < M; ++r) {
            if (r < m) memcpy(A + (i * M + r) * N, s->A + s->oA[i] + (int64_t)r * n, sizeof(double) * n);
            b[i * M + r] = r < m ? s->b[s->ob[i] + r] : INFINITY;
        }
        used += (double)(m + 1) * (n + m + 1);
    }
    if (ok) {
        dopt_ilp_problem P = {B, N, M, DOPT_FLOAT64, c, A, b, NULL, ub, 0};
        dopt_ilp_solution sol = {y, obj, NULL, st, nodes};
        double t0 = cli_now();
        if (dopt_ilp_solve(ctx, &P, NULL, &sol) != DOPT_OK) ok = report(ctx, "ILP padded solve");
        *seconds = cli_now() - t0;
    }
    for (int64_t i = 0; ok && i < B; ++i) {
        memcpy(o->y + s->oc[i], y + i * N, sizeof(double) * s->n[i]);
        o->obj[i] = obj[i], o->status[i] = st[i], o->nodes[i] = nodes[i];
    }
    *tableau_fraction = used / ((double)(M + 1) * (N + M + 1) * B);
    free(c), free(A), free(b), free(ub), free(y), free(obj), free(st), free(nodes);
    return ok;
}

static int ilp_one_by_one(dopt_context *ctx, const ilp_set *s, ilp_out *o, double *seconds)
{
    double t0 = cli_now();
    for (int64_t i = 0; i < s->B; ++i) {
        dopt_ilp_problem P = {1, s->n[i], s->m[i], DOPT_FLOAT64, s->c + s->oc[i], s->A + s->oA[i], s->b + s->ob[i],
                              NULL, NULL, 0};
        dopt_ilp_solution sol = {o->y + s->oc[i], o->obj + i, NULL, o->status + i, o->nodes + i};
        if (dopt_ilp_solve(ctx, &P, NULL, &sol) != DOPT_OK) return report(ctx, "ILP single solve");
    }
    *seconds = cli_now() - t0;
    return 1;
}

static int bench_ilp_ragged(dopt_context *ctx, int64_t B, int nmin, int nmax, uint64_t seed, int padded, FILE *jf)
{
    ilp_set s;
    ilp_out r, a, b, c;
    memset(&r, 0, sizeof r), memset(&a, 0, sizeof a), memset(&b, 0, sizeof b), memset(&c, 0, sizeof c);
    int ok = ilp_set_make(&s, B, nmin, nmax, seed) && ilp_out_make(&r, &s) && ilp_out_make(&a, &s) &&
             ilp_out_make(&b, &s) && ilp_out_make(&c, &s);
    if (!ok) fprintf(stderr, "dopt bench ragged: out of memory for %lld ILP instances\n", (long long)B);
    double tr = 0, ta = 0, tb = 0, tc = 0, frac = 1;
    int classes = 0;
    ok = ok && ilp_ragged(ctx, &s, &r, &tr) && ilp_ragged(ctx, &s, &r, &tr);
    ok = ok && ilp_per_size(ctx, &s, nmax, &a, &ta, &classes);
    ok = ok && (!padded || ilp_padded(ctx, &s, &b, &tb, &frac));
    ok = ok && ilp_one_by_one(ctx, &s, &c, &tc);
    if (!ok) {
        ilp_set_free(&s), ilp_out_free(&r), ilp_out_free(&a), ilp_out_free(&b), ilp_out_free(&c);
        return 0;
    }
    int64_t ny = s.oc[B];
    int same_a = memcmp(r.y, a.y, sizeof(double) * ny) == 0 && memcmp(r.obj, a.obj, sizeof(double) * B) == 0;
    int same_c = memcmp(r.y, c.y, sizeof(double) * ny) == 0 && memcmp(r.obj, c.obj, sizeof(double) * B) == 0;
    double dobj = 0;
    int64_t nodes = 0;
    for (int64_t i = 0; i < B; ++i) {
        nodes += r.nodes[i];
        if (padded && r.status[i] == DOPT_SOLVED)
            dobj = fmax(dobj, fabs(r.obj[i] - b.obj[i]) / (1 + fabs(r.obj[i])));
    }
    int threads = dopt_context_threads(ctx);
    printf("ILP: B = %lld, binary, n uniform in [%d, %d], m uniform in [1, n] (%d distinct (n, m)), %d threads, "
           "%.1f nodes per instance\n",
           (long long)B, nmin, nmax, classes, threads, (double)nodes / B);
    printf("  %-34s %12s %10s %9s %8s\n", "", "inst/s", "vs ragged", "useful", "solved");
    printf("  %-34s %12.0f %10s %8.0f%% %7.2f%%\n", "ragged (one call)", B / tr, "1.00", 100.0,
           100.0 * count_solved(r.status, B) / B);
    printf("  %-34s %12.0f %10.2f %8.0f%% %7.2f%%\n", "(a) uniform batch per (n, m)", B / ta, tr / ta, 100.0,
           100.0 * count_solved(a.status, B) / B);
    if (padded)
        printf("  %-34s %12.0f %10.2f %8.1f%% %7.2f%%\n", "(b) padded to the largest size", B / tb, tr / tb,
               100.0 * frac, 100.0 * count_solved(b.status, B) / B);
    printf("  %-34s %12.0f %10.2f %8.0f%% %7.2f%%\n", "(c) one instance per call", B / tc, tr / tc, 100.0,
           100.0 * count_solved(c.status, B) / B);
    printf("  ragged / (a) = %.3f (goal >= 0.90)", ta / tr);
    if (padded) printf("; ragged / (b) = %.2f (goal >= 3)", tb / tr);
    printf("\n  useful: the exact instances' share of the padded pivot work, (m + 1)(n + m + 1) per pivot\n");
    printf("  checks: ragged bitwise equal to (a): %s, to (c): %s", same_a ? "yes" : "NO", same_c ? "yes" : "NO");
    if (padded) printf("; max relative |obj_padded - obj_ragged| = %.1e", dobj);
    printf("\n");
    if (jf)
        fprintf(jf,
                "  \"ilp\": {\"B\": %lld, \"nmin\": %d, \"nmax\": %d, \"threads\": %d, \"ragged_s\": %.6g, "
                "\"per_size_s\": %.6g, \"padded_s\": %.6g, \"one_by_one_s\": %.6g, \"useful_fraction_padded\": %.4g, "
                "\"bitwise_a\": %d, \"bitwise_c\": %d, \"max_obj_diff_padded\": %.3g},\n",
                (long long)B, nmin, nmax, threads, tr, ta, tb, tc, frac, same_a, same_c, dobj);
    ok = same_a && same_c && dobj <= 1e-9;
    if (!ok) fprintf(stderr, "dopt bench ragged: ILP results differ between the runs (a defect)\n");
    ilp_set_free(&s), ilp_out_free(&r), ilp_out_free(&a), ilp_out_free(&b), ilp_out_free(&c);
    return ok;
}

int cli_bench_ragged(int argc, char **argv)
{
    long long B = 10000, ilp_B = 10000, threads = 0, nmin = 8, nmax = 128, seed = 1;
    int padded = 1, quick = 0;
    const char *json = NULL;
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--batch")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 1, 1 << 22, &B)) return CLI_USAGE;
        } else if (!strcmp(a, "--ilp-batch")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 0, 1 << 22, &ilp_B)) return CLI_USAGE;
        } else if (!strcmp(a, "--nmin")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 4, 1024, &nmin)) return CLI_USAGE;
        } else if (!strcmp(a, "--nmax")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 4, 1024, &nmax)) return CLI_USAGE;
        } else if (!strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 0, 4096, &threads)) return CLI_USAGE;
        } else if (!strcmp(a, "--seed")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_parse_int(v, a, 0, 1ll << 40, &seed)) return CLI_USAGE;
        } else if (!strcmp(a, "--no-padded")) {
            padded = 0;
        } else if (!strcmp(a, "--quick")) {
            quick = 1;
        } else if (!strcmp(a, "--json")) {
            if (!(json = cli_value(argc, argv, &i))) return CLI_USAGE;
        } else if (a[0] == '-') {
            return cli_usage_error("bench", "ragged", "unknown option %s", a);
        } else {
            return cli_usage_error("bench", "ragged", "unexpected argument '%s'", a);
        }
    }
    if (nmin > nmax) return cli_usage_error("bench", "ragged", "--nmin %lld is above --nmax %lld", nmin, nmax);
    if (quick) B = B < 500 ? B : 500, ilp_B = ilp_B < 500 ? ilp_B : 500, nmax = nmax < 48 ? nmax : 48;
    FILE *jf = NULL;
    if (json && !(jf = fopen(json, "w"))) {
        fprintf(stderr, "dopt bench ragged: cannot write %s\n", json);
        return CLI_FAIL;
    }
    dopt_context *ctx = NULL;
    if (dopt_context_create(&ctx, DOPT_BACKEND_CPU) != DOPT_OK) {
        fprintf(stderr, "dopt bench ragged: %s\n", dopt_context_last_error(ctx));
        dopt_context_destroy(ctx);
        if (jf) fclose(jf);
        return CLI_FAIL;
    }
    if (threads) dopt_context_set_threads(ctx, (int)threads);
    if (jf) fprintf(jf, "{\n");
    int ok = bench_qp_ragged(ctx, B, (int)nmin, (int)nmax, (uint64_t)seed, padded, jf);
    if (ok && ilp_B > 0) {
        printf("\n");
        ok = bench_ilp_ragged(ctx, ilp_B, 4, 20, (uint64_t)seed, padded, jf);
    }
    if (jf) {
        fprintf(jf, "  \"ok\": %s\n}\n", ok ? "true" : "false");
        fclose(jf);
    }
    dopt_context_destroy(ctx);
    return ok ? CLI_OK : CLI_FAIL;
}
