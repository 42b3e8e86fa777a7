"""Reports for people: mappings as loop nests (and, later, tables, plots, exports)."""

from __future__ import annotations

from mapsearch.report.loopnest import loop_nest

__all__ = ["loop_nest"]
