"""The ILP layers for PyTorch: exact small integer programs

    minimize (or maximize) c'y  subject to  A y <= b,  lb <= y <= ub,  y integer

as differentiable layers and decision-focused losses.

    y = dopt.torch.ilp(c, A, b, method="combopt", tau=0.5)       # CombOptNet: grads for A, b, c
    y = dopt.torch.ILP("dbb", problem, lambd=20)(c)              # blackbox differentiation
    y = dopt.torch.ILP("perturbed", problem, epsilon=1, samples=10)(c)  # E[y(c + eps Z)]
    loss = dopt.torch.SPOPlus(problem)(cp, c, w, z)              # PyEPO's SPOPlus call
    loss = dopt.torch.PerturbedFenchelYoung(problem)(cp, w)      # PyEPO's perturbedFenchelYoung call

`problem`: a dopt.ilp.Problem (A, b, lb, ub, sense), or a PyEPO optModel
(its shortest-path and knapsack models are read by dopt.ilp.Problem.from_pyepo).

Every operation is a torch custom operator (dopt::ilp, dopt::ilp_backward,
dopt::ilp_perturbed, dopt::ilp_perturbed_backward, dopt::ilp_spo_plus,
dopt::ilp_pfy) with a fake (shape) implementation and registered autograd,
so models containing these layers compile with torch.compile(fullgraph=True).
The perturbed method draws fresh noise on every call by default (seed=None:
a seed drawn with torch.randint from torch's default generator, passed to
the operators as a 0-d tensor and read inside them, so it compiles too); an
integer seed fixes the noise. The ILP layer keeps no opaque
state between forward and backward (dopt_ilp_backward takes the forward's y
and status), so eager and compiled runs take the same path and give the same
numbers. Maximization is minimization of -c; the gradients follow by the
chain rule (identity becomes +dy, DBB solves y(c - lambd dy), as PyEPO does).
"""

import math
import numbers
from typing import NamedTuple, Optional

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from .. import ilp as _ilp
from . import _ragged

__all__ = ["ilp", "ilp_ragged", "ILP", "ILPResult", "SPOPlus", "PerturbedFenchelYoung", "spo_plus",
           "perturbed_fenchel_young", "origin_to_b", "LearnableConstraints", "from_combopt_constraints"]

_BASE_NDIM = {"c": 1, "A": 2, "b": 1, "lb": 1, "ub": 1}
_METHODS = _ilp.METHODS
Tensor = torch.Tensor


# ---- shapes (shared by the real and the fake implementations) -------------------

def _batch(c, A, b, lb, ub):
    """(batched, batch) from the inputs' shapes, dopt.ilp's broadcasting rule."""
    batched, batch = False, 1
    for name, x in (("c", c), ("A", A), ("b", b), ("lb", lb), ("ub", ub)):
        if x is None or (name in ("A", "b") and x.numel() == 0):
            continue
        if x.dim() == _BASE_NDIM[name] + 1:
            batched = True
            if x.shape[0] != 1:
                batch = x.shape[0]
    return batched, batch


def _float_dtype(*xs):
    dtypes = [x.dtype for x in xs if x is not None and x.is_floating_point()]
    return torch.float64 if torch.float64 in dtypes else torch.float32


def _out(batched, batch, *inner):
    return ((batch,) if batched else ()) + tuple(inner)


def _grad_like(g, x):
    """A gradient from the library as x's gradient (dtype), or None for an absent x."""
    if x is None or g is None or g.numel() == 0 and x.numel() != 0:
        return None
    return g.to(x.dtype).reshape(x.shape)


# ---- custom operators -----------------------------------------------------------

@torch.library.custom_op("dopt::ilp", mutates_args=())
def _ilp_op(c: Tensor, A: Optional[Tensor], b: Optional[Tensor], lb: Optional[Tensor], ub: Optional[Tensor],
            method: int, tau: float, lambd: float, node_limit: int, time_limit: float
            ) -> tuple[Tensor, Tensor, Tensor]:
    # method, tau, lambd: for the backward (register_autograd sees the op's arguments)
    r = _ilp.solve(c, A, b, lb, ub, node_limit=node_limit, time_limit=time_limit, dtype=_float_dtype(c, A, b))
    return r.y, r.obj, r.status


@_ilp_op.register_fake
def _(c, A, b, lb, ub, method, tau, lambd, node_limit, time_limit):
    batched, batch = _batch(c, A, b, lb, ub)
    dt = _float_dtype(c, A, b)
    n = c.shape[-1]
    return (c.new_empty(_out(batched, batch, n), dtype=dt), c.new_empty(_out(batched, batch), dtype=dt),
            c.new_empty(_out(batched, batch), dtype=torch.int32))


@torch.library.custom_op("dopt::ilp_backward", mutates_args=())
def _ilp_backward_op(c: Tensor, A: Optional[Tensor], b: Optional[Tensor], lb: Optional[Tensor],
                     ub: Optional[Tensor], y: Tensor, status: Tensor, dy: Tensor, method: int, tau: float,
                     lambd: float, epsilon: float, samples: int, seed: int, node_limit: int, time_limit: float
                     ) -> tuple[Tensor, Tensor, Tensor]:
    # the methods of dopt::ilp (the perturbed rule has its own operator,
    # dopt::ilp_perturbed_backward, whose seed is a tensor)
    name = {v: k for k, v in _METHODS.items()}[method]
    wanted = ("A", "b", "c") if method == _METHODS["combopt"] else ("c",)
    dt = _float_dtype(c, A, b)
    g = _ilp.backward(c, A, b, lb, ub, y=y, status=status, dy=dy, method=name, tau=tau, lambd=lambd,
                      epsilon=epsilon, samples=samples, seed=seed, node_limit=node_limit,
                      time_limit=time_limit, dtype=dt, wanted=wanted)
    dA = g.get("A")
    db = g.get("b")
    if dA is None:
        dA = torch.zeros_like(A, dtype=dt) if A is not None else c.new_empty((0,), dtype=dt)
    if db is None:
        db = torch.zeros_like(b, dtype=dt) if b is not None else c.new_empty((0,), dtype=dt)
    return dA, db, g["c"]


@_ilp_backward_op.register_fake
def _(c, A, b, lb, ub, y, status, dy, method, tau, lambd, epsilon, samples, seed, node_limit, time_limit):
    dt = _float_dtype(c, A, b)
    dA = torch.empty_like(A, dtype=dt) if A is not None else c.new_empty((0,), dtype=dt)
    db = torch.empty_like(b, dtype=dt) if b is not None else c.new_empty((0,), dtype=dt)
    return dA, db, torch.empty_like(c, dtype=dt)


def _ilp_setup(ctx, inputs, output):
    c, A, b, lb, ub, method, tau, lambd, node_limit, time_limit = inputs
    y, obj, status = output
    ctx.save_for_backward(c, A, b, lb, ub, y, status)
    ctx.options = (method, tau, lambd, node_limit, time_limit)


def _ilp_grad(ctx, dy, dobj, dstatus):
    c, A, b, lb, ub, y, status = ctx.saved_tensors
    method, tau, lambd, node_limit, time_limit = ctx.options
    if dy is None:  # only obj was used: no backward rule to run (DBB would solve again for nothing)
        dt = _float_dtype(c, A, b)
        dA = None if A is None else torch.zeros_like(A, dtype=dt)
        db = None if b is None else torch.zeros_like(b, dtype=dt)
        dc = torch.zeros_like(c, dtype=dt)
    else:
        dA, db, dc = torch.ops.dopt.ilp_backward(c, A, b, lb, ub, y, status, dy, method, tau, lambd, 1.0, 1, 0,
                                                 node_limit, time_limit)
    if dobj is not None:
        # obj = c'y is linear in c between the solution's changes: dobj/dc = y
        # (for instances with a solution; an infeasible one has y = 0)
        term = dobj.unsqueeze(-1) * y
        if c.dim() == 1 and term.dim() == 2:
            term = term.sum(0)
        elif c.dim() == 2 and c.shape[0] == 1 and term.shape[0] != 1:
            term = term.sum(0, keepdim=True)
        dc = dc + term.to(dc.dtype)
    return (_grad_like(dc, c), _grad_like(dA, A), _grad_like(db, b), None, None, None, None, None, None, None)


