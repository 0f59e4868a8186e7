#!/usr/bin/env python3
"""The QP comparison of bench/compare_qp.py, through dopt's Python layer.

For each batch size (default B = 1 and B = 1024; n = 32, m = n = 32
inequalities, k = n/4 = 8 equalities, float64, as `dopt bench qp` and
bench/compare_qp.py), `dopt bench qp --export` writes the instances of its
known-solution generator (seed 2026) and every tool below solves that
identical batch, forward + backward with dL/dx = 1 and the gradients of p, G
and h (what `dopt bench qp` times):

  C call, CLI     `dopt bench qp --batch B --n 32` itself: the library without
                  Python (its own best-of timing, its own process);
  C call, ctypes  dopt_qp_solve + dopt_qp_backward on pre-made buffers and
                  structs, one tape reused, through ctypes alone: the library's
                  time in this process, with nothing of the Python layer;
  dopt.qp         dopt.qp.solve(record=True) + dopt.qp.backward, numpy in/out;
  dopt.qp torch   the same with CPU torch tensors;
  dopt.torch.QPFunction   the autograd layer, qpth's signature: x.sum().backward()
                  (when the installed dopt has it; run with PYTHONPATH pointing
                  at a tree that does);
  qpth, ProxSuite's torch QPFunction, cvxpylayers: as in bench/compare_qp.py.

The tools run in alternation, round after round (each round times every tool
once, best of repetitions filling --min-time), so that they share the load of
a shared machine; the table gives the best over the rounds and the ratio of
the Python layer to the C call taken per round (median over rounds). The
machine's limits are measured in the same run: DGEMM (numpy and torch
matmul), and a memory-bandwidth triad.

Run (bench/run_compare.sh --python [DOPT_BINARY] [options] does it in the
benchmark venv), with the dopt command and a shared libdopt built with the
same flags, e.g.

  cmake -S . -B build-native -DBUILD_SHARED_LIBS=ON -DDOPT_NATIVE=ON \
        -DDOPT_WITH_CUDA=OFF -DDOPT_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release
  cmake --build build-native -j2
  PYTHONPATH=python DOPT_LIBRARY=build-native/src/libdopt.so \
    python bench/compare_qp_python.py --dopt build-native/dopt

The ratio columns use the ctypes call of the loaded library (the same code
as the layer); the CLI row is comparable only when both come from one build.
"""
import argparse
import ctypes
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import types

import numpy as np

PARAMS = ("Q", "p", "G", "h", "A", "b")


# ---- timing -----------------------------------------------------------------

def timed(fn, min_time, max_reps=200):
    """Best wall time of fn() over repetitions filling min_time (at least 2:
    the first call may allocate what later calls reuse, as a training loop)."""
    best, total, reps, out = float("inf"), 0.0, 0, None
    while reps < 2 or (total < min_time and reps < max_reps):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        best, total, reps = min(best, dt), total + dt, reps + 1
    return best, out


# ---- the machine ------------------------------------------------------------

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(threads):
    """DGEMM rates (numpy's BLAS on 1 and `threads` cores, torch.matmul on
    `threads`) and the memory bandwidth of a triad a = b + s c over
    3 x 256 MiB float64 arrays (torch, `threads` threads; 24 bytes moved per
    element, write-allocate not counted)."""
    import torch
    from threadpoolctl import threadpool_limits

    out = {}
    n = 2048
    a = np.random.default_rng(0).standard_normal((n, n))
    b = np.random.default_rng(1).standard_normal((n, n))
    for t in (1, threads):
        with threadpool_limits(limits=t):
            a @ b
            dt, _ = timed(lambda: a @ b, 1.0, 20)
        out["dgemm_numpy_%d" % t] = 2.0 * n**3 / dt / 1e9
    torch.set_num_threads(threads)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    ta @ tb
    dt, _ = timed(lambda: ta @ tb, 1.0, 20)
    out["dgemm_torch_%d" % threads] = 2.0 * n**3 / dt / 1e9
    N = 256 * 2**20 // 8
    x, y, z = torch.empty(N, dtype=torch.float64), torch.rand(N, dtype=torch.float64), torch.rand(N, dtype=torch.float64)
    torch.add(y, z, alpha=3.0, out=x)
    dt, _ = timed(lambda: torch.add(y, z, alpha=3.0, out=x), 1.0, 20)
    out["triad_GBs_%d" % threads] = 24.0 * N / dt / 1e9
    del x, y, z
    return out


