/* The four generator families of Gasse et al. (2019) / Ecole, re-implemented
 * from their published algorithms (docs/MILP.md): set covering (Balas & Ho),
 * combinatorial auction (Leyton-Brown's "arbitrary" scheme), capacitated
 * facility location (Cornuejols et al.), independent set (clique partition
 * of a Barabasi-Albert or Erdos-Renyi graph). Our random stream is our own
 * (splitmix64), so instances follow the same distribution as Ecole's, not
 * the same bits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milp_internal.h"
#include "milp_gen.h"
#include "splitmix.h"

static int uniform_int(uint64_t *rng, int lo, int hi) /* inclusive */
{
    int v = lo + (int)floor(dopt_gen_uniform(rng) * (double)(hi - lo + 1));
    return v > hi ? hi : v;
}

/* index drawn with probability weight[k] / sum (weights >= 0, sum > 0) */
static int draw_weighted(uint64_t *rng, const double *weight, int count)
{
    double total = 0;
    for (int k = 0; k < count; ++k) total += weight[k];
    double u = dopt_gen_uniform(rng) * total, acc = 0;
    int last = -1;
    for (int k = 0; k < count; ++k) {
        if (weight[k] <= 0) continue;
        acc += weight[k], last = k;
        if (u < acc) return k;
    }
    return last;
}

static void set_all_binary(dopt_milp *p)
{
    for (int32_t j = 0; j < p->n; ++j) p->integer[j] = 1, p->col_lo[j] = 0, p->col_hi[j] = 1;
}

/* ---- set covering ---- */
dopt_milp *gen_setcover(const dopt_gen_params *g, uint64_t *rng)
{
    int rows = g->sc_rows, cols = g->sc_cols;
    int64_t nnz = (int64_t)floor((double)rows * cols * g->sc_density);
    int32_t *idx = malloc((size_t)nnz * sizeof *idx), *count = calloc((size_t)cols, sizeof *count);
    int32_t *mark = malloc((size_t)rows * sizeof *mark);
    milp_triplets t = {0};
    dopt_milp *p = NULL;
    if (!idx || !count || !mark) goto done;
    /* columns: each at least twice, the rest uniform; counts per column */
    for (int64_t k = 0; k < nnz; ++k) idx[k] = k < 2 * (int64_t)cols ? (int32_t)(k / 2) : uniform_int(rng, 0, cols - 1);
    for (int64_t k = 0; k < nnz; ++k) count[idx[k]]++;
    /* a column cannot hold more than `rows` distinct rows (dense settings):
     * move the excess to the next columns with room (nnz <= rows x cols) */
    for (int j = 0, to = 0; j < cols; ++j)
        while (count[j] > rows) {
            while (count[to] >= rows) to = (to + 1) % cols;
            count[j]--, count[to]++;
        }
    /* rows: the first `rows` slots are a permutation (every row covered), then
     * each column's block is completed with distinct random rows */
    for (int i = 0; i < rows; ++i) idx[i] = i;
    for (int i = rows - 1; i > 0; --i) {
        int k = uniform_int(rng, 0, i), tmp = idx[i];
        idx[i] = idx[k], idx[k] = tmp;
    }
    for (int i = 0; i < rows; ++i) mark[i] = -1;
    int64_t pos = 0;
    for (int j = 0; j < cols; ++j) {
        for (int64_t k = pos; k < pos + count[j]; ++k) {
            if (k < rows) {
                mark[idx[k]] = j;
            } else {
                int r;
                do r = uniform_int(rng, 0, rows - 1);
                while (mark[r] == j);
                idx[k] = r, mark[r] = j;
            }
            if (!milp_triplets_add(&t, idx[k], j, 1.0)) goto done;
        }
        pos += count[j];
    }
    p = milp_from_triplets(cols, rows, &t);
    if (!p) goto done;
    set_all_binary(p);
    for (int j = 0; j < cols; ++j) p->c[j] = uniform_int(rng, 1, g->sc_max_coef);
    for (int i = 0; i < rows; ++i) p->row_lo[i] = 1;
done:
    free(idx), free(count), free(mark), milp_triplets_free(&t);
    return p;
}

