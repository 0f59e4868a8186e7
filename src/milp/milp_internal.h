/* Private helpers of the MILP side: building a model from triplets, a name
 * table for the MPS reader, formatted errors. */
#ifndef DOPT_MILP_INTERNAL_H
#define DOPT_MILP_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>

#include "dopt.h"

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

/* a has a solution with a better objective than b's (or b has none), in p's sense */
int milp_better(const dopt_milp *p, const dopt_milp_result *a, const dopt_milp_result *b);

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

/* free MPS to an open stream (dopt_mps_write without the file handling) */
dopt_status milp_mps_write_file(const dopt_milp *p, FILE *f, char *err, size_t errlen);

/* a value treated as infinite in files (MPS convention) */
#define MILP_INF_THRESHOLD 1e30

#endif
