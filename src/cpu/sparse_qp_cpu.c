/* CPU backend of the sparse QP layer: our LDL' (CHOLMOD's ordering) for the
 * quasidefinite Newton system (kernels/sparse_qp_ipm.h), or, when Qs is
 * diagonal, CHOLMOD's supernodal LL' of the dual normal equations
 * (kernels/sparse_qp_normal.h); the ordering and symbolic analysis once per
 * structure, a numeric refactorization per iterate. Instances run on the
 * thread pool, each with its own numeric factor (the LDL''s values, or a
 * copy of S's symbolic factor); every worker has its own cholmod_common
 * (CHOLMOD is reentrant per common). Built only with DOPT_HAVE_CHOLMOD. */
#include "internal.h"
#include "backend.h"
#include "sparse_qp_internal.h"
#include "sparse_qp_ipm.h"
#include "sparse_qp_ldl.h"
#include "sparse_qp_llt.h"
#include "sparse_qp_ldl_schedule.h"
#include "sparse_qp_normal_cpu.h"
#include "openmp_weak.h"

#include <cholmod.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* CHOLMOD's supernodal factorization calls the BLAS, one factorization at a
 * time in this process. Why: Debian's single-threaded OpenBLAS
 * (libopenblas0-serial) is not safe to call from two threads at once (its
 * work buffers are shared without a lock): with two workers factoring
 * concurrently, 2-3 % of test runs gave other results, a few of them wrong
 * (gradients off by 1e6); one worker, or the reference BLAS, none in 150 and
 * 250 runs. The rest of an instance's work (forming S, the solves, the
 * LDL' path, which calls no BLAS) stays parallel. */
static pthread_mutex_t sqp_blas_lock = PTHREAD_MUTEX_INITIALIZER;

/* CHOLMOD's supernodal factorization (CHOLMOD 3, SuiteSparse 5) runs its
 * scatter loops in OpenMP teams of a compiled-in four threads
 * (CHOLMOD_OMP_NUM_THREADS, which OMP_NUM_THREADS does not override). dopt
 * already runs one instance per worker, so each such team oversubscribes
 * the cores: on this layer's sizes the loops are short and the teams cost
 * more than they save (measured: a 500-node graph's Cholesky 3x slower, a
 * set cover relaxation's forward 10 % slower). With max-active-levels 0
 * every parallel region the calling thread opens runs on that thread
 * alone; the value is the calling thread's own (a per-thread ICV in
 * OpenMP 5.1, libgomp 11 and later) and is restored after the call, so
 * the application's OpenMP is untouched. The save and restore happen under
 * the lock: where an older runtime keeps one value for the process, two
 * workers interleaving them could otherwise leave it at 0 (openmp_weak.h:
 * nothing to do where CHOLMOD was built without OpenMP). */
static int sqp_supernodal_factorize(cholmod_sparse *A, cholmod_factor *L, cholmod_common *cc)
{
    pthread_mutex_lock(&sqp_blas_lock);
    int have_omp = DOPT_HAVE_OMP_CONTROL;
    int saved = have_omp ? omp_get_max_active_levels() : 0;
    if (have_omp) omp_set_max_active_levels(0);
    int done = cholmod_l_factorize(A, L, cc) && cc->status >= 0;
    if (have_omp) omp_set_max_active_levels(saved);
    pthread_mutex_unlock(&sqp_blas_lock);
    return done;
}

typedef struct {
    cholmod_common cc;   /* the analysis's (only to free the symbolic factors) */
    cholmod_factor *LK;  /* CHOLMOD's symbolic factor of Kf: its ordering P (Perm: row Perm[j] of Kf is
                            row j of P Kf P') and flop count */
    int64_t *PKp, *PKi;  /* P Kf P''s upper triangle in CSC, sorted rows */
    int64_t *kmove;      /* nnzK: where each of Kf's values goes in P Kf P' */
    sqp_ldl_plan plan;   /* the numeric LDL''s static schedule for P Kf P' (kernels/sparse_qp_ldl.h) */
    cholmod_factor *LQ;  /* symbolic factor of Qs's upper block (NULL for an LP) */
    sqp_cpu_normal *normal; /* the dual normal equations' structure, when that path is taken */
    int duals_first;     /* LK's ordering eliminates every z before the x it touches (sqp_cpu_duals_first) */
    double flops;        /* one factorization's flops on the chosen path (CHOLMOD's count): a group's cost */
} sqp_cpu_analysis;

static void sqp_cholmod_setup(cholmod_common *cc)
{
    cholmod_l_start(cc);
    cc->print = 0;               /* the layer reports; CHOLMOD stays quiet */
    cc->supernodal = CHOLMOD_SIMPLICIAL;
    cc->final_ll = 0;            /* LDL': the matrix is quasidefinite, not definite */
    cc->nmethods = 1;
    cc->method[0].ordering = CHOLMOD_AMD;
    cc->postorder = 1;
    cc->quick_return_if_not_posdef = 0;
}

/* A CHOLMOD view (no copy) of the first ncol columns of Kf's upper CSC. */
static cholmod_sparse sqp_kf_view(const dopt_sparse_qp_structure *s, int64_t ncol, double *values)
{
    return sqp_cpu_upper_view(ncol, s->Kp, s->Ki, values);
}

void dopt_sparse_qp_structure_free_cpu(dopt_sparse_qp_structure *s)
{
    sqp_cpu_analysis *an = (sqp_cpu_analysis *)s->backend;
    if (!an) return;
    cholmod_l_free_factor(&an->LK, &an->cc);
    cholmod_l_free_factor(&an->LQ, &an->cc);
    free(an->PKp);
    free(an->PKi);
    free(an->kmove);
    sqp_ldl_plan_free(&an->plan);
    sqp_cpu_normal_free(an->normal, &an->cc);
    cholmod_l_finish(&an->cc);
    free(an);
    s->backend = NULL;
}

/* DOPT_SPARSE_QP_FACTOR: "ldl" or "normal" forces a path (tests, benchmarks),
 * "auto" or unset chooses. -1 for anything else. */
enum { SQP_CHOOSE_AUTO, SQP_CHOOSE_LDL, SQP_CHOOSE_NORMAL };
static int sqp_factor_choice(void)
{
    const char *env = getenv("DOPT_SPARSE_QP_FACTOR");
    if (!env || !*env || !strcmp(env, "auto")) return SQP_CHOOSE_AUTO;
    if (!strcmp(env, "ldl")) return SQP_CHOOSE_LDL;
    if (!strcmp(env, "normal")) return SQP_CHOOSE_NORMAL;
    return -1;
}

/* The supernodal factorization of S runs at BLAS-3 speed, several times the
 * simplicial LDL''s flop rate (docs/SPARSE_QP.md, "Measurements"); it is
 * chosen unless it needs this many times Kf's flops (a dense column of G or
 * A makes S dense, as a dense row would make G'WG dense). */
#define SQP_NORMAL_FLOP_RATIO 4.0

/* An upper bound of nnz(S)'s lower triangle from the patterns alone:
 * sum over columns j of c_j (c_j + 1)/2, c_j the entries of column j in R
 * (G's rows with more than one entry, and A). It over-counts pairs of rows
 * that share several columns, never under-counts; S's Cholesky costs at
 * least nnz(S) flops. Computed before anything of S is built, so that a
 * dense column (an epigraph variable in every row: S dense, m^2/2 entries)
 * never builds S. Returns -1 when out of memory. */
static double sqp_cpu_normal_pairs(const dopt_sparse_qp_structure *s)
{
    int64_t *cnt = (int64_t *)calloc((size_t)s->n + 1, sizeof(int64_t));
    if (!cnt) return -1;
    for (int r = 0; r < s->m; ++r)
        if (s->Gp[r + 1] - s->Gp[r] > 1)
            for (int64_t e = s->Gp[r]; e < s->Gp[r + 1]; ++e) ++cnt[s->Gi[e]];
    for (int r = 0; r < s->k; ++r)
        for (int64_t e = s->Ap[r]; e < s->Ap[r + 1]; ++e) ++cnt[s->Ai[e]];
    double pairs = 0;
    for (int j = 0; j < s->n; ++j) pairs += 0.5 * (double)cnt[j] * (double)(cnt[j] + 1);
    free(cnt);
    return pairs;
}

