"""Random search: genotypes drawn by ``Genome.sample``, independently of the evaluations.

On a compact space every gene is drawn independently and uniformly from its domain (the
distribution of Optuna's ``RandomSampler``); on a complete space half the genotypes come
from its compact part (``docs/search_space.md``). A whole batch is drawn at once: no
per-trial bookkeeping, so it proposes as fast as the cost model scores.
"""

from __future__ import annotations

import numpy as np

from mapsearch.problem import Evaluation, Problem
from mapsearch.searchers.base import Searcher
from mapsearch.spaces.genes import IntArray


class RandomSearcher(Searcher):
    """Random sampling of the genotype space (learns nothing from evaluations)."""

    name = "random"

    def __init__(self, *, batch_size: int = 256) -> None:
        super().__init__(batch_size=batch_size)

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
        self._rng = rng

    def ask(self, n: int) -> IntArray:
        return self._problem.genome.sample(n, self._rng)

    def tell(self, evaluation: Evaluation) -> None:
        """Nothing to learn: every proposal is independent of the evaluations."""
