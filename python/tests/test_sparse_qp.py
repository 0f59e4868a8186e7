"""dopt.qp.solve_sparse / backward_sparse / SparseStructure and
dopt.torch.sparse_qp: agreement with the dense layer (solutions and the
gradients on the pattern), structure reuse (bitwise), the input forms
(scipy, tuples, values with a structure), gradients against central
differences, bad input, and a CLI round trip through scipy.sparse.save_npz /
load_npz. In a build without a sparse QP layer (DOPT_ERR_UNSUPPORTED) every
test that solves is skipped, saying so."""

import os
import shutil
import subprocess

import numpy as np
import pytest

import dopt
import dopt.qp as qp
from conftest import requires_torch

sp = pytest.importorskip("scipy.sparse", reason="scipy is needed for these tests (python/requirements-test.txt)")

N, M, K, B = 9, 6, 2, 4


def _sparse_layer_or_skip():
    try:
        qp.SparseStructure((np.array([0, 1]), np.array([0]), (1, 1))).analyze()
    except dopt.Error as exc:
        if exc.status == 3:  # DOPT_ERR_UNSUPPORTED: a build without the sparse layer
            pytest.skip(f"the library has no sparse QP layer: {exc.message}")
        raise


@pytest.fixture
def problem_data():
    """A batch with shared sparse Q, A and per-instance G values on one
    pattern; tight h so that some inequalities are active."""
    rng = np.random.default_rng(19)
    band = sp.diags([rng.normal(size=N - 1) * 0.5, 3 + rng.random(N), rng.normal(size=N - 1) * 0.5], [-1, 0, 1])
    Q = sp.csr_matrix(band + band.T) / 2  # symmetric, diagonally dominant: positive definite
    G = sp.random(M, N, density=0.4, random_state=3, format="csr") + sp.eye(M, N, format="csr")
    G = G.tocsr()
    G.sum_duplicates()
    A = (sp.random(K, N, density=0.5, random_state=4, format="csr") + sp.eye(K, N, format="csr")).tocsr()
    A.sum_duplicates()
    Gv = G.data[None, :] * (1 + 0.2 * rng.normal(size=(B, G.nnz)))
    return {"Q": Q, "G": G, "A": A, "Gv": Gv, "p": 3 * rng.normal(size=(B, N)),
            "h": 0.1 + 0.4 * rng.random((B, M)), "b": 0.2 * rng.normal(size=K), "rng": rng}


@pytest.fixture
def problem(problem_data):
    """problem_data, for tests that solve: skipped without a sparse layer."""
    _sparse_layer_or_skip()
    return problem_data


def _dense_batch(pattern, values):
    """(B, rows, cols) dense matrices of a pattern and (B, nnz) values."""
    out = np.zeros((values.shape[0],) + pattern.shape)
    rows = np.repeat(np.arange(pattern.shape[0]), np.diff(pattern.indptr))
    out[:, rows, pattern.indices] = values
    return out


def _on_pattern(pattern, dense):
    rows = np.repeat(np.arange(pattern.shape[0]), np.diff(pattern.indptr))
    return dense[..., rows, pattern.indices]


# Agreement bound: both layers solve to tol=1e-10 (relative KKT residual and
# gap) on small well-conditioned instances, where solutions and adjoints
# move by a small multiple of that; 1e-6 is far above it and far below any
# real mistake (a lost entry, a transposed pattern, a wrong sign).
AGREE = 1e-6


