/* dopt milp solve|search|convert|info: MILPs from MPS files. The solve
 * command's output (text and --json) is a contract (README.md). */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_deadline.h"
#include "cli_output.h"


static const char *status_word(int s)
{
    static const char *w[] = {"optimal", "infeasible", "unbounded", "time_limit", "numerical", "invalid"};
    return s >= 0 && s <= 5 ? w[s] : "unknown";
}

/* s as the inside of a JSON string (quotes, backslashes, control bytes escaped) */
static void json_escape(const char *s, char *out, size_t len)
{
    size_t w = 0;
    for (; *s && w + 7 < len; ++s) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') out[w++] = '\\', out[w++] = (char)ch;
        else if (ch < 0x20) w += (size_t)snprintf(out + w, len - w, "\\u%04x", ch);
        else out[w++] = (char)ch;
    }
    out[w] = 0;
}

static void json_number(double v)
{
    if (isfinite(v)) printf("%.17g", v);
    else printf("null");
}

typedef struct {
    const char *file, *x_out, *ray_out, *pred, *pred_dir;
    char **files; /* search: every MPS file given (file = the first) */
    int nfiles;
    dopt_mps_read_options read; /* --format, --int-bounds */
    dopt_milp_search_options so; /* so.milp: the solve options */
    int json, workers;
} milp_args;

/* --format F and --int-bounds B, the reader's options (every subcommand) */
static int read_option(const char *o, const char *v, dopt_mps_read_options *r)
{
    if (!strcmp(o, "--format")) {
        if (!strcmp(v, "auto")) r->format = DOPT_MPS_AUTO;
        else if (!strcmp(v, "free")) r->format = DOPT_MPS_FREE;
        else if (!strcmp(v, "fixed")) r->format = DOPT_MPS_FIXED;
        else return fprintf(stderr, "dopt milp: --format expects auto, free or fixed, got '%s'\n", v), 0;
    } else {
        if (!strcmp(v, "binary")) r->int_bounds = DOPT_MPS_INT_BINARY;
        else if (!strcmp(v, "nonneg")) r->int_bounds = DOPT_MPS_INT_NONNEG;
        else return fprintf(stderr, "dopt milp: --int-bounds expects binary or nonneg, got '%s'\n", v), 0;
    }
    return 1;
}

/* convert and info: the files (count of them: want) and the reader's options */
static int parse_file_args(int argc, char **argv, const char *cmd, int want, const char **files,
                           dopt_mps_read_options *r)
{
    dopt_mps_read_options_default(r);
    int got = 0;
    for (int i = 0; i < argc; ++i) {
        const char *o = argv[i], *v;
        if (o[0] != '-' || !o[1]) {
            if (got == want) return cli_usage_error("milp", cmd, "unexpected argument '%s'", o), 0;
            files[got++] = o;
        } else if (!strcmp(o, "--format") || !strcmp(o, "--int-bounds")) {
            if (!(v = cli_value(argc, argv, &i)) || !read_option(o, v, r)) return cli_usage(stderr, "milp", cmd), 0;
        } else {
            return cli_usage_error("milp", cmd, "unknown option %s", o), 0;
        }
    }
    if (got != want)
        return cli_usage_error("milp", cmd, want == 1 ? "expected one FILE.mps" : "expected IN.mps OUT.mps"), 0;
    return 1;
}

