"""Ragged (heterogeneous) batches: per-instance sizes and concatenated data.

A ragged call describes B instances of different sizes by host int32 size
vectors (n, m, k: one entry per instance) and passes every array as the
concatenation of the instances' row-major arrays, in order (the layout of
the C API, docs/PYTHON.md "Ragged batches"). Sizes may also come as PyG-style
offsets `ptr` (B + 1, ptr[0] = 0, non-decreasing): sizes = diff(ptr).

The C calls read the sizes on the host (the scheduler plans the batch before
any data moves), so sizes given as CUDA tensors are copied to the host once
per call (a synchronization).
"""

import numpy as np

from . import _arrays

_INT32_MAX = 2 ** 31 - 1


def _host_integers(x, name, where):
    """x (numpy array, list, torch tensor on any device) as a 1-D int64 numpy array."""
    if _arrays.is_tensor(x):
        if x.is_floating_point() or x.is_complex() or x.dtype == _arrays._torch().bool:
            raise TypeError(f"{where}: {name} must hold integers; got a tensor of {x.dtype}")
        x = x.detach().cpu().numpy()
    array = np.asarray(x)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise TypeError(f"{where}: {name} must hold integers; got {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"{where}: {name} must be 1-D; got shape {array.shape}")
    return array.astype(np.int64, copy=False)


def sizes(x, name, where):
    """A size vector as contiguous host int32 (B,), checked: 1-D, integers,
    each in [0, 2^31)."""
    array = _host_integers(x, name, where)
    if array.size:
        lo, hi = int(array.min()), int(array.max())
        if lo < 0:
            bad = int(np.argmax(array < 0))
            raise ValueError(f"{where}: {name} must be >= 0; instance {bad} has {name} = {int(array[bad])}")
        if hi > _INT32_MAX:
            raise ValueError(f"{where}: {name} entries must fit int32; got {hi}")
    return np.ascontiguousarray(array, dtype=np.int32)


def sizes_from_ptr(ptr, name, where):
    """PyG offsets (B + 1,) as sizes (B,) host int32: ptr[0] must be 0 and
    ptr non-decreasing."""
    array = _host_integers(ptr, name, where)
    if array.size < 1:
        raise ValueError(f"{where}: {name} must have B + 1 >= 1 entries (offsets starting at 0); got none")
    if array[0] != 0:
        raise ValueError(f"{where}: {name} must start at 0 (offsets into the concatenated data); got {int(array[0])}")
    steps = np.diff(array)
    if steps.size and int(steps.min()) < 0:
        bad = int(np.argmax(steps < 0))
        raise ValueError(f"{where}: {name} must be non-decreasing; {name}[{bad + 1}] = {int(array[bad + 1])} < "
                         f"{name}[{bad}] = {int(array[bad])}")
    return sizes(steps, name, where)


def resolve(value, ptr, name, where, batch=None, default_zero=False):
    """The sizes `name` given either directly (B,) or as offsets `ptr`
    (B + 1,), not both; None for both: zeros when default_zero (a block
    absent from every instance), else an error. batch: the expected B."""
    if value is not None and ptr is not None:
        raise ValueError(f"{where}: give {name} either as sizes or as {name}_ptr offsets, not both")
    if ptr is not None:
        out = sizes_from_ptr(ptr, f"{name}_ptr", where)
    elif value is not None:
        out = sizes(value, name, where)
    elif default_zero and batch is not None:
        return np.zeros(batch, np.int32)
    else:
        raise ValueError(f"{where}: the sizes {name} are required (or {name}_ptr)")
    if batch is not None and out.shape[0] != batch:
        raise ValueError(f"{where}: {name} must have one entry per instance (B = {batch}); got {out.shape[0]}")
    return out


def total(*parts):
    """sum over instances of the product of the given size vectors, as an
    exact Python int. int64 arithmetic whenever it cannot overflow (every
    product below 2^62 and at most 2^31 instances), else Python integers:
    sizes near 2^31 squared and summed exceed int64."""
    largest = 1
    for p in parts:
        largest *= int(p.max()) if p.size else 0
    if largest < (1 << 62) >> 31:
        prod = np.ones(parts[0].shape, np.int64)
        for p in parts:
            prod = prod * p.astype(np.int64)
        return int(prod.sum())
    out = 0
    for values in zip(*(p.tolist() for p in parts)):
        term = 1
        for v in values:
            term *= v
        out += term
    return out


def check_flat(x, expected, name, where, layout):
    """x must be 1-D with `expected` entries (the concatenated layout)."""
    shape = _arrays.shape(x)
    if len(shape) != 1:
        raise ValueError(f"{where}: {name} must be 1-D, the concatenation of every instance's {layout}; got shape "
                         f"{shape}")
    if shape[0] != expected:
        raise ValueError(f"{where}: {name} must have {expected} entries (the sum over instances of {layout}); got "
                         f"{shape[0]}")
