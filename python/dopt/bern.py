"""Bernoulli surrogates of binary ILPs (DiffILO, with correct gradients).

For a batch of binary ILPs  min c'x  s.t.  Ax <= b,  x in {0,1}^n  and relaxed
probabilities xhat in (0,1)^n per instance, dopt estimates

    F(xhat) = c'xhat + mu * sum_i E_{x ~ Bernoulli(xhat)} [max(a_i'x - b_i, 0)]

and its gradient from `samples` Bernoulli samples per instance (Philox: the
same samples on every backend and thread count), with one of the estimators
of docs/BERNOULLI.md:

    "unbiased"   (default) exact difference in each x_j, unbiased
    "reinforce"  score function with a leave-one-out baseline, unbiased, noisy
    "diffilo"    as published (biased: its mean is not a gradient)
    "exact"      enumerates {0,1}^n (n <= 16): the reference, no sampling

Shapes: xhat (n,) or (batch, n); A dense (m, n) or (batch, m, n), or sparse
CSR (see below); b (m,) or (batch, m); c (n,), (batch, n) or None (0). An
input without the batch dimension (or with batch size 1) is shared by the
whole batch and read once. A = b = None means no constraints (m = 0).

Sparse A (CSR) may be given as
  - a scipy.sparse matrix (shared by the batch; converted to CSR, duplicate
    entries summed),
  - a list of scipy.sparse matrices of one shape (one per instance),
  - a tuple (row_ptr, col_idx, values): row_ptr (m+1,) shared or (batch, m+1)
    int64 offsets into col_idx / values (absolute: instance i's rows need not
    start at 0), col_idx int32, values of the call's dtype (empty arrays when
    there are no entries). A row that lists a column twice makes its
    instance invalid (status 5: the estimators flip each entry on its own;
    sum duplicates first, e.g. scipy's sum_duplicates),
  - a torch sparse CSR tensor, (m, n) shared or (batch, m, n) batched (the
    same rule for duplicates).
CSR and dense give identical results.

numpy in, numpy out (CPU backend); torch tensors in (CPU or CUDA), tensors out
on the same device, on torch's current stream. For autograd use
dopt.torch.bernoulli_penalty.
"""

import ctypes
import math
import sys
from typing import NamedTuple

import numpy as np

from . import _arrays
from . import _lib
from ._lib import c_double, c_int, c_int32, c_int64, c_void_p

SHARE_A, SHARE_B, SHARE_C = 1, 2, 4
ESTIMATORS = {"unbiased": 0, "reinforce": 1, "diffilo": 2, "exact": 3}
EXACT_MAX_N = 16


class _Problem(ctypes.Structure):
    _fields_ = [("batch", c_int64), ("n", c_int32), ("m", c_int32), ("dtype", c_int), ("A", c_void_p),
                ("row_ptr", c_void_p), ("col_idx", c_void_p), ("values", c_void_p), ("b", c_void_p),
                ("c", c_void_p), ("shared", ctypes.c_uint32)]


class _Options(ctypes.Structure):
    _fields_ = [("estimator", c_int), ("samples", c_int32), ("seed", ctypes.c_uint64), ("mu", c_double),
                ("logits", c_int32)]


class _Result(ctypes.Structure):
    _fields_ = [("loss", c_void_p), ("grad", c_void_p), ("loss_se", c_void_p), ("grad_se", c_void_p),
                ("status", c_void_p)]


for _mirror, _c_name in ((_Problem, "dopt_bern_problem"), (_Options, "dopt_bern_options"),
                         (_Result, "dopt_bern_result")):
    _lib.check_struct(_mirror, _c_name)

_P = ctypes.POINTER
_eval = _lib.declare("dopt_bern_eval", c_int, c_void_p, _P(_Problem), c_void_p, _P(_Options), _P(_Result))
_round = _lib.declare("dopt_bern_round", c_int, c_void_p, _P(_Problem), c_void_p, c_void_p, c_void_p)
_mu_schedule = _lib.declare("dopt_bern_mu_schedule", c_double, c_int64, c_double, c_double, c_double)
_options_default = _lib.declare("dopt_bern_options_default", None, _P(_Options))