static int parse_args(int argc, char **argv, milp_args *a, int search)
{
    memset(a, 0, sizeof *a);
    dopt_mps_read_options_default(&a->read);
    dopt_milp_search_options_default(&a->so);
    for (int i = 0; i < argc; ++i) {
        const char *o = argv[i], *v;
        long long k;
        double d;
        if (!strcmp(o, "--json")) a->json = 1;
        else if (!strcmp(o, "--relax") && !search) a->so.milp.relax = 1;
        else if (!strcmp(o, "--verbose")) a->so.milp.verbose = 1;
        else if (!strcmp(o, "--no-repair") && search) a->so.repair = 0;
        else if (o[0] != '-') {
            if (a->file && !search) return fprintf(stderr, "dopt milp: more than one file ('%s', '%s')\n", a->file, o), 0;
            if (!a->file) a->file = o, a->files = argv + i;
            if (a->files + a->nfiles != argv + i)
                return fprintf(stderr, "dopt milp search: give the MPS files together, options before or after\n"), 0;
            a->nfiles++;
        } else {
            if (!(v = cli_value(argc, argv, &i))) return 0;
            if (!strcmp(o, "--time-limit")) {
                if (!cli_parse_double(v, o, 0, 1e9, &d)) return 0;
                a->so.milp.time_limit = d;
            } else if (!strcmp(o, "--gap")) {
                if (!cli_parse_double(v, o, 0, 1e9, &d)) return 0;
                a->so.milp.gap = d;
            } else if (!strcmp(o, "--threads")) {
                if (!cli_parse_int(v, o, 1, 1024, &k)) return 0;
                a->so.milp.threads = (int32_t)k;
            } else if (!strcmp(o, "--solver")) {
                if (!strcmp(v, "auto")) a->so.milp.solver = DOPT_MILP_AUTO;
                else if (!strcmp(v, "highs")) a->so.milp.solver = DOPT_MILP_HIGHS;
                else if (!strcmp(v, "portfolio")) a->so.milp.solver = DOPT_MILP_PORTFOLIO;
                else if (!strcmp(v, "cbc")) a->so.milp.solver = DOPT_MILP_CBC;
                else if (!strcmp(v, "exact")) a->so.milp.solver = DOPT_MILP_EXACT;
                else return fprintf(stderr, "dopt milp: --solver expects auto, highs, cbc, exact or portfolio, got '%s'\n", v), 0;
            } else if (!strcmp(o, "--format") || !strcmp(o, "--int-bounds")) {
                if (!read_option(o, v, &a->read)) return 0;
            } else if (!strcmp(o, "--x-out")) {
                a->x_out = v;
            } else if (!search && !strcmp(o, "--ray-out")) {
                a->ray_out = v;
            } else if (search && !strcmp(o, "--pred")) {
                a->pred = v;
            } else if (search && !strcmp(o, "--pred-dir")) {
                a->pred_dir = v;
            } else if (search && !strcmp(o, "--batch-time-limit")) {
                if (!cli_parse_double(v, o, 0, 1e9, &d)) return 0;
                a->so.batch_time_limit = d;
            } else if (search && !strcmp(o, "--delta")) {
                if (!cli_parse_double(v, o, 0, 1e12, &d)) return 0;
                a->so.delta = d;
            } else if (search && (!strcmp(o, "--k0") || !strcmp(o, "--k1"))) {
                if (!cli_parse_int(v, o, 0, INT32_MAX, &k)) return 0;
                *(o[3] == '0' ? &a->so.k0 : &a->so.k1) = (int32_t)k;
            } else if (search && !strcmp(o, "--workers")) {
                if (!cli_parse_int(v, o, 0, 1024, &k)) return 0;
                a->workers = (int)k;
            } else {
                return fprintf(stderr, "dopt milp: unknown option %s\n", o), 0;
            }
        }
    }
    if (!a->file) return fprintf(stderr, "dopt milp: no MPS file given\n"), 0;
    if (search && !a->pred == !a->pred_dir)
        return fprintf(stderr, "dopt milp search: give --pred P.npy (one file) or --pred-dir DIR (DIR/STEM.npy)\n"), 0;
    if (search && a->pred && a->nfiles > 1)
        return fprintf(stderr, "dopt milp search: several files need --pred-dir DIR, not --pred\n"), 0;
    if (search && a->x_out && a->nfiles > 1) return fprintf(stderr, "dopt milp search: --x-out takes one file\n"), 0;
    return 1;
}

