#!/usr/bin/env python3
"""OptNet's small Sudoku task, trained through dopt and through qpth.

The model is OptNet's equality-constrained QP layer for 4x4 Sudoku (Amos &
Kolter 2017, section 5.4): a puzzle is one-hot encoded as a vector of
4 x 4 cells x 4 digits = 64 entries, and the layer outputs

    x* = argmin 0.1/2 |x|^2 - puzzle'x   s.t.  A x = A exp(z0),  x >= 0

with the 40 x 64 matrix A (the rank of 4x4 Sudoku's exact-cover constraints)
and z0 learned from a random start; the loss is the mean squared error
between x* and the one-hot solution. Both trainings start from the same
parameters, see the same mini-batches in the same order and use Adam; the
only difference is the QP layer: dopt.torch.QPFunction or qpth's QPFunction
(same call signature). The two trainings run in alternation, epoch by epoch,
so that they share the load of the machine.

Shared inputs and the gradient rule: A and b (= A exp(z0)) are the same for
every puzzle of a batch. dopt gives a shared input the summed gradient over
the batch (autograd's rule for broadcasting); qpth gives the mean. The
qpth run multiplies its parameters' gradients by the batch size so both
optimizers see the same gradients (Adam would hide the constant factor up to
its eps, but then the comparison would not be exact).

Why this task: it is one of qpth/OptNet's own demonstrations, its QP (n = 64,
m = 64, k = 40) is small enough for a few epochs of both libraries in a
minute or two on a 2-core machine, and every parameter of the model sits
inside the QP (A and b), so the comparison exercises the layer's gradients
for A and b, not only for p.

What to compare: the losses. The learned parameters themselves are
sensitive to tiny gradient differences here (Adam at lr 0.1 moves every
coordinate by about lr whatever its gradient's size, and the QP is
degenerate: many x_i = 0 with zero multipliers): two dopt runs at tol 1e-12
and 1e-10 end 21 % apart in the row space of A after 15 steps, more than
dopt and qpth at 1e-12 (5 %), while the losses stay within 1 % (dopt vs
qpth: 3e-4).

Run:  python examples/python/optnet_sudoku.py [--epochs 5 --train 300 --batch 100]
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

N, BOX = 4, 2          # 4x4 board, 2x2 boxes
NX = N * N * N         # one entry per (row, column, digit)
NEQ = 40               # rank of the 4x4 Sudoku constraint matrix


def all_solutions():
    """Every valid 4x4 Sudoku grid (there are 288), by backtracking."""
    grids, grid = [], np.zeros((N, N), dtype=np.int64)

    def ok(r, c, v):
        for cell in range(r * N + c):  # the cells filled so far
            rr, cc = divmod(cell, N)
            same_box = rr // BOX == r // BOX and cc // BOX == c // BOX
            if (rr == r or cc == c or same_box) and grid[rr, cc] == v:
                return False
        return True

    def fill(cell):
        if cell == N * N:
            grids.append(grid.copy())
            return
        r, c = divmod(cell, N)
        for v in range(N):
            if ok(r, c, v):
                grid[r, c] = v
                fill(cell + 1)
        grid[r, c] = 0

    fill(0)
    return np.array(grids)


def make_data(count, blanks, rng):
    """(puzzles, solutions), one-hot (count, 4, 4, 4) float64; each puzzle is
    a random grid with `blanks` random cells emptied (all-zero one-hot)."""
    grids = all_solutions()
    pick = grids[rng.integers(0, len(grids), count)]
    sol = np.eye(N)[pick]                                   # (count, 4, 4, 4)
    mask = np.ones((count, N * N))
    for i in range(count):
        mask[i, rng.choice(N * N, blanks, replace=False)] = 0
    puz = sol * mask.reshape(count, N, N, 1)
    return torch.from_numpy(puz), torch.from_numpy(sol)


class OptNetSudoku(torch.nn.Module):
    """OptNet's equality-constrained Sudoku layer; `qp_function` is a
    QPFunction class with qpth's signature (dopt.torch or qpth.qp)."""

    def __init__(self, qp_function, eps, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.A = torch.nn.Parameter(torch.rand(NEQ, NX, dtype=torch.float64, generator=g))
        self.log_z0 = torch.nn.Parameter(torch.zeros(NX, dtype=torch.float64))
        self.register_buffer("Q", 0.1 * torch.eye(NX, dtype=torch.float64))
        self.register_buffer("G", -torch.eye(NX, dtype=torch.float64))
        self.register_buffer("h", torch.zeros(NX, dtype=torch.float64))
        if qp_function.__module__.startswith("qpth"):
            # OptNet's Sudoku setting: eps 1e-12 (qpth's default), 20 iterations
            self.qp = qp_function(eps=eps, verbose=-1, check_Q_spd=False)
        else:
            # dopt reads eps 1e-12 as "its default tolerance" (1e-8); tol= sets
            # its relative tolerance directly, with its default 50 iterations
            self.qp = qp_function(eps=eps, tol=eps, maxIter=50)

    def forward(self, puzzles):
        B = puzzles.shape[0]
        p = -puzzles.reshape(B, NX)
        b = self.A @ self.log_z0.exp()
        return self.qp(self.Q, p, self.G, self.h, self.A, b).reshape(puzzles.shape)


def evaluate(model, puz, sol):
    with torch.no_grad():
        out = model(puz)
        loss = torch.nn.functional.mse_loss(out, sol).item()
        boards = (out.argmax(-1) == sol.argmax(-1)).reshape(len(puz), -1).all(1).double().mean().item()
    return loss, boards


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--train", type=int, default=300)
    ap.add_argument("--test", type=int, default=100)
    ap.add_argument("--blanks", type=int, default=8, help="empty cells per puzzle (of 16)")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--eps", type=float, default=1e-12,
                    help="solver tolerance, both libraries (qpth's default, which OptNet's Sudoku used)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--libs", default="dopt,qpth")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    import dopt
    import dopt.torch
    dopt.set_num_threads(a.threads)
    layers = {}
    for lib in a.libs.split(","):
        if lib == "dopt":
            layers[lib] = dopt.torch.QPFunction
        elif lib == "qpth":
            from qpth.qp import QPFunction
            layers[lib] = QPFunction
        else:
            sys.exit("unknown library %r (dopt, qpth)" % lib)

    rng = np.random.default_rng(a.seed)
    tr_puz, tr_sol = make_data(a.train, a.blanks, rng)
    te_puz, te_sol = make_data(a.test, a.blanks, rng)
    models = {lib: OptNetSudoku(fn, a.eps, a.seed) for lib, fn in layers.items()}
    opts = {lib: torch.optim.Adam(m.parameters(), lr=a.lr) for lib, m in models.items()}
    print("OptNet 4x4 Sudoku: n = %d, m = %d (x >= 0), k = %d (learned A), float64; %d train / %d test puzzles "
          "with %d blanks, batch %d, Adam lr %g, solver eps %g, %d threads; libraries: %s"
          % (NX, NX, NEQ, a.train, a.test, a.blanks, a.batch, a.lr, a.eps, a.threads, ", ".join(models)))

    # the gradients at the common starting point, one batch (qpth's scaled by B)
    grads = {}
    for lib, m in models.items():
        m.zero_grad()
        torch.nn.functional.mse_loss(m(tr_puz[:a.batch]), tr_sol[:a.batch]).backward()
        scale = a.batch if lib == "qpth" else 1
        grads[lib] = torch.cat([p.grad.reshape(-1) * scale for p in m.parameters()])
    if len(grads) == 2:
        g0, g1 = grads.values()
        print("gradient at the start, one batch: |g_dopt - g_qpth| / |g_qpth| = %.2e"
              % ((g0 - g1).norm() / g1.norm()).item())

    history = {lib: [] for lib in models}
    perm_rng = torch.Generator().manual_seed(a.seed + 1)
    for epoch in range(1, a.epochs + 1):
        perm = torch.randperm(a.train, generator=perm_rng)
        for lib, m in models.items():
            opt = opts[lib]
            t0, total = time.perf_counter(), 0.0
            for s in range(0, a.train, a.batch):
                idx = perm[s:s + a.batch]
                opt.zero_grad()
                loss = torch.nn.functional.mse_loss(m(tr_puz[idx]), tr_sol[idx])
                loss.backward()
                if lib == "qpth":  # qpth averages the gradient of a shared input; dopt sums (see above)
                    for p in m.parameters():
                        p.grad.mul_(len(idx))
                opt.step()
                total += loss.item() * len(idx)
            dt = time.perf_counter() - t0
            te_loss, te_boards = evaluate(m, te_puz, te_sol)
            history[lib].append((total / a.train, te_loss, te_boards, dt))
        print("epoch %2d  " % epoch + "  ".join(
            "%s: train %.5f test %.5f solved %5.1f%% %6.2f s" % (lib, h[-1][0], h[-1][1], 100 * h[-1][2], h[-1][3])
            for lib, h in history.items()))
        sys.stdout.flush()

    # the markdown table for bench/RESULTS.md
    libs = list(history)
    print("\n| epoch | " + " | ".join("%s train loss | %s test loss | %s test boards solved | %s s/epoch"
                                        % (l, l, l, l) for l in libs) + " |")
    print("| --: | " + " | ".join("--: | --: | --: | --:" for _ in libs) + " |")
    for e in range(a.epochs):
        print("| %d | " % (e + 1) + " | ".join("%.5f | %.5f | %.1f %% | %.2f" % (history[l][e][0], history[l][e][1],
                                                                                 100 * history[l][e][2], history[l][e][3])
                                               for l in libs) + " |")
    if len(libs) == 2:
        h0, h1 = history[libs[0]], history[libs[1]]
        t0 = np.median([h[3] for h in h0])
        t1 = np.median([h[3] for h in h1])
        print("\nmedian time per epoch: %s %.2f s, %s %.2f s (%s / %s = %.1fx)" % (libs[0], t0, libs[1], t1, libs[1],
                                                                                   libs[0], t1 / t0))
        print("final train loss: %s %.6f, %s %.6f (relative difference %.1e); final test loss %.6f vs %.6f"
              % (libs[0], h0[-1][0], libs[1], h1[-1][0], abs(h0[-1][0] - h1[-1][0]) / abs(h1[-1][0]),
                 h0[-1][1], h1[-1][1]))
        # The layer sees A only through the constraint set {x : A x = A z0}: any
        # invertible M gives the same layer for M A, so compare the row spaces
        # (orthogonal projectors onto them) and z0's component in the row space
        # (the constraint set is z0 + null(A)).
        P = {}
        for lib in libs:
            A = models[lib].A.detach()
            P[lib] = A.T @ torch.linalg.solve(A @ A.T, A)
        z = {lib: P[lib] @ models[lib].log_z0.detach().exp() for lib in libs}
        print("learned constraints after training: |P_%s - P_%s| / |P_%s| = %.1e (P: projector onto the row space "
              "of A), |P z0_%s - P z0_%s| / |P z0_%s| = %.1e" % (
                  libs[0], libs[1], libs[1], ((P[libs[0]] - P[libs[1]]).norm() / P[libs[1]].norm()).item(),
                  libs[0], libs[1], libs[1], ((z[libs[0]] - z[libs[1]]).norm() / z[libs[1]].norm()).item()))
        A0, A1 = models[libs[0]].A.detach(), models[libs[1]].A.detach()
        print("(the matrices themselves: |A_%s - A_%s| / |A_%s| = %.1e)" % (libs[0], libs[1], libs[1],
                                                                           ((A0 - A1).norm() / A1.norm()).item()))


if __name__ == "__main__":
    main()
