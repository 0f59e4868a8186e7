"""Ragged batches through the sparse layer: B different graphs (one sparsity
pattern each) solved and differentiated in one call
(dopt.qp.solve_sparse_groups + backward_sparse_groups) against a Python loop
of dopt.qp.solve_sparse + backward_sparse per graph, and against
cvxpylayers the way a ragged batch has to go through it: one CvxpyLayer per
pattern (its canonicalization counted apart), forward + backward per graph.

Instances: the gamma-regularized edge relaxation of maximum independent set
(bench/kkt_problems.py) on Erdos-Renyi graphs G(n, avg degree), a new graph
and new weights per instance. Both dopt columns include each graph's
analysis (ordering, symbolic factorization): a new pattern needs one. The
two dopt paths must give bitwise the same x (checked).

Threads: dopt at 1 and at every core (dopt.set_num_threads); the peers'
BLAS / OpenMP pools are pinned to 1 before numpy loads, torch too, and
diffcp's n_jobs to 1 (as bench/compare_sparse.py).

Run: PYTHONPATH=python DOPT_LIBRARY=build-so/src/libdopt.so \\
     python bench/sparse_groups.py [--graphs 64] [--nodes 500] [--degree 4] [--peer-graphs 8]
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy / torch load their thread pools

import argparse  # noqa: E402
import pathlib  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import kkt_problems as P  # noqa: E402


def graphs(count, nodes, degree, gamma, seed, nodes_max=None):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        size = nodes if not nodes_max else int(rng.integers(nodes, nodes_max + 1))
        rel = P.mis_relaxation(size, P.erdos_renyi(size, degree, rng), 1 + rng.random(size))
        out.append({"Q": gamma * sp.identity(size, format="csr"), "p": rel.p, "G": rel.G, "h": rel.h})
    return out


def time_loop(problems):
    import dopt.qp as dq
    t0 = time.perf_counter()
    xs = []
    for g in problems:
        res = dq.solve_sparse(**g, record=True)
        dq.backward_sparse(res.tape, np.ones_like(res.x), wanted=("p", "G", "h"))
        xs.append(res.x)
    return time.perf_counter() - t0, xs


def time_groups(problems):
    import dopt.qp as dq
    t0 = time.perf_counter()
    res = dq.solve_sparse_groups(problems, record=True)
    dq.backward_sparse_groups([r.tape for r in res], [np.ones_like(r.x) for r in res], wanted=("p", "G", "h"))
    return time.perf_counter() - t0, [r.x for r in res], [r.status for r in res]


def time_cvxpylayers(problems, gamma):
    import cvxpy as cp
    import torch
    from cvxpylayers.torch import CvxpyLayer
    torch.set_num_threads(1)
    canon = solve = 0.0
    xs = []
    for g in problems:
        n = g["G"].shape[1]
        x, c = cp.Variable(n), cp.Parameter(n)
        t0 = time.perf_counter()
        layer = CvxpyLayer(cp.Problem(cp.Minimize(c @ x + 0.5 * gamma * cp.sum_squares(x)), [g["G"] @ x <= g["h"]]),
                           parameters=[c], variables=[x])
        t1 = time.perf_counter()
        cost = torch.tensor(g["p"], requires_grad=True)
        (sol,) = layer(cost, solver_args={"n_jobs_forward": 1, "n_jobs_backward": 1})
        sol.sum().backward()
        t2 = time.perf_counter()
        canon += t1 - t0
        solve += t2 - t1
        xs.append(sol.detach().numpy())
    return canon, solve, xs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--graphs", type=int, default=64, help="graphs in the ragged batch (default 64)")
    ap.add_argument("--nodes", type=int, default=500, help="nodes per graph (default 500)")
    ap.add_argument("--nodes-max", type=int, default=0,
                    help="draw each graph's size uniformly from [--nodes, --nodes-max] (default 0: all --nodes)")
    ap.add_argument("--degree", type=float, default=4.0, help="average degree (default 4)")
    ap.add_argument("--gamma", type=float, default=0.1, help="Q = gamma I (default 0.1)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions, best kept (default 3)")
    ap.add_argument("--peer-graphs", type=int, default=8,
                    help="graphs for cvxpylayers (0: skip it; default 8, its time scaled per graph)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    import dopt
    problems = graphs(args.graphs, args.nodes, args.degree, args.gamma, args.seed, args.nodes_max)
    edges = np.mean([g["G"].shape[0] - 2 * g["G"].shape[1] for g in problems])
    sizes = f"{args.nodes}..{args.nodes_max}" if args.nodes_max else f"{args.nodes}"
    print(f"{args.graphs} Erdos-Renyi graphs, n = {sizes}, average degree {args.degree} "
          f"({edges:.0f} edges on average), gamma = {args.gamma}; {os.cpu_count()} CPUs")
    rows = []
    for threads in (1, 0):
        dopt.set_num_threads(threads)
        loop = min(time_loop(problems)[0] for _ in range(args.reps))
        best, xs_g, st = None, None, None
        for _ in range(args.reps):
            t, xs_g, st = time_groups(problems)
            best = t if best is None else min(best, t)
        xs_l = time_loop(problems)[1]
        same = all(np.array_equal(a, b) for a, b in zip(xs_l, xs_g))
        solved = sum(int(np.all(s == 0)) for s in st)
        label = "1" if threads == 1 else f"all ({os.cpu_count()})"
        rows.append((label, loop, best, same, solved))
        print(f"dopt threads {label}: loop {loop:.3f} s, groups {best:.3f} s ({loop / best:.2f}x); "
              f"bitwise equal: {same}; solved {solved}/{args.graphs}")
    if args.peer_graphs > 0:
        dopt.set_num_threads(1)
        sub = problems[:args.peer_graphs]
        canon, solve, xs_c = time_cvxpylayers(sub, args.gamma)
        per = (canon + solve) / len(sub)
        dopt_per = rows[0][2] / args.graphs
        obj = [float(g["p"] @ x + 0.5 * args.gamma * x @ x) for g, x in zip(sub, xs_c)]
        mine = [float(g["p"] @ x + 0.5 * args.gamma * x @ x) for g, x in zip(sub, xs_g)]
        agree = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(obj, mine))
        print(f"cvxpylayers, one layer per graph, {len(sub)} graphs: canonicalization {canon / len(sub):.3f} s + "
              f"forward+backward {solve / len(sub):.3f} s per graph; dopt groups (1 thread) {dopt_per * 1e3:.2f} ms "
              f"per graph: {per / dopt_per:.0f}x ({solve / len(sub) / dopt_per:.0f}x without canonicalization); "
              f"objectives agree to {agree:.1e} relative")


if __name__ == "__main__":
    main()
