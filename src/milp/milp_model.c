/* The sparse MILP model: allocation, checks, objective and violation, and
 * the triplet builder the generators use. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milp_internal.h"

dopt_status milp_error(char *err, size_t errlen, dopt_status status, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

char *milp_strdup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *d = malloc(len);
    if (d) memcpy(d, s, len);
    return d;
}

dopt_milp *milp_alloc(int32_t n, int32_t m, int64_t nnz)
{
    if (n < 0 || m < 0 || nnz < 0) return NULL;
    dopt_milp *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n, p->m = m;
    size_t un = (size_t)n, um = (size_t)m, unz = (size_t)nnz;
    p->col_ptr = calloc(un + 1, sizeof *p->col_ptr);
    p->row_idx = malloc((unz ? unz : 1) * sizeof *p->row_idx);
    p->values = malloc((unz ? unz : 1) * sizeof *p->values);
    p->c = calloc(un ? un : 1, sizeof *p->c);
    p->col_lo = calloc(un ? un : 1, sizeof(double));
    p->col_hi = malloc((un ? un : 1) * sizeof(double));
    p->row_lo = malloc((um ? um : 1) * sizeof(double));
    p->row_hi = malloc((um ? um : 1) * sizeof(double));
    p->integer = calloc(un ? un : 1, 1);
    if (!p->col_ptr || !p->row_idx || !p->values || !p->c || !p->col_lo || !p->col_hi || !p->row_lo || !p->row_hi ||
        !p->integer) {
        dopt_milp_free(p);
        return NULL;
    }
    for (size_t j = 0; j < un; ++j) p->col_hi[j] = HUGE_VAL;
    for (size_t i = 0; i < um; ++i) p->row_lo[i] = -HUGE_VAL, p->row_hi[i] = HUGE_VAL;
    return p;
}

void dopt_milp_free(dopt_milp *p)
{
    if (!p) return;
    if (p->col_names)
        for (int32_t j = 0; j < p->n; ++j) free(p->col_names[j]);
    if (p->row_names)
        for (int32_t i = 0; i < p->m; ++i) free(p->row_names[i]);
    free(p->col_names), free(p->row_names), free(p->name), free(p->obj_name);
    free(p->col_ptr), free(p->row_idx), free(p->values), free(p->c);
    free(p->col_lo), free(p->col_hi), free(p->row_lo), free(p->row_hi), free(p->integer);
    free(p);
}

static int bad_bounds(double lo, double hi) { return isnan(lo) || isnan(hi) || lo == HUGE_VAL || hi == -HUGE_VAL; }

dopt_status milp_check(const dopt_milp *p, char *err, size_t errlen)
{
    const dopt_status bad = DOPT_ERR_INVALID_ARGUMENT;
    if (!p) return milp_error(err, errlen, bad, "model is NULL");
    if (p->n < 0 || p->m < 0 || p->nnz < 0) return milp_error(err, errlen, bad, "negative size");
    if (!p->col_ptr || !p->c || !p->col_lo || !p->col_hi || !p->integer || (p->m && (!p->row_lo || !p->row_hi)) ||
        (p->nnz && (!p->row_idx || !p->values)))
        return milp_error(err, errlen, bad, "model has a NULL array");
    if (p->col_ptr[0] != 0 || p->col_ptr[p->n] != p->nnz)
        return milp_error(err, errlen, bad, "col_ptr must start at 0 and end at nnz");
    if (!isfinite(p->offset)) return milp_error(err, errlen, bad, "objective offset is not finite");
    for (int32_t j = 0; j < p->n; ++j) {
        if (p->col_ptr[j + 1] < p->col_ptr[j]) return milp_error(err, errlen, bad, "col_ptr decreases at column %d", j);
        for (int64_t k = p->col_ptr[j]; k < p->col_ptr[j + 1]; ++k) {
            if (p->row_idx[k] < 0 || p->row_idx[k] >= p->m)
                return milp_error(err, errlen, bad, "column %d: row index %d out of range", j, p->row_idx[k]);
            if (k > p->col_ptr[j] && p->row_idx[k] <= p->row_idx[k - 1])
                return milp_error(err, errlen, bad, "column %d: row indices not strictly increasing", j);
            if (!isfinite(p->values[k]))
                return milp_error(err, errlen, bad, "column %d: coefficient is not finite", j);
        }
        if (!isfinite(p->c[j])) return milp_error(err, errlen, bad, "objective coefficient %d is not finite", j);
        if (bad_bounds(p->col_lo[j], p->col_hi[j]))
            return milp_error(err, errlen, bad, "column %d: bounds are NaN or point the wrong way to infinity", j);
        if (p->integer[j] > 1) return milp_error(err, errlen, bad, "column %d: integer flag must be 0 or 1", j);
    }
    for (int32_t i = 0; i < p->m; ++i)
        if (bad_bounds(p->row_lo[i], p->row_hi[i]))
            return milp_error(err, errlen, bad, "row %d: bounds are NaN or point the wrong way to infinity", i);
    return DOPT_OK;
}

int dopt_milp_result_better(const dopt_milp *p, const dopt_milp_result *a, const dopt_milp_result *b)
{
    if (!p || !a || !b || !a->has_solution) return 0;
    if (!b->has_solution) return 1;
    return p->maximize ? a->objective > b->objective : a->objective < b->objective;
}

double dopt_milp_objective(const dopt_milp *p, const double *x)
{
    double s = p->offset;
    for (int32_t j = 0; j < p->n; ++j) s += p->c[j] * x[j];
    return s;
}

static double worse(double v, double viol) { return viol > v ? viol : v; }

double dopt_milp_violation(const dopt_milp *p, const double *x)
{
    double v = 0;
    double *ax = calloc(p->m ? (size_t)p->m : 1, sizeof *ax);
    if (!ax) return HUGE_VAL;
    for (int32_t j = 0; j < p->n; ++j) {
        for (int64_t k = p->col_ptr[j]; k < p->col_ptr[j + 1]; ++k) ax[p->row_idx[k]] += p->values[k] * x[j];
        v = worse(v, p->col_lo[j] - x[j]);
        v = worse(v, x[j] - p->col_hi[j]);
        if (p->integer[j]) v = worse(v, fabs(x[j] - nearbyint(x[j])));
        if (isnan(x[j])) v = HUGE_VAL;
    }
    for (int32_t i = 0; i < p->m; ++i) {
        v = worse(v, p->row_lo[i] - ax[i]);
        v = worse(v, ax[i] - p->row_hi[i]);
    }
    free(ax);
    return v;
}

/* ---- triplets ---- */
int milp_triplets_add(milp_triplets *t, int32_t row, int32_t col, double val)
{
    if (t->len == t->cap) {
        int64_t cap = t->cap ? 2 * t->cap : 1024;
        int32_t *r = realloc(t->row, (size_t)cap * sizeof *r);
        if (r) t->row = r;
        int32_t *c = realloc(t->col, (size_t)cap * sizeof *c);
        if (c) t->col = c;
        double *v = realloc(t->val, (size_t)cap * sizeof *v);
        if (v) t->val = v;
        if (!r || !c || !v) return 0;
        t->cap = cap;
    }
    t->row[t->len] = row, t->col[t->len] = col, t->val[t->len] = val;
    t->len++;
    return 1;
}

