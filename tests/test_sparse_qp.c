/* The sparse QP layer (dopt_sparse_qp.h): agreement with the dense layer on
 * the densified instances (answers, statuses, gradients), gradients against
 * central differences, bitwise reuse of a structure and independence of the
 * thread count and of other instances, ragged batches (several structures in
 * one call), float32, bad patterns, and a set
 * cover LP relaxation with n = 2000. Everything runs on both factorization
 * paths (DOPT_SPARSE_QP_FACTOR = ldl, then normal: the dual normal equations
 * wherever Q is diagonal), and every analysis checks the path it took. The
 * CUDA variant, and a build without CHOLMOD, skip (DOPT_ERR_UNSUPPORTED). */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"
#include "sparse_qp_internal.h" /* the path a structure took */
#include "openmp_weak.h"

#include <stdlib.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h> /* mallinfo2: the heap in use, for the memory estimate's check */
#endif

/* The forced path of this pass ("ldl" or "normal"). */
static const char *g_path = "ldl";

static int pattern_q_diagonal(const dopt_sparse_qp_pattern *P)
{
    for (int i = 0; i < P->Q.rows; ++i)
        for (int64_t e = P->Q.indptr[i]; e < P->Q.indptr[i + 1]; ++e)
            if (P->Q.indices[e] != i) return 0;
    return 1;
}

/* Analyses P (NULL on failure, reported) and checks the path: the forced
 * one, except that a Q with an off-diagonal entry always takes the LDL'. */
static dopt_sparse_qp_structure *analyze(const dopt_sparse_qp_pattern *P)
{
    dopt_sparse_qp_structure *S = NULL;
    CHECK_OK(dopt_sparse_qp_analyze(tu_ctx, P, &S));
    if (S) {
        int want = !strcmp(g_path, "normal") && pattern_q_diagonal(P) ? DOPT_SQP_PATH_NORMAL : DOPT_SQP_PATH_LDL;
        CHECK(S->factor_path == want, "path %s: the structure took path %d, expected %d", g_path, S->factor_path,
              want);
    }
    return S;
}

/* An LP's pattern with inequalities only (Q and A empty). */
static dopt_sparse_qp_pattern pattern_lp(int n, int m, int64_t nnz, int64_t *Gp, int32_t *Gi)
{
    dopt_sparse_qp_pattern P;
    memset(&P, 0, sizeof P);
    P.n = n;
    P.m = m;
    P.G = (dopt_csr_pattern){m, n, nnz, Gp, Gi};
    return P;
}

static dopt_qp_options options64(double tol)
{
    dopt_qp_options o;
    dopt_qp_options_default(&o, DOPT_FLOAT64);
    if (tol > 0) o.tol = tol;
    return o;
}

/* One problem family: patterns and per-instance values (double). */
typedef struct {
    int n, m, k;
    int64_t B;
    int64_t *Qp, *Gp, *Ap;
    int32_t *Qi, *Gi, *Ai;
    int64_t nQ, nG, nA;
    double *Qv, *p, *Gv, *h, *Av, *b; /* B x nnz / B x vector (unshared) */
} fam;

static void fam_free(fam *f)
{
    void *a[] = {f->Qp, f->Gp, f->Ap, f->Qi, f->Gi, f->Ai, f->Qv, f->p, f->Gv, f->h, f->Av, f->b};
    for (size_t i = 0; i < sizeof a / sizeof a[0]; ++i) free(a[i]);
    memset(f, 0, sizeof *f);
}

/* CSR from a dense 0/1 mask (rows x cols). */
static int64_t csr_from_mask(const unsigned char *mask, int rows, int cols, int64_t **ip, int32_t **ix)
{
    int64_t nnz = 0;
    for (int64_t e = 0; e < (int64_t)rows * cols; ++e) nnz += mask[e] != 0;
    *ip = (int64_t *)calloc((size_t)rows + 1, sizeof(int64_t));
    *ix = (int32_t *)malloc(sizeof(int32_t) * (size_t)(nnz + 1));
    int64_t q = 0;
    for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c)
            if (mask[(size_t)r * cols + c]) (*ix)[q++] = c;
        (*ip)[r + 1] = q;
    }
    return nnz;
}

enum { FAM_LP = 0, FAM_QP = 1, FAM_QP_DIAG = 2 };    /* Q */
enum { FAM_BOX_SINGLE = 0, FAM_BOX_PAIRS = 1 };       /* G's first 2n rows */

typedef struct {
    uint64_t seed;
    int n, mr, k;
    int qp;         /* FAM_*: none, a sparse PSD matrix, or a diagonal one (gamma I per instance) */
    int upper_only; /* the sparse Q stored as its upper triangle only */
    int absent;     /* some random rows absent (h = +inf) */
    int box;        /* FAM_BOX_SINGLE: -1 <= x_j <= 2, one entry a row; FAM_BOX_PAIRS:
                       -1 <= x_j + 0.1 x_{j+1} <= 2 (cyclic), two entries a row: no singleton rows */
} fam_spec;

/* A random family: Q = a sparse PSD matrix (both triangles, or the upper one
 * only), or diagonal, or none; G = box rows plus sparse random rows, h
 * feasible at a random point (some rows absent: h = +inf), A sparse with
 * b = A x0. The pair box is bounded: M = I + 0.1 (cyclic shift) is
 * invertible, so no d != 0 has M d = 0. */
static void fam_random(fam *f, const fam_spec *sp, int64_t B, double density)
{
    int n = sp->n, mr = sp->mr, k = sp->k, upper_only = sp->upper_only, absent_rows = sp->absent;
    int qp = sp->qp != FAM_LP, pairs = sp->box == FAM_BOX_PAIRS;
    tu_seed(sp->seed);
    memset(f, 0, sizeof *f);
    int m = 2 * n + mr;
    f->n = n;
    f->m = m;
    f->k = k;
    f->B = B;
    unsigned char *mq = (unsigned char *)calloc((size_t)n * n, 1);
    unsigned char *mg = (unsigned char *)calloc((size_t)m * n, 1);
    unsigned char *ma = (unsigned char *)calloc((size_t)(k > 0 ? k : 1) * n, 1);
    if (qp) {
        for (int i = 0; i < n; ++i) {
            mq[(size_t)i * n + i] = 1;
            for (int j = i + 1; j < n && sp->qp == FAM_QP; ++j)
                if (tu_unif() < density) mq[(size_t)i * n + j] = 1, mq[(size_t)j * n + i] = !upper_only;
        }
    }
    for (int j = 0; j < n; ++j) {
        mg[(size_t)j * n + j] = 1;
        mg[(size_t)(n + j) * n + j] = 1;
        if (pairs) mg[(size_t)j * n + (j + 1) % n] = mg[(size_t)(n + j) * n + (j + 1) % n] = 1;
    }
    for (int r = 2 * n; r < m; ++r) {
        for (int c = 0; c < n; ++c) mg[(size_t)r * n + c] = tu_unif() < density;
        mg[(size_t)r * n + (int)(tu_next() % (uint64_t)n)] = 1;
    }
    for (int r = 0; r < k; ++r) {
        for (int c = 0; c < n; ++c) ma[(size_t)r * n + c] = tu_unif() < density;
        ma[(size_t)r * n + (r * 7) % n] = 1;
    }
    f->nQ = csr_from_mask(mq, qp ? n : 0, n, &f->Qp, &f->Qi);
    if (!qp) {
        free(f->Qp);
        f->Qp = (int64_t *)calloc((size_t)n + 1, sizeof(int64_t));
    }
    f->nG = csr_from_mask(mg, m, n, &f->Gp, &f->Gi);
    f->nA = csr_from_mask(ma, k, n, &f->Ap, &f->Ai);
    f->Qv = (double *)calloc((size_t)(B * f->nQ + 1), sizeof(double));
    f->p = (double *)calloc((size_t)(B * n), sizeof(double));
    f->Gv = (double *)calloc((size_t)(B * f->nG + 1), sizeof(double));
    f->h = (double *)calloc((size_t)(B * m), sizeof(double));
    f->Av = (double *)calloc((size_t)(B * f->nA + 1), sizeof(double));
    f->b = (double *)calloc((size_t)(B * k + 1), sizeof(double));
    /* one feasible point for the whole family: any parameter may be shared */
    double *x0 = (double *)malloc(sizeof(double) * (size_t)n);
    for (int j = 0; j < n; ++j) x0[j] = -0.5 + 2 * tu_unif();
    for (int64_t i = 0; i < B; ++i) {
        /* Q = D + sum over off-diagonal pairs of c (e_i +- e_j)(e_i +- e_j)': PSD on the pattern */
        double *Qv = f->Qv + i * f->nQ;
        for (int r = 0; r < (qp ? n : 0); ++r)
            for (int64_t e = f->Qp[r]; e < f->Qp[r + 1]; ++e)
                if (f->Qi[e] == r) Qv[e] = 0.5 + tu_unif();
        for (int r = 0; r < (qp ? n : 0); ++r)
            for (int64_t e = f->Qp[r]; e < f->Qp[r + 1]; ++e) {
                int c = f->Qi[e];
                if (c <= r) continue;
                double w = 0.3 * tu_unif(), sgn = tu_unif() < 0.5 ? -1 : 1;
                /* the off-diagonal weight, split over both triangles when stored */
                double off = sgn * w;
                Qv[e] = upper_only ? 2 * off : off;
                if (!upper_only)
                    for (int64_t e2 = f->Qp[c]; e2 < f->Qp[c + 1]; ++e2)
                        if (f->Qi[e2] == r) Qv[e2] = off;
                for (int d = 0; d < 2; ++d) {
                    int rr = d ? c : r;
                    for (int64_t e2 = f->Qp[rr]; e2 < f->Qp[rr + 1]; ++e2)
                        if (f->Qi[e2] == rr) Qv[e2] += w;
                }
            }
        for (int j = 0; j < n; ++j) f->p[i * n + j] = tu_normal();
        double *Gv = f->Gv + i * f->nG, *h = f->h + i * m;
        for (int r = 0; r < m; ++r) {
            double gx = 0;
            for (int64_t e = f->Gp[r]; e < f->Gp[r + 1]; ++e) {
                int c = f->Gi[e];
                double box = c == r % n ? 1 : 0.1; /* the pair's second entry: 0.1 */
                Gv[e] = r < n ? -box : r < 2 * n ? box : tu_normal();
                gx += Gv[e] * x0[c];
            }
            h[r] = r < n ? 1 : r < 2 * n ? 2 : gx + 0.5 * tu_unif();
            if (absent_rows && r >= 2 * n && tu_unif() < 0.25) h[r] = INFINITY;
        }
        double *Av = f->Av + i * f->nA, *b = f->b + i * k;
        for (int r = 0; r < k; ++r) {
            double ax = 0;
            for (int64_t e = f->Ap[r]; e < f->Ap[r + 1]; ++e) {
                Av[e] = tu_normal();
                ax += Av[e] * x0[f->Ai[e]];
            }
            b[r] = ax;
        }
    }
    free(x0);
    free(mq);
    free(mg);
    free(ma);
}

