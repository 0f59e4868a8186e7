"""bench/kkt_proposal.py's pieces: the seeded generators, the relaxations'
rows (a discrete solution satisfies them, a subtour violates its cut), the
repair heuristics (independent sets independent and maximal, colourings
proper, tours Hamiltonian, 2-opt locally optimal) and the exact MILPs against
enumeration. Every check is written here, apart from the code it checks.
Seconds; the exact-MILP tests skip without highspy."""
import importlib.util
import itertools
import pathlib
import sys

import numpy as np
import pytest

pytest.importorskip("scipy")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
import kkt_problems as P  # noqa: E402
import kkt_solvers as S  # noqa: E402


def _adjacency(n, edges):
    M = np.zeros((n, n), bool)
    for u, v in edges:
        M[u, v] = M[v, u] = True
    return M


def _is_independent(M, taken):
    idx = np.flatnonzero(taken)
    return not M[np.ix_(idx, idx)].any()


def _is_maximal(M, taken):
    # every vertex outside the set has a neighbour inside it
    return all(taken[v] or M[v, taken].any() for v in range(M.shape[0]))


def _is_proper(M, colour):
    return all(colour[u] != colour[v] for u, v in zip(*np.nonzero(np.triu(M))))


def _is_hamiltonian_cycle(n, tour):
    return len(tour) == n and sorted(int(v) for v in tour) == list(range(n))


def _graphs():
    rng = np.random.default_rng(5)
    for n, d in ((1, 0.0), (2, 1.0), (12, 3.0), (40, 6.0), (60, 10.0)):
        yield n, P.erdos_renyi(n, d, rng) if n > 1 else np.zeros((0, 2), np.int64)
    for n, m in ((10, 1), (50, 3)):
        yield n, P.barabasi_albert(n, m, rng)


# ---- generators ----------------------------------------------------------------

