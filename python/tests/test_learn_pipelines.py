"""dopt.learn.unsupervised: the DiffILO-style pipeline on tiny instances.

Instances have n <= 16 so that the surrogate can be evaluated EXACTLY
(estimator 'exact' enumerates {0,1}^n): 'the loss decreases' is then a
statement about the true surrogate, not about a noisy estimate."""
import math

import numpy as np
import pytest

from conftest import HAVE_TORCH

pytestmark = pytest.mark.skipif(not HAVE_TORCH, reason="torch is not installed")

if HAVE_TORCH:
    import torch

    import dopt
    import dopt.milp as mm
    from dopt import learn
    from dopt.learn import unsupervised as U


@pytest.fixture(autouse=True)
def one_torch_thread():
    # tiny graphs: torch's thread pool only waits on a loaded machine (a training step took ~1 s with 2
    # threads, ~25 ms with 1); restored after each test
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _mixed_models():
    # set cover (minimize) and independent set (maximize) of different sizes in one batch
    sc = [mm.generate("sc", rows=r, cols=k, density=0.4, max_coef=20, seed=s)
          for s, (r, k) in enumerate(((6, 10), (8, 14), (5, 12), (7, 16)))]
    mis = [mm.generate("mis", nodes=k, affinity=2, seed=s) for s, k in enumerate((9, 12))]
    return sc + mis


def _net(graphs, seed=0):
    net = learn.BipartiteGCN.for_graph(graphs[0], emb_size=16, seed=seed).double()
    net.fit_prenorm(graphs)
    return net


def _exact_loss(net, batch, problem, mu):
    with torch.no_grad():
        logits = net(batch.to_torch(dtype=torch.float64))
        return U.surrogate_loss(logits, problem, mu=mu, estimator="exact").numpy()


def test_surrogate_problem_normalizes_each_instance_and_matches_each_instance_alone():
    models = _mixed_models()
    batch = learn.batch_graphs(models)
    problem = U.surrogate_problem(batch, dtype=torch.float64)
    c = problem.c.numpy()
    for part in batch.split_vars(c):
        assert np.max(np.abs(part)) == pytest.approx(1.0)
    row_ptr, col_idx, values = (t.numpy() for t in problem.A)
    for r in range(batch.num_cons):
        assert np.max(np.abs(values[row_ptr[r]:row_ptr[r + 1]])) == pytest.approx(1.0)
    # positive row scalings: the same feasible set (checked on every 0/1 point of a small instance)
    raw = batch.dense(0)
    normalized = np.zeros_like(raw)
    for r in range(raw.shape[0]):
        normalized[r, col_idx[row_ptr[r]:row_ptr[r + 1]]] = values[row_ptr[r]:row_ptr[r + 1]]
    n0 = raw.shape[1]
    points = ((np.arange(2 ** n0)[:, None] >> np.arange(n0)) & 1).astype(float)
    raw_ok = (points @ raw.T <= batch.b[:raw.shape[0]] + 1e-12).all(axis=1)
    norm_ok = (points @ normalized.T <= problem.b.numpy()[:raw.shape[0]] + 1e-12).all(axis=1)
    np.testing.assert_array_equal(raw_ok, norm_ok)
    # one block call = each instance's own uniform call
    rng = np.random.default_rng(3)
    logits = torch.tensor(rng.normal(size=batch.num_vars))
    block = U.surrogate_loss(logits, problem, mu=3.0, estimator="exact").numpy()
    for i in range(batch.batch_size):
        v0, v1 = int(batch.var_ptr[i]), int(batch.var_ptr[i + 1])
        r0, r1 = int(batch.con_ptr[i]), int(batch.con_ptr[i + 1])
        e0 = int(row_ptr[r0])
        A_i = (row_ptr[r0:r1 + 1] - e0, (col_idx[e0:row_ptr[r1]] - v0).astype(np.int32), values[e0:row_ptr[r1]])
        alone = dopt.bern.evaluate(logits.numpy()[v0:v1], A_i, problem.b.numpy()[r0:r1], c[v0:v1],
                                   estimator="exact", logits=True, mu=3.0)
        assert block[i] == pytest.approx(float(alone.loss), rel=1e-12)


def test_select_instances_equals_batching_the_chosen_instances():
    from dataclasses import fields
    models = _mixed_models()
    full, full_binary = learn.batch_graphs(models), learn.binary_batch(models)
    for idx in ([3, 0, 5], [2], [1, 1, 4], [-1, 0]):
        for picked, built in ((learn.select_instances(full, idx), learn.batch_graphs([models[i] for i in idx])),
                              (learn.select_instances(full_binary, idx),
                               learn.binary_batch([models[i] for i in idx]))):
            assert type(picked) is type(built)
            for f in fields(built):
                a, b = getattr(picked, f.name), getattr(built, f.name)
                if isinstance(b, np.ndarray):
                    assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), (idx, f.name)
                else:
                    assert a == b, (idx, f.name)
    empty = learn.select_instances(full, [])
    assert empty.batch_size == 0 and empty.num_vars == 0 and empty.row_ptr.tolist() == [0]
    with pytest.raises(IndexError, match="instance indices"):
        learn.select_instances(full, [len(models)])


