"""The ``Searcher`` interface every search algorithm implements."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mapsearch.errors import UnsupportedError
from mapsearch.problem import Evaluation, Problem
from mapsearch.spaces.genes import IntArray


@dataclass(frozen=True, slots=True, kw_only=True)
class Proof:
    """What a searcher proved about its worker's share of the space.

    ``lower_cost``: no point of it costs less on the first objective (cost = value x sign,
    see :func:`costs`); ``closed``: every point of it was evaluated or excluded by a sound
    bound or by dominance, so the best point evaluated is optimal (with several
    objectives: the front of the evaluated points is the Pareto front).
    """

    lower_cost: float
    closed: bool

    @staticmethod
    def merge(proofs: list[Proof | None]) -> Proof | None:
        """The proof over the workers' shares together (None if one worker has none)."""
        if not proofs or any(p is None for p in proofs):
            return None
        return Proof(
            lower_cost=min(p.lower_cost for p in proofs if p is not None),
            closed=all(p.closed for p in proofs if p is not None),
        )


class Searcher(abc.ABC):
    """Proposes genotypes in batches and learns from their evaluations.

    A run (see ``mapsearch.studies.run``) drives a searcher as follows:

    1. :meth:`check` once, before anything is evaluated: raise ``UnsupportedError`` for a
       problem the searcher cannot handle (e.g. CMA-ES with several objectives).
    2. :meth:`start` once per worker, with everything evaluated so far (a resumed study's
       trials and the seed mappings), a ``numpy.random.Generator`` spawned for this
       worker, the worker's index among ``n_workers``, and the run's ``deadline``
       (``time.time()`` seconds, None without a time limit). Randomness comes only from
       that generator, so the same seed and worker count reproduce the same proposals.
    3. Then alternately :meth:`ask` (up to ``n`` genotypes, indices inside every gene's
       domain; an empty array means the searcher has nothing left to propose, or, once the
       deadline has passed, nothing yet: an ask that may run long returns by the
       deadline) and
       :meth:`tell` (the evaluation of exactly the genotypes of the last ``ask``, in
       order), until the budget or the time runs out.

    Every evaluation is recorded in the study by the run, not by the searcher.
    ``batch_size`` is the number of genotypes the run asks for at a time.
    """

    #: Name used on the command line.
    name: ClassVar[str]
    #: Whether the searcher handles several objectives.
    multi_objective: ClassVar[bool] = True
    #: Whether the searcher stops by itself once it has proved the optimum (then a run
    #: without a budget runs until it does).
    proves: ClassVar[bool] = False

    def __init__(self, *, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size

    def check(self, problem: Problem) -> None:
        """Refuse problems this searcher cannot handle, with a message that says what to use."""
        if len(problem.objectives) > 1 and not self.multi_objective:
            raise UnsupportedError(
                f"searcher {self.name!r} optimises a single objective, got "
                f"{len(problem.objectives)} ({', '.join(o.name for o in problem.objectives)}); "
                "use nsga2, ga, tpe, random, qmc or exhaustive for several objectives"
            )

    @abc.abstractmethod
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
        """Prepare a run on ``problem``, knowing what ``history`` already holds."""

    @abc.abstractmethod
    def ask(self, n: int) -> IntArray:
        """Up to ``n`` genotypes to evaluate next, shape ``(k, n_genes)``, ``k <= n``."""

    @abc.abstractmethod
    def tell(self, evaluation: Evaluation) -> None:
        """The evaluation of the genotypes returned by the last :meth:`ask`."""

    def proof(self) -> Proof | None:
        """What the search has proved so far (called after the last :meth:`tell`); None for
        searchers that prove nothing."""
        return None


def costs(problem: Problem, evaluation: Evaluation) -> np.ndarray:
    """Objective values turned into costs (smaller is better), shape ``(B, n_objectives)``.

    NOTE: infeasible candidates keep their (finite) costs; callers rank by violation first.
    """
    signs = np.asarray([o.sign for o in problem.objectives])
    return evaluation.values * signs[None, :]
