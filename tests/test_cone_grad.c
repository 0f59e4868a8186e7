/* The cone layer's backward pass: every gradient (dc, dG, dh, dA, db) of a
 * random linear loss in x, s, z, y against central differences of the
 * forward pass, on non-degenerate instances (built around strictly
 * complementary optima, tests/cone_harness.h), float64; shared parameters'
 * gradients against the sum of the per-instance ones; unsolved instances
 * contribute zero; repeated backward passes agree. */
#include "cone_harness.h"

typedef struct {
    double *wx, *ws, *wz, *wy;
} weights;

static double loss_of(const ch_shape *sh, const weights *w, int64_t i, const double *x, const double *s,
                      const double *z, const double *y)
{
    int n = sh->n, m = sh->m, k = sh->k;
    return ch_dot(n, w->wx + i * n, x) + ch_dot(m, w->ws + i * m, s) + ch_dot(m, w->wz + i * m, z) +
           ch_dot(k, w->wy + i * k, y);
}

/* The loss of instance i of bt with one entry of one of its parameters moved by d. */
static double loss_moved(const ch_batch *bt, const weights *w, int64_t i, double *entry, double d)
{
    const ch_shape *sh = &bt->sh;
    size_t n = sh->n, m = sh->m, k = sh->k;
    ch_batch one;
    ch_batch_alloc(&one, sh, 1);
    double keep = *entry;
    *entry = keep + d;
    memcpy(one.c, bt->c + i * n, n * 8);
    memcpy(one.G, bt->G + i * m * n, m * n * 8);
    memcpy(one.h, bt->h + i * m, m * 8);
    memcpy(one.A, bt->A + i * k * n, k * n * 8);
    memcpy(one.b, bt->b + i * k, k * 8);
    *entry = keep;
    dopt_cone_options o = {1e-10, 0, 0, 0};
    CHECK_OK(ch_solve(&one, &o));
    CHECK(one.status[0] == 0, "moved instance: status %d", one.status[0]);
    double L = loss_of(sh, w, i, one.x, one.s, one.z, one.y);
    ch_batch_free(&one);
    return L;
}

/* Solve + backward through the backend; gradients into host arrays (each B x size). */
static void backward(const ch_batch *bt, unsigned shared, const weights *w, double *dc, double *dG, double *dh,
                     double *dA, double *db, int passes)
{
    const ch_shape *sh = &bt->sh;
    size_t B = bt->B, n = sh->n, m = sh->m, k = sh->k, d = 8;
    size_t Bc = (shared & DOPT_CONE_SHARE_C) ? 1 : B, BG = (shared & DOPT_CONE_SHARE_G) ? 1 : B,
           Bh = (shared & DOPT_CONE_SHARE_H) ? 1 : B, BA = (shared & DOPT_CONE_SHARE_A) ? 1 : B,
           Bb = (shared & DOPT_CONE_SHARE_B) ? 1 : B;
    dopt_cone_problem P = {0};
    P.batch = bt->B;
    P.n = sh->n;
    P.k = sh->k;
    P.cones = ch_dims(sh);
    P.dtype = DOPT_FLOAT64;
    P.shared = shared;
    P.c = ch_dev(bt->c, Bc * n * d);
    P.G = ch_dev(bt->G, BG * m * n * d);
    P.h = ch_dev(bt->h, Bh * m * d);
    P.A = ch_dev(bt->A, BA * k * n * d);
    P.b = ch_dev(bt->b, Bb * k * d);
    dopt_cone_solution sol = {ch_dev(NULL, B * n * d), ch_dev(NULL, B * m * d), ch_dev(NULL, B * m * d),
                              ch_dev(NULL, B * k * d), ch_dev(NULL, B * 4), NULL};
    dopt_cone_options o = {1e-10, 0, 0, 0};
    dopt_cone_tape *tape = NULL;
    CHECK_OK(dopt_cone_solve(tu_ctx, &P, &o, &sol, &tape));
    dopt_cone_grad_in gin = {ch_dev(w->wx, B * n * d), ch_dev(w->ws, B * m * d), ch_dev(w->wz, B * m * d),
                             ch_dev(w->wy, B * k * d)};
    dopt_cone_grad_out go = {ch_dev(NULL, Bc * n * d), ch_dev(NULL, BG * m * n * d), ch_dev(NULL, Bh * m * d),
                             ch_dev(NULL, BA * k * n * d), ch_dev(NULL, Bb * k * d)};
    double *first = malloc(BG * m * n * d + 8);
    for (int p = 0; p < passes; ++p) {
        CHECK_OK(dopt_cone_backward(tu_ctx, tape, &gin, &go));
        ch_get(dc, go.dc, Bc * n * d);
        ch_get(dG, go.dG, BG * m * n * d);
        ch_get(dh, go.dh, Bh * m * d);
        ch_get(dA, go.dA, BA * k * n * d);
        ch_get(db, go.db, Bb * k * d);
        if (p == 0)
            memcpy(first, dG, BG * m * n * d);
        else
            CHECK(!memcmp(first, dG, BG * m * n * d), "a second backward pass differs");
    }
    free(first);
    dopt_cone_tape_destroy(tape);
    void *bufs[] = {(void *)P.c, (void *)P.G, (void *)P.h, (void *)P.A, (void *)P.b, sol.x, sol.s, sol.z, sol.y,
                    sol.status, (void *)gin.dx, (void *)gin.ds, (void *)gin.dz, (void *)gin.dy, go.dc, go.dG, go.dh,
                    go.dA, go.db};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; ++i) ch_free(bufs[i]);
}

