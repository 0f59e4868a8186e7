/* CLI regression tests of the layer commands (qp solve, bern, ilp solve,
 * diffuse sample) for issue 17: bad inputs are refused with messages that
 * name the file, integer arrays are converted with a note and bool / inexact
 * integers are refused, oversized runs are refused with a memory estimate,
 * long runs show progress, and the layers' data rules (h = -inf, b = +inf)
 * reach status.npy. */
#define _POSIX_C_SOURCE 200809L
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "test_util.h"

#include "cli_util.h"

static double cli_now_test(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Writes DIR/NAME.npy of any kind from doubles (converted per element). */
static void put_kind(const char *dir, const char *name, char kind, int itemsize, int ndim, const int64_t *shape,
                     const double *v)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    size_t count = 1;
    for (int i = 0; i < ndim; ++i) count *= (size_t)shape[i];
    unsigned char *buf = (unsigned char *)calloc(count + 1, 8);
    for (size_t i = 0; i < count; ++i) {
        unsigned char *p = buf + i * (size_t)itemsize;
        if (kind == 'b' || (kind == 'u' && itemsize == 1)) *p = (unsigned char)v[i];
        else if (kind == 'i' && itemsize == 1) *(int8_t *)p = (int8_t)v[i];
        else if (kind == 'i' && itemsize == 4) *(int32_t *)p = (int32_t)v[i];
        else if (kind == 'i' && itemsize == 8) *(int64_t *)p = (int64_t)v[i];
        else if (kind == 'u' && itemsize == 8) *(uint64_t *)p = (uint64_t)v[i];
        else if (kind == 'f' && itemsize == 4) *(float *)p = (float)v[i];
        else *(double *)p = v[i];
    }
    CHECK(dopt_npy_write(tu_ctx, path, kind, itemsize, ndim, shape, buf) == DOPT_OK, "%s",
          dopt_context_last_error(tu_ctx));
    free(buf);
}

static int32_t status0(const char *dir)
{
    dopt_npy st;
    int32_t s = -1;
    if (get(dir, "status", &st)) {
        s = ((int32_t *)st.data)[0];
        dopt_npy_free(&st);
    }
    return s;
}

