"""The tuning table records the best mapping known: the classic dataflow where a
single-objective search has not beaten it (``source`` says which)."""

from __future__ import annotations

from mapsearch.directives.dataflows import dataflow
from mapsearch.hardware.presets import preset
from mapsearch.layers.zoo import find_layer
from mapsearch.problem import Problem
from mapsearch.studies.certificate import certify
from mapsearch.studies.results import Point, classic_baselines, exact_score
from mapsearch.studies.run import RunResult
from mapsearch.studies.tune import TuneOutcome, tuning_table

RUN = RunResult(
    study="s",
    storage="sqlite:///s",
    n_new=1,
    n_evaluations=1,
    wall_s=0.0,
    interrupted=False,
    exhausted=False,
)


def _outcome(factor: float) -> tuple[TuneOutcome, str]:
    """An outcome whose search point is ``factor`` times the best classic latency."""
    problem = Problem.create(find_layer("vgg16.conv3_1"), preset("edge_256"), ["latency"])
    base = next(b for b in classic_baselines(problem) if b.feasible)
    mapping = dataflow("X-P", problem.layer)
    point = Point(
        trial=0,
        mapping=mapping,
        hardware=problem.hardware,
        objectives={"latency": base.objectives["latency"] * factor},
        metrics={},
        exact=exact_score(problem, mapping, problem.hardware),
    )
    cert = certify(problem, point.objectives["latency"], None, RUN.n_evaluations)
    outcome = TuneOutcome(
        problem=problem, run=RUN, points=(point,), baselines=(base,), certificate=cert
    )
    return outcome, base.name


def test_a_search_worse_than_the_best_classic_dataflow_records_the_classic_one():
    outcome, name = _outcome(2.0)
    (row,) = tuning_table([outcome])
    assert row["source"] == f"classic:{name}"
    assert row["objectives"] == outcome.best_baseline.objectives


def test_a_search_better_than_every_classic_dataflow_records_its_own_mapping():
    outcome, _ = _outcome(0.5)
    (row,) = tuning_table([outcome])
    assert row["source"] == "search"
    assert row["objectives"] == outcome.points[0].objectives


def test_a_tie_with_the_best_classic_dataflow_records_the_search():
    # the same value, or the same value reached through other floating-point sums (the
    # search finding the classic mapping itself), is the search's result
    for factor in (1.0, 1.0 + 1e-12):
        outcome, _ = _outcome(factor)
        (row,) = tuning_table([outcome])
        assert row["source"] == "search", factor
        assert not outcome.classic_wins


def test_a_classic_dataflow_better_by_more_than_rounding_is_recorded():
    outcome, name = _outcome(1.0 + 1e-6)
    (row,) = tuning_table([outcome])
    assert row["source"] == f"classic:{name}"
