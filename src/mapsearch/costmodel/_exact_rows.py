"""A batch's templates read as arrays: every row's groups, their keys and their parts.

The exact model needs, per mapping and group, the group's own directives and units (which
decide its core, :func:`mapsearch.costmodel._exact_groups._core_key`) and the part the group
plays in each step class (:func:`mapsearch.costmodel._exact_groups.class_parts`). Read
template by template that costs Python per template, and random genotypes bring a new
template at almost every row; here both are read for the whole batch at once from the kind
and dimension codes. Rows whose template joins groups (two SpatialMaps of different groups
in one level) or cannot be read as levels (:func:`mapsearch.directives.nest.template_problems`)
are left to the per-template path.

Every row has the same *slots*: the layer's dimension groups, then ``@i`` for every level
``i`` (present only where the level has no SpatialMap, as in
:func:`mapsearch.costmodel._exact_groups.template_groups`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel._exact_groups import _group_of
from mapsearch.costmodel.batch import DIM_NAMES, KIND_CODES, NONE, MappingBatch
from mapsearch.directives import DirectiveKind
from mapsearch.layers import OUTPUT_DIMS, Layer

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_T = KIND_CODES[DirectiveKind.TEMPORAL]
_S = KIND_CODES[DirectiveKind.SPATIAL]
_C = KIND_CODES[DirectiveKind.CLUSTER]
#: Fields of a directive in a slot key: level, kind code, dimension code, size, offset.
FIELDS = 5


@functools.cache
def dim_groups(layer: Layer) -> tuple[str, ...]:
    """The layer's dimension groups, in the order of ``template_groups``."""
    group_of = _group_of(layer)
    return tuple(dict.fromkeys(group_of[d] for d in layer.dim_names))


@functools.cache
def _code_tables(layer: Layer) -> tuple[IntArray, IntArray]:
    """Per dimension code + 1 (0: no dimension): its group's index among
    :func:`dim_groups` and its input-space dimension's index in the layer, -1 where the
    layer lacks it (``Y'`` counts as ``Y`` when the layer has windows)."""
    group_of = _group_of(layer)
    groups = dim_groups(layer)
    group = np.full(len(DIM_NAMES) + 1, -1, dtype=np.int64)
    dim = np.full(len(DIM_NAMES) + 1, -1, dtype=np.int64)
    for code, written in enumerate(DIM_NAMES):
        d = OUTPUT_DIMS.get(written, written) if layer.windows else written
        if d in layer.dim_names:
            dim[code + 1] = layer.dim_names.index(d)
            group[code + 1] = groups.index(group_of.get(written.rstrip("'"), written))
    return group, dim


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchRows:
    """The rows of a batch read as arrays (:func:`read_rows`), all of shape ``(B, ...)``.

    ``readable``: the rows read here (the others go the per-template way); ``units``: units
    per level (0 past the row's levels); ``n_levels`` and ``n_loops`` per row; per slot
    (dimension groups, then ``@i`` per level) ``keys[s]`` the key of the row's group (its
    directives and units; rows without the slot: all -1) and ``local[s]`` its part in every
    step class as an index into a single group's core parts (see :func:`local_parts`;
    -1: a class past the row's loops).
    """

    readable: BoolArray
    units: IntArray
    n_levels: IntArray
    n_loops: IntArray
    slots: tuple[str, ...]
    keys: tuple[IntArray, ...]
    local: tuple[IntArray, ...]
    n_mine: tuple[IntArray, ...]


