"""The QP layer under torch.compile(fullgraph=True): the custom operators
dopt::qp_solve / dopt::qp_backward pass torch.library.opcheck, and a small
model compiles and gives eager mode's outputs and gradients. Kept to one
compiled model: compilation is slow on a 2-core machine."""
import pytest

torch = pytest.importorskip("torch")

import dopt.torch as dt  # noqa: E402

F64 = torch.float64


def _instances(B, n, m, k, seed=0):
    g = torch.Generator().manual_seed(seed)
    L = torch.randn(B, n, n, generator=g, dtype=F64)
    Q = L @ L.transpose(1, 2) / n + 0.5 * torch.eye(n, dtype=F64)
    x0 = torch.randn(B, n, generator=g, dtype=F64)
    G = torch.randn(B, m, n, generator=g, dtype=F64)
    h = torch.einsum("bmn,bn->bm", G, x0) + 0.5
    A = torch.randn(B, k, n, generator=g, dtype=F64)
    b = torch.einsum("bkn,bn->bk", A, x0)
    p = torch.randn(B, n, generator=g, dtype=F64)
    return Q, p, G, h, A, b


def test_opcheck_qp_solve_and_backward():
    Q, p, G, h, A, b = _instances(3, 4, 5, 1)
    opts = (1e-10, 0.0, 0, 0, False)  # tol, tol_inf, max_iter, refine, closest_feasible
    # per instance, shared (no batch dimension), an LP without equalities
    samples = [
        (Q, p, G, h, A, b),
        (Q[0], p, G[0], h[0], A[0], b[0]),
        (None, p, torch.cat([torch.eye(4, dtype=F64), -torch.eye(4, dtype=F64)]), torch.ones(8, dtype=F64),
         None, None),
    ]
    for args in samples:
        args = tuple(a.clone().requires_grad_() if a is not None else None for a in args)
        # the operator's autograd (register_autograd) is checked against its
        # fake and real kernels; gradients themselves are checked elsewhere
        torch.library.opcheck(torch.ops.dopt.qp_solve.default, (*args, *opts),
                              test_utils=("test_schema", "test_faketensor", "test_autograd_registration"))
        x = torch.ops.dopt.qp_solve(*(a.detach() if a is not None else None for a in args), *opts)[0]
        dx = torch.ones_like(x)
        torch.library.opcheck(torch.ops.dopt.qp_backward.default,
                              (*(a.detach() if a is not None else None for a in args), dx, None, None, *opts,
                               [True] * 6), test_utils=("test_schema", "test_faketensor"))


def test_compiled_model_matches_eager():
    torch._dynamo.reset()
    n, m = 4, 6

    class Model(torch.nn.Module):
        """A linear map produces p; Q = LL' + I/10 and G, h are learned and
        shared by the batch; QPFunction (qpth's call) and dopt.torch.qp (with
        lam, nu, status) in one graph."""

        def __init__(self):
            super().__init__()
            g = torch.Generator().manual_seed(1)
            self.lin = torch.nn.Linear(3, n, dtype=F64)
            self.L = torch.nn.Parameter(0.3 * torch.randn(n, n, generator=g, dtype=F64) + torch.eye(n, dtype=F64))
            self.G = torch.nn.Parameter(torch.randn(m, n, generator=g, dtype=F64))
            self.h = torch.nn.Parameter(torch.ones(m, dtype=F64))
            self.layer = dt.QPFunction(verbose=-1, tol=1e-12)

        def forward(self, z):
            p = self.lin(z)
            Q = self.L @ self.L.T + 0.1 * torch.eye(n, dtype=F64)
            e = torch.empty(0, dtype=F64)
            x = self.layer(Q, p, self.G, self.h, e, e)
            res = dt.qp(Q, p, self.G, self.h, tol=1e-12)
            loss = (x ** 2).sum() + x.sum() + (res.lam * torch.arange(m, dtype=F64)).sum()
            return loss, x, res.status

    torch.manual_seed(0)
    model = Model()
    z = torch.randn(5, 3, dtype=F64)
    params = list(model.parameters())
    loss, x, status = model(z)
    grads = torch.autograd.grad(loss, params)
    compiled = torch.compile(model, fullgraph=True)
    loss_c, x_c, status_c = compiled(z)
    grads_c = torch.autograd.grad(loss_c, params)
    assert (status == 0).all() and torch.equal(status, status_c)
    # the same solves and backward; the compiled surrounding ops (Q = LL' + ...)
    # may round differently in the last bit, which the solves carry along
    torch.testing.assert_close(x_c, x, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(loss_c, loss, rtol=1e-12, atol=1e-12)
    for g, g_c in zip(grads, grads_c):
        torch.testing.assert_close(g_c, g, rtol=1e-10, atol=1e-10)
        assert g.abs().max() > 0
