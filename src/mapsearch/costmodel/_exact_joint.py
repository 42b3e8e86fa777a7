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

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel._exact_groups import (
    ROLES,
    GroupSpec,
    Held,
    Tuple,
    _directives,
    _group_of,
    _walk,
)
from mapsearch.directives.nest import StepModel

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Up to this many boxes, coverage is added box by box (cheaper than corner sums).
_FEW_BOXES = 32


class _Grid:
    """The cells cut by the edges of some boxes (``(m, d, 2)`` arrays of half-open
    intervals), each cell's number of elements (``weight``), and how many of some boxes
    cover each cell."""

    def __init__(self, boxes: IntArray) -> None:
        self.edges = [np.unique(boxes[:, k, :]) for k in range(boxes.shape[1])]
        self.weight: IntArray = functools.reduce(
            np.multiply.outer, [np.diff(e) for e in self.edges]
        )

    def cover(self, boxes: IntArray) -> IntArray:
        """Per cell, the number of ``boxes`` (cut along the grid's edges) covering it: box by
        box for a few, else +1 and -1 at the corners, summed along every axis."""
        d = len(self.edges)
        boxes = boxes[(boxes[:, :, 1] > boxes[:, :, 0]).all(axis=1)]
        ends = [
            [np.searchsorted(e, boxes[:, k, end]) for end in (0, 1)]
            for k, e in enumerate(self.edges)
        ]
        if boxes.shape[0] <= _FEW_BOXES:
            count = np.zeros(self.weight.shape, dtype=np.int64)
            for n in range(boxes.shape[0]):
                count[tuple(slice(lo[n], hi[n]) for lo, hi in ends)] += 1
            return count
        acc = np.zeros([e.size for e in self.edges], dtype=np.int64)
        for corner in itertools.product((0, 1), repeat=d):
            at = tuple(ends[k][bit] for k, bit in enumerate(corner))
            np.add.at(acc, at, -1 if sum(corner) % 2 else 1)
        for k in range(d):
            acc = np.cumsum(acc, axis=k)
        return acc[(slice(0, -1),) * d]

    def size(self, mask: BoolArray) -> int:
        return int(self.weight[mask].sum())


def _volumes(boxes: IntArray) -> IntArray:
    return np.prod(np.maximum(boxes[:, :, 1] - boxes[:, :, 0], 0), axis=1)


def _meet(a: IntArray, b: IntArray) -> IntArray:
    """Box by box intersections (possibly empty)."""
    return np.stack([np.maximum(a[:, :, 0], b[:, :, 0]), np.minimum(a[:, :, 1], b[:, :, 1])], -1)


def _moved(new: IntArray, old: IntArray, has: BoolArray) -> tuple[int, int, int, int]:
    """For boxes ``new`` of the coordinates and the boxes ``old`` they held (where ``has``):
    ``|U new|``, ``|U (new_c minus old_c)|`` (elements some holder did not hold), and
    ``|U old|``, ``|U (old_c minus new_c)|`` (elements some holder let go).

    Axes on which every box agrees are a common factor; the others are counted on the cells
    cut by the boxes' edges, ``U (a_c minus b_c)`` being where the boxes ``a_c`` cover more
    often than their intersections with ``b_c``.
    """
    held = old[has]
    both = np.concatenate([new, held])
    same = (both == both[:1]).all(axis=(0, 2))
    factor = int(np.prod(both[0, same, 1] - both[0, same, 0]))
    if same.all():
        some = factor if held.size else 0
        return factor, 0 if has.all() else factor, some, 0
    new, held = new[:, ~same], held[:, ~same]
    grid = _Grid(np.concatenate([new, held]))
    on, meet = grid.cover(new), grid.cover(_meet(new[has], held))
    before = grid.cover(held)
    return (
        factor * grid.size(on > 0),
        factor * grid.size(on > meet),
        factor * grid.size(before > 0),
        factor * grid.size(before > meet),
    )


