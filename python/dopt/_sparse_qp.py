"""The sparse QP / LP layer (dopt_sparse_qp.h) from Python: the dense layer's
problem

    minimize 1/2 x'Qx + p'x  subject to  Gx <= h,  Ax = b

with Q, G, A in CSR, one sparsity pattern per matrix for the whole batch and
values per instance (B, nnz) or shared (nnz,). The patterns are analysed
once (SparseStructure: fill-reducing ordering, symbolic factorization);
every solve with new values reuses the analysis. Exposed as dopt.qp.
SparseStructure, dopt.qp.solve_sparse, dopt.qp.backward_sparse (and
dopt.torch.sparse_qp for autograd).

A matrix argument is any of
  * a scipy.sparse matrix or array (any format; converted to CSR, made
    canonical: sorted indices, repeats summed), whose .data are the values,
    shared by the batch;
  * a tuple (indptr, indices, data, shape): CSR arrays with data (nnz,)
    shared or (B, nnz) per instance (numpy or torch); the pattern must be
    canonical (strictly increasing indices in each row);
  * a torch sparse tensor: 2-D CSR or COO (COO is coalesced), whose values
    are shared by the batch, or 3-D batched CSR (B, rows, cols) with one
    pattern for the batch and values per instance; the values stay
    differentiable (dopt.torch.sparse_qp);
  * with structure=: just the values, (nnz,) or (B, nnz), in the structure's
    pattern order.
scipy is not needed: the tuple form serves without it. Vectors p, h, b and
the options are those of dopt.qp.solve.
"""

import ctypes
import sys
import threading
from typing import NamedTuple, Optional

import numpy as np

from . import _arrays
from . import _lib
from . import qp as _qp
from ._lib import c_int, c_int32, c_int64, c_void_p

MATRICES = ("Q", "G", "A")
_VECTOR_OF = {"Q": "p", "G": "h", "A": "b"}
_SHARE_BIT = {"Q": _qp.SHARE_Q, "p": _qp.SHARE_P, "G": _qp.SHARE_G, "h": _qp.SHARE_H, "A": _qp.SHARE_A,
              "b": _qp.SHARE_B}


class _CsrPattern(ctypes.Structure):
    _fields_ = [("rows", c_int32), ("cols", c_int32), ("nnz", c_int64), ("indptr", c_void_p), ("indices", c_void_p)]


class _SparsePattern(ctypes.Structure):
    _fields_ = [("n", c_int32), ("m", c_int32), ("k", c_int32), ("Q", _CsrPattern), ("G", _CsrPattern),
                ("A", _CsrPattern)]


class _SparseValues(ctypes.Structure):
    _fields_ = [("batch", c_int64), ("dtype", c_int), ("Q_values", c_void_p), ("p", c_void_p),
                ("G_values", c_void_p), ("h", c_void_p), ("A_values", c_void_p), ("b", c_void_p),
                ("shared", ctypes.c_uint32)]


class _SparseGroup(ctypes.Structure):
    _fields_ = [("structure", c_void_p), ("values", _SparseValues), ("solution", _qp._Solution)]


class _SparseGroupGrad(ctypes.Structure):
    _fields_ = [("tape", c_void_p), ("grad_in", _qp._GradIn), ("grad_out", _qp._GradOut)]


_FNS = {}
_P = ctypes.POINTER


