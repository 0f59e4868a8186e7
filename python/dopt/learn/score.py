"""The score-based generator of binary MILP solutions (SRG-style, issue 14
item 3), as library code: a GNN score network over the instance graph
predicts the noise of a diffusion state of solutions, trained on SRG's eq.
19 targets (dopt's kernels, one block-diagonal call per mini-batch); at test
time DDIM with Lagrangian guidance (dopt's block steps) draws K candidates
per instance in one block state, dopt ranks them, and the best one is the
center of the trust-region predict-and-search shared with the unsupervised
pipeline. docs/LEARN.md describes what follows the paper and where this
deviates.

    solution_labels(models, count)     near-optimal solutions per instance (labels)
    ScoreGCN                           the score network: eps_hat(x_t, t | graph)
    ScoreConfig, train_score           Adam on the eq. 19 targets -> ScoreModel
    training_targets, score_train_step one step's data and one optimizer step
    sample_candidates                  guided DDIM, K candidates per instance, ranked
    score_predict_and_search           sample, then the trust-region search

States are dopt's block states (docs/DIFFUSION.md): 1-D, instance i's S
samples one after another from S * var_ptr[i], in the model's own 0/1
coordinates. The network sees the graph replicated S times, which is the
same layout with B * S instances, so no message crosses samples or
instances. Needs torch.
"""

import math
import time
from dataclasses import dataclass, field, replace
from typing import List, Optional

import numpy as np
import torch
from torch import nn

from .. import diffusion as _diffusion
from ..torch import srg_timesteps
from .features import VAR_FEATURES
from .gnn import BipartiteConv, BipartiteGCN, graph_tensors
from .graph import GraphBatch, _as_numpy, _ranges, batch_graphs, ptr_from_sizes, select_instances
from .labels import Solutions, near_optimal_solutions
from .unsupervised import (SearchConfig, _better, _check_binary, _device_dtype, instance_graphs,
                           normalized_arrays, search_from_predictions)

__all__ = ["TIME_FEATURES", "ScoreGCN", "ScoreConfig", "ScoreHistory", "ScoreModel", "Candidates", "solution_labels",
           "guide_batch", "training_targets", "score_train_step", "train_score", "sample_candidates",
           "candidate_centers", "score_predict_and_search"]

TIME_FEATURES = 16  # sinusoidal features of the timestep t (half sines, half cosines)
FEASIBILITY_TOL = 1e-6  # on the normalized rows (largest |a_j| of each row is 1)


# ---- the network ---------------------------------------------------------------------------------------

def time_features(t, dtype=torch.float32, device=None):
    """(len(t), TIME_FEATURES) sinusoidal features of integer timesteps t
    (the transformer / DDPM position encoding, periods up to ~10^4 steps)."""
    t = torch.as_tensor(t, device=device).to(torch.float64).reshape(-1, 1)
    half = TIME_FEATURES // 2
    freq = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float64, device=t.device) / half)
    angle = t * freq[None, :]
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=1).to(dtype)


@dataclass
class _Replicas:
    """A graph batch replicated `samples` times per instance, in the block
    state's order (instance-major: instance i's copies 0..S-1, then i+1's):
    the static embeddings gathered to the copies, the copies' edge_index,
    and the copy (row of the state) of every state entry."""
    samples: int
    batch_size: int
    num_vars: int
    con: torch.Tensor       # (S M, emb) constraint embeddings before the convolutions
    var: torch.Tensor       # (S N, emb) variable embeddings before the state enters
    edge: torch.Tensor      # (S nnz, edge features) pre-normalized
    edge_index: torch.Tensor  # (2, S nnz) int64
    row_of_entry: torch.Tensor  # (S N,) int64: the state row (i S + k) of every entry


