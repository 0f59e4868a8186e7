"""The ILP layers keep every constructor argument (sense, lb, ub,
variable_range, with or without a problem: merged or a ValueError, never
dropped), accept 0-d bounds as dopt.ilp does, and follow the seed
conventions of the perturbed method (fresh noise per call by default, the
same noise in forward and backward, a fixed noise for an int seed)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import dopt.torch as dtorch  # noqa: E402
from dopt import ilp as nilp  # noqa: E402

DT = torch.float64


def _costs(seed, B=4, n=4):
    return torch.randn(B, n, dtype=DT, generator=torch.Generator().manual_seed(seed))


def _knapsack():
    return nilp.Problem.knapsack([[1.0, 2.0, 3.0, 1.5], [2.0, 1.0, 1.0, 2.5]], [3.5, 3.0])


# ---- constructor arguments -------------------------------------------------------

def test_spo_plus_without_constraints_keeps_sense_and_box():
    cp = _costs(0).requires_grad_()
    c = _costs(1)
    loss = dtorch.SPOPlus(lb=0, ub=3, sense="max", reduction="none")
    assert loss.sense == "max"
    ref = dtorch.spo_plus(cp, c, lb=0, ub=3, sense="max")
    torch.testing.assert_close(loss(cp, c), ref, rtol=0, atol=0)
    # the box and the sense both matter here: dropping either changes the loss
    # (with w the true solution, SPO+ is the same for min and max on a box,
    # which maps onto itself by y -> lb + ub - y; with another w it is not)
    assert not torch.allclose(ref, dtorch.spo_plus(cp, c, sense="max"))
    w = torch.ones(4, 4, dtype=DT)
    torch.testing.assert_close(loss(cp, c, w), dtorch.spo_plus(cp, c, w, lb=0, ub=3, sense="max"), rtol=0, atol=0)
    assert not torch.allclose(loss(cp, c, w), dtorch.spo_plus(cp, c, w, lb=0, ub=3, sense="min"))
    # sense alone, and the box alone, are kept too
    assert dtorch.SPOPlus(sense="max").sense == "max"
    torch.testing.assert_close(dtorch.SPOPlus(lb=0, ub=3, reduction="none")(cp, c),
                               dtorch.spo_plus(cp, c, lb=0, ub=3), rtol=0, atol=0)


def test_perturbed_fenchel_young_without_constraints_keeps_sense_and_box():
    cp = _costs(2)
    w = torch.tensor([[0.0, 3, 1, 0]] * 4, dtype=DT)
    pfy = dtorch.PerturbedFenchelYoung(None, n_samples=3, sigma=0.5, seed=7, reduction="none", sense="max",
                                       lb=0, ub=3)
    assert pfy.sense == "max"
    noise = torch.randn((4, 3, 4), dtype=DT, generator=torch.Generator().manual_seed(7))  # PyEPO's draw
    ref = dtorch.perturbed_fenchel_young(cp, w, noise, lb=0, ub=3, sigma=0.5, sense="max")
    torch.testing.assert_close(pfy(cp, w), ref, rtol=0, atol=0)
    assert not torch.allclose(ref, dtorch.perturbed_fenchel_young(cp, w, noise, sigma=0.5, sense="max"))
    assert not torch.allclose(ref, dtorch.perturbed_fenchel_young(cp, w, noise, lb=0, ub=3, sigma=0.5))


def test_ilp_module_merges_the_box_into_a_problem():
    problem = nilp.Problem(A=[[1.0, 1, 1, 1]], b=[10.0])  # lb, ub None: binary unless given
    c = -torch.ones(4, dtype=DT)
    y = dtorch.ILP("identity", problem, lb=0, ub=3)(c)
    assert y.sum() == 10 and y.max() == 3 and y.min() >= 0  # the box [0, 3], not binary
    np.testing.assert_array_equal(y.numpy(), nilp.solve(c.numpy(), problem.A, problem.b, 0, 3).y)
    torch.testing.assert_close(dtorch.ILP("identity", problem, variable_range={"lb": 0, "ub": 3})(c), y)
    # only one side given: the other stays the problem's (None: binary's 0 or 1)
    y_ub = dtorch.ILP("identity", problem, ub=2)(c)
    np.testing.assert_array_equal(y_ub.numpy(), nilp.solve(c.numpy(), problem.A, problem.b, None, 2).y)
    # per-instance bounds in the constructor, kept as given
    lb = torch.tensor([1.0, 0, 0, 0], dtype=DT)
    y_lb = dtorch.ILP("identity", problem, lb=lb, ub=3)(-c)  # minimize sum y: y = lb
    torch.testing.assert_close(y_lb, lb)


def test_ilp_module_without_a_problem_keeps_the_box_and_sense():
    c = _costs(3)
    A = torch.ones(1, 4, dtype=DT)
    b = torch.tensor([5.0], dtype=DT)
    layer = dtorch.ILP("identity", lb=-1, ub=2, sense="max")
    assert layer.sense == "max"
    torch.testing.assert_close(layer(c, A, b), dtorch.ilp(c, A, b, -1, 2, method="identity", sense="max"))
    torch.testing.assert_close(dtorch.ILP("identity", sense="max")(c), dtorch.ilp(c, sense="max"))


def test_agreeing_arguments_merge_and_conflicts_raise():
    knap = _knapsack()  # a max problem with the box [0, 1]
    c = _costs(4)
    ref = dtorch.ILP("identity", knap)(c)
    for kwargs in (dict(sense="max"), dict(lb=0, ub=1), dict(lb=np.zeros(4), ub=torch.ones(4))):
        layer = dtorch.ILP("identity", knap, **kwargs)
        assert layer.sense == "max"
        torch.testing.assert_close(layer(c), ref)
        assert dtorch.SPOPlus(knap, **kwargs).sense == "max"
        assert dtorch.PerturbedFenchelYoung(knap, **kwargs).sense == "max"
    for cls in (lambda *a, **k: dtorch.ILP("dbb", *a, **k), dtorch.SPOPlus, dtorch.PerturbedFenchelYoung):
        with pytest.raises(ValueError, match="sense='min' conflicts with the problem's sense 'max'"):
            cls(knap, sense="min")
        with pytest.raises(ValueError, match="ub=3 conflicts with the problem's ub"):
            cls(knap, ub=3)
        with pytest.raises(ValueError, match="lb=.* conflicts with the problem's lb"):
            cls(knap, lb=np.array([0.0, 0, 1, 0]))
        with pytest.raises(ValueError, match="sense must be 'min' or 'max'"):
            cls(None, sense="maximize")
    with pytest.raises(ValueError, match="ub=2 conflicts"):
        dtorch.ILP("identity", knap, variable_range={"lb": 0, "ub": 2})


# ---- 0-d bounds ------------------------------------------------------------------

def test_zero_d_bounds_stand_for_every_variable():
    c, A = _costs(5), torch.ones(1, 4, dtype=DT)
    b = torch.tensor([5.0], dtype=DT)
    ref = nilp.solve(c.numpy(), A.numpy(), b.numpy(), np.array(-1.0), np.array(2.0)).y  # numpy's 0-d bounds
    for lb, ub in ((torch.tensor(-1.0), torch.tensor(2.0)), (torch.tensor(-1), torch.tensor(2)),
                   (np.array(-1.0), np.array(2.0)), (torch.tensor(-1.0, dtype=torch.float32), 2)):
        y = dtorch.ilp(c, A, b, lb, ub, method="identity")
        np.testing.assert_array_equal(y.numpy(), ref)
        torch.testing.assert_close(dtorch.ILP("identity", lb=lb, ub=ub)(c, A, b), y)
        torch.testing.assert_close(dtorch.ILP("identity", A=A, b=b)(c, lb=lb, ub=ub), y)
    assert (torch.tensor(ref) == 2).any() and (torch.tensor(ref) == -1).any()  # both bounds active
    problem = nilp.Problem(A, b, torch.tensor(-1.0), np.array(2.0))  # kept as numbers
    assert problem.lb == -1.0 and problem.ub == 2.0
    np.testing.assert_array_equal(problem.solve(c.numpy()).y, ref)
    # the losses take them too
    w = torch.as_tensor(ref)
    cp = _costs(6)
    torch.testing.assert_close(dtorch.spo_plus(cp, c, w, None, A, b, torch.tensor(-1.0), torch.tensor(2.0)),
                               dtorch.spo_plus(cp, c, w, None, A, b, -1, 2), rtol=0, atol=0)


def test_zero_d_bounds_compile():
    torch._dynamo.reset()
    c, A = _costs(7), torch.ones(1, 4, dtype=DT)
    b = torch.tensor([5.0], dtype=DT)
    lb, ub = torch.tensor(-1.0), torch.tensor(2.0)

    def f(c):
        return dtorch.ilp(c, A, b, lb, ub, method="dbb", lambd=2.0)

    torch.testing.assert_close(torch.compile(f, fullgraph=True, backend="aot_eager")(c), f(c), rtol=0, atol=0)


# ---- seeds of the perturbed method ----------------------------------------------

def _data(seed=8):
    g = torch.Generator().manual_seed(seed)
    c = torch.randn(6, 5, dtype=DT, generator=g)
    A = torch.ones(1, 5, dtype=DT)
    b = torch.tensor([2.0], dtype=DT)
    return c, A, b


def test_perturbed_draws_fresh_noise_per_call_by_default():
    c, A, b = _data()
    layer = dtorch.ILP("perturbed", A=A, b=b, epsilon=1.0, samples=4)
    torch.manual_seed(0)
    first, second = layer(c), layer(c)
    assert not torch.equal(first, second)  # PyEPO's perturbedOpt also draws new noise on every call
    assert not torch.equal(dtorch.ilp(c, A, b, method="perturbed", samples=4),
                           dtorch.ilp(c, A, b, method="perturbed", samples=4))
    torch.manual_seed(0)  # reproducible through torch's default generator
    torch.testing.assert_close(layer(c), first, rtol=0, atol=0)
    torch.testing.assert_close(layer(c), second, rtol=0, atol=0)
    # the other methods draw nothing from torch's generator
    torch.manual_seed(1)
    dtorch.ilp(c, A, b, method="dbb")
    dtorch.ILP("combopt", A=A, b=b)(c)
    after = torch.rand(())
    torch.manual_seed(1)
    assert torch.equal(torch.rand(()), after)


def test_perturbed_fresh_seed_is_the_same_in_forward_and_backward():
    # the seed drawn for a call is torch.randint(0, 2^62, ()) from the default
    # generator; forward and backward use it: compare with the numpy API at that seed
    c, A, b = _data(9)
    dy = torch.randn(6, 5, dtype=DT, generator=torch.Generator().manual_seed(10))
    cl = c.clone().requires_grad_()
    torch.manual_seed(3)
    y = dtorch.ilp(cl, A, b, method="perturbed", epsilon=0.7, samples=5)
    (y * dy).sum().backward()
    torch.manual_seed(3)
    seed = int(torch.randint(0, 2 ** 62, (), dtype=torch.int64))
    np.testing.assert_array_equal(y.detach().numpy(), nilp.perturbed(c.numpy(), A.numpy(), b.numpy(), epsilon=0.7,
                                                                      samples=5, seed=seed))
    r = nilp.solve(c.numpy(), A.numpy(), b.numpy())
    g = nilp.backward(c.numpy(), A.numpy(), b.numpy(), y=r.y, status=r.status, dy=dy.numpy(), method="perturbed",
                      epsilon=0.7, samples=5, seed=seed, wanted=("c",))
    np.testing.assert_allclose(cl.grad.numpy(), g["c"], rtol=1e-13, atol=1e-13)


def test_an_integer_seed_fixes_the_noise():
    c, A, b = _data(11)
    for seed in (5, np.int64(5), torch.tensor(5)):
        layer = dtorch.ILP("perturbed", A=A, b=b, samples=4, seed=seed)
        first = layer(c)
        torch.testing.assert_close(layer(c), first, rtol=0, atol=0)
        np.testing.assert_array_equal(first.numpy(), nilp.perturbed(c.numpy(), A.numpy(), b.numpy(), samples=4,
                                                                    seed=5))
        torch.testing.assert_close(dtorch.ilp(c, A, b, method="perturbed", samples=4, seed=seed), first, rtol=0,
                                   atol=0)
    assert not torch.equal(first, dtorch.ilp(c, A, b, method="perturbed", samples=4, seed=6))
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\^63\)"):
        dtorch.ILP("perturbed", seed=-1)
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\^63\)"):
        dtorch.ilp(c, A, b, method="perturbed", seed=2 ** 63)
    with pytest.raises(TypeError, match="seed must be None, an int or a 0-d integer tensor"):
        dtorch.ilp(c, A, b, method="perturbed", seed=1.5)
    with pytest.raises(ValueError, match="0-d integer tensor"):
        dtorch.ilp(c, A, b, method="perturbed", seed=torch.tensor([1, 2]))


def _perturbed_model():
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(3, 5, dtype=DT)
            self.layer = dtorch.ILP("perturbed", A=torch.ones(1, 5, dtype=DT), b=torch.tensor([2.0], dtype=DT),
                                    epsilon=0.5, samples=6)  # seed=None: the default

        def forward(self, x):
            return self.layer(self.linear(x))

    torch.manual_seed(0)
    return Model()


def _step(fn, model, x, dy):
    model.zero_grad()
    y = fn(x)
    (y * dy).sum().backward()
    return y.detach(), model.linear.weight.grad.clone()


def test_fresh_noise_compiles_fullgraph_and_matches_eager():
    # aot_eager runs the graph's torch.randint on torch's default generator,
    # as eager mode does: the same seeds, so the same outputs and gradients
    torch._dynamo.reset()
    model = _perturbed_model()
    g = torch.Generator().manual_seed(12)
    x, dy = torch.randn(4, 3, dtype=DT, generator=g), torch.randn(4, 5, dtype=DT, generator=g)
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    torch.manual_seed(5)
    eager = [_step(model, model, x, dy) for _ in range(2)]
    torch.manual_seed(5)
    comp = [_step(compiled, model, x, dy) for _ in range(2)]
    for e, k in zip(eager, comp):
        torch.testing.assert_close(k[0], e[0], rtol=0, atol=0)
        torch.testing.assert_close(k[1], e[1], rtol=1e-12, atol=1e-12)
    assert not torch.equal(comp[0][0], comp[1][0])  # fresh noise on each compiled call
    assert eager[0][1].abs().sum() > 0


def test_fresh_noise_compiles_with_inductor():
    # inductor draws the seed with its own generator (seeded from torch's), so
    # its numbers differ from eager's: it compiles and draws fresh noise per
    # call, reproducibly
    torch._dynamo.reset()
    model = _perturbed_model()
    x = torch.randn(4, 3, dtype=DT, generator=torch.Generator().manual_seed(13))
    compiled = torch.compile(model, fullgraph=True)
    torch.manual_seed(6)
    a, b = compiled(x), compiled(x)
    assert not torch.equal(a, b)
    torch.manual_seed(6)  # reproducible through torch's default generator
    torch.testing.assert_close(compiled(x), a, rtol=0, atol=0)
    assert ((a >= 0) & (a <= 1)).all() and (a.sum(-1) <= 2 + 1e-12).all()  # means of feasible points
