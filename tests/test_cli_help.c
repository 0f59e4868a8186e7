/* The command line's conformance: --help (and -h) for every command and
 * subcommand (exit 0, the usage on stdout, nothing on stderr, nothing
 * created, every option the parser accepts listed with its default),
 * option errors that name the option and the range, and options that would
 * select nothing refused with exit 2.
 *
 * The option lists are not copied here: every "--name" in the string
 * literals of a command's source files must appear in its help, and every
 * option a help lists must be accepted by the command's parser (probed with
 * the option followed by an unknown one, so nothing runs). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "test_util.h"

#include "cli_util.h"

static const char *source_dir;
static char cwd_dir[1024]; /* the empty directory every run starts in */

/* runs dopt in cwd_dir; stdout, stderr to work/{stdout,stderr}.txt */
static int run_in_empty(const char *args)
{
    char cmd[12288];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >'%s/stdout.txt' 2>'%s/stderr.txt'", cwd_dir, dopt_bin, args, work,
             work);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int entries_in(const char *dir)
{
    DIR *d = opendir(dir);
    int count = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));)
        count += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return count;
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* a copy of the last run's stdout (the buffer of output_of is reused) */
static char *stdout_copy(void)
{
    const char *o = output_of("stdout");
    char *c = (char *)malloc(strlen(o) + 1);
    strcpy(c, o);
    return c;
}

/* ---- option names ------------------------------------------------------------ */

typedef struct {
    char name[32][48];
    int count;
} name_set;

static int has_name(const name_set *s, const char *n)
{
    for (int k = 0; k < s->count; ++k)
        if (!strcmp(s->name[k], n)) return 1;
    return 0;
}

static void add_name(name_set *s, const char *start, size_t len)
{
    char n[48];
    if (len >= sizeof n) len = sizeof n - 1;
    memcpy(n, start, len);
    n[len] = 0;
    if (has_name(s, n)) return;
    CHECK(s->count < 32, "more than 32 option names; %s dropped (raise the limit)", n);
    if (s->count < 32) strcpy(s->name[s->count++], n);
}

static int name_char(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'; }

/* every --name (a lowercase letter after the dashes) in text */
static void scan_options(const char *text, size_t len, name_set *out)
{
    for (size_t i = 0; i + 2 < len; ++i) {
        if (text[i] != '-' || text[i + 1] != '-' || !(text[i + 2] >= 'a' && text[i + 2] <= 'z')) continue;
        if (i > 0 && (name_char(text[i - 1]) || (text[i - 1] >= 'A' && text[i - 1] <= 'Z'))) continue;
        size_t e = i + 2;
        while (e < len && name_char(text[e])) ++e;
        while (e > i + 2 && text[e - 1] == '-') --e;
        add_name(out, text + i, e - i);
        i = e;
    }
}

/* The --names inside the string literals of a C file (comments, character
 * literals and code such as --i are skipped). */
static int source_options(const char *rel, name_set *out)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", source_dir, rel);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "cannot read %s", path);
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *src = (char *)malloc((size_t)n + 1), *lit = (char *)malloc((size_t)n + 1);
    size_t got = fread(src, 1, (size_t)n, f), nl = 0;
    fclose(f);
    src[got] = 0;
    for (size_t i = 0; i < got; ++i) {
        if (src[i] == '/' && src[i + 1] == '/') {
            while (i < got && src[i] != '\n') ++i;
        } else if (src[i] == '/' && src[i + 1] == '*') {
            for (i += 2; i + 1 < got && !(src[i] == '*' && src[i + 1] == '/'); ++i) {}
            ++i;
        } else if (src[i] == '\'') {
            for (++i; i < got && src[i] != '\''; ++i)
                if (src[i] == '\\') ++i;
        } else if (src[i] == '"') {
            for (++i; i < got && src[i] != '"'; ++i) {
                if (src[i] == '\\') {
                    ++i;
                    continue;
                }
                lit[nl++] = src[i];
            }
            lit[nl++] = '\n'; /* literals apart: no name runs into the next */
        }
    }
    scan_options(lit, nl, out);
    free(src), free(lit);
    return 1;
}

