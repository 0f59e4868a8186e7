/* Asynchronous calls and memory caps (dopt_async.h): submit / test / wait /
 * destroy; results bitwise those of the blocking calls; jobs in submission
 * order; a pending job owns its context (other calls refused, the job's own
 * calls not); destroy with pending jobs; fork; eight threads with a context
 * each submitting concurrently; memory caps (refusals name the cap, the
 * arena stays under it, tapes and ILP temporaries are counted) and chunking
 * (bitwise the unchunked results), the latter through a CPU table whose QP
 * entry takes per-instance memory as the CUDA one does. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h" /* private: a simulated backend table */
#include "internal.h"
#include "qp_generate.h"

static void nap(void)
{
    struct timespec t = {0, 200000};
    nanosleep(&t, NULL);
}

/* ---- QP data on the context's backend --------------------------------------- */
typedef struct {
    dopt_qp_problem P; /* backend pointers */
    double *host[6];
    void *dev[6];
} qp_in;

typedef struct {
    double *x, *lam, *nu;
    int32_t *status, *iters;
    dopt_qp_solution S; /* backend pointers */
} qp_out;

static void qp_in_make(qp_in *q, int64_t B, int n, int m, int k, uint64_t seed, uint32_t shared)
{
    size_t cnt[6] = {(size_t)B * n * n, (size_t)B * n, (size_t)B * m * n, (size_t)B * m, (size_t)B * k * n,
                     (size_t)B * k};
    for (int i = 0; i < 6; ++i) q->host[i] = (double *)calloc(cnt[i] + 1, sizeof(double));
    dopt_qp_generate(B, n, m, k, DOPT_GEN_STRICTLY_CONVEX, 100.0, seed, q->host[0], q->host[1], q->host[2],
                     q->host[3], q->host[4], q->host[5], NULL, NULL, NULL);
    for (int i = 0; i < 6; ++i) q->dev[i] = tu_dev(q->host[i], sizeof(double) * cnt[i]);
    dopt_qp_problem P = {B, n, m, k, DOPT_FLOAT64, q->dev[0], q->dev[1], q->dev[2], q->dev[3], q->dev[4], q->dev[5],
                         shared};
    q->P = P;
}

static void qp_in_free(qp_in *q)
{
    for (int i = 0; i < 6; ++i) tu_dev_free(q->host[i], q->dev[i]), free(q->host[i]);
}

static void qp_out_make(qp_out *o, const dopt_qp_problem *P)
{
    size_t B = (size_t)P->batch;
    o->x = (double *)calloc(B * P->n + 1, 8);
    o->lam = (double *)calloc(B * P->m + 1, 8);
    o->nu = (double *)calloc(B * P->k + 1, 8);
    o->status = (int32_t *)calloc(B + 1, 4);
    o->iters = (int32_t *)calloc(B + 1, 4);
    dopt_qp_solution S = {tu_dev_out(o->x, 8 * B * P->n), tu_dev_out(o->lam, 8 * B * P->m),
                          tu_dev_out(o->nu, 8 * B * P->k), (int32_t *)tu_dev_out(o->status, 4 * B),
                          (int32_t *)tu_dev_out(o->iters, 4 * B)};
    o->S = S;
}

static void qp_out_fetch(qp_out *o, const dopt_qp_problem *P)
{
    size_t B = (size_t)P->batch;
    tu_host(o->x, o->S.x, 8 * B * P->n);
    tu_host(o->lam, o->S.lam, 8 * B * P->m);
    tu_host(o->nu, o->S.nu, 8 * B * P->k);
    tu_host(o->status, o->S.status, 4 * B);
    tu_host(o->iters, o->S.iters, 4 * B);
}

static void qp_out_free(qp_out *o)
{
    tu_dev_free(o->x, o->S.x), tu_dev_free(o->lam, o->S.lam), tu_dev_free(o->nu, o->S.nu);
    tu_dev_free(o->status, o->S.status), tu_dev_free(o->iters, o->S.iters);
    free(o->x), free(o->lam), free(o->nu), free(o->status), free(o->iters);
}

static int qp_out_equal(const qp_out *a, const qp_out *b, const dopt_qp_problem *P)
{
    size_t B = (size_t)P->batch;
    return !memcmp(a->x, b->x, 8 * B * P->n) && !memcmp(a->lam, b->lam, 8 * B * P->m) &&
           !memcmp(a->nu, b->nu, 8 * B * P->k) && !memcmp(a->status, b->status, 4 * B) &&
           !memcmp(a->iters, b->iters, 4 * B);
}

static int all_solved(const qp_out *o, int64_t B)
{
    for (int64_t i = 0; i < B; ++i)
        if (o->status[i] != DOPT_SOLVED) return 0;
    return 1;
}

/* A test case: the batch q, two outputs for it, and ref filled by the
 * blocking solve on tu_ctx: the reference a submitted, capped or chunked run
 * must equal bitwise. */
static void qp_case_make(qp_in *q, qp_out *ref, qp_out *got, int64_t B, int n, int m, int k, uint64_t seed,
                         uint32_t shared)
{
    qp_in_make(q, B, n, m, k, seed, shared);
    qp_out_make(ref, &q->P);
    qp_out_make(got, &q->P);
    CHECK_OK(dopt_qp_solve(tu_ctx, &q->P, NULL, &ref->S, NULL));
}

static void qp_case_free(qp_in *q, qp_out *ref, qp_out *got)
{
    qp_out_free(ref);
    qp_out_free(got);
    qp_in_free(q);
}

/* ---- ILP data (host; CPU tests) ------------------------------------------------ */
typedef struct {
    dopt_ilp_problem P;
    double *c, *A, *b;
} ilp_in;

typedef struct {
    double *y, *obj;
    int32_t *status;
    int64_t *nodes;
} ilp_res;

static void ilp_in_make(ilp_in *q, int64_t B, int n, int m, uint64_t seed)
{
    tu_seed(seed);
    q->c = (double *)malloc(sizeof(double) * B * n);
    q->A = (double *)malloc(sizeof(double) * B * m * n);
    q->b = (double *)malloc(sizeof(double) * B * m);
    for (int64_t i = 0; i < B * n; ++i) q->c[i] = tu_normal();
    for (int64_t i = 0; i < B * m; ++i) {
        double s = 0;
        for (int j = 0; j < n; ++j) s += q->A[i * n + j] = tu_unif();
        q->b[i] = 0.5 * s;
    }
    dopt_ilp_problem P = {B, n, m, DOPT_FLOAT64, q->c, q->A, q->b, NULL, NULL, 0};
    q->P = P;
}

static void ilp_in_free(ilp_in *q) { free(q->c), free(q->A), free(q->b); }

static void ilp_out_make(ilp_res *o, const dopt_ilp_problem *P)
{
    o->y = (double *)calloc((size_t)P->batch * P->n, 8);
    o->obj = (double *)calloc((size_t)P->batch, 8);
    o->status = (int32_t *)calloc((size_t)P->batch, 4);
    o->nodes = (int64_t *)calloc((size_t)P->batch, 8);
}

static dopt_ilp_solution ilp_sol(ilp_res *o)
{
    dopt_ilp_solution S = {o->y, o->obj, NULL, o->status, o->nodes};
    return S;
}

