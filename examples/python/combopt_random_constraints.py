#!/usr/bin/env python
"""CombOptNet's random-constraints task (Paulus et al. 2021, Sec. 4.1) through the torch layer.

The same experiment as the C demo `dopt demo combopt --task rc-binary|rc-dense`
(examples/demo_combopt.c), written with dopt.torch.ilp(method="combopt"):

  - per dataset seed, hidden constraints: n = 16, m in {1, 2, 4, 8} unit-normal rows through
    origins in the central half of the box at distance r = 0.2 box widths, signs flipped so a
    random corner is feasible; box [0, 1] (binary) or [-5, 5] (dense); 1,600 training and
    1,000 test costs, random unit vectors; labels y*(c) from dopt's exact solver;
  - a layer with as many learnable constraints in the learnable-origin form
    a_k'(y - o_k) <= r_k (b_k = r_k + a_k'o_k, written in torch: autograd carries the
    gradient from b to a, r, o), initialized as the paper does (unit normals, origins in the
    central half, r = 0.2 widths);
  - Adam (lr 5e-4, batch 8, 100 epochs) on the MSE between y and y* scaled to [-1/2, 1/2]^n,
    the gradient of y from dopt's CombOptNet rule (tau = 0.5), that of a, r, o from autograd;
  - accuracy: share of the test costs whose predicted y equals y*; "box-only": share where
    ignoring every constraint already gives y* (a property of the data).

The random numbers are the C demo's: the same splitmix64 streams and seeds for the hidden
constraints, costs, initial rows and shuffles, the same Adam update and loss gradient, operation
by operation, so seed s here trains on the same dataset from the same start as seed s of the C
demo and should end at the same accuracy (--compare-c counts the runs that do; the box-only
column depends on the data alone and must agree everywhere).

  python examples/python/combopt_random_constraints.py --quick     # about a minute
  python examples/python/combopt_random_constraints.py --seeds 10  # the C demo's table
"""
from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

import dopt.ilp
import dopt.torch

TASKS = {"rc-binary": (0, "RC binary", 0.0, 1.0), "rc-dense": (1, "RC dense", -5.0, 5.0)}
MS = (1, 2, 4, 8)
# Paulus et al. 2021, Table 8 (learnable origins, Delta basis, tau 0.5), as the C demo prints
PAPER = {"rc-binary": (97.8, 94.2, 77.4, 46.5), "rc-dense": (87.3, 70.2, 29.6, 2.3)}
N_VARS, NTRAIN, NTEST, BATCH, LR, TAU = 16, 1600, 1000, 8, 5e-4, 0.5
MASK = (1 << 64) - 1


class SplitMix64:
    """The C demo's generator (kernels/splitmix.h): splitmix64, uniforms with 53 bits,
    normals by Box-Muller (one of the pair)."""

    def __init__(self, state: int):
        self.s = state & MASK

    def next(self) -> int:
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self) -> float:
        return (self.next() >> 11) * (1.0 / 9007199254740992.0)

    def normal(self) -> float:
        u, v = self.uniform(), self.uniform()
        return math.sqrt(-2.0 * math.log(max(u, 1e-300))) * math.cos(6.283185307179586 * v)

    def unit_vector(self, n: int) -> np.ndarray:
        v = [self.normal() for _ in range(n)]
        s = 0.0
        for x in v:   # summed in the C order (numpy's pairwise sum rounds differently)
            s += x * x
        return np.array(v) / math.sqrt(s)


def hidden_rows(rng: SplitMix64, n: int, m: int, lo: float, hi: float):
    """CombOptNet's random constraints, drawn as dopt_gen_combopt_rows draws them."""
    w, center = hi - lo, 0.5 * (lo + hi)
    corner = np.array([lo if rng.uniform() < 0.5 else hi for _ in range(n)])
    A, b = np.zeros((m, n)), np.zeros(m)
    for k in range(m):
        a, r = rng.unit_vector(n), 0.2 * w
        o = np.array([center + (rng.uniform() - 0.5) * 0.5 * w for _ in range(n)])
        ac = ao = 0.0
        for j in range(n):   # the C order
            ac += a[j] * corner[j]
            ao += a[j] * o[j]
        if ac > r + ao:   # the corner violates the row: flip it
            a, ao = -a, -ao
        A[k], b[k] = a, r + ao
    return A, b


