"""The ILP layer: a batch of exact small integer programs

    minimize c'y  subject to  A y <= b,  lb <= y <= ub,  y integer

(CombOptNet's convention; n and m up to 64, accepted up to 256) solved by
branch and bound, and their gradients: CombOptNet (dA, db, dc), blackbox
differentiation (DBB), the perturbed optimizer, straight-through (identity)
and SPO+. numpy arrays in, numpy out; torch tensors in (CPU or CUDA), tensors
out on the same device. For autograd, use dopt.torch.ilp / dopt.torch.ILP /
dopt.torch.SPOPlus / dopt.torch.PerturbedFenchelYoung.

Shapes: c (n,), A (m, n), b (m,), lb and ub (n,), each with an optional
leading batch dimension. An input without one (or with batch size 1) is
shared by the whole batch, read once, and its gradient is the sum over the
batch. A, b = None (or empty): no constraints. lb, ub = None: 0 and 1 (binary);
a Python number stands for that bound on every variable. Bounds must be
finite (|bound| <= 1e9) and are rounded inward to integers. b may hold +inf
(that row is absent for that instance). Every solve runs in float64; the
outputs have the dtype of c, A and b (float64 if any of them is, else
float32; the bounds' dtype does not count). Per-instance outcomes are in `status`
(dopt.InstanceStatus: 0 solved, 1 infeasible (y = 0, obj = +inf), 3 node or
time limit, 4 numerical, 5 invalid data such as NaN (obj = NaN)); one bad
instance never affects the others. See docs/ILP.md for the rules.
"""

import ctypes
import numbers
from typing import NamedTuple

import numpy as np

from . import _arrays
from . import _lib
from . import _ragged
from ._lib import c_double, c_int, c_int32, c_int64, c_void_p

SHARE_A, SHARE_B, SHARE_C, SHARE_LB, SHARE_UB = (1 << i for i in range(5))
PARAMETERS = ("A", "b", "c", "lb", "ub")  # the order of the DOPT_ILP_SHARE_* bits
_BASE_NDIM = {"A": 2, "b": 1, "c": 1, "lb": 1, "ub": 1}

METHODS = {"combopt": 0, "dbb": 1, "perturbed": 2, "identity": 3}
MAX_DIM = 256


class _Problem(ctypes.Structure):
    _fields_ = [("batch", c_int64), ("n", c_int32), ("m", c_int32), ("dtype", c_int),
                ("c", c_void_p), ("A", c_void_p), ("b", c_void_p), ("lb", c_void_p), ("ub", c_void_p),
                ("shared", ctypes.c_uint32)]


class _Options(ctypes.Structure):
    _fields_ = [("node_limit", c_int64), ("time_limit", c_double)]


class _Solution(ctypes.Structure):
    _fields_ = [("y", c_void_p), ("obj", c_void_p), ("bound", c_void_p), ("status", c_void_p),
                ("nodes", c_void_p)]


class _GradOptions(ctypes.Structure):
    _fields_ = [("method", c_int), ("tau", c_double), ("lambd", c_double), ("epsilon", c_double),
                ("samples", c_int32), ("seed", ctypes.c_uint64)]


for _mirror, _c_name in ((_Problem, "dopt_ilp_problem"), (_Options, "dopt_ilp_options"),
                         (_Solution, "dopt_ilp_solution"), (_GradOptions, "dopt_ilp_grad_options")):
    _lib.check_struct(_mirror, _c_name)

_P = ctypes.POINTER
_solve = _lib.declare("dopt_ilp_solve", c_int, c_void_p, _P(_Problem), _P(_Options), _P(_Solution))
_backward = _lib.declare("dopt_ilp_backward", c_int, c_void_p, _P(_Problem), _P(_Options), _P(_GradOptions),
                         c_void_p, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p)
_perturbed = _lib.declare("dopt_ilp_perturbed", c_int, c_void_p, _P(_Problem), _P(_Options), _P(_GradOptions),
                          c_void_p)
_spo_plus = _lib.declare("dopt_ilp_spo_plus", c_int, c_void_p, _P(_Problem), _P(_Options), c_void_p, c_void_p,
                         c_void_p, c_void_p)
_origin_to_b = _lib.declare("dopt_ilp_origin_to_b", None, c_int32, c_int32, c_void_p, c_void_p, c_void_p, c_void_p)
_origin_backward = _lib.declare("dopt_ilp_origin_backward", None, c_int32, c_int32, c_void_p, c_void_p, c_void_p,
                                c_void_p, c_void_p, c_void_p, c_void_p)


class Result(NamedTuple):
    """y (batch, n) in the inputs' dtype; obj and bound (batch,) likewise
    (obj = +inf when infeasible, NaN for invalid data; bound = the proven
    lower bound, equal to obj when solved); status (batch,) int32
    (dopt.InstanceStatus); nodes (batch,) int64, LP relaxations solved.
    Without a batched input, no batch dimension."""
    y: object
    obj: object
    bound: object
    status: object
    nodes: object


# ---- argument handling ---------------------------------------------------------

