/* dopt: reading and writing MILP models (dopt_milp.h) as MPS files.
 * Part of the public API; include dopt.h (the umbrella) or this header.
 * Host only, like dopt_milp.h: the calls work with a context of any backend
 * and report failures there (dopt_context_last_error). docs/MILP.md.
 *
 * Sections NAME, OBJSENSE (MAX/MIN, same line or next), OBJSENSE MAXIMIZE,
 * ROWS (N/E/L/G; the first N row is the objective, later ones dropped with
 * a warning), COLUMNS (with 'MARKER' INTORG/INTEND), RHS (objective-row
 * entry = -offset), RANGES, BOUNDS (UP LO FX FR MI PL BV LI UI), ENDATA.
 * Only the first RHS, RANGES and BOUNDS set is read (a later set: a
 * warning); text after ENDATA is skipped with a warning. Warnings go to the
 * context's log as DOPT_LOG_WARN (dopt_context_set_log), "PATH: line L: ...".
 * Errors name the line: "line 17: unknown row 'R9' in COLUMNS".
 *
 * Integer columns without bounds: an integer column (between MARKER lines)
 * that no BOUNDS entry names is binary, [0, 1], by default, as COIN's
 * CoinMpsIO and HiGHS read it; DOPT_MPS_INT_NONNEG reads it as [0, +inf)
 * instead. Any BOUNDS entry for the column (UP, LO, MI, PL, FR, ...) turns
 * the default off: the column starts from [0, +inf) and the entry applies,
 * so "UP 5" alone gives [0, 5], "LO 2" alone [2, +inf), "MI" alone
 * (-inf, +inf), "PL" alone [0, +inf), and a negative UP with no LO makes the
 * lower bound -inf (the classic rule, as COIN). docs/MILP.md.
 *
 * Gzipped files (.mps.gz, recognised by the gzip magic bytes, not by the
 * name) are read directly when dopt was built with zlib; without zlib they
 * fail with DOPT_ERR_UNSUPPORTED and a message saying so. */
#ifndef DOPT_MPS_H
#define DOPT_MPS_H

#include "dopt_milp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dopt_mps_format {
    DOPT_MPS_AUTO = 0,  /* free; if that fails, fixed columns (names with blanks) */
    DOPT_MPS_FREE = 1,  /* whitespace-separated fields */
    DOPT_MPS_FIXED = 2  /* fields at columns 2-3, 5-12, 15-22, 25-36, 40-47, 50-61 */
} dopt_mps_format;

/* How integer columns that no BOUNDS entry names are read (above). */
typedef enum dopt_mps_int_bounds {
    DOPT_MPS_INT_BINARY = 0, /* [0, 1]: COIN's and HiGHS's convention (default) */
    DOPT_MPS_INT_NONNEG = 1  /* [0, +inf): what earlier dopt releases read */
} dopt_mps_int_bounds;

/* Reader options; start from dopt_mps_read_options_default. */
typedef struct dopt_mps_read_options {
    dopt_mps_format format;         /* DOPT_MPS_AUTO */
    dopt_mps_int_bounds int_bounds; /* DOPT_MPS_INT_BINARY */
} dopt_mps_read_options;

DOPT_API void dopt_mps_read_options_default(dopt_mps_read_options *opt);

/* MPS text (host, len bytes, not necessarily NUL-terminated) into *out, a
 * new model (free with dopt_milp_free); *out = NULL on failure. A malformed
 * file is DOPT_ERR_INVALID_ARGUMENT with "line L: ..." in ctx. */
DOPT_API dopt_status dopt_mps_parse(dopt_context *ctx, const char *text, size_t len, dopt_mps_format format,
                                    dopt_milp **out);
/* The file at path; messages start with the path ("PATH: line L: ..."). */
DOPT_API dopt_status dopt_mps_read(dopt_context *ctx, const char *path, dopt_mps_format format, dopt_milp **out);
/* dopt_mps_parse and dopt_mps_read with options (opt NULL = the defaults;
 * the two calls above are these with the defaults and their format). The
 * text may be gzip data; an unknown format or int_bounds value is
 * DOPT_ERR_INVALID_ARGUMENT. */
DOPT_API dopt_status dopt_mps_parse_with(dopt_context *ctx, const char *text, size_t len,
                                         const dopt_mps_read_options *opt, dopt_milp **out);
DOPT_API dopt_status dopt_mps_read_with(dopt_context *ctx, const char *path, const dopt_mps_read_options *opt,
                                        dopt_milp **out);
/* Free MPS, numbers with 17 significant digits: reading it back gives the
 * identical model, whatever the reader's integer-bound convention: every
 * integer column gets explicit bounds (BV for [0, 1], else LO and UP or PL,
 * MI, FR, FX), so that no reader falls back on a default. Everything that can make writing fail (an invalid model,
 * names that cannot be written, free rows) is checked before the file is
 * created; a failed write removes the partial file. */
DOPT_API dopt_status dopt_mps_write(dopt_context *ctx, const dopt_milp *model, const char *path);

#ifdef __cplusplus
}
#endif
#endif
