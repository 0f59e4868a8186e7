/* The QP solve's phases (kernels/qp_ipm_impl.h, "the solve in phases") run
 * in lock step over a batch on the CPU, ordered as the CUDA backend's
 * large-n path orders them: begin for all; then rounds of before_factor for
 * all, the factorization of each instance that asked for one (here in
 * kernel, one instance at a time, where the GPU calls batched GEMM +
 * Cholesky), after_factor for those; end for all. Everything the solve
 * produces (x, lam, nu, status, iterations, and the factorization the tape
 * keeps for the backward) must be bitwise equal to the plain per-instance
 * solve and to dopt_qp_solve on the CPU backend, in float64 and float32, on
 * batches whose instances finish at different rounds and in every status,
 * with m = 0, k = 0 and n around the GPU's small/large threshold (64).
 *
 * Both precisions come from this one file: it includes itself with DREAL /
 * DFN set (the second part below). */
#ifndef DREAL

#include "qp_harness.h"
#include "qp_ipm.h"
#include "internal.h" /* the tape's factorization, compared bitwise (white-box) */

/* What a batch holds besides generated instances (instance index: change). */
enum {
    MIX_NONE = 0,
    MIX_STATUSES = 1, /* 0: h = -inf, 1: contradicting rows, 2: unbounded, 3: NaN in Q */
    MIX_ROWS_OFF = 2  /* some rows h = +inf */
};

typedef struct {
    int n, m, k;
    int64_t B;
    dopt_gen_kind kind;
    int mix;
    int max_iter; /* 0: default */
    unsigned shared;
} phase_case;

/* Instances of one case in float64, with the changes of `mix` applied. */
static tq_data phase_data(const phase_case *c, uint64_t seed)
{
    tq_data d = tq_gen(c->B, c->n, c->m, c->k, c->kind, 10, seed);
    int n = c->n, m = c->m, k = c->k;
    if (c->mix & MIX_STATUSES) {
        if (m > 0) d.h[0] = -INFINITY; /* rejected at begin: primal infeasible */
        if (m > 1 && c->B > 1) {       /* G1 x <= h1 and -G1 x <= -h1 - 1: certificate */
            double *G = d.G + (size_t)m * n, *h = d.h + m;
            for (int j = 0; j < n; ++j) G[n + j] = -G[j];
            h[1] = -h[0] - 1;
        }
        if (c->B > 2) { /* Q = 0, no binding rows, no equalities through p: unbounded */
            for (int j = 0; j < n * n; ++j) d.Q[(size_t)2 * n * n + j] = 0;
            for (int r = 0; r < m; ++r) d.h[(size_t)2 * m + r] = INFINITY;
            for (int j = 0; j < k * n; ++j) d.A[(size_t)2 * k * n + j] = 0;
            for (int r = 0; r < k; ++r) d.b[(size_t)2 * k + r] = 0;
        }
        if (c->B > 3) d.Q[(size_t)3 * n * n] = NAN; /* invalid */
    }
    if ((c->mix & MIX_ROWS_OFF) && m > 2)
        for (int64_t i = 0; i < c->B; ++i) d.h[(size_t)i * m + (size_t)(i % m)] = INFINITY;
    d.shared = c->shared;
    return d;
}

static int phase_iters_differ, phase_statuses_seen[8], phase_forced_retry_runs;

/* the second part of this file, once per precision (as both_precisions.h
 * does for the backends; it cannot name this file by __FILE__, which would
 * expand to its own name there) */
#define DREAL double
#define DFN(name) name##_d
#include __FILE__
#undef DREAL
#undef DFN
#define DREAL float
#define DFN(name) name##_f
#include __FILE__
#undef DREAL
#undef DFN

