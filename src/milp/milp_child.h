/* Running a piece of solver work in a forked child process that can be
 * killed: the one way to hold a wall-clock deadline over a solver that does
 * not look at the clock everywhere (Cbc's root: its LP, preprocessing, a cut
 * round; Clp's presolve), and to run a solver whose C interface is not
 * reentrant (Cbc 2.10) in several threads at once: each run has its own
 * process, so its own globals. docs/MILP.md, "Time limits". POSIX; private. */
#ifndef DOPT_MILP_CHILD_H
#define DOPT_MILP_CHILD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* The work sends results as records of a fixed size (the call's rec_len
 * bytes), each starting with this header; the parent keeps the last
 * complete one. final = 1 marks the work's answer; earlier records are
 * what stands if the work is killed before it gets there (say, the LP
 * relaxation's bound before the branch and bound). */
typedef struct {
    int32_t final;
} milp_child_record;

/* A solver's answer as a child sends it (the dopt_milp_result fields that
 * cross the pipe), followed in the record by x and the ray (n values each). */
typedef struct {
    int32_t status, has_solution, has_ray;
    double objective, bound;
    int64_t nodes;
    char solver_status[64]; /* DOPT_MILP_STATUS_TEXT, checked in milp_child.c */
} milp_child_answer;

struct dopt_milp_result;
/* r's fields into a. */
void milp_child_answer_pack(milp_child_answer *a, const struct dopt_milp_result *r);
/* a's fields into res, x (from x_and_ray) into res->x when a has a solution
 * and res->x is not NULL, the ray (x_and_ray + n) into ray likewise. */
void milp_child_answer_unpack(const milp_child_answer *a, const double *x_and_ray, size_t n, double *ray,
                              struct dopt_milp_result *res);

typedef struct milp_child_channel milp_child_channel;
/* Sends one record (rec_len bytes, starting with milp_child_record). */
void milp_child_send(milp_child_channel *ch, const void *record);
/* 1 when the work runs in a child process (it can be killed), 0 when it
 * runs in the caller's (no child could be made) */
int milp_child_separate(const milp_child_channel *ch);

/* The work. It runs in a child forked from a possibly multi-threaded
 * process: it may use malloc and the solver, nothing that another thread of
 * the parent might have held locked at the fork (the parent's own mutexes,
 * its thread pool). Where no child can be made it runs in the calling
 * process instead. */
typedef void (*milp_child_work)(void *arg, milp_child_channel *ch);

typedef enum {
    MILP_CHILD_DONE = 0,   /* the final record arrived */
    MILP_CHILD_KILLED = 1, /* the deadline passed or *stop was set: killed */
    MILP_CHILD_FAILED = 2  /* the child died without its final record (a crash, out of memory) */
} milp_child_outcome;

/* Runs work(arg, ch) in a child and waits for its final record until
 * kill_at (milp_wall_seconds() clock; HUGE_VAL: no deadline) or until
 * *stop becomes nonzero (stop may be NULL): then the child is killed
 * (SIGKILL) and reaped. The last complete record is in out (rec_len
 * bytes); *records counts them (0: out untouched). The child never outlives
 * the call (on Linux it is also killed if the parent process dies). quiet:
 * the child's stdout goes to /dev/null (the solver's log); otherwise stdout
 * is flushed before the fork (no buffered text printed twice).
 * When no child can be made (fork or pipe failed), work runs in this
 * process, holding `fallback_lock` when it is not NULL (for a solver that is
 * not reentrant), and the outcome is DONE or FAILED. */
milp_child_outcome milp_run_in_child(milp_child_work work, void *arg, void *out, size_t rec_len, double kill_at,
                                     const atomic_int *stop, int quiet, pthread_mutex_t *fallback_lock,
                                     int *records);

#endif
