"""Hardware design-space exploration: sweep PEs x vector width x NoC bandwidth x L1 x L2
for the layers of a model, keep the valid designs, report the Pareto set (``mapsearch dse``;
see ``docs/dse.md``).

The streaming phase alone is ``mapsearch.dse.sweep.sweep`` (not re-exported here, so that
``mapsearch.dse.sweep`` stays the module)."""

from __future__ import annotations

from mapsearch.dse.analysis import CoreTable, CoreTotals, analyse
from mapsearch.dse.design import DesignEvaluation, evaluate_design
from mapsearch.dse.hwcost import MAESTRO_AREA_POWER, AreaPowerModel
from mapsearch.dse.mappings import (
    FixedDataflow,
    MappingProvider,
    TunedDataflow,
    mapping_provider,
)
from mapsearch.dse.ranges import parse_axis
from mapsearch.dse.run import (
    NO_LIMITS,
    Prepared,
    build_space,
    prepare_dse,
    run_dse,
    select_layers,
    sweep_budget,
)
from mapsearch.dse.space import DesignSpace
from mapsearch.dse.sweep import (
    SWEEP_OBJECTIVES,
    ChunkResult,
    SweepProblem,
    SweepResult,
    evaluate_chunk,
)

__all__ = [
    "MAESTRO_AREA_POWER",
    "NO_LIMITS",
    "SWEEP_OBJECTIVES",
    "AreaPowerModel",
    "ChunkResult",
    "CoreTable",
    "CoreTotals",
    "DesignEvaluation",
    "DesignSpace",
    "FixedDataflow",
    "MappingProvider",
    "Prepared",
    "SweepProblem",
    "SweepResult",
    "TunedDataflow",
    "analyse",
    "build_space",
    "evaluate_chunk",
    "evaluate_design",
    "mapping_provider",
    "parse_axis",
    "prepare_dse",
    "run_dse",
    "select_layers",
    "sweep_budget",
]
