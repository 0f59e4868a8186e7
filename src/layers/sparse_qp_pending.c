/* PLACEHOLDER until the sparse QP layer (branch s5-sparse) is merged: the
 * entry points of dopt_sparse_qp.h answering DOPT_ERR_UNSUPPORTED, which the
 * header allows ("a build without a sparse direct solver"), so that the CLI
 * and the Python front end that call them build and test their input
 * handling. The merge with s5-sparse deletes this file. */
#include "internal.h"
#include "dopt_sparse_qp.h"

static dopt_status pending(dopt_context *ctx)
{
    return dopt_fail(ctx, DOPT_ERR_UNSUPPORTED, "sparse qp: this build has no sparse QP layer");
}

dopt_status dopt_sparse_qp_analyze(dopt_context *ctx, const dopt_sparse_qp_pattern *pat,
                                   dopt_sparse_qp_structure **out)
{
    (void)pat;
    if (out) *out = NULL;
    return ctx ? pending(ctx) : DOPT_ERR_INVALID_ARGUMENT;
}

void dopt_sparse_qp_structure_destroy(dopt_sparse_qp_structure *s) { (void)s; }

dopt_status dopt_sparse_qp_solve(dopt_context *ctx, const dopt_sparse_qp_structure *structure,
                                 const dopt_sparse_qp_values *values, const dopt_qp_options *opt,
                                 dopt_qp_solution *sol, dopt_sparse_qp_tape **tape)
{
    (void)structure, (void)values, (void)opt, (void)sol, (void)tape;
    return ctx ? pending(ctx) : DOPT_ERR_INVALID_ARGUMENT;
}

dopt_status dopt_sparse_qp_backward(dopt_context *ctx, const dopt_sparse_qp_tape *tape, const dopt_qp_grad_in *gin,
                                    dopt_qp_grad_out *gout)
{
    (void)tape, (void)gin, (void)gout;
    return ctx ? pending(ctx) : DOPT_ERR_INVALID_ARGUMENT;
}

void dopt_sparse_qp_tape_destroy(dopt_sparse_qp_tape *tape) { (void)tape; }
