"""Rough throughput of the sparse QP layer (dopt.qp.solve_sparse +
backward_sparse, docs/SPARSE_QP.md) against cvxpylayers (its default diffcp
path, forward + backward), Clarabel and HiGHS (a loop, forward only: they have
no backward), on the same instances in the same run (issue #19, "Benchmark").

Families, one sparsity pattern per batch, a cost vector per instance:
  * set cover: the LP relaxation of a Gasse-size instance (rows x cols at a
    density; min c'x s.t. Ax >= 1, 0 <= x <= 1, integer costs 1..100);
  * MIS: the edge relaxation of a G(n, avg degree) graph (bench/
    kkt_problems.py's generator and relaxation; weights uniform in [1, 2)).
Q = gamma I (--gamma, 0: a pure LP). dopt analyses the pattern once (timed
apart) and solves the batch with that structure; backward with dL/dx = 1.

Threads (--threads T, default 1): T for every tool. dopt.set_num_threads(T);
torch.set_num_threads(T); diffcp's thread pools n_jobs_forward =
n_jobs_backward = T (cvxpylayers solver_args; its default is every core);
Clarabel and HiGHS (threads = 1 each, kkt_solvers._highs) solve the loop's
instances on a pool of T Python threads, one instance per thread at a time,
as a user would parallelize a loop of solvers. OMP/OPENBLAS/MKL/... = 1 in
the environment before numpy loads, so no BLAS adds threads of its own.

Objective agreement: each peer's objective p'x + gamma/2 |x|^2 against
dopt's, relative; cvxpylayers runs SCS at its default tolerance, so its
agreement is reported but not expected at 1e-6.

Run: PYTHONPATH=python DOPT_LIBRARY=build-so/src/libdopt.so \
     python bench/compare_sparse.py [--quick] [--batch 64] [--out bench/figures/compare_sparse]
(--extra-site DIR appends a site directory, e.g. one holding torch, after the
interpreter's own.) Writes OUT.json and OUT.md.
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy / torch / clarabel load their thread pools

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import platform  # noqa: E402
import site  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkt_problems as P  # noqa: E402


def set_cover(rows, cols, density, rng):
    """A Gasse-style pattern: Bernoulli(density) entries, then every row and
    every column given at least one entry so the LP is feasible and bounded."""
    mask = rng.random((rows, cols)) < density
    for r in np.flatnonzero(~mask.any(axis=1)):
        mask[r, rng.integers(cols)] = True
    for c in np.flatnonzero(~mask.any(axis=0)):
        mask[rng.integers(rows), c] = True
    cover = sp.csr_matrix(mask.astype(float))
    box = sp.identity(cols, format="csr")
    G = sp.vstack([-cover, box, -box], format="csr")  # -Ax <= -1, x <= 1, -x <= 0
    G.sort_indices()
    h = np.concatenate([-np.ones(rows), np.ones(cols), np.zeros(cols)])
    return G, h


def family(name, cfg, batch, rng):
    """(G, h, costs (batch, n), description)."""
    if name == "setcover":
        r, c, d = cfg["setcover"]
        G, h = set_cover(r, c, d, rng)
        costs = rng.integers(1, 101, size=(batch, c)).astype(float)
        return G, h, costs, f"set cover {r} rows x {c} cols, density {d:g}"
    n, deg = cfg["mis"]
    edges = P.erdos_renyi(n, deg, rng)
    rel = P.mis_relaxation(n, edges)
    costs = -(1.0 + rng.random((batch, n)))
    return rel.G, rel.h, costs, f"MIS edge relaxation, G({n}, avg deg {deg:g}), {edges.shape[0]} edges"


def objective(x, p, gamma):
    return np.einsum("bi,bi->b", p, x) + 0.5 * gamma * np.einsum("bi,bi->b", x, x)


def rel_diff(a, b):
    return np.abs(a - b) / np.maximum(1.0, np.abs(b))


def time_dopt(G, h, costs, gamma, reps):
    import dopt.qp as dq
    n = G.shape[1]
    Q = gamma * sp.identity(n, format="csr") if gamma else None
    t0 = time.perf_counter()
    structure = dq.SparseStructure(Q=Q, G=G, n=n)
    structure.analyze()
    analyse = time.perf_counter() - t0
    best_f = best_fb = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        res = dq.solve_sparse(Q, costs, G, h, structure=structure, dtype=np.float64, record=True)
        t1 = time.perf_counter()
        grads = dq.backward_sparse(res.tape, np.ones_like(res.x), wanted=("p", "h"))
        t2 = time.perf_counter()
        best_f, best_fb = min(best_f, t1 - t0), min(best_fb, t2 - t0)
    assert np.all(np.isfinite(grads["p"]))
    return dict(analyse_s=analyse, fwd_s=best_f, fwdbwd_s=best_fb, x=np.asarray(res.x),
                status=np.asarray(res.status), iters=np.asarray(res.iters))


def loop_peer(backend, G, h, costs, gamma, count, threads=1):
    import concurrent.futures
    import kkt_solvers as S
    n = G.shape[1]

    def one(i):
        rel = P.Relaxation("bench", np.full(n, gamma), costs[i], G, h, sp.csr_matrix((0, n)), np.zeros(0))
        return S.solve_relaxation(rel, backend, tol=1e-9 if backend == "clarabel" else None)

    t0 = time.perf_counter()
    if threads > 1:
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            res = list(pool.map(one, range(count)))
    else:
        res = [one(i) for i in range(count)]
    return dict(fwd_s=time.perf_counter() - t0, x=np.array([r.x for r in res]),
                solved=float(np.mean([r.status == 0 for r in res])))


def time_cvxpylayers(G, h, costs, gamma, count, threads=1):
    import cvxpy as cp
    import torch
    from cvxpylayers.torch import CvxpyLayer
    torch.set_num_threads(threads)
    n = G.shape[1]
    x, c = cp.Variable(n), cp.Parameter(n)
    obj = c @ x + (0.5 * gamma * cp.sum_squares(x) if gamma else 0)
    t0 = time.perf_counter()
    layer = CvxpyLayer(cp.Problem(cp.Minimize(obj), [G @ x <= h]), parameters=[c], variables=[x])
    canon = time.perf_counter() - t0
    cost = torch.tensor(costs[:count], requires_grad=True)
    t0 = time.perf_counter()
    (sol,) = layer(cost, solver_args={"n_jobs_forward": threads, "n_jobs_backward": threads})
    t1 = time.perf_counter()
    sol.sum().backward()
    t2 = time.perf_counter()
    return dict(canon_s=canon, fwd_s=t1 - t0, fwdbwd_s=t2 - t0, x=sol.detach().numpy())


def factor_share_note():
    return ("not measured in this run: run dopt alone under `perf record` and compare the samples in "
            "libcholmod (the numeric factorization; the triangular solves are dopt's own) with the whole; "
            "pass the result with --notes")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (under a minute)")
    ap.add_argument("--batch", type=int, default=64, help="instances per family (default 64)")
    ap.add_argument("--loop-count", type=int, default=None,
                    help="instances for Clarabel/HiGHS (default: the whole batch)")
    ap.add_argument("--cvxpylayers-count", type=int, default=8,
                    help="instances for cvxpylayers (default 8: seconds each at n = 1000)")
    ap.add_argument("--gamma", type=float, default=0.0, help="Q = gamma I (default 0: the LP)")
    ap.add_argument("--families", default="setcover,mis")
    ap.add_argument("--reps", type=int, default=3, help="dopt repetitions, best taken")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for every tool (default 1; see the docstring for how each peer is given them)")
    ap.add_argument("--extra-site", action="append", default=[],
                    help="a site-packages directory appended to sys.path (after the interpreter's)")
    ap.add_argument("--notes", default=None,
                    help="a text file (e.g. a perf measurement of the factorization's share) recorded with the results")
    ap.add_argument("--out", default="bench/figures/compare_sparse", help="OUT.json and OUT.md")
    a = ap.parse_args(argv)
    for d in a.extra_site:
        site.addsitedir(d)
    if a.threads < 1:
        ap.error("--threads must be at least 1")
    import dopt
    dopt.set_num_threads(a.threads)
    cfg = ({"setcover": (100, 200, 0.05), "mis": (100, 4.0)} if a.quick
           else {"setcover": (500, 1000, 0.05), "mis": (500, 4.0)})
    batch = min(a.batch, 16) if a.quick else a.batch
    loop_count = min(a.loop_count or batch, batch)
    cvx_count = min(a.cvxpylayers_count, batch)
    load_start = os.getloadavg()[0]
    have = {k: importlib.util.find_spec(m) is not None for k, m in
            (("clarabel", "clarabel"), ("highs", "highspy"), ("cvxpylayers", "cvxpylayers"))}
    if have["cvxpylayers"] and importlib.util.find_spec("torch") is None:
        have["cvxpylayers"] = False
    rng = np.random.default_rng(a.seed)
    rows = []
    for fam in a.families.split(","):
        G, h, costs, desc = family(fam, cfg, batch, rng)
        n = G.shape[1]
        row = dict(family=fam, description=desc, n=n, m=G.shape[0], nnz_G=int(G.nnz), batch=batch, gamma=a.gamma)
        d = time_dopt(G, h, costs, a.gamma, a.reps)
        f_dopt = objective(d["x"], costs, a.gamma)
        row["dopt"] = dict(analyse_s=d["analyse_s"], fwd_per_s=batch / d["fwd_s"], fwdbwd_per_s=batch / d["fwdbwd_s"],
                           solved=float(np.mean(d["status"] == 0)), mean_iters=float(d["iters"].mean()))
        for peer in ("clarabel", "highs"):
            if not have[peer]:
                continue
            r = loop_peer(peer, G, h, costs, a.gamma, loop_count, a.threads)
            f = objective(r["x"], costs[:loop_count], a.gamma)
            row[peer] = dict(count=loop_count, fwd_per_s=loop_count / r["fwd_s"], solved=r["solved"],
                             max_rel_obj_diff=float(rel_diff(f, f_dopt[:loop_count]).max()),
                             dopt_fwd_speedup=(batch / d["fwd_s"]) / (loop_count / r["fwd_s"]))
        if have["cvxpylayers"]:
            try:
                r = time_cvxpylayers(G, h, costs, a.gamma, cvx_count, a.threads)
                f = objective(r["x"], costs[:cvx_count], a.gamma)
                row["cvxpylayers"] = dict(count=cvx_count, canon_s=r["canon_s"], fwd_per_s=cvx_count / r["fwd_s"],
                                          fwdbwd_per_s=cvx_count / r["fwdbwd_s"],
                                          max_rel_obj_diff=float(rel_diff(f, f_dopt[:cvx_count]).max()),
                                          dopt_fwdbwd_speedup=(batch / d["fwdbwd_s"]) / (cvx_count / r["fwdbwd_s"]))
            except Exception as exc:  # a peer's failure is reported, not fatal
                row["cvxpylayers"] = dict(error=f"{type(exc).__name__}: {exc}")
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = dict(dopt_version=dopt.library_version(), threads=f"{a.threads} for every tool (see the script's docstring)",
                  quick=a.quick, seed=a.seed, python=platform.python_version(), machine=platform.machine(),
                  load_average=[load_start, os.getloadavg()[0]],
                  factorization_share=pathlib.Path(a.notes).read_text().strip() if a.notes else factor_share_note(),
                  rows=rows, label="rough: a shared 2-core machine")
    out = pathlib.Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    out.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))


def markdown(res):
    def f(v, spec=".1f"):
        return "-" if v is None else format(v, spec)
    lines = [f"# Sparse QP layer against cvxpylayers, Clarabel, HiGHS ({res['label']})", "",
             f"dopt {res['dopt_version']}; {res['threads']}; load average {res['load_average'][0]:.2f} at the "
             f"start, {res['load_average'][1]:.2f} at the end; seed {res['seed']}{'; --quick' if res['quick'] else ''}.",
             "Instances/s (higher is better); dopt solves the whole batch with the pattern analysed once "
             "(analysis time apart); peers on the first `count` instances of the same batch. Objective "
             "agreement: max relative difference from dopt's objective.", "",
             "| family | n | m | nnz(G) | dopt fwd | dopt fwd+bwd | cvxpylayers fwd+bwd (count) | "
             "dopt / cvxpylayers | Clarabel fwd | HiGHS fwd | dopt fwd / Clarabel | dopt fwd / HiGHS | "
             "obj diff Clarabel / HiGHS / cvxpylayers |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["rows"]:
        d, c, hs, cv = r["dopt"], r.get("clarabel", {}), r.get("highs", {}), r.get("cvxpylayers", {})
        lines.append(
            f"| {r['family']} | {r['n']} | {r['m']} | {r['nnz_G']} | {f(d['fwd_per_s'])} | {f(d['fwdbwd_per_s'])} | "
            f"{f(cv.get('fwdbwd_per_s'), '.2f')} ({cv.get('count', '-')}) | {f(cv.get('dopt_fwdbwd_speedup'))}x | "
            f"{f(c.get('fwd_per_s'))} | {f(hs.get('fwd_per_s'))} | {f(c.get('dopt_fwd_speedup'), '.2f')}x | "
            f"{f(hs.get('dopt_fwd_speedup'), '.2f')}x | {f(c.get('max_rel_obj_diff'), '.1e')} / "
            f"{f(hs.get('max_rel_obj_diff'), '.1e')} / {f(cv.get('max_rel_obj_diff'), '.1e')} |")
    lines.append("")
    for r in res["rows"]:
        d = r["dopt"]
        lines.append(f"- {r['family']}: {r['description']}; batch {r['batch']}, gamma {r['gamma']:g}; dopt solved "
                     f"{d['solved']:.3f}, mean iterations {d['mean_iters']:.1f}, analysis {1e3 * d['analyse_s']:.1f} ms"
                     + (f"; cvxpylayers canonicalization {r['cvxpylayers']['canon_s']:.2f} s (once)"
                        if "canon_s" in r.get("cvxpylayers", {}) else "")
                     + (f"; cvxpylayers: {r['cvxpylayers']['error']}" if "error" in r.get("cvxpylayers", {}) else ""))
    lines += ["", "Factorization share of dopt's time:", "", res["factorization_share"], ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