def _bound_array(x, like):
    """A Python number (or 0-d array) as a bound: that value for every variable."""
    if x is None or _arrays.is_tensor(x) and x.dim() > 0:
        return x
    if isinstance(x, numbers.Real) or (isinstance(x, np.ndarray) and x.ndim == 0) or (
            _arrays.is_tensor(x) and x.dim() == 0):
        n = _arrays.shape(like)[-1] if like is not None and _arrays.ndim(like) >= 1 else None
        if n is None:
            raise ValueError("ilp: c must have at least one dimension (n,)")
        value = float(x)
        if _arrays.is_tensor(like):
            return _arrays._torch().full((n,), value, dtype=_arrays._torch().float64, device=like.device)
        return np.full((n,), value)
    return x


class _Spec:
    """The shapes of one call's inputs, resolved and checked."""

    def __init__(self, inputs, who="ilp"):
        self.given_shapes = {}
        self.present = {}
        batch = None
        batched = False
        c = inputs["c"]
        if c is None:
            raise ValueError(f"{who}: c (the costs) is required")
        for name in PARAMETERS:
            x = inputs[name]
            present = x is not None and not (name in ("A", "b") and _arrays.numel(x) == 0)
            self.present[name] = present
            if not present:
                continue
            shape = _arrays.shape(x)
            base = _BASE_NDIM[name]
            if len(shape) not in (base, base + 1):
                raise ValueError(f"{who}: {name} must have {base} dimension{'s' if base > 1 else ''}, or "
                                 f"{base + 1} with a leading batch dimension; got shape {shape}")
            self.given_shapes[name] = shape
            if len(shape) == base + 1:
                batched = True
                if shape[0] != 1:
                    if batch is not None and batch != shape[0]:
                        raise ValueError(f"{who}: batch sizes differ: {batch} and {shape[0]} ({name} has shape "
                                         f"{shape})")
                    batch = shape[0]
        self.batched = batched
        self.batch = batch if batch is not None else 1
        self.shared = {name: self.present[name] and (len(self.given_shapes[name]) == _BASE_NDIM[name]
                                                       or self.given_shapes[name][0] == 1)
                       for name in PARAMETERS}
        inner = {name: s[-_BASE_NDIM[name]:] for name, s in self.given_shapes.items()}
        self.n = inner["c"][0]
        if self.n < 1 or self.n > MAX_DIM:
            raise ValueError(f"{who}: need 1 <= n <= {MAX_DIM} variables; got c with shape {self.given_shapes['c']}")
        if self.present["A"] != self.present["b"]:
            raise ValueError(f"{who}: A and b come together; got only {'A' if self.present['A'] else 'b'}")
        self.m = 0
        if self.present["A"]:
            self.m = inner["A"][0]
            if inner["A"][1] != self.n:
                raise ValueError(f"{who}: A must be (m, n) with n = {self.n} (from c) per instance; got {inner['A']}")
            if inner["b"] != (self.m,):
                raise ValueError(f"{who}: b must have m = {self.m} entries per instance to match A; got {inner['b']}")
            if self.m > MAX_DIM:
                raise ValueError(f"{who}: at most {MAX_DIM} constraints; got A with {self.m} rows")
        for name in ("lb", "ub"):
            if self.present[name] and inner[name] != (self.n,):
                raise ValueError(f"{who}: {name} must have n = {self.n} entries per instance; got {inner[name]}")

    def shared_bits(self):
        bits = 0
        for i, name in enumerate(PARAMETERS):
            if self.shared[name]:
                bits |= 1 << i
        return bits

    def out_shape(self, *inner):
        return ((self.batch,) if self.batched else ()) + inner


def check_limits(node_limit, time_limit, who="ilp"):
    """node_limit, time_limit checked, as (int, float) with 0 for None."""
    node_limit = int(node_limit or 0)
    time_limit = float(time_limit or 0.0)
    if node_limit < 0:
        raise ValueError(f"{who}: node_limit must be >= 0 (0 or None: the default 1,000,000); got {node_limit}")
    if not (0.0 <= time_limit < 1e9):
        raise ValueError(f"{who}: time_limit must be in [0, 1e9) seconds (0 or None: none); got {time_limit}")
    return node_limit, time_limit


def _options(node_limit, time_limit, who):
    return _Options(*check_limits(node_limit, time_limit, who))


def grad_options(method="combopt", *, tau=0.5, lambd=10.0, epsilon=1.0, samples=10, seed=0, who="ilp"):
    """The gradient options as the C struct (checked)."""
    return _GradOptions(*check_grad_options(method, tau=tau, lambd=lambd, epsilon=epsilon, samples=samples,
                                            seed=seed, who=who))


def check_grad_options(method="combopt", *, tau=0.5, lambd=10.0, epsilon=1.0, samples=10, seed=0, who="ilp"):
    """The gradient options checked, as (method code, tau, lambd, epsilon, samples, seed)."""
    if method not in METHODS:
        raise ValueError(f"{who}: method must be one of {sorted(METHODS)}; got {method!r}")
    tau, lambd, epsilon = float(tau), float(lambd), float(epsilon)
    if not (0.0 <= tau < float("inf")):
        raise ValueError(f"{who}: tau must be >= 0 and finite; got {tau}")
    if not (0.0 < lambd < float("inf")):
        raise ValueError(f"{who}: lambd (the DBB interpolation) must be > 0 and finite; got {lambd}")
    if not (0.0 < epsilon < float("inf")):
        raise ValueError(f"{who}: epsilon must be > 0 and finite; got {epsilon}")
    samples, seed = int(samples), int(seed)
    if not 1 <= samples <= 1_000_000:
        raise ValueError(f"{who}: samples must be in [1, 1e6]; got {samples}")
    if not 0 <= seed < 2 ** 64:
        raise ValueError(f"{who}: seed must be in [0, 2^64); got {seed}")
    return METHODS[method], tau, lambd, epsilon, samples, seed


