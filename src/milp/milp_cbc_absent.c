/* Built without COIN-OR Cbc: the backend reports itself absent. */
#include "milp_backend.h"
#include "milp_internal.h"

int dopt_milp_have_cbc(void) { return 0; }

dopt_status milp_solve_cbc(const dopt_milp *p, const dopt_milp_options *opt, dopt_milp_result *res, char *err,
                           size_t errlen)
{
    return milp_solve_cbc_stoppable(p, opt, NULL, res, err, errlen);
}

dopt_status milp_solve_cbc_stoppable(const dopt_milp *p, const dopt_milp_options *opt, const atomic_int *stop,
                                     dopt_milp_result *res, char *err, size_t errlen)
{
    (void)p, (void)opt, (void)stop, (void)res;
    return milp_error(err, errlen, DOPT_ERR_UNSUPPORTED,
                      "this dopt was built without COIN-OR Cbc (install coinor-libcbc-dev and rebuild)");
}
