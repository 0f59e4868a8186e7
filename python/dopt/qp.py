"""The QP / LP layer: a batch of

    minimize 1/2 x'Qx + p'x  subject to  Gx <= h,  Ax = b

solved by interior point, differentiated through its KKT conditions at the
solution (OptNet's implicit differentiation). numpy arrays in, numpy out;
torch tensors in (CPU or CUDA), tensors out on the same device. For autograd,
use dopt.torch.qp or dopt.torch.QPFunction.

Shapes: Q (n, n), p (n,), G (m, n), h (m,), A (k, n), b (k,), each with an
optional leading batch dimension. An input without one (or with batch size 1)
is shared by the whole batch, read once, and its gradient is the sum over the
batch. Q = None is an LP; G, h = None (or empty) means no inequalities, A, b =
None (or empty) no equalities. h may hold +inf (that row is absent). A batch
of size 0 gives empty outputs (and zero gradients for shared inputs).

Copies: inputs that are contiguous and of the call's dtype are read in place
(and kept alive by the tape); others (views with strides, other dtypes,
lists) are converted once, with the same result. The call's dtype is float64
if any input is float64, else float32 if any input is floating, else float64
(dtype= overrides).

Sparse Q, G, A (CSR, one pattern for the batch, values per instance or
shared): SparseStructure, solve_sparse, backward_sparse (the sparse layer,
dopt_sparse_qp.h; docs/PYTHON.md "Sparse QP"); solve_sparse_groups,
backward_sparse_groups for ragged batches (several patterns in one call).
"""

import ctypes
import sys
from typing import NamedTuple, Optional

import numpy as np

from . import _arrays
from . import _lib
from . import _ragged
from ._lib import c_double, c_int, c_int32, c_int64, c_void_p

SHARE_Q, SHARE_P, SHARE_G, SHARE_H, SHARE_A, SHARE_B = (1 << i for i in range(6))
PARAMETERS = ("Q", "p", "G", "h", "A", "b")
_PARAMETER_SET = frozenset(PARAMETERS)
_BASE_NDIM = {"Q": 2, "p": 1, "G": 2, "h": 1, "A": 2, "b": 1}


class _Problem(ctypes.Structure):
    _fields_ = [("batch", c_int64), ("n", c_int32), ("m", c_int32), ("k", c_int32), ("dtype", c_int),
                ("Q", c_void_p), ("p", c_void_p), ("G", c_void_p), ("h", c_void_p), ("A", c_void_p),
                ("b", c_void_p), ("shared", ctypes.c_uint32)]


class _Options(ctypes.Structure):
    _fields_ = [("tol", c_double), ("tol_inf", c_double), ("max_iter", c_int32), ("refine", c_int32),
                ("infeasible_mode", c_int32)]


class _Solution(ctypes.Structure):
    _fields_ = [("x", c_void_p), ("lam", c_void_p), ("nu", c_void_p), ("status", c_void_p),
                ("iters", c_void_p)]


class _GradIn(ctypes.Structure):
    _fields_ = [("dx", c_void_p), ("dlam", c_void_p), ("dnu", c_void_p)]


class _GradOut(ctypes.Structure):
    _fields_ = [(name, c_void_p) for name in ("dQ", "dp", "dG", "dh", "dA", "db")]


for _mirror, _c_name in ((_Problem, "dopt_qp_problem"), (_Options, "dopt_qp_options"),
                         (_Solution, "dopt_qp_solution"), (_GradIn, "dopt_qp_grad_in"),
                         (_GradOut, "dopt_qp_grad_out")):
    _lib.check_struct(_mirror, _c_name)

_P = ctypes.POINTER
_solve = _lib.declare("dopt_qp_solve", c_int, c_void_p, _P(_Problem), _P(_Options), _P(_Solution), _P(c_void_p))
_backward = _lib.declare("dopt_qp_backward", c_int, c_void_p, c_void_p, _P(_GradIn), _P(_GradOut))
_tape_destroy = _lib.declare("dopt_qp_tape_destroy", None, c_void_p)

_TAPE_POOL_SIZE = 4