class Result(NamedTuple):
    """loss (batch,), grad (batch, n) (with respect to the input: xhat, or its
    logits with logits=True), loss_se / grad_se their standard errors from the
    samples (0 for "exact"; None with standard_errors=False), status (batch,)
    int32: 0 ok, 5 invalid data (xhat outside (0,1) or a NaN / infinite
    logit, non-finite data, a bad CSR row: column index outside [0, n), a
    column twice, offsets that decrease), whose outputs are NaN. Without a
    batch dimension on xhat, none on the outputs."""
    loss: object
    grad: object
    loss_se: object
    grad_se: object
    status: object


# ---- matrices: dense or CSR in the forms the module docstring lists --------------

def _scipy_sparse():
    return sys.modules.get("scipy.sparse")


def _is_scipy(x):
    sp = _scipy_sparse()
    return sp is not None and sp.issparse(x)


def _is_torch_csr(x):
    if not _arrays.is_tensor(x):
        return False
    torch = sys.modules["torch"]
    return x.layout == torch.sparse_csr


def _canonical_scipy(A):
    A = A.tocsr()
    if not A.has_canonical_format:
        A = A.copy()
        A.sum_duplicates()
    return A


class Matrix:
    """A constraint matrix resolved into dense or CSR form (shared with
    dopt.diffusion). dense: the array, or None for CSR; row_ptr (m+1,) or
    (batch, m+1), col_idx, values: CSR arrays (not yet converted to the call's
    dtype or placement); batch: None when shared; m, n (n None when CSR
    arrays do not say it)."""

    __slots__ = ("dense", "row_ptr", "col_idx", "values", "batch", "m", "n")

    def __init__(self, dense=None, row_ptr=None, col_idx=None, values=None, batch=None, m=0, n=None):
        self.dense, self.row_ptr, self.col_idx, self.values = dense, row_ptr, col_idx, values
        self.batch, self.m, self.n = batch, m, n

    @property
    def is_csr(self):
        return self.dense is None

    def arrays(self):
        return (self.dense,) if self.dense is not None else (self.row_ptr, self.col_idx, self.values)


def resolve_matrix(A, where):
    """A in any accepted form as a Matrix (raises ValueError/TypeError naming `where`)."""
    if A is None:
        return None
    if _is_scipy(A):
        A = _canonical_scipy(A)
        m, n = A.shape
        return Matrix(None, np.asarray(A.indptr, dtype=np.int64), np.asarray(A.indices, dtype=np.int32),
                      np.asarray(A.data), None, m, n)
    if isinstance(A, list) and A and all(_is_scipy(a) for a in A):
        mats = [_canonical_scipy(a) for a in A]
        shapes = {a.shape for a in mats}
        if len(shapes) != 1:
            raise ValueError(f"{where}: a list of sparse matrices must all have one shape; got {sorted(shapes)}")
        m, n = mats[0].shape
        nnz = np.array([a.nnz for a in mats], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(nnz)[:-1]])
        row_ptr = np.stack([np.asarray(a.indptr, dtype=np.int64) for a in mats]) + offsets[:, None]
        col_idx = np.concatenate([np.asarray(a.indices, dtype=np.int32) for a in mats])
        values = np.concatenate([np.asarray(a.data) for a in mats])
        return Matrix(None, row_ptr, col_idx, values, len(mats), m, n)
    if _is_torch_csr(A):
        torch = sys.modules["torch"]
        if A.dim() not in (2, 3):
            raise ValueError(f"{where}: a sparse CSR tensor must be (m, n) or (batch, m, n); got {tuple(A.shape)}")
        crow, col, val = A.crow_indices(), A.col_indices(), A.values()
        if A.dim() == 2:
            return Matrix(None, crow.to(torch.int64), col.to(torch.int32), val, None, A.shape[0], A.shape[1])
        batch, m, n = A.shape
        nnz = col.shape[-1]  # torch's batched CSR: the same nnz per instance, offsets per instance
        offsets = torch.arange(batch, device=crow.device, dtype=torch.int64)[:, None] * nnz
        return Matrix(None, crow.to(torch.int64) + offsets, col.reshape(-1).to(torch.int32), val.reshape(-1),
                      batch, m, n)
    if isinstance(A, tuple):
        if len(A) != 3:
            raise ValueError(f"{where}: CSR form is a tuple (row_ptr, col_idx, values); got {len(A)} items")
        row_ptr, col_idx, values = (_arrays.as_shape_source(a) for a in A)
        if _arrays.ndim(col_idx) != 1 or _arrays.ndim(values) != 1 or _arrays.shape(col_idx) != _arrays.shape(values):
            raise ValueError(f"{where}: CSR col_idx and values must be 1-D of one length; got shapes "
                             f"{_arrays.shape(col_idx)} and {_arrays.shape(values)}")
        if _arrays.ndim(row_ptr) not in (1, 2) or _arrays.shape(row_ptr)[-1] < 1:
            raise ValueError(f"{where}: CSR row_ptr must be (m+1,) or (batch, m+1); got {_arrays.shape(row_ptr)}")
        m = _arrays.shape(row_ptr)[-1] - 1
        batch = _arrays.shape(row_ptr)[0] if _arrays.ndim(row_ptr) == 2 else None
        return Matrix(None, row_ptr, col_idx, values, batch, m, None)
    A = _arrays.as_shape_source(A)
    if _arrays.ndim(A) not in (2, 3):
        raise ValueError(f"{where}: A must be (m, n) or (batch, m, n) dense, or sparse CSR; got shape "
                         f"{_arrays.shape(A)}")
    batch = _arrays.shape(A)[0] if _arrays.ndim(A) == 3 else None
    return Matrix(A, None, None, None, batch, _arrays.shape(A)[-2], _arrays.shape(A)[-1])


