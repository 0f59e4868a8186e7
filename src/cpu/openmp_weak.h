/* The OpenMP runtime's max-active-levels, reached through weak references:
 * dopt links no OpenMP runtime, but CHOLMOD may bring one into the process
 * (src/cpu/sparse_qp_cpu.c turns its teams off around a factorization).
 * DOPT_HAVE_OMP_CONTROL is 0 where no runtime is loaded or the compiler has
 * no weak symbols; the calls are then never made. */
#ifndef DOPT_OPENMP_WEAK_H
#define DOPT_OPENMP_WEAK_H

#if defined(__GNUC__)
extern int omp_get_max_active_levels(void) __attribute__((weak));
extern void omp_set_max_active_levels(int levels) __attribute__((weak));
#define DOPT_HAVE_OMP_CONTROL (omp_get_max_active_levels && omp_set_max_active_levels)
#else
#define DOPT_HAVE_OMP_CONTROL 0
#define omp_get_max_active_levels() 0
#define omp_set_max_active_levels(levels) ((void)(levels))
#endif

#endif
