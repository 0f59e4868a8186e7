/* Input rules shared by the layer commands (qp solve, bern, ilp solve,
 * diffuse sample), header-only so that each command file includes it:
 *  - arrays are float32/float64, or integers (int8..int64, uint8..uint64)
 *    converted exactly to float64 with a note on stderr (unless --quiet);
 *    an integer beyond 2^53 (not exact in float64), bool and float16 are
 *    rejected with a message naming the file;
 *  - every message names the file as the user gave it (DIR/NAME.npy or the
 *    path of an option such as --dy);
 *  - a run's memory is estimated before anything large is allocated and a
 *    run that cannot fit is refused with the estimate;
 *  - long loops report progress on stderr (unless --quiet). */
#ifndef DOPT_CLI_LAYER_INPUT_H
#define DOPT_CLI_LAYER_INPUT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* "DIR/NAME.npy" into buf. */
static inline const char *cli_layer_path(char *buf, size_t size, const char *dir, const char *name)
{
    snprintf(buf, size, "%s/%s.npy", dir, name);
    return buf;
}

static inline const char *cli_layer_dtype_name(const dopt_npy *a)
{
    static const char *ints[4] = {"int8", "int16", "int32", "int64"}, *uints[4] = {"uint8", "uint16", "uint32", "uint64"};
    int lg = a->itemsize == 1 ? 0 : a->itemsize == 2 ? 1 : a->itemsize == 4 ? 2 : 3;
    if (a->kind == 'f') return a->itemsize == 2 ? "float16" : a->itemsize == 4 ? "float32" : "float64";
    if (a->kind == 'b') return "bool";
    return a->kind == 'u' ? uints[lg] : ints[lg];
}

/* 1 when the array's dtype is accepted (see the top of this file), else 0
 * with a message naming `path`. Integers: each entry must be exact in
 * float64 (|v| <= 2^53). */
static inline int cli_layer_dtype_ok(const dopt_npy *a, const char *path)
{
    if (a->kind == 'f' && (a->itemsize == 4 || a->itemsize == 8)) return 1;
    if (a->kind == 'b' || a->kind == 'f' || (a->kind != 'i' && a->kind != 'u')) {
        fprintf(stderr, "dopt: %s: dtype %s is not accepted (float32, float64 or an integer type)\n", path,
                cli_layer_dtype_name(a));
        return 0;
    }
    if (a->itemsize == 8) {
        const unsigned char *p = (const unsigned char *)a->data;
        const uint64_t limit = (uint64_t)1 << 53;
        for (size_t i = 0; i < a->count; ++i) {
            uint64_t u;
            memcpy(&u, p + 8 * i, 8);
            uint64_t mag = a->kind == 'u' ? u : ((int64_t)u < 0 ? (uint64_t)0 - u : u);
            if (mag > limit) {
                fprintf(stderr, "dopt: %s: entry %zu (%s) is beyond 2^53 and not exact in float64\n", path, i,
                        cli_layer_dtype_name(a));
                return 0;
            }
        }
    }
    return 1;
}

/* The array converted to dtype (a new buffer), after cli_layer_dtype_ok;
 * integer input gets a note unless quiet. NULL on failure (reported). */
static inline void *cli_layer_real(const dopt_npy *a, const char *path, dopt_dtype dtype, int quiet)
{
    if (!cli_layer_dtype_ok(a, path)) return NULL;
    if (a->kind != 'f' && !quiet)
        fprintf(stderr, "dopt: note: %s is %s; converted to %s\n", path, cli_layer_dtype_name(a),
                dtype == DOPT_FLOAT64 ? "float64" : "float32");
    size_t es = dtype == DOPT_FLOAT64 ? 8 : 4;
    void *out = malloc(a->count * es + 1);
    if (!out) {
        fprintf(stderr, "dopt: %s: out of memory converting it\n", path);
        return NULL;
    }
    for (size_t i = 0; i < a->count; ++i) {
        double v = cli_npy_value(a, i);
        if (dtype == DOPT_FLOAT64)
            ((double *)out)[i] = v;
        else
            ((float *)out)[i] = (float)v;
    }
    return out;
}

/* The dtype a layer computes in: float32 only when every array is float32
 * (integers are converted to float64 exactly). */
static inline int cli_layer_needs_f64(const dopt_npy *a) { return !(a->kind == 'f' && a->itemsize == 4); }

/* Physical memory in bytes (0 when unknown). */
static inline double cli_layer_ram_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (double)pages * (double)page : 0;
}

