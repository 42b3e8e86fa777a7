"""Reports for people: mappings as loop nests, result tables and plots (Pareto fronts)."""

from __future__ import annotations

from mapsearch.report.loopnest import loop_nest

__all__ = ["loop_nest"]
