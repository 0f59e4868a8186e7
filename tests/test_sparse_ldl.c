/* The sparse QP layer's own numeric LDL' (kernels/sparse_qp_ldl.h,
 * sqp_ldl_numeric) on its static schedule (src/cpu/sparse_qp_ldl_schedule.c),
 * checked independently of the layer and of CHOLMOD: on random symmetric
 * quasidefinite matrices (a positive definite block, then a negative
 * definite one, random sparsity, random orderings of the rows), L D L'
 * multiplied out densely must give back A on every entry, including every
 * zero (so the schedule's pattern holds all the fill), the solve must agree
 * with a dense solve, and the scratch vector must come back zero. A NaN in
 * the values must make the inertia test refuse the factor; refactoring the
 * same pattern with new values must give the factor of the new values. */
#include "test_util.h"
#include "sparse_qp_ldl_schedule.h"

/* A random symmetric N x N matrix, dense (row-major), quasidefinite:
 * npos rows with a dominant positive diagonal, the rest negative (each
 * block definite: the matrix is quasidefinite, and an LDL' in any order
 * has its inertia), density
 * `dens` off the diagonal, then its rows and columns shuffled. */
static double *random_quasidefinite(int N, int npos, double dens, int *pos_of)
{
    double *A = (double *)calloc((size_t)N * N, sizeof(double));
    int *perm = (int *)malloc(sizeof(int) * (size_t)N);
    for (int i = 0; i < N; ++i) perm[i] = i;
    for (int i = N - 1; i > 0; --i) {
        int j = (int)(tu_unif() * (i + 1));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int i = 0; i < N; ++i)
        for (int j = 0; j < i; ++j)
            if (tu_unif() < dens) {
                double v = 2 * tu_unif() - 1;
                A[perm[i] * N + perm[j]] = A[perm[j] * N + perm[i]] = v;
            }
    for (int i = 0; i < N; ++i) {
        double row = 0;
        for (int j = 0; j < N; ++j) row += fabs(A[perm[i] * N + j]);
        A[perm[i] * N + perm[i]] = (i < npos ? 1 : -1) * (0.5 + row * (1 + tu_unif())); /* dominant */
        pos_of[perm[i]] = i < npos;
    }
    free(perm);
    return A;
}

static void upper_csc(int N, const double *A, int64_t **Ap, int64_t **Ai, double **Ax)
{
    int64_t nnz = 0;
    for (int j = 0; j < N; ++j)
        for (int i = 0; i <= j; ++i) nnz += A[i * N + j] != 0 || i == j;
    *Ap = (int64_t *)malloc(sizeof(int64_t) * (size_t)(N + 1));
    *Ai = (int64_t *)malloc(sizeof(int64_t) * (size_t)(nnz + 1));
    *Ax = (double *)malloc(sizeof(double) * (size_t)(nnz + 1));
    int64_t q = 0;
    (*Ap)[0] = 0;
    for (int j = 0; j < N; ++j) {
        for (int i = 0; i <= j; ++i)
            if (A[i * N + j] != 0 || i == j) {
                (*Ai)[q] = i;
                (*Ax)[q++] = A[i * N + j];
            }
        (*Ap)[j + 1] = q;
    }
}

/* max |L D L' - A| over all entries, relative to max |A|. */
static double reconstruction_error(int N, const double *A, const sqp_ldl_plan *plan, const double *val)
{
    double *L = (double *)calloc((size_t)N * N, sizeof(double)), *D = (double *)malloc(sizeof(double) * (size_t)N);
    for (int j = 0; j < N; ++j) {
        D[j] = val[plan->colp[j]];
        L[j * N + j] = 1;
        for (int64_t q = plan->colp[j] + 1; q < plan->colp[j] + plan->colnz[j]; ++q) L[plan->rowi[q] * N + j] = val[q];
    }
    double err = 0, amax = 0;
    for (int i = 0; i < N; ++i)
        for (int j = 0; j < N; ++j) {
            double s = 0;
            for (int t = 0; t < N; ++t) s += L[i * N + t] * D[t] * L[j * N + t];
            double e = fabs(s - A[i * N + j]);
            if (e > err) err = e;
            if (fabs(A[i * N + j]) > amax) amax = fabs(A[i * N + j]);
        }
    free(L);
    free(D);
    return amax > 0 ? err / amax : err;
}