/* Refuses a run whose estimated memory (bytes, in double to survive
 * overflow) exceeds 80% of the physical memory: 1 fits, 0 refused with a
 * message naming `what` and the option that sets the size. */
static inline int cli_layer_memory_ok(double bytes, const char *what, const char *option)
{
    double ram = cli_layer_ram_bytes();
    if (ram <= 0 || bytes <= 0.8 * ram) return 1;
    fprintf(stderr,
            "dopt: %s needs about %.3g GB of memory but this machine has %.3g GB; reduce %s\n", what,
            bytes / 1e9, ram / 1e9, option);
    return 0;
}

/* Progress on stderr, every `interval` seconds once a run has taken that
 * long (default 2 s, DOPT_PROGRESS_INTERVAL overrides it): quick runs print
 * nothing. */
typedef struct {
    double start, last, interval;
    int quiet;
    const char *what;
} cli_layer_progress;

static inline cli_layer_progress cli_layer_progress_start(const char *what, int quiet)
{
    cli_layer_progress p;
    p.start = p.last = cli_now();
    p.quiet = quiet;
    p.what = what;
    p.interval = 2;
    const char *env = getenv("DOPT_PROGRESS_INTERVAL");
    if (env && *env) {
        char *end;
        double v = strtod(env, &end);
        if (*end == 0 && v >= 0 && v < 1e9) p.interval = v;
    }
    return p;
}

static inline void cli_layer_progress_tick(cli_layer_progress *p, long long done, long long total)
{
    if (p->quiet) return;
    double now = cli_now();
    if (now - p->start < p->interval || now - p->last < p->interval) return;
    p->last = now;
    double eta = done > 0 ? (now - p->start) * (double)(total - done) / (double)done : 0;
    fprintf(stderr, "dopt: %s: %lld / %lld (%.0f%%), %.0f s elapsed, about %.0f s left\n", p->what, done, total,
            100.0 * (double)done / (double)total, now - p->start, eta);
}

/* Checks an input that is one instance (base_ndim dimensions equal to
 * want[0..base_ndim-1]; want[d] < 0: any) or a batch of them (one more,
 * leading, dimension, equal to *B when *B >= 0; *B is then set). hint is
 * appended to a wrong dimension's message ("" for none). 0 with a message
 * naming path on a mismatch. */
static inline int cli_layer_check_shape(const dopt_npy *a, const char *path, int base_ndim, const int64_t *want,
                                        const char *hint, int64_t *B, int *batched_out)
{
    int batched = a->ndim == base_ndim + 1;
    if (!batched && a->ndim != base_ndim) {
        fprintf(stderr, "dopt: %s has %d dimensions; expected %d (one instance) or %d (batch)\n", path, a->ndim,
                base_ndim, base_ndim + 1);
        return 0;
    }
    for (int d = 0; d < base_ndim; ++d)
        if (want[d] >= 0 && a->shape[d + batched] != want[d]) {
            fprintf(stderr, "dopt: %s has shape", path);
            for (int e = 0; e < a->ndim; ++e) fprintf(stderr, "%s%lld", e ? "x" : " ", (long long)a->shape[e]);
            fprintf(stderr, "; dimension %d should be %lld%s\n", d + batched, (long long)want[d], hint);
            return 0;
        }
    *batched_out = batched;
    if (batched) {
        if (*B >= 0 && a->shape[0] != *B) {
            fprintf(stderr, "dopt: %s has batch size %lld but other inputs have %lld\n", path,
                    (long long)a->shape[0], (long long)*B);
            return 0;
        }
        *B = a->shape[0];
    }
    return 1;
}

/* An incoming gradient file (--dx and the like): (B, len), or (len) when
 * B = 1, converted to dt into *out (malloc'd). 0 with a message naming path. */
static inline int cli_layer_load_grad(const char *path, int64_t B, int64_t len, dopt_dtype dt, int quiet, void **out)
{
    dopt_npy a;
    if (!cli_npy_read(path, &a)) return 0;
    int ok = (a.ndim == 2 && a.shape[0] == B && a.shape[1] == len) || (B == 1 && a.ndim == 1 && a.shape[0] == len);
    if (!ok) {
        fprintf(stderr, "dopt: %s must have shape (%lld, %lld)\n", path, (long long)B, (long long)len);
        dopt_npy_free(&a);
        return 0;
    }
    *out = cli_layer_real(&a, path, dt, quiet);
    dopt_npy_free(&a);
    return *out != NULL;
}


#endif
