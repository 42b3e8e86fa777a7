"""Reports for people: mappings as loop nests, result tables and plots (Pareto fronts).

``loop_nest`` is imported on first use: a command that reports no loop nest (``tune``)
does not import the directive validation behind it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mapsearch._lazy import lazy_attributes

__all__ = ["loop_nest"]

__getattr__, __dir__ = lazy_attributes(__name__, {"loop_nest": "mapsearch.report.loopnest"})

if TYPE_CHECKING:
    from mapsearch.report.loopnest import loop_nest
