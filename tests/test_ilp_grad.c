/* ILP backward rules: CombOptNet's Delta/lambda decomposition (Prop. 1), its
 * mismatch function against finite differences for feasible and infeasible
 * targets, the soft-min limit tau -> 0, a descent test against random
 * directions; blackbox differentiation and identity against their formulas;
 * the perturbed optimizer against a closed form and finite differences of
 * the smoothed objective within Monte-Carlo error bars, bitwise across
 * thread counts; SPO+ (zero at the truth, convex subgradient inequality);
 * the learnable-origin chain rule; shared-parameter sums. */
#include "ilp_grad.h"
#include "test_util.h"
#include "cpu_compare.h"

typedef struct {
    int64_t B;
    int n, m;
    double *c, *A, *b, *lb, *ub;
    uint32_t shared;
} gprob;

static size_t cnt(const gprob *p, uint32_t bit, size_t len) { return (p->shared & bit) ? len : (size_t)p->B * len; }

/* Staged problem on the backend (float64). */
typedef struct {
    dopt_ilp_problem P;
    void *dev[5];
    const double *host[5];
    size_t bytes[5];
} staged;

static staged stage(const gprob *p)
{
    staged s;
    memset(&s, 0, sizeof s);
    const double *h[5] = {p->c, p->A, p->b, p->lb, p->ub};
    size_t len[5] = {cnt(p, DOPT_ILP_SHARE_C, p->n), cnt(p, DOPT_ILP_SHARE_A, (size_t)p->m * p->n),
                     cnt(p, DOPT_ILP_SHARE_B, p->m), cnt(p, DOPT_ILP_SHARE_LB, p->n), cnt(p, DOPT_ILP_SHARE_UB, p->n)};
    for (int k = 0; k < 5; ++k) {
        s.host[k] = h[k];
        s.bytes[k] = 8 * len[k];
        s.dev[k] = h[k] ? tu_dev(h[k], s.bytes[k]) : NULL;
    }
    dopt_ilp_problem P = {p->B, p->n, p->m, DOPT_FLOAT64, s.dev[0], s.dev[1], s.dev[2], s.dev[3], s.dev[4], p->shared};
    s.P = P;
    return s;
}

static void unstage(staged *s)
{
    for (int k = 0; k < 5; ++k) tu_dev_free((void *)s->host[k], s->dev[k]);
}

static void solve(const gprob *p, double *y, int32_t *status)
{
    staged s = stage(p);
    void *yd = tu_dev_out(y, 8 * p->B * p->n), *sd = tu_dev_out(status, 4 * p->B);
    dopt_ilp_solution S = {yd, NULL, NULL, sd, NULL};
    CHECK_OK(dopt_ilp_solve(tu_ctx, &s.P, NULL, &S));
    tu_host(y, yd, 8 * p->B * p->n), tu_host(status, sd, 4 * p->B);
    tu_dev_free(y, yd), tu_dev_free(status, sd);
    unstage(&s);
}

/* dA, db, dc host buffers sized like the parameters (any may be NULL). */
static void backward(const gprob *p, const dopt_ilp_grad_options *g, const double *y, const int32_t *status,
                     const double *dy, double *dA, double *db, double *dc)
{
    staged s = stage(p);
    size_t nA = cnt(p, DOPT_ILP_SHARE_A, (size_t)p->m * p->n), nb = cnt(p, DOPT_ILP_SHARE_B, p->m),
           nc = cnt(p, DOPT_ILP_SHARE_C, p->n);
    void *yd = tu_dev(y, 8 * p->B * p->n), *sd = tu_dev(status, 4 * p->B), *dyd = tu_dev(dy, 8 * p->B * p->n);
    void *dAd = tu_dev_out(dA, 8 * nA), *dbd = tu_dev_out(db, 8 * nb), *dcd = tu_dev_out(dc, 8 * nc);
    CHECK_OK(dopt_ilp_backward(tu_ctx, &s.P, NULL, g, yd, sd, dyd, dAd, dbd, dcd));
    tu_host(dA, dAd, 8 * nA), tu_host(db, dbd, 8 * nb), tu_host(dc, dcd, 8 * nc);
    tu_dev_free(dA, dAd), tu_dev_free(db, dbd), tu_dev_free(dc, dcd);
    tu_dev_free((void *)y, yd), tu_dev_free((void *)status, sd), tu_dev_free((void *)dy, dyd);
    unstage(&s);
}

static gprob random_binary(int64_t B, int n, int m, uint64_t seed)
{
    gprob p = {B, n, m, calloc(B * n, 8), calloc(B * m * n + 1, 8), calloc(B * m + 1, 8), NULL, NULL, 0};
    tu_seed(seed);
    for (int64_t e = 0; e < B * n; ++e) p.c[e] = tu_normal();
    for (int64_t e = 0; e < B * m * n; ++e) p.A[e] = tu_normal();
    for (int64_t i = 0; i < B; ++i)
        for (int r = 0; r < m; ++r) {
            double pos = 0;
            for (int j = 0; j < n; ++j) pos += fmax(p.A[(i * m + r) * n + j], 0);
            p.b[i * m + r] = 0.1 + 0.4 * pos * tu_unif(); /* y = 0 is always feasible */
        }
    return p;
}

static void gfree(gprob *p) { free(p->c), free(p->A), free(p->b), free(p->lb), free(p->ub); }

/* ---- CombOptNet pieces (kernels, host) --------------------------------------- */
static void test_decomposition(void)
{
    int worst = 0;
    tu_seed(3);
    for (int t = 0; t < 500; ++t) {
        int n = 1 + t % 40;
        double g[64], lam[64], rec[64] = {0};
        int order[64];
        for (int j = 0; j < n; ++j) {
            double u = tu_unif();
            g[j] = u < 0.2 ? 0 : (u < 0.4 ? 0.5 * (tu_unif() < 0.5 ? -1 : 1) : tu_normal()); /* zeros and ties */
        }
        ilp_delta_basis(n, g, order, lam);
        for (int k = 0; k < n; ++k) {
            CHECK(lam[k] >= 0, "lambda_%d = %g < 0", k, lam[k]);
            for (int j = 0; j <= k; ++j) rec[order[j]] += lam[k] * (g[order[j]] > 0 ? 1 : (g[order[j]] < 0 ? -1 : 0));
        }
        for (int j = 0; j < n; ++j)
            if (fabs(rec[j] - g[j]) > 1e-14 * (1 + fabs(g[j]))) ++worst;
    }
    CHECK(worst == 0, "Proposition 1 does not reconstruct dy in %d coordinates", worst);
}

