// A downstream C++17 program: the same QP batch as ../c/main.c through the C
// API from C++ (the headers' extern "C"), with C++ containers and RAII.
//   minimize 1/2 |x|^2 + p'x  subject to  x1 <= h,  x1 + x2 = b
// instance 0: inequality inactive; instance 1: active. Exits 1 when wrong.
#include <dopt.h>
#include <dopt_version.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string_view>

namespace {

int failures = 0;

void expect_near(const char *what, double got, double want)
{
    if (!(std::fabs(got - want) <= 1e-6)) {
        std::printf("FAIL %s: got %.10g, want %.10g\n", what, got, want);
        ++failures;
    }
}

struct context_deleter {
    void operator()(dopt_context *c) const { dopt_context_destroy(c); }
};
struct tape_deleter {
    void operator()(dopt_qp_tape *t) const { dopt_qp_tape_destroy(t); }
};

} // namespace

int main()
{
    static_assert(DOPT_VERSION_MAJOR >= 0, "dopt_version.h defines the version");
    if (std::string_view(dopt_version()) != DOPT_VERSION_STRING) {
        std::printf("FAIL header version %s, library version %s\n", DOPT_VERSION_STRING, dopt_version());
        return 1;
    }
    const std::array<double, 4> Q{1, 0, 0, 1}, p{1, -1, 1, -1};
    const std::array<double, 2> G{1, 0}, A{1, 1}, h{10, -2}, b{1, 1};
    dopt_qp_problem prob{};
    prob.batch = 2;
    prob.n = 2;
    prob.m = 1;
    prob.k = 1;
    prob.dtype = DOPT_FLOAT64;
    prob.Q = Q.data();
    prob.p = p.data();
    prob.G = G.data();
    prob.h = h.data();
    prob.A = A.data();
    prob.b = b.data();
    prob.shared = DOPT_QP_SHARE_Q | DOPT_QP_SHARE_G | DOPT_QP_SHARE_A;

    std::array<double, 4> x{};
    std::array<double, 2> lam{}, nu{};
    std::array<int32_t, 2> status{};
    dopt_qp_solution sol{};
    sol.x = x.data();
    sol.lam = lam.data();
    sol.nu = nu.data();
    sol.status = status.data();

    dopt_context *raw = nullptr;
    dopt_status st = dopt_context_create(&raw, DOPT_BACKEND_CPU);
    std::unique_ptr<dopt_context, context_deleter> ctx(raw);
    if (st != DOPT_OK) {
        std::printf("FAIL context: %s\n", raw ? dopt_context_last_error(raw) : "(none)");
        return 1;
    }
    dopt_qp_tape *raw_tape = nullptr;
    st = dopt_qp_solve(ctx.get(), &prob, nullptr, &sol, &raw_tape);
    std::unique_ptr<dopt_qp_tape, tape_deleter> tape(raw_tape);
    if (st != DOPT_OK) {
        std::printf("FAIL dopt_qp_solve: %s: %s\n", dopt_status_string(st), dopt_context_last_error(ctx.get()));
        return 1;
    }
    for (int i = 0; i < 2; ++i)
        if (status[i] != DOPT_SOLVED) {
            std::printf("FAIL instance %d: %s\n", i, dopt_instance_status_string(status[i]));
            ++failures;
        }
    const std::array<double, 4> x_want{-0.5, 1.5, -2.0, 3.0};
    for (int i = 0; i < 4; ++i) expect_near("x", x[i], x_want[i]);

    const std::array<double, 4> c{1, 2, 1, 2};
    std::array<double, 4> dp{};
    std::array<double, 2> dh{}, db{};
    dopt_qp_grad_in gin{};
    gin.dx = c.data();
    dopt_qp_grad_out gout{};
    gout.dp = dp.data();
    gout.dh = dh.data();
    gout.db = db.data();
    st = dopt_qp_backward(ctx.get(), tape.get(), &gin, &gout);
    if (st != DOPT_OK) {
        std::printf("FAIL dopt_qp_backward: %s\n", dopt_status_string(st));
        return 1;
    }
    const std::array<double, 4> dp_want{0.5, -0.5, 0.0, 0.0};
    const std::array<double, 2> dh_want{0.0, -1.0}, db_want{1.5, 2.0};
    for (int i = 0; i < 4; ++i) expect_near("dp", dp[i], dp_want[i]);
    for (int i = 0; i < 2; ++i) {
        expect_near("dh", dh[i], dh_want[i]);
        expect_near("db", db[i], db_want[i]);
    }
    std::printf("%s: dopt %s from C++17, %d failures\n", failures ? "FAIL" : "ok", dopt_version(), failures);
    return failures ? 1 : 0;
}
