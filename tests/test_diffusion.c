/* Diffusion (SRG) kernels: DDPM and DDIM driven by the exact score of known
 * targets (a Gaussian, a Gaussian mixture, and the 2-D LP toy of SRG's
 * Figure 1 as a mixture concentrated at its optimum) reproduce the target's
 * mean and covariance within error bars; guidance gradients against finite
 * differences; the training target against a direct evaluation; guidance
 * lowering the violation on set cover; determinism; bad input. */
#include "test_util.h"
#include "cpu_compare.h"

/* ---- the calls, tc_buf through device memory on the CUDA backend ---- */

static size_t milp_nnz(const dopt_diffusion_guide *g)
{
    int64_t copies = (g->shared & DOPT_DIFFUSION_SHARE_A) ? 1 : g->batch;
    return (size_t)g->row_ptr[copies * (g->m + 1) - 1];
}

static dopt_diffusion_guide milp_dev(const dopt_diffusion_guide *g)
{
    dopt_diffusion_guide d = *g;
    int64_t ca = (g->shared & DOPT_DIFFUSION_SHARE_A) ? 1 : g->batch, cb = (g->shared & DOPT_DIFFUSION_SHARE_B) ? 1 : g->batch,
            cc = (g->shared & DOPT_DIFFUSION_SHARE_C) ? 1 : g->batch;
    size_t nnz = milp_nnz(g);
    d.row_ptr = tu_dev(g->row_ptr, 8 * (size_t)ca * (g->m + 1));
    d.col_idx = tu_dev(g->col_idx, 4 * nnz);
    d.values = tu_dev(g->values, 8 * nnz);
    d.b = tu_dev(g->b, 8 * (size_t)cb * g->m);
    d.c = tu_dev(g->c, 8 * (size_t)cc * g->n);
    d.xref = g->xref ? tu_dev(g->xref, 8 * (size_t)g->batch * g->n) : NULL;
    return d;
}

static void milp_free(const dopt_diffusion_guide *h, dopt_diffusion_guide *d)
{
    tu_dev_free((void *)h->row_ptr, (void *)d->row_ptr), tu_dev_free((void *)h->col_idx, (void *)d->col_idx);
    tu_dev_free((void *)h->values, (void *)d->values), tu_dev_free((void *)h->b, (void *)d->b);
    tu_dev_free((void *)h->c, (void *)d->c), tu_dev_free((void *)h->xref, (void *)d->xref);
}

static dopt_status t_noise(int64_t rows, int n, const double *x0, double abar, uint64_t seed, uint32_t step, double *xt,
                           double *eps)
{
    size_t by = 8 * (size_t)rows * n;
    void *d0 = tu_dev(x0, by), *dx = tu_dev_out(xt, by), *de = tu_dev_out(eps, by);
    dopt_status s = dopt_diffusion_noise(tu_ctx, rows, n, DOPT_FLOAT64, d0, abar, seed, step, dx, de);
    tu_host(xt, dx, by), tu_host(eps, de, by);
    tu_dev_free((void *)x0, d0), tu_dev_free(xt, dx), tu_dev_free(eps, de);
    return s;
}

static dopt_status t_step(const dopt_diffusion_step_desc *d, int64_t rows, int n, double *x, double *eps,
                          const dopt_diffusion_guide *gb, const dopt_guidance *g)
{
    size_t by = 8 * (size_t)rows * n;
    void *dx = tu_dev(x, by), *de = tu_dev(eps, by);
    dopt_diffusion_guide dg;
    if (gb) dg = milp_dev(gb);
    dopt_status s = dopt_diffusion_step(tu_ctx, d, rows, n, DOPT_FLOAT64, dx, de, gb ? &dg : NULL, g);
    tu_host(x, dx, by), tu_host(eps, de, by);
    tu_dev_free(x, dx), tu_dev_free(eps, de);
    if (gb) milp_free(gb, &dg);
    return s;
}

static dopt_status t_target(const dopt_diffusion_guide *gb, const dopt_guidance *g, const double *xt, const double *eps,
                            double abar, int round, double *tgt)
{
    size_t by = 8 * (size_t)gb->batch * gb->samples * gb->n;
    dopt_diffusion_guide dg = milp_dev(gb);
    void *dx = tu_dev(xt, by), *de = tu_dev(eps, by), *dt = tu_dev_out(tgt, by);
    dopt_status s = dopt_srg_target(tu_ctx, &dg, g, dx, de, abar, round, dt);
    tu_host(tgt, dt, by);
    tu_dev_free((void *)xt, dx), tu_dev_free((void *)eps, de), tu_dev_free(tgt, dt);
    milp_free(gb, &dg);
    return s;
}

static dopt_status t_candidates(const dopt_diffusion_guide *gb, const double *x, int round, double tol, double *obj,
                                double *viol, int32_t *best, double *bx)
{
    size_t rows = (size_t)gb->batch * gb->samples;
    dopt_diffusion_guide dg = milp_dev(gb);
    void *dx = tu_dev(x, 8 * rows * gb->n), *dob = tu_dev_out(obj, 8 * rows), *dv = tu_dev_out(viol, 8 * rows),
         *db = tu_dev_out(best, 4 * (size_t)gb->batch), *dbx = tu_dev_out(bx, 8 * (size_t)gb->batch * gb->n);
    dopt_status s = dopt_diffusion_candidates(tu_ctx, &dg, dx, round, tol, dob, dv, (int32_t *)db, dbx);
    tu_host(obj, dob, 8 * rows), tu_host(viol, dv, 8 * rows), tu_host(best, db, 4 * (size_t)gb->batch);
    tu_host(bx, dbx, 8 * (size_t)gb->batch * gb->n);
    tu_dev_free((void *)x, dx), tu_dev_free(obj, dob), tu_dev_free(viol, dv), tu_dev_free(best, db), tu_dev_free(bx, dbx);
    milp_free(gb, &dg);
    return s;
}

typedef struct {
    int n, K;
    const double *w, *m, *S;
} target;

