"""Heterogeneous batches of MILP graphs in the block-diagonal layout of
PyTorch Geometric, which dopt's block (ragged) Bernoulli and diffusion
calls take:

    var_ptr (B+1,) int64   instance i owns variables [var_ptr[i], var_ptr[i+1])
    con_ptr (B+1,) int64   and constraint rows [con_ptr[i], con_ptr[i+1])
    row_ptr (M+1,) int64   one CSR matrix over all rows, absolute offsets
    col_idx (nnz,) int32   GLOBAL variable indices; a row never leaves its instance
    values  (nnz,)         coefficients of  A x <= b  (or >= for sense 'ge')
    b (M,), c (N,)         right-hand sides, minimization costs

A GraphBatch adds the node and edge features of dopt.learn.features and
edge_index (2, nnz) [constraint, variable] (global) for message passing.
Arrays are numpy on the host; GraphBatch.to_torch() makes a copy with torch
tensors on a device.
"""

from dataclasses import dataclass, fields, replace
from typing import List, Optional, Tuple

import numpy as np

from .. import milp as _milp
from .features import InstanceGraph, instance_graph

__all__ = ["BlockBatch", "GraphBatch", "batch_graphs", "binary_batch", "ptr_from_sizes", "select_instances"]


def ptr_from_sizes(sizes):
    """(B+1,) int64 offsets 0, s0, s0+s1, ... from B sizes."""
    sizes = np.asarray(sizes, dtype=np.int64).reshape(-1)
    if (sizes < 0).any():
        raise ValueError(f"learn: sizes must be >= 0; entry {int(np.flatnonzero(sizes < 0)[0])} is negative")
    ptr = np.zeros(sizes.size + 1, dtype=np.int64)
    np.cumsum(sizes, out=ptr[1:])
    return ptr


def _as_numpy(a):
    if hasattr(a, "detach"):  # a torch tensor
        return a.detach().cpu().numpy()
    return np.asarray(a)


