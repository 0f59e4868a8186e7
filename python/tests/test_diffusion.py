"""dopt.diffusion against independent numpy implementations of the formulas
in docs/DIFFUSION.md: schedules, noising, DDPM / DDIM steps (with and
without guidance), SRG's eq. 19 targets, candidate selection, the exact
mixture score; argument checks."""
import math

import numpy as np
import pytest

import dopt
from conftest import cuda_device_or_skip, requires_torch

D = dopt.diffusion


# ---- numpy references ----------------------------------------------------------

def ref_linear(T):
    b0, b1 = 1e-4 * 1000 / T, min(0.02 * 1000 / T, 0.999)
    b0 = min(b0, b1)
    beta = np.full(T, b1) if T == 1 else b0 + (b1 - b0) * np.arange(T) / (T - 1)
    return np.concatenate([[1.0], np.cumprod(1 - beta)])


def ref_cosine(T, s=0.008):
    f = lambda t: math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    abar = [1.0]
    for t in range(1, T + 1):
        beta = min(1 - f(t) / f(0) / abar[-1], 0.999)
        abar.append(abar[-1] * (1 - beta))
    return np.array(abar)


def ref_guidance(A, b, c, xref, x, go, gc, lam):
    """gamma_o c .* sign(c .* (x - x*)) - gamma_c lam A' 1[A x < b], one row."""
    g = np.zeros_like(x)
    if xref is not None:
        g += go * c * np.sign(c * (x - xref))
    g -= gc * lam * A.T @ (A @ x < b).astype(float)
    return g


def milp_batch(rng, B=3, m=4, n=6, K=2):
    A = rng.integers(-2, 3, size=(B, m, n)).astype(np.float64)
    A[rng.random(A.shape) < 0.4] = 0
    b = rng.integers(-1, 3, size=(B, m)).astype(np.float64)
    c = rng.normal(size=(B, n))
    xref = rng.integers(0, 2, size=(B, n)).astype(np.float64)
    return A, b, c, xref


# ---- schedules and noise -------------------------------------------------------

@pytest.mark.parametrize("T", [1, 2, 50, 1000])
def test_schedules_match_documented_formulas(T):
    np.testing.assert_allclose(D.schedule(T, "linear"), ref_linear(T), rtol=1e-13, atol=0)
    np.testing.assert_allclose(D.schedule(T, "cosine"), ref_cosine(T), rtol=1e-12, atol=1e-300)
    if T == 1000:
        assert D.schedule(T)[-1] == pytest.approx(4.04e-5, rel=2e-3)  # documented abar_1000
    with pytest.raises(ValueError):
        D.schedule(T, "quadratic")


def test_schedule_bad_T():
    with pytest.raises(ValueError):
        D.schedule(0)


def test_noise_formula_and_determinism():
    rng = np.random.default_rng(0)
    x0 = rng.normal(size=(4000, 8))
    a = 0.37
    xt, eps = D.noise(x0, a, seed=5, step=3)
    np.testing.assert_allclose(xt, math.sqrt(a) * x0 + math.sqrt(1 - a) * eps, rtol=1e-14, atol=1e-14)
    # standard normal: mean and variance within 5 standard errors
    N = eps.size
    assert abs(eps.mean()) < 5 / math.sqrt(N)
    assert abs(eps.var() - 1) < 5 * math.sqrt(2 / N)
    # a pure function of (seed, row, step): the same rows in a smaller call, other seed / step differ
    _, eps_small = D.noise(x0[:3], 0.9, seed=5, step=3)
    np.testing.assert_array_equal(eps_small, eps[:3])
    assert not np.array_equal(D.noise(x0[:3], a, seed=6, step=3)[1], eps[:3])
    assert not np.array_equal(D.noise(x0[:3], a, seed=5, step=4)[1], eps[:3])
    # abar = 1: x_t = x0
    xt1, _ = D.noise(x0[:3], 1.0, seed=5)
    np.testing.assert_array_equal(xt1, x0[:3])
    # shapes: (n,), (batch, samples, n)
    assert D.noise(x0[0], a)[0].shape == (8,)
    x3, e3 = D.noise(x0[:6].reshape(2, 3, 8), a, seed=5, step=3)
    np.testing.assert_array_equal(e3.reshape(6, 8), eps[:6])
    for bad in (0.0, 1.5, float("nan")):
        with pytest.raises(ValueError):
            D.noise(x0, bad)


