/* dopt_struct_size: the size of each public struct, by name, so that a
 * binding which mirrors the structs without a C compiler (the Python
 * package, through ctypes) can check its layouts against the library it
 * actually loaded, and refuse to run on a mismatch instead of passing
 * garbage. */
#include <string.h>

#include "dopt.h"
#include "dopt_sparse_qp.h"

#define DOPT_STRUCT_ENTRY(type) {#type, sizeof(type)}

static const struct {
    const char *name;
    size_t size;
} dopt_public_structs[] = {
    DOPT_STRUCT_ENTRY(dopt_qp_problem),
    DOPT_STRUCT_ENTRY(dopt_qp_options),
    DOPT_STRUCT_ENTRY(dopt_qp_solution),
    DOPT_STRUCT_ENTRY(dopt_qp_grad_in),
    DOPT_STRUCT_ENTRY(dopt_qp_grad_out),
    DOPT_STRUCT_ENTRY(dopt_qp_ragged_problem),
    DOPT_STRUCT_ENTRY(dopt_csr_pattern),
    DOPT_STRUCT_ENTRY(dopt_sparse_qp_pattern),
    DOPT_STRUCT_ENTRY(dopt_sparse_qp_values),
    DOPT_STRUCT_ENTRY(dopt_sparse_qp_group),
    DOPT_STRUCT_ENTRY(dopt_sparse_qp_group_grad),
    DOPT_STRUCT_ENTRY(dopt_cone_dims),
    DOPT_STRUCT_ENTRY(dopt_cone_problem),
    DOPT_STRUCT_ENTRY(dopt_cone_options),
    DOPT_STRUCT_ENTRY(dopt_cone_solution),
    DOPT_STRUCT_ENTRY(dopt_cone_grad_in),
    DOPT_STRUCT_ENTRY(dopt_cone_grad_out),
    DOPT_STRUCT_ENTRY(dopt_bern_problem),
    DOPT_STRUCT_ENTRY(dopt_bern_options),
    DOPT_STRUCT_ENTRY(dopt_bern_result),
    DOPT_STRUCT_ENTRY(dopt_bern_blocks),
    DOPT_STRUCT_ENTRY(dopt_diffusion_step_desc),
    DOPT_STRUCT_ENTRY(dopt_diffusion_guide),
    DOPT_STRUCT_ENTRY(dopt_diffusion_blocks),
    DOPT_STRUCT_ENTRY(dopt_guidance),
    DOPT_STRUCT_ENTRY(dopt_ilp_problem),
    DOPT_STRUCT_ENTRY(dopt_ilp_options),
    DOPT_STRUCT_ENTRY(dopt_ilp_solution),
    DOPT_STRUCT_ENTRY(dopt_ilp_grad_options),
    DOPT_STRUCT_ENTRY(dopt_ilp_ragged_problem),
    DOPT_STRUCT_ENTRY(dopt_milp),
    DOPT_STRUCT_ENTRY(dopt_milp_options),
    DOPT_STRUCT_ENTRY(dopt_milp_result),
    DOPT_STRUCT_ENTRY(dopt_milp_search_options),
    DOPT_STRUCT_ENTRY(dopt_milp_search_result),
    DOPT_STRUCT_ENTRY(dopt_milp_binary_form),
    DOPT_STRUCT_ENTRY(dopt_mps_read_options),
    DOPT_STRUCT_ENTRY(dopt_gen_params),
    DOPT_STRUCT_ENTRY(dopt_npy),
    DOPT_STRUCT_ENTRY(dopt_npz),
    DOPT_STRUCT_ENTRY(dopt_npz_entry),
};

size_t dopt_struct_size(const char *type_name) {
    if (!type_name) return 0;
    for (size_t i = 0; i < sizeof dopt_public_structs / sizeof dopt_public_structs[0]; ++i)
        if (strcmp(dopt_public_structs[i].name, type_name) == 0) return dopt_public_structs[i].size;
    return 0;
}
