"""The issue's compile check: one model holding the QP layer and the ILP layer
compiles with torch.compile(fullgraph=True) (the default backend, inductor)
and gives eager mode's outputs and gradients."""
import pytest

torch = pytest.importorskip("torch")

import dopt.torch as dt  # noqa: E402

F64 = torch.float64


class QPThenILP(torch.nn.Module):
    """features -> costs p -> QP projection onto a learned polytope (x) ->
    costs of a small binary ILP with learnable CombOptNet constraints (y)."""

    def __init__(self, feats=3, n=5, m_qp=6, m_ilp=3):
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.lin = torch.nn.Linear(feats, n, dtype=F64)
        self.G = torch.nn.Parameter(torch.randn(m_qp, n, generator=g, dtype=F64))
        self.h = torch.nn.Parameter(torch.ones(m_qp, dtype=F64))
        self.cons = dt.LearnableConstraints(m_ilp, n, generator=g)
        self.n = n

    def forward(self, z, target):
        p = self.lin(z)
        Q = torch.eye(self.n, dtype=F64)
        x, lam, _, qp_status = dt.qp(Q, p, self.G, self.h, tol=1e-12)
        A, b = self.cons()
        y, obj, ilp_status = dt.ilp(x, A, b, method="combopt", tau=0.5, return_status=True)
        loss = ((y - target) ** 2).sum() + 0.1 * obj.sum() + (x ** 2).sum() + 1e-2 * lam.sum()
        return loss, x, y, qp_status, ilp_status


def _run(fn, model, z, target):
    model.zero_grad()
    loss, x, y, s1, s2 = fn(z, target)
    loss.backward()
    grads = {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}
    return loss.detach(), x.detach(), y.detach(), s1, s2, grads


def test_model_with_qp_and_ilp_layers_compiles_fullgraph():
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = QPThenILP()
    g = torch.Generator().manual_seed(5)
    z = torch.randn(6, 3, dtype=F64, generator=g)
    target = (torch.rand(6, 5, dtype=F64, generator=g) > 0.5).to(F64)
    eager = _run(model, model, z, target)
    compiled = _run(torch.compile(model, fullgraph=True), model, z, target)
    assert (eager[3] == 0).all() and (eager[4] == 0).all(), "every instance must be solved for the comparison"
    assert torch.equal(compiled[3], eager[3]) and torch.equal(compiled[4], eager[4])
    # the solves and backward rules are the same library calls; only the
    # compiled surrounding ops may round differently in the last bit
    torch.testing.assert_close(compiled[0], eager[0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(compiled[1], eager[1], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(compiled[2], eager[2], rtol=0, atol=0)
    assert compiled[5].keys() == eager[5].keys()
    # gradients reach every stage: the linear map (through QP and ILP), the QP
    # polytope, and the ILP's learnable constraints
    for name in ("lin.weight", "G", "h", "cons.a"):
        assert eager[5][name].abs().sum() > 0, name
    for name, grad in eager[5].items():
        torch.testing.assert_close(compiled[5][name], grad, rtol=1e-10, atol=1e-10)
