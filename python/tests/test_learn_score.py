"""dopt.learn.score: the SRG-style score-based generator on tiny instances
(set cover and independent set of different sizes in one batch)."""
import math

import numpy as np
import pytest

from conftest import HAVE_TORCH

pytestmark = pytest.mark.skipif(not HAVE_TORCH, reason="torch is not installed")

if HAVE_TORCH:
    import torch

    import dopt.milp as mm
    from dopt import learn
    from dopt import diffusion as D
    from dopt.learn import score as S
    from dopt.learn import unsupervised as U


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny graphs: the pool only waits (see test_learn_pipelines.py)
    yield
    torch.set_num_threads(threads)


def _mixed_models():
    sc = [mm.generate("sc", rows=r, cols=k, density=0.4, max_coef=20, seed=s)
          for s, (r, k) in enumerate(((6, 10), (8, 14), (5, 12)))]
    mis = [mm.generate("mis", nodes=k, affinity=2, seed=s) for s, k in enumerate((9, 11))]
    return sc + mis


_LABELS = {}


def _labels(models):
    key = tuple(m.n for m in models)
    if key not in _LABELS:
        _LABELS[key] = S.solution_labels(models, count=3, rel_gap=0.5)
    return _LABELS[key]


def _net(batch, seed=0):
    net = S.ScoreGCN.for_graph(batch, emb_size=16, seed=seed).double()
    net.fit_prenorm(batch)
    return net


def _block_state(batch, samples, rng):
    return torch.tensor(rng.normal(size=samples * batch.num_vars))


def test_network_shapes_per_instance_in_a_heterogeneous_batch():
    models = _mixed_models()
    batch = learn.batch_graphs(models)
    assert len({m.n for m in models}) == len(models)  # every instance its own size
    net = _net(batch)
    K = 3
    xt = _block_state(batch, K, np.random.default_rng(0))
    eps = net(batch, xt, 50, K)
    assert eps.shape == (K * batch.num_vars,) and eps.dtype == torch.float64
    assert torch.isfinite(eps).all()
    for i, m in enumerate(models):  # instance i's block: K rows of its own n
        v0, v1 = int(batch.var_ptr[i]), int(batch.var_ptr[i + 1])
        assert eps[K * v0:K * v1].reshape(K, -1).shape == (K, m.n)
    # per-row timesteps: one per (instance, sample)
    t = torch.arange(1, K * len(models) + 1) * 7
    assert net(batch, xt, t, K).shape == eps.shape


def test_eps_hat_of_an_instance_in_the_batch_equals_the_instance_alone():
    models = _mixed_models()
    batch = learn.batch_graphs(models)
    net = _net(batch)
    K = 3
    rng = np.random.default_rng(1)
    xt = _block_state(batch, K, rng)
    t = torch.tensor(rng.integers(1, 1000, size=K * len(models)))
    with torch.no_grad():
        together = net(batch, xt, t, K)
        for i in range(len(models)):
            v0, v1 = int(batch.var_ptr[i]), int(batch.var_ptr[i + 1])
            alone = net(learn.batch_graphs([models[i]]), xt[K * v0:K * v1], t[K * i:K * (i + 1)], K)
            torch.testing.assert_close(together[K * v0:K * v1], alone, rtol=1e-12, atol=1e-12)
            # every sample is its own copy of the graph: sample k alone (samples = 1) gives the same
            n = v1 - v0
            for k in range(K):
                row = slice(K * v0 + k * n, K * v0 + (k + 1) * n)
                single = net(learn.batch_graphs([models[i]]), xt[row], t[K * i + k:K * i + k + 1], 1)
                torch.testing.assert_close(together[row], single, rtol=1e-12, atol=1e-12)
    # and the state matters: another x_t of one sample changes only that sample's scores
    changed = xt.clone()
    changed[:models[0].n] += 1.0
    with torch.no_grad():
        other = net(batch, changed, t, K)
    assert not torch.equal(other[:models[0].n], together[:models[0].n])
    torch.testing.assert_close(other[models[0].n:], together[models[0].n:], rtol=0, atol=0)