/* x = A^-1 b by Gaussian elimination with partial pivoting (dense). */
static void dense_solve(int N, const double *A0, const double *b, double *x)
{
    double *A = (double *)malloc(sizeof(double) * (size_t)N * N);
    memcpy(A, A0, sizeof(double) * (size_t)N * N);
    memcpy(x, b, sizeof(double) * (size_t)N);
    for (int c = 0; c < N; ++c) {
        int p = c;
        for (int r = c + 1; r < N; ++r)
            if (fabs(A[r * N + c]) > fabs(A[p * N + c])) p = r;
        for (int t = 0; t < N; ++t) {
            double u = A[c * N + t];
            A[c * N + t] = A[p * N + t];
            A[p * N + t] = u;
        }
        double u = x[c];
        x[c] = x[p];
        x[p] = u;
        for (int r = c + 1; r < N; ++r) {
            double f = A[r * N + c] / A[c * N + c];
            for (int t = c; t < N; ++t) A[r * N + t] -= f * A[c * N + t];
            x[r] -= f * x[c];
        }
    }
    for (int c = N - 1; c >= 0; --c) {
        double s = x[c];
        for (int t = c + 1; t < N; ++t) s -= A[c * N + t] * x[t];
        x[c] = s / A[c * N + c];
    }
    free(A);
}

