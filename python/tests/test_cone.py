"""dopt.cone (numpy) and dopt.torch.cone: closed-form answers, Clarabel's
solutions (the C tests' fixtures, tests/data/cone), an optional live
comparison with Clarabel (skipped without it), gradients against central
differences and torch.autograd.gradcheck, shared inputs, argument errors."""
import importlib.util
import os

import numpy as np
import pytest

import dopt
from conftest import requires_torch

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "cone")


def ball(c):
    """min c'x s.t. |x| <= 1: one second-order cone of size n + 1"""
    n = c.shape[-1]
    G = np.vstack([np.zeros((1, n)), -np.eye(n)])
    h = np.zeros(n + 1)
    h[0] = 1
    return G, h


def test_ball_closed_form_and_gradient():
    c = np.array([[1.0, -2.0, 2.0], [0.0, 3.0, -4.0]])
    G, h = ball(c)
    res = dopt.cone.solve(c, G, h, q=[4], record=True)
    assert res.status.tolist() == [0, 0]
    np.testing.assert_allclose(res.x, -c / np.linalg.norm(c, axis=1, keepdims=True), atol=1e-7)
    w = np.array([[0.3, -1.0, 0.5], [1.0, 0.0, 0.0]])
    g = dopt.cone.backward(res.tape, w)
    for i in range(2):  # dx/dc = -(I - x x')/|c|
        x = res.x[i]
        want = -(w[i] - x * (x @ w[i])) / np.linalg.norm(c[i])
        np.testing.assert_allclose(g["c"][i], want, atol=1e-6)
    assert g["G"].shape == G.shape and g["h"].shape == h.shape  # shared: summed over the batch
    assert g["A"] is None and g["b"] is None


def test_lambda_max_sdp():
    M = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]])
    res = dopt.cone.solve(np.array([1.0]), -dopt.cone.svec(np.eye(3))[:, None], -dopt.cone.svec(M), s=[3])
    assert res.status == 0
    assert abs(res.x[0] - np.linalg.eigvalsh(M).max()) < 1e-7


@pytest.mark.parametrize("family", ["socp", "sdp", "mixed"])
def test_against_clarabel_fixtures(family):
    z = np.load(os.path.join(DATA, family + ".npz"))
    res = dopt.cone.solve(z["c"], z["G"], z["h"], z["A"], z["b"], l=int(z["l"][0]), q=z["q"].tolist(),
                          s=z["s"].tolist(), tol=1e-10)
    assert (res.status == 0).all()
    np.testing.assert_allclose(res.x, z["x_ref"], atol=1e-6, rtol=1e-6)


@pytest.mark.skipif(importlib.util.find_spec("clarabel") is None, reason="clarabel is not installed")
def test_against_clarabel_live():
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
    import gen_cone_fixtures as gen
    rng = np.random.default_rng(7)
    l, q, s = 2, [3], [3]
    done = 0
    for _ in range(20):
        c, G, h, A, b = gen.instance(rng, 6, 1, l, q, s)
        x_ref, _, st = gen.clarabel_solve(c, G, h, A, b, l, q, s)
        x2, _, st2 = gen.clarabel_solve(c, G, h, A, b, l, q, s, 1e-12)
        if st != "Solved" or np.abs(x_ref - x2).max() > 1e-8:
            continue  # a degenerate optimum: x is not determined to 1e-6
        res = dopt.cone.solve(c, G, h, A, b, l=l, q=q, s=s, tol=1e-10)
        assert res.status == 0
        np.testing.assert_allclose(res.x, x_ref, atol=1e-6)
        done += 1
    assert done >= 3


def test_infeasible_unbounded_and_nan():
    G = np.array([[-1.0, 0.0], [0.0, 0.0], [-1.0, 0.0], [0.0, -1.0]])  # x0 >= 2 and |x| <= 1
    h = np.array([-2.0, 1.0, 0.0, 0.0])
    c = np.array([[1.0, 1.0], [np.nan, 1.0]])
    res = dopt.cone.solve(c, G, h, l=1, q=[3])
    assert res.status.tolist() == [1, 5]
    z = res.z[0]
    assert abs(h @ z + 1) < 1e-9 and np.abs(G.T @ z).max() < 1e-7
    res = dopt.cone.solve(np.array([-1.0]), np.array([[-1.0]]), np.array([0.0]), l=1)  # min -x, x >= 0
    assert res.status == 2 and abs(res.x[0] - 1) < 1e-9  # the recession direction, scaled to c'x = -1


def _svec(M):
    """the lower triangle column by column, off-diagonal entries times sqrt(2)"""
    n = M.shape[0]
    return np.array([M[i, j] * (1 if i == j else np.sqrt(2)) for j in range(n) for i in range(j, n)])


