/* Convergence on hard small problems (issue 15, item 2): Maros-Meszaros
 * convex QPs and the netlib LPs they are built on (Q dropped), committed in
 * tests/data/maros/ by bench/maros_meszaros.py (`fixtures`). Each must end
 * with its reference status (Clarabel's: solved, or unbounded for
 * PRIMALC1-LP) within its iteration bound (<= 50, the default max_iter)
 * at the default float64 settings, and its solution must pass an
 * independent KKT check (primal and dual residuals, signs,
 * complementarity) and match the reference objective; an unbounded one
 * must return a valid recession direction. */
#include "test_util.h"

static const char *const fixtures[] = {"DUALC1", "DUALC1-LP", "DUALC2",   "DUALC2-LP", "QISRAEL",  "ISRAEL",
                                       "QPCBOEI2", "PCBOEI2", "QSHARE1B", "SHARE1B",   "QSHARE2B", "SHARE2B",
                                       "QAFIRO",  "AFIRO",     "PRIMALC1", "PRIMALC1-LP"};

static double max_abs(size_t len, const double *v)
{
    double r = 0;
    for (size_t i = 0; i < len; ++i) r = fabs(v[i]) > r ? fabs(v[i]) : r;
    return r;
}

/* y = M x (rows x cols), or y = M' x when trans */
static void matvec(int rows, int cols, const double *M, const double *x, double *y, int trans)
{
    for (int i = 0; i < (trans ? cols : rows); ++i) y[i] = 0;
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
            if (trans) y[c] += M[(size_t)r * cols + c] * x[r];
            else y[r] += M[(size_t)r * cols + c] * x[c];
        }
}

static const double *member(const dopt_npz *z, const char *name, const char *fixture)
{
    const dopt_npy *a = dopt_npz_find(z, name);
    CHECK(a && a->kind == 'f' && a->itemsize == 8, "%s: member %s missing or not float64", fixture, name);
    return a ? (const double *)a->data : NULL;
}

