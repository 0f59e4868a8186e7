"""Predict-and-search (Han et al. 2023) with dopt.milp, against a full solve.

Generates benchmark instances, predicts the binaries with two trivial
predictors, searches a trust region around each prediction and compares
objective and time with solving the whole model:

    lp      the LP relaxation's solution as the probability of 1 (the
            predictor runs inside dopt.milp.search_predict's callback and
            calls dopt itself: Clp when Cbc is built in, else dopt.qp's
            interior-point LP)
    random  K uniform-random candidates per instance; the best is kept (as
            SRG keeps the best of its samples)

A trained GNN would take the predictor's place. Run from the repository
root (with the package installed, or PYTHONPATH=python and DOPT_LIBRARY):

    python examples/python/milp_predict_and_search.py --family ca --count 4
    python examples/python/milp_predict_and_search.py --family mis --param nodes=300

The trust set fixes k0 = frac0 x (binaries) of the lowest predictions near 0
and k1 = frac1 x (binaries) of the highest near 1, within Hamming distance
delta = frac_delta x |trust set|; infeasible regions are widened (repair).
The gap is relative to the full solve's objective in the model's sense
(positive = worse); "status" is the trust region's (optimal within it) unless
the region grew to the whole model.
"""
import argparse
import time

import numpy as np

import dopt
import dopt.milp as milp
import dopt.qp  # noqa: F401  (the LP fallback without Cbc)


def parse_param(text):
    key, _, value = text.partition("=")
    if not value:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        number = float(value)
        return key, int(number) if number.is_integer() and "." not in value else number
    except ValueError:
        return key, value


def lp_relaxation(model):
    """The LP relaxation's solution: Clp through milp.solve when Cbc is built
    in, else dopt's own interior-point LP (dopt.qp with Q = None) over the
    finite row sides and bounds (dense: fine for the example's sizes)."""
    if milp.have_cbc():
        relaxed = milp.solve(model, relax=True)
        return relaxed.x if relaxed.has_solution else None
    A = model.dense()
    eye = np.eye(model.n)
    equal = model.row_lo == model.row_hi
    blocks = [(A[~equal & np.isfinite(model.row_hi)], model.row_hi[~equal & np.isfinite(model.row_hi)]),
              (-A[~equal & np.isfinite(model.row_lo)], -model.row_lo[~equal & np.isfinite(model.row_lo)]),
              (eye[np.isfinite(model.col_hi)], model.col_hi[np.isfinite(model.col_hi)]),
              (-eye[np.isfinite(model.col_lo)], -model.col_lo[np.isfinite(model.col_lo)])]
    G = np.vstack([g for g, _ in blocks])
    h = np.concatenate([v for _, v in blocks])
    sign = -1.0 if model.maximize else 1.0
    res = dopt.qp.solve(None, sign * model.c, G, h, A[equal] if equal.any() else None,
                        model.row_lo[equal] if equal.any() else None, max_iter=200)
    return res.x if res.status == dopt.InstanceStatus.SOLVED else None


def lp_predictor(index, model, candidates):
    """The LP relaxation's x (clipped to [0, 1]) for every candidate."""
    x = lp_relaxation(model)
    if x is None:
        return np.full((candidates, model.n), 0.5)
    return np.tile(np.clip(x, 0.0, 1.0), (candidates, 1))


def random_predictor(seed):
    rng = np.random.default_rng(seed)

    def predict(index, model, candidates):
        return rng.random((candidates, model.n))
    return predict


