"""The Pareto filter: a vectorised non-dominated filter (all objectives minimised), used for
tuning studies and for hardware sweeps (where it merges chunk fronts).

Row ``a`` dominates row ``b`` when ``a <= b`` in every objective and ``a != b``. Rows with
equal objective vectors are one point of the front: the row that comes first in the order
of the ``tiebreak`` columns (e.g. area, power, then the design's index) represents them, so
the front does not depend on how a sweep was cut into chunks.

Method: sort the rows lexicographically (objectives, then tie-break columns) and drop
repeated objective vectors. In that order a row can only be dominated by an earlier one,
and, by transitivity, by an earlier *non-dominated* one. Two objectives: a running minimum
of the second decides (O(n log n)). More: the rows are scanned in blocks, each checked
against the front found so far and against the earlier rows of its block.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Rows compared at once in the block scan (memory: block x block x k booleans).
_BLOCK = 512


def _sorted_distinct(objectives: FloatArray, tiebreak: FloatArray | None) -> IntArray:
    """Row indices in lexicographic order, one per distinct objective vector."""
    n, k = objectives.shape
    keys: list[FloatArray] = []
    if tiebreak is not None:
        keys += [tiebreak[:, j] for j in range(tiebreak.shape[1] - 1, -1, -1)]
    keys += [objectives[:, j] for j in range(k - 1, -1, -1)]
    order = np.lexsort(keys).astype(np.int64)  # stable: row order breaks remaining ties
    s = objectives[order]
    first = np.ones(n, dtype=bool)
    first[1:] = np.any(s[1:] != s[:-1], axis=1)
    return order[first]


def nondominated(objectives: npt.ArrayLike, tiebreak: npt.ArrayLike | None = None) -> IntArray:
    """Indices of the non-dominated rows of ``objectives`` (shape (n, k), minimised).

    One index per distinct objective vector, chosen by ``tiebreak`` (shape (n, t), compared
    lexicographically, smaller first; then the row index). Returned in lexicographic order
    of the objectives.
    """
    f = np.asarray(objectives, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"objectives must have shape (n, k), got {f.shape}")
    if np.isnan(f).any():
        raise ValueError("objectives must not contain NaN")
    tb = None if tiebreak is None else np.asarray(tiebreak, dtype=np.float64)
    if tb is not None and (tb.ndim != 2 or tb.shape[0] != f.shape[0]):
        raise ValueError(f"tiebreak must have shape ({f.shape[0]}, t), got {tb.shape}")
    n, k = f.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    idx = _sorted_distinct(f, tb)
    if k == 1:
        return idx[:1]
    g = f[idx]
    if k == 2:
        # NOTE: rows are sorted by f0 then f1 and distinct, so a row is dominated exactly
        # when some earlier row has f1 <= its f1.
        prev_min = np.minimum.accumulate(g[:, 1])
        keep = np.ones(len(g), dtype=bool)
        keep[1:] = g[1:, 1] < prev_min[:-1]
        return idx[keep]
    front = np.zeros((0, k))
    kept: list[IntArray] = []
    for b in range(0, len(g), _BLOCK):
        blk = g[b : b + _BLOCK]
        alive = np.ones(len(blk), dtype=bool)
        for f0 in range(0, len(front), _BLOCK):
            part = front[f0 : f0 + _BLOCK]
            alive &= ~(part[:, None, :] <= blk[None, :, :]).all(axis=2).any(axis=0)
        within = (blk[:, None, :] <= blk[None, :, :]).all(axis=2)
        alive &= ~np.triu(within, 1).any(axis=0)
        front = np.concatenate([front, blk[alive]])
        kept.append(idx[b : b + _BLOCK][alive])
    return np.concatenate(kept)