static int ilp_out_equal(const ilp_res *a, const ilp_res *b, const dopt_ilp_problem *P)
{
    size_t B = (size_t)P->batch;
    return !memcmp(a->y, b->y, 8 * B * P->n) && !memcmp(a->obj, b->obj, 8 * B) && !memcmp(a->status, b->status, 4 * B) &&
           !memcmp(a->nodes, b->nodes, 8 * B);
}

static void ilp_out_free(ilp_res *o) { free(o->y), free(o->obj), free(o->status), free(o->nodes); }

/* ---- a job that holds its context until released ------------------------------ */
typedef struct {
    atomic_int started, release;
    const qp_in *inner; /* solved from inside the job (its own calls are not refused) */
    qp_out *inner_out;
    dopt_status inner_status;
    int refused_inside; /* the context's busy check, as seen by the job's thread */
    dopt_status nested_submit; /* a submit from inside the job, on its own context */
} gate;

static dopt_status gated_job(dopt_context *ctx, void *args)
{
    gate *g = *(gate **)args;
    atomic_store(&g->started, 1);
    while (!atomic_load(&g->release)) nap();
    g->refused_inside = dopt_context_busy(ctx);
    dopt_job *nested = NULL;
    g->nested_submit = g->inner ? dopt_qp_solve_submit(ctx, &g->inner->P, NULL, &g->inner_out->S, NULL, &nested)
                                : DOPT_OK;
    if (nested) dopt_job_destroy(nested); /* never: it would wait for itself */
    if (g->inner) g->inner_status = dopt_qp_solve(ctx, &g->inner->P, NULL, &g->inner_out->S, NULL);
    return DOPT_OK;
}

