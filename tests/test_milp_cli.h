/* The CLI contract of `dopt gen` and `dopt milp` (included by test_cli.c):
 * file names, determinism, the solve output (text and JSON), exit codes,
 * and malformed files named with their line. */
#ifndef DOPT_TEST_MILP_CLI_H
#define DOPT_TEST_MILP_CLI_H

static int file_bytes(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    *out = malloc((size_t)n + 1);
    *len = fread(*out, 1, (size_t)n, f);
    fclose(f);
    return 1;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_milp_cli(void)
{
    char dir[1024], args[8192], path[2048];
    snprintf(dir, sizeof dir, "%s/gen", work);
    /* dopt gen: every family, file names FAMILY_SIZE_K.mps, readable, same bytes for the same seed */
    static const char *fam[7] = {"sc", "ca", "cfl", "mis", "rc", "wsc", "knapsack"};
    for (int f = 0; f < 7; ++f) {
        snprintf(args, sizeof args, "gen %s --size easy --count 2 --seed 5 '%s' --quiet %s", fam[f], dir,
                 f == 2 ? "--customers 20 --facilities 10" : "");
        CHECK(run(args) == 0, "dopt gen %s: %s", fam[f], output_of("stderr"));
        for (int k = 0; k < 2; ++k) {
            snprintf(path, sizeof path, "%s/%s_easy_%04d.mps", dir, fam[f], k);
            dopt_milp *p = NULL;
            CHECK(dopt_mps_read(tu_ctx, path, DOPT_MPS_AUTO, &p) == DOPT_OK, "%s: %s", path, dopt_context_last_error(tu_ctx));
            dopt_milp_free(p);
        }
    }
    snprintf(path, sizeof path, "%s/sc_easy_0001.mps", dir);
    char *first = NULL, *second = NULL;
    size_t l1 = 0, l2 = 0;
    int have = file_bytes(path, &first, &l1);
    snprintf(args, sizeof args, "gen sc --size easy --count 2 --seed 5 '%s' --quiet", dir);
    CHECK(run(args) == 0 && have && file_bytes(path, &second, &l2) && l1 == l2 && !memcmp(first, second, l1),
          "dopt gen is deterministic for a seed");
    free(first), free(second);
    snprintf(args, sizeof args, "gen sc --size huge --count 1 --seed 1 '%s'", dir);
    CHECK(run(args) == 2 && stderr_mentions("--size"), "bad size is a usage error");
    snprintf(args, sizeof args, "gen lp --size easy --count 1 --seed 1 '%s'", dir);
    CHECK(run(args) == 2 && stderr_mentions("unknown family"), "bad family is a usage error");
    CHECK(run("gen sc --size easy --count 1 --seed 1") == 2, "missing OUTDIR is a usage error");

    /* dopt milp solve: text and JSON, on a known knapsack (optimum 21) */
    snprintf(args, sizeof args, "milp solve '%s/mps/knapsack_free.mps' --json", DOPT_TEST_DATA);
    CHECK(run(args) == 0, "milp solve --json: %s", output_of("stderr"));
    const char *out = output_of("stdout");
    CHECK(!strncmp(out, "{\"status\": \"optimal\", \"objective\": 21, \"time_s\": ", 49) && strchr(out, '}'),
          "JSON: %s", out);
    snprintf(args, sizeof args, "milp solve '%s/mps/knapsack_free.mps' --solver exact --time-limit 5", DOPT_TEST_DATA);
    CHECK(run(args) == 0, "milp solve --solver exact");
    out = output_of("stdout");
    CHECK(strstr(out, "status: optimal\n") && strstr(out, "objective: 21\n") && strstr(out, "time_s: "), "text: %s",
          out);
    /* infeasible: objective null */
    snprintf(path, sizeof path, "%s/infeasible.mps", work);
    write_text(path, "NAME inf\nROWS\n N obj\n G r\nCOLUMNS\n MARKER 'MARKER' 'INTORG'\n x obj 1 r 1\n"
                     " MARKER 'MARKER' 'INTEND'\nRHS\n RHS r 2\nBOUNDS\n BV B x\nENDATA\n");
    snprintf(args, sizeof args, "milp solve '%s' --json", path);
    CHECK(run(args) == 0 && strstr(output_of("stdout"), "\"status\": \"infeasible\", \"objective\": null"),
          "infeasible JSON: %s", output_of("stdout"));
    /* malformed: non-zero exit, the line named */
    snprintf(path, sizeof path, "%s/broken.mps", work);
    write_text(path, "NAME b\nROWS\n N obj\n L r\nCOLUMNS\n x obj 1 q 2\nENDATA\n");
    snprintf(args, sizeof args, "milp solve '%s' --json", path);
    CHECK(run(args) == 1 && stderr_mentions("line 6") && stderr_mentions("unknown row 'q'"), "malformed: %s",
          output_of("stderr"));
    snprintf(args, sizeof args, "milp solve '%s/none.mps'", work);
    CHECK(run(args) == 1 && stderr_mentions("cannot open"), "missing file");
    snprintf(args, sizeof args, "milp solve '%s/mps/knapsack_free.mps' --time-limit soon", DOPT_TEST_DATA);
    CHECK(run(args) == 2, "bad --time-limit is a usage error");
    if (!dopt_milp_have_cbc()) {
        snprintf(args, sizeof args, "milp solve '%s/mps/knapsack_free.mps' --solver cbc", DOPT_TEST_DATA);
        CHECK(run(args) == 1 && stderr_mentions("without COIN-OR Cbc"), "Cbc absent: clear message");
    }
    /* search: two candidates (K, n); the best reported */
    double pred[8] = {0.9, 0.1, 0.2, 0.3, 0.1, 0.9, 0.1, 0.8};
    int64_t shape[2] = {2, 4};
    put(work, "pred", 2, shape, pred, 0);
    snprintf(args, sizeof args, "milp search '%s/mps/knapsack_free.mps' --pred '%s/pred.npy' --delta 0 --json",
             DOPT_TEST_DATA, work);
    CHECK(run(args) == 0, "milp search: %s", output_of("stderr"));
    out = output_of("stdout");
    /* candidate 0 rounds to {a} (10), candidate 1 to {b, d} (21, the optimum) */
    CHECK(strstr(out, "\"objective\": 21") && strstr(out, "\"candidates\": 2") && strstr(out, "\"best\": 1"),
          "search JSON: %s", out);
    /* --workers: the context's threads run the candidates; same answer */
    snprintf(args, sizeof args, "milp search '%s/mps/knapsack_free.mps' --pred '%s/pred.npy' --delta 0 --workers 2 --json",
             DOPT_TEST_DATA, work);
    CHECK(run(args) == 0 && strstr(output_of("stdout"), "\"objective\": 21") && strstr(output_of("stdout"), "\"best\": 1"),
          "milp search --workers 2: %s", output_of("stdout"));
    /* a prediction file whose header claims far more than it holds: named, "truncated" */
    snprintf(path, sizeof path, "%s/pred_huge.npy", work);
    {
        static const char dict[] = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }";
        unsigned char head[128];
        size_t dl = sizeof dict - 1, hl = 128 - 10;
        memset(head, ' ', sizeof head);
        memcpy(head, "\x93NUMPY\x01\x00", 8);
        head[8] = (unsigned char)hl, head[9] = 0;
        memcpy(head + 10, dict, dl);
        head[127] = '\n';
        FILE *f = fopen(path, "wb");
        double zeros[16] = {0};
        if (f) fwrite(head, 1, sizeof head, f), fwrite(zeros, 1, sizeof zeros, f), fclose(f);
    }
    snprintf(args, sizeof args, "milp search '%s/mps/knapsack_free.mps' --pred '%s'", DOPT_TEST_DATA, path);
    CHECK(run(args) == 1 && stderr_mentions("pred_huge.npy") && stderr_mentions("truncated"),
          "huge claim in a small .npy: %s", output_of("stderr"));
    /* several files, predictions by stem from --pred-dir: one JSON line each; delta = n gives the optimum */
    char pdir[1024], f0[1100], f1[1100], obj0[64] = "", obj1[64] = "";
    snprintf(pdir, sizeof pdir, "%s/preds", work);
    mkdirs(pdir);
    double half[10] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
    int64_t ten[1] = {10};
    put(pdir, "knapsack_easy_0000", 1, ten, half, 0), put(pdir, "knapsack_easy_0001", 1, ten, half, 0);
    snprintf(f0, sizeof f0, "%s/knapsack_easy_0000.mps", dir);
    snprintf(f1, sizeof f1, "%s/knapsack_easy_0001.mps", dir);
    char *objs[2] = {obj0, obj1};
    const char *files[2] = {f0, f1};
    for (int k = 0; k < 2; ++k) { /* the full optima, as "objective": value */
        snprintf(args, sizeof args, "milp solve '%s' --json", files[k]);
        CHECK(run(args) == 0, "solve %s", files[k]);
        const char *o = strstr(output_of("stdout"), "\"objective\": ");
        if (o) snprintf(objs[k], 64, "%.*s", (int)strcspn(o, ","), o);
    }
    snprintf(args, sizeof args, "milp search '%s' '%s' --pred-dir '%s' --delta 10 --json", f0, f1, pdir);
    CHECK(run(args) == 0, "search over two files: %s", output_of("stderr"));
    out = output_of("stdout");
    const char *line2 = strchr(out, '\n');
    CHECK(line2 && strstr(out, f0) && strstr(line2, f1) && strstr(out, obj0) && strstr(line2, obj1) && obj0[0],
          "two JSON lines with the files' optima (%s, %s): %s", obj0, obj1, out);
    snprintf(args, sizeof args, "milp search '%s' '%s' --pred '%s/pred.npy'", f0, f1, work);
    CHECK(run(args) == 2 && stderr_mentions("--pred-dir"), "several files need --pred-dir");
    int64_t bad_shape[1] = {3};
    put(work, "pred", 1, bad_shape, pred, 0);
    snprintf(args, sizeof args, "milp search '%s/mps/knapsack_free.mps' --pred '%s/pred.npy'", DOPT_TEST_DATA, work);
    CHECK(run(args) == 1 && stderr_mentions("shape"), "prediction of the wrong length");
}

#endif
