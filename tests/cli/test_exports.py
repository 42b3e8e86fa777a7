"""MAESTRO files from results: a Pareto study's points (one file, or one per point) and a
tuned model with its hardware, each read back and accepted by ``mapsearch evaluate``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mapsearch.cli.app import app
from mapsearch.directives.maestro_file import read_hardware_file, read_mapping_file
from mapsearch.hardware.presets import preset
from mapsearch.models import load_model

STUDY = "vgg16-conv5_1-edge_256-latency+energy"


def run(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture(scope="module")
def pareto(tmp_path_factory):
    """A two-objective study of vgg16.conv5_1 and its exported best points (JSON)."""
    path = tmp_path_factory.mktemp("pareto")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(path)
        run(
            *("tune", "--layer", "vgg16.conv5_1", "-o", "latency", "-o", "energy"),
            *("--trials", "120", "--searcher", "random", "--no-progress"),
        )
        best = json.loads(run("export", STUDY, "--format", "json"))["best"]
    assert len(best) > 1
    return path, best


def _evaluated(path, mapping_file, hw="edge_256"):
    return json.loads(
        run("evaluate", "--mapping", str(mapping_file), "--hw", hw, "--format", "json")
    )


def test_a_pareto_export_is_one_file_evaluate_scores_point_by_point(pareto, monkeypatch):
    path, best = pareto
    monkeypatch.chdir(path)
    text = run("export", STUDY, "--format", "maestro")
    (path / "stdout.m").write_text(text)
    run("export", STUDY, "--format", "maestro", "-o", "front.m")
    for name in ("stdout.m", "front.m"):
        network = read_mapping_file(path / name)
        assert len(network.layers) == len(best)
        records = _evaluated(path, path / name)
        assert [r["runtime_cycles"] for r in records] == [
            p["metrics"]["runtime_cycles"] for p in best
        ]
        assert [r["energy_total"] for r in records] == [p["objectives"]["energy"] for p in best]


def test_a_pareto_export_into_a_folder_is_one_valid_file_per_point(pareto, monkeypatch):
    path, best = pareto
    monkeypatch.chdir(path)
    run("export", STUDY, "--format", "maestro", "--output-dir", "points")
    files = sorted((path / "points").glob("*.m"), key=lambda p: int(p.stem.rsplit("_p", 1)[1]))
    assert len(files) == len(best)
    for f, point in zip(files, best, strict=True):
        (record,) = _evaluated(path, f)
        assert record["runtime_cycles"] == point["metrics"]["runtime_cycles"]
    result = CliRunner().invoke(app, ["export", STUDY, "--output-dir", "points"])
    assert result.exit_code == 2 and "--format maestro" in result.output


def test_tune_model_writes_the_tuned_model_and_its_hardware(small_onnx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run(
        *("tune", "--model", str(small_onnx), "--trials", "60", "--searcher", "random"),
        *("--no-progress", "--write-m", "out"),
    )
    model = load_model(str(small_onnx))
    network = read_mapping_file(tmp_path / "out" / "small.m")
    assert [e.layer.name for e in network.layers] == [layer.name for layer in model.layers]
    assert all(e.mapping is not None for e in network.layers)
    hw = read_hardware_file(tmp_path / "out" / "small.hw.m")
    edge = preset("edge_256")
    assert (hw.num_pes, hw.l1_size_words, hw.l2_size_words, hw.noc_bw_words_per_cycle) == (
        edge.num_pes,
        edge.l1_size_words,
        edge.l2_size_words,
        edge.noc_bw_words_per_cycle,
    )
    records = _evaluated(
        tmp_path, tmp_path / "out" / "small.m", hw=str(tmp_path / "out" / "small.hw.m")
    )
    assert len(records) == len(model.layers) and all(r["feasible"] for r in records)
