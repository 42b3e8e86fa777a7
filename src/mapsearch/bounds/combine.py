"""Count bounds of sets of mappings of one structure, from per-group factor minima.

See :mod:`mapsearch.bounds.table` for why it is sound: per step class and group the factor
is replaced by its minimum over the parts the set's loop orders allow and over the
configurations it allows; counts of new elements are summed in their telescoped form
``sum_j prod_{g<j} G_g (U_j - G_j) prod_{g>j} U_g``, whose factors are all nonnegative.
Everything is vectorised over a leading axis of ``B`` sets.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.bounds._kernel import class_terms
from mapsearch.bounds.counts import CountBounds, ceil_down, compulsory
from mapsearch.bounds.table import MACMAX, N_FEATURES, PAIRS, StructureTable
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_I, _F, _O, _H, _NI, _NF = range(len(PAIRS))


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupValues:
    """Per set and group, the least factors its allowed configurations have: ``features``
    ``(B, G, P, N_FEATURES)`` (``inf`` for parts a group lacks), ``fill``/``tile_max``
    ``(B, G, 3)``, ``drain``/``compute`` ``(B, G)``."""

    features: FloatArray
    fill: FloatArray
    tile_max: FloatArray
    drain: FloatArray
    compute: FloatArray


def group_values(table: StructureTable, configs: list[list[npt.NDArray[np.int64]]]) -> GroupValues:
    """``configs[b][g]``: the configurations of group ``g`` set ``b`` allows (non-empty)."""
    P = table.masks[0].shape[3]
    B, G = len(configs), len(table.groups)
    feats = np.full((B, G, P, N_FEATURES), np.inf)
    fill = np.zeros((B, G, 3))
    tmax = np.zeros((B, G, 3))
    drain = np.zeros((B, G))
    comp = np.zeros((B, G))
    for g, grp in enumerate(table.groups):
        Pg = len(grp.parts)
        for b in range(B):
            a = configs[b][g]
            feats[b, g, :Pg] = grp.features[a].min(axis=0)
            fill[b, g] = grp.fill[a].min(axis=0)
            tmax[b, g] = grp.tile_max[a].min(axis=0)
            drain[b, g] = grp.drain[a].min()
            comp[b, g] = grp.compute[a].min()
    return GroupValues(features=feats, fill=fill, tile_max=tmax, drain=drain, compute=comp)


def count_bounds(
    table: StructureTable, mask: BoolArray, values: GroupValues, hardware: Hardware
) -> CountBounds:
    """Bounds of the counts of ``B`` sets of mappings of ``table``'s structure.

    ``mask``: ``(B, C, G, P)`` (or ``(1, C, G, P)`` for all sets), the parts each group may
    play in each step class; ``values``: the least factors of the configurations each set
    allows (``B`` or 1 rows).
    """
    layer = table.layer
    f = values.features
    terms, missing = class_terms(
        np.ascontiguousarray(mask), np.ascontiguousarray(f), len(PAIRS), MACMAX
    )  # (pairs + 1, B, C)
    if missing:
        raise ValueError("a group plays no known part in some step class (a bug)")
    l2_in, l2_filt = terms[_I], terms[_F]
    egress = terms[_H]
    compute = terms[len(PAIRS)]  # (B, C): summed largest PE MACs per class
    # later steps: per class, the sum of max(ingress, compute, egress) delays is at least the
    # largest of the summed delays; a delay of n > 0 words is >= ceil(n / bw) if latency >= 1
    later = ceil_down(compute[:, 1:] / hardware.vector_width)
    if hardware.noc_latency_cycles >= 1:
        bw = hardware.noc_bw_words_per_cycle
        later = np.maximum(later, ceil_down((l2_in[:, 1:] + l2_filt[:, 1:]) / bw))
        later = np.maximum(later, ceil_down(egress[:, 1:] / bw))
    fill = values.fill.prod(axis=1)  # (B, 3)
    drain = values.drain.prod(axis=1)
    out_size = float(layer.tensor_size("output"))
    B = max(mask.shape[0], f.shape[0])
    floor = _compulsory(layer, table.num_pes)

    # per count, its bounds: each fetched element is read from L2 and written into some L1
    # at least once (fill); every count is also at least its compulsory floor
    named: dict[str, tuple[FloatArray | float, ...]] = {
        "l1_writes_input": (terms[_NI].sum(axis=1), fill[:, 0]),
        "l1_writes_filter": (terms[_NF].sum(axis=1), fill[:, 1]),
        "l2_reads_input": (l2_in.sum(axis=1), fill[:, 0]),
        "l2_reads_filter": (l2_filt.sum(axis=1), fill[:, 1]),
        # partial-sum reads: entering minus first visits, which total the output size at most
        "l2_reads_output": (terms[_O].sum(axis=1) - out_size, 0.0),
        "l2_writes_input": (fill[:, 0],),
        "l2_writes_filter": (fill[:, 1],),
        "l2_writes_output": (egress.sum(axis=1) + drain,),
        "compute_macs": (values.compute.prod(axis=1), compute.sum(axis=1)),
        "first_ingress_words": (l2_in[:, 0] + l2_filt[:, 0],),
        "first_compute_macs": (compute[:, 0],),
        "later_step_cycles": (later.sum(axis=1),),
        "egress_words": (egress.sum(axis=1),),
        "drain_words": (drain,),
        "offchip_words": (fill.sum(axis=1),),
        "l1_words": (2 * values.tile_max.prod(axis=1).sum(axis=1),),
    }
    out = {}
    for name, bounds in named.items():
        x = np.full(B, floor[name])
        for b in bounds:
            np.maximum(x, b, out=x)
        out[name] = x
    return CountBounds(**out)


@functools.cache
def _compulsory(layer: Layer, num_pes: int) -> dict[str, float]:
    """:func:`compulsory`'s counts as floats, by field (the same for every node of a table)."""
    c = compulsory(layer, num_pes)
    return {k: float(getattr(c, k)[0]) for k in CountBounds.__dataclass_fields__}