static dopt_job *submit_gate(dopt_context *ctx, gate *g)
{
    dopt_job *job = NULL;
    atomic_init(&g->started, 0);
    atomic_init(&g->release, 0);
    CHECK_OK(dopt_job_submit(ctx, gated_job, &g, sizeof g, &job));
    while (!atomic_load(&g->started)) nap();
    return job;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_submit_matches_blocking(void)
{
    qp_in q;
    qp_out ref, got;
    qp_case_make(&q, &ref, &got, 64, 8, 6, 2, 11, 0);
    dopt_job *job = NULL;
    CHECK_OK(dopt_qp_solve_submit(tu_ctx, &q.P, NULL, &got.S, NULL, &job));
    CHECK(job != NULL, "a handle");
    int t = dopt_job_test(job);
    CHECK(t == 0 || t == 1, "test says running or done: %d", t);
    CHECK_OK(dopt_job_wait(job));
    CHECK(dopt_job_test(job) == 1, "done after wait");
    CHECK_OK(dopt_job_wait(job)); /* again: the same status */
    CHECK(!strcmp(dopt_job_last_error(job), ""), "no message: %s", dopt_job_last_error(job));
    dopt_job_destroy(job);
    qp_out_fetch(&ref, &q.P);
    qp_out_fetch(&got, &q.P);
    CHECK(all_solved(&ref, 64), "the reference solved");
    CHECK(qp_out_equal(&ref, &got, &q.P), "submit == blocking, bitwise");

    /* with options and a tape, then the backward on the tape */
    dopt_qp_options opt;
    dopt_qp_options_default(&opt, DOPT_FLOAT64);
    opt.max_iter = 40;
    dopt_qp_tape *tape_ref = NULL, *tape = NULL;
    CHECK_OK(dopt_qp_solve(tu_ctx, &q.P, &opt, &ref.S, &tape_ref));
    CHECK_OK(dopt_qp_solve_submit(tu_ctx, &q.P, &opt, &got.S, &tape, &job));
    CHECK_OK(dopt_job_wait(job));
    dopt_job_destroy(job);
    CHECK(tape != NULL, "the job wrote the tape");
    size_t nx = 64 * 8;
    double *dx = (double *)malloc(8 * nx), *dp_ref = (double *)malloc(8 * nx), *dp = (double *)malloc(8 * nx);
    for (size_t i = 0; i < nx; ++i) dx[i] = sin(0.3 * i);
    void *ddx = tu_dev(dx, 8 * nx), *ddp_ref = tu_dev_out(dp_ref, 8 * nx), *ddp = tu_dev_out(dp, 8 * nx);
    dopt_qp_grad_in gin = {ddx, NULL, NULL};
    dopt_qp_grad_out g1 = {NULL, ddp_ref, NULL, NULL, NULL, NULL}, g2 = {NULL, ddp, NULL, NULL, NULL, NULL};
    if (tape) {
        CHECK_OK(dopt_qp_backward(tu_ctx, tape_ref, &gin, &g1));
        CHECK_OK(dopt_qp_backward(tu_ctx, tape, &gin, &g2));
        tu_host(dp_ref, ddp_ref, 8 * nx);
        tu_host(dp, ddp, 8 * nx);
        CHECK(!memcmp(dp_ref, dp, 8 * nx), "gradients through the job's tape == through the blocking tape");
    }
    tu_dev_free(dx, ddx), tu_dev_free(dp_ref, ddp_ref), tu_dev_free(dp, ddp);
    free(dx), free(dp_ref), free(dp);
    dopt_qp_tape_destroy(tape_ref);
    dopt_qp_tape_destroy(tape);
    qp_case_free(&q, &ref, &got);
}

static void test_ilp_submit(void)
{
    if (tu_cuda()) return; /* host arrays */
    ilp_in q;
    ilp_in_make(&q, 40, 8, 4, 5);
    ilp_res ref, got;
    ilp_out_make(&ref, &q.P);
    ilp_out_make(&got, &q.P);
    dopt_ilp_solution Sr = ilp_sol(&ref), Sg = ilp_sol(&got);
    CHECK_OK(dopt_ilp_solve(tu_ctx, &q.P, NULL, &Sr));
    dopt_job *job = NULL;
    CHECK_OK(dopt_ilp_solve_submit(tu_ctx, &q.P, NULL, &Sg, &job));
    CHECK_OK(dopt_job_wait(job));
    dopt_job_destroy(job);
    CHECK(ilp_out_equal(&ref, &got, &q.P), "ilp submit == blocking, bitwise");
    int solved = 0;
    for (int i = 0; i < 40; ++i) solved += ref.status[i] == DOPT_SOLVED;
    CHECK(solved == 40, "the ILPs solved (%d)", solved);
    ilp_out_free(&ref);
    ilp_out_free(&got);
    ilp_in_free(&q);
}

/* the ragged submit variants: bitwise their blocking calls (mixed sizes) */
static void test_ragged_submit(void)
{
    if (tu_cuda()) return; /* host arrays */
    enum { B = 30 };
    int32_t n[B], m[B], k[B], in[B], im[B];
    size_t nQ = 0, nx = 0, nG = 0, nh = 0, nA = 0, nb = 0, nc = 0, nAi = 0, nbi = 0;
    for (int i = 0; i < B; ++i) {
        n[i] = 2 + i % 5, m[i] = n[i], k[i] = i % 2;
        in[i] = 3 + i % 6, im[i] = 1 + i % 4;
        nQ += (size_t)n[i] * n[i], nx += n[i], nG += (size_t)m[i] * n[i], nh += m[i], nA += (size_t)k[i] * n[i];
        nb += k[i], nc += in[i], nAi += (size_t)im[i] * in[i], nbi += im[i];
    }
    tu_seed(77);
    double *Q = calloc(nQ, 8), *p = malloc(8 * nx), *G = malloc(8 * nG), *h = malloc(8 * nh), *A = malloc(8 * nA + 8),
           *b = calloc(nb + 1, 8);
    for (size_t i = 0; i < nx; ++i) p[i] = tu_normal();
    for (size_t i = 0; i < nG; ++i) G[i] = tu_normal();
    for (size_t i = 0; i < nh; ++i) h[i] = 1; /* x = 0 is feasible: every instance solvable */
    for (size_t i = 0; i < nA; ++i) A[i] = tu_normal();
    for (size_t o = 0, i = 0; i < B; o += (size_t)n[i] * n[i], ++i)
        for (int j = 0; j < n[i]; ++j) Q[o + (size_t)j * n[i] + j] = 1 + j;
    dopt_qp_ragged_problem P = {B, n, m, k, DOPT_FLOAT64, Q, p, G, h, A, b};
    double *x[2], *lam[2], *nu[2];
    int32_t *st[2], *it[2];
    for (int r = 0; r < 2; ++r) {
        x[r] = calloc(nx, 8), lam[r] = calloc(nh, 8), nu[r] = calloc(nb + 1, 8);
        st[r] = calloc(B, 4), it[r] = calloc(B, 4);
    }
    dopt_qp_solution S0 = {x[0], lam[0], nu[0], st[0], it[0]}, S1 = {x[1], lam[1], nu[1], st[1], it[1]};
    CHECK_OK(dopt_qp_ragged_solve(tu_ctx, &P, NULL, &S0, NULL));
    dopt_job *job = NULL;
    CHECK_OK(dopt_qp_ragged_solve_submit(tu_ctx, &P, NULL, &S1, NULL, &job));
    CHECK_OK(dopt_job_wait(job));
    dopt_job_destroy(job);
    CHECK(!memcmp(x[0], x[1], 8 * nx) && !memcmp(lam[0], lam[1], 8 * nh) && !memcmp(nu[0], nu[1], 8 * nb) &&
              !memcmp(st[0], st[1], 4 * B) && !memcmp(it[0], it[1], 4 * B),
          "qp ragged submit == blocking, bitwise");
    int solved = 0;
    for (int i = 0; i < B; ++i) solved += st[0][i] == DOPT_SOLVED;
    CHECK(solved == B, "the ragged QPs solved (%d of %d)", solved, (int)B);
    /* ILP */
    double *c = malloc(8 * nc), *Ai = malloc(8 * nAi), *bi = malloc(8 * nbi);
    for (size_t i = 0; i < nc; ++i) c[i] = tu_normal();
    for (size_t i = 0; i < nAi; ++i) Ai[i] = tu_unif();
    for (size_t i = 0; i < nbi; ++i) bi[i] = 1.5;
    dopt_ilp_ragged_problem R = {B, in, im, DOPT_FLOAT64, c, Ai, bi, NULL, NULL};
    double *y[2], *obj[2];
    int32_t *ist[2];
    int64_t *nodes[2];
    for (int r = 0; r < 2; ++r) y[r] = calloc(nc, 8), obj[r] = calloc(B, 8), ist[r] = calloc(B, 4), nodes[r] = calloc(B, 8);
    dopt_ilp_solution I0 = {y[0], obj[0], NULL, ist[0], nodes[0]}, I1 = {y[1], obj[1], NULL, ist[1], nodes[1]};
    CHECK_OK(dopt_ilp_ragged_solve(tu_ctx, &R, NULL, &I0));
    CHECK_OK(dopt_ilp_ragged_solve_submit(tu_ctx, &R, NULL, &I1, &job));
    CHECK_OK(dopt_job_wait(job));
    dopt_job_destroy(job);
    CHECK(!memcmp(y[0], y[1], 8 * nc) && !memcmp(obj[0], obj[1], 8 * B) && !memcmp(ist[0], ist[1], 4 * B) &&
              !memcmp(nodes[0], nodes[1], 8 * B),
          "ilp ragged submit == blocking, bitwise");
    solved = 0;
    for (int i = 0; i < B; ++i) solved += ist[0][i] == DOPT_SOLVED;
    CHECK(solved == B, "the ragged ILPs solved (%d of %d)", solved, (int)B);
    CHECK(dopt_qp_ragged_solve_submit(tu_ctx, NULL, NULL, &S1, NULL, &job) == DOPT_ERR_INVALID_ARGUMENT && !job,
          "NULL ragged qp problem");
    CHECK(dopt_ilp_ragged_solve_submit(tu_ctx, &R, NULL, &I1, NULL) == DOPT_ERR_INVALID_ARGUMENT, "NULL job");
    for (int r = 0; r < 2; ++r) {
        free(x[r]), free(lam[r]), free(nu[r]), free(st[r]), free(it[r]);
        free(y[r]), free(obj[r]), free(ist[r]), free(nodes[r]);
    }
    free(Q), free(p), free(G), free(h), free(A), free(b), free(c), free(Ai), free(bi);
}

/* several jobs queued at once run in order, each as its blocking call */
static void test_queue_in_order(void)
{
    enum { J = 6 };
    qp_in q[J];
    qp_out ref[J], got[J];
    dopt_job *job[J];
    for (int j = 0; j < J; ++j) {
        qp_case_make(&q[j], &ref[j], &got[j], 10 + 7 * j, 4 + j, 3 + j, j % 3, 100 + j, 0);
    }
    /* a gate first, so that every job is queued before any runs */
    gate g;
    memset(&g, 0, sizeof g);
    dopt_job *first = submit_gate(tu_ctx, &g);
    for (int j = 0; j < J; ++j) CHECK_OK(dopt_qp_solve_submit(tu_ctx, &q[j].P, NULL, &got[j].S, NULL, &job[j]));
    for (int j = 0; j < J; ++j) CHECK(dopt_job_test(job[j]) == 0, "job %d waits behind the gate", j);
    atomic_store(&g.release, 1);
    /* waited in reverse: the order of waits does not matter */
    for (int j = J - 1; j >= 0; --j) CHECK_OK(dopt_job_wait(job[j]));
    CHECK(dopt_job_test(first) == 1, "the first job is done when the later ones are");
    dopt_job_destroy(first);
    for (int j = 0; j < J; ++j) {
        dopt_job_destroy(job[j]);
        qp_out_fetch(&ref[j], &q[j].P);
        qp_out_fetch(&got[j], &q[j].P);
        CHECK(qp_out_equal(&ref[j], &got[j], &q[j].P), "queued job %d == blocking", j);
        qp_case_free(&q[j], &ref[j], &got[j]);
    }
}

/* while a job is pending the context is its own: other calls refused with a
 * message, the job's calls not; after the wait everything works again */
static void test_busy_context(void)
{
    qp_in q;
    qp_in_make(&q, 8, 5, 4, 1, 3, 0);
    qp_out a, b;
    qp_out_make(&a, &q.P);
    qp_out_make(&b, &q.P);
    gate g;
    memset(&g, 0, sizeof g);
    g.inner = &q;
    g.inner_out = &b;
    dopt_job *job = submit_gate(tu_ctx, &g);
    CHECK(dopt_qp_solve(tu_ctx, &q.P, NULL, &a.S, NULL) == DOPT_ERR_INVALID_ARGUMENT, "qp solve refused");
    CHECK(strstr(dopt_context_last_error(tu_ctx), "pending") != NULL, "message: %s", dopt_context_last_error(tu_ctx));
    /* calls that would fail anyway: the busy message says which check came first */
    dopt_qp_grad_in gin = {a.S.x, NULL, NULL};
    dopt_qp_grad_out gout = {0};
    CHECK(dopt_qp_backward(tu_ctx, NULL, &gin, &gout) == DOPT_ERR_INVALID_ARGUMENT, "qp backward refused");
    CHECK(strstr(dopt_context_last_error(tu_ctx), "pending") != NULL, "message: %s", dopt_context_last_error(tu_ctx));
    ilp_in iq;
    ilp_in_make(&iq, 2, 3, 1, 1);
    CHECK(dopt_ilp_solve(tu_ctx, &iq.P, NULL, NULL) == DOPT_ERR_INVALID_ARGUMENT, "ilp solve refused");
    CHECK(strstr(dopt_context_last_error(tu_ctx), "pending") != NULL, "message: %s", dopt_context_last_error(tu_ctx));
    CHECK(dopt_ilp_backward(tu_ctx, &iq.P, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL) ==
              DOPT_ERR_INVALID_ARGUMENT,
          "ilp backward refused");
    ilp_in_free(&iq);
    /* a layer without its own check: refused at the dispatch (DOPT_CALL), nothing written */
    double x0[8] = {0.5, -0.5, 1, 0, 0.25, 0.75, -1, 2}, xt[8], eps[8];
    memset(xt, 0x7f, sizeof xt);
    CHECK(dopt_diffusion_noise(tu_ctx, 4, 2, DOPT_FLOAT64, x0, 0.5, 1, 1, xt, eps) == DOPT_ERR_INVALID_ARGUMENT,
          "diffusion noise refused");
    CHECK(strstr(dopt_context_last_error(tu_ctx), "pending") != NULL, "message: %s", dopt_context_last_error(tu_ctx));
    CHECK(((unsigned char *)xt)[0] == 0x7f, "no output written");
    CHECK(dopt_context_set_threads(tu_ctx, 1) == DOPT_ERR_INVALID_ARGUMENT, "set_threads refused");
    CHECK(dopt_context_set_memory_limit(tu_ctx, 1, 1) == DOPT_ERR_INVALID_ARGUMENT, "set_memory_limit refused");
    CHECK(dopt_context_set_cuda_stream(tu_ctx, NULL) == DOPT_ERR_INVALID_ARGUMENT, "set_cuda_stream refused");
    CHECK(dopt_context_synchronize(tu_ctx) == DOPT_ERR_INVALID_ARGUMENT, "synchronize refused");
    void *p = NULL;
    CHECK(dopt_memory_alloc(tu_ctx, 16, &p) == DOPT_ERR_INVALID_ARGUMENT && p == NULL, "memory_alloc refused");
    CHECK(dopt_memory_set_zero(tu_ctx, a.S.x, 8) == DOPT_ERR_INVALID_ARGUMENT, "set_zero refused");
    size_t used = 0;
    CHECK(dopt_context_memory_in_use(tu_ctx, &used, NULL) == DOPT_ERR_INVALID_ARGUMENT, "memory_in_use refused");
    /* another submit is fine: queued behind */
    dopt_job *second = NULL;
    CHECK_OK(dopt_qp_solve_submit(tu_ctx, &q.P, NULL, &a.S, NULL, &second));
    CHECK(dopt_job_test(job) == 0 && dopt_job_test(second) == 0, "both pending");
    atomic_store(&g.release, 1);
    CHECK_OK(dopt_job_wait(job));
    CHECK_OK(dopt_job_wait(second));
    CHECK(g.refused_inside == 0, "the job's own thread is not refused");
    CHECK(g.nested_submit == DOPT_ERR_INVALID_ARGUMENT, "a submit from inside a job of the same context");
    CHECK_OK(g.inner_status);
    qp_out_fetch(&a, &q.P);
    qp_out_fetch(&b, &q.P);
    CHECK(qp_out_equal(&a, &b, &q.P), "the job's inner call == the queued submit");
    dopt_job_destroy(job);
    dopt_job_destroy(second);
    /* usable again */
    CHECK_OK(dopt_qp_solve(tu_ctx, &q.P, NULL, &a.S, NULL));
    CHECK(!strcmp(dopt_context_last_error(tu_ctx), ""), "no busy message now: %s", dopt_context_last_error(tu_ctx));
    CHECK_OK(dopt_context_memory_in_use(tu_ctx, &used, NULL));
    qp_out_free(&a);
    qp_out_free(&b);
    qp_in_free(&q);
}

/* a failing call: its status from wait, its message from the job and (no
 * other job pending) from the context; bad submits fail at once */
static void test_job_errors(void)
{
    qp_in q;
    qp_in_make(&q, 4, 3, 2, 0, 9, 0);
    qp_out o;
    qp_out_make(&o, &q.P);
    dopt_qp_problem bad = q.P;
    bad.n = 0;
    dopt_job *job = NULL;
    CHECK_OK(dopt_qp_solve_submit(tu_ctx, &bad, NULL, &o.S, NULL, &job));
    CHECK(dopt_job_wait(job) == DOPT_ERR_INVALID_ARGUMENT, "bad size -> the job's status");
    CHECK(strstr(dopt_job_last_error(job), "n >= 1") != NULL, "job message: %s", dopt_job_last_error(job));
    CHECK(strstr(dopt_context_last_error(tu_ctx), "n >= 1") != NULL, "context message: %s",
          dopt_context_last_error(tu_ctx));
    dopt_job_destroy(job);
    /* NULL solution: the call's own error, through the job */
    CHECK_OK(dopt_qp_solve_submit(tu_ctx, &q.P, NULL, NULL, NULL, &job));
    CHECK(dopt_job_wait(job) == DOPT_ERR_INVALID_ARGUMENT, "NULL solution");
    CHECK(strstr(dopt_job_last_error(job), "solution buffers") != NULL, "message: %s", dopt_job_last_error(job));
    dopt_job_destroy(job);
    /* what submit checks itself */
    job = (dopt_job *)&q; /* overwritten with NULL on failure */
    CHECK(dopt_qp_solve_submit(tu_ctx, NULL, NULL, &o.S, NULL, &job) == DOPT_ERR_INVALID_ARGUMENT && job == NULL,
          "NULL problem");
    CHECK(strstr(dopt_context_last_error(tu_ctx), "prob is NULL") != NULL, "message: %s",
          dopt_context_last_error(tu_ctx));
    CHECK(dopt_qp_solve_submit(tu_ctx, &q.P, NULL, &o.S, NULL, NULL) == DOPT_ERR_INVALID_ARGUMENT, "NULL job");
    CHECK(dopt_qp_solve_submit(NULL, &q.P, NULL, &o.S, NULL, &job) == DOPT_ERR_INVALID_ARGUMENT, "NULL context");
    CHECK(dopt_ilp_solve_submit(tu_ctx, NULL, NULL, NULL, &job) == DOPT_ERR_INVALID_ARGUMENT, "NULL ilp problem");
    CHECK(dopt_job_wait(NULL) == DOPT_ERR_INVALID_ARGUMENT, "wait NULL");
    CHECK(dopt_job_test(NULL) == -1, "test NULL");
    dopt_job_destroy(NULL);
    qp_out_free(&o);
    qp_in_free(&q);
}

/* destroying a context with jobs pending waits for them; the handles
 * outlive the context */
static void test_destroy_with_pending(void)
{
    if (tu_cuda()) return; /* host arrays on a second context */
    dopt_context *ctx = NULL;
    CHECK_OK(dopt_context_create(&ctx, DOPT_BACKEND_CPU));
    qp_in q;
    qp_out ref, got;
    qp_case_make(&q, &ref, &got, 30, 6, 5, 1, 21, 0);
    gate g;
    memset(&g, 0, sizeof g);
    dopt_job *first = NULL, *second = NULL;
    atomic_init(&g.started, 0);
    atomic_init(&g.release, 1); /* runs through, after the release below is moot */
    gate *gp = &g;
    CHECK_OK(dopt_job_submit(ctx, gated_job, &gp, sizeof gp, &first));
    CHECK_OK(dopt_qp_solve_submit(ctx, &q.P, NULL, &got.S, NULL, &second));
    dopt_context_destroy(ctx);
    CHECK(dopt_job_test(first) == 1 && dopt_job_test(second) == 1, "destroy waited for both");
    CHECK_OK(dopt_job_wait(second));
    CHECK(qp_out_equal(&ref, &got, &q.P), "the pending job ran to the end");
    dopt_job_destroy(first);
    dopt_job_destroy(second);
    qp_case_free(&q, &ref, &got);
}

/* fork with a job pending: the child has no job thread; its copy of the job
 * never runs (wait refuses, at once), the context works (a new job thread) */
static void test_fork(void)
{
    if (tu_cuda()) return; /* CUDA contexts do not survive fork */
    dopt_context *ctx = NULL;
    CHECK_OK(dopt_context_create(&ctx, DOPT_BACKEND_CPU));
    CHECK_OK(dopt_context_set_threads(ctx, 2));
    qp_in q;
    qp_out ref, a;
    qp_case_make(&q, &ref, &a, 20, 5, 4, 1, 31, 0);
    gate g;
    memset(&g, 0, sizeof g);
    dopt_job *held = submit_gate(ctx, &g);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20);
        int ok = dopt_job_wait(held) == DOPT_ERR_INVALID_ARGUMENT && dopt_job_test(held) == 0;
        ok = ok && dopt_qp_solve(ctx, &q.P, NULL, &a.S, NULL) == DOPT_OK && qp_out_equal(&ref, &a, &q.P);
        memset(a.x, 0, 8 * 20 * 5);
        dopt_job *job = NULL;
        ok = ok && dopt_qp_solve_submit(ctx, &q.P, NULL, &a.S, NULL, &job) == DOPT_OK;
        ok = ok && dopt_job_wait(job) == DOPT_OK && qp_out_equal(&ref, &a, &q.P);
        _exit(ok ? 0 : 1);
    }
    CHECK(pid > 0, "fork failed");
    int status = 0;
    if (pid > 0) waitpid(pid, &status, 0);
    CHECK(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "child after fork: %s (status %d)",
          WIFSIGNALED(status) ? "hung or crashed" : "failed", status);
    atomic_store(&g.release, 1);
    CHECK_OK(dopt_job_wait(held));
    dopt_job_destroy(held);
    dopt_context_destroy(ctx);
    qp_case_free(&q, &ref, &a);
}