def check_csr(row_ptr, col_idx, n, where, check_columns=False):
    """Offsets inside col_idx / values (else the library would read past
    them) and, with check_columns, column indices in [0, n). One pass over
    row_ptr (and col_idx); on CUDA this synchronizes."""
    nnz = _arrays.numel(col_idx)
    if _arrays.numel(row_ptr) == 0:
        return
    if _arrays.is_tensor(row_ptr):
        lo, hi = int(row_ptr.min()), int(row_ptr.max())
    else:
        lo, hi = int(np.min(row_ptr)), int(np.max(row_ptr))
    if lo < 0 or hi > nnz:
        raise ValueError(f"{where}: CSR row_ptr offsets must lie in [0, nnz = {nnz}]; got [{lo}, {hi}]")
    if check_columns and nnz:
        if _arrays.is_tensor(col_idx):
            clo, chi = int(col_idx.min()), int(col_idx.max())
        else:
            clo, chi = int(np.min(col_idx)), int(np.max(col_idx))
        if clo < 0 or chi >= n:
            raise ValueError(f"{where}: CSR column indices must lie in [0, n = {n}); got [{clo}, {chi}]")


def _leading(x, base, name, where):
    """Batch size of x (None when shared: base dims, or a leading 1)."""
    shape = _arrays.shape(x)
    if len(shape) not in (base, base + 1):
        raise ValueError(f"{where}: {name} must have {base} dimensions, or {base + 1} with a leading batch "
                         f"dimension; got shape {shape}")
    return shape[0] if len(shape) == base + 1 and shape[0] != 1 else None