/* Kf's elimination order. The dense layer eliminates dz first and factors
 * H = Qs + G'WG + delta I by Cholesky: a sum of positive semidefinite
 * updates, positive definite at any delta in exact arithmetic. AMD's unconstrained
 * ordering of Kf may eliminate a variable (pivot ~delta when Q_jj = 0)
 * before the inequality duals it touches; the entries ~1/delta that this
 * creates cancel in later pivots, whose signs rounding then flips unless
 * delta is large (SQP_REG), and a large delta is a poor preconditioner for
 * the refinement on nearly singular systems (unbounded problems). A
 * constrained ordering (CHOLMOD's CAMD: the m inequality rows first, then
 * the n variables, then the k equalities) eliminates the duals first, as
 * the dense layer does: the z pivots are exactly -1, the x block is the
 * Cholesky of H, and the y block factors -(delta I + A H^-1 A'), all
 * definite in exact arithmetic. Rounding can still flip a sign where H's
 * condition nears W's cap over delta, or where redundant equalities make
 * y pivots ~delta (the dense layer adds rho A'A to H instead): the inertia
 * check catches those and delta is raised. It is taken unless its
 * factorization costs more than this many times AMD's (dense rows of G
 * make G'WG dense: set cover's 7.8x; MIS, colouring and random sparse QPs
 * measured 0.1x to 1.05x). */
#define SQP_DUALS_FIRST_FLOP_RATIO 2.0

/* The duals-first symbolic factor of K, or NULL (out of memory, or CAMD's
 * ordering failed: the caller keeps AMD's). *flops: its factorization's. */
static cholmod_factor *sqp_cpu_duals_first(const dopt_sparse_qp_structure *s, cholmod_sparse *K,
                                           cholmod_common *cc, double *flops)
{
    int64_t *member = (int64_t *)malloc(sizeof(int64_t) * (size_t)s->N);
    int64_t *perm = (int64_t *)malloc(sizeof(int64_t) * (size_t)s->N);
    cholmod_factor *L = NULL;
    if (member && perm) {
        for (int64_t j = 0; j < s->N; ++j) member[j] = j < s->n ? 1 : j < (int64_t)s->n + s->m ? 0 : 2;
        if (cholmod_l_camd(K, NULL, 0, member, perm, cc)) {
            cc->method[0].ordering = CHOLMOD_GIVEN;
            L = cholmod_l_analyze_p(K, perm, NULL, 0, cc);
            cc->method[0].ordering = CHOLMOD_AMD;
            *flops = cc->fl;
        }
    }
    free(member);
    free(perm);
    cc->status = CHOLMOD_OK; /* a failure here only means AMD's ordering is kept */
    return L;
}

/* Kf's LDL' is ours (kernels/sparse_qp_ldl.h, sqp_ldl_numeric): CHOLMOD
 * orders Kf, and the rest is done once here. Kf is stored permuted: the
 * upper triangle of P Kf P' (which CHOLMOD's simplicial factorization
 * formed anew at every call, cholmod_l_transpose_sym: 7 % of an MIS
 * relaxation's forward) is built once, with where each of Kf's values lands
 * in it (kmove), and so is the elimination's static schedule. Each
 * factorization then scatters Kf's values into place and runs the
 * arithmetic alone (1.2-2x CHOLMOD's simplicial factorization of the same
 * matrix, bitwise the same factor where measured). 0 when out of memory. */
static int sqp_cpu_kf_permuted(const dopt_sparse_qp_structure *s, sqp_cpu_analysis *an)
{
    int64_t N = s->N, nnz = s->nnzK;
    const int64_t *P = (const int64_t *)an->LK->Perm;
    size_t one = nnz ? (size_t)nnz : 1;
    int64_t *inv = (int64_t *)malloc(sizeof(int64_t) * (size_t)N);
    int64_t *rowp = (int64_t *)calloc((size_t)N + 1, sizeof(int64_t));
    int64_t *byrow = (int64_t *)malloc(sizeof(int64_t) * one);
    int64_t *newrow = (int64_t *)malloc(sizeof(int64_t) * one), *newcol = (int64_t *)malloc(sizeof(int64_t) * one);
    an->PKp = (int64_t *)calloc((size_t)N + 1, sizeof(int64_t));
    an->PKi = (int64_t *)malloc(sizeof(int64_t) * one);
    an->kmove = (int64_t *)malloc(sizeof(int64_t) * one);
    int ok = 0;
    if (inv && rowp && byrow && newrow && newcol && an->PKp && an->PKi && an->kmove) {
        for (int64_t j = 0; j < N; ++j) inv[P[j]] = j;
        /* entry (i, j), i <= j, of Kf is entry (min, max) of (inv i, inv j)
         * in P Kf P''s upper triangle; two stable counting sorts, by row and
         * then by column, leave each column's rows in increasing order */
        for (int64_t j = 0; j < N; ++j)
            for (int64_t q = s->Kp[j]; q < s->Kp[j + 1]; ++q) {
                int64_t a = inv[s->Ki[q]], b = inv[j];
                newrow[q] = a < b ? a : b;
                newcol[q] = a < b ? b : a;
                ++rowp[newrow[q] + 1];
                ++an->PKp[newcol[q] + 1];
            }
        for (int64_t j = 0; j < N; ++j) {
            rowp[j + 1] += rowp[j];
            an->PKp[j + 1] += an->PKp[j];
        }
        for (int64_t q = 0; q < nnz; ++q) byrow[rowp[newrow[q]]++] = q;
        for (int64_t j = 0; j < N; ++j) rowp[j] = an->PKp[j]; /* now each column's next slot */
        for (int64_t t = 0; t < nnz; ++t) {
            int64_t q = byrow[t], at = rowp[newcol[q]]++;
            an->PKi[at] = newrow[q];
            an->kmove[q] = at;
        }
        ok = sqp_ldl_plan_build(&an->plan, N, an->PKp, an->PKi);
    }
    free(inv);
    free(rowp);
    free(byrow);
    free(newrow);
    free(newcol);
    return ok;
}

dopt_status dopt_sparse_qp_analyze_cpu(dopt_context *ctx, dopt_sparse_qp_structure *s)
{
    int choice = sqp_factor_choice();
    if (choice < 0)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "sparse qp: DOPT_SPARSE_QP_FACTOR = '%s'; expected ldl, normal or auto",
                         getenv("DOPT_SPARSE_QP_FACTOR"));
    sqp_cpu_analysis *an = (sqp_cpu_analysis *)calloc(1, sizeof *an);
    if (!an) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "sparse qp: out of memory for the analysis");
    sqp_cholmod_setup(&an->cc);
    s->backend = an;
    cholmod_sparse K = sqp_kf_view(s, s->N, NULL);
    an->LK = cholmod_l_analyze(&K, &an->cc);
    double kflops = an->cc.fl;
    if (an->LK && s->m > 0) {
        double zflops = 0;
        cholmod_factor *LZ = sqp_cpu_duals_first(s, &K, &an->cc, &zflops);
        if (LZ && zflops <= SQP_DUALS_FIRST_FLOP_RATIO * kflops) {
            cholmod_l_free_factor(&an->LK, &an->cc);
            an->LK = LZ;
            an->duals_first = 1;
            kflops = zflops;
        } else if (LZ) {
            cholmod_l_free_factor(&LZ, &an->cc);
        }
    }
    if (an->LK && !sqp_cpu_kf_permuted(s, an)) {
        dopt_sparse_qp_structure_free_cpu(s);
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "sparse qp: out of memory for the analysis");
    }
    if (an->LK && s->Qp[s->n] > 0) {
        cholmod_sparse Q = sqp_kf_view(s, s->n, NULL);
        an->LQ = cholmod_l_analyze(&Q, &an->cc);
    }
    if (!an->LK || (s->Qp[s->n] > 0 && !an->LQ)) {
        int status = an->cc.status;
        dopt_sparse_qp_structure_free_cpu(s);
        return dopt_fail(ctx, status == CHOLMOD_OUT_OF_MEMORY ? DOPT_ERR_OUT_OF_MEMORY : DOPT_ERR_INTERNAL,
                         "sparse qp: CHOLMOD's analysis failed (status %d)", status);
    }
    s->factor_path = DOPT_SQP_PATH_LDL;
    s->ldl_order = an->duals_first ? DOPT_SQP_ORDER_DUALS_FIRST : DOPT_SQP_ORDER_AMD;
    int consider = choice != SQP_CHOOSE_LDL && sqp_cpu_q_is_diagonal(s);
    if (consider && choice == SQP_CHOOSE_AUTO) { /* S surely too costly: never built */
        double pairs = sqp_cpu_normal_pairs(s);
        if (pairs < 0) {
            dopt_sparse_qp_structure_free_cpu(s);
            return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "sparse qp: out of memory for the analysis");
        }
        consider = pairs <= SQP_NORMAL_FLOP_RATIO * kflops;
    }
    if (consider) {
        an->normal = sqp_cpu_normal_analyze(s, &an->cc);
        if (!an->normal && choice == SQP_CHOOSE_AUTO) {
            /* auto: a failed analysis of S (out of memory on an S far denser
             * than the bound above let through) leaves the LDL' path */
            an->cc.status = CHOLMOD_OK;
        } else if (!an->normal) {
            int status = an->cc.status;
            dopt_sparse_qp_structure_free_cpu(s);
            return dopt_fail(ctx, status == CHOLMOD_OK || status == CHOLMOD_OUT_OF_MEMORY ? DOPT_ERR_OUT_OF_MEMORY
                                                                                          : DOPT_ERR_INTERNAL,
                             "sparse qp: the dual normal equations' analysis failed (CHOLMOD status %d)", status);
        }
        if (an->normal && choice == SQP_CHOOSE_AUTO && an->normal->flops > SQP_NORMAL_FLOP_RATIO * kflops) {
            sqp_cpu_normal_free(an->normal, &an->cc);
            an->normal = NULL;
        }
    }
    if (an->normal) s->factor_path = DOPT_SQP_PATH_NORMAL;
    an->flops = an->normal ? an->normal->flops : kflops;
    return DOPT_OK;
}