@dataclass
class BlockBatch:
    """B instances' one-sided rows as one block-diagonal CSR (see the module
    docstring). sense: 'le' (A x <= b) or 'ge' (A x >= b). Arrays are numpy,
    or torch tensors after GraphBatch.to_torch()."""
    var_ptr: "np.ndarray"
    con_ptr: "np.ndarray"
    row_ptr: "np.ndarray"
    col_idx: "np.ndarray"
    values: "np.ndarray"
    b: "np.ndarray"
    c: "np.ndarray"
    sense: str = "le"

    @property
    def batch_size(self):
        return int(self.var_ptr.shape[0]) - 1

    @property
    def num_vars(self):
        return int(self.var_ptr[-1])

    @property
    def num_cons(self):
        return int(self.con_ptr[-1])

    @property
    def A(self):
        """(row_ptr, col_idx, values): the CSR tuple dopt.bern's block calls
        take, e.g. dopt.bern.evaluate_blocks(xhat, batch.var_ptr, batch.A,
        batch.b, batch.c, con_ptr=batch.con_ptr)."""
        return self.row_ptr, self.col_idx, self.values

    @property
    def edge_ptr(self):
        """(B+1,) int64: instance i's entries are [edge_ptr[i], edge_ptr[i+1])
        of col_idx / values (row_ptr at the instances' row boundaries)."""
        return _as_numpy(self.row_ptr)[_as_numpy(self.con_ptr)].astype(np.int64)

    def var_batch(self):
        """(N,) int64: the instance of each variable (PyG's `batch` vector)."""
        return np.repeat(np.arange(self.batch_size, dtype=np.int64), np.diff(_as_numpy(self.var_ptr)))

    def con_batch(self):
        """(M,) int64: the instance of each constraint row."""
        return np.repeat(np.arange(self.batch_size, dtype=np.int64), np.diff(_as_numpy(self.con_ptr)))

    def split_vars(self, x):
        """A per-variable array (N, ...) as the list of the B instances' parts
        (views; works for numpy arrays and torch tensors)."""
        return _split(x, self.var_ptr, self.num_vars, "variables")

    def split_cons(self, y):
        """A per-row array (M, ...) as the list of the B instances' parts."""
        return _split(y, self.con_ptr, self.num_cons, "rows")

    def instance(self, i):
        """Instance i's own matrix, back in LOCAL indices (numpy copies):
        (row_ptr (m_i+1,) from 0, col_idx (nnz_i,) int32 local, values, b
        (m_i,), c (n_i,))."""
        i = range(self.batch_size)[i]
        var_ptr, con_ptr = _as_numpy(self.var_ptr), _as_numpy(self.con_ptr)
        row_ptr = _as_numpy(self.row_ptr)
        r0, r1 = int(con_ptr[i]), int(con_ptr[i + 1])
        e0, e1 = int(row_ptr[r0]), int(row_ptr[r1])
        local_ptr = (row_ptr[r0:r1 + 1] - e0).astype(np.int64)
        col = (_as_numpy(self.col_idx)[e0:e1].astype(np.int64) - int(var_ptr[i])).astype(np.int32)
        return (local_ptr, col, _as_numpy(self.values)[e0:e1].copy(), _as_numpy(self.b)[r0:r1].copy(),
                _as_numpy(self.c)[int(var_ptr[i]):int(var_ptr[i + 1])].copy())

    def dense(self, i):
        """Instance i's A as a dense (m_i, n_i) numpy array."""
        local_ptr, col, values, b, c = self.instance(i)
        out = np.zeros((b.size, c.size))
        out[np.repeat(np.arange(b.size), np.diff(local_ptr)), col] = values
        return out

    def to_torch(self, device=None, dtype=None):
        """A copy with torch tensors on device: values, b, c (and a
        GraphBatch's features) in dtype (default torch.float32), the index
        arrays int64 except col_idx (int32, as the block calls take it),
        integer/binary bool."""
        import torch
        dtype = torch.float32 if dtype is None else dtype
        floats = {"var_features", "con_features", "edge_features", "values", "b", "c"}
        ints = {"var_ptr", "con_ptr", "row_ptr", "edge_index"}
        converted = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in floats:
                converted[f.name] = torch.as_tensor(_as_numpy(value), dtype=dtype, device=device)
            elif f.name in ints:
                converted[f.name] = torch.as_tensor(_as_numpy(value), dtype=torch.int64, device=device)
            elif f.name == "col_idx":
                converted[f.name] = torch.as_tensor(_as_numpy(value), dtype=torch.int32, device=device)
            elif f.name in ("integer", "binary"):
                converted[f.name] = torch.as_tensor(_as_numpy(value), dtype=torch.bool, device=device)
        return replace(self, **converted)

    def numpy(self):
        """A copy with numpy arrays (undoes to_torch)."""
        converted = {f.name: _as_numpy(getattr(self, f.name)) for f in fields(self)
                     if hasattr(getattr(self, f.name), "detach")}
        return replace(self, **converted)


def _split(x, ptr, total, what):
    if int(x.shape[0]) != total:
        raise ValueError(f"learn: expected {total} {what} along the first dimension; got shape {tuple(x.shape)}")
    bounds = [int(v) for v in _as_numpy(ptr)]
    return [x[bounds[i]:bounds[i + 1]] for i in range(len(bounds) - 1)]


@dataclass
class GraphBatch(BlockBatch):
    """A BlockBatch of one-sided  A x <= b  rows plus the graph of every
    instance (dopt.learn.features), concatenated:

    var_features (N, dv), con_features (M, dc), edge_features (nnz, 1);
    edge_index (2, nnz) int64: [global constraint row, global variable],
    the entries of the CSR in order (edge k is values[k]);
    integer, binary (N,) bool; names: the models' names.
    For binary models the CSR part equals binary_batch(models, 'le')."""
    var_features: "np.ndarray" = None
    con_features: "np.ndarray" = None
    edge_features: "np.ndarray" = None
    edge_index: "np.ndarray" = None
    integer: "np.ndarray" = None
    binary: "np.ndarray" = None
    var_feature_names: Tuple[str, ...] = ()
    con_feature_names: Tuple[str, ...] = ()
    names: Optional[List[Optional[str]]] = None

def _concat(parts, dtype, width=None):
    if parts:
        return np.concatenate([np.asarray(p, dtype=dtype) for p in parts])
    return np.zeros((0,) if width is None else (0, width), dtype=dtype)