_ilp_op.register_autograd(_ilp_grad, setup_context=_ilp_setup)


@torch.library.custom_op("dopt::ilp_perturbed", mutates_args=())
def _ilp_perturbed_op(c: Tensor, A: Optional[Tensor], b: Optional[Tensor], lb: Optional[Tensor],
                      ub: Optional[Tensor], epsilon: float, samples: int, seed: Tensor, node_limit: int,
                      time_limit: float) -> Tensor:
    # seed: a 0-d int64 tensor, read here, inside the operator, so that a seed
    # drawn in the graph with torch.randint needs no .item() in traced code
    return _ilp.perturbed(c, A, b, lb, ub, epsilon=epsilon, samples=samples, seed=int(seed.item()),
                          node_limit=node_limit, time_limit=time_limit, dtype=_float_dtype(c, A, b))


@_ilp_perturbed_op.register_fake
def _(c, A, b, lb, ub, epsilon, samples, seed, node_limit, time_limit):
    batched, batch = _batch(c, A, b, lb, ub)
    return c.new_empty(_out(batched, batch, c.shape[-1]), dtype=_float_dtype(c, A, b))


@torch.library.custom_op("dopt::ilp_perturbed_backward", mutates_args=())
def _ilp_perturbed_backward_op(c: Tensor, A: Optional[Tensor], b: Optional[Tensor], lb: Optional[Tensor],
                               ub: Optional[Tensor], y_eps: Tensor, dy: Tensor, epsilon: float, samples: int,
                               seed: Tensor, node_limit: int, time_limit: float) -> Tensor:
    # the perturbed rule reads neither y nor status (its own solves, the same Z
    # as the forward: the same seed tensor)
    batched, batch = _batch(c, A, b, lb, ub)
    status = torch.zeros(_out(batched, batch), dtype=torch.int32, device=c.device)
    g = _ilp.backward(c, A, b, lb, ub, y=y_eps, status=status, dy=dy, method="perturbed", epsilon=epsilon,
                      samples=samples, seed=int(seed.item()), node_limit=node_limit, time_limit=time_limit,
                      dtype=_float_dtype(c, A, b), wanted=("c",))
    return g["c"]


@_ilp_perturbed_backward_op.register_fake
def _(c, A, b, lb, ub, y_eps, dy, epsilon, samples, seed, node_limit, time_limit):
    return torch.empty_like(c, dtype=_float_dtype(c, A, b))


def _perturbed_setup(ctx, inputs, output):
    c, A, b, lb, ub, epsilon, samples, seed, node_limit, time_limit = inputs
    ctx.save_for_backward(c, A, b, lb, ub, output, seed)
    ctx.options = (epsilon, samples, node_limit, time_limit)


def _perturbed_grad(ctx, dy):
    c, A, b, lb, ub, y_eps, seed = ctx.saved_tensors
    epsilon, samples, node_limit, time_limit = ctx.options
    dc = torch.ops.dopt.ilp_perturbed_backward(c, A, b, lb, ub, y_eps, dy, epsilon, samples, seed, node_limit,
                                               time_limit)
    return (_grad_like(dc, c), None, None, None, None, None, None, None, None, None)


_ilp_perturbed_op.register_autograd(_perturbed_grad, setup_context=_perturbed_setup)


@torch.library.custom_op("dopt::ilp_spo_plus", mutates_args=())
def _spo_plus_op(c_hat: Tensor, c_true: Tensor, A: Optional[Tensor], b: Optional[Tensor], lb: Optional[Tensor],
                 ub: Optional[Tensor], y_true: Optional[Tensor], node_limit: int, time_limit: float
                 ) -> tuple[Tensor, Tensor]:
    loss, dc = _ilp.spo_plus(c_hat, c_true, A, b, lb, ub, y_true=y_true, node_limit=node_limit,
                             time_limit=time_limit, dtype=_float_dtype(c_hat, c_true, A, b))
    return loss, dc


@_spo_plus_op.register_fake
def _(c_hat, c_true, A, b, lb, ub, y_true, node_limit, time_limit):
    batched, batch = _batch(c_hat, A, b, lb, ub)
    dt = _float_dtype(c_hat, c_true, A, b)
    return c_hat.new_empty(_out(batched, batch), dtype=dt), torch.empty_like(c_hat, dtype=dt)


def _spo_setup(ctx, inputs, output):
    ctx.save_for_backward(output[1])
    ctx.c_dtype = inputs[0].dtype


def _spo_grad(ctx, dloss, ddc):
    (dc,) = ctx.saved_tensors
    grad = None
    if dloss is not None:
        grad = (dloss.unsqueeze(-1) * dc).to(ctx.c_dtype)
    return grad, None, None, None, None, None, None, None, None


_spo_plus_op.register_autograd(_spo_grad, setup_context=_spo_setup)


@torch.library.custom_op("dopt::ilp_pfy", mutates_args=())
def _pfy_op(c: Tensor, w: Tensor, noise: Tensor, A: Optional[Tensor], b: Optional[Tensor], lb: Optional[Tensor],
            ub: Optional[Tensor], sigma: float, node_limit: int, time_limit: float) -> tuple[Tensor, Tensor]:
    # minimization form: loss = c'w - mean_k (c + sigma Z_k)'y(c + sigma Z_k), grad = w - mean_k y_k
    B, K, n = noise.shape
    dt = _float_dtype(c, A, b)
    # the perturbed costs in the costs' own dtype, as PyEPO forms them, then solved in float64
    ptb = (c.unsqueeze(1) + sigma * noise.to(c.dtype)).to(dt).reshape(B * K, n)

    def per_sample(x, base):  # a batched constraint input, repeated for the K samples of each instance
        if x is None or x.dim() == base or x.shape[0] == 1:
            return x
        return x.repeat_interleave(K, dim=0)

    r = _ilp.solve(ptb, per_sample(A, 2), per_sample(b, 1), per_sample(lb, 1), per_sample(ub, 1),
                   node_limit=node_limit, time_limit=time_limit, dtype=dt)
    ys = r.y.reshape(B, K, n)
    f = (ptb.reshape(B, K, n) * ys).sum(-1).mean(1)
    wd = w.to(dt)
    loss = (c.to(dt) * wd).sum(-1) - f
    grad = wd - ys.mean(1)
    # an instance with an infeasible, numerically failed or invalid sample, or one
    # stopped by a limit without an incumbent (obj = +inf), has no loss
    bad = (~torch.isfinite(r.obj) | (r.status == 4) | (r.status == 5)).reshape(B, K).any(1)
    loss = torch.where(bad, torch.full_like(loss, math.nan), loss)
    grad = torch.where(bad.unsqueeze(-1), torch.full_like(grad, math.nan), grad)
    return loss, grad


@_pfy_op.register_fake
def _(c, w, noise, A, b, lb, ub, sigma, node_limit, time_limit):
    B, K, n = noise.shape
    dt = _float_dtype(c, A, b)
    return c.new_empty((B,), dtype=dt), c.new_empty((B, n), dtype=dt)


def _pfy_setup(ctx, inputs, output):
    ctx.save_for_backward(output[1])
    ctx.c_dtype = inputs[0].dtype


def _pfy_grad(ctx, dloss, dgrad):
    (grad,) = ctx.saved_tensors
    g = None if dloss is None else (dloss.unsqueeze(-1) * grad).to(ctx.c_dtype)
    return g, None, None, None, None, None, None, None, None, None


_pfy_op.register_autograd(_pfy_grad, setup_context=_pfy_setup)


# ---- argument handling ----------------------------------------------------------