static double P_of(int n, int m, const double *A, const double *b, const double *y, const double *yk, double tau,
                   int *viol)
{
    double w[64];
    return ilp_mismatch(n, m, A, b, y, yk, tau, 1.0, NULL, NULL, viol, w);
}

static void test_mismatch_fd(void)
{
    int n = 6, m = 4, cases[2] = {0, 0};
    tu_seed(17);
    for (int t = 0; t < 200; ++t) {
        double A[24], b[4], y[6], yk[6], dA[24] = {0}, db[4] = {0}, w[64];
        for (int e = 0; e < m * n; ++e) A[e] = tu_normal();
        for (int j = 0; j < n; ++j) y[j] = floor(3 * tu_unif()) - 1, yk[j] = y[j] + (tu_unif() < 0.4 ? 1 : 0);
        for (int r = 0; r < m; ++r) { /* y feasible with margin; yk either */
            double act = 0;
            for (int j = 0; j < n; ++j) act += A[r * n + j] * y[j];
            b[r] = act + 0.05 + 1.5 * tu_unif();
        }
        int viol;
        double tau = 0.5;
        ilp_mismatch(n, m, A, b, y, yk, tau, 1.0, dA, db, &viol, w);
        /* skip targets within 1e-4 of a row (the Iverson bracket would flip under FD) */
        int near = 0;
        for (int r = 0; r < m; ++r) {
            double s = -b[r];
            for (int j = 0; j < n; ++j) s += A[r * n + j] * yk[j];
            if (fabs(s) < 1e-4) near = 1;
        }
        if (near) continue;
        cases[viol]++;
        double h = 1e-6, err = 0, scale = 1e-8;
        for (int e = 0; e < m * n + m; ++e) {
            double *x = e < m * n ? &A[e] : &b[e - m * n];
            double g = e < m * n ? dA[e] : db[e - m * n], x0 = *x;
            int v1, v2;
            *x = x0 + h;
            double Pp = P_of(n, m, A, b, y, yk, tau, &v1);
            *x = x0 - h;
            double Pm = P_of(n, m, A, b, y, yk, tau, &v2);
            *x = x0;
            double fd = (Pp - Pm) / (2 * h);
            err = fmax(err, fabs(fd - g));
            scale = fmax(scale, fabs(fd));
        }
        CHECK(err <= 1e-6 * scale + 1e-8, "case %d (%s target): |dP - FD| = %g (scale %g)", t,
              viol ? "infeasible" : "feasible", err, scale);
    }
    CHECK(cases[0] > 20 && cases[1] > 20, "too few cases: %d feasible, %d infeasible targets", cases[0], cases[1]);
    printf("  mismatch vs central differences: %d feasible, %d infeasible targets\n", cases[0], cases[1]);
}

static void test_softmin_limit(void)
{
    int n = 3, m = 3;
    double A[9] = {1, 0, 0, 0, 2, 0, 1, 1, 1}, b[3] = {2.5, 3, 4}, y[3] = {1, 1, 1}, yk[3] = {0, 1, 1};
    /* distances of y: 1.5, 0.5, 1/sqrt(3) */
    double dmin = 0.5;
    int viol;
    double prev = -INFINITY;
    for (double tau = 1.0; tau >= 1e-6; tau /= 10) {
        double P = P_of(n, m, A, b, y, yk, tau, &viol);
        CHECK(!viol, "target should be feasible");
        CHECK(P <= dmin + 1e-15 && P >= dmin - tau * log(3.0) - 1e-15, "tau %g: soft-min %g outside [min - tau log m, min]",
              tau, P);
        CHECK(P >= prev - 1e-15, "soft-min not increasing as tau falls: %g after %g", P, prev);
        prev = P;
    }
    CHECK(fabs(prev - dmin) < 1e-5, "tau -> 0 gives %g, hard min %g", prev, dmin);
    CHECK(P_of(n, m, A, b, y, yk, 0.0, &viol) == dmin, "tau = 0 is the hard min");
}

/* A small step along -(dA, db, dc) moves y toward the target y* = y - dy
 * more often than a random direction of the same size per block. */
static double dist2(const double *a, const double *b, int n)
{
    double s = 0;
    for (int j = 0; j < n; ++j) s += (a[j] - b[j]) * (a[j] - b[j]);
    return s;
}

static void test_descent(void)
{
    int64_t B = 300;
    int n = 8, m = 4;
    gprob p = random_binary(B, n, m, 23);
    double *y = calloc(B * n, 8), *dy = calloc(B * n, 8), *tgt = calloc(B * n, 8);
    int32_t *st = calloc(B, 4);
    solve(&p, y, st);
    tu_seed(29);
    /* the target: y with two coordinates flipped; dy = y - target with
     * random magnitudes, so the Delta basis has several levels */
    for (int64_t i = 0; i < B; ++i) {
        memcpy(tgt + i * n, y + i * n, 8 * n);
        int j1 = (int)(n * tu_unif()), j2 = (j1 + 1 + (int)((n - 1) * tu_unif())) % n;
        tgt[i * n + j1] = 1 - tgt[i * n + j1];
        tgt[i * n + j2] = 1 - tgt[i * n + j2];
        for (int j = 0; j < n; ++j) dy[i * n + j] = (y[i * n + j] - tgt[i * n + j]) * (0.5 + 0.5 * tu_unif());
    }
    double *dA = calloc(B * m * n, 8), *db = calloc(B * m, 8), *dc = calloc(B * n, 8);
    dopt_ilp_grad_options g;
    dopt_ilp_grad_options_default(&g);
    backward(&p, &g, y, st, dy, dA, db, dc);
    int wins[2] = {0, 0};
    for (int dir = 0; dir < 2; ++dir) {
        double *rA = calloc(B * m * n, 8), *rb = calloc(B * m, 8), *rc = calloc(B * n, 8);
        for (int64_t i = 0; i < B; ++i) { /* random direction: same norm per block */
            double *src[3] = {dA + i * m * n, db + i * m, dc + i * n}, *dst[3] = {rA + i * m * n, rb + i * m, rc + i * n};
            int len[3] = {m * n, m, n};
            for (int k = 0; k < 3; ++k) {
                double ns = 0, nr = 0;
                for (int e = 0; e < len[k]; ++e) ns += src[k][e] * src[k][e];
                for (int e = 0; e < len[k]; ++e) dst[k][e] = dir ? tu_normal() : src[k][e], nr += dst[k][e] * dst[k][e];
                for (int e = 0; e < len[k] && nr > 0; ++e) dst[k][e] *= sqrt(ns / nr);
            }
        }
        int64_t done = 0;
        int decided[300] = {0};
        for (double t = 1e-3; t < 100 && done < B; t *= 1.5) {
            gprob q = random_binary(B, n, m, 23);
            for (int64_t e = 0; e < B * m * n; ++e) q.A[e] -= t * rA[e];
            for (int64_t e = 0; e < B * m; ++e) q.b[e] -= t * rb[e];
            for (int64_t e = 0; e < B * n; ++e) q.c[e] -= t * rc[e];
            double *yq = calloc(B * n, 8);
            int32_t *sq = calloc(B, 4);
            solve(&q, yq, sq);
            for (int64_t i = 0; i < B; ++i) {
                if (decided[i] || st[i] != 0 || sq[i] != 0 || !memcmp(yq + i * n, y + i * n, 8 * n)) continue;
                decided[i] = 1, ++done; /* the first step size that changes y decides */
                if (dist2(yq + i * n, tgt + i * n, n) < dist2(y + i * n, tgt + i * n, n)) wins[dir]++;
            }
            free(yq), free(sq);
            gfree(&q);
        }
        free(rA), free(rb), free(rc);
    }
    printf("  descent: CombOptNet direction moves y toward y - dy in %d of %lld instances, random in %d\n", wins[0],
           (long long)B, wins[1]);
    CHECK(wins[0] > wins[1] + 15, "CombOptNet %d vs random %d", wins[0], wins[1]);
    free(y), free(dy), free(tgt), free(st), free(dA), free(db), free(dc);
    gfree(&p);
}

