/* MPS reader and writer: a hand-written file with every section against
 * the model it must give, fixed format with blanks in names, malformed
 * inputs rejected with the right line, and write -> read round trips of
 * generated and hand-written models (identical); the integer-bound
 * convention (binary by default, [0, inf) as an option), gzipped files,
 * and the warnings about what the reader skips. Host only. */
#include "milp_compare.h"
#include "test_util.h"

#ifdef DOPT_TEST_HAVE_ZLIB
#include <zlib.h>
#endif

static const char *datadir, *workdir;

/* the message of the last failed call (every MILP call reports through the context) */
static const char *msg(void) { return dopt_context_last_error(tu_ctx); }

static dopt_milp *read_data(const char *name, dopt_mps_format fmt)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", datadir, name);
    dopt_milp *p = NULL;
    dopt_status st = dopt_mps_read(tu_ctx, path, fmt, &p);
    CHECK(st == DOPT_OK && p, "%s: %s", name, msg());
    return p;
}

static int32_t col_index(const dopt_milp *p, const char *name)
{
    for (int32_t j = 0; j < p->n; ++j)
        if (!strcmp(p->col_names[j], name)) return j;
    return -1;
}

static double entry(const dopt_milp *p, int32_t i, int32_t j)
{
    for (int64_t k = p->col_ptr[j]; k < p->col_ptr[j + 1]; ++k)
        if (p->row_idx[k] == i) return p->values[k];
    return 0;
}

static void test_every_section(void)
{
    dopt_milp *p = read_data("every_section.mps", DOPT_MPS_AUTO);
    if (!p) return;
    const double inf = HUGE_VAL;
    CHECK(p->n == 10 && p->m == 5 && p->nnz == 12, "sizes %d %d %lld", p->n, p->m, (long long)p->nnz);
    CHECK(p->maximize == 1, "OBJSENSE MAX");
    CHECK(p->offset == 10, "objective constant = -RHS of the objective row: %g", p->offset);
    CHECK(!strcmp(p->name, "EVERY") && !strcmp(p->obj_name, "profit"), "names");
    static const char *rows[5] = {"bal", "cap", "dem", "rng_pos", "rng_neg"};
    static const double rlo[5] = {0, 3, 2, 1, -3}, rhi[5] = {0, 8, 6, 4, -1};
    for (int i = 0; i < 5 && p->m == 5; ++i) {
        CHECK(!strcmp(p->row_names[i], rows[i]), "row %d is %s", i, p->row_names[i]);
        CHECK(p->row_lo[i] == rlo[i] && p->row_hi[i] == rhi[i], "row %s: [%g, %g], want [%g, %g] (RHS set RHS only)",
              rows[i], p->row_lo[i], p->row_hi[i], rlo[i], rhi[i]);
    }
    static const char *cols[10] = {"x1", "y1", "y2", "x2", "x3", "x4", "x5", "x6", "x7", "x8"};
    static const double c[10] = {1.5, -2, 4, 0, 1, 0, 0, 0.25, 0, 0};
    static const double lo[10] = {0, -3, 0, -1, 2.5, -HUGE_VAL, -HUGE_VAL, 0, 0, -HUGE_VAL};
    /* y2: integer with no BOUNDS entry, binary by default (test_int_bounds) */
    static const double hi[10] = {4, 5, 1, 1, 2.5, HUGE_VAL, 7, HUGE_VAL, 1, -2};
    static const uint8_t integer[10] = {0, 1, 1, 0, 0, 0, 0, 0, 1, 0};
    for (int j = 0; j < 10 && p->n == 10; ++j) {
        CHECK(!strcmp(p->col_names[j], cols[j]), "column %d is %s", j, p->col_names[j]);
        CHECK(p->c[j] == c[j], "c[%s] = %g", cols[j], p->c[j]);
        CHECK(p->col_lo[j] == lo[j] && p->col_hi[j] == hi[j], "bounds of %s: [%g, %g]", cols[j], p->col_lo[j],
              p->col_hi[j]);
        CHECK(p->integer[j] == integer[j], "integrality of %s", cols[j]);
    }
    /* matrix: the free row 'spare' dropped, entries by (row, column) */
    CHECK(entry(p, 0, col_index(p, "x1")) == 1 && entry(p, 1, col_index(p, "x1")) == 2, "x1 column");
    CHECK(entry(p, 0, col_index(p, "y1")) == -1 && entry(p, 2, col_index(p, "y1")) == 3 &&
              entry(p, 3, col_index(p, "y1")) == 1,
          "y1 column");
    CHECK(entry(p, 4, col_index(p, "x5")) == -1 && entry(p, 1, col_index(p, "x8")) == -1, "x5, x8");
    CHECK(inf > 0, "-");
    dopt_milp_free(p);
}