class Tape(_lib.OwnsLibraryMemory):
    """What backward needs: the factorized KKT systems at the solution (held
    by the library) and the problem's arrays, which this object keeps alive.
    Freed tapes go back to a small per-context pool and are refilled by later
    solves, so a training loop does not reallocate them every step."""

    _public_name = "dopt.qp.Tape"

    def __init__(self, handle, ctx, placement, dtype, problem, operands, spec):
        self._handle = handle
        self._ctx = ctx
        self.placement = placement
        self.dtype = dtype
        self.problem = problem
        self._operands = operands  # the arrays the library's tape points into
        self.spec = spec
        # One owner per library tape (OwnsLibraryMemory): a copy would hand the
        # same tape to the pool twice (two later solves refilling one tape, then
        # a double free).

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle is None or not handle.value:
            return
        self._handle = None
        try:
            pool = _tape_pool(self._ctx)
            if any(pooled.value == handle.value for pooled in pool):
                return  # already pooled (cannot happen without copying; never twice)
            if len(pool) < _TAPE_POOL_SIZE:
                pool.append(handle)
            else:
                _tape_destroy(handle)
        except TypeError:  # interpreter shutdown: this module's globals are gone; the OS frees the memory
            pass


def _tape_pool(ctx):
    pool = getattr(ctx, "qp_tape_pool", None)
    if pool is None:
        pool = ctx.qp_tape_pool = []
        ctx.add_finalizer(lambda: [_tape_destroy(h) for h in pool])
    return pool


class Result(NamedTuple):
    """x (batch, n), lam (batch, m), nu (batch, k), status and iters (batch,)
    int32 (dopt.InstanceStatus values); without a batched input, no batch
    dimension. tape: for backward (None unless record=True)."""
    x: object
    lam: object
    nu: object
    status: object
    iters: object
    tape: Optional[Tape]


def _is_present(x, base):
    """Whether an input holds a block: None and empty arrays (numpy's
    np.empty(0), qpth's torch.Tensor(), a (0, n) G) mean "absent", except an
    array whose only zero extent is a leading batch dimension (an empty
    batch), which is present."""
    if x is None:
        return False
    shape = x.shape
    for d in shape:
        if d == 0:
            break
    else:
        return True
    return len(shape) == base + 1 and shape[0] == 0 and all(d > 0 for d in shape[1:])


class _Spec:
    """The shapes of one call's inputs (anything with .shape), resolved and
    checked. Also runs on fake tensors (dopt.torch's shape functions)."""

    __slots__ = ("given_shapes", "present", "shared", "batched", "batch", "n", "m", "k", "bits")

    def __init__(self, inputs):
        self.given_shapes = given = {}
        self.present = present = {}
        self.shared = shared = {}
        batch = None
        batched = False
        bits = 0
        for i, name in enumerate(PARAMETERS):
            x = inputs[name]
            base = _BASE_NDIM[name]
            here = _is_present(x, base)
            present[name] = here
            if not here:
                if name == "p":
                    if x is None:
                        raise ValueError("qp: p (the linear term) is required")
                    raise ValueError(f"qp: p must hold n >= 1 entries per instance; got shape {tuple(x.shape)}")
                shared[name] = False
                continue
            shape = tuple(x.shape)
            given[name] = shape
            if len(shape) == base:
                shared[name] = True
                bits |= 1 << i
            elif len(shape) == base + 1:
                batched = True
                if shape[0] == 1:
                    shared[name] = True
                    bits |= 1 << i
                else:
                    shared[name] = False
                    if batch is not None and batch != shape[0]:
                        raise ValueError(f"qp: batch sizes differ: {batch} and {shape[0]} ({name} has shape "
                                         f"{shape})")
                    batch = shape[0]
            else:
                raise ValueError(f"qp: {name} must have {base} dimensions, or {base + 1} with a leading batch "
                                 f"dimension; got shape {shape}")
        self.batched = batched
        self.batch = batch if batch is not None else 1
        self.bits = bits
        inner = {name: s[len(s) - _BASE_NDIM[name]:] for name, s in given.items()}
        n = self.n = inner["p"][0]
        if present["Q"] and inner["Q"] != (n, n):
            raise ValueError(f"qp: Q must be (n, n) = ({n}, {n}) per instance to match p; got {inner['Q']}")
        for mat, vec, letter in (("G", "h", "m"), ("A", "b", "k")):
            if present[mat] != present[vec]:
                raise ValueError(f"qp: {mat} and {vec} come together; got only "
                                 f"{mat if present[mat] else vec}")
            size = 0
            if present[mat]:
                size = inner[mat][0]
                if inner[mat] != (size, n):
                    raise ValueError(f"qp: {mat} must be ({letter}, n) with n = {n} per instance; "
                                     f"got {inner[mat]}")
                if inner[vec] != (size,):
                    raise ValueError(f"qp: {vec} must have {letter} = {size} entries per instance to match "
                                     f"{mat}; got {inner[vec]}")
            setattr(self, letter, size)

    def shared_bits(self):
        return self.bits