/* ---- eight threads, a context each, many jobs ------------------------------- */
enum { T_THREADS = 8, T_JOBS = 24, T_DATA = 6, T_DEPTH = 4 };
static qp_in t_qp[T_DATA];
static qp_out t_qp_ref[T_DATA];
static ilp_in t_ilp[T_DATA];
static ilp_res t_ilp_ref[T_DATA];

typedef struct {
    int id;
    int failures;
} thread_arg;

static void *submitter(void *p)
{
    thread_arg *ta = (thread_arg *)p;
    dopt_context *ctx = NULL;
    if (dopt_context_create(&ctx, DOPT_BACKEND_CPU) != DOPT_OK) {
        ta->failures = 1000;
        return NULL;
    }
    dopt_context_set_threads(ctx, 1 + ta->id % 2);
    if (ta->id % 3 == 0) dopt_context_set_memory_limit(ctx, (size_t)1 << 22, 0); /* ample: no effect on results */
    qp_out qo[T_DEPTH];
    ilp_res io[T_DEPTH];
    dopt_job *job[T_DEPTH] = {0};
    int which[T_DEPTH];
    for (int s = 0; s < T_DEPTH; ++s) {
        qp_out_make(&qo[s], &t_qp[T_DATA - 1].P); /* the largest */
        ilp_out_make(&io[s], &t_ilp[T_DATA - 1].P);
    }
    /* up to T_DEPTH jobs in flight on the context; each slot checked when reused */
    for (int j = 0; j < T_JOBS + T_DEPTH; ++j) {
        int s = j % T_DEPTH;
        if (job[s]) {
            int d = which[s] / 2;
            if (dopt_job_wait(job[s]) != DOPT_OK) ta->failures++;
            else if (which[s] % 2 == 0 ? !qp_out_equal(&qo[s], &t_qp_ref[d], &t_qp[d].P)
                                       : !ilp_out_equal(&io[s], &t_ilp_ref[d], &t_ilp[d].P))
                ta->failures++;
            dopt_job_destroy(job[s]);
            job[s] = NULL;
        }
        if (j >= T_JOBS) continue;
        which[s] = 2 * ((ta->id + 5 * j) % T_DATA) + (j + ta->id) % 2;
        int d = which[s] / 2;
        dopt_status st;
        if (j % 7 == 3) {
            /* an invalid call between valid ones: its own status, nothing else disturbed */
            dopt_qp_problem bad = t_qp[d].P;
            bad.m = -1;
            dopt_job *bj = NULL;
            if (dopt_qp_solve_submit(ctx, &bad, NULL, &qo[s].S, NULL, &bj) != DOPT_OK ||
                dopt_job_wait(bj) != DOPT_ERR_INVALID_ARGUMENT || !strstr(dopt_job_last_error(bj), "m >= 0"))
                ta->failures++;
            dopt_job_destroy(bj);
        }
        if (which[s] % 2 == 0) {
            st = dopt_qp_solve_submit(ctx, &t_qp[d].P, NULL, &qo[s].S, NULL, &job[s]);
        } else {
            dopt_ilp_solution S = ilp_sol(&io[s]);
            st = dopt_ilp_solve_submit(ctx, &t_ilp[d].P, NULL, &S, &job[s]);
        }
        if (st != DOPT_OK) ta->failures++;
    }
    for (int s = 0; s < T_DEPTH; ++s) qp_out_free(&qo[s]), ilp_out_free(&io[s]);
    dopt_context_destroy(ctx);
    return NULL;
}

