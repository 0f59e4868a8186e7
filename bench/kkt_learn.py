"""Part (b) of the KKT-proposal experiment: predict-then-optimize on maximum
weight independent set.

One Erdos-Renyi graph (small: the ILP layer is an exact branch and bound for
n, m up to 256, so the comparison runs at sizes it takes). Instance i has
node features phi_i (nodes, F) ~ N(0, 1) and true weights (PyEPO's
polynomial model, Elmachtoub & Grigas's shortest-path data generator rule)

    w_ij = ((phi_ij . beta) / sqrt(F) + 3)^deg / 3^(deg - 1) + 1,  times U[1 - noise, 1 + noise],

with beta a fixed 0/1 vector. A linear model w_hat_ij = phi_ij . theta +
theta_0 (shared by all nodes) is trained by

  two-stage  mean squared error on w (the baseline that ignores decisions)
  kkt        the decision loss through the gamma-regularized LP relaxation
             x = argmin gamma/2 |x|^2 - w_hat'x s.t. x_u + x_v <= 1,
             0 <= x <= 1, differentiated by the KKT conditions (dopt's
             sparse QP layer; the dense layer as a stand-in)
  dbb        the decision loss through the exact ILP, blackbox
             differentiation (dopt.torch.ilp, method "dbb")
  perturbed  the decision loss through the perturbed optimizer
             (dopt.torch.ilp, method "perturbed")
  spo+       the SPO+ loss (dopt.torch.spo_plus)

Decision loss of a (possibly fractional) y: (z* - w'y) / z*, z* = w'y*.
Evaluation, the same for every method: the exact ILP's solution under the
predicted weights, normalized regret sum_i (z*_i - w_i'y_hat_i) / sum_i z*_i
on held-out instances (PyEPO's definition).
"""

import math
import time

import numpy as np
import torch

import kkt_problems as P


def make_data(nodes, avg_degree, train, test, features, deg, noise, rng):
    edges = P.erdos_renyi(nodes, avg_degree, rng)
    beta = rng.integers(0, 2, features).astype(float)
    if not beta.any():
        beta[0] = 1.0

    def draw(count):
        phi = rng.normal(size=(count, nodes, features))
        w = ((phi @ beta) / math.sqrt(features) + 3.0) ** deg / 3.0 ** (deg - 1) + 1.0
        w *= rng.uniform(1 - noise, 1 + noise, size=w.shape)
        return phi, w

    return edges, draw(train), draw(test)


def _ilp_rows(nodes, edges):
    E = edges.shape[0]
    A = np.zeros((E, nodes))
    A[np.arange(E), edges[:, 0]] = 1.0
    A[np.arange(E), edges[:, 1]] = 1.0
    return A, np.ones(E)


def exact_solutions(A, b, w):
    """y* and z* of max w'y s.t. A y <= b, y binary, for a (B, n) batch (dopt's ILP layer)."""
    import dopt.ilp as di
    r = di.solve(-np.asarray(w, float), A, b)
    if np.any(np.asarray(r.status) != 0):
        raise RuntimeError(f"ILP layer: statuses {np.unique(r.status)}")
    y = np.asarray(r.y, float)
    return y, (w * y).sum(axis=1)


