/* The kernels (kernels/, compiled by gcc and nvcc without the public
 * headers' enum types) keep private copies of public enum values; the
 * library passes values across unchanged (status arrays are written by the
 * kernels and read by callers as dopt_instance_status; the ILP gradient
 * method and share bits are copied into the kernels' view). Each copy is
 * tied to its public value here, so changing one side without the other
 * fails the build. Compile-time only: this file generates no code. */
#include "ilp_backend.h" /* internal.h (dopt.h), ilp_grad.h, ilp_view.h, dopt_kernel_common.h */

#define DOPT_SAME(private_value, public_value) \
    _Static_assert((int)(private_value) == (int)(public_value), #private_value " must equal " #public_value)

/* per-instance outcomes: kernels/dopt_kernel_common.h <- dopt_core.h */
DOPT_SAME(DOPT_INST_SOLVED, DOPT_SOLVED);
DOPT_SAME(DOPT_INST_PRIMAL_INFEASIBLE, DOPT_PRIMAL_INFEASIBLE);
DOPT_SAME(DOPT_INST_DUAL_INFEASIBLE, DOPT_DUAL_INFEASIBLE);
DOPT_SAME(DOPT_INST_ITERATION_LIMIT, DOPT_ITERATION_LIMIT);
DOPT_SAME(DOPT_INST_REDUCED_ACCURACY, DOPT_SOLVED_REDUCED_ACCURACY);
DOPT_SAME(DOPT_INST_NUMERICAL, DOPT_NUMERICAL_FAILURE);
DOPT_SAME(DOPT_INST_INVALID, DOPT_INVALID_DATA);
_Static_assert((int)DOPT_INST_RUNNING < 0, "the kernels' 'still iterating' must not be a public outcome");

/* ILP backward rules: kernels/ilp_grad.h <- dopt_ilp.h (ilp_api.c copies g.method as is) */
DOPT_SAME(ILP_GRAD_COMBOPT, DOPT_ILP_COMBOPT);
DOPT_SAME(ILP_GRAD_DBB, DOPT_ILP_DBB);
DOPT_SAME(ILP_GRAD_PERTURBED, DOPT_ILP_PERTURBED);
DOPT_SAME(ILP_GRAD_IDENTITY, DOPT_ILP_IDENTITY);
_Static_assert((int)ILP_GRAD_SPO > (int)DOPT_ILP_IDENTITY, "the kernels' SPO+ rule must not be a public method number");

/* ILP share bits: kernels/ilp_view.h <- dopt_ilp.h (the problem's bits are the view's) */
DOPT_SAME(ILP_SHARE_A, DOPT_ILP_SHARE_A);
DOPT_SAME(ILP_SHARE_B, DOPT_ILP_SHARE_B);
DOPT_SAME(ILP_SHARE_C, DOPT_ILP_SHARE_C);
DOPT_SAME(ILP_SHARE_LB, DOPT_ILP_SHARE_LB);
DOPT_SAME(ILP_SHARE_UB, DOPT_ILP_SHARE_UB);
_Static_assert((ILP_SHARE_CADD & (DOPT_ILP_SHARE_A | DOPT_ILP_SHARE_B | DOPT_ILP_SHARE_C | DOPT_ILP_SHARE_LB |
                                  DOPT_ILP_SHARE_UB)) == 0,
               "the kernels' private share bit must not collide with a public one");

/* diffusion sampler: kernels/diffusion_impl.h runs DDPM when sampler == 0 */
DOPT_SAME(0, DOPT_SAMPLER_DDPM);