/* ---- the factorizer the kernel calls ---- */

/* One instance's factorization of Kf: the LDL' of Kf itself, or (an->normal)
 * the supernodal LL' of the dual normal equations' S, falling back to the
 * LDL' for an iterate whose S does not factor (not positive definite in
 * rounding: then the LDL' of the same Kf is tried before delta is raised). */
typedef struct {
    sqp_factorizer base; /* first: the kernel's pointer is this struct's */
    cholmod_common *cc;
    const sqp_cpu_analysis *an;
    int normal;          /* which factor the solve uses: 1 LS (S's LL'), 0 L (Kf's LDL') */
    double *L;           /* Kf's numeric LDL' (sqp_ldl_plan_values; on the normal path: made when first needed) */
    cholmod_factor *LS;  /* S's numeric LL' */
    double *Kx;          /* P Kf P''s values: Kf's, scattered by an->kmove */
    double *y;           /* the numeric LDL''s N scratch values (zero between calls) */
    int64_t nnzK;
    sqp_normal_vals nv;  /* the normal path's numbers (D, R's values, ...), read by its solve */
    double *Sx;          /* S's values */
    double *tmp;         /* N + n + 2 nR scratch values for the solve */
    int failed;          /* CHOLMOD itself failed (out of memory): not a numerical verdict */
    int64_t nx;          /* Kf's variables (its first nx rows): the LDL''s positive pivots */
} sqp_cpu_factorizer;

/* What the tape keeps of an instance's factorization at the solution. */
typedef struct {
    int normal;
    cholmod_factor *L;   /* normal: S's LL' */
    double *ldl;         /* not normal: Kf's LDL' (sqp_ldl_plan_values) */
    double *vals;        /* normal only: the numbers its solve reads (sqp_normal_vals_map) */
} sqp_cpu_kept;

/* perm: the whole permutation of S (the analysis's, sqp_cpu_normal). */
static sqp_llt sqp_llt_of(const cholmod_factor *L, const int64_t *perm)
{
    sqp_llt f;
    f.N = (int64_t)L->n;
    f.nsuper = (int64_t)L->nsuper;
    f.perm = perm;
    f.super = (const int64_t *)L->super;
    f.pi = (const int64_t *)L->pi;
    f.px = (const int64_t *)L->px;
    f.ls = (const int64_t *)L->s;
    f.lx = (const double *)L->x;
    return f;
}

/* 1 when S's factor is complete with finite positive pivots (its accuracy
 * is the refinement's to judge, against the true K, as for the LDL'). */
static int sqp_llt_ok(const cholmod_factor *L, const sqp_cpu_normal *nm)
{
    if (L->minor < L->n || !L->is_super || !L->is_ll) return 0;
    sqp_llt f = sqp_llt_of(L, nm->perm);
    for (int64_t s = 0; s < f.nsuper; ++s) {
        int64_t ncol = f.super[s + 1] - f.super[s], nrow = f.pi[s + 1] - f.pi[s];
        for (int64_t c = 0; c < ncol; ++c) {
            double d = f.lx[f.px[s] + c * nrow + c];
            if (!(d > 0 && d <= DBL_MAX)) return 0;
        }
    }
    return 1;
}

/* A CHOLMOD simplicial factor read as ours (Qs's semidefiniteness test). */
static sqp_ldl sqp_ldl_of(const cholmod_factor *L)
{
    sqp_ldl f;
    f.N = (int64_t)L->n;
    f.perm = (const int64_t *)L->Perm;
    f.colp = (const int64_t *)L->p;
    f.colnz = (const int64_t *)L->nz;
    f.rowi = (const int64_t *)L->i;
    f.val = (const double *)L->x;
    f.tail = NULL;
    return f;
}

/* Kf's LDL', ours: the plan's pattern with one instance's values. */
static sqp_ldl sqp_ldl_kf(const sqp_cpu_analysis *an, const double *val)
{
    sqp_ldl f;
    f.N = an->plan.s.N;
    f.perm = (const int64_t *)an->LK->Perm;
    f.colp = an->plan.colp;
    f.colnz = an->plan.colnz;
    f.rowi = an->plan.rowi;
    f.val = val;
    f.tail = an->plan.tail;
    return f;
}

/* One instance's LDL' of Kf: its values (one more, so that none is a
 * malloc of 0). */
static size_t sqp_cpu_ldl_bytes(const sqp_cpu_analysis *an)
{
    return sizeof(double) * (size_t)(sqp_ldl_plan_values(&an->plan) + 1);
}

static double *sqp_cpu_ldl_alloc(const sqp_cpu_analysis *an) { return (double *)malloc(sqp_cpu_ldl_bytes(an)); }

static int sqp_cpu_factor(sqp_factorizer *base, const double *kval)
{
    sqp_cpu_factorizer *f = (sqp_cpu_factorizer *)base;
    const sqp_cpu_normal *nm = f->an->normal;
    if (nm) {
        if (sqp_normal_form(&nm->map, kval, &f->nv, f->Sx) == 0) {
            if (!f->LS) {
                f->normal = 1; /* S is empty: D alone solves */
                base->refine_fwd = SQP_REFINE_FWD;
                return 0;
            }
            cholmod_sparse Sv = sqp_cpu_normal_view(nm, f->Sx);
            int done = sqp_supernodal_factorize(&Sv, f->LS, f->cc);
            if (!done) {
                f->failed = 1;
                return 1;
            }
            if (sqp_llt_ok(f->LS, nm)) {
                f->normal = 1;
                base->refine_fwd = SQP_REFINE_FWD;
                return 0;
            }
        }
        if (!f->L && !(f->L = sqp_cpu_ldl_alloc(f->an))) {
            f->failed = 1;
            return 1;
        }
    }
    f->normal = 0;
    const sqp_cpu_analysis *an = f->an;
    for (int64_t q = 0; q < f->nnzK; ++q) f->Kx[an->kmove[q]] = kval[q];
    sqp_ldl_numeric(&an->plan.s, an->PKp, an->PKi, f->Kx, f->L, f->y);
    sqp_ldl ldl = sqp_ldl_kf(an, f->L);
    if (!sqp_ldl_inertia_ok(&ldl, f->nx)) return 1; /* sqp_factor raises delta */
    base->refine_fwd = SQP_REFINE_FWD_LDL;
    return 0;
}

static void sqp_cpu_solve_s(void *ctx, double *v)
{
    sqp_cpu_factorizer *f = (sqp_cpu_factorizer *)ctx;
    sqp_llt llt = sqp_llt_of(f->LS, f->an->normal->perm);
    sqp_llt_solve(&llt, v, f->tmp + f->an->normal->map.n + f->an->normal->map.nR);
}