class _Spec:
    """One call's shapes, checked: batch, n, m, which inputs are shared."""

    def __init__(self, where, xhat, A, b, c):
        xshape = _arrays.shape(xhat)
        if len(xshape) not in (1, 2):
            raise ValueError(f"{where}: xhat must be (n,) or (batch, n); got shape {xshape}")
        self.batched = len(xshape) == 2
        self.batch = xshape[0] if self.batched else 1
        self.n = xshape[-1]
        if self.n < 1:
            raise ValueError(f"{where}: xhat needs n >= 1 variables; got shape {xshape}")
        if (A is None) != (b is None):
            raise ValueError(f"{where}: A and b come together (both None means no constraints)")
        self.m = 0 if A is None else A.m
        batches = {}
        if A is not None:
            if A.is_csr:
                if A.n is not None and A.n != self.n:
                    raise ValueError(f"{where}: A has n = {A.n} columns but xhat has n = {self.n}")
                batches["A"] = A.batch if A.batch != 1 else None
            else:
                batches["A"] = _leading(A.dense, 2, "A", where)
                if _arrays.shape(A.dense)[-1] != self.n:
                    raise ValueError(f"{where}: A must be (m, n) per instance with n = {self.n} (from xhat); got "
                                     f"{_arrays.shape(A.dense)}")
            batches["b"] = _leading(b, 1, "b", where)
            if _arrays.shape(b)[-1] != self.m:
                raise ValueError(f"{where}: b must have m = {self.m} entries per instance to match A; got shape "
                                 f"{_arrays.shape(b)}")
        if c is not None:
            batches["c"] = _leading(c, 1, "c", where)
            if _arrays.shape(c)[-1] != self.n:
                raise ValueError(f"{where}: c must have n = {self.n} entries per instance to match xhat; got shape "
                                 f"{_arrays.shape(c)}")
        for name, bsz in batches.items():
            if bsz is not None and (not self.batched or bsz != self.batch):
                raise ValueError(f"{where}: {name} has batch size {bsz} but xhat has "
                                 f"{self.batch if self.batched else 'no batch dimension'} (xhat sets the batch)")
        self.shared = 0
        if A is None or batches["A"] is None:
            self.shared |= SHARE_A
        if b is None or batches["b"] is None:
            self.shared |= SHARE_B
        if c is None or batches["c"] is None:
            self.shared |= SHARE_C


def _prepare(where, xhat, A, b, c, dtype, logits):
    """Resolves shapes, placement and dtype; returns (spec, placement, code,
    operands dict, problem struct)."""
    xhat = _arrays.as_shape_source(xhat)
    b = _arrays.as_shape_source(b)
    c = _arrays.as_shape_source(c)
    mat = resolve_matrix(A, where)
    spec = _Spec(where, xhat, mat, b, c)
    arrays = [xhat, b, c] + (list(mat.arrays()) if mat is not None else [])
    placement = _arrays.placement_of(*arrays)
    floats = [xhat, b, c] + ([mat.dense if not mat.is_csr else mat.values] if mat is not None else [])
    code = _arrays.dtype_code(dtype) if dtype is not None else _arrays.dtype_of(*floats)
    ops = {"xhat": _arrays.operand(xhat, placement, code, "xhat")}
    ops["b"] = _arrays.operand(b, placement, code, "b") if b is not None else None
    ops["c"] = _arrays.operand(c, placement, code, "c") if c is not None else None
    ops["A"] = ops["row_ptr"] = ops["col_idx"] = ops["values"] = None
    if mat is not None:
        if mat.is_csr:
            ops["row_ptr"] = _arrays.operand(mat.row_ptr, placement, "int64", "row_ptr")
            ops["col_idx"] = _arrays.operand(mat.col_idx, placement, "int32", "col_idx")
            ops["values"] = _arrays.operand(mat.values, placement, code, "values")
            # offsets past the arrays' end: the library is not told their length
            check_csr(ops["row_ptr"], ops["col_idx"], spec.n, where)
        else:
            ops["A"] = _arrays.operand(mat.dense, placement, code, "A")
    problem = _Problem(spec.batch, spec.n, spec.m, code, *(_arrays.pointer(ops[k]) for k in
                                                             ("A", "row_ptr", "col_idx", "values", "b", "c")),
                       spec.shared)
    return spec, placement, code, ops, problem


def estimator_code(estimator):
    """An estimator name ("unbiased", "reinforce", "diffilo", "exact") as its code."""
    if isinstance(estimator, str) and estimator.lower() in ESTIMATORS:
        return ESTIMATORS[estimator.lower()]
    raise ValueError(f"bern: estimator must be one of {sorted(ESTIMATORS)}; got {estimator!r}")


