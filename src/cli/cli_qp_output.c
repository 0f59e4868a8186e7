/* The outputs of `dopt qp solve DIR` (cli_qp_output.h). */
#include "cli_qp_output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_summary.h"

int cli_qp_alloc_solution(dopt_context *ctx, int64_t B, int64_t n, int64_t m, int64_t k, size_t es,
                          dopt_qp_solution *sol)
{
    size_t nB = (size_t)B;
    memset(sol, 0, sizeof *sol);
    sol->x = cli_alloc(ctx, nB * (size_t)n * es);
    sol->lam = cli_alloc(ctx, nB * (size_t)m * es);
    sol->nu = cli_alloc(ctx, nB * (size_t)k * es);
    sol->status = (int32_t *)cli_alloc(ctx, nB * 4);
    sol->iters = (int32_t *)cli_alloc(ctx, nB * 4);
    if (sol->x && sol->lam && sol->nu && sol->status && sol->iters) return 1;
    fprintf(stderr, "dopt: out of memory for %lld instances\n", (long long)B);
    return 0;
}

void cli_qp_release_solution(dopt_context *ctx, dopt_qp_solution *sol)
{
    cli_release(ctx, sol->x);
    cli_release(ctx, sol->lam);
    cli_release(ctx, sol->nu);
    cli_release(ctx, sol->status);
    cli_release(ctx, sol->iters);
    memset(sol, 0, sizeof *sol);
}

void cli_qp_host_free(cli_qp_host_solution *h)
{
    free(h->x);
    free(h->lam);
    free(h->nu);
    free(h->status);
    free(h->iters);
    memset(h, 0, sizeof *h);
}

int cli_qp_write_solution(dopt_context *ctx, const char *outdir, dopt_dtype dt, int64_t B, int64_t n, int64_t m,
                          int64_t k, const dopt_qp_solution *sol, double seconds, int quiet,
                          cli_qp_host_solution *keep)
{
    size_t nB = (size_t)B, es = dt == DOPT_FLOAT64 ? 8 : 4;
    cli_qp_host_solution h;
    h.x = malloc(nB * (size_t)n * es + 1);
    h.lam = malloc(nB * (size_t)m * es + 1);
    h.nu = malloc(nB * (size_t)k * es + 1);
    h.status = (int32_t *)malloc(nB * 4 + 1);
    h.iters = (int32_t *)malloc(nB * 4 + 1);
    int wrote = h.x && h.lam && h.nu && h.status && h.iters && cli_fetch(ctx, h.x, sol->x, nB * (size_t)n * es) &&
                cli_fetch(ctx, h.lam, sol->lam, nB * (size_t)m * es) &&
                cli_fetch(ctx, h.nu, sol->nu, nB * (size_t)k * es) && cli_fetch(ctx, h.status, sol->status, nB * 4) &&
                cli_fetch(ctx, h.iters, sol->iters, nB * 4) && cli_make_dir(outdir);
    int64_t shx[2] = {B, n}, shl[2] = {B, m}, shn[2] = {B, k};
    wrote = wrote && cli_write(outdir, "x", dt, 2, shx, h.x) && cli_write(outdir, "lam", dt, 2, shl, h.lam) &&
            cli_write(outdir, "nu", dt, 2, shn, h.nu) && cli_write_i32(outdir, "status", B, h.status) &&
            cli_write_i32(outdir, "iters", B, h.iters);
    if (wrote && !quiet) {
        printf("qp solve: %lld instances (n=%lld m=%lld k=%lld, ", (long long)B, (long long)n, (long long)m,
               (long long)k);
        cli_print_run_kind(ctx, dt);
        printf(") in %.2f ms, mean %.1f iterations\n", 1e3 * seconds, cli_mean_iterations(h.iters, B));
        cli_print_status_counts(h.status, B);
    }
    if (wrote && keep) *keep = h;
    else cli_qp_host_free(&h);
    return wrote;
}
