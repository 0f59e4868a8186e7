"""Bell inequalities through the NPA relaxation as a batched SDP layer
(docs/CONE.md, "Bell inequalities"; the notes' "search for Bell inequalities").

Two parties, each with X (Y) +-1-valued measurements. dopt.npa builds the
NPA moment matrix Gamma over the operator list (level 1: 1, A_x, B_y; level
"1+AB": also every A_x B_y; level 2: every word of length <= 2) as data of
the cone layer: x = the moments, svec(Gamma(x)) = h - G x in the PSD cone. A
Bell expression in correlator form,
    beta(s) = sum_x sA_x <A_x> + sum_y sB_y <B_y> + sum_xy sAB_xy <A_x B_y>,
is linear in x, so its quantum bound at a level is one SDP, and a batch of
expressions is one call of dopt.torch.cone, differentiable in s.

1. Known bounds: CHSH at level 1 = Tsirelson's 2 sqrt 2; I3322 (Collins and
   Gisin) at levels 1, 1+AB (and 2 with --level2) against the published
   NPA values 0.375, 0.2514709, 0.2509397 (the quantum value is about
   0.25087538; the classical bound 0, by enumeration).
2. Gradient ascent through the layer on normalised expressions s
   (classical bounds by enumerating the 2^(X+Y) deterministic strategies):
   a) CHSH scenario, correlation expressions, maximizing quantum / classical:
      climbs to sqrt 2 (CHSH, the largest for this scenario);
   b) 3322 scenario at level 1+AB, correlation expressions, the same ratio;
   c) 3322 scenario, full expressions (with marginals), maximizing the gap
      quantum - classical of the unit-norm expression, compared with CHSH's
      and I3322's gaps at the same norm.

Run: python examples/python/bell_npa.py [--batch 16] [--steps 100] [--level2] [--no-search]
"""
import argparse
import itertools
import math

import numpy as np
import torch

import dopt.npa as npa
import dopt.torch


def strategies(X, Y, dtype):
    """every deterministic strategy: a (2^X, X), b (2^Y, Y) in {+-1}"""
    a = torch.tensor(list(itertools.product((-1.0, 1.0), repeat=X)), dtype=dtype)
    b = torch.tensor(list(itertools.product((-1.0, 1.0), repeat=Y)), dtype=dtype)
    return a, b


def classical(sA, sB, sAB):
    """max over deterministic strategies, per instance (differentiable a.e.)"""
    a, b = strategies(sAB.shape[1], sAB.shape[2], sAB.dtype)
    v = (sA @ a.T)[:, :, None] + (sB @ b.T)[:, None, :] + torch.einsum("sx,bxy,ty->bst", a, sAB, b)
    return v.flatten(1).max(1).values


def quantum(S, G, h, sA, sB, sAB, tol=None):
    """the level's bound of each expression and the layer's statuses"""
    c = S.objective(sA, sB, sAB)
    out = dopt.torch.cone(c, G, h, s=[S.size], tol=tol)
    return -(c * out.x).sum(1), out.status


def known_bounds(level2):
    print("== known bounds (dopt.torch.cone, one SDP each)")
    S = npa.Scenario(2, 2, 1)
    G, h = torch.tensor(S.G), torch.tensor(S.h)
    _, sA, sB, sAB = (torch.tensor(v, dtype=torch.float64)[None] if i else v for i, v in enumerate(npa.chsh()))
    q, st = quantum(S, G, h, sA, sB, sAB, tol=1e-11)
    print(f"CHSH  level 1   : {q.item():.10f}   Tsirelson 2 sqrt 2 = {2 * math.sqrt(2):.10f}, "
          f"classical {classical(sA, sB, sAB).item():.1f}, status {st.item()}")
    const, *rest = npa.i3322()
    sA, sB, sAB = (torch.tensor(v, dtype=torch.float64)[None] for v in rest)
    published = {1: 0.375, "1+AB": 0.2514709, 2: 0.2509397}
    for level in (1, "1+AB", 2) if level2 else (1, "1+AB"):
        S = npa.Scenario(3, 3, level)
        q, st = quantum(S, torch.tensor(S.G), torch.tensor(S.h), sA, sB, sAB, tol=1e-9)
        print(f"I3322 level {str(level):4s}: {const + q.item():.7f}   published {published[level]:.7f}, "
              f"classical {const + classical(sA, sB, sAB).item():.1f}, status {st.item()} "
              f"(Gamma {S.size}x{S.size}, {len(S.moments)} moments)")
    print("I3322 quantum value (higher levels, Pal and Vertesi): about 0.25087538")