/* The one solve with the factor, forward and backward alike. */
static void sqp_cpu_solve(sqp_factorizer *base, double *b)
{
    sqp_cpu_factorizer *f = (sqp_cpu_factorizer *)base;
    if (f->normal) {
        sqp_normal_solve(&f->an->normal->map, &f->nv, sqp_cpu_solve_s, f, b, f->tmp);
        return;
    }
    sqp_ldl ldl = sqp_ldl_kf(f->an, f->L);
    sqp_ldl_solve(&ldl, b, f->tmp);
}

/* Scratch doubles per worker beyond sqp_work_size: the solve's (N, or on
 * the normal path n + 2 nR more), the normal path's numbers and S's values,
 * and P Kf P''s values (nnzK) with the numeric LDL''s N (the LDL' path and
 * the normal path's fallback). */
static size_t sqp_cpu_extra(const dopt_sparse_qp_structure *S, const sqp_cpu_analysis *an)
{
    size_t extra = 2 * (size_t)S->N + (size_t)S->nnzK;
    if (an->normal) {
        const sqp_normal_map *mp = &an->normal->map;
        extra += (size_t)S->n + 2 * (size_t)mp->nR + sqp_normal_vals_size(mp) + (size_t)mp->nnzS;
    }
    return extra;
}

/* Points f's scratch into a worker's block after the kernel's workspace. */
static void sqp_cpu_factorizer_map(sqp_cpu_factorizer *f, const dopt_sparse_qp_structure *S, double *extra)
{
    f->tmp = extra;
    extra += S->N;
    if (f->an->normal) {
        const sqp_normal_map *mp = &f->an->normal->map;
        extra += S->n + 2 * mp->nR;
        f->nv = sqp_normal_vals_map(mp, extra);
        f->Sx = extra + sqp_normal_vals_size(mp);
        extra = f->Sx + mp->nnzS;
    }
    f->Kx = extra;
    f->nnzK = S->nnzK;
    f->y = extra + S->nnzK;
}

static void sqp_cpu_kept_free(sqp_cpu_kept *kp, cholmod_common *cc)
{
    if (!kp) return;
    if (kp->L) cholmod_l_free_factor(&kp->L, cc);
    free(kp->ldl);
    free(kp->vals);
    free(kp);
}

/* ---- values in double, addressed per instance ---- */

typedef struct {
    const double *Q, *p, *G, *h, *A, *b;
    int64_t sQ, sp, sG, sh, sA, sb; /* batch strides (0 = shared) */
    void *owned;                    /* the float32 conversion's buffer */
} sqp_values_d;

static void sqp_values_free(sqp_values_d *d) { free(d->owned); }

/* The values as double: float64 in place, float32 converted (all six
 * arrays in one buffer). Returns 0 when out of memory. */
static int sqp_values_of(const dopt_sparse_qp_structure *s, const dopt_sparse_qp_values *v, sqp_values_d *d)
{
    int64_t B = v->batch, n = s->n, m = s->m, k = s->k;
    int64_t sizes[6] = {s->Qp[n], n, s->Gp[m], m, s->Ap[k], k};
    uint32_t bits[6] = {DOPT_QP_SHARE_Q, DOPT_QP_SHARE_P, DOPT_QP_SHARE_G,
                        DOPT_QP_SHARE_H, DOPT_QP_SHARE_A, DOPT_QP_SHARE_B};
    const void *src[6] = {v->Q_values, v->p, v->G_values, v->h, v->A_values, v->b};
    const double *dst[6];
    int64_t stride[6];
    memset(d, 0, sizeof *d);
    int64_t total = 0;
    for (int q = 0; q < 6; ++q) {
        stride[q] = (v->shared & bits[q]) ? 0 : sizes[q];
        if (src[q]) total += (stride[q] ? B : 1) * sizes[q];
    }
    double *buf = NULL;
    if (v->dtype == DOPT_FLOAT32) {
        buf = (double *)malloc(sizeof(double) * (size_t)(total > 0 ? total : 1));
        if (!buf) return 0;
        d->owned = buf;
    }
    int64_t off = 0;
    for (int q = 0; q < 6; ++q) {
        dst[q] = NULL;
        if (!src[q] || sizes[q] == 0) continue;
        if (v->dtype == DOPT_FLOAT64) {
            dst[q] = (const double *)src[q];
            continue;
        }
        int64_t len = (stride[q] ? B : 1) * sizes[q];
        const float *f = (const float *)src[q];
        for (int64_t e = 0; e < len; ++e) buf[off + e] = (double)f[e];
        dst[q] = buf + off;
        off += len;
    }
    d->Q = dst[0]; d->p = dst[1]; d->G = dst[2]; d->h = dst[3]; d->A = dst[4]; d->b = dst[5];
    d->sQ = stride[0]; d->sp = stride[1]; d->sG = stride[2]; d->sh = stride[3]; d->sA = stride[4]; d->sb = stride[5];
    return 1;
}

static sqp_view sqp_view_of(const dopt_sparse_qp_structure *s, const sqp_values_d *d, int64_t i)
{
    sqp_view v;
    v.n = s->n;
    v.m = s->m;
    v.k = s->k;
    v.Qp = s->Qp; v.Qi = s->Qi; v.Qv = d->Q ? d->Q + i * d->sQ : NULL;
    v.p = d->p + i * d->sp;
    v.Gp = s->Gp; v.Gi = s->Gi; v.Gv = d->G ? d->G + i * d->sG : NULL;
    v.h = d->h ? d->h + i * d->sh : NULL;
    v.Ap = s->Ap; v.Ai = s->Ai; v.Av = d->A ? d->A + i * d->sA : NULL;
    v.b = d->b ? d->b + i * d->sb : NULL;
    v.Kp = s->Kp;
    v.kq = s->kq;
    v.kdiag = s->kdiag;
    return v;
}

/* ---- forward ---- */

typedef struct {
    cholmod_common cc;
    int oom; /* a CHOLMOD call of this worker failed (out of memory) */
} sqp_cpu_worker;

/* One group of a call (dopt_sparse_qp_solve_groups): its structure, values
 * and outputs. */
typedef struct {
    const dopt_sparse_qp_structure *S;
    const sqp_cpu_analysis *an;
    sqp_values_d vals;
    sqp_settings opt;
    size_t wsz;           /* its workspace: sqp_work_size + sqp_cpu_extra */
    double *x, *lam, *nu; /* double outputs (batch x n, m, k) */
    double *outs;         /* their buffer when the caller's are float32 and there is no tape */
    int32_t *status, *iters;
    dopt_sparse_qp_tape *tape; /* W, Winv, factors filled when not NULL */
} sqp_solve_job;

/* The instances of every group of a call, numbered group after group in
 * the order of order[] (sqp_groups_order), and the workers' buffers, each
 * sized for the largest group's workspace. */
typedef struct {
    int64_t count;
    const int64_t *order; /* count: the groups in the order their instances run, costliest first */
    const int64_t *first; /* count + 1: first[t] is the first instance number of group order[t] */
    void *jobs;           /* count: sqp_solve_job or sqp_adjoint_job */
    double *work;         /* per worker: wsz */
    size_t wsz;
    sqp_cpu_worker *wk;   /* per worker (forward only) */
} sqp_groups_run;

/* The group holding instance i (first is nondecreasing, first[0] = 0 <= i <
 * first[count]; empty groups are skipped). */
