"""The unsupervised (DiffILO-style) predictor of binary MILPs, as library
code: a network maps each instance's bipartite graph to one logit per
variable, and the loss is dopt's Bernoulli surrogate of the instance,

    F_i(xhat) = c_i'xhat + mu * sum_rows E_{x ~ Bernoulli(xhat)} [max(a'x - b, 0)],

for a whole heterogeneous batch in ONE block-diagonal dopt call
(dopt.torch.bernoulli_penalty with var_ptr / con_ptr); no labels. At test
time: predict, round and repair (one dopt.bern.round_blocks call), then
predict-and-search with a trust region around the repaired prediction
(dopt.milp.search_batch). docs/LEARN.md describes the pipeline and why the
unbiased gradient estimator is the default.

    normalized_arrays(batch)        costs and rows scaled per instance / row (shared
                                    with the score-based pipeline, dopt.learn.score)
    surrogate_problem(batch)        the loss's data (normalized rows, costs)
    surrogate_loss(logits, prob)    (B,) per-instance surrogate values
    TrainConfig, train_step, train  Adam on the surrogate with the mu schedule
    predict(net, batch)             (N,) probabilities
    round_predictions(batch, p)     rounded and repaired 0/1 points
    predict_and_search(...)         the test-time pipeline, per-instance results

Works with any torch module that maps a GraphBatch to (N,) logits (e.g.
dopt.learn.BipartiteGCN); needs torch.
"""

import math
import time
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
import torch

from .. import bern as _bern
from .. import milp as _milp
from ..torch import bernoulli_penalty
from .features import InstanceGraph, instance_graph
from .graph import batch_graphs, select_instances

__all__ = ["SurrogateProblem", "normalized_arrays", "surrogate_problem", "surrogate_loss", "TrainConfig",
           "TrainHistory", "train_step", "train", "predict", "round_predictions", "SearchConfig", "PipelineResult",
           "search_from_predictions", "predict_and_search", "instance_graphs"]

ESTIMATORS = ("unbiased", "diffilo", "reinforce", "exact")  # exact: n <= 16 per instance (enumeration)


# ---- the loss's data ------------------------------------------------------------------------------------

@dataclass
class SurrogateProblem:
    """The block-diagonal data of the surrogate loss as torch tensors:
    var_ptr, con_ptr (B+1,) int64; A = (row_ptr int64, col_idx int32 global,
    values); b (M,), c (N,) in dtype. With normalization (see
    surrogate_problem) c and the rows are scaled copies of the batch's."""
    var_ptr: torch.Tensor
    con_ptr: torch.Tensor
    A: tuple
    b: torch.Tensor
    c: torch.Tensor

    @property
    def batch_size(self):
        return int(self.var_ptr.shape[0]) - 1


def _segment_max_abs(values, segment, count):
    """max |values| per segment id (0 for an empty segment)."""
    out = np.zeros(count)
    if values.size:
        np.maximum.at(out, segment, np.abs(values))
    return out


def _check_binary(batch):
    binary = getattr(batch, "binary", None)
    if binary is not None and not np.all(binary):
        j = int(np.flatnonzero(~np.asarray(binary, dtype=bool))[0])
        i = int(np.searchsorted(np.asarray(batch.var_ptr), j, side="right")) - 1
        raise ValueError(f"learn: the Bernoulli surrogate needs binary models; instance {i} has a non-binary column "
                         f"(global variable {j})")


def normalized_arrays(batch):
    """(c, values, b) of a BlockBatch / GraphBatch (numpy) with each
    instance's c divided by its largest |c_j| and each row (a, b) by its
    largest |a_j| (a zero scale left at 1): positive scalings that change
    neither an instance's feasible set nor its minimizers, but put the costs
    and rows of every instance on one scale (shared by the unsupervised and
    the score-based pipelines)."""
    batch = batch.numpy() if hasattr(batch, "numpy") else batch
    c = np.asarray(batch.c, dtype=np.float64)
    values = np.asarray(batch.values, dtype=np.float64)
    b = np.asarray(batch.b, dtype=np.float64)
    var_instance = batch.var_batch()
    cost_scale = _segment_max_abs(c, var_instance, batch.batch_size)
    cost_scale[cost_scale == 0] = 1.0
    rows = batch.num_cons
    edge_row = np.repeat(np.arange(rows, dtype=np.int64), np.diff(np.asarray(batch.row_ptr, dtype=np.int64)))
    row_scale = _segment_max_abs(values, edge_row, rows)
    row_scale[row_scale == 0] = 1.0
    return c / cost_scale[var_instance], values / row_scale[edge_row], b / row_scale