/* ---- dopt diffuse sample ------------------------------------------------- */
static void test_diffuse_inputs(void)
{
    char dir[1024], mdir[1024], out[1200], args[4096];
    snprintf(dir, sizeof dir, "%s/gauss", work);
    snprintf(mdir, sizeof mdir, "%s/mix", work);
    snprintf(out, sizeof out, "%s/samples.npy", work);
    mkdirs(dir), mkdirs(mdir);
    int64_t s1[1] = {2}, s2[2] = {2, 2};
    double good_cov[4] = {1, 0.5, 0.5, 2};
    const char *base = "diffuse sample --sampler ddim --steps 5 --samples 8 --seed 1";

    double mean_nan[2] = {0, NAN};
    put(dir, "mean", 1, s1, mean_nan, 0), put(dir, "cov", 2, s2, good_cov, 0);
    snprintf(args, sizeof args, "%s --gaussian '%s' --out '%s'", base, dir, out);
    CHECK(run(args) == 1 && stderr_mentions("mean.npy"), "NaN in mean.npy: exit 1 naming the file (%s)",
          output_of("stderr"));

    double mean[2] = {1, -1}, asym[4] = {1, 0.5, 0.2, 2}, indef[4] = {1, 2, 2, 1}, cov_inf[4] = {1, 0, 0, INFINITY};
    put(dir, "mean", 1, s1, mean, 0);
    put(dir, "cov", 2, s2, asym, 0);
    CHECK(run(args) == 1 && stderr_mentions("cov.npy") && stderr_mentions("symmetric"),
          "non-symmetric cov.npy: exit 1 naming the file (%s)", output_of("stderr"));
    put(dir, "cov", 2, s2, indef, 0);
    CHECK(run(args) == 1 && stderr_mentions("cov.npy") && stderr_mentions("positive semidefinite") &&
              !stderr_mentions("mixture eps"),
          "indefinite cov.npy: named, not a 'mixture eps' problem (%s)", output_of("stderr"));
    put(dir, "cov", 2, s2, cov_inf, 0);
    CHECK(run(args) == 1 && stderr_mentions("cov.npy"), "Inf in cov.npy: exit 1 naming the file");
    put(dir, "cov", 2, s2, good_cov, 0);
    CHECK(run(args) == 0, "a valid Gaussian samples (%s)", output_of("stderr"));

    /* mixture: weights, means, covs */
    int64_t sw[1] = {2}, sm[2] = {2, 2}, sc[3] = {2, 2, 2};
    double means[4] = {-2, 0, 2, 0}, covs[8] = {1, 0, 0, 1, 0.5, 0, 0, 0.5}, covs_bad[8] = {1, 0, 0, 1, 1, 3, 3, 1};
    put(mdir, "means", 2, sm, means, 0), put(mdir, "covs", 3, sc, covs, 0);
    snprintf(args, sizeof args, "%s --mixture '%s' --out '%s'", base, mdir, out);
    double w_neg[2] = {-0.5, 1.5}, w_nan[2] = {NAN, 1}, w_zero[2] = {0, 0}, w_three[2] = {1, 2}, w_ok[2] = {0.25, 0.75};
    put(mdir, "weights", 1, sw, w_neg, 0);
    CHECK(run(args) == 1 && stderr_mentions("weights.npy"), "negative weight: exit 1 naming weights.npy");
    put(mdir, "weights", 1, sw, w_nan, 0);
    CHECK(run(args) == 1 && stderr_mentions("weights.npy"), "NaN weight: exit 1 naming weights.npy");
    put(mdir, "weights", 1, sw, w_zero, 0);
    CHECK(run(args) == 1 && stderr_mentions("weights.npy"), "zero weights: exit 1 naming weights.npy");
    put(mdir, "weights", 1, sw, w_three, 0);
    CHECK(run(args) == 0 && stderr_mentions("weights.npy") && stderr_mentions("normalized"),
          "weights summing to 3: normalized with a note (%s)", output_of("stderr"));
    put(mdir, "weights", 1, sw, w_ok, 0);
    CHECK(run(args) == 0 && !stderr_mentions("normalized"), "weights summing to 1: no note");
    put(mdir, "covs", 3, sc, covs_bad, 0);
    CHECK(run(args) == 1 && stderr_mentions("covs.npy") && stderr_mentions("component 1"),
          "indefinite component: exit 1 naming covs.npy and the component (%s)", output_of("stderr"));
    double means_nan[4] = {-2, 0, INFINITY, 0};
    put(mdir, "covs", 3, sc, covs, 0), put(mdir, "means", 2, sm, means_nan, 0);
    CHECK(run(args) == 1 && stderr_mentions("means.npy"), "Inf in means.npy: exit 1 naming the file");
    put(mdir, "means", 2, sm, means, 0);
}

