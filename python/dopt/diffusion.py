"""Diffusion sampling for MILP solutions (SRG: score-based generation with
Lagrangian guidance). docs/DIFFUSION.md has the conventions; in short:

    forward   x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps
    network   predicts eps; score = -eps_hat / sqrt(1 - abar_t)
    MILPs     A x >= b (SRG's form), objective c, optional reference x*
    guidance  O(x) = |c .* (x - x*)|_1,  P(x) = lambda |max(b - A x, 0)|_1,
              eps_guided = eps_hat + sqrt(1 - abar_t) (gamma_o dO/dx + gamma_c dP/dx)
    target    (eq. 19) eps + sqrt(abar_t) (gamma_o c .* sign(c .* ([x_t] - x*))
                                          - gamma_c lambda A' 1[A [x_t] < b])

The state is (rows, n) with rows = batch * samples (row r belongs to instance
r // samples), or (batch, samples, n). The network is the caller's: it writes
eps_hat for every row between steps. Noise comes from Philox as a pure
function of (seed, row, step): the same on every backend and thread count.

Functions take numpy arrays (CPU backend, numpy out) or torch tensors (their
device, torch's current stream, tensors out); nothing here is differentiable
(tensors are read detached). The torch loops of SRG are in dopt.torch.
"""

import ctypes
import math
import sys
from typing import NamedTuple

import numpy as np

from . import _arrays
from . import _lib
from .bern import check_csr, resolve_matrix
from ._lib import c_double, c_int, c_int32, c_int64, c_void_p

SCHEDULES = {"linear": 0, "cosine": 1}
SAMPLERS = {"ddpm": 0, "ddim": 1}
SHARE_A, SHARE_B, SHARE_C = 1, 2, 4


class _Guide(ctypes.Structure):
    _fields_ = [("batch", c_int64), ("n", c_int32), ("m", c_int32), ("samples", c_int32), ("dtype", c_int),
                ("row_ptr", c_void_p), ("col_idx", c_void_p), ("values", c_void_p), ("b", c_void_p),
                ("c", c_void_p), ("xref", c_void_p), ("shared", ctypes.c_uint32)]


class _Guidance(ctypes.Structure):
    _fields_ = [("gamma_o", c_double), ("gamma_c", c_double), ("lambda_", c_double)]


class _StepDesc(ctypes.Structure):
    _fields_ = [("sampler", c_int), ("abar", c_void_p), ("t", c_int32), ("t_prev", c_int32), ("eta", c_double),
                ("seed", ctypes.c_uint64)]


for _mirror, _c_name in ((_Guide, "dopt_diffusion_guide"), (_Guidance, "dopt_guidance"),
                         (_StepDesc, "dopt_diffusion_step_desc")):
    _lib.check_struct(_mirror, _c_name)

_P = ctypes.POINTER
_schedule = _lib.declare("dopt_diffusion_schedule", c_int, c_int, c_int32, c_void_p)
_guidance_default = _lib.declare("dopt_guidance_default", None, _P(_Guidance))
_step = _lib.declare("dopt_diffusion_step", c_int, c_void_p, _P(_StepDesc), c_int64, c_int32, c_int, c_void_p,
                     c_void_p, _P(_Guide), _P(_Guidance))
_noise = _lib.declare("dopt_diffusion_noise", c_int, c_void_p, c_int64, c_int32, c_int, c_void_p, c_double,
                      ctypes.c_uint64, ctypes.c_uint32, c_void_p, c_void_p)
_target = _lib.declare("dopt_srg_target", c_int, c_void_p, _P(_Guide), _P(_Guidance), c_void_p, c_void_p, c_double,
                       c_int, c_void_p)
_candidates = _lib.declare("dopt_diffusion_candidates", c_int, c_void_p, _P(_Guide), c_void_p, c_int, c_double,
                           c_void_p, c_void_p, c_void_p, c_void_p)
_mixture = _lib.declare("dopt_diffusion_mixture_eps", c_int, c_void_p, c_int32, c_int32, c_void_p, c_void_p,
                        c_void_p, c_double, c_int64, c_void_p, c_void_p)


# ---- schedule and guidance weights -------------------------------------------------

def schedule(T, kind="linear"):
    """abar (T + 1,) float64 numpy: abar[0] = 1, abar[t] = prod_{s<=t} (1 - beta_s)
    (dopt_diffusion_schedule). kind "linear" (Ho et al.: beta 1e-4 .. 0.02 at
    T = 1000, both scaled by 1000/T otherwise) or "cosine" (Nichol & Dhariwal,
    offset 0.008, beta <= 0.999)."""
    if kind not in SCHEDULES:
        raise ValueError(f"diffusion.schedule: kind must be one of {sorted(SCHEDULES)}; got {kind!r}")
    T = int(T)
    if not 1 <= T <= 1000000:
        raise ValueError(f"diffusion.schedule: T must be in [1, 10^6]; got {T}")
    abar = np.empty(T + 1, dtype=np.float64)
    status = _schedule(SCHEDULES[kind], T, abar.ctypes.data)
    if status != _lib.OK:
        raise _lib.Error(status, "diffusion.schedule")
    return abar


class Guidance(NamedTuple):
    """Weights of SRG's guidance: gamma_o on O(x) = |c .* (x - x*)|_1, gamma_c
    on P(x) = lam |max(b - Ax, 0)|_1 (lam: the Lagrange multiplier, C's
    `lambda`)."""
    gamma_o: float = 0.0
    gamma_c: float = 1.0
    lam: float = 1.0


def guidance_default():
    """dopt_guidance_default: gamma_o = 0 (no objective term), gamma_c = 1, lam = 1."""
    g = _Guidance()
    _guidance_default(ctypes.byref(g))
    return Guidance(g.gamma_o, g.gamma_c, g.lambda_)


