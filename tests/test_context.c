/* The context and what it owns: backend choice and its messages, the public
 * memory helpers, the backend table's UNSUPPORTED rule, the thread pool,
 * the scratch arena and the log callback. Host-only: it checks what a
 * machine without a usable GPU must see. */
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h" /* private: the table, to simulate a backend without an entry */
#include "internal.h"

/* ---- a log callback that keeps every message ---- */
typedef struct {
    int count[3];
    char text[16][512];
    int level[16];
    int kept;
} log_record;

static void record_log(void *user, int level, const char *message)
{
    log_record *r = (log_record *)user;
    if (level >= 0 && level < 3) r->count[level]++;
    if (r->kept < 16) {
        snprintf(r->text[r->kept], sizeof r->text[0], "%s", message);
        r->level[r->kept++] = level;
    }
}

static int logged(const log_record *r, int level, const char *part)
{
    for (int i = 0; i < r->kept; ++i)
        if (r->level[i] == level && strstr(r->text[i], part)) return 1;
    return 0;
}

static void test_memory_round_trip(void)
{
    double host[64], back[64];
    for (int i = 0; i < 64; ++i) host[i] = 0.5 * i - 3, back[i] = -1;
    void *a = NULL, *b = NULL;
    CHECK_OK(dopt_memory_alloc(tu_ctx, sizeof host, &a));
    CHECK_OK(dopt_memory_alloc(tu_ctx, sizeof host, &b));
    CHECK(a && b && a != b, "two distinct blocks");
    CHECK_OK(dopt_memory_upload(tu_ctx, a, host, sizeof host));
    CHECK_OK(dopt_memory_copy(tu_ctx, b, a, sizeof host));
    CHECK_OK(dopt_memory_set_zero(tu_ctx, a, sizeof host));
    CHECK_OK(dopt_context_synchronize(tu_ctx));
    CHECK_OK(dopt_memory_download(tu_ctx, back, b, sizeof back));
    CHECK(!memcmp(back, host, sizeof host), "upload -> copy -> download returns the data");
    CHECK_OK(dopt_memory_download(tu_ctx, back, a, sizeof back));
    int zero = 1;
    for (int i = 0; i < 64; ++i) zero &= back[i] == 0;
    CHECK(zero, "set_zero zeroes");
    CHECK_OK(dopt_memory_free(tu_ctx, a));
    CHECK_OK(dopt_memory_free(tu_ctx, b));
    CHECK_OK(dopt_memory_free(tu_ctx, NULL));
    void *z = NULL;
    CHECK_OK(dopt_memory_alloc(tu_ctx, 0, &z));
    CHECK(z != NULL, "0 bytes still gives a pointer to free");
    CHECK_OK(dopt_memory_free(tu_ctx, z));
    /* bytes = 0 copies are no-ops, even with NULL pointers */
    CHECK_OK(dopt_memory_upload(tu_ctx, NULL, NULL, 0));
    CHECK_OK(dopt_memory_download(tu_ctx, NULL, NULL, 0));
}