static void test_diffuse_size_and_progress(void)
{
    char dir[1024], out[1200], args[4096];
    snprintf(dir, sizeof dir, "%s/gauss64", work);
    snprintf(out, sizeof out, "%s/samples64.npy", work);
    mkdirs(dir);
    int n = 64;
    int64_t s1[1] = {n}, s2[2] = {n, n};
    double *mean = calloc((size_t)n, 8), *cov = calloc((size_t)n * n, 8);
    for (int i = 0; i < n; ++i) cov[i * n + i] = 1;
    put(dir, "mean", 1, s1, mean, 0), put(dir, "cov", 2, s2, cov, 0);
    /* 2^31 samples of n = 64: terabytes; refused at once with an estimate */
    double t0 = cli_now_test();
    snprintf(args, sizeof args,
             "diffuse sample --gaussian '%s' --sampler ddim --samples 2147483648 --seed 1 --out '%s'", dir, out);
    int rc = run(args);
    CHECK(rc == 1 && stderr_mentions("memory") && stderr_mentions("--samples"),
          "2^31 samples: refused with a memory estimate (exit %d: %s)", rc, output_of("stderr"));
    CHECK(cli_now_test() - t0 < 30, "the refusal took %.1f s", cli_now_test() - t0);
    /* progress on stderr, every DOPT_PROGRESS_INTERVAL seconds; none with --quiet */
    snprintf(args, sizeof args,
             "diffuse sample --gaussian '%s' --sampler ddim --steps 20 --samples 4 --seed 1 --out '%s'", dir, out);
    char envargs[4200];
    snprintf(envargs, sizeof envargs, "%s", args);
    setenv("DOPT_PROGRESS_INTERVAL", "0", 1);
    CHECK(run(envargs) == 0 && stderr_mentions("steps") && stderr_mentions("%"), "progress lines on stderr (%s)",
          output_of("stderr"));
    snprintf(envargs, sizeof envargs, "%s --quiet", args);
    CHECK(run(envargs) == 0 && output_of("stderr")[0] == 0 && output_of("stdout")[0] == 0,
          "--quiet prints nothing (%s)", output_of("stderr"));
    unsetenv("DOPT_PROGRESS_INTERVAL");
    CHECK(run(args) == 0 && !stderr_mentions("%"), "a quick run prints no progress");
    free(mean), free(cov);
}

/* ---- dtypes and file names: qp, bern, ilp -------------------------------- */
static void test_qp_inputs(void)
{
    char dir[1024], out[1100], args[4096];
    snprintf(dir, sizeof dir, "%s/qpint", work);
    snprintf(out, sizeof out, "%s/qpint_out", work);
    mkdirs(dir);
    static const char *stale[] = {"G", "h", "A", "b"}; /* leftovers of an earlier run */
    for (int i = 0; i < 4; ++i) {
        char pth[1200];
        snprintf(pth, sizeof pth, "%s/%s.npy", dir, stale[i]);
        remove(pth);
    }
    int64_t s22[2] = {2, 2}, s2[1] = {2}, s12[2] = {1, 2}, s1[1] = {1};
    double Q[4] = {2, 0, 0, 2}, p[2] = {-2, -4}, G[2] = {1, 1}, h[1] = {1};
    put_kind(dir, "Q", 'i', 1, 2, s22, Q); /* int8 Q: converted with a note */
    put(dir, "p", 1, s2, p, 1);
    snprintf(args, sizeof args, "qp solve '%s' --out '%s'", dir, out);
    CHECK(run(args) == 0 && stderr_mentions("Q.npy") && stderr_mentions("int8") && stderr_mentions("note"),
          "int8 Q.npy: solved with a note naming the file (%s)", output_of("stderr"));
    CHECK(status0(out) == 0, "int8 Q.npy: status %d", status0(out));
    dopt_npy x;
    if (get(out, "x", &x)) { /* integer data solve in float64 */
        CHECK(x.itemsize == 8 && fabs(((double *)x.data)[0] - 1) < 1e-6, "x dtype %d, x0 %g", x.itemsize,
              x.itemsize == 8 ? ((double *)x.data)[0] : 0.0);
        dopt_npy_free(&x);
    }
    snprintf(args, sizeof args, "qp solve '%s' --out '%s' --quiet", dir, out);
    CHECK(run(args) == 0 && !stderr_mentions("note"), "--quiet drops the note");
    put_kind(dir, "p", 'b', 1, 1, s2, (double[]){1, 0});
    snprintf(args, sizeof args, "qp solve '%s' --out '%s'", dir, out);
    CHECK(run(args) == 1 && stderr_mentions("p.npy") && stderr_mentions("bool"), "bool p.npy refused (%s)",
          output_of("stderr"));
    put_kind(dir, "p", 'u', 8, 1, s2, (double[]){1, 1152921504606846976.0}); /* 2^60 */
    CHECK(run(args) == 1 && stderr_mentions("p.npy") && stderr_mentions("2^53"), "inexact uint64 refused (%s)",
          output_of("stderr"));
    put_kind(dir, "p", 'u', 8, 1, s2, (double[]){3, 4});
    CHECK(run(args) == 0, "small uint64 p.npy accepted");
    /* h = -inf: invalid data (5), not infeasible without a certificate */
    put(dir, "p", 1, s2, p, 0);
    put(dir, "G", 2, s12, G, 0);
    h[0] = -INFINITY;
    put(dir, "h", 1, s1, h, 0);
    CHECK(run(args) == 0 && status0(out) == 5, "h = -inf: status %d, expected 5", status0(out));
    /* messages name DIR/Q.npy, not a bare Q.npy */
    char path[1200];
    snprintf(path, sizeof path, "%s/Q.npy", dir);
    put(dir, "Q", 1, s2, p, 0);
    CHECK(run(args) == 1 && stderr_mentions(path), "bad Q.npy shape names %s (%s)", path, output_of("stderr"));
    /* a gradient file is named by its own path */
    put(dir, "Q", 2, s22, Q, 0);
    char gpath[1200];
    snprintf(gpath, sizeof gpath, "%s/gradient_bad.npy", dir);
    put_kind(dir, "gradient_bad", 'b', 1, 2, s12, (double[]){1, 1});
    snprintf(args, sizeof args, "qp solve '%s' --out '%s' --dx '%s'", dir, out, gpath);
    CHECK(run(args) == 1 && stderr_mentions("gradient_bad.npy"), "bool --dx file named (%s)", output_of("stderr"));
}

