/* CombOptNet's datasets (Paulus et al. 2021): random constraints and
 * weighted set covering (dopt_gen_instance's rc and wsc, and
 * dopt_gen_combopt_rows, which `dopt demo combopt` uses). */
#include <math.h>
#include <stdlib.h>

#include "milp_gen.h"
#include "splitmix.h"

void gen_unit_vector(uint64_t *rng, int n, double *v)
{
    double s = 0;
    for (int j = 0; j < n; ++j) v[j] = dopt_gen_normal(rng), s += v[j] * v[j];
    s = sqrt(s);
    for (int j = 0; j < n; ++j) v[j] /= s;
}

int gen_rc_rows(uint64_t *rng, int n, int m, double lo, double hi, double *A, double *b)
{
    double w = hi - lo, center = 0.5 * (lo + hi);
    double *o = malloc((size_t)n * 8), *corner = malloc((size_t)n * 8);
    if (!o || !corner) {
        free(o), free(corner);
        return 0;
    }
    for (int j = 0; j < n; ++j) corner[j] = dopt_gen_uniform(rng) < 0.5 ? lo : hi;
    for (int k = 0; k < m; ++k) {
        double *a = A + (size_t)k * n, r = 0.2 * w, ac = 0, ao = 0;
        gen_unit_vector(rng, n, a);
        for (int j = 0; j < n; ++j) o[j] = center + (dopt_gen_uniform(rng) - 0.5) * 0.5 * w;
        for (int j = 0; j < n; ++j) ac += a[j] * corner[j], ao += a[j] * o[j];
        if (ac > r + ao) { /* the corner violates the row: flip it */
            for (int j = 0; j < n; ++j) a[j] = -a[j];
            ao = -ao;
        }
        b[k] = r + ao; /* learnable-origin form: a'(y - o) <= r */
    }
    free(o), free(corner);
    return 1;
}

void gen_wsc_rows(uint64_t *rng, int n, int m, double *A, double *b)
{
    for (int s = 0; s < n; ++s) {
        int size = 1 + (int)(3 * dopt_gen_uniform(rng));
        for (int t = 0; t < size; ++t) A[(size_t)((int)(m * dopt_gen_uniform(rng))) * n + s] = -1;
    }
    for (int k = 0; k < m; ++k) {
        int covered = 0;
        for (int s = 0; s < n; ++s) covered |= A[(size_t)k * n + s] != 0;
        if (!covered) A[(size_t)k * n + (int)(n * dopt_gen_uniform(rng))] = -1;
        b[k] = -1;
    }
}
