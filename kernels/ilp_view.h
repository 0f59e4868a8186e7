/* A batch of small integer programs as the kernels see it:
 *     minimize c_eff'y  subject to  A y <= b,  lb <= y <= ub,  y integer,
 * one "solve" per instance or per (instance, sample). The arrays keep the
 * caller's precision (each its own dtype) and are read element by element
 * into float64, so float32 data are solved in float64 too.
 *
 * Solve s reads data instance s / group: the perturbed optimizer runs
 * `group` samples of every instance without copying its data. The cost it
 * solves with is
 *     c_eff = c_scale * c + add_scale * c_add + eps * Z(seed, instance, sample),
 * which covers plain solves (1, 0, 0), blackbox differentiation
 * (c + lambda dy), SPO+ (2 c_hat - c_true) and perturbed samples. */
#ifndef DOPT_ILP_VIEW_H
#define DOPT_ILP_VIEW_H

#include "dopt_kernel_common.h"
#include "philox.h"

enum {
    ILP_SHARE_A = 1u << 0,
    ILP_SHARE_B = 1u << 1,
    ILP_SHARE_C = 1u << 2,
    ILP_SHARE_LB = 1u << 3,
    ILP_SHARE_UB = 1u << 4,
    ILP_SHARE_CADD = 1u << 5
};

/* |lb|, |ub| above this are invalid data: y must stay exact in float64 and
 * the tree depth bounded. */
#define ILP_MAX_BOUND 1.0e9

typedef struct {
    int64_t solves;
    int32_t n, m;
    int32_t group; /* solves per data instance, >= 1 */
    const void *c, *A, *b, *lb, *ub, *c_add;
    int8_t dt_c, dt_A, dt_b, dt_lb, dt_ub, dt_cadd; /* 0 float32, 1 float64 */
    uint32_t share;                                  /* ILP_SHARE_* */
    double c_scale, add_scale, eps;
    uint64_t seed;
} ilp_view;

DOPT_KFN double ilp_ld(const void *p, int dt, int64_t i)
{
    return dt ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

DOPT_KFN void ilp_st(void *p, int dt, int64_t i, double v)
{
    if (dt)
        ((double *)p)[i] = v;
    else
        ((float *)p)[i] = (float)v;
}

/* Integer bounds of coordinate j of data instance inst, rounded inward
 * (1e-9 relative slack), default [0, 1]. */
DOPT_KFN void ilp_int_bounds(const ilp_view *v, int64_t inst, int j, double *l, double *u)
{
    double lo = v->lb ? ilp_ld(v->lb, v->dt_lb, ((v->share & ILP_SHARE_LB) ? 0 : inst * v->n) + j) : 0.0;
    double hi = v->ub ? ilp_ld(v->ub, v->dt_ub, ((v->share & ILP_SHARE_UB) ? 0 : inst * v->n) + j) : 1.0;
    *l = ceil(lo - 1e-9 * fmax(1.0, fabs(lo)));
    *u = floor(hi + 1e-9 * fmax(1.0, fabs(hi)));
}

/* b_i = +inf switches row i off for that instance (as h_i = +inf does in
 * the QP layer), so a batch can share A while using different rows. */
DOPT_KFN int ilp_row_absent(double b) { return b > DBL_MAX; }

/* Offset of data instance `inst` in an array of per-instance size `len`. */
DOPT_KFN int64_t ilp_off(const ilp_view *v, uint32_t bit, int64_t inst, int64_t len)
{
    return (v->share & bit) ? 0 : inst * len;
}

/* z (n) of (instance, sample): standard normals, Philox stream 2. */
DOPT_KFN void ilp_noise(uint64_t seed, uint32_t inst, uint32_t sample, int n, double *z)
{
    double g[4];
    for (int j0 = 0; j0 < n; j0 += 4) {
        dopt_normals4(seed, inst, sample, (uint32_t)j0 >> 2, 2, g);
        for (int t = 0; t < 4 && j0 + t < n; ++t) z[j0 + t] = g[t];
    }
}

#endif