def _tensor(x, name, like, who, dtype=None):
    """None, or x as a tensor on like's device (numpy arrays and numbers are
    converted). A bound (lb, ub) given as a number or a 0-d tensor or array
    is that value for every variable, as in dopt.ilp."""
    if x is None:
        return None
    if isinstance(x, torch.Tensor):
        if x.device != like.device:
            raise ValueError(f"{who}: {name} is on {x.device} but c is on {like.device}; put every tensor of a "
                             "call on one device")
        if not (x.is_floating_point() or name in ("lb", "ub", "w")):
            raise TypeError(f"{who}: {name} must be a floating-point tensor; got {x.dtype}")
        if name in ("A", "b") and x.requires_grad and x.numel() and x.dtype != like.dtype:
            # inputs that are differentiated share c's dtype (docs/PYTHON.md), as in torch's own operations;
            # constraints that are data (no grad) may be of either float dtype: the ILP solves in float64
            raise TypeError(f"{who}: {name} is {x.dtype} but c is {like.dtype}; the differentiable inputs of a "
                            "torch layer share one dtype (convert one with .to())")
    elif isinstance(x, (int, float)):
        return torch.full((like.shape[-1],), float(x), dtype=torch.float64, device=like.device)
    else:
        x = torch.as_tensor(x, dtype=dtype or torch.float64, device=like.device)
    if name in ("lb", "ub") and x.dim() == 0:
        # a (n,) copy of the value (no .item(): also traced by torch.compile)
        return x.detach().to(torch.float64).reshape(1).expand(like.shape[-1]).contiguous()
    return x


def _check_c(c, who):
    if not isinstance(c, torch.Tensor):
        raise TypeError(f"{who}: c must be a torch.Tensor; got {type(c).__name__} (use dopt.ilp for numpy arrays)")
    if not c.is_floating_point():
        raise TypeError(f"{who}: c must be a floating-point tensor; got {c.dtype}")
    if c.dim() not in (1, 2):
        raise ValueError(f"{who}: c must be (n,) or (batch, n); got shape {tuple(c.shape)}")


def _check_limits(node_limit, time_limit, who):
    node_limit = int(node_limit or 0)
    time_limit = float(time_limit or 0.0)
    return _ilp.check_limits(node_limit, time_limit, who)


def _check_shapes(c, A, b, lb, ub, who):
    # the numpy layer's checks, on shapes only (also valid for fake tensors)
    _ilp._Spec({"c": c, "A": A, "b": b, "lb": lb, "ub": ub}, who)


def _problem_inputs(ref, A, b, lb, ub, sense, node_limit, time_limit, who):
    """The checks every functional layer makes on the constraints, the sense
    and the limits: (A, b, lb, ub) as tensors like `ref`, and the limits."""
    if sense not in ("min", "max"):
        raise ValueError(f"{who}: sense must be 'min' or 'max'; got {sense!r}")
    A, b = _tensor(A, "A", ref, who), _tensor(b, "b", ref, who)
    lb, ub = _tensor(lb, "lb", ref, who), _tensor(ub, "ub", ref, who)
    _check_shapes(ref, A, b, lb, ub, who)
    node_limit, time_limit = _check_limits(node_limit, time_limit, who)
    return A, b, lb, ub, node_limit, time_limit


def _check_seed(seed, who):
    """seed checked: None, an int in [0, 2^63) (numpy ints too) or a 0-d
    integer tensor (its value is read inside the operator)."""
    if seed is None:
        return None
    if isinstance(seed, torch.Tensor):
        if seed.dim() != 0 or seed.is_floating_point() or seed.is_complex() or seed.dtype == torch.bool:
            raise ValueError(f"{who}: a tensor seed must be a 0-d integer tensor; got shape {tuple(seed.shape)}, "
                             f"{seed.dtype}")
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{who}: seed must be None, an int or a 0-d integer tensor; got {type(seed).__name__}")
    seed = int(seed)
    if not 0 <= seed < 2 ** 63:
        raise ValueError(f"{who}: seed must be in [0, 2^63); got {seed}")
    return seed


def _seed_tensor(seed):
    """The perturbed method's seed as a 0-d int64 tensor for the operators:
    None draws a fresh one from torch's default generator, as
    dopt.torch.bernoulli_penalty does (torch.randint: traced by
    torch.compile, no .item() outside the operator)."""
    if seed is None:
        return torch.randint(0, 2 ** 62, (), dtype=torch.int64)
    if isinstance(seed, torch.Tensor):
        return seed.to(torch.int64)
    return torch.tensor(seed, dtype=torch.int64)


class ILPResult(NamedTuple):
    """y (batch, n); obj (batch,) in the problem's sense (+inf / -inf for an
    infeasible min / max instance, NaN for invalid data); status (batch,)
    int32 (dopt.InstanceStatus). For method="perturbed", y is the perturbed
    mean y_eps and obj, status are those of the unperturbed solve."""
    y: Tensor
    obj: Tensor
    status: Tensor


def ilp(c, A=None, b=None, lb=None, ub=None, *, method="combopt", sense="min", tau=0.5, lambd=10.0, epsilon=1.0,
        samples=10, seed=None, node_limit=None, time_limit=None, return_status=False):
    """The ILP layer: y = argmin (sense="max": argmax) c'y subject to A y <= b,
    lb <= y <= ub, y integer, per instance, differentiated by `method`:

      "combopt"    CombOptNet (Paulus et al. 2021): gradients for c, A and b;
                   tau: the soft-min temperature (0 = hard min)
      "dbb"        blackbox differentiation (Vlastelica et al. 2020): gradient for
                   c, dc = (y(c + lambd dy) - y(c)) / lambd
      "perturbed"  the perturbed optimizer (Berthet et al. 2020): returns
                   y_eps = E[y(c + epsilon Z)] over `samples` draws of Z
                   (the library's Philox stream for `seed`, the same Z in the
                   forward and the backward), gradient for c. seed=None (the
                   default): a fresh seed per call, drawn with torch.randint
                   from torch's default generator (torch.manual_seed makes a
                   run reproducible; traced by torch.compile(fullgraph=True));
                   an int in [0, 2^63) or a 0-d integer tensor: that noise on
                   every call. The other methods ignore seed.
      "identity"   straight-through: dc = -dy (min) or +dy (max)

    Shapes as dopt.ilp.solve: c (n,) or (batch, n), A (m, n) or (batch, m, n),
    b (m,) or (batch, m), lb, ub (n,) or (batch, n) or numbers (None: binary);
    unbatched inputs are shared and get the batch sum as their gradient.
    Returns y (batch, n), or ILPResult(y, obj, status) with return_status=True.
    Infeasible instances give y = 0 and zero gradients; an instance with NaN
    data gives status 5, the others are unaffected.

    Ragged batches: give c as a LIST of per-instance tensors c_i (n_i,) and
    A, b (lb, ub) as lists of the same length (A_i (m_i, n_i), b_i (m_i,);
    None or empty entries for an instance without constraints; bounds as
    numbers stay numbers). One call solves them all (dopt.torch.ilp_ragged)
    and y comes back as a list of y_i (n_i,) (obj, status (B,) tensors)."""
    who = "dopt.torch.ilp"
    if _ragged.is_list(c):
        return _ilp_list(who, c, A, b, lb, ub, method=method, sense=sense, tau=tau, lambd=lambd, epsilon=epsilon,
                         samples=samples, seed=seed, node_limit=node_limit, time_limit=time_limit,
                         return_status=return_status)
    _check_c(c, who)
    if method not in _METHODS:
        raise ValueError(f"{who}: method must be one of {sorted(_METHODS)}; got {method!r}")
    A, b, lb, ub, node_limit, time_limit = _problem_inputs(c, A, b, lb, ub, sense, node_limit, time_limit, who)
    seed = _check_seed(seed, who)
    _ilp.check_grad_options(method, tau=tau, lambd=lambd, epsilon=epsilon, samples=samples, seed=0, who=who)
    sign = -1.0 if sense == "max" else 1.0
    cmin = c if sign > 0 else -c
    if method == "perturbed":
        y = torch.ops.dopt.ilp_perturbed(cmin, A, b, lb, ub, float(epsilon), int(samples), _seed_tensor(seed),
                                         node_limit, time_limit).to(c.dtype)
        if not return_status:
            return y
        with torch.no_grad():
            _, obj, status = torch.ops.dopt.ilp(cmin, A, b, lb, ub, 0, 0.5, 10.0, node_limit, time_limit)
        return ILPResult(y, (sign * obj).to(c.dtype), status)
    y, obj, status = torch.ops.dopt.ilp(cmin, A, b, lb, ub, _METHODS[method], float(tau), float(lambd), node_limit,
                                        time_limit)
    y = y.to(c.dtype)  # y is integral: exact in any float dtype
    return ILPResult(y, (sign * obj).to(c.dtype), status) if return_status else y


