"""The analytical cost model: (layer, hardware, batch of mappings) -> report of arrays."""

from __future__ import annotations

from mapsearch.costmodel.api import SEMANTICS, Semantics, evaluate, evaluate_batch
from mapsearch.costmodel.batch import MappingBatch, Template
from mapsearch.costmodel.report import Report, TensorCounts

__all__ = [
    "SEMANTICS",
    "MappingBatch",
    "Report",
    "Semantics",
    "Template",
    "TensorCounts",
    "evaluate",
    "evaluate_batch",
]
