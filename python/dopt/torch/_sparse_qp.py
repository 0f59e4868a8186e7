"""The sparse QP / LP layer for PyTorch:

    x, lam, nu, status, structure = dopt.torch.sparse_qp(Q, p, G, h, A, b, structure=...)

Q, G, A in CSR (one pattern for the batch): a torch sparse tensor (2-D CSR
or COO, or 3-D batched CSR with one pattern; its gradient is sparse on the
same pattern), a tuple (indptr, indices, values, shape) with values a tensor
(nnz,) or (B, nnz), a scipy.sparse matrix (constant values), or, with
structure=, the values tensor alone.
Differentiable in the values of Q, G, A (gradients on the pattern) and in p,
h, b, through dopt_sparse_qp_backward, which reuses the forward's
factorization. Eager autograd only (like dopt.torch.cone): the forward
records the library's tape and the backward reads it.
"""

from typing import NamedTuple

import torch
from torch.autograd.function import once_differentiable

from .. import qp as _qp
from .. import _sparse_qp as _sq

__all__ = ["sparse_qp", "SparseQPResult"]


class SparseQPResult(NamedTuple):
    """x (B, n), lam (B, m), nu (B, k), status (B,) int32; without a batched
    input, no leading B. structure: the analysed patterns (pass it to the next
    call to skip the analysis)."""
    x: torch.Tensor
    lam: torch.Tensor
    nu: torch.Tensor
    status: torch.Tensor
    structure: _sq.SparseStructure


class _SparseQPFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, options, structure, Qv, p, Gv, h, Av, b):
        res = _qp.solve_sparse(Qv, p, Gv, h, Av, b, structure=structure, record=True, **options)
        ctx.tape = res.tape
        # autograd then refuses a backward after an in-place change of an input (the tape reads their memory)
        ctx.save_for_backward(Qv, p, Gv, h, Av, b)
        ctx.mark_non_differentiable(res.status)
        ctx.set_materialize_grads(False)
        return res.x, res.lam, res.nu, res.status

    @staticmethod
    @once_differentiable
    def backward(ctx, dx, dlam, dnu, _dstatus):
        ctx.saved_tensors  # noqa: B018  (the in-place modification check)
        wanted = tuple(name for name, need in zip(_qp.PARAMETERS, ctx.needs_input_grad[2:]) if need)
        if not wanted or (dx is None and dlam is None and dnu is None):
            return (None,) * 8
        tape = ctx.tape
        if dx is None:
            spec = tape.spec
            like = dlam if dlam is not None else dnu
            dx = torch.zeros((spec.batch, spec.n) if spec.batched else (spec.n,), dtype=like.dtype,
                             device=like.device)
        grads = _qp.backward_sparse(tape, dx, dlam, dnu, wanted=wanted)
        return (None, None, *(grads.get(name) for name in _qp.PARAMETERS))


def sparse_qp(Q, p, G=None, h=None, A=None, b=None, *, structure=None, n=None, tol=None, tol_inf=None,
              max_iter=None, refine=None):
    """Solves minimize 1/2 x'Qx + p'x s.t. Gx <= h, Ax = b for a batch with
    sparse Q, G, A (see the module's documentation); returns SparseQPResult(x,
    lam, nu, status, structure), differentiable in the values of Q, G, A and
    in p, h, b. Every tensor must have one dtype (float32 or float64) and
    device. Instances that were not solved (status other than 0 or 6) get
    zero gradients."""
    where = "dopt.torch.sparse_qp"
    if not isinstance(p, torch.Tensor):
        raise TypeError(f"{where}: p must be a torch.Tensor; got {type(p).__name__} (use dopt.qp.solve_sparse for "
                        "numpy arrays)")
    values, structure = _sq._values_and_structure(Q, G, A, structure, n, where)
    tensors = {"Q": values["Q"], "p": p, "G": values["G"], "h": h, "A": values["A"], "b": b}
    for name, x in tensors.items():
        if x is None:
            continue
        if not isinstance(x, torch.Tensor):  # scipy's values (constants) or arrays: onto p's device and dtype
            x = tensors[name] = torch.as_tensor(x, dtype=p.dtype, device=p.device)
        if x.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"{where}: {name} must be float32 or float64; got {x.dtype}")
        if x.dtype != p.dtype or x.device != p.device:
            raise TypeError(f"{where}: every tensor must have p's dtype and device ({p.dtype}, {p.device}); {name} "
                            f"is {x.dtype} on {x.device}")
    options = {"tol": tol, "tol_inf": tol_inf, "max_iter": max_iter, "refine": refine}
    x, lam, nu, status = _SparseQPFn.apply(options, structure, tensors["Q"], tensors["p"], tensors["G"],
                                           tensors["h"], tensors["A"], tensors["b"])
    return SparseQPResult(x, lam, nu, status, structure)