static void test_memory_errors(void)
{
    double h[4] = {0};
    void *p = NULL;
    CHECK(dopt_memory_alloc(NULL, 8, &p) == DOPT_ERR_INVALID_ARGUMENT, "NULL context");
    CHECK(dopt_memory_free(NULL, h) == DOPT_ERR_INVALID_ARGUMENT, "NULL context");
    CHECK(dopt_context_synchronize(NULL) == DOPT_ERR_INVALID_ARGUMENT, "NULL context");
    CHECK(dopt_memory_alloc(tu_ctx, 8, NULL) == DOPT_ERR_INVALID_ARGUMENT, "NULL ptr");
    CHECK(strstr(dopt_context_last_error(tu_ctx), "ptr is NULL") != NULL, "message: %s",
          dopt_context_last_error(tu_ctx));
    CHECK(dopt_memory_upload(tu_ctx, NULL, h, sizeof h) == DOPT_ERR_INVALID_ARGUMENT, "NULL destination");
    CHECK(strstr(dopt_context_last_error(tu_ctx), "upload: NULL pointer for 32 bytes") != NULL, "message: %s",
          dopt_context_last_error(tu_ctx));
    CHECK(dopt_memory_download(tu_ctx, h, NULL, sizeof h) == DOPT_ERR_INVALID_ARGUMENT, "NULL source");
    CHECK(strstr(dopt_context_last_error(tu_ctx), "download") != NULL, "message: %s", dopt_context_last_error(tu_ctx));
    CHECK(dopt_memory_set_zero(tu_ctx, NULL, 8) == DOPT_ERR_INVALID_ARGUMENT, "NULL memory to zero");
    CHECK(dopt_memory_copy(tu_ctx, h, NULL, 8) == DOPT_ERR_INVALID_ARGUMENT, "NULL copy source");
    /* a good call clears the message */
    CHECK_OK(dopt_memory_free(tu_ctx, NULL));
    CHECK(dopt_context_last_error(tu_ctx)[0] == 0, "cleared: %s", dopt_context_last_error(tu_ctx));
}

/* Without a usable GPU: CUDA is refused with a reason, AUTO falls back to the
 * CPU and keeps the reason, and a log callback installed afterwards hears it. */
static void test_backend_choice(void)
{
    if (dopt_cuda_available()) {
        printf("  (a CUDA device is visible: the no-device checks do not apply)\n");
        return;
    }
    dopt_context *c = NULL;
    dopt_status s = dopt_context_create(&c, DOPT_BACKEND_CUDA);
#ifdef DOPT_HAVE_CUDA
    CHECK(s == DOPT_ERR_NO_DEVICE, "CUDA without a device: %s", dopt_status_string(s));
#else
    CHECK(s == DOPT_ERR_UNSUPPORTED, "CUDA not built in: %s", dopt_status_string(s));
#endif
    CHECK(c && strstr(dopt_context_last_error(c), "CUDA") != NULL, "reason: %s", dopt_context_last_error(c));
    CHECK(c && dopt_context_backend(c) == DOPT_BACKEND_CPU, "the context is still made, on the CPU");
    dopt_context_destroy(c);

    c = NULL;
    CHECK(dopt_context_create(&c, DOPT_BACKEND_AUTO) == DOPT_OK, "AUTO always gives a context");
    CHECK(dopt_context_backend(c) == DOPT_BACKEND_CPU, "AUTO falls back to the CPU");
    CHECK(strstr(dopt_context_last_error(c), "CUDA") != NULL, "the reason stays readable: '%s'",
          dopt_context_last_error(c));
    log_record r;
    memset(&r, 0, sizeof r);
    dopt_context_set_log(c, record_log, &r);
    CHECK(logged(&r, DOPT_LOG_INFO, "falling back"), "the callback hears the fallback (%d messages, first '%s')",
          r.kept, r.kept ? r.text[0] : "");
    dopt_context_destroy(c);

    CHECK(dopt_context_create(&c, (dopt_backend)7) == DOPT_ERR_INVALID_ARGUMENT, "unknown backend");
    dopt_context_destroy(c);

    /* CUDA settings on a CPU context: a device that cannot exist is refused,
     * a stream is kept but said to be ignored */
    CHECK_OK(dopt_context_create(&c, DOPT_BACKEND_CPU));
    memset(&r, 0, sizeof r);
    dopt_context_set_log(c, record_log, &r);
    CHECK(logged(&r, DOPT_LOG_INFO, "backend: cpu (requested)"), "the choice is logged");
#ifdef DOPT_HAVE_CUDA
    CHECK(dopt_context_set_cuda_device(c, 0) == DOPT_ERR_INVALID_ARGUMENT, "no device 0 without a GPU");
#else
    CHECK(dopt_context_set_cuda_device(c, 0) == DOPT_ERR_UNSUPPORTED, "no CUDA devices without CUDA");
#endif
    CHECK(strstr(dopt_context_last_error(c), "CUDA device 0") != NULL, "message: %s", dopt_context_last_error(c));
    int dummy_stream;
    CHECK_OK(dopt_context_set_cuda_stream(c, &dummy_stream));
    CHECK(logged(&r, DOPT_LOG_WARN, "ignored"), "a stream on a CPU context is reported as ignored");
    dopt_context_destroy(c);
}

