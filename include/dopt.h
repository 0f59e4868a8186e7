/* dopt: batched, differentiable solvers for thousands of small optimization
 * problems per call, on the CPU and on CUDA GPUs. The umbrella header: one
 * header per layer, all included here.
 *
 *   dopt_core.h       statuses, the context, conventions of every call
 *   dopt_qp.h         QP / LP layer
 *   dopt_cone.h       cone programs (SOC, PSD) layer
 *   dopt_bern.h       Bernoulli surrogates of binary ILPs
 *   dopt_diffusion.h  diffusion sampling for MILP (SRG)
 *   dopt_ilp.h        exact small ILPs and their gradients
 *   dopt_milp.h       MILP instances, Cbc, predict-and-search
 *   dopt_mps.h        MPS files
 *   dopt_gen.h        MILP instance generators
 *   dopt_npy.h        NumPy .npy files
 *   dopt_npz.h        NumPy .npz archives (several named arrays)
 *   dopt_async.h      asynchronous calls (submit / wait), memory caps */
#ifndef DOPT_H
#define DOPT_H

#include "dopt_core.h"
#include "dopt_qp.h"
#include "dopt_sparse_qp.h"
#include "dopt_cone.h"
#include "dopt_bern.h"
#include "dopt_diffusion.h"
#include "dopt_ilp.h"
#include "dopt_milp.h"
#include "dopt_mps.h"
#include "dopt_gen.h"
#include "dopt_npy.h"
#include "dopt_npz.h"
#include "dopt_async.h"

#endif
