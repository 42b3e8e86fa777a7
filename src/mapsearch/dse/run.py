"""The design-space exploration facade: analyse the cores, then stream the sweep."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from mapsearch.costmodel import DEFAULT_SEMANTICS, Semantics
from mapsearch.dse.analysis import CoreTable, analyse
from mapsearch.dse.hwcost import MAESTRO_AREA_POWER, AreaPowerModel
from mapsearch.dse.mappings import MappingProvider
from mapsearch.dse.ranges import parse_axis
from mapsearch.dse.space import DesignSpace
from mapsearch.dse.sweep import (
    DEFAULT_CHUNK_SIZE,
    KeptFn,
    ProgressFn,
    SweepProblem,
    SweepResult,
    check_objectives,
    sweep,
)
from mapsearch.errors import HardwareError, UnknownNameError
from mapsearch.hardware import UNLIMITED
from mapsearch.layers import Layer
from mapsearch.models import Model, load_model
from mapsearch.objectives import Constraints, um2_from_mm2

#: What a sweep optimises unless told otherwise.
DEFAULT_OBJECTIVES = ("throughput", "energy")
#: No budget: a sweep checks the buffers only.
NO_LIMITS = Constraints()


def build_space(
    *,
    pes: str,
    l1: str,
    l2: str,
    noc_bw: str,
    vector_width: str = "1",
    noc_latency: int = 1,
    offchip_bw: str = "unlimited",
) -> DesignSpace:
    """A design space from axis texts (see :mod:`mapsearch.dse.ranges` for the syntax).

    ``offchip_bw`` is one value in words per cycle, or ``unlimited``.
    """
    if offchip_bw.strip().lower() == "unlimited":
        offchip = UNLIMITED
    else:
        values = parse_axis(offchip_bw, option="--offchip-bw")
        if len(values) != 1:
            raise HardwareError(
                f"--offchip-bw: one value is swept at a time, got {len(values)} in {offchip_bw!r}"
            )
        offchip = values[0]
    if noc_latency < 0:
        raise HardwareError(f"--noc-latency must be >= 0, got {noc_latency}")
    return DesignSpace(
        pes=parse_axis(pes, option="--pes"),
        l1_words=parse_axis(l1, option="--l1"),
        l2_words=parse_axis(l2, option="--l2"),
        noc_bw_words_per_cycle=parse_axis(noc_bw, option="--noc-bw"),
        vector_width=parse_axis(vector_width, option="--vector-width"),
        noc_latency_cycles=noc_latency,
        offchip_bw_words_per_cycle=offchip,
    )


def sweep_budget(*, area_mm2: float = math.inf, power_mw: float = math.inf) -> Constraints:
    """The constraints of a sweep from its budgets in the flags' units (``inf``: no budget)."""
    if not (area_mm2 > 0 and power_mw > 0):
        raise HardwareError(f"budgets must be > 0, got area={area_mm2} mm^2, power={power_mw} mW")
    return Constraints(
        area_budget_um2=None if math.isinf(area_mm2) else um2_from_mm2(area_mm2),
        power_budget_mw=None if math.isinf(power_mw) else power_mw,
    )


def select_layers(model: str | Model, names: Sequence[str] = ()) -> tuple[Layer, ...]:
    """The layers of ``model`` (all, or those named, case-insensitively, in that order).

    ``model`` is a :class:`Model` or what :func:`~mapsearch.models.load_model` takes.
    """
    the_model = model if isinstance(model, Model) else load_model(model)
    layers = the_model.layers
    if not names:
        return layers
    by_name = {layer.name.lower(): layer for layer in layers}
    out = []
    for n in names:
        key = n.strip().lower().split(".")[-1]
        if key not in by_name:
            raise UnknownNameError(
                f"layer of {the_model.name}", key, [x.name.lower() for x in layers]
            )
        out.append(by_name[key])
    return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """A sweep ready to stream: the chunk problem, the per-core table, analysis time."""

    problem: SweepProblem
    table: CoreTable
    analysis_s: float


def prepare_dse(
    space: DesignSpace,
    layers: Sequence[Layer],
    provider: MappingProvider,
    *,
    objectives: Sequence[str] = DEFAULT_OBJECTIVES,
    constraints: Constraints = NO_LIMITS,
    semantics: Semantics | str = DEFAULT_SEMANTICS,
    model: AreaPowerModel = MAESTRO_AREA_POWER,
    jobs: int = 1,
) -> Prepared:
    """Run the cost model once per (distinct layer shape, core) of ``space``."""
    objs = check_objectives(objectives)
    semantics = Semantics.parse(semantics)
    t0 = time.perf_counter()
    table = analyse(space, layers, provider, semantics=semantics, jobs=jobs)
    problem = SweepProblem(
        space=space, totals=table.totals(), objectives=objs, constraints=constraints, model=model
    )
    return Prepared(problem=problem, table=table, analysis_s=time.perf_counter() - t0)


def run_dse(
    space: DesignSpace,
    layers: Sequence[Layer],
    provider: MappingProvider,
    *,
    objectives: Sequence[str] = DEFAULT_OBJECTIVES,
    constraints: Constraints = NO_LIMITS,
    semantics: Semantics | str = DEFAULT_SEMANTICS,
    model: AreaPowerModel = MAESTRO_AREA_POWER,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    jobs: int = 1,
    keep: str = "",
    on_chunk: ProgressFn | None = None,
    on_kept: KeptFn | None = None,
) -> SweepResult:
    """Sweep ``space`` for ``layers`` (whole model) with the provider's mapping on each.

    The cost model runs once per (distinct layer shape, core); the L1 x L2 axes are then
    broadcast in chunks of ``chunk_size`` designs on ``jobs`` joblib workers. ``keep``
    ("all" or "valid") streams those designs' records to ``on_kept`` (see
    :func:`mapsearch.dse.sweep.sweep`). Only area and power budgets of ``constraints``
    apply (:func:`sweep_budget` builds them from mm^2 and mW).
    """
    prep = prepare_dse(
        space,
        layers,
        provider,
        objectives=objectives,
        constraints=constraints,
        semantics=semantics,
        model=model,
        jobs=jobs,
    )
    return sweep(
        prep.problem,
        prep.table,
        chunk_size=chunk_size,
        jobs=jobs,
        keep=keep,
        on_chunk=on_chunk,
        on_kept=on_kept,
        analysis_s=prep.analysis_s,
    )