def _guidance_struct(guidance):
    if guidance is None:
        guidance = guidance_default()
    if isinstance(guidance, dict):
        guidance = Guidance(**guidance)
    if not isinstance(guidance, tuple) or len(guidance) != 3:
        raise TypeError(f"diffusion: guidance must be a Guidance(gamma_o, gamma_c, lam) or None; got {guidance!r}")
    values = [float(v) for v in guidance]
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"diffusion: guidance weights must be finite; got {guidance}")
    return _Guidance(*values), Guidance(*values)


# ---- the MILP batch -------------------------------------------------------------

def _dense_to_csr(A, batched):
    """Nonzeros of dense A ((m, n) or (batch, m, n)) as CSR with absolute
    offsets, in A's own kind (numpy or torch) and dtype."""
    if _arrays.is_tensor(A):
        torch = sys.modules["torch"]
        A3 = A.detach() if batched else A.detach()[None]
        Bb, m, n = A3.shape
        mask = A3 != 0
        counts = mask.sum(-1).reshape(-1).to(torch.int64)
        starts = torch.cat([torch.zeros(1, dtype=torch.int64, device=A.device), torch.cumsum(counts, 0)])
        idx = torch.arange(Bb, device=A.device)[:, None] * m + torch.arange(m + 1, device=A.device)[None, :]
        row_ptr = starts[idx]
        col_idx = torch.nonzero(mask)[:, 2].to(torch.int32)
        values = A3[mask]
    else:
        A3 = A if batched else A[None]
        Bb, m, n = A3.shape
        mask = A3 != 0
        counts = mask.sum(-1).reshape(-1).astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        idx = np.arange(Bb)[:, None] * m + np.arange(m + 1)[None, :]
        row_ptr = starts[idx]
        col_idx = np.nonzero(mask)[2].astype(np.int32)
        values = A3[mask]
    return (row_ptr if batched else row_ptr[0]), col_idx, values


class Guide:
    """A batch of MILPs  A x >= b  with objective c  (and optionally reference
    solutions x* for the objective guidance O and the training targets), for
    guidance, targets and candidates. Build it once and pass it to every step.

    A: dense (m, n) / (batch, m, n) (its nonzeros are taken, a copy), or CSR
    in any form dopt.bern accepts (scipy.sparse, a list of them, (row_ptr,
    col_idx, values) with absolute offsets, a torch sparse CSR tensor). b (m,)
    or (batch, m); c (n,) or (batch, n) (required); xref (n,) or (batch, n) or
    None. Inputs without a batch dimension are shared. All numpy, or tensors
    on one device (calls with x elsewhere or in another dtype convert the
    guide's arrays once and keep the conversion). CSR offsets outside the
    arrays and column indices outside [0, n) raise ValueError here (the
    library also checks each call's guide); a column listed twice in a row
    counts as the sum of its entries; A may have no entries at all."""

    def __init__(self, A, b, c, xref=None):
        where = "diffusion.Guide"
        if c is None:
            raise ValueError(f"{where}: c (the objective) is required")
        b = _arrays.as_shape_source(b)
        c = _arrays.as_shape_source(c)
        xref = _arrays.as_shape_source(xref)
        mat = resolve_matrix(A, where)
        if mat is None:
            raise ValueError(f"{where}: A is required (give an (0, n) matrix for no constraints)")
        if _arrays.ndim(c) not in (1, 2):
            raise ValueError(f"{where}: c must be (n,) or (batch, n); got shape {_arrays.shape(c)}")
        self.n = _arrays.shape(c)[-1]
        self.m = mat.m
        if mat.n is not None and mat.n != self.n:
            raise ValueError(f"{where}: A has {mat.n} columns but c has n = {self.n}")
        if _arrays.ndim(b) not in (1, 2) or _arrays.shape(b)[-1] != self.m:
            raise ValueError(f"{where}: b must be (m,) or (batch, m) with m = {self.m} (A's rows); got shape "
                             f"{_arrays.shape(b)}")
        batches = {"A": mat.batch, "b": _arrays.shape(b)[0] if _arrays.ndim(b) == 2 else None,
                   "c": _arrays.shape(c)[0] if _arrays.ndim(c) == 2 else None}
        if xref is not None:
            if _arrays.ndim(xref) not in (1, 2) or _arrays.shape(xref)[-1] != self.n:
                raise ValueError(f"{where}: xref must be (n,) or (batch, n) with n = {self.n}; got shape "
                                 f"{_arrays.shape(xref)}")
            batches["xref"] = _arrays.shape(xref)[0] if _arrays.ndim(xref) == 2 else None
        sizes = {k: v for k, v in batches.items() if v is not None and v != 1}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"{where}: batch sizes differ: {sizes}")
        self.batch = next(iter(sizes.values()), 1)
        self.shared = 0
        for bit, name in ((SHARE_A, "A"), (SHARE_B, "b"), (SHARE_C, "c")):
            if batches[name] is None or batches[name] == 1:
                self.shared |= bit
        if mat.is_csr:
            row_ptr, col_idx, values = mat.row_ptr, mat.col_idx, mat.values
            if mat.batch == 1:
                row_ptr = row_ptr[0]
        else:
            dense = mat.dense[0] if mat.batch == 1 else mat.dense
            row_ptr, col_idx, values = _dense_to_csr(dense, _arrays.ndim(dense) == 3)
        if _arrays.ndim(b) == 2 and _arrays.shape(b)[0] == 1:
            b = b[0]
        if _arrays.ndim(c) == 2 and _arrays.shape(c)[0] == 1:
            c = c[0]
        if xref is not None and (_arrays.ndim(xref) == 1 or _arrays.shape(xref)[0] != self.batch):
            # the library reads x* per instance: broadcast a shared one (a copy)
            x1 = xref.reshape(1, self.n) if _arrays.ndim(xref) == 1 else xref
            xref = x1.expand(self.batch, self.n) if _arrays.is_tensor(x1) else np.broadcast_to(x1, (self.batch,
                                                                                                   self.n))
        self._src = {"row_ptr": row_ptr, "col_idx": col_idx, "values": values, "b": b, "c": c, "xref": xref}
        placement = _arrays.placement_of(*self._src.values())
        self._home = placement
        # once, at construction: a ValueError naming the guide, earlier than the
        # library's own per-call check (which also cannot see offsets past the
        # arrays' end: it is not told their length)
        check_csr(_arrays.operand(row_ptr, placement, "int64", "row_ptr"),
                  _arrays.operand(col_idx, placement, "int32", "col_idx"), self.n, where, check_columns=True)
        self._cache = {}

    @property
    def device(self):
        """The torch device of the guide's own arrays, or None for numpy."""
        return self._home.device if self._home.torch else None

    @property
    def has_xref(self):
        return self._src["xref"] is not None

    def _operands(self, placement, code):
        key = (str(placement.device) if placement.torch else "numpy", code)
        ops = self._cache.get(key)
        if ops is None:
            ops = {}
            for name, value in self._src.items():
                if value is None:
                    ops[name] = None
                else:
                    kind = {"row_ptr": "int64", "col_idx": "int32"}.get(name, code)
                    ops[name] = _arrays.operand(value, placement, kind, name)
            self._cache[key] = ops
        return ops

    def struct(self, placement, code, samples, xref_fallback=None):
        """(the dopt_diffusion_guide struct, the operands it points into)."""
        ops = self._operands(placement, code)
        xref = ops["xref"] if ops["xref"] is not None else xref_fallback
        g = _Guide(self.batch, self.n, self.m, samples, code, *(_arrays.pointer(ops[k]) for k in
                                                               ("row_ptr", "col_idx", "values", "b", "c")),
                   _arrays.pointer(xref), self.shared)
        return g, (ops, xref)


