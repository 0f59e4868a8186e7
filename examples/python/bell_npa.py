"""Bell inequalities through the NPA relaxation as a batched SDP layer
(docs/CONE.md; the notes' "search for Bell inequalities").

Scenario: two parties, two +-1-valued measurements each (CHSH's). NPA level
1: the moment matrix Gamma over {1, A0, A1, B0, B1} is PSD with a unit
diagonal; a correlation Bell expression sum_xy s_xy <A_x B_y> has the
quantum bound (at this level) max sum_xy s_xy Gamma[A_x, B_y]. As a cone
program: x = the 10 off-diagonal entries of Gamma, svec(Gamma(x)) =
h - G x in the PSD cone of order 5, c = -s on the four correlator entries.

1. CHSH (s = [[1, 1], [1, -1]]): the layer returns Tsirelson's bound 2 sqrt 2.
2. Gradient ascent through the layer on a batch of random expressions s
   (normalised), maximizing quantum bound / classical bound (the classical
   bound by enumerating the 16 deterministic strategies): the batch climbs
   to sqrt 2, CHSH's ratio, the largest possible for correlation
   expressions in this scenario; the found s are CHSH up to relabelings.

Run: python examples/python/bell_npa.py [--batch 256] [--steps 300]
Not done yet (issue 16): the "1+AB" level, I3322, published bounds of other
inequalities, and a comparison of the found expressions beyond CHSH.
"""
import argparse
import itertools
import math

import numpy as np
import torch

import dopt
import dopt.torch

LABELS = ["1", "A0", "A1", "B0", "B1"]
PAIRS = [(i, j) for j in range(5) for i in range(j + 1, 5)]  # (row, col), row > col: x's entries
CORR = {(x, y): PAIRS.index((3 + y, 1 + x)) for x in range(2) for y in range(2)}  # <A_x B_y> = Gamma[B_y, A_x]


def npa_level1():
    """G (15, 10), h (15,): svec(Gamma) = h - G x, Gamma = I + sum_ij x_ij (E_ij + E_ji)"""
    h = dopt.cone.svec(np.eye(5))
    G = np.zeros((15, len(PAIRS)))
    for col, (i, j) in enumerate(PAIRS):
        E = np.zeros((5, 5))
        E[i, j] = E[j, i] = 1
        G[:, col] = -dopt.cone.svec(E)
    return G, h


def objective(s):
    """c (B, 10): minimize -sum s_xy <A_x B_y>"""
    c = torch.zeros(s.shape[0], len(PAIRS), dtype=s.dtype)
    for (x, y), col in CORR.items():
        c[:, col] = -s[:, x, y]
    return c


def classical_bound(s):
    """max over deterministic strategies a_x, b_y in {+-1} of sum s_xy a_x b_y"""
    values = []
    for a0, a1, b0, b1 in itertools.product((-1.0, 1.0), repeat=4):
        a, b = torch.tensor([a0, a1], dtype=s.dtype), torch.tensor([b0, b1], dtype=s.dtype)
        values.append(torch.einsum("bxy,x,y->b", s, a, b))
    return torch.stack(values, 1).max(1).values


def quantum_bound(s, G, h, tol=None):
    out = dopt.torch.cone(objective(s), G, h, s=[5], tol=tol)
    return -(objective(s) * out.x).sum(1), out.status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    Gn, hn = npa_level1()
    G, h = torch.tensor(Gn), torch.tensor(hn)

    chsh = torch.tensor([[[1.0, 1.0], [1.0, -1.0]]], dtype=torch.float64)
    q, st = quantum_bound(chsh, G, h, tol=1e-11)
    print(f"CHSH: quantum bound (NPA level 1) {q.item():.10f}, Tsirelson 2*sqrt(2) = {2 * math.sqrt(2):.10f}, "
          f"classical {classical_bound(chsh).item():.1f}, status {st.item()}")
    assert abs(q.item() - 2 * math.sqrt(2)) < 1e-9

    torch.manual_seed(args.seed)
    s = torch.randn(args.batch, 2, 2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([s], lr=0.05)
    for step in range(args.steps + 1):
        sn = s / s.flatten(1).norm(dim=1)[:, None, None]
        q, st = quantum_bound(sn, G, h)
        ratio = q / classical_bound(sn)
        if step % 50 == 0:
            print(f"step {step:4d}: ratio mean {ratio.mean().item():.6f}, best {ratio.max().item():.6f}, "
                  f"unsolved {(st != 0).sum().item()}")
        if step == args.steps:
            break
        opt.zero_grad()
        (-ratio.sum()).backward()
        opt.step()
    best = ratio.argmax().item()
    sb = (sn[best] / sn[best].abs().max()).detach().numpy()
    print(f"best ratio {ratio[best].item():.8f} (sqrt 2 = {math.sqrt(2):.8f}); its s (scaled):\n{np.round(sb, 4)}")


if __name__ == "__main__":
    main()
