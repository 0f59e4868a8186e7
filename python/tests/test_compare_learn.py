"""bench/compare_learn.py's arithmetic on hand-made traces: the primal gap,
when a run's answer counts on the curve, the gap-vs-time curve, the primal
integral, wins and the table; and HiGHS on a dopt Model (the translation of
bounds, rows, sense and offset) against dopt's exact solver. Seconds; skipped
without highspy (the harness's second solver)."""
import math
import pathlib
import sys

import numpy as np
import pytest

pytest.importorskip("highspy")

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
import compare_learn as C  # noqa: E402

import dopt.milp as mm  # noqa: E402


def test_primal_gap_hand_values():
    assert C.primal_gap(110.0, 100.0) == pytest.approx(10.0 / 110.0, rel=1e-15)   # minimization, worse by 10
    assert C.primal_gap(90.0, 100.0) == pytest.approx(10.0 / 100.0, rel=1e-15)    # maximization, worse by 10
    assert C.primal_gap(-90.0, -100.0) == pytest.approx(0.1, rel=1e-15)
    assert C.primal_gap(100.0, 100.0) == 0.0
    assert C.primal_gap(100.0 + 1e-10, 100.0) == 0.0          # solver round-off is no gap
    assert C.primal_gap(100.0 + 1e-5, 100.0) > 0.0
    assert C.primal_gap(0.0, 0.0) == 0.0
    assert C.primal_gap(math.nan, 100.0) == 1.0               # no solution
    assert C.primal_gap(-5.0, 5.0) == 1.0                     # opposite signs
    assert C.primal_gap(0.0, 7.0) == 1.0


def test_run_times_forgive_small_overshoot_only():
    limits = [0.0, 0.25, 0.5, 1.0]
    seconds = [0.02, 0.26, 0.3, 1.2]
    # limit 0: at its time; 0.26 <= 0.25 * 1.05 + 0.01: at its limit; early finish: at its time;
    # 1.2 > 1.0 * 1.05 + 0.01: an overrun counts at its real time
    np.testing.assert_array_equal(C.run_times(limits, seconds), [0.02, 0.25, 0.3, 1.2])
    np.testing.assert_array_equal(C.run_times([0.0], [0.004]), [0.004])  # never moved to time 0


def test_gap_curve_and_primal_integral_by_hand():
    times = [0.02, 0.25, 0.3, 1.2]
    gaps = [0.5, 0.2, 0.1, 0.0]
    assert C.gap_at(times, gaps, 0.0) == 1.0                  # nothing available yet
    assert C.gap_at(times, gaps, 0.019) == 1.0
    assert C.gap_at(times, gaps, 0.02) == 0.5                 # right-continuous
    assert C.gap_at(times, gaps, 0.29) == 0.2
    assert C.gap_at(times, gaps, 1.0) == 0.1                  # the 1.2 s run is not available by 1 s
    np.testing.assert_array_equal(C.gap_curve(times, gaps, [0.0, 0.1, 0.27, 2.0]), [1.0, 0.5, 0.2, 0.0])
    # 0.02 * 1 + 0.23 * 0.5 + 0.05 * 0.2 + 0.7 * 0.1
    assert C.primal_integral(times, gaps, 1.0) == pytest.approx(0.215, abs=1e-15)
    assert C.primal_integral(times, gaps, 2.0) == pytest.approx(0.215 + 0.2 * 0.1 + 0.8 * 0.0, abs=1e-15)
    assert C.primal_integral([], [], 3.0) == 3.0              # never a solution: gap 1 throughout
    assert C.primal_integral([0.0], [0.0], 3.0) == 0.0


def test_curve_takes_the_largest_limit_available_not_the_best():
    # a method given more time may answer worse (another search path): the curve shows what a budget of t gets
    assert C.gap_at([0.25, 0.5], [0.1, 0.3], 0.6) == 0.3
    # a larger limit that finished first (it proved optimality early) replaces the smaller one from then on
    times, gaps = [0.2, 0.1], [0.05, 0.0]
    assert C.gap_at(times, gaps, 0.15) == 0.0
    assert C.gap_at(times, gaps, 0.3) == 0.0
    assert C.primal_integral(times, gaps, 0.5) == pytest.approx(0.1, abs=1e-15)


def test_grid_runs_reuse_a_run_that_proved_optimality_early():
    calls = []

    def solve_at(limit):
        calls.append(limit)
        optimal = limit >= 0.5
        return C.Run(limit, min(limit, 0.3) if optimal else limit, 10.0 if optimal else 12.0, optimal, "x")
    runs = C.grid_runs(solve_at, [0.125, 0.25, 0.5, 1.0, 2.0])
    assert calls == [0.125, 0.25, 0.5]
    assert [r.limit for r in runs] == [0.125, 0.25, 0.5, 1.0, 2.0]
    assert [r.reused for r in runs] == [False, False, False, True, True]
    assert all(r.objective == 10.0 and r.seconds == 0.3 for r in runs[2:])

    def on_limit(limit):  # optimal but only just at its limit: solved again with more time
        calls.append(limit)
        return C.Run(limit, limit, 1.0, True, "x")
    calls.clear()
    C.grid_runs(on_limit, [0.5, 1.0])
    assert calls == [0.5, 1.0]


def test_winners_count_ties():
    assert C.winners({"a": 0.0, "b": 0.0, "c": 0.1}) == {"a": True, "b": True, "c": False}
    assert C.winners({"a": 0.3, "b": 0.2}) == {"a": False, "b": True}


