/* The MILP solver backends behind dopt_milp_solve (private). Each takes a
 * checked model and checked options (opt never NULL) and fills res (status,
 * has_solution, objective, bound, seconds, nodes, x when res->x is given,
 * has_ray, solver_status; milp_solve sets res->solver and res->gap around
 * them); a non-OK return is a usage error (message in err). Each may run on
 * any thread: the HiGHS and exact backends at once, Cbc serialized inside. */
#ifndef DOPT_MILP_BACKEND_H
#define DOPT_MILP_BACKEND_H

#include <stdatomic.h>

#include "dopt.h"

/* How long a solver process may run past its deadline before it is killed:
 * Cbc stops at its next look at the clock after its own limit (it is told
 * to stop up to 0.5 s early, and its root can still be a
 * second late on a loaded machine: a feasibility pump pass); one that has
 * not stopped by this grace is killed. With the parent's own wake-up and
 * clean-up this keeps a call within its limit + 1 s. */
#define MILP_KILL_GRACE 0.75

dopt_status milp_solve_exact(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                             size_t errlen);
dopt_status milp_solve_cbc(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                           size_t errlen);
/* milp_solve_cbc that also stops (status time_limit; incumbent lost) soon
 * after *stop becomes nonzero, from another thread; stop may be NULL. */
dopt_status milp_solve_cbc_stoppable(const dopt_milp *p, const dopt_milp_options *opt, const atomic_int *stop,
                                     dopt_milp_result *res, char *err, size_t errlen);
dopt_status milp_solve_highs(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                             size_t errlen);
/* milp_solve_highs that also stops (HiGHS's "interrupted", status
 * time_limit, its incumbent and bound kept) soon after *stop becomes
 * nonzero, from another thread; stop may be NULL. */
dopt_status milp_solve_highs_stoppable(const dopt_milp *p, const dopt_milp_options *opt, const atomic_int *stop,
                                       dopt_milp_result *res, char *err, size_t errlen);
/* milp_solve_highs_stoppable, under a time limit in a child process killed
 * MILP_KILL_GRACE after the deadline (milp_highs_child.c); without a limit
 * in this process */
dopt_status milp_solve_highs_guarded(const dopt_milp *p, const dopt_milp_options *opt, const atomic_int *stop,
                                     dopt_milp_result *res, char *err, size_t errlen);
/* HiGHS and Cbc side by side (milp_portfolio.c) */
dopt_status milp_solve_portfolio(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                                 size_t errlen);
/* why the exact solver cannot take p ("" when it can) */
const char *milp_exact_unsuitable(const dopt_milp *p, const dopt_milp_options *opt);
double milp_wall_seconds(void);
/* AUTO resolved: HiGHS when built in, else Cbc when built in, else the exact solver */
dopt_milp_solver milp_resolve_solver(dopt_milp_solver s);

#define MILP_NO_HIGHS_MESSAGE \
    "this dopt was built without HiGHS (run scripts/ensure-highs.sh, or install HiGHS, and rebuild)"

#endif
