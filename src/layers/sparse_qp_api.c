/* Sparse QP layer entry points: pattern checks, the factored matrix's
 * pattern (solver-free), argument checks, one dispatch per call to the
 * backend (src/cpu/sparse_qp_cpu.c; the CUDA entries are not built yet). */
#include "internal.h"
#include "backend.h"
#include "sparse_qp_internal.h"
#include "qp_ragged.h" /* dopt_qp_resolve_options */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dopt_status check_csr(dopt_context *ctx, const char *where, const char *name, const dopt_csr_pattern *P,
                             int32_t rows, int32_t cols)
{
    if (P->rows != rows || P->cols != cols)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: %s is %d x %d, expected %d x %d", where, name, P->rows,
                         P->cols, rows, cols);
    if (P->nnz < 0) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: %s has nnz = %lld < 0", where, name, (long long)P->nnz);
    if (rows == 0) {
        if (P->nnz != 0) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: %s has 0 rows but nnz = %lld", where, name, (long long)P->nnz);
        return DOPT_OK;
    }
    if (!P->indptr) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: %s: indptr is NULL", where, name);
    if (P->nnz > 0 && !P->indices) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: %s: indices is NULL", where, name);
    if (P->indptr[0] != 0)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: %s: indptr[0] = %lld, must be 0", where, name,
                         (long long)P->indptr[0]);
    if (P->indptr[rows] != P->nnz)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: %s: indptr[%d] = %lld, must equal nnz = %lld", where,
                         name, rows, (long long)P->indptr[rows], (long long)P->nnz);
    for (int32_t r = 0; r < rows; ++r) {
        int64_t a = P->indptr[r], b = P->indptr[r + 1];
        if (b < a || b > P->nnz)
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: %s: indptr not monotone at row %d", where, name, r);
        for (int64_t e = a; e < b; ++e) {
            int32_t c = P->indices[e];
            if (c < 0 || c >= cols)
                return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                                 "%s: %s: row %d has column index %d out of range [0, %d)", where, name, r, c, cols);
            if (e > a && c <= P->indices[e - 1])
                return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                                 "%s: %s: row %d's column indices are not strictly increasing (canonical CSR "
                                 "needed: sorted, no duplicates)",
                                 where, name, r);
        }
    }
    return DOPT_OK;
}

static void structure_free_arrays(dopt_sparse_qp_structure *s)
{
    void *a[] = {s->Qp, s->Gp, s->Ap, s->Qi, s->Gi, s->Ai, s->Kp, s->Ki, s->kq, s->kdiag};
    for (size_t i = 0; i < sizeof a / sizeof a[0]; ++i) free(a[i]);
}

