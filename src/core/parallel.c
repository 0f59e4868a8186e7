/* A fork-join loop over instances with dynamic chunking: instances of one
 * batch take very different iteration counts, so static splits idle cores.
 * The workers are a pool owned by the context, started once: a call costs a
 * wake-up, not a thread creation per worker. */
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

/* Online processors, asked once: sysconf reads /sys on every call (several
 * microseconds, a measurable share of a B = 1 QP solve), and every layer
 * call asks for its worker count. */
static int online_processors(void)
{
    static atomic_int cached;
    int cpus = atomic_load_explicit(&cached, memory_order_relaxed);
    if (cpus > 0) return cpus;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cpus = n > 0 ? (n < 65536 ? (int)n : 65536) : 1;
    atomic_store_explicit(&cached, cpus, memory_order_relaxed);
    return cpus;
}

int dopt_worker_count(int threads, int64_t count, int64_t grain)
{
    int w = threads > 0 ? threads : online_processors();
    if (grain < 1) grain = 1;
    int64_t chunks = count / grain + (count % grain != 0);
    if (chunks < w) w = chunks > 0 ? (int)chunks : 1;
    return w;
}

typedef struct {
    atomic_llong next;
    int64_t count, grain;
    dopt_range_fn fn;
    void *arg;
} loop_shared;

static void run_chunks(loop_shared *s, int worker)
{
    for (;;) {
        int64_t begin = atomic_fetch_add(&s->next, s->grain);
        if (begin >= s->count) break;
        int64_t end = begin + s->grain < s->count ? begin + s->grain : s->count;
        s->fn(s->arg, begin, end, worker);
    }
}

/* ---- threads of one call (no context, or a loop inside a loop) ---- */
typedef struct {
    loop_shared *shared;
    int worker;
} loop_worker;

static void *run_worker(void *p)
{
    loop_worker *lw = (loop_worker *)p;
    run_chunks(lw->shared, lw->worker);
    return NULL;
}

static void parallel_for_once(int workers, loop_shared *s)
{
    pthread_t *tid = (pthread_t *)malloc(sizeof(pthread_t) * (size_t)workers);
    loop_worker *lw = (loop_worker *)malloc(sizeof(loop_worker) * (size_t)workers);
    int started = 0;
    if (tid && lw) {
        for (int i = 1; i < workers; ++i) {
            lw[i].shared = s;
            lw[i].worker = i;
            if (pthread_create(&tid[i], NULL, run_worker, &lw[i]) != 0) break;
            started = i;
        }
    }
    /* the caller is worker 0; if threads could not start, it does it all */
    run_chunks(s, 0);
    for (int i = 1; i <= started; ++i) pthread_join(tid[i], NULL);
    free(tid);
    free(lw);
}

/* ---- the context's pool ----
 * Helper thread i is worker i (1 <= i < size). A loop publishes its job and
 * bumps `generation`; helpers with an index below the loop's worker count
 * run chunks and report back; the others go back to sleep. */
struct dopt_pool {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    int size;    /* workers including the caller */
    int started; /* helpers running: 1..started */
    pthread_t *tid;
    unsigned long long generation;
    int workers;   /* of the current loop */
    int remaining; /* helpers of the current loop still running */
    int stop;
    atomic_int busy; /* a loop is running: a nested call must not wait on the pool */
    loop_shared *job;
    pid_t owner; /* the process whose threads these are */
};

typedef struct {
    struct dopt_pool *pool;
    int worker;
} pool_arg;

