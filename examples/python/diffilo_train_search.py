"""Train a GNN through dopt without labels (DiffILO-style); compare its predict-and-search with Cbc and LP-PaS.

The unsupervised predictor of dopt.learn.unsupervised, then
predict-and-search, against Cbc alone and LP predict-and-search.

For each family (set cover 'sc', independent set 'mis'):
  1. generate training and held-out instances with dopt.milp.generate, the
     sizes drawn around --scale so that every batch is heterogeneous;
  2. train dopt.learn.BipartiteGCN without labels on the Bernoulli surrogate
     (dopt.learn.unsupervised.train: one block-diagonal dopt call per
     mini-batch, the mu schedule, Adam), once with the unbiased estimator
     (dopt's default) and once with the published DiffILO estimator;
  3. on the held-out instances, with the same wall-clock budget per instance:
       cbc       Cbc alone
       lp-pas    predict-and-search around the LP relaxation's solution
       gnn-unb   predict, round and repair, search (unbiased estimator)
       gnn-pub   the same with the published estimator's network
     and print the mean primal gap to the best known objective (a long Cbc
     run and every method's solutions) and how often each method hit it.

Run from the repository root (after `pip install .`, or with
PYTHONPATH=python and DOPT_LIBRARY pointing at libdopt.so):

    python examples/python/diffilo_train_search.py --quick      # ~10 s
    python examples/python/diffilo_train_search.py              # ~6 min on the shared 2-core box

Settings for a GPU node (a CUDA build of dopt and torch): the published easy
sizes and more data, e.g.
    --device cuda --scale 1.0 --train 2000 --test 100 --epochs 50 \
    --batch-size 32 --emb 64 --samples 64 --budget 10
(--scale 1.0 is Gasse et al.'s easy size: set cover 500 x 1000, independent
set 500 nodes). On the CPU the defaults are a fraction of that.
"""
import argparse
import math
import time

import numpy as np

import dopt
import dopt.milp as mm
from dopt import learn
from dopt.learn import unsupervised as U

FAMILIES = {
    # family: (generator keywords at scale 1 (Gasse et al.'s easy size), the keyword scaled)
    "sc": ({"rows": 500, "cols": 1000, "density": 0.05}, ("rows", "cols")),
    "mis": ({"nodes": 500, "affinity": 4}, ("nodes",)),
}


def make_models(family, count, scale, seed, rng):
    """count instances with the scaled keywords drawn uniformly in
    [0.8, 1.2] x scale (heterogeneous sizes), seeds seed, seed+1, ..."""
    base, scaled = FAMILIES[family]
    models = []
    for k in range(count):
        factor = scale * rng.uniform(0.8, 1.2)
        params = dict(base)
        for key in scaled:
            params[key] = max(8, int(round(base[key] * factor)))
        models.append(mm.generate(family, seed=seed + k, **params))
    return models


def primal_gap(value, best):
    """Berthold's primal gap in [0, 1]: 0 at the best known value, 1 without
    a solution (or with opposite signs)."""
    if not math.isfinite(value):
        return 1.0
    if value == best:
        return 0.0
    if value * best < 0:
        return 1.0
    return abs(value - best) / max(abs(value), abs(best))


def better(model, a, b):
    if not math.isfinite(a):
        return False
    return (not math.isfinite(b)) or (a > b if model.maximize else a < b)


def lp_pas(models, batch, search):
    """Predict-and-search with the LP relaxation's solution as the
    prediction, through the same round-repair-search pipeline as the
    networks (the LP solve counted in the budget). Returns the
    PipelineResult."""
    began = time.perf_counter()
    preds = []
    for model in models:
        relaxed = mm.solve(model, relax=True, time_limit=search.time_limit)
        preds.append(np.clip(relaxed.x, 0.0, 1.0) if relaxed.has_solution else np.full(model.n, 0.5))
    overhead = (time.perf_counter() - began) / len(models)
    return U.search_from_predictions(models, batch, np.concatenate(preds), search, overhead_seconds=overhead)


