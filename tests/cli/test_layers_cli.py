"""``mapsearch layers`` and ``mapsearch presets``: output formats and exit codes."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from mapsearch.cli.app import app

runner = CliRunner()


def conv_macs(dims: dict[str, int], stride: int) -> int:
    """MACs of a convolution-like layer from its JSON dims, computed independently."""
    out_y = (dims["Y"] - dims["R"]) // stride + 1
    out_x = (dims["X"] - dims["S"]) // stride + 1
    rest = math.prod(v for d, v in dims.items() if d not in ("Y", "X"))
    return rest * out_y * out_x


def test_layers_json_for_one_model() -> None:
    result = runner.invoke(app, ["layers", "--model", "VGG16", "--format", "json"])
    assert result.exit_code == 0, result.output
    (doc,) = json.loads(result.output)
    assert doc["model"] == "vgg16"
    layers = doc["layers"]
    assert len(layers) == 16
    conv3_1 = next(x for x in layers if x["name"] == "vgg16.CONV3_1")
    assert conv3_1["dims"] == {"N": 1, "K": 256, "C": 128, "R": 3, "S": 3, "Y": 56, "X": 56}
    assert conv3_1["output"] == "256x54x54"
    assert conv3_1["macs"] == 256 * 128 * 9 * 54 * 54
    for x in layers:
        assert x["macs"] == conv_macs(x["dims"], x["stride"][0])
    assert doc["total_macs"] == sum(x["macs"] for x in layers)


def test_layers_table_has_every_layer_and_a_total_line() -> None:
    result = runner.invoke(app, ["layers", "-m", "alexnet"])
    assert result.exit_code == 0, result.output
    for name in ("CONV1", "CONV2", "CONV3", "CONV4", "CONV5", "FC6", "FC7", "FC8"):
        assert f"alexnet.{name}" in result.output
    assert "gconv" in result.output
    # conv1 11x11/4 on 227x227 has a 55x55 output: the MACs column uses separators.
    assert f"{96 * 3 * 121 * 55 * 55:,}" in result.output
    assert "alexnet total" in result.output and "8 layers" in result.output


def test_layers_csv_all_models_and_gemm_columns() -> None:
    result = runner.invoke(app, ["layers", "--format", "csv", "--distinct"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    models = {r["model"] for r in rows}
    assert models == {"vgg16", "resnet50", "mobilenetv2", "alexnet", "bert_base"}
    ffn1 = next(r for r in rows if r["model"] == "bert_base" and r["layer"] == "FFN1")
    assert (ffn1["op"], ffn1["M"], ffn1["N"], ffn1["K"], ffn1["R"]) == (
        "gemm",
        "128",
        "3072",
        "768",
        "",
    )
    assert int(ffn1["macs"]) == 128 * 768 * 3072
    assert sum(r["model"] == "bert_base" for r in rows) == 5  # distinct shapes only


def test_published_convention_flag() -> None:
    result = runner.invoke(
        app, ["layers", "-m", "vgg16", "-f", "json", "--convention", "published"]
    )
    assert result.exit_code == 0, result.output
    (doc,) = json.loads(result.output)
    conv3_1 = next(x for x in doc["layers"] if x["name"] == "vgg16.CONV3_1")
    assert (conv3_1["dims"]["Y"], conv3_1["output"]) == (58, "256x56x56")


def test_presets_json_and_table() -> None:
    result = runner.invoke(app, ["presets", "--format", "json"])
    assert result.exit_code == 0, result.output
    records = {r["name"]: r for r in json.loads(result.output)}
    assert records["hw_default_pe256"]["num_pes"] == 256
    assert records["cli_default_pe256"]["noc_latency_cycles"] == 0
    assert records["eyeriss"]["word_bytes"] == 2
    table = runner.invoke(app, ["presets"])
    assert table.exit_code == 0
    for name in records:
        assert name in table.output
    assert "accelerator_1.m" in table.output  # the sources are listed


def test_bad_format_is_a_usage_error() -> None:
    result = runner.invoke(app, ["layers", "--format", "xml"])
    assert result.exit_code == 2


def test_unknown_model_exits_2_with_close_matches() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mapsearch.cli.main", "layers", "--model", "resnet5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "error: unknown model 'resnet5'; did you mean resnet50" in proc.stderr
    assert proc.stdout == ""


def test_layers_json_of_an_onnx_file_keeps_the_zoo_schema(small_onnx) -> None:
    zoo = runner.invoke(app, ["layers", "--model", "vgg16", "--format", "json"])
    result = runner.invoke(app, ["layers", "--model", str(small_onnx), "--format", "json"])
    assert result.exit_code == 0, result.output
    ((doc,), (zoo_doc,)) = json.loads(result.stdout), json.loads(zoo.stdout)
    assert list(doc) == list(zoo_doc) == ["schema_version", "model", "total_macs", "layers"]
    assert (
        {tuple(x) for x in doc["layers"]}
        == {tuple(x) for x in zoo_doc["layers"]}
        == {("name", "op", "dims", "stride", "output", "macs")}
    )
    assert doc["model"] == "small"
    conv1, conv2, fc = doc["layers"]
    assert (conv1["name"], conv2["name"]) == ("small.block_conv1_Conv", "small.block_conv2_Conv")
    assert conv2["dims"] == conv1["dims"]
    # padding 1 on each side of the 16x16 map: 18 input rows, a 16x16 output as in the graph
    assert conv1["dims"] == {"N": 1, "K": 8, "C": 8, "R": 3, "S": 3, "Y": 18, "X": 18}
    assert (conv1["output"], conv1["stride"]) == ("8x16x16", [1, 1])
    assert conv1["macs"] == conv_macs(conv1["dims"], 1) == 8 * 8 * 9 * 16 * 16
    assert fc == {
        "name": "small.fc_Gemm",
        "op": "gemm",
        "dims": {"M": 1, "N": 4, "K": 8},
        "stride": [1, 1],
        "output": "1x4",
        "macs": 32,
    }
    assert doc["total_macs"] == 2 * conv1["macs"] + 32
    assert "note: skipped 4 nodes: Relu x2, GlobalAveragePool x1, Flatten x1" in result.stderr


def test_layers_of_a_maestro_model_file() -> None:
    path = (
        Path(__file__).parent.parent / "data" / "maestro" / "examples" / "model" / "vgg16_model.m"
    )
    result = runner.invoke(app, ["layers", "--model", str(path), "--format", "csv", "--distinct"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["model"] for r in rows} == {"vgg16_model"}
    assert [r["layer"] for r in rows][:3] == ["CONV1", "CONV2", "CONV3"]


def test_an_unreadable_model_file_exits_2_naming_it(tmp_path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_text("not a model")
    proc = subprocess.run(
        [sys.executable, "-m", "mapsearch.cli.main", "layers", "--model", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert " ".join(proc.stderr.split()).startswith(f"error: {bad}: not an ONNX model")
    assert proc.stdout == ""