def ascend(S, X, Y, batch, steps, seed, correlations_only, lr=0.1):
    """gradient ascent on unit-norm expressions; returns the best (score, sA, sB, sAB)"""
    G, h = torch.tensor(S.G), torch.tensor(S.h)
    torch.manual_seed(seed)
    start = torch.randn(batch, X + Y + X * Y, dtype=torch.float64)
    # marginals start small: an expression dominated by them has a deterministic
    # optimum in both the quantum and the classical sets, a zero gap and no gradient
    start[:, :X + Y] *= 0.1
    params = start.requires_grad_()
    opt = torch.optim.Adam([params], lr=lr)
    mask = torch.ones(X + Y + X * Y, dtype=torch.float64)
    if correlations_only:
        mask[:X + Y] = 0
    for step in range(steps + 1):
        v = params * mask
        v = v / v.norm(dim=1, keepdim=True)
        sA, sB, sAB = v[:, :X], v[:, X:X + Y], v[:, X + Y:].reshape(batch, X, Y)
        q, st = quantum(S, G, h, sA, sB, sAB)
        cl = classical(sA, sB, sAB)
        score = q / cl if correlations_only else q - cl
        if step % max(1, steps // 4) == 0 or step == steps:
            print(f"  step {step:4d}: {'ratio' if correlations_only else 'gap'} mean {score.mean().item():.6f}, "
                  f"best {score.max().item():.6f}, unsolved {int(((st != 0) & (st != 6)).sum())}")
        if step == steps:
            break
        opt.zero_grad()
        (-score.sum()).backward()
        opt.step()
    i = int(score.argmax())
    return score[i].item(), sA[i].detach(), sB[i].detach(), sAB[i].detach()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--batch", type=int, default=16, help="expressions optimized at once (default 16)")
    ap.add_argument("--steps", type=int, default=100, help="Adam steps per search (default 100)")
    ap.add_argument("--seed", type=int, default=0, help="torch seed of the starting expressions (default 0)")
    ap.add_argument("--level2", action="store_true", help="also I3322 at NPA level 2 (a 28x28 SDP, seconds)")
    ap.add_argument("--no-search", action="store_true", help="only the known bounds")
    args = ap.parse_args()
    known_bounds(args.level2)
    if args.no_search:
        return

    print("\n== a) CHSH scenario, level 1, correlation expressions: maximize quantum / classical")
    r, _, _, sAB = ascend(npa.Scenario(2, 2, 1), 2, 2, args.batch, args.steps, args.seed, True)
    print(f"  best ratio {r:.6f} (CHSH: sqrt 2 = {math.sqrt(2):.6f}); its sAB / max|sAB|:\n"
          f"{np.round((sAB / sAB.abs().max()).numpy(), 3)}")

    S = npa.Scenario(3, 3, "1+AB")
    print("\n== b) 3322 scenario, level 1+AB, correlation expressions: maximize quantum / classical")
    r, _, _, sAB = ascend(S, 3, 3, args.batch, args.steps, args.seed, True)
    print(f"  best ratio {r:.6f} (CHSH embedded: {math.sqrt(2):.6f}); its sAB / max|sAB|:\n"
          f"{np.round((sAB / sAB.abs().max()).numpy(), 3)}")

    print("\n== c) 3322 scenario, level 1+AB, full expressions (marginals too): maximize quantum - classical, |s| = 1")
    gap, sA, sB, sAB = ascend(S, 3, 3, args.batch, args.steps, args.seed, False)
    const, *rest = npa.i3322()
    norm = math.sqrt(sum(float((np.asarray(v) ** 2).sum()) for v in rest))
    print(f"  best gap {gap:.6f}; at the same norm CHSH's is {(2 * math.sqrt(2) - 2) / 2:.6f} and I3322's "
          f"{0.2514709 / norm:.6f} (level 1+AB)")
    print(f"  its sA {np.round(sA.numpy(), 3)}, sB {np.round(sB.numpy(), 3)}, sAB:\n"
          f"{np.round(sAB.numpy(), 3)}")


if __name__ == "__main__":
    main()