def test_matches_dense_layer(problem):
    P = problem
    G_tuple = (P["G"].indptr, P["G"].indices, P["Gv"], P["G"].shape)
    res = qp.solve_sparse(P["Q"], P["p"], G_tuple, P["h"], P["A"], P["b"], tol=1e-10, record=True)
    dense = qp.solve(P["Q"].toarray(), P["p"], _dense_batch(P["G"], P["Gv"]), P["h"], P["A"].toarray(), P["b"],
                     tol=1e-10, record=True)
    assert np.all(res.status == 0) and np.all(dense.status == 0)
    assert (res.lam > 1e-6).any(), "no active inequality: the data do not exercise dG and dh"
    for name in ("x", "lam", "nu"):
        np.testing.assert_allclose(getattr(res, name), getattr(dense, name), rtol=AGREE, atol=AGREE, err_msg=name)
    dx = P["rng"].normal(size=(B, N))
    dlam = P["rng"].normal(size=(B, M))
    gs = qp.backward_sparse(res.tape, dx, dlam)
    gd = qp.backward(dense.tape, dx, dlam)
    assert gs["Q"].shape == (P["Q"].nnz,) and gs["G"].shape == (B, P["G"].nnz) and gs["A"].shape == (P["A"].nnz,)
    np.testing.assert_allclose(gs["Q"], _on_pattern(P["Q"], gd["Q"]), rtol=AGREE, atol=AGREE)
    np.testing.assert_allclose(gs["G"], _on_pattern(P["G"], gd["G"]), rtol=AGREE, atol=AGREE)
    np.testing.assert_allclose(gs["A"], _on_pattern(P["A"], gd["A"]), rtol=AGREE, atol=AGREE)
    for name in ("p", "h", "b"):
        np.testing.assert_allclose(gs[name], gd[name], rtol=AGREE, atol=AGREE, err_msg=name)
    # Q is stored with both triangles: its gradient is symmetric on the pattern
    dQ = sp.csr_matrix((gs["Q"], P["Q"].indices, P["Q"].indptr), shape=P["Q"].shape).toarray()
    np.testing.assert_allclose(dQ, dQ.T, rtol=AGREE, atol=AGREE)


def test_structure_reuse_is_bitwise(problem):
    P = problem
    G_tuple = (P["G"].indptr, P["G"].indices, P["Gv"], P["G"].shape)
    first = qp.solve_sparse(P["Q"], P["p"], G_tuple, P["h"], P["A"], P["b"], record=True)
    again = qp.solve_sparse(P["Q"].data, P["p"], P["Gv"], P["h"], P["A"].data, P["b"], structure=first.structure,
                            record=True)
    fresh = qp.SparseStructure(P["Q"], P["G"], P["A"])
    third = qp.solve_sparse(P["Q"], P["p"], G_tuple, P["h"], P["A"], P["b"], structure=fresh, record=True)
    for other in (again, third):
        for name in ("x", "lam", "nu", "status", "iters"):
            assert np.array_equal(getattr(first, name), getattr(other, name)), name
    dx = P["rng"].normal(size=(B, N))
    g1, g2 = qp.backward_sparse(first.tape, dx), qp.backward_sparse(again.tape, dx)
    for name in qp.PARAMETERS:
        assert np.array_equal(g1[name], g2[name]), name


def test_scipy_noncanonical_and_tuple_forms_agree(problem):
    """A scipy matrix with unsorted indices and a split entry is made
    canonical (values follow); the tuple form of the canonical matrix gives
    bitwise the same solve."""
    P = problem
    G0 = P["G"].copy()
    G0.data[0] = 0.75
    coo = G0.tocoo()
    rows = np.concatenate([coo.row[::-1], [coo.row[0]]])
    cols = np.concatenate([coo.col[::-1], [coo.col[0]]])
    vals = np.concatenate([coo.data[::-1], [0.25]])
    vals[len(coo.data) - 1] = 0.5  # 0.5 + 0.25 = 0.75 exactly
    messy = sp.csr_matrix((vals, (rows, cols)), shape=G0.shape)
    messy.has_sorted_indices = False
    a = qp.solve_sparse(P["Q"], P["p"], messy, P["h"][0], n=N)
    b = qp.solve_sparse((P["Q"].indptr, P["Q"].indices, P["Q"].data, P["Q"].shape), P["p"],
                        (G0.indptr, G0.indices, G0.data, G0.shape), P["h"][0])
    assert np.array_equal(a.x, b.x) and np.array_equal(a.status, b.status)


def test_lp_without_q(problem):
    """Q = None is an LP (n from the structure or n=); equals the dense LP."""
    P = problem
    G = P["G"]
    p = np.abs(P["p"][0]) + 0.1  # minimize over x >= -h-ish box: bounded
    Gbox = sp.vstack([G, -sp.eye(N)]).tocsr()
    hbox = np.concatenate([P["h"][0], np.ones(N)])
    res = qp.solve_sparse(None, p, Gbox, hbox, n=N, tol=1e-10)
    dense = qp.solve(None, p, Gbox.toarray(), hbox, tol=1e-10)
    assert res.status == dense.status == 0
    np.testing.assert_allclose(res.x, dense.x, rtol=AGREE, atol=AGREE)


def _loss(res, wx, wl):
    return float(np.sum(wx * res.x) + np.sum(wl * res.lam))