/* ---- combinatorial auction ---- */
typedef struct {
    int n;
    const double *interest, *compat; /* compat: n x n, row-normalized */
    double *w;
} ca_ctx;

/* next item: weight interest_k * mean compatibility with the bundle, k not in it */
static int ca_next_item(ca_ctx *c, const uint8_t *in, int bundle_size, uint64_t *rng)
{
    for (int k = 0; k < c->n; ++k) {
        double s = 0;
        if (!in[k])
            for (int q = 0; q < c->n; ++q)
                if (in[q]) s += c->compat[(size_t)q * c->n + k];
        c->w[k] = in[k] ? 0 : c->interest[k] * s / bundle_size;
    }
    int k = draw_weighted(rng, c->w, c->n);
    if (k < 0 || in[k]) /* every weight 0: any item outside the bundle */
        for (k = 0; k < c->n && in[k]; ++k) {}
    return k;
}

typedef struct {
    int32_t *items; /* bundle items, sorted */
    int size;
    double price;
} ca_bid;

static int same_bundle(const ca_bid *a, const int32_t *items, int size)
{
    return a->size == size && !memcmp(a->items, items, (size_t)size * sizeof *items);
}

static int bundle_items(const uint8_t *in, int n, int32_t *out)
{
    int s = 0;
    for (int k = 0; k < n; ++k)
        if (in[k]) out[s++] = k;
    return s;
}