# ---- instances ----------------------------------------------------------------

def export(dopt, B, n, threads, work):
    """`dopt bench qp --export`: the instances, their optimum, and the CLI's
    own timing (one call; later rounds call cli_time)."""
    js = os.path.join(work, "export_B%d.json" % B)
    subprocess.run([dopt, "bench", "qp", "--batch", str(B), "--n", str(n), "--threads", str(threads),
                    "--export", work, "--json", js], check=True, stdout=subprocess.DEVNULL)
    d = os.path.join(work, "B%d_n%d" % (B, n))
    data = {k: np.load(os.path.join(d, k + ".npy")) for k in PARAMS}
    data["xs"] = np.load(os.path.join(d, "xstar.npy"))
    return data


def cli_time(dopt, B, n, threads, tol, min_time, work):
    js = os.path.join(work, "cli_B%d.json" % B)
    cmd = [dopt, "bench", "qp", "--batch", str(B), "--n", str(n), "--threads", str(threads), "--min-time",
           str(min_time), "--json", js]
    if tol is not None:
        cmd += ["--tol", repr(tol)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.load(open(js))[0]


# ---- the tools: each make_* returns fn() -> x (numpy, B x n) doing fwd + bwd ----

def leaves(*tensors):
    """The differentiated inputs as leaf tensors with requires_grad, made once
    per tool; each call drops their .grad first, as zero_grad(set_to_none=True)
    in a training step, so no tool pays for copying its inputs."""
    made = [t.requires_grad_(True) for t in tensors]
    for t in made:
        t.grad = None
    return made


def make_ctypes(data, tol):
    """dopt_qp_solve + dopt_qp_backward through ctypes alone, on buffers and
    structs made once (the library's time without the Python layer)."""
    from dopt import _lib
    from dopt import qp as dqp

    B, n = data["p"].shape
    m, k = data["h"].shape[1], data["b"].shape[1]
    arr = {kk: np.ascontiguousarray(data[kk]) for kk in PARAMS}
    x, lam, nu = np.empty((B, n)), np.empty((B, m)), np.empty((B, k))
    st, it = np.empty(B, np.int32), np.empty(B, np.int32)
    dx, dp, dG, dh = np.ones((B, n)), np.empty((B, n)), np.empty((B, m, n)), np.empty((B, m))
    P = dqp._Problem(B, n, m, k, _lib.FLOAT64, *(arr[kk].ctypes.data for kk in PARAMS), 0)
    opt = dqp._options(tol, None, None, None)
    sol = dqp._Solution(x.ctypes.data, lam.ctypes.data, nu.ctypes.data, st.ctypes.data, it.ctypes.data)
    gin = dqp._GradIn(dx.ctypes.data, None, None)
    gout = dqp._GradOut(None, dp.ctypes.data, dG.ctypes.data, dh.ctypes.data, None, None)
    ctx = _lib.context_for(None)
    ctx.prepare(None)
    tape = ctypes.c_void_p()
    solve, backward, handle = dqp._solve, dqp._backward, ctx.handle
    rP, ropt, rsol, rtape, rgin, rgout = (ctypes.byref(o) for o in (P, opt, sol, tape, gin, gout))
    keep = (arr, x, lam, nu, st, it, dx, dp, dG, dh, P, opt, sol, gin, gout, tape)  # the closure keeps them alive

    def fn():
        s = solve(handle, rP, ropt, rsol, rtape)
        if s == 0:
            s = backward(handle, tape, rgin, rgout)
        if s != 0:
            raise RuntimeError(ctx.last_error())
        keep
        return x

    fn.cleanup = lambda: dqp._tape_destroy(tape)
    return fn


def make_dopt_qp(data, tol, use_torch):
    import dopt

    if use_torch:
        import torch
        d = {kk: torch.from_numpy(data[kk]) for kk in PARAMS}
        dx = torch.ones(data["p"].shape, dtype=torch.float64)
    else:
        d = {kk: data[kk] for kk in PARAMS}
        dx = np.ones(data["p"].shape)
    state = {}

    def fn():
        state.pop("r", None)  # the previous tape goes back to the pool first, as in a training step
        r = dopt.qp.solve(d["Q"], d["p"], d["G"], d["h"], d["A"], d["b"], tol=tol, record=True)
        dopt.qp.backward(r.tape, dx, wanted=("p", "G", "h"))
        state["r"] = r
        return np.asarray(r.x)

    fn.cleanup = state.clear
    return fn


def make_dopt_torch(data, tol, threads):
    import torch
    import dopt.torch as dt

    torch.set_num_threads(threads)
    T = {kk: torch.from_numpy(data[kk]) for kk in PARAMS}
    # tol None: QPFunction's eps 1e-12 maps to dopt's default 1e-8; tol= sets
    # it directly. maxIter: the library's default 50 (the C call's), not qpth's 20.
    layer = dt.QPFunction(tol=tol, maxIter=50)

    def fn():
        p, G, h = leaves(T["p"], T["G"], T["h"])
        x = layer(T["Q"], p, G, h, T["A"], T["b"])
        x.sum().backward()
        return x.detach().numpy()

    return fn


def make_qpth(data, threads):
    import torch
    from qpth.qp import QPFunction

    torch.set_num_threads(threads)
    T = {kk: torch.from_numpy(data[kk]) for kk in PARAMS}
    # qpth's defaults (eps 1e-12, 20 iterations)
    layer = QPFunction(verbose=-1, check_Q_spd=False)

    def fn():
        p, G, h = leaves(T["p"], T["G"], T["h"])
        x = layer(T["Q"], p, G, h, T["A"], T["b"])
        x.sum().backward()
        return x.detach().numpy()

    return fn


def make_proxsuite(data, threads):
    import torch
    from proxsuite.torch import qplayer

    # The layer runs os.cpu_count() / 2 OpenMP threads (1 on a 2-core
    # machine); give it `threads`, as every other tool gets.
    qplayer.os = types.SimpleNamespace(cpu_count=lambda: 2 * threads)
    torch.set_num_threads(threads)
    T = {kk: torch.from_numpy(data[kk]) for kk in PARAMS}
    B, m = data["h"].shape
    l = torch.full((B, m), -1e20, dtype=torch.float64)
    layer = qplayer.QPFunction(eps=1e-9, omp_parallel=True)

    def fn():
        p, G, h = leaves(T["p"], T["G"], T["h"])
        x = layer(T["Q"], p, T["A"], T["b"], G, l, h)[0]
        x.sum().backward()
        return x.detach().numpy()

    return fn


def make_cvxpylayers(data, threads):
    import cvxpy as cp
    import torch
    from cvxpylayers.torch import CvxpyLayer

    torch.set_num_threads(threads)
    B, n = data["p"].shape
    m, k = data["h"].shape[1], data["b"].shape[1]
    # DPP form: 1/2 x'Qx = 1/2 |R x|^2 with R the Cholesky factor of Q
    R = np.ascontiguousarray(np.linalg.cholesky(data["Q"]).transpose(0, 2, 1))
    x = cp.Variable(n)
    Rp, pp, Gp, hp = cp.Parameter((n, n)), cp.Parameter(n), cp.Parameter((m, n)), cp.Parameter(m)
    Ap, bp = cp.Parameter((k, n)), cp.Parameter(k)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(Rp @ x) + pp @ x), [Gp @ x <= hp, Ap @ x == bp])
    layer = CvxpyLayer(prob, parameters=[Rp, pp, Gp, hp, Ap, bp], variables=[x])
    T = [torch.from_numpy(a) for a in (R, data["p"], data["G"], data["h"], data["A"], data["b"])]
    sargs = {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 100000}

    def fn():
        p, G, h = leaves(T[1], T[2], T[3])
        xs = layer(T[0], p, G, h, T[4], T[5], solver_args=sargs)[0]
        xs.sum().backward()
        return xs.detach().numpy()

    return fn


