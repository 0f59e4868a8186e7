/* The command's deadline watchdog (cli_deadline.h). */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include "cli_deadline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static atomic_int claimed; /* 1: someone prints the result (the main thread or the watchdog) */
static double deadline;
static cli_deadline_report reporter;
static void *reporter_user;

static void *watch(void *arg)
{
    (void)arg;
    for (;;) {
        if (atomic_load(&claimed)) return NULL; /* the command finished in time */
        double left = deadline - cli_now();
        if (left <= 0) break;
        /* short naps: the thread ends soon after the main thread's claim */
        double nap = left < 0.05 ? left : 0.05;
        struct timespec ts = {0, (long)(nap * 1e9)};
        nanosleep(&ts, NULL);
    }
    if (atomic_exchange(&claimed, 1)) return NULL;
    reporter(reporter_user);
    fflush(stdout);
    fflush(stderr);
    _exit(0);
}

int cli_deadline_start(double at, cli_deadline_report report, void *user)
{
    deadline = at, reporter = report, reporter_user = user;
    pthread_t t;
    if (pthread_create(&t, NULL, watch, NULL) != 0) return 0;
    pthread_detach(t);
    return 1;
}

int cli_deadline_claim(void)
{
    if (!atomic_exchange(&claimed, 1)) return 1;
    /* the watchdog won: it prints and ends the process; wait for that */
    for (;;) pause();
}