# ---- states -----------------------------------------------------------------------

def _rows_view(x, name, where, n=None):
    """x as (rows, n) (x may be (n,), (rows, n) or (batch, samples, n)):
    returns (2-D operand source, original shape, samples from a 3-D shape)."""
    x = _arrays.as_shape_source(x)
    shape = _arrays.shape(x)
    if len(shape) not in (1, 2, 3) or shape[-1] < 1:
        raise ValueError(f"{where}: {name} must be (n,), (rows, n) or (batch, samples, n); got shape {shape}")
    if n is not None and shape[-1] != n:
        raise ValueError(f"{where}: {name} must have n = {n} columns; got shape {shape}")
    samples = shape[1] if len(shape) == 3 else None
    return x.reshape(-1, shape[-1]), shape, samples


def _same_shape(a, b_shape, name, where):
    if _arrays.shape(a) != tuple(b_shape):
        raise ValueError(f"{where}: {name} must have the shape of x, {tuple(b_shape)}; got {_arrays.shape(a)}")


def _samples_for(guide, rows, samples3, where):
    if samples3 is not None:
        if rows != guide.batch * samples3:
            raise ValueError(f"{where}: x is (batch, samples, n) with batch {rows // samples3} but the guide has "
                             f"batch {guide.batch}")
        return samples3
    if rows % guide.batch != 0 or rows == 0:
        raise ValueError(f"{where}: x has {rows} rows, not a positive multiple of the guide's batch {guide.batch} "
                         "(rows = batch * samples, instance-major)")
    return rows // guide.batch


def _copy_operand(x, placement, code, name):
    """A fresh contiguous array of `code` holding x (never x's own memory)."""
    out = _arrays.operand(x, placement, code, name)
    if _arrays.is_tensor(out):
        if _arrays.is_tensor(x) and out.data_ptr() == x.data_ptr():
            out = out.clone()
    elif isinstance(x, np.ndarray) and np.shares_memory(out, x):
        out = out.copy()
    return out


def _inplace_operand(view, given, placement, code, name, where):
    """`given` (as its rows view) to be written in place: its own memory,
    writable, and not an autograd input; else a ValueError, never a silent
    write into a temporary copy (or into a read-only array)."""
    out = _arrays.operand(view, placement, code, name)
    if _arrays.pointer(out) != _arrays.pointer(_arrays.as_shape_source(given)) or (
            _arrays.is_tensor(given) != placement.torch):
        raise ValueError(f"{where}: inplace=True needs {name} contiguous and of the call's dtype "
                         f"({'float64' if code == _lib.FLOAT64 else 'float32'}); got a {name} that must be converted")
    if isinstance(given, np.ndarray) and not given.flags.writeable:
        raise ValueError(f"{where}: inplace=True writes {name}, which is read-only")
    if _arrays.is_tensor(given) and given.requires_grad:
        raise ValueError(f"{where}: inplace=True writes {name}, which requires grad (autograd could not see the "
                         "write); pass a detached tensor")
    return out


def _written(given):
    # The library wrote a tensor's memory behind torch's back: bump its
    # version counter so that autograd refuses stale saved values.
    if _arrays.is_tensor(given):
        import torch
        torch.autograd.graph.increment_version(given)


def _host_abar(abar, where):
    if _arrays.is_tensor(abar):
        abar = abar.detach().cpu().numpy()
    a = np.ascontiguousarray(np.asarray(abar, dtype=np.float64))
    if a.ndim != 1 or a.size < 2:
        raise ValueError(f"{where}: abar must be the schedule (T + 1,) with abar[0] = 1; got shape {a.shape}")
    return a


