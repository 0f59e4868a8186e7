/* The CLI contract of `dopt qp solve`: file names, shapes, dtypes, status
 * codes, gradients, and clear failures (non-zero exit, message naming the
 * file) on missing, malformed or mismatched inputs. */
#define _POSIX_C_SOURCE 200809L
#include <sys/stat.h>
#include <sys/wait.h>

#include "qp_harness.h" /* test_util.h: dopt.h (dopt_npy.h), the context tu_ctx */

#include "cli_util.h"

static void test_solve_and_backward(int f32)
{
    int n = 6, m = 5, k = 2;
    int64_t B = 7;
    tq_data d = tq_gen(B, n, m, k, DOPT_GEN_STRICTLY_CONVEX, 10, 31);
    /* share G across the batch (an unbatched file), keeping instances feasible */
    for (int64_t i = 1; i < B; ++i) {
        memcpy(d.G + i * m * n, d.G, sizeof(double) * m * n);
        for (int q = 0; q < m; ++q) d.h[i * m + q] = d.h[q] + 0.25 * (double)i;
    }
    d.h[3 * m + 1] = INFINITY; /* a row switched off */
    char dir[1024], out[1024];
    snprintf(dir, sizeof dir, "%s/in%d", work, f32);
    snprintf(out, sizeof out, "%s/out%d", work, f32);
    mkdirs(dir);
    int64_t sQ[3] = {B, n, n}, sp[2] = {B, n}, sG[2] = {m, n}, sh[2] = {B, m}, sA[3] = {B, k, n}, sb[2] = {B, k};
    put(dir, "Q", 3, sQ, d.Q, f32);
    put(dir, "p", 2, sp, d.p, f32);
    put(dir, "G", 2, sG, d.G, f32);
    put(dir, "h", 2, sh, d.h, f32);
    put(dir, "A", 3, sA, d.A, f32);
    put(dir, "b", 2, sb, d.b, f32);
    double *w = tq_alloc((size_t)B * n);
    for (size_t j = 0; j < (size_t)B * n; ++j) w[j] = 1.0 + (double)(j % 3);
    put(dir, "w", 2, sp, w, f32);
    char args[4096];
    snprintf(args, sizeof args, "qp solve '%s' --out '%s' --dx '%s/w.npy' --threads 2", dir, out, dir);
    int rc = run(args);
    CHECK(rc == 0, "dopt qp solve exited %d", rc);
    dopt_npy x, lam, nu, st, it;
    if (get(out, "x", &x) && get(out, "lam", &lam) && get(out, "nu", &nu) && get(out, "status", &st) &&
        get(out, "iters", &it)) {
        CHECK(x.ndim == 2 && x.shape[0] == B && x.shape[1] == n && x.itemsize == (f32 ? 4 : 8), "x shape/dtype");
        CHECK(lam.ndim == 2 && lam.shape[0] == B && lam.shape[1] == m, "lam shape");
        CHECK(nu.ndim == 2 && nu.shape[0] == B && nu.shape[1] == k, "nu shape");
        CHECK(st.ndim == 1 && st.shape[0] == B && st.kind == 'i' && st.itemsize == 4, "status is (B,) int32");
        CHECK(it.ndim == 1 && it.shape[0] == B && it.kind == 'i' && it.itemsize == 4, "iters is (B,) int32");
        /* statuses and the KKT certificate, from the files alone */
        tq_data chk = d;
        chk.shared = DOPT_QP_SHARE_G;
        for (int64_t i = 0; i < B; ++i) {
            double xi[16], li[16], ni[16];
            for (int j = 0; j < n; ++j) xi[j] = f32 ? ((float *)x.data)[i * n + j] : ((double *)x.data)[i * n + j];
            for (int j = 0; j < m; ++j) li[j] = f32 ? ((float *)lam.data)[i * m + j] : ((double *)lam.data)[i * m + j];
            for (int j = 0; j < k; ++j) ni[j] = f32 ? ((float *)nu.data)[i * k + j] : ((double *)nu.data)[i * k + j];
            CHECK(((int32_t *)st.data)[i] == 0, "instance %lld: status %d", (long long)i, ((int32_t *)st.data)[i]);
            double e = tq_kkt_error(&chk, i, xi, li, ni);
            CHECK(e < (f32 ? 1e-2 : 1e-6), "instance %lld: KKT error %.3e", (long long)i, e);
        }
        dopt_npy_free(&x), dopt_npy_free(&lam), dopt_npy_free(&nu), dopt_npy_free(&st), dopt_npy_free(&it);
    }
    /* gradients: shapes follow the inputs (dG unbatched because G was) */
    const char *gn[6] = {"dQ", "dp", "dG", "dh", "dA", "db"};
    int64_t *shp[6] = {sQ, sp, sG, sh, sA, sb};
    int nd[6] = {3, 2, 2, 2, 3, 2};
    for (int t = 0; t < 6; ++t) {
        dopt_npy g;
        if (!get(out, gn[t], &g)) continue;
        int same = g.ndim == nd[t];
        for (int e = 0; same && e < nd[t]; ++e) same = g.shape[e] == shp[t][e];
        CHECK(same, "%s.npy shape does not follow its input", gn[t]);
        int finite = 1;
        for (size_t j = 0; j < g.count; ++j)
            finite &= isfinite(f32 ? ((float *)g.data)[j] : ((double *)g.data)[j]);
        CHECK(finite, "%s has non-finite entries", gn[t]);
        dopt_npy_free(&g);
    }
    if (!f32) { /* dp must equal the library's own backward, summed the same way */
        tq_stage(&d);
        d.shared = 0;
        tq_out o = tq_out_alloc(&d);
        dopt_qp_tape *tape = NULL;
        tq_solve(&d, NULL, &o, &tape);
        double *dp = tq_alloc((size_t)B * n);
        dopt_qp_grad_in gi = {w, NULL, NULL};
        dopt_qp_grad_out go = {NULL, dp, NULL, NULL, NULL, NULL};
        CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gi, &go));
        dopt_npy g;
        if (get(out, "dp", &g)) {
            double e = tq_max_abs_diff((size_t)B * n, dp, (double *)g.data);
            CHECK(e < 1e-6, "CLI dp differs from the library's by %.3e", e);
            dopt_npy_free(&g);
        }
        free(dp);
        dopt_qp_tape_destroy(tape);
        tq_out_free(&o);
    }
    free(w);
    tq_free(&d);
}

