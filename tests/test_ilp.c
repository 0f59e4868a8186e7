/* ILP solver: optimality against exhaustive enumeration on thousands of tiny
 * instances (binary and general integer, feasible and infeasible, f64 and
 * f32, shared and per-instance data), limits, bad input, and thread-count
 * determinism. */
#include <time.h>

#include "test_util.h"
#include "cpu_compare.h"

/* ---- host-side problem and a staging solve ---------------------------------- */
typedef struct {
    int64_t B;
    int n, m;
    double *c, *A, *b, *lb, *ub;
} iprob;

static void ifree(iprob *p)
{
    free(p->c), free(p->A), free(p->b), free(p->lb), free(p->ub);
}

typedef struct {
    double *y, *obj, *bound;
    int32_t *status;
    int64_t *nodes;
} isol;

static void isol_free(isol *s) { free(s->y), free(s->obj), free(s->bound), free(s->status), free(s->nodes); }

/* Converts to float32 when f32; stages on the backend; solves. */
static dopt_status isolve(const iprob *p, uint32_t shared, int f32, const dopt_ilp_options *opt, isol *out)
{
    int64_t B = p->B;
    int n = p->n, m = p->m;
    size_t es = f32 ? 4 : 8;
    size_t nc = (shared & DOPT_ILP_SHARE_C) ? (size_t)n : (size_t)(B * n);
    size_t nA = (shared & DOPT_ILP_SHARE_A) ? (size_t)m * n : (size_t)(B * m * n);
    size_t nb = (shared & DOPT_ILP_SHARE_B) ? (size_t)m : (size_t)B * m;
    size_t nl = (shared & DOPT_ILP_SHARE_LB) ? (size_t)n : (size_t)B * n;
    size_t nu = (shared & DOPT_ILP_SHARE_UB) ? (size_t)n : (size_t)B * n;
    const double *src[5] = {p->c, p->A, p->b, p->lb, p->ub};
    size_t cnt[5] = {nc, nA, nb, nl, nu};
    void *host[5] = {0}, *dev[5] = {0};
    for (int k = 0; k < 5; ++k) {
        if (!src[k]) continue;
        host[k] = malloc(es * cnt[k] + 8);
        for (size_t e = 0; e < cnt[k]; ++e) {
            if (f32)
                ((float *)host[k])[e] = (float)src[k][e];
            else
                ((double *)host[k])[e] = src[k][e];
        }
        dev[k] = tu_dev(host[k], es * cnt[k]);
    }
    dopt_ilp_problem P = {B, n, m, f32 ? DOPT_FLOAT32 : DOPT_FLOAT64, dev[0], dev[1], dev[2], dev[3], dev[4], shared};
    void *yh = malloc(es * B * n + 8), *oh = malloc(es * B + 8), *bh = malloc(es * B + 8);
    out->status = calloc(B + 1, 4);
    out->nodes = calloc(B + 1, 8);
    dopt_ilp_solution S = {tu_dev_out(yh, es * B * n), tu_dev_out(oh, es * B), tu_dev_out(bh, es * B),
                           tu_dev_out(out->status, 4 * B), tu_dev_out(out->nodes, 8 * B)};
    dopt_status st = dopt_ilp_solve(tu_ctx, &P, opt, &S);
    tu_host(yh, S.y, es * B * n), tu_host(oh, S.obj, es * B), tu_host(bh, S.bound, es * B);
    tu_host(out->status, S.status, 4 * B), tu_host(out->nodes, S.nodes, 8 * B);
    out->y = malloc(8 * B * n + 8), out->obj = malloc(8 * B + 8), out->bound = malloc(8 * B + 8);
    for (int64_t e = 0; e < B * n; ++e) out->y[e] = f32 ? ((float *)yh)[e] : ((double *)yh)[e];
    for (int64_t e = 0; e < B; ++e) {
        out->obj[e] = f32 ? ((float *)oh)[e] : ((double *)oh)[e];
        out->bound[e] = f32 ? ((float *)bh)[e] : ((double *)bh)[e];
    }
    tu_dev_free(yh, S.y), tu_dev_free(oh, S.obj), tu_dev_free(bh, S.bound);
    tu_dev_free(out->status, S.status), tu_dev_free(out->nodes, S.nodes);
    free(yh), free(oh), free(bh);
    for (int k = 0; k < 5; ++k) tu_dev_free(host[k], dev[k]), free(host[k]);
    return st;
}