static void test_threads(void)
{
    if (tu_cuda()) return;
    for (int d = 0; d < T_DATA; ++d) {
        qp_in_make(&t_qp[d], 8 + 8 * d, 4 + d, 4 + d, d % 2, 500 + d, 0);
        if (d == 2) t_qp[d].host[1][3 * (4 + d)] = NAN; /* instance 3: invalid data (its own status) */
        if (d == 3) t_qp[d].host[3][5 * (4 + d)] = -INFINITY; /* instance 5: h = -inf, invalid */
        qp_out_make(&t_qp_ref[d], &t_qp[d].P);
        CHECK_OK(dopt_qp_solve(tu_ctx, &t_qp[d].P, NULL, &t_qp_ref[d].S, NULL));
        if (d == 2) CHECK(t_qp_ref[d].status[3] == DOPT_INVALID_DATA, "NaN instance: %d", t_qp_ref[d].status[3]);
        if (d == 3) CHECK(t_qp_ref[d].status[5] == DOPT_INVALID_DATA, "-inf instance: %d", t_qp_ref[d].status[5]);
        ilp_in_make(&t_ilp[d], 6 + 6 * d, 6 + d, 3, 900 + d);
        if (d == 1) t_ilp[d].b[2] = -1; /* instance 0 row 2: 0 <= y ... a'y <= -1: infeasible */
        ilp_out_make(&t_ilp_ref[d], &t_ilp[d].P);
        dopt_ilp_solution S = ilp_sol(&t_ilp_ref[d]);
        CHECK_OK(dopt_ilp_solve(tu_ctx, &t_ilp[d].P, NULL, &S));
        if (d == 1) CHECK(t_ilp_ref[d].status[0] == DOPT_PRIMAL_INFEASIBLE, "infeasible: %d", t_ilp_ref[d].status[0]);
    }
    pthread_t tid[T_THREADS];
    thread_arg ta[T_THREADS];
    for (int t = 0; t < T_THREADS; ++t) {
        ta[t].id = t;
        ta[t].failures = 0;
        CHECK(pthread_create(&tid[t], NULL, submitter, &ta[t]) == 0, "thread %d", t);
    }
    for (int t = 0; t < T_THREADS; ++t) {
        pthread_join(tid[t], NULL);
        CHECK(ta[t].failures == 0, "thread %d: %d jobs failed or differed from the blocking calls", t,
              ta[t].failures);
    }
    for (int d = 0; d < T_DATA; ++d) {
        qp_out_free(&t_qp_ref[d]);
        qp_in_free(&t_qp[d]);
        ilp_out_free(&t_ilp_ref[d]);
        ilp_in_free(&t_ilp[d]);
    }
}

