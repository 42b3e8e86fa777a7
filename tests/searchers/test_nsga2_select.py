"""The GA's NSGA-II selection picks DEAP's ``selNSGA2`` survivors, in its order."""

from __future__ import annotations

import numpy as np
import pytest
from deap import base, tools

from mapsearch.searchers import _nsga2


def deap_survivors(costs: np.ndarray, k: int) -> list[int]:
    """Row indices of DEAP's own selection (minimised objectives)."""
    fitness = type("Fitness", (base.Fitness,), {"weights": (-1.0,) * costs.shape[1]})
    pool = []
    for i, row in enumerate(costs.tolist()):
        ind = type("Individual", (list,), {})([i])
        ind.fitness = fitness(tuple(row))
        pool.append(ind)
    return [ind[0] for ind in tools.selNSGA2(pool, k)]


def costs_of(seed: int, n: int, n_obj: int) -> np.ndarray:
    """Costs with what a GA's pool holds: repeated rows, ties in one objective, rows of
    equal extremes, penalised (huge) and unscored (infinite) ones."""
    rng = np.random.default_rng(seed)
    costs = rng.integers(0, 12, size=(n, n_obj)).astype(np.float64) * rng.choice([1.0, 0.1])
    costs[rng.integers(0, n, size=n // 8)] = costs[rng.integers(0, n, size=n // 8)]
    costs[rng.integers(0, n, size=n // 16)] = 1e250 * (1.0 + rng.random((n // 16, 1)))
    costs[rng.integers(0, n, size=max(1, n // 32)), 0] = np.inf
    return costs


@pytest.mark.parametrize("n_obj", [2, 3])
@pytest.mark.parametrize("seed", range(12))
def test_survivors_are_deaps_in_its_order(seed: int, n_obj: int) -> None:
    costs = costs_of(seed, 256, n_obj)
    for k in (1, 17, 128, 255):
        assert _nsga2.select(costs, k).tolist() == deap_survivors(costs, k)


def test_a_front_of_equal_costs_and_fewer_rows_than_wanted() -> None:
    costs = np.ones((5, 2))
    assert _nsga2.select(costs, 3).tolist() == deap_survivors(costs, 3)
    costs = np.asarray([[1.0, 2.0], [2.0, 1.0], [3.0, 3.0]])
    assert _nsga2.select(costs, 3).tolist() == deap_survivors(costs, 3) == [0, 1, 2]