def surrogate_problem(batch, *, normalize=True, dtype=torch.float32, device=None):
    """A SurrogateProblem from a GraphBatch / BlockBatch of BINARY models in
    the 'le' form (batch_graphs or binary_batch(models, 'le')): every
    column must be binary (ValueError naming the instance otherwise; use
    binary_batch's to_binary_form for models with binary columns only).

    normalize=True (default) divides each instance's c by its largest |c_j|
    and each row (a, b) by its largest |a_j|: positive scalings that leave
    every instance's solution set and minimizers unchanged but put the cost
    and the penalty of every instance on one scale, so that one mu schedule
    and one learning rate fit a batch of different instances."""
    batch = batch.numpy() if hasattr(batch, "numpy") else batch
    if getattr(batch, "sense", "le") != "le":
        raise ValueError("learn: the Bernoulli surrogate takes A x <= b rows (sense 'le'); got sense 'ge'")
    _check_binary(batch)
    if normalize:
        c, values, b = normalized_arrays(batch)
    else:
        c, values, b = (np.asarray(a, dtype=np.float64) for a in (batch.c, batch.values, batch.b))
    as_float = dict(dtype=dtype, device=device)
    return SurrogateProblem(
        var_ptr=torch.as_tensor(np.asarray(batch.var_ptr, dtype=np.int64), device=device),
        con_ptr=torch.as_tensor(np.asarray(batch.con_ptr, dtype=np.int64), device=device),
        A=(torch.as_tensor(np.asarray(batch.row_ptr, dtype=np.int64), device=device),
           torch.as_tensor(np.asarray(batch.col_idx, dtype=np.int32), device=device),
           torch.as_tensor(values, **as_float)),
        b=torch.as_tensor(b, **as_float), c=torch.as_tensor(c, **as_float))