int main(int argc, char **argv)
{
    (void)argc;
    char *cpu_argv[] = {argv[0], (char *)"cpu", NULL};
    tu_init(2, cpu_argv);
    static const int sizes[][3] = {{1, 1, 0}, {3, 2, 1},   {5, 0, 2},   {8, 8, 0},   {6, 0, 0},
                                   {12, 12, 3}, {20, 40, 5}, {62, 62, 15}, {63, 30, 0}, {64, 64, 16},
                                   {65, 0, 16}, {66, 66, 0}, {64, 0, 0}};
    uint64_t seed = 100;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
        phase_case c = {sizes[s][0], sizes[s][1], sizes[s][2], 6, DOPT_GEN_STRICTLY_CONVEX, MIX_NONE, 0, 0};
        phase_case cases[6];
        int count = 0;
        cases[count++] = c;
        c.mix = MIX_STATUSES | MIX_ROWS_OFF;
        cases[count++] = c;
        c.mix = MIX_NONE;
        c.kind = DOPT_GEN_PSD;
        cases[count++] = c;
        c.kind = DOPT_GEN_STRICTLY_CONVEX;
        c.max_iter = 4; /* stopped at the iteration limit */
        cases[count++] = c;
        c.max_iter = 0;
        c.shared = DOPT_QP_SHARE_Q | DOPT_QP_SHARE_G | DOPT_QP_SHARE_A;
        cases[count++] = c;
        if (c.m >= c.n - c.k && c.m > 0) {
            c.shared = 0;
            c.kind = DOPT_GEN_LP;
            cases[count++] = c;
        }
        for (int t = 0; t < count; ++t) {
            check_phases_d(&cases[t], seed);
            check_phases_f(&cases[t], seed);
            ++seed;
        }
    }
    /* the batches exercised what they are meant to: lock step with
     * instances at different rounds, and every final status that the data
     * provoke on purpose (numerical failures occur by chance: float32, PSD
     * Q, n = 64) */
    CHECK(phase_iters_differ, "no batch had instances finishing at different iterations");
    CHECK(phase_forced_retry_runs > 0, "no run with forced retries");
    static const int wanted[] = {DOPT_INST_SOLVED, DOPT_INST_PRIMAL_INFEASIBLE, DOPT_INST_DUAL_INFEASIBLE,
                                 DOPT_INST_ITERATION_LIMIT, DOPT_INST_INVALID};
    for (size_t w = 0; w < sizeof wanted / sizeof wanted[0]; ++w)
        CHECK(phase_statuses_seen[wanted[w]], "no instance ended with status %d", wanted[w]);
    return tu_finish("test_qp_phases");
}

#else /* ---- one precision (DREAL, DFN) ---------------------------------------- */

static DREAL *DFN(phase_copy)(const double *src, size_t len)
{
    DREAL *a = (DREAL *)calloc(len ? len : 1, sizeof(DREAL));
    for (size_t i = 0; i < len; ++i) a[i] = (DREAL)src[i];
    return a;
}

/* Lock-step driver over the whole batch, as the CUDA large-n path runs it:
 * per-instance workspaces and states, the factorization between the two
 * middle phases for the instances that asked, in compacted order. */
/* fail_rounds: bit r set = report every factorization of round r as failed
 * (info != 0), as a batched library may where the in-kernel Cholesky would
 * not: after_factor then retries with more regularization. */
static void DFN(phase_lock_step)(const DFN(qp_batch) *bt, const DFN(qp_settings) *set, int64_t B, DREAL *keep,
                                 size_t psz, DREAL *x, DREAL *lam, DREAL *nu, int32_t *status, int32_t *iters,
                                 int *rounds_out, unsigned fail_rounds)
{
    size_t wsz = DFN(qp_work_size)(bt->n, bt->m, bt->k);
    DREAL *work = (DREAL *)malloc(sizeof(DREAL) * wsz * (size_t)B);
    DFN(qp_state) *state = (DFN(qp_state) *)malloc(sizeof(DFN(qp_state)) * (size_t)B);
    int *active = (int *)malloc(sizeof(int) * (size_t)B), *info = (int *)malloc(sizeof(int) * (size_t)B);
    for (int64_t i = 0; i < B; ++i) DFN(qp_instance_begin)(bt, work + i * wsz, &state[i], i, 1);
    int rounds = 0;
    for (;;) {
        int count = 0;
        for (int64_t i = 0; i < B; ++i)
            if (DFN(qp_instance_before_factor)(bt, set, work + i * wsz, &state[i], i, x, lam, nu)) active[count++] = (int)i;
        if (count == 0) break;
        ++rounds;
        for (int j = 0; j < count; ++j) info[j] = DFN(qp_instance_factor)(bt, work + (size_t)active[j] * wsz, active[j]);
        if (rounds < 32 && (fail_rounds >> rounds & 1))
            for (int j = 0; j < count; ++j) { /* and L left as garbage, as a failed potrf may leave it */
                DFN(qp_work) w = DFN(qp_work_map)(work + (size_t)active[j] * wsz, bt->n, bt->m, bt->k);
                for (size_t e = 0; e < (size_t)bt->n * bt->n; ++e) w.L[e] = (DREAL)NAN;
                info[j] = 1;
            }
        for (int j = 0; j < count; ++j)
            DFN(qp_instance_after_factor)(bt, set, work + (size_t)active[j] * wsz, &state[active[j]], active[j], x, lam,
                                          nu, info[j]);
    }
    for (int64_t i = 0; i < B; ++i)
        DFN(qp_instance_end)(bt, work + i * wsz, &state[i], keep + i * psz, i, x, lam, nu, status, iters);
    *rounds_out = rounds;
    free(work), free(state), free(active), free(info);
}