# ---- the per-call plumbing, kept lean: at B = 1 it is most of a call's time ----

def _source(x):
    if x is None or isinstance(x, np.ndarray) or _arrays.is_tensor(x):
        return x
    return np.asarray(x)


_NP_KIND = {"d": _lib.FLOAT64, "f": _lib.FLOAT32, "e": _lib.FLOAT32}


def _call_dtype(values):
    """_arrays.dtype_of's rule (float64 if any input is, else float32 if any
    is floating, else float64), without its generic conversions."""
    seen32 = False
    torch = None
    for x in values:
        if x is None:
            continue
        if isinstance(x, np.ndarray):
            kind = _NP_KIND.get(x.dtype.char)
        else:
            torch = torch or sys.modules["torch"]
            d = x.dtype
            kind = (_lib.FLOAT64 if d is torch.float64 else
                    _lib.FLOAT32 if d in (torch.float32, torch.float16, torch.bfloat16) else None)
        if kind == _lib.FLOAT64:
            return _lib.FLOAT64
        seen32 |= kind == _lib.FLOAT32
    return _lib.FLOAT32 if seen32 else _lib.FLOAT64


_NP_DTYPE = {_lib.FLOAT32: np.dtype(np.float32), _lib.FLOAT64: np.dtype(np.float64), "int32": np.dtype(np.int32)}


_TORCH_DTYPE = {}


def _torch_dtype(code):
    if not _TORCH_DTYPE:
        torch = sys.modules["torch"]
        _TORCH_DTYPE.update({_lib.FLOAT32: torch.float32, _lib.FLOAT64: torch.float64, "int32": torch.int32})
    return _TORCH_DTYPE[code]


def _operand(x, placement, code, name):
    """_arrays.operand with a fast path for the common case (already
    contiguous, of the dtype, in the right place: no copy)."""
    if placement.torch:
        if (_arrays.is_tensor(x) and x.dtype is _torch_dtype(code) and x.is_contiguous()
                and x.get_device() == (-1 if placement.cuda_index is None else placement.cuda_index)):
            return x.detach() if x.requires_grad else x
    elif isinstance(x, np.ndarray) and x.dtype == _NP_DTYPE[code] and x.flags.c_contiguous and x.flags.aligned:
        return x
    return _arrays.operand(x, placement, code, name)


def _numpy_pointer(x):
    return x.ctypes.data if x is not None and x.size else None


def _torch_pointer(x):
    return x.data_ptr() if x is not None and x.numel() else None


def _pointer_fn(placement):
    return _torch_pointer if placement.torch else _numpy_pointer


def _empty_fn(placement):
    if not placement.torch:
        return lambda shape, code: np.empty(shape, _NP_DTYPE[code])
    torch, device = sys.modules["torch"], placement.device
    return lambda shape, code: torch.empty(shape, dtype=_torch_dtype(code), device=device)


def _options(tol, tol_inf, max_iter, refine, closest_feasible=False):
    opt = _Options(tol or 0.0, tol_inf or 0.0, int(max_iter or 0), int(refine or 0), 1 if closest_feasible else 0)
    if not (opt.tol >= 0 and opt.tol_inf >= 0) or opt.max_iter < 0 or opt.refine < 0:
        raise ValueError(f"qp: tol, tol_inf, max_iter and refine must be >= 0 (0 or None: the default); got "
                         f"tol={tol}, tol_inf={tol_inf}, max_iter={max_iter}, refine={refine}")
    return opt