/* ---- the oracle: every integer point of the box ------------------------------ */
static double g_at(const double *v, int shared_bit, uint32_t shared, int64_t i, size_t len, size_t k)
{
    return (shared & shared_bit) ? v[k] : v[i * len + k];
}

/* Best objective of instance i (+inf if infeasible), the same feasibility
 * rule as documented: a'y - b <= 1e-9 max(1, |b| + sum |a_j y_j|). */
static double enumerate(const iprob *p, uint32_t shared, int64_t i, int f32)
{
    int n = p->n, m = p->m;
    int lo[16], hi[16], y[16];
    for (int j = 0; j < n; ++j) {
        lo[j] = p->lb ? (int)ceil(g_at(p->lb, DOPT_ILP_SHARE_LB, shared, i, n, j)) : 0;
        hi[j] = p->ub ? (int)floor(g_at(p->ub, DOPT_ILP_SHARE_UB, shared, i, n, j)) : 1;
        if (lo[j] > hi[j]) return INFINITY;
        y[j] = lo[j];
    }
#define RD(x) (f32 ? (double)(float)(x) : (x))
    double best = INFINITY;
    for (;;) {
        int ok = 1;
        for (int r = 0; r < m && ok; ++r) {
            double act = 0, mag = 0, br = RD(g_at(p->b, DOPT_ILP_SHARE_B, shared, i, m, r));
            for (int j = 0; j < n; ++j) {
                double a = RD(g_at(p->A, DOPT_ILP_SHARE_A, shared, i, (size_t)m * n, (size_t)r * n + j));
                act += a * y[j];
                mag += fabs(a * y[j]);
            }
            mag += fabs(br);
            if (act - br > 1e-9 * (mag > 1 ? mag : 1)) ok = 0;
        }
        if (ok) {
            double z = 0;
            for (int j = 0; j < n; ++j) z += RD(g_at(p->c, DOPT_ILP_SHARE_C, shared, i, n, j)) * y[j];
            if (z < best) best = z;
        }
        int j = 0;
        while (j < n && y[j] == hi[j]) y[j] = lo[j], ++j;
        if (j == n) break;
        y[j]++;
    }
#undef RD
    return best;
}

/* Random instances: A ~ N(0,1); b puts a random box point inside with a
 * margin for `feasible` ones, else b ~ N(-0.5, 1) (often infeasible). */
static iprob gen(int64_t B, int n, int m, int lo, int hi, double infeasible_share, uint64_t seed)
{
    iprob p = {B, n, m, calloc(B * n, 8), calloc(B * m * n + 1, 8), calloc(B * m + 1, 8), NULL, NULL};
    if (lo != 0 || hi != 1) {
        p.lb = calloc(B * n, 8);
        p.ub = calloc(B * n, 8);
    }
    tu_seed(seed);
    for (int64_t i = 0; i < B; ++i) {
        int y0[64];
        for (int j = 0; j < n; ++j) {
            p.c[i * n + j] = tu_normal();
            if (p.lb) p.lb[i * n + j] = lo, p.ub[i * n + j] = hi;
            y0[j] = lo + (int)floor((hi - lo + 1) * tu_unif());
        }
        int infeasible = tu_unif() < infeasible_share;
        for (int r = 0; r < m; ++r) {
            double act = 0;
            for (int j = 0; j < n; ++j) {
                double a = tu_normal();
                p.A[(i * m + r) * n + j] = a;
                act += a * y0[j];
            }
            p.b[i * m + r] = infeasible ? tu_normal() - 0.5 * (hi - lo) * n * 0.3 : act + 0.5 * fabs(tu_normal());
        }
    }
    return p;
}

