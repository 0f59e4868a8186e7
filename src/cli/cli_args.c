#define _POSIX_C_SOURCE 200809L
/* Helpers shared by the subcommands: options, .npy in and out, timing. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *cli_value(int argc, char **argv, int *i)
{
    const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!next) {
        fprintf(stderr, "dopt: %s needs a value\n", argv[*i]);
        return NULL;
    }
    /* `--out --quiet`: the value was forgotten; an option is never a value
     * (a file whose name starts with -- can be given as ./--name) */
    if (next[0] == '-' && next[1] == '-' && next[2]) {
        fprintf(stderr, "dopt: %s needs a value, got the option '%s'\n", argv[*i], next);
        return NULL;
    }
    return argv[++*i];
}

/* The accepted range in words: "in [0, 4096]", ">= 0", "> 0", "in (0, 1]".
 * Bounds at the edge of the type (or of what any option could mean) are
 * left unsaid. */
static void describe_int_range(long long lo, long long hi, char *out, size_t len)
{
    if (hi >= 1LL << 40) snprintf(out, len, ">= %lld", lo);
    else snprintf(out, len, "in [%lld, %lld]", lo, hi);
}

static void describe_real_range(double lo, double hi, char *out, size_t len)
{
    int positive = lo > 0 && lo <= 1e-300; /* lo = tiny: any positive number */
    if (hi >= 1e300) {
        if (positive) snprintf(out, len, "> 0");
        else snprintf(out, len, ">= %g", lo);
    } else {
        if (positive) snprintf(out, len, "in (0, %g]", hi);
        else snprintf(out, len, "in [%g, %g]", lo, hi);
    }
}