/* ---- --help for every command ------------------------------------------------------ */

typedef struct {
    const char *args;    /* what follows `dopt`, before --help */
    const char *mention; /* the help names the command */
    const char *probe;   /* prefix that reaches the command's option parser; NULL: no options of its own */
} help_case;

static const help_case cases[] = {
    {"", "dopt qp solve", NULL},
    {"qp", "dopt qp solve", "qp solve"},
    {"qp solve", "dopt qp solve", "qp solve"},
    {"bern", "dopt bern", "bern"},
    {"ilp", "dopt ilp solve", "ilp solve"},
    {"ilp solve", "dopt ilp solve", "ilp solve"},
    {"diffuse", "dopt diffuse sample", "diffuse sample"},
    {"diffuse sample", "dopt diffuse sample", "diffuse sample"},
    {"gen", "dopt gen", "gen sc"},
    {"milp", "dopt milp solve", NULL},
    {"milp solve", "dopt milp solve", "milp solve"},
    {"milp search", "dopt milp search", "milp search"},
    {"milp convert", "dopt milp convert", "milp convert"},
    {"milp info", "dopt milp info", "milp info"},
    {"bench", "dopt bench qp", NULL},
    {"bench qp", "dopt bench qp", "bench qp"},
    {"bench bern", "dopt bench bern", "bench bern"},
    {"bench bern-train", "dopt bench bern-train", "bench bern-train"},
    {"bench diffusion", "dopt bench diffusion", "bench diffusion"},
    {"bench milp", "dopt bench milp", "bench milp"},
    {"bench ragged", "dopt bench ragged", "bench ragged"},
    {"demo", "dopt demo", "demo"},
    {"demo combopt", "dopt demo combopt", "demo combopt"},
};
enum { CASE_COUNT = (int)(sizeof cases / sizeof cases[0]) };

static char *help_text[CASE_COUNT];

/* the help of case k (already fetched by test_help) */
static const char *help_of(const char *args)
{
    for (int k = 0; k < CASE_COUNT; ++k)
        if (!strcmp(cases[k].args, args)) return help_text[k] ? help_text[k] : "";
    return "";
}

/* Every option line ("  --name ...") says its default or that it is required. */
static void check_defaults(const char *args, const char *text)
{
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 4 && !strncmp(line, "  --", 4)) {
            char buf[512];
            snprintf(buf, sizeof buf, "%.*s", (int)len, line);
            CHECK(strstr(buf, "default") || strstr(buf, "required"), "dopt %s --help: no default in '%s'", args, buf);
        }
        line = end ? end + 1 : line + len;
    }
}

static void test_help(void)
{
    static const char *flags[2] = {"--help", "-h"};
    for (int k = 0; k < CASE_COUNT; ++k)
        for (int f = 0; f < 2; ++f) {
            char args[512];
            snprintf(args, sizeof args, "%s %s", cases[k].args, flags[f]);
            int rc = run_in_empty(args);
            const char *out = output_of("stdout");
            CHECK(rc == 0, "dopt %s exited %d: %s", args, rc, output_of("stderr"));
            CHECK(strlen(out) > 40, "dopt %s: no usage on stdout", args);
            CHECK(strstr(out, "usage") != NULL, "dopt %s: stdout is not a usage: %s", args, out);
            if (*cases[k].args) CHECK(strstr(out, cases[k].mention) != NULL, "dopt %s does not name '%s'", args,
                                      cases[k].mention);
            CHECK(output_of("stderr")[0] == 0, "dopt %s wrote to stderr: %s", args, output_of("stderr"));
            CHECK(entries_in(cwd_dir) == 0, "dopt %s created a file in its working directory", args);
            if (f == 0) {
                help_text[k] = stdout_copy();
                check_defaults(cases[k].args, help_text[k]);
            }
        }
    /* the top level names every command */
    const char *top = help_of("");
    static const char *commands[] = {"qp", "bern", "ilp", "diffuse", "gen", "milp", "bench", "demo", "--version"};
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; ++c) {
        char want[64];
        snprintf(want, sizeof want, "dopt %s", commands[c]);
        CHECK(strstr(top, want) != NULL, "dopt --help does not list '%s'", want);
    }
    /* `dopt help CMD SUB` is the same text */
    CHECK(run_in_empty("help milp search") == 0 && !strcmp(output_of("stdout"), help_of("milp search")),
          "dopt help milp search differs from dopt milp search --help");
    /* overviews name their subcommands */
    static const char *milp_subs[] = {"milp solve", "milp search", "milp convert", "milp info"};
    for (int s = 0; s < 4; ++s) CHECK(strstr(help_of("milp"), milp_subs[s]) != NULL, "milp --help: %s", milp_subs[s]);
    static const char *bench_subs[] = {"bench qp", "bench bern", "bench bern-train", "bench diffusion", "bench milp", "bench ragged"};
    for (int s = 0; s < 5; ++s)
        CHECK(strstr(help_of("bench"), bench_subs[s]) != NULL, "bench --help: %s", bench_subs[s]);
    CHECK(strstr(help_of("demo"), "demo combopt") != NULL, "demo --help names combopt");
}

