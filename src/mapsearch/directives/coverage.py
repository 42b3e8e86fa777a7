"""Does a mapping compute every MAC exactly once? (``docs/semantics.md`` rule 6, decided
without stepping through the loop nest.)

How often a MAC is computed is a product over *dimension groups*: every dimension alone,
except the window pairs (Y, R) and (X, S), which form one group each, and except groups
joined by a level whose two SpatialMaps lie in different groups (they share the fold loop
and the units, so they are counted together). A group's count depends only on its own
directives: a TemporalMap contributes each of its slices once, a level's SpatialMap(s) each
slice index once (unit ``p`` of fold ``f`` takes index ``f*P + p``, which visits every index
once; a diagonal partner takes the same index and idles where it has no such slice). So the
mapping is exact iff every group is, and a group is checked by enumerating its *leaf tiles*
(one per combination of its slice indices, clipped as rule 5 says) and the MAC box each
computes (a window pair: filter rows ``r`` of its R slice with output rows ``y'`` such that
``y' * stride + r'`` lies in its Y slice for every ``r'`` of its R slice).

The boxes tile the group's MAC space exactly once iff their corner signature (each box adds
``+-1`` at its ``2**d`` corners, the multi-dimensional difference of its indicator) equals
that of the whole space; where it differs first (lexicographically), the count is wrong,
which gives a witness MAC. Nothing is allocated per element of a dimension: the cost is the
number of leaf tiles, and a dimension whose first split has many slices is first cut down
to a few (middle slices removed, which only removes whole periods of a periodic pattern).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.directives.nest import StepModel, child_extent, slice_count
from mapsearch.layers import Layer

IntArray = npt.NDArray[np.int64]

#: A group's first split with more slices than ``_KEEP + ...`` is cut down before enumerating.
_KEEP = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupMap:
    """One directive of a group: where it sits, its input-space dimension, size and offset."""

    position: int
    level: int
    dim: str
    spatial: bool
    size: int
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """A set of dimensions whose MACs are counted together, with their directives."""

    dims: tuple[str, ...]
    maps: tuple[GroupMap, ...]

    def at(self, level: int) -> tuple[GroupMap, ...]:
        return tuple(m for m in self.maps if m.level == level)


@dataclass(frozen=True, slots=True, kw_only=True)
class Miss:
    """A group that does not compute its MACs exactly once.

    ``witness`` holds the first wrong MAC (a coordinate per MAC axis: output rows/columns
    for a window pair, ``Y'`` then ``R``), ``times`` how often it is computed, ``level`` the
    first level whose tiles, taken as leaves, already miss or repeat a MAC.
    """

    group: Group
    witness: dict[str, int]
    times: int
    level: int


def groups(model: StepModel) -> list[Group]:
    """The dimension groups of ``model`` that some directive maps (joined across levels whose
    SpatialMaps lie in different base groups)."""
    layer = model.layer
    parent = {d: d for d in layer.dim_names}

    def root(d: str) -> str:
        while parent[d] != d:
            d = parent[d]
        return d

    for inp, filt in layer.windows:
        parent[filt] = inp
    for level in model.levels:
        spatial = level.spatial_maps
        if len(spatial) == 2:
            a, b = root(spatial[0].dim), root(spatial[1].dim)
            if a != b:
                parent[b] = a
    members: dict[str, list[str]] = {}
    for d in layer.dim_names:
        members.setdefault(root(d), []).append(d)
    out = []
    for dims in members.values():
        maps = tuple(
            GroupMap(
                position=m.position,
                level=level.index,
                dim=m.dim,
                spatial=m.spatial,
                size=int(m.size),
                offset=int(m.offset),
            )
            for level in model.levels
            for m in level
            if m.dim in dims
        )
        if maps:
            out.append(Group(dims=tuple(dims), maps=maps))
    return out


def check(layer: Layer, group: Group) -> Miss | None:
    """None when ``group`` computes each of its MACs exactly once, else the first miss."""
    if _partitions(layer, group):
        return None
    sizes = {d: layer.size(d) for d in group.dims}
    shifts = _shrink(layer, group, sizes)
    levels = sorted({m.level for m in group.maps})
    lo, hi = _boxes(layer, group, sizes, levels[-1])
    wrong = _first_wrong(lo, hi, _full(layer, group, sizes))
    if wrong is None:
        return None
    witness, times = wrong
    first = levels[-1]
    for lv in levels[:-1]:
        if _first_wrong(*_boxes(layer, group, sizes, lv), _full(layer, group, sizes)) is not None:
            first = lv
            break
    axes = _axes(layer, group)
    coords = {}
    for axis, value in zip(axes, witness.tolist(), strict=True):
        cut, by = shifts.get(axis, (None, 0))
        coords[axis] = value + by if cut is not None and value >= cut else value
    return Miss(group=group, witness=coords, times=times, level=first)


def _partitions(layer: Layer, group: Group) -> bool:
    """The common exact case, recognised without enumerating: one dimension (or one window
    pair whose filter is never split) where every directive either has one slice or tiles
    its parent edge to edge (offset == size; on a window input, ``k`` whole outputs: size
    ``(k - 1) * stride + R``, offset ``k * stride``), and no level advances two SpatialMaps
    together. Each level then partitions every parent tile (in output rows for a window), so
    the leaves partition the dimension."""
    inputs = [d for d in group.dims if layer.input_of(d) is None]
    if len(inputs) != 1 or any(sum(m.spatial for m in group.at(m.level)) > 1 for m in group.maps):
        return False
    dim = inputs[0]
    filt = layer.filter_of(dim)
    stride = layer.stride_along(dim)
    extent = {d: layer.size(d) for d in group.dims}
    for m in group.maps:
        n = slice_count(m.size, m.offset, extent[m.dim])
        extent[m.dim] = child_extent(m.size, extent[m.dim])
        if n == 1:
            continue
        if m.dim != dim:
            return False  # the filter is split
        if filt is None:
            if m.offset != m.size:
                return False
        elif m.offset % stride or m.size != m.offset - stride + layer.size(filt):
            return False
    return True


def _axes(layer: Layer, group: Group) -> list[str]:
    """The MAC axes of a group: output rows/columns for window inputs, else the dimension."""
    out = []
    for d in group.dims:
        out.append(f"{d}'" if layer.filter_of(d) is not None else d)
    return out


def _full(layer: Layer, group: Group, sizes: dict[str, int]) -> IntArray:
    full = []
    for d in group.dims:
        f = layer.filter_of(d)
        full.append(sizes[d] if f is None else (sizes[d] - sizes[f]) // layer.stride_along(d) + 1)
    return np.asarray(full, dtype=np.int64)


def _shrink(layer: Layer, group: Group, sizes: dict[str, int]) -> dict[str, tuple[int | None, int]]:
    """Cut every non-filter dimension whose first split has many slices down to a few, in
    place in ``sizes``; return per MAC axis (the cut-down position, how far MACs past it
    moved) so a witness can be mapped back.

    The first directive with more than one slice on a dimension splits it into translated
    copies of one subtree (directives above it have one slice, so they hand it the whole
    dimension); the MAC pattern of the copies repeats every ``q`` slices (``q = 1``, or
    ``stride / gcd(offset, stride)`` on a window input, whose output rows shift by
    ``offset / stride``). Removing a multiple of ``q`` middle slices removes whole periods of
    that pattern and changes nothing near either end, so exactness is unchanged.
    """
    out: dict[str, tuple[int | None, int]] = {}
    diagonal = {
        lv for lv in {m.level for m in group.maps} if sum(m.spatial for m in group.at(lv)) == 2
    }
    for d in group.dims:
        if layer.input_of(d) is not None:
            continue  # a filter dimension: its size also sets the output size
        extent = sizes[d]
        first: tuple[GroupMap, int] | None = None
        for m in group.maps:
            if m.dim != d:
                continue
            n = slice_count(m.size, m.offset, extent)
            if n > 1:
                first = (m, n)
                break
            extent = child_extent(m.size, extent)
        if first is None or first[0].level in diagonal:
            continue
        m, n = first
        stride = layer.stride_along(d)
        q = stride // math.gcd(m.offset, stride)
        keep = 2 * (-(-m.size // m.offset) + q) + _KEEP
        k = (n - keep) // q * q
        if k <= 0:
            continue
        sizes[d] -= k * m.offset
        mid = (n - k) // 2 * m.offset  # in the cut-down dimension, past the head
        if layer.filter_of(d) is None:
            out[d] = (mid, k * m.offset)
        else:
            out[f"{d}'"] = (mid // stride, k * m.offset // stride)
    return out


def _boxes(
    layer: Layer, group: Group, sizes: dict[str, int], upto: int
) -> tuple[IntArray, IntArray]:
    """The MAC boxes ``[lo, hi)`` (one row per leaf tile, one column per MAC axis) of the
    group's tiles down to level ``upto``, empty boxes dropped."""
    dims = group.dims
    start = {d: np.zeros(1, dtype=np.int64) for d in dims}
    lo = {d: np.zeros(1, dtype=np.int64) for d in dims}
    hi = {d: np.full(1, sizes[d], dtype=np.int64) for d in dims}
    extent = dict(sizes)
    for lv in sorted({m.level for m in group.maps if m.level <= upto}):
        maps = group.at(lv)
        counts = {m.position: slice_count(m.size, m.offset, extent[m.dim]) for m in maps}
        # index variables: every TemporalMap alone, the level's SpatialMaps together
        variables: list[list[GroupMap]] = [[m] for m in maps if not m.spatial]
        spatial = [m for m in maps if m.spatial]
        if spatial:
            variables.append(spatial)
        ranges = [max(counts[m.position] for m in v) for v in variables]
        grid = np.indices(ranges, dtype=np.int64).reshape(len(ranges), -1)
        rows = np.repeat(np.arange(next(iter(lo.values())).size), grid.shape[1])
        j_of = np.tile(grid, (1, rows.size // max(grid.shape[1], 1))) if grid.size else grid
        keep = np.ones(rows.size, dtype=bool)
        new_start, new_lo, new_hi = {}, {}, {}
        for v, var in enumerate(variables):
            j = j_of[v]
            for m in var:
                s = start[m.dim][rows] + j * m.offset
                a = np.maximum(s, lo[m.dim][rows])
                b = np.minimum(s + m.size, hi[m.dim][rows])
                keep &= (j < counts[m.position]) & (a < b)
                new_start[m.dim], new_lo[m.dim], new_hi[m.dim] = s, a, b
        for d in dims:
            if d in new_start:
                start[d], lo[d], hi[d] = new_start[d][keep], new_lo[d][keep], new_hi[d][keep]
            else:
                start[d], lo[d], hi[d] = start[d][rows][keep], lo[d][rows][keep], hi[d][rows][keep]
        for m in maps:
            extent[m.dim] = child_extent(m.size, extent[m.dim])
    # MAC boxes: a window input's rows become output rows for its filter slice
    box_lo, box_hi = [], []
    ok = np.ones(lo[dims[0]].size, dtype=bool)
    for d in dims:
        f = layer.filter_of(d)
        if f is None:
            box_lo.append(lo[d])
            box_hi.append(hi[d])
            continue
        stride = layer.stride_along(d)
        n_out = (sizes[d] - sizes[f]) // stride + 1
        y_lo = np.maximum(-((lo[f] - lo[d]) // stride), 0)
        y_hi = np.minimum((hi[d] - hi[f]) // stride + 1, n_out)
        ok &= y_lo < y_hi
        box_lo.append(y_lo)
        box_hi.append(y_hi)
    return np.stack(box_lo, axis=1)[ok], np.stack(box_hi, axis=1)[ok]


def _first_wrong(lo: IntArray, hi: IntArray, full: IntArray) -> tuple[IntArray, int] | None:
    """None when the boxes ``[lo, hi)`` cover ``[0, full)`` exactly once, else the first
    (lexicographic) point whose count is wrong and that count."""
    d = full.size
    corners: list[IntArray] = []
    signs: list[IntArray] = []
    for mask in range(1 << d):
        pick = np.array([(mask >> a) & 1 for a in range(d)], dtype=bool)
        sign = -1 if bin(mask).count("1") % 2 else 1
        corners.append(np.where(pick, hi, lo))
        corners.append(np.where(pick, full, 0)[None, :])
        signs.append(np.full(lo.shape[0], sign, dtype=np.int64))
        signs.append(np.array([-sign], dtype=np.int64))
    points = np.concatenate(corners)
    weight = np.concatenate(signs)
    uniq, total = _sum_by_point(points, weight, full + 1)
    bad = np.flatnonzero(total != 0)
    if bad.size == 0:
        return None
    witness = uniq[bad[0]]
    times = int(((lo <= witness) & (witness < hi)).all(axis=1).sum())
    return witness, times


def _sum_by_point(points: IntArray, weight: IntArray, radix: IntArray) -> tuple[IntArray, IntArray]:
    """Distinct rows of ``points`` in lexicographic order and the summed ``weight`` of each."""
    if np.prod(radix.astype(np.float64)) < 2.0**62:
        packed = np.zeros(points.shape[0], dtype=np.int64)
        for col, r in zip(points.T, radix.tolist(), strict=True):
            packed = packed * r + col
        _, first, inv = np.unique(packed, return_index=True, return_inverse=True)
        uniq = points[first]
    else:
        uniq, inv = np.unique(points, axis=0, return_inverse=True)
    total = np.zeros(uniq.shape[0], dtype=np.int64)
    np.add.at(total, inv.ravel(), weight)
    return uniq, total
