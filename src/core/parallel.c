/* A fork-join loop over instances with dynamic chunking: instances of one
 * batch take very different iteration counts, so static splits idle cores. */
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

int dopt_worker_count(int threads, int64_t count, int64_t grain)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int w = threads > 0 ? threads : (cpus > 0 ? (int)cpus : 1);
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

typedef struct {
    loop_shared *shared;
    int worker;
} loop_worker;

static void *run_worker(void *p)
{
    loop_worker *lw = (loop_worker *)p;
    loop_shared *s = lw->shared;
    for (;;) {
        int64_t begin = atomic_fetch_add(&s->next, s->grain);
        if (begin >= s->count) break;
        int64_t end = begin + s->grain < s->count ? begin + s->grain : s->count;
        s->fn(s->arg, begin, end, lw->worker);
    }
    return NULL;
}

void dopt_parallel_for(int workers, int64_t count, int64_t grain, dopt_range_fn fn, void *arg)
{
    if (count <= 0) return;
    if (grain < 1) grain = 1;
    if (workers <= 1) {
        fn(arg, 0, count, 0);
        return;
    }
    loop_shared s;
    atomic_init(&s.next, 0);
    s.count = count;
    s.grain = grain;
    s.fn = fn;
    s.arg = arg;
    pthread_t *tid = (pthread_t *)malloc(sizeof(pthread_t) * (size_t)workers);
    loop_worker *lw = (loop_worker *)malloc(sizeof(loop_worker) * (size_t)workers);
    int started = 0;
    if (tid && lw) {
        for (int i = 1; i < workers; ++i) {
            lw[i].shared = &s;
            lw[i].worker = i;
            if (pthread_create(&tid[i], NULL, run_worker, &lw[i]) != 0) break;
            started = i;
        }
    }
    /* the caller is worker 0; if threads could not start, it does it all */
    loop_worker self = {&s, 0};
    run_worker(&self);
    for (int i = 1; i <= started; ++i) pthread_join(tid[i], NULL);
    free(tid);
    free(lw);
}
