"""dopt.ilp, the numpy API of the ILP layer: exact solves against enumeration,
statuses, the backward rules against their documented definitions
(docs/ILP.md), SPO+, the perturbed optimizer, the origin helpers, and bad
input."""
import itertools
import math

import numpy as np
import pytest

import dopt
from dopt import ilp

from conftest import cuda_device_or_skip, requires_torch


def enumerate_ilp(c, A, b, lb, ub):
    """min c'y over integer y in [lb, ub] with A y <= b: (obj, y) or (inf, None)."""
    ranges = [range(int(math.ceil(lo)), int(math.floor(hi)) + 1) for lo, hi in zip(lb, ub)]
    pts = np.array(list(itertools.product(*ranges)), dtype=float)
    if A is not None and len(A):
        pts = pts[(pts @ A.T <= b + 1e-9).all(axis=1)]
    if len(pts) == 0:
        return math.inf, None
    values = pts @ c
    k = int(np.argmin(values))
    return values[k], pts[k]


def random_instances(rng, batch, n, m, lo=0, hi=1):
    c = rng.normal(size=(batch, n))
    A = rng.normal(size=(batch, m, n))
    b = rng.uniform(0.0, 1.5, size=(batch, m)) + np.abs(A).sum(axis=2) * 0.3 * (hi - lo)
    return c, A, b


@pytest.mark.parametrize("bounds", [(0, 1), (-2, 2)])
def test_solve_matches_enumeration(bounds):
    rng = np.random.default_rng(1)
    lo, hi = bounds
    c, A, b = random_instances(rng, 40, 5, 4, lo, hi)
    lb, ub = np.full(5, float(lo)), np.full(5, float(hi))
    r = ilp.solve(c, A, b, lb, ub)
    assert r.y.shape == (40, 5) and r.obj.shape == (40,) and r.status.dtype == np.int32
    assert r.nodes.dtype == np.int64 and (r.nodes >= 1).all()
    for i in range(40):
        obj, _ = enumerate_ilp(c[i], A[i], b[i], lb, ub)
        if obj == math.inf:
            assert r.status[i] == dopt.InstanceStatus.PRIMAL_INFEASIBLE
            continue
        assert r.status[i] == dopt.InstanceStatus.SOLVED
        assert abs(r.obj[i] - obj) <= 1e-9 * max(1, abs(obj))
        assert r.bound[i] == pytest.approx(r.obj[i], rel=1e-12, abs=1e-12)
        # y is an optimal point: integral, inside the box, feasible, of value obj
        y = r.y[i]
        np.testing.assert_array_equal(y, np.round(y))
        assert (y >= lo).all() and (y <= hi).all()
        assert (A[i] @ y <= b[i] + 1e-9).all()
        assert c[i] @ y == pytest.approx(obj, abs=1e-9)


def test_shared_inputs_and_shapes():
    rng = np.random.default_rng(2)
    c, A, b = random_instances(rng, 6, 4, 3)
    # one shared A, b for the batch: the same answers as repeating them
    shared = ilp.solve(c, A[0], b[0])
    repeated = ilp.solve(c, np.repeat(A[:1], 6, 0), np.repeat(b[:1], 6, 0))
    np.testing.assert_array_equal(shared.y, repeated.y)
    np.testing.assert_array_equal(shared.obj, repeated.obj)
    # batch size 1 counts as shared
    np.testing.assert_array_equal(ilp.solve(c, A[:1], b[:1]).y, shared.y)
    # no batch anywhere: no batch dimension in the outputs
    single = ilp.solve(c[0], A[0], b[0])
    assert single.y.shape == (4,) and np.ndim(single.obj) == 0 and np.ndim(single.status) == 0
    np.testing.assert_array_equal(single.y, shared.y[0])
    # shared c with per-instance constraints
    r = ilp.solve(c[0], A, b)
    assert r.y.shape == (6, 4)
    for i in range(6):
        np.testing.assert_array_equal(r.y[i], ilp.solve(c[0], A[i], b[i]).y)