/* Runs the sampler from x_T ~ N(0, I) with the target's exact eps; x (rows, n). */
static void sample(const target *tg, dopt_sampler smp, dopt_schedule sched, int T, int steps, double eta, int64_t rows,
                   uint64_t seed, double *x)
{
    double *abar = calloc((size_t)T + 1, 8), *eps = calloc((size_t)rows * tg->n, 8);
    CHECK(dopt_diffusion_schedule(sched, T, abar) == DOPT_OK, "schedule");
    /* x_T: the standard normals of (seed, row, step T + 1) */
    double *zero = calloc((size_t)rows * tg->n, 8);
    CHECK_OK(t_noise(rows, tg->n, zero, 1e-300, seed, (uint32_t)T + 1, x, eps));
    int t = T;
    while (t > 0) {
        int tp = smp == DOPT_SAMPLER_DDPM ? t - 1 : (t - T / steps > 0 ? t - T / steps : 0);
        CHECK_OK(dopt_diffusion_mixture_eps(tu_ctx, tg->n, tg->K, tg->w, tg->m, tg->S, abar[t], rows, x, eps));
        dopt_diffusion_step_desc d = {smp, abar, t, tp, eta, seed};
        CHECK_OK(t_step(&d, rows, tg->n, x, eps, NULL, NULL));
        t = tp;
    }
    free(abar), free(eps), free(zero);
}

/* mean and covariance of the target mixture */
static void target_moments(const target *tg, double *mean, double *cov)
{
    int n = tg->n;
    double ws = 0;
    for (int k = 0; k < tg->K; ++k) ws += tg->w[k];
    for (int i = 0; i < n; ++i) {
        mean[i] = 0;
        for (int k = 0; k < tg->K; ++k) mean[i] += tg->w[k] / ws * tg->m[k * n + i];
    }
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b) {
            double c = 0;
            for (int k = 0; k < tg->K; ++k)
                c += tg->w[k] / ws *
                     (tg->S[(k * n + a) * n + b] + (tg->m[k * n + a] - mean[a]) * (tg->m[k * n + b] - mean[b]));
            cov[a * n + b] = c;
        }
}

/* Sample moments within z_max standard errors (the standard error of a
 * covariance entry is sqrt((S_aa S_bb + S_ab^2) / N) for Gaussian data; for
 * the mixtures it is estimated from the samples' fourth moments). */
static void check_moments(const char *name, const target *tg, const double *x, int64_t N, double zmax)
{
    int n = tg->n;
    double mean[8], cov[64], sm[8] = {0}, sc[64] = {0};
    target_moments(tg, mean, cov);
    for (int64_t r = 0; r < N; ++r)
        for (int i = 0; i < n; ++i) sm[i] += x[r * n + i] / (double)N;
    for (int64_t r = 0; r < N; ++r)
        for (int a = 0; a < n; ++a)
            for (int b = 0; b < n; ++b) sc[a * n + b] += (x[r * n + a] - sm[a]) * (x[r * n + b] - sm[b]) / (double)(N - 1);
    for (int i = 0; i < n; ++i) {
        double z = fabs(sm[i] - mean[i]) / sqrt(cov[i * n + i] / (double)N);
        CHECK(z < zmax, "%s: mean[%d] %.5f vs %.5f (z = %.2f)", name, i, sm[i], mean[i], z);
    }
    for (int a = 0; a < n; ++a)
        for (int b = 0; b <= a; ++b) {
            double v = 0; /* variance of the products, from the samples */
            for (int64_t r = 0; r < N; ++r) {
                double p = (x[r * n + a] - sm[a]) * (x[r * n + b] - sm[b]) - sc[a * n + b];
                v += p * p / (double)N;
            }
            double z = fabs(sc[a * n + b] - cov[a * n + b]) / sqrt(v / (double)N);
            CHECK(z < zmax, "%s: cov[%d][%d] %.5f vs %.5f (z = %.2f)", name, a, b, sc[a * n + b], cov[a * n + b], z);
        }
}

static void test_schedules(void)
{
    double ab[1001];
    CHECK(dopt_diffusion_schedule(DOPT_SCHEDULE_LINEAR, 1000, ab) == DOPT_OK, "linear");
    /* Ho et al.'s linear schedule: abar_1000 = 4.04e-5 */
    CHECK(fabs(ab[1000] / 4.0358e-5 - 1) < 1e-3 && fabs(ab[1] - (1 - 1e-4)) < 1e-15, "linear abar_T = %.6e", ab[1000]);
    int mono = 1;
    for (int t = 1; t <= 1000; ++t) mono &= ab[t] < ab[t - 1] && ab[t] > 0;
    CHECK(mono, "linear abar decreasing and positive");
    CHECK(dopt_diffusion_schedule(DOPT_SCHEDULE_COSINE, 1000, ab) == DOPT_OK, "cosine");
    mono = 1;
    for (int t = 1; t <= 1000; ++t) mono &= ab[t] < ab[t - 1] && ab[t] > 0;
    CHECK(mono && ab[1000] < 1e-4 && fabs(ab[500] - 0.4876) < 0.01, "cosine abar_500 = %.4f abar_T = %.3e", ab[500],
          ab[1000]);
    CHECK(dopt_diffusion_schedule(DOPT_SCHEDULE_LINEAR, 0, ab) == DOPT_ERR_INVALID_ARGUMENT, "T = 0 refused");
}

static void test_gaussian_and_mixture(void)
{
    int64_t N = 20000;
    double *x = malloc(sizeof(double) * N * 3);
    /* a correlated Gaussian in 3-D */
    double w1[1] = {1}, m1[3] = {1.0, -2.0, 0.5}, S1[9] = {1.0, 0.6, 0.1, 0.6, 2.0, -0.3, 0.1, -0.3, 0.5};
    target g = {3, 1, w1, m1, S1};
    sample(&g, DOPT_SAMPLER_DDPM, DOPT_SCHEDULE_LINEAR, 1000, 1000, 0, N, 1, x);
    check_moments("gaussian ddpm", &g, x, N, 5);
    sample(&g, DOPT_SAMPLER_DDIM, DOPT_SCHEDULE_COSINE, 1000, 200, 0.0, N, 2, x);
    check_moments("gaussian ddim eta=0", &g, x, N, 5);
    sample(&g, DOPT_SAMPLER_DDIM, DOPT_SCHEDULE_LINEAR, 1000, 250, 1.0, N, 3, x);
    check_moments("gaussian ddim eta=1", &g, x, N, 5);
    /* a two-component mixture in 2-D */
    double w2[2] = {0.3, 0.7}, m2[4] = {-2, 0, 1.5, 1}, S2[8] = {0.5, 0.2, 0.2, 0.4, 0.3, -0.1, -0.1, 0.6};
    target mix = {2, 2, w2, m2, S2};
    sample(&mix, DOPT_SAMPLER_DDPM, DOPT_SCHEDULE_COSINE, 1000, 1000, 0, N, 4, x);
    check_moments("mixture ddpm", &mix, x, N, 5);
    sample(&mix, DOPT_SAMPLER_DDIM, DOPT_SCHEDULE_LINEAR, 1000, 200, 0.5, N, 5, x);
    check_moments("mixture ddim eta=0.5", &mix, x, N, 5);
    free(x);
}