def _layout(graph):
    """(var_ptr, con_ptr, edge_ptr, edge_index) of a GraphBatch (numpy or
    torch arrays) as numpy int64."""
    var_ptr = _as_numpy(graph.var_ptr).astype(np.int64)
    con_ptr = _as_numpy(graph.con_ptr).astype(np.int64)
    row_ptr = _as_numpy(graph.row_ptr).astype(np.int64)
    return var_ptr, con_ptr, row_ptr[con_ptr], _as_numpy(graph.edge_index).astype(np.int64)


class ScoreGCN(BipartiteGCN):
    """SRG's score network as a bipartite GCN: eps_hat(x_t, t | instance),
    one value per entry of a block state.

    ScoreGCN(var_features=6, con_features=2, edge_features=1, emb_size=32,
             rounds=1, seed=None)  (for_graph(batch, ...) reads the widths
             off a batch)

    Gasse et al.'s pre-normalizations and embeddings give each variable and
    constraint a static embedding; every variable's embedding of copy k then
    gets MLP([x_t, time features of t]) added, `rounds` pairs of
    half-convolutions (variables -> constraints -> variables; the first
    pair is BipartiteGCN's own) run on the replicated graph, so
    a variable's score sees the state of the variables it shares rows with,
    and a head MLP([h_var, x_t, time features]) gives eps_hat. The logit
    head of BipartiteGCN is not used (output_module is None).

    forward(graph, xt, t, samples) -> (S N,) eps_hat; graph: a GraphBatch;
    xt: (S N,) block state; t: an int or (B S,) int timesteps, one per
    state row. replicate(graph, samples) + score(replicas, xt, t) do the
    same in two parts (sampling replicates once for all its steps)."""

    def __init__(self, var_features=6, con_features=2, edge_features=1, emb_size=32, rounds=1, seed=None):
        if int(rounds) < 1:
            raise ValueError(f"learn: rounds must be >= 1; got {rounds}")
        self._rounds = int(rounds)  # read by _build, which the base class calls (under its seed)
        super().__init__(var_features, con_features, edge_features, emb_size=emb_size, seed=seed)

    @property
    def rounds(self):
        return self._rounds

    def _build(self, var_features, con_features, edge_features, emb_size):
        super()._build(var_features, con_features, edge_features, emb_size)
        # rounds after the first: more half-convolution pairs, so that a variable sees the state two rows away
        self.more_convs = nn.ModuleList([nn.ModuleList([BipartiteConv(emb_size, edge_features),
                                                        BipartiteConv(emb_size, edge_features)])
                                         for _ in range(self._rounds - 1)])
        self.output_module = None  # the logit head: the score head below replaces it
        self.state_embedding = nn.Sequential(nn.Linear(1 + TIME_FEATURES, emb_size), nn.ReLU(),
                                             nn.Linear(emb_size, emb_size))
        self.score_head = nn.Sequential(nn.Linear(emb_size + 1 + TIME_FEATURES, emb_size), nn.ReLU(),
                                        nn.Linear(emb_size, emb_size), nn.ReLU(), nn.Linear(emb_size, 1))

    def replicate(self, graph, samples):
        """The static part of the network for `samples` copies of every
        instance of graph (a GraphBatch, numpy or torch arrays)."""
        if not isinstance(graph, GraphBatch):
            raise TypeError(f"learn: the score network takes a dopt.learn GraphBatch; got {type(graph).__name__}")
        samples = int(samples)
        if samples < 1:
            raise ValueError(f"learn: samples must be >= 1; got {samples}")
        dtype, device = self._placement()
        var_ptr, con_ptr, edge_ptr, edge_index = _layout(graph)
        B = var_ptr.size - 1
        copies = np.repeat(np.arange(B, dtype=np.int64), samples)  # instance of every copy, instance-major
        var_sizes, con_sizes, edge_sizes = (np.diff(p)[copies] for p in (var_ptr, con_ptr, edge_ptr))
        var_take = _ranges(var_ptr[copies], var_sizes)
        con_take = _ranges(con_ptr[copies], con_sizes)
        edge_take = _ranges(edge_ptr[copies], edge_sizes)
        new_var_ptr, new_con_ptr = ptr_from_sizes(var_sizes), ptr_from_sizes(con_sizes)
        # an edge's copy k: its local row / column plus the copy's offsets
        ei = edge_index[:, edge_take]
        ei = ei + np.stack([np.repeat(new_con_ptr[:-1] - con_ptr[copies], edge_sizes),
                            np.repeat(new_var_ptr[:-1] - var_ptr[copies], edge_sizes)])
        con_x, _, edge_attr, var_x = graph_tensors(graph, dtype, device)
        as_index = lambda a: torch.as_tensor(a, dtype=torch.int64, device=device)  # noqa: E731
        con = self.con_embedding(self.con_norm(con_x))
        var = self.var_embedding(self.var_norm(var_x))
        edge = self.edge_norm(edge_attr)
        return _Replicas(samples=samples, batch_size=B, num_vars=int(var_ptr[-1]), con=con[as_index(con_take)],
                         var=var[as_index(var_take)], edge=edge[as_index(edge_take)], edge_index=as_index(ei),
                         row_of_entry=as_index(np.repeat(np.arange(B * samples, dtype=np.int64), var_sizes)))

    def score(self, replicas, xt, t):
        """eps_hat (S N,) at the block state xt for timesteps t (an int or
        (B S,) ints, one per state row)."""
        dtype, device = self._placement()
        rows = replicas.batch_size * replicas.samples
        xt = torch.as_tensor(xt, device=device).to(dtype)
        if xt.dim() != 1 or xt.shape[0] != replicas.samples * replicas.num_vars:
            raise ValueError(f"learn: xt must be a block state of samples * N = {replicas.samples} * "
                             f"{replicas.num_vars} values; got shape {tuple(xt.shape)}")
        if isinstance(t, torch.Tensor) or isinstance(t, np.ndarray):
            t = torch.as_tensor(t, device=device).reshape(-1)
            if t.shape[0] != rows:
                raise ValueError(f"learn: t must be an int or one timestep per state row (B * samples = {rows}); "
                                 f"got {t.shape[0]}")
            features = time_features(t, dtype, device)[replicas.row_of_entry]
        else:
            features = time_features([int(t)], dtype, device).expand(xt.shape[0], TIME_FEATURES)
        state = torch.cat([xt.unsqueeze(-1), features], dim=-1)
        var = replicas.var + self.state_embedding(state)
        con = replicas.con
        for to_con, to_var in [(self.conv_var_to_con, self.conv_con_to_var), *self.more_convs]:
            con = to_con(con, replicas.edge_index, replicas.edge, var, to="con")
            var = to_var(con, replicas.edge_index, replicas.edge, var, to="var")
        return self.score_head(torch.cat([var, state], dim=-1)).squeeze(-1)

    def forward(self, graph, xt, t, samples=1):  # noqa: D102 (documented in the class)
        return self.score(self.replicate(graph, samples), xt, t)

    def forward_tensors(self, *args):
        raise TypeError("learn: ScoreGCN has no logit head; call it as net(graph, xt, t, samples)")


