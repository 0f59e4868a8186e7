"""The cone layer for PyTorch (second-order and PSD cone programs):

    x, s, z, y, status = dopt.torch.cone(c, G, h, A, b, l=..., q=[...], s=[...])

Differentiable in c, G, h, A, b through the residual map with the cones'
projections at the solution (dopt_cone_backward, docs/CONE.md), for a loss
in any of x, s, z, y. Eager autograd only: the forward records the
library's tape (the backward's factorization) and the backward reuses it.
Not yet a torch custom operator (torch.compile falls back around it).
"""

from typing import NamedTuple

import torch
from torch.autograd.function import once_differentiable

from .. import cone as _cone

__all__ = ["cone", "ConeResult"]


class ConeResult(NamedTuple):
    """x (B, n), s and z (B, m), y (B, k), status (B,) int32; without a
    batched input, no leading B."""
    x: torch.Tensor
    s: torch.Tensor
    z: torch.Tensor
    y: torch.Tensor
    status: torch.Tensor


class _ConeFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, options, c, G, h, A, b):
        res = _cone.solve(c, G, h, A, b, record=True, **options)
        ctx.tape = res.tape
        ctx.mark_non_differentiable(res.status)
        return res.x, res.s, res.z, res.y, res.status

    @staticmethod
    @once_differentiable
    def backward(ctx, gx, gs, gz, gy, _gstatus):
        tape = ctx.tape
        if gx is None:
            spec = tape.spec
            lead = (spec.batch,) if spec.batched else ()
            gx = tape.placement.zeros(lead + (spec.n,), tape.dtype)
        grads = _cone.backward(tape, gx, gs, gz, gy)
        return (None, grads["c"], grads["G"], grads["h"], grads["A"], grads["b"])


def cone(c, G, h, A=None, b=None, *, l=0, q=(), s=(), tol=None, tol_inf=None, max_iter=None, refine=None):
    """Solves minimize c'x s.t. Ax = b, Gx + s = h, s in K (K: orthant l,
    second-order cones q, PSD cones s in svec order) for a batch of tensors;
    returns ConeResult(x, s, z, y, status), differentiable in c, G, h, A, b.
    Instances that were not solved (status != 0) get zero gradients."""
    options = {"l": l, "q": tuple(q), "s": tuple(s), "tol": tol, "tol_inf": tol_inf, "max_iter": max_iter,
               "refine": refine}
    return ConeResult(*_ConeFunction.apply(options, c, G, h, A, b))
