/* dopt_milp_to_binary_form: a binary model's rows as one-sided CSR rows, the
 * form the Bernoulli surrogate (A x <= b) and SRG's guidance (A x >= b) take. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "milp_internal.h"

void dopt_milp_binary_form_free(dopt_milp_binary_form *r)
{
    if (!r) return;
    free(r->row_ptr), free(r->col_idx), free(r->values), free(r->b), free(r->c);
    memset(r, 0, sizeof *r);
}

dopt_status milp_binary_form(const dopt_milp *p, dopt_milp_row_sense sense, dopt_milp_binary_form *out, char *err,
                             size_t errlen)
{
    if (!out) return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "NULL output");
    memset(out, 0, sizeof *out);
    if (sense != DOPT_MILP_ROWS_LE && sense != DOPT_MILP_ROWS_GE)
        return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "row sense must be DOPT_MILP_ROWS_LE or _GE, got %d",
                          (int)sense);
    const int geq = sense == DOPT_MILP_ROWS_GE;
    dopt_status st = milp_check(p, err, errlen);
    if (st != DOPT_OK) return st;
    for (int32_t j = 0; j < p->n; ++j)
        if (!p->integer[j] || p->col_lo[j] != 0 || p->col_hi[j] != 1)
            return milp_error(err, errlen, DOPT_ERR_UNSUPPORTED, "column %d is not binary (the rows are for {0,1}^n layers)", j);
    /* transpose CSC -> CSR once, then emit one row per finite side */
    int64_t *start = calloc((size_t)p->m + 1, sizeof *start), *fill = NULL;
    int32_t *cols = malloc((size_t)(p->nnz ? p->nnz : 1) * sizeof *cols);
    double *vals = malloc((size_t)(p->nnz ? p->nnz : 1) * sizeof *vals);
    int64_t sides = 0, nz = 0;
    if (!start || !cols || !vals) goto oom;
    for (int64_t k = 0; k < p->nnz; ++k) start[p->row_idx[k] + 1]++;
    for (int32_t i = 0; i < p->m; ++i) start[i + 1] += start[i];
    if (!(fill = malloc((size_t)(p->m ? p->m : 1) * sizeof *fill))) goto oom;
    memcpy(fill, start, (size_t)p->m * sizeof *fill);
    for (int32_t j = 0; j < p->n; ++j)
        for (int64_t k = p->col_ptr[j]; k < p->col_ptr[j + 1]; ++k) {
            int64_t q = fill[p->row_idx[k]]++;
            cols[q] = j, vals[q] = p->values[k];
        }
    for (int32_t i = 0; i < p->m; ++i) {
        int s = isfinite(p->row_lo[i]) + isfinite(p->row_hi[i]);
        sides += s, nz += s * (start[i + 1] - start[i]);
    }
    if (sides > INT32_MAX) {
        free(start), free(fill), free(cols), free(vals);
        return milp_error(err, errlen, DOPT_ERR_UNSUPPORTED, "more than 2^31 row sides");
    }
    out->n = p->n, out->m = (int32_t)sides;
    out->row_ptr = malloc((size_t)(sides + 1) * sizeof *out->row_ptr);
    out->col_idx = malloc((size_t)(nz ? nz : 1) * sizeof *out->col_idx);
    out->values = malloc((size_t)(nz ? nz : 1) * sizeof *out->values);
    out->b = malloc((size_t)(sides ? sides : 1) * sizeof *out->b);
    out->c = malloc((size_t)(p->n ? p->n : 1) * sizeof *out->c);
    if (!out->row_ptr || !out->col_idx || !out->values || !out->b || !out->c) goto oom;
    int64_t r = 0, w = 0;
    out->row_ptr[0] = 0;
    for (int32_t i = 0; i < p->m; ++i)
        for (int side = 0; side < 2; ++side) { /* side 0: lo <= a'x, side 1: a'x <= hi */
            double bound = side ? p->row_hi[i] : p->row_lo[i];
            if (!isfinite(bound)) continue;
            /* a'x >= lo is (-a)'x <= -lo in the <= form; a'x <= hi is (-a)'x >= -hi in the >= form */
            double sign = (side == 0) == (geq != 0) ? 1 : -1;
            for (int64_t k = start[i]; k < start[i + 1]; ++k) out->col_idx[w] = cols[k], out->values[w++] = sign * vals[k];
            out->b[r] = sign * bound;
            out->row_ptr[++r] = w;
        }
    for (int32_t j = 0; j < p->n; ++j) out->c[j] = p->maximize ? -p->c[j] : p->c[j];
    free(start), free(fill), free(cols), free(vals);
    return DOPT_OK;
oom:
    free(start), free(fill), free(cols), free(vals);
    dopt_milp_binary_form_free(out);
    return milp_error(err, errlen, DOPT_ERR_OUT_OF_MEMORY, "out of memory");
}
