#!/usr/bin/env python3
"""Times dopt against qpth, cvxpylayers and ProxSuite on identical QP batches.

dopt writes the instances (its known-solution generator) with
`dopt bench qp --export`; this script loads the same .npy files, times each
tool's forward and forward+backward in the same run, checks every tool's
solution against the known optimum, and prints throughput and ratios.
It also measures the machine's DGEMM rate (NumPy's BLAS) as the hardware
reference. Run it with bench/run_compare.sh, which builds the virtual
environment it needs.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np


def timed(fn, min_time=0.5, max_reps=20):
    """Best wall time of fn() over repetitions (at least one)."""
    best, total, reps, out = float("inf"), 0.0, 0, None
    while reps == 0 or (total < min_time and reps < max_reps):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        best, total, reps = min(best, dt), total + dt, reps + 1
    return best, out


def dgemm_rate(threads):
    from threadpoolctl import threadpool_limits

    n = 2048
    a = np.random.default_rng(0).standard_normal((n, n))
    b = np.random.default_rng(1).standard_normal((n, n))
    with threadpool_limits(limits=threads):
        a @ b
        t, _ = timed(lambda: a @ b, 1.0)
    return 2.0 * n**3 / t / 1e9


def load(d):
    """The instances and their constructed optimum x* (xstar.npy)."""
    data = {k: np.load(os.path.join(d, k + ".npy")) for k in ["Q", "p", "G", "h", "A", "b"]}
    data["xs"] = np.load(os.path.join(d, "xstar.npy"))
    return data


def run_qpth(data, threads):
    import torch
    from qpth.qp import QPFunction

    torch.set_num_threads(threads)
    T = {k: torch.from_numpy(v) for k, v in data.items() if k != "xs"}
    # qpth's defaults (eps 1e-12, 20 iterations) reach well below dopt's 1e-8
    layer = QPFunction(verbose=-1, check_Q_spd=False)

    def fwd():
        with torch.no_grad():
            return layer(T["Q"], T["p"], T["G"], T["h"], T["A"], T["b"])

    def fwd_bwd():
        p = T["p"].clone().requires_grad_(True)
        G = T["G"].clone().requires_grad_(True)
        h = T["h"].clone().requires_grad_(True)
        x = layer(T["Q"], p, G, h, T["A"], T["b"])
        x.sum().backward()
        return x.detach()

    tf, x = timed(fwd)
    tfb, _ = timed(fwd_bwd)
    return tf, tfb, np.abs(x.numpy() - data["xs"]).max()


def run_cvxpylayers(data, threads, max_batch):
    import cvxpy as cp
    import torch
    from cvxpylayers.torch import CvxpyLayer

    torch.set_num_threads(threads)
    B = min(data["p"].shape[0], max_batch)
    n, m, k = data["p"].shape[1], data["h"].shape[1], data["b"].shape[1]
    # DPP form: 1/2 x'Qx = 1/2 |R x|^2 with R the Cholesky factor of Q
    R = np.linalg.cholesky(data["Q"][:B]).transpose(0, 2, 1)
    x = cp.Variable(n)
    Rp, pp, Gp, hp = cp.Parameter((n, n)), cp.Parameter(n), cp.Parameter((m, n)), cp.Parameter(m)
    Ap, bp = cp.Parameter((k, n)), cp.Parameter(k)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(Rp @ x) + pp @ x), [Gp @ x <= hp, Ap @ x == bp])
    layer = CvxpyLayer(prob, parameters=[Rp, pp, Gp, hp, Ap, bp], variables=[x])
    args = [torch.from_numpy(a) for a in (R, data["p"][:B], data["G"][:B], data["h"][:B], data["A"][:B], data["b"][:B])]
    sargs = {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 100000}

    def fwd():
        with torch.no_grad():
            return layer(*args, solver_args=sargs)[0]

    def fwd_bwd():
        a = [t.clone().requires_grad_(True) for t in args]
        xs = layer(*a, solver_args=sargs)[0]
        xs.sum().backward()
        return xs.detach()

    tf, xo = timed(fwd, 0.0, 1)
    tfb, _ = timed(fwd_bwd, 0.0, 1)
    return tf, tfb, np.abs(xo.numpy() - data["xs"][:B]).max(), B


def run_proxsuite(data, threads):
    import proxsuite
    import torch

    dense = proxsuite.proxqp.dense
    B, n = data["p"].shape
    m, k = data["h"].shape[1], data["b"].shape[1]

    def build():
        qps = dense.BatchQP()
        for i in range(B):
            qp = qps.init_qp_in_place(n, k, m)
            qp.settings.eps_abs = 1e-9
            qp.settings.eps_rel = 0
            qp.init(data["Q"][i], data["p"][i], data["A"][i], data["b"][i], data["G"][i],
                    np.full(m, -1e20), data["h"][i])
        return qps

    def fwd():
        qps = build()
        dense.solve_in_parallel(num_threads=threads, qps=qps)
        return np.stack([qps.get(i).results.x for i in range(B)])

    tf, x = timed(fwd)
    t_build, _ = timed(build)
    # forward + backward through the torch layer (OpenMP-parallel over the batch)
    from proxsuite.torch.qplayer import QPFunction

    torch.set_num_threads(threads)
    T = {kk: torch.from_numpy(v) for kk, v in data.items() if kk != "xs"}
    l = torch.full((B, m), -1e20, dtype=torch.float64)

    def fwd_bwd():
        p = T["p"].clone().requires_grad_(True)
        h = T["h"].clone().requires_grad_(True)
        xs = QPFunction(eps=1e-9, omp_parallel=True)(T["Q"], p, T["A"], T["b"], T["G"], l, h)[0]
        xs.sum().backward()
        return xs.detach()

    tfb, _ = timed(fwd_bwd)
    return tf, tfb, np.abs(x - data["xs"]).max(), t_build


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dopt", default="build/dopt")
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--cvxpylayers-max-batch", type=int, default=1 << 30)
    ap.add_argument("--skip", default="", help="comma list of tools to skip: qpth,cvxpylayers,proxsuite")
    ap.add_argument("--work", default="bench/data")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    js = os.path.join(a.work, "dopt.json")
    subprocess.run([a.dopt, "bench", "qp", "--batch", str(a.batch), "--n", str(a.n), "--threads", str(a.threads),
                    "--export", a.work, "--json", js], check=True)
    d = json.load(open(js))[0]
    # dopt again at qpth's accuracy (its eps 1e-12 reaches |x - x*| ~ 1e-13)
    js2 = os.path.join(a.work, "dopt_tight.json")
    subprocess.run([a.dopt, "bench", "qp", "--batch", str(a.batch), "--n", str(a.n), "--threads", str(a.threads),
                    "--tol", "1e-12", "--json", js2], check=True)
    d2 = json.load(open(js2))[0]
    inst = os.path.join(a.work, "B%d_n%d" % (a.batch, a.n))
    data = load(inst)
    B = a.batch
    print("\nmachine: %s, %s, %d threads used" % (platform.processor() or platform.machine(), cpu_model(), a.threads))
    g1, gt = dgemm_rate(1), dgemm_rate(a.threads)
    print("DGEMM (NumPy/OpenBLAS, 2048^3): %.1f GFLOP/s on 1 core, %.1f GFLOP/s on %d" % (g1, gt, a.threads))
    rows = [("dopt (tol 1e-8, default)", d["fwd_s"], d["fwd_bwd_s"], d["max_err"], B),
            ("dopt (tol 1e-12)", d2["fwd_s"], d2["fwd_bwd_s"], d2["max_err"], B)]
    skip = set(a.skip.split(","))
    if "qpth" not in skip:
        tf, tfb, err = run_qpth(data, a.threads)
        rows.append(("qpth", tf, tfb, err, B))
    if "proxsuite" not in skip:
        tf, tfb, err, tb = run_proxsuite(data, a.threads)
        rows.append(("proxsuite", tf, tfb, err, B))
        rows.append(("proxsuite (solve only, setup %.3fs excl.)" % tb, max(tf - tb, 1e-9), float("nan"), err, B))
    if "cvxpylayers" not in skip:
        tf, tfb, err, Bc = run_cvxpylayers(data, a.threads, a.cvxpylayers_max_batch)
        rows.append(("cvxpylayers", tf, tfb, err, Bc))
    print("\nB=%d n=%d m=%d k=%d float64" % (B, d["n"], d["m"], d["k"]))
    print("dopt/x: dopt at its default tol 1e-8 (first) and at tol 1e-12 (second, qpth's accuracy)")
    print("%-44s %12s %14s %16s %18s %10s" % ("tool", "fwd inst/s", "fwd+bwd inst/s", "dopt/x fwd", "dopt/x fwd+bwd",
                                               "max|x-x*|"))
    df, dfb = B / d["fwd_s"], B / d["fwd_bwd_s"]
    tf2, tfb2 = B / d2["fwd_s"], B / d2["fwd_bwd_s"]
    for name, tf, tfb, err, nb in rows:
        f, fb = nb / tf, nb / tfb
        print("%-44s %12.0f %14.0f %7.1f / %6.1f %8.1f / %7.1f %10.1e" % (name, f, fb, df / f, tf2 / f, dfb / fb,
                                                                         tfb2 / fb, err))


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