static dopt_sparse_qp_pattern fam_pattern(const fam *f)
{
    dopt_sparse_qp_pattern P;
    memset(&P, 0, sizeof P);
    P.n = f->n;
    P.m = f->m;
    P.k = f->k;
    P.Q.rows = f->nQ ? f->n : 0;
    P.Q.cols = f->n;
    P.Q.nnz = f->nQ;
    P.Q.indptr = f->nQ ? f->Qp : NULL;
    P.Q.indices = f->nQ ? f->Qi : NULL;
    P.G = (dopt_csr_pattern){f->m, f->n, f->nG, f->Gp, f->Gi};
    P.A = (dopt_csr_pattern){f->k, f->n, f->nA, f->Ap, f->Ai};
    return P;
}

/* The family's structure (NULL on failure: the family is then freed). */
static dopt_sparse_qp_structure *fam_analyze(fam *f)
{
    dopt_sparse_qp_pattern P = fam_pattern(f);
    dopt_sparse_qp_structure *S = analyze(&P);
    if (!S) fam_free(f);
    return S;
}

static dopt_sparse_qp_values fam_values(const fam *f)
{
    dopt_sparse_qp_values V;
    memset(&V, 0, sizeof V);
    V.batch = f->B;
    V.dtype = DOPT_FLOAT64;
    V.Q_values = f->nQ ? f->Qv : NULL;
    V.p = f->p;
    V.G_values = f->Gv;
    V.h = f->h;
    V.A_values = f->k ? f->Av : NULL;
    V.b = f->k ? f->b : NULL;
    return V;
}

/* Scatters CSR values (B x nnz) into dense row-major (B x rows x cols). */
static double *densify(int64_t B, int rows, int cols, const int64_t *ip, const int32_t *ix, const double *v,
                       int64_t nnz)
{
    double *d = (double *)calloc((size_t)(B * rows * cols + 1), sizeof(double));
    for (int64_t i = 0; i < B; ++i)
        for (int r = 0; r < rows; ++r)
            for (int64_t e = ip[r]; e < ip[r + 1]; ++e)
                d[(size_t)(i * rows + r) * cols + ix[e]] = v[i * nnz + e];
    return d;
}

typedef struct {
    double *x, *lam, *nu;
    int32_t *status, *iters;
    double *dQ, *dp, *dG, *dh, *dA, *db;
} result;

static void result_alloc(result *r, int64_t B, int64_t n, int64_t m, int64_t k, int64_t nQ, int64_t nG, int64_t nA)
{
    r->x = (double *)calloc((size_t)(B * n + 1), sizeof(double));
    r->lam = (double *)calloc((size_t)(B * m + 1), sizeof(double));
    r->nu = (double *)calloc((size_t)(B * k + 1), sizeof(double));
    r->status = (int32_t *)calloc((size_t)B + 1, sizeof(int32_t));
    r->iters = (int32_t *)calloc((size_t)B + 1, sizeof(int32_t));
    r->dQ = (double *)calloc((size_t)(B * nQ + 1), sizeof(double));
    r->dp = (double *)calloc((size_t)(B * n + 1), sizeof(double));
    r->dG = (double *)calloc((size_t)(B * nG + 1), sizeof(double));
    r->dh = (double *)calloc((size_t)(B * m + 1), sizeof(double));
    r->dA = (double *)calloc((size_t)(B * nA + 1), sizeof(double));
    r->db = (double *)calloc((size_t)(B * k + 1), sizeof(double));
}

static void result_free(result *r)
{
    void *a[] = {r->x, r->lam, r->nu, r->status, r->iters, r->dQ, r->dp, r->dG, r->dh, r->dA, r->db};
    for (size_t i = 0; i < sizeof a / sizeof a[0]; ++i) free(a[i]);
}

static double maxdiff(int64_t len, const double *a, const double *b)
{
    double d = 0;
    for (int64_t e = 0; e < len; ++e)
        if (!(fabs(a[e] - b[e]) <= d)) d = fabs(a[e] - b[e]);
    return d;
}

static double maxabs(int64_t len, const double *a)
{
    double d = 0;
    for (int64_t e = 0; e < len; ++e)
        if (fabs(a[e]) > d) d = fabs(a[e]);
    return d;
}

/* Solves and differentiates with the sparse layer (gx etc. the incoming
 * gradients; grads NULL-able by want). */
static dopt_status sparse_run(const dopt_sparse_qp_structure *S, const dopt_sparse_qp_values *V,
                              const dopt_qp_options *o, result *r, const double *gx, const double *gl,
                              const double *gn)
{
    dopt_qp_solution sol = {r->x, r->lam, r->nu, r->status, r->iters};
    dopt_sparse_qp_tape *tape = NULL;
    dopt_status st = dopt_sparse_qp_solve(tu_ctx, S, V, o, &sol, gx ? &tape : NULL);
    if (st != DOPT_OK || !gx) return st;
    dopt_qp_grad_in gin = {gx, gl, gn};
    dopt_qp_grad_out gout = {r->dQ, r->dp, r->dG, r->dh, r->dA, r->db};
    st = dopt_sparse_qp_backward(tu_ctx, tape, &gin, &gout);
    dopt_sparse_qp_tape_destroy(tape);
    return st;
}

static int sqp_test_finite_all(int64_t len, const double *a)
{
    for (int64_t e = 0; e < len; ++e)
        if (!(fabs(a[e]) <= 1e300)) return 0;
    return 1;
}

static double *randn(int64_t len)
{
    double *v = (double *)malloc(sizeof(double) * (size_t)(len + 1));
    for (int64_t e = 0; e < len; ++e) v[e] = tu_normal();
    return v;
}

/* ---- sparse vs dense ---- */

static void test_vs_dense(fam_spec sp, uint32_t shared)
{
    fam f;
    int64_t B = 4;
    fam_random(&f, &sp, B, 0.25);
    uint64_t seed = sp.seed;
    int n = f.n, m = f.m, k = f.k, qp = sp.qp != FAM_LP;
    /* shared parameters: instance 0's copy for everyone */
    if (shared & DOPT_QP_SHARE_G) /* with instance 0's h (per instance, equal), which G x0 satisfies */
        for (int64_t i = 1; i < B; ++i) {
            memcpy(f.Gv + i * f.nG, f.Gv, sizeof(double) * (size_t)f.nG);
            memcpy(f.h + i * f.m, f.h, sizeof(double) * (size_t)f.m);
        }
    if (shared & DOPT_QP_SHARE_Q)
        for (int64_t i = 1; i < B; ++i) memcpy(f.Qv + i * f.nQ, f.Qv, sizeof(double) * (size_t)f.nQ);
    if (shared & DOPT_QP_SHARE_P)
        for (int64_t i = 1; i < B; ++i) memcpy(f.p + i * n, f.p, sizeof(double) * (size_t)n);
    dopt_sparse_qp_structure *S = fam_analyze(&f);
    if (!S) return;
    dopt_sparse_qp_values V = fam_values(&f);
    V.shared = shared;
    dopt_qp_options o = options64(1e-10);
    double *gx = randn(B * n), *gl = randn(B * m), *gn = randn(B * k + 1);
    result rs, rd;
    result_alloc(&rs, B, n, m, k, f.nQ, f.nG, f.nA);
    result_alloc(&rd, B, n, m, k, (int64_t)n * n, (int64_t)m * n, (int64_t)k * n);
    CHECK_OK(sparse_run(S, &V, &o, &rs, gx, gl, k ? gn : NULL));
    /* the dense layer on the densified matrices */
    double *Qd = qp ? densify(B, n, n, f.Qp, f.Qi, f.Qv, f.nQ) : NULL;
    double *Gd = densify(B, m, n, f.Gp, f.Gi, f.Gv, f.nG);
    double *Ad = k ? densify(B, k, n, f.Ap, f.Ai, f.Av, f.nA) : NULL;
    dopt_qp_problem D = {B, n, m, k, DOPT_FLOAT64, Qd, f.p, Gd, f.h, Ad, k ? f.b : NULL, shared};
    dopt_qp_solution dsol = {rd.x, rd.lam, rd.nu, rd.status, rd.iters};
    dopt_qp_tape *dt = NULL;
    CHECK_OK(dopt_qp_solve(tu_ctx, &D, &o, &dsol, &dt));
    dopt_qp_grad_in gin = {gx, gl, k ? gn : NULL};
    dopt_qp_grad_out gout = {qp ? rd.dQ : NULL, rd.dp, rd.dG, rd.dh, k ? rd.dA : NULL, k ? rd.db : NULL};
    CHECK_OK(dopt_qp_backward(tu_ctx, dt, &gin, &gout));
    dopt_qp_tape_destroy(dt);
    for (int64_t i = 0; i < B; ++i)
        CHECK(rs.status[i] == rd.status[i] && rs.status[i] == DOPT_SOLVED,
              "seed %llu instance %lld: sparse status %d, dense %d", (unsigned long long)seed, (long long)i,
              rs.status[i], rd.status[i]);
    double tol = 1e-6;
    double ex = maxdiff(B * n, rs.x, rd.x), el = maxdiff(B * m, rs.lam, rd.lam), en = maxdiff(B * k, rs.nu, rd.nu);
    CHECK(ex <= tol * (1 + maxabs(B * n, rd.x)) && el <= tol * (1 + maxabs(B * m, rd.lam)) &&
              en <= tol * (1 + maxabs(B * k, rd.nu)),
          "seed %llu: sparse vs dense x %.3g lam %.3g nu %.3g", (unsigned long long)seed, ex, el, en);
    /* gradients: sparse entries against the dense matrices' entries */
    int gQ = (shared & DOPT_QP_SHARE_Q) ? 1 : (int)B, gG = (shared & DOPT_QP_SHARE_G) ? 1 : (int)B;
    double gtol = 1e-5, eQ = 0, eG = 0, eA = 0, sQ = 1, sG = 1, sA = 1;
    for (int i = 0; i < gQ && qp; ++i)
        for (int r = 0; r < n; ++r)
            for (int64_t e = f.Qp[r]; e < f.Qp[r + 1]; ++e) {
                double a = rs.dQ[i * f.nQ + e], b = rd.dQ[((size_t)i * n + r) * n + f.Qi[e]];
                if (fabs(a - b) > eQ) eQ = fabs(a - b);
                if (fabs(b) > sQ) sQ = fabs(b);
            }
    for (int i = 0; i < gG; ++i)
        for (int r = 0; r < m; ++r)
            for (int64_t e = f.Gp[r]; e < f.Gp[r + 1]; ++e) {
                double a = rs.dG[i * f.nG + e], b = rd.dG[((size_t)i * m + r) * n + f.Gi[e]];
                if (fabs(a - b) > eG) eG = fabs(a - b);
                if (fabs(b) > sG) sG = fabs(b);
            }
    for (int i = 0; i < (int)B && k; ++i)
        for (int r = 0; r < k; ++r)
            for (int64_t e = f.Ap[r]; e < f.Ap[r + 1]; ++e) {
                double a = rs.dA[i * f.nA + e], b = rd.dA[((size_t)i * k + r) * n + f.Ai[e]];
                if (fabs(a - b) > eA) eA = fabs(a - b);
                if (fabs(b) > sA) sA = fabs(b);
            }
    int64_t np = (shared & DOPT_QP_SHARE_P) ? n : B * n;
    double ep = maxdiff(np, rs.dp, rd.dp), eh = maxdiff(B * m, rs.dh, rd.dh), eb = maxdiff(B * k, rs.db, rd.db);
    CHECK(eQ <= gtol * sQ && eG <= gtol * sG && eA <= gtol * sA && ep <= gtol * (1 + maxabs(np, rd.dp)) &&
              eh <= gtol * (1 + maxabs(B * m, rd.dh)) && eb <= gtol * (1 + maxabs(B * k, rd.db)),
          "seed %llu: gradients sparse vs dense dQ %.3g dG %.3g dA %.3g dp %.3g dh %.3g db %.3g",
          (unsigned long long)seed, eQ, eG, eA, ep, eh, eb);
    result_free(&rs);
    result_free(&rd);
    free(Qd);
    free(Gd);
    free(Ad);
    free(gx);
    free(gl);
    free(gn);
    dopt_sparse_qp_structure_destroy(S);
    fam_free(&f);
}

