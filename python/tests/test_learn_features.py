"""dopt.learn: features against hand-computed values, heterogeneous batching
in the block layout, and the bipartite GCN (shapes, equivariance, seeds, a
training step)."""
import importlib.util
import math

import numpy as np
import pytest

import dopt
import dopt.milp as mm
from dopt import learn

from conftest import requires_torch

HAVE_PYG = importlib.util.find_spec("torch_geometric") is not None

# 3 columns: x binary, y general integer in [0, 5], z free continuous; rows
# r1: 2x + y <= 4.5, r2: x - z = 1, r3: 3y + 4z >= 2; minimize x - y + 2z.
TINY_MPS = """NAME          TINY
ROWS
 N  obj
 L  r1
 E  r2
 G  r3
COLUMNS
    MARKER    'MARKER'    'INTORG'
    x    obj    1    r1    2
    x    r2    1
    y    obj    -1    r1    1
    y    r3    3
    MARKER    'MARKER'    'INTEND'
    z    obj    2    r2    -1
    z    r3    4
RHS
    rhs    r1    4.5    r2    1
    rhs    r3    2
BOUNDS
 UP bnd x 1
 UP bnd y 5
 FR bnd z
ENDATA
"""
# The LP relaxation: z = x - 1, so minimize 3x - y - 2 with y <= 4.5 - 2x:
# 5x - 6.5, optimal at x = 0, y = 4.5, z = -1 (unique; objective -6.5).
TINY_LP = np.array([0.0, 4.5, -1.0])


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.mps"
    path.write_text(TINY_MPS)
    return mm.read_mps(path)


def expected_static(sign=1.0):
    """Hand-computed features of TINY (sign -1: the same model maximizing)."""
    s6, s5, s2 = math.sqrt(6), math.sqrt(5), math.sqrt(2)
    var = np.array([
        # binary, integer, continuous, c_j/||c|| (||c|| = sqrt(6)), has_lb, has_ub
        [1, 0, 0, sign * 1 / s6, 1, 1],
        [0, 1, 0, sign * -1 / s6, 1, 1],
        [0, 0, 1, sign * 2 / s6, 0, 0],
    ])
    # one-sided rows in order: r1 upper (2x + y <= 4.5), r2 lower (-x + z <= -1),
    # r2 upper (x - z <= 1), r3 lower (-3y - 4z <= -2); norms sqrt5, sqrt2, sqrt2, 5.
    # a.c: r1 2 - 1 = 1; r2 lower -1 - 2 = -3 ... with c = (1, -1, 2):
    #   r1: 2*1 + 1*(-1) = 1;  r2 lower: -1*1 + 1*2 = 1;  r2 upper: -1;  r3 lower: 3 - 8 = -5
    con = np.array([
        [sign * 1 / (s5 * s6), 4.5 / s5],
        [sign * 1 / (s2 * s6), -1 / s2],
        [sign * -1 / (s2 * s6), 1 / s2],
        [sign * -5 / (5 * s6), -2 / 5],
    ])
    edges = [  # (node, column, raw coefficient, normalized)
        (0, 0, 2, 2 / s5), (0, 1, 1, 1 / s5),
        (1, 0, -1, -1 / s2), (1, 2, 1, 1 / s2),
        (2, 0, 1, 1 / s2), (2, 2, -1, -1 / s2),
        (3, 1, -3, -3 / 5), (3, 2, -4, -4 / 5),
    ]
    return var, con, edges