/* SRG's 2-D toy LP (its Appendix B, A x >= b), solved with dopt's own LP
 * solver; the target is a mixture concentrated at the optimum. */
static void test_lp_toy(void)
{
    double G[16][2] = {{-0.9915, 0.1300},  {-0.8228, -0.5683}, {-0.4874, -0.8732}, {0.0760, -0.9971},
                       {0.4869, -0.8735},  {0.9011, -0.4335},  {1.0000, -0.0052},  {0.8423, 0.5390},
                       {0.5048, 0.8632},   {-0.0174, 0.9998},  {-0.4281, 0.9037},  {-0.8852, 0.4653},
                       {1, 0},             {0, 1},             {-1, 0},            {0, -1}};
    double h[16] = {-0.6248, -0.9940, -0.8212, -0.6067, -0.4103, 0.0208, 0.1056, 0.3568,
                    0.2732,  0.0117,  -0.1279, -0.4563, 0,       0,      -1,     -1};
    /* A x >= b  <=>  -A x <= -b */
    double Gq[32], hq[16], Q[4] = {0, 0, 0, 0}, p[2] = {2.0828, 4.0374}, x[2], lam[16];
    for (int i = 0; i < 16; ++i) Gq[2 * i] = -G[i][0], Gq[2 * i + 1] = -G[i][1], hq[i] = -h[i];
    int32_t st;
    dopt_context *cpu;
    dopt_context_create(&cpu, DOPT_BACKEND_CPU);
    dopt_qp_problem P = {1, 2, 16, 0, DOPT_FLOAT64, Q, p, Gq, hq, NULL, NULL, 0};
    dopt_qp_solution s = {x, lam, NULL, &st, NULL};
    CHECK(dopt_qp_solve(cpu, &P, NULL, &s, NULL) == DOPT_OK && st == DOPT_SOLVED, "toy LP solved (status %d)", st);
    dopt_context_destroy(cpu);
    for (int i = 0; i < 16; ++i) CHECK(G[i][0] * x[0] + G[i][1] * x[1] >= h[i] - 1e-7, "toy optimum feasible, row %d", i);
    double w[2] = {0.9, 0.1}, m[4] = {x[0], x[1], x[0], x[1]}, S[8] = {4e-4, 0, 0, 4e-4, 1e-2, 0, 0, 1e-2};
    target tg = {2, 2, w, m, S};
    int64_t N = 20000;
    double *xs = malloc(sizeof(double) * N * 2);
    sample(&tg, DOPT_SAMPLER_DDPM, DOPT_SCHEDULE_LINEAR, 1000, 1000, 0, N, 6, xs);
    check_moments("LP toy ddpm", &tg, xs, N, 5);
    /* the narrow component needs DDIM's full grid: on 250 of the 1000 steps its
     * variance comes out 20 % low (a discretization error, not noise) */
    sample(&tg, DOPT_SAMPLER_DDIM, DOPT_SCHEDULE_COSINE, 1000, 1000, 0, N, 7, xs);
    check_moments("LP toy ddim", &tg, xs, N, 5);
    free(xs);
}

/* a random set cover (A x >= 1) as a CSR milp batch of one instance */
typedef struct {
    int n, m;
    int64_t rp[64];
    int32_t col[2048];
    double val[2048], b[64], c[64];
} cover;

static void make_cover(cover *cv, int n, int m, uint64_t seed)
{
    tu_seed(seed);
    cv->n = n, cv->m = m;
    int q = 0;
    for (int i = 0; i < m; ++i) {
        cv->rp[i] = q;
        int any = 0;
        for (int j = 0; j < n; ++j)
            if (tu_unif() < 0.15) cv->col[q] = j, cv->val[q++] = 1, any = 1;
        if (!any) cv->col[q] = i % n, cv->val[q++] = 1;
        cv->b[i] = 1;
    }
    cv->rp[m] = q;
    for (int j = 0; j < n; ++j) cv->c[j] = 1 + tu_unif();
}

static dopt_diffusion_guide cover_batch(const cover *cv, int samples, const double *xref)
{
    dopt_diffusion_guide g = {1, cv->n, cv->m, samples, DOPT_FLOAT64, cv->rp, cv->col, cv->val, cv->b, cv->c, xref,
                         DOPT_DIFFUSION_SHARE_A | DOPT_DIFFUSION_SHARE_B | DOPT_DIFFUSION_SHARE_C};
    return g;
}

static double violation(const cover *cv, const double *x)
{
    double v = 0;
    for (int i = 0; i < cv->m; ++i) {
        double ax = 0;
        for (int64_t e = cv->rp[i]; e < cv->rp[i + 1]; ++e) ax += cv->val[e] * x[cv->col[e]];
        if (ax < cv->b[i]) v += cv->b[i] - ax;
    }
    return v;
}

/* the guidance added to eps_hat equals sqrt(1 - abar)(go dO/dx + gc dP/dx),
 * and those gradients match central differences of O and P away from kinks */
static void test_guidance_gradients(void)
{
    cover cv;
    make_cover(&cv, 12, 8, 3);
    double xref[12], x[12], eps[12] = {0}, x2[12];
    tu_seed(4);
    for (int j = 0; j < 12; ++j) xref[j] = tu_unif() < 0.5, x[j] = 0.1 + 0.3 * tu_unif();
    double go = 0.7, gc = 1.3, lam = 2.0, abar = 0.36;
    dopt_diffusion_guide gb = cover_batch(&cv, 1, xref);
    dopt_guidance g = {go, gc, lam};
    double ab[2] = {1, abar};
    /* a DDIM step with eta = 0 from abar to 1 returns x0_hat = (x - sqrt(1-abar) eps)/sqrt(abar):
     * recover the guided eps from it */
    memcpy(x2, x, sizeof x);
    dopt_diffusion_step_desc d = {DOPT_SAMPLER_DDIM, ab, 1, 0, 0.0, 9};
    CHECK_OK(t_step(&d, 1, 12, x2, eps, &gb, &g));
    for (int j = 0; j < 12; ++j) {
        double guided = eps[j]; /* modified in place */
        double h = 1e-6, xp[12], xm[12];
        memcpy(xp, x, sizeof x), memcpy(xm, x, sizeof x);
        xp[j] += h, xm[j] -= h;
        double Op = 0, Om = 0;
        for (int q = 0; q < 12; ++q) Op += fabs(cv.c[q] * (xp[q] - xref[q])), Om += fabs(cv.c[q] * (xm[q] - xref[q]));
        double fd = (go * (Op - Om) + gc * lam * (violation(&cv, xp) - violation(&cv, xm))) / (2 * h);
        CHECK(fabs(guided - sqrt(1 - abar) * fd) < 1e-6, "guidance[%d] %.8f vs sqrt(1-abar) * fd %.8f", j, guided,
              sqrt(1 - abar) * fd);
        CHECK(fabs(x2[j] - (x[j] - sqrt(1 - abar) * guided) / sqrt(abar)) < 1e-12, "DDIM to t=0 gives x0_hat");
    }
}

