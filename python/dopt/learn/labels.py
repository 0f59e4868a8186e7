"""Labels for supervised and score-based predictors (SRG-style, issue 14
item 3): several distinct near-optimal solutions per instance from the
solver (Cbc when built in, else dopt's exact solver), numpy only.

    near_optimal_solutions(model, count, method='exclude')

method 'exclude': solve, then re-solve with every binary assignment found
so far cut off by a no-good row, keeping solutions within rel_gap of the
best. Each re-solve finds the best solution with a NEW binary assignment, so
with exact solves the list is the `count` best binary assignments in order.
method 'perturb': solve under costs perturbed by multiplicative Gaussian
noise (seeded), keep the distinct binary assignments, scored by the TRUE
objective: cheaper per solve (no added rows) but with no guarantee of
distinct or near-optimal solutions.
"""

import math
from dataclasses import dataclass
from typing import List

import numpy as np

from .. import milp as _milp

__all__ = ["Solutions", "near_optimal_solutions", "no_good_row"]


@dataclass
class Solutions:
    """x: (k, n) float64, k <= count distinct solutions (distinct on the
    binary columns), best first; objective: (k,) in the model's sense
    (offset included); seconds: wall time of every solve together; solves:
    solver calls made; status: the first solve's status (the model's)."""
    x: np.ndarray
    objective: np.ndarray
    seconds: float
    solves: int
    status: int

    def __len__(self):
        return int(self.objective.shape[0])


def no_good_row(x, binary):
    """The row that cuts off exactly x's assignment of the binary columns:
    sum_{j: x_j = 0} x_j - sum_{j: x_j = 1} x_j >= 1 - |{j: x_j = 1}|
    (its left side is the Hamming distance to x minus |{x_j = 1}|).
    Returns (coefficients (n,), lower bound)."""
    binary = np.asarray(binary, dtype=bool)
    ones = binary & (np.asarray(x) >= 0.5)
    zeros = binary & ~ones
    coef = np.where(zeros, 1.0, 0.0) - np.where(ones, 1.0, 0.0)
    return coef, 1.0 - float(ones.sum())


def _with_rows(arrays, rows):
    """arrays (Model.arrays()) plus rows [(coef (n,), lo)] as `>= lo` rows."""
    indptr, indices, data = arrays["A"]
    extra_ptr, extra_idx, extra_val, extra_lo = [], [], [], []
    for coef, lo in rows:
        nz = np.flatnonzero(coef)
        extra_idx.append(nz.astype(np.int32))
        extra_val.append(coef[nz])
        extra_ptr.append(nz.size)
        extra_lo.append(lo)
    new_ptr = np.concatenate([indptr, indptr[-1] + np.cumsum(extra_ptr, dtype=np.int64)])
    out = dict(arrays)
    out["A"] = (new_ptr, np.concatenate([indices, *extra_idx]), np.concatenate([data, *extra_val]))
    out["row_lo"] = np.concatenate([arrays["row_lo"], extra_lo])
    out["row_hi"] = np.concatenate([arrays["row_hi"], np.full(len(rows), math.inf)])
    return out


def _unnamed(arrays):
    """Model.arrays() without names: the re-solved models are temporaries
    (and names cost a C allocation each)."""
    return {**arrays, "name": None, "obj_name": None, "col_names": None, "row_names": None}


def _worse_than(model, value, best, rel_gap):
    """value is worse than best by more than rel_gap (relative, model's sense)."""
    slack = rel_gap * max(abs(best), 1e-9)
    return value < best - slack if model.maximize else value > best + slack


def near_optimal_solutions(model, count=4, *, method="exclude", rel_gap=0.05, noise=0.1, seed=0, max_solves=None,
                           solver="auto", time_limit=None, gap=0.0, threads=None):
    """Up to `count` distinct (on the binary columns) feasible solutions of
    model, best first, each within rel_gap (relative) of the best one found.
    method: 'exclude' (no-good rows; see the module docstring) or 'perturb'
    (costs c_j (1 + noise * N(0, 1)) from numpy's generator with seed; at
    most max_solves solves, default 4 * count). solver, time_limit (per
    solve), gap, threads: as dopt.milp.solve. A model without a feasible
    solution gives an empty Solutions with its status."""
    if not isinstance(model, _milp.Model):
        raise TypeError(f"learn: model must be a dopt.milp.Model; got {type(model).__name__}")
    count = int(count)
    if count < 1:
        raise ValueError(f"learn: count must be >= 1; got {count}")
    if method not in ("exclude", "perturb"):
        raise ValueError(f"learn: method must be 'exclude' or 'perturb'; got {method!r}")
    if not (rel_gap >= 0 and math.isfinite(rel_gap)):
        raise ValueError(f"learn: rel_gap must be finite and >= 0; got {rel_gap}")
    if not (noise >= 0 and math.isfinite(noise)):
        raise ValueError(f"learn: noise must be finite and >= 0; got {noise}")
    binary = np.asarray(model.binary, dtype=bool)
    if not binary.any():
        raise ValueError("learn: near_optimal_solutions tells solutions apart by their binary columns; the model "
                         "has none")
    options = dict(solver=solver, time_limit=time_limit, gap=gap, threads=threads)
    first = _milp.solve(model, **options)
    seconds, solves = first.seconds, 1
    if not first.has_solution:
        return Solutions(np.zeros((0, model.n)), np.zeros(0), seconds, solves, int(first.status))
    found: List[np.ndarray] = [first.x.copy()]
    keys = {tuple(first.x[binary] >= 0.5)}
    best = first.objective
    arrays = _unnamed(model.arrays())
    if method == "exclude":
        cuts = [no_good_row(first.x, binary)]
        while len(found) < count:
            result = _milp.solve(_milp.Model(**_with_rows(arrays, cuts)), **options)
            seconds, solves = seconds + result.seconds, solves + 1
            if not result.has_solution or _worse_than(model, model.objective(result.x), best, rel_gap):
                break  # no other assignment, or the next best is not near-optimal
            found.append(result.x.copy())
            cuts.append(no_good_row(result.x, binary))
    else:
        rng = np.random.default_rng(seed)
        budget = 4 * count if max_solves is None else int(max_solves)
        while len(found) < count and solves < budget:
            perturbed = dict(arrays)
            perturbed["c"] = arrays["c"] * (1.0 + noise * rng.standard_normal(model.n))
            result = _milp.solve(_milp.Model(**perturbed), **options)
            seconds, solves = seconds + result.seconds, solves + 1
            if not result.has_solution:
                continue
            key = tuple(result.x[binary] >= 0.5)
            if key in keys or _worse_than(model, model.objective(result.x), best, rel_gap):
                continue
            keys.add(key)
            found.append(result.x.copy())
    objective = np.array([model.objective(x) for x in found])
    order = np.argsort(-objective if model.maximize else objective, kind="stable")
    return Solutions(np.array(found)[order], objective[order], seconds, solves, int(first.status))
