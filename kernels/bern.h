/* Bernoulli surrogate kernels for double (_d) and float (_f). */
#ifndef DOPT_BERN_H
#define DOPT_BERN_H

#include "dopt.h" /* the estimator values */
#include "dopt_kernel_common.h"
#include "philox.h"

/* for every nonzero a = A[i][J] of row i: BODY (CSR, or dense skipping zeros) */
#define DOPT_BERN_FOR_ROW(v, i, J, AV, ...)                                                \
    do {                                                                                   \
        if ((v)->row_ptr) {                                                                 \
            for (int64_t e_ = (v)->row_ptr[i]; e_ < (v)->row_ptr[(i) + 1]; ++e_) {         \
                const int J = (int)((v)->col[e_] - (v)->col0);                             \
                const DREAL AV = (v)->val[e_];                                             \
                __VA_ARGS__                                                                \
            }                                                                              \
        } else {                                                                           \
            const DREAL *row_ = (v)->val + (size_t)(i) * (v)->n;                           \
            for (int J = 0; J < (v)->n; ++J) {                                             \
                const DREAL AV = row_[J];                                                  \
                if (AV == 0) continue;                                                     \
                __VA_ARGS__                                                                \
            }                                                                              \
        }                                                                                  \
    } while (0)

#define DREAL double
#define DFN(name) name##_d
#define DABS fabs
#define DREAL_MAX DBL_MAX
#include "bern_impl.h"
#include "bern_batch_impl.h"
#undef DREAL
#undef DFN
#undef DABS
#undef DREAL_MAX

#define DREAL float
#define DFN(name) name##_f
#define DABS fabsf
#define DREAL_MAX FLT_MAX
#include "bern_impl.h"
#include "bern_batch_impl.h"
#undef DREAL
#undef DFN
#undef DABS
#undef DREAL_MAX

#endif
