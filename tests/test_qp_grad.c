/* QP backward pass: every gradient (dQ, dp, dG, dh, dA, db) against central
 * finite differences of L = <w, x*> + <u, lam*> + <v, nu*>, for per-instance
 * and shared parameters, QPs and LPs, float64. */
#include "qp_harness.h"

static const double FD_STEP = 1e-4;
static dopt_qp_options tight;

typedef struct {
    double *w, *u, *v; /* weights of x, lam, nu (u, v may be NULL) */
} weights;

static double loss_of(const tq_data *d, const weights *wt, int *all_solved)
{
    tq_out o = tq_out_alloc(d);
    CHECK_OK(tq_solve(d, &tight, &o, NULL));
    double L = 0;
    *all_solved = 1;
    for (int64_t i = 0; i < d->B; ++i) *all_solved &= o.status[i] == DOPT_SOLVED;
    for (size_t j = 0; j < (size_t)d->B * d->n; ++j) L += wt->w[j] * o.x[j];
    if (wt->u)
        for (size_t j = 0; j < (size_t)d->B * d->m; ++j) L += wt->u[j] * o.lam[j];
    if (wt->v)
        for (size_t j = 0; j < (size_t)d->B * d->k; ++j) L += wt->v[j] * o.nu[j];
    tq_out_free(&o);
    return L;
}

/* Loss at theta + t D (parameter `which`: 0..5 = Q p G h A b). */
static double loss_at(tq_data *d, int which, const double *D, size_t len, double t, const weights *wt, int *ok)
{
    double *arr[6] = {d->Q, d->p, d->G, d->h, d->A, d->b};
    double *a = arr[which];
    double *save = (double *)malloc(sizeof(double) * len);
    memcpy(save, a, sizeof(double) * len);
    for (size_t j = 0; j < len; ++j) a[j] = save[j] + t * D[j];
    tq_data e = *d;
    tq_stage(&e);
    double L = loss_of(&e, wt, ok);
    tu_dev_free(e.Q, e.dQ), tu_dev_free(e.p, e.dp), tu_dev_free(e.G, e.dG);
    tu_dev_free(e.h, e.dh), tu_dev_free(e.A, e.dA), tu_dev_free(e.b, e.db);
    memcpy(a, save, sizeof(double) * len);
    free(save);
    return L;
}

/* Fourth-order central difference of L along D: truncation O(step^4), so the
 * error is dominated by the forward's accuracy (~1e-12) over the step. */
static double fd_along(tq_data *d, int which, const double *D, size_t len, const weights *wt, int *ok)
{
    int o1, o2, o3, o4;
    double h = FD_STEP;
    double l1 = loss_at(d, which, D, len, h, wt, &o1), l2 = loss_at(d, which, D, len, -h, wt, &o2);
    double l3 = loss_at(d, which, D, len, 2 * h, wt, &o3), l4 = loss_at(d, which, D, len, -2 * h, wt, &o4);
    *ok = o1 && o2 && o3 && o4;
    return (8 * (l1 - l2) - (l3 - l4)) / (12 * h);
}

/* spread scales how far the instances of a batch with shared parameters
 * move away from instance 0 (1: the historical shifts) */
