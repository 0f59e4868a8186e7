"""Solvers of the KKT-proposal experiment: the relaxation solve behind one
function (solve_relaxation) with interchangeable backends, and the exact
MILPs (HiGHS via highspy) that give the optimum or the best known value.

Relaxation backends:
  "dopt-sparse"  dopt's sparse QP layer (dopt.qp's sparse functions), the
                 backend the issue asks for;
  "dopt-dense"   dopt's dense QP layer (small sizes only: it densifies G, A);
  "clarabel"     Clarabel (a sparse interior-point conic solver), the
                 stand-in while the sparse layer is being written; results
                 are labelled with the backend that made them;
  "highs"        HiGHS's QP solver (active set); kept for comparison only:
                 it stops with "non-convex" on several of these relaxations
                 (small gamma, TSP-200), and such a run gets status 4.
"""

import time
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

try:
    import highspy
except ImportError:  # the exact MILPs and the stand-in need it; the rest does not
    highspy = None

BACKENDS = ("dopt-sparse", "dopt-dense", "clarabel", "highs")


class RelaxResult(NamedTuple):
    x: np.ndarray
    status: int          # 0 solved (dopt's codes; HiGHS's optimal maps to 0, anything else to 4)
    iters: int
    seconds: float
    backend: str


def sparse_available():
    """True when the loaded libdopt has the sparse QP layer (a build with
    CHOLMOD: dopt.qp.SparseStructure.analyze answers UNSUPPORTED without)."""
    try:
        import dopt
        import dopt.qp as dq
    except ImportError:
        return False
    try:
        dq.SparseStructure((np.array([0, 1]), np.array([0]), (1, 1))).analyze()
    except dopt.Error as exc:
        if exc.status == 3:  # DOPT_ERR_UNSUPPORTED
            return False
        raise
    return True


def solve_relaxation(rel, backend, tol=None):
    """Solves one Relaxation (kkt_problems) with `backend`. Returns RelaxResult."""
    if backend == "dopt-sparse":
        return _solve_dopt_sparse(rel, tol)
    if backend == "dopt-dense":
        return _solve_dopt_dense(rel, tol)
    if backend == "clarabel":
        return _solve_clarabel(rel, tol)
    if backend == "highs":
        return _solve_highs_qp(rel)
    raise ValueError(f"solve_relaxation: backend must be one of {BACKENDS}; got {backend!r}")


def _diag_csr(q):
    nz = np.flatnonzero(q)
    return sp.csr_matrix((q[nz], (nz, nz)), shape=(q.size, q.size))


def _solve_dopt_sparse(rel, tol):
    """Analyse (once per relaxation: the TSP's cuts change the pattern) and solve
    with dopt.qp.solve_sparse; the time counts both."""
    import dopt.qp as dq
    t0 = time.perf_counter()
    Q = _diag_csr(rel.q)
    k = rel.A.shape[0]
    r = dq.solve_sparse(Q if Q.nnz else None, rel.p[None, :], rel.G, rel.h, rel.A if k else None,
                        rel.b if k else None, n=rel.G.shape[1], tol=tol, dtype=np.float64)
    seconds = time.perf_counter() - t0
    return RelaxResult(np.asarray(r.x[0], float), int(r.status[0]), int(r.iters[0]), seconds, "dopt-sparse")


def _solve_dopt_dense(rel, tol):
    import dopt.qp as dq
    t0 = time.perf_counter()
    k = rel.A.shape[0]
    r = dq.solve(np.diag(rel.q), rel.p, rel.G.toarray(), rel.h, rel.A.toarray() if k else None,
                 rel.b if k else None, tol=tol, dtype=np.float64)
    seconds = time.perf_counter() - t0
    return RelaxResult(np.asarray(r.x, float), int(r.status), int(r.iters), seconds, "dopt-dense")