def check_options(estimator="unbiased", samples=64, mu=1.0, n=None):
    """Checks a call's options (ValueError); returns (estimator code, samples,
    mu). Pure Python (torch.compile traces it)."""
    code = estimator_code(estimator)
    samples = int(samples)
    if not 1 <= samples <= 1 << 24:
        raise ValueError(f"bern: samples must be in [1, 2^24]; got {samples}")
    if code == ESTIMATORS["reinforce"] and samples < 2:
        raise ValueError("bern: the reinforce estimator's baseline needs samples >= 2")
    mu = float(mu)
    if not (mu > 0 and math.isfinite(mu)):
        raise ValueError(f"bern: mu must be finite and > 0; got {mu}")
    if code == ESTIMATORS["exact"] and n is not None and n > EXACT_MAX_N:
        raise ValueError(f"bern: the exact estimator enumerates 2^n points and is limited to n <= {EXACT_MAX_N}; "
                         f"got n = {n}")
    return code, samples, mu


def options(estimator="unbiased", samples=64, seed=0, mu=1.0, logits=False, n=None):
    """The dopt_bern_options struct of a call, checked (ValueError)."""
    code, samples, mu = check_options(estimator, samples, mu, n)
    return _Options(code, samples, int(seed) & 0xFFFFFFFFFFFFFFFF, mu, 1 if logits else 0)


def default_options():
    """dopt_bern_options_default as a dict (estimator name, samples, seed, mu, logits)."""
    opt = _Options()
    _options_default(ctypes.byref(opt))
    name = {v: k for k, v in ESTIMATORS.items()}[opt.estimator]
    return {"estimator": name, "samples": opt.samples, "seed": opt.seed, "mu": opt.mu, "logits": bool(opt.logits)}


def evaluate(xhat, A=None, b=None, c=None, *, estimator="unbiased", samples=64, seed=0, mu=1.0, logits=False,
             dtype=None, standard_errors=True):
    """Loss F and its gradient for every instance (dopt_bern_eval).

    xhat: probabilities in (0,1), or their logits with logits=True (then the
    gradient is with respect to the logits; every finite logit is valid, also
    where its probability rounds to 0 or 1: the library samples and
    differentiates from the logit itself). estimator: "unbiased"
    (default), "reinforce", "diffilo", "exact" (n <= 16). samples K per
    instance (default 64; "exact" ignores it), seed (Philox key; instance i,
    sample k always gets the same numbers), mu > 0 the penalty weight.
    dtype: float32 or float64 (default: float64 if any input is, else
    float32). Returns Result(loss, grad, loss_se, grad_se, status); invalid
    instances get status 5 and NaN outputs, the others are unaffected."""
    where = "bern.evaluate"
    spec, placement, code, ops, problem = _prepare(where, xhat, A, b, c, dtype, logits)
    opt = options(estimator, samples, seed, mu, logits, spec.n)
    B, n = spec.batch, spec.n
    loss = placement.empty((B,), code)
    grad = placement.empty((B, n), code)
    loss_se = placement.empty((B,), code) if standard_errors else None
    grad_se = placement.empty((B, n), code) if standard_errors else None
    status = placement.empty((B,), "int32")
    res = _Result(*(_arrays.pointer(a) for a in (loss, grad, loss_se, grad_se, status)))
    ctx = placement.context()
    with ctx.lock:
        ctx.prepare(placement.stream())
        ctx.check(_eval(ctx.handle, ctypes.byref(problem), _arrays.pointer(ops["xhat"]), ctypes.byref(opt),
                        ctypes.byref(res)))
    if not spec.batched:
        loss, grad, status = loss[0], grad[0], status[0]
        if standard_errors:
            loss_se, grad_se = loss_se[0], grad_se[0]
    return Result(loss, grad, loss_se, grad_se, status)


