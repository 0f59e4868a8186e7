/* The dopt command line: shared helpers and the subcommands. */
#ifndef DOPT_CLI_H
#define DOPT_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dopt.h" /* dopt_npy.h included */

/* exit codes */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

int cli_qp(int argc, char **argv);
/* dopt cone solve DIR (cli_cone.c) */
int cli_cone(int argc, char **argv);
/* dopt qp solve --ragged IN.npz (cli_qp_ragged.c); out NULL = IN's folder/out.npz */
int cli_qp_ragged(const char *in, const char *out, const char *dxf, const char *dlamf, const char *dnuf,
                  dopt_backend backend, int threads, int max_iter, double tol, int quiet, int policy,
                  double max_pad_waste);
int cli_bench(int argc, char **argv);
int cli_demo(int argc, char **argv);

/* Usage texts and --help (cli_help.c). cli_help: when --help or -h is
 * anywhere in argv (the arguments after the program name), or argv[0] is
 * "help", prints the usage of the command named to stdout and returns
 * CLI_OK (CLI_USAGE for an unknown command); -1 when no help was asked for.
 * main() calls it before any command parses options or touches a file. */
int cli_help(int argc, char **argv);
/* The usage of `dopt cmd [sub]` (sub may be NULL; cmd NULL: the overview). */
void cli_usage(FILE *f, const char *cmd, const char *sub);
/* Prints "dopt cmd sub: <message>" (when fmt is not NULL) and the usage to
 * stderr; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *sub, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Option parsing. cli_value: the value following the option argv[*i]
 * (advancing *i), or NULL, reported, when there is none (the end of argv or
 * another --option). cli_parse_int/double: s is the value, opt the option's
 * name (as typed: "--threads"); a value that is not a number or is outside
 * [lo, hi] is reported as "dopt: --threads: expected an integer in [0, 4096],
 * got '-1'" and 0 returned. */
const char *cli_value(int argc, char **argv, int *i);
int cli_parse_int(const char *s, const char *opt, long long lo, long long hi, long long *out);
int cli_parse_double(const char *s, const char *opt, double lo, double hi, double *out);
int cli_parse_backend(const char *s, dopt_backend *out);

/* .npy through the public API with a host context of their own (the
 * inputs are read before any command has its context): 1 done, 0 failed
 * (reported as "dopt: PATH: what"). */
int cli_npy_read(const char *path, dopt_npy *out);
int cli_npy_write(const char *path, char kind, int itemsize, int ndim, const int64_t *shape, const void *data);
/* Loads DIR/NAME.npy. Returns 1 loaded, 0 absent (when !required), -1 error (reported). */
int cli_load(const char *dir, const char *name, int required, dopt_npy *out);
/* Element i of any numeric array, as a double. */
double cli_npy_value(const dopt_npy *a, size_t i);
/* Converts a numeric array (float, integer, bool) to a new buffer of dtype;
 * NULL on failure (reported, naming `name`: a path ending in .npy as given,
 * else a stem, as "name.npy"; pass the path for files named by options). */
void *cli_to_real(const dopt_npy *a, dopt_dtype dtype, const char *name);
int cli_write(const char *dir, const char *name, dopt_dtype dtype, int ndim, const int64_t *shape,
              const void *data);
int cli_write_i32(const char *dir, const char *name, int64_t len, const int32_t *data);
int cli_write_int(const char *dir, const char *name, int itemsize, int64_t len, const void *data);
int cli_make_dir(const char *dir);
double cli_now(void);
/* measured memory bandwidth (triad), GB/s */
double cli_triad_gbs(int threads);

/* Host buffers to and from where ctx's backend computes, through the public
 * memory helpers. NULL / 0 on failure, reported. */
/* A copy of `host` in backend memory; on the CPU the host buffer itself. */
void *cli_stage(dopt_context *ctx, void *host, size_t bytes);
/* Frees what cli_stage returned for `host` (nothing when it was host). */
void cli_unstage(dopt_context *ctx, const void *host, void *staged);
/* Zeroed backend memory, freed with cli_release. */
void *cli_alloc(dopt_context *ctx, size_t bytes);
int cli_fetch(dopt_context *ctx, void *host, const void *dev, size_t bytes);
void cli_release(dopt_context *ctx, void *p);
int cli_bern(int argc, char **argv);
int cli_diffuse(int argc, char **argv);
int cli_bench_diffusion(int argc, char **argv);
int cli_bench_bern(int argc, char **argv, int training);
int cli_ilp(int argc, char **argv);
int cli_demo_combopt(int argc, char **argv);

/* Adam (Kingma & Ba) over len parameters; m1, m2 zeroed, t = 0 to start. */
typedef struct {
    double *m1, *m2;
    size_t len;
    int t;
} cli_adam;
void cli_adam_step(cli_adam *a, double *x, const double *g, double lr);
int cli_bench_ilp(int argc, char **argv);
int cli_gen(int argc, char **argv);
int cli_milp(int argc, char **argv);
int cli_bench_milp(int argc, char **argv);
int cli_bench_ragged(int argc, char **argv);

#endif
