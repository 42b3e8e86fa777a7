"""A batch's templates read row by row, compiled with numba (for
:func:`mapsearch.costmodel._exact_rows.read_rows`, which documents the slots, keys and parts).

One pass per row over its directives finds its levels, units, loops and whether it can be
read as arrays; a second fills every slot's key and parts, and turns each dimension group's
key into its core key (:func:`_core_key`). Arrays are sized by the batch's largest row
(levels, loops, a group's directives), as the slots need.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from mapsearch.costmodel._exact_rows import FIELDS
from mapsearch.costmodel.batch import KIND_CODES
from mapsearch.directives import DirectiveKind

_jit = nb.njit(cache=True, error_model="numpy", nogil=True)

TEMPORAL = KIND_CODES[DirectiveKind.TEMPORAL]
SPATIAL = KIND_CODES[DirectiveKind.SPATIAL]
CLUSTER = KIND_CODES[DirectiveKind.CLUSTER]


@_jit
def _core_key(key, n_lv, n_levels, extent, dim_of, window):  # type: ignore[no-untyped-def]
    """Rewrite one dimension group's slot ``key`` (its units per level, then its directives
    in template order, -1 padding) in place as its core key, by ``docs/semantics.md`` rules
    2-4 as :func:`mapsearch.directives.nest.unfold_template` applies them: an output-space
    directive (``Y'``) becomes its input-space one (size ``(size - 1) * stride + f``, ``f``
    the level's filter directive size or the layer's; offset ``offset * stride``), and a
    level's units are cut to the slices of the group's first SpatialMap there (units past
    them never work), the extents handed down level by level.

    ``extent``: the layer's size per dimension (overwritten); ``window`` per dimension code
    + 1: for an output-space one its input-space code, its filter's code, the layer's filter
    size and the stride, else -1s.
    """
    j = 1 + n_lv
    for level in range(n_levels):
        lead = 0
        start = j
        while j < key.shape[0] and key[j] == level:
            code = key[j + 2]
            size, offset = key[j + 3], key[j + 4]
            if window[code + 1, 0] >= 0:
                f = window[code + 1, 2]
                for i in range(start, key.shape[0], FIELDS):
                    if key[i] != level:
                        break
                    if key[i + 2] == window[code + 1, 1]:
                        f = key[i + 3]
                stride = window[code + 1, 3]
                size, offset = (size - 1) * stride + f, offset * stride
                key[j + 2] = window[code + 1, 0]
            d = dim_of[code + 1]
            if key[j + 1] == SPATIAL and lead == 0:
                lead = max(-((size - extent[d]) // offset), 0) + 1
            extent[d] = min(size, extent[d])
            key[j + 3], key[j + 4] = size, offset
            j += FIELDS
        if lead > 0 and key[1 + level] > 0:
            key[1 + level] = min(key[1 + level], lead)


@_jit
def read(kinds, dims, sizes, offsets, top, group_of, dim_of, window, layer_sizes, n_groups):  # type: ignore[no-untyped-def]
    """Every row's slots (the ``n_groups`` dimension groups, then ``@i`` per level).

    ``group_of``/``dim_of``: per dimension code + 1, its group and input-space dimension
    (-1: not the layer's); ``window`` and ``layer_sizes``: see :func:`_core_key`. A
    readable row's dimension-group keys are core keys. Returns ``readable``, ``units`` (B, L), ``n_levels``,
    ``n_loops``, the keys of all slots side by side (B, ...) with each slot's first column
    (``key_at``, one more at the end), the parts (slots, B, 1 + most loops) and each slot's
    number of loops per row (slots, B).
    """
    n_rows, n_cols = kinds.shape
    n_levels = np.ones(n_rows, dtype=np.int64)
    n_loops = np.zeros(n_rows, dtype=np.int64)
    count = np.zeros((n_rows, n_groups), dtype=np.int64)  # each group's directives
    for b in range(n_rows):
        rank = 0
        for j in range(n_cols):
            k = kinds[b, j]
            if k == CLUSTER:
                n_levels[b] += 1
                rank = 0
            elif k in (TEMPORAL, SPATIAL):
                g = group_of[dims[b, j] + 1]
                if g >= 0:
                    count[b, g] += 1
                rank += k == SPATIAL
                n_loops[b] += k == TEMPORAL or rank == 1
    n_lv = max(1, n_levels.max()) if n_rows else 1
    most_loops = n_loops.max() if n_rows else 0
    key_at = np.zeros(n_groups + n_lv + 1, dtype=np.int64)
    for s in range(n_groups):
        width = count[:, s].max() if n_rows else 0
        key_at[s + 1] = key_at[s] + 1 + n_lv + FIELDS * width
    for i in range(n_lv):
        key_at[n_groups + i + 1] = key_at[n_groups + i] + 2
    keys = np.full((n_rows, key_at[-1]), -1, dtype=np.int64)
    local = np.full((n_groups + n_lv, n_rows, 1 + most_loops), -1, dtype=np.int64)
    n_mine = np.zeros((n_groups + n_lv, n_rows), dtype=np.int64)
    readable = np.ones(n_rows, dtype=np.bool_)
    units = np.zeros((n_rows, n_lv), dtype=np.int64)
    first = np.empty(n_lv, dtype=np.int64)  # group of each level's first SpatialMap
    n_dims = layer_sizes.shape[0]
    seen = np.empty(n_dims, dtype=np.int64)
    extent = np.empty(n_dims, dtype=np.int64)  # the level where each dimension was mapped
    loop_group = np.empty(max(most_loops, 1), dtype=np.int64)
    filled = np.empty(n_groups, dtype=np.int64)
    for b in range(n_rows):
        first[:] = -1
        seen[:] = -1
        filled[:] = 0
        units[b, 0] = top[b]
        level, rank, n = 0, 0, 0
        for j in range(n_cols):
            k = kinds[b, j]
            if k == CLUSTER:
                level += 1
                units[b, level] = sizes[b, j]
                rank = 0
                continue
            if k not in (TEMPORAL, SPATIAL):
                continue
            g, d = group_of[dims[b, j] + 1], dim_of[dims[b, j] + 1]
            if d < 0 or seen[d] == level:  # not the layer's, or mapped twice in a level
                readable[b] = False
            if d >= 0:
                seen[d] = level
            if k == SPATIAL:
                rank += 1
                if rank == 1:
                    first[level] = g
                elif rank >= 3 or g != first[level]:  # a third, or a diagonal of two groups
                    readable[b] = False
            if k == TEMPORAL or rank == 1:
                loop_group[n] = g
                n += 1
            if g >= 0:
                at = key_at[g] + 1 + n_lv + FIELDS * filled[g]
                keys[b, at] = level
                keys[b, at + 1] = k
                keys[b, at + 2] = dims[b, j]
                keys[b, at + 3] = sizes[b, j]
                keys[b, at + 4] = offsets[b, j]
                filled[g] += 1
        for s in range(n_groups):
            keys[b, key_at[s]] = n_levels[b]
            for i in range(n_lv):
                keys[b, key_at[s] + 1 + i] = units[b, i] if first[i] == s else 0
        for s in range(n_groups):
            if readable[b] and keys[b, key_at[s]] >= 0:
                extent[:] = layer_sizes
                _core_key(
                    keys[b, key_at[s] : key_at[s + 1]], n_lv, n_levels[b], extent, dim_of, window
                )
        for i in range(n_levels[b]):
            if first[i] < 0:
                keys[b, key_at[n_groups + i]] = n_levels[b]
                keys[b, key_at[n_groups + i] + 1] = units[b, i]
        for s in range(n_groups + n_lv):
            mine = 0
            for loop in range(n):
                mine += loop_group[loop] == s
            n_mine[s, b] = mine
            local[s, b, 0] = 0
            outer = 0
            for loop in range(n):
                if loop_group[loop] == s:
                    local[s, b, 1 + loop] = 2 + 2 * outer
                    outer += 1
                else:
                    local[s, b, 1 + loop] = 3 + 2 * outer if outer < mine else 1
    return readable, units, n_levels, n_loops, keys, key_at, local, n_mine


@_jit
def distinct_keys(keys, key_at, rows):  # type: ignore[no-untyped-def]
    """Per slot ``s`` (columns ``key_at[s]`` to ``key_at[s + 1]`` of ``keys``), the distinct
    keys of rows ``rows``: ``first[s, :count[s]]`` the position in ``rows`` of each one's
    first row, in order of appearance, and ``inv[s, k]`` the index of row ``rows[k]``'s key
    among them. One pass per slot through an open-addressing table of whole keys (compared
    in full, so hash collisions cost a probe, never a wrong answer)."""
    n_slots, n = key_at.shape[0] - 1, rows.shape[0]
    size = 2
    while size < 2 * n:
        size *= 2
    mask = size - 1
    table = np.empty(size, dtype=np.int64)
    first = np.empty((n_slots, n), dtype=np.int64)
    count = np.zeros(n_slots, dtype=np.int64)
    inv = np.empty((n_slots, n), dtype=np.int64)
    for s in range(n_slots):
        lo, hi = key_at[s], key_at[s + 1]
        table[:] = -1
        for k in range(n):
            b = rows[k]
            h = np.int64(-3750763034362895579)  # FNV-1a offset basis, wrapping int64
            for c in range(lo, hi):
                h = (h ^ keys[b, c]) * np.int64(1099511628211)
            at = (h ^ (h >> 29)) & mask
            while True:
                t = table[at]
                if t < 0:
                    table[at] = count[s]
                    first[s, count[s]] = k
                    inv[s, k] = count[s]
                    count[s] += 1
                    break
                r = rows[first[s, t]]
                same = True
                for c in range(lo, hi):
                    if keys[r, c] != keys[b, c]:
                        same = False
                        break
                if same:
                    inv[s, k] = t
                    break
                at = (at + 1) & mask
    return first, count, inv