static int copy_csr(const dopt_csr_pattern *P, int32_t rows, int64_t **ip, int32_t **ix)
{
    *ip = (int64_t *)calloc((size_t)rows + 1, sizeof(int64_t));
    *ix = (int32_t *)malloc(sizeof(int32_t) * (size_t)(P->nnz > 0 ? P->nnz : 1));
    if (!*ip || !*ix) return 0;
    if (rows > 0) memcpy(*ip, P->indptr, sizeof(int64_t) * ((size_t)rows + 1));
    if (P->nnz > 0) memcpy(*ix, P->indices, sizeof(int32_t) * (size_t)P->nnz);
    return 1;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Kf's pattern (sparse_qp_internal.h). Returns 0 when out of memory. */
static int build_kf_pattern(dopt_sparse_qp_structure *s)
{
    int64_t n = s->n, m = s->m, k = s->k, nnzQ = s->Qp[n];
    s->N = n + m + k;
    int64_t *cnt = (int64_t *)calloc((size_t)n + 1, sizeof(int64_t));
    int64_t *tmp = (int64_t *)malloc(sizeof(int64_t) * (size_t)(nnzQ + n + 1));
    s->Kp = (int64_t *)calloc((size_t)s->N + 1, sizeof(int64_t));
    s->kq = (int64_t *)malloc(sizeof(int64_t) * (size_t)(nnzQ > 0 ? nnzQ : 1));
    s->kdiag = (int64_t *)malloc(sizeof(int64_t) * (size_t)n);
    if (!cnt || !tmp || !s->Kp || !s->kq || !s->kdiag) {
        free(cnt);
        free(tmp);
        return 0;
    }
    /* x columns: the upper entries (min, max) of every Q entry, plus the
     * diagonal, bucketed by column, sorted, duplicates dropped */
    for (int64_t i = 0; i < n; ++i) {
        cnt[i + 1] += 1;
        for (int64_t e = s->Qp[i]; e < s->Qp[i + 1]; ++e) {
            int64_t j = s->Qi[e];
            cnt[(i > j ? i : j) + 1] += 1;
        }
    }
    for (int64_t j = 0; j < n; ++j) cnt[j + 1] += cnt[j];
    int64_t *fill = (int64_t *)malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    if (!fill) {
        free(cnt);
        free(tmp);
        return 0;
    }
    for (int64_t j = 0; j < n; ++j) fill[j] = cnt[j];
    for (int64_t i = 0; i < n; ++i) {
        tmp[fill[i]++] = i;
        for (int64_t e = s->Qp[i]; e < s->Qp[i + 1]; ++e) {
            int64_t j = s->Qi[e], hi = i > j ? i : j, lo = i > j ? j : i;
            tmp[fill[hi]++] = lo;
        }
    }
    int64_t nx = 0;
    for (int64_t j = 0; j < n; ++j) {
        int64_t a = cnt[j], b = cnt[j + 1];
        qsort(tmp + a, (size_t)(b - a), sizeof(int64_t), cmp_i64);
        int64_t u = 0;
        for (int64_t q = a; q < b; ++q)
            if (u == 0 || tmp[a + u - 1] != tmp[q]) tmp[a + u++] = tmp[q];
        fill[j] = u; /* unique count */
        nx += u;
    }
    int64_t nnzG = s->Gp[m], nnzA = s->Ap[k];
    s->nnzK = nx + nnzG + m + nnzA + k;
    s->Ki = (int64_t *)malloc(sizeof(int64_t) * (size_t)s->nnzK);
    if (!s->Ki) {
        free(cnt);
        free(tmp);
        free(fill);
        return 0;
    }
    int64_t pos = 0;
    for (int64_t j = 0; j < n; ++j) {
        s->Kp[j] = pos;
        for (int64_t q = 0; q < fill[j]; ++q) s->Ki[pos++] = tmp[cnt[j] + q];
        s->kdiag[j] = pos - 1; /* the diagonal is the column's largest row */
    }
    for (int64_t r = 0; r < m; ++r) {
        s->Kp[n + r] = pos;
        for (int64_t e = s->Gp[r]; e < s->Gp[r + 1]; ++e) s->Ki[pos++] = s->Gi[e];
        s->Ki[pos++] = n + r;
    }
    for (int64_t r = 0; r < k; ++r) {
        s->Kp[n + m + r] = pos;
        for (int64_t e = s->Ap[r]; e < s->Ap[r + 1]; ++e) s->Ki[pos++] = s->Ai[e];
        s->Ki[pos++] = n + m + r;
    }
    s->Kp[s->N] = pos;
    /* each Q entry's position: binary search in its upper column */
    for (int64_t i = 0; i < n; ++i)
        for (int64_t e = s->Qp[i]; e < s->Qp[i + 1]; ++e) {
            int64_t j = s->Qi[e], hi = i > j ? i : j, lo = i > j ? j : i;
            int64_t a = s->Kp[hi], b = s->Kp[hi] + fill[hi];
            while (b - a > 1) {
                int64_t mid = a + (b - a) / 2;
                if (s->Ki[mid] <= lo) a = mid;
                else b = mid;
            }
            s->kq[e] = a;
        }
    free(cnt);
    free(tmp);
    free(fill);
    return 1;
}

/* A checked structure with its patterns copied and Kf's pattern built, not
 * yet analysed by the backend. where: "sparse qp", or "sparse qp: pattern 3". */
static dopt_status structure_make(dopt_context *ctx, const char *where, const dopt_sparse_qp_pattern *pat,
                                  dopt_sparse_qp_structure **out)
{
    *out = NULL;
    if (!pat) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: pattern is NULL", where);
    if (pat->n < 1 || pat->m < 0 || pat->k < 0)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: need n >= 1, m >= 0, k >= 0 (got n=%d m=%d k=%d)",
                         where, pat->n, pat->m, pat->k);
    if ((int64_t)pat->n + pat->m + pat->k > INT32_MAX)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: n + m + k is too large", where);
    DOPT_TRY(check_csr(ctx, where, "Q", &pat->Q, pat->Q.rows == 0 && pat->Q.nnz == 0 ? 0 : pat->n,
                       pat->Q.rows == 0 && pat->Q.nnz == 0 ? pat->Q.cols : pat->n));
    DOPT_TRY(check_csr(ctx, where, "G", &pat->G, pat->m, pat->m == 0 && pat->G.rows == 0 ? pat->G.cols : pat->n));
    DOPT_TRY(check_csr(ctx, where, "A", &pat->A, pat->k, pat->k == 0 && pat->A.rows == 0 ? pat->A.cols : pat->n));
    if (!ctx->ops->sparse_qp_analyze) return dopt_unsupported(ctx, "sparse_qp_analyze");
    dopt_sparse_qp_structure *s = (dopt_sparse_qp_structure *)calloc(1, sizeof *s);
    if (!s) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "%s: out of memory", where);
    s->ops = ctx->ops;
    s->n = pat->n;
    s->m = pat->m;
    s->k = pat->k;
    const dopt_csr_pattern *Q = &pat->Q; /* rows 0: an LP */
    if (!(Q->rows == 0 ? ((s->Qp = (int64_t *)calloc((size_t)s->n + 1, sizeof(int64_t))) != NULL &&
                          (s->Qi = (int32_t *)malloc(sizeof(int32_t))) != NULL)
                       : copy_csr(Q, s->n, &s->Qp, &s->Qi)) ||
        !copy_csr(&pat->G, s->m, &s->Gp, &s->Gi) || !copy_csr(&pat->A, s->k, &s->Ap, &s->Ai) ||
        !build_kf_pattern(s)) {
        structure_free_arrays(s);
        free(s);
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "%s: out of memory for the structure", where);
    }
    *out = s;
    return DOPT_OK;
}

