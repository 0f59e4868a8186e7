"""The QP layer's closest-feasible mode from Python: dopt.qp.solve(...,
closest_feasible=True) against Clarabel as the independent solver (both
phases: the least-norm shift, then the shifted QP), the optimality
conditions that characterize the closest-feasible point, and the torch
layer's gradients against torch.autograd.gradcheck (central differences)."""
import importlib.util

import numpy as np
import pytest

import dopt
import dopt.qp as dq

HAVE_CLARABEL = importlib.util.find_spec("clarabel") is not None and importlib.util.find_spec("scipy") is not None


def _random_batch(B, n=5, m=8, k=2, seed=0):
    """Odd instances infeasible: the last row contradicts the sum of the
    first three (G_7 = -(G_0 + G_1 + G_2), h_7 = -(h_0 + h_1 + h_2) - 1);
    even ones feasible (h > 0 admits x = 0 when b = 0)."""
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((B, n, n))
    Q = M @ M.transpose(0, 2, 1) / n + 0.1 * np.eye(n)
    p = rng.standard_normal((B, n))
    G = rng.standard_normal((B, m, n))
    h = 0.1 + rng.random((B, m))
    A = rng.standard_normal((B, k, n))
    b = np.zeros((B, k))
    for i in range(1, B, 2):
        G[i, -1] = -(G[i, 0] + G[i, 1] + G[i, 2])
        h[i, -1] = -(h[i, 0] + h[i, 1] + h[i, 2]) - 1
        b[i] = rng.standard_normal(k)  # the equalities move too
    return Q, p, G, h, A, b


def _violation(Q, p, G, h, A, b, x, lam, nu):
    """grad phi(x) = G'(Gx - h)_+ + A'(Ax - b) = 0 (x minimizes the squared
    violation, so the shift from x is the least one) and the shifted
    problem's KKT conditions with the returned lam >= 0, nu."""
    t = np.maximum(G @ x - h, 0)
    r = A @ x - b
    grad_phi = G.T @ t + A.T @ r
    stat = Q @ x + p + G.T @ lam + A.T @ nu
    comp = lam * (G @ x - h - t)
    return max(np.abs(grad_phi).max(), np.abs(stat).max(), np.abs(comp).max(), max(0.0, -lam.min()))


def _clarabel_qp(P, q, Aeq, beq, Ain, bin_):
    import clarabel
    import scipy.sparse as sp
    blocks, rhs, cones = [], [], []
    if Aeq is not None and Aeq.shape[0]:
        blocks.append(Aeq), rhs.append(beq), cones.append(clarabel.ZeroConeT(Aeq.shape[0]))
    if Ain is not None and Ain.shape[0]:
        blocks.append(Ain), rhs.append(bin_), cones.append(clarabel.NonnegativeConeT(Ain.shape[0]))
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.tol_gap_abs = settings.tol_gap_rel = settings.tol_feas = 1e-12
    sol = clarabel.DefaultSolver(sp.csc_matrix(np.triu(P)), q, sp.csc_matrix(np.vstack(blocks)),
                                 np.concatenate(rhs), cones, settings).solve()
    return np.array(sol.x), str(sol.status)


def _clarabel_closest(Q, p, G, h, A, b):
    """Phase 1 (least-norm shift) then the shifted QP, both by Clarabel; rows
    with a positive shift as equalities at h + t (they are tight on the
    shifted problem's feasible set)."""
    n, m, k = len(p), G.shape[0], A.shape[0]
    N = n + m + k
    P1 = np.zeros((N, N))
    P1[n:, n:] = np.eye(m + k)
    z, st1 = _clarabel_qp(P1, np.zeros(N), np.hstack([A, np.zeros((k, m)), -np.eye(k)]), b,
                          np.hstack([G, -np.eye(m), np.zeros((m, k))]), h)
    t, r = z[n:n + m], z[n + m:]
    eq = t > 1e-7
    x, st2 = _clarabel_qp(Q, p, np.vstack([A, G[eq]]), np.concatenate([b + r, (h + t)[eq]]), G[~eq], (h + t)[~eq])
    return x, t, st1, st2


