/* splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014): a sequential generator for building instances
 * (the MILP generators, the QP test fixtures). Header-only so the library's
 * generators and the test-support fixtures draw the same numbers without the
 * library exporting an RNG. */
#ifndef DOPT_SPLITMIX_H
#define DOPT_SPLITMIX_H

#include "dopt_kernel_common.h"

DOPT_KFN uint64_t dopt_splitmix_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in [0, 1) with 53 random bits */
DOPT_KFN double dopt_gen_uniform(uint64_t *s)
{
    return (double)(dopt_splitmix_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* standard normal (Box-Muller, one of the pair) */
DOPT_KFN double dopt_gen_normal(uint64_t *s)
{
    double u = dopt_gen_uniform(s), v = dopt_gen_uniform(s);
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

#endif