/* ---- DBB, identity, shared sums ---------------------------------------------- */
static void test_dbb_identity_shared(void)
{
    int64_t B = 200;
    int n = 10, m = 5;
    gprob p = random_binary(B, n, m, 41);
    double *y = calloc(B * n, 8), *dy = calloc(B * n, 8), *dc = calloc(B * n, 8);
    int32_t *st = calloc(B, 4);
    solve(&p, y, st);
    tu_seed(43);
    for (int64_t e = 0; e < B * n; ++e) dy[e] = tu_normal();
    dopt_ilp_grad_options g;
    dopt_ilp_grad_options_default(&g);
    g.method = DOPT_ILP_DBB;
    g.lambda = 3;
    backward(&p, &g, y, st, dy, NULL, NULL, dc);
    gprob q = random_binary(B, n, m, 41);
    for (int64_t e = 0; e < B * n; ++e) q.c[e] += 3 * dy[e];
    double *yl = calloc(B * n, 8);
    int32_t *sl = calloc(B, 4);
    solve(&q, yl, sl);
    int bad = 0, nonzero = 0;
    for (int64_t e = 0; e < B * n; ++e) {
        if (dc[e] != (yl[e] - y[e]) / 3) ++bad;
        nonzero += dc[e] != 0;
    }
    CHECK(bad == 0 && nonzero > 0, "DBB: %d entries differ from (y(c + lambda dy) - y) / lambda (%d nonzero)", bad,
          nonzero);
    g.method = DOPT_ILP_IDENTITY;
    backward(&p, &g, y, st, dy, NULL, NULL, dc);
    bad = 0;
    for (int64_t e = 0; e < B * n; ++e) bad += dc[e] != -dy[e];
    CHECK(bad == 0, "identity: dc != -dy in %d entries", bad);

    /* shared A and b: the gradient is the batch sum of the per-instance ones */
    double *dA = calloc(B * m * n, 8), *db = calloc(B * m, 8), dAs[50], dbs[5];
    gprob s = random_binary(B, n, m, 41);
    for (int64_t i = 1; i < B; ++i) {
        memcpy(s.A + i * m * n, s.A, 8 * m * n);
        memcpy(s.b + i * m, s.b, 8 * m);
    }
    solve(&s, y, st);
    g.method = DOPT_ILP_COMBOPT;
    backward(&s, &g, y, st, dy, dA, db, NULL);
    s.shared = DOPT_ILP_SHARE_A | DOPT_ILP_SHARE_B;
    backward(&s, &g, y, st, dy, dAs, dbs, NULL);
    double err = 0, mag = 0;
    for (int e = 0; e < m * n; ++e) {
        double sum = 0;
        for (int64_t i = 0; i < B; ++i) sum += dA[i * m * n + e];
        err = fmax(err, fabs(sum - dAs[e]));
        mag = fmax(mag, fabs(sum));
    }
    for (int r = 0; r < m; ++r) {
        double sum = 0;
        for (int64_t i = 0; i < B; ++i) sum += db[i * m + r];
        err = fmax(err, fabs(sum - dbs[r]));
    }
    CHECK(mag > 0 && err <= 1e-12 * mag, "shared sums off by %g (scale %g)", err, mag);
    free(y), free(dy), free(dc), free(st), free(yl), free(sl), free(dA), free(db);
    gfree(&p), gfree(&q), gfree(&s);
}

/* ---- perturbed optimizer ------------------------------------------------------ */
static void perturbed(const gprob *p, const dopt_ilp_grad_options *g, const double *dy, double *y_eps, double *dc)
{
    staged s = stage(p);
    size_t nc = cnt(p, DOPT_ILP_SHARE_C, p->n);
    double *y0 = calloc(p->B * p->n, 8);
    int32_t *st = calloc(p->B, 4);
    if (y_eps) {
        void *yd = tu_dev_out(y_eps, 8 * p->B * p->n);
        CHECK_OK(dopt_ilp_perturbed(tu_ctx, &s.P, NULL, g, yd));
        tu_host(y_eps, yd, 8 * p->B * p->n);
        tu_dev_free(y_eps, yd);
    }
    if (dc) {
        void *yd = tu_dev(y0, 8 * p->B * p->n), *sd = tu_dev(st, 4 * p->B), *dyd = tu_dev(dy, 8 * p->B * p->n);
        void *dcd = tu_dev_out(dc, 8 * nc);
        CHECK_OK(dopt_ilp_backward(tu_ctx, &s.P, NULL, g, yd, sd, dyd, NULL, NULL, dcd));
        tu_host(dc, dcd, 8 * nc);
        tu_dev_free(dc, dcd), tu_dev_free(y0, yd), tu_dev_free(st, sd), tu_dev_free((void *)dy, dyd);
    }
    free(y0), free(st);
    unstage(&s);
}

