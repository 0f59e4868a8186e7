/* The QP benchmarks' cost model, shared by `dopt bench qp` and
 * `dopt bench ragged` (bench/bench_qp.c). */
#ifndef DOPT_BENCH_QP_MODEL_H
#define DOPT_BENCH_QP_MODEL_H

/* Flops of one factorization of the interior point's KKT system (form
 * H = Q + G'WG + rho A'A, Cholesky, Schur complement): the work of one
 * iteration, up to lower-order terms. */
double bench_qp_factor_flops(int n, int m, int k);
/* Measured single-core rate of that factorization (GFLOP/s) at m = n,
 * k = n/4, over at least min_time seconds: the attainable rate of this
 * kernel on this machine, the reference for a batch's achieved rate. */
double bench_qp_factor_gflops(int n, double min_time);

#endif