def python_side(fn, reps):
    """Per call: the wall time of fn() and the part of it spent inside the
    library (dopt_qp_solve and dopt_qp_backward, timed around the ctypes
    calls that dopt.qp makes). Their difference is what the Python layer
    adds (argument checks, output allocation, ctypes, autograd), measured on
    the same calls, so a shared machine's load changes both alike."""
    from dopt import qp as dqp

    inside = [0.0]
    solve0, backward0 = dqp._solve, dqp._backward

    def solve(*args):
        t0 = time.perf_counter()
        try:
            return solve0(*args)
        finally:
            inside[0] += time.perf_counter() - t0

    def backward(*args):
        t0 = time.perf_counter()
        try:
            return backward0(*args)
        finally:
            inside[0] += time.perf_counter() - t0

    dqp._solve, dqp._backward = solve, backward
    out = []
    try:
        for _ in range(reps):
            inside[0] = 0.0
            t0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t0, inside[0]))
    finally:
        dqp._solve, dqp._backward = solve0, backward0
    return out


# ---- the run ------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dopt", default="build/dopt", help="the dopt command (same build as DOPT_LIBRARY)")
    ap.add_argument("--batches", default="1,1024")
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=0.5, help="seconds of repetitions per tool and round")
    ap.add_argument("--skip", default="", help="comma list: qpth,proxsuite,cvxpylayers,cli,tight,dopt.torch")
    ap.add_argument("--work", default="bench/data/py")
    ap.add_argument("--json", help="write every measurement here")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    os.makedirs(a.work, exist_ok=True)

    import torch
    import dopt

    dopt.set_num_threads(a.threads)
    torch.set_num_threads(a.threads)
    has_layer = "dopt.torch" not in skip and hasattr(dopt.torch, "QPFunction")
    load0 = os.getloadavg()
    print("machine: %s, %d cores online, %d threads per tool; load average %.2f %.2f %.2f at start"
          % (cpu_model(), os.cpu_count(), a.threads, *load0))
    print("versions: python %s, numpy %s, torch %s, dopt %s (%s)" % (
        platform.python_version(), np.__version__, torch.__version__, dopt._lib.version(), dopt._lib.LIBRARY_PATH))
    hw = hardware(a.threads)
    print("hardware: DGEMM 2048^3 numpy %.1f GFLOP/s (1 core), %.1f (%d); torch.matmul %.1f (%d); "
          "triad %.1f GB/s (%d threads)" % (hw["dgemm_numpy_1"], hw["dgemm_numpy_%d" % a.threads], a.threads,
                                            hw["dgemm_torch_%d" % a.threads], a.threads,
                                            hw["triad_GBs_%d" % a.threads], a.threads))
    record = {"hardware": hw, "threads": a.threads, "cpu": cpu_model(), "load_start": load0, "configs": []}
    tols = [(None, "1e-8")] + ([] if "tight" in skip else [(1e-12, "1e-12")])

    for B in [int(s) for s in a.batches.split(",")]:
        data = export(a.dopt, B, a.n, a.threads, a.work)
        m, k = data["h"].shape[1], data["b"].shape[1]
        tools = []  # (name, group, fn or None for the CLI, tol)
        for tol, tname in tols:
            if "cli" not in skip:
                tools.append(("C call: `dopt bench qp` (tol %s)" % tname, "cli", None, tol))
            tools.append(("C call: ctypes, dopt_qp_solve+backward (tol %s)" % tname, "c", make_ctypes(data, tol), tol))
            tools.append(("dopt.qp.solve+backward, numpy (tol %s)" % tname, "py", make_dopt_qp(data, tol, False), tol))
            tools.append(("dopt.qp.solve+backward, torch (tol %s)" % tname, "py", make_dopt_qp(data, tol, True), tol))
            if has_layer:
                tools.append(("dopt.torch.QPFunction (tol %s)" % tname, "py", make_dopt_torch(data, tol, a.threads),
                              tol))
        if "qpth" not in skip:
            tools.append(("qpth (eps 1e-12, default)", "peer", make_qpth(data, a.threads), None))
        if "proxsuite" not in skip:
            tools.append(("ProxSuite torch QPFunction (eps 1e-9, omp)", "peer", make_proxsuite(data, a.threads), None))
        if "cvxpylayers" not in skip:
            tools.append(("cvxpylayers (eps 1e-9)", "peer", make_cvxpylayers(data, a.threads), None))

        times = {name: [] for name, *_ in tools}
        errs = {}
        for name, group, fn, tol in tools:  # warm-up and accuracy, once
            if fn is not None:
                x = fn()
                errs[name] = float(np.abs(np.asarray(x) - data["xs"]).max())
        for r in range(a.rounds):
            for name, group, fn, tol in tools:
                # cvxpylayers at B = 1024 takes seconds per call: one call per round
                mt = 0.0 if (group == "peer" and B >= 256 and "cvxpy" in name) else a.min_time
                if fn is None:
                    d = cli_time(a.dopt, B, a.n, a.threads, tol, a.min_time, a.work)
                    times[name].append(d["fwd_bwd_s"])
                    errs[name] = d["max_err"]
                else:
                    times[name].append(timed(fn, mt, 200 if mt > 0 else 1)[0])
            print("  B=%d round %d/%d done (load %.2f)" % (B, r + 1, a.rounds, os.getloadavg()[0]), file=sys.stderr)
        split = {}
        for name, group, fn, tol in tools:
            if group == "py":
                split[name] = python_side(fn, max(10, int(a.min_time / max(min(times[name]), 1e-6))))
        for name, group, fn, tol in tools:
            if fn is not None and hasattr(fn, "cleanup"):
                fn.cleanup()
        record["configs"].append({"B": B, "n": a.n, "m": m, "k": k, "times": times, "max_err": errs,
                                  "groups": {name: group for name, group, *_ in tools}, "python_side": split})
        print_table(B, a.n, m, k, tools, times, errs, tols)
        print_split(B, split)
    load1 = os.getloadavg()
    print("\nload average at the end: %.2f %.2f %.2f" % load1)
    record["load_end"] = load1
    if a.json:
        with open(a.json, "w") as f:
            json.dump(record, f, indent=1)


