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
 * (c + lambda dy), SPO+ (2 c_hat - c_true) and perturbed samples.
 *
 * Ragged batches (rg.n != NULL): instance i has its own n_i, m_i, and its
 * arrays lie one after another in the concatenations; an offset table gives
 * where each starts. v->n and v->m are then the largest sizes (what a
 * workspace must hold). A uniform batch is the special case whose offsets
 * are inst * size: every per-instance read below goes through ilp_n_of,
 * ilp_m_of and ilp_inst_off, so the same code serves both without padding. */
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

/* Offset kinds of the ragged table: where instance i's values start in an
 * array of per-instance length n_i (c, lb, ub, y, dy), m_i n_i (A), m_i (b)
 * and in the gradient rows (m_i n_i + m_i + n_i doubles each). */
enum { ILP_OFF_N = 0, ILP_OFF_MN = 1, ILP_OFF_M = 2, ILP_OFF_G = 3, ILP_OFF_KINDS = 4 };

/* The per-instance tables of a ragged batch, in the backend's memory; all
 * NULL for a uniform batch. */
typedef struct {
    const int32_t *n, *m; /* (count) sizes */
    const int64_t *off;   /* (ILP_OFF_KINDS, count + 1): kind k's prefix sums at off[k * (count + 1) + i] */
    const int64_t *order; /* (count) the order instances are taken in (largest cost first), or NULL */
    int64_t count;        /* instances */
} ilp_ragged;

typedef struct {
    int64_t solves;
    int32_t n, m;
    int32_t group; /* solves per data instance, >= 1 */
    const void *c, *A, *b, *lb, *ub, *c_add;
    int8_t dt_c, dt_A, dt_b, dt_lb, dt_ub, dt_cadd; /* 0 float32, 1 float64 */
    uint32_t share;                                  /* ILP_SHARE_* */
    double c_scale, add_scale, eps;
    uint64_t seed;
    ilp_ragged rg; /* ragged batch: n, m above are then the largest sizes */
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

/* Sizes of data instance inst. */
DOPT_KFN int ilp_n_of(const ilp_view *v, int64_t inst) { return v->rg.n ? v->rg.n[inst] : v->n; }
DOPT_KFN int ilp_m_of(const ilp_view *v, int64_t inst) { return v->rg.m ? v->rg.m[inst] : v->m; }

/* Per-instance length of offset kind `kind` for sizes n, m. */
DOPT_KFN int64_t ilp_kind_len(int kind, int n, int m)
{
    if (kind == ILP_OFF_N) return n;
    if (kind == ILP_OFF_MN) return (int64_t)m * n;
    if (kind == ILP_OFF_M) return m;
    return (int64_t)m * n + m + n;
}

/* Where data instance inst's values of kind `kind` start in its (not
 * shared) array. */
DOPT_KFN int64_t ilp_inst_off(const ilp_view *v, int kind, int64_t inst)
{
    if (v->rg.off) return v->rg.off[(int64_t)kind * (v->rg.count + 1) + inst];
    return inst * ilp_kind_len(kind, v->n, v->m);
}

/* The same for a parameter that may be shared (bit): a shared one starts at 0. */
DOPT_KFN int64_t ilp_off(const ilp_view *v, uint32_t bit, int64_t inst, int kind)
{
    return (v->share & bit) ? 0 : ilp_inst_off(v, kind, inst);
}

/* Solve s's data instance and sample. */
DOPT_KFN int64_t ilp_inst_of(const ilp_view *v, int64_t s) { return s / v->group; }

/* Where solve s's y (n_i values) starts in a (solves, n)-shaped output: the
 * `group` samples of an instance lie one after another. */
DOPT_KFN int64_t ilp_y_off(const ilp_view *v, int64_t s)
{
    int64_t inst = s / v->group, sample = s % v->group;
    return ilp_inst_off(v, ILP_OFF_N, inst) * v->group + sample * ilp_n_of(v, inst);
}

/* The solve taken at queue position p: instances in rg.order when the batch
 * has one (its samples stay together), else in index order. */
DOPT_KFN int64_t ilp_solve_at(const ilp_view *v, int64_t p)
{
    if (!v->rg.order) return p;
    return v->rg.order[p / v->group] * v->group + p % v->group;
}

/* Integer bounds of coordinate j of data instance inst, rounded inward
 * (1e-9 relative slack), default [0, 1]. */
DOPT_KFN void ilp_int_bounds(const ilp_view *v, int64_t inst, int j, double *l, double *u)
{
    double lo = v->lb ? ilp_ld(v->lb, v->dt_lb, ilp_off(v, ILP_SHARE_LB, inst, ILP_OFF_N) + j) : 0.0;
    double hi = v->ub ? ilp_ld(v->ub, v->dt_ub, ilp_off(v, ILP_SHARE_UB, inst, ILP_OFF_N) + j) : 1.0;
    *l = ceil(lo - 1e-9 * fmax(1.0, fabs(lo)));
    *u = floor(hi + 1e-9 * fmax(1.0, fabs(hi)));
}

/* b_i = +inf switches row i off for that instance (as h_i = +inf does in
 * the QP layer), so a batch can share A while using different rows. */
DOPT_KFN int ilp_row_absent(double b) { return b > DBL_MAX; }

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