@pytest.mark.parametrize("cones,n,row", [({"q": [5]}, 5, np.eye(5)[0]), ({"s": [3]}, 6, _svec(np.eye(3)))])
def test_certificates_on_diverging_iterates(cones, n, row):
    """x in K with an equality no point of K meets (t = -1, trace = -1): every
    instance is infeasible whatever c. The iterates diverge and the step can
    fail just before the certificate's ratio reaches tol_inf; that must still
    end as 1 with a valid certificate, not as 4 (numerical). Then: min c'x
    over K with c outside K (= K*) is unbounded: status 2."""
    rng = np.random.default_rng(0)
    c = rng.standard_normal((200, n))
    A, b = row[None, :], np.array([-1.0])
    res = dopt.cone.solve(c, -np.eye(n), np.zeros(n), A, b, **cones)
    assert (res.status == 1).all(), np.unique(res.status, return_counts=True)
    for y, z in zip(res.y, res.z):  # A'y + G'z ~ 0 and b'y + h'z = -1 (h = 0)
        assert abs(b @ y + 1) < 1e-9 and np.abs(A.T @ y - z).max() < 1e-5
    def outside(ci):
        if "q" in cones:
            return ci[0] < np.linalg.norm(ci[1:])
        M = np.zeros((3, 3))
        t = 0
        for j in range(3):
            for i in range(j, 3):
                M[i, j] = M[j, i] = ci[t] / (1 if i == j else np.sqrt(2))
                t += 1
        return np.linalg.eigvalsh(M).min() < 0
    c = np.array([ci for ci in rng.standard_normal((600, n)) if outside(ci)][:200])
    res = dopt.cone.solve(c, -np.eye(n), np.zeros(n), **cones)
    assert (res.status == 2).all(), np.unique(res.status, return_counts=True)
    assert np.allclose(np.einsum("ij,ij->i", c, res.x), -1, atol=1e-9)


def test_empty_cone_rows_and_empty_batch():
    c = np.ones(2)
    A, b = np.ones((1, 2)), np.ones(1)
    with pytest.raises(ValueError, match="G must be"):  # no cone rows, but a G of another shape
        dopt.cone.solve(c, np.ones((4, 7)), np.ones(9), A, b)
    # an empty batch with a shared G: its gradient is the empty sum, zeros
    G, h = ball(c)
    res = dopt.cone.solve(np.zeros((0, 2)), G, h, q=[3], record=True)
    g = dopt.cone.backward(res.tape, np.zeros((0, 2)))
    assert g["c"].shape == (0, 2) and g["G"].shape == G.shape and not g["G"].any() and not g["h"].any()


def test_errors():
    c = np.ones(3)
    G, h = ball(c)
    with pytest.raises(ValueError, match="G must be"):
        dopt.cone.solve(c, G, h, q=[5])
    with pytest.raises(ValueError, match="every q, s >= 1"):
        dopt.cone.solve(c, G, h, q=[0])
    with pytest.raises(ValueError, match="A and b"):
        dopt.cone.solve(c, G, h, np.ones((1, 3)), None, q=[4])
    res = dopt.cone.solve(c, G, h, q=[4], record=True)
    with pytest.raises(ValueError, match="dx must have shape"):
        dopt.cone.backward(res.tape, np.ones(4))


@requires_torch
def test_torch_gradcheck():
    """min c'x s.t. |x - a| <= r, x_0 <= 2 (inactive): a non-degenerate optimum
    on a second-order cone's boundary with a P that is not 0 or I; gradcheck
    of x and z with respect to c, G and h."""
    import torch
    n = 3
    G = np.vstack([np.zeros((1, n)), -np.eye(n), np.eye(1, n)])
    h = np.array([1.5, -0.2, 0.4, -0.1, 2.0])  # (r, -a), then the orthant row x_0 <= 2
    c = np.array([0.7, -1.1, 0.4])
    # the orthant row comes first in dopt's order: move it there
    G = np.vstack([G[-1:], G[:-1]])
    h = np.concatenate([h[-1:], h[:-1]])
    ct, Gt, ht = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (c, G, h))

    def f(c_, G_, h_):
        out = dopt.torch.cone(c_, G_, h_, l=1, q=[4], tol=1e-10)
        return out.x, out.z

    # the forward is accurate to ~1e-10, so the numerical Jacobian carries
    # ~1e-10/eps of noise: eps = 1e-4 keeps that at 1e-6 (and the O(eps^2)
    # truncation of a smooth, well-conditioned problem below it)
    assert torch.autograd.gradcheck(f, (ct, Gt, ht), eps=1e-4, atol=1e-5, rtol=1e-4)


@requires_torch
def test_torch_batch_shared_and_dtype():
    import torch
    c = torch.tensor([[1.0, -2.0, 2.0], [0.0, 3.0, -4.0]], requires_grad=True)  # float32
    G, h = ball(c.detach().numpy())
    Gt = torch.tensor(G, dtype=torch.float32, requires_grad=True)
    out = dopt.torch.cone(c, Gt, torch.tensor(h, dtype=torch.float32), q=[4])
    assert out.x.dtype == torch.float32 and out.status.tolist() == [0, 0]
    out.x.sum().backward()
    assert c.grad.shape == (2, 3) and Gt.grad.shape == (4, 3)
    # the shared G's gradient is the sum of the per-instance ones
    g0 = torch.autograd.grad(dopt.torch.cone(c[:1], Gt, torch.tensor(h, dtype=torch.float32), q=[4]).x.sum(), Gt)[0]
    g1 = torch.autograd.grad(dopt.torch.cone(c[1:], Gt, torch.tensor(h, dtype=torch.float32), q=[4]).x.sum(), Gt)[0]
    torch.testing.assert_close(Gt.grad, g0 + g1, atol=1e-4, rtol=1e-4)
