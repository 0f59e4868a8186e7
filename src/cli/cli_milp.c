/* dopt milp solve|search|convert|info: MILPs from MPS files. The solve
 * command's output (text and --json) is a contract (README.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void milp_usage(FILE *f)
{
    fprintf(f,
            "usage: dopt milp solve FILE.mps [--time-limit S] [--json] [--solver auto|cbc|exact] [--threads N]\n"
            "                 [--gap G] [--relax] [--x-out FILE.npy] [--format auto|free|fixed] [--verbose]\n"
            "       dopt milp search FILE.mps --pred P.npy [--delta D] [--k0 K] [--k1 K] [--time-limit S]\n"
            "                 [--no-repair] [--solver auto|cbc|exact] [--workers N] [--x-out FILE.npy] [--json]\n"
            "       dopt milp convert IN.mps OUT.mps\n"
            "       dopt milp info FILE.mps\n"
            "  solve prints status (optimal, infeasible, unbounded, time_limit, numerical, invalid), objective\n"
            "  and time; --json prints {\"status\": ..., \"objective\": number|null, \"time_s\": number, ...}.\n"
            "  search: P.npy holds one prediction (n) or K candidates (K, n) (binaries: probability of 1);\n"
            "  every candidate's trust-region subproblem is solved, the best is reported. Exit 0 when the\n"
            "  solver ran (whatever its status), 1 on errors (file, solver), 2 on usage errors.\n");
}

static const char *status_word(int s)
{
    static const char *w[] = {"optimal", "infeasible", "unbounded", "time_limit", "numerical", "invalid"};
    return s >= 0 && s <= 5 ? w[s] : "unknown";
}

static void json_number(double v)
{
    if (isfinite(v)) printf("%.17g", v);
    else printf("null");
}

typedef struct {
    const char *file, *x_out, *pred;
    dopt_mps_format format;
    dopt_search_options so; /* so.milp: the solve options */
    int json, workers;
} milp_args;