def make_dataset(task: str, mi: int, seed: int):
    t, _, lo, hi = TASKS[task]
    m = MS[mi]
    rng = SplitMix64(0x5EED0000 + 7919 * seed + 104729 * (t * 16 + mi))
    A, b = hidden_rows(rng, N_VARS, m, lo, hi)
    c = np.stack([rng.unit_vector(N_VARS) for _ in range(NTRAIN + NTEST)])
    r = dopt.ilp.solve(c, A, b, lo, hi)
    if not np.all(r.status == 0):
        raise RuntimeError(f"{task} m={m} seed {seed}: {int(np.sum(r.status != 0))} labels not solved")
    return torch.as_tensor(c), torch.as_tensor(np.asarray(r.y))


def origin_to_b(a, r, o):
    """Learnable origins: a_k'(y - o_k) <= r_k, i.e. b_k = r_k + a_k'o_k, differentiable (autograd
    gives dopt_ilp_origin_backward's rule). Summed sequentially from r_k, as
    dopt_ilp_origin_to_b does (torch's CPU cumsum is a sequential scan), so the bits agree
    with the C demo's; r + (a * o).sum(1) is the same up to rounding."""
    return torch.cat([r.unsqueeze(1), a * o], 1).cumsum(1)[:, -1]


class Adam:
    """The C demo's Adam step (src/cli/cli_args.c: cli_adam_step), in float64, on numpy views
    of the (CPU) parameters: operation by operation as the C code (1 - b1 is not 0.1 in
    float64, and torch may divide by a scalar as a multiplication by its reciprocal), so
    the runs agree with the C demo's to the bit. torch.optim.Adam is the same method up to
    rounding."""

    def __init__(self, params, lr):
        self.params, self.lr, self.t = params, lr, 0
        self.m1 = [np.zeros(tuple(p.shape)) for p in params]
        self.m2 = [np.zeros(tuple(p.shape)) for p in params]

    @torch.no_grad()
    def step(self):
        b1, b2 = 0.9, 0.999
        self.t += 1
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for p, m1, m2 in zip(self.params, self.m1, self.m2):
            x, g = p.numpy(), p.grad.numpy()   # x shares p's memory
            m1 *= b1
            m1 += (1 - b1) * g
            m2 *= b2
            m2 += (1 - b2) * g * g
            x -= self.lr * (m1 / c1) / (np.sqrt(m2 / c2) + 1e-8)
            p.grad = None


def train_one(task: str, mi: int, seed: int, epochs: int):
    t0 = time.perf_counter()
    t, _, lo, hi = TASKS[task]
    m, n, w = MS[mi], N_VARS, hi - lo
    c, ystar = make_dataset(task, mi, seed)
    lb = torch.full((n,), lo, dtype=torch.float64)
    ub = torch.full((n,), hi, dtype=torch.float64)
    # the learnable rows, initialized as the paper (and the C demo) does
    rng = SplitMix64(0xC0FFEE + 31 * seed + 7 * mi + 1009 * t)
    a0, o0 = np.zeros((m, n)), np.zeros((m, n))
    for k in range(m):
        a0[k] = rng.unit_vector(n)
        o0[k] = [0.5 * (lo + hi) + (rng.uniform() - 0.5) * 0.5 * w for _ in range(n)]
    a = torch.tensor(a0, requires_grad=True)
    r = torch.full((m,), 0.2 * w, dtype=torch.float64, requires_grad=True)
    o = torch.tensor(o0, requires_grad=True)
    opt = Adam([a, r, o], LR)
    perm = list(range(NTRAIN))
    for _ in range(epochs):
        for i in range(NTRAIN - 1, 0, -1):   # the C demo's Fisher-Yates shuffle
            k = int((i + 1) * rng.uniform())
            perm[i], perm[k] = perm[k], perm[i]
        order = torch.tensor(perm)
        for s0 in range(0, NTRAIN - BATCH + 1, BATCH):
            idx = order[s0:s0 + BATCH]
            b = origin_to_b(a, r, o)
            y = dopt.torch.ilp(c[idx], a, b, lb, ub, method="combopt", tau=TAU)
            # loss = mean(((y - y*) / w)^2); its gradient in y written out as the C demo computes it
            # (2 (y - y*) / (w^2 B n)), so that the runs agree to the bit with the C demo's
            dy = 2 * (y.detach() - ystar[idx]) / (w * w * BATCH * n)
            y.backward(dy)
            opt.step()
    with torch.no_grad():
        b = origin_to_b(a, r, o)
        res = dopt.ilp.solve(c[NTRAIN:], a, b, lb, ub)
        yt = ystar[NTRAIN:]
        hit = ((res.status == 0) & ((res.y - yt).abs().amax(1) <= 1e-5)).double().mean().item()
        ybox = torch.where(c[NTRAIN:] < 0, hi, lo)
        box = ((ybox - yt).abs().amax(1) <= 1e-5).double().mean().item()
    return 100 * hit, 100 * box, time.perf_counter() - t0


def _mean_sd(xs):
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{statistics.fmean(xs):.1f} +- {sd:.1f}"


