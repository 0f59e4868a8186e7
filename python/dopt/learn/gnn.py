"""The bipartite graph convolutional network of Gasse et al. 2019, in plain
torch (index_add_ over edge_index; no torch_geometric needed), one logit per
variable. It takes a dopt.learn.GraphBatch (numpy or torch arrays) or, when
torch_geometric is installed, a HeteroData / Batch of them
(InstanceGraph.to_pyg()): node types 'var' and 'con', edge type
('con', 'to', 'var').

Architecture (docs/LEARN.md): per node type a pre-normalization (fixed
shift and scale fitted on training data, as the paper's PreNormLayer) and a
two-layer embedding; the edge feature pre-normalized; one half-convolution
variables -> constraints, then one constraints -> variables, each

    message_e = W_f ReLU(LN(W_l h_con[e] + W_e f_e + W_r h_var[e]))
    h_target  = MLP([LN(sum of messages into target), h_target])

then an MLP to one logit per variable. The paper's scale-only PreNormLayer
inside the convolutions is a LayerNorm here (as in the common PyTorch ports
of this network).
"""

import torch
from torch import nn

from .features import CON_FEATURES, EDGE_FEATURES, VAR_FEATURES

__all__ = ["PreNorm", "BipartiteConv", "BipartiteGCN", "graph_tensors", "split_logits"]


class PreNorm(nn.Module):
    """y = (x + shift) * scale per feature, with shift and scale buffers
    (not trained): identity until fit() sets them from data (shift = -mean,
    scale = 1 / std; a constant feature gets scale 1)."""

    def __init__(self, num_features):
        super().__init__()
        self.register_buffer("shift", torch.zeros(num_features))
        self.register_buffer("scale", torch.ones(num_features))

    def forward(self, x):
        return (x + self.shift) * self.scale

    @torch.no_grad()
    def fit(self, x):
        """Sets shift and scale from the rows of x (rows: nodes or edges)."""
        x = torch.as_tensor(x, dtype=torch.float64)
        if x.ndim != 2 or x.shape[1] != self.shift.numel():
            raise ValueError(f"learn: PreNorm.fit needs (rows, {self.shift.numel()}) data; got {tuple(x.shape)}")
        if x.shape[0] == 0:
            return
        mean = x.mean(dim=0)
        std = x.std(dim=0, unbiased=False)
        std = torch.where(std > 0, std, torch.ones_like(std))
        self.shift.copy_(-mean)
        self.scale.copy_(1.0 / std)


class BipartiteConv(nn.Module):
    """One half-convolution of the bipartite graph (Gasse et al.'s
    BipartiteGraphConvolution). The message of edge (constraint i, variable
    j) is built from both ends whatever the direction; to='con' sums the
    messages into the constraints, to='var' into the variables."""

    def __init__(self, emb_size, edge_size):
        super().__init__()
        self.con_module = nn.Linear(emb_size, emb_size)
        self.edge_module = nn.Linear(edge_size, emb_size, bias=False)
        self.var_module = nn.Linear(emb_size, emb_size, bias=False)
        self.message_module = nn.Sequential(nn.LayerNorm(emb_size), nn.ReLU(), nn.Linear(emb_size, emb_size))
        self.aggregate_norm = nn.LayerNorm(emb_size)
        self.output_module = nn.Sequential(nn.Linear(2 * emb_size, emb_size), nn.ReLU(),
                                           nn.Linear(emb_size, emb_size))

    def forward(self, con, edge_index, edge_attr, var, to):
        # Linear maps commute with gathering: apply them per node, then gather per edge.
        joint = self.con_module(con)[edge_index[0]] + self.edge_module(edge_attr) + self.var_module(var)[edge_index[1]]
        messages = self.message_module(joint)
        if to == "con":
            target, target_index = con, edge_index[0]
        elif to == "var":
            target, target_index = var, edge_index[1]
        else:
            raise ValueError(f"learn: BipartiteConv to must be 'con' or 'var'; got {to!r}")
        total = torch.zeros(target.shape[0], messages.shape[1], dtype=messages.dtype, device=messages.device)
        total.index_add_(0, target_index, messages)
        return self.output_module(torch.cat([self.aggregate_norm(total), target], dim=-1))


