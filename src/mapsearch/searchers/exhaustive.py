"""Exhaustive enumeration of a small space: the ground truth for search quality."""

from __future__ import annotations

import numpy as np

from mapsearch.errors import UnsupportedError
from mapsearch.problem import Evaluation, Problem
from mapsearch.searchers.base import Searcher
from mapsearch.spaces.genes import IntArray

#: Largest space enumerated unless the caller raises the limit.
DEFAULT_MAX_SIZE = 2_000_000


class ExhaustiveSearcher(Searcher):
    """Every distinct genotype once, in mixed-radix order, in batches.

    Worker ``w`` of ``J`` takes the genotypes numbered ``w, w + J, ...``; genotypes already
    in the history (a resumed study) are skipped. Refuses spaces above ``max_size``.
    """

    name = "exhaustive"

    def __init__(self, *, batch_size: int = 4096, max_size: int = DEFAULT_MAX_SIZE) -> None:
        super().__init__(batch_size=batch_size)
        self.max_size = max_size

    def check(self, problem: Problem) -> None:
        size = problem.genome.size
        if size > self.max_size:
            raise UnsupportedError(
                f"exhaustive search is limited to {self.max_size:,} genotypes, this space has "
                f"{size:,}; fix genes (--fix), restrict --levels or use tiles=divisors, "
                "or choose another searcher"
            )

    def start(
        self,
        problem: Problem,
        history: Evaluation,
        rng: np.random.Generator,
        *,
        worker: int = 0,
        n_workers: int = 1,
        deadline: float | None = None,
    ) -> None:
        self.check(problem)
        self._problem = problem
        self._next = worker
        self._step = n_workers
        self._size = problem.genome.size
        self._done = {row.tobytes() for row in np.asarray(history.genotypes, dtype=np.int64)}

    def ask(self, n: int) -> IntArray:
        out: list[IntArray] = []
        count = 0
        while count < n and self._next < self._size:
            stop = min(self._size, self._next + self._step * (n - count))
            codes = np.arange(self._next, stop, self._step, dtype=np.int64)
            self._next = int(codes[-1]) + self._step
            g = self._problem.genome.enumerate(codes)
            if self._done:
                fresh = np.asarray([row.tobytes() not in self._done for row in g], dtype=bool)
                g = g[fresh]
            out.append(g)
            count += len(g)
        if not out:
            return np.zeros((0, self._problem.n_genes), np.int64)
        return np.concatenate(out)[:n]

    def tell(self, evaluation: Evaluation) -> None:
        """Nothing to learn: enumeration order is fixed."""
