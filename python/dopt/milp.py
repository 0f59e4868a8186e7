"""MILP models of any size on the host: building them from arrays, MPS files,
the benchmark generators, solving (HiGHS or COIN-OR Cbc when built in, dopt's
exact small-ILP solver), predict-and-search (Han et al. 2023; SRG's
search step), and the one-sided binary rows the Bernoulli and diffusion
layers take. The C API is include/dopt_milp.h, dopt_mps.h, dopt_gen.h;
docs/MILP.md describes the algorithms.

    minimize (maximize when `maximize`)  c'x + offset
    subject to  row_lo <= A x <= row_hi,  col_lo <= x <= col_hi,
                x_j integer where integer[j]

Everything here runs on the host, whatever the arrays' device: inputs may be
numpy arrays, array-likes or torch tensors (CPU tensors are read without a
copy when contiguous float64; CUDA tensors are copied to the host), and every
output is numpy. Bad input raises ValueError / TypeError before the library
is called; what the library refuses raises dopt.Error with its message
(e.g. "line 6: unknown row 'q' in COLUMNS"); per-solve outcomes (infeasible,
time limit, NaN prediction) are statuses in the result, never exceptions.
"""

import ctypes
import math
import os
import sys
from dataclasses import dataclass
from typing import NamedTuple, Optional

import numpy as np

from . import InstanceStatus
from . import _arrays
from . import _lib
from ._lib import c_double, c_int, c_int32, c_int64, c_void_p

__all__ = ["Model", "Result", "SearchResult", "SearchBatchResult", "BinaryForm", "read_mps", "parse_mps",
           "generate", "preset", "combopt_rows", "have_cbc", "have_highs", "solve", "search", "search_batch", "search_predict",
           "to_binary_form", "FAMILIES", "SOLVED", "PRIMAL_INFEASIBLE", "DUAL_INFEASIBLE", "ITERATION_LIMIT",
           "NUMERICAL_FAILURE", "INVALID_DATA"]

# result statuses (dopt_instance_status values)
SOLVED, PRIMAL_INFEASIBLE, DUAL_INFEASIBLE, ITERATION_LIMIT, NUMERICAL_FAILURE, INVALID_DATA = tuple(InstanceStatus)[:6]
_STATUS_WORDS = ("optimal", "infeasible", "unbounded", "time_limit", "numerical", "invalid")

_P = ctypes.POINTER


# ---- struct mirrors (include/dopt_milp.h, dopt_gen.h) -------------------------------------------
class _Milp(ctypes.Structure):
    _fields_ = [("n", c_int32), ("m", c_int32), ("nnz", c_int64),
                ("col_ptr", _P(c_int64)), ("row_idx", _P(c_int32)), ("values", _P(c_double)), ("c", _P(c_double)),
                ("offset", c_double), ("maximize", c_int32),
                ("col_lo", _P(c_double)), ("col_hi", _P(c_double)), ("row_lo", _P(c_double)),
                ("row_hi", _P(c_double)), ("integer", _P(ctypes.c_uint8)),
                ("name", c_void_p), ("obj_name", c_void_p), ("col_names", _P(c_void_p)), ("row_names", _P(c_void_p))]


class _Options(ctypes.Structure):
    _fields_ = [("solver", c_int), ("time_limit", c_double), ("gap", c_double), ("threads", c_int32),
                ("relax", c_int32), ("verbose", c_int32), ("start", c_void_p), ("ray", c_void_p)]


class _Result(ctypes.Structure):
    _fields_ = [("status", c_int32), ("has_solution", c_int32), ("objective", c_double), ("bound", c_double),
                ("seconds", c_double), ("nodes", c_int64), ("x", c_void_p), ("solver", c_int),
                ("has_ray", c_int32), ("gap", c_double), ("solver_status", ctypes.c_char * 64)]


class _SearchOptions(ctypes.Structure):
    _fields_ = [("milp", _Options), ("delta", c_double), ("k0", c_int32), ("k1", c_int32), ("repair", c_int32),
                ("batch_time_limit", c_double)]


class _SearchResult(ctypes.Structure):
    _fields_ = [("milp", _Result), ("delta_used", c_double), ("trust_size", c_int32), ("rounds", c_int32),
                ("center_violation", c_double), ("whole_model", c_int32), ("call_status", c_int)]


class _BinaryForm(ctypes.Structure):
    _fields_ = [("n", c_int32), ("m", c_int32), ("row_ptr", _P(c_int64)), ("col_idx", _P(c_int32)),
                ("values", _P(c_double)), ("b", _P(c_double)), ("c", _P(c_double))]


class _GenParams(ctypes.Structure):
    _fields_ = [("family", c_int),
                ("sc_rows", c_int32), ("sc_cols", c_int32), ("sc_density", c_double), ("sc_max_coef", c_int32),
                ("ca_items", c_int32), ("ca_bids", c_int32), ("ca_add_item_prob", c_double),
                ("cfl_customers", c_int32), ("cfl_facilities", c_int32), ("cfl_ratio", c_double),
                ("is_nodes", c_int32), ("is_graph", c_int32), ("is_affinity", c_int32), ("is_edge_prob", c_double),
                ("co_n", c_int32), ("co_m", c_int32), ("rc_dense", c_int32)]


class _MpsReadOptions(ctypes.Structure):
    _fields_ = [("format", c_int), ("int_bounds", c_int)]


for _mirror, _c_name in ((_MpsReadOptions, "dopt_mps_read_options"), (_Milp, "dopt_milp"), (_Options, "dopt_milp_options"), (_Result, "dopt_milp_result"),
                         (_SearchOptions, "dopt_milp_search_options"),
                         (_SearchResult, "dopt_milp_search_result"), (_BinaryForm, "dopt_milp_binary_form"),
                         (_GenParams, "dopt_gen_params")):
    _lib.check_struct(_mirror, _c_name)

_MilpP = _P(_Milp)
_PREDICT_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_int64, c_void_p, c_int32, _P(c_double))

_alloc = _lib.declare("dopt_milp_alloc", c_int, c_void_p, c_int32, c_int32, c_int64, _P(_MilpP))
_free = _lib.declare("dopt_milp_free", None, _MilpP)
_check = _lib.declare("dopt_milp_check", c_int, c_void_p, _MilpP)
_objective = _lib.declare("dopt_milp_objective", c_double, _MilpP, c_void_p)
_violation = _lib.declare("dopt_milp_violation", c_double, _MilpP, c_void_p)
_have_cbc = _lib.declare("dopt_milp_have_cbc", c_int)
_have_highs = _lib.declare("dopt_milp_have_highs", c_int)
_solve = _lib.declare("dopt_milp_solve", c_int, c_void_p, _MilpP, _P(_Options), _P(_Result))
_search = _lib.declare("dopt_milp_search", c_int, c_void_p, _MilpP, c_void_p, _P(_SearchOptions),
                       _P(_SearchResult))
_search_batch = _lib.declare("dopt_milp_search_batch", c_int, c_void_p, _P(_MilpP), c_int64, c_void_p, c_void_p,
                             c_void_p, _P(_SearchOptions), _P(_SearchResult))
_search_predict = _lib.declare("dopt_milp_search_predict", c_int, c_void_p, _P(_MilpP), c_int64, c_int32,
                               _PREDICT_FN, c_void_p, _P(_SearchOptions), _P(_SearchResult), c_void_p)
_to_binary_form = _lib.declare("dopt_milp_to_binary_form", c_int, c_void_p, _MilpP, c_int, _P(_BinaryForm))
_binary_form_free = _lib.declare("dopt_milp_binary_form_free", None, _P(_BinaryForm))
_mps_parse_with = _lib.declare("dopt_mps_parse_with", c_int, c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                               _P(_MpsReadOptions), _P(_MilpP))
_mps_read_with = _lib.declare("dopt_mps_read_with", c_int, c_void_p, ctypes.c_char_p, _P(_MpsReadOptions),
                              _P(_MilpP))