class _Call:
    """One call's problem: spec, placement, dtype, operands and the C struct."""

    def __init__(self, c, A, b, lb, ub, dtype, who, extra=()):
        lb = _bound_array(lb, c)
        ub = _bound_array(ub, c)
        inputs = {"A": A, "b": b, "c": c, "lb": lb, "ub": ub}
        inputs = {k: _arrays.as_shape_source(v) for k, v in inputs.items()}
        self.spec = spec = _Spec(inputs, who)
        extra = [_arrays.as_shape_source(x) for x in extra]
        self.placement = _arrays.placement_of(*inputs.values(), *extra)
        floats = [inputs[k] for k in ("A", "b", "c") if spec.present[k]]  # bounds are integers: no say
        self.dtype = _arrays.dtype_code(dtype) if dtype is not None else _arrays.dtype_of(*floats, *extra)
        self.operands = {name: (_arrays.operand(inputs[name], self.placement, self.dtype, name)
                                if spec.present[name] else None) for name in PARAMETERS}
        ops = self.operands
        self.problem = _Problem(spec.batch, spec.n, spec.m, self.dtype,
                                _arrays.pointer(ops["c"]), _arrays.pointer(ops["A"]), _arrays.pointer(ops["b"]),
                                _arrays.pointer(ops["lb"]), _arrays.pointer(ops["ub"]), spec.shared_bits())
        self.who = who

    def per_instance(self, x, name, inner, kind=None):
        """An extra per-instance argument (y, dy, status, ...), checked and converted."""
        spec = self.spec
        x = _arrays.as_shape_source(x)
        expected = spec.out_shape(*inner)
        if _arrays.shape(x) != expected:
            raise ValueError(f"{self.who}: {name} must have shape {expected}; got {_arrays.shape(x)}")
        if _arrays.is_tensor(x) != self.placement.torch or (
                self.placement.torch and x.device != self.placement.device):
            where = self.placement.device if self.placement.torch else "numpy arrays"
            got = x.device if _arrays.is_tensor(x) else "a numpy array"
            raise ValueError(f"{self.who}: {name} must be where the problem's data are ({where}); got {got}")
        return _arrays.operand(x, self.placement, kind if kind is not None else self.dtype, name)

    def run(self, fn, *args):
        if self.spec.batch == 0:  # nothing to solve (the library would see NULL data pointers)
            return
        ctx = self.placement.context()
        with ctx.lock:
            ctx.prepare(self.placement.stream())
            ctx.check(fn(ctx.handle, ctypes.byref(self.problem), *args))

    def finish(self, x):
        """Drops the batch dimension of an output when no input had one."""
        return x if self.spec.batched else x[0]


# ---- the public calls ----------------------------------------------------------

def solve(c, A=None, b=None, lb=None, ub=None, *, node_limit=None, time_limit=None, dtype=None):
    """Solves the batch exactly. Returns Result(y, obj, bound, status, nodes).

    node_limit: LP relaxations per instance (None: 1,000,000); time_limit:
    wall-clock seconds for the whole call (None: none; with one, results depend
    on timing). dtype: float32 or float64 (default: float64 if c, A or b is,
    else float32); the solve itself always runs in float64. Bad shapes or
    options raise ValueError, library failures dopt.Error; instances that
    fail get a status."""
    call = _Call(c, A, b, lb, ub, dtype, "ilp.solve")
    spec, pl, code = call.spec, call.placement, call.dtype
    B = spec.batch
    y = pl.empty((B, spec.n), code)
    obj = pl.empty((B,), code)
    bound = pl.empty((B,), code)
    status = pl.empty((B,), "int32")
    nodes = pl.empty((B,), "int64")
    sol = _Solution(*(_arrays.pointer(x) for x in (y, obj, bound, status, nodes)))
    call.run(_solve, ctypes.byref(_options(node_limit, time_limit, "ilp.solve")), ctypes.byref(sol))
    return Result(*(call.finish(x) for x in (y, obj, bound, status, nodes)))


