"""One dimension group's walk and factor rows, compiled with numba.

:mod:`mapsearch.costmodel._exact_groups` factors the exact counts over dimension groups
(``docs/semantics.md`` section 3); each group's *core* comes from walking every tuple of the
group's own loops times every unit coordinate, and counting intervals per step class. A
search brings new group shapes at almost every candidate, so that walk is the exact model's
cold cost; here it runs compiled, on arrays:

* :func:`walk` unfolds the tiles: per executable tuple (lexicographic order) and coordinate
  (row-major over the group's levels), whether the unit works, its interval per role
  (input, filter, output) and its MACs;
* :func:`rows` derives every factor row of every part the group can play in a step class
  (columns ``_exact_groups._COLS``), the tuples where a unit resumed late, the first visits
  of outputs, and the group's fills, largest tiles and drain;
* :func:`core` runs both, and :func:`part_rows` on the rows, in one call from Python per core.

The rules are those of the Python walk of joint groups (:mod:`mapsearch.costmodel._exact_joint`)
specialised to one interval per role; ``tests/costmodel`` checks both against the simulator.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_jit = nb.njit(cache=True, error_model="numpy", nogil=True)

#: Part kinds of :func:`rows` (``_exact_groups._Core.rows`` keys), coded by their index.
PARTS = ("first", "self", "loop", "inner")
FIRST, SELF, LOOP, INNER = range(4)
#: Role codes of :func:`walk`: not indexed, the group's (input) dimension, its window
#: dimension, its output rows.
NONE, DIM, WINDOW, OUT = -1, 0, 1, 2
N_COLS = 16


@_jit
def _narrow(steps, tup, c, start, lo, hi):  # type: ignore[no-untyped-def]
    """``_exact_groups._directives``' slice rule on a directive array (rows: dimension, loop, units if
    spatial else 0, coordinate position, offset, size, slices)."""
    for s in range(steps.shape[0]):
        k, tp, units, cp = steps[s, 0], steps[s, 1], steps[s, 2], steps[s, 3]
        j = tup[tp] * units + c[cp] if units else tup[tp]
        if j >= steps[s, 6]:
            return False
        st = start[k] + j * steps[s, 4]
        lo_k = st if st > lo[k] else lo[k]
        hi_k = st + steps[s, 5] if st + steps[s, 5] < hi[k] else hi[k]
        if lo_k >= hi_k:
            return False
        start[k], lo[k], hi[k] = st, lo_k, hi_k
    return True


@_jit
def walk(trips, head, tail, axes, window, full, src):  # type: ignore[no-untyped-def]
    """Every tuple of the group's loops (``trips``), every coordinate (``axes``: per level
    the loop of its first SpatialMap or -1, units, slices), narrowed by the directives
    ``head`` (before the first SpatialMap) then ``tail``.

    ``window``: (input dimension, window dimension, stride, output size) of a window group,
    ``-1`` in the first entry otherwise; ``full``: the dimensions' sizes; ``src``: per role
    its code (``NONE``, ``DIM``, ``WINDOW``, ``OUT``). Returns the executable tuples, the
    active mask (tuples, coordinates), per role the intervals' ``lo``/``hi`` (tuples,
    coordinates, 3), the MACs, and whether some tile holds only part of the filter window.
    """
    n_loops = trips.size
    n_axes = axes.shape[0]
    n_coords = 1
    for a in range(n_axes):
        n_coords *= axes[a, 1]
    n_tuples = 1
    for k in range(n_loops):
        n_tuples *= trips[k]
    ndim = full.size
    tups = np.zeros((n_tuples, n_loops), dtype=np.int64)
    act = np.zeros((n_tuples, n_coords), dtype=np.bool_)
    lo_out = np.zeros((n_tuples, n_coords, 3), dtype=np.int64)
    hi_out = np.zeros((n_tuples, n_coords, 3), dtype=np.int64)
    macs = np.zeros((n_tuples, n_coords), dtype=np.int64)
    partial = False
    tup = np.zeros(n_loops, dtype=np.int64)
    c = np.zeros(max(n_axes, 1), dtype=np.int64)
    start0 = np.zeros(ndim, dtype=np.int64)
    lo0 = np.zeros(ndim, dtype=np.int64)
    hi0 = np.zeros(ndim, dtype=np.int64)
    start = np.zeros(ndim, dtype=np.int64)
    lo = np.zeros(ndim, dtype=np.int64)
    hi = np.zeros(ndim, dtype=np.int64)
    ki, kw, stride, n_out = window[0], window[1], window[2], window[3]
    ivlo = np.zeros(3, dtype=np.int64)
    ivhi = np.zeros(3, dtype=np.int64)
    t = 0
    for it in range(n_tuples):
        rem = it
        for k in range(n_loops - 1, -1, -1):
            tup[k] = rem % trips[k]
            rem //= trips[k]
        start0[:] = 0
        lo0[:] = 0
        hi0[:] = full
        if not _narrow(head, tup, c, start0, lo0, hi0):
            continue
        any_active = False
        for ci in range(n_coords):
            rem = ci
            ok = True
            for a in range(n_axes - 1, -1, -1):
                u = axes[a, 1]
                c[a] = rem % u
                rem //= u
                tp = axes[a, 0]
                span = axes[a, 2] - (tup[tp] * u if tp >= 0 else 0)
                if c[a] >= min(u, span):
                    ok = False
            if not ok:
                continue
            start[:] = start0
            lo[:] = lo0
            hi[:] = hi0
            if not _narrow(tail, tup, c, start, lo, hi):
                continue
            if ki >= 0:
                # output rows y' with y' * stride + r inside the Y slice for every r
                olo = max(0, -(-(lo[ki] - lo[kw]) // stride))
                ohi = min(n_out, (hi[ki] - hi[kw]) // stride + 1)
                if ohi <= olo:
                    continue
                if hi[kw] - lo[kw] < full[kw]:
                    partial = True
                ivlo[0], ivhi[0] = lo[ki], hi[ki]
                ivlo[1], ivhi[1] = lo[kw], hi[kw]
                ivlo[2], ivhi[2] = olo, ohi
                m = (ohi - olo) * (hi[kw] - lo[kw])
            elif ndim:
                ivlo[0], ivhi[0] = lo[0], hi[0]
                m = hi[0] - lo[0]
            else:
                m = 1
            for r in range(3):
                if src[r] != NONE:
                    lo_out[t, ci, r] = ivlo[src[r]]
                    hi_out[t, ci, r] = ivhi[src[r]]
            act[t, ci] = True
            macs[t, ci] = m
            any_active = True
        if any_active:
            tups[t] = tup
            t += 1
    return tups[:t], act[:t], lo_out[:t], hi_out[:t], macs[:t], partial


@_jit
def _union_size(lo, hi):  # type: ignore[no-untyped-def]
    """Number of integers in a union of half-open intervals (sort and merge; walks list them
    by ``lo`` already, so the sort is skipped when they are)."""
    n = lo.size
    ordered = True
    for k in range(1, n):
        if lo[k] < lo[k - 1]:
            ordered = False
            break
    order = lo[:0] if ordered else np.argsort(lo)
    total = 0
    reach = 0
    started = False
    for i in range(n):
        k = i if ordered else order[i]
        a, b = lo[k], hi[k]
        if b <= a:
            continue
        if not started or a > reach:
            total += b - a
            reach = b
            started = True
        elif b > reach:
            total += b - reach
            reach = b
    return total


@_jit
def _lost(nlo, nhi, olo, ohi, has, diff):  # type: ignore[no-untyped-def]
    """``|U (new_c minus held_c)|``: elements of the new intervals some coordinate did not
    hold (``has``: it held something), each difference being at most two intervals
    (``diff``: (2, 2 x intervals) buffers for them, not allocated per row)."""
    dlo, dhi = diff[0], diff[1]
    m = 0
    for k in range(nlo.size):
        a0, a1 = nlo[k], nhi[k]
        if has[k] == 0 or ohi[k] <= a0 or olo[k] >= a1:
            dlo[m], dhi[m] = a0, a1
            m += 1
        else:
            # empty pieces left out: they add nothing and would unsort the list
            if olo[k] > a0:
                dlo[m], dhi[m] = a0, min(a1, olo[k])
                m += 1
            if ohi[k] < a1:
                dlo[m], dhi[m] = max(a0, ohi[k]), a1
                m += 1
    return _union_size(dlo[:m], dhi[:m])


@_jit
def _overlaps(nlo, nhi, olo, ohi, has):  # type: ignore[no-untyped-def]
    """Summed overlaps of each new interval with what its coordinate held."""
    total = 0
    for k in range(nlo.size):
        if has[k] != 0:
            a = max(nlo[k], olo[k])
            b = min(nhi[k], ohi[k])
            if b > a:
                total += b - a
    return total


@_jit
def _merge(lo, hi, n):  # type: ignore[no-untyped-def]
    """The first ``n`` half-open intervals of ``lo``/``hi`` merged in place into sorted,
    disjoint, non-touching ones; returns how many there are."""
    order = np.argsort(lo[:n])
    slo = lo[:n][order]
    shi = hi[:n][order]
    m = 0
    for k in range(n):
        a, b = slo[k], shi[k]
        if b <= a:
            continue
        if m and a <= hi[m - 1]:
            if b > hi[m - 1]:
                hi[m - 1] = b
        else:
            lo[m], hi[m] = a, b
            m += 1
    return m


@_jit
def _row(out, t, held, coords, lo, hi, macs, none, union, span, visits, scratch):  # type: ignore[no-untyped-def]
    """The factor row of tuple ``t`` into ``out`` (``_exact_groups._COLS`` order), each
    active coordinate ``coords`` holding the tile of tuple ``held`` (-1: nothing);
    ``scratch``: (12, 2 x coordinates) buffers."""
    n = coords.size
    macsum = 0
    macmax = 0
    moved = False
    nh = 0
    for k in range(n):
        m = macs[t, coords[k]]
        macsum += m
        macmax = max(macmax, m)
        h = held[coords[k]]
        if h != t:
            moved = True
        if h >= 0:
            nh += 1
    out[0], out[1], out[2] = n, macsum, macmax
    ui, uf, uo = union[t, 0], union[t, 1], union[t, 2]
    if not moved:
        out[3], out[4], out[5], out[6] = ui, ui, span[t, 0], span[t, 0]
        out[7], out[8], out[9], out[10] = uf, uf, span[t, 1], span[t, 1]
        out[11], out[12], out[13], out[14], out[15] = uo, uo, uo, uo, visits
        return
    has = scratch[0, :n]
    nlo, nhi, olo, ohi = scratch[1, :n], scratch[2, :n], scratch[3, :n], scratch[4, :n]
    diff = scratch[10:12]
    for r in range(3):
        col = 3 + 4 * r
        if none[r]:
            if r < 2:
                out[col], out[col + 1], out[col + 2], out[col + 3] = 1, int(nh == n), n, nh
            else:
                some = int(nh > 0)
                out[11], out[12], out[13], out[14] = 1, int(nh == n), some, some
            continue
        for k in range(n):
            cc = coords[k]
            h = held[cc]
            has[k] = h >= 0
            nlo[k], nhi[k] = lo[t, cc, r], hi[t, cc, r]
            if h >= 0:
                olo[k], ohi[k] = lo[h, cc, r], hi[h, cc, r]
        u = union[t, r]
        if r < 2:
            out[col], out[col + 1] = u, u - _lost(nlo, nhi, olo, ohi, has, diff)
            out[col + 2], out[col + 3] = span[t, r], _overlaps(nlo, nhi, olo, ohi, has)
        else:
            # what the holders let go: the held intervals minus the new ones
            nk = 0
            for k in range(n):
                if has[k]:
                    scratch[5, nk], scratch[6, nk] = olo[k], ohi[k]
                    scratch[7, nk], scratch[8, nk] = nlo[k], nhi[k]
                    nk += 1
            klo, khi = scratch[5, :nk], scratch[6, :nk]
            left = _union_size(klo, khi)
            yes = scratch[9, :nk]
            out[11], out[12] = u, u - _lost(nlo, nhi, olo, ohi, has, diff)
            lost = _lost(klo, khi, scratch[7, :nk], scratch[8, :nk], yes, diff)
            out[13], out[14] = left, left - lost
    out[15] = visits


@_jit
def rows(tups, act, lo, hi, macs, none, part_kind, part_at):  # type: ignore[no-untyped-def]
    """Every factor row of every part (``part_kind``: ``FIRST``, ``SELF``, ``LOOP``,
    ``INNER``; ``part_at``: the group's loop it concerns), end to end.

    Returns the rows, each part's row count, each part's outermost parting position of a
    late unit (``_exact_groups._Core``; -2: no unit late), and per role the union of
    all tiles, the largest tile (1 for a role not indexed) and the union of the output
    tiles held at the end.
    """
    n_tuples, n_coords = act.shape
    n_parts = part_kind.size
    # the active coordinates of every tuple, end to end (tuple ``t``: ``at[t]:at[t + 1]``)
    at = np.zeros(n_tuples + 1, dtype=np.int64)
    active = np.empty(n_tuples * n_coords, dtype=np.int64)
    for t in range(n_tuples):
        m = at[t]
        for cc in range(n_coords):
            if act[t, cc]:
                active[m] = cc
                m += 1
        at[t + 1] = m
    scratch = np.zeros((12, 2 * n_coords), dtype=np.int64)
    scratch[9] = 1
    # per tuple: its factors whatever the units held
    union = np.ones((n_tuples, 3), dtype=np.int64)
    span = np.zeros((n_tuples, 3), dtype=np.int64)
    ilo, ihi = scratch[1], scratch[2]
    for t in range(n_tuples):
        coords = active[at[t] : at[t + 1]]
        n = coords.size
        for r in range(3):
            if none[r]:
                span[t, r] = n
                continue
            total = 0
            for k in range(n):
                ilo[k], ihi[k] = lo[t, coords[k], r], hi[t, coords[k], r]
                total += ihi[k] - ilo[k]
            span[t, r] = total
            union[t, r] = total if n == 1 else _union_size(ilo[:n], ihi[:n])
    # first visits of outputs, in lexicographic order
    visits = np.zeros(n_tuples, dtype=np.int64)
    if none[2]:
        visits[0] = 1
    else:
        seen_lo = np.zeros(n_tuples * n_coords, dtype=np.int64)
        seen_hi = np.zeros(n_tuples * n_coords, dtype=np.int64)
        n_seen = 0
        before = 0
        for t in range(n_tuples):
            for k in range(at[t], at[t + 1]):
                seen_lo[n_seen], seen_hi[n_seen] = lo[t, active[k], 2], hi[t, active[k], 2]
                n_seen += 1
            n_seen = _merge(seen_lo, seen_hi, n_seen)
            after = 0
            for k in range(n_seen):
                after += seen_hi[k] - seen_lo[k]
            visits[t] = after - before
            before = after
    # rows per part, counted first
    counts = np.zeros(n_parts, dtype=np.int64)
    for p in range(n_parts):
        kind, loop = part_kind[p], part_at[p]
        if kind == FIRST:
            counts[p] = 1
        elif kind == SELF:
            counts[p] = n_tuples
        else:
            for t in range(1, n_tuples):
                # LOOP: the loop advanced under the same prefix; INNER: a new prefix
                same = _same(tups, t, t - 1, loop)
                if kind == INNER:
                    counts[p] += not same
                else:
                    counts[p] += same and tups[t, loop] != tups[t - 1, loop]
            counts[p] += kind == INNER
    out = np.zeros((counts.sum(), N_COLS), dtype=np.int64)
    parted = np.full(n_parts, -2, dtype=np.int64)
    held = np.full(n_coords, -1, dtype=np.int64)
    last = np.full(n_coords, -1, dtype=np.int64)
    m = 0
    for p in range(n_parts):
        kind, loop = part_kind[p], part_at[p]
        if kind == FIRST:
            held[:] = -1
            coords = active[at[0] : at[1]]
            _row(out[m], 0, held, coords, lo, hi, macs, none, union, span, visits[0], scratch)
            m += 1
        elif kind == SELF:
            for t in range(n_tuples):
                held[:] = t
                coords = active[at[t] : at[t + 1]]
                _row(out[m], t, held, coords, lo, hi, macs, none, union, span, visits[t], scratch)
                m += 1
        elif kind == LOOP:
            # the first tuple of every (outer prefix, index of the loop) after the first index;
            # each unit holds its own last active tuple
            last[:] = -1
            for t in range(n_tuples):
                coords = active[at[t] : at[t + 1]]
                if t and tups[t, loop] != tups[t - 1, loop] and _same(tups, t, t - 1, loop):
                    for cc in coords:
                        h = last[cc]
                        held[cc] = h
                        if h < 0:
                            parted[p] = -1
                        elif not _same(tups, h, t, loop):
                            k = 0
                            while tups[h, k] == tups[t, k]:
                                k += 1
                            parted[p] = k if parted[p] == -2 else min(parted[p], k)
                    _row(
                        out[m], t, held, coords, lo, hi, macs, none, union, span, visits[t], scratch
                    )
                    m += 1
                for cc in coords:
                    last[cc] = t
        else:
            # the first tuple of every outer prefix; each unit holds its last active tuple
            # of the same prefix (the group's inner loops wrapped around)
            t0 = 0
            while t0 < n_tuples:
                t1 = t0 + 1
                while t1 < n_tuples and _same(tups, t1, t0, loop):
                    t1 += 1
                coords = active[at[t0] : at[t0 + 1]]
                for cc in coords:
                    h = t1 - 1
                    while not act[h, cc]:
                        h -= 1
                    held[cc] = h
                _row(out[m], t0, held, coords, lo, hi, macs, none, union, span, visits[t0], scratch)
                m += 1
                t0 = t1
    # the fills, largest tiles and the drain (tiles each coordinate holds at the end)
    fill = np.ones(3, dtype=np.int64)
    tile_max = np.ones(3, dtype=np.int64)
    alo = np.empty(at[n_tuples], dtype=np.int64)
    ahi = np.empty(at[n_tuples], dtype=np.int64)
    for r in range(3):
        if not none[r]:
            for t in range(n_tuples):
                for k in range(at[t], at[t + 1]):
                    alo[k], ahi[k] = lo[t, active[k], r], hi[t, active[k], r]
            fill[r] = _union_size(alo, ahi)
            tile_max[r] = np.max(ahi - alo)
    drain = 1
    if not none[2]:
        dlo = np.zeros(n_coords, dtype=np.int64)
        dhi = np.zeros(n_coords, dtype=np.int64)
        for cc in range(n_coords):
            for t in range(n_tuples - 1, -1, -1):
                if act[t, cc]:
                    dlo[cc], dhi[cc] = lo[t, cc, 2], hi[t, cc, 2]
                    break
        drain = _union_size(dlo, dhi)
    return out, counts, parted, fill, tile_max, drain


@_jit
def _same(tups, a, b, length):  # type: ignore[no-untyped-def]
    """Whether tuples ``a`` and ``b`` share their first ``length`` loop indices."""
    for k in range(length):  # noqa: SIM110 (numba compiles no generator)
        if tups[a, k] != tups[b, k]:
            return False
    return True


@_jit
def part_rows(flat, counts, jcols):  # type: ignore[no-untyped-def]
    """Per part (its ``counts[p]`` rows of ``flat``, end to end): the column sums, and the
    distinct ``jcols`` columns of its rows in first-seen order with how often each occurs.

    Returns the sums (parts, columns), the distinct rows of every part end to end, their
    counts, and where each part's distinct rows start (parts + 1 bounds).
    """
    n_parts = counts.size
    n_j = jcols.size
    sums = np.zeros((n_parts, flat.shape[1]), dtype=np.int64)
    uniq = np.zeros((flat.shape[0], n_j), dtype=np.int64)
    hashes = np.zeros(flat.shape[0], dtype=np.int64)
    times = np.zeros(flat.shape[0], dtype=np.int64)
    bounds = np.zeros(n_parts + 1, dtype=np.int64)
    m = 0  # rows read
    u = 0  # distinct rows written
    for p in range(n_parts):
        first = u
        for _ in range(counts[p]):
            row = flat[m]
            m += 1
            sums[p] += row
            h = 0
            for k in range(n_j):
                h = h * 1000003 + row[jcols[k]]
            at = -1
            for v in range(first, u):
                if hashes[v] == h:
                    same = True
                    for k in range(n_j):
                        if uniq[v, k] != row[jcols[k]]:
                            same = False
                            break
                    if same:
                        at = v
                        break
            if at < 0:
                for k in range(n_j):
                    uniq[u, k] = row[jcols[k]]
                hashes[u] = h
                times[u] = 1
                u += 1
            else:
                times[at] += 1
        bounds[p + 1] = u
    return sums, uniq[:u], times[:u], bounds


@_jit
def core(trips, head, tail, axes, window, full, src, part_kind, part_at, jcols):  # type: ignore[no-untyped-def]
    """:func:`walk`, then :func:`rows` and :func:`part_rows` on its tuples, in one compiled
    call: a call from Python checks each of its arguments and boxes each array it returns,
    per core.

    Returns the walk's active mask and output intervals' ``lo``/``hi`` (for
    ``_exact_groups._staggered``), each part's row count and parting position of a late unit,
    :func:`part_rows`' sums, distinct rows, their counts and bounds, and the scalars:
    executable tuples, whether some tile holds only part of the filter window, the fills,
    largest tiles and drain. With no executable tuple, the rest is empty.
    """
    tups, act, lo, hi, macs, partial = walk(trips, head, tail, axes, window, full, src)
    scalars = np.zeros(9, dtype=np.int64)
    scalars[0], scalars[1] = tups.shape[0], partial
    n_parts = part_kind.size
    if tups.shape[0] == 0:
        no_rows = np.zeros((0, jcols.size), dtype=np.int64)
        empty = np.zeros(0, dtype=np.int64)
        sums = np.zeros((n_parts, N_COLS), dtype=np.int64)
        return act, lo[:, :, 2], hi[:, :, 2], empty, empty, sums, no_rows, empty, empty, scalars
    flat, counts, parted, fill, tile_max, drain = rows(
        tups, act, lo, hi, macs, src == NONE, part_kind, part_at
    )
    sums, uniq, times, bounds = part_rows(flat, counts, jcols)
    scalars[2:5], scalars[5:8], scalars[8] = fill, tile_max, drain
    return act, lo[:, :, 2], hi[:, :, 2], counts, parted, sums, uniq, times, bounds, scalars