def _solve_clarabel(rel, tol):
    """The same rows: A x + s = b with s in the zero cone, G x + s = h with
    s >= 0; Hessian diag(q) (upper triangle, CSC)."""
    import clarabel
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    if tol:
        settings.tol_gap_abs = settings.tol_gap_rel = settings.tol_feas = tol
    k = rel.A.shape[0]
    M = sp.vstack([rel.A, rel.G], format="csc")
    rhs = np.concatenate([rel.b, rel.h])
    cones = ([clarabel.ZeroConeT(k)] if k else []) + [clarabel.NonnegativeConeT(rel.G.shape[0])]
    t0 = time.perf_counter()
    solver = clarabel.DefaultSolver(_diag_csr(rel.q).tocsc(), np.asarray(rel.p, float), M, rhs, cones, settings)
    sol = solver.solve()
    seconds = time.perf_counter() - t0
    ok = sol.status == clarabel.SolverStatus.Solved
    return RelaxResult(np.asarray(sol.x, float), 0 if ok else 4, int(sol.iterations), seconds, "clarabel")


def _highs(time_limit=None, threads=1):
    if highspy is None:
        raise RuntimeError("highspy is not installed (pip install highspy)")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", threads)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    return h


def _highs_lp(c, rows, lower, upper, col_lower, col_upper, integer=None):
    """A HighsLp from CSR rows and row/column bounds."""
    rows = sp.csr_matrix(rows)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = int(c.size), int(rows.shape[0])
    lp.col_cost_ = np.asarray(c, float)
    lp.col_lower_, lp.col_upper_ = np.asarray(col_lower, float), np.asarray(col_upper, float)
    lp.row_lower_, lp.row_upper_ = np.asarray(lower, float), np.asarray(upper, float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = rows.indptr.astype(np.int32)
    lp.a_matrix_.index_ = rows.indices.astype(np.int32)
    lp.a_matrix_.value_ = rows.data.astype(float)
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = lp.num_col_, lp.num_row_
    if integer is not None:
        lp.integrality_ = [highspy.HighsVarType.kInteger if f else highspy.HighsVarType.kContinuous
                           for f in integer]
    return lp


def _solve_highs_qp(rel):
    """The stand-in: the same rows (G <= h, A = b; the box rows stay rows),
    free columns, Hessian diag(q)."""
    inf = highspy.kHighsInf
    rows = sp.vstack([rel.G, rel.A], format="csr")
    lower = np.concatenate([np.full(rel.G.shape[0], -inf), rel.b])
    upper = np.concatenate([rel.h, rel.b])
    n = rel.n
    col_lo, col_hi = rel.meta.get("col_bounds", (np.zeros(n), np.ones(n)))
    # the box rows stay rows; the same box as column bounds as well (redundant) keeps HiGHS's active-set
    # QP solver from reporting "non-convex" on small gamma with free columns
    lp = _highs_lp(rel.p, rows, lower, upper, col_lo, col_hi)
    h = _highs()
    t0 = time.perf_counter()
    if np.any(rel.q):
        model = highspy.HighsModel()
        model.lp_ = lp
        H = _diag_csr(rel.q).tocsc()
        model.hessian_.dim_ = n
        model.hessian_.format_ = highspy.HessianFormat.kTriangular
        model.hessian_.start_ = H.indptr.astype(np.int32)
        model.hessian_.index_ = H.indices.astype(np.int32)
        model.hessian_.value_ = H.data
        h.passModel(model)
    else:
        h.passModel(lp)
    h.run()
    seconds = time.perf_counter() - t0
    ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    x = np.asarray(h.getSolution().col_value, float)
    info = h.getInfo()
    iters = int(info.qp_iteration_count if np.any(rel.q) else info.simplex_iteration_count)
    return RelaxResult(x, 0 if ok else 4, iters, seconds, "highs")


# ---- exact MILPs ----------------------------------------------------------------------

class ExactResult(NamedTuple):
    value: float          # objective of the best solution found (the problem's own sense)
    bound: float          # proven bound (lower for minimization, upper for maximization)
    optimal: bool         # proven optimal within the time limit
    seconds: float
    solution: object


def _run_mip(c, rows, lower, upper, n_int, time_limit, sense_max=False):
    inf = highspy.kHighsInf
    n = c.size
    lp = _highs_lp(-c if sense_max else c, rows, lower, upper, np.zeros(n), np.ones(n), [True] * n_int +
                   [False] * (n - n_int))
    h = _highs(time_limit)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.passModel(lp)
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    st = h.getModelStatus()
    info = h.getInfo()
    has_sol = info.primal_solution_status == 2
    x = np.asarray(h.getSolution().col_value, float) if has_sol else None
    value = info.objective_function_value if has_sol else inf
    bound = info.mip_dual_bound
    if sense_max:
        value, bound = -value, -bound
    return st == highspy.HighsModelStatus.kOptimal, value, bound, seconds, x


def mis_exact(n, edges, time_limit):
    """Maximum independent set (unit weights) as a binary MILP."""
    import kkt_problems as P
    rel = P.mis_relaxation(n, edges)
    E = edges.shape[0]
    rows = rel.G[:E]
    ok, value, bound, seconds, x = _run_mip(np.ones(n), rows, np.full(E, -highspy.kHighsInf), np.ones(E), n,
                                            time_limit, sense_max=True)
    sol = None if x is None else x > 0.5
    return ExactResult(value, bound, ok, seconds, sol)


def colouring_exact(n, edges, K, time_limit):
    """Chromatic number with at most K colours: the relaxation's rows, binary
    x and w, and w_c >= w_{c+1} (symmetry breaking, valid for the MILP)."""
    import kkt_problems as P
    rel = P.colouring_relaxation(n, edges, K)
    N = rel.n
    nx = n * K
    r_conf = rel.G.shape[0] - 2 * N
    sym = sp.csr_matrix((np.tile([-1.0, 1.0], K - 1),
                         (np.repeat(np.arange(K - 1), 2), np.stack([nx + np.arange(K - 1),
                                                                    nx + 1 + np.arange(K - 1)], 1).reshape(-1))),
                        shape=(K - 1, N))
    rows = sp.vstack([rel.G[:r_conf], sym, rel.A], format="csr")
    inf = highspy.kHighsInf
    lower = np.concatenate([np.full(r_conf + K - 1, -inf), rel.b])
    upper = np.concatenate([np.zeros(r_conf + K - 1), rel.b])
    ok, value, bound, seconds, x = _run_mip(rel.p, rows, lower, upper, N, time_limit)
    colours = None if x is None else np.argmax(x[:nx].reshape(n, K), axis=1)
    return ExactResult(value, bound, ok, seconds, colours)


def tsp_exact(cities, edges, lengths, time_limit, seed_cuts=()):
    """Dantzig-Fulkerson-Johnson by row generation: solve the MILP with the
    cuts so far, cut every subtour of its solution, repeat. A MILP solution
    that is one tour is optimal (the MILP with a subset of the cuts is a
    relaxation of the TSP); otherwise the time limit ended it and value is
    +inf here (the caller takes the best known tour). Returns lengths in
    the instance's units."""
    import kkt_problems as P
    E = edges.shape[0]
    inf = highspy.kHighsInf
    deg = sp.csr_matrix((np.ones(2 * E), (np.concatenate([edges[:, 0], edges[:, 1]]),
                                          np.concatenate([np.arange(E), np.arange(E)]))), shape=(cities, E))
    cuts = [list(S) for S in seed_cuts]
    t0 = time.perf_counter()
    bound = -inf
    while True:
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0:
            return ExactResult(inf, bound, False, time.perf_counter() - t0, None)
        cut_rows = []
        for S in cuts:
            inside = P._edges_inside(edges, cities, S)
            cut_rows.append(sp.csr_matrix((np.ones(inside.size), (np.zeros(inside.size, int), inside)),
                                          shape=(1, E)))
        rows = sp.vstack([deg] + cut_rows, format="csr")
        lower = np.concatenate([np.full(cities, 2.0), np.full(len(cuts), -inf)])
        upper = np.concatenate([np.full(cities, 2.0), [len(S) - 1.0 for S in cuts]])
        ok, value, b, _, x = _run_mip(lengths, rows, lower, upper, E, left)
        bound = max(bound, b)
        if x is None:
            return ExactResult(inf, bound, False, time.perf_counter() - t0, None)
        new = P.subtour_cuts(cities, edges, x, threshold=0.5)
        if not new:
            return ExactResult(value, value if ok else bound, ok, time.perf_counter() - t0, x > 0.5)
        if not ok:  # the time limit stopped a MILP whose answer still has subtours
            return ExactResult(inf, bound, False, time.perf_counter() - t0, None)
        cuts += [list(S) for S in new]
