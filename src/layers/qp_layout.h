/* Knobs of the QP layer's layouts that both backends read. */
#ifndef DOPT_QP_LAYOUT_H
#define DOPT_QP_LAYOUT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The warp layout's default thread cap: about two waves of resident threads
 * on an H100-class GPU at the kernel's ~250 registers per thread (132 SMs x
 * 8 warps x 32 threads = 33,792), and a bound on its memory (the buffers
 * are per thread, not per instance). */
#define DOPT_QP_WARP_MAX_THREADS 65536

/* The most threads the warp layout runs a batch on: the environment variable
 * DOPT_QP_WARP_THREADS (a positive integer; tests and benchmarks), else
 * DOPT_QP_WARP_MAX_THREADS. Each thread solves ceil(B / threads)
 * consecutive instances, refilling its lane as soon as one is done. */
int64_t dopt_qp_warp_max_threads(void);

#ifdef __cplusplus
}
#endif

#endif
