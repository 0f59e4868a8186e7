"""dopt.milp: models from arrays, MPS files, generators, solving (against
brute-force enumeration and HiGHS), predict-and-search (against the C
command line), the binary form, bad input and memory ownership."""
import ctypes
import gc
import itertools
import json
import math
import os
import pathlib
import pickle
import shutil
import subprocess
import sys
import threading
import time
import weakref

import numpy as np
import pytest

import dopt
import dopt.milp as milp
from conftest import HAVE_TORCH

REPO = pathlib.Path(__file__).resolve().parents[2]
MPS_DIR = REPO / "tests" / "data" / "mps"
INF = math.inf

requires_cbc = pytest.mark.skipif(not milp.have_cbc(), reason="libdopt was built without COIN-OR Cbc "
                                  "(install coinor-libcbc-dev and rebuild)")


def _cli():
    """The `dopt` command (DOPT_CLI, else on PATH, as `pip install .` puts it)."""
    path = os.environ.get("DOPT_CLI") or shutil.which("dopt")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("the dopt command is not available (set DOPT_CLI or install the package)")
    return path


def _same_model(a, b):
    assert (a.n, a.m, a.nnz, a.maximize, a.offset) == (b.n, b.m, b.nnz, b.maximize, b.offset)
    for name in ("c", "col_lo", "col_hi", "row_lo", "row_hi", "integer", "col_ptr", "row_idx", "values"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def _sample_model(**extra):
    """n = 6, m = 4: a zero entry in the dense A (dropped), every row kind
    (<=, >=, =, ranged), every bound kind, integers, names, maximize, offset."""
    A = np.array([[1.0, 2.0, 0.0, -1.0, 0.0, 3.5],
                  [0.0, 1.0, 1.0, 0.0, 0.0, 0.0],
                  [4.0, 0.0, 0.0, 0.0, -2.0, 1.0],
                  [0.0, 0.0, 1.0, 1.0, 1.0, 0.0]])
    kwargs = dict(c=np.array([1.0, -2.0, 0.5, 0.0, 3.0, -1.25]), A=A,
                  row_lo=[-INF, 1.0, 2.0, -1.0], row_hi=[10.0, INF, 2.0, 5.0],
                  col_lo=[0.0, -3.0, -INF, 0.0, 1.5, -INF], col_hi=[1.0, 4.0, 7.0, INF, 1.5, INF],
                  integer=[True, True, False, False, False, True], maximize=True, offset=-2.5, name="SAMPLE",
                  obj_name="obj", col_names=[f"x{j}" for j in range(6)], row_names=["le", "ge", "eq", "rng"])
    kwargs.update(extra)
    return milp.Model(**kwargs)


# ---- the model and its arrays ---------------------------------------------------------------------
def test_struct_mirrors_match_the_library():
    for mirror, name in ((milp._Milp, "dopt_milp"), (milp._Options, "dopt_milp_options"),
                         (milp._Result, "dopt_milp_result"), (milp._SearchOptions, "dopt_milp_search_options"),
                         (milp._SearchResult, "dopt_milp_search_result"),
                         (milp._BinaryForm, "dopt_milp_binary_form"), (milp._GenParams, "dopt_gen_params")):
        assert dopt._lib._struct_size(name.encode()) == ctypes.sizeof(mirror), name
    assert milp._SEARCH_RESULT_DTYPE.itemsize == ctypes.sizeof(milp._SearchResult)


def test_model_from_arrays_holds_them():
    model = _sample_model()
    assert (model.n, model.m, model.nnz) == (6, 4, 12)
    assert model.maximize and model.offset == -2.5 and model.name == "SAMPLE" and model.obj_name == "obj"
    assert model.col_names == [f"x{j}" for j in range(6)] and model.row_names == ["le", "ge", "eq", "rng"]
    np.testing.assert_array_equal(model.dense(), _sample_model().dense())
    np.testing.assert_array_equal(model.dense()[0], [1.0, 2.0, 0.0, -1.0, 0.0, 3.5])
    np.testing.assert_array_equal(model.integer, [1, 1, 0, 0, 0, 1])
    np.testing.assert_array_equal(model.binary, [True, False, False, False, False, False])
    np.testing.assert_array_equal(model.row_lo, [-INF, 1, 2, -1])
    np.testing.assert_array_equal(model.col_hi, [1, 4, 7, INF, 1.5, INF])
    # CSC, rows increasing inside each column
    np.testing.assert_array_equal(model.col_ptr, [0, 2, 4, 6, 8, 10, 12])
    np.testing.assert_array_equal(model.row_idx, [0, 2, 0, 1, 1, 3, 0, 3, 2, 3, 0, 2])
    model.check()
    x = np.array([1.0, 1.0, 0.5, 0.0, 1.5, 2.0])
    assert model.objective(x) == pytest.approx(1 - 2 + 0.25 + 4.5 - 2.5 - 2.5)
    assert model.objective(np.stack([x, x])).tolist() == [model.objective(x)] * 2


def test_sparse_inputs_give_the_same_model():
    dense = _sample_model()
    A = dense.dense()
    indptr, indices, data = dense.csr()
    from_csr = _sample_model(A=(indptr, indices, data))
    _same_model(dense, from_csr)
    scipy_sparse = pytest.importorskip("scipy.sparse")
    _same_model(dense, _sample_model(A=scipy_sparse.csr_matrix(A)))
    _same_model(dense, _sample_model(A=scipy_sparse.coo_array(A)))
    np.testing.assert_array_equal(dense.A.toarray(), A)
    # duplicates are summed and explicit zeros dropped (scipy's meaning)
    dup = milp.Model(np.zeros(3), ([0, 3, 5], [2, 0, 2, 1, 1], [1.0, 5.0, 2.0, 0.0, 0.0]), row_hi=[1, 1])
    np.testing.assert_array_equal(dup.dense(), [[5, 0, 3], [0, 0, 0]])
    assert dup.nnz == 2


def test_views_are_live_and_keep_the_model_alive():
    model = _sample_model()
    c = model.c
    c[0] = 9.0  # writable view: the solver sees the change
    assert model.c[0] == 9.0
    model.integer[2] = True
    assert model.integer[2] and model.num_integers == 4
    with pytest.raises(ValueError):
        model.values[0] = 1.0  # the matrix is read-only
    values, row_lo = model.values, model.row_lo
    owner = weakref.ref(model._owner)  # holds the C model; frees it when it goes
    del model
    gc.collect()
    assert owner() is not None  # the views keep the C model alive
    np.testing.assert_array_equal(values, [1.0, 4.0, 2.0, 1.0, 1.0, 1.0, -1.0, 1.0, -2.0, 1.0, 3.5, 1.0])
    np.testing.assert_array_equal(row_lo, [-INF, 1, 2, -1])
    assert c[0] == 9.0
    del values, row_lo, c
    gc.collect()
    assert owner() is None  # the last view gone: freed


def test_close_and_closed_model():
    model = _sample_model()
    model.close()
    model.close()  # twice is fine
    assert model.closed and "closed" in repr(model)
    with pytest.raises(ValueError, match="closed"):
        model.n
    with pytest.raises(ValueError, match="closed"):
        milp.solve(model)
    with _sample_model() as other:
        assert other.n == 6
        owner = weakref.ref(other._owner)
    assert other.closed and owner() is None  # freed at close, not at garbage collection


def test_pickle_and_copy():
    model = _sample_model()
    again = pickle.loads(pickle.dumps(model))
    _same_model(model, again)
    assert again.col_names == model.col_names and again.name == "SAMPLE"
    clone = model.copy()
    clone.c[0] = 42.0
    assert model.c[0] == 1.0


def test_from_senses():
    A = np.array([[1.0, 1.0], [1.0, -1.0], [0.0, 1.0]])
    model = milp.Model.from_senses([1.0, 1.0], A, "LGE", [4.0, -1.0, 2.0], integer=[1, 0])
    np.testing.assert_array_equal(model.row_lo, [-INF, -1, 2])
    np.testing.assert_array_equal(model.row_hi, [4, INF, 2])
    same = milp.Model.from_senses([1.0, 1.0], A, ["<=", ">=", "="], [4.0, -1.0, 2.0], integer=[1, 0])
    _same_model(model, same)
    with pytest.raises(ValueError, match="sense 1"):
        milp.Model.from_senses([1.0, 1.0], A, "LXE", [4.0, -1.0, 2.0])


@pytest.mark.skipif(not HAVE_TORCH, reason="torch is not installed")
def test_torch_inputs():
    import torch
    reference = _sample_model()
    arrays = reference.arrays()
    model = milp.Model(torch.tensor(arrays["c"]), torch.tensor(reference.dense()), torch.tensor(arrays["row_lo"]),
                       torch.tensor(arrays["row_hi"]), torch.tensor(arrays["col_lo"]), torch.tensor(arrays["col_hi"]),
                       torch.tensor(arrays["integer"]), maximize=True, offset=-2.5)
    _same_model(reference, model)
    _same_model(reference, milp.Model(torch.tensor(arrays["c"]), torch.tensor(reference.dense()).to_sparse_csr(),
                                      arrays["row_lo"], arrays["row_hi"], arrays["col_lo"], arrays["col_hi"],
                                      arrays["integer"], maximize=True, offset=-2.5))
    knap = milp.generate("knapsack", seed=1)
    pred = torch.full((knap.n,), 0.5, dtype=torch.float32)
    assert milp.search(knap, pred, delta=knap.n).objective == milp.solve(knap).objective


# ---- MPS files ---------------------------------------------------------------------------------------
def test_mps_round_trip_is_exact(tmp_path):
    model = _sample_model()
    path = tmp_path / "sample.mps"
    model.write_mps(path)
    back = milp.read_mps(path)
    _same_model(model, back)
    assert back.col_names == model.col_names and back.row_names == model.row_names
    assert back.name == "SAMPLE" and back.obj_name == "obj"
    _same_model(model, milp.parse_mps(path.read_text()))
    _same_model(model, milp.parse_mps(path.read_bytes(), format="free"))
    # awkward numbers survive too (17 significant digits)
    model.c[0] = 1.0 / 3.0
    model.offset = -math.pi
    model.col_hi[0] = 4.9e-324
    model.write_mps(str(path))
    _same_model(model, milp.read_mps(str(path)))


def test_repository_mps_files_parse():
    files = sorted(MPS_DIR.glob("*.mps"))
    assert len(files) >= 3
    for path in files:
        model = milp.read_mps(path)
        model.check()
        assert model.n > 0 and model.m > 0
    every = milp.read_mps(MPS_DIR / "every_section.mps")
    assert (every.n, every.m, every.nnz) == (10, 5, 12) and every.maximize and every.offset == 10
    assert every.name == "EVERY" and every.obj_name == "profit"
    assert every.row_names == ["bal", "cap", "dem", "rng_pos", "rng_neg"]
    np.testing.assert_array_equal(every.row_lo, [0, 3, 2, 1, -3])
    np.testing.assert_array_equal(every.row_hi, [0, 8, 6, 4, -1])
    np.testing.assert_array_equal(every.c, [1.5, -2, 4, 0, 1, 0, 0, 0.25, 0, 0])
    np.testing.assert_array_equal(every.col_lo, [0, -3, 0, -1, 2.5, -INF, -INF, 0, 0, -INF])
    # y2: integer with no BOUNDS entry: binary by default, [0, inf) with int_bounds="nonneg"
    np.testing.assert_array_equal(every.col_hi, [4, 5, 1, 1, 2.5, INF, 7, INF, 1, -2])
    nonneg = milp.read_mps(MPS_DIR / "every_section.mps", int_bounds="nonneg")
    np.testing.assert_array_equal(nonneg.col_hi, [4, 5, INF, 1, 2.5, INF, 7, INF, 1, -2])
    np.testing.assert_array_equal(every.integer, [0, 1, 1, 0, 0, 0, 0, 0, 1, 0])
    fixed = milp.read_mps(MPS_DIR / "fixed_blanks.mps")  # auto: free fails, fixed columns read it
    assert fixed.row_names[0] == "LIM 1" and fixed.col_names[1] == "X TWO"
    _same_model(fixed, milp.read_mps(MPS_DIR / "fixed_blanks.mps", format="fixed"))
    with pytest.raises(dopt.Error, match="line 4"):
        milp.read_mps(MPS_DIR / "fixed_blanks.mps", format="free")
    knap = milp.read_mps(MPS_DIR / "knapsack_free.mps")
    np.testing.assert_array_equal(knap.c, [10, 13, 7, 8])
    np.testing.assert_array_equal(knap.binary, [True] * 4)


def test_mps_int_bounds_gzip_and_warnings(tmp_path, caplog):
    import gzip
    import logging
    text = ("NAME nb\nROWS\n N obj\n L cap\nCOLUMNS\n M 'MARKER' 'INTORG'\n a obj -5 cap 2\n"
            " b obj -4 cap 3\n M 'MARKER' 'INTEND'\nRHS\n RHS cap 5\nBOUNDS\n UP BND b 4\nENDATA\nQUADOBJ\n a a 1\n")
    with caplog.at_level(logging.WARNING, logger="dopt"):
        model = milp.parse_mps(text)
    np.testing.assert_array_equal(model.col_hi, [1, 4])  # a: no BOUNDS entry -> binary; b: UP alone -> [0, 4]
    assert any("sections after ENDATA skipped: QUADOBJ" in r.getMessage() for r in caplog.records), caplog.text
    np.testing.assert_array_equal(milp.parse_mps(text, int_bounds="nonneg").col_hi, [INF, 4])
    with pytest.raises(ValueError, match="int_bounds"):
        milp.parse_mps(text, int_bounds="unit")
    # gzipped, under a name without .gz: the content decides (zlib is optional in the build)
    path = tmp_path / "nb.mps"
    path.write_bytes(gzip.compress(text.encode()))
    try:
        gz = milp.read_mps(path, int_bounds="nonneg")
    except dopt.Error as e:
        assert "zlib" in str(e) and e.status == dopt._lib.ERR_UNSUPPORTED
    else:
        np.testing.assert_array_equal(gz.col_hi, [INF, 4])
        _same_model(gz, milp.parse_mps(gzip.compress(text.encode()), int_bounds="nonneg"))


def test_mps_errors_are_exceptions(tmp_path):
    with pytest.raises(dopt.Error) as missing:
        milp.read_mps(tmp_path / "nope.mps")
    assert missing.value.status == dopt._lib.ERR_INVALID_ARGUMENT and "nope.mps" in str(missing.value)
    with pytest.raises(dopt.Error, match="line 6: unknown row 'q'"):
        milp.parse_mps("NAME x\nROWS\n N obj\n L r\nCOLUMNS\n a q 1\nENDATA\n")
    for text in ("", "garbage", "NAME\nROWS\n N obj\nCOLUMNS\n a obj nan\nENDATA\n", "\0\0\0", "ROWS\n X r\n"):
        with pytest.raises(dopt.Error):
            milp.parse_mps(text)
    with pytest.raises(ValueError, match="format"):
        milp.parse_mps("NAME x\n", format="loose")
    with pytest.raises(TypeError):
        milp.parse_mps(12)
    # what free MPS cannot hold is refused before the file is created
    free_row = milp.Model([1.0], [[1.0]])
    with pytest.raises(dopt.Error, match="free"):
        free_row.write_mps(tmp_path / "free.mps")
    assert not (tmp_path / "free.mps").exists()
    with pytest.raises(dopt.Error):
        _sample_model().write_mps(tmp_path / "no-such-dir" / "x.mps")


# ---- generators --------------------------------------------------------------------------------------
SMALL = {"sc": dict(rows=30, cols=40, density=0.2), "ca": dict(items=20, bids=40),
         "cfl": dict(customers=8, facilities=4), "mis": dict(nodes=30), "rc": {}, "wsc": {}, "knapsack": {}}


@pytest.mark.parametrize("family", sorted(SMALL))
def test_generators_are_deterministic_and_valid(family, tmp_path):
    a = milp.generate(family, "easy", seed=5, **SMALL[family])
    b = milp.generate(family, "easy", seed=5, **SMALL[family])
    c = milp.generate(family, "easy", seed=6, **SMALL[family])
    a.check()
    _same_model(a, b)
    long = {"sc": "setcover", "ca": "cauction", "cfl": "facility", "mis": "indset"}.get(family, family)
    assert a.name == f"{long}_s5" and c.name == f"{long}_s6"
    assert not (a.c.tolist() == c.c.tolist() and a.values.tolist() == c.values.tolist()), "seed ignored"
    a.write_mps(tmp_path / "a.mps")
    _same_model(a, milp.read_mps(tmp_path / "a.mps"))


def test_generator_parameters_and_presets():
    assert milp.preset("sc") == {"rows": 500, "cols": 1000, "density": 0.05, "max_coef": 100}
    assert milp.preset("rc", "hard") == {"n": 16, "m": 8, "dense": 0}
    sc = milp.generate("setcover", rows=30, cols=40, density=0.2, seed=1)
    assert (sc.m, sc.n, sc.nnz) == (30, 40, 240) and not sc.maximize
    np.testing.assert_array_equal(sc.row_lo, 1.0)
    assert milp.generate("wsc", m=5).n == 10  # as the CLI: n = 2 m when only m is given
    dense_rc = milp.generate("rc", dense=True, seed=2)
    np.testing.assert_array_equal(dense_rc.col_lo, -5.0)
    er = milp.generate("mis", nodes=20, graph="er", edge_prob=0.3, seed=1)
    assert er.n == 20 and er.maximize
    assert milp.generate("mis", nodes=20, is_graph=1, is_edge_prob=0.3, seed=1).dense().tolist() == er.dense().tolist()
    with pytest.raises(ValueError, match="unknown generator family"):
        milp.generate("tsp")
    with pytest.raises(ValueError, match="size"):
        milp.generate("sc", size="huge")
    with pytest.raises(TypeError, match="unknown generator parameter"):
        milp.generate("sc", colour=3)
    with pytest.raises(dopt.Error, match="set cover"):
        milp.generate("sc", rows=0)
    with pytest.raises(ValueError):
        milp.generate("sc", density=math.nan)
    with pytest.raises(ValueError):
        milp.generate("sc", seed=-1)


def test_generators_match_the_command_line(tmp_path):
    cli = _cli()
    for family, size, seed in (("knapsack", "easy", 7), ("sc", "easy", 3), ("mis", "easy", 11)):
        out = tmp_path / family
        subprocess.run([cli, "gen", family, "--size", size, "--count", "1", "--seed", str(seed), str(out),
                        "--quiet"], check=True)
        path = tmp_path / f"{family}.mps"
        milp.generate(family, size, seed).write_mps(path)
        assert path.read_bytes() == (out / f"{family}_{size}_0000.mps").read_bytes(), family


def test_combopt_rows():
    A, b, stream = milp.combopt_rows("rc", 16, 4, stream=123)
    A2, b2, stream2 = milp.combopt_rows("rc", 16, 4, stream=123)
    assert A.shape == (4, 16) and b.shape == (4,) and stream != 123
    np.testing.assert_array_equal(A, A2)
    np.testing.assert_array_equal(b, b2)
    assert stream == stream2
    np.testing.assert_allclose(np.linalg.norm(A, axis=1), 1.0)  # unit-normal rows
    A3, _, _ = milp.combopt_rows("rc", 16, 4, stream=stream)  # continuing the stream: new rows
    assert not np.array_equal(A, A3)
    # some corner of the box is feasible (the rows' signs are flipped so)
    corners = np.array(list(itertools.product([0.0, 1.0], repeat=8)))
    A8, b8, _ = milp.combopt_rows("rc", 8, 3, stream=9)
    assert ((corners @ A8.T) <= b8 + 1e-12).all(axis=1).any()
    W, wb, _ = milp.combopt_rows("wsc", 10, 5, stream=1)
    np.testing.assert_array_equal(wb, -1.0)
    assert set(np.unique(W)) <= {-1.0, 0.0} and (W.sum(axis=1) <= -1).all()  # every element covered
    assert ((W != 0).sum(axis=0) >= 1).all() and ((W != 0).sum(axis=0) <= 3).all()  # subsets of 1-3 elements
    with pytest.raises(ValueError):
        milp.combopt_rows("sc", 4, 2)
    with pytest.raises(ValueError):
        milp.combopt_rows("rc", 0, 2)


# ---- solving -----------------------------------------------------------------------------------------
def _brute_force(model):
    """(status, best objective) by enumerating every integer point in the box."""
    lo, hi = model.col_lo.astype(int), model.col_hi.astype(int)
    points = np.array(list(itertools.product(*[range(l, h + 1) for l, h in zip(lo, hi)])), dtype=float)
    ax = points @ model.dense().T
    feasible = ((ax >= model.row_lo - 1e-9) & (ax <= model.row_hi + 1e-9)).all(axis=1)
    if not feasible.any():
        return milp.PRIMAL_INFEASIBLE, None
    values = points[feasible] @ model.c + model.offset
    return milp.SOLVED, (values.max() if model.maximize else values.min())


def _random_ilp(rng):
    n, m = 5, 4
    A = rng.integers(-3, 4, size=(m, n)).astype(float)
    A[rng.random((m, n)) < 0.3] = 0
    kind = rng.integers(0, 4, size=m)
    rhs = rng.integers(-2, 6, size=m).astype(float)
    lo = np.where(kind == 1, rhs, np.where(kind == 2, rhs, np.where(kind == 3, rhs - 3, -INF)))
    hi = np.where(kind == 0, rhs, np.where(kind == 2, rhs, np.where(kind == 3, rhs, INF)))
    return milp.Model(rng.integers(-5, 6, size=n).astype(float), A, lo, hi, col_lo=rng.integers(-2, 1, size=n),
                      col_hi=rng.integers(1, 3, size=n), integer=True, maximize=bool(rng.integers(0, 2)),
                      offset=float(rng.integers(-3, 4)))


@pytest.mark.parametrize("solver", ["exact", pytest.param("cbc", marks=requires_cbc)])
def test_solve_matches_brute_force(solver):
    rng = np.random.default_rng(7)
    statuses = set()
    for _ in range(25):
        model = _random_ilp(rng)
        want_status, want = _brute_force(model)
        got = milp.solve(model, solver=solver)
        statuses.add(got.status)
        assert got.status == want_status
        assert got.solver == solver
        if want_status == milp.SOLVED:
            assert got.has_solution and got.objective == pytest.approx(want, abs=1e-7)
            assert model.violation(got.x) <= 1e-7
            assert model.objective(got.x) == pytest.approx(got.objective, abs=1e-7)
        else:
            assert got.x is None and not got.has_solution and math.isnan(got.objective)
    assert statuses == {milp.SOLVED, milp.PRIMAL_INFEASIBLE}  # both kinds were exercised


@requires_cbc
def test_solve_matches_highs():
    highspy = pytest.importorskip("highspy")
    for model in (milp.generate("sc", rows=30, cols=40, density=0.2, seed=4),
                  milp.generate("cfl", customers=8, facilities=4, seed=2),  # mixed: continuous x_ij
                  milp.generate("ca", items=20, bids=40, seed=3), _sample_model()):
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = model.n, model.m
        lp.col_cost_, lp.offset_ = model.c.copy(), model.offset
        lp.col_lower_, lp.col_upper_ = model.col_lo.copy(), model.col_hi.copy()
        lp.row_lower_, lp.row_upper_ = model.row_lo.copy(), model.row_hi.copy()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_ = model.col_ptr.copy(), model.row_idx.copy()
        lp.a_matrix_.value_ = model.values.copy()
        lp.integrality_ = [highspy.HighsVarType.kInteger if f else highspy.HighsVarType.kContinuous
                           for f in model.integer]
        if model.maximize:
            lp.sense_ = highspy.ObjSense.kMaximize
        h.passModel(lp)
        h.run()
        ours = milp.solve(model)
        if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
            assert ours.status == milp.PRIMAL_INFEASIBLE
            continue
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        assert ours.status == milp.SOLVED
        want = h.getInfo().objective_function_value
        assert ours.objective == pytest.approx(want, rel=1e-6, abs=1e-6), model
        assert model.violation(ours.x) <= 1e-6


@requires_cbc
def test_solve_options_and_outcomes():
    # unbounded, with the recession direction
    unbounded = milp.Model([-1.0, 0.0], [[1.0, -1.0]], row_lo=[1.0], col_hi=[INF, 3.0], integer=[1, 0])
    res = milp.solve(unbounded, ray=True)
    assert res.status == milp.DUAL_INFEASIBLE and res.status_name == "unbounded"
    assert res.ray is not None and np.abs(res.ray).max() == pytest.approx(1.0) and unbounded.c @ res.ray < 0
    assert milp.solve(unbounded).ray is None
    # relax: the LP value
    knap = milp.read_mps(MPS_DIR / "knapsack_free.mps")
    integral, relaxed = milp.solve(knap), milp.solve(knap, relax=True)
    assert _brute_force(knap) == (milp.SOLVED, 21.0)  # b + d: weight 9 of 10
    # the LP takes d and b (value/weight 2.67, 2.17), then a (2) in the last unit of room: 21 + 10/5
    assert integral.objective == 21.0 and relaxed.objective == pytest.approx(23.0)
    assert relaxed.solver == ("highs" if milp.have_highs() else "cbc")  # AUTO: HiGHS first
    # a MIP start and a generous limit change nothing
    assert milp.solve(knap, start=integral.x, time_limit=30, gap=0, threads=1).objective == 21.0
    assert milp.have_cbc() is True
    assert milp.solve(knap, solver="exact").objective == 21.0


@requires_cbc
def test_time_limits_reach_the_solver():
    model = milp.generate("mis", nodes=300, seed=3)  # about 15 s to prove optimal on this machine
    for run in (lambda: milp.solve(model, time_limit=0.3),
                lambda: milp.search(model, np.full(model.n, 0.5), delta=model.n, time_limit=0.3)):
        start = time.perf_counter()
        result = run()
        elapsed = time.perf_counter() - start
        assert result.status == milp.ITERATION_LIMIT and result.status_name == "time_limit"
        # an incumbent and a valid bound (max: bound >= incumbent)
        assert result.has_solution and model.violation(result.x) <= 1e-9 and result.bound >= result.objective
        assert elapsed < 5.0  # docs/MILP.md: overrun of one uninterruptible step (2.5x measured under load)


@requires_cbc
def test_the_gil_is_released_while_solving():
    model = milp.generate("mis", nodes=300, seed=3)
    done = []
    worker = threading.Thread(target=lambda: done.append(milp.solve(model, time_limit=0.5)))
    spins = 0
    worker.start()
    while worker.is_alive():
        spins += 1  # runs only while the solve does not hold the GIL
    worker.join()
    assert done and done[0].status == milp.ITERATION_LIMIT
    assert spins > 10000


def test_solver_refusals():
    continuous = milp.Model([1.0], [[1.0]], row_lo=[1.0])
    with pytest.raises(dopt.Error) as exact:
        milp.solve(continuous, solver="exact")
    assert exact.value.status == dopt._lib.ERR_UNSUPPORTED
    if not milp.have_cbc():
        with pytest.raises(dopt.Error, match="Cbc") as no_cbc:
            milp.solve(continuous, solver="cbc")
        assert no_cbc.value.status == dopt._lib.ERR_UNSUPPORTED
    with pytest.raises(ValueError, match="solver"):
        milp.solve(continuous, solver="gurobi")
    for bad in (dict(time_limit=-1), dict(time_limit=math.nan), dict(gap=-0.1), dict(threads=-2)):
        with pytest.raises(ValueError):
            milp.solve(continuous, **bad)
    with pytest.raises(ValueError, match="start"):
        milp.solve(continuous, start=[math.nan])
    with pytest.raises(ValueError, match="shape"):
        milp.solve(continuous, start=[1.0, 2.0])
    with pytest.raises(TypeError):
        milp.solve("model.mps")


# ---- predict-and-search -----------------------------------------------------------------------------
SOLVERS = ["exact", pytest.param("cbc", marks=requires_cbc)]


@pytest.mark.parametrize("solver", SOLVERS)
def test_search_properties(solver):
    model = milp.generate("knapsack", seed=3)  # 10 binaries, max
    full = milp.solve(model, solver=solver)
    # a feasible center (nothing packed) at delta 0 comes back unchanged
    center = milp.search(model, np.zeros(model.n), solver=solver)
    assert center.status == milp.SOLVED and center.center_violation == 0 and center.rounds == 1
    np.testing.assert_array_equal(center.x, np.zeros(model.n))
    assert not center.whole_model and not center.model_optimal and center.trust_size == model.n
    # the whole model: its optimum
    whole = milp.search(model, np.full(model.n, 0.7), delta=model.n, solver=solver)
    assert whole.whole_model and whole.model_optimal and whole.objective == full.objective
    # an infeasible center (everything packed) is repaired by widening delta
    repaired = milp.search(model, np.ones(model.n), solver=solver)
    assert repaired.center_violation > 0 and repaired.rounds > 1 and repaired.delta_used >= 1
    assert repaired.has_solution and model.violation(repaired.x) == 0
    hamming = np.abs(repaired.x - 1).sum()
    assert hamming <= repaired.delta_used
    no_repair = milp.search(model, np.ones(model.n), repair=False, solver=solver)
    assert no_repair.status == milp.PRIMAL_INFEASIBLE and no_repair.x is None
    # k0 / k1: the fixed variables keep their center values at delta 0
    pred = np.linspace(0.0, 1.0, model.n)
    fixed = milp.search(model, pred, k0=3, k1=0, solver=solver)
    assert fixed.trust_size == 3 and (fixed.x[:3] == 0).all()
    # a NaN prediction is a status, not an exception
    nan_pred = pred.copy()
    nan_pred[4] = math.nan
    assert milp.search(model, nan_pred, solver=solver).status == milp.INVALID_DATA


def test_search_bad_arguments():
    model = milp.generate("knapsack", seed=3)
    with pytest.raises(ValueError, match="shape"):
        milp.search(model, np.zeros(model.n + 1))
    with pytest.raises(ValueError, match="delta"):
        milp.search(model, np.zeros(model.n), delta=-1)
    with pytest.raises(ValueError, match="delta"):
        milp.search(model, np.zeros(model.n), delta=math.nan)
    with pytest.raises(dopt.Error, match="binar"):
        milp.search(model, np.zeros(model.n), k0=8, k1=8)
    with pytest.raises(TypeError):
        milp.search(model, "0.5")


@pytest.mark.parametrize("solver", SOLVERS)
def test_search_batch_equals_single_searches(solver):
    models = [milp.generate("knapsack", seed=s) for s in range(3)] + [milp.generate("wsc", seed=1)]
    rng = np.random.default_rng(0)
    model_of = np.array([0, 1, 2, 3, 0, 3, 1])
    preds = [rng.random(models[k].n) for k in model_of]
    batch = milp.search_batch(models, preds, model_of=model_of, delta=2, solver=solver, workers=2)
    assert len(batch) == 7 and isinstance(batch.x, list)  # the models differ in n
    for j, k in enumerate(model_of):
        single = milp.search(models[k], preds[j], delta=2, solver=solver)
        assert batch.status[j] == single.status and batch.rounds[j] == single.rounds
        assert batch.objective[j] == single.objective
        np.testing.assert_array_equal(batch.x[j], single.x)
        assert batch[j].objective == single.objective and batch[j].delta_used == single.delta_used
    # one model, K candidates: x is (K, n)
    preds2 = rng.random((5, models[0].n))
    preds2[2, 0] = math.nan
    same_n = milp.search_batch(models[0], preds2, solver=solver)
    assert same_n.x.shape == (5, models[0].n)
    assert same_n.status[2] == milp.INVALID_DATA and np.isnan(same_n.x[2]).all() and np.isnan(same_n.objective[2])
    assert (same_n.call_status == 0).all()
    for j in (0, 1, 3, 4):
        assert same_n.objective[j] == milp.search(models[0], preds2[j], solver=solver).objective


def test_search_batch_failures_and_shapes():
    good = milp.generate("knapsack", seed=0)
    continuous = milp.Model([1.0, 1.0], [[1.0, 1.0]], row_lo=[1.0], col_hi=1.0)
    with pytest.raises(dopt.Error, match="job 1") as failed:
        milp.search_batch([good, continuous], [np.zeros(good.n), np.zeros(2)], solver="exact")
    result = failed.value.result  # every job was attempted
    assert result.status[0] == milp.SOLVED and result.call_status[0] == 0 and result.call_status[1] != 0
    with pytest.raises(ValueError, match="model_of"):
        milp.search_batch([good, good], np.zeros((3, good.n)))
    with pytest.raises(ValueError, match="columns"):
        milp.search_batch(good, np.zeros((2, good.n + 1)))
    with pytest.raises(ValueError):
        milp.search_batch([good], np.zeros((2, good.n)), model_of=[0, 1])
    with pytest.raises(ValueError):
        milp.search_batch(good, np.zeros(good.n))
    assert len(milp.search_batch(good, np.zeros((0, good.n)))) == 0


@pytest.mark.parametrize("solver", SOLVERS)
def test_search_predict_picks_the_best_candidate(solver):
    models = [milp.generate("knapsack", seed=s) for s in range(4)]
    rng = np.random.default_rng(3)
    table = {i: rng.random((3, m.n)) for i, m in enumerate(models)}
    calls = []

    def predict(index, model, candidates):
        calls.append((index, candidates, threading.get_ident()))
        assert model is models[index]
        # the predictor may call dopt itself (its own context is not locked)
        assert milp.solve(model, solver=solver).has_solution
        return table[index]

    best = milp.search_predict(models, predict, candidates=3, delta=1, solver=solver)
    assert [c[:2] for c in calls] == [(i, 3) for i in range(4)]
    assert {c[2] for c in calls} == {threading.get_ident()}  # the calling thread
    for i, model in enumerate(models):
        each = milp.search_batch(model, table[i], delta=1, solver=solver)
        values = each.objective
        assert best.objective[i] == np.nanmax(values)
        assert best.objective[i] == values[best.best_index[i]]
        np.testing.assert_array_equal(best.x[i], each.x[best.best_index[i]])


def test_search_predict_errors():
    models = [milp.generate("knapsack", seed=s) for s in range(2)]

    def broken(index, model, candidates):
        raise KeyError("no prediction for you")

    with pytest.raises(KeyError, match="no prediction"):
        milp.search_predict(models, broken)
    with pytest.raises(ValueError, match="must return shape"):
        milp.search_predict(models, lambda i, m, k: np.zeros(m.n + 1))
    with pytest.raises(ValueError):
        milp.search_predict(models, lambda i, m, k: np.zeros(m.n), candidates=0)
    with pytest.raises(TypeError):
        milp.search_predict(models, "predictor")
    one = milp.search_predict(models, lambda i, m, k: np.full(m.n, 0.5))
    assert one.best_index.tolist() == [0, 0]


def test_search_matches_the_command_line(tmp_path):
    cli = _cli()
    subprocess.run([cli, "gen", "sc", "--size", "easy", "--count", "1", "--seed", "4", "--rows", "40", "--cols",
                    "60", "--density", "0.1", str(tmp_path), "--quiet"], check=True)
    path = tmp_path / "sc_easy_0000.mps"
    model = milp.read_mps(path)
    _same_model(model, milp.generate("sc", rows=40, cols=60, density=0.1, seed=4))
    rng = np.random.default_rng(4)
    preds = rng.random((3, model.n))
    np.save(tmp_path / "pred.npy", preds)
    solvers = ["exact"] if model.n <= 256 else []
    solvers += ["auto"] if milp.have_cbc() else []
    for solver in solvers:
        for delta in (0, 3):
            out = subprocess.run([cli, "milp", "search", str(path), "--pred", str(tmp_path / "pred.npy"), "--delta",
                                  str(delta), "--solver", solver, "--json", "--x-out", str(tmp_path / "x.npy")],
                                 check=True, capture_output=True, text=True)
            want = json.loads(out.stdout)
            ours = milp.search_predict([model], lambda i, m, k: preds, candidates=3, delta=delta, solver=solver)
            assert ours.best_index[0] == want["best"]
            assert ours.objective[0] == want["objective"]
            assert ours.rounds[0] == want["rounds"] and ours.delta_used[0] == want["delta_used"]
            np.testing.assert_array_equal(ours.x[0], np.load(tmp_path / "x.npy"))
            assert model.violation(ours.x[0]) == 0  # feasible


# ---- the binary form -------------------------------------------------------------------------------
def test_binary_form_reads_the_model_exactly():
    model = milp.Model([3.0, -1.0, 2.0, 1.0], [[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0], [1.0, 0.0, 1.0, 0.0]],
                       row_lo=[-INF, 1.0, 1.0], row_hi=[1.0, 2.0, 1.0], col_hi=1.0, integer=True, maximize=True,
                       offset=5.0)
    points = np.array(list(itertools.product([0.0, 1.0], repeat=4)))
    feasible = np.array([model.violation(x) == 0 for x in points])
    assert feasible.any() and not feasible.all()
    for sense in ("le", "ge"):
        form = milp.to_binary_form(model, sense)
        assert form.m == 5 and form.n == 4  # one row per finite side
        ax = points @ form.dense().T
        ok = (ax <= form.b).all(axis=1) if sense == "le" else (ax >= form.b).all(axis=1)
        np.testing.assert_array_equal(ok, feasible)
        np.testing.assert_array_equal(points @ form.c, -(points @ model.c))  # maximize -> minimize the negation
        np.testing.assert_array_equal(form.scipy().toarray(), form.dense())
    with pytest.raises(dopt.Error) as unsupported:
        milp.to_binary_form(_sample_model())
    assert unsupported.value.status == dopt._lib.ERR_UNSUPPORTED
    with pytest.raises(ValueError, match="sense"):
        milp.to_binary_form(model, "lt")


# ---- bad input ---------------------------------------------------------------------------------------
def test_bad_model_input():
    with pytest.raises(ValueError, match="c must be a vector"):
        milp.Model(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="c has NaN"):
        milp.Model([1.0, math.nan])
    with pytest.raises(ValueError, match="c must be finite"):
        milp.Model([1.0, INF])
    with pytest.raises(ValueError, match="A must be"):
        milp.Model([1.0, 2.0], np.ones((2, 3)), row_hi=1)
    with pytest.raises(ValueError, match=r"A must be finite; entry \(1, 0\)"):
        milp.Model([1.0, 2.0], [[1.0, 1.0], [math.nan, 0.0]], row_hi=1)
    with pytest.raises(ValueError, match="A must be finite"):
        milp.Model([1.0, 2.0], [[1.0, INF]], row_hi=1)
    with pytest.raises(ValueError, match="row_hi must have shape"):
        milp.Model([1.0, 2.0], np.ones((2, 2)), row_hi=[1, 2, 3])
    with pytest.raises(ValueError, match="col_lo has NaN"):
        milp.Model([1.0, 2.0], col_lo=[0, math.nan])
    with pytest.raises(ValueError, match="wrong way"):
        milp.Model([1.0], col_lo=[INF])
    with pytest.raises(ValueError, match="integer"):
        milp.Model([1.0, 2.0], integer=[0, 2])
    with pytest.raises(ValueError, match="without A"):
        milp.Model([1.0], row_hi=[1.0])
    with pytest.raises(ValueError, match="column index"):
        milp.Model([1.0], ([0, 1], [3], [1.0]), row_hi=1)
    with pytest.raises(ValueError, match="indptr"):
        milp.Model([1.0], ([0, 2], [0], [1.0]), row_hi=1)
    with pytest.raises(ValueError, match="col_names"):
        milp.Model([1.0], col_names=["a", "b"])
    with pytest.raises(ValueError, match="blanks"):
        milp.Model([1.0], col_names=["a b"])
    with pytest.raises(ValueError, match="offset"):
        milp.Model([1.0], offset=math.nan)
    with pytest.raises(TypeError):
        milp.Model(["a", "b"])
    with pytest.raises(TypeError):
        milp.Model([1.0], A=object())
    model = _sample_model()
    with pytest.raises(ValueError, match="shape"):
        model.objective(np.zeros(5))
    assert model.violation(np.full(6, math.nan)) == INF
    # a model broken through its writable views: the library's check says so, solve too
    model.col_lo[0] = math.nan
    with pytest.raises(dopt.Error, match="column 0"):
        model.check()
    with pytest.raises(dopt.Error, match="column 0"):
        milp.solve(model)


# ---- memory ------------------------------------------------------------------------------------------
def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc to read the process's memory")
def test_models_are_freed_once():
    def churn(count):
        for k in range(count):
            a = _sample_model()
            b = milp.generate("sc", rows=100, cols=200, density=0.1, seed=k)
            view = b.values
            b.close()
            assert view.size == 2000 and (view == 1).all()  # still readable after close
            c = milp.parse_mps("NAME t\nROWS\n N o\n L r\nCOLUMNS\n x o 1 r 1\nRHS\n r 1\nENDATA\n")
            del a, c, view
    churn(200)  # warm up the allocator
    gc.collect()
    before = _rss_bytes()
    churn(1500)
    gc.collect()
    grown = _rss_bytes() - before
    # each round allocates ~30 kB of models in the library: leaking them would grow it by ~45 MB
    assert grown < 8 * 2**20, f"resident memory grew by {grown / 2**20:.1f} MiB over 1500 rounds"


def test_models_in_threads():
    # every thread has its own context; models are plain host data shared freely
    model = milp.generate("knapsack", seed=9)
    want = milp.solve(model, solver="exact").objective
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                results.append(milp.solve(model, solver="exact").objective)
                results.append(milp.search(model, np.full(model.n, 0.5), delta=model.n, solver="exact").objective)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [want] * 30


# ---- the example -------------------------------------------------------------------------------------
def test_predict_and_search_example_runs():
    # the example must import the dopt these tests import (an installed
    # package, or the sources with DOPT_LIBRARY), not whatever is first on its path
    here = str(pathlib.Path(dopt.__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=here + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, str(REPO / "examples" / "python" / "milp_predict_and_search.py"),
                          "--family", "knapsack", "--param", "n=20", "--count", "2", "--candidates", "2"],
                         check=True, capture_output=True, text=True, env=env, timeout=120)
    lines = out.stdout.splitlines()
    assert any(line.startswith("knapsack_s0") for line in lines) and any(line.startswith("knapsack_s1")
                                                                          for line in lines)
    assert "mean gap: LP" in out.stdout
