"""dopt's ILP solver against an independent MILP solver (HiGHS) on instances
too large to enumerate: binary and general-integer, per-instance and shared
constraints, feasible and infeasible. Exits 77 (skipped) when numpy or
highspy is not installed, saying so.

usage: test_ilp_highs.py DOPT_BINARY WORKDIR"""
import os
import subprocess
import sys

try:
    import numpy as np
    import highspy
except ImportError as e:  # the independent solver is optional
    print(f"skipped: {e.name} is not installed (make test installs it into build/.testvenv when online)")
    sys.exit(77)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from highs_ilp import exact_highs, solve as highs_solve  # noqa: E402


def family(rng, B, n, m, lo, hi, infeasible_share):
    c = rng.normal(size=(B, n))
    A = rng.normal(size=(B, m, n))
    y0 = rng.integers(lo, hi + 1, size=(B, n))
    b = np.einsum("bmn,bn->bm", A, y0) + 0.3 * np.abs(rng.normal(size=(B, m))) * (hi - lo)
    bad = rng.random(B) < infeasible_share  # push b down: often infeasible
    b[bad] -= 0.6 * (hi - lo) * np.sqrt(n)
    lb = np.full((B, n), float(lo))
    ub = np.full((B, n), float(hi))
    return c, A, b, lb, ub


def main():
    dopt, work = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(2026)
    cases = [  # (name, B, n, m, lo, hi)
        ("binary n=24 m=12", 60, 24, 12, 0, 1),
        ("binary n=40 m=20", 16, 40, 20, 0, 1),
        ("binary n=64 m=16", 8, 64, 16, 0, 1),
        ("general [0,3]^20 m=10", 40, 20, 10, 0, 3),
        ("general [-5,5]^16 m=8", 40, 16, 8, -5, 5),
        ("general [-5,5]^24 m=6", 20, 24, 6, -5, 5),
    ]
    failures = 0
    h = exact_highs()
    for name, B, n, m, lo, hi in cases:
        c, A, b, lb, ub = family(rng, B, n, m, lo, hi, 0.15)
        d = os.path.join(work, name.replace(" ", "_").replace("^", "").replace("[", "").replace("]", "").replace(",", "_"))
        os.makedirs(d, exist_ok=True)
        for k, v in dict(c=c, A=A, b=b, lb=lb, ub=ub).items():
            np.save(os.path.join(d, f"{k}.npy"), v)
        r = subprocess.run([dopt, "ilp", "solve", d, "--quiet"], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL {name}: dopt exited {r.returncode}: {r.stderr}")
            failures += 1
            continue
        obj = np.load(os.path.join(d, "obj.npy"))
        status = np.load(os.path.join(d, "status.npy"))
        y = np.load(os.path.join(d, "y.npy"))
        bad = 0
        infeasible = 0
        for i in range(B):
            ref = highs_solve(h, c[i], A[i], b[i], lb[i], ub[i])
            if ref is None:
                infeasible += 1
                ok = status[i] == 1
            else:
                viol = (A[i] @ y[i] - b[i]).max()
                ok = (status[i] == 0 and abs(obj[i] - ref) <= 1e-9 * max(1.0, abs(ref))
                      and viol <= 1e-9 * max(1.0, np.abs(b[i]).max()) and np.all(y[i] == np.round(y[i])))
            if not ok:
                bad += 1
                if bad <= 3:
                    print(f"  {name} #{i}: dopt status {status[i]} obj {obj[i]!r}, HiGHS {ref!r}")
        print(f"  {name:26s} {B:3d} instances, {infeasible:2d} infeasible: "
              f"{'all match HiGHS' if bad == 0 else f'{bad} MISMATCHES'}")
        failures += bad
    print(f"test_ilp_highs: {len(cases)} families, {failures} failed (HiGHS {highspy.Highs().version()})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
