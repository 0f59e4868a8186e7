"""The QP / LP layer for PyTorch.

    x, lam, nu, status = dopt.torch.qp(Q, p, G, h, A, b, tol=..., max_iter=...)
    x = dopt.torch.QPFunction(eps=1e-12, maxIter=20)(Q, p, G, h, A, b)   # qpth's call

Both differentiate through the KKT conditions at the solution (OptNet's
implicit differentiation, dopt_qp_backward). Two paths compute the same
thing:

* Eager (the default): a torch.autograd.Function whose forward records the
  library's tape (the factorized KKT systems at the solution) and whose
  backward reuses it: a backward is one KKT solve per instance with the
  stored factorization, no refactorization.
* Under torch.compile: the torch custom operators dopt::qp_solve and
  dopt::qp_backward (with fake implementations for shapes, and
  register_autograd). An opaque tape cannot flow through a custom operator,
  so dopt::qp_backward solves the batch again (recording a tape) and then runs
  the backward on it: the compiled path's backward costs one more solve. The
  solver is deterministic, so the re-solve reproduces the forward's solution
  bit for bit and compiled gradients equal eager ones.

The eager path is kept outside torch.compile because routing eager calls
through the custom operators would add that second solve to every backward.
"""

import enum
import warnings
from typing import NamedTuple, Optional

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from .. import qp as _qp
from . import _ragged

__all__ = ["QPFunction", "QPSolvers", "QPResult", "qp", "qp_ragged"]

_NAMES = _qp.PARAMETERS
_BASE_NDIM = {"Q": 2, "p": 1, "G": 2, "h": 1, "A": 2, "b": 1}
_DEFAULT_TOL = {torch.float64: 1e-8, torch.float32: 1e-6}  # the library's defaults (dopt_qp_options_default)


class QPResult(NamedTuple):
    """x (B, n), lam (B, m), nu (B, k) and status (B,) int32 (dopt.InstanceStatus
    values); without a batched input, no leading B."""
    x: torch.Tensor
    lam: torch.Tensor
    nu: torch.Tensor
    status: torch.Tensor


class QPSolvers(enum.Enum):
    """qpth's solver choice, accepted for compatibility: dopt always runs its
    own interior-point method."""
    PDIPM_BATCHED = 1
    CVXPY = 2


# ---- input checks ------------------------------------------------------------

def _present(x, base):
    return _qp._is_present(x, base)


def _prepare(where, Q, p, G, h, A, b):
    """Checks types, dtypes and devices; absent blocks (None or empty) become
    None. Returns the six inputs and the common dtype."""
    inputs = {"Q": Q, "p": p, "G": G, "h": h, "A": A, "b": b}
    out = {}
    dtype = device = None
    first = None
    for name in _NAMES:
        x = inputs[name]
        if x is None:
            out[name] = None
            continue
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{where}: {name} must be a torch.Tensor or None; got {type(x).__name__} "
                            "(use dopt.qp.solve for numpy arrays)")
        if not _present(x, _BASE_NDIM[name]) and name != "p":
            out[name] = None  # qpth's torch.Tensor() for an absent block: its dtype and device do not matter
            continue
        if x.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"{where}: {name} must be float32 or float64; got {x.dtype}")
        if dtype is None:
            dtype, device, first = x.dtype, x.device, name
        elif x.dtype != dtype:
            raise TypeError(f"{where}: all inputs must have one dtype; {first} is {dtype} but {name} is {x.dtype} "
                            "(convert them, e.g. with .double())")
        elif x.device != device:
            raise ValueError(f"{where}: all inputs must be on one device; {first} is on {device} but {name} is on "
                             f"{x.device}")
        out[name] = x
    if out["p"] is None:
        raise ValueError(f"{where}: p (the linear term) is required")
    return out, dtype


def _options(where, tol, tol_inf, max_iter, refine):
    """(tol, tol_inf, max_iter, refine) with 0 for "the library's default"
    (plain Python: dynamo traces it)."""
    opts = (float(tol or 0.0), float(tol_inf or 0.0), int(max_iter or 0), int(refine or 0))
    if not (opts[0] >= 0 and opts[1] >= 0) or opts[2] < 0 or opts[3] < 0:
        raise ValueError(f"{where}: tol, tol_inf, max_iter and refine must be >= 0 (0 or None: the default); got "
                         f"tol={tol}, tol_inf={tol_inf}, max_iter={max_iter}, refine={refine}")
    return opts