/* the output files, checked before the model is even read */
static int outputs_writable(const milp_args *a, int search)
{
    const char *cmd = search ? "milp search" : "milp solve";
    return (!a->x_out || cli_file_writable(cmd, "--x-out", a->x_out)) &&
           (!a->ray_out || cli_file_writable(cmd, "--ray-out", a->ray_out));
}

/* the reader's warnings (what an MPS file had that was skipped) on stderr;
 * errors are printed by ok_or_report, information is not printed */
static void warnings_to_stderr(void *user, int level, const char *message)
{
    (void)user;
    if (level == DOPT_LOG_WARN) fprintf(stderr, "dopt milp: warning: %s\n", message);
}

/* the host context every subcommand works in (its failures' messages) */
static dopt_context *host_context(void)
{
    dopt_context *ctx = NULL;
    if (dopt_context_create(&ctx, DOPT_BACKEND_CPU) == DOPT_OK) {
        dopt_context_set_log(ctx, warnings_to_stderr, NULL);
        return ctx;
    }
    fprintf(stderr, "dopt milp: cannot create a context: %s\n", ctx ? dopt_context_last_error(ctx) : "out of memory");
    dopt_context_destroy(ctx);
    return NULL;
}

/* prints the context's message for a failed call; 1 when st is DOPT_OK */
static int ok_or_report(dopt_context *ctx, dopt_status st)
{
    if (st != DOPT_OK) fprintf(stderr, "dopt milp: %s\n", dopt_context_last_error(ctx));
    return st == DOPT_OK;
}

static dopt_milp *load(dopt_context *ctx, const char *file, const dopt_mps_read_options *read)
{
    dopt_milp *p = NULL;
    return ok_or_report(ctx, dopt_mps_read_with(ctx, file, read, &p)) ? p : NULL;
}

static int write_x(dopt_context *ctx, const char *path, const double *x, int64_t n)
{
    return ok_or_report(ctx, dopt_npy_write(ctx, path, 'f', 8, 1, &n, x));
}

/* scope: NULL for a solve; for a search, NULL when the subproblem was the
 * whole model, else " within the trust region" (the text status says so) */
static void print_result(const milp_args *a, const dopt_milp *p, const dopt_milp_result *r, const char *extra,
                         const char *scope)
{
    const char *solver = r->solver == DOPT_MILP_EXACT ? "exact" : r->solver == DOPT_MILP_HIGHS ? "highs" : "cbc";
    char sizes[64] = "\"rows\": null, \"cols\": null"; /* p NULL: stopped before the file was read */
    if (p) snprintf(sizes, sizeof sizes, "\"rows\": %d, \"cols\": %d", p->m, p->n);
    char said[2 * DOPT_MILP_STATUS_TEXT + 8];
    json_escape(r->solver_status, said, sizeof said);
    if (a->json) {
        printf("{\"status\": \"%s\", \"objective\": ", status_word(r->status));
        json_number(r->has_solution ? r->objective : NAN);
        printf(", \"time_s\": %.6f, \"bound\": ", r->seconds);
        json_number(r->bound);
        printf(", \"gap\": ");
        /* +inf (objective 0, bound not) has no JSON number: a string says it */
        if (isinf(r->gap)) printf("\"inf\"");
        else json_number(r->gap);
        printf(", \"nodes\": %lld, \"solver\": \"%s\", \"solver_status\": \"%s\", %s%s}\n", (long long)r->nodes,
               solver, said, sizes, extra);
    } else {
        printf("status: %s%s\nobjective: ", status_word(r->status), scope ? scope : "");
        if (r->has_solution) printf("%.17g\n", r->objective);
        else printf("none\n");
        printf("bound: ");
        if (isfinite(r->bound)) printf("%.17g\n", r->bound);
        else printf("none\n");
        printf("gap: ");
        if (isnan(r->gap)) printf("none\n");
        else printf("%.17g\n", r->gap);
        printf("time_s: %.6f\nnodes: %lld\nsolver: %s\nsolver_status: %s\n", r->seconds, (long long)r->nodes, solver,
               r->solver_status);
    }
}