/* ---- memory caps ---------------------------------------------------------------- */

/* the real arena: refused past the cap with a message naming it; never grown
 * past it; freed when the cap drops below it; a tape counted */
static void test_memory_cap_arena(void)
{
    if (tu_cuda()) return; /* host-memory sizes below */
    dopt_context *ctx = NULL;
    CHECK_OK(dopt_context_create(&ctx, DOPT_BACKEND_CPU));
    CHECK_OK(dopt_context_set_threads(ctx, 1));
    qp_in q;
    qp_out ref, o;
    qp_case_make(&q, &ref, &o, 16, 8, 6, 2, 41, 0);
    dopt_qp_memory_need need;
    dopt_qp_memory_cpu(ctx, &q.P, 1, &need);
    CHECK(need.fixed > 0 && need.per_instance == 0 && need.tape_per_instance > 0, "the CPU's needs");
    /* below the workspace: refused, nothing allocated */
    CHECK_OK(dopt_context_set_memory_limit(ctx, need.fixed - 1, 0));
    dopt_status st = dopt_qp_solve(ctx, &q.P, NULL, &o.S, NULL);
    CHECK(st == DOPT_ERR_OUT_OF_MEMORY, "over the cap: %s", dopt_status_string(st));
    const char *msg = dopt_context_last_error(ctx);
    CHECK(strstr(msg, "host memory cap") && strstr(msg, "requested"), "message names the cap: %s", msg);
    size_t used = 1;
    CHECK_OK(dopt_context_memory_in_use(ctx, &used, NULL));
    CHECK(used == 0, "nothing held after the refusal (%zu)", used);
    /* just enough: solved, the arena clamped to the cap (not grown to its 4 KiB minimum) */
    size_t cap = need.fixed + 8;
    CHECK_OK(dopt_context_set_memory_limit(ctx, cap, 0));
    CHECK_OK(dopt_qp_solve(ctx, &q.P, NULL, &o.S, NULL));
    CHECK_OK(dopt_context_memory_in_use(ctx, &used, NULL));
    CHECK(used > 0 && used <= cap, "the arena within the cap: %zu <= %zu", used, cap);
    CHECK(qp_out_equal(&ref, &o, &q.P), "capped == uncapped");
    /* the tape does not fit: refused, saying so; no tape */
    dopt_qp_tape *tape = NULL;
    st = dopt_qp_solve(ctx, &q.P, NULL, &o.S, &tape);
    CHECK(st == DOPT_ERR_OUT_OF_MEMORY && tape == NULL, "a tape over the cap: %s", dopt_status_string(st));
    CHECK(strstr(dopt_context_last_error(ctx), "tape") != NULL, "message: %s", dopt_context_last_error(ctx));
    /* room for it: fine; the tape is the caller's afterwards (not counted) */
    CHECK_OK(dopt_context_set_memory_limit(ctx, cap + 16 * need.tape_per_instance, 0));
    CHECK_OK(dopt_qp_solve(ctx, &q.P, NULL, &o.S, &tape));
    CHECK(tape != NULL, "the tape");
    size_t after = 0;
    CHECK_OK(dopt_context_memory_in_use(ctx, &after, NULL));
    CHECK(after == used, "the tape's reservation returned (%zu vs %zu)", after, used);
    dopt_qp_tape_destroy(tape);
    /* a cap below the arena frees it */
    CHECK_OK(dopt_context_set_memory_limit(ctx, 1, 0));
    CHECK_OK(dopt_context_memory_in_use(ctx, &used, NULL));
    CHECK(used == 0, "arena freed under a lower cap (%zu)", used);
    /* no cap again */
    CHECK_OK(dopt_context_set_memory_limit(ctx, 0, 0));
    CHECK_OK(dopt_qp_solve(ctx, &q.P, NULL, &o.S, NULL));
    CHECK(qp_out_equal(&ref, &o, &q.P), "uncapped again");
    /* through a job: the status comes back from wait */
    CHECK_OK(dopt_context_set_memory_limit(ctx, 100, 0));
    dopt_job *job = NULL;
    CHECK_OK(dopt_qp_solve_submit(ctx, &q.P, NULL, &o.S, NULL, &job));
    CHECK(dopt_job_wait(job) == DOPT_ERR_OUT_OF_MEMORY, "a job over the cap");
    CHECK(strstr(dopt_job_last_error(job), "cap") != NULL, "job message: %s", dopt_job_last_error(job));
    dopt_job_destroy(job);
    dopt_context_destroy(ctx);
    qp_case_free(&q, &ref, &o);
}