_mps_write = _lib.declare("dopt_mps_write", c_int, c_void_p, _MilpP, ctypes.c_char_p)
_gen_preset = _lib.declare("dopt_gen_params_preset", c_int, c_void_p, c_int, c_int, _P(_GenParams))
_gen_instance = _lib.declare("dopt_gen_instance", c_int, c_void_p, _P(_GenParams), ctypes.c_uint64, _P(_MilpP))
_gen_combopt_rows = _lib.declare("dopt_gen_combopt_rows", c_int, c_void_p, c_int, c_int32, c_int32, c_int32,
                                 _P(ctypes.c_uint64), c_void_p, c_void_p)


def _numpy_dtype_of(structure):
    """The numpy dtype of a ctypes Structure (same offsets; pointers as uintp),
    so that an array of results reads as one structured array, field by field."""
    names, formats, offsets = [], [], []
    for field in structure._fields_:
        name, ctype = field[0], field[1]
        if isinstance(ctype, type) and issubclass(ctype, ctypes.Structure):
            fmt = _numpy_dtype_of(ctype)
        elif ctype in (c_void_p,) or hasattr(ctype, "contents"):
            fmt = np.uintp
        else:
            fmt = np.dtype(ctype)
        names.append(name)
        formats.append(fmt)
        offsets.append(getattr(structure, name).offset)
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": ctypes.sizeof(structure)})


_SEARCH_RESULT_DTYPE = _numpy_dtype_of(_SearchResult)
_DUMMY = np.zeros(1)  # a non-NULL pointer for empty arrays


def _ctx():
    """The calling thread's host context (the MILP calls are host-only)."""
    return _lib.context_for(None)


def have_cbc():
    """True when the loaded libdopt has the COIN-OR Cbc backend built in
    (then solver='auto' runs Cbc, and Clp for LPs; otherwise the exact
    small-ILP solver, and solver='cbc' raises dopt.Error UNSUPPORTED)."""
    return bool(_have_cbc())


def have_highs():
    """True when the loaded libdopt has the HiGHS backend built in (then
    solver='auto' runs HiGHS; otherwise Cbc when built in, else the exact
    solver, and solver='highs' raises dopt.Error UNSUPPORTED)."""
    return bool(_have_highs())


# ---- host operands --------------------------------------------------------------------------------
def _host(x, name, dtype=np.float64):
    """x as a contiguous host numpy array of dtype (no copy when it already is
    one; a CPU tensor shares its memory; a CUDA tensor is copied to the host)."""
    if _arrays.is_tensor(x):
        x = x.detach()
        if x.device.type != "cpu":
            x = x.cpu()
        if x.is_sparse or x.layout != _arrays._torch().strided:
            raise TypeError(f"milp: {name} must be a dense tensor; got layout {x.layout}")
        x = x.numpy()
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"milp: {name} must be array-like; got {type(x).__name__}") from exc
    if array.dtype == object:
        raise TypeError(f"milp: {name} must be numeric; got an object array")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"milp: {name} must be numeric; got dtype {array.dtype}")
    if array.dtype != dtype or not array.flags.c_contiguous or not array.flags.aligned:
        array = np.array(array, dtype=dtype, order="C")  # (ascontiguousarray would make a scalar 1-D)
    return array


def _vector(x, size, name, default=None, allow_nan=False, allow_inf=True):
    """A float64 vector of `size` entries from x (None: default; a scalar: repeated)."""
    if x is None:
        if default is None:
            raise ValueError(f"milp: {name} is required")
        return np.full(size, default, dtype=np.float64)
    array = _host(x, name)
    if array.ndim == 0:
        array = np.full(size, float(array), dtype=np.float64)
    if array.shape != (size,):
        raise ValueError(f"milp: {name} must have shape ({size},) (or be a scalar); got {array.shape}")
    if not allow_nan and np.isnan(array).any():
        raise ValueError(f"milp: {name} has NaN at index {int(np.flatnonzero(np.isnan(array))[0])}")
    if not allow_inf and np.isinf(array).any():
        raise ValueError(f"milp: {name} must be finite; entry {int(np.flatnonzero(np.isinf(array))[0])} is "
                         f"{array[np.isinf(array)][0]}")
    return array


def _as_path(path):
    path = os.fspath(path)
    if isinstance(path, str):
        path = path.encode()
    if b"\0" in path:
        raise ValueError("milp: a path must not contain NUL bytes")
    return path


# ---- the sparse matrix ------------------------------------------------------------------------------
def _csc_from_triplets(rows, cols, values, m, n):
    """CSC arrays (col_ptr int64, row_idx int32, values float64) from COO
    triplets: sorted by column then row, duplicates summed, zeros dropped."""
    rows = np.asarray(rows, dtype=np.int64).ravel()
    cols = np.asarray(cols, dtype=np.int64).ravel()
    values = np.asarray(values, dtype=np.float64).ravel()
    if not (rows.shape == cols.shape == values.shape):
        raise ValueError(f"milp: A's row indices, column indices and values differ in length "
                         f"({rows.size}, {cols.size}, {values.size})")
    if rows.size:
        if rows.min() < 0 or rows.max() >= m:
            raise ValueError(f"milp: A has a row index outside [0, {m}): {int(rows[(rows < 0) | (rows >= m)][0])}")
        if cols.min() < 0 or cols.max() >= n:
            raise ValueError(f"milp: A has a column index outside [0, {n}): "
                             f"{int(cols[(cols < 0) | (cols >= n)][0])}")
    bad = ~np.isfinite(values)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"milp: A must be finite; entry ({int(rows[k])}, {int(cols[k])}) is {values[k]}")
    order = np.lexsort((rows, cols))
    rows, cols, values = rows[order], cols[order], values[order]
    if rows.size > 1:
        key = cols * max(m, 1) + rows
        first = np.concatenate(([True], key[1:] != key[:-1]))
        if not first.all():
            starts = np.flatnonzero(first)
            values = np.add.reduceat(values, starts)
            rows, cols = rows[starts], cols[starts]
    keep = values != 0
    rows, cols, values = rows[keep], cols[keep], values[keep]
    col_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols, minlength=n), out=col_ptr[1:])
    return col_ptr, rows.astype(np.int32), np.ascontiguousarray(values)


def _csc_of(A, n):
    """(m, col_ptr, row_idx, values) from the A argument of Model."""
    if isinstance(A, _CSC):
        return tuple(A)
    if isinstance(A, tuple):
        if len(A) != 3:
            raise ValueError("milp: A as a tuple must be CSR arrays (indptr, indices, data) by rows; "
                             f"got a tuple of {len(A)}")
        indptr = _host(A[0], "A's indptr", np.int64)
        indices = _host(A[1], "A's indices", np.int64)
        data = _host(A[2], "A's data")
        if indptr.ndim != 1 or indptr.size < 1 or indptr[0] != 0 or (np.diff(indptr) < 0).any():
            raise ValueError("milp: A's indptr must be a non-decreasing vector starting at 0 (CSR by rows)")
        if indices.ndim != 1 or data.ndim != 1 or indices.size != indptr[-1] or data.size != indptr[-1]:
            raise ValueError(f"milp: A's indices and data must have indptr[-1] = {int(indptr[-1])} entries; got "
                             f"{indices.size} and {data.size}")
        m = indptr.size - 1
        rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(indptr))
        return (m,) + _csc_from_triplets(rows, indices, data, m, n)
    if hasattr(A, "tocoo") and hasattr(A, "nnz") and not _arrays.is_tensor(A):  # scipy.sparse
        coo = A.tocoo()
        m, cols = coo.shape
        if cols != n:
            raise ValueError(f"milp: A must have n = {n} columns (the length of c); got shape {coo.shape}")
        return (m,) + _csc_from_triplets(coo.row, coo.col, coo.data, m, n)
    if _arrays.is_tensor(A) and A.layout != _arrays._torch().strided:
        coo = A.detach().cpu().to_sparse_coo().coalesce()
        if coo.dim() != 2:
            raise ValueError(f"milp: A must be a matrix; got a sparse tensor of shape {tuple(coo.shape)}")
        m, cols = coo.shape
        if cols != n:
            raise ValueError(f"milp: A must have n = {n} columns (the length of c); got shape {tuple(coo.shape)}")
        index = coo.indices().numpy()
        return (m,) + _csc_from_triplets(index[0], index[1], coo.values().double().numpy(), m, n)
    dense = _host(A, "A")
    if dense.ndim != 2 or dense.shape[1] != n:
        raise ValueError(f"milp: A must be (m, n) with n = {n} (the length of c), a scipy.sparse matrix or CSR "
                         f"arrays (indptr, indices, data); got shape {dense.shape}")
    m = dense.shape[0]
    rows_t, cols_t = np.nonzero(dense.T)  # (column, row) pairs in CSC order
    return (m,) + _csc_from_triplets(cols_t, rows_t, dense.T[rows_t, cols_t], m, n)


