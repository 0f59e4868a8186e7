"""dopt's sparse QP layer (include/dopt_sparse_qp.h) for the KKT-proposal
experiment: CPU, float64, host numpy arrays, one CSR pattern per matrix
shared by the batch, per-instance p (and h), shared Q, G, A values.

A thin ctypes binding of the three C calls the experiment needs
(analyze, solve with a tape, backward), kept in bench/ so that the
experiment does not depend on the Python front end's spelling of the same
calls (python/dopt/qp.py's sparse functions, written at the same time).
`available()` says whether the loaded libdopt has the layer. The torch
function SparseRelaxationFn differentiates x with respect to p through
dopt_sparse_qp_backward (the KKT gradients); nothing else is differentiated.
"""

import ctypes

import numpy as np

_lib = None


def _bind():
    """The library handle and the prototypes, or None without the layer."""
    global _lib
    if _lib is not None:
        return _lib or None
    try:
        from dopt import _lib as L
        from dopt import qp as dq
        getattr(L.lib, "dopt_sparse_qp_analyze")
    except (ImportError, AttributeError, OSError):
        _lib = False
        return None
    c_void_p, c_int = ctypes.c_void_p, ctypes.c_int
    P = ctypes.POINTER
    api = {
        "L": L,
        "Options": dq._Options, "Solution": dq._Solution, "GradIn": dq._GradIn, "GradOut": dq._GradOut,
        "analyze": L.declare("dopt_sparse_qp_analyze", c_int, c_void_p, P(_Pattern), P(c_void_p)),
        "destroy": L.declare("dopt_sparse_qp_structure_destroy", None, c_void_p),
        "solve": L.declare("dopt_sparse_qp_solve", c_int, c_void_p, c_void_p, P(_Values), P(dq._Options),
                           P(dq._Solution), P(c_void_p)),
        "backward": L.declare("dopt_sparse_qp_backward", c_int, c_void_p, c_void_p, P(dq._GradIn),
                              P(dq._GradOut)),
        "tape_destroy": L.declare("dopt_sparse_qp_tape_destroy", None, c_void_p),
    }
    _lib = api
    return api


class _Csr(ctypes.Structure):
    _fields_ = [("rows", ctypes.c_int32), ("cols", ctypes.c_int32), ("nnz", ctypes.c_int64),
                ("indptr", ctypes.c_void_p), ("indices", ctypes.c_void_p)]


class _Pattern(ctypes.Structure):
    _fields_ = [("n", ctypes.c_int32), ("m", ctypes.c_int32), ("k", ctypes.c_int32), ("Q", _Csr), ("G", _Csr),
                ("A", _Csr)]


class _Values(ctypes.Structure):
    _fields_ = [("batch", ctypes.c_int64), ("dtype", ctypes.c_int), ("Q_values", ctypes.c_void_p),
                ("p", ctypes.c_void_p), ("G_values", ctypes.c_void_p), ("h", ctypes.c_void_p),
                ("A_values", ctypes.c_void_p), ("b", ctypes.c_void_p), ("shared", ctypes.c_uint32)]


SHARE_Q, SHARE_P, SHARE_G, SHARE_H, SHARE_A, SHARE_B = (1 << i for i in range(6))
_FLOAT64 = 1  # dopt_dtype DOPT_FLOAT64


def available():
    return _bind() is not None


def _ptr(a):
    return None if a is None else a.ctypes.data_as(ctypes.c_void_p)


