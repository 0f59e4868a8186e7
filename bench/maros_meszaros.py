"""Maros-Meszaros convex QPs that fit dopt's dense solver: conversion and runs.

The problems come from qpsolvers/maros_meszaros_qpbenchmark (data/*.mat, the
OSQP benchmark's form: minimize 1/2 x'Px + q'x + r subject to l <= Cx <= u,
where C already contains the variable bounds as rows). dopt wants
    minimize 1/2 x'Qx + p'x  subject to  Gx <= h,  Ax = b,
so a row with l = u becomes an equality row, and each finite side of the
other rows an inequality row (u: C_i x <= u_i; l: -C_i x <= -l_i).

    python bench/maros_meszaros.py convert MAT_DIR OUT_DIR   # dense .npz per problem that fits
    python bench/maros_meszaros.py run NPZ_DIR [--dtype float64] [--tol T] [--max-iter N] [--lp]
    python bench/maros_meszaros.py compare NPZ_DIR            # dopt vs Clarabel, HiGHS, ProxSuite
    python bench/maros_meszaros.py fixtures NPZ_DIR tests/data/maros  # the committed test fixtures

"Fits" is n <= 300 and rows of G plus rows of A <= 600 (issue 15). Getting
the .mat files: clone github.com/qpsolvers/maros_meszaros_qpbenchmark (data/).
"""
import argparse
import glob
import math
import os
import sys
import time

import numpy as np

MAX_N, MAX_ROWS = 300, 600


def convert_mat(path):
    """The problem in dopt's dense form as a dict of arrays, or None when it does not fit."""
    import scipy.io as sio
    import scipy.sparse as sp
    d = sio.loadmat(path)
    P = sp.csc_matrix(d["P"]).astype(float)
    C = sp.csr_matrix(d["A"]).astype(float)
    n = P.shape[0]
    if n > MAX_N:
        return None
    q = np.asarray(d["q"], float).ravel()
    l = np.asarray(d["l"], float).ravel()
    u = np.asarray(d["u"], float).ravel()
    big = 1e19  # the files mark "no bound" with +-1e20 (stored as 9.999...e19) or inf
    l = np.where(l <= -big, -np.inf, l)
    u = np.where(u >= big, np.inf, u)
    eq = np.isfinite(l) & np.isfinite(u) & (l == u)
    up = np.isfinite(u) & ~eq
    lo = np.isfinite(l) & ~eq
    rows = int(eq.sum() + up.sum() + lo.sum())
    if rows > MAX_ROWS:
        return None
    Cd = C.toarray()
    G = np.vstack([Cd[up], -Cd[lo]])
    h = np.concatenate([u[up], -l[lo]])
    Q = P.toarray()
    Q = 0.5 * (Q + Q.T)  # the files hold the full symmetric P; (P + P')/2 guards rounding
    r = float(np.asarray(d.get("r", 0.0)).ravel()[0]) if "r" in d else 0.0
    return {"Q": Q, "p": q, "G": G.reshape(-1, n), "h": h, "A": Cd[eq].reshape(-1, n), "b": l[eq], "r": np.array(r)}


def cmd_convert(args):
    os.makedirs(args.out, exist_ok=True)
    kept = 0
    for path in sorted(glob.glob(os.path.join(args.mat, "*.mat"))):
        name = os.path.splitext(os.path.basename(path))[0]
        prob = convert_mat(path)
        if prob is None:
            continue
        np.savez_compressed(os.path.join(args.out, name + ".npz"), **prob)
        kept += 1
        print(f"{name}: n={prob['Q'].shape[0]} m={prob['G'].shape[0]} k={prob['A'].shape[0]}")
    print(f"{kept} problems fit (n <= {MAX_N}, rows <= {MAX_ROWS})")