def solve(Q, p, G=None, h=None, A=None, b=None, *, tol=None, tol_inf=None, max_iter=None, refine=None,
          dtype=None, record=False, closest_feasible=False):
    """Solves the batch. Returns Result(x, lam, nu, status, iters, tape).

    tol: relative KKT residual and gap (default 1e-8 in float64, 1e-6 in
    float32); tol_inf: infeasibility certificates (1e-9 / 1e-6); max_iter
    (50); refine: iterative refinement steps per KKT solve (2). dtype: float32
    or float64 (default: float64 if any input is, else float32). record=True
    keeps the tape for backward(). closest_feasible=True: an instance whose
    constraints are infeasible gets the solution of the closest feasible
    problem (h, b shifted by the least-norm shift) and status
    SOLVED_CLOSEST_FEASIBLE (7), and its gradients are the total derivative
    (docs/QP.md, "Closest feasible problems"). Instances that fail get a
    status (never an exception); bad shapes or options raise ValueError,
    library failures dopt.Error."""
    inputs = {"Q": _source(Q), "p": _source(p), "G": _source(G), "h": _source(h), "A": _source(A),
              "b": _source(b)}
    spec = _Spec(inputs)
    values = inputs.values()
    placement = _arrays.placement_of(*values)
    code = _arrays.dtype_code(dtype) if dtype is not None else _call_dtype(values)
    operands = {name: (_operand(x, placement, code, name) if spec.present[name] else None)
                for name, x in inputs.items()}
    opt = _options(tol, tol_inf, max_iter, refine, closest_feasible)
    ptr = _pointer_fn(placement)
    problem = _Problem(spec.batch, spec.n, spec.m, spec.k, code, *(ptr(operands[name]) for name in PARAMETERS),
                       spec.bits)
    B = spec.batch
    empty = _empty_fn(placement)
    lead = (B,) if spec.batched else ()  # unbatched: the outputs of the one instance, not views of a batch
    x = empty(lead + (spec.n,), code)
    lam = empty(lead + (spec.m,), code)
    nu = empty(lead + (spec.k,), code)
    status = empty(lead, "int32")
    iters = empty(lead, "int32")
    sol = _Solution(ptr(x), ptr(lam), ptr(nu), ptr(status), ptr(iters))
    ctx = placement.context()
    tape = None
    if B == 0:  # an empty batch: nothing to solve (the library wants p's pointer even then)
        if record:
            tape = Tape(c_void_p(), ctx, placement, code, problem, operands, spec)
    else:
        with ctx.lock:
            ctx.prepare(placement.stream())
            if record:
                pool = _tape_pool(ctx)
                handle = pool.pop() if pool else c_void_p()
                try:
                    ctx.check(_solve(ctx.handle, ctypes.byref(problem), ctypes.byref(opt), ctypes.byref(sol),
                                     ctypes.byref(handle)))
                except BaseException:
                    if handle.value:
                        pool.append(handle)
                    raise
                tape = Tape(handle, ctx, placement, code, problem, operands, spec)
            else:
                ctx.check(_solve(ctx.handle, ctypes.byref(problem), ctypes.byref(opt), ctypes.byref(sol), None))
    return Result(x, lam, nu, status, iters, tape)


