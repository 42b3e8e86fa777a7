"""The analytical cost model: (layer, hardware, batch of mappings) -> report of arrays."""

from __future__ import annotations

from mapsearch.costmodel.api import SEMANTICS, evaluate, evaluate_batch
from mapsearch.costmodel.batch import MappingBatch, Template
from mapsearch.costmodel.models import (
    DEFAULT_SEMANTICS,
    CostModel,
    ExactModel,
    MaestroModel,
    Semantics,
    cost_model,
)
from mapsearch.costmodel.report import Report, TensorCounts

__all__ = [
    "DEFAULT_SEMANTICS",
    "SEMANTICS",
    "CostModel",
    "ExactModel",
    "MaestroModel",
    "MappingBatch",
    "Report",
    "Semantics",
    "Template",
    "TensorCounts",
    "cost_model",
    "evaluate",
    "evaluate_batch",
]