/* --help anywhere wins before any file is opened or created */
static void test_help_before_files(void)
{
    char args[4096], out[1024], json[1024], npy[1024];
    snprintf(out, sizeof out, "%s/help_out", work);
    snprintf(json, sizeof json, "%s/help.json", work);
    snprintf(npy, sizeof npy, "%s/help.npy", work);
    snprintf(args, sizeof args, "milp info '%s/none.mps' --help", work);
    CHECK(run_in_empty(args) == 0 && !output_of("stderr")[0], "milp info FILE --help opened FILE: %s",
          output_of("stderr"));
    CHECK(run_in_empty("milp info --help") == 0 && strstr(output_of("stdout"), "dopt milp info"),
          "milp info --help is the help, not a file");
    snprintf(args, sizeof args, "qp solve '%s/none' --out '%s' -h", work, out);
    CHECK(run_in_empty(args) == 0 && !exists(out) && !output_of("stderr")[0], "qp solve --out X -h created X");
    snprintf(args, sizeof args, "bench qp --json '%s' --batch 1 --n 4 --help", json);
    CHECK(run_in_empty(args) == 0 && !exists(json), "bench qp --json X --help created X");
    snprintf(args, sizeof args, "gen sc --size easy --count 1 --seed 1 '%s' --help", out);
    CHECK(run_in_empty(args) == 0 && !exists(out), "gen ... OUTDIR --help created OUTDIR");
    snprintf(args, sizeof args, "diffuse sample --gaussian '%s/none' --sampler ddpm --samples 1 --seed 1 --out '%s' -h",
             work, npy);
    CHECK(run_in_empty(args) == 0 && !exists(npy), "diffuse sample --out X -h created X");
    snprintf(args, sizeof args, "milp search '%s/none.mps' --pred-dir '%s' --help", work, work);
    CHECK(run_in_empty(args) == 0 && strstr(output_of("stdout"), "--pred-dir"), "milp search --help lists --pred-dir");
    /* help for what does not exist is a usage error */
    CHECK(run_in_empty("frobnicate --help") == 2 && stderr_mentions("unknown command 'frobnicate'"),
          "unknown command --help");
    CHECK(run_in_empty("milp frobnicate --help") == 2 && stderr_mentions("frobnicate"), "unknown subcommand --help");
    CHECK(entries_in(cwd_dir) == 0, "a help run created a file in its working directory");
}

