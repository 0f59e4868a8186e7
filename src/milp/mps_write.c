/* MPS writer: free format, 17 significant digits, so reading the file back
 * gives the identical model. Bounds of integer columns are always written
 * explicitly: readers disagree on their defaults. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "milp_internal.h"

typedef struct {
    FILE *f;
    const dopt_milp *p;
    char cbuf[32], rbuf[32];
} mps_writer;

static const char *col_name(mps_writer *w, int32_t j)
{
    if (w->p->col_names && w->p->col_names[j]) return w->p->col_names[j];
    snprintf(w->cbuf, sizeof w->cbuf, "C%d", j + 1);
    return w->cbuf;
}

static const char *row_name(mps_writer *w, int32_t i)
{
    if (w->p->row_names && w->p->row_names[i]) return w->p->row_names[i];
    snprintf(w->rbuf, sizeof w->rbuf, "R%d", i + 1);
    return w->rbuf;
}

static int bad_name(const char *s)
{
    if (!*s || *s == '*' || !strcmp(s, "'MARKER'")) return 1;
    for (; *s; ++s)
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') return 1;
    return 0;
}

/* names of one kind (rows or columns) usable in free MPS and unique among
 * themselves (generated names included); `seen` may hold names already */
static dopt_status check_kind(mps_writer *w, int32_t count, const char *(*name)(mps_writer *, int32_t),
                              const char *kind, milp_names *seen, char **keep, int64_t *k, char *err, size_t errlen)
{
    for (int32_t i = 0; i < count; ++i) {
        const char *s = name(w, i);
        if (bad_name(s))
            return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "%s %d: name '%s' cannot be written (blank or empty)",
                              kind, i, s);
        if (!(keep[*k] = milp_strdup(s))) return DOPT_ERR_OUT_OF_MEMORY;
        int put = milp_names_put(seen, keep[(*k)++], i);
        if (put < 0) return DOPT_ERR_OUT_OF_MEMORY;
        if (!put) return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "%s name '%s' used twice", kind, s);
    }
    return DOPT_OK;
}

/* rows (and the objective) share one namespace, columns another */
static dopt_status check_names(mps_writer *w, const char *obj, char *err, size_t errlen)
{
    milp_names rows = {0}, cols = {0};
    char **keep = calloc((size_t)w->p->n + (size_t)w->p->m + 1, sizeof *keep);
    int64_t k = 0;
    dopt_status st = !keep || milp_names_put(&rows, obj, -1) < 0 ? DOPT_ERR_OUT_OF_MEMORY : DOPT_OK;
    if (st == DOPT_OK) st = check_kind(w, w->p->m, row_name, "row", &rows, keep, &k, err, errlen);
    if (st == DOPT_OK) st = check_kind(w, w->p->n, col_name, "column", &cols, keep, &k, err, errlen);
    milp_names_free(&rows), milp_names_free(&cols);
    for (int64_t q = 0; q < k; ++q) free(keep[q]);
    free(keep);
    if (st == DOPT_ERR_OUT_OF_MEMORY) milp_error(err, errlen, st, "out of memory");
    return st;
}

/* How a row is written: type, rhs, and for two finite sides a range R.
 * The reader rebuilds L rows as [rhs - |R|, rhs] and G rows as
 * [rhs, rhs + |R|]; of the two, pick one that gives both sides back exactly
 * (trying a few ulps around hi - lo). When none does, L keeps hi exact and
 * lo within an ulp of the larger side (docs/MILP.md). */
typedef struct {
    char type;
    double rhs, range;
    int ranged;
} row_form;

static row_form form_of(double lo, double hi)
{
    row_form f = {lo == hi ? 'E' : isfinite(hi) ? 'L' : 'G', lo == hi || !isfinite(hi) ? lo : hi, 0, 0};
    if (lo == hi || !isfinite(lo) || !isfinite(hi)) return f;
    f.ranged = 1;
    for (int side = 0; side < 2; ++side) {
        double R = hi - lo;
        for (int k = 0; k < 8; ++k) {
            double got = side == 0 ? hi - R : lo + R, want = side == 0 ? lo : hi;
            if (got == want) {
                f.type = side == 0 ? 'L' : 'G', f.rhs = side == 0 ? hi : lo, f.range = R;
                return f;
            }
            R = nextafter(R, (side == 0 ? got > want : got < want) ? HUGE_VAL : 0);
        }
    }
    f.type = 'L', f.rhs = hi, f.range = hi - lo;
    return f;
}

