/* Asynchronous jobs: one host thread per context runs the submitted calls
 * in submission order. The thread is the context's only user while a job
 * runs (dopt_context_busy refuses the caller's other calls), so the calls
 * themselves need no locks: the queue, the pending count and the done flags
 * are the only shared state, behind one mutex per context. */
#include "internal.h"
#include "backend.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

struct dopt_job_runner {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* the thread: a job was queued, or stop */
    pthread_cond_t done; /* waiters: a job finished */
    pthread_t thread;
    int stop;
    dopt_job *head, *tail; /* queued, not started */
    atomic_int pending;    /* submitted, not done (read without the lock by the busy check) */
    pid_t owner;           /* the process whose thread this is (fork) */
    dopt_context *ctx;
};

struct dopt_job {
    struct dopt_job_runner *runner; /* touched only while the job is not done */
    pid_t owner;
    dopt_job_fn fn;
    atomic_int done;
    dopt_status status;
    char error[1024];
    dopt_job *next;
    alignas(max_align_t) unsigned char args[]; /* the call's arguments, copied at submit */
};

/* The context whose job the calling thread is running, if any: its calls on
 * that context are the job's own, not a misuse. */
static _Thread_local const dopt_context *running_job_of;

/* A runner copied into a fork()ed child has no thread there, and its mutex
 * may have been held by a thread that does not exist in the child: it must
 * not be touched. The child abandons it (its memory leaked, as the worker
 * pool's is) and starts its own at the next submit. */
static int foreign(const struct dopt_job_runner *r) { return r->owner != getpid(); }

static void drop_foreign_runner(dopt_context *ctx)
{
    if (ctx->jobs && foreign(ctx->jobs)) ctx->jobs = NULL;
}

int dopt_context_busy(const dopt_context *ctx)
{
    const struct dopt_job_runner *r = ctx ? ctx->jobs : NULL;
    if (!r || foreign(r) || running_job_of == ctx) return 0;
    return atomic_load_explicit(&((struct dopt_job_runner *)r)->pending, memory_order_acquire) > 0;
}

static void run_one(struct dopt_job_runner *r, dopt_job *job)
{
    dopt_context *ctx = r->ctx;
    running_job_of = ctx;
    dopt_status st = job->fn(ctx, job->args);
    memcpy(job->error, ctx->error, sizeof job->error);
    /* CUDA: the call may return with work queued on the stream; a done job
     * has its outputs written. (A failed call's queued work is waited for
     * too: the next job reuses the arena it may use.) */
    if (ctx->ops->kind == DOPT_BACKEND_CUDA && ctx->ops->synchronize) {
        dopt_status sync = ctx->ops->synchronize(ctx);
        if (st == DOPT_OK && sync != DOPT_OK) {
            st = sync;
            memcpy(job->error, ctx->error, sizeof job->error);
        }
    }
    running_job_of = NULL;
    job->status = st;
}

static void *runner_main(void *arg)
{
    struct dopt_job_runner *r = (struct dopt_job_runner *)arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->stop && !r->head) pthread_cond_wait(&r->wake, &r->mu);
        if (!r->head) break; /* stop, and nothing queued */
        dopt_job *job = r->head;
        r->head = job->next;
        if (!r->head) r->tail = NULL;
        pthread_mutex_unlock(&r->mu);
        run_one(r, job);
        pthread_mutex_lock(&r->mu);
        /* the context first (a caller who sees the job done may use it at
         * once), then the job: the last touch, its owner may free it now */
        atomic_fetch_sub_explicit(&r->pending, 1, memory_order_release);
        atomic_store_explicit(&job->done, 1, memory_order_release);
        pthread_cond_broadcast(&r->done);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static pthread_mutex_t runner_start_lock = PTHREAD_MUTEX_INITIALIZER;

static dopt_status start_runner(dopt_context *ctx)
{
    struct dopt_job_runner *r = (struct dopt_job_runner *)calloc(1, sizeof *r);
    if (!r) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "submit: out of memory for the context's job thread");
    if (pthread_mutex_init(&r->mu, NULL) != 0) {
        free(r);
        return dopt_fail(ctx, DOPT_ERR_INTERNAL, "submit: cannot create a mutex for the job thread");
    }
    pthread_cond_init(&r->wake, NULL);
    pthread_cond_init(&r->done, NULL);
    atomic_init(&r->pending, 0);
    r->owner = getpid();
    r->ctx = ctx;
    if (pthread_create(&r->thread, NULL, runner_main, r) != 0) {
        pthread_cond_destroy(&r->wake);
        pthread_cond_destroy(&r->done);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return dopt_fail(ctx, DOPT_ERR_INTERNAL, "submit: cannot start the context's job thread");
    }
    ctx->jobs = r;
    dopt_log(ctx, DOPT_LOG_INFO, "jobs: started the context's job thread");
    return DOPT_OK;
}