static void random_weights(const ch_shape *sh, int64_t B, weights *w, int use_dual)
{
    size_t n = sh->n, m = sh->m, k = sh->k;
    w->wx = malloc(B * n * 8);
    w->ws = calloc(B * m + 1, 8);
    w->wz = calloc(B * m + 1, 8);
    w->wy = calloc(B * k + 1, 8);
    for (size_t i = 0; i < B * n; ++i) w->wx[i] = ch_normal();
    if (use_dual) {
        for (size_t i = 0; i < B * m; ++i) w->ws[i] = ch_normal(), w->wz[i] = ch_normal();
        for (size_t i = 0; i < B * k; ++i) w->wy[i] = ch_normal();
    }
}

static void free_weights(weights *w)
{
    free(w->wx), free(w->ws), free(w->wz), free(w->wy);
}

/* Central differences with step 1e-5 against the analytic gradients.
 * The bound: on the instances ch_random_nondegenerate accepts, the
 * forward's x and z are accurate to 1e-8 (1e-7 with a PSD block); the
 * analytic gradient, evaluated at that point, carries that error times the
 * conditioning of the backward's matrix, and the difference quotient its
 * O(eps^2) truncation plus the forward's noise over eps (smaller: nearby
 * solves follow the same path). 1e-5 (1 + |g|), 5e-5 (1 + |g|) with a PSD
 * block, leaves room for both and still catches any wrong term (those
 * are O(1), as the first versions of this test showed). */
static double worst_rel = 0;
static void check_entries(const char *what, const ch_batch *bt, const weights *w, int64_t i, double *base,
                          const double *grad, size_t len)
{
    const double bound = bt->sh.ns ? 5e-5 : 1e-5;
    const double eps = 1e-5;
    for (size_t e = 0; e < len; ++e) {
        double fd = (loss_moved(bt, w, i, base + e, eps) - loss_moved(bt, w, i, base + e, -eps)) / (2 * eps);
        double err = fabs(fd - grad[e]) / (1 + fabs(grad[e]));
        if (err > worst_rel) worst_rel = err;
        CHECK(err <= bound, "%s[%zu] of instance %lld: analytic %.10g, central difference %.10g", what, e,
              (long long)i, grad[e], fd);
    }
}

