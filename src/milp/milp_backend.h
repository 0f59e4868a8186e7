/* The MILP solver backends behind dopt_milp_solve (private). Both take a
 * checked model and fill res; a non-OK return is a usage error (message in err). */
#ifndef DOPT_MILP_BACKEND_H
#define DOPT_MILP_BACKEND_H

#include "dopt.h"

dopt_status milp_solve_exact(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                             size_t errlen);
dopt_status milp_solve_cbc(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                           size_t errlen);
/* why the exact solver cannot take p ("" when it can) */
const char *milp_exact_unsuitable(const dopt_milp *p, const dopt_milp_options *opt);
double milp_wall_seconds(void);
/* AUTO resolved: Cbc when built in, else the exact solver */
dopt_milp_solver milp_resolve_solver(dopt_milp_solver s);

#endif
