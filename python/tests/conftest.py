"""Shared test helpers: which optional pieces are present, and the CUDA skip."""
import importlib.util

import pytest

import dopt

HAVE_TORCH = importlib.util.find_spec("torch") is not None


def cuda_device_or_skip():
    """The CUDA device for a test, or a skip that says why there is none."""
    if not HAVE_TORCH:
        pytest.skip("CUDA test skipped: torch is not installed")
    import torch
    if not torch.cuda.is_available():
        pytest.skip("CUDA test skipped: torch sees no CUDA device")
    if not dopt.cuda_available():
        pytest.skip("CUDA test skipped: libdopt was built without the CUDA backend or sees no device")
    return torch.device("cuda", torch.cuda.current_device())


requires_torch = pytest.mark.skipif(not HAVE_TORCH, reason="torch is not installed")