static void test_failures(void)
{
    char dir[1024], args[2048];
    snprintf(dir, sizeof dir, "%s/bad", work);
    mkdirs(dir);
    static const char *stale[] = {"Q", "p", "G", "h", "A", "b"};
    for (int i = 0; i < 6; ++i) { /* leftovers of an earlier run */
        char pth[1200];
        snprintf(pth, sizeof pth, "%s/%s.npy", dir, stale[i]);
        remove(pth);
    }
    double Q[4] = {1, 0, 0, 1}, p[3] = {1, 2, 3};
    int64_t s22[2] = {2, 2}, s3[1] = {3}, s2[1] = {2};
    /* missing p.npy */
    put(dir, "Q", 2, s22, Q, 0);
    snprintf(args, sizeof args, "qp solve '%s'", dir);
    CHECK(run(args) != 0 && stderr_mentions("p.npy"), "missing p.npy: non-zero exit naming the file");
    /* p of the wrong length */
    put(dir, "p", 1, s3, p, 0);
    CHECK(run(args) != 0 && stderr_mentions("p.npy"), "shape mismatch: non-zero exit naming the file");
    /* G without h */
    put(dir, "p", 1, s2, p, 0);
    put(dir, "G", 2, s22, Q, 0);
    CHECK(run(args) != 0 && stderr_mentions("h.npy"), "G without h rejected");
    /* malformed h.npy */
    char path[1200];
    snprintf(path, sizeof path, "%s/h.npy", dir);
    FILE *f = fopen(path, "wb");
    fputs("\x93NUMPY garbage", f);
    fclose(f);
    CHECK(run(args) != 0 && stderr_mentions("h.npy"), "malformed h.npy rejected");
    remove(path);
    snprintf(path, sizeof path, "%s/G.npy", dir);
    remove(path);
    /* now valid: solves, exit 0 */
    CHECK(run(args) == 0, "a valid unconstrained problem solves");
    /* bad options and bad commands */
    snprintf(args, sizeof args, "qp solve '%s' --tol banana", dir);
    CHECK(run(args) == 2 && stderr_mentions("--tol"), "bad --tol is a usage error");
    snprintf(args, sizeof args, "qp solve '%s' --frobnicate", dir);
    CHECK(run(args) == 2, "unknown option is a usage error");
    CHECK(run("qp solve /nonexistent/dir") != 0 && stderr_mentions("Q.npy"), "missing directory");
    CHECK(run("frobnicate") == 2, "unknown command");
    snprintf(args, sizeof args, "qp solve '%s' --dx /nonexistent/w.npy", dir);
    CHECK(run(args) != 0 && stderr_mentions("w.npy"), "missing --dx file");
}

