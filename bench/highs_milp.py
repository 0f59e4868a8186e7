"""HiGHS on the same MPS files as `dopt bench milp`: an independent solver's
status, time and objective for the benchmark table (bench/RESULTS.md).

usage: python bench/highs_milp.py --time-limit S FILE.mps [FILE.mps ...]
"""
import argparse
import time

import highspy


def solve(path, limit):
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", float(limit))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.readModel(path)
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    obj = info.objective_function_value if info.primal_solution_status == 2 else float("nan")
    return status, seconds, obj, info.mip_dual_bound


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=60)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    print(f"# HiGHS {highspy.Highs().version()}, 1 thread, gap 0, time limit {a.time_limit:g} s")
    print("| instance | status | s | objective | bound |")
    print("|---|---|---|---|---|")
    for f in a.files:
        status, seconds, obj, bound = solve(f, a.time_limit)
        name = f.rsplit("/", 1)[-1].removesuffix(".mps")
        print(f"| {name} | {status} | {seconds:.1f} | {obj:.8g} | {bound:.8g} |", flush=True)


if __name__ == "__main__":
    main()
