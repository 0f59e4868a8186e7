/* `dopt cone solve`: its cones.json reader (cli_cone_json.c). */
#ifndef DOPT_CLI_CONE_H
#define DOPT_CLI_CONE_H

#include <stdint.h>

typedef struct {
    int32_t l, nq, ns;
    int32_t *q, *s; /* malloc'ed, NULL when empty */
} cli_cone_spec;

/* Reads path; 0 with a message naming the file when it is malformed. */
int cli_cone_read_json(const char *path, cli_cone_spec *out);
void cli_cone_spec_free(cli_cone_spec *c);

#endif