def _block_arrays(var_sizes, con_sizes, row_ptrs, col_idxs, values, bs, cs):
    """The concatenated block CSR of per-instance local CSRs."""
    var_ptr = ptr_from_sizes(var_sizes)
    con_ptr = ptr_from_sizes(con_sizes)
    nnz = [int(p[-1]) for p in row_ptrs]
    edge_ptr = ptr_from_sizes(nnz)
    total_rows = int(con_ptr[-1])
    row_ptr = np.zeros(total_rows + 1, dtype=np.int64)
    for i, p in enumerate(row_ptrs):
        row_ptr[con_ptr[i]:con_ptr[i + 1] + 1] = np.asarray(p, dtype=np.int64) + edge_ptr[i]
    col_shift = np.repeat(var_ptr[:-1], nnz)
    col_idx = _concat(col_idxs, np.int64) + col_shift
    if col_idx.size and col_idx.max() > np.iinfo(np.int32).max:
        raise ValueError(f"learn: {int(var_ptr[-1])} variables in one batch: global column indices exceed int32 "
                         "(split the batch)")
    return (var_ptr, con_ptr, row_ptr, col_idx.astype(np.int32), _concat(values, np.float64), _concat(bs, np.float64),
            _concat(cs, np.float64))


def batch_graphs(items, *, lp=False, tol=None):
    """One GraphBatch from a sequence of InstanceGraphs or dopt.milp.Models
    (a Model is turned into its graph with instance_graph(model, lp=lp); tol
    as there), in the given order. Every graph must have the same feature
    columns (all with LP features or none): ValueError naming the instance
    otherwise."""
    if isinstance(items, (InstanceGraph, _milp.Model)):
        items = [items]
    graphs = []
    for i, item in enumerate(items):
        if isinstance(item, InstanceGraph):
            graphs.append(item)
        elif isinstance(item, _milp.Model):
            kwargs = {} if tol is None else {"tol": tol}
            graphs.append(instance_graph(item, lp=lp, **kwargs))
        else:
            raise TypeError(f"learn: batch_graphs item {i} must be an InstanceGraph or a dopt.milp.Model; got "
                            f"{type(item).__name__}")
    var_names = graphs[0].var_feature_names if graphs else ()
    con_names = graphs[0].con_feature_names if graphs else ()
    for i, g in enumerate(graphs):
        if g.var_feature_names != var_names or g.con_feature_names != con_names:
            raise ValueError(f"learn: instance {i} has feature columns {g.var_feature_names} / {g.con_feature_names}; "
                             f"instance 0 has {var_names} / {con_names} (build every graph with the same lp flag)")
    var_ptr, con_ptr, row_ptr, col_idx, values, b, c = _block_arrays(
        [g.n for g in graphs], [g.m for g in graphs], [g.row_ptr for g in graphs], [g.col_idx for g in graphs],
        [g.values for g in graphs], [g.b for g in graphs], [g.c for g in graphs])
    edge_rows = np.repeat(np.arange(int(con_ptr[-1]), dtype=np.int64), np.diff(row_ptr))
    return GraphBatch(var_ptr=var_ptr, con_ptr=con_ptr, row_ptr=row_ptr, col_idx=col_idx, values=values, b=b, c=c,
                      sense="le",
                      var_features=_concat([g.var_features for g in graphs], np.float64, len(var_names)),
                      con_features=_concat([g.con_features for g in graphs], np.float64, len(con_names)),
                      edge_features=_concat([g.edge_features for g in graphs], np.float64, 1),
                      edge_index=np.stack([edge_rows, col_idx.astype(np.int64)]),
                      integer=_concat([g.integer for g in graphs], bool),
                      binary=_concat([g.binary for g in graphs], bool),
                      var_feature_names=tuple(var_names), con_feature_names=tuple(con_names),
                      names=[g.name for g in graphs])