/* ---- gradients against central differences ---- */

static double loss_of(const dopt_sparse_qp_structure *S, const dopt_sparse_qp_values *V, const dopt_qp_options *o,
                      const fam *f, const double *gx, const double *gl, const double *gn)
{
    result r;
    result_alloc(&r, 1, f->n, f->m, f->k, 0, 0, 0);
    sparse_run(S, V, o, &r, NULL, NULL, NULL);
    double L = 0;
    for (int j = 0; j < f->n; ++j) L += gx[j] * r.x[j];
    for (int j = 0; j < f->m; ++j) L += gl[j] * r.lam[j];
    for (int j = 0; j < f->k; ++j) L += gn[j] * r.nu[j];
    result_free(&r);
    return L;
}

static void test_central_differences(int qp)
{
    fam f;
    fam_spec sp = {77, 10, 6, 2, qp, 0, 1, FAM_BOX_SINGLE};
    fam_random(&f, &sp, 1, 0.3);
    dopt_sparse_qp_structure *S = fam_analyze(&f);
    if (!S) return;
    dopt_sparse_qp_values V = fam_values(&f);
    dopt_qp_options o = options64(1e-12);
    double *gx = randn(f.n), *gl = randn(f.m), *gn = randn(f.k);
    result r;
    result_alloc(&r, 1, f.n, f.m, f.k, f.nQ, f.nG, f.nA);
    CHECK_OK(sparse_run(S, &V, &o, &r, gx, gl, gn));
    CHECK(r.status[0] == DOPT_SOLVED, "status %d", r.status[0]);
    /* every value of every parameter: (L(v + e) - L(v - e)) / 2e */
    struct {
        const char *name;
        double *vals, *grad;
        int64_t len;
    } ps[] = {{"Q", f.Qv, r.dQ, f.nQ}, {"p", f.p, r.dp, f.n}, {"G", f.Gv, r.dG, f.nG},
              {"h", f.h, r.dh, f.m},   {"A", f.Av, r.dA, f.nA}, {"b", f.b, r.db, f.k}};
    const double eps = 1e-6;
    for (size_t q = 0; q < sizeof ps / sizeof ps[0]; ++q) {
        double worst = 0, scale = 1;
        for (int64_t e = 0; e < ps[q].len; ++e) {
            if (!(fabs(ps[q].vals[e]) <= 1e300)) continue; /* an absent row's h */
            double v0 = ps[q].vals[e];
            ps[q].vals[e] = v0 + eps;
            double Lp = loss_of(S, &V, &o, &f, gx, gl, gn);
            ps[q].vals[e] = v0 - eps;
            double Lm = loss_of(S, &V, &o, &f, gx, gl, gn);
            ps[q].vals[e] = v0;
            double fd = (Lp - Lm) / (2 * eps), g = ps[q].grad[e];
            if (fabs(fd - g) > worst) worst = fabs(fd - g);
            if (fabs(g) > scale) scale = fabs(g);
        }
        /* central differences at eps = 1e-6 of a solution accurate to 1e-12:
         * truncation O(eps^2 |L'''|) plus rounding 1e-12 / 1e-6: 1e-5 relative */
        CHECK(worst <= 1e-5 * scale, "d%s: central differences differ by %.3g (scale %.3g)", ps[q].name, worst,
              scale);
    }
    result_free(&r);
    free(gx);
    free(gl);
    free(gn);
    dopt_sparse_qp_structure_destroy(S);
    fam_free(&f);
}

/* ---- reuse, threads, isolation, float32 ---- */

static int same_result(const result *a, const result *b, int64_t B, int n, int m, int k)
{
    return !memcmp(a->x, b->x, sizeof(double) * (size_t)(B * n)) &&
           !memcmp(a->lam, b->lam, sizeof(double) * (size_t)(B * m)) &&
           !memcmp(a->nu, b->nu, sizeof(double) * (size_t)(B * k)) &&
           !memcmp(a->status, b->status, sizeof(int32_t) * (size_t)B) &&
           !memcmp(a->iters, b->iters, sizeof(int32_t) * (size_t)B);
}

static void test_bitwise(int qp)
{
    fam f;
    int64_t B = 6;
    fam_spec sp = {5, 14, 8, 3, qp, 0, 1, FAM_BOX_SINGLE};
    fam_random(&f, &sp, B, 0.25);
    int n = f.n, m = f.m, k = f.k;
    dopt_sparse_qp_pattern P = fam_pattern(&f);
    dopt_sparse_qp_structure *S1 = analyze(&P), *S2 = analyze(&P);
    if (!S1 || !S2) {
        dopt_sparse_qp_structure_destroy(S1);
        dopt_sparse_qp_structure_destroy(S2);
        fam_free(&f);
        return;
    }
    dopt_sparse_qp_values V = fam_values(&f);
    result a, b, c, d;
    result_alloc(&a, B, n, m, k, 0, 0, 0);
    result_alloc(&b, B, n, m, k, 0, 0, 0);
    result_alloc(&c, B, n, m, k, 0, 0, 0);
    result_alloc(&d, B, n, m, k, 0, 0, 0);
    CHECK_OK(dopt_context_set_threads(tu_ctx, 1));
    CHECK_OK(sparse_run(S1, &V, NULL, &a, NULL, NULL, NULL));
    CHECK_OK(sparse_run(S1, &V, NULL, &b, NULL, NULL, NULL));
    CHECK_OK(sparse_run(S2, &V, NULL, &c, NULL, NULL, NULL));
    CHECK_OK(dopt_context_set_threads(tu_ctx, 2));
    CHECK_OK(sparse_run(S1, &V, NULL, &d, NULL, NULL, NULL));
    CHECK_OK(dopt_context_set_threads(tu_ctx, 0));
    CHECK(same_result(&a, &b, B, n, m, k), "solving twice with one structure differs");
    CHECK(same_result(&a, &c, B, n, m, k), "a fresh structure differs");
    CHECK(same_result(&a, &d, B, n, m, k), "1 and 2 threads differ");
    for (int64_t i = 0; i < B; ++i) CHECK(a.status[i] == DOPT_SOLVED, "instance %lld: status %d", (long long)i, a.status[i]);

    /* a NaN in instance 2's G: status 5 there, the others bitwise unchanged */
    double saved = f.Gv[2 * f.nG + 3];
    f.Gv[2 * f.nG + 3] = NAN;
    CHECK_OK(sparse_run(S1, &V, NULL, &b, NULL, NULL, NULL));
    f.Gv[2 * f.nG + 3] = saved;
    CHECK(b.status[2] == DOPT_INVALID_DATA, "NaN instance: status %d", b.status[2]);
    for (int64_t i = 0; i < B; ++i) {
        if (i == 2) continue;
        CHECK(!memcmp(a.x + i * n, b.x + i * n, sizeof(double) * (size_t)n) &&
                  !memcmp(a.lam + i * m, b.lam + i * m, sizeof(double) * (size_t)m) && a.status[i] == b.status[i],
              "instance %lld changed by another's NaN", (long long)i);
    }
    /* an instance solved alone (batch of one at its offset) is bitwise the batch's */
    dopt_sparse_qp_values V1 = V;
    V1.batch = 1;
    V1.Q_values = f.Qv + 4 * f.nQ;
    V1.p = f.p + 4 * n;
    V1.G_values = f.Gv + 4 * f.nG;
    V1.h = f.h + 4 * m;
    V1.A_values = f.Av + 4 * f.nA;
    V1.b = f.b + 4 * k;
    CHECK_OK(sparse_run(S1, &V1, NULL, &c, NULL, NULL, NULL));
    CHECK(!memcmp(c.x, a.x + 4 * n, sizeof(double) * (size_t)n) && c.iters[0] == a.iters[4],
          "instance 4 alone differs from the batch");

    /* float32: the values rounded, solved in double, rounded out: bitwise the
     * float64 solve of the rounded values, rounded; and near the dense float32 layer */
    int64_t lens[6] = {B * f.nQ, B * n, B * f.nG, B * m, B * f.nA, B * k};
    double *src[6] = {f.Qv, f.p, f.Gv, f.h, f.Av, f.b};
    float *fv[6];
    for (int q = 0; q < 6; ++q) {
        fv[q] = (float *)malloc(sizeof(float) * (size_t)(lens[q] + 1));
        for (int64_t e = 0; e < lens[q]; ++e) {
            fv[q][e] = (float)src[q][e];
            src[q][e] = (double)fv[q][e];
        }
    }
    /* float64 tolerances for both (float32's defaults are looser) */
    dopt_qp_options o64;
    dopt_qp_options_default(&o64, DOPT_FLOAT64);
    CHECK_OK(sparse_run(S1, &V, &o64, &a, NULL, NULL, NULL));
    dopt_sparse_qp_values VF = V;
    VF.dtype = DOPT_FLOAT32;
    VF.Q_values = fv[0];
    VF.p = fv[1];
    VF.G_values = fv[2];
    VF.h = fv[3];
    VF.A_values = fv[4];
    VF.b = fv[5];
    float *xf = (float *)malloc(sizeof(float) * (size_t)(B * n)), *lf = (float *)malloc(sizeof(float) * (size_t)(B * m)),
          *nf = (float *)malloc(sizeof(float) * (size_t)(B * k));
    int32_t stf[6];
    dopt_qp_solution solf = {xf, lf, nf, stf, NULL};
    dopt_sparse_qp_tape *tf = NULL;
    CHECK_OK(dopt_sparse_qp_solve(tu_ctx, S1, &VF, &o64, &solf, &tf));
    int same = 1;
    for (int64_t e = 0; e < B * n; ++e) same &= xf[e] == (float)a.x[e];
    for (int64_t e = 0; e < B * m; ++e) same &= lf[e] == (float)a.lam[e];
    CHECK(same, "float32 is not the rounded float64 solve of the rounded values");
    /* float32 gradients: the float64 ones rounded (the tape keeps the double solution) */
    float *gxf = (float *)malloc(sizeof(float) * (size_t)(B * n)), *dGf = (float *)malloc(sizeof(float) * (size_t)(B * f.nG));
    double *gxd = (double *)malloc(sizeof(double) * (size_t)(B * n));
    for (int64_t e = 0; e < B * n; ++e) gxd[e] = (double)(gxf[e] = (float)tu_normal());
    dopt_qp_grad_in ginf = {gxf, NULL, NULL};
    dopt_qp_grad_out goutf = {NULL, NULL, dGf, NULL, NULL, NULL};
    CHECK_OK(dopt_sparse_qp_backward(tu_ctx, tf, &ginf, &goutf));
    result g;
    result_alloc(&g, B, n, m, k, f.nQ, f.nG, f.nA);
    CHECK_OK(sparse_run(S1, &V, &o64, &g, gxd, NULL, NULL));
    same = 1;
    for (int64_t e = 0; e < B * f.nG; ++e) same &= dGf[e] == (float)g.dG[e];
    CHECK(same, "float32 gradients are not the rounded float64 ones");
    dopt_sparse_qp_tape_destroy(tf);
    result_free(&g);
    free(gxf);
    free(dGf);
    free(gxd);
    free(xf);
    free(lf);
    free(nf);
    for (int q = 0; q < 6; ++q) free(fv[q]);
    result_free(&a);
    result_free(&b);
    result_free(&c);
    result_free(&d);
    dopt_sparse_qp_structure_destroy(S1);
    dopt_sparse_qp_structure_destroy(S2);
    fam_free(&f);
}

