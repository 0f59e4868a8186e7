/* Shared by the cone layer's tests: random strictly feasible instances,
 * staging through the backend's memory, and the KKT certificate check
 * (written from the definitions, not from the solver's code: cone
 * membership by eigenvalues of mat(svec) and second-order norms). */
#ifndef DOPT_CONE_HARNESS_H
#define DOPT_CONE_HARNESS_H

#include "test_util.h"

typedef struct {
    int n, k, l, nq, ns;
    int32_t q[8], s[8];
    int m;
} ch_shape;

static uint64_t ch_rng = 88172645463325252ull;
static double ch_unif(void)
{
    ch_rng ^= ch_rng << 13;
    ch_rng ^= ch_rng >> 7;
    ch_rng ^= ch_rng << 17;
    return (double)(ch_rng >> 11) / 9007199254740992.0;
}
static double ch_normal(void)
{
    double u = ch_unif() + 1e-300, v = ch_unif();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static int ch_svec_index(int s, int i, int j) /* i >= j */
{
    return j * s - j * (j - 1) / 2 + (i - j);
}

static void ch_fill_m(ch_shape *sh)
{
    sh->m = sh->l;
    for (int c = 0; c < sh->nq; ++c) sh->m += sh->q[c];
    for (int c = 0; c < sh->ns; ++c) sh->m += sh->s[c] * (sh->s[c] + 1) / 2;
}

static dopt_cone_dims ch_dims(const ch_shape *sh)
{
    dopt_cone_dims d = {sh->l, sh->nq, sh->nq ? sh->q : NULL, sh->ns, sh->ns ? sh->s : NULL};
    return d;
}

/* A point strictly inside K: orthant in [0.5, 1.5], second-order with a
 * margin, PSD B B'/s + 0.3 I. */
static void ch_interior(const ch_shape *sh, double *u)
{
    int off = 0;
    for (int i = 0; i < sh->l; ++i) u[off++] = 0.5 + ch_unif();
    for (int c = 0; c < sh->nq; ++c) {
        double r = 0;
        for (int i = 1; i < sh->q[c]; ++i) {
            u[off + i] = ch_normal();
            r += u[off + i] * u[off + i];
        }
        u[off] = sqrt(r) + 0.2 + 0.8 * ch_unif();
        off += sh->q[c];
    }
    for (int c = 0; c < sh->ns; ++c) {
        int s = sh->s[c];
        double B[64];
        for (int i = 0; i < s * s; ++i) B[i] = ch_normal();
        for (int j = 0; j < s; ++j)
            for (int i = j; i < s; ++i) {
                double v = 0;
                for (int t = 0; t < s; ++t) v += B[i * s + t] * B[j * s + t];
                v = v / s + (i == j ? 0.3 : 0);
                u[off + ch_svec_index(s, i, j)] = i == j ? v : v * sqrt(2.0);
            }
        off += s * (s + 1) / 2;
    }
}

/* One random instance with strictly feasible primal and dual (h = G x0 +
 * s0, b = A x0, c = -A'y0 - G'z0): an optimum exists. */
static void ch_random(const ch_shape *sh, double *c, double *G, double *h, double *A, double *b)
{
    int n = sh->n, m = sh->m, k = sh->k;
    double x0[64], u[256];
    for (int i = 0; i < m * n; ++i) G[i] = ch_normal();
    for (int i = 0; i < k * n; ++i) A[i] = ch_normal();
    for (int j = 0; j < n; ++j) x0[j] = ch_normal();
    ch_interior(sh, u);
    for (int i = 0; i < m; ++i) {
        h[i] = u[i];
        for (int j = 0; j < n; ++j) h[i] += G[i * n + j] * x0[j];
    }
    for (int r = 0; r < k; ++r) {
        b[r] = 0;
        for (int j = 0; j < n; ++j) b[r] += A[r * n + j] * x0[j];
    }
    ch_interior(sh, u);
    double y0[64];
    for (int r = 0; r < k; ++r) y0[r] = ch_normal();
    for (int j = 0; j < n; ++j) {
        c[j] = 0;
        for (int i = 0; i < m; ++i) c[j] -= G[i * n + j] * u[i];
        for (int r = 0; r < k; ++r) c[j] -= A[r * n + j] * y0[r];
    }
}

/* A strictly complementary pair (s*, z*) in K x K, s*'z* = 0, as
 * scripts/gen_cone_fixtures.py builds it: complementary supports on the
 * orthant, reflected boundary points or interior/zero on a second-order
 * cone, complementary eigenspaces on a PSD cone. *lo and *hi bound the
 * n - k for which such an optimum can be non-degenerate with generic data
 * (Alizadeh, Haeberly, Overton's counts per block: the orthant's active
 * rows exactly; a second-order block with s* = 0 all q rows, on the
 * boundary 1 to q - 1; a PSD block of rank r from (s-r)(s-r+1)/2 to
 * t - r(r+1)/2): unique x and unique y, z, what gradient checks need. */
static void ch_complementary(const ch_shape *sh, double *sp, double *zp, int *lo, int *hi)
{
    int off = 0, codim = 0, codim_hi = 0;
    for (int i = 0; i < sh->l; ++i, ++off) {
        int act = ch_unif() < 0.5;
        sp[off] = act ? 0 : 0.5 + ch_unif();
        zp[off] = act ? 0.5 + ch_unif() : 0;
        codim += act;
        codim_hi += act;
    }
    for (int c = 0; c < sh->nq; ++c) {
        int q = sh->q[c], kind = q > 1 ? (int)(ch_unif() * 3) : 1 + (int)(ch_unif() * 2);
        double r = 0, u[16];
        for (int i = 1; i < q; ++i) {
            u[i] = ch_normal();
            r += u[i] * u[i];
        }
        r = sqrt(r);
        codim += kind == 0 ? 1 : kind == 2 ? q : 0;
        codim_hi += kind == 0 ? q - 1 : kind == 2 ? q : 0;
        if (kind == 0) {
            double a = 0.5 + ch_unif(), b = 0.5 + ch_unif();
            sp[off] = a, zp[off] = b;
            for (int i = 1; i < q; ++i) sp[off + i] = a * u[i] / r, zp[off + i] = -b * u[i] / r;
        } else {
            double *in = kind == 1 ? sp : zp, *zero = kind == 1 ? zp : sp;
            in[off] = r + 0.3 + 0.7 * ch_unif();
            zero[off] = 0;
            for (int i = 1; i < q; ++i) in[off + i] = u[i], zero[off + i] = 0;
        }
        off += q;
    }
    for (int c = 0; c < sh->ns; ++c) {
        int s = sh->s[c], r = (int)(ch_unif() * (s + 1));
        double U[64], ds[8], dz[8];
        codim += (s - r) * (s - r + 1) / 2;
        codim_hi += s * (s + 1) / 2 - r * (r + 1) / 2;
        for (int i = 0; i < s * s; ++i) U[i] = ch_normal();
        for (int j = 0; j < s; ++j) { /* Gram-Schmidt on the columns */
            for (int p = 0; p < j; ++p) {
                double d = 0;
                for (int i = 0; i < s; ++i) d += U[i * s + j] * U[i * s + p];
                for (int i = 0; i < s; ++i) U[i * s + j] -= d * U[i * s + p];
            }
            double nrm = 0;
            for (int i = 0; i < s; ++i) nrm += U[i * s + j] * U[i * s + j];
            for (int i = 0; i < s; ++i) U[i * s + j] /= sqrt(nrm);
        }
        for (int i = 0; i < s; ++i) {
            ds[i] = i < r ? 0.5 + ch_unif() : 0;
            dz[i] = i < r ? 0 : 0.5 + ch_unif();
        }
        for (int j = 0; j < s; ++j)
            for (int i = j; i < s; ++i) {
                double a = 0, b = 0;
                for (int t = 0; t < s; ++t) {
                    a += U[i * s + t] * ds[t] * U[j * s + t];
                    b += U[i * s + t] * dz[t] * U[j * s + t];
                }
                double f = i == j ? 1 : sqrt(2.0);
                sp[off + ch_svec_index(s, i, j)] = a * f;
                zp[off + ch_svec_index(s, i, j)] = b * f;
            }
        off += s * (s + 1) / 2;
    }
    *lo = codim;
    *hi = codim_hi;
}

/* An instance whose optimum is (x*, s*, z*, y*) with the pair above;
 * xz_out (n + m values, or NULL) receives x* and z*. */
static void ch_random_strict(const ch_shape *sh, int keep_GA, double *c, double *G, double *h, double *A, double *b,
                             double *xz_out)
{
    int n = sh->n, m = sh->m, k = sh->k;
    double x0[64], y0[64], sp[256], zp[256];
    for (int i = 0; i < m * n && !keep_GA; ++i) G[i] = ch_normal();
    for (int i = 0; i < k * n && !keep_GA; ++i) A[i] = ch_normal();
    for (int j = 0; j < n; ++j) x0[j] = ch_normal();
    for (int r = 0; r < k; ++r) y0[r] = ch_normal();
    for (int tries = 0; tries < 1000; ++tries) {
        int lo, hi;
        ch_complementary(sh, sp, zp, &lo, &hi);
        if (lo <= n - k && n - k <= hi) break;
    }
    for (int i = 0; i < m; ++i) {
        h[i] = sp[i];
        for (int j = 0; j < n; ++j) h[i] += G[i * n + j] * x0[j];
    }
    for (int r = 0; r < k; ++r) {
        b[r] = 0;
        for (int j = 0; j < n; ++j) b[r] += A[r * n + j] * x0[j];
    }
    for (int j = 0; j < n; ++j) {
        c[j] = 0;
        for (int i = 0; i < m; ++i) c[j] -= G[i * n + j] * zp[i];
        for (int r = 0; r < k; ++r) c[j] -= A[r * n + j] * y0[r];
    }
    if (xz_out) {
        memcpy(xz_out, x0, sizeof(double) * n);
        memcpy(xz_out + n, zp, sizeof(double) * m);
    }
}

/* Smallest eigenvalue of a symmetric s x s matrix by Jacobi sweeps (the
 * harness's own: not the solver's). */
static double ch_min_eig(int s, double *a)
{
    for (int sweep = 0; sweep < 100; ++sweep) {
        double off = 0;
        for (int p = 0; p < s; ++p)
            for (int q = p + 1; q < s; ++q) off += a[p * s + q] * a[p * s + q];
        if (off < 1e-30) break;
        for (int p = 0; p < s; ++p)
            for (int q = p + 1; q < s; ++q) {
                if (a[p * s + q] == 0) continue;
                double phi = 0.5 * atan2(2 * a[p * s + q], a[q * s + q] - a[p * s + p]);
                double cs = cos(phi), sn = sin(phi);
                for (int t = 0; t < s; ++t) {
                    double x = a[t * s + p], y = a[t * s + q];
                    a[t * s + p] = cs * x - sn * y;
                    a[t * s + q] = sn * x + cs * y;
                }
                for (int t = 0; t < s; ++t) {
                    double x = a[p * s + t], y = a[q * s + t];
                    a[p * s + t] = cs * x - sn * y;
                    a[q * s + t] = sn * x + cs * y;
                }
            }
    }
    double e = a[0];
    for (int i = 1; i < s; ++i)
        if (a[i * s + i] < e) e = a[i * s + i];
    return e;
}

/* The most negative "eigenvalue" of u over the blocks (>= -tol: in K). */
static double ch_cone_margin(const ch_shape *sh, const double *u)
{
    double worst = INFINITY;
    int off = 0;
    for (int i = 0; i < sh->l; ++i, ++off)
        if (u[off] < worst) worst = u[off];
    for (int c = 0; c < sh->nq; ++c) {
        double r = 0;
        for (int i = 1; i < sh->q[c]; ++i) r += u[off + i] * u[off + i];
        if (u[off] - sqrt(r) < worst) worst = u[off] - sqrt(r);
        off += sh->q[c];
    }
    for (int c = 0; c < sh->ns; ++c) {
        int s = sh->s[c];
        double X[64];
        for (int j = 0; j < s; ++j)
            for (int i = j; i < s; ++i) {
                double v = u[off + ch_svec_index(s, i, j)];
                if (i != j) v /= sqrt(2.0);
                X[i * s + j] = X[j * s + i] = v;
            }
        double e = ch_min_eig(s, X);
        if (e < worst) worst = e;
        off += s * (s + 1) / 2;
    }
    return worst;
}

static double ch_dot(int n, const double *a, const double *b)
{
    double r = 0;
    for (int i = 0; i < n; ++i) r += a[i] * b[i];
    return r;
}

/* The KKT certificate of a solved instance: s, z in K, s'z ~ 0,
 * stationarity, primal feasibility, all to tol relative to the data. */
static void ch_check_kkt(const char *what, int inst, const ch_shape *sh, const double *c, const double *G,
                         const double *h, const double *A, const double *b, const double *x, const double *s,
                         const double *z, const double *y, double tol)
{
    int n = sh->n, m = sh->m, k = sh->k;
    double scale = 1;
    for (int i = 0; i < m; ++i) scale = fmax(scale, fmax(fabs(h[i]), fabs(z[i])));
    for (int j = 0; j < n; ++j) scale = fmax(scale, fmax(fabs(c[j]), fabs(x[j])));
    double ms = ch_cone_margin(sh, s), mz = ch_cone_margin(sh, z);
    CHECK(ms >= -tol * scale && mz >= -tol * scale, "%s %d: s or z outside K (margins %g %g)", what, inst, ms, mz);
    double sz = ch_dot(m, s, z);
    CHECK(fabs(sz) <= tol * scale * scale, "%s %d: s'z = %g", what, inst, sz);
    double worst = 0;
    for (int j = 0; j < n; ++j) {
        double r = c[j];
        for (int i = 0; i < m; ++i) r += G[i * n + j] * z[i];
        for (int t = 0; t < k; ++t) r += A[t * n + j] * y[t];
        worst = fmax(worst, fabs(r));
    }
    CHECK(worst <= tol * scale, "%s %d: stationarity residual %g", what, inst, worst);
    worst = 0;
    for (int i = 0; i < m; ++i) worst = fmax(worst, fabs(ch_dot(n, G + i * n, x) + s[i] - h[i]));
    for (int t = 0; t < k; ++t) worst = fmax(worst, fabs(ch_dot(n, A + t * n, x) - b[t]));
    CHECK(worst <= tol * scale, "%s %d: primal residual %g", what, inst, worst);
}

/* A copy of host data in the backend's memory (the CPU's is host memory too). */
static void *ch_dev(const void *host, size_t bytes)
{
    void *p = NULL;
    if (!bytes) return NULL;
    CHECK_OK(dopt_memory_alloc(tu_ctx, bytes, &p));
    if (host) CHECK_OK(dopt_memory_upload(tu_ctx, p, host, bytes));
    return p;
}
static void ch_get(void *host, const void *dev, size_t bytes)
{
    if (bytes) CHECK_OK(dopt_memory_download(tu_ctx, host, dev, bytes));
}
static void ch_free(void *p)
{
    if (p) dopt_memory_free(tu_ctx, p);
}

/* Host-side batch: data and results for B instances of one shape (f64). */
typedef struct {
    ch_shape sh;
    int64_t B;
    double *c, *G, *h, *A, *b;
    double *x, *s, *z, *y;
    int32_t status[64], iters[64];
} ch_batch;

static void ch_batch_alloc(ch_batch *bt, const ch_shape *sh, int64_t B)
{
    bt->sh = *sh;
    bt->B = B;
    size_t n = sh->n, m = sh->m, k = sh->k;
    bt->c = calloc(B * n, sizeof(double));
    bt->G = calloc(B * m * n + 1, sizeof(double));
    bt->h = calloc(B * m + 1, sizeof(double));
    bt->A = calloc(B * k * n + 1, sizeof(double));
    bt->b = calloc(B * k + 1, sizeof(double));
    bt->x = calloc(B * n, sizeof(double));
    bt->s = calloc(B * m + 1, sizeof(double));
    bt->z = calloc(B * m + 1, sizeof(double));
    bt->y = calloc(B * k + 1, sizeof(double));
}
static void ch_batch_free(ch_batch *bt)
{
    double *p[] = {bt->c, bt->G, bt->h, bt->A, bt->b, bt->x, bt->s, bt->z, bt->y};
    for (int i = 0; i < 9; ++i) free(p[i]);
}
static void ch_batch_random(ch_batch *bt)
{
    const ch_shape *sh = &bt->sh;
    size_t n = sh->n, m = sh->m, k = sh->k;
    for (int64_t i = 0; i < bt->B; ++i)
        ch_random(sh, bt->c + i * n, bt->G + i * m * n, bt->h + i * m, bt->A + i * k * n, bt->b + i * k);
}

/* A batch of B random feasible programs of shape sh (its m filled in). */
static void ch_batch_random_of(ch_batch *bt, ch_shape sh, int64_t B)
{
    ch_fill_m(&sh);
    ch_batch_alloc(bt, &sh, B);
    ch_batch_random(bt);
}

/* Solves the batch through the backend (f64, per-instance data). */
static dopt_status ch_solve(ch_batch *bt, const dopt_cone_options *opt)
{
    const ch_shape *sh = &bt->sh;
    size_t B = bt->B, n = sh->n, m = sh->m, k = sh->k, d = sizeof(double);
    dopt_cone_problem P = {0};
    P.batch = bt->B;
    P.n = sh->n;
    P.k = sh->k;
    P.cones = ch_dims(sh);
    P.dtype = DOPT_FLOAT64;
    P.c = ch_dev(bt->c, B * n * d);
    P.G = ch_dev(bt->G, B * m * n * d);
    P.h = ch_dev(bt->h, B * m * d);
    P.A = ch_dev(bt->A, B * k * n * d);
    P.b = ch_dev(bt->b, B * k * d);
    dopt_cone_solution sol = {ch_dev(NULL, B * n * d), ch_dev(NULL, B * m * d), ch_dev(NULL, B * m * d),
                              ch_dev(NULL, B * k * d), ch_dev(NULL, B * 4), ch_dev(NULL, B * 4)};
    dopt_status st = dopt_cone_solve(tu_ctx, &P, opt, &sol, NULL);
    if (st == DOPT_OK) {
        ch_get(bt->x, sol.x, B * n * d);
        ch_get(bt->s, sol.s, B * m * d);
        ch_get(bt->z, sol.z, B * m * d);
        ch_get(bt->y, sol.y, B * k * d);
        ch_get(bt->status, sol.status, B * 4);
        ch_get(bt->iters, sol.iters, B * 4);
    }
    void *bufs[] = {sol.x, sol.s, sol.z, sol.y, sol.status, sol.iters};
    for (int i = 0; i < 6; ++i) ch_free(bufs[i]);
    const void *data[] = {P.c, P.G, P.h, P.A, P.b};
    for (int i = 0; i < 5; ++i) ch_free((void *)data[i]);
    return st;
}

/* A random instance around a strictly complementary optimum that is also
 * non-degenerate in fact: the solver (tol 1e-10) recovers the constructed
 * x* and z* to 1e-8, i.e. it converges linearly in the gap. Degenerate
 * optima (where x or z converges like a root of the gap and no derivative
 * exists, or only a one-sided one) are drawn again. PSD blocks: the
 * forward recovers their z* only to ~1e-7 at tol 1e-10 (the NT scaling's
 * eigenvalues of Ls'Z Ls square the conditioning), so the bar is 1e-7 when
 * the shape has one. Returns 0 when none was found in 1000 draws. */
static int ch_random_nondegenerate(const ch_shape *sh, int keep_GA, double *c, double *G, double *h, double *A,
                                   double *b)
{
    double bar = sh->ns ? 1e-7 : 1e-8;
    int n = sh->n, m = sh->m, k = sh->k;
    double xz[320];
    for (int tries = 0; tries < 1000; ++tries) {
        ch_random_strict(sh, keep_GA, c, G, h, A, b, xz);
        ch_batch one;
        one.sh = *sh;
        one.B = 1;
        one.c = c, one.G = G, one.h = h, one.A = A, one.b = b;
        double x[64], s[256], z[256], y[64];
        one.x = x, one.s = s, one.z = z, one.y = y;
        dopt_cone_options o = {1e-10, 0, 0, 0};
        if (ch_solve(&one, &o) != DOPT_OK || one.status[0] != 0) continue;
        double e = 0;
        for (int j = 0; j < n; ++j) e = fmax(e, fabs(x[j] - xz[j]));
        for (int i = 0; i < m; ++i) e = fmax(e, fabs(z[i] - xz[n + i]));
        (void)k;
        if (e <= bar) return 1;
    }
    return 0;
}

#endif
