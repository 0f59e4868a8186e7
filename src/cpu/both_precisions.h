/* Includes the file named by DOPT_BOTH_PRECISIONS twice: once for double
 * (DREAL double, DFN(x) x##_d) and once for float (_f), the way the CPU
 * backends instantiate their per-precision code from one source. No include
 * guard: each backend source uses it once, naming its own file. */
#define DREAL double
#define DFN(name) name##_d
#include DOPT_BOTH_PRECISIONS
#undef DREAL
#undef DFN

#define DREAL float
#define DFN(name) name##_f
#include DOPT_BOTH_PRECISIONS
#undef DREAL
#undef DFN
#undef DOPT_BOTH_PRECISIONS