def test_empty_batch():
    r = ilp.solve(np.zeros((0, 3)), np.zeros((2, 3)), np.ones(2))
    assert r.y.shape == (0, 3) and r.status.shape == (0,)
    g = ilp.backward(np.zeros((0, 3)), np.zeros((2, 3)), np.ones(2), y=r.y, status=r.status, dy=r.y)
    assert g["A"].shape == (2, 3) and (g["A"] == 0).all() and g["c"].shape == (0, 3)
    loss, dc = ilp.spo_plus(np.zeros((0, 3)), np.zeros((0, 3)))
    assert loss.shape == (0,) and dc.shape == (0, 3)


def test_unconstrained_scalar_bounds_and_float32():
    c = np.array([[1.0, -2.0, 0.5], [-1.0, -1.0, 3.0]])
    r = ilp.solve(c, lb=-3, ub=4)  # no A, b: each variable at the bound its cost prefers
    np.testing.assert_array_equal(r.y, [[-3, 4, -3], [4, 4, -3]])
    np.testing.assert_allclose(r.obj, (c * r.y).sum(1))
    # bounds are rounded inward to integers
    r = ilp.solve(np.array([1.0, -1.0]), lb=np.array([0.5, 0.0]), ub=np.array([2.0, 2.7]))
    np.testing.assert_array_equal(r.y, [1, 2])
    r32 = ilp.solve(c.astype(np.float32), lb=-3, ub=4)
    assert r32.y.dtype == np.float32 and r32.obj.dtype == np.float32
    np.testing.assert_array_equal(r32.y, [[-3, 4, -3], [4, 4, -3]])
    assert ilp.solve(c.astype(np.float32), lb=-3, ub=4, dtype="float64").y.dtype == np.float64


def test_infeasible_nan_and_absent_rows_leave_others_alone():
    rng = np.random.default_rng(3)
    c, A, b = random_instances(rng, 5, 4, 3)
    good = ilp.solve(c, A, b)
    assert (good.status == 0).all()
    c2, A2, b2 = c.copy(), A.copy(), b.copy()
    A2[1] = 0
    A2[1, 0, 0] = 1.0
    b2[1, 0] = -1.0  # y_0 <= -1 with y binary: infeasible
    c2[3, 2] = np.nan  # invalid data
    r = ilp.solve(c2, A2, b2)
    assert r.status.tolist() == [0, 1, 0, 5, 0]
    assert r.obj[1] == math.inf and (r.y[1] == 0).all()
    assert math.isnan(r.obj[3])
    for i in (0, 2, 4):
        np.testing.assert_array_equal(r.y[i], good.y[i])
        assert r.obj[i] == good.obj[i]
    # b_i = +inf switches the row off for that instance only
    b3 = b.copy()
    b3[0, :] = np.inf
    r = ilp.solve(c, A, b3)
    assert r.status[0] == 0
    np.testing.assert_array_equal(r.y[0], (c[0] < 0).astype(float))
    np.testing.assert_array_equal(r.y[1:], good.y[1:])
    # b = -inf is invalid data
    b4 = b.copy()
    b4[2, 1] = -np.inf
    assert ilp.solve(c, A, b4).status[2] == dopt.InstanceStatus.INVALID_DATA


def test_node_limit_gives_iteration_limit_with_a_valid_bound():
    rng = np.random.default_rng(4)
    n, m = 30, 20
    c = -rng.uniform(1, 2, size=(4, n))
    A = rng.uniform(0, 1, size=(4, m, n))
    b = A.sum(axis=2) * 0.37
    full = ilp.solve(c, A, b)
    assert (full.status == 0).all() and (full.nodes > 3).all()
    r = ilp.solve(c, A, b, node_limit=3)
    assert (r.status == dopt.InstanceStatus.ITERATION_LIMIT).all()
    assert (r.nodes <= 3).all()
    assert (r.bound <= full.obj + 1e-9).all()
    has = np.isfinite(r.obj)
    assert (r.obj[has] >= full.obj[has] - 1e-9).all()


# ---- backward rules ------------------------------------------------------------