static int64_t sqp_group_of(const int64_t *first, int64_t count, int64_t i)
{
    int64_t lo = 0, hi = count - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        if (first[mid] <= i) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

/* Q's positive semidefiniteness as the dense layer tests it (qp_prepare_q):
 * an LDL' of Qs + (sqrt(eps) max|Q_ii| + DBL_MIN) I with positive pivots. */
static int sqp_cpu_psd(sqp_solve_job *job, const sqp_view *v, sqp_work *w, cholmod_common *cc, int *oom)
{
    const dopt_sparse_qp_structure *S = job->S;
    if (!v->Qv) return 1;
    if (!sqp_finite(S->Qp[S->n], v->Qv)) return 1; /* sqp_setup rejects it */
    double dmax = sqp_qdiag(v);
    int64_t nx = S->Kp[S->n];
    for (int64_t q = 0; q < nx; ++q) w->kval[q] = 0;
    for (int i = 0; i < v->n; ++i)
        for (int64_t e = v->Qp[i]; e < v->Qp[i + 1]; ++e)
            w->kval[v->kq[e]] += (v->Qi[e] == i ? 1.0 : 0.5) * v->Qv[e];
    double shift = sqrt(DBL_EPSILON) * dmax + DBL_MIN;
    for (int j = 0; j < v->n; ++j) w->kval[v->kdiag[j]] += shift;
    cholmod_factor *L = cholmod_l_copy_factor(job->an->LQ, cc);
    if (!L) {
        *oom = 1;
        return 0;
    }
    cholmod_sparse Q = sqp_kf_view(S, S->n, w->kval);
    int ok = cholmod_l_factorize(&Q, L, cc) && cc->status >= 0;
    if (!ok) *oom = 1;
    if (ok && L->minor < L->n) ok = 0;
    if (ok) {
        sqp_ldl ldl = sqp_ldl_of(L);
        ok = sqp_ldl_inertia_ok(&ldl, S->n);
    }
    cholmod_l_free_factor(&L, cc);
    return ok;
}

/* Instance i of a group, on one worker's workspace and CHOLMOD common. */
static void sqp_solve_one(sqp_solve_job *job, int64_t i, double *base, sqp_cpu_worker *wk)
{
    const dopt_sparse_qp_structure *S = job->S;
    int n = S->n, m = S->m, k = S->k;
    cholmod_common *cc = &wk->cc;
    sqp_view v = sqp_view_of(S, &job->vals, i);
    sqp_work w = sqp_work_map(base, n, m, k, S->nnzK);
    memset(base, 0, sizeof(double) * job->wsz); /* no state leaks between instances */
    sqp_cpu_factorizer f;
    memset(&f, 0, sizeof f);
    f.base.factor = sqp_cpu_factor;
    f.base.solve = sqp_cpu_solve;
    f.base.reg = job->an->normal || job->an->duals_first ? SQP_REG_NORMAL : SQP_REG;
    f.cc = cc;
    f.an = job->an;
    f.nx = S->n;
    sqp_cpu_factorizer_map(&f, S, base + sqp_work_size(n, m, k, S->nnzK));
    int oom = 0;
    int psd = sqp_cpu_psd(job, &v, &w, cc, &oom);
    const sqp_cpu_normal *nm = job->an->normal;
    if (!oom && nm && nm->LS) f.LS = cholmod_l_copy_factor(nm->LS, cc);
    else if (!oom && !nm) f.L = sqp_cpu_ldl_alloc(job->an);
    double *x = job->x + i * n, *z = job->lam + i * m, *y = job->nu + i * k;
    sqp_state st;
    if (oom || (nm && nm->LS && !f.LS) || (!nm && !f.L)) {
        wk->oom = 1;
        return;
    }
    int keep = job->tape != NULL;
    sqp_solve_instance(&v, &job->opt, &w, &st, &f.base, S->nnzK, psd, keep, x, z, y);
    if (f.failed) wk->oom = 1;
    job->status[i] = st.status;
    if (job->iters) job->iters[i] = st.iter;
    sqp_cpu_kept *kp = NULL;
    if (keep && sqp_has_solution(st.status)) {
        kp = (sqp_cpu_kept *)calloc(1, sizeof *kp);
        if (kp && f.normal) {
            size_t len = sqp_normal_vals_size(&nm->map);
            kp->vals = (double *)malloc(sizeof(double) * len);
            if (kp->vals) {
                memcpy(kp->vals, f.nv.D, sizeof(double) * len); /* nv maps one block, D first */
            } else {
                free(kp);
                kp = NULL;
            }
        }
        if (!kp) wk->oom = 1;
    }
    if (kp) {
        for (int r = 0; r < m; ++r) {
            job->tape->W[i * m + r] = w.W[r];
            job->tape->Winv[i * m + r] = w.Winv[r];
        }
        kp->normal = f.normal;
        if (f.normal) {
            kp->L = f.LS; /* NULL when S is empty */
            f.LS = NULL;
        } else {
            kp->ldl = f.L;
            f.L = NULL;
        }
        job->tape->factors[i] = kp;
    }
    free(f.L);
    if (f.LS) cholmod_l_free_factor(&f.LS, cc);
}

static void sqp_solve_range(void *arg, int64_t b0, int64_t b1, int worker)
{
    sqp_groups_run *run = (sqp_groups_run *)arg;
    double *base = run->work + (size_t)worker * run->wsz;
    for (int64_t i = b0; i < b1; ++i) {
        int64_t t = sqp_group_of(run->first, run->count, i);
        sqp_solve_job *job = (sqp_solve_job *)run->jobs + run->order[t];
        sqp_solve_one(job, i - run->first[t], base, run->wk + worker);
    }
}

void dopt_sparse_qp_tape_free_cpu(dopt_sparse_qp_tape *t)
{
    cholmod_common cc;
    sqp_cholmod_setup(&cc);
    for (int64_t i = 0; i < t->batch; ++i) {
        sqp_cpu_kept_free((sqp_cpu_kept *)t->factors[i], &cc);
        t->factors[i] = NULL;
    }
    cholmod_l_finish(&cc);
}

/* Makes the tape's buffers fit a batch (old factors freed). */
static int sqp_tape_prepare(dopt_sparse_qp_tape *t, const dopt_sparse_qp_structure *S, int64_t B)
{
    if (t->factors) dopt_sparse_qp_tape_free_cpu(t);
    free(t->factors); free(t->x); free(t->lam); free(t->nu); free(t->W); free(t->Winv); free(t->status);
    size_t b = (size_t)(B > 0 ? B : 1);
    t->batch = B;
    t->factors = (void **)calloc(b, sizeof(void *));
    t->x = (double *)calloc(b * (size_t)S->n, sizeof(double));
    t->lam = (double *)calloc(b * (size_t)(S->m > 0 ? S->m : 1), sizeof(double));
    t->nu = (double *)calloc(b * (size_t)(S->k > 0 ? S->k : 1), sizeof(double));
    t->W = (double *)calloc(b * (size_t)(S->m > 0 ? S->m : 1), sizeof(double));
    t->Winv = (double *)calloc(b * (size_t)(S->m > 0 ? S->m : 1), sizeof(double));
    t->status = (int32_t *)calloc(b, sizeof(int32_t));
    return t->factors && t->x && t->lam && t->nu && t->W && t->Winv && t->status;
}

/* Bytes of one numeric factor made from the symbolic factor `sym` (an
 * estimate for the context's memory cap: CHOLMOD allocates it). Simplicial:
 * each column's entries (value and row index) with CHOLMOD's default growth
 * (1.2 times the count plus 5), and the per-column arrays. Supernodal: its
 * real and integer parts as the analysis sized them. */
static size_t sqp_cpu_factor_bytes(const cholmod_factor *sym)
{
    if (!sym) return 0;
    size_t n = sym->n, bytes = sizeof(cholmod_factor) + 3 * sizeof(int64_t) * n; /* Perm, ColCount, IPerm */
    if (sym->is_super)
        return bytes + sizeof(double) * sym->xsize + sizeof(int64_t) * sym->ssize +
               3 * sizeof(int64_t) * (sym->nsuper + 1);
    const int64_t *cnt = (const int64_t *)sym->ColCount;
    double entries = 0;
    for (size_t j = 0; j < n; ++j) entries += 1.2 * (double)cnt[j] + 5;
    return bytes + (size_t)entries * (sizeof(double) + sizeof(int64_t)) + 4 * sizeof(int64_t) * (n + 2);
}

/* What a solve (tape: with a tape) or a backward allocates outside the
 * caller's arrays, for the context's memory cap, in two parts. Per worker
 * (sqp_cpu_worker_bytes): the workspace, and in the forward one working
 * factor (both of the normal path's, whose LDL' is made on a fallback) with
 * CHOLMOD's supernodal update buffer. Per group of B instances
 * (sqp_cpu_batch_bytes): the double copies of float32 values and of the
 * float32 outputs or incoming gradients, the adjoint vectors (backward)
 * and the factors and vectors a tape keeps per instance while the call
 * fills it. Summed in double: a sum beyond size_t is SIZE_MAX. */
static double sqp_cpu_worker_bytes(const sqp_cpu_analysis *an, size_t wsz, int backward)
{
    const sqp_cpu_normal *nm = an->normal;
    double factor = (double)sqp_cpu_ldl_bytes(an) + (double)sqp_cpu_factor_bytes(an->LQ);
    if (nm && nm->LS) factor += (double)sqp_cpu_factor_bytes(nm->LS) + sizeof(double) * (double)nm->LS->maxcsize +
                                2.0 * sizeof(int64_t) * (double)nm->LS->n;
    return sizeof(double) * (double)wsz + sizeof(sqp_cpu_worker) + (backward ? 0 : factor);
}

static double sqp_cpu_batch_bytes(const dopt_sparse_qp_structure *S, const sqp_cpu_analysis *an,
                                  const dopt_sparse_qp_values *V, int64_t B, int tape, int backward)
{
    const sqp_cpu_normal *nm = an->normal;
    double n = S->n, m = S->m, k = S->k, b = (double)B, d = sizeof(double), bytes = 0;
    /* what a tape keeps per instance: the factor its last iterate used (on
     * the normal path that is S's, or Kf's LDL' after a fallback) */
    double kept = (double)sqp_cpu_ldl_bytes(an);
    if (nm && nm->LS) {
        double normal = (double)sqp_cpu_factor_bytes(nm->LS) + d * (double)sqp_normal_vals_size(&nm->map);
        if (normal > kept) kept = normal;
    }
    if (V->dtype == DOPT_FLOAT32) { /* sqp_values_of's double copy, and the outputs' or gradients' */
        double sizes[6] = {(double)S->Qp[S->n], n, (double)S->Gp[S->m], m, (double)S->Ap[S->k], k};
        uint32_t bits[6] = {DOPT_QP_SHARE_Q, DOPT_QP_SHARE_P, DOPT_QP_SHARE_G,
                            DOPT_QP_SHARE_H, DOPT_QP_SHARE_A, DOPT_QP_SHARE_B};
        for (int q = 0; q < 6; ++q) bytes += d * sizes[q] * ((V->shared & bits[q]) ? 1 : b);
        if (backward || !tape) bytes += d * b * (n + m + k);
    }
    if (backward) bytes += d * b * (double)S->N;
    else if (tape) bytes += b * (kept + d * (n + 3 * m + k) + sizeof(int32_t) + sizeof(void *));
    return bytes;
}

static size_t sqp_cpu_bytes_total(double bytes) { return bytes >= (double)(SIZE_MAX / 2) ? SIZE_MAX : (size_t)bytes; }

static size_t sqp_cpu_wsz(const dopt_sparse_qp_structure *S)
{
    return sqp_work_size(S->n, S->m, S->k, S->nnzK) + sqp_cpu_extra(S, (const sqp_cpu_analysis *)S->backend);
}

typedef struct {
    double cost;
    int64_t g, batch;
} sqp_group_cost;

static int sqp_cmp_cost(const void *a, const void *b)
{
    const sqp_group_cost *x = (const sqp_group_cost *)a, *y = (const sqp_group_cost *)b;
    if (x->cost != y->cost) return x->cost > y->cost ? -1 : 1;
    return x->g < y->g ? -1 : x->g > y->g;
}

/* The order in which a call runs its groups' instances: by one instance's
 * factorization flops (cost[g]), costliest first, ties in group order: the
 * longest-processing-time-first rule of the dense layer's ragged batches,
 * so the big instances start at once and the small ones fill the workers'
 * tails. In: first[] the instance numbers in group order; out: order[t]
 * the t-th group to run and first[t] its first instance number (out of
 * memory: the group order, first unchanged). */
static void sqp_groups_order(int64_t count, const double *cost, int64_t *order, int64_t *first)
{
    sqp_group_cost *c = (sqp_group_cost *)malloc(sizeof *c * (size_t)(count > 0 ? count : 1));
    if (!c) {
        for (int64_t t = 0; t < count; ++t) order[t] = t;
        return;
    }
    for (int64_t g = 0; g < count; ++g) c[g] = (sqp_group_cost){cost[g], g, first[g + 1] - first[g]};
    qsort(c, (size_t)count, sizeof *c, sqp_cmp_cost);
    for (int64_t t = 0; t < count; ++t) {
        order[t] = c[t].g;
        first[t + 1] = first[t] + c[t].batch;
    }
    free(c);
}

/* The per-group jobs (count of job_size bytes, zeroed), the groups' first
 * instance numbers (count + 1) followed by their order (count), and their
 * costs (count) of a call; 0 when out of memory (nothing left allocated). */
static int sqp_groups_alloc(int64_t count, size_t job_size, void **jobs, int64_t **first, double **cost)
{
    size_t c = (size_t)(count > 0 ? count : 1);
    *jobs = calloc(c, job_size);
    *first = (int64_t *)malloc(sizeof(int64_t) * (2 * c + 1));
    *cost = (double *)malloc(sizeof(double) * c);
    if (*jobs && *first && *cost) {
        (*first)[0] = 0;
        return 1;
    }
    free(*jobs);
    free(*first);
    free(*cost);
    return 0;
}

/* Fills a run once its groups have begun: the instances' order (the
 * costliest groups first), the jobs, and the workers' buffers (wsz each);
 * 0 when out of memory. */
static int sqp_groups_prepare(sqp_groups_run *run, int64_t count, int64_t *first, const double *cost, void *jobs,
                              int workers)
{
    run->count = count;
    run->order = first + count + 1;
    sqp_groups_order(count, cost, first + count + 1, first);
    run->first = first;
    run->jobs = jobs;
    run->work = (double *)malloc(sizeof(double) * run->wsz * (size_t)workers);
    return run->work != NULL;
}

static double sqp_instance_cost(const dopt_sparse_qp_structure *S)
{
    return ((const sqp_cpu_analysis *)S->backend)->flops;
}

/* Group g's tape, values and outputs, before its instances run. */
static dopt_status sqp_job_begin(dopt_context *ctx, const dopt_sparse_qp_group *G, const sqp_settings *opt,
                                 dopt_sparse_qp_tape *tape, sqp_solve_job *job)
{
    const dopt_sparse_qp_structure *S = G->structure;
    int64_t B = G->values.batch;
    int n = S->n, m = S->m, k = S->k;
    memset(job, 0, sizeof *job);
    job->S = S;
    job->an = (const sqp_cpu_analysis *)S->backend;
    job->opt = *opt;
    job->tape = tape;
    job->iters = G->solution.iters;
    job->status = G->solution.status;
    job->wsz = sqp_cpu_wsz(S);
    if (tape && !sqp_tape_prepare(tape, S, B))
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "sparse qp: out of memory for the tape");
    if (B == 0) return DOPT_OK;
    if (!sqp_values_of(S, &G->values, &job->vals)) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "sparse qp: out of memory");
    if (tape) {
        job->x = tape->x;
        job->lam = tape->lam;
        job->nu = tape->nu;
    } else if (G->values.dtype == DOPT_FLOAT64) {
        job->x = (double *)G->solution.x;
        job->lam = (double *)G->solution.lam;
        job->nu = (double *)G->solution.nu;
    } else {
        job->outs = (double *)malloc(sizeof(double) * (size_t)B * ((size_t)n + m + k));
        if (!job->outs) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "sparse qp: out of memory");
        job->x = job->outs;
        job->lam = job->outs + (size_t)B * n;
        job->nu = job->lam + (size_t)B * m;
    }
    return DOPT_OK;
}

