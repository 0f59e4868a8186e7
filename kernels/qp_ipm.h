/* Per-instance QP interior point, instantiated for double (_d) and float (_f).
 * The same header is compiled by the C compiler (CPU backend) and by nvcc. */
#ifndef DOPT_QP_IPM_H
#define DOPT_QP_IPM_H

#include "dopt.h" /* the problem struct the batch is built from */
#include "dopt_kernel_common.h"

/* What an instance's next factorization of K is for (qp_state.stage; see
 * "the solve in phases" in qp_ipm_impl.h). */
enum {
    DOPT_QP_STAGE_START = 0,   /* K at W = I: the start point */
    DOPT_QP_STAGE_ITERATE = 1, /* K at the iterate: a Newton step */
    DOPT_QP_STAGE_TAPE = 2,    /* K at the solution: kept for the backward */
    DOPT_QP_STAGE_DONE = 3     /* no more factorizations */
};

/* The interleaving of the GPU's warp layout (qp_ilv_layouts.h): a warp's
 * threads, one lane each. */
#define DOPT_QP_WARP 32

/* Instances per thread of the warp layout for a batch of B on at most
 * max_threads threads (>= 1): thread t solves [t * per, min((t + 1) * per, B)). */
DOPT_KFN int64_t dopt_qp_warp_per_thread(int64_t B, int64_t max_threads)
{
    return B <= max_threads ? 1 : (B + max_threads - 1) / max_threads;
}


/* Where each instance of a ragged batch lies in the concatenated arrays
 * (element offsets, batch + 1 entries each, in the memory of the code that
 * reads them: host for the CPU, device for CUDA kernels). Precision-free:
 * the same table serves both. Built by src/layers/qp_ragged.c. */
typedef struct {
    const int32_t *n, *m, *k;
    const int64_t *oQ;   /* Q, dQ: n_i^2 */
    const int64_t *on;   /* p, x, dp, dx: n_i */
    const int64_t *oG;   /* G, dG: m_i n_i */
    const int64_t *om;   /* h, lam, dh: m_i */
    const int64_t *oA;   /* A, dA: k_i n_i */
    const int64_t *ok;   /* b, nu, db: k_i */
    const int64_t *keep; /* the tape's kept factorization: qp_work_persist_size */
} dopt_qp_ragged_index;

#define DREAL double
#define DFN(name) name##_d
#define DABS fabs
#define DSQRT sqrt
#define DREAL_EPS DBL_EPSILON
#define DREAL_EPS_3_4 1.8e-12 /* eps^(3/4) */
#define DREAL_MAX DBL_MAX
#define DREAL_MIN_NORMAL DBL_MIN
#define DREAL_REG 3.7e-11 /* eps^(2/3): static regularization, then refinement */
#define DREAL_REFINE_STOP (4 * DBL_EPSILON)
#define DREAL_REFINE_FWD 1.5e-8 /* sqrt(eps) */
#define DREAL_STEP_FRACTION 0.99
#define DREAL_MIXED 0 /* residuals in the working precision (see linalg_impl.h, la_dot_acc) */
#define DREAL_REDUCED_FLOOR 1e-6 /* qp_reduced_tol: 100 x the default tol */
/* Iterations without halving the best merit (the largest relative residual
 * or gap) after which an instance that passes the reduced tolerance stops
 * as DOPT_INST_REDUCED_ACCURACY (qp_ipm_check). float32 waits 3 (1 sent a
 * quarter of random n = 32 QPs to reduced accuracy: a single step that
 * does not halve the merit is common after tau is held); past its floor
 * further steps only crush the complementarity, and the tape's factor at
 * such a point gives poorer gradients, so it does not wait longer. */
#define DREAL_STALL_CHECKS 5
/* Instances per interleaved group (qp_ilv_impl.h): one AVX-512 register of
 * doubles; a compile-time constant so each lane loop is one SIMD body. */
#define DREAL_LANES 8
#include "linalg_impl.h"
#include "qp_ipm_impl.h"
#include "qp_batch_impl.h"
#include "qp_ilv_layouts.h"
#undef DREAL
#undef DFN
#undef DABS
#undef DSQRT
#undef DREAL_EPS
#undef DREAL_EPS_3_4
#undef DREAL_MAX
#undef DREAL_MIN_NORMAL
#undef DREAL_REG
#undef DREAL_REFINE_STOP
#undef DREAL_REFINE_FWD
#undef DREAL_STEP_FRACTION
#undef DREAL_MIXED
#undef DREAL_REDUCED_FLOOR
#undef DREAL_STALL_CHECKS
#undef DREAL_LANES

#define DREAL float
#define DFN(name) name##_f
#define DABS fabsf
#define DSQRT sqrtf
#define DREAL_EPS FLT_EPSILON
#define DREAL_EPS_3_4 6.4e-6f
#define DREAL_MAX FLT_MAX
#define DREAL_MIN_NORMAL FLT_MIN
#define DREAL_REG 2.4e-5f
#define DREAL_REFINE_STOP (4 * FLT_EPSILON)
#define DREAL_REFINE_FWD 3.4e-4f
#define DREAL_STEP_FRACTION 0.99f
#define DREAL_MIXED 1 /* residuals accumulated in double from the float data */
#define DREAL_REDUCED_FLOOR 1e-4f
#define DREAL_STALL_CHECKS 3
#define DREAL_LANES 16 /* one AVX-512 register of floats */
#include "linalg_impl.h"
#include "qp_ipm_impl.h"
#include "qp_batch_impl.h"
#include "qp_ilv_layouts.h"
#undef DREAL
#undef DFN
#undef DABS
#undef DSQRT
#undef DREAL_EPS
#undef DREAL_EPS_3_4
#undef DREAL_MAX
#undef DREAL_MIN_NORMAL
#undef DREAL_REG
#undef DREAL_REFINE_STOP
#undef DREAL_REFINE_FWD
#undef DREAL_STEP_FRACTION
#undef DREAL_MIXED
#undef DREAL_REDUCED_FLOOR
#undef DREAL_STALL_CHECKS
#undef DREAL_LANES

#endif