def backward(tape, dx, dlam=None, dnu=None, *, wanted=PARAMETERS):
    """Gradients of a loss with respect to the inputs of the solve that
    recorded `tape`, given dL/dx (and optionally dL/dlam, dL/dnu), shaped like
    the solve's outputs. Returns a dict {name: gradient} over `wanted` with
    each gradient shaped like the input it belongs to (None for an absent
    input); a shared input gets the sum over the batch. Instances that were
    not solved contribute zero; a NaN or Inf incoming gradient makes its
    instance's gradients NaN. For a tape of solve_ragged, dx, dlam, dnu and
    the gradients are in the concatenated layouts (dx (sum n_i), dQ (sum
    n_i^2), ...)."""
    if not isinstance(tape, Tape):
        raise TypeError("qp.backward: tape must be the tape of qp.solve(..., record=True)")
    spec, placement, code = tape.spec, tape.placement, tape.dtype
    if not _PARAMETER_SET.issuperset(wanted):
        unknown = set(wanted) - _PARAMETER_SET
        raise ValueError(f"qp.backward: unknown parameters {sorted(unknown)}; choose from {PARAMETERS}")
    if getattr(spec, "ragged", False):  # a tape of solve_ragged: gradients in the concatenated layouts
        return _ragged_backward(tape, dx, dlam, dnu, wanted)
    B = spec.batch
    grads_in = []
    for value, size, name in ((dx, spec.n, "dx"), (dlam, spec.m, "dlam"), (dnu, spec.k, "dnu")):
        if value is None or size == 0:
            grads_in.append(None)
            continue
        value = _source(value)
        expected = (B, size) if spec.batched else (size,)
        if tuple(value.shape) != expected:
            raise ValueError(f"qp.backward: {name} must have shape {expected}; got {tuple(value.shape)}")
        if _arrays.is_tensor(value) != placement.torch or (
                placement.torch and value.device != placement.device):
            where = placement.device if placement.torch else "numpy"
            raise ValueError(f"qp.backward: {name} must be where the solve ran ({where})")
        grads_in.append(_operand(value, placement, code, name))
    if grads_in[0] is None:
        raise ValueError("qp.backward: dx is required")
    # each gradient is allocated in its input's given shape: a shared input's
    # (inner) or (1, inner) holds the same contiguous values the library writes
    empty = _empty_fn(placement)
    grads = {name: (empty(spec.given_shapes[name], code) if name in wanted and spec.present[name] else None)
             for name in PARAMETERS}
    if B == 0:  # the library writes nothing for an empty batch: a shared input's sum is zero
        for g in grads.values():
            if g is not None:
                g[...] = 0
        return {name: grads[name] for name in wanted}
    return _run_backward(tape, placement, grads_in, grads, wanted)


# ---- ragged batches: instances of different (n, m, k) in one call ---------------

class _RaggedProblem(ctypes.Structure):
    _fields_ = [("batch", c_int64), ("n", c_void_p), ("m", c_void_p), ("k", c_void_p), ("dtype", c_int),
                ("Q", c_void_p), ("p", c_void_p), ("G", c_void_p), ("h", c_void_p), ("A", c_void_p),
                ("b", c_void_p)]


_RAGGED_FNS = {}
RAGGED_POLICIES = {"auto": 0, "exact": 1, "pad": 2}


def _ragged_fn(name):
    """The ragged entry points, declared on first use (importing dopt.qp
    costs nothing for code that never calls them)."""
    fn = _RAGGED_FNS.get(name)
    if fn is None:
        _lib.check_struct(_RaggedProblem, "dopt_qp_ragged_problem")
        prototypes = {"dopt_qp_ragged_solve": (_P(_RaggedProblem), _P(_Options), _P(_Solution), _P(c_void_p)),
                      "dopt_context_set_ragged_policy": (c_int, c_double)}
        fn = _RAGGED_FNS[name] = _lib.declare(name, c_int, c_void_p, *prototypes[name])
    return fn


def _ragged_policy(policy, max_pad_waste, where):
    """(policy code, max_pad_waste) checked; None: "auto" and the default waste."""
    name = "auto" if policy is None else policy
    if name not in RAGGED_POLICIES:
        raise ValueError(f"{where}: policy must be one of {sorted(RAGGED_POLICIES)} (or None: auto); got {policy!r}")
    waste = float(max_pad_waste or 0.0)
    if not 0.0 <= waste < 1.0:
        raise ValueError(f"{where}: max_pad_waste must be in (0, 1) (0 or None: the default 0.25); got "
                         f"{max_pad_waste}")
    return RAGGED_POLICIES[name], waste


# each parameter's per-instance size, as the size vectors it multiplies
_RAGGED_LAYOUT = {"Q": (("n", "n"), "n_i * n_i values"), "p": (("n",), "n_i values"),
                  "G": (("m", "n"), "m_i * n_i values"), "h": (("m",), "m_i values"),
                  "A": (("k", "n"), "k_i * n_i values"), "b": (("k",), "k_i values")}


