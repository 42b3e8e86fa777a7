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

The walk is array code: every (tuple, coordinate) slice at once (numpy), the tiles of all
tuples end to end, the rows of each step class built at once, and the unions painted cell
by cell by compiled kernels (numba) on one grid per role, so the work is the tiles' cells,
not a pass over the whole grid per step.
"""

from __future__ import annotations

import functools

import numba as nb
import numpy as np
import numpy.typing as npt

from mapsearch.costmodel._exact_groups import (
    ROLES,
    GroupSpec,
    Tuple,
    _directives,
    _group_of,
)
from mapsearch.directives.nest import StepModel

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: (tuple, coordinate) pairs walked at once (bounds the walk's temporary arrays).
_WALK_CHUNK = 1 << 18

_jit = nb.njit(cache=True, error_model="numpy", nogil=True)


# --- cells of boxes, compiled -------------------------------------------------------------
# A grid's cells are numbered in C order (``strides``); a box of cells is an ``(d, 2)``
# array of half-open cell-index intervals. Every kernel paints boxes cell by cell, so its
# work is the boxes' cells, never the whole grid per box.


@_jit
def _cells(box: IntArray, strides: IntArray, buf: IntArray) -> int:
    """Write the flat indices of the cells of ``box`` into ``buf``; return how many."""
    d = box.shape[0]
    n = 1
    flat = 0
    for k in range(d):
        if box[k, 1] <= box[k, 0]:
            return 0
        n *= box[k, 1] - box[k, 0]
        flat += box[k, 0] * strides[k]
    idx = box[:, 0].copy()
    for m in range(n):
        buf[m] = flat
        k = d - 1
        while k >= 0:
            idx[k] += 1
            flat += strides[k]
            if idx[k] < box[k, 1]:
                break
            flat -= (box[k, 1] - box[k, 0]) * strides[k]
            idx[k] = box[k, 0]
            k -= 1
    return n


@_jit
def _most_cells(boxes: IntArray) -> int:
    most = 1
    for b in range(boxes.shape[0]):
        n = 1
        for k in range(boxes.shape[1]):
            n *= max(boxes[b, k, 1] - boxes[b, k, 0], 0)
        most = max(most, n)
    return most


@_jit
def _distinct(boxes: IntArray, ids: IntArray, strides: IntArray, n_cells: int) -> IntArray:
    """Per cell, how many distinct ``ids`` have a box covering it (a given id's boxes
    contiguous)."""
    count = np.zeros(n_cells, dtype=np.int64)
    last = np.full(n_cells, -1, dtype=np.int64)
    buf = np.empty(_most_cells(boxes), dtype=np.int64)
    for b in range(boxes.shape[0]):
        for i in range(_cells(boxes[b], strides, buf)):
            cell = buf[i]
            if last[cell] != ids[b]:
                last[cell] = ids[b]
                count[cell] += 1
    return count


@_jit
def _moved_rows(
    cells: IntArray,
    new: IntArray,
    old: IntArray,
    bounds: IntArray,
    strides: IntArray,
    weight: IntArray,
) -> IntArray:
    """:func:`_moved_cells` for many rows at once, on one grid: row ``r`` moves tiles
    ``new[bounds[r]:bounds[r + 1]]`` from the tiles ``old`` (-1: held nothing) of the same
    positions, all of them boxes of ``cells``."""
    n_rows = bounds.size - 1
    out = np.zeros((n_rows, 4), dtype=np.int64)
    stamp = np.full(weight.size, -1, dtype=np.int64)
    seen = np.full((4, weight.size), -1, dtype=np.int64)
    size = _most_cells(cells)
    a, b = np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64)
    for r in range(n_rows):
        for n in range(bounds[r], bounds[r + 1]):
            na = _cells(cells[new[n]], strides, a)
            nb_ = _cells(cells[old[n]], strides, b) if old[n] >= 0 else 0
            for i in range(nb_):
                stamp[b[i]] = 2 * n
            for i in range(na):
                cell = a[i]
                for bit in range(1 + (stamp[cell] != 2 * n)):
                    if seen[bit, cell] != r:
                        seen[bit, cell] = r
                        out[r, bit] += weight[cell]
            for i in range(na):
                stamp[a[i]] = 2 * n + 1
            for i in range(nb_):
                cell = b[i]
                for bit in range(2, 3 + (stamp[cell] != 2 * n + 1)):
                    if seen[bit, cell] != r:
                        seen[bit, cell] = r
                        out[r, bit] += weight[cell]
    return out


@_jit
def _first_covered(
    boxes: IntArray, step: IntArray, strides: IntArray, weight: IntArray, n_steps: int
) -> IntArray:
    """Per step, the weight of the cells a box of that step covers first (boxes in step
    order)."""
    fv = np.zeros(n_steps, dtype=np.int64)
    seen = np.zeros(weight.size, dtype=np.bool_)
    buf = np.empty(_most_cells(boxes), dtype=np.int64)
    for b in range(boxes.shape[0]):
        for i in range(_cells(boxes[b], strides, buf)):
            cell = buf[i]
            if not seen[cell]:
                seen[cell] = True
                fv[step[b]] += weight[cell]
    return fv


@_jit
def _first_unwritten(
    boxes: IntArray,
    bounds: IntArray,
    coord: IntArray,
    n_coords: int,
    strides: IntArray,
    weight: IntArray,
) -> IntArray:
    """Per step (its boxes ``bounds[t]:bounds[t + 1]``, held by coordinates ``coord``), the
    weight of the cells entering some coordinate that were never written: a cell is written
    once a coordinate that held it lets it go (at this step or before)."""
    n_cells = weight.size
    d = boxes.shape[1]
    n_steps = bounds.size - 1
    fv = np.zeros(n_steps, dtype=np.int64)
    written = np.zeros(n_cells, dtype=np.bool_)
    counted = np.full(n_cells, -1, dtype=np.int64)
    in_new = np.full(n_cells, -1, dtype=np.int64)
    in_old = np.full(n_cells, -1, dtype=np.int64)
    holding = np.zeros((n_coords, d, 2), dtype=np.int64)
    worked = np.zeros(n_coords, dtype=np.bool_)
    size = _most_cells(boxes)
    a, b = np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64)
    for t in range(n_steps):
        for n in range(bounds[t], bounds[t + 1]):
            c = coord[n]
            if not worked[c]:
                continue
            for i in range(_cells(boxes[n], strides, a)):
                in_new[a[i]] = n
            for i in range(_cells(holding[c], strides, b)):
                if in_new[b[i]] != n:
                    written[b[i]] = True
        for n in range(bounds[t], bounds[t + 1]):
            c = coord[n]
            if worked[c]:
                for i in range(_cells(holding[c], strides, b)):
                    in_old[b[i]] = n
            for i in range(_cells(boxes[n], strides, a)):
                cell = a[i]
                if in_old[cell] != n and not written[cell] and counted[cell] != t:
                    counted[cell] = t
                    fv[t] += weight[cell]
        for n in range(bounds[t], bounds[t + 1]):
            holding[coord[n]] = boxes[n]
            worked[coord[n]] = True
    return fv


class _Grid:
    """The cells cut by the edges of some boxes (``(m, d, 2)`` arrays of half-open
    intervals, non-negative), numbered in C order, and each cell's number of elements
    (``weight``)."""

    def __init__(self, boxes: IntArray) -> None:
        self.edges = [
            np.flatnonzero(np.bincount(boxes[:, k, :].ravel())) for k in range(boxes.shape[1])
        ]
        self.weight: IntArray = functools.reduce(
            np.multiply.outer, [np.diff(e) for e in self.edges]
        ).ravel()
        shape = [e.size - 1 for e in self.edges]
        self.strides = np.array(
            [int(np.prod(shape[k + 1 :])) for k in range(len(shape))], dtype=np.int64
        )

    def cells(self, boxes: IntArray) -> IntArray:
        """``boxes`` (with edges among the grid's) as boxes of cells."""
        return np.stack(
            [np.searchsorted(e, boxes[:, k, :]) for k, e in enumerate(self.edges)], axis=1
        )

    def union(self, cells: IntArray) -> int:
        """The number of elements in some of the boxes of ``cells``."""
        ids = np.zeros(len(cells), dtype=np.int64)
        return int(self.weight[_distinct(cells, ids, self.strides, self.weight.size) > 0].sum())


def _volumes(boxes: IntArray) -> IntArray:
    return np.prod(np.maximum(boxes[:, :, 1] - boxes[:, :, 0], 0), axis=1)


def _meet(a: IntArray, b: IntArray) -> IntArray:
    """Box by box intersections (possibly empty)."""
    return np.stack([np.maximum(a[:, :, 0], b[:, :, 0]), np.minimum(a[:, :, 1], b[:, :, 1])], -1)


def _walk_all(
    walk: list[tuple[int, int, int, int, int, int, int]],
    tuples: IntArray,
    coords: IntArray,
    full: list[int],
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """``_exact_groups._directives``' slice rule at every (tuple, coordinate) at once: the pairs whose slice
    is not empty (tuple-major, as indices into ``tuples`` and ``coords``) and their slices'
    ``lo``/``hi`` per dimension."""
    n = len(full)
    start = [np.zeros((1, 1), dtype=np.int64) for _ in range(n)]
    lo = [np.zeros((1, 1), dtype=np.int64) for _ in range(n)]
    hi = [np.full((1, 1), f, dtype=np.int64) for f in full]
    ok = np.ones((1, 1), dtype=bool)
    for k, tp, units, cp, offset, size, slices in walk:
        j = tuples[:, tp, None] * units + coords[None, :, cp] if units else tuples[:, tp, None]
        st = start[k] + j * offset
        lo[k] = np.maximum(st, lo[k])
        hi[k] = np.minimum(st + size, hi[k])
        ok = ok & (j < slices) & (lo[k] < hi[k])
        start[k] = st
    shape = (len(tuples), len(coords))
    ti, ci = np.nonzero(np.broadcast_to(ok, shape))
    pick = [np.broadcast_to(a, shape)[ti, ci] for a in (*lo, *hi)]
    return ti, ci, np.stack(pick[:n], -1), np.stack(pick[n:], -1)


def _product(sizes: list[int]) -> IntArray:
    """Every index tuple of ``sizes``, lexicographic (``itertools.product``'s order)."""
    if not sizes:
        return np.zeros((1, 0), dtype=np.int64)
    return np.indices(sizes, dtype=np.int64).reshape(len(sizes), -1).T


class JointGroup:
    """Groups walked together: their tuples (all their loops, outer first), coordinates (the
    units of all their levels) and box tiles.

    ``order`` lists the executable tuples. Their tiles are kept end to end, tuple-major
    (``_bounds``: where each tuple's start; ``_coord``: each tile's coordinate, ascending
    within a tuple): per role an ``(tiles, dimensions, 2)`` array of boxes (``_flat``; None:
    the group does not index the role), and the MACs (``_macs``).

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
        walk = _directives(model, dims, spec.levels)
        windows = [
            (dims.index(i), dims.index(w), layer.stride_along(i), layer.out_size(i))
            for i, w in layer.windows
            if i in dims
        ]
        in_window = {k for ki, kw, _, _ in windows for k in (ki, kw)}
        full = [layer.size(d) for d in dims]
        tuples = _product([lp.trips for lp in model.loops])
        coords = _product([model.units[lv] for lv in spec.levels])
        chunk = max(1, _WALK_CHUNK // len(coords))
        parts: list[tuple[IntArray, ...]] = []
        for first in range(0, len(tuples), chunk):
            ti, ci, lo, hi = _walk_all(walk, tuples[first : first + chunk], coords, full)
            olo, ohi = lo.copy(), hi.copy()
            macs = np.ones(len(ti), dtype=np.int64)
            for ki, kw, stride, n_out in windows:
                # output rows y' with y' * stride + r inside the Y slice for every r
                olo[:, ki] = np.maximum(0, -(-(lo[:, ki] - lo[:, kw]) // stride))
                ohi[:, ki] = np.minimum(n_out, (hi[:, ki] - hi[:, kw]) // stride + 1)
                macs *= np.maximum(0, ohi[:, ki] - olo[:, ki]) * (hi[:, kw] - lo[:, kw])
            for k in range(len(dims)):
                if k not in in_window:
                    macs *= hi[:, k] - lo[:, k]
            keep = macs > 0
            parts.append((ti[keep] + first, ci[keep], lo[keep], hi[keep], olo[keep], ohi[keep]))
            parts[-1] += (macs[keep],)
        ti, ci, lo, hi, olo, ohi, macs = (np.concatenate(p) for p in zip(*parts, strict=True))
        self.partial = bool(
            any((hi[:, kw] - lo[:, kw] < full[kw]).any() for _, kw, _, _ in windows)
        )
        spans = [np.stack([lo, hi], -1), np.stack([olo, ohi], -1)]
        self._flat: list[IntArray | None] = [
            spans[r == 2][:, ax] if ax else None for r, ax in zip(range(3), self.axes, strict=True)
        ]
        self._coord: IntArray = ci
        self._macs: IntArray = macs
        self._n_coords = len(coords)
        self._grids: dict[int, tuple[_Grid, IntArray]] = {}
        starts = np.flatnonzero(np.r_[True, ti[1:] != ti[:-1]]) if ti.size else ti
        self._bounds: IntArray = np.r_[starts, ti.size]
        self._tuples: IntArray = tuples[ti[starts]]
        self.order = list(map(tuple, self._tuples.tolist()))
        self._position = {tup: n for n, tup in enumerate(self.order)}
        self._names: list[Tuple] = list(map(tuple, coords.tolist()))

    def part_rows(
        self, parts: list[tuple[str, int]], fv: dict[Tuple, int]
    ) -> tuple[list[list[list[int]]], list[tuple[int, int]], list[tuple[Tuple, Tuple]]]:
        """Per part (``_exact_groups._core``'s), the factor rows of ``_exact_groups._Core``'s parts
        (``row`` of each (tuple, held) pair), built for all rows of a part at once; the
        (loop, parting position) pairs of the loops where a unit resumes late; and every
        coordinate's last (tuple, coordinate)."""
        tuples, n_tiles = self._tuples, len(self._coord)
        steps = self._steps()
        # per tile, the previous tile of its coordinate (-1: none), and per coordinate its last
        by = np.argsort(self._coord, kind="stable")
        same = self._coord[by][1:] == self._coord[by][:-1]
        prev = np.full(n_tiles, -1, dtype=np.int64)
        prev[by[1:][same]] = by[:-1][same]
        ends = by[np.r_[~same, True]]
        # per tuple, the first loop on which it differs from the one before (-1: the first)
        parting = np.r_[-1, np.argmax(tuples[1:] != tuples[:-1], axis=1)].astype(np.int64)
        fvs = np.array([fv.get(tup, 0) for tup in self.order], dtype=np.int64)
        mats: list[list[list[int]]] = []
        parted: list[tuple[int, int]] = []
        for kind, at in parts:
            held: IntArray | None
            if kind == "first":
                ts = np.zeros(1, dtype=np.int64)
                held = np.full(self._bounds[1], -1, dtype=np.int64)
            elif kind == "self":
                ts, held = np.arange(len(self.order), dtype=np.int64), None
            elif kind == "loop":
                ts = np.flatnonzero(parting == at)
                held = prev[self._tiles_of(ts)]
                part = self._parted(held, steps, ts, at)
                if part is not None:
                    parted.append((at, part))
            else:
                ts = np.flatnonzero(parting < at)
                held = self._last_in_prefix(ts, steps)
            mats.append(self._rows(ts, held, fvs).tolist())
        final = [(self.order[steps[n]], self._names[self._coord[n]]) for n in ends.tolist()]
        return mats, parted, final

    def _tiles_of(self, ts: IntArray) -> IntArray:
        """The tiles of the tuples at positions ``ts``, end to end."""
        lens = self._bounds[ts + 1] - self._bounds[ts]
        return np.repeat(self._bounds[ts] - (np.cumsum(lens) - lens), lens) + np.arange(
            int(lens.sum())
        )

    def _parted(self, held: IntArray, steps: IntArray, ts: IntArray, at: int) -> int | None:
        """``_exact_groups._Core``'s parting position of the rows ``ts`` of loop ``at``: the
        outermost loop on which a held tuple parts from its row's before ``at`` (-1: a unit
        that never worked), None if every unit held the tile of the previous index."""
        lens = self._bounds[ts + 1] - self._bounds[ts]
        row = np.repeat(ts, lens)
        h = steps[np.maximum(held, 0)]
        first = np.argmax(self._tuples[h] != self._tuples[row], axis=1)
        late = (held < 0) | (first < at)
        if not late.any():
            return None
        return int(np.where(held < 0, -1, first)[late].min())

    def _last_in_prefix(self, ts: IntArray, steps: IntArray) -> IntArray:
        """For the first tuples ``ts`` of the prefixes of the loops outside some loop, the
        last tile of each of their coordinates among the tuples of the same prefix."""
        prefix = np.cumsum(np.isin(np.arange(len(self.order)), ts)) - 1
        key = prefix[steps] * self._n_coords + self._coord
        by = np.argsort(key, kind="stable")
        keys = key[by]
        last = np.r_[keys[1:] != keys[:-1], True]
        tiles = self._tiles_of(ts)
        return by[last][np.searchsorted(keys[last], key[tiles])]

    def _rows(self, ts: IntArray, held: IntArray | None, fvs: IntArray) -> IntArray:
        """The factor rows of the tuples at positions ``ts`` whose tiles held the tiles
        ``held`` (-1: nothing; None: their own), as ``row`` gives them."""
        lens = self._bounds[ts + 1] - self._bounds[ts]
        bounds = np.r_[0, np.cumsum(lens)]
        starts = bounds[:-1]
        new = self._tiles_of(ts)
        old = new if held is None else held
        has = old >= 0
        n = lens
        nh = np.add.reduceat(has.astype(np.int64), starts)
        macs = self._macs[new]
        cols = [n, np.add.reduceat(macs, starts), np.maximum.reduceat(macs, starts)]
        for r in range(3):
            flat = self._flat[r]
            if flat is None:
                if r < 2:
                    cols += [np.ones_like(n), nh == n, n, nh]
                else:
                    some = nh > 0
                    cols += [np.ones_like(n), nh == n, some, some, ts == 0]
                continue
            grid, cells = self._grid(r)
            moved = _moved_rows(cells, new, old, bounds, grid.strides, grid.weight)
            union, fresh = moved[:, 0], moved[:, 1]
            if r < 2:
                meet = _volumes(_meet(flat[new], flat[np.maximum(old, 0)]))
                overlap = np.add.reduceat(np.where(has, meet, 0), starts)
                cols += [union, union - fresh, np.add.reduceat(_volumes(flat[new]), starts)]
                cols.append(overlap)
            else:
                cols += [union, union - fresh, moved[:, 2], moved[:, 2] - moved[:, 3], fvs[ts]]
        return np.stack([np.asarray(c, dtype=np.int64) for c in cols], axis=1)

    def _grid(self, r: int) -> tuple[_Grid, IntArray]:
        """The grid of all tiles of role ``r`` and the tiles as its cells (kept)."""
        if r not in self._grids:
            flat = self._flat[r]
            assert flat is not None
            grid = _Grid(flat)
            self._grids[r] = grid, grid.cells(flat)
        return self._grids[r]

    def first_visits(self) -> dict[Tuple, int]:
        """Output elements first covered at each tuple; for a ``full`` group, the outputs
        entering some unit at each tuple that have never been written yet (by then a unit
        that held them has let them go, at an earlier tuple or this one)."""
        if self._flat[2] is None:
            return {}
        grid, cells = self._grid(2)
        if self.full:
            fv = _first_unwritten(
                cells, self._bounds, self._coord, self._n_coords, grid.strides, grid.weight
            )
        else:
            fv = _first_covered(cells, self._steps(), grid.strides, grid.weight, len(self.order))
        return dict(zip(self.order, fv.tolist(), strict=True))

    def _steps(self) -> IntArray:
        """Per tile (end to end), the position of its tuple in ``order``."""
        return np.repeat(np.arange(len(self.order), dtype=np.int64), np.diff(self._bounds))

    def totals(self, final: list[tuple[Tuple, Tuple]]) -> tuple[tuple[int, ...], ...]:
        """Per role the union of all tiles and the largest tile; the union of the output
        tiles of the (tuple, coordinate) pairs ``final``."""
        fill, tile_max = [], []
        for r, boxes in enumerate(self._flat):
            if boxes is None:
                fill.append(1)
                tile_max.append(1)
                continue
            grid, cells = self._grid(r)
            fill.append(grid.union(cells))
            tile_max.append(int(_volumes(boxes).max()))
        drain = 1
        if self._flat[2] is not None:
            grid, cells = self._grid(2)
            ids = {c: n for n, c in enumerate(self._names)}
            ends = []
            for tup, c in final:
                lo, hi = self._bounds[self._position[tup] : self._position[tup] + 2].tolist()
                ends.append(lo + int(np.searchsorted(self._coord[lo:hi], ids[c])))
            drain = grid.union(cells[ends])
        return tuple(fill), tuple(tile_max), (drain,)

    def staggered(self) -> bool:
        """Whether an output can pass between units unwritten (``_exact_groups._staggered``,
        on boxes; per cell, the tiles covering it must be every pair of a covering tuple and
        a covering coordinate); a ``full`` group keeps what was written, so it never needs
        more."""
        if self.full or not self.partial or self._flat[2] is None:
            return False
        grid, cells = self._grid(2)
        n = grid.weight.size
        count = _distinct(cells, np.arange(len(cells), dtype=np.int64), grid.strides, n)
        tuples = _distinct(cells, self._steps(), grid.strides, n)
        by_coord = np.argsort(self._coord, kind="stable")
        coords = _distinct(cells[by_coord], self._coord[by_coord], grid.strides, n)
        return bool((count != tuples * coords).any())
