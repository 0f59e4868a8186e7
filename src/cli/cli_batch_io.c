/* Shared scaffolding of `dopt qp solve DIR` and `dopt cone solve DIR` (cli_batch_io.h). */
#define _POSIX_C_SOURCE 200809L /* sysconf in cli_layer_input.h */
#include "cli_batch_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_layer_input.h"

void cli_batch_options_init(cli_batch_options *o)
{
    memset(o, 0, sizeof *o);
    o->backend = DOPT_BACKEND_CPU;
}

int cli_batch_parse_option(int argc, char **argv, int *i, const char *cmd, cli_batch_options *o)
{
    const char *a = argv[*i], *v;
    if (!strcmp(a, "--out")) return (o->outdir = cli_value(argc, argv, i)) != NULL;
    if (!strcmp(a, "--dx")) return (o->dxf = cli_value(argc, argv, i)) != NULL;
    if (!strcmp(a, "--backend")) return (v = cli_value(argc, argv, i)) && cli_parse_backend(v, &o->backend);
    if (!strcmp(a, "--threads")) return (v = cli_value(argc, argv, i)) && cli_parse_int(v, a, 0, 4096, &o->threads);
    if (!strcmp(a, "--max-iter"))
        return (v = cli_value(argc, argv, i)) && cli_parse_int(v, a, 1, 100000, &o->max_iter);
    if (!strcmp(a, "--tol")) return (v = cli_value(argc, argv, i)) && cli_parse_double(v, a, 1e-300, 1, &o->tol);
    if (!strcmp(a, "--quiet")) {
        o->quiet = 1;
        return 1;
    }
    if (a[0] == '-' && a[1] == '-') {
        fprintf(stderr, "dopt: unknown option %s\n", a);
        cli_usage(stderr, cmd, "solve");
        return 0;
    }
    if (!o->dir) {
        o->dir = a;
        return 1;
    }
    fprintf(stderr, "dopt: unexpected argument '%s'\n", a);
    cli_usage(stderr, cmd, "solve");
    return 0;
}

void cli_batch_inputs_init(cli_batch_input *in, int count, const char *dir, const char *const *names,
                           const int *base_ndim)
{
    memset(in, 0, (size_t)count * sizeof *in);
    for (int t = 0; t < count; ++t) {
        in[t].name = names[t];
        in[t].base_ndim = base_ndim[t];
        cli_layer_path(in[t].path, sizeof in[t].path, dir, names[t]);
    }
}

int cli_batch_inputs_load(cli_batch_input *in, int count, const char *dir, int required)
{
    for (int t = 0; t < count; ++t) {
        int r = cli_load(dir, in[t].name, t < required, &in[t].arr);
        if (r < 0) return 0;
        in[t].present = r;
    }
    return 1;
}

int cli_batch_inputs_paired(const cli_batch_input *a, const cli_batch_input *b, const char *dir)
{
    if (a->present == b->present) return 1;
    fprintf(stderr, "dopt: %s/%s.npy and %s/%s.npy must be given together\n", dir, a->name, dir, b->name);
    return 0;
}

int cli_batch_input_rows(const cli_batch_input *in, const char *letter, int64_t *rows)
{
    if (!in->present) return 1;
    if (in->arr.ndim < 2) {
        fprintf(stderr, "dopt: %s must have shape (B,%s,n) or (%s,n)\n", in->path, letter, letter);
        return 0;
    }
    *rows = in->arr.shape[in->arr.ndim - 2];
    return 1;
}

int cli_batch_inputs_check(cli_batch_input *in, int count, const int64_t *rows, int64_t n, int64_t *B,
                           dopt_dtype *dt)
{
    *B = -1;
    *dt = DOPT_FLOAT32;
    for (int t = 0; t < count; ++t) {
        if (!in[t].present) continue;
        const int64_t want[2] = {rows[t], n};
        if (!cli_layer_check_shape(&in[t].arr, in[t].path, in[t].base_ndim, want, in[t].hint ? in[t].hint : "", B,
                                   &in[t].batched))
            return 0;
        if (cli_layer_needs_f64(&in[t].arr)) *dt = DOPT_FLOAT64; /* float64 or integer data */
    }
    if (*B < 0) *B = 1;
    return 1;
}

int cli_batch_inputs_convert(cli_batch_input *in, int count, dopt_dtype dt, int quiet)
{
    for (int t = 0; t < count; ++t)
        if (in[t].present && !(in[t].host = cli_layer_real(&in[t].arr, in[t].path, dt, quiet))) return 0;
    return 1;
}

int cli_batch_context(dopt_backend backend, long long threads, dopt_context **ctx)
{
    if (dopt_context_create(ctx, backend) != DOPT_OK) {
        fprintf(stderr, "dopt: %s\n", dopt_context_last_error(*ctx));
        return 0;
    }
    if (threads) dopt_context_set_threads(*ctx, (int)threads);
    return 1;
}

int cli_batch_inputs_stage(dopt_context *ctx, cli_batch_input *in, int count, size_t es)
{
    for (int t = 0; t < count; ++t)
        if (in[t].present && !(in[t].dev = cli_stage(ctx, in[t].host, in[t].arr.count * es))) return 0;
    return 1;
}

unsigned cli_batch_shared_bits(const cli_batch_input *in, int count, const unsigned *bits)
{
    unsigned shared = 0;
    for (int t = 0; t < count; ++t)
        if (in[t].present && !in[t].batched) shared |= bits[t];
    return shared;
}

int cli_batch_grads_alloc(dopt_context *ctx, cli_batch_input *in, int count, size_t es)
{
    dopt_backend be = dopt_context_backend(ctx);
    for (int t = 0; t < count; ++t) {
        if (!in[t].present) continue;
        size_t bytes = in[t].arr.count * es;
        in[t].grad_host = malloc(bytes + 1);
        /* on the CPU the layer writes into the host buffer itself */
        in[t].grad_dev = be == DOPT_BACKEND_CPU ? in[t].grad_host : cli_alloc(ctx, bytes + 1);
        if (!in[t].grad_host || !in[t].grad_dev) {
            fprintf(stderr, "dopt: out of memory for gradients\n");
            return 0;
        }
    }
    return 1;
}

int cli_batch_grads_write(dopt_context *ctx, cli_batch_input *in, int count, size_t es, const char *outdir,
                          dopt_dtype dt)
{
    for (int t = 0; t < count; ++t) {
        if (!in[t].present) continue;
        char gname[64];
        snprintf(gname, sizeof gname, "d%s", in[t].name);
        if (!cli_fetch(ctx, in[t].grad_host, in[t].grad_dev, in[t].arr.count * es)) return 0;
        if (!cli_write(outdir, gname, dt, in[t].arr.ndim, in[t].arr.shape, in[t].grad_host)) return 0;
    }
    return 1;
}

void cli_batch_inputs_free(dopt_context *ctx, cli_batch_input *in, int count)
{
    for (int t = 0; t < count; ++t) {
        if (ctx) {
            cli_unstage(ctx, in[t].host, in[t].dev);
            cli_unstage(ctx, in[t].grad_host, in[t].grad_dev);
        }
        dopt_npy_free(&in[t].arr);
        free(in[t].host);
        free(in[t].grad_host);
        memset(&in[t], 0, sizeof in[t]);
    }
}