def _fn(name):
    """The library's sparse entry points, declared (and the structs checked)
    on first use: importing dopt.qp costs nothing for code that never calls
    them."""
    if not _FNS:
        for mirror, c_name in ((_CsrPattern, "dopt_csr_pattern"), (_SparsePattern, "dopt_sparse_qp_pattern"),
                               (_SparseValues, "dopt_sparse_qp_values"), (_SparseGroup, "dopt_sparse_qp_group"),
                               (_SparseGroupGrad, "dopt_sparse_qp_group_grad")):
            _lib.check_struct(mirror, c_name)
        _FNS.update(
            analyze=_lib.declare("dopt_sparse_qp_analyze", c_int, c_void_p, _P(_SparsePattern), _P(c_void_p)),
            analyze_many=_lib.declare("dopt_sparse_qp_analyze_many", c_int, c_void_p, c_int64, _P(_SparsePattern),
                                      _P(c_void_p)),
            structure_destroy=_lib.declare("dopt_sparse_qp_structure_destroy", None, c_void_p),
            solve=_lib.declare("dopt_sparse_qp_solve", c_int, c_void_p, c_void_p, _P(_SparseValues),
                               _P(_qp._Options), _P(_qp._Solution), _P(c_void_p)),
            backward=_lib.declare("dopt_sparse_qp_backward", c_int, c_void_p, c_void_p, _P(_qp._GradIn),
                                  _P(_qp._GradOut)),
            tape_destroy=_lib.declare("dopt_sparse_qp_tape_destroy", None, c_void_p),
            solve_groups=_lib.declare("dopt_sparse_qp_solve_groups", c_int, c_void_p, c_int64, _P(_SparseGroup),
                                      _P(_qp._Options), _P(c_void_p)),
            backward_groups=_lib.declare("dopt_sparse_qp_backward_groups", c_int, c_void_p, c_int64,
                                         _P(_SparseGroupGrad)))
    return _FNS[name]


