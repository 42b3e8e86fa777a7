"""``tune --semantics maestro`` reports the exact semantics' score of each best mapping
beside its own (issue 9): printed, and in the JSON as ``best[i].exact``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mapsearch.cli.app import app
from mapsearch.costmodel import MappingBatch, evaluate_batch
from mapsearch.directives.maestro_file import parse_directives
from mapsearch.errors import UnsupportedError
from mapsearch.hardware import Hardware
from mapsearch.layers.zoo import find_layer
from mapsearch.problem import Problem
from mapsearch.studies import results
from mapsearch.studies.results import exact_score

ARGS = ["tune", "--layer", "vgg16.conv5_1", "--objective", "edp", "--trials", "32"]
FAST = ["--no-progress", "--batch-size", "16"]


def run(args: list[str], tmp_path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_json_holds_the_exact_score_of_each_best_mapping(tmp_path, monkeypatch):
    out = run([*ARGS, "--semantics", "maestro", "--format", "json", *FAST], tmp_path, monkeypatch)
    best = json.loads(out)["best"]
    assert best
    layer = find_layer("vgg16.conv5_1")
    for point in best:
        exact = point["exact"]
        assert point["exact_reason"] == ""
        assert set(exact) == {"objectives", "metrics", "feasible", "reason"}
        assert set(exact["metrics"]) == set(point["metrics"])
        # the same mapping on the same hardware, scored again by the exact model
        hw = Hardware(**{k: v for k, v in point["hardware"].items() if k != "energy"})
        mapping = parse_directives(point["mapping"])
        rep = evaluate_batch(
            layer, hw, MappingBatch.from_mappings([mapping], layer), semantics="exact"
        )
        assert exact["metrics"]["runtime_cycles"] == rep.runtime_cycles[0]
        assert exact["metrics"]["macs"] == layer.macs
        assert exact["objectives"]["edp"] == pytest.approx(
            exact["metrics"]["energy_mac_units"] * exact["metrics"]["runtime_cycles"]
        )


def test_table_shows_both_semantics(tmp_path, monkeypatch):
    out = run([*ARGS, "--semantics", "maestro", *FAST], tmp_path, monkeypatch)
    assert "maestro vs exact semantics" in out
    exact_run = run([*ARGS, *FAST], tmp_path, monkeypatch)
    assert "vs exact semantics" not in exact_run


def test_a_mapping_exact_cannot_score_gets_null_and_the_reason(monkeypatch):
    layer = find_layer("vgg16.conv5_1")
    problem = Problem.create(layer, Hardware(num_pes=64), ["edp"], semantics="maestro")
    mapping = parse_directives("SpatialMap(1,1) K; TemporalMap(3,1) Y; TemporalMap(3,1) X;")

    def refuse(*args: object, **kwargs: object) -> object:
        raise UnsupportedError("outside the exact model's class")

    monkeypatch.setattr(results, "evaluate_batch", refuse)
    score = exact_score(problem, mapping, problem.hardware)
    assert score.to_json() is None and not score.feasible
    assert score.reason == "UnsupportedError: outside the exact model's class"
