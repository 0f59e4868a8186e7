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
    void *y; /* (solves, n); ragged: solve s's at ilp_y_off(v, s) */
    int8_t dt_y;
    void *obj, *bound; /* (solves), optional */
    int8_t dt_obj;
    int32_t *status; /* (solves) */
    int64_t *nodes;  /* (solves), optional */
} ilp_out;

/* A gradient block: rows of G (row doubles each), `len` entries from
 * `offset`, written to out (dtype dt): the batch sum when shared, else
 * batch * len values. A ragged block (rg.n != NULL) instead writes part
 * `part` (ILP_PART_*) of every instance's G row (rows at rg's G offsets)
 * into the concatenated layout, `len` values in all (the host knows the
 * totals; rg's tables may be device memory); row, offset and shared are
 * unused. */
typedef struct ilp_block {
    const double *G;
    int64_t batch;
    size_t row, offset, len;
    int shared;
    void *out;
    int8_t dt;
    ilp_ragged rg;
    int part;
} ilp_block;

/* Output elements of a reduction. */
static inline int64_t ilp_block_count(const ilp_block *b)
{
    return (b->rg.n || b->shared) ? (int64_t)b->len : b->batch * (int64_t)b->len;
}

/* Output element e of a reduction, on either backend. */
DOPT_KFN void ilp_block_elem(const ilp_block *b, int64_t e)
{
    if (b->rg.n)
        ilp_reduce_ragged_elem(&b->rg, b->G, b->part, b->out, b->dt, e);
    else
        ilp_reduce_elem(b->G, b->batch, b->row, b->offset, b->len, b->shared, b->out, b->dt, e);
}

#ifdef __cplusplus
}
#endif
#endif
