"""Compact-space genotypes read in the complete space of the same options, gene by gene
(the optimal searcher's compact warm-up hands its points over this way)."""

from __future__ import annotations

import dataclasses

import numpy as np

from mapsearch.spaces.genes import IntArray
from mapsearch.spaces.mapping_space import MappingSpace


@dataclasses.dataclass(frozen=True)
class Handover:
    """How a compact space's genotypes read in the complete space of the same options: the
    same choice of each gene they share, and for the genes only the complete space has
    (diagonal, step, pad) the first choice of its compact part. Such a genotype decodes to
    the same mapping (``docs/search_space.md``, *Searching the complete space*), so the
    warm-up's points are handed over without decoding and encoding each one."""

    base: IntArray  # a complete-space genotype of the compact part (its first choices)
    columns: IntArray  # per compact gene, its column in the complete space
    indices: tuple[IntArray, ...]  # per compact gene, per choice, its complete-space index

    @classmethod
    def between(cls, compact: MappingSpace, space: MappingSpace) -> Handover | None:
        """The handover from ``compact`` to ``space``; None when a compact gene or choice
        is not the complete space's (e.g. a gene fixed to a value only one kind has)."""
        names = {g.name: c for c, g in enumerate(space.genes)}
        try:
            columns = [names[g.name] for g in compact.genes]
            indices = tuple(
                np.asarray([space.genes[c].index(v) for v in g.choices], dtype=np.int64)
                for c, g in zip(columns, compact.genes, strict=True)
            )
        except KeyError:  # UnknownNameError too
            return None
        base = np.asarray([part[0] for part in space.compact_part], dtype=np.int64)
        return cls(base=base, columns=np.asarray(columns, dtype=np.int64), indices=indices)

    def genotypes(self, compact: IntArray) -> IntArray:
        """The complete-space genotypes of ``(B, compact genes)`` compact ones."""
        out = np.repeat(self.base[None, :], len(compact), axis=0)
        for k, (c, index) in enumerate(zip(self.columns.tolist(), self.indices, strict=True)):
            out[:, c] = index[compact[:, k]]
        return out