static void check_gradients_spread(int n, int m, int k, int64_t B, dopt_gen_kind kind, unsigned shared,
                                   int use_duals, uint64_t seed, double spread)
{
    tq_data d = tq_gen(B, n, m, k, kind, 10, seed);
    /* a shared parameter: take instance 0's copy for everyone (h and b stay
     * per instance unless shared, and are re-derived so all stay feasible) */
    d.shared = shared;
    if (shared) {
        /* regenerate instances so that they are consistent with shared data:
         * keep shared arrays = instance 0 and shift per-instance h, b */
        for (int64_t i = 1; i < B; ++i) {
            if (shared & DOPT_QP_SHARE_H)
                ;
            else
                for (int q = 0; q < m; ++q) d.h[i * m + q] = d.h[q] + spread * 0.3 * (double)i;
            if (!(shared & DOPT_QP_SHARE_B))
                for (int q = 0; q < k; ++q) d.b[i * k + q] = d.b[q] * (1 + spread * 0.1 * (double)i);
            if (!(shared & DOPT_QP_SHARE_P))
                for (int j = 0; j < n; ++j) d.p[i * n + j] = d.p[j] + spread * 0.2 * sin((double)(i * n + j));
            if (!(shared & DOPT_QP_SHARE_Q)) memcpy(d.Q + i * n * n, d.Q, sizeof(double) * n * n);
            if (!(shared & DOPT_QP_SHARE_G)) memcpy(d.G + i * m * n, d.G, sizeof(double) * m * n);
            if (!(shared & DOPT_QP_SHARE_A)) memcpy(d.A + i * k * n, d.A, sizeof(double) * k * n);
        }
    }
    tu_seed(seed * 7 + 1);
    weights wt = {tq_alloc((size_t)B * n), NULL, NULL};
    for (size_t j = 0; j < (size_t)B * n; ++j) wt.w[j] = tu_normal();
    if (use_duals) {
        wt.u = tq_alloc((size_t)B * m);
        wt.v = tq_alloc((size_t)B * k);
        for (size_t j = 0; j < (size_t)B * m; ++j) wt.u[j] = tu_normal();
        for (size_t j = 0; j < (size_t)B * k; ++j) wt.v[j] = tu_normal();
    }
    tq_stage(&d);
    tq_out o = tq_out_alloc(&d);
    dopt_qp_tape *tape = NULL;
    CHECK_OK(tq_solve(&d, &tight, &o, &tape));
    int solved = 1;
    for (int64_t i = 0; i < B; ++i) solved &= o.status[i] == DOPT_SOLVED;
    CHECK(solved, "n=%d m=%d k=%d: forward not solved", n, m, k);

    size_t lens[6] = {(size_t)n * n, (size_t)n, (size_t)m * n, (size_t)m, (size_t)k * n, (size_t)k};
    unsigned bits[6] = {DOPT_QP_SHARE_Q, DOPT_QP_SHARE_P, DOPT_QP_SHARE_G,
                        DOPT_QP_SHARE_H, DOPT_QP_SHARE_A, DOPT_QP_SHARE_B};
    double *grad[6], *gdev[6];
    size_t glen[6];
    for (int t = 0; t < 6; ++t) {
        glen[t] = lens[t] * ((shared & bits[t]) ? 1 : (size_t)B);
        grad[t] = tq_alloc(glen[t]);
        gdev[t] = (double *)tu_dev_out(grad[t], sizeof(double) * glen[t]);
    }
    void *wdev = tu_dev(wt.w, sizeof(double) * B * n);
    void *udev = wt.u ? tu_dev(wt.u, sizeof(double) * B * m) : NULL;
    void *vdev = wt.v ? tu_dev(wt.v, sizeof(double) * B * k) : NULL;
    dopt_qp_grad_in gin = {wdev, udev, vdev};
    dopt_qp_grad_out gout = {gdev[0], gdev[1], gdev[2], gdev[3], gdev[4], gdev[5]};
    CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gin, &gout));
    for (int t = 0; t < 6; ++t) tu_host(grad[t], gdev[t], sizeof(double) * glen[t]);

    /* The same solve and backward on the CPU backend: bitwise equal there.
     * On CUDA (other rounding, see tq_check_against_cpu): lam_min(Q) >= 1/cond
     * = 0.1 bounds each forward's distance to the optimum by sqrt(tol * cond),
     * so the two are within 2 sqrt(1e-12 * 10) = 6.3e-6 of each other; the
     * gradient is a smooth function of the solution whose relative Lipschitz
     * constant on these strictly complementary instances is O(cond), so the
     * gradients are within 10 times that relative to their size. (An LP's
     * vertex solution has no such bound: compared on the CPU only.) */
    if (kind != DOPT_GEN_LP || !tu_cuda()) {
        char what[96];
        snprintf(what, sizeof what, "n=%d m=%d k=%d B=%lld shared=0x%x duals=%d kind=%d", n, m, k, (long long)B,
                 shared, use_duals, (int)kind);
        double xb = 2 * sqrt(tight.tol * 10);
        tq_check_against_cpu(what, &d, &tight, &o, xb, wt.w, wt.u, wt.v, grad, 10 * xb);
    }

    /* The same solve and backward on the CPU backend: bitwise equal there.
     * On CUDA (other rounding, see tq_check_against_cpu): lam_min(Q) >= 1/cond
     * = 0.1 bounds each forward's distance to the optimum by sqrt(tol * cond),
     * so the two are within 2 sqrt(1e-12 * 10) = 6.3e-6 of each other; the
     * gradient is a smooth function of the solution whose relative Lipschitz
     * constant on these strictly complementary instances is O(cond), so the
     * gradients are within 10 times that relative to their size. (An LP's
     * vertex solution has no such bound: compared on the CPU only.) */
    if (kind != DOPT_GEN_LP || !tu_cuda()) {
        char what[96];
        snprintf(what, sizeof what, "n=%d m=%d k=%d B=%lld shared=0x%x duals=%d kind=%d", n, m, k, (long long)B,
                 shared, use_duals, (int)kind);
        double xb = 2 * sqrt(tight.tol * 10);
        tq_check_against_cpu(what, &d, &tight, &o, xb, wt.w, wt.u, wt.v, grad, 10 * xb);
    }

    static const char *names[6] = {"dQ", "dp", "dG", "dh", "dA", "db"};
    for (int t = 0; t < 6; ++t) {
        if (!glen[t]) continue;
        /* Q = 0 (an LP) cannot be perturbed in a random direction and stay
         * convex; its gradient is checked on the QPs */
        if (t == 0 && kind == DOPT_GEN_LP) continue;
        double gnorm = 0;
        for (size_t j = 0; j < glen[t]; ++j) gnorm += grad[t][j] * grad[t][j];
        gnorm = sqrt(gnorm);
        for (int trial = 0; trial < 2; ++trial) {
            double *D = tq_alloc(glen[t]);
            for (size_t j = 0; j < glen[t]; ++j) D[j] = tu_normal();
            double an = 0;
            for (size_t j = 0; j < glen[t]; ++j) an += grad[t][j] * D[j];
            int ok;
            double fd = fd_along(&d, t, D, glen[t], &wt, &ok);
            /* Relative error of the directional derivative. A random direction
             * has |<g, D>| ~ |g|, but can by chance be nearly orthogonal to g;
             * such a small value cannot be measured relative to itself, so the
             * scale never drops below |g|/20 (nor 1e-2 for gradients that
             * vanish, e.g. of an LP in p, where the forward's 1e-12 accuracy
             * over the 1e-4 step is the floor). */
            double scale = fabs(an) > fabs(fd) ? fabs(an) : fabs(fd);
            if (scale < 0.05 * gnorm) scale = 0.05 * gnorm;
            if (scale < 1e-2) scale = 1e-2;
            double rel = fabs(an - fd) / scale;
            CHECK(ok && rel <= 1e-5, "%s n=%d m=%d k=%d B=%lld shared=0x%x duals=%d kind=%d: analytic %.10g fd %.10g rel %.2e",
                  names[t], n, m, k, (long long)B, shared, use_duals, (int)kind, an, fd, rel);
            free(D);
        }
    }
    for (int t = 0; t < 6; ++t) {
        tu_dev_free(grad[t], gdev[t]);
        free(grad[t]);
    }
    tu_dev_free(wt.w, wdev);
    tu_dev_free(wt.u, udev);
    tu_dev_free(wt.v, vdev);
    free(wt.w), free(wt.u), free(wt.v);
    dopt_qp_tape_destroy(tape);
    tq_out_free(&o);
    tq_free(&d);
}