def backward(c, A=None, b=None, lb=None, ub=None, *, y, status, dy, method="combopt", tau=0.5, lambd=10.0,
             epsilon=1.0, samples=10, seed=0, node_limit=None, time_limit=None, dtype=None,
             wanted=("A", "b", "c")):
    """Gradients of a loss L with respect to A, b and c, given the forward's
    y and status (from solve on the same data) and dL/dy, by `method`:

      "combopt"   CombOptNet (Paulus et al. 2021), temperature tau (0 = hard
                  min): dA, db, dc;
      "dbb"       blackbox differentiation: dc = (y(c + lambd dy) - y(c)) / lambd
                  (one more batched solve);
      "perturbed" Berthet et al.: dc = E[Z <y(c + epsilon Z), dy>] / epsilon
                  over `samples` draws of Z (Philox, `seed`; the same Z as
                  perturbed() with that seed);
      "identity"  straight-through for minimization: dc = -dy.

    Returns {name: gradient} over `wanted`, each shaped like its input (a
    shared input gets the batch sum; None for an absent input). dbb,
    perturbed and identity give dA = db = 0. Unsolved instances get zeros; a
    NaN/Inf in an instance's dy makes its gradients NaN."""
    unknown = set(wanted) - {"A", "b", "c"}
    if unknown:
        raise ValueError(f"ilp.backward: gradients exist for A, b and c; got {sorted(unknown)}")
    g = grad_options(method, tau=tau, lambd=lambd, epsilon=epsilon, samples=samples, seed=seed,
                     who="ilp.backward")
    call = _Call(c, A, b, lb, ub, dtype, "ilp.backward")
    spec, pl, code = call.spec, call.placement, call.dtype
    y = call.per_instance(y, "y", (spec.n,))
    dy = call.per_instance(dy, "dy", (spec.n,))
    status = call.per_instance(status, "status", (), "int32")
    B = spec.batch
    grads = {}
    for name in ("A", "b", "c"):
        if name in wanted and spec.present[name]:
            inner = spec.given_shapes[name][-_BASE_NDIM[name]:]
            alloc = pl.zeros if B == 0 else pl.empty  # an empty batch's sum is 0
            grads[name] = alloc(inner if spec.shared[name] else (B,) + inner, code)
        else:
            grads[name] = None
    call.run(_backward, ctypes.byref(_options(node_limit, time_limit, "ilp.backward")), ctypes.byref(g),
             _arrays.pointer(y), _arrays.pointer(status), _arrays.pointer(dy),
             _arrays.pointer(grads["A"]), _arrays.pointer(grads["b"]), _arrays.pointer(grads["c"]))
    return {name: (None if grads[name] is None else grads[name].reshape(spec.given_shapes[name]))
            for name in wanted}


def perturbed(c, A=None, b=None, lb=None, ub=None, *, epsilon=1.0, samples=10, seed=0, node_limit=None,
              time_limit=None, dtype=None):
    """The perturbed optimizer's forward (Berthet et al. 2020): y_eps (batch,
    n) = the mean over `samples` draws of y(c + epsilon Z), Z ~ N(0, I) from
    Philox with `seed` (the same Z as backward(method="perturbed") with that
    seed; deterministic for any thread count)."""
    g = grad_options("perturbed", epsilon=epsilon, samples=samples, seed=seed, who="ilp.perturbed")
    call = _Call(c, A, b, lb, ub, dtype, "ilp.perturbed")
    spec, pl = call.spec, call.placement
    y_eps = pl.empty((spec.batch, spec.n), call.dtype)
    call.run(_perturbed, ctypes.byref(_options(node_limit, time_limit, "ilp.perturbed")), ctypes.byref(g),
             _arrays.pointer(y_eps))
    return call.finish(y_eps)


def spo_plus(c_hat, c_true, A=None, b=None, lb=None, ub=None, *, y_true=None, node_limit=None, time_limit=None,
             dtype=None):
    """SPO+ (Elmachtoub & Grigas 2022) for minimization, per instance:

        loss = -z(2 c_hat - c_true) + 2 c_hat'y* - c_true'y*,
        dc   = 2 (y* - y(2 c_hat - c_true))   (a subgradient in c_hat),

    with z(.) the optimal value and y* = y_true, or solved as y(c_true) when
    y_true is None. c_true must have c_hat's shape. Returns (loss (batch,),
    dc shaped like c_hat). An instance with a NaN/Inf cost gets a NaN loss
    and dc."""
    who = "ilp.spo_plus"
    if c_true is None:
        raise ValueError(f"{who}: c_true is required")
    call = _Call(c_hat, A, b, lb, ub, dtype, who, extra=(c_true,) + ((y_true,) if y_true is not None else ()))
    spec, pl = call.spec, call.placement
    c_true = _arrays.as_shape_source(c_true)
    if _arrays.shape(c_true) != spec.given_shapes["c"]:
        raise ValueError(f"{who}: c_true must have c_hat's shape {spec.given_shapes['c']}; got "
                         f"{_arrays.shape(c_true)}")
    c_true = _arrays.operand(c_true, pl, call.dtype, "c_true")
    if y_true is not None:
        y_true = call.per_instance(y_true, "y_true", (spec.n,))
    loss = pl.empty((spec.batch,), call.dtype)
    dc = pl.empty((spec.n,) if spec.shared["c"] else (spec.batch, spec.n), call.dtype)
    call.run(_spo_plus, ctypes.byref(_options(node_limit, time_limit, who)), _arrays.pointer(c_true),
             _arrays.pointer(y_true), _arrays.pointer(loss), _arrays.pointer(dc))
    return call.finish(loss), dc.reshape(spec.given_shapes["c"])


# ---- CombOptNet's learnable origins ----------------------------------------------

def _host64(x, name, who):
    if x is None:
        return None
    if _arrays.is_tensor(x):
        x = x.detach().cpu().numpy()
    x = np.ascontiguousarray(np.asarray(x), dtype=np.float64)
    return x