/* ---- ragged batches: several structures in one call ---- */

enum { GROUPS = 4 };

/* Group g of test_groups solved and differentiated alone, or all groups in
 * one dopt_sparse_qp_solve_groups / dopt_sparse_qp_backward_groups call;
 * tapes in/out (a tape of an earlier call is refilled). */
static dopt_status groups_run(int together, dopt_sparse_qp_structure *const *S, const dopt_sparse_qp_values *V,
                              result *r, double *const *gx, double *const *gl, double *const *gn,
                              dopt_sparse_qp_tape **tapes)
{
    dopt_sparse_qp_group grp[GROUPS];
    dopt_sparse_qp_group_grad gg[GROUPS];
    for (int g = 0; g < GROUPS; ++g) {
        grp[g].structure = S[g];
        grp[g].values = V[g];
        grp[g].solution = (dopt_qp_solution){r[g].x, r[g].lam, r[g].nu, r[g].status, r[g].iters};
    }
    dopt_status st = DOPT_OK;
    if (together) {
        st = dopt_sparse_qp_solve_groups(tu_ctx, GROUPS, grp, NULL, tapes);
    } else {
        for (int g = 0; g < GROUPS && st == DOPT_OK; ++g)
            st = dopt_sparse_qp_solve(tu_ctx, S[g], &V[g], NULL, &grp[g].solution, &tapes[g]);
    }
    if (st != DOPT_OK) return st;
    for (int g = 0; g < GROUPS; ++g) {
        gg[g].tape = tapes[g];
        gg[g].in = (dopt_qp_grad_in){gx[g], gl[g], gn[g]};
        gg[g].out = (dopt_qp_grad_out){r[g].dQ, r[g].dp, r[g].dG, r[g].dh, r[g].dA, r[g].db};
    }
    if (together) return dopt_sparse_qp_backward_groups(tu_ctx, GROUPS, gg);
    for (int g = 0; g < GROUPS && st == DOPT_OK; ++g) st = dopt_sparse_qp_backward(tu_ctx, tapes[g], &gg[g].in, &gg[g].out);
    return st;
}

/* Four families of different sizes and patterns (a QP, an LP, an empty
 * batch, Q = gamma I with a NaN instance) in one call: each group bitwise
 * what it gets alone, forward and backward, on 1 and 2 threads, refilling
 * its tapes; and the calls' argument errors name the group. */
static void test_groups(void)
{
    fam f[GROUPS];
    fam_spec sp[GROUPS] = {{31, 9, 5, 2, FAM_QP, 0, 1, FAM_BOX_SINGLE},
                           {32, 12, 6, 0, FAM_LP, 0, 0, FAM_BOX_SINGLE},
                           {33, 7, 3, 1, FAM_QP, 0, 0, FAM_BOX_SINGLE},
                           {34, 6, 4, 2, FAM_QP_DIAG, 0, 0, FAM_BOX_PAIRS}};
    int64_t batch[GROUPS] = {3, 1, 0, 2};
    dopt_sparse_qp_structure *S[GROUPS] = {NULL};
    dopt_sparse_qp_values V[GROUPS];
    double *gx[GROUPS], *gl[GROUPS], *gn[GROUPS];
    result alone[GROUPS], one[GROUPS], two[GROUPS];
    int ok = 1;
    for (int g = 0; g < GROUPS; ++g) {
        fam_random(&f[g], &sp[g], batch[g] > 0 ? batch[g] : 1, 0.3);
        S[g] = fam_analyze(&f[g]);
        ok &= S[g] != NULL;
    }
    if (!ok) {
        for (int g = 0; g < GROUPS; ++g) {
            dopt_sparse_qp_structure_destroy(S[g]);
            fam_free(&f[g]);
        }
        return;
    }
    f[3].Gv[1 * f[3].nG + 2] = NAN; /* group 3's instance 1: status 5, its neighbour untouched */
    for (int g = 0; g < GROUPS; ++g) {
        V[g] = fam_values(&f[g]);
        V[g].batch = batch[g];
        int64_t B = f[g].B;
        gx[g] = randn(B * f[g].n);
        gl[g] = f[g].m ? randn(B * f[g].m) : NULL;
        gn[g] = f[g].k ? randn(B * f[g].k) : NULL;
        result_alloc(&alone[g], B, f[g].n, f[g].m, f[g].k, f[g].nQ, f[g].nG, f[g].nA);
        result_alloc(&one[g], B, f[g].n, f[g].m, f[g].k, f[g].nQ, f[g].nG, f[g].nA);
        result_alloc(&two[g], B, f[g].n, f[g].m, f[g].k, f[g].nQ, f[g].nG, f[g].nA);
    }
    dopt_sparse_qp_tape *ta[GROUPS] = {NULL}, *tb[GROUPS] = {NULL};
    CHECK_OK(dopt_context_set_threads(tu_ctx, 2));
    CHECK_OK(groups_run(0, S, V, alone, gx, gl, gn, ta));
    CHECK_OK(dopt_context_set_threads(tu_ctx, 1));
    CHECK_OK(groups_run(1, S, V, one, gx, gl, gn, tb));
    dopt_sparse_qp_tape *first_tape = tb[0];
    CHECK_OK(dopt_context_set_threads(tu_ctx, 2));
    CHECK_OK(groups_run(1, S, V, two, gx, gl, gn, tb)); /* refills tb */
    CHECK(tb[0] == first_tape, "the groups' tapes were not refilled in place");
    CHECK_OK(dopt_context_set_threads(tu_ctx, 0));
    for (int g = 0; g < GROUPS; ++g) {
        int64_t B = batch[g];
        fam *q = &f[g];
        const result *r[2] = {&one[g], &two[g]};
        for (int t = 0; t < 2; ++t) {
            const result *a = &alone[g], *b = r[t];
            int same = same_result(a, b, B, q->n, q->m, q->k) &&
                       !memcmp(a->dp, b->dp, sizeof(double) * (size_t)(B * q->n)) &&
                       !memcmp(a->dh, b->dh, sizeof(double) * (size_t)(B * q->m)) &&
                       !memcmp(a->db, b->db, sizeof(double) * (size_t)(B * q->k)) &&
                       !memcmp(a->dQ, b->dQ, sizeof(double) * (size_t)(B * q->nQ)) &&
                       !memcmp(a->dG, b->dG, sizeof(double) * (size_t)(B * q->nG)) &&
                       !memcmp(a->dA, b->dA, sizeof(double) * (size_t)(B * q->nA));
            CHECK(same, "group %d (%d threads): not bitwise what it gets alone", g, t + 1);
        }
        for (int64_t i = 0; i < B; ++i) {
            int want = g == 3 && i == 1 ? DOPT_INVALID_DATA : DOPT_SOLVED;
            CHECK(one[g].status[i] == want, "group %d instance %lld: status %d, want %d", g, (long long)i,
                  one[g].status[i], want);
        }
    }
    CHECK(maxabs(f[0].B * f[0].nG, one[0].dG) > 0, "group 0's dG is all zero: the backward did nothing");

    /* the patterns analysed at once (on 2 threads): the same choices, and
     * bitwise the same solves, as one analysis each */
    dopt_sparse_qp_pattern pats[GROUPS];
    dopt_sparse_qp_structure *many[GROUPS];
    for (int g = 0; g < GROUPS; ++g) pats[g] = fam_pattern(&f[g]);
    CHECK_OK(dopt_context_set_threads(tu_ctx, 2));
    CHECK_OK(dopt_sparse_qp_analyze_many(tu_ctx, GROUPS, pats, many));
    CHECK_OK(dopt_context_set_threads(tu_ctx, 0));
    for (int g = 0; g < GROUPS; ++g)
        CHECK(many[g] && many[g]->factor_path == S[g]->factor_path && many[g]->ldl_order == S[g]->ldl_order,
              "pattern %d: analysed at once, another path or ordering", g);
    dopt_sparse_qp_tape *tm[GROUPS] = {NULL};
    result viam[GROUPS];
    for (int g = 0; g < GROUPS; ++g)
        result_alloc(&viam[g], f[g].B, f[g].n, f[g].m, f[g].k, f[g].nQ, f[g].nG, f[g].nA);
    CHECK_OK(groups_run(1, many, V, viam, gx, gl, gn, tm));
    for (int g = 0; g < GROUPS; ++g) {
        CHECK(same_result(&alone[g], &viam[g], batch[g], f[g].n, f[g].m, f[g].k) &&
                  !memcmp(alone[g].dG, viam[g].dG, sizeof(double) * (size_t)(batch[g] * f[g].nG)),
              "group %d: the structure of dopt_sparse_qp_analyze_many solves differently", g);
        dopt_sparse_qp_tape_destroy(tm[g]);
        result_free(&viam[g]);
        dopt_sparse_qp_structure_destroy(many[g]);
    }
    /* a bad pattern names itself and leaves nothing behind */
    int32_t saved_col = pats[2].G.indices[0];
    ((int32_t *)pats[2].G.indices)[0] = f[2].n + 7;
    for (int g = 0; g < GROUPS; ++g) many[g] = (dopt_sparse_qp_structure *)(uintptr_t)1;
    dopt_status bad = dopt_sparse_qp_analyze_many(tu_ctx, GROUPS, pats, many);
    ((int32_t *)pats[2].G.indices)[0] = saved_col;
    const char *bad_msg = dopt_context_last_error(tu_ctx);
    CHECK(bad == DOPT_ERR_INVALID_ARGUMENT && strstr(bad_msg, "pattern 2: G: row 0") && !many[0] && !many[1] &&
              !many[2] && !many[3],
          "a bad pattern among several: %s, '%s'", dopt_status_string(bad), bad_msg);

    /* argument errors name the group and solve nothing */
    dopt_sparse_qp_group grp[2];
    for (int g = 0; g < 2; ++g) {
        grp[g].structure = S[g];
        grp[g].values = V[g];
        grp[g].solution = (dopt_qp_solution){one[g].x, one[g].lam, one[g].nu, one[g].status, one[g].iters};
    }
    grp[1].structure = NULL;
    dopt_status st = dopt_sparse_qp_solve_groups(tu_ctx, 2, grp, NULL, NULL);
    const char *msg = dopt_context_last_error(tu_ctx);
    CHECK(st == DOPT_ERR_INVALID_ARGUMENT && strstr(msg, "group 1: structure is NULL"), "NULL structure: %s, '%s'",
          dopt_status_string(st), msg);
    /* a failed call frees the tapes passed in and leaves NULL (the
     * sanitizer build's leak check holds it to the first half) */
    dopt_sparse_qp_tape *pass[2] = {NULL, NULL};
    CHECK_OK(dopt_sparse_qp_solve(tu_ctx, S[0], &V[0], NULL, &grp[0].solution, &pass[0]));
    st = dopt_sparse_qp_solve_groups(tu_ctx, 2, grp, NULL, pass);
    CHECK(st == DOPT_ERR_INVALID_ARGUMENT && !pass[0] && !pass[1], "a failed call: %s, tapes %p %p",
          dopt_status_string(st), (void *)pass[0], (void *)pass[1]);
    grp[1].structure = S[1];
    grp[1].values.dtype = DOPT_FLOAT32;
    st = dopt_sparse_qp_solve_groups(tu_ctx, 2, grp, NULL, NULL);
    msg = dopt_context_last_error(tu_ctx);
    CHECK(st == DOPT_ERR_INVALID_ARGUMENT && strstr(msg, "group 1: dtype differs"), "mixed dtypes: %s, '%s'",
          dopt_status_string(st), msg);
    grp[1].values.dtype = DOPT_FLOAT64;
    dopt_sparse_qp_tape *twice[2] = {tb[0], tb[0]};
    st = dopt_sparse_qp_solve_groups(tu_ctx, 2, grp, NULL, twice);
    msg = dopt_context_last_error(tu_ctx);
    CHECK(st == DOPT_ERR_INVALID_ARGUMENT && strstr(msg, "one tape is passed for two groups") && twice[0] == tb[0],
          "one tape twice: %s, '%s'", dopt_status_string(st), msg);
    st = dopt_sparse_qp_solve_groups(tu_ctx, -1, grp, NULL, NULL);
    CHECK(st == DOPT_ERR_INVALID_ARGUMENT, "count -1: %s", dopt_status_string(st));
    CHECK_OK(dopt_sparse_qp_solve_groups(tu_ctx, 0, NULL, NULL, NULL));
    dopt_sparse_qp_group_grad gg[2] = {{tb[0], {gx[0], NULL, NULL}, {0}}, {NULL, {gx[1], NULL, NULL}, {0}}};
    st = dopt_sparse_qp_backward_groups(tu_ctx, 2, gg);
    msg = dopt_context_last_error(tu_ctx);
    CHECK(st == DOPT_ERR_INVALID_ARGUMENT && strstr(msg, "sparse qp backward: group 1: tape is NULL"),
          "backward without a tape: %s, '%s'", dopt_status_string(st), msg);

    for (int g = 0; g < GROUPS; ++g) {
        dopt_sparse_qp_tape_destroy(ta[g]);
        dopt_sparse_qp_tape_destroy(tb[g]);
        result_free(&alone[g]);
        result_free(&one[g]);
        result_free(&two[g]);
        free(gx[g]);
        free(gl[g]);
        free(gn[g]);
        dopt_sparse_qp_structure_destroy(S[g]);
        fam_free(&f[g]);
    }
}

