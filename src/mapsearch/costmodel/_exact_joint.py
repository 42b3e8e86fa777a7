"""Several dimension groups walked as one: the exact factors of a *joint* group.

:mod:`mapsearch.costmodel._exact_groups` counts each dimension group alone
(``docs/semantics.md`` section 3). Three things tie groups together; the groups involved
are then walked here as one group, over the product of their loops and units, and the
result is combined with the other groups exactly as a single group's is:

* a level's second SpatialMap on another group: unit ``p`` takes slice ``p`` of both, so
  the two groups share one unit index;
* a unit that resumes after idling while another group's loop ran (a window advancing by
  less than the stride, tiles smaller than the filter window): its PE holds the tile of its
  last active step, which the groups whose loops ran in between decide;
* an output that passes from one unit to another without being written
  (:func:`mapsearch.costmodel._exact_groups._staggered`): whether it had been written
  depends on the whole nest, so then every group is walked together, in the nest's own
  order, keeping what has been written.

A tile is a box (one interval per dimension of the group that indexes the tensor). Unions
and differences of boxes are counted on the cells cut by the boxes' edges, never element
by element, so the cost does not depend on the dimensions' sizes.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel._exact_groups import (
    ROLES,
    GroupSpec,
    Held,
    Interval,
    Tuple,
    _directives,
    _groups_of_op,
    _kept,
    _union_size,
    _walk,
)
from mapsearch.costmodel.simulate import StepModel
from mapsearch.layers.layer import WINDOWS, Op

Box = tuple[Interval, ...]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class _BoxTile:
    """One active (tuple, coordinate) of a joint group: per-role box (None: not indexed)."""

    roles: tuple[Box | None, ...]
    macs: int


class _Cells:
    """The cells cut by the edges of some boxes: a boolean grid over them, and each cell's
    number of elements (``weight``)."""

    def __init__(self, boxes: list[Box]) -> None:
        edges = [sorted({e for b in boxes for e in b[k]}) for k in range(len(boxes[0]))]
        self.index = [{e: n for n, e in enumerate(axis)} for axis in edges]
        self.weight = functools.reduce(np.multiply.outer, [np.diff(e) for e in edges])

    def at(self, box: Box) -> tuple[slice, ...]:
        """The grid cells of ``box`` (one of the boxes the cells were cut by)."""
        return tuple(slice(ix[lo], ix[hi]) for ix, (lo, hi) in zip(self.index, box, strict=True))

    def empty(self) -> BoolArray:
        return np.zeros(self.weight.shape, dtype=bool)

    def size(self, mask: BoolArray) -> int:
        return int(self.weight[mask].sum())


def _volume(box: Box | None) -> int:
    out = 1
    for lo, hi in box or ():
        out *= hi - lo
    return out


def _overlap(a: Box, b: Box | None) -> int:
    if b is None:
        return 0
    out = 1
    for (alo, ahi), (blo, bhi) in zip(a, b, strict=True):
        out *= max(0, min(ahi, bhi) - max(alo, blo))
    return out


def _role(tiles: Iterable[_BoxTile], r: int) -> list[Box]:
    """The boxes of role ``r`` (one the group indexes) of ``tiles``."""
    return [cast(Box, t.roles[r]) for t in tiles]


def _union_and_lost(new: list[Box], held: Sequence[Box | None]) -> tuple[int, int]:
    """``|U new|`` and ``|U (new_c minus held_c)|``: the elements of the union that some
    coordinate holding them did not hold (the rest, every holder kept).

    Axes on which every box agrees are a common factor; one axis left is counted on
    intervals, more on cells.
    """
    if not new:
        return 0, 0
    boxes = new + [h for h in held if h is not None]
    factor, axes = 1, []
    for k, (lo, hi) in enumerate(new[0]):
        if all(b[k] == (lo, hi) for b in boxes):
            factor *= hi - lo
        else:
            axes.append(k)
    if not axes:
        return factor, factor if None in held else 0
    if len(axes) == 1:
        (k,) = axes
        ivs = [a[k] for a in new]
        size = _union_size(ivs)
        return factor * size, factor * (
            size - _kept(size, ivs, [None if h is None else h[k] for h in held])
        )
    cells = _Cells([tuple(b[k] for k in axes) for b in boxes])
    union, lost = cells.empty(), cells.empty()
    for a, h in zip(new, held, strict=True):
        mask = cells.empty()
        mask[cells.at(tuple(a[k] for k in axes))] = True
        union |= mask
        if h is not None:
            mask[cells.at(tuple(h[k] for k in axes))] = False
        lost |= mask
    return factor * cells.size(union), factor * cells.size(lost)


class JointGroup:
    """Groups walked together: their tuples (all their loops, outer first), coordinates (the
    units of all their levels) and box tiles. Implements ``_exact_groups._Walked``.

    ``full``: every group of the nest is in it, so its own order is the nest's, and its first
    visits (column ``FV``) are refined to the outputs entering unwritten, which makes the
    partial-sum reads exact even when outputs pass between units unwritten.
    """

    def __init__(self, model: StepModel, spec: GroupSpec) -> None:
        layer = model.layer
        group_of = _groups_of_op(layer.op)
        dims = [d for d in layer.dim_names if group_of[d] in spec.members]
        pairs = [] if layer.op is Op.GEMM else [(i, w) for i, w in WINDOWS if i in dims]
        self.name = spec.name
        self.full = set(group_of.values()) <= set(spec.members) and set(spec.levels) == set(
            range(len(model.units))
        )
        # per role: the group's dimensions indexing it (an input window dimension indexes
        # the output through its output rows)
        self.axes = [tuple(k for k, d in enumerate(dims) if d in layer.tensors[r]) for r in ROLES]
        self.tiles: dict[Tuple, dict[Tuple, _BoxTile]] = {}
        self.order: list[Tuple] = []
        self.partial = False
        walk = _directives(model, dims, spec.levels)
        windows = [
            (
                dims.index(i),
                dims.index(w),
                layer.stride_y if i == "Y" else layer.stride_x,
                layer.out_y if i == "Y" else layer.out_x,
            )
            for i, w in pairs
        ]
        in_window = {k for ki, kw, _, _ in windows for k in (ki, kw)}
        full = [layer.size(d) for d in dims]
        trips = [lp.trips for lp in model.loops]
        units = [model.units[lv] for lv in spec.levels]
        for tup in itertools.product(*(range(t) for t in trips)):
            active: dict[Tuple, _BoxTile] = {}
            for c in itertools.product(*(range(u) for u in units)):
                start, lo, hi = [0] * len(dims), [0] * len(dims), full[:]
                if not _walk(walk, tup, c, start, lo, hi):
                    continue
                out = {k: (lo[k], hi[k]) for k in range(len(dims))}
                macs = 1
                for ki, kw, stride, n_out in windows:
                    # output rows y' with y' * stride + r inside the Y slice for every r
                    olo = max(0, -(-(lo[ki] - lo[kw]) // stride))
                    ohi = min(n_out, (hi[ki] - hi[kw]) // stride + 1)
                    out[ki] = (olo, ohi)
                    macs *= max(0, ohi - olo) * (hi[kw] - lo[kw])
                for k in range(len(dims)):
                    if k not in in_window:
                        macs *= hi[k] - lo[k]
                if macs <= 0:
                    continue
                self.partial |= any(hi[kw] - lo[kw] < full[kw] for _, kw, _, _ in windows)
                boxes = (
                    tuple((lo[k], hi[k]) for k in self.axes[0]),
                    tuple((lo[k], hi[k]) for k in self.axes[1]),
                    tuple(out[k] for k in self.axes[2]),
                )
                active[c] = _BoxTile(tuple(b if b else None for b in boxes), macs)
            if active:
                self.tiles[tup] = active
                self.order.append(tup)

    def row(self, tup: Tuple, held: Held | None, first: Tuple, fv: dict[Tuple, int]) -> list[int]:
        """The factor row of ``tup`` (columns and conventions of ``_exact_groups._row``)."""
        tiles = self.tiles[tup]
        n = len(tiles)
        macs = [t.macs for t in tiles.values()]
        hold = [
            tiles[c] if held is None else None if (h := held[c]) is None else self.tiles[h][c]
            for c in tiles
        ]
        nh = n - hold.count(None)
        row = [n, sum(macs), max(macs)]
        for r in range(2):
            if not self.axes[r]:
                row += (1, int(nh == n), n, nh)
                continue
            new, old = _role(tiles.values(), r), [None if h is None else h.roles[r] for h in hold]
            union, lost = _union_and_lost(new, old)
            overlap = sum(_overlap(a, b) for a, b in zip(new, old, strict=True))
            row += (union, union - lost, sum(map(_volume, new)), overlap)
        if not self.axes[2]:
            some = int(nh > 0)
            return [*row, 1, int(nh == n), some, some, int(tup == first)]
        new, old = _role(tiles.values(), 2), [None if h is None else h.roles[2] for h in hold]
        union, lost = _union_and_lost(new, old)
        kept = [(o, a) for o, a in zip(old, new, strict=True) if o is not None]
        left_union, left = _union_and_lost([o for o, _ in kept], [a for _, a in kept])
        return [*row, union, union - lost, left_union, left_union - left, fv[tup]]

    def _output_cells(self) -> _Cells:
        return _Cells(_role([t for tup in self.order for t in self.tiles[tup].values()], 2))

    def first_visits(self) -> dict[Tuple, int]:
        """Output elements first covered at each tuple; for a ``full`` group, the outputs
        entering some unit at each tuple that have never been written yet (by then a unit
        that held them has let them go, at an earlier tuple or this one)."""
        if not self.axes[2]:
            return {}
        cells = self._output_cells()
        fv: dict[Tuple, int] = {}
        seen = cells.empty()
        holding: dict[Tuple, tuple[slice, ...]] = {}
        for tup in self.order:
            tiles = self.tiles[tup]
            if not self.full:
                cover = cells.empty()
                for t in tiles.values():
                    cover[cells.at(cast(Box, t.roles[2]))] = True
                fv[tup] = cells.size(cover & ~seen)
                seen |= cover
                continue
            entering, leaving = cells.empty(), cells.empty()
            for c, t in tiles.items():
                now, before = cells.at(cast(Box, t.roles[2])), holding.get(c)
                mask = cells.empty()
                mask[now] = True
                if before is not None:
                    mask[before] = False
                    gone = cells.empty()
                    gone[before] = True
                    gone[now] = False
                    leaving |= gone
                entering |= mask
                holding[c] = now
            seen |= leaving  # ``seen``: written so far
            fv[tup] = cells.size(entering & ~seen)
        return fv

    def totals(self, final: list[tuple[Tuple, Tuple]]) -> tuple[tuple[int, ...], ...]:
        """Per role the union of all tiles and the largest tile; the union of the output
        tiles of ``final``."""
        every = [t for tup in self.order for t in self.tiles[tup].values()]
        fill, tile_max = [], []
        for r in range(3):
            if not self.axes[r]:
                fill.append(1)
                tile_max.append(1)
                continue
            boxes = _role(every, r)
            cells = _Cells(boxes)
            mask = cells.empty()
            for box in boxes:
                mask[cells.at(box)] = True
            fill.append(cells.size(mask))
            tile_max.append(max(_volume(t.roles[r]) for t in every))
        drain = 1
        if self.axes[2]:
            ends = _role([self.tiles[tup][c] for tup, c in final], 2)
            drain, _ = _union_and_lost(ends, [None] * len(ends))
        return tuple(fill), tuple(tile_max), (drain,)

    def staggered(self) -> bool:
        """Whether an output can pass between units unwritten (``_exact_groups._staggered``,
        on boxes); a ``full`` group keeps what was written, so it never needs more."""
        if self.full or not self.partial or not self.axes[2]:
            return False
        cells = self._output_cells()
        count = np.zeros(cells.weight.shape, dtype=np.int64)
        tuples = count.copy()
        by_coord: dict[Tuple, BoolArray] = {}
        for tup in self.order:
            cover = cells.empty()
            for c, t in self.tiles[tup].items():
                at = cells.at(cast(Box, t.roles[2]))
                count[at] += 1
                cover[at] = True
                by_coord.setdefault(c, cells.empty())[at] = True
            tuples += cover
        coords = sum((m.astype(np.int64) for m in by_coord.values()), np.zeros_like(count))
        return bool((count != tuples * coords).any())
