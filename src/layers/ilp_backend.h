/* The ILP part of the backend contract (src/core/backend.h): the outputs of
 * a solve and the gradient blocks a backend reduces into the caller's
 * arrays. ilp_view and ilp_grad_args come from kernels/ (ilp_view.h,
 * ilp_grad.h). Arrays live in the backend's memory. */
#ifndef DOPT_ILP_BACKEND_H
#define DOPT_ILP_BACKEND_H

#include "dopt.h"
#include "ilp_grad.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ilp_out {
    void *y; /* (solves, n) */
    int8_t dt_y;
    void *obj, *bound; /* (solves), optional */
    int8_t dt_obj;
    int32_t *status; /* (solves) */
    int64_t *nodes;  /* (solves), optional */
} ilp_out;

/* A gradient block: rows of G (row doubles each), `len` entries from
 * `offset`, written to out (dtype dt): the batch sum when shared, else
 * batch * len values. */
typedef struct ilp_block {
    const double *G;
    int64_t batch;
    size_t row, offset, len;
    int shared;
    void *out;
    int8_t dt;
} ilp_block;

#ifdef __cplusplus
}
#endif
#endif
