"""The exact semantics' timing rules, as functions of NoC-independent counts and the NoC.

``docs/semantics.md`` rules 12-13: a step moves ``ingress`` words in and ``egress`` words out
and computes for ``ceil(macmax / vector width)`` cycles; the first step costs ingress +
compute, every later one ``max(ingress, compute, egress)``, the drain adds its egress delay,
and off-chip traffic floors the total. None of the counts depends on the NoC bandwidth, so
:mod:`mapsearch.costmodel._exact_groups` counts a batch once, times its step cases for one
bandwidth or for many at once (compiled, :mod:`mapsearch.costmodel._exact_combine`), and
these functions add the drain and the off-chip floor (``runtime_sweep``: arrays with a
bandwidth axis).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


def noc_delay_cycles(
    words: IntArray, latency_cycles: int, bw_words_per_cycle: int | IntArray
) -> IntArray:
    """Rule 12: 0 for no words, else ``latency + ceil(words / bw) - 1`` (broadcasts, so an
    array of bandwidths gives one delay per bandwidth)."""
    d = latency_cycles + -(-words // bw_words_per_cycle) - 1
    return np.where(words > 0, d, 0)


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
