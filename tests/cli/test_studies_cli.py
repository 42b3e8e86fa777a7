"""``mapsearch show``, ``export`` and ``studies`` on a study made by ``tune``."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from mapsearch.cli.app import app
from mapsearch.directives.maestro_file import parse_mapping_text

STUDY = "vgg16-conv5_1-edge_256-edp-maestro"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("studies_cli")
    runner = CliRunner()
    import os

    old = os.getcwd()
    os.chdir(path)
    try:
        result = runner.invoke(
            app,
            [
                "tune",
                "--layer",
                "vgg16.conv5_1",
                "--trials",
                "40",
                "--semantics",
                "maestro",
                "--no-progress",
                "--batch-size",
                "16",
            ],
        )
        assert result.exit_code == 0, result.output
    finally:
        os.chdir(old)
    return path


def invoke(args, workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_show_prints_best_and_history(workdir, monkeypatch):
    out = invoke(["show", STUDY], workdir, monkeypatch)
    assert "40 evaluations" in out and "best mapping" in out and "history" in out


def test_show_accepts_a_study_file(workdir, monkeypatch):
    out = invoke(["show", f"studies/{STUDY}.sqlite3"], workdir, monkeypatch)
    assert STUDY in out


def test_export_json_matches_show(workdir, monkeypatch):
    data = json.loads(invoke(["export", STUDY, "--format", "json"], workdir, monkeypatch))
    assert data["study"] == STUDY and data["n_evaluations"] == 40
    assert data["problem"]["layer"]["name"] == "CONV5_1"
    assert len(data["best"]) == 1 and "edp" in data["best"][0]["objectives"]


def test_export_csv_has_every_evaluation(workdir, monkeypatch):
    rows = list(
        csv.DictReader(
            io.StringIO(invoke(["export", STUDY, "--format", "csv"], workdir, monkeypatch))
        )
    )
    assert len(rows) == 40
    assert [int(r["trial"]) for r in rows] == list(range(40))
    feasible = [r for r in rows if r["feasible"] == "True"]
    assert feasible and all(r["edp"] for r in feasible)
    assert all(
        r["mapping"].startswith(("Temporal", "Spatial"))
        for r in rows
        if not r["reason"].startswith("the cluster")
    )


def test_export_maestro_is_a_readable_mapping_file(workdir, monkeypatch):
    out = workdir / "best.m"
    invoke(["export", STUDY, "--format", "maestro", "--output", str(out)], workdir, monkeypatch)
    network = parse_mapping_text(out.read_text())
    assert len(network.layers) == 1


def test_studies_lists_the_study_with_its_best(workdir, monkeypatch):
    out = invoke(["studies"], workdir, monkeypatch)
    assert "vgg16.CONV5_1 on edge_256: edp" in out.replace("\n", " ") or "CONV5_1" in out
    assert "edp " in out