/* The outputs in the caller's dtype (from the tape's double copy, or rounded). */
static void sqp_job_end(const dopt_sparse_qp_group *G, sqp_solve_job *job)
{
    const dopt_sparse_qp_structure *S = G->structure;
    int64_t B = G->values.batch;
    int f64 = G->values.dtype == DOPT_FLOAT64;
    const double *src[3] = {job->x, job->lam, job->nu};
    void *dst[3] = {G->solution.x, G->solution.lam, G->solution.nu};
    size_t len[3] = {(size_t)B * S->n, (size_t)B * S->m, (size_t)B * S->k};
    for (int q = 0; q < 3; ++q) {
        if (len[q] == 0 || (void *)src[q] == dst[q]) continue;
        if (f64) memcpy(dst[q], src[q], sizeof(double) * len[q]);
        else
            for (size_t e = 0; e < len[q]; ++e) ((float *)dst[q])[e] = (float)src[q][e];
    }
    if (job->tape && B > 0) memcpy(job->tape->status, G->solution.status, sizeof(int32_t) * (size_t)B);
}

static void sqp_job_free(sqp_solve_job *job)
{
    sqp_values_free(&job->vals);
    free(job->outs);
}

static dopt_status sqp_solve_cpu(dopt_context *ctx, int64_t count, const dopt_sparse_qp_group *groups,
                                 const dopt_qp_options *o, dopt_sparse_qp_tape *const *tapes, int workers);

/* The solve with its memory counted against the context's host cap while
 * it runs (the tapes it fills are the caller's afterwards, as for the dense
 * layer): beyond the cap, DOPT_ERR_OUT_OF_MEMORY before anything is
 * allocated. */
