/* ILP solver: optimality against exhaustive enumeration on thousands of tiny
 * instances (binary and general integer, feasible and infeasible, f64 and
 * f32, shared and per-instance data), limits, bad input, and thread-count
 * determinism. */
#include "test_util.h"

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
    test_threads_determinism();
    return tu_finish("test_ilp");
}