def read_rows(layer: Layer, batch: MappingBatch, top: IntArray) -> BatchRows:
    """Read every row of ``batch`` (``top``: its level-0 units) as slots, keys and parts."""
    pad = np.full((len(batch), 1), NONE, dtype=np.int64)  # one padding column at least
    kinds = np.concatenate([batch.kinds, pad], axis=1)
    dims = np.concatenate([batch.dims, pad], axis=1)
    sizes = np.concatenate([batch.sizes, pad], axis=1)
    offsets = np.concatenate([batch.offsets, pad], axis=1)
    B, J = kinds.shape
    group_table, dim_table = _code_tables(layer)
    codes = dims + 1
    cluster = kinds == _C
    spatial = kinds == _S
    mapped = (kinds == _T) | spatial
    group = np.where(mapped, group_table[codes], -1)
    dim = np.where(mapped, dim_table[codes], -1)
    level = np.cumsum(cluster, axis=1)
    n_levels = 1 + cluster.sum(axis=1)
    L = int(n_levels.max()) if B else 1
    readable = ~(mapped & (dim < 0)).any(axis=1)
    # a dimension mapped twice in a level
    seen = np.where(mapped, level * len(layer.dim_names) + dim, -1 - np.arange(J))
    seen.sort(axis=1)
    readable &= ~(seen[:, 1:] == seen[:, :-1]).any(axis=1)
    # each SpatialMap's rank in its level; a third one, or a second of another group
    cs = np.cumsum(spatial, axis=1)
    rank = cs - np.maximum.accumulate(np.where(cluster, cs, 0), axis=1)
    readable &= ~(spatial & (rank >= 3)).any(axis=1)
    lead = spatial & (rank == 1)
    first = np.full((B, L), -1, dtype=np.int64)  # group of each level's first SpatialMap
    units = np.zeros((B, L), dtype=np.int64)
    units[:, 0] = top
    for i in range(L):
        at = lead & (level == i)
        first[:, i] = np.where(at.any(axis=1), group[np.arange(B), at.argmax(axis=1)], -1)
        if i:
            units[:, i] = np.where(cluster & (level == i), sizes, 0).sum(axis=1)
    partner = np.take_along_axis(first, np.minimum(level, L - 1), axis=1)
    readable &= ~(spatial & (rank == 2) & (group != partner)).any(axis=1)
    # the loops in order (a TemporalMap, a level's first SpatialMap) and their groups
    loop = (kinds == _T) | lead
    n_loops = loop.sum(axis=1)
    order = np.argsort(~loop, axis=1, kind="stable")
    loop_group = np.where(
        np.arange(J) < n_loops[:, None], np.take_along_axis(group, order, axis=1), -2
    )[:, : int(n_loops.max()) if B else 0]
    slots: list[str] = []
    keys: list[IntArray] = []
    local: list[IntArray] = []
    mine_counts: list[IntArray] = []

    def add_slot(name: str, key: IntArray, mine_loops: BoolArray) -> None:
        parts, n_mine = local_parts(mine_loops, n_loops)
        slots.append(name)
        keys.append(key)
        local.append(parts)
        mine_counts.append(n_mine)

    for s, name in enumerate(dim_groups(layer)):
        mine = mapped & (group == s)
        count = mine.sum(axis=1)
        width = int(count.max()) if B else 0
        pick = np.argsort(~mine, axis=1, kind="stable")[:, :width]
        pad = np.arange(width) >= count[:, None]
        fields = [
            np.where(pad, -1, np.take_along_axis(a, pick, axis=1))
            for a in (level, kinds, dims, sizes, offsets)
        ]
        key = np.concatenate(
            [
                n_levels[:, None],
                np.where(first == s, units, 0),
                np.stack(fields, axis=2).reshape(B, -1),
            ],
            axis=1,
        )
        add_slot(name, key, loop_group == s)
    none = np.zeros_like(loop_group, dtype=bool)
    for i in range(L):
        present = (i < n_levels) & (first[:, i] < 0)
        key = np.where(present[:, None], np.stack([n_levels, units[:, i]], axis=1), -1)
        add_slot(f"@{i}", key, none)
    return BatchRows(
        readable=readable,
        units=units,
        n_levels=n_levels,
        n_loops=n_loops,
        slots=tuple(slots),
        keys=tuple(keys),
        local=tuple(local),
        n_mine=tuple(mine_counts),
    )


def local_parts(mine: BoolArray, n_loops: IntArray) -> tuple[IntArray, IntArray]:
    """Per row, the part a single group plays in each step class, as an index into its
    core's parts ``first, self, loop 0, inner 0, loop 1, inner 1, ...`` (the order of
    ``_exact_groups._parts``), -1 past the row's loops; and the group's number of loops.

    ``mine[b, l]``: loop ``l`` of row ``b`` is the group's. Class 0 is the first step;
    class ``l + 1`` (loop ``l`` innermost to change) is the group's own loop ``k`` (``k``
    of its loops outside ``l``), its loops from ``k`` on reset, or nothing moves when
    all its loops are outside (:func:`_exact_groups.class_parts`).
    """
    outer: IntArray = np.cumsum(mine, axis=1) - mine
    n_mine = mine.sum(axis=1)
    part = np.where(mine, 2 + 2 * outer, np.where(outer < n_mine[:, None], 3 + 2 * outer, 1))
    part = np.where(np.arange(mine.shape[1]) < n_loops[:, None], part, -1)
    return np.concatenate([np.zeros((mine.shape[0], 1), dtype=np.int64), part], axis=1), n_mine