class _KKTLayer:
    """x(w_hat) of the gamma-regularized relaxation, differentiable in w_hat.
    backend "dopt-sparse": dopt's sparse QP layer (dopt.torch.sparse_qp); "dopt-dense":
    dopt.torch.qp on the densified rows (the stand-in)."""

    def __init__(self, nodes, edges, gamma, backend):
        rel = P.mis_relaxation(nodes, edges)
        self.gamma, self.backend, self.n = gamma, backend, nodes
        self.G, self.h = rel.G, rel.h
        if backend == "dopt-dense":
            self.Gt = torch.tensor(rel.G.toarray())
            self.ht = torch.tensor(rel.h)
            self.Qt = gamma * torch.eye(nodes, dtype=torch.float64)
        elif backend == "dopt-sparse":
            import scipy.sparse as sp
            import dopt.qp as dq
            self.Qs = sp.identity(nodes, format="csr") * gamma
            self.structure = dq.SparseStructure(self.Qs, rel.G)  # analysed once, reused every step
            self.Qv = torch.tensor(self.Qs.data)
            self.Gv = torch.tensor(rel.G.data)
            self.ht = torch.tensor(rel.h)
        else:
            raise ValueError(f"kkt layer backend {backend!r}")

    def __call__(self, w_hat):
        import dopt.torch as dt
        if self.backend == "dopt-sparse":
            r = dt.sparse_qp(self.Qv, -w_hat, self.Gv, self.ht, structure=self.structure)
        else:
            r = dt.qp(self.Qt, -w_hat, self.Gt, self.ht)
        if torch.any(r.status != 0):
            bad = int((r.status != 0).sum())
            raise RuntimeError(f"kkt layer: {bad} instances not solved (statuses {torch.unique(r.status).tolist()})")
        return r.x


def train(method, edges, train_set, test_set, *, epochs, batch, lr, gamma, lambd, epsilon, samples, kkt_backend,
          seed):
    """Trains the linear model with `method`; returns a dict of the test
    regret after each epoch, seconds per epoch (training only) and the final
    regret."""
    import dopt.torch as dt
    torch.manual_seed(seed)
    phi_tr, w_tr = train_set
    phi_te, w_te = test_set
    nodes, F = phi_tr.shape[1], phi_tr.shape[2]
    A, b = _ilp_rows(nodes, edges)
    At, bt = torch.tensor(A), torch.tensor(b)
    y_tr, z_tr = exact_solutions(A, b, w_tr)
    y_te, z_te = exact_solutions(A, b, w_te)
    model = torch.nn.Linear(F, 1).double()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    if method.startswith("kkt@"):  # "kkt@0.1": the KKT layer with that gamma
        method, gamma = "kkt", float(method[4:])
    kkt = _KKTLayer(nodes, edges, gamma, kkt_backend) if method == "kkt" else None
    Phi, W = torch.tensor(phi_tr), torch.tensor(w_tr)
    Y, Z = torch.tensor(y_tr), torch.tensor(z_tr)
    gen = np.random.default_rng(seed)

    def regret():
        with torch.no_grad():
            w_hat = model(torch.tensor(phi_te)).squeeze(-1).numpy()
        y_hat, _ = exact_solutions(A, b, w_hat)
        return float(((z_te - (w_te * y_hat).sum(axis=1)).sum()) / z_te.sum())

    history, epoch_seconds = [regret()], []
    for _ in range(epochs):
        t0 = time.perf_counter()
        order = gen.permutation(len(Phi))
        for start in range(0, len(order), batch):
            idx = torch.tensor(order[start:start + batch])
            w_hat = model(Phi[idx]).squeeze(-1)
            w, z = W[idx], Z[idx]
            if method == "two-stage":
                loss = torch.mean((w_hat - w) ** 2)
            elif method == "spo+":
                loss = dt.spo_plus(w_hat, w, Y[idx], z, At, bt, sense="max").mean()
            else:
                if method == "kkt":
                    y = kkt(w_hat)
                elif method == "dbb":
                    y = dt.ilp(w_hat, At, bt, method="dbb", sense="max", lambd=lambd)
                elif method == "perturbed":
                    y = dt.ilp(w_hat, At, bt, method="perturbed", sense="max", epsilon=epsilon, samples=samples)
                else:
                    raise ValueError(f"unknown method {method!r}")
                loss = torch.mean((z - (w * y).sum(-1)) / z)
            opt.zero_grad()
            loss.backward()
            opt.step()
        epoch_seconds.append(time.perf_counter() - t0)
        history.append(regret())
    return {"method": method if method != "kkt" else f"kkt (gamma {gamma:g})", "regret_by_epoch": history,
            "regret": history[-1],
            "seconds_per_epoch": float(np.mean(epoch_seconds)) if epoch_seconds else 0.0}