static void check_against_oracle(const char *what, const iprob *p, uint32_t shared, int f32)
{
    isol s;
    CHECK_OK(isolve(p, shared, f32, NULL, &s));
    int mism = 0, infeasible = 0;
    for (int64_t i = 0; i < p->B; ++i) {
        double best = enumerate(p, shared, i, f32);
        if (best == INFINITY) {
            ++infeasible;
            if (s.status[i] != DOPT_PRIMAL_INFEASIBLE) ++mism;
            continue;
        }
        double tol = (f32 ? 1e-5 : 1e-9) * fmax(1.0, fabs(best));
        if (s.status[i] != DOPT_SOLVED || !(fabs(s.obj[i] - best) <= tol)) {
            if (mism < 5)
                fprintf(stderr, "%s: instance %lld status %d obj %.17g oracle %.17g\n", what, (long long)i,
                        s.status[i], s.obj[i], best);
            ++mism;
        }
    }
    CHECK(mism == 0, "%s: %d of %lld instances differ from enumeration", what, mism, (long long)p->B);
    CHECK(infeasible > 0 || p->m == 0 || what[0] == 'S', "%s: the generator produced no infeasible instance", what);
    printf("  %-34s %5lld instances, %4d infeasible, all match enumeration: %s\n", what, (long long)p->B,
           infeasible, mism ? "NO" : "yes");
    isol_free(&s);
}

/* y is an integer box point, feasible, and c'y = obj. */
static void check_certificates(const iprob *p)
{
    isol s;
    CHECK_OK(isolve(p, 0, 0, NULL, &s));
    int bad = 0;
    for (int64_t i = 0; i < p->B; ++i) {
        if (s.status[i] != DOPT_SOLVED) continue;
        double z = 0;
        for (int j = 0; j < p->n; ++j) {
            double yj = s.y[i * p->n + j], lo = p->lb ? p->lb[i * p->n + j] : 0, hi = p->ub ? p->ub[i * p->n + j] : 1;
            if (yj != floor(yj) || yj < lo || yj > hi) ++bad;
            z += p->c[i * p->n + j] * yj;
        }
        for (int r = 0; r < p->m; ++r) {
            double act = 0;
            for (int j = 0; j < p->n; ++j) act += p->A[(i * p->m + r) * p->n + j] * s.y[i * p->n + j];
            if (act > p->b[i * p->m + r] + 1e-9 * fmax(1, fabs(p->b[i * p->m + r]))) ++bad;
        }
        if (fabs(z - s.obj[i]) > 1e-12 * fmax(1, fabs(z))) ++bad;
        if (s.bound[i] != s.obj[i]) ++bad;
    }
    CHECK(bad == 0, "%d certificate violations (integrality, bounds, rows, objective)", bad);
    isol_free(&s);
}

static void test_limits(void)
{
    /* a dense general-integer instance needs many nodes; node_limit = 3 stops it */
    iprob p = gen(8, 6, 6, -5, 5, 0.0, 77);
    dopt_ilp_options o = {3, 0};
    isol s;
    CHECK_OK(isolve(&p, 0, 0, &o, &s));
    int limited = 0;
    for (int64_t i = 0; i < p.B; ++i) {
        CHECK(s.status[i] == DOPT_ITERATION_LIMIT || s.status[i] == DOPT_SOLVED, "status %d", s.status[i]);
        CHECK(s.nodes[i] <= 3, "nodes %lld above the limit", (long long)s.nodes[i]);
        if (s.status[i] != DOPT_ITERATION_LIMIT) continue;
        ++limited;
        double best = enumerate(&p, 0, i, 0);
        CHECK(s.bound[i] <= best + 1e-9 * fmax(1, fabs(best)), "bound %g above the optimum %g", s.bound[i], best);
        CHECK(s.obj[i] == INFINITY || s.obj[i] >= best - 1e-9 * fmax(1, fabs(best)), "incumbent %g below the optimum %g",
              s.obj[i], best);
    }
    CHECK(limited > 0, "no instance hit the node limit");
    isol_free(&s);
    ifree(&p);
}

/* b_i = +inf switches row i off (as h_i = +inf in the QP layer): the
 * solution equals that of the problem without the row, a shared A can be
 * used with different rows per instance, and b_i = -inf or NaN, or NaN in
 * an absent row's A, are still invalid data. */