# ---- problems given once (PyEPO's setting) --------------------------------------

def _same_bound(x, y):
    """Whether two bounds (numbers or arrays, None for binary) are the same box side."""
    if x is None or y is None:
        return x is None and y is None
    x64, y64 = _ilp._host64(x, "bound", "ILP"), _ilp._host64(y, "bound", "ILP")
    try:
        return bool(np.all(np.broadcast_to(x64, np.broadcast_shapes(x64.shape, y64.shape)) == y64))
    except ValueError:  # shapes that do not broadcast
        return False


def _as_problem(problem, A, b, lb, ub, sense, who):
    """A dopt.ilp.Problem from a Problem, a PyEPO optModel, or A, b, lb, ub,
    sense (None when none of them is given). Arguments given next to a
    problem are merged into it when the problem leaves them open (lb, ub None)
    or agrees; a conflict is a ValueError, never silently dropped."""
    if sense is not None and sense not in ("min", "max"):
        raise ValueError(f"{who}: sense must be 'min' or 'max'; got {sense!r}")
    if problem is None:
        if A is None and b is None and lb is None and ub is None and sense is None:
            return None
        return _ilp.Problem(A, b, lb, ub, sense or "min")
    if A is not None or b is not None:
        raise ValueError(f"{who}: give the constraints either as a problem/optmodel or as A, b, not both")
    if not isinstance(problem, _ilp.Problem):
        problem = _ilp.Problem.from_pyepo(problem)
    if sense is not None and sense != problem.sense:
        raise ValueError(f"{who}: sense={sense!r} conflicts with the problem's sense {problem.sense!r}; give one "
                         "of them (build the Problem with the sense you want)")
    merged = {}
    for name, given in (("lb", lb), ("ub", ub)):
        own = getattr(problem, name)
        if given is None or _same_bound(given, own):
            merged[name] = own
        elif own is None:
            merged[name] = given
        else:
            raise ValueError(f"{who}: {name}={given!r} conflicts with the problem's {name} {own!r}; give the box "
                             "in one place")
    if merged["lb"] is not problem.lb or merged["ub"] is not problem.ub:
        problem = _ilp.Problem(problem.A, problem.b, merged["lb"], merged["ub"], problem.sense)
    return problem


class _ProblemTensors(torch.nn.Module):
    """A Problem's arrays as (non-persistent) buffers, so .to(device) moves them."""

    def __init__(self, problem):
        super().__init__()
        self.problem = problem
        self.sense = problem.sense if problem is not None else "min"
        for name in ("A", "b", "lb", "ub"):
            value = None if problem is None else getattr(problem, name)
            if value is not None and not isinstance(value, (int, float)):
                self.register_buffer(name, torch.as_tensor(value, dtype=torch.float64), persistent=False)
            else:
                setattr(self, name, value)

    def data(self, c):
        """(A, b, lb, ub) on c's device, kept in float64: the constraints stay
        exact (the solve runs in float64 anyway); the layers return c's dtype."""
        out = []
        for name in ("A", "b", "lb", "ub"):
            value = getattr(self, name)
            if isinstance(value, torch.Tensor):
                value = value.to(device=c.device)  # no copy once the module is on c's device (.to(device))
            out.append(value)
        return out


class ILP(torch.nn.Module):
    """The ILP layer as a module: dopt.torch.ilp with its options fixed.

        layer = dopt.torch.ILP("combopt", tau=0.5, lb=0, ub=1)
        y = layer(c, A, b)                   # learnable constraints, CombOptNet
        layer = dopt.torch.ILP("dbb", problem, lambd=20)
        y = layer(c)                         # fixed constraints (PyEPO's DBB)

    problem: a dopt.ilp.Problem or a PyEPO optModel (fixed constraints and
    sense), or give A, b, lb, ub (and sense) here. With a problem, lb, ub
    and sense given here fill in what the problem leaves open (lb, ub None:
    binary) and must otherwise agree with it (ValueError). Constraints and
    bounds passed to forward take precedence. seed: as dopt.torch.ilp (the
    perturbed method: None, the default, draws fresh noise on every call;
    an int fixes it). forward(c, A=None, b=None, lb=None, ub=None,
    constraints=None): constraints is CombOptNet's layout (..., m, n + 1)
    [A | b] meaning A y + b <= 0. variable_range={"lb": l, "ub": u} is
    CombOptNet's spelling of lb, ub."""

    def __init__(self, method="combopt", problem=None, *, A=None, b=None, lb=None, ub=None, sense=None, tau=0.5,
                 lambd=10.0, epsilon=1.0, samples=10, seed=None, node_limit=None, time_limit=None,
                 return_status=False, variable_range=None):
        super().__init__()
        who = "dopt.torch.ILP"
        if variable_range is not None:  # CombOptNet's spelling of the box: {"lb": ..., "ub": ...}
            if lb is not None or ub is not None:
                raise ValueError(f"{who}: give the box as lb, ub or as variable_range, not both")
            lb, ub = variable_range["lb"], variable_range["ub"]
        if method not in _METHODS:
            raise ValueError(f"{who}: method must be one of {sorted(_METHODS)}; got {method!r}")
        self.method = method
        self._data = _ProblemTensors(_as_problem(problem, A, b, lb, ub, sense, who))
        self.sense = self._data.sense
        seed = _check_seed(seed, who)
        self.options = dict(tau=tau, lambd=lambd, epsilon=epsilon, samples=samples, seed=seed,
                            node_limit=node_limit, time_limit=time_limit)
        _ilp.check_grad_options(method, tau=tau, lambd=lambd, epsilon=epsilon, samples=samples, seed=0, who=who)
        self.return_status = return_status

    def extra_repr(self):
        return f"method={self.method!r}, sense={self.sense!r}, " + ", ".join(f"{k}={v}" for k, v in
                                                                              self.options.items())

    def forward(self, c, A=None, b=None, lb=None, ub=None, constraints=None):
        if constraints is not None:
            if A is not None or b is not None:
                raise ValueError("dopt.torch.ILP: give either constraints (CombOptNet's layout) or A, b")
            A, b = from_combopt_constraints(constraints)
        if _ragged.is_list(c):  # a ragged batch: the constraints come with it, per instance
            if self._data.A is not None and A is None:
                raise ValueError("dopt.torch.ILP: a ragged batch (c a list) needs per-instance A, b lists; this "
                                 "layer's fixed constraints have one size")
            return ilp(c, A, b, lb if lb is not None else self._data.lb, ub if ub is not None else self._data.ub,
                       method=self.method, sense=self.sense, return_status=self.return_status, **self.options)
        dA, db, dlb, dub = self._data.data(c)
        if A is None and b is None:
            A, b = dA, db
        lb = lb if lb is not None else dlb
        ub = ub if ub is not None else dub
        return ilp(c, A, b, lb, ub, method=self.method, sense=self.sense, return_status=self.return_status,
                   **self.options)