/* ---- infeasible and unbounded: the dense layer's statuses ---- */

static void test_certificates(void)
{
    /* n = 2: instance 0 x0 <= -1 and -x0 <= -1 (infeasible); instance 1
     * min -x1 with x0 <= 1 only (unbounded); instance 2 a plain LP */
    int64_t Gp[4] = {0, 1, 2, 3};
    int32_t Gi[3] = {0, 0, 1};
    dopt_sparse_qp_pattern P = pattern_lp(2, 3, 3, Gp, Gi); /* singleton rows only: S is empty */
    dopt_sparse_qp_structure *S = analyze(&P);
    if (!S) return;
    double Gv[9] = {1, -1, 1, 1, -1, 1, 1, -1, -1};
    double h[9] = {-1, -1, INFINITY, 1, INFINITY, INFINITY, 1, 1, 0};
    double p[6] = {0, 0, 0, -1, -1, 1};
    dopt_sparse_qp_values V = {3, DOPT_FLOAT64, NULL, p, Gv, h, NULL, NULL, 0};
    double x[6], lam[9];
    int32_t st[3], dst[3];
    dopt_qp_solution sol = {x, lam, NULL, st, NULL};
    CHECK_OK(dopt_sparse_qp_solve(tu_ctx, S, &V, NULL, &sol, NULL));
    double Gd[18] = {0};
    for (int i = 0; i < 3; ++i)
        for (int r = 0; r < 3; ++r) Gd[(i * 3 + r) * 2 + Gi[r]] = Gv[i * 3 + r];
    double xd[6], ld[9];
    dopt_qp_problem D = {3, 2, 3, 0, DOPT_FLOAT64, NULL, p, Gd, h, NULL, NULL, 0};
    dopt_qp_solution dsol = {xd, ld, NULL, dst, NULL};
    CHECK_OK(dopt_qp_solve(tu_ctx, &D, NULL, &dsol, NULL));
    CHECK(st[0] == DOPT_PRIMAL_INFEASIBLE && st[1] == DOPT_DUAL_INFEASIBLE && st[2] == DOPT_SOLVED,
          "statuses %d %d %d", st[0], st[1], st[2]);
    for (int i = 0; i < 3; ++i) CHECK(st[i] == dst[i], "instance %d: sparse %d dense %d", i, st[i], dst[i]);
    /* the certificates: h'lam = -1 with G'lam = 0, lam >= 0; p'x = -1 with Gx <= 0 on rows that are on */
    CHECK(fabs(h[0] * lam[0] + h[1] * lam[1] + 1) < 1e-9 && fabs(lam[0] - lam[1]) < 1e-9 && lam[0] >= 0,
          "Farkas certificate lam = %g %g", lam[0], lam[1]);
    CHECK(fabs(p[2] * x[2] + p[3] * x[3] + 1) < 1e-9 && x[2] <= 1e-9, "recession direction x = %g %g", x[2], x[3]);
    dopt_sparse_qp_structure_destroy(S);
}

/* Q not positive semidefinite: DOPT_INVALID_DATA, as in the dense layer;
 * the PSD instance beside it solves */
static void test_not_psd(void)
{
    int64_t Qp[3] = {0, 2, 4};
    int32_t Qi[4] = {0, 1, 0, 1};
    int64_t Gp[3] = {0, 1, 2};
    int32_t Gi[2] = {0, 1};
    dopt_sparse_qp_pattern P = pattern_lp(2, 2, 2, Gp, Gi);
    P.Q = (dopt_csr_pattern){2, 2, 4, Qp, Qi};
    dopt_sparse_qp_structure *S = analyze(&P);
    if (!S) return;
    /* instance 0: [[1, 2], [2, 1]] (eigenvalue -1); instance 1: [[2, 1], [1, 2]] */
    double Qv[8] = {1, 2, 2, 1, 2, 1, 1, 2}, p[4] = {1, 1, 1, 1}, Gv[2] = {1, 1}, h[2] = {1, 1};
    double x[4], lam[4];
    int32_t st[2];
    dopt_sparse_qp_values V = {2, DOPT_FLOAT64, Qv, p, Gv, h, NULL, NULL, DOPT_QP_SHARE_G | DOPT_QP_SHARE_H};
    dopt_qp_solution sol = {x, lam, NULL, st, NULL};
    CHECK_OK(dopt_sparse_qp_solve(tu_ctx, S, &V, NULL, &sol, NULL));
    CHECK(st[0] == DOPT_INVALID_DATA && st[1] == DOPT_SOLVED, "not PSD: statuses %d %d", st[0], st[1]);
    /* x = -(Q^-1) p = -(1/3, 1/3) for instance 1 (constraints inactive) */
    CHECK(fabs(x[2] + 1.0 / 3) < 1e-7 && fabs(x[3] + 1.0 / 3) < 1e-7, "PSD instance x = %g %g", x[2], x[3]);
    dopt_sparse_qp_structure_destroy(S);
    /* a diagonal Q (the dual normal equations' kind): diag(-1, 1) is not PSD, diag(2, 2) is */
    int64_t Dp[3] = {0, 1, 2};
    int32_t Di[2] = {0, 1};
    P.Q = (dopt_csr_pattern){2, 2, 2, Dp, Di};
    S = analyze(&P);
    if (!S) return;
    double Dv[4] = {-1, 1, 2, 2};
    V.Q_values = Dv;
    CHECK_OK(dopt_sparse_qp_solve(tu_ctx, S, &V, NULL, &sol, NULL));
    CHECK(st[0] == DOPT_INVALID_DATA && st[1] == DOPT_SOLVED, "diagonal Q not PSD: statuses %d %d", st[0], st[1]);
    CHECK(fabs(x[2] + 0.5) < 1e-7 && fabs(x[3] + 0.5) < 1e-7, "diagonal PSD instance x = %g %g", x[2], x[3]);
    dopt_sparse_qp_structure_destroy(S);
}

/* ---- bad input ---- */

static void expect_bad(const dopt_sparse_qp_pattern *P, const char *name, const char *what)
{
    dopt_sparse_qp_structure *S = (dopt_sparse_qp_structure *)(uintptr_t)1;
    dopt_status st = dopt_sparse_qp_analyze(tu_ctx, P, &S);
    const char *msg = dopt_context_last_error(tu_ctx);
    char needle[16];
    snprintf(needle, sizeof needle, "%s", name);
    CHECK(st == DOPT_ERR_INVALID_ARGUMENT && S == NULL && strstr(msg, needle) != NULL, "%s: status %s, message '%s'",
          what, dopt_status_string(st), msg);
}

static void test_bad_patterns(void)
{
    int64_t Gp[3] = {0, 2, 3};
    int32_t Gi[3] = {0, 2, 1};
    dopt_sparse_qp_pattern P = pattern_lp(3, 2, 3, Gp, Gi);
    dopt_sparse_qp_structure *S = analyze(&P);
    dopt_sparse_qp_structure_destroy(S);
    int64_t bad_ptr[3] = {0, 3, 2};
    P.G.indptr = bad_ptr;
    P.G.nnz = 2;
    expect_bad(&P, "G", "indptr not monotone");
    P.G.indptr = Gp;
    P.G.nnz = 3;
    int32_t out_of_range[3] = {0, 3, 1};
    P.G.indices = out_of_range;
    expect_bad(&P, "G", "index out of range");
    int32_t unsorted[3] = {2, 0, 1};
    P.G.indices = unsorted;
    expect_bad(&P, "G", "unsorted row");
    P.G.indices = Gi;
    P.G.cols = 4;
    expect_bad(&P, "G", "wrong shape");
    P.G.cols = 3;
    int64_t Ap[2] = {0, 1};
    int32_t Ai[1] = {1};
    P.k = 1;
    P.A = (dopt_csr_pattern){1, 3, 2, Ap, Ai};
    expect_bad(&P, "A", "nnz disagrees with indptr");
    P.A.nnz = 1;
    int64_t Qp[4] = {0, 1, 1, 2};
    int32_t Qi[2] = {0, 5};
    P.Q = (dopt_csr_pattern){3, 3, 2, Qp, Qi};
    expect_bad(&P, "Q", "Q index out of range");
    CHECK(dopt_sparse_qp_analyze(tu_ctx, NULL, &S) == DOPT_ERR_INVALID_ARGUMENT, "NULL pattern");
    /* values: a missing array */
    P.Q = (dopt_csr_pattern){0, 0, 0, NULL, NULL};
    S = analyze(&P);
    double p[3] = {1, 1, 1}, x[3];
    int32_t st[1];
    dopt_sparse_qp_values V = {1, DOPT_FLOAT64, NULL, p, NULL, NULL, NULL, NULL, 0};
    dopt_qp_solution sol = {x, NULL, NULL, st, NULL};
    CHECK(dopt_sparse_qp_solve(tu_ctx, S, &V, NULL, &sol, NULL) == DOPT_ERR_INVALID_ARGUMENT &&
              strstr(dopt_context_last_error(tu_ctx), "G_values") != NULL,
          "missing G values: '%s'", dopt_context_last_error(tu_ctx));
    dopt_sparse_qp_structure_destroy(S);
}

