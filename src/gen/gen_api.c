/* dopt_gen_params_preset, dopt_gen_instance and dopt_gen_combopt_rows:
 * published sizes, parameter checks, and the CombOptNet families as MILPs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "milp_gen.h"
#include "milp_internal.h"
#include "splitmix.h"

dopt_status dopt_gen_params_preset(dopt_context *ctx, dopt_gen_family family, dopt_gen_size size,
                                   dopt_gen_params *p)
{
    if (!milp_begin(ctx)) return DOPT_ERR_INVALID_ARGUMENT;
    if (!p) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "gen preset: params is NULL");
    if (size < DOPT_GEN_EASY || size > DOPT_GEN_HARD)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "gen preset: unknown size %d (EASY, MEDIUM or HARD)",
                         (int)size);
    if (family < DOPT_GEN_SETCOVER || family > DOPT_GEN_KNAPSACK)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "gen preset: unknown generator family %d", (int)family);
    static const int sc_rows[3] = {500, 1000, 2000}, ca_items[3] = {100, 200, 300}, ca_bids[3] = {500, 1000, 1500};
    static const int cfl_customers[3] = {100, 200, 400}, is_nodes[3] = {500, 1000, 1500};
    static const int rc_m[3] = {2, 4, 8}, wsc_m[3] = {4, 8, 10}, knap_n[3] = {10, 50, 100};
    memset(p, 0, sizeof *p);
    p->family = family;
    p->sc_rows = sc_rows[size], p->sc_cols = 1000, p->sc_density = 0.05, p->sc_max_coef = 100;
    p->ca_items = ca_items[size], p->ca_bids = ca_bids[size], p->ca_add_item_prob = 0.7;
    p->cfl_customers = cfl_customers[size], p->cfl_facilities = 100, p->cfl_ratio = 5;
    p->is_nodes = is_nodes[size], p->is_graph = 0, p->is_affinity = 4, p->is_edge_prob = 0.25;
    switch (family) {
    case DOPT_GEN_RC: p->co_n = 16, p->co_m = rc_m[size]; break;
    case DOPT_GEN_WSC: p->co_m = wsc_m[size], p->co_n = 2 * wsc_m[size]; break;
    case DOPT_GEN_KNAPSACK: p->co_n = knap_n[size], p->co_m = 1; break;
    default: break; /* the Ecole families: set above */
    }
    return DOPT_OK;
}

static dopt_status check_params(const dopt_gen_params *g, char *err, size_t errlen)
{
    const dopt_status bad = DOPT_ERR_INVALID_ARGUMENT;
    switch (g->family) {
    case DOPT_GEN_SETCOVER: {
        double nnz = floor((double)g->sc_rows * g->sc_cols * g->sc_density);
        if (g->sc_rows < 1 || g->sc_cols < 1 || !(g->sc_density > 0 && g->sc_density <= 1) || g->sc_max_coef < 1)
            return milp_error(err, errlen, bad, "set cover needs rows, cols >= 1, density in (0,1], max_coef >= 1");
        if (nnz < g->sc_rows || nnz < 2.0 * g->sc_cols || nnz > 2e9)
            return milp_error(err, errlen, bad,
                              "set cover: rows x cols x density = %.0f must be >= rows and >= 2 cols (and <= 2e9)", nnz);
        if (g->sc_rows < 2) return milp_error(err, errlen, bad, "set cover needs >= 2 rows (each column covers 2)");
        return DOPT_OK;
    }
    case DOPT_GEN_CAUCTION:
        if (g->ca_items < 1 || g->ca_bids < 1 || !(g->ca_add_item_prob >= 0 && g->ca_add_item_prob < 1) ||
            g->ca_items > 20000)
            return milp_error(err, errlen, bad, "auction needs 1 <= items <= 20000, bids >= 1, add_item_prob in [0,1)");
        return DOPT_OK;
    case DOPT_GEN_FACILITY:
        if (g->cfl_customers < 1 || g->cfl_facilities < 1 || !(g->cfl_ratio > 0 && isfinite(g->cfl_ratio)) ||
            (double)g->cfl_customers * g->cfl_facilities > 5e7)
            return milp_error(err, errlen, bad,
                              "facility location needs customers, facilities >= 1 (product <= 5e7), finite ratio > 0");
        return DOPT_OK;
    case DOPT_GEN_INDSET:
        if (g->is_nodes < 1 || g->is_nodes > 40000 || (g->is_graph != 0 && g->is_graph != 1))
            return milp_error(err, errlen, bad, "independent set needs 1 <= nodes <= 40000 and graph 0 (BA) or 1 (ER)");
        if (g->is_graph == 0 && (g->is_affinity < 1 || g->is_affinity > 63 || g->is_affinity >= g->is_nodes))
            return milp_error(err, errlen, bad, "Barabasi-Albert needs 1 <= affinity <= 63 and affinity < nodes");
        if (g->is_graph == 1 && !(g->is_edge_prob >= 0 && g->is_edge_prob <= 1))
            return milp_error(err, errlen, bad, "Erdos-Renyi needs edge_prob in [0,1]");
        return DOPT_OK;
    case DOPT_GEN_RC:
    case DOPT_GEN_WSC:
    case DOPT_GEN_KNAPSACK:
        if (g->co_n < 1 || g->co_m < 1 || g->co_n > 1000000 || g->co_m > 100000 ||
            (double)g->co_n * g->co_m > 1e8)
            return milp_error(err, errlen, bad, "needs n, m >= 1 (n x m <= 1e8)");
        if (g->family == DOPT_GEN_WSC && g->co_n < 1)
            return milp_error(err, errlen, bad, "weighted set cover needs n >= 1 subsets");
        return DOPT_OK;
    default: return milp_error(err, errlen, bad, "unknown generator family %d", (int)g->family);
    }
}