/* --closest-feasible: x1 <= 0 and x1 >= 1 with Q = I, p = (0, -1) has the
 * closest feasible solution (1/2, 1), status 7 in status.npy and the summary */
static void test_qp_closest_feasible(void)
{
    char dir[1024], out[1100], args[4096];
    snprintf(dir, sizeof dir, "%s/qpclosest", work);
    snprintf(out, sizeof out, "%s/qpclosest_out", work);
    mkdirs(dir);
    int64_t s22[2] = {2, 2}, s2[1] = {2};
    put(dir, "Q", 2, s22, (double[]){1, 0, 0, 1}, 0);
    put(dir, "p", 1, s2, (double[]){0, -1}, 0);
    put(dir, "G", 2, s22, (double[]){1, 0, -1, 0}, 0);
    put(dir, "h", 1, s2, (double[]){0, -1}, 0);
    put(dir, "dx", 1, s2, (double[]){1, 0}, 0);
    snprintf(args, sizeof args, "qp solve '%s' --out '%s'", dir, out);
    CHECK(run(args) == 0 && status0(out) == 1, "without the flag: status %d", status0(out));
    snprintf(args, sizeof args, "qp solve '%s' --out '%s' --closest-feasible --dx '%s/dx.npy'", dir, out, dir);
    CHECK(run(args) == 0 && status0(out) == 7, "--closest-feasible: status %d (%s)", status0(out),
          output_of("stderr"));
    CHECK(strstr(output_of("stdout"), "status 7 (solved the closest feasible problem): 1") != NULL,
          "the summary counts status 7 (%s)", output_of("stdout"));
    dopt_npy x, dh;
    if (get(out, "x", &x)) {
        double *v = (double *)x.data;
        CHECK(fabs(v[0] - 0.5) < 1e-7 && fabs(v[1] - 1) < 1e-7, "x = (%g, %g)", v[0], v[1]);
        dopt_npy_free(&x);
    }
    /* x1 = (h2' - h1')/2 ... = (h1 - h2)/2 with h' the shifted bounds: dx1/dh = (1/2, -1/2) */
    if (get(out, "dh", &dh)) {
        double *v = (double *)dh.data;
        CHECK(fabs(v[0] - 0.5) < 1e-6 && fabs(v[1] + 0.5) < 1e-6, "dh = (%g, %g), want (0.5, -0.5)", v[0], v[1]);
        dopt_npy_free(&dh);
    }
    snprintf(args, sizeof args, "qp solve --ragged '%s/none.npz' --closest-feasible", dir);
    CHECK(run(args) == 2 && stderr_mentions("--closest-feasible"), "--ragged refuses the flag (%s)",
          output_of("stderr"));
}