static void test_absent_rows(void)
{
    int64_t B = 300;
    int n = 6, m = 4;
    iprob p = gen(B, n, m, -2, 2, 0.3, 77);
    iprob q = gen(B, n, m, -2, 2, 0.3, 77); /* same data; rows 1 and 3 off */
    for (int64_t i = 0; i < B; ++i)
        for (int r = 1; r < m; r += 2) q.b[i * m + r] = (i % 3 == 0) ? INFINITY : q.b[i * m + r];
    isol s;
    CHECK_OK(isolve(&q, 0, 0, NULL, &s));
    int mism = 0, off = 0;
    for (int64_t i = 0; i < B; ++i) {
        double best;
        if (i % 3 == 0) { /* the oracle of the problem without rows 1 and 3 */
            iprob r = {1, n, 2, p.c + i * n, malloc(8 * 2 * n), malloc(8 * 2), p.lb ? p.lb + i * n : NULL,
                       p.ub ? p.ub + i * n : NULL};
            memcpy(r.A, p.A + (i * m + 0) * n, 8 * n);
            memcpy(r.A + n, p.A + (i * m + 2) * n, 8 * n);
            r.b[0] = p.b[i * m + 0], r.b[1] = p.b[i * m + 2];
            best = enumerate(&r, 0, 0, 0);
            free(r.A), free(r.b);
            ++off;
        } else {
            best = enumerate(&p, 0, i, 0);
        }
        if (best == INFINITY ? s.status[i] != DOPT_PRIMAL_INFEASIBLE
                             : (s.status[i] != DOPT_SOLVED || fabs(s.obj[i] - best) > 1e-9 * fmax(1, fabs(best))))
            ++mism;
    }
    CHECK(off > 0 && mism == 0, "absent rows (b = +inf): %d of %lld instances differ from the oracle", mism,
          (long long)B);
    isol_free(&s);

    /* shared A, per-instance b switching rows off: instance 1 has no rows at all */
    double A[2] = {1, 1}, b[2] = {1, INFINITY}, c[4] = {-1, -1, -1, -1};
    iprob sh = {2, 2, 1, c, A, b, NULL, NULL};
    CHECK_OK(isolve(&sh, DOPT_ILP_SHARE_A, 0, NULL, &s));
    CHECK(s.status[0] == DOPT_SOLVED && s.obj[0] == -1, "shared A, row on: status %d obj %g", s.status[0], s.obj[0]);
    CHECK(s.status[1] == DOPT_SOLVED && s.obj[1] == -2, "shared A, row off: status %d obj %g", s.status[1], s.obj[1]);
    isol_free(&s);

    double A3[6] = {1, 1, NAN, 0, 1, 1}, b3[3] = {-INFINITY, NAN, INFINITY}, c3[6] = {-1, -1, -1, -1, -1, -1};
    double A3b[6] = {1, 1, 1, 1, NAN, 1};
    iprob bad = {3, 2, 1, c3, A3, b3, NULL, NULL};
    CHECK_OK(isolve(&bad, 0, 0, NULL, &s));
    CHECK(s.status[0] == DOPT_INVALID_DATA, "b = -inf: status %d (invalid data, as h = -inf in the QP)", s.status[0]);
    CHECK(s.status[1] == DOPT_INVALID_DATA, "b = NaN: status %d", s.status[1]);
    CHECK(s.status[2] == DOPT_SOLVED, "A finite, b = +inf: status %d", s.status[2]);
    isol_free(&s);
    bad.A = A3b;
    CHECK_OK(isolve(&bad, 0, 0, NULL, &s));
    CHECK(s.status[2] == DOPT_INVALID_DATA, "NaN in an absent row's A: status %d", s.status[2]);
    isol_free(&s);
    ifree(&p), ifree(&q);
}

