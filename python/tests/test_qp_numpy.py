"""dopt.qp.solve / backward on numpy arrays (and CPU tensors for the
numpy-vs-torch check): KKT certificates, planted solutions, sharing, dtypes,
absent blocks, per-instance failures, copies of awkward inputs, bad shapes,
and gradients against central differences."""
import numpy as np
import pytest

import dopt
import dopt.qp as dqp
from conftest import HAVE_TORCH, requires_torch

SOLVED = dopt.InstanceStatus.SOLVED


def random_qp(rng, B, n, m, k, dtype=np.float64):
    """Random feasible instances: Q = LL'/n + I/2, a strictly feasible x0
    (G x0 < h, A x0 = b), random p (so some inequalities end up active)."""
    L = rng.standard_normal((B, n, n))
    Q = L @ L.transpose(0, 2, 1) / n + 0.5 * np.eye(n)
    p = rng.standard_normal((B, n)) * 3
    x0 = rng.standard_normal((B, n))
    G = rng.standard_normal((B, m, n))
    h = np.einsum("bmn,bn->bm", G, x0) + rng.uniform(0.1, 1.0, (B, m))
    A = rng.standard_normal((B, k, n))
    b = np.einsum("bkn,bn->bk", A, x0)
    return tuple(a.astype(dtype) for a in (Q, p, G, h, A, b))


def planted_qp(rng, B, n, m, k, active):
    """Instances with a known, strictly complementary solution: x*, the first
    `active` rows of G active with lam* in [0.5, 1.5], the others with slack in
    [0.5, 1.5], nu* random, and p = -(Q x* + G'lam* + A'nu*)."""
    L = rng.standard_normal((B, n, n))
    Q = L @ L.transpose(0, 2, 1) / n + 0.5 * np.eye(n)
    x = rng.standard_normal((B, n))
    G = rng.standard_normal((B, m, n))
    slack = rng.uniform(0.5, 1.5, (B, m))
    slack[:, :active] = 0
    h = np.einsum("bmn,bn->bm", G, x) + slack
    lam = np.zeros((B, m))
    lam[:, :active] = rng.uniform(0.5, 1.5, (B, active))
    A = rng.standard_normal((B, k, n))
    b = np.einsum("bkn,bn->bk", A, x)
    nu = rng.standard_normal((B, k))
    p = -(np.einsum("bij,bj->bi", Q, x) + np.einsum("bmn,bm->bn", G, lam) + np.einsum("bkn,bk->bn", A, nu))
    return (Q, p, G, h, A, b), (x, lam, nu)


def kkt_errors(Q, p, G, h, A, b, x, lam, nu):
    """Scaled KKT violations per instance (the measures the solver's own test
    uses, in the infinity norm): stationarity, primal (inequalities,
    equalities), complementarity, dual sign."""
    B, n = x.shape
    Qx = np.einsum("bij,bj->bi", Q, x) if Q is not None else np.zeros_like(x)
    Gl = np.einsum("bmn,bm->bn", G, lam) if G is not None else np.zeros_like(x)
    An = np.einsum("bkn,bk->bn", A, nu) if A is not None else np.zeros_like(x)
    scale_d = 1 + np.maximum.reduce([np.abs(Qx).max(1), np.abs(Gl).max(1), np.abs(An).max(1), np.abs(p).max(1)])
    stat = np.abs(Qx + p + Gl + An).max(1) / scale_d
    out = {"stationarity": stat}
    if G is not None:
        Gx = np.einsum("bmn,bn->bm", G, x)
        scale_p = 1 + np.maximum(np.abs(Gx).max(1), np.abs(h).max(1))
        out["inequalities"] = np.maximum(Gx - h, 0).max(1) / scale_p
        obj = np.abs(0.5 * np.einsum("bi,bi->b", x, Qx) + np.einsum("bi,bi->b", p, x))
        out["complementarity"] = np.abs(lam * (h - Gx)).max(1) / (1 + obj)
        out["dual_sign"] = np.maximum(-lam, 0).max(1)
    if A is not None:
        Ax = np.einsum("bkn,bn->bk", A, x)
        out["equalities"] = np.abs(Ax - b).max(1) / (1 + np.maximum(np.abs(Ax).max(1), np.abs(b).max(1)))
    return out


