"""Models with the ILP layers compile with torch.compile(fullgraph=True) and
give the same outputs and gradients as eager mode.

The operations are torch custom operators (dopt::ilp, dopt::ilp_backward,
dopt::ilp_perturbed, dopt::ilp_spo_plus, dopt::ilp_pfy) with fake
implementations and registered autograd; eager and compiled runs call the
same library functions, so the numbers agree to round-off. The aot_eager
backend traces the whole forward and backward through the fake
implementations (AOTAutograd) without generating code; one test also runs
inductor, the default backend."""
import pytest

torch = pytest.importorskip("torch")

import dopt.torch as dtorch  # noqa: E402
from dopt import ilp as nilp  # noqa: E402

DT = torch.float64


class Model(torch.nn.Module):
    """features -> costs -> ILP layer with learnable constraints (CombOptNet style)."""

    def __init__(self, feats, n, m, method, **opts):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.linear = torch.nn.Linear(feats, n, dtype=DT)
        self.cons = dtorch.LearnableConstraints(m, n, generator=g)
        self.method, self.opts = method, opts

    def forward(self, x, target):
        c = self.linear(x)
        A, b = self.cons()
        y, obj, status = dtorch.ilp(c, A, b, method=self.method, return_status=True, **self.opts)
        return ((y - target) ** 2).sum() + 0.1 * obj.sum(), y


def _run(model, x, target, fn=None):
    model.zero_grad()
    loss, y = (model if fn is None else fn)(x, target)
    loss.backward()
    return loss.detach(), y.detach(), {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}


def _compare(model, x, target, backend):
    torch.manual_seed(0)
    eager = _run(model, x, target)
    compiled = torch.compile(model, fullgraph=True, backend=backend)
    comp = _run(model, x, target, compiled)
    torch.testing.assert_close(comp[0], eager[0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(comp[1], eager[1], rtol=0, atol=0)
    assert comp[2].keys() == eager[2].keys()
    for k in eager[2]:
        torch.testing.assert_close(comp[2][k], eager[2][k], rtol=1e-12, atol=1e-12)
    return eager


def _data(B=6, feats=4, n=5):
    g = torch.Generator().manual_seed(1)
    return torch.randn(B, feats, dtype=DT, generator=g), (torch.rand(B, n, dtype=DT, generator=g) > 0.5).to(DT)


@pytest.mark.parametrize("method", ["combopt", "dbb", "identity"])
def test_ilp_layer_compiles_aot_eager(method):
    torch._dynamo.reset()
    x, target = _data()
    model = Model(4, 5, 3, method, tau=0.5, lambd=5.0)
    eager = _compare(model, x, target, "aot_eager")
    assert eager[2]["linear.weight"].abs().sum() > 0
    if method == "combopt":
        assert eager[2]["cons.a"].abs().sum() > 0  # gradients reach the learnable constraints


def test_perturbed_layer_compiles_aot_eager():
    torch._dynamo.reset()
    x, target = _data()

    class Perturbed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(4, 5, dtype=DT)
            self.layer = dtorch.ILP("perturbed", nilp.Problem(A=[[1.0, 1, 1, 1, 1]], b=[2.0]), epsilon=0.5,
                                    samples=8, seed=3)

        def forward(self, x, target):
            y = self.layer(self.linear(x))
            return ((y - target) ** 2).sum(), y

    _compare(Perturbed(), x, target, "aot_eager")


def test_pyepo_losses_compile_aot_eager():
    torch._dynamo.reset()
    problem = nilp.Problem.shortest_path((3, 3))
    g = torch.Generator().manual_seed(2)
    x = torch.randn(8, 4, dtype=DT, generator=g)
    c_true = torch.rand(8, 12, dtype=DT, generator=g)
    w = torch.as_tensor(problem.solve(c_true.numpy()).y)
    noise = torch.randn(8, 5, 12, dtype=DT, generator=g)
    linear = torch.nn.Linear(4, 12, dtype=DT)
    spo = dtorch.SPOPlus(problem)

    def step(x):
        cp = linear(x)
        A, b, lb, ub = problem.A, problem.b, problem.lb, problem.ub
        pfy = dtorch.perturbed_fenchel_young(cp, w, noise, torch.as_tensor(A), torch.as_tensor(b), lb, ub,
                                             sigma=0.5)
        return spo(cp, c_true, w) + pfy.mean()

    def run(fn):
        linear.zero_grad()
        loss = fn(x)
        loss.backward()
        return loss.detach(), linear.weight.grad.clone()

    eager = run(step)
    comp = run(torch.compile(step, fullgraph=True, backend="aot_eager"))
    torch.testing.assert_close(comp[0], eager[0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(comp[1], eager[1], rtol=1e-12, atol=1e-12)
    assert eager[1].abs().sum() > 0


def test_ilp_layer_compiles_inductor():
    torch._dynamo.reset()
    x, target = _data()
    _compare(Model(4, 5, 3, "combopt", tau=0.5), x, target, "inductor")


def test_perturbed_fenchel_young_module_compiles_with_global_noise():
    # seed=None: the noise comes from torch's global generator, which dynamo
    # traces (a torch.Generator argument it cannot); same seed, same noise
    torch._dynamo.reset()
    problem = nilp.Problem.shortest_path((3, 3))
    g = torch.Generator().manual_seed(4)
    cp0 = torch.rand(5, 12, dtype=DT, generator=g)
    w = torch.as_tensor(problem.solve(torch.rand(5, 12, dtype=DT, generator=g).numpy()).y)
    pfy = dtorch.PerturbedFenchelYoung(problem, n_samples=4, sigma=0.5, seed=None)

    def run(fn):
        cp = cp0.clone().requires_grad_()
        torch.manual_seed(123)
        loss = fn(cp)
        loss.backward()
        return loss.detach(), cp.grad

    eager = run(lambda cp: pfy(cp, w))
    comp = run(torch.compile(lambda cp: pfy(cp, w), fullgraph=True, backend="aot_eager"))
    torch.testing.assert_close(comp[0], eager[0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(comp[1], eager[1], rtol=1e-12, atol=1e-12)
    assert eager[1].abs().sum() > 0