# ---- names (malloc'ed: dopt_milp_free frees them) ---------------------------------------------------
_libc = None


def _c_calloc(count, size):
    """Zeroed memory from the C allocator whose free() dopt_milp_free calls."""
    global _libc
    if _libc is None:
        if sys.platform == "win32":
            raise NotImplementedError("milp: setting names is not supported on Windows (the C runtime that frees "
                                      "them is not reachable from ctypes)")
        # the process's global calloc (dlsym(RTLD_DEFAULT)), the one libdopt's free() resolves to: an
        # allocator interposed with LD_PRELOAD (jemalloc, AddressSanitizer) replaces both; libc's own
        # calloc, looked up by the library's name, would not be the matching one then
        libc = ctypes.CDLL(None)
        libc.calloc.restype = c_void_p
        libc.calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
        _libc = libc
    address = _libc.calloc(max(count, 1), size)
    if not address:
        raise MemoryError("milp: out of memory for names")
    return address


def _c_string(text, what):
    """A NUL-terminated C copy of a name (freed by dopt_milp_free)."""
    if not isinstance(text, str) or not text or any(ch.isspace() for ch in text) or "\0" in text:
        raise ValueError(f"milp: {what} must be a non-empty string without blanks or NUL; got {text!r}")
    data = text.encode()
    address = _c_calloc(len(data) + 1, 1)
    ctypes.memmove(address, data, len(data))
    return address


def _string_at(address):
    return None if not address else ctypes.string_at(address).decode(errors="replace")


class _View:
    """An __array_interface__ over a model's C array that keeps the model
    alive for as long as numpy arrays derived from it exist."""

    __slots__ = ("__array_interface__", "_model")

    def __init__(self, model, address, shape, typestr, readonly):
        self._model = model
        self.__array_interface__ = {"shape": shape, "typestr": typestr, "data": (address, readonly),
                                    "version": 3}