@requires_torch
def test_torch_gradients_against_central_differences(problem):
    """dopt.torch.sparse_qp's gradients with respect to the values of Q and G,
    and p, h, against central differences of the numpy solve. Step 1e-5
    with tol 1e-12: the differences' truncation error (O(step^2) times the
    third derivative) and the solver's (tol / step) are both about 1e-7, so
    3e-5 relative leaves room and still catches any wrong entry."""
    import torch
    import dopt.torch as dtorch
    P = problem
    structure = qp.SparseStructure(P["Q"], P["G"])
    Qv = torch.tensor(P["Q"].data, requires_grad=True)
    Gv = torch.tensor(P["Gv"], requires_grad=True)
    p = torch.tensor(P["p"], requires_grad=True)
    h = torch.tensor(P["h"], requires_grad=True)
    wx, wl = P["rng"].normal(size=(B, N)), P["rng"].normal(size=(B, M))
    out = dtorch.sparse_qp(Qv, p, Gv, h, structure=structure, tol=1e-12)
    assert torch.all(out.status == 0)
    (torch.sum(torch.tensor(wx) * out.x) + torch.sum(torch.tensor(wl) * out.lam)).backward()

    base = {"Q": P["Q"].data.copy(), "p": P["p"].copy(), "G": P["Gv"].copy(), "h": P["h"].copy()}

    def loss_at(values):
        res = qp.solve_sparse(values["Q"], values["p"], values["G"], values["h"], structure=structure, tol=1e-12)
        return _loss(res, wx, wl)

    step = 1e-5
    rng = np.random.default_rng(5)
    for name, grad in (("Q", Qv.grad), ("p", p.grad), ("G", Gv.grad), ("h", h.grad)):
        flat = base[name].reshape(-1)
        for idx in rng.choice(flat.size, size=min(6, flat.size), replace=False):
            plus = {key: v.copy() for key, v in base.items()}
            minus = {key: v.copy() for key, v in base.items()}
            plus[name].reshape(-1)[idx] += step
            minus[name].reshape(-1)[idx] -= step
            fd = (loss_at(plus) - loss_at(minus)) / (2 * step)
            analytic = grad.reshape(-1)[idx].item()
            assert abs(analytic - fd) <= 3e-5 * (1 + abs(fd)), (name, idx, analytic, fd)


@requires_torch
def test_torch_tuple_form_and_shared_gradient(problem):
    """A tuple with a values tensor (shared) gets the batch-summed gradient,
    equal to the sum of per-instance gradients of the batched values."""
    import torch
    import dopt.torch as dtorch
    P = problem
    G = P["G"]
    shared = torch.tensor(G.data, requires_grad=True)
    batched = torch.tensor(np.repeat(G.data[None], B, axis=0), requires_grad=True)
    p, h = torch.tensor(P["p"]), torch.tensor(P["h"])
    r1 = dtorch.sparse_qp(P["Q"], p, (G.indptr, G.indices, shared, G.shape), h)
    r1.x.sum().backward()
    r2 = dtorch.sparse_qp(P["Q"], p, batched, h, structure=r1.structure)
    r2.x.sum().backward()
    assert torch.equal(r1.x, r2.x)
    torch.testing.assert_close(shared.grad, batched.grad.sum(0), rtol=1e-12, atol=1e-12)