dopt_status dopt_sparse_qp_analyze(dopt_context *ctx, const dopt_sparse_qp_pattern *pat,
                                   dopt_sparse_qp_structure **out)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
    ctx->error[0] = 0;
    if (!out) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "sparse qp: out is NULL");
    *out = NULL;
    dopt_sparse_qp_structure *s;
    DOPT_TRY(structure_make(ctx, "sparse qp", pat, &s));
    dopt_status st = DOPT_CALL(ctx, sparse_qp_analyze, s);
    if (st != DOPT_OK) {
        dopt_sparse_qp_structure_destroy(s);
        return st;
    }
    *out = s;
    return DOPT_OK;
}

typedef struct {
    dopt_sparse_qp_structure **s;
    dopt_status *st;
} analyze_job;

/* The backend's analyses of structures [b0, b1) on the pool. No context:
 * a failure is only a status here (the caller repeats that analysis with
 * its context for the message), so workers never write the context. */
static void analyze_range(void *arg, int64_t b0, int64_t b1, int worker)
{
    (void)worker;
    analyze_job *job = (analyze_job *)arg;
    for (int64_t i = b0; i < b1; ++i) job->st[i] = job->s[i]->ops->sparse_qp_analyze(NULL, job->s[i]);
}

dopt_status dopt_sparse_qp_analyze_many(dopt_context *ctx, int64_t count, const dopt_sparse_qp_pattern *pats,
                                        dopt_sparse_qp_structure **out)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
    ctx->error[0] = 0;
    if (count < 0) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "sparse qp: count = %lld < 0", (long long)count);
    if (count > 0 && (!pats || !out))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "sparse qp: patterns or out is NULL");
    for (int64_t i = 0; i < count; ++i) out[i] = NULL;
    dopt_status *st = (dopt_status *)calloc((size_t)(count > 0 ? count : 1), sizeof *st);
    if (!st) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "sparse qp: out of memory");
    dopt_status status = DOPT_OK;
    char where[64];
    for (int64_t i = 0; i < count && status == DOPT_OK; ++i) {
        snprintf(where, sizeof where, "sparse qp: pattern %lld", (long long)i);
        status = structure_make(ctx, where, &pats[i], &out[i]);
    }
    if (status == DOPT_OK && count > 0) {
        analyze_job job = {out, st};
        dopt_parallel_for(ctx, dopt_worker_count(ctx->threads, count, 1), count, 1, analyze_range, &job);
        for (int64_t i = 0; i < count && status == DOPT_OK; ++i) {
            if (st[i] == DOPT_OK) continue;
            status = DOPT_CALL(ctx, sparse_qp_analyze, out[i]); /* again, for the message */
            if (status != DOPT_OK) {
                char msg[sizeof ctx->error];
                snprintf(msg, sizeof msg, "%s", ctx->error);
                dopt_fail(ctx, status, "sparse qp: pattern %lld: %s", (long long)i, msg);
            }
        }
    }
    if (status != DOPT_OK)
        for (int64_t i = 0; i < count; ++i) {
            dopt_sparse_qp_structure_destroy(out[i]);
            out[i] = NULL;
        }
    free(st);
    return status;
}

