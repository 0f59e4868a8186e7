"""Throughput of `dopt ilp solve` against a loop over HiGHS (highspy) on the
same CombOptNet random-constraint instances in the same run, with the
optimal objectives compared instance by instance.

usage: compare_ilp.py DOPT_BINARY [--batch B] [--threads N] [--workdir DIR]"""
import argparse
import os
import platform
import re
import subprocess
import time

import highspy
import numpy as np

from highs_ilp import exact_highs, solve as highs_solve


def rc_instances(rng, B, n, m, lo, hi):
    """CombOptNet's random constraints (one constraint set per instance):
    unit normals a_k, origins o_k uniform in the central half of the box,
    b_k = r + a_k'o_k with r = 0.2 (box width), signs flipped so that a random
    box corner is feasible; costs are random unit vectors."""
    width = hi - lo
    a = rng.normal(size=(B, m, n))
    a /= np.linalg.norm(a, axis=2, keepdims=True)
    center = 0.5 * (lo + hi)
    o = center + (rng.random(size=(B, m, n)) - 0.5) * 0.5 * width
    r = 0.2 * width
    corner = np.where(rng.random(size=(B, n)) < 0.5, lo, hi).astype(float)
    viol = np.einsum("bmn,bn->bm", a, corner) > r + np.einsum("bmn,bmn->bm", a, o)
    a[viol] *= -1
    b = r + np.einsum("bmn,bmn->bm", a, o)
    c = rng.normal(size=(B, n))
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    lb = np.full(n, float(lo))
    ub = np.full(n, float(hi))
    return c, a, b, lb, ub


def highs_loop(c, A, b, lb, ub):
    h = exact_highs()
    obj = np.empty(len(c))
    t0 = time.perf_counter()
    for i in range(len(c)):
        ref = highs_solve(h, c[i], A[i], b[i], lb, ub)
        obj[i] = np.inf if ref is None else ref
    return obj, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dopt")
    ap.add_argument("--batch", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--workdir", default="bench/data/ilp")
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"machine: {cpu}, {os.cpu_count()} logical CPUs; HiGHS {highspy.Highs().version()} (1 thread, gap 0)")
    print(f"{'family':24s} {'B':>6s} {'dopt ms':>9s} {'inst/s':>9s} {'HiGHS s':>8s} {'inst/s':>7s} "
          f"{'ratio':>7s} {'nodes':>6s} {'same obj':>9s}")
    for name, lo, hi in (("binary RC n=16 m=8", 0, 1), ("dense RC [-5,5]^16 m=8", -5, 5)):
        c, A, b, lb, ub = rc_instances(rng, args.batch, 16, 8, lo, hi)
        d = os.path.join(args.workdir, "binary" if lo == 0 else "dense")
        os.makedirs(d, exist_ok=True)
        for k, v in dict(c=c, A=A, b=b, lb=lb, ub=ub).items():
            np.save(os.path.join(d, f"{k}.npy"), v)
        cmd = [args.dopt, "ilp", "solve", d] + (["--threads", str(args.threads)] if args.threads else [])
        best = np.inf
        for _ in range(3):  # best of three calls (the tool's own timer: solve only, no file I/O)
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            best = min(best, float(re.search(r"in ([0-9.]+) ms", out).group(1)))
        nodes = np.load(os.path.join(d, "nodes.npy"))
        obj = np.load(os.path.join(d, "obj.npy"))
        status = np.load(os.path.join(d, "status.npy"))
        ref, t_highs = highs_loop(c, A, b, lb, ub)
        same = np.sum((status == 0) & (np.abs(obj - ref) <= 1e-9 * np.maximum(1, np.abs(ref))))
        same += np.sum((status == 1) & np.isinf(ref))
        B = args.batch
        print(f"{name:24s} {B:6d} {best:9.1f} {B / best * 1e3:9.0f} {t_highs:8.2f} {B / t_highs:7.0f} "
              f"{t_highs / (best * 1e-3):6.0f}x {nodes.mean():6.1f} {same:5d}/{B}")


if __name__ == "__main__":
    main()
