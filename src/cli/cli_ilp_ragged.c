/* dopt ilp solve --ragged IN.npz: a ragged (heterogeneous) ILP batch from one
 * .npz archive, solved (and differentiated) by the ragged layer calls. The
 * keys and layouts are a contract (the ragged-batch issue, docs/ILP.md):
 *   in:  n, m (B) int32; c (sum n_i), A (sum m_i n_i), b (sum m_i), optional
 *        lb, ub (sum n_i): each instance's row-major arrays one after
 *        another, one float dtype (float32 or float64) for all;
 *   out: y (sum n_i), obj, bound (B), status (B) int32, nodes (B) int64;
 *        with --dy DY.npy (sum n_i): dA, db, dc in the input layout (the
 *        perturbed method also y_eps).
 * A bad file is a message naming the key and exit 1. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_ilp.h"
#include "cli_layer_input.h"
#include "cli_output.h"
#include "cli_ragged_io.h"

#define RAGGED_MAX_DIM 256 /* the layer's limit on n_i and m_i */

enum { KEY_C, KEY_A, KEY_B, KEY_LB, KEY_UB, KEY_COUNT };

/* Backend copies of the host arrays; NULL entries stay NULL. */
static int stage_all(dopt_context *ctx, void *const *host, const size_t *bytes, void **dev, int count)
{
    for (int k = 0; k < count; ++k)
        if (host[k] && bytes[k] && !(dev[k] = cli_stage(ctx, host[k], bytes[k]))) return 0;
    return 1;
}

enum { OUT_Y, OUT_OBJ, OUT_BOUND, OUT_STATUS, OUT_NODES, OUT_DA, OUT_DB, OUT_DC, OUT_YEPS, OUT_COUNT };