/* every option in a source file's literals is in the help of its commands */
static void test_sources_listed(void)
{
    static const struct {
        const char *file;
        const char *helps[2]; /* the option is in one of these */
    } map[] = {
        {"src/cli/cli_qp.c", {"qp solve", NULL}},
        {"src/cli/cli_qp_sparse.c", {"qp solve", NULL}},
        {"src/cli/cli_bern.c", {"bern", NULL}},
        {"src/cli/cli_ilp.c", {"ilp solve", NULL}},
        {"src/cli/cli_diffuse.c", {"diffuse sample", NULL}},
        {"src/cli/cli_gen.c", {"gen", NULL}},
        {"src/cli/cli_milp.c", {"milp solve", "milp search"}},
        {"bench/bench_qp.c", {"bench qp", NULL}},
        {"bench/bench_bern.c", {"bench bern", "bench bern-train"}},
        {"bench/bench_diffusion.c", {"bench diffusion", NULL}},
        {"bench/bench_milp.c", {"bench milp", NULL}},
        {"bench/bench_ragged.c", {"bench ragged", NULL}},
        {"examples/demo_qp.c", {"demo", NULL}},
        {"examples/demo_combopt.c", {"demo combopt", NULL}},
    };
    for (size_t f = 0; f < sizeof map / sizeof map[0]; ++f) {
        name_set names;
        memset(&names, 0, sizeof names);
        if (!source_options(map[f].file, &names)) continue;
        CHECK(names.count > 0 || !strcmp(map[f].file, "none"), "%s: no options found (scanner broken?)", map[f].file);
        for (int k = 0; k < names.count; ++k) {
            const char *o = names.name[k];
            int listed = 0;
            for (int h = 0; h < 2 && map[f].helps[h]; ++h) {
                name_set in_help;
                memset(&in_help, 0, sizeof in_help);
                const char *text = help_of(map[f].helps[h]);
                scan_options(text, strlen(text), &in_help);
                listed |= has_name(&in_help, o);
            }
            CHECK(listed, "%s accepts or mentions %s, which 'dopt %s --help' does not list", map[f].file, o,
                  map[f].helps[0]);
        }
    }
}

/* every option a help lists reaches the parser as a known option */
static void test_helps_accepted(void)
{
    for (int k = 0; k < CASE_COUNT; ++k) {
        if (!cases[k].probe || !help_text[k]) continue;
        name_set names;
        memset(&names, 0, sizeof names);
        /* the options section: lines starting with "  --" */
        for (const char *line = help_text[k]; *line;) {
            const char *end = strchr(line, '\n');
            size_t len = end ? (size_t)(end - line) : strlen(line);
            if (len > 4 && !strncmp(line, "  --", 4)) {
                size_t e = 2;
                while (e < len && line[e] != ' ') ++e;
                add_name(&names, line + 2, e - 2);
            }
            line = end ? end + 1 : line + len;
        }
        CHECK(names.count > 0 || strstr(cases[k].args, "milp convert") || strstr(cases[k].args, "milp info"),
              "dopt %s --help lists no options", cases[k].args);
        for (int o = 0; o < names.count; ++o) {
            char args[512], unknown[96];
            snprintf(args, sizeof args, "%s %s --zz-probe", cases[k].probe, names.name[o]);
            snprintf(unknown, sizeof unknown, "unknown option %s", names.name[o]);
            int rc = run_in_empty(args);
            CHECK(rc == 2 && stderr_mentions("--zz-probe") && !stderr_mentions(unknown),
                  "dopt %s: the parser does not take %s as its help says (exit %d): %s", args, names.name[o], rc,
                  output_of("stderr"));
        }
    }
    CHECK(entries_in(cwd_dir) == 0, "a probe created a file in its working directory");
}

/* ---- messages name the option, the range and the value ------------------------------ */