def round(xhat, A=None, b=None, c=None, *, logits=False, dtype=None):  # noqa: A001  (the issue's name)
    """Rounds at 1/2 and repairs greedily (dopt_bern_round; docs/BERNOULLI.md).
    Returns (x, status): x of 0/1 in the call's dtype, shaped like xhat;
    status (batch,) int32: 0 feasible, 1 not repaired, 5 invalid (x = 0).
    xhat: probabilities in [0, 1], or with logits=True logits, rounded at 0
    (any finite logit; NaN and +-inf are invalid)."""
    where = "bern.round"
    spec, placement, code, ops, problem = _prepare(where, xhat, A, b, c, dtype, logits)
    xin = ops["xhat"]
    if logits:
        # the library rounds probabilities in [0, 1] at 1/2: pass 1[z >= 0] exactly
        # (sigmoid(z) >= 1/2 can round the wrong way for |z| below 1e-16)
        if placement.torch:
            torch = sys.modules["torch"]
            xin = torch.where(torch.isfinite(xin), (xin >= 0).to(xin.dtype), torch.full_like(xin, math.nan))
        else:
            with np.errstate(invalid="ignore"):
                xin = np.where(np.isfinite(xin), xin >= 0, np.nan).astype(xin.dtype)
    x = placement.empty((spec.batch, spec.n), code)
    status = placement.empty((spec.batch,), "int32")
    ctx = placement.context()
    with ctx.lock:
        ctx.prepare(placement.stream())
        ctx.check(_round(ctx.handle, ctypes.byref(problem), _arrays.pointer(xin), _arrays.pointer(x),
                         _arrays.pointer(status)))
    if not spec.batched:
        x, status = x[0], status[0]
    return x, status


def mu_schedule(step, mu0, growth, mu_max):
    """mu at a training step: min(mu0 * growth**step, mu_max)
    (dopt_bern_mu_schedule; a negative step counts as 0). step may be an int
    or an array of ints (then an array of float64 comes back)."""
    if np.ndim(step) == 0:
        return float(_mu_schedule(int(step), float(mu0), float(growth), float(mu_max)))
    steps = np.asarray(step)
    return np.array([_mu_schedule(int(s), float(mu0), float(growth), float(mu_max)) for s in steps.ravel()],
                    dtype=np.float64).reshape(steps.shape)


# ---- block-diagonal (ragged) batches: PyG's layout ------------------------------------

class _Blocks(ctypes.Structure):
    _fields_ = [("batch", c_int64), ("dtype", c_int), ("var_ptr", c_void_p), ("con_ptr", c_void_p),
                ("row_ptr", c_void_p), ("col_idx", c_void_p), ("values", c_void_p), ("b", c_void_p),
                ("c", c_void_p)]


_BLOCK_FNS = {}


def _block_fn(name):
    """The block entry points, declared on first use."""
    fn = _BLOCK_FNS.get(name)
    if fn is None:
        _lib.check_struct(_Blocks, "dopt_bern_blocks")
        if name == "dopt_bern_eval_blocks":
            fn = _lib.declare(name, c_int, c_void_p, _P(_Blocks), c_void_p, _P(_Options), _P(_Result))
        else:
            fn = _lib.declare(name, c_int, c_void_p, _P(_Blocks), c_void_p, c_void_p, c_void_p)
        _BLOCK_FNS[name] = fn
    return fn


def _last(x):
    """The last entry of a 1-D integer array or tensor, as a Python int (a
    synchronization for a CUDA tensor)."""
    return int(x[-1]) if _arrays.numel(x) else 0


def _check_ptr(ptr, name, where):
    shape = _arrays.shape(ptr)
    if len(shape) != 1 or shape[0] < 1:
        raise ValueError(f"{where}: {name} must be 1-D with B + 1 >= 1 offsets (PyG's ptr); got shape {shape}")


