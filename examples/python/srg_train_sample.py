"""SRG in a few lines with dopt: train a score network on solutions of a
small generated family of set-cover MILPs, then sample guided candidates for
unseen instances and compare with the untrained network.

    min c'x  s.t.  A x >= b,  x in {0,1}^n      (SRG's constraint form)

A (which sets cover which elements) is shared by the family; each instance
draws its costs c and which elements must be covered (b in {0,1}^m). The
optimal solutions for training come from scipy's HiGHS MILP solver.

Run:  PYTHONPATH=python python examples/python/srg_train_sample.py
(needs torch and scipy; about 20-40 s on two CPU cores)
"""

import argparse
import contextlib
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import dopt.torch as dt


@contextlib.contextmanager
def _quiet_stdout():
    """HiGHS (inside scipy) sometimes prints to the process's stdout."""
    import sys
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def make_family(n_sets, n_elems, count, rng, A=None):
    """Shared cover matrix A (m, n), per-instance b (count, m), c (count, n)
    and their optimal solutions x* (count, n) and objectives."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    if A is None:
        A = (rng.random((n_elems, n_sets)) < 0.25).astype(np.float64)
        for i in range(n_elems):  # every element coverable by at least two sets
            while A[i].sum() < 2:
                A[i, rng.integers(n_sets)] = 1
    b = (rng.random((count, n_elems)) < 0.7).astype(np.float64)
    c = rng.integers(1, 11, size=(count, n_sets)).astype(np.float64)
    xs = np.zeros((count, n_sets))
    with _quiet_stdout():
        for k in range(count):  # data generation only: one MILP per instance
            res = milp(c[k], constraints=LinearConstraint(A, lb=b[k], ub=np.inf), integrality=np.ones(n_sets),
                       bounds=Bounds(0, 1))
            xs[k] = np.round(res.x)
    return A, b, c, xs, (c * xs).sum(1)


class ScoreNet(torch.nn.Module):
    """eps_hat(x_t, t | instance): an MLP on [x_t, c / 10, b, time embedding]."""

    def __init__(self, n, m, hidden=256, temb=16):
        super().__init__()
        self.temb = temb
        self.net = torch.nn.Sequential(torch.nn.Linear(2 * n + m + temb, hidden), torch.nn.SiLU(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.SiLU(),
                                       torch.nn.Linear(hidden, n))

    def forward(self, x, t, feat):
        half = self.temb // 2
        freq = torch.exp(-math.log(1000.0) * torch.arange(half, dtype=x.dtype) / half)
        ang = t.to(x.dtype)[:, None] * freq[None, :]
        return self.net(torch.cat([x, feat, torch.sin(ang), torch.cos(ang)], dim=1))


def evaluate(model, guide, feat, abar, opt_obj, samples, guided, guidance, seed):
    """Samples `samples` candidates per instance; returns (fraction of
    instances whose best candidate is feasible, mean objective / optimum over
    those, fraction of instances solved to optimality)."""
    rows_feat = feat.repeat_interleave(samples, 0)
    x = dt.srg_sample(lambda x, t: model(x, t, rows_feat), guide, abar, samples=samples, seed=seed,
                      guided=guided, guidance=guidance, dtype=torch.float32)
    cand = dt.diffusion_candidates(guide, x.clamp(0, 1))  # binary variables: clip to their bounds, then round
    best = torch.arange(guide.batch) * samples + cand.best.long()
    feasible = cand.violation.reshape(-1)[best] <= 1e-6
    ratio = (cand.objective.reshape(-1)[best] / torch.as_tensor(opt_obj, dtype=torch.float32))[feasible]
    optimal = (ratio <= 1 + 1e-6).sum().item() / guide.batch
    return feasible.float().mean().item(), (ratio.mean().item() if feasible.any() else float("nan")), optimal


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, default=20)
    ap.add_argument("--elements", type=int, default=15)
    ap.add_argument("--train", type=int, default=600)
    ap.add_argument("--test", type=int, default=48)
    ap.add_argument("--iters", type=int, default=3000)
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--gamma-o", type=float, default=0.01, help="objective term of the eq. 19 training target")
    ap.add_argument("--gamma-c", type=float, default=0.1, help="constraint term of the eq. 19 training target")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (small model: 1 is fastest)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    A, b, c, xs, _ = make_family(args.sets, args.elements, args.train, rng)
    _, bt, ct, xt_star, opt_t = make_family(args.sets, args.elements, args.test, rng, A=A)
    print(f"{args.train} training / {args.test} test set-cover instances (n = {args.sets}, m = {args.elements}), "
          f"solved in {time.time() - t0:.1f} s")

    f32 = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    abar = dt.diffusion_schedule(args.T, "linear")
    # the test MILPs (A shared, b and c per instance), built once; training batches build theirs from the
    # sampled instances and their solutions x*
    test_guide = dt.DiffusionGuide(f32(A), f32(bt), f32(ct))
    feat, feat_t = torch.cat([f32(c) / 10, f32(b)], 1), torch.cat([f32(ct) / 10, f32(bt)], 1)
    x0 = f32(xs)
    # eq. 19's guidance terms in the training target
    target_weights = dt.Guidance(gamma_o=args.gamma_o, gamma_c=args.gamma_c, lam=1.0)
    sample_weights = dt.Guidance(gamma_o=0.0, gamma_c=1.0, lam=1.0)   # P guidance at sampling (no x* there)

    model = ScoreNet(args.sets, args.elements, hidden=args.hidden)
    # a fixed held-out batch (test instances, their optimal solutions, fixed timesteps and noise): its loss
    # is a deterministic learning curve
    val_guide = dt.DiffusionGuide(f32(A), f32(bt), f32(ct), xref=f32(xt_star))
    val_xt, val_t, val_target = dt.srg_training_batch(f32(xt_star), val_guide, abar, seed=12345,
                                                      generator=torch.Generator().manual_seed(1),
                                                      guidance=target_weights)

    def val_loss():
        with torch.no_grad():
            return F.mse_loss(model(val_xt, val_t, feat_t), val_target).item()

    def sample_quality():
        return {g: evaluate(model, test_guide, feat_t, abar, opt_t, args.samples, g, sample_weights, seed=1)
                for g in (False, True)}

    before = sample_quality()

    # ---- training loop: per-row timesteps, eq. 19 targets, MSE ----
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.iters)
    gen = torch.Generator().manual_seed(args.seed)
    batch = 128
    t0 = time.time()
    running = None
    for it in range(1, args.iters + 1):
        idx = torch.randint(0, args.train, (batch,), generator=gen)
        guide = dt.DiffusionGuide(f32(A), f32(b)[idx], f32(c)[idx], xref=x0[idx])
        xt, t, target = dt.srg_training_batch(x0[idx], guide, abar, generator=gen, guidance=target_weights)
        loss = F.mse_loss(model(xt, t, feat[idx]), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        if it == 1 or it % (args.iters // 10) == 0:
            print(f"  iter {it:5d}  training loss (running mean) {running:.4f}   held-out loss {val_loss():.4f}")
    print(f"trained {args.iters} iterations in {time.time() - t0:.1f} s")

    # ---- sampling loop: srg_sample runs model + dopt steps; candidates pick the best ----
    after = sample_quality()
    print(f"\nbest of {args.samples} DDPM samples ({args.T} steps) per test instance, clipped to [0, 1] and rounded "
          "(the untrained network's samples saturate: every set chosen, feasible but costly):")
    print(f"  {'network':10s} {'guidance':9s} {'feasible':>9s} {'objective / optimum':>20s} {'optimal':>8s}")
    for name, res in (("untrained", before), ("trained", after)):
        for g in (False, True):
            feas, ratio, optimal = res[g]
            print(f"  {name:10s} {'P' if g else 'none':9s} {feas:9.1%} {ratio:20.3f} {optimal:8.1%}")


if __name__ == "__main__":
    main()
