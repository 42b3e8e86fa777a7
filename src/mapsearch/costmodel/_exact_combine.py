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


@_jit
def combine_parts(  # type: ignore[no-untyped-def]
    parts, nrows, sums, jstart, jlens, joint, jcount, vector_width, latency, bw, bws
):
    """Per mapping: steps (row counts), column totals, step cycles, the three delays'
    minimum, maximum and count-weighted sum, the largest NoC bandwidth of the first step
    and of later steps, and the step cycles at every bandwidth of ``bws``.

    ``parts[b, c, g]``: the part (row of the table ``nrows``, ``sums``, ``jstart``,
    ``jlens``, ``joint``, ``jcount``) that group ``g`` plays in class ``c`` of mapping
    ``b``; class 0 is the first step. A class where some group's part has no rows and zero
    sums adds nothing (its products are zero). A mapping without cases keeps ``_NO_MIN``
    as its minimum delays.
    """
    n_maps, n_classes, n_groups = parts.shape
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
    prod = np.empty(n_cols, dtype=np.int64)
    at = np.zeros(n_groups, dtype=np.int64)  # each group's current runtime row
    # products of the groups' current rows up to each group (row 0: ones)
    acc = np.ones((n_groups + 1, n_joint), dtype=np.int64)
    cnt = np.ones(n_groups + 1, dtype=np.int64)
    delays = np.zeros(3, dtype=np.int64)
    for b in range(n_maps):
        for c in range(n_classes):
            mine = parts[b, c]
            skip = False
            for g in range(n_groups):
                skip |= empty[mine[g]]
            if skip:
                continue
            n = 1
            cases = 1
            prod[:] = 1
            for g in range(n_groups):
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
            redo = 0  # groups from here on moved to a new row
            while True:
                for g in range(redo, n_groups):
                    r = jstart[mine[g]] + at[g]
                    for k in range(n_joint):
                        acc[g + 1, k] = acc[g, k] * joint[r, k]
                    cnt[g + 1] = cnt[g] * jcount[r]
                row = acc[n_groups]
                times = cnt[n_groups]
                ingress = (row[UI] - row[GI]) + (row[UF] - row[GF]) + (row[UO] - row[GO] - row[FV])
                egress = row[UH] - row[GH]
                compute = -(-row[MACMAX] // vector_width)
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
                # the next case: the last group that has a next row moves on, later ones reset
                g = n_groups - 1
                while g >= 0:
                    at[g] += 1
                    if at[g] < jlens[mine[g]]:
                        break
                    at[g] = 0
                    g -= 1
                if g < 0:
                    break
                redo = g
    return steps, totals, cycles, dmin, dmax, dsum, peak, swept


@_jit
def place_parts(start, local, rows, n_classes, zero, one):  # type: ignore[no-untyped-def]
    """Every row's part per class and group, shape ``(len(rows), n_classes, groups)``:
    ``one`` where the group's first part ``start[g, k]`` is ``one`` (the row lacks the
    group), ``zero`` where its local part ``local[g, rows[k], c]`` is negative (a class
    past the row's loops), else ``start + local``."""
    n_groups = start.shape[0]
    parts = np.empty((rows.shape[0], n_classes, n_groups), dtype=np.int64)
    for k in range(rows.shape[0]):
        for c in range(n_classes):
            for g in range(n_groups):
                at = local[g, rows[k], c]
                if start[g, k] == one:
                    parts[k, c, g] = one
                elif at < 0:
                    parts[k, c, g] = zero
                else:
                    parts[k, c, g] = start[g, k] + at
    return parts
