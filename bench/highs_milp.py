"""HiGHS (highspy) and dopt on the same MPS files: the table of bench/RESULTS.md.

usage: python bench/highs_milp.py --time-limit S FILE.mps [FILE.mps ...]
           highspy alone: status, time, objective, bound per file
       python bench/highs_milp.py --dopt DOPT --time-limit S FILE.mps ...
           highspy, `dopt milp solve --solver highs` and `--solver cbc` per
           file (one thread each, gap 0, same limit), and per family the
           geometric mean of dopt+HiGHS's time over highspy's
       python bench/highs_milp.py --dopt DOPT --batch --time-limit S FILE.mps ...
           predict-and-search batched: every file's K candidates (its LP
           solution seen through noise) as one `dopt milp search` batch with
           HiGHS, on 4 workers against 1, per family; the results must agree

Times: highspy's is h.run() alone (the file read before); dopt's is its
reported time_s (the solve, the file read before). dopt's own reading time is
not in either.
"""
import argparse
import json
import math
import os
import pathlib
import subprocess
import tempfile
import time

import numpy as np

try:
    import highspy
except ImportError:  # the --batch table needs only dopt
    highspy = None

# PaS settings as bench/bench_milp.c's families: fractions of the binaries in
# the trust set (center 0, center 1) and the radius
PAS = {"sc": (0.40, 0.01, 10), "ca": (0.27, 0.0, 10), "cfl": (0.30, 0.05, 5), "mis": (0.20, 0.20, 15)}


def highs_solve(path, limit):
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", float(limit))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.readModel(str(path))
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    obj = info.objective_function_value if info.primal_solution_status == 2 else float("nan")
    return status, seconds, obj, info.mip_dual_bound


def dopt_solve(dopt, path, solver, limit):
    out = subprocess.run([dopt, "milp", "solve", str(path), "--solver", solver, "--time-limit", str(limit),
                          "--threads", "1", "--json"], check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    obj = r["objective"] if r["objective"] is not None else float("nan")
    return r["status"], r["time_s"], obj


def name_of(path):
    return pathlib.Path(path).name.removesuffix(".mps")


def family_of(path):
    return name_of(path).split("_", 1)[0]


def geomean(values):
    values = [v for v in values if v > 0 and math.isfinite(v)]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else float("nan")


def solver_table(files, dopt, limit):
    print(f"# highspy {highspy.Highs().version()} vs dopt (HiGHS backend, Cbc backend): 1 thread, gap 0, "
          f"time limit {limit:g} s; s = the solver's own time")
    print("| instance | highspy: status | s | objective | dopt+HiGHS: status | s | objective | "
          "dopt+Cbc: status | s | objective | HiGHS/highspy |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    ratios = {}
    for f in files:
        hs, ht, ho, _ = highs_solve(f, limit)
        ds, dt, do = dopt_solve(dopt, f, "highs", limit)
        cs, ct, co = dopt_solve(dopt, f, "cbc", limit)
        ratio = dt / ht if ht > 0 else float("nan")
        ratios.setdefault(family_of(f), []).append(ratio)
        print(f"| {name_of(f)} | {hs} | {ht:.2f} | {ho:.8g} | {ds} | {dt:.2f} | {do:.8g} | {cs} | {ct:.2f} | "
              f"{co:.8g} | {ratio:.2f} |", flush=True)
    print()
    print("| family | dopt+HiGHS / highspy time (geometric mean) |")
    print("|---|---|")
    for fam, r in ratios.items():
        print(f"| {fam} | {geomean(r):.2f} |")


def batch_table(files, dopt, limit, candidates=4, seed=0):
    rng = np.random.default_rng(seed)
    by_family = {}
    for f in files:
        by_family.setdefault(family_of(f), []).append(f)
    print(f"# predict-and-search batched with HiGHS: {candidates} candidates per instance (LP solution + noise), "
          f"time limit {limit:g} s per candidate; one `dopt milp search` call on 1 worker, then on 4")
    print("| family | instances x candidates | 1 worker s | 4 workers s | speedup | same results |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for fam, fs in by_family.items():
            k0f, k1f, delta = PAS.get(fam, (0.0, 0.0, 10))
            k0 = k1 = None
            for f in fs:
                x = pathlib.Path(tmp) / "lp.npy"
                subprocess.run([dopt, "milp", "solve", str(f), "--relax", "--solver", "highs", "--x-out", str(x)],
                               check=True, capture_output=True)
                lp = np.clip(np.load(x), 0, 1)
                preds = np.clip(lp[None, :] + rng.normal(0, 0.2, (candidates, lp.size)), 0, 1)
                np.save(pathlib.Path(tmp) / (name_of(f) + ".npy"), preds)
                info = subprocess.run([dopt, "milp", "info", str(f)], check=True, capture_output=True,
                                      text=True).stdout
                binaries = int(info.split("binaries:")[1].split()[0])
                k0 = min(int(k0f * binaries), binaries) if k0 is None else min(k0, int(k0f * binaries))
                k1 = min(int(k1f * binaries), binaries) if k1 is None else min(k1, int(k1f * binaries))
            outs, times = [], []
            for workers in (1, 4):
                t0 = time.perf_counter()
                out = subprocess.run([dopt, "milp", "search", *map(str, fs), "--pred-dir", tmp, "--solver", "highs",
                                      "--workers", str(workers), "--time-limit", str(limit), "--k0", str(k0),
                                      "--k1", str(k1), "--delta", str(delta), "--json"],
                                     check=True, capture_output=True, text=True).stdout
                times.append(time.perf_counter() - t0)
                outs.append([(r["status"], r["objective"]) for r in map(json.loads, out.splitlines())])
            same = "yes" if outs[0] == outs[1] else "no (time limits hit)"
            print(f"| {fam} | {len(fs)} x {candidates} | {times[0]:.1f} | {times[1]:.1f} | "
                  f"{times[0] / times[1]:.2f}x | {same} |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=60)
    ap.add_argument("--dopt", help="the dopt command: compare with dopt's HiGHS and Cbc backends")
    ap.add_argument("--batch", action="store_true", help="the batched predict-and-search table (needs --dopt)")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    if a.batch:
        if not a.dopt:
            ap.error("--batch needs --dopt")
        batch_table(a.files, a.dopt, a.time_limit)
        return
    if highspy is None:
        ap.error("highspy is not installed (pip install -r bench/requirements.txt)")
    if a.dopt:
        solver_table(a.files, a.dopt, a.time_limit)
        return
    print(f"# HiGHS {highspy.Highs().version()}, 1 thread, gap 0, time limit {a.time_limit:g} s")
    print("| instance | status | s | objective | bound |")
    print("|---|---|---|---|---|")
    for f in a.files:
        status, seconds, obj, bound = highs_solve(f, a.time_limit)
        print(f"| {name_of(f)} | {status} | {seconds:.1f} | {obj:.8g} | {bound:.8g} |", flush=True)


if __name__ == "__main__":
    main()
