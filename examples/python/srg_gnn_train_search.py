"""Train an SRG-style score-based generator (a GNN score network) through dopt; sample, then predict-and-search.

The score-based pipeline of dopt.learn.score, end to end, for each family
(set cover 'sc', independent set 'mis'):
  1. generate training and held-out instances with dopt.milp.generate, sizes
     drawn +-20% around --scale so that every batch is heterogeneous;
  2. label every training instance with --labels near-optimal solutions
     (dopt.learn.near_optimal_solutions: Cbc, re-solved with each found
     assignment cut off);
  3. train dopt.learn.ScoreGCN on SRG's eq. 19 targets (dopt's block noise
     and target calls, one each per mini-batch; Adam), on graphs with
     Gasse et al.'s features including the LP-relaxation ones (--no-lp
     leaves them out: the candidates are then far worse);
  4. on the held-out instances: K candidates per instance by DDIM with
     Lagrangian guidance (one block state for all instances), the best one
     rounded, repaired and searched in a trust region with the same
     wall-clock budget per instance as Cbc alone;
and prints, per method, the mean objective and primal gap to the best known
value (a long Cbc run and every method's solutions):
       cand      the best sampled candidate (rounded; infeasible ones count as gap 1)
       srg       the candidate searched (dopt.learn.score.score_predict_and_search)
       cbc       Cbc alone with the same budget

Run from the repository root (after `pip install .`, or with
PYTHONPATH=python and DOPT_LIBRARY pointing at libdopt.so):

    python examples/python/srg_gnn_train_search.py --quick     # about a minute on 2 cores
    python examples/python/srg_gnn_train_search.py             # about 5 minutes on 2 cores

Settings for a GPU node (a CUDA build of dopt and torch): the published easy
sizes, more data and a larger network, e.g.
    --device cuda --scale 1.0 --train 1000 --test 100 --labels 8 --epochs 100 \\
    --batch-size 32 --samples 8 --emb 64 --candidates 64 --steps 50 --budget 10
(--scale 1.0 is Gasse et al.'s easy size: set cover 500 x 1000, independent
set 500 nodes). On the CPU the defaults are a fraction of that.
"""
import argparse
import math
import os
import sys
import time

import numpy as np

import dopt
import dopt.milp as mm
from dopt.learn import score as S
from dopt.learn import unsupervised as U

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diffilo_train_search import better, make_models, primal_gap  # noqa: E402  (the same instances and gap)


def label_models(models, args):
    began = time.perf_counter()
    labels = S.solution_labels(models, count=args.labels, rel_gap=args.rel_gap, time_limit=args.label_time,
                               threads=1)
    counts = [len(x) for x in labels]
    print(f"  labels: {sum(counts)} solutions ({min(counts)}..{max(counts)} per instance, within "
          f"{100 * args.rel_gap:g}% of the best) in {time.perf_counter() - began:.1f} s")
    return labels


def train(family, models, labels, graphs, args):
    steps_per_epoch = math.ceil(len(models) / args.batch_size)
    config = S.ScoreConfig(epochs=args.epochs, batch_size=args.batch_size, samples=args.samples, lr=args.lr,
                           emb_size=args.emb, T=args.T, gamma_o=args.gamma_o, gamma_c=args.gamma_c, seed=args.seed,
                           device=args.device)

    def log(step, loss):
        if args.verbose:
            print(f"  [{family}] step {step:4d}  loss {loss:8.4f}")

    model = S.train_score(models, labels, config, graphs=graphs, log=log, log_every=steps_per_epoch)
    h = model.history
    print(f"  trained: {len(h.loss)} steps in {sum(h.seconds):.1f} s, {h.samples_per_second:.0f} label samples/s "
          f"({h.instances_per_second:.1f} instances/s); mean loss first epoch "
          f"{np.mean(h.loss[:steps_per_epoch]):.3f}, last {np.mean(h.loss[-steps_per_epoch:]):.3f}")
    return model