def _dense_ge(batch, i):
    """instance i's normalized A x >= b rows and c, dense, from guide_batch's rule"""
    c, values, b = U.normalized_arrays(batch)
    row_ptr, col_idx = np.asarray(batch.row_ptr), np.asarray(batch.col_idx)
    v0, v1 = int(batch.var_ptr[i]), int(batch.var_ptr[i + 1])
    r0, r1 = int(batch.con_ptr[i]), int(batch.con_ptr[i + 1])
    A = np.zeros((r1 - r0, v1 - v0))
    for r in range(r0, r1):
        for e in range(row_ptr[r], row_ptr[r + 1]):
            A[r - r0, col_idx[e] - v0] += -values[e]
    return A, -b[r0:r1], c[v0:v1]


def test_training_targets_are_eq19_with_one_timestep_per_row():
    models = _mixed_models()
    batch = learn.batch_graphs(models)
    labels = _labels(models)
    xref = np.concatenate([lab[0] for lab in labels])
    guide = S.guide_batch(batch, xref)
    K = 2
    x0 = torch.tensor(np.concatenate([np.tile(lab[0], K) for lab in labels]))
    abar = D.schedule(100)
    t = np.arange(K * len(models)) * 9 + 3
    g = D.Guidance(gamma_o=0.3, gamma_c=0.7, lam=1.5)
    xt, eps, target = S.training_targets(guide, x0, t, abar, samples=K, seed=11, guidance=g)
    for i in range(len(models)):
        A, b, c = _dense_ge(batch, i)
        v0, v1 = int(batch.var_ptr[i]), int(batch.var_ptr[i + 1])
        n = v1 - v0
        for k in range(K):
            row = slice(K * v0 + k * n, K * v0 + (k + 1) * n)
            a = abar[t[K * i + k]]
            # x_t = sqrt(abar) x0 + sqrt(1 - abar) eps at this row's own timestep
            np.testing.assert_allclose(xt[row].numpy(), math.sqrt(a) * x0[row].numpy()
                                       + math.sqrt(1 - a) * eps[row].numpy(), rtol=0, atol=1e-14)
            # eq. 19 (docs/DIFFUSION.md signs) computed here by hand at the rounded state
            xr = np.floor(xt[row].numpy() + 0.5)
            G = g.gamma_o * c * np.sign(c * (xr - labels[i][0])) - g.gamma_c * g.lam * A.T @ (A @ xr < b)
            np.testing.assert_allclose(target[row].numpy(), eps[row].numpy() + math.sqrt(a) * G, rtol=0, atol=1e-12)
    # with one timestep for every row it is dopt's own eq. 19 call
    t_all = np.full(K * len(models), 40)
    xt, eps, target = S.training_targets(guide, x0, t_all, abar, samples=K, seed=11, guidance=g)
    reference = D.srg_target_blocks(guide, xt, eps, abar[40], samples=K, guidance=g)
    torch.testing.assert_close(target, reference, rtol=0, atol=1e-14)
    # the noise is dopt's Philox: the same seed, the same noise
    _, eps_again, _ = S.training_targets(guide, x0, t_all, abar, samples=K, seed=11, guidance=g)
    assert torch.equal(eps, eps_again)


def _held_out_loss(net, batch, labels, abar):
    """the score loss at fixed timesteps and noise: a deterministic learning curve"""
    K = 4
    xref = np.concatenate([lab[0] for lab in labels])
    x0 = torch.tensor(np.concatenate([np.tile(lab[0], K) for lab in labels]))
    t = np.tile(np.array([5, 20, 60, 150]), len(labels))
    guide = S.guide_batch(batch, xref)
    xt, _, target = S.training_targets(guide, x0, t, abar, samples=K, seed=99, guidance=D.Guidance(0.01, 0.1, 1.0))
    with torch.no_grad():
        return float(torch.mean((net(batch, xt, t, K) - target) ** 2))


