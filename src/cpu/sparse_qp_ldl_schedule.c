/* The static schedule of the numeric LDL' (kernels/sparse_qp_ldl.h): the
 * elimination tree and L's pattern, found once per structure the way an
 * up-looking LDL' finds them at every factorization (row k's pattern is
 * the set of tree paths from A's entries in column k up to k), and stored
 * by columns (where the values go) and by rows (the order a factorization
 * computes them in). */
#include "sparse_qp_ldl_schedule.h"

#include <stdlib.h>
#include <string.h>

void sqp_ldl_plan_free(sqp_ldl_plan *plan)
{
    free(plan->colp);
    free(plan->colnz);
    free(plan->rowi);
    free(plan->rowp);
    free(plan->rowcol);
    free(plan->rowpos);
    free(plan->tail);
    memset(plan, 0, sizeof *plan);
}

int sqp_ldl_plan_build(sqp_ldl_plan *plan, int64_t N, const int64_t *Ap, const int64_t *Ai)
{
    memset(plan, 0, sizeof *plan);
    size_t n1 = (size_t)N + 1;
    int64_t *parent = (int64_t *)malloc(sizeof(int64_t) * n1), *flag = (int64_t *)malloc(sizeof(int64_t) * n1);
    int64_t *fill = (int64_t *)calloc(n1, sizeof(int64_t));
    plan->colp = (int64_t *)malloc(sizeof(int64_t) * n1);
    plan->colnz = (int64_t *)calloc(n1, sizeof(int64_t));
    plan->rowp = (int64_t *)calloc(n1, sizeof(int64_t));
    plan->tail = (int64_t *)malloc(sizeof(int64_t) * n1);
    int ok = parent && flag && fill && plan->colp && plan->colnz && plan->rowp && plan->tail;
    if (ok) {
        /* the tree and the counts: column i's entries below the diagonal
         * (colnz, the diagonal added below), row k's left of it (rowp) */
        for (int64_t k = 0; k < N; ++k) {
            parent[k] = -1;
            flag[k] = k;
            for (int64_t p = Ap[k]; p < Ap[k + 1]; ++p)
                for (int64_t i = Ai[p]; i < k && flag[i] != k; i = parent[i]) {
                    if (parent[i] == -1) parent[i] = k;
                    ++plan->colnz[i];
                    ++plan->rowp[k + 1];
                    flag[i] = k;
                }
        }
        plan->colp[0] = 0;
        for (int64_t j = 0; j < N; ++j) {
            plan->colnz[j] += 1;
            plan->colp[j + 1] = plan->colp[j] + plan->colnz[j];
            plan->rowp[j + 1] += plan->rowp[j];
        }
        size_t nl = (size_t)plan->colp[N] + 1, nr = (size_t)plan->rowp[N] + 1;
        plan->rowi = (int64_t *)malloc(sizeof(int64_t) * nl);
        plan->rowcol = (int64_t *)malloc(sizeof(int64_t) * nr);
        plan->rowpos = (int64_t *)malloc(sizeof(int64_t) * nr);
        ok = plan->rowi && plan->rowcol && plan->rowpos;
    }
    if (ok) {
        /* columns, rows increasing: row k enters the columns of its pattern
         * in the order k is visited */
        for (int64_t j = 0; j < N; ++j) {
            plan->rowi[plan->colp[j]] = j;
            flag[j] = -1;
        }
        for (int64_t k = 0; k < N; ++k) {
            flag[k] = k;
            for (int64_t p = Ap[k]; p < Ap[k + 1]; ++p)
                for (int64_t i = Ai[p]; i < k && flag[i] != k; i = parent[i]) {
                    plan->rowi[plan->colp[i] + 1 + fill[i]++] = k;
                    flag[i] = k;
                }
        }
        /* each column's consecutive run of rows to its end */
        for (int64_t j = 0; j < N; ++j) {
            int64_t p0 = plan->colp[j] + 1, c = plan->colp[j] + plan->colnz[j];
            if (c > p0) {
                --c;
                while (c > p0 && plan->rowi[c - 1] == plan->rowi[c] - 1) --c;
            }
            plan->tail[j] = c;
        }
        /* rows, columns increasing: column i's entries enter their rows in
         * the order i is visited */
        for (int64_t k = 0; k < N; ++k) fill[k] = plan->rowp[k];
        for (int64_t i = 0; i < N; ++i)
            for (int64_t q = plan->colp[i] + 1; q < plan->colp[i] + plan->colnz[i]; ++q) {
                int64_t t = fill[plan->rowi[q]]++;
                plan->rowcol[t] = i;
                plan->rowpos[t] = q;
            }
        plan->s.N = N;
        plan->s.colp = plan->colp;
        plan->s.colnz = plan->colnz;
        plan->s.rowi = plan->rowi;
        plan->s.rowp = plan->rowp;
        plan->s.rowcol = plan->rowcol;
        plan->s.rowpos = plan->rowpos;
        plan->s.tail = plan->tail;
    }
    free(parent);
    free(flag);
    free(fill);
    if (!ok) sqp_ldl_plan_free(plan);
    return ok;
}
