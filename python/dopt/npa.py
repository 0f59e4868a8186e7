"""The NPA hierarchy's moment matrices for two-party Bell scenarios with
binary outcomes, as data for the SDP layer (dopt.cone, dopt.torch.cone).

Navascues, Pironio and Acin, "A convergent hierarchy of semidefinite programs
characterizing the set of quantum correlations" (arXiv:0803.4290). Each party
measures one of X (Alice) or Y (Bob) +-1-valued observables A_x, B_y:
Hermitian, A_x^2 = B_y^2 = 1, every A commuting with every B. For a list S of
operator words (level 1: 1, A_x, B_y; level "1+AB": also every A_x B_y) the
moment matrix Gamma[u, v] = <u^dagger v> of any quantum state is positive
semidefinite, Gamma[1, 1] = 1, and entries whose words reduce to the same
operator are equal. Its real part is again such a matrix (a real Bell
expression has the same value), so Gamma is taken real symmetric: a word and
its adjoint (both parties' parts reversed together) are one moment.

A Bell expression in correlator form,
    beta(s) = const + sum_x sA_x <A_x> + sum_y sB_y <B_y> + sum_xy sAB_xy <A_x B_y>,
has at each level an upper bound on its quantum value: the maximum of the
same linear function of Gamma's entries over the relaxation. As a cone
program (minimize c'x s.t. h - Gx in the PSD cone of order len(S)): x = the
moments other than 1, svec(Gamma(x)) = h - G x, c = -(the coefficients).

Probabilities (Collins-Gisin form) map to correlators by
P_A(0|x) = (1 + <A_x>)/2, P_B(0|y) = (1 + <B_y>)/2,
P(00|xy) = (1 + <A_x> + <B_y> + <A_x B_y>)/4 (collins_gisin_to_correlators).
"""
import itertools

import numpy as np

from . import cone as _cone

__all__ = ["Scenario", "collins_gisin_to_correlators", "i3322", "chsh", "classical_bound"]


def _reduce(word):
    """A word of one party's observable indices with A_x A_x = 1 removed."""
    out = []
    for letter in word:
        if out and out[-1] == letter:
            out.pop()
        else:
            out.append(letter)
    return tuple(out)


class Scenario:
    """The NPA relaxation of the (X inputs, Y inputs, binary outputs)
    scenario at `level` 1, "1+AB" or 2 (all words of length <= 2).

    Attributes: words (the operator list S, each (alice_word, bob_word)),
    size (len(S), the PSD cone's order), moments (the moment keys, x's
    entries in order), G (size(size+1)/2, len(moments)) and h (svec rows) as
    numpy float64 arrays: svec(Gamma(x)) = h - G x."""

    def __init__(self, inputs_a, inputs_b, level=1):
        if level not in (1, "1+AB", 2):
            raise ValueError(f"npa: level must be 1, '1+AB' or 2; got {level!r}")
        if inputs_a < 1 or inputs_b < 1:
            raise ValueError("npa: each party needs at least one input")
        self.inputs_a, self.inputs_b, self.level = int(inputs_a), int(inputs_b), level
        X, Y = self.inputs_a, self.inputs_b
        words = [((), ())] + [((x,), ()) for x in range(X)] + [((), (y,)) for y in range(Y)]
        if level == 2:  # every reduced word of length 2 of one party
            words += [((x, x2), ()) for x in range(X) for x2 in range(X) if x != x2]
            words += [((), (y, y2)) for y in range(Y) for y2 in range(Y) if y != y2]
        if level in ("1+AB", 2):
            words += [((x,), (y,)) for x in range(X) for y in range(Y)]
        self.words = words
        self.size = len(words)
        keys, index = [], {}
        entries = {}  # (row, col), row >= col -> key
        for i, j in itertools.combinations_with_replacement(range(self.size), 2):
            (a1, b1), (a2, b2) = words[i], words[j]
            key = self._key(a1, b1, a2, b2)
            entries[(j, i)] = key
            if key != ((), ()) and key not in index:
                index[key] = len(keys)
                keys.append(key)
        self.moments = keys
        self._index = index
        rows = self.size * (self.size + 1) // 2
        self.h = _cone.svec(np.eye(self.size))
        self.G = np.zeros((rows, len(keys)))
        for (r, col), key in entries.items():
            if key == ((), ()):
                if r != col:
                    raise AssertionError("an off-diagonal identity moment")  # not for these words
                continue
            E = np.zeros((self.size, self.size))
            E[r, col] = E[col, r] = 1
            self.G[:, index[key]] -= _cone.svec(E)

    @staticmethod
    def _key(a1, b1, a2, b2):
        """<(A-word a1 B-word b1)^dagger (a2 b2)> = <rev(a1) a2 . rev(b1) b2>,
        the same moment as its adjoint (both parts reversed)."""
        wa, wb = _reduce(tuple(reversed(a1)) + a2), _reduce(tuple(reversed(b1)) + b2)
        adjoint = (tuple(reversed(wa)), tuple(reversed(wb)))
        return min((wa, wb), adjoint)

    def column(self, a=None, b=None):
        """x's index of <A_a>, <B_b> or <A_a B_b> (a or b None for a marginal)."""
        key = (() if a is None else (int(a),), () if b is None else (int(b),))
        return self._index[key]

    def objective(self, sA, sB, sAB):
        """c (batch, len(moments)) for minimizing -(beta - const); inputs
        (batch, X), (batch, Y), (batch, X, Y) numpy arrays or torch tensors
        (the result is of the same kind)."""
        X, Y = self.inputs_a, self.inputs_b
        cols_a = [self.column(a=x) for x in range(X)]
        cols_b = [self.column(b=y) for y in range(Y)]
        cols_ab = [self.column(a=x, b=y) for x in range(X) for y in range(Y)]
        batch = sAB.shape[0]
        if hasattr(sAB, "new_zeros"):  # torch: built by indexing so that gradients flow
            c = sAB.new_zeros((batch, len(self.moments)))
            c = c.index_add(1, sAB.new_tensor(cols_a, dtype=_torch_long(sAB)), -sA)
            c = c.index_add(1, sAB.new_tensor(cols_b, dtype=_torch_long(sAB)), -sB)
            return c.index_add(1, sAB.new_tensor(cols_ab, dtype=_torch_long(sAB)), -sAB.reshape(batch, X * Y))
        c = np.zeros((batch, len(self.moments)))
        c[:, cols_a] -= sA
        c[:, cols_b] -= sB
        c[:, cols_ab] -= np.asarray(sAB).reshape(batch, X * Y)
        return c