# ---- the model ---------------------------------------------------------------------------------------
class Model:
    """One MILP (a dopt_milp owned by this object; freed when it is garbage
    collected or closed).

    Model(c, A=None, row_lo=None, row_hi=None, col_lo=0, col_hi=inf, integer=None, *,
          maximize=False, offset=0.0, name=None, obj_name=None, col_names=None, row_names=None)

    c: (n,) objective. A: (m, n) dense, a scipy.sparse matrix (any format), a
    torch sparse tensor, or CSR arrays (indptr, indices, data) by rows;
    duplicates are summed and zeros dropped. row_lo, row_hi: (m,) row bounds
    (default -inf and +inf: give at least one side per row, or use
    Model.from_senses); col_lo, col_hi: (n,) column bounds (default [0, +inf),
    as the C model and MPS); scalars are repeated. integer: (n,) booleans.
    Infinite bounds are +-inf; NaN anywhere is a ValueError.

    Arrays are copied into the library's model. Views: c, col_lo, col_hi,
    row_lo, row_hi, integer are writable numpy views of the model's own
    arrays (change costs or bounds between solves in place); col_ptr,
    row_idx, values (A by columns, CSC) are read-only views. Views keep the
    model alive.
    """

    __slots__ = ("_owner", "__weakref__")

    def __init__(self, c, A=None, row_lo=None, row_hi=None, col_lo=None, col_hi=None, integer=None, *,
                 maximize=False, offset=0.0, name=None, obj_name=None, col_names=None, row_names=None):
        self._owner = None
        c = _host(c, "c")
        if c.ndim != 1:
            raise ValueError(f"milp: c must be a vector (n,); got shape {c.shape}")
        n = c.size
        c = _vector(c, n, "c", allow_inf=False)
        if A is None:
            m = 0 if row_lo is None and row_hi is None else None
            if m is None:
                raise ValueError("milp: row bounds given without A")
            col_ptr, row_idx, values = np.zeros(n + 1, np.int64), np.zeros(0, np.int32), np.zeros(0)
        else:
            m, col_ptr, row_idx, values = _csc_of(A, n)
        row_lo = _vector(row_lo, m, "row_lo", default=-math.inf)
        row_hi = _vector(row_hi, m, "row_hi", default=math.inf)
        col_lo = _vector(col_lo, n, "col_lo", default=0.0)
        col_hi = _vector(col_hi, n, "col_hi", default=math.inf)
        for lo, hi, what in ((row_lo, row_hi, "row"), (col_lo, col_hi, "column")):
            wrong = (lo == math.inf) | (hi == -math.inf)
            if wrong.any():
                i = int(np.flatnonzero(wrong)[0])
                raise ValueError(f"milp: {what} {i} has bounds [{lo[i]}, {hi[i]}] pointing the wrong way to infinity")
        if integer is None:
            integer = np.zeros(n, dtype=np.uint8)
        else:
            flags = _host(integer, "integer", np.float64)
            if flags.ndim == 0:
                flags = np.full(n, float(flags))
            if flags.shape != (n,):
                raise ValueError(f"milp: integer must have shape ({n},) (or be a scalar); got {flags.shape}")
            if not np.isin(flags, (0.0, 1.0)).all():
                raise ValueError("milp: integer must hold booleans (0 or 1)")
            integer = flags.astype(np.uint8)
        offset = float(offset)
        if not math.isfinite(offset):
            raise ValueError(f"milp: offset must be finite; got {offset}")
        for names, count, what in ((col_names, n, "col_names"), (row_names, m, "row_names")):
            if names is None:
                continue
            if isinstance(names, str) or len(names) != count:
                raise ValueError(f"milp: {what} must be a sequence of {count} names")
            for k, text in enumerate(names):
                if not isinstance(text, str) or not text or any(ch.isspace() for ch in text) or "\0" in text:
                    raise ValueError(f"milp: {what}[{k}] must be a non-empty string without blanks; got {text!r}")
        ctx = _ctx()
        ptr = _MilpP()
        with ctx.lock:
            ctx.prepare()
            ctx.check(_alloc(ctx.handle, n, m, values.size, ctypes.byref(ptr)))
        self._owner = _Owner(ptr)
        s = ptr.contents
        s.nnz = values.size
        for target, source in ((s.col_ptr, col_ptr), (s.row_idx, row_idx), (s.values, values), (s.c, c),
                               (s.col_lo, col_lo), (s.col_hi, col_hi), (s.row_lo, row_lo), (s.row_hi, row_hi),
                               (s.integer, integer)):
            if source.size:
                ctypes.memmove(target, source.ctypes.data, source.nbytes)
        s.offset = offset
        s.maximize = 1 if maximize else 0
        if name is not None:
            s.name = _c_string(name, "name")
        if obj_name is not None:
            s.obj_name = _c_string(obj_name, "obj_name")
        for field, names, count in (("col_names", col_names, n), ("row_names", row_names, m)):
            if names is None:
                continue
            # the library frees the table and each name
            setattr(s, field, ctypes.cast(_c_calloc(count, ctypes.sizeof(c_void_p)), _P(c_void_p)))
            entries = getattr(s, field)
            for k, text in enumerate(names):
                entries[k] = _c_string(text, f"{field}[{k}]")

    @classmethod
    def from_senses(cls, c, A, senses, rhs, **kwargs):
        """A model with rows given as senses and right-hand sides: senses a
        string of one letter per row ("LGE") or a sequence of 'L' (<=), 'G'
        (>=), 'E' (=) or '<=', '>=', '='; rhs (m,). Other arguments as
        Model's."""
        c = _host(c, "c")
        if c.ndim != 1:
            raise ValueError(f"milp: c must be a vector (n,); got shape {c.shape}")
        A = _CSC(*_csc_of(A, c.size))
        m = A.m
        rhs = _vector(rhs, m, "rhs", allow_inf=True)
        if isinstance(senses, str):
            senses = list(senses)  # one letter per row: "LGE"
        senses = [str(sense).upper() for sense in senses]
        if len(senses) != m:
            raise ValueError(f"milp: senses must have one entry per row (m = {m}); got {len(senses)}")
        kinds = {"L": "L", "<=": "L", "G": "G", ">=": "G", "E": "E", "=": "E", "==": "E"}
        unknown = [i for i, sense in enumerate(senses) if sense not in kinds]
        if unknown:
            raise ValueError(f"milp: sense {unknown[0]} must be 'L', 'G' or 'E' (or '<=', '>=', '='); "
                             f"got {senses[unknown[0]]!r}")
        kind = np.array([kinds[sense] for sense in senses], dtype="<U1").reshape(m)
        lo = np.where(kind == "L", -math.inf, rhs)
        hi = np.where(kind == "G", math.inf, rhs)
        return cls(c, A, lo, hi, **kwargs)

    @classmethod
    def _adopt(cls, ptr):
        model = cls.__new__(cls)
        model._owner = _Owner(ptr)
        return model

    # -- ownership --
    def close(self):
        """Frees the C model now (it is freed when the object is garbage
        collected otherwise); numpy views taken earlier keep it alive until
        they go. A closed model raises ValueError when used."""
        self._owner = None

    @property
    def closed(self):
        return self._owner is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _handle(self):
        if self._owner is None:
            raise ValueError("milp: the model was closed")
        return self._owner.ptr

    @property
    def _s(self):
        return self._handle().contents

    # -- sizes and scalars --
    @property
    def n(self):
        """number of columns"""
        return self._s.n

    @property
    def m(self):
        """number of rows"""
        return self._s.m

    @property
    def nnz(self):
        return self._s.nnz

    @property
    def maximize(self):
        return bool(self._s.maximize)

    @maximize.setter
    def maximize(self, value):
        self._s.maximize = 1 if value else 0

    @property
    def offset(self):
        """constant term of the objective"""
        return self._s.offset

    @offset.setter
    def offset(self, value):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"milp: offset must be finite; got {value}")
        self._s.offset = value

    @property
    def name(self):
        return _string_at(self._s.name)

    @property
    def obj_name(self):
        return _string_at(self._s.obj_name)

    @property
    def col_names(self):
        """list of n names, or None when the model has none (written C<j>)"""
        s = self._s
        return None if not s.col_names else [_string_at(s.col_names[j]) for j in range(s.n)]

    @property
    def row_names(self):
        s = self._s
        return None if not s.row_names else [_string_at(s.row_names[i]) for i in range(s.m)]

    @property
    def num_integers(self):
        return int(self.integer.sum())

    @property
    def binary(self):
        """(n,) bool copy: integer columns with bounds [0, 1] (the columns
        predict-and-search rounds)"""
        return self.integer & (self.col_lo == 0) & (self.col_hi == 1)

    # -- array views --
    def _view(self, field, size, typestr, readonly):
        address = ctypes.cast(getattr(self._s, field), c_void_p).value
        if size == 0:
            return np.zeros(0, dtype=np.dtype(typestr))
        return np.asarray(_View(self._owner, address, (size,), typestr, readonly))

    @property
    def c(self):
        """(n,) objective coefficients (writable view)"""
        return self._view("c", self.n, "<f8", False)

    @property
    def col_lo(self):
        return self._view("col_lo", self.n, "<f8", False)

    @property
    def col_hi(self):
        return self._view("col_hi", self.n, "<f8", False)

    @property
    def row_lo(self):
        return self._view("row_lo", self.m, "<f8", False)

    @property
    def row_hi(self):
        return self._view("row_hi", self.m, "<f8", False)

    @property
    def integer(self):
        """(n,) bool, writable view (the model's 0/1 bytes)"""
        return self._view("integer", self.n, "|b1", False)

    @property
    def col_ptr(self):
        """(n + 1,) int64, read-only view (A by columns)"""
        return self._view("col_ptr", self.n + 1, "<i8", True)

    @property
    def row_idx(self):
        return self._view("row_idx", self.nnz, "<i4", True)

    @property
    def values(self):
        return self._view("values", self.nnz, "<f8", True)

    def csr(self):
        """A by rows: (indptr int64 (m + 1,), indices int32, data float64), copies"""
        m, n = self.m, self.n
        cols = np.repeat(np.arange(n, dtype=np.int64), np.diff(self.col_ptr))
        rows = self.row_idx.astype(np.int64)
        order = np.lexsort((cols, rows))
        indptr = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=m), out=indptr[1:])
        return indptr, cols[order].astype(np.int32), self.values[order].copy()

    def dense(self):
        """A as a dense (m, n) float64 array (a copy)"""
        out = np.zeros((self.m, self.n))
        cols = np.repeat(np.arange(self.n), np.diff(self.col_ptr))
        out[self.row_idx, cols] = self.values
        return out

    @property
    def A(self):
        """A as a scipy.sparse.csc_array (a copy; needs scipy)"""
        import scipy.sparse
        return scipy.sparse.csc_array((self.values.copy(), self.row_idx.copy(), self.col_ptr.copy()),
                                      shape=(self.m, self.n))

    def arrays(self):
        """Every array and scalar of the model as a dict of copies; Model(**...)
        rebuilds it (A as CSR arrays)."""
        indptr, indices, data = self.csr()
        return {"c": self.c.copy(), "A": (indptr, indices, data), "row_lo": self.row_lo.copy(),
                "row_hi": self.row_hi.copy(), "col_lo": self.col_lo.copy(), "col_hi": self.col_hi.copy(),
                "integer": self.integer.copy(), "maximize": self.maximize, "offset": self.offset,
                "name": self.name, "obj_name": self.obj_name, "col_names": self.col_names,
                "row_names": self.row_names}

    def copy(self):
        return Model(**self.arrays())

    def __reduce__(self):
        return (_rebuild, (self.arrays(),))

    def __repr__(self):
        if self._owner is None:
            return "<dopt.milp.Model (closed)>"
        return (f"<dopt.milp.Model {self.name or ''!s} {'max' if self.maximize else 'min'} n={self.n} m={self.m} "
                f"nnz={self.nnz} integers={self.num_integers}>")

    # -- evaluation --
    def _point(self, x, name="x"):
        x = _host(x, name)
        if x.shape != (self.n,):
            raise ValueError(f"milp: {name} must have shape ({self.n},); got {x.shape}")
        return x

    def objective(self, x):
        """c'x + offset. x: (n,) or a batch (B, n) (one value per row)."""
        x = _host(x, "x")
        if x.ndim == 2:
            return np.array([self.objective(row) for row in x])
        x = self._point(x)
        return _objective(self._handle(), x.ctypes.data if x.size else None)

    def violation(self, x):
        """Largest violation of rows, bounds and integrality by x (0 when
        feasible; tolerance-free; inf when x has a NaN). x: (n,) or (B, n)."""
        x = _host(x, "x")
        if x.ndim == 2:
            return np.array([self.violation(row) for row in x])
        x = self._point(x)
        return _violation(self._handle(), x.ctypes.data if x.size else None)

    def check(self):
        """The library's structural check: raises dopt.Error (INVALID_ARGUMENT)
        saying what is wrong; returns None when the model is valid."""
        ctx = _ctx()
        with ctx.lock:
            ctx.prepare()
            ctx.check(_check(ctx.handle, self._handle()))

    def write_mps(self, path):
        """Writes free MPS (17 significant digits: reading it back gives the
        identical model). Refused with dopt.Error before the file is created:
        an invalid model, names with blanks, free rows (both sides infinite)."""
        ctx = _ctx()
        with ctx.lock:
            ctx.prepare()
            ctx.check(_mps_write(ctx.handle, self._handle(), _as_path(path)))


class _Owner:
    """Holds a dopt_milp and frees it exactly once, when the last reference
    (its Model, numpy views of its arrays) goes."""

    __slots__ = ("ptr", "__weakref__")

    def __init__(self, ptr):
        self.ptr = ptr

    def __del__(self):
        ptr, self.ptr = self.ptr, None
        if ptr and _free is not None:
            _free(ptr)


