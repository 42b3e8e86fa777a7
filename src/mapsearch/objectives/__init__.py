"""Objectives (latency, energy, EDP, ...), constraints (capacities, budgets) and the Pareto filter."""

from __future__ import annotations

from mapsearch.objectives.objectives import (
    OBJECTIVES,
    Constraints,
    Direction,
    Objective,
    get_objective,
    get_objectives,
    mm2_from_um2,
    um2_from_mm2,
)
from mapsearch.objectives.pareto import nondominated

__all__ = [
    "OBJECTIVES",
    "Constraints",
    "Direction",
    "Objective",
    "get_objective",
    "get_objectives",
    "mm2_from_um2",
    "nondominated",
    "um2_from_mm2",
]
