/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
 * 3", SC 2011): a counter-based generator. A draw is a pure function of
 * (key, counter), so CPU and GPU, and any thread count, produce the same
 * numbers. Counter words used by dopt: (instance, sample, block, stream). */
#ifndef DOPT_PHILOX_H
#define DOPT_PHILOX_H

#include "dopt_kernel_common.h"

typedef struct {
    uint32_t v[4];
} dopt_philox4;

DOPT_KFN uint32_t dopt_mulhilo32(uint32_t a, uint32_t b, uint32_t *hi)
{
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    return (uint32_t)p;
}

DOPT_KFN dopt_philox4 dopt_philox4x32_10(dopt_philox4 ctr, uint64_t seed)
{
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; ++round) {
        uint32_t hi0, hi1;
        uint32_t lo0 = dopt_mulhilo32(0xD2511F53u, ctr.v[0], &hi0);
        uint32_t lo1 = dopt_mulhilo32(0xCD9E8D57u, ctr.v[2], &hi1);
        dopt_philox4 next;
        next.v[0] = hi1 ^ ctr.v[1] ^ k0;
        next.v[1] = lo1;
        next.v[2] = hi0 ^ ctr.v[3] ^ k1;
        next.v[3] = lo0;
        ctr = next;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return ctr;
}

/* Four draws for (instance, sample, block, stream): coordinates 4*block .. 4*block+3. */
DOPT_KFN dopt_philox4 dopt_philox_draw(uint64_t seed, uint32_t instance, uint32_t sample, uint32_t block,
                                       uint32_t stream)
{
    dopt_philox4 c;
    c.v[0] = instance;
    c.v[1] = sample;
    c.v[2] = block;
    c.v[3] = stream;
    return dopt_philox4x32_10(c, seed);
}

/* (u + 1/2) / 2^32: uniform on the open interval (0, 1), never 0 or 1. */
DOPT_KFN double dopt_u01_open(uint32_t u) { return ((double)u + 0.5) * (1.0 / 4294967296.0); }

/* Four standard normals from the draw (a, b, q, stream): Box-Muller on the
 * four Philox words. Streams: 1 diffusion noise, 2 perturbed ILP costs
 * (the Bernoulli sampler uses stream 0 for uniforms). */
DOPT_KFN void dopt_normals4(uint64_t seed, uint32_t a, uint32_t b, uint32_t q, uint32_t stream, double out[4])
{
    dopt_philox4 r = dopt_philox_draw(seed, a, b, q, stream);
    for (int h = 0; h < 2; ++h) {
        double u1 = dopt_u01_open(r.v[2 * h]), u2 = dopt_u01_open(r.v[2 * h + 1]);
        double rad = sqrt(-2.0 * log(u1)), ang = 6.283185307179586 * u2;
        out[2 * h] = rad * cos(ang);
        out[2 * h + 1] = rad * sin(ang);
    }
}

#endif