def assert_kkt(inputs, res, bound):
    errors = kkt_errors(*inputs, res.x, res.lam, res.nu)
    for what, err in errors.items():
        assert err.max() <= bound, f"{what}: {err.max():.3e} > {bound:.1e}"


# ---- solutions ----------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kkt_certificates_random(dtype):
    rng = np.random.default_rng(1)
    inputs = random_qp(rng, 16, 6, 9, 2, dtype)
    res = dqp.solve(*inputs)
    assert res.x.dtype == dtype and res.lam.dtype == dtype and res.status.dtype == np.int32
    assert res.x.shape == (16, 6) and res.lam.shape == (16, 9) and res.nu.shape == (16, 2)
    assert (res.status == SOLVED).all(), res.status
    # The solver stops at relative residuals <= tol (1e-8 / 1e-6 by default); the
    # returned point is the normalized iterate, whose measures here can differ
    # from the solver's by rounding only: 10x margin.
    bound = 1e-7 if dtype == np.float64 else 1e-3
    as64 = tuple(a.astype(np.float64) for a in inputs)
    assert_kkt(as64, type(res)(*(a.astype(np.float64) if a is not None and a.dtype != np.int32 else a
                                 for a in res)), bound)
    # some inequalities are active, some not: the test exercises both
    Gx = np.einsum("bmn,bn->bm", as64[2], res.x.astype(np.float64))
    assert ((as64[3] - Gx) < 1e-3).any() and ((as64[3] - Gx) > 1e-1).any()


def test_planted_solution_recovered():
    rng = np.random.default_rng(2)
    inputs, (x, lam, nu) = planted_qp(rng, 8, 5, 7, 2, active=2)
    res = dqp.solve(*inputs, tol=1e-11)
    assert (res.status == SOLVED).all()
    # strictly complementary, well-conditioned instances: the solution error is
    # of the order of the tolerance
    np.testing.assert_allclose(res.x, x, atol=1e-8)
    np.testing.assert_allclose(res.lam, lam, atol=1e-8)
    np.testing.assert_allclose(res.nu, nu, atol=1e-8)


def test_unbatched_inputs_give_unbatched_outputs():
    rng = np.random.default_rng(3)
    inputs = random_qp(rng, 1, 4, 5, 1)
    one = dqp.solve(*(a[0] for a in inputs))
    assert one.x.shape == (4,) and one.lam.shape == (5,) and one.nu.shape == (1,) and one.status.shape == ()
    batch = dqp.solve(*inputs)
    assert batch.x.shape == (1, 4)
    np.testing.assert_array_equal(one.x, batch.x[0])


def test_shared_and_batched_inputs_agree():
    rng = np.random.default_rng(4)
    B = 5
    Q, p, G, h, A, b = random_qp(rng, B, 5, 6, 2)
    Q1, G1, h1, A1, b1 = Q[0], G[0], h[0], A[0], b[0]
    shared = dqp.solve(Q1, p, G1, h1, A1, b1)
    expanded = dqp.solve(*(np.broadcast_to(a, (B,) + a.shape).copy() for a in (Q1,)), p,
                         *(np.broadcast_to(a, (B,) + a.shape).copy() for a in (G1, h1, A1, b1)))
    leading_one = dqp.solve(Q1[None], p, G1[None], h1[None], A1[None], b1[None])
    assert (shared.status == SOLVED).all()
    for other in (expanded, leading_one):
        for name in ("x", "lam", "nu", "status"):
            np.testing.assert_array_equal(getattr(shared, name), getattr(other, name))


