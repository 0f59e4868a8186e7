/* milp_run_in_child: solver work in a forked child, killed at a deadline.
 * milp_child.h says what the work may do; docs/MILP.md what it guarantees. */
#define _POSIX_C_SOURCE 200809L /* fork, kill, waitpid, poll */
#include "milp_child.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include "milp_backend.h"

/* How often the parent looks at the stop flag and at the child's state
 * while the pipe is quiet: the portfolio's other solver waits at most about
 * this long for the loser to be stopped. */
enum { POLL_MS = 20 };

struct milp_child_channel {
    int fd;     /* the pipe's write end; -1 when the work runs in the caller's process */
    char *out;  /* in-process: where records go */
    size_t rec_len;
    int records;
};

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return 0;
        buf += w, len -= (size_t)w;
    }
    return 1;
}

void milp_child_send(milp_child_channel *ch, const void *record)
{
    if (ch->fd < 0) memcpy(ch->out, record, ch->rec_len);
    else if (!write_all(ch->fd, record, ch->rec_len)) _exit(1); /* the parent stopped listening */
    ch->records++;
}

int milp_child_separate(const milp_child_channel *ch) { return ch->fd >= 0; }

/* The child's side: never returns. */
static void child_main(int fd, pid_t parent, milp_child_work work, void *arg, size_t rec_len, int quiet)
{
#if defined(__linux__)
    /* a parent that dies (killed, crashed) takes its solver with it */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(3); /* it died before prctl took effect */
#else
    (void)parent;
#endif
    signal(SIGPIPE, SIG_DFL);
    if (quiet) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, STDOUT_FILENO), close(devnull);
    } else {
        setvbuf(stdout, NULL, _IOLBF, 0); /* a killed child's log is not lost in its buffer */
    }
    milp_child_channel ch = {fd, NULL, rec_len, 0};
    work(arg, &ch);
    if (!quiet) fflush(stdout);
    /* _exit: no atexit handlers, no destructors, no flush of the stdio
     * buffers copied from the parent (their text is the parent's) */
    _exit(0);
}

/* Reads what the pipe holds without blocking, keeping the last complete
 * record in out (partial ones in part, *got bytes of it). 0 on end of file
 * or error. */
static int drain(int fd, char *out, char *part, size_t rec_len, size_t *got, int *records, int *final)
{
    for (;;) {
        ssize_t r = read(fd, part + *got, rec_len - *got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        *got += (size_t)r;
        if (*got == rec_len) {
            memcpy(out, part, rec_len);
            *got = 0, ++*records;
            milp_child_record head;
            memcpy(&head, out, sizeof head);
            if ((*final = head.final != 0)) return 1;
        }
    }
}

milp_child_outcome milp_run_in_child(milp_child_work work, void *arg, void *out, size_t rec_len, double kill_at,
                                     const atomic_int *stop, int quiet, pthread_mutex_t *fallback_lock, int *records)
{
    *records = 0;
    int fds[2] = {-1, -1};
    char *part = malloc(rec_len);
    pid_t pid = -1;
    /* A child only where it can be killed (a deadline or a stop): a child
     * that deadlocks on a lock another thread held at the fork (seen with
     * AddressSanitizer's allocator) would otherwise hang the call for ever */
    int killable = isfinite(kill_at) || stop;
    if (part && killable && pipe(fds) == 0) {
        if (!quiet) fflush(stdout);
        pid_t parent = getpid();
        pid = fork();
        if (pid == 0) {
            close(fds[0]);
            child_main(fds[1], parent, work, arg, rec_len, quiet);
        }
        if (pid < 0) close(fds[0]), close(fds[1]);
    }
    if (pid < 0) { /* no child: here, one at a time when the solver needs it */
        free(part);
        milp_child_channel ch = {-1, out, rec_len, 0};
        if (fallback_lock) pthread_mutex_lock(fallback_lock);
        work(arg, &ch);
        if (fallback_lock) pthread_mutex_unlock(fallback_lock);
        *records = ch.records;
        milp_child_record head = {0};
        if (ch.records) memcpy(&head, out, sizeof head);
        return head.final ? MILP_CHILD_DONE : MILP_CHILD_FAILED;
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    /* Another thread's child forked meanwhile may hold a copy of this pipe's
     * write end, so the end of file may come late: the child's exit is
     * watched with waitpid as well. */
    size_t got = 0;
    int exited = 0, open_pipe = 1, final = 0;
    milp_child_outcome outcome = MILP_CHILD_FAILED;
    for (;;) {
        if (open_pipe) open_pipe = drain(fds[0], out, part, rec_len, &got, records, &final);
        if (final) {
            outcome = MILP_CHILD_DONE;
            break;
        }
        if (exited || !open_pipe) break; /* gone without its final record */
        double now = milp_wall_seconds();
        if (now >= kill_at || (stop && atomic_load(stop))) {
            outcome = MILP_CHILD_KILLED;
            break;
        }
        int status;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid || (w < 0 && errno == ECHILD)) { /* read what it left, then decide */
            exited = 1;
            continue;
        }
        double wait_ms = fmin((kill_at - now) * 1e3 + 1, POLL_MS);
        struct pollfd pf = {fds[0], POLLIN, 0};
        poll(&pf, 1, wait_ms < 1 ? 1 : (int)wait_ms);
    }
    close(fds[0]);
    free(part);
    if (!exited) {
        kill(pid, SIGKILL); /* still running (killed), or about to exit after its answer */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    return outcome;
}

_Static_assert(sizeof(((milp_child_answer *)0)->solver_status) == DOPT_MILP_STATUS_TEXT,
               "milp_child_answer.solver_status holds dopt_milp_result's");

void milp_child_answer_pack(milp_child_answer *a, const dopt_milp_result *r)
{
    a->status = r->status, a->has_solution = r->has_solution, a->has_ray = r->has_ray;
    a->objective = r->objective, a->bound = r->bound, a->nodes = r->nodes;
    memcpy(a->solver_status, r->solver_status, sizeof a->solver_status);
}

void milp_child_answer_unpack(const milp_child_answer *a, const double *x_and_ray, size_t n, double *ray,
                              dopt_milp_result *res)
{
    res->status = (dopt_instance_status)a->status, res->has_solution = a->has_solution, res->has_ray = a->has_ray;
    res->objective = a->objective, res->bound = a->bound, res->nodes = a->nodes;
    memcpy(res->solver_status, a->solver_status, sizeof res->solver_status);
    res->solver_status[sizeof res->solver_status - 1] = 0;
    if (res->has_solution && res->x) memcpy(res->x, x_and_ray, n * 8);
    if (res->has_ray && ray) memcpy(ray, x_and_ray + n, n * 8);
}
