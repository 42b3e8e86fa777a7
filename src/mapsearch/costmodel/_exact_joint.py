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
    _COLS,
    ROLES,
    GroupSpec,
    _directives,
    _group_of,
)
from mapsearch.directives.nest import StepModel

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_jit = nb.njit(cache=True, error_model="numpy", nogil=True)


# --- cells of boxes, compiled -------------------------------------------------------------
# A grid's cells are numbered in C order (``strides``); a box of cells is an ``(d, 2)``
# array of half-open cell-index intervals. Boxes are listed once as their cells' flat
# indices, end to end (:func:`_tile_cells`: box ``b`` is ``flat[ptr[b]:ptr[b + 1]]``), and
# every kernel paints those lists, so its work is the boxes' cells, never the whole grid per
# box, and no box is decoded twice. Tiles of equal boxes (units that differ only along
# dimensions a role does not index) share one box (:func:`_unique_boxes`): kernels take
# tiles as box indices, and skip a box (or a new-held pair) met again in one row.

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
    index = np.zeros(d, dtype=np.int64)
    for b in range(m):
        at = 0
        for k in range(d):
            at += lut[k, boxes[b, k, 0]] * strides[k]
            index[k] = 0
        # the box's cells in C order, an odometer over its extents (the last dimension fastest)
        for i in range(ptr[b], ptr[b + 1]):
            flat[i] = at
            k = d - 1
            while k >= 0:
                index[k] += 1
                at += strides[k]
                if index[k] < lut[k, boxes[b, k, 1]] - lut[k, boxes[b, k, 0]]:
                    break
                at -= index[k] * strides[k]
                index[k] = 0
                k -= 1
    return ptr, flat


@_jit
def _unique_boxes(boxes: IntArray) -> tuple[IntArray, IntArray]:
    """Each box's index among the distinct boxes (first-seen order), and the first box of
    each distinct one (open addressing on the boxes' edges)."""
    m, d = boxes.shape[0], boxes.shape[1]
    size = 2
    while size < 2 * m:
        size *= 2
    table = np.full(size, -1, dtype=np.int64)
    uid = np.empty(m, dtype=np.int64)
    first = np.empty(m, dtype=np.int64)
    u = 0
    for b in range(m):
        h = 0
        for k in range(d):
            h = (h * 1000003 + boxes[b, k, 0]) * 1000003 + boxes[b, k, 1]
        slot = (h ^ (h >> 29)) & (size - 1)
        while True:
            e = table[slot]
            if e < 0:
                table[slot], first[u], uid[b] = u, b, u
                u += 1
                break
            same = True
            for k in range(d):
                f = first[e]
                if boxes[f, k, 0] != boxes[b, k, 0] or boxes[f, k, 1] != boxes[b, k, 1]:
                    same = False
                    break
            if same:
                uid[b] = e
                break
            slot = (slot + 1) & (size - 1)
    return uid, first[:u]


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
    old boxes, and of each old box minus its new one. A (new, old) pair met again in a row
    adds nothing, nor do the differences of a box kept."""
    n_rows = bounds.size - 1
    out = np.zeros((n_rows, 4), dtype=np.int64)
    stamp = np.full(weight.size, -1, dtype=np.int64)
    seen = np.full((4, weight.size), -1, dtype=np.int64)
    # per new box, the last row it was met in and the box it replaced there
    met = np.full(ptr.size - 1, -1, dtype=np.int64)
    met_old = np.full(ptr.size - 1, -1, dtype=np.int64)
    for r in range(n_rows):
        for n in range(bounds[r], bounds[r + 1]):
            a, o = new[n], old[n]
            if met[a] == r and met_old[a] == o:
                continue
            met[a], met_old[a] = r, o
            if o == a:
                for i in range(ptr[a], ptr[a + 1]):
                    cell = flat[i]
                    if seen[0, cell] != r:
                        seen[0, cell] = r
                        out[r, 0] += weight[cell]
                    if seen[2, cell] != r:
                        seen[2, cell] = r
                        out[r, 2] += weight[cell]
                continue
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
    ptr: IntArray, flat: IntArray, tiles: IntArray, step: IntArray, weight: IntArray, n_steps: int
) -> IntArray:
    """Per step, the weight of the cells a tile of that step covers first (tiles in step
    order, given as their boxes ``tiles``)."""
    fv = np.zeros(n_steps, dtype=np.int64)
    seen = np.zeros(weight.size, dtype=np.bool_)
    for b in range(step.size):
        t = tiles[b]
        for i in range(ptr[t], ptr[t + 1]):
            cell = flat[i]
            if not seen[cell]:
                seen[cell] = True
                fv[step[b]] += weight[cell]
    return fv


@_jit
def _first_unwritten(
    ptr: IntArray,
    flat: IntArray,
    tiles: IntArray,
    bounds: IntArray,
    coord: IntArray,
    n_coords: int,
    weight: IntArray,
) -> IntArray:
    """Per step (its tiles ``bounds[t]:bounds[t + 1]``, given as their boxes ``tiles``, held
    by coordinates ``coord``), the weight of the cells entering some coordinate that were
    never written: a cell is written once a coordinate that held it lets it go (at this step
    or before). A coordinate keeping its box lets nothing go and takes nothing in."""
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
            h, a = holding[coord[n]], tiles[n]
            if h < 0 or h == a:
                continue
            for i in range(ptr[a], ptr[a + 1]):
                in_new[flat[i]] = n
            for i in range(ptr[h], ptr[h + 1]):
                if in_new[flat[i]] != n:
                    written[flat[i]] = True
        for n in range(bounds[t], bounds[t + 1]):
            h, a = holding[coord[n]], tiles[n]
            if h == a:
                continue
            if h >= 0:
                for i in range(ptr[h], ptr[h + 1]):
                    in_old[flat[i]] = n
            for i in range(ptr[a], ptr[a + 1]):
                cell = flat[i]
                if in_old[cell] != n and not written[cell] and counted[cell] != t:
                    counted[cell] = t
                    fv[t] += weight[cell]
        for n in range(bounds[t], bounds[t + 1]):
            holding[coord[n]] = tiles[n]
    return fv


class _Grid:
    """The cells cut by the edges of some boxes (``(m, d, 2)`` arrays of half-open
    intervals, non-negative), numbered in C order, each cell's number of elements
    (``weight``), and the largest box's volume (``largest``)."""

    def __init__(self, boxes: IntArray) -> None:
        self.largest = _largest(boxes)
        marks = _edge_marks(boxes)
        self.edges = [np.flatnonzero(c) for c in marks]
        # per dimension and edge value, the cell starting there
        self._lut = np.cumsum(marks, axis=1) - 1
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