def _like(result, template):
    """A float64 numpy result as the kind (numpy/tensor, device, dtype) of template."""
    if _arrays.is_tensor(template):
        torch = _arrays._torch()
        dtype = template.dtype if template.is_floating_point() else torch.float64
        return torch.from_numpy(result).to(device=template.device, dtype=dtype)
    if isinstance(template, np.ndarray) and template.dtype in (np.float32, np.float64):
        return result.astype(template.dtype, copy=False)
    return result


def _origin_shapes(a, o, who):
    if a.ndim not in (2, 3):
        raise ValueError(f"{who}: a must be (m, n) or (batch, m, n); got shape {a.shape}")
    if o.shape != a.shape:
        raise ValueError(f"{who}: o (one origin per row) must have a's shape {a.shape}; got {o.shape}")
    rows, n = int(np.prod(a.shape[:-1])), a.shape[-1]
    return rows, n


def origin_to_b(a, r, o):
    """CombOptNet's learnable-origin constraints: row j is a_j'(y - o_j) <= r_j,
    the half-space r_j / |a_j| away from its own origin o_j, so b_j = r_j +
    a_j'o_j. a, o (m, n) or (batch, m, n); r (m,) or (batch, m). Returns b
    shaped like r. Computed on the host in float64 (tensors are copied there
    and back); dopt.torch.origin_to_b is the differentiable form."""
    who = "ilp.origin_to_b"
    a64, r64, o64 = _host64(a, "a", who), _host64(r, "r", who), _host64(o, "o", who)
    rows, n = _origin_shapes(a64, o64, who)
    if r64.shape != a64.shape[:-1]:
        raise ValueError(f"{who}: r must have shape {a64.shape[:-1]} (one entry per row of a); got {r64.shape}")
    out = np.empty(r64.shape, np.float64)
    _origin_to_b(rows, n, a64.ctypes.data, r64.ctypes.data, o64.ctypes.data, out.ctypes.data)
    return _like(out, r)


def origin_backward(a, o, dA=None, db=None):
    """Maps the gradients (dA, db) of A = a and b = origin_to_b(a, r, o) to
    (da, dr, do): da = dA + db o', dr = db, do = db a (row-wise). Shapes as in
    origin_to_b; dA or db None counts as zero."""
    who = "ilp.origin_backward"
    a64, o64 = _host64(a, "a", who), _host64(o, "o", who)
    rows, n = _origin_shapes(a64, o64, who)
    dA64, db64 = _host64(dA, "dA", who), _host64(db, "db", who)
    if dA64 is not None and dA64.shape != a64.shape:
        raise ValueError(f"{who}: dA must have a's shape {a64.shape}; got {dA64.shape}")
    if db64 is not None and db64.shape != a64.shape[:-1]:
        raise ValueError(f"{who}: db must have shape {a64.shape[:-1]}; got {db64.shape}")
    da = np.empty(a64.shape, np.float64)
    dr = np.empty(a64.shape[:-1], np.float64)
    do = np.empty(a64.shape, np.float64)
    _origin_backward(rows, n, a64.ctypes.data, o64.ctypes.data, None if dA64 is None else dA64.ctypes.data,
                     None if db64 is None else db64.ctypes.data, da.ctypes.data, dr.ctypes.data, do.ctypes.data)
    return _like(da, a), _like(dr, a), _like(do, o)


# ---- problem descriptions (constraints shared by every instance) ----------------

def _problem_bound(x, name):
    """A Problem's bound: None, a number (0-d arrays and tensors too: that
    value for every variable) or a float64 host array."""
    if x is None or isinstance(x, numbers.Real):
        return x
    if _arrays.is_tensor(x):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    return float(x) if x.ndim == 0 else np.ascontiguousarray(x)


