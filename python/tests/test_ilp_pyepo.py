"""dopt.torch.SPOPlus and PerturbedFenchelYoung against PyEPO's own
(pyepo.func.SPOPlus, pyepo.func.perturbedFenchelYoung) on identical data.

PyEPO needs an optModel with a solver; none of its backends' solvers
(Gurobi, Pyomo, COPT, OR-Tools, MPAX) is installed here, so the tests give
PyEPO optModels that solve by enumerating every binary point (the problems
are tiny), built on PyEPO's own problem bases (shortestPathBase,
knapsackBase: its arcs, its sense). dopt reads their constraints with
dopt.ilp.Problem.from_pyepo. With continuous random costs the optimum is
unique almost surely, so both give the same solutions and the comparisons
are exact up to float64 round-off.
"""
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pyepo = pytest.importorskip("pyepo")

import dopt  # noqa: E402
import dopt.torch  # noqa: E402
from pyepo import EPO  # noqa: E402
from pyepo.model.bases import knapsackBase, shortestPathBase  # noqa: E402
from pyepo.model.opt import optModel  # noqa: E402

DT = torch.float64


class _Enumerate:
    """setObj / solve over the feasible binary points self._points."""

    def _enumerate(self, A, b):
        n = A.shape[1]
        pts = np.array(list(itertools.product((0.0, 1.0), repeat=n)))
        feasible = (pts @ A.T <= b + 1e-9).all(axis=1)
        self._points = pts[feasible]
        return None, list(range(n))

    def setObj(self, c):
        self._c = np.asarray(c.detach().cpu() if isinstance(c, torch.Tensor) else c, dtype=np.float64)

    def solve(self):
        values = self._points @ self._c
        k = int(np.argmin(values) if self.modelSense == EPO.MINIMIZE else np.argmax(values))
        return self._points[k].copy(), float(values[k])


class EnumShortestPath(_Enumerate, shortestPathBase):
    """PyEPO's grid shortest path (its arcs and order), solved by enumeration."""

    def __init__(self, grid):
        super().__init__(grid)

    def _getModel(self):
        h, w = self.grid
        nodes = h * w
        E = np.zeros((nodes, len(self.arcs)))
        for k, (u, v) in enumerate(self.arcs):
            E[v, k] += 1
            E[u, k] -= 1
        rhs = np.zeros(nodes)
        rhs[0], rhs[-1] = -1, 1
        return self._enumerate(np.vstack([E, -E]), np.concatenate([rhs, -rhs]))


class EnumKnapsack(_Enumerate, knapsackBase):
    """PyEPO's multi-dimensional knapsack (a max problem), solved by enumeration."""

    def __init__(self, weights, capacity):
        super().__init__(weights, capacity)

    def _getModel(self):
        return self._enumerate(self.weights, self.capacity)


class EnumGeneric(_Enumerate, optModel):
    """A generic optModel exposing A, b (dopt's convention) and a sense."""

    def __init__(self, A, b, maximize):
        self.A, self.b = np.asarray(A, float), np.asarray(b, float)
        self.modelSense = EPO.MAXIMIZE if maximize else EPO.MINIMIZE
        super().__init__()

    def _getModel(self):
        return self._enumerate(self.A, self.b)


def _true_solutions(model, costs):
    ws, zs = [], []
    for c in costs:
        model.setObj(c)
        w, z = model.solve()
        ws.append(w)
        zs.append([z])
    return torch.tensor(np.array(ws), dtype=DT), torch.tensor(np.array(zs), dtype=DT)


def _shortest_path_data(batch=12, grid=(3, 3), seed=3):
    _, costs = pyepo.data.shortestpath.genData(batch, 5, grid, deg=4, noise_width=0.5, seed=seed)
    model = EnumShortestPath(grid)
    return model, torch.tensor(costs, dtype=DT)


def _knapsack_data(batch=12, items=10, dim=2, seed=5):
    weights, _, costs = pyepo.data.knapsack.genData(batch, 5, items, dim=dim, deg=2, noise_width=0.5, seed=seed)
    capacity = 0.5 * weights.sum(axis=1)
    model = EnumKnapsack(weights, capacity)
    # PyEPO's knapsack values are integers (ties between optima); a small
    # continuous jitter makes every optimum unique, so solutions compare exactly
    jitter = np.random.default_rng(seed).uniform(0, 0.01, size=costs.shape)
    return model, torch.tensor(costs + jitter, dtype=DT)


PROBLEMS = {"shortest_path": _shortest_path_data, "knapsack": _knapsack_data}


