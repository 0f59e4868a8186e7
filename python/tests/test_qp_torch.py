"""dopt.torch.qp and dopt.torch.QPFunction in eager mode: gradcheck for all
six inputs (per instance and shared), qpth's shapes and empty tensors,
statuses, bad input, and CUDA vs CPU (skipped without a GPU)."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import dopt  # noqa: E402
import dopt.torch as dt  # noqa: E402
from conftest import cuda_device_or_skip  # noqa: E402

F64 = torch.float64
SOLVED = int(dopt.InstanceStatus.SOLVED)
NAMES = ("Q", "p", "G", "h", "A", "b")
# gradcheck's central differences (step 1e-6) of solves to tol = 1e-13: the
# solution error (~1e-13) over the step gives ~1e-7 absolute error, the
# truncation error is ~1e-12; gradients here are O(1). Tighter than
# gradcheck's defaults (atol 1e-5, rtol 1e-3), so that a gradient wrong by
# 0.1% fails.
TIGHT = dict(atol=1e-6, rtol=1e-5)


def planted(seed, B, n, m, k, active, dtype=F64):
    """Instances with a known strictly complementary solution (see
    test_qp_numpy.planted_qp): the solution is smooth in the data there, so
    finite differences are meaningful."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=F64)  # noqa: E731
    u = lambda *s: 0.5 + torch.rand(*s, generator=g, dtype=F64)  # noqa: E731
    L = r(B, n, n)
    Q = L @ L.transpose(1, 2) / n + 0.5 * torch.eye(n, dtype=F64)
    x = r(B, n)
    G = r(B, m, n)
    slack = u(B, m)
    slack[:, :active] = 0
    h = torch.einsum("bmn,bn->bm", G, x) + slack
    lam = torch.zeros(B, m, dtype=F64)
    lam[:, :active] = u(B, active)
    A = r(B, k, n)
    b = torch.einsum("bkn,bn->bk", A, x)
    nu = r(B, k)
    p = -(torch.einsum("bij,bj->bi", Q, x) + torch.einsum("bmn,bm->bn", G, lam) + torch.einsum("bkn,bk->bn", A, nu))
    return [t.to(dtype) for t in (Q, p, G, h, A, b)]


def leaf(ts):
    return [t.detach().clone().requires_grad_() for t in ts]


def all_outputs(*args, **kw):
    res = dt.qp(*args, **kw)
    return res.x, res.lam, res.nu


# ---- gradcheck -------------------------------------------------------------------

def test_gradcheck_per_instance_all_six():
    inputs = leaf(planted(0, 2, 3, 4, 1, active=2))
    assert torch.autograd.gradcheck(lambda *a: all_outputs(*a, tol=1e-13), inputs, **TIGHT)


def test_gradcheck_broadcast_all_six():
    """Q, G, A shared without a batch dimension, h and b shared with a
    leading 1, p per instance: the shared inputs' gradients are sums."""
    Q, p, G, h, A, b = planted(1, 1, 3, 4, 1, active=1)
    g = torch.Generator().manual_seed(5)
    # other instances: same Q, G, h, A, b, different p (these stay feasible)
    p = torch.cat([p, p + 0.3 * torch.randn(2, 3, generator=g, dtype=F64)])
    inputs = leaf([Q[0], p, G[0], h, A[0], b])
    assert inputs[3].shape == (1, 4) and inputs[5].shape == (1, 1)
    res = dt.qp(*inputs, tol=1e-13)
    assert res.x.shape == (3, 3) and (res.status == SOLVED).all()
    assert torch.autograd.gradcheck(lambda *a: all_outputs(*a, tol=1e-13), inputs, **TIGHT)


def test_gradcheck_qpfunction_unbatched():
    Q, p, G, h, A, b = (t[0] for t in planted(2, 1, 3, 4, 1, active=2))
    fn = dt.QPFunction(verbose=-1, tol=1e-13)
    inputs = leaf([Q, p, G, h, A, b])
    assert fn(*inputs).shape == (1, 3)  # qpth: always (nBatch, nz)
    assert torch.autograd.gradcheck(fn, inputs, **TIGHT)