def test_surrogate_rejects_bad_input():
    cfl = mm.generate("cfl", customers=3, facilities=2, seed=0)  # continuous columns
    with pytest.raises(ValueError, match="instance 1 has a non-binary column"):
        U.surrogate_problem(learn.batch_graphs([mm.generate("mis", nodes=6, affinity=2), cfl]))
    with pytest.raises(ValueError, match="instance 2 has a non-binary column"):
        U.train(_net(U.instance_graphs(_mixed_models()[:2])), _mixed_models()[:2] + [cfl])
    problem = U.surrogate_problem(learn.batch_graphs(_mixed_models()[:2]))
    with pytest.raises(ValueError, match="logits must be"):
        U.surrogate_loss(torch.zeros(3), problem)
    with pytest.raises(ValueError, match="estimator"):
        U.surrogate_loss(torch.zeros(int(problem.var_ptr[-1])), problem, estimator="exactly")
    with pytest.raises(ValueError, match="estimator"):
        U.train(_net(U.instance_graphs(_mixed_models()[:2])), _mixed_models()[:2], U.TrainConfig(estimator="x"))


@pytest.mark.parametrize("estimator", ["unbiased", "diffilo"])
def test_training_lowers_the_exact_surrogate(estimator):
    models = _mixed_models()
    graphs = U.instance_graphs(models)
    net = _net(graphs)
    batch = learn.batch_graphs(graphs)
    mu = 4.0
    problem = U.surrogate_problem(batch, dtype=torch.float64)
    before = _exact_loss(net, batch, problem, mu)
    config = U.TrainConfig(epochs=8, batch_size=3, lr=2e-2, estimator=estimator, samples=8, mu0=mu, mu_growth=1.0,
                           mu_max=mu, seed=1)
    history = U.train(net, graphs, config)
    assert len(history.loss) == 16 and history.instances == 48 and history.invalid == 0
    assert all(math.isfinite(v) for v in history.loss)
    assert history.mu == [mu] * 16
    after = _exact_loss(net, batch, problem, mu)
    # a clear decrease of the batch mean (not noise: the exact surrogate, same network input)
    assert after.mean() < 0.8 * before.mean(), (before, after)


def test_mu_schedule_and_predictions_per_instance():
    models = _mixed_models()
    graphs = U.instance_graphs(models)
    net = _net(graphs)
    config = U.TrainConfig(epochs=1, batch_size=2, mu0=0.5, mu_growth=2.0, mu_max=3.0)
    history = U.train(net, graphs, config)
    assert history.mu == [0.5, 1.0, 2.0]
    np.testing.assert_array_equal(history.mu, dopt.bern.mu_schedule(np.arange(3), 0.5, 2.0, 3.0))
    batch = learn.batch_graphs(graphs)
    probs = U.predict(net, batch)
    parts = batch.split_vars(probs)
    assert [p.shape for p in parts] == [(m.n,) for m in models]
    assert np.all((probs >= 0) & (probs <= 1))
    # an instance's prediction does not depend on its batch mates
    alone = U.predict(net, learn.batch_graphs(graphs[2:3]))
    np.testing.assert_allclose(parts[2], alone, rtol=1e-12, atol=1e-15)
    x, feasible = U.round_predictions(batch, probs)
    assert x.shape == probs.shape and set(np.unique(x)) <= {0.0, 1.0} and feasible.shape == (len(models),)
    for i, model in enumerate(models):
        if feasible[i]:
            assert model.violation(batch.split_vars(x)[i]) <= 1e-9