def _is_pyg(graph):
    return hasattr(graph, "node_types") and hasattr(graph, "edge_types")


def graph_tensors(graph, dtype=torch.float32, device=None):
    """(con_x, edge_index, edge_attr, var_x) of a GraphBatch / InstanceGraph
    (numpy or torch arrays) or a torch_geometric HeteroData / Batch, as
    tensors of dtype on device (edge_index int64, row 0 constraints)."""
    if _is_pyg(graph):
        con_x, var_x = graph["con"].x, graph["var"].x
        store = graph["con", "to", "var"]
        edge_index, edge_attr = store.edge_index, store.edge_attr
    elif all(hasattr(graph, name) for name in ("con_features", "var_features", "edge_index", "edge_features")):
        con_x, var_x = graph.con_features, graph.var_features
        edge_index, edge_attr = graph.edge_index, graph.edge_features
    else:
        raise TypeError("learn: the network takes a dopt.learn GraphBatch / InstanceGraph or a torch_geometric "
                        f"HeteroData with 'var', 'con' and ('con', 'to', 'var'); got {type(graph).__name__}")
    con_x = torch.as_tensor(con_x, dtype=dtype, device=device)
    var_x = torch.as_tensor(var_x, dtype=dtype, device=device)
    edge_attr = torch.as_tensor(edge_attr, dtype=dtype, device=device)
    edge_index = torch.as_tensor(edge_index, dtype=torch.int64, device=device)
    if edge_attr.ndim == 1:
        edge_attr = edge_attr.unsqueeze(-1)
    if edge_index.ndim != 2 or edge_index.shape[0] != 2 or edge_index.shape[1] != edge_attr.shape[0]:
        raise ValueError(f"learn: edge_index must be (2, E) with E = {edge_attr.shape[0]} edge feature rows; got "
                         f"{tuple(edge_index.shape)}")
    if edge_index.shape[1]:
        if int(edge_index[0].min()) < 0 or int(edge_index[0].max()) >= con_x.shape[0]:
            raise ValueError(f"learn: edge_index[0] must hold constraint nodes in [0, {con_x.shape[0]})")
        if int(edge_index[1].min()) < 0 or int(edge_index[1].max()) >= var_x.shape[0]:
            raise ValueError(f"learn: edge_index[1] must hold variable nodes in [0, {var_x.shape[0]})")
    return con_x, edge_index, edge_attr, var_x


def split_logits(logits, graph):
    """Per-variable outputs (N, ...) as a list per instance: by var_ptr of a
    GraphBatch, by graph['var'].ptr of a torch_geometric Batch; a single
    graph gives a one-element list."""
    if _is_pyg(graph):
        ptr = getattr(graph["var"], "ptr", None)
        if ptr is None:
            return [logits]
        bounds = [int(v) for v in ptr]
    elif hasattr(graph, "var_ptr"):
        bounds = [int(v) for v in graph.var_ptr]
    else:
        return [logits]
    if bounds[-1] != logits.shape[0]:
        raise ValueError(f"learn: {logits.shape[0]} outputs for a batch of {bounds[-1]} variables")
    return [logits[bounds[i]:bounds[i + 1]] for i in range(len(bounds) - 1)]


