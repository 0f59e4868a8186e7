/* Built without HiGHS: the backend reports itself absent. */
#include "milp_backend.h"
#include "milp_internal.h"

int dopt_milp_have_highs(void) { return 0; }

dopt_status milp_solve_highs(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                             size_t errlen)
{
    return milp_solve_highs_stoppable(p, opt, NULL, res, err, errlen);
}

dopt_status milp_solve_highs_stoppable(const dopt_milp *p, const dopt_milp_options *opt, const atomic_int *stop,
                                       dopt_milp_result *res, char *err, size_t errlen)
{
    (void)p, (void)opt, (void)stop, (void)res;
    return milp_error(err, errlen, DOPT_ERR_UNSUPPORTED, "%s", MILP_NO_HIGHS_MESSAGE);
}