static int parse_args(int argc, char **argv, milp_args *a, int search)
{
    memset(a, 0, sizeof *a);
    dopt_search_options_default(&a->so);
    for (int i = 0; i < argc; ++i) {
        const char *o = argv[i], *v;
        long long k;
        double d;
        if (!strcmp(o, "--json")) a->json = 1;
        else if (!strcmp(o, "--relax") && !search) a->so.milp.relax = 1;
        else if (!strcmp(o, "--verbose")) a->so.milp.verbose = 1;
        else if (!strcmp(o, "--no-repair") && search) a->so.repair = 0;
        else if (o[0] != '-') {
            if (a->file) return fprintf(stderr, "dopt milp: more than one file ('%s', '%s')\n", a->file, o), 0;
            a->file = o;
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
                else if (!strcmp(v, "cbc")) a->so.milp.solver = DOPT_MILP_CBC;
                else if (!strcmp(v, "exact")) a->so.milp.solver = DOPT_MILP_EXACT;
                else return fprintf(stderr, "dopt milp: --solver expects auto, cbc or exact, got '%s'\n", v), 0;
            } else if (!strcmp(o, "--format")) {
                if (!strcmp(v, "auto")) a->format = DOPT_MPS_AUTO;
                else if (!strcmp(v, "free")) a->format = DOPT_MPS_FREE;
                else if (!strcmp(v, "fixed")) a->format = DOPT_MPS_FIXED;
                else return fprintf(stderr, "dopt milp: --format expects auto, free or fixed, got '%s'\n", v), 0;
            } else if (!strcmp(o, "--x-out")) {
                a->x_out = v;
            } else if (search && !strcmp(o, "--pred")) {
                a->pred = v;
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
    if (search && !a->pred) return fprintf(stderr, "dopt milp search: --pred P.npy is required\n"), 0;
    return 1;
}

static dopt_milp *load(const char *file, dopt_mps_format format)
{
    char err[1024];
    dopt_milp *p = NULL;
    if (dopt_mps_read(file, format, &p, err, sizeof err) != DOPT_OK) {
        fprintf(stderr, "dopt milp: %s\n", err);
        return NULL;
    }
    return p;
}

static int write_x(const char *path, const double *x, int64_t n)
{
    char err[1024];
    if (dopt_npy_write(path, 'f', 8, 1, &n, x, err, sizeof err) != DOPT_NPY_OK) {
        fprintf(stderr, "dopt milp: %s\n", err);
        return 0;
    }
    return 1;
}

static void print_result(const milp_args *a, const dopt_milp *p, const dopt_milp_result *r, const char *extra)
{
    const char *solver = a->so.milp.solver == DOPT_MILP_EXACT || (a->so.milp.solver == DOPT_MILP_AUTO && !dopt_milp_have_cbc())
                             ? "exact"
                             : "cbc";
    if (a->json) {
        printf("{\"status\": \"%s\", \"objective\": ", status_word(r->status));
        json_number(r->has_solution ? r->objective : NAN);
        printf(", \"time_s\": %.6f, \"bound\": ", r->seconds);
        json_number(r->bound);
        printf(", \"nodes\": %lld, \"solver\": \"%s\", \"rows\": %d, \"cols\": %d%s}\n", (long long)r->nodes, solver,
               p->m, p->n, extra);
    } else {
        printf("status: %s\nobjective: ", status_word(r->status));
        if (r->has_solution) printf("%.17g\n", r->objective);
        else printf("none\n");
        printf("bound: ");
        if (isfinite(r->bound)) printf("%.17g\n", r->bound);
        else printf("none\n");
        printf("time_s: %.6f\nnodes: %lld\nsolver: %s\n", r->seconds, (long long)r->nodes, solver);
    }
}

static int milp_solve_cmd(int argc, char **argv)
{
    milp_args a;
    if (!parse_args(argc, argv, &a, 0)) return milp_usage(stderr), CLI_USAGE;
    dopt_milp *p = load(a.file, a.format);
    if (!p) return CLI_FAIL;
    double *x = malloc((size_t)(p->n ? p->n : 1) * 8);
    dopt_milp_result r = {0};
    r.x = x;
    char err[1024];
    int rc = CLI_OK;
    if (!x || dopt_milp_solve(p, &a.so.milp, &r, err, sizeof err) != DOPT_OK) {
        fprintf(stderr, "dopt milp: %s\n", x ? err : "out of memory");
        rc = CLI_FAIL;
    } else {
        print_result(&a, p, &r, "");
        if (a.x_out && r.has_solution && !write_x(a.x_out, x, p->n)) rc = CLI_FAIL;
        if (a.x_out && !r.has_solution) fprintf(stderr, "dopt milp: no solution, %s not written\n", a.x_out);
    }
    free(x);
    dopt_milp_free(p);
    return rc;
}

/* objective better than the incumbent's, in the model's sense */
static int better(const dopt_milp *p, const dopt_milp_result *r, const dopt_milp_result *best)
{
    if (!r->has_solution) return 0;
    if (!best || !best->has_solution) return 1;
    return p->maximize ? r->objective > best->objective : r->objective < best->objective;
}

static int milp_search_cmd(int argc, char **argv)
{
    milp_args a;
    if (!parse_args(argc, argv, &a, 1)) return milp_usage(stderr), CLI_USAGE;
    dopt_milp *p = load(a.file, a.format);
    if (!p) return CLI_FAIL;
    dopt_npy pr = {0};
    char err[1024];
    int rc = CLI_FAIL;
    double *preds = NULL, *xs = NULL;
    int64_t *model_of = NULL, *offset = NULL;
    dopt_search_result *res = NULL;
    if (dopt_npy_read(a.pred, &pr, err, sizeof err) != DOPT_NPY_OK) {
        fprintf(stderr, "dopt milp: %s\n", err);
        goto done;
    }
    int64_t K = pr.ndim == 2 ? pr.shape[0] : 1;
    if (!(pr.ndim == 1 || pr.ndim == 2) || pr.shape[pr.ndim - 1] != p->n || K < 1) {
        fprintf(stderr, "dopt milp: %s must have shape (%d) or (K, %d) for this model\n", a.pred, p->n, p->n);
        goto done;
    }
    preds = malloc((size_t)(K * p->n + 1) * 8), xs = malloc((size_t)(K * p->n + 1) * 8);
    model_of = calloc((size_t)K, 8), offset = malloc((size_t)K * 8), res = calloc((size_t)K, sizeof *res);
    if (!preds || !xs || !model_of || !offset || !res) {
        fprintf(stderr, "dopt milp: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < pr.count; ++i) preds[i] = cli_npy_value(&pr, i);
    for (int64_t k = 0; k < K; ++k) offset[k] = k * p->n, res[k].milp.x = xs + k * p->n;
    const dopt_milp *models[1] = {p};
    if (dopt_milp_search_batch(models, K, model_of, preds, offset, &a.so, a.workers, res, err, sizeof err) != DOPT_OK) {
        fprintf(stderr, "dopt milp: %s\n", err);
        goto done;
    }
    int64_t best = 0;
    double total = 0;
    for (int64_t k = 0; k < K; ++k) {
        total += res[k].milp.seconds;
        if (better(p, &res[k].milp, &res[best].milp)) best = k;
    }
    char extra[512];
    snprintf(extra, sizeof extra,
             ", \"candidates\": %lld, \"best\": %lld, \"delta_used\": %.17g, \"rounds\": %d, \"trust_size\": %d, "
             "\"center_violation\": %.17g, \"total_time_s\": %.6f",
             (long long)K, (long long)best, res[best].delta_used, res[best].rounds, res[best].trust_size,
             res[best].center_violation, total);
    print_result(&a, p, &res[best].milp, a.json ? extra : "");
    if (!a.json)
        printf("candidates: %lld\nbest: %lld\ndelta_used: %g\nrounds: %d\ntrust_size: %d\ncenter_violation: %g\n",
               (long long)K, (long long)best, res[best].delta_used, res[best].rounds, res[best].trust_size,
               res[best].center_violation);
    rc = CLI_OK;
    if (a.x_out && res[best].milp.has_solution && !write_x(a.x_out, res[best].milp.x, p->n)) rc = CLI_FAIL;
done:
    dopt_npy_free(&pr);
    free(preds), free(xs), free(model_of), free(offset), free(res);
    dopt_milp_free(p);
    return rc;
}

static int milp_convert_cmd(int argc, char **argv)
{
    if (argc != 2) return milp_usage(stderr), CLI_USAGE;
    dopt_milp *p = load(argv[0], DOPT_MPS_AUTO);
    if (!p) return CLI_FAIL;
    char err[1024];
    dopt_status st = dopt_mps_write(p, argv[1], err, sizeof err);
    if (st != DOPT_OK) fprintf(stderr, "dopt milp: %s\n", err);
    dopt_milp_free(p);
    return st == DOPT_OK ? CLI_OK : CLI_FAIL;
}

static int milp_info_cmd(int argc, char **argv)
{
    if (argc != 1) return milp_usage(stderr), CLI_USAGE;
    dopt_milp *p = load(argv[0], DOPT_MPS_AUTO);
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
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        milp_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? CLI_USAGE : CLI_OK;
    }
    if (!strcmp(argv[0], "solve")) return milp_solve_cmd(argc - 1, argv + 1);
    if (!strcmp(argv[0], "search")) return milp_search_cmd(argc - 1, argv + 1);
    if (!strcmp(argv[0], "convert")) return milp_convert_cmd(argc - 1, argv + 1);
    if (!strcmp(argv[0], "info")) return milp_info_cmd(argc - 1, argv + 1);
    fprintf(stderr, "dopt milp: unknown subcommand '%s'\n", argv[0]);
    milp_usage(stderr);
    return CLI_USAGE;
}
