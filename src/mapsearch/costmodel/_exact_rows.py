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
from mapsearch.costmodel.batch import DIM_NAMES, MappingBatch
from mapsearch.layers import OUTPUT_DIMS, Layer

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Fields of a directive in a slot key: level, kind code, dimension code, size, offset.
FIELDS = 5


@functools.cache
def dim_groups(layer: Layer) -> tuple[str, ...]:
    """The layer's dimension groups, in the order of ``template_groups``."""
    group_of = _group_of(layer)
    return tuple(dict.fromkeys(group_of[d] for d in layer.dim_names))


@dataclass(frozen=True, slots=True)
class _CodeTables:
    """What the read kernel needs of the layer, per dimension code + 1 (0: no dimension):
    ``group`` its group's index among :func:`dim_groups` and ``dim`` its input-space
    dimension's index in the layer (-1 where the layer lacks it; ``Y'`` counts as ``Y`` when
    the layer has windows); ``window`` for an output-space one (``Y'``) its input-space
    code, its filter's code, the layer's filter size and the stride along it (else -1s);
    ``sizes`` the layer's size per dimension."""

    group: IntArray
    dim: IntArray
    window: IntArray
    sizes: IntArray


@functools.cache
def _code_tables(layer: Layer) -> _CodeTables:
    """The layer's :class:`_CodeTables` (built once per layer)."""
    group_of = _group_of(layer)
    groups = dim_groups(layer)
    group = np.full(len(DIM_NAMES) + 1, -1, dtype=np.int64)
    dim = np.full(len(DIM_NAMES) + 1, -1, dtype=np.int64)
    window = np.full((len(DIM_NAMES) + 1, 4), -1, dtype=np.int64)
    for code, written in enumerate(DIM_NAMES):
        d = OUTPUT_DIMS.get(written, written) if layer.windows else written
        if d in layer.dim_names:
            dim[code + 1] = layer.dim_names.index(d)
            group[code + 1] = groups.index(group_of.get(written.rstrip("'"), written))
            f = layer.filter_of(d)
            if d != written and f is not None:
                window[code + 1] = (
                    DIM_NAMES.index(d),
                    DIM_NAMES.index(f),
                    layer.size(f),
                    layer.stride_along(d),
                )
    sizes = np.array([layer.size(d) for d in layer.dim_names], dtype=np.int64)
    return _CodeTables(group=group, dim=dim, window=window, sizes=sizes)


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchRows:
    """The rows of a batch read as arrays (:func:`read_rows`), all of shape ``(B, ...)``.

    ``readable``: the rows read here (the others go the per-template way); ``units``: units
    per level (0 past the row's levels); ``n_levels`` and ``n_loops`` per row; per slot
    (dimension groups, then ``@i`` per level) ``key(s)`` the key of the row's group (rows
    without the slot: all -1), ``local[s]`` its part in every step class and ``n_mine[s]``
    its number of loops. A key holds the number of levels, then for a dimension group its
    units per level (0 where it does not lead the level's SpatialMaps) and its directives
    (level, kind code, dimension code, size, offset; then -1 padding), for ``@i`` the level's
    units. In a readable row a dimension group's key is its core key
    (:func:`mapsearch.costmodel._exact_groups._core_key`): directives in input space, units
    cut to the slices they can work on; rows whose groups share a core share the key.

    A part is an index into a single group's core parts ``first, self, loop 0, inner 0,
    loop 1, inner 1, ...`` (the order of ``_exact_groups._parts``): class 0 is the first
    step; class ``l + 1`` (loop ``l`` innermost to change) is the group's own loop ``k``
    (``k`` of its loops outside ``l``), its loops from ``k`` on reset, or nothing moves
    when all its loops are outside (:func:`_exact_groups.class_parts`); -1 past the row's
    loops.
    """

    readable: BoolArray
    units: IntArray
    n_levels: IntArray
    n_loops: IntArray
    slots: tuple[str, ...]
    keys: IntArray  # every slot's key side by side, slot s in columns key_at[s]:key_at[s+1]
    key_at: IntArray
    local: IntArray  # (slots, B, 1 + most loops)
    n_mine: IntArray  # (slots, B)

    def key(self, s: int) -> IntArray:
        """Slot ``s``'s keys, shape ``(B, width)``."""
        return self.keys[:, self.key_at[s] : self.key_at[s + 1]]


def read_rows(layer: Layer, batch: MappingBatch, top: IntArray) -> BatchRows:
    """Read every row of ``batch`` (``top``: its level-0 units) as slots, keys and parts,
    by one compiled pass per row (:mod:`mapsearch.costmodel._exact_rows_kernel`, imported on
    first use like the other kernels)."""
    from mapsearch.costmodel import _exact_rows_kernel as kernel

    groups = dim_groups(layer)
    tables = _code_tables(layer)
    readable, units, n_levels, n_loops, keys, key_at, local, n_mine = kernel.read(
        batch.kinds,
        batch.dims,
        batch.sizes,
        batch.offsets,
        np.asarray(top, dtype=np.int64),
        tables.group,
        tables.dim,
        tables.window,
        tables.sizes,
        len(groups),
    )
    return BatchRows(
        readable=readable,
        units=units,
        n_levels=n_levels,
        n_loops=n_loops,
        slots=(*groups, *(f"@{i}" for i in range(units.shape[1]))),
        keys=keys,
        key_at=key_at,
        local=local,
        n_mine=n_mine,
    )