# ---- eager path: autograd.Function with the tape -----------------------------

class _QPFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, opts, Q, p, G, h, A, b):
        tol, tol_inf, max_iter, refine, closest = opts
        res = _qp.solve(Q, p, G, h, A, b, tol=tol, tol_inf=tol_inf, max_iter=max_iter, refine=refine,
                        record=True, closest_feasible=closest)
        ctx.tape = res.tape
        # Saved so that autograd refuses a backward after an in-place change of
        # an input (the tape reads the inputs' memory).
        ctx.save_for_backward(Q, p, G, h, A, b)
        ctx.mark_non_differentiable(res.status)
        ctx.set_materialize_grads(False)
        return res.x, res.lam, res.nu, res.status

    @staticmethod
    @once_differentiable  # the gradient itself is not differentiable: double backward raises
    def backward(ctx, dx, dlam, dnu, _dstatus):
        ctx.saved_tensors  # noqa: B018  (the in-place modification check)
        wanted = tuple(name for name, need in zip(_NAMES, ctx.needs_input_grad[1:]) if need)
        if not wanted or (dx is None and dlam is None and dnu is None):
            return (None,) * 7
        tape = ctx.tape
        if dx is None:
            spec = tape.spec
            shape = (spec.batch, spec.n) if spec.batched else (spec.n,)
            dx = torch.zeros(shape, dtype=dlam.dtype if dlam is not None else dnu.dtype,
                             device=(dlam if dlam is not None else dnu).device)
        grads = _qp.backward(tape, dx, dlam, dnu, wanted=wanted)
        return (None, *(grads.get(name) for name in _NAMES))


# ---- compiled path: custom operators ---------------------------------------------

def _out_shapes(Q, p, G, h, A, b):
    spec = _qp._Spec({"Q": Q, "p": p, "G": G, "h": h, "A": A, "b": b})
    lead = (spec.batch,) if spec.batched else ()
    return lead + (spec.n,), lead + (spec.m,), lead + (spec.k,), lead


