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

/* The float32 solve (x, status) and the gradient dp of sum(x) of P, whose
 * arrays are on the host, on a fresh CPU context. */
static void cpu_reference_f32(const dopt_qp_problem *P, float *x, int32_t *st, float *dp)
{
    dopt_context *cpu = NULL;
    if (dopt_context_create(&cpu, DOPT_BACKEND_CPU) != DOPT_OK) {
        CHECK(0, "cannot create the CPU reference context");
        dopt_context_destroy(cpu);
        return;
    }
    size_t b = (size_t)P->batch, n = (size_t)P->n;
    float *lam = (float *)calloc(b * P->m + 1, sizeof(float)), *nu = (float *)calloc(b * P->k + 1, sizeof(float));
    float *w = (float *)malloc(sizeof(float) * b * n);
    for (size_t j = 0; j < b * n; ++j) w[j] = 1;
    dopt_qp_solution s = {x, lam, nu, st, NULL};
    dopt_qp_tape *tape = NULL;
    CHECK(dopt_qp_solve(cpu, P, NULL, &s, &tape) == DOPT_OK, "CPU reference: %s", dopt_context_last_error(cpu));
    dopt_qp_grad_in gin = {w, NULL, NULL};
    dopt_qp_grad_out gout = {NULL, dp, NULL, NULL, NULL, NULL};
    CHECK(dopt_qp_backward(cpu, tape, &gin, &gout) == DOPT_OK, "CPU reference: %s", dopt_context_last_error(cpu));
    dopt_qp_tape_destroy(tape);
    dopt_context_destroy(cpu);
    free(lam), free(nu), free(w);
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
        /* a float32 floor at the tolerance ends as reduced accuracy: still a
         * solution, checked by the bounds below */
        unsolved += st[i] != DOPT_SOLVED && st[i] != DOPT_SOLVED_REDUCED_ACCURACY;
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

    /* The float32 result against the CPU backend's: bitwise on the CPU (same
     * arithmetic); on CUDA (fused multiply-adds, and on the large-n path
     * cuBLAS/cuSOLVER's summation order) each x is within 3e-2 of the
     * optimum and each gradient within 3e-2 of the float64 one (the bounds
     * above), so the two are within twice those of each other. */
    {
        dopt_qp_problem Ph = P;
        Ph.Q = fh[0], Ph.p = fh[1], Ph.G = m ? fh[2] : NULL, Ph.h = m ? fh[3] : NULL, Ph.A = k ? fh[4] : NULL,
        Ph.b = k ? fh[5] : NULL;
        float *xr = (float *)calloc(b * n, sizeof(float)), *dpr = (float *)calloc(b * n, sizeof(float));
        int32_t *str = (int32_t *)calloc(b, sizeof(int32_t));
        cpu_reference_f32(&Ph, xr, str, dpr);
        if (!tu_cuda()) {
            CHECK(!memcmp(x, xr, sizeof(float) * b * n) && !memcmp(st, str, sizeof(int32_t) * b) &&
                      !memcmp(dp32, dpr, sizeof(float) * b * n),
                  "n=%d m=%d k=%d: float32 results differ between two CPU contexts", n, m, k);
        } else {
            double ex = 0, gn = 0, gd = 0;
            for (size_t j = 0; j < b * n; ++j) {
                double v = fabs((double)x[j] - xr[j]);
                if (v > ex) ex = v;
                gn += ((double)dp32[j] - dpr[j]) * ((double)dp32[j] - dpr[j]);
                gd += (double)dpr[j] * dpr[j];
            }
            CHECK(!memcmp(st, str, sizeof(int32_t) * b), "n=%d m=%d k=%d: float32 statuses differ from the CPU's", n, m,
                  k);
            CHECK(ex <= 6e-2, "n=%d m=%d k=%d: float32 max |x - x_cpu| = %.3e", n, m, k, ex);
            CHECK(sqrt(gn / gd) <= 6e-2, "n=%d m=%d k=%d: float32 gradient vs the CPU's: relative %.3e", n, m, k,
                  sqrt(gn / gd));
        }
        free(xr), free(dpr), free(str);
    }

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
    /* the CUDA backend's large-n path with m = 0, with k = 0, and both */
    check_size(64, 0, 16, 10, 5);
    check_size(66, 40, 0, 10, 6);
    check_size(65, 0, 0, 10, 7);
    return tu_finish("test_qp_f32");
}
