/* MPS reader (free and fixed format, plain or gzipped) into the sparse
 * MILP model. Every error names its line; what the reader skips is reported
 * as a warning, never silently. docs/MILP.md lists the conventions. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef DOPT_HAVE_ZLIB
#include <zlib.h>
#endif

#include "internal.h"
#include "milp_internal.h"

enum { SEC_NONE, SEC_NAME, SEC_OBJSENSE, SEC_OBJNAME, SEC_ROWS, SEC_COLUMNS, SEC_RHS, SEC_RANGES, SEC_BOUNDS };
enum { ROW_OBJECTIVE = -2, ROW_FREE_IGNORED = -3 };
#define MAX_TOKENS 8

typedef struct {
    const char *text;
    size_t len, pos;
    long line;
    int fixed;
    char *buf; /* the current line, split in place */
    size_t bufcap;
    char *tok[MAX_TOKENS];
    int ntok;
    char *err;
    size_t errlen;
    /* rows (objective excluded) */
    int32_t m, rcap;
    char *rtype;
    char **rname;
    double *rhs, *range;
    uint8_t *has_range;
    int32_t *rowmark; /* last column that wrote the row: duplicate detection */
    milp_names rows;
    char *obj_name, *objname_wanted;
    char **fname; /* N rows other than the objective */
    int32_t nfree, fcap;
    /* columns */
    int32_t n, ccap;
    char **cname;
    double *c, *lo, *hi;
    uint8_t *integer, *lo_set;
    uint8_t *bounded; /* a BOUNDS entry (of the set read) named the column */
    milp_names cols;
    int in_int;
    milp_triplets trip;
    double offset;
    int maximize;
    char *name;
    char *rhs_set, *range_set, *bound_set;
    int skipped_set[3]; /* RHS, RANGES, BOUNDS: a later set was already reported */
    dopt_mps_int_bounds int_bounds;
    milp_mps_warnings warn; /* handed out only when this parse succeeds */
} mps_reader;