@requires_torch
def test_torch_sparse_tensors(problem):
    """torch sparse inputs: a 2-D CSR or COO tensor (values shared) and a 3-D
    batched CSR tensor (one pattern, values per instance) give bitwise the
    tuple form's solution, and their gradients reach the sparse tensors: the
    tuple form's values gradient, on the same entries. A batched CSR tensor
    whose instances differ in pattern is refused."""
    import warnings
    import torch
    import dopt.torch as dtorch
    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
    P = problem
    G = P["G"]
    p, h = torch.tensor(P["p"]), torch.tensor(P["h"])
    values = torch.tensor(P["Gv"], requires_grad=True)
    ref = dtorch.sparse_qp(P["Q"], p, (G.indptr, G.indices, values, G.shape), h)
    ref.x.sum().backward()
    dense = torch.tensor(_dense_batch(G, P["Gv"]))
    batched = dense.to_sparse_csr().requires_grad_()  # the same pattern in every instance: Gv is on G's pattern
    out = dtorch.sparse_qp(P["Q"], p, batched, h)
    out.x.sum().backward()
    assert torch.equal(out.x, ref.x) and torch.equal(out.status, ref.status)
    torch.testing.assert_close(batched.grad.values(), values.grad, rtol=0, atol=0)
    # 2-D CSR and COO: the values shared by the batch, the gradient summed over it
    shared_ref = torch.tensor(G.data, requires_grad=True)
    r0 = dtorch.sparse_qp(P["Q"], p, (G.indptr, G.indices, shared_ref, G.shape), h)
    r0.x.sum().backward()
    dense1 = torch.tensor(G.toarray())
    for layout in ("csr", "coo"):
        t = (dense1.to_sparse_csr() if layout == "csr" else dense1.to_sparse()).requires_grad_()
        r = dtorch.sparse_qp(P["Q"], p, t, h)
        r.x.sum().backward()
        assert torch.equal(r.x, r0.x), layout
        grad = t.grad.to_dense()[torch.tensor(G.toarray()) != 0]  # row-major order = CSR order
        torch.testing.assert_close(grad, shared_ref.grad, rtol=0, atol=0, msg=layout)
    # the numpy API takes them too (values detached there)
    res = qp.solve_sparse(P["Q"], P["p"], dense1.to_sparse_csr(), P["h"])
    np.testing.assert_array_equal(res.x, r0.x.detach().numpy())
    # one pattern per batch
    other = dense.clone()  # instance 1: one entry moved to a position outside G's pattern (same count)
    (r0, c0), (r1, c1) = np.argwhere(G.toarray() != 0)[0], np.argwhere(G.toarray() == 0)[0]
    other[1, r0, c0], other[1, r1, c1] = 0.0, 1.0
    with pytest.raises(ValueError, match="one sparsity pattern"):
        dtorch.sparse_qp(P["Q"], p, other.to_sparse_csr(), h)
    with pytest.raises(ValueError, match="must be 2-D"):
        dtorch.sparse_qp(P["Q"], p, dense.to_sparse(), h)
    with pytest.raises(ValueError, match="hybrid"):
        dtorch.sparse_qp(P["Q"], p, dense1[:, :, None].to_sparse_csr(dense_dim=1), h)


def _full_pattern(values):
    """(indptr, indices, per-instance values, shape) of a dense pattern,
    for (B, rows, cols) values."""
    pat = sp.csr_matrix(np.ones(values.shape[1:]))
    return pat.indptr, pat.indices, values.reshape(values.shape[0], -1), pat.shape