def test_family_table_from_hand_made_runs():
    def run(limit, seconds, gap):
        return {"limit": limit, "seconds": seconds, "gap": gap}
    result = {"family": "toy", "budget": 1.0, "limits": [0.5, 1.0],
              "instances": [{"n": 3}, {"n": 4}],
              "runs": {"a": [[run(0.5, 0.5, 0.2), run(1.0, 1.0, 0.0)],     # PI 0.5 + 0.1, final 0
                             [run(0.5, 0.1, 0.0), run(1.0, 0.1, 0.0)]],    # PI 0.1, final 0
                       "b": [[run(0.5, 0.2, 0.0), run(1.0, 0.2, 0.0)],     # PI 0.2, final 0
                             [run(0.5, 0.5, 0.5), run(1.0, 1.3, 0.1)]]}}   # the 1 s run overran: final 0.5, PI 0.75
    table, _, curves = C.family_table(result, ["a", "b"])
    np.testing.assert_allclose(curves["a"][1], [0.0, 0.0])
    np.testing.assert_allclose(curves["a"][2], [0.6, 0.1], atol=1e-15)
    np.testing.assert_allclose(curves["b"][1], [0.0, 0.5])
    np.testing.assert_allclose(curves["b"][2], [0.2, 0.75], atol=1e-15)
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in table.splitlines()[2:]}
    assert rows["a"] == ["0.000", "0.3500", "2/2", "2/2", "1/2"]
    assert rows["b"] == ["25.000", "0.4750", "1/2", "1/2", "1/2"]


def test_checked_objective_rejects_infeasible_points():
    model = mm.Model.from_senses([1.0, 1.0], [[1.0, 1.0]], [">="], [1.0], integer=[True, True],
                                 col_lo=[0, 0], col_hi=[1, 1])
    assert C.checked_objective(model, [1.0, 0.0], 1.0)[0] == 1.0
    assert math.isnan(C.checked_objective(model, [0.0, 0.0], 0.0)[0])      # row violated
    assert math.isnan(C.checked_objective(model, [0.5, 0.5], 1.0)[0])      # fractional
    assert math.isnan(C.checked_objective(model, None, 1.0)[0])


@pytest.mark.parametrize("maximize", [False, True])
def test_highs_on_a_dopt_model_matches_the_exact_solver(maximize):
    rng = np.random.default_rng(3)
    n, m = 8, 5
    A = rng.integers(-3, 6, size=(m, n)).astype(float)
    model = mm.Model(rng.normal(size=n), A, row_lo=np.full(m, -4.0), row_hi=np.full(m, 6.0), col_lo=np.zeros(n),
                     col_hi=np.array([1, 1, 1, 2, 2, 3, 1, 1.0]), integer=np.ones(n, dtype=bool))
    model.maximize = maximize
    model.offset = 2.5
    exact = mm.solve(model, solver="exact")
    objective, status, optimal, x, _ = C.highs_solve(model, 10.0)
    assert exact.optimal and optimal
    assert objective == pytest.approx(exact.objective, abs=1e-9)
    assert model.objective(x) == pytest.approx(objective, abs=1e-9)
    assert C.checked_objective(model, x, objective)[0] == pytest.approx(objective, abs=1e-9)


@pytest.mark.parametrize("argv, message", [
    (["--families", "sc,tsp"], "unknown family 'tsp'"),
    (["--methods", "cbc,gurobi"], "unknown method 'gurobi'"),
    (["--grid", "0.5,0.25"], "--grid"),           # must end with 1
    (["--grid", "0,1"], "--grid"),
    (["--budget", "0"], "--budget"),
])
def test_bad_arguments_are_clear_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        C.main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_outputs_and_render_round_trip(tmp_path):
    def run(limit, seconds, objective, gap):
        return {"limit": limit, "seconds": seconds, "objective": objective, "gap": gap, "optimal": False,
                "status": "x", "reused": False, "violation": 0.0, "trace": None}
    result = {"family": "toy", "budget": 1.0, "limits": [0.5, 1.0], "binary": True, "training": {},
              "highs_check": {"grid_primal_integral": [0.5], "callback_primal_integral": [0.25]},
              "instances": [{"name": "t0", "n": 3, "m": 2, "maximize": False, "best": 10.0, "best_source": "a"}],
              "runs": {"cbc": [[run(0.5, 0.5, 12.0, 2.0 / 12.0), run(1.0, 1.0, 10.0, 0.0)]],
                       "highs": [[run(0.5, 0.2, 10.0, 0.0), run(1.0, 0.2, 10.0, 0.0)]]}}
    info = {"machine": {"cpu": "toy cpu", "cores": 2, "load_avg_start": [1.0, 1.0, 1.0],
                        "load_avg_end": [2.0, 2.0, 2.0], "cpu_share": 0.5},
            "versions": {"dopt": "0", "torch": "0", "highs": "0"}, "limits": [0.5, 1.0]}
    settings = {"methods": ["cbc", "highs"], "budget": 1.0}
    with open(tmp_path / "learn_compare.json", "w") as f:
        C.json.dump({"info": info, "settings": settings, "results": [result]}, f)
    C.main(["--render", str(tmp_path / "learn_compare.json")])
    text = (tmp_path / "learn_compare.md").read_text()
    assert "0.50 CPU seconds per wall second" in text
    # cbc: final gap 0, integral 0.5 * 1 + 0.5 * (2/12); highs: 0.2 * 1
    assert f"| cbc | 0.000 | {0.5 + 0.5 * 2 / 12:.4f} | 1/1 | 1/1 | 0/1 |" in text
    assert "| highs | 0.000 | 0.2000 | 1/1 | 1/1 | 1/1 |" in text
    assert "0.5000 s from the grid of limits and 0.2500 s" in text
    rows = (tmp_path / "learn_compare.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 and rows[0].startswith("family,instance")