static void test_perturbed(void)
{
    /* 1-D: min c y, y in {0, 1}: y(c) = 1[c < 0], y_eps = Phi(-c/eps),
     * d y_eps / dc = -phi(c/eps)/eps. 64 copies x K samples; the spread over
     * copies gives the standard error. */
    int64_t B = 64;
    gprob p = {B, 1, 0, calloc(B, 8), NULL, NULL, NULL, NULL, 0};
    double c0 = 0.3, eps = 0.7;
    for (int64_t i = 0; i < B; ++i) p.c[i] = c0;
    double *dy = calloc(B, 8), *dc = calloc(B, 8), *ye = calloc(B, 8);
    for (int64_t i = 0; i < B; ++i) dy[i] = 1;
    dopt_ilp_grad_options g;
    dopt_ilp_grad_options_default(&g);
    g.method = DOPT_ILP_PERTURBED;
    g.epsilon = eps;
    g.samples = 2000;
    g.seed = 5;
    perturbed(&p, &g, dy, ye, dc);
    double m1 = 0, s1 = 0, m2 = 0, s2 = 0;
    for (int64_t i = 0; i < B; ++i) m1 += ye[i] / B, m2 += dc[i] / B;
    for (int64_t i = 0; i < B; ++i) s1 += (ye[i] - m1) * (ye[i] - m1), s2 += (dc[i] - m2) * (dc[i] - m2);
    double se1 = sqrt(s1 / (B - 1) / B), se2 = sqrt(s2 / (B - 1) / B);
    double want1 = 0.5 * erfc(c0 / eps / sqrt(2.0)), want2 = -exp(-0.5 * c0 * c0 / (eps * eps)) / sqrt(2 * 3.141592653589793) / eps;
    printf("  perturbed 1-D: y_eps %.4f +- %.4f (exact %.4f), dy_eps/dc %.4f +- %.4f (exact %.4f)\n", m1, se1, want1,
           m2, se2, want2);
    CHECK(fabs(m1 - want1) < 5 * se1, "y_eps %g vs %g (se %g)", m1, want1, se1);
    CHECK(fabs(m2 - want2) < 5 * se2, "dc %g vs %g (se %g)", m2, want2, se2);
    free(dy), free(dc), free(ye);
    gfree(&p);

    /* n = 4 binary with a knapsack row: the gradient of F(c) = <y_eps(c), dy>
     * against central differences of F (the same Z for +h and -h), over 40
     * seeds: |mean(grad) - mean(FD)| within 5 standard errors + h^2 bias. */
    int n = 4, seeds = 40;
    double A[4] = {1, 1, 1, 1}, bb[1] = {2}, c[4] = {-0.3, 0.2, -0.6, 0.1}, dy4[4] = {1, -0.5, 0.7, 0.2};
    gprob q = {1, n, 1, c, A, bb, NULL, NULL, 0};
    double gsum[4] = {0}, gsq[4] = {0}, fsum[4] = {0}, fsq[4] = {0}, h = 0.15;
    g.epsilon = 1;
    g.samples = 4000;
    for (int sd = 0; sd < seeds; ++sd) {
        g.seed = 100 + sd;
        double dc4[4], yp[4], ym[4];
        perturbed(&q, &g, dy4, NULL, dc4);
        for (int j = 0; j < n; ++j) {
            double c_save = c[j];
            c[j] = c_save + h;
            perturbed(&q, &g, NULL, yp, NULL);
            c[j] = c_save - h;
            perturbed(&q, &g, NULL, ym, NULL);
            c[j] = c_save;
            double Fp = 0, Fm = 0;
            for (int k = 0; k < n; ++k) Fp += yp[k] * dy4[k], Fm += ym[k] * dy4[k];
            double fd = (Fp - Fm) / (2 * h);
            gsum[j] += dc4[j], gsq[j] += dc4[j] * dc4[j], fsum[j] += fd, fsq[j] += fd * fd;
        }
    }
    for (int j = 0; j < n; ++j) {
        double gm = gsum[j] / seeds, fm = fsum[j] / seeds;
        double gv = (gsq[j] / seeds - gm * gm) * seeds / (seeds - 1), fv = (fsq[j] / seeds - fm * fm) * seeds / (seeds - 1);
        double se = sqrt((gv + fv) / seeds);
        printf("  perturbed n=4: dF/dc_%d = %.4f +- %.4f, central difference %.4f\n", j, gm, sqrt(gv / seeds), fm);
        CHECK(fabs(gm - fm) < 5 * se + 0.01, "coordinate %d: %g vs FD %g (se %g)", j, gm, fm, se);
    }

    /* bitwise identical for any thread count */
    if (!tu_cuda()) {
        double d1[4], d2[4];
        g.seed = 9;
        dopt_context_set_threads(tu_ctx, 1);
        perturbed(&q, &g, dy4, NULL, d1);
        dopt_context_set_threads(tu_ctx, 2);
        perturbed(&q, &g, dy4, NULL, d2);
        dopt_context_set_threads(tu_ctx, 0);
        CHECK(!memcmp(d1, d2, sizeof d1), "perturbed gradient depends on the thread count");
    }
}

/* ---- SPO+ ------------------------------------------------------------------- */
static void spo(const gprob *p, const double *ctrue, double *loss, double *dc)
{
    staged s = stage(p);
    void *ct = tu_dev(ctrue, 8 * p->B * p->n), *ld = tu_dev_out(loss, 8 * p->B), *dcd = tu_dev_out(dc, 8 * p->B * p->n);
    CHECK_OK(dopt_ilp_spo_plus(tu_ctx, &s.P, NULL, ct, NULL, ld, dcd));
    tu_host(loss, ld, 8 * p->B), tu_host(dc, dcd, 8 * p->B * p->n);
    tu_dev_free((void *)ctrue, ct), tu_dev_free(loss, ld), tu_dev_free(dc, dcd);
    unstage(&s);
}

