"""The cone layer: a batch of cone programs

    minimize c'x  subject to  Ax = b,  Gx + s = h,  s in K

K = nonnegative orthant (l rows) x second-order cones (sizes q) x PSD cones
(orders s, each stored as svec: the lower triangle column by column,
off-diagonal entries times sqrt(2)); the rows of G and h follow that order.
Solved by a homogeneous-embedding interior point (Nesterov-Todd scaling),
differentiated through the residual map with the cones' projections at the
solution (docs/CONE.md). numpy arrays in, numpy out; torch tensors in (CPU
or CUDA), tensors out on the same device. For autograd, dopt.torch.cone.

Shapes: c (n,), G (m, n), h (m,), A (k, n), b (k,), each with an optional
leading batch dimension; an input without one (or with batch size 1) is
shared by the batch and its gradient is the sum over the batch.
"""

import ctypes
from typing import NamedTuple, Optional

import numpy as np

from . import _arrays
from . import _lib
from ._lib import c_double, c_int, c_int32, c_int64, c_void_p

SHARE_C, SHARE_G, SHARE_H, SHARE_A, SHARE_B = (1 << i for i in range(5))
PARAMETERS = ("c", "G", "h", "A", "b")
_BASE_NDIM = {"c": 1, "G": 2, "h": 1, "A": 2, "b": 1}


class _Dims(ctypes.Structure):
    _fields_ = [("l", c_int32), ("nq", c_int32), ("q", c_void_p), ("ns", c_int32), ("s", c_void_p)]


class _Problem(ctypes.Structure):
    _fields_ = [("batch", c_int64), ("n", c_int32), ("k", c_int32), ("cones", _Dims), ("dtype", c_int),
                ("c", c_void_p), ("G", c_void_p), ("h", c_void_p), ("A", c_void_p), ("b", c_void_p),
                ("shared", ctypes.c_uint32)]


class _Options(ctypes.Structure):
    _fields_ = [("tol", c_double), ("tol_inf", c_double), ("max_iter", c_int32), ("refine", c_int32)]


class _Solution(ctypes.Structure):
    _fields_ = [(name, c_void_p) for name in ("x", "s", "z", "y", "status", "iters")]


class _GradIn(ctypes.Structure):
    _fields_ = [(name, c_void_p) for name in ("dx", "ds", "dz", "dy")]


class _GradOut(ctypes.Structure):
    _fields_ = [(name, c_void_p) for name in ("dc", "dG", "dh", "dA", "db")]


for _mirror, _c_name in ((_Dims, "dopt_cone_dims"), (_Problem, "dopt_cone_problem"),
                         (_Options, "dopt_cone_options"), (_Solution, "dopt_cone_solution"),
                         (_GradIn, "dopt_cone_grad_in"), (_GradOut, "dopt_cone_grad_out")):
    _lib.check_struct(_mirror, _c_name)

_P = ctypes.POINTER
_solve = _lib.declare("dopt_cone_solve", c_int, c_void_p, _P(_Problem), _P(_Options), _P(_Solution), _P(c_void_p))
_backward = _lib.declare("dopt_cone_backward", c_int, c_void_p, c_void_p, _P(_GradIn), _P(_GradOut))
_tape_destroy = _lib.declare("dopt_cone_tape_destroy", None, c_void_p)