def combopt_reference(A, b, c, lb, ub, y, dy, tau):
    """CombOptNet's backward of one instance as docs/ILP.md states it."""
    n, m = len(c), len(b)
    g = y - np.clip(y - dy, lb, ub)
    order = sorted(range(n), key=lambda j: -abs(g[j]))  # stable: lower index first among ties
    mags = [abs(g[j]) for j in order] + [0.0]
    dA, db, dc = np.zeros((m, n)), np.zeros(m), np.zeros(n)
    yk = y.copy()
    norms = np.linalg.norm(A, axis=1)
    for k in range(n):
        j = order[k]
        if g[j] == 0:
            break
        yk[j] -= np.sign(g[j])
        lam = mags[k] - mags[k + 1]
        if lam == 0 or (yk < lb).any() or (yk > ub).any():
            continue
        s = A @ yk - b
        if (s > 0).any():  # infeasible target: push the violated rows past it
            for i in np.nonzero((s > 0) & (norms > 0))[0]:
                na = norms[i]
                dA[i] += lam * (yk / na - s[i] * A[i] / na ** 3)
                db[i] += lam * (-1.0 / na)
        else:  # feasible target: pull the nearest rows (soft-min) toward y; the cost term
            sy = A @ y - b
            dist = np.where(norms > 0, np.abs(sy) / np.where(norms > 0, norms, 1), np.inf)
            if tau > 0:
                wts = np.exp(-(dist - dist.min()) / tau)
                wts[~np.isfinite(dist)] = 0
                wts /= wts.sum()
            else:
                wts = np.zeros(m)
                wts[int(np.argmin(dist))] = 1.0
            for i in range(m):
                if wts[i] == 0:
                    continue
                na = norms[i]
                dA[i] += lam * wts[i] * (-y / na - abs(sy[i]) * A[i] / na ** 3)
                db[i] += lam * wts[i] / na
            dc += lam * (yk - y)
    return dA, db, dc