/* dense A y <= b rows into a model over n integer columns in [lo, hi] */
static dopt_milp *dense_model(int n, int m, const double *A, const double *b, double lo, double hi)
{
    milp_triplets t = {0};
    for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j)
            if (A[(size_t)i * n + j] != 0 && !milp_triplets_add(&t, i, j, A[(size_t)i * n + j]))
                return milp_triplets_free(&t), NULL;
    dopt_milp *p = milp_from_triplets(n, m, &t);
    milp_triplets_free(&t);
    if (!p) return NULL;
    for (int j = 0; j < n; ++j) p->integer[j] = 1, p->col_lo[j] = lo, p->col_hi[j] = hi;
    for (int i = 0; i < m; ++i) p->row_hi[i] = b[i];
    return p;
}

static dopt_milp *gen_combopt(const dopt_gen_params *g, uint64_t *rng)
{
    int n = g->co_n, m = g->co_m;
    double *A = calloc((size_t)n * m, 8), *b = calloc((size_t)m, 8);
    dopt_milp *p = NULL;
    if (!A || !b) goto done;
    if (g->family == DOPT_GEN_RC) {
        double lo = g->rc_dense ? -5 : 0, hi = g->rc_dense ? 5 : 1;
        if (gen_rc_rows(rng, n, m, lo, hi, A, b) && (p = dense_model(n, m, A, b, lo, hi)))
            gen_unit_vector(rng, n, p->c);
    } else if (g->family == DOPT_GEN_WSC) {
        gen_wsc_rows(rng, n, m, A, b);
        if ((p = dense_model(n, m, A, b, 0, 1)))
            for (int j = 0; j < n; ++j) p->c[j] = dopt_gen_uniform(rng);
    } else { /* knapsack, uncorrelated: weights and values 1..100, capacity half the weight, m rows */
        double *value = malloc((size_t)n * 8);
        if (!value) goto done;
        for (int j = 0; j < n; ++j) value[j] = 1 + (int)(100 * dopt_gen_uniform(rng));
        for (int i = 0; i < m; ++i) {
            double total = 0;
            for (int j = 0; j < n; ++j) total += A[(size_t)i * n + j] = 1 + (int)(100 * dopt_gen_uniform(rng));
            b[i] = floor(total / 2);
        }
        if ((p = dense_model(n, m, A, b, 0, 1))) {
            p->maximize = 1;
            for (int j = 0; j < n; ++j) p->c[j] = value[j];
        }
        free(value);
    }
done:
    free(A), free(b);
    return p;
}

static dopt_status gen_instance(const dopt_gen_params *g, uint64_t seed, dopt_milp **out, char *err, size_t errlen)
{
    if (!g || !out) return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "NULL argument");
    *out = NULL;
    dopt_status st = check_params(g, err, errlen);
    if (st != DOPT_OK) return st;
    /* one stream per (family, seed) */
    uint64_t rng = seed * 0x9E3779B97F4A7C15ull ^ (0xD1B54A32D192ED03ull * (uint64_t)(g->family + 1));
    dopt_milp *p = NULL;
    switch (g->family) {
    case DOPT_GEN_SETCOVER: p = gen_setcover(g, &rng); break;
    case DOPT_GEN_CAUCTION: p = gen_cauction(g, &rng); break;
    case DOPT_GEN_FACILITY: p = gen_facility(g, &rng); break;
    case DOPT_GEN_INDSET: p = gen_indset(g, &rng); break;
    default: p = gen_combopt(g, &rng); break;
    }
    if (!p) return milp_error(err, errlen, DOPT_ERR_OUT_OF_MEMORY, "out of memory generating the instance");
    static const char *family_name[] = {"setcover", "cauction", "facility", "indset", "rc", "wsc", "knapsack"};
    char name[64];
    snprintf(name, sizeof name, "%s_s%llu", family_name[g->family], (unsigned long long)seed);
    p->name = milp_strdup(name);
    *out = p;
    return DOPT_OK;
}

dopt_status dopt_gen_instance(dopt_context *ctx, const dopt_gen_params *p, uint64_t seed, dopt_milp **out)
{
    if (!milp_begin(ctx)) return DOPT_ERR_INVALID_ARGUMENT;
    char msg[MILP_MSG_LEN] = "";
    return milp_report(ctx, gen_instance(p, seed, out, msg, sizeof msg), msg);
}

dopt_status dopt_gen_combopt_rows(dopt_context *ctx, dopt_gen_family family, int32_t n, int32_t m, int32_t dense,
                                  uint64_t *stream, double *A, double *b)
{
    if (!milp_begin(ctx)) return DOPT_ERR_INVALID_ARGUMENT;
    if (family != DOPT_GEN_RC && family != DOPT_GEN_WSC)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                         "combopt rows: family must be DOPT_GEN_RC or DOPT_GEN_WSC, got %d", (int)family);
    if (n < 1 || m < 1 || (double)n * m > 1e8)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "combopt rows: needs n, m >= 1 (n x m <= 1e8), got %d x %d", n,
                         m);
    if (!stream || !A || !b) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "combopt rows: NULL stream, A or b");
    memset(A, 0, (size_t)n * (size_t)m * sizeof *A);
    memset(b, 0, (size_t)m * sizeof *b);
    if (family == DOPT_GEN_WSC) gen_wsc_rows(stream, n, m, A, b);
    else if (!gen_rc_rows(stream, n, m, dense ? -5 : 0, dense ? 5 : 1, A, b))
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "combopt rows: out of memory");
    return DOPT_OK;
}
