"""The whole genotype a search sees: the mapping space's genes, then (co-design) the
hardware space's; how many distinct genotypes there are, each one by its number (for
exhaustive search), uniform random ones, and the random ones searchers draw (a share from
the compact part of a complete space)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mapsearch.spaces.genes import Gene, IntArray
from mapsearch.spaces.hardware_space import HardwareSpace
from mapsearch.spaces.mapping_space import MappingSpace

#: Share of the genotypes :meth:`Genome.sample` draws from the compact part.
COMPACT_SHARE = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class Genome:
    """Genes of ``mapping`` then of ``hardware`` (None: the hardware is fixed)."""

    mapping: MappingSpace
    hardware: HardwareSpace | None = None

    @property
    def genes(self) -> tuple[Gene, ...]:
        return self.mapping.genes + (self.hardware.genes if self.hardware is not None else ())

    @property
    def n_genes(self) -> int:
        return len(self.genes)

    def blocks(self) -> list[tuple[int, tuple[int, ...]]]:
        """For each allowed level count, (its ``levels`` choice, the columns it uses): the
        mapping space's blocks (``MappingSpace.blocks``) plus every hardware column."""
        extra = tuple(range(self.mapping.n_genes, self.n_genes))
        return [(i, cols + extra) for i, cols in self.mapping.blocks()]

    @property
    def size(self) -> int:
        """Number of distinct genotypes: per block, the product of its genes' sizes."""
        genes, levels = self.genes, self.mapping.column("levels")
        return sum(
            math.prod(genes[c].size for c in cols if c != levels) for _, cols in self.blocks()
        )

    def enumerate(self, codes: IntArray) -> IntArray:
        """The genotypes numbered ``codes`` (0 <= code < :attr:`size`), block by block, in
        mixed radix; genes a block does not use stay 0."""
        codes = np.asarray(codes, dtype=np.int64)
        genes = self.genes
        out = np.zeros((len(codes), len(genes)), dtype=np.int64)
        levels_col = self.mapping.column("levels")
        start = 0
        for choice, cols in self.blocks():
            free = [c for c in cols if c != levels_col]
            shape = tuple(genes[c].size for c in free)
            count = int(np.prod(shape, dtype=np.int64)) if shape else 1
            sel = (codes >= start) & (codes < start + count)
            if sel.any():
                out[sel, levels_col] = choice
                if free:
                    digits = np.unravel_index(codes[sel] - start, shape)
                    for c, dgt in zip(free, digits, strict=True):
                        out[sel, c] = dgt
            start += count
        return out

    def random(self, n: int, rng: np.random.Generator) -> IntArray:
        """``n`` genotypes drawn uniformly, gene by gene, shape ``(n, n_genes)``."""
        sizes = np.asarray([g.size for g in self.genes], dtype=np.int64)
        return (rng.random((n, len(sizes))) * sizes).astype(np.int64)

    @property
    def compact_part(self) -> tuple[IntArray, ...]:
        """Per gene, the indices of its choices in the compact part: the mapping space's
        (:attr:`MappingSpace.compact_part`), then every choice of the hardware genes."""
        extra = self.hardware.genes if self.hardware is not None else ()
        return self.mapping.compact_part + tuple(np.arange(g.size) for g in extra)

    @property
    def beyond_compact(self) -> bool:
        """Whether some gene has choices outside its compact part (a complete space)."""
        return any(len(c) < g.size for c, g in zip(self.compact_part, self.genes, strict=True))

    def sample(self, n: int, rng: np.random.Generator) -> IntArray:
        """``n`` random genotypes as searchers draw them: each, with probability
        :data:`COMPACT_SHARE`, gene by gene uniformly from the compact part, else as
        :meth:`random` draws. A compact space is its own compact part: then this is
        :meth:`random`, draw for draw.

        NOTE: the complete space is far larger than the compact one and most of its extra
        points are worse (idle PEs, edge tiles); uniform draws alone leave a default budget
        short of the compact space's good points, which the complete space holds too."""
        sizes = np.asarray([g.size for g in self.genes], dtype=np.int64)
        u = rng.random((n, len(sizes)))
        out = (u * sizes).astype(np.int64)
        narrow = [(k, c) for k, c in enumerate(self.compact_part) if len(c) < sizes[k]]
        if not narrow:
            return out
        rows = np.flatnonzero(rng.random(n) < COMPACT_SHARE)
        for k, choices in narrow:
            out[rows, k] = choices[(u[rows, k] * len(choices)).astype(np.int64)]
        return out
