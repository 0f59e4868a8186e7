/* dopt: reading and writing MILP models (dopt_milp.h) as MPS files.
 * Part of the public API; include dopt.h (the umbrella) or this header.
 * Host only, like dopt_milp.h: the calls work with a context of any backend
 * and report failures there (dopt_context_last_error). docs/MILP.md.
 *
 * Sections NAME, OBJSENSE (MAX/MIN, same line or next), OBJSENSE MAXIMIZE,
 * ROWS (N/E/L/G; the first N row is the objective, later ones dropped),
 * COLUMNS (with 'MARKER' INTORG/INTEND), RHS (objective-row entry = -offset),
 * RANGES, BOUNDS (UP LO FX FR MI PL BV LI UI), ENDATA. Integer columns with
 * no bounds get [0, 1] only with BV; otherwise [0, +inf) as most readers
 * today (not the historical default [0, 1]): docs/MILP.md. Errors name the
 * line: "line 17: unknown row 'R9' in COLUMNS". */
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

/* MPS text (host, len bytes, not necessarily NUL-terminated) into *out, a
 * new model (free with dopt_milp_free); *out = NULL on failure. A malformed
 * file is DOPT_ERR_INVALID_ARGUMENT with "line L: ..." in ctx. */
DOPT_API dopt_status dopt_mps_parse(dopt_context *ctx, const char *text, size_t len, dopt_mps_format format,
                                    dopt_milp **out);
/* The file at path; messages start with the path ("PATH: line L: ..."). */
DOPT_API dopt_status dopt_mps_read(dopt_context *ctx, const char *path, dopt_mps_format format, dopt_milp **out);
/* Free MPS, numbers with 17 significant digits: reading it back gives the
 * identical model. Everything that can make writing fail (an invalid model,
 * names that cannot be written, free rows) is checked before the file is
 * created; a failed write removes the partial file. */
DOPT_API dopt_status dopt_mps_write(dopt_context *ctx, const dopt_milp *model, const char *path);

#ifdef __cplusplus
}
#endif
#endif
