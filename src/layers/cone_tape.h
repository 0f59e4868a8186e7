/* The cone layer's tape (what dopt_cone_backward needs), shared by the
 * layer (src/layers/cone_api.c) and the backends' cone entries. */
#ifndef DOPT_CONE_TAPE_H
#define DOPT_CONE_TAPE_H

#include "internal.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dopt_cone_tape {
    const struct dopt_backend_ops *ops; /* recorded on; frees the buffers below */
    int device;                         /* device the buffers live on */
    dopt_cone_problem prob;             /* prob.cones.q / .s point at q, s below */
    int32_t *q, *s;                     /* host copies of the cone sizes (owned) */
    dopt_cone_options opt;
    size_t keep_per_instance; /* elements: dopt_cone_keep_size */
    /* backend memory, allocated through ops: per instance the KKT matrix at
     * the solution, its factor, (x, y, z) and s; the statuses; the
     * backward's scratch (kept for reuse) */
    void *keep, *status, *adjoint;
    size_t cap_keep, cap_status, cap_adjoint;
};

#ifdef __cplusplus
}
#endif
#endif