static void test_bad_input(void)
{
    iprob p = gen(6, 4, 2, 0, 1, 0.0, 5);
    p.lb = calloc(6 * 4, 8);
    p.ub = calloc(6 * 4, 8);
    for (int e = 0; e < 24; ++e) p.ub[e] = 1;
    p.c[0 * 4 + 1] = NAN;        /* instance 0: NaN cost */
    p.A[(1 * 2 + 1) * 4 + 2] = INFINITY; /* instance 1: Inf in A */
    p.lb[2 * 4 + 3] = 2;         /* instance 2: lb > ub: infeasible box */
    p.ub[3 * 4 + 0] = 1e12;      /* instance 3: bound beyond 1e9 */
    p.lb[4 * 4 + 0] = 0.5;       /* instance 4: fractional bounds round inward: y_0 = 1 */
    isol s;
    CHECK_OK(isolve(&p, 0, 0, NULL, &s));
    CHECK(s.status[0] == DOPT_INVALID_DATA, "NaN cost: status %d", s.status[0]);
    CHECK(s.status[1] == DOPT_INVALID_DATA, "Inf in A: status %d", s.status[1]);
    CHECK(s.status[2] == DOPT_PRIMAL_INFEASIBLE, "empty box: status %d", s.status[2]);
    CHECK(s.status[3] == DOPT_INVALID_DATA, "huge bound: status %d", s.status[3]);
    CHECK(isnan(s.obj[0]) && s.y[0] == 0, "invalid instance outputs: obj %g", s.obj[0]);
    CHECK(s.status[4] != DOPT_SOLVED || s.y[4 * 4 + 0] == 1, "rounded bound ignored: y0 = %g", s.y[16]);
    double best = enumerate(&p, 0, 5, 0);
    CHECK(s.status[5] == (best == INFINITY ? DOPT_PRIMAL_INFEASIBLE : DOPT_SOLVED), "a good instance next to bad ones");
    isol_free(&s);

    /* call-level errors */
    dopt_ilp_problem P = {1, 0, 0, DOPT_FLOAT64, p.c, NULL, NULL, NULL, NULL, 0};
    double y[4];
    int32_t st[1];
    dopt_ilp_solution S = {y, NULL, NULL, st, NULL};
    CHECK(dopt_ilp_solve(tu_ctx, &P, NULL, &S) == DOPT_ERR_INVALID_ARGUMENT, "n = 0 accepted");
    P.n = 4, P.m = 2;
    CHECK(dopt_ilp_solve(tu_ctx, &P, NULL, &S) == DOPT_ERR_INVALID_ARGUMENT, "m = 2 without A accepted");
    CHECK(strstr(dopt_context_last_error(tu_ctx), "A or b") != NULL, "message: %s", dopt_context_last_error(tu_ctx));
    P.m = 0;
    P.n = 300;
    CHECK(dopt_ilp_solve(tu_ctx, &P, NULL, &S) == DOPT_ERR_INVALID_ARGUMENT, "n = 300 accepted");
    P.n = 4;
    dopt_ilp_options o = {-1, 0};
    CHECK(dopt_ilp_solve(tu_ctx, &P, &o, &S) == DOPT_ERR_INVALID_ARGUMENT, "negative node limit accepted");
    S.y = NULL;
    CHECK(dopt_ilp_solve(tu_ctx, &P, NULL, &S) == DOPT_ERR_INVALID_ARGUMENT, "NULL y accepted");
    P.batch = 0;
    CHECK(dopt_ilp_solve(tu_ctx, &P, NULL, &S) == DOPT_OK, "an empty batch needs no outputs");
    ifree(&p);
}

static void test_threads_determinism(void)
{
    if (tu_cuda()) return;
    iprob p = gen(300, 10, 5, -3, 3, 0.1, 11);
    isol a, b;
    dopt_context_set_threads(tu_ctx, 1);
    CHECK_OK(isolve(&p, 0, 0, NULL, &a));
    dopt_context_set_threads(tu_ctx, 2);
    CHECK_OK(isolve(&p, 0, 0, NULL, &b));
    dopt_context_set_threads(tu_ctx, 0);
    CHECK(!memcmp(a.y, b.y, 8 * p.B * p.n) && !memcmp(a.nodes, b.nodes, 8 * p.B), "1 vs 2 threads differ");
    isol_free(&a), isol_free(&b);
    ifree(&p);
}

/* The trail is sized by the widest box of the batch (ilp_trail_depth): a
 * batch mixing binary and wide boxes must size it by the widest instance,
 * not the first, or the deep trees end at the trail (status 3) instead of
 * the optimum. */
static void test_trail_depth_mixed_boxes(void)
{
    iprob p = gen(240, 5, 3, -4, 4, 0.0, 71);
    for (int64_t i = 0; i < p.B; ++i) {
        int w = (int)(i % 8); /* instance 0 binary-like (width 0..1), the others up to [-4, 4] */
        for (int j = 0; j < p.n; ++j) {
            p.lb[i * p.n + j] = i == 0 ? 0 : -w / 2 - (j % 2);
            p.ub[i * p.n + j] = i == 0 ? 1 : (w + 1) / 2 + 1;
        }
    }
    check_against_oracle("mixed box widths", &p, 0, 0);
    ifree(&p);
}

/* Wall-clock time from t0 (C11 timespec_get). */
static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    timespec_get(&t, TIME_UTC);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