void dopt_sparse_qp_structure_destroy(dopt_sparse_qp_structure *s)
{
    if (!s) return;
    if (s->backend && s->ops->sparse_qp_structure_free) s->ops->sparse_qp_structure_free(s);
    structure_free_arrays(s);
    free(s);
}

/* where: "sparse qp", or "sparse qp: group 3" for a group of several */
static dopt_status values_validate(dopt_context *ctx, const char *where, const dopt_sparse_qp_structure *S,
                                   const dopt_sparse_qp_values *V)
{
    if (!V) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: values is NULL", where);
    if (V->dtype != DOPT_FLOAT32 && V->dtype != DOPT_FLOAT64)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: dtype must be DOPT_FLOAT32 or DOPT_FLOAT64", where);
    if (V->batch < 0)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: batch = %lld < 0", where, (long long)V->batch);
    if (V->shared & ~0x3Fu)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: unknown bits in shared: 0x%x", where, V->shared);
    if (!V->p) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: p is NULL", where);
    if (S->Qp[S->n] > 0 && !V->Q_values)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: Q's pattern has %lld entries but Q_values is NULL",
                         where, (long long)S->Qp[S->n]);
    if (S->m > 0 && ((S->Gp[S->m] > 0 && !V->G_values) || !V->h))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: m = %d but G_values or h is NULL", where, S->m);
    if (S->k > 0 && ((S->Ap[S->k] > 0 && !V->A_values) || !V->b))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: k = %d but A_values or b is NULL", where, S->k);
    return DOPT_OK;
}

void dopt_sparse_qp_tape_destroy(dopt_sparse_qp_tape *t)
{
    if (!t) return;
    if (t->factors && t->ops->sparse_qp_tape_free) t->ops->sparse_qp_tape_free(t);
    free(t->factors);
    free(t->x);
    free(t->lam);
    free(t->nu);
    free(t->W);
    free(t->Winv);
    free(t->status);
    free(t);
}

/* A group's name in messages: "sparse qp" alone, "sparse qp: group g" among several */
static void group_name(char *buf, size_t len, const char *layer, int64_t count, int64_t g)
{
    if (count == 1) snprintf(buf, len, "%s", layer);
    else snprintf(buf, len, "%s: group %lld", layer, (long long)g);
}

static dopt_status group_validate(dopt_context *ctx, const char *where, const dopt_sparse_qp_group *G,
                                  dopt_dtype dtype)
{
    const dopt_sparse_qp_structure *S = G->structure;
    const dopt_sparse_qp_values *V = &G->values;
    const dopt_qp_solution *sol = &G->solution;
    if (!S) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: structure is NULL", where);
    if (S->ops != ctx->ops)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: the structure was analysed on another backend", where);
    DOPT_TRY(values_validate(ctx, where, S, V));
    if (V->dtype != dtype)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: dtype differs from group 0's (every group needs the same)",
                         where);
    if (V->batch > 0 && (!sol->x || !sol->status || (S->m > 0 && !sol->lam) || (S->k > 0 && !sol->nu)))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: solution buffers x, status (and lam, nu) required", where);
    return DOPT_OK;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return x < y ? -1 : x > y;
}

/* Two slots holding one tape would refill it twice (and free it twice). */
static int tapes_distinct(int64_t count, dopt_sparse_qp_tape *const *tapes)
{
    int64_t used = 0;
    for (int64_t g = 0; g < count; ++g) used += tapes[g] != NULL;
    if (used < 2) return 1;
    dopt_sparse_qp_tape **sorted = (dopt_sparse_qp_tape **)malloc(sizeof(void *) * (size_t)used);
    if (!sorted) return 1; /* not checkable: the call goes on as the caller asked */
    used = 0;
    for (int64_t g = 0; g < count; ++g)
        if (tapes[g]) sorted[used++] = tapes[g];
    qsort(sorted, (size_t)used, sizeof(void *), cmp_ptr);
    int ok = 1;
    for (int64_t q = 1; q < used; ++q) ok &= sorted[q] != sorted[q - 1];
    free(sorted);
    return ok;
}

