#define _POSIX_C_SOURCE 200809L
/* Helpers shared by the subcommands: options, .npy in and out, timing. */
#include "cli.h"
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *cli_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "dopt: option %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int cli_parse_int(const char *s, const char *opt, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "dopt: %s expects an integer in [%lld, %lld], got '%s'\n", opt, lo, hi, s);
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
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "dopt: %s expects a number in [%g, %g], got '%s'\n", opt, lo, hi, s);
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
        fprintf(stderr, "dopt: --backend expects cpu, cuda or auto, got '%s'\n", s);
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

void *cli_to_real(const dopt_npy *a, dopt_dtype dtype, const char *name)
{
    if (a->kind == 'f' && a->itemsize != 4 && a->itemsize != 8) {
        fprintf(stderr, "dopt: %s.npy: only float32 and float64 floats are read\n", name);
        return NULL;
    }
    size_t es = dtype == DOPT_FLOAT64 ? 8 : 4;
    void *out = malloc(a->count * es + 1);
    if (!out) {
        fprintf(stderr, "dopt: out of memory converting %s\n", name);
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
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) return 1;
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

/* Moves a host buffer to where the backend computes. */
void *cli_stage(dopt_backend be, void *host, size_t bytes)
{
    if (be != DOPT_BACKEND_CUDA) return host;
    void *d = dopt_cuda_alloc(bytes ? bytes : 1);
    if (!d || dopt_cuda_upload(d, host, bytes)) {
        fprintf(stderr, "dopt: copying %zu bytes to the GPU failed\n", bytes);
        dopt_cuda_free(d);
        return NULL;
    }
    return d;
}

void *cli_alloc(dopt_backend be, size_t bytes)
{
    if (be == DOPT_BACKEND_CUDA) return dopt_cuda_alloc(bytes ? bytes : 1);
    return calloc(1, bytes ? bytes : 1);
}

int cli_fetch(dopt_backend be, void *host, const void *dev, size_t bytes)
{
    if (be != DOPT_BACKEND_CUDA) {
        if (host != dev) memcpy(host, dev, bytes);
        return 1;
    }
    if (dopt_cuda_download(host, dev, bytes)) {
        fprintf(stderr, "dopt: copying results from the GPU failed\n");
        return 0;
    }
    return 1;
}

void cli_release(dopt_backend be, void *p)
{
    if (be == DOPT_BACKEND_CUDA) dopt_cuda_free(p);
    else free(p);
}


/* A STREAM-like triad a = b + 3 c over 3 x 256 MiB, split over the same
 * workers the library uses: the machine's memory bandwidth in GB/s. */
typedef struct {
    double *a, *b, *c;
} triad_arrays;

static void triad_range(void *p, int64_t i0, int64_t i1, int worker)
{
    (void)worker;
    triad_arrays *t = (triad_arrays *)p;
    for (int64_t i = i0; i < i1; ++i) t->a[i] = t->b[i] + 3.0 * t->c[i];
}

double cli_triad_gbs(int threads)
{
    size_t len = (size_t)1 << 25;
    triad_arrays t = {malloc(8 * len), malloc(8 * len), malloc(8 * len)};
    double best = 1e300;
    if (t.a && t.b && t.c) {
        for (size_t i = 0; i < len; ++i) t.a[i] = 0, t.b[i] = 1, t.c[i] = 2;
        int workers = dopt_worker_count(threads, (int64_t)len, 1 << 20);
        for (int r = 0; r < 5; ++r) {
            double t0 = cli_now();
            dopt_parallel_for(workers, (int64_t)len, 1 << 20, triad_range, &t);
            double dt = cli_now() - t0;
            best = dt < best ? dt : best;
        }
    }
    free(t.a), free(t.b), free(t.c);
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
