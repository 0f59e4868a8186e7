/* The precision-suffixed cuBLAS / cuSOLVER routines under one name per
 * operation, so per-precision CUDA code (instantiated through
 * src/cpu/both_precisions.h) writes DFN(dopt_cublas_gemm)(...) and gets
 * cublasDgemm for double, cublasSgemm for float: DFN pastes the suffix, the
 * result is expanded again by the macros below. */
#ifndef DOPT_CUDA_BLAS_H
#define DOPT_CUDA_BLAS_H

#include <cublas_v2.h>
#include <cusolverDn.h>

/* C (+)= op(A) op(B) for a batch of pointer triples */
#define dopt_cublas_gemm_batched_d cublasDgemmBatched
#define dopt_cublas_gemm_batched_f cublasSgemmBatched
/* Cholesky of a batch of matrices, info per matrix (0 = factored) */
#define dopt_cusolver_potrf_batched_d cusolverDnDpotrfBatched
#define dopt_cusolver_potrf_batched_f cusolverDnSpotrfBatched
/* C (+)= op(A) op(B) */
#define dopt_cublas_gemm_d cublasDgemm
#define dopt_cublas_gemm_f cublasSgemm
/* y (+)= op(A) x */
#define dopt_cublas_gemv_d cublasDgemv
#define dopt_cublas_gemv_f cublasSgemv

#endif