/* Hard instances (n = 50, m = 25, y in [-30, 30]^50: each needs seconds of
 * search) with shared A, b and box and per-instance costs. */
static iprob hard_batch(int64_t B, uint64_t seed)
{
    int n = 50, m = 25;
    iprob p = {B, n, m, calloc(B * n, 8), calloc(m * n, 8), calloc(m, 8), calloc(n, 8), calloc(n, 8)};
    tu_seed(seed);
    for (int j = 0; j < n; ++j) p.lb[j] = -30, p.ub[j] = 30;
    for (int e = 0; e < m * n; ++e) p.A[e] = tu_normal();
    for (int r = 0; r < m; ++r) p.b[r] = 0.5 * fabs(tu_normal()); /* y = 0 feasible */
    for (int64_t e = 0; e < B * n; ++e) p.c[e] = tu_normal();
    return p;
}

/* One deadline for the whole call (docs/ILP.md): with far more hard
 * instances than workers, the call returns shortly after the limit, the
 * instances that start after the deadline stop at once (0 nodes), and every
 * limited instance reports a feasible incumbent (or none) and a valid bound.
 * A deadline per instance would take (batch / workers) times the limit. */
static void test_time_limit(void)
{
    const uint32_t shared = DOPT_ILP_SHARE_A | DOPT_ILP_SHARE_B | DOPT_ILP_SHARE_LB | DOPT_ILP_SHARE_UB;
    /* the GPU budget holds some 4,000 threads at this size: 12,000 instances leave most late */
    int64_t B = tu_cuda() ? 12000 : 64;
    double limit = 0.25;
    iprob p = hard_batch(B, 73);
    if (!tu_cuda()) dopt_context_set_threads(tu_ctx, 2);
    dopt_ilp_options o = {0, limit};
    isol s;
    struct timespec t0;
    timespec_get(&t0, TIME_UTC);
    CHECK_OK(isolve(&p, shared, 0, &o, &s));
    double wall = seconds_since(&t0);
    if (!tu_cuda()) dopt_context_set_threads(tu_ctx, 0);
    int64_t late = 0, limited = 0, bad = 0;
    for (int64_t i = 0; i < B; ++i) {
        int st = s.status[i];
        if (st != DOPT_SOLVED && st != DOPT_ITERATION_LIMIT) ++bad;
        if (st == DOPT_ITERATION_LIMIT) ++limited;
        if (st == DOPT_ITERATION_LIMIT && s.nodes[i] == 0) ++late;
        if (!(s.bound[i] <= s.obj[i] + 1e-9 * fmax(1, fabs(s.obj[i])))) ++bad;
        if (s.obj[i] == INFINITY) {
            for (int j = 0; j < p.n; ++j) bad += s.y[i * p.n + j] != 0;
            continue;
        }
        double z = 0;
        for (int j = 0; j < p.n; ++j) {
            double yj = s.y[i * p.n + j];
            bad += yj != floor(yj) || yj < -30 || yj > 30;
            z += p.c[i * p.n + j] * yj;
        }
        for (int r = 0; r < p.m; ++r) {
            double act = 0;
            for (int j = 0; j < p.n; ++j) act += p.A[r * p.n + j] * s.y[i * p.n + j];
            bad += act > p.b[r] + 1e-9 * fmax(1, fabs(p.b[r]));
        }
        bad += !(fabs(z - s.obj[i]) <= 1e-9 * fmax(1, fabs(z)));
    }
    printf("  time limit %.2f s: %lld instances in %.2f s, %lld limited, %lld started after the deadline\n", limit,
           (long long)B, wall, (long long)limited, (long long)late);
    CHECK(bad == 0, "time limit: %lld invalid statuses, bounds or incumbents", (long long)bad);
    CHECK(wall < limit + 3.0, "time limit %.2f s: the call took %.2f s", limit, wall);
    CHECK(late >= B / 4, "only %lld of %lld instances started after the deadline", (long long)late, (long long)B);
    isol_free(&s);
    ifree(&p);
}

/* ---- the CUDA backend against the CPU backend ------------------------------- */

/* Objective and bound within 1e-9 relative (float32 outputs: 1e-6), equal
 * statuses; y is compared through the objective (alternative optima). */
