/* dopt: command-line entry. --help for every command is answered here,
 * before the command runs (cli_help.c holds the usage texts). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage(stderr, NULL, NULL);
        return CLI_USAGE;
    }
    /* --help / -h anywhere: the command's usage, before any parsing or file access */
    int help = cli_help(argc - 1, argv + 1);
    if (help >= 0) return help;
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version")) {
        if (argc > 2) {
            fprintf(stderr, "dopt: --version takes no arguments (got '%s')\n", argv[2]);
            return CLI_USAGE;
        }
        printf("dopt %s\n", dopt_version());
        return CLI_OK;
    }
    if (!strcmp(cmd, "qp")) return cli_qp(argc - 2, argv + 2);
    if (!strcmp(cmd, "cone")) return cli_cone(argc - 2, argv + 2);
    if (!strcmp(cmd, "bern")) return cli_bern(argc - 2, argv + 2);
    if (!strcmp(cmd, "ilp")) return cli_ilp(argc - 2, argv + 2);
    if (!strcmp(cmd, "gen")) return cli_gen(argc - 2, argv + 2);
    if (!strcmp(cmd, "milp")) return cli_milp(argc - 2, argv + 2);
    if (!strcmp(cmd, "diffuse")) return cli_diffuse(argc - 2, argv + 2);
    if (!strcmp(cmd, "bench")) return cli_bench(argc - 2, argv + 2);
    if (!strcmp(cmd, "demo")) return cli_demo(argc - 2, argv + 2);
    fprintf(stderr, "dopt: unknown command '%s'\n", cmd);
    cli_usage(stderr, NULL, NULL);
    return CLI_USAGE;
}
