"""Rough throughput of the cone layer against Clarabel (a loop, forward
only: it has no backward) and cvxpylayers (its default diffcp path,
forward + backward), same instances in the same run (docs/CONE.md).

Families: the CHSH NPA level-1 SDP (x in R^10, one PSD cone of order 5)
with random Bell coefficients, and random feasible SOCPs (n = 10, three
second-order cones of size 5, k = 2). Per-instance times; the peers run on
a subset (--peer-count) and are reported per instance. dopt's and
cvxpylayers' times are the best of three calls on the same batch (so
neither pays its first call's one-time costs); Clarabel's is one pass of
its loop.

Run: PYTHONPATH=python DOPT_LIBRARY=... python bench/compare_cone.py [--batch 1024]
(needs numpy; clarabel and cvxpylayers/cvxpy/torch are optional.)
"""
import argparse
import importlib.util
import os
import sys
import time

import numpy as np

import dopt

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))


def chsh_family(rng, B):
    """The CHSH scenario's NPA level-1 SDP (dopt.npa) with random correlator
    coefficients: maximize sum_xy s_xy <A_x B_y>."""
    import dopt.npa
    sc = dopt.npa.Scenario(2, 2, level=1)
    s = rng.standard_normal((B, 2, 2))
    c = sc.objective(np.zeros((B, 2)), np.zeros((B, 2)), s)
    return dict(c=c, G=sc.G, h=sc.h, A=None, b=None, l=0, q=[], s=[sc.size])


def socp_family(rng, B):
    import gen_cone_fixtures as gen
    n, k, q = 10, 2, [5, 5, 5]
    cs, Gs, hs, As, bs = [], [], [], [], []
    for _ in range(B):
        c, G, h, A, b = gen.instance(rng, n, k, 0, q, [])
        cs.append(c), Gs.append(G), hs.append(h), As.append(A), bs.append(b)
    return dict(c=np.array(cs), G=np.array(Gs), h=np.array(hs), A=np.array(As), b=np.array(bs), l=0, q=q, s=[])


def time_dopt(p, reps=3):
    best_f = best_fb = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        res = dopt.cone.solve(p["c"], p["G"], p["h"], p["A"], p["b"], l=p["l"], q=p["q"], s=p["s"], record=True)
        t1 = time.perf_counter()
        dopt.cone.backward(res.tape, np.ones_like(res.x))
        t2 = time.perf_counter()
        best_f, best_fb = min(best_f, t1 - t0), min(best_fb, t2 - t0)
    B = p["c"].shape[0]
    return best_f / B, best_fb / B, res


def time_clarabel(p, count):
    import clarabel
    import gen_cone_fixtures as gen
    t0 = time.perf_counter()
    xs = []
    for i in range(count):
        G = p["G"] if p["G"].ndim == 2 else p["G"][i]
        h = p["h"] if p["h"].ndim == 1 else p["h"][i]
        A = None if p["A"] is None else p["A"][i]
        b = None if p["b"] is None else p["b"][i]
        k = 0 if A is None else A.shape[0]
        x, _, _ = gen.clarabel_solve(p["c"][i], G, h, A if k else np.zeros((0, G.shape[1])),
                                     b if k else np.zeros(0), p["l"], p["q"], p["s"], tol=1e-8)
        xs.append(x)
    return (time.perf_counter() - t0) / count, np.array(xs)


def time_cvxpylayers(p, count, reps=3):
    import cvxpy as cp
    import torch
    from cvxpylayers.torch import CvxpyLayer
    n = p["c"].shape[1]
    x = cp.Variable(n)
    c = cp.Parameter(n)
    cons = []
    if p["s"]:  # h - Gx = svec(Gamma) PSD: Gamma as a matrix expression
        sdim = p["s"][0]
        idx = [(i, j) for j in range(sdim) for i in range(j, sdim)]
        vec = p["h"] - p["G"] @ x
        entries = {}
        for r, (i, j) in enumerate(idx):
            entries[(i, j)] = vec[r] / (1 if i == j else np.sqrt(2))
        Gam = cp.bmat([[entries[(max(i, j), min(i, j))] for j in range(sdim)] for i in range(sdim)])
        cons.append(Gam >> 0)
        G, h, A, b = (torch.tensor(np.zeros(0)),) * 4
        params, values = [c], [torch.tensor(p["c"][:count])]
    else:
        m, k = p["G"].shape[1], p["A"].shape[1]
        Gp, hp, Ap, bp = cp.Parameter((m, n)), cp.Parameter(m), cp.Parameter((k, n)), cp.Parameter(k)
        off = 0
        for q in p["q"]:
            sl = hp[off:off + q] - Gp[off:off + q] @ x
            cons.append(cp.SOC(sl[0], sl[1:]))
            off += q
        cons.append(Ap @ x == bp)
        params = [c, Gp, hp, Ap, bp]
        values = [torch.tensor(p[name][:count]) for name in ("c", "G", "h", "A", "b")]
    layer = CvxpyLayer(cp.Problem(cp.Minimize(c @ x), cons), parameters=params, variables=[x])
    for v in values:
        v.requires_grad_(True)
    best = float("inf")
    for _ in range(reps):  # best of reps, as for dopt: the first call's one-time costs do not count
        t0 = time.perf_counter()
        (sol,) = layer(*values)
        sol.sum().backward()
        best = min(best, time.perf_counter() - t0)
    return best / count, sol.detach().numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--peer-count", type=int, default=128)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"dopt {dopt.library_version()}, threads {dopt.get_num_threads()}, batch {args.batch}; peers on "
          f"{args.peer_count} of the same instances; per-instance times (rough: a shared machine)")
    for name, family in (("CHSH NPA-1 SDP", chsh_family), ("random SOCP", socp_family)):
        p = family(rng, args.batch)
        f, fb, res = time_dopt(p)
        line = f"{name:16s} dopt fwd {1e6 * f:8.1f} us, fwd+bwd {1e6 * fb:8.1f} us, solved {(res.status == 0).mean():.3f}"
        if importlib.util.find_spec("clarabel"):
            t, xs = time_clarabel(p, args.peer_count)
            err = np.abs(xs - res.x[:args.peer_count]).max()
            line += f" | clarabel fwd {1e6 * t:8.1f} us ({t / f:5.1f}x dopt fwd; max |x diff| {err:.1e})"
        if importlib.util.find_spec("cvxpylayers"):
            try:
                t, xs = time_cvxpylayers(p, args.peer_count)
                line += f" | cvxpylayers fwd+bwd {1e6 * t:9.1f} us ({t / fb:6.1f}x dopt)"
            except Exception as exc:  # a peer's failure is reported, not fatal
                line += f" | cvxpylayers failed: {type(exc).__name__}: {exc}"
        print(line)


if __name__ == "__main__":
    main()
