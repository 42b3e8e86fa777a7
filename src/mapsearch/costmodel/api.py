"""The cost model's entry points by semantics name (as the CLI and a study's fingerprint
give it): one batched call, resolved once to the :class:`CostModel` of that semantics."""

from __future__ import annotations

from mapsearch.costmodel.batch import MappingBatch
from mapsearch.costmodel.models import SEMANTICS, Semantics, cost_model
from mapsearch.costmodel.report import Report
from mapsearch.directives import Mapping
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

__all__ = ["SEMANTICS", "Semantics", "evaluate", "evaluate_batch"]


def evaluate_batch(
    layer: Layer,
    hardware: Hardware,
    batch: MappingBatch,
    *,
    semantics: Semantics | str = Semantics.EXACT,
) -> Report:
    """Score every mapping of ``batch`` (templates may differ row by row) on ``layer`` and
    ``hardware``.

    Mappings must be legal (see ``mapsearch.directives.validate``); the report's
    ``feasible`` flags what the model itself finds impossible.
    """
    return cost_model(semantics).evaluate_batch(layer, hardware, batch)


def evaluate(
    layer: Layer,
    hardware: Hardware,
    mapping: Mapping,
    *,
    semantics: Semantics | str = Semantics.EXACT,
) -> Report:
    """Validate and score one mapping: a batch of one."""
    from mapsearch.directives.validate import check_mapping

    check_mapping(mapping, layer, hardware)
    return evaluate_batch(
        layer, hardware, MappingBatch.from_mappings([mapping], layer), semantics=semantics
    )