class _CSC(NamedTuple):
    """A already in the model's form (m, col_ptr, row_idx, values)."""
    m: int
    col_ptr: np.ndarray
    row_idx: np.ndarray
    values: np.ndarray


def _rebuild(arrays):
    return Model(**arrays)


def _adopt(ptr):
    if not ptr:
        raise _lib.Error(_lib.ERR_INTERNAL, "milp: the library returned no model")
    return Model._adopt(ptr)


# ---- MPS files -----------------------------------------------------------------------------------
_FORMATS = {"auto": 0, "free": 1, "fixed": 2}


_INT_BOUNDS = {"binary": 0, "nonneg": 1}


def _read_options(format, int_bounds):
    if format not in _FORMATS:
        raise ValueError(f"milp: format must be 'auto', 'free' or 'fixed'; got {format!r}")
    if int_bounds not in _INT_BOUNDS:
        raise ValueError(f"milp: int_bounds must be 'binary' or 'nonneg'; got {int_bounds!r}")
    return _MpsReadOptions(_FORMATS[format], _INT_BOUNDS[int_bounds])


def read_mps(path, format="auto", int_bounds="binary"):
    """Reads an MPS file (plain, or gzipped: detected by its content) into a
    Model. format: 'auto' (free, then fixed columns if that fails), 'free' or
    'fixed'. int_bounds: how integer columns that no BOUNDS entry names are
    read: 'binary' [0, 1] (COIN's and HiGHS's convention, the default) or
    'nonneg' [0, inf). A missing or malformed file raises dopt.Error with the
    path and line ("PATH: line 17: ..."); what the reader skips (a second N
    row or RHS/RANGES/BOUNDS set, text after ENDATA) is logged as a warning
    on the "dopt" logger. docs/MILP.md."""
    opt = _read_options(format, int_bounds)
    ctx = _ctx()
    ptr = _MilpP()
    with ctx.lock:
        ctx.prepare()
        ctx.check(_mps_read_with(ctx.handle, _as_path(path), ctypes.byref(opt), ctypes.byref(ptr)))
    return _adopt(ptr)


def parse_mps(text, format="auto", int_bounds="binary"):
    """MPS text (str or bytes, which may be gzip data) into a Model; options
    and errors as read_mps, without a path."""
    opt = _read_options(format, int_bounds)
    if isinstance(text, str):
        text = text.encode()
    if not isinstance(text, (bytes, bytearray, memoryview)):
        raise TypeError(f"milp: parse_mps takes str or bytes; got {type(text).__name__}")
    data = bytes(text)
    ctx = _ctx()
    ptr = _MilpP()
    with ctx.lock:
        ctx.prepare()
        ctx.check(_mps_parse_with(ctx.handle, data, len(data), ctypes.byref(opt), ctypes.byref(ptr)))
    return _adopt(ptr)


# ---- generators ----------------------------------------------------------------------------------
FAMILIES = {"sc": 0, "setcover": 0, "set_cover": 0, "ca": 1, "cauction": 1, "auction": 1,
            "combinatorial_auction": 1, "cfl": 2, "facility": 2, "facility_location": 2, "mis": 3, "indset": 3,
            "independent_set": 3, "rc": 4, "random_constraints": 4, "wsc": 5, "weighted_set_cover": 5,
            "knapsack": 6}
_SIZES = {"easy": 0, "medium": 1, "hard": 2}
# keyword -> field of dopt_gen_params (the CLI's option names, and the C names)
_PARAM_ALIASES = {"rows": "sc_rows", "cols": "sc_cols", "density": "sc_density", "max_coef": "sc_max_coef",
                  "items": "ca_items", "bids": "ca_bids", "add_item_prob": "ca_add_item_prob",
                  "customers": "cfl_customers", "facilities": "cfl_facilities", "ratio": "cfl_ratio",
                  "nodes": "is_nodes", "graph": "is_graph", "affinity": "is_affinity", "edge_prob": "is_edge_prob",
                  "n": "co_n", "m": "co_m", "dense": "rc_dense"}
_PARAM_FIELDS = [name for name, _ in _GenParams._fields_ if name != "family"]


def _family_code(family):
    if isinstance(family, str) and family.lower() in FAMILIES:
        return FAMILIES[family.lower()]
    raise ValueError(f"milp: unknown generator family {family!r}; choose from sc, ca, cfl, mis, rc, wsc, knapsack "
                     "(or setcover, cauction, facility, indset, ...)")


def _params(family, size, params):
    fam = _family_code(family)
    if size not in _SIZES:
        raise ValueError(f"milp: size must be 'easy', 'medium' or 'hard'; got {size!r}")
    p = _GenParams()
    ctx = _ctx()
    with ctx.lock:
        ctx.prepare()
        ctx.check(_gen_preset(ctx.handle, fam, _SIZES[size], ctypes.byref(p)))
    given = {}
    for key, value in params.items():
        field = _PARAM_ALIASES.get(key, key)
        if field not in _PARAM_FIELDS:
            raise TypeError(f"milp: unknown generator parameter {key!r}; known: {sorted(_PARAM_ALIASES)}")
        if field == "is_graph" and isinstance(value, str):
            if value not in ("ba", "er"):
                raise ValueError(f"milp: graph must be 'ba' (Barabasi-Albert) or 'er' (Erdos-Renyi); got {value!r}")
            value = 0 if value == "ba" else 1
        ctype = dict(_GenParams._fields_)[field]
        if ctype is c_double:
            value = float(value)
            if math.isnan(value):
                raise ValueError(f"milp: generator parameter {key} is NaN")
        else:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"milp: generator parameter {key} must be an integer; got {value}")
            value = int(value)
            if not -2**31 <= value < 2**31:
                raise ValueError(f"milp: generator parameter {key} = {value} is out of range")
        given[field] = value
        setattr(p, field, value)
    # as the CLI: weighted set cover with m given and n not has n = 2 m subsets
    if fam == 5 and "co_m" in given and "co_n" not in given:
        p.co_n = 2 * p.co_m
    return p


_FAMILY_FIELDS = {0: ("sc_",), 1: ("ca_",), 2: ("cfl_",), 3: ("is_",), 4: ("co_", "rc_"), 5: ("co_",),
                  6: ("co_",)}
_SHORT_NAMES = {field: short for short, field in _PARAM_ALIASES.items()}


def preset(family, size="easy"):
    """The published parameters of a family and size (docs/MILP.md) as a dict
    of generate()'s keywords, e.g. preset('sc') = {'rows': 500, 'cols': 1000,
    'density': 0.05, 'max_coef': 100}."""
    p = _params(family, size, {})
    prefixes = _FAMILY_FIELDS[p.family]
    return {_SHORT_NAMES[name]: getattr(p, name) for name in _PARAM_FIELDS if name.startswith(prefixes)}


def generate(family, size="easy", seed=0, **params):
    """One instance of a benchmark family as a Model, deterministic in
    (family, parameters, seed) on every machine, named FAMILY_sSEED.

    family: 'sc' (set cover), 'ca' (combinatorial auction), 'cfl'
    (capacitated facility location), 'mis' (independent set), 'rc'
    (CombOptNet random constraints), 'wsc' (weighted set cover), 'knapsack'.
    size: 'easy', 'medium', 'hard' (Gasse et al. 2019's sizes; CombOptNet's
    for rc/wsc). params override the preset: rows, cols, density, max_coef
    (sc); items, bids, add_item_prob (ca); customers, facilities, ratio (cfl);
    nodes, graph ('ba' or 'er'), affinity, edge_prob (mis); n, m, dense (rc,
    wsc, knapsack); the C field names (sc_rows, ...) work too. Bad sizes raise
    dopt.Error with the rule."""
    p = _params(family, size, params)
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"milp: seed must be in [0, 2**64); got {seed}")
    ctx = _ctx()
    ptr = _MilpP()
    with ctx.lock:
        ctx.prepare()
        ctx.check(_gen_instance(ctx.handle, ctypes.byref(p), seed, ctypes.byref(ptr)))
    return _adopt(ptr)