# ---- data ----------------------------------------------------------------------------------------------

def solution_labels(models, count=4, **kwargs):
    """near_optimal_solutions(model, count, **kwargs).x of every model: a
    list of (k_i, n_i) arrays, best first (the training labels). A model
    without a feasible solution raises ValueError naming it."""
    labels = []
    for i, model in enumerate(models):
        found = near_optimal_solutions(model, count, **kwargs)
        if len(found) == 0:
            raise ValueError(f"learn: instance {i} ({model.name or 'unnamed'}) has no feasible solution to learn "
                             f"from (solver status {found.status})")
        labels.append(found.x)
    return labels


def guide_batch(batch, xref=None):
    """The dopt.diffusion.BlockGuide of a GraphBatch / BlockBatch of binary
    models in the 'le' form (batch_graphs): SRG's rows A x >= b are the
    negated rows, normalized as the unsupervised pipeline's (each instance's
    largest |c_j| and each row's largest |a_j| scaled to 1), so that one set
    of guidance weights fits a heterogeneous batch. xref: (N,) reference
    solutions (the training target's x*) or None."""
    batch = batch.numpy()
    if getattr(batch, "sense", "le") != "le":
        raise ValueError("learn: guide_batch takes the 'le' rows of batch_graphs / binary_batch(models, 'le')")
    c, values, b = normalized_arrays(batch)
    return _diffusion.BlockGuide(np.asarray(batch.var_ptr, np.int64),
                                 (np.asarray(batch.row_ptr, np.int64), np.asarray(batch.col_idx, np.int32), -values),
                                 -b, c, xref, con_ptr=np.asarray(batch.con_ptr, np.int64))