/* The solve of dopt_sparse_qp_solve and dopt_sparse_qp_solve_groups.
 * tapes: NULL, or count slots (in: NULL or a tape to refill; out: the
 * group's tape, NULL after a failure, every reused tape freed then). */
static dopt_status solve_groups(dopt_context *ctx, int64_t count, const dopt_sparse_qp_group *groups,
                                const dopt_qp_options *opt, dopt_sparse_qp_tape **tapes)
{
    dopt_status st = DOPT_OK;
    if (count < 0) st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "sparse qp: count = %lld < 0", (long long)count);
    else if (count > 0 && !groups) st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "sparse qp: groups is NULL");
    else if (tapes && !tapes_distinct(count, tapes))
        st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "sparse qp: one tape is passed for two groups");
    if (st != DOPT_OK) return st; /* the tapes are not the layer's to free: they may not even be distinct */
    dopt_sparse_qp_tape **made = NULL;
    if (tapes && count > 0) {
        made = (dopt_sparse_qp_tape **)calloc((size_t)count, sizeof *made);
        if (!made) st = dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "sparse qp: out of memory for the tapes");
        for (int64_t g = 0; g < count; ++g) {
            dopt_sparse_qp_tape *reuse = tapes[g];
            tapes[g] = NULL;
            if (reuse && (!made || reuse->ops != ctx->ops || reuse->S != groups[g].structure)) {
                dopt_sparse_qp_tape_destroy(reuse); /* another backend's or structure's: not refillable */
                reuse = NULL;
            }
            if (made) made[g] = reuse;
        }
    }
    dopt_qp_options o;
    char where[64];
    dopt_dtype dtype = count > 0 && groups[0].values.dtype == DOPT_FLOAT32 ? DOPT_FLOAT32 : DOPT_FLOAT64;
    for (int64_t g = 0; g < count && st == DOPT_OK; ++g) {
        group_name(where, sizeof where, "sparse qp", count, g);
        st = group_validate(ctx, where, &groups[g], dtype);
    }
    if (st == DOPT_OK) st = dopt_qp_resolve_options(ctx, "sparse qp", dtype, opt, &o);
    if (st == DOPT_OK && o.infeasible_mode != DOPT_QP_INFEASIBLE_REPORT) /* not silently ignored */
        st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT,
                       "sparse qp: infeasible_mode DOPT_QP_INFEASIBLE_CLOSEST is the dense layer's only "
                       "(dopt_qp_solve)");
    for (int64_t g = 0; made && g < count && st == DOPT_OK; ++g) {
        if (!made[g]) made[g] = (dopt_sparse_qp_tape *)calloc(1, sizeof *made[g]);
        if (!made[g]) {
            st = dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "sparse qp: out of memory for the tape");
            break;
        }
        made[g]->ops = ctx->ops;
        made[g]->S = groups[g].structure;
    }
    if (st == DOPT_OK && count > 0) st = DOPT_CALL(ctx, sparse_qp_solve, count, groups, &o, made);
    for (int64_t g = 0; made && g < count; ++g) {
        if (st != DOPT_OK) {
            dopt_sparse_qp_tape_destroy(made[g]);
            continue;
        }
        made[g]->values = groups[g].values;
        made[g]->opt = o;
        tapes[g] = made[g];
    }
    free(made);
    return st;
}

dopt_status dopt_sparse_qp_solve(dopt_context *ctx, const dopt_sparse_qp_structure *S,
                                 const dopt_sparse_qp_values *V, const dopt_qp_options *opt, dopt_qp_solution *sol,
                                 dopt_sparse_qp_tape **tape_out)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
    ctx->error[0] = 0;
    dopt_status st = DOPT_OK;
    if (!V) st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "sparse qp: values is NULL");
    else if (!sol) st = dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "sparse qp: solution buffers x, status (and lam, nu) required");
    if (st != DOPT_OK) {
        if (tape_out) {
            dopt_sparse_qp_tape_destroy(*tape_out);
            *tape_out = NULL;
        }
        return st;
    }
    dopt_sparse_qp_group g;
    g.structure = S;
    g.values = *V;
    g.solution = *sol;
    return solve_groups(ctx, 1, &g, opt, tape_out);
}