def test_lp_without_Q():
    """Q = None is an LP: min p'x over a box and a random polytope."""
    rng = np.random.default_rng(5)
    B, n = 6, 4
    x0 = rng.uniform(-0.5, 0.5, (B, n))
    R = rng.standard_normal((B, 3, n))
    G = np.concatenate([np.broadcast_to(np.eye(n), (B, n, n)), -np.broadcast_to(np.eye(n), (B, n, n)), R], 1)
    h = np.concatenate([np.ones((B, 2 * n)), np.einsum("bmn,bn->bm", R, x0) + 0.5], 1)
    A = rng.standard_normal((B, 1, n))
    b = np.einsum("bkn,bn->bk", A, x0)
    p = rng.standard_normal((B, n))
    for Q in (None, np.zeros((0,)), np.zeros((B, 0, 0))):
        res = dqp.solve(Q, p, G, h, A, b)
        assert (res.status == SOLVED).all()
        assert_kkt((None, p, G, h, A, b), res, 1e-7)
    # and the LP optimum is that of a reference: a QP with Q = 0 (same thing)
    res0 = dqp.solve(np.zeros((n, n)), p, G, h, A, b)
    obj, obj0 = np.einsum("bi,bi->b", p, res.x), np.einsum("bi,bi->b", p, res0.x)
    np.testing.assert_allclose(obj, obj0, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("absent", [None, "empty"])
def test_absent_blocks(absent):
    rng = np.random.default_rng(6)
    Q, p, G, h, A, b = random_qp(rng, 4, 5, 6, 2)
    none = (lambda shape: None) if absent is None else (lambda shape: np.zeros(shape))
    # equalities only: x = Q^-1 (A'nu - p) with A x = b, a linear system
    res = dqp.solve(Q, p, none((0,)), none((0,)), A, b)
    assert (res.status == SOLVED).all() and res.lam.shape == (4, 0)
    K = np.zeros((4, 7, 7))
    K[:, :5, :5], K[:, :5, 5:], K[:, 5:, :5] = Q, A.transpose(0, 2, 1), A
    sol = np.linalg.solve(K, np.concatenate([-p, b], 1))
    np.testing.assert_allclose(res.x, sol[:, :5], atol=1e-8)
    np.testing.assert_allclose(res.nu, sol[:, 5:], atol=1e-8)
    # inequalities only
    res = dqp.solve(Q, p, G, h, none((4, 0, 5)), none((4, 0)))
    assert (res.status == SOLVED).all() and res.nu.shape == (4, 0)
    assert_kkt((Q, p, G, h, None, None), res, 1e-7)
    # neither: x = -Q^-1 p
    res = dqp.solve(Q, p, none((0, 5)), none((0,)))
    np.testing.assert_allclose(res.x, -np.linalg.solve(Q, p[..., None])[..., 0], atol=1e-8)


def test_inf_in_h_drops_the_row():
    rng = np.random.default_rng(7)
    Q, p, G, h, A, b = random_qp(rng, 3, 4, 5, 1)
    h_inf = h.copy()
    h_inf[:, 2] = np.inf
    res = dqp.solve(Q, p, G, h_inf, A, b)
    ref = dqp.solve(Q, p, np.delete(G, 2, 1), np.delete(h, 2, 1), A, b)
    assert (res.status == SOLVED).all()
    np.testing.assert_allclose(res.x, ref.x, atol=1e-8)
    assert np.all(np.abs(res.lam[:, 2]) <= 1e-8)


def test_infeasible_instance_others_solved():
    rng = np.random.default_rng(8)
    Q, p, G, h, A, b = random_qp(rng, 5, 4, 6, 1)
    ok = dqp.solve(Q, p, G, h, A, b)
    # instance 2: x_0 <= -1 and -x_0 <= -1 (x_0 >= 1): no feasible point
    G2, h2 = G.copy(), h.copy()
    G2[2, 0], h2[2, 0] = np.eye(4)[0], -1.0
    G2[2, 1], h2[2, 1] = -np.eye(4)[0], -1.0
    res = dqp.solve(Q, p, G2, h2, A, b)
    expected = np.full(5, SOLVED)
    expected[2] = dopt.InstanceStatus.PRIMAL_INFEASIBLE
    np.testing.assert_array_equal(res.status, expected)
    keep = [0, 1, 3, 4]
    np.testing.assert_array_equal(res.x[keep], ok.x[keep])
    np.testing.assert_array_equal(res.lam[keep], ok.lam[keep])
    # the certificate: lam >= 0 with G'lam + A'nu = 0 and h'lam + b'nu < 0
    lam, nu = res.lam[2], res.nu[2]
    assert (lam >= 0).all()
    assert h2[2] @ lam + b[2] @ nu < 0


@pytest.mark.parametrize("where", ["Q", "p", "G", "h", "A", "b"])
def test_nan_instance_invalid_data_others_unaffected(where):
    rng = np.random.default_rng(9)
    inputs = list(random_qp(rng, 4, 4, 5, 2))
    ok = dqp.solve(*inputs)
    i = "QpGhAb".index(where)
    inputs[i] = inputs[i].copy()
    inputs[i][1].flat[0] = np.nan
    res = dqp.solve(*inputs)
    assert res.status[1] == dopt.InstanceStatus.INVALID_DATA
    keep = [0, 2, 3]
    assert (res.status[keep] == SOLVED).all()
    for name in ("x", "lam", "nu"):
        np.testing.assert_array_equal(getattr(res, name)[keep], getattr(ok, name)[keep])


def test_not_psd_Q_is_invalid_data():
    rng = np.random.default_rng(10)
    Q, p, G, h, A, b = random_qp(rng, 3, 4, 5, 1)
    Q = Q.copy()
    Q[0] = -np.eye(4)
    res = dqp.solve(Q, p, G, h, A, b)
    assert res.status[0] == dopt.InstanceStatus.INVALID_DATA
    assert (res.status[1:] == SOLVED).all()


def test_iteration_limit_status():
    rng = np.random.default_rng(11)
    inputs = random_qp(rng, 3, 6, 9, 2)
    res = dqp.solve(*inputs, max_iter=1)
    assert (res.status == dopt.InstanceStatus.ITERATION_LIMIT).all()
    assert (res.iters == 1).all()


# ---- awkward inputs: copies -------------------------------------------------

def test_non_contiguous_and_wrong_dtype_inputs_are_copied():
    rng = np.random.default_rng(12)
    inputs = random_qp(rng, 4, 5, 6, 2)
    ref = dqp.solve(*inputs)
    # non-contiguous views with the same values
    fortran = [np.asfortranarray(a) for a in inputs]
    strided = []
    for a in inputs:
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],))
        big[..., ::2] = a
        strided.append(big[..., ::2])
    assert not strided[0].flags.c_contiguous and not fortran[0].flags.c_contiguous
    # float32 copies of float64 values with dtype=float64: convert on the way in
    as32 = [a.astype(np.float32) for a in inputs]
    ref32 = dqp.solve(*(a.astype(np.float64) for a in as32))
    for args, expect in ((fortran, ref), (strided, ref), (as32, ref32)):
        res = dqp.solve(*args, dtype="float64" if args is as32 else None)
        assert res.x.dtype == np.float64
        for name in ("x", "lam", "nu", "status"):
            np.testing.assert_array_equal(getattr(res, name), getattr(expect, name))
    # integer and list inputs: float64 (the default dtype when no input is floating)
    Q = np.eye(3, dtype=np.int64) * 2
    p = [1, -2, 0]
    res = dqp.solve(Q, p)
    assert res.x.dtype == np.float64
    np.testing.assert_allclose(res.x, [-0.5, 1.0, 0.0], atol=1e-10)


