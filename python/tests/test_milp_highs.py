"""dopt.milp with the HiGHS backend: solver='highs' agrees with Cbc and the
exact solver on generated and hand-written models, results carry gap and
the backend's status text, the CLI reports the same, a batched search on 4
workers equals the one on 1, and the batch's own budget. Skipped, saying
so, when libdopt was built without HiGHS."""
import json
import math
import os
import shutil
import subprocess

import numpy as np
import pytest

import dopt
import dopt.milp as milp

pytestmark = pytest.mark.skipif(not milp.have_highs(), reason="libdopt was built without HiGHS "
                                "(scripts/ensure-highs.sh installs it; then rebuild)")
INF = math.inf


def _small(family, seed):
    sizes = {"sc": dict(rows=40, cols=60), "ca": dict(items=20, bids=40), "cfl": dict(customers=8, facilities=5),
             "mis": dict(nodes=40), "knapsack": {}}
    return milp.generate(family, seed=seed, **sizes[family])


@pytest.mark.parametrize("family", ["sc", "ca", "cfl", "mis", "knapsack"])
def test_backends_agree_on_generated(family):
    for seed in range(2):
        model = _small(family, seed)
        h = milp.solve(model, solver="highs")
        assert h.solver == "highs" and h.status == milp.SOLVED and h.solver_status == "HiGHS: Optimal"
        assert model.violation(h.x) == 0 and h.objective == pytest.approx(model.objective(h.x))
        assert 0 <= h.gap <= 1e-9 and h.bound == pytest.approx(h.objective)
        others = ["cbc"] if milp.have_cbc() else []
        if model.n <= 256 and model.integer.all():
            others.append("exact")
        for other in others:
            r = milp.solve(model, solver=other)
            assert r.status == milp.SOLVED and r.objective == pytest.approx(h.objective, rel=1e-9, abs=1e-9), other
            assert r.solver == other and r.solver_status


def test_hand_written_statuses():
    infeasible = milp.Model([1.0, 1.0], [[1.0, 1.0]], row_lo=[3.0], col_hi=[1.0, 1.0], integer=[True, True])
    r = milp.solve(infeasible, solver="highs")
    assert r.status == milp.PRIMAL_INFEASIBLE and not r.has_solution and math.isnan(r.gap)
    unbounded = milp.Model([-1.0, -1.0], [[1.0, -1.0]], row_hi=[1.0], integer=[True, True])
    r = milp.solve(unbounded, solver="highs", ray=True)
    assert r.status == milp.DUAL_INFEASIBLE and r.ray is not None
    assert np.abs(r.ray).max() == pytest.approx(1.0) and unbounded.c @ r.ray < 0 and (r.ray >= -1e-12).all()
    # equality rows, general integers in [-5, 7], a continuous column: 18 at (4, 3, 0)
    eq = milp.Model([3.0, 2.0, 1.0], [[1, 1, 1], [1, -1, 0]], row_lo=[7, 1], row_hi=[7, 1],
                    col_lo=[-5, -5, 0], col_hi=[7, 7, 2.5], integer=[True, True, False], maximize=True)
    r = milp.solve(eq, solver="highs")
    assert r.objective == pytest.approx(18.0) and r.x[:2].tolist() == [4.0, 3.0]
    if milp.have_cbc():
        assert milp.solve(eq, solver="cbc").objective == pytest.approx(18.0)
    # a free column: min f + 2y + 5, f - y >= -3.5, f + y >= 1, y integer in [0, 10]: 6
    free = milp.Model([1.0, 2.0], [[1, -1], [1, 1]], row_lo=[-3.5, 1], col_lo=[-INF, 0], col_hi=[INF, 10],
                      integer=[False, True], offset=5.0)
    assert milp.solve(free, solver="highs").objective == pytest.approx(6.0)


def test_time_limit_status_and_bound():
    model = milp.generate("sc", size="hard", seed=2)
    r = milp.solve(model, solver="highs", time_limit=0.5)
    # stopped by HiGHS's clock, or killed 0.75 s after the deadline inside a
    # step that does not look at it: the limit holds
    assert r.status == milp.ITERATION_LIMIT
    assert "Time limit" in r.solver_status or "killed at the deadline" in r.solver_status
    assert r.seconds < 2.5
    if r.has_solution:
        assert model.violation(r.x) == 0 and r.bound <= r.objective + 1e-6
        assert r.gap == pytest.approx(abs(r.objective - r.bound) / abs(r.objective))


def test_unavailable_and_bad_solver():
    with pytest.raises(ValueError, match="highs"):
        milp.solve(_small("knapsack", 0), solver="gurobi")
    with pytest.raises(ValueError, match="batch_time_limit"):
        model = _small("knapsack", 0)
        milp.search_batch(model, np.zeros((1, model.n)), batch_time_limit=-1)