def test_shared_gradient_is_sum_of_per_instance():
    Q, p, G, h, A, b = planted(3, 1, 4, 5, 1, active=2)
    B = 3
    p = p.repeat(B, 1) + 0.2 * torch.randn(B, 4, generator=torch.Generator().manual_seed(0), dtype=F64)
    w = torch.randn(B, 4, generator=torch.Generator().manual_seed(1), dtype=F64)
    shared = leaf([Q[0], p, G[0], h[0], A[0], b[0]])
    (dt.qp(*shared).x * w).sum().backward()
    batched = leaf([Q.expand(B, 4, 4), p, G.expand(B, 5, 4), h.expand(B, 5), A.expand(B, 1, 4), b.expand(B, 1)])
    (dt.qp(*batched).x * w).sum().backward()
    for name, s, bt in zip(NAMES, shared, batched):
        expect = bt.grad if name == "p" else bt.grad.sum(0)
        torch.testing.assert_close(s.grad, expect, rtol=1e-12, atol=1e-12, msg=name)


# ---- shapes and qpth's conventions ---------------------------------------------

def test_qp_result_shapes_and_status():
    Q, p, G, h, A, b = planted(4, 3, 4, 5, 2, active=1)
    res = dt.qp(Q, p, G, h, A, b)
    assert isinstance(res, dt.QPResult)
    assert res.x.shape == (3, 4) and res.lam.shape == (3, 5) and res.nu.shape == (3, 2)
    assert res.status.dtype == torch.int32 and res.status.shape == (3,)
    one = dt.qp(Q[0], p[0], G[0], h[0], A[0], b[0])
    assert one.x.shape == (4,) and one.status.shape == ()
    torch.testing.assert_close(one.x, res.x[0], rtol=0, atol=0)


def test_qpfunction_empty_tensors_for_absent_blocks():
    Q, p, G, h, A, b = planted(5, 3, 4, 5, 1, active=2)
    e = torch.Tensor()  # qpth's idiom: float32, even in a float64 problem
    x = dt.QPFunction(verbose=-1)(Q, p, G, h, e, e)
    ref = dt.qp(Q, p, G, h).x
    torch.testing.assert_close(x, ref, rtol=0, atol=0)
    x = dt.QPFunction(verbose=-1)(Q, p, e, e, A, b)
    torch.testing.assert_close(x, dt.qp(Q, p, None, None, A, b).x, rtol=0, atol=0)
    # and an LP through an empty Q (dopt extension): min p'x over a box
    box = torch.cat([torch.eye(4, dtype=F64), -torch.eye(4, dtype=F64)])
    x = dt.QPFunction(verbose=-1)(e, p, box, torch.ones(8, dtype=F64), e, e)
    torch.testing.assert_close(x, -torch.sign(p), rtol=0, atol=1e-6)


def test_qpfunction_eps_mapping_and_defaults():
    fn = dt.QPFunction()
    assert (fn.eps, fn.verbose, fn.notImprovedLim, fn.maxIter) == (1e-12, 0, 3, 20)
    assert fn.tolerance(torch.float64) == 1e-8 and fn.tolerance(torch.float32) == 1e-6
    assert dt.QPFunction(eps=1e-3).tolerance(torch.float64) == 1e-3
    assert dt.QPFunction(tol=1e-12).tolerance(torch.float64) == 1e-12
    # maxIter reaches the solver: one iteration cannot converge
    Q, p, G, h, A, b = planted(6, 2, 4, 5, 1, active=2)
    with pytest.warns(RuntimeWarning, match="2 ITERATION_LIMIT"):
        dt.QPFunction(maxIter=1)(Q, p, G, h, A, b)


def test_no_grad_and_grad_paths_agree():
    inputs = planted(7, 3, 4, 5, 1, active=2)
    with torch.no_grad():
        a = dt.qp(*leaf(inputs))
    b = dt.qp(*leaf(inputs))
    assert b.x.requires_grad and not a.x.requires_grad and not b.status.requires_grad
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v.detach(), rtol=0, atol=0)


def test_incoming_gradients_on_lam_and_nu_only():
    inputs = leaf(planted(8, 2, 4, 5, 2, active=2))
    res = dt.qp(*inputs, tol=1e-13)
    (res.lam.sum() + res.nu.square().sum()).backward()
    grads = [t.grad.clone() for t in inputs]
    # the same through the numpy-level backward with dx = 0
    r = dopt.qp.solve(*(t.detach() for t in inputs), tol=1e-13, record=True)
    ref = dopt.qp.backward(r.tape, torch.zeros_like(r.x), torch.ones_like(r.lam), 2 * r.nu)
    for name, g in zip(NAMES, grads):
        torch.testing.assert_close(g, ref[name], rtol=0, atol=0, msg=name)
        assert g.abs().max() > 0


