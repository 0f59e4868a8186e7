/* Private helpers of the MILP side: building a model from triplets, a name
 * table for the MPS reader, formatted errors, and the message-buffer form of
 * every public call.
 *
 * Errors: the work below formats its message into a buffer of the caller's
 * (char *err, size_t errlen; err may be NULL), never into the context. The
 * batched search runs milp_search from worker threads, each job with its
 * own buffer; the public entry points (dopt_* in milp_api.c, milp_solve.c,
 * milp_search.c, gen_api.c) hand the message to the context once, from the
 * calling thread (milp_report). This also keeps mps_read.c, mps_write.c and
 * milp_model.c free of the context, so the fuzzer builds them alone. */
#ifndef DOPT_MILP_INTERNAL_H
#define DOPT_MILP_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>

#include "dopt.h"

/* room for any message of the MILP side (the context keeps as much) */
enum { MILP_MSG_LEN = 1024 };

/* Triplet list (row, col, value) appended in any order; entries with the
 * same (row, col) are summed; exact zeros dropped. */
typedef struct milp_triplets {
    int32_t *row, *col;
    double *val;
    int64_t len, cap;
} milp_triplets;

int milp_triplets_add(milp_triplets *t, int32_t row, int32_t col, double val); /* 0 on out of memory */
void milp_triplets_free(milp_triplets *t);
/* A model (n, m) whose A holds the triplets (checked in range); c, bounds
 * as dopt_milp_alloc sets them. NULL when out of memory. */
dopt_milp *milp_from_triplets(int32_t n, int32_t m, const milp_triplets *t);

/* snprintf into err (when non-NULL), returns status */
dopt_status milp_error(char *err, size_t errlen, dopt_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* A public entry's last step, on the calling thread: st unchanged, and
 * when it is a failure, msg becomes the context's message (milp_api.c). */
dopt_status milp_report(dopt_context *ctx, dopt_status st, const char *msg);
/* A public entry's first step: 0 when ctx is NULL (the call then returns
 * DOPT_ERR_INVALID_ARGUMENT), else the context's message cleared, as every
 * layer does. */
int milp_begin(dopt_context *ctx);

/* The public calls without the context (messages into err): */
dopt_milp *milp_alloc(int32_t n, int32_t m, int64_t nnz); /* NULL when out of memory or a size is negative */
dopt_status milp_check(const dopt_milp *p, char *err, size_t errlen);
dopt_status milp_solve(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                       size_t errlen);
dopt_status milp_search(const dopt_milp *p, const double *pred, const dopt_milp_search_options *opt,
                        dopt_milp_search_result *res, char *err, size_t errlen);
dopt_status milp_mps_parse(const char *text, size_t len, dopt_mps_format format, dopt_milp **out, char *err,
                           size_t errlen);
dopt_status milp_mps_read(const char *path, dopt_mps_format format, dopt_milp **out, char *err, size_t errlen);
dopt_status milp_mps_write(const dopt_milp *p, const char *path, char *err, size_t errlen);

/* What a successful MPS read skipped (a second N row, a second RHS, RANGES
 * or BOUNDS set, text after ENDATA), each "line L: ...": the first
 * MILP_MPS_WARNINGS texts, and the count of all of them. */
#define MILP_MPS_WARNINGS 8
typedef struct milp_mps_warnings {
    int count;
    char text[MILP_MPS_WARNINGS][200];
} milp_mps_warnings;
void milp_mps_read_options_default(dopt_mps_read_options *opt);
/* The reads with options (NULL = the defaults); warnings may be NULL. The
 * text may be gzip data (detected by its magic bytes). */
dopt_status milp_mps_parse_opts(const char *text, size_t len, const dopt_mps_read_options *opt,
                                milp_mps_warnings *warnings, dopt_milp **out, char *err, size_t errlen);
dopt_status milp_mps_read_opts(const char *path, const dopt_mps_read_options *opt, milp_mps_warnings *warnings,
                               dopt_milp **out, char *err, size_t errlen);
dopt_status milp_binary_form(const dopt_milp *p, dopt_milp_row_sense sense, dopt_milp_binary_form *out, char *err,
                             size_t errlen);

/* copy of s, or NULL */
char *milp_strdup(const char *s);

/* Open-addressing string -> index table. */
typedef struct milp_names {
    const char **key; /* borrowed */
    int32_t *value;
    size_t cap, len;
} milp_names;
int milp_names_put(milp_names *t, const char *key, int32_t value); /* 1 added, 0 present, -1 no memory */
int32_t milp_names_get(const milp_names *t, const char *key);      /* -1 when absent */
void milp_names_free(milp_names *t);

/* free MPS to an open stream (milp_mps_write without the file handling) */
dopt_status milp_mps_write_file(const dopt_milp *p, FILE *f, char *err, size_t errlen);

/* a value treated as infinite in files (MPS convention) */
#define MILP_INF_THRESHOLD 1e30

#endif
