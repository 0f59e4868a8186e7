/* The summary a layer command prints after a solve (unless --quiet): what
 * ran ("float64, cpu x2 threads"), the mean iteration count, and one line
 * per status code present. One copy for qp, qp --ragged and cone, so that
 * a new status code is counted everywhere at once. Header only. */
#ifndef DOPT_CLI_SUMMARY_H
#define DOPT_CLI_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#include "dopt.h"

/* every dopt_instance_status code (0 .. DOPT_SOLVED_CLOSEST_FEASIBLE) */
#define CLI_STATUS_CODES (DOPT_SOLVED_CLOSEST_FEASIBLE + 1)

/* "float64, cpu x2 threads" (no newline) */
static inline void cli_print_run_kind(const dopt_context *ctx, dopt_dtype dt)
{
    dopt_backend be = dopt_context_backend(ctx);
    printf("%s, %s", dt == DOPT_FLOAT64 ? "float64" : "float32", be == DOPT_BACKEND_CUDA ? "cuda" : "cpu");
    if (be == DOPT_BACKEND_CPU) printf(" x%d threads", dopt_context_threads(ctx));
}

static inline double cli_mean_iterations(const int32_t *iters, int64_t B)
{
    long long sum = 0;
    for (int64_t i = 0; i < B; ++i) sum += iters[i];
    return B ? (double)sum / (double)B : 0.0;
}

/* "  status 0 (solved): 12", one line per code present in status (B) */
static inline void cli_print_status_counts(const int32_t *status, int64_t B)
{
    long long counts[CLI_STATUS_CODES] = {0};
    for (int64_t i = 0; i < B; ++i)
        if (status[i] >= 0 && status[i] < CLI_STATUS_CODES) counts[status[i]]++;
    for (int c = 0; c < CLI_STATUS_CODES; ++c)
        if (counts[c]) printf("  status %d (%s): %lld\n", c, dopt_instance_status_string(c), counts[c]);
}

#endif