static void test_bern_inputs(void)
{
    char dir[1024], args[4096];
    snprintf(dir, sizeof dir, "%s/bernint", work);
    mkdirs(dir);
    int64_t sx[2] = {1, 3}, sA[2] = {1, 3}, sb[1] = {1};
    double xhat[3] = {0.3, 0.5, 0.7}, A[3] = {1, 1, 1}, b[1] = {2};
    put(dir, "xhat", 2, sx, xhat, 0);
    put_kind(dir, "A", 'i', 4, 2, sA, A);
    put_kind(dir, "b", 'i', 8, 1, sb, b);
    snprintf(args, sizeof args, "bern '%s' --estimator exact", dir);
    CHECK(run(args) == 0 && stderr_mentions("A.npy") && stderr_mentions("int32"),
          "int32 A.npy: converted with a note (%s)", output_of("stderr"));
    put_kind(dir, "xhat", 'b', 1, 2, sx, (double[]){1, 0, 1});
    CHECK(run(args) == 1 && stderr_mentions("xhat.npy") && stderr_mentions("bool"), "bool xhat.npy refused (%s)",
          output_of("stderr"));
    put(dir, "xhat", 2, sx, xhat, 0);
}

static void test_ilp_inputs(void)
{
    char dir[1024], args[4096], dyf[1200];
    snprintf(dir, sizeof dir, "%s/ilpin", work);
    mkdirs(dir);
    int64_t sc[2] = {2, 3}, sA[2] = {1, 3}, sb2[2] = {2, 1};
    double c[6] = {-1, -1, -1, -1, -1, -1}, A[3] = {1, 1, 1}, b[2] = {1, INFINITY};
    put(dir, "c", 2, sc, c, 0), put_kind(dir, "A", 'i', 8, 2, sA, A), put(dir, "b", 2, sb2, b, 0);
    /* b = +inf: the row is absent (instance 1 takes every y_j = 1) */
    snprintf(args, sizeof args, "ilp solve '%s'", dir);
    CHECK(run(args) == 0 && stderr_mentions("note"), "integer A.npy: a note (%s)", output_of("stderr"));
    dopt_npy st, obj;
    if (get(dir, "status", &st) && get(dir, "obj", &obj)) {
        const int32_t *s = (const int32_t *)st.data;
        const double *o = (const double *)obj.data;
        CHECK(s[0] == 0 && s[1] == 0 && o[0] == -1 && o[1] == -3, "b = +inf: statuses %d %d, obj %g %g", s[0], s[1],
              o[0], o[1]);
        dopt_npy_free(&st), dopt_npy_free(&obj);
    }
    /* the gradient file is named as given, not "dy.npy" */
    snprintf(dyf, sizeof dyf, "%s/dy_bad.npy", dir);
    int64_t s4[2] = {2, 4};
    put(dir, "dy_bad", 2, s4, (double[]){0, 0, 0, 0, 0, 0, 0, 0}, 0);
    snprintf(args, sizeof args, "ilp solve '%s' --dy '%s' --method combopt", dir, dyf);
    CHECK(run(args) == 1 && stderr_mentions("dy_bad.npy") && !stderr_mentions("/dy.npy"),
          "a wrong --dy shape names dy_bad.npy (%s)", output_of("stderr"));
    put_kind(dir, "dy_bad", 'b', 1, 2, sc, (double[]){0, 0, 0, 0, 0, 0});
    CHECK(run(args) == 1 && stderr_mentions("dy_bad.npy") && stderr_mentions("bool"), "bool --dy named (%s)",
          output_of("stderr"));
    /* NaN in dy: the gradients of that instance are NaN (propagated, not swallowed) */
    put(dir, "dy_bad", 2, sc, (double[]){NAN, 0, 0, 1, 1, 1}, 0);
    CHECK(run(args) == 0, "NaN dy runs");
    dopt_npy dc;
    if (get(dir, "dc", &dc)) {
        const double *g = (const double *)dc.data;
        CHECK(isnan(g[0]) && isnan(g[2]) && !isnan(g[3]), "dc: %g %g %g", g[0], g[2], g[3]);
        dopt_npy_free(&dc);
    }
    /* the perturbed method's B x K solutions: refused before the solve */
    int64_t B = 2000;
    double *cb = calloc((size_t)B * 3, 8);
    int64_t scb[2] = {B, 3}, sbb[1] = {1};
    put(dir, "c", 2, scb, cb, 0), put(dir, "b", 1, sbb, (double[]){1}, 0);
    put(dir, "dy_bad", 2, scb, cb, 0);
    snprintf(args, sizeof args, "ilp solve '%s' --dy '%s' --method perturbed --samples 1000000", dir, dyf);
    double t0 = cli_now_test();
    CHECK(run(args) == 1 && stderr_mentions("memory") && stderr_mentions("--samples"),
          "B = 2000, K = 10^6: refused with a memory estimate (%s)", output_of("stderr"));
    CHECK(cli_now_test() - t0 < 30, "the refusal took %.1f s", cli_now_test() - t0);
    free(cb);
}