def surrogate_loss(logits, problem, *, mu=1.0, estimator="unbiased", samples=16, seed=None, return_status=False):
    """The surrogate F_i at sigmoid(logits) for every instance: (B,) losses,
    differentiable in logits (the gradient is dopt's estimate: unbiased for
    'unbiased' and 'reinforce', the published DiffILO estimator for
    'diffilo', exact for 'exact' (n_i <= 16)). One dopt call for the whole
    batch. seed: int or None (a fresh seed from torch's generator).
    return_status: also the (B,) int32 statuses (0 ok; an invalid
    instance's loss is NaN)."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"learn: estimator must be one of {ESTIMATORS}; got {estimator!r}")
    if logits.dim() != 1 or logits.shape[0] != int(problem.var_ptr[-1]):
        raise ValueError(f"learn: logits must be (N,) with N = {int(problem.var_ptr[-1])} variables of the batch; "
                         f"got shape {tuple(logits.shape)}")
    return bernoulli_penalty(logits, problem.A, problem.b, problem.c.to(logits.dtype), logits=True,
                             estimator=estimator, samples=samples, seed=seed, mu=mu, reduction="none",
                             return_status=return_status, var_ptr=problem.var_ptr, con_ptr=problem.con_ptr)


# ---- training ------------------------------------------------------------------------------------------

@dataclass
class TrainConfig:
    """Settings of train(). mu at optimizer step s is
    min(mu0 * mu_growth**s, mu_max) (dopt.bern.mu_schedule): start low so
    the network first finds cheap assignments, then grow until violating a
    row costs more than any saving. estimator: 'unbiased' (default) or
    'diffilo' (the published, biased one). samples: Bernoulli samples per
    instance per step. The Bernoulli seed of step s is seed * 1000003 + s,
    and mini-batches are drawn from numpy's generator seeded with seed: the
    same seed (and the network's seed) repeats a run bitwise on one
    machine."""
    epochs: int = 20
    batch_size: int = 8
    lr: float = 1e-3
    estimator: str = "unbiased"
    samples: int = 16
    mu0: float = 1.0
    mu_growth: float = 1.02
    mu_max: float = 20.0
    seed: int = 0
    normalize: bool = True
    grad_clip: Optional[float] = 1.0
    shuffle: bool = True

    def mu(self, step):
        return _bern.mu_schedule(step, self.mu0, self.mu_growth, self.mu_max)


@dataclass
class TrainHistory:
    """Per optimizer step: loss (batch mean of F_i), mu, seconds (wall);
    instances: instances seen; invalid: instances whose loss came back
    invalid (status != 0; their loss is NaN and left out of the mean)."""
    loss: List[float] = field(default_factory=list)
    mu: List[float] = field(default_factory=list)
    seconds: List[float] = field(default_factory=list)
    instances: int = 0
    invalid: int = 0

    @property
    def instances_per_second(self):
        total = sum(self.seconds)
        return self.instances / total if total > 0 else math.nan


def _device_dtype(net):
    parameter = next(net.parameters())
    return parameter.device, parameter.dtype


def train_step(net, optimizer, graph, problem, *, mu, estimator="unbiased", samples=16, seed=None, grad_clip=None):
    """One Adam (any optimizer) step on a batch: logits = net(graph), loss =
    mean over instances of the surrogate (invalid instances left out).
    Returns (loss value, number of invalid instances)."""
    net.train()
    optimizer.zero_grad(set_to_none=True)
    logits = net(graph)
    losses, status = surrogate_loss(logits, problem, mu=mu, estimator=estimator, samples=samples, seed=seed,
                                    return_status=True)
    ok = status == 0
    invalid = int((~ok).sum())
    if invalid == losses.shape[0]:
        return math.nan, invalid
    loss = losses[ok].mean()
    loss.backward()
    if grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
    optimizer.step()
    return float(loss.detach()), invalid


def instance_graphs(models, *, lp=False):
    """instance_graph of every model (build once, batch many times)."""
    return [m if isinstance(m, InstanceGraph) else instance_graph(m, lp=lp) for m in models]


def train(net, graphs, config=None, *, optimizer=None, log=None, log_every=10):
    """Trains net without labels on binary instances. graphs: InstanceGraphs
    (instance_graphs(models)) or Models (a non-binary column: ValueError
    naming the instance). The data set is batched once (batch_graphs); each
    step gathers a mini-batch of config.batch_size instances from it
    (select_instances) and takes one train_step with mu from the schedule:
    no Python loop over instances on the way. optimizer: default
    Adam(lr). log(step, loss, mu): called every log_every steps. Returns a
    TrainHistory. The pre-normalizations are NOT fitted here (call
    net.fit_prenorm(graphs) first, as the example does)."""
    config = TrainConfig() if config is None else config
    if config.estimator not in ESTIMATORS:
        raise ValueError(f"learn: estimator must be one of {ESTIMATORS}; got {config.estimator!r}")
    graphs = instance_graphs(graphs)
    if not graphs:
        raise ValueError("learn: train needs at least one instance")
    if config.batch_size < 1:
        raise ValueError(f"learn: batch_size must be >= 1; got {config.batch_size}")
    device, dtype = _device_dtype(net)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr) if optimizer is None else optimizer
    everything = batch_graphs(graphs)  # the data set as one block batch; mini-batches are gathered from it
    _check_binary(everything)  # before any step, with the data set's instance index
    rng = np.random.default_rng(config.seed)
    history = TrainHistory()
    step = 0
    for _ in range(config.epochs):
        order = rng.permutation(len(graphs)) if config.shuffle else np.arange(len(graphs))
        for start in range(0, len(graphs), config.batch_size):
            began = time.perf_counter()
            chunk = order[start:start + config.batch_size]
            batch = select_instances(everything, chunk)  # vectorized gathers, no loop over instances
            problem = surrogate_problem(batch, normalize=config.normalize, dtype=dtype, device=device)
            mu = config.mu(step)
            loss, invalid = train_step(net, optimizer, batch.to_torch(device, dtype), problem, mu=mu,
                                       estimator=config.estimator, samples=config.samples,
                                       seed=(config.seed * 1000003 + step) & 0x7FFFFFFFFFFFFFFF,
                                       grad_clip=config.grad_clip)
            history.loss.append(loss)
            history.mu.append(mu)
            history.seconds.append(time.perf_counter() - began)
            history.instances += len(chunk)
            history.invalid += invalid
            if log is not None and step % max(1, log_every) == 0:
                log(step, loss, mu)
            step += 1
    return history


# ---- inference -----------------------------------------------------------------------------------------

@torch.no_grad()
def predict(net, batch):
    """(N,) float64 numpy probabilities sigmoid(net(batch)) for a
    GraphBatch (split per instance with batch.split_vars)."""
    net.eval()
    device, dtype = _device_dtype(net)
    graph = batch if isinstance(batch.var_features, torch.Tensor) else batch.to_torch(device, dtype)
    return torch.sigmoid(net(graph).to(torch.float64)).cpu().numpy()


def round_predictions(batch, probs):
    """Rounds every instance's probabilities at 1/2 and repairs them (one
    dopt.bern.round_blocks call on the batch's raw rows): returns (x (N,)
    0/1 float64, feasible (B,) bool: the repaired point satisfies every
    row)."""
    batch = batch.numpy()
    probs = np.asarray(probs, dtype=np.float64)
    x, status = _bern.round_blocks(probs, batch.var_ptr, batch.A, batch.b, batch.c, con_ptr=batch.con_ptr)
    return np.asarray(x), np.asarray(status) == 0


@dataclass
class SearchConfig:
    """Predict-and-search settings, as fractions of each instance's
    binaries (so one config fits instances of different sizes): k0 =
    frac0 * binaries fixed-near-0 candidates, k1 = frac1 * binaries
    near-1, radius delta = frac_delta * (k0 + k1) (at least 1);
    frac0 = frac1 = 0 puts every binary in the trust set. time_limit:
    seconds per instance for the whole pipeline after the prediction (None:
    none). widen: when a trust region is solved with time left, search
    again with twice the radius (the region that was enough to be feasible,
    doubled), keeping the best solution, until the region is the whole
    model or the time is used: a fixed budget is then spent, as a solver
    alone would spend it (only with a time_limit). solver: 'auto', 'cbc' or
    'exact'; workers: the library's threads for a batch of searches."""
    frac0: float = 0.4
    frac1: float = 0.05
    frac_delta: float = 0.1
    time_limit: Optional[float] = 10.0
    widen: bool = True
    solver: str = "auto"
    workers: Optional[int] = None

    def region(self, binaries):
        k0, k1 = int(self.frac0 * binaries), int(self.frac1 * binaries)
        size = k0 + k1 if k0 + k1 else binaries
        return k0, k1, float(max(1, round(self.frac_delta * size)))