/* infeasible_mode CLOSEST is the dense layer's (dopt_qp_solve): refused
 * here with a clear message rather than silently reporting infeasibility */
static void test_closest_mode_refused(void)
{
    int64_t Gp[3] = {0, 1, 2};
    int32_t Gi[2] = {0, 0};
    dopt_sparse_qp_pattern P = pattern_lp(1, 2, 2, Gp, Gi);
    dopt_sparse_qp_structure *S = analyze(&P);
    if (!S) return;
    /* x <= -1 and -x <= -1: infeasible */
    double Gv[2] = {1, -1}, h[2] = {-1, -1}, p[1] = {0}, x[1], lam[2];
    int32_t st[1] = {-1};
    dopt_sparse_qp_values V = {1, DOPT_FLOAT64, NULL, p, Gv, h, NULL, NULL, 0};
    dopt_qp_solution sol = {x, lam, NULL, st, NULL};
    dopt_qp_options o = options64(0);
    o.infeasible_mode = DOPT_QP_INFEASIBLE_CLOSEST;
    dopt_status s = dopt_sparse_qp_solve(tu_ctx, S, &V, &o, &sol, NULL);
    CHECK(s == DOPT_ERR_INVALID_ARGUMENT && strstr(dopt_context_last_error(tu_ctx), "infeasible_mode") != NULL,
          "CLOSEST mode: %s, '%s', status %d", dopt_status_string(s), dopt_context_last_error(tu_ctx), st[0]);
    o.infeasible_mode = DOPT_QP_INFEASIBLE_REPORT;
    CHECK_OK(dopt_sparse_qp_solve(tu_ctx, S, &V, &o, &sol, NULL));
    CHECK(st[0] == DOPT_PRIMAL_INFEASIBLE, "REPORT mode: status %d", st[0]);
    dopt_sparse_qp_structure_destroy(S);
}

/* ---- a set cover LP relaxation, n = 2000 ----
 *   min c'x  s.t.  sum_{j covers i} x_j >= 1,  0 <= x <= 1
 * checked by its own optimality conditions: primal and dual feasibility and
 * a relative duality gap, computed here from x, lam. */
static void test_set_cover(int n, int rows, double density, int64_t B, int report)
{
    tu_seed(2024);
    int m = rows + 2 * n;
    int64_t *Gp = (int64_t *)calloc((size_t)m + 1, sizeof(int64_t));
    int64_t cap = (int64_t)(rows * (n * density + 2)) + 2 * n + 16;
    int32_t *Gi = (int32_t *)malloc(sizeof(int32_t) * (size_t)cap);
    int64_t q = 0;
    for (int r = 0; r < rows; ++r) {
        int forced = (int)(tu_next() % (uint64_t)n);
        for (int c = 0; c < n; ++c)
            if (c == forced || tu_unif() < density) {
                if (q >= cap) break;
                Gi[q++] = c;
            }
        Gp[r + 1] = q;
    }
    for (int j = 0; j < n; ++j) {
        Gi[q++] = j; /* -x_j <= 0 */
        Gp[rows + j + 1] = q;
    }
    for (int j = 0; j < n; ++j) {
        Gi[q++] = j; /* x_j <= 1 */
        Gp[rows + n + j + 1] = q;
    }
    int64_t nG = q;
    double *Gv = (double *)malloc(sizeof(double) * (size_t)nG), *h = (double *)malloc(sizeof(double) * (size_t)m);
    for (int r = 0; r < m; ++r) {
        for (int64_t e = Gp[r]; e < Gp[r + 1]; ++e) Gv[e] = r < rows + n ? -1 : 1;
        h[r] = r < rows ? -1 : r < rows + n ? 0 : 1;
    }
    double *c = (double *)malloc(sizeof(double) * (size_t)(B * n));
    for (int64_t e = 0; e < B * n; ++e) c[e] = 1 + 99 * tu_unif();
    dopt_sparse_qp_pattern P = pattern_lp(n, m, nG, Gp, Gi);
    struct timespec t0, t1, t2, t3;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dopt_sparse_qp_structure *S = analyze(&P);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!S) return;
    dopt_sparse_qp_values V = {B, DOPT_FLOAT64, NULL, c, Gv, h, NULL, NULL, DOPT_QP_SHARE_G | DOPT_QP_SHARE_H};
    double *x = (double *)malloc(sizeof(double) * (size_t)(B * n)), *lam = (double *)malloc(sizeof(double) * (size_t)(B * m));
    int32_t *st = (int32_t *)malloc(sizeof(int32_t) * (size_t)B), *it = (int32_t *)malloc(sizeof(int32_t) * (size_t)B);
    dopt_qp_solution sol = {x, lam, NULL, st, it};
    dopt_sparse_qp_tape *tape = NULL;
    CHECK_OK(dopt_sparse_qp_solve(tu_ctx, S, &V, NULL, &sol, &tape));
    clock_gettime(CLOCK_MONOTONIC, &t2);
    double *gx = (double *)malloc(sizeof(double) * (size_t)(B * n)), *dp = (double *)malloc(sizeof(double) * (size_t)(B * n));
    for (int64_t e = 0; e < B * n; ++e) gx[e] = tu_normal();
    dopt_qp_grad_in gin = {gx, NULL, NULL};
    dopt_qp_grad_out gout = {NULL, dp, NULL, NULL, NULL, NULL};
    CHECK_OK(dopt_sparse_qp_backward(tu_ctx, tape, &gin, &gout));
    clock_gettime(CLOCK_MONOTONIC, &t3);
    for (int64_t i = 0; i < B; ++i) {
        const double *xi = x + i * n, *li = lam + i * m, *ci = c + i * n;
        CHECK(st[i] == DOPT_SOLVED, "set cover %lld: status %d", (long long)i, st[i]);
        /* primal feasibility, dual feasibility (c + G'lam = 0, lam >= 0), gap c'x + h'lam */
        double pviol = 0, dviol = 0, cx = 0, hl = 0, lneg = 0;
        double *r = (double *)calloc((size_t)n, sizeof(double));
        for (int row = 0; row < m; ++row) {
            double gxr = 0;
            for (int64_t e = Gp[row]; e < Gp[row + 1]; ++e) {
                gxr += Gv[e] * xi[Gi[e]];
                r[Gi[e]] += Gv[e] * li[row];
            }
            if (gxr - h[row] > pviol) pviol = gxr - h[row];
            hl += h[row] * li[row];
            if (-li[row] > lneg) lneg = -li[row];
        }
        for (int j = 0; j < n; ++j) {
            cx += ci[j] * xi[j];
            if (fabs(r[j] + ci[j]) > dviol) dviol = fabs(r[j] + ci[j]);
        }
        free(r);
        double gap = fabs(cx + hl) / (1 + fabs(cx));
        CHECK(pviol <= 1e-6 && dviol <= 1e-6 * 100 && lneg == 0 && gap <= 1e-7,
              "set cover %lld: primal violation %.3g dual %.3g gap %.3g", (long long)i, pviol, dviol, gap);
        CHECK(sqp_test_finite_all(n, dp + i * n), "set cover %lld: gradient not finite", (long long)i);
    }
    if (report) {
        double ta = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
        double tf = (t2.tv_sec - t1.tv_sec) + 1e-9 * (t2.tv_nsec - t1.tv_nsec);
        double tb = (t3.tv_sec - t2.tv_sec) + 1e-9 * (t3.tv_nsec - t2.tv_nsec);
        printf("set cover n=%d rows=%d nnz(G)=%lld batch %lld, path %s: analyze %.3f s, forward %.3f s (%d "
               "iterations), backward %.3f s\n",
               n, rows, (long long)nG, (long long)B, g_path, ta, tf, it[0], tb);
    }
    dopt_sparse_qp_tape_destroy(tape);
    dopt_sparse_qp_structure_destroy(S);
    free(Gp);
    free(Gi);
    free(Gv);
    free(h);
    free(c);
    free(x);
    free(lam);
    free(st);
    free(it);
    free(gx);
    free(dp);
}

/* Duplicate rows over free variables: S = C + R D^-1 R' with D = delta on
 * those columns is nearly singular near the solution. Both paths must still
 * give the dense layer's status and objective. (When S's Cholesky fails in
 * rounding, the factorizer takes the LDL' of the same Kf for that iterate:
 * the random families and the set cover above take that fallback on a few
 * iterates, seen with temporary instrumentation; this instance does not.) */
static void test_degenerate_rows(void)
{
    int64_t Gp[5] = {0, 2, 4, 5, 6};
    int32_t Gi[6] = {0, 1, 0, 1, 2, 2};
    dopt_sparse_qp_pattern P = pattern_lp(3, 4, 6, Gp, Gi);
    dopt_sparse_qp_structure *S = analyze(&P);
    if (!S) return;
    /* min -x0 - x1 + x2 s.t. x0 + x1 <= 1 (twice), x2 <= 1, -x2 <= 0: value -1 */
    double Gv[6] = {1, 1, 1, 1, 1, -1}, h[4] = {1, 1, 1, 0}, p[3] = {-1, -1, 1};
    double x[3], lam[4], xd[3], ld[4], Gd[12] = {0};
    int32_t st[1], dst[1];
    dopt_sparse_qp_values V = {1, DOPT_FLOAT64, NULL, p, Gv, h, NULL, NULL, 0};
    dopt_qp_solution sol = {x, lam, NULL, st, NULL};
    dopt_qp_options o = options64(1e-10);
    CHECK_OK(dopt_sparse_qp_solve(tu_ctx, S, &V, &o, &sol, NULL));
    for (int r = 0; r < 4; ++r)
        for (int64_t e = Gp[r]; e < Gp[r + 1]; ++e) Gd[r * 3 + Gi[e]] = Gv[e];
    dopt_qp_problem D = {1, 3, 4, 0, DOPT_FLOAT64, NULL, p, Gd, h, NULL, NULL, 0};
    dopt_qp_solution dsol = {xd, ld, NULL, dst, NULL};
    CHECK_OK(dopt_qp_solve(tu_ctx, &D, &o, &dsol, NULL));
    double f = p[0] * x[0] + p[1] * x[1] + p[2] * x[2];
    CHECK(st[0] == DOPT_SOLVED && dst[0] == DOPT_SOLVED && fabs(f + 1) < 1e-8 && fabs(x[2]) < 1e-8,
          "degenerate rows: status %d (dense %d), objective %.12g, x2 %g", st[0], dst[0], f, x[2]);
    dopt_sparse_qp_structure_destroy(S);
}

/* The two paths solve the same Kf: without refinement in the forward (the
 * refinement against K would mend a wrong solve, at a cost in iterations),
 * the iterates, iteration counts and gradients agree to rounding. */
