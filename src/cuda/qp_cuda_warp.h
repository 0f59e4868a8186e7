/* The CUDA QP layer's warp layout (n < 64 by default; docs/QP.md, "The
 * GPU's warp layout"), in a translation unit of its own (qp_cuda_warp.cu):
 * the interleaved interior point is the QP layer's largest kernel, and a
 * file of its own compiles beside qp_cuda.cu. */
#ifndef DOPT_QP_CUDA_WARP_H
#define DOPT_QP_CUDA_WARP_H

#include <cuda_runtime.h>

#include "dopt.h"

/* Launches the solve of P on stream s on `threads` threads, thread t
 * solving instances [t * per_thread, min((t + 1) * per_thread, B))
 * (dopt_qp_warp_per_thread): lanes holds ceil(threads / 32) groups of
 * qpl_lanes_size_warp values (zeroed by the caller), one `threads` blocks
 * of qpl_one_size_warp, keep the tape's prefix per instance or NULL.
 * Returns the launch's error (execution errors come at the next
 * synchronization). */
extern "C" cudaError_t dopt_qp_cuda_warp_launch(const dopt_qp_problem *P, const dopt_qp_options *o, void *keep,
                                                const dopt_qp_solution *sol, int64_t threads, int64_t per_thread,
                                                void *lanes, void *one, cudaStream_t s);

#endif