static void test_fixed_format(void)
{
    dopt_milp *p = read_data("fixed_blanks.mps", DOPT_MPS_AUTO); /* free fails (names with blanks) -> fixed */
    if (p) {
        CHECK(p->n == 2 && p->m == 2, "sizes");
        CHECK(!strcmp(p->row_names[0], "LIM 1") && !strcmp(p->col_names[1], "X TWO"), "names with blanks");
        CHECK(p->row_hi[0] == 4 && p->row_lo[1] == 1 && p->col_hi[0] == 3 && entry(p, 1, 1) == 3, "values");
        CHECK(dopt_mps_write(tu_ctx, p, "/nonexistent-dir/x.mps") != DOPT_OK, "blank names refused");
        CHECK(strstr(msg(), "cannot be written") != NULL, "message: %s", msg());
        dopt_milp_free(p);
    }
    p = read_data("fixed_blanks.mps", DOPT_MPS_FIXED);
    dopt_milp_free(p);
    char path[1024];
    snprintf(path, sizeof path, "%s/fixed_blanks.mps", datadir);
    p = NULL;
    CHECK(dopt_mps_read(tu_ctx, path, DOPT_MPS_FREE, &p) != DOPT_OK && !p, "free format rejects it");
    CHECK(strstr(msg(), "line 4:") != NULL, "first bad line named: %s", msg());
}

/* malformed text -> error naming `line` and containing `what` */
static void expect_error(const char *text, int line, const char *what)
{
    char want[32];
    dopt_milp *p = NULL;
    dopt_status st = dopt_mps_parse(tu_ctx, text, strlen(text), DOPT_MPS_FREE, &p);
    snprintf(want, sizeof want, "line %d:", line);
    CHECK(st == DOPT_ERR_INVALID_ARGUMENT && !p, "accepted: %s", text);
    CHECK(strstr(msg(), want) && strstr(msg(), what), "message '%s', want '%s' and '%s'", msg(), want, what);
    dopt_milp_free(p);
}