def from_combopt_constraints(constraints):
    """CombOptNet's constraint tensor (..., m, n + 1), rows [a | b0] meaning
    a'y + b0 <= 0, as dopt's (A, b) with A y <= b: A = a, b = -b0
    (differentiable)."""
    if not isinstance(constraints, torch.Tensor) or constraints.dim() not in (2, 3):
        raise ValueError("from_combopt_constraints: constraints must be a (m, n + 1) or (batch, m, n + 1) tensor")
    return constraints[..., :-1], -constraints[..., -1]


def origin_to_b(a, r, o):
    """CombOptNet's learnable-origin parametrization, differentiable: row j is
    a_j'(y - o_j) <= r_j, so b_j = r_j + a_j'o_j (dopt.ilp.origin_to_b; its
    gradient is dopt.ilp.origin_backward's rule). a, o (..., m, n); r (..., m)."""
    return r + (a * o).sum(-1)


class LearnableConstraints(torch.nn.Module):
    """m learnable constraints a_j'(y - o_j) <= r_j for n variables, CombOptNet's
    parametrization with a learnable origin o_j per row (origin=True) or the
    plain A y <= b (origin=False). forward() returns (A, b) for dopt.torch.ilp.

    Initialization (dopt's choice): a_j ~ N(0, I) / sqrt(n); o_j uniform in the
    middle half of the box [lb, ub]; r_j uniform in [0.2, 1] times the box's
    half width times |a_j|, so every initial half-space contains its origin."""

    def __init__(self, m, n, *, lb=0.0, ub=1.0, origin=True, dtype=torch.float64, generator=None):
        super().__init__()
        lb, ub = float(lb), float(ub)
        a = torch.randn(m, n, dtype=dtype, generator=generator) / math.sqrt(n)
        center, half = 0.5 * (lb + ub), 0.5 * (ub - lb)
        o = center + 0.5 * half * (2 * torch.rand(m, n, dtype=dtype, generator=generator) - 1)
        r = (0.2 + 0.8 * torch.rand(m, dtype=dtype, generator=generator)) * max(half, 0.5) * a.norm(dim=1)
        self.a = torch.nn.Parameter(a)
        self.r = torch.nn.Parameter(r)
        if origin:
            self.o = torch.nn.Parameter(o)
        else:
            self.register_parameter("o", None)
            self.r.data = r + (a * o).sum(-1)

    def forward(self):
        if self.o is None:
            return self.a, self.r
        return self.a, origin_to_b(self.a, self.r, self.o)


# ---- PyEPO's losses -------------------------------------------------------------

def _reduce(loss, reduction, who):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{who}: reduction must be 'mean', 'sum' or 'none'; got {reduction!r}")


def _pyepo_compat(processes, solve_ratio, dataset, who):
    if solve_ratio != 1.0:
        raise ValueError(f"{who}: solve_ratio < 1 (PyEPO's solution cache) is not supported: dopt solves every "
                         "instance exactly in one batched call; use solve_ratio=1")
    if not isinstance(processes, int) or processes < 0:
        raise ValueError(f"{who}: processes must be an int >= 0; got {processes!r}")


def _batch2(x, name, who, B=None, n=None):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{who}: {name} must be a torch.Tensor; got {type(x).__name__}")
    if x.dim() != 2 or (B is not None and x.shape[0] != B) or (n is not None and x.shape[1] != n):
        expected = f"({B if B is not None else 'batch'}, {n if n is not None else 'n'})"
        raise ValueError(f"{who}: {name} must have shape {expected}; got {tuple(x.shape)}")


def spo_plus(cp, c, w=None, z=None, A=None, b=None, lb=None, ub=None, *, sense="min", node_limit=None,
             time_limit=None):
    """The SPO+ loss per instance (batch,), PyEPO's definition: for min,
    -z(2cp - c) + 2 cp'w - z, for max z(2cp - c) - 2 cp'w + z, with z(.) the
    optimal value, w the true solution (None: solved as y(c)) and z the true
    objective (None: c'w). Gradient in cp only: 2 (w - y(2cp - c)) (min) or
    2 (y(2cp - c) - w) (max). cp, c: (batch, n)."""
    who = "dopt.torch.spo_plus"
    _batch2(cp, "cp", who)
    B, n = cp.shape
    _batch2(c, "c", who, B, n)
    if c.device != cp.device:
        raise ValueError(f"{who}: c is on {c.device} but cp is on {cp.device}")
    sign = -1.0 if sense == "max" else 1.0
    A, b, lb, ub, node_limit, time_limit = _problem_inputs(cp, A, b, lb, ub, sense, node_limit, time_limit, who)
    c = c.detach()
    if w is not None:
        w = _tensor(w, "w", cp, who)
        _batch2(w, "w", who, B, n)
        w = w.detach().to(_float_dtype(cp, c))
    if z is not None:
        if w is None:
            raise ValueError(f"{who}: z (the true objective) needs w (the true solution)")
        z = _tensor(z, "z", cp, who).detach()
        if z.shape not in ((B,), (B, 1)):
            raise ValueError(f"{who}: z must have shape ({B},) or ({B}, 1); got {tuple(z.shape)}")
    dtype = cp.dtype
    if sign < 0:  # max c'y = -min (-c)'y; PyEPO's max loss is the min loss of the negated costs
        cp_min, c_min = -cp, -c
    else:
        cp_min, c_min = cp, c
    loss, _ = torch.ops.dopt.ilp_spo_plus(cp_min, c_min, A, b, lb, ub, w, node_limit, time_limit)
    loss = loss.to(dtype)
    if z is not None:
        # the library's loss uses c'w for the true objective; PyEPO's uses the given z
        loss = loss + sign * ((c * w).sum(-1) - z.reshape(B)).to(dtype)
    return loss


class SPOPlus(torch.nn.Module):
    """SPO+ with PyEPO's constructor and call: loss = SPOPlus(optmodel)(cp, c, w, z).

    optmodel: a dopt.ilp.Problem, a PyEPO optModel (shortest path or knapsack,
    read by dopt.ilp.Problem.from_pyepo), or None with the constraints given
    as A, b, lb, ub, sense. processes, solve_ratio, dataset: PyEPO's
    arguments, accepted for a drop-in call (dopt solves the whole batch in one
    call with its own threads, dopt.set_num_threads; solve_ratio must be 1).
    reduction: "mean" (PyEPO's default), "sum" or "none". forward(cp, c, w,
    z): predicted costs (batch, n), true costs, true solutions, true
    objectives (batch, 1) or (batch,); w and z may be None (then solved)."""

    def __init__(self, optmodel=None, processes=1, solve_ratio=1.0, reduction="mean", dataset=None, *, A=None,
                 b=None, lb=None, ub=None, sense=None, node_limit=None, time_limit=None):
        super().__init__()
        who = "dopt.torch.SPOPlus"
        _pyepo_compat(processes, solve_ratio, dataset, who)
        _reduce(torch.zeros(1), reduction, who)
        problem = _as_problem(optmodel, A, b, lb, ub, sense, who)
        self._data = _ProblemTensors(problem)
        self.sense = self._data.sense
        self.reduction = reduction
        self.node_limit, self.time_limit = _check_limits(node_limit, time_limit, who)

    def forward(self, cp, c, w=None, z=None):
        _check_c(cp, "dopt.torch.SPOPlus")
        A, b, lb, ub = self._data.data(cp)
        loss = spo_plus(cp, c, w, z, A, b, lb, ub, sense=self.sense, node_limit=self.node_limit,
                        time_limit=self.time_limit)
        return _reduce(loss, self.reduction, "dopt.torch.SPOPlus")