def training_targets(guide, x0, t, abar, *, samples, seed, guidance, round=True):  # noqa: A002
    """One batch of SRG training data for the block state x0 (S N,) of
    solutions, with one timestep per state row t (B S,): eps from dopt's
    Philox (dopt.diffusion.noise_blocks, seed), x_t = sqrt(abar_t) x0 +
    sqrt(1 - abar_t) eps, and eq. 19's target eps + sqrt(abar_t) G([x_t])
    with G = gamma_o c .* sign(c .* ([x_t] - x*)) - gamma_c lam A' 1[A [x_t]
    < b] from ONE dopt.diffusion.srg_target_blocks call for the whole batch
    (called with eps = 0 and abar_t = 1, which returns G itself, so that
    every row can have its own timestep). Returns (x_t, eps, target), tensors
    like x0."""
    rows = guide.batch * samples
    t = torch.as_tensor(t, dtype=torch.int64).reshape(-1)
    if t.shape[0] != rows:
        raise ValueError(f"learn: t must hold one timestep per state row (B * samples = {rows}); got {t.shape[0]}")
    abar = torch.as_tensor(np.asarray(abar, dtype=np.float64))
    T = abar.shape[0] - 1
    if rows and (int(t.min()) < 1 or int(t.max()) > T):
        raise ValueError(f"learn: timesteps must lie in [1, T = {T}]; got [{int(t.min())}, {int(t.max())}]")
    sizes = torch.as_tensor(np.repeat(np.diff(np.asarray(guide._src["var_ptr"], np.int64)), samples))
    a = abar[t].repeat_interleave(sizes).to(device=x0.device, dtype=x0.dtype)
    _, eps = _diffusion.noise_blocks(x0, 1.0, blocks=guide, samples=samples, seed=seed)
    xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
    G = _diffusion.srg_target_blocks(guide, xt, torch.zeros_like(xt), 1.0, samples=samples, guidance=guidance,
                                     round=round)
    return xt, eps, eps + a.sqrt() * G


def _label_arrays(labels, var_ptr):
    """labels (one (k_i, n_i) array or Solutions per instance) checked and
    flattened: (flat values, start of instance i's labels, k_i)."""
    B = var_ptr.size - 1
    labels = list(labels)
    if len(labels) != B:
        raise ValueError(f"learn: {len(labels)} label sets for {B} instances")
    parts, counts = [], np.zeros(B, dtype=np.int64)
    for i, lab in enumerate(labels):
        x = lab.x if isinstance(lab, Solutions) else lab
        x = np.asarray(_as_numpy(x), dtype=np.float64)
        n = int(var_ptr[i + 1] - var_ptr[i])
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != n or x.shape[0] < 1:
            raise ValueError(f"learn: the labels of instance {i} must be (k, n) with k >= 1 and n = {n}; got shape "
                             f"{x.shape}")
        if not np.all((x == 0) | (x == 1)):
            raise ValueError(f"learn: the labels of instance {i} must be 0/1 solutions of its binary columns")
        parts.append(x.reshape(-1))
        counts[i] = x.shape[0]
    flat = np.concatenate(parts) if parts else np.zeros(0)
    starts = ptr_from_sizes(counts * np.diff(var_ptr))[:-1]
    return flat, starts, counts


