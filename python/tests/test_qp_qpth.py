"""dopt.torch.QPFunction against qpth's QPFunction on identical random
feasible instances: the same solutions and gradients, per instance; for
shared inputs, qpth's gradient is the batch MEAN and dopt's the SUM."""
import pytest

torch = pytest.importorskip("torch")
qpth = pytest.importorskip("qpth")
import qpth.qp  # noqa: E402

import dopt.torch as dt  # noqa: E402

F64 = torch.float64
NAMES = ("Q", "p", "G", "h", "A", "b")


def random_instances(seed, B, n, m, k):
    """Q = LL'/n + I/2, a strictly feasible x0, random p: generic instances
    with some inequalities active at the solution."""
    g = torch.Generator().manual_seed(seed)
    L = torch.randn(B, n, n, generator=g, dtype=F64)
    Q = L @ L.transpose(1, 2) / n + 0.5 * torch.eye(n, dtype=F64)
    p = 3 * torch.randn(B, n, generator=g, dtype=F64)
    x0 = torch.randn(B, n, generator=g, dtype=F64)
    G = torch.randn(B, m, n, generator=g, dtype=F64)
    h = torch.einsum("bmn,bn->bm", G, x0) + 0.1 + 0.9 * torch.rand(B, m, generator=g, dtype=F64)
    A = torch.randn(B, k, n, generator=g, dtype=F64)
    b = torch.einsum("bkn,bn->bk", A, x0)
    return Q, p, G, h, A, b


def run(fn, inputs, w):
    leaves = [t.detach().clone().requires_grad_() for t in inputs]
    x = fn(*leaves)
    (x * w).sum().backward()
    return x.detach(), [t.grad for t in leaves]


def qpth_accurate():
    # more iterations than qpth's defaults, so that its solution is accurate
    # to ~1e-10 and the comparison measures the gradients, not its stopping
    return qpth.qp.QPFunction(verbose=-1, maxIter=100, notImprovedLim=10)


def strictness(inputs, tol=1e-12):
    """min over constraints of slack + lam at the solution: how far the
    instances are from degenerate (both ~0)."""
    res = dt.qp(*inputs, tol=tol)
    slack = inputs[3] - (inputs[2] @ res.x.unsqueeze(-1)).squeeze(-1)
    return (slack + res.lam).min().item()


def assert_grads_close(gd, gq, rel, scale_q=1.0):
    for name, a, c in zip(NAMES, gd, gq):
        if c is None:
            assert a is None or name in ("A", "b")
            continue
        c = c * scale_q if name != "p" else c
        err = (a - c).abs().max().item()
        assert err <= rel * (1 + c.abs().max().item()), f"{name}: {err:.2e}"


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_same_solution_and_gradients_per_instance(seed):
    inputs = random_instances(seed, 8, 6, 9, 2)
    w = torch.randn(8, 6, generator=torch.Generator().manual_seed(100 + seed), dtype=F64)
    # qpth's backward clamps lam and slack at 1e-8 before forming lam/slack,
    # which perturbs its KKT system by about 1e-8 / min(slack + lam); on these
    # instances that min is >= 5e-3, and the measured gradient differences are
    # <= 3e-7 relative: bound 2e-6. (Near-degenerate instances differ more,
    # through qpth's clamp.)
    assert strictness(inputs) >= 5e-3
    xq, gq = run(qpth_accurate(), inputs, w)
    xd, gd = run(dt.QPFunction(verbose=-1, tol=1e-12), inputs, w)
    torch.testing.assert_close(xd, xq, rtol=0, atol=1e-9)
    assert_grads_close(gd, gq, 2e-6)


def test_shared_inputs_sum_versus_qpth_mean():
    """Q, G, h, A, b without a batch dimension (shared by the batch): qpth
    returns the mean of the per-instance gradients, dopt the sum (autograd's
    rule), so dopt's = nBatch * qpth's; p is batched and agrees as is."""
    Q, p, G, h, A, b = random_instances(7, 1, 5, 7, 1)
    B = 6
    p = 3 * torch.randn(B, 5, generator=torch.Generator().manual_seed(8), dtype=F64)
    inputs = (Q[0], p, G[0], h[0], A[0], b[0])
    assert strictness(inputs) >= 5e-3
    w = torch.randn(B, 5, generator=torch.Generator().manual_seed(9), dtype=F64)
    xq, gq = run(qpth_accurate(), inputs, w)
    xd, gd = run(dt.QPFunction(verbose=-1, tol=1e-12), inputs, w)
    assert xd.shape == xq.shape == (B, 5)
    torch.testing.assert_close(xd, xq, rtol=0, atol=1e-9)
    assert_grads_close(gd, gq, 2e-6, scale_q=B)
    # and the mean would NOT match (the test distinguishes the two rules)
    err = (gd[0] - gq[0]).abs().max().item()
    assert err > 0.1 * gq[0].abs().max().item()


def test_no_equalities_empty_tensors():
    Q, p, G, h, _, _ = random_instances(10, 5, 4, 6, 1)
    assert strictness((Q, p, G, h)) >= 5e-3
    e = torch.Tensor().double()
    w = torch.randn(5, 4, generator=torch.Generator().manual_seed(11), dtype=F64)
    xq, gq = run(qpth_accurate(), (Q, p, G, h, e, e), w)
    xd, gd = run(dt.QPFunction(verbose=-1, tol=1e-12), (Q, p, G, h, e, e), w)
    torch.testing.assert_close(xd, xq, rtol=0, atol=1e-9)
    assert_grads_close(gd[:4], gq[:4], 2e-6)
    assert gd[4] is None and gd[5] is None and gq[4] is None  # absent blocks: no gradient, as in qpth


def test_default_settings_agree():
    """Both with their defaults (qpth: eps 1e-12, maxIter 20, notImprovedLim
    3; dopt: tol 1e-8): qpth typically stops on notImprovedLim with
    residuals around 1e-8, dopt at relative 1e-8, so solutions agree to
    ~1e-7 and gradients to ~1e-5 relative (measured 1e-7 / 5e-6)."""
    inputs = random_instances(12, 8, 6, 9, 2)
    w = torch.randn(8, 6, generator=torch.Generator().manual_seed(13), dtype=F64)
    xq, gq = run(qpth.qp.QPFunction(verbose=-1), inputs, w)
    xd, gd = run(dt.QPFunction(verbose=-1), inputs, w)
    torch.testing.assert_close(xd, xq, rtol=0, atol=1e-6)
    assert_grads_close(gd, gq, 1e-4)