dopt_milp *gen_cauction(const dopt_gen_params *g, uint64_t *rng)
{
    if (g->ca_items < 1 || g->ca_bids < 1) return NULL;
    const size_t un = (size_t)(unsigned)g->ca_items;
    const int n = g->ca_items, n_bids = g->ca_bids, max_sub = 5;
    const double vmin = 1, vmax = 100, deviation = 0.5, additivity = 0.2, budget_factor = 1.5, resale = 0.5;
    double *values = malloc((size_t)n * 8), *compat = calloc((size_t)n * n, 8), *interest = malloc((size_t)n * 8);
    double *pvalue = malloc((size_t)n * 8), *w = malloc((size_t)n * 8);
    uint8_t *in = calloc((size_t)n, 1);
    ca_bid *bids = calloc((size_t)n_bids, sizeof *bids), cand[64], own[8];
    int32_t *items = malloc((size_t)n * 4);
    int32_t *bidder_dummy = malloc((size_t)n_bids * 4);
    milp_triplets t = {0};
    dopt_milp *p = NULL;
    int nb = 0, n_dummy = 0;
    if (!values || !compat || !interest || !pvalue || !w || !in || !bids || !items || !bidder_dummy) goto done;
    for (int k = 0; k < n; ++k) values[k] = vmin + (vmax - vmin) * dopt_gen_uniform(rng);
    for (int a = 0; a < n; ++a)
        for (int b = a + 1; b < n; ++b) compat[(size_t)a * n + b] = compat[(size_t)b * n + a] = dopt_gen_uniform(rng);
    for (int a = 0; a < n; ++a) {
        double s = 0;
        for (int b = 0; b < n; ++b) s += compat[(size_t)a * n + b];
        for (int b = 0; b < n && s > 0; ++b) compat[(size_t)a * n + b] /= s;
    }
    ca_ctx C = {n, interest, compat, w};
    while (nb < n_bids) {
        for (int k = 0; k < n; ++k) {
            interest[k] = dopt_gen_uniform(rng);
            pvalue[k] = values[k] + vmax * deviation * (2 * interest[k] - 1);
        }
        /* the bidder's initial bundle */
        memset(in, 0, un);
        int first = draw_weighted(rng, interest, n), size = 1;
        in[first] = 1;
        while (dopt_gen_uniform(rng) < g->ca_add_item_prob && size < n) in[ca_next_item(&C, in, size, rng)] = 1, ++size;
        size = bundle_items(in, n, items);
        double price = pow(size, 1 + additivity), resale_value = 0;
        for (int q = 0; q < size; ++q) price += pvalue[items[q]], resale_value += values[items[q]];
        if (price < 0) continue;
        int nown = 0;
        own[nown].items = malloc((size_t)size * 4);
        if (!own[nown].items) goto done;
        memcpy(own[nown].items, items, (size_t)size * 4), own[nown].size = size, own[nown++].price = price;
        /* substitutable bundles: one per item of the initial bundle, same size */
        int ncand = 0, init_size = size;
        int32_t init_items[64];
        int nin = init_size < 64 ? init_size : 64;
        memcpy(init_items, items, (size_t)nin * 4);
        for (int q = 0; q < nin; ++q) {
            memset(in, 0, un);
            in[init_items[q]] = 1;
            for (int s = 1; s < init_size; ++s) in[ca_next_item(&C, in, s, rng)] = 1;
            int sz = bundle_items(in, n, items);
            double pr = pow(sz, 1 + additivity), rv = 0;
            for (int r = 0; r < sz; ++r) pr += pvalue[items[r]], rv += values[items[r]];
            cand[ncand].items = malloc((size_t)sz * 4);
            if (!cand[ncand].items) goto done;
            memcpy(cand[ncand].items, items, (size_t)sz * 4), cand[ncand].size = sz, cand[ncand].price = pr;
            w[ncand] = rv; /* resale value */
            ncand++;
        }
        /* highest price first (stable) */
        for (int a = 1; a < ncand; ++a)
            for (int b = a; b > 0 && cand[b].price > cand[b - 1].price; --b) {
                ca_bid tb = cand[b];
                double tw = w[b];
                cand[b] = cand[b - 1], w[b] = w[b - 1], cand[b - 1] = tb, w[b - 1] = tw;
            }
        for (int a = 0; a < ncand; ++a) {
            int keep = nown < max_sub + 1 && nb + nown < n_bids && cand[a].price >= 0 &&
                       cand[a].price <= budget_factor * price && w[a] >= resale * resale_value;
            for (int o = 0; keep && o < nown; ++o) keep = !same_bundle(&own[o], cand[a].items, cand[a].size);
            if (keep) own[nown++] = cand[a];
            else free(cand[a].items);
        }
        /* more than two bids of one bidder: XOR them through a dummy item */
        int dummy = nown > 2 ? n + n_dummy++ : -1;
        for (int o = 0; o < nown; ++o) bids[nb] = own[o], bidder_dummy[nb++] = dummy;
    }
    for (int b = 0; b < nb; ++b) {
        for (int q = 0; q < bids[b].size; ++q)
            if (!milp_triplets_add(&t, bids[b].items[q], b, 1.0)) goto done;
        if (bidder_dummy[b] >= 0 && !milp_triplets_add(&t, bidder_dummy[b], b, 1.0)) goto done;
    }
    /* rows: items with at least one bid, then dummy items (empty rows dropped) */
    {
        int32_t rows_all = n + n_dummy, *renum = malloc((size_t)rows_all * 4), m = 0;
        uint8_t *used = calloc((size_t)rows_all, 1);
        if (!renum || !used) {
            free(renum), free(used);
            goto done;
        }
        for (int64_t k = 0; k < t.len; ++k) used[t.row[k]] = 1;
        for (int r = 0; r < rows_all; ++r) renum[r] = used[r] ? m++ : -1;
        for (int64_t k = 0; k < t.len; ++k) t.row[k] = renum[t.row[k]];
        free(renum), free(used);
        p = milp_from_triplets(nb, m, &t);
        if (!p) goto done;
        set_all_binary(p);
        p->maximize = 1;
        for (int b = 0; b < nb; ++b) p->c[b] = bids[b].price;
        for (int i = 0; i < m; ++i) p->row_hi[i] = 1;
    }
done:
    for (int b = 0; b < nb; ++b) free(bids[b].items);
    free(values), free(compat), free(interest), free(pvalue), free(w), free(in), free(bids), free(items);
    free(bidder_dummy), milp_triplets_free(&t);
    return p;
}

