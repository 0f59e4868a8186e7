/* The host-side plan of a ragged QP batch (qp_ragged.c): copies of the
 * sizes, the offsets of every concatenated array, and the order the CPU
 * loop takes the instances in. Built once per call by the layer, handed to
 * the backend entry, and kept by a ragged tape for the backward. All host
 * memory. */
#ifndef DOPT_QP_RAGGED_H
#define DOPT_QP_RAGGED_H

#include "internal.h"
#include "qp_ipm.h" /* dopt_qp_ragged_index */

struct dopt_backend_ops;
struct dopt_qp_ragged_groups;

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
    size_t bytes;     /* its bytes in use */
    size_t cap_block; /* its bytes: a tape refilled in place reuses it */
} dopt_qp_ragged_layout;

/* Checks the problem's sizes and pointers and fills *L (reusing its block).
 * Errors are recorded on ctx and name the instance or argument. */
/* The options with defaults filled (zero fields and NULL: the defaults),
 * checked; `who` starts the message (qp_api.c; shared by both QP entries). */
dopt_status dopt_qp_resolve_options(dopt_context *ctx, const char *who, dopt_dtype dtype, const dopt_qp_options *opt,
                                    dopt_qp_options *out);

/* The caller's tape for refilling (*tape_out set to NULL until the call
 * succeeds), or NULL: none, or one recorded on another backend or device
 * (destroyed). Shared by both QP entries (qp_api.c). */
dopt_qp_tape *dopt_qp_take_tape(dopt_context *ctx, dopt_qp_tape **tape_out);

dopt_status dopt_qp_ragged_layout_build(dopt_context *ctx, const dopt_qp_ragged_problem *P,
                                        dopt_qp_ragged_layout *L);
void dopt_qp_ragged_layout_free(dopt_qp_ragged_layout *L);

/* The work one instance costs, in flops up to a constant: per interior-point
 * iteration a Cholesky of n x n (n^3/3), forming G'WG and the equality
 * block ((m + k) n^2), and the triangular solves (n^2). */
double dopt_qp_ragged_cost(int32_t n, int32_t m, int32_t k);


/* ---- size classes (qp_ragged_group.c): the grouped path ----
 * One data movement between a ragged batch and one class's uniform batch,
 * run by a backend (one task or thread per slot) with the kernels/ pad and
 * unpad functions. Every pointer is backend memory (the index too). */
enum {
    DOPT_QP_RAGGED_PAD_DATA = 0,     /* r = Q p G h A b  -> c = class Q p G h A b */
    DOPT_QP_RAGGED_PAD_GRAD_IN = 1,  /* r = gx glam gnu  -> c = class gx glam gnu */
    DOPT_QP_RAGGED_UNPAD_SOLUTION = 2, /* c = class x lam nu (+status, iters) -> r = x lam nu */
    DOPT_QP_RAGGED_UNPAD_GRADS = 3   /* c = class dQ dp dG dh dA db -> r = dQ dp dG dh dA db */
};
typedef struct dopt_qp_ragged_move {
    int what; /* DOPT_QP_RAGGED_* */
    dopt_dtype dtype;
    dopt_qp_ragged_index ix;
    const int64_t *members; /* the class's instances, one per slot */
    int64_t count;
    int32_t N, M, K;
    void *r[6];
    void *c[6];
    int32_t *rstatus, *riters;
    const int32_t *cstatus, *citers;
} dopt_qp_ragged_move;

/* The scheduling policy of a context (dopt_context_set_ragged_policy). */
typedef struct {
    int policy;
    double max_pad_waste;
} dopt_qp_ragged_policy;

/* Grouped solve and backward (qp_ragged_group.c), used when the policy asks
 * for classes or the backend has no native ragged entry. The solve records
 * its classes in tape->groups when tape != NULL. */
dopt_status dopt_qp_ragged_group_solve(dopt_context *ctx, const dopt_qp_ragged_problem *P,
                                       const dopt_qp_ragged_layout *L, const dopt_qp_options *o,
                                       dopt_qp_solution *sol, dopt_qp_tape *tape);
dopt_status dopt_qp_ragged_group_backward(dopt_context *ctx, const dopt_qp_tape *tape, const dopt_qp_grad_in *gin,
                                          dopt_qp_grad_out *gout);
/* Number of classes and of padded slots (instances whose sizes are below
 * their class's) in a tape recorded by the grouped path (tests). */
void dopt_qp_ragged_group_stats(const dopt_qp_tape *tape, int64_t *classes, int64_t *padded);
/* Frees a tape's classes (their buffers through the recording table). */
void dopt_qp_ragged_groups_free(struct dopt_qp_ragged_groups *g, const struct dopt_backend_ops *ops, int device);

#ifdef __cplusplus
}
#endif
#endif
