"""A MILP as the bipartite variable-constraint graph of Gasse et al. 2019
("Exact Combinatorial Optimization with Graph Convolutional Neural
Networks", NeurIPS 2019), with the features of their Table 1 that need no
solver's internal state, plus LP-relaxation features on request.

One constraint node per ONE-SIDED row  a'x <= b:  a row lo <= a'x <= hi gives
the node  -a'x <= -lo  when lo is finite, then the node  a'x <= hi  when hi is
finite (an equality gives both; a free row gives none). That is the order and
the sign of dopt.milp.to_binary_form(model, 'le'), so for a binary model the
graph's rows ARE the rows the Bernoulli surrogate takes. The objective is
always the minimization one (c negated for a maximization; the offset
dropped), as in a solver's transformed problem.

The exact columns and their normalization are in VAR_FEATURES,
VAR_LP_FEATURES, CON_FEATURES, CON_LP_FEATURES, EDGE_FEATURES and
docs/LEARN.md. numpy only: nothing here needs torch.
"""

import math
from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np

from .. import milp as _milp

__all__ = ["InstanceGraph", "instance_graph", "VAR_FEATURES", "VAR_LP_FEATURES", "CON_FEATURES", "CON_LP_FEATURES",
           "EDGE_FEATURES", "DEFAULT_TOL"]

# Column names, in column order. The LP columns follow the static ones when
# instance_graph(..., lp=True).
VAR_FEATURES = (
    "is_binary",      # integer with bounds [0, 1] (Model.binary)
    "is_integer",     # integer, not binary
    "is_continuous",  # not integer
    "obj_coef",       # c_j / ||c||_2 (minimization form; ||c|| = 0 -> 1)
    "has_lb",         # col_lo finite
    "has_ub",         # col_hi finite
)
VAR_LP_FEATURES = (
    "sol_val",        # x*_j of the LP relaxation (raw, as in the paper)
    "sol_frac",       # f = x*_j - floor(x*_j + tol); 0 when f <= tol or the column is continuous
    "sol_is_at_lb",   # |x*_j - lo_j| <= tol * max(1, |lo_j|), lo_j finite
    "sol_is_at_ub",   # |x*_j - hi_j| <= tol * max(1, |hi_j|), hi_j finite
)
CON_FEATURES = (
    "obj_cos_sim",    # a'c / (||a|| ||c||) of the one-sided row a'x <= b (0 when either is 0)
    "bias",           # b / ||a||  (||a|| = 0 -> 1)
)
CON_LP_FEATURES = (
    "is_tight",       # |a'x* - b| <= tol * max(1, |b|)
)
EDGE_FEATURES = (
    "coef",           # a_ij / ||a|| of the one-sided row
)

DEFAULT_TOL = 1e-6  # SCIP's default feasibility tolerance, used for the LP indicators


@dataclass
class InstanceGraph:
    """One MILP as a bipartite graph (host numpy arrays).

    Sizes: n variables, m constraint nodes (one-sided rows), nnz edges.
    var_features (n, len(var_feature_names)) float64; con_features
    (m, len(con_feature_names)); edge_features (nnz, 1).
    edge_index (2, nnz) int64: row 0 the constraint node, row 1 the variable
    (local indices; the edges in CSR order: by constraint node, then column).
    The one-sided rows as CSR, raw (unnormalized) coefficients: A x <= b with
    row_ptr (m + 1,) int64, col_idx (nnz,) int32, values (nnz,) float64,
    b (m,); c (n,) the minimization objective. row_of (m,) int64: the
    model's row each node comes from; row_sign (m,) int8: -1 for a node from
    the row's lower side (-a'x <= -lo), +1 for its upper side.
    integer, binary (n,) bool; col_lo, col_hi (n,) the bounds.
    lp_solution (n,) the LP relaxation's x when the LP features were asked
    for, else None. name: the model's name (or None).
    """
    n: int
    m: int
    var_features: np.ndarray
    con_features: np.ndarray
    edge_features: np.ndarray
    edge_index: np.ndarray
    row_ptr: np.ndarray
    col_idx: np.ndarray
    values: np.ndarray
    b: np.ndarray
    c: np.ndarray
    row_of: np.ndarray
    row_sign: np.ndarray
    integer: np.ndarray
    binary: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    var_feature_names: Tuple[str, ...] = VAR_FEATURES
    con_feature_names: Tuple[str, ...] = CON_FEATURES
    edge_feature_names: Tuple[str, ...] = EDGE_FEATURES
    lp_solution: Optional[np.ndarray] = None
    name: Optional[str] = field(default=None)

    @property
    def nnz(self):
        return int(self.values.size)

    def dense(self):
        """The one-sided rows' A as a dense (m, n) array."""
        out = np.zeros((self.m, self.n))
        out[self.edge_index[0], self.edge_index[1]] = self.values
        return out

    def to_pyg(self):
        """This graph as a torch_geometric HeteroData (needs torch and
        torch_geometric): node types 'var' (x = var_features) and 'con'
        (x = con_features), edge type ('con', 'to', 'var') with edge_index
        and edge_attr, float32. torch_geometric.data.Batch.from_data_list
        batches them; BipartiteGCN takes the result."""
        import torch
        from torch_geometric.data import HeteroData
        data = HeteroData()
        data["var"].x = torch.as_tensor(self.var_features, dtype=torch.float32)
        data["con"].x = torch.as_tensor(self.con_features, dtype=torch.float32)
        data["con", "to", "var"].edge_index = torch.as_tensor(self.edge_index, dtype=torch.int64)
        data["con", "to", "var"].edge_attr = torch.as_tensor(self.edge_features, dtype=torch.float32)
        return data