def test_search_is_feasible_and_never_worse_than_the_repaired_rounding():
    models = _mixed_models()
    graphs = U.instance_graphs(models)
    net = _net(graphs)
    U.train(net, graphs, U.TrainConfig(epochs=2, batch_size=3, lr=1e-2, seed=2))
    search = U.SearchConfig(frac0=0.3, frac1=0.1, frac_delta=0.2, time_limit=10.0, widen=False)
    result, probs = U.predict_and_search(net, models, search)
    assert [p.shape for p in probs] == [(m.n,) for m in models]
    assert result.objective.shape == result.seconds.shape == (len(models),)
    assert np.all(result.seconds >= 0)
    for i, model in enumerate(models):
        assert result.has_solution[i]  # set cover and independent set are always feasible
        assert model.violation(result.x[i]) <= 1e-6
        assert model.objective(result.x[i]) == pytest.approx(result.objective[i])
        if result.rounded_feasible[i]:
            worse = (result.objective[i] < result.rounded_objective[i] - 1e-9 if model.maximize
                     else result.objective[i] > result.rounded_objective[i] + 1e-9)
            assert not worse, (i, result.objective[i], result.rounded_objective[i])
        optimum = mm.solve(model).objective
        # never better than the optimum (a wrong sense or offset would show here)
        assert (result.objective[i] <= optimum + 1e-9) if model.maximize else (result.objective[i] >= optimum - 1e-9)
    # widening while time is left ends with the whole model on these tiny instances: every optimum, proven
    widened, _ = U.predict_and_search(net, models, U.SearchConfig(frac0=0.3, frac1=0.1, frac_delta=0.2,
                                                                  time_limit=10.0, widen=True))
    assert widened.model_optimal.all()
    np.testing.assert_allclose(widened.objective, [mm.solve(m).objective for m in models])


def test_same_seed_same_run():
    models = _mixed_models()
    graphs = U.instance_graphs(models)
    runs = []
    for seed in (5, 5, 6):
        net = _net(graphs, seed=0)
        history = U.train(net, graphs, U.TrainConfig(epochs=2, batch_size=4, lr=1e-2, seed=seed))
        runs.append((history.loss, U.predict(net, learn.batch_graphs(graphs))))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert runs[0][0] != runs[2][0]


# ---- labels: several near-optimal solutions per instance --------------------------------------------

def _all_feasible(model):
    """every feasible 0/1 point of a small all-binary model with its objective, best first"""
    n = model.n
    points = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).astype(float)
    ok = np.array([model.violation(p) <= 1e-9 for p in points])
    values = np.array([model.objective(p) for p in points[ok]])
    return np.sort(-values if model.maximize else values) * (-1 if model.maximize else 1)


@pytest.mark.parametrize("model", [mm.generate("sc", rows=5, cols=9, density=0.4, max_coef=9, seed=4),
                                   mm.generate("mis", nodes=8, affinity=2, seed=1)] if HAVE_TORCH else [],
                         ids=["sc", "mis"])
def test_exclude_gives_the_best_assignments_in_order(model):
    reference = _all_feasible(model)
    sols = learn.near_optimal_solutions(model, count=5, rel_gap=10.0)
    assert len(sols) == 5 and sols.solves == 5 and sols.status == mm.SOLVED
    np.testing.assert_allclose(sols.objective, reference[:5])  # the 5 best values, in order
    assert len({tuple(x) for x in sols.x}) == 5
    for x, value in zip(sols.x, sols.objective):
        assert model.violation(x) <= 1e-9 and model.objective(x) == pytest.approx(value)
    # rel_gap = 0 keeps only optimal assignments
    ties = learn.near_optimal_solutions(model, count=5, rel_gap=0.0)
    np.testing.assert_allclose(ties.objective, reference[:len(ties)])
    assert len(ties) == min(5, int(np.sum(np.isclose(reference, reference[0]))))


def test_perturbed_costs_give_distinct_near_optimal_solutions_and_bad_input_is_an_error():
    model = mm.generate("sc", rows=8, cols=14, density=0.4, max_coef=20, seed=3)
    best = mm.solve(model).objective
    sols = learn.near_optimal_solutions(model, count=4, method="perturb", noise=0.3, rel_gap=0.5, seed=7)
    assert 1 <= len(sols) <= 4 and sols.solves <= 16
    assert len({tuple(x) for x in sols.x}) == len(sols)
    assert sols.objective[0] == pytest.approx(best)
    assert np.all(sols.objective <= best * 1.5 + 1e-9) and np.all(np.diff(sols.objective) >= 0)
    again = learn.near_optimal_solutions(model, count=4, method="perturb", noise=0.3, rel_gap=0.5, seed=7)
    np.testing.assert_array_equal(sols.x, again.x)
    # an infeasible model: no solutions, its status
    infeasible = mm.Model([1.0, 1.0], np.array([[1.0, 1.0]]), row_lo=[3.0], col_lo=0, col_hi=1, integer=[1, 1])
    empty = learn.near_optimal_solutions(infeasible, count=3)
    assert len(empty) == 0 and empty.x.shape == (0, 2) and empty.status == mm.PRIMAL_INFEASIBLE
    with pytest.raises(ValueError, match="count"):
        learn.near_optimal_solutions(model, count=0)
    with pytest.raises(ValueError, match="method"):
        learn.near_optimal_solutions(model, method="sample")
    with pytest.raises(ValueError, match="binary"):
        learn.near_optimal_solutions(mm.Model([1.0], col_hi=2.0), count=2)
    with pytest.raises(TypeError, match="Model"):
        learn.near_optimal_solutions("model.mps")
