/* dopt ilp solve DIR: exact small ILPs and their gradients from .npy files
 * (and the option parsing of the ragged form, `--ragged IN.npz`, which
 * cli_ilp_ragged.c runs). File names, shapes, dtypes and status codes are a
 * contract (README.md; the ragged keys: the ragged-batch issue, docs/ILP.md). */
#define _POSIX_C_SOURCE 200809L /* sysconf in cli_layer_input.h */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_ilp.h"
#include "cli_layer_input.h"
#include "cli_output.h" /* output paths checked before the work */

static int parse_method(const char *s, dopt_ilp_method *m)
{
    if (!strcmp(s, "combopt")) *m = DOPT_ILP_COMBOPT;
    else if (!strcmp(s, "dbb")) *m = DOPT_ILP_DBB;
    else if (!strcmp(s, "perturbed")) *m = DOPT_ILP_PERTURBED;
    else if (!strcmp(s, "identity")) *m = DOPT_ILP_IDENTITY;
    else {
        fprintf(stderr, "dopt: --method expects combopt, dbb, perturbed or identity, got '%s'\n", s);
        return 0;
    }
    return 1;
}

/* An input is per instance (leading batch dimension) or shared. `tail` is
 * its per-instance shape. Sets *B from the first batched input, checks the
 * rest against it. Returns 1 batched, 0 shared, -1 bad shape (reported). */
static int batched(const dopt_npy *a, const char *path, int tail_ndim, const int64_t *tail, int64_t *B)
{
    int per = a->ndim == tail_ndim + 1, ok = per || a->ndim == tail_ndim;
    for (int k = 0; ok && k < tail_ndim; ++k) ok = a->shape[a->ndim - tail_ndim + k] == tail[k];
    if (ok && per) {
        if (*B < 0) *B = a->shape[0];
        ok = a->shape[0] == *B;
    }
    if (!ok) {
        fprintf(stderr, "dopt: %s has shape (", path);
        for (int k = 0; k < a->ndim; ++k) fprintf(stderr, "%s%lld", k ? ", " : "", (long long)a->shape[k]);
        fprintf(stderr, "); expected (B");
        for (int k = 0; k < tail_ndim; ++k) fprintf(stderr, ", %lld", (long long)tail[k]);
        fprintf(stderr, ") or the same without B%s\n", *B >= 0 ? " (B as in the other files)" : "");
        return -1;
    }
    return per;
}

static int parse_args(int argc, char **argv, ilp_args *o)
{
    memset(o, 0, sizeof *o);
    o->backend = DOPT_BACKEND_CPU;
    o->tau = 0.5, o->lambda = 10, o->epsilon = 1, o->samples = 10;
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i], *v;
#define VAL() (v = cli_value(argc, argv, &i))
        if (!strcmp(a, "--out")) { if (!(o->outdir = cli_value(argc, argv, &i))) return 0; }
        else if (!strcmp(a, "--dy")) { if (!(o->dy_path = cli_value(argc, argv, &i))) return 0; }
        else if (!strcmp(a, "--ragged")) { if (!(o->ragged = cli_value(argc, argv, &i))) return 0; }
        else if (!strcmp(a, "--method")) {
            if (!VAL() || !parse_method(v, &o->method)) return 0;
            o->has_method = 1;
        } else if (!strcmp(a, "--backend")) { if (!VAL() || !cli_parse_backend(v, &o->backend)) return 0; }
        else if (!strcmp(a, "--threads")) { if (!VAL() || !cli_parse_int(v, a, 0, 4096, &o->threads)) return 0; }
        else if (!strcmp(a, "--node-limit")) {
            if (!VAL() || !cli_parse_int(v, a, 1, 1LL << 62, &o->node_limit)) return 0;
        } else if (!strcmp(a, "--time-limit")) {
            if (!VAL() || !cli_parse_double(v, a, 0, 1e8, &o->time_limit)) return 0;
        } else if (!strcmp(a, "--tau")) { if (!VAL() || !cli_parse_double(v, a, 0, 1e300, &o->tau)) return 0; }
        else if (!strcmp(a, "--lambda")) { if (!VAL() || !cli_parse_double(v, a, 1e-300, 1e300, &o->lambda)) return 0; }
        else if (!strcmp(a, "--epsilon")) {
            if (!VAL() || !cli_parse_double(v, a, 1e-300, 1e300, &o->epsilon)) return 0;
        } else if (!strcmp(a, "--samples")) { if (!VAL() || !cli_parse_int(v, a, 1, 1000000, &o->samples)) return 0; }
        else if (!strcmp(a, "--seed")) { if (!VAL() || !cli_parse_int(v, a, 0, 1LL << 62, &o->seed)) return 0; }
        else if (!strcmp(a, "--quiet")) o->quiet = 1;
        else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "dopt: unknown option %s\n", a);
            return 0;
        } else if (!o->dir) o->dir = a;
        else {
            fprintf(stderr, "dopt: unexpected argument '%s'\n", a);
            return 0;
        }
