"""dopt.learn: MILP instances as graphs for learned predictors (GNN-guided
MILP, issue 14). docs/LEARN.md describes every feature and the network.

    instance_graph(model, lp=False)   a dopt.milp.Model as a bipartite
                                      variable-constraint graph with Gasse et
                                      al. 2019's solver-free features
    batch_graphs(items)               a heterogeneous batch of them in PyG's
                                      block layout (var_ptr, con_ptr, one CSR)
    binary_batch(models, sense)       dopt.milp.to_binary_form of every model
                                      in the same block layout
    select_instances(batch, idx)      a sub-batch, gathered without a loop
    BipartiteGCN                      Gasse et al.'s bipartite GCN in plain
                                      torch: one logit per variable (needs torch)
    near_optimal_solutions(model, k)  k distinct near-optimal solutions per
                                      instance from the solver (labels)
    unsupervised                      the DiffILO-style pipeline: surrogate
                                      loss of a block batch, train, predict,
                                      round and repair, predict-and-search
                                      (dopt.learn.unsupervised; needs torch)
    score                             the SRG-style score-based generator: a
                                      GNN score network trained on eq. 19
                                      targets, guided DDIM candidates,
                                      predict-and-search (dopt.learn.score;
                                      needs torch)

features and graph need numpy only; the network classes import torch when
first used.
"""

import importlib

from .features import (CON_FEATURES, CON_LP_FEATURES, DEFAULT_TOL, EDGE_FEATURES, VAR_FEATURES, VAR_LP_FEATURES,
                       InstanceGraph, instance_graph)
from .graph import BlockBatch, GraphBatch, batch_graphs, binary_batch, ptr_from_sizes, select_instances
from .labels import Solutions, near_optimal_solutions, no_good_row

_TORCH_NAMES = ("BipartiteGCN", "BipartiteConv", "PreNorm", "graph_tensors", "split_logits")
_SCORE_NAMES = ("ScoreGCN", "ScoreConfig", "ScoreModel", "train_score", "sample_candidates",
                "score_predict_and_search", "solution_labels")


def __getattr__(name):
    # the network needs torch: imported on first use so that features and
    # batching work without it
    if name in _TORCH_NAMES:
        return getattr(importlib.import_module(".gnn", __name__), name)
    if name in _SCORE_NAMES:
        return getattr(importlib.import_module(".score", __name__), name)
    if name in ("gnn", "unsupervised", "score"):
        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'dopt.learn' has no attribute {name!r}")


__all__ = ["InstanceGraph", "instance_graph", "VAR_FEATURES", "VAR_LP_FEATURES", "CON_FEATURES", "CON_LP_FEATURES",
           "EDGE_FEATURES", "DEFAULT_TOL", "BlockBatch", "GraphBatch", "batch_graphs", "binary_batch",
           "ptr_from_sizes", "select_instances", "Solutions", "near_optimal_solutions", "no_good_row", *_TORCH_NAMES,
           *_SCORE_NAMES]