dopt_status dopt_sparse_qp_solve_groups(dopt_context *ctx, int64_t count, const dopt_sparse_qp_group *groups,
                                        const dopt_qp_options *opt, dopt_sparse_qp_tape **tapes)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
    ctx->error[0] = 0;
    return solve_groups(ctx, count, groups, opt, tapes);
}

/* The backward of dopt_sparse_qp_backward and dopt_sparse_qp_backward_groups:
 * every group checked, the empty ones answered here, the others in one
 * backend call. */
static dopt_status backward_groups(dopt_context *ctx, int64_t count, const dopt_sparse_qp_group_grad *groups)
{
    if (count < 0) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "sparse qp backward: count = %lld < 0", (long long)count);
    if (count > 0 && !groups) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "sparse qp backward: groups is NULL");
    char where[64];
    int64_t busy = 0;
    for (int64_t g = 0; g < count; ++g) {
        const dopt_sparse_qp_group_grad *G = &groups[g];
        const dopt_sparse_qp_tape *tape = G->tape;
        group_name(where, sizeof where, "sparse qp backward", count, g);
        if (!tape)
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: tape is NULL (pass &tape to dopt_sparse_qp_solve)",
                             where);
        if (!G->in.dx && tape->batch > 0)
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: dL/dx is required", where);
        if (tape->ops != ctx->ops)
            return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "%s: the tape was recorded on another backend", where);
        busy += tape->batch > 0;
    }
    dopt_sparse_qp_group_grad *run = (dopt_sparse_qp_group_grad *)malloc(sizeof *run * (size_t)(busy > 0 ? busy : 1));
    if (!run) return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "sparse qp backward: out of memory");
    busy = 0;
    dopt_status st = DOPT_OK;
    for (int64_t g = 0; g < count && st == DOPT_OK; ++g) {
        const dopt_sparse_qp_tape *tape = groups[g].tape;
        if (tape->batch > 0) {
            run[busy++] = groups[g];
            continue;
        }
        const dopt_sparse_qp_structure *S = tape->S;
        const dopt_qp_grad_out *gout = &groups[g].out;
        size_t n = (size_t)S->n, m = (size_t)S->m, k = (size_t)S->k;
        void *outs[] = {gout->dQ, gout->dp, gout->dG, gout->dh, gout->dA, gout->db};
        size_t counts[] = {(size_t)S->Qp[n], n, (size_t)S->Gp[m], m, (size_t)S->Ap[k], k};
        uint32_t bits[] = {DOPT_QP_SHARE_Q, DOPT_QP_SHARE_P, DOPT_QP_SHARE_G,
                           DOPT_QP_SHARE_H, DOPT_QP_SHARE_A, DOPT_QP_SHARE_B};
        st = dopt_zero_shared_grads(ctx, 6, outs, counts, bits, tape->values.shared,
                                    tape->values.dtype == DOPT_FLOAT64 ? sizeof(double) : sizeof(float));
    }
    if (st == DOPT_OK && busy > 0) st = DOPT_CALL(ctx, sparse_qp_backward, busy, run);
    free(run);
    return st;
}

dopt_status dopt_sparse_qp_backward(dopt_context *ctx, const dopt_sparse_qp_tape *tape, const dopt_qp_grad_in *gin,
                                    dopt_qp_grad_out *gout)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
    ctx->error[0] = 0;
    if (!tape)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "sparse qp backward: tape is NULL (pass &tape to dopt_sparse_qp_solve)");
    if (!gin || (!gin->dx && tape->batch > 0))
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "sparse qp backward: dL/dx is required");
    if (!gout) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "sparse qp backward: gradient outputs are NULL");
    dopt_sparse_qp_group_grad g;
    g.tape = tape;
    g.in = *gin;
    g.out = *gout;
    return backward_groups(ctx, 1, &g);
}

dopt_status dopt_sparse_qp_backward_groups(dopt_context *ctx, int64_t count, const dopt_sparse_qp_group_grad *groups)
{
    if (!ctx) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_NOT_BUSY(ctx);
    ctx->error[0] = 0;
    return backward_groups(ctx, count, groups);
}
