/* A downstream C program: only the installed public headers and libdopt.
 * Solves a batch of two QPs with closed-form solutions and gradients
 *   minimize 1/2 |x|^2 + p'x  subject to  x1 <= h,  x1 + x2 = b
 * (instance 0: the inequality inactive; instance 1: active) and checks x and
 * the backward pass for L = c'x. Exits 1 when anything is off. */
#include <dopt.h>
#include <dopt_version.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;

static void expect_near(const char *what, double got, double want)
{
    if (!(fabs(got - want) <= 1e-6)) {
        printf("FAIL %s: got %.10g, want %.10g\n", what, got, want);
        failures++;
    }
}

int main(void)
{
    if (strcmp(dopt_version(), DOPT_VERSION_STRING) != 0) {
        printf("FAIL header version %s, library version %s\n", DOPT_VERSION_STRING, dopt_version());
        return 1;
    }
    const double Q[4] = {1, 0, 0, 1}, G[2] = {1, 0}, A[2] = {1, 1}; /* shared */
    const double p[4] = {1, -1, 1, -1}, h[2] = {10, -2}, b[2] = {1, 1};
    dopt_qp_problem prob = {
        .batch = 2, .n = 2, .m = 1, .k = 1, .dtype = DOPT_FLOAT64,
        .Q = Q, .p = p, .G = G, .h = h, .A = A, .b = b,
        .shared = DOPT_QP_SHARE_Q | DOPT_QP_SHARE_G | DOPT_QP_SHARE_A};
    double x[4], lam[2], nu[2];
    int32_t status[2];
    dopt_qp_solution sol = {.x = x, .lam = lam, .nu = nu, .status = status};

    dopt_context *ctx = NULL;
    if (dopt_context_create(&ctx, DOPT_BACKEND_CPU) != DOPT_OK) {
        printf("FAIL context: %s\n", ctx ? dopt_context_last_error(ctx) : "(none)");
        dopt_context_destroy(ctx);
        return 1;
    }
    dopt_qp_tape *tape = NULL;
    dopt_status st = dopt_qp_solve(ctx, &prob, NULL, &sol, &tape);
    if (st != DOPT_OK) {
        printf("FAIL dopt_qp_solve: %s: %s\n", dopt_status_string(st), dopt_context_last_error(ctx));
        dopt_context_destroy(ctx);
        return 1;
    }
    for (int i = 0; i < 2; i++)
        if (status[i] != DOPT_SOLVED) {
            printf("FAIL instance %d: %s\n", i, dopt_instance_status_string(status[i]));
            failures++;
        }
    /* inactive: x = -p + t(1,1) with t = (b + p1 + p2)/2; active: x = (h, b - h) */
    expect_near("x[0][0]", x[0], -0.5);
    expect_near("x[0][1]", x[1], 1.5);
    expect_near("x[1][0]", x[2], -2.0);
    expect_near("x[1][1]", x[3], 3.0);

    const double c[4] = {1, 2, 1, 2};
    double dp[4], dh[2], db[2];
    dopt_qp_grad_in gin = {.dx = c};
    dopt_qp_grad_out gout = {.dp = dp, .dh = dh, .db = db};
    st = dopt_qp_backward(ctx, tape, &gin, &gout);
    if (st != DOPT_OK) {
        printf("FAIL dopt_qp_backward: %s: %s\n", dopt_status_string(st), dopt_context_last_error(ctx));
        failures++;
    } else {
        /* inactive: dL/dp = -(c - mean(c)), dL/db = mean(c), dL/dh = 0;
         * active: dL/dp = 0, dL/db = c2, dL/dh = c1 - c2 */
        expect_near("dp[0][0]", dp[0], 0.5);
        expect_near("dp[0][1]", dp[1], -0.5);
        expect_near("db[0]", db[0], 1.5);
        expect_near("dh[0]", dh[0], 0.0);
        expect_near("dp[1][0]", dp[2], 0.0);
        expect_near("dp[1][1]", dp[3], 0.0);
        expect_near("db[1]", db[1], 2.0);
        expect_near("dh[1]", dh[1], -1.0);
    }
    dopt_qp_tape_destroy(tape);
    dopt_context_destroy(ctx);
    printf("%s: dopt %s (CUDA backend %s), %d failures\n", failures ? "FAIL" : "ok", dopt_version(),
           dopt_cuda_available() ? "usable" : "not usable here", failures);
    return failures ? 1 : 0;
}
