#include "qp_generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void one_instance(int n, int m, int k, dopt_gen_kind kind, double cond, uint64_t *rs, double *Q,
                         double *p, double *G, double *h, double *A, double *b, double *x, double *lam,
                         double *nu, double *M)
{
    int rank = kind == DOPT_GEN_PSD ? (n + 1) / 2 : n;
    memset(Q, 0, sizeof(double) * (size_t)n * n);
    if (kind != DOPT_GEN_LP) {
        for (int i = 0; i < rank * n; ++i) M[i] = dopt_gen_normal(rs) / sqrt((double)n);
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < n; ++j) {
                double acc = 0;
                for (int r = 0; r < rank; ++r) acc += M[r * n + i] * M[r * n + j];
                Q[i * n + j] = acc + (kind == DOPT_GEN_STRICTLY_CONVEX && i == j ? 1.0 / cond : 0.0);
            }
    }
    for (int i = 0; i < m * n; ++i) G[i] = dopt_gen_normal(rs);
    for (int i = 0; i < k * n; ++i) A[i] = dopt_gen_normal(rs);
    for (int j = 0; j < n; ++j) x[j] = dopt_gen_normal(rs);
    for (int r = 0; r < k; ++r) nu[r] = dopt_gen_normal(rs);
    /* active set: for an LP exactly n-k rows (a vertex), otherwise about half
     * of the rows but never more than n-k (so the active rows stay independent) */
    int cap = n - k > 0 ? n - k : 0, nact = 0;
    for (int r = 0; r < m; ++r) {
        int act;
        if (kind == DOPT_GEN_LP) act = nact < cap;
        else act = nact < cap && dopt_gen_uniform(rs) < 0.5;
        double gx = 0;
        for (int j = 0; j < n; ++j) gx += G[r * n + j] * x[j];
        double u = 0.5 + dopt_gen_uniform(rs);
        lam[r] = act ? u : 0.0;
        h[r] = gx + (act ? 0.0 : u);
        nact += act;
    }
    for (int r = 0; r < k; ++r) {
        double ax = 0;
        for (int j = 0; j < n; ++j) ax += A[r * n + j] * x[j];
        b[r] = ax;
    }
    for (int j = 0; j < n; ++j) {
        double acc = 0;
        for (int i = 0; i < n; ++i) acc += Q[j * n + i] * x[i];
        for (int r = 0; r < m; ++r) acc += G[r * n + j] * lam[r];
        for (int r = 0; r < k; ++r) acc += A[r * n + j] * nu[r];
        p[j] = -acc;
    }
}

void dopt_qp_generate(int64_t batch, int n, int m, int k, dopt_gen_kind kind, double cond, uint64_t seed,
                      double *Q, double *p, double *G, double *h, double *A, double *b, double *xstar,
                      double *lamstar, double *nustar)
{
    size_t nn = (size_t)n * n, mn = (size_t)m * n, kn = (size_t)k * n;
    double *buf = (double *)malloc(sizeof(double) * (nn * 2 + mn + kn + (size_t)n * 2 + (size_t)m * 2 + (size_t)k * 2 + 8));
    if (!buf) return;
    double *tQ = buf, *tM = tQ + nn, *tG = tM + nn, *tA = tG + mn, *tp = tA + kn, *tx = tp + n, *th = tx + n,
           *tl = th + m, *tb = tl + m, *tn = tb + k;
    for (int64_t i = 0; i < batch; ++i) {
        /* independent streams: hash (seed, i) instead of offsetting one stream */
        uint64_t rs = seed ^ 0xD1B54A32D192ED03ull;
        rs = dopt_splitmix_next(&rs) ^ ((uint64_t)i * 0xA24BAED4963EE407ull);
        rs = dopt_splitmix_next(&rs);
        one_instance(n, m, k, kind, cond > 0 ? cond : 10.0, &rs, tQ, tp, tG, th, tA, tb, tx, tl, tn, tM);
#define PUT(dst, src, len) \
    if (dst) memcpy((dst) + (size_t)i * (len), (src), sizeof(double) * (len))
        PUT(Q, tQ, nn);
        PUT(p, tp, (size_t)n);
        PUT(G, tG, mn);
        PUT(h, th, (size_t)m);
        PUT(A, tA, kn);
        PUT(b, tb, (size_t)k);
        PUT(xstar, tx, (size_t)n);
        PUT(lamstar, tl, (size_t)m);
        PUT(nustar, tn, (size_t)k);
#undef PUT
    }
    free(buf);
}
