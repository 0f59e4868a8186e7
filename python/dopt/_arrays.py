"""numpy arrays and torch tensors (CPU and CUDA) as libdopt arguments.

Every public function of the package takes either kind. A call's arrays are
all numpy (then the CPU backend runs and the outputs are numpy), or torch
tensors on one device (then the backend of that device runs, on torch's
current stream, and the outputs are tensors there); numpy arrays mixed into
a torch call are moved to its device. No copy is made of an input that is
already contiguous and of the call's dtype; any other input is converted (a
copy), as numpy's and torch's own functions do.
"""

import ctypes
import sys

import numpy as np

from . import _lib

_NUMPY_FLOATS = {_lib.FLOAT32: np.float32, _lib.FLOAT64: np.float64}


def _torch():
    return sys.modules.get("torch")


_tensor_type = None  # torch.Tensor once torch has been imported


def is_tensor(x):
    # Called for every argument of every call: cache torch.Tensor instead of
    # looking torch up each time (a tensor can exist only once torch is imported).
    global _tensor_type
    if _tensor_type is None:
        torch = sys.modules.get("torch")
        if torch is None or not hasattr(torch, "Tensor"):
            return False
        _tensor_type = torch.Tensor
    return isinstance(x, _tensor_type)


class Placement:
    """Where a call runs: numpy on the CPU, or torch on `device`."""

    __slots__ = ("torch", "device", "cuda_index")

    def __init__(self, device=None):
        self.torch = device is not None
        self.device = device
        self.cuda_index = device.index if device is not None and device.type == "cuda" else None
        if self.cuda_index is None and device is not None and device.type == "cuda":
            self.cuda_index = _torch().cuda.current_device()
        if device is not None and device.type not in ("cpu", "cuda"):
            raise ValueError(f"dopt runs on the CPU and on CUDA devices; got tensors on {device}")

    def context(self):
        """The calling thread's context for this placement, with the stream set
        to torch's current stream on that device. Hold ctx.lock while calling."""
        return _lib.context_for(self.cuda_index)

    def stream(self):
        if self.cuda_index is None:
            return None
        return _torch().cuda.current_stream(self.cuda_index).cuda_stream

    def empty(self, shape, dtype):
        """An uninitialized output; dtype: a dopt dtype code or 'int32'."""
        if self.torch:
            torch = _torch()
            tdtype = {_lib.FLOAT32: torch.float32, _lib.FLOAT64: torch.float64, "int32": torch.int32,
                      "int64": torch.int64}[dtype]
            return torch.empty(shape, dtype=tdtype, device=self.device)
        ndtype = {"int32": np.int32, "int64": np.int64}.get(dtype) or _NUMPY_FLOATS[dtype]
        return np.empty(shape, dtype=ndtype)

    def zeros(self, shape, dtype):
        out = self.empty(shape, dtype)
        out[...] = 0
        return out


def placement_of(*arrays):
    """The placement of a call's arguments (None entries are ignored); tensors
    on two different devices are an error."""
    device = None
    for x in arrays:
        if is_tensor(x):
            if device is None:
                device = x.device
            elif x.device != device:
                raise ValueError(f"all tensors of a call must be on one device; got {device} and {x.device}")
    return Placement(device)


def dtype_of(*arrays, default=_lib.FLOAT64):
    """The call's dtype: float64 when any floating input is float64, float32
    when the floating inputs are all float32, else `default`."""
    seen32 = seen64 = False
    for x in arrays:
        if x is None:
            continue
        if is_tensor(x):
            torch = _torch()
            seen64 |= x.dtype == torch.float64
            seen32 |= x.dtype in (torch.float32, torch.float16, torch.bfloat16)
        else:
            kind = np.asarray(x).dtype
            seen64 |= kind == np.float64
            seen32 |= kind in (np.float32, np.float16)
    if seen64:
        return _lib.FLOAT64
    if seen32:
        return _lib.FLOAT32
    return default


def dtype_code(dtype):
    """A user's dtype argument (numpy/torch dtype, 'float32', None) as a dopt code."""
    if dtype is None:
        return None
    if dtype is float:  # numpy's reading of the builtin
        return _lib.FLOAT64
    name = str(dtype).replace("torch.", "")
    if name in ("float32", "<class 'numpy.float32'>"):
        return _lib.FLOAT32
    if name in ("float64", "<class 'numpy.float64'>"):
        return _lib.FLOAT64
    raise ValueError(f"dopt computes in float32 or float64; got dtype {dtype}")


def operand(x, placement, dtype, name):
    """x as a contiguous array of `dtype` at `placement`: x itself when it
    already is one (no copy), else a converted copy. dtype: a dopt float code,
    'int32' or 'int64'. Tensors are detached."""
    if placement.torch:
        torch = _torch()
        tdtype = {_lib.FLOAT32: torch.float32, _lib.FLOAT64: torch.float64, "int32": torch.int32,
                  "int64": torch.int64}[dtype]
        if is_tensor(x):
            x = x.detach()
            if x.device != placement.device or x.dtype != tdtype:
                x = x.to(device=placement.device, dtype=tdtype)
        else:
            x = torch.as_tensor(np.asarray(x), dtype=tdtype, device=placement.device)
        if not x.is_contiguous():
            x = x.contiguous()
        return x
    if is_tensor(x):  # a CPU tensor in a numpy call cannot happen (placement_of), kept for safety
        x = x.detach().cpu().numpy()
    ndtype = {"int32": np.int32, "int64": np.int64}.get(dtype) or _NUMPY_FLOATS[dtype]
    array = np.asarray(x)
    if array.dtype != ndtype or not array.flags.c_contiguous:
        array = np.ascontiguousarray(array, dtype=ndtype)
    if not array.flags.aligned:
        array = array.copy()
    return array


def pointer(x):
    """The address of an operand's data (None for None or an empty array)."""
    if x is None:
        return None
    if is_tensor(x):
        return x.data_ptr() if x.numel() > 0 else None
    return x.ctypes.data if x.size > 0 else None


def int32_pointer(x):
    address = pointer(x)
    return ctypes.cast(address, ctypes.POINTER(ctypes.c_int32)) if address else None


def shape(x):
    return tuple(x.shape)


def ndim(x):
    return len(x.shape)


def numel(x):
    if x is None:
        return 0
    if is_tensor(x):
        return x.numel()
    return int(np.size(x))


def as_shape_source(x):
    """Something with .shape for validation (array-likes such as lists become numpy)."""
    if x is None or is_tensor(x) or isinstance(x, np.ndarray):
        return x
    return np.asarray(x)


def sum_to_shape(x, shape):
    """Reshapes a gradient computed for a shared (unbatched) parameter to the
    parameter's own shape, e.g. (n, n) for an input given as (1, n, n)."""
    return x.reshape(shape)