static void test_spo(void)
{
    int64_t B = 100;
    int n = 8, m = 3;
    gprob p = random_binary(B, n, m, 61);
    double *ctrue = calloc(B * n, 8), *loss = calloc(B, 8), *dc = calloc(B * n, 8), *l2 = calloc(B, 8),
           *dc2 = calloc(B * n, 8);
    memcpy(ctrue, p.c, 8 * B * n);
    spo(&p, ctrue, loss, dc);
    int bad = 0;
    for (int64_t i = 0; i < B; ++i) bad += fabs(loss[i]) > 1e-12;
    CHECK(bad == 0, "SPO+ loss is not 0 at c^ = c in %d instances", bad);
    tu_seed(67);
    for (int64_t e = 0; e < B * n; ++e) p.c[e] = ctrue[e] + tu_normal();
    spo(&p, ctrue, loss, dc);
    double *c1 = malloc(8 * B * n);
    memcpy(c1, p.c, 8 * B * n);
    int neg = 0, viol = 0;
    for (int trial = 0; trial < 5; ++trial) {
        for (int64_t e = 0; e < B * n; ++e) p.c[e] = c1[e] + 0.5 * tu_normal();
        spo(&p, ctrue, l2, dc2);
        for (int64_t i = 0; i < B; ++i) {
            double lin = loss[i];
            for (int j = 0; j < n; ++j) lin += dc[i * n + j] * (p.c[i * n + j] - c1[i * n + j]);
            if (l2[i] < lin - 1e-9) ++viol; /* convex: l(c') >= l(c) + g'(c' - c) */
            if (l2[i] < -1e-12) ++neg;
        }
    }
    CHECK(viol == 0 && neg == 0, "SPO+: %d subgradient-inequality violations, %d negative losses", viol, neg);
    /* a NaN in c^ (instance 0) or in c (instance 1): NaN loss and dc there,
     * the other instances unchanged */
    memcpy(p.c, c1, 8 * B * n);
    spo(&p, ctrue, loss, dc);
    p.c[0 * n + 3] = NAN;
    ctrue[1 * n + 5] = NAN;
    spo(&p, ctrue, l2, dc2);
    int kept = 0, changed = 0;
    for (int64_t i = 0; i < B; ++i) {
        if (i < 2) {
            kept += !isnan(l2[i]);
            for (int j = 0; j < n; ++j) kept += !isnan(dc2[i * n + j]);
        } else {
            changed += l2[i] != loss[i];
            for (int j = 0; j < n; ++j) changed += dc2[i * n + j] != dc[i * n + j];
        }
    }
    CHECK(kept == 0 && changed == 0, "SPO+ with NaN costs: %d finite entries, %d changed elsewhere", kept, changed);
    /* an infeasible instance (row 0 of instance 2: 0'y <= -1) has no y~ and
     * no y*: NaN loss and dc there, not a loss computed from an unset y; the
     * others unchanged */
    memcpy(p.c, c1, 8 * B * n);
    ctrue[1 * n + 5] = p.c[1 * n + 5]; /* undo the NaN of the case above */
    spo(&p, ctrue, loss, dc);
    for (int j = 0; j < n; ++j) p.A[(2 * m + 0) * n + j] = 0;
    p.b[2 * m + 0] = -1;
    spo(&p, ctrue, l2, dc2);
    kept = 0, changed = 0;
    for (int64_t i = 0; i < B; ++i) {
        if (i == 2) {
            kept += !isnan(l2[i]);
            for (int j = 0; j < n; ++j) kept += !isnan(dc2[i * n + j]);
        } else {
            changed += l2[i] != loss[i];
            for (int j = 0; j < n; ++j) changed += dc2[i * n + j] != dc[i * n + j];
        }
    }
    CHECK(kept == 0 && changed == 0, "SPO+ on an infeasible instance: %d finite entries, %d changed elsewhere", kept,
          changed);
    free(ctrue), free(loss), free(dc), free(l2), free(dc2), free(c1);
    gfree(&p);
}

static void test_origin(void)
{
    int m = 3, n = 4;
    double a[12], r[3], o[12], b[3], dA[12], db[3], da[12], dr[3], d_o[12];
    tu_seed(71);
    for (int e = 0; e < 12; ++e) a[e] = tu_normal(), o[e] = tu_normal(), dA[e] = tu_normal();
    for (int j = 0; j < 3; ++j) r[j] = tu_normal(), db[j] = tu_normal();
    dopt_ilp_origin_to_b(m, n, a, r, o, b);
    for (int j = 0; j < m; ++j) {
        double s = r[j];
        for (int k = 0; k < n; ++k) s += a[j * n + k] * o[j * n + k];
        CHECK(fabs(b[j] - s) < 1e-14, "b = r + a'o");
    }
    dopt_ilp_origin_backward(m, n, a, o, dA, db, da, dr, d_o);
    /* L = <dA, a> + <db, b(a, r, o)>: its exact derivatives, by differences (linear in each argument) */
    double h = 1e-3;
    for (int e = 0; e < 12; ++e) {
        double L[2];
        for (int sgn = 0; sgn < 2; ++sgn) {
            double a2[12], bb[3];
            memcpy(a2, a, sizeof a2);
            a2[e] += sgn ? -h : h;
            dopt_ilp_origin_to_b(m, n, a2, r, o, bb);
            L[sgn] = 0;
            for (int k = 0; k < 12; ++k) L[sgn] += dA[k] * a2[k];
            for (int j = 0; j < 3; ++j) L[sgn] += db[j] * bb[j];
        }
        CHECK(fabs((L[0] - L[1]) / (2 * h) - da[e]) < 1e-9, "da[%d]", e);
        double o2[12], bb[3], Lp = 0, Lm = 0;
        memcpy(o2, o, sizeof o2);
        o2[e] += h;
        dopt_ilp_origin_to_b(m, n, a, r, o2, bb);
        for (int j = 0; j < 3; ++j) Lp += db[j] * bb[j];
        o2[e] -= 2 * h;
        dopt_ilp_origin_to_b(m, n, a, r, o2, bb);
        for (int j = 0; j < 3; ++j) Lm += db[j] * bb[j];
        CHECK(fabs((Lp - Lm) / (2 * h) - d_o[e]) < 1e-9, "do[%d]", e);
    }
    for (int j = 0; j < 3; ++j) CHECK(dr[j] == db[j], "dr = db");
}