def train_network(family, graphs, estimator, args):
    net = learn.BipartiteGCN.for_graph(graphs[0], emb_size=args.emb, seed=args.seed)
    net.fit_prenorm(graphs)
    net.to(args.device)
    steps_per_epoch = math.ceil(len(graphs) / args.batch_size)
    total = steps_per_epoch * args.epochs
    # mu grows from mu0 to mu_max over the first half of training, then stays
    growth = (args.mu_max / args.mu0) ** (1.0 / max(1, total // 2))
    config = U.TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, estimator=estimator,
                           samples=args.samples, mu0=args.mu0, mu_growth=growth, mu_max=args.mu_max,
                           seed=args.seed)

    def log(step, loss, mu):
        if args.verbose:
            print(f"  [{family} {estimator}] step {step:4d}  mu {mu:7.3f}  loss {loss:9.4f}")

    history = U.train(net, graphs, config, log=log, log_every=steps_per_epoch)
    first = np.mean(history.loss[:steps_per_epoch])
    last = np.mean(history.loss[-steps_per_epoch:])
    print(f"  trained {family} / {estimator}: {len(history.loss)} steps, {sum(history.seconds):.1f} s, "
          f"{history.instances_per_second:.1f} instances/s; mean loss first epoch {first:.3f}, last {last:.3f} "
          f"(mu {history.mu[0]:.2f} -> {history.mu[-1]:.2f})")
    return net


def run_family(family, args):
    rng = np.random.default_rng(args.seed)
    train_models = make_models(family, args.train, args.scale, 1000 * args.seed, rng)
    test_models = make_models(family, args.test, args.scale, 1000 * args.seed + 500, rng)
    sizes = [m.n for m in train_models]
    print(f"\n== {family}: {args.train} training instances (n {min(sizes)}..{max(sizes)}), {args.test} held out, "
          f"budget {args.budget:g} s per instance")
    began = time.perf_counter()
    train_graphs = U.instance_graphs(train_models)
    print(f"  features of the training set: {time.perf_counter() - began:.1f} s")
    nets = {name: train_network(family, train_graphs, estimator, args)
            for name, estimator in (("gnn-unb", "unbiased"), ("gnn-pub", "diffilo"))}

    # the prediction, rounding and every search count in the budget (SearchConfig.time_limit)
    search = U.SearchConfig(frac0=args.frac0, frac1=args.frac1, frac_delta=args.frac_delta, time_limit=args.budget,
                            widen=not args.no_widen, solver=args.solver, workers=1)
    objective, seconds = {}, {}
    cbc = [mm.solve(m, time_limit=args.budget, threads=1) for m in test_models]
    objective["cbc"] = np.array([r.objective for r in cbc])
    seconds["cbc"] = np.array([r.seconds for r in cbc])
    test_graphs = U.instance_graphs(test_models)
    began = time.perf_counter()
    batch = learn.batch_graphs(test_graphs)
    batch_seconds = (time.perf_counter() - began) / len(test_models)
    result = lp_pas(test_models, batch, search)
    objective["lp-pas"], seconds["lp-pas"] = result.objective, result.seconds
    for name, net in nets.items():
        began = time.perf_counter()
        probs = U.predict(net, batch)
        overhead = batch_seconds + (time.perf_counter() - began) / len(test_models)
        result = U.search_from_predictions(test_models, batch, probs, search, overhead_seconds=overhead)
        objective[name], seconds[name] = result.objective, result.seconds
        print(f"  {name}: repaired rounding feasible on {100 * result.rounded_feasible.mean():.0f}% of the "
              f"instances, search improved it on {100 * result.improved.mean():.0f}%; prediction "
              f"{1000 * overhead:.1f} ms per instance")

    # best known: a long Cbc run and every method's solutions
    best = []
    for i, model in enumerate(test_models):
        value = mm.solve(model, time_limit=args.reference_time, threads=1).objective
        for name in objective:
            if better(model, objective[name][i], value):
                value = objective[name][i]
        best.append(value)
    print(f"\n  {'method':<8} {'mean gap %':>10} {'max gap %':>10} {'at best':>8} {'mean s':>8}")
    rows = {}
    for name in objective:
        gaps = np.array([primal_gap(objective[name][i], best[i]) for i in range(len(test_models))])
        hits = int(sum(g == 0 for g in gaps))
        rows[name] = gaps
        print(f"  {name:<8} {100 * gaps.mean():>10.3f} {100 * gaps.max():>10.3f} {hits:>5d}/{len(gaps):<2d} "
              f"{seconds[name].mean():>8.3f}")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[1:]))
    ap.add_argument("--family", choices=["sc", "mis", "both"], default="both", help="instance family (both)")
    ap.add_argument("--scale", type=float, default=0.5,
                    help="instance size relative to Gasse et al.'s easy size, +-20%% per instance (0.5)")
    ap.add_argument("--train", type=int, default=48, help="training instances per family (48)")
    ap.add_argument("--test", type=int, default=8, help="held-out instances per family (8)")
    ap.add_argument("--epochs", type=int, default=12, help="training epochs (12)")
    ap.add_argument("--batch-size", type=int, default=8, help="instances per training step (8)")
    ap.add_argument("--emb", type=int, default=32, help="GCN embedding size (32; the paper's 64)")
    ap.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate (3e-3)")
    ap.add_argument("--samples", type=int, default=16, help="Bernoulli samples per instance per step (16)")
    ap.add_argument("--mu0", type=float, default=1.0, help="first penalty weight mu (1)")
    ap.add_argument("--mu-max", type=float, default=10.0, help="largest mu, reached half-way (10)")
    ap.add_argument("--budget", type=float, default=1.0, help="seconds per held-out instance, every method (1)")
    ap.add_argument("--reference-time", type=float, default=30.0, help="Cbc seconds for the best known value (30)")
    ap.add_argument("--frac0", type=float, default=0.4, help="trust set: k0 as a fraction of the binaries (0.4)")
    ap.add_argument("--frac1", type=float, default=0.05, help="trust set: k1 as a fraction of the binaries (0.05)")
    ap.add_argument("--frac-delta", type=float, default=0.1, help="radius as a fraction of k0 + k1 (0.1)")
    ap.add_argument("--no-widen", action="store_true",
                    help="one trust region per instance (default: widen it while the budget lasts)")
    ap.add_argument("--solver", default="auto", choices=["auto", "cbc", "exact"], help="search solver (auto)")
    ap.add_argument("--device", default="cpu", help="torch device for the network (cpu; cuda on a GPU node)")
    # one torch thread by default: on these small graphs torch's intra-op pool waits more than it computes on
    # a shared machine (measured on the 2-core box under load: ~25 ms per tiny step with 1 thread, ~1 s with 2)
    ap.add_argument("--torch-threads", type=int, default=1, help="torch's threads (1; 0: torch's default)")
    ap.add_argument("--seed", type=int, default=0, help="seed of data, network and training (0)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes and few steps: a check that it runs")
    ap.add_argument("--verbose", action="store_true", help="the loss once per epoch")
    args = ap.parse_args()
    if args.quick:
        args.scale, args.train, args.test, args.epochs = 0.12, 16, 4, 4
        args.budget, args.reference_time, args.emb = 0.5, 10.0, 16
    if not mm.have_cbc():
        print("note: dopt was built without Cbc: the exact solver (n <= 256) stands in for it")
    import torch
    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    print(f"dopt {dopt.__version__}, torch {torch.__version__} on {args.device}, {torch.get_num_threads()} torch "
          f"thread(s)")
    families = ["sc", "mis"] if args.family == "both" else [args.family]
    for family in families:
        run_family(family, args)


if __name__ == "__main__":
    main()
