"""What a study keeps of each scored mapping besides its objective values: the mapping as
directive text, the hardware it ran on and a few headline metrics, as aligned arrays.

A search scores thousands of mappings a second; building a ``Mapping`` value per row to
print it costs about 0.1 ms, so :func:`directive_texts` formats a batch straight from its
code, size and offset arrays.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel.batch import DIM_NAMES, KINDS, NONE, IntArray, MappingBatch
from mapsearch.costmodel.report import Report
from mapsearch.directives import DirectiveKind
from mapsearch.hardware import Hardware

FloatArray = npt.NDArray[np.float64]
ObjArray = npt.NDArray[np.object_]

#: Report fields kept per scored mapping, in column order of ``Summaries.metrics``.
TRIAL_METRICS: tuple[str, ...] = (
    "runtime_cycles",
    "energy_total",
    "l1_size_words",
    "l2_size_words",
    "peak_noc_bw_words_per_cycle",
)


def directive_texts(batch: MappingBatch) -> list[str]:
    """Each mapping of ``batch`` (templates may differ row by row) on one line in MAESTRO
    syntax, as ``maestro_file.format_directives`` writes it (``Cluster(n,P)``; ``"; "``-joined).

    Each distinct directive (kind, dimension, size, offset) of the batch is formatted once,
    then every row joins its own: no per-template sub-batches, which cost more than the
    formatting when (as in a search) almost every row has its own template.
    """
    b, n = batch.sizes.shape
    if b == 0:
        return []
    columns = [batch.kinds, batch.dims, batch.sizes, batch.offsets]
    distinct, where = _distinct_rows([np.asarray(c, dtype=np.int64).ravel() for c in columns])
    # each directive with the separator in front ("" for padding), dropped again per row
    text = np.asarray(
        [
            "" if k == NONE else "; " + _pattern(k, d).format(s, o)
            for k, d, s, o in distinct.tolist()
        ],
        dtype=object,
    )
    return ["".join(row)[2:] for row in text[where.reshape(b, n)].tolist()]


def _distinct_rows(columns: list[IntArray]) -> tuple[IntArray, IntArray]:
    """The distinct rows of the table of ``columns`` (shape ``(k, len(columns))``) and each
    row's index among them: by one integer per row where the columns' ranges allow it
    (a sort of int64 is many times faster than ``np.unique(..., axis=0)``), read back
    into the columns' values."""
    lows = [int(c.min()) for c in columns]
    spans = [int(c.max()) - low + 1 for c, low in zip(columns, lows, strict=True)]
    if math.prod(spans) >= 2**63:
        found, where = np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)
        return found, where.ravel()
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for c, low, span in zip(columns, lows, spans, strict=True):
        key = key * span + (c - low)
    found, where = np.unique(key, return_inverse=True)  # (return_index sorts stably: slower)
    out = np.empty((found.size, len(columns)), dtype=np.int64)
    for n in reversed(range(len(columns))):  # the integers read back, last column first
        found, out[:, n] = np.divmod(found, spans[n])
        out[:, n] += lows[n]
    return out, where


@functools.cache
def _pattern(kind: int, dim: int) -> str:
    """The text of a directive of kind code ``kind`` on dimension code ``dim``, with ``{0}``
    for its size and ``{1}`` for its offset."""
    k = KINDS[kind]
    if k is DirectiveKind.CLUSTER:
        return "Cluster({0},P)"
    name = "SpatialMap" if k is DirectiveKind.SPATIAL else "TemporalMap"
    return f"{name}({{0}},{{1}}) {DIM_NAMES[dim]}"


def metric_columns(report: Report) -> FloatArray:
    """The ``TRIAL_METRICS`` of every row of ``report``, shape ``(B, len(TRIAL_METRICS))``."""
    return np.stack(
        [np.asarray(getattr(report, name), dtype=np.float64) for name in TRIAL_METRICS], axis=1
    )


def hardware_attrs(hw: Hardware) -> dict[str, Any]:
    """The hardware of a trial, JSON-ready: its name, sizes and bandwidths (the energy table
    is the study's, in its problem)."""
    return {
        "name": hw.name,
        "num_pes": hw.num_pes,
        "vector_width": hw.vector_width,
        "l1_size_words": hw.l1_size_words,
        "l2_size_words": hw.l2_size_words,
        "noc_bw_words_per_cycle": hw.noc_bw_words_per_cycle,
        "noc_latency_cycles": hw.noc_latency_cycles,
        "offchip_bw_words_per_cycle": hw.offchip_bw_words_per_cycle,
        "word_bytes": hw.word_bytes,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Summaries:
    """Per row of a batch of genotypes: ``mappings`` (directive text, "" where the genotype
    did not decode), ``hardware`` (a ``Hardware``, None where it did not decode) and
    ``metrics`` (``TRIAL_METRICS`` columns, NaN where the cost model did not score it)."""

    mappings: ObjArray
    hardware: ObjArray
    metrics: FloatArray

    def __post_init__(self) -> None:
        n = self.mappings.shape[0]
        if self.hardware.shape != (n,) or self.metrics.shape != (n, len(TRIAL_METRICS)):
            raise ValueError(
                f"mappings, hardware and metrics must have shapes ({n},), ({n},) and "
                f"({n}, {len(TRIAL_METRICS)}), got {self.hardware.shape} and {self.metrics.shape}"
            )

    @classmethod
    def empty(cls, n: int) -> Summaries:
        return cls(
            mappings=np.full(n, "", dtype=object),
            hardware=np.full(n, None, dtype=object),
            metrics=np.full((n, len(TRIAL_METRICS)), np.nan),
        )

    def take(self, index: npt.ArrayLike) -> Summaries:
        idx = np.asarray(index)
        return Summaries(
            mappings=self.mappings[idx], hardware=self.hardware[idx], metrics=self.metrics[idx]
        )

    @classmethod
    def concat(cls, parts: Sequence[Summaries]) -> Summaries:
        return cls(
            mappings=np.concatenate([p.mappings for p in parts]),
            hardware=np.concatenate([p.hardware for p in parts]),
            metrics=np.concatenate([p.metrics for p in parts]),
        )