def _one_sided_rows(model):
    """The model's rows split into one-sided  a'x <= b  rows, in
    to_binary_form's order (row by row; the lower side, then the upper).
    Returns (row_of, sign, bound, row_ptr, col_idx, values, row_norm_of_node),
    values already multiplied by the node's sign."""
    indptr, indices, data = model.csr()
    row_lo, row_hi = model.row_lo, model.row_hi
    m = model.m
    # (m, 2) candidate sides: column 0 the lower side, column 1 the upper;
    # flattening row-major gives row i's lower side before its upper side.
    finite = np.stack([np.isfinite(row_lo), np.isfinite(row_hi)], axis=1)
    candidates_row = np.repeat(np.arange(m, dtype=np.int64), 2)
    candidates_sign = np.tile(np.array([-1, 1], dtype=np.int8), m)
    keep = finite.ravel()
    row_of = candidates_row[keep]
    sign = candidates_sign[keep]
    bound = np.where(sign < 0, row_lo[row_of], row_hi[row_of]) * sign

    lengths = np.diff(indptr)[row_of]
    row_ptr = np.zeros(row_of.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=row_ptr[1:])
    # positions in the model's CSR of every entry of every node: the node's
    # start there plus 0, 1, ... within the node
    within = np.arange(row_ptr[-1], dtype=np.int64) - np.repeat(row_ptr[:-1], lengths)
    source = np.repeat(indptr[:-1][row_of], lengths) + within
    col_idx = indices[source].astype(np.int32)
    values = data[source] * np.repeat(sign, lengths)

    norms = np.sqrt(np.bincount(np.repeat(np.arange(m), np.diff(indptr)), weights=data * data, minlength=m))
    return row_of, sign, bound, row_ptr, col_idx, values, norms[row_of]


def _lp_point(model, lp_solution):
    """x* of the LP relaxation: the one given, or dopt.milp.solve(relax=True)."""
    if lp_solution is not None:
        x = np.asarray(lp_solution, dtype=np.float64)
        if x.shape != (model.n,):
            raise ValueError(f"learn: lp_solution must have shape ({model.n},); got {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError(f"learn: lp_solution must be finite; entry {int(np.flatnonzero(~np.isfinite(x))[0])} "
                             f"is {x[~np.isfinite(x)][0]}")
        return x
    if not _milp.have_cbc():
        raise RuntimeError("learn: LP features need the LP relaxation, and this libdopt has no LP solver (built "
                           "without COIN-OR Cbc/Clp): pass lp_solution= or use lp=False")
    result = _milp.solve(model, relax=True)
    if not result.has_solution or result.status != _milp.SOLVED:
        raise ValueError(f"learn: the LP relaxation of model {model.name or '(unnamed)'} has no optimal solution "
                         f"(status {result.status_name}); its LP features are undefined (use lp=False)")
    return result.x


