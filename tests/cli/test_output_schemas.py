"""Every JSON output carries ``schema_version`` and validates against its JSON Schema
(``src/mapsearch/schemas``, described in docs/formats.md)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource
from typer.testing import CliRunner

from mapsearch.cli.app import app
from mapsearch.schemas import SCHEMA_VERSION, SCHEMAS, schema

REGISTRY = Registry().with_resources(
    (file, Resource.from_contents(schema(name))) for name, file in SCHEMAS.items()
)


def validate(instance: object, name: str) -> None:
    validator = jsonschema.Draft202012Validator(schema(name), registry=REGISTRY)
    validator.validate(instance)


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_schemas_are_valid_json_schemas(name):
    jsonschema.Draft202012Validator.check_schema(schema(name))


def test_tune_and_export_json_validate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ("tune", "--layer", "vgg16.conv5_1", "--trials", "80", "--searcher", "random")
    out = json.loads(run(*args, "-o", "latency", "-o", "energy", "--format", "json"))
    assert out["schema_version"] == SCHEMA_VERSION
    validate(out, "tune")
    assert out["certificate"]["proved_optimal"] is False  # a heuristic proves nothing
    with pytest.raises(jsonschema.ValidationError):  # the certificate is part of the contract
        validate({k: v for k, v in out.items() if k != "certificate"}, "tune")
    exported = json.loads(run("export", out["study"], "--format", "json"))
    validate(exported, "export")
    assert exported["problem"]["layer"]["dims"]["K"] == 512
    with pytest.raises(jsonschema.ValidationError):
        validate(
            {
                **exported,
                "problem": {
                    **exported["problem"],
                    "layer": {**exported["problem"]["layer"], "dims": [["K", 512]]},
                },
            },
            "export",
        )


def test_tune_model_and_its_tuning_table_validate(small_onnx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ("tune", "--model", str(small_onnx), "--trials", "60", "--searcher", "random")
    out = json.loads(run(*args, "--format", "json"))
    validate(out, "tune_model")
    table = json.loads(Path(out["tuning_table"]).read_text())
    validate(table, "tuning_table")
    assert all(row["schema_version"] == SCHEMA_VERSION for row in table)
    assert table[0]["dims"]["C"] == 8
    with pytest.raises(jsonschema.ValidationError):
        validate([{**table[0], "dims": [["C", 8]]}], "tuning_table")
