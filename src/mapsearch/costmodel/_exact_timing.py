"""The exact semantics' timing rules, as functions of NoC-independent counts and the NoC.

``docs/semantics.md`` rules 12-13: a step moves ``ingress`` words in and ``egress`` words out
and computes for ``ceil(macmax / vector width)`` cycles; the first step costs ingress +
compute, every later one ``max(ingress, compute, egress)``, the drain adds its egress delay,
and off-chip traffic floors the total. None of the counts depends on the NoC bandwidth, so
:mod:`mapsearch.costmodel._exact_groups` counts a batch once and these functions time it for
one bandwidth or for many at once (``runtime_sweep``: arrays with a bandwidth axis).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Largest (bandwidths x step cases) block timed at once in a sweep.
_SWEEP_BLOCK_ELEMENTS = 1 << 21


def noc_delay_cycles(
    words: IntArray, latency_cycles: int, bw_words_per_cycle: int | IntArray
) -> IntArray:
    """Rule 12: 0 for no words, else ``latency + ceil(words / bw) - 1`` (broadcasts, so an
    array of bandwidths gives one delay per bandwidth)."""
    d = latency_cycles + -(-words // bw_words_per_cycle) - 1
    return np.where(words > 0, d, 0)


def step_cycles(
    first: BoolArray, ingress: IntArray, compute: IntArray, egress: IntArray
) -> IntArray:
    """Rule 13: the first step's ingress + compute, any later step's
    ``max(ingress, compute, egress)`` (double buffering); arguments are delays in cycles."""
    return np.where(first, ingress + compute, np.maximum(np.maximum(ingress, compute), egress))


def swept_steps_cycles(
    seg: IntArray,
    first: BoolArray,
    ingress_words: IntArray,
    egress_words: IntArray,
    compute_cycles: IntArray,
    count: IntArray,
    latency_cycles: int,
    bws_words_per_cycle: IntArray,
) -> IntArray:
    """Per mapping and NoC bandwidth, the cycles of the step cases: shape (len(seg), n_bw).

    The cases are sorted by mapping, ``seg`` holds where each mapping's cases start; a case
    stands for ``count`` steps. Bandwidths are timed in blocks so a block of delays stays
    within ``_SWEEP_BLOCK_ELEMENTS``.
    """
    n_bw = bws_words_per_cycle.size
    out = np.empty((seg.size, n_bw), dtype=np.int64)
    block = max(1, _SWEEP_BLOCK_ELEMENTS // max(count.size, 1))
    for lo in range(0, n_bw, block):
        bws = bws_words_per_cycle[lo : lo + block, None]
        din = noc_delay_cycles(ingress_words, latency_cycles, bws)
        dout = noc_delay_cycles(egress_words, latency_cycles, bws)
        steps = step_cycles(first, din, compute_cycles, dout) * count
        out[:, lo : lo + block] = np.add.reduceat(steps, seg, axis=1).T
    return out


def swept_runtime_cycles(
    steps_cycles: IntArray,
    drain_words: IntArray,
    offchip_words: IntArray,
    latency_cycles: int,
    bws_words_per_cycle: IntArray,
    offchip_bw_words_per_cycle: int,
) -> IntArray:
    """Runtime per mapping and NoC bandwidth, shape (B, n_bw), from the summed step cycles
    (B, n_bw): plus the drain's egress delay, floored by off-chip words / off-chip bandwidth."""
    drain = noc_delay_cycles(drain_words[:, None], latency_cycles, bws_words_per_cycle[None, :])
    floor = -(-offchip_words // offchip_bw_words_per_cycle)
    return np.maximum(steps_cycles + drain, floor[:, None])
