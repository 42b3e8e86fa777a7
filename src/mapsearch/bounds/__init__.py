"""Sound bounds of every objective over sets of mappings (exact semantics).

A set is a *sub-space*: the genotypes of a mapping space whose genes take values in given
subsets (a fixed prefix of genes is one). :class:`Bounder` bounds each objective over it;
``mapsearch.searchers.optimal`` prunes with the same bounds.
"""

from __future__ import annotations

from mapsearch.bounds.subspace import Bounder, SubSpace

__all__ = ["Bounder", "SubSpace"]
