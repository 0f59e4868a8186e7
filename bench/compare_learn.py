"""Learned predictors against solvers on held-out MILP instances, same time budget per instance.

Issue 14 item 4. For each family (set cover 'sc', combinatorial auction
'ca', capacitated facility location 'cfl', independent set 'mis'):

  1. a training set and a held-out set from dopt.milp.generate, fixed seeds,
     sizes drawn in [0.8, 1.2] x the family's size (heterogeneous batches);
  2. training (binary families only: the Bernoulli surrogate and the binary
     diffusion need all-binary models, so cfl, which has continuous flows,
     has no learned columns): dopt.learn's BipartiteGCN without labels
     (DiffILO-style, dopt.learn.unsupervised) with the unbiased estimator and
     with the published (biased) one; the SRG-style score network
     (dopt.learn.score) when that module is importable;
  3. on every held-out instance, every method at each time limit of a grid
     (budget x 1/16, 1/8, 1/4, 1/2, 1), one thread each:
       cbc      dopt.milp.solve (Cbc)
       highs    HiGHS (highspy), the second solver reference
       lp-pas   predict-and-search around the LP relaxation's solution
       gnn-unb  GNN prediction (unbiased estimator), round + repair, search
       gnn-pub  the same with the published estimator's network
       srg      best of K guided DDIM candidates, then the same search
     Every prediction share (features, LP, network, sampling) is counted in
     the instance's time; training is offline and not counted;
  4. the best known objective per instance: a long HiGHS solve (skipped when
     some run already proved optimality) and every solution seen;
  5. the primal gap (Berthold) of each run, the gap-vs-time curve of each
     method built from its runs at the grid's limits, the primal integral
     over the budget (docs/LEARN.md, "Comparison on held-out instances",
     says exactly how), and a markdown table, a PNG plot and the raw numbers.

Every reported solution is checked against its model (bound and row
violation <= 1e-6) before it counts.

    python bench/compare_learn.py --quick       # ~2 min smoke run, writes to /tmp
    python bench/compare_learn.py               # the full run (~25 min on 2 shared cores)

(PYTHONPATH=python DOPT_LIBRARY=build-so/src/libdopt.so without an
installed package; bench/run_compare.sh --learn sets up a venv.)
"""
import argparse
import csv
import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from typing import List, Optional

import numpy as np

# ---- the arithmetic (importable without dopt, torch or highspy; tested in python/tests/test_compare_learn.py)

GAP_ZERO_TOL = 1e-9  # relative: two objectives this close are the same value (solver round-off)
WIN_TOL = 1e-9       # a method wins an instance when its value is within this of the best method's
FEAS_TOL = 1e-6      # largest bound or row violation of a solution that counts


def primal_gap(value, best):
    """Berthold's primal gap of an objective value against the best known
    one, in [0, 1]: |value - best| / max(|value|, |best|); 0 when they agree
    to GAP_ZERO_TOL (relative) or are both 0; 1 without a solution (NaN) or
    when the signs differ. Sense-free: the best known value is the better
    one by construction."""
    if not math.isfinite(value) or not math.isfinite(best):
        return 1.0
    scale = max(abs(value), abs(best))
    if abs(value - best) <= GAP_ZERO_TOL * max(scale, 1.0):
        return 0.0
    if value * best < 0:
        return 1.0
    return min(1.0, abs(value - best) / scale)


def run_times(limits, seconds, grace=0.05):
    """When each run's answer is available on the curve: at its measured
    seconds s, except that a run with a limit L > 0 that overshot it by at
    most L * grace + 0.01 s (timer and process overhead) counts at L; a run
    that overran more counts at s. Limit 0 marks a point that has no limit
    of its own (the rounded prediction): always at s."""
    limits = np.asarray(limits, dtype=np.float64)
    seconds = np.asarray(seconds, dtype=np.float64)
    forgiven = (limits > 0) & (seconds > limits) & (seconds <= limits * (1.0 + grace) + 0.01)
    return np.where(forgiven, limits, seconds)


def gap_at(times, gaps, t):
    """The gap-vs-time curve of one method on one instance at time t, from
    its runs in order of increasing limit: times[k] (run_times) and gaps[k].
    The curve at t is the gap of the run with the LARGEST limit among those
    available by t (the answer the method gives when its budget is the
    largest grid budget it can meet by t); 1 before any run is available.
    A step function, right-continuous."""
    value = 1.0
    for when, gap in zip(times, gaps):  # increasing limit: a later run replaces an earlier one
        if when <= t:
            value = gap
    return value


def gap_curve(times, gaps, grid):
    """gap_at on every time of grid: (len(grid),) array."""
    return np.array([gap_at(times, gaps, t) for t in grid])