def combopt_rows(family, n, m, *, dense=False, stream=0):
    """CombOptNet's hidden constraints alone (Paulus et al. 2021): A y <= b,
    A (m, n) and b (m,) float64. family 'rc' (random constraints; dense=True:
    the [-5, 5] box, else [0, 1]) or 'wsc' (weighted set cover). stream: the
    splitmix64 state the numbers are drawn from (any integer). Returns (A, b,
    stream) with the stream advanced past the draws, so the caller can
    continue it (e.g. for the costs), as `dopt demo combopt` does."""
    fam = _family_code(family)
    if fam not in (4, 5):
        raise ValueError(f"milp: combopt_rows makes 'rc' or 'wsc' rows; got {family!r}")
    n, m = int(n), int(m)
    if n < 1 or m < 1 or n * m > 10**8:
        raise ValueError(f"milp: combopt_rows needs n, m >= 1 with n x m <= 1e8; got n = {n}, m = {m}")
    state = ctypes.c_uint64(int(stream) % 2**64)
    A = np.empty((m, n))
    b = np.empty(m)
    ctx = _ctx()
    with ctx.lock:
        ctx.prepare()
        ctx.check(_gen_combopt_rows(ctx.handle, fam, n, m, 1 if dense else 0, ctypes.byref(state), A.ctypes.data,
                                    b.ctypes.data))
    return A, b, state.value


# ---- solving ----------------------------------------------------------------------------------------
_SOLVERS = {"auto": 0, "cbc": 1, "exact": 2, "highs": 3, "portfolio": 4}
_SOLVER_NAMES = {0: "auto", 1: "cbc", 2: "exact", 3: "highs", 4: "portfolio"}


def _milp_options(solver, time_limit, gap, threads, relax, verbose):
    if solver not in _SOLVERS:
        raise ValueError(f"milp: solver must be 'auto', 'highs', 'cbc', 'exact' or 'portfolio'; got {solver!r}")
    time_limit = 0.0 if time_limit is None else float(time_limit)
    gap = 0.0 if gap is None else float(gap)
    if not time_limit >= 0:
        raise ValueError(f"milp: time_limit must be >= 0 seconds (None or 0: no limit); got {time_limit}")
    if not (gap >= 0 and math.isfinite(gap)):
        raise ValueError(f"milp: gap must be a finite relative gap >= 0; got {gap}")
    threads = 0 if threads is None else int(threads)
    if not 0 <= threads <= 1024:
        raise ValueError(f"milp: threads (the solver's own) must be in [0, 1024]; got {threads}")
    opt = _Options()
    opt.solver = _SOLVERS[solver]
    opt.time_limit = time_limit
    opt.gap = gap
    opt.threads = threads
    opt.relax = 1 if relax else 0
    opt.verbose = 1 if verbose else 0
    return opt


def _instance_status(code):
    code = int(code)
    return InstanceStatus(code) if 0 <= code < len(InstanceStatus) else code


def _status_word(status):
    return _STATUS_WORDS[status] if 0 <= status < len(_STATUS_WORDS) else "unknown"


@dataclass
class Result:
    """The outcome of solve(): status (SOLVED, PRIMAL_INFEASIBLE,
    DUAL_INFEASIBLE = unbounded, ITERATION_LIMIT = time or node limit,
    NUMERICAL_FAILURE, INVALID_DATA; dopt.InstanceStatus values),
    has_solution, objective and bound (the model's sense, offset included;
    NaN when unknown; bound is the best proven bound), seconds, nodes, x
    ((n,) or None without a solution), solver ('highs', 'cbc' or 'exact': the
    backend that ran), ray ((n,) recession direction of an unbounded model
    when asked for and found, else None), gap (|objective - bound| /
    |objective|; 0 when equal, inf when objective is 0 and they differ, NaN
    without both), solver_status (the backend's own words, e.g. "HiGHS: Time
    limit reached", "Cbc: status 0, secondary 0")."""
    status: int
    has_solution: bool
    objective: float
    bound: float
    seconds: float
    nodes: int
    x: Optional[np.ndarray]
    solver: str
    ray: Optional[np.ndarray] = None
    gap: float = math.nan
    solver_status: str = ""

    @property
    def status_name(self):
        """the CLI's word: optimal, infeasible, unbounded, time_limit, numerical, invalid"""
        return _status_word(self.status)

    @property
    def optimal(self):
        return self.status == SOLVED


def _result_of(r, x, ray):
    has = bool(r.has_solution)
    return Result(status=_instance_status(r.status), has_solution=has, objective=float(r.objective) if has else math.nan,
                  bound=float(r.bound), seconds=float(r.seconds), nodes=int(r.nodes), x=x if has else None,
                  solver=_SOLVER_NAMES.get(r.solver, str(r.solver)), ray=ray if r.has_ray else None,
                  gap=float(r.gap), solver_status=r.solver_status.decode("utf-8", "replace"))


def _model_arg(model, what="model"):
    if not isinstance(model, Model):
        raise TypeError(f"milp: {what} must be a dopt.milp.Model; got {type(model).__name__}")
    return model._handle()


def solve(model, *, solver="auto", time_limit=None, gap=0.0, threads=None, relax=False, verbose=False,
          start=None, ray=False):
    """Solves one model. solver: 'auto' (HiGHS when built in, else Cbc when
    built in, else the exact solver), 'highs' or 'cbc' (dopt.Error
    UNSUPPORTED when not built in), 'exact' (all
    integer, finite bounds, n <= 256; dopt.Error UNSUPPORTED otherwise),
    'portfolio' (HiGHS and Cbc side by side: the first proof, else the
    better incumbent and the tighter bound; Result.solver names the one kept).
    time_limit: wall-clock seconds for the call (None or 0: none); gap:
    relative gap to stop at (0: prove optimality); threads: the solver's;
    relax: solve the LP relaxation; verbose: the solver's log on stdout;
    start: (n,) a MIP start; ray=True: room for a recession direction of an
    unbounded model (Result.ray). Returns a Result; outcomes are statuses."""
    handle = _model_arg(model)
    n = handle.contents.n
    opt = _milp_options(solver, time_limit, gap, threads, relax, verbose)
    if start is not None:
        start = model._point(start, "start")
        if np.isnan(start).any():
            raise ValueError("milp: start has NaN")
        opt.start = start.ctypes.data if n else None
    x = np.full(n, math.nan)
    ray_buf = np.zeros(n) if ray else None
    if ray and n:
        opt.ray = ray_buf.ctypes.data
    res = _Result()
    res.x = x.ctypes.data if n else None
    ctx = _ctx()
    with ctx.lock:
        ctx.prepare()
        ctx.check(_solve(ctx.handle, handle, ctypes.byref(opt), ctypes.byref(res)))
    return _result_of(res, x, ray_buf)


# ---- predict-and-search --------------------------------------------------------------------------------
def _search_options(delta, k0, k1, repair, solver, time_limit, gap, threads, verbose, batch_time_limit=None):
    o = _SearchOptions()
    o.milp = _milp_options(solver, time_limit, gap, threads, False, verbose)
    delta = float(delta)
    if not delta >= 0:
        raise ValueError(f"milp: delta (the Hamming radius) must be >= 0; got {delta}")
    k0, k1 = int(k0), int(k1)
    if k0 < 0 or k1 < 0 or k0 + k1 >= 2**31:
        raise ValueError(f"milp: k0 and k1 (trust-set sizes) must be >= 0; got {k0}, {k1}")
    o.delta, o.k0, o.k1, o.repair = delta, k0, k1, 1 if repair else 0
    batch_time_limit = 0.0 if batch_time_limit is None else float(batch_time_limit)
    if not batch_time_limit >= 0:
        raise ValueError(f"milp: batch_time_limit must be >= 0 seconds (None or 0: none); got {batch_time_limit}")
    o.batch_time_limit = batch_time_limit
    return o


@dataclass
class SearchResult(Result):
    """The outcome of search(): the Result fields of the last subproblem
    solved, and delta_used (its radius), trust_size (|I|), rounds
    (subproblems solved), center_violation (of the rounded prediction; 0:
    feasible), whole_model (True: the last subproblem was the whole model, so
    status is the model's own; False: status is the TRUST REGION's, SOLVED
    meaning optimal within it), call_status (dopt status of the job: 0 or
    why it could not run; only the batch calls report failures this way)."""
    delta_used: float = math.nan
    trust_size: int = 0
    rounds: int = 0
    center_violation: float = math.nan
    whole_model: bool = False
    call_status: int = 0

    @property
    def model_optimal(self):
        """True only when the model's optimum was proven (whole_model and SOLVED)"""
        return self.whole_model and self.status == SOLVED


