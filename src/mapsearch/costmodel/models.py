"""The cost model's two semantics behind one protocol, so callers hold a model, not a string.

:func:`cost_model` turns a semantics name (``SEMANTICS``) into its :class:`CostModel`; unknown
names list the known ones. Every model scores a batch of mixed templates and sweeps NoC
bandwidths; both count once and re-time per bandwidth (maestro re-times one reuse analysis,
exact re-times its step cases).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel.batch import MappingBatch
from mapsearch.costmodel.report import Report
from mapsearch.errors import UnknownNameError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

IntArray = npt.NDArray[np.int64]


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
#: The semantics every command and API scores with unless told otherwise.
DEFAULT_SEMANTICS = Semantics.EXACT


class CostModel(Protocol):
    """One semantics of the cost model: pure functions of (layer, hardware, batch).

    ``evaluate_batch`` scores every row of ``batch`` (rows may have different templates);
    mappings must be legal, and the report's ``feasible`` flags what the model itself
    finds impossible. Rows the model cannot score raise ``UnsupportedError``/``MappingError``
    naming them in ``rows``. ``runtime_sweep`` gives the runtime (cycles) of every row for
    each NoC bandwidth, shape ``(n_bw, B)``, equal to separate evaluations; of the counts a
    design-space sweep reads (energy, MACs, buffer requirements, feasibility) none depends
    on the NoC bandwidth, except that a maestro runtime may fall below its ideal (infeasible).
    ``evaluate_sweep`` gives both, the report on ``hardware`` and the sweep, as one call.
    """

    @property
    def semantics(self) -> Semantics: ...

    def evaluate_batch(self, layer: Layer, hardware: Hardware, batch: MappingBatch) -> Report: ...

    def runtime_sweep(
        self,
        layer: Layer,
        hardware: Hardware,
        batch: MappingBatch,
        noc_bws_words_per_cycle: Sequence[int],
    ) -> IntArray: ...

    def evaluate_sweep(
        self,
        layer: Layer,
        hardware: Hardware,
        batch: MappingBatch,
        noc_bws_words_per_cycle: Sequence[int],
    ) -> tuple[Report, IntArray]: ...


@dataclass(frozen=True, slots=True)
class MaestroModel:
    """MAESTRO's semantics (:mod:`mapsearch.costmodel.maestro`)."""

    semantics: Semantics = Semantics.MAESTRO

    def evaluate_batch(self, layer: Layer, hardware: Hardware, batch: MappingBatch) -> Report:
        from mapsearch.costmodel import maestro

        return maestro.evaluate_batch(layer, hardware, batch)

    def runtime_sweep(
        self,
        layer: Layer,
        hardware: Hardware,
        batch: MappingBatch,
        noc_bws_words_per_cycle: Sequence[int],
    ) -> IntArray:
        from mapsearch.costmodel import maestro

        return maestro.runtime_sweep(layer, hardware, batch, noc_bws_words_per_cycle)

    def evaluate_sweep(
        self,
        layer: Layer,
        hardware: Hardware,
        batch: MappingBatch,
        noc_bws_words_per_cycle: Sequence[int],
    ) -> tuple[Report, IntArray]:
        """``evaluate_batch``, then ``runtime_sweep``."""
        return (
            self.evaluate_batch(layer, hardware, batch),
            self.runtime_sweep(layer, hardware, batch, noc_bws_words_per_cycle),
        )


@dataclass(frozen=True, slots=True)
class ExactModel:
    """The exact semantics (:mod:`mapsearch.costmodel.exact`, equal to the simulator),
    which scores a batch of mixed templates in one call; a sweep counts once and re-times
    the step cases per bandwidth (``exact.runtime_sweep``)."""

    semantics: Semantics = Semantics.EXACT

    def evaluate_batch(self, layer: Layer, hardware: Hardware, batch: MappingBatch) -> Report:
        from mapsearch.costmodel import exact

        return exact.evaluate_batch(layer, hardware, batch)

    def runtime_sweep(
        self,
        layer: Layer,
        hardware: Hardware,
        batch: MappingBatch,
        noc_bws_words_per_cycle: Sequence[int],
    ) -> IntArray:
        from mapsearch.costmodel import exact

        return exact.runtime_sweep(layer, hardware, batch, noc_bws_words_per_cycle)

    def evaluate_sweep(
        self,
        layer: Layer,
        hardware: Hardware,
        batch: MappingBatch,
        noc_bws_words_per_cycle: Sequence[int],
    ) -> tuple[Report, IntArray]:
        """One count of the batch (``exact.evaluate_sweep``)."""
        from mapsearch.costmodel import exact

        return exact.evaluate_sweep(layer, hardware, batch, noc_bws_words_per_cycle)


_MODELS: dict[Semantics, CostModel] = {
    Semantics.EXACT: ExactModel(),
    Semantics.MAESTRO: MaestroModel(),
}


def cost_model(semantics: Semantics | str) -> CostModel:
    """The model of ``semantics`` (``exact`` or ``maestro``, any case); an unknown name lists
    the known ones."""
    return _MODELS[Semantics.parse(semantics)]
