/* The static schedule of the sparse QP layer's own numeric LDL'
 * (kernels/sparse_qp_ldl.h, sqp_ldl_numeric): built once per structure
 * from the pattern of the matrix to factor, already in its elimination
 * order. */
#ifndef DOPT_SPARSE_QP_LDL_SCHEDULE_H
#define DOPT_SPARSE_QP_LDL_SCHEDULE_H

#include "sparse_qp_ldl.h"

typedef struct {
    sqp_ldl_schedule s; /* points into the arrays below */
    int64_t *colp, *colnz, *rowi, *rowp, *rowcol, *rowpos, *tail;
} sqp_ldl_plan;

/* The elimination tree, L's pattern by columns and by rows, of the N x N
 * symmetric matrix whose upper triangle is (Ap, Ai) in CSC. 1 on success,
 * 0 when out of memory (plan then holds nothing). */
int sqp_ldl_plan_build(sqp_ldl_plan *plan, int64_t N, const int64_t *Ap, const int64_t *Ai);
void sqp_ldl_plan_free(sqp_ldl_plan *plan);

/* The factor's values: colp[N] doubles (D and L's entries). */
static inline int64_t sqp_ldl_plan_values(const sqp_ldl_plan *plan) { return plan->colp ? plan->colp[plan->s.N] : 0; }

#endif