def rows(l=0, q=(), s=()):
    """m = l + sum q + sum s(s+1)/2: the rows of G and h for a cone structure."""
    return int(l) + sum(int(v) for v in q) + sum(int(v) * (int(v) + 1) // 2 for v in s)


def svec(M):
    """svec of a symmetric matrix (..., s, s): the lower triangle column by
    column, off-diagonal entries times sqrt(2), as the layer's PSD rows."""
    M = np.asarray(M)
    n = M.shape[-1]
    cols, rows_ = [], []
    for j in range(n):
        for i in range(j, n):
            rows_.append(i)
            cols.append(j)
    scale = np.where(np.array(rows_) == np.array(cols), 1.0, np.sqrt(2.0))
    return M[..., rows_, cols] * scale


class Tape(_lib.OwnsLibraryMemory):
    """What backward needs (held by the library) and the arrays it points into."""

    _public_name = "dopt.cone.Tape"
    _advice = "keep a reference instead"

    def __init__(self, handle, ctx, placement, dtype, spec, operands, cone_arrays):
        self._handle = handle
        self._ctx = ctx
        self.placement = placement
        self.dtype = dtype
        self.spec = spec
        self._operands = operands
        self._cone_arrays = cone_arrays

    def __del__(self):
        handle = getattr(self, "_handle", None)
        self._handle = None
        if handle is not None and handle.value:
            try:
                _tape_destroy(handle)
            except TypeError:  # interpreter shutdown
                pass


class Result(NamedTuple):
    """x (batch, n), s and z (batch, m), y (batch, k), status and iters
    (batch,) int32 (dopt.InstanceStatus values); without a batched input, no
    batch dimension. tape: for backward (None unless record=True)."""
    x: object
    s: object
    z: object
    y: object
    status: object
    iters: object
    tape: Optional[Tape]


class _Spec:
    __slots__ = ("shapes", "present", "batched", "batch", "n", "m", "k", "bits", "l", "q", "s")

    def __init__(self, inputs, l, q, s):
        self.l, self.q, self.s = int(l), tuple(int(v) for v in q), tuple(int(v) for v in s)
        if self.l < 0 or any(v < 1 for v in self.q) or any(v < 1 for v in self.s):
            raise ValueError(f"cone: l must be >= 0 and every q, s >= 1; got l={l}, q={q}, s={s}")
        self.m = m = rows(self.l, self.q, self.s)
        self.shapes, self.present = {}, {}
        batch, batched, bits = None, False, 0
        for i, name in enumerate(PARAMETERS):
            x = inputs[name]
            self.present[name] = x is not None and not (name in ("A", "b") and _arrays.numel(x) == 0)
            if not self.present[name]:
                continue
            shape = tuple(x.shape)
            self.shapes[name] = shape
            base = _BASE_NDIM[name]
            if len(shape) == base or (len(shape) == base + 1 and shape[0] == 1):
                bits |= 1 << i
                batched |= len(shape) == base + 1
            elif len(shape) == base + 1:
                batched = True
                if batch is not None and batch != shape[0]:
                    raise ValueError(f"cone: batch sizes differ: {batch} and {shape[0]} ({name})")
                batch = shape[0]
            else:
                raise ValueError(f"cone: {name} must have {base} dimensions, or {base + 1} with a batch; got {shape}")
        for name in ("c", "G", "h"):
            if not self.present[name] and (name == "c" or m > 0):
                raise ValueError(f"cone: {name} is required")
        if self.present["A"] != self.present["b"]:
            raise ValueError("cone: A and b come together")
        self.batched, self.batch, self.bits = batched, (batch if batch is not None else 1), bits
        inner = {name: sh[len(sh) - _BASE_NDIM[name]:] for name, sh in self.shapes.items()}
        self.n = n = inner["c"][0]
        # with no cone rows (m = 0) G and h may be left out, but a given G or h
        # must still be (0, n) and (0,): any other shape is a mistake in the data
        if (m > 0 or self.present["G"] or self.present["h"]) and (inner.get("G", (m, n)) != (m, n) or
                                                                 inner.get("h", (m,)) != (m,)):
            raise ValueError(f"cone: G must be (m, n) = ({m}, {n}) and h (m,) for the cones l={self.l}, q={self.q}, "
                             f"s={self.s}; got G {inner['G']}, h {inner['h']}")
        self.k = inner["A"][0] if self.present["A"] else 0
        if self.present["A"] and (inner["A"] != (self.k, n) or inner["b"] != (self.k,)):
            raise ValueError(f"cone: A must be (k, n) with n = {n} and b (k,); got A {inner['A']}, b {inner['b']}")


def _source(x):
    if x is None or isinstance(x, np.ndarray) or _arrays.is_tensor(x):
        return x
    return np.asarray(x)


def solve(c, G, h, A=None, b=None, *, l=0, q=(), s=(), tol=None, tol_inf=None, max_iter=None, refine=None,
          dtype=None, record=False):
    """Solves the batch. Returns Result(x, s, z, y, status, iters, tape).

    l, q, s: the cone structure (one per call). tol: relative residuals and
    gap (default 1e-8 float64, 1e-4 float32); tol_inf: certificates (1e-8 /
    1e-5); max_iter (100); refine (3). record=True keeps the tape for
    backward(). Instances that fail get a status, never an exception; bad
    shapes or options raise ValueError, library failures dopt.Error."""
    inputs = {"c": _source(c), "G": _source(G), "h": _source(h), "A": _source(A), "b": _source(b)}
    spec = _Spec(inputs, l, q, s)
    placement = _arrays.placement_of(*inputs.values())
    code = _arrays.dtype_code(dtype) if dtype is not None else _arrays.dtype_of(*inputs.values())
    operands = {name: (_arrays.operand(x, placement, code, name) if spec.present[name] else None)
                for name, x in inputs.items()}
    opt = _Options(tol or 0.0, tol_inf or 0.0, int(max_iter or 0), int(refine or 0))
    if not (opt.tol >= 0 and opt.tol_inf >= 0) or opt.max_iter < 0 or opt.refine < 0:
        raise ValueError("cone: tol, tol_inf, max_iter and refine must be >= 0 (0 or None: the default)")
    qa = np.array(spec.q or (0,), np.int32)
    sa = np.array(spec.s or (0,), np.int32)
    dims = _Dims(spec.l, len(spec.q), qa.ctypes.data if spec.q else None, len(spec.s),
                 sa.ctypes.data if spec.s else None)
    ptr = _arrays.pointer
    problem = _Problem(spec.batch, spec.n, spec.k, dims, code, *(ptr(operands[name]) for name in PARAMETERS),
                       spec.bits)
    lead = (spec.batch,) if spec.batched else ()
    x = placement.empty(lead + (spec.n,), code)
    sv = placement.empty(lead + (spec.m,), code)
    zv = placement.empty(lead + (spec.m,), code)
    yv = placement.empty(lead + (spec.k,), code)
    status = placement.empty(lead, "int32")
    iters = placement.empty(lead, "int32")
    sol = _Solution(ptr(x), ptr(sv), ptr(zv), ptr(yv), ptr(status), ptr(iters))
    ctx = placement.context()
    tape = None
    handle = c_void_p()
    with ctx.lock:
        ctx.prepare(placement.stream())
        ctx.check(_solve(ctx.handle, ctypes.byref(problem), ctypes.byref(opt), ctypes.byref(sol),
                         ctypes.byref(handle) if record else None))
    if record:
        tape = Tape(handle, ctx, placement, code, spec, operands, (qa, sa))
    return Result(x, sv, zv, yv, status, iters, tape)


def backward(tape, dx, ds=None, dz=None, dy=None):
    """Gradients with respect to the inputs of the solve that recorded
    `tape`, given dL/dx (and optionally dL/ds, dL/dz, dL/dy) shaped like the
    outputs. Returns {name: gradient} for c, G, h, A, b, each shaped like its
    input (None for an absent one); a shared input gets the batch sum.
    Instances that were not solved contribute zero."""
    if not isinstance(tape, Tape):
        raise TypeError("cone.backward: tape must come from cone.solve(..., record=True)")
    spec, placement, code = tape.spec, tape.placement, tape.dtype
    lead = (spec.batch,) if spec.batched else ()
    grads_in = []
    for value, size, name in ((dx, spec.n, "dx"), (ds, spec.m, "ds"), (dz, spec.m, "dz"), (dy, spec.k, "dy")):
        if value is None or size == 0:
            grads_in.append(None)
            continue
        value = _source(value)
        if tuple(value.shape) != lead + (size,):
            raise ValueError(f"cone.backward: {name} must have shape {lead + (size,)}; got {tuple(value.shape)}")
        grads_in.append(_arrays.operand(value, placement, code, name))
    if grads_in[0] is None:
        raise ValueError("cone.backward: dx is required")
    # zeros: the library writes nothing for an input with no entries to
    # differentiate (G and h when m = 0), nor for an empty batch's shared input
    grads = {name: (placement.zeros(spec.shapes[name], code) if spec.present[name] else None)
             for name in PARAMETERS}
    ptr = _arrays.pointer
    gin = _GradIn(*(ptr(g) for g in grads_in))
    gout = _GradOut(*(ptr(grads[name]) for name in PARAMETERS))
    ctx = tape._ctx
    with ctx.lock:
        ctx.prepare(placement.stream())
        ctx.check(_backward(ctx.handle, tape._handle, ctypes.byref(gin), ctypes.byref(gout)))
    return grads