class Problem:
    """The constraints of a family of ILPs whose instances differ in their
    costs (PyEPO's setting): A (m, n), b (m,), lb, ub (n,) (None: binary) and
    the sense, "min" or "max". Equality rows are given as two inequalities.
    Build one directly, with shortest_path(grid) / knapsack(weights,
    capacity) (PyEPO's formulations, same variable order), or from a PyEPO
    optModel with from_pyepo(optmodel)."""

    def __init__(self, A=None, b=None, lb=None, ub=None, sense="min"):
        if sense not in ("min", "max"):
            raise ValueError(f"Problem: sense must be 'min' or 'max'; got {sense!r}")
        self.A = None if A is None else _host64(A, "A", "Problem")
        self.b = None if b is None else _host64(b, "b", "Problem")
        if (self.A is None) != (self.b is None):
            raise ValueError("Problem: A and b come together")
        if self.A is not None and (self.A.ndim != 2 or self.b.shape != (self.A.shape[0],)):
            raise ValueError(f"Problem: A must be (m, n) and b (m,); got {self.A.shape} and {self.b.shape}")
        self.lb, self.ub = _problem_bound(lb, "lb"), _problem_bound(ub, "ub")
        self.sense = sense
        self.n = None if self.A is None else self.A.shape[1]

    def __repr__(self):
        m = 0 if self.A is None else self.A.shape[0]
        return f"dopt.ilp.Problem(n={self.n}, m={m}, sense={self.sense!r})"

    @classmethod
    def shortest_path(cls, grid):
        """PyEPO's shortest path on an (h, w) grid: from the top-left node to
        the bottom-right one, arcs east and south in PyEPO's order (its
        shortestPathModel(grid).arcs), flow conservation (inflow - outflow
        = -1 at the source, 1 at the sink, 0 elsewhere) written as the rows
        inflow - outflow <= rhs, which force equality (see _flow), y in {0, 1},
        minimize."""
        h, w = (int(v) for v in grid)
        arcs = []
        for i in range(h):  # row i's east arcs, then its south arcs (PyEPO's order)
            arcs += [(i * w + j, i * w + j + 1) for j in range(w - 1)]
            if i + 1 < h:
                arcs += [(i * w + j, i * w + j + w) for j in range(w)]
        return cls._flow(arcs, h * w, 0, h * w - 1)

    @classmethod
    def _flow(cls, arcs, nodes, source, sink):
        n = len(arcs)
        E = np.zeros((nodes, n))
        for k, (u, v) in enumerate(arcs):
            E[v, k] += 1.0
            E[u, k] -= 1.0
        rhs = np.zeros(nodes)
        rhs[source], rhs[sink] = -1.0, 1.0
        # inflow - outflow <= rhs, one row per node: every column of E sums to
        # 0 and so does rhs, so the rows' left sides sum to 0 = the right sides'
        # sum and every row holds with equality: the flow conservation
        # equalities with half the rows of writing each as two inequalities
        return cls(E, rhs, 0, 1, "min")

    @classmethod
    def knapsack(cls, weights, capacity):
        """PyEPO's multi-dimensional knapsack: maximize c'y subject to
        weights y <= capacity, y binary. weights (dim, items)."""
        weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        return cls(weights, np.asarray(capacity, dtype=np.float64).reshape(-1), 0, 1, "max")

    @classmethod
    def from_pyepo(cls, optmodel):
        """The constraints of a PyEPO optModel: its shortest-path models (any
        backend: recognized by `grid` and `arcs`), its knapsack models
        (`weights`, `capacity`), or any object with attributes A, b (and
        optionally lb, ub) in dopt's convention. The sense is the model's
        modelSense."""
        model_sense = getattr(optmodel, "modelSense", 1)  # PyEPO: EPO.MINIMIZE = 1, EPO.MAXIMIZE = -1
        sense = "max" if int(model_sense) == -1 else "min"
        if hasattr(optmodel, "grid") and hasattr(optmodel, "arcs"):
            h, w = optmodel.grid
            problem = cls._flow(list(optmodel.arcs), h * w, 0, h * w - 1)
            problem.sense = sense
            return problem
        if hasattr(optmodel, "weights") and hasattr(optmodel, "capacity"):
            weights = np.atleast_2d(np.asarray(optmodel.weights, dtype=np.float64))
            return cls(weights, np.asarray(optmodel.capacity, dtype=np.float64).reshape(-1), 0, 1, sense)
        if hasattr(optmodel, "A") and hasattr(optmodel, "b"):
            return cls(optmodel.A, optmodel.b, getattr(optmodel, "lb", None), getattr(optmodel, "ub", None),
                       getattr(optmodel, "sense", sense))
        raise TypeError(f"Problem.from_pyepo: cannot read the constraints of {type(optmodel).__name__}: dopt "
                        "knows PyEPO's shortest path (grid, arcs) and knapsack (weights, capacity) models, or an "
                        "object with A, b (A y <= b), lb, ub; build a dopt.ilp.Problem(A, b, lb, ub, sense) instead")

    def solve(self, c, *, node_limit=None, time_limit=None):
        """Solves for costs c (n,) or (batch, n) in this problem's sense."""
        sign = -1.0 if self.sense == "max" else 1.0
        result = solve(sign * c, self.A, self.b, self.lb, self.ub, node_limit=node_limit, time_limit=time_limit)
        return result._replace(obj=sign * result.obj, bound=sign * result.bound)


# ---- ragged batches: instances of different (n, m) in one call --------------------

class _RaggedProblem(ctypes.Structure):
    _fields_ = [("batch", c_int64), ("n", c_void_p), ("m", c_void_p), ("dtype", c_int),
                ("c", c_void_p), ("A", c_void_p), ("b", c_void_p), ("lb", c_void_p), ("ub", c_void_p)]


_RAGGED_FNS = {}


def _ragged_fn(name):
    """The ragged entry points, declared on first use (importing dopt.ilp
    costs nothing for code that never calls them)."""
    fn = _RAGGED_FNS.get(name)
    if fn is None:
        _lib.check_struct(_RaggedProblem, "dopt_ilp_ragged_problem")
        prototypes = {
            "dopt_ilp_ragged_solve": (_P(_RaggedProblem), _P(_Options), _P(_Solution)),
            "dopt_ilp_ragged_backward": (_P(_RaggedProblem), _P(_Options), _P(_GradOptions), c_void_p, c_void_p,
                                         c_void_p, c_void_p, c_void_p, c_void_p),
            "dopt_ilp_ragged_perturbed": (_P(_RaggedProblem), _P(_Options), _P(_GradOptions), c_void_p),
            "dopt_ilp_ragged_spo_plus": (_P(_RaggedProblem), _P(_Options), c_void_p, c_void_p, c_void_p, c_void_p),
        }
        fn = _RAGGED_FNS[name] = _lib.declare(name, c_int, c_void_p, *prototypes[name])
    return fn