#define HEAD "NAME t\nROWS\n N obj\n L r1\nCOLUMNS\n"
static void test_malformed(void)
{
    /* malformed text, the line its error must name, a phrase the message must hold */
    static const struct {
        const char *text;
        int line;
        const char *what;
    } cases[] = {
        {HEAD " x r9 1\nENDATA\n", 6, "unknown row 'r9'"},
        {HEAD " x r1 1.5.2\nENDATA\n", 6, "not a number"},
        {HEAD " x r1 1D\nENDATA\n", 6, "not a number"},
        {HEAD " x r1 nan\nENDATA\n", 6, "NaN"},
        {HEAD " x r1 1e31\nENDATA\n", 6, "infinite"},
        {HEAD " x r1 1\n x r1 2\nENDATA\n", 7, "given twice"},
        {HEAD " x r1\nENDATA\n", 6, "COLUMNS line"},
        {HEAD " x r1 1\nRHS\n rhs r2 3\nENDATA\n", 8, "unknown row 'r2'"},
        {HEAD " x r1 1\nRHS\n rhs r1 -1e30\nENDATA\n", 8, "no feasible value"},
        {HEAD " x r1 1\nRANGES\n rng obj 3\nENDATA\n", 8, "objective row"},
        {HEAD " x r1 1\nBOUNDS\n SC bnd x 3\nENDATA\n", 8, "not supported"},
        {HEAD " x r1 1\nBOUNDS\n UP bnd y 3\nENDATA\n", 8, "unknown column 'y'"},
        {HEAD " x r1 1\nBOUNDS\n UP bnd x\nENDATA\n", 8, "unknown column 'bnd'"}, /* read as: column value */
        {HEAD " x r1 1\nBOUNDS\n UP\nENDATA\n", 8, "needs a type and a column"},
        {HEAD " x r1 1\nBOUNDS\n BV bnd x 2\nENDATA\n", 8, "0 or 1"},
        {HEAD " x r1 1\n", 6, "missing ENDATA"},
        {HEAD " M 'MARKER' 'INTBAD'\nENDATA\n", 6, "unknown marker"},
        {HEAD " x r1 1\nQUADOBJ\n x x 1\nENDATA\n", 7, "not supported"},
        {HEAD " x r1 1\nFOO\nENDATA\n", 7, "unknown section 'FOO'"},
        {"NAME t\n r1 1\n", 2, "outside a section"},
        {"NAME t\nCOLUMNS\n x r1 1\nENDATA\n", 2, "before ROWS"},
        {"NAME t\nROWS\n X r1\nENDATA\n", 3, "N, E, L or G"},
        {"NAME t\nROWS\n N obj\n L r1\n G r1\nENDATA\n", 5, "defined twice"},
        {"NAME t\nOBJSENSE\n SIDEWAYS\nENDATA\n", 3, "MIN or MAX"},
        {"", 0, "missing ENDATA"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; ++k) expect_error(cases[k].text, cases[k].line, cases[k].what);
    dopt_milp *p = NULL;
    static const char with_nul[] = "NAME t\nROWS\n N obj\n\0\nENDATA\n";
    CHECK(dopt_mps_parse(tu_ctx, with_nul, sizeof with_nul - 1, DOPT_MPS_AUTO, &p) != DOPT_OK && !p,
          "NUL byte accepted");
    CHECK(strstr(msg(), "line 4: NUL") != NULL, "message: %s", msg());
    CHECK(dopt_mps_read(tu_ctx, "/nonexistent/file.mps", DOPT_MPS_AUTO, &p) != DOPT_OK &&
              strstr(msg(), "cannot open"),
          "missing file: %s", msg());
    /* tolerated variants: CRLF, comments, blank lines, no set names, OBJSENSE on one line, Fortran exponents */
    static const char ok[] = "* comment\r\nNAME\r\nOBJSENSE MAXIMIZE\r\n\r\nROWS\r\n N obj\r\n G r1\r\nCOLUMNS\r\n"
                             " x obj 2 r1 1\r\nRHS\r\n r1 0.3D1\r\nBOUNDS\r\n UP x 5\r\nENDATA\r\n";
    dopt_status st = dopt_mps_parse(tu_ctx, ok, sizeof ok - 1, DOPT_MPS_AUTO, &p);
    CHECK(st == DOPT_OK && p && p->maximize && p->row_lo[0] == 3 && p->col_hi[0] == 5 && p->c[0] == 2,
          "variants: %s", msg());
    dopt_milp_free(p);
}

static void round_trip(const dopt_milp *p, const char *what)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/rt_%s.mps", workdir, what);
    dopt_status st = dopt_mps_write(tu_ctx, p, path);
    CHECK(st == DOPT_OK, "%s: write: %s", what, msg());
    dopt_milp *q = NULL;
    st = dopt_mps_read(tu_ctx, path, DOPT_MPS_AUTO, &q);
    CHECK(st == DOPT_OK, "%s: read back: %s", what, msg());
    if (q) {
        const char *diff = milp_difference(p, q, 0);
        CHECK(diff == NULL, "%s: round trip changed the %s", what, diff);
    }
    dopt_milp_free(q);
}

static void test_round_trips(void)
{
    static const dopt_gen_family fam[7] = {DOPT_GEN_SETCOVER, DOPT_GEN_CAUCTION, DOPT_GEN_FACILITY, DOPT_GEN_INDSET,
                                           DOPT_GEN_RC,       DOPT_GEN_WSC,      DOPT_GEN_KNAPSACK};
    for (int f = 0; f < 7; ++f) {
        dopt_gen_params g;
        dopt_gen_params_preset(tu_ctx, fam[f], DOPT_GEN_EASY, &g);
        g.rc_dense = 1;
        dopt_milp *p = NULL;
        char what[32];
        CHECK(dopt_gen_instance(tu_ctx, &g, 7, &p) == DOPT_OK, "generate: %s", msg());
        snprintf(what, sizeof what, "family%d", f);
        if (p) round_trip(p, what);
        dopt_milp_free(p);
    }
    dopt_milp *p = read_data("every_section.mps", DOPT_MPS_AUTO);
    if (p) round_trip(p, "every_section");
    /* awkward numbers and sides: ranged rows whose sides need the G form, subnormals, offsets */
    if (p) {
        p->row_lo[1] = 0.2, p->row_hi[1] = 4.2;
        p->row_lo[2] = -0.1, p->row_hi[2] = 0.7;
        p->row_lo[3] = 1e-300, p->row_hi[3] = 3e-300;
        p->c[0] = 4.9e-324, p->offset = -1.0 / 3.0;
        round_trip(p, "awkward");
    }
    dopt_milp_free(p);
    /* a free row cannot be written without loss: refused */
    dopt_milp *q = NULL;
    CHECK_OK(dopt_milp_alloc(tu_ctx, 1, 1, 0, &q));
    CHECK(q && dopt_mps_write(tu_ctx, q, "/tmp/never.mps") != DOPT_OK && strstr(msg(), "free"), "%s", msg());
    dopt_milp_free(q);
}

