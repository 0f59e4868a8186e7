"""Ragged batches in the torch layers: lists of per-instance tensors and
PyG-style concatenated tensors with size vectors or ptr offsets.

A list is turned into the concatenated layout of the C API once (one
torch.cat of the flattened tensors, so autograd routes each instance's
gradient back to its own tensor) and the concatenated outputs are split back
with one torch.split: the solve and its backward are one library call each,
whatever the number of instances.
"""

import numpy as np
import torch

from .. import _ragged


def is_list(x):
    return isinstance(x, (list, tuple))


def check_lists(where, lead, inputs):
    """Every input given as a list (or None) with the length of `lead`'s
    list. inputs: {name: value} in argument order, lead one of the names."""
    B = len(inputs[lead])
    for name, x in inputs.items():
        if x is None:
            continue
        if not is_list(x):
            raise TypeError(f"{where}: {lead} is a list (a ragged batch), so {name} must be a list too (or None); "
                            f"got {type(x).__name__}")
        if len(x) != B:
            raise ValueError(f"{where}: list lengths differ: {lead} has {B} instances but {name} has {len(x)}")
    return B


class TensorChecker:
    """Checks the tensors of one call: torch tensors, one floating dtype,
    one device; remembers which input set them, for the error messages."""

    def __init__(self, where, floating=True):
        self.where = where
        self.dtype = self.device = self.first = None
        self.floating = floating

    def __call__(self, x, label):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{self.where}: {label} must be a torch.Tensor; got {type(x).__name__}")
        if self.floating and x.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"{self.where}: {label} must be float32 or float64; got {x.dtype}")
        if self.dtype is None:
            self.dtype, self.device, self.first = x.dtype, x.device, label
        elif x.dtype != self.dtype:
            raise TypeError(f"{self.where}: all inputs must have one dtype; {self.first} is {self.dtype} but {label} "
                            f"is {x.dtype} (convert them, e.g. with .double())")
        elif x.device != self.device:
            raise ValueError(f"{self.where}: all inputs must be on one device; {self.first} is on {self.device} but "
                             f"{label} is on {x.device}")
        return x


def _flatten(parts):
    # torch's C++ flatten-and-concatenate (what DistributedDataParallel uses for
    # its buckets): one call instead of a reshape per tensor plus a cat
    try:
        return torch._utils._flatten_dense_tensors(parts)
    except (AttributeError, RuntimeError, TypeError):  # pragma: no cover  (torch without it)
        return torch.cat([t.reshape(-1) for t in parts])


class _ConcatFlat(torch.autograd.Function):
    """The tensors flattened and concatenated as ONE autograd node (a plain
    torch.cat([t.reshape(-1) ...]) adds a reshape node per tensor, whose
    backward costs more than the library's backward for small instances)."""

    @staticmethod
    def forward(ctx, *parts):
        ctx.shapes = [t.shape for t in parts]
        return _flatten(parts)

    @staticmethod
    def backward(ctx, grad):
        pieces = torch.split(grad, [s.numel() for s in ctx.shapes])
        return tuple(piece.view(shape) for piece, shape in zip(pieces, ctx.shapes))


def concat(items):
    """The list's tensors flattened and concatenated (differentiable); None
    entries hold nothing. None for an all-None list."""
    parts = [t for t in items if t is not None]
    if not parts:
        return None
    if torch.is_grad_enabled() and any(t.requires_grad for t in parts):
        return _ConcatFlat.apply(*parts)
    return _flatten(parts)


def split(flat, sizes, shapes=None):
    """flat split into consecutive pieces of `sizes` (a list of ints),
    reshaped to `shapes` when given; returns a list."""
    pieces = torch.split(flat, sizes)
    if shapes is None:
        return list(pieces)
    return [piece.reshape(shape) for piece, shape in zip(pieces, shapes)]


def host_sizes(value, ptr, name, where, batch=None, default_zero=False):
    """Sizes (B,) host int32 numpy from sizes or ptr offsets (either may be a
    tensor, a numpy array or a list)."""
    return _ragged.resolve(value, ptr, name, where, batch, default_zero)


def segment_ids(sizes, device):
    """For each concatenated entry the index of its instance: (sum sizes,) int64."""
    counts = torch.as_tensor(np.asarray(sizes, dtype=np.int64), device=device)
    return torch.repeat_interleave(torch.arange(counts.shape[0], device=device), counts)


def expand_per_instance(values, sizes):
    """values (B,) repeated sizes[i] times each: (sum sizes,)."""
    counts = torch.as_tensor(np.asarray(sizes, dtype=np.int64), device=values.device)
    return torch.repeat_interleave(values, counts)
