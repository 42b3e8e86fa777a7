"""Objectives (latency, energy, EDP, ...) and constraints (capacities, budgets)."""

from __future__ import annotations

from mapsearch.objectives.objectives import (
    OBJECTIVES,
    Constraints,
    Objective,
    get_objective,
    get_objectives,
)

__all__ = ["OBJECTIVES", "Constraints", "Objective", "get_objective", "get_objectives"]