def print_split(B, split):
    print("\nWhat the Python layer adds, B = %d: the same calls timed whole and inside the library "
          "(median over %s calls)\n" % (B, "/".join(sorted({str(len(v)) for v in split.values()}))))
    print("| path | call | inside dopt_qp_solve + dopt_qp_backward | added by Python | call / inside |")
    print("| --- | --: | --: | --: | --: |")

    def fmt(t):
        return "%.1f us" % (t * 1e6) if t < 1e-2 else "%.2f ms" % (t * 1e3)

    for name, v in split.items():
        whole = statistics.median(w for w, _ in v)
        inside = statistics.median(i for _, i in v)
        added = statistics.median(w - i for w, i in v)
        ratio = statistics.median(w / i for w, i in v)
        print("| %s | %s | %s | %s | %.4f |" % (name, fmt(whole), fmt(inside), fmt(added), ratio))
    sys.stdout.flush()


def print_table(B, n, m, k, tools, times, errs, tols):
    """Markdown: best throughput over the rounds, each round's, the Python
    layer over the C call (per round, median), and dopt over each peer (per
    round, median) for the C call and for the torch layer."""
    best = {name: min(ts) for name, ts in times.items()}
    c_ref = {tol: name for name, group, fn, tol in tools if group == "c"}
    layer_ref = {}
    for name, group, fn, tol in tools:  # the torch layer when present, else dopt.qp on tensors
        if group == "py" and ("QPFunction" in name or ("torch" in name and tol not in layer_ref)):
            layer_ref[tol] = name

    def med_ratio(a, b):
        return statistics.median(x / y for x, y in zip(times[a], times[b]))

    print("\n### B = %d, n = %d, m = %d, k = %d, float64, forward + backward (dp, dG, dh from dL/dx = 1)\n"
          % (B, n, m, k))
    print("| tool | fwd+bwd inst/s (best) | time per call | inst/s in each round | time / C call (ctypes): "
          "median of rounds, of the bests | "
          "C call / tool, tol 1e-8 / 1e-12 | %s / tool, tol 1e-8 / 1e-12 | max\\|x-x*\\| |"
          % ("QPFunction" if any("QPFunction" in v for v in layer_ref.values()) else "dopt.qp torch"))
    print("| --- | --: | --: | --- | --: | --: | --: | --: |")
    for name, group, fn, tol in tools:
        per_round = " / ".join("{:,.0f}".format(B / t) for t in times[name])
        over_c = ("%.3f, %.3f" % (med_ratio(name, c_ref[tol]), best[name] / best[c_ref[tol]])
                  if group in ("py", "cli") else "-")
        if group == "peer":
            vs_c = " / ".join("%.1f" % med_ratio(name, c_ref[t]) for t, _ in tols)
            vs_l = " / ".join("%.1f" % med_ratio(name, layer_ref[t]) for t, _ in tols)
        else:
            vs_c = vs_l = "-"
        call = best[name]
        call_s = "%.1f us" % (call * 1e6) if call < 1e-2 else "%.1f ms" % (call * 1e3)
        print("| %s | %s | %s | %s | %s | %s | %s | %.1e |" % (name, "{:,.0f}".format(B / call), call_s, per_round,
                                                               over_c, vs_c, vs_l, errs.get(name, float("nan"))))
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