def perturbed_fenchel_young(cp, w, noise, A=None, b=None, lb=None, ub=None, *, sigma=1.0, sense="min",
                            node_limit=None, time_limit=None):
    """The perturbed Fenchel-Young loss per instance (batch,), PyEPO's
    definition: with y_k = y(cp + sigma Z_k) for the given noise Z (batch, K,
    n), for min  cp'w - mean_k (cp + sigma Z_k)'y_k  and gradient
    w - mean_k y_k; for max the negation of both with argmax solutions.
    An instance with an infeasible or invalid perturbed solve gets NaN."""
    who = "dopt.torch.perturbed_fenchel_young"
    _batch2(cp, "cp", who)
    B, n = cp.shape
    w = _tensor(w, "w", cp, who)
    _batch2(w, "w", who, B, n)
    if not isinstance(noise, torch.Tensor) or noise.dim() != 3 or noise.shape[0] != B or noise.shape[2] != n:
        raise ValueError(f"{who}: noise must be a ({B}, K, {n}) tensor")
    A, b, lb, ub, node_limit, time_limit = _problem_inputs(cp, A, b, lb, ub, sense, node_limit, time_limit, who)
    sigma = float(sigma)
    if not (0.0 < sigma < float("inf")):
        raise ValueError(f"{who}: sigma must be > 0; got {sigma}")
    sign = -1.0 if sense == "max" else 1.0
    if sign < 0:  # the max loss is the min loss of -cp with noise -Z (the same perturbed solutions)
        cp, noise = -cp, -noise
    loss, _ = torch.ops.dopt.ilp_pfy(cp, w.detach(), noise.detach(), A, b, lb, ub, sigma,
                                     node_limit, time_limit)
    return loss.to(cp.dtype)


class PerturbedFenchelYoung(torch.nn.Module):
    """The perturbed Fenchel-Young loss with PyEPO's constructor and call:
    loss = PerturbedFenchelYoung(optmodel, n_samples=10, sigma=1.0, seed=135)(cp, w).

    The noise is drawn as PyEPO draws it: torch.randn((batch, n_samples, n))
    in cp's dtype from a per-device torch.Generator seeded once with `seed`,
    so with the same seed both give the same losses and gradients (up to
    ties between optimal solutions). seed=None draws from torch's global
    generator instead (torch.manual_seed): use it under
    torch.compile(fullgraph=True), which cannot trace a torch.Generator
    argument. The batch * n_samples perturbed ILPs are solved in one dopt
    call. optmodel, processes, solve_ratio, dataset, reduction: as SPOPlus."""

    def __init__(self, optmodel=None, n_samples=10, sigma=1.0, processes=1, seed=135, solve_ratio=1.0,
                 reduction="mean", dataset=None, *, A=None, b=None, lb=None, ub=None, sense=None, node_limit=None,
                 time_limit=None):
        super().__init__()
        who = "dopt.torch.PerturbedFenchelYoung"
        _pyepo_compat(processes, solve_ratio, dataset, who)
        _reduce(torch.zeros(1), reduction, who)
        if not isinstance(n_samples, int) or n_samples < 1:
            raise ValueError(f"{who}: n_samples must be a positive int; got {n_samples!r}")
        if not (float(sigma) > 0 and math.isfinite(float(sigma))):
            raise ValueError(f"{who}: sigma must be > 0; got {sigma!r}")
        problem = _as_problem(optmodel, A, b, lb, ub, sense, who)
        self._data = _ProblemTensors(problem)
        self.sense = self._data.sense
        self.n_samples, self.sigma = n_samples, float(sigma)
        self.seed = None if seed is None else int(seed)
        self.reduction = reduction
        self.node_limit, self.time_limit = _check_limits(node_limit, time_limit, who)
        self._generators = {}

    def _generator(self, device):
        key = str(device)
        gen = self._generators.get(key)
        if gen is None:
            gen = torch.Generator(device=device)
            gen.manual_seed(self.seed)
            self._generators[key] = gen
        return gen

    def forward(self, cp, w):
        who = "dopt.torch.PerturbedFenchelYoung"
        _check_c(cp, who)
        _batch2(cp, "cp", who)
        shape = (cp.shape[0], self.n_samples, cp.shape[1])
        if self.seed is None:  # torch's global generator: compiles with fullgraph=True
            noise = torch.randn(shape, device=cp.device, dtype=cp.dtype)
        else:
            noise = torch.randn(shape, device=cp.device, dtype=cp.dtype, generator=self._generator(cp.device))
        A, b, lb, ub = self._data.data(cp)
        loss = perturbed_fenchel_young(cp, w, noise, A, b, lb, ub, sigma=self.sigma, sense=self.sense,
                                       node_limit=self.node_limit, time_limit=self.time_limit)
        return _reduce(loss, self.reduction, who)


# ---- ragged batches ------------------------------------------------------------------

class _ILPRaggedFn(torch.autograd.Function):
    """The ragged ILP layer on flat tensors (minimization); sizes: host int32 (n, m)."""

    @staticmethod
    def forward(ctx, options, n, m, c, A, b, lb, ub):
        node_limit, time_limit = options["node_limit"], options["time_limit"]
        dt = _float_dtype(c, A, b)
        r = _ilp.solve_ragged(n, m, c, A, b, lb, ub, node_limit=node_limit, time_limit=time_limit, dtype=dt)
        ctx.save_for_backward(c, A, b, r.y, r.status)
        ctx.bounds, ctx.sizes, ctx.options = (lb, ub), (n, m), options  # bounds: numbers or constant tensors
        ctx.mark_non_differentiable(r.status)
        ctx.set_materialize_grads(False)
        return r.y, r.obj, r.status

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dobj, _dstatus):
        c, A, b, y, status = ctx.saved_tensors
        lb, ub = ctx.bounds
        n, m = ctx.sizes
        o = ctx.options
        dt = _float_dtype(c, A, b)
        dA = db = None
        dc = torch.zeros_like(c, dtype=dt)
        if dy is not None:
            wanted = ("A", "b", "c") if o["method"] == "combopt" else ("c",)
            g = _ilp.backward_ragged(n, m, c, A, b, lb, ub, y=y, status=status, dy=dy, method=o["method"],
                                     tau=o["tau"], lambd=o["lambd"], node_limit=o["node_limit"],
                                     time_limit=o["time_limit"], dtype=dt, wanted=wanted)
            dA, db, dc = g.get("A"), g.get("b"), g["c"]
        # dbb and identity: dA = db = 0, as the uniform layer gives
        if dA is None and A is not None:
            dA = torch.zeros_like(A, dtype=dt)
        if db is None and b is not None:
            db = torch.zeros_like(b, dtype=dt)
        if dobj is not None:  # obj = c'y per instance: dobj/dc = y
            dc = dc + _ragged.expand_per_instance(dobj.to(dt), n) * y.to(dt)
        return (None, None, None, _grad_like(dc, c), _grad_like(dA, A), _grad_like(db, b), None, None)


class _ILPRaggedPerturbedFn(torch.autograd.Function):
    """The perturbed optimizer on a ragged batch: y_eps and its gradient in c
    (the same noise in both: the same seed)."""

    @staticmethod
    def forward(ctx, options, n, m, c, A, b, lb, ub):
        o = options
        dt = _float_dtype(c, A, b)
        y_eps = _ilp.perturbed_ragged(n, m, c, A, b, lb, ub, epsilon=o["epsilon"], samples=o["samples"],
                                      seed=o["seed"], node_limit=o["node_limit"], time_limit=o["time_limit"],
                                      dtype=dt)
        ctx.save_for_backward(c, A, b, y_eps)
        ctx.bounds, ctx.sizes, ctx.options = (lb, ub), (n, m), options
        return y_eps

    @staticmethod
    @once_differentiable
    def backward(ctx, dy):
        c, A, b, y_eps = ctx.saved_tensors
        lb, ub = ctx.bounds
        n, m = ctx.sizes
        o = ctx.options
        status = torch.zeros(n.shape[0], dtype=torch.int32, device=c.device)  # the rule reads neither y nor status
        g = _ilp.backward_ragged(n, m, c, A, b, lb, ub, y=y_eps, status=status, dy=dy, method="perturbed",
                                 epsilon=o["epsilon"], samples=o["samples"], seed=o["seed"],
                                 node_limit=o["node_limit"], time_limit=o["time_limit"],
                                 dtype=_float_dtype(c, A, b), wanted=("c",))
        return (None, None, None, _grad_like(g["c"], c), None, None, None, None)