def test_from_pyepo_reads_the_constraints():
    sp = EnumShortestPath((3, 3))
    problem = dopt.ilp.Problem.from_pyepo(sp)
    assert problem.sense == "min" and problem.A.shape == (9, 12)  # one row per node (see Problem._flow)
    # the same formulation as dopt's own builder, in PyEPO's arc order
    own = dopt.ilp.Problem.shortest_path((3, 3))
    np.testing.assert_array_equal(problem.A, own.A)
    np.testing.assert_array_equal(problem.b, own.b)
    ks = EnumKnapsack(np.array([[1.0, 2, 3], [3, 1, 1]]), np.array([3.0, 3]))
    kp = dopt.ilp.Problem.from_pyepo(ks)
    assert kp.sense == "max"
    np.testing.assert_array_equal(kp.A, [[1, 2, 3], [3, 1, 1]])
    with pytest.raises(TypeError, match="cannot read the constraints"):
        dopt.ilp.Problem.from_pyepo(object())


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_problem_solve_matches_pyepo_model(name):
    model, costs = PROBLEMS[name]()
    w, z = _true_solutions(model, costs.numpy())
    r = dopt.ilp.Problem.from_pyepo(model).solve(costs.numpy())
    np.testing.assert_array_equal(r.y, w.numpy())
    np.testing.assert_allclose(r.obj, z.numpy()[:, 0], rtol=1e-12)
    assert (r.status == 0).all()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_spo_plus_matches_pyepo(name, reduction):
    model, costs = PROBLEMS[name]()
    w, z = _true_solutions(model, costs.numpy())
    gen = torch.Generator().manual_seed(11)
    cp0 = costs + torch.randn(costs.shape, generator=gen, dtype=DT)  # a prediction off the truth

    cp_ref = cp0.clone().requires_grad_()
    ref = pyepo.func.SPOPlus(model, processes=1, reduction=reduction)(cp_ref, costs, w, z)
    cp_ours = cp0.clone().requires_grad_()
    ours = dopt.torch.SPOPlus(model, processes=1, reduction=reduction)(cp_ours, costs, w, z)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    upstream = torch.linspace(0.5, 1.5, ours.numel(), dtype=DT).reshape(ours.shape)
    (ref * upstream).sum().backward()
    (ours * upstream).sum().backward()
    torch.testing.assert_close(cp_ours.grad, cp_ref.grad, rtol=1e-12, atol=1e-12)
    assert cp_ours.grad.abs().sum() > 0  # the prediction is off: a nonzero subgradient


def test_spo_plus_without_true_solution_and_objective():
    # w, z omitted: dopt solves y(c) itself; PyEPO needs them, computed here
    model, costs = _knapsack_data()
    w, z = _true_solutions(model, costs.numpy())
    cp0 = 0.7 * costs + 0.3
    a = cp0.clone().requires_grad_()
    b = cp0.clone().requires_grad_()
    ref = pyepo.func.SPOPlus(model)(a, costs, w, z)
    ours = dopt.torch.SPOPlus(model)(b, costs)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    ref.backward()
    ours.backward()
    torch.testing.assert_close(b.grad, a.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_spo_plus_given_z_offset_is_used(name):
    # PyEPO's loss uses the given z (not c'w): a shifted z shifts both losses alike
    model, costs = PROBLEMS[name](batch=6)
    w, z = _true_solutions(model, costs.numpy())
    cp = costs.flip(0).clone()
    ref = pyepo.func.SPOPlus(model, reduction="none")(cp, costs, w, z + 0.25)
    ours = dopt.torch.SPOPlus(model, reduction="none")(cp, costs, w, z + 0.25)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("maximize", [False, True])
def test_spo_plus_generic_model_and_explicit_constraints(maximize):
    rng = np.random.default_rng(2)
    A = rng.uniform(0.2, 1.0, size=(3, 7))
    b = A.sum(axis=1) * 0.4
    model = EnumGeneric(A, b, maximize)
    costs = torch.tensor(rng.normal(size=(9, 7)), dtype=DT)
    w, z = _true_solutions(model, costs.numpy())
    cp = torch.tensor(rng.normal(size=(9, 7)), dtype=DT)
    ref = pyepo.func.SPOPlus(model, reduction="none")(cp, costs, w, z)
    ours_model = dopt.torch.SPOPlus(model, reduction="none")(cp, costs, w, z)
    ours_data = dopt.torch.SPOPlus(A=A, b=b, lb=0, ub=1, sense="max" if maximize else "min",
                                   reduction="none")(cp, costs, w, z)
    torch.testing.assert_close(ours_model, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours_data, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_perturbed_fenchel_young_matches_pyepo_with_identical_noise(name):
    # Both draw the noise as torch.randn((batch, K, n)) from a generator seeded
    # once with `seed`: the same noise, call after call, so the losses and
    # gradients agree exactly (two calls: the generators advance alike).
    model, costs = PROBLEMS[name](batch=8)
    w, _ = _true_solutions(model, costs.numpy())
    ref_loss = pyepo.func.perturbedFenchelYoung(model, n_samples=6, sigma=0.7, seed=42, reduction="none")
    our_loss = dopt.torch.PerturbedFenchelYoung(model, n_samples=6, sigma=0.7, seed=42, reduction="none")
    gen = torch.Generator().manual_seed(1)
    for step in range(2):
        cp0 = costs + 0.5 * torch.randn(costs.shape, generator=gen, dtype=DT)
        a = cp0.clone().requires_grad_()
        b = cp0.clone().requires_grad_()
        ref = ref_loss(a, w)
        ours = our_loss(b, w)
        torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
        weights = torch.arange(1, ref.numel() + 1, dtype=DT)
        (ref * weights).sum().backward()
        (ours * weights).sum().backward()
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-12, atol=1e-12)
        assert b.grad.abs().sum() > 0


def test_perturbed_fenchel_young_mean_reduction_and_float32():
    model, costs = _knapsack_data(batch=6)
    w, _ = _true_solutions(model, costs.numpy())
    cp = (costs * 0.8).float()
    a = cp.clone().requires_grad_()
    b = cp.clone().requires_grad_()
    ref = pyepo.func.perturbedFenchelYoung(model, n_samples=4, sigma=1.0, seed=7)(a, w.float())
    ours = dopt.torch.PerturbedFenchelYoung(model, n_samples=4, sigma=1.0, seed=7)(b, w.float())
    assert ours.dtype == torch.float32 and ours.dim() == 0
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)  # float32 sums in a different order
    ref.backward()
    ours.backward()
    assert b.grad.dtype == torch.float32
    torch.testing.assert_close(b.grad, a.grad, rtol=1e-6, atol=1e-6)