/* eq. 19 target against a direct evaluation of the documented formula */
static void test_srg_target(void)
{
    cover cv;
    make_cover(&cv, 20, 10, 5);
    int K = 4;
    double xstar[20], xt[80], eps[80], tgt[80];
    tu_seed(6);
    for (int j = 0; j < 20; ++j) xstar[j] = tu_unif() < 0.4;
    for (int r = 0; r < 80; ++r) xt[r] = 1.5 * tu_normal() + 0.3, eps[r] = tu_normal();
    dopt_diffusion_guide gb = cover_batch(&cv, K, xstar);
    dopt_guidance g = {0.8, 1.7, 0.5};
    double abar = 0.49;
    for (int round = 0; round < 2; ++round) {
        CHECK_OK(t_target(&gb, &g, xt, eps, abar, round, tgt));
        double worst = 0;
        for (int r = 0; r < K; ++r) {
            double xr[20];
            for (int j = 0; j < 20; ++j) xr[j] = round ? floor(xt[r * 20 + j] + 0.5) : xt[r * 20 + j];
            double direct[20];
            for (int j = 0; j < 20; ++j) {
                double d = cv.c[j] * (xr[j] - xstar[j]);
                direct[j] = eps[r * 20 + j] + sqrt(abar) * g.gamma_o * cv.c[j] * (d > 0 ? 1 : d < 0 ? -1 : 0);
            }
            for (int i = 0; i < cv.m; ++i) {
                double ax = 0;
                for (int64_t e = cv.rp[i]; e < cv.rp[i + 1]; ++e) ax += cv.val[e] * xr[cv.col[e]];
                if (ax < cv.b[i])
                    for (int64_t e = cv.rp[i]; e < cv.rp[i + 1]; ++e)
                        direct[cv.col[e]] -= sqrt(abar) * g.gamma_c * g.lambda * cv.val[e];
            }
            for (int j = 0; j < 20; ++j) worst = fmax(worst, fabs(direct[j] - tgt[r * 20 + j]));
        }
        CHECK(worst < 1e-12, "eq. 19 target (round=%d) differs from the formula by %.3e", round, worst);
    }
}

/* Guidance lowers the violation along the trajectory on set cover: the
 * "network" is the exact eps of N(0.2, 0.2^2 I) (mostly infeasible); the
 * guided sampler targets that prior tilted by exp(-gamma_c P). */
static void test_guided_violation(void)
{
    cover cv;
    make_cover(&cv, 40, 30, 8);
    int K = 256, n = 40, T = 200;
    double w[1] = {1}, m[40], S[1600];
    for (int j = 0; j < n; ++j) m[j] = 0.2;
    for (int a = 0; a < n * n; ++a) S[a] = a % (n + 1) == 0 ? 0.04 : 0;
    double abar[201];
    dopt_diffusion_schedule(DOPT_SCHEDULE_LINEAR, T, abar);
    double *x = malloc(8 * K * n), *eps = malloc(8 * K * n), *zero = calloc((size_t)K * n, 8);
    double vstart[2], vmid[2], vfinal[2], vworst_late = 0;
    for (int guided = 0; guided < 2; ++guided) {
        t_noise(K, n, zero, 1e-300, 11, T + 1, x, eps);
        dopt_diffusion_guide gb = cover_batch(&cv, K, NULL);
        dopt_guidance g = {0, 20.0, 1.0};
        double v = 0;
        for (int r = 0; r < K; ++r) v += violation(&cv, x + r * n) / K;
        vstart[guided] = v;
        for (int t = T; t > 0; --t) {
            dopt_diffusion_mixture_eps(tu_ctx, n, 1, w, m, S, abar[t], K, x, eps);
            dopt_diffusion_step_desc d = {DOPT_SAMPLER_DDPM, abar, t, t - 1, 0, 11};
            CHECK_OK(t_step(&d, K, n, x, eps, guided ? &gb : NULL, &g));
            if (t % 20 == 1) {
                v = 0;
                for (int r = 0; r < K; ++r) v += violation(&cv, x + r * n) / K;
                if (t == T / 2 + 1) vmid[guided] = v;
                if (guided && t <= T / 2 && v > vworst_late) vworst_late = v;
            }
        }
        v = 0;
        for (int r = 0; r < K; ++r) v += violation(&cv, x + r * n) / K;
        vfinal[guided] = v;
    }
    /* guided: from the start's violation down to (nearly) none, and it stays
     * there over the second half; unguided samples end far from feasible */
    CHECK(vmid[1] < 0.01 * vstart[1] && vworst_late < 0.01 * vstart[1] && vfinal[1] < 0.05 * vfinal[0],
          "violation: start %.3f, guided mid %.4f, worst late %.4f, final %.4f; unguided final %.3f", vstart[1],
          vmid[1], vworst_late, vfinal[1], vfinal[0]);
    CHECK(vmid[0] > 10 * vmid[1], "unguided mid-trajectory violation %.3f vs guided %.4f", vmid[0], vmid[1]);
    free(x), free(eps), free(zero);
}