# ---- features --------------------------------------------------------------------------------------------
def test_static_features_by_hand(tiny):
    g = learn.instance_graph(tiny)
    var, con, edges = expected_static()
    assert g.n == 3 and g.m == 4 and g.nnz == 8
    assert g.var_feature_names == learn.VAR_FEATURES and g.con_feature_names == learn.CON_FEATURES
    np.testing.assert_allclose(g.var_features, var, rtol=0, atol=1e-15)
    np.testing.assert_allclose(g.con_features, con, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(g.edge_index, np.array([[e[0] for e in edges], [e[1] for e in edges]]))
    np.testing.assert_array_equal(g.values, [e[2] for e in edges])
    np.testing.assert_allclose(g.edge_features[:, 0], [e[3] for e in edges], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(g.row_ptr, [0, 2, 4, 6, 8])
    np.testing.assert_array_equal(g.b, [4.5, -1, 1, -2])
    np.testing.assert_array_equal(g.row_of, [0, 1, 1, 2])
    np.testing.assert_array_equal(g.row_sign, [1, -1, 1, -1])
    np.testing.assert_array_equal(g.c, [1, -1, 2])
    assert g.lp_solution is None and g.name == "TINY"


def test_maximize_uses_the_minimization_objective(tiny):
    tiny.maximize = True
    g = learn.instance_graph(tiny)
    var, con, _ = expected_static(sign=-1.0)
    np.testing.assert_allclose(g.var_features, var, rtol=0, atol=1e-15)
    np.testing.assert_allclose(g.con_features, con, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(g.c, [-1, 1, -2])


def expected_lp_columns():
    # x = 0 at its lower bound; y = 4.5: fractional part 0.5, at neither bound;
    # z = -1 continuous (fractionality 0), no bounds.
    var = np.array([[0, 0, 1, 0], [4.5, 0.5, 0, 0], [-1, 0, 0, 0]])
    # r1: 2*0 + 4.5 = 4.5 tight; r2 both sides tight; r3: 3*4.5 - 4 = 9.5 > 2, not tight
    con = np.array([[1], [1], [1], [0]])
    return var, con


def test_lp_features_from_a_given_solution(tiny):
    g = learn.instance_graph(tiny, lp=True, lp_solution=TINY_LP)
    var, con, _ = expected_static()
    lp_var, lp_con = expected_lp_columns()
    assert g.var_feature_names == learn.VAR_FEATURES + learn.VAR_LP_FEATURES
    assert g.con_feature_names == learn.CON_FEATURES + learn.CON_LP_FEATURES
    np.testing.assert_allclose(g.var_features, np.hstack([var, lp_var]), rtol=0, atol=1e-15)
    np.testing.assert_allclose(g.con_features, np.hstack([con, lp_con]), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(g.lp_solution, TINY_LP)


@pytest.mark.skipif(not mm.have_cbc(), reason="the LP relaxation needs the Cbc/Clp backend")
def test_lp_features_from_the_relaxation(tiny):
    g = learn.instance_graph(tiny, lp=True)
    np.testing.assert_allclose(g.lp_solution, TINY_LP, atol=1e-9)
    ref = learn.instance_graph(tiny, lp=True, lp_solution=TINY_LP)
    np.testing.assert_allclose(g.var_features, ref.var_features, atol=1e-9)
    np.testing.assert_array_equal(g.con_features[:, 2], ref.con_features[:, 2])


def test_lp_indicator_tolerance(tiny):
    # 1 + 1e-9 is still "at the bound" / an integer under the default tol; 1e-4 off is not
    near = learn.instance_graph(tiny, lp=True, lp_solution=[1e-9, 2 + 1e-9, -1])
    assert near.var_features[0, 8] == 1 and near.var_features[1, 7] == 0
    far = learn.instance_graph(tiny, lp=True, lp_solution=[1e-4, 2 + 1e-4, -1])
    assert far.var_features[0, 8] == 0 and far.var_features[1, 7] == pytest.approx(1e-4)
    below = learn.instance_graph(tiny, lp=True, lp_solution=[0, 3 - 1e-9, -1])
    assert below.var_features[1, 7] == 0  # 3 - 1e-9 counts as the integer 3, not as fraction 0.999999999


def test_free_rows_are_dropped_and_empty_rows_kept():
    A = np.array([[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]])
    model = mm.Model([1.0, 1.0], A, row_lo=[-np.inf, -np.inf, 1.0], row_hi=[np.inf, 5.0, 2.0], col_hi=1,
                     integer=[1, 1])
    g = learn.instance_graph(model)
    np.testing.assert_array_equal(g.row_of, [1, 2, 2])
    np.testing.assert_array_equal(g.row_ptr, [0, 0, 1, 2])
    np.testing.assert_array_equal(g.con_features[0], [0.0, 5.0])  # an empty row: norm taken as 1, cos 0
    np.testing.assert_array_equal(g.b, [5.0, -1.0, 2.0])
    # the graph's rows are exactly to_binary_form's
    form = mm.to_binary_form(model, "le")
    np.testing.assert_array_equal(form.row_ptr, g.row_ptr)
    np.testing.assert_array_equal(form.col_idx, g.col_idx)
    np.testing.assert_array_equal(form.values, g.values)
    np.testing.assert_array_equal(form.b, g.b)


def test_zero_objective_and_empty_model():
    g = learn.instance_graph(mm.Model(np.zeros(2), np.array([[1.0, 1.0]]), row_hi=[1.0]))
    np.testing.assert_array_equal(g.var_features[:, 3], [0, 0])
    np.testing.assert_array_equal(g.con_features[:, 0], [0])
    empty = learn.instance_graph(mm.Model(np.zeros(0)))
    assert empty.var_features.shape == (0, 6) and empty.con_features.shape == (0, 2)
    assert empty.edge_index.shape == (2, 0) and empty.edge_features.shape == (0, 1)


def test_feature_arguments_are_checked(tiny):
    with pytest.raises(TypeError, match="dopt.milp.Model"):
        learn.instance_graph(np.zeros(3))
    with pytest.raises(ValueError, match=r"lp_solution must have shape \(3,\)"):
        learn.instance_graph(tiny, lp=True, lp_solution=np.zeros(2))
    with pytest.raises(ValueError, match="lp_solution must be finite"):
        learn.instance_graph(tiny, lp=True, lp_solution=[0, np.nan, 0])
    with pytest.raises(ValueError, match="lp=False"):
        learn.instance_graph(tiny, lp_solution=TINY_LP)
    with pytest.raises(ValueError, match="tol"):
        learn.instance_graph(tiny, tol=-1)


@pytest.mark.skipif(not mm.have_cbc(), reason="the LP relaxation needs the Cbc/Clp backend")
def test_infeasible_relaxation_is_a_clear_error():
    model = mm.Model([1.0], np.array([[1.0]]), row_lo=[2.0], col_hi=1, integer=[1], name="infeasible")
    with pytest.raises(ValueError, match="LP relaxation of model infeasible has no optimal solution"):
        learn.instance_graph(model, lp=True)


@pytest.mark.parametrize("family, params", [("sc", dict(rows=20, cols=30, density=0.2)),
                                            ("ca", dict(items=10, bids=20)),
                                            ("cfl", dict(customers=5, facilities=4)),
                                            ("mis", dict(nodes=15, affinity=2))])
def test_generator_families(family, params):
    model = mm.generate(family, seed=3, **params)
    lp = mm.have_cbc()
    g = learn.instance_graph(model, lp=lp)
    assert g.var_features.shape == (model.n, 10 if lp else 6)
    assert np.isfinite(g.var_features).all() and np.isfinite(g.con_features).all()
    assert np.isfinite(g.edge_features).all()
    np.testing.assert_array_equal(g.var_features[:, :3].sum(axis=1), 1)  # the type is one-hot
    assert (np.abs(g.con_features[:, 0]) <= 1 + 1e-12).all() and (np.abs(g.edge_features) <= 1 + 1e-12).all()
    edge_norms = np.sqrt(np.bincount(g.edge_index[0], weights=g.edge_features[:, 0] ** 2, minlength=g.m))
    np.testing.assert_allclose(edge_norms[np.diff(g.row_ptr) > 0], 1, rtol=1e-12)  # rows normalized
    if lp:
        activity = model.dense() @ g.lp_solution  # the LP point satisfies the rows (not integrality)
        assert (activity >= model.row_lo - 1e-6).all() and (activity <= model.row_hi + 1e-6).all()
    if model.binary.all():
        form = mm.to_binary_form(model)
        np.testing.assert_array_equal(form.values, g.values)
        np.testing.assert_array_equal(form.b, g.b)
    else:
        with pytest.raises(dopt.Error, match="not binary"):
            learn.binary_batch([model])


# ---- batching --------------------------------------------------------------------------------------------
def three_models(tiny):
    return [mm.generate("sc", rows=8, cols=10, density=0.3, seed=1), tiny,
            mm.generate("cfl", customers=3, facilities=2, seed=2)]


def test_batch_layout(tiny):
    models = three_models(tiny)
    graphs = [learn.instance_graph(m) for m in models]
    batch = learn.batch_graphs(graphs)
    n = [g.n for g in graphs]
    m = [g.m for g in graphs]
    nnz = [g.nnz for g in graphs]
    assert len(set(n)) == 3 and len(set(m)) == 3  # really heterogeneous
    assert batch.batch_size == 3
    np.testing.assert_array_equal(batch.var_ptr, np.cumsum([0] + n))
    np.testing.assert_array_equal(batch.con_ptr, np.cumsum([0] + m))
    np.testing.assert_array_equal(batch.edge_ptr, np.cumsum([0] + nnz))
    assert batch.var_ptr.dtype == np.int64 and batch.con_ptr.dtype == np.int64
    assert batch.row_ptr.dtype == np.int64 and batch.col_idx.dtype == np.int32
    assert batch.row_ptr.shape == (sum(m) + 1,) and batch.row_ptr[-1] == sum(nnz)
    # every row's columns are global indices inside its own instance
    row_instance = batch.con_batch()
    for row in range(batch.num_cons):
        cols = batch.col_idx[batch.row_ptr[row]:batch.row_ptr[row + 1]]
        i = row_instance[row]
        assert ((cols >= batch.var_ptr[i]) & (cols < batch.var_ptr[i + 1])).all()
    # edge_index is the CSR's (row, column) pairs in order
    np.testing.assert_array_equal(batch.edge_index[0], np.repeat(np.arange(sum(m)), np.diff(batch.row_ptr)))
    np.testing.assert_array_equal(batch.edge_index[1], batch.col_idx)
    np.testing.assert_array_equal(batch.var_batch(), np.repeat([0, 1, 2], n))
    # features concatenated in order
    np.testing.assert_array_equal(batch.var_features, np.vstack([g.var_features for g in graphs]))
    np.testing.assert_array_equal(batch.con_features, np.vstack([g.con_features for g in graphs]))
    np.testing.assert_array_equal(batch.edge_features, np.vstack([g.edge_features for g in graphs]))
    np.testing.assert_array_equal(batch.binary, np.concatenate([g.binary for g in graphs]))
    assert batch.names == [model.name for model in models]


def test_batch_round_trip_to_each_instance(tiny):
    models = three_models(tiny)
    batch = learn.batch_graphs(models)  # Models are turned into graphs on the way
    for i, model in enumerate(models):
        g = learn.instance_graph(model)
        row_ptr, col_idx, values, b, c = batch.instance(i)
        np.testing.assert_array_equal(row_ptr, g.row_ptr)
        np.testing.assert_array_equal(col_idx, g.col_idx)
        assert col_idx.dtype == np.int32
        np.testing.assert_array_equal(values, g.values)
        np.testing.assert_array_equal(b, g.b)
        np.testing.assert_array_equal(c, g.c)
        # and back to the model's own rows: node k is row_sign[k] * (row row_of[k])
        dense = batch.dense(i)
        np.testing.assert_array_equal(dense, g.row_sign[:, None] * model.dense()[g.row_of])
        bounds = np.where(g.row_sign < 0, model.row_lo[g.row_of], model.row_hi[g.row_of])
        np.testing.assert_array_equal(b, g.row_sign * bounds)
    parts = batch.split_vars(np.arange(batch.num_vars))
    assert [p.size for p in parts] == [model.n for model in models]
    assert [p.shape[0] for p in batch.split_cons(batch.con_features)] == list(np.diff(batch.con_ptr))
    with pytest.raises(ValueError, match="expected"):
        batch.split_vars(np.zeros(batch.num_vars + 1))


def test_binary_batch_is_to_binary_form_per_instance():
    models = [mm.generate("sc", rows=5 + i, cols=7 + 2 * i, density=0.5, seed=i) for i in range(3)]
    models.append(mm.Model([1.0, -2.0], np.array([[1.0, 1.0]]), row_lo=[1.0], row_hi=[1.0], col_hi=1,
                           integer=[1, 1], maximize=True))  # an equality, maximizing
    for sense in ("le", "ge"):
        blocks = learn.binary_batch(models, sense)
        assert blocks.sense == sense and blocks.batch_size == 4
        for i, model in enumerate(models):
            form = mm.to_binary_form(model, sense)
            row_ptr, col_idx, values, b, c = blocks.instance(i)
            np.testing.assert_array_equal(row_ptr, form.row_ptr)
            np.testing.assert_array_equal(col_idx, form.col_idx)
            np.testing.assert_array_equal(values, form.values)
            np.testing.assert_array_equal(b, form.b)
            np.testing.assert_array_equal(c, form.c)
    # the graph batch of binary models carries the same 'le' rows
    graphs = learn.batch_graphs(models)
    blocks = learn.binary_batch(models)
    for name in ("var_ptr", "con_ptr", "row_ptr", "col_idx", "values", "b", "c"):
        np.testing.assert_array_equal(getattr(graphs, name), getattr(blocks, name), err_msg=name)


def test_batching_errors(tiny):
    with pytest.raises(dopt.Error, match="not binary") as info:
        learn.binary_batch([mm.generate("sc", rows=4, cols=5, density=0.6, seed=0), tiny])
    if hasattr(info.value, "__notes__"):
        assert "instance 1" in info.value.__notes__[0]
    with pytest.raises(TypeError, match="item 1"):
        learn.batch_graphs([tiny, "not a model"])
    with pytest.raises(TypeError, match="item 0"):
        learn.binary_batch([None])
    with_lp = learn.instance_graph(tiny, lp=True, lp_solution=TINY_LP)
    with pytest.raises(ValueError, match="instance 1 has feature columns"):
        learn.batch_graphs([learn.instance_graph(tiny), with_lp])
    with pytest.raises(ValueError, match=">= 0"):
        learn.ptr_from_sizes([1, -1])


def test_empty_batch():
    batch = learn.batch_graphs([])
    assert batch.batch_size == 0 and batch.num_vars == 0 and batch.num_cons == 0
    np.testing.assert_array_equal(batch.var_ptr, [0])
    np.testing.assert_array_equal(batch.row_ptr, [0])
    assert batch.edge_index.shape == (2, 0)


# ---- the network ----------------------------------------------------------------------------------------
def permuted_model(model, perm):
    """model with its columns reordered: new column k is old column perm[k]."""
    return mm.Model(model.c[perm], model.dense()[:, perm], model.row_lo, model.row_hi, model.col_lo[perm],
                    model.col_hi[perm], model.integer[perm], maximize=model.maximize)


def row_permuted_model(model, perm):
    return mm.Model(model.c, model.dense()[perm], model.row_lo[perm], model.row_hi[perm], model.col_lo,
                    model.col_hi, model.integer, maximize=model.maximize)


@requires_torch
def test_gnn_output_per_instance_and_alone(tiny):
    import torch
    models = three_models(tiny)
    batch = learn.batch_graphs(models)
    net = learn.BipartiteGCN.for_graph(batch, emb_size=16, seed=0).double()
    net.fit_prenorm(batch)
    logits = net(batch)
    assert logits.shape == (batch.num_vars,) and logits.dtype == torch.float64
    parts = learn.split_logits(logits, batch)
    assert [p.shape for p in parts] == [(model.n,) for model in models]
    # no information crosses instances: each instance alone gives its logits
    for model, part in zip(models, parts):
        alone = net(learn.instance_graph(model))
        torch.testing.assert_close(alone, part, rtol=0, atol=1e-12)
    # the same batch as torch tensors gives the same logits
    torch.testing.assert_close(net(batch.to_torch(dtype=torch.float64)), logits, rtol=0, atol=0)


@requires_torch
def test_gnn_permutation_equivariance(tiny):
    import torch
    models = three_models(tiny)
    net = learn.BipartiteGCN(emb_size=16, seed=3).double()
    net.fit_prenorm(learn.batch_graphs(models))
    logits = learn.split_logits(net(learn.batch_graphs(models)), learn.batch_graphs(models))
    rng = np.random.default_rng(7)
    target = 2  # the facility-location instance: binary and continuous columns
    perm = rng.permutation(models[target].n)
    shuffled = list(models)
    shuffled[target] = permuted_model(models[target], perm)
    batch = learn.batch_graphs(shuffled)
    new = learn.split_logits(net(batch), batch)
    torch.testing.assert_close(new[target], logits[target][perm], rtol=0, atol=1e-12)
    for i in (0, 1):
        torch.testing.assert_close(new[i], logits[i], rtol=0, atol=1e-12)
    assert not torch.allclose(logits[target], logits[target][perm])  # the permutation did move logits
    # reordering the rows changes nothing
    rows = list(models)
    rows[target] = row_permuted_model(models[target], rng.permutation(models[target].m))
    batch = learn.batch_graphs(rows)
    torch.testing.assert_close(learn.split_logits(net(batch), batch)[target], logits[target], rtol=0, atol=1e-12)


@requires_torch
def test_gnn_determinism_under_a_seed(tiny):
    import torch
    batch = learn.batch_graphs(three_models(tiny))
    state = torch.random.get_rng_state()
    a = learn.BipartiteGCN(seed=11)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global generator is left alone
    b = learn.BipartiteGCN(seed=11)
    c = learn.BipartiteGCN(seed=12)
    out = a(batch)
    assert torch.equal(out, b(batch))
    assert torch.equal(out, a(batch))
    assert not torch.equal(out, c(batch))
    torch.manual_seed(5)
    d = learn.BipartiteGCN()
    torch.manual_seed(5)
    e = learn.BipartiteGCN()
    assert torch.equal(d(batch), e(batch))


def train(models, seed, steps=30):
    import torch
    batch = learn.batch_graphs(models)
    net = learn.BipartiteGCN.for_graph(batch, emb_size=16, seed=seed)
    net.fit_prenorm(batch)
    # a simple supervised target: the best single-column assignment is not learnable
    # by a constant, so the loss must fall by learning from the features
    target = torch.as_tensor(batch.var_features[:, 3] < 0, dtype=torch.float32)  # "negative cost -> 1"
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(batch), target)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


@requires_torch
def test_a_training_step_decreases_a_loss(tiny):
    models = three_models(tiny) + [mm.generate("ca", items=8, bids=10, seed=4)]
    losses = train(models, seed=0)
    assert losses[-1] < 0.5 * losses[0]
    assert train(models, seed=0) == losses  # same seed, same run


@requires_torch
def test_gnn_input_errors(tiny):
    import torch
    net = learn.BipartiteGCN(emb_size=8, seed=0)
    with pytest.raises(TypeError, match="GraphBatch"):
        net(np.zeros(3))
    g = learn.instance_graph(tiny)
    with pytest.raises(ValueError, match=r"edge_index\[1\]"):
        net.forward(learn.InstanceGraph(**{**g.__dict__, "edge_index": g.edge_index + np.array([[0], [5]])}))
    with pytest.raises(RuntimeError):  # 10 LP-feature columns into a network built for 6
        net(learn.instance_graph(tiny, lp=True, lp_solution=TINY_LP))
    with pytest.raises(ValueError, match="PreNorm.fit"):
        learn.PreNorm(3).fit(torch.zeros(4, 2))


@requires_torch
@pytest.mark.skipif(not HAVE_PYG, reason="torch_geometric is not installed (optional)")
def test_pyg_batch_gives_the_same_logits(tiny):
    import torch
    from torch_geometric.data import Batch
    models = three_models(tiny)
    graphs = [learn.instance_graph(m) for m in models]
    batch = learn.batch_graphs(graphs)
    net = learn.BipartiteGCN.for_graph(batch, emb_size=16, seed=1)
    pyg = Batch.from_data_list([g.to_pyg() for g in graphs])
    torch.testing.assert_close(net(pyg), net(batch), rtol=0, atol=1e-6)
    assert [p.shape[0] for p in learn.split_logits(net(pyg), pyg)] == [m.n for m in models]


# ---- the block layout is what dopt's block Bernoulli call takes ------------------------------------------
@pytest.mark.skipif(not hasattr(dopt.bern, "evaluate_blocks"), reason="dopt.bern.evaluate_blocks (ragged "
                    "Bernoulli, issue 13) is not in this build")
def test_graph_batch_feeds_the_block_bernoulli_call():
    # exact expectations (n <= 16) do not depend on the sampling counters, so the
    # block call on the batch must give each instance's own uniform result
    models = [mm.generate("sc", rows=r, cols=k, density=0.5, seed=s) for r, k, s in ((5, 8, 0), (7, 12, 1),
                                                                                      (4, 6, 2))]
    batch = learn.batch_graphs(models)
    rng = np.random.default_rng(0)
    logits = rng.normal(size=batch.num_vars)
    block = dopt.bern.evaluate_blocks(logits, batch.var_ptr, batch.A, batch.b, batch.c, con_ptr=batch.con_ptr,
                                      estimator="exact", logits=True, mu=2.0)
    assert block.loss.shape == (3,) and block.grad.shape == (batch.num_vars,)
    np.testing.assert_array_equal(block.status, 0)
    for i, part in enumerate(batch.split_vars(logits)):
        row_ptr, col_idx, values, b, c = batch.instance(i)
        alone = dopt.bern.evaluate(part, (row_ptr, col_idx, values), b, c, estimator="exact", logits=True, mu=2.0)
        np.testing.assert_allclose(block.loss[i], alone.loss, rtol=1e-13)
        np.testing.assert_allclose(batch.split_vars(block.grad)[i], alone.grad, rtol=1e-12, atol=1e-14)
