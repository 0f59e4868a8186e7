/* Which layout the CPU QP backend runs a batch in (qp_cpu.c): interleaved
 * lanes (kernels/qp_ilv_impl.h) or one instance per task. Internal: the
 * tests ask it so that they know which path they exercised. */
#ifndef DOPT_QP_CPU_LAYOUT_H
#define DOPT_QP_CPU_LAYOUT_H

#include "dopt_qp.h"

/* 1 when dopt_qp_solve on the CPU backend runs P interleaved: forced by
 * the environment variable DOPT_QP_LAYOUT=lanes (or off by =instance),
 * else chosen by n and the dtype (docs/QP.md, "Interleaved layout"). */
int dopt_qp_cpu_uses_lanes(const dopt_qp_problem *P);

/* The lane count of the interleaved path for a dtype (8 float64, 16 float32). */
int dopt_qp_cpu_lane_width(dopt_dtype dtype);

#endif
