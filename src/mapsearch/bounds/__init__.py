"""Sound bounds of every objective over sets of mappings (exact semantics).

A set is a *sub-space*: the genotypes of a mapping space whose genes take values in given
subsets (a fixed prefix of genes is one). :class:`Bounder` bounds each objective over it;
``mapsearch.searchers.optimal`` prunes with the same bounds. Both are imported on first use:
a ``maestro`` tune takes its floors from :mod:`mapsearch.bounds.counts` alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mapsearch._lazy import lazy_attributes

__all__ = ["Bounder", "SubSpace"]

__getattr__, __dir__ = lazy_attributes(
    __name__, dict.fromkeys(["Bounder", "SubSpace"], "mapsearch.bounds.subspace")
)

if TYPE_CHECKING:
    from mapsearch.bounds.subspace import Bounder, SubSpace