/* --time-limit counts from the command's start, reading the files
 * included: the limit left for the solver after reading (began at t0), or
 * 0 with *out_of_time = 1 when reading used it all. *read_s: the reading's
 * seconds. */
static double limit_after_reading(double limit, double t0, double *read_s, int *out_of_time)
{
    *read_s = cli_now() - t0;
    *out_of_time = limit > 0 && *read_s >= limit;
    return limit > 0 && !*out_of_time ? limit - *read_s : 0;
}

/* AUTO as dopt_milp_solve resolves it */
static dopt_milp_solver solver_of(dopt_milp_solver s)
{
    return s != DOPT_MILP_AUTO ? s : dopt_milp_have_highs() ? DOPT_MILP_HIGHS : dopt_milp_have_cbc() ? DOPT_MILP_CBC
                                                                                                     : DOPT_MILP_EXACT;
}

/* How long after --time-limit the command ends whatever it is doing: the
 * library returns by the limit + 0.75 s (it kills Cbc then), so
 * this fires only where nothing else holds the limit */
#define CLI_DEADLINE_GRACE 0.9

/* What the deadline watchdog knows of a solve command (written by the
 * main thread as it goes) */
typedef struct {
    const milp_args *a;
    double t0;
    _Atomic double read_end; /* 0 while reading */
    atomic_int rows, cols;
} solve_watch;

/* the command stopped at its deadline: a time-limit result, nothing found */
static void report_deadline(void *user)
{
    solve_watch *w = user;
    double now = cli_now(), read_end = atomic_load(&w->read_end);
    dopt_milp_result r = {0};
    r.status = DOPT_ITERATION_LIMIT, r.objective = r.bound = r.gap = NAN;
    r.seconds = read_end > 0 ? now - read_end : 0;
    r.solver = solver_of(w->a->so.milp.solver);
    snprintf(r.solver_status, sizeof r.solver_status, "stopped at the command's deadline (%s)",
             read_end > 0 ? "solving" : "reading");
    dopt_milp sizes = {0};
    sizes.m = atomic_load(&w->rows), sizes.n = atomic_load(&w->cols);
    char extra[64];
    snprintf(extra, sizeof extra, ", \"read_s\": %.6f", (read_end > 0 ? read_end : now) - w->t0);
    print_result(w->a, sizes.m >= 0 ? &sizes : NULL, &r, extra, NULL);
}