#undef VAL
    }
    if (o->ragged && o->dir) {
        fprintf(stderr, "dopt: give either DIR or --ragged IN.npz, not both\n");
        return 0;
    }
    if (!o->dir && !o->ragged) return 0;
    if (o->has_method && !o->dy_path) {
        fprintf(stderr, "dopt: --method needs --dy FILE (the incoming gradient dL/dy)\n");
        return 0;
    }
    if (!o->outdir && !o->ragged) o->outdir = o->dir;
    return 1;
}

enum { IN_C, IN_A, IN_B, IN_LB, IN_UB, IN_DY, IN_COUNT };

int cli_ilp(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "solve")) {
        cli_usage(stderr, "ilp", "solve");
        return CLI_USAGE;
    }
    ilp_args o;
    if (!parse_args(argc - 1, argv + 1, &o)) {
        cli_usage(stderr, "ilp", "solve");
        return CLI_USAGE;
    }
    if (o.ragged) return cli_ilp_ragged(&o);
    static const char *names[IN_COUNT] = {"c", "A", "b", "lb", "ub", "dy"};
    dopt_npy in[IN_COUNT];
    void *host[IN_COUNT] = {0}, *dev[IN_COUNT] = {0}, *outs_dev[8] = {0}, *outs_host[8] = {0};
    int present[IN_COUNT] = {0}, per[IN_COUNT] = {0};
    memset(in, 0, sizeof in);
    dopt_context *ctx = NULL;
    int rc = CLI_FAIL;
    char paths[IN_COUNT][4096];
    for (int k = 0; k < IN_COUNT; ++k) {
        int r;
        if (k == IN_DY)
            snprintf(paths[k], sizeof paths[k], "%s", o.dy_path ? o.dy_path : "");
        else
            cli_layer_path(paths[k], sizeof paths[k], o.dir, names[k]);
        if (k == IN_DY) {
            if (!o.dy_path) continue;
            r = cli_npy_read(o.dy_path, &in[k]) ? 1 : -1;
        } else {
            r = cli_load(o.dir, names[k], k <= IN_B, &in[k]);
        }
        if (r < 0) goto done;
        present[k] = r;
    }
    /* shapes: n from c, m from A */
    if (in[IN_C].ndim < 1 || in[IN_C].ndim > 2 || in[IN_A].ndim < 2 || in[IN_A].ndim > 3) {
        fprintf(stderr, "dopt: %s must be (B, n) or (n) and %s (B, m, n) or (m, n)\n", paths[IN_C], paths[IN_A]);
        goto done;
    }
    int64_t n = in[IN_C].shape[in[IN_C].ndim - 1], m = in[IN_A].shape[in[IN_A].ndim - 2], B = -1;
    int64_t t_n[1] = {n}, t_mn[2] = {m, n}, t_m[1] = {m};
    const int64_t *tails[IN_COUNT] = {t_n, t_mn, t_m, t_n, t_n, t_n};
    int tail_nd[IN_COUNT] = {1, 2, 1, 1, 1, 1};
    for (int k = 0; k < IN_COUNT; ++k) {
        if (!present[k]) continue;
        per[k] = batched(&in[k], paths[k], tail_nd[k], tails[k], &B);
        if (per[k] < 0) goto done;
    }
    if (B < 0) B = 1; /* every input shared: one instance */
    if (present[IN_DY] && !per[IN_DY]) {
        fprintf(stderr, "dopt: %s (--dy) must have shape (B, n) with B = %lld\n", paths[IN_DY], (long long)B);
        goto done;
    }
    if (n < 1 || n > 256 || m > 256) {
        fprintf(stderr, "dopt: need 1 <= n <= 256 and m <= 256 (n = %lld from %s, m = %lld from %s)\n", (long long)n,
                paths[IN_C], (long long)m, paths[IN_A]);
        goto done;
    }
    dopt_dtype dt = DOPT_FLOAT32;
    for (int k = 0; k < IN_COUNT; ++k)
        if (present[k] && cli_layer_needs_f64(&in[k])) dt = DOPT_FLOAT64;
    size_t es = dt == DOPT_FLOAT64 ? 8 : 4;
    for (int k = 0; k < IN_COUNT; ++k)
        if (present[k] && !(host[k] = cli_layer_real(&in[k], paths[k], dt, o.quiet))) goto done;
    {
        /* host memory beyond the inputs: outputs, the gradient rows, and the
         * perturbed method's B x K solutions (the one that can explode) */
        double nb = (double)B, row = (double)(m * n + m + n);
        double bytes = nb * (double)(n + 3) * 8 + (o.dy_path ? nb * row * 8 * 2 : 0);
        int pert = o.dy_path && o.method == DOPT_ILP_PERTURBED;
        if (pert) bytes += nb * (double)o.samples * (double)(8 * n + 4);
        if (!cli_layer_memory_ok(bytes, "ilp solve", pert ? "--samples or the batch" : "the batch")) goto done;
    }
    if (!cli_make_dir(o.outdir) || !cli_dir_writable("ilp solve", "--out", o.outdir)) goto done;
    if (dopt_context_create(&ctx, o.backend) != DOPT_OK) {
        fprintf(stderr, "dopt: %s\n", dopt_context_last_error(ctx));
        goto done;
    }
    if (o.threads) dopt_context_set_threads(ctx, (int)o.threads);
    for (int k = 0; k < IN_COUNT; ++k)
        if (present[k] && !(dev[k] = cli_stage(ctx, host[k], in[k].count * es))) goto done;

    /* outputs: y, obj, bound, status, nodes, dA, db, dc, (y_eps) */
    size_t nb = (size_t)B, ny = nb * (size_t)n;
    size_t bytes[8] = {ny * es, nb * es, nb * es, nb * 4, nb * 8, in[IN_A].count * es, in[IN_B].count * es,
                       in[IN_C].count * es};
    int want = o.dy_path ? 8 : 5;
    for (int k = 0; k < want; ++k) {
        outs_host[k] = malloc(bytes[k] + 8);
        outs_dev[k] = cli_alloc(ctx, bytes[k] + 8);
        if (!outs_host[k] || !outs_dev[k]) {
            fprintf(stderr, "dopt: out of memory for the outputs\n");
            goto done;
        }
    }
    dopt_ilp_problem P = {(int64_t)B, (int32_t)n, (int32_t)m, dt, dev[IN_C], dev[IN_A], dev[IN_B],
                          dev[IN_LB], dev[IN_UB], 0};
    if (!per[IN_C]) P.shared |= DOPT_ILP_SHARE_C;
    if (!per[IN_A]) P.shared |= DOPT_ILP_SHARE_A;
    if (!per[IN_B]) P.shared |= DOPT_ILP_SHARE_B;
    if (present[IN_LB] && !per[IN_LB]) P.shared |= DOPT_ILP_SHARE_LB;
    if (present[IN_UB] && !per[IN_UB]) P.shared |= DOPT_ILP_SHARE_UB;
    dopt_ilp_options opt = {o.node_limit, o.time_limit};
    dopt_ilp_solution S = {outs_dev[0], outs_dev[1], outs_dev[2], (int32_t *)outs_dev[3], (int64_t *)outs_dev[4]};
    double t0 = cli_now();
    if (dopt_ilp_solve(ctx, &P, &opt, &S) != DOPT_OK) {
        fprintf(stderr, "dopt: ilp solve failed: %s\n", dopt_context_last_error(ctx));
        goto done;
    }
    double t1 = cli_now(), t2 = t1;
    void *y_eps_dev = NULL, *y_eps_host = NULL;
    if (o.dy_path) {
        dopt_ilp_grad_options g;
        dopt_ilp_grad_options_default(&g);
        g.method = o.method, g.tau = o.tau, g.lambda = o.lambda, g.epsilon = o.epsilon;
        g.samples = (int32_t)o.samples, g.seed = (uint64_t)o.seed;
        if (dopt_ilp_backward(ctx, &P, &opt, &g, S.y, S.status, dev[IN_DY], outs_dev[5], m ? outs_dev[6] : NULL,
                              outs_dev[7]) != DOPT_OK) {
            fprintf(stderr, "dopt: ilp backward failed: %s\n", dopt_context_last_error(ctx));
            goto done;
        }
        if (o.method == DOPT_ILP_PERTURBED) {
            y_eps_dev = cli_alloc(ctx, ny * es);
            y_eps_host = malloc(ny * es + 8);
            if (!y_eps_dev || !y_eps_host || dopt_ilp_perturbed(ctx, &P, &opt, &g, y_eps_dev) != DOPT_OK ||
                !cli_fetch(ctx, y_eps_host, y_eps_dev, ny * es)) {
                fprintf(stderr, "dopt: perturbed forward failed: %s\n", dopt_context_last_error(ctx));
                cli_release(ctx, y_eps_dev), free(y_eps_host);
                goto done;
            }
        }
        t2 = cli_now();
    }
    for (int k = 0; k < want; ++k)
        if (!cli_fetch(ctx, outs_host[k], outs_dev[k], bytes[k])) goto done;
    if (!cli_make_dir(o.outdir)) goto done;
    int64_t sy[2] = {B, n}, sb[1] = {B};
    int ok = cli_write(o.outdir, "y", dt, 2, sy, outs_host[0]) && cli_write(o.outdir, "obj", dt, 1, sb, outs_host[1]) &&
             cli_write(o.outdir, "bound", dt, 1, sb, outs_host[2]) &&
             cli_write_int(o.outdir, "status", 4, B, outs_host[3]) &&
             cli_write_int(o.outdir, "nodes", 8, B, outs_host[4]);
    if (ok && o.dy_path)
        ok = cli_write(o.outdir, "dA", dt, in[IN_A].ndim, in[IN_A].shape, outs_host[5]) &&
             cli_write(o.outdir, "db", dt, in[IN_B].ndim, in[IN_B].shape, outs_host[6]) &&
             cli_write(o.outdir, "dc", dt, in[IN_C].ndim, in[IN_C].shape, outs_host[7]) &&
             (!y_eps_host || cli_write(o.outdir, "y_eps", dt, 2, sy, y_eps_host));
    cli_release(ctx, y_eps_dev), free(y_eps_host);
    if (!ok) goto done;
    if (!o.quiet) {
        long long count[6] = {0}, max_nodes = 0;
        double total_nodes = 0;
        const int32_t *st = (const int32_t *)outs_host[3];
        const int64_t *nodes = (const int64_t *)outs_host[4];
        for (size_t i = 0; i < nb; ++i) {
            if (st[i] >= 0 && st[i] <= 5) count[st[i]]++;
            total_nodes += (double)nodes[i];
            if (nodes[i] > max_nodes) max_nodes = nodes[i];
        }
        printf("ilp: %lld instances (n=%lld m=%lld, %s) in %.2f ms: %lld optimal, %lld infeasible, %lld at a limit, "
               "%lld numerical, %lld invalid; nodes mean %.1f max %lld\n",
               (long long)B, (long long)n, (long long)m, dt == DOPT_FLOAT64 ? "float64" : "float32", 1e3 * (t1 - t0),
               count[0], count[1], count[3], count[4], count[5], total_nodes / (double)nb, max_nodes);
        if (o.dy_path) {
            static const char *mn[4] = {"combopt", "dbb", "perturbed", "identity"};
            printf("  backward (%s) in %.2f ms\n", mn[o.method], 1e3 * (t2 - t1));
        }
    }
    rc = CLI_OK;
done:
    for (int k = 0; k < 8; ++k) {
        if (outs_dev[k]) cli_release(ctx, outs_dev[k]);
        free(outs_host[k]);
    }
    for (int k = 0; k < IN_COUNT; ++k) {
        cli_unstage(ctx, host[k], dev[k]);
        free(host[k]);
        dopt_npy_free(&in[k]);
    }
    dopt_context_destroy(ctx);
    return rc;
}
