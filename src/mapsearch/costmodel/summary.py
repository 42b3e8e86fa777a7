"""What a study keeps of each scored mapping besides its objective values: the mapping as
directive text, the hardware it ran on and a few headline metrics, as aligned arrays.

A search scores thousands of mappings a second; building a ``Mapping`` value per row to
print it costs about 0.1 ms, so :func:`directive_texts` formats a whole batch of one
template at once (one format string per template, filled from the size and offset arrays).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel.batch import MappingBatch
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
    syntax, as ``maestro_file.format_directives`` writes it (``Cluster(n,P)``; ``"; "``-joined)."""
    templates, which = batch.templates()
    texts = np.empty(len(which), dtype=object)
    for k in range(len(templates)):
        rows = np.flatnonzero(which == k)
        texts[rows] = _one_template_texts(batch.take(rows))
    return texts.tolist()


def _one_template_texts(batch: MappingBatch) -> list[str]:
    parts, columns = [], []
    t = batch.template
    for j, (kind, dim) in enumerate(zip(t.kinds, t.dims, strict=True)):
        if kind is DirectiveKind.CLUSTER:
            parts.append("Cluster({},P)")
            columns.append(batch.sizes[:, j])
            continue
        name = "SpatialMap" if kind is DirectiveKind.SPATIAL else "TemporalMap"
        parts.append(f"{name}({{}},{{}}) {dim}")
        columns += [batch.sizes[:, j], batch.offsets[:, j]]
    pattern = "; ".join(parts)
    return [pattern.format(*row) for row in np.stack(columns, axis=1).tolist()]


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