class BipartiteGCN(nn.Module):
    """Gasse et al.'s bipartite GCN: one logit per variable.

    BipartiteGCN(var_features=6, con_features=2, edge_features=1,
                 emb_size=64, seed=None)
    feature counts: the widths of the graph's feature matrices (the defaults
    are those of instance_graph without LP features; for_graph() reads them
    off a batch). seed: initialize the weights from this seed without
    touching torch's global generator (None: from the global generator).

    forward(graph) -> (N,) logits for a GraphBatch, InstanceGraph or PyG
    HeteroData / Batch (converted to the module's dtype and device).
    embed(graph) -> (constraint embeddings (M, emb), variable embeddings
    (N, emb)), for networks that put their own head on top.
    fit_prenorm(graphs) sets the input pre-normalizations from training data.
    """

    def __init__(self, var_features=len(VAR_FEATURES), con_features=len(CON_FEATURES),
                 edge_features=len(EDGE_FEATURES), emb_size=64, seed=None):
        super().__init__()
        if seed is None:
            self._build(var_features, con_features, edge_features, emb_size)
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed))
                self._build(var_features, con_features, edge_features, emb_size)

    def _build(self, var_features, con_features, edge_features, emb_size):
        self.emb_size = int(emb_size)
        self.con_norm = PreNorm(con_features)
        self.con_embedding = nn.Sequential(nn.Linear(con_features, emb_size), nn.ReLU(),
                                           nn.Linear(emb_size, emb_size), nn.ReLU())
        self.edge_norm = PreNorm(edge_features)
        self.var_norm = PreNorm(var_features)
        self.var_embedding = nn.Sequential(nn.Linear(var_features, emb_size), nn.ReLU(),
                                           nn.Linear(emb_size, emb_size), nn.ReLU())
        self.conv_var_to_con = BipartiteConv(emb_size, edge_features)
        self.conv_con_to_var = BipartiteConv(emb_size, edge_features)
        self.output_module = nn.Sequential(nn.Linear(emb_size, emb_size), nn.ReLU(),
                                           nn.Linear(emb_size, 1, bias=False))

    @classmethod
    def for_graph(cls, graph, **kwargs):
        """A network sized for graph's feature widths (GraphBatch,
        InstanceGraph or PyG HeteroData)."""
        con_x, _, edge_attr, var_x = graph_tensors(graph, dtype=torch.float64)
        return cls(var_x.shape[1], con_x.shape[1], edge_attr.shape[1], **kwargs)

    def _placement(self):
        parameter = next(self.parameters())
        return parameter.dtype, parameter.device

    def embed_tensors(self, con_x, edge_index, edge_attr, var_x):
        """(constraint embeddings, variable embeddings) after both half-convolutions."""
        con = self.con_embedding(self.con_norm(con_x))
        var = self.var_embedding(self.var_norm(var_x))
        edge = self.edge_norm(edge_attr)
        con = self.conv_var_to_con(con, edge_index, edge, var, to="con")
        var = self.conv_con_to_var(con, edge_index, edge, var, to="var")
        return con, var

    def embed(self, graph):
        dtype, device = self._placement()
        return self.embed_tensors(*graph_tensors(graph, dtype, device))

    def forward_tensors(self, con_x, edge_index, edge_attr, var_x):
        """(N,) logits from the raw tensors (row 0 of edge_index: constraints)."""
        _, var = self.embed_tensors(con_x, edge_index, edge_attr, var_x)
        return self.output_module(var).squeeze(-1)

    def forward(self, graph):
        dtype, device = self._placement()
        return self.forward_tensors(*graph_tensors(graph, dtype, device))

    @torch.no_grad()
    def fit_prenorm(self, graphs):
        """Fits the constraint, edge and variable pre-normalizations to the
        nodes and edges of graphs (one graph/batch or a sequence of them)."""
        if not isinstance(graphs, (list, tuple)):
            graphs = [graphs]
        parts = [graph_tensors(g, dtype=torch.float64) for g in graphs]
        if not parts:
            raise ValueError("learn: fit_prenorm needs at least one graph")
        self.con_norm.fit(torch.cat([p[0] for p in parts]))
        self.edge_norm.fit(torch.cat([p[2] for p in parts]))
        self.var_norm.fit(torch.cat([p[3] for p in parts]))
