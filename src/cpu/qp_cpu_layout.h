/* Which layout the CPU QP backend runs a batch in (qp_cpu.c): interleaved
 * lanes (kernels/qp_ilv_impl.h), one instance per task, or (tests only) the
 * GPU's warp layout emulated. Internal: the tests ask it so that they know
 * which path they exercised. */
#ifndef DOPT_QP_CPU_LAYOUT_H
#define DOPT_QP_CPU_LAYOUT_H

#include "internal.h"

/* 1 when dopt_qp_solve on ctx (CPU backend) runs P interleaved: asked for by
 * the environment variable DOPT_QP_LAYOUT=lanes (=instance: never), else
 * chosen by n, the dtype and the batch size (docs/QP.md, "Interleaved
 * layout"); in both cases never while the context has a host memory cap:
 * there the per-instance layout runs, whose workspace (W times smaller) is
 * what the layer's memory estimate, dopt_qp_memory_cpu, describes. */
int dopt_qp_cpu_uses_lanes(const dopt_context *ctx, const dopt_qp_problem *P);

/* 1 when DOPT_QP_LAYOUT=warp and the context has no host memory cap: the
 * batch then runs the CUDA backend's warp-layout code (kernels/
 * qp_ilv_layouts.h: one instance per thread on a lane of a 32-wide
 * interleaved group) on the CPU, one "thread" after another, so that the
 * CPU tests check the code the GPU runs. Slow; for tests. */
int dopt_qp_cpu_uses_warp(const dopt_context *ctx);

/* The lane count of the interleaved path for a dtype (8 float64, 16 float32). */
int dopt_qp_cpu_lane_width(dopt_dtype dtype);

/* Instances per task of the interleaved driver: ranges of several groups,
 * so that refilling keeps the lanes busy (4 x the lane width). */
int64_t dopt_qp_cpu_lanes_grain(dopt_dtype dtype);

#endif