/* ---- the integer-bound convention ---------------------------------------- */

/* nw460-like: integer columns between MARKER lines, some with no BOUNDS
 * entry, the others with one entry of each kind */
static const char int_cols[] = "NAME ints\nROWS\n N obj\n L cap\nCOLUMNS\n"
                               " M1 'MARKER' 'INTORG'\n"
                               " a obj -5 cap 2\n b obj -4 cap 3\n c obj -3 cap 1\n" /* no bounds */
                               " u obj 1 cap 1\n l obj 1 cap 1\n mi obj 1 cap 1\n pl obj 1 cap 1\n"
                               " fr obj 1 cap 1\n neg obj 1 cap 1\n"
                               " M2 'MARKER' 'INTEND'\n"
                               " x obj 1 cap 1\n" /* continuous, no bounds */
                               "RHS\n RHS cap 5\nBOUNDS\n UP BND u 5\n LO BND l 2\n MI BND mi\n PL BND pl\n"
                               " FR BND fr\n UP BND neg -1\nENDATA\n";

static dopt_milp *parse_with(const char *text, size_t len, dopt_mps_int_bounds ib)
{
    dopt_mps_read_options opt;
    dopt_mps_read_options_default(&opt);
    CHECK(opt.format == DOPT_MPS_AUTO && opt.int_bounds == DOPT_MPS_INT_BINARY, "defaults");
    opt.int_bounds = ib;
    dopt_milp *p = NULL;
    CHECK(dopt_mps_parse_with(tu_ctx, text, len, &opt, &p) == DOPT_OK && p, "parse: %s", msg());
    return p;
}

static void test_int_bounds(void)
{
    const double inf = HUGE_VAL;
    static const char *names[10] = {"a", "b", "c", "u", "l", "mi", "pl", "fr", "neg", "x"};
    /* COIN's CoinMpsIO and HiGHS: only a column no BOUNDS entry names gets [0, 1]; any entry
     * starts it from [0, inf); a negative UP alone makes the lower bound -inf (COIN) */
    const double lo[10] = {0, 0, 0, 0, 2, -inf, 0, -inf, -inf, 0};
    const double hi_binary[10] = {1, 1, 1, 5, inf, inf, inf, inf, -1, inf};
    for (int mode = 0; mode < 2; ++mode) {
        dopt_milp *p = parse_with(int_cols, sizeof int_cols - 1, mode ? DOPT_MPS_INT_NONNEG : DOPT_MPS_INT_BINARY);
        if (!p) continue;
        CHECK(p->n == 10, "n = %d", p->n);
        for (int j = 0; j < 10 && p->n == 10; ++j) {
            double want_hi = mode && j < 3 ? inf : hi_binary[j]; /* nonneg: only the unnamed three change */
            CHECK(!strcmp(p->col_names[j], names[j]) && p->integer[j] == (j < 9), "column %d", j);
            CHECK(p->col_lo[j] == lo[j] && p->col_hi[j] == want_hi, "%s: %s: [%g, %g], want [%g, %g]",
                  mode ? "nonneg" : "binary", names[j], p->col_lo[j], p->col_hi[j], lo[j], want_hi);
        }
        dopt_milp_free(p);
    }
    /* the calls without options read with the default (binary) */
    dopt_milp *p = NULL;
    CHECK(dopt_mps_parse(tu_ctx, int_cols, sizeof int_cols - 1, DOPT_MPS_FREE, &p) == DOPT_OK && p &&
              p->col_hi[0] == 1 && p->col_hi[1] == 1 && p->col_hi[2] == 1,
          "dopt_mps_parse: binary default: %s", msg());
    dopt_milp_free(p);
    /* a NULL options pointer: the defaults */
    p = NULL;
    CHECK(dopt_mps_parse_with(tu_ctx, int_cols, sizeof int_cols - 1, NULL, &p) == DOPT_OK && p && p->col_hi[2] == 1,
          "NULL options: %s", msg());
    dopt_milp_free(p);
    /* bad option values: a clear error, no model */
    dopt_mps_read_options opt;
    dopt_mps_read_options_default(&opt);
    opt.int_bounds = (dopt_mps_int_bounds)7;
    p = NULL;
    CHECK(dopt_mps_parse_with(tu_ctx, int_cols, sizeof int_cols - 1, &opt, &p) == DOPT_ERR_INVALID_ARGUMENT && !p &&
              strstr(msg(), "int_bounds"),
          "bad int_bounds: %s", msg());
    dopt_mps_read_options_default(&opt);
    opt.format = (dopt_mps_format)9;
    CHECK(dopt_mps_parse_with(tu_ctx, int_cols, sizeof int_cols - 1, &opt, &p) == DOPT_ERR_INVALID_ARGUMENT && !p &&
              strstr(msg(), "format"),
          "bad format: %s", msg());
    CHECK(dopt_mps_read_with(tu_ctx, NULL, NULL, &p) == DOPT_ERR_INVALID_ARGUMENT && !p, "NULL path");
}