# ---- training ------------------------------------------------------------------------------------------

@dataclass
class ScoreConfig:
    """Settings of train_score. samples: label draws per instance per step
    (uniformly, with replacement, from its labels; each gets its own
    timestep, uniform in [1, T]). gamma_o, gamma_c, lam: eq. 19's weights
    (objective term toward the best label x*, constraint term; docs/
    DIFFUSION.md has the signs). T, schedule: the noise schedule
    (dopt.diffusion.schedule). The network: ScoreGCN with emb_size, its
    weights from seed. Mini-batches, label draws and timesteps come from
    numpy's generator seeded with seed, the noise of step s from dopt's
    Philox with seed * 1000003 + s: the same seed repeats a run bitwise on
    one machine. lp: the graphs train_score builds (when not given) carry
    the LP-relaxation features (one LP solve per instance; they make the
    candidates much better, docs/LEARN.md); sampling then builds its graphs
    the same way."""
    epochs: int = 20
    batch_size: int = 8
    samples: int = 4
    lr: float = 1e-3
    emb_size: int = 32
    rounds: int = 1
    T: int = 1000
    schedule: str = "linear"
    gamma_o: float = 0.01
    gamma_c: float = 0.1
    lam: float = 1.0
    round: bool = True
    seed: int = 0
    grad_clip: Optional[float] = 1.0
    device: str = "cpu"
    lp: bool = True

    @property
    def guidance(self):
        return _diffusion.Guidance(self.gamma_o, self.gamma_c, self.lam)


@dataclass
class ScoreHistory:
    """Per optimizer step: loss (mean squared error of eps_hat against the
    targets), seconds (wall); samples: label samples seen (instances x
    samples per step); instances: instances seen."""
    loss: List[float] = field(default_factory=list)
    seconds: List[float] = field(default_factory=list)
    samples: int = 0
    instances: int = 0

    @property
    def samples_per_second(self):
        total = sum(self.seconds)
        return self.samples / total if total > 0 else math.nan

    @property
    def instances_per_second(self):
        total = sum(self.seconds)
        return self.instances / total if total > 0 else math.nan


@dataclass
class ScoreModel:
    """A trained score network and what sampling needs: net (ScoreGCN),
    config (the ScoreConfig it was trained with), abar (T + 1,) the noise
    schedule, history (ScoreHistory), lp (the network takes graphs with the
    LP-relaxation features: sampling builds them so when not given)."""
    net: ScoreGCN
    config: ScoreConfig
    abar: np.ndarray
    history: ScoreHistory
    lp: bool = False


def score_train_step(net, optimizer, graph, guide, x0, t, abar, *, samples, seed, guidance, round=True,  # noqa: A002
                     grad_clip=None):
    """One optimizer step on a mini-batch: targets from training_targets,
    loss = mean squared error of net(graph, x_t, t, samples) against them.
    graph: the GraphBatch (torch arrays on the network's device), guide:
    guide_batch of the same instances with xref. Returns the loss."""
    net.train()
    xt, _, target = training_targets(guide, x0, t, abar, samples=samples, seed=seed, guidance=guidance, round=round)
    optimizer.zero_grad(set_to_none=True)
    eps_hat = net(graph, xt, t, samples)
    loss = torch.mean((eps_hat - target) ** 2)
    loss.backward()
    if grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
    optimizer.step()
    return float(loss.detach())


