/* Diffusion (SRG) kernels for double (_d) and float (_f). */
#ifndef DOPT_DIFFUSION_H
#define DOPT_DIFFUSION_H

#include "dopt.h" /* the batch struct */
#include "dopt_kernel_common.h"
#include "philox.h"

#include <stdio.h>

/* What diff_check_csr found wrong with an instance's CSR rows. */
enum {
    DOPT_DIFF_CSR_OK = 0,
    DOPT_DIFF_CSR_OFFSETS = 1, /* row_ptr[row] < 0 or row_ptr[row + 1] < row_ptr[row] */
    DOPT_DIFF_CSR_COLUMN = 2,  /* a column index outside [0, n) */
    DOPT_DIFF_CSR_MISSING = 3  /* the row has entries but col_idx or values is NULL */
};

/* The message for what diff_check_csr found (host code of both backends).
 * col_lo: a block batch's var_ptr[inst] (its columns are [col_lo, col_lo +
 * n)), or -1 for a uniform batch (columns [0, n)). */
static inline void dopt_diff_csr_message(char *buf, size_t len, const char *what, int shared, long long inst,
                                         int code, int row, int32_t col, int n, long long col_lo)
{
    char who[64];
    if (shared) snprintf(who, sizeof who, "the shared A, row %d", row);
    else snprintf(who, sizeof who, "instance %lld, row %d", inst, row);
    if (code == DOPT_DIFF_CSR_OFFSETS)
        snprintf(buf, len, "%s: CSR A, %s: row_ptr offsets must be >= 0 and non-decreasing", what, who);
    else if (code == DOPT_DIFF_CSR_COLUMN && col_lo >= 0)
        snprintf(buf, len, "%s: CSR A, %s: column index %d outside the instance's variables [%lld, %lld)", what, who,
                 (int)col, col_lo, col_lo + n);
    else if (code == DOPT_DIFF_CSR_COLUMN)
        snprintf(buf, len, "%s: CSR A, %s: column index %d outside [0, n = %d)", what, who, (int)col, n);
    else
        snprintf(buf, len, "%s: CSR A, %s: the row has entries but col_idx or values is NULL", what, who);
}

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