static void check_gradients(int n, int m, int k, int64_t B, dopt_gen_kind kind, unsigned shared, int use_duals,
                            uint64_t seed)
{
    check_gradients_spread(n, m, k, B, kind, shared, use_duals, seed, 1);
}

/* Entry by entry on one tiny instance: every component of every gradient. */
static void check_entrywise(void)
{
    int n = 3, m = 3, k = 1;
    tq_data d = tq_gen(1, n, m, k, DOPT_GEN_STRICTLY_CONVEX, 10, 4242);
    tq_stage(&d);
    tq_out o = tq_out_alloc(&d);
    dopt_qp_tape *tape = NULL;
    CHECK_OK(tq_solve(&d, &tight, &o, &tape));
    weights wt = {tq_alloc((size_t)n), NULL, NULL};
    for (int j = 0; j < n; ++j) wt.w[j] = 1.0 + j;
    size_t lens[6] = {(size_t)n * n, (size_t)n, (size_t)m * n, (size_t)m, (size_t)k * n, (size_t)k};
    double *grad[6], *gdev[6];
    for (int t = 0; t < 6; ++t) {
        grad[t] = tq_alloc(lens[t]);
        gdev[t] = (double *)tu_dev_out(grad[t], sizeof(double) * lens[t]);
    }
    void *wdev = tu_dev(wt.w, sizeof(double) * n);
    dopt_qp_grad_in gin = {wdev, NULL, NULL};
    dopt_qp_grad_out gout = {gdev[0], gdev[1], gdev[2], gdev[3], gdev[4], gdev[5]};
    CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gin, &gout));
    static const char *names[6] = {"dQ", "dp", "dG", "dh", "dA", "db"};
    for (int t = 0; t < 6; ++t) {
        tu_host(grad[t], gdev[t], sizeof(double) * lens[t]);
        for (size_t e = 0; e < lens[t]; ++e) {
            double *D = tq_alloc(lens[t]);
            D[e] = 1;
            int ok;
            double fd = fd_along(&d, t, D, lens[t], &wt, &ok);
            /* Q enters only through (Q+Q')/2: the gradient is symmetric and a
             * one-entry perturbation sees the entry itself */
            double an = grad[t][e];
            double scale = fabs(an) > 1e-2 ? fabs(an) : 1e-2;
            CHECK(ok && fabs(an - fd) <= 1e-5 * scale, "%s[%zu]: analytic %.10g fd %.10g", names[t], e, an, fd);
            free(D);
        }
        tu_dev_free(grad[t], gdev[t]);
        free(grad[t]);
    }
    tu_dev_free(wt.w, wdev);
    free(wt.w);
    dopt_qp_tape_destroy(tape);
    tq_out_free(&o);
    tq_free(&d);
}