/* the internal temporaries: counted while held, refused past the cap */
static void test_memory_cap_temporaries(void)
{
    if (tu_cuda()) return;
    dopt_context *ctx = NULL;
    CHECK_OK(dopt_context_create(&ctx, DOPT_BACKEND_CPU));
    CHECK_OK(dopt_context_set_memory_limit(ctx, 1000, 0));
    void *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(dopt_temp_alloc(ctx, 600, &a, "first"));
    CHECK_OK(dopt_host_temp_alloc(ctx, 300, &b, "second"));
    size_t used = 0;
    CHECK_OK(dopt_context_memory_in_use(ctx, &used, NULL));
    CHECK(used == 900 && a && b, "both counted (%zu)", used);
    CHECK(dopt_temp_alloc(ctx, 200, &c, "third") == DOPT_ERR_OUT_OF_MEMORY && c == NULL, "over the cap");
    const char *msg = dopt_context_last_error(ctx);
    CHECK(strstr(msg, "third") && strstr(msg, "200 bytes") && strstr(msg, "cap of 1000"), "message: %s", msg);
    memset(a, 1, 600), memset(b, 2, 300); /* real memory (ASan checks the sizes) */
    dopt_temp_free(ctx, a);
    CHECK_OK(dopt_temp_alloc(ctx, 200, &c, "third"));
    dopt_temp_free(ctx, b);
    dopt_temp_free(ctx, c);
    dopt_temp_free(ctx, NULL);
    CHECK_OK(dopt_context_memory_in_use(ctx, &used, NULL));
    CHECK(used == 0, "all returned (%zu)", used);
    dopt_context_destroy(ctx);
}

/* ILP temporaries (the DBB backward's extra solve) count against the cap */
static void test_memory_cap_ilp(void)
{
    if (tu_cuda()) return;
    dopt_context *ctx = NULL;
    CHECK_OK(dopt_context_create(&ctx, DOPT_BACKEND_CPU));
    CHECK_OK(dopt_context_set_threads(ctx, 1));
    ilp_in q;
    ilp_in_make(&q, 50, 8, 4, 77);
    ilp_res o;
    ilp_out_make(&o, &q.P);
    dopt_ilp_solution S = ilp_sol(&o);
    CHECK_OK(dopt_ilp_solve(ctx, &q.P, NULL, &S));
    double *dy = (double *)malloc(8 * 50 * 8), *dc = (double *)malloc(8 * 50 * 8),
           *dc_ref = (double *)malloc(8 * 50 * 8);
    for (int i = 0; i < 400; ++i) dy[i] = cos(0.7 * i);
    dopt_ilp_grad_options g;
    dopt_ilp_grad_options_default(&g);
    g.method = DOPT_ILP_DBB;
    CHECK_OK(dopt_ilp_backward(ctx, &q.P, NULL, &g, o.y, o.status, dy, NULL, NULL, dc_ref));
    size_t arena = 0;
    CHECK_OK(dopt_context_memory_in_use(ctx, &arena, NULL));
    CHECK(arena > 0, "the arena is counted");
    CHECK_OK(dopt_context_set_memory_limit(ctx, arena + 64, 0));
    dopt_status st = dopt_ilp_backward(ctx, &q.P, NULL, &g, o.y, o.status, dy, NULL, NULL, dc);
    CHECK(st == DOPT_ERR_OUT_OF_MEMORY, "temporaries over the cap: %s", dopt_status_string(st));
    const char *msg = dopt_context_last_error(ctx);
    CHECK(strstr(msg, "ilp temporaries") && strstr(msg, "cap"), "message: %s", msg);
    size_t used = 0;
    CHECK_OK(dopt_context_memory_in_use(ctx, &used, NULL));
    CHECK(used == arena, "the temporaries were returned (%zu vs %zu)", used, arena);
    CHECK_OK(dopt_context_set_memory_limit(ctx, arena + (1 << 20), 0));
    CHECK_OK(dopt_ilp_backward(ctx, &q.P, NULL, &g, o.y, o.status, dy, NULL, NULL, dc));
    CHECK(!memcmp(dc, dc_ref, 8 * 400), "capped == uncapped");
    CHECK_OK(dopt_context_memory_in_use(ctx, &used, NULL));
    CHECK(used == arena, "no temporaries left (%zu vs %zu)", used, arena);
    free(dy), free(dc), free(dc_ref);
    ilp_out_free(&o);
    ilp_in_free(&q);
    dopt_context_destroy(ctx);
}

/* ---- chunking, through a CPU table whose QP entry also takes per-instance
 * memory (as the CUDA entry's workspaces): the layer must split the batch,
 * and the results must be bitwise the unchunked ones */
/* ragged QP under a host cap: the native path's tape and the padded classes
 * are counted; a padded class too big for the cap runs in parts with the
 * same results; what cannot fit is DOPT_ERR_OUT_OF_MEMORY naming the cap */
static void count_parts(void *user, int level, const char *message)
{
    (void)level;
    if (strstr(message, "in parts")) ++*(int *)user;
}

static void test_memory_cap_ragged(void)
{
    if (tu_cuda()) return; /* host arrays, a host cap */
    enum { B = 24, NMAX = 40 };
    int32_t n[B];
    size_t nQ = 0, nx = 0;
    for (int i = 0; i < B; ++i) n[i] = NMAX - (i % 4), nQ += (size_t)n[i] * n[i], nx += n[i];
    double *Q = calloc(nQ, 8), *p = malloc(8 * nx), *x0 = malloc(8 * nx), *x1 = malloc(8 * nx);
    int32_t st0[B], st1[B];
    tu_seed(91);
    for (size_t o = 0, i = 0; i < B; o += (size_t)n[i] * n[i], ++i)
        for (int r = 0; r < n[i]; ++r) Q[o + (size_t)r * n[i] + r] = 1 + tu_unif();
    for (size_t i = 0; i < nx; ++i) p[i] = tu_normal();
    dopt_qp_ragged_problem P = {B, n, NULL, NULL, DOPT_FLOAT64, Q, p, NULL, NULL, NULL, NULL};
    dopt_qp_solution S0 = {x0, NULL, NULL, st0, NULL}, S1 = {x1, NULL, NULL, st1, NULL};
    dopt_context *ctx = NULL;
    CHECK_OK(dopt_context_create(&ctx, DOPT_BACKEND_CPU));
    CHECK_OK(dopt_context_set_ragged_policy(ctx, DOPT_RAGGED_PAD, 0.25));
    CHECK_OK(dopt_qp_ragged_solve(ctx, &P, NULL, &S0, NULL)); /* no cap: the reference */
    /* padded copies of about 24 * 40^2 * 8 = 300 KB in all; a 192 KB cap
     * (the solve's own workspaces take about 85 KB of it) forces parts */
    int parts = 0;
    dopt_context_set_log(ctx, count_parts, &parts);
    CHECK_OK(dopt_context_set_memory_limit(ctx, 192 << 10, 0));
    dopt_status st = dopt_qp_ragged_solve(ctx, &P, NULL, &S1, NULL);
    CHECK(st == DOPT_OK, "padded classes in parts under a cap: %s", dopt_context_last_error(ctx));
    CHECK(parts > 0, "no class was split into parts");
    CHECK(!memcmp(x0, x1, 8 * nx) && !memcmp(st0, st1, sizeof st0), "parts == one class, bitwise");
    size_t host = 1, dev = 1;
    CHECK_OK(dopt_context_memory_in_use(ctx, &host, &dev));
    CHECK(host <= (192 << 10), "in use after the call: %zu", host);
    /* a tape of the padded classes is kept: it must fit as a whole */
    dopt_qp_tape *tape = NULL;
    st = dopt_qp_ragged_solve(ctx, &P, NULL, &S1, &tape);
    CHECK(st == DOPT_ERR_OUT_OF_MEMORY && strstr(dopt_context_last_error(ctx), "cap") && !tape,
          "PAD with a tape over the cap: %s", dopt_context_last_error(ctx));
    /* the native path: its tape is reserved against the cap */
    CHECK_OK(dopt_context_set_ragged_policy(ctx, DOPT_RAGGED_AUTO, 0));
    st = dopt_qp_ragged_solve(ctx, &P, NULL, &S1, &tape);
    CHECK(st == DOPT_ERR_OUT_OF_MEMORY && strstr(dopt_context_last_error(ctx), "qp ragged tape") && !tape,
          "native tape over the cap: %s", dopt_context_last_error(ctx));
    CHECK_OK(dopt_context_set_memory_limit(ctx, 0, 0));
    CHECK_OK(dopt_qp_ragged_solve(ctx, &P, NULL, &S1, &tape));
    CHECK(tape && !memcmp(x0, x1, 8 * nx), "without the cap the tape is recorded");
    dopt_qp_tape_destroy(tape);
    dopt_context_destroy(ctx);
    free(Q), free(p), free(x0), free(x1);
}