def test_status_name():
    assert dopt.InstanceStatus.SOLVED_CLOSEST_FEASIBLE == 7


def test_mixed_batch_conditions_and_feasible_unchanged():
    Q, p, G, h, A, b = _random_batch(8)
    plain = dq.solve(Q, p, G, h, A, b)
    res = dq.solve(Q, p, G, h, A, b, closest_feasible=True)
    for i in range(8):
        if i % 2 == 0:
            assert plain.status[i] == 0 and res.status[i] == 0
            assert np.array_equal(plain.x[i], res.x[i]) and np.array_equal(plain.lam[i], res.lam[i])
        else:
            assert plain.status[i] == 1
            assert res.status[i] == dopt.InstanceStatus.SOLVED_CLOSEST_FEASIBLE
            # bound: phase 1 to 1e-10 and the shifted QP to 1e-8, relative, on data of size ~1-5
            assert _violation(Q[i], p[i], G[i], h[i], A[i], b[i], res.x[i], res.lam[i], res.nu[i]) < 1e-6


@pytest.mark.skipif(not HAVE_CLARABEL, reason="clarabel (and scipy) not installed: no independent solver")
def test_against_clarabel():
    Q, p, G, h, A, b = _random_batch(16, seed=3)
    res = dq.solve(Q, p, G, h, A, b, closest_feasible=True)
    compared = 0
    for i in range(1, 16, 2):
        x, t, st1, st2 = _clarabel_closest(Q[i], p[i], G[i], h[i], A[i], b[i])
        if st1 != "Solved" or st2 != "Solved":
            continue  # Clarabel, not dopt, gave up (the shifted QP has no interior)
        compared += 1
        assert res.status[i] == 7
        np.testing.assert_allclose(res.x[i], x, atol=1e-6)
        np.testing.assert_allclose(np.maximum(G[i] @ res.x[i] - h[i], 0), t, atol=1e-6)
    assert compared >= 6


def test_torch_gradcheck():
    torch = pytest.importorskip("torch")
    import dopt.torch  # noqa: F401
    # a triangle x1 >= 1, x2 >= 1.2, x1 + 1.1 x2 <= 1 and an inactive row: a
    # robust infeasibility, x differentiable in every input (docs/QP.md)
    F = torch.float64
    Q = torch.tensor([[1.0, 0.2], [0.2, 2.0]], dtype=F, requires_grad=True)
    p = torch.tensor([0.3, -0.2], dtype=F, requires_grad=True)
    G = torch.tensor([[-1.0, 0], [0, -1.0], [1, 1.1], [0.2, 1]], dtype=F, requires_grad=True)
    h = torch.tensor([-1.0, -1.2, 1, 10], dtype=F, requires_grad=True)

    def x_of(Q, p, G, h):
        res = dopt.torch.qp(Q, p, G, h, tol=1e-12, closest_feasible=True)
        assert int(res.status) == 7
        return res.x

    assert torch.autograd.gradcheck(x_of, (Q, p, G, h), eps=1e-6, atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="uniform"):
        dopt.torch.qp(Q, [p], G, h, closest_feasible=True)


def test_torch_compiled_operator():
    """the custom operators carry the mode (torch.compile's path)"""
    torch = pytest.importorskip("torch")
    import dopt.torch  # noqa: F401
    F = torch.float64
    Q, p = torch.eye(2, dtype=F), torch.tensor([0.0, -1.0], dtype=F)
    G, h = torch.tensor([[1.0, 0], [-1, 0]], dtype=F), torch.tensor([0.0, -1.0], dtype=F)
    x, _, _, status = torch.ops.dopt.qp_solve(Q, p, G, h, None, None, 0.0, 0.0, 0, 0, True)
    assert int(status) == 7 and torch.allclose(x, torch.tensor([0.5, 1.0], dtype=F), atol=1e-7)
    grads = torch.ops.dopt.qp_backward(Q, p, G, h, None, None, torch.tensor([1.0, 0], dtype=F), None, None,
                                       0.0, 0.0, 0, 0, True, [False, False, False, True, False, False])
    assert torch.allclose(grads[3], torch.tensor([0.5, -0.5], dtype=F), atol=1e-6)  # x1 = (h1 - h2) / 2
