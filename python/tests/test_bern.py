"""dopt.bern: the Bernoulli surrogate against an independent enumeration,
the estimators against exact values within Monte-Carlo error, input forms
(dense / CSR, shared / batched, logits / probabilities), bad input, rounding."""
import itertools
import math

import numpy as np
import pytest

import dopt
from conftest import cuda_device_or_skip, requires_torch

bern = dopt.bern


def enumerate_reference(xhat, A, b, c, mu):
    """F(xhat) = c'xhat + mu E[sum_i max(a_i'x - b_i, 0)] and its gradient by
    summing over {0,1}^n with the product-Bernoulli density p(x):
    dp/dxhat_j = p(x) / xhat_j when x_j = 1, -p(x) / (1 - xhat_j) when 0.
    One instance, numpy float64."""
    n = xhat.shape[0]
    loss, grad = float(c @ xhat), c.astype(np.float64).copy()
    for bits in itertools.product((0.0, 1.0), repeat=n):
        x = np.array(bits)
        p = np.prod(np.where(x == 1, xhat, 1 - xhat))
        phi = np.maximum(A @ x - b, 0).sum()
        loss += mu * p * phi
        grad += mu * phi * np.where(x == 1, p / xhat, -p / (1 - xhat))
    return loss, grad


def random_problem(rng, B=4, m=3, n=5, sparsity=0.3):
    A = rng.normal(size=(B, m, n))
    A[rng.random(A.shape) < sparsity] = 0
    b = rng.normal(size=(B, m)) * 0.5
    c = rng.normal(size=(B, n))
    xhat = rng.uniform(0.05, 0.95, size=(B, n))
    return xhat, A, b, c