int cli_parse_int(const char *s, const char *opt, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || isspace((unsigned char)*s) || v < lo || v > hi) {
        char range[96];
        describe_int_range(lo, hi, range, sizeof range);
        fprintf(stderr, "dopt: %s: expected an integer %s, got '%s'\n", opt, range, s);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_parse_double(const char *s, const char *opt, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* ERANGE on underflow (1e-400) is a tiny number, not an error; overflow
     * gives +-HUGE_VAL, outside every range */
    if ((errno && errno != ERANGE) || end == s || *end || isspace((unsigned char)*s) || !(v >= lo && v <= hi)) {
        char range[96];
        describe_real_range(lo, hi, range, sizeof range);
        fprintf(stderr, "dopt: %s: expected a number %s, got '%s'\n", opt, range, s);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_parse_backend(const char *s, dopt_backend *out)
{
    if (!strcmp(s, "cpu")) *out = DOPT_BACKEND_CPU;
    else if (!strcmp(s, "cuda")) *out = DOPT_BACKEND_CUDA;
    else if (!strcmp(s, "auto")) *out = DOPT_BACKEND_AUTO;
    else {
        fprintf(stderr, "dopt: --backend: expected cpu, cuda or auto, got '%s'\n", s);
        return 0;
    }
    return 1;
}

/* one .npy call on a fresh host context; its message printed on failure */
static int npy_call(const char *path, dopt_npy *in, char kind, int itemsize, int ndim, const int64_t *shape,
                    const void *data)
{
    dopt_context *ctx = NULL;
    dopt_status st = dopt_context_create(&ctx, DOPT_BACKEND_CPU);
    if (st == DOPT_OK)
        st = in ? dopt_npy_read(ctx, path, in) : dopt_npy_write(ctx, path, kind, itemsize, ndim, shape, data);
    if (st != DOPT_OK)
        fprintf(stderr, "dopt: %s\n", ctx && *dopt_context_last_error(ctx) ? dopt_context_last_error(ctx) : path);
    dopt_context_destroy(ctx);
    return st == DOPT_OK;
}

int cli_npy_read(const char *path, dopt_npy *out) { return npy_call(path, out, 0, 0, 0, NULL, NULL); }

int cli_npy_write(const char *path, char kind, int itemsize, int ndim, const int64_t *shape, const void *data)
{
    return npy_call(path, NULL, kind, itemsize, ndim, shape, data);
}

int cli_load(const char *dir, const char *name, int required, dopt_npy *out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    memset(out, 0, sizeof *out);
    if (access(path, F_OK) != 0 && errno == ENOENT) { /* absent: fine for an optional input */
        if (!required) return 0;
        fprintf(stderr, "dopt: %s: no such file (required input)\n", path);
        return -1;
    }
    return cli_npy_read(path, out) ? 1 : -1;
}

double cli_npy_value(const dopt_npy *a, size_t i)
{
    const unsigned char *p = (const unsigned char *)a->data + i * (size_t)a->itemsize;
    if (a->kind == 'f') return a->itemsize == 8 ? *(const double *)p : *(const float *)p;
    if (a->kind == 'b' || a->kind == 'u') {
        uint64_t u = 0;
        for (int k = 0; k < a->itemsize; ++k) u |= (uint64_t)p[k] << (8 * k);
        return (double)u;
    }
    switch (a->itemsize) { /* signed integers */
    case 1: return *(const int8_t *)p;
    case 2: return *(const int16_t *)p;
    case 4: return *(const int32_t *)p;
    default: return (double)*(const int64_t *)p;
    }
}

/* how cli_to_real names its input: a path as given, a stem as STEM.npy */
static const char *npy_suffix(const char *name)
{
    size_t len = strlen(name);
    return len >= 4 && !strcmp(name + len - 4, ".npy") ? "" : ".npy";
}

void *cli_to_real(const dopt_npy *a, dopt_dtype dtype, const char *name)
{
    if (a->kind == 'f' && a->itemsize != 4 && a->itemsize != 8) {
        fprintf(stderr, "dopt: %s%s: only float32 and float64 floats are read\n", name, npy_suffix(name));
        return NULL;
    }
    size_t es = dtype == DOPT_FLOAT64 ? 8 : 4;
    void *out = malloc(a->count * es + 1);
    if (!out) {
        fprintf(stderr, "dopt: out of memory converting %s%s\n", name, npy_suffix(name));
        return NULL;
    }
    for (size_t i = 0; i < a->count; ++i) {
        double v = cli_npy_value(a, i);
        if (dtype == DOPT_FLOAT64) ((double *)out)[i] = v;
        else ((float *)out)[i] = (float)v;
    }
    return out;
}

int cli_make_dir(const char *dir)
{
    if (mkdir(dir, 0777) == 0) return 1;
    if (errno == EEXIST) { /* fine when it is a directory; a file there fails now, not at the first write */
        struct stat sb;
        if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) return 1;
        fprintf(stderr, "dopt: cannot create %s: it exists and is not a directory\n", dir);
        return 0;
    }
    fprintf(stderr, "dopt: cannot create %s: %s\n", dir, strerror(errno));
    return 0;
}

int cli_write(const char *dir, const char *name, dopt_dtype dtype, int ndim, const int64_t *shape, const void *data)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    return cli_npy_write(path, 'f', dtype == DOPT_FLOAT64 ? 8 : 4, ndim, shape, data);
}

int cli_write_i32(const char *dir, const char *name, int64_t len, const int32_t *data)
{
    return cli_write_int(dir, name, 4, len, data);
}

int cli_write_int(const char *dir, const char *name, int itemsize, int64_t len, const void *data)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    return cli_npy_write(path, 'i', itemsize, 1, &len, data);
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Host memory is backend memory on the CPU: stage in place there. */
static int stages_in_place(dopt_context *ctx) { return dopt_context_backend(ctx) == DOPT_BACKEND_CPU; }

void *cli_stage(dopt_context *ctx, void *host, size_t bytes)
{
    if (stages_in_place(ctx)) return host;
    void *d = NULL;
    if (dopt_memory_alloc(ctx, bytes, &d) != DOPT_OK || dopt_memory_upload(ctx, d, host, bytes) != DOPT_OK) {
        fprintf(stderr, "dopt: copying %zu bytes to the device failed: %s\n", bytes, dopt_context_last_error(ctx));
        dopt_memory_free(ctx, d);
        return NULL;
    }
    return d;
}

void cli_unstage(dopt_context *ctx, const void *host, void *staged)
{
    if (staged && staged != host) dopt_memory_free(ctx, staged);
}

void *cli_alloc(dopt_context *ctx, size_t bytes)
{
    void *d = NULL;
    if (dopt_memory_alloc(ctx, bytes, &d) != DOPT_OK || dopt_memory_set_zero(ctx, d, bytes) != DOPT_OK) {
        fprintf(stderr, "dopt: %s\n", dopt_context_last_error(ctx));
        dopt_memory_free(ctx, d);
        return NULL;
    }
    return d;
}

int cli_fetch(dopt_context *ctx, void *host, const void *dev, size_t bytes)
{
    if (dopt_memory_download(ctx, host, dev, bytes) != DOPT_OK) {
        fprintf(stderr, "dopt: copying results to the host failed: %s\n", dopt_context_last_error(ctx));
        return 0;
    }
    return 1;
}

void cli_release(dopt_context *ctx, void *p)
{
    if (p) dopt_memory_free(ctx, p);
}


/* A STREAM-like triad a = b + 3 c over 3 x 256 MiB, one contiguous slice
 * per thread (as many threads as a context with this setting uses): the
 * machine's memory bandwidth in GB/s. */
typedef struct {
    double *a, *b, *c;
    size_t begin, end;
} triad_slice;

static void *triad_run(void *p)
{
    triad_slice *t = (triad_slice *)p;
    for (size_t i = t->begin; i < t->end; ++i) t->a[i] = t->b[i] + 3.0 * t->c[i];
    return NULL;
}

/* One pass over the arrays on `workers` threads (the caller is one); fewer
 * when threads cannot start. */
static void triad_pass(double *a, double *b, double *c, size_t len, int workers)
{
    enum { MAX_WORKERS = 1024 };
    pthread_t tid[MAX_WORKERS];
    triad_slice slice[MAX_WORKERS];
    if (workers > MAX_WORKERS) workers = MAX_WORKERS;
    int started = 0;
    for (int w = 0; w < workers; ++w) {
        slice[w] = (triad_slice){a, b, c, len * (size_t)w / (size_t)workers, len * (size_t)(w + 1) / (size_t)workers};
    }
    for (int w = 1; w < workers; ++w) {
        if (pthread_create(&tid[w], NULL, triad_run, &slice[w]) != 0) break;
        started = w;
    }
    triad_run(&slice[0]);
    for (int w = started + 1; w < workers; ++w) triad_run(&slice[w]); /* those that did not start */
    for (int w = 1; w <= started; ++w) pthread_join(tid[w], NULL);
}

double cli_triad_gbs(int threads)
{
    size_t len = (size_t)1 << 25;
    double *a = malloc(8 * len), *b = malloc(8 * len), *c = malloc(8 * len);
    double best = 1e300;
    dopt_context *ctx = NULL;
    if (a && b && c && dopt_context_create(&ctx, DOPT_BACKEND_CPU) == DOPT_OK &&
        dopt_context_set_threads(ctx, threads > 0 ? threads : 0) == DOPT_OK) {
        int workers = dopt_context_threads(ctx);
        for (size_t i = 0; i < len; ++i) a[i] = 0, b[i] = 1, c[i] = 2;
        for (int r = 0; r < 5; ++r) {
            double t0 = cli_now();
            triad_pass(a, b, c, len, workers);
            double dt = cli_now() - t0;
            best = dt < best ? dt : best;
        }
    }
    dopt_context_destroy(ctx);
    free(a), free(b), free(c);
    return best < 1e300 ? 24.0 * (double)len / best * 1e-9 : 0;
}

void cli_adam_step(cli_adam *a, double *x, const double *g, double lr)
{
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    a->t += 1;
    double c1 = 1 - pow(b1, a->t), c2 = 1 - pow(b2, a->t);
    for (size_t i = 0; i < a->len; ++i) {
        a->m1[i] = b1 * a->m1[i] + (1 - b1) * g[i];
        a->m2[i] = b2 * a->m2[i] + (1 - b2) * g[i] * g[i];
        x[i] -= lr * (a->m1[i] / c1) / (sqrt(a->m2[i] / c2) + eps);
    }
}