_RAGGED_LAYOUT = {"c": (("n",), "n_i values"), "A": (("m", "n"), "m_i * n_i values"), "b": (("m",), "m_i values"),
                  "lb": (("n",), "n_i values"), "ub": (("n",), "n_i values")}


class RaggedResult(NamedTuple):
    """A ragged solve's outputs in the instances' order: y (sum n_i) in the
    inputs' dtype; obj and bound (B,) likewise; status (B,) int32; nodes
    (B,) int64."""
    y: object
    obj: object
    bound: object
    status: object
    nodes: object


class _RaggedCall:
    """One ragged call: sizes, placement, dtype, operands and the C struct."""

    def __init__(self, n, m, c, A, b, lb, ub, dtype, who, n_ptr=None, m_ptr=None, extra=()):
        n = _ragged.resolve(n, n_ptr, "n", who)
        batch = n.shape[0]
        m = _ragged.resolve(m, m_ptr, "m", who, batch, default_zero=True)
        if batch and (int(n.min()) < 1 or int(n.max()) > MAX_DIM):
            bad = int(np.argmax((n < 1) | (n > MAX_DIM)))
            raise ValueError(f"{who}: need 1 <= n_i <= {MAX_DIM} variables; instance {bad} has n = {int(n[bad])}")
        if batch and int(m.max()) > MAX_DIM:
            bad = int(np.argmax(m > MAX_DIM))
            raise ValueError(f"{who}: at most {MAX_DIM} constraints per instance; instance {bad} has m = "
                             f"{int(m[bad])}")
        self.n, self.m, self.batch, self.who = n, m, batch, who
        sizes = {"n": n, "m": m}
        self.lengths = {name: _ragged.total(*(sizes[s] for s in factors))
                        for name, (factors, _) in _RAGGED_LAYOUT.items()}
        self.sum_n, self.sum_m = self.lengths["c"], self.lengths["b"]
        if c is None:
            raise ValueError(f"{who}: c (the costs) is required")
        inputs = {"c": c, "A": A, "b": b, "lb": lb, "ub": ub}
        for name in ("lb", "ub"):  # a number: that bound for every variable
            x = inputs[name]
            if x is not None and (isinstance(x, numbers.Real) or np.ndim(x) == 0 and not _arrays.is_tensor(x)
                                  or _arrays.is_tensor(x) and x.dim() == 0):
                value = float(x)
                inputs[name] = (_arrays._torch().full((self.sum_n,), value, dtype=_arrays._torch().float64,
                                                      device=c.device) if _arrays.is_tensor(c)
                                else np.full((self.sum_n,), value))
        inputs = {k: _arrays.as_shape_source(v) for k, v in inputs.items()}
        self.present = {}
        for name in PARAMETERS:
            x = inputs[name]
            if x is None or (name in ("A", "b") and self.lengths[name] == 0 and _arrays.numel(x) == 0):
                if x is None and name in ("A", "b") and self.lengths[name]:
                    raise ValueError(f"{who}: {name} is missing but the sizes m need {self.lengths[name]} entries")
                self.present[name] = False
                continue
            _ragged.check_flat(x, self.lengths[name], name, who, _RAGGED_LAYOUT[name][1])
            self.present[name] = True
        extra = [_arrays.as_shape_source(x) for x in extra]
        self.placement = _arrays.placement_of(*inputs.values(), *extra)
        floats = [inputs[k] for k in ("A", "b", "c") if self.present[k]]
        self.dtype = _arrays.dtype_code(dtype) if dtype is not None else _arrays.dtype_of(*floats, *extra)
        self.operands = ops = {name: (_arrays.operand(inputs[name], self.placement, self.dtype, name)
                                      if self.present[name] else None) for name in PARAMETERS}
        self.problem = _RaggedProblem(batch, n.ctypes.data, m.ctypes.data, self.dtype,
                                      *(_arrays.pointer(ops[k]) for k in ("c", "A", "b", "lb", "ub")))

    def flat(self, x, name, length, layout, kind=None):
        """A per-instance argument in the concatenated layout (y, dy, status), checked and converted."""
        x = _arrays.as_shape_source(x)
        _ragged.check_flat(x, length, name, self.who, layout)
        if _arrays.is_tensor(x) != self.placement.torch or (
                self.placement.torch and x.device != self.placement.device):
            where = self.placement.device if self.placement.torch else "numpy arrays"
            raise ValueError(f"{self.who}: {name} must be where the problem's data are ({where})")
        return _arrays.operand(x, self.placement, kind if kind is not None else self.dtype, name)

    def run(self, name, *args):
        if self.batch == 0:
            return
        fn = _ragged_fn(name)
        ctx = self.placement.context()
        with ctx.lock:
            ctx.prepare(self.placement.stream())
            ctx.check(fn(ctx.handle, ctypes.byref(self.problem), *args))