def test_erdos_renyi_is_seeded_simple_and_of_the_asked_density():
    a = P.erdos_renyi(500, 6.0, np.random.default_rng(1))
    b = P.erdos_renyi(500, 6.0, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert np.all(a[:, 0] < a[:, 1]) and len({tuple(e) for e in a}) == len(a)
    assert 5.5 < 2 * len(a) / 500 < 6.5  # E[avg degree] = 6, sd about 0.15


def test_barabasi_albert_has_the_model_edge_count_and_is_connected():
    n, m = 200, 3
    e = P.barabasi_albert(n, m, np.random.default_rng(2))
    assert np.all(e[:, 0] < e[:, 1]) and len({tuple(x) for x in e}) == len(e)
    assert len(e) == m * (m + 1) // 2 + (n - m - 1) * m  # a start clique, then m distinct links per node
    reach, stack = {0}, [0]
    M = _adjacency(n, e)
    while stack:
        v = stack.pop()
        for u in np.flatnonzero(M[v]):
            if u not in reach:
                reach.add(int(u))
                stack.append(int(u))
    assert len(reach) == n


def test_euclidean_tsp_lengths_are_the_point_distances():
    pts, edges, lengths = P.euclidean_tsp(9, np.random.default_rng(3))
    assert edges.shape == (36, 2)
    for (u, v), d in zip(edges, lengths):
        assert d == pytest.approx(np.hypot(*(pts[u] - pts[v])), rel=1e-14)


# ---- relaxations: discrete solutions satisfy the rows ------------------------------

def test_mis_rows_hold_for_independent_sets_only():
    n, edges = 12, P.erdos_renyi(12, 3.0, np.random.default_rng(4))
    rel = P.mis_relaxation(n, edges)
    M = _adjacency(n, edges)
    for bits in range(1 << n):
        x = np.array([(bits >> i) & 1 for i in range(n)], float)
        assert np.all(rel.G @ x <= rel.h + 1e-12) == _is_independent(M, x > 0)


def test_colouring_rows_hold_for_a_proper_colouring_and_fail_for_a_conflict():
    n, edges = 15, P.erdos_renyi(15, 4.0, np.random.default_rng(6))
    colour = P.greedy_colouring(n, edges)
    K = int(colour.max()) + 1
    rel = P.colouring_relaxation(n, edges, K)
    x = np.zeros(rel.n)
    x[np.arange(n) * K + colour] = 1.0
    x[n * K:] = 1.0
    assert np.all(rel.G @ x <= rel.h + 1e-12) and np.allclose(rel.A @ x, rel.b)
    u, v = edges[0]
    bad = x.copy()
    bad[v * K + colour[v]] = 0.0
    bad[v * K + colour[u]] = 1.0
    assert not np.all(rel.G @ bad <= rel.h + 1e-12)


def test_tsp_rows_hold_for_a_tour_and_the_cut_removes_a_subtour():
    n = 8
    pts, edges, lengths = P.euclidean_tsp(n, np.random.default_rng(7))
    index = {tuple(e): k for k, e in enumerate(edges)}

    def edge_vector(pairs):
        x = np.zeros(len(edges))
        for u, v in pairs:
            x[index[(min(u, v), max(u, v))]] = 1.0
        return x

    tour = edge_vector([(i, (i + 1) % n) for i in range(n)])
    two_loops = edge_vector([(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4)])
    cuts = P.subtour_cuts(n, edges, two_loops)
    assert sorted(map(sorted, cuts)) in ([[0, 1, 2, 3]], [[4, 5, 6, 7]], [[0, 1, 2, 3], [4, 5, 6, 7]])
    rel = P.tsp_relaxation(n, edges, lengths, cuts)
    for x, ok in ((tour, True), (two_loops, False)):
        t = [x[P._edges_inside(edges, n, S_)].sum() for S_ in cuts]  # the auxiliary variables' values
        z = np.concatenate([x, t])
        assert np.allclose(rel.A @ z, rel.b)  # degree rows and the cut definitions hold for both
        assert np.all(rel.G @ z <= rel.h + 1e-12) == ok
    assert P.subtour_cuts(n, edges, tour) == []


# ---- repair heuristics ----------------------------------------------------------------

@pytest.mark.parametrize("trial", range(3))
def test_mis_round_gives_maximal_independent_sets(trial):
    rng = np.random.default_rng(10 + trial)
    for n, edges in _graphs():
        M = _adjacency(n, edges)
        for x in (rng.random(n), np.full(n, 0.5), np.zeros(n), (rng.random(n) > 0.5).astype(float)):
            taken = P.mis_round(n, edges, x)
            assert taken.shape == (n,) and _is_independent(M, taken) and _is_maximal(M, taken)


def test_mis_round_keeps_an_independent_indicator():
    n, edges = 40, P.erdos_renyi(40, 5.0, np.random.default_rng(11))
    M = _adjacency(n, edges)
    taken = P.mis_round(n, edges, np.zeros(n))
    assert np.array_equal(P.mis_round(n, edges, taken.astype(float)), taken)  # already maximal: unchanged
    assert _is_independent(M, taken)


@pytest.mark.parametrize("trial", range(3))
def test_colour_round_gives_proper_colourings(trial):
    rng = np.random.default_rng(20 + trial)
    for n, edges in _graphs():
        M = _adjacency(n, edges)
        maxdeg = int(M.sum(axis=1).max()) if n else 0
        for K in (1, 3):
            for X in (rng.random((n, K)), np.full((n, K), 1.0 / K)):
                colour = P.colour_round(n, edges, X)
                assert np.all(colour >= 0) and _is_proper(M, colour)
                assert colour.max() + 1 <= max(K, maxdeg + 1)  # a colour >= K only when K are taken around
        g = P.greedy_colouring(n, edges)
        assert _is_proper(M, g) and g.max() + 1 <= maxdeg + 1


@pytest.mark.parametrize("n", [3, 4, 9, 30])
def test_greedy_tour_is_hamiltonian_and_two_opt_is_a_local_optimum(n):
    rng = np.random.default_rng(30 + n)
    pts, edges, lengths = P.euclidean_tsp(n, rng)
    D = P.distance_matrix(pts)
    for x in (rng.random(len(edges)), np.zeros(len(edges)), np.full(len(edges), 0.5)):
        tour = P.tsp_greedy_tour(n, edges, lengths, x)
        assert _is_hamiltonian_cycle(n, tour)
        better = P.two_opt(D, tour)
        assert _is_hamiltonian_cycle(n, better)
        length = sum(D[better[i], better[(i + 1) % n]] for i in range(n))
        assert length <= P.tour_length(D, tour) + 1e-12
        assert P.tour_length(D, better) == pytest.approx(length, rel=1e-12)
        for i in range(n):  # no reversal of a segment shortens it (checked by rebuilding each tour)
            for j in range(i + 2, n):
                cand = np.concatenate([better[:i + 1], better[i + 1:j + 1][::-1], better[j + 1:]])
                assert sum(D[cand[k], cand[(k + 1) % n]] for k in range(n)) >= length - 1e-9


def test_greedy_tour_follows_an_integral_x():
    n = 10
    pts, edges, lengths = P.euclidean_tsp(n, np.random.default_rng(8))
    perm = np.random.default_rng(9).permutation(n)
    x = np.zeros(len(edges))
    for i in range(n):
        u, v = sorted((perm[i], perm[(i + 1) % n]))
        x[np.flatnonzero((edges[:, 0] == u) & (edges[:, 1] == v))] = 1.0
    tour = P.tsp_greedy_tour(n, edges, lengths, x)
    used = {tuple(sorted((int(tour[i]), int(tour[(i + 1) % n])))) for i in range(n)}
    assert used == {tuple(sorted((int(perm[i]), int(perm[(i + 1) % n])))) for i in range(n)}


def test_fractional_share():
    assert P.fractional_share([0.0, 1.0, 0.5, 0.005, 0.995, 0.3]) == pytest.approx(2 / 6)


# ---- exact MILPs against enumeration ---------------------------------------------------

def _need_highs():
    pytest.importorskip("highspy")


def test_mis_exact_matches_enumeration():
    _need_highs()
    for seed in range(3):
        n, edges = 12, P.erdos_renyi(12, 4.0, np.random.default_rng(40 + seed))
        M = _adjacency(n, edges)
        best = max(bin(b).count("1") for b in range(1 << n)
                   if _is_independent(M, np.array([(b >> i) & 1 for i in range(n)], bool)))
        r = S.mis_exact(n, edges, 30)
        assert r.optimal and r.value == pytest.approx(best) and _is_independent(M, r.solution)
        assert r.solution.sum() == best


def test_colouring_exact_matches_enumeration():
    _need_highs()
    for seed in range(2):
        n, edges = 8, P.erdos_renyi(8, 4.0, np.random.default_rng(50 + seed))
        M = _adjacency(n, edges)
        chi = next(k for k in range(1, n + 1)
                   if any(_is_proper(M, c) for c in itertools.product(range(k), repeat=n)))
        K = int(P.greedy_colouring(n, edges).max()) + 1
        r = S.colouring_exact(n, edges, K, 30)
        assert r.optimal and r.value == pytest.approx(chi) and _is_proper(M, r.solution)


def test_tsp_exact_matches_enumeration():
    _need_highs()
    n = 8
    pts, edges, lengths = P.euclidean_tsp(n, np.random.default_rng(60))
    D = P.distance_matrix(pts)
    best = min(P.tour_length(D, np.array((0,) + p)) for p in itertools.permutations(range(1, n)))
    r = S.tsp_exact(n, edges, lengths, 30)
    assert r.optimal and r.value == pytest.approx(best, rel=1e-9)


def test_relaxation_backends_agree():
    _need_highs()
    pytest.importorskip("dopt")
    n, edges = 30, P.erdos_renyi(30, 4.0, np.random.default_rng(70))
    pts, tedges, lengths = P.euclidean_tsp(12, np.random.default_rng(71))
    for rel in (P.mis_relaxation(n, edges, np.random.default_rng(72).uniform(1, 2, n)).with_gamma(0.5),
                P.tsp_relaxation(12, tedges, lengths, [[0, 1, 2]]).with_gamma(0.3)):
        reg = rel.meta.get("regularized", np.ones(rel.n, bool))
        ref = S.solve_relaxation(rel, "dopt-dense", tol=1e-10)
        assert ref.status == 0
        # strongly convex in the regularized variables: one solution. The interior points (dopt's
        # layers, Clarabel) at 1e-10 agree to about 1e-8; HiGHS's active-set QP stops on its own
        # (looser) tolerances, off by up to ~1e-5 here, hence its wider bound; either bound is far
        # below what a wrong row or sign would cause (entries move by 0.1 and more).
        others = [("highs", None, 1e-4)] + [("dopt-sparse", 1e-10, 1e-6)] * S.sparse_available() + [
            ("clarabel", 1e-10, 1e-6)] * bool(importlib.util.find_spec("clarabel"))
        for backend, tol, atol in others:
            r = S.solve_relaxation(rel, backend, tol=tol)
            assert r.status == 0, backend
            np.testing.assert_allclose(r.x[reg], ref.x[reg], atol=atol, err_msg=backend)


def test_sparse_layer_gradient_matches_the_dense_layer():
    """The experiment's KKT layer (dopt.torch.sparse_qp on the MIS relaxation,
    its structure analysed once as kkt_learn does): x and dL/dp against
    dopt's dense QP layer (skipped while the loaded libdopt has no sparse
    layer)."""
    torch = pytest.importorskip("torch")
    if not S.sparse_available():
        pytest.skip("the loaded libdopt has no sparse QP layer")
    import scipy.sparse as sp
    import dopt.qp as dq
    import dopt.torch as dt
    n, edges = 25, P.erdos_renyi(25, 4.0, np.random.default_rng(80))
    rel = P.mis_relaxation(n, edges)
    gamma = 0.7
    Qs = sp.identity(n, format="csr") * gamma
    structure = dq.SparseStructure(Qs, rel.G)
    rng = np.random.default_rng(81)
    p = torch.tensor(-rng.uniform(0.5, 2.0, (3, n)), requires_grad=True)
    weights = torch.tensor(rng.normal(size=(3, n)))
    r1 = dt.sparse_qp(torch.tensor(Qs.data), p, torch.tensor(rel.G.data), torch.tensor(rel.h), structure=structure,
                      tol=1e-10)
    assert torch.all(r1.status == 0)
    (weights * r1.x).sum().backward()
    p2 = p.detach().clone().requires_grad_(True)
    r = dt.qp(gamma * torch.eye(n, dtype=torch.float64), p2, torch.tensor(rel.G.toarray()), torch.tensor(rel.h),
              tol=1e-10)
    (weights * r.x).sum().backward()
    # both solve to 1e-10 relative KKT residual; the gradients solve the same linear system at those points
    np.testing.assert_allclose(r1.x.detach().numpy(), r.x.detach().numpy(), atol=1e-7)
    np.testing.assert_allclose(p.grad.numpy(), p2.grad.numpy(), atol=1e-5)


def test_fractional_share_of_support():
    assert P.fractional_share_of_support([0.0, 0.0, 1.0, 0.5, 0.995, 0.005]) == pytest.approx(1 / 3)
    assert P.fractional_share_of_support([0.0, 0.001]) == 0.0