static void write_body(mps_writer *w, const char *obj)
{
    FILE *f = w->f;
    const dopt_milp *p = w->p;
    fprintf(f, "NAME %s\n", p->name && !bad_name(p->name) ? p->name : "NONAME");
    if (p->maximize) fprintf(f, "OBJSENSE\n    MAX\n");
    fprintf(f, "ROWS\n N %s\n", obj);
    for (int32_t i = 0; i < p->m; ++i) {
        double lo = p->row_lo[i], hi = p->row_hi[i];
        fprintf(f, " %c %s\n", form_of(lo, hi).type, row_name(w, i));
    }
    fprintf(f, "COLUMNS\n");
    int in_int = 0, markers = 0;
    for (int32_t j = 0; j < p->n; ++j) {
        if (p->integer[j] != in_int) {
            fprintf(f, "    MARKER%d 'MARKER' '%s'\n", markers++, p->integer[j] ? "INTORG" : "INTEND");
            in_int = p->integer[j];
        }
        const char *cn = col_name(w, j);
        if (p->c[j] != 0 || p->col_ptr[j] == p->col_ptr[j + 1]) fprintf(f, "    %s %s %.17g\n", cn, obj, p->c[j]);
        for (int64_t k = p->col_ptr[j]; k < p->col_ptr[j + 1]; ++k)
            fprintf(f, "    %s %s %.17g\n", cn, row_name(w, p->row_idx[k]), p->values[k]);
    }
    if (in_int) fprintf(f, "    MARKER%d 'MARKER' 'INTEND'\n", markers++);
    fprintf(f, "RHS\n");
    if (p->offset != 0) fprintf(f, "    RHS %s %.17g\n", obj, -p->offset);
    for (int32_t i = 0; i < p->m; ++i) {
        row_form rf = form_of(p->row_lo[i], p->row_hi[i]);
        if (rf.rhs != 0) fprintf(f, "    RHS %s %.17g\n", row_name(w, i), rf.rhs);
    }
    int any_range = 0;
    for (int32_t i = 0; i < p->m; ++i) {
        row_form rf = form_of(p->row_lo[i], p->row_hi[i]);
        if (rf.ranged) {
            if (!any_range++) fprintf(f, "RANGES\n");
            fprintf(f, "    RNG %s %.17g\n", row_name(w, i), rf.range);
        }
    }
    fprintf(f, "BOUNDS\n");
    for (int32_t j = 0; j < p->n; ++j) {
        double lo = p->col_lo[j], hi = p->col_hi[j];
        const char *cn = col_name(w, j);
        if (p->integer[j] && lo == 0 && hi == 1) {
            fprintf(f, " BV BND %s\n", cn);
            continue;
        }
        if (lo == hi) {
            fprintf(f, " FX BND %s %.17g\n", cn, lo);
            continue;
        }
        if (lo == -HUGE_VAL && hi == HUGE_VAL) {
            fprintf(f, " FR BND %s\n", cn);
            continue;
        }
        if (lo == -HUGE_VAL) fprintf(f, " MI BND %s\n", cn);
        else if (lo != 0 || p->integer[j] || hi < 0) /* explicit: a negative UP alone would imply lo = -inf */
            fprintf(f, " LO BND %s %.17g\n", cn, lo);
        if (hi != HUGE_VAL) fprintf(f, " UP BND %s %.17g\n", cn, hi);
        else if (p->integer[j]) fprintf(f, " PL BND %s\n", cn);
    }
    fprintf(f, "ENDATA\n");
}

/* everything that can make writing fail, checked before a file is created */
static dopt_status validate(const dopt_milp *p, mps_writer *w, const char **obj, char *err, size_t errlen)
{
    DOPT_TRY(milp_check(p, err, errlen));
    w->p = p;
    *obj = p->obj_name && !bad_name(p->obj_name) ? p->obj_name : "OBJ";
    DOPT_TRY(check_names(w, *obj, err, errlen));
    /* a free row (both sides infinite) has no MPS type but N, which drops it: refuse rather than lose it */
    for (int32_t i = 0; i < p->m; ++i)
        if (!isfinite(p->row_lo[i]) && !isfinite(p->row_hi[i]))
            return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT,
                              "row %d is free (both sides infinite): MPS would drop it; remove it first", i);
    return DOPT_OK;
}

dopt_status milp_mps_write_file(const dopt_milp *p, FILE *f, char *err, size_t errlen)
{
    mps_writer w = {NULL, p, "", ""};
    const char *obj;
    DOPT_TRY(validate(p, &w, &obj, err, errlen));
    w.f = f;
    write_body(&w, obj);
    return ferror(f) ? milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "write failed") : DOPT_OK;
}

dopt_status milp_mps_write(const dopt_milp *p, const char *path, char *err, size_t errlen)
{
    if (!path) return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "NULL path");
    mps_writer w = {NULL, p, "", ""};
    const char *obj;
    DOPT_TRY(validate(p, &w, &obj, err, errlen));
    FILE *f = fopen(path, "w");
    if (!f) return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "%s: cannot create: %s", path, strerror(errno));
    w.f = f;
    write_body(&w, obj);
    int bad = ferror(f);
    if (fclose(f) != 0) bad = 1;
    if (bad) {
        remove(path); /* no half-written model left behind */
        return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "%s: write failed", path);
    }
    return DOPT_OK;
}
