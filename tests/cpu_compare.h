/* For the CUDA variant of a test program: the same call on a CPU context, a
 * comparison under the documented CPU-vs-GPU bounds (docs/ARCHITECTURE.md,
 * "CPU vs GPU results"), a non-default CUDA stream, and a second device.
 * Include after test_util.h. The CUDA runtime is used directly only here,
 * and only when the library is built with CUDA. */
#ifndef DOPT_CPU_COMPARE_H
#define DOPT_CPU_COMPARE_H

#include "test_util.h"

#ifdef DOPT_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

static dopt_context *tc_cpu = NULL;

/* Runs STMT with tu_ctx switched to a CPU context: tu_dev and friends then
 * pass host memory through, so the test's staging helpers run unchanged. */
#define TC_ON_CPU(...)                                                                      \
    do {                                                                                    \
        if (!tc_cpu && dopt_context_create(&tc_cpu, DOPT_BACKEND_CPU) != DOPT_OK) {          \
            fprintf(stderr, "cannot create the CPU reference context\n");                   \
            exit(1);                                                                        \
        }                                                                                   \
        dopt_context *tc_save_ = tu_ctx;                                                    \
        tu_ctx = tc_cpu;                                                                    \
        __VA_ARGS__;                                                                        \
        tu_ctx = tc_save_;                                                                  \
    } while (0)

static void tc_release(void)
{
    dopt_context_destroy(tc_cpu);
    tc_cpu = NULL;
}

/* |gpu - cpu| <= tol (1 + |cpu|) for every element (NaN matches NaN, inf the
 * same inf); one CHECK with the worst element. */
static void tc_close(const char *what, const double *gpu, const double *cpu, size_t count, double tol)
{
    size_t bad = 0, worst_at = 0;
    double worst = 0;
    for (size_t e = 0; e < count; ++e) {
        double g = gpu[e], c = cpu[e];
        if ((isnan(g) && isnan(c)) || g == c) continue;
        double err = fabs(g - c) / (1 + fabs(c));
        if (!(err <= tol)) {
            ++bad;
            if (!(err <= worst)) worst = err, worst_at = e;
        }
    }
    CHECK(bad == 0, "%s: %zu of %zu values beyond %.0e of the CPU's (worst at %zu: gpu %.17g, cpu %.17g)", what,
          bad, count, tol, worst_at, count ? gpu[worst_at] : 0.0, count ? cpu[worst_at] : 0.0);
}

static void tc_same_i32(const char *what, const int32_t *gpu, const int32_t *cpu, size_t count)
{
    size_t bad = 0;
    for (size_t e = 0; e < count; ++e) bad += gpu[e] != cpu[e];
    CHECK(bad == 0, "%s: %zu of %zu differ from the CPU's", what, bad, count);
}

/* count doubles stored as the dtype (float32 when f32) in fresh host
 * memory (NULL for NULL), and back. */
static void *tc_to_dtype(const double *v, size_t count, int f32)
{
    if (!v) return NULL;
    void *h = malloc((f32 ? 4 : 8) * count + 8);
    for (size_t e = 0; e < count; ++e) {
        if (f32)
            ((float *)h)[e] = (float)v[e];
        else
            ((double *)h)[e] = v[e];
    }
    return h;
}

static void tc_from_dtype(double *out, const void *h, size_t count, int f32)
{
    for (size_t e = 0; e < count; ++e) out[e] = f32 ? ((const float *)h)[e] : ((const double *)h)[e];
}

/* Host doubles staged in the dtype on the context's backend for one call,
 * and the way back: tc_buf_done copies the result into out (when not NULL)
 * as doubles and releases both copies. */
typedef struct {
    void *host, *dev;
    size_t count;
    int f32;
} tc_buf;

static tc_buf tc_buf_in(const double *v, size_t count, int f32)
{
    tc_buf t = {tc_to_dtype(v, count, f32), NULL, count, f32};
    t.dev = tu_dev(t.host, (f32 ? 4 : 8) * count);
    return t;
}

static void tc_buf_done(tc_buf *t, double *out)
{
    tu_host(t->host, t->dev, (t->f32 ? 4 : 8) * t->count);
    if (out) tc_from_dtype(out, t->host, t->count, t->f32);
    tu_dev_free(t->host, t->dev);
    free(t->host);
}

/* A non-blocking CUDA stream (it does not synchronize with the legacy
 * default stream, so work left on the wrong stream shows up as a race), or
 * NULL when it cannot be made. */
static void *tc_stream_create(void)
{
#ifdef DOPT_HAVE_CUDA
    cudaStream_t s = NULL;
    if (cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) != cudaSuccess) return NULL;
    return (void *)s;
#else
    return NULL;
#endif
}

static void tc_stream_destroy(void *s)
{
#ifdef DOPT_HAVE_CUDA
    if (s) cudaStreamDestroy((cudaStream_t)s);
#else
    (void)s;
#endif
}

/* Makes device d current for the test's own allocations (tu_dev allocates
 * on the current device); 0 when that device does not exist. */
static int tc_use_device(int d)
{
#ifdef DOPT_HAVE_CUDA
    int count = 0;
    return cudaGetDeviceCount(&count) == cudaSuccess && d < count && cudaSetDevice(d) == cudaSuccess;
#else
    (void)d;
    return 0;
#endif
}

#endif
