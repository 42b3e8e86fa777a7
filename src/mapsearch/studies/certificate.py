"""How far a tuning result is from the best possible: a proven bound and the gap to it.

Every ``tune`` reports one (``docs/certified.md``): the best value of the first objective,
a bound no point of the space can beat, and the gap between them. The bound is the best of
what the searcher proved (``--searcher optimal``) and the root bound of the space, computed
without searching (:meth:`mapsearch.bounds.Bounder.space_root` under the exact semantics;
under ``maestro`` only the floors that model's own rules guarantee,
:func:`mapsearch.bounds.counts.maestro_floors`). Co-design searches have no bound yet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from mapsearch.costmodel import Semantics
from mapsearch.objectives import Direction
from mapsearch.problem import Problem
from mapsearch.searchers.base import Proof


@dataclass(frozen=True, slots=True, kw_only=True)
class Certificate:
    """The first objective's best value, a proven bound and the gap (``None`` where unknown).

    ``lower_bound`` bounds the objective over the whole space: from below for a minimised
    objective, from above for a maximised one. ``gap_percent``: how much better than the
    best value the optimum can at most be, in % of the bound (minimised:
    ``100 (best - bound) / bound``; maximised: ``100 (bound - best) / best``).
    ``proved_optimal``: the search closed the space (every point evaluated or excluded by a
    sound bound or by dominance), so ``best_value`` is the optimum.
    """

    objective: str
    direction: Direction
    best_value: float | None
    lower_bound: float | None
    proved_optimal: bool
    space_size: int
    evaluated: int

    @property
    def gap_percent(self) -> float | None:
        best, bound = self.best_value, self.lower_bound
        if best is None or bound is None:
            return None
        minimize = self.direction is Direction.MINIMIZE
        worse, ref = (best - bound, bound) if minimize else (bound - best, best)
        return 100.0 * worse / ref if ref > 0 else None

    def to_json(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "direction": self.direction.value,
            "best_value": self.best_value,
            "lower_bound": self.lower_bound,
            "gap_percent": self.gap_percent,
            "proved_optimal": self.proved_optimal,
            "space_size": self.space_size,
            "evaluated": self.evaluated,
        }


def root_costs(problem: Problem) -> np.ndarray | None:
    """Per objective, a bound of its cost over the whole space without searching (None for
    co-design, whose hardware varies)."""
    if problem.hardware_space is not None:
        return None
    # NOTE: imported here: the bounds import numba, which a run needs only once it scores,
    # and a maestro run needs the floors alone
    if problem.semantics is Semantics.EXACT:
        from mapsearch.bounds import Bounder

        return Bounder(problem).space_root()
    from mapsearch.bounds.counts import maestro_floors

    return maestro_floors(problem.layer, problem.hardware, problem.objectives)


def certify(
    problem: Problem, best_value: float | None, proof: Proof | None, evaluated: int
) -> Certificate:
    """The certificate of a run whose best first-objective value is ``best_value``.

    A searcher's finite proof is at least the root bound already (its open nodes are bounded
    within their structures, whose cheap bounds the root takes the least of), so the root
    is computed only without one (on the complete space it bounds thousands of structures).
    """
    first = problem.objectives[0]
    bound = None
    if proof is None or not math.isfinite(proof.lower_cost):
        costs = root_costs(problem)
        bound = None if costs is None else float(costs[0])
    if proof is not None:
        bound = proof.lower_cost if bound is None else max(bound, proof.lower_cost)
    closed = proof is not None and proof.closed and best_value is not None
    if closed and best_value is not None:
        bound = best_value * first.sign  # closed: the best point is the optimum
    return Certificate(
        objective=first.name,
        direction=first.direction,
        best_value=best_value,
        lower_bound=None if bound is None or not math.isfinite(bound) else bound * first.sign,
        proved_optimal=closed,
        space_size=problem.genome.size,
        evaluated=evaluated,
    )