def step(x, eps_hat, abar, t, t_prev=None, *, sampler="ddpm", eta=0.0, seed=0, guide=None, guidance=None,
         inplace=False):
    """One reverse step of every row from timestep t to t_prev
    (dopt_diffusion_step). Returns the new state, shaped like x.

    abar: the schedule (T + 1,) (from schedule()); sampler "ddpm" (t_prev =
    t - 1, the default) or "ddim" (any t_prev < t; eta in [0, 1], 0 is
    deterministic). The step's noise is Philox at (seed, row, t): no noise at
    the last DDPM step (t_prev = 0) nor for DDIM with eta = 0. With guide
    (a Guide), SRG's guidance sqrt(1 - abar_t) (gamma_o dO/dx + gamma_c dP/dx)
    at x is added to eps_hat first (guidance: Guidance or None for the
    defaults; gamma_o != 0 needs the guide's xref). inplace=True updates x
    (which must then be contiguous and of the call's dtype) and, when guided,
    eps_hat; otherwise both are left as they are."""
    where = "diffusion.step"
    abar_h = _host_abar(abar, where)
    T = abar_h.size - 1
    t = int(t)
    t_prev = t - 1 if t_prev is None else int(t_prev)
    if sampler not in SAMPLERS:
        raise ValueError(f"{where}: sampler must be one of {sorted(SAMPLERS)}; got {sampler!r}")
    if not (1 <= t <= T and 0 <= t_prev < t):
        raise ValueError(f"{where}: need 1 <= t <= T = {T} and 0 <= t_prev < t; got t = {t}, t_prev = {t_prev}")
    if sampler == "ddpm" and t_prev != t - 1:
        raise ValueError(f"{where}: DDPM steps one timestep at a time (t_prev = t - 1); got t = {t}, "
                         f"t_prev = {t_prev} (use sampler='ddim' to skip steps)")
    eta = float(eta)
    if not 0 <= eta <= 1:
        raise ValueError(f"{where}: eta must be in [0, 1]; got {eta}")
    x2, shape, samples3 = _rows_view(x, "x", where)
    e2 = _arrays.as_shape_source(eps_hat)
    _same_shape(e2, shape, "eps_hat", where)
    e2 = e2.reshape(x2.shape)
    placement = _arrays.placement_of(x2, e2)
    code = _arrays.dtype_of(x2, e2)
    rows, n = _arrays.shape(x2)
    guided = guide is not None
    if inplace:
        xo = _inplace_operand(x2, x, placement, code, "x", where)
    else:
        xo = _copy_operand(x2, placement, code, "x")
    if guided and inplace:
        eo = _inplace_operand(e2, eps_hat, placement, code, "eps_hat", where)
    elif guided:
        eo = _copy_operand(e2, placement, code, "eps_hat")
    else:
        eo = _arrays.operand(e2, placement, code, "eps_hat")
    gstruct = keep = None
    gw = None
    if guided:
        if not isinstance(guide, Guide):
            raise TypeError(f"{where}: guide must be a dopt.diffusion.Guide; got {type(guide).__name__}")
        if guide.n != n:
            raise ValueError(f"{where}: x has n = {n} but the guide's MILPs have n = {guide.n}")
        samples = _samples_for(guide, rows, samples3, where)
        gw, gvals = _guidance_struct(guidance)
        if gvals.gamma_o != 0 and not guide.has_xref:
            raise ValueError(f"{where}: gamma_o = {gvals.gamma_o} weighs |c .* (x - x*)|_1, but the guide has no "
                             "xref (x*)")
        gstruct, keep = guide.struct(placement, code, samples)
    desc = _StepDesc(SAMPLERS[sampler], abar_h.ctypes.data, t, t_prev, eta, int(seed) & 0xFFFFFFFFFFFFFFFF)
    ctx = placement.context()
    with ctx.lock:
        ctx.prepare(placement.stream())
        ctx.check(_step(ctx.handle, ctypes.byref(desc), rows, n, code, _arrays.pointer(xo), _arrays.pointer(eo),
                        ctypes.byref(gstruct) if guided else None, ctypes.byref(gw) if guided else None))
    del keep
    if inplace:
        _written(x)
        if guided:
            _written(eps_hat)
        return x
    return xo.reshape(shape)


def _noise_arguments(abar_t, step, where):
    """abar_t in (0, 1] and step in [0, 2^32), as float and int, else ValueError."""
    abar_t = float(abar_t)
    if not 0 < abar_t <= 1:
        raise ValueError(f"{where}: abar_t must be in (0, 1]; got {abar_t}")
    step = int(step)
    if not 0 <= step < 1 << 32:
        raise ValueError(f"{where}: step must be in [0, 2^32); got {step}")
    return abar_t, step


def noise(x0, abar_t, *, seed=0, step=0):
    """Training pairs (dopt_diffusion_noise): x_t = sqrt(abar_t) x0 +
    sqrt(1 - abar_t) eps with eps standard normal from Philox at (seed, row,
    step). abar_t in (0, 1] (abar_t = 1 returns x_t = x0 and just the noise).
    Returns (x_t, eps), shaped like x0."""
    where = "diffusion.noise"
    x2, shape, _ = _rows_view(x0, "x0", where)
    abar_t, step = _noise_arguments(abar_t, step, where)
    placement = _arrays.placement_of(x2)
    code = _arrays.dtype_of(x2)
    xo = _arrays.operand(x2, placement, code, "x0")
    rows, n = _arrays.shape(xo)
    xt = placement.empty((rows, n), code)
    eps = placement.empty((rows, n), code)
    ctx = placement.context()
    with ctx.lock:
        ctx.prepare(placement.stream())
        ctx.check(_noise(ctx.handle, rows, n, code, _arrays.pointer(xo), abar_t, int(seed) & 0xFFFFFFFFFFFFFFFF,
                         step, _arrays.pointer(xt), _arrays.pointer(eps)))
    return xt.reshape(shape), eps.reshape(shape)


def srg_target(guide, xt, eps, abar_t, *, guidance=None, round=True):  # noqa: A002
    """SRG's training target (eq. 19 with the signs of docs/DIFFUSION.md) for
    every row of x_t and its noise eps (dopt_srg_target):

        target = eps + sqrt(abar_t) (gamma_o c .* sign(c .* ([x_t] - x*))
                                     - gamma_c lam A' 1[A [x_t] < b]),

    [x_t] = round(x_t) when round (SRG's choice, the default) else x_t. The
    guide must have xref (x*). Returns target shaped like xt."""
    where = "diffusion.srg_target"
    if not isinstance(guide, Guide):
        raise TypeError(f"{where}: guide must be a dopt.diffusion.Guide; got {type(guide).__name__}")
    if not guide.has_xref:
        raise ValueError(f"{where}: the training target needs the reference solutions x* (Guide(..., xref=...))")
    return _target_call(where, guide, xt, eps, abar_t, guidance, round, None)