class _RaggedSpec:
    """The sizes of one ragged call, checked against the concatenated inputs'
    lengths. n, m, k: host int32 (B,); totals: the concatenated lengths."""

    ragged = True
    batched = True

    def __init__(self, n, m, k, inputs, where):
        self.batch = int(n.shape[0])
        for name, vec in (("m", m), ("k", k)):
            if vec.shape[0] != self.batch:
                raise ValueError(f"{where}: n and {name} must have one entry per instance; got {self.batch} and "
                                 f"{vec.shape[0]}")
        self.n, self.m, self.k = n, m, k
        sizes = {"n": n, "m": m, "k": k}
        self.lengths = {name: _ragged.total(*(sizes[s] for s in factors))
                        for name, (factors, _) in _RAGGED_LAYOUT.items()}
        self.present = {}
        self.given_shapes = {}
        if inputs["p"] is None:
            raise ValueError(f"{where}: p (the linear terms) is required")
        for name in PARAMETERS:
            x = inputs[name]
            # a block whose total length is 0 (every m_i = 0, say) may be None or empty
            if x is None or (self.lengths[name] == 0 and _arrays.numel(x) == 0):
                if x is None and name not in ("Q",) and self.lengths[name] != 0:
                    raise ValueError(f"{where}: {name} is missing but the sizes need {self.lengths[name]} entries "
                                     f"({_RAGGED_LAYOUT[name][1]} per instance)")
                self.present[name] = False
                continue
            _ragged.check_flat(x, self.lengths[name], name, where, _RAGGED_LAYOUT[name][1])
            self.present[name] = True
            self.given_shapes[name] = (self.lengths[name],)
        self.sum_n, self.sum_m, self.sum_k = self.lengths["p"], self.lengths["h"], self.lengths["b"]


def _ragged_sizes(n, m, k, where, n_ptr=None, m_ptr=None, k_ptr=None):
    n = _ragged.resolve(n, n_ptr, "n", where)
    batch = n.shape[0]
    if batch and int(n.min()) < 1:  # the library checks the upper limits
        bad = int(np.argmax(n < 1))
        raise ValueError(f"{where}: every instance needs n_i >= 1 variables; instance {bad} has n = {int(n[bad])}")
    m = _ragged.resolve(m, m_ptr, "m", where, batch, default_zero=True)
    k = _ragged.resolve(k, k_ptr, "k", where, batch, default_zero=True)
    return n, m, k


class RaggedResult(NamedTuple):
    """A ragged solve's outputs, concatenated in the instances' order: x (sum
    n_i), lam (sum m_i), nu (sum k_i); status and iters (B,) int32; tape for
    backward (None unless record=True)."""
    x: object
    lam: object
    nu: object
    status: object
    iters: object
    tape: Optional[Tape]


def solve_ragged(n, m, k, Q, p, G=None, h=None, A=None, b=None, *, n_ptr=None, m_ptr=None, k_ptr=None, tol=None,
                 tol_inf=None, max_iter=None, refine=None, dtype=None, record=False, policy=None,
                 max_pad_waste=None):
    """Solves B instances of different sizes in one call (dopt_qp_ragged_solve).

    n, m, k: the sizes (B,) as integers (numpy, lists or tensors; m or k None:
    0 for every instance), or PyG-style offsets n_ptr, m_ptr, k_ptr (B + 1,),
    sizes = diff(ptr). Q, p, G, h, A, b: 1-D, the concatenation of every
    instance's row-major arrays in order (Q: sum n_i^2 values, p: sum n_i,
    G: sum m_i n_i, h: sum m_i, A: sum k_i n_i, b: sum k_i). Q = None: every
    instance is an LP; G, h (A, b) may be None or empty when every m_i
    (k_i) is 0. Options, dtype and record as solve(). policy: how the
    library groups the instances (dopt_context_set_ragged_policy, docs/QP.md
    "Ragged batches"): None or "auto" (the backend's native path), "exact"
    (classes of equal sizes) or "pad" (classes padded where the padded work
    stays within max_pad_waste, default 0.25); on the CPU "exact" is bitwise
    "auto" (with Q given) and "pad" agrees to the solver's tolerance.

    Returns RaggedResult(x, lam, nu, status, iters, tape) with x (sum n_i),
    lam (sum m_i), nu (sum k_i) concatenated in the same order, status and
    iters (B,). Each instance's numbers are those of solving it alone
    (bitwise on the CPU; the CUDA backend solves padded size classes, equal
    within the solver's tolerance)."""
    where = "qp.solve_ragged"
    n, m, k = _ragged_sizes(n, m, k, where, n_ptr, m_ptr, k_ptr)
    inputs = {"Q": _source(Q), "p": _source(p), "G": _source(G), "h": _source(h), "A": _source(A),
              "b": _source(b)}
    spec = _RaggedSpec(n, m, k, inputs, where)
    values = inputs.values()
    placement = _arrays.placement_of(*values)
    code = _arrays.dtype_code(dtype) if dtype is not None else _call_dtype(values)
    operands = {name: (_operand(x, placement, code, name) if spec.present[name] else None)
                for name, x in inputs.items()}
    operands["sizes"] = (n, m, k)  # the library reads them during the solve; the tape keeps them alive
    opt = _options(tol, tol_inf, max_iter, refine)
    ptr = _pointer_fn(placement)
    problem = _RaggedProblem(spec.batch, n.ctypes.data, m.ctypes.data, k.ctypes.data, code,
                             *(ptr(operands[name]) for name in PARAMETERS))
    empty = _empty_fn(placement)
    x = empty((spec.sum_n,), code)
    lam = empty((spec.sum_m,), code)
    nu = empty((spec.sum_k,), code)
    status = empty((spec.batch,), "int32")
    iters = empty((spec.batch,), "int32")
    sol = _Solution(ptr(x), ptr(lam), ptr(nu), ptr(status), ptr(iters))
    policy_code, waste = _ragged_policy(policy, max_pad_waste, where)
    ctx = placement.context()
    handle = c_void_p()
    if spec.batch:
        with ctx.lock:
            ctx.prepare(placement.stream())
            ctx.check(_ragged_fn("dopt_context_set_ragged_policy")(ctx.handle, policy_code, waste))
            # the pool's tapes serve uniform and ragged solves alike (the library refills either)
            pool = _tape_pool(ctx) if record else None
            if record and pool:
                handle = pool.pop()
            try:
                ctx.check(_ragged_fn("dopt_qp_ragged_solve")(ctx.handle, ctypes.byref(problem), ctypes.byref(opt),
                                                             ctypes.byref(sol),
                                                             ctypes.byref(handle) if record else None))
            except BaseException:
                if handle.value:
                    pool.append(handle)
                raise
    tape = Tape(handle, ctx, placement, code, problem, operands, spec) if record else None
    return RaggedResult(x, lam, nu, status, iters, tape)