/* dopt bern: files in and out, and the exact estimator matching the library */
static void test_bern_cli(void)
{
    char dir[1024], args[4096];
    snprintf(dir, sizeof dir, "%s/bern", work);
    mkdirs(dir);
    int64_t B = 3, n = 6, m = 2;
    double xhat[18], A[12] = {1, 1, 0, 2, 0, 1, 0, 1, 1, 1, 1, 0}, b[2] = {2, 1};
    for (int i = 0; i < 18; ++i) xhat[i] = 0.2 + 0.6 * (double)((i * 7) % 11) / 10.0;
    int64_t sx[2] = {B, n}, sA[2] = {m, n}, sb[1] = {m};
    put(dir, "xhat", 2, sx, xhat, 0);
    put(dir, "A", 2, sA, A, 0);
    put(dir, "b", 1, sb, b, 0);
    snprintf(args, sizeof args, "bern '%s' --estimator exact --mu 2 --quiet", dir);
    CHECK(run(args) == 0, "dopt bern --estimator exact");
    dopt_npy loss, grad;
    if (get(dir, "loss", &loss) && get(dir, "grad", &grad)) {
        CHECK(loss.ndim == 1 && loss.shape[0] == B && grad.ndim == 2 && grad.shape[0] == B && grad.shape[1] == n,
              "bern output shapes");
        double l2[3], g2[18];
        int32_t st[3];
        dopt_bern_problem P = {B, (int)n, (int)m, DOPT_FLOAT64, A, NULL, NULL, NULL, b, NULL,
                               DOPT_BERN_SHARE_A | DOPT_BERN_SHARE_B};
        dopt_bern_options o = {DOPT_BERN_EXACT, 1, 0, 2.0, 0};
        dopt_bern_result r = {l2, g2, NULL, NULL, st};
        CHECK_OK(dopt_bern_eval(tu_ctx, &P, xhat, &o, &r));
        CHECK(memcmp(l2, loss.data, sizeof l2) == 0 && memcmp(g2, grad.data, sizeof g2) == 0,
              "CLI and library disagree");
        dopt_npy_free(&loss), dopt_npy_free(&grad);
    }
    snprintf(args, sizeof args, "bern '%s' --samples 32 --seed 3 --quiet", dir);
    CHECK(run(args) == 0, "dopt bern (unbiased)");
    dopt_npy se;
    if (get(dir, "grad_se", &se)) {
        CHECK(se.ndim == 2 && se.shape[0] == B && se.shape[1] == n, "grad_se shape");
        dopt_npy_free(&se);
    }
    snprintf(args, sizeof args, "bern '%s' --estimator magic", dir);
    CHECK(run(args) == 2 && stderr_mentions("--estimator"), "unknown estimator is a usage error");
    double big[17];
    for (int j = 0; j < 17; ++j) big[j] = 0.5;
    int64_t s17[2] = {1, 17}, sA17[2] = {1, 17}, s1[1] = {1};
    char dir2[1100];
    snprintf(dir2, sizeof dir2, "%s/bern17", work);
    mkdirs(dir2);
    put(dir2, "xhat", 2, s17, big, 0);
    put(dir2, "A", 2, sA17, big, 0);
    put(dir2, "b", 1, s1, big, 0);
    snprintf(args, sizeof args, "bern '%s' --estimator exact", dir2);
    CHECK(run(args) != 0 && stderr_mentions("n <= 16"), "exact with n = 17 is refused with a message");
    snprintf(args, sizeof args, "bern '%s/none'", work);
    CHECK(run(args) != 0 && stderr_mentions("xhat.npy"), "missing xhat.npy");
}

