"""RunConfig's defaults (one budget default, shared with the CLI), its searcher check, and
the best-so-far value a run reports."""

from __future__ import annotations

import numpy as np
import pytest

from mapsearch.errors import UnknownNameError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Evaluation, Problem
from mapsearch.studies.run import DEFAULT_TRIALS, BestSoFar, RunConfig


def test_the_default_budget_is_the_clis_unless_only_a_timeout_is_given() -> None:
    assert RunConfig().n_trials == RunConfig.create().n_trials == DEFAULT_TRIALS == 4000
    timed = RunConfig.create(timeout_s=5.0)
    assert timed.n_trials is None and timed.timeout_s == 5.0
    assert RunConfig.create(n_trials=7, timeout_s=5.0).n_trials == 7


def test_searcher_names_are_checked_once_and_kept_in_lower_case() -> None:
    assert RunConfig(searcher=" TPE ").searcher == "tpe"
    with pytest.raises(UnknownNameError, match="nsga2"):
        RunConfig(searcher="nsga")


def _evaluation(values: list[float], feasible: list[bool]) -> Evaluation:
    n = len(values)
    return Evaluation(
        genotypes=np.zeros((n, 1), np.int64),
        values=np.asarray(values, dtype=np.float64).reshape(n, 1),
        violation=np.where(feasible, 0.0, 1.0),
        reasons=np.full(n, "", dtype=object),
    )


@pytest.mark.parametrize(
    ("objective", "expected"), [("latency", [None, 5.0, 3.0]), ("throughput", [None, 7.0, 9.0])]
)
def test_best_so_far_keeps_the_best_feasible_value_in_the_objectives_direction(
    objective: str, expected: list[float | None]
) -> None:
    layer = Layer.conv("s", K=4, C=4, R=1, S=1, Y=4, X=4)
    best = BestSoFar(Problem.create(layer, Hardware(num_pes=4), [objective]))
    seen = []
    for values, feasible in (
        ([1.0, 2.0], [False, False]),
        ([5.0, 7.0, 0.5], [True, True, False]),
        ([3.0, 9.0, 4.0], [True, True, True]),
    ):
        best.add(_evaluation(values, feasible))
        seen.append(best.value)
    assert seen == expected