def _ragged_backward(tape, dx, dlam, dnu, wanted):
    spec, placement, code = tape.spec, tape.placement, tape.dtype
    where = "qp.backward"
    grads_in = []
    for value, size, name, layout in ((dx, spec.sum_n, "dx", "n_i"), (dlam, spec.sum_m, "dlam", "m_i"),
                                      (dnu, spec.sum_k, "dnu", "k_i")):
        if value is None or size == 0:
            grads_in.append(None)
            continue
        value = _source(value)
        _ragged.check_flat(value, size, name, where, layout + " values")
        if _arrays.is_tensor(value) != placement.torch or (
                placement.torch and value.device != placement.device):
            raise ValueError(f"{where}: {name} must be where the solve ran "
                             f"({placement.device if placement.torch else 'numpy'})")
        grads_in.append(_operand(value, placement, code, name))
    if grads_in[0] is None and spec.sum_n:
        raise ValueError(f"{where}: dx is required")
    empty = _empty_fn(placement)
    grads = {name: (empty(spec.given_shapes[name], code) if name in wanted and spec.present[name] else None)
             for name in PARAMETERS}
    if spec.batch == 0 or not tape._handle or not tape._handle.value:
        return {name: grads[name] for name in wanted}
    return _run_backward(tape, placement, grads_in, grads, wanted)


def _run_backward(tape, placement, grads_in, grads, wanted):
    """The library's backward through `tape` (uniform or ragged): incoming
    gradients grads_in (dx, dlam, dnu), outputs into grads (per parameter or
    None); returns the wanted ones."""
    ptr = _pointer_fn(placement)
    gin = _GradIn(*(ptr(g) for g in grads_in))
    gout = _GradOut(*(ptr(grads[name]) for name in PARAMETERS))
    ctx = tape._ctx
    with ctx.lock:
        ctx.prepare(placement.stream())
        ctx.check(_backward(ctx.handle, tape._handle, ctypes.byref(gin), ctypes.byref(gout)))
    return {name: grads[name] for name in wanted}


# ---- the sparse layer (CSR Q, G, A; _sparse_qp.py) ----------------------------
from ._sparse_qp import (SparseResult, SparseStructure, SparseTape, backward_sparse,  # noqa: E402
                         backward_sparse_groups, solve_sparse, solve_sparse_groups)