def _flat_bound(x, name, ref, who):
    if x is None or isinstance(x, numbers.Real):
        return x
    x = _tensor(x, name, ref, who).detach()  # bounds get no gradient
    return float(x.item()) if x.dim() == 0 else x


def ilp_ragged(n, m, c, A=None, b=None, lb=None, ub=None, *, n_ptr=None, m_ptr=None, method="combopt",
               sense="min", tau=0.5, lambd=10.0, epsilon=1.0, samples=10, seed=None, node_limit=None,
               time_limit=None, return_status=False):
    """The ILP layer on a ragged batch in the concatenated (PyG-style) layout:
    B instances of sizes n, m (B,) (integer tensors, arrays or lists; m None:
    no constraints), or offsets n_ptr, m_ptr (B + 1,), sizes = diff(ptr). c
    (sum n_i), A (sum m_i n_i: each instance's (m_i, n_i) block row-major, in
    order), b (sum m_i), lb, ub (sum n_i, numbers, or None: binary).

    method "combopt" (gradients for c, A, b), "dbb", "perturbed" or "identity" (c);
    sense, tau, lambd, limits and return_status as dopt.torch.ilp. Returns y
    (sum n_i), or ILPResult(y, obj (B,), status (B,)); gradients in the
    inputs' layouts, each instance's equal to solving it alone. "perturbed"
    returns y_eps (sum n_i) with the uniform layer's noise per instance index
    (seed as dopt.torch.ilp) and a gradient for c.

    Under torch.compile, combopt, dbb and identity are the custom operators
    dopt::ilp_ragged / dopt::ilp_ragged_backward (sizes or ptr as integer
    tensors; fullgraph=True works); perturbed runs as a graph break."""
    if torch.compiler.is_compiling() and method != "perturbed":
        return _ilp_ragged_compiled(n, m, c, A, b, lb, ub, n_ptr, m_ptr, method, sense, tau, lambd, node_limit,
                                    time_limit, return_status)
    return _ilp_ragged_eager(n, m, c, A, b, lb, ub, n_ptr=n_ptr, m_ptr=m_ptr, method=method, sense=sense, tau=tau,
                             lambd=lambd, epsilon=epsilon, samples=samples, seed=seed, node_limit=node_limit,
                             time_limit=time_limit, return_status=return_status)


# host size vectors and ctypes calls: a graph break under torch.compile, by design
@torch.compiler.disable
def _ilp_ragged_eager(n, m, c, A=None, b=None, lb=None, ub=None, *, n_ptr=None, m_ptr=None, method="combopt",
               sense="min", tau=0.5, lambd=10.0, epsilon=1.0, samples=10, seed=None, node_limit=None,
               time_limit=None, return_status=False):

    who = "dopt.torch.ilp_ragged"
    _check_c(c, who)
    if c.dim() != 1:
        raise ValueError(f"{who}: c must be 1-D, every instance's costs concatenated; got shape {tuple(c.shape)}")
    if method not in _METHODS:
        raise ValueError(f"{who}: method must be one of {sorted(_METHODS)}; got {method!r}")
    seed = _check_seed(seed, who)
    if sense not in ("min", "max"):
        raise ValueError(f"{who}: sense must be 'min' or 'max'; got {sense!r}")
    _ilp.check_grad_options(method, tau=tau, lambd=lambd, epsilon=epsilon, samples=samples, seed=0, who=who)
    node_limit, time_limit = _check_limits(node_limit, time_limit, who)
    nv = _ragged.host_sizes(n, n_ptr, "n", who)
    mv = _ragged.host_sizes(m, m_ptr, "m", who, nv.shape[0], default_zero=True)
    A, b = _tensor(A, "A", c, who), _tensor(b, "b", c, who)
    for name, x in (("A", A), ("b", b)):
        if x is not None and x.dim() != 1:
            raise ValueError(f"{who}: {name} must be 1-D (the concatenated layout); got shape {tuple(x.shape)}")
    lb, ub = _flat_bound(lb, "lb", c, who), _flat_bound(ub, "ub", c, who)
    options = dict(method=method, tau=float(tau), lambd=float(lambd), node_limit=node_limit, time_limit=time_limit)
    sign = -1.0 if sense == "max" else 1.0
    cmin = c if sign > 0 else -c
    if method == "perturbed":
        seed_value = int(_seed_tensor(seed).item())
        options.update(epsilon=float(epsilon), samples=int(samples), seed=seed_value)
        if torch.is_grad_enabled() and c.requires_grad:
            y = _ILPRaggedPerturbedFn.apply(options, nv, mv, cmin, A, b, lb, ub)
        else:
            y = _ilp.perturbed_ragged(nv, mv, cmin, A, b, lb, ub, epsilon=epsilon, samples=samples, seed=seed_value,
                                      node_limit=node_limit, time_limit=time_limit, dtype=_float_dtype(c, A, b))
        y = y.to(c.dtype)
        if not return_status:
            return y
        with torch.no_grad():
            r = _ilp.solve_ragged(nv, mv, cmin, A, b, lb, ub, node_limit=node_limit, time_limit=time_limit,
                                  dtype=_float_dtype(c, A, b))
        return ILPResult(y, (sign * r.obj).to(c.dtype), r.status)
    if torch.is_grad_enabled() and any(x is not None and x.requires_grad for x in (c, A, b)):
        y, obj, status = _ILPRaggedFn.apply(options, nv, mv, cmin, A, b, lb, ub)
    else:
        r = _ilp.solve_ragged(nv, mv, cmin, A, b, lb, ub, node_limit=node_limit, time_limit=time_limit,
                              dtype=_float_dtype(c, A, b))
        y, obj, status = r.y, r.obj, r.status
    y = y.to(c.dtype)
    return ILPResult(y, (sign * obj).to(c.dtype), status) if return_status else y


# host size vectors and ctypes calls: a graph break under torch.compile, by design
@torch.compiler.disable
def _ilp_list(who, c, A, b, lb, ub, *, return_status, **options):
    inputs = {"c": c, "A": A, "b": b}
    B = _ragged.check_lists(who, "c", inputs)
    check = _ragged.TensorChecker(who)
    n = [0] * B
    for i, x in enumerate(c):
        check(x, f"c[{i}]")
        if x.dim() != 1:
            raise ValueError(f"{who}: c[{i}] must be (n_i,); got shape {tuple(x.shape)}")
        n[i] = x.shape[0]
    if (A is None) != (b is None):
        raise ValueError(f"{who}: A and b come together; got only {'A' if A is not None else 'b'}")
    m = [0] * B
    As, bs = [], []
    if A is not None:
        for i in range(B):
            Ai = None if A[i] is None or A[i].numel() == 0 else A[i]
            bi = None if b[i] is None or b[i].numel() == 0 else b[i]
            if (Ai is None) != (bi is None):
                raise ValueError(f"{who}: A[{i}] and b[{i}] come together; got only {'A' if Ai is not None else 'b'}"
                                 f"[{i}]")
            if Ai is None:
                continue
            check(Ai, f"A[{i}]")
            check(bi, f"b[{i}]")
            if Ai.dim() != 2 or Ai.shape[1] != n[i]:
                raise ValueError(f"{who}: A[{i}] must be (m_i, n_i) with n_i = {n[i]} (from c[{i}]); got "
                                 f"{tuple(Ai.shape)}")
            if tuple(bi.shape) != (Ai.shape[0],):
                raise ValueError(f"{who}: b[{i}] must be ({Ai.shape[0]},) to match A[{i}]; got {tuple(bi.shape)}")
            m[i] = Ai.shape[0]
            As.append(Ai)
            bs.append(bi)
    bounds = {}
    for name, x in (("lb", lb), ("ub", ub)):
        if x is None or isinstance(x, numbers.Real) or isinstance(x, torch.Tensor) and x.dim() == 0:
            bounds[name] = x
            continue
        if not _ragged.is_list(x) or len(x) != B:
            raise ValueError(f"{who}: {name} must be a number, None or a list of {B} tensors (n_i,) like c")
        for i, xi in enumerate(x):
            if not isinstance(xi, torch.Tensor) or tuple(xi.shape) != (n[i],):
                raise ValueError(f"{who}: {name}[{i}] must be a ({n[i]},) tensor like c[{i}]")
        bounds[name] = torch.cat([xi.to(device=c[0].device, dtype=torch.float64) for xi in x])
    if B == 0:
        raise ValueError(f"{who}: the ragged batch is empty (c = []); nothing to solve")
    flat_c = _ragged.concat(c)
    flat_A = _ragged.concat(As) if As else None
    flat_b = _ragged.concat(bs) if bs else None
    res = ilp_ragged(np.asarray(n, np.int32), np.asarray(m, np.int32), flat_c, flat_A, flat_b, bounds["lb"],
                     bounds["ub"], return_status=True, **options)
    ys = _ragged.split(res.y, n)
    return ILPResult(ys, res.obj, res.status) if return_status else ys