dopt_status dopt_sparse_qp_solve_cpu(dopt_context *ctx, int64_t count, const dopt_sparse_qp_group *groups,
                                     const dopt_qp_options *o, dopt_sparse_qp_tape *const *tapes)
{
    int64_t total = 0;
    for (int64_t g = 0; g < count; ++g) total += groups[g].values.batch;
    int workers = dopt_worker_count(ctx->threads, total, 1);
    double per_worker = 0, batches = 0;
    for (int64_t g = 0; g < count && total > 0; ++g) {
        const dopt_sparse_qp_structure *S = groups[g].structure;
        const sqp_cpu_analysis *an = (const sqp_cpu_analysis *)S->backend;
        double w = sqp_cpu_worker_bytes(an, sqp_cpu_wsz(S), 0);
        if (w > per_worker) per_worker = w;
        batches += sqp_cpu_batch_bytes(S, an, &groups[g].values, groups[g].values.batch, tapes && tapes[g], 0);
    }
    size_t bytes = total > 0 ? sqp_cpu_bytes_total(workers * per_worker + batches) : 0;
    int kind = dopt_mem_kind(ctx);
    DOPT_TRY(dopt_mem_charge(ctx, kind, bytes, "sparse qp solve (workspaces and CHOLMOD factors, estimated)"));
    dopt_status st = sqp_solve_cpu(ctx, count, groups, o, tapes, workers);
    dopt_mem_uncharge(ctx, kind, bytes);
    return st;
}

static dopt_status sqp_solve_cpu(dopt_context *ctx, int64_t count, const dopt_sparse_qp_group *groups,
                                 const dopt_qp_options *o, dopt_sparse_qp_tape *const *tapes, int workers)
{
    sqp_settings opt = qp_settings_of_d(o);
    sqp_solve_job *jobs;
    int64_t *first;
    double *cost;
    if (!sqp_groups_alloc(count, sizeof *jobs, (void **)&jobs, &first, &cost))
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "sparse qp: out of memory");
    dopt_status st = DOPT_OK;
    int64_t begun = 0;
    sqp_groups_run run = {0};
    for (; begun < count && st == DOPT_OK; ++begun) {
        st = sqp_job_begin(ctx, &groups[begun], &opt, tapes ? tapes[begun] : NULL, &jobs[begun]);
        first[begun + 1] = first[begun] + groups[begun].values.batch;
        cost[begun] = sqp_instance_cost(groups[begun].structure);
        if (jobs[begun].wsz > run.wsz) run.wsz = jobs[begun].wsz;
    }
    int64_t total = first[begun];
    if (st == DOPT_OK && total > 0) {
        run.wk = (sqp_cpu_worker *)calloc((size_t)workers, sizeof(sqp_cpu_worker));
        if (!sqp_groups_prepare(&run, count, first, cost, jobs, workers) || !run.wk) {
            st = dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "sparse qp: out of memory for the workspace");
        } else {
            for (int t = 0; t < workers; ++t) sqp_cholmod_setup(&run.wk[t].cc);
            dopt_parallel_for(ctx, workers, total, 1, sqp_solve_range, &run);
            int oom = 0;
            for (int t = 0; t < workers; ++t) {
                oom |= run.wk[t].oom;
                cholmod_l_finish(&run.wk[t].cc);
            }
            if (oom) st = dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "sparse qp: CHOLMOD ran out of memory");
        }
        free(run.wk);
        free(run.work);
    }
    for (int64_t g = 0; g < begun; ++g) {
        if (st == DOPT_OK) sqp_job_end(&groups[g], &jobs[g]);
        sqp_job_free(&jobs[g]);
    }
    free(jobs);
    free(first);
    free(cost);
    return st;
}

/* ---- backward ---- */

typedef struct {
    const dopt_sparse_qp_tape *T;
    sqp_values_d vals;
    const double *gx, *glam, *gnu; /* double copies of the incoming gradients */
    double *D;                     /* per instance: the adjoint [dx; dlt; dnu] (N) */
    double *own[3];                /* the copies' buffers (float32 gradients) */
    size_t wsz;
} sqp_adjoint_job;

static void sqp_adjoint_one(const sqp_adjoint_job *job, int64_t i, double *base)
{
    const dopt_sparse_qp_tape *T = job->T;
    const dopt_sparse_qp_structure *S = T->S;
    int n = S->n, m = S->m, k = S->k;
    int64_t N = S->N;
    double *D = job->D + i * N;
    const double *gx = job->gx + i * n, *gl = job->glam ? job->glam + i * m : NULL,
                 *gn = job->gnu ? job->gnu + i * k : NULL;
    if (!sqp_finite(n, gx) || (gl && !sqp_finite(m, gl)) || (gn && !sqp_finite(k, gn))) {
        for (int64_t q = 0; q < N; ++q) D[q] = (double)NAN;
        return;
    }
    if (!sqp_has_solution(T->status[i]) || !T->factors[i]) {
        for (int64_t q = 0; q < N; ++q) D[q] = 0;
        return;
    }
    sqp_view v = sqp_view_of(S, &job->vals, i);
    memset(base, 0, sizeof(double) * job->wsz); /* another group's values may be there */
    sqp_work w = sqp_work_map(base, n, m, k, S->nnzK);
    for (int r = 0; r < m; ++r) {
        w.W[r] = T->W[i * m + r];
        w.Winv[r] = T->Winv[i * m + r];
    }
    const sqp_cpu_kept *kp = (const sqp_cpu_kept *)T->factors[i];
    sqp_cpu_factorizer f;
    memset(&f, 0, sizeof f);
    f.base.solve = sqp_cpu_solve;
    f.an = (const sqp_cpu_analysis *)S->backend;
    sqp_cpu_factorizer_map(&f, S, base + sqp_work_size(n, m, k, S->nnzK));
    f.normal = kp->normal;
    if (kp->normal) {
        f.LS = kp->L;
        f.nv = sqp_normal_vals_map(&f.an->normal->map, kp->vals);
    } else {
        f.L = kp->ldl;
    }
    sqp_adjoint(&v, &w, &f.base, T->opt.refine + 3, gx, gl, gn);
    for (int64_t q = 0; q < N; ++q) D[q] = w.d[q];
}

static void sqp_adjoint_range(void *arg, int64_t b0, int64_t b1, int worker)
{
    sqp_groups_run *run = (sqp_groups_run *)arg;
    double *base = run->work + (size_t)worker * run->wsz;
    for (int64_t i = b0; i < b1; ++i) {
        int64_t t = sqp_group_of(run->first, run->count, i);
        sqp_adjoint_one((const sqp_adjoint_job *)run->jobs + run->order[t], i - run->first[t], base);
    }
}

/* The gradients with respect to one matrix's values on its pattern:
 * entry e = (r, c) gets  scale * (U_r X_c + V_r Y_c)  per instance (dQ: U = dx,
 * X = x, V = x, Y = dx, scale 1/2; dG: dlt, x, lam, dx; dA: dnu, x, nu, dx),
 * summed over the batch in instance order when shared. */
typedef struct {
    int64_t B, rows, N, n;
    const int64_t *Rp;
    const int32_t *Ri;
    const double *D; int64_t uoff;  /* U = D + b N + uoff */
    const double *X;                /* x: b n */
    const double *Vv; int64_t vstride; /* V = Vv + b vstride */
    double scale;
    int shared, f64;
    void *out;
} sqp_pattern_grad_job;

static void sqp_pattern_grad_range(void *arg, int64_t t0, int64_t t1, int worker)
{
    (void)worker;
    sqp_pattern_grad_job *j = (sqp_pattern_grad_job *)arg;
    int64_t nnz = j->Rp[j->rows];
    for (int64_t t = t0; t < t1; ++t) {
        /* shared: task t is row t summed over the batch; else instance t */
        int64_t r0 = j->shared ? t : 0, r1 = j->shared ? t + 1 : j->rows;
        int64_t b0 = j->shared ? 0 : t, b1 = j->shared ? j->B : t + 1;
        for (int64_t r = r0; r < r1; ++r)
            for (int64_t e = j->Rp[r]; e < j->Rp[r + 1]; ++e) {
                int64_t c = j->Ri[e];
                double acc = 0;
                for (int64_t b = b0; b < b1; ++b) {
                    const double *dx = j->D + b * j->N, *x = j->X + b * j->n;
                    double u = j->D[b * j->N + j->uoff + r], vv = j->Vv[b * j->vstride + r];
                    acc += u * x[c] + vv * dx[c];
                }
                acc *= j->scale;
                int64_t o = (j->shared ? 0 : t * nnz) + e;
                if (j->f64) ((double *)j->out)[o] = acc;
                else ((float *)j->out)[o] = (float)acc;
            }
    }
}