static void test_candidates(void)
{
    cover cv;
    make_cover(&cv, 10, 6, 12);
    int K = 5;
    double x[50];
    tu_seed(13);
    for (int r = 0; r < 50; ++r) x[r] = tu_unif();
    for (int j = 0; j < 10; ++j) x[3 * 10 + j] = 0.9; /* candidate 3: all ones (after rounding), feasible */
    for (int j = 0; j < 10; ++j) x[1 * 10 + j] = 0.1; /* candidate 1: all zeros: infeasible, cheapest */
    dopt_diffusion_guide gb = cover_batch(&cv, K, NULL);
    double obj[5], viol[5], bx[10];
    int32_t best;
    CHECK_OK(t_candidates(&gb, x, 1, 1e-9, obj, viol, &best, bx));
    int exp = -1;
    for (int k = 0; k < K; ++k) {
        double xr[10], o = 0;
        for (int j = 0; j < 10; ++j) xr[j] = floor(x[k * 10 + j] + 0.5), o += cv.c[j] * xr[j];
        double v = violation(&cv, xr);
        CHECK(fabs(o - obj[k]) < 1e-12 && fabs(v - viol[k]) < 1e-12, "candidate %d scores", k);
        if (v <= 1e-9 && (exp < 0 || o < obj[exp])) exp = k;
    }
    CHECK(best == exp && viol[best] <= 1e-9, "best candidate %d, expected %d", best, exp);
    for (int j = 0; j < 10; ++j) CHECK(bx[j] == floor(x[best * 10 + j] + 0.5), "best_x is the rounded candidate");
}

/* NaN candidates: one order on every backend (NaN worst). One constraint
 * x0 + x1 >= 1, costs (1, 2, 3); x2 is in no row, so a NaN x2 gives a NaN
 * objective with a finite violation, a NaN x0 a NaN violation. The old CPU
 * scan kept a leading NaN candidate (every comparison with NaN is false) and
 * a NaN gap counted as satisfied. */
static void test_candidates_nan(void)
{
    int64_t rp[2] = {0, 2};
    int32_t col[2] = {0, 1};
    double val[2] = {1, 1}, b[1] = {1}, c[3] = {1, 2, 3};
    dopt_diffusion_guide gb = {3, 3, 1, 4, DOPT_FLOAT64, rp, col, val, b, c, NULL,
                          DOPT_DIFFUSION_SHARE_A | DOPT_DIFFUSION_SHARE_B | DOPT_DIFFUSION_SHARE_C};
    double N = NAN;
    double x[36] = {/* instance 0: NaN everywhere, feasible with NaN cost, feasible 2, feasible 1 */
                    N, 0, 0, 1, 0, N, 0, 1, 0, 1, 0, 0,
                    /* instance 1, all infeasible: viol 1 (NaN cost), 0.5, NaN, 0.5 (NaN cost) */
                    0, 0, N, 0.5, 0, 0, N, 0, 0, 0.5, 0, N,
                    /* instance 2: all NaN */
                    N, N, N, N, N, N, N, N, N, N, N, N};
    double obj[12], viol[12], bx[9];
    int32_t best[3] = {-1, -1, -1};
    CHECK_OK(t_candidates(&gb, x, 0, 1e-9, obj, viol, best, bx));
    CHECK(isnan(viol[0]) && isnan(obj[0]), "a NaN x0 gives NaN violation and objective (%g, %g)", viol[0], obj[0]);
    CHECK(viol[1] == 0 && isnan(obj[1]), "a NaN x2 gives violation 0 and a NaN objective (%g, %g)", viol[1], obj[1]);
    CHECK(best[0] == 3, "feasible candidates: the numeric cheapest wins over NaN ones (got %d, want 3)", best[0]);
    CHECK(best[1] == 1, "infeasible candidates: smallest violation, then numeric objective (got %d, want 1)", best[1]);
    CHECK(best[2] == 0, "all NaN: the lowest index (got %d)", best[2]);
    CHECK(bx[0] == 1 && bx[1] == 0 && bx[2] == 0, "best_x of instance 0 is candidate 3");
    if (tu_cuda()) {
        double objc[12], violc[12], bxc[9];
        int32_t bestc[3];
        TC_ON_CPU(CHECK_OK(t_candidates(&gb, x, 0, 1e-9, objc, violc, bestc, bxc)));
        tc_same_i32("NaN candidates: best", best, bestc, 3);
        tc_close("NaN candidates: objective", obj, objc, 12, 1e-12);
        tc_close("NaN candidates: violation", viol, violc, 12, 1e-12);
    }
}


/* ---- the guide's CSR is checked; empty CSR arrays --------------------------- */

/* Runs the three calls that read the guide (a guided step, SRG targets,
 * candidates) on a guide of 3 instances x 2 samples, n = 5; returns how
 * many failed with DOPT_ERR_INVALID_ARGUMENT and a message containing both
 * `who` and `what` (and that a guided step left x and eps_hat alone). */
static int bad_guide_calls(const dopt_diffusion_guide *gb, const char *who, const char *what)
{
    double x[30], eps[30], x0[30], e0[30], tgt[30] = {0}, obj[6] = {0}, viol[6] = {0}, bx[15] = {0};
    int32_t best[3] = {0};
    tu_seed(31);
    for (int r = 0; r < 30; ++r) x[r] = x0[r] = tu_unif(), eps[r] = e0[r] = tu_normal();
    double ab[11];
    dopt_diffusion_schedule(DOPT_SCHEDULE_LINEAR, 10, ab);
    dopt_diffusion_step_desc d = {DOPT_SAMPLER_DDPM, ab, 5, 4, 0, 1};
    dopt_guidance g = {0, 1, 1};
    dopt_status s[3];
    char msg[3][512];
    s[0] = t_step(&d, 6, 5, x, eps, gb, &g);
    snprintf(msg[0], sizeof msg[0], "%s", dopt_context_last_error(tu_ctx));
    CHECK(memcmp(x, x0, sizeof x) == 0 && memcmp(eps, e0, sizeof eps) == 0, "a refused step changed x or eps_hat");
    s[1] = t_target(gb, &g, x, eps, 0.5, 1, tgt);
    snprintf(msg[1], sizeof msg[1], "%s", dopt_context_last_error(tu_ctx));
    s[2] = t_candidates(gb, x, 1, 1e-9, obj, viol, best, bx);
    snprintf(msg[2], sizeof msg[2], "%s", dopt_context_last_error(tu_ctx));
    int ok = 0;
    for (int k = 0; k < 3; ++k) {
        int good = s[k] == DOPT_ERR_INVALID_ARGUMENT && strstr(msg[k], who) && strstr(msg[k], what);
        CHECK(good, "call %d: status %d, message \"%s\" (want \"%s\" and \"%s\")", k, (int)s[k], msg[k], who, what);
        ok += good;
    }
    return ok;
}

/* Column indices outside [0, n), offsets that are negative or decrease, and
 * entries without arrays are call errors naming the instance and the row,
 * before anything reads through them (they used to read out of bounds);
 * afterwards the context still works. */