static void test_paths_agree(void)
{
    fam f;
    int64_t B = 3;
    fam_spec sp = {21, 16, 8, 3, FAM_QP_DIAG, 0, 1, FAM_BOX_SINGLE};
    fam_random(&f, &sp, B, 0.3);
    int n = f.n, m = f.m, k = f.k;
    dopt_sparse_qp_pattern P = fam_pattern(&f);
    dopt_sparse_qp_values V = fam_values(&f);
    dopt_qp_options o = options64(1e-9);
    o.refine = 0;
    double *gx = randn(B * n);
    result r[2];
    for (int q = 0; q < 2; ++q) {
        setenv("DOPT_SPARSE_QP_FACTOR", q ? "normal" : "ldl", 1);
        dopt_sparse_qp_structure *S = NULL;
        CHECK_OK(dopt_sparse_qp_analyze(tu_ctx, &P, &S));
        result_alloc(&r[q], B, n, m, k, f.nQ, f.nG, f.nA);
        if (S) CHECK_OK(sparse_run(S, &V, &o, &r[q], gx, NULL, NULL));
        CHECK(S && S->factor_path == (q ? DOPT_SQP_PATH_NORMAL : DOPT_SQP_PATH_LDL), "path %d", q);
        dopt_sparse_qp_structure_destroy(S);
    }
    for (int64_t i = 0; i < B; ++i)
        CHECK(r[0].status[i] == DOPT_SOLVED && r[1].status[i] == DOPT_SOLVED && r[0].iters[i] == r[1].iters[i],
              "instance %lld: ldl status %d (%d iterations), normal %d (%d)", (long long)i, r[0].status[i],
              r[0].iters[i], r[1].status[i], r[1].iters[i]);
    double ex = maxdiff(B * n, r[0].x, r[1].x), eg = maxdiff(B * n, r[0].dp, r[1].dp);
    /* the same steps on two factorizations of the same Kf: they differ by
     * rounding, amplified by Kf's conditioning near the solution (W up to
     * 1e12): measured 1e-12 in x and 4e-11 in dp; a wrong solve (D off by
     * 1e-3) changes iteration counts and statuses */
    CHECK(ex <= 1e-9 * (1 + maxabs(B * n, r[0].x)) && eg <= 1e-9 * (1 + maxabs(B * n, r[0].dp)),
          "ldl vs normal: x %.3g dp %.3g", ex, eg);
    result_free(&r[0]);
    result_free(&r[1]);
    free(gx);
    fam_free(&f);
}

/* CHOLMOD's supernodal factorization opens OpenMP teams of its own; the
 * layer makes them one thread for the factorization's duration only
 * (src/cpu/sparse_qp_cpu.c, sqp_supernodal_factorize). The calling
 * thread's OpenMP setting must be the same after a solve on that path as
 * before it, with the caller as the only worker and with two. Where no
 * OpenMP runtime is in the process (CHOLMOD built without it;
 * openmp_weak.h), there is nothing to change and the test says so. */
static void test_openmp_untouched(void)
{
    if (!DOPT_HAVE_OMP_CONTROL) {
        printf("test_openmp_untouched: skipped (no OpenMP runtime in the process, or no weak symbols)\n");
        return;
    }
    fam f;
    int64_t B = 4;
    fam_spec sp = {31, 16, 8, 2, FAM_LP, 0, 1, FAM_BOX_SINGLE};
    fam_random(&f, &sp, B, 0.3);
    dopt_sparse_qp_pattern P = fam_pattern(&f);
    dopt_sparse_qp_values V = fam_values(&f);
    dopt_qp_options o = options64(1e-8);
    setenv("DOPT_SPARSE_QP_FACTOR", "normal", 1);
    dopt_sparse_qp_structure *S = NULL;
    CHECK_OK(dopt_sparse_qp_analyze(tu_ctx, &P, &S));
    CHECK(S && S->factor_path == DOPT_SQP_PATH_NORMAL, "the LP did not take the dual normal equations");
    int saved = omp_get_max_active_levels();
    for (int threads = 1; threads <= 2 && S; ++threads) {
        CHECK_OK(dopt_context_set_threads(tu_ctx, threads));
        omp_set_max_active_levels(3);
        result r;
        result_alloc(&r, B, f.n, f.m, f.k, f.nQ, f.nG, f.nA);
        CHECK_OK(sparse_run(S, &V, &o, &r, NULL, NULL, NULL));
        int after = omp_get_max_active_levels();
        CHECK(after == 3, "%d thread(s): the caller's max-active-levels is %d after a solve, was 3", threads, after);
        for (int64_t i = 0; i < B; ++i) CHECK(r.status[i] == DOPT_SOLVED, "instance %lld: status %d", (long long)i, r.status[i]);
        result_free(&r);
    }
    omp_set_max_active_levels(saved);
    CHECK_OK(dopt_context_set_threads(tu_ctx, 0));
    dopt_sparse_qp_structure_destroy(S);
    setenv("DOPT_SPARSE_QP_FACTOR", g_path, 1);
    fam_free(&f);
}

/* DOPT_SPARSE_QP_FACTOR: auto takes the dual normal equations for a set
 * cover (S is 40 x 40 with dense fill; Kf's LDL' costs more) and the LDL'
 * for a Q with an off-diagonal entry; a bad value is a clear error. */
static void test_path_choice(void)
{
    enum { n = 60, rows = 40 };
    int64_t Gp[rows + 2 * n + 1];
    int32_t Gi[rows * n + 2 * n];
    int64_t q = 0;
    Gp[0] = 0;
    tu_seed(99);
    for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < n; ++c)
            if (c == r || tu_unif() < 0.3) Gi[q++] = c;
        Gp[r + 1] = q;
    }
    for (int r = rows; r < rows + 2 * n; ++r) {
        Gi[q++] = (r - rows) % n;
        Gp[r + 1] = q;
    }
    dopt_sparse_qp_pattern P = pattern_lp(n, rows + 2 * n, q, Gp, Gi);
    dopt_sparse_qp_structure *S = NULL;
    setenv("DOPT_SPARSE_QP_FACTOR", "auto", 1);
    CHECK_OK(dopt_sparse_qp_analyze(tu_ctx, &P, &S));
    CHECK(S && S->factor_path == DOPT_SQP_PATH_NORMAL, "auto: set cover took path %d", S ? S->factor_path : -1);
    dopt_sparse_qp_structure_destroy(S);
    int64_t Qp[n + 1];
    int32_t Qi[n + 1];
    for (int i = 0; i <= n; ++i) Qp[i] = i < 1 ? 0 : i + 1; /* row 0: (0, 0), (0, 1); then the diagonal */
    Qi[0] = 0;
    Qi[1] = 1;
    for (int i = 1; i < n; ++i) Qi[i + 1] = i;
    P.Q = (dopt_csr_pattern){n, n, n + 1, Qp, Qi};
    setenv("DOPT_SPARSE_QP_FACTOR", "normal", 1);
    S = NULL;
    CHECK_OK(dopt_sparse_qp_analyze(tu_ctx, &P, &S));
    CHECK(S && S->factor_path == DOPT_SQP_PATH_LDL, "an off-diagonal Q took path %d", S ? S->factor_path : -1);
    dopt_sparse_qp_structure_destroy(S);
    /* an epigraph column (t in every row: a_i x_i - t <= 0) makes S dense:
     * auto keeps the LDL' (decided from the patterns, before S is built) */
    {
        enum { me = 3000 };
        int64_t *Ep = malloc(sizeof(int64_t) * (me + 1));
        int32_t *Ei = malloc(sizeof(int32_t) * 2 * me);
        for (int r = 0; r <= me; ++r) Ep[r] = 2 * r;
        for (int r = 0; r < me; ++r) Ei[2 * r] = r, Ei[2 * r + 1] = me; /* x_r, then t (column me) */
        dopt_sparse_qp_pattern E = pattern_lp(me + 1, me, 2 * me, Ep, Ei);
        setenv("DOPT_SPARSE_QP_FACTOR", "auto", 1);
        S = NULL;
        CHECK_OK(dopt_sparse_qp_analyze(tu_ctx, &E, &S));
        CHECK(S && S->factor_path == DOPT_SQP_PATH_LDL, "auto: an epigraph column took path %d",
              S ? S->factor_path : -1);
        dopt_sparse_qp_structure_destroy(S);
        free(Ep), free(Ei);
    }
    setenv("DOPT_SPARSE_QP_FACTOR", "cholesky", 1);
    S = (dopt_sparse_qp_structure *)(uintptr_t)1;
    dopt_status st = dopt_sparse_qp_analyze(tu_ctx, &P, &S);
    CHECK(st == DOPT_ERR_INVALID_ARGUMENT && S == NULL &&
              strstr(dopt_context_last_error(tu_ctx), "DOPT_SPARSE_QP_FACTOR") != NULL,
          "a bad DOPT_SPARSE_QP_FACTOR: %s, '%s'", dopt_status_string(st), dopt_context_last_error(tu_ctx));
}

/* Kf's ordering: duals first where that is cheap (a small random QP), AMD's
 * where one dense row of G would make G'WG dense. The AMD branch still
 * solves: max sum x s.t. sum x <= 10, 0 <= x <= 1 (one dense row) has the
 * optimum -10. */
static void test_ordering_choice(void)
{
    fam f;
    fam_spec sp = {13, 14, 8, 3, FAM_QP, 0, 1, FAM_BOX_SINGLE};
    fam_random(&f, &sp, 1, 0.25);
    dopt_sparse_qp_structure *S = fam_analyze(&f);
    CHECK(S && S->ldl_order == DOPT_SQP_ORDER_DUALS_FIRST, "a small random QP: ordering %d",
          S ? S->ldl_order : -1);
    dopt_sparse_qp_structure_destroy(S);
    fam_free(&f);

    enum { n = 200, m = 1 + 2 * n };
    int64_t Gp[m + 1];
    int32_t Gi[n + 2 * n];
    double Gv[n + 2 * n], h[m], p[n];
    int64_t q = 0;
    Gp[0] = 0;
    for (int c = 0; c < n; ++c) Gi[q] = c, Gv[q++] = 1;
    Gp[1] = q;
    h[0] = 10;
    for (int r = 1; r < m; ++r) {
        int c = (r - 1) % n, upper = r <= n;
        Gi[q] = c, Gv[q++] = upper ? 1 : -1;
        Gp[r + 1] = q;
        h[r] = upper ? 1 : 0;
    }
    for (int c = 0; c < n; ++c) p[c] = -1;
    dopt_sparse_qp_pattern P = pattern_lp(n, m, q, Gp, Gi);
    S = analyze(&P);
    if (!S) return;
    CHECK(S->factor_path != DOPT_SQP_PATH_LDL || S->ldl_order == DOPT_SQP_ORDER_AMD,
          "a dense row of G: ordering %d", S->ldl_order);
    dopt_sparse_qp_values V;
    memset(&V, 0, sizeof V);
    V.batch = 1;
    V.dtype = DOPT_FLOAT64;
    V.p = p;
    V.G_values = Gv;
    V.h = h;
    result r;
    result_alloc(&r, 1, n, m, 0, 0, 0, 0);
    dopt_qp_options o = options64(1e-9);
    CHECK_OK(sparse_run(S, &V, &o, &r, NULL, NULL, NULL));
    double obj = 0;
    for (int c = 0; c < n; ++c) obj += p[c] * r.x[c];
    CHECK(r.status[0] == DOPT_SOLVED && fabs(obj + 10) < 1e-7, "a dense row of G: status %d, objective %.12g",
          (int)r.status[0], obj);
    result_free(&r);
    dopt_sparse_qp_structure_destroy(S);
}