static void test_fd(ch_shape sh, int use_dual)
{
    ch_fill_m(&sh);
    int64_t B = 2;
    size_t n = sh.n, m = sh.m, k = sh.k;
    ch_batch bt;
    ch_batch_alloc(&bt, &sh, B);
    for (int64_t i = 0; i < B; ++i)
        CHECK(ch_random_nondegenerate(&sh, 0, bt.c + i * n, bt.G + i * m * n, bt.h + i * m, bt.A + i * k * n,
                                      bt.b + i * k),
              "no non-degenerate instance drawn");
    weights w;
    random_weights(&sh, B, &w, use_dual);
    double *dc = malloc(B * n * 8), *dG = malloc(B * m * n * 8), *dh = malloc(B * m * 8),
           *dA = malloc(B * k * n * 8 + 8), *db = malloc(B * k * 8 + 8);
    backward(&bt, 0, &w, dc, dG, dh, dA, db, 2);
    for (int64_t i = 0; i < B; ++i) {
        check_entries("dc", &bt, &w, i, bt.c + i * n, dc + i * n, n);
        check_entries("dG", &bt, &w, i, bt.G + i * m * n, dG + i * m * n, m * n);
        check_entries("dh", &bt, &w, i, bt.h + i * m, dh + i * m, m);
        check_entries("dA", &bt, &w, i, bt.A + i * k * n, dA + i * k * n, k * n);
        check_entries("db", &bt, &w, i, bt.b + i * k, db + i * k, k);
    }
    free(dc), free(dG), free(dh), free(dA), free(db);
    free_weights(&w);
    ch_batch_free(&bt);
}

/* shared G and A: their gradients are the sums of the per-instance ones */
static void test_shared_sum(void)
{
    ch_shape sh = {.n = 4, .k = 1, .l = 2, .nq = 1, .q = {3}, .ns = 1, .s = {2}};
    ch_fill_m(&sh);
    int64_t B = 3;
    size_t n = sh.n, m = sh.m, k = sh.k;
    ch_batch bt;
    ch_batch_alloc(&bt, &sh, B);
    ch_random_strict(&sh, 0, bt.c, bt.G, bt.h, bt.A, bt.b, NULL);
    for (int64_t i = 1; i < B; ++i) {
        memcpy(bt.G + i * m * n, bt.G, m * n * 8);
        memcpy(bt.A + i * k * n, bt.A, k * n * 8);
        ch_random_strict(&sh, 1, bt.c + i * n, bt.G + i * m * n, bt.h + i * m, bt.A + i * k * n, bt.b + i * k, NULL);
    }
    weights w;
    random_weights(&sh, B, &w, 1);
    double *dc = malloc(B * n * 8), *dG = malloc(B * m * n * 8), *dh = malloc(B * m * 8), *dA = malloc(B * k * n * 8),
           *db = malloc(B * k * 8);
    double *sc = malloc(B * n * 8), *sG = malloc(m * n * 8), *sh_ = malloc(B * m * 8), *sA = malloc(k * n * 8),
           *sb = malloc(B * k * 8);
    backward(&bt, 0, &w, dc, dG, dh, dA, db, 1);
    backward(&bt, DOPT_CONE_SHARE_G | DOPT_CONE_SHARE_A, &w, sc, sG, sh_, sA, sb, 1);
    double err = 0;
    for (size_t e = 0; e < m * n; ++e) {
        double sum = 0;
        for (int64_t i = 0; i < B; ++i) sum += dG[i * m * n + e];
        err = fmax(err, fabs(sum - sG[e]) / (1 + fabs(sum)));
    }
    for (size_t e = 0; e < k * n; ++e) {
        double sum = 0;
        for (int64_t i = 0; i < B; ++i) sum += dA[i * k * n + e];
        err = fmax(err, fabs(sum - sA[e]) / (1 + fabs(sum)));
    }
    CHECK(err < 1e-12, "shared G, A: gradients differ from the per-instance sums by %g", err);
    CHECK(!memcmp(dc, sc, B * n * 8) && !memcmp(dh, sh_, B * m * 8), "per-instance c, h: gradients differ");
    free(dc), free(dG), free(dh), free(dA), free(db), free(sc), free(sG), free(sh_), free(sA), free(sb);
    free_weights(&w);
    ch_batch_free(&bt);
}

/* an unsolved instance (NaN data) contributes zero gradients; the others
 * are as in a batch without it */