def test_exact_matches_independent_enumeration():
    rng = np.random.default_rng(1)
    xhat, A, b, c = random_problem(rng)
    res = bern.evaluate(xhat, A, b, c, estimator="exact", mu=2.5)
    assert res.status.tolist() == [0] * 4
    for i in range(4):
        loss, grad = enumerate_reference(xhat[i], A[i], b[i], c[i], 2.5)
        assert res.loss[i] == pytest.approx(loss, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(res.grad[i], grad, rtol=1e-11, atol=1e-12)
    assert np.all(res.loss_se == 0) and np.all(res.grad_se == 0)


@pytest.mark.parametrize("estimator", ["unbiased", "reinforce"])
def test_unbiased_estimators_within_monte_carlo_error(estimator):
    """Both are unbiased: the sample means lie within 5 reported standard
    errors of the exact values (a fixed seed, so the test is deterministic;
    at 5 sigma a correct estimator fails one of these 24 + 4 checks with
    probability ~2e-5)."""
    rng = np.random.default_rng(2)
    xhat, A, b, c = random_problem(rng)
    exact = bern.evaluate(xhat, A, b, c, estimator="exact")
    est = bern.evaluate(xhat, A, b, c, estimator=estimator, samples=4000, seed=7)
    assert np.all(est.status == 0)
    # (a coordinate whose column of A is zero has a constant estimate: standard error 0, exact value)
    assert np.all(est.loss_se > 0) and np.mean(est.grad_se > 1e-6) > 0.75
    assert np.all(np.abs(est.loss - exact.loss) <= 5 * est.loss_se)
    assert np.all(np.abs(est.grad - exact.grad) <= 5 * est.grad_se + 1e-12)
    # and the standard error really is sd / sqrt(K): quadrupling K halves it (within sampling noise)
    est4 = bern.evaluate(xhat, A, b, c, estimator=estimator, samples=16000, seed=8)
    noisy = est.grad_se > 1e-6
    ratio = est4.grad_se[noisy] / est.grad_se[noisy]
    assert np.all((ratio > 0.4) & (ratio < 0.6))


def test_unbiased_variance_below_reinforce():
    rng = np.random.default_rng(3)
    xhat, A, b, c = random_problem(rng)
    u = bern.evaluate(xhat, A, b, c, estimator="unbiased", samples=2000, seed=1)
    r = bern.evaluate(xhat, A, b, c, estimator="reinforce", samples=2000, seed=1)
    assert np.median(u.grad_se) < np.median(r.grad_se)


def _f1(x):
    return x * (1 - x) / (2 * x - 1) ** 2 * (math.log(2 - 2 * x) + 2 * x - 1)


def test_diffilo_mean_is_the_documented_shifted_derivative():
    """docs/BERNOULLI.md, 1-D with a > b > 0: E[g_diffilo] = a (f1'(xhat) + 1/2),
    not the true derivative a - b."""
    a, bb, x = 2.0, 1.3, 0.3
    h = 1e-5
    f1p = (_f1(x + h) - _f1(x - h)) / (2 * h)
    expected = a * (f1p + 0.5)
    res = bern.evaluate(np.array([[x]]), np.array([[[a]]]), np.array([[bb]]), estimator="diffilo",
                        samples=200000, seed=3)
    assert abs(res.grad[0, 0] - expected) <= 5 * res.grad_se[0, 0]
    assert abs(res.grad[0, 0] - (a - bb)) > 20 * res.grad_se[0, 0]
    exact = bern.evaluate(np.array([[x]]), np.array([[[a]]]), np.array([[bb]]), estimator="exact")
    assert exact.grad[0, 0] == pytest.approx(a - bb, rel=1e-14)


def test_logits_are_the_chain_rule_of_probabilities():
    rng = np.random.default_rng(4)
    _, A, b, c = random_problem(rng)
    z = rng.normal(size=(4, 5)) * 2
    p = 1 / (1 + np.exp(-z))
    for estimator in ("exact", "unbiased"):
        rz = bern.evaluate(z, A, b, c, logits=True, estimator=estimator, samples=256, seed=5)
        rp = bern.evaluate(p, A, b, c, estimator=estimator, samples=256, seed=5)
        np.testing.assert_allclose(rz.loss, rp.loss, rtol=1e-12)
        np.testing.assert_allclose(rz.grad, rp.grad * p * (1 - p), rtol=1e-12, atol=1e-15)
        if estimator == "unbiased":
            np.testing.assert_allclose(rz.grad_se, rp.grad_se * p * (1 - p), rtol=1e-12, atol=1e-15)


def logit_reference(z, A, b, c, mu):
    """F and dF/dz of one instance by enumeration from the logits z:
    P(x_j = 1) = 1 / (1 + e^-z), P(x_j = 0) = 1 / (1 + e^z) (neither formed
    as 1 minus the other), dF/dz_j = p_j q_j (c_j + mu E[phi | x_j = 1] -
    mu E[phi | x_j = 0]). Returns (loss, grad, scale): scale_j the size of
    the terms behind grad_j (a unit for its rounding error)."""
    n = z.shape[0]
    with np.errstate(over="ignore"):
        p, q = 1 / (1 + np.exp(-z)), 1 / (1 + np.exp(z))
    loss, acc, mag = float(c @ p), np.zeros(n), np.zeros(n)
    for bits in itertools.product((0.0, 1.0), repeat=n):
        x = np.array(bits)
        w = np.where(x == 1, p, q)
        phi = np.maximum(A @ x - b, 0).sum()
        loss += mu * np.prod(w) * phi
        for j in range(n):
            wj = np.prod(np.delete(w, j))
            acc[j] += phi * wj if x[j] == 1 else -phi * wj
            mag[j] += phi * wj
    return loss, p * q * (c + mu * acc), p * q * (np.abs(c) + mu * mag)


def test_saturated_logits_are_valid():
    """A finite logit of 40 is probability 1 in float64 (sigmoid rounds);
    the library takes it as the logit it is (it used to be status 5, and the
    binding clamped such logits to +-36): the loss and the gradient with
    respect to the logits match an enumeration from the logits, with the
    tiny but non-zero gradient through the saturated logit."""
    rng = np.random.default_rng(5)
    _, A, b, c = random_problem(rng, B=2)
    z = rng.normal(size=(2, 5))
    z[0, 1], z[1, 3] = 40.0, -1e6
    r = bern.evaluate(z, A, b, c, logits=True, estimator="exact", mu=1.5)
    assert r.status.tolist() == [0, 0]
    for i in range(2):
        loss, grad, scale = logit_reference(z[i], A[i], b[i], c[i], 1.5)
        assert r.loss[i] == pytest.approx(loss, rel=1e-12, abs=1e-12)
        assert np.all(np.abs(r.grad[i] - grad) <= 1e-12 * scale)
    assert 0 < abs(r.grad[0, 1]) < 1e-15  # p q ~ 4e-18 times an O(1) derivative
    assert r.grad[1, 3] == 0  # q = e^-1e6 underflows: no gradient at all
    # the sampled estimators agree with it within their standard errors
    for estimator in ("unbiased", "reinforce"):
        s = bern.evaluate(z, A, b, c, logits=True, estimator=estimator, mu=1.5, samples=4000, seed=3)
        assert s.status.tolist() == [0, 0]
        assert np.all(np.abs(s.grad - r.grad) <= 5 * s.grad_se + 1e-12)
    z32 = z.astype(np.float32)
    z32[0, 0] = 20.0  # beyond float32's saturation (16.6)
    r32 = bern.evaluate(z32, A.astype(np.float32), b.astype(np.float32), c.astype(np.float32), logits=True,
                        estimator="exact")
    assert r32.status.tolist() == [0, 0] and r32.grad.dtype == np.float32
    for i in range(2):
        _, grad, scale = logit_reference(z32[i].astype(np.float64), A[i].astype(np.float32).astype(np.float64),
                                         b[i].astype(np.float32).astype(np.float64),
                                         c[i].astype(np.float32).astype(np.float64), 1.0)
        assert np.all(np.abs(r32.grad[i] - grad) <= 2e-6 * scale + 1e-45)
    assert r32.grad[0, 0] != 0
    z[1, 0] = np.inf  # infinite logits stay invalid
    assert bern.evaluate(z, A, b, c, logits=True).status.tolist() == [0, 5]


def test_duplicate_csr_columns_are_invalid():
    """A row listing a column twice: that instance's status 5 (the estimators
    flip each entry on its own, which would give a wrong gradient); a scipy
    matrix has its duplicates summed before the call."""
    xhat = np.array([[0.3, 0.6, 0.4], [0.3, 0.6, 0.4], [0.5, 0.5, 0.5]])
    row_ptr = np.array([[0, 2, 3], [3, 5, 6], [6, 8, 9]], dtype=np.int64)
    col = np.array([2, 0, 1, 1, 1, 0, 0, 2, 1], dtype=np.int32)  # instance 1, row 0: column 1 twice
    vals = np.array([1.0, 2.0, -1.0, 2.0, -1.0, 1.0, 2.0, 1.0, -1.0])
    b = np.array([1.0, 0.0])
    for estimator in ("exact", "unbiased"):
        r = bern.evaluate(xhat, (row_ptr, col, vals), b, estimator=estimator, samples=16)
        assert r.status.tolist() == [0, 5, 0]
        assert np.all(np.isnan(r.grad[1])) and np.all(np.isfinite(r.grad[[0, 2]]))
    x, st = bern.round(xhat, (row_ptr, col, vals), b)
    assert st.tolist()[1] == 5
    sp = pytest.importorskip("scipy.sparse")
    summed = sp.csr_matrix((vals[3:6], col[3:6], row_ptr[1] - 3), shape=(2, 3))  # scipy keeps the duplicate ...
    dense = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # ... until summed: 2 - 1 = 1
    r1 = bern.evaluate(xhat[1], summed, b, estimator="exact")
    r2 = bern.evaluate(xhat[1], dense, b, estimator="exact")
    assert r1.status == 0
    np.testing.assert_allclose(r1.grad, r2.grad, rtol=1e-14)


def test_round_saturated_logits():
    """Rounding logits: at 0, for any finite logit; NaN and +-inf are invalid."""
    A, b, c = np.array([[1.0, 1.0, 1.0]]), np.array([2.0]), np.array([-1.0, -1.0, -1.0])
    z = np.array([[40.0, -1e6, 3.0], [1e300, 1e-300, -1e-300], [np.inf, 0.0, 0.0]])
    x, st = bern.round(z, A, b, c, logits=True)
    assert st.tolist() == [0, 0, 5]
    assert x[0].tolist() == [1.0, 0.0, 1.0] and x[1].tolist() == [1.0, 1.0, 0.0]
    x0, st0 = bern.round(np.array([[1.0, 0.0, 1.0]]), A, b, c)  # probabilities 0 and 1 round too
    assert st0.tolist() == [0] and x0[0].tolist() == [1.0, 0.0, 1.0]


def test_dense_and_csr_forms_identical():
    sp = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(6)
    xhat, A, b, c = random_problem(rng, B=3, m=4, n=6, sparsity=0.5)
    dense = bern.evaluate(xhat, A, b, c, samples=128, seed=9)
    lst = bern.evaluate(xhat, [sp.csr_matrix(a) for a in A], b, c, samples=128, seed=9)
    # the tuple form with absolute offsets, instances stored in reverse order in col_idx / values
    mats = [sp.csr_matrix(a) for a in A]
    order = [2, 1, 0]
    starts = np.cumsum([0] + [mats[i].nnz for i in order])
    offset = {i: starts[k] for k, i in enumerate(order)}
    row_ptr = np.stack([mats[i].indptr.astype(np.int64) + offset[i] for i in range(3)])
    col_idx = np.concatenate([mats[i].indices for i in order]).astype(np.int32)
    values = np.concatenate([mats[i].data for i in order])
    tup = bern.evaluate(xhat, (row_ptr, col_idx, values), b, c, samples=128, seed=9)
    for r in (lst, tup):
        np.testing.assert_array_equal(r.loss, dense.loss)
        np.testing.assert_array_equal(r.grad, dense.grad)
        np.testing.assert_array_equal(r.grad_se, dense.grad_se)
    # shared sparse A
    shared_dense = bern.evaluate(xhat, A[0], b, c, samples=128, seed=9)
    shared_csr = bern.evaluate(xhat, sp.csr_matrix(A[0]), b, c, samples=128, seed=9)
    np.testing.assert_array_equal(shared_dense.grad, shared_csr.grad)
    # duplicate entries in a scipy matrix are summed (the estimator needs one entry per column)
    coo = sp.coo_matrix((np.r_[A[0][A[0] != 0], 1.0, -1.0], (np.r_[np.nonzero(A[0])[0], 0, 0],
                                                               np.r_[np.nonzero(A[0])[1], 2, 2])), shape=(4, 6))
    dup = bern.evaluate(xhat, coo.tocsr(copy=True), b, c, samples=128, seed=9)
    np.testing.assert_allclose(dup.grad, shared_dense.grad, rtol=1e-12, atol=1e-12)


def test_shared_and_batched_identical():
    rng = np.random.default_rng(7)
    xhat, A, b, c = random_problem(rng)
    A1, b1, c1 = A[0], b[0], c[0]
    shared = bern.evaluate(xhat, A1, b1, c1, samples=64, seed=3)
    batched = bern.evaluate(xhat, np.broadcast_to(A1, A.shape), np.broadcast_to(b1, b.shape),
                            np.broadcast_to(c1, c.shape), samples=64, seed=3)
    lead1 = bern.evaluate(xhat, A1[None], b1[None], c1[None], samples=64, seed=3)
    for r in (batched, lead1):
        np.testing.assert_array_equal(r.loss, shared.loss)
        np.testing.assert_array_equal(r.grad, shared.grad)
    # no c is c = 0; no constraints is the linear loss alone
    noc = bern.evaluate(xhat, A, b, None, estimator="exact")
    zc = bern.evaluate(xhat, A, b, np.zeros_like(c), estimator="exact")
    np.testing.assert_array_equal(noc.grad, zc.grad)
    lin = bern.evaluate(xhat, None, None, c, estimator="exact")
    np.testing.assert_allclose(lin.loss, (c * xhat).sum(1), rtol=1e-14)
    np.testing.assert_array_equal(lin.grad, c)


def test_unbatched_input_and_float32():
    rng = np.random.default_rng(8)
    xhat, A, b, c = random_problem(rng)
    one = bern.evaluate(xhat[0], A[0], b[0], c[0], estimator="exact")
    assert one.loss.shape == () and one.grad.shape == (5,) and one.status.shape == ()
    full = bern.evaluate(xhat, A, b, c, estimator="exact")
    assert one.loss == pytest.approx(full.loss[0], rel=1e-14)
    f32 = bern.evaluate(*(a.astype(np.float32) for a in (xhat, A, b, c)), estimator="exact")
    assert f32.grad.dtype == np.float32
    np.testing.assert_allclose(f32.grad, full.grad, rtol=1e-4, atol=1e-5)
    # the call's dtype: float64 when any input is
    mixed = bern.evaluate(xhat.astype(np.float32), A, b, c, estimator="exact")
    assert mixed.grad.dtype == np.float64


def test_invalid_instances_get_status_5_and_the_others_are_unaffected():
    rng = np.random.default_rng(9)
    xhat, A, b, c = random_problem(rng, B=5)
    good = bern.evaluate(xhat, A, b, c, samples=64, seed=2)
    bad = xhat.copy()
    bad[1, 0] = 1.0      # probability outside (0, 1)
    bad[2, 3] = -0.1
    bad[3, 2] = np.nan
    res = bern.evaluate(bad, A, b, c, samples=64, seed=2)
    assert res.status.tolist() == [0, 5, 5, 5, 0]
    assert np.all(np.isnan(res.loss[1:4])) and np.all(np.isnan(res.grad[1:4]))
    for i in (0, 4):
        assert res.loss[i] == good.loss[i]
        np.testing.assert_array_equal(res.grad[i], good.grad[i])
    A2 = A.copy()
    A2[4, 0, 0] = np.inf  # non-finite data
    assert bern.evaluate(xhat, A2, b, c).status.tolist() == [0, 0, 0, 0, 5]
    # a bad column index in CSR form is that instance's status 5, not a crash
    row_ptr = np.array([[0, 1, 2], [2, 3, 4]], dtype=np.int64)
    col = np.array([0, 1, 1, 7], dtype=np.int32)
    vals = np.ones(4)
    r = bern.evaluate(xhat[:2, :3], (row_ptr, col, vals), np.ones((2, 2)))
    assert r.status.tolist() == [0, 5]


def test_bad_shapes_and_options_raise():
    rng = np.random.default_rng(10)
    xhat, A, b, c = random_problem(rng)
    cases = [
        dict(xhat=xhat[None], A=A, b=b, c=c),          # xhat 3-D
        dict(xhat=xhat, A=A[:, :, :4], b=b, c=c),      # A has the wrong n
        dict(xhat=xhat, A=A, b=b[:, :2], c=c),         # b has the wrong m
        dict(xhat=xhat, A=A[:3], b=b, c=c),            # batch sizes differ
        dict(xhat=xhat[0], A=A, b=b, c=c),             # batched A with unbatched xhat
        dict(xhat=xhat, A=A, b=None, c=c),             # A without b
        dict(xhat=xhat, A=A, b=b, c=c[:, :3]),         # c has the wrong n
        dict(xhat=xhat, A=A[0, 0], b=b, c=c),          # A 1-D
    ]
    for kw in cases:
        with pytest.raises(ValueError):
            bern.evaluate(kw.pop("xhat"), **kw)
    for opts in (dict(estimator="score"), dict(samples=0), dict(mu=0.0), dict(mu=float("inf")),
                 dict(estimator="reinforce", samples=1)):
        with pytest.raises(ValueError):
            bern.evaluate(xhat, A, b, c, **opts)
    with pytest.raises(ValueError, match="n <= 16"):
        bern.evaluate(np.full((1, 17), 0.5), np.ones((1, 17)), np.ones(1), estimator="exact")
    with pytest.raises(ValueError, match="row_ptr"):
        bern.evaluate(xhat[:, :3], (np.array([0, 1, 9]), np.zeros(2, np.int32), np.ones(2)), np.ones(2))
    with pytest.raises(ValueError, match="dtype"):
        bern.evaluate(xhat, A, b, c, dtype="float16")


def test_round_and_repair():
    # rounding gives [1, 1], violated; both flips repair it, the cheaper (c_j (1 - 2 x_j) smaller) wins
    x, st = bern.round(np.array([0.9, 0.8]), np.array([[1.0, 1.0]]), np.array([1.0]), np.array([-1.0, -2.0]))
    assert st == 0 and x.tolist() == [0.0, 1.0]
    # improving flips that keep feasibility: with c > 0 everything that can go to 0 does
    x, st = bern.round(np.array([0.9, 0.8]), np.array([[1.0, 1.0]]), np.array([1.0]), np.array([1.0, 2.0]))
    assert st == 0 and x.tolist() == [0.0, 0.0]
    # infeasible for every binary x: status 1
    x, st = bern.round(np.array([0.2]), np.array([[1.0]]), np.array([-1.0]))
    assert st == 1
    # batch: status 0 means feasible; invalid input is status 5 with x = 0
    rng = np.random.default_rng(11)
    xhat, A, b, c = random_problem(rng, B=6)
    b = np.abs(b) + 0.5
    xhat[5, 0] = 1.5
    x, st = bern.round(xhat, A, b, c)
    assert st[5] == 5 and np.all(x[5] == 0)
    ok = st == 0
    assert ok.sum() >= 3
    assert np.all(np.einsum("bmn,bn->bm", A[ok], x[ok]) <= b[ok] + 1e-12)
    assert set(np.unique(x)) <= {0.0, 1.0}
    # logits round at 0
    xl, stl = bern.round(np.log(xhat[:5] / (1 - xhat[:5])), A[:5], b[:5], c[:5], logits=True)
    np.testing.assert_array_equal(xl, x[:5])


def test_mu_schedule():
    assert bern.mu_schedule(0, 0.5, 2.0, 10.0) == 0.5
    assert bern.mu_schedule(3, 0.5, 2.0, 10.0) == 4.0
    assert bern.mu_schedule(10, 0.5, 2.0, 10.0) == 10.0
    assert bern.mu_schedule(-2, 0.5, 2.0, 10.0) == 0.5
    np.testing.assert_array_equal(bern.mu_schedule(np.arange(5), 1.0, 3.0, 50.0), [1, 3, 9, 27, 50])
    assert bern.default_options() == {"estimator": "unbiased", "samples": 64, "seed": 0, "mu": 1.0,
                                      "logits": False}


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
@requires_torch
def test_torch_tensors_in_torch_out():
    import torch
    rng = np.random.default_rng(12)
    xhat, A, b, c = random_problem(rng)
    ref = bern.evaluate(xhat, A, b, c, samples=32, seed=4)
    out = bern.evaluate(*(torch.tensor(a) for a in (xhat, A, b, c)), samples=32, seed=4)
    assert isinstance(out.loss, torch.Tensor) and out.status.dtype == torch.int32
    np.testing.assert_array_equal(out.grad.numpy(), ref.grad)
    # torch sparse CSR, batched (torch needs one nnz per instance: the same pattern) and shared
    At = torch.tensor(rng.normal(size=A.shape))
    pattern = torch.tensor(rng.random(A.shape[1:]) < 0.6)
    Ap = At * pattern
    dense_ref = bern.evaluate(torch.tensor(xhat), Ap, torch.tensor(b), torch.tensor(c), samples=32, seed=4)
    r2 = bern.evaluate(torch.tensor(xhat), Ap.to_sparse_csr(), torch.tensor(b), torch.tensor(c), samples=32, seed=4)
    np.testing.assert_array_equal(r2.grad.numpy(), dense_ref.grad.numpy())
    r3 = bern.evaluate(torch.tensor(xhat), Ap[0].to_sparse_csr(), torch.tensor(b), torch.tensor(c), samples=32,
                       seed=4)
    r3d = bern.evaluate(torch.tensor(xhat), Ap[0], torch.tensor(b), torch.tensor(c), samples=32, seed=4)
    np.testing.assert_array_equal(r3.grad.numpy(), r3d.grad.numpy())
    x, st = bern.round(torch.tensor(xhat), torch.tensor(A), torch.tensor(np.abs(b) + 0.5), torch.tensor(c))
    xn, stn = bern.round(xhat, A, np.abs(b) + 0.5, c)
    np.testing.assert_array_equal(x.numpy(), xn)
    np.testing.assert_array_equal(st.numpy(), stn)


def test_cuda_matches_cpu():
    device = cuda_device_or_skip()
    import torch
    rng = np.random.default_rng(13)
    xhat, A, b, c = random_problem(rng)
    ref = bern.evaluate(xhat, A, b, c, samples=64, seed=4)
    out = bern.evaluate(*(torch.tensor(a, device=device) for a in (xhat, A, b, c)), samples=64, seed=4)
    np.testing.assert_allclose(out.loss.cpu().numpy(), ref.loss, rtol=1e-10)
    np.testing.assert_allclose(out.grad.cpu().numpy(), ref.grad, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(out.status.cpu().numpy(), ref.status)


def test_constraints_without_entries():
    """m > 0 rows with no nonzeros (CSR nnz = 0): phi = sum_i max(-b_i, 0),
    a constant; the empty CSR arrays are not mistaken for missing ones."""
    xhat = np.full((2, 3), 0.4)
    empty = (np.zeros(3, np.int64), np.zeros(0, np.int32), np.zeros(0))
    b = np.array([-1.0, 0.5])
    for A in (empty, np.zeros((2, 3))):
        r = bern.evaluate(xhat, A, b, np.ones(3), estimator="exact")
        assert r.status.tolist() == [0, 0]
        np.testing.assert_allclose(r.loss, 1.2 + 1.0)
        np.testing.assert_array_equal(r.grad, np.ones((2, 3)))
