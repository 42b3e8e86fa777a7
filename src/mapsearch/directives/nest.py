"""Directives to loops: the one reading of a mapping as levels, units, loops and slices.

``docs/semantics.md`` rules 1-4 turned into values. A mapping (or a template with sizes and
offsets) is cut at every ``Cluster`` into levels; level 0 has ``floor(num_pes / prod c_i)``
units, level ``i`` has ``c_i``. Each map directive of a level becomes a :class:`DimMap` in
input space (``Y'``/``X'`` rewritten by rule 2, here and, for the exact model's core keys
only, in its compiled batch reader ``costmodel/_exact_rows_kernel.py``, which
``tests/costmodel/test_exact_rows.py`` holds to this module), with its nominal extent and
slice count; each ``TemporalMap`` is a :class:`Loop` over its slices, and a
level's first ``SpatialMap`` is a fold loop over ``ceil(slices / units)`` folds (a second
one advances with it). The arithmetic works on Python ints and on int64 arrays of a batch
alike, so the validator, both cost models, the search spaces and the loop-nest printer
share it.

The step simulator (:mod:`mapsearch.costmodel.simulate`) deliberately does not use this
module: it is the independent referee the kernel's users are tested against.

MAESTRO reads ``Y'``/``X'`` differently (``Y(M + M_R - 1, O)``, then its own stride rule,
``docs/maestro_model.md`` section 3); those two rules live with the maestro semantics
(:mod:`mapsearch.costmodel._maestro_kernel`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

from mapsearch.directives.directive import (
    Cluster,
    DirectiveKind,
    Mapping,
    Sz,
    resolve_size,
)
from mapsearch.errors import MappingError
from mapsearch.layers import OUTPUT_DIMS, Layer

IntArray: TypeAlias = npt.NDArray[np.int64]
#: A scalar, or one value per mapping of a batch (int64 array of shape ``(B,)``); every
#: function below accepts either and returns the same kind.
N = TypeVar("N", int, IntArray)

TEMPORAL, SPATIAL, CLUSTER = DirectiveKind.TEMPORAL, DirectiveKind.SPATIAL, DirectiveKind.CLUSTER


# --- arithmetic (ints or arrays) ------------------------------------------------------------


def _at_least(x: N, low: int) -> N:
    if isinstance(x, np.ndarray):
        return np.maximum(x, low)
    return x if x > low else low  # not max(): the int path runs per directive of every core


def _at_most(x: N, high: N | int) -> N:
    if isinstance(x, np.ndarray) or isinstance(high, np.ndarray):
        return np.minimum(x, high)
    return x if x < high else high


def slice_count(size: N, offset: N | int, extent: N | int) -> N:
    """Rule 4: slices of a ``(size, offset)`` directive over nominal ``extent``: 1 when
    ``size >= extent``, else ``ceil((extent - size) / offset) + 1``."""
    return _at_least(-((size - extent) // offset), 0) + 1


def fold_count(slices: N, units: N | int) -> N:
    """Trips of a level's fold loop: ``ceil(slices / units)``."""
    return -(-slices // units)


def child_extent(size: N, extent: N | int) -> N:
    """Rule 3: the nominal extent a directive hands its children, ``min(size, extent)``."""
    return _at_most(size, extent)


def output_to_input(size: N, offset: N, stride: int, filter_size: N | int) -> tuple[N, N]:
    """Rule 2: ``Y'(M, O)`` as input rows, ``Y((M - 1) * stride + M_R, O * stride)``.

    ``M_R`` is the size of the same level's R directive, or the layer's R when the level has
    none (the same for ``X'`` with S).
    """
    return (size - 1) * stride + filter_size, offset * stride


def in_input_space(
    layer: Layer, written: str, size: N, offset: N, sized: dict[str, Any]
) -> tuple[str, N, N]:
    """The dimension a directive on ``written`` maps, with its size and offset there: an
    output-space ``Y'``/``X'`` is rewritten by rule 2 (:func:`output_to_input`) with the
    level's filter directive size from ``sized`` (dimension as written -> size), or the
    layer's filter size when the level has none; any other dimension is unchanged."""
    dim = OUTPUT_DIMS.get(written, written)
    if dim == written:
        return dim, size, offset
    fdim = layer.filter_of(dim)
    assert fdim is not None
    f_size = sized.get(fdim, layer.size(fdim))
    in_size, in_offset = output_to_input(size, offset, layer.stride_along(dim), f_size)
    return dim, in_size, in_offset


def level_units(num_pes: N, cluster_sizes: Sequence[N]) -> tuple[N, ...]:
    """Rule 1: units per level, ``(floor(num_pes / prod c_i), c_1, ..., c_m)``."""
    product: Any = 1
    for c in cluster_sizes:
        product = product * c
    return (num_pes // product, *cluster_sizes)


def split_levels(kinds: Sequence[DirectiveKind]) -> list[tuple[int | None, list[int]]]:
    """The positions of each level's map directives, with the position of the ``Cluster``
    that opens the level (``None`` for level 0)."""
    levels: list[tuple[int | None, list[int]]] = [(None, [])]
    for i, kind in enumerate(kinds):
        if kind is CLUSTER:
            levels.append((i, []))
        else:
            levels[-1][1].append(i)
    return levels


# --- the unfolded nest ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DimMap(Generic[N]):
    """One map directive of a level, in input space.

    ``position`` is the directive's index in the mapping (or template); ``written`` the
    dimension as written (``Y'`` for an output-space directive), ``dim`` the input-space one;
    ``extent`` the nominal extent the level sees; ``slices`` the slice count; ``loop`` the
    index of its loop in :attr:`StepModel.loops` (the level's fold loop for a SpatialMap).
    """

    position: int
    kind: DirectiveKind
    written: str
    dim: str
    size: N
    offset: N
    extent: N
    slices: N
    loop: int

    @property
    def spatial(self) -> bool:
        return self.kind is SPATIAL


@dataclass(frozen=True, slots=True, kw_only=True)
class Loop(Generic[N]):
    """One loop of the flattened nest: a TemporalMap's slices (``kind`` TEMPORAL) or the folds
    of a level's SpatialMaps (``kind`` SPATIAL); ``position`` is the directive's."""

    level: int
    dim: str
    kind: DirectiveKind
    trips: N
    position: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Level(Generic[N]):
    """One cluster level: its units, map directives (outer first) and extents.

    ``cluster`` is the position of the ``Cluster`` that opens the level (``None`` for level
    0); ``extents`` the nominal extent of every dimension the level sees, ``tiles`` what it
    hands its children (rule 3). Iterating a level yields its :class:`DimMap` entries.
    """

    index: int
    cluster: int | None
    units: N
    maps: tuple[DimMap[N], ...]
    extents: dict[str, N]
    tiles: dict[str, N]

    def __iter__(self) -> Iterator[DimMap[N]]:
        return iter(self.maps)

    def map_on(self, dim: str) -> DimMap[N] | None:
        """The level's directive on input-space dimension ``dim``, if any."""
        return next((d for d in self.maps if d.dim == dim), None)

    @property
    def spatial_maps(self) -> tuple[DimMap[N], ...]:
        return tuple(d for d in self.maps if d.spatial)

    @property
    def busy_units(self) -> N:
        """Units that get a slice in some step: unit ``p`` works only if ``p`` is below the
        slice count of every SpatialMap of the level (all units work without one)."""
        busy = self.units
        for d in self.spatial_maps:
            busy = _at_most(busy, d.slices)
        return busy


@dataclass(frozen=True, slots=True, kw_only=True)
class StepModel(Generic[N]):
    """A mapping unfolded into levels, units and the flattened loop nest (rules 1-4)."""

    layer: Layer
    units: tuple[N, ...]
    levels: tuple[Level[N], ...]
    loops: tuple[Loop[N], ...]

    @property
    def busy_pes(self) -> N:
        """The most PEs that ever work at once: the busy units of every level, multiplied
        (an upper bound: a unit may still idle in some steps)."""
        out: Any = 1
        for level in self.levels:
            out = out * level.busy_units
        return out


def template_problems(
    layer: Layer, kinds: Sequence[DirectiveKind], dims: Sequence[str]
) -> list[str]:
    """What makes a template unreadable as levels: an unknown dimension, a dimension mapped
    twice in one level (``Y'`` counts as ``Y``), a third SpatialMap in a level."""
    known = set(layer.dim_names)
    problems = []
    for lvl, (_, members) in enumerate(split_levels(kinds)):
        seen: set[str] = set()
        spatial = 0
        for i in members:
            written = dims[i]
            dim = OUTPUT_DIMS.get(written, written) if layer.windows else written
            if dim not in known:
                problems.append(
                    f"level {lvl}: {kinds[i].name.lower()} map on {written!r}, which "
                    f"{layer.op.value} layers lack; use one of {', '.join(layer.dim_names)}"
                )
            elif dim in seen:
                problems.append(f"level {lvl}: {written} maps {dim} a second time in the level")
            seen.add(dim)
            spatial += kinds[i] is SPATIAL
            if spatial > 2 and kinds[i] is SPATIAL:
                problems.append(f"level {lvl}: a third SpatialMap ({written}) in the level")
    return problems


def unfold_template(
    layer: Layer,
    kinds: Sequence[DirectiveKind],
    dims: Sequence[str],
    sizes: Sequence[N],
    offsets: Sequence[N],
    units: Sequence[N],
) -> StepModel[N]:
    """Unfold directives given as kinds, dimensions, sizes and offsets (one entry per
    directive, ``Cluster`` included: its size is the cluster size) on ``units`` per level.

    Sizes may be ints or int64 arrays of a batch; so are every extent, slice count and trip
    count of the result. Raises :class:`MappingError` for an unreadable template
    (:func:`template_problems`); the values are not checked (sizes must be >= 1).
    """
    # level 0 sees the layer's sizes, as ints or as arrays like the values
    batch = next((v.shape for v in (*sizes, *units) if isinstance(v, np.ndarray)), None)
    extents: dict[str, Any] = (
        dict(layer.dims)
        if batch is None
        else {d: np.broadcast_to(np.int64(v), batch) for d, v in layer.dims}
    )
    known = layer.dim_names
    windows = bool(layer.windows)
    levels: list[Level[N]] = []
    loops: list[Loop[N]] = []
    for index, (opener, members) in enumerate(split_levels(kinds)):
        sized = {dims[i]: sizes[i] for i in members}
        maps: list[DimMap[N]] = []
        fold = -1
        seen: set[str] = set()
        n_spatial = 0
        for i in members:
            written = dims[i]
            # template_problems' checks in the same pass (this runs for every core walked)
            read_as = OUTPUT_DIMS.get(written, written) if windows else written
            n_spatial += kinds[i] is SPATIAL
            if read_as not in known or read_as in seen or (n_spatial > 2 and kinds[i] is SPATIAL):
                raise MappingError(template_problems(layer, kinds, dims))
            seen.add(read_as)
            if read_as == written:  # the common case, without a call
                dim, size, offset = written, sizes[i], offsets[i]
            else:
                dim, size, offset = in_input_space(layer, written, sizes[i], offsets[i], sized)
            n = slice_count(size, offset, extents[dim])
            if kinds[i] is TEMPORAL:
                loops.append(Loop(level=index, dim=dim, kind=TEMPORAL, trips=n, position=i))
                loop = len(loops) - 1
            else:
                if fold < 0:
                    trips = fold_count(n, units[index])
                    loops.append(Loop(level=index, dim=dim, kind=SPATIAL, trips=trips, position=i))
                    fold = len(loops) - 1
                loop = fold
            maps.append(
                DimMap(
                    position=i,
                    kind=kinds[i],
                    written=written,
                    dim=dim,
                    size=size,
                    offset=offset,
                    extent=extents[dim],
                    slices=n,
                    loop=loop,
                )
            )
        tiles = dict(extents)
        for d in maps:
            tiles[d.dim] = child_extent(d.size, d.extent)
        levels.append(
            Level(
                index=index,
                cluster=opener,
                units=units[index],
                maps=tuple(maps),
                extents=extents,
                tiles=tiles,
            )
        )
        extents = tiles
    return StepModel(layer=layer, units=tuple(units), levels=tuple(levels), loops=tuple(loops))


def unfold(layer: Layer, mapping: Mapping, num_pes: int) -> StepModel[int]:
    """``mapping`` on ``layer`` and ``num_pes`` PEs as a :class:`StepModel` of ints.

    Raises :class:`MappingError` for what has no meaning as levels: an unknown dimension or
    ``Sz()``, a size, offset or cluster size below 1, a dimension mapped twice in a level,
    a third SpatialMap, more clusters than PEs.
    """
    problems: list[str] = []
    kinds = [d.kind for d in mapping.directives]
    dims = ["" if isinstance(d, Cluster) else d.dim for d in mapping.directives]
    sizes: list[int] = []
    offsets: list[int] = []
    for d in mapping.directives:
        values = (d.size,) if isinstance(d, Cluster) else (d.size, d.offset)
        resolved = []
        for v in values:
            if isinstance(v, Sz) and v.dim not in layer.dim_names and v.dim not in OUTPUT_DIMS:
                problems.append(f"{d}: {v} names a dimension {layer.op.value} layers lack")
                resolved.append(1)
                continue
            r = resolve_size(v, layer)
            if r < 1:
                problems.append(f"{d}: sizes, offsets and cluster sizes must be >= 1, got {r}")
            resolved.append(r)
        sizes.append(resolved[0])
        offsets.append(resolved[1] if len(resolved) > 1 else 0)
    problems += template_problems(layer, kinds, dims)
    clusters = [int(sizes[i]) for i, k in enumerate(kinds) if k is CLUSTER]
    if not problems and num_pes < math.prod(clusters):
        problems.append(
            f"the cluster sizes {clusters} need {math.prod(clusters)} PEs, the hardware has "
            f"{num_pes}; use smaller clusters"
        )
    if problems:
        raise MappingError(problems, mapping_name=mapping.name)
    return unfold_template(layer, kinds, dims, sizes, offsets, level_units(num_pes, clusters))


def nest_signature(model: StepModel[int]) -> tuple[object, ...]:
    """What makes two unfolded mappings the same loop nest: per level its units, its
    directives that loop (more than one slice) or spread work (a SpatialMap on more than
    one unit), in order, as (kind, dimension, size within the extent, offset, slices), and
    the tiles it hands its children. Directives that run once may sit anywhere, be written
    as ``Y'`` or ``Y``, or be left out."""
    out: list[object] = []
    for level in model.levels:
        maps = tuple(
            (d.kind, d.dim, min(d.size, d.extent), d.offset if d.slices > 1 else 0, d.slices)
            for d in level
            if d.slices > 1 or (d.spatial and level.units > 1)
        )
        out.append((level.units, maps, tuple(sorted(level.tiles.items()))))
    return tuple(out)


__all__ = [
    "DimMap",
    "Level",
    "Loop",
    "StepModel",
    "child_extent",
    "fold_count",
    "level_units",
    "output_to_input",
    "slice_count",
    "split_levels",
    "template_problems",
    "unfold",
    "unfold_template",
]
