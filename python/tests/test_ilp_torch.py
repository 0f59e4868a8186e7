"""dopt.torch's ILP layers: autograd through dopt.torch.ilp / ILP for every
method and both senses against the numpy backward and the rules' definitions,
CombOptNet's learnable origins and constraint layout, statuses and bad input."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import dopt  # noqa: E402
import dopt.torch as dtorch  # noqa: E402
from dopt import ilp as nilp  # noqa: E402

from conftest import cuda_device_or_skip  # noqa: E402

DT = torch.float64


def instances(seed, B=8, n=5, m=3, lo=0, hi=1):
    g = torch.Generator().manual_seed(seed)
    c = torch.randn(B, n, dtype=DT, generator=g)
    A = torch.randn(B, m, n, dtype=DT, generator=g)
    b = torch.rand(B, m, dtype=DT, generator=g) * 1.5 + A.abs().sum(-1) * 0.3 * (hi - lo)
    dy = torch.randn(B, n, dtype=DT, generator=g)
    return c, A, b, dy


def leaf(*xs):
    return [x.clone().requires_grad_() for x in xs]


@pytest.mark.parametrize("method", ["combopt", "dbb", "identity", "perturbed"])
def test_autograd_equals_the_numpy_backward(method):
    c, A, b, dy = instances(1)
    lb, ub = -1.0, 2.0
    cl, Al, bl = leaf(c, A, b)
    opts = dict(tau=0.3, lambd=3.0, epsilon=0.5, samples=6, seed=9)
    y = dtorch.ilp(cl, Al, bl, lb, ub, method=method, **opts)
    (y * dy).sum().backward()
    if method == "perturbed":
        np.testing.assert_array_equal(y.detach().numpy(), nilp.perturbed(c.numpy(), A.numpy(), b.numpy(), lb, ub,
                                                                          epsilon=0.5, samples=6, seed=9))
        r = nilp.solve(c.numpy(), A.numpy(), b.numpy(), lb, ub)  # y, status unused by the perturbed rule
    else:
        r = nilp.solve(c.numpy(), A.numpy(), b.numpy(), lb, ub)
        np.testing.assert_array_equal(y.detach().numpy(), r.y)
    g = nilp.backward(c.numpy(), A.numpy(), b.numpy(), lb, ub, y=r.y, status=r.status, dy=dy.numpy(),
                      method=method, **opts)
    np.testing.assert_allclose(cl.grad.numpy(), g["c"], rtol=1e-13, atol=1e-14)
    assert cl.grad.abs().sum() > 0
    if method == "combopt":
        np.testing.assert_allclose(Al.grad.numpy(), g["A"], rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(bl.grad.numpy(), g["b"], rtol=1e-13, atol=1e-14)
        assert Al.grad.abs().sum() > 0
    elif method == "perturbed":
        assert Al.grad is None and bl.grad is None
    else:
        assert (Al.grad == 0).all() and (bl.grad == 0).all()


def test_maximization_is_minimization_of_minus_c():
    c, A, b, dy = instances(2)
    y_max = dtorch.ilp(c, A, b, sense="max")
    np.testing.assert_array_equal(y_max.numpy(), nilp.solve(-c.numpy(), A.numpy(), b.numpy()).y)
    # identity: +dy for a maximization (PyEPO's negativeIdentity)
    (cl,) = leaf(c)
    (dtorch.ilp(cl, A, b, method="identity", sense="max") * dy).sum().backward()
    torch.testing.assert_close(cl.grad, dy, rtol=0, atol=0)
    # DBB: -(y(c - lambd dy) - y(c)) / lambd with argmax solutions (PyEPO's blackboxOpt for max)
    (cl,) = leaf(c)
    (dtorch.ilp(cl, A, b, method="dbb", lambd=2.0, sense="max") * dy).sum().backward()
    y_shift = dtorch.ilp(c - 2.0 * dy, A, b, sense="max")
    torch.testing.assert_close(cl.grad, -(y_shift - y_max) / 2.0, rtol=0, atol=1e-15)
    assert cl.grad.abs().sum() > 0
    # CombOptNet: the chain rule through c -> -c, constraints untouched
    cl, Al, bl = leaf(c, A, b)
    (dtorch.ilp(cl, Al, bl, sense="max") * dy).sum().backward()
    cm, Am, bm = leaf(-c, A, b)
    (dtorch.ilp(cm, Am, bm) * dy).sum().backward()
    torch.testing.assert_close(cl.grad, -cm.grad)
    torch.testing.assert_close(Al.grad, Am.grad)
    torch.testing.assert_close(bl.grad, bm.grad)


@pytest.mark.parametrize("sense", ["min", "max"])
def test_objective_output_and_its_gradient(sense):
    c, A, b, _ = instances(3)
    (cl,) = leaf(c)
    y, obj, status = dtorch.ilp(cl, A, b, sense=sense, return_status=True)
    assert status.dtype == torch.int32 and (status == 0).all()
    torch.testing.assert_close(obj, (c * y).sum(-1).detach())
    obj.sum().backward()  # d(c'y)/dc = y
    torch.testing.assert_close(cl.grad, y.detach())
    # against enumeration of the sense's optimum
    pts = torch.tensor(list(np.ndindex(*(2,) * 5)), dtype=DT)
    for i in range(c.shape[0]):
        feas = pts[(pts @ A[i].T <= b[i] + 1e-9).all(1)]
        vals = feas @ c[i]
        best = vals.min() if sense == "min" else vals.max()
        assert obj[i].item() == pytest.approx(best.item(), abs=1e-12)


def test_shared_constraints_get_the_batch_sum():
    c, A, b, dy = instances(4)
    A0, b0 = A[0], b[0]
    _, As, bs = leaf(c, A0, b0)
    (dtorch.ilp(c, As, bs, tau=0.5) * dy).sum().backward()
    _, Ar, br = leaf(c, A0.expand_as(A).contiguous(), b0.expand_as(b).contiguous())
    (dtorch.ilp(c, Ar, br, tau=0.5) * dy).sum().backward()
    assert As.grad.shape == A0.shape
    torch.testing.assert_close(As.grad, Ar.grad.sum(0))
    torch.testing.assert_close(bs.grad, br.grad.sum(0))
    # and an unbatched call has no batch dimension
    y = dtorch.ilp(c[0], A0, b0)
    assert y.shape == (5,)


def test_learnable_origins_follow_origin_backward():
    c, _, _, dy = instances(5, m=4)
    cons = dtorch.LearnableConstraints(4, 5, lb=0, ub=1, generator=torch.Generator().manual_seed(0))
    A, b = cons()
    # each initial half-space contains its origin: a'(o - o) = 0 <= r
    assert (cons.r > 0).all()
    y = dtorch.ilp(c, A, b)
    (y * dy).sum().backward()
    r = nilp.solve(c.numpy(), A.detach().numpy(), b.detach().numpy())
    g = nilp.backward(c.numpy(), A.detach().numpy(), b.detach().numpy(), y=r.y, status=r.status,
                      dy=dy.numpy())
    da, dr, do = nilp.origin_backward(cons.a.detach().numpy(), cons.o.detach().numpy(), g["A"], g["b"])
    np.testing.assert_allclose(cons.a.grad.numpy(), da, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cons.r.grad.numpy(), dr, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cons.o.grad.numpy(), do, rtol=1e-12, atol=1e-14)
    assert cons.a.grad.abs().sum() > 0
    # b = r + a'o, the numpy helper's value
    np.testing.assert_allclose(b.detach().numpy(), nilp.origin_to_b(cons.a.detach().numpy(),
                                                                    cons.r.detach().numpy(),
                                                                    cons.o.detach().numpy()), rtol=1e-14)
    plain = dtorch.LearnableConstraints(4, 5, origin=False)
    assert plain.o is None and plain()[1] is plain.r


def test_combopt_constraint_layout_and_module():
    c, A, b, dy = instances(6)
    cons = torch.cat([A, -b.unsqueeze(-1)], dim=-1).requires_grad_()  # CombOptNet: A y + b0 <= 0
    layer = dtorch.ILP("combopt", tau=0.5)
    y = layer(c, constraints=cons)
    torch.testing.assert_close(y, dtorch.ilp(c, A, b))
    (y * dy).sum().backward()
    _, Al, bl = leaf(c, A, b)
    (dtorch.ilp(c, Al, bl, tau=0.5) * dy).sum().backward()
    torch.testing.assert_close(cons.grad[..., :-1], Al.grad)
    torch.testing.assert_close(cons.grad[..., -1], -bl.grad)
    assert "combopt" in repr(layer)
    # CombOptNet's variable_range, a box [-1, 2]
    boxed = dtorch.ILP("combopt", variable_range={"lb": -1, "ub": 2})
    torch.testing.assert_close(boxed(c, constraints=cons), dtorch.ilp(c, A, b, -1, 2))


def test_module_with_a_fixed_problem():
    problem = nilp.Problem.knapsack([[1.0, 2.0, 3.0, 1.5], [2.0, 1.0, 1.0, 2.5]], [3.5, 3.0])
    layer = dtorch.ILP("dbb", problem, lambd=5.0)
    assert layer.sense == "max"
    c = torch.tensor([[1.0, 2.0, 0.5, 1.2], [0.1, 0.2, 3.0, 0.3]], dtype=torch.float32, requires_grad=True)
    y = layer(c)
    assert y.dtype == torch.float32
    np.testing.assert_array_equal(y.detach().numpy(), problem.solve(c.detach().double().numpy()).y)
    y.sum().backward()
    assert c.grad.dtype == torch.float32
    # the layer also takes A, b, sense directly
    layer2 = dtorch.ILP("identity", A=problem.A, b=problem.b, lb=0, ub=1, sense="max")
    torch.testing.assert_close(layer2(c), y)
    with pytest.raises(ValueError, match="method must be one of"):
        dtorch.ILP("spo")


def test_perturbed_seed_none_draws_fresh_noise():
    c, A, b, _ = instances(7)
    torch.manual_seed(0)
    a = dtorch.ilp(c, A, b, method="perturbed", samples=3, seed=None)
    bb = dtorch.ilp(c, A, b, method="perturbed", samples=3, seed=None)
    assert not torch.equal(a, bb)
    torch.manual_seed(0)
    torch.testing.assert_close(dtorch.ilp(c, A, b, method="perturbed", samples=3, seed=None), a)
    y, obj, status = dtorch.ilp(c, A, b, method="perturbed", samples=3, return_status=True)
    assert (status == 0).all() and obj.shape == (8,)


def test_nan_and_infeasible_instances_leave_the_others_alone():
    c, A, b, dy = instances(8)
    c2, A2, b2 = c.clone(), A.clone(), b.clone()
    c2[2, 1] = math.nan
    A2[5] = A2[5].abs()
    b2[5] = -1.0  # infeasible for y >= 0
    cl, Al, bl = leaf(c2, A2, b2)
    y, obj, status = dtorch.ilp(cl, Al, bl, return_status=True)
    assert status[2] == dopt.InstanceStatus.INVALID_DATA and status[5] == dopt.InstanceStatus.PRIMAL_INFEASIBLE
    assert (y[5] == 0).all() and obj[5] == math.inf
    (y * dy).sum().backward()
    cr, Ar, br = leaf(c, A, b)
    y_ref = dtorch.ilp(cr, Ar, br)
    (y_ref * dy).sum().backward()
    keep = [0, 1, 3, 4, 6, 7]
    torch.testing.assert_close(y[keep], y_ref[keep])
    torch.testing.assert_close(cl.grad[keep], cr.grad[keep])
    torch.testing.assert_close(Al.grad[keep], Ar.grad[keep])
    assert (cl.grad[[2, 5]] == 0).all() and (Al.grad[[2, 5]] == 0).all()


def test_non_contiguous_inputs_give_the_same_answers():
    c, A, b, dy = instances(11)
    cl, Al, bl = leaf(c, A, b)
    (dtorch.ilp(cl, Al, bl) * dy).sum().backward()
    ct = c.t().contiguous().t().requires_grad_()  # same values, column-major
    At = A.transpose(1, 2).contiguous().transpose(1, 2).requires_grad_()
    assert not ct.is_contiguous() and not At.is_contiguous()
    y = dtorch.ilp(ct, At, b)
    (y * dy).sum().backward()
    torch.testing.assert_close(ct.grad, cl.grad, rtol=0, atol=0)
    torch.testing.assert_close(At.grad, Al.grad, rtol=0, atol=0)


def test_bad_input():
    c, A, b, _ = instances(9)
    with pytest.raises(TypeError, match="c must be a torch.Tensor"):
        dtorch.ilp(c.numpy(), A, b)
    with pytest.raises(TypeError, match="floating-point"):
        dtorch.ilp(c.long(), A, b)
    with pytest.raises(TypeError, match="A must be a floating-point tensor"):
        dtorch.ilp(c, A.long(), b)
    with pytest.raises(ValueError, match="A is on meta but c is on cpu"):
        dtorch.ilp(c, A.to("meta"), b)
    with pytest.raises(ValueError, match=r"A must be \(m, n\) with n = 5"):
        dtorch.ilp(c, A[..., :4], b)
    with pytest.raises(ValueError, match="batch sizes differ"):
        dtorch.ilp(c, A[:3], b[:3])
    with pytest.raises(ValueError, match="method must be one of"):
        dtorch.ilp(c, A, b, method="spo")
    with pytest.raises(ValueError, match="sense must be"):
        dtorch.ilp(c, A, b, sense="maximize")
    with pytest.raises(ValueError, match="tau must be"):
        dtorch.ilp(c, A, b, tau=-1)
    with pytest.raises(ValueError, match="epsilon must be"):
        dtorch.ilp(c, A, b, method="perturbed", epsilon=0)


def test_cuda_layer_matches_cpu():
    device = cuda_device_or_skip()
    c, A, b, dy = instances(10, B=64)
    cl, Al, bl = leaf(c, A, b)
    (dtorch.ilp(cl, Al, bl) * dy).sum().backward()
    cg, Ag, bg = leaf(c.to(device), A.to(device), b.to(device))
    y = dtorch.ilp(cg, Ag, bg)
    assert y.device == device
    (y * dy.to(device)).sum().backward()
    # objectives agree to 1e-9; y (hence gradients) can differ only between alternative optima,
    # which continuous random costs make a probability-zero event
    torch.testing.assert_close(cg.grad.cpu(), cl.grad)
    torch.testing.assert_close(Ag.grad.cpu(), Al.grad)


def test_functional_losses_per_instance_constraints_and_bad_instances():
    # per-instance constraints (repeated for the K samples), an infeasible instance: NaN loss, others unchanged
    c, A, b, _ = instances(12, B=5)
    w = torch.as_tensor(nilp.solve(c.numpy(), A.numpy(), b.numpy()).y)
    noise = torch.randn(5, 3, 5, dtype=DT, generator=torch.Generator().manual_seed(0))
    loss = dtorch.perturbed_fenchel_young(c, w, noise, A, b, sigma=0.5)
    # the definition, instance by instance
    for i in range(5):
        ptb = c[i] + 0.5 * noise[i]
        ys = torch.as_tensor(nilp.solve(ptb.numpy(), A[i].numpy(), b[i].numpy()).y)
        expected = c[i] @ w[i] - (ptb * ys).sum(-1).mean()
        assert loss[i].item() == pytest.approx(expected.item(), abs=1e-12)
    A2, b2 = A.clone(), b.clone()
    A2[3] = A2[3].abs()
    b2[3] = -1.0
    cl = c.clone().requires_grad_()
    bad = dtorch.perturbed_fenchel_young(cl, w, noise, A2, b2, sigma=0.5)
    assert math.isnan(bad[3].item()) and torch.isfinite(bad[[0, 1, 2, 4]]).all()
    torch.testing.assert_close(bad[[0, 1, 2, 4]], loss[[0, 1, 2, 4]])
    bad[[0, 1, 2, 4]].sum().backward()
    assert torch.isfinite(cl.grad[[0, 1, 2, 4]]).all()
    # SPO+ functional form with per-instance constraints equals the numpy call
    s = dtorch.spo_plus(c, c.flip(0), None, None, A, b)
    ref, _ = nilp.spo_plus(c.numpy(), c.flip(0).numpy(), A.numpy(), b.numpy())
    np.testing.assert_allclose(s.numpy(), ref, rtol=1e-13)