def test_mixed_float_dtypes_promote_to_float64():
    rng = np.random.default_rng(13)
    Q, p, G, h, A, b = random_qp(rng, 2, 3, 4, 1)
    res = dqp.solve(Q.astype(np.float32), p, G.astype(np.float32), h, A, b)
    assert res.x.dtype == np.float64
    ref = dqp.solve(Q.astype(np.float32).astype(np.float64), p, G.astype(np.float32).astype(np.float64), h, A, b)
    np.testing.assert_array_equal(res.x, ref.x)
    assert dqp.solve(*(a.astype(np.float32) for a in (Q, p, G, h, A, b))).x.dtype == np.float32


def test_empty_batch():
    Q = np.eye(3)
    res = dqp.solve(Q, np.zeros((0, 3)), np.ones((2, 3)), np.ones(2), record=True)
    assert res.x.shape == (0, 3) and res.lam.shape == (0, 2) and res.status.shape == (0,)
    grads = dqp.backward(res.tape, np.zeros((0, 3)))
    np.testing.assert_array_equal(grads["Q"], np.zeros((3, 3)))  # a shared input's sum over no instances
    assert grads["p"].shape == (0, 3)


# ---- bad input: clear exceptions ------------------------------------------------

@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(p=None), "p"),
    (lambda a: a.update(p=np.zeros((2, 0))), "p must hold n >= 1"),
    (lambda a: a.update(Q=np.zeros((2, 4, 3))), "Q must be"),
    (lambda a: a.update(Q=np.zeros((2, 2, 3, 3))), "Q must have 2 dimensions"),
    (lambda a: a.update(G=np.zeros((2, 4, 2))), "G must be"),
    (lambda a: a.update(h=np.zeros((2, 5))), "h must have m = 4"),
    (lambda a: a.update(h=None), "G and h come together"),
    (lambda a: a.update(A=None), "A and b come together"),
    (lambda a: a.update(b=np.zeros((2, 3))), "b must have k = 1"),
    (lambda a: a.update(p=np.zeros((3, 3))), "batch sizes differ"),
    (lambda a: a.update(p=np.float64(1.0)), "p must have 1 dimensions"),
])
def test_bad_shapes_raise_value_error(change, message):
    rng = np.random.default_rng(14)
    Q, p, G, h, A, b = random_qp(rng, 2, 3, 4, 1)
    args = dict(Q=Q, p=p, G=G, h=h, A=A, b=b)
    change(args)
    with pytest.raises(ValueError, match=message):
        dqp.solve(**args)