def test_training_lowers_the_loss():
    models = _mixed_models()
    labels = _labels(models)
    batch = learn.batch_graphs(models)
    config = S.ScoreConfig(epochs=40, batch_size=3, samples=4, lr=3e-3, emb_size=16, T=200, seed=0, lp=False)
    net = _net(batch)
    abar = D.schedule(config.T)
    before = _held_out_loss(net, batch, labels, abar)
    model = S.train_score(models, labels, config, net=net)
    after = _held_out_loss(model.net, batch, labels, abar)
    assert after < 0.6 * before, (before, after)
    h = model.history
    assert len(h.loss) == 40 * 2 and h.samples == 40 * len(models) * 4 and h.instances == 40 * len(models)
    assert np.mean(h.loss[-10:]) < 0.6 * np.mean(h.loss[:10])
    assert h.samples_per_second > 0


def _trained(models, seed=0):
    config = S.ScoreConfig(epochs=10, batch_size=3, samples=3, lr=3e-3, emb_size=16, T=100, seed=seed, lp=False)
    return S.train_score(models, _labels(models), config)


def test_candidates_per_instance_and_search_no_worse_than_the_best_candidate():
    models = _mixed_models()
    model = _trained(models)
    K = 5
    cands = S.sample_candidates(model, models, candidates=K, steps=10, seed=3)
    assert len(cands.x) == len(models) and cands.best.shape == (len(models),)
    for i, m in enumerate(models):
        assert cands.x[i].shape == cands.relaxed[i].shape == (K, m.n)
        assert set(np.unique(cands.x[i])) <= {0.0, 1.0}
        assert 0 <= cands.best[i] < K
        np.testing.assert_array_equal(cands.best_x[i], cands.x[i][cands.best[i]])
        assert cands.best_objective[i] == pytest.approx(m.objective(cands.best_x[i]))
        assert cands.best_feasible[i] == (m.violation(cands.best_x[i]) <= 1e-9)
        feasible = [m.violation(x) <= 1e-9 for x in cands.x[i]]
        assert cands.feasible_count[i] == sum(feasible)
        if any(feasible):  # the chosen one is feasible and the cheapest feasible one
            assert cands.best_feasible[i]
            values = [m.objective(x) for x, ok in zip(cands.x[i], feasible) if ok]
            assert cands.best_objective[i] == pytest.approx(max(values) if m.maximize else min(values))
    result, again = S.score_predict_and_search(model, models, time_limit=5.0, candidates=K, steps=10, seed=3)
    for name in ("best", "best_objective", "best_feasible"):
        np.testing.assert_array_equal(getattr(again, name), getattr(cands, name))
    assert result.objective.shape == result.seconds.shape == (len(models),)
    assert np.all(result.seconds > 0)
    for i, m in enumerate(models):
        assert result.has_solution[i]
        assert m.violation(result.x[i]) <= 1e-6
        assert m.objective(result.x[i]) == pytest.approx(result.objective[i])
        if cands.best_feasible[i]:
            worse = (result.objective[i] < cands.best_objective[i] - 1e-9 if m.maximize
                     else result.objective[i] > cands.best_objective[i] + 1e-9)
            assert not worse, (i, result.objective[i], cands.best_objective[i])
        optimum = mm.solve(m).objective
        assert (result.objective[i] <= optimum + 1e-9) if m.maximize else (result.objective[i] >= optimum - 1e-9)
    # the search's center is the best candidate: the repaired rounding starts from it
    centers = S.candidate_centers(cands)
    np.testing.assert_array_equal(centers >= 0.5, np.concatenate(cands.best_x) >= 0.5)


def test_same_seed_same_result_bitwise():
    models = _mixed_models()
    runs = []
    for seed in (4, 4, 5):
        model = _trained(models, seed=seed)
        cands = S.sample_candidates(model, models, candidates=4, steps=8, seed=seed)
        runs.append((model, cands))
    (m1, c1), (m2, c2), (m3, c3) = runs
    assert m1.history.loss == m2.history.loss
    for p1, p2 in zip(m1.net.parameters(), m2.net.parameters()):
        assert torch.equal(p1, p2)
    for r1, r2 in zip(c1.relaxed, c2.relaxed):
        np.testing.assert_array_equal(r1, r2)
    assert m1.history.loss != m3.history.loss
    assert any(not np.array_equal(r1, r3) for r1, r3 in zip(c1.relaxed, c3.relaxed))