static void test_messages(void)
{
    CHECK(run("bench bern --threads -1") == 2 &&
              stderr_mentions("--threads: expected an integer in [0, 4096], got '-1'"),
          "bench bern --threads -1: %s", output_of("stderr"));
    CHECK(!stderr_mentions("-1 expects"), "the value named as the option: %s", output_of("stderr"));
    CHECK(run("bench diffusion --max-elements -5") == 2 &&
              stderr_mentions("--max-elements: expected a number in [1, 1e+12], got '-5'"),
          "bench diffusion --max-elements -5: %s", output_of("stderr"));
    CHECK(run("bench diffusion --threads x") == 2 && stderr_mentions("--threads: expected an integer"),
          "bench diffusion --threads x: %s", output_of("stderr"));
    CHECK(run("bench bern-train --samples 1") == 2 &&
              stderr_mentions("--samples: expected an integer in [2, 1048576], got '1'"),
          "bench bern-train --samples 1: %s", output_of("stderr"));
    CHECK(run("qp solve d --tol 0") == 2 && stderr_mentions("--tol: expected a number in (0, 1], got '0'"),
          "qp --tol 0: %s", output_of("stderr"));
    CHECK(run("bern d --mu -1") == 2 && stderr_mentions("--mu: expected a number > 0, got '-1'"), "bern --mu -1: %s",
          output_of("stderr"));
    CHECK(run("demo --seed -3") == 2 && stderr_mentions("--seed: expected an integer >= 0, got '-3'"),
          "demo --seed -3: %s", output_of("stderr"));
    CHECK(run("bench qp --n ' 8'") == 2 && stderr_mentions("--n: expected an integer"), "leading blank accepted: %s",
          output_of("stderr"));
    CHECK(run("qp solve d --backend gpu") == 2 && stderr_mentions("--backend: expected cpu, cuda or auto, got 'gpu'"),
          "qp --backend gpu: %s", output_of("stderr"));
    /* a forgotten value is not taken from the next option */
    CHECK(run("qp solve d --out --quiet") == 2 && stderr_mentions("--out needs a value") &&
              stderr_mentions("'--quiet'"),
          "qp --out --quiet: %s", output_of("stderr"));
    CHECK(run("bench qp --json") == 2 && stderr_mentions("--json needs a value"), "bench qp --json: %s",
          output_of("stderr"));
    /* unknown options and arguments are named, with the usage */
    CHECK(run("bench bern --fast") == 2 && stderr_mentions("unknown option --fast") && stderr_mentions("usage"),
          "bench bern --fast: %s", output_of("stderr"));
    CHECK(run("bench diffusion 5") == 2 && stderr_mentions("unexpected argument '5'"), "bench diffusion 5: %s",
          output_of("stderr"));
    CHECK(run("bench bern-train --fast") == 2 && stderr_mentions("unknown option --fast"), "bench bern-train --fast");
    CHECK(run("demo --fast") == 2 && stderr_mentions("unknown option --fast"), "demo --fast");
    CHECK(run("demo combopt --fast") == 2 && stderr_mentions("unknown option --fast"), "demo combopt --fast");
    CHECK(run("demo combopt --task knapsack") == 2 && stderr_mentions("--task") && stderr_mentions("'knapsack'"),
          "demo combopt --task knapsack: %s", output_of("stderr"));
    CHECK(run("bench frobnicate") == 2 && stderr_mentions("unknown benchmark 'frobnicate'"), "bench frobnicate: %s",
          output_of("stderr"));
    CHECK(run("bench") == 2 && stderr_mentions("bench qp"), "bench without a benchmark: %s", output_of("stderr"));
    CHECK(run("--version extra") == 2 && stderr_mentions("'extra'"), "--version with an argument: %s",
          output_of("stderr"));
    CHECK(run("--version") == 0 && !strncmp(output_of("stdout"), "dopt ", 5), "--version");
}

/* ---- options that select nothing; outputs checked before the run --------------------- */