def _target_call(where, guide, xt, eps, abar_t, guidance, round_, xref_fallback):
    x2, shape, samples3 = _rows_view(xt, "xt", where, guide.n)
    e2 = _arrays.as_shape_source(eps)
    _same_shape(e2, shape, "eps", where)
    e2 = e2.reshape(x2.shape)
    abar_t = float(abar_t)
    if not 0 < abar_t <= 1:
        raise ValueError(f"{where}: abar_t must be in (0, 1]; got {abar_t}")
    placement = _arrays.placement_of(x2, e2)
    code = _arrays.dtype_of(x2, e2)
    rows = _arrays.shape(x2)[0]
    samples = _samples_for(guide, rows, samples3, where)
    xo = _arrays.operand(x2, placement, code, "xt")
    eo = _arrays.operand(e2, placement, code, "eps")
    gw, _ = _guidance_struct(guidance)
    fallback = None
    if xref_fallback is not None:
        fallback = placement.zeros((guide.batch, guide.n), code)
    gstruct, keep = guide.struct(placement, code, samples, fallback)
    target = placement.empty((rows, guide.n), code)
    ctx = placement.context()
    with ctx.lock:
        ctx.prepare(placement.stream())
        ctx.check(_target(ctx.handle, ctypes.byref(gstruct), ctypes.byref(gw), _arrays.pointer(xo),
                          _arrays.pointer(eo), abar_t, 1 if round_ else 0, _arrays.pointer(target)))
    del keep
    return target.reshape(shape)


def guidance_gradient(guide, x, *, guidance=None, round=False):  # noqa: A002
    """gamma_o dO/dx + gamma_c dP/dx at every row of x (at round(x) with
    round=True): the direction SRG's guidance adds to eps_hat (times
    sqrt(1 - abar_t)) and to the training target (times sqrt(abar_t)).
    Computed as srg_target with eps = 0 and abar_t = 1. gamma_o != 0 needs
    the guide's xref."""
    where = "diffusion.guidance_gradient"
    if not isinstance(guide, Guide):
        raise TypeError(f"{where}: guide must be a dopt.diffusion.Guide; got {type(guide).__name__}")
    _, gvals = _guidance_struct(guidance)
    if gvals.gamma_o != 0 and not guide.has_xref:
        raise ValueError(f"{where}: gamma_o = {gvals.gamma_o} needs the guide's xref (x*)")
    xs = _arrays.as_shape_source(x)
    zeros = xs.new_zeros(xs.shape) if _arrays.is_tensor(xs) else np.zeros(xs.shape, dtype=np.result_type(xs.dtype,
                                                                                                        np.float32))
    return _target_call(where, guide, xs, zeros, 1.0, guidance, round, None if guide.has_xref else True)


class Candidates(NamedTuple):
    """objective c'x and violation sum max(b - Ax, 0) of every row (after
    rounding when asked; shaped like x without its last dimension), best
    (batch,) int32: the index within its instance's samples of the chosen
    row, best_x (batch, n) that row (rounded)."""
    objective: object
    violation: object
    best: object
    best_x: object


def candidates(guide, x, *, round=True, feas_tol=1e-6):  # noqa: A002
    """Scores every row (rounded to the nearest integer when round) and picks
    per instance the best (dopt_diffusion_candidates): feasible (violation <=
    feas_tol) first, then smaller violation, then smaller objective, then the
    lower index; NaN ranks worst. Returns Candidates(objective, violation,
    best, best_x)."""
    where = "diffusion.candidates"
    if not isinstance(guide, Guide):
        raise TypeError(f"{where}: guide must be a dopt.diffusion.Guide; got {type(guide).__name__}")
    feas_tol = float(feas_tol)
    if not feas_tol >= 0:
        raise ValueError(f"{where}: feas_tol must be >= 0; got {feas_tol}")
    x2, shape, samples3 = _rows_view(x, "x", where, guide.n)
    placement = _arrays.placement_of(x2)
    code = _arrays.dtype_of(x2)
    rows = _arrays.shape(x2)[0]
    samples = _samples_for(guide, rows, samples3, where)
    xo = _arrays.operand(x2, placement, code, "x")
    gstruct, keep = guide.struct(placement, code, samples)
    objective = placement.empty((rows,), code)
    violation = placement.empty((rows,), code)
    best = placement.empty((guide.batch,), "int32")
    best_x = placement.empty((guide.batch, guide.n), code)
    ctx = placement.context()
    with ctx.lock:
        ctx.prepare(placement.stream())
        ctx.check(_candidates(ctx.handle, ctypes.byref(gstruct), _arrays.pointer(xo), 1 if round else 0, feas_tol,
                              _arrays.pointer(objective), _arrays.pointer(violation), _arrays.pointer(best),
                              _arrays.pointer(best_x)))
    del keep
    return Candidates(objective.reshape(shape[:-1]), violation.reshape(shape[:-1]), best, best_x)


