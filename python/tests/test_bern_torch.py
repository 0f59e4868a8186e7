"""dopt.torch.bernoulli_penalty: the custom operator's forward, its backward
(gradcheck on the deterministic exact estimator, and the library's estimate
times the incoming gradient), input forms, bad input, torch.compile."""
import numpy as np
import pytest

import dopt
from conftest import cuda_device_or_skip, requires_torch

pytestmark = requires_torch

torch = pytest.importorskip("torch")
import dopt.torch as dt  # noqa: E402


def problem(seed=0, B=3, m=4, n=5, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(B, m, n, generator=g, dtype=dtype)
    A[torch.rand(A.shape, generator=g) < 0.3] = 0
    b = 0.5 * torch.randn(B, m, generator=g, dtype=dtype)
    c = torch.randn(B, n, generator=g, dtype=dtype)
    x = 0.05 + 0.9 * torch.rand(B, n, generator=g, dtype=dtype)
    return x, A, b, c


def test_gradcheck_exact_estimator_probabilities_and_logits():
    x, A, b, c = problem()
    x.requires_grad_()
    c.requires_grad_()
    f = lambda x, c: dt.bernoulli_penalty(x, A, b, c, estimator="exact", reduction="none", mu=1.7)  # noqa: E731
    assert torch.autograd.gradcheck(f, (x, c), eps=1e-6, atol=1e-8, rtol=1e-6)
    z = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    fz = lambda z, c: dt.bernoulli_penalty(z, A, b, c, estimator="exact", logits=True)  # noqa: E731
    assert torch.autograd.gradcheck(fz, (z, c), eps=1e-6, atol=1e-8, rtol=1e-6)
    # a shared c (n,) gets the summed gradient
    c1 = c[0].detach().clone().requires_grad_()
    f1 = lambda x, c1: dt.bernoulli_penalty(x, A, b, c1, estimator="exact", reduction="none")  # noqa: E731
    assert torch.autograd.gradcheck(f1, (x, c1), eps=1e-6, atol=1e-8, rtol=1e-6)
    # CSR (tuple) and shared A
    rp = torch.tensor([0, 2, 3], dtype=torch.int64)
    ci = torch.tensor([0, 3, 1], dtype=torch.int32)
    vals = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda x: dt.bernoulli_penalty(x, (rp, ci, vals), torch.tensor([0.3, 0.1], dtype=torch.float64),
                                       estimator="exact", reduction="sum"), (x,), eps=1e-6, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("estimator", ["unbiased", "reinforce", "diffilo"])
def test_backward_is_the_library_estimate_times_the_incoming_gradient(estimator):
    x, A, b, c = problem(1)
    ref = dopt.bern.evaluate(x, A, b, c, estimator=estimator, samples=50, seed=11)
    xr = x.clone().requires_grad_()
    cr = c.clone().requires_grad_()
    loss = dt.bernoulli_penalty(xr, A, b, cr, estimator=estimator, samples=50, seed=11, reduction="none")
    assert torch.equal(loss.detach(), ref.loss)
    w = torch.tensor([0.5, -2.0, 3.0], dtype=torch.float64)
    gx, gc = torch.autograd.grad(loss, (xr, cr), grad_outputs=w)
    assert torch.equal(gx, ref.grad * w[:, None])
    torch.testing.assert_close(gc, x * w[:, None], rtol=0, atol=0)
    for reduction, scale in (("mean", 1 / 3), ("sum", 1.0)):
        xr.grad = None
        dt.bernoulli_penalty(xr, A, b, c, estimator=estimator, samples=50, seed=11, reduction=reduction).backward()
        torch.testing.assert_close(xr.grad, ref.grad * scale, rtol=1e-15, atol=0)


def test_unbiased_gradient_matches_exact_within_monte_carlo_error():
    x, A, b, c = problem(2)
    exact = dopt.bern.evaluate(x, A, b, c, estimator="exact").grad
    est = dopt.bern.evaluate(x, A, b, c, samples=4000, seed=3)
    xr = x.clone().requires_grad_()
    dt.bernoulli_penalty(xr, A, b, c, samples=4000, seed=3, reduction="sum").backward()
    assert torch.equal(xr.grad, est.grad)
    assert torch.all((xr.grad - exact).abs() <= 5 * est.grad_se + 1e-12)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_logits_probabilities_and_forms_agree():
    x, A, b, c = problem(3)
    z = torch.log(x / (1 - x))
    zr = z.clone().requires_grad_()
    xr = x.clone().requires_grad_()
    lz = dt.bernoulli_penalty(zr, A, b, c, logits=True, samples=64, seed=2, reduction="sum")
    lx = dt.bernoulli_penalty(xr, A, b, c, samples=64, seed=2, reduction="sum")
    torch.testing.assert_close(lz, lx, rtol=1e-12, atol=0)
    lz.backward()
    lx.backward()
    torch.testing.assert_close(zr.grad, xr.grad * x * (1 - x), rtol=1e-10, atol=1e-14)
    # CSR tuple, torch sparse CSR (shared) and dense give the same loss
    rows = [A[0, i].nonzero().flatten() for i in range(4)]
    rp = torch.tensor(np.cumsum([0] + [len(r) for r in rows]), dtype=torch.int64)
    ci = torch.cat(rows).to(torch.int32)
    vals = torch.cat([A[0, i, r] for i, r in enumerate(rows)])
    dense = dt.bernoulli_penalty(x, A[0], b, c, samples=64, seed=2, reduction="none")
    for form in ((rp, ci, vals), A[0].to_sparse_csr()):
        assert torch.equal(dt.bernoulli_penalty(x, form, b, c, samples=64, seed=2, reduction="none"), dense)
    # unbatched x
    one = dt.bernoulli_penalty(x[0], A[0], b[0], c[0], estimator="exact", reduction="none")
    assert one.shape == () and one.item() == pytest.approx(
        dt.bernoulli_penalty(x, A, b, c, estimator="exact", reduction="none")[0].item(), rel=1e-14)


def test_seed_none_follows_torch_generator():
    x, A, b, c = problem(4)
    torch.manual_seed(5)
    l1 = dt.bernoulli_penalty(x, A, b, c, samples=8, reduction="none")
    l2 = dt.bernoulli_penalty(x, A, b, c, samples=8, reduction="none")
    torch.manual_seed(5)
    l3 = dt.bernoulli_penalty(x, A, b, c, samples=8, reduction="none")
    assert torch.equal(l1, l3) and not torch.equal(l1, l2)


def test_status_and_bad_input():
    x, A, b, c = problem(5)
    bad = x.clone()
    bad[1, 2] = 1.0
    loss, status = dt.bernoulli_penalty(bad, A, b, c, samples=16, seed=1, reduction="none", return_status=True)
    good = dt.bernoulli_penalty(x, A, b, c, samples=16, seed=1, reduction="none")
    assert status.tolist() == [0, 5, 0] and status.dtype == torch.int32
    assert torch.isnan(loss[1]) and loss[0] == good[0] and loss[2] == good[2]
    with pytest.raises(ValueError, match="no gradient flows into A"):
        dt.bernoulli_penalty(x, A.clone().requires_grad_(), b, c)
    with pytest.raises(ValueError, match="no gradient flows into b"):
        dt.bernoulli_penalty(x, A, b.clone().requires_grad_(), c)
    with pytest.raises(TypeError):
        dt.bernoulli_penalty(x.numpy(), A, b, c)
    with pytest.raises(ValueError, match="float32 or float64"):
        dt.bernoulli_penalty(x.half(), A, b, c)
    with pytest.raises(ValueError):
        dt.bernoulli_penalty(x[None], A, b, c)
    with pytest.raises(ValueError):
        dt.bernoulli_penalty(x, A[:, :, :3], b, c)
    with pytest.raises(ValueError):
        dt.bernoulli_penalty(x, A, b[:2], c)
    with pytest.raises(ValueError):
        dt.bernoulli_penalty(x, A[0, 0], b, c)  # A 1-D
    # numpy A, b, c are fine (moved to x's device)
    assert torch.equal(dt.bernoulli_penalty(x, A.numpy(), b.numpy(), c.numpy(), samples=16, seed=1, reduction="none"),
                       good)
    with pytest.raises(ValueError, match="is on meta"):
        dt.bernoulli_penalty(x, A, b.to("meta"), c)
    with pytest.raises(ValueError, match="reduction"):
        dt.bernoulli_penalty(x, A, b, c, reduction="avg")
    with pytest.raises(ValueError, match="estimator"):
        dt.bernoulli_penalty(x, A, b, c, estimator="gumbel")


def test_float32_and_opcheck():
    x, A, b, c = problem(6, dtype=torch.float32)
    xr = x.clone().requires_grad_()
    loss = dt.bernoulli_penalty(xr, A, b, c, estimator="exact")
    loss.backward()
    assert loss.dtype == torch.float32 and xr.grad.dtype == torch.float32
    ref = dopt.bern.evaluate(x.double(), A.double(), b.double(), c.double(), estimator="exact")
    torch.testing.assert_close(xr.grad.double(), ref.grad / 3, rtol=1e-4, atol=1e-5)
    args = (x.double(), A.double(), None, None, None, b.double(), c.double(), torch.tensor(3), 0, 16, 1.0, False)
    result = torch.library.opcheck(torch.ops.dopt.bern_eval.default, args)
    assert all(v == "SUCCESS" for v in result.values()), result


@pytest.mark.parametrize("backend", ["aot_eager"])  # inductor: same result, ~30 s more (checked by hand)
def test_compiles_with_fullgraph_and_matches_eager(backend):
    torch._dynamo.reset()
    x, A, b, c = problem(7)
    lin = torch.nn.Linear(5, 5).double()
    feat = torch.randn(3, 5, dtype=torch.float64)
    rp = torch.tensor([0, 2, 3, 3, 5], dtype=torch.int64)
    ci = torch.tensor([0, 3, 1, 2, 4], dtype=torch.int32)
    vals = torch.tensor([1.0, -2.0, 0.5, 1.5, 1.0], dtype=torch.float64)

    def model(feat):
        z = lin(feat)
        return (dt.bernoulli_penalty(z, A, b, c, logits=True, samples=16, seed=3)
                + dt.bernoulli_penalty(torch.sigmoid(z), (rp, ci, vals), b[0], None, samples=16, seed=4,
                                       reduction="sum"))

    compiled = torch.compile(model, fullgraph=True, backend=backend)
    l1 = model(feat)
    g1 = torch.autograd.grad(l1, (lin.weight, lin.bias))
    l2 = compiled(feat)
    g2 = torch.autograd.grad(l2, (lin.weight, lin.bias))
    torch.testing.assert_close(l2, l1, rtol=1e-12, atol=0)
    for a, bb in zip(g1, g2):
        torch.testing.assert_close(a, bb, rtol=1e-12, atol=1e-15)


def test_cuda_matches_cpu():
    device = cuda_device_or_skip()
    x, A, b, c = problem(8)
    ref_x = x.clone().requires_grad_()
    ref = dt.bernoulli_penalty(ref_x, A, b, c, samples=32, seed=2)
    ref.backward()
    xc = x.to(device).requires_grad_()
    out = dt.bernoulli_penalty(xc, A.to(device), b.to(device), c.to(device), samples=32, seed=2)
    out.backward()
    torch.testing.assert_close(out.cpu(), ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(xc.grad.cpu(), ref_x.grad, rtol=1e-10, atol=1e-12)


def test_operator_and_eager_paths_agree():
    """Eager calls go through an autograd.Function (no torch.library dispatch
    cost), compiled graphs through dopt::bern_eval: same values and gradients."""
    x, A, b, c = problem(9)
    x1, c1 = x.clone().requires_grad_(), c.clone().requires_grad_()
    loss1 = dt.bernoulli_penalty(x1, A, b, c1, samples=16, seed=6, reduction="none")
    x2, c2 = x.clone().requires_grad_(), c.clone().requires_grad_()
    loss2, grad2, status2 = torch.ops.dopt.bern_eval(x2, A, None, None, None, b, c2, torch.tensor(6), 0, 16, 1.0,
                                                     False)
    assert torch.equal(loss1, loss2) and status2.tolist() == [0, 0, 0]
    assert not grad2.requires_grad
    w = torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64)
    g1 = torch.autograd.grad(loss1, (x1, c1), grad_outputs=w)
    g2 = torch.autograd.grad(loss2, (x2, c2), grad_outputs=w)
    for a, bb in zip(g1, g2):
        assert torch.equal(a, bb)