def train_score(models, labels, config=None, *, graphs=None, net=None, optimizer=None, log=None, log_every=10):
    """Trains a score network on binary models and their labels; returns a
    ScoreModel. labels: per model a (k_i, n_i) 0/1 array of solutions, best
    first (solution_labels / near_optimal_solutions), or a Solutions; the
    best one is the x* of eq. 19's objective term. graphs: the models'
    InstanceGraphs when already built (instance_graphs; default: built with
    LP features when config.lp). net: a ScoreGCN to
    continue training (default: a new one from config, its pre-normalizations
    fitted on the graphs). Each step gathers config.batch_size instances from
    the data set's one block batch, draws config.samples labels per
    instance, and takes score_train_step: one noise call and one target call
    for the whole heterogeneous mini-batch. log(step, loss) every log_every
    steps."""
    config = ScoreConfig() if config is None else config
    if config.batch_size < 1 or config.samples < 1 or config.epochs < 0:
        raise ValueError(f"learn: batch_size and samples must be >= 1 and epochs >= 0; got {config.batch_size}, "
                         f"{config.samples}, {config.epochs}")
    models = list(models)
    graphs = instance_graphs(models, lp=config.lp) if graphs is None else instance_graphs(graphs)
    if not graphs:
        raise ValueError("learn: train_score needs at least one instance")
    if len(graphs) != len(models):
        raise ValueError(f"learn: {len(graphs)} graphs for {len(models)} models")
    everything = batch_graphs(graphs)
    _check_binary(everything)
    var_ptr = np.asarray(everything.var_ptr, np.int64)
    flat, starts, counts = _label_arrays(labels, var_ptr)
    sizes = np.diff(var_ptr)
    xref_all = flat[_ranges(starts, sizes)]  # the first (best) label of every instance
    if net is None:
        net = ScoreGCN.for_graph(everything, emb_size=config.emb_size, rounds=config.rounds, seed=config.seed)
        net.fit_prenorm(graphs)
        net.to(config.device)
    device, dtype = _device_dtype(net)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr) if optimizer is None else optimizer
    abar = _diffusion.schedule(config.T, config.schedule)
    rng = np.random.default_rng(config.seed)
    history = ScoreHistory()
    S = config.samples
    step = 0
    for _ in range(config.epochs):
        order = rng.permutation(len(graphs))
        for first in range(0, len(graphs), config.batch_size):
            began = time.perf_counter()
            chunk = order[first:first + config.batch_size]
            batch = select_instances(everything, chunk)
            xref = xref_all[_ranges(var_ptr[chunk], sizes[chunk])]
            guide = guide_batch(batch, xref)
            # S label draws per instance, instance-major: the block state's rows
            copies = np.repeat(chunk, S)
            pick = rng.integers(0, counts[copies])
            x0 = flat[_ranges(starts[copies] + pick * sizes[copies], sizes[copies])]
            t = rng.integers(1, config.T + 1, size=copies.size)
            loss = score_train_step(net, optimizer, batch.to_torch(device, dtype), guide,
                                    torch.as_tensor(x0, dtype=dtype, device=device), t, abar, samples=S,
                                    seed=(config.seed * 1000003 + step) & 0x7FFFFFFFFFFFFFFF,
                                    guidance=config.guidance, round=config.round, grad_clip=config.grad_clip)
            history.loss.append(loss)
            history.seconds.append(time.perf_counter() - began)
            history.samples += int(copies.size)
            history.instances += int(chunk.size)
            if log is not None and step % max(1, log_every) == 0:
                log(step, loss)
            step += 1
    lp = everything.var_features.shape[1] > len(VAR_FEATURES)
    return ScoreModel(net=net, config=config, abar=abar, history=history, lp=bool(lp))


# ---- sampling ------------------------------------------------------------------------------------------

@dataclass
class Candidates:
    """K sampled candidates per instance (lists and arrays in the input
    order): x, per instance the (K, n_i) rounded candidates; relaxed, the
    (K, n_i) sampled values clipped to [0, 1] before rounding; best (B,)
    the chosen candidate's index (feasible first, then least violated, then
    cheapest: dopt.diffusion.candidates_blocks); best_x (n_i,) 0/1 per
    instance; best_feasible (B,) bool; best_objective (B,) the best
    candidate's objective in the model's own sense (offset included, also
    when infeasible); feasible_count (B,) feasible candidates per instance;
    seconds: wall time of the sampling (all instances)."""
    x: list
    relaxed: list
    best: np.ndarray
    best_x: list
    best_feasible: np.ndarray
    best_objective: np.ndarray
    feasible_count: np.ndarray
    seconds: float