/* A backend leaving an entry NULL answers DOPT_ERR_UNSUPPORTED, named. */
static void test_missing_entry(void)
{
    dopt_context *c = NULL;
    CHECK_OK(dopt_context_create(&c, DOPT_BACKEND_CPU));
    dopt_backend_ops partial = *c->ops;
    partial.qp_solve = NULL;
    partial.bern_round = NULL;
    partial.set_zero = NULL;
    const struct dopt_backend_ops *saved = c->ops;
    c->ops = &partial;
    double Q[1] = {2}, p[1] = {-2}, x[1];
    int32_t st[1];
    dopt_qp_problem P;
    memset(&P, 0, sizeof P);
    P.batch = 1, P.n = 1, P.dtype = DOPT_FLOAT64, P.Q = Q, P.p = p;
    dopt_qp_solution sol;
    memset(&sol, 0, sizeof sol);
    sol.x = x, sol.status = st;
    CHECK(dopt_qp_solve(c, &P, NULL, &sol, NULL) == DOPT_ERR_UNSUPPORTED, "qp_solve missing");
    CHECK(strstr(dopt_context_last_error(c), "qp_solve") != NULL, "names the entry: %s",
          dopt_context_last_error(c));
    double xhat[1] = {0.5}, xr[1];
    dopt_bern_problem B;
    memset(&B, 0, sizeof B);
    B.batch = 1, B.n = 1, B.dtype = DOPT_FLOAT64;
    CHECK(dopt_bern_round(c, &B, xhat, xr, st) == DOPT_ERR_UNSUPPORTED, "bern_round missing");
    CHECK(dopt_memory_set_zero(c, x, sizeof x) == DOPT_ERR_UNSUPPORTED, "set_zero missing");
    c->ops = saved;
    CHECK_OK(dopt_qp_solve(c, &P, NULL, &sol, NULL));
    CHECK(fabs(x[0] - 1) < 1e-6, "the full table solves: x = %g", x[0]);
    dopt_context_destroy(c);
}

/* ---- the thread pool ---- */
typedef struct {
    int64_t count;
    int *hits;
    int max_worker;
    int bad_worker;
    pthread_t caller;
    int caller_not_worker0;
    pthread_mutex_t mu;
    dopt_context *ctx; /* for the nested loop */
    int nested_hits;
} pool_probe;

static void count_range(void *arg, int64_t b, int64_t e, int worker)
{
    pool_probe *p = (pool_probe *)arg;
    pthread_mutex_lock(&p->mu);
    for (int64_t i = b; i < e; ++i) p->hits[i]++;
    if (worker > p->max_worker) p->max_worker = worker;
    if (worker == 0 && !pthread_equal(pthread_self(), p->caller)) p->caller_not_worker0 = 1;
    pthread_mutex_unlock(&p->mu);
}

static void nested_inner(void *arg, int64_t b, int64_t e, int worker)
{
    (void)worker;
    pool_probe *p = (pool_probe *)arg;
    pthread_mutex_lock(&p->mu);
    p->nested_hits += (int)(e - b);
    pthread_mutex_unlock(&p->mu);
}

static void nested_outer(void *arg, int64_t b, int64_t e, int worker)
{
    (void)worker;
    pool_probe *p = (pool_probe *)arg;
    for (int64_t i = b; i < e; ++i) dopt_parallel_for(p->ctx, 2, 10, 1, nested_inner, p);
}

