/* Knobs of the QP layer's layouts that both backends read (qp_layout.h). */
#include "qp_layout.h"

#include <stdlib.h>

int64_t dopt_qp_warp_max_threads(void)
{
    const char *env = getenv("DOPT_QP_WARP_THREADS");
    if (env && *env) {
        char *end = NULL;
        long long v = strtoll(env, &end, 10);
        if (end && *end == '\0' && v > 0) return (int64_t)v;
    }
    return DOPT_QP_WARP_MAX_THREADS;
}
