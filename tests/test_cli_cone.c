/* `dopt cone solve`: the CLI contract of docs/CONE.md (file names, shapes,
 * shared inputs, --dx), and clear failures with a non-zero exit on
 * malformed cones.json or shapes. Arguments: the dopt binary, a work
 * directory. */
#define _POSIX_C_SOURCE 200809L
#include <sys/stat.h>
#include <sys/wait.h>

#include "test_util.h"
#include "cli_util.h"

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot write %s", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* min c'x s.t. |x| <= 1 (one second-order cone of size 4) for two c's,
 * G and h shared: x = -c/|c| */
static void make_ball(const char *dir)
{
    mkdirs(dir);
    char stale[1100]; /* a previous run's A, b (test_malformed writes them) */
    snprintf(stale, sizeof stale, "%s/A.npy", dir);
    remove(stale);
    snprintf(stale, sizeof stale, "%s/b.npy", dir);
    remove(stale);
    write_text(dir, "cones.json", "{ \"q\": [4] }\n");
    double c[6] = {1, -2, 2, 0, 3, -4}, G[12] = {0}, h[4] = {1, 0, 0, 0};
    for (int i = 0; i < 3; ++i) G[(i + 1) * 3 + i] = -1;
    int64_t sc[2] = {2, 3}, sG[2] = {4, 3}, sh[1] = {4};
    put(dir, "c", 2, sc, c, 0);
    put(dir, "G", 2, sG, G, 0);
    put(dir, "h", 1, sh, h, 0);
}

static void test_solve(void)
{
    char dir[1024], out[1024], args[4096], gpath[1024];
    snprintf(dir, sizeof dir, "%s/ball", work);
    snprintf(out, sizeof out, "%s/ball_out", work);
    make_ball(dir);
    mkdirs(out);
    snprintf(gpath, sizeof gpath, "%s/dx.npy", work);
    double dx[6] = {1, 0, 0, 0, 1, 0};
    int64_t sdx[2] = {2, 3};
    CHECK(dopt_npy_write(tu_ctx, gpath, 'f', 8, 2, sdx, dx) == DOPT_OK, "dx");
    snprintf(args, sizeof args, "cone solve '%s' --out '%s' --dx '%s'", dir, out, gpath);
    int rc = run(args);
    CHECK(rc == 0, "cone solve exit %d: %s", rc, output_of("stderr"));
    CHECK(strstr(output_of("stdout"), "cone solve: 2 instances (n=3 m=4 k=0"), "summary: %s", output_of("stdout"));
    dopt_npy a;
    if (get(out, "x", &a)) {
        const double *x = (const double *)a.data;
        CHECK(a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3, "x shape");
        double want[6] = {-1.0 / 3, 2.0 / 3, -2.0 / 3, 0, -0.6, 0.8};
        for (int i = 0; i < 6; ++i) CHECK(fabs(x[i] - want[i]) < 1e-7, "x[%d] = %g, want %g", i, x[i], want[i]);
        dopt_npy_free(&a);
    }
    static const char *names[] = {"s", "z", "y", "status", "iters", "dc", "dG", "dh"};
    static const int64_t shapes[][2] = {{2, 4}, {2, 4}, {2, 0}, {2, -1}, {2, -1}, {2, 3}, {4, 3}, {4, -1}};
    for (int t = 0; t < 8; ++t) {
        if (!get(out, names[t], &a)) continue;
        int nd = shapes[t][1] < 0 ? 1 : 2;
        CHECK(a.ndim == nd && a.shape[0] == shapes[t][0] && (nd == 1 || a.shape[1] == shapes[t][1]),
              "%s has the wrong shape", names[t]);
        if (!strcmp(names[t], "status")) CHECK(a.kind == 'i' && a.itemsize == 4 && ((int32_t *)a.data)[0] == 0 &&
                                                   ((int32_t *)a.data)[1] == 0, "status");
        if (!strcmp(names[t], "dc")) { /* d x_0 / d c = -(I - x x')/|c| row 0, for instance 0: |c| = 3 */
            const double *g = (const double *)a.data;
            double x0[3] = {-1.0 / 3, 2.0 / 3, -2.0 / 3};
            for (int j = 0; j < 3; ++j) {
                double want = -((j == 0) - x0[0] * x0[j]) / 3;
                CHECK(fabs(g[j] - want) < 1e-6, "dc[%d] = %g, want %g", j, g[j], want);
            }
        }
        dopt_npy_free(&a);
    }
    /* A, b absent: no dA, db written */
    char p[1100];
    snprintf(p, sizeof p, "%s/dA.npy", out);
    struct stat st;
    CHECK(stat(p, &st) != 0, "dA.npy written without A");
}

static void expect_failure(const char *what, const char *dir, const char *mention)
{
    char args[2048];
    snprintf(args, sizeof args, "cone solve '%s' --out '%s/fail_out'", dir, work);
    int rc = run(args);
    CHECK(rc == 1, "%s: exit %d (want 1)", what, rc);
    CHECK(stderr_mentions(mention), "%s: stderr does not mention '%s': %s", what, mention, output_of("stderr"));
}

static void test_malformed(void)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/bad", work);
    make_ball(dir);
    static const struct {
        const char *json, *mention;
    } cases[] = {
        {"{ \"q\": [4] ", "expected"},
        {"{ \"q\": [4], \"r\": 2 }", "unknown key \"r\""},
        {"{ \"q\": [4, ] }", "non-negative integer"},
        {"{ \"l\": -1, \"q\": [4] }", "negative"},
        {"{ \"q\": [0] }", "sizes must be >= 1"},
        {"{ \"q\": [4.5] }", "integers"},
        {"{ \"q\": [4], \"q\": [4] }", "twice"},
        {"[4]", "expected"},
        {"{ \"q\": [4] } x", "end of the file"},
        {"{ \"q\": [5] }", "rows cones.json describes"}, /* G has 4 rows */
        {"{ \"l\": 1, \"q\": [4] }", "rows cones.json describes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        write_text(dir, "cones.json", cases[i].json);
        expect_failure(cases[i].json, dir, cases[i].mention);
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/cones.json", dir);
    remove(path);
    expect_failure("no cones.json", dir, "cones.json");
    /* good json, bad shapes */
    write_text(dir, "cones.json", "{\"q\": [4]}");
    double c3[3] = {1, 2, 3}, b1[1] = {1}, A[2] = {1, 1};
    int64_t s3[1] = {3}, s1[1] = {1}, sA[2] = {1, 2};
    put(dir, "c", 1, s3, c3, 0); /* n = 3: G (4,3) fits */
    put(dir, "A", 2, sA, A, 0);  /* k x 2: wrong n */
    put(dir, "b", 1, s1, b1, 0);
    expect_failure("A with the wrong n", dir, "A.npy");
    snprintf(path, sizeof path, "%s/b.npy", dir);
    remove(path);
    expect_failure("A without b", dir, "given together");
    char args[2048];
    snprintf(args, sizeof args, "cone solve '%s' --tol nope", dir);
    CHECK(run(args) == 2, "bad --tol: usage error");
    CHECK(run("cone solve --help") == 0 && strstr(output_of("stdout"), "cones.json"), "--help");
    CHECK(run("cone frobnicate") == 2, "unknown subcommand");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_cli_cone DOPT_BINARY WORKDIR\n");
        return 2;
    }
    dopt_bin = argv[1];
    work = argv[2];
    mkdirs(work);
    char *targv[] = {argv[0], (char *)"cpu"};
    tu_init(2, targv);
    test_solve();
    test_malformed();
    return tu_finish("test_cli_cone");
}
