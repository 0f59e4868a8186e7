/* The host-side plan of a ragged QP batch (qp_ragged.c): copies of the
 * sizes, the offsets of every concatenated array, and the order the CPU
 * loop takes the instances in. Built once per call by the layer, handed to
 * the backend entry, and kept by a ragged tape for the backward. All host
 * memory. */
#ifndef DOPT_QP_RAGGED_H
#define DOPT_QP_RAGGED_H

#include "internal.h"
#include "qp_ipm.h" /* dopt_qp_ragged_index */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dopt_qp_ragged_layout {
    int64_t batch;
    int has_Q;                  /* the problem had a Q (else every instance an LP) */
    dopt_qp_ragged_index index; /* points into `block` (host) */
    int64_t *order;             /* instances by estimated cost, largest first */
    int32_t max_n, max_m, max_k;
    size_t max_work;  /* elements: the largest qp_work_size of one instance */
    int64_t total_n, total_m, total_k; /* lengths of x, lam, nu */
    void *block;      /* one allocation behind everything above */
    size_t cap_block; /* its bytes: a tape refilled in place reuses it */
} dopt_qp_ragged_layout;

/* Checks the problem's sizes and pointers and fills *L (reusing its block).
 * Errors are recorded on ctx and name the instance or argument. */
dopt_status dopt_qp_ragged_layout_build(dopt_context *ctx, const dopt_qp_ragged_problem *P,
                                        dopt_qp_ragged_layout *L);
void dopt_qp_ragged_layout_free(dopt_qp_ragged_layout *L);

/* The work one instance costs, in flops up to a constant: per interior-point
 * iteration a Cholesky of n x n (n^3/3), forming G'WG and the equality
 * block ((m + k) n^2), and the triangular solves (n^2). */
double dopt_qp_ragged_cost(int32_t n, int32_t m, int32_t k);

#ifdef __cplusplus
}
#endif
#endif