static void sqp_pattern_grad(dopt_context *ctx, sqp_pattern_grad_job *j)
{
    int64_t tasks = j->shared ? j->rows : j->B;
    if (tasks == 0) return;
    dopt_parallel_for(ctx, dopt_worker_count(ctx->threads, tasks, 4), tasks, 4, sqp_pattern_grad_range, j);
}

/* dp = dx, dh = -dlt, db = -dnu: per instance or summed in instance order. */
static void sqp_vector_grad(int64_t B, int64_t len, int64_t N, const double *D, int64_t off, double sign, int shared,
                            int f64, void *out)
{
    if (!out || len == 0) return;
    for (int64_t q = 0; q < (shared ? len : B * len); ++q) {
        double acc = 0;
        if (shared)
            for (int64_t b = 0; b < B; ++b) acc += D[b * N + off + q];
        else
            acc = D[(q / len) * N + off + q % len];
        acc *= sign;
        if (f64) ((double *)out)[q] = acc;
        else ((float *)out)[q] = (float)acc;
    }
}

static const double *sqp_grad_in_d(const void *g, int f64, int64_t len, double **owned)
{
    *owned = NULL;
    if (!g || f64) return (const double *)g;
    double *d = (double *)malloc(sizeof(double) * (size_t)(len > 0 ? len : 1));
    if (!d) return NULL;
    for (int64_t e = 0; e < len; ++e) d[e] = (double)((const float *)g)[e];
    *owned = d;
    return d;
}

/* Group g's incoming gradients in double, its adjoint buffer and values. */
static dopt_status sqp_adjoint_begin(dopt_context *ctx, const dopt_sparse_qp_group_grad *G, sqp_adjoint_job *job)
{
    const dopt_sparse_qp_tape *T = G->tape;
    const dopt_sparse_qp_structure *S = T->S;
    int64_t B = T->batch, n = S->n, m = S->m, k = S->k;
    int f64 = T->values.dtype == DOPT_FLOAT64;
    memset(job, 0, sizeof *job);
    job->T = T;
    job->wsz = sqp_cpu_wsz(S);
    job->gx = sqp_grad_in_d(G->in.dx, f64, B * n, &job->own[0]);
    job->glam = m ? sqp_grad_in_d(G->in.dlam, f64, B * m, &job->own[1]) : NULL;
    job->gnu = k ? sqp_grad_in_d(G->in.dnu, f64, B * k, &job->own[2]) : NULL;
    job->D = (double *)malloc(sizeof(double) * (size_t)(B * S->N > 0 ? B * S->N : 1));
    if (!job->gx || (m && G->in.dlam && !job->glam) || (k && G->in.dnu && !job->gnu) || !job->D ||
        !sqp_values_of(S, &T->values, &job->vals))
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "sparse qp backward: out of memory");
    return DOPT_OK;
}

/* The gradients of group g from its adjoints. */
static void sqp_adjoint_end(dopt_context *ctx, const dopt_sparse_qp_group_grad *G, const sqp_adjoint_job *job)
{
    const dopt_sparse_qp_tape *T = G->tape;
    const dopt_sparse_qp_structure *S = T->S;
    const dopt_qp_grad_out *gout = &G->out;
    int64_t B = T->batch, n = S->n, m = S->m, k = S->k, N = S->N;
    int f64 = T->values.dtype == DOPT_FLOAT64;
    uint32_t sh = T->values.shared;
    sqp_vector_grad(B, n, N, job->D, 0, 1, (sh & DOPT_QP_SHARE_P) != 0, f64, gout->dp);
    sqp_vector_grad(B, m, N, job->D, n, -1, (sh & DOPT_QP_SHARE_H) != 0, f64, gout->dh);
    sqp_vector_grad(B, k, N, job->D, n + m, -1, (sh & DOPT_QP_SHARE_B) != 0, f64, gout->db);
    if (gout->dQ && S->Qp[n] > 0) {
        sqp_pattern_grad_job j = {B, n, N, n, S->Qp, S->Qi, job->D, 0, T->x, T->x, n, 0.5,
                                  (sh & DOPT_QP_SHARE_Q) != 0, f64, gout->dQ};
        sqp_pattern_grad(ctx, &j);
    }
    if (gout->dG && S->Gp[m] > 0) {
        sqp_pattern_grad_job j = {B, m, N, n, S->Gp, S->Gi, job->D, n, T->x, T->lam, m, 1.0,
                                  (sh & DOPT_QP_SHARE_G) != 0, f64, gout->dG};
        sqp_pattern_grad(ctx, &j);
    }
    if (gout->dA && S->Ap[k] > 0) {
        sqp_pattern_grad_job j = {B, k, N, n, S->Ap, S->Ai, job->D, n + m, T->x, T->nu, k, 1.0,
                                  (sh & DOPT_QP_SHARE_A) != 0, f64, gout->dA};
        sqp_pattern_grad(ctx, &j);
    }
}

static void sqp_adjoint_free(sqp_adjoint_job *job)
{
    sqp_values_free(&job->vals);
    free(job->D);
    for (int q = 0; q < 3; ++q) free(job->own[q]);
}

static dopt_status sqp_backward_cpu(dopt_context *ctx, int64_t count, const dopt_sparse_qp_group_grad *groups,
                                    int workers);

/* The backward with its memory counted against the context's host cap
 * while it runs. */
dopt_status dopt_sparse_qp_backward_cpu(dopt_context *ctx, int64_t count, const dopt_sparse_qp_group_grad *groups)
{
    int64_t total = 0;
    for (int64_t g = 0; g < count; ++g) total += groups[g].tape->batch;
    int workers = dopt_worker_count(ctx->threads, total, 1);
    double per_worker = 0, batches = 0;
    for (int64_t g = 0; g < count && total > 0; ++g) {
        const dopt_sparse_qp_tape *T = groups[g].tape;
        const sqp_cpu_analysis *an = (const sqp_cpu_analysis *)T->S->backend;
        double w = sqp_cpu_worker_bytes(an, sqp_cpu_wsz(T->S), 1);
        if (w > per_worker) per_worker = w;
        batches += sqp_cpu_batch_bytes(T->S, an, &T->values, T->batch, 0, 1);
    }
    size_t bytes = total > 0 ? sqp_cpu_bytes_total(workers * per_worker + batches) : 0;
    int kind = dopt_mem_kind(ctx);
    DOPT_TRY(dopt_mem_charge(ctx, kind, bytes, "sparse qp backward (workspaces, estimated)"));
    dopt_status st = sqp_backward_cpu(ctx, count, groups, workers);
    dopt_mem_uncharge(ctx, kind, bytes);
    return st;
}

static dopt_status sqp_backward_cpu(dopt_context *ctx, int64_t count, const dopt_sparse_qp_group_grad *groups,
                                    int workers)
{
    sqp_adjoint_job *jobs;
    int64_t *first;
    double *cost;
    if (!sqp_groups_alloc(count, sizeof *jobs, (void **)&jobs, &first, &cost))
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "sparse qp backward: out of memory");
    dopt_status st = DOPT_OK;
    int64_t begun = 0;
    sqp_groups_run run = {0};
    for (; begun < count && st == DOPT_OK; ++begun) {
        st = sqp_adjoint_begin(ctx, &groups[begun], &jobs[begun]);
        first[begun + 1] = first[begun] + groups[begun].tape->batch;
        cost[begun] = sqp_instance_cost(groups[begun].tape->S);
        if (jobs[begun].wsz > run.wsz) run.wsz = jobs[begun].wsz;
    }
    int64_t total = first[begun];
    if (st == DOPT_OK && total > 0) {
        if (!sqp_groups_prepare(&run, count, first, cost, jobs, workers))
            st = dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "sparse qp backward: out of memory");
        else dopt_parallel_for(ctx, workers, total, 1, sqp_adjoint_range, &run);
        free(run.work);
    }
    for (int64_t g = 0; g < begun; ++g) {
        if (st == DOPT_OK) sqp_adjoint_end(ctx, &groups[g], &jobs[g]);
        sqp_adjoint_free(&jobs[g]);
    }
    free(jobs);
    free(first);
    free(cost);
    return st;
}