def _host(x):
    """A pattern array (numpy, torch, list) as numpy on the host."""
    if _arrays.is_tensor(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _is_scipy_sparse(x):
    return hasattr(x, "tocsr") and hasattr(x, "format") and hasattr(x, "shape") and not isinstance(x, tuple)


def _torch_sparse_layout(x):
    """'csr' or 'coo' for a torch sparse tensor, else None (torch need not be installed)."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(x, torch.Tensor):
        return None
    return {torch.sparse_csr: "csr", torch.sparse_coo: "coo"}.get(x.layout)


def _split_torch(x, layout, name, where):
    """(crow, col, values, shape) of a torch sparse tensor: 2-D CSR or COO
    (COO is coalesced and converted), or 3-D batched CSR whose batch shares
    one pattern (values (B, nnz)). The values stay differentiable."""
    import torch
    if x.dense_dim() > 0:
        raise ValueError(f"{where}: {name}: a hybrid sparse tensor (with {x.dense_dim()} dense dimension(s)) is not "
                         "accepted: give a plain sparse CSR or COO matrix")
    if layout == "coo":
        if x.dim() != 2:
            raise ValueError(f"{where}: {name}: a sparse COO tensor must be 2-D (rows, cols); got {x.dim()}-D (for a "
                             "batch, use a batched sparse CSR tensor (B, rows, cols) with one pattern)")
        x = x.coalesce().to_sparse_csr()
    if x.dim() == 2:
        return x.crow_indices(), x.col_indices(), x.values(), (int(x.shape[0]), int(x.shape[1]))
    if x.dim() == 3:
        crow, col = x.crow_indices(), x.col_indices()
        if not (torch.equal(crow, crow[:1].expand_as(crow)) and torch.equal(col, col[:1].expand_as(col))):
            raise ValueError(f"{where}: {name}: a batched sparse CSR tensor must have one sparsity pattern for the "
                             "whole batch (the layer factors one pattern)")
        return crow[0], col[0], x.values(), (int(x.shape[1]), int(x.shape[2]))
    raise ValueError(f"{where}: {name}: a sparse CSR tensor must be 2-D (rows, cols) or 3-D (B, rows, cols); got "
                     f"{x.dim()}-D")


def _split(x, name, where):
    """(indptr, indices, values or None, shape) of a matrix argument given in
    full (scipy, torch sparse or tuple); None when x is not in full form."""
    layout = _torch_sparse_layout(x)
    if layout is not None:
        return _split_torch(x, layout, name, where)
    if _is_scipy_sparse(x):
        c = x.tocsr()
        if not c.has_canonical_format:
            c = c.copy()
            c.sum_duplicates()  # sorts the indices too
        return c.indptr, c.indices, c.data, tuple(int(d) for d in c.shape)
    if isinstance(x, (tuple, list)):
        if len(x) != 4:
            raise ValueError(f"{where}: {name} as a tuple must be (indptr, indices, data, shape); got {len(x)} items")
        indptr, indices, data, shape = x
        shape = tuple(int(d) for d in shape)
        if len(shape) != 2:
            raise ValueError(f"{where}: {name}: shape must be (rows, cols); got {shape}")
        return indptr, indices, data, shape
    return None


class _Pattern:
    """One matrix's CSR pattern on the host: int64 indptr, int32 indices."""

    __slots__ = ("rows", "cols", "nnz", "indptr", "indices")

    def __init__(self, indptr, indices, shape, name, where):
        rows, cols = shape
        indptr = np.ascontiguousarray(_host(indptr), dtype=np.int64)
        indices = np.ascontiguousarray(_host(indices), dtype=np.int64)
        if indptr.ndim != 1 or indptr.shape[0] != rows + 1:
            raise ValueError(f"{where}: {name}: indptr must have rows + 1 = {rows + 1} entries; got shape "
                             f"{indptr.shape}")
        if indices.ndim != 1 or indptr[0] != 0 or indptr[-1] != indices.shape[0] or np.any(np.diff(indptr) < 0):
            raise ValueError(f"{where}: {name}: indptr must start at 0, never decrease and end at "
                             f"len(indices) = {indices.shape[0]}")
        if indices.size and (indices.min() < 0 or indices.max() >= cols):
            raise ValueError(f"{where}: {name}: column indices must be in [0, {cols})")
        if indices.size > 1:
            same_row = np.repeat(np.arange(rows), np.diff(indptr))
            bad = (np.diff(indices) <= 0) & (same_row[1:] == same_row[:-1])
            if bad.any():
                row = int(same_row[1:][bad][0])
                raise ValueError(f"{where}: {name}: row {row}: column indices must be strictly increasing (a "
                                 "canonical CSR pattern; scipy's sum_duplicates() makes one)")
        self.rows, self.cols, self.nnz = int(rows), int(cols), int(indices.shape[0])
        self.indptr = indptr
        self.indices = indices.astype(np.int32)

    def same_as(self, other):
        return (self.rows, self.cols, self.nnz) == (other.rows, other.cols, other.nnz) and np.array_equal(
            self.indptr, other.indptr) and np.array_equal(self.indices, other.indices)

    def c_struct(self):
        return _CsrPattern(self.rows, self.cols, self.nnz, self.indptr.ctypes.data if self.rows else None,
                           self.indices.ctypes.data if self.nnz else None)


def _empty_pattern(rows, cols):
    return _Pattern(np.zeros(rows + 1, np.int64), np.zeros(0, np.int64), (rows, cols), "", "")


class SparseStructure(_lib.OwnsLibraryMemory):
    """The analysed patterns of a problem family (dopt_sparse_qp_analyze):
    Q (n x n; None: an LP), G (m x n; None: no inequalities), A (k x n; None:
    no equalities), each a scipy.sparse matrix, a tuple (indptr, indices,
    shape) or (indptr, indices, data, shape) (data ignored). n is needed
    only when Q is None. Analyse once, solve many times: pass it as
    solve_sparse(..., structure=s). Immutable; the library's analysis is
    made on first use per device and freed with the object."""

    _public_name = "dopt.qp.SparseStructure"
    _owned = "the library's analysis"
    _advice = "share it"

    def __init__(self, Q=None, G=None, A=None, *, n=None, _where="qp.SparseStructure"):
        where = _where
        parts = {}
        for name, x in (("Q", Q), ("G", G), ("A", A)):
            if x is None:
                continue
            if isinstance(x, (tuple, list)) and len(x) == 3:
                x = (x[0], x[1], None, x[2])
            full = _split(x, name, where)
            if full is None:
                raise TypeError(f"{where}: {name} must be a scipy.sparse matrix, a torch sparse tensor or a tuple "
                                f"(indptr, indices[, data], shape); got {type(x).__name__}")
            parts[name] = full
        if "Q" in parts:
            rows, cols = parts["Q"][3]
            if rows != cols:
                raise ValueError(f"{where}: Q must be square; got shape {(rows, cols)}")
            if n is not None and int(n) != cols:
                raise ValueError(f"{where}: n = {n} but Q is {rows} x {cols}")
            n = cols
        elif n is None:
            cols = [parts[name][3][1] for name in ("G", "A") if name in parts]
            if not cols:
                raise ValueError(f"{where}: give Q, or n with G or A")
            n = cols[0]
        n = int(n)
        if n < 1:
            raise ValueError(f"{where}: need n >= 1 variables; got {n}")
        self.n = n
        self.patterns = {}
        for name in MATRICES:
            if name in parts:
                indptr, indices, _, shape = parts[name]
                if shape[1] != n:
                    raise ValueError(f"{where}: {name} has {shape[1]} columns; expected n = {n}")
                self.patterns[name] = _Pattern(indptr, indices, shape, name, where)
            else:
                self.patterns[name] = _empty_pattern(n if name == "Q" else 0, n)
        self.present = {name: name in parts for name in MATRICES}
        self.m = self.patterns["G"].rows
        self.k = self.patterns["A"].rows
        self.nnz = {name: self.patterns[name].nnz for name in MATRICES}
        self._handles = {}  # device (None: CPU, or a CUDA ordinal) -> (context, library structure)
        self._lock = threading.Lock()  # threads with contexts of their own may analyse at once

    def __repr__(self):
        return (f"SparseStructure(n={self.n}, m={self.m}, k={self.k}, nnz Q={self.nnz['Q']} G={self.nnz['G']} "
                f"A={self.nnz['A']})")

    def _matches(self, other_patterns):
        return all(self.patterns[name].same_as(p) for name, p in other_patterns.items())

    def handle(self, ctx, device):
        """The library structure for ctx's device, analysed on first use
        (hold ctx.lock)."""
        entry = self._handles.get(device)
        if entry is not None:
            return entry[1]
        with self._lock:
            entry = self._handles.get(device)
            if entry is not None:
                return entry[1]
            handle = c_void_p()
            ctx.check(_fn("analyze")(ctx.handle, ctypes.byref(self._c_pattern()), ctypes.byref(handle)))
            self._handles[device] = (ctx, handle)
            return handle

    def _c_pattern(self):
        return _SparsePattern(self.n, self.m, self.k, *(self.patterns[name].c_struct() for name in MATRICES))

    def _adopt(self, ctx, device, handle):
        """Keeps a handle analysed elsewhere (_analyze_all), unless another
        thread analysed this structure meanwhile."""
        with self._lock:
            if device in self._handles:
                _fn("structure_destroy")(handle)
            else:
                self._handles[device] = (ctx, handle)


    def analyze(self):
        """Analyses for the CPU now (otherwise the first solve does); raises
        dopt.Error (DOPT_ERR_UNSUPPORTED) in a build without a sparse direct
        solver. Returns self."""
        ctx = _lib.context_for(None)
        with ctx.lock:
            self.handle(ctx, None)
        return self

    def __del__(self):
        handles = getattr(self, "_handles", None)
        if not handles:
            return
        try:
            destroy = _fn("structure_destroy")
            for _ctx, handle in handles.values():
                if handle.value:
                    destroy(handle)
        except (TypeError, AttributeError):  # interpreter shutdown
            pass
        handles.clear()


def _analyze_all(ctx, device, structures):
    """Analyses the structures not yet analysed for ctx's device in one
    library call (dopt_sparse_qp_analyze_many: on the thread pool; hold
    ctx.lock)."""
    todo, seen = [], set()
    for s in structures:
        if device not in s._handles and id(s) not in seen:
            seen.add(id(s))
            todo.append(s)
    if len(todo) < 2:
        return
    pats = (_SparsePattern * len(todo))(*(s._c_pattern() for s in todo))
    out = (c_void_p * len(todo))()
    ctx.check(_fn("analyze_many")(ctx.handle, len(todo), pats, out))
    for s, handle in zip(todo, out):
        s._adopt(ctx, device, c_void_p(handle))


class SparseTape(_lib.OwnsLibraryMemory):
    """What backward_sparse needs: the library's tape (factorizations at the
    solution) and the arrays it refers to (the structure, the values),
    which this object keeps alive."""

    _public_name = "dopt.qp.SparseTape"

    def __init__(self, handle, ctx, placement, dtype, structure, operands, spec):
        self._handle = handle
        self._ctx = ctx
        self.placement = placement
        self.dtype = dtype
        self.structure = structure
        self._operands = operands
        self.spec = spec

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle is None or not handle.value:
            return
        self._handle = None
        try:
            _fn("tape_destroy")(handle)
        except (TypeError, AttributeError):  # interpreter shutdown
            pass


class SparseResult(NamedTuple):
    """x (B, n), lam (B, m), nu (B, k), status and iters (B,) int32; without a
    batched input, no batch dimension. tape: for backward_sparse (None
    unless record=True); structure: the analysed patterns, to pass to the
    next call."""
    x: object
    lam: object
    nu: object
    status: object
    iters: object
    tape: Optional[SparseTape]
    structure: SparseStructure


class _Spec:
    """The shapes of one sparse call: batch, which inputs are batched, the
    shapes given (for the gradients)."""

    __slots__ = ("batch", "batched", "n", "m", "k", "present", "given_shapes", "bits")

    def __init__(self, structure, values, where):
        self.n, self.m, self.k = structure.n, structure.m, structure.k
        lengths = {"Q": structure.nnz["Q"], "p": self.n, "G": structure.nnz["G"], "h": self.m,
                   "A": structure.nnz["A"], "b": self.k}
        self.present = {}
        self.given_shapes = {}
        batch = None
        batched = False
        bits = 0
        for name in _qp.PARAMETERS:
            x = values[name]
            if x is None:
                if name == "p":
                    raise ValueError(f"{where}: p (the linear term) is required")
                if name in ("h", "b") and lengths[name]:
                    raise ValueError(f"{where}: {name} is required with {'G' if name == 'h' else 'A'}")
                self.present[name] = False
                bits |= _SHARE_BIT[name]
                continue
            shape = tuple(x.shape)
            what = "nnz" if name in MATRICES else {"p": "n", "h": "m", "b": "k"}[name]
            if len(shape) not in (1, 2) or shape[-1] != lengths[name]:
                raise ValueError(f"{where}: {name} must have shape ({what},) or (B, {what}) with {what} = "
                                 f"{lengths[name]}; got {shape}")
            self.present[name] = True
            self.given_shapes[name] = shape
            if len(shape) == 1 or shape[0] == 1:
                bits |= _SHARE_BIT[name]
                batched |= len(shape) == 2
                continue
            if batch is not None and batch != shape[0]:
                raise ValueError(f"{where}: batch sizes differ: {batch} and {shape[0]} ({name} has shape {shape})")
            batch = shape[0]
            batched = True
        self.batch = batch if batch is not None else 1
        self.batched = batched
        self.bits = bits


def _values_and_structure(Q, G, A, structure, n, where):
    """The values of Q, G, A and the structure (built, or checked against the
    patterns given in full)."""
    given = {"Q": Q, "G": G, "A": A}
    values, patterns = {}, {}
    for name, x in given.items():
        if x is None:
            values[name] = None
            continue
        full = _split(x, name, where)
        if full is None:  # just values: the structure's pattern
            if structure is None:
                raise TypeError(f"{where}: {name} is an array of values, which needs structure=; give a "
                                "scipy.sparse matrix, a torch sparse tensor or a tuple (indptr, indices, data, shape) "
                                "instead")
            values[name] = x
            continue
        indptr, indices, data, shape = full
        if data is None:
            raise ValueError(f"{where}: {name} has no values (data is None)")
        values[name] = data
        patterns[name] = (indptr, indices, shape)
    if structure is None:
        structure = SparseStructure(*(None if patterns.get(name) is None else
                                      (patterns[name][0], patterns[name][1], patterns[name][2])
                                      for name in MATRICES), n=n, _where=where)
    else:
        if not isinstance(structure, SparseStructure):
            raise TypeError(f"{where}: structure must be a dopt.qp.SparseStructure; got {type(structure).__name__}")
        for name, (indptr, indices, shape) in patterns.items():
            mine = structure.patterns[name]
            if (mine.rows, mine.cols) != shape or not mine.same_as(_Pattern(indptr, indices, shape, name, where)):
                raise ValueError(f"{where}: {name}'s pattern differs from the structure's (build a new "
                                 "SparseStructure for a new pattern)")
    for name in MATRICES:
        if values[name] is not None and not structure.present[name] and structure.nnz[name] == 0 and name != "Q":
            raise ValueError(f"{where}: {name} is given but the structure has no {name}")
        if values[name] is None and structure.present[name] and structure.nnz[name]:
            raise ValueError(f"{where}: the structure has {name} ({structure.nnz[name]} entries) but no values were "
                             "given")
    return values, structure


def _inputs_of(Q, p, G, h, A, b, structure, n, where):
    """The structure, the six inputs (None where the library takes NULL) and
    the call's shapes of one solve."""
    mvalues, structure = _values_and_structure(Q, G, A, structure, n, where)
    inputs = {"Q": mvalues["Q"], "p": _qp._source(p), "G": mvalues["G"], "h": _qp._source(h), "A": mvalues["A"],
              "b": _qp._source(b)}
    if structure.nnz["Q"] == 0:
        inputs["Q"] = None  # an LP (or Q with no entries): the library takes NULL
    for vec, mat in (("h", "G"), ("b", "A")):
        if structure.patterns[mat].rows == 0:
            inputs[vec] = None if inputs[vec] is None or _arrays.numel(inputs[vec]) == 0 else inputs[vec]
        if structure.nnz[mat] == 0:
            inputs[mat] = None
    return structure, inputs, _Spec(structure, inputs, where)


class _Call:
    """One group's library arguments: the operands in the call's dtype, the
    values struct and the output arrays."""

    def __init__(self, structure, inputs, spec, placement, code):
        self.structure, self.spec = structure, spec
        self.operands = {name: (_qp._operand(x, placement, code, name) if spec.present[name] else None)
                         for name, x in inputs.items()}
        ptr = _qp._pointer_fn(placement)
        self.values = _SparseValues(spec.batch, code, *(ptr(self.operands[name]) for name in _qp.PARAMETERS),
                                    spec.bits)
        empty = _qp._empty_fn(placement)
        lead = (spec.batch,) if spec.batched else ()
        self.x = empty(lead + (spec.n,), code)
        self.lam = empty(lead + (spec.m,), code)
        self.nu = empty(lead + (spec.k,), code)
        self.status = empty(lead, "int32")
        self.iters = empty(lead, "int32")
        self.solution = _qp._Solution(ptr(self.x), ptr(self.lam), ptr(self.nu), ptr(self.status), ptr(self.iters))

    def result(self, tape):
        return SparseResult(self.x, self.lam, self.nu, self.status, self.iters, tape, self.structure)


def solve_sparse(Q, p, G=None, h=None, A=None, b=None, *, structure=None, n=None, tol=None, tol_inf=None,
                 max_iter=None, refine=None, dtype=None, record=False):
    """Solves the batch with the sparse layer. Returns SparseResult(x, lam,
    nu, status, iters, tape, structure).

    Q, G, A: see the module's documentation (None: an LP / no inequalities
    / no equalities); p (n,) or (B, n), h (m,) or (B, m), b (k,) or (B, k).
    structure: a SparseStructure of the same patterns (skips the analysis),
    e.g. the .structure of an earlier result. n: the number of variables
    when Q is None and there is no structure. Options, dtype and record as
    dopt.qp.solve; statuses and certificates as the dense layer. Values
    arrays with a batch dimension of 1 (or none) are shared by the batch and
    their gradients are summed over it."""
    where = "qp.solve_sparse"
    structure, inputs, spec = _inputs_of(Q, p, G, h, A, b, structure, n, where)
    values = inputs.values()
    placement = _arrays.placement_of(*values)
    code = _arrays.dtype_code(dtype) if dtype is not None else _qp._call_dtype(values)
    call = _Call(structure, inputs, spec, placement, code)
    opt = _qp._options(tol, tol_inf, max_iter, refine)
    ctx = placement.context()
    tape = None
    with ctx.lock:
        ctx.prepare(placement.stream())
        handle = structure.handle(ctx, placement.cuda_index)
        if spec.batch == 0:
            pass
        elif record:
            tape_handle = c_void_p()
            try:
                ctx.check(_fn("solve")(ctx.handle, handle, ctypes.byref(call.values), ctypes.byref(opt),
                                       ctypes.byref(call.solution), ctypes.byref(tape_handle)))
            except BaseException:
                if tape_handle.value:
                    _fn("tape_destroy")(tape_handle)
                raise
            tape = SparseTape(tape_handle, ctx, placement, code, structure, call.operands, spec)
        else:
            ctx.check(_fn("solve")(ctx.handle, handle, ctypes.byref(call.values), ctypes.byref(opt),
                                   ctypes.byref(call.solution), None))
    if record and tape is None:
        tape = SparseTape(c_void_p(), ctx, placement, code, structure, call.operands, spec)
    return call.result(tape)


_GROUP_KEYS = ("Q", "p", "G", "h", "A", "b", "structure", "n")


def _group_dicts(groups, where, layer):
    """(g, args) for each group of a groups argument: a list of dicts of
    `layer`'s arguments, checked (a dict, no unknown keys)."""
    if isinstance(groups, dict) or not hasattr(groups, "__len__"):
        raise TypeError(f"{where}: groups must be a list of dicts (the arguments of {layer} per group); "
                        f"got {type(groups).__name__}")
    for g, args in enumerate(groups):
        if not isinstance(args, dict):
            raise TypeError(f"{where}: group {g} must be a dict of {layer}'s arguments; got {type(args).__name__}")
        unknown = set(args) - set(_GROUP_KEYS)
        if unknown:
            raise ValueError(f"{where}: group {g}: unknown keys {sorted(unknown)}; use {list(_GROUP_KEYS)}")
        yield g, args


def solve_sparse_groups(groups, *, tol=None, tol_inf=None, max_iter=None, refine=None, dtype=None, record=False):
    """Solves a ragged batch: several problem families of different sizes or
    patterns (a different graph per sample) in one library call
    (dopt_sparse_qp_solve_groups), every instance of every group on the
    thread pool at once. groups: a sequence of dicts, each holding one
    group's arguments of solve_sparse (keys Q, p, G, h, A, b, structure, n;
    p required), with a batch of its own (1 for a single instance). Returns
    a list of SparseResult, one per group, each what solve_sparse of that
    group alone returns (bitwise on the CPU). Every group's arrays must be
    on one device; dtype as solve_sparse, over all groups at once."""
    where = "qp.solve_sparse_groups"
    parsed = []
    for g, args in _group_dicts(groups, where, "qp.solve_sparse"):
        if args.get("p") is None:
            raise ValueError(f"{where}: group {g}: p (the linear term) is required")
        parsed.append(_inputs_of(args.get("Q"), args["p"], args.get("G"), args.get("h"), args.get("A"),
                                 args.get("b"), args.get("structure"), args.get("n"), f"{where}: group {g}"))
    every = [x for _, inputs, _ in parsed for x in inputs.values()]
    placement = _arrays.placement_of(*every)
    code = _arrays.dtype_code(dtype) if dtype is not None else _qp._call_dtype(every)
    calls = [_Call(structure, inputs, spec, placement, code) for structure, inputs, spec in parsed]
    opt = _qp._options(tol, tol_inf, max_iter, refine)
    ctx = placement.context()
    count = len(calls)
    tapes = (c_void_p * max(count, 1))()
    with ctx.lock:
        ctx.prepare(placement.stream())
        _analyze_all(ctx, placement.cuda_index, [call.structure for call in calls])
        c_groups = (_SparseGroup * max(count, 1))()
        for g, call in enumerate(calls):
            c_groups[g] = _SparseGroup(call.structure.handle(ctx, placement.cuda_index), call.values, call.solution)
        try:
            ctx.check(_fn("solve_groups")(ctx.handle, count, c_groups, ctypes.byref(opt), tapes if record else None))
        except BaseException:
            for t in tapes[:count]:
                if t:
                    _fn("tape_destroy")(c_void_p(t))
            raise
    return [call.result(SparseTape(c_void_p(tapes[g]), ctx, placement, code, call.structure, call.operands,
                                   call.spec) if record else None) for g, call in enumerate(calls)]


def _grads_of(tape, dx, dlam, dnu, wanted, where):
    """The gradient arrays of one backward (zero-filled when the library has
    nothing to do: returns run False) and its library arguments."""
    if not isinstance(tape, SparseTape):
        raise TypeError(f"{where}: tape must be the tape of qp.solve_sparse(..., record=True)")
    unknown = set(wanted) - set(_qp.PARAMETERS)
    if unknown:
        raise ValueError(f"{where}: unknown parameters {sorted(unknown)}; choose from {_qp.PARAMETERS}")
    spec, placement, code = tape.spec, tape.placement, tape.dtype
    B = spec.batch
    grads_in = []
    for value, size, name in ((dx, spec.n, "dx"), (dlam, spec.m, "dlam"), (dnu, spec.k, "dnu")):
        if value is None or size == 0:
            grads_in.append(None)
            continue
        value = _qp._source(value)
        expected = (B, size) if spec.batched else (size,)
        if tuple(value.shape) != expected:
            raise ValueError(f"{where}: {name} must have shape {expected}; got {tuple(value.shape)}")
        if _arrays.is_tensor(value) != placement.torch or (placement.torch and value.device != placement.device):
            raise ValueError(f"{where}: {name} must be where the solve ran "
                             f"({placement.device if placement.torch else 'numpy'})")
        grads_in.append(_qp._operand(value, placement, code, name))
    if grads_in[0] is None:
        raise ValueError(f"{where}: dx is required")
    empty = _qp._empty_fn(placement)
    grads = {name: (empty(spec.given_shapes[name], code) if name in wanted and spec.present[name] else None)
             for name in _qp.PARAMETERS}
    if B == 0 or not tape._handle or not tape._handle.value:
        for g in grads.values():
            if g is not None:
                g[...] = 0
        return grads, None
    ptr = _qp._pointer_fn(placement)
    gin = _qp._GradIn(*(ptr(g) for g in grads_in))
    gout = _qp._GradOut(*(ptr(grads[name]) for name in _qp.PARAMETERS))
    # the converted incoming gradients must live until the call returns
    return grads, _SparseGroupGrad(tape._handle, gin, gout), grads_in


def backward_sparse(tape, dx, dlam=None, dnu=None, *, wanted=_qp.PARAMETERS):
    """Gradients of a loss with respect to the inputs of the solve_sparse
    call that recorded `tape`, given dL/dx (and optionally dL/dlam, dL/dnu)
    shaped like its outputs. Returns {name: gradient} over `wanted`: for Q,
    G, A the gradient with respect to the VALUES, shaped like the values
    given ((nnz,) or (B, nnz); a shared matrix's is summed over the batch;
    for Q the gradient of the matrix as given: with both triangles stored,
    dQ_ij = dQ_ji); p, h, b as in dopt.qp.backward. None for an absent
    input. Instances that were not solved contribute zero."""
    grads, call, *_keep = _grads_of(tape, dx, dlam, dnu, wanted, "qp.backward_sparse")
    if call is not None:
        ctx = tape._ctx
        with ctx.lock:
            ctx.prepare(tape.placement.stream())
            ctx.check(_fn("backward")(ctx.handle, tape._handle, ctypes.byref(call.grad_in),
                                      ctypes.byref(call.grad_out)))
    return {name: grads[name] for name in wanted}


def backward_sparse_groups(tapes, dx, dlam=None, dnu=None, *, wanted=_qp.PARAMETERS):
    """The backward of solve_sparse_groups(..., record=True) in one library
    call (dopt_sparse_qp_backward_groups): tapes the results' .tape in
    order, dx (and dlam, dnu, or None) a list with one entry per group as
    backward_sparse takes it (an entry of dlam or dnu may be None). Returns
    a list of gradient dicts, each what backward_sparse of that group alone
    returns."""
    where = "qp.backward_sparse_groups"
    tapes = list(tapes)
    count = len(tapes)
    lists = {}
    for name, value in (("dx", dx), ("dlam", dlam), ("dnu", dnu)):
        if value is None and name != "dx":
            value = [None] * count
        if value is None or not hasattr(value, "__len__") or len(value) != count:
            raise ValueError(f"{where}: {name} must be a list with one entry per tape ({count})")
        lists[name] = list(value)
    out, calls, keep, ctx = [], [], [], None
    for g, tape in enumerate(tapes):
        grads, call, *rest = _grads_of(tape, lists["dx"][g], lists["dlam"][g], lists["dnu"][g], wanted,
                                       f"{where}: group {g}")
        out.append({name: grads[name] for name in wanted})
        if call is None:
            continue
        if ctx is None:
            ctx = tape._ctx
        elif tape._ctx is not ctx:
            raise ValueError(f"{where}: group {g}'s tape was recorded on another device than group 0's")
        calls.append(call)
        keep.append(rest)
    if calls:
        c_groups = (_SparseGroupGrad * len(calls))(*calls)
        with ctx.lock:
            ctx.prepare(tapes[0].placement.stream())
            ctx.check(_fn("backward_groups")(ctx.handle, len(calls), c_groups))
    return out
