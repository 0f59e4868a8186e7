/* Comparison of two MILP models (tests and the fuzzer): numbers with ==,
 * names where both sides have them; with range_slack, the lower side of a
 * row with two finite sides may differ by an ulp of the larger side (the
 * one case MPS arithmetic cannot always reproduce, docs/MILP.md). Returns
 * NULL when identical, else what differs (static text). */
#ifndef DOPT_TEST_MILP_COMPARE_H
#define DOPT_TEST_MILP_COMPARE_H

#include <math.h>
#include <string.h>

#include "dopt.h"

static int milp_close_side(double lo_a, double lo_b, double hi)
{
    double scale = fmax(fabs(lo_a), fabs(hi));
    return isfinite(lo_a) && isfinite(hi) && fabs(lo_a - lo_b) <= 2 * (nextafter(scale, HUGE_VAL) - scale);
}

static const char *milp_difference(const dopt_milp *a, const dopt_milp *b, int range_slack)
{
    if (a->n != b->n || a->m != b->m || a->nnz != b->nnz) return "sizes";
    if (a->maximize != b->maximize) return "sense";
    if (a->offset != b->offset) return "objective offset";
    for (int32_t j = 0; j <= a->n; ++j)
        if (a->col_ptr[j] != b->col_ptr[j]) return "column pointers";
    for (int64_t k = 0; k < a->nnz; ++k)
        if (a->row_idx[k] != b->row_idx[k] || a->values[k] != b->values[k]) return "matrix entries";
    for (int32_t j = 0; j < a->n; ++j) {
        if (a->c[j] != b->c[j]) return "objective";
        if (a->col_lo[j] != b->col_lo[j] || a->col_hi[j] != b->col_hi[j]) return "column bounds";
        if (a->integer[j] != b->integer[j]) return "integrality";
        if (a->col_names && b->col_names && a->col_names[j] && b->col_names[j] &&
            strcmp(a->col_names[j], b->col_names[j]))
            return "column names";
    }
    for (int32_t i = 0; i < a->m; ++i) {
        if (a->row_hi[i] != b->row_hi[i]) return "row bounds";
        if (a->row_lo[i] != b->row_lo[i] && !(range_slack && milp_close_side(a->row_lo[i], b->row_lo[i], a->row_hi[i])))
            return "row bounds";
        if (a->row_names && b->row_names && a->row_names[i] && b->row_names[i] &&
            strcmp(a->row_names[i], b->row_names[i]))
            return "row names";
    }
    return NULL;
}

#endif