def test_batch_four_workers_equal_one():
    models = [_small("ca", seed) for seed in range(3)]
    rng = np.random.default_rng(5)
    preds = [rng.random(m.n) for m in models for _ in range(3)]
    model_of = np.repeat(np.arange(3), 3)
    one = milp.search_batch(models, preds, model_of=model_of, delta=5, solver="highs", workers=1)
    four = milp.search_batch(models, preds, model_of=model_of, delta=5, solver="highs", workers=4)
    assert (one.solver == "highs").all()
    np.testing.assert_array_equal(one.status, four.status)
    np.testing.assert_array_equal(one.objective, four.objective)
    np.testing.assert_array_equal(one.nodes, four.nodes)
    for a, b in zip(one.x, four.x):
        np.testing.assert_array_equal(a, b)
    assert one.solver_status == four.solver_status
    # the call's budget: nothing runs past it; unstarted jobs say so
    tight = milp.search_batch(models, preds, model_of=model_of, delta=5, solver="highs", workers=2,
                              batch_time_limit=1e-6)
    assert set(tight.status.tolist()) <= {int(milp.ITERATION_LIMIT), int(milp.SOLVED)}
    assert any("batch" in s for s in tight.solver_status)


def test_cli_reports_solver_gap_and_status(tmp_path):
    cli = os.environ.get("DOPT_CLI") or shutil.which("dopt")
    if not cli:
        pytest.skip("the dopt command is not available (set DOPT_CLI or install the package)")
    model = _small("sc", 1)
    path = tmp_path / "sc.mps"
    model.write_mps(path)
    out = json.loads(subprocess.run([cli, "milp", "solve", str(path), "--solver", "highs", "--json"], check=True,
                                    capture_output=True, text=True).stdout)
    ours = milp.solve(model, solver="highs")
    assert out["solver"] == "highs" and out["solver_status"] == "HiGHS: Optimal" and out["status"] == "optimal"
    assert out["objective"] == ours.objective and out["gap"] == pytest.approx(ours.gap, abs=1e-12)
    auto = json.loads(subprocess.run([cli, "milp", "solve", str(path), "--json"], check=True, capture_output=True,
                                     text=True).stdout)
    assert auto["solver"] == "highs"  # AUTO: HiGHS first
    text = subprocess.run([cli, "milp", "solve", str(path), "--solver", "highs"], check=True, capture_output=True,
                          text=True).stdout
    assert "solver: highs\n" in text and "solver_status: HiGHS: Optimal\n" in text and "\ngap: " in text
    bad = subprocess.run([cli, "milp", "solve", str(path), "--solver", "gurobi"], capture_output=True, text=True)
    assert bad.returncode == 2 and "highs" in bad.stderr


def test_portfolio():
    """solver='portfolio': HiGHS and Cbc side by side; the optimum as HiGHS
    alone finds it, Result.solver naming the solver whose answer was kept."""
    model = _small("knapsack", 3)
    if not milp.have_cbc():
        with pytest.raises(dopt.Error, match="both HiGHS and Cbc"):
            milp.solve(model, solver="portfolio")
        return
    alone = milp.solve(model, solver="highs")
    both = milp.solve(model, solver="portfolio", time_limit=30)
    assert both.status == milp.SOLVED and both.solver in ("highs", "cbc")
    assert both.objective == pytest.approx(alone.objective) and model.violation(both.x) == 0


@pytest.mark.parametrize("time_limit", [None, 5.0])
def test_portfolio_proofs_carry_no_bound(time_limit):
    """Infeasible and unbounded models: every solver, the portfolio too, says
    so with no objective and no bound (NaN), with or without a time limit."""
    if not milp.have_cbc():
        pytest.skip("the portfolio needs Cbc too; this dopt has HiGHS only")
    inf = np.inf
    infeasible = milp.Model(np.array([1.0]), integer=np.array([True]), col_lo=np.array([0.5]),
                            col_hi=np.array([0.7]))
    unbounded = milp.Model(np.array([-1.0]), integer=np.array([True]), col_lo=np.array([0.0]),
                           col_hi=np.array([inf]))
    for model, status in ((infeasible, milp.PRIMAL_INFEASIBLE), (unbounded, milp.DUAL_INFEASIBLE)):
        for solver in ("highs", "cbc", "portfolio"):
            r = milp.solve(model, solver=solver, time_limit=time_limit)
            assert r.status == status, (solver, r.status)
            assert np.isnan(r.bound) and np.isnan(r.objective), (solver, r.bound, r.objective)
