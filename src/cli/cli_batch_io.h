/* The scaffolding `dopt qp solve DIR` (cli_qp.c) and `dopt cone solve DIR`
 * (cli_cone.c) share: their common options, the dense inputs DIR/NAME.npy
 * (loaded, shape checked, converted to the run's dtype, staged where the
 * backend computes) and the gradients written back as OUT/dNAME.npy in each
 * input's shape. One code path, so that the two commands' flags, messages
 * and files cannot drift apart. */
#ifndef DOPT_CLI_BATCH_IO_H
#define DOPT_CLI_BATCH_IO_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* The options both commands take; zero values mean "the layer's default". */
typedef struct {
    const char *dir;    /* the positional DIR */
    const char *outdir; /* --out (NULL: DIR) */
    const char *dxf;    /* --dx FILE */
    dopt_backend backend;
    long long threads, max_iter;
    double tol;
    int quiet;
} cli_batch_options;

void cli_batch_options_init(cli_batch_options *o);

/* Takes argv[*i], once the command's own options were tried: --out, --dx,
 * --backend, --threads, --max-iter, --tol, --quiet or the positional DIR
 * (advancing *i past a value). An unknown --option, a second positional
 * argument or a bad value is reported, with the usage of `dopt cmd solve`
 * where the argument itself is wrong. 1 taken; 0 a usage error (the caller
 * returns CLI_USAGE). */
int cli_batch_parse_option(int argc, char **argv, int *i, const char *cmd, cli_batch_options *o);

/* One input file DIR/NAME.npy: one instance (base_ndim dimensions) or a
 * batch of them (one more, leading, dimension). */
typedef struct {
    const char *name;
    const char *hint; /* appended to a wrong dimension's message (NULL: none) */
    char path[4096];  /* DIR/NAME.npy, for messages */
    int base_ndim;
    dopt_npy arr;
    int present, batched;
    void *host; /* converted to the run's dtype */
    void *dev;  /* where the backend reads it */
    void *grad_host, *grad_dev; /* its gradient (backward only) */
} cli_batch_input;

/* Names, base dimensions and paths of count inputs in DIR (the rest zeroed). */
void cli_batch_inputs_init(cli_batch_input *in, int count, const char *dir, const char *const *names,
                           const int *base_ndim);
/* Loads every input; the first `required` must exist, the others may be
 * absent. 1 done; 0 reported. */
int cli_batch_inputs_load(cli_batch_input *in, int count, const char *dir, int required);
/* 1 when both or neither of two inputs are given; else 0, reported as
 * "DIR/A.npy and DIR/b.npy must be given together". */
int cli_batch_inputs_paired(const cli_batch_input *a, const cli_batch_input *b, const char *dir);
/* The rows of a matrix input (its next-to-last dimension) into *rows, when
 * it is present (else *rows is left alone); `letter` names them in the
 * message "must have shape (B,letter,n) or (letter,n)". 1 done; 0 reported. */
int cli_batch_input_rows(const cli_batch_input *in, const char *letter, int64_t *rows);
/* Checks every present input against (rows[t][, n]), sets the batch size
 * *B (1 when no input is batched) and the run's dtype *dt (float32 only
 * when every input is float32). 1 done; 0 reported. */
int cli_batch_inputs_check(cli_batch_input *in, int count, const int64_t *rows, int64_t n, int64_t *B,
                           dopt_dtype *dt);
/* Converts every present input to dt (integer input noted unless quiet). 1 done; 0 reported. */
int cli_batch_inputs_convert(cli_batch_input *in, int count, dopt_dtype dt, int quiet);

/* A context on `backend` (threads: 0 = the default). *ctx is set even on
 * failure (destroy it). 1 done; 0 reported. */
int cli_batch_context(dopt_backend backend, long long threads, dopt_context **ctx);
/* Stages every present input where ctx computes (es bytes an element). 1 done; 0 reported. */
int cli_batch_inputs_stage(dopt_context *ctx, cli_batch_input *in, int count, size_t es);
/* The layer's "shared" flags: bits[t] for every present input that is one instance. */
unsigned cli_batch_shared_bits(const cli_batch_input *in, int count, const unsigned *bits);

/* Buffers for the gradient of every present input (its own shape). 1 done; 0 reported. */
int cli_batch_grads_alloc(dopt_context *ctx, cli_batch_input *in, int count, size_t es);
/* Fetches each present input's gradient and writes it as OUT/dNAME.npy in
 * the input's shape. 1 done; 0 reported. */
int cli_batch_grads_write(dopt_context *ctx, cli_batch_input *in, int count, size_t es, const char *outdir,
                          dopt_dtype dt);

/* Frees what the inputs hold (backend copies through ctx, when not NULL). */
void cli_batch_inputs_free(dopt_context *ctx, cli_batch_input *in, int count);

#endif