def test_retain_graph_backward_twice():
    inputs = leaf(planted(9, 2, 3, 4, 1, active=1))
    x = dt.qp(*inputs).x
    x.sum().backward(retain_graph=True)
    first = [t.grad.clone() for t in inputs]
    x.sum().backward()
    for f, t in zip(first, inputs):
        torch.testing.assert_close(t.grad, 2 * f)


def test_only_some_inputs_require_grad():
    Q, p, G, h, A, b = planted(10, 2, 3, 4, 1, active=1)
    p = p.clone().requires_grad_()
    dt.qp(Q, p, G, h, A, b).x.sum().backward()
    ref = leaf([Q, p, G, h, A, b])
    dt.qp(*ref).x.sum().backward()
    torch.testing.assert_close(p.grad, ref[1].grad, rtol=0, atol=0)


def test_non_contiguous_inputs_same_answer_and_gradient():
    inputs = planted(11, 3, 4, 5, 1, active=2)
    ref = leaf(inputs)
    dt.qp(*ref).x.sum().backward()
    # the same values as transposed / strided views
    Qt = leaf([inputs[0].transpose(1, 2).contiguous()])[0]
    wide = torch.zeros(3, 5, 8, dtype=F64)
    wide[..., ::2] = inputs[2]
    Gs = wide.requires_grad_()
    args = [Qt.transpose(1, 2), ref[1].detach().clone().requires_grad_(), Gs[..., ::2], *leaf(inputs[3:])]
    assert not args[0].is_contiguous() and not args[2].is_contiguous()
    x = dt.qp(*args).x
    torch.testing.assert_close(x, dt.qp(*inputs).x, rtol=0, atol=0)
    x.sum().backward()
    torch.testing.assert_close(Qt.grad.transpose(1, 2), ref[0].grad, rtol=0, atol=0)
    torch.testing.assert_close(Gs.grad[..., ::2], ref[2].grad, rtol=0, atol=0)
    assert (Gs.grad[..., 1::2] == 0).all()


def test_float32():
    inputs = planted(12, 4, 4, 5, 1, active=2)
    x64 = dt.qp(*inputs).x
    ins32 = leaf([t.float() for t in inputs])
    res = dt.qp(*ins32)
    assert res.x.dtype == torch.float32 and (res.status == SOLVED).all()
    # float32 default tol 1e-4 (relative): the solution to ~1e-4 of its scale
    torch.testing.assert_close(res.x.double(), x64, rtol=0, atol=1e-3 * (1 + x64.abs().max().item()))
    res.x.sum().backward()
    assert all(t.grad.dtype == torch.float32 and torch.isfinite(t.grad).all() for t in ins32)


# ---- per-instance failures -----------------------------------------------------

def test_nan_instance_status_others_unaffected_zero_gradient():
    inputs = planted(13, 3, 4, 5, 1, active=2)
    ok = dt.qp(*inputs)
    bad = [t.clone() for t in inputs]
    bad[3][1, 0] = float("nan")
    ins = leaf(bad)
    with pytest.warns(RuntimeWarning, match="1 INVALID_DATA"):
        x = dt.QPFunction()(*ins)
    res = dt.qp(*ins)
    assert res.status.tolist() == [SOLVED, int(dopt.InstanceStatus.INVALID_DATA), SOLVED]
    torch.testing.assert_close(x[[0, 2]], ok.x[[0, 2]], rtol=0, atol=0)
    (res.x.sum() + res.lam.sum()).backward()
    for name, t in zip(NAMES, ins):
        assert (t.grad[1] == 0).all(), name  # the C contract: unsolved instances contribute zero
        assert t.grad[[0, 2]].abs().max() > 0, name


def test_verbose_minus_one_is_silent():
    bad = planted(14, 2, 3, 4, 1, active=1)
    bad[1][0, 0] = float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dt.QPFunction(verbose=-1)(*bad)


# ---- bad input -------------------------------------------------------------------