static int check_fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/maros/%s.npz", DOPT_TEST_DATA, name);
    dopt_npz z;
    dopt_status rs = dopt_npz_read(tu_ctx, path, &z);
    if (rs == DOPT_ERR_UNSUPPORTED) return 77; /* compressed members, a build without zlib */
    CHECK_OK(rs);
    if (rs != DOPT_OK) return 1;
    const dopt_npy *pa = dopt_npz_find(&z, "p"), *Ga = dopt_npz_find(&z, "G"), *Aa = dopt_npz_find(&z, "A");
    int n = (int)pa->shape[0], m = (int)Ga->shape[0], k = (int)Aa->shape[0];
    const double *Q = dopt_npz_find(&z, "Q") ? member(&z, "Q", name) : NULL, *p = member(&z, "p", name);
    const double *G = member(&z, "G", name), *h = member(&z, "h", name), *A = member(&z, "A", name),
                 *b = member(&z, "b", name), *ref_obj = member(&z, "ref_obj", name);
    int ref_status = *(const int32_t *)dopt_npz_find(&z, "ref_status")->data;
    int bound = *(const int32_t *)dopt_npz_find(&z, "iter_bound")->data;
    CHECK(bound <= 50, "%s: iteration bound %d above the default max_iter", name, bound);

    dopt_qp_problem P;
    memset(&P, 0, sizeof P);
    P.batch = 1, P.n = n, P.m = m, P.k = k, P.dtype = DOPT_FLOAT64;
    P.Q = Q, P.p = p, P.G = m ? G : NULL, P.h = m ? h : NULL, P.A = k ? A : NULL, P.b = k ? b : NULL;
    double *x = (double *)calloc((size_t)n, 8), *lam = (double *)calloc((size_t)m + 1, 8),
           *nu = (double *)calloc((size_t)k + 1, 8);
    int32_t st = -1, it = -1;
    dopt_qp_solution s = {x, lam, nu, &st, &it};
    CHECK_OK(dopt_qp_solve(tu_ctx, &P, NULL, &s, NULL));
    printf("%-12s n=%3d m=%3d k=%3d: status %d in %2d iterations (bound %d)\n", name, n, m, k, st, it, bound);
    CHECK(st == ref_status, "%s: status %d (%s), reference %d", name, st, dopt_instance_status_string(st), ref_status);
    CHECK(it <= bound, "%s: %d iterations > bound %d", name, it, bound);

    double *Qx = (double *)calloc((size_t)n, 8), *Gx = (double *)calloc((size_t)m + 1, 8),
           *Ax = (double *)calloc((size_t)k + 1, 8), *Gl = (double *)calloc((size_t)n, 8),
           *An = (double *)calloc((size_t)n, 8);
    if (Q) matvec(n, n, Q, x, Qx, 0);
    matvec(m, n, G, x, Gx, 0);
    matvec(k, n, A, x, Ax, 0);
    if (st == DOPT_SOLVED) {
        matvec(m, n, G, lam, Gl, 1);
        matvec(k, n, A, nu, An, 1);
        double dres = 0, pres = 0, comp = 0, lneg = 0, px = 0, xQx = 0, hl = 0, bn = 0;
        for (int j = 0; j < n; ++j) {
            double r = Qx[j] + p[j] + Gl[j] + An[j];
            dres = fabs(r) > dres ? fabs(r) : dres;
            px += p[j] * x[j];
            xQx += x[j] * Qx[j];
        }
        for (int r = 0; r < m; ++r) {
            pres = Gx[r] - h[r] > pres ? Gx[r] - h[r] : pres;
            lneg = -lam[r] > lneg ? -lam[r] : lneg;
            comp += lam[r] * (h[r] - Gx[r]);
            hl += h[r] * lam[r];
        }
        for (int r = 0; r < k; ++r) {
            pres = fabs(Ax[r] - b[r]) > pres ? fabs(Ax[r] - b[r]) : pres;
            bn += b[r] * nu[r];
        }
        double dscale = 1 + max_abs((size_t)n, Qx) + max_abs((size_t)n, Gl) + max_abs((size_t)n, An) +
                        max_abs((size_t)n, p);
        double pscale = 1 + max_abs((size_t)m, Gx) + max_abs((size_t)m, h) + max_abs((size_t)k, Ax) +
                        max_abs((size_t)k, b);
        double obj = 0.5 * xQx + px, dual_obj = -0.5 * xQx - hl - bn;
        /* the solver's own test is 1e-8 on scaled residuals; these scales
         * are sums rather than maxima, so 1e-7 leaves room for the
         * difference in norms only */
        CHECK(dres <= 1e-7 * dscale, "%s: dual residual %.3e (scale %.3e)", name, dres, dscale);
        CHECK(pres <= 1e-7 * pscale, "%s: primal residual %.3e (scale %.3e)", name, pres, pscale);
        CHECK(lneg == 0, "%s: negative multiplier %.3e", name, -lneg);
        CHECK(fabs(comp) <= 1e-7 * (1 + fabs(obj)), "%s: complementarity %.3e", name, comp);
        CHECK(fabs(obj - dual_obj) <= 1e-7 * (1 + fabs(obj)), "%s: duality gap %.3e", name, obj - dual_obj);
        CHECK(fabs(obj - *ref_obj) <= 1e-6 * (1 + fabs(*ref_obj)), "%s: objective %.10e, reference %.10e", name, obj,
              *ref_obj);
    } else if (st == DOPT_DUAL_INFEASIBLE) {
        /* x is a recession direction scaled to p'x = -1: Qx = 0, Gx <= 0, Ax = 0 */
        double px = 0, viol = max_abs((size_t)n, Qx) + max_abs((size_t)k, Ax);
        for (int j = 0; j < n; ++j) px += p[j] * x[j];
        for (int r = 0; r < m; ++r) viol = Gx[r] > viol ? Gx[r] : viol;
        CHECK(fabs(px + 1) <= 1e-9, "%s: recession direction with p'x = %.3e", name, px);
        CHECK(viol <= 1e-8, "%s: recession direction violates by %.3e", name, viol);
    }
    free(Qx), free(Gx), free(Ax), free(Gl), free(An), free(x), free(lam), free(nu);
    dopt_npz_free(&z);
    return 0;
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    if (dopt_context_backend(tu_ctx) != DOPT_BACKEND_CPU) {
        printf("skipped: host arrays, the CPU backend only\n");
        dopt_context_destroy(tu_ctx);
        return TEST_SKIP;
    }
    for (size_t f = 0; f < sizeof fixtures / sizeof *fixtures; ++f)
        if (check_fixture(fixtures[f]) == 77) {
            printf("skipped: compressed fixtures need a build with zlib\n");
            dopt_context_destroy(tu_ctx);
            return TEST_SKIP;
        }
    return tu_finish("test_qp_maros");
}