static void test_bad_guide_csr(void)
{
    /* 3 instances, m = 3, absolute offsets; instance k's rows at 6k: {0,1}, {2,3}, {4} */
    int64_t rp[12] = {0, 2, 4, 5, 6, 8, 10, 11, 12, 14, 16, 17};
    int32_t col[17] = {0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 0};
    double val[17], b[3] = {1, 1, 1}, c[5] = {1, 2, 3, 4, 5}, xref[15] = {0};
    for (int e = 0; e < 17; ++e) val[e] = 1;
    dopt_diffusion_guide gb = {3, 5, 3, 2, DOPT_FLOAT64, rp, col, val, b, c, xref,
                               DOPT_DIFFUSION_SHARE_B | DOPT_DIFFUSION_SHARE_C};
    /* the valid guide works */
    double x[30], eps[30], ab[11];
    for (int r = 0; r < 30; ++r) x[r] = 0.5, eps[r] = 0;
    dopt_diffusion_schedule(DOPT_SCHEDULE_LINEAR, 10, ab);
    dopt_diffusion_step_desc d = {DOPT_SAMPLER_DDPM, ab, 5, 4, 0, 1};
    CHECK_OK(t_step(&d, 6, 5, x, eps, &gb, NULL));

    col[10] = 5; /* instance 1, row 2: column n */
    bad_guide_calls(&gb, "instance 1, row 2", "column index 5 outside [0, n = 5)");
    col[10] = -3;
    bad_guide_calls(&gb, "instance 1, row 2", "column index -3");
    col[10] = 0;
    col[14] = 7; /* instance 2 as well: the lowest bad instance is named */
    col[3] = 9;  /* instance 0, row 1 */
    bad_guide_calls(&gb, "instance 0, row 1", "column index 9");
    col[3] = 3, col[14] = 4;
    rp[9] = 15, rp[10] = 14; /* instance 2, row 1 ends before it starts */
    bad_guide_calls(&gb, "instance 2, row 1", "non-decreasing");
    rp[9] = 14, rp[10] = 16;
    rp[0] = -1; /* instance 0, row 0 starts before the arrays */
    bad_guide_calls(&gb, "instance 0, row 0", "non-decreasing");
    rp[0] = 0;
    /* a shared A with a bad column */
    dopt_diffusion_guide sh = gb;
    sh.shared |= DOPT_DIFFUSION_SHARE_A;
    int64_t rps[4] = {0, 2, 4, 5};
    sh.row_ptr = rps;
    col[1] = 5;
    bad_guide_calls(&sh, "the shared A, row 0", "column index 5");
    col[1] = 1;
    /* entries but no arrays */
    dopt_diffusion_guide na = gb;
    na.col_idx = NULL;
    na.values = NULL;
    bad_guide_calls(&na, "instance 0, row 0", "NULL");
    /* the context still works, with the same result as before */
    double x2[30], e2[30];
    for (int r = 0; r < 30; ++r) x2[r] = 0.5, e2[r] = 0;
    CHECK_OK(t_step(&d, 6, 5, x2, e2, &gb, NULL));
    CHECK(memcmp(x, x2, sizeof x) == 0, "the valid guide's step after refused calls differs");
}

/* m > 0 rows without entries (nnz = 0): col_idx and values may be NULL (an
 * empty array's pointer). A = 0: no constraint gradient, violation
 * sum max(b, 0). */
static void test_empty_guide_csr(void)
{
    int64_t rp[3] = {0, 0, 0};
    double b[2] = {1.0, -2.0}, c[3] = {1, -1, 2}, xref[6] = {0};
    dopt_diffusion_guide gb = {2, 3, 2, 2, DOPT_FLOAT64, rp, NULL, NULL, b, c, xref,
                               DOPT_DIFFUSION_SHARE_A | DOPT_DIFFUSION_SHARE_B | DOPT_DIFFUSION_SHARE_C};
    double x[12], eps[12], xu[12], eu[12], tgt[12] = {0}, obj[4] = {0}, viol[4] = {0}, bx[6] = {0};
    int32_t best[2] = {0};
    tu_seed(37);
    for (int r = 0; r < 12; ++r) x[r] = xu[r] = tu_unif(), eps[r] = eu[r] = tu_normal();
    double ab[11];
    dopt_diffusion_schedule(DOPT_SCHEDULE_LINEAR, 10, ab);
    dopt_diffusion_step_desc d = {DOPT_SAMPLER_DDPM, ab, 5, 4, 0, 1};
    CHECK_OK(t_step(&d, 4, 3, x, eps, &gb, NULL));
    CHECK_OK(t_step(&d, 4, 3, xu, eu, NULL, NULL));
    CHECK(memcmp(x, xu, sizeof x) == 0 && memcmp(eps, eu, sizeof eps) == 0,
          "a guide without entries (and gamma_o = 0) is no guidance");
    CHECK_OK(t_target(&gb, NULL, x, eps, 0.5, 1, tgt));
    CHECK(memcmp(tgt, eps, sizeof eps) == 0, "targets without constraint entries are eps");
    CHECK_OK(t_candidates(&gb, x, 1, 1e-9, obj, viol, best, bx));
    for (int r = 0; r < 4; ++r) {
        double o = 0;
        for (int j = 0; j < 3; ++j) o += c[j] * floor(x[r * 3 + j] + 0.5);
        CHECK(viol[r] == 1.0 && obj[r] == o, "candidate %d: violation %g (want 1), objective %g (want %g)", r, viol[r],
              obj[r], o);
    }
}

/* ---- the CUDA backend against the CPU backend ------------------------------- */

#define SC_B 3
#define SC_K 4
#define SC_N 24
#define SC_ROWS (SC_B * SC_K)
#define SC_LEN (SC_ROWS * SC_N)

/* Everything a scenario produces, in float64. */
typedef struct {
    double xt[SC_LEN], eps[SC_LEN], ddpm[SC_LEN], ddpm_eps[SC_LEN], ddim[SC_LEN];
    double target[2][SC_LEN], obj[2][SC_ROWS], viol[2][SC_ROWS], bx[2][SC_B * SC_N];
    int32_t best[2][SC_B];
} scenario_out;


/* Noise, a guided DDPM step, an unguided DDIM step, SRG targets and
 * candidates (rounded and not) on 3 set covers x 4 samples, on the
 * context's backend, in float64 or float32. */