@torch.library.custom_op("dopt::qp_solve", mutates_args=())
def _qp_solve_op(Q: Optional[torch.Tensor], p: torch.Tensor, G: Optional[torch.Tensor], h: Optional[torch.Tensor],
                 A: Optional[torch.Tensor], b: Optional[torch.Tensor], tol: float, tol_inf: float, max_iter: int,
                 refine: int, closest: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The batch's solution (x, lam, nu, status); shapes as dopt.qp.solve."""
    res = _qp.solve(Q, p, G, h, A, b, tol=tol, tol_inf=tol_inf, max_iter=max_iter, refine=refine,
                    closest_feasible=closest)
    return res.x, res.lam, res.nu, res.status


@_qp_solve_op.register_fake
def _qp_solve_fake(Q, p, G, h, A, b, tol, tol_inf, max_iter, refine, closest):
    sx, slam, snu, sst = _out_shapes(Q, p, G, h, A, b)
    return (p.new_empty(sx), p.new_empty(slam), p.new_empty(snu), p.new_empty(sst, dtype=torch.int32))


@torch.library.custom_op("dopt::qp_backward", mutates_args=())
def _qp_backward_op(Q: Optional[torch.Tensor], p: torch.Tensor, G: Optional[torch.Tensor],
                    h: Optional[torch.Tensor], A: Optional[torch.Tensor], b: Optional[torch.Tensor],
                    dx: torch.Tensor, dlam: Optional[torch.Tensor], dnu: Optional[torch.Tensor], tol: float,
                    tol_inf: float, max_iter: int, refine: int, closest: bool,
                    wanted: list[bool]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                                                 torch.Tensor, torch.Tensor]:
    """Gradients (dQ, dp, dG, dh, dA, db) of the QP's solution: solves the
    batch again with a tape (a tape cannot pass through an operator) and runs
    the backward on it. Unwanted or absent inputs get an empty tensor."""
    names = tuple(name for name, want in zip(_NAMES, wanted) if want)
    res = _qp.solve(Q, p, G, h, A, b, tol=tol, tol_inf=tol_inf, max_iter=max_iter, refine=refine, record=True,
                    closest_feasible=closest)
    grads = _qp.backward(res.tape, dx, dlam, dnu, wanted=names) if names else {}
    return tuple(grads[name] if grads.get(name) is not None else p.new_empty(0) for name in _NAMES)


@_qp_backward_op.register_fake
def _qp_backward_fake(Q, p, G, h, A, b, dx, dlam, dnu, tol, tol_inf, max_iter, refine, closest, wanted):
    inputs = (Q, p, G, h, A, b)
    return tuple(x.new_empty(x.shape) if (want and _present(x, _BASE_NDIM[name])) else p.new_empty(0)
                 for name, x, want in zip(_NAMES, inputs, wanted))


def _qp_solve_setup(ctx, inputs, output):
    Q, p, G, h, A, b, tol, tol_inf, max_iter, refine, closest = inputs
    ctx.save_for_backward(Q, p, G, h, A, b)
    ctx.opts = (tol, tol_inf, max_iter, refine, closest)
    ctx.x_shape = output[0].shape


def _qp_solve_backward(ctx, dx, dlam, dnu, _dstatus):
    Q, p, G, h, A, b = ctx.saved_tensors
    inputs = (Q, p, G, h, A, b)
    wanted = [bool(need) and x is not None for need, x in zip(ctx.needs_input_grad[:6], inputs)]
    if dx is None:
        dx = p.new_zeros(ctx.x_shape)
    grads = torch.ops.dopt.qp_backward(Q, p, G, h, A, b, dx, dlam, dnu, *ctx.opts, wanted)
    return (*(g if want else None for g, want in zip(grads, wanted)), None, None, None, None, None)


_qp_solve_op.register_autograd(_qp_solve_backward, setup_context=_qp_solve_setup)


# ---- public API ----------------------------------------------------------------

def _run(where, Q, p, G, h, A, b, tol, tol_inf, max_iter, refine, closest=False):
    inputs, _ = _prepare(where, Q, p, G, h, A, b)
    return _run_prepared(where, inputs, tol, tol_inf, max_iter, refine, closest)


def _run_prepared(where, inputs, tol, tol_inf, max_iter, refine, closest=False):
    args = tuple(inputs[name] for name in _NAMES)
    opts = _options(where, tol, tol_inf, max_iter, refine) + (bool(closest),)
    if torch.compiler.is_compiling():
        return QPResult(*torch.ops.dopt.qp_solve(*args, *opts))
    if torch.is_grad_enabled() and any(x is not None and x.requires_grad for x in args):
        return QPResult(*_QPFn.apply(opts, *args))
    res = _qp.solve(*args, tol=opts[0], tol_inf=opts[1], max_iter=opts[2], refine=opts[3], closest_feasible=opts[4])
    return QPResult(res.x, res.lam, res.nu, res.status)


def qp(Q, p, G=None, h=None, A=None, b=None, *, tol=None, tol_inf=None, max_iter=None, refine=None,
       closest_feasible=False):
    """Solves the batch of QPs  min 1/2 x'Qx + p'x  s.t.  Gx <= h, Ax = b  and
    returns QPResult(x, lam, nu, status), differentiable in all six inputs
    through x, lam and nu (status is not differentiable).

    Shapes: Q (n, n), p (n,), G (m, n), h (m,), A (k, n), b (k,), each with an
    optional leading batch dimension B; an input without one (or with B = 1)
    is shared by the batch and gets the sum of the per-instance gradients
    (autograd's broadcasting rule). Without any batched input the outputs have
    no leading B. Q = None (or empty) is an LP; G, h or A, b = None (or empty
    tensors) mean no inequalities or no equalities. h may hold +inf.

    tol: relative KKT residual and gap (default 1e-8 in float64, 1e-6 in
    float32); tol_inf: infeasibility certificates (1e-9 / 1e-6); max_iter
    (50); refine: iterative refinement steps per KKT solve (2).
    closest_feasible=True: an instance with infeasible constraints gets the
    solution of the closest feasible problem (h, b shifted by the least-norm
    shift), status SOLVED_CLOSEST_FEASIBLE (7), and the total derivative of x
    (docs/QP.md, "Closest feasible problems"; uniform batches only).

    SOLVED_REDUCED_ACCURACY (the tolerance was out of the precision's reach;
    100 tol, at most 1e-3, was met) counts as solved, with gradients.
    Instances that are not solved (status != SOLVED: infeasible, unbounded,
    iteration limit, NaN/Inf data or a Q that is not PSD) come back with their
    status and contribute zero gradient; the others are unaffected. All inputs
    must share one dtype (float32 or float64) and one device (CPU or CUDA; the
    solve runs on torch's current stream). Non-contiguous inputs are copied.

    Ragged batches: give p as a LIST of per-instance tensors (p_i (n_i,))
    and every other present input as a list of the same length (Q_i (n_i,
    n_i), G_i (m_i, n_i), h_i (m_i,), A_i (k_i, n_i), b_i (k_i,); None, or
    None / empty entries, where an instance has no such block). The batch is
    solved in one call (dopt.torch.qp_ragged) and x, lam, nu come back as
    lists of per-instance tensors; status is a (B,) tensor."""
    if _ragged.is_list(p):
        if closest_feasible:
            raise ValueError("dopt.torch.qp: closest_feasible is for uniform batches, not lists (ragged)")
        return _qp_list("dopt.torch.qp", Q, p, G, h, A, b, tol, tol_inf, max_iter, refine)
    return _run("dopt.torch.qp", Q, p, G, h, A, b, tol, tol_inf, max_iter, refine, closest_feasible)


class QPFunction:
    """qpth's QPFunction on dopt: ``QPFunction(eps=1e-12, verbose=0,
    notImprovedLim=3, maxIter=20)(Q, p, G, h, A, b)`` returns the solutions x,
    shaped (nBatch, nz) as in qpth (also for unbatched inputs, nBatch = 1).

    Inputs follow qpth's rules: each either batched (leading nBatch) or not
    (shared by the batch); an empty tensor (``torch.Tensor()``) for an absent
    block (no equalities, no inequalities or, as a dopt extension, no Q: an
    LP). An input with a leading dimension of 1 is also shared (qpth does not
    accept that form).

    Arguments and how they map onto dopt's solver:

    * eps: qpth stops when the sum over its residual norms (absolute,
      unscaled) falls below eps, or after notImprovedLim iterations without
      improvement; its default 1e-12 is rarely reached and means "as accurate
      as the iterations allow". dopt stops on relative residuals and gap:
      tol = max(eps, 1e-8 in float64 / 1e-6 in float32), i.e. eps below
      dopt's default tolerance gives the default (the tightest it reaches
      reliably in the default iteration budget), a larger eps loosens it.
      Pass tol= to set dopt's tolerance directly.
    * maxIter -> max_iter (as given; dopt's solver typically needs 8-15
      iterations at the default tolerance).
    * verbose: >= 0 warns (warnings.warn) when instances were not solved
      (their x is the last iterate, or zero for invalid data, and their
      gradients are zero); -1 is silent. The check reads the statuses, a
      device synchronization on CUDA; it is skipped under torch.compile.
    * notImprovedLim, solver, check_Q_spd: accepted and ignored; dopt runs its
      own interior-point method and checks Q per instance (an instance whose
      Q is not PSD gets status INVALID_DATA instead of an exception).

    Gradients: for all six inputs. A shared input gets the SUM of the
    per-instance gradients (autograd's broadcasting rule). qpth returns the
    MEAN over the batch for inputs given without a batch dimension (its
    backward divides by nBatch), so its gradients for shared inputs are 1/nBatch
    times dopt's; batched inputs get the same gradients in both."""

    def __init__(self, eps=1e-12, verbose=0, notImprovedLim=3, maxIter=20, solver=QPSolvers.PDIPM_BATCHED,
                 check_Q_spd=True, *, tol=None, tol_inf=None, refine=None):
        if not (eps >= 0):
            raise ValueError(f"QPFunction: eps must be >= 0; got {eps}")
        if int(maxIter) < 1:
            raise ValueError(f"QPFunction: maxIter must be >= 1; got {maxIter}")
        self.eps = float(eps)
        self.verbose = int(verbose)
        self.notImprovedLim = notImprovedLim
        self.maxIter = int(maxIter)
        self.solver = solver
        self.check_Q_spd = check_Q_spd
        self.tol, self.tol_inf, self.refine = tol, tol_inf, refine

    def __repr__(self):
        return f"QPFunction(eps={self.eps}, maxIter={self.maxIter}, verbose={self.verbose})"

    def tolerance(self, dtype):
        """dopt's tol for a solve in `dtype` (the eps mapping above)."""
        if self.tol is not None:
            return float(self.tol)
        return max(self.eps, _DEFAULT_TOL[dtype])

    def __call__(self, Q, p, G, h, A, b):
        where = "QPFunction"
        if _ragged.is_list(p):  # a ragged batch: lists in, a list of x_i (n_i,) out
            lists, dtype = _prepare_lists(where, Q, p, G, h, A, b)
            res = _qp_list_prepared(where, lists, self.tolerance(dtype), self.tol_inf, self.maxIter, self.refine)
            if self.verbose >= 0 and not torch.compiler.is_compiling():
                _warn_unsolved(res.status)
            return res.x
        inputs, dtype = _prepare(where, Q, p, G, h, A, b)
        x, _, _, status = _run_prepared(where, inputs, self.tolerance(dtype), self.tol_inf, self.maxIter,
                                        self.refine)
        if x.dim() == 1:
            x = x.unsqueeze(0)
        if self.verbose >= 0 and not torch.compiler.is_compiling():
            _warn_unsolved(status)
        return x


def _warn_unsolved(status):
    unsolved = (status != 0) & (status != 6)  # SOLVED_REDUCED_ACCURACY has a solution and gradients
    if not bool(unsolved.any()):
        return
    from .. import InstanceStatus
    codes, counts = torch.unique(status.reshape(-1)[unsolved.reshape(-1)].cpu(), return_counts=True)
    what = ", ".join(f"{int(c)} {InstanceStatus(int(k)).name}" for k, c in zip(codes, counts))
    warnings.warn(f"dopt QPFunction: {int(unsolved.sum())} of {status.numel()} instances not solved ({what}); "
                  "their x is not a solution and their gradients are zero (use dopt.torch.qp for the statuses)",
                  RuntimeWarning, stacklevel=3)


# ---- ragged batches ------------------------------------------------------------------

class _QPRaggedFn(torch.autograd.Function):
    """The ragged layer on flat (concatenated) tensors; sizes: host int32 (n, m, k)."""

    @staticmethod
    def forward(ctx, opts, sizes, Q, p, G, h, A, b):
        tol, tol_inf, max_iter, refine = opts
        n, m, k = sizes
        res = _qp.solve_ragged(n, m, k, Q, p, G, h, A, b, tol=tol, tol_inf=tol_inf, max_iter=max_iter,
                               refine=refine, dtype=p.dtype, record=True)
        ctx.tape = res.tape
        ctx.save_for_backward(Q, p, G, h, A, b)  # refuses a backward after an in-place change
        ctx.mark_non_differentiable(res.status)
        ctx.set_materialize_grads(False)
        return res.x, res.lam, res.nu, res.status

    @staticmethod
    @once_differentiable
    def backward(ctx, dx, dlam, dnu, _dstatus):
        ctx.saved_tensors  # noqa: B018  (the in-place modification check)
        wanted = tuple(name for name, need in zip(_NAMES, ctx.needs_input_grad[2:]) if need)
        if not wanted or (dx is None and dlam is None and dnu is None):
            return (None,) * 8
        tape = ctx.tape
        if dx is None:
            like = dlam if dlam is not None else dnu
            dx = torch.zeros((tape.spec.sum_n,), dtype=like.dtype, device=like.device)
        grads = _qp.backward(tape, dx, dlam, dnu, wanted=wanted)
        return (None, None, *(grads.get(name) for name in _NAMES))


_RAGGED_LAYOUT = {"Q": "n_i * n_i", "p": "n_i", "G": "m_i * n_i", "h": "m_i", "A": "k_i * n_i", "b": "k_i"}


def _run_ragged(where, sizes, flats, tol, tol_inf, max_iter, refine):
    """The ragged solve on checked flat tensors; autograd when an input needs it."""
    opts = _options(where, tol, tol_inf, max_iter, refine)
    args = tuple(flats[name] for name in _NAMES)
    if torch.is_grad_enabled() and any(x is not None and x.requires_grad for x in args):
        return QPResult(*_QPRaggedFn.apply(opts, sizes, *args))
    n, m, k = sizes
    res = _qp.solve_ragged(n, m, k, *args, tol=opts[0], tol_inf=opts[1], max_iter=opts[2], refine=opts[3],
                           dtype=flats["p"].dtype)
    return QPResult(res.x, res.lam, res.nu, res.status)


def qp_ragged(n, m, k, Q, p, G=None, h=None, A=None, b=None, *, n_ptr=None, m_ptr=None, k_ptr=None, tol=None,
              tol_inf=None, max_iter=None, refine=None):
    """The QP layer on a ragged batch in the concatenated (PyG-style) layout:
    B instances of sizes n, m, k (B,) (integer tensors, arrays or lists; m or
    k None: 0 everywhere), or offsets n_ptr, m_ptr, k_ptr (B + 1,) with
    sizes = diff(ptr) (PyG's `ptr`). Q, p, G, h, A, b: 1-D tensors, each
    instance's row-major block concatenated in order (Q: sum n_i^2 values,
    p: sum n_i, G: sum m_i n_i, h: sum m_i, A: sum k_i n_i, b: sum k_i); Q
    None: LPs; G, h (A, b) None when every m_i (k_i) is 0.

    Returns QPResult(x (sum n_i), lam (sum m_i), nu (sum k_i), status (B,)),
    concatenated in the same order, differentiable in the six inputs (their
    gradients in the same layouts). Each instance's solution is bitwise the
    one of solving it alone (same backend). Sizes given as CUDA tensors are
    copied to the host (the library plans the batch there).

    Under torch.compile the call is the custom operator dopt::qp_ragged_solve
    (sizes or ptr offsets as integer tensors; output shapes follow from p's,
    h's and b's, so fullgraph=True works); its backward solves again, as the
    uniform layer's compiled path does."""
    if torch.compiler.is_compiling():
        return _qp_ragged_compiled(n, m, k, Q, p, G, h, A, b, n_ptr, m_ptr, k_ptr, tol, tol_inf, max_iter, refine)
    return _qp_ragged_eager(n, m, k, Q, p, G, h, A, b, n_ptr, m_ptr, k_ptr, tol, tol_inf, max_iter, refine)


@torch.compiler.disable
def _qp_ragged_eager(n, m, k, Q, p, G, h, A, b, n_ptr, m_ptr, k_ptr, tol, tol_inf, max_iter, refine):
    where = "dopt.torch.qp_ragged"
    n = _ragged.host_sizes(n, n_ptr, "n", where)
    m = _ragged.host_sizes(m, m_ptr, "m", where, n.shape[0], default_zero=True)
    k = _ragged.host_sizes(k, k_ptr, "k", where, n.shape[0], default_zero=True)
    check = _ragged.TensorChecker(where)
    flats = {}
    for name, x in zip(_NAMES, (Q, p, G, h, A, b)):
        if x is None:
            flats[name] = None
            continue
        check(x, name)
        if x.dim() != 1:
            raise ValueError(f"{where}: {name} must be 1-D, the concatenation of every instance's "
                             f"{_RAGGED_LAYOUT[name]} values; got shape {tuple(x.shape)}")
        flats[name] = x
    if flats["p"] is None:
        raise ValueError(f"{where}: p (the linear terms) is required")
    return _run_ragged(where, (n, m, k), flats, tol, tol_inf, max_iter, refine)


# ---- the compiled path: custom operators on size tensors ----------------------------

def _size_tensor(value, ptr, name, like, batch=None):
    """Sizes as an int32 CPU tensor for the operators (traceable: ptr -> diff)."""
    where = "dopt.torch.qp_ragged"
    if value is not None and ptr is not None:
        raise ValueError(f"{where}: give {name} either as sizes or as {name}_ptr offsets, not both")
    if ptr is not None:
        value = torch.as_tensor(ptr)
        value = value[1:] - value[:-1]
    elif value is None:
        if batch is None:
            raise ValueError(f"{where}: the sizes {name} are required (or {name}_ptr)")
        return torch.zeros(batch, dtype=torch.int32)
    return torch.as_tensor(value).to(device="cpu", dtype=torch.int32)


def _qp_ragged_compiled(n, m, k, Q, p, G, h, A, b, n_ptr, m_ptr, k_ptr, tol, tol_inf, max_iter, refine):
    opts = _options("dopt.torch.qp_ragged", tol, tol_inf, max_iter, refine)
    nt = _size_tensor(n, n_ptr, "n", p)
    mt = _size_tensor(m, m_ptr, "m", p, nt.shape[0])
    kt = _size_tensor(k, k_ptr, "k", p, nt.shape[0])
    return QPResult(*torch.ops.dopt.qp_ragged_solve(nt, mt, kt, Q, p, G, h, A, b, *opts))


def _host(sizes):
    return np.ascontiguousarray(sizes.cpu().numpy(), dtype=np.int32)


@torch.library.custom_op("dopt::qp_ragged_solve", mutates_args=())
def _qp_ragged_solve_op(n: torch.Tensor, m: torch.Tensor, k: torch.Tensor, Q: Optional[torch.Tensor], p: torch.Tensor,
                        G: Optional[torch.Tensor], h: Optional[torch.Tensor], A: Optional[torch.Tensor],
                        b: Optional[torch.Tensor], tol: float, tol_inf: float, max_iter: int,
                        refine: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A ragged batch's solution (x, lam, nu, status); n, m, k int32 (B,)."""
    res = _qp.solve_ragged(_host(n), _host(m), _host(k), Q, p, G, h, A, b, tol=tol, tol_inf=tol_inf,
                           max_iter=max_iter, refine=refine, dtype=p.dtype)
    return res.x, res.lam, res.nu, res.status


@_qp_ragged_solve_op.register_fake
def _qp_ragged_solve_fake(n, m, k, Q, p, G, h, A, b, tol, tol_inf, max_iter, refine):
    lam = p.new_empty(h.shape) if h is not None else p.new_empty(0)
    nu = p.new_empty(b.shape) if b is not None else p.new_empty(0)
    return p.new_empty(p.shape), lam, nu, p.new_empty(n.shape, dtype=torch.int32)


@torch.library.custom_op("dopt::qp_ragged_backward", mutates_args=())
def _qp_ragged_backward_op(n: torch.Tensor, m: torch.Tensor, k: torch.Tensor, Q: Optional[torch.Tensor],
                           p: torch.Tensor, G: Optional[torch.Tensor], h: Optional[torch.Tensor],
                           A: Optional[torch.Tensor], b: Optional[torch.Tensor], dx: torch.Tensor,
                           dlam: Optional[torch.Tensor], dnu: Optional[torch.Tensor], tol: float, tol_inf: float,
                           max_iter: int, refine: int,
                           wanted: list[bool]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                                                        torch.Tensor, torch.Tensor]:
    """Gradients (dQ, dp, dG, dh, dA, db) in the concatenated layouts: solves
    again with a tape (a tape cannot pass through an operator), then the
    backward. Unwanted or absent inputs get an empty tensor."""
    names = tuple(name for name, want in zip(_NAMES, wanted) if want)
    res = _qp.solve_ragged(_host(n), _host(m), _host(k), Q, p, G, h, A, b, tol=tol, tol_inf=tol_inf,
                           max_iter=max_iter, refine=refine, dtype=p.dtype, record=True)
    grads = _qp.backward(res.tape, dx, dlam, dnu, wanted=names) if names else {}
    return tuple(grads[name] if grads.get(name) is not None else p.new_empty(0) for name in _NAMES)


@_qp_ragged_backward_op.register_fake
def _qp_ragged_backward_fake(n, m, k, Q, p, G, h, A, b, dx, dlam, dnu, tol, tol_inf, max_iter, refine, wanted):
    return tuple(x.new_empty(x.shape) if (want and x is not None) else p.new_empty(0)
                 for x, want in zip((Q, p, G, h, A, b), wanted))


def _qp_ragged_setup(ctx, inputs, output):
    n, m, k, Q, p, G, h, A, b, tol, tol_inf, max_iter, refine = inputs
    ctx.save_for_backward(n, m, k, Q, p, G, h, A, b)
    ctx.opts = (tol, tol_inf, max_iter, refine)


def _qp_ragged_grad(ctx, dx, dlam, dnu, _dstatus):
    n, m, k, Q, p, G, h, A, b = ctx.saved_tensors
    inputs = (Q, p, G, h, A, b)
    wanted = [bool(need) and x is not None for need, x in zip(ctx.needs_input_grad[3:9], inputs)]
    if dx is None:
        dx = p.new_zeros(p.shape)
    grads = torch.ops.dopt.qp_ragged_backward(n, m, k, Q, p, G, h, A, b, dx, dlam, dnu, *ctx.opts, wanted)
    return (None, None, None, *(g if want else None for g, want in zip(grads, wanted)), None, None, None, None)


_qp_ragged_solve_op.register_autograd(_qp_ragged_grad, setup_context=_qp_ragged_setup)


def _prepare_lists(where, Q, p, G, h, A, b):
    """Checks a list-form call; returns ({name: list or None}, sizes, dtype)."""
    inputs = {"Q": Q, "p": p, "G": G, "h": h, "A": A, "b": b}
    B = _ragged.check_lists(where, "p", inputs)
    check = _ragged.TensorChecker(where)
    n = [0] * B
    for i, x in enumerate(p):
        check(x, f"p[{i}]")
        if x.dim() != 1:
            raise ValueError(f"{where}: p[{i}] must be (n_i,); got shape {tuple(x.shape)}")
        n[i] = x.shape[0]
    if Q is not None:
        for i, x in enumerate(Q):
            if x is None:
                raise ValueError(f"{where}: Q[{i}] is None; give Q = None for LPs, or a Q_i for every instance "
                                 "(zeros for an LP instance)")
            check(x, f"Q[{i}]")
            if tuple(x.shape) != (n[i], n[i]):
                raise ValueError(f"{where}: Q[{i}] must be (n_i, n_i) = ({n[i]}, {n[i]}) to match p[{i}]; got "
                                 f"{tuple(x.shape)}")
    rows = {}
    for mat, vec, letter in (("G", "h", "m"), ("A", "b", "k")):
        mats, vecs = inputs[mat], inputs[vec]
        if (mats is None) != (vecs is None):
            raise ValueError(f"{where}: {mat} and {vec} come together; got only {mat if mats is not None else vec}")
        counts = [0] * B
        if mats is not None:
            for i in range(B):
                Mi, vi = mats[i], vecs[i]
                # an empty block must still have the instance's width: a (0, w)
                # block with w != n_i is a mistake in the caller's data
                if Mi is not None and Mi.numel() == 0 and Mi.dim() == 2 and Mi.shape[1] != n[i]:
                    raise ValueError(f"{where}: {mat}[{i}] must be ({letter}_i, n_i) with n_i = {n[i]} (from "
                                     f"p[{i}]); got the empty block {tuple(Mi.shape)}")
                if vi is not None and vi.numel() == 0 and vi.dim() != 1:
                    raise ValueError(f"{where}: {vec}[{i}] must be (0,) for an empty block; got {tuple(vi.shape)}")
                Mi = None if Mi is None or Mi.numel() == 0 else Mi
                vi = None if vi is None or vi.numel() == 0 else vi
                if (Mi is None) != (vi is None):
                    raise ValueError(f"{where}: {mat}[{i}] and {vec}[{i}] come together; got only "
                                     f"{mat if Mi is not None else vec}[{i}]")
                if Mi is None:  # an instance without this block
                    continue
                check(Mi, f"{mat}[{i}]")
                check(vi, f"{vec}[{i}]")
                if Mi.dim() != 2 or Mi.shape[1] != n[i]:
                    raise ValueError(f"{where}: {mat}[{i}] must be ({letter}_i, n_i) with n_i = {n[i]} (from "
                                     f"p[{i}]); got {tuple(Mi.shape)}")
                if tuple(vi.shape) != (Mi.shape[0],):
                    raise ValueError(f"{where}: {vec}[{i}] must be ({Mi.shape[0]},) to match {mat}[{i}]; got "
                                     f"{tuple(vi.shape)}")
                counts[i] = Mi.shape[0]
        rows[letter] = counts
    lists = {name: (None if inputs[name] is None else
                    [None if x is None or x.numel() == 0 and name != "p" else x for x in inputs[name]])
             for name in _NAMES}
    return (lists, (n, rows["m"], rows["k"])), check.dtype


# host size vectors and ctypes calls: a graph break under torch.compile, by design
@torch.compiler.disable
def _qp_list_prepared(where, prepared, tol, tol_inf, max_iter, refine):
    lists, (n, m, k) = prepared
    flats = {name: (None if lists[name] is None else _ragged.concat(lists[name])) for name in _NAMES}
    if flats["p"] is None:  # an empty batch
        raise ValueError(f"{where}: the ragged batch is empty (p = []); nothing to solve")
    sizes = tuple(np.asarray(v, dtype=np.int32) for v in (n, m, k))
    res = _run_ragged(where, sizes, flats, tol, tol_inf, max_iter, refine)
    return QPResult(_ragged.split(res.x, n), _ragged.split(res.lam, m), _ragged.split(res.nu, k), res.status)


# host size vectors and ctypes calls: a graph break under torch.compile, by design
@torch.compiler.disable
def _qp_list(where, Q, p, G, h, A, b, tol, tol_inf, max_iter, refine):
    prepared, _ = _prepare_lists(where, Q, p, G, h, A, b)
    return _qp_list_prepared(where, prepared, tol, tol_inf, max_iter, refine)