/* The writer leaves no integer column to a reader's default: every bound
 * kind written and read back identical under both conventions, and every
 * integer column named in BOUNDS. */
static void test_explicit_bounds(void)
{
    const double inf = HUGE_VAL;
    enum { N = 10 };
    const double lo[N] = {0, 0, 2, 0, -inf, -inf, -3, 4, 0, -inf};
    const double hi[N] = {1, inf, inf, 5, inf, 3, -1, 4, inf, -2};
    const uint8_t integer[N] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    dopt_milp *p = NULL;
    CHECK_OK(dopt_milp_alloc(tu_ctx, N, 1, N, &p));
    if (!p) return;
    p->col_ptr[0] = 0;
    for (int j = 0; j < N; ++j) {
        p->c[j] = j + 1, p->col_lo[j] = lo[j], p->col_hi[j] = hi[j], p->integer[j] = integer[j];
        p->col_ptr[j + 1] = j + 1, p->row_idx[j] = 0, p->values[j] = 1;
    }
    p->nnz = N, p->row_lo[0] = -inf, p->row_hi[0] = 10;
    CHECK_OK(dopt_milp_check(tu_ctx, p));
    char path[1024];
    snprintf(path, sizeof path, "%s/explicit_bounds.mps", workdir);
    CHECK_OK(dopt_mps_write(tu_ctx, p, path));
    /* every integer column appears in BOUNDS */
    FILE *f = fopen(path, "rb");
    char text[8192] = "";
    size_t len = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[len] = 0;
    const char *bounds = strstr(text, "\nBOUNDS\n");
    CHECK(bounds != NULL, "no BOUNDS section:\n%s", text);
    for (int j = 0; bounds && j < N; ++j) {
        char name[32];
        snprintf(name, sizeof name, " C%d\n", j + 1);
        char name_value[32];
        snprintf(name_value, sizeof name_value, " C%d ", j + 1);
        int named = strstr(bounds, name) || strstr(bounds, name_value);
        if (integer[j]) CHECK(named, "integer column C%d has no BOUNDS entry:\n%s", j + 1, bounds);
    }
    for (int mode = 0; mode < 2; ++mode) {
        dopt_mps_read_options opt;
        dopt_mps_read_options_default(&opt);
        opt.int_bounds = mode ? DOPT_MPS_INT_NONNEG : DOPT_MPS_INT_BINARY;
        dopt_milp *q = NULL;
        CHECK(dopt_mps_read_with(tu_ctx, path, &opt, &q) == DOPT_OK && q, "read back: %s", msg());
        if (q) {
            const char *diff = milp_difference(p, q, 0);
            CHECK(diff == NULL, "%s reader: the round trip changed the %s", mode ? "nonneg" : "binary", diff);
        }
        dopt_milp_free(q);
    }
    dopt_milp_free(p);
}