static void test_pool(void)
{
    dopt_context *c = NULL;
    CHECK_OK(dopt_context_create(&c, DOPT_BACKEND_CPU));
    log_record r;
    memset(&r, 0, sizeof r);
    dopt_context_set_log(c, record_log, &r);
    CHECK_OK(dopt_context_set_threads(c, 4));
    pool_probe p;
    memset(&p, 0, sizeof p);
    pthread_mutex_init(&p.mu, NULL);
    p.count = 1000;
    p.hits = (int *)calloc((size_t)p.count, sizeof(int));
    p.caller = pthread_self();
    CHECK(c->pool == NULL, "no workers before the first parallel call");
    for (int rep = 0; rep < 20; ++rep)
        dopt_parallel_for(c, dopt_worker_count(4, p.count, 7), p.count, 7, count_range, &p);
    int exact = 1;
    for (int64_t i = 0; i < p.count; ++i) exact &= p.hits[i] == 20;
    CHECK(exact, "every index once per loop");
    CHECK(p.max_worker <= 3, "worker index below the worker count (max %d)", p.max_worker);
    CHECK(!p.caller_not_worker0, "worker 0 is the calling thread");
    struct dopt_pool *first = c->pool;
    CHECK(first != NULL, "the pool is kept by the context");
    CHECK(logged(&r, DOPT_LOG_INFO, "pool of 4"), "pool size logged");
    dopt_parallel_for(c, 4, 10, 1, count_range, &p);
    CHECK(c->pool == first, "one pool for all calls");
    /* a loop inside a loop on the same context finishes (no deadlock) */
    p.ctx = c;
    dopt_parallel_for(c, 4, 8, 1, nested_outer, &p);
    CHECK(p.nested_hits == 80, "nested loops ran fully: %d", p.nested_hits);
    CHECK_OK(dopt_context_set_threads(c, 4));
    CHECK(c->pool == first, "same count keeps the pool");
    CHECK_OK(dopt_context_set_threads(c, 2));
    CHECK(c->pool == NULL, "a new count releases the pool");
    memset(p.hits, 0, sizeof(int) * (size_t)p.count);
    p.max_worker = 0;
    dopt_parallel_for(c, 8, p.count, 3, count_range, &p); /* asks more workers than the pool has */
    exact = 1;
    for (int64_t i = 0; i < p.count; ++i) exact &= p.hits[i] == 1;
    CHECK(exact && p.max_worker <= 1, "capped at the pool's 2 workers (max index %d)", p.max_worker);
    CHECK(logged(&r, DOPT_LOG_INFO, "pool of 2"), "the new pool logged");
    CHECK_OK(dopt_context_set_threads(c, 1));
    memset(p.hits, 0, sizeof(int) * (size_t)p.count);
    p.max_worker = 0;
    dopt_parallel_for(c, 8, p.count, 3, count_range, &p);
    exact = 1;
    for (int64_t i = 0; i < p.count; ++i) exact &= p.hits[i] == 1;
    CHECK(exact && p.max_worker == 0 && c->pool == NULL, "threads = 1: the caller alone (max index %d)",
          p.max_worker);
    /* without a context: threads of the call */
    memset(p.hits, 0, sizeof(int) * (size_t)p.count);
    dopt_parallel_for(NULL, 3, p.count, 5, count_range, &p);
    exact = 1;
    for (int64_t i = 0; i < p.count; ++i) exact &= p.hits[i] == 1;
    CHECK(exact, "context-free loop");
    CHECK(dopt_context_set_threads(c, -1) == DOPT_ERR_INVALID_ARGUMENT, "negative threads");
    CHECK(r.count[DOPT_LOG_ERROR] == 1 && logged(&r, DOPT_LOG_ERROR, "threads must be >= 0"),
          "a failed call is logged as an error");
    dopt_context_destroy(c); /* joins the workers: ASan/TSan would see leaks otherwise */
    free(p.hits);
    pthread_mutex_destroy(&p.mu);
}

