"""Groups' parts combined per mapping and step class, compiled with numba.

:func:`mapsearch.costmodel._exact_groups.combine` gathers, for every mapping of a batch and
every step class, the part each group plays there (a row of a part table); this kernel
multiplies them out in one pass: the row counts and column sums (products over groups,
summed over classes) and every joint runtime case (the product of the groups' distinct
runtime rows), timed by ``docs/semantics.md`` rules 12-13 (at the hardware's NoC bandwidth
and at every bandwidth of a sweep) and reduced per mapping. A mapping's cases are never
stored, so a batch costs the number of its cases, with no intermediate arrays.

Runtime columns (``_exact_groups._JOINT``): ``macmax``, then the input, filter and output
unions and kept elements (``Ui``, ``Gi``, ``Uf``, ``Gf``, ``Uo``, ``Go``), the written-back
partial sums (``Uh``, ``Gh``) and the first visits of outputs (``FV``).
"""

from __future__ import annotations

import numba as nb
import numpy as np

_jit = nb.njit(cache=True, error_model="numpy", nogil=True)
_inline = nb.njit(cache=True, error_model="numpy", nogil=True, inline="always")

MACMAX, UI, GI, UF, GF, UO, GO, UH, GH, FV = range(10)
#: Delay columns of :func:`combine_parts`' minimum, maximum and sum: ingress, egress, compute.
INGRESS, EGRESS, COMPUTE = range(3)
_NO_MIN = np.iinfo(np.int64).max


