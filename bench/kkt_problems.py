"""Instances, relaxations and repair heuristics of the KKT-proposal experiment
(bench/kkt_proposal.py): maximum independent set (MIS), graph colouring and
the travelling salesman problem (TSP).

Every generator takes a numpy Generator, so an instance is a function of its
seed. Every relaxation is written in the sparse QP layer's form

    minimize 1/2 x'Qx + p'x  subject to  Gx <= h,  Ax = b

with Q = gamma I on the problem's own variables, 0 <= x <= 1 as inequality
rows of G (the issue asks for rows, not bounds), G and A in CSR
(scipy.sparse). The repair heuristics turn a fractional x into a feasible
discrete solution; python/tests/test_kkt_proposal.py checks their outputs
with its own feasibility checks.
"""

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp


# ---- graphs -----------------------------------------------------------------------

def _unique_edges(i, j, n):
    """Sorted (E, 2) int64 array of undirected edges i < j without repeats or loops."""
    i, j = np.asarray(i, np.int64), np.asarray(j, np.int64)
    keep = i != j
    lo, hi = np.minimum(i[keep], j[keep]), np.maximum(i[keep], j[keep])
    key = np.unique(lo * n + hi)
    return np.stack([key // n, key % n], axis=1)


def erdos_renyi(n, avg_degree, rng):
    """G(n, p) with p = avg_degree / (n - 1)."""
    p = avg_degree / (n - 1)
    iu, ju = np.triu_indices(n, k=1)
    keep = rng.random(iu.size) < p
    return _unique_edges(iu[keep], ju[keep], n)


def barabasi_albert(n, attach, rng):
    """Preferential attachment: each new node links to `attach` distinct
    existing nodes drawn with probability proportional to degree (start: a
    clique on attach + 1 nodes). Average degree about 2 attach."""
    start = attach + 1
    iu, ju = np.triu_indices(start, k=1)
    src, dst = list(iu), list(ju)
    ends = list(iu) + list(ju)  # each node once per incident edge: degree-proportional draws
    for v in range(start, n):
        chosen = set()
        while len(chosen) < attach:
            chosen.add(int(ends[rng.integers(len(ends))]))
        for u in chosen:
            src.append(u)
            dst.append(v)
            ends += [u, v]
    return _unique_edges(src, dst, n)


def degrees(n, edges):
    return np.bincount(edges.reshape(-1), minlength=n)


def adjacency_lists(n, edges):
    adj = [[] for _ in range(n)]
    for u, v in edges:
        adj[u].append(int(v))
        adj[v].append(int(u))
    return adj


def greedy_colouring(n, edges):
    """Welsh-Powell: vertices by decreasing degree, each the smallest colour
    its coloured neighbours do not use. Returns (n,) colours 0..K-1."""
    adj = adjacency_lists(n, edges)
    colour = np.full(n, -1, np.int64)
    for v in np.argsort(-degrees(n, edges), kind="stable"):
        used = {colour[u] for u in adj[v] if colour[u] >= 0}
        c = 0
        while c in used:
            c += 1
        colour[v] = c
    return colour


def euclidean_tsp(cities, rng):
    """Uniform points in the unit square; returns (points (n, 2), edges
    (n(n-1)/2, 2) of the complete graph, their lengths)."""
    pts = rng.random((cities, 2))
    iu, ju = np.triu_indices(cities, k=1)
    edges = np.stack([iu, ju], axis=1).astype(np.int64)
    return pts, edges, np.linalg.norm(pts[iu] - pts[ju], axis=1)


# ---- relaxations -------------------------------------------------------------------

@dataclass
class Relaxation:
    """min 1/2 x'diag(q)x + p'x  s.t.  Gx <= h, Ax = b  (G, A: scipy CSR).
    `kind` names the problem; `meta` holds what its rounding needs."""
    kind: str
    q: np.ndarray
    p: np.ndarray
    G: sp.csr_matrix
    h: np.ndarray
    A: sp.csr_matrix
    b: np.ndarray
    meta: dict = field(default_factory=dict)

    @property
    def n(self):
        return self.p.size

    def with_gamma(self, gamma):
        """The same problem with Q = gamma on the problem's variables (meta
        'regularized': a mask; auxiliary variables keep Q = 0)."""
        mask = self.meta.get("regularized", np.ones(self.n, bool))
        return Relaxation(self.kind, gamma * mask.astype(float), self.p, self.G, self.h, self.A, self.b,
                          self.meta)


def _box_rows(n):
    """x <= 1 and -x <= 0 as 2n rows."""
    eye = sp.identity(n, format="csr")
    return sp.vstack([eye, -eye], format="csr"), np.concatenate([np.ones(n), np.zeros(n)])


def _csr(rows, cols, vals, shape):
    M = sp.csr_matrix((np.asarray(vals, float), (np.asarray(rows), np.asarray(cols))), shape=shape)
    M.sum_duplicates()
    M.sort_indices()
    return M


def mis_relaxation(n, edges, weights=None):
    """max w'x  s.t.  x_u + x_v <= 1 (each edge), 0 <= x <= 1; as min -w'x."""
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    E = edges.shape[0]
    rows = np.repeat(np.arange(E), 2)
    G_edge = _csr(rows, edges.reshape(-1), np.ones(2 * E), (E, n))
    G_box, h_box = _box_rows(n)
    G = sp.vstack([G_edge, G_box], format="csr")
    h = np.concatenate([np.ones(E), h_box])
    return Relaxation("mis", np.zeros(n), -w, G, h, sp.csr_matrix((0, n)), np.zeros(0),
                      {"n": n, "edges": edges})


def colouring_relaxation(n, edges, K):
    """Assignment formulation with K colours: x[v, c] (index v K + c) and
    w[c] (index n K + c); min sum_c w_c  s.t.  sum_c x[v, c] = 1,
    x[u, c] + x[v, c] <= w_c (each edge and colour), x[v, c] <= w_c for
    isolated v, 0 <= x, w <= 1."""
    nx = n * K
    N = nx + K
    rows, cols, vals = [], [], []
    r = 0
    for u, v in edges:
        for c in range(K):
            rows += [r, r, r]
            cols += [u * K + c, v * K + c, nx + c]
            vals += [1.0, 1.0, -1.0]
            r += 1
    for v in np.flatnonzero(degrees(n, edges) == 0):
        for c in range(K):
            rows += [r, r]
            cols += [v * K + c, nx + c]
            vals += [1.0, -1.0]
            r += 1
    G_conf = _csr(rows, cols, vals, (r, N))
    G_box, h_box = _box_rows(N)
    G = sp.vstack([G_conf, G_box], format="csr")
    h = np.concatenate([np.zeros(r), h_box])
    A = _csr(np.repeat(np.arange(n), K), np.arange(nx), np.ones(nx), (n, N))
    p = np.concatenate([np.zeros(nx), np.ones(K)])
    return Relaxation("colouring", np.zeros(N), p, G, h, A, np.ones(n), {"n": n, "edges": edges, "K": K})


def tsp_relaxation(cities, edges, lengths, cuts=()):
    """Edge variables x_e (complete graph) and one auxiliary t_S per cut:
    min d'x  s.t.  sum_{e at v} x_e = 2 (each city), 0 <= x <= 1, and for
    each cut S:  sum_{e inside S} x_e - t_S = 0, t_S <= |S| - 1 (the
    subtour-elimination inequality x(E(S)) <= |S| - 1). The auxiliary
    variable puts the cut's long row in A instead of G, so it enters the
    reduced KKT system as one row rather than a dense block of G'WG.
    Costs d = lengths / (mean length of each city's two nearest
    neighbours), so an edge of a good tour costs about 1 and gamma has one
    meaning for every size. Q = gamma on x only (meta 'regularized')."""
    E = edges.shape[0]
    nc = len(cuts)
    N = E + nc
    nn2 = np.sort(_distance_matrix(cities, edges, lengths), axis=1)[:, 1:3].mean()
    p = np.concatenate([lengths / nn2, np.zeros(nc)])
    deg_rows = np.concatenate([edges[:, 0], edges[:, 1]])
    deg_cols = np.concatenate([np.arange(E), np.arange(E)])
    rows, cols, vals = list(deg_rows), list(deg_cols), [1.0] * (2 * E)
    for k, S in enumerate(cuts):
        inside = _edges_inside(edges, cities, S)
        rows += [cities + k] * (inside.size + 1)
        cols += list(inside) + [E + k]
        vals += [1.0] * inside.size + [-1.0]
    A = _csr(rows, cols, vals, (cities + nc, N))
    b = np.concatenate([np.full(cities, 2.0), np.zeros(nc)])
    G_box, h_box = _box_rows(E)
    G_box = sp.hstack([G_box, sp.csr_matrix((2 * E, nc))], format="csr")
    G_cut = _csr(np.arange(nc), E + np.arange(nc), np.ones(nc), (nc, N))
    G = sp.vstack([G_box, G_cut], format="csr")
    h = np.concatenate([h_box, [len(S) - 1.0 for S in cuts]])
    regularized = np.concatenate([np.ones(E, bool), np.zeros(nc, bool)])
    return Relaxation("tsp", np.zeros(N), p, G, h, A, b,
                      {"n": cities, "edges": edges, "lengths": lengths, "cost_scale": nn2, "cuts": list(cuts),
                       "regularized": regularized,
                       # implied by the rows; only the HiGHS stand-in reads them (kkt_solvers)
                       "col_bounds": (np.zeros(N), np.concatenate([np.ones(E), h[2 * E:]]))})


def _distance_matrix(cities, edges, lengths):
    D = np.zeros((cities, cities))
    D[edges[:, 0], edges[:, 1]] = lengths
    D[edges[:, 1], edges[:, 0]] = lengths
    return D


def _edges_inside(edges, cities, S):
    member = np.zeros(cities, bool)
    member[list(S)] = True
    return np.flatnonzero(member[edges[:, 0]] & member[edges[:, 1]])


def support_components(n, edges, x, threshold=0.01):
    """Connected components (lists of vertices) of the graph of edges with x > threshold."""
    parent = list(range(n))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for e in np.flatnonzero(x > threshold):
        ra, rb = find(int(edges[e, 0])), find(int(edges[e, 1]))
        if ra != rb:
            parent[ra] = rb
    groups = {}
    for v in range(n):
        groups.setdefault(find(v), []).append(v)
    return sorted(groups.values(), key=len)


def subtour_cuts(n, edges, x, threshold=0.01):
    """The cuts of one round: every component of the support, except the
    largest when it holds more than half of the cities (its complement's
    components are cut instead). [] when the support is connected."""
    comps = support_components(n, edges, x, threshold)
    if len(comps) <= 1:
        return []
    return [c for c in comps if 2 * len(c) <= n] or comps[:-1]


def fractional_share(x, lo=0.01, hi=0.99):
    """Share of entries strictly inside (lo, hi)."""
    x = np.asarray(x)
    return float(np.mean((x > lo) & (x < hi))) if x.size else 0.0


def fractional_share_of_support(x, lo=0.01, hi=0.99):
    """Share of the entries above lo that are below hi: for TSP, where almost
    every edge variable is 0, the fraction of the used edges that are fractional."""
    x = np.asarray(x)
    used = x > lo
    return float(np.mean(x[used] < hi)) if used.any() else 0.0


# ---- rounding and repair -------------------------------------------------------------

def _quantized(x, step=1e-3):
    """x on a grid of `step`: values an interior-point solution makes
    'almost equal' (1/2 +- 1e-9) count as ties, which the rules below then
    break deterministically instead of by solver round-off."""
    return np.round(np.asarray(x, float) / step) * step


def mis_round(n, edges, x):
    """Vertices by decreasing x (ties: smaller degree first, then index);
    each taken when no neighbour is taken. One pass over every vertex, so the
    set is maximal. Returns a boolean (n,) mask."""
    adj = adjacency_lists(n, edges)
    order = np.lexsort((np.arange(n), degrees(n, edges), -_quantized(x)))
    taken = np.zeros(n, bool)
    for v in order:
        if not any(taken[u] for u in adj[v]):
            taken[v] = True
    return taken


def colour_round(n, edges, X):
    """X (n, K) fractional assignment. Vertices by decreasing confidence
    (max_c X[v, c]; ties: larger degree first); each takes the colour of
    largest X[v, c] (ties: smaller c) that no coloured neighbour uses, else
    the smallest colour >= K no neighbour uses. Returns (n,) colours."""
    X = _quantized(X)
    adj = adjacency_lists(n, edges)
    K = X.shape[1]
    order = np.lexsort((np.arange(n), -degrees(n, edges), -X.max(axis=1)))
    colour = np.full(n, -1, np.int64)
    for v in order:
        used = {colour[u] for u in adj[v] if colour[u] >= 0}
        for c in np.lexsort((np.arange(K), -X[v])):
            if c not in used:
                colour[v] = c
                break
        else:
            c = K
            while c in used:
                c += 1
            colour[v] = c
    return colour


def tsp_greedy_tour(n, edges, lengths, x):
    """Greedy edge insertion by decreasing x (ties: shorter edge first):
    an edge joins when both ends have degree < 2 and it closes no cycle; on
    the complete graph this ends in a Hamiltonian path, which is closed.
    Returns the tour as a permutation of range(n)."""
    order = np.lexsort((lengths, -_quantized(x)))
    parent = list(range(n))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    deg = np.zeros(n, np.int64)
    nbrs = [[] for _ in range(n)]
    chosen = 0
    for e in order:
        u, v = int(edges[e, 0]), int(edges[e, 1])
        if deg[u] >= 2 or deg[v] >= 2:
            continue
        ru, rv = find(u), find(v)
        if ru == rv:
            continue
        parent[ru] = rv
        deg[u] += 1
        deg[v] += 1
        nbrs[u].append(v)
        nbrs[v].append(u)
        chosen += 1
        if chosen == n - 1:
            break
    if n == 1:
        return np.zeros(1, np.int64)
    start = int(np.flatnonzero(deg < 2)[0])
    tour, prev = [start], -1
    while len(tour) < n:
        nxt = [w for w in nbrs[tour[-1]] if w != prev][0]
        prev = tour[-1]
        tour.append(nxt)
    return np.asarray(tour, np.int64)


def tour_length(D, tour):
    return float(D[tour, np.roll(tour, -1)].sum())


def two_opt(D, tour, max_passes=1000):
    """2-opt to a local optimum: for each position i, the best reversal of
    tour[i+1..j] (vectorized over j), applied when it shortens the tour by
    more than 1e-12."""
    tour = np.asarray(tour, np.int64).copy()
    n = tour.size
    if n < 4:
        return tour
    for _ in range(max_passes):
        improved = False
        for i in range(n - 2):
            a, b = tour[i], tour[i + 1]
            js = np.arange(i + 2, n if i > 0 else n - 1)
            c, d = tour[js], tour[(js + 1) % n]
            delta = D[a, c] + D[b, d] - D[a, b] - D[c, d]
            k = int(np.argmin(delta))
            if delta[k] < -1e-12:
                j = int(js[k])
                tour[i + 1:j + 1] = tour[i + 1:j + 1][::-1]
                improved = True
        if not improved:
            break
    return tour


def distance_matrix(points):
    return np.linalg.norm(points[:, None, :] - points[None, :, :], axis=2)