def binary_batch(models, sense="le"):
    """dopt.milp.to_binary_form of every model (all columns binary), as one
    BlockBatch: each finite side of each row one row of A x <= b (sense
    'le', the Bernoulli surrogate) or A x >= b ('ge', SRG's guidance), c to
    minimize. A model with a non-binary column raises dopt.Error
    (UNSUPPORTED) from to_binary_form, with the instance named in a note."""
    if isinstance(models, _milp.Model):
        models = [models]
    forms = []
    for i, model in enumerate(models):
        if not isinstance(model, _milp.Model):
            raise TypeError(f"learn: binary_batch item {i} must be a dopt.milp.Model; got {type(model).__name__}")
        try:
            forms.append(_milp.to_binary_form(model, sense))
        except Exception as exc:
            if hasattr(exc, "add_note"):
                exc.add_note(f"learn.binary_batch: instance {i} ({model.name or 'unnamed'})")
            raise
    var_ptr, con_ptr, row_ptr, col_idx, values, b, c = _block_arrays(
        [f.n for f in forms], [f.m for f in forms], [f.row_ptr for f in forms], [f.col_idx for f in forms],
        [f.values for f in forms], [f.b for f in forms], [f.c for f in forms])
    return BlockBatch(var_ptr=var_ptr, con_ptr=con_ptr, row_ptr=row_ptr, col_idx=col_idx, values=values, b=b, c=c,
                      sense="ge" if sense in ("ge", ">=") else "le")


def _ranges(starts, lengths):
    """The concatenation of range(starts[k], starts[k] + lengths[k]) for all k
    (int64), without a Python loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    offsets = np.repeat(np.asarray(starts, dtype=np.int64) - (np.cumsum(lengths) - lengths), lengths)
    return offsets + np.arange(total, dtype=np.int64)


def select_instances(batch, indices):
    """The batch of instances `indices` (in that order; repeats allowed) of a
    BlockBatch or GraphBatch (numpy arrays), as batch_graphs / binary_batch
    of those instances would build it, with vectorized gathers only (no
    loop over instances): build one batch of a whole data set once, then
    draw mini-batches from it."""
    batch = batch.numpy()
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    B = batch.batch_size
    if idx.size and (idx.min() < -B or idx.max() >= B):
        raise IndexError(f"learn: instance indices must be in [0, {B}); got {idx.min()}..{idx.max()}")
    idx = np.where(idx < 0, idx + B, idx)
    var_ptr, con_ptr = np.asarray(batch.var_ptr, np.int64), np.asarray(batch.con_ptr, np.int64)
    row_ptr = np.asarray(batch.row_ptr, np.int64)
    edge_ptr = row_ptr[con_ptr]
    var_sizes, con_sizes, edge_sizes = (np.diff(p)[idx] for p in (var_ptr, con_ptr, edge_ptr))
    var_take = _ranges(var_ptr[idx], var_sizes)
    con_take = _ranges(con_ptr[idx], con_sizes)
    edge_take = _ranges(edge_ptr[idx], edge_sizes)
    new_var_ptr, new_con_ptr = ptr_from_sizes(var_sizes), ptr_from_sizes(con_sizes)
    new_row_ptr = ptr_from_sizes(np.diff(row_ptr)[con_take])
    # global column: local column (old global - old base) + new base
    shift = np.repeat(new_var_ptr[:-1] - var_ptr[idx], edge_sizes)
    col_idx = (np.asarray(batch.col_idx, np.int64)[edge_take] + shift).astype(np.int32)
    common = dict(var_ptr=new_var_ptr, con_ptr=new_con_ptr, row_ptr=new_row_ptr, col_idx=col_idx,
                  values=np.asarray(batch.values)[edge_take], b=np.asarray(batch.b)[con_take],
                  c=np.asarray(batch.c)[var_take])
    if not isinstance(batch, GraphBatch):
        return replace(batch, **common)
    edge_rows = np.repeat(np.arange(int(new_con_ptr[-1]), dtype=np.int64), np.diff(new_row_ptr))
    return replace(batch, **common, var_features=batch.var_features[var_take],
                   con_features=batch.con_features[con_take], edge_features=batch.edge_features[edge_take],
                   edge_index=np.stack([edge_rows, col_idx.astype(np.int64)]), integer=batch.integer[var_take],
                   binary=batch.binary[var_take],
                   names=None if batch.names is None else [batch.names[int(i)] for i in idx])