static void one_case(int N, int npos, double dens)
{
    int *pos_of = (int *)malloc(sizeof(int) * (size_t)(N + 1));
    double *A = random_quasidefinite(N, npos, dens, pos_of);
    int64_t *Ap, *Ai;
    double *Ax;
    upper_csc(N, A, &Ap, &Ai, &Ax);
    sqp_ldl_plan plan;
    CHECK(sqp_ldl_plan_build(&plan, N, Ap, Ai), "N %d: the schedule was not built", N);
    int64_t nv = sqp_ldl_plan_values(&plan);
    double *val = (double *)malloc(sizeof(double) * (size_t)(nv + 1)), *y = (double *)calloc((size_t)N + 1, sizeof(double));
    sqp_ldl_numeric(&plan.s, Ap, Ai, Ax, val, y);
    double err = reconstruction_error(N, A, &plan, val);
    /* a backward-stable elimination of a diagonally dominant matrix: a few
     * hundred eps relative to |A| at these sizes */
    CHECK(err <= 1e-13, "N %d, density %.2f: |L D L' - A| / |A| = %.3g", N, dens, err);
    int clean = 1;
    for (int i = 0; i < N; ++i) clean &= y[i] == 0;
    CHECK(clean, "N %d: the scratch vector is not zero after the factorization", N);
    /* the inertia: sqp_ldl_inertia_ok wants the positive rows first in the
     * original order, so number this matrix's rows that way (row j of the
     * factored matrix is row `order[j]` of a matrix whose first npos rows
     * are the positive ones) */
    int64_t *perm = (int64_t *)malloc(sizeof(int64_t) * (size_t)(N + 1));
    int64_t *order = (int64_t *)malloc(sizeof(int64_t) * (size_t)(N + 1));
    int64_t next_pos = 0, next_neg = npos;
    for (int j = 0; j < N; ++j) order[j] = pos_of[j] ? next_pos++ : next_neg++;
    CHECK(next_pos == npos, "N %d: %lld positive rows, expected %d", N, (long long)next_pos, npos);
    sqp_ldl g = {N, order, plan.colp, plan.colnz, plan.rowi, val, plan.tail};
    CHECK(sqp_ldl_inertia_ok(&g, npos), "N %d: the pivots do not have the matrix's inertia", N);
    /* the solve against a dense one */
    double *b = (double *)malloc(sizeof(double) * (size_t)(N + 1)), *x = (double *)malloc(sizeof(double) * (size_t)(N + 1));
    double *xs = (double *)malloc(sizeof(double) * (size_t)(N + 1)), *tmp = (double *)malloc(sizeof(double) * (size_t)(N + 1));
    for (int i = 0; i < N; ++i) {
        b[i] = 2 * tu_unif() - 1;
        perm[i] = i;
    }
    dense_solve(N, A, b, x);
    memcpy(xs, b, sizeof(double) * (size_t)N);
    sqp_ldl f = {N, perm, plan.colp, plan.colnz, plan.rowi, val, plan.tail};
    sqp_ldl_solve(&f, xs, tmp);
    double ex = 0, xm = 0;
    for (int i = 0; i < N; ++i) {
        if (fabs(xs[i] - x[i]) > ex) ex = fabs(xs[i] - x[i]);
        if (fabs(x[i]) > xm) xm = fabs(x[i]);
    }
    CHECK(ex <= 1e-12 * (1 + xm), "N %d: solve differs from the dense solve by %.3g", N, ex);
    /* without the consecutive runs (tail) the solve takes the indexed loops
     * throughout: the same solve up to the runs' partial sums in L' */
    double *xn = (double *)malloc(sizeof(double) * (size_t)(N + 1));
    memcpy(xn, b, sizeof(double) * (size_t)N);
    sqp_ldl fn = f;
    fn.tail = NULL;
    sqp_ldl_solve(&fn, xn, tmp);
    double en = 0;
    for (int i = 0; i < N; ++i) en = fmax(en, fabs(xn[i] - xs[i]));
    CHECK(en <= 1e-12 * (1 + xm), "N %d: the solve with runs differs from without by %.3g", N, en);
    free(xn);
    /* new values on the same pattern: the factor of the new values */
    for (int64_t q = 0; q < Ap[N]; ++q) {
        Ax[q] *= 1.5;
    }
    for (int i = 0; i < N * N; ++i) A[i] *= 1.5;
    sqp_ldl_numeric(&plan.s, Ap, Ai, Ax, val, y);
    err = reconstruction_error(N, A, &plan, val);
    CHECK(err <= 1e-13, "N %d: refactored with new values, |L D L' - A| / |A| = %.3g", N, err);
    /* a NaN value: the inertia test refuses the factor, the scratch is clean */
    if (N > 1) {
        Ax[Ap[N] - 2] = NAN;
        sqp_ldl_numeric(&plan.s, Ap, Ai, Ax, val, y);
        CHECK(!sqp_ldl_inertia_ok(&g, npos), "N %d: a factor with a NaN passed the inertia test", N);
        clean = 1;
        for (int i = 0; i < N; ++i) clean &= y[i] == 0;
        CHECK(clean, "N %d: the scratch vector is not zero after a NaN", N);
    }
    sqp_ldl_plan_free(&plan);
    free(A), free(Ap), free(Ai), free(Ax), free(val), free(y), free(perm), free(order), free(pos_of);
    free(b), free(x), free(xs), free(tmp);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    tu_seed(2026);
    one_case(0, 0, 0);
    one_case(1, 1, 0);
    one_case(5, 5, 0);      /* diagonal: no fill, no rows */
    one_case(12, 6, 1.0);   /* dense: the pattern is the whole triangle */
    for (int t = 0; t < 20; ++t) {
        int N = 10 + (int)(tu_unif() * 80);
        one_case(N, (int)(tu_unif() * N), 0.02 + 0.2 * tu_unif());
    }
    return tu_finish("test_sparse_ldl");
}
