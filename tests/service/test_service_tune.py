"""tune (the service call): a layer by value or by name, hardware by value, preset or file."""

from __future__ import annotations

import importlib
import os
from dataclasses import replace
from pathlib import Path

import pytest

from mapsearch.errors import StudyError
from mapsearch.hardware.presets import preset
from mapsearch.layers import Layer
from mapsearch.models import Model
from mapsearch.objectives import Constraints
from mapsearch.problem import Problem
from mapsearch.service.tune import TuneRequest, build_problem, search_order, tune, tune_target
from mapsearch.spaces import SpaceOptions
from mapsearch.studies import RunConfig
from mapsearch.studies.tune import ModelOutcome, TuneOutcome

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


def test_tune_target_tunes_a_layer_or_each_shape_of_a_model_as_requested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One request, a layer or a model: the model's repeated shape is searched once, each
    search gets its own progress callback, and the request's study name is checked first."""
    monkeypatch.chdir(tmp_path)
    request = TuneRequest(
        hardware=preset("edge_256"),
        objectives=("latency",),
        config=RunConfig(searcher="random", n_trials=16),
        options=SpaceOptions(levels=(1,)),
        semantics="maestro",
    )
    asked: list[str] = []

    def progress(problem: Problem) -> None:
        asked.append(problem.layer.name)

    one = tune_target(SMALL, request, progress)
    assert isinstance(one, TuneOutcome) and one.run.n_evaluations == 16
    other = Layer.conv("other", K=4, C=4, R=1, S=1, Y=8, X=8)
    model = Model(name="m", layers=(SMALL, replace(SMALL, name="again"), other))
    many = tune_target(model, request, progress)
    assert isinstance(many, ModelOutcome) and many.hardware == request.hardware
    assert [o.problem.layer.name for o in many.outcomes] == ["mine", "other"]
    assert asked == ["mine", "mine", "other"]
    with pytest.raises(StudyError):
        replace(request, study="no/slashes")


@pytest.mark.skipif(
    len(os.sched_getaffinity(0)) < 2, reason="shapes are searched in parallel on 2+ cores"
)
def test_a_model_searched_a_shape_per_process_has_the_outcome_of_one_searched_in_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each shape is searched exactly as alone (own study, own seed): the same best
    points, evaluations and notes whether the shapes run in turn or in parallel (there the
    3x3 shape first, though the model has it second); the progress of each shape is
    reported, in model order, a shape searched in another process with its own search time
    (its rate is its own, not that of the report)."""
    service_tune = importlib.import_module("mapsearch.service.tune")

    model = Model(
        name="tiny",
        layers=(Layer.conv("other", K=16, C=8, R=1, S=1, Y=4, X=4), SMALL, SMALL),
    )
    request = TuneRequest(
        hardware=preset("edge_256"),
        config=RunConfig(searcher="ga", n_trials=300),
        semantics="maestro",
    )

    def outcome_json(folder: str, minimum: int) -> list[dict[str, object]]:
        monkeypatch.setattr(service_tune, "MIN_PARALLEL_EVALUATIONS", minimum)
        monkeypatch.chdir(tmp_path)
        seen: list[tuple[str, int]] = []
        elapsed: dict[str, float | None] = {}

        def progress(problem: Problem, elapsed_s: float | None = None):  # type: ignore[no-untyped-def]
            elapsed[problem.layer.name] = elapsed_s
            return lambda n, best: seen.append((problem.layer.name, n))

        out = tune_target(
            model, replace(request, storage=f"sqlite:///{tmp_path / folder}/s.sqlite3"), progress
        )
        assert isinstance(out, ModelOutcome)
        assert list(dict.fromkeys(name for name, _ in seen)) == ["other", "mine"]
        assert sum(n for name, n in seen if name == "other") == 300
        own = {o.problem.layer.name: o.run.wall_s for o in out.outcomes}
        assert elapsed == (own if minimum == 0 else dict.fromkeys(own))
        return [
            {k: v for k, v in o.to_json().items() if k not in ("wall_s", "storage")}
            for o in out.outcomes
        ]

    in_turn = outcome_json("a", 10**9)
    parallel = outcome_json("b", 0)
    assert len(in_turn) == 2
    assert parallel == in_turn


def test_shapes_with_wider_windows_then_larger_strides_are_searched_first() -> None:
    """The processes of a model search take the slow shapes first (ties in model order)."""
    plain = Layer.conv("plain", K=8, C=8, R=1, S=1, Y=8, X=8)
    strided = Layer.conv("strided", K=8, C=8, R=1, S=1, Y=8, X=8, stride=2)
    wide = Layer.conv("wide", K=8, C=8, R=3, S=3, Y=8, X=8)
    wide_strided = Layer.conv("wide_strided", K=8, C=8, R=3, S=3, Y=8, X=8, stride=2)
    gemm = Layer.gemm("gemm", M=8, N=8, K=8)
    layers = [plain, gemm, strided, wide, plain, wide_strided]
    assert search_order(layers) == [5, 3, 2, 0, 1, 4]