def primal_integral(times, gaps, horizon):
    """The integral of the step curve gap_at over [0, horizon] in seconds
    (Berthold's primal integral, with this curve): exact, the curve is
    constant between the run times."""
    points = sorted({0.0, float(horizon), *(float(t) for t in times if 0.0 <= t < horizon)})
    return float(sum((right - left) * gap_at(times, gaps, left) for left, right in zip(points[:-1], points[1:])))


def better(maximize, a, b):
    """a strictly better than b in the sense (NaN is worst)."""
    if not math.isfinite(a):
        return False
    if not math.isfinite(b):
        return True
    return a > b if maximize else a < b


def winners(final_values):
    """Per method, whether it is within WIN_TOL of the smallest of
    final_values (a dict method -> number, e.g. final gap or primal
    integral; ties all win)."""
    best = min(final_values.values())
    return {name: value <= best + WIN_TOL * max(1.0, abs(best)) for name, value in final_values.items()}


# ---- the runs -----------------------------------------------------------------------------------------------

@dataclass
class Run:
    """One method on one instance with one time limit: seconds (wall, the
    prediction share included), objective (model's sense; NaN without a
    checked solution), optimal (the model's optimum was proven), status (the
    method's word), reused (copied from a smaller limit's run that proved
    optimality before its limit: a deterministic method given more time
    returns the same), violation (of the reported solution)."""
    limit: float
    seconds: float
    objective: float
    optimal: bool
    status: str
    reused: bool = False
    violation: float = 0.0
    gap: float = 1.0
    trace: Optional[list] = None  # HiGHS: (running time, objective) of each improving solution


def checked_objective(model, x, objective):
    """objective when x satisfies the model to FEAS_TOL (bounds, rows,
    integrality), else NaN; and the violation."""
    if x is None:
        return math.nan, math.nan
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        return math.nan, math.inf
    violation = float(model.violation(x))
    integer = np.asarray(model.integer, dtype=bool)
    if integer.any():
        violation = max(violation, float(np.max(np.abs(x[integer] - np.round(x[integer])))))
    if violation > FEAS_TOL:
        return math.nan, violation
    return float(objective), violation


def grid_runs(solve_at, limits):
    """solve_at(limit) -> Run for every limit in increasing order; a run that
    proved optimality before its limit is repeated for the larger limits
    (Run.reused) instead of solving again."""
    runs = []
    for limit in limits:
        last = runs[-1] if runs else None
        if last is not None and last.optimal and last.seconds < last.limit:
            runs.append(replace(last, limit=limit, reused=True))
        else:
            runs.append(solve_at(limit))
    return runs


