/* The dual normal equations' structure on the CPU (kernels/sparse_qp_normal.h):
 * the map from Kf's values to S's, S's pattern and CHOLMOD's supernodal
 * symbolic factor of it, built once per structure when Qs is diagonal.
 * Shared by src/cpu/sparse_qp_cpu.c and src/cpu/sparse_qp_normal_cpu.c. */
#ifndef DOPT_SPARSE_QP_NORMAL_CPU_H
#define DOPT_SPARSE_QP_NORMAL_CPU_H

#include "sparse_qp_internal.h"
#include "sparse_qp_normal.h"

#include <cholmod.h>

typedef struct {
    sqp_normal_map map;     /* points into the arrays below and the structure's kdiag */
    int64_t *sg, *sc, *scol, *srow;
    int64_t *Rcp, *Rr, *Rk, *Rdiag, *Rstk;
    int64_t *Sp, *Si, *Sdiag, *pairpos;
    int stype;              /* Sp, Si: S's upper triangle (1) or P S P''s lower one (-1) */
    cholmod_factor *LS;     /* supernodal symbolic factor of P S P' (NULL when S is empty) */
    int64_t *perm;          /* nR: S's row perm[j] is row j of P S P' (LS's own Perm is the identity) */
    double flops;           /* CHOLMOD's flop count for S's factorization */
} sqp_cpu_normal;

/* 1 when Q's pattern holds diagonal entries only (an LP's is empty): the
 * condition for the dual normal equations. */
int sqp_cpu_q_is_diagonal(const dopt_sparse_qp_structure *s);

/* Builds the map and analyses S with cc (its settings are restored).
 * Returns NULL when out of memory or when CHOLMOD's analysis fails. */
sqp_cpu_normal *sqp_cpu_normal_analyze(const dopt_sparse_qp_structure *s, cholmod_common *cc);

void sqp_cpu_normal_free(sqp_cpu_normal *nm, cholmod_common *cc);

/* A CHOLMOD view (no copy) of a symmetric matrix's upper triangle in CSC
 * with sorted rows (values NULL: the pattern). */
cholmod_sparse sqp_cpu_upper_view(int64_t ncol, int64_t *colp, int64_t *rowi, double *values);

/* A CHOLMOD view (no copy) of S with the given values (NULL: the pattern). */
cholmod_sparse sqp_cpu_normal_view(const sqp_cpu_normal *nm, double *values);

#endif
