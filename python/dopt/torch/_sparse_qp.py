"""The sparse QP / LP layer for PyTorch:

    x, lam, nu, status, structure = dopt.torch.sparse_qp(Q, p, G, h, A, b, structure=...)
    results = dopt.torch.sparse_qp_groups([dict(Q=..., p=..., G=..., h=...), ...])   (ragged batches)

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

__all__ = ["sparse_qp", "sparse_qp_groups", "SparseQPResult"]


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


def _tensors_of(values, p, h, b, where):
    """The six inputs as tensors of p's dtype and device (scipy's constant
    values converted); anything else is refused."""
    if not isinstance(p, torch.Tensor):
        raise TypeError(f"{where}: p must be a torch.Tensor; got {type(p).__name__} (use dopt.qp.solve_sparse for "
                        "numpy arrays)")
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
    return tensors


def sparse_qp(Q, p, G=None, h=None, A=None, b=None, *, structure=None, n=None, tol=None, tol_inf=None,
              max_iter=None, refine=None):
    """Solves minimize 1/2 x'Qx + p'x s.t. Gx <= h, Ax = b for a batch with
    sparse Q, G, A (see the module's documentation); returns SparseQPResult(x,
    lam, nu, status, structure), differentiable in the values of Q, G, A and
    in p, h, b. Every tensor must have one dtype (float32 or float64) and
    device. Instances that were not solved (status other than 0 or 6) get
    zero gradients."""
    where = "dopt.torch.sparse_qp"
    values, structure = _sq._values_and_structure(Q, G, A, structure, n, where)
    tensors = _tensors_of(values, p, h, b, where)
    options = {"tol": tol, "tol_inf": tol_inf, "max_iter": max_iter, "refine": refine}
    x, lam, nu, status = _SparseQPFn.apply(options, structure, tensors["Q"], tensors["p"], tensors["G"],
                                           tensors["h"], tensors["A"], tensors["b"])
    return SparseQPResult(x, lam, nu, status, structure)


class _SparseQPGroupsFn(torch.autograd.Function):
    """Every group's six inputs flattened (6 per group), its four outputs
    likewise; one library call each way."""

    @staticmethod
    def forward(ctx, options, structures, *tensors):
        groups = [dict(zip(_qp.PARAMETERS, tensors[6 * g:6 * g + 6]), structure=s) for g, s in enumerate(structures)]
        results = _qp.solve_sparse_groups(groups, record=True, **options)
        ctx.tapes = [r.tape for r in results]
        ctx.save_for_backward(*tensors)
        ctx.mark_non_differentiable(*(r.status for r in results))
        ctx.set_materialize_grads(False)
        return tuple(t for r in results for t in (r.x, r.lam, r.nu, r.status))

    @staticmethod
    @once_differentiable
    def backward(ctx, *douts):
        ctx.saved_tensors  # noqa: B018  (the in-place modification check)
        count = len(ctx.tapes)
        need = ctx.needs_input_grad[2:]
        wanted = tuple(name for q, name in enumerate(_qp.PARAMETERS) if any(need[6 * g + q] for g in range(count)))
        if not wanted or all(d is None for d in douts):
            return (None,) * (2 + 6 * count)
        dxs, dlams, dnus = [], [], []
        for g, tape in enumerate(ctx.tapes):
            dx, dlam, dnu = douts[4 * g:4 * g + 3]
            if dx is None:
                spec = tape.spec
                like = next((d for d in douts if d is not None))
                dx = torch.zeros((spec.batch, spec.n) if spec.batched else (spec.n,), dtype=like.dtype,
                                 device=like.device)
            dxs.append(dx)
            dlams.append(dlam)
            dnus.append(dnu)
        grads = _qp.backward_sparse_groups(ctx.tapes, dxs, dlams, dnus, wanted=wanted)
        flat = [grads[g].get(name) if need[6 * g + q] else None
                for g in range(count) for q, name in enumerate(_qp.PARAMETERS)]
        return (None, None, *flat)


def sparse_qp_groups(groups, *, tol=None, tol_inf=None, max_iter=None, refine=None):
    """A ragged batch through the sparse layer (dopt.qp.solve_sparse_groups):
    groups is a list of dicts, each one group's arguments of sparse_qp (Q,
    p, G, h, A, b, structure, n), with a batch of its own (one graph per
    group, or one group per pattern). Returns a list of SparseQPResult, each
    what sparse_qp of that group alone returns, differentiable the same way;
    forward and backward are one library call each, every instance of every
    group on the thread pool at once. Every tensor must have one dtype and
    device."""
    where = "dopt.torch.sparse_qp_groups"
    flat, structures, dtype, device = [], [], None, None
    for g, args in _sq._group_dicts(groups, where, "sparse_qp"):
        gw = f"{where}: group {g}"
        values, structure = _sq._values_and_structure(args.get("Q"), args.get("G"), args.get("A"),
                                                      args.get("structure"), args.get("n"), gw)
        tensors = _tensors_of(values, args.get("p"), args.get("h"), args.get("b"), gw)
        if dtype is None:
            dtype, device = tensors["p"].dtype, tensors["p"].device
        elif (tensors["p"].dtype, tensors["p"].device) != (dtype, device):
            raise TypeError(f"{gw}: every group must have group 0's dtype and device ({dtype}, {device}); got "
                            f"{tensors['p'].dtype} on {tensors['p'].device}")
        structures.append(structure)
        flat.extend(tensors[name] for name in _qp.PARAMETERS)
    if not structures:
        return []
    options = {"tol": tol, "tol_inf": tol_inf, "max_iter": max_iter, "refine": refine}
    outs = _SparseQPGroupsFn.apply(options, structures, *flat)
    return [SparseQPResult(*outs[4 * g:4 * g + 4], structures[g]) for g in range(len(groups))]