/* dopt diffuse sample: the output file's shape and moments, and failures */
static void test_diffuse_cli(void)
{
    char dir[1024], args[4096], out[1200];
    snprintf(dir, sizeof dir, "%s/gauss", work);
    mkdirs(dir);
    double mean[2] = {1.0, -2.0}, cov[4] = {1.0, 0.5, 0.5, 2.0};
    int64_t s1[1] = {2}, s2[2] = {2, 2};
    put(dir, "mean", 1, s1, mean, 0);
    put(dir, "cov", 2, s2, cov, 0);
    snprintf(out, sizeof out, "%s/samples.npy", work);
    snprintf(args, sizeof args, "diffuse sample --gaussian '%s' --sampler ddpm --steps 500 --samples 4000 --seed 3 --out '%s'",
             dir, out);
    CHECK(run(args) == 0, "dopt diffuse sample (ddpm)");
    dopt_npy a;
    if (dopt_npy_read(tu_ctx, out, &a) == DOPT_OK) {
        CHECK(a.ndim == 2 && a.shape[0] == 4000 && a.shape[1] == 2 && a.itemsize == 8, "samples.npy is (K, n) float64");
        double m0 = 0, m1 = 0;
        for (int r = 0; r < 4000; ++r) m0 += ((double *)a.data)[2 * r] / 4000, m1 += ((double *)a.data)[2 * r + 1] / 4000;
        CHECK(fabs(m0 - 1.0) < 5 * sqrt(1.0 / 4000) && fabs(m1 + 2.0) < 5 * sqrt(2.0 / 4000), "sample mean %.3f %.3f",
              m0, m1);
        dopt_npy_free(&a);
    } else {
        CHECK(0, "%s", dopt_context_last_error(tu_ctx));
    }
    snprintf(args, sizeof args, "diffuse sample --gaussian '%s' --sampler ddim --eta 0.5 --steps 50 --schedule cosine --samples 10 --seed 1 --out '%s'",
             dir, out);
    CHECK(run(args) == 0, "dopt diffuse sample (ddim)");
    snprintf(args, sizeof args, "diffuse sample --gaussian '%s/none' --sampler ddpm --samples 10 --seed 1 --out '%s'", work, out);
    CHECK(run(args) != 0 && stderr_mentions("mean.npy"), "missing mean.npy");
    snprintf(args, sizeof args, "diffuse sample --gaussian '%s' --sampler langevin --samples 10 --seed 1 --out '%s'", dir, out);
    CHECK(run(args) == 2 && stderr_mentions("--sampler"), "unknown sampler is a usage error");
    snprintf(args, sizeof args, "diffuse sample --gaussian '%s' --sampler ddpm --seed 1 --out '%s'", dir, out);
    CHECK(run(args) == 2, "missing --samples is a usage error");
}


/* dopt ilp solve: file names, dtypes and shapes of the contract, agreement
 * with the library, gradients shaped like the inputs, and failures */
