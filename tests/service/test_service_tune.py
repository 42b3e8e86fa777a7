"""tune (the service call): a layer by value or by name, hardware by value, preset or file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mapsearch.hardware.presets import preset
from mapsearch.layers import Layer
from mapsearch.objectives import Constraints
from mapsearch.service.tune import build_problem, tune
from mapsearch.spaces import SpaceOptions
from mapsearch.studies import RunConfig

SMALL = Layer.conv("mine", K=8, C=4, R=3, S=3, Y=8, X=8)


def test_a_custom_layer_is_tuned_into_the_default_study(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    outcome = tune(
        SMALL,
        "edge_256",
        ["latency"],
        config=RunConfig(searcher="random", n_trials=24),
        options=SpaceOptions(levels=(1,)),
        semantics="maestro",
    )
    assert outcome.run.study == "mine-edge_256-latency-maestro"
    assert (tmp_path / "studies" / f"{outcome.run.study}.sqlite3").is_file()
    assert outcome.points and outcome.points[0].hardware.name == "edge_256"
    assert outcome.points[0].objectives["latency"] > 0 and outcome.run.n_evaluations == 24


def test_co_design_stays_within_max_pes() -> None:
    problem = build_problem(
        SMALL, preset("edge_256"), co_design=True, constraints=Constraints(max_pes=100)
    )
    assert problem.hardware_space is not None
    assert max(problem.hardware_space.pe_choices) <= 100