static void test_unsolved_zero(void)
{
    ch_shape sh = {.n = 3, .k = 0, .l = 1, .nq = 1, .q = {3}};
    ch_fill_m(&sh);
    int64_t B = 2;
    size_t n = sh.n, m = sh.m;
    ch_batch bt;
    ch_batch_alloc(&bt, &sh, B);
    for (int64_t i = 0; i < B; ++i)
        ch_random_strict(&sh, 0, bt.c + i * n, bt.G + i * m * n, bt.h + i * m, bt.A, bt.b, NULL);
    bt.h[m + 1] = NAN;
    weights w;
    random_weights(&sh, B, &w, 1);
    double dc[8], dG[64], dh[16], dA[1], db[1];
    backward(&bt, 0, &w, dc, dG, dh, dA, db, 1);
    int zero = 1;
    for (size_t e = 0; e < n; ++e) zero &= dc[n + e] == 0;
    for (size_t e = 0; e < m * n; ++e) zero &= dG[m * n + e] == 0;
    for (size_t e = 0; e < m; ++e) zero &= dh[m + e] == 0;
    CHECK(zero, "the invalid instance's gradients are not zero");
    double nz = 0;
    for (size_t e = 0; e < n; ++e) nz += fabs(dc[e]);
    CHECK(nz > 0, "the valid instance's gradient is zero");
    free_weights(&w);
    ch_batch_free(&bt);
}

/* t = lambda_max(M) = min t s.t. t I - M PSD (h = -svec(M), G = -svec(I)):
 * dt/dsvec(M) = svec-dual of v v' (v the top eigenvector): v_i^2 on the
 * diagonal, sqrt(2) v_i v_j off it; so dL/dh = -that for L = t. A closed
 * form for the PSD projection's Jacobian on a rank-deficient face. */
static void test_lambda_max_gradient(void)
{
    ch_shape sh = {.n = 1, .ns = 1, .s = {3}};
    ch_fill_m(&sh);
    ch_batch bt;
    ch_batch_alloc(&bt, &sh, 1);
    double M[9] = {2, 1, 0, 1, 3, 1, 0, 1, 4}; /* eigenvalues 3 - sqrt 3, 3, 3 + sqrt 3: simple top */
    bt.c[0] = 1;
    for (int j = 0; j < 3; ++j)
        for (int i = j; i < 3; ++i) {
            int r = ch_svec_index(3, i, j);
            bt.G[r] = i == j ? -1 : 0;
            bt.h[r] = -M[i * 3 + j] * (i == j ? 1 : sqrt(2.0));
        }
    /* top eigenvector of M: (1, 1 + sqrt 3, 2 + sqrt 3) normalized (M v = (3 + sqrt 3) v) */
    double v[3] = {1, 1 + sqrt(3.0), 2 + sqrt(3.0)}, nv = 0;
    for (int i = 0; i < 3; ++i) nv += v[i] * v[i];
    for (int i = 0; i < 3; ++i) v[i] /= sqrt(nv);
    weights w;
    random_weights(&sh, 1, &w, 0);
    w.wx[0] = 1;
    double dc[1], dG[6], dh[6], dA[1], db[1];
    backward(&bt, 0, &w, dc, dG, dh, dA, db, 1);
    double err = 0;
    for (int j = 0; j < 3; ++j)
        for (int i = j; i < 3; ++i) {
            double want = -(i == j ? v[i] * v[i] : sqrt(2.0) * v[i] * v[j]);
            err = fmax(err, fabs(dh[ch_svec_index(3, i, j)] - want));
        }
    CHECK(err < 1e-7, "lambda_max: dL/dh differs from -svec(v v') by %g", err);
    CHECK(fabs(dc[0]) < 1e-7, "lambda_max: dL/dc = %g (x does not depend on c)", dc[0]);
    free_weights(&w);
    ch_batch_free(&bt);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    ch_shape shapes[] = {
        {.n = 3, .k = 1, .l = 4},
        {.n = 4, .k = 0, .nq = 2, .q = {3, 4}},
        {.n = 4, .k = 1, .ns = 1, .s = {3}},
        {.n = 5, .k = 1, .l = 2, .nq = 1, .q = {3}, .ns = 1, .s = {2}},
    };
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; ++t) {
        int before = tu_failures;
        test_fd(shapes[t], 0); /* dL/dx only */
        test_fd(shapes[t], 1); /* and dL/ds, dL/dz, dL/dy */
        printf("shape %zu: %d failures\n", t, tu_failures - before);
    }
    printf("worst relative gradient error %.3g\n", worst_rel);
    test_shared_sum();
    test_unsolved_zero();
    test_lambda_max_gradient();
    return tu_finish("test_cone_grad");
}
