/* Random QPs with a known optimal primal-dual solution, built by choosing
 * (x*, lam*, nu*) and an active set first, then the data that makes them
 * satisfy the KKT conditions with strict complementarity. Used by the tests
 * (as the independent reference), the benchmark and the demo. */
#ifndef DOPT_QP_GENERATE_H
#define DOPT_QP_GENERATE_H

#include <stdint.h>

#include "splitmix.h" /* dopt_gen_uniform, dopt_gen_normal */

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    DOPT_GEN_STRICTLY_CONVEX = 0, /* Q = M'M + I/cond */
    DOPT_GEN_PSD = 1,             /* Q = M'M with rank n/2 */
    DOPT_GEN_LP = 2               /* Q = 0; exactly n-k active rows (needs m >= n-k) */
} dopt_gen_kind;

/* Writes instance data (all float64, batch-major) and the known solution.
 * Any output pointer may be NULL. Deterministic in (seed, instance index). */
void dopt_qp_generate(int64_t batch, int n, int m, int k, dopt_gen_kind kind, double cond, uint64_t seed,
                      double *Q, double *p, double *G, double *h, double *A, double *b, double *xstar,
                      double *lamstar, double *nustar);


#ifdef __cplusplus
}
#endif
#endif