static void run_scenario(int f32, scenario_out *o)
{
    cover cv;
    make_cover(&cv, SC_N, 10, 41);
    double x0[SC_LEN], xref[SC_B * SC_N], abar[101];
    tu_seed(43);
    for (int e = 0; e < SC_LEN; ++e) x0[e] = tu_unif();
    for (int e = 0; e < SC_B * SC_N; ++e) xref[e] = tu_unif() < 0.5;
    dopt_diffusion_schedule(DOPT_SCHEDULE_LINEAR, 100, abar);
    dopt_dtype dt = f32 ? DOPT_FLOAT32 : DOPT_FLOAT64;
    size_t nnz = (size_t)cv.rp[cv.m];
    tc_buf rp = {(void *)cv.rp, tu_dev(cv.rp, 8 * (size_t)(cv.m + 1)), 0, 0};
    tc_buf col = {(void *)cv.col, tu_dev(cv.col, 4 * nnz), 0, 0};
    tc_buf val = tc_buf_in(cv.val, nnz, f32), b = tc_buf_in(cv.b, (size_t)cv.m, f32), c = tc_buf_in(cv.c, SC_N, f32);
    tc_buf xr = tc_buf_in(xref, SC_B * SC_N, f32);
    dopt_diffusion_guide gb = {SC_B, SC_N, cv.m, SC_K, dt, rp.dev, col.dev, val.dev, b.dev, c.dev, xr.dev,
                          DOPT_DIFFUSION_SHARE_A | DOPT_DIFFUSION_SHARE_B | DOPT_DIFFUSION_SHARE_C};
    dopt_guidance g = {0.7, 3.0, 1.5};

    tc_buf s0 = tc_buf_in(x0, SC_LEN, f32);
    tc_buf sx = tc_buf_in(x0, SC_LEN, f32), se = tc_buf_in(x0, SC_LEN, f32); /* outputs (contents unused) */
    CHECK_OK(dopt_diffusion_noise(tu_ctx, SC_ROWS, SC_N, dt, s0.dev, abar[60], 5, 60, sx.dev, se.dev));
    tc_buf_done(&sx, o->xt), tc_buf_done(&se, o->eps);

    /* a guided DDPM step from t = 60 (eps_hat = the noise drawn above) */
    sx = tc_buf_in(o->xt, SC_LEN, f32), se = tc_buf_in(o->eps, SC_LEN, f32);
    dopt_diffusion_step_desc d1 = {DOPT_SAMPLER_DDPM, abar, 60, 59, 0, 9};
    CHECK_OK(dopt_diffusion_step(tu_ctx, &d1, SC_ROWS, SC_N, dt, sx.dev, se.dev, &gb, &g));
    tc_buf_done(&sx, o->ddpm), tc_buf_done(&se, o->ddpm_eps);
    /* an unguided DDIM step 59 -> 30 with eta 0.5 */
    sx = tc_buf_in(o->ddpm, SC_LEN, f32), se = tc_buf_in(o->eps, SC_LEN, f32);
    dopt_diffusion_step_desc d2 = {DOPT_SAMPLER_DDIM, abar, 59, 30, 0.5, 9};
    CHECK_OK(dopt_diffusion_step(tu_ctx, &d2, SC_ROWS, SC_N, dt, sx.dev, se.dev, NULL, NULL));
    tc_buf_done(&sx, o->ddim), tc_buf_done(&se, NULL);

    for (int round = 0; round < 2; ++round) {
        tc_buf a = tc_buf_in(o->xt, SC_LEN, f32), e = tc_buf_in(o->eps, SC_LEN, f32), t = tc_buf_in(x0, SC_LEN, f32);
        CHECK_OK(dopt_srg_target(tu_ctx, &gb, &g, a.dev, e.dev, abar[60], round, t.dev));
        tc_buf_done(&a, NULL), tc_buf_done(&e, NULL), tc_buf_done(&t, o->target[round]);

        tc_buf x = tc_buf_in(o->ddim, SC_LEN, f32), ob = tc_buf_in(x0, SC_ROWS, f32), vi = tc_buf_in(x0, SC_ROWS, f32);
        tc_buf bx = tc_buf_in(x0, SC_B * SC_N, f32);
        int32_t *best = (int32_t *)tu_dev_out(o->best[round], 4 * SC_B);
        CHECK_OK(dopt_diffusion_candidates(tu_ctx, &gb, x.dev, round, 0.25, ob.dev, vi.dev, best, bx.dev));
        tu_host(o->best[round], best, 4 * SC_B), tu_dev_free(o->best[round], best);
        tc_buf_done(&x, NULL), tc_buf_done(&ob, o->obj[round]), tc_buf_done(&vi, o->viol[round]);
        tc_buf_done(&bx, o->bx[round]);
    }
    tc_buf_done(&s0, NULL), tc_buf_done(&val, NULL), tc_buf_done(&b, NULL), tc_buf_done(&c, NULL);
    tc_buf_done(&xr, NULL);
    tu_dev_free(rp.host, rp.dev), tu_dev_free(col.host, col.dev);
}

/* The scenario here and on the CPU backend, under the documented bounds:
 * float64 1e-12, float32 1e-5 of (1 + |cpu|); candidate indices exact. */
