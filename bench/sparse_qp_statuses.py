"""Statuses of the sparse QP layer against the dense layer's on random small
QPs and LPs (docs/SPARSE_QP.md, "Agreement"): per seed, 512 instances with
n = 24, m = 40, k = 4, every pattern full (so Kf's LDL' is used, never the
dual normal equations); half LPs (Q's values zero), half with a singular PSD
Q = B B'/r of random rank r; a third with half of G's rows zeroed (mostly
unbounded), a third with two contradicting rows (infeasible), a third as is.

Prints the status counts of both layers and the instances where they differ.
A difference between "primal infeasible" and "dual infeasible" is counted
apart when both layers' certificates check (a Farkas certificate, or a
recession direction, to 1e-7 relative): such a problem is infeasible both
ways and either status is right.

    PYTHONPATH=python DOPT_LIBRARY=build-so/src/libdopt.so \\
        python bench/sparse_qp_statuses.py [seed ...]
"""
import sys

import numpy as np
import scipy.sparse as sp

from dopt import qp


def family(seed, Bn=512, n=24, m=40, k=4):
    rng = np.random.default_rng(seed)
    G = rng.normal(size=(Bn, m, n))
    A = rng.normal(size=(Bn, k, n))
    x0 = rng.normal(size=(Bn, n))
    h = np.einsum("bmn,bn->bm", G, x0) + rng.random((Bn, m))
    b = np.einsum("bkn,bn->bk", A, x0)
    p = 3 * rng.normal(size=(Bn, n))
    kind = rng.integers(0, 3, Bn)
    lp = rng.random(Bn) < 0.5
    rank = rng.integers(1, n + 1, Bn)
    Q = np.zeros((Bn, n, n))
    for i in range(Bn):
        if not lp[i]:
            B = rng.normal(size=(n, rank[i]))
            Q[i] = B @ B.T / rank[i]
        if kind[i] == 1:
            G[i, : m // 2] = 0
            h[i, : m // 2] = 1
        elif kind[i] == 2:
            G[i, -1] = -G[i, 0]
            h[i, -1] = -h[i, 0] - 1
    return Q, p, G, h, A, b


def full_pattern(values):
    pat = sp.csr_matrix(np.ones(values.shape[1:]))
    return pat.indptr, pat.indices, values.reshape(values.shape[0], -1), pat.shape


def main(seeds):
    for seed in seeds:
        Q, p, G, h, A, b = family(seed)
        dense = qp.solve(Q, p, G, h, A, b, tol=1e-8)
        res = qp.solve_sparse(full_pattern(Q), p, full_pattern(G), h, full_pattern(A), b, tol=1e-8)
        ds, ss = np.asarray(dense.status), np.asarray(res.status)

        def certificate_ok(r, status, i):
            if status == 1:
                z, y = np.asarray(r.lam[i]), np.asarray(r.nu[i])
                c = h[i] @ z + b[i] @ y
                return c < 0 and z.min() >= -1e-9 * abs(c) and \
                    np.abs(G[i].T @ z + A[i].T @ y).max() <= 1e-7 * abs(c)
            x = np.asarray(r.x[i])
            c = p[i] @ x
            return c < 0 and max(np.abs(Q[i] @ x).max(), (G[i] @ x).max(), np.abs(A[i] @ x).max()) <= 1e-7 * abs(c)

        differ = np.nonzero(ds != ss)[0]
        both_ways = [i for i in differ if {ds[i], ss[i]} == {1, 2}
                     and certificate_ok(dense, ds[i], i) and certificate_ok(res, ss[i], i)]
        other = [(int(i), int(ds[i]), int(ss[i])) for i in differ if i not in both_ways]
        print(f"seed {seed}: dense {np.bincount(ds, minlength=7).tolist()} sparse {np.bincount(ss, minlength=7).tolist()}"
              f" | infeasible both ways (either status right): {len(both_ways)}"
              f" | other differences (instance, dense, sparse): {other}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 2, 3, 4])