@dataclass
class PipelineResult:
    """Per instance (arrays of length B, the input order): objective in the
    model's own sense (offset included; NaN without a solution), status
    (the search's dopt.milp status; a feasible repaired rounding is kept
    when the search found nothing better, e.g. on its time limit),
    has_solution, seconds (prediction share + rounding share +
    search), x (list of (n_i,) arrays or None), rounded_objective and
    rounded_feasible (the repaired prediction before the search), improved
    (the search beat the rounded point), model_optimal (the search proved
    the model's optimum)."""
    objective: np.ndarray
    status: np.ndarray
    has_solution: np.ndarray
    seconds: np.ndarray
    x: list
    rounded_objective: np.ndarray
    rounded_feasible: np.ndarray
    improved: np.ndarray
    model_optimal: np.ndarray


def _better(model, a, b):
    """a strictly better than b in the model's sense (NaN is worst)."""
    if not math.isfinite(a):
        return False
    if not math.isfinite(b):
        return True
    return a > b if model.maximize else a < b


MIN_SEARCH_SECONDS = 0.01  # below this much time left a search is not started


def search_from_predictions(models, batch, probs, config=None, *, overhead_seconds=0.0):
    """Round and repair the predictions (one block call), then search a
    trust region around each repaired point (dopt.milp.search_batch; one
    call per group of instances with equal k0, k1, delta), widening it while
    time is left when config.widen. The search's center is the repaired
    point itself (probabilities nudged across 1/2 where the repair flipped a
    variable), so a feasible repaired point lies in every trust region: an
    optimal subproblem is never worse; on a time limit the better of the
    two is kept. overhead_seconds: per-instance time already spent (the
    prediction), added to seconds and taken from the time limit. Returns a
    PipelineResult."""
    config = SearchConfig() if config is None else config
    models = list(models)
    B = len(models)
    if batch.batch_size != B:
        raise ValueError(f"learn: {B} models for a batch of {batch.batch_size} instances")
    began = time.perf_counter()
    x_round, feasible = round_predictions(batch, probs)
    round_seconds = (time.perf_counter() - began) / max(B, 1)
    probs_parts = batch.split_vars(np.asarray(probs, dtype=np.float64))
    round_parts = batch.split_vars(x_round)
    below = np.nextafter(0.5, 0.0)
    # vector ops per instance on the host: the searches are per instance anyway
    centers = [np.where(xr >= 0.5, np.maximum(p, 0.5), np.minimum(p, below)) for p, xr in zip(probs_parts, round_parts)]
    regions = [config.region(int(m.binary.sum())) for m in models]
    objective = np.full(B, math.nan)
    status = np.full(B, int(_milp.INVALID_DATA), dtype=np.int32)
    has = np.zeros(B, dtype=bool)
    seconds = np.full(B, overhead_seconds + round_seconds)
    xs = [None] * B
    model_optimal = np.zeros(B, dtype=bool)
    budget = config.time_limit
    active = list(range(B))
    while active:
        groups = {}
        for i in active:
            groups.setdefault(regions[i], []).append(i)
        still = []
        for (k0, k1, delta), members in groups.items():
            limit = None
            if budget is not None:
                limit = max(min(budget - seconds[i] for i in members), MIN_SEARCH_SECONDS)
            res = _milp.search_batch([models[i] for i in members], [centers[i] for i in members], k0=k0, k1=k1,
                                     delta=delta, time_limit=limit, solver=config.solver, workers=config.workers)
            for j, i in enumerate(members):
                seconds[i] += res.seconds[j]
                if res.has_solution[j] and (not has[i] or _better(models[i], res.objective[j], objective[i])):
                    objective[i], has[i], xs[i] = res.objective[j], True, np.array(res.x[j])
                if res.has_solution[j] or not has[i]:
                    status[i] = res.status[j]
                model_optimal[i] |= bool(res.model_optimal[j])
                done = (not config.widen or budget is None or res.whole_model[j] or res.call_status[j] != 0
                        or res.status[j] == _milp.ITERATION_LIMIT or budget - seconds[i] < MIN_SEARCH_SECONDS)
                if not done:  # solved within the region with time left: twice the radius that sufficed
                    size = k0 + k1 if k0 + k1 else int(models[i].binary.sum())
                    regions[i] = (k0, k1, float(min(max(2.0 * res.delta_used[j], 2.0 * delta), size)))
                    still.append(i)
        active = still
    rounded_objective = np.full(B, math.nan)
    improved = np.zeros(B, dtype=bool)
    for i, model in enumerate(models):
        if feasible[i]:
            rounded_objective[i] = model.objective(round_parts[i])
            if _better(model, rounded_objective[i], objective[i]):  # keep the incumbent
                objective[i], has[i], xs[i] = rounded_objective[i], True, round_parts[i].copy()
        improved[i] = has[i] and _better(model, objective[i], rounded_objective[i])
    return PipelineResult(objective=objective, status=status, has_solution=has, seconds=seconds, x=xs,
                          rounded_objective=rounded_objective, rounded_feasible=feasible, improved=improved,
                          model_optimal=model_optimal)


def predict_and_search(net, models, config=None, *, graphs=None):
    """The test-time pipeline for binary models: graphs (given or built),
    one batched prediction, one block round-and-repair call, the
    trust-region searches. Returns (PipelineResult, probabilities per
    instance)."""
    models = list(models)
    began = time.perf_counter()
    graphs = instance_graphs(models) if graphs is None else list(graphs)
    batch = batch_graphs(graphs)
    probs = predict(net, batch)
    overhead = (time.perf_counter() - began) / max(len(models), 1)
    result = search_from_predictions(models, batch, probs, config, overhead_seconds=overhead)
    return result, batch.split_vars(probs)