def solve_ragged(n, m, c, A=None, b=None, lb=None, ub=None, *, n_ptr=None, m_ptr=None, node_limit=None,
                 time_limit=None, dtype=None):
    """Solves B ILPs of different sizes in one call (dopt_ilp_ragged_solve).

    n, m: sizes (B,) (m None: no constraints anywhere), or PyG offsets
    n_ptr, m_ptr (B + 1,). c (sum n_i), A (sum m_i n_i: each instance's
    (m_i, n_i) row-major block in order), b (sum m_i), lb, ub (sum n_i, a
    number, or None: binary). Options and dtype as solve(). Returns
    RaggedResult(y (sum n_i), obj, bound, status, nodes (B,)); each
    instance's result is that of solving it alone."""
    call = _RaggedCall(n, m, c, A, b, lb, ub, dtype, "ilp.solve_ragged", n_ptr, m_ptr)
    pl, code, B = call.placement, call.dtype, call.batch
    y = pl.empty((call.sum_n,), code)
    obj = pl.empty((B,), code)
    bound = pl.empty((B,), code)
    status = pl.empty((B,), "int32")
    nodes = pl.empty((B,), "int64")
    sol = _Solution(*(_arrays.pointer(x) for x in (y, obj, bound, status, nodes)))
    call.run("dopt_ilp_ragged_solve", ctypes.byref(_options(node_limit, time_limit, call.who)), ctypes.byref(sol))
    return RaggedResult(y, obj, bound, status, nodes)


def backward_ragged(n, m, c, A=None, b=None, lb=None, ub=None, *, y, status, dy, n_ptr=None, m_ptr=None,
                    method="combopt", tau=0.5, lambd=10.0, epsilon=1.0, samples=10, seed=0, node_limit=None,
                    time_limit=None, dtype=None, wanted=("A", "b", "c")):
    """backward() for a ragged batch (dopt_ilp_ragged_backward): y, dy (sum
    n_i) and status (B,) from solve_ragged on the same data; returns {name:
    gradient} over `wanted`, each in its input's concatenated layout (dA
    (sum m_i n_i), db (sum m_i), dc (sum n_i); None for an absent input)."""
    who = "ilp.backward_ragged"
    unknown = set(wanted) - {"A", "b", "c"}
    if unknown:
        raise ValueError(f"{who}: gradients exist for A, b and c; got {sorted(unknown)}")
    g = grad_options(method, tau=tau, lambd=lambd, epsilon=epsilon, samples=samples, seed=seed, who=who)
    call = _RaggedCall(n, m, c, A, b, lb, ub, dtype, who, n_ptr, m_ptr)
    pl, code = call.placement, call.dtype
    y = call.flat(y, "y", call.sum_n, "n_i values")
    dy = call.flat(dy, "dy", call.sum_n, "n_i values")
    status = call.flat(status, "status", call.batch, "one value", "int32")
    grads = {name: (pl.zeros((call.lengths[name],), code) if name in wanted and call.present[name] else None)
             for name in ("A", "b", "c")}
    call.run("dopt_ilp_ragged_backward", ctypes.byref(_options(node_limit, time_limit, who)), ctypes.byref(g),
             _arrays.pointer(y), _arrays.pointer(status), _arrays.pointer(dy), _arrays.pointer(grads["A"]),
             _arrays.pointer(grads["b"]), _arrays.pointer(grads["c"]))
    return {name: grads[name] for name in wanted}


def perturbed_ragged(n, m, c, A=None, b=None, lb=None, ub=None, *, n_ptr=None, m_ptr=None, epsilon=1.0, samples=10,
                     seed=0, node_limit=None, time_limit=None, dtype=None):
    """perturbed() for a ragged batch (dopt_ilp_ragged_perturbed): y_eps (sum
    n_i), the mean of y(c + epsilon Z) over `samples` draws per instance,
    with the uniform layer's noise for the same instance index and seed."""
    who = "ilp.perturbed_ragged"
    g = grad_options("perturbed", epsilon=epsilon, samples=samples, seed=seed, who=who)
    call = _RaggedCall(n, m, c, A, b, lb, ub, dtype, who, n_ptr, m_ptr)
    y_eps = call.placement.empty((call.sum_n,), call.dtype)
    call.run("dopt_ilp_ragged_perturbed", ctypes.byref(_options(node_limit, time_limit, who)), ctypes.byref(g),
             _arrays.pointer(y_eps))
    return y_eps


def spo_plus_ragged(n, m, c_hat, c_true, A=None, b=None, lb=None, ub=None, *, y_true=None, n_ptr=None, m_ptr=None,
                    node_limit=None, time_limit=None, dtype=None):
    """spo_plus() for a ragged batch (dopt_ilp_ragged_spo_plus): c_hat,
    c_true, y_true (optional) sum n_i. Returns (loss (B,), dc (sum n_i))."""
    who = "ilp.spo_plus_ragged"
    if c_true is None:
        raise ValueError(f"{who}: c_true is required")
    extra = (c_true,) + ((y_true,) if y_true is not None else ())
    call = _RaggedCall(n, m, c_hat, A, b, lb, ub, dtype, who, n_ptr, m_ptr, extra=extra)
    c_true = call.flat(c_true, "c_true", call.sum_n, "n_i values")
    if y_true is not None:
        y_true = call.flat(y_true, "y_true", call.sum_n, "n_i values")
    loss = call.placement.empty((call.batch,), call.dtype)
    dc = call.placement.empty((call.sum_n,), call.dtype)
    call.run("dopt_ilp_ragged_spo_plus", ctypes.byref(_options(node_limit, time_limit, who)),
             _arrays.pointer(c_true), _arrays.pointer(y_true), _arrays.pointer(loss), _arrays.pointer(dc))
    return loss, dc