def _check_model_batch(models, batch):
    if batch.batch_size != len(models):
        raise ValueError(f"learn: {len(models)} models for a batch of {batch.batch_size} instances")
    _check_binary(batch)


@torch.no_grad()
def sample_candidates(score_model, models, *, candidates=16, steps=25, sampler="ddim", eta=0.0, gamma_c=1.0, lam=1.0,
                      seed=0, graphs=None, batch=None):
    """Draws `candidates` solutions per binary model from the score model,
    all instances and candidates in ONE block state: x_T from dopt's Philox
    (seed), then for each of `steps` DDIM timesteps (sampler='ddpm': all T)
    eps_hat from the network and one dopt.diffusion.step_blocks with SRG's
    Lagrangian guidance (gamma_c, lam on the normalized rows; no objective
    term: x* is unknown at test time); the samples are clipped to [0, 1]
    and ranked by dopt.diffusion.candidates_blocks. graphs / batch: the
    models' InstanceGraphs or GraphBatch when already built (default: built
    with LP features when the network was trained with them; other feature
    widths than the network's raise ValueError). Returns
    Candidates."""
    began = time.perf_counter()
    models = list(models)
    if not isinstance(score_model, ScoreModel):
        raise TypeError(f"learn: score_model must be a ScoreModel (train_score); got {type(score_model).__name__}")
    K = int(candidates)
    if K < 1:
        raise ValueError(f"learn: candidates must be >= 1; got {candidates}")
    if steps is not None and int(steps) < 1:
        raise ValueError(f"learn: steps must be >= 1; got {steps}")
    if sampler not in _diffusion.SAMPLERS:
        raise ValueError(f"learn: sampler must be one of {sorted(_diffusion.SAMPLERS)}; got {sampler!r}")
    if batch is None:
        batch = batch_graphs(instance_graphs(models, lp=score_model.lp) if graphs is None else instance_graphs(graphs))
    batch = batch.numpy()
    _check_model_batch(models, batch)
    net = score_model.net
    widths = (batch.var_features.shape[1], batch.con_features.shape[1])
    expected = (net.var_norm.shift.numel(), net.con_norm.shift.numel())
    if widths != expected:
        raise ValueError(f"learn: the network takes {expected[0]} variable and {expected[1]} constraint features "
                         f"({'with' if score_model.lp else 'without'} LP features); the graphs have {widths}")
    net.eval()
    device, dtype = _device_dtype(net)
    abar = score_model.abar
    T = abar.size - 1
    guide = guide_batch(batch)
    guidance = _diffusion.Guidance(0.0, float(gamma_c), float(lam))
    replicas = net.replicate(batch.to_torch(device, dtype), K)
    zeros = torch.zeros(K * batch.num_vars, dtype=dtype, device=device)
    _, x = _diffusion.noise_blocks(zeros, 1.0, blocks=guide, samples=K, seed=seed, step=T + 1)
    for t, t_prev in srg_timesteps(T, None if sampler == "ddpm" else steps):
        eps_hat = net.score(replicas, x, t)
        x = _diffusion.step_blocks(x, eps_hat, abar, t, t_prev, blocks=guide, samples=K, sampler=sampler, eta=eta,
                                   seed=seed, guidance=guidance)
    relaxed = x.clamp(0.0, 1.0)
    ranked = _diffusion.candidates_blocks(guide, relaxed, samples=K, round=True, feas_tol=FEASIBILITY_TOL)
    relaxed = relaxed.detach().cpu().to(torch.float64).numpy()
    violation = ranked.violation.detach().cpu().numpy().reshape(-1, K) if batch.batch_size else np.zeros((0, K))
    best = ranked.best.detach().cpu().numpy().astype(np.int64)
    var_ptr = np.asarray(batch.var_ptr, np.int64)
    xs, rel, best_x, objective = [], [], [], np.zeros(batch.batch_size)
    for i, model in enumerate(models):  # views and one objective per instance
        block = relaxed[K * var_ptr[i]:K * var_ptr[i + 1]].reshape(K, -1)
        rel.append(block)
        xs.append(np.floor(block + 0.5))
        best_x.append(xs[-1][best[i]].copy())
        objective[i] = model.objective(best_x[-1])
    feasible = violation <= FEASIBILITY_TOL
    best_feasible = feasible[np.arange(batch.batch_size), best] if batch.batch_size else np.zeros(0, bool)
    return Candidates(x=xs, relaxed=rel, best=best, best_x=best_x, best_feasible=best_feasible,
                      best_objective=objective, feasible_count=feasible.sum(axis=1),
                      seconds=time.perf_counter() - began)


