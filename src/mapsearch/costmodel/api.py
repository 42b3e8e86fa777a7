"""The cost model's entry points: one batched call, two semantics behind it."""

from __future__ import annotations

from typing import Literal

from mapsearch.costmodel.batch import MappingBatch
from mapsearch.costmodel.report import Report
from mapsearch.directives import Mapping
from mapsearch.errors import UnknownNameError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

Semantics = Literal["exact", "maestro"]
SEMANTICS: tuple[str, ...] = ("exact", "maestro")


def evaluate_batch(
    layer: Layer, hardware: Hardware, batch: MappingBatch, *, semantics: str = "exact"
) -> Report:
    """Score every mapping of ``batch`` (one template) on ``layer`` and ``hardware``.

    Mappings must be legal (see ``mapsearch.directives.validate``); the report's
    ``feasible`` flags what the model itself finds impossible.
    """
    if semantics == "maestro":
        from mapsearch.costmodel import maestro

        return maestro.evaluate_batch(layer, hardware, batch)
    if semantics == "exact":
        from mapsearch.costmodel import exact

        return exact.evaluate_batch(layer, hardware, batch)
    raise UnknownNameError("semantics", semantics, SEMANTICS)


def evaluate(
    layer: Layer, hardware: Hardware, mapping: Mapping, *, semantics: str = "exact"
) -> Report:
    """Validate and score one mapping: a batch of one."""
    from mapsearch.directives.validate import check_mapping

    check_mapping(mapping, layer, hardware)
    return evaluate_batch(
        layer, hardware, MappingBatch.from_mappings([mapping], layer), semantics=semantics
    )
