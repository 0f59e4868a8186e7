/* The float32 path against the float64 path on the same instances: status,
 * solution and gradients. Bounds follow from float32's default tolerance
 * 1e-4: a gap of tol bounds |x - x*| by sqrt(tol * cond) (cond = 10 here, so
 * 3e-2); the typical error is far smaller and is checked on the median. */
#include "qp_harness.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void *to_float(const double *src, size_t count)
{
    float *f = (float *)malloc(sizeof(float) * (count ? count : 1));
    for (size_t i = 0; i < count; ++i) f[i] = (float)src[i];
    return f;
}

static void check_size(int n, int m, int k, int64_t B, uint64_t seed)
{
    tq_data d = tq_gen(B, n, m, k, DOPT_GEN_STRICTLY_CONVEX, 10, seed);
    tq_stage(&d);
    tq_out o = tq_out_alloc(&d);
    dopt_qp_tape *t64 = NULL, *t32 = NULL;
    CHECK_OK(tq_solve(&d, NULL, &o, &t64));

    size_t b = (size_t)B;
    void *fh[6] = {to_float(d.Q, b * n * n), to_float(d.p, b * n), to_float(d.G, b * m * n),
                   to_float(d.h, b * m),     to_float(d.A, b * k * n), to_float(d.b, b * k)};
    size_t fl[6] = {b * n * n, b * n, b * m * n, b * m, b * k * n, b * k};
    void *fd[6];
    for (int t = 0; t < 6; ++t) fd[t] = tu_dev(fh[t], sizeof(float) * fl[t]);
    dopt_qp_problem P = tq_problem(&d);
    P.dtype = DOPT_FLOAT32;
    P.Q = fd[0], P.p = fd[1], P.G = m ? fd[2] : NULL, P.h = m ? fd[3] : NULL, P.A = k ? fd[4] : NULL,
    P.b = k ? fd[5] : NULL;
    float *x = (float *)calloc(b * n, sizeof(float)), *lam = (float *)calloc(b * m + 1, sizeof(float)),
          *nu = (float *)calloc(b * k + 1, sizeof(float));
    int32_t *st = (int32_t *)calloc(b, sizeof(int32_t));
    dopt_qp_solution s = {tu_dev_out(x, sizeof(float) * b * n), tu_dev_out(lam, sizeof(float) * b * m),
                          tu_dev_out(nu, sizeof(float) * b * k), (int32_t *)tu_dev_out(st, sizeof(int32_t) * b), NULL};
    CHECK_OK(dopt_qp_solve(tu_ctx, &P, NULL, &s, &t32));
    tu_host(x, s.x, sizeof(float) * b * n);
    tu_host(st, s.status, sizeof(int32_t) * b);
    double *err = tq_alloc(b);
    int unsolved = 0;
    for (size_t i = 0; i < b; ++i) {
        unsolved += st[i] != DOPT_SOLVED;
        double e = 0;
        for (int j = 0; j < n; ++j) {
            double v = fabs((double)x[i * n + j] - o.x[i * n + j]);
            if (v > e) e = v;
        }
        err[i] = e;
    }
    qsort(err, b, sizeof(double), cmp_double);
    CHECK(unsolved == 0, "n=%d: %d float32 instances not solved", n, unsolved);
    CHECK(err[b - 1] < 3e-2, "n=%d m=%d k=%d: worst float32 error %.3e", n, m, k, err[b - 1]);
    CHECK(err[b / 2] < 1e-3, "n=%d m=%d k=%d: median float32 error %.3e", n, m, k, err[b / 2]);

    /* gradients of sum(x): float32 vs float64, relative to the gradient's norm */
    double *w64 = tq_alloc(b * n), *dp64 = tq_alloc(b * n);
    float *w32 = (float *)malloc(sizeof(float) * b * n), *dp32 = (float *)malloc(sizeof(float) * b * n);
    for (size_t j = 0; j < b * n; ++j) w64[j] = 1, w32[j] = 1;
    void *w64d = tu_dev(w64, sizeof(double) * b * n), *w32d = tu_dev(w32, sizeof(float) * b * n);
    void *dp64d = tu_dev_out(dp64, sizeof(double) * b * n), *dp32d = tu_dev_out(dp32, sizeof(float) * b * n);
    dopt_qp_grad_in g64 = {w64d, NULL, NULL}, g32 = {w32d, NULL, NULL};
    dopt_qp_grad_out o64 = {NULL, dp64d, NULL, NULL, NULL, NULL}, o32 = {NULL, dp32d, NULL, NULL, NULL, NULL};
    CHECK_OK(dopt_qp_backward(tu_ctx, t64, &g64, &o64));
    CHECK_OK(dopt_qp_backward(tu_ctx, t32, &g32, &o32));
    tu_host(dp64, dp64d, sizeof(double) * b * n);
    tu_host(dp32, dp32d, sizeof(float) * b * n);
    double num = 0, den = 0;
    for (size_t j = 0; j < b * n; ++j) {
        num += (dp32[j] - dp64[j]) * (dp32[j] - dp64[j]);
        den += dp64[j] * dp64[j];
    }
    /* the gradient is taken at the float32 solution, whose distance to the
     * optimum is bounded by sqrt(tol * cond) = 3e-2 (see above); the
     * gradient's error is of the same order */
    CHECK(sqrt(num / den) < 3e-2, "n=%d: float32 gradient relative error %.3e", n, sqrt(num / den));

    tu_dev_free(w64, w64d), tu_dev_free(w32, w32d), tu_dev_free(dp64, dp64d), tu_dev_free(dp32, dp32d);
    free(w64), free(w32), free(dp64), free(dp32);
    tu_dev_free(x, s.x), tu_dev_free(lam, s.lam), tu_dev_free(nu, s.nu), tu_dev_free(st, s.status);
    for (int t = 0; t < 6; ++t) {
        tu_dev_free(fh[t], fd[t]);
        free(fh[t]);
    }
    free(x), free(lam), free(nu), free(st), free(err);
    dopt_qp_tape_destroy(t64);
    dopt_qp_tape_destroy(t32);
    tq_out_free(&o);
    tq_free(&d);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    check_size(4, 4, 1, 200, 1);
    check_size(8, 8, 2, 200, 2);
    check_size(32, 32, 8, 100, 3);
    check_size(64, 64, 16, 20, 4);
    return tu_finish("test_qp_f32");
}
