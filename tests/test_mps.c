/* MPS reader and writer: a hand-written file with every section against
 * the model it must give, fixed format with blanks in names, malformed
 * inputs rejected with the right line, and write -> read round trips of
 * generated and hand-written models (identical). Host only. */
#include "milp_compare.h"
#include "test_util.h"

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
    static const double hi[10] = {4, 5, HUGE_VAL, 1, 2.5, HUGE_VAL, 7, HUGE_VAL, 1, -2};
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

int main(int argc, char **argv)
{
    datadir = argc > 1 ? argv[1] : "tests/data/mps";
    workdir = argc > 2 ? argv[2] : "/tmp";
    tu_init(1, argv); /* a CPU context: the MILP calls are host-only and report through it */
    test_every_section();
    test_fixed_format();
    test_malformed();
    test_round_trips();
    return tu_finish("test_mps");
}