static void *pool_main(void *p)
{
    pool_arg a = *(pool_arg *)p;
    free(p);
    struct dopt_pool *pool = a.pool;
    unsigned long long seen = 0;
    pthread_mutex_lock(&pool->mu);
    for (;;) {
        while (!pool->stop && pool->generation == seen) pthread_cond_wait(&pool->wake, &pool->mu);
        if (pool->stop) break;
        seen = pool->generation;
        if (a.worker >= pool->workers) continue;
        loop_shared *job = pool->job;
        pthread_mutex_unlock(&pool->mu);
        run_chunks(job, a.worker);
        pthread_mutex_lock(&pool->mu);
        if (--pool->remaining == 0) pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

static void pool_destroy(struct dopt_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    pool->stop = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 1; i <= pool->started; ++i) pthread_join(pool->tid[i], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    pthread_mutex_destroy(&pool->mu);
    free(pool->tid);
    free(pool);
}

static struct dopt_pool *pool_create(dopt_context *ctx, int size)
{
    struct dopt_pool *pool = (struct dopt_pool *)calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->tid = (pthread_t *)calloc((size_t)size, sizeof(pthread_t));
    if (!pool->tid || pthread_mutex_init(&pool->mu, NULL) != 0) {
        free(pool->tid);
        free(pool);
        return NULL;
    }
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    atomic_init(&pool->busy, 0);
    pool->owner = getpid();
    for (int i = 1; i < size; ++i) {
        pool_arg *a = (pool_arg *)malloc(sizeof *a);
        if (!a) break;
        a->pool = pool;
        a->worker = i;
        if (pthread_create(&pool->tid[i], NULL, pool_main, a) != 0) {
            free(a);
            break;
        }
        pool->started = i;
    }
    /* fewer threads than asked: the loop runs on those that started */
    pool->size = pool->started + 1;
    if (pool->size < size)
        dopt_log(ctx, DOPT_LOG_WARN, "threads: only %d of %d CPU workers could start", pool->size, size);
    else
        dopt_log(ctx, DOPT_LOG_INFO, "threads: pool of %d CPU workers", pool->size);
    return pool;
}

/* After fork() the child has a copy of the pool but none of its threads
 * (and its mutex may be held by a thread that no longer exists): waking or
 * joining them would hang forever. A pool from another process is abandoned
 * (its memory leaked: nothing of it can be touched safely) and the child
 * starts its own. Forking a process (Python's DataLoader workers, a
 * multiprocessing pool) with a context in use is common enough to handle. */
static void drop_foreign_pool(dopt_context *ctx)
{
    if (ctx->pool && ctx->pool->owner != getpid()) {
        dopt_log(ctx, DOPT_LOG_INFO, "threads: the CPU worker pool belongs to the parent process (fork): starting a new one");
        ctx->pool = NULL;
    }
}

void dopt_pool_release(dopt_context *ctx)
{
    if (!ctx || !ctx->pool) return;
    drop_foreign_pool(ctx);
    if (!ctx->pool) return;
    pool_destroy(ctx->pool);
    ctx->pool = NULL;
}

void dopt_parallel_for(dopt_context *ctx, int workers, int64_t count, int64_t grain, dopt_range_fn fn, void *arg)
{
    if (count <= 0) return;
    if (grain < 1) grain = 1;
    loop_shared s;
    atomic_init(&s.next, 0);
    s.count = count;
    s.grain = grain;
    s.fn = fn;
    s.arg = arg;
    int size = ctx ? dopt_context_threads(ctx) : workers; /* never more than the context allows */
    if (workers > size) workers = size;
    if (workers <= 1) {
        run_chunks(&s, 0);
        return;
    }
    if (ctx) drop_foreign_pool(ctx);
    if (ctx && !ctx->pool) ctx->pool = pool_create(ctx, size);
    struct dopt_pool *pool = ctx ? ctx->pool : NULL;
    if (!pool || atomic_exchange(&pool->busy, 1)) {
        parallel_for_once(workers, &s);
        return;
    }
    if (workers > pool->size) workers = pool->size; /* some threads did not start */
    pthread_mutex_lock(&pool->mu);
    pool->job = &s;
    pool->workers = workers;
    pool->remaining = workers - 1;
    ++pool->generation;
    if (workers > 1) pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    run_chunks(&s, 0);
    pthread_mutex_lock(&pool->mu);
    while (pool->remaining > 0) pthread_cond_wait(&pool->done, &pool->mu);
    pthread_mutex_unlock(&pool->mu);
    atomic_store(&pool->busy, 0);
}