def mixture_eps(weights, means, covs, abar, x):
    """The exact noise prediction of a Gaussian mixture noised to level abar
    (dopt_diffusion_mixture_eps): eps_hat(x) = -sqrt(1 - abar) grad log p_t(x),
    p_t = sum_k w_k N(sqrt(abar) m_k, abar S_k + (1 - abar) I). weights (K,)
    relative, means (K, n), covs (K, n, n) symmetric positive semidefinite, x
    (rows, n). Computed on the host in float64 (tensors are copied there and
    the result copied back to x's device and dtype)."""
    where = "diffusion.mixture_eps"
    out_like = x

    def host(a, name):
        if _arrays.is_tensor(a):
            a = a.detach().cpu().numpy()
        return np.ascontiguousarray(np.asarray(a, dtype=np.float64))
    w, mu, S = host(weights, "weights"), host(means, "means"), host(covs, "covs")
    x2, shape, _ = _rows_view(x, "x", where)
    xh = host(x2, "x")
    if w.ndim != 1 or w.size < 1:
        raise ValueError(f"{where}: weights must be (K,); got shape {w.shape}")
    K, n = w.size, xh.shape[1]
    if mu.shape != (K, n):
        raise ValueError(f"{where}: means must be (K, n) = ({K}, {n}); got {mu.shape}")
    if S.shape != (K, n, n):
        raise ValueError(f"{where}: covs must be (K, n, n) = ({K}, {n}, {n}); got {S.shape}")
    abar = float(abar)
    if not 0 < abar <= 1:
        raise ValueError(f"{where}: abar must be in (0, 1]; got {abar}")
    eps = np.empty_like(xh)
    ctx = _lib.context_for(None)
    with ctx.lock:
        ctx.prepare(None)
        ctx.check(_mixture(ctx.handle, n, K, w.ctypes.data, mu.ctypes.data, S.ctypes.data, abar, xh.shape[0],
                           xh.ctypes.data if xh.size else None, eps.ctypes.data if eps.size else None))
    eps = eps.reshape(shape)
    if _arrays.is_tensor(out_like):
        return sys.modules["torch"].as_tensor(eps).to(device=out_like.device, dtype=out_like.dtype)
    if isinstance(out_like, np.ndarray) and out_like.dtype == np.float32:
        return eps.astype(np.float32)
    return eps




# ---- block-diagonal (ragged) batches: MILPs of different sizes, PyG's layout ---------

class _Blocks(ctypes.Structure):
    _fields_ = [("batch", c_int64), ("samples", c_int32), ("dtype", c_int), ("var_ptr", c_void_p),
                ("con_ptr", c_void_p), ("row_ptr", c_void_p), ("col_idx", c_void_p), ("values", c_void_p),
                ("b", c_void_p), ("c", c_void_p), ("xref", c_void_p)]


_BLOCK_FNS = {}


def _block_fn(name):
    """The block entry points, declared on first use."""
    fn = _BLOCK_FNS.get(name)
    if fn is None:
        _lib.check_struct(_Blocks, "dopt_diffusion_blocks")
        prototypes = {
            "dopt_diffusion_step_blocks": (_P(_StepDesc), _P(_Blocks), c_void_p, c_void_p, _P(_Guidance)),
            "dopt_diffusion_noise_blocks": (_P(_Blocks), c_void_p, c_double, ctypes.c_uint64, ctypes.c_uint32,
                                            c_void_p, c_void_p),
            "dopt_srg_target_blocks": (_P(_Blocks), _P(_Guidance), c_void_p, c_void_p, c_double, c_int, c_void_p),
            "dopt_diffusion_candidates_blocks": (_P(_Blocks), c_void_p, c_int, c_double, c_void_p, c_void_p,
                                                 c_void_p, c_void_p),
        }
        fn = _BLOCK_FNS[name] = _lib.declare(name, c_int, c_void_p, *prototypes[name])
    return fn