static void test_bad_grad_input(void)
{
    gprob p = random_binary(2, 3, 1, 1);
    staged s = stage(&p);
    double y[6] = {0}, dy[6] = {0}, dc[6];
    int32_t st[2] = {0, 0};
    dopt_ilp_grad_options g;
    dopt_ilp_grad_options_default(&g);
    g.method = (dopt_ilp_method)9;
    CHECK(dopt_ilp_backward(tu_ctx, &s.P, NULL, &g, y, st, dy, NULL, NULL, dc) == DOPT_ERR_INVALID_ARGUMENT,
          "unknown method accepted");
    dopt_ilp_grad_options_default(&g);
    g.tau = -1;
    CHECK(dopt_ilp_backward(tu_ctx, &s.P, NULL, &g, y, st, dy, NULL, NULL, dc) == DOPT_ERR_INVALID_ARGUMENT,
          "negative tau accepted");
    dopt_ilp_grad_options_default(&g);
    g.method = DOPT_ILP_PERTURBED;
    g.samples = 0;
    CHECK(dopt_ilp_backward(tu_ctx, &s.P, NULL, &g, y, st, dy, NULL, NULL, dc) == DOPT_ERR_INVALID_ARGUMENT,
          "zero samples accepted");
    dopt_ilp_grad_options_default(&g);
    CHECK(dopt_ilp_backward(tu_ctx, &s.P, NULL, &g, y, st, NULL, NULL, NULL, dc) == DOPT_ERR_INVALID_ARGUMENT,
          "NULL dy accepted");
    unstage(&s);
    gfree(&p);
}

/* A NaN or Inf in dy: every method gives NaN in the affected instance's dA,
 * db and dc (whatever its status) and leaves the other instances exactly
 * as without it; shared gradients (batch sums) become NaN. */
static void test_nonfinite_dy(void)
{
    int64_t B = 4;
    int n = 5, m = 3;
    gprob p = random_binary(B, n, m, 61);
    double y[20], dy[20], dyb[20], dA[60], db[12], dc[20], dA0[60], db0[12], dc0[20];
    int32_t st[4];
    solve(&p, y, st);
    st[3] = DOPT_PRIMAL_INFEASIBLE; /* an unsolved instance must not swallow NaN either */
    tu_seed(62);
    for (int e = 0; e < 20; ++e) dy[e] = tu_normal();
    const char *names[4] = {"combopt", "dbb", "perturbed", "identity"};
    for (int meth = 0; meth < 4; ++meth) {
        dopt_ilp_grad_options g;
        dopt_ilp_grad_options_default(&g);
        g.method = (dopt_ilp_method)meth;
        backward(&p, &g, y, st, dy, dA0, db0, dc0);
        memcpy(dyb, dy, sizeof dy);
        dyb[0 * n + 2] = NAN;                             /* instance 0: one NaN */
        for (int j = 0; j < n; ++j) dyb[1 * n + j] = NAN; /* instance 1: all NaN */
        dyb[3 * n + 4] = INFINITY;                        /* instance 3 (unsolved): Inf */
        backward(&p, &g, y, st, dyb, dA, db, dc);
        int lost = 0, changed = 0;
        for (int64_t i = 0; i < B; ++i) {
            int hit = i != 2;
            for (int e = 0; e < m * n; ++e) hit ? (lost += !isnan(dA[i * m * n + e])) : (changed += dA[i * m * n + e] != dA0[i * m * n + e]);
            for (int e = 0; e < m; ++e) hit ? (lost += !isnan(db[i * m + e])) : (changed += db[i * m + e] != db0[i * m + e]);
            for (int e = 0; e < n; ++e) hit ? (lost += !isnan(dc[i * n + e])) : (changed += dc[i * n + e] != dc0[i * n + e]);
        }
        CHECK(lost == 0, "%s: %d gradient entries of instances with a NaN/Inf dy are not NaN", names[meth], lost);
        CHECK(changed == 0, "%s: %d entries of the clean instance changed", names[meth], changed);
        gprob s = p;
        s.shared = DOPT_ILP_SHARE_A | DOPT_ILP_SHARE_B;
        double dAs[15], dbs[3];
        backward(&s, &g, y, st, dyb, dAs, dbs, NULL);
        int finite = 0;
        for (int e = 0; e < 15; ++e) finite += !isnan(dAs[e]);
        for (int e = 0; e < 3; ++e) finite += !isnan(dbs[e]);
        CHECK(finite == 0, "%s: %d shared-gradient entries stay finite despite a NaN dy", names[meth], finite);
    }
    gfree(&p);
}

/* DBB with a finite dy whose c + lambda dy overflows: the extra solve is
 * invalid data (y = 0), so its difference is no gradient; that instance's dc
 * is NaN, the others are exactly as without it. */
static void test_dbb_overflow(void)
{
    int64_t B = 3;
    int n = 4, m = 2;
    gprob p = random_binary(B, n, m, 81);
    double y[12], dy[12], dyb[12], dc[12], dc0[12], dA[24], db[6];
    int32_t st[3];
    solve(&p, y, st);
    tu_seed(82);
    for (int e = 0; e < 12; ++e) dy[e] = tu_normal();
    dopt_ilp_grad_options g;
    dopt_ilp_grad_options_default(&g);
    g.method = DOPT_ILP_DBB;
    backward(&p, &g, y, st, dy, dA, db, dc0);
    memcpy(dyb, dy, sizeof dy);
    dyb[1 * n + 0] = 1e308; /* finite, but lambda (10) * 1e308 overflows */
    backward(&p, &g, y, st, dyb, dA, db, dc);
    int lost = 0, changed = 0;
    for (int64_t i = 0; i < B; ++i)
        for (int j = 0; j < n; ++j)
            i == 1 ? (lost += !isnan(dc[i * n + j])) : (changed += dc[i * n + j] != dc0[i * n + j]);
    CHECK(lost == 0, "dbb: %d dc entries of the overflowing instance are finite", lost);
    CHECK(changed == 0, "dbb: %d dc entries of the other instances changed", changed);
    gfree(&p);
}

/* b_i = +inf (row absent): CombOptNet gives the row zero dA and db, and the
 * rest equals the gradient of the problem without that row. */