static dopt_backend_ops fake_ops;
static size_t fake_reported, fake_taken; /* per instance: what the query says, what the solve takes */
static int64_t fake_batches[4096];
static int fake_calls;

static void fake_qp_memory(const dopt_context *ctx, const dopt_qp_problem *P, int with_tape,
                           dopt_qp_memory_need *need)
{
    dopt_qp_memory_cpu(ctx, P, with_tape, need);
    need->per_instance = fake_reported;
}

static dopt_status fake_qp_solve(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                                 dopt_qp_solution *sol, dopt_qp_tape *tape)
{
    int kind = dopt_mem_kind(ctx);
    size_t bytes = fake_taken * (size_t)P->batch;
    DOPT_TRY(dopt_mem_charge(ctx, kind, bytes, "simulated per-instance workspace"));
    if (fake_calls < 4096) fake_batches[fake_calls++] = P->batch;
    dopt_status st = dopt_qp_solve_cpu(ctx, P, o, sol, tape);
    dopt_mem_uncharge(ctx, kind, bytes);
    return st;
}

static void check_chunked(dopt_context *ctx, const qp_in *q, const qp_out *ref, qp_out *o, size_t per_reported,
                          size_t per_taken, size_t cap, const char *what)
{
    fake_reported = per_reported;
    fake_taken = per_taken;
    fake_calls = 0;
    memset(o->x, 0, 8 * (size_t)q->P.batch * q->P.n);
    memset(o->status, 0xff, 4 * (size_t)q->P.batch);
    CHECK_OK(dopt_context_set_memory_limit(ctx, cap, 0));
    CHECK_OK(dopt_qp_solve(ctx, &q->P, NULL, &o->S, NULL));
    CHECK(!strcmp(dopt_context_last_error(ctx), ""), "%s: no message left behind: %s", what,
          dopt_context_last_error(ctx));
    int64_t sum = 0, largest = 0;
    for (int i = 0; i < fake_calls; ++i) {
        sum += fake_batches[i];
        if (fake_batches[i] > largest) largest = fake_batches[i];
    }
    size_t arena = 0;
    CHECK_OK(dopt_context_memory_in_use(ctx, &arena, NULL));
    CHECK(sum == q->P.batch, "%s: the chunks cover the batch (%lld of %lld)", what, (long long)sum,
          (long long)q->P.batch);
    CHECK(fake_calls > 1, "%s: split (%d calls)", what, fake_calls);
    CHECK(arena + (size_t)largest * per_taken <= cap, "%s: every chunk within the cap", what);
    CHECK(qp_out_equal(ref, o, &q->P), "%s: chunked == one call, bitwise", what);
}

static void test_chunking(void)
{
    if (tu_cuda()) return;
    fake_ops = dopt_cpu_backend_ops;
    fake_ops.qp_memory = fake_qp_memory;
    fake_ops.qp_solve = fake_qp_solve;
    dopt_context *ctx = NULL;
    CHECK_OK(dopt_context_create(&ctx, DOPT_BACKEND_CPU));
    CHECK_OK(dopt_context_set_threads(ctx, 1));
    /* per-instance data, and a shared Q and h (one copy: never offset) */
    for (int variant = 0; variant < 2; ++variant) {
        uint32_t shared = variant ? DOPT_QP_SHARE_Q | DOPT_QP_SHARE_H : 0;
        qp_in q;
        qp_out ref, o;
        qp_case_make(&q, &ref, &o, 50, 7, 5, 2, 61 + variant, shared);
        CHECK(variant || all_solved(&ref, 50), "the reference solved");
        ctx->ops = &fake_ops;
        fake_reported = fake_taken = 0;
        /* the arena a capped solve uses: under any cap the CPU backend runs the
         * per-instance layout, whose workspace the estimate describes (without
         * one, small n runs interleaved with a larger arena: docs/QP.md) */
        CHECK_OK(dopt_context_set_memory_limit(ctx, (size_t)1 << 40, 0));
        CHECK_OK(dopt_qp_solve(ctx, &q.P, NULL, &o.S, NULL));
        size_t arena = 0;
        CHECK_OK(dopt_context_memory_in_use(ctx, &arena, NULL));
        size_t per = 1000;
        /* room for 7 instances beside the arena */
        check_chunked(ctx, &q, &ref, &o, per, per, arena + 7 * per + per / 2, "estimate exact");
        /* the query says a quarter of what the solve takes: chunks halved until they fit */
        check_chunked(ctx, &q, &ref, &o, per / 4, per, arena + 7 * per + per / 2, "estimate short");
        /* not even one instance fits */
        fake_reported = fake_taken = per;
        dopt_qp_memory_need need;
        fake_qp_memory(ctx, &q.P, 0, &need);
        CHECK_OK(dopt_context_set_memory_limit(ctx, need.fixed + per / 2, 0));
        dopt_status st = dopt_qp_solve(ctx, &q.P, NULL, &o.S, NULL);
        CHECK(st == DOPT_ERR_OUT_OF_MEMORY, "impossible cap: %s", dopt_status_string(st));
        CHECK(strstr(dopt_context_last_error(ctx), "one instance") != NULL, "message: %s",
              dopt_context_last_error(ctx));
        /* a tape is not split */
        CHECK_OK(dopt_context_set_memory_limit(ctx, arena + 7 * per + 50 * need.tape_per_instance, 0));
        dopt_qp_tape *tape = NULL;
        st = dopt_qp_solve(ctx, &q.P, NULL, &o.S, &tape);
        CHECK(st == DOPT_ERR_OUT_OF_MEMORY && tape == NULL, "a tape that would need chunks: %s",
              dopt_status_string(st));
        CHECK(strstr(dopt_context_last_error(ctx), "not split") != NULL, "message: %s", dopt_context_last_error(ctx));
        ctx->ops = &dopt_cpu_backend_ops;
        qp_case_free(&q, &ref, &o);
    }
    dopt_context_destroy(ctx);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    test_submit_matches_blocking();
    test_ilp_submit();
    test_ragged_submit();
    test_queue_in_order();
    test_busy_context();
    test_job_errors();
    test_destroy_with_pending();
    test_fork();
    test_threads();
    test_memory_cap_arena();
    test_memory_cap_temporaries();
    test_memory_cap_ilp();
    test_memory_cap_ragged();
    test_chunking();
    return tu_finish("test_async");
}