def test_bad_options_and_dtype():
    rng = np.random.default_rng(15)
    inputs = random_qp(rng, 2, 3, 4, 1)
    for kw in (dict(tol=-1.0), dict(tol=float("nan")), dict(max_iter=-2), dict(refine=-1)):
        with pytest.raises(ValueError, match="must be >= 0"):
            dqp.solve(*inputs, **kw)
    with pytest.raises(ValueError, match="float32 or float64"):
        dqp.solve(*inputs, dtype="float16")


def test_backward_bad_arguments():
    rng = np.random.default_rng(16)
    res = dqp.solve(*random_qp(rng, 2, 3, 4, 1), record=True)
    with pytest.raises(TypeError, match="tape"):
        dqp.backward(None, np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"dx must have shape \(2, 3\)"):
        dqp.backward(res.tape, np.ones((3,)))
    with pytest.raises(ValueError, match="dx is required"):
        dqp.backward(res.tape, None)
    with pytest.raises(ValueError, match="unknown parameters"):
        dqp.backward(res.tape, np.ones((2, 3)), wanted=("Q", "z"))


# ---- gradients ---------------------------------------------------------------------

def _loss(inputs, w, tol=1e-13):
    res = dqp.solve(*inputs, tol=tol)
    assert (res.status == SOLVED).all()
    return (w[0] * res.x).sum() + (w[1] * res.lam).sum() + (w[2] * res.nu).sum()


def test_backward_against_central_differences():
    """All six gradients (with incoming gradients on x, lam and nu) against
    central differences on planted, strictly complementary instances, where
    the solution is smooth in the data."""
    rng = np.random.default_rng(17)
    B, n, m, k = 2, 4, 5, 1
    inputs, _ = planted_qp(rng, B, n, m, k, active=2)
    w = (rng.standard_normal((B, n)), rng.standard_normal((B, m)), rng.standard_normal((B, k)))
    res = dqp.solve(*inputs, tol=1e-13, record=True)
    grads = dqp.backward(res.tape, *w)
    step = 1e-6
    for i, name in enumerate(dqp.PARAMETERS):
        fd = np.zeros_like(inputs[i])
        for idx in np.ndindex(*inputs[i].shape):
            plus = [a.copy() for a in inputs]
            minus = [a.copy() for a in inputs]
            plus[i][idx] += step
            minus[i][idx] -= step
            fd[idx] = (_loss(plus, w) - _loss(minus, w)) / (2 * step)
        if name == "Q":  # only Q's symmetric part enters the solve, so dQ is symmetric
            np.testing.assert_allclose(fd, fd.transpose(0, 2, 1), atol=2e-6)
        # central differences: O(step^2) truncation plus O(tol / step) from the
        # solves (1e-13 / 1e-6 = 1e-7)
        np.testing.assert_allclose(grads[name], fd, atol=2e-6, rtol=1e-5, err_msg=name)


def test_backward_shared_is_sum_and_wanted_subset():
    rng = np.random.default_rng(18)
    B = 4
    Q, p, G, h, A, b = random_qp(rng, B, 4, 5, 1)
    dx = rng.standard_normal((B, 4))
    shared = dqp.solve(Q[0], p, G[0], h[0], A[0], b[0], record=True)
    batched = dqp.solve(*(np.repeat(a[None], B, 0) for a in (Q[0],)), p,
                        *(np.repeat(a[None], B, 0) for a in (G[0], h[0], A[0], b[0])), record=True)
    gs = dqp.backward(shared.tape, dx)
    gb = dqp.backward(batched.tape, dx)
    for name in dqp.PARAMETERS:
        expect = gb[name] if name == "p" else gb[name].sum(0)
        assert gs[name].shape == expect.shape
        np.testing.assert_allclose(gs[name], expect, rtol=1e-12, atol=1e-12)
    only = dqp.backward(shared.tape, dx, wanted=("h",))
    assert set(only) == {"h"}
    np.testing.assert_array_equal(only["h"], gs["h"])
    # the tape can be used again
    np.testing.assert_array_equal(dqp.backward(shared.tape, dx)["G"], gs["G"])


