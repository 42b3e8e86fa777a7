"""The per-class sums behind :func:`mapsearch.bounds.combine.count_bounds`, compiled with numba.

The branch and bound asks for the bounds of a node's children at every expansion, and the
work is small loops over sets, step classes, groups and parts: as numpy calls it is mostly
call overhead and temporary arrays (``(B, C, G, P, F)`` before the minimum over parts).
Here it is one compiled pass that keeps one ``(G, F)`` block of least factors at a time.

The arithmetic is that of the telescoped form, in the same order as the numpy reading of
:mod:`mapsearch.bounds.combine` (left products outer group first, right products inner group
first, terms summed outer group first), so the sums are the same floats.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_jit = nb.njit(cache=True, error_model="numpy", nogil=True)


@_jit
def class_terms(mask, features, n_pairs, macmax):  # type: ignore[no-untyped-def]
    """Per set ``b`` and step class ``c``: for each counted pair ``k < n_pairs``, the bound
    ``sum_j prod_{g<j} G_g (U_j - G_j) prod_{g>j} U_g`` of its count, and last the product
    over groups of the largest PE MACs; shape ``(n_pairs + 1, B, C)``.

    ``mask`` ``(Bm, C, G, P)``: the parts each group may play in each class; ``features``
    ``(Bf, G, P, F)``: the least factors per group and part (``G``, ``U - G``, ``U`` of pair
    ``k`` at ``3k``, ``3k + 1``, ``3k + 2``; the largest PE MACs at ``macmax``). ``Bm`` and
    ``Bf`` are ``B`` or 1 (shared by every set). Returns also whether some group plays no
    part in some class (a bug of the caller's tables).
    """
    Bm, C, G, P = mask.shape
    Bf, F = features.shape[0], features.shape[3]
    B = max(Bm, Bf)
    out = np.zeros((n_pairs + 1, B, C))
    least = np.empty((G, F))
    right = np.empty(G)
    missing = False
    for b in range(B):
        bm = b if Bm > 1 else 0
        bf = b if Bf > 1 else 0
        for c in range(C):
            for g in range(G):
                for f in range(F):
                    least[g, f] = np.inf
                for p in range(P):
                    if mask[bm, c, g, p]:
                        for f in range(F):
                            v = features[bf, g, p, f]
                            if v < least[g, f]:
                                least[g, f] = v
                if least[g, 0] == np.inf:
                    missing = True
            for k in range(n_pairs):
                right[G - 1] = 1.0
                for j in range(G - 2, -1, -1):
                    right[j] = right[j + 1] * least[j + 1, 3 * k + 2]
                left = 1.0
                total = 0.0
                for j in range(G):
                    total += left * least[j, 3 * k + 1] * right[j]
                    left = left * least[j, 3 * k]
                out[k, b, c] = total
            prod = 1.0
            for g in range(G):
                prod = prod * least[g, macmax]
            out[n_pairs, b, c] = prod
    return out, missing