void milp_triplets_free(milp_triplets *t)
{
    free(t->row), free(t->col), free(t->val);
    memset(t, 0, sizeof *t);
}

dopt_milp *milp_from_triplets(int32_t n, int32_t m, const milp_triplets *t)
{
    /* counting sort by column, then by row inside each column */
    int64_t *count = calloc((size_t)n + 1, sizeof *count);
    int64_t *order = malloc((size_t)(t->len ? t->len : 1) * sizeof *order);
    int64_t *rowcount = calloc((size_t)m + 1, sizeof *rowcount);
    int64_t *byrow = malloc((size_t)(t->len ? t->len : 1) * sizeof *byrow);
    dopt_milp *p = NULL;
    if (!count || !order || !rowcount || !byrow) goto done;
    for (int64_t k = 0; k < t->len; ++k) {
        if (t->row[k] < 0 || t->row[k] >= m || t->col[k] < 0 || t->col[k] >= n) goto done;
        rowcount[t->row[k] + 1]++;
    }
    for (int32_t i = 0; i < m; ++i) rowcount[i + 1] += rowcount[i];
    for (int64_t k = 0; k < t->len; ++k) byrow[rowcount[t->row[k]]++] = k; /* stable by row */
    for (int64_t k = 0; k < t->len; ++k) count[t->col[k] + 1]++;
    for (int32_t j = 0; j < n; ++j) count[j + 1] += count[j];
    for (int64_t q = 0; q < t->len; ++q) {
        int64_t k = byrow[q];
        order[count[t->col[k]]++] = k; /* by column, rows ascending */
    }
    p = milp_alloc(n, m, t->len);
    if (!p) goto done;
    int64_t nz = 0, k = 0;
    for (int32_t j = 0; j < n; ++j) {
        p->col_ptr[j] = nz;
        int64_t end = count[j];
        while (k < end) {
            int32_t r = t->row[order[k]];
            double v = 0;
            while (k < end && t->row[order[k]] == r) v += t->val[order[k++]];
            if (v != 0) p->row_idx[nz] = r, p->values[nz++] = v;
        }
    }
    p->col_ptr[n] = nz;
    p->nnz = nz;
done:
    free(count), free(order), free(rowcount), free(byrow);
    return p;
}

/* ---- names ---- */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; ++s) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int32_t milp_names_get(const milp_names *t, const char *key)
{
    if (!t->cap) return -1;
    for (size_t i = name_hash(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (!t->key[i]) return -1;
        if (!strcmp(t->key[i], key)) return t->value[i];
    }
}

int milp_names_put(milp_names *t, const char *key, int32_t value)
{
    if (2 * (t->len + 1) > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        const char **k = calloc(cap, sizeof *k);
        int32_t *v = malloc(cap * sizeof *v);
        if (!k || !v) return free((void *)k), free(v), -1;
        for (size_t i = 0; i < t->cap; ++i) {
            if (!t->key[i]) continue;
            size_t s = name_hash(t->key[i]) & (cap - 1);
            while (k[s]) s = (s + 1) & (cap - 1);
            k[s] = t->key[i], v[s] = t->value[i];
        }
        free((void *)t->key), free(t->value);
        t->key = k, t->value = v, t->cap = cap;
    }
    size_t i = name_hash(key) & (t->cap - 1);
    for (; t->key[i]; i = (i + 1) & (t->cap - 1))
        if (!strcmp(t->key[i], key)) return 0;
    t->key[i] = key, t->value[i] = value, t->len++;
    return 1;
}

void milp_names_free(milp_names *t)
{
    free((void *)t->key), free(t->value);
    memset(t, 0, sizeof *t);
}
