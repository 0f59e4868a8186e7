/* A small assertion and fixture kit shared by every test program. Each test
 * takes the backend as argv[1] ("cpu" or "cuda"); without a CUDA device the
 * CUDA variant exits 77, which ctest reports as skipped. */
#ifndef DOPT_TEST_UTIL_H
#define DOPT_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dopt.h"

#define TEST_SKIP 77

static int tu_failures = 0, tu_checks = 0;

#define CHECK(cond, ...)                                                              \
    do {                                                                              \
        ++tu_checks;                                                                  \
        if (!(cond)) {                                                                \
            ++tu_failures;                                                            \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                             \
            fprintf(stderr, "\n");                                                    \
        }                                                                             \
    } while (0)

#define CHECK_OK(call)                                                                \
    do {                                                                              \
        dopt_status s_ = (call);                                                      \
        CHECK(s_ == DOPT_OK, "%s -> %s: %s", #call, dopt_status_string(s_),           \
              dopt_context_last_error(tu_ctx));                                       \
    } while (0)

static dopt_context *tu_ctx = NULL;

/* Creates the context for argv[1]; exits 77 when CUDA is asked for but absent. */
static void tu_init(int argc, char **argv)
{
    dopt_backend be = DOPT_BACKEND_CPU;
    if (argc > 1 && !strcmp(argv[1], "cuda")) be = DOPT_BACKEND_CUDA;
    dopt_status s = dopt_context_create(&tu_ctx, be);
    if (s == DOPT_ERR_UNSUPPORTED || s == DOPT_ERR_NO_DEVICE) {
        printf("skipped: %s\n", dopt_context_last_error(tu_ctx));
        dopt_context_destroy(tu_ctx);
        exit(TEST_SKIP);
    }
    if (s != DOPT_OK) {
        fprintf(stderr, "cannot create context: %s\n", dopt_context_last_error(tu_ctx));
        exit(1);
    }
}

static int tu_finish(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, tu_checks, tu_failures);
    dopt_context_destroy(tu_ctx);
    return tu_failures ? 1 : 0;
}

/* ---- memory on the context's backend ---- */
static int tu_cuda(void) { return dopt_context_backend(tu_ctx) == DOPT_BACKEND_CUDA; }

static void *tu_dev(const void *host, size_t bytes)
{
    if (!host) return NULL;
    if (!tu_cuda()) return (void *)host;
    void *d = NULL;
    if (dopt_memory_alloc(tu_ctx, bytes, &d) != DOPT_OK || dopt_memory_upload(tu_ctx, d, host, bytes) != DOPT_OK) {
        fprintf(stderr, "device upload failed: %s\n", dopt_context_last_error(tu_ctx));
        exit(1);
    }
    return d;
}

static void *tu_dev_out(void *host, size_t bytes)
{
    if (!host) return NULL;
    if (!tu_cuda()) return host;
    void *d = NULL;
    if (dopt_memory_alloc(tu_ctx, bytes, &d) != DOPT_OK) {
        fprintf(stderr, "device alloc failed: %s\n", dopt_context_last_error(tu_ctx));
        exit(1);
    }
    return d;
}

static void tu_host(void *host, const void *dev, size_t bytes)
{
    if (!host || !tu_cuda() || host == dev) return;
    if (dopt_memory_download(tu_ctx, host, dev, bytes) != DOPT_OK) {
        fprintf(stderr, "device download failed: %s\n", dopt_context_last_error(tu_ctx));
        exit(1);
    }
}

static void tu_dev_free(void *host, void *dev)
{
    if (tu_cuda() && dev && dev != host) dopt_memory_free(tu_ctx, dev);
}

/* ---- deterministic random numbers (splitmix64) ---- */
static uint64_t tu_state = 0x9E3779B97F4A7C15ull;
static void tu_seed(uint64_t s) { tu_state = s * 0x9E3779B97F4A7C15ull + 1; }
static uint64_t tu_next(void)
{
    uint64_t z = (tu_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double tu_unif(void) { return (double)(tu_next() >> 11) * (1.0 / 9007199254740992.0); }
static double tu_normal(void)
{
    double u = tu_unif(), v = tu_unif();
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

#endif
