"""The cost model's entry points: one batched call, two semantics behind it."""

from __future__ import annotations

from enum import StrEnum

from mapsearch.costmodel.batch import MappingBatch
from mapsearch.costmodel.report import Report
from mapsearch.directives import Mapping
from mapsearch.errors import UnknownNameError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer


class Semantics(StrEnum):
    """Which model scores a mapping: ``exact`` counts data movement exactly (the simulator's
    semantics, the default), ``maestro`` reproduces MAESTRO's numbers. A ``str``, so the
    JSON outputs and stored fingerprints hold the plain name."""

    EXACT = "exact"
    MAESTRO = "maestro"

    @classmethod
    def parse(cls, name: str) -> Semantics:
        """The semantics called ``name`` (any case); ``UnknownNameError`` lists the others."""
        try:
            return cls(name.strip().lower())
        except ValueError:
            raise UnknownNameError("semantics", name, SEMANTICS) from None


SEMANTICS: tuple[str, ...] = tuple(s.value for s in Semantics)


def evaluate_batch(
    layer: Layer,
    hardware: Hardware,
    batch: MappingBatch,
    *,
    semantics: Semantics | str = Semantics.EXACT,
) -> Report:
    """Score every mapping of ``batch`` (one template) on ``layer`` and ``hardware``.

    Mappings must be legal (see ``mapsearch.directives.validate``); the report's
    ``feasible`` flags what the model itself finds impossible.
    """
    if Semantics.parse(semantics) is Semantics.MAESTRO:
        from mapsearch.costmodel import maestro

        return maestro.evaluate_batch(layer, hardware, batch)
    from mapsearch.costmodel import exact

    return exact.evaluate_batch(layer, hardware, batch)


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