/* A tape passed back to dopt_qp_solve is refilled: same gradients as a
 * fresh tape, also when the second problem is larger than the first. */
static void check_tape_reuse(void)
{
    tq_data a = tq_gen(5, 4, 4, 1, DOPT_GEN_STRICTLY_CONVEX, 10, 61);
    tq_data b = tq_gen(9, 7, 6, 2, DOPT_GEN_STRICTLY_CONVEX, 10, 62);
    tq_stage(&a);
    tq_stage(&b);
    tq_out oa = tq_out_alloc(&a), ob = tq_out_alloc(&b);
    dopt_qp_tape *reused = NULL, *fresh = NULL;
    CHECK_OK(tq_solve(&a, NULL, &oa, &reused));
    CHECK_OK(tq_solve(&b, NULL, &ob, &reused)); /* grows */
    CHECK_OK(tq_solve(&b, NULL, &ob, &fresh));
    size_t len = (size_t)b.B * b.n;
    double *w = tq_alloc(len), *g1 = tq_alloc(len), *g2 = tq_alloc(len);
    for (size_t j = 0; j < len; ++j) w[j] = (double)(j % 5) - 2;
    void *wd = tu_dev(w, sizeof(double) * len), *g1d = tu_dev_out(g1, sizeof(double) * len),
         *g2d = tu_dev_out(g2, sizeof(double) * len);
    dopt_qp_grad_in gi = {wd, NULL, NULL};
    dopt_qp_grad_out o1 = {NULL, g1d, NULL, NULL, NULL, NULL}, o2 = {NULL, g2d, NULL, NULL, NULL, NULL};
    CHECK_OK(dopt_qp_backward(tu_ctx, reused, &gi, &o1));
    CHECK_OK(dopt_qp_backward(tu_ctx, fresh, &gi, &o2));
    tu_host(g1, g1d, sizeof(double) * len);
    tu_host(g2, g2d, sizeof(double) * len);
    CHECK(memcmp(g1, g2, sizeof(double) * len) == 0, "a reused tape gives other gradients than a fresh one");
    tu_dev_free(w, wd), tu_dev_free(g1, g1d), tu_dev_free(g2, g2d);
    free(w), free(g1), free(g2);
    dopt_qp_tape_destroy(reused);
    dopt_qp_tape_destroy(fresh);
    tq_out_free(&oa), tq_out_free(&ob);
    tq_free(&a), tq_free(&b);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    dopt_qp_options_default(&tight, DOPT_FLOAT64);
    tight.tol = 1e-12;
    tight.max_iter = 100;
    check_entrywise();
    check_tape_reuse();
    /* the last three take the CUDA backend's large-n path (n >= 64: batched
     * library factorization), with m = 0 and k = 0 there too */
    int sizes[][3] = {{2, 1, 0}, {4, 3, 1}, {6, 0, 2}, {6, 5, 0}, {10, 10, 3}, {16, 12, 4}, {32, 32, 8}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
        int n = sizes[s][0], m = sizes[s][1], k = sizes[s][2];
        check_gradients(n, m, k, 1, DOPT_GEN_STRICTLY_CONVEX, 0, 0, 10 + s);
        check_gradients(n, m, k, 3, DOPT_GEN_STRICTLY_CONVEX, 0, 0, 10 + s);
        check_gradients(n, m, k, 3, DOPT_GEN_STRICTLY_CONVEX, 0, 1, 20 + s);
        check_gradients(n, m, k, 3, DOPT_GEN_STRICTLY_CONVEX,
                        DOPT_QP_SHARE_Q | DOPT_QP_SHARE_G | DOPT_QP_SHARE_A, 0, 30 + s);
        check_gradients(n, m, k, 3, DOPT_GEN_STRICTLY_CONVEX, 0x3F & ~(DOPT_QP_SHARE_H | DOPT_QP_SHARE_B), 1, 40 + s);
        if (m >= n - k && m > 0) check_gradients(n, m, k, 2, DOPT_GEN_LP, 0, 0, 50 + s);
    }
    /* n >= 64: the CUDA backend's large-n path (batched library
     * factorization), its tape in float64 and the shared parameters' batch
     * sums, with m = 0 and k = 0 there too. Instances of a shared batch stay
     * within 0.03 of the historical shifts: the generator's optima are
     * strictly complementary with margin max(lam, slack) >= ~0.5, and the
     * full shifts can bring a row of these larger instances near lam = slack
     * = 0 (4e-4 was seen), where the loss has a kink the finite differences
     * cross; small shifts keep the margin, so the loss is smooth. */
    int large[][3] = {{64, 64, 16}, {66, 0, 8}, {65, 30, 0}};
    for (size_t s = 0; s < sizeof large / sizeof large[0]; ++s) {
        int n = large[s][0], m = large[s][1], k = large[s][2];
        check_gradients(n, m, k, 2, DOPT_GEN_STRICTLY_CONVEX, 0, 1, 60 + s);
        check_gradients_spread(n, m, k, 3, DOPT_GEN_STRICTLY_CONVEX, DOPT_QP_SHARE_Q | DOPT_QP_SHARE_G | DOPT_QP_SHARE_A,
                               0, 70 + s, 0.03);
        check_gradients_spread(n, m, k, 3, DOPT_GEN_STRICTLY_CONVEX, 0x3F & ~(DOPT_QP_SHARE_H | DOPT_QP_SHARE_B), 1,
                               80 + s, 0.03);
        check_gradients_spread(n, m, k, 3, DOPT_GEN_STRICTLY_CONVEX, 0x3F, 1, 90 + s, 0.03);
    }
    return tu_finish("test_qp_grad");
}