def _search_result_of(r, x):
    base = _result_of(r.milp, x, None)
    return SearchResult(**{k: getattr(base, k) for k in base.__dataclass_fields__}, delta_used=float(r.delta_used),
                        trust_size=int(r.trust_size), rounds=int(r.rounds),
                        center_violation=float(r.center_violation), whole_model=bool(r.whole_model),
                        call_status=int(r.call_status))


def search(model, pred, *, delta=0.0, k0=0, k1=0, repair=True, solver="auto", time_limit=None, gap=0.0,
           threads=None, verbose=False):
    """Predict-and-search from one prediction pred ((n,); for binary columns
    the probability of 1): the rounded center, the trust set (k0 binaries of
    smallest p and k1 of largest; all binaries for k0 = k1 = 0), the model
    plus one Hamming-ball row of radius delta, solved by `solver`; with
    repair, delta doubles while the subproblem is infeasible. time_limit
    covers the whole search. A NaN in pred is a result status
    (INVALID_DATA), not an exception. Returns a SearchResult."""
    handle = _model_arg(model)
    pred = model._point(pred, "pred")
    opt = _search_options(delta, k0, k1, repair, solver, time_limit, gap, threads, verbose)
    n = handle.contents.n
    x = np.full(n, math.nan)
    res = _SearchResult()
    res.milp.x = x.ctypes.data if n else None
    ctx = _ctx()
    with ctx.lock:
        ctx.prepare()
        ctx.check(_search(ctx.handle, handle, pred.ctypes.data if n else _DUMMY.ctypes.data, ctypes.byref(opt),
                          ctypes.byref(res)))
    return _search_result_of(res, x)


class SearchBatchResult:
    """The results of many searches, one entry per job, as arrays: status,
    has_solution, objective (NaN without a solution), bound, gap, seconds, nodes,
    solver ('highs'/'cbc'/'exact' per job), solver_status (list of str), delta_used, trust_size, rounds,
    center_violation, whole_model, call_status (0, or the dopt status of a
    job that could not run), best_index (search_predict: the candidate
    chosen per model; else None). x: (jobs, n) with NaN rows for jobs
    without a solution when every job's model has the same n, else a list of
    (n_j,) arrays. result[j] gives job j as a SearchResult; len() the jobs."""

    def __init__(self, records, x, best_index=None):
        milp = records["milp"]
        self.status = milp["status"].astype(np.int32)
        self.has_solution = milp["has_solution"] != 0
        self.objective = np.where(self.has_solution, milp["objective"], np.nan)
        self.bound = milp["bound"].copy()
        self.gap = milp["gap"].copy()
        self.solver_status = [bytes(t).split(b"\0", 1)[0].decode("utf-8", "replace") for t in milp["solver_status"]]
        self.seconds = milp["seconds"].copy()
        self.nodes = milp["nodes"].astype(np.int64)
        self.solver = np.array(["auto", "cbc", "exact", "highs", "unknown"], dtype=object)[np.clip(milp["solver"], 0, 4)]
        self.delta_used = records["delta_used"].copy()
        self.trust_size = records["trust_size"].astype(np.int32)
        self.rounds = records["rounds"].astype(np.int32)
        self.center_violation = records["center_violation"].copy()
        self.whole_model = records["whole_model"] != 0
        self.call_status = records["call_status"].astype(np.int32)
        self.x = x
        self.best_index = best_index
        if isinstance(x, np.ndarray):
            x[~self.has_solution] = np.nan
        else:
            for j in np.flatnonzero(~self.has_solution):
                x[j][:] = np.nan

    def __len__(self):
        return self.status.size

    @property
    def model_optimal(self):
        return self.whole_model & (self.status == SOLVED)

    def __getitem__(self, j):
        j = range(len(self))[j]
        has = bool(self.has_solution[j])
        return SearchResult(status=_instance_status(self.status[j]), has_solution=has, objective=float(self.objective[j]),
                            bound=float(self.bound[j]), seconds=float(self.seconds[j]), nodes=int(self.nodes[j]),
                            x=self.x[j] if has else None, solver=self.solver[j], gap=float(self.gap[j]),
                            solver_status=self.solver_status[j],
                            delta_used=float(self.delta_used[j]), trust_size=int(self.trust_size[j]),
                            rounds=int(self.rounds[j]), center_violation=float(self.center_violation[j]),
                            whole_model=bool(self.whole_model[j]), call_status=int(self.call_status[j]))

    def __repr__(self):
        return f"<dopt.milp.SearchBatchResult jobs={len(self)} solved={int((self.status == SOLVED).sum())}>"


def _models_arg(models):
    if isinstance(models, Model):
        models = [models]
    models = list(models)
    handles = [_model_arg(model, f"models[{i}]") for i, model in enumerate(models)]
    table = (_MilpP * max(len(handles), 1))(*handles)
    return models, handles, table


def _x_buffers(sizes):
    """One float64 buffer for every job's x: (jobs, n) when the sizes agree,
    else per-job views into one flat array."""
    jobs = len(sizes)
    if jobs and all(s == sizes[0] for s in sizes):
        x = np.full((jobs, sizes[0]), math.nan)
        return x, x.ctypes.data, np.arange(jobs, dtype=np.int64) * sizes[0]
    offsets = np.zeros(jobs, dtype=np.int64)
    if jobs > 1:
        np.cumsum(sizes[:-1], out=offsets[1:])
    flat = np.full(max(int(np.sum(sizes)), 1), math.nan)
    return [flat[o:o + s] for o, s in zip(offsets, sizes)], flat.ctypes.data, offsets


def _set_workers(ctx, workers):
    if workers is not None:
        workers = int(workers)
        if workers < 0:
            raise ValueError(f"milp: workers must be >= 0 (0: every processor); got {workers}")
        ctx.check(_lib._context_set_threads(ctx.handle, workers))
        ctx._threads = workers  # the next prepare() restores dopt.set_num_threads's value


