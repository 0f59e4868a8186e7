/* Exact noise prediction of a Gaussian-mixture target at any noise level: the
 * "network" of the sampler tests and of `dopt diffuse sample`. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/qp_ipm.h" /* la_cholesky_d and the triangular solves */

typedef struct {
    int n, K;
    const double *w, *m;
    double sa, *U, *logdet; /* per component: Cholesky factor of abar S + (1 - abar) I */
    const double *x;
    double *eps;
    double s1; /* sqrt(1 - abar) */
} mix_job;

static void mix_range(void *arg, int64_t r0, int64_t r1, int worker)
{
    (void)worker;
    mix_job *j = (mix_job *)arg;
    int n = j->n, K = j->K;
    double *y = malloc(sizeof(double) * (size_t)n * (K + 1)), *lp = malloc(sizeof(double) * K);
    if (!y || !lp) {
        free(y), free(lp);
        return;
    }
    for (int64_t r = r0; r < r1; ++r) {
        const double *x = j->x + r * n;
        double mx = -INFINITY;
        for (int k = 0; k < K; ++k) {
            double *yk = y + (size_t)k * n;
            for (int i = 0; i < n; ++i) yk[i] = x[i] - j->sa * j->m[(size_t)k * n + i];
            la_solve_lower_d(n, j->U + (size_t)k * n * n, yk); /* L^-1 (x - mu) */
            double q = la_dot_d(n, yk, yk);
            lp[k] = log(j->w[k]) - 0.5 * q - 0.5 * j->logdet[k];
            if (lp[k] > mx) mx = lp[k];
            la_solve_lower_t_d(n, j->U + (size_t)k * n * n, yk); /* C^-1 (x - mu) */
        }
        double z = 0;
        for (int k = 0; k < K; ++k) z += exp(lp[k] - mx);
        double *e = j->eps + r * n;
        for (int i = 0; i < n; ++i) e[i] = 0;
        for (int k = 0; k < K; ++k) {
            double resp = exp(lp[k] - mx) / z;
            for (int i = 0; i < n; ++i) e[i] += resp * y[(size_t)k * n + i];
        }
        for (int i = 0; i < n; ++i) e[i] *= j->s1; /* eps = -sqrt(1 - abar) score */
    }
    free(y), free(lp);
}

dopt_status dopt_diffusion_mixture_eps(dopt_context *ctx, int32_t n, int32_t K, const double *w, const double *means,
                                       const double *covs, double abar, int64_t rows, const double *x, double *eps)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    if (n < 1 || K < 1 || !w || !means || !covs || !(abar > 0 && abar <= 1) || rows < 0 || (rows > 0 && (!x || !eps)))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "mixture eps: bad arguments");
    double wsum = 0;
    for (int k = 0; k < K; ++k) {
        if (!(w[k] >= 0)) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "mixture eps: weights must be >= 0");
        wsum += w[k];
    }
    if (!(wsum > 0)) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "mixture eps: weights sum to 0");
    mix_job j;
    j.n = n, j.K = K, j.w = w, j.m = means, j.x = x, j.eps = eps;
    j.sa = sqrt(abar), j.s1 = sqrt(1 - abar);
    j.U = malloc(sizeof(double) * (size_t)K * n * n);
    j.logdet = malloc(sizeof(double) * K);
    if (!j.U || !j.logdet) {
        free(j.U), free(j.logdet);
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "mixture eps: out of memory");
    }
    for (int k = 0; k < K; ++k) {
        double *U = j.U + (size_t)k * n * n;
        for (int a = 0; a < n; ++a)
            for (int b = 0; b < n; ++b)
                U[a * n + b] = abar * covs[((size_t)k * n + a) * n + b] + (a == b ? 1 - abar : 0);
        if (la_cholesky_d(n, U) != 0) {
            free(j.U), free(j.logdet);
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "mixture eps: covariance %d is not positive definite", k);
        }
        double ld = 0;
        for (int a = 0; a < n; ++a) ld += 2 * log(U[a * n + a]);
        j.logdet[k] = ld;
    }
    dopt_parallel_for(ctx, dopt_worker_count(ctx->threads, rows, 256), rows, 256, mix_range, &j);
    free(j.U), free(j.logdet);
    return DOPT_OK;
}