class BlockGuide:
    """A block-diagonal batch of MILPs  A x >= b  with objective c, in PyTorch
    Geometric's layout: instance i owns the variables [var_ptr[i],
    var_ptr[i+1]) of the 1-D c and xref, and the rows [con_ptr[i],
    con_ptr[i+1]) of one CSR matrix A whose column indices are GLOBAL
    variable indices ((row_ptr, col_idx, values), a scipy.sparse matrix or a
    2-D torch sparse CSR tensor), b one entry per row. var_ptr, con_ptr:
    (B + 1,) offsets from 0. BlockGuide(var_ptr) alone (c None) is only the
    layout: unguided steps and noise of a block state.

    A block state (x, eps, ...) is 1-D: instance i's `samples` rows one after
    another from samples * var_ptr[i] (sample k at samples * var_ptr[i] + k
    n_i), samples * var_ptr[-1] values in all; with equal sizes this is the
    uniform (batch, samples, n) state flattened, and every call gives
    bitwise the uniform call's numbers."""

    def __init__(self, var_ptr, A=None, b=None, c=None, xref=None, *, con_ptr=None):
        where = "diffusion.BlockGuide"
        var_ptr = _arrays.as_shape_source(var_ptr)
        if var_ptr is None or _arrays.ndim(var_ptr) != 1 or _arrays.shape(var_ptr)[0] < 1:
            raise ValueError(f"{where}: var_ptr must be 1-D with B + 1 >= 1 offsets (PyG's ptr)")
        self.batch = _arrays.shape(var_ptr)[0] - 1
        self.total_n = int(var_ptr[-1])
        c, b, xref, con_ptr = (_arrays.as_shape_source(v) for v in (c, b, xref, con_ptr))
        if c is None and (A is not None or b is not None or xref is not None):
            raise ValueError(f"{where}: the MILPs need c (the objective); without it the guide is only the layout")
        mat = None
        if c is not None:
            if _arrays.ndim(c) != 1 or _arrays.shape(c)[0] != self.total_n:
                raise ValueError(f"{where}: c must be 1-D with var_ptr[-1] = {self.total_n} entries; got shape "
                                 f"{_arrays.shape(c)}")
            if A is None or b is None:
                raise ValueError(f"{where}: A and b are required with c (a CSR matrix with no rows for none)")
            if isinstance(A, np.ndarray) or (_arrays.is_tensor(A) and A.layout != sys.modules["torch"].sparse_csr):
                raise TypeError(f"{where}: A must be one CSR matrix with global column indices, not dense")
            mat = resolve_matrix(A, where)
            if mat.batch is not None:
                raise ValueError(f"{where}: A must be one 2-D CSR matrix (rows, variables)")
            if mat.n is not None and mat.n != self.total_n:
                raise ValueError(f"{where}: A has {mat.n} columns but var_ptr[-1] = {self.total_n} variables")
            if _arrays.ndim(b) != 1 or _arrays.shape(b)[0] != mat.m:
                raise ValueError(f"{where}: b must be 1-D with one entry per row of A ({mat.m}); got shape "
                                 f"{_arrays.shape(b)}")
            if con_ptr is None:
                raise ValueError(f"{where}: con_ptr (B + 1 offsets into A's rows) is required with A")
            if _arrays.ndim(con_ptr) != 1 or _arrays.shape(con_ptr)[0] != self.batch + 1:
                raise ValueError(f"{where}: con_ptr must have B + 1 = {self.batch + 1} entries like var_ptr; got "
                                 f"shape {_arrays.shape(con_ptr)}")
            if int(con_ptr[-1]) != mat.m:
                raise ValueError(f"{where}: con_ptr[-1] = {int(con_ptr[-1])} but A has {mat.m} rows")
            if xref is not None and (_arrays.ndim(xref) != 1 or _arrays.shape(xref)[0] != self.total_n):
                raise ValueError(f"{where}: xref must be 1-D like c ({self.total_n} entries); got shape "
                                 f"{_arrays.shape(xref)}")
        self._src = {"var_ptr": var_ptr, "con_ptr": con_ptr,
                     "row_ptr": None if mat is None else mat.row_ptr, "col_idx": None if mat is None else mat.col_idx,
                     "values": None if mat is None else mat.values, "b": b, "c": c, "xref": xref}
        self._home = _arrays.placement_of(*self._src.values())
        if mat is not None:  # offsets past the arrays' end: the library is not told their length
            check_csr(_arrays.operand(mat.row_ptr, self._home, "int64", "row_ptr"),
                      _arrays.operand(mat.col_idx, self._home, "int32", "col_idx"), self.total_n, where)
        self._cache = {}

    @property
    def guided(self):
        return self._src["c"] is not None

    @property
    def has_xref(self):
        return self._src["xref"] is not None

    def struct(self, placement, code, samples):
        """(the dopt_diffusion_blocks struct, the operands it points into)."""
        key = (str(placement.device) if placement.torch else "numpy", code)
        ops = self._cache.get(key)
        if ops is None:
            kinds = {"var_ptr": "int64", "con_ptr": "int64", "row_ptr": "int64", "col_idx": "int32"}
            ops = {name: (None if value is None else _arrays.operand(value, placement, kinds.get(name, code), name))
                   for name, value in self._src.items()}
            self._cache[key] = ops
        s = _Blocks(self.batch, samples, code, *(_arrays.pointer(ops[k]) for k in
                                                 ("var_ptr", "con_ptr", "row_ptr", "col_idx", "values", "b", "c",
                                                  "xref")))
        return s, ops

    def samples_of(self, x, name, where, samples=None):
        """The samples per instance of a 1-D block state x (checked)."""
        if _arrays.ndim(x) != 1:
            raise ValueError(f"{where}: {name} must be 1-D (a block state: samples * var_ptr[-1] values); got shape "
                             f"{_arrays.shape(x)}")
        size = _arrays.shape(x)[0]
        if samples is None:
            if self.total_n == 0 or size % self.total_n or size == 0:
                raise ValueError(f"{where}: {name} has {size} values, not a positive multiple of var_ptr[-1] = "
                                 f"{self.total_n} (give samples= for an empty layout)")
            return size // self.total_n
        samples = int(samples)
        if samples < 1 or size != samples * self.total_n:
            raise ValueError(f"{where}: {name} must have samples * var_ptr[-1] = {samples} * {self.total_n} values; "
                             f"got {size}")
        return samples


def _block_guide(guide, where, guided=True):
    if not isinstance(guide, BlockGuide):
        raise TypeError(f"{where}: blocks must be a dopt.diffusion.BlockGuide; got {type(guide).__name__}")
    if guided and not guide.guided:
        raise ValueError(f"{where}: this call needs the MILPs (a BlockGuide with A, b, c), not only the layout")
    return guide


def step_blocks(x, eps_hat, abar, t, t_prev=None, *, blocks, samples=None, sampler="ddpm", eta=0.0, seed=0,
                guidance=None):
    """step() on a block state (dopt_diffusion_step_blocks): x and eps_hat
    1-D (samples * var_ptr[-1]); guided by SRG's guidance when `blocks` holds
    the MILPs (c given), unguided for a layout-only BlockGuide. Returns the
    new state (x and eps_hat are not modified)."""
    where = "diffusion.step_blocks"
    guide = _block_guide(blocks, where, guided=False)
    abar_h = _host_abar(abar, where)
    T = abar_h.size - 1
    t = int(t)
    t_prev = t - 1 if t_prev is None else int(t_prev)
    if sampler not in SAMPLERS:
        raise ValueError(f"{where}: sampler must be one of {sorted(SAMPLERS)}; got {sampler!r}")
    if not (1 <= t <= T and 0 <= t_prev < t) or (sampler == "ddpm" and t_prev != t - 1):
        raise ValueError(f"{where}: need 1 <= t <= T = {T}, 0 <= t_prev < t and (DDPM) t_prev = t - 1; got "
                         f"t = {t}, t_prev = {t_prev}")
    eta = float(eta)
    if not 0 <= eta <= 1:
        raise ValueError(f"{where}: eta must be in [0, 1]; got {eta}")
    x, eps_hat = _arrays.as_shape_source(x), _arrays.as_shape_source(eps_hat)
    S = guide.samples_of(x, "x", where, samples)
    _same_shape(eps_hat, _arrays.shape(x), "eps_hat", where)
    placement = _arrays.placement_of(x, eps_hat)
    code = _arrays.dtype_of(x, eps_hat)
    xo = _copy_operand(x, placement, code, "x")
    eo = _copy_operand(eps_hat, placement, code, "eps_hat") if guide.guided else _arrays.operand(
        eps_hat, placement, code, "eps_hat")
    gw = None
    if guide.guided:
        gw, gvals = _guidance_struct(guidance)
        if gvals.gamma_o != 0 and not guide.has_xref:
            raise ValueError(f"{where}: gamma_o = {gvals.gamma_o} needs the guide's xref (x*)")
    s, keep = guide.struct(placement, code, S)
    desc = _StepDesc(SAMPLERS[sampler], abar_h.ctypes.data, t, t_prev, eta, int(seed) & 0xFFFFFFFFFFFFFFFF)
    ctx = placement.context()
    with ctx.lock:
        ctx.prepare(placement.stream())
        ctx.check(_block_fn("dopt_diffusion_step_blocks")(ctx.handle, ctypes.byref(desc), ctypes.byref(s),
                                                          _arrays.pointer(xo), _arrays.pointer(eo),
                                                          ctypes.byref(gw) if gw is not None else None))
    del keep
    return xo