static int milp_solve_cmd(int argc, char **argv)
{
    double t0 = cli_now();
    milp_args a;
    if (!parse_args(argc, argv, &a, 0)) return cli_usage(stderr, "milp", "solve"), CLI_USAGE;
    if (!outputs_writable(&a, 0)) return CLI_FAIL;
    /* the command's own deadline, beyond the library's (which holds Cbc
     * to the limit + 0.75 s): limit + 0.9 s from the start, reading the
     * file and any solver step that overruns included */
    static solve_watch watch;
    watch.a = &a, watch.t0 = t0, atomic_store(&watch.read_end, 0.0);
    atomic_store(&watch.rows, -1), atomic_store(&watch.cols, -1);
    if (a.so.milp.time_limit > 0) cli_deadline_start(t0 + a.so.milp.time_limit + CLI_DEADLINE_GRACE, report_deadline, &watch);
    dopt_context *ctx = host_context();
    dopt_milp *p = ctx ? load(ctx, a.file, &a.read) : NULL;
    if (!p) return cli_deadline_claim(), dopt_context_destroy(ctx), CLI_FAIL;
    atomic_store(&watch.rows, p->m), atomic_store(&watch.cols, p->n);
    atomic_store(&watch.read_end, cli_now());
    double read_s;
    int read_all_of_it;
    a.so.milp.time_limit = limit_after_reading(a.so.milp.time_limit, t0, &read_s, &read_all_of_it);
    double *x = malloc((size_t)(p->n ? p->n : 1) * 8), *ray = malloc((size_t)(p->n ? p->n : 1) * 8);
    dopt_milp_result r = {0};
    r.x = x;
    a.so.milp.ray = a.ray_out ? ray : NULL;
    int rc = CLI_OK;
    char extra[128];
    dopt_status st = DOPT_OK;
    if (x && ray && !read_all_of_it) st = dopt_milp_solve(ctx, p, &a.so.milp, &r);
    cli_deadline_claim(); /* from here on, this thread prints the outcome */
    if (!x || !ray) {
        fprintf(stderr, "dopt milp: out of memory\n");
        rc = CLI_FAIL;
    } else if (read_all_of_it) { /* no time left to solve: the limit's outcome, nothing found */
        r.status = DOPT_ITERATION_LIMIT, r.objective = r.bound = r.gap = NAN;
        r.solver = solver_of(a.so.milp.solver);
        snprintf(r.solver_status, sizeof r.solver_status, "not started (reading the file used the time limit)");
        snprintf(extra, sizeof extra, ", \"read_s\": %.6f", read_s);
        print_result(&a, p, &r, extra, NULL);
    } else if (!ok_or_report(ctx, st)) {
        rc = CLI_FAIL;
    } else {
        snprintf(extra, sizeof extra, ", \"read_s\": %.6f%s", read_s, r.has_ray ? ", \"has_ray\": true" : "");
        print_result(&a, p, &r, extra, NULL);
        if (a.x_out && r.has_solution && !write_x(ctx, a.x_out, x, p->n)) rc = CLI_FAIL;
        if (a.x_out && !r.has_solution) fprintf(stderr, "dopt milp: no solution, %s not written\n", a.x_out);
        if (a.ray_out && r.has_ray && !write_x(ctx, a.ray_out, ray, p->n)) rc = CLI_FAIL;
        if (a.ray_out && !r.has_ray) fprintf(stderr, "dopt milp: no recession direction, %s not written\n", a.ray_out);
    }
    free(x), free(ray);
    dopt_milp_free(p);
    dopt_context_destroy(ctx);
    return rc;
}

/* DIR/STEM.npy for FILE = .../STEM.mps */
static void pred_path_of(const milp_args *a, const char *file, char *out, size_t len)
{
    if (a->pred) {
        snprintf(out, len, "%s", a->pred);
        return;
    }
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t stem = strlen(base);
    if (stem > 4 && !strcmp(base + stem - 4, ".mps")) stem -= 4;
    snprintf(out, len, "%s/%.*s.npy", a->pred_dir, (int)stem, base);
}