static void test_scratch(void)
{
    dopt_context *c = NULL;
    CHECK_OK(dopt_context_create(&c, DOPT_BACKEND_CPU));
    log_record r;
    memset(&r, 0, sizeof r);
    dopt_context_set_log(c, record_log, &r);
    /* the layers take their per-call workspace from it */
    double Q[4] = {2, 0, 0, 2}, p[2] = {-2, -4}, x[2];
    int32_t st[1];
    dopt_qp_problem P;
    memset(&P, 0, sizeof P);
    P.batch = 1, P.n = 2, P.dtype = DOPT_FLOAT64, P.Q = Q, P.p = p;
    dopt_qp_solution sol;
    memset(&sol, 0, sizeof sol);
    sol.x = x, sol.status = st;
    CHECK(c->scratch == NULL, "no arena before the first call");
    CHECK(dopt_qp_solve(c, &P, NULL, &sol, NULL) == DOPT_OK, "qp: %s", dopt_context_last_error(c));
    CHECK(fabs(x[0] - 1) < 1e-6 && fabs(x[1] - 2) < 1e-6, "x = (%g, %g)", x[0], x[1]);
    CHECK(c->scratch != NULL && logged(&r, DOPT_LOG_INFO, "arena grown"), "the solve's workspace is the arena");
    void *a = NULL, *b = NULL, *d = NULL;
    CHECK_OK(dopt_scratch_reserve(c, 1000, &a));
    memset(a, 1, 1000); /* ASan: at least the size asked */
    CHECK_OK(dopt_scratch_reserve(c, 500, &b));
    CHECK(a == b, "a smaller request reuses the block");
    CHECK_OK(dopt_scratch_reserve(c, 1 << 20, &d));
    memset(d, 2, 1 << 20);
    CHECK(c->scratch_bytes >= (1u << 20), "grown to %zu", c->scratch_bytes);
    CHECK(logged(&r, DOPT_LOG_INFO, "arena grown"), "growth logged");
    int grown = r.count[DOPT_LOG_INFO];
    CHECK_OK(dopt_scratch_reserve(c, 4096, &a));
    CHECK(a == d && r.count[DOPT_LOG_INFO] == grown, "never shrinks, no new allocation");
    CHECK(dopt_qp_solve(c, &P, NULL, &sol, NULL) == DOPT_OK, "qp: %s", dopt_context_last_error(c));
    CHECK(c->scratch == d && r.count[DOPT_LOG_INFO] == grown, "a later solve reuses the arena");
    dopt_context_destroy(c);
}

/* ---- the scratch plan: one arena block laid out per backend call ---- */
static int inside_arena(const dopt_context *c, const void *p, size_t bytes)
{
    uintptr_t a = (uintptr_t)c->scratch, q = (uintptr_t)p;
    return c->scratch && q >= a && q + bytes <= a + c->scratch_bytes;
}

/* Commits buffers of sizes[i] bytes; checks they are aligned, in the arena,
 * pairwise disjoint and writable over their whole size (ASan). */
static void commit_and_check(dopt_context *c, const size_t *sizes, int count, void **ptr, const char *what)
{
    dopt_scratch_plan plan;
    dopt_scratch_plan_init(&plan, what);
    for (int i = 0; i < count; ++i) {
        ptr[i] = (void *)&plan; /* must be overwritten */
        dopt_scratch_plan_add(&plan, &ptr[i], sizes[i], 1);
        CHECK(ptr[i] == NULL, "%s: slot %d is NULL until the commit", what, i);
    }
    dopt_status st = dopt_scratch_plan_commit(c, &plan);
    CHECK(st == DOPT_OK, "%s: commit: %s", what, dopt_context_last_error(c));
    if (st != DOPT_OK) return;
    for (int i = 0; i < count; ++i) {
        size_t used = sizes[i] ? sizes[i] : 1;
        CHECK(ptr[i] != NULL && (uintptr_t)ptr[i] % DOPT_SCRATCH_ALIGN == 0, "%s: buffer %d aligned (%p)", what, i,
              ptr[i]);
        CHECK(inside_arena(c, ptr[i], used), "%s: buffer %d (%zu bytes) inside the arena", what, i, sizes[i]);
        for (int j = 0; j < i; ++j) {
            uintptr_t a = (uintptr_t)ptr[i], b = (uintptr_t)ptr[j];
            size_t bj = sizes[j] ? sizes[j] : 1;
            CHECK(a >= b + bj || b >= a + used, "%s: buffers %d and %d are disjoint", what, j, i);
        }
        memset(ptr[i], 0x5a, sizes[i]);
    }
}