/* Output locations are checked before the work: nothing is solved or
 * sampled (no summary line) when --out cannot be written. */
static void test_output_paths(void)
{
    char gdir[1024], qdir[1024], idir[1024], bdir[1024], args[4096];
    snprintf(gdir, sizeof gdir, "%s/gauss", work);
    snprintf(qdir, sizeof qdir, "%s/qpint", work);
    snprintf(idir, sizeof idir, "%s/ilpin", work);
    snprintf(bdir, sizeof bdir, "%s/bernint", work);
    /* with progress on every step, any step run before the failure shows */
    setenv("DOPT_PROGRESS_INTERVAL", "0", 1);
    snprintf(args, sizeof args,
             "diffuse sample --gaussian '%s' --sampler ddim --steps 10 --samples 10 --seed 1 --out /nonexistent-dopt/x.npy",
             gdir);
    CHECK(run(args) == 1 && stderr_mentions("/nonexistent-dopt") && !stderr_mentions("steps:"),
          "diffuse --out in a missing directory fails before sampling (%s)", output_of("stderr"));
    unsetenv("DOPT_PROGRESS_INTERVAL");
    /* qp, ilp, bern: the failure names the directory (the order is not
     * observable from outside for them) */
    snprintf(args, sizeof args, "qp solve '%s' --out /nonexistent-dopt/out", qdir);
    CHECK(run(args) == 1 && stderr_mentions("/nonexistent-dopt") && output_of("stdout")[0] == 0,
          "qp --out under a missing directory fails before solving (%s)", output_of("stderr"));
    snprintf(args, sizeof args, "ilp solve '%s' --out /nonexistent-dopt/out", idir);
    CHECK(run(args) == 1 && stderr_mentions("/nonexistent-dopt") && output_of("stdout")[0] == 0,
          "ilp --out under a missing directory fails before solving (%s)", output_of("stderr"));
    snprintf(args, sizeof args, "bern '%s' --out /nonexistent-dopt/out", bdir);
    CHECK(run(args) == 1 && stderr_mentions("/nonexistent-dopt") && output_of("stdout")[0] == 0,
          "bern --out under a missing directory fails before evaluating (%s)", output_of("stderr"));
}

int main(int argc, char **argv)
{
    tu_init(argc > 1 ? 2 : 1, (char *[]){argv[0], (char *)"cpu"});
    if (argc < 3) {
        fprintf(stderr, "usage: test_cli_layers DOPT_BINARY WORKDIR\n");
        return 2;
    }
    dopt_bin = argv[1];
    work = argv[2];
    mkdirs(work);
    test_diffuse_inputs();
    test_diffuse_size_and_progress();
    test_qp_inputs();
    test_qp_closest_feasible();
    test_bern_inputs();
    test_ilp_inputs();
    test_output_paths();
    return tu_finish("test_cli_layers");
}
