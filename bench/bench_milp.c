/* dopt bench milp: on generated instances of each family (Gasse et al.'s
 * medium by default), the full MILP against predict-and-search seeded by
 * (a) the LP relaxation's solution and (b) a perturbed optimum (the full
 * run's best solution seen through a noisy predictor), same solver and the
 * same time limit, same run. Prints a markdown table (bench/RESULTS.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "qp_generate.h"

typedef struct {
    const char *name;
    dopt_gen_family family;
    double k0, k1; /* fractions of the binaries fixed to 0 and 1 (after PaS Table 4) */
    double delta;
} bench_family;

/* PaS (Han et al. 2023, Table 4, SCIP column): IS (300,300; 15) and CA (400,0; 10) on
 * 1,500 binaries, as fractions; SC and CFL have no published setting: chosen here
 * from the share of ones in their optima (docs/MILP.md). */
static const bench_family families[4] = {{"sc", DOPT_GEN_SETCOVER, 0.40, 0.01, 10},
                                         {"ca", DOPT_GEN_CAUCTION, 0.27, 0.0, 10},
                                         {"cfl", DOPT_GEN_FACILITY, 0.30, 0.05, 5},
                                         {"mis", DOPT_GEN_INDSET, 0.20, 0.20, 15}};

typedef struct {
    int status, has;
    double obj, bound, seconds;
} outcome;

static outcome of_result(const dopt_milp_result *r)
{
    outcome o = {r->status, r->has_solution, r->has_solution ? r->objective : NAN, r->bound, r->seconds};
    return o;
}

static double gap(const dopt_milp *p, double obj, double best)
{
    if (!isfinite(obj)) return NAN;
    double d = p->maximize ? best - obj : obj - best;
    return d / fmax(fabs(best), 1e-9);
}

/* MPS text throughput of the reader on this instance (MB/s), from a temporary file */
static double reader_mbs(dopt_context *ctx, const dopt_milp *p, double *megabytes)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/dopt_bench_milp_%ld.mps", (long)cli_now());
    *megabytes = 0;
    if (dopt_mps_write(ctx, p, path) != DOPT_OK) return NAN;
    FILE *f = fopen(path, "rb");
    if (f) fseek(f, 0, SEEK_END), *megabytes = ftell(f) / 1e6, fclose(f);
    double best = HUGE_VAL;
    for (int rep = 0; rep < 3; ++rep) {
        dopt_milp *q = NULL;
        double t0 = cli_now();
        dopt_status st = dopt_mps_read(ctx, path, DOPT_MPS_FREE, &q);
        double dt = cli_now() - t0;
        dopt_milp_free(q);
        if (st != DOPT_OK) break;
        best = dt < best ? dt : best;
    }
    remove(path);
    return *megabytes / best;
}

static void print_outcome(const dopt_milp *p, const outcome *o, double best, double extra_s)
{
    static const char *w[] = {"opt", "infeas", "unbdd", "limit", "numer", "inval"};
    printf(" %s | %.1f | ", o->status >= 0 && o->status <= 5 ? w[o->status] : "?", o->seconds + extra_s);
    if (o->has) printf("%.6g (%.2f%%) |", o->obj, 100 * gap(p, o->obj, best));
    else printf("none |");
}