static void test_scratch_plan(void)
{
    dopt_context *c = NULL;
    CHECK_OK(dopt_context_create(&c, DOPT_BACKEND_CPU));
    log_record r;
    memset(&r, 0, sizeof r);
    dopt_context_set_log(c, record_log, &r);
    /* odd sizes, a zero-sized buffer between two others, a one-byte one */
    size_t sizes[5] = {8000, 37 * 4, 0, 1, 3000};
    void *ptr[5], *again[5];
    commit_and_check(c, sizes, 5, ptr, "plan test");
    CHECK(logged(&r, DOPT_LOG_INFO, "arena grown"), "the first commit makes the arena");
    void *arena = c->scratch;
    size_t arena_bytes = c->scratch_bytes;
    int infos = r.count[DOPT_LOG_INFO];
    CHECK(ptr[2] != ptr[3], "a zero-sized buffer has an address of its own");

    /* the same sizes next call: the same block, the same layout, no growth */
    commit_and_check(c, sizes, 5, again, "plan test again");
    CHECK(c->scratch == arena && c->scratch_bytes == arena_bytes && r.count[DOPT_LOG_INFO] == infos,
          "no growth when the sizes do not grow");
    int same = 1;
    for (int i = 0; i < 5; ++i) same &= again[i] == ptr[i];
    CHECK(same, "the same layout in the reused block");
    size_t smaller[2] = {100, 200};
    commit_and_check(c, smaller, 2, again, "smaller plan");
    CHECK(c->scratch == arena && r.count[DOPT_LOG_INFO] == infos, "smaller sizes reuse the block");

    /* larger: one growth, everything inside the new block */
    size_t larger[3] = {1u << 20, 5, 3u << 20};
    commit_and_check(c, larger, 3, again, "larger plan");
    CHECK(c->scratch_bytes >= (4u << 20) && r.count[DOPT_LOG_INFO] == infos + 1, "grown once to %zu bytes",
          c->scratch_bytes);

    /* counts times element sizes, and an empty plan */
    double *x = NULL;
    int32_t *flags = NULL;
    dopt_scratch_plan plan;
    dopt_scratch_plan_init(&plan, "typed plan");
    dopt_scratch_plan_add(&plan, (void **)&x, 1000, sizeof(double));
    dopt_scratch_plan_add(&plan, (void **)&flags, 1000, sizeof(int32_t));
    CHECK_OK(dopt_scratch_plan_commit(c, &plan));
    CHECK(x && flags && (char *)flags - (char *)x >= (ptrdiff_t)(1000 * sizeof(double)), "count x element size");
    if (x && flags) {
        for (int i = 0; i < 1000; ++i) x[i] = i, flags[i] = -i;
        CHECK(x[999] == 999 && flags[0] == 0, "typed buffers hold their data");
    }
    dopt_scratch_plan_init(&plan, "empty plan");
    CHECK_OK(dopt_scratch_plan_commit(c, &plan));

    /* overflow: more buffers than slots, a product beyond size_t, a total beyond size_t */
    void *many[DOPT_SCRATCH_PLAN_SLOTS + 1];
    dopt_scratch_plan_init(&plan, "plan test");
    for (int i = 0; i <= DOPT_SCRATCH_PLAN_SLOTS; ++i) dopt_scratch_plan_add(&plan, &many[i], 8, 1);
    CHECK(dopt_scratch_plan_commit(c, &plan) == DOPT_ERR_INTERNAL, "too many buffers");
    CHECK(strstr(c->error, "plan test: more than 16 scratch buffers") != NULL, "message: %s", c->error);
    int all_null = 1;
    for (int i = 0; i <= DOPT_SCRATCH_PLAN_SLOTS; ++i) all_null &= many[i] == NULL;
    CHECK(all_null, "a failed commit leaves every slot NULL");
    void *huge = NULL, *huge2 = NULL;
    dopt_scratch_plan_init(&plan, "product");
    dopt_scratch_plan_add(&plan, &huge, SIZE_MAX / 2, 4);
    CHECK(dopt_scratch_plan_commit(c, &plan) == DOPT_ERR_OUT_OF_MEMORY && huge == NULL, "count x size overflows");
    CHECK(strstr(c->error, "product: the scratch buffers exceed the address space") != NULL, "message: %s",
          c->error);
    dopt_scratch_plan_init(&plan, "total");
    dopt_scratch_plan_add(&plan, &huge, SIZE_MAX / 4 * 3, 1);
    dopt_scratch_plan_add(&plan, &huge2, SIZE_MAX / 4 * 3, 1);
    CHECK(dopt_scratch_plan_commit(c, &plan) == DOPT_ERR_OUT_OF_MEMORY && !huge && !huge2, "the total overflows");
    CHECK(strstr(c->error, "total: the scratch buffers exceed") != NULL, "message: %s", c->error);
    dopt_scratch_plan_init(&plan, "rounding");
    dopt_scratch_plan_add(&plan, &huge, SIZE_MAX - 100, 1);
    CHECK(dopt_scratch_plan_commit(c, &plan) == DOPT_ERR_OUT_OF_MEMORY && !huge,
          "no room to round up to the alignment");
    CHECK(c->scratch_bytes >= (4u << 20), "failed plans reserve nothing (the arena stays)");
    dopt_context_destroy(c);
}