def test_backward_unsolved_instances_zero_and_nan_incoming():
    rng = np.random.default_rng(19)
    Q, p, G, h, A, b = (a.copy() for a in random_qp(rng, 3, 4, 5, 1))
    p[1, 0] = np.nan
    res = dqp.solve(Q, p, G, h, A, b, record=True)
    assert res.status[1] == dopt.InstanceStatus.INVALID_DATA
    dx = rng.standard_normal((3, 4))
    grads = dqp.backward(res.tape, dx)
    for name in dqp.PARAMETERS:
        assert (grads[name][1] == 0).all(), name
        assert np.abs(grads[name][[0, 2]]).max() > 0, name
    dx[2, 1] = np.nan
    grads = dqp.backward(res.tape, dx)
    assert np.isnan(grads["p"][2]).all() and np.isfinite(grads["p"][0]).all()


# ---- numpy and torch CPU give the same bits ------------------------------------

@requires_torch
def test_numpy_and_torch_cpu_bitwise():
    import torch
    rng = np.random.default_rng(20)
    for dtype in (np.float64, np.float32):
        inputs = random_qp(rng, 6, 5, 7, 2, dtype)
        res_np = dqp.solve(*inputs, record=True)
        res_t = dqp.solve(*(torch.from_numpy(a) for a in inputs), record=True)
        assert isinstance(res_t.x, torch.Tensor)
        for name in ("x", "lam", "nu", "status", "iters"):
            np.testing.assert_array_equal(getattr(res_np, name), getattr(res_t, name).numpy())
        dx = rng.standard_normal((6, 5)).astype(dtype)
        g_np = dqp.backward(res_np.tape, dx)
        g_t = dqp.backward(res_t.tape, torch.from_numpy(dx))
        for name in dqp.PARAMETERS:
            np.testing.assert_array_equal(g_np[name], g_t[name].numpy())
        with pytest.raises(ValueError, match="where the solve ran"):
            dqp.backward(res_t.tape, dx)


def test_tape_cannot_be_copied_or_pickled():
    # a copy would share the library's tape: both copies would hand it to the
    # pool, two later solves would refill the same tape (wrong gradients for
    # the older one) and the pool would free it twice
    import copy
    import pickle
    r = dopt.qp.solve(np.eye(3), np.ones(3), record=True)
    for attempt in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(TypeError, match="Tape"):
            attempt(r.tape)
    g = dopt.qp.backward(r.tape, np.ones(3))
    np.testing.assert_allclose(g["p"], -np.ones(3), rtol=1e-12)


def test_float32_default_is_accurate_and_unreachable_tol_is_reduced_accuracy():
    """float32 at its default tolerance (1e-6) agrees with float64 to 1e-4
    (x, relative); a tolerance below float32's reach (1e-9) ends as
    SOLVED_REDUCED_ACCURACY (6), with a usable x, not as a failure."""
    rng = np.random.default_rng(15)
    Q, p, G, h, A, b = random_qp(rng, 16, 24, 24, 6)
    r64 = dqp.solve(Q, p, G, h, A, b)
    r32 = dqp.solve(*(a.astype(np.float32) for a in (Q, p, G, h, A, b)))
    assert (r64.status == SOLVED).all() and (r32.status == SOLVED).all()
    err = np.abs(r32.x - r64.x).max(axis=1) / np.abs(r64.x).max(axis=1)
    assert err.max() <= 1e-4, err.max()
    tight = dqp.solve(*(a.astype(np.float32) for a in (Q, p, G, h, A, b)), tol=1e-9)
    reduced = dopt.InstanceStatus.SOLVED_REDUCED_ACCURACY
    assert int(reduced) == 6 and dopt.instance_status_name(6) == "solved to reduced accuracy"
    assert (tight.status == reduced).all(), tight.status
    assert (tight.iters < 50).all()
    err = np.abs(tight.x - r64.x).max(axis=1) / np.abs(r64.x).max(axis=1)
    assert err.max() <= 1e-3, err.max()
