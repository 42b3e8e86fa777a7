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


def test_evaluate_json_validates_feasible_infeasible_and_unlimited(tmp_path):
    """Records of a MAESTRO file, a classic dataflow on a preset (area
    and power are numbers) and on unlimited command-line hardware (null), and an infeasible
    mapping (L1 too small), all in one schema."""
    mapping = Path(__file__).parents[1] / "data/maestro/inputs/mapping/VGG16__CONV3_1__X_P_xp_ws.m"
    outputs = [
        json.loads(run("evaluate", "--mapping", str(mapping), "--format", "json")),
        json.loads(
            run(
                "evaluate",
                "-l",
                "vgg16.conv3_1",
                "-d",
                "kcp",
                "--hw",
                "edge_256",
                "--format",
                "json",
            )
        ),
        json.loads(
            run(
                "evaluate",
                "-l",
                "vgg16.conv3_1",
                "-d",
                "kcp",
                "--l1-size",
                "2",
                "--energy",
                "horowitz_45nm_int8",
                "--format",
                "json",
            )
        ),
    ]
    for records in outputs:
        validate(records, "evaluate")
        assert all(r["schema_version"] == SCHEMA_VERSION for r in records)
    assert outputs[1][0]["area_um2"] > 0 and outputs[0][0]["area_um2"] is None
    assert not outputs[2][0]["feasible"] and outputs[2][0]["energy_unit"] == "pJ"
    record = outputs[1][0]
    for key in ("schema_version", "runtime_cycles", "warnings"):
        with pytest.raises(jsonschema.ValidationError, match=key):
            validate([{k: v for k, v in record.items() if k != key}], "evaluate")
    with pytest.raises(jsonschema.ValidationError):
        validate([{**record, "area_um2": 0}], "evaluate")


def test_layers_json_validates_with_the_keys_it_always_had(small_onnx):
    for args in (("--model", "vgg16"), ("--model", str(small_onnx)), ("--distinct",)):
        doc = json.loads(run("layers", *args, "--format", "json"))
        validate(doc, "layers")
        for model in doc:
            assert model["schema_version"] == SCHEMA_VERSION
            assert set(model) == {"schema_version", "model", "total_macs", "layers"}
            for layer in model["layers"]:
                assert set(layer) == {"name", "op", "dims", "stride", "output", "macs"}
    (vgg,) = json.loads(run("layers", "--model", "vgg16", "--format", "json"))
    for key in ("model", "total_macs", "layers", "schema_version"):
        with pytest.raises(jsonschema.ValidationError, match=key):
            validate([{k: v for k, v in vgg.items() if k != key}], "layers")
    layer = vgg["layers"][0]
    with pytest.raises(jsonschema.ValidationError, match="macs"):
        validate([{**vgg, "layers": [{k: v for k, v in layer.items() if k != "macs"}]}], "layers")
    with pytest.raises(jsonschema.ValidationError):
        validate([{**vgg, "layers": [{**layer, "stride": [1]}]}], "layers")
