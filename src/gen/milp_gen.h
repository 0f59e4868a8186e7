/* Generator families (private): each returns a new model or NULL when out of memory. */
#ifndef DOPT_MILP_GEN_H
#define DOPT_MILP_GEN_H

#include "dopt.h"

dopt_milp *gen_setcover(const dopt_gen_params *g, uint64_t *rng);
dopt_milp *gen_cauction(const dopt_gen_params *g, uint64_t *rng);
dopt_milp *gen_facility(const dopt_gen_params *g, uint64_t *rng);
dopt_milp *gen_indset(const dopt_gen_params *g, uint64_t *rng);

/* CombOptNet's hidden constraints A y <= b (dense, m x n, zeroed by the caller):
 * random constraints: unit-normal rows through origins in the central half
 * of the box [lo, hi]^n at distance 0.2 (hi - lo), signs flipped so that a
 * random corner is feasible; weighted set cover: n subsets of 1-3 of the m
 * elements, every element covered, rows -sum_{S contains k} y_S <= -1. */
int gen_rc_rows(uint64_t *rng, int n, int m, double lo, double hi, double *A, double *b); /* 0: out of memory */
void gen_wsc_rows(uint64_t *rng, int n, int m, double *A, double *b);
void gen_unit_vector(uint64_t *rng, int n, double *v);

#endif