/* every candidate of every file is one job; one batched search over all */
static int milp_search_cmd(int argc, char **argv)
{
    double t0 = cli_now();
    milp_args a;
    if (!parse_args(argc, argv, &a, 1)) return cli_usage(stderr, "milp", "search"), CLI_USAGE;
    if (!outputs_writable(&a, 1)) return CLI_FAIL;
    int F = a.nfiles, rc = CLI_FAIL;
    dopt_milp **models = calloc((size_t)F, sizeof *models);
    int64_t *first = calloc((size_t)F + 1, 8), total = 0, jobs = 0;
    double *preds = NULL, *xs = NULL;
    int64_t *model_of = NULL, *offset = NULL;
    dopt_milp_search_result *res = NULL;
    char path[4096];
    dopt_npy *pr = calloc((size_t)F, sizeof *pr);
    dopt_context *ctx = host_context();
    if (!ctx) goto done;
    if (!models || !first || !pr) goto oom;
    /* --workers N: the jobs run on the context's threads (0 = all processors) */
    if (!ok_or_report(ctx, dopt_context_set_threads(ctx, a.workers))) goto done;
    for (int f = 0; f < F; ++f) { /* load everything first: a bad file fails before any solving */
        if (!(models[f] = load(ctx, a.files[f], &a.read))) goto done;
        int32_t binaries = 0;
        for (int32_t j = 0; j < models[f]->n; ++j)
            binaries += models[f]->integer[j] && models[f]->col_lo[j] == 0 && models[f]->col_hi[j] == 1;
        if ((int64_t)a.so.k0 + a.so.k1 > binaries) { /* would fix every binary: refused, not clamped */
            fprintf(stderr, "dopt milp search: --k0 %d + --k1 %d exceeds the %d binaries of %s\n", a.so.k0, a.so.k1,
                    binaries, a.files[f]);
            rc = CLI_USAGE;
            goto done;
        }
        pred_path_of(&a, a.files[f], path, sizeof path);
        if (!ok_or_report(ctx, dopt_npy_read(ctx, path, &pr[f]))) goto done;
        int n = models[f]->n;
        int64_t K = pr[f].ndim == 2 ? pr[f].shape[0] : 1;
        if (!(pr[f].ndim == 1 || pr[f].ndim == 2) || pr[f].shape[pr[f].ndim - 1] != n || K < 1) {
            fprintf(stderr, "dopt milp: %s must have shape (%d) or (K, %d) for %s\n", path, n, n, a.files[f]);
            goto done;
        }
        first[f + 1] = first[f] + K, total += K * n;
    }
    double read_s;
    int read_all_of_it;
    a.so.milp.time_limit = limit_after_reading(a.so.milp.time_limit, t0, &read_s, &read_all_of_it);
    /* reading used the limit: no job starts (the batch's budget spent at
     * once: each reports time_limit, "not started") */
    if (read_all_of_it) a.so.batch_time_limit = 1e-9;
    jobs = first[F];
    preds = malloc((size_t)(total + 1) * 8), xs = malloc((size_t)(total + 1) * 8);
    model_of = malloc((size_t)jobs * 8), offset = malloc((size_t)jobs * 8), res = calloc((size_t)jobs, sizeof *res);
    if (!preds || !xs || !model_of || !offset || !res) goto oom;
    for (int f = 0, at = 0; f < F; ++f)
        for (int64_t j = first[f]; j < first[f + 1]; ++j, at += models[f]->n) {
            model_of[j] = f, offset[j] = at, res[j].milp.x = xs + at;
            for (int k = 0; k < models[f]->n; ++k) preds[at + k] = cli_npy_value(&pr[f], (size_t)((j - first[f]) * models[f]->n + k));
        }
    if (!ok_or_report(ctx, dopt_milp_search_batch(ctx, (const dopt_milp *const *)models, jobs, model_of, preds, offset,
                                                   &a.so, res)))
        goto done;
    rc = CLI_OK;
    for (int f = 0; f < F; ++f) {
        const dopt_milp *p = models[f];
        int64_t best = first[f], K = first[f + 1] - first[f];
        double sum = 0;
        for (int64_t j = first[f]; j < first[f + 1]; ++j) {
            sum += res[j].milp.seconds;
            if (dopt_milp_result_better(p, &res[j].milp, &res[best].milp)) best = j;
        }
        const dopt_milp_search_result *r = &res[best];
        char extra[4600], name[4096], violation[32] = "null"; /* NaN (a job never started) is no JSON number */
        json_escape(a.files[f], name, sizeof name);
        if (isfinite(r->center_violation)) snprintf(violation, sizeof violation, "%.17g", r->center_violation);
        snprintf(extra, sizeof extra,
                 ", \"candidates\": %lld, \"best\": %lld, \"delta_used\": %.17g, \"rounds\": %d, \"trust_size\": %d, "
                 "\"center_violation\": %s, \"total_time_s\": %.6f, \"read_s\": %.6f, \"file\": \"%s\", "
                 "\"solved\": \"%s\", \"model_optimal\": %s",
                 (long long)K, (long long)(best - first[f]), r->delta_used, r->rounds, r->trust_size,
                 violation, sum, read_s, name, r->whole_model ? "model" : "trust_region",
                 r->whole_model && r->milp.status == DOPT_SOLVED ? "true" : "false");
        if (!a.json && F > 1) printf("file: %s\n", a.files[f]);
        /* a NaN prediction (status invalid) never reached a trust region */
        int scoped = !r->whole_model && r->milp.status != DOPT_INVALID_DATA;
        print_result(&a, p, &r->milp, a.json ? extra : "", scoped ? " within the trust region" : NULL);
        if (!a.json)
            printf("candidates: %lld\nbest: %lld\ndelta_used: %g\nrounds: %d\ntrust_size: %d\ncenter_violation: %g\n"
                   "solved: %s\nmodel_optimal: %s\n",
                   (long long)K, (long long)(best - first[f]), r->delta_used, r->rounds, r->trust_size,
                   r->center_violation, r->whole_model ? "model" : "trust_region",
                   r->whole_model && r->milp.status == DOPT_SOLVED ? "true" : "false");
        if (a.x_out && r->milp.has_solution && !write_x(ctx, a.x_out, r->milp.x, p->n)) rc = CLI_FAIL;
        if (a.x_out && !r->milp.has_solution) fprintf(stderr, "dopt milp: no solution, %s not written\n", a.x_out);
    }
    goto done;
oom:
    fprintf(stderr, "dopt milp: out of memory\n");
done:
    for (int f = 0; models && f < F; ++f) dopt_milp_free(models[f]);
    for (int f = 0; pr && f < F; ++f) dopt_npy_free(&pr[f]);
    free(models), free(first), free(pr), free(preds), free(xs), free(model_of), free(offset), free(res);
    dopt_context_destroy(ctx);
    return rc;
}