def candidate_centers(cands):
    """(N,) probabilities for the trust-region search: each instance's best
    candidate's sampled values in [0, 1] (so the search's k0 / k1 pick the
    variables the sampler was surest of), nudged to the candidate's side of
    1/2 so that rounding them gives the candidate itself."""
    below = np.nextafter(0.5, 0.0)
    parts = [np.where(bx >= 0.5, np.maximum(rel[k], 0.5), np.minimum(rel[k], below))
             for rel, k, bx in zip(cands.relaxed, cands.best, cands.best_x)]
    return np.concatenate(parts) if parts else np.zeros(0)


def score_predict_and_search(score_model, models, search=None, *, time_limit=None, candidates=16, steps=25,
                             sampler="ddim", eta=0.0, gamma_c=1.0, lam=1.0, seed=0, graphs=None,
                             overhead_seconds=0.0):
    """The test-time pipeline for binary models: sample_candidates (one block
    state for all instances and candidates), then the unsupervised
    pipeline's search_from_predictions around each instance's best
    candidate (round and repair, trust region, widening while time is left;
    the same PipelineResult). search: a SearchConfig; None gives SRG's
    trust region over every binary (frac0 = frac1 = 0, radius 0.1 of the
    binaries). time_limit: seconds per instance, sampling share included
    (overrides search.time_limit when given). graphs: the models'
    InstanceGraphs when already built (e.g. with LP features, as the network
    was trained); overhead_seconds: per-instance time already spent on them
    (counted in seconds and taken from the time limit). A feasible best candidate
    better than the search's answer is kept (it never is when the search
    solved its region: the repaired candidate is in it). Returns
    (PipelineResult, Candidates)."""
    began = time.perf_counter()
    models = list(models)
    if not isinstance(score_model, ScoreModel):
        raise TypeError(f"learn: score_model must be a ScoreModel (train_score); got {type(score_model).__name__}")
    config = SearchConfig(frac0=0.0, frac1=0.0, frac_delta=0.1, time_limit=time_limit) if search is None else search
    if time_limit is not None:
        config = replace(config, time_limit=float(time_limit))
    batch = batch_graphs(instance_graphs(models, lp=score_model.lp) if graphs is None else instance_graphs(graphs))
    cands = sample_candidates(score_model, models, candidates=candidates, steps=steps, sampler=sampler, eta=eta,
                              gamma_c=gamma_c, lam=lam, seed=seed, batch=batch)
    overhead = float(overhead_seconds) + (time.perf_counter() - began) / max(len(models), 1)
    result = search_from_predictions(models, batch, candidate_centers(cands), config, overhead_seconds=overhead)
    for i, model in enumerate(models):
        if cands.best_feasible[i] and _better(model, cands.best_objective[i], result.objective[i]):
            result.objective[i], result.has_solution[i] = cands.best_objective[i], True
            result.x[i] = cands.best_x[i].copy()
            result.improved[i] = False
    return result, cands