def _prepare_blocks(where, xhat, var_ptr, A, b, c, con_ptr, dtype):
    """Resolves a block call: returns (batch, placement, code, operands, struct)."""
    if var_ptr is None:
        raise ValueError(f"{where}: var_ptr (B + 1 offsets into the variables) is required")
    xhat, var_ptr, con_ptr, b, c = (_arrays.as_shape_source(v) for v in (xhat, var_ptr, con_ptr, b, c))
    _check_ptr(var_ptr, "var_ptr", where)
    batch = _arrays.shape(var_ptr)[0] - 1
    if _arrays.ndim(xhat) != 1:
        raise ValueError(f"{where}: xhat must be 1-D, every instance's variables concatenated (var_ptr[-1] "
                         f"entries); got shape {_arrays.shape(xhat)}")
    total_n = _arrays.shape(xhat)[0]
    if (A is None) != (b is None):
        raise ValueError(f"{where}: A and b come together (both None means no constraints)")
    mat = None
    if A is not None:
        if isinstance(A, (list,)) or (_arrays.is_tensor(A) and A.layout != sys.modules["torch"].sparse_csr):
            raise TypeError(f"{where}: a block batch's A is one CSR matrix with global column indices: a tuple "
                            "(row_ptr, col_idx, values), a scipy.sparse matrix or a 2-D torch sparse CSR tensor")
        if isinstance(A, np.ndarray):
            raise TypeError(f"{where}: a block batch's A must be sparse CSR (row_ptr, col_idx, values), not dense")
        mat = resolve_matrix(A, where)
        if mat.batch is not None:
            raise ValueError(f"{where}: a block batch's A is one (rows, variables) CSR matrix; got a batched one")
        if mat.n is not None and mat.n != total_n:
            raise ValueError(f"{where}: A has {mat.n} columns but xhat has {total_n} variables")
        if _arrays.ndim(b) != 1 or _arrays.shape(b)[0] != mat.m:
            raise ValueError(f"{where}: b must be 1-D with one entry per row of A ({mat.m}); got shape "
                             f"{_arrays.shape(b)}")
        if con_ptr is None:
            raise ValueError(f"{where}: con_ptr (B + 1 offsets into the constraint rows) is required with A")
    if con_ptr is not None:
        _check_ptr(con_ptr, "con_ptr", where)
        if _arrays.shape(con_ptr)[0] != batch + 1:
            raise ValueError(f"{where}: con_ptr must have B + 1 = {batch + 1} entries like var_ptr; got "
                             f"{_arrays.shape(con_ptr)[0]}")
    if c is not None and (_arrays.ndim(c) != 1 or _arrays.shape(c)[0] != total_n):
        raise ValueError(f"{where}: c must be 1-D like xhat ({total_n} entries); got shape {_arrays.shape(c)}")
    arrays = [xhat, var_ptr, con_ptr, b, c] + (list(mat.arrays()) if mat is not None else [])
    placement = _arrays.placement_of(*arrays)
    floats = [xhat, b, c] + ([mat.values] if mat is not None else [])
    code = _arrays.dtype_code(dtype) if dtype is not None else _arrays.dtype_of(*floats)
    ops = {"xhat": _arrays.operand(xhat, placement, code, "xhat"),
           "var_ptr": _arrays.operand(var_ptr, placement, "int64", "var_ptr"),
           "b": _arrays.operand(b, placement, code, "b") if b is not None else None,
           "c": _arrays.operand(c, placement, code, "c") if c is not None else None}
    if con_ptr is None:  # no constraints anywhere: every instance owns no rows
        ops["con_ptr"] = placement.zeros((batch + 1,), "int64")
    else:
        ops["con_ptr"] = _arrays.operand(con_ptr, placement, "int64", "con_ptr")
    # the library reads var_ptr[batch] and con_ptr[batch] to size its work and is
    # not told the arrays' lengths: they must agree with them
    if _last(ops["var_ptr"]) != total_n:
        raise ValueError(f"{where}: var_ptr[-1] = {_last(ops['var_ptr'])} but xhat has {total_n} variables")
    rows = mat.m if mat is not None else 0
    if _last(ops["con_ptr"]) != rows:
        raise ValueError(f"{where}: con_ptr[-1] = {_last(ops['con_ptr'])} but A has {rows} rows")
    if mat is not None:
        ops["row_ptr"] = _arrays.operand(mat.row_ptr, placement, "int64", "row_ptr")
        ops["col_idx"] = _arrays.operand(mat.col_idx, placement, "int32", "col_idx")
        ops["values"] = _arrays.operand(mat.values, placement, code, "values")
        check_csr(ops["row_ptr"], ops["col_idx"], total_n, where)
    else:
        ops["row_ptr"] = placement.zeros((1,), "int64")
        ops["col_idx"] = ops["values"] = None
    blocks = _Blocks(batch, code, *(_arrays.pointer(ops[k]) for k in
                                    ("var_ptr", "con_ptr", "row_ptr", "col_idx", "values", "b", "c")))
    return batch, total_n, placement, code, ops, blocks


