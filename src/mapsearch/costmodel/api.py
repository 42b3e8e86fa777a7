"""The cost model's entry points: one batched call, two semantics behind it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel.batch import MappingBatch
from mapsearch.costmodel.report import Report
from mapsearch.directives import Mapping
from mapsearch.errors import UnknownNameError, UnsupportedError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

Semantics = Literal["exact", "maestro"]
IntArray = npt.NDArray[np.int64]
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

        return _by_template(exact.evaluate_batch, layer, hardware, batch)
    raise UnknownNameError("semantics", semantics, SEMANTICS)


def _by_template(
    evaluate: Callable[[Layer, Hardware, MappingBatch], Report],
    layer: Layer,
    hardware: Hardware,
    batch: MappingBatch,
) -> Report:
    """``evaluate`` (which takes one template at a time) on every template of ``batch``,
    reassembled in the batch's order; refusals name their rows in the whole batch."""
    templates, which = batch.templates()
    if len(templates) == 1:
        return evaluate(layer, hardware, batch)
    parts: list[Report] = []
    positions: list[IntArray] = []
    refused: list[int] = []
    first: UnsupportedError | None = None
    for k in range(len(templates)):
        rows = np.flatnonzero(which == k)
        try:
            parts.append(evaluate(layer, hardware, batch.take(rows)))
            positions.append(rows)
        except UnsupportedError as e:
            first = first or e
            refused += rows[list(e.rows)].tolist() if e.rows else rows.tolist()
    if first is not None:
        raise UnsupportedError(str(first), rows=sorted(refused))
    order = np.argsort(np.concatenate(positions))
    return Report.concat(parts).take(order)


def evaluate(
    layer: Layer, hardware: Hardware, mapping: Mapping, *, semantics: str = "exact"
) -> Report:
    """Validate and score one mapping: a batch of one."""
    from mapsearch.directives.validate import check_mapping

    check_mapping(mapping, layer, hardware)
    return evaluate_batch(
        layer, hardware, MappingBatch.from_mappings([mapping], layer), semantics=semantics
    )