def _torch_long(t):
    import torch
    return torch.long


def collins_gisin_to_correlators(cA, cB, cAB):
    """(const, sA, sB, sAB) of sum_x cA_x P_A(0|x) + sum_y cB_y P_B(0|y) +
    sum_xy cAB_xy P(00|xy) in correlator form."""
    cA, cB, cAB = (np.asarray(v, dtype=float) for v in (cA, cB, cAB))
    const = cA.sum() / 2 + cB.sum() / 2 + cAB.sum() / 4
    return const, cA / 2 + cAB.sum(1) / 4, cB / 2 + cAB.sum(0) / 4, cAB / 4


def i3322():
    """I3322 (Collins and Gisin, "A relevant two qubit Bell inequality
    inequivalent to the CHSH inequality", arXiv:quant-ph/0306129) in
    correlator form: -P_A(0|0) - 2 P_B(0|0) - P_B(0|1) + P(00|00) + P(00|01)
    + P(00|02) + P(00|10) + P(00|11) - P(00|12) + P(00|20) - P(00|21) <= 0
    classically; quantum about 0.25087538 (NPA level 1+AB: 0.2514709, level 2:
    0.2509397)."""
    return collins_gisin_to_correlators([-1, 0, 0], [-2, -1, 0], [[1, 1, 1], [1, 1, -1], [1, -1, 0]])


def chsh():
    """CHSH, <A0B0> + <A0B1> + <A1B0> - <A1B1> <= 2 (quantum 2 sqrt 2)."""
    return 0.0, np.zeros(2), np.zeros(2), np.array([[1.0, 1], [1, -1]])


def classical_bound(sA, sB, sAB, const=0.0):
    """max over the 2^(X+Y) deterministic strategies a_x, b_y in {+-1} of
    const + sA.a + sB.b + a'sAB b, per instance (numpy, batch-first or one)."""
    sA, sB, sAB = np.asarray(sA, float), np.asarray(sB, float), np.asarray(sAB, float)
    one = sAB.ndim == 2
    if one:
        sA, sB, sAB = sA[None], sB[None], sAB[None]
    X, Y = sAB.shape[1:]
    a = np.array(list(itertools.product((-1.0, 1.0), repeat=X)))  # (2^X, X)
    b = np.array(list(itertools.product((-1.0, 1.0), repeat=Y)))
    values = (np.einsum("bx,sx->bs", sA, a)[:, :, None] + np.einsum("by,ty->bt", sB, b)[:, None, :]
              + np.einsum("sx,bxy,ty->bst", a, sAB, b))
    best = values.reshape(values.shape[0], -1).max(1) + const
    return best[0] if one else best