def noise_blocks(x0, abar_t, *, blocks, samples=None, seed=0, step=0):
    """noise() on a block state (dopt_diffusion_noise_blocks): returns (x_t,
    eps), 1-D like x0, row i * samples + k drawing the uniform layer's noise."""
    where = "diffusion.noise_blocks"
    guide = _block_guide(blocks, where, guided=False)
    x0 = _arrays.as_shape_source(x0)
    S = guide.samples_of(x0, "x0", where, samples)
    abar_t, step = _noise_arguments(abar_t, step, where)
    placement = _arrays.placement_of(x0)
    code = _arrays.dtype_of(x0)
    xo = _arrays.operand(x0, placement, code, "x0")
    xt = placement.empty(_arrays.shape(xo), code)
    eps = placement.empty(_arrays.shape(xo), code)
    s, keep = guide.struct(placement, code, S)
    ctx = placement.context()
    with ctx.lock:
        ctx.prepare(placement.stream())
        ctx.check(_block_fn("dopt_diffusion_noise_blocks")(ctx.handle, ctypes.byref(s), _arrays.pointer(xo), abar_t,
                                                           int(seed) & 0xFFFFFFFFFFFFFFFF, step, _arrays.pointer(xt),
                                                           _arrays.pointer(eps)))
    del keep
    return xt, eps


def srg_target_blocks(blocks, xt, eps, abar_t, *, samples=None, guidance=None, round=True):  # noqa: A002
    """srg_target() on a block state (dopt_srg_target_blocks): the guide
    needs c and xref. Returns the target, 1-D like xt."""
    where = "diffusion.srg_target_blocks"
    guide = _block_guide(blocks, where)
    if not guide.has_xref:
        raise ValueError(f"{where}: the training target needs the reference solutions x* (BlockGuide(..., xref=))")
    xt, eps = _arrays.as_shape_source(xt), _arrays.as_shape_source(eps)
    S = guide.samples_of(xt, "xt", where, samples)
    _same_shape(eps, _arrays.shape(xt), "eps", where)
    abar_t = float(abar_t)
    if not 0 < abar_t <= 1:
        raise ValueError(f"{where}: abar_t must be in (0, 1]; got {abar_t}")
    placement = _arrays.placement_of(xt, eps)
    code = _arrays.dtype_of(xt, eps)
    xo, eo = _arrays.operand(xt, placement, code, "xt"), _arrays.operand(eps, placement, code, "eps")
    gw, _ = _guidance_struct(guidance)
    target = placement.empty(_arrays.shape(xo), code)
    s, keep = guide.struct(placement, code, S)
    ctx = placement.context()
    with ctx.lock:
        ctx.prepare(placement.stream())
        ctx.check(_block_fn("dopt_srg_target_blocks")(ctx.handle, ctypes.byref(s), ctypes.byref(gw),
                                                      _arrays.pointer(xo), _arrays.pointer(eo), abar_t,
                                                      1 if round else 0, _arrays.pointer(target)))
    del keep
    return target


def candidates_blocks(blocks, x, *, samples=None, round=True, feas_tol=1e-6):  # noqa: A002
    """candidates() on a block state (dopt_diffusion_candidates_blocks):
    objective, violation (batch * samples), best (batch,) int32 (the sample
    index within the instance), best_x (var_ptr[-1]) the chosen rows."""
    where = "diffusion.candidates_blocks"
    guide = _block_guide(blocks, where)
    feas_tol = float(feas_tol)
    if not feas_tol >= 0:
        raise ValueError(f"{where}: feas_tol must be >= 0; got {feas_tol}")
    x = _arrays.as_shape_source(x)
    S = guide.samples_of(x, "x", where, samples)
    placement = _arrays.placement_of(x)
    code = _arrays.dtype_of(x)
    xo = _arrays.operand(x, placement, code, "x")
    objective = placement.empty((guide.batch * S,), code)
    violation = placement.empty((guide.batch * S,), code)
    best = placement.empty((guide.batch,), "int32")
    best_x = placement.empty((guide.total_n,), code)
    s, keep = guide.struct(placement, code, S)
    ctx = placement.context()
    with ctx.lock:
        ctx.prepare(placement.stream())
        ctx.check(_block_fn("dopt_diffusion_candidates_blocks")(ctx.handle, ctypes.byref(s), _arrays.pointer(xo),
                                                                1 if round else 0, feas_tol,
                                                                _arrays.pointer(objective), _arrays.pointer(violation),
                                                                _arrays.pointer(best), _arrays.pointer(best_x)))
    del keep
    return Candidates(objective, violation, best, best_x)


__all__ = ["Guide", "Guidance", "Candidates", "SCHEDULES", "SAMPLERS", "schedule", "guidance_default", "step",
           "noise", "srg_target", "guidance_gradient", "candidates", "mixture_eps", "BlockGuide", "step_blocks",
           "noise_blocks", "srg_target_blocks", "candidates_blocks"]
