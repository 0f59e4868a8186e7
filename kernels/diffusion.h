/* Diffusion (SRG) kernels for double (_d) and float (_f). */
#ifndef DOPT_DIFFUSION_H
#define DOPT_DIFFUSION_H

#include "dopt.h" /* the batch struct */
#include "dopt_kernel_common.h"
#include "philox.h"

#define DREAL double
#define DFN(name) name##_d
#define DABS fabs
#include "diffusion_impl.h"
#undef DREAL
#undef DFN
#undef DABS

#define DREAL float
#define DFN(name) name##_f
#define DABS fabsf
#include "diffusion_impl.h"
#undef DREAL
#undef DFN
#undef DABS

#endif