static void scenario_compare(const char *what, int f32)
{
    scenario_out *g = calloc(1, sizeof *g), *c = calloc(1, sizeof *c);
    run_scenario(f32, g);
    TC_ON_CPU(run_scenario(f32, c));
    double tol = f32 ? 1e-5 : 1e-12;
    char name[160];
#define SC_CMP(field, count)                                                    \
    snprintf(name, sizeof name, "%s: %s", what, #field);                        \
    tc_close(name, (const double *)g->field, (const double *)c->field, count, tol)
    SC_CMP(xt, SC_LEN);
    SC_CMP(eps, SC_LEN);
    SC_CMP(ddpm, SC_LEN);
    SC_CMP(ddpm_eps, SC_LEN);
    SC_CMP(ddim, SC_LEN);
    SC_CMP(target, 2 * SC_LEN);
    SC_CMP(obj, 2 * SC_ROWS);
    SC_CMP(viol, 2 * SC_ROWS);
    SC_CMP(bx, 2 * SC_B * SC_N);
#undef SC_CMP
    snprintf(name, sizeof name, "%s: best", what);
    tc_same_i32(name, g->best[0], c->best[0], 2 * SC_B);
    free(g), free(c);
}

/* Every CUDA path of the layer against the CPU backend: float64 and
 * float32, a non-default stream, device 1. */
static void test_cuda_matches_cpu(void)
{
    if (!tu_cuda()) return;
    scenario_compare("f64", 0);
    scenario_compare("f32", 1);
    void *stream = tc_stream_create();
    CHECK(stream != NULL, "could not create a CUDA stream");
    if (stream) {
        CHECK_OK(dopt_context_set_cuda_stream(tu_ctx, stream));
        scenario_compare("f64 on a stream", 0);
        scenario_compare("f32 on a stream", 1);
        CHECK_OK(dopt_context_set_cuda_stream(tu_ctx, NULL));
        tc_stream_destroy(stream);
    }
    if (tc_use_device(1)) {
        CHECK_OK(dopt_context_set_cuda_device(tu_ctx, 1));
        scenario_compare("f64 on device 1", 0);
        CHECK_OK(dopt_context_set_cuda_device(tu_ctx, 0));
        tc_use_device(0);
    } else {
        printf("device != 0: skipped (fewer than two CUDA devices)\n");
    }
    tc_release();
}

static void test_determinism_and_errors(void)
{
    if (tu_cuda()) return;
    int64_t rows = 300;
    int n = 7;
    double *x1 = malloc(8 * rows * n), *x2 = malloc(8 * rows * n), *e = malloc(8 * rows * n);
    double w[1] = {1}, m[7] = {0}, S[49] = {0};
    for (int i = 0; i < 7; ++i) S[i * 8] = 1;
    target tg = {7, 1, w, m, S};
    dopt_context_set_threads(tu_ctx, 1);
    sample(&tg, DOPT_SAMPLER_DDPM, DOPT_SCHEDULE_COSINE, 50, 50, 0, rows, 21, x1);
    dopt_context_set_threads(tu_ctx, 3);
    sample(&tg, DOPT_SAMPLER_DDPM, DOPT_SCHEDULE_COSINE, 50, 50, 0, rows, 21, x2);
    dopt_context_set_threads(tu_ctx, 0);
    CHECK(memcmp(x1, x2, 8 * rows * n) == 0, "samples depend on the thread count");
    double ab[11];
    dopt_diffusion_schedule(DOPT_SCHEDULE_LINEAR, 10, ab);
    dopt_diffusion_step_desc bad = {DOPT_SAMPLER_DDPM, ab, 5, 3, 0, 1};
    CHECK(dopt_diffusion_step(tu_ctx, &bad, rows, n, DOPT_FLOAT64, x1, e, NULL, NULL) == DOPT_ERR_INVALID_ARGUMENT,
          "DDPM skipping steps is refused");
    dopt_diffusion_step_desc bad2 = {DOPT_SAMPLER_DDIM, ab, 5, 3, 1.5, 1};
    CHECK(dopt_diffusion_step(tu_ctx, &bad2, rows, n, DOPT_FLOAT64, x1, e, NULL, NULL) == DOPT_ERR_INVALID_ARGUMENT,
          "eta > 1 is refused");
    dopt_diffusion_step_desc bad3 = {DOPT_SAMPLER_DDIM, ab, 3, 5, 0, 1};
    CHECK(dopt_diffusion_step(tu_ctx, &bad3, rows, n, DOPT_FLOAT64, x1, e, NULL, NULL) == DOPT_ERR_INVALID_ARGUMENT,
          "t_prev > t is refused");
    cover cv;
    make_cover(&cv, 7, 3, 1);
    dopt_diffusion_guide gb = cover_batch(&cv, 7, NULL); /* 1 x 7 = 7 rows, not 300 */
    dopt_guidance g = {0, 1, 1};
    dopt_diffusion_step_desc ok = {DOPT_SAMPLER_DDIM, ab, 5, 3, 0, 1};
    CHECK(dopt_diffusion_step(tu_ctx, &ok, rows, n, DOPT_FLOAT64, x1, e, &gb, &g) == DOPT_ERR_INVALID_ARGUMENT,
          "rows != batch * samples is refused");
    free(x1), free(x2), free(e);
}

/* The exact mixture score checks its target: NaN/Inf in weights, means or
 * covariances and a non-symmetric covariance are call errors naming the
 * component, not NaN samples or one triangle silently used. */
static void test_mixture_eps_inputs(void)
{
    dopt_context *host = NULL;
    CHECK_OK(dopt_context_create(&host, DOPT_BACKEND_CPU));
    double w[2] = {0.5, 0.5}, m[4] = {0, 0, 1, 1}, S[8] = {1, 0, 0, 1, 1, 0.2, 0.2, 1}, x[4] = {0, 0, 1, 1}, eps[4];
    CHECK_OK(dopt_diffusion_mixture_eps(host, 2, 2, w, m, S, 0.5, 2, x, eps));
    double wi[2] = {INFINITY, 1}, mn[4] = {0, 0, NAN, 1}, Sa[8] = {1, 0, 0, 1, 1, 0.2, 0.3, 1},
           Sn[8] = {1, 0, 0, 1, 1, 0.2, 0.2, NAN};
    CHECK(dopt_diffusion_mixture_eps(host, 2, 2, wi, m, S, 0.5, 2, x, eps) == DOPT_ERR_INVALID_ARGUMENT,
          "an infinite weight is accepted");
    CHECK(dopt_diffusion_mixture_eps(host, 2, 2, w, mn, S, 0.5, 2, x, eps) == DOPT_ERR_INVALID_ARGUMENT &&
              strstr(dopt_context_last_error(host), "mean 1"),
          "NaN in mean 1: %s", dopt_context_last_error(host));
    CHECK(dopt_diffusion_mixture_eps(host, 2, 2, w, m, Sa, 0.5, 2, x, eps) == DOPT_ERR_INVALID_ARGUMENT &&
              strstr(dopt_context_last_error(host), "covariance 1 is not symmetric"),
          "non-symmetric covariance 1: %s", dopt_context_last_error(host));
    CHECK(dopt_diffusion_mixture_eps(host, 2, 2, w, m, Sn, 0.5, 2, x, eps) == DOPT_ERR_INVALID_ARGUMENT &&
              strstr(dopt_context_last_error(host), "covariance 1"),
          "NaN in covariance 1: %s", dopt_context_last_error(host));
    dopt_context_destroy(host);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    test_schedules();
    test_gaussian_and_mixture();
    test_lp_toy();
    test_guidance_gradients();
    test_srg_target();
    test_guided_violation();
    test_candidates();
    test_candidates_nan();
    test_determinism_and_errors();
    test_mixture_eps_inputs();
    test_bad_guide_csr();
    test_empty_guide_csr();
    test_cuda_matches_cpu();
    return tu_finish("test_diffusion");
}
