#!/usr/bin/env python3
"""The Bernoulli-surrogate demonstration against exact optima.

Runs `dopt bench bern-train --export DIR` (unsupervised DiffILO-style
training of xhat per instance with each estimator, then round and repair on
set cover and maximum independent set), solves every exported instance to
optimality with HiGHS (an independent MILP solver, PyPI highspy), and prints
per family and estimator: the share of rounded solutions that are feasible
before repair, the share repaired, and the mean relative gap of the repaired
objective to the optimum. Run with bench/.venv/bin/python (make compare-bern).
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np


def solve_exact(d):
    import highspy

    A = np.load(os.path.join(d, "A.npy"))
    b = np.load(os.path.join(d, "b.npy"))
    c = np.load(os.path.join(d, "c.npy"))
    m, n = A.shape
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("time_limit", 60.0)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_ = c
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n)
    lp.row_lower_ = np.full(m, -highspy.kHighsInf)
    lp.row_upper_ = b
    cols = A.T
    starts, idx, val = [0], [], []
    for j in range(n):
        nz = np.nonzero(cols[j])[0]
        idx.extend(nz.tolist())
        val.extend(cols[j][nz].tolist())
        starts.append(len(idx))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(idx, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(val)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    return h.getInfo().objective_function_value, h.modelStatusToString(status)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dopt", default="build/dopt")
    ap.add_argument("--work", default="bench/data/bern")
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--mu-end", type=float, default=100.0)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    subprocess.run([a.dopt, "bench", "bern-train", "--count", str(a.count), "--steps", str(a.steps), "--n",
                    str(a.n), "--mu-end", str(a.mu_end), "--export", a.work], check=True)
    res = json.load(open(os.path.join(a.work, "results.json")))
    opt = {}
    for r in res:
        if r["instance"] not in opt:
            opt[r["instance"]] = solve_exact(os.path.join(a.work, r["instance"]))
    table = {}
    for r in res:
        o, status = opt[r["instance"]]
        key = (r["family"], r["estimator"])
        t = table.setdefault(key, {"feas": [], "rep": [], "gap": [], "status": set()})
        t["feas"].append(r["feasible_rounded"])
        t["rep"].append(r["repaired"])
        t["gap"].append(abs(r["objective"] - o) / max(abs(o), 1e-9))
        t["status"].add(status)
    print("\nexact optima: HiGHS (statuses: %s)" % ", ".join(sorted({s for _, s in opt.values()})))
    print("%-9s %-10s %18s %10s %22s" % ("family", "estimator", "feasible rounded", "repaired", "gap to optimum (mean)"))
    for (fam, est), t in table.items():
        print("%-9s %-10s %17.0f%% %9.0f%% %21.1f%%" % (fam, est, 100 * np.mean(t["feas"]), 100 * np.mean(t["rep"]),
                                                         100 * np.mean(t["gap"])))


if __name__ == "__main__":
    sys.exit(main())
