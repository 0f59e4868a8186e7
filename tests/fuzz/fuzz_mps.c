/* libFuzzer target for the MPS reader: any input must be rejected with a
 * message naming a line (or, for gzip data, saying what is wrong with it),
 * or parse into a model that passes the model check; a model the writer
 * accepts must read back identical (round trip).
 * Built and run by scripts/run-fuzz.sh (clang). It calls the reader and
 * writer in their message-buffer form (milp_internal.h): the public
 * dopt_mps_* only add the context, and these three files build alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dopt.h"
#include "milp_compare.h"
#include "milp_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[MILP_MSG_LEN] = "";
    dopt_milp *p = NULL;
    dopt_status st = milp_mps_parse((const char *)data, size, DOPT_MPS_AUTO, &p, err, sizeof err);
    if (st != DOPT_OK) {
        /* every error names its line, except those about gzip data as a whole
         * (corrupt, truncated, or no zlib in this build) */
        if (p || (strncmp(err, "line ", 5) && strncmp(err, "gzip", 4))) {
            fprintf(stderr, "rejected without a line number or with a model: '%s'\n", err);
            abort();
        }
        return 0;
    }
    if (milp_check(p, err, sizeof err) != DOPT_OK) {
        fprintf(stderr, "accepted an invalid model: %s\n", err);
        abort();
    }
    FILE *f = tmpfile();
    if (f && milp_mps_write_file(p, f, err, sizeof err) == DOPT_OK) {
        long len = ftell(f);
        char *text = malloc((size_t)len + 1);
        rewind(f);
        if (text && fread(text, 1, (size_t)len, f) == (size_t)len) {
            dopt_milp *q = NULL;
            if (milp_mps_parse(text, (size_t)len, DOPT_MPS_FREE, &q, err, sizeof err) != DOPT_OK) {
                fprintf(stderr, "written model does not read back: %s\n---\n%.*s\n", err, (int)len, text);
                abort();
            }
            const char *diff = milp_difference(p, q, 1);
            if (diff) {
                fprintf(stderr, "round trip changed the %s\n---\n%.*s\n", diff, (int)len, text);
                abort();
            }
            dopt_milp_free(q);
        }
        free(text);
    }
    if (f) fclose(f);
    dopt_milp_free(p);
    return 0;
}