static int milp_convert_cmd(int argc, char **argv)
{
    const char *files[2];
    dopt_mps_read_options read;
    if (!parse_file_args(argc, argv, "convert", 2, files, &read)) return CLI_USAGE;
    if (!cli_file_writable("milp convert", "OUT", files[1])) return CLI_FAIL;
    dopt_context *ctx = host_context();
    dopt_milp *p = ctx ? load(ctx, files[0], &read) : NULL;
    int ok = p && ok_or_report(ctx, dopt_mps_write(ctx, p, files[1]));
    dopt_milp_free(p);
    dopt_context_destroy(ctx);
    return ok ? CLI_OK : CLI_FAIL;
}

static int milp_info_cmd(int argc, char **argv)
{
    const char *files[1];
    dopt_mps_read_options read;
    if (!parse_file_args(argc, argv, "info", 1, files, &read)) return CLI_USAGE;
    dopt_context *ctx = host_context();
    dopt_milp *p = ctx ? load(ctx, files[0], &read) : NULL;
    dopt_context_destroy(ctx);
    if (!p) return CLI_FAIL;
    int32_t ints = 0, bins = 0;
    for (int32_t j = 0; j < p->n; ++j) {
        ints += p->integer[j];
        bins += p->integer[j] && p->col_lo[j] == 0 && p->col_hi[j] == 1;
    }
    printf("name: %s\nsense: %s\nrows: %d\ncols: %d\nnonzeros: %lld\nintegers: %d\nbinaries: %d\n",
           p->name ? p->name : "", p->maximize ? "max" : "min", p->m, p->n, (long long)p->nnz, ints, bins);
    dopt_milp_free(p);
    return CLI_OK;
}

int cli_milp(int argc, char **argv)
{
    /* --help anywhere was answered by main.c (cli_help.c) before this runs */
    if (argc < 1) return cli_usage(stderr, "milp", NULL), CLI_USAGE;
    if (!strcmp(argv[0], "solve")) return milp_solve_cmd(argc - 1, argv + 1);
    if (!strcmp(argv[0], "search")) return milp_search_cmd(argc - 1, argv + 1);
    if (!strcmp(argv[0], "convert")) return milp_convert_cmd(argc - 1, argv + 1);
    if (!strcmp(argv[0], "info")) return milp_info_cmd(argc - 1, argv + 1);
    return cli_usage_error("milp", NULL, "unknown subcommand '%s'", argv[0]);
}