def test_bad_inputs_raise_clear_errors():
    Q, p, G, h, A, b = planted(15, 2, 3, 4, 1, active=1)
    with pytest.raises(TypeError, match="one dtype; Q is torch.float64 but p is torch.float32"):
        dt.qp(Q, p.float(), G, h, A, b)
    with pytest.raises(TypeError, match="float32 or float64; got torch.int64"):
        dt.qp(Q, p.long(), G, h, A, b)
    with pytest.raises(TypeError, match="torch.Tensor or None; got ndarray"):
        dt.qp(Q, p.numpy(), G, h, A, b)
    with pytest.raises(ValueError, match="one device; Q is on cpu but G is on meta"):
        dt.qp(Q, p, G.to("meta"), h, A, b)
    with pytest.raises(ValueError, match="Q must be"):
        dt.qp(Q[:, :2], p, G, h, A, b)
    with pytest.raises(ValueError, match="batch sizes differ"):
        dt.QPFunction()(Q, p.repeat(2, 1), G, h, A, b)
    with pytest.raises(ValueError, match="G and h come together"):
        dt.QPFunction()(Q, p, G, torch.Tensor(), A, b)
    with pytest.raises(ValueError, match="p .* is required"):
        dt.qp(Q, None, G, h)
    with pytest.raises(ValueError, match="must be >= 0"):
        dt.qp(Q, p, G, h, tol=-1)
    with pytest.raises(ValueError, match="maxIter"):
        dt.QPFunction(maxIter=0)


def test_in_place_change_before_backward_is_refused():
    inputs = leaf(planted(16, 2, 3, 4, 1, active=1))
    h = inputs[3].detach().clone().requires_grad_()
    h2 = h * 1.0
    x = dt.qp(inputs[0], inputs[1], inputs[2], h2, inputs[4], inputs[5]).x
    with torch.no_grad():
        h2.add_(1.0)  # the tape reads h2's memory
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        x.sum().backward()


# ---- CUDA ------------------------------------------------------------------------

def test_cuda_matches_cpu():
    device = cuda_device_or_skip()
    inputs = planted(17, 8, 5, 6, 2, active=2)
    cpu = leaf(inputs)
    gpu = [t.detach().to(device).requires_grad_() for t in inputs]
    rc, rg = dt.qp(*cpu, tol=1e-12), dt.qp(*gpu, tol=1e-12)
    assert rg.x.device == device
    assert (rg.status.cpu() == SOLVED).all()
    torch.testing.assert_close(rg.x.cpu(), rc.x.detach(), rtol=1e-8, atol=1e-9)
    torch.testing.assert_close(rg.lam.cpu(), rc.lam.detach(), rtol=1e-8, atol=1e-9)
    (rc.x.sum() + rc.lam.sum()).backward()
    (rg.x.sum() + rg.lam.sum()).backward()
    for name, c, g in zip(NAMES, cpu, gpu):
        assert g.grad.device == device
        torch.testing.assert_close(g.grad.cpu(), c.grad, rtol=1e-7, atol=1e-8, msg=name)
    x = dt.QPFunction(verbose=-1)(*(t.detach().to(device) for t in inputs[:4]), torch.Tensor(), torch.Tensor())
    assert x.device == device and x.shape == (8, 5)


def test_cuda_and_cpu_tensors_mixed_raise():
    device = cuda_device_or_skip()
    Q, p, G, h, A, b = planted(18, 2, 3, 4, 1, active=1)
    with pytest.raises(ValueError, match="one device"):
        dt.qp(Q.to(device), p, G, h, A, b)


def test_double_backward_refused():
    inputs = leaf(planted(19, 2, 3, 4, 1, active=1))
    x = dt.qp(*inputs).x
    # dL/dx = 2x depends on the inputs: a second derivative would need the
    # backward's own derivative, which dopt does not provide
    (g,) = torch.autograd.grad(x.square().sum(), inputs[1], create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        g.sum().backward()


def test_outputs_can_be_modified_in_place():
    """The outputs are fresh tensors (not views made inside the autograd
    Function), batched or not."""
    Q, p, G, h, A, b = planted(20, 2, 3, 4, 1, active=1)
    for args in ((Q, p, G, h, A, b), (Q[0], p[0], G[0], h[0], A[0], b[0])):
        leaves = leaf(args)
        x = dt.qp(*leaves).x
        y = x.clone()
        x.mul_(2)
        x.sum().backward()
        torch.testing.assert_close(x, 2 * y)