/* ---- warnings: what the reader skips -------------------------------------- */

typedef struct {
    int warnings;
    char text[4096];
} log_record;

static void record_warnings(void *user, int level, const char *message)
{
    log_record *r = user;
    if (level != DOPT_LOG_WARN) return;
    r->warnings++;
    size_t used = strlen(r->text);
    snprintf(r->text + used, sizeof r->text - used, "%s\n", message);
}

static void test_warnings(void)
{
    log_record rec;
    memset(&rec, 0, sizeof rec);
    dopt_context_set_log(tu_ctx, record_warnings, &rec);
    /* every_section.mps: a second N row, a second RHS set and a second BOUNDS set */
    dopt_milp *p = read_data("every_section.mps", DOPT_MPS_AUTO);
    CHECK(rec.warnings == 3 && strstr(rec.text, "every_section.mps: line 12: free row 'spare'") &&
              strstr(rec.text, "line 32: RHS set 'OTHER' skipped") &&
              strstr(rec.text, "line 49: BOUNDS set 'OTHERBND' skipped"),
          "%d warnings:\n%s", rec.warnings, rec.text);
    dopt_milp_free(p);
    /* a QUADOBJ section after ENDATA: the model is read, the section named */
    memset(&rec, 0, sizeof rec);
    static const char quad[] = HEAD " x obj 1 r1 1\nENDATA\n* comment\n\nQUADOBJ\n x x 2\nENDATA\n";
    p = NULL;
    CHECK(dopt_mps_parse(tu_ctx, quad, sizeof quad - 1, DOPT_MPS_AUTO, &p) == DOPT_OK && p && p->n == 1,
          "QUADOBJ after ENDATA: %s", msg());
    CHECK(rec.warnings == 1 && strstr(rec.text, "line 10: sections after ENDATA skipped: QUADOBJ ("), "%d warnings:\n%s",
          rec.warnings, rec.text);
    dopt_milp_free(p);
    /* data lines after ENDATA */
    memset(&rec, 0, sizeof rec);
    static const char tail[] = HEAD " x obj 1 r1 1\nENDATA\n   junk 1 2\n";
    p = NULL;
    CHECK(dopt_mps_parse(tu_ctx, tail, sizeof tail - 1, DOPT_MPS_FREE, &p) == DOPT_OK && p, "%s", msg());
    CHECK(rec.warnings == 1 && strstr(rec.text, "line 8: text after ENDATA skipped ('junk' ..."), "%d warnings:\n%s",
          rec.warnings, rec.text);
    dopt_milp_free(p);
    /* a clean file: no warning; a failed read: no warning either (its error is the message) */
    memset(&rec, 0, sizeof rec);
    p = read_data("knapsack_free.mps", DOPT_MPS_AUTO);
    dopt_milp_free(p);
    static const char bad[] = "NAME t\nROWS\n N obj\n N spare\n L r1\nCOLUMNS\n x r9 1\nENDATA\n";
    p = NULL;
    CHECK(dopt_mps_parse(tu_ctx, bad, sizeof bad - 1, DOPT_MPS_AUTO, &p) != DOPT_OK && !p, "bad text accepted");
    CHECK(rec.warnings == 0, "%d warnings:\n%s", rec.warnings, rec.text);
    /* many skipped rows: the first few named, the rest counted */
    memset(&rec, 0, sizeof rec);
    char many[4096] = "NAME t\nROWS\n N obj\n";
    for (int k = 0; k < 20; ++k) snprintf(many + strlen(many), sizeof many - strlen(many), " N free%d\n", k);
    strcat(many, " L r1\nCOLUMNS\n x obj 1 r1 1\nENDATA\n");
    p = NULL;
    CHECK(dopt_mps_parse(tu_ctx, many, strlen(many), DOPT_MPS_AUTO, &p) == DOPT_OK && p, "%s", msg());
    CHECK(rec.warnings == 9 && strstr(rec.text, "free row 'free7'") && !strstr(rec.text, "free row 'free8'") &&
              strstr(rec.text, "12 more warnings"),
          "%d warnings:\n%s", rec.warnings, rec.text);
    dopt_milp_free(p);
    dopt_context_set_log(tu_ctx, NULL, NULL);
}

