"""PyTorch front end of dopt: autograd layers and torch custom operators.

    cone                      cone programs (second-order, PSD; docs/CONE.md)
    sparse_qp                 the sparse QP / LP layer (CSR Q, G, A; one pattern per batch)
    QPFunction, qp            the QP / LP layer (qpth's call signature; a richer
                              form returning lam, nu and status)
    ilp, ILP, SPOPlus,        exact small-ILP layers and decision-focused losses
    PerturbedFenchelYoung     (CombOptNet, DBB, perturbed, identity; PyEPO's calls)
    bernoulli_penalty         the Bernoulli surrogate of a binary ILP as a loss
    diffusion functions       noising, DDPM/DDIM steps, guidance, targets,
                              candidates (SRG)

Tensors may live on the CPU or a CUDA device; dopt runs where they are, on
torch's current stream. The operations are registered as torch custom
operators (namespace dopt::), so models that use them compile with
torch.compile(fullgraph=True). See docs/PYTHON.md.
"""

try:
    import torch as _torch  # noqa: F401  (a clear message when torch is missing)
except ImportError as exc:  # pragma: no cover
    raise ImportError("dopt.torch needs PyTorch: pip install torch (the numpy API, dopt.qp etc., does not)") from exc

from ._qp import *  # noqa: F401,F403
from ._qp import __all__ as _qp_all
from ._ilp import *  # noqa: F401,F403
from ._ilp import __all__ as _ilp_all
from ._bern import *  # noqa: F401,F403
from ._bern import __all__ as _bern_all
from ._diffusion import *  # noqa: F401,F403
from ._diffusion import __all__ as _diffusion_all
from ._cone import *  # noqa: F401,F403
from ._cone import __all__ as _cone_all
from ._sparse_qp import *  # noqa: F401,F403
from ._sparse_qp import __all__ as _sparse_qp_all

__all__ = [*_qp_all, *_ilp_all, *_bern_all, *_diffusion_all, *_cone_all, *_sparse_qp_all]