/* ---- capacitated facility location ---- */
dopt_milp *gen_facility(const dopt_gen_params *g, uint64_t *rng)
{
    const int nc = g->cfl_customers, nf = g->cfl_facilities;
    double *cx = malloc((size_t)nc * 8), *cy = malloc((size_t)nc * 8), *fx = malloc((size_t)nf * 8);
    double *fy = malloc((size_t)nf * 8), *demand = malloc((size_t)nc * 8), *cap = malloc((size_t)nf * 8);
    double *fixed = malloc((size_t)nf * 8);
    milp_triplets t = {0};
    dopt_milp *p = NULL;
    if (!cx || !cy || !fx || !fy || !demand || !cap || !fixed) goto done;
    for (int i = 0; i < nc; ++i) cx[i] = dopt_gen_uniform(rng);
    for (int i = 0; i < nc; ++i) cy[i] = dopt_gen_uniform(rng);
    for (int j = 0; j < nf; ++j) fx[j] = dopt_gen_uniform(rng);
    for (int j = 0; j < nf; ++j) fy[j] = dopt_gen_uniform(rng);
    double total_demand = 0, total_cap = 0;
    for (int i = 0; i < nc; ++i) demand[i] = uniform_int(rng, 5, 35), total_demand += demand[i];
    for (int j = 0; j < nf; ++j) cap[j] = uniform_int(rng, 10, 160), total_cap += cap[j];
    for (int j = 0; j < nf; ++j) fixed[j] = uniform_int(rng, 100, 110) * sqrt(cap[j]);
    for (int j = 0; j < nf; ++j) fixed[j] = floor(fixed[j] + uniform_int(rng, 0, 90));
    /* capacities rescaled so that total capacity = ratio x total demand */
    for (int j = 0; j < nf; ++j) cap[j] = floor(cap[j] * g->cfl_ratio * total_demand / total_cap);
    /* columns: y_j (j < nf), then x_ij at nf + i * nf + j.
     * rows: demand_i (nc), capacity_j (nf), total capacity (1), x_ij <= y_j (nc * nf) */
    int32_t n = nf + nc * nf, m = nc + nf + 1 + nc * nf;
    for (int i = 0; i < nc; ++i)
        for (int j = 0; j < nf; ++j) {
            int32_t x = nf + i * nf + j, tight = nc + nf + 1 + i * nf + j;
            if (!milp_triplets_add(&t, i, x, 1.0) || !milp_triplets_add(&t, nc + j, x, demand[i]) ||
                !milp_triplets_add(&t, tight, x, 1.0) || !milp_triplets_add(&t, tight, j, -1.0))
                goto done;
        }
    for (int j = 0; j < nf; ++j)
        if (!milp_triplets_add(&t, nc + j, j, -cap[j]) || !milp_triplets_add(&t, nc + nf, j, cap[j])) goto done;
    p = milp_from_triplets(n, m, &t);
    if (!p) goto done;
    for (int j = 0; j < nf; ++j) p->integer[j] = 1, p->col_hi[j] = 1, p->c[j] = fixed[j];
    for (int i = 0; i < nc; ++i)
        for (int j = 0; j < nf; ++j) {
            double dx = cx[i] - fx[j], dy = cy[i] - fy[j];
            p->col_hi[nf + i * nf + j] = 1;
            p->c[nf + i * nf + j] = sqrt(dx * dx + dy * dy) * 10 * demand[i];
        }
    for (int i = 0; i < nc; ++i) p->row_lo[i] = 1;
    for (int j = 0; j < nf; ++j) p->row_hi[nc + j] = 0;
    p->row_lo[nc + nf] = total_demand;
    for (int k = 0; k < nc * nf; ++k) p->row_hi[nc + nf + 1 + k] = 0;
done:
    free(cx), free(cy), free(fx), free(fy), free(demand), free(cap), free(fixed), milp_triplets_free(&t);
    return p;
}