static void test_selection(void)
{
    char args[2048], json[1024];
    snprintf(json, sizeof json, "%s/bench_qp.json", work);
    remove(json);
    /* --batch and --n off the grid: the configuration asked for runs */
    snprintf(args, sizeof args, "bench qp --batch 16 --n 8 --min-time 0 --threads 1 --json '%s'", json);
    CHECK(run(args) == 0, "bench qp --batch 16 --n 8: %s", output_of("stderr"));
    CHECK(strstr(output_of("stdout"), "      16     8     8     2") != NULL, "no row for B=16 n=8: %s",
          output_of("stdout"));
    FILE *f = fopen(json, "r");
    char text[4096] = {0};
    if (f) {
        size_t got = fread(text, 1, sizeof text - 1, f);
        text[got] = 0;
        fclose(f);
    }
    CHECK(strstr(text, "\"B\": 16, \"n\": 8,") != NULL, "bench qp JSON has no B=16 n=8 row: '%s'", text);
    /* --quick that prunes everything: said, exit 2 */
    CHECK(run("bench qp --batch 100000 --quick") == 2 && stderr_mentions("nothing to run") &&
              stderr_mentions("--quick"),
          "bench qp --batch 100000 --quick: %s", output_of("stderr"));
    CHECK(run("bench diffusion --max-elements 5") == 2 && stderr_mentions("nothing to run") &&
              stderr_mentions("--max-elements"),
          "bench diffusion --max-elements 5: %s", output_of("stderr"));
    /* outputs that cannot be written fail before the run */
    snprintf(args, sizeof args, "bench qp --batch 1 --n 4 --json '%s/no/such/dir/x.json'", work);
    CHECK(run(args) == 1 && stderr_mentions("x.json") && !output_of("stdout")[0], "bench qp --json unwritable: %s",
          output_of("stderr"));
    snprintf(args, sizeof args, "bench bern-train --count 1 --steps 1 --export '%s/no/such/dir'", work);
    CHECK(run(args) == 1 && stderr_mentions("no/such/dir") && !output_of("stdout")[0],
          "bench bern-train --export unwritable: %s", output_of("stderr"));
    char file[1024];
    snprintf(file, sizeof file, "%s/a_file", work);
    FILE *ff = fopen(file, "w");
    if (ff) fclose(ff);
    snprintf(args, sizeof args, "bench bern-train --count 1 --steps 1 --export '%s'", file);
    CHECK(run(args) == 1 && stderr_mentions("not a directory") && !output_of("stdout")[0],
          "bench bern-train --export FILE: %s", output_of("stderr"));
    /* a configuration that cannot fit is refused up front, naming the options */
    CHECK(run("bench bern-train --n 100000 --count 10000") == 1 && stderr_mentions("--n 100000") &&
              stderr_mentions("--count 10000"),
          "bench bern-train too large: %s", output_of("stderr"));
    /* demo combopt prints the worker count that runs (one per run at most):
     * wsc alone is 4 runs; the header is printed before training starts */
    snprintf(args, sizeof args,
             "timeout 3 '%s' demo combopt --task wsc --seeds 1 --epochs 1 --threads 64 >'%s/stdout.txt' 2>/dev/null",
             dopt_bin, work);
    CHECK(system(args) != -1, "cannot run %s", args);
    CHECK(strstr(output_of("stdout"), "4 runs") && strstr(output_of("stdout"), "on 4 threads"),
          "demo combopt header: %s", output_of("stdout"));
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: test_cli_help DOPT_BINARY WORKDIR SOURCE_DIR\n");
        return 2;
    }
    tu_init(2, (char *[]){argv[0], (char *)"cpu"});
    dopt_bin = argv[1];
    work = argv[2];
    source_dir = argv[3];
    /* what an earlier (failed) run left would fail the "nothing created"
     * checks: this test's own names only */
    char clean[4096];
    snprintf(clean, sizeof clean,
             "if [ -d '%s' ]; then cd '%s' && rm -rf cwd help_out help.json help.npy a_file bench_qp.json; fi", work,
             work);
    CHECK(system(clean) == 0, "cannot clean %s", work);
    mkdirs(work);
    snprintf(cwd_dir, sizeof cwd_dir, "%s/cwd", work);
    mkdirs(cwd_dir);
    CHECK(entries_in(cwd_dir) == 0, "%s is not empty (left from an earlier run?)", cwd_dir);
    test_help();
    test_help_before_files();
    test_sources_listed();
    test_helps_accepted();
    test_messages();
    test_selection();
    for (int k = 0; k < CASE_COUNT; ++k) free(help_text[k]);
    return tu_finish("test_cli_help");
}
