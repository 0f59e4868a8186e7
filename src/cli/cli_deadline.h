/* The command's own deadline: a watchdog thread that ends a `dopt milp
 * solve` whose --time-limit has passed by more than the library's own
 * overrun (reading a huge file, a solver step that does not look at the
 * clock). It prints the command's time-limit
 * result and exits 0, as the command would have. docs/MILP.md. */
#ifndef DOPT_CLI_DEADLINE_H
#define DOPT_CLI_DEADLINE_H

/* prints the result of a command stopped at its deadline (on the watchdog's thread) */
typedef void (*cli_deadline_report)(void *user);

/* Starts the watchdog: at `at` (cli_now's clock), unless cli_deadline_claim
 * came first, it calls report(user), flushes stdout and ends the process
 * with exit status 0 (_exit: the main thread may be inside a solver).
 * Returns 0 when no thread could be started (then nothing watches). */
int cli_deadline_start(double at, cli_deadline_report report, void *user);

/* The main thread's claim to print its own result: returns 1 when it may
 * (the watchdog will not fire any more); when the watchdog is printing, it
 * does not return (the watchdog ends the process). */
int cli_deadline_claim(void);

#endif
