/* `dopt qp solve DIR` with sparse matrices: any of DIR/Q.npz, G.npz, A.npz
 * (scipy.sparse.save_npz's CSR, one pattern and one set of values for the
 * whole batch) sends the whole problem through the sparse layer
 * (dopt_sparse_qp.h). Dense .npy matrices next to them become CSR patterns
 * too (the union of the nonzeros over the batch, values per instance);
 * vectors stay .npy. Outputs as the dense command (cli_qp_output.h), plus
 * the gradients of the .npz inputs as dQ.npz, dG.npz, dA.npz on their
 * patterns. */
#ifndef DOPT_CLI_QP_SPARSE_H
#define DOPT_CLI_QP_SPARSE_H

#include "cli.h"

/* 1 when DIR holds Q.npz, G.npz or A.npz, 0 when none; -1 (reported, naming
 * both files) when a matrix is given both as .npz and as .npy. */
int cli_qp_sparse_inputs(const char *dir);

/* The solve (and backward with dxf) of the sparse inputs in dir; the
 * arguments of `dopt qp solve`, checked. Returns the exit code. */
int cli_qp_sparse(const char *dir, const char *outdir, const char *dxf, const char *dlamf, const char *dnuf,
                  dopt_backend backend, int threads, int max_iter, double tol, int quiet);

#endif
