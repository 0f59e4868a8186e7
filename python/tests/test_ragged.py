"""Ragged (heterogeneous) batches from Python: dopt.qp.solve_ragged,
dopt.ilp.solve_ragged / backward_ragged / perturbed_ragged / spo_plus_ragged,
dopt.bern.evaluate_blocks / round_blocks and the torch layers' list and
concatenated (PyG-style) forms.

What is checked: a shuffled batch of mixed sizes gives, per instance, bitwise
the numbers of solving that instance alone with the uniform layer (the C
side's promise on one backend); the list form, the concatenated form and
the ptr form agree bitwise; gradients equal the per-instance uniform
gradients and pass gradcheck; block Bernoulli batches with equal sizes equal
the uniform call; bad input raises ValueError / TypeError naming the
argument."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import dopt  # noqa: E402
import dopt.torch as dt  # noqa: E402
from dopt import bern as nbern  # noqa: E402
from dopt import ilp as nilp  # noqa: E402
from dopt import qp as nqp  # noqa: E402

F64 = torch.float64
SOLVED = int(dopt.InstanceStatus.SOLVED)


# ---- QP instances -------------------------------------------------------------------

def planted_qp(g, n, m, k, active):
    """One QP (numpy float64) with a known strictly complementary solution:
    smooth in the data there, so central differences are meaningful."""
    L = g.standard_normal((n, n))
    Q = L @ L.T / n + 0.5 * np.eye(n)
    x = g.standard_normal(n)
    G = g.standard_normal((m, n))
    slack = 0.5 + g.random(m)
    slack[:active] = 0
    h = G @ x + slack
    lam = np.zeros(m)
    lam[:active] = 0.5 + g.random(active)
    A = g.standard_normal((k, n))
    b = A @ x
    nu = g.standard_normal(k)
    p = -(Q @ x + G.T @ lam + A.T @ nu)
    return Q, p, G, h, A, b


def mixed_qps(seed, sizes):
    g = np.random.default_rng(seed)
    return [planted_qp(g, n, m, k, min(m, max(0, n - k - 1), 2)) for n, m, k in sizes]


# shuffled sizes, with instances without inequalities and without equalities
QP_SIZES = [(5, 4, 1), (2, 0, 0), (7, 6, 2), (3, 3, 0), (1, 2, 0), (6, 0, 3), (4, 5, 1), (2, 2, 1), (8, 3, 2)]


def as_tensors(instances, requires_grad=False):
    out = []
    for inst in instances:
        out.append([torch.tensor(a, dtype=F64, requires_grad=requires_grad) for a in inst])
    return out


def columns(instances):
    """[[Q_0, Q_1, ...], [p_0, ...], ...]"""
    return [list(col) for col in zip(*instances)]


def flat_numpy(instances):
    Q, p, G, h, A, b = (np.concatenate([a.reshape(-1) for a in col]) for col in columns(instances))
    n = np.array([inst[1].shape[0] for inst in instances], np.int32)
    m = np.array([inst[3].shape[0] for inst in instances], np.int32)
    k = np.array([inst[5].shape[0] for inst in instances], np.int32)
    return n, m, k, Q, p, G, h, A, b


# ---- QP: numpy level -------------------------------------------------------------------

def test_qp_numpy_ragged_is_bitwise_each_instance_alone():
    insts = mixed_qps(1, QP_SIZES)
    n, m, k, Q, p, G, h, A, b = flat_numpy(insts)
    r = nqp.solve_ragged(n, m, k, Q, p, G, h, A, b)
    assert r.x.shape == (n.sum(),) and r.lam.shape == (m.sum(),) and r.nu.shape == (k.sum(),)
    assert r.status.shape == (len(insts),) and (r.status == SOLVED).all()
    xs = np.split(r.x, np.cumsum(n)[:-1])
    lams = np.split(r.lam, np.cumsum(m)[:-1])
    nus = np.split(r.nu, np.cumsum(k)[:-1])
    for i, (Qi, pi, Gi, hi, Ai, bi) in enumerate(insts):
        alone = nqp.solve(Qi, pi, Gi, hi, Ai, bi)
        np.testing.assert_array_equal(xs[i], alone.x, err_msg=f"instance {i}")
        np.testing.assert_array_equal(lams[i], alone.lam, err_msg=f"instance {i}")
        np.testing.assert_array_equal(nus[i], alone.nu, err_msg=f"instance {i}")
        assert r.iters[i] == alone.iters


def test_qp_numpy_ragged_backward_equals_each_instance_alone():
    insts = mixed_qps(2, QP_SIZES)
    n, m, k, Q, p, G, h, A, b = flat_numpy(insts)
    r = nqp.solve_ragged(n, m, k, Q, p, G, h, A, b, record=True)
    g = np.random.default_rng(3)
    dx, dlam, dnu = g.standard_normal(n.sum()), g.standard_normal(m.sum()), g.standard_normal(k.sum())
    grads = nqp.backward(r.tape, dx, dlam, dnu)
    offsets = {name: 0 for name in nqp.PARAMETERS}
    cut = {"dx": 0, "dlam": 0, "dnu": 0}
    for i, inst in enumerate(insts):
        ni, mi, ki = n[i], m[i], k[i]
        alone = nqp.solve(*inst, record=True)
        gi = nqp.backward(alone.tape, dx[cut["dx"]:cut["dx"] + ni], dlam[cut["dlam"]:cut["dlam"] + mi],
                          dnu[cut["dnu"]:cut["dnu"] + ki])
        cut["dx"] += ni
        cut["dlam"] += mi
        cut["dnu"] += ki
        for name, a in zip(nqp.PARAMETERS, inst):
            size = a.size
            got = grads[name][offsets[name]:offsets[name] + size]
            offsets[name] += size
            if size:
                np.testing.assert_array_equal(got, gi[name].reshape(-1), err_msg=f"d{name} of instance {i}")
    for name in nqp.PARAMETERS:
        assert offsets[name] == grads[name].shape[0]


def test_qp_numpy_ptr_form_and_policies():
    insts = mixed_qps(4, QP_SIZES)
    n, m, k, Q, p, G, h, A, b = flat_numpy(insts)
    base = nqp.solve_ragged(n, m, k, Q, p, G, h, A, b)
    ptr = lambda v: np.concatenate([[0], np.cumsum(v)])  # noqa: E731
    via_ptr = nqp.solve_ragged(None, None, None, Q, p, G, h, A, b, n_ptr=ptr(n), m_ptr=ptr(m), k_ptr=ptr(k))
    for a, c in zip(base[:5], via_ptr[:5]):
        np.testing.assert_array_equal(a, c)
    # size classes of equal sizes: bitwise the per-instance loop on the CPU (Q given)
    exact = nqp.solve_ragged(n, m, k, Q, p, G, h, A, b, policy="exact")
    for a, c in zip(base[:5], exact[:5]):
        np.testing.assert_array_equal(a, c)
    # padded classes: equal to the solver's tolerance (the solutions are O(1); a
    # 1e-8 relative KKT residual bounds the difference well below 1e-6)
    r = nqp.solve_ragged(n, m, k, Q, p, G, h, A, b, policy="pad", max_pad_waste=0.9, record=True)
    assert (r.status == SOLVED).all()
    np.testing.assert_allclose(r.x, base.x, atol=1e-6)
    np.testing.assert_allclose(r.lam, base.lam, atol=1e-6)
    # and the gradients (the tape of a padded solve), against the unpadded ones: a solution
    # that differs by the solver's tolerance moves the O(1) gradients by at most that times the
    # KKT systems' condition (~1e2 here); measured differences are ~1e-14, a padding error is O(1)
    dx = np.random.default_rng(0).standard_normal(n.sum())
    ref = nqp.backward(nqp.solve_ragged(n, m, k, Q, p, G, h, A, b, record=True).tape, dx)
    got = nqp.backward(r.tape, dx)
    for name in nqp.PARAMETERS:
        assert got[name].shape == ref[name].shape, name
        np.testing.assert_allclose(got[name], ref[name], atol=1e-5, err_msg=f"d{name}")


def test_qp_lp_and_a_bad_instance_do_not_disturb_the_others():
    insts = mixed_qps(5, QP_SIZES[:5])
    n, m, k, Q, p, G, h, A, b = flat_numpy(insts)
    h_bad = h.copy()
    h_bad[m[0]] = np.nan  # instance 1 has m = 0; the first row of instance 2 holds the NaN
    r = nqp.solve_ragged(n, m, k, Q, p, G, h_bad, A, b)
    good = nqp.solve_ragged(n, m, k, Q, p, G, h, A, b)
    assert r.status[2] == int(dopt.InstanceStatus.INVALID_DATA)
    keep = np.repeat(np.arange(len(n)) != 2, n)
    np.testing.assert_array_equal(r.x[keep], good.x[keep])
    # Q = None: LPs (bounded here by box rows)
    nl = np.array([2, 3], np.int32)
    ml = 2 * nl
    Gl = np.concatenate([np.vstack([np.eye(v), -np.eye(v)]).reshape(-1) for v in nl])
    hl = np.ones(ml.sum())
    pl = np.array([1.0, -1.0, 2.0, -3.0, 0.5])
    lp = nqp.solve_ragged(nl, ml, None, None, pl, Gl, hl)
    assert (lp.status == SOLVED).all()
    np.testing.assert_allclose(lp.x, -np.sign(pl), atol=1e-7)


def test_qp_numpy_bad_input():
    insts = mixed_qps(6, QP_SIZES[:3])
    n, m, k, Q, p, G, h, A, b = flat_numpy(insts)
    with pytest.raises(ValueError, match="G must have"):
        nqp.solve_ragged(n, m, k, Q, p, G[:-1], h, A, b)
    with pytest.raises(ValueError, match="Q must be 1-D"):
        nqp.solve_ragged(n, m, k, Q.reshape(1, -1), p, G, h, A, b)
    with pytest.raises(ValueError, match="n must be >= 0; instance 1"):
        nqp.solve_ragged(np.array([5, -2, 7], np.int32), m, k, Q, p, G, h, A, b)
    with pytest.raises(ValueError, match="instance 1 has n = 0"):
        nqp.solve_ragged(np.array([5, 0, 7], np.int32), m, k, Q, p, G, h, A, b)
    with pytest.raises(dopt.Error, match=r"n\[1\] = 5000"):  # the library's limit, named by the library
        nqp.solve_ragged([1, 5000], None, None, None, np.ones(5001))
    with pytest.raises(ValueError, match="one entry per instance"):
        nqp.solve_ragged(n, m[:2], k, Q, p, G, h, A, b)
    with pytest.raises(ValueError, match="n_ptr must be non-decreasing"):
        nqp.solve_ragged(None, m, k, Q, p, G, h, A, b, n_ptr=[0, 5, 3, 14])
    with pytest.raises(ValueError, match="either as sizes or as n_ptr"):
        nqp.solve_ragged(n, m, k, Q, p, G, h, A, b, n_ptr=[0, 5, 7, 14])
    with pytest.raises(TypeError, match="n must hold integers"):
        nqp.solve_ragged(n.astype(float), m, k, Q, p, G, h, A, b)
    with pytest.raises(ValueError, match="G is missing"):
        nqp.solve_ragged(n, m, k, Q, p, None, None, A, b)
    with pytest.raises(ValueError, match="policy"):
        nqp.solve_ragged(n, m, k, Q, p, G, h, A, b, policy="fast")


# ---- QP: torch -------------------------------------------------------------------------

def test_torch_qp_list_is_bitwise_the_uniform_layer_per_instance():
    insts = as_tensors(mixed_qps(7, QP_SIZES))
    Q, p, G, h, A, b = columns(insts)
    res = dt.qp(Q, p, G, h, A, b)
    assert isinstance(res.x, list) and len(res.x) == len(insts)
    assert res.status.shape == (len(insts),)
    for i, inst in enumerate(insts):
        alone = dt.qp(*[t if t.numel() else None for t in inst])
        torch.testing.assert_close(res.x[i], alone.x, rtol=0, atol=0)
        torch.testing.assert_close(res.lam[i], alone.lam, rtol=0, atol=0)
        torch.testing.assert_close(res.nu[i], alone.nu, rtol=0, atol=0)
    # QPFunction takes lists too and returns the list of x_i
    xs = dt.QPFunction(verbose=-1)(Q, p, G, h, A, b)
    assert len(xs) == len(insts)
    for a, c in zip(xs, res.x):
        torch.testing.assert_close(a, c, rtol=0, atol=0)


def test_torch_qp_list_gradients_equal_the_uniform_gradients():
    raw = mixed_qps(8, QP_SIZES)
    insts = as_tensors(raw, requires_grad=True)
    Q, p, G, h, A, b = columns(insts)
    res = dt.qp(Q, p, G, h, A, b)
    g = torch.Generator().manual_seed(0)
    weights = [(torch.randn(x.shape, generator=g, dtype=F64), torch.randn(l.shape, generator=g, dtype=F64),
                torch.randn(v.shape, generator=g, dtype=F64)) for x, l, v in zip(res.x, res.lam, res.nu)]
    loss = sum((x * wx).sum() + (l * wl).sum() + (v * wv).sum()
               for (x, l, v), (wx, wl, wv) in zip(zip(res.x, res.lam, res.nu), weights))
    loss.backward()
    for i, inst in enumerate(as_tensors(raw, requires_grad=True)):
        present = [t if t.numel() else None for t in inst]
        r = dt.qp(*present)
        wx, wl, wv = weights[i]
        ((r.x * wx).sum() + (r.lam * wl).sum() + (r.nu * wv).sum()).backward()
        for name, mine, ref in zip(nqp.PARAMETERS, insts[i], inst):
            if ref.numel() == 0:
                continue
            assert mine.grad is not None, f"d{name} of instance {i}"
            torch.testing.assert_close(mine.grad, ref.grad, rtol=0, atol=0, msg=f"d{name} of instance {i}")


def test_torch_qp_flat_form_equals_list_form_and_takes_ptr():
    raw = mixed_qps(9, QP_SIZES)
    n, m, k, *flat = flat_numpy(raw)
    flat = [torch.tensor(a) for a in flat]
    lists = columns(as_tensors(raw))
    by_list = dt.qp(*lists)
    by_flat = dt.qp_ragged(torch.tensor(n), m, k.tolist(), *flat)
    torch.testing.assert_close(by_flat.x, torch.cat(by_list.x), rtol=0, atol=0)
    torch.testing.assert_close(by_flat.lam, torch.cat(by_list.lam), rtol=0, atol=0)
    torch.testing.assert_close(by_flat.status, by_list.status, rtol=0, atol=0)
    ptr = lambda v: torch.cat([torch.zeros(1, dtype=torch.int64), torch.cumsum(torch.tensor(v), 0)])  # noqa: E731
    by_ptr = dt.qp_ragged(None, None, None, *flat, n_ptr=ptr(n), m_ptr=ptr(m), k_ptr=ptr(k))
    torch.testing.assert_close(by_ptr.x, by_flat.x, rtol=0, atol=0)


def test_torch_qp_ragged_gradcheck():
    # three small instances of different sizes, solved to tol 1e-13; gradcheck's
    # central differences (step 1e-6) then err by ~1e-7 (solution error over the
    # step): atol 1e-6 / rtol 1e-5 fails a gradient wrong by 0.1 % (as in test_qp_torch)
    raw = mixed_qps(10, [(3, 2, 1), (2, 1, 0), (4, 3, 1)])
    n, m, k, *flat = flat_numpy(raw)
    inputs = [torch.tensor(a, requires_grad=True) for a in flat]

    def fn(Q, p, G, h, A, b):
        r = dt.qp_ragged(n, m, k, Q, p, G, h, A, b, tol=1e-13, max_iter=100)
        return r.x, r.lam, r.nu

    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)


def test_torch_qp_list_bad_input():
    insts = as_tensors(mixed_qps(11, QP_SIZES[:3]))
    Q, p, G, h, A, b = columns(insts)
    with pytest.raises(ValueError, match="list lengths differ: p has 3 instances but G has 2"):
        dt.qp(Q, p, G[:2], h, A, b)
    with pytest.raises(TypeError, match="so Q must be a list too"):
        dt.qp(Q[0], p, G, h, A, b)
    bad = list(G)
    bad[1] = torch.zeros(2, 5, dtype=F64)
    bad_h = list(h)
    bad_h[1] = torch.zeros(2, dtype=F64)
    with pytest.raises(ValueError, match=r"G\[1\] must be \(m_i, n_i\) with n_i = 2"):
        dt.qp(Q, p, bad, bad_h, A, b)
    bad[1] = torch.zeros(0, 5, dtype=F64)  # an empty block of the wrong width is still wrong
    bad_h[1] = torch.zeros(0, dtype=F64)
    with pytest.raises(ValueError, match=r"G\[1\] must be .* the empty block \(0, 5\)"):
        dt.qp(Q, p, bad, bad_h, A, b)
    bad[1] = torch.zeros(0, 2, dtype=F64)  # the right width: an instance without inequalities
    bad_h[1] = torch.zeros(1, 0, dtype=F64)
    with pytest.raises(ValueError, match=r"h\[1\] must be \(0,\) for an empty block"):
        dt.qp(Q, p, bad, bad_h, A, b)
    mixed = list(p)
    mixed[2] = mixed[2].float()
    with pytest.raises(TypeError, match=r"p\[2\] is torch.float32"):
        dt.qp(Q, mixed, G, h, A, b)
    with pytest.raises(TypeError, match=r"p\[0\] must be a torch.Tensor"):
        dt.qp(Q, [np.zeros(5)] + list(p[1:]), G, h, A, b)
    n, m, k, *flat = flat_numpy(mixed_qps(11, QP_SIZES[:3]))
    flat = [torch.tensor(a) for a in flat]
    with pytest.raises(ValueError, match="n_ptr must be non-decreasing"):
        dt.qp_ragged(None, m, k, *flat, n_ptr=torch.tensor([0, 5, 4, 14]))
    with pytest.raises(ValueError, match="n_ptr must start at 0"):
        dt.qp_ragged(None, m, k, *flat, n_ptr=torch.tensor([1, 6, 8, 15]))
    with pytest.raises(ValueError, match="h must have"):
        dt.qp_ragged(n, m, k, flat[0], flat[1], flat[2], flat[3][:-1], flat[4], flat[5])
    with pytest.raises(TypeError, match="one dtype"):
        dt.qp_ragged(n, m, k, flat[0].float(), *flat[1:])


# ---- ILP -------------------------------------------------------------------------------

ILP_SIZES = [(4, 2), (1, 0), (6, 3), (3, 3), (5, 0), (2, 1), (7, 4)]


def mixed_ilps(seed, sizes=ILP_SIZES):
    g = torch.Generator().manual_seed(seed)
    out = []
    for n, m in sizes:
        c = torch.randn(n, dtype=F64, generator=g)
        A = torch.randn(m, n, dtype=F64, generator=g)
        b = torch.rand(m, dtype=F64, generator=g) * 1.5 + A.abs().sum(-1) * 0.3
        out.append((c, A, b))
    return out


def test_ilp_numpy_ragged_is_bitwise_each_instance_alone():
    insts = mixed_ilps(1)
    n = np.array([c.shape[0] for c, _, _ in insts], np.int32)
    m = np.array([A.shape[0] for _, A, _ in insts], np.int32)
    c = torch.cat([c for c, _, _ in insts]).numpy()
    A = torch.cat([A.reshape(-1) for _, A, _ in insts]).numpy()
    b = torch.cat([b for _, _, b in insts]).numpy()
    r = nilp.solve_ragged(n, m, c, A, b, lb=-1, ub=2)
    ys = np.split(r.y, np.cumsum(n)[:-1])
    for i, (ci, Ai, bi) in enumerate(insts):
        alone = nilp.solve(ci.numpy(), Ai.numpy() if Ai.numel() else None, bi.numpy() if bi.numel() else None,
                           -1, 2)
        np.testing.assert_array_equal(ys[i], alone.y, err_msg=f"instance {i}")
        assert r.obj[i] == alone.obj and r.status[i] == alone.status and r.nodes[i] == alone.nodes
    # backward, every method: the per-instance uniform gradients
    dy = np.random.default_rng(0).standard_normal(n.sum())
    for method in ("combopt", "dbb", "identity"):
        g = nilp.backward_ragged(n, m, c, A, b, -1, 2, y=r.y, status=r.status, dy=dy, method=method, tau=0.3,
                                 lambd=3.0)
        dcs = np.split(g["c"], np.cumsum(n)[:-1])
        dAs = np.split(g["A"], np.cumsum(n * m)[:-1])
        for i, (ci, Ai, bi) in enumerate(insts):
            Ai_ = Ai.numpy() if Ai.numel() else None
            bi_ = bi.numpy() if bi.numel() else None
            alone = nilp.solve(ci.numpy(), Ai_, bi_, -1, 2)
            gi = nilp.backward(ci.numpy(), Ai_, bi_, -1, 2, y=alone.y, status=alone.status,
                               dy=np.split(dy, np.cumsum(n)[:-1])[i], method=method, tau=0.3, lambd=3.0)
            np.testing.assert_array_equal(dcs[i], gi["c"], err_msg=f"{method} dc of instance {i}")
            if Ai_ is not None:
                np.testing.assert_array_equal(dAs[i], gi["A"].reshape(-1), err_msg=f"{method} dA of instance {i}")


@pytest.mark.parametrize("method", ["combopt", "dbb", "identity"])
def test_torch_ilp_list_gradients_equal_the_uniform_layer(method):
    insts = mixed_ilps(2)
    leaves = [[t.clone().requires_grad_() for t in inst] for inst in insts]
    c, A, b = (list(col) for col in zip(*leaves))
    ys = dt.ilp(c, A, b, method=method, tau=0.3, lambd=3.0, lb=-1.0, ub=2.0)
    g = torch.Generator().manual_seed(5)
    dys = [torch.randn(y.shape, generator=g, dtype=F64) for y in ys]
    sum((y * d).sum() for y, d in zip(ys, dys)).backward()
    for i, (ci, Ai, bi) in enumerate(insts):
        cl, Al, bl = (t.clone().requires_grad_() for t in (ci, Ai, bi))
        has_rows = Ai.numel() > 0
        y = dt.ilp(cl, Al if has_rows else None, bl if has_rows else None, method=method, tau=0.3, lambd=3.0,
                   lb=-1.0, ub=2.0)
        torch.testing.assert_close(ys[i], y, rtol=0, atol=0)
        (y * dys[i]).sum().backward()
        torch.testing.assert_close(leaves[i][0].grad, cl.grad, rtol=0, atol=0, msg=f"dc of instance {i}")
        if has_rows:  # dbb and identity: zeros, as the uniform layer
            torch.testing.assert_close(leaves[i][1].grad, Al.grad, rtol=0, atol=0, msg=f"dA of instance {i}")
            torch.testing.assert_close(leaves[i][2].grad, bl.grad, rtol=0, atol=0, msg=f"db of instance {i}")


def test_torch_ilp_equal_sizes_equal_the_uniform_batch_also_perturbed():
    g = torch.Generator().manual_seed(3)
    B, n, m = 5, 6, 3
    c = torch.randn(B, n, dtype=F64, generator=g)
    A = torch.randn(B, m, n, dtype=F64, generator=g)
    b = torch.rand(B, m, dtype=F64, generator=g) + A.abs().sum(-1) * 0.3
    dy = torch.randn(B, n, dtype=F64, generator=g)
    for method in ("combopt", "perturbed"):
        cu = c.clone().requires_grad_()
        yu = dt.ilp(cu, A, b, method=method, epsilon=0.5, samples=5, seed=11)
        (yu * dy).sum().backward()
        cr = c.clone().requires_grad_()
        yr = dt.ilp_ragged([n] * B, [m] * B, cr.reshape(-1), A.reshape(-1), b.reshape(-1), method=method,
                           epsilon=0.5, samples=5, seed=11)
        (yr * dy.reshape(-1)).sum().backward()
        torch.testing.assert_close(yr, yu.reshape(-1), rtol=0, atol=0, msg=method)
        torch.testing.assert_close(cr.grad, cu.grad, rtol=0, atol=0, msg=method)


def test_torch_ilp_flat_ptr_max_and_obj():
    insts = mixed_ilps(4)
    c, A, b = (list(col) for col in zip(*insts))
    by_list = dt.ilp(c, A, b, sense="max", return_status=True)
    n = torch.tensor([ci.shape[0] for ci in c])
    m = torch.tensor([Ai.shape[0] for Ai in A])
    n_ptr = torch.cat([torch.zeros(1, dtype=torch.int64), torch.cumsum(n, 0)])
    flat_A = torch.cat([Ai.reshape(-1) for Ai in A])
    cl = torch.cat(c).requires_grad_()
    by_ptr = dt.ilp_ragged(None, m, cl, flat_A, torch.cat(b), n_ptr=n_ptr, sense="max", return_status=True)
    torch.testing.assert_close(by_ptr.y, torch.cat(by_list.y), rtol=0, atol=0)
    torch.testing.assert_close(by_ptr.obj, by_list.obj, rtol=0, atol=0)
    for i, (ci, Ai, bi) in enumerate(insts):
        alone = dt.ilp(ci, Ai if Ai.numel() else None, bi if bi.numel() else None, sense="max", return_status=True)
        assert by_ptr.obj[i] == alone.obj
    # d(sum obj)/dc = y (obj = c'y per instance)
    by_ptr.obj.sum().backward()
    torch.testing.assert_close(cl.grad, by_ptr.y.detach(), rtol=0, atol=0)


def test_ilp_spo_plus_ragged_equals_per_instance():
    insts = mixed_ilps(6)
    g = np.random.default_rng(1)
    n = np.array([c.shape[0] for c, _, _ in insts], np.int32)
    m = np.array([A.shape[0] for _, A, _ in insts], np.int32)
    c_hat = torch.cat([c for c, _, _ in insts]).numpy()
    c_true = g.standard_normal(c_hat.shape)
    A = torch.cat([A.reshape(-1) for _, A, _ in insts]).numpy()
    b = torch.cat([b for _, _, b in insts]).numpy()
    loss, dc = nilp.spo_plus_ragged(n, m, c_hat, c_true, A, b)
    cut = np.cumsum(n)[:-1]
    for i, (ci, Ai, bi) in enumerate(insts):
        li, dci = nilp.spo_plus(ci.numpy(), np.split(c_true, cut)[i], Ai.numpy() if Ai.numel() else None,
                                bi.numpy() if bi.numel() else None)
        assert loss[i] == li
        np.testing.assert_array_equal(np.split(dc, cut)[i], dci)


def test_ilp_ragged_bad_input():
    insts = mixed_ilps(7, ILP_SIZES[:3])
    c, A, b = (list(col) for col in zip(*insts))
    with pytest.raises(ValueError, match="list lengths differ: c has 3 instances but A has 2"):
        dt.ilp(c, A[:2], b)
    bad = list(A)
    bad[2] = torch.zeros(3, 5, dtype=F64)
    with pytest.raises(ValueError, match=r"A\[2\] must be \(m_i, n_i\) with n_i = 6"):
        dt.ilp(c, bad, b)
    with pytest.raises(TypeError, match="one dtype"):
        dt.ilp([c[0].float()] + c[1:], A, b)
    flat_c = torch.cat(c)
    with pytest.raises(ValueError, match="c must have 11 entries"):
        dt.ilp_ragged([4, 1, 6], [2, 0, 3], flat_c[:-1], torch.cat([a.reshape(-1) for a in A]), torch.cat(b))
    with pytest.raises(ValueError, match="need 1 <= n_i <= 256 variables; instance 1 has n = 0"):
        nilp.solve_ragged([4, 0, 7], None, np.zeros(11))
    with pytest.raises(ValueError, match="m_ptr must be non-decreasing"):
        nilp.solve_ragged([4, 1, 6], None, flat_c.numpy(), m_ptr=[0, 2, 1, 5])


# ---- Bernoulli blocks ----------------------------------------------------------------------

def block_batch(seed, sizes, density=0.6):
    """A block-diagonal batch (numpy): per instance (n_i, m_i) a random sparse
    A_i, concatenated into one CSR matrix with global columns."""
    g = np.random.default_rng(seed)
    var_ptr = np.concatenate([[0], np.cumsum([s[0] for s in sizes])]).astype(np.int64)
    con_ptr = np.concatenate([[0], np.cumsum([s[1] for s in sizes])]).astype(np.int64)
    row_ptr, cols, vals, b, dense = [0], [], [], [], []
    for i, (n, m) in enumerate(sizes):
        Ai = np.where(g.random((m, n)) < density, g.integers(1, 4, (m, n)), 0).astype(float)
        dense.append(Ai)
        for r in range(m):
            nz = np.nonzero(Ai[r])[0]
            cols.extend(var_ptr[i] + nz)
            vals.extend(Ai[r, nz])
            row_ptr.append(len(cols))
        b.extend(0.5 * Ai.sum(1))
    x = g.uniform(0.05, 0.95, var_ptr[-1])
    c = g.standard_normal(var_ptr[-1])
    csr = (np.array(row_ptr, np.int64), np.array(cols, np.int32), np.array(vals))
    return x, var_ptr, con_ptr, csr, np.array(b), c, dense


def test_bern_blocks_with_equal_sizes_equal_the_uniform_call():
    sizes = [(6, 4)] * 5
    x, var_ptr, con_ptr, csr, b, c, dense = block_batch(1, sizes)
    blocks = nbern.evaluate_blocks(x, var_ptr, csr, b, c, con_ptr=con_ptr, samples=16, seed=3)
    uniform = nbern.evaluate(x.reshape(5, 6), np.stack(dense), b.reshape(5, 4), c.reshape(5, 6), samples=16, seed=3)
    np.testing.assert_array_equal(blocks.loss, uniform.loss)
    np.testing.assert_array_equal(blocks.grad, uniform.grad.reshape(-1))
    np.testing.assert_array_equal(blocks.status, uniform.status)
    xr, st = nbern.round_blocks(x, var_ptr, csr, b, c, con_ptr=con_ptr)
    xu, su = nbern.round(x.reshape(5, 6), np.stack(dense), b.reshape(5, 4), c.reshape(5, 6))
    np.testing.assert_array_equal(xr, xu.reshape(-1))
    np.testing.assert_array_equal(st, su)
    # torch, with autograd: the same numbers, dx = grad * dloss, dc = xhat
    xt = torch.tensor(x, requires_grad=True)
    ct = torch.tensor(c, requires_grad=True)
    loss = dt.bernoulli_penalty(xt, tuple(torch.tensor(a) for a in csr), torch.tensor(b), ct,
                                var_ptr=torch.tensor(var_ptr), con_ptr=torch.tensor(con_ptr), samples=16, seed=3,
                                reduction="sum")
    xu_t = torch.tensor(x.reshape(5, 6), requires_grad=True)
    cu_t = torch.tensor(c.reshape(5, 6), requires_grad=True)
    loss_u = dt.bernoulli_penalty(xu_t, torch.tensor(np.stack(dense)), torch.tensor(b.reshape(5, 4)), cu_t,
                                  samples=16, seed=3, reduction="sum")
    torch.testing.assert_close(loss, loss_u, rtol=0, atol=0)
    loss.backward()
    loss_u.backward()
    torch.testing.assert_close(xt.grad, xu_t.grad.reshape(-1), rtol=0, atol=0)
    torch.testing.assert_close(ct.grad, cu_t.grad.reshape(-1), rtol=0, atol=0)


def test_bern_blocks_mixed_sizes_exact_estimator_per_instance():
    # "exact" enumerates: no sampling, so each instance equals its uniform call alone
    sizes = [(3, 2), (5, 0), (1, 1), (6, 4), (4, 3)]
    x, var_ptr, con_ptr, csr, b, c, dense = block_batch(2, sizes)
    res = nbern.evaluate_blocks(x, var_ptr, csr, b, c, con_ptr=con_ptr, estimator="exact")
    assert (res.status == 0).all()
    for i, (n, m) in enumerate(sizes):
        xs, cs = x[var_ptr[i]:var_ptr[i + 1]], c[var_ptr[i]:var_ptr[i + 1]]
        bs = b[con_ptr[i]:con_ptr[i + 1]]
        alone = nbern.evaluate(xs, dense[i] if m else None, bs if m else None, cs, estimator="exact")
        np.testing.assert_allclose(res.loss[i], alone.loss, rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(res.grad[var_ptr[i]:var_ptr[i + 1]], alone.grad, rtol=1e-14, atol=1e-14)
    # torch: per-instance losses weighted by dloss; gradients land in the instances' variables
    xt = torch.tensor(x, requires_grad=True)
    w = torch.arange(1.0, len(sizes) + 1, dtype=F64)
    loss, status = dt.bernoulli_penalty(xt, tuple(torch.tensor(a) for a in csr), torch.tensor(b), torch.tensor(c),
                                        var_ptr=var_ptr, con_ptr=con_ptr, estimator="exact", reduction="none",
                                        return_status=True)
    assert loss.shape == (len(sizes),) and (status == 0).all()
    (loss * w).sum().backward()
    expected = torch.tensor(res.grad) * torch.repeat_interleave(w, torch.tensor(np.diff(var_ptr)))
    torch.testing.assert_close(xt.grad, expected, rtol=1e-14, atol=1e-14)


def test_bern_blocks_bad_input():
    sizes = [(3, 2), (4, 1)]
    x, var_ptr, con_ptr, csr, b, c, _ = block_batch(3, sizes)
    with pytest.raises(ValueError, match="var_ptr\\[-1\\] = 7 but xhat has 6"):
        nbern.evaluate_blocks(x[:-1], var_ptr, csr, b, c[:-1], con_ptr=con_ptr)
    with pytest.raises(ValueError, match="con_ptr must have B \\+ 1 = 3"):
        nbern.evaluate_blocks(x, var_ptr, csr, b, c, con_ptr=con_ptr[:-1])
    with pytest.raises(ValueError, match="con_ptr .*required"):
        nbern.evaluate_blocks(x, var_ptr, csr, b, c)
    with pytest.raises(ValueError, match="b must be 1-D with one entry per row"):
        nbern.evaluate_blocks(x, var_ptr, csr, b[:-1], c, con_ptr=con_ptr)
    with pytest.raises(ValueError, match="x must be 1-D"):
        dt.bernoulli_penalty(torch.tensor(x).reshape(1, -1), tuple(torch.tensor(a) for a in csr), torch.tensor(b),
                             var_ptr=var_ptr, con_ptr=con_ptr)
    with pytest.raises(TypeError, match="var_ptr must hold integers"):
        dt.bernoulli_penalty(torch.tensor(x), tuple(torch.tensor(a) for a in csr), torch.tensor(b),
                             var_ptr=torch.tensor(var_ptr, dtype=F64), con_ptr=con_ptr)
    # a row reaching into another instance's variables: that instance is invalid, the other untouched
    row_ptr, cols, vals = csr
    cols = cols.copy()
    cols[0] = 5  # instance 0's first row now names a variable of instance 1
    res = nbern.evaluate_blocks(x, var_ptr, (row_ptr, cols, vals), b, c, con_ptr=con_ptr, estimator="exact")
    assert res.status[0] == int(dopt.InstanceStatus.INVALID_DATA) and res.status[1] == 0
    # decreasing offsets: the library refuses the call, naming the array
    with pytest.raises(dopt.Error, match="var_ptr"):
        nbern.evaluate_blocks(x, np.array([0, 8, 7]), csr, b, c, con_ptr=con_ptr)


# ---- diffusion blocks ----------------------------------------------------------------------

from dopt import diffusion as ndiff  # noqa: E402


def diffusion_blocks(seed, sizes):
    """MILPs A x >= b (numpy) of the given (n_i, m_i) as a BlockGuide and as
    per-instance dense arrays."""
    x, var_ptr, con_ptr, csr, b, c, dense = block_batch(seed, sizes)
    g = np.random.default_rng(seed + 100)
    xref = (g.random(var_ptr[-1]) < 0.5).astype(float)
    return ndiff.BlockGuide(var_ptr, csr, b, c, xref, con_ptr=con_ptr), var_ptr, con_ptr, b, c, xref, dense


def test_diffusion_blocks_with_equal_sizes_equal_the_uniform_calls():
    B, n, m, S = 4, 5, 3, 2
    guide_b, var_ptr, con_ptr, b, c, xref, dense = diffusion_blocks(1, [(n, m)] * B)
    guide_u = ndiff.Guide(np.stack(dense), b.reshape(B, m), c.reshape(B, n), xref.reshape(B, n))
    abar = ndiff.schedule(50)
    g = np.random.default_rng(2)
    x0 = g.random((B, S, n))
    xt_u, eps_u = ndiff.noise(x0.reshape(B * S, n), abar[20], seed=4, step=7)
    xt_b, eps_b = ndiff.noise_blocks(x0.reshape(-1), abar[20], blocks=guide_b, seed=4, step=7)
    np.testing.assert_array_equal(xt_b, xt_u.reshape(-1))
    np.testing.assert_array_equal(eps_b, eps_u.reshape(-1))
    eps_hat = g.standard_normal((B, S, n))
    gw = ndiff.Guidance(0.3, 1.0, 2.0)
    step_u = ndiff.step(xt_u.reshape(B, S, n), eps_hat, abar, 20, seed=5, guide=guide_u, guidance=gw)
    step_b = ndiff.step_blocks(xt_b, eps_hat.reshape(-1), abar, 20, blocks=guide_b, seed=5, guidance=gw)
    np.testing.assert_array_equal(step_b, step_u.reshape(-1))
    layout = ndiff.BlockGuide(var_ptr)  # unguided: only the layout
    free_u = ndiff.step(xt_u.reshape(B, S, n), eps_hat, abar, 20, seed=5)
    free_b = ndiff.step_blocks(xt_b, eps_hat.reshape(-1), abar, 20, blocks=layout, seed=5)
    np.testing.assert_array_equal(free_b, free_u.reshape(-1))
    tgt_u = ndiff.srg_target(guide_u, xt_u.reshape(B, S, n), eps_u.reshape(B, S, n), abar[20], guidance=gw)
    tgt_b = ndiff.srg_target_blocks(guide_b, xt_b, eps_b, abar[20], guidance=gw)
    np.testing.assert_array_equal(tgt_b, tgt_u.reshape(-1))
    cand_u = ndiff.candidates(guide_u, xt_u.reshape(B, S, n))
    cand_b = ndiff.candidates_blocks(guide_b, xt_b)
    np.testing.assert_array_equal(cand_b.objective, cand_u.objective.reshape(-1))
    np.testing.assert_array_equal(cand_b.violation, cand_u.violation.reshape(-1))
    np.testing.assert_array_equal(cand_b.best, cand_u.best)
    np.testing.assert_array_equal(cand_b.best_x, cand_u.best_x.reshape(-1))


def test_diffusion_blocks_mixed_sizes_deterministic_calls_per_instance():
    # targets, candidates and a DDIM step with eta = 0 draw no noise: each
    # instance equals its own uniform call
    sizes, S = [(3, 2), (6, 4), (1, 1), (4, 0)], 3
    guide_b, var_ptr, con_ptr, b, c, xref, dense = diffusion_blocks(3, sizes)
    abar = ndiff.schedule(40)
    g = np.random.default_rng(4)
    xt = g.standard_normal(S * var_ptr[-1])
    eps = g.standard_normal(S * var_ptr[-1])
    tgt = ndiff.srg_target_blocks(guide_b, xt, eps, abar[10])
    nxt = ndiff.step_blocks(xt, eps, abar, 10, 4, blocks=guide_b, sampler="ddim", eta=0.0)
    cand = ndiff.candidates_blocks(guide_b, xt)
    for i, (n, m) in enumerate(sizes):
        lo, hi = S * var_ptr[i], S * var_ptr[i + 1]
        A_i = dense[i] if m else np.zeros((0, n))
        guide_i = ndiff.Guide(A_i, b[con_ptr[i]:con_ptr[i + 1]], c[var_ptr[i]:var_ptr[i + 1]],
                              xref[var_ptr[i]:var_ptr[i + 1]])
        xi, ei = xt[lo:hi].reshape(S, n), eps[lo:hi].reshape(S, n)
        np.testing.assert_array_equal(tgt[lo:hi], ndiff.srg_target(guide_i, xi, ei, abar[10]).reshape(-1))
        np.testing.assert_array_equal(nxt[lo:hi], ndiff.step(xi, ei, abar, 10, 4, sampler="ddim", eta=0.0,
                                                             guide=guide_i).reshape(-1))
        ci = ndiff.candidates(guide_i, xi)
        np.testing.assert_array_equal(cand.objective[i * S:(i + 1) * S], ci.objective)
        assert cand.best[i] == ci.best[0]
        np.testing.assert_array_equal(cand.best_x[var_ptr[i]:var_ptr[i + 1]], ci.best_x[0])


def test_diffusion_blocks_bad_input():
    guide_b, var_ptr, con_ptr, b, c, xref, _ = diffusion_blocks(5, [(3, 2), (4, 1)])
    abar = ndiff.schedule(20)
    with pytest.raises(ValueError, match="not a positive multiple of var_ptr"):
        ndiff.noise_blocks(np.zeros(8), abar[3], blocks=guide_b)
    with pytest.raises(ValueError, match="con_ptr .*required"):
        ndiff.BlockGuide(var_ptr, (np.array([0, 1]), np.array([0], np.int32), np.ones(1)), np.ones(1), c)
    with pytest.raises(ValueError, match="needs the MILPs"):
        ndiff.candidates_blocks(ndiff.BlockGuide(var_ptr), np.zeros(7))
    with pytest.raises(ValueError, match="c must be 1-D with var_ptr"):
        ndiff.BlockGuide(var_ptr, (np.array([0]), np.zeros(0, np.int32), np.zeros(0)), np.zeros(0), c[:-1],
                         con_ptr=[0, 0, 0])


# ---- threads, float32, torch.compile -----------------------------------------------------

def test_concurrent_ragged_calls_from_threads_equal_the_serial_results():
    # each Python thread has its own library context (dopt._lib.context_for)
    import threading
    jobs = []
    for seed in range(6):
        insts = mixed_qps(20 + seed, QP_SIZES[seed:] + QP_SIZES[:seed])
        jobs.append(flat_numpy(insts))
    serial = [nqp.solve_ragged(*job).x for job in jobs]
    results = [None] * (3 * len(jobs))
    errors = []

    def work(slot):
        try:
            for _ in range(3):
                results[slot] = nqp.solve_ragged(*jobs[slot % len(jobs)]).x
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for slot, x in enumerate(results):
        np.testing.assert_array_equal(x, serial[slot % len(jobs)])


def test_torch_qp_ragged_float32_follows_the_inputs_dtype():
    raw = mixed_qps(12, QP_SIZES)
    n, m, k, *flat = flat_numpy(raw)
    flat32 = [torch.tensor(a, dtype=torch.float32) for a in flat]
    r = dt.qp_ragged(n, m, k, *flat32)
    assert r.x.dtype == torch.float32 and (r.status == SOLVED).all()
    r64 = dt.qp_ragged(n, m, k, *[torch.tensor(a) for a in flat])
    # float32 solves to the library's float32 tolerance (1e-4 relative): O(1) solutions agree to ~1e-3
    torch.testing.assert_close(r.x.double(), r64.x, atol=2e-3, rtol=0)


def test_torch_compile_block_bernoulli_and_ragged_qp():
    sizes = [(3, 2), (5, 1), (4, 3)]
    x, var_ptr, con_ptr, csr, b, c, _ = block_batch(7, sizes)
    A = tuple(torch.tensor(a) for a in csr)
    bt, ct, vp, cp = torch.tensor(b), torch.tensor(c), torch.tensor(var_ptr), torch.tensor(con_ptr)

    def loss_fn(xt):
        return dt.bernoulli_penalty(xt, A, bt, ct, var_ptr=vp, con_ptr=cp, samples=8, seed=2, reduction="sum")

    xe = torch.tensor(x, requires_grad=True)
    eager = loss_fn(xe)
    eager.backward()
    xc = torch.tensor(x, requires_grad=True)
    compiled = torch.compile(loss_fn, fullgraph=True, backend="eager")(xc)
    compiled.backward()
    torch.testing.assert_close(compiled, eager, rtol=0, atol=0)
    torch.testing.assert_close(xc.grad, xe.grad, rtol=0, atol=0)
    # the ragged QP runs as a graph break inside a compiled function
    raw = mixed_qps(13, QP_SIZES[:4])
    n, m, k, *flat = flat_numpy(raw)

    Q, G, h, A_, b_ = (torch.tensor(a) for a in (flat[0], *flat[2:]))

    def qp_fn(p):
        r = dt.qp_ragged(n, m, k, Q, p, G, h, A_, b_)
        return (r.x ** 2).sum()

    p1 = torch.tensor(flat[1], requires_grad=True)
    p2 = torch.tensor(flat[1], requires_grad=True)
    qp_fn(p1).backward()
    out = torch.compile(qp_fn, backend="eager")(p2)
    torch.testing.assert_close(out, qp_fn(p1.detach()), rtol=0, atol=0)
    out.backward()
    torch.testing.assert_close(p2.grad, p1.grad, rtol=0, atol=0)


def test_ilp_module_takes_lists_and_empty_batches_are_empty():
    insts = mixed_ilps(9, ILP_SIZES[:4])
    c, A, b = (list(col) for col in zip(*insts))
    layer = dt.ILP("dbb", lambd=2.0, lb=0, ub=1)
    ys = layer(c, A, b)
    for y, ref in zip(ys, dt.ilp(c, A, b, method="dbb", lambd=2.0)):
        torch.testing.assert_close(y, ref, rtol=0, atol=0)
    # B = 0: empty outputs, no call
    r = nqp.solve_ragged(np.zeros(0, np.int32), None, None, None, np.zeros(0))
    assert r.x.shape == (0,) and r.status.shape == (0,)
    ri = nilp.solve_ragged([], None, np.zeros(0))
    assert ri.y.shape == (0,) and ri.status.shape == (0,)


def test_torch_qp_ragged_compiles_with_fullgraph():
    raw = mixed_qps(14, QP_SIZES[:5])
    n, m, k, *flat = flat_numpy(raw)
    nt, mt = torch.tensor(n), torch.tensor(m)
    k_ptr = torch.cat([torch.zeros(1, dtype=torch.int64), torch.cumsum(torch.tensor(k, dtype=torch.int64), 0)])

    def fn(Q, p, G, h, A, b):
        r = dt.qp_ragged(nt, mt, None, Q, p, G, h, A, b, k_ptr=k_ptr)
        return (r.x ** 2).sum() + r.lam.sum() + (r.nu * r.nu).sum()

    eager_in = [torch.tensor(a, requires_grad=True) for a in flat]
    comp_in = [torch.tensor(a, requires_grad=True) for a in flat]
    eager = fn(*eager_in)
    eager.backward()
    compiled = torch.compile(fn, fullgraph=True, backend="eager")(*comp_in)
    compiled.backward()
    # the compiled backward solves again: the solver is deterministic, so bitwise equal
    torch.testing.assert_close(compiled, eager, rtol=0, atol=0)
    for name, a, c in zip(nqp.PARAMETERS, eager_in, comp_in):
        torch.testing.assert_close(c.grad, a.grad, rtol=0, atol=0, msg=f"d{name}")


@pytest.mark.parametrize("method", ["combopt", "dbb"])
def test_torch_ilp_ragged_compiles_with_fullgraph(method):
    insts = mixed_ilps(15)
    c = torch.cat([ci for ci, _, _ in insts])
    A = torch.cat([Ai.reshape(-1) for _, Ai, _ in insts])
    b = torch.cat([bi for _, _, bi in insts])
    nt = torch.tensor([ci.shape[0] for ci, _, _ in insts])
    mt = torch.tensor([Ai.shape[0] for _, Ai, _ in insts])
    w = torch.randn(c.shape, generator=torch.Generator().manual_seed(1), dtype=F64)

    def fn(c, A, b):
        r = dt.ilp_ragged(nt, mt, c, A, b, lb=-1.0, ub=2.0, method=method, tau=0.3, lambd=3.0, return_status=True)
        return (r.y * w).sum() + r.obj.sum()

    eager_in = [t.clone().requires_grad_() for t in (c, A, b)]
    comp_in = [t.clone().requires_grad_() for t in (c, A, b)]
    eager = fn(*eager_in)
    eager.backward()
    compiled = torch.compile(fn, fullgraph=True, backend="eager")(*comp_in)
    compiled.backward()
    torch.testing.assert_close(compiled, eager, rtol=0, atol=0)
    for name, a, cc in zip("cAb", eager_in, comp_in):
        torch.testing.assert_close(cc.grad, a.grad, rtol=0, atol=0, msg=f"d{name}")


def test_qp_many_mixed_instances_with_infeasible_and_invalid_ones():
    # 3000 small instances; every 17th infeasible (x_0 <= -1 and -x_0 <= -1), every 23rd
    # with a NaN cost: they get their statuses, the others the numbers of a batch without them
    g = np.random.default_rng(30)
    B = 3000
    sizes = [(int(s), int(s), int(s) // 3) for s in g.integers(1, 7, B)]
    insts = [planted_qp(g, n, m, k, min(m, max(0, n - k - 1), 2)) for n, m, k in sizes]
    bad = {}
    for i in range(0, B, 17):
        Q, p, G, h, A, b = insts[i]
        n = p.shape[0]
        G2 = np.vstack([G, np.eye(1, n), -np.eye(1, n)])
        insts[i] = (Q, p, G2, np.concatenate([h, [-1.0, -1.0]]), A, b)
        bad[i] = int(dopt.InstanceStatus.PRIMAL_INFEASIBLE)
    for i in range(0, B, 23):
        if i in bad:
            continue
        Q, p, G, h, A, b = insts[i]
        insts[i] = (Q, np.full_like(p, np.nan), G, h, A, b)
        bad[i] = int(dopt.InstanceStatus.INVALID_DATA)
    n, m, k, *flat = flat_numpy(insts)
    r = nqp.solve_ragged(n, m, k, *flat)
    for i, status in bad.items():
        assert r.status[i] == status, i
    good = [i for i in range(B) if i not in bad]
    assert (r.status[good] == SOLVED).all()
    ng, mg, kg, *flat_g = flat_numpy([insts[i] for i in good])
    rg = nqp.solve_ragged(ng, mg, kg, *flat_g)
    keep = np.repeat(np.isin(np.arange(B), good), n)
    np.testing.assert_array_equal(r.x[keep], rg.x)


def test_torch_ilp_ragged_dtypes():
    """A and b that are differentiated must share c's dtype (TypeError); fixed
    (no grad) constraints of the other float dtype are data, solved in float64,
    and y comes back in c's dtype."""
    c = torch.tensor([-1.0, -2.0, -1.0, 3.0], dtype=torch.float32, requires_grad=True)
    A = torch.tensor([1.0, 1.0, 1.0, 1.0], dtype=torch.float64)  # two instances of n = 2, m = 1
    b = torch.tensor([1.0, 1.0], dtype=torch.float64)
    y = dt.ilp_ragged([2, 2], [1, 1], c, A, b)
    assert y.dtype == torch.float32
    assert torch.equal(y, torch.tensor([0.0, 1.0, 1.0, 0.0]))
    with pytest.raises(TypeError, match="A is torch.float64 but c is torch.float32"):
        dt.ilp_ragged([2, 2], [1, 1], c, A.clone().requires_grad_(), b)
