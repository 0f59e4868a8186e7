#!/usr/bin/env python
"""PyEPO's own benchmarks trained through dopt and through PyEPO, side by side.

Problems (PyEPO's data generators, PyEPO's settings):
  sp  shortest path on the 5x5 grid (40 arcs, source top-left, sink bottom-right),
      pyepo.data.shortestpath.genData, 5 features; minimization.
  ks  2-dimensional knapsack, 32 items, capacity 20 per dimension,
      pyepo.data.knapsack.genData, 5 features; maximization (integer values).
Costs are a degree-`deg` polynomial of the features with multiplicative uniform noise
of half-width 0.5 (PyEPO's generator; deg in {1, 2, 4, 6} as in its papers).

Model: torch.nn.Linear(5, n) from features to costs, Adam (lr 1e-2), batch 32, trained by
  spo+  SPO+ loss                                  pyepo.func.SPOPlus          / dopt.torch.SPOPlus
  dbb   blackbox differentiation (lambda 10) with
        the true decision cost as loss             pyepo.func.blackboxOpt      / dopt.torch.ilp(method="dbb")
  dpo   perturbed optimizer (sigma 1, 10 samples)
        with the MSE to the true solution          pyepo.func.perturbedOpt     / dopt.torch.ilp(method="perturbed")
  pfyl  perturbed Fenchel-Young (sigma 1, 10 samples)
                                                   pyepo.func.perturbedFenchelYoung / dopt.torch.PerturbedFenchelYoung
PyEPO solves each instance with its gurobipy optModel (pip package gurobipy, size-limited
license), one process as in its defaults; dopt solves each batch in one call to its exact
branch and bound (CPU, all threads of the default context). The dopt layers are built as
drop-ins from PyEPO's optModel (dopt.torch.SPOPlus(optmodel) etc.), which dopt reads with its
sense: the knapsack's maximization runs as the minimization of -c'y, with PyEPO's MAXIMIZE
losses and gradients. For the shortest path, dopt.ilp.Problem.from_pyepo writes PyEPO's 25
flow equalities as 25 one-sided rows inflow - outflow <= d: the same polytope (the rows and the
right-hand sides each sum to zero, so every row holds with equality), half the rows of writing
each equality as two inequalities.

Both libraries train the same initial model on the same batches (same seeds) with the same
labels (PyEPO's optDataset, solved by gurobipy); the two are timed alternately within each
(problem, deg, seed, method), the order flipping with the seed. Time per epoch is the wall
time of the training loop (prediction, loss, backward, optimizer step; no evaluation).
Normalized regret on the test set = sum_i (decision regret_i) / sum_i |z*_i|, the decision
being the optimum for the predicted costs, evaluated by one solver for both libraries.

  python examples/python/pyepo_benchmark.py --quick        # about a minute
  python examples/python/pyepo_benchmark.py                # the grid of the README
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch

import pyepo

METHODS = ("spo+", "dbb", "dpo", "pfyl")
NUM_FEAT = 5
GRID = (5, 5)
KS_ITEMS, KS_DIM, KS_CAP = 32, 2, 20.0
LR, BATCH = 1e-2, 32
DBB_LAMBDA = 10.0
PTB_SIGMA, PTB_SAMPLES = 1.0, 10


# --------------------------------------------------------------------------- data

class Problem:
    """One dataset: features, true costs, PyEPO's optModel, the same problem as dopt data
    (min c'y s.t. A y <= b, y binary) and the sense (+1 minimize, -1 maximize)."""

    def __init__(self, name: str, deg: int, ntrain: int, ntest: int, seed: int, noise: float):
        N = ntrain + ntest
        if name == "sp":
            x, c = pyepo.data.shortestpath.genData(N, NUM_FEAT, GRID, deg=deg, noise_width=noise, seed=seed)
            self.optmodel = pyepo.model.shortestPathModel(GRID, backend="gurobi")
            self.A, self.b = _grid_flow_rows(self.optmodel.arcs, GRID)
            self.sense = 1.0
        elif name == "ks":
            w, x, c = pyepo.data.knapsack.genData(N, NUM_FEAT, KS_ITEMS, dim=KS_DIM, deg=deg, noise_width=noise,
                                                  seed=seed)
            caps = [KS_CAP] * KS_DIM
            self.optmodel = pyepo.model.knapsackModel(w, caps, backend="gurobi")
            self.A, self.b = np.asarray(w, dtype=np.float64), np.asarray(caps, dtype=np.float64)
            self.sense = -1.0
        else:
            raise ValueError(f"problem: expected 'sp' or 'ks', got {name!r}")
        assert (self.sense > 0) == (self.optmodel.modelSense == pyepo.EPO.MINIMIZE)
        self.name, self.deg, self.seed = name, deg, seed
        self.n = c.shape[1]
        # labels: PyEPO's dataset (gurobipy solves every instance once; its progress bar muted)
        with contextlib.redirect_stderr(io.StringIO()):
            self.data = pyepo.data.dataset.optDataset(self.optmodel, x, c)
        X = torch.as_tensor(x, dtype=torch.float32)
        C = torch.as_tensor(c, dtype=torch.float32)
        W = torch.stack([torch.as_tensor(self.data[i][2], dtype=torch.float32) for i in range(N)])
        Z = torch.stack([torch.as_tensor(self.data[i][3], dtype=torch.float32).reshape(1) for i in range(N)])
        self.train = (X[:ntrain], C[:ntrain], W[:ntrain], Z[:ntrain])
        self.test = (X[ntrain:], C[ntrain:], W[ntrain:], Z[ntrain:])


def _grid_flow_rows(arcs, grid):
    """Flow conservation of one unit from node 0 to the last node, inflow - outflow = d,
    as the 25 one-sided rows inflow - outflow <= d: the rows of the node-arc matrix sum
    to zero, as do the d_v, so the slacks (all >= 0) sum to zero and every row holds
    with equality. The same polytope as the two-sided form with half the rows (dopt's
    dense dual simplex then takes half the time)."""
    h, w = grid
    V = h * w
    N = np.zeros((V, len(arcs)))
    for e, (u, v) in enumerate(arcs):
        N[v, e] += 1.0   # inflow
        N[u, e] -= 1.0   # outflow
    d = np.zeros(V)
    d[0], d[V - 1] = -1.0, 1.0
    return N, d


# --------------------------------------------------------------------------- methods

class PyEPOMethod:
    """The method's loss through PyEPO's autograd functions (gurobipy solves)."""

    def __init__(self, prob: Problem, method: str):
        om, self.method, self.sense = prob.optmodel, method, prob.sense
        if method == "spo+":
            self.fn = pyepo.func.SPOPlus(om, processes=1)
        elif method == "dbb":
            self.fn = pyepo.func.blackboxOpt(om, lambd=DBB_LAMBDA, processes=1)
        elif method == "dpo":
            self.fn = pyepo.func.perturbedOpt(om, n_samples=PTB_SAMPLES, sigma=PTB_SIGMA, processes=1)
        elif method == "pfyl":
            self.fn = pyepo.func.perturbedFenchelYoung(om, n_samples=PTB_SAMPLES, sigma=PTB_SIGMA, processes=1)
        else:
            raise ValueError(method)

    def loss(self, cp, c, w, z):
        if self.method == "spo+":
            return self.fn(cp, c, w, z).mean()
        if self.method == "dbb":   # decision cost under the true costs (regret up to a constant)
            return self.sense * (self.fn(cp) * c).sum(1).mean()
        if self.method == "dpo":
            return torch.nn.functional.mse_loss(self.fn(cp), w)
        return self.fn(cp, w).mean()


class DoptMethod:
    """The same losses through dopt's torch layers, built as drop-ins from PyEPO's own
    optModel (dopt reads its arcs / weights and capacity and its sense: dopt minimizes
    c'y over A y <= b, y binary, and runs a maximization as the minimization of -c'y).
    Costs go to dopt in float64 (the knapsack's weights then stay exact)."""

    def __init__(self, prob: Problem, method: str):
        import dopt.torch as dt
        self.method, self.sense = method, prob.sense
        om = prob.optmodel   # the drop-in: dopt reads PyEPO's model and its sense
        if method == "spo+":
            self.fn = dt.SPOPlus(om)
        elif method == "dbb":
            self.fn = dt.ILP("dbb", om, lambd=DBB_LAMBDA)
        elif method == "dpo":   # seed=None: a fresh Philox seed per call, drawn from torch's generator
            self.fn = dt.ILP("perturbed", om, epsilon=PTB_SIGMA, samples=PTB_SAMPLES, seed=None)
        elif method == "pfyl":
            self.fn = dt.PerturbedFenchelYoung(om, n_samples=PTB_SAMPLES, sigma=PTB_SIGMA)
        else:
            raise ValueError(method)

    def loss(self, cp, c, w, z):
        cp = cp.double()
        if self.method == "spo+":
            return self.fn(cp, c.double(), w.double(), z.double()).mean()
        if self.method == "dbb":
            return self.sense * (self.fn(cp) * c).sum(1).mean()
        if self.method == "dpo":
            return torch.nn.functional.mse_loss(self.fn(cp), w.double())
        return self.fn(cp, w.double()).mean()


def check_same_gradients(prob: Problem, batch: int = 32):
    """Loss and gradient of one batch of random predicted costs through PyEPO and dopt, in
    float64: equal up to solver tolerance for SPO+, DBB and PFYL (PFYL draws the same noise:
    dopt's PerturbedFenchelYoung samples as PyEPO's does). DPO's Monte-Carlo streams differ
    (PyEPO: torch.randn with a leave-one-out baseline; dopt: Philox), so it is not compared."""
    X, C, W, Z = (t[:batch].double() for t in prob.train)
    gen = torch.Generator().manual_seed(7)
    cp0 = C.mean() * (1 + torch.randn(C.shape, generator=gen, dtype=torch.float64))
    out = {}
    for method in ("spo+", "dbb", "pfyl"):
        vals = []
        for lib in ("pyepo", "dopt"):
            m = PyEPOMethod(prob, method) if lib == "pyepo" else DoptMethod(prob, method)
            cp = cp0.clone().requires_grad_(True)
            loss = m.loss(cp, C, W, Z)
            loss.backward()
            vals.append((loss.detach(), cp.grad))
        scale = max(1.0, float(vals[0][1].abs().max()))
        out[method] = (abs(float(vals[0][0] - vals[1][0])), float((vals[0][1] - vals[1][1]).abs().max()) / scale)
    return out


# --------------------------------------------------------------------------- evaluation

def solve_batch(prob: Problem, costs: np.ndarray, solver: str) -> np.ndarray:
    """Optimal decisions for a batch of cost vectors (in the problem's own sense)."""
    if solver == "dopt":
        import dopt.ilp
        r = dopt.ilp.solve(np.ascontiguousarray(costs * prob.sense, dtype=np.float64), prob.A, prob.b, 0, 1)
        if not np.all(r.status == 0):
            raise RuntimeError(f"dopt: {int(np.sum(r.status != 0))} test instances not solved")
        return np.asarray(r.y)
    out = np.empty_like(costs)
    for i in range(costs.shape[0]):
        prob.optmodel.setObj(costs[i])
        out[i], _ = prob.optmodel.solve()
    return out


def normalized_regret(prob: Problem, model: torch.nn.Module, solver: str) -> float:
    X, C, W, Z = prob.test
    with torch.no_grad():
        cp = model(X).double().numpy()
    y = solve_batch(prob, cp, solver)
    c, z = C.double().numpy(), Z.double().numpy().ravel()
    regret = prob.sense * ((c * y).sum(1) - z)
    return float(regret.sum() / np.abs(z).sum())


# --------------------------------------------------------------------------- training

def train(prob: Problem, lib: str, method: str, epochs: int, seed: int):
    torch.manual_seed(1000 + seed)
    model = torch.nn.Linear(NUM_FEAT, prob.n)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    m = PyEPOMethod(prob, method) if lib == "pyepo" else DoptMethod(prob, method)
    X, C, W, Z = prob.train
    gen = torch.Generator().manual_seed(2000 + seed)
    seconds = 0.0
    for _ in range(epochs):
        perm = torch.randperm(X.shape[0], generator=gen)
        t0 = time.perf_counter()
        for s in range(0, X.shape[0], BATCH):
            idx = perm[s:s + BATCH]
            loss = m.loss(model(X[idx]), C[idx], W[idx], Z[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds += time.perf_counter() - t0
    return model, seconds / epochs


# --------------------------------------------------------------------------- main

def machine_line():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, pyepo {pyepo.__version__}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small grid that runs in about a minute")
    ap.add_argument("--problems", default="sp,ks")
    ap.add_argument("--degs", default="1,2,4,6")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--libs", default="pyepo,dopt")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--ntrain", default="sp:1000,ks:100", help="training size per problem")
    ap.add_argument("--ntest", type=int, default=1000)
    ap.add_argument("--epochs", default="sp:5,ks:20", help="epochs per problem")
    ap.add_argument("--noise", type=float, default=0.5)
    ap.add_argument("--eval", default="dopt", choices=("dopt", "gurobi"), help="solver of the test decisions")
    ap.add_argument("--check-only", action="store_true",
                    help="only compare one batch's losses and gradients through both libraries")
    a = ap.parse_args(argv)
    if a.quick:
        a.degs, a.seeds, a.ntrain, a.ntest, a.epochs = "4", 2, "sp:100,ks:100", 200, "sp:3,ks:2"
    problems = a.problems.split(",")
    degs = [int(d) for d in a.degs.split(",")]
    methods = a.methods.split(",")
    libs = a.libs.split(",")
    ntrain = _per_problem(a.ntrain, problems)
    epochs = _per_problem(a.epochs, problems)
    for m in methods:
        if m not in METHODS:
            ap.error(f"--methods: expected names among {METHODS}, got {m!r}")
    torch.set_num_threads(1)   # the linear model is tiny; the solvers get the cores

    print(f"# machine: {machine_line()}; load average at start {os.getloadavg()[0]:.2f}", flush=True)
    print(f"# command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}", flush=True)
    print("\nsame batch, random predicted costs, float64: |loss difference|, max |gradient difference| "
          "(relative to the largest gradient entry)")
    for p in problems:
        prob = Problem(p, degs[0], 64, 1, seed=0, noise=a.noise)
        for method, (dl, dg) in check_same_gradients(prob).items():
            print(f"  {p:2s} {method:5s} loss {dl:.2e}  gradient {dg:.2e}")
    if a.check_only:
        return
    results = {}   # (problem, deg, method, lib) -> list of (regret, s/epoch)
    t_start = time.perf_counter()
    for p in problems:
        for deg in degs:
            for seed in range(a.seeds):
                prob = Problem(p, deg, ntrain[p], a.ntest, seed=seed, noise=a.noise)
                if a.eval == "dopt":   # dopt's optima of the test costs against gurobipy's labels
                    X, C, W, Z = prob.test
                    yd = solve_batch(prob, C.double().numpy(), "dopt")
                    gap = np.abs((C.double().numpy() * yd).sum(1) - Z.double().numpy().ravel()).max()
                    if gap > 1e-4 * max(1.0, float(Z.abs().max())):
                        raise RuntimeError(f"{p} deg {deg} seed {seed}: dopt's test optima differ from gurobipy's "
                                           f"by {gap:g}")
                for method in methods:
                    order = libs if seed % 2 == 0 else libs[::-1]
                    for lib in order:
                        model, spe = train(prob, lib, method, epochs[p], seed)
                        reg = normalized_regret(prob, model, a.eval)
                        results.setdefault((p, deg, method, lib), []).append((reg, spe))
                        print(f"  {p} deg {deg} seed {seed} {method:5s} {lib:6s} regret {reg:.4f}  "
                              f"{spe * 1e3:9.1f} ms/epoch  (load {os.getloadavg()[0]:.2f})", file=sys.stderr,
                              flush=True)
    total = time.perf_counter() - t_start
    print_table(results, problems, degs, methods, libs, ntrain, epochs, a)
    print(f"\n({total:.0f} s in all; load average at the end {os.getloadavg()[0]:.2f})")


def _per_problem(spec, problems):
    out = {}
    for part in spec.split(","):
        if ":" in part:
            k, v = part.split(":")
            out[k] = int(v)
        else:
            out.update({p: int(part) for p in problems})
    return out


def _ms(xs):
    return f"{statistics.fmean(xs):.2f} +- {statistics.stdev(xs):.2f}" if len(xs) > 1 else f"{xs[0]:.2f}"


def print_table(results, problems, degs, methods, libs, ntrain, epochs, a):
    names = {"sp": "shortest path 5x5", "ks": f"knapsack {KS_ITEMS}x{KS_DIM}"}
    print(f"\nnormalized regret on {a.ntest} test instances (%, mean +- std over {a.seeds} seeds), "
          f"time per epoch (ms, mean over seeds); noise half-width {a.noise}")
    head = ["problem", "n train x epochs", "deg", "method"]
    for lib in libs:
        head += [f"{lib} regret %", f"{lib} ms/epoch"]
    if "pyepo" in libs and "dopt" in libs:
        head += ["speed-up"]
    print("| " + " | ".join(head) + " |")
    print("| " + " | ".join(["---"] * 4 + ["--:"] * (len(head) - 4)) + " |")
    for p in problems:
        for deg in degs:
            for m in methods:
                row = [names[p], f"{ntrain[p]} x {epochs[p]}", str(deg), m]
                t = {}
                for lib in libs:
                    rs = results.get((p, deg, m, lib), [])
                    if not rs:
                        row += ["", ""]
                        continue
                    row += [_ms([100 * r for r, _ in rs]), f"{1e3 * statistics.fmean(s for _, s in rs):.1f}"]
                    t[lib] = statistics.fmean(s for _, s in rs)
                if "pyepo" in t and "dopt" in t:
                    row += [f"{t['pyepo'] / t['dopt']:.1f}x"]
                print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
