/* Closest-feasible QPs (dopt_qp_options.infeasible_mode =
 * DOPT_QP_INFEASIBLE_CLOSEST): run after the batch's ordinary solve, on the
 * instances it found infeasible only. qp_closest.c; the maths is
 * docs/QP.md, "Closest feasible problems". */
#ifndef DOPT_QP_CLOSEST_H
#define DOPT_QP_CLOSEST_H

#include "internal.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dopt_qp_closest;

/* Re-solves the instances of sol whose status is DOPT_PRIMAL_INFEASIBLE as
 * closest-feasible problems, overwriting their x, lam, nu, status (7, or
 * the failing sub-solve's status) and iters (the three solves' sum). With
 * tape != NULL, leaves what the backward needs in tape->closest (replacing
 * an earlier one). */
dopt_status dopt_qp_closest_solve(dopt_context *ctx, const dopt_qp_problem *P, const dopt_qp_options *o,
                                  dopt_qp_solution *sol, dopt_qp_tape *tape);

/* Adds the closest-feasible instances' gradients to gout, which the
 * ordinary backward has filled (zero for those instances). */
dopt_status dopt_qp_closest_backward(dopt_context *ctx, const dopt_qp_tape *tape, const dopt_qp_grad_in *gin,
                                     dopt_qp_grad_out *gout);

void dopt_qp_closest_free(struct dopt_qp_closest *c, const struct dopt_backend_ops *ops, int device);

#ifdef __cplusplus
}
#endif
#endif
