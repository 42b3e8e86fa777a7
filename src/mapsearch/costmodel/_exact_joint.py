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

The walk is compiled (numba): every (tuple, coordinate) slice in one pass, the tiles of all
tuples end to end, the rows of each step class built at once, and the unions painted cell
by cell on one grid per role, each tile's cells listed once, so the work is the tiles'
cells, not a pass over the whole grid per step.
"""

from __future__ import annotations

import functools

import numba as nb
import numpy as np
import numpy.typing as npt

from mapsearch.costmodel._exact_groups import (
    ROLES,
    GroupSpec,
    _directives,
    _group_of,
)
from mapsearch.costmodel._exact_kernel import _narrow
from mapsearch.directives.nest import StepModel

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_jit = nb.njit(cache=True, error_model="numpy", nogil=True)


# --- cells of boxes, compiled -------------------------------------------------------------
# A grid's cells are numbered in C order (``strides``); a box of cells is an ``(d, 2)``
# array of half-open cell-index intervals. Boxes are listed once as their cells' flat
# indices, end to end (:func:`_tile_cells`: box ``b`` is ``flat[ptr[b]:ptr[b + 1]]``), and
# every kernel paints those lists, so its work is the boxes' cells, never the whole grid per
# box, and no box is decoded twice.

#: Boxes as cells: ``(ptr, flat)`` of :func:`_tile_cells`.
Cells = tuple[IntArray, IntArray]


@_jit
def _tile_cells(boxes: IntArray, lut: IntArray, strides: IntArray) -> tuple[IntArray, IntArray]:
    """The flat indices of every box's cells (C order), end to end, and where each box's
    start (``boxes.shape[0] + 1`` bounds; an empty box has none); ``lut[k, v]``: the cell
    that starts at edge ``v`` of dimension ``k``."""
    m, d = boxes.shape[0], boxes.shape[1]
    ptr = np.zeros(m + 1, dtype=np.int64)
    for b in range(m):
        n = 1
        for k in range(d):
            n *= max(lut[k, boxes[b, k, 1]] - lut[k, boxes[b, k, 0]], 0)
        ptr[b + 1] = ptr[b] + n
    flat = np.empty(ptr[m], dtype=np.int64)
    for b in range(m):
        base = 0
        for k in range(d):
            base += lut[k, boxes[b, k, 0]] * strides[k]
        if ptr[b + 1] - ptr[b] == 1:
            flat[ptr[b]] = base
            continue
        for i in range(ptr[b + 1] - ptr[b]):
            rem = i
            at = base
            for k in range(d - 1, -1, -1):
                extent = lut[k, boxes[b, k, 1]] - lut[k, boxes[b, k, 0]]
                at += (rem % extent) * strides[k]
                rem //= extent
            flat[ptr[b] + i] = at
    return ptr, flat


@_jit
def _distinct(
    ptr: IntArray, flat: IntArray, tiles: IntArray, ids: IntArray, n_cells: int
) -> IntArray:
    """Per cell, how many distinct ``ids`` have a box covering it (boxes ``tiles``, a
    given id's boxes contiguous)."""
    count = np.zeros(n_cells, dtype=np.int64)
    last = np.full(n_cells, -1, dtype=np.int64)
    for b in range(tiles.size):
        t = tiles[b]
        for i in range(ptr[t], ptr[t + 1]):
            cell = flat[i]
            if last[cell] != ids[b]:
                last[cell] = ids[b]
                count[cell] += 1
    return count


@_jit
def _moved_rows(
    ptr: IntArray,
    flat: IntArray,
    new: IntArray,
    old: IntArray,
    bounds: IntArray,
    weight: IntArray,
) -> IntArray:
    """Per row, the weight of four unions on one grid: row ``r`` moves boxes
    ``new[bounds[r]:bounds[r + 1]]`` from the boxes ``old`` (-1: held nothing) of the same
    positions; the unions are of the new boxes, of each new box minus its old one, of the
    old boxes, and of each old box minus its new one."""
    n_rows = bounds.size - 1
    out = np.zeros((n_rows, 4), dtype=np.int64)
    stamp = np.full(weight.size, -1, dtype=np.int64)
    seen = np.full((4, weight.size), -1, dtype=np.int64)
    for r in range(n_rows):
        for n in range(bounds[r], bounds[r + 1]):
            a, o = new[n], old[n]
            if o >= 0:
                for i in range(ptr[o], ptr[o + 1]):
                    stamp[flat[i]] = 2 * n
            for i in range(ptr[a], ptr[a + 1]):
                cell = flat[i]
                if seen[0, cell] != r:
                    seen[0, cell] = r
                    out[r, 0] += weight[cell]
                if stamp[cell] != 2 * n and seen[1, cell] != r:
                    seen[1, cell] = r
                    out[r, 1] += weight[cell]
            for i in range(ptr[a], ptr[a + 1]):
                stamp[flat[i]] = 2 * n + 1
            if o >= 0:
                for i in range(ptr[o], ptr[o + 1]):
                    cell = flat[i]
                    if seen[2, cell] != r:
                        seen[2, cell] = r
                        out[r, 2] += weight[cell]
                    if stamp[cell] != 2 * n + 1 and seen[3, cell] != r:
                        seen[3, cell] = r
                        out[r, 3] += weight[cell]
    return out


@_jit
def _first_covered(
    ptr: IntArray, flat: IntArray, step: IntArray, weight: IntArray, n_steps: int
) -> IntArray:
    """Per step, the weight of the cells a box of that step covers first (boxes in step
    order)."""
    fv = np.zeros(n_steps, dtype=np.int64)
    seen = np.zeros(weight.size, dtype=np.bool_)
    for b in range(step.size):
        for i in range(ptr[b], ptr[b + 1]):
            cell = flat[i]
            if not seen[cell]:
                seen[cell] = True
                fv[step[b]] += weight[cell]
    return fv


@_jit
def _first_unwritten(
    ptr: IntArray,
    flat: IntArray,
    bounds: IntArray,
    coord: IntArray,
    n_coords: int,
    weight: IntArray,
) -> IntArray:
    """Per step (its boxes ``bounds[t]:bounds[t + 1]``, held by coordinates ``coord``), the
    weight of the cells entering some coordinate that were never written: a cell is written
    once a coordinate that held it lets it go (at this step or before)."""
    n_cells = weight.size
    n_steps = bounds.size - 1
    fv = np.zeros(n_steps, dtype=np.int64)
    written = np.zeros(n_cells, dtype=np.bool_)
    counted = np.full(n_cells, -1, dtype=np.int64)
    in_new = np.full(n_cells, -1, dtype=np.int64)
    in_old = np.full(n_cells, -1, dtype=np.int64)
    holding = np.full(n_coords, -1, dtype=np.int64)  # the box each coordinate holds
    for t in range(n_steps):
        for n in range(bounds[t], bounds[t + 1]):
            h = holding[coord[n]]
            if h < 0:
                continue
            for i in range(ptr[n], ptr[n + 1]):
                in_new[flat[i]] = n
            for i in range(ptr[h], ptr[h + 1]):
                if in_new[flat[i]] != n:
                    written[flat[i]] = True
        for n in range(bounds[t], bounds[t + 1]):
            h = holding[coord[n]]
            if h >= 0:
                for i in range(ptr[h], ptr[h + 1]):
                    in_old[flat[i]] = n
            for i in range(ptr[n], ptr[n + 1]):
                cell = flat[i]
                if in_old[cell] != n and not written[cell] and counted[cell] != t:
                    counted[cell] = t
                    fv[t] += weight[cell]
        for n in range(bounds[t], bounds[t + 1]):
            holding[coord[n]] = n
    return fv


class _Grid:
    """The cells cut by the edges of some boxes (``(m, d, 2)`` arrays of half-open
    intervals, non-negative), numbered in C order, and each cell's number of elements
    (``weight``)."""

    def __init__(self, boxes: IntArray) -> None:
        counts = [np.bincount(boxes[:, k, :].ravel()) > 0 for k in range(boxes.shape[1])]
        self.edges = [np.flatnonzero(c) for c in counts]
        # per dimension and edge value, the cell starting there
        self._lut = np.zeros((len(counts), max(c.size for c in counts)), dtype=np.int64)
        for k, c in enumerate(counts):
            self._lut[k, : c.size] = np.cumsum(c) - 1
        self.weight: IntArray = functools.reduce(
            np.multiply.outer, [np.diff(e) for e in self.edges]
        ).ravel()
        shape = [e.size - 1 for e in self.edges]
        self.strides = np.array(
            [int(np.prod(shape[k + 1 :])) for k in range(len(shape))], dtype=np.int64
        )

    def cells(self, boxes: IntArray) -> Cells:
        """``boxes`` (with edges among the grid's) as their cells (:func:`_tile_cells`)."""
        return _tile_cells(boxes, self._lut, self.strides)

    def union(self, cells: Cells, tiles: IntArray) -> int:
        """The number of elements in some of the boxes ``tiles`` of ``cells``."""
        ids = np.zeros(tiles.size, dtype=np.int64)
        count = _distinct(*cells, tiles, ids, self.weight.size)
        return int(self.weight[count > 0].sum())


def _volumes(boxes: IntArray) -> IntArray:
    return np.prod(np.maximum(boxes[:, :, 1] - boxes[:, :, 0], 0), axis=1)


@_jit
def _box_sums(boxes: IntArray, new: IntArray, old: IntArray, bounds: IntArray) -> IntArray:
    """Per row (its positions ``bounds[r]:bounds[r + 1]``), the summed volume of the boxes
    ``new`` and of their intersections with the boxes ``old`` (-1: none) of the same
    positions."""
    n_rows, d = bounds.size - 1, boxes.shape[1]
    out = np.zeros((n_rows, 2), dtype=np.int64)
    for r in range(n_rows):
        for n in range(bounds[r], bounds[r + 1]):
            a, o = new[n], old[n]
            vol = 1
            meet = 1
            for k in range(d):
                vol *= max(boxes[a, k, 1] - boxes[a, k, 0], 0)
                if o >= 0:
                    lo = max(boxes[a, k, 0], boxes[o, k, 0])
                    hi = min(boxes[a, k, 1], boxes[o, k, 1])
                    meet *= max(hi - lo, 0)
            out[r, 0] += vol
            if o >= 0:
                out[r, 1] += meet
    return out


@_jit
def _walk_pairs(
    tuples: IntArray,
    coords: IntArray,
    steps: IntArray,
    full: IntArray,
    windows: IntArray,
    in_window: npt.NDArray[np.bool_],
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray, bool]:
    """``_exact_groups._directives``' slice rule (``steps``: its rows) at every (tuple,
    coordinate): the pairs that compute some MAC (tuple-major, as indices into ``tuples``
    and ``coords``), their slices as boxes (pairs, dimensions, 2), the same with each
    window pair's input dimension as output rows (``windows``: input dimension, window
    dimension, stride, output size), their MACs, and whether some slice holds part of a
    filter window only.

    The steps before the first SpatialMap do not depend on the coordinate, so they narrow
    once per tuple. The pairs are found first, then only they are filled."""
    n_tuples, n_coords, n = tuples.shape[0], coords.shape[0], full.size
    split = 0
    while split < steps.shape[0] and steps[split, 2] == 0:
        split += 1
    head, tail = steps[:split], steps[split:]
    start0 = np.zeros(n, dtype=np.int64)
    lo0 = np.zeros(n, dtype=np.int64)
    hi0 = np.zeros(n, dtype=np.int64)
    start = np.zeros(n, dtype=np.int64)
    lo = np.zeros(n, dtype=np.int64)
    hi = np.zeros(n, dtype=np.int64)
    olo = np.zeros(n, dtype=np.int64)
    ohi = np.zeros(n, dtype=np.int64)
    keep = np.zeros(n_tuples * n_coords, dtype=np.bool_)
    partial = False
    m = 0
    ti = np.empty(0, dtype=np.int64)
    ci = np.empty(0, dtype=np.int64)
    boxes = np.empty((0, n, 2), dtype=np.int64)
    oboxes = np.empty((0, n, 2), dtype=np.int64)
    macs = np.empty(0, dtype=np.int64)
    for fill in range(2):
        if fill:
            ti = np.empty(m, dtype=np.int64)
            ci = np.empty(m, dtype=np.int64)
            boxes = np.empty((m, n, 2), dtype=np.int64)
            oboxes = np.empty((m, n, 2), dtype=np.int64)
            macs = np.empty(m, dtype=np.int64)
            m = 0
        for t in range(n_tuples):
            tup = tuples[t]
            for k in range(n):
                start0[k], lo0[k], hi0[k] = 0, 0, full[k]
            if not _narrow(head, tup, coords[0], start0, lo0, hi0):
                continue
            for c in range(n_coords):
                if fill and not keep[t * n_coords + c]:
                    continue
                for k in range(n):
                    start[k], lo[k], hi[k] = start0[k], lo0[k], hi0[k]
                if not _narrow(tail, tup, coords[c], start, lo, hi):
                    continue
                for k in range(n):
                    olo[k], ohi[k] = lo[k], hi[k]
                mac = 1
                for w in range(windows.shape[0]):
                    ki, kw, stride, n_out = (
                        windows[w, 0],
                        windows[w, 1],
                        windows[w, 2],
                        windows[w, 3],
                    )
                    # output rows y' with y' * stride + r inside the Y slice for every r
                    olo[ki] = max(0, -(-(lo[ki] - lo[kw]) // stride))
                    ohi[ki] = min(n_out, (hi[ki] - hi[kw]) // stride + 1)
                    mac *= max(0, ohi[ki] - olo[ki]) * (hi[kw] - lo[kw])
                for k in range(n):
                    if not in_window[k]:
                        mac *= hi[k] - lo[k]
                if mac <= 0:
                    continue
                if fill:
                    ti[m], ci[m], macs[m] = t, c, mac
                    for k in range(n):
                        boxes[m, k, 0], boxes[m, k, 1] = lo[k], hi[k]
                        oboxes[m, k, 0], oboxes[m, k, 1] = olo[k], ohi[k]
                    for w in range(windows.shape[0]):
                        kw = windows[w, 1]
                        partial |= hi[kw] - lo[kw] < full[kw]
                else:
                    keep[t * n_coords + c] = True
                m += 1
    return ti, ci, boxes, oboxes, macs, partial


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
        ti, ci, boxes, oboxes, macs, self.partial = _walk_pairs(
            tuples,
            coords,
            np.array(walk, dtype=np.int64).reshape(-1, 7),
            np.array(full, dtype=np.int64),
            np.array(windows, dtype=np.int64).reshape(-1, 4),
            np.isin(np.arange(len(dims)), list(in_window)),
        )
        self._flat: list[IntArray | None] = [
            np.take(oboxes if r == 2 else boxes, ax, axis=1) if ax else None
            for r, ax in zip(range(3), self.axes, strict=True)
        ]
        self._coord: IntArray = ci
        self._macs: IntArray = macs
        self._n_coords = len(coords)
        self._grids: dict[int, tuple[_Grid, Cells]] = {}
        starts = np.flatnonzero(np.r_[True, ti[1:] != ti[:-1]]) if ti.size else ti
        self._bounds: IntArray = np.r_[starts, ti.size]
        self._tuples: IntArray = tuples[ti[starts]]
        self.order = list(map(tuple, self._tuples.tolist()))

    def part_rows(
        self, parts: list[tuple[str, int]], fvs: IntArray
    ) -> tuple[list[IntArray], list[tuple[int, int]], IntArray]:
        """Per part (``_exact_groups._core``'s), the factor rows of ``_exact_groups._Core``'s parts
        (``row`` of each (tuple, held) pair), built for all rows of a part at once (``fvs``:
        the first visits of every tuple of ``order``); the (loop, parting position) pairs of
        the loops where a unit resumes late; and every coordinate's last tile."""
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
        mats: list[IntArray] = []
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
            mats.append(self._rows(ts, held, fvs))
        return mats, parted, ends

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
            moved = _moved_rows(*cells, new, old, bounds, grid.weight)
            union, fresh = moved[:, 0], moved[:, 1]
            if r < 2:
                sums = _box_sums(flat, new, old, bounds)
                cols += [union, union - fresh, sums[:, 0], sums[:, 1]]
            else:
                cols += [union, union - fresh, moved[:, 2], moved[:, 2] - moved[:, 3], fvs[ts]]
        return np.stack([np.asarray(c, dtype=np.int64) for c in cols], axis=1)

    def _grid(self, r: int) -> tuple[_Grid, Cells]:
        """The grid of all tiles of role ``r`` and the tiles as its cells (kept)."""
        if r not in self._grids:
            flat = self._flat[r]
            assert flat is not None
            grid = _Grid(flat)
            self._grids[r] = grid, grid.cells(flat)
        return self._grids[r]

    def first_visits(self) -> IntArray:
        """Output elements first covered at each tuple of ``order``; for a ``full`` group,
        the outputs entering some unit at each tuple that have never been written yet (by
        then a unit that held them has let them go, at an earlier tuple or this one); zeros
        when the group does not index the output."""
        if self._flat[2] is None:
            return np.zeros(len(self.order), dtype=np.int64)
        grid, cells = self._grid(2)
        if self.full:
            fv = _first_unwritten(*cells, self._bounds, self._coord, self._n_coords, grid.weight)
        else:
            fv = _first_covered(*cells, self._steps(), grid.weight, len(self.order))
        return fv

    def _steps(self) -> IntArray:
        """Per tile (end to end), the position of its tuple in ``order``."""
        return np.repeat(np.arange(len(self.order), dtype=np.int64), np.diff(self._bounds))

    def totals(self, ends: IntArray) -> tuple[tuple[int, ...], ...]:
        """Per role the union of all tiles and the largest tile; the union of the output
        tiles ``ends`` (every coordinate's last)."""
        fill, tile_max = [], []
        for r, boxes in enumerate(self._flat):
            if boxes is None:
                fill.append(1)
                tile_max.append(1)
                continue
            grid, cells = self._grid(r)
            fill.append(grid.union(cells, np.arange(len(boxes), dtype=np.int64)))
            tile_max.append(int(_volumes(boxes).max()))
        drain = 1
        if self._flat[2] is not None:
            grid, cells = self._grid(2)
            drain = grid.union(cells, ends)
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
        every = np.arange(len(self._coord), dtype=np.int64)
        count = _distinct(*cells, every, every, n)
        tuples = _distinct(*cells, every, self._steps(), n)
        by_coord = np.argsort(self._coord, kind="stable")
        coords = _distinct(*cells, by_coord, self._coord[by_coord], n)
        return bool((count != tuples * coords).any())