static dopt_status fail(mps_reader *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static dopt_status fail(mps_reader *r, const char *fmt, ...)
{
    if (r->err && r->errlen) {
        int k = snprintf(r->err, r->errlen, "line %ld: ", r->line);
        if (k >= 0 && (size_t)k < r->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(r->err + k, r->errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return DOPT_ERR_INVALID_ARGUMENT;
}

/* A note about something the reader skips, with its line. Kept in the
 * reader: under DOPT_MPS_AUTO a failed free-format attempt must not report
 * warnings about a text it then reads as fixed format. */
static void warn(mps_reader *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void warn(mps_reader *r, const char *fmt, ...)
{
    milp_mps_warnings *w = &r->warn;
    if (w->count++ >= MILP_MPS_WARNINGS) return; /* counted, text dropped */
    char *out = w->text[w->count - 1];
    int k = snprintf(out, sizeof w->text[0], "line %ld: ", r->line);
    if (k >= 0 && (size_t)k < sizeof w->text[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(out + k, sizeof w->text[0] - (size_t)k, fmt, ap);
        va_end(ap);
    }
}

/* out of memory, with the line reached: DOPT_ERR_OUT_OF_MEMORY, so that
 * AUTO does not retry the text as fixed format */
static dopt_status oom(mps_reader *r)
{
    fail(r, "out of memory");
    return DOPT_ERR_OUT_OF_MEMORY;
}

static int grow(void **p, int32_t need, int32_t *cap, size_t elem)
{
    if (need <= *cap) return 1;
    int32_t c = *cap ? *cap : 256;
    while (c < need) c = c > INT32_MAX / 2 ? INT32_MAX : 2 * c;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q) return 0;
    *p = q, *cap = c;
    return 1;
}

/* Next line into r->buf (without the newline); 0 at the end of the text. */
static int next_line(mps_reader *r)
{
    if (r->pos >= r->len) return 0;
    size_t s = r->pos, e = s;
    while (e < r->len && r->text[e] != '\n') ++e;
    r->pos = e < r->len ? e + 1 : e;
    if (e > s && r->text[e - 1] == '\r') --e;
    size_t n = e - s;
    if (n + 1 > r->bufcap) {
        char *b = realloc(r->buf, n + 1);
        if (!b) return -1;
        r->buf = b, r->bufcap = n + 1;
    }
    memcpy(r->buf, r->text + s, n);
    r->buf[n] = 0;
    r->line++;
    return 1;
}

static int is_blank(char ch) { return ch == ' ' || ch == '\t'; }

static void split_free(mps_reader *r, char *s)
{
    r->ntok = 0;
    while (*s) {
        while (is_blank(*s)) *s++ = 0;
        if (!*s) break;
        if (r->ntok == MAX_TOKENS) {
            r->ntok++; /* too many: reported by the caller */
            return;
        }
        r->tok[r->ntok++] = s;
        while (*s && !is_blank(*s)) ++s;
    }
}

/* fixed MPS: fields at 0-based columns [1,3) [4,12) [14,22) [24,36) [39,47) [49,61) */
static void split_fixed(mps_reader *r)
{
    static const int start[6] = {1, 4, 14, 24, 39, 49}, end[6] = {3, 12, 22, 36, 47, 61};
    size_t len = strlen(r->buf);
    /* cut the fields in place: terminate each at its end column first */
    char *field[6];
    for (int f = 0; f < 6; ++f) field[f] = (size_t)start[f] < len ? r->buf + start[f] : NULL;
    for (int f = 0; f < 6; ++f)
        if ((size_t)end[f] < len) r->buf[end[f]] = 0;
    r->ntok = 0;
    for (int f = 0; f < 6; ++f) {
        char *s = field[f];
        if (!s) continue;
        while (is_blank(*s)) ++s;
        char *e = s + strlen(s);
        while (e > s && is_blank(e[-1])) *--e = 0;
        if (*s) r->tok[r->ntok++] = s;
    }
}

/* a number, whole token. allow_inf: 0 finite and below 1e30; 1 |v| >= 1e30
 * becomes infinite (bounds, rhs); 2 any finite value (ranges) */
static int number(mps_reader *r, const char *s, int allow_inf, double *out)
{
    char *end, copy[64];
    const char *text = s, *fortran = strpbrk(s, "Dd"); /* Fortran exponent: 1.0D3 */
    if (fortran && strlen(s) < sizeof copy) {
        memcpy(copy, s, strlen(s) + 1);
        copy[fortran - s] = 'E';
        text = copy;
    }
    double v = strtod(text, &end);
    if (end == text || *end) return fail(r, "'%s' is not a number", s), 0;
    if (isnan(v)) return fail(r, "NaN is not allowed"), 0;
    if (allow_inf == 2) { /* a plain finite number: no infinity threshold */
        if (!isfinite(v)) return fail(r, "'%s' must be finite", s), 0;
    } else if (fabs(v) >= MILP_INF_THRESHOLD) {
        if (!allow_inf) return fail(r, "value '%s' is infinite where a finite coefficient is needed", s), 0;
        v = v > 0 ? HUGE_VAL : -HUGE_VAL;
    }
    *out = v;
    return 1;
}

static dopt_status add_row(mps_reader *r, const char *type, const char *name)
{
    char t = type[0];
    if (type[1] || (t != 'N' && t != 'E' && t != 'L' && t != 'G'))
        return fail(r, "row type '%s' is not N, E, L or G", type);
    if (milp_names_get(&r->rows, name) != -1 || (r->obj_name && !strcmp(r->obj_name, name)))
        return fail(r, "row '%s' defined twice", name);
    char *keep = milp_strdup(name);
    if (!keep) return oom(r);
    if (t == 'N' && !r->obj_name && (!r->objname_wanted || !strcmp(r->objname_wanted, name))) {
        r->obj_name = keep;
        return DOPT_OK;
    }
    if (t == 'N') { /* a further free row: its entries are dropped */
        warn(r, "free row '%s' (a second N row) dropped: only the first N row is read, as the objective", name);
        int32_t cap = r->fcap;
        if (!grow((void **)&r->fname, r->nfree + 1, &cap, sizeof(char *))) return free(keep), oom(r);
        r->fcap = cap;
        r->fname[r->nfree++] = keep;
        return milp_names_put(&r->rows, keep, ROW_FREE_IGNORED) < 0 ? oom(r) : DOPT_OK;
    }
    if (r->m == INT32_MAX - 1) return free(keep), fail(r, "too many rows");
    if (r->m + 1 > r->rcap) {
        int32_t cap = r->rcap, c2;
        int ok = grow((void **)&r->rname, r->m + 1, &cap, sizeof(char *));
        c2 = r->rcap, ok = ok && grow((void **)&r->rtype, cap, &c2, 1);
        c2 = r->rcap, ok = ok && grow((void **)&r->rhs, cap, &c2, sizeof(double));
        c2 = r->rcap, ok = ok && grow((void **)&r->range, cap, &c2, sizeof(double));
        c2 = r->rcap, ok = ok && grow((void **)&r->has_range, cap, &c2, 1);
        c2 = r->rcap, ok = ok && grow((void **)&r->rowmark, cap, &c2, sizeof(int32_t));
        if (!ok) return free(keep), oom(r);
        r->rcap = cap;
    }
    int32_t i = r->m++;
    r->rname[i] = keep, r->rtype[i] = t, r->rhs[i] = 0, r->range[i] = 0, r->has_range[i] = 0, r->rowmark[i] = -1;
    return milp_names_put(&r->rows, keep, i) < 0 ? oom(r) : DOPT_OK;
}

/* index of a column (created when asked): -1 unknown, -2 too many, -3 out of memory */
static int32_t column_of(mps_reader *r, const char *name, int create)
{
    int32_t j = milp_names_get(&r->cols, name);
    if (j >= 0 || !create) return j;
    if (r->n == INT32_MAX - 1) return fail(r, "too many columns"), -2;
    int32_t cap = r->ccap, c2;
    if (r->n + 1 > cap) {
        if (!grow((void **)&r->cname, r->n + 1, &cap, sizeof(char *))) return oom(r), -3;
        c2 = r->ccap;
        if (!grow((void **)&r->c, cap, &c2, sizeof(double))) return oom(r), -3;
        c2 = r->ccap;
        if (!grow((void **)&r->lo, cap, &c2, sizeof(double))) return oom(r), -3;
        c2 = r->ccap;
        if (!grow((void **)&r->hi, cap, &c2, sizeof(double))) return oom(r), -3;
        c2 = r->ccap;
        if (!grow((void **)&r->integer, cap, &c2, 1)) return oom(r), -3;
        c2 = r->ccap;
        if (!grow((void **)&r->lo_set, cap, &c2, 1)) return oom(r), -3;
        c2 = r->ccap;
        if (!grow((void **)&r->bounded, cap, &c2, 1)) return oom(r), -3;
        r->ccap = cap;
    }
    char *keep = milp_strdup(name);
    if (!keep) return oom(r), -3;
    j = r->n++;
    r->cname[j] = keep, r->c[j] = 0, r->lo[j] = 0, r->hi[j] = HUGE_VAL;
    r->integer[j] = (uint8_t)r->in_int, r->lo_set[j] = 0, r->bounded[j] = 0;
    if (milp_names_put(&r->cols, keep, j) < 0) return oom(r), -3;
    return j;
}

static dopt_status column_line(mps_reader *r)
{
    if (r->ntok >= 2 && !strcmp(r->tok[1], "'MARKER'")) {
        if (r->ntok < 3) return fail(r, "MARKER line without 'INTORG' or 'INTEND'");
        if (!strcmp(r->tok[2], "'INTORG'")) r->in_int = 1;
        else if (!strcmp(r->tok[2], "'INTEND'")) r->in_int = 0;
        else return fail(r, "unknown marker %s (expected 'INTORG' or 'INTEND')", r->tok[2]);
        return DOPT_OK;
    }
    if (r->ntok != 3 && r->ntok != 5)
        return fail(r, "COLUMNS line needs a column and one or two (row, value) pairs, got %d fields", r->ntok);
    int32_t j = column_of(r, r->tok[0], 1);
    if (j < 0) return j == -3 ? DOPT_ERR_OUT_OF_MEMORY : DOPT_ERR_INVALID_ARGUMENT;
    for (int k = 1; k < r->ntok; k += 2) {
        int32_t i = milp_names_get(&r->rows, r->tok[k]);
        double v;
        if (i == -1 && !(r->obj_name && !strcmp(r->obj_name, r->tok[k])))
            return fail(r, "unknown row '%s' in COLUMNS", r->tok[k]);
        if (!number(r, r->tok[k + 1], 0, &v)) return DOPT_ERR_INVALID_ARGUMENT;
        if (i == -1) {
            r->c[j] += v;
        } else if (i >= 0) {
            if (r->rowmark[i] == j) return fail(r, "entry (%s, %s) given twice", r->tok[0], r->tok[k]);
            r->rowmark[i] = j;
            if (v != 0 && !milp_triplets_add(&r->trip, i, j, v)) return oom(r);
        }
    }
    return DOPT_OK;
}

/* a line of a second RHS, RANGES or BOUNDS set: reported once per section */
static void skipped_set(mps_reader *r, int which, const char *section, const char *set, const char *first)
{
    if (r->skipped_set[which]) return;
    r->skipped_set[which] = 1;
    warn(r, "%s set '%s' skipped (and any later line of it): only the first set, '%s', is read", section, set, first);
}

/* RHS and RANGES: [set] row value [row value] */
static dopt_status rhs_line(mps_reader *r, int ranges)
{
    int first = r->ntok % 2; /* odd count: a set name leads */
    if (r->ntok < 2 || r->ntok > 5) return fail(r, "%s line needs [set] row value [row value]", ranges ? "RANGES" : "RHS");
    char **set = ranges ? &r->range_set : &r->rhs_set;
    const char *setname = first ? r->tok[0] : "";
    if (!*set) {
        *set = milp_strdup(setname);
        if (!*set) return oom(r);
    } else if (strcmp(*set, setname)) {
        /* only the first set counts, as every reader does */
        skipped_set(r, ranges ? 2 : 1, ranges ? "RANGES" : "RHS", setname, *set);
        return DOPT_OK;
    }
    for (int k = first; k < r->ntok; k += 2) {
        int32_t i = milp_names_get(&r->rows, r->tok[k]);
        int is_obj = i == -1 && r->obj_name && !strcmp(r->obj_name, r->tok[k]);
        double v;
        if (i == -1 && !is_obj) return fail(r, "unknown row '%s' in %s", r->tok[k], ranges ? "RANGES" : "RHS");
        if (!number(r, r->tok[k + 1], ranges ? 2 : 1, &v)) return DOPT_ERR_INVALID_ARGUMENT;
        if (is_obj) {
            if (ranges) return fail(r, "RANGES on the objective row '%s'", r->tok[k]);
            if (!isfinite(v)) return fail(r, "objective constant must be finite");
            r->offset = -v; /* RHS of the objective row = -constant */
        } else if (i >= 0) {
            if (ranges) {
                if (r->rtype[i] == 'N') return fail(r, "RANGES on a free row");
                if (!isfinite(v)) return fail(r, "range must be finite");
                r->range[i] = v, r->has_range[i] = 1;
            } else {
                char t = r->rtype[i];
                if ((t == 'E' && !isfinite(v)) || (t == 'L' && v == -HUGE_VAL) || (t == 'G' && v == HUGE_VAL))
                    return fail(r, "right-hand side %s of %c row '%s' leaves no feasible value", r->tok[k + 1], t,
                                r->tok[k]);
                r->rhs[i] = v;
            }
        }
    }
    return DOPT_OK;
}

static dopt_status bound_line(mps_reader *r)
{
    static const char *with_value[] = {"UP", "LO", "FX", "LI", "UI"};
    static const char *no_value[] = {"FR", "MI", "PL", "BV"};
    const char *type = r->tok[0];
    int needs = 0, known = 0;
    for (int k = 0; k < 5; ++k) needs |= !strcmp(type, with_value[k]);
    for (int k = 0; k < 4; ++k) known |= !strcmp(type, no_value[k]);
    if (!needs && !known) return fail(r, "bound type '%s' not supported (UP LO FX FR MI PL BV LI UI)", type);
    const char *set = "", *col = NULL, *val = NULL;
    int bv = !strcmp(type, "BV");
    if (needs) {
        if (r->ntok == 4) set = r->tok[1], col = r->tok[2], val = r->tok[3];
        else if (r->ntok == 3) col = r->tok[1], val = r->tok[2];
        else return fail(r, "bound %s needs [set] column value", type);
    } else {
        if (r->ntok == 2) col = r->tok[1];
        else if (r->ntok == 3 && bv && milp_names_get(&r->cols, r->tok[2]) < 0) col = r->tok[1], val = r->tok[2];
        else if (r->ntok == 3) set = r->tok[1], col = r->tok[2];
        else if (r->ntok == 4 && bv) set = r->tok[1], col = r->tok[2], val = r->tok[3];
        else return fail(r, "bound %s needs [set] column", type);
    }
    if (!r->bound_set) {
        r->bound_set = milp_strdup(set);
        if (!r->bound_set) return oom(r);
    } else if (strcmp(r->bound_set, set)) {
        skipped_set(r, 0, "BOUNDS", set, r->bound_set);
        return DOPT_OK;
    }
    int32_t j = column_of(r, col, 0);
    if (j < 0) return fail(r, "unknown column '%s' in BOUNDS", col);
    r->bounded[j] = 1; /* any entry: the integer default no longer applies (docs/MILP.md) */
    double v = 0;
    if (val && !number(r, val, 1, &v)) return DOPT_ERR_INVALID_ARGUMENT;
    if (!strcmp(type, "UP") || !strcmp(type, "UI")) {
        if (v == -HUGE_VAL) return fail(r, "upper bound -infinity");
        r->hi[j] = v;
        /* the classic rule: a negative upper bound with the default lower bound makes it -inf */
        if (v < 0 && !r->lo_set[j] && r->lo[j] == 0) r->lo[j] = -HUGE_VAL;
        if (type[1] == 'I') r->integer[j] = 1;
    } else if (!strcmp(type, "LO") || !strcmp(type, "LI")) {
        if (v == HUGE_VAL) return fail(r, "lower bound +infinity");
        r->lo[j] = v, r->lo_set[j] = 1;
        if (type[1] == 'I') r->integer[j] = 1;
    } else if (!strcmp(type, "FX")) {
        if (!isfinite(v)) return fail(r, "fixed bound must be finite");
        r->lo[j] = r->hi[j] = v, r->lo_set[j] = 1;
    } else if (!strcmp(type, "FR")) {
        r->lo[j] = -HUGE_VAL, r->hi[j] = HUGE_VAL, r->lo_set[j] = 1;
    } else if (!strcmp(type, "MI")) {
        r->lo[j] = -HUGE_VAL, r->lo_set[j] = 1;
    } else if (!strcmp(type, "PL")) {
        r->hi[j] = HUGE_VAL;
    } else { /* BV */
        if (val && v != 0 && v != 1) return fail(r, "BV value must be 0 or 1");
        r->lo[j] = 0, r->hi[j] = 1, r->integer[j] = 1, r->lo_set[j] = 1;
    }
    return DOPT_OK;
}

static int section_of(const char *word)
{
    static const struct {
        const char *name;
        int id;
    } table[] = {{"NAME", SEC_NAME},       {"OBJSENSE", SEC_OBJSENSE}, {"OBJSENCE", SEC_OBJSENSE},
                 {"OBJNAME", SEC_OBJNAME}, {"ROWS", SEC_ROWS},         {"COLUMNS", SEC_COLUMNS},
                 {"RHS", SEC_RHS},         {"RANGES", SEC_RANGES},     {"BOUNDS", SEC_BOUNDS}};
    for (size_t k = 0; k < sizeof table / sizeof *table; ++k)
        if (!strcmp(word, table[k].name)) return table[k].id;
    return -1;
}

static dopt_status set_sense(mps_reader *r, const char *w)
{
    if (!strcmp(w, "MAX") || !strcmp(w, "MAXIMIZE")) r->maximize = 1;
    else if (!strcmp(w, "MIN") || !strcmp(w, "MINIMIZE")) r->maximize = 0;
    else return fail(r, "OBJSENSE must be MIN or MAX, got '%s'", w);
    return DOPT_OK;
}

static dopt_status set_objname(mps_reader *r, const char *name, int seen_rows)
{
    if (seen_rows) return fail(r, "OBJNAME must come before ROWS");
    free(r->objname_wanted);
    r->objname_wanted = milp_strdup(name);
    return r->objname_wanted ? DOPT_OK : oom(r);
}

static dopt_status finish(mps_reader *r, dopt_milp **out)
{
    if (!r->obj_name && r->objname_wanted) return fail(r, "OBJNAME '%s' is not an N row", r->objname_wanted);
    dopt_milp *p = milp_from_triplets(r->n, r->m, &r->trip);
    if (!p) return oom(r);
    for (int32_t j = 0; j < r->n; ++j) {
        p->c[j] = r->c[j], p->col_lo[j] = r->lo[j], p->col_hi[j] = r->hi[j], p->integer[j] = r->integer[j];
        /* an integer column (between MARKER lines) that no BOUNDS entry
         * names: binary, as COIN's and HiGHS's readers take it, unless the
         * caller asked for [0, +inf) */
        if (r->integer[j] && !r->bounded[j] && r->int_bounds == DOPT_MPS_INT_BINARY) p->col_hi[j] = 1;
    }
    for (int32_t i = 0; i < r->m; ++i) {
        double b = r->rhs[i], R = r->range[i], lo = -HUGE_VAL, hi = HUGE_VAL;
        switch (r->rtype[i]) {
        case 'E':
            lo = hi = b;
            if (r->has_range[i]) {
                if (R > 0) hi = b + R;
                else lo = b + R;
            }
            break;
        case 'L':
            hi = b;
            if (r->has_range[i]) lo = b - fabs(R);
            break;
        default: /* G */
            lo = b;
            if (r->has_range[i]) hi = b + fabs(R);
        }
        /* a range can carry a side past 1e30: infinite, as everywhere in MPS */
        if (lo <= -MILP_INF_THRESHOLD) lo = -HUGE_VAL;
        if (hi >= MILP_INF_THRESHOLD) hi = HUGE_VAL;
        if (lo >= MILP_INF_THRESHOLD || hi <= -MILP_INF_THRESHOLD)
            return dopt_milp_free(p), fail(r, "row '%s': its range puts a side beyond 1e30 the wrong way", r->rname[i]);
        p->row_lo[i] = lo, p->row_hi[i] = hi;
    }
    p->offset = r->offset, p->maximize = r->maximize;
    p->col_names = calloc(r->n ? (size_t)r->n : 1, sizeof(char *));
    p->row_names = calloc(r->m ? (size_t)r->m : 1, sizeof(char *));
    if (!p->col_names || !p->row_names) return dopt_milp_free(p), oom(r);
    for (int32_t j = 0; j < r->n; ++j) p->col_names[j] = r->cname[j], r->cname[j] = NULL;
    for (int32_t i = 0; i < r->m; ++i) p->row_names[i] = r->rname[i], r->rname[i] = NULL;
    p->name = r->name, r->name = NULL;
    p->obj_name = r->obj_name, r->obj_name = NULL;
    char why[256];
    if (milp_check(p, why, sizeof why) != DOPT_OK) return dopt_milp_free(p), fail(r, "%s", why);
    *out = p;
    return DOPT_OK;
}

static void reader_free(mps_reader *r)
{
    for (int32_t i = 0; i < r->m; ++i) free(r->rname[i]);
    for (int32_t k = 0; k < r->nfree; ++k) free(r->fname[k]);
    free(r->fname);
    for (int32_t j = 0; j < r->n; ++j) free(r->cname[j]);
    free(r->buf), free(r->rtype), free(r->rname), free(r->rhs), free(r->range), free(r->has_range), free(r->rowmark);
    free(r->cname), free(r->c), free(r->lo), free(r->hi), free(r->integer), free(r->lo_set), free(r->bounded);
    free(r->obj_name), free(r->objname_wanted), free(r->name);
    free(r->rhs_set), free(r->range_set), free(r->bound_set);
    milp_names_free(&r->rows), milp_names_free(&r->cols);
    milp_triplets_free(&r->trip);
}

/* Text after ENDATA is not read (some writers append a QUADOBJ, or a second
 * NAME ... ENDATA block with one): one warning at the first line that is not
 * blank or a comment, naming the section headers found after ENDATA. */
static void after_endata(mps_reader *r)
{
    char sections[160] = "", first[48] = "";
    long first_line = 0;
    size_t used = 0;
    int more = 0;
    while (next_line(r) > 0) {
        char *s = r->buf;
        if (s[0] == '*') continue;
        int header = !is_blank(s[0]); /* before split_free blanks out the separators */
        split_free(r, s);
        if (r->ntok == 0) continue;
        if (!first_line) first_line = r->line, snprintf(first, sizeof first, "%s", r->tok[0]);
        if (!header || !strcmp(r->tok[0], "ENDATA")) continue;
        size_t need = strlen(r->tok[0]) + 1;
        if (used + need + 4 < sizeof sections)
            used += (size_t)snprintf(sections + used, sizeof sections - used, " %s", r->tok[0]);
        else more = 1;
    }
    if (!first_line) return;
    long line = r->line;
    r->line = first_line;
    if (used) warn(r, "sections after ENDATA skipped:%s%s (nothing after ENDATA is read)", sections, more ? " ..." : "");
    else warn(r, "text after ENDATA skipped ('%s' ...: nothing after ENDATA is read)", first);
    r->line = line;
}

static dopt_status parse(mps_reader *r, dopt_milp **out)
{
    int section = SEC_NONE, seen_rows = 0, got;
    while ((got = next_line(r)) > 0) {
        char *s = r->buf;
        if (s[0] == '*') continue;
        size_t k = 0;
        while (is_blank(s[k])) ++k;
        if (!s[k]) continue;
        if (!is_blank(s[0])) { /* a section header */
            split_free(r, s);
            if (r->ntok > MAX_TOKENS) return fail(r, "too many fields");
            if (!strcmp(r->tok[0], "ENDATA")) {
                if (!seen_rows) return fail(r, "ENDATA before ROWS");
                DOPT_TRY(finish(r, out));
                after_endata(r);
                return DOPT_OK;
            }
            section = section_of(r->tok[0]);
            if (section < 0) {
                static const char *known[] = {"QUADOBJ", "QMATRIX", "QSECTION", "QCMATRIX", "SOS", "CSECTION",
                                              "INDICATORS", "GENCONS", "PWLOBJ", "SETS"};
                for (size_t q = 0; q < sizeof known / sizeof *known; ++q)
                    if (!strcmp(r->tok[0], known[q]))
                        return fail(r, "section %s is not supported (linear MILPs only)", r->tok[0]);
                return fail(r, "unknown section '%s'", r->tok[0]);
            }
            if (section == SEC_NAME) {
                if (r->ntok >= 2) {
                    free(r->name);
                    r->name = milp_strdup(r->tok[1]);
                    if (!r->name) return oom(r);
                }
                continue;
            }
            if (section == SEC_ROWS) seen_rows = 1;
            if ((section == SEC_COLUMNS || section == SEC_RHS || section == SEC_RANGES || section == SEC_BOUNDS) &&
                !seen_rows)
                return fail(r, "%s before ROWS", r->tok[0]);
            if (section == SEC_OBJSENSE && r->ntok >= 2) {
                DOPT_TRY(set_sense(r, r->tok[1]));
                section = SEC_NONE;
            }
            if (section == SEC_OBJNAME && r->ntok >= 2) {
                DOPT_TRY(set_objname(r, r->tok[1], seen_rows));
                section = SEC_NONE;
            }
            continue;
        }
        if (r->fixed && section != SEC_OBJSENSE && section != SEC_OBJNAME) split_fixed(r);
        else split_free(r, s);
        if (r->ntok > MAX_TOKENS) return fail(r, "too many fields");
        switch (section) {
        case SEC_NONE:
        case SEC_NAME: return fail(r, "data line outside a section");
        case SEC_OBJSENSE:
            DOPT_TRY(set_sense(r, r->tok[0]));
            section = SEC_NONE;
            break;
        case SEC_OBJNAME:
            DOPT_TRY(set_objname(r, r->tok[0], seen_rows));
            section = SEC_NONE;
            break;
        case SEC_ROWS:
            if (r->ntok != 2) return fail(r, "ROWS line needs a type and a name");
            DOPT_TRY(add_row(r, r->tok[0], r->tok[1]));
            break;
        case SEC_COLUMNS: DOPT_TRY(column_line(r)); break;
        case SEC_RHS: DOPT_TRY(rhs_line(r, 0)); break;
        case SEC_RANGES: DOPT_TRY(rhs_line(r, 1)); break;
        case SEC_BOUNDS:
            if (r->ntok < 2) return fail(r, "BOUNDS line needs a type and a column");
            DOPT_TRY(bound_line(r));
            break;
        }
    }
    if (got < 0) return oom(r);
    return fail(r, "missing ENDATA (is the file truncated?)");
}

static dopt_status parse_as(const char *text, size_t len, int fixed, const dopt_mps_read_options *opt,
                            milp_mps_warnings *warnings, dopt_milp **out, char *err, size_t errlen)
{
    mps_reader r;
    memset(&r, 0, sizeof r);
    r.text = text, r.len = len, r.fixed = fixed, r.err = err, r.errlen = errlen, r.int_bounds = opt->int_bounds;
    if (memchr(text, 0, len)) {
        /* a NUL byte means this is not a text file: name its line */
        const char *z = memchr(text, 0, len);
        long line = 1;
        for (const char *q = text; q < z; ++q) line += *q == '\n';
        return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "line %ld: NUL byte (not a text file)", line);
    }
    dopt_status st = parse(&r, out);
    if (st == DOPT_OK && warnings) *warnings = r.warn;
    reader_free(&r);
    return st;
}

/* the gzip magic bytes (RFC 1952): the content, not the name, says gzip */
static int is_gzip(const char *text, size_t len)
{
    return len >= 2 && (unsigned char)text[0] == 0x1f && (unsigned char)text[1] == 0x8b;
}

#ifdef DOPT_HAVE_ZLIB
/* Inflates gzip data (every member, as gunzip does with concatenated
 * files) into a new buffer *out of *outlen bytes. */
static dopt_status gunzip(const char *in, size_t len, char **out, size_t *outlen, char *err, size_t errlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return milp_error(err, errlen, DOPT_ERR_OUT_OF_MEMORY, "gzip: cannot start zlib");
    size_t cap = len < ((size_t)1 << 20) ? ((size_t)1 << 20) : 4 * len, have = 0;
    char *buf = malloc(cap);
    const unsigned char *next = (const unsigned char *)in;
    size_t left = len;
    int rc = Z_OK;
    dopt_status st = DOPT_OK;
    while (buf) {
        if (have == cap) {
            char *b = cap > SIZE_MAX / 2 ? NULL : realloc(buf, 2 * cap);
            if (!b) {
                free(buf), buf = NULL;
                break;
            }
            buf = b, cap *= 2;
        }
        /* zlib counts in 32-bit uInt: hand it the data in pieces */
        uInt in_piece = left > (1u << 30) ? (1u << 30) : (uInt)left;
        uInt out_piece = cap - have > (1u << 30) ? (1u << 30) : (uInt)(cap - have);
        z.next_in = (Bytef *)next, z.avail_in = in_piece;
        z.next_out = (Bytef *)buf + have, z.avail_out = out_piece;
        rc = inflate(&z, Z_NO_FLUSH);
        next += in_piece - z.avail_in, left -= in_piece - z.avail_in;
        have += out_piece - z.avail_out;
        if (rc == Z_STREAM_END) {
            while (left && *next == 0) ++next, --left; /* zero padding after the last member (tar, dd) */
            if (!left) break;
            if (inflateReset(&z) != Z_OK) rc = Z_DATA_ERROR; /* another member follows */
            else continue;
        }
        if (rc == Z_MEM_ERROR) {
            free(buf), buf = NULL;
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            st = milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "gzip data is corrupt (%s)",
                            z.msg ? z.msg : "zlib error");
            break;
        }
        if (!left && z.avail_out) { /* all input used, room left, and the stream not ended */
            st = milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "gzip data is truncated");
            break;
        }
    }
    inflateEnd(&z);
    if (!buf) return milp_error(err, errlen, DOPT_ERR_OUT_OF_MEMORY, "gzip: out of memory while inflating");
    if (st != DOPT_OK) return free(buf), st;
    *out = buf, *outlen = have;
    return DOPT_OK;
}
#endif

void milp_mps_read_options_default(dopt_mps_read_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->format = DOPT_MPS_AUTO;
    opt->int_bounds = DOPT_MPS_INT_BINARY;
}

static dopt_status parse_text(const char *text, size_t len, const dopt_mps_read_options *opt,
                              milp_mps_warnings *warnings, dopt_milp **out, char *err, size_t errlen)
{
    dopt_mps_format format = opt->format;
    if (format == DOPT_MPS_FREE || format == DOPT_MPS_FIXED)
        return parse_as(text, len, format == DOPT_MPS_FIXED, opt, warnings, out, err, errlen);
    dopt_status st = parse_as(text, len, 0, opt, warnings, out, err, errlen);
    if (st == DOPT_OK || st == DOPT_ERR_OUT_OF_MEMORY) return st;
    char fixed_err[256];
    if (parse_as(text, len, 1, opt, warnings, out, fixed_err, sizeof fixed_err) == DOPT_OK) return DOPT_OK;
    return st; /* the free-format message: the usual case */
}

dopt_status milp_mps_parse_opts(const char *text, size_t len, const dopt_mps_read_options *opt,
                                milp_mps_warnings *warnings, dopt_milp **out, char *err, size_t errlen)
{
    if (warnings) memset(warnings, 0, sizeof *warnings);
    if (!out || (!text && len)) return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "NULL argument");
    *out = NULL;
    dopt_mps_read_options defaults;
    if (!opt) milp_mps_read_options_default(&defaults), opt = &defaults;
    if (opt->format != DOPT_MPS_AUTO && opt->format != DOPT_MPS_FREE && opt->format != DOPT_MPS_FIXED)
        return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "unknown MPS format %d", (int)opt->format);
    if (opt->int_bounds != DOPT_MPS_INT_BINARY && opt->int_bounds != DOPT_MPS_INT_NONNEG)
        return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT,
                          "int_bounds must be DOPT_MPS_INT_BINARY or DOPT_MPS_INT_NONNEG, got %d", (int)opt->int_bounds);
    if (!text) text = "";
    if (!is_gzip(text, len)) return parse_text(text, len, opt, warnings, out, err, errlen);
