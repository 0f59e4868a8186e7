/* dopt gen FAMILY --size easy|medium|hard --count N --seed S OUTDIR: writes N
 * MPS files OUTDIR/FAMILY_SIZE_K.mps (K = 0..N-1, instance K from seed S+K). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_output.h"


static int family_of(const char *s, dopt_gen_family *f)
{
    static const char *names[] = {"sc", "ca", "cfl", "mis", "rc", "wsc", "knapsack"};
    for (int k = 0; k < 7; ++k)
        if (!strcmp(s, names[k])) return *f = (dopt_gen_family)k, 1;
    return 0;
}

int cli_gen(int argc, char **argv)
{
    /* --help anywhere was answered by main.c (cli_help.c) before this runs */
    if (argc < 1) return cli_usage(stderr, "gen", NULL), CLI_USAGE;
    dopt_gen_family family;
    if (!family_of(argv[0], &family)) {
        return cli_usage_error("gen", NULL, "unknown family '%s'", argv[0]);
    }
    const char *size_name = NULL, *outdir = NULL;
    long long count = -1, seed = -1, v;
    double d;
    int quiet = 0;
    dopt_gen_params over; /* overrides, applied after the preset: -1 = not given */
    memset(&over, 0xff, sizeof over);
    double over_d[4] = {-1, -1, -1, -1}; /* density, add_item_prob, ratio, edge_prob */
    int dense = 0, graph = -1;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *val;
        int32_t *target = NULL;
        if (!strcmp(a, "--quiet")) {
            quiet = 1;
            continue;
        }
        if (!strcmp(a, "--dense")) {
            dense = 1;
            continue;
        }
        if (a[0] != '-') {
            if (outdir) {
                fprintf(stderr, "dopt gen: more than one OUTDIR ('%s', '%s')\n", outdir, a);
                return CLI_USAGE;
            }
            outdir = a;
            continue;
        }
        if (!(val = cli_value(argc, argv, &i))) return CLI_USAGE;
        if (!strcmp(a, "--size")) size_name = val;
        else if (!strcmp(a, "--count")) {
            if (!cli_parse_int(val, a, 1, 100000000, &count)) return CLI_USAGE;
        } else if (!strcmp(a, "--seed")) {
            if (!cli_parse_int(val, a, 0, (long long)1 << 62, &seed)) return CLI_USAGE;
        } else if (!strcmp(a, "--graph")) {
            if (!strcmp(val, "ba")) graph = 0;
            else if (!strcmp(val, "er")) graph = 1;
            else return fprintf(stderr, "dopt gen: --graph expects ba or er\n"), CLI_USAGE;
        } else if (!strcmp(a, "--density") || !strcmp(a, "--add-item-prob") || !strcmp(a, "--ratio") ||
                   !strcmp(a, "--edge-prob")) {
            int k = !strcmp(a, "--density") ? 0 : !strcmp(a, "--add-item-prob") ? 1 : !strcmp(a, "--ratio") ? 2 : 3;
            if (!cli_parse_double(val, a, 0, k == 2 ? 1e6 : 1, &d)) return CLI_USAGE;
            over_d[k] = d;
        } else {
            if (!strcmp(a, "--rows")) target = &over.sc_rows;
            else if (!strcmp(a, "--cols")) target = &over.sc_cols;
            else if (!strcmp(a, "--items")) target = &over.ca_items;
            else if (!strcmp(a, "--bids")) target = &over.ca_bids;
            else if (!strcmp(a, "--customers")) target = &over.cfl_customers;
            else if (!strcmp(a, "--facilities")) target = &over.cfl_facilities;
            else if (!strcmp(a, "--nodes")) target = &over.is_nodes;
            else if (!strcmp(a, "--affinity")) target = &over.is_affinity;
            else if (!strcmp(a, "--n")) target = &over.co_n;
            else if (!strcmp(a, "--m")) target = &over.co_m;
            else {
                fprintf(stderr, "dopt gen: unknown option %s\n", a);
                return CLI_USAGE;
            }
            if (!cli_parse_int(val, a, 1, 100000000, &v)) return CLI_USAGE;
            *target = (int32_t)v;
        }
    }
    dopt_gen_size size;
    if (!size_name || !outdir || count < 0 || seed < 0) {
        return cli_usage_error("gen", NULL, "--size, --count, --seed and OUTDIR are required");
    }
    if (!strcmp(size_name, "easy")) size = DOPT_GEN_EASY;
    else if (!strcmp(size_name, "medium")) size = DOPT_GEN_MEDIUM;
    else if (!strcmp(size_name, "hard")) size = DOPT_GEN_HARD;
    else return fprintf(stderr, "dopt gen: --size expects easy, medium or hard, got '%s'\n", size_name), CLI_USAGE;
    dopt_context *ctx = NULL; /* host: the generators' messages */
    dopt_gen_params g;
    int rc = CLI_FAIL;
    if (dopt_context_create(&ctx, DOPT_BACKEND_CPU) != DOPT_OK ||
        dopt_gen_params_preset(ctx, family, size, &g) != DOPT_OK) {
        fprintf(stderr, "dopt gen: %s\n", ctx ? dopt_context_last_error(ctx) : "out of memory");
        goto done;
    }
#define OVERRIDE(field) \
    if (over.field >= 0) g.field = over.field
    OVERRIDE(sc_rows);
    OVERRIDE(sc_cols);
    OVERRIDE(ca_items);
    OVERRIDE(ca_bids);
    OVERRIDE(cfl_customers);
    OVERRIDE(cfl_facilities);
    OVERRIDE(is_nodes);
    OVERRIDE(is_affinity);
    OVERRIDE(co_n);
    OVERRIDE(co_m);
#undef OVERRIDE
    if (family == DOPT_GEN_WSC && over.co_m >= 0 && over.co_n < 0) g.co_n = 2 * g.co_m;
    if (over_d[0] >= 0) g.sc_density = over_d[0];
    if (over_d[1] >= 0) g.ca_add_item_prob = over_d[1];
    if (over_d[2] >= 0) g.cfl_ratio = over_d[2];
    if (over_d[3] >= 0) g.is_edge_prob = over_d[3];
    if (graph >= 0) g.is_graph = graph;
    g.rc_dense = dense;
    /* OUTDIR made (or found) and writable before anything is generated */
    if (!cli_make_dir(outdir) || !cli_dir_writable("gen", "OUTDIR", outdir)) goto done;
    double t0 = cli_now();
    for (long long k = 0; k < count; ++k) {
        char path[4096];
        dopt_milp *p = NULL;
        if (dopt_gen_instance(ctx, &g, (uint64_t)(seed + k), &p) != DOPT_OK) {
            fprintf(stderr, "dopt gen: %s\n", dopt_context_last_error(ctx));
            goto done;
        }
        snprintf(path, sizeof path, "%s/%s_%s_%04lld.mps", outdir, argv[0], size_name, k);
        dopt_status st = dopt_mps_write(ctx, p, path);
        if (!quiet && (k + 1 == count || cli_now() - t0 > 2))
            fprintf(stderr, "dopt gen: %lld/%lld  %s  (%d rows, %d cols, %lld nonzeros)\n", k + 1, count, path, p->m,
                    p->n, (long long)p->nnz),
                t0 = cli_now();
        dopt_milp_free(p);
        if (st != DOPT_OK) {
            fprintf(stderr, "dopt gen: %s\n", dopt_context_last_error(ctx));
            goto done;
        }
    }
    rc = CLI_OK;
done:
    dopt_context_destroy(ctx);
    return rc;
}