# ---- the compiled ragged path: custom operators on size tensors ---------------------

def _size_tensor(value, ptr, name, who, batch=None):
    if value is not None and ptr is not None:
        raise ValueError(f"{who}: give {name} either as sizes or as {name}_ptr offsets, not both")
    if ptr is not None:
        value = torch.as_tensor(ptr)
        value = value[1:] - value[:-1]
    elif value is None:
        if batch is None:
            raise ValueError(f"{who}: the sizes {name} are required (or {name}_ptr)")
        return torch.zeros(batch, dtype=torch.int32)
    return torch.as_tensor(value).to(device="cpu", dtype=torch.int32)


def _host_sizes(t):
    return np.ascontiguousarray(t.cpu().numpy(), dtype=np.int32)


def _compiled_bound(x, c):
    if x is None or isinstance(x, torch.Tensor) and x.dim() == 1:
        return x
    return torch.full(c.shape, float(x), dtype=torch.float64, device=c.device)


def _ilp_ragged_compiled(n, m, c, A, b, lb, ub, n_ptr, m_ptr, method, sense, tau, lambd, node_limit, time_limit,
                         return_status):
    who = "dopt.torch.ilp_ragged"
    _check_c(c, who)
    if method not in _METHODS:
        raise ValueError(f"{who}: method must be one of {sorted(_METHODS)}; got {method!r}")
    if sense not in ("min", "max"):
        raise ValueError(f"{who}: sense must be 'min' or 'max'; got {sense!r}")
    node_limit, time_limit = _check_limits(node_limit, time_limit, who)
    nt = _size_tensor(n, n_ptr, "n", who)
    mt = _size_tensor(m, m_ptr, "m", who, nt.shape[0])
    sign = -1.0 if sense == "max" else 1.0
    cmin = c if sign > 0 else -c
    lb, ub = _compiled_bound(lb, c), _compiled_bound(ub, c)
    y, obj, status = torch.ops.dopt.ilp_ragged(nt, mt, cmin, A, b, lb, ub, _METHODS[method], float(tau),
                                               float(lambd), node_limit, time_limit)
    y = y.to(c.dtype)
    return ILPResult(y, (sign * obj).to(c.dtype), status) if return_status else y


@torch.library.custom_op("dopt::ilp_ragged", mutates_args=())
def _ilp_ragged_op(n: Tensor, m: Tensor, c: Tensor, A: Optional[Tensor], b: Optional[Tensor], lb: Optional[Tensor],
                   ub: Optional[Tensor], method: int, tau: float, lambd: float, node_limit: int, time_limit: float
                   ) -> tuple[Tensor, Tensor, Tensor]:
    # method, tau, lambd: for the backward (register_autograd sees the op's arguments)
    r = _ilp.solve_ragged(_host_sizes(n), _host_sizes(m), c, A, b, lb, ub, node_limit=node_limit,
                          time_limit=time_limit, dtype=_float_dtype(c, A, b))
    return r.y, r.obj, r.status


@_ilp_ragged_op.register_fake
def _(n, m, c, A, b, lb, ub, method, tau, lambd, node_limit, time_limit):
    dt = _float_dtype(c, A, b)
    return (c.new_empty(c.shape, dtype=dt), c.new_empty(n.shape, dtype=dt), c.new_empty(n.shape, dtype=torch.int32))


@torch.library.custom_op("dopt::ilp_ragged_backward", mutates_args=())
def _ilp_ragged_backward_op(n: Tensor, m: Tensor, c: Tensor, A: Optional[Tensor], b: Optional[Tensor],
                            lb: Optional[Tensor], ub: Optional[Tensor], y: Tensor, status: Tensor, dy: Tensor,
                            method: int, tau: float, lambd: float, node_limit: int, time_limit: float
                            ) -> tuple[Tensor, Tensor, Tensor]:
    name = {v: k for k, v in _METHODS.items()}[method]
    wanted = ("A", "b", "c") if method == _METHODS["combopt"] else ("c",)
    dt = _float_dtype(c, A, b)
    g = _ilp.backward_ragged(_host_sizes(n), _host_sizes(m), c, A, b, lb, ub, y=y, status=status, dy=dy,
                             method=name, tau=tau, lambd=lambd, node_limit=node_limit, time_limit=time_limit,
                             dtype=dt, wanted=wanted)
    dA, db = g.get("A"), g.get("b")
    if dA is None:
        dA = torch.zeros_like(A, dtype=dt) if A is not None else c.new_empty((0,), dtype=dt)
    if db is None:
        db = torch.zeros_like(b, dtype=dt) if b is not None else c.new_empty((0,), dtype=dt)
    return dA, db, g["c"]


@_ilp_ragged_backward_op.register_fake
def _(n, m, c, A, b, lb, ub, y, status, dy, method, tau, lambd, node_limit, time_limit):
    dt = _float_dtype(c, A, b)
    dA = torch.empty_like(A, dtype=dt) if A is not None else c.new_empty((0,), dtype=dt)
    db = torch.empty_like(b, dtype=dt) if b is not None else c.new_empty((0,), dtype=dt)
    return dA, db, torch.empty_like(c, dtype=dt)


def _ilp_ragged_setup(ctx, inputs, output):
    n, m, c, A, b, lb, ub, method, tau, lambd, node_limit, time_limit = inputs
    y, obj, status = output
    ctx.save_for_backward(n, m, c, A, b, lb, ub, y, status)
    ctx.options = (method, tau, lambd, node_limit, time_limit)


def _ilp_ragged_grad(ctx, dy, dobj, dstatus):
    n, m, c, A, b, lb, ub, y, status = ctx.saved_tensors
    method, tau, lambd, node_limit, time_limit = ctx.options
    dt = _float_dtype(c, A, b)
    if dy is None:
        dA = None if A is None else torch.zeros_like(A, dtype=dt)
        db = None if b is None else torch.zeros_like(b, dtype=dt)
        dc = torch.zeros_like(c, dtype=dt)
    else:
        dA, db, dc = torch.ops.dopt.ilp_ragged_backward(n, m, c, A, b, lb, ub, y, status, dy, method, tau, lambd,
                                                        node_limit, time_limit)
    if dobj is not None:  # obj = c'y per instance: dobj/dc = y
        per_var = torch.repeat_interleave(dobj, n.to(device=dobj.device, dtype=torch.int64), output_size=y.shape[0])
        dc = dc + (per_var * y).to(dc.dtype)
    return (None, None, _grad_like(dc, c), _grad_like(dA, A), _grad_like(db, b), None, None, None, None, None, None,
            None)


_ilp_ragged_op.register_autograd(_ilp_ragged_grad, setup_context=_ilp_ragged_setup)