#ifdef DOPT_HAVE_ZLIB
    char *plain = NULL;
    size_t plain_len = 0;
    DOPT_TRY(gunzip(text, len, &plain, &plain_len, err, errlen));
    dopt_status st = parse_text(plain, plain_len, opt, warnings, out, err, errlen);
    free(plain);
    return st;
#else
    return milp_error(err, errlen, DOPT_ERR_UNSUPPORTED,
                      "gzip-compressed MPS, and this build of dopt has no zlib: decompress it first (gunzip), "
                      "or rebuild dopt with zlib");
#endif
}

dopt_status milp_mps_parse(const char *text, size_t len, dopt_mps_format format, dopt_milp **out, char *err,
                           size_t errlen)
{
    dopt_mps_read_options opt;
    milp_mps_read_options_default(&opt);
    opt.format = format;
    return milp_mps_parse_opts(text, len, &opt, NULL, out, err, errlen);
}

dopt_status milp_mps_read_opts(const char *path, const dopt_mps_read_options *opt, milp_mps_warnings *warnings,
                               dopt_milp **out, char *err, size_t errlen)
{
    if (warnings) memset(warnings, 0, sizeof *warnings);
    if (!path || !out) return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    while (text) {
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (len < cap) break;
        char *t = realloc(text, 2 * cap);
        if (!t) free(text);
        text = t, cap *= 2;
    }
    int io = ferror(f);
    fclose(f);
    if (!text) return milp_error(err, errlen, DOPT_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    if (io) return free(text), milp_error(err, errlen, DOPT_ERR_INVALID_ARGUMENT, "%s: read error", path);
    char msg[MILP_MSG_LEN] = "";
    dopt_status st = milp_mps_parse_opts(text, len, opt, warnings, out, msg, sizeof msg);
    free(text);
    if (st != DOPT_OK) milp_error(err, errlen, st, "%s: %s", path, msg);
    return st;
}

dopt_status milp_mps_read(const char *path, dopt_mps_format format, dopt_milp **out, char *err, size_t errlen)
{
    dopt_mps_read_options opt;
    milp_mps_read_options_default(&opt);
    opt.format = format;
    return milp_mps_read_opts(path, &opt, NULL, out, err, errlen);
}