@pytest.mark.parametrize("tau", [0.0, 0.5])
def test_combopt_matches_the_documented_rule(tau):
    rng = np.random.default_rng(5)
    B, n, m = 12, 5, 4
    c, A, b = random_instances(rng, B, n, m, -1, 2)
    lb, ub = np.full(n, -1.0), np.full(n, 2.0)
    r = ilp.solve(c, A, b, lb, ub)
    assert (r.status == 0).all()
    dy = rng.normal(size=(B, n)) * 1.5
    g = ilp.backward(c, A, b, lb, ub, y=r.y, status=r.status, dy=dy, method="combopt", tau=tau)
    assert g["A"].shape == A.shape and g["b"].shape == b.shape and g["c"].shape == c.shape
    for i in range(B):
        dA, db, dc = combopt_reference(A[i], b[i], c[i], lb, ub, r.y[i], dy[i], tau)
        np.testing.assert_allclose(g["A"][i], dA, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(g["b"][i], db, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(g["c"][i], dc, rtol=1e-10, atol=1e-12)
    assert np.abs(g["A"]).sum() > 0 and np.abs(g["c"]).sum() > 0
    # a shared A, b gets the batch sum of the per-instance gradients
    rs = ilp.solve(c, A[0], b[0], lb, ub)
    gs = ilp.backward(c, A[0], b[0], lb, ub, y=rs.y, status=rs.status, dy=dy, tau=tau)
    gr = ilp.backward(c, np.repeat(A[:1], B, 0), np.repeat(b[:1], B, 0), lb, ub, y=rs.y, status=rs.status, dy=dy,
                      tau=tau)
    assert gs["A"].shape == (m, n) and gs["b"].shape == (m,)
    np.testing.assert_allclose(gs["A"], gr["A"].sum(0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gs["b"], gr["b"].sum(0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gs["c"], gr["c"], rtol=1e-12, atol=1e-12)
    # wanted limits what is computed
    only_c = ilp.backward(c, A, b, lb, ub, y=r.y, status=r.status, dy=dy, tau=tau, wanted=("c",))
    assert set(only_c) == {"c"}
    np.testing.assert_array_equal(only_c["c"], g["c"])


def test_identity_and_dbb_match_their_definitions():
    rng = np.random.default_rng(6)
    B, n, m = 10, 6, 3
    c, A, b = random_instances(rng, B, n, m)
    r = ilp.solve(c, A, b)
    dy = rng.normal(size=(B, n))
    g = ilp.backward(c, A, b, y=r.y, status=r.status, dy=dy, method="identity")
    np.testing.assert_array_equal(g["c"], -dy)
    assert (g["A"] == 0).all() and (g["b"] == 0).all()
    for lambd in (0.5, 10.0):
        g = ilp.backward(c, A, b, y=r.y, status=r.status, dy=dy, method="dbb", lambd=lambd)
        shifted = ilp.solve(c + lambd * dy, A, b)
        np.testing.assert_allclose(g["c"], (shifted.y - r.y) / lambd, rtol=1e-15, atol=1e-15)
        assert (g["A"] == 0).all()
    assert np.abs(g["c"]).sum() > 0


def test_unsolved_instances_get_zero_and_nan_dy_gives_nan():
    rng = np.random.default_rng(7)
    c, A, b = random_instances(rng, 4, 4, 2)
    b[2] = -1.0
    A[2] = np.abs(A[2])  # A y <= -1 with y >= 0: infeasible
    r = ilp.solve(c, A, b)
    assert r.status[2] == dopt.InstanceStatus.PRIMAL_INFEASIBLE
    dy = rng.normal(size=(4, 4))
    dy[0, 1] = np.nan
    for method in ("combopt", "dbb", "identity"):
        g = ilp.backward(c, A, b, y=r.y, status=r.status, dy=dy, method=method)
        assert (g["c"][2] == 0).all() and (g["A"][2] == 0).all()
        assert np.isnan(g["c"][0]).all()
        assert np.isfinite(g["c"][[1, 3]]).all()


def test_perturbed_one_dimensional_closed_form():
    # n = 1, binary, no constraints: y(c + eps Z) = [c + eps Z < 0], so
    # y_eps = Phi(-c/eps) and dy_eps/dc = -phi(c/eps)/eps (docs/ILP.md)
    c = np.array([[-0.3], [0.0], [0.8]])
    eps, K = 0.7, 20000
    y_eps = ilp.perturbed(c, epsilon=eps, samples=K, seed=3)
    Phi = 0.5 * (1 + np.array([math.erf(-v / eps / math.sqrt(2)) for v in c[:, 0]]))
    # a mean of K Bernoulli(Phi) draws: standard error sqrt(Phi(1-Phi)/K) <= 0.0036; 5 of them
    np.testing.assert_allclose(y_eps[:, 0], Phi, atol=5 * np.sqrt(Phi * (1 - Phi) / K).max())
    r = ilp.solve(c)
    g = ilp.backward(c, y=r.y, status=r.status, dy=np.ones_like(c), method="perturbed", epsilon=eps, samples=K,
                     seed=3)
    phi = np.exp(-0.5 * (c[:, 0] / eps) ** 2) / math.sqrt(2 * math.pi)
    # the estimator mean_k Z_k y_k / eps: each term has |Z y / eps| variance <= E[Z^2]/eps^2 = 1/eps^2
    se = 1.0 / eps / math.sqrt(K)
    np.testing.assert_allclose(g["c"][:, 0], -phi / eps, atol=5 * se)


def test_perturbed_seed_is_deterministic_and_matters():
    rng = np.random.default_rng(8)
    c, A, b = random_instances(rng, 6, 5, 3)
    a = ilp.perturbed(c, A, b, epsilon=1.0, samples=7, seed=11)
    np.testing.assert_array_equal(a, ilp.perturbed(c, A, b, epsilon=1.0, samples=7, seed=11))
    assert not np.array_equal(a, ilp.perturbed(c, A, b, epsilon=1.0, samples=7, seed=12))
    # a mean of 7 binary vectors: multiples of 1/7 in [0, 1]
    np.testing.assert_allclose(a * 7, np.round(a * 7), atol=1e-12)
    # without noise scale the mean tends to the solution itself
    np.testing.assert_array_equal(ilp.perturbed(c, A, b, epsilon=1e-9, samples=3), ilp.solve(c, A, b).y)


def test_spo_plus_against_enumeration():
    rng = np.random.default_rng(9)
    B, n, m = 8, 5, 3
    _, A, b = random_instances(rng, B, n, m)
    c_true = rng.normal(size=(B, n))
    c_hat = rng.normal(size=(B, n))
    loss, dc = ilp.spo_plus(c_hat, c_true, A, b)
    lb, ub = np.zeros(n), np.ones(n)
    for i in range(B):
        z_true, y_star = enumerate_ilp(c_true[i], A[i], b[i], lb, ub)
        z_til, y_til = enumerate_ilp(2 * c_hat[i] - c_true[i], A[i], b[i], lb, ub)
        expected = -z_til + 2 * c_hat[i] @ y_star - z_true
        assert loss[i] == pytest.approx(expected, abs=1e-12)
        np.testing.assert_allclose(dc[i], 2 * (y_star - y_til), atol=1e-15)
    # given y_true: the same; zero loss at c_hat = c_true
    y_true = ilp.solve(c_true, A, b).y
    loss2, dc2 = ilp.spo_plus(c_hat, c_true, A, b, y_true=y_true)
    np.testing.assert_allclose(loss2, loss, atol=1e-12)
    np.testing.assert_array_equal(dc2, dc)
    loss0, _ = ilp.spo_plus(c_true, c_true, A, b)
    np.testing.assert_allclose(loss0, 0, atol=1e-12)
    assert (loss >= -1e-12).all()  # SPO+ >= 0
    # a NaN cost: that instance's loss and subgradient are NaN, the others unchanged
    c_bad = c_hat.copy()
    c_bad[3, 0] = np.nan
    lossb, dcb = ilp.spo_plus(c_bad, c_true, A, b)
    assert math.isnan(lossb[3]) and np.isnan(dcb[3]).all()
    keep = [i for i in range(B) if i != 3]
    np.testing.assert_array_equal(lossb[keep], loss[keep])


def test_origin_helpers():
    rng = np.random.default_rng(10)
    a, o = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4, 3))
    r = rng.normal(size=(2, 4))
    b = ilp.origin_to_b(a, r, o)
    np.testing.assert_allclose(b, r + (a * o).sum(-1), rtol=1e-14)
    np.testing.assert_allclose(ilp.origin_to_b(a[1], r[1], o[1]), b[1], rtol=1e-14)
    # the origin itself lies on its row's boundary shifted by r: a'(o - o) = 0 <= r
    dA, db = rng.normal(size=a.shape), rng.normal(size=r.shape)
    da, dr, do = ilp.origin_backward(a, o, dA, db)
    np.testing.assert_allclose(da, dA + db[..., None] * o, rtol=1e-14)
    np.testing.assert_array_equal(dr, db)
    np.testing.assert_allclose(do, db[..., None] * a, rtol=1e-14)
    da, dr, do = ilp.origin_backward(a, o, dA=dA)
    np.testing.assert_array_equal(da, dA)
    assert (dr == 0).all() and (do == 0).all()
    with pytest.raises(ValueError, match="o .* must have a's shape"):
        ilp.origin_to_b(a, r, o[:, :2])


@requires_torch
def test_tensors_in_tensors_out():
    import torch
    rng = np.random.default_rng(11)
    c, A, b = random_instances(rng, 3, 4, 2)
    r = ilp.solve(torch.from_numpy(c), torch.from_numpy(A), torch.from_numpy(b))
    assert isinstance(r.y, torch.Tensor) and r.status.dtype == torch.int32 and r.nodes.dtype == torch.int64
    np.testing.assert_array_equal(r.y.numpy(), ilp.solve(c, A, b).y)
    # a numpy array mixed into a torch call moves to its device
    r2 = ilp.solve(torch.from_numpy(c), A, b)
    assert isinstance(r2.y, torch.Tensor)
    # non-contiguous tensors are accepted (copied)
    ct = torch.from_numpy(c).t().contiguous().t()
    assert not ct.is_contiguous()
    r3 = ilp.solve(ct, torch.from_numpy(A), torch.from_numpy(b))
    torch.testing.assert_close(r3.y, r.y)
    g = ilp.backward(torch.from_numpy(c), torch.from_numpy(A), torch.from_numpy(b), y=r.y, status=r.status,
                     dy=torch.ones(3, 4, dtype=torch.float64), method="identity")
    assert isinstance(g["c"], torch.Tensor)
    with pytest.raises(ValueError, match="y must be where the problem's data are"):
        ilp.backward(torch.from_numpy(c), torch.from_numpy(A), torch.from_numpy(b), y=r.y.numpy(),
                     status=r.status, dy=torch.ones(3, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="CPU and on CUDA"):
        ilp.solve(torch.zeros(3, 4, device="meta"))
    da, dr, do = ilp.origin_backward(torch.from_numpy(A), torch.from_numpy(A), torch.from_numpy(A),
                                     torch.from_numpy(b))
    assert isinstance(da, torch.Tensor) and da.dtype == torch.float64


def test_bad_input_errors():
    c = np.zeros((3, 4))
    A, b = np.zeros((2, 4)), np.zeros(2)
    with pytest.raises(ValueError, match="c .* is required"):
        ilp.solve(None)
    with pytest.raises(ValueError, match="c must have 1 dimension"):
        ilp.solve(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="A and b come together"):
        ilp.solve(c, A)
    with pytest.raises(ValueError, match=r"A must be \(m, n\) with n = 4"):
        ilp.solve(c, np.zeros((2, 5)), b)
    with pytest.raises(ValueError, match="b must have m = 2 entries"):
        ilp.solve(c, A, np.zeros(3))
    with pytest.raises(ValueError, match="batch sizes differ"):
        ilp.solve(c, np.zeros((2, 2, 4)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="lb must have n = 4"):
        ilp.solve(c, A, b, lb=np.zeros(3))
    with pytest.raises(ValueError, match="node_limit"):
        ilp.solve(c, A, b, node_limit=-1)
    with pytest.raises(ValueError, match="time_limit"):
        ilp.solve(c, A, b, time_limit=-1)
    with pytest.raises(ValueError, match="n <= 256"):
        ilp.solve(np.zeros(300))
    with pytest.raises(ValueError, match="dtype"):
        ilp.solve(c, dtype="int32")
    r = ilp.solve(c, A, b)
    with pytest.raises(ValueError, match="method must be one of"):
        ilp.backward(c, A, b, y=r.y, status=r.status, dy=r.y, method="sgd")
    with pytest.raises(ValueError, match=r"dy must have shape \(3, 4\)"):
        ilp.backward(c, A, b, y=r.y, status=r.status, dy=np.zeros(4))
    with pytest.raises(ValueError, match="lambd"):
        ilp.backward(c, A, b, y=r.y, status=r.status, dy=r.y, method="dbb", lambd=0)
    with pytest.raises(ValueError, match="samples"):
        ilp.perturbed(c, A, b, samples=0)
    with pytest.raises(ValueError, match="c_true must have c_hat's shape"):
        ilp.spo_plus(c, c[0], A, b)
    # the library's own checks come back as dopt.Error with its message
    with pytest.raises(dopt.Error, match="batch \\* samples"):
        ilp.perturbed(np.zeros((1 << 22, 1)), samples=2000)


def test_cuda_matches_cpu():
    device = cuda_device_or_skip()
    import torch
    rng = np.random.default_rng(12)
    c, A, b = random_instances(rng, 64, 6, 4)
    cpu = ilp.solve(c, A, b)
    gpu = ilp.solve(*(torch.from_numpy(x).to(device) for x in (c, A, b)))
    assert gpu.y.device == device
    np.testing.assert_allclose(gpu.obj.cpu().numpy(), cpu.obj, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(gpu.status.cpu().numpy(), cpu.status)


def test_shortest_path_rows_force_flow_conservation():
    # Problem.shortest_path writes inflow - outflow <= rhs (one row per node);
    # the same optimum as the equalities written as two rows each, for any
    # costs (negative ones included), and every row is tight at the solution
    p = ilp.Problem.shortest_path((5, 5))
    assert p.A.shape == (25, 40) and p.sense == "min"
    rng = np.random.default_rng(13)
    c = rng.uniform(-1, 1, size=(30, 40))
    one = ilp.solve(c, p.A, p.b, 0, 1)
    two = ilp.solve(c, np.vstack([p.A, -p.A]), np.concatenate([p.b, -p.b]), 0, 1)
    assert (one.status == 0).all() and (two.status == 0).all()
    np.testing.assert_allclose(one.obj, two.obj, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(one.y @ p.A.T, np.broadcast_to(p.b, (30, 25)))
    # a knapsack is a max problem; Problem.solve returns the max objective
    k = ilp.Problem.knapsack([[2.0, 3.0, 4.0]], [5.0])
    r = k.solve(np.array([3.0, 4.0, 6.0]))
    assert r.obj == 7.0 and r.y.tolist() == [1.0, 1.0, 0.0]