static void DFN(check_phases)(const phase_case *c, uint64_t seed)
{
    tq_data d = phase_data(c, seed);
    int64_t B = c->B;
    int n = c->n, m = c->m, k = c->k;
    size_t b = (size_t)B;
    const char *prec = sizeof(DREAL) == 8 ? "float64" : "float32";
    /* the problem in this precision, shared parameters stored once */
    DREAL *arr[6];
    double *src[6] = {d.Q, d.p, d.G, d.h, d.A, d.b};
    size_t per[6] = {(size_t)n * n, (size_t)n, (size_t)m * n, (size_t)m, (size_t)k * n, (size_t)k};
    unsigned bits[6] = {DOPT_QP_SHARE_Q, DOPT_QP_SHARE_P, DOPT_QP_SHARE_G,
                        DOPT_QP_SHARE_H, DOPT_QP_SHARE_A, DOPT_QP_SHARE_B};
    for (int t = 0; t < 6; ++t) arr[t] = DFN(phase_copy)(src[t], per[t] * tq_copies(&d, bits[t]));
    dopt_qp_problem P;
    memset(&P, 0, sizeof P);
    P.batch = B, P.n = n, P.m = m, P.k = k, P.shared = c->shared;
    P.dtype = sizeof(DREAL) == 8 ? DOPT_FLOAT64 : DOPT_FLOAT32;
    P.Q = arr[0], P.p = arr[1], P.G = m ? arr[2] : NULL, P.h = m ? arr[3] : NULL, P.A = k ? arr[4] : NULL,
    P.b = k ? arr[5] : NULL;
    dopt_qp_options opt;
    dopt_qp_options_default(&opt, P.dtype);
    if (c->max_iter) opt.max_iter = c->max_iter;
    DFN(qp_batch) bt = DFN(qp_batch_of)(&P);
    DFN(qp_settings) set = DFN(qp_settings_of)(&opt);
    size_t psz = DFN(qp_work_persist_size)(n, m, k), wsz = DFN(qp_work_size)(n, m, k);

    /* 0: the plain solve, one reused workspace; 1: lock step; 2: dopt_qp_solve */
    DREAL *x[3], *lam[3], *nu[3], *keep[3];
    int32_t *st[3], *it[3];
    for (int v = 0; v < 3; ++v) {
        x[v] = (DREAL *)calloc(b * n + 1, sizeof(DREAL));
        lam[v] = (DREAL *)calloc(b * m + 1, sizeof(DREAL));
        nu[v] = (DREAL *)calloc(b * k + 1, sizeof(DREAL));
        keep[v] = (DREAL *)calloc(b * psz + 1, sizeof(DREAL));
        st[v] = (int32_t *)calloc(b, sizeof(int32_t));
        it[v] = (int32_t *)calloc(b, sizeof(int32_t));
    }
    DREAL *work = (DREAL *)malloc(sizeof(DREAL) * wsz);
    for (int64_t i = 0; i < B; ++i)
        DFN(qp_solve_instance)(&bt, &set, work, keep[0] + i * psz, i, x[0], lam[0], nu[0], st[0], it[0]);
    free(work);
    int rounds = 0;
    DFN(phase_lock_step)(&bt, &set, B, keep[1], psz, x[1], lam[1], nu[1], st[1], it[1], &rounds, 0);
    dopt_qp_solution sol = {x[2], lam[2], nu[2], st[2], it[2]};
    dopt_qp_tape *tape = NULL;
    CHECK_OK(dopt_qp_solve(tu_ctx, &P, &opt, &sol, &tape));
    if (tape && tape->work) memcpy(keep[2], tape->work, sizeof(DREAL) * b * psz);

    static const char *names[3] = {"plain", "lock step", "dopt_qp_solve"};
    for (int v = 1; v < 3; ++v) {
        CHECK(!memcmp(x[0], x[v], sizeof(DREAL) * b * n), "%s n=%d m=%d k=%d mix=%d: x of %s differs", prec, n, m, k,
              c->mix, names[v]);
        CHECK(!memcmp(lam[0], lam[v], sizeof(DREAL) * b * m), "%s n=%d m=%d k=%d: lam of %s differs", prec, n, m, k,
              names[v]);
        CHECK(!memcmp(nu[0], nu[v], sizeof(DREAL) * b * k), "%s n=%d m=%d k=%d: nu of %s differs", prec, n, m, k,
              names[v]);
        CHECK(!memcmp(st[0], st[v], sizeof(int32_t) * b), "%s n=%d m=%d k=%d: status of %s differs", prec, n, m, k,
              names[v]);
        CHECK(!memcmp(it[0], it[v], sizeof(int32_t) * b), "%s n=%d m=%d k=%d: iterations of %s differ", prec, n, m, k,
              names[v]);
        /* the tape holds the factorization of solved instances only */
        for (size_t i = 0; i < b; ++i)
            if (st[0][i] == DOPT_INST_SOLVED)
                CHECK(!memcmp(keep[0] + i * psz, keep[v] + i * psz, sizeof(DREAL) * psz),
                      "%s n=%d m=%d k=%d: tape of instance %zu from %s differs", prec, n, m, k, i, names[v]);
    }
    /* the lock step ran one round per factorization of its slowest instance:
     * the start point, its steps, and the tape's factor when it solved */
    int most = 0, fewest = 1 << 30;
    for (size_t i = 0; i < b; ++i) {
        if (st[1][i] >= 0 && st[1][i] < 8) phase_statuses_seen[st[1][i]] = 1;
        if (it[1][i] > most) most = it[1][i];
        if (it[1][i] < fewest) fewest = it[1][i];
    }
    CHECK(rounds <= most + 2, "%s n=%d m=%d k=%d: %d rounds for at most %d iterations", prec, n, m, k, rounds, most);
    if (most != fewest) phase_iters_differ = 1;

    /* A library's Cholesky reported failed in the start round and two
     * iterations (the first round, 1, is the start point): the retries must
     * still reach the same statuses, and in float64 a solution as accurate
     * as test_qp_solve requires (the regularization only preconditions the
     * refined solves). */
    if (c->mix == MIX_NONE && c->max_iter == 0 && c->kind == DOPT_GEN_STRICTLY_CONVEX) {
        DFN(phase_lock_step)(&bt, &set, B, keep[1], psz, x[1], lam[1], nu[1], st[1], it[1], &rounds,
                             1u << 1 | 1u << 3 | 1u << 4);
        /* SOLVED and SOLVED_REDUCED_ACCURACY are one outcome here: an
         * instance whose float32 floor lies at the tolerance ends on either
         * side of it depending on the rounding the retries change */
        int same = 1;
        for (size_t i = 0; i < b; ++i) {
            int a0 = st[0][i] == DOPT_INST_REDUCED_ACCURACY ? DOPT_INST_SOLVED : st[0][i];
            int a1 = st[1][i] == DOPT_INST_REDUCED_ACCURACY ? DOPT_INST_SOLVED : st[1][i];
            same &= a0 == a1;
        }
        CHECK(same, "%s n=%d m=%d k=%d: statuses after forced retries differ", prec, n, m, k);
        if (sizeof(DREAL) == 8)
            for (size_t i = 0; i < b; ++i) {
                if (st[1][i] != DOPT_INST_SOLVED) continue; /* shared data can make an instance infeasible */
                double e = tq_kkt_error(&d, (int64_t)i, (const double *)(const void *)(x[1] + i * n),
                                        (const double *)(const void *)(lam[1] + i * m),
                                        (const double *)(const void *)(nu[1] + i * k));
                CHECK(e < 1e-6, "n=%d m=%d k=%d: KKT error %.3e after forced retries", n, m, k, e);
            }
        ++phase_forced_retry_runs;
    }

    dopt_qp_tape_destroy(tape);
    for (int v = 0; v < 3; ++v) free(x[v]), free(lam[v]), free(nu[v]), free(keep[v]), free(st[v]), free(it[v]);
    for (int t = 0; t < 6; ++t) free(arr[t]);
    tq_free(&d);
}

#endif