def run_family(family, args):
    rng = np.random.default_rng(args.seed)
    train_models = make_models(family, args.train, args.scale, 1000 * args.seed, rng)
    test_models = make_models(family, args.test, args.scale, 1000 * args.seed + 500, rng)
    sizes = [m.n for m in train_models]
    print(f"\n== {family}: {args.train} training instances (n {min(sizes)}..{max(sizes)}), {args.test} held out, "
          f"budget {args.budget:g} s per instance")
    labels = label_models(train_models, args)
    lp = not args.no_lp
    began = time.perf_counter()
    train_graphs = U.instance_graphs(train_models, lp=lp)
    print(f"  features of the training set{' (LP relaxation included)' if lp else ''}: "
          f"{time.perf_counter() - began:.1f} s")
    model = train(family, train_models, labels, train_graphs, args)

    search = U.SearchConfig(frac0=args.frac0, frac1=args.frac1, frac_delta=args.frac_delta, time_limit=args.budget,
                            widen=not args.no_widen, solver=args.solver, workers=1)
    B = len(test_models)
    began = time.perf_counter()
    test_graphs = U.instance_graphs(test_models, lp=lp)  # the features (and LP solves) count in the budget
    features = (time.perf_counter() - began) / B
    result, cands = S.score_predict_and_search(model, test_models, search, candidates=args.candidates,
                                               steps=args.steps, eta=args.eta, gamma_c=args.sample_gamma_c,
                                               seed=args.seed, graphs=test_graphs, overhead_seconds=features)
    print(f"  sampling: {B} x {args.candidates} candidates, {args.steps} DDIM steps, {cands.seconds:.2f} s "
          f"({B * args.candidates / cands.seconds:.0f} candidates/s); best candidate feasible on "
          f"{100 * cands.best_feasible.mean():.0f}% of the instances, {cands.feasible_count.mean():.1f} feasible "
          f"candidates per instance; search improved it on {100 * result.improved.mean():.0f}%")
    objective = {"cand": np.where(cands.best_feasible, cands.best_objective, math.nan), "srg": result.objective}
    seconds = {"cand": np.full(B, features + cands.seconds / B), "srg": result.seconds}
    cbc = [mm.solve(m, time_limit=args.budget, threads=1) for m in test_models]
    objective["cbc"] = np.array([r.objective for r in cbc])
    seconds["cbc"] = np.array([r.seconds for r in cbc])
    best = []
    for i, m in enumerate(test_models):  # best known: a long Cbc run and every method's solutions
        value = mm.solve(m, time_limit=args.reference_time, threads=1).objective
        for name in objective:
            if better(m, objective[name][i], value):
                value = objective[name][i]
        best.append(value)
    print(f"\n  {'method':<6} {'mean objective':>14} {'mean gap %':>10} {'max gap %':>10} {'at best':>8} {'mean s':>8}")
    print(f"  {'best':<6} {np.mean(best):>14.2f}")
    for name in objective:
        gaps = np.array([primal_gap(objective[name][i], best[i]) for i in range(B)])
        values = objective[name][np.isfinite(objective[name])]
        mean = f"{values.mean():.2f}" if values.size == B else f"({values.size}/{B} feasible)"
        print(f"  {name:<6} {mean:>14} {100 * gaps.mean():>10.3f} {100 * gaps.max():>10.3f} "
              f"{int(sum(g == 0 for g in gaps)):>5d}/{B:<2d} {seconds[name].mean():>8.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[1:]))
    ap.add_argument("--family", choices=["sc", "mis", "both"], default="both", help="instance family (both)")
    ap.add_argument("--scale", type=float, default=0.15,
                    help="instance size relative to Gasse et al.'s easy size, +-20%% per instance (0.15)")
    ap.add_argument("--train", type=int, default=64, help="training instances per family (64)")
    ap.add_argument("--test", type=int, default=8, help="held-out instances per family (8)")
    ap.add_argument("--labels", type=int, default=4, help="near-optimal solutions per training instance (4)")
    ap.add_argument("--rel-gap", type=float, default=0.05, help="labels within this relative gap of the best (0.05)")
    ap.add_argument("--label-time", type=float, default=5.0, help="Cbc seconds per labelling solve (5)")
    ap.add_argument("--no-lp", action="store_true",
                    help="graphs without the LP-relaxation features (default: with them; much better candidates)")
    ap.add_argument("--epochs", type=int, default=60, help="training epochs (60)")
    ap.add_argument("--batch-size", type=int, default=8, help="instances per training step (8)")
    ap.add_argument("--samples", type=int, default=4, help="label samples per instance per step (4)")
    ap.add_argument("--emb", type=int, default=32, help="GCN embedding size (32; Gasse et al.'s 64)")
    ap.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate (3e-3)")
    ap.add_argument("--T", type=int, default=1000, help="diffusion timesteps (1000, linear schedule)")
    ap.add_argument("--gamma-o", type=float, default=0.01, help="eq. 19 objective weight (0.01)")
    ap.add_argument("--gamma-c", type=float, default=0.1, help="eq. 19 constraint weight (0.1)")
    ap.add_argument("--candidates", type=int, default=8, help="K: candidates per held-out instance (8)")
    ap.add_argument("--steps", type=int, default=25,
                    help="DDIM steps (25; with 10 or fewer the guidance overshoots: feasible but costly candidates)")
    ap.add_argument("--eta", type=float, default=0.0, help="DDIM eta (0: deterministic after x_T)")
    ap.add_argument("--sample-gamma-c", type=float, default=1.0, help="Lagrangian guidance at sampling (1)")
    ap.add_argument("--budget", type=float, default=1.0, help="seconds per held-out instance, every method (1)")
    ap.add_argument("--reference-time", type=float, default=30.0, help="Cbc seconds for the best known value (30)")
    ap.add_argument("--frac0", type=float, default=0.0,
                    help="trust set: k0 as a fraction of the binaries (0: every binary, SRG's region)")
    ap.add_argument("--frac1", type=float, default=0.0, help="trust set: k1 as a fraction of the binaries (0)")
    ap.add_argument("--frac-delta", type=float, default=0.1, help="radius as a fraction of the trust set (0.1)")
    ap.add_argument("--no-widen", action="store_true",
                    help="one trust region per instance (default: widen it while the budget lasts)")
    ap.add_argument("--solver", default="auto", choices=["auto", "cbc", "exact"], help="search solver (auto)")
    ap.add_argument("--device", default="cpu", help="torch device for the network (cpu; cuda on a GPU node)")
    ap.add_argument("--torch-threads", type=int, default=1, help="torch's threads (1; 0: torch's default)")
    ap.add_argument("--seed", type=int, default=0, help="seed of data, network, training and sampling (0)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes and few steps: a check that it runs")
    ap.add_argument("--verbose", action="store_true", help="the loss once per epoch")
    args = ap.parse_args()
    if args.quick:
        args.scale, args.train, args.test, args.epochs, args.labels = 0.1, 32, 4, 60, 3
        args.budget, args.reference_time, args.emb, args.candidates, args.steps = 0.5, 10.0, 32, 8, 25
    if not mm.have_cbc():
        print("note: dopt was built without Cbc: the exact solver (n <= 256) stands in for it")
    import torch
    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    print(f"dopt {dopt.__version__}, torch {torch.__version__} on {args.device}, {torch.get_num_threads()} torch "
          f"thread(s)")
    for family in (["sc", "mis"] if args.family == "both" else [args.family]):
        run_family(family, args)


if __name__ == "__main__":
    main()