def run_c_demo(dopt_cmd, tasks, seeds, epochs):
    """Runs the C demo on one thread per run and reads its per-run lines:
    {(task name, m, seed): (accuracy, box-only accuracy, seconds)}."""
    out = {}
    pat = re.compile(r"\] (RC binary|RC dense) m=(\d+) seed (\d+): accuracy ([\d.]+)% "
                     r"\(box-only ([\d.]+)%\) in ([\d.]+) s")
    for task in tasks:
        cmd = [dopt_cmd, "demo", "combopt", "--task", task, "--seeds", str(seeds), "--epochs", str(epochs)]
        print(f"running {' '.join(cmd)}", flush=True)
        p = subprocess.run(cmd, capture_output=True, text=True, check=True)
        for line in p.stderr.splitlines():
            mt = pat.search(line)
            if mt:
                out[(mt[1], int(mt[2]), int(mt[3]))] = (float(mt[4]), float(mt[5]), float(mt[6]))
                print(f"  C: {line.split('] ', 1)[1]}", file=sys.stderr, flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", default="all", choices=("rc-binary", "rc-dense", "all"))
    ap.add_argument("--m", default="1,2,4,8", help="numbers of constraints among 1,2,4,8")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="RC binary m = 1, 2, two seeds, 10 epochs")
    ap.add_argument("--compare-c", metavar="DOPT", help="the dopt command (e.g. build-cpu/dopt): also run "
                    "`DOPT demo combopt` on the same tasks, seeds and epochs and print its numbers beside")
    a = ap.parse_args(argv)
    if a.quick:
        a.task, a.m, a.seeds, a.epochs = "rc-binary", "1,2", 2, 10
    if a.compare_c and a.first_seed != 0:
        ap.error("--compare-c: the C demo runs seeds 0.., so --first-seed must be 0")
    tasks = ["rc-binary", "rc-dense"] if a.task == "all" else [a.task]
    mis = [MS.index(int(v)) for v in a.m.split(",")]
    seeds = range(a.first_seed, a.first_seed + a.seeds)
    torch.set_num_threads(1)
    print(f"CombOptNet constraint learning through dopt.torch.ilp: {len(tasks) * len(mis) * a.seeds} runs "
          f"(seeds {seeds.start}..{seeds.stop - 1}, {a.epochs} epochs, batch {BATCH}, Adam {LR:g}, tau {TAU}); "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    t0 = time.perf_counter()
    rows = []
    for task in tasks:
        for mi in mis:
            acc, box, secs = [], [], []
            for seed in seeds:
                ac, bx, sec = train_one(task, mi, seed, a.epochs)
                acc.append(ac), box.append(bx), secs.append(sec)
                print(f"{TASKS[task][1]} m={MS[mi]} seed {seed}: accuracy {ac:.1f}% (box-only {bx:.1f}%) "
                      f"in {sec:.1f} s", file=sys.stderr, flush=True)
            rows.append((task, mi, acc, box, secs))
    c_runs = run_c_demo(a.compare_c, tasks, a.seeds, a.epochs) if a.compare_c else {}
    print(f"\naccuracy (y = y* on {NTEST:,} test costs, %), mean +- std over seeds; "
          "paper = Paulus et al. 2021, Tab. 8")
    head = "| task | m | dopt.torch accuracy % (mean +- std) | seeds | paper % | box-only % | s per run |"
    if c_runs:
        head += " C demo accuracy % | C s per run | runs with the same accuracy (box-only) |"
    print(head)
    print("| --- | --: | --: | --: | --: | --: | --: |" + (" --: | --: | --: |" if c_runs else ""))
    for task, mi, acc, box, secs in rows:
        line = (f"| {TASKS[task][1]} | {MS[mi]} | {_mean_sd(acc)} | {len(acc)} | "
                f"{PAPER[task][mi]} | {statistics.fmean(box):.1f} | {statistics.fmean(secs):.1f} |")
        if c_runs:
            cr = [c_runs.get((TASKS[task][1], MS[mi], s)) for s in seeds]
            if all(cr):
                same = sum(abs(x[0] - y) < 0.05 for x, y in zip(cr, acc))
                same_box = sum(abs(x[1] - y) < 0.05 for x, y in zip(cr, box))
                line += (f" {_mean_sd([x[0] for x in cr])} | {statistics.fmean(x[2] for x in cr):.1f} | "
                         f"{same} / {len(acc)} ({same_box} / {len(acc)}) |")
            else:
                line += " (missing) | | |"
        print(line)
    print(f"({len(tasks) * len(mis) * a.seeds} runs in {time.perf_counter() - t0:.0f} s; "
          f"load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