dopt_status dopt_job_submit(dopt_context *ctx, dopt_job_fn fn, const void *args, size_t args_bytes, dopt_job **out)
{
    *out = NULL;
    if (running_job_of == ctx) /* from inside a job of ctx (a log callback): it would run after itself */
        return DOPT_ERR_INVALID_ARGUMENT;
    drop_foreign_runner(ctx);
    /* ctx->error is the running job's while one is pending: failures below
     * write it only when the context is idle */
    int busy = dopt_context_busy(ctx);
    if (!busy) ctx->error[0] = 0;
    if (!ctx->jobs) { /* no runner: not busy */
        /* one start even if a caller breaks the one-thread-per-context rule
         * (dopt_async.h) with concurrent first submits: two runners on one
         * context would run jobs at once over its arena */
        pthread_mutex_lock(&runner_start_lock);
        dopt_status st = ctx->jobs ? DOPT_OK : start_runner(ctx);
        pthread_mutex_unlock(&runner_start_lock);
        DOPT_TRY(st);
    }
    dopt_job *job = (dopt_job *)malloc(sizeof *job + args_bytes);
    if (!job)
        return busy ? DOPT_ERR_OUT_OF_MEMORY
                    : dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "submit: out of memory for the job");
    memset(job, 0, sizeof *job);
    job->runner = ctx->jobs;
    job->owner = getpid();
    job->fn = fn;
    atomic_init(&job->done, 0);
    if (args_bytes) memcpy(job->args, args, args_bytes);
    struct dopt_job_runner *r = ctx->jobs;
    pthread_mutex_lock(&r->mu);
    if (r->tail)
        r->tail->next = job;
    else
        r->head = job;
    r->tail = job;
    atomic_fetch_add_explicit(&r->pending, 1, memory_order_acq_rel);
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->mu);
    *out = job;
    return DOPT_OK;
}

int dopt_job_test(const dopt_job *job)
{
    if (!job) return -1;
    return atomic_load_explicit(&((dopt_job *)job)->done, memory_order_acquire) ? 1 : 0;
}

dopt_status dopt_job_wait(dopt_job *job)
{
    if (!job) return DOPT_ERR_INVALID_ARGUMENT;
    /* done: the runner (and its context) may be gone; only the job is read */
    if (atomic_load_explicit(&job->done, memory_order_acquire)) return job->status;
    if (job->owner != getpid()) return DOPT_ERR_INVALID_ARGUMENT; /* its thread is in the parent */
    struct dopt_job_runner *r = job->runner;
    if (running_job_of == r->ctx) return DOPT_ERR_INVALID_ARGUMENT; /* a job waiting on its own queue */
    pthread_mutex_lock(&r->mu);
    while (!atomic_load_explicit(&job->done, memory_order_acquire)) pthread_cond_wait(&r->done, &r->mu);
    pthread_mutex_unlock(&r->mu);
    return job->status;
}

const char *dopt_job_last_error(const dopt_job *job)
{
    if (!job) return "no job";
    return atomic_load_explicit(&((dopt_job *)job)->done, memory_order_acquire) ? job->error : "";
}

void dopt_job_destroy(dopt_job *job)
{
    if (!job) return;
    /* a job of a parent process is never done here: nothing runs it */
    if (job->owner == getpid()) dopt_job_wait(job);
    free(job);
}

void dopt_jobs_release(dopt_context *ctx)
{
    drop_foreign_runner(ctx);
    struct dopt_job_runner *r = ctx->jobs;
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    while (atomic_load_explicit(&r->pending, memory_order_acquire) > 0) pthread_cond_wait(&r->done, &r->mu);
    r->stop = 1;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->wake);
    pthread_cond_destroy(&r->done);
    pthread_mutex_destroy(&r->mu);
    free(r);
    ctx->jobs = NULL;
}