def instance_graph(model, *, lp=False, lp_solution=None, tol=DEFAULT_TOL):
    """The bipartite graph of a dopt.milp.Model with the features of
    VAR_FEATURES, CON_FEATURES and EDGE_FEATURES (docs/LEARN.md).

    lp=True appends VAR_LP_FEATURES and CON_LP_FEATURES computed from the LP
    relaxation's solution: lp_solution ((n,), e.g. a cached one) when given,
    else dopt.milp.solve(model, relax=True) (needs the Cbc/Clp backend:
    RuntimeError without it; ValueError when the relaxation has no optimal
    solution). tol: the tolerance of the LP indicator features. Returns an
    InstanceGraph."""
    if not isinstance(model, _milp.Model):
        raise TypeError(f"learn: instance_graph takes a dopt.milp.Model; got {type(model).__name__}")
    tol = float(tol)
    if not (tol >= 0 and math.isfinite(tol)):
        raise ValueError(f"learn: tol must be finite and >= 0; got {tol}")
    if lp_solution is not None and not lp:
        raise ValueError("learn: lp_solution given with lp=False (pass lp=True to use it)")
    n = model.n
    c = model.c.copy()
    if model.maximize:
        c = -c
    obj_norm = float(np.linalg.norm(c))
    obj_scale = obj_norm if obj_norm > 0 else 1.0
    integer = model.integer.copy()
    binary = model.binary
    col_lo, col_hi = model.col_lo.copy(), model.col_hi.copy()

    row_of, sign, bound, row_ptr, col_idx, values, node_norm = _one_sided_rows(model)
    m = row_of.size
    row_scale = np.where(node_norm > 0, node_norm, 1.0)
    lengths = np.diff(row_ptr)
    node_of_edge = np.repeat(np.arange(m, dtype=np.int64), lengths)
    dot_c = np.bincount(node_of_edge, weights=values * c[col_idx], minlength=m) if m else np.zeros(0)
    denominator = node_norm * obj_norm
    cos_sim = np.divide(dot_c, denominator, out=np.zeros(m), where=denominator > 0)

    var_columns = [binary, integer & ~binary, ~integer, c / obj_scale, np.isfinite(col_lo), np.isfinite(col_hi)]
    con_columns = [cos_sim, bound / row_scale]
    var_names, con_names = VAR_FEATURES, CON_FEATURES
    x_lp = None
    if lp:
        x_lp = _lp_point(model, lp_solution).copy()
        # fractional part, counted from the integer x* is within tol of (SCIP's
        # feasible floor), and 0 when x* is that close to an integer
        frac = x_lp - np.floor(x_lp + tol)
        frac = np.where(integer & (frac > tol), frac, 0.0)

        def close(a, target):
            with np.errstate(invalid="ignore"):
                return np.isfinite(target) & (np.abs(a - target) <= tol * np.maximum(1.0, np.abs(target)))

        activity = np.bincount(node_of_edge, weights=values * x_lp[col_idx], minlength=m) if m else np.zeros(0)
        var_columns += [x_lp, frac, close(x_lp, col_lo), close(x_lp, col_hi)]
        con_columns += [close(activity, bound)]
        var_names, con_names = VAR_FEATURES + VAR_LP_FEATURES, CON_FEATURES + CON_LP_FEATURES

    var_features = np.column_stack([np.asarray(col, dtype=np.float64) for col in var_columns]) if n else \
        np.zeros((0, len(var_names)))
    con_features = np.column_stack([np.asarray(col, dtype=np.float64) for col in con_columns]) if m else \
        np.zeros((0, len(con_names)))
    edge_features = (values / np.repeat(row_scale, lengths)).reshape(-1, 1)
    edge_index = np.stack([node_of_edge, col_idx.astype(np.int64)])
    return InstanceGraph(n=n, m=m, var_features=var_features, con_features=con_features,
                         edge_features=edge_features, edge_index=edge_index, row_ptr=row_ptr, col_idx=col_idx,
                         values=values, b=bound.astype(np.float64), c=c, row_of=row_of, row_sign=sign,
                         integer=integer, binary=binary, col_lo=col_lo, col_hi=col_hi, var_feature_names=var_names,
                         con_feature_names=con_names, edge_feature_names=EDGE_FEATURES, lp_solution=x_lp,
                         name=model.name)
