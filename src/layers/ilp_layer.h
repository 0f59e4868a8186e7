/* The ILP layer's compositions (solve, backward rules, perturbed forward,
 * SPO+) on a batch that is uniform or ragged: ilp_api.c implements them once,
 * the uniform entries (ilp_api.c) and the ragged ones (ilp_ragged_api.c)
 * describe their batch and call them. Private to src/layers. */
#ifndef DOPT_ILP_LAYER_H
#define DOPT_ILP_LAYER_H

#include "internal.h"
#include "backend.h"

/* A batch of the ILP layer. v is the plain solve's view (group 1): sizes,
 * data, dtypes, share bits, and for a ragged batch its tables (v.rg, in the
 * backend's memory). The totals are what the outputs and scratch arrays
 * hold, known on the host. */
typedef struct ilp_batch {
    ilp_view v;
    int64_t batch;
    size_t total_n;  /* y, c, dy values: batch * n, or sum n_i */
    size_t total_mn; /* A values */
    size_t total_m;  /* b values */
    size_t total_g;  /* gradient-row doubles: sum (m_i n_i + m_i + n_i) */
    uint32_t shared; /* DOPT_ILP_SHARE_* (never set in a ragged batch) */
} ilp_batch;

/* Options with their defaults filled in; g/gopt may be NULL (no gradient
 * options). Checks batch * samples against the 32-bit noise counter. */
dopt_status ilp_layer_options(dopt_context *ctx, int64_t batch, const dopt_ilp_options *opt, dopt_ilp_options *o,
                              const dopt_ilp_grad_options *gopt, dopt_ilp_grad_options *g);

/* The compositions; arguments checked, batch > 0. */
dopt_status ilp_batch_solve(dopt_context *ctx, const ilp_batch *B, const dopt_ilp_options *o, dopt_ilp_solution *sol);
dopt_status ilp_batch_backward(dopt_context *ctx, const ilp_batch *B, const dopt_ilp_options *o,
                               const dopt_ilp_grad_options *g, const void *y, const int32_t *status, const void *dy,
                               void *dA, void *db, void *dc);
dopt_status ilp_batch_perturbed(dopt_context *ctx, const ilp_batch *B, const dopt_ilp_options *o,
                                const dopt_ilp_grad_options *g, void *y_eps);
dopt_status ilp_batch_spo_plus(dopt_context *ctx, const ilp_batch *B, const dopt_ilp_options *o, const void *c_true,
                               const void *y_true, void *loss, void *dc);

/* Backend memory alive across several backend calls (which use the
 * context's arena themselves); NULL on failure, the caller reports. */
void *ilp_scratch_alloc(dopt_context *ctx, size_t bytes);
void ilp_scratch_free(dopt_context *ctx, void *p);

#endif