int cli_ilp_ragged(const ilp_args *o)
{
    const char *in = o->ragged;
    char out[4096];
    if (o->outdir) snprintf(out, sizeof out, "%s", o->outdir);
    else cli_ragged_default_out(out, sizeof out, in);
    if (!cli_file_writable("ilp solve", "--out", out)) return CLI_FAIL;

    int rc = CLI_FAIL;
    dopt_npz z;
    memset(&z, 0, sizeof z);
    dopt_context *ctx = NULL;
    int32_t *n = NULL, *m = NULL;
    void *dy_host = NULL, *dy_dev = NULL;
    void *host_in[KEY_COUNT] = {0}, *dev_in[KEY_COUNT] = {0};
    void *outs_dev[OUT_COUNT] = {0}, *outs_host[OUT_COUNT] = {0};
    static const char *keys[KEY_COUNT] = {"c", "A", "b", "lb", "ub"};

    if (dopt_context_create(&ctx, o->backend) != DOPT_OK) {
        fprintf(stderr, "dopt: %s\n", dopt_context_last_error(ctx));
        goto done;
    }
    if (o->threads) dopt_context_set_threads(ctx, (int)o->threads);
    if (dopt_npz_read(ctx, in, &z) != DOPT_OK) {
        fprintf(stderr, "dopt: %s\n", dopt_context_last_error(ctx));
        goto done;
    }
    int64_t B = -1;
    static const char needs[] = "a ragged ILP batch needs n, m, c, A, b";
    if (!cli_ragged_sizes(&z, in, "n", 1, RAGGED_MAX_DIM, needs, &B, &n) ||
        !cli_ragged_sizes(&z, in, "m", 0, RAGGED_MAX_DIM, needs, &B, &m))
        goto done;
    /* sizes are <= 256, so these sums cannot overflow */
    int64_t sum_n = 0, sum_mn = 0, sum_m = 0;
    for (int64_t i = 0; i < B; ++i) sum_n += n[i], sum_mn += (int64_t)m[i] * n[i], sum_m += m[i];
    int64_t lens[KEY_COUNT] = {sum_n, sum_mn, sum_m, sum_n, sum_n};
    int dt_i = -1, bad = 0;
    const dopt_npy *arr[KEY_COUNT] = {0};
    for (int k = 0; k < KEY_COUNT; ++k) {
        arr[k] = cli_ragged_data(&z, in, keys[k], k <= KEY_B, lens[k], needs, &dt_i, &bad);
        if (bad) goto done;
    }
    dopt_dtype dt = (dopt_dtype)dt_i;
    size_t es = dt == DOPT_FLOAT64 ? 8 : 4;
    if (o->dy_path && !(dy_host = cli_ragged_grad(o->dy_path, "--dy", sum_n, dt))) goto done;
    {
        /* host memory beyond the inputs: outputs, gradient rows, and the
         * perturbed method's K solutions per instance */
        double bytes = (double)(sum_n + 3 * B) * 8 + (o->dy_path ? (double)(sum_mn + sum_m + sum_n) * 8 * 2 : 0);
        int pert = o->dy_path && o->method == DOPT_ILP_PERTURBED;
        if (pert) bytes += (double)sum_n * (double)o->samples * 8 + (double)B * (double)o->samples * 4;
        if (!cli_layer_memory_ok(bytes, "ilp solve --ragged", pert ? "--samples or the batch" : "the batch")) goto done;
    }
    size_t in_bytes[KEY_COUNT];
    for (int k = 0; k < KEY_COUNT; ++k) {
        host_in[k] = arr[k] ? arr[k]->data : NULL;
        in_bytes[k] = (size_t)lens[k] * es;
    }
    if (!stage_all(ctx, host_in, in_bytes, dev_in, KEY_COUNT)) goto done;
    if (dy_host && !(dy_dev = cli_stage(ctx, dy_host, (size_t)sum_n * es))) goto done;

    size_t nb = (size_t)B;
    size_t bytes[OUT_COUNT] = {(size_t)sum_n * es, nb * es, nb * es, nb * 4, nb * 8, (size_t)sum_mn * es,
                               (size_t)sum_m * es, (size_t)sum_n * es, (size_t)sum_n * es};
    int want[OUT_COUNT] = {1, 1, 1, 1, 1, o->dy_path != NULL, o->dy_path != NULL, o->dy_path != NULL,
                           o->dy_path && o->method == DOPT_ILP_PERTURBED};
    for (int k = 0; k < OUT_COUNT; ++k) {
        if (!want[k]) continue;
        outs_host[k] = malloc(bytes[k] + 8);
        outs_dev[k] = cli_alloc(ctx, bytes[k] + 8);
        if (!outs_host[k] || !outs_dev[k]) {
            fprintf(stderr, "dopt: out of memory for the outputs\n");
            goto done;
        }
    }
    dopt_ilp_ragged_problem P = {B, n, m, dt, dev_in[KEY_C], dev_in[KEY_A], dev_in[KEY_B], dev_in[KEY_LB],
                                 dev_in[KEY_UB]};
    dopt_ilp_options opt = {o->node_limit, o->time_limit};
    dopt_ilp_solution S = {outs_dev[OUT_Y], outs_dev[OUT_OBJ], outs_dev[OUT_BOUND], (int32_t *)outs_dev[OUT_STATUS],
                           (int64_t *)outs_dev[OUT_NODES]};
    double t0 = cli_now();
    if (dopt_ilp_ragged_solve(ctx, &P, &opt, &S) != DOPT_OK) {
        fprintf(stderr, "dopt: ilp solve failed: %s\n", dopt_context_last_error(ctx));
        goto done;
    }
    double t1 = cli_now(), t2 = t1;
    if (o->dy_path) {
        dopt_ilp_grad_options g;
        dopt_ilp_grad_options_default(&g);
        g.method = o->method, g.tau = o->tau, g.lambda = o->lambda, g.epsilon = o->epsilon;
        g.samples = (int32_t)o->samples, g.seed = (uint64_t)o->seed;
        if (dopt_ilp_ragged_backward(ctx, &P, &opt, &g, S.y, S.status, dy_dev, outs_dev[OUT_DA], outs_dev[OUT_DB],
                                     outs_dev[OUT_DC]) != DOPT_OK) {
            fprintf(stderr, "dopt: ilp backward failed: %s\n", dopt_context_last_error(ctx));
            goto done;
        }
        if (o->method == DOPT_ILP_PERTURBED && dopt_ilp_ragged_perturbed(ctx, &P, &opt, &g, outs_dev[OUT_YEPS]) != DOPT_OK) {
            fprintf(stderr, "dopt: perturbed forward failed: %s\n", dopt_context_last_error(ctx));
            goto done;
        }
        t2 = cli_now();
    }
    for (int k = 0; k < OUT_COUNT; ++k)
        if (want[k] && !cli_fetch(ctx, outs_host[k], outs_dev[k], bytes[k])) goto done;
    {
        static const char *names[OUT_COUNT] = {"y", "obj", "bound", "status", "nodes", "dA", "db", "dc", "y_eps"};
        int64_t shapes[OUT_COUNT] = {sum_n, B, B, B, B, sum_mn, sum_m, sum_n, sum_n};
        dopt_npz_entry entries[OUT_COUNT];
        int count = 0;
        for (int k = 0; k < OUT_COUNT; ++k) {
            if (!want[k]) continue;
            dopt_npz_entry e = {names[k], 'f', (int)es, 1, &shapes[k], outs_host[k]};
            if (k == OUT_STATUS) e.kind = 'i', e.itemsize = 4;
            if (k == OUT_NODES) e.kind = 'i', e.itemsize = 8;
            entries[count++] = e;
        }
        if (dopt_npz_write(ctx, out, count, entries) != DOPT_OK) {
            fprintf(stderr, "dopt: %s\n", dopt_context_last_error(ctx));
            goto done;
        }
    }
    if (!o->quiet) {
        long long count[6] = {0}, max_nodes = 0;
        double total_nodes = 0;
        const int32_t *st = (const int32_t *)outs_host[OUT_STATUS];
        const int64_t *nodes = (const int64_t *)outs_host[OUT_NODES];
        int32_t max_n = 0, max_m = 0;
        for (size_t i = 0; i < nb; ++i) {
            if (st[i] >= 0 && st[i] <= 5) count[st[i]]++;
            total_nodes += (double)nodes[i];
            if (nodes[i] > max_nodes) max_nodes = nodes[i];
            if (n[i] > max_n) max_n = n[i];
            if (m[i] > max_m) max_m = m[i];
        }
        printf("ilp: %lld ragged instances (n <= %d, m <= %d, %s) in %.2f ms: %lld optimal, %lld infeasible, %lld at a "
               "limit, %lld numerical, %lld invalid; nodes mean %.1f max %lld; wrote %s\n",
               (long long)B, max_n, max_m, dt == DOPT_FLOAT64 ? "float64" : "float32", 1e3 * (t1 - t0), count[0],
               count[1], count[3], count[4], count[5], nb ? total_nodes / (double)nb : 0.0, max_nodes, out);
        if (o->dy_path) {
            static const char *mn[4] = {"combopt", "dbb", "perturbed", "identity"};
            printf("  backward (%s) in %.2f ms\n", mn[o->method], 1e3 * (t2 - t1));
        }
    }
    rc = CLI_OK;
done:
    for (int k = 0; k < OUT_COUNT; ++k) {
        if (outs_dev[k]) cli_release(ctx, outs_dev[k]);
        free(outs_host[k]);
    }
    for (int k = 0; k < KEY_COUNT; ++k) cli_unstage(ctx, host_in[k], dev_in[k]);
    cli_unstage(ctx, dy_host, dy_dev);
    free(dy_host);
    free(n), free(m);
    dopt_npz_free(&z);
    dopt_context_destroy(ctx);
    return rc;
}
