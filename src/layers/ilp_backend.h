/* The contract between the ILP entry points (ilp_api.c) and the backends:
 * solve a view, compute per-instance gradient rows, reduce rows into the
 * caller's outputs. Arrays live in the backend's memory. */
#ifndef DOPT_ILP_BACKEND_H
#define DOPT_ILP_BACKEND_H

#include "internal.h"
#include "ilp_grad.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
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
typedef struct {
    const double *G;
    int64_t batch;
    size_t row, offset, len;
    int shared;
    void *out;
    int8_t dt;
} ilp_block;

#define DOPT_ILP_PROTOS(SUFFIX)                                                                                    \
    dopt_status dopt_ilp_solve_##SUFFIX(dopt_context *ctx, const ilp_view *v, const dopt_ilp_options *o,            \
                                       const ilp_out *out);                                                      \
    dopt_status dopt_ilp_grad_##SUFFIX(dopt_context *ctx, const ilp_view *v, const ilp_grad_args *ga, int64_t batch); \
    dopt_status dopt_ilp_reduce_##SUFFIX(dopt_context *ctx, const ilp_block *blk);
DOPT_ILP_PROTOS(cpu)
DOPT_ILP_PROTOS(cuda)

#ifdef __cplusplus
}
#endif
#endif
