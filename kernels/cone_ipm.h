/* Per-instance cone-program interior point and its adjoint, instantiated
 * for double (_d) and float (_f). The same header is compiled by the C
 * compiler (CPU backend) and by nvcc (CUDA backend). */
#ifndef DOPT_CONE_IPM_H
#define DOPT_CONE_IPM_H

#include "dopt.h"
#include "dopt_kernel_common.h"

/* The cone structure as the kernels read it: q and s in the memory of the
 * code that runs them (host for the CPU, device for CUDA kernels); the
 * derived sizes are filled by dopt_cone_layout_of. Precision-free. */
typedef struct {
    int32_t l, nq, ns;
    const int32_t *q, *s;
    int32_t m;      /* rows: l + sum q + sum s(s+1)/2 */
    int32_t nw;     /* scaling storage: l + sum q^2 + sum (s(s+1)/2)^2 */
    int32_t smax;   /* largest PSD order (0 when none) */
    int32_t qmax;   /* largest second-order cone (0 when none) */
    int32_t degree; /* l + nq + sum s: the barrier parameter */
} dopt_cone_layout;

/* svec position of entry (i, j), i >= j, of an s x s symmetric matrix */
DOPT_KFN int dopt_cone_svec_index(int s, int i, int j)
{
    return j * s - j * (j - 1) / 2 + (i - j);
}

/* The layout of a (checked) public cone structure, reading its host size
 * arrays; q_mem, s_mem: where the kernels will read them (the same arrays
 * on the CPU, device copies for CUDA). */
static inline dopt_cone_layout dopt_cone_layout_of(const dopt_cone_dims *d, const int32_t *q_mem,
                                                   const int32_t *s_mem)
{
    dopt_cone_layout L;
    L.l = d->l;
    L.nq = d->nq;
    L.ns = d->ns;
    L.q = q_mem;
    L.s = s_mem;
    L.m = d->l;
    L.nw = d->l;
    L.smax = 0;
    L.qmax = 0;
    L.degree = d->l + d->nq;
    for (int c = 0; c < d->nq; ++c) {
        L.m += d->q[c];
        L.nw += d->q[c] * d->q[c];
        if (d->q[c] > L.qmax) L.qmax = d->q[c];
    }
    for (int c = 0; c < d->ns; ++c) {
        int t = d->s[c] * (d->s[c] + 1) / 2;
        L.m += t;
        L.nw += t * t;
        L.degree += d->s[c];
        if (d->s[c] > L.smax) L.smax = d->s[c];
    }
    return L;
}

/* Sizes of one instance's workspace and of its tape slot, in elements. */
DOPT_KFN size_t dopt_cone_work_size(int n, int k, const dopt_cone_layout *L)
{
    size_t N = (size_t)n + (size_t)k + (size_t)L->m, sm = (size_t)L->smax;
    size_t R = (size_t)n + (size_t)k; /* Gs (m x n) and the normal equations' factor (R x R) */
    return (size_t)L->m * (size_t)n + R * R + 10 * N + 14 * (size_t)L->m + 2 * (size_t)L->nw + 8 * sm * sm + 5 * sm + (size_t)L->qmax + 32;
}
DOPT_KFN size_t dopt_cone_keep_size(int n, int k, const dopt_cone_layout *L)
{
    size_t N = (size_t)n + (size_t)k + (size_t)L->m;
    /* the backward's matrix at the solution, its LU and pivots, (x, y, z), s */
    return 2 * N * N + 2 * N + (size_t)L->m;
}

/* The termination fallback: an iterate within this factor of the tolerance
 * counts as solved when the next step cannot be computed (docs/CONE.md). */
#define DOPT_CONE_NEAR 100

#define DREAL double
#define DFN(name) name##_d
#define DABS fabs
#define DSQRT sqrt
#define DFREXP frexp
#define DLDEXP ldexp
#define DREAL_EPS DBL_EPSILON
#define DREAL_MAX_EXP DBL_MAX_EXP
#define DREAL_MAX DBL_MAX
#define DREAL_MIN DBL_MIN
#define DREAL_CONE_REG 1e-10   /* static regularization of the KKT matrix */
#define DREAL_CONE_TINY 1e-14  /* a pivot below this is replaced ... */
#define DREAL_CONE_BUMP 1e-8   /* ... by this (dynamic regularization) */
#define DREAL_STEP_FRACTION 0.99
#include "cone_linalg_impl.h"
#include "cone_ops_impl.h"
#include "cone_ipm_impl.h"
#undef DREAL
#undef DFN
#undef DABS
#undef DSQRT
#undef DFREXP
#undef DLDEXP
#undef DREAL_EPS
#undef DREAL_MAX_EXP
#undef DREAL_MAX
#undef DREAL_MIN
#undef DREAL_CONE_REG
#undef DREAL_CONE_TINY
#undef DREAL_CONE_BUMP
#undef DREAL_STEP_FRACTION

#define DREAL float
#define DFN(name) name##_f
#define DABS fabsf
#define DSQRT sqrtf
#define DFREXP frexpf
#define DLDEXP ldexpf
#define DREAL_EPS FLT_EPSILON
#define DREAL_MAX_EXP FLT_MAX_EXP
#define DREAL_MAX FLT_MAX
#define DREAL_MIN FLT_MIN
#define DREAL_CONE_REG 1e-6f
#define DREAL_CONE_TINY 1e-7f
#define DREAL_CONE_BUMP 1e-4f
#define DREAL_STEP_FRACTION 0.99f
#include "cone_linalg_impl.h"
#include "cone_ops_impl.h"
#include "cone_ipm_impl.h"
#undef DREAL
#undef DFN
#undef DABS
#undef DSQRT
#undef DFREXP
#undef DLDEXP
#undef DREAL_EPS
#undef DREAL_MAX_EXP
#undef DREAL_MAX
#undef DREAL_MIN
#undef DREAL_CONE_REG
#undef DREAL_CONE_TINY
#undef DREAL_CONE_BUMP
#undef DREAL_STEP_FRACTION
#undef DOPT_CONE_SQRT2

#endif
