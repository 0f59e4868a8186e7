/* dopt: the cone layer (second-order and semidefinite cone programs,
 * homogeneous-embedding interior point, implicit-differentiation gradients).
 * Part of the public API; include dopt.h (the umbrella) or this header.
 * docs/CONE.md describes the form, the algorithm and the derivative. */
#ifndef DOPT_CONE_PUBLIC_H
#define DOPT_CONE_PUBLIC_H

#include "dopt_core.h"
#include "dopt_qp.h" /* the per-instance status codes are the QP layer's */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- cone programs ----------------------------------------------------------
 *   minimize c'x  subject to  Ax = b,  Gx + s = h,  s in K        (per instance)
 * K is the product, in this row order, of the nonnegative orthant R^l_+,
 * second-order cones {(t, u): t >= |u|_2} of sizes q[0..nq-1] (size counts
 * t), and PSD cones of orders s[0..ns-1], each stored as svec: the lower
 * triangle column by column, (1,1), (2,1), ..., (s,1), (2,2), (3,2), ...,
 * (s,s), off-diagonal entries times sqrt(2) (SCS's order; docs/CONE.md says
 * how it maps to Clarabel's). m = l + sum q + sum s(s+1)/2 rows.
 * Shapes (per instance): c n, G m x n, h m, A k x n, b k, row-major.
 * One cone structure per call; each of c, G, h, A, b is per instance
 * (leading batch dimension) or shared (its DOPT_CONE_SHARE_* bit set).
 * The cone size arrays q and s are HOST memory; the data arrays are BACKEND
 * memory (host for the CPU backend, device for CUDA). */
enum {
    DOPT_CONE_SHARE_C = 1u << 0,
    DOPT_CONE_SHARE_G = 1u << 1,
    DOPT_CONE_SHARE_H = 1u << 2,
    DOPT_CONE_SHARE_A = 1u << 3,
    DOPT_CONE_SHARE_B = 1u << 4
};

typedef struct dopt_cone_dims {
    int32_t l;        /* orthant rows, >= 0 */
    int32_t nq;       /* number of second-order cones, >= 0 */
    const int32_t *q; /* host, nq sizes, each >= 1 (NULL when nq = 0) */
    int32_t ns;       /* number of PSD cones, >= 0 */
    const int32_t *s; /* host, ns matrix orders, each >= 1 (NULL when ns = 0) */
} dopt_cone_dims;

typedef struct dopt_cone_problem {
    int64_t batch;
    int32_t n, k; /* variables (>= 1) and equality rows (>= 0); m follows from cones */
    dopt_cone_dims cones;
    dopt_dtype dtype;
    const void *c, *G, *h, *A, *b; /* A, b NULL when k = 0 (G, h when m = 0) */
    uint32_t shared;               /* DOPT_CONE_SHARE_* bits */
} dopt_cone_problem;

/* The number of cone rows m of a cone structure (0 when it is malformed). */
DOPT_API int64_t dopt_cone_rows(const dopt_cone_dims *cones);

typedef struct dopt_cone_options {
    double tol;       /* relative residuals and gap; default 1e-8 (f64), 1e-4 (f32) */
    double tol_inf;   /* infeasibility certificates; default 1e-8 (f64), 1e-5 (f32) */
    int32_t max_iter; /* default 100 */
    int32_t refine;   /* iterative refinement steps per KKT solve; default 3 */
} dopt_cone_options;

/* Fills the defaults for a dtype; zero fields passed to dopt_cone_solve
 * also mean "default". */
DOPT_API void dopt_cone_options_default(dopt_cone_options *opt, dopt_dtype dtype);

/* Outputs, caller-allocated in the backend's memory, of the problem's dtype:
 * x (batch,n), s (batch,m), z (batch,m) (the cone duals, z in K: K is
 * self-dual), y (batch,k); status and iters (batch) int32 with the QP
 * layer's codes (DOPT_INST_* in docs/QP.md: 0 solved, 1 primal infeasible,
 * 2 dual infeasible, 3 iteration limit, 4 numerical, 5 invalid data,
 * 6 solved to reduced accuracy: only 100 tol met when a step could not be
 * computed; outputs and gradients as for 0).
 * s, z may be NULL when m = 0, y when k = 0; iters may be NULL.
 * Status 1: y, z hold a Farkas certificate (A'y + G'z ~ 0, z in K,
 * b'y + h'z = -1), x and s are 0. Status 2: x, s hold a recession
 * direction (Ax ~ 0, Gx + s ~ 0, s in K, c'x = -1), y and z are 0.
 * Status 3: the last iterate, divided by tau. Status 4 and 5: zeros. */
typedef struct dopt_cone_solution {
    void *x, *s, *z, *y;
    int32_t *status, *iters;
} dopt_cone_solution;

/* What the backward pass needs: per instance the Jacobian of the residual
 * map at the solution (docs/CONE.md "Backward") and its LU factors, made at
 * the end of the forward, and copies of x, y, z, s. It refers to the
 * problem's arrays, which must stay alive and unchanged until the tape is
 * destroyed; the cone size arrays are copied. */
typedef struct dopt_cone_tape dopt_cone_tape;

/* Solves the batch. With tape != NULL also records *tape (memory: batch *
 * (2 N^2 + 2 N + m) values, N = n + k + m). *tape must be NULL or a tape of
 * an earlier call, which is then refilled in place (a tape recorded on
 * another backend or device is destroyed and replaced). On failure *tape is
 * NULL. A batch of 0 needs no data pointers. */
DOPT_API dopt_status dopt_cone_solve(dopt_context *ctx, const dopt_cone_problem *prob,
                                     const dopt_cone_options *opt, dopt_cone_solution *sol,
                                     dopt_cone_tape **tape);

/* Incoming gradients (backend memory): dL/dx (batch,n) required; dL/ds,
 * dL/dz (batch,m) and dL/dy (batch,k) optional (NULL = zero). */
typedef struct dopt_cone_grad_in {
    const void *dx, *ds, *dz, *dy;
} dopt_cone_grad_in;

/* Outgoing gradients (backend memory), each optional (NULL = not wanted),
 * shaped like the parameter: a shared parameter gets the sum over the
 * batch (zero for an empty batch). Instances without a solution (status
 * other than 0 and 6) contribute zero. */
typedef struct dopt_cone_grad_out {
    void *dc, *dG, *dh, *dA, *db;
} dopt_cone_grad_out;

/* Implicit differentiation of the optimality conditions at the solution
 * (the residual map with the cones' projections, docs/CONE.md "Backward"):
 * one solve per instance with the tape's LU factors. The tape can be used
 * repeatedly. */
DOPT_API dopt_status dopt_cone_backward(dopt_context *ctx, const dopt_cone_tape *tape,
                                        const dopt_cone_grad_in *gin, dopt_cone_grad_out *gout);
DOPT_API void dopt_cone_tape_destroy(dopt_cone_tape *tape);

#ifdef __cplusplus
}
#endif
#endif
