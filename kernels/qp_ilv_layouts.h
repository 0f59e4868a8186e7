/* The interleaved QP layouts of one precision (included by qp_ipm.h after
 * qp_batch_impl.h, with DREAL / DFN / DREAL_LANES set; no guard on purpose):
 *  - the CPU's SIMD lanes: DREAL_LANES instances per call, interleaved as
 *    wide, names as DFN gives them (qpl_run_d);
 *  - the GPU's warp layout: one instance per call (per thread), interleaved
 *    32 wide so that a warp's threads read consecutive addresses, names
 *    with _warp (qpl_run_warp_d). The CPU compiles it too: the tests run
 *    the code the GPU runs (tests/test_qp_lanes.c). */
#define DREAL_LANE_STRIDE DREAL_LANES
#define LFN(name) DFN(name)
#include "qp_ilv_linalg_impl.h"
#include "qp_ilv_impl.h"
#include "qp_ilv_driver_impl.h"
#undef DREAL_LANE_STRIDE
#undef LFN

#undef DREAL_LANES
#define DREAL_LANES 1
#define DREAL_LANE_STRIDE DOPT_QP_WARP
#define LFN(name) DFN(name##_warp)
#include "qp_ilv_linalg_impl.h"
#include "qp_ilv_impl.h"
#include "qp_ilv_driver_impl.h"
#undef DREAL_LANE_STRIDE
#undef LFN
