/* The CPU QP backends' tapes (qp_cpu_tape.h). */
#include <string.h>

#include "qp_cpu_tape.h"

dopt_status dopt_qp_cpu_tape_keep_solution(dopt_context *ctx, const char *who, dopt_qp_tape *tape,
                                           const dopt_qp_solution *sol, size_t es, size_t nx, size_t nl, size_t nn,
                                           int64_t batch)
{
    if (!dopt_host_reserve(&tape->x, &tape->cap_x, es * nx) || !dopt_host_reserve(&tape->lam, &tape->cap_lam, es * nl) ||
        !dopt_host_reserve(&tape->nu, &tape->cap_nu, es * nn) ||
        !dopt_host_reserve((void **)&tape->status, &tape->cap_status, sizeof(int32_t) * (size_t)batch))
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "%s: out of memory for the tape", who);
    memcpy(tape->x, sol->x, es * nx);
    if (nl) memcpy(tape->lam, sol->lam, es * nl);
    if (nn) memcpy(tape->nu, sol->nu, es * nn);
    memcpy(tape->status, sol->status, sizeof(int32_t) * (size_t)batch);
    return DOPT_OK;
}