int cli_bench_milp(int argc, char **argv)
{
    long long count = 2, seed = 1000;
    double limit = 60, noise = 1.5, margin = 2.0;
    const char *size_name = "medium", *only = NULL, *solver_name = "auto";
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i], *val = cli_value(argc, argv, &i);
        if (!val) return CLI_USAGE;
        if (!strcmp(a, "--count")) {
            if (!cli_parse_int(val, a, 1, 1000, &count)) return CLI_USAGE;
        } else if (!strcmp(a, "--seed")) {
            if (!cli_parse_int(val, a, 0, (long long)1 << 62, &seed)) return CLI_USAGE;
        } else if (!strcmp(a, "--time-limit")) {
            if (!cli_parse_double(val, a, 0.01, 1e6, &limit)) return CLI_USAGE;
        } else if (!strcmp(a, "--noise")) {
            if (!cli_parse_double(val, a, 0, 100, &noise)) return CLI_USAGE;
        } else if (!strcmp(a, "--size")) {
            size_name = val;
        } else if (!strcmp(a, "--family")) {
            only = val;
        } else if (!strcmp(a, "--solver")) {
            solver_name = val;
        } else {
            return cli_usage_error("bench", "milp", "unknown option %s", a);
        }
    }
    /* a size or family that selects nothing is a usage error, not an empty table */
    dopt_gen_size size;
    if (!strcmp(size_name, "easy")) size = DOPT_GEN_EASY;
    else if (!strcmp(size_name, "medium")) size = DOPT_GEN_MEDIUM;
    else if (!strcmp(size_name, "hard")) size = DOPT_GEN_HARD;
    else {
        fprintf(stderr, "dopt bench milp: --size expects easy, medium or hard, got '%s'\n", size_name);
        return CLI_USAGE;
    }
    int known = !only;
    for (int f = 0; f < 4 && !known; ++f) known = !strcmp(only, families[f].name);
    if (!known) {
        fprintf(stderr, "dopt bench milp: --family expects sc, ca, cfl or mis, got '%s'\n", only);
        return CLI_USAGE;
    }
    dopt_milp_solver solver;
    if (!strcmp(solver_name, "auto")) solver = dopt_milp_have_highs() ? DOPT_MILP_HIGHS : DOPT_MILP_CBC;
    else if (!strcmp(solver_name, "highs")) solver = DOPT_MILP_HIGHS;
    else if (!strcmp(solver_name, "cbc")) solver = DOPT_MILP_CBC;
    else {
        fprintf(stderr, "dopt bench milp: --solver expects auto, highs or cbc, got '%s'\n", solver_name);
        return CLI_USAGE;
    }
    if (solver == DOPT_MILP_HIGHS ? !dopt_milp_have_highs() : !dopt_milp_have_cbc()) {
        fprintf(stderr, "dopt bench milp: needs the %s backend (scripts/ensure-deps.sh installs both; rebuild)\n",
                solver == DOPT_MILP_HIGHS ? "HiGHS" : "Cbc");
        return CLI_FAIL;
    }
    dopt_context *ctx = NULL; /* host: the MILP calls' messages */
    if (dopt_context_create(&ctx, DOPT_BACKEND_CPU) != DOPT_OK) {
        fprintf(stderr, "dopt bench milp: cannot create a context\n");
        dopt_context_destroy(ctx);
        return CLI_FAIL;
    }
    printf("# predict-and-search vs full MILP: %s, 1 thread, time limit %g s per solve, %s instances\n",
           solver == DOPT_MILP_HIGHS ? "HiGHS" : "Cbc 2.10", limit, size_name);
    printf("# perturbed optimum: p_j = sigmoid(%g (2 x*_j - 1) + %g Z_j), Z ~ N(0,1), x* the full run's best\n",
           margin, noise);
    printf("# PaS statuses are the trust region's: opt = optimal within the trust region, not the model's optimum\n");
    printf("| instance | rows x cols | full: status | s | objective (gap) | LP-PaS: status | s (incl. LP) | "
           "objective (gap) | pert-PaS: status | s | objective (gap) | best known |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int f = 0; f < 4; ++f) {
        if (only && strcmp(only, families[f].name)) continue;
        for (long long k = 0; k < count; ++k) {
            dopt_gen_params g;
            dopt_milp *p = NULL;
            if (dopt_gen_params_preset(ctx, families[f].family, size, &g) != DOPT_OK ||
                dopt_gen_instance(ctx, &g, (uint64_t)(seed + k), &p) != DOPT_OK) {
                fprintf(stderr, "dopt bench milp: %s\n", dopt_context_last_error(ctx));
                dopt_context_destroy(ctx);
                return CLI_FAIL;
            }
            int n = p->n, nb = 0;
            for (int j = 0; j < n; ++j) nb += p->integer[j] && p->col_lo[j] == 0 && p->col_hi[j] == 1;
            double *xfull = calloc((size_t)n, 8), *xlp = calloc((size_t)n, 8), *x = calloc((size_t)n, 8);
            double *pert = calloc((size_t)n, 8);
            dopt_milp_options o;
            dopt_milp_options_default(&o);
            o.solver = solver, o.time_limit = limit, o.threads = 1;
            fprintf(stderr, "[%s %lld] full MILP...\n", families[f].name, k);
            dopt_milp_result full = {0}, lp = {0};
            full.x = xfull, lp.x = xlp;
            dopt_milp_solve(ctx, p, &o, &full);
            o.relax = 1;
            dopt_milp_solve(ctx, p, &o, &lp);
            o.relax = 0;
            dopt_milp_search_options so;
            dopt_milp_search_options_default(&so);
            so.milp = o, so.delta = families[f].delta;
            so.k0 = (int32_t)(families[f].k0 * nb), so.k1 = (int32_t)(families[f].k1 * nb);
            fprintf(stderr, "[%s %lld] predict-and-search from the LP solution...\n", families[f].name, k);
            dopt_milp_search_result s_lp, s_pert;
            memset(&s_lp, 0, sizeof s_lp), memset(&s_pert, 0, sizeof s_pert);
            s_lp.milp.x = x, s_pert.milp.x = x;
            if (lp.status == DOPT_SOLVED) dopt_milp_search(ctx, p, xlp, &so, &s_lp);
            else s_lp.milp.status = lp.status;
            uint64_t rng = (uint64_t)(seed + k) * 7919u + 17;
            for (int j = 0; j < n; ++j) {
                double z = dopt_gen_normal(&rng);
                pert[j] = 1 / (1 + exp(-(margin * (2 * xfull[j] - 1) + noise * z)));
            }
            fprintf(stderr, "[%s %lld] predict-and-search from a perturbed optimum...\n", families[f].name, k);
            if (full.has_solution) dopt_milp_search(ctx, p, pert, &so, &s_pert);
            else s_pert.milp.status = full.status;
            /* best known: the best objective any run found */
            const dopt_milp_result *top = &full;
            if (dopt_milp_result_better(p, &s_lp.milp, top)) top = &s_lp.milp;
            if (dopt_milp_result_better(p, &s_pert.milp, top)) top = &s_pert.milp;
            double best = top->has_solution ? top->objective : NAN;
            outcome of = of_result(&full), ol = of_result(&s_lp.milp), op = of_result(&s_pert.milp);
            printf("| %s-%s-%lld | %d x %d |", families[f].name, size_name, k, p->m, p->n);
            print_outcome(p, &of, best, 0);
            print_outcome(p, &ol, best, lp.seconds);
            print_outcome(p, &op, best, 0);
            printf(" %.8g |\n", best);
            fflush(stdout);
            double mb, mbs = reader_mbs(ctx, p, &mb);
            fprintf(stderr,
                    "[%s %lld] full bound %.8g; trust sets %d/%d binaries, delta used %g / %g; rounds %d / %d; "
                    "MPS reader %.1f MB in %.3f s = %.0f MB/s\n",
                    families[f].name, k, full.bound, s_lp.trust_size, nb, s_lp.delta_used, s_pert.delta_used,
                    s_lp.rounds, s_pert.rounds, mb, mb / mbs, mbs);
            free(xfull), free(xlp), free(x), free(pert);
            dopt_milp_free(p);
        }
    }
    dopt_context_destroy(ctx);
    return CLI_OK;
}