static void test_absent_row_grad(void)
{
    int64_t B = 200;
    int n = 6, m = 3;
    gprob p = random_binary(B, n, m, 71);
    gprob q = random_binary(B, n, m - 1, 72); /* rows 0 and 2 of p */
    for (int64_t i = 0; i < B; ++i) {
        memcpy(q.A + (i * 2 + 0) * n, p.A + (i * m + 0) * n, 8 * n);
        memcpy(q.A + (i * 2 + 1) * n, p.A + (i * m + 2) * n, 8 * n);
        q.b[i * 2 + 0] = p.b[i * m + 0], q.b[i * 2 + 1] = p.b[i * m + 2];
        memcpy(q.c + i * n, p.c + i * n, 8 * n);
        p.b[i * m + 1] = INFINITY;
    }
    double *y = calloc(B * n, 8), *yq = calloc(B * n, 8), *dy = calloc(B * n, 8);
    double *dA = calloc(B * m * n, 8), *db = calloc(B * m, 8), *dc = calloc(B * n, 8);
    double *dAq = calloc(B * 2 * n, 8), *dbq = calloc(B * 2, 8), *dcq = calloc(B * n, 8);
    int32_t *st = calloc(B, 4), *stq = calloc(B, 4);
    solve(&p, y, st);
    solve(&q, yq, stq);
    tu_seed(73);
    for (int64_t e = 0; e < B * n; ++e) dy[e] = tu_normal();
    dopt_ilp_grad_options g;
    dopt_ilp_grad_options_default(&g);
    backward(&p, &g, y, st, dy, dA, db, dc);
    backward(&q, &g, y, st, dy, dAq, dbq, dcq);
    int bad = 0, nonzero = 0, same_y = 0;
    for (int64_t i = 0; i < B; ++i) {
        int eq = st[i] == stq[i] && memcmp(y + i * n, yq + i * n, 8 * n) == 0;
        same_y += eq;
        bad += db[i * m + 1] != 0;
        for (int j = 0; j < n; ++j) bad += dA[(i * m + 1) * n + j] != 0;
        for (int j = 0; j < n; ++j) {
            bad += fabs(dA[(i * m + 0) * n + j] - dAq[(i * 2 + 0) * n + j]) > 1e-12;
            bad += fabs(dA[(i * m + 2) * n + j] - dAq[(i * 2 + 1) * n + j]) > 1e-12;
            bad += fabs(dc[i * n + j] - dcq[i * n + j]) > 1e-12;
            nonzero += dA[(i * m + 0) * n + j] != 0;
        }
        bad += fabs(db[i * m + 0] - dbq[i * 2 + 0]) > 1e-12 || fabs(db[i * m + 2] - dbq[i * 2 + 1]) > 1e-12;
    }
    CHECK(same_y == B, "absent row: %lld of %lld solutions differ from the problem without it", (long long)(B - same_y),
          (long long)B);
    CHECK(bad == 0 && nonzero > 0, "absent row: %d gradient entries wrong (%d nonzero)", bad, nonzero);
    free(y), free(yq), free(dy), free(dA), free(db), free(dc), free(dAq), free(dbq), free(dcq), free(st), free(stq);
    gfree(&p), gfree(&q);
}

/* ---- the CUDA backend against the CPU backend ------------------------------- */

/* Everything the layer computes from one problem, in float64. */
typedef struct {
    double *y, *dA[4], *db[4], *dc[4], *y_eps, *spo_loss, *spo_dc;
    int32_t *status;
} grad_out;

static tc_buf tb_out(size_t count, int f32)
{
    tc_buf t = {malloc((f32 ? 4 : 8) * count + 8), NULL, count, f32};
    t.dev = tu_dev_out(t.host, (f32 ? 4 : 8) * count);
    return t;
}


/* Solve, the four backward rules, the perturbed forward and SPO+ of p on the
 * context's backend, in float64 or float32; dy and c_true (batch, n). */
static void grad_suite(const gprob *p, int f32, const double *dy, const double *ctrue, grad_out *o)
{
    size_t B = (size_t)p->B, n = p->n, nA = cnt(p, DOPT_ILP_SHARE_A, (size_t)p->m * p->n),
           nb = cnt(p, DOPT_ILP_SHARE_B, p->m), nc = cnt(p, DOPT_ILP_SHARE_C, p->n);
    tc_buf c = tc_buf_in(p->c, nc, f32), A = tc_buf_in(p->A, nA, f32), b = tc_buf_in(p->b, nb, f32);
    tc_buf lb = tc_buf_in(p->lb, cnt(p, DOPT_ILP_SHARE_LB, p->n), f32), ub = tc_buf_in(p->ub, cnt(p, DOPT_ILP_SHARE_UB, p->n), f32);
    dopt_ilp_problem P = {p->B, p->n, p->m, f32 ? DOPT_FLOAT32 : DOPT_FLOAT64, c.dev, A.dev, b.dev, lb.dev, ub.dev,
                          p->shared};
    tc_buf y = tb_out(B * n, f32);
    int32_t *st = (int32_t *)tu_dev_out(o->status, 4 * B);
    dopt_ilp_solution S = {y.dev, NULL, NULL, st, NULL};
    CHECK_OK(dopt_ilp_solve(tu_ctx, &P, NULL, &S));
    tu_host(o->status, st, 4 * B);
    tu_host(y.host, y.dev, (f32 ? 4 : 8) * B * n);
    tc_from_dtype(o->y, y.host, B * n, f32);
    tc_buf d = tc_buf_in(dy, B * n, f32);
    dopt_ilp_method methods[4] = {DOPT_ILP_COMBOPT, DOPT_ILP_DBB, DOPT_ILP_PERTURBED, DOPT_ILP_IDENTITY};
    dopt_ilp_grad_options g;
    for (int k = 0; k < 4; ++k) {
        dopt_ilp_grad_options_default(&g);
        g.method = methods[k];
        g.seed = 23;
        tc_buf gA = tb_out(nA, f32), gb = tb_out(nb, f32), gc = tb_out(nc, f32);
        CHECK_OK(dopt_ilp_backward(tu_ctx, &P, NULL, &g, y.dev, st, d.dev, gA.dev, gb.dev, gc.dev));
        tc_buf_done(&gA, o->dA[k]), tc_buf_done(&gb, o->db[k]), tc_buf_done(&gc, o->dc[k]);
    }
    dopt_ilp_grad_options_default(&g);
    g.seed = 29;
    tc_buf ye = tb_out(B * n, f32);
    CHECK_OK(dopt_ilp_perturbed(tu_ctx, &P, NULL, &g, ye.dev));
    tc_buf_done(&ye, o->y_eps);
    tc_buf ct = tc_buf_in(ctrue, nc, f32), sl = tb_out(B, f32), sd = tb_out(nc, f32);
    CHECK_OK(dopt_ilp_spo_plus(tu_ctx, &P, NULL, ct.dev, NULL, sl.dev, sd.dev));
    tc_buf_done(&ct, NULL), tc_buf_done(&sl, o->spo_loss), tc_buf_done(&sd, o->spo_dc);
    tu_dev_free(o->status, st);
    tc_buf_done(&y, NULL), tc_buf_done(&d, NULL);
    tc_buf_done(&c, NULL), tc_buf_done(&A, NULL), tc_buf_done(&b, NULL), tc_buf_done(&lb, NULL), tc_buf_done(&ub, NULL);
}