class Structure:
    """The analysed patterns of one problem family (Q, G, A: scipy CSR,
    canonical; Q may be None or empty for an LP). Values are taken from the
    matrices given here and shared by every solve."""

    def __init__(self, Q, G, A):
        api = _bind()
        if api is None:
            raise RuntimeError("the loaded libdopt has no sparse QP layer (dopt_sparse_qp_analyze)")
        self.api = api
        n = G.shape[1]
        mats = {}
        for name, M, rows in (("Q", Q, n), ("G", G, None), ("A", A, None)):
            if M is None or (M.shape[0] == 0 and name != "Q"):
                M = None
            if M is not None:
                M = M.tocsr().copy()
                M.sum_duplicates()
                M.sort_indices()
            mats[name] = M
        self.n, self.m = n, G.shape[0]
        self.k = 0 if mats["A"] is None else mats["A"].shape[0]
        self._arrays = []  # kept alive: the library copies the pattern, the values are read per solve

        def csr(M, rows, cols):
            if M is None or M.nnz == 0:
                ip = np.zeros(rows + 1, np.int64)
                self._arrays.append(ip)
                return _Csr(rows, cols, 0, _ptr(ip), None), None
            ip, ix = M.indptr.astype(np.int64), M.indices.astype(np.int32)
            self._arrays += [ip, ix]
            return _Csr(rows, cols, M.nnz, _ptr(ip), _ptr(ix)), np.ascontiguousarray(M.data, np.float64)

        cq, self.Qv = csr(mats["Q"], n, n)
        cg, self.Gv = csr(mats["G"], self.m, n)
        ca, self.Av = csr(mats["A"], self.k, n)
        pat = _Pattern(n, self.m, self.k, cq, cg, ca)
        self.handle = ctypes.c_void_p()
        ctx = self._ctx()
        with ctx.lock:
            ctx.prepare()
            ctx.check(api["analyze"](ctx.handle, ctypes.byref(pat), ctypes.byref(self.handle)))

    def _ctx(self):
        return self.api["L"].context_for(None)

    def __del__(self):
        h = getattr(self, "handle", None)
        if h is not None and h.value:
            self.api["destroy"](h)
            self.handle = None

    def solve(self, p, h, b=None, tol=None, tape=False):
        """p (B, n), h (m,) or (B, m), b (k,): returns (x (B, n), status (B,),
        iters (B,), tape or None). The tape refers to the arrays it was
        solved with; they are kept on it."""
        api = self.api
        p = np.ascontiguousarray(np.atleast_2d(p), np.float64)
        B = p.shape[0]
        h = np.ascontiguousarray(h, np.float64)
        shared = SHARE_Q | SHARE_G | SHARE_A | (SHARE_H if h.ndim == 1 else 0) | SHARE_B
        b = np.ascontiguousarray(np.zeros(self.k) if b is None else b, np.float64)
        vals = _Values(B, _FLOAT64, _ptr(self.Qv), _ptr(p), _ptr(self.Gv), _ptr(h), _ptr(self.Av),
                       _ptr(b) if self.k else None, shared)
        x = np.empty((B, self.n))
        lam = np.empty((B, self.m))
        nu = np.empty((B, max(self.k, 1)))
        status = np.empty(B, np.int32)
        iters = np.empty(B, np.int32)
        sol = api["Solution"](_ptr(x), _ptr(lam), _ptr(nu), _ptr(status), _ptr(iters))
        opt = api["Options"](tol or 0.0, 0.0, 0, 0)
        handle = ctypes.c_void_p()
        ctx = self._ctx()
        with ctx.lock:
            ctx.prepare()
            ctx.check(api["solve"](ctx.handle, self.handle, ctypes.byref(vals), ctypes.byref(opt),
                                   ctypes.byref(sol), ctypes.byref(handle) if tape else None))
        t = _Tape(self, handle, (p, h, b, vals), B) if tape else None
        return x, status, iters, t


class _Tape:
    def __init__(self, structure, handle, keep, batch):
        self.structure, self.handle, self.keep, self.batch = structure, handle, keep, batch

    def dp(self, dx):
        """dL/dp (B, n) for dL/dx = dx (B, n)."""
        api = self.structure.api
        dx = np.ascontiguousarray(dx, np.float64)
        dp = np.empty((self.batch, self.structure.n))
        gin = api["GradIn"](_ptr(dx), None, None)
        gout = api["GradOut"](None, _ptr(dp), None, None, None, None)
        ctx = self.structure._ctx()
        with ctx.lock:
            ctx.prepare()
            ctx.check(api["backward"](ctx.handle, self.handle, ctypes.byref(gin), ctypes.byref(gout)))
        return dp

    def __del__(self):
        h = getattr(self, "handle", None)
        if h is not None and h.value:
            self.structure.api["tape_destroy"](h)
            self.handle = None


def relaxation_layer(structure, h, tol=None):
    """A function p (B, n) torch tensor -> x (B, n), differentiable in p by
    the sparse layer's implicit differentiation; raises when an instance is
    not solved."""
    import torch

    class Fn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, p):
            x, status, _, tape = structure.solve(p.detach().cpu().numpy(), h, tol=tol, tape=True)
            if np.any(status != 0):
                raise RuntimeError(f"sparse QP layer: statuses {np.unique(status).tolist()}")
            ctx.tape = tape
            return torch.from_numpy(x).to(p.dtype)

        @staticmethod
        def backward(ctx, dx):
            return torch.from_numpy(ctx.tape.dp(dx.detach().cpu().numpy())).to(dx.dtype)

    return Fn.apply