def gap(model, value, reference):
    if not np.isfinite(value) or not np.isfinite(reference):
        return float("nan")
    worse = (reference - value) if model.maximize else (value - reference)
    return 100.0 * worse / max(abs(reference), 1e-9)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--family", default="ca", help="sc, ca, cfl, mis, rc, wsc, knapsack (default ca)")
    ap.add_argument("--size", default="easy", help="easy, medium, hard (default easy)")
    ap.add_argument("--param", action="append", type=parse_param, default=[],
                    help="generator override KEY=VALUE (e.g. nodes=300, bids=400); repeatable")
    ap.add_argument("--count", type=int, default=4, help="instances (default 4)")
    ap.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    ap.add_argument("--frac0", type=float, default=0.4, help="k0 as a fraction of the binaries (default 0.4)")
    ap.add_argument("--frac1", type=float, default=0.05, help="k1 as a fraction of the binaries (default 0.05)")
    ap.add_argument("--frac-delta", type=float, default=0.1, help="delta as a fraction of |trust set| (0.1)")
    ap.add_argument("--candidates", type=int, default=4, help="random candidates per instance (default 4)")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve / search (default 60)")
    args = ap.parse_args()

    params = dict(args.param)
    models = [milp.generate(args.family, args.size, args.seed + k, **params) for k in range(args.count)]
    binaries = int(min(m.binary.sum() for m in models))
    k0, k1 = int(args.frac0 * binaries), int(args.frac1 * binaries)
    delta = max(1.0, round(args.frac_delta * (k0 + k1)))
    options = dict(k0=k0, k1=k1, delta=delta, time_limit=args.time_limit)
    solver = "cbc" if milp.have_cbc() else "exact"
    print(f"dopt {dopt.__version__}, solver {solver}; {args.count} x {models[0]!r}")
    print(f"trust set: k0 = {k0}, k1 = {k1} of {binaries} binaries, delta = {delta:g}\n")

    full = []
    for model in models:
        start = time.perf_counter()
        result = milp.solve(model, time_limit=args.time_limit)
        full.append((result, time.perf_counter() - start))

    start = time.perf_counter()
    lp = milp.search_predict(models, lp_predictor, candidates=1, **options)
    lp_seconds = (time.perf_counter() - start) / len(models)
    start = time.perf_counter()
    rnd = milp.search_predict(models, random_predictor(args.seed), candidates=args.candidates, **options)
    rnd_seconds = (time.perf_counter() - start) / len(models)

    header = (f"{'instance':<16} {'full obj':>12} {'status':>10} {'s':>7} | {'LP-PaS obj':>12} {'gap %':>7} "
              f"{'rounds':>6} | {'rand-PaS obj':>12} {'gap %':>7} {'best':>4}")
    print(header)
    print("-" * len(header))
    lp_gaps, rnd_gaps = [], []
    for i, model in enumerate(models):
        result, seconds = full[i]
        g_lp = gap(model, lp.objective[i], result.objective)
        g_rnd = gap(model, rnd.objective[i], result.objective)
        lp_gaps.append(g_lp)
        rnd_gaps.append(g_rnd)
        for name, batch in (("LP", lp), ("random", rnd)):
            if batch.has_solution[i]:
                assert model.violation(batch.x[i]) <= 1e-6, f"{name} search returned an infeasible point"
        print(f"{model.name:<16} {result.objective:>12.6g} {result.status_name:>10} {seconds:>7.3f} | "
              f"{lp.objective[i]:>12.6g} {g_lp:>7.2f} {lp.rounds[i]:>6d} | "
              f"{rnd.objective[i]:>12.6g} {g_rnd:>7.2f} {rnd.best_index[i]:>4d}")
    full_seconds = np.mean([s for _, s in full])
    print("-" * len(header))
    print(f"mean time per instance: full solve {full_seconds:.3f} s, LP predict-and-search {lp_seconds:.3f} s "
          f"(LP included), random predict-and-search {rnd_seconds:.3f} s ({args.candidates} candidates; "
          f"{'Cbc runs one job at a time' if solver == 'cbc' else 'searched on the CPU threads'})")
    print(f"mean gap: LP {np.nanmean(lp_gaps):.2f} %, random {np.nanmean(rnd_gaps):.2f} %; "
          f"regions that grew to the whole model: LP {int(lp.whole_model.sum())}, random "
          f"{int(rnd.whole_model.sum())} of {len(models)}")


if __name__ == "__main__":
    main()
