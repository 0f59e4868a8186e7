/* The MILP solver backends behind dopt_milp_solve (private). Each takes a
 * checked model and checked options (opt never NULL) and fills res (status,
 * has_solution, objective, bound, seconds, nodes, x when res->x is given,
 * has_ray, solver_status; milp_solve sets res->solver and res->gap around
 * them); a non-OK return is a usage error (message in err). Each may run on
 * any thread: the HiGHS and exact backends at once, Cbc serialized inside. */
#ifndef DOPT_MILP_BACKEND_H
#define DOPT_MILP_BACKEND_H

#include "dopt.h"

dopt_status milp_solve_exact(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                             size_t errlen);
dopt_status milp_solve_cbc(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                           size_t errlen);
dopt_status milp_solve_highs(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                             size_t errlen);
/* why the exact solver cannot take p ("" when it can) */
const char *milp_exact_unsuitable(const dopt_milp *p, const dopt_milp_options *opt);
double milp_wall_seconds(void);
/* AUTO resolved: HiGHS when built in, else Cbc when built in, else the exact solver */
dopt_milp_solver milp_resolve_solver(dopt_milp_solver s);

#define MILP_NO_HIGHS_MESSAGE \
    "this dopt was built without HiGHS (run scripts/ensure-highs.sh, or install HiGHS, and rebuild)"

#endif