def search_batch(models, preds, *, model_of=None, delta=0.0, k0=0, k1=0, repair=True, solver="auto",
                 time_limit=None, gap=0.0, threads=None, verbose=False, workers=None, batch_time_limit=None):
    """Many searches in one call, on the library's CPU threads (workers: how
    many, default dopt.set_num_threads's; HiGHS and exact jobs run side by
    side, one HiGHS instance each; Cbc jobs in a child process each under a time limit, else one at a time). Job j searches
    models[model_of[j]] from preds[j].

    models: a Model or a sequence of Models. preds: (jobs, n) when every job's
    model has n columns, or a sequence of (n_j,) vectors. model_of: (jobs,)
    indices into models; default: job j -> model j (then jobs = len(models)),
    or every job on the one model when a single Model is given (K candidates
    of one instance). Options as search(); time_limit is per job;
    batch_time_limit: wall-clock seconds for the whole call (None or 0:
    none): each job gets at most what is left, and a job that starts with
    none left reports ITERATION_LIMIT unsolved. Every job is
    attempted; a job that cannot run has its call_status set, and the call
    raises dopt.Error ("job J: ...") only then. Returns a SearchBatchResult."""
    models, handles, table = _models_arg(models)
    if _arrays.is_tensor(preds) or isinstance(preds, np.ndarray):
        preds = _host(preds, "preds")
        if preds.ndim != 2:
            raise ValueError(f"milp: preds must be (jobs, n) or a sequence of vectors; got shape {preds.shape}")
        rows = None
        jobs = preds.shape[0]
    else:
        rows = [_host(p, f"preds[{j}]") for j, p in enumerate(preds)]
        jobs = len(rows)
    if model_of is None:
        if len(models) == 1:
            model_of = np.zeros(jobs, dtype=np.int64)
        elif jobs == len(models):
            model_of = np.arange(jobs, dtype=np.int64)
        else:
            raise ValueError(f"milp: {jobs} predictions for {len(models)} models: give model_of (job -> model)")
    else:
        model_of = _host(model_of, "model_of", np.int64)
        if model_of.shape != (jobs,):
            raise ValueError(f"milp: model_of must have one entry per job ({jobs},); got {model_of.shape}")
        if jobs and (model_of.min() < 0 or model_of.max() >= len(models)):
            raise ValueError(f"milp: model_of entries must be in [0, {len(models)})")
    sizes = np.array([h.contents.n for h in handles], dtype=np.int64)[model_of] if jobs else np.zeros(0, np.int64)
    if rows is None:
        if jobs and (sizes != preds.shape[1]).any():
            j = int(np.flatnonzero(sizes != preds.shape[1])[0])
            raise ValueError(f"milp: preds has {preds.shape[1]} columns but job {j}'s model has n = {sizes[j]}")
        flat, pred_offset = preds, np.arange(jobs, dtype=np.int64) * preds.shape[1]
    else:
        for j, row in enumerate(rows):
            if row.shape != (sizes[j],):
                raise ValueError(f"milp: preds[{j}] must have shape ({sizes[j]},) for model {int(model_of[j])}; "
                                 f"got {row.shape}")
        flat = np.concatenate(rows) if rows else np.zeros(0)
        pred_offset = np.zeros(jobs, dtype=np.int64)
        if jobs > 1:
            np.cumsum(sizes[:-1], out=pred_offset[1:])
    opt = _search_options(delta, k0, k1, repair, solver, time_limit, gap, threads, verbose, batch_time_limit)
    x, x_address, x_offset = _x_buffers(list(sizes))
    res = (_SearchResult * max(jobs, 1))()
    records = np.frombuffer(res, dtype=_SEARCH_RESULT_DTYPE, count=max(jobs, 1))
    records["milp"]["x"][:jobs] = np.where(sizes > 0, x_address + 8 * x_offset, 0).astype(np.uintp) \
        if jobs else []
    flat_ptr = flat.ctypes.data if flat.size else _DUMMY.ctypes.data  # the call wants non-NULL arrays
    ctx = _ctx()
    with ctx.lock:
        ctx.prepare()
        _set_workers(ctx, workers)
        status = _search_batch(ctx.handle, table, jobs, model_of.ctypes.data, flat_ptr, pred_offset.ctypes.data,
                               ctypes.byref(opt), res)
        message = ctx.last_error() if status != _lib.OK else ""
    result = SearchBatchResult(records[:jobs], x)
    if status != _lib.OK:
        error = _lib.Error(status, message)
        error.result = result  # every job was attempted: the others' outcomes
        raise error
    return result


def search_predict(models, predict, *, candidates=1, delta=0.0, k0=0, k1=0, repair=True, solver="auto",
                   time_limit=None, gap=0.0, threads=None, verbose=False, workers=None, batch_time_limit=None):
    """Predict-and-search over many models with a predictor in the loop (SRG's
    search step): predict(index, model, candidates) returns `candidates`
    predictions for models[index] ((candidates, n), or (n,) when candidates
    is 1); it is called from the calling thread, one model at a time (it may
    run a network, or call dopt itself). Every candidate of every model is
    searched in one batch; per model, the best candidate's result. Returns a
    SearchBatchResult with one entry per model and best_index (which
    candidate). An exception in predict is re-raised (no search runs).
    batch_time_limit as search_batch()'s (the searches' share of the call)."""
    models, handles, table = _models_arg(models)
    count = len(models)
    candidates = int(candidates)
    if candidates < 1:
        raise ValueError(f"milp: candidates must be >= 1; got {candidates}")
    if not callable(predict):
        raise TypeError("milp: predict must be callable as predict(index, model, candidates)")
    opt = _search_options(delta, k0, k1, repair, solver, time_limit, gap, threads, verbose, batch_time_limit)
    failure = []

    def callback(_user, index, _model, k, out):
        try:
            model = models[index]
            n = model.n
            values = _host(predict(int(index), model, int(k)), "the prediction")
            if values.shape not in ((k, n),) + (((n,),) if k == 1 else ()):
                raise ValueError(f"milp: predict(index={index}) must return shape ({k}, {n})"
                                 f"{f' or ({n},)' if k == 1 else ''}; got {values.shape}")
            if values.size:
                ctypes.memmove(out, values.ctypes.data, values.nbytes)
            return 0
        except BaseException as exc:  # reported after the call (ctypes would print and continue)
            failure.append(exc)
            return 1

    sizes = [h.contents.n for h in handles]
    x, x_address, x_offset = _x_buffers(sizes)
    best = (_SearchResult * max(count, 1))()
    records = np.frombuffer(best, dtype=_SEARCH_RESULT_DTYPE, count=max(count, 1))
    if count:
        records["milp"]["x"][:count] = np.where(np.array(sizes) > 0, x_address + 8 * x_offset, 0).astype(np.uintp)
    best_index = np.zeros(max(count, 1), dtype=np.int32)
    c_callback = _PREDICT_FN(callback)
    # A context of its own: the predictor may call dopt (this thread's context
    # would be locked by this call).
    ctx = _lib.Context(_lib.BACKEND_CPU)
    with ctx.lock:
        ctx.prepare()
        _set_workers(ctx, workers)
        status = _search_predict(ctx.handle, table, count, candidates, c_callback, None, ctypes.byref(opt), best,
                                 best_index.ctypes.data)
        message = ctx.last_error() if status != _lib.OK else ""
    if failure:
        raise failure[0]
    if status != _lib.OK:
        raise _lib.Error(status, message)
    return SearchBatchResult(records[:count], x, best_index[:count])


# ---- binary form -----------------------------------------------------------------------------------
class BinaryForm(NamedTuple):
    """A binary model as one-sided CSR rows (dopt_milp_binary_form), numpy
    copies: A x <= b (sense 'le', the Bernoulli surrogate) or A x >= b ('ge',
    SRG's guidance and candidates); minimize c'x (negated for a maximization;
    the offset dropped). row_ptr (m + 1,) int64, col_idx int32, values, b (m,),
    c (n,)."""
    row_ptr: np.ndarray
    col_idx: np.ndarray
    values: np.ndarray
    b: np.ndarray
    c: np.ndarray
    n: int
    m: int

    def dense(self):
        """A as a dense (m, n) array"""
        out = np.zeros((self.m, self.n))
        rows = np.repeat(np.arange(self.m), np.diff(self.row_ptr))
        out[rows, self.col_idx] = self.values
        return out

    def scipy(self):
        """A as a scipy.sparse.csr_array (needs scipy)"""
        import scipy.sparse
        return scipy.sparse.csr_array((self.values, self.col_idx, self.row_ptr), shape=(self.m, self.n))


_SENSES = {"le": 0, "<=": 0, "ge": 1, ">=": 1}


def to_binary_form(model, sense="le"):
    """Each finite side of each row of a binary model as one row of A x <= b
    (sense 'le') or A x >= b ('ge'), and c to minimize. Every column must be
    binary: dopt.Error UNSUPPORTED otherwise. Returns a BinaryForm."""
    handle = _model_arg(model)
    if sense not in _SENSES:
        raise ValueError(f"milp: sense must be 'le' (A x <= b) or 'ge' (A x >= b); got {sense!r}")
    form = _BinaryForm()
    ctx = _ctx()
    with ctx.lock:
        ctx.prepare()
        ctx.check(_to_binary_form(ctx.handle, handle, _SENSES[sense], ctypes.byref(form)))
    try:
        n, m = form.n, form.m
        nnz = form.row_ptr[m] if form.row_ptr else 0

        def take(ptr, size, dtype):
            if size == 0 or not ptr:
                return np.zeros(0, dtype=dtype)
            return np.ctypeslib.as_array(ptr, shape=(size,)).astype(dtype, copy=True)

        return BinaryForm(take(form.row_ptr, m + 1, np.int64) if m + 1 else np.zeros(1, np.int64),
                          take(form.col_idx, nnz, np.int32), take(form.values, nnz, np.float64),
                          take(form.b, m, np.float64), take(form.c, n, np.float64), n, m)
    finally:
        _binary_form_free(ctypes.byref(form))