/* ---- gzipped files ---------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(size > 0 ? (size_t)size : 1);
    *len = buf ? fread(buf, 1, (size_t)size, f) : 0;
    fclose(f);
    return buf;
}

static void test_gzip(void)
{
    char plain_path[1024], gz_path[1024];
    snprintf(plain_path, sizeof plain_path, "%s/every_section.mps", datadir);
    snprintf(gz_path, sizeof gz_path, "%s/every_section.mps.gz", workdir);
    size_t len = 0;
    char *text = slurp(plain_path, &len);
    CHECK(text && len > 100, "cannot read %s", plain_path);
    if (!text) return;
    dopt_milp *plain = read_data("every_section.mps", DOPT_MPS_AUTO), *p = NULL;
#ifdef DOPT_TEST_HAVE_ZLIB
    /* two gzip members (a file written in two sessions, as `cat a.gz b.gz`), named .gz */
    gzFile g = gzopen(gz_path, "wb");
    CHECK(g && gzwrite(g, text, (unsigned)(len / 2)) == (int)(len / 2) && gzclose(g) == Z_OK, "gzwrite");
    g = gzopen(gz_path, "ab");
    CHECK(g && gzwrite(g, text + len / 2, (unsigned)(len - len / 2)) == (int)(len - len / 2) && gzclose(g) == Z_OK,
          "gzwrite (append)");
    CHECK(dopt_mps_read(tu_ctx, gz_path, DOPT_MPS_AUTO, &p) == DOPT_OK && p, "gzipped read: %s", msg());
    if (p && plain) {
        const char *diff = milp_difference(plain, p, 0);
        CHECK(diff == NULL, "gzipped file read differently: the %s", diff);
    }
    dopt_milp_free(p);
    /* in memory, and under a name without .gz: the magic bytes decide */
    size_t gz_len = 0;
    char *gz = slurp(gz_path, &gz_len);
    CHECK(gz && gz_len > 20 && (unsigned char)gz[0] == 0x1f, "gz bytes");
    if (gz) {
        p = NULL;
        CHECK(dopt_mps_parse(tu_ctx, gz, gz_len, DOPT_MPS_AUTO, &p) == DOPT_OK && p && plain && p->n == plain->n,
              "gzipped text in memory: %s", msg());
        dopt_milp_free(p);
        /* truncated and corrupt data: a clear error naming the file, no model */
        char bad_path[1024];
        snprintf(bad_path, sizeof bad_path, "%s/truncated.mps", workdir);
        FILE *f = fopen(bad_path, "wb");
        if (f) fwrite(gz, 1, gz_len / 3, f), fclose(f);
        p = NULL;
        CHECK(dopt_mps_read(tu_ctx, bad_path, DOPT_MPS_AUTO, &p) == DOPT_ERR_INVALID_ARGUMENT && !p &&
                  strstr(msg(), "truncated.mps: gzip data is truncated"),
              "truncated: %s", msg());
        gz[gz_len / 2] ^= 0x55, gz[gz_len / 2 + 1] ^= 0x33;
        gz[12] ^= 0x7f;
        dopt_status st = dopt_mps_parse(tu_ctx, gz, gz_len, DOPT_MPS_AUTO, &p);
        CHECK(st != DOPT_OK && !p && strstr(msg(), "gzip"), "corrupt: %s", msg());
        free(gz);
    }
#else
    /* without zlib: the gzip magic bytes give a message saying so, not "NUL byte" */
    char head[16] = {(char)0x1f, (char)0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 'x', 'y'};
    CHECK(dopt_mps_parse(tu_ctx, head, sizeof head, DOPT_MPS_AUTO, &p) == DOPT_ERR_UNSUPPORTED && !p &&
              strstr(msg(), "zlib") && strstr(msg(), "gzip"),
          "gzip without zlib: %s", msg());
    (void)gz_path;
#endif
    dopt_milp_free(plain);
    free(text);
}

int main(int argc, char **argv)
{
    datadir = argc > 1 ? argv[1] : "tests/data/mps";
    workdir = argc > 2 ? argv[2] : "/tmp";
    tu_init(1, argv); /* a CPU context: the MILP calls are host-only and report through it */
    test_every_section();
    test_fixed_format();
    test_malformed();
    test_round_trips();
    test_int_bounds();
    test_explicit_bounds();
    test_warnings();
    test_gzip();
    return tu_finish("test_mps");
}
