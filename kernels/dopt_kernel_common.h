/* Qualifiers shared by the C compiler (CPU backend) and nvcc (CUDA backend).
 * Every per-instance routine in kernels/ is marked DOPT_KFN so the exact same
 * arithmetic runs as one CPU task or one GPU thread. */
#ifndef DOPT_KERNEL_COMMON_H
#define DOPT_KERNEL_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <float.h>
#include <math.h>

#ifdef __CUDACC__
#define DOPT_KFN static __host__ __device__ inline
#define DOPT_RESTRICT __restrict__
#else
#define DOPT_KFN static inline
#define DOPT_RESTRICT restrict
#endif

/* Per-instance outcomes; values are part of the CLI contract (status.npy). */
enum {
    DOPT_INST_SOLVED = 0,
    DOPT_INST_PRIMAL_INFEASIBLE = 1,
    DOPT_INST_DUAL_INFEASIBLE = 2,
    DOPT_INST_ITERATION_LIMIT = 3,
    DOPT_INST_NUMERICAL = 4,
    DOPT_INST_INVALID = 5,
    DOPT_INST_REDUCED_ACCURACY = 6, /* QP: the requested tolerance was out of reach, a looser one met */
    /* internal: still iterating */
    DOPT_INST_RUNNING = -1
};

#endif