def highs_solve(model, time_limit, seed=0, trace=None):
    """HiGHS (highspy) on one dopt Model, one thread, gap 0: (objective,
    status word, proven optimal, x or None, seconds). trace: a list that
    gets (HiGHS's running time, objective) of every improving solution
    (HiGHS's MIP callback), to check the grid curve against."""
    import highspy
    h = highspy.Highs()
    if trace is not None:
        h.cbMipImprovingSolution.subscribe(
            lambda event: trace.append((float(event.data_out.running_time),
                                        float(event.data_out.objective_function_value))))
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("mip_rel_gap", 0.0)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = model.n, model.m
    lp.col_cost_ = np.asarray(model.c, dtype=np.float64)
    lp.col_lower_ = np.asarray(model.col_lo, dtype=np.float64)
    lp.col_upper_ = np.asarray(model.col_hi, dtype=np.float64)
    lp.row_lower_ = np.asarray(model.row_lo, dtype=np.float64)
    lp.row_upper_ = np.asarray(model.row_hi, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.asarray(model.col_ptr, dtype=np.int32)
    lp.a_matrix_.index_ = np.asarray(model.row_idx, dtype=np.int32)
    lp.a_matrix_.value_ = np.asarray(model.values, dtype=np.float64)
    lp.integrality_ = [highspy.HighsVarType.kInteger if v else highspy.HighsVarType.kContinuous
                       for v in np.asarray(model.integer, dtype=bool)]
    lp.sense_ = highspy.ObjSense.kMaximize if model.maximize else highspy.ObjSense.kMinimize
    lp.offset_ = float(model.offset)
    began = time.perf_counter()
    h.passModel(lp)
    h.run()
    seconds = time.perf_counter() - began
    status = h.getModelStatus()
    info = h.getInfo()
    has = info.primal_solution_status == 2
    x = np.array(h.getSolution().col_value) if has else None
    return (info.objective_function_value if has else math.nan, h.modelStatusToString(status),
            status == highspy.HighsModelStatus.kOptimal, x, seconds)


# ---- instances ----------------------------------------------------------------------------------------------

# family: (dopt.milp.generate keywords of the held-out size, the keywords drawn per instance, default scale)
FAMILIES = {
    "sc": ({"rows": 500, "cols": 1000, "density": 0.05}, ("rows", "cols")),   # Gasse et al.'s easy size
    "ca": ({"items": 100, "bids": 500}, ("items", "bids")),                   # easy
    "cfl": ({"customers": 50, "facilities": 50, "ratio": 5.0}, ("customers", "facilities")),  # half of easy per side
    "mis": ({"nodes": 500, "affinity": 4}, ("nodes",)),                       # easy
}
FAMILY_INDEX = {"sc": 0, "ca": 1, "cfl": 2, "mis": 3}


def make_models(family, count, scale, seed0):
    """count instances, keyword k of instance j = round(size_k * scale *
    u_j) with u_j uniform in [0.8, 1.2] from numpy's generator seeded with
    seed0, the generator's seed seed0 + j."""
    import dopt.milp as mm
    base, drawn = FAMILIES[family]
    rng = np.random.default_rng(seed0)
    models = []
    for j in range(count):
        factor = scale * rng.uniform(0.8, 1.2)
        params = dict(base)
        for key in drawn:
            params[key] = max(5, int(round(base[key] * factor)))
        models.append(mm.generate(family, seed=seed0 + j, **params))
    return models


# ---- the methods --------------------------------------------------------------------------------------------

def solver_runs(name, model, limits):
    import dopt.milp as mm

    def at(limit):
        if name == "cbc":
            began = time.perf_counter()
            r = mm.solve(model, time_limit=limit, threads=1)
            seconds = time.perf_counter() - began
            objective, violation = checked_objective(model, r.x, r.objective)
            return Run(limit, seconds, objective, bool(r.optimal), r.status_name, violation=violation)
        trace = []
        objective, status, optimal, x, seconds = highs_solve(model, limit, trace=trace)
        objective, violation = checked_objective(model, x, objective)
        return Run(limit, seconds, objective, bool(optimal), status, violation=violation, trace=trace)
    return grid_runs(at, limits)


def pas_runs(model, graph, probs, overhead, limits, search, keep=None):
    """Predict-and-search from one instance's prediction probs, the
    prediction's own seconds (overhead) counted in every limit
    (dopt.learn.unsupervised.search_from_predictions with the search
    config's time_limit replaced by each limit). keep: (x, objective) of a
    feasible point found with the prediction (SRG's best candidate), kept
    when better than the search's answer, as
    dopt.learn.score.score_predict_and_search does.

    The runs are preceded by one at limit 0: the repaired rounding of the
    prediction (and keep), which every run holds as its incumbent from
    overhead + rounding time on (the search starts from it), so the curve
    shows it until the first grid run's answer."""
    from dopt import learn
    from dopt.learn import unsupervised as U
    batch = learn.batch_graphs([graph])
    began = time.perf_counter()
    x_round, feasible = U.round_predictions(batch, probs)
    round_seconds = time.perf_counter() - began
    first_x, first_value = (x_round, model.objective(x_round)) if feasible[0] else (None, math.nan)
    if keep is not None and better(model.maximize, keep[1], first_value):
        first_x, first_value = keep
    objective, violation = checked_objective(model, first_x, first_value)
    rounded = Run(0.0, overhead + round_seconds, objective, False, "rounded" if first_x is not None else "none",
                  violation=violation)

    def at(limit):
        began = time.perf_counter()
        res = U.search_from_predictions([model], batch, probs, replace(search, time_limit=limit),
                                        overhead_seconds=overhead)
        seconds = overhead + time.perf_counter() - began
        x, value = (res.x[0], res.objective[0]) if res.has_solution[0] else (None, math.nan)
        if keep is not None and better(model.maximize, keep[1], value):
            x, value = keep
        objective, violation = checked_objective(model, x, value)
        status = "optimal" if res.model_optimal[0] else ("solution" if x is not None else "none")
        return Run(limit, seconds, objective, bool(res.model_optimal[0]), status, violation=violation)
    return [rounded] + grid_runs(at, limits)


def srg_centers(S, cands, batch):
    """Per instance, the search's center from the SRG candidates:
    dopt.learn.score.candidate_centers (the best candidate's sampled values,
    on its side of 1/2) when the module has it, else the best candidate's
    0/1 point itself."""
    if hasattr(S, "candidate_centers"):
        return batch.split_vars(S.candidate_centers(cands))
    return [np.asarray(x, dtype=np.float64) for x in cands.best_x]


def srg_runs(model, graph, center, cands, i, overhead, limits, search):
    """pas_runs from instance i's SRG center, the best candidate kept when
    feasible and better."""
    keep = (np.asarray(cands.best_x[i], dtype=np.float64), float(cands.best_objective[i])) \
        if cands.best_feasible[i] else None
    return pas_runs(model, graph, center, overhead, limits, search, keep=keep)


def score_module():
    """dopt.learn.score when importable (issue 14 item 3), else None."""
    try:
        from dopt.learn import score
        score.sample_candidates, score.train_score, score.solution_labels, score.ScoreConfig  # noqa: B018
        return score
    except (ImportError, AttributeError):
        return None


# ---- training -----------------------------------------------------------------------------------------------

def train_gnn(graphs, estimator, args, log):
    from dopt import learn
    from dopt.learn import unsupervised as U
    net = learn.BipartiteGCN.for_graph(graphs[0], emb_size=args.emb, seed=args.seed)
    net.fit_prenorm(graphs)
    steps = math.ceil(len(graphs) / args.batch_size) * args.epochs
    growth = (args.mu_max / args.mu0) ** (1.0 / max(1, steps // 2))  # mu reaches mu_max half-way, then stays
    config = U.TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, estimator=estimator,
                           samples=args.samples, mu0=args.mu0, mu_growth=growth, mu_max=args.mu_max, seed=args.seed)
    history = U.train(net, graphs, config)
    per_epoch = max(1, math.ceil(len(graphs) / args.batch_size))
    log(f"    {estimator}: {len(history.loss)} steps in {sum(history.seconds):.1f} s, "
        f"{history.instances_per_second:.1f} instances/s; loss {np.mean(history.loss[:per_epoch]):.3f} -> "
        f"{np.mean(history.loss[-per_epoch:]):.3f}")
    return net, {"instances_per_s": history.instances_per_second, "steps": len(history.loss),
                 "seconds": sum(history.seconds), "instances": history.instances}


def train_srg(S, models, args, log):
    """Labels from Cbc (dopt.learn.score.solution_labels), then
    train_score; it builds the training graphs itself (with LP features,
    its default)."""
    began = time.perf_counter()
    labelled, labels = [], []
    for model in models:  # one at a time: an instance without a solution within the label time is left out
        try:
            labels += S.solution_labels([model], count=args.srg_labels, time_limit=args.srg_label_time, gap=0.01,
                                        threads=1)
            labelled.append(model)
        except ValueError:
            pass
    label_seconds = time.perf_counter() - began
    if not labelled:
        raise RuntimeError(f"compare_learn: no SRG training instance has a solution within "
                           f"--srg-label-time {args.srg_label_time:g} s")
    if len(labelled) < len(models):
        log(f"    srg: {len(models) - len(labelled)} of {len(models)} training instances without a solution in "
            f"{args.srg_label_time:g} s left out")
    models = labelled
    config = S.ScoreConfig(epochs=args.srg_epochs, batch_size=args.batch_size, samples=args.srg_samples, lr=args.lr,
                           emb_size=args.emb, seed=args.seed)
    score_model = S.train_score(models, labels, config)
    h = score_model.history
    log(f"    srg: labels {label_seconds:.1f} s ({args.srg_labels} per instance); {len(h.loss)} steps in "
        f"{sum(h.seconds):.1f} s, {h.instances_per_second:.1f} instances/s, {h.samples_per_second:.1f} samples/s; "
        f"loss {h.loss[0]:.3f} -> {h.loss[-1]:.3f}")
    return score_model, {"instances_per_s": h.instances_per_second, "samples_per_s": h.samples_per_second,
                         "steps": len(h.loss), "seconds": sum(h.seconds), "label_seconds": label_seconds}


# ---- one family ---------------------------------------------------------------------------------------------

def run_family(family, args, limits, S, log):
    import torch
    from dopt import learn
    from dopt.learn import unsupervised as U
    import dopt.milp as mm
    seed0 = 100000 * (args.seed + 1) + 10000 * FAMILY_INDEX[family]
    train_models = make_models(family, args.train, args.scale, seed0)
    test_models = make_models(family, args.test, args.scale, seed0 + 5000)  # disjoint seeds: held out
    binary = all(bool(np.all(m.binary)) for m in train_models + test_models)
    sizes = [(m.n, m.m) for m in test_models]
    log(f"\n== {family}: {args.train} training, {args.test} held-out instances (n {min(s[0] for s in sizes)}.."
        f"{max(s[0] for s in sizes)}, m {min(s[1] for s in sizes)}..{max(s[1] for s in sizes)}), "
        f"budget {args.budget:g} s, limits {', '.join(f'{x:g}' for x in limits)}")
    training, nets, score_model = {}, {}, None
    if binary:
        graphs = U.instance_graphs(train_models)
        torch.manual_seed(args.seed)
        for name, estimator in (("gnn-unb", "unbiased"), ("gnn-pub", "diffilo")):
            if name in args.methods:
                nets[name], training[name] = train_gnn(graphs, estimator, args, log)
        if "srg" in args.methods and S is not None:
            count = min(args.srg_train, len(train_models))
            score_model, training["srg"] = train_srg(S, train_models[:count], args, log)
    else:
        log("    (continuous columns: no learned methods; the Bernoulli surrogate and SRG's diffusion are binary)")

    search = U.SearchConfig(frac0=args.frac0, frac1=args.frac1, frac_delta=args.frac_delta, time_limit=args.budget,
                            widen=True, solver=args.search_solver, workers=1)
    # the per-instance prediction shares, measured once (deterministic: the same for every limit)
    graph_seconds, test_graphs = [], []
    for model in test_models:
        began = time.perf_counter()
        test_graphs.append(learn.instance_graph(model))
        graph_seconds.append(time.perf_counter() - began)
    graph_seconds = np.array(graph_seconds)
    predictions = {}
    if "lp-pas" in args.methods:
        preds, seconds = [], []
        for model in test_models:
            began = time.perf_counter()
            relaxed = mm.solve(model, relax=True, time_limit=args.budget)
            preds.append(np.clip(relaxed.x, 0.0, 1.0) if relaxed.has_solution else np.full(model.n, 0.5))
            seconds.append(time.perf_counter() - began)
        predictions["lp-pas"] = (preds, graph_seconds + np.array(seconds))
    began = time.perf_counter()
    batch = learn.batch_graphs(test_graphs)
    batch_seconds = time.perf_counter() - began
    for name, net in nets.items():
        began = time.perf_counter()
        probs = U.predict(net, batch)
        # the batching and one batched forward pass, shared evenly
        share = (batch_seconds + time.perf_counter() - began) / len(test_models)
        predictions[name] = (batch.split_vars(probs), graph_seconds + share)
    cands = None
    if score_model is not None:
        began = time.perf_counter()
        # the score model builds its own graphs (with LP features when it was trained with them): counted here
        cands = S.sample_candidates(score_model, test_models, candidates=args.srg_candidates, steps=args.srg_steps,
                                    seed=args.seed)
        centers = srg_centers(S, cands, batch)
        sampling = time.perf_counter() - began
        srg_share = sampling / len(test_models)  # one block state for every instance, shared evenly
        training["srg"]["candidates_per_s"] = args.srg_candidates * len(test_models) / sampling

    runs = {}  # method -> list (instances) of lists (limits) of Run
    for i, model in enumerate(test_models):
        began = time.perf_counter()
        for name in args.methods:
            if name in ("cbc", "highs"):
                runs.setdefault(name, []).append(solver_runs(name, model, limits))
            elif name in predictions:
                probs, overhead = predictions[name]
                runs.setdefault(name, []).append(pas_runs(model, test_graphs[i], probs[i], overhead[i], limits,
                                                          search))
            elif name == "srg" and cands is not None:
                runs.setdefault(name, []).append(srg_runs(model, test_graphs[i], centers[i], cands, i,
                                                          graph_seconds[i] + srg_share, limits, search))
        log(f"    instance {i} ({model.name}, n {model.n}): {time.perf_counter() - began:.1f} s of runs")

    # best known: every checked solution, and a long HiGHS solve unless a run proved optimality
    best, best_source = [], []
    for i, model in enumerate(test_models):
        value, source, proven = math.nan, "none", False
        for name, per_instance in runs.items():
            for run in per_instance[i]:
                if better(model.maximize, run.objective, value):
                    value, source = run.objective, name
                proven |= run.optimal and math.isfinite(run.objective)
        if not proven and args.reference_time > 0:
            objective, status, optimal, x, seconds = highs_solve(model, args.reference_time)
            objective, _ = checked_objective(model, x, objective)
            if better(model.maximize, objective, value):
                value, source = objective, f"highs {args.reference_time:g} s"
            proven = optimal
        best.append(value)
        best_source.append(source + (" (proven optimal)" if proven else ""))
        for per_instance in runs.values():
            for run in per_instance[i]:
                run.gap = primal_gap(run.objective, value)
    # the check of the grid curve: HiGHS's own incumbent times in its run with the whole budget
    highs_check = None
    if "highs" in runs:
        grid_pi, callback_pi = [], []
        for i, per_limit in enumerate(runs["highs"]):
            final = per_limit[-1]
            times = run_times([r.limit for r in per_limit], [r.seconds for r in per_limit])
            grid_pi.append(primal_integral(times, [r.gap for r in per_limit], args.budget))
            trace = final.trace or []
            callback_pi.append(primal_integral([t for t, _ in trace], [primal_gap(v, best[i]) for _, v in trace],
                                               args.budget))
        highs_check = {"grid_primal_integral": grid_pi, "callback_primal_integral": callback_pi}
        log(f"    HiGHS check: mean primal integral {np.mean(grid_pi):.4f} s from the grid, "
            f"{np.mean(callback_pi):.4f} s from its incumbent callback")
    return {"family": family, "binary": binary, "limits": limits, "budget": args.budget,
            "instances": [{"name": m.name, "n": m.n, "m": m.m, "maximize": bool(m.maximize), "best": best[i],
                           "best_source": best_source[i]} for i, m in enumerate(test_models)],
            "runs": {name: [[asdict(r) for r in rs] for rs in per_instance] for name, per_instance in runs.items()},
            "training": training, "highs_check": highs_check}


# ---- summaries ----------------------------------------------------------------------------------------------

def method_curves(result, grid):
    """method -> (instances, len(grid)) gap curves, (instances,) final gaps
    (at the budget) and primal integrals."""
    out = {}
    for name, per_instance in result["runs"].items():
        curves, finals, integrals = [], [], []
        for runs in per_instance:
            times = run_times([r["limit"] for r in runs], [r["seconds"] for r in runs])
            gaps = [r["gap"] for r in runs]
            curves.append(gap_curve(times, gaps, grid))
            finals.append(gap_at(times, gaps, result["budget"]))
            integrals.append(primal_integral(times, gaps, result["budget"]))
        out[name] = (np.array(curves), np.array(finals), np.array(integrals))
    return out


def family_table(result, order):
    grid = np.linspace(0.0, result["budget"], 401)
    curves = method_curves(result, grid)
    names = [m for m in order if m in curves]
    count = len(result["instances"])
    wins_gap = {m: 0 for m in names}
    wins_pi = {m: 0 for m in names}
    for i in range(count):
        for m, won in winners({m: curves[m][1][i] for m in names}).items():
            wins_gap[m] += won
        for m, won in winners({m: curves[m][2][i] for m in names}).items():
            wins_pi[m] += won
    lines = [f"| method | mean gap % at {result['budget']:g} s | mean primal integral (s) | at best known | "
             f"wins (gap) | wins (integral) |", "|---|---|---|---|---|---|"]
    for m in names:
        _, finals, integrals = curves[m]
        lines.append(f"| {m} | {100 * finals.mean():.3f} | {integrals.mean():.4f} | {int((finals == 0).sum())}/{count} "
                     f"| {wins_gap[m]}/{count} | {wins_pi[m]}/{count} |")
    return "\n".join(lines), grid, curves


METHODS = ["cbc", "highs", "lp-pas", "gnn-unb", "gnn-pub", "srg"]


def _cpu_seconds():
    """CPU seconds of this process and of its finished children: dopt runs
    Cbc (and HiGHS under a time limit) in child processes, whose time
    time.process_time() would leave out."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def machine():
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "load_avg_start": os.getloadavg(), "python": sys.version.split()[0],
            "platform": platform.platform()}


def plot(results, order, path):
    """Mean gap vs time per family: the step curves (mean of gap_at over the
    instances) on a log time axis, and a marker at each grid limit (the
    mean gap when the method's budget is that limit)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    cols = min(2, len(results))
    rows = math.ceil(len(results) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 4 * rows), squeeze=False)
    styles = {"cbc": ("k", "-", "o"), "highs": ("0.45", "--", "s"), "lp-pas": ("C0", "-", "^"),
              "gnn-unb": ("C1", "-", "v"), "gnn-pub": ("C2", "-", "D"), "srg": ("C3", "-", "P")}
    for ax, result in zip(axes.flat, results):
        limits = np.asarray(result["limits"])
        low = limits[0] / 4
        grid = np.geomspace(low, result["budget"], 400)
        curves = method_curves(result, np.unique(np.concatenate([grid, limits])))
        x = np.unique(np.concatenate([grid, limits]))
        for m in order:
            if m not in curves:
                continue
            color, line, marker = styles.get(m, ("C4", "-", "x"))
            mean = 100 * curves[m][0].mean(axis=0)
            ax.step(x, mean, where="post", color=color, linestyle=line, linewidth=1.3, label=m)
            ax.plot(limits, mean[np.searchsorted(x, limits)], marker, color=color, markersize=4)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks(limits)
        ax.set_xlim(low, result["budget"] * 1.1)
        ax.set_title(f"{result['family']} ({len(result['instances'])} held-out instances)")
        ax.set_xlabel("time per instance (s)")
        ax.set_ylabel("mean primal gap (%)")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(0, 100)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(results):]:
        ax.axis("off")
    fig.suptitle("Mean primal gap vs time; markers: runs with that time limit", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _finite(value):
    """value with every non-finite float replaced by None, numpy scalars
    and tuples as plain Python (for strict JSON)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _number(value):
    """a CSV field: the shortest exact form of a finite number, empty for
    NaN / None (no solution)."""
    return "" if value is None or not math.isfinite(value) else repr(float(value))


def write_outputs(results, args, info, out):
    os.makedirs(out, exist_ok=True)
    order = [m for m in METHODS if m in args.methods]
    sections = [f"Machine: {info['machine']['cpu']}, {info['machine']['cores']} cores, load average "
                f"{info['machine']['load_avg_start'][0]:.2f} at the start, {info['machine']['load_avg_end'][0]:.2f} at "
                f"the end, this process and its solver processes got {info['machine'].get('cpu_share', math.nan):.2f} CPU seconds per wall "
                f"second; dopt {info['versions']['dopt']}, torch {info['versions']['torch']}, HiGHS "
                f"{info['versions']['highs']}; one thread per method. Budget {args.budget:g} s per instance, "
                f"limits {', '.join(f'{x:g}' for x in info['limits'])} s. Solver inside predict-and-search: "
                f"{getattr(args, 'search_solver', 'auto (Cbc)')}." +
                (f" SRG: {info['srg_source']}." if info.get("srg_source") else ""), ""]
    for result in results:
        table, _, _ = family_table(result, order)
        n = [inst["n"] for inst in result["instances"]]
        sections += [f"### {result['family']} ({len(n)} held-out instances, n {min(n)}..{max(n)})", "", table, ""]
        check = result.get("highs_check")
        if check:
            sections += [f"Check of the grid curve: HiGHS's mean primal integral is "
                         f"{np.mean(check['grid_primal_integral']):.4f} s from the grid of limits and "
                         f"{np.mean(check['callback_primal_integral']):.4f} s from the incumbent times of its "
                         f"budget run (its callback).", ""]
    sections += ["Training throughput on the CPU (GPU: not measured, no GPU lent):", "",
                 "| family | method | training instances/s | training samples/s | steps | training s | "
                 "sampling candidates/s |", "|---|---|---|---|---|---|---|"]
    for result in results:
        for name, t in result["training"].items():
            samples = f"{t['samples_per_s']:.1f}" if "samples_per_s" in t else "-"
            candidates = f"{t['candidates_per_s']:.1f}" if "candidates_per_s" in t else "-"
            sections.append(f"| {result['family']} | {name} | {t['instances_per_s']:.1f} | {samples} | {t['steps']} | "
                            f"{t['seconds']:.1f} | {candidates} |")
    text = "\n".join(sections) + "\n"
    with open(os.path.join(out, "learn_compare.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out, "learn_compare.json"), "w") as f:
        # strict JSON: NaN (no solution) and infinities as null
        json.dump(_finite({"info": info, "settings": vars(args), "results": results}), f, indent=1, allow_nan=False)
    with open(os.path.join(out, "learn_compare.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["family", "instance", "n", "m", "best_known", "best_source", "method", "limit", "seconds",
                    "objective", "gap", "optimal", "status", "reused"])
        for result in results:
            for name, per_instance in result["runs"].items():
                for i, runs in enumerate(per_instance):
                    inst = result["instances"][i]
                    for r in runs:
                        w.writerow([result["family"], inst["name"], inst["n"], inst["m"], _number(inst["best"]),
                                    inst["best_source"], name, r["limit"], f"{r['seconds']:.4f}", _number(r["objective"]),
                                    f"{r['gap']:.6g}", int(r["optimal"]), r["status"], int(r["reused"])])
    try:
        import matplotlib  # noqa: F401 (bench/learn_requirements.txt)
    except ImportError:
        print("note: matplotlib is not installed: no learn_gap_vs_time.png (pip install -r bench/learn_requirements.txt)")
    else:
        plot(results, order, os.path.join(out, "learn_gap_vs_time.png"))
    return text


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[1:]))
    ap.add_argument("--families", default="sc,ca,cfl,mis", help="comma-separated families (sc,ca,cfl,mis)")
    ap.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated methods ({','.join(METHODS)})")
    ap.add_argument("--scale", type=float, default=1.0, help="size relative to the families' sizes above (1.0)")
    ap.add_argument("--train", type=int, default=40, help="training instances per family (40)")
    ap.add_argument("--test", type=int, default=6, help="held-out instances per family (6)")
    ap.add_argument("--budget", type=float, default=2.0, help="seconds per instance, every method (2)")
    ap.add_argument("--grid", default="0.0625,0.125,0.25,0.5,1",
                    help="time limits as fractions of the budget (0.0625,0.125,0.25,0.5,1)")
    ap.add_argument("--reference-time", type=float, default=20.0,
                    help="HiGHS seconds for the best known value when no run proved optimality (20)")
    ap.add_argument("--epochs", type=int, default=10, help="GNN training epochs (10)")
    ap.add_argument("--batch-size", type=int, default=8, help="instances per training step (8)")
    ap.add_argument("--emb", type=int, default=32, help="embedding size (32)")
    ap.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate (3e-3)")
    ap.add_argument("--samples", type=int, default=16, help="Bernoulli samples per instance per step (16)")
    ap.add_argument("--mu0", type=float, default=1.0, help="first penalty weight (1)")
    ap.add_argument("--mu-max", type=float, default=10.0, help="largest penalty weight, reached half-way (10)")
    ap.add_argument("--frac0", type=float, default=0.4, help="trust set k0 / binaries, every search (0.4)")
    ap.add_argument("--frac1", type=float, default=0.05, help="trust set k1 / binaries (0.05)")
    ap.add_argument("--frac-delta", type=float, default=0.1, help="radius / (k0 + k1) (0.1)")
    ap.add_argument("--srg-train", type=int, default=16, help="SRG training instances (the first of the set) (16)")
    ap.add_argument("--srg-labels", type=int, default=3, help="near-optimal labels per SRG training instance (3)")
    ap.add_argument("--srg-label-time", type=float, default=1.0,
                    help="Cbc seconds per label solve, relative gap 1%% (1)")
    ap.add_argument("--srg-epochs", type=int, default=15, help="SRG training epochs (15)")
    ap.add_argument("--srg-samples", type=int, default=4, help="label draws per instance per SRG step (4)")
    # SRG's sampling runs the score network candidates x steps times per instance: on the shared 2-core CPU one
    # forward pass on a set cover graph of the default size took ~0.1 s, so more than ~10 of them leave no budget
    ap.add_argument("--srg-candidates", type=int, default=2, help="SRG candidates per instance (2)")
    ap.add_argument("--srg-steps", type=int, default=5, help="DDIM steps (5)")
    ap.add_argument("--search-solver", default="cbc", choices=("cbc", "highs", "auto"),
                    help="the solver inside every predict-and-search column (cbc: the columns then differ from "
                         "'cbc' alone only by the prediction and the trust region)")
    ap.add_argument("--seed", type=int, default=0, help="seed of instances, networks and training (0)")
    ap.add_argument("--torch-threads", type=int, default=1, help="torch's threads (1)")
    ap.add_argument("--out", default=None, help="output folder (bench/figures; --quick: /tmp/dopt_compare_learn_quick)")
    ap.add_argument("--quick", action="store_true", help="small sizes, few instances and steps: a ~2 min smoke run")
    ap.add_argument("--render", metavar="JSON", default=None,
                    help="write the table, CSV and plot again from an earlier run's learn_compare.json (into --out, "
                         "default that file's folder) without running anything")
    args = ap.parse_args(argv)
    if args.render:
        with open(args.render) as f:
            data = json.load(f)
        out = args.out or os.path.dirname(os.path.abspath(args.render))
        print(write_outputs(data["results"], argparse.Namespace(**data["settings"]), data["info"], out))
        return
    if args.quick:
        args.scale, args.train, args.test, args.budget, args.epochs = 0.3, 8, 2, 0.5, 3
        args.reference_time, args.emb, args.srg_train, args.srg_epochs = 5.0, 16, 8, 3
        args.srg_label_time, args.grid = 0.2, "0.25,0.5,1"
    args.out = args.out or ("/tmp/dopt_compare_learn_quick" if args.quick else
                            os.path.join(os.path.dirname(os.path.abspath(__file__)), "figures"))
    args.families = [f.strip() for f in args.families.split(",") if f.strip()]
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for f in args.families:
        if f not in FAMILIES:
            ap.error(f"unknown family {f!r}; choose from {', '.join(FAMILIES)}")
    for m in args.methods:
        if m not in METHODS:
            ap.error(f"unknown method {m!r}; choose from {', '.join(METHODS)}")
    fractions = sorted(float(x) for x in args.grid.split(","))
    if not fractions or fractions[0] <= 0 or fractions[-1] != 1.0 or args.budget <= 0:
        ap.error("--grid: increasing fractions in (0, 1] ending with 1; --budget > 0")
    limits = [args.budget * x for x in fractions]

    import highspy
    import torch
    import dopt
    import dopt.milp as mm
    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    if not mm.have_cbc():
        sys.exit("compare_learn: this dopt was built without Cbc (the 'cbc' column and the searches need it)")
    S = score_module() if "srg" in args.methods else None
    if "srg" in args.methods and S is None:
        print("note: dopt.learn.score is not importable: no srg column")
        args.methods.remove("srg")
    info = {"machine": machine(), "limits": limits,
            "versions": {"dopt": dopt.__version__, "torch": torch.__version__, "highs": highspy.Highs().version(),
                         "numpy": np.__version__}}
    if S is not None:
        import hashlib
        with open(S.__file__, "rb") as f:
            info["srg_module"] = {"file": S.__file__, "sha1": hashlib.sha1(f.read()).hexdigest()}
    print(f"# {info['machine']['cpu']}, {info['machine']['cores']} cores, load {info['machine']['load_avg_start']}")
    started, cpu_started = time.perf_counter(), _cpu_seconds()

    def log(text):
        print(text, flush=True)
    results = [run_family(f, args, limits, S, log) for f in args.families]
    info["machine"]["load_avg_end"] = os.getloadavg()
    info["wall_seconds"] = time.perf_counter() - started
    # the CPU this process got per wall second (every method runs in it): 1 on a quiet core, less when shared
    info["machine"]["cpu_share"] = (_cpu_seconds() - cpu_started) / info["wall_seconds"]
    text = write_outputs(results, args, info, args.out)
    print("\n" + text)
    print(f"wrote {args.out}/learn_compare.md, .json, .csv and learn_gap_vs_time.png in "
          f"{info['wall_seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