@_jit
def _edge_marks(boxes: IntArray) -> BoolArray:
    """Per dimension and value up to the largest edge, whether some box has an edge there."""
    marks = np.zeros((boxes.shape[1], boxes.max() + 1), dtype=np.bool_)
    for b in range(boxes.shape[0]):
        for k in range(boxes.shape[1]):
            marks[k, boxes[b, k, 0]] = True
            marks[k, boxes[b, k, 1]] = True
    return marks


@_jit
def _largest(boxes: IntArray) -> int:
    """The largest volume of the boxes (none: 0)."""
    most = 0
    for b in range(boxes.shape[0]):
        vol = 1
        for k in range(boxes.shape[1]):
            vol *= max(boxes[b, k, 1] - boxes[b, k, 0], 0)
        most = max(most, vol)
    return most


@_jit
def _previous(coord: IntArray, n_coords: int) -> tuple[IntArray, IntArray]:
    """Per tile, the previous tile of its coordinate (-1: none); and every coordinate's last
    tile (coordinates with none left out)."""
    prev = np.full(coord.size, -1, dtype=np.int64)
    last = np.full(n_coords, -1, dtype=np.int64)
    for i in range(coord.size):
        prev[i] = last[coord[i]]
        last[coord[i]] = i
    return prev, last[last >= 0]


@_jit
def _parting(
    tuples: IntArray, bounds: IntArray, steps: IntArray, ts: IntArray, held: IntArray, at: int
) -> int:
    """The outermost loop on which a tile ``held`` by a tile of the tuples ``ts`` (end to
    end) parts from its tuple, among those before loop ``at`` (-1: a unit that held nothing);
    -2 if there is none."""
    out = -2
    i = 0
    for t in ts:
        for _ in range(bounds[t], bounds[t + 1]):
            h = held[i]
            i += 1
            if h < 0:
                out = -1
                continue
            first = 0  # numpy's argmax of no difference
            for k in range(tuples.shape[1]):
                if tuples[steps[h], k] != tuples[t, k]:
                    first = k
                    break
            if first < at and (out == -2 or first < out):
                out = first
    return out


