"""Reference solutions for the cone layer's tests (tests/test_cone.c), from
Clarabel (an independent interior-point conic solver, pip install clarabel).

Writes tests/data/cone/<family>.npz: a batch of random instances in dopt's
form (minimize c'x s.t. Ax = b, Gx + s = h, s in K; PSD rows in svec: lower
triangle column by column, off-diagonals times sqrt(2)) with Clarabel's x and
objective. Each instance is built around a strictly complementary optimal
pair (s*, z*) (per block: complementary supports on the orthant, reflected
boundary points or interior/zero on a second-order cone, complementary
eigenspaces on a PSD cone) and random x*, y*: h = G x* + s*, b = A x*,
c = -A'y* - G'z*. An instance is kept only when Clarabel's x moves by less
than 1e-8 between tolerances 1e-10 and 1e-12: x is then determined well
enough to compare against at 1e-6 (degenerate optima, whose x converges
like the square root of the gap, are dropped).

Clarabel's PSDTriangleConeT stores the upper triangle column by column with
the same sqrt(2) scaling: entry (i, j), i <= j, at j(j+1)/2 + i. By symmetry
that is dopt's svec order read row by row, so the rows of a PSD block are a
permutation of dopt's (clarabel_psd_order below); equalities are Clarabel's
ZeroConeT rows, placed first.

Run: python scripts/gen_cone_fixtures.py [outdir]   (deterministic: fixed seeds)
"""
import os
import sys

import numpy as np
import scipy.sparse as sp
import clarabel


def svec_index(s, i, j):  # i >= j, lower triangle column by column
    return j * s - j * (j - 1) // 2 + (i - j)


def clarabel_psd_order(s):
    """perm[r] = dopt's svec row of Clarabel's row r"""
    perm = []
    for j in range(s):
        for i in range(j + 1):  # upper (i, j) = lower (j, i)
            perm.append(svec_index(s, j, i))
    return np.array(perm)


def svec(M):
    s = M.shape[0]
    v = np.zeros(s * (s + 1) // 2)
    for j in range(s):
        for i in range(j, s):
            v[svec_index(s, i, j)] = M[i, j] * (1.0 if i == j else np.sqrt(2.0))
    return v


def interior_point(rng, l, q, s):
    parts = [rng.uniform(0.5, 1.5, l)]
    for qi in q:
        u = rng.standard_normal(qi - 1)
        parts.append(np.concatenate([[np.linalg.norm(u) + rng.uniform(0.2, 1.0)], u]))
    for si in s:
        B = rng.standard_normal((si, si))
        parts.append(svec(B @ B.T / si + 0.3 * np.eye(si)))
    return np.concatenate(parts)


def complementary_pair(rng, l, q, s):
    """(s*, z*) in K x K with s*'z* = 0, strictly complementary"""
    sp_, zp = [], []
    act = rng.random(l) < 0.5
    sp_.append(np.where(act, 0.0, rng.uniform(0.5, 1.5, l)))
    zp.append(np.where(act, rng.uniform(0.5, 1.5, l), 0.0))
    for qi in q:
        kind = rng.integers(3) if qi > 1 else rng.integers(1, 3)
        if kind == 0:  # both on the boundary, reflected
            u = rng.standard_normal(qi - 1)
            u /= np.linalg.norm(u)
            sp_.append(rng.uniform(0.5, 1.5) * np.concatenate([[1.0], u]))
            zp.append(rng.uniform(0.5, 1.5) * np.concatenate([[1.0], -u]))
        else:
            u = rng.standard_normal(qi - 1)
            inner = np.concatenate([[np.linalg.norm(u) + rng.uniform(0.3, 1.0)], u])
            sp_.append(inner if kind == 1 else np.zeros(qi))
            zp.append(np.zeros(qi) if kind == 1 else inner)
    for si in s:
        U, _ = np.linalg.qr(rng.standard_normal((si, si)))
        r = rng.integers(0, si + 1)
        ds = np.where(np.arange(si) < r, rng.uniform(0.5, 1.5, si), 0.0)
        dz = np.where(np.arange(si) < r, 0.0, rng.uniform(0.5, 1.5, si))
        sp_.append(svec(U @ np.diag(ds) @ U.T))
        zp.append(svec(U @ np.diag(dz) @ U.T))
    return np.concatenate(sp_), np.concatenate(zp)


def instance(rng, n, k, l, q, s):
    m = l + sum(q) + sum(t * (t + 1) // 2 for t in s)
    G = rng.standard_normal((m, n))
    A = rng.standard_normal((k, n))
    x0 = rng.standard_normal(n)
    s0, z0 = complementary_pair(rng, l, q, s)
    h = G @ x0 + s0
    b = A @ x0
    c = -(A.T @ rng.standard_normal(k)) - G.T @ z0
    return c, G, h, A, b


def clarabel_solve(c, G, h, A, b, l, q, s, tol=1e-10):
    n = c.size
    k = b.size
    perm = np.arange(G.shape[0])
    off = l + sum(q)
    for si in s:
        t = si * (si + 1) // 2
        perm[off:off + t] = off + clarabel_psd_order(si)
        off += t
    Acl = sp.csc_matrix(np.vstack([A, G[perm]]))
    bcl = np.concatenate([b, h[perm]])
    cones = []
    if k:
        cones.append(clarabel.ZeroConeT(k))
    if l:
        cones.append(clarabel.NonnegativeConeT(l))
    cones += [clarabel.SecondOrderConeT(qi) for qi in q]
    cones += [clarabel.PSDTriangleConeT(si) for si in s]
    st = clarabel.DefaultSettings()
    st.verbose = False
    st.tol_gap_abs = st.tol_gap_rel = st.tol_feas = tol
    st.max_iter = 400
    sol = clarabel.DefaultSolver(sp.csc_matrix((n, n)), c, Acl, bcl, cones, st).solve()
    return np.array(sol.x), sol.obj_val, str(sol.status)


FAMILIES = {
    # name: (seed, batch, n, k, l, q, s)
    "socp": (1, 6, 6, 2, 3, [4, 3], []),
    "sdp": (2, 6, 5, 1, 0, [], [3]),
    "mixed": (3, 6, 8, 2, 2, [3], [2, 4]),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data", "cone")
    os.makedirs(out, exist_ok=True)
    for name, (seed, B, n, k, l, q, s) in FAMILIES.items():
        rng = np.random.default_rng(seed)
        arrs = {key: [] for key in ("c", "G", "h", "A", "b", "x_ref", "obj_ref")}
        tried = 0
        while len(arrs["c"]) < B:
            tried += 1
            c, G, h, A, b = instance(rng, n, k, l, q, s)
            x, obj, status = clarabel_solve(c, G, h, A, b, l, q, s)
            x2, _, status2 = clarabel_solve(c, G, h, A, b, l, q, s, 1e-12)
            if status != "Solved" or np.abs(x - x2).max() > 1e-8:
                continue
            for key, val in zip(arrs, (c, G, h, A, b, x, obj)):
                arrs[key].append(val)
        np.savez(os.path.join(out, name + ".npz"), l=np.array([l], np.int32), q=np.array(q, np.int32),
                 s=np.array(s, np.int32), **{key: np.array(v, np.float64) for key, v in arrs.items()})
        print(name, "kept", B, "of", tried, "objectives", np.round(arrs["obj_ref"], 6))


if __name__ == "__main__":
    main()