/* ---- switching the CUDA stream waits for the old one when the arena exists ---- */
static int sync_calls;
static void *sync_saw_stream;

static dopt_status counting_sync(dopt_context *ctx)
{
    ++sync_calls;
    sync_saw_stream = ctx->cuda_stream;
    return DOPT_OK;
}

static dopt_status failing_sync(dopt_context *ctx)
{
    return dopt_fail(ctx, DOPT_ERR_CUDA, "simulated stream failure");
}

/* fork() with a context whose worker pool is running: the child has none of
 * the parent's threads, so using the pool it inherited would wait forever.
 * The child must start its own and compute; the parent's pool keeps working.
 * An alarm turns a hang in the child into a failure. */
static void add_range_length(void *arg, int64_t begin, int64_t end, int worker)
{
    (void)worker;
    atomic_fetch_add((atomic_llong *)arg, end - begin);
}

static int parallel_count(dopt_context *ctx)
{
    atomic_llong n;
    atomic_init(&n, 0);
    dopt_parallel_for(ctx, 2, 1000, 1, add_range_length, &n);
    return atomic_load(&n) == 1000;
}

static void test_fork_child_uses_context(void)
{
    if (tu_cuda()) return; /* CUDA contexts do not survive fork */
    dopt_context *ctx = NULL;
    CHECK_OK(dopt_context_create(&ctx, DOPT_BACKEND_CPU));
    CHECK_OK(dopt_context_set_threads(ctx, 2));
    CHECK(parallel_count(ctx), "parent: the pool lost work");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20);
        int ok = parallel_count(ctx) && parallel_count(ctx);
        ok = ok && dopt_context_set_threads(ctx, 1) == DOPT_OK && parallel_count(ctx);
        _exit(ok ? 0 : 1); /* _exit: the parent owns everything else */
    }
    CHECK(pid > 0, "fork failed");
    int status = 0;
    if (pid > 0) waitpid(pid, &status, 0);
    CHECK(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "child after fork: %s (status %d)", WIFSIGNALED(status) ? "hung (killed by the alarm)" : "failed", status);
    CHECK(parallel_count(ctx), "parent after fork: the pool lost work");
    dopt_context_destroy(ctx);
}

/* The sizes a binding checks its struct mirrors against: the real sizeof of
 * each public struct, 0 for names that are not one. */
