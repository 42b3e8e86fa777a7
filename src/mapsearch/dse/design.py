"""One design evaluated alone: the slow, obvious path a sweep must agree with.

Every layer's mapping is validated and scored by the cost model on the design's
``Hardware`` (with unlimited buffers: the design's L1/L2 capacities are compared with the
requirements here, rule by rule); whole-model numbers are sums over layers (requirements:
maxima); area and power come from the provisioned capacities. The
benchmark and the tests compare the vectorised sweep against this, design by design.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from mapsearch.costmodel import DEFAULT_SEMANTICS, MappingBatch, Semantics, evaluate_batch
from mapsearch.directives import Mapping
from mapsearch.dse.hwcost import MAESTRO_AREA_POWER, AreaPowerModel
from mapsearch.errors import MapsearchError
from mapsearch.hardware import UNLIMITED, Hardware
from mapsearch.layers import Layer
from mapsearch.objectives import Constraints


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignEvaluation:
    """Whole-model costs and validity of one design; ``fails`` names the broken rules
    (``mapping``, ``l1``, ``l2``, ``area``, ``power``)."""

    hardware: Hardware
    runtime_cycles: float
    energy: float
    macs: float
    l1_req_words: float
    l2_req_words: float
    area_um2: float
    power_mw: float
    fails: tuple[str, ...]
    layer_runtime_cycles: tuple[float, ...] = field(default=())

    @property
    def valid(self) -> bool:
        return not self.fails

    @property
    def throughput_macs_per_cycle(self) -> float:
        return self.macs / max(self.runtime_cycles, 1.0)


def evaluate_design(
    hardware: Hardware,
    layers: Sequence[Layer],
    mappings: Sequence[Mapping],
    *,
    semantics: Semantics = DEFAULT_SEMANTICS,
    constraints: Constraints | None = None,
    model: AreaPowerModel = MAESTRO_AREA_POWER,
) -> DesignEvaluation:
    """Score ``mappings[i]`` on ``layers[i]`` on ``hardware`` and check the design
    (its buffers, and the area and power budgets of ``constraints``).

    The cost model sees unlimited L1 and L2, as in a sweep: a buffer too small for a
    mapping fails the design's ``l1``/``l2`` check, not the mapping (the exact semantics
    would otherwise also call the mapping infeasible).
    """
    from mapsearch.directives.validate import mapping_problems

    scored = replace(hardware, l1_size_words=UNLIMITED, l2_size_words=UNLIMITED)
    runtime = energy = macs = l1 = l2 = 0.0
    per_layer: list[float] = []
    mapping_ok = True
    for layer, mapping in zip(layers, mappings, strict=True):
        if mapping_problems(mapping, layer, hardware):
            mapping_ok = False
            per_layer.append(float("inf"))
            continue
        try:
            r = evaluate_batch(
                layer, scored, MappingBatch.from_mappings([mapping], layer), semantics=semantics
            )
        except MapsearchError:
            mapping_ok = False
            per_layer.append(float("inf"))
            continue
        mapping_ok &= bool(r.feasible[0])
        runtime += float(r.runtime_cycles[0])
        energy += float(r.energy_total[0])
        macs += float(r.macs[0])
        l1 = max(l1, float(r.l1_size_words[0]))
        l2 = max(l2, float(r.l2_required_words[0]))
        per_layer.append(float(r.runtime_cycles[0]))
    args = (
        hardware.num_pes,
        hardware.vector_width,
        hardware.noc_bw_words_per_cycle,
        hardware.l1_size_words,
        hardware.l2_size_words,
    )
    area = float(model.area_um2(*args))
    power = float(model.power_mw(*args))
    limits = constraints or Constraints()
    fails = tuple(
        name
        for name, bad in (
            ("mapping", not mapping_ok),
            ("l1", hardware.l1_size_words < l1),
            ("l2", hardware.l2_size_words < l2),
            ("area", limits.area_budget_um2 is not None and area > limits.area_budget_um2),
            ("power", limits.power_budget_mw is not None and power > limits.power_budget_mw),
        )
        if bad
    )
    return DesignEvaluation(
        hardware=hardware,
        runtime_cycles=runtime,
        energy=energy,
        macs=macs,
        l1_req_words=l1,
        l2_req_words=l2,
        area_um2=area,
        power_mw=power,
        fails=fails,
        layer_runtime_cycles=tuple(per_layer),
    )