def test_pyepo_compat_arguments():
    model, _ = _shortest_path_data(batch=2)
    with pytest.raises(ValueError, match="solve_ratio"):
        dopt.torch.SPOPlus(model, solve_ratio=0.5)
    with pytest.raises(ValueError, match="reduction"):
        dopt.torch.PerturbedFenchelYoung(model, reduction="avg")
    with pytest.raises(ValueError, match="not both"):
        dopt.torch.SPOPlus(model, A=np.eye(2), b=np.ones(2))
    loss = dopt.torch.SPOPlus(model)
    cp = torch.rand(3, 12, dtype=DT)
    with pytest.raises(ValueError, match=r"c must have shape \(3, 12\)"):
        loss(cp, torch.rand(3, 11, dtype=DT))
    with pytest.raises(ValueError, match="z must have shape"):
        loss(cp, cp, torch.zeros(3, 12, dtype=DT), torch.zeros(4, dtype=DT))


def test_losses_on_cuda_match_cpu():
    from conftest import cuda_device_or_skip
    device = cuda_device_or_skip()
    model, costs = _shortest_path_data(batch=16)
    w, z = _true_solutions(model, costs.numpy())
    cp0 = costs.flip(0)
    results = []
    for dev in ("cpu", device):
        cp = cp0.to(dev).requires_grad_()
        loss = dopt.torch.SPOPlus(model)(cp, costs.to(dev), w.to(dev), z.to(dev))
        loss.backward()
        results.append((loss.detach().cpu(), cp.grad.cpu()))
    torch.testing.assert_close(results[1][0], results[0][0], rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(results[1][1], results[0][1])


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_dbb_and_identity_layers_match_pyepo(name):
    # dopt.torch.ILP("dbb"/"identity", optmodel) against pyepo.func.blackboxOpt / negativeIdentity.
    # PyEPO divides by lambd + 1e-8 (its _EPS): a relative difference of 1e-8 / lambd.
    model, costs = PROBLEMS[name](batch=10)
    gen = torch.Generator().manual_seed(3)
    cp0 = costs + torch.randn(costs.shape, generator=gen, dtype=DT)
    upstream = torch.randn(costs.shape, generator=gen, dtype=DT) * 3
    pairs = [(pyepo.func.blackboxOpt(model, lambd=7.0), dopt.torch.ILP("dbb", model, lambd=7.0), 1e-8 / 7.0),
             (pyepo.func.negativeIdentity(model), dopt.torch.ILP("identity", model), 0.0)]
    for ref_layer, our_layer, rtol in pairs:
        a = cp0.clone().requires_grad_()
        b = cp0.clone().requires_grad_()
        ya, yb = ref_layer(a), our_layer(b)
        torch.testing.assert_close(yb, ya, rtol=0, atol=0)
        (ya * upstream).sum().backward()
        (yb * upstream).sum().backward()
        torch.testing.assert_close(b.grad, a.grad, rtol=rtol + 1e-14, atol=1e-14)
        assert b.grad.abs().sum() > 0