static grad_out grad_out_alloc(const gprob *p)
{
    size_t B = (size_t)p->B, n = p->n;
    size_t nA = cnt(p, DOPT_ILP_SHARE_A, (size_t)p->m * p->n) + 1, nb = cnt(p, DOPT_ILP_SHARE_B, p->m) + 1,
           nc = cnt(p, DOPT_ILP_SHARE_C, p->n);
    grad_out o;
    o.y = calloc(B * n, 8), o.y_eps = calloc(B * n, 8), o.spo_loss = calloc(B, 8), o.spo_dc = calloc(nc, 8);
    o.status = calloc(B, 4);
    for (int k = 0; k < 4; ++k) o.dA[k] = calloc(nA, 8), o.db[k] = calloc(nb, 8), o.dc[k] = calloc(nc, 8);
    return o;
}

static void grad_out_free(grad_out *o)
{
    free(o->y), free(o->y_eps), free(o->spo_loss), free(o->spo_dc), free(o->status);
    for (int k = 0; k < 4; ++k) free(o->dA[k]), free(o->db[k]), free(o->dc[k]);
}

/* The suite here and on the CPU backend: statuses and y exactly (random
 * continuous costs: a unique optimum with probability 1), gradients, y_eps
 * and SPO+ within 1e-9 (float64) / 1e-5 (float32) of (1 + |cpu|). */
static void grad_compare(const char *what, const gprob *p, int f32)
{
    size_t B = (size_t)p->B, n = p->n, nA = cnt(p, DOPT_ILP_SHARE_A, (size_t)p->m * p->n),
           nb = cnt(p, DOPT_ILP_SHARE_B, p->m), nc = cnt(p, DOPT_ILP_SHARE_C, p->n);
    double *dy = malloc(8 * B * n), *ctrue = malloc(8 * nc);
    tu_seed(97);
    for (size_t e = 0; e < B * n; ++e) dy[e] = tu_normal();
    for (size_t e = 0; e < nc; ++e) ctrue[e] = p->c[e] + tu_normal();
    grad_out g = grad_out_alloc(p), c = grad_out_alloc(p);
    grad_suite(p, f32, dy, ctrue, &g);
    TC_ON_CPU(grad_suite(p, f32, dy, ctrue, &c));
    double tol = f32 ? 1e-5 : 1e-9;
    const char *mn[4] = {"combopt", "dbb", "perturbed", "identity"};
    char name[160];
    snprintf(name, sizeof name, "%s: status", what), tc_same_i32(name, g.status, c.status, B);
    snprintf(name, sizeof name, "%s: y", what), tc_close(name, g.y, c.y, B * n, 0);
    for (int k = 0; k < 4; ++k) {
        snprintf(name, sizeof name, "%s: %s dA", what, mn[k]), tc_close(name, g.dA[k], c.dA[k], nA, tol);
        snprintf(name, sizeof name, "%s: %s db", what, mn[k]), tc_close(name, g.db[k], c.db[k], nb, tol);
        snprintf(name, sizeof name, "%s: %s dc", what, mn[k]), tc_close(name, g.dc[k], c.dc[k], nc, tol);
    }
    snprintf(name, sizeof name, "%s: y_eps", what), tc_close(name, g.y_eps, c.y_eps, B * n, tol);
    snprintf(name, sizeof name, "%s: SPO+ loss", what), tc_close(name, g.spo_loss, c.spo_loss, B, tol);
    snprintf(name, sizeof name, "%s: SPO+ dc", what), tc_close(name, g.spo_dc, c.spo_dc, nc, tol);
    size_t nonzero = 0;
    for (size_t e = 0; e < nc; ++e) nonzero += c.dc[0][e] != 0;
    CHECK(nonzero > 0, "%s: CombOptNet dc is all zero, nothing compared", what);
    grad_out_free(&g), grad_out_free(&c);
    free(dy), free(ctrue);
}

/* Every CUDA path of the layer (solve, gradient rows, reductions, per
 * instance and shared) against the CPU backend: float64 and float32, a
 * non-default stream, device 1. */
static void test_cuda_matches_cpu(void)
{
    if (!tu_cuda()) return;
    gprob p = random_binary(64, 8, 4, 91);
    grad_compare("f64", &p, 0);
    grad_compare("f32", &p, 1);
    p.shared = DOPT_ILP_SHARE_A | DOPT_ILP_SHARE_B; /* instance 0's A and b for all: batch-sum gradients */
    grad_compare("f64 shared A, b", &p, 0);
    p.shared = 0;
    void *stream = tc_stream_create();
    CHECK(stream != NULL, "could not create a CUDA stream");
    if (stream) {
        CHECK_OK(dopt_context_set_cuda_stream(tu_ctx, stream));
        grad_compare("f64 on a stream", &p, 0);
        CHECK_OK(dopt_context_set_cuda_stream(tu_ctx, NULL));
        tc_stream_destroy(stream);
    }
    if (tc_use_device(1)) {
        CHECK_OK(dopt_context_set_cuda_device(tu_ctx, 1));
        grad_compare("f64 on device 1", &p, 0);
        CHECK_OK(dopt_context_set_cuda_device(tu_ctx, 0));
        tc_use_device(0);
    } else {
        printf("device != 0: skipped (fewer than two CUDA devices)\n");
    }
    gfree(&p);
    tc_release();
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    test_decomposition();
    test_mismatch_fd();
    test_softmin_limit();
    test_descent();
    test_dbb_identity_shared();
    test_perturbed();
    test_spo();
    test_origin();
    test_nonfinite_dy();
    test_dbb_overflow();
    test_absent_row_grad();
    if (!tu_cuda()) test_bad_grad_input();
    test_cuda_matches_cpu();
    return tu_finish("test_ilp_grad");
}
