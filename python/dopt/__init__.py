"""dopt: batched, differentiable solvers for thousands of small optimization
problems per call, on CPUs and CUDA GPUs.

    dopt.qp         QP / LP layer (interior point, implicit differentiation)
    dopt.cone       cone programs: second-order and PSD cones (docs/CONE.md)
    dopt.ilp        exact small ILPs and their gradients (CombOptNet, DBB,
                    perturbed, SPO+)
    dopt.bern       Bernoulli surrogates of binary ILPs (DiffILO, correct gradients)
    dopt.diffusion  diffusion sampling and guidance for MILP (SRG)
    dopt.milp       MILP models, MPS files, generators, Cbc, predict-and-search
    dopt.learn      MILP instances as graphs with Gasse et al. features, batching, a bipartite GCN
    dopt.torch      PyTorch autograd layers and custom operators (needs torch)

Every function takes numpy arrays (runs on the CPU, returns numpy) or torch
tensors (runs on their device, on torch's current stream, returns tensors).
Library failures raise dopt.Error; per-instance outcomes come back as status
arrays (dopt.InstanceStatus). See docs/PYTHON.md.
"""

import enum
import importlib

from ._lib import Error, cuda_available, get_num_threads, instance_status_name, set_num_threads, status_name
from ._lib import version as library_version

__version__ = library_version()


class InstanceStatus(enum.IntEnum):
    """Per-instance outcome of the QP layer (and the codes other layers share)."""
    SOLVED = 0
    PRIMAL_INFEASIBLE = 1
    DUAL_INFEASIBLE = 2
    ITERATION_LIMIT = 3
    NUMERICAL_FAILURE = 4
    INVALID_DATA = 5
    SOLVED_REDUCED_ACCURACY = 6  # QP: the requested tol was out of reach, 100 tol (<= 1e-3) met
    SOLVED_CLOSEST_FEASIBLE = 7  # QP, closest_feasible=True: infeasible; x solves the closest feasible QP


_SUBMODULES = ("qp", "cone", "ilp", "bern", "diffusion", "milp", "learn", "torch")


def __getattr__(name):
    # Submodules load on first use: `import dopt` stays cheap, and dopt.torch
    # imports torch only when asked for.
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'dopt' has no attribute {name!r}")


__all__ = ["Error", "InstanceStatus", "cuda_available", "get_num_threads", "set_num_threads", "status_name",
           "instance_status_name", "library_version", "__version__", *_SUBMODULES]
