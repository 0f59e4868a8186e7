"""The binding itself: library loading, errors, threads, the GIL, arrays."""
import threading
import time

import numpy as np
import pytest

import dopt
from dopt import _arrays, _lib


def test_version_and_library():
    assert dopt.__version__ == _lib.version()
    assert dopt.__version__.count(".") == 2
    assert _lib.LIBRARY_PATH


def test_struct_size_check_refuses_a_wrong_mirror():
    import ctypes

    class Wrong(ctypes.Structure):
        _fields_ = [("batch", ctypes.c_int64)]

    with pytest.raises(ImportError, match="dopt_qp_problem"):
        _lib.check_struct(Wrong, "dopt_qp_problem")


def test_error_carries_status_and_message():
    # A CUDA context on a machine without one (or a build without CUDA) fails
    # with the library's reason; with a GPU it succeeds and there is nothing to test.
    if dopt.cuda_available():
        pytest.skip("a CUDA device is present: creating a CUDA context succeeds")
    with pytest.raises(dopt.Error) as info:
        _lib.Context(_lib.BACKEND_CUDA)
    err = info.value
    assert err.status in (_lib.ERR_UNSUPPORTED, _lib.ERR_NO_DEVICE)
    assert err.status_name == dopt.status_name(err.status)
    assert err.message and err.message in str(err)


def test_status_names():
    assert dopt.status_name(0) != dopt.status_name(1)
    assert dopt.instance_status_name(dopt.InstanceStatus.PRIMAL_INFEASIBLE) != dopt.instance_status_name(0)


def test_set_num_threads_validates_and_applies():
    with pytest.raises(ValueError):
        dopt.set_num_threads(-1)
    before = dopt.get_num_threads()
    try:
        dopt.set_num_threads(1)
        assert dopt.get_num_threads() == 1
        r = dopt.qp.solve(np.eye(2), np.ones(2))
        assert r.status == 0
        assert _lib.context_for(None)._threads == 1
    finally:
        dopt.set_num_threads(before)


def _batch(B, n, seed=0):
    rng = np.random.default_rng(seed)
    L = rng.standard_normal((B, n, n))
    Q = L @ L.transpose(0, 2, 1) + n * np.eye(n)
    return Q, rng.standard_normal((B, n)), rng.standard_normal((B, n, n)), np.ones((B, n))


def test_gil_is_released_while_the_library_computes():
    # Another Python thread must make progress while one long call runs: with
    # the GIL held it could not run at all until the call returned.
    Q, p, G, h = _batch(512, 48)
    dopt.qp.solve(Q[:2], p[:2], G[:2], h[:2])  # warm up (context, pool)
    t0 = time.perf_counter()
    dopt.qp.solve(Q, p, G, h)
    single = time.perf_counter() - t0
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    worker = threading.Thread(target=count)
    start = time.perf_counter()
    worker.start()
    dopt.qp.solve(Q, p, G, h)
    end = time.perf_counter()
    done.set()
    worker.join()
    during = [t for t in ticks if start < t < end]
    # one tick per ~1 ms while the call runs; demand a fraction of that
    assert single > 0.02, "the call is too short to observe the GIL; enlarge the batch"
    assert len(during) >= max(3, int((end - start) / 0.001 * 0.2)), (len(during), end - start)


def test_operand_copies_only_when_needed():
    placement = _arrays.placement_of(np.zeros(3))
    x = np.arange(6.0).reshape(2, 3)
    assert _arrays.operand(x, placement, _lib.FLOAT64, "x") is x  # contiguous, right dtype: no copy
    converted = _arrays.operand(x.T, placement, _lib.FLOAT64, "x")  # non-contiguous: a copy
    assert converted.flags.c_contiguous and np.array_equal(converted, x.T)
    as32 = _arrays.operand(x, placement, _lib.FLOAT32, "x")
    assert as32.dtype == np.float32 and np.array_equal(as32, x.astype(np.float32))


def test_dtype_inference_and_choice():
    assert _arrays.dtype_of(np.zeros(2, np.float32)) == _lib.FLOAT32
    assert _arrays.dtype_of(np.zeros(2, np.float32), np.zeros(2)) == _lib.FLOAT64
    assert _arrays.dtype_of([1, 2]) == _lib.FLOAT64
    assert _arrays.dtype_code("float32") == _lib.FLOAT32
    with pytest.raises(ValueError, match="float32 or float64"):
        _arrays.dtype_code("int8")


def test_torch_tensors_zero_copy_and_devices():
    torch = pytest.importorskip("torch")
    placement = _arrays.placement_of(torch.zeros(2))
    assert placement.torch and placement.cuda_index is None
    t = torch.arange(6.0, dtype=torch.float64)
    assert _arrays.operand(t, placement, _lib.FLOAT64, "t").data_ptr() == t.data_ptr()
    with pytest.raises(ValueError, match="device"):
        _arrays.placement_of(torch.zeros(2), torch.zeros(2, device="meta"))


def test_forked_child_computes():
    # DataLoader workers and multiprocessing pools fork a process whose parent
    # has used dopt: the child must compute, not wait forever on worker
    # threads it does not have (nor on a lock held by a parent's thread).
    import os
    import signal
    if not hasattr(os, "fork"):
        pytest.skip("no fork() on this platform")
    Q, p, G, h = _batch(64, 6)
    before = dopt.get_num_threads()
    dopt.set_num_threads(2)
    try:
        expected = dopt.qp.solve(Q, p, G, h).x  # the parent's pool is running
        held = _lib.context_for(None).lock
        held.acquire()  # as if another parent thread were inside a call at fork time
        try:
            pid = os.fork()
            if pid == 0:  # the child: exit code 0 = same answer, 1 = wrong, killed = hung
                signal.alarm(30)
                try:
                    ok = np.array_equal(dopt.qp.solve(Q, p, G, h).x, expected)
                    dopt.set_num_threads(1)
                    ok = ok and np.array_equal(dopt.qp.solve(Q, p, G, h).x, expected)
                finally:
                    os._exit(0 if ok else 1)
        finally:
            held.release()
        deadline = time.monotonic() + 60  # the parent never waits forever either
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if not done:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the child hung after fork (killed after 60 s)")
        assert os.WIFEXITED(status), "the child hung (killed by its alarm) or crashed"
        assert os.WEXITSTATUS(status) == 0, "the child computed a different answer"
        assert np.array_equal(dopt.qp.solve(Q, p, G, h).x, expected)  # the parent still works
    finally:
        dopt.set_num_threads(before)


def test_contexts_of_ended_threads_are_reused():
    # nn.DataParallel starts threads per forward: their contexts must serve
    # the next threads instead of being created (and on CUDA probed) again.
    import gc
    seen = []

    def work():
        dopt.qp.solve(np.eye(2), np.ones(2))
        seen.append(id(_lib.context_for(None)))

    for _ in range(4):
        t = threading.Thread(target=work)
        t.start()
        t.join()
        gc.collect()
    assert len(set(seen)) == 1, "each thread created a new context"