@_jit
def _last_in_prefix(bounds: IntArray, coord: IntArray, ts: IntArray, n_coords: int) -> IntArray:
    """For the tiles of the tuples ``ts`` (the first of each prefix; a prefix runs to the
    next), the last tile of the same coordinate in the same prefix."""
    n_tuples = bounds.size - 1
    total = 0
    for t in ts:
        total += bounds[t + 1] - bounds[t]
    out = np.empty(total, dtype=np.int64)
    last = np.full(n_coords, -1, dtype=np.int64)
    o = 0
    for i in range(ts.size):
        end = ts[i + 1] if i + 1 < ts.size else n_tuples
        for tile in range(bounds[ts[i]], bounds[end]):
            last[coord[tile]] = tile
        for tile in range(bounds[ts[i]], bounds[ts[i] + 1]):
            out[o] = last[coord[tile]]
            o += 1
    return out


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
def _slice(
    j: int, offset: int, size: int, slices: int, start: int, lo: int, hi: int
) -> tuple[bool, int, int, int]:
    """``_exact_groups._directives``' slice rule for one directive taking slice ``j``: whether
    the unit works, and its dimension's (start, lo, hi) narrowed from those before it
    (scalars only: a compiled call passing arrays costs their reference counts)."""
    st = start + j * offset
    lo, hi = max(st, lo), min(st + size, hi)
    return j < slices and lo < hi, st, lo, hi