# ---- reverse steps ---------------------------------------------------------------

def _z(rows_x, seed, t):
    """The step's noise: the sampler's normals at (seed, row, t) are the ones
    noise() returns for step t (one Philox stream for both, docs/DIFFUSION.md)."""
    return D.noise(np.zeros_like(rows_x), 1.0, seed=seed, step=t)[1]


def ref_ddpm(x, eps, abar, t, z):
    alpha = abar[t] / abar[t - 1]
    beta = 1 - alpha
    mu = (x - beta / math.sqrt(1 - abar[t]) * eps) / math.sqrt(alpha)
    return mu if t == 1 else mu + math.sqrt(beta) * z


def ref_ddim(x, eps, abar, t, tp, eta, z):
    x0 = (x - math.sqrt(1 - abar[t]) * eps) / math.sqrt(abar[t])
    sigma = eta * math.sqrt((1 - abar[tp]) / (1 - abar[t])) * math.sqrt(1 - abar[t] / abar[tp])
    return math.sqrt(abar[tp]) * x0 + math.sqrt(max(1 - abar[tp] - sigma ** 2, 0)) * eps + sigma * z


@pytest.mark.parametrize("t", [1, 2, 37, 100])
def test_ddpm_step_matches_numpy(t):
    rng = np.random.default_rng(t)
    abar = D.schedule(100)
    x = rng.normal(size=(5, 7))
    eps = rng.normal(size=(5, 7))
    out = D.step(x, eps, abar, t, seed=9)
    np.testing.assert_allclose(out, ref_ddpm(x, eps, abar, t, _z(x, 9, t)), rtol=1e-12, atol=1e-12)
    assert not np.array_equal(out, x)  # not in place by default


@pytest.mark.parametrize("t,tp,eta", [(100, 80, 0.0), (100, 80, 0.5), (40, 0, 1.0), (3, 2, 1.0), (60, 0, 0.0)])
def test_ddim_step_matches_numpy(t, tp, eta):
    rng = np.random.default_rng(t + tp)
    abar = D.schedule(100, "cosine")
    x = rng.normal(size=(6, 5))
    eps = rng.normal(size=(6, 5))
    out = D.step(x, eps, abar, t, tp, sampler="ddim", eta=eta, seed=4)
    np.testing.assert_allclose(out, ref_ddim(x, eps, abar, t, tp, eta, _z(x, 4, t)), rtol=1e-12, atol=1e-12)