def evaluate_blocks(xhat, var_ptr, A=None, b=None, c=None, *, con_ptr=None, estimator="unbiased", samples=64,
                    seed=0, mu=1.0, logits=False, dtype=None, standard_errors=True):
    """evaluate() on a block-diagonal batch in PyG's layout
    (dopt_bern_eval_blocks): instance i owns the variables [var_ptr[i],
    var_ptr[i+1]) of xhat and c (1-D, concatenated) and the rows
    [con_ptr[i], con_ptr[i+1]) of one CSR matrix A whose column indices are
    GLOBAL variable indices (a tuple (row_ptr, col_idx, values), a
    scipy.sparse matrix or a 2-D torch sparse CSR tensor), b one entry per
    row. var_ptr, con_ptr: (B + 1,) int offsets starting at 0. A = b = None
    (and con_ptr None): no constraints. Returns Result(loss (B,), grad (sum
    n_i), loss_se, grad_se, status (B,)); a batch whose instances all have
    the same sizes gives bitwise the uniform evaluate()'s numbers. A row
    with a column outside its instance's variables makes that instance
    invalid (status 5)."""
    where = "bern.evaluate_blocks"
    batch, total_n, placement, code, ops, blocks = _prepare_blocks(where, xhat, var_ptr, A, b, c, con_ptr, dtype)
    # "exact" is limited per instance (the library marks larger ones invalid)
    opt = options(estimator, samples, seed, mu, logits)
    loss = placement.empty((batch,), code)
    grad = placement.empty((total_n,), code)
    loss_se = placement.empty((batch,), code) if standard_errors else None
    grad_se = placement.empty((total_n,), code) if standard_errors else None
    status = placement.empty((batch,), "int32")
    if batch:
        res = _Result(*(_arrays.pointer(a) for a in (loss, grad, loss_se, grad_se, status)))
        ctx = placement.context()
        with ctx.lock:
            ctx.prepare(placement.stream())
            ctx.check(_block_fn("dopt_bern_eval_blocks")(ctx.handle, ctypes.byref(blocks),
                                                         _arrays.pointer(ops["xhat"]), ctypes.byref(opt),
                                                         ctypes.byref(res)))
    return Result(loss, grad, loss_se, grad_se, status)


def round_blocks(xhat, var_ptr, A=None, b=None, c=None, *, con_ptr=None, logits=False, dtype=None):
    """round() on a block-diagonal batch (dopt_bern_round_blocks); arguments
    as evaluate_blocks. Returns (x (sum n_i), status (B,))."""
    where = "bern.round_blocks"
    batch, total_n, placement, code, ops, blocks = _prepare_blocks(where, xhat, var_ptr, A, b, c, con_ptr, dtype)
    xin = ops["xhat"]
    if logits:  # as round(): pass 1[z >= 0] exactly
        if placement.torch:
            torch = sys.modules["torch"]
            xin = torch.where(torch.isfinite(xin), (xin >= 0).to(xin.dtype), torch.full_like(xin, math.nan))
        else:
            with np.errstate(invalid="ignore"):
                xin = np.where(np.isfinite(xin), xin >= 0, np.nan).astype(xin.dtype)
    x = placement.empty((total_n,), code)
    status = placement.empty((batch,), "int32")
    if batch:
        ctx = placement.context()
        with ctx.lock:
            ctx.prepare(placement.stream())
            ctx.check(_block_fn("dopt_bern_round_blocks")(ctx.handle, ctypes.byref(blocks), _arrays.pointer(xin),
                                                          _arrays.pointer(x), _arrays.pointer(status)))
    return x, status


__all__ = ["Result", "Matrix", "ESTIMATORS", "evaluate", "round", "mu_schedule", "default_options",
           "estimator_code", "resolve_matrix", "evaluate_blocks", "round_blocks"]