def load(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def dopt_solve(prob, dtype="float64", tol=None, max_iter=None):
    import dopt
    Q, p, G, h, A, b = (prob[k] for k in ("Q", "p", "G", "h", "A", "b"))
    n = Q.shape[0]
    args = dict(G=G[None] if G.shape[0] else None, h=h[None] if G.shape[0] else None,
                A=A[None] if A.shape[0] else None, b=b[None] if A.shape[0] else None)
    Qb = None if not Q.any() else Q[None].astype(dtype)
    cast = {k: (v.astype(dtype) if v is not None else None) for k, v in args.items()}
    t = time.perf_counter()
    res = dopt.qp.solve(Qb if Qb is not None else np.zeros((1, n, n), dtype), p[None].astype(dtype), **cast,
                        tol=tol, max_iter=max_iter)
    return res, time.perf_counter() - t


def kkt_error(prob, x, lam, nu):
    """Relative KKT residuals at (x, lam, nu): primal, dual, complementarity (scaled like the solver's test)."""
    Q, p, G, h, A, b = (prob[k] for k in ("Q", "p", "G", "h", "A", "b"))
    rx = Q @ x + p + G.T @ lam + A.T @ nu
    dual = np.abs(rx).max(initial=0) / (1 + max(np.abs(Q @ x).max(initial=0), np.abs(p).max(initial=0),
                                                np.abs(G.T @ lam).max(initial=0), np.abs(A.T @ nu).max(initial=0)))
    pz = np.maximum(G @ x - h, 0).max(initial=0) / (1 + max(np.abs(G @ x).max(initial=0), np.abs(h).max(initial=0)))
    py = np.abs(A @ x - b).max(initial=0) / (1 + max(np.abs(A @ x).max(initial=0), np.abs(b).max(initial=0)))
    obj = 0.5 * x @ Q @ x + p @ x
    gap = abs(lam @ (h - G @ x)) / (1 + abs(obj))
    return max(dual, pz, py), gap, obj


def cmd_run(args):
    rows = []
    for path in sorted(glob.glob(os.path.join(args.dir, "*.npz"))):
        name = os.path.splitext(os.path.basename(path))[0]
        prob = load(path)
        if args.lp:
            if not prob["Q"].any():
                continue
            prob["Q"] = np.zeros_like(prob["Q"])
            name = name[1:] if name.startswith("Q") else name + "-LP"
        res, sec = dopt_solve(prob, args.dtype, args.tol, args.max_iter)
        st, it = int(res.status[0]), int(res.iters[0])
        x = res.x[0].astype(float)
        lam = res.lam[0].astype(float)
        nu = res.nu[0].astype(float)
        res_kkt, gap, obj = kkt_error(prob, x, lam, nu) if st == 0 else (float("nan"),) * 3
        rows.append((name, st, it, sec))
        print(f"{name:12s} n={prob['Q'].shape[0]:4d} m={prob['G'].shape[0]:4d} k={prob['A'].shape[0]:4d} "
              f"status={st} iters={it:3d} time={sec * 1e3:8.2f}ms kkt={res_kkt:.1e} gap={gap:.1e} "
              f"obj={obj + float(prob['r']):.8e}", flush=True)
    solved = [r for r in rows if r[1] == 0]
    over = [r for r in rows if r[2] > 50 or r[1] != 0]
    print(f"solved {len(solved)}/{len(rows)}; not solved or over 50 iterations: {[r[0] for r in over]}")
    if rows:
        print(f"iterations: max {max(r[2] for r in rows)}, mean {np.mean([r[2] for r in rows]):.1f}")


def shifted_geomean(times, shift=10.0):
    return math.exp(np.mean([math.log(t + shift) for t in times])) - shift


def peer_solvers():
    """Solvers available in this environment: name -> fn(prob, tol) -> (solved, seconds)."""
    out = {}
    try:
        import clarabel
        import scipy.sparse as sp

        def clarabel_solve(prob, tol):
            Q, p, G, h, A, b = (prob[k] for k in ("Q", "p", "G", "h", "A", "b"))
            P = sp.triu(sp.csc_matrix(Q)).tocsc()
            M = sp.csc_matrix(np.vstack([A, G]))
            cones = []
            if A.shape[0]:
                cones.append(clarabel.ZeroConeT(A.shape[0]))
            if G.shape[0]:
                cones.append(clarabel.NonnegativeConeT(G.shape[0]))
            s = clarabel.DefaultSettings()
            s.verbose = False
            s.tol_gap_abs = s.tol_gap_rel = s.tol_feas = tol
            t = time.perf_counter()
            sol = clarabel.DefaultSolver(P, p, M, np.concatenate([b, h]), cones, s).solve()
            return str(sol.status) == "Solved", time.perf_counter() - t, int(sol.iterations)
        out["clarabel"] = clarabel_solve
    except ImportError:
        pass
    try:
        import highspy

        def highs_solve(prob, tol):
            Q, p, G, h, A, b = (prob[k] for k in ("Q", "p", "G", "h", "A", "b"))
            n = Q.shape[0]
            hs = highspy.Highs()
            hs.setOptionValue("output_flag", False)
            hs.setOptionValue("primal_feasibility_tolerance", max(tol, 1e-10))
            hs.setOptionValue("dual_feasibility_tolerance", max(tol, 1e-10))
            inf = highspy.kHighsInf
            lp = highspy.HighsLp()
            lp.num_col_, lp.num_row_ = n, A.shape[0] + G.shape[0]
            lp.col_cost_ = p
            lp.col_lower_ = np.full(n, -inf)
            lp.col_upper_ = np.full(n, inf)
            M = np.vstack([A, G])
            lp.row_lower_ = np.concatenate([b, np.full(G.shape[0], -inf)])
            lp.row_upper_ = np.concatenate([b, h])
            import scipy.sparse as sp
            Mc = sp.csc_matrix(M)
            lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
            lp.a_matrix_.start_ = Mc.indptr
            lp.a_matrix_.index_ = Mc.indices
            lp.a_matrix_.value_ = Mc.data
            model = highspy.HighsModel()
            model.lp_ = lp
            if Q.any():
                Hc = sp.csc_matrix(np.tril(Q))
                model.hessian_.dim_ = n
                model.hessian_.format_ = highspy.HessianFormat.kTriangular
                model.hessian_.start_ = Hc.indptr
                model.hessian_.index_ = Hc.indices
                model.hessian_.value_ = Hc.data
            hs.passModel(model)
            t = time.perf_counter()
            hs.run()
            return hs.getModelStatus() == highspy.HighsModelStatus.kOptimal, time.perf_counter() - t, -1
        out["highs"] = highs_solve
    except ImportError:
        pass
    try:
        import proxsuite

        def proxsuite_solve(prob, tol):
            Q, p, G, h, A, b = (prob[k] for k in ("Q", "p", "G", "h", "A", "b"))
            n = Q.shape[0]
            qp = proxsuite.proxqp.dense.QP(n, A.shape[0], G.shape[0])
            qp.settings.eps_abs = tol
            qp.settings.eps_rel = 0
            qp.settings.verbose = False
            t = time.perf_counter()
            qp.init(Q, p, A if A.shape[0] else None, b if A.shape[0] else None, G if G.shape[0] else None,
                    None, h if G.shape[0] else None)
            qp.solve()
            ok = qp.results.info.status == proxsuite.proxqp.QPSolverOutput.PROXQP_SOLVED
            return ok, time.perf_counter() - t, int(qp.results.info.iter)
        out["proxsuite"] = proxsuite_solve
    except ImportError:
        pass
    return out


# The hard small instances committed as test fixtures (tests/data/maros/,
# read by tests/test_qp_maros.c): the most iterations per size among the
# problems that fit, QP and (Q dropped) netlib LP forms. DUALC*: many rows on
# few variables; QISRAEL/ISRAEL: badly scaled (coefficients 1e-3..3e3);
# QPCBOEI2, QSHARE1B: the most iterations; QAFIRO/AFIRO: degenerate LP;
# PRIMALC1: its LP form is unbounded (a certificate, status 2).
FIXTURES = ["DUALC1", "DUALC2", "QISRAEL", "QPCBOEI2", "QSHARE1B", "QSHARE2B", "QAFIRO", "PRIMALC1"]


def clarabel_reference(prob):
    """Clarabel at tight tolerances: (status, objective without the constant r)."""
    import clarabel
    import scipy.sparse as sp
    Q, p, G, h, A, b = (prob[k] for k in ("Q", "p", "G", "h", "A", "b"))
    M = sp.csc_matrix(np.vstack([A, G]))
    cones = ([clarabel.ZeroConeT(A.shape[0])] if A.shape[0] else []) + \
        ([clarabel.NonnegativeConeT(G.shape[0])] if G.shape[0] else [])
    s = clarabel.DefaultSettings()
    s.verbose = False
    s.tol_gap_abs = s.tol_gap_rel = s.tol_feas = 1e-10
    s.max_iter = 500
    sol = clarabel.DefaultSolver(sp.triu(sp.csc_matrix(Q)).tocsc(), p, M, np.concatenate([b, h]), cones, s).solve()
    return str(sol.status), float(sol.obj_val)


def cmd_fixtures(args):
    """Writes each fixture twice (QP, and LP with Q dropped) with its reference
    objective (Clarabel; NaN for an unbounded LP) and an iteration bound: the
    iterations measured when it was made plus 25%, at most 50 (issue 15)."""
    os.makedirs(args.out, exist_ok=True)
    for name in FIXTURES:
        prob = load(os.path.join(args.dir, name + ".npz"))
        for lp in (False, True):
            pr = dict(prob)
            if lp:
                pr["Q"] = np.zeros_like(pr["Q"])
            status, obj = clarabel_reference(pr)
            res, _ = dopt_solve(pr)
            it = int(res.iters[0])
            out = {k: pr[k] for k in ("p", "G", "h", "A", "b")}
            if not lp:
                out["Q"] = pr["Q"]
            out["ref_obj"] = np.array(obj if status == "Solved" else np.nan)
            out["ref_status"] = np.array(0 if status == "Solved" else 2 if status == "DualInfeasible" else -1, np.int32)
            out["iter_bound"] = np.array(min(50, it + max(2, it // 4)), np.int32)
            tag = (name[1:] if name.startswith("Q") else name + "-LP") if lp else name
            np.savez_compressed(os.path.join(args.out, tag + ".npz"), **out)
            print(f"{tag}: clarabel {status} {obj:.10e}; dopt status {int(res.status[0])} in {it} iterations, "
                  f"bound {int(out['iter_bound'])}")


def cmd_compare(args):
    paths = sorted(glob.glob(os.path.join(args.dir, "*.npz")))
    solvers = {"dopt": lambda prob, tol: _dopt_entry(prob, tol, args.dtype)}
    solvers.update(peer_solvers())
    table = {name: [] for name in solvers}
    for path in paths:
        prob = load(path)
        for name, fn in solvers.items():
            try:
                ok, sec, it = fn(prob, args.tol)
            except Exception as e:  # a peer that crashes on a problem counts as a failure
                print(f"{os.path.basename(path)} {name}: {e}", file=sys.stderr)
                ok, sec, it = False, float("nan"), -1
            table[name].append((ok, sec))
    print(f"{len(paths)} problems, tolerance {args.tol:g}; time of a failure = {args.fail_time:g} s "
          "(qpbenchmark's convention: the time limit)")
    print("| solver | success rate | shifted geometric mean of time (shift 10 ms) |")
    print("|---|---|---|")
    for name, rows in table.items():
        ok = sum(r[0] for r in rows)
        times = [(r[1] if r[0] else args.fail_time) * 1e3 for r in rows]
        print(f"| {name} | {ok}/{len(rows)} ({100.0 * ok / max(1, len(rows)):.0f}%) | {shifted_geomean(times):.2f} ms |")


def _dopt_entry(prob, tol, dtype):
    res, sec = dopt_solve(prob, dtype, tol)
    return int(res.status[0]) == 0, sec, int(res.iters[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("convert")
    c.add_argument("mat")
    c.add_argument("out")
    r = sub.add_parser("run")
    r.add_argument("dir")
    r.add_argument("--dtype", default="float64")
    r.add_argument("--tol", type=float, default=None)
    r.add_argument("--max-iter", type=int, default=None)
    r.add_argument("--lp", action="store_true",
                   help="drop Q: the Q* problems are netlib LPs (QAFIRO: AFIRO, ...) with a quadratic term added")
    f = sub.add_parser("fixtures")
    f.add_argument("dir")
    f.add_argument("out")
    m = sub.add_parser("compare")
    m.add_argument("dir")
    m.add_argument("--dtype", default="float64")
    m.add_argument("--tol", type=float, default=1e-8)
    m.add_argument("--fail-time", type=float, default=10.0)
    args = ap.parse_args()
    {"convert": cmd_convert, "run": cmd_run, "compare": cmd_compare, "fixtures": cmd_fixtures}[args.cmd](args)


if __name__ == "__main__":
    main()
