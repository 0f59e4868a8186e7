/* dopt: command-line entry. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "dopt %s - batched differentiable optimization\n"
            "usage:\n"
            "  dopt qp solve DIR [--out OUTDIR] [--backend cpu|cuda|auto] [--threads N] [--tol EPS]\n"
            "                    [--max-iter K] [--dx FILE] [--dlam FILE] [--dnu FILE] [--quiet]\n"
            "  dopt bern DIR [--out OUTDIR] [--estimator unbiased|reinforce|diffilo|exact] [--samples K]\n"
            "                [--seed S] [--mu M] [--backend cpu|cuda|auto] [--threads N] [--logits] [--quiet]\n"
            "  dopt ilp solve DIR [--out OUTDIR] [--backend cpu|cuda|auto] [--threads N] [--node-limit K]\n"
            "                 [--time-limit S] [--dy FILE --method combopt|dbb|perturbed|identity [--tau T]\n"
            "                 [--lambda L] [--epsilon E] [--samples K] [--seed S]] [--quiet]\n"
            "  dopt gen sc|ca|cfl|mis|rc|wsc|knapsack --size easy|medium|hard --count N --seed S OUTDIR\n"
            "  dopt milp solve FILE.mps [--time-limit S] [--json] [--solver auto|cbc|exact] [--relax]\n"
            "  dopt milp search FILE.mps --pred P.npy [--delta D] [--k0 K] [--k1 K] [--time-limit S] [--json]\n"
            "  dopt milp convert IN.mps OUT.mps | info FILE.mps\n"
            "  dopt diffuse sample (--gaussian DIR | --mixture DIR) --sampler ddpm|ddim [--eta E] [--steps T]\n"
            "                [--schedule linear|cosine] --samples K --seed S --out FILE\n"
            "  dopt bench qp [--quick] [--threads N] [--backend cpu|cuda|auto] [--export DIR]\n"
            "  dopt bench bern | bern-train | diffusion\n"
            "  dopt demo [--steps N] [--seed S] [--threads N]\n"
            "  dopt --version | --help\n"
            "See README.md for file formats and status codes.\n",
            dopt_version());
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("dopt %s\n", dopt_version());
        return CLI_OK;
    }
    if (!strcmp(cmd, "qp")) return cli_qp(argc - 2, argv + 2);
    if (!strcmp(cmd, "bern")) return cli_bern(argc - 2, argv + 2);
    if (!strcmp(cmd, "ilp")) return cli_ilp(argc - 2, argv + 2);
    if (!strcmp(cmd, "gen")) return cli_gen(argc - 2, argv + 2);
    if (!strcmp(cmd, "milp")) return cli_milp(argc - 2, argv + 2);
    if (!strcmp(cmd, "diffuse")) return cli_diffuse(argc - 2, argv + 2);
    if (!strcmp(cmd, "bench")) return cli_bench(argc - 2, argv + 2);
    if (!strcmp(cmd, "demo")) return cli_demo(argc - 2, argv + 2);
    fprintf(stderr, "dopt: unknown command '%s'\n", cmd);
    usage(stderr);
    return CLI_USAGE;
}