static void ilp_compare(const char *what, const iprob *p, uint32_t shared, int f32)
{
    isol g, c;
    CHECK_OK(isolve(p, shared, f32, NULL, &g));
    TC_ON_CPU(CHECK_OK(isolve(p, shared, f32, NULL, &c)));
    double tol = f32 ? 1e-6 : 1e-9;
    char name[160];
    snprintf(name, sizeof name, "%s: status", what), tc_same_i32(name, g.status, c.status, (size_t)p->B);
    snprintf(name, sizeof name, "%s: objective", what), tc_close(name, g.obj, c.obj, (size_t)p->B, tol);
    snprintf(name, sizeof name, "%s: bound", what), tc_close(name, g.bound, c.bound, (size_t)p->B, tol);
    isol_free(&g), isol_free(&c);
}

static void test_cuda_matches_cpu(void)
{
    if (!tu_cuda()) return;
    iprob bin = gen(600, 10, 6, 0, 1, 0.2, 81), gen3 = gen(400, 6, 4, -3, 3, 0.2, 82);
    ilp_compare("binary f64", &bin, 0, 0);
    ilp_compare("binary f32", &bin, 0, 1);
    ilp_compare("general f64", &gen3, 0, 0);
    ilp_compare("general f64 shared A, b, box", &gen3, DOPT_ILP_SHARE_A | DOPT_ILP_SHARE_B | DOPT_ILP_SHARE_LB |
                                                         DOPT_ILP_SHARE_UB, 0);
    void *stream = tc_stream_create();
    CHECK(stream != NULL, "could not create a CUDA stream");
    if (stream) {
        CHECK_OK(dopt_context_set_cuda_stream(tu_ctx, stream));
        ilp_compare("binary f64 on a stream", &bin, 0, 0);
        ilp_compare("general f32 on a stream", &gen3, 0, 1);
        CHECK_OK(dopt_context_set_cuda_stream(tu_ctx, NULL));
        tc_stream_destroy(stream);
    }
    if (tc_use_device(1)) {
        CHECK_OK(dopt_context_set_cuda_device(tu_ctx, 1));
        ilp_compare("general f64 on device 1", &gen3, 0, 0);
        CHECK_OK(dopt_context_set_cuda_device(tu_ctx, 0));
        tc_use_device(0);
    } else {
        printf("device != 0: skipped (fewer than two CUDA devices)\n");
    }
    ifree(&bin), ifree(&gen3);
    tc_release();
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    printf("exhaustive enumeration:\n");
    struct {
        const char *what;
        int64_t B;
        int n, m, lo, hi;
        double inf;
        uint32_t shared;
        int f32;
    } cases[] = {
        {"binary n=8 m=4", 1500, 8, 4, 0, 1, 0.2, 0, 0},
        {"binary n=10 m=8", 800, 10, 8, 0, 1, 0.2, 0, 0},
        {"binary n=6 m=1", 800, 6, 1, 0, 1, 0.2, 0, 0},
        {"general [-3,3]^5 m=4", 800, 5, 4, -3, 3, 0.2, 0, 0},
        {"general [-5,5]^4 m=6", 600, 4, 6, -5, 5, 0.2, 0, 0},
        {"general [-2,2]^6 m=3", 500, 6, 3, -2, 2, 0.2, 0, 0},
        {"binary n=9 m=3 float32", 500, 9, 3, 0, 1, 0.2, 0, 1},
        {"general [-3,3]^4 m=3 float32", 400, 4, 3, -3, 3, 0.2, 0, 1},
        {"unconstrained m=0", 200, 7, 0, -2, 3, 0.0, 0, 0},
        {"Shared A,b,lb,ub (per-instance c)", 400, 8, 5, -1, 2, 0.0,
         DOPT_ILP_SHARE_A | DOPT_ILP_SHARE_B | DOPT_ILP_SHARE_LB | DOPT_ILP_SHARE_UB, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; ++k) {
        iprob p = gen(cases[k].B, cases[k].n, cases[k].m, cases[k].lo, cases[k].hi, cases[k].inf, 1000 + k);
        check_against_oracle(cases[k].what, &p, cases[k].shared, cases[k].f32);
        if (!cases[k].shared && !cases[k].f32) check_certificates(&p);
        ifree(&p);
    }
    test_limits();
    test_bad_input();
    test_absent_rows();
    test_threads_determinism();
    test_trail_depth_mixed_boxes();
    test_time_limit();
    test_cuda_matches_cpu();
    return tu_finish("test_ilp");
}