def test_guided_step_matches_numpy_and_rows_map_to_instances():
    rng = np.random.default_rng(3)
    B, K, m, n = 3, 4, 4, 6
    A, b, c, xref = milp_batch(rng, B, m, n)
    abar = D.schedule(50)
    x = rng.normal(size=(B * K, n)) + 0.5
    eps = rng.normal(size=(B * K, n))
    w = D.Guidance(gamma_o=0.7, gamma_c=1.3, lam=2.0)
    guide = D.Guide(A, b, c, xref)
    t = 20
    out = D.step(x, eps, abar, t, guide=guide, guidance=w, seed=2)
    z = _z(x, 2, t)
    expected = np.empty_like(x)
    for r in range(B * K):
        i = r // K
        g = ref_guidance(A[i], b[i], c[i], xref[i], x[r], *w)
        expected[r] = ref_ddpm(x[r], eps[r] + math.sqrt(1 - abar[t]) * g, abar, t, z[r])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    # (batch, samples, n) state gives the same rows
    out3 = D.step(x.reshape(B, K, n), eps.reshape(B, K, n), abar, t, guide=guide, guidance=w, seed=2)
    np.testing.assert_array_equal(out3.reshape(B * K, n), out)
    # without xref the O term is absent (defaults: gamma_o = 0)
    guide_no = D.Guide(A, b, c)
    out_no = D.step(x, eps, abar, t, guide=guide_no, seed=2)
    exp_no = np.stack([ref_ddpm(x[r], eps[r] + math.sqrt(1 - abar[t]) * ref_guidance(
        A[r // K], b[r // K], c[r // K], None, x[r], 0.0, 1.0, 1.0), abar, t, z[r]) for r in range(B * K)])
    np.testing.assert_allclose(out_no, exp_no, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="xref"):
        D.step(x, eps, abar, t, guide=guide_no, guidance=w)
    # eps_hat and x untouched unless inplace
    x_copy, eps_copy = x.copy(), eps.copy()
    D.step(x, eps, abar, t, guide=guide, guidance=w, seed=2)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(eps, eps_copy)
    ret = D.step(x, eps, abar, t, guide=guide, guidance=w, seed=2, inplace=True)
    assert ret is x
    np.testing.assert_array_equal(x, out)
    assert not np.array_equal(eps, eps_copy)  # the guidance was added to it
    with pytest.raises(ValueError, match="inplace"):
        D.step(x.astype(np.float32), eps, abar, t, inplace=True)


def test_shared_and_csr_guides_identical():
    sp = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(4)
    B, K, m, n = 2, 3, 5, 6
    A, b, c, xref = milp_batch(rng, B, m, n)
    x = rng.normal(size=(B * K, n))
    eps = rng.normal(size=(B * K, n))
    abar = D.schedule(30)
    w = D.Guidance(0.5, 1.0, 1.5)
    dense = D.step(x, eps, abar, 10, guide=D.Guide(A, b, c, xref), guidance=w, seed=1)
    lst = D.step(x, eps, abar, 10, guide=D.Guide([sp.csr_matrix(a) for a in A], b, c, xref), guidance=w, seed=1)
    np.testing.assert_array_equal(lst, dense)
    shared = D.step(x, eps, abar, 10, guide=D.Guide(A[0], b[0], c[0], xref[0]), guidance=w, seed=1)
    bcast = D.step(x, eps, abar, 10, guide=D.Guide(np.stack([A[0]] * B), np.stack([b[0]] * B),
                                                   np.stack([c[0]] * B), np.stack([xref[0]] * B)),
                   guidance=w, seed=1)
    np.testing.assert_array_equal(shared, bcast)
    sp_shared = D.step(x, eps, abar, 10, guide=D.Guide(sp.csr_matrix(A[0]), b[0], c[0], xref[0]), guidance=w,
                       seed=1)
    np.testing.assert_array_equal(sp_shared, shared)


def test_step_argument_checks():
    abar = D.schedule(10)
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match="DDPM"):
        D.step(x, x, abar, 5, 3)
    with pytest.raises(ValueError, match="t_prev"):
        D.step(x, x, abar, 11)
    with pytest.raises(ValueError, match="t_prev"):
        D.step(x, x, abar, 5, 5, sampler="ddim")
    with pytest.raises(ValueError, match="eta"):
        D.step(x, x, abar, 5, 2, sampler="ddim", eta=1.5)
    with pytest.raises(ValueError, match="sampler"):
        D.step(x, x, abar, 5, sampler="euler")
    with pytest.raises(ValueError, match="shape"):
        D.step(x, x[:3], abar, 5)
    guide = D.Guide(np.ones((1, 3)), np.ones(1), np.ones(3))
    with pytest.raises(ValueError, match="n = "):
        D.step(np.zeros((4, 2)), np.zeros((4, 2)), abar, 5, guide=guide)
    guide3 = D.Guide(np.ones((3, 1, 3)), np.ones((3, 1)), np.ones(3))
    with pytest.raises(ValueError, match="multiple"):
        D.step(x, x, abar, 5, guide=guide3)
    with pytest.raises(dopt.Error):  # the library's own check: abar[t] must be < 1
        D.step(x, x, np.ones(11), 5)


def test_guide_checks():
    A = np.ones((2, 3, 4))
    with pytest.raises(ValueError, match="batch sizes differ"):
        D.Guide(A, np.ones((3, 3)), np.ones(4))
    with pytest.raises(ValueError, match="b must be"):
        D.Guide(A, np.ones((2, 2)), np.ones(4))
    with pytest.raises(ValueError, match="c"):
        D.Guide(A, np.ones((2, 3)), None)
    with pytest.raises(ValueError, match="column indices"):
        D.Guide((np.array([0, 1]), np.array([5], np.int32), np.ones(1)), np.ones(1), np.ones(4))
    with pytest.raises(ValueError, match="xref"):
        D.Guide(A, np.ones(3), np.ones(4), xref=np.ones(5))


# ---- targets, guidance gradient, candidates -----------------------------------------

@pytest.mark.parametrize("round_", [True, False])
def test_srg_target_matches_eq19(round_):
    rng = np.random.default_rng(5)
    B, K, m, n = 3, 2, 4, 6
    A, b, c, xref = milp_batch(rng, B, m, n)
    xt = rng.normal(size=(B * K, n)) * 0.8 + 0.5
    eps = rng.normal(size=(B * K, n))
    w = D.Guidance(0.4, 0.9, 1.7)
    abar_t = 0.61
    guide = D.Guide(A, b, c, xref)
    out = D.srg_target(guide, xt, eps, abar_t, guidance=w, round=round_)
    expected = np.empty_like(xt)
    for r in range(B * K):
        i = r // K
        xr = np.floor(xt[r] + 0.5) if round_ else xt[r]
        expected[r] = eps[r] + math.sqrt(abar_t) * ref_guidance(A[i], b[i], c[i], xref[i], xr, *w)
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)
    G = D.guidance_gradient(guide, xt, guidance=w, round=round_)
    np.testing.assert_allclose(eps + math.sqrt(abar_t) * G, out, rtol=1e-13, atol=1e-13)
    with pytest.raises(ValueError, match="x\\*"):
        D.srg_target(D.Guide(A, b, c), xt, eps, abar_t)
    # guidance_gradient without xref: the P term alone
    G0 = D.guidance_gradient(D.Guide(A, b, c), xt)
    exp0 = np.stack([ref_guidance(A[r // K], b[r // K], c[r // K], None, xt[r], 0, 1, 1) for r in range(B * K)])
    np.testing.assert_allclose(G0, exp0, rtol=1e-13, atol=1e-13)


def test_candidates_follow_the_documented_order():
    # one instance, A x >= b with A = [1 1], b = 1, c = [1, 2]; six rows
    A = np.array([[1.0, 1.0]])
    b = np.array([1.0])
    c = np.array([1.0, 2.0])
    x = np.array([[0.2, 0.1],    # rounds to [0,0]: violation 1
                  [0.0, 1.0],    # feasible, objective 2
                  [1.0, 0.0],    # feasible, objective 1   <- best
                  [0.9, 0.2],    # rounds to [1,0]: same score as row 2, higher index
                  [np.nan, 0.0],  # NaN: worst
                  [-1.0, 0.0]])  # violation 2
    res = D.candidates(D.Guide(A, b, c), x)
    np.testing.assert_allclose(res.objective[:4], [0, 2, 1, 1])
    assert np.isnan(res.violation[4])
    np.testing.assert_allclose(res.violation[[0, 1, 2, 3, 5]], [1, 0, 0, 0, 2])
    assert res.best.tolist() == [2]
    np.testing.assert_array_equal(res.best_x, [[1.0, 0.0]])
    # without rounding row 3 is scored as is: violation 0 (0.9 + 0.2 >= 1), objective 1.3 > 1: row 2 still wins
    nr = D.candidates(D.Guide(A, b, c), x, round=False)
    assert nr.objective[3] == pytest.approx(1.3) and nr.best.tolist() == [2]
    # no feasible row: the smallest violation wins, then the objective
    res2 = D.candidates(D.Guide(A, b, c), x[[0, 4, 5]])
    assert res2.best.tolist() == [0]
    # feas_tol admits a small violation
    A2 = np.array([[1.0, 1.0]])
    x2 = np.array([[0.0, 0.0], [2.0, 2.0]])
    r3 = D.candidates(D.Guide(A2, np.array([0.5]), c), x2, round=False, feas_tol=0.5)
    assert r3.best.tolist() == [0]


def test_candidates_batch_against_numpy():
    rng = np.random.default_rng(6)
    B, K, m, n = 4, 5, 3, 5
    A, b, c, _ = milp_batch(rng, B, m, n)
    x = rng.normal(size=(B, K, n)) + 0.5
    res = D.candidates(D.Guide(A, b, c), x)
    assert res.objective.shape == (B, K) and res.best.shape == (B,) and res.best_x.shape == (B, n)
    xr = np.floor(x + 0.5)
    obj = np.einsum("bn,bkn->bk", c, xr)
    viol = np.maximum(b[:, None, :] - np.einsum("bmn,bkn->bkm", A, xr), 0).sum(-1)
    np.testing.assert_allclose(res.objective, obj, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(res.violation, viol, rtol=1e-13, atol=1e-13)
    for i in range(B):
        key = sorted(range(K), key=lambda k: (viol[i, k] > 1e-6, viol[i, k] if viol[i, k] > 1e-6 else 0,
                                               obj[i, k], k))
        assert res.best[i] == key[0]
        np.testing.assert_array_equal(res.best_x[i], xr[i, key[0]])


def test_mixture_eps_matches_numpy():
    rng = np.random.default_rng(7)
    n, K = 3, 2
    w = np.array([0.3, 0.7])
    means = rng.normal(size=(K, n))
    L = rng.normal(size=(K, n, n)) * 0.5
    covs = L @ L.transpose(0, 2, 1)
    x = rng.normal(size=(10, n))
    a = 0.45
    out = D.mixture_eps(w, means, covs, a, x)
    # eps = -sqrt(1 - a) grad log p_t, p_t = sum_k w_k N(sqrt(a) m_k, a S_k + (1 - a) I)
    C = a * covs + (1 - a) * np.eye(n)
    Ci = np.linalg.inv(C)
    d = x[:, None, :] - math.sqrt(a) * means[None]
    q = np.einsum("rki,kij,rkj->rk", d, Ci, d)
    logp = np.log(w)[None] - 0.5 * q - 0.5 * np.linalg.slogdet(C)[1][None]
    resp = np.exp(logp - logp.max(1, keepdims=True))
    resp /= resp.sum(1, keepdims=True)
    expected = math.sqrt(1 - a) * np.einsum("rk,kij,rkj->ri", resp, Ci, d)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    bad = covs.copy()
    bad[0, 0, 1] += 1
    with pytest.raises(dopt.Error, match="symmetric"):
        D.mixture_eps(w, means, bad, a, x)
    with pytest.raises(ValueError, match="means"):
        D.mixture_eps(w, means[:, :2], covs, a, x)


@requires_torch
def test_torch_tensors_in_torch_out():
    import torch
    rng = np.random.default_rng(8)
    B, K, m, n = 2, 3, 4, 5
    A, b, c, xref = milp_batch(rng, B, m, n)
    x = rng.normal(size=(B * K, n))
    eps = rng.normal(size=(B * K, n))
    abar = D.schedule(20)
    T = lambda a: torch.tensor(a)  # noqa: E731
    gn, gt = D.Guide(A, b, c, xref), D.Guide(T(A), T(b), T(c), T(xref))
    out = D.step(T(x), T(eps), T(abar), 7, guide=gt, seed=3)
    assert isinstance(out, torch.Tensor)
    np.testing.assert_array_equal(out.numpy(), D.step(x, eps, abar, 7, guide=gn, seed=3))
    np.testing.assert_array_equal(D.srg_target(gt, T(x), T(eps), 0.3).numpy(), D.srg_target(gn, x, eps, 0.3))
    cn, ct = D.candidates(gn, x), D.candidates(gt, T(x))
    np.testing.assert_array_equal(ct.best.numpy(), cn.best)
    np.testing.assert_array_equal(ct.best_x.numpy(), cn.best_x)
    xt, e = D.noise(T(x), 0.5, seed=1)
    np.testing.assert_array_equal(e.numpy(), D.noise(x, 0.5, seed=1)[1])
    # a numpy guide used with float32 tensors converts once
    o32 = D.step(T(x).float(), T(eps).float(), abar, 7, guide=gn, seed=3)
    assert o32.dtype == torch.float32
    np.testing.assert_allclose(o32.numpy(), out.numpy(), rtol=1e-4, atol=1e-4)
    me = D.mixture_eps(np.ones(1), np.zeros((1, n)), np.eye(n)[None], 0.5, T(x).float())
    assert me.dtype == torch.float32
    np.testing.assert_allclose(me.numpy(), math.sqrt(0.5) * x, rtol=1e-6, atol=1e-6)


def test_cuda_matches_cpu():
    device = cuda_device_or_skip()
    import torch
    rng = np.random.default_rng(9)
    B, K, m, n = 2, 3, 4, 5
    A, b, c, xref = milp_batch(rng, B, m, n)
    x = rng.normal(size=(B * K, n))
    eps = rng.normal(size=(B * K, n))
    abar = D.schedule(20)
    Tc = lambda a: torch.tensor(a, device=device)  # noqa: E731
    gc = D.Guide(Tc(A), Tc(b), Tc(c), Tc(xref))
    ref = D.step(x, eps, abar, 7, guide=D.Guide(A, b, c, xref), seed=3)
    out = D.step(Tc(x), Tc(eps), abar, 7, guide=gc, seed=3)
    np.testing.assert_allclose(out.cpu().numpy(), ref, rtol=1e-10, atol=1e-10)
    cn = D.candidates(D.Guide(A, b, c), x)
    cc = D.candidates(gc, Tc(x))
    np.testing.assert_array_equal(cc.best.cpu().numpy(), cn.best)


def test_guide_without_entries():
    """Rows of A with no nonzeros (an all-zero dense A): A x = 0, so b = 1 is
    violated by 1 per row whatever x is, and the guidance A' 1[...] is 0."""
    c = np.array([1.0, 2.0, 3.0])
    guide = D.Guide(np.zeros((2, 3)), np.ones(2), c)
    x = np.array([[0.2, 1.0, 0.0], [1.0, 1.0, 1.0]])
    eps = np.ones_like(x)
    abar = D.schedule(10)
    np.testing.assert_array_equal(D.step(x, eps, abar, 5, guide=guide, seed=1), D.step(x, eps, abar, 5, seed=1))
    res = D.candidates(guide, x)
    np.testing.assert_array_equal(res.violation, [2.0, 2.0])
    np.testing.assert_array_equal(res.objective, [2.0, 6.0])
    assert res.best.tolist() == [0]


def test_inplace_step_refuses_what_it_cannot_write():
    # inplace=True must write the caller's own memory or refuse: never a
    # read-only array, never a converted temporary copy of eps_hat
    rng = np.random.default_rng(12)
    A, b, c, xref = milp_batch(rng, 2, 3, 4)
    guide = D.Guide(A, b, c, xref)
    abar = D.schedule(10)
    x = rng.normal(size=(4, 4))
    eps = rng.normal(size=(4, 4))
    frozen = x.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        D.step(frozen, eps, abar, 5, inplace=True)
    with pytest.raises(ValueError, match="eps_hat"):
        D.step(x.copy(), eps.astype(np.float32), abar, 5, guide=guide, inplace=True)
    # the accepted case writes both: x the new state, eps_hat the guided noise
    x1, e1 = x.copy(), eps.copy()
    out = D.step(x1, e1, abar, 5, guide=guide, seed=2, inplace=True)
    expected = D.step(x, eps, abar, 5, guide=guide, seed=2)
    assert out is x1 and np.array_equal(x1, expected) and not np.array_equal(e1, eps)


@requires_torch
def test_inplace_step_on_tensors_is_visible_to_autograd():
    import torch
    x = torch.randn(4, 3, dtype=torch.float64)
    eps = torch.randn(4, 3, dtype=torch.float64)
    abar = D.schedule(10)
    before = x._version
    D.step(x, eps, abar, 5, inplace=True)
    assert x._version > before  # autograd refuses saved values the library overwrote
    leaf = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError, match="requires grad"):
        D.step(leaf, eps, abar, 5, inplace=True)