@_inline
def _delay(words, latency, bw):  # type: ignore[no-untyped-def]
    """Rule 12: 0 for no words, else ``latency + ceil(words / bw) - 1``."""
    return latency + -(-words // bw) - 1 if words > 0 else 0


@_inline
def _step(first, ingress, compute, egress):  # type: ignore[no-untyped-def]
    """Rule 13: the first step's ingress + compute, any later step's
    ``max(ingress, compute, egress)`` (delays in cycles)."""
    return ingress + compute if first else max(ingress, compute, egress)


@_inline
def load_case(mine, n, at, redo, jstart, joint, jcount, acc, cnt):  # type: ignore[no-untyped-def]
    """The current case of ``n`` groups playing parts ``mine``: the product of group ``g``'s
    runtime row ``at[g]`` and those before it into ``acc[g + 1]``, their counts into
    ``cnt[g + 1]``, for the groups from ``redo`` on (those before it did not move)."""
    for g in range(redo, n):
        r = jstart[mine[g]] + at[g]
        for k in range(joint.shape[1]):
            acc[g + 1, k] = acc[g, k] * joint[r, k]
        cnt[g + 1] = cnt[g] * jcount[r]


@_inline
def next_case(mine, n, at, jlens):  # type: ignore[no-untyped-def]
    """The next case: the last group that has a next row moves on, the later ones restart;
    the first group that moved, or -1 after the last case."""
    g = n - 1
    while g >= 0:
        at[g] += 1
        if at[g] < jlens[mine[g]]:
            return g
        at[g] = 0
        g -= 1
    return -1


@_inline
def case_words(row, vector_width):  # type: ignore[no-untyped-def]
    """A case's (product row's) new ingress words, egress words and compute cycles."""
    ingress = (row[UI] - row[GI]) + (row[UF] - row[GF]) + (row[UO] - row[GO] - row[FV])
    return ingress, row[UH] - row[GH], -(-row[MACMAX] // vector_width)


@_jit
def combine_parts(  # type: ignore[no-untyped-def]
    start,
    local,
    rows,
    one,
    nrows,
    sums,
    jstart,
    jlens,
    joint,
    jcount,
    vector_width,
    latency,
    bw,
    bws,
):
    """Per mapping: steps (row counts), column totals, step cycles, the three delays'
    minimum, maximum and count-weighted sum, the largest NoC bandwidth of the first step
    and of later steps, and the step cycles at every bandwidth of ``bws``.

    Group ``g`` of mapping ``k`` plays in class ``c`` (0: the first step) the part (row of
    the table ``nrows``, ``sums``, ``jstart``, ``jlens``, ``joint``, ``jcount``)
    ``start[g, k] + local[g, rows[k], c]``, its core's first part plus its local part
    (:func:`mapsearch.costmodel._exact_rows.read_rows`); where ``start[g, k]`` is ``one``
    the mapping lacks the group, which changes nothing (a part of ones), and is left out. A
    class where some group's local part is negative (past the mapping's loops: so are all
    its later classes), or has no rows and zero sums, adds nothing (its products are
    zero). A mapping without cases keeps ``_NO_MIN`` as its minimum delays.
    """
    n_groups, n_maps = start.shape
    n_classes = local.shape[2]
    n_cols, n_joint, n_bw = sums.shape[1], joint.shape[1], bws.shape[0]
    empty = np.zeros(nrows.shape[0], dtype=np.bool_)
    for p in range(nrows.shape[0]):
        empty[p] = nrows[p] == 0 and jlens[p] == 0 and not sums[p].any()
    steps = np.zeros(n_maps, dtype=np.int64)
    totals = np.zeros((n_maps, n_cols), dtype=np.int64)
    cycles = np.zeros(n_maps, dtype=np.int64)
    dmin = np.full((n_maps, 3), _NO_MIN, dtype=np.int64)
    dmax = np.zeros((n_maps, 3), dtype=np.int64)
    dsum = np.zeros((n_maps, 3), dtype=np.int64)
    peak = np.zeros((n_maps, 2), dtype=np.float64)  # first step, later steps
    swept = np.zeros((n_maps, n_bw), dtype=np.int64)
    mine = np.empty(n_groups, dtype=np.int64)  # the parts of the groups a mapping has
    prod = np.empty(n_cols, dtype=np.int64)
    at = np.zeros(n_groups, dtype=np.int64)  # each group's current runtime row
    # products of the groups' current rows up to each group (row 0: ones)
    acc = np.ones((n_groups + 1, n_joint), dtype=np.int64)
    cnt = np.ones(n_groups + 1, dtype=np.int64)
    delays = np.zeros(3, dtype=np.int64)
    for b in range(n_maps):
        for c in range(n_classes):
            past = False  # past the mapping's loops: so are its later classes
            skip = False
            n_mine = 0
            for g in range(n_groups):
                if start[g, b] == one:
                    continue
                part = local[g, rows[b], c]
                if part < 0:
                    past = True
                    break
                part += start[g, b]
                if empty[part]:
                    skip = True
                    break
                mine[n_mine] = part
                n_mine += 1
            if past:
                break
            if skip:
                continue
            n = 1
            cases = 1
            prod[:] = 1
            for g in range(n_mine):
                p = mine[g]
                n *= nrows[p]
                cases *= jlens[p]
                for k in range(n_cols):
                    prod[k] *= sums[p, k]
            steps[b] += n
            for k in range(n_cols):
                totals[b, k] += prod[k]
            if cases == 0:
                continue
            first = c == 0
            at[:] = 0
            redo = 0  # groups from here on moved to a new row (-1: no case left)
            while redo >= 0:
                load_case(mine, n_mine, at, redo, jstart, joint, jcount, acc, cnt)
                times = cnt[n_mine]
                ingress, egress, compute = case_words(acc[n_mine], vector_width)
                delays[INGRESS] = _delay(ingress, latency, bw)
                delays[EGRESS] = _delay(egress, latency, bw)
                delays[COMPUTE] = compute
                cycles[b] += _step(first, delays[INGRESS], compute, delays[EGRESS]) * times
                for k in range(n_bw):
                    din = _delay(ingress, latency, bws[k])
                    dout = _delay(egress, latency, bws[k])
                    swept[b, k] += _step(first, din, compute, dout) * times
                for d in range(3):
                    dmin[b, d] = min(dmin[b, d], delays[d])
                    dmax[b, d] = max(dmax[b, d], delays[d])
                    dsum[b, d] += delays[d] * times
                rate = max(ingress, egress) / max(compute, 1)
                later = 0 if first else 1
                peak[b, later] = max(peak[b, later], rate)
                redo = next_case(mine, n_mine, at, jlens)
    return steps, totals, cycles, dmin, dmax, dsum, peak, swept


@_jit
def unpack(flat, n_pieces, n_cols, n_joint):  # type: ignore[no-untyped-def]
    """Flat pieces end to end (``_exact_groups.piece``) read back as one part table: column
    sums, row counts, numbers of distinct runtime rows, those rows and their counts, and
    the index of each piece's first part."""
    n_parts = 0
    n_rows = 0
    at = 0
    for _ in range(n_pieces):
        n, m = flat[at], flat[at + 1]
        n_parts += n
        n_rows += m
        at += 2 + n * (n_cols + 2) + m * (n_joint + 1)
    sums = np.empty((n_parts, n_cols), dtype=np.int64)
    nrows = np.empty(n_parts, dtype=np.int64)
    jlens = np.empty(n_parts, dtype=np.int64)
    joint = np.empty((n_rows, n_joint), dtype=np.int64)
    jcount = np.empty(n_rows, dtype=np.int64)
    starts = np.empty(n_pieces, dtype=np.int64)
    p = 0
    r = 0
    at = 0
    for k in range(n_pieces):
        n, m = flat[at], flat[at + 1]
        at += 2
        starts[k] = p
        sums[p : p + n] = flat[at : at + n * n_cols].reshape((n, n_cols))
        at += n * n_cols
        nrows[p : p + n] = flat[at : at + n]
        jlens[p : p + n] = flat[at + n : at + 2 * n]
        at += 2 * n
        joint[r : r + m] = flat[at : at + m * n_joint].reshape((m, n_joint))
        at += m * n_joint
        jcount[r : r + m] = flat[at : at + m]
        at += m
        p += n
        r += m
    return sums, nrows, jlens, joint, jcount, starts
