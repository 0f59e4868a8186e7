/* Running the dopt binary from the CLI tests: arguments in, exit code,
 * stdout and stderr captured under the work directory; .npy helpers (on
 * test_util.h's context tu_ctx). */
#ifndef DOPT_TEST_CLI_UTIL_H
#define DOPT_TEST_CLI_UTIL_H

static const char *dopt_bin, *work;

static void put(const char *dir, const char *name, int ndim, const int64_t *shape, const double *data, int f32)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    size_t count = 1;
    for (int i = 0; i < ndim; ++i) count *= (size_t)shape[i];
    if (f32) {
        float *f = (float *)malloc(sizeof(float) * (count + 1));
        for (size_t i = 0; i < count; ++i) f[i] = (float)data[i];
        CHECK(dopt_npy_write(tu_ctx, path, 'f', 4, ndim, shape, f) == DOPT_OK, "%s", dopt_context_last_error(tu_ctx));
        free(f);
    } else {
        CHECK(dopt_npy_write(tu_ctx, path, 'f', 8, ndim, shape, data) == DOPT_OK, "%s", dopt_context_last_error(tu_ctx));
    }
}

static int get(const char *dir, const char *name, dopt_npy *a)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    dopt_status st = dopt_npy_read(tu_ctx, path, a);
    CHECK(st == DOPT_OK, "%s", dopt_context_last_error(tu_ctx));
    return st == DOPT_OK;
}

/* runs dopt with args; stderr into work/stderr.txt; returns exit code */
static int run(const char *args)
{
    char cmd[12288];
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s/stdout.txt' 2>'%s/stderr.txt'", dopt_bin, args, work, work);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* the text dopt wrote to stdout or stderr in the last run (static buffer) */
static const char *output_of(const char *stream)
{
    static char buf[65536];
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.txt", work, stream);
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) return buf;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

static int stderr_mentions(const char *what) { return strstr(output_of("stderr"), what) != NULL; }

static void mkdirs(const char *d)
{
    mkdir(d, 0777);
}

#endif