@_jit
def _doubled(a: npt.NDArray[np.int64], used: int) -> npt.NDArray[np.int64]:
    """``a`` (C order) with twice the rows, its first ``used`` rows copied as one flat run
    (numpy's concatenate, compiled, copies element by element along every axis)."""
    out = np.empty((2 * a.shape[0], *a.shape[1:]), dtype=a.dtype)
    n = used * (a.size // a.shape[0])
    out.reshape(-1)[:n] = a.reshape(-1)[:n]
    return out


@_jit
def _by_dependence(
    trips: IntArray, steps: IntArray, split: int, n: int
) -> tuple[IntArray, IntArray]:
    """The directives ``steps`` (on ``n`` dimensions) reordered, the first ``split`` and the
    rest apart, by the innermost loop of more than one trip each depends on (its own or that
    of a directive before it on its dimension; -1: none), which is returned with them. The
    sort is stable, so each dimension's directives keep their order: a directive still
    comes after the one it narrows, and a loop of one trip (which never changes) makes
    nothing after it be narrowed again."""
    dep = np.empty(steps.shape[0], dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    for s in range(steps.shape[0]):
        own = steps[s, 1] if trips[steps[s, 1]] > 1 else -1
        dep[s] = max(own, last[steps[s, 0]])
        last[steps[s, 0]] = dep[s]
    order = np.concatenate(
        (
            np.argsort(dep[:split], kind="mergesort"),
            split + np.argsort(dep[split:], kind="mergesort"),
        )
    )
    return steps[order], dep[order]


@_jit
def _walk_core(
    trips: IntArray,
    coords: IntArray,
    steps: IntArray,
    full: IntArray,
    windows: IntArray,
    in_window: npt.NDArray[np.bool_],
    roles: IntArray,
    widths: IntArray,
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray, IntArray, IntArray, bool]:
    """:func:`_walk_pairs` in one pass, into arrays doubled when full (``widths``: the
    number of dimensions of each role's boxes).

    Tuples advance like an odometer. A directive's slice depends on its own loop and on the
    directives before it on its dimension, so the directives (those before the first
    SpatialMap, the head, and the others apart) are taken in the order of the innermost
    loop of more than one trip they depend on (:func:`_by_dependence`); when loop ``L`` is
    the outermost to change, the directives from the first one depending on ``L`` or an
    inner loop are narrowed again, each from what the last directive before it on its
    dimension left (kept per coordinate after the first SpatialMap)."""
    n_loops, n_coords, n = trips.size, coords.shape[0], full.size
    n_steps = steps.shape[0]
    split = 0
    while split < n_steps and steps[split, 2] == 0:
        split += 1
    n_tail = n_steps - split
    steps, dep = _by_dependence(trips, steps, split, n)
    # per loop L: the first head directive, and the first tail directive, depending on L or
    # an inner loop
    first_head = np.full(n_loops + 1, split, dtype=np.int64)
    first_tail = np.full(n_loops + 1, n_tail, dtype=np.int64)
    for L in range(n_loops):
        for s in range(n_steps - 1, -1, -1):
            if dep[s] >= L:
                if s < split:
                    first_head[L] = s
                else:
                    first_tail[L] = s - split
    # per directive, its dimension's (start, lo, hi) after it: the head's, and the tail's per
    # coordinate (which copies the head's), then per dimension the whole extent (a virtual
    # directive before all); per directive the one before it on its dimension, and per
    # dimension its last one
    hv = np.zeros((n_steps + n, 3), dtype=np.int64)
    tv = np.zeros((n_coords, n_steps + n, 3), dtype=np.int64)
    prev_on = np.zeros(n_steps, dtype=np.int64)
    last_on = n_steps + np.arange(n)
    for k in range(n):
        hv[n_steps + k, 2] = full[k]
        tv[:, n_steps + k, 2] = full[k]
    for s in range(n_steps):
        prev_on[s] = last_on[steps[s, 0]]
        last_on[steps[s, 0]] = s
    lo = np.zeros(n, dtype=np.int64)
    hi = np.zeros(n, dtype=np.int64)
    cap = 4 * max(n_coords, 16)
    ti = np.empty(cap, dtype=np.int64)
    ci = np.empty(cap, dtype=np.int64)
    macs = np.empty(cap, dtype=np.int64)
    b0 = np.empty((cap, widths[0], 2), dtype=np.int64)
    b1 = np.empty((cap, widths[1], 2), dtype=np.int64)
    b2 = np.empty((cap, widths[2], 2), dtype=np.int64)
    tup_out = np.empty((cap, n_loops), dtype=np.int64)
    hdone, hdead = 0, False
    tdone = np.zeros(n_coords, dtype=np.int64)
    tdead = np.zeros(n_coords, dtype=np.bool_)
    olo = np.zeros(n, dtype=np.int64)
    ohi = np.zeros(n, dtype=np.int64)
    is_out = np.zeros(n, dtype=np.bool_)  # the input dimensions of windows (output rows)
    for x in range(windows.shape[0]):
        is_out[windows[x, 0]] = True
    # per window, the output rows y' with y' * stride + r inside an input slice for every
    # r of a window slice, looked up by the difference of their starts (ends) offset by the
    # window's size: divisions cost more than a read, and almost every tuple and unit asks
    spans = np.zeros(windows.shape[0] + 1, dtype=np.int64)
    for x in range(windows.shape[0]):
        spans[x + 1] = spans[x] + full[windows[x, 0]] + full[windows[x, 1]] + 1
    first_row = np.empty(spans[-1], dtype=np.int64)
    end_row = np.empty(spans[-1], dtype=np.int64)
    for x in range(windows.shape[0]):
        ki, kw, stride, n_out = windows[x, 0], windows[x, 1], windows[x, 2], windows[x, 3]
        for i in range(spans[x], spans[x + 1]):
            v = i - spans[x] - full[kw]
            first_row[i] = max(0, -(-v // stride))
            end_row[i] = min(n_out, v // stride + 1)
    tup = np.zeros(n_loops, dtype=np.int64)
    n_total = 1
    for L in range(n_loops):
        n_total *= trips[L]
    m, e, partial = 0, 0, False
    changed = 0  # the outermost loop that changed since the last tuple
    for _ in range(n_total):
        keep = first_head[changed]
        if hdone >= keep:
            hdone, hdead = keep, False
        fresh = not hdead and hdone < split
        while not hdead and hdone < split:
            d, p = hdone, prev_on[hdone]
            ok, hv[d, 0], hv[d, 1], hv[d, 2] = _slice(
                tup[steps[d, 1]],
                steps[d, 4],
                steps[d, 5],
                steps[d, 6],
                hv[p, 0],
                hv[p, 1],
                hv[p, 2],
            )
            if ok:
                hdone += 1
            else:
                hdead = True
        active = False
        keep = 0 if fresh else first_tail[changed]
        for c in range(n_coords if not hdead else 0):
            if tdone[c] >= keep:
                tdone[c], tdead[c] = keep, False
                if keep == 0:
                    tv[c, :split] = hv[:split]
            while not tdead[c] and tdone[c] < n_tail:
                d = split + tdone[c]
                p = prev_on[d]
                j = tup[steps[d, 1]]
                if steps[d, 2]:
                    j = j * steps[d, 2] + coords[c, steps[d, 3]]
                ok, tv[c, d, 0], tv[c, d, 1], tv[c, d, 2] = _slice(
                    j, steps[d, 4], steps[d, 5], steps[d, 6], tv[c, p, 0], tv[c, p, 1], tv[c, p, 2]
                )
                if ok:
                    tdone[c] += 1
                else:
                    tdead[c] = True
            if tdead[c]:
                continue
            # the windows first: a window stepping by less than the stride leaves many
            # units with no output row, which need nothing else
            mac = 1
            for x in range(windows.shape[0]):
                ki, kw = windows[x, 0], windows[x, 1]
                i_lo, i_hi = tv[c, last_on[ki], 1], tv[c, last_on[ki], 2]
                w_lo, w_hi = tv[c, last_on[kw], 1], tv[c, last_on[kw], 2]
                # output rows y' with y' * stride + r inside the Y slice for every r
                at = spans[x] + full[kw]
                olo[ki] = first_row[at + i_lo - w_lo]
                ohi[ki] = end_row[at + i_hi - w_hi]
                mac *= max(0, ohi[ki] - olo[ki]) * (w_hi - w_lo)
            if mac <= 0:
                continue
            for k in range(n):
                lo[k], hi[k] = tv[c, last_on[k], 1], tv[c, last_on[k], 2]
                if not in_window[k]:
                    mac *= hi[k] - lo[k]
            for k in range(n):
                if not is_out[k]:
                    olo[k], ohi[k] = lo[k], hi[k]
            if mac <= 0:
                continue
            for x in range(windows.shape[0]):
                kw = windows[x, 1]
                partial |= hi[kw] - lo[kw] < full[kw]
            if m == ti.size:
                ti = _doubled(ti, m)
                ci = _doubled(ci, m)
                macs = _doubled(macs, m)
                b0 = _doubled(b0, m)
                b1 = _doubled(b1, m)
                b2 = _doubled(b2, m)
            ti[m], ci[m], macs[m] = e, c, mac
            for a in range(roles.shape[1]):
                k = roles[0, a]
                if k >= 0:
                    b0[m, a, 0], b0[m, a, 1] = lo[k], hi[k]
                k = roles[1, a]
                if k >= 0:
                    b1[m, a, 0], b1[m, a, 1] = lo[k], hi[k]
                k = roles[2, a]
                if k >= 0:
                    b2[m, a, 0], b2[m, a, 1] = olo[k], ohi[k]
            m += 1
            active = True
        if active:
            if e == tup_out.shape[0]:
                tup_out = _doubled(tup_out, e)
            for L in range(n_loops):
                tup_out[e, L] = tup[L]
            e += 1
        # the next tuple (none after the last)
        changed = n_loops - 1
        while changed > 0 and tup[changed] + 1 == trips[changed]:
            tup[changed] = 0
            changed -= 1
        if changed >= 0:
            tup[changed] += 1
    return ti[:m], ci[:m], tup_out[:e], b0[:m], b1[:m], b2[:m], macs[:m], partial


def _walk_pairs(
    trips: IntArray,
    coords: IntArray,
    steps: IntArray,
    full: IntArray,
    windows: IntArray,
    in_window: BoolArray,
    axes: list[list[int]],
) -> tuple[IntArray, IntArray, IntArray, list[IntArray], IntArray, bool]:
    """``_exact_groups._directives``' slice rule (``steps``: its rows) at every (tuple of
    ``trips``, coordinate of ``coords``): the pairs that compute some MAC (tuple-major; the
    number of their executable tuple, and their coordinate's index), the executable tuples,
    the pairs' tiles per role as boxes (pairs, the role's dimensions ``axes[r]``, 2; the
    output's with each window pair's input dimension as output rows: ``windows``: input
    dimension, window dimension, stride, output size), their MACs, and whether some tile
    holds part of a filter window only.

    One compiled pass (:func:`_walk_core`)."""
    roles = np.full((3, max(1, full.size)), -1, dtype=np.int64)
    for r, ax in enumerate(axes):
        roles[r, : len(ax)] = ax
    widths = np.array([len(ax) for ax in axes], dtype=np.int64)
    ti, ci, tuples, b0, b1, b2, macs, partial = _walk_core(
        trips, coords, steps, full, windows, in_window, roles, widths
    )
    return ti, ci, tuples, [b0, b1, b2], macs, bool(partial)


def _product(sizes: list[int]) -> IntArray:
    """Every index tuple of ``sizes``, lexicographic (``itertools.product``'s order)."""
    if not sizes:
        return np.zeros((1, 0), dtype=np.int64)
    return np.indices(sizes, dtype=np.int64).reshape(len(sizes), -1).T


class JointGroup:
    """Groups walked together: their tuples (all their loops, outer first), coordinates (the
    units of all their levels) and box tiles.

    ``n_tuples`` counts the executable tuples (``_tuples``). Their tiles are kept end to end, tuple-major
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
        # units past a level's slices never work: they are left out of the walk
        coords = _product([model.levels[lv].busy_units for lv in spec.levels])
        self._trips = np.array([lp.trips for lp in model.loops], dtype=np.int64)
        ti, ci, self._tuples, boxes, macs, self.partial = _walk_pairs(
            self._trips,
            coords,
            np.array(walk, dtype=np.int64).reshape(-1, 7),
            np.array(full, dtype=np.int64),
            np.array(windows, dtype=np.int64).reshape(-1, 4),
            np.isin(np.arange(len(dims)), list(in_window)),
            self.axes,
        )
        self._flat: list[IntArray | None] = [
            b if ax else None for b, ax in zip(boxes, self.axes, strict=True)
        ]
        self._coord: IntArray = ci
        self._macs: IntArray = macs
        self._n_coords = len(coords)
        self._grids: dict[int, tuple[_Grid, Cells, IntArray]] = {}
        self._bounds: IntArray = np.r_[0, np.cumsum(np.bincount(ti, minlength=len(self._tuples)))]
        #: the number of executable tuples
        self.n_tuples = len(self._tuples)

    def part_rows(
        self, parts: list[tuple[str, int]], fvs: IntArray
    ) -> tuple[list[IntArray], list[tuple[int, int]], IntArray]:
        """Per part (``_exact_groups._core``'s), the factor rows of ``_exact_groups._Core``'s parts
        (``row`` of each (tuple, held) pair), built for all rows of a part at once (``fvs``:
        the first visits of every executable tuple); the (loop, parting position) pairs of
        the loops where a unit resumes late; and every coordinate's last tile.

        An ``inner`` part whose loops just outside it have one trip each has the rows of the
        ``inner`` part those loops are inside of (the same prefixes, the same tiles held), or
        ``self``'s when every loop from it on has one trip: those rows are built once."""
        tuples = self._tuples
        steps = self._steps()
        prev, ends = _previous(self._coord, self._n_coords)
        # per tuple, the first loop on which it differs from the one before (-1: the first)
        parting = np.r_[-1, np.argmax(tuples[1:] != tuples[:-1], axis=1)].astype(np.int64)
        mats: list[IntArray] = []
        parted: list[tuple[int, int]] = []
        built: dict[tuple[str, int], IntArray] = {}
        for kind, at in parts:
            if kind == "inner":
                while at > 0 and self._trips[at - 1] == 1:
                    at -= 1
                if (self._trips[at:] == 1).all():
                    kind, at = "self", 0
            if (kind, at) in built:
                mats.append(built[kind, at])
                continue
            held: IntArray | None
            if kind == "first":
                ts = np.zeros(1, dtype=np.int64)
                held = np.full(self._bounds[1], -1, dtype=np.int64)
            elif kind == "self":
                ts, held = np.arange(self.n_tuples, dtype=np.int64), None
            elif kind == "loop":
                ts = np.flatnonzero(parting == at)
                if not ts.size:  # the loop has one trip, or never advances a working tuple
                    built[kind, at] = np.zeros((0, len(_COLS)), dtype=np.int64)
                    mats.append(built[kind, at])
                    continue
                held = prev[self._tiles_of(ts)]
                # the outermost parting of a unit resuming late (-2: none)
                part = _parting(tuples, self._bounds, steps, ts, held, at)
                if part != -2:
                    parted.append((at, part))
            else:
                ts = np.flatnonzero(parting < at)
                held = _last_in_prefix(self._bounds, self._coord, ts, self._n_coords)
            built[kind, at] = self._rows(ts, held, fvs)
            mats.append(built[kind, at])
        return mats, parted, ends

    def _tiles_of(self, ts: IntArray) -> IntArray:
        """The tiles of the tuples at positions ``ts``, end to end."""
        lens = self._bounds[ts + 1] - self._bounds[ts]
        return np.repeat(self._bounds[ts] - (np.cumsum(lens) - lens), lens) + np.arange(
            int(lens.sum())
        )

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
            grid, cells, box = self._grid(r)
            moved = _moved_rows(*cells, box[new], np.where(has, box[old], -1), bounds, grid.weight)
            union, fresh = moved[:, 0], moved[:, 1]
            if r < 2:
                sums = _box_sums(flat, new, old, bounds)
                cols += [union, union - fresh, sums[:, 0], sums[:, 1]]
            else:
                cols += [union, union - fresh, moved[:, 2], moved[:, 2] - moved[:, 3], fvs[ts]]
        return np.stack([np.asarray(c, dtype=np.int64) for c in cols], axis=1)

    def _grid(self, r: int) -> tuple[_Grid, Cells, IntArray]:
        """The grid of all tiles of role ``r``, its distinct boxes as cells, and each tile's
        box (kept)."""
        if r not in self._grids:
            flat = self._flat[r]
            assert flat is not None
            box, first = _unique_boxes(flat)
            distinct = flat[first]
            grid = _Grid(distinct)
            self._grids[r] = grid, grid.cells(distinct), box
        return self._grids[r]

    def first_visits(self) -> IntArray:
        """Output elements first covered at each executable tuple; for a ``full`` group,
        the outputs entering some unit at each tuple that have never been written yet (by
        then a unit that held them has let them go, at an earlier tuple or this one); zeros
        when the group does not index the output."""
        if self._flat[2] is None:
            return np.zeros(self.n_tuples, dtype=np.int64)
        grid, cells, box = self._grid(2)
        if self.full:
            return _first_unwritten(
                *cells, box, self._bounds, self._coord, self._n_coords, grid.weight
            )
        return _first_covered(*cells, box, self._steps(), grid.weight, self.n_tuples)

    def _steps(self) -> IntArray:
        """Per tile (end to end), the position of its executable tuple."""
        return np.repeat(np.arange(self.n_tuples, dtype=np.int64), np.diff(self._bounds))

    def totals(self, ends: IntArray) -> tuple[tuple[int, ...], ...]:
        """Per role the union of all tiles and the largest tile; the union of the output
        tiles ``ends`` (every coordinate's last)."""
        fill, tile_max = [], []
        for r, boxes in enumerate(self._flat):
            if boxes is None:
                fill.append(1)
                tile_max.append(1)
                continue
            grid, cells, box = self._grid(r)
            every = np.arange(cells[0].size - 1, dtype=np.int64)
            fill.append(grid.union(cells, every))
            tile_max.append(grid.largest)  # the grid's boxes: the distinct tiles
        drain = 1
        if self._flat[2] is not None:
            grid, cells, box = self._grid(2)
            drain = grid.union(cells, box[ends])
        return tuple(fill), tuple(tile_max), (drain,)

    def staggered(self) -> bool:
        """Whether an output can pass between units unwritten (``_exact_groups._staggered``,
        on boxes; per cell, the tiles covering it must be every pair of a covering tuple and
        a covering coordinate); a ``full`` group keeps what was written, so it never needs
        more."""
        if self.full or not self.partial or self._flat[2] is None:
            return False
        grid, cells, box = self._grid(2)
        n = grid.weight.size
        every = np.arange(len(self._coord), dtype=np.int64)
        count = _distinct(*cells, box, every, n)
        tuples = _distinct(*cells, box, self._steps(), n)
        by_coord = np.argsort(self._coord, kind="stable")
        coords = _distinct(*cells, box[by_coord], self._coord[by_coord], n)
        return bool((count != tuples * coords).any())