def test_bad_arguments_raise_clear_errors():
    models = _mixed_models()
    labels = _labels(models)
    batch = learn.batch_graphs(models)
    config = S.ScoreConfig(epochs=1, batch_size=2, samples=2, emb_size=8, T=50, lp=False)
    with pytest.raises(ValueError, match="4 label sets for 5 instances"):
        S.train_score(models, labels[:4], config)
    bad = list(labels)
    bad[2] = np.zeros((2, models[2].n + 1))
    with pytest.raises(ValueError, match="labels of instance 2 must be"):
        S.train_score(models, bad, config)
    bad[2] = np.full((1, models[2].n), 0.5)
    with pytest.raises(ValueError, match="instance 2 must be 0/1"):
        S.train_score(models, bad, config)
    with pytest.raises(ValueError, match="batch_size and samples"):
        S.train_score(models, labels, S.ScoreConfig(samples=0))
    cfl = mm.generate("cfl", customers=3, facilities=2, seed=0)  # continuous columns
    with pytest.raises(ValueError, match="instance 1 has a non-binary column"):
        S.train_score([models[0], cfl], [labels[0], np.zeros((1, cfl.n))], config)
    infeasible = mm.Model([1.0, 1.0], np.array([[1.0, 1.0]]), row_lo=[3.0], col_lo=0, col_hi=1, integer=[1, 1])
    with pytest.raises(ValueError, match="instance 1 .* no feasible solution"):
        S.solution_labels([models[0], infeasible])
    net = _net(batch)
    with pytest.raises(ValueError, match="xt must be a block state"):
        net(batch, torch.zeros(batch.num_vars + 1, dtype=torch.float64), 3, 1)
    with pytest.raises(ValueError, match="one timestep per state row"):
        net(batch, torch.zeros(2 * batch.num_vars, dtype=torch.float64), torch.ones(3, dtype=torch.int64), 2)
    with pytest.raises(ValueError, match="samples must be >= 1"):
        net(batch, torch.zeros(0, dtype=torch.float64), 3, 0)
    with pytest.raises(TypeError, match="GraphBatch"):
        net(models[0], torch.zeros(models[0].n, dtype=torch.float64), 3, 1)
    with pytest.raises(TypeError, match="no logit head"):
        net.forward_tensors(None, None, None, None)
    model = S.train_score(models, labels, config)
    with pytest.raises(ValueError, match="candidates must be >= 1"):
        S.sample_candidates(model, models, candidates=0)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        S.sample_candidates(model, models, steps=0)
    with pytest.raises(ValueError, match="sampler must be"):
        S.sample_candidates(model, models, sampler="euler")
    with pytest.raises(TypeError, match="ScoreModel"):
        S.sample_candidates(model.net, models)
    with pytest.raises(ValueError, match="4 models for a batch of 5"):
        S.sample_candidates(model, models[:4], batch=batch)
    guide = S.guide_batch(batch, np.zeros(batch.num_vars))
    with pytest.raises(ValueError, match=r"timesteps must lie in \[1, T = 50\]"):
        S.training_targets(guide, torch.zeros(batch.num_vars, dtype=torch.float64), np.full(5, 51), D.schedule(50),
                           samples=1, seed=0, guidance=None)


@pytest.mark.skipif(HAVE_TORCH and not mm.have_cbc(), reason="LP features need the Cbc (Clp) backend")
def test_lp_features_follow_the_network():
    models = _mixed_models()[:3]
    config = S.ScoreConfig(epochs=1, batch_size=3, samples=2, emb_size=8, T=50)  # lp=True: the default
    model = S.train_score(models, _labels(models), config)
    assert model.lp and model.net.var_norm.shift.numel() == len(learn.VAR_FEATURES) + len(learn.VAR_LP_FEATURES)
    cands = S.sample_candidates(model, models, candidates=2, steps=3)  # builds LP graphs itself
    assert [x.shape for x in cands.x] == [(2, m.n) for m in models]
    with pytest.raises(ValueError, match="takes 10 variable and 3 constraint features"):
        S.sample_candidates(model, models, graphs=U.instance_graphs(models))
    with pytest.raises(TypeError, match="ScoreModel"):
        S.score_predict_and_search(model.net, models)
