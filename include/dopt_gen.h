/* dopt: the benchmark generators of the ML-for-MILP literature, as MILP
 * models (dopt_milp.h). Part of the public API; include dopt.h (the
 * umbrella) or this header. Host only, like dopt_milp.h: the calls work
 * with a context of any backend and report failures there.
 *
 * Ecole's / Gasse et al. (2019)'s four families and CombOptNet's three,
 * seeded and deterministic (the same file for the same parameters and seed
 * on every machine). docs/MILP.md gives the algorithms. */
#ifndef DOPT_GEN_H
#define DOPT_GEN_H

#include "dopt_milp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dopt_gen_family {
    DOPT_GEN_SETCOVER = 0,   /* Balas & Ho: rows x cols, density, costs 1..max_coef, min */
    DOPT_GEN_CAUCTION = 1,   /* Leyton-Brown "arbitrary" bids, max */
    DOPT_GEN_FACILITY = 2,   /* capacitated facility location (Cornuejols et al.), min */
    DOPT_GEN_INDSET = 3,     /* maximum independent set, clique-partition rows, max */
    DOPT_GEN_RC = 4,         /* CombOptNet random constraints (n = 16, box [0,1] or [-5,5]) */
    DOPT_GEN_WSC = 5,        /* CombOptNet weighted set covering */
    DOPT_GEN_KNAPSACK = 6    /* 0-1 knapsack */
} dopt_gen_family;

typedef enum dopt_gen_size { DOPT_GEN_EASY = 0, DOPT_GEN_MEDIUM = 1, DOPT_GEN_HARD = 2 } dopt_gen_size;

/* What to generate: the family and its sizes. Not options with defaults
 * (the family has none): start from dopt_gen_params_preset and change
 * fields. */
typedef struct dopt_gen_params {
    dopt_gen_family family;
    /* set cover */
    int32_t sc_rows, sc_cols;
    double sc_density;
    int32_t sc_max_coef;
    /* combinatorial auction */
    int32_t ca_items, ca_bids;
    double ca_add_item_prob;
    /* facility location */
    int32_t cfl_customers, cfl_facilities;
    double cfl_ratio;
    /* independent set: graph 0 = Barabasi-Albert (affinity), 1 = Erdos-Renyi (edge_prob) */
    int32_t is_nodes, is_graph, is_affinity;
    double is_edge_prob;
    /* CombOptNet: n variables, m constraints; rc_dense selects the [-5,5] box */
    int32_t co_n, co_m, rc_dense;
} dopt_gen_params;

/* The published parameters: Gasse et al. 2019's easy/medium/hard (CA with
 * add_item_prob 0.7, as Gasse; Ecole >= 0.8 uses 0.65), CombOptNet's sizes
 * for rc/wsc (docs/MILP.md). DOPT_ERR_INVALID_ARGUMENT for an unknown family
 * or size. */
DOPT_API dopt_status dopt_gen_params_preset(dopt_context *ctx, dopt_gen_family family, dopt_gen_size size,
                                            dopt_gen_params *p);
/* *out = a new model (host; free with dopt_milp_free) named FAMILY_sSEED.
 * p is required; bad sizes are DOPT_ERR_INVALID_ARGUMENT with the rule in
 * ctx. */
DOPT_API dopt_status dopt_gen_instance(dopt_context *ctx, const dopt_gen_params *p, uint64_t seed, dopt_milp **out);

/* CombOptNet's hidden constraints alone, for datasets that share one
 * constraint set over many costs (Paulus et al. 2021, Sec. 4.1-4.2; `dopt
 * demo combopt`): A y <= b with A (m x n, row-major) and b (m), host memory,
 * overwritten. family DOPT_GEN_RC: unit-normal rows through origins in the
 * central half of the box [lo, hi]^n = dense ? [-5,5]^n : [0,1]^n at
 * distance 0.2 (hi - lo), signs flipped so that a random corner is
 * feasible; DOPT_GEN_WSC: n subsets of 1-3 of the m elements, every element
 * covered, rows -sum_{S contains k} y_S <= -1. The numbers are drawn from
 * *stream, a splitmix64 state (any value to start; dopt_gen_instance seeds
 * its own), which is advanced past the draws so the caller can continue it
 * (e.g. for the costs). n, m >= 1, n x m <= 1e8. */
DOPT_API dopt_status dopt_gen_combopt_rows(dopt_context *ctx, dopt_gen_family family, int32_t n, int32_t m,
                                           int32_t dense, uint64_t *stream, double *A, double *b);

#ifdef __cplusplus
}
#endif
#endif