static void test_struct_sizes(void)
{
    CHECK(dopt_struct_size("dopt_qp_problem") == sizeof(dopt_qp_problem), "dopt_struct_size");
    CHECK(dopt_struct_size("dopt_milp") == sizeof(dopt_milp), "dopt_struct_size");
    CHECK(dopt_struct_size("dopt_npy") == sizeof(dopt_npy), "dopt_struct_size");
    CHECK(dopt_struct_size("dopt_gen_params") == sizeof(dopt_gen_params), "dopt_struct_size");
    CHECK(dopt_struct_size("dopt_context") == 0, "dopt_struct_size"); /* opaque */
    CHECK(dopt_struct_size("dopt_qp_problemx") == 0, "dopt_struct_size");
    CHECK(dopt_struct_size("") == 0, "dopt_struct_size");
    CHECK(dopt_struct_size(NULL) == 0, "dopt_struct_size");
}

static void test_stream_switch(void)
{
    dopt_context *c = NULL;
    CHECK_OK(dopt_context_create(&c, DOPT_BACKEND_CPU));
    /* a CUDA-kind table over the CPU's memory entries, with a synchronize that counts */
    dopt_backend_ops fake = *c->ops;
    fake.kind = DOPT_BACKEND_CUDA;
    fake.synchronize = counting_sync;
    const struct dopt_backend_ops *saved = c->ops;
    c->ops = &fake;
    int s1, s2;
    sync_calls = 0;
    CHECK_OK(dopt_context_set_cuda_stream(c, &s1));
    CHECK(sync_calls == 0 && c->cuda_stream == &s1, "no arena yet: nothing to wait for");
    void *p = NULL;
    CHECK_OK(dopt_scratch_reserve(c, 64, &p));
    CHECK_OK(dopt_context_set_cuda_stream(c, &s1));
    CHECK(sync_calls == 0, "the same stream again: no wait");
    CHECK_OK(dopt_context_set_cuda_stream(c, &s2));
    CHECK(sync_calls == 1 && sync_saw_stream == &s1 && c->cuda_stream == &s2,
          "a new stream waits for the old one first (%d waits)", sync_calls);
    CHECK_OK(dopt_context_set_cuda_stream(c, NULL));
    CHECK(sync_calls == 2 && sync_saw_stream == &s2 && c->cuda_stream == NULL, "back to the default stream");
    fake.synchronize = failing_sync;
    CHECK(dopt_context_set_cuda_stream(c, &s1) == DOPT_ERR_CUDA, "a failed wait is reported");
    CHECK(c->cuda_stream == NULL && strstr(c->error, "simulated") != NULL, "and the old stream stays");
    /* CUDA memory belongs to one device: a reserve after the device changed
     * never returns the old block (set_cuda_device releases it first; the
     * reserve keeps that invariant on its own) */
    CHECK(c->scratch_device == c->cuda_device, "the arena records its device");
    void *q = NULL;
    CHECK_OK(dopt_scratch_reserve(c, 64, &q));
    CHECK(q == p, "same device: the block is reused");
    c->cuda_device += 1;
    CHECK_OK(dopt_scratch_reserve(c, 64, &q));
    CHECK(c->scratch_device == c->cuda_device, "reserved again on the new device");
    c->cuda_device -= 1;
    CHECK_OK(dopt_scratch_reserve(c, 64, &q));
    CHECK(c->scratch_device == c->cuda_device, "and back");
    /* the CPU's arena is not touched by streams */
    fake.kind = DOPT_BACKEND_CPU;
    fake.synchronize = counting_sync;
    sync_calls = 0;
    CHECK_OK(dopt_context_set_cuda_stream(c, &s2));
    CHECK(sync_calls == 0, "a CPU context never waits");
    c->ops = saved;
    dopt_context_destroy(c);
}

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    test_memory_round_trip();
    test_memory_errors();
    test_backend_choice();
    test_missing_entry();
    test_pool();
    test_scratch();
    test_scratch_plan();
    test_stream_switch();
    test_struct_sizes();
    test_fork_child_uses_context();
    return tu_finish("test_context");
}