static void test_ilp_cli(void)
{
    char dir[1024], args[4096], dyf[1200];
    snprintf(dir, sizeof dir, "%s/ilp", work);
    mkdirs(dir);
    int64_t B = 4, n = 5, m = 2;
    /* shared A (m, n) and b (m); per-instance c; instance 3 infeasible through its own lb */
    double A[10] = {1, 1, 1, 0, 0, 0, 0, 1, 1, 1}, b[2] = {2, 1}, c[20], lb[20] = {0}, ub[20], dy[20];
    for (int e = 0; e < 20; ++e) c[e] = -1 + 0.1 * ((e * 7) % 13), ub[e] = 1, dy[e] = 0.3 * ((e * 5) % 7) - 0.9;
    lb[15] = lb[16] = lb[17] = 1; /* y0 + y1 + y2 <= 2 with all three >= 1 */
    int64_t sA[2] = {m, n}, sb[1] = {m}, sc[2] = {B, n};
    put(dir, "A", 2, sA, A, 0), put(dir, "b", 1, sb, b, 0), put(dir, "c", 2, sc, c, 0);
    put(dir, "lb", 2, sc, lb, 0), put(dir, "ub", 2, sc, ub, 0), put(dir, "dy", 2, sc, dy, 0);
    snprintf(dyf, sizeof dyf, "%s/dy.npy", dir);
    snprintf(args, sizeof args, "ilp solve '%s' --dy '%s' --method combopt --tau 0.5 --quiet", dir, dyf);
    CHECK(run(args) == 0, "dopt ilp solve --dy --method combopt");
    dopt_npy y, obj, st, nodes, dA, db, dc;
    if (get(dir, "y", &y) && get(dir, "obj", &obj) && get(dir, "status", &st) && get(dir, "nodes", &nodes)) {
        CHECK(y.ndim == 2 && y.shape[0] == B && y.shape[1] == n && y.kind == 'f' && y.itemsize == 8, "y shape");
        CHECK(obj.ndim == 1 && obj.shape[0] == B, "obj shape");
        CHECK(st.kind == 'i' && st.itemsize == 4 && st.shape[0] == B, "status is int32 (B)");
        CHECK(nodes.kind == 'i' && nodes.itemsize == 8 && nodes.shape[0] == B, "nodes is int64 (B)");
        const int32_t *s = (const int32_t *)st.data;
        CHECK(s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 1, "statuses %d %d %d %d", s[0], s[1], s[2], s[3]);
        double y2[20], o2[4];
        int32_t s2[4];
        dopt_ilp_problem P = {B, (int)n, (int)m, DOPT_FLOAT64, c, A, b, lb, ub, DOPT_ILP_SHARE_A | DOPT_ILP_SHARE_B};
        dopt_ilp_solution S = {y2, o2, NULL, s2, NULL};
        CHECK_OK(dopt_ilp_solve(tu_ctx, &P, NULL, &S));
        CHECK(!memcmp(y2, y.data, sizeof y2) && !memcmp(o2, obj.data, sizeof o2), "CLI and library disagree");
        dopt_npy_free(&y), dopt_npy_free(&obj), dopt_npy_free(&st), dopt_npy_free(&nodes);
    }
    if (get(dir, "dA", &dA) && get(dir, "db", &db) && get(dir, "dc", &dc)) {
        CHECK(dA.ndim == 2 && dA.shape[0] == m && dA.shape[1] == n, "dA shaped like A (shared)");
        CHECK(db.ndim == 1 && db.shape[0] == m, "db shaped like b (shared)");
        CHECK(dc.ndim == 2 && dc.shape[0] == B && dc.shape[1] == n, "dc shaped like c");
        dopt_npy_free(&dA), dopt_npy_free(&db), dopt_npy_free(&dc);
    }
    snprintf(args, sizeof args, "ilp solve '%s' --dy '%s' --method perturbed --samples 4 --seed 1 --quiet", dir, dyf);
    CHECK(run(args) == 0, "dopt ilp solve --method perturbed");
    dopt_npy ye;
    if (get(dir, "y_eps", &ye)) {
        CHECK(ye.ndim == 2 && ye.shape[0] == B && ye.shape[1] == n, "y_eps shape");
        dopt_npy_free(&ye);
    }
    snprintf(args, sizeof args, "ilp solve '%s' --method dbb", dir);
    CHECK(run(args) == 2 && stderr_mentions("--dy"), "--method without --dy is a usage error");
    snprintf(args, sizeof args, "ilp solve '%s' --dy '%s' --method magic", dir, dyf);
    CHECK(run(args) == 2 && stderr_mentions("--method"), "unknown method is a usage error");
    int64_t bad[1] = {3};
    double b3[3] = {2, 1, 1};
    put(dir, "b", 1, bad, b3, 0);
    snprintf(args, sizeof args, "ilp solve '%s'", dir);
    CHECK(run(args) == 1 && stderr_mentions("b.npy"), "b.npy of the wrong length names the file");
    snprintf(args, sizeof args, "ilp solve '%s/none'", work);
    CHECK(run(args) == 1 && stderr_mentions("c.npy"), "missing c.npy");
}

#include "test_milp_cli.h"

int main(int argc, char **argv)
{
    tu_init(argc > 1 ? 2 : 1, (char *[]){argv[0], (char *)"cpu"});
    if (argc < 3) {
        fprintf(stderr, "usage: test_cli DOPT_BINARY WORKDIR\n");
        return 2;
    }
    dopt_bin = argv[1];
    work = argv[2];
    mkdirs(work);
    test_solve_and_backward(0);
    test_solve_and_backward(1);
    test_failures();
    test_bern_cli();
    test_diffuse_cli();
    test_ilp_cli();
    test_milp_cli();
    return tu_finish("test_cli");
}