/* ---- independent set ---- */
dopt_milp *gen_indset(const dopt_gen_params *g, uint64_t *rng)
{
    const int n = g->is_nodes;
    uint8_t *adj = calloc((size_t)n * n, 1), *done_node = calloc((size_t)n, 1);
    int32_t *deg = calloc((size_t)n, 4), *order = malloc((size_t)n * 4), *clique = malloc((size_t)n * 4);
    double *w = malloc((size_t)n * 8);
    milp_triplets t = {0};
    dopt_milp *p = NULL;
    int32_t m = 0;
    if (!adj || !done_node || !deg || !order || !clique || !w) goto done;
#define EDGE(a, b) (adj[(size_t)(a) * n + (b)] = adj[(size_t)(b) * n + (a)] = 1, deg[a]++, deg[b]++)
    if (g->is_graph == 0) { /* Barabasi-Albert: node `aff` joins 0..aff-1, later ones pick aff by degree */
        int aff = g->is_affinity;
        for (int v = aff; v < n; ++v) {
            if (v == aff) {
                for (int u = 0; u < aff; ++u) EDGE(u, v);
                continue;
            }
            for (int u = 0; u < v; ++u) w[u] = deg[u];
            int picked[64], np = 0;
            for (int k = 0; k < aff; ++k) {
                int u = draw_weighted(rng, w, v);
                picked[np++] = u, w[u] = 0; /* without replacement */
            }
            for (int k = 0; k < np; ++k) EDGE(picked[k], v);
        }
    } else { /* Erdos-Renyi */
        for (int a = 0; a < n; ++a)
            for (int b = a + 1; b < n; ++b)
                if (dopt_gen_uniform(rng) < g->is_edge_prob) EDGE(a, b);
    }
#undef EDGE
    /* greedy clique partition: highest degree first, grow by dense neighbors */
    for (int k = 0; k < n; ++k) order[k] = k;
    for (int a = 1; a < n; ++a) /* stable insertion sort by degree, descending */
        for (int b = a; b > 0 && deg[order[b]] > deg[order[b - 1]]; --b) {
            int tmp = order[b];
            order[b] = order[b - 1], order[b - 1] = tmp;
        }
    for (int k = 0; k < n; ++k) {
        int center = order[k];
        if (done_node[center]) continue;
        int size = 0;
        clique[size++] = center, done_node[center] = 1;
        for (int q = k + 1; q < n; ++q) { /* neighbors still left, densest first (order is by degree) */
            int v = order[q], ok = !done_node[v] && adj[(size_t)center * n + v];
            for (int s = 1; ok && s < size; ++s) ok = adj[(size_t)clique[s] * n + v];
            if (ok) clique[size++] = v, done_node[v] = 1;
        }
        if (size > 1) {
            for (int s = 0; s < size; ++s) {
                if (!milp_triplets_add(&t, m, clique[s], 1.0)) goto done;
                for (int s2 = 0; s2 < size; ++s2) adj[(size_t)clique[s] * n + clique[s2]] = 2; /* covered */
            }
            ++m;
        }
    }
    for (int a = 0; a < n; ++a)
        for (int b = a + 1; b < n; ++b)
            if (adj[(size_t)a * n + b] == 1) {
                if (!milp_triplets_add(&t, m, a, 1.0) || !milp_triplets_add(&t, m, b, 1.0)) goto done;
                ++m;
            }
    p = milp_from_triplets(n, m, &t);
    if (!p) goto done;
    set_all_binary(p);
    p->maximize = 1;
    for (int v = 0; v < n; ++v) p->c[v] = 1;
    for (int i = 0; i < m; ++i) p->row_hi[i] = 1;
done:
    free(adj), free(done_node), free(deg), free(order), free(clique), free(w);
    milp_triplets_free(&t);
    return p;
}