/* The context's memory cap covers the sparse layer's own allocations (its
 * workspaces and CHOLMOD's factors, estimated from the symbolic analysis)
 * while a call runs: a cap below them is DOPT_ERR_OUT_OF_MEMORY naming the
 * call, before anything runs; a cap above them changes nothing (bitwise);
 * the backward is capped too. */
static void test_memory_cap(void)
{
    fam f;
    int64_t B = 6;
    fam_spec sp = {13, 14, 8, 3, FAM_LP, 0, 1, FAM_BOX_SINGLE};
    fam_random(&f, &sp, B, 0.25);
    dopt_sparse_qp_structure *S = fam_analyze(&f);
    if (!S) return;
    int n = f.n, m = f.m, k = f.k;
    dopt_sparse_qp_values V = fam_values(&f);
    result a, b;
    result_alloc(&a, B, n, m, k, 0, 0, 0);
    result_alloc(&b, B, n, m, k, 0, 0, 0);
    CHECK_OK(sparse_run(S, &V, NULL, &a, NULL, NULL, NULL));
    CHECK_OK(dopt_context_set_memory_limit(tu_ctx, 4096, 0));
    dopt_status st = sparse_run(S, &V, NULL, &b, NULL, NULL, NULL);
    CHECK(st == DOPT_ERR_OUT_OF_MEMORY && strstr(dopt_context_last_error(tu_ctx), "sparse qp solve"),
          "a 4 kB cap: status %d, message '%s'", (int)st, dopt_context_last_error(tu_ctx));
    CHECK_OK(dopt_context_set_memory_limit(tu_ctx, (size_t)1 << 30, 0));
    CHECK_OK(sparse_run(S, &V, NULL, &b, NULL, NULL, NULL));
    CHECK(same_result(&a, &b, B, n, m, k), "a generous cap changed the result");
    /* the estimate covers at least what a tape keeps after the call (the
     * factors and vectors, measured by the heap's in-use bytes), in both
     * dtypes: the charged request is read from the refusal's message */
    CHECK_OK(dopt_context_set_threads(tu_ctx, 1)); /* one worker: the tape's share dominates the estimate */
    for (int f32 = 0; f32 < 2; ++f32) {
        dopt_sparse_qp_values Vd = V;
        float *vals32 = NULL;
        if (f32) { /* float32 copies of every value array, in one buffer */
            size_t len[6] = {(size_t)f.nQ * B, (size_t)n * B, (size_t)f.nG * B, (size_t)m * B, (size_t)f.nA * B,
                             (size_t)k * B};
            const double *src[6] = {V.Q_values, V.p, V.G_values, V.h, V.A_values, V.b};
            const void **dst[6] = {&Vd.Q_values, &Vd.p, &Vd.G_values, &Vd.h, &Vd.A_values, &Vd.b};
            size_t total = 0;
            for (int q = 0; q < 6; ++q) total += src[q] ? len[q] : 0;
            vals32 = malloc(sizeof(float) * (total + 1));
            size_t off = 0;
            for (int q = 0; q < 6; ++q) {
                if (!src[q]) continue;
                for (size_t e = 0; e < len[q]; ++e) vals32[off + e] = (float)src[q][e];
                *dst[q] = vals32 + off;
                off += len[q];
            }
            Vd.dtype = DOPT_FLOAT32;
        }
        float *out32 = malloc(sizeof(float) * (size_t)B * (n + m + k + 3));
        dopt_qp_solution s32 = {out32, out32 + B * n, out32 + B * (n + m), b.status, b.iters};
        dopt_qp_solution s64 = {b.x, b.lam, b.nu, b.status, b.iters};
        dopt_sparse_qp_tape *t1 = NULL;
        CHECK_OK(dopt_context_set_memory_limit(tu_ctx, 4096, 0));
        st = dopt_sparse_qp_solve(tu_ctx, S, &Vd, NULL, f32 ? &s32 : &s64, &t1);
        size_t charged = 0;
        const char *msg = strstr(dopt_context_last_error(tu_ctx), "sparse qp solve");
        CHECK(st == DOPT_ERR_OUT_OF_MEMORY && msg && sscanf(strchr(msg, ':') + 1, " %zu bytes", &charged) == 1,
              "the refusal names the request: '%s'", dopt_context_last_error(tu_ctx));
        CHECK_OK(dopt_context_set_memory_limit(tu_ctx, 0, 0));
#ifdef __GLIBC__
        size_t before = mallinfo2().uordblks;
        CHECK_OK(dopt_sparse_qp_solve(tu_ctx, S, &Vd, NULL, f32 ? &s32 : &s64, &t1));
        size_t kept = mallinfo2().uordblks - before;
        if (kept == 0) /* an allocator without heap statistics (a sanitizer's) */
            printf("memory estimate: not compared (the allocator reports no heap in use)\n");
        else
            CHECK(charged >= kept, "%s: the estimate (%zu bytes) is below what the tape keeps (%zu bytes)",
                  f32 ? "float32" : "float64", charged, kept);
#else
        CHECK_OK(dopt_sparse_qp_solve(tu_ctx, S, &Vd, NULL, f32 ? &s32 : &s64, &t1));
#endif
        dopt_sparse_qp_tape_destroy(t1);
        free(out32), free(vals32);
    }
    CHECK_OK(dopt_context_set_threads(tu_ctx, 0));
    /* the backward: solved with a tape under no cap, differentiated under a small one */
    CHECK_OK(dopt_context_set_memory_limit(tu_ctx, 0, 0));
    dopt_qp_solution sol = {b.x, b.lam, b.nu, b.status, b.iters};
    dopt_sparse_qp_tape *tape = NULL;
    CHECK_OK(dopt_sparse_qp_solve(tu_ctx, S, &V, NULL, &sol, &tape));
    double *gx = calloc((size_t)B * n, sizeof(double)), *dp = calloc((size_t)B * n, sizeof(double));
    for (int64_t e = 0; e < B * n; ++e) gx[e] = 1;
    dopt_qp_grad_in gin = {gx, NULL, NULL};
    dopt_qp_grad_out gout = {NULL, dp, NULL, NULL, NULL, NULL};
    CHECK_OK(dopt_context_set_memory_limit(tu_ctx, 4096, 0));
    st = dopt_sparse_qp_backward(tu_ctx, tape, &gin, &gout);
    CHECK(st == DOPT_ERR_OUT_OF_MEMORY && strstr(dopt_context_last_error(tu_ctx), "sparse qp backward"),
          "backward under a 4 kB cap: status %d, message '%s'", (int)st, dopt_context_last_error(tu_ctx));
    CHECK_OK(dopt_context_set_memory_limit(tu_ctx, 0, 0));
    CHECK_OK(dopt_sparse_qp_backward(tu_ctx, tape, &gin, &gout));
    dopt_sparse_qp_tape_destroy(tape);
    free(gx), free(dp);
    result_free(&a), result_free(&b);
    dopt_sparse_qp_structure_destroy(S);
    fam_free(&f);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    /* the CUDA backend and a build without CHOLMOD: not supported (yet) */
    {
        int64_t Gp[2] = {0, 1};
        int32_t Gi[1] = {0};
        dopt_sparse_qp_pattern P;
        memset(&P, 0, sizeof P);
        P.n = 1;
        P.m = 1;
        P.G = (dopt_csr_pattern){1, 1, 1, Gp, Gi};
        dopt_sparse_qp_structure *S = NULL;
        dopt_status st = dopt_sparse_qp_analyze(tu_ctx, &P, &S);
        if (st == DOPT_ERR_UNSUPPORTED) {
            printf("skipped: %s\n", dopt_context_last_error(tu_ctx));
            dopt_context_destroy(tu_ctx);
            return TEST_SKIP;
        }
        dopt_sparse_qp_structure_destroy(S);
    }
    CHECK(dopt_struct_size("dopt_csr_pattern") == sizeof(dopt_csr_pattern) &&
              dopt_struct_size("dopt_sparse_qp_pattern") == sizeof(dopt_sparse_qp_pattern) &&
              dopt_struct_size("dopt_sparse_qp_values") == sizeof(dopt_sparse_qp_values),
          "dopt_struct_size of the sparse QP structs");
    /* every test on both paths: the forced path is checked at each analysis */
    const char *paths[2] = {"ldl", "normal"};
    for (int q = 0; q < 2; ++q) {
        g_path = paths[q];
        setenv("DOPT_SPARSE_QP_FACTOR", g_path, 1);
        /* LP and QP, with and without A, absent rows, shared and per-instance values */
        test_vs_dense((fam_spec){1, 12, 6, 0, FAM_LP, 0, 0, FAM_BOX_SINGLE}, 0);
        test_vs_dense((fam_spec){2, 12, 6, 3, FAM_LP, 0, 1, FAM_BOX_SINGLE}, 0);
        test_vs_dense((fam_spec){3, 15, 8, 0, FAM_QP, 0, 1, FAM_BOX_SINGLE}, 0);
        test_vs_dense((fam_spec){4, 15, 8, 4, FAM_QP, 0, 0, FAM_BOX_SINGLE}, DOPT_QP_SHARE_G | DOPT_QP_SHARE_Q);
        test_vs_dense((fam_spec){5, 10, 5, 2, FAM_QP, 1, 1, FAM_BOX_SINGLE}, DOPT_QP_SHARE_P);
        test_vs_dense((fam_spec){6, 20, 10, 5, FAM_LP, 0, 1, FAM_BOX_SINGLE}, DOPT_QP_SHARE_G);
        /* the dual normal equations' cases: singleton rows only (S empty), no
         * singleton rows, equalities, Q = gamma I (with and without A) */
        test_vs_dense((fam_spec){7, 12, 0, 0, FAM_LP, 0, 0, FAM_BOX_SINGLE}, 0);
        test_vs_dense((fam_spec){8, 12, 5, 0, FAM_LP, 0, 1, FAM_BOX_PAIRS}, 0);
        test_vs_dense((fam_spec){9, 12, 5, 3, FAM_LP, 0, 0, FAM_BOX_PAIRS}, DOPT_QP_SHARE_G);
        test_vs_dense((fam_spec){10, 14, 6, 4, FAM_LP, 0, 1, FAM_BOX_SINGLE}, 0);
        test_vs_dense((fam_spec){11, 15, 8, 0, FAM_QP_DIAG, 0, 1, FAM_BOX_SINGLE}, 0);
        test_vs_dense((fam_spec){12, 15, 8, 3, FAM_QP_DIAG, 0, 0, FAM_BOX_PAIRS}, DOPT_QP_SHARE_Q);
        test_central_differences(FAM_QP);
        test_central_differences(FAM_QP_DIAG);
        test_bitwise(FAM_QP);
        test_bitwise(FAM_QP_DIAG);
        test_bitwise(FAM_LP);
        test_groups();
        test_certificates();
        test_not_psd();
        test_bad_patterns();
        test_closest_mode_refused();
        test_degenerate_rows();
        test_set_cover(2000, 400, 0.01, 1, 1);
        test_memory_cap();
        test_ordering_choice();
    }
    test_path_choice();
    test_paths_agree();
    test_openmp_untouched();
    unsetenv("DOPT_SPARSE_QP_FACTOR");
    return tu_finish("test_sparse_qp");
}