class JointGroup:
    """Groups walked together: their tuples (all their loops, outer first), coordinates (the
    units of all their levels) and box tiles. Implements ``_exact_groups._Walked``.

    Per executable tuple, ``tiles`` numbers its active coordinates, and ``boxes`` holds per
    role an ``(active coordinates, dimensions, 2)`` array of their tiles (None: the group
    does not index the role), ``macs`` their MACs.

    ``full``: every group of the nest is in it, so its own order is the nest's, and its first
    visits (column ``FV``) are refined to the outputs entering unwritten, which makes the
    partial-sum reads exact even when outputs pass between units unwritten.
    """

    def __init__(self, model: StepModel, spec: GroupSpec) -> None:
        layer = model.layer
        group_of = _group_of(layer)
        dims = [d for d in layer.dim_names if group_of[d] in spec.members]
        self.name = spec.name
        self.full = set(group_of.values()) <= set(spec.members) and set(spec.levels) == set(
            range(len(model.units))
        )
        # per role: the group's dimensions indexing it (an input window dimension indexes
        # the output through its output rows)
        self.axes = [[k for k, d in enumerate(dims) if d in layer.tensors[r]] for r in ROLES]
        self.tiles: dict[Tuple, dict[Tuple, int]] = {}
        self.boxes: dict[Tuple, list[IntArray | None]] = {}
        self.macs: dict[Tuple, IntArray] = {}
        self.order: list[Tuple] = []
        self.partial = False
        self.measured: dict[tuple[object, ...], tuple[int, int, int, int]] = {}
        walk = _directives(model, dims, spec.levels)
        windows = [
            (dims.index(i), dims.index(w), layer.stride_along(i), layer.out_size(i))
            for i, w in layer.windows
            if i in dims
        ]
        in_window = {k for ki, kw, _, _ in windows for k in (ki, kw)}
        full = [layer.size(d) for d in dims]
        trips = [lp.trips for lp in model.loops]
        units = [model.units[lv] for lv in spec.levels]
        for tup in itertools.product(*(range(t) for t in trips)):
            active: dict[Tuple, int] = {}
            rows: list[list[int]] = []  # per active coordinate: lo, hi, output lo, hi, macs
            for c in itertools.product(*(range(u) for u in units)):
                start, lo, hi = [0] * len(dims), [0] * len(dims), full[:]
                if not _walk(walk, tup, c, start, lo, hi):
                    continue
                olo, ohi = lo[:], hi[:]
                macs = 1
                for ki, kw, stride, n_out in windows:
                    # output rows y' with y' * stride + r inside the Y slice for every r
                    olo[ki] = max(0, -(-(lo[ki] - lo[kw]) // stride))
                    ohi[ki] = min(n_out, (hi[ki] - hi[kw]) // stride + 1)
                    macs *= max(0, ohi[ki] - olo[ki]) * (hi[kw] - lo[kw])
                for k in range(len(dims)):
                    if k not in in_window:
                        macs *= hi[k] - lo[k]
                if macs <= 0:
                    continue
                self.partial |= any(hi[kw] - lo[kw] < full[kw] for _, kw, _, _ in windows)
                active[c] = len(rows)
                rows.append([*lo, *hi, *olo, *ohi, macs])
            if not active:
                continue
            a = np.array(rows, dtype=np.int64)
            n = len(dims)
            spans = [
                np.stack([a[:, :n], a[:, n : 2 * n]], -1),
                np.stack([a[:, 2 * n : 3 * n], a[:, 3 * n : 4 * n]], -1),
            ]
            self.tiles[tup] = active
            self.boxes[tup] = [
                spans[r == 2][:, ax] if ax else None
                for r, ax in zip(range(3), self.axes, strict=True)
            ]
            self.macs[tup] = a[:, -1]
            self.order.append(tup)

    def _held(self, tup: Tuple, held: Held | None) -> tuple[list[IntArray | None], BoolArray]:
        """Per role the boxes the active coordinates of ``tup`` held (zeros where they held
        nothing), and where they held something."""
        tiles = self.tiles[tup]
        if held is None:
            return list(self.boxes[tup]), np.ones(len(tiles), dtype=bool)
        where: dict[Tuple, tuple[list[int], list[int]]] = {}
        for n, c in enumerate(tiles):
            h = held.get(c)
            if h is not None:
                at, idx = where.setdefault(h, ([], []))
                at.append(n)
                idx.append(self.tiles[h][c])
        has = np.zeros(len(tiles), dtype=bool)
        out: list[IntArray | None] = []
        for r, new in enumerate(self.boxes[tup]):
            if new is None:
                out.append(None)
                continue
            old = np.zeros_like(new)
            for h, (at, idx) in where.items():
                old[at] = self.boxes[h][r][idx]  # type: ignore[index]
                has[at] = True
            out.append(old)
        return out, has

    def row(self, tup: Tuple, held: Held | None, first: Tuple, fv: dict[Tuple, int]) -> list[int]:
        """The factor row of ``tup`` (columns and conventions of ``_exact_kernel._row``)."""
        macs = self.macs[tup]
        n = int(macs.size)
        olds, has = self._held(tup, held)
        nh = int(has.sum())
        row = [n, int(macs.sum()), int(macs.max())]
        for r in range(2):
            new, old = self.boxes[tup][r], olds[r]
            if new is None or old is None:
                row += (1, int(nh == n), n, nh)
                continue
            union, lost, _, _ = self._moved(new, old, has)
            overlap = int(_volumes(_meet(new[has], old[has])).sum())
            row += (union, union - lost, int(_volumes(new).sum()), overlap)
        new, old = self.boxes[tup][2], olds[2]
        if new is None or old is None:
            some = int(nh > 0)
            return [*row, 1, int(nh == n), some, some, int(tup == first)]
        union, lost, left_union, left = self._moved(new, old, has)
        return [*row, union, union - lost, left_union, left_union - left, fv[tup]]

    def _moved(self, new: IntArray, old: IntArray, has: BoolArray) -> tuple[int, int, int, int]:
        """:func:`_moved`, memoised on the boxes moved to the origin (every count is the same
        for boxes shifted together along an axis, and a regular nest repeats its steps)."""
        held = old[has]
        origin = np.concatenate([new, held])[:, :, 0].min(axis=0)[None, :, None]
        key = (new.shape, (new - origin).tobytes(), (held - origin).tobytes(), has.tobytes())
        out = self.measured.get(key)
        if out is None:
            out = self.measured[key] = _moved(new, old, has)
        return out

    def _all(self, r: int) -> IntArray:
        return np.concatenate([self.boxes[tup][r] for tup in self.order])

    def first_visits(self) -> dict[Tuple, int]:
        """Output elements first covered at each tuple; for a ``full`` group, the outputs
        entering some unit at each tuple that have never been written yet (by then a unit
        that held them has let them go, at an earlier tuple or this one)."""
        if self.boxes[self.order[0]][2] is None:
            return {}
        grid = _Grid(self._all(2))
        fv: dict[Tuple, int] = {}
        seen = np.zeros(grid.weight.shape, dtype=bool)
        # every coordinate's output tile now (``full``), and whether it has one
        coords = dict.fromkeys(c for tup in self.order for c in self.tiles[tup])
        ids = {c: n for n, c in enumerate(coords)}
        holding = np.zeros((len(ids), len(self.axes[2]), 2), dtype=np.int64)
        worked = np.zeros(len(ids), dtype=bool)
        for tup in self.order:
            new = self.boxes[tup][2]
            assert new is not None
            if not self.full:
                cover = grid.cover(new) > 0
                fv[tup] = grid.size(cover & ~seen)
                seen |= cover
                continue
            at = np.array([ids[c] for c in self.tiles[tup]])
            has = worked[at]
            old = holding[at][has]
            meet = grid.cover(_meet(new[has], old))
            seen |= grid.cover(old) > meet  # ``seen``: written so far
            fv[tup] = grid.size((grid.cover(new) > meet) & ~seen)
            holding[at] = new
            worked[at] = True
        return fv

    def totals(self, final: list[tuple[Tuple, Tuple]]) -> tuple[tuple[int, ...], ...]:
        """Per role the union of all tiles and the largest tile; the union of the output
        tiles of ``final``."""
        fill, tile_max = [], []
        for r in range(3):
            if self.boxes[self.order[0]][r] is None:
                fill.append(1)
                tile_max.append(1)
                continue
            boxes = self._all(r)
            grid = _Grid(boxes)
            fill.append(grid.size(grid.cover(boxes) > 0))
            tile_max.append(int(_volumes(boxes).max()))
        drain = 1
        if self.boxes[self.order[0]][2] is not None:
            ends = np.stack([self.boxes[tup][2][self.tiles[tup][c]] for tup, c in final])  # type: ignore[index]
            grid = _Grid(ends)
            drain = grid.size(grid.cover(ends) > 0)
        return tuple(fill), tuple(tile_max), (drain,)

    def staggered(self) -> bool:
        """Whether an output can pass between units unwritten (``_exact_groups._staggered``,
        on boxes); a ``full`` group keeps what was written, so it never needs more."""
        if self.full or not self.partial or self.boxes[self.order[0]][2] is None:
            return False
        grid = _Grid(self._all(2))
        count = grid.cover(self._all(2))
        tuples = np.zeros_like(count)
        by_coord: dict[Tuple, list[IntArray]] = {}
        for tup in self.order:
            boxes = self.boxes[tup][2]
            assert boxes is not None
            tuples += grid.cover(boxes) > 0
            for c, n in self.tiles[tup].items():
                by_coord.setdefault(c, []).append(boxes[n : n + 1])
        coords = np.zeros_like(count)
        for b in by_coord.values():
            coords += grid.cover(np.concatenate(b)) > 0
        return bool((count != tuples * coords).any())
