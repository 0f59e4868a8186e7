/* The CPU QP backends' tapes (uniform and ragged): copies of the solution
 * kept for the backward pass. */
#ifndef DOPT_QP_CPU_TAPE_H
#define DOPT_QP_CPU_TAPE_H

#include "internal.h"

/* Keeps x (nx values), lam (nl), nu (nn) of element size es and the batch's
 * statuses in the tape's buffers (grown only when needed). DOPT_OK, or
 * DOPT_ERR_OUT_OF_MEMORY with "<who>: out of memory for the tape". */
dopt_status dopt_qp_cpu_tape_keep_solution(dopt_context *ctx, const char *who, dopt_qp_tape *tape,
                                           const dopt_qp_solution *sol, size_t es, size_t nx, size_t nl, size_t nn,
                                           int64_t batch);

#endif
