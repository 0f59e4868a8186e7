/* dopt ilp solve: the parsed options, shared by the directory form
 * (cli_ilp.c) and the ragged form (cli_ilp_ragged.c). */
#ifndef DOPT_CLI_ILP_H
#define DOPT_CLI_ILP_H

#include "cli.h"

typedef struct {
    const char *dir, *outdir, *dy_path;
    const char *ragged; /* --ragged IN.npz; outdir is then the OUT.npz path (NULL: IN's folder/out.npz) */
    dopt_backend backend;
    long long threads, node_limit, samples, seed;
    double time_limit, tau, lambda, epsilon;
    dopt_ilp_method method;
    int has_method, quiet;
} ilp_args;

/* dopt ilp solve --ragged IN.npz [--out OUT.npz] [--dy DY.npy --method ...]:
 * a CLI exit code. */
int cli_ilp_ragged(const ilp_args *o);

#endif
