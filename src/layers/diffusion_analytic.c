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
    double s1;      /* sqrt(1 - abar) */
    double *work;   /* per worker: n (K + 1) + K doubles, allocated before the loop */
} mix_job;

static size_t mix_work(int n, int K) { return (size_t)n * (K + 1) + (size_t)K; }

static void mix_range(void *arg, int64_t r0, int64_t r1, int worker)
{
    mix_job *j = (mix_job *)arg;
    int n = j->n, K = j->K;
    double *y = j->work + (size_t)worker * mix_work(n, K), *lp = y + (size_t)n * (K + 1);
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
}

dopt_status dopt_diffusion_mixture_eps(dopt_context *ctx, int32_t n, int32_t K, const double *w, const double *means,
                                       const double *covs, double abar, int64_t rows, const double *x, double *eps)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    if (n < 1 || K < 1 || !w || !means || !covs || !(abar > 0 && abar <= 1) || rows < 0 || (rows > 0 && (!x || !eps)))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "mixture eps: bad arguments");
    double wsum = 0;
    for (int k = 0; k < K; ++k) {
        if (!(w[k] >= 0 && w[k] < INFINITY))
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "mixture eps: weight %d is %g (must be finite and >= 0)",
                             k, w[k]);
        wsum += w[k];
    }
    if (!(wsum > 0)) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "mixture eps: weights sum to 0");
    /* the target must be finite and each covariance symmetric: a NaN would
     * turn every sample into NaN, and only one triangle would be used */
    for (size_t e = 0; e < (size_t)K * n; ++e)
        if (!isfinite(means[e]))
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "mixture eps: mean %d has a non-finite entry (%g)",
                             (int)(e / (size_t)n), means[e]);
    for (int k = 0; k < K; ++k) {
        const double *S = covs + (size_t)k * n * n;
        double smax = 0;
        for (size_t e = 0; e < (size_t)n * n; ++e) {
            if (!isfinite(S[e]))
                return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                                 "mixture eps: covariance %d has a non-finite entry (%g)", k, S[e]);
            smax = fmax(smax, fabs(S[e]));
        }
        for (int a = 0; a < n; ++a)
            for (int b = 0; b < a; ++b)
                if (fabs(S[a * n + b] - S[b * n + a]) > 1e-9 * smax)
                    return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                                     "mixture eps: covariance %d is not symmetric ([%d, %d] = %g, [%d, %d] = %g)", k, a,
                                     b, S[a * n + b], b, a, S[b * n + a]);
    }
    mix_job j;
    j.n = n, j.K = K, j.w = w, j.m = means, j.x = x, j.eps = eps;
    j.sa = sqrt(abar), j.s1 = sqrt(1 - abar);
    int workers = dopt_worker_count(ctx->threads, rows, 256);
    j.U = malloc(sizeof(double) * (size_t)K * n * n);
    j.logdet = malloc(sizeof(double) * K);
    j.work = malloc(sizeof(double) * mix_work(n, K) * (size_t)(workers > 0 ? workers : 1));
    if (!j.U || !j.logdet || !j.work) {
        free(j.U), free(j.logdet), free(j.work);
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "mixture eps: out of memory");
    }
    for (int k = 0; k < K; ++k) {
        double *U = j.U + (size_t)k * n * n;
        for (int a = 0; a < n; ++a)
            for (int b = 0; b < n; ++b)
                U[a * n + b] = abar * covs[((size_t)k * n + a) * n + b] + (a == b ? 1 - abar : 0);
        if (la_cholesky_d(n, U) != 0) {
            free(j.U), free(j.logdet), free(j.work);
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                             "mixture eps: covariance %d is not positive semidefinite (abar cov + (1 - abar) I "
                             "has no Cholesky factor at abar = %g)",
                             k, abar);
        }
        double ld = 0;
        for (int a = 0; a < n; ++a) ld += 2 * log(U[a * n + a]);
        j.logdet[k] = ld;
    }
    dopt_parallel_for(ctx, workers, rows, 256, mix_range, &j);
    free(j.U), free(j.logdet), free(j.work);
    return DOPT_OK;
}
