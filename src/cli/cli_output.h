/* Output paths checked before the work that produces them: a command that
 * runs for minutes must not fail only when it writes (issue 17). Header
 * only, for every command that writes files. POSIX (stat, access). */
#ifndef DOPT_CLI_OUTPUT_H
#define DOPT_CLI_OUTPUT_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* NULL when `dir` is an existing directory we may create files in, else why not */
static inline const char *cli_dir_problem(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0) return strerror(errno);
    if (!S_ISDIR(st.st_mode)) return "not a directory";
    if (access(dir, W_OK | X_OK) != 0) return strerror(errno);
    return NULL;
}

/* 1 when files can be created in `dir`; else 0, reported as
 * "dopt CMD: cannot write WHAT DIR: why". */
static inline int cli_dir_writable(const char *cmd, const char *what, const char *dir)
{
    const char *why = cli_dir_problem(dir);
    if (why) fprintf(stderr, "dopt %s: cannot write %s %s: %s\n", cmd, what, dir, why);
    return !why;
}

/* 1 when a file at `path` can be written (created in an existing, writable
 * directory, or an existing writable non-directory); else 0, reported.
 * Nothing is created. */
static inline int cli_file_writable(const char *cmd, const char *what, const char *path)
{
    struct stat st;
    if (!*path) return fprintf(stderr, "dopt %s: %s is an empty path\n", cmd, what), 0;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return fprintf(stderr, "dopt %s: cannot write %s %s: it is a directory\n", cmd, what, path), 0;
        if (access(path, W_OK) != 0)
            return fprintf(stderr, "dopt %s: cannot write %s %s: %s\n", cmd, what, path, strerror(errno)), 0;
        return 1;
    }
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    const char *why = cli_dir_problem(dir);
    if (why) fprintf(stderr, "dopt %s: cannot write %s %s: directory %s: %s\n", cmd, what, path, dir, why);
    return !why;
}

#endif