def _half_zero_family(rng, Bn=256, n=24, m=40, k=4):
    """Random G, A, x0 with h, b feasible at x0 and costs p; then half of
    G's rows zeroed (h = 1 there), so that many instances are unbounded.
    Returns G, h, A, b, p."""
    G = rng.normal(size=(Bn, m, n))
    A = rng.normal(size=(Bn, k, n))
    x0 = rng.normal(size=(Bn, n))
    h = np.einsum("bmn,bn->bm", G, x0) + rng.random((Bn, m))
    b = np.einsum("bkn,bn->bk", A, x0)
    p = 3 * rng.normal(size=(Bn, n))
    G[:, : m // 2] = 0
    h[:, : m // 2] = 1
    return G, h, A, b, p


def test_unbounded_lps_get_certificates(problem):
    """LPs (no Q: the dual normal equations' path) with half of G's rows
    zeroed, many of them unbounded: the sparse layer's statuses are the
    dense layer's on every instance, certificates included (with the
    path's regularization at 1e-8, 10 of 174 such unbounded LPs ended at
    the iteration limit or as numerical failures)."""
    rng = np.random.default_rng(5)
    G, h, A, b, p = _half_zero_family(rng)
    Bn, n = p.shape
    dense = qp.solve(np.zeros((Bn, n, n)), p, G, h, A, b, tol=1e-8)
    res = qp.solve_sparse(None, p, _full_pattern(G), h, _full_pattern(A), b, n=n, tol=1e-8)
    assert np.sum(dense.status == 2) > 20  # the family has many unbounded instances
    np.testing.assert_array_equal(res.status, dense.status)


@pytest.mark.parametrize("rank,seed", [(0, 5), (2, 5), (6, 5), (12, 6)])
def test_unbounded_qps_ldl_get_certificates(monkeypatch, rank, seed):
    """QPs with a full-pattern, singular PSD Q = B B'/r (rank r; r = 0: Q's
    values all zero, an LP on this path) on Kf's LDL' path, with half of G's
    rows zeroed so that most are unbounded: the sparse layer's statuses are
    the dense layer's on every unbounded instance. Before the LDL' path
    ordered Kf duals first (at delta 1e-10), refused wrong-signed pivots and
    refined its directions to eps^(2/3), 40 of these 1024 instances (24, 4,
    11, 1 per case) ended at the iteration limit where the dense layer
    certified unboundedness."""
    _sparse_layer_or_skip()
    monkeypatch.setenv("DOPT_SPARSE_QP_FACTOR", "ldl")
    rng = np.random.default_rng(seed)
    G, h, A, b, p = _half_zero_family(rng)
    Bn, n = p.shape
    Bm = rng.normal(size=(Bn, n, max(rank, 1)))
    Q = np.einsum("bnr,bmr->bnm", Bm, Bm) / max(rank, 1) if rank else np.zeros((Bn, n, n))
    dense = qp.solve(Q, p, G, h, A, b, tol=1e-8)
    res = qp.solve_sparse(_full_pattern(Q), p, _full_pattern(G), h, _full_pattern(A), b, tol=1e-8)
    S = dopt.InstanceStatus
    assert np.sum(dense.status == S.DUAL_INFEASIBLE) > 30  # most are unbounded
    certified = (dense.status == S.DUAL_INFEASIBLE) | (res.status == S.DUAL_INFEASIBLE)
    np.testing.assert_array_equal(res.status[certified], dense.status[certified])
    # the others are solved by both; a few (1 in 256 at rank 12) are nearly
    # unbounded (objective ~ -4e4, x not unique) and the sparse layer ends
    # them at SOLVED_REDUCED_ACCURACY, with the same objective
    solved = ~certified
    assert np.all(dense.status[solved] == S.SOLVED)
    assert np.all(np.isin(res.status[solved], [S.SOLVED, S.SOLVED_REDUCED_ACCURACY]))
    assert np.sum(res.status[solved] == S.SOLVED_REDUCED_ACCURACY) <= 1
    def objective(x):
        x = np.asarray(x)[solved]
        return 0.5 * np.einsum("bi,bij,bj->b", x, Q[solved], x) + np.einsum("bi,bi->b", p[solved], x)

    od, os_ = objective(dense.x), objective(res.x)
    assert np.max(np.abs(od - os_) / (1 + np.abs(od)), initial=0) < 1e-8


def test_bad_input(problem_data):
    """Checked in Python before the library is called (also without a sparse layer)."""
    P = problem_data
    G = P["G"]
    unsorted = (np.array([0, 2]), np.array([3, 1]), np.ones(2), (1, N))
    with pytest.raises(ValueError, match="strictly increasing"):
        qp.SparseStructure(P["Q"], unsorted)
    with pytest.raises(ValueError, match="indptr"):
        qp.SparseStructure(P["Q"], (np.array([0, 3, 2]), np.array([0, 1, 2]), (2, N)))
    with pytest.raises(ValueError, match=r"column indices must be in \[0"):
        qp.SparseStructure(P["Q"], (np.array([0, 1]), np.array([N]), (1, N)))
    with pytest.raises(ValueError, match="columns"):
        qp.SparseStructure(P["Q"], sp.eye(2, N + 1, format="csr"))
    with pytest.raises(TypeError, match="structure="):
        qp.solve_sparse(P["Q"].data, P["p"])
    s = qp.SparseStructure(P["Q"], G)
    with pytest.raises(ValueError, match="nnz"):
        qp.solve_sparse(P["Q"].data, P["p"], G.data[:-1], P["h"], structure=s)
    with pytest.raises(ValueError, match="batch sizes differ"):
        qp.solve_sparse(P["Q"].data, P["p"], np.ones((B + 1, G.nnz)), P["h"], structure=s)
    with pytest.raises(ValueError, match="pattern differs"):
        qp.solve_sparse(P["Q"], P["p"], sp.eye(M, N, format="csr"), P["h"], structure=s)
    with pytest.raises(ValueError, match="h is required"):
        qp.solve_sparse(P["Q"], P["p"], G, None)


def test_nan_values_mark_only_their_instance(problem):
    P = problem
    Gv = P["Gv"].copy()
    Gv[1, 0] = np.nan
    s = qp.SparseStructure(P["Q"], P["G"])
    res = qp.solve_sparse(P["Q"].data, P["p"], Gv, P["h"], structure=s)
    clean = qp.solve_sparse(P["Q"].data, P["p"], P["Gv"], P["h"], structure=s)
    assert res.status[1] == dopt.InstanceStatus.INVALID_DATA
    keep = [0, 2, 3]
    assert np.array_equal(res.x[keep], clean.x[keep]) and np.array_equal(res.status[keep], clean.status[keep])


def _cli():
    path = os.environ.get("DOPT_CLI") or shutil.which("dopt")
    if not path:
        pytest.skip("the dopt command is not available (set DOPT_CLI or install the package)")
    return path


def test_cli_round_trip_with_scipy_npz(problem, tmp_path):
    """DIR/Q.npz (compressed, scipy's csr_matrix) and G.npz (a csr_array,
    with scipy's _is_array key) through `dopt qp solve --dx`: x equals
    solve_sparse's, dQ.npz and dG.npz load with scipy.sparse.load_npz and
    equal backward_sparse's batch-summed gradients on the patterns."""
    cli = _cli()
    P = problem
    sp.save_npz(tmp_path / "Q.npz", P["Q"])
    sp.save_npz(tmp_path / "G.npz", sp.csr_array(P["G"]), compressed=False)
    np.save(tmp_path / "p.npy", P["p"])
    np.save(tmp_path / "h.npy", P["h"])
    dx = P["rng"].normal(size=(B, N))
    np.save(tmp_path / "dx.npy", dx)
    run = subprocess.run([cli, "qp", "solve", str(tmp_path), "--dx", str(tmp_path / "dx.npy"), "--tol", "1e-10"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    res = qp.solve_sparse(P["Q"], P["p"], P["G"], P["h"], tol=1e-10, record=True)
    np.testing.assert_allclose(np.load(tmp_path / "x.npy"), res.x, rtol=AGREE, atol=AGREE)
    grads = qp.backward_sparse(res.tape, dx)
    for name, pattern in (("Q", P["Q"]), ("G", P["G"])):
        loaded = sp.load_npz(tmp_path / f"d{name}.npz")
        assert loaded.format == "csr" and loaded.shape == pattern.shape
        assert np.array_equal(loaded.indptr, pattern.indptr) and np.array_equal(loaded.indices, pattern.indices)
        np.testing.assert_allclose(loaded.data, grads[name], rtol=AGREE, atol=AGREE, err_msg=name)
    np.testing.assert_allclose(np.load(tmp_path / "dp.npy"), grads["p"], rtol=AGREE, atol=AGREE)


def test_cli_refuses_csc_and_dense_twins(problem_data, tmp_path):
    """Input checks of the CLI (also without a sparse layer): a CSC archive
    and a matrix given both as .npy and .npz fail naming the files."""
    cli = _cli()
    P = problem_data
    np.save(tmp_path / "p.npy", P["p"])
    np.save(tmp_path / "h.npy", P["h"])
    sp.save_npz(tmp_path / "Q.npz", P["Q"])
    sp.save_npz(tmp_path / "G.npz", P["G"].tocsc())
    run = subprocess.run([cli, "qp", "solve", str(tmp_path), "--quiet"], capture_output=True, text=True)
    assert run.returncode != 0 and "G.npz" in run.stderr and "csc" in run.stderr
    sp.save_npz(tmp_path / "G.npz", P["G"])
    np.save(tmp_path / "G.npy", P["G"].toarray())
    run = subprocess.run([cli, "qp", "solve", str(tmp_path), "--quiet"], capture_output=True, text=True)
    assert run.returncode != 0 and "G.npz" in run.stderr and "G.npy" in run.stderr
    assert not (tmp_path / "x.npy").exists()


def test_redundant_equalities_ldl(monkeypatch):
    """LPs with a rank-deficient A (one row the sum of two others) and
    variables that only the equalities and inactive bounds touch, on Kf's
    LDL' path: there A H^-1 A' is nearly singular and y's pivots are
    ~delta, where rounding can flip a sign in the duals-first order (the
    inertia check then raises delta). The statuses, iteration counts and
    objectives must still be the dense layer's."""
    _sparse_layer_or_skip()
    monkeypatch.setenv("DOPT_SPARSE_QP_FACTOR", "ldl")
    rng = np.random.default_rng(1)
    Bn, n, m, k = 128, 30, 20, 6
    G = rng.normal(size=(Bn, m, n))
    G[:, :, n - 6:] = 0  # the last 6 variables: only in A and their bounds
    x0 = rng.random((Bn, n))
    A = rng.normal(size=(Bn, k, n))
    A[:, k - 1] = A[:, 0] + A[:, 1]
    h = np.einsum("bmn,bn->bm", G, x0) + rng.random((Bn, m))
    b = np.einsum("bkn,bn->bk", A, x0)
    eye = np.broadcast_to(np.eye(n), (Bn, n, n))
    G = np.concatenate([G, eye, -eye], 1)  # boxes x0 - 1 <= x <= x0 + 1: bounded
    h = np.concatenate([h, x0 + 1, 1 - x0], 1)
    p = rng.normal(size=(Bn, n))
    dense = qp.solve(np.zeros((Bn, n, n)), p, G, h, A, b, tol=1e-8)
    res = qp.solve_sparse(None, p, _full_pattern(G), h, _full_pattern(A), b, n=n, tol=1e-8)
    np.testing.assert_array_equal(res.status, dense.status)
    assert np.all(dense.status == 0)
    assert np.all(np.abs(res.iters - dense.iters) <= 1), (res.iters, dense.iters)
    obj_d, obj_s = np.einsum("bn,bn->b", p, dense.x), np.einsum("bn,bn->b", p, res.x)
    np.testing.assert_allclose(obj_s, obj_d, rtol=1e-6, atol=1e-6)


def _mis_relaxation(rng, nodes, edge_prob, gamma=0.1):
    """The gamma-regularized LP relaxation of maximum independent set on a
    random graph: min gamma/2 |x|^2 - w'x s.t. x_u + x_v <= 1 per edge,
    0 <= x <= 1 (a different pattern per graph)."""
    upper = np.triu(rng.random((nodes, nodes)) < edge_prob, 1)
    u, v = np.nonzero(upper)
    E = len(u)
    rows = np.concatenate([np.repeat(np.arange(E), 2), E + np.arange(nodes), E + nodes + np.arange(nodes)])
    cols = np.concatenate([np.stack([u, v], 1).ravel(), np.arange(nodes), np.arange(nodes)])
    vals = np.concatenate([np.ones(2 * E), np.ones(nodes), -np.ones(nodes)])
    G = sp.csr_matrix((vals, (rows, cols)), shape=(E + 2 * nodes, nodes))
    h = np.concatenate([np.ones(E), np.ones(nodes), np.zeros(nodes)])
    return {"Q": gamma * sp.eye(nodes, format="csr"), "p": -(0.5 + rng.random(nodes)), "G": G, "h": h}


def test_groups_are_bitwise_the_groups_alone(problem):
    """A ragged batch (graphs of different sizes, one instance each, and a
    batched family) in one call: each group's solution and gradients are
    bitwise those of solving it alone."""
    P = problem
    rng = np.random.default_rng(7)
    groups = [_mis_relaxation(rng, nodes, 0.3) for nodes in (12, 20, 7)]
    groups.insert(1, {"Q": P["Q"], "p": P["p"], "G": (P["G"].indptr, P["G"].indices, P["Gv"], P["G"].shape),
                      "h": P["h"], "A": P["A"], "b": P["b"]})
    together = qp.solve_sparse_groups(groups, record=True)
    alone = [qp.solve_sparse(**g, record=True) for g in groups]
    assert len(together) == len(groups)
    for g, (a, b) in enumerate(zip(alone, together)):
        assert np.all(a.status == 0), f"group {g}: {a.status}"
        for name in ("x", "lam", "nu", "status", "iters"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), f"group {g}: {name}"
    dx = [rng.normal(size=r.x.shape) for r in alone]
    dlam = [rng.normal(size=r.lam.shape) for r in alone]
    g_together = qp.backward_sparse_groups([r.tape for r in together], dx, dlam)
    for g, r in enumerate(alone):
        g_alone = qp.backward_sparse(r.tape, dx[g], dlam[g])
        for name in qp.PARAMETERS:
            if g_alone[name] is None:
                assert g_together[g][name] is None, f"group {g}: {name}"
            else:
                assert np.array_equal(g_alone[name], g_together[g][name]), f"group {g}: {name}"
    assert np.abs(g_together[0]["G"]).max() > 0, "the MIS group's dG is zero: nothing was differentiated"
    # the MIS relaxation is half-integral at a vertex; with gamma > 0 the x are in [0, 1]
    assert together[0].x.min() >= -1e-6 and together[0].x.max() <= 1 + 1e-6


def test_groups_bad_input(problem):
    P = problem
    good = {"Q": P["Q"], "p": P["p"][0], "G": P["G"], "h": P["h"][0], "A": P["A"], "b": P["b"]}
    with pytest.raises(ValueError, match="group 1: p"):
        qp.solve_sparse_groups([good, {"Q": P["Q"], "G": P["G"], "h": P["h"][0]}])
    with pytest.raises(ValueError, match="group 0: unknown keys"):
        qp.solve_sparse_groups([dict(good, c=1)])
    with pytest.raises(TypeError, match="list of dicts"):
        qp.solve_sparse_groups(good)
    res = qp.solve_sparse_groups([good, good], record=True)
    assert np.array_equal(res[0].x, res[1].x)
    with pytest.raises(ValueError, match="one entry per tape"):
        qp.backward_sparse_groups([r.tape for r in res], [np.ones(N)])
    assert qp.solve_sparse_groups([]) == []


@requires_torch
def test_torch_groups_gradients_are_the_groups_alone(problem):
    """dopt.torch.sparse_qp_groups on graphs of different sizes: outputs and
    the gradients reaching every group's tensors are bitwise those of
    dopt.torch.sparse_qp per group (whose gradients are checked against
    central differences above); a group left out of the loss gets none."""
    import torch
    import dopt.torch as dtorch
    rng = np.random.default_rng(11)
    graphs = [_mis_relaxation(rng, nodes, 0.35) for nodes in (10, 16, 6)]

    def leaves():
        return [{"Q": g["Q"], "p": torch.tensor(g["p"], requires_grad=True),
                 "G": (g["G"].indptr, g["G"].indices, torch.tensor(g["G"].data, requires_grad=True), g["G"].shape),
                 "h": torch.tensor(g["h"], requires_grad=True)} for g in graphs]

    weights = [torch.tensor(rng.normal(size=g["p"].shape)) for g in graphs]
    a, b = leaves(), leaves()
    together = dtorch.sparse_qp_groups(a)
    alone = [dtorch.sparse_qp(**g) for g in b]
    # group 2 stays out of the loss: its inputs get no gradient
    sum(torch.sum(w * r.x) for w, r in zip(weights[:2], together[:2])).backward()
    sum(torch.sum(w * r.x) for w, r in zip(weights[:2], alone[:2])).backward()
    for g in range(3):
        assert torch.equal(together[g].x, alone[g].x) and torch.equal(together[g].status, alone[g].status)
    for g in range(2):
        assert torch.equal(a[g]["p"].grad, b[g]["p"].grad), g
        assert torch.equal(a[g]["h"].grad, b[g]["h"].grad), g
        assert torch.equal(a[g]["G"][2].grad, b[g]["G"][2].grad), g
    assert torch.abs(a[0]["G"][2].grad).max() > 0
    assert a[2]["p"].grad is None or not torch.any(a[2]["p"].grad)
    g1 = a[1]
    as32 = dict(g1, p=g1["p"].detach().float(), h=g1["h"].detach().float(),
                G=(*g1["G"][:2], g1["G"][2].detach().float(), g1["G"][3]))
    with pytest.raises(TypeError, match="group 1: every group must have group 0's dtype"):
        dtorch.sparse_qp_groups([a[0], as32])


def test_groups_float32_are_the_groups_alone(problem):
    """float32 groups: each group's rounded results and gradients are
    bitwise those of solving it alone in float32."""
    rng = np.random.default_rng(3)
    groups = []
    for nodes in (9, 14):
        g = _mis_relaxation(rng, nodes, 0.3)
        groups.append(dict(g, p=g["p"].astype(np.float32), h=g["h"].astype(np.float32),
                           G=(g["G"].indptr, g["G"].indices, g["G"].data.astype(np.float32), g["G"].shape),
                           Q=(g["Q"].indptr, g["Q"].indices, g["Q"].data.astype(np.float32), g["Q"].shape)))
    together = qp.solve_sparse_groups(groups, record=True)
    alone = [qp.solve_sparse(**g, record=True) for g in groups]
    dx = [np.ones_like(r.x) for r in alone]
    gt = qp.backward_sparse_groups([r.tape for r in together], dx)
    for g, (a, b) in enumerate(zip(alone, together)):
        assert a.x.dtype == np.float32 and b.x.dtype == np.float32
        assert np.array_equal(a.x, b.x) and np.array_equal(a.status, b.status), g
        ga = qp.backward_sparse(a.tape, dx[g])
        for name in ("p", "G", "h"):
            assert np.array_equal(ga[name], gt[g][name]), (g, name)
