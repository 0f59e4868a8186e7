/* The exact small-ILP solver (kernels/ilp_solver.h, via dopt_ilp_solve) as a
 * MILP backend: all-integer models with finite bounds, each row side one
 * row of A y <= b. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "milp_backend.h"
#include "milp_internal.h"

enum { EXACT_MAX_DIM = 256 };

static int64_t exact_rows(const dopt_milp *p)
{
    int64_t rows = 0;
    for (int32_t i = 0; i < p->m; ++i) rows += isfinite(p->row_hi[i]) + isfinite(p->row_lo[i]);
    return rows;
}

const char *milp_exact_unsuitable(const dopt_milp *p, const dopt_milp_options *opt)
{
    if (opt->relax) return "LP relaxations need Cbc";
    if (p->n > EXACT_MAX_DIM) return "more than 256 columns";
    if (exact_rows(p) > EXACT_MAX_DIM) return "more than 256 row sides";
    for (int32_t j = 0; j < p->n; ++j) {
        if (!p->integer[j]) return "it has continuous columns";
        if (!(fabs(p->col_lo[j]) <= 1e9 && fabs(p->col_hi[j]) <= 1e9)) return "a column bound is infinite or beyond 1e9";
    }
    return "";
}

dopt_status milp_solve_exact(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                             size_t errlen)
{
    int32_t n = p->n, m = (int32_t)exact_rows(p);
    double sense = p->maximize ? -1 : 1;
    double *A = calloc((size_t)(m ? m : 1) * (size_t)(n ? n : 1), 8), *b = calloc((size_t)(m ? m : 1), 8);
    double *c = malloc((size_t)(n ? n : 1) * 8), *y = calloc((size_t)(n ? n : 1), 8);
    dopt_context *ctx = NULL;
    dopt_status st = DOPT_ERR_OUT_OF_MEMORY;
    if (!A || !b || !c || !y) goto done;
    /* row sides: hi gives a'x <= hi, lo gives -a'x <= -lo */
    int32_t *pos = malloc((size_t)(p->m ? p->m : 1) * 2 * sizeof *pos);
    if (!pos) goto done;
    int32_t r = 0;
    for (int32_t i = 0; i < p->m; ++i) {
        pos[2 * i] = isfinite(p->row_hi[i]) ? r++ : -1;
        pos[2 * i + 1] = isfinite(p->row_lo[i]) ? r++ : -1;
        if (pos[2 * i] >= 0) b[pos[2 * i]] = p->row_hi[i];
        if (pos[2 * i + 1] >= 0) b[pos[2 * i + 1]] = -p->row_lo[i];
    }
    for (int32_t j = 0; j < n; ++j) {
        c[j] = sense * p->c[j];
        for (int64_t k = p->col_ptr[j]; k < p->col_ptr[j + 1]; ++k) {
            int32_t i = p->row_idx[k];
            if (pos[2 * i] >= 0) A[(size_t)pos[2 * i] * n + j] = p->values[k];
            if (pos[2 * i + 1] >= 0) A[(size_t)pos[2 * i + 1] * n + j] = -p->values[k];
        }
    }
    free(pos);
    st = dopt_context_create(&ctx, DOPT_BACKEND_CPU);
    if (st != DOPT_OK) {
        milp_error(err, errlen, st, "cannot create a CPU context");
        goto done;
    }
    dopt_context_set_threads(ctx, 1);
    dopt_ilp_problem P = {1, n, m, DOPT_FLOAT64, c, A, b, p->col_lo, p->col_hi, 0};
    /* the ILP layer takes limits below 1e9 s; longer (or +inf) is no limit, as for Cbc */
    dopt_ilp_options o = {0, opt->time_limit < 1e9 ? opt->time_limit : 0};
    double obj = 0, bound = 0;
    int32_t status = 0;
    int64_t nodes = 0;
    dopt_ilp_solution S = {y, &obj, &bound, &status, &nodes};
    double t0 = milp_wall_seconds();
    st = dopt_ilp_solve(ctx, &P, &o, &S);
    res->seconds = milp_wall_seconds() - t0;
    if (st != DOPT_OK) {
        milp_error(err, errlen, st, "%s", dopt_context_last_error(ctx));
        goto done;
    }
    res->status = status, res->nodes = nodes;
    res->has_solution = status == DOPT_SOLVED || (status == DOPT_ITERATION_LIMIT && isfinite(obj));
    res->objective = res->has_solution ? sense * obj + p->offset : NAN;
    res->bound = status == DOPT_SOLVED || status == DOPT_ITERATION_LIMIT ? sense * bound + p->offset : NAN;
    if (status == DOPT_SOLVED) res->bound = res->objective;
    if (res->x && res->has_solution) memcpy(res->x, y, (size_t)n * 8);
done:
    if (st == DOPT_ERR_OUT_OF_MEMORY) milp_error(err, errlen, st, "out of memory");
    dopt_context_destroy(ctx);
    free(A), free(b), free(c), free(y);
    return st;
}
