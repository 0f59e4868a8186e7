/* The outputs of `dopt qp solve DIR` (x, lam, nu, status, iters and the
 * summary): one code path for dense and sparse inputs (cli_qp.c,
 * cli_qp_sparse.c), so that the files and the summary cannot drift apart. */
#ifndef DOPT_CLI_QP_OUTPUT_H
#define DOPT_CLI_QP_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* Backend buffers for a batch's solution (zeroed). 1 done; 0 reported. */
int cli_qp_alloc_solution(dopt_context *ctx, int64_t B, int64_t n, int64_t m, int64_t k, size_t es,
                          dopt_qp_solution *sol);
void cli_qp_release_solution(dopt_context *ctx, dopt_qp_solution *sol);

/* Host copies of a solution (B x n, B x m, B x k of the run's dtype). */
typedef struct {
    void *x, *lam, *nu;
    int32_t *status, *iters;
} cli_qp_host_solution;
void cli_qp_host_free(cli_qp_host_solution *h);

/* Fetches the solution, writes OUT/x.npy, lam.npy, nu.npy (B, n|m|k) of dt,
 * status.npy and iters.npy (B,) int32, and prints the summary (unless
 * quiet): "qp solve: B instances (n=.. m=.. k=.., <run kind>) in <ms> ms,
 * mean <it> iterations" and the status counts. keep: NULL, or receives the
 * host copies (the caller frees them). 1 done; 0 reported. */
int cli_qp_write_solution(dopt_context *ctx, const char *outdir, dopt_dtype dt, int64_t B, int64_t n, int64_t m,
                          int64_t k, const dopt_qp_solution *sol, double seconds, int quiet,
                          cli_qp_host_solution *keep);

#endif
