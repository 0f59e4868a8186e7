/* The context and what it owns: backend choice and its messages, the public
 * memory helpers, the backend table's UNSUPPORTED rule, the thread pool,
 * the scratch arena and the log callback. Host-only: it checks what a
 * machine without a usable GPU must see. */
#include "test_util.h"

#include <pthread.h>

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

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    test_memory_round_trip();
    test_memory_errors();
    test_backend_choice();
    test_missing_entry();
    test_pool();
    test_scratch();
    return tu_finish("test_context");
}
