from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mapsearch.cli.app import app

SMALL = [
    "dse",
    "--model",
    "vgg16",
    "--layer",
    "conv5_1",
    "--layer",
    "fc8",
    "--dataflow",
    "kcp",
    "--pes",
    "64:256:x2",
    "--noc-bw",
    "16,64",
    "--l1",
    "8:64:x2",
    "--l2",
    "1K:64K:x4",
]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs without --out write under ./studies: keep them in a temporary folder."""
    monkeypatch.chdir(tmp_path)


def invoke(*extra: str) -> str:
    result = CliRunner().invoke(app, [*SMALL, *extra])
    assert result.exit_code == 0, result.output
    return result.output


def test_summary_table_and_files(tmp_path: Path) -> None:
    out = invoke("--out", str(tmp_path), "--no-progress")
    designs = 3 * 2 * 4 * 4
    assert f"designs {designs:,} | valid" in out
    assert "Pareto designs" in out and "designs/s" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["designs"] == designs
    assert summary["layers"] == ["vgg16.CONV5_1", "vgg16.FC8"]
    assert summary["objectives"] == ["throughput", "energy"]
    assert summary["valid"] + 0 <= designs and summary["valid"] > 0
    with (tmp_path / "pareto.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == summary["pareto_points"] > 0
    assert all(r["valid"] == "True" for r in rows)
    with (tmp_path / "per_layer.csv").open() as fh:
        per_layer = list(csv.DictReader(fh))
    assert len(per_layer) == 2 * len(rows)
    # the per-layer runtimes of a design add up to its whole-model runtime
    first = [float(r["runtime_cycles"]) for r in per_layer if r["rank"] == "1"]
    assert sum(first) == pytest.approx(float(rows[0]["runtime_cycles"]))
    for png in ("pareto.png", "per_layer.png"):
        data = (tmp_path / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_json_format_and_budget() -> None:
    doc = json.loads(invoke("--format", "json", "--area-budget", "40", "-o", "energy"))
    s = doc["summary"]
    assert s["budget"]["area_mm2"] == 40 and s["objectives"] == ["energy"]
    assert s["invalid_by_reason"]["area"] > 0
    assert all(p["area_mm2"] <= 40 for p in doc["pareto"])
    assert len(doc["pareto"]) == s["pareto_points"] == 1


def test_keep_all_writes_every_design(tmp_path: Path) -> None:
    path = tmp_path / "all.csv"
    invoke("--keep", "all", str(path), "--no-progress", "--chunk-size", "10")
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["design"]) for r in rows] == list(range(3 * 2 * 4 * 4))
    for r in rows:  # whole model = sum of the per-layer columns
        per_layer = float(r["runtime_cycles:CONV5_1"]) + float(r["runtime_cycles:FC8"])
        assert per_layer == pytest.approx(float(r["runtime_cycles"]))
    valid = tmp_path / "valid.csv"
    invoke("--keep", "valid", str(valid), "--no-progress", "--force")  # same --out again
    with valid.open() as fh:
        assert all(r["valid"] == "True" for r in csv.DictReader(fh))


def test_no_valid_design_says_why() -> None:
    out = invoke("--power-budget", "1", "--no-progress")
    assert "valid 0 " in out and "no valid design" in out and "power" in out


def test_files_go_under_studies_by_default(tmp_path: Path) -> None:
    out = invoke("--no-progress")
    where = tmp_path / "studies" / "dse-vgg16-kcp"
    for name in ("pareto.csv", "per_layer.csv", "summary.json", "pareto.png", "per_layer.png"):
        assert (where / name).is_file(), name
    assert "studies/dse-vgg16-kcp/pareto.csv" in out.replace("\n", "")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--pes", "4096:64"], "--pes: range '4096:64' is empty"),
        (["--l2", "1K:2K:x1"], "--l2: geometric factor"),
        (["--model", "vgg17"], "unknown model 'vgg17'"),
        (["--dataflow", "kcq"], "unknown dataflow 'kcq'"),
        (["--objective", "speed"], "unknown objective 'speed'"),
        (["--layer", "conv9_9"], "unknown layer of vgg16"),
        (["--area-budget", "0"], "budgets must be > 0"),
        (["--dataflow", "tuned", "--tune-searcher", "annealing"], "unknown searcher"),
    ],
)
def test_errors_exit_2(args: list[str], fragment: str) -> None:
    base = ["dse", "--pes", "64", "--noc-bw", "16", "--l1", "64", "--l2", "64K", "--layer", "fc8"]
    proc = subprocess.run(
        [sys.executable, "-m", "mapsearch.cli.main", *base, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr


def test_tuned_dataflow(tmp_path: Path) -> None:
    args = ["dse", "--layer", "fc8", "--pes", "64,128", "--noc-bw", "16,64", "--l1", "64,1K"]
    args += ["--l2", "64K,1M", "--dataflow", "tuned", "--tune-budget", "16", "--no-progress"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Pareto designs" in result.output
    with (tmp_path / "per_layer.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["mapping"] == "tuned" and "Map" in r["directives"] for r in rows)


def test_an_onnx_model_is_swept_with_its_layers(small_onnx: Path, tmp_path: Path) -> None:
    args = ["dse", "--model", str(small_onnx), "--dataflow", "kcp", "--pes", "64,256"]
    args += ["--noc-bw", "16", "--l1", "64,1K", "--l2", "64K", "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "mapsearch dse: small, 3 layer(s), kcp" in result.stdout
    summary = json.loads((tmp_path / "studies" / "dse-small-kcp" / "summary.json").read_text())
    assert summary["layers"] == [
        "small.block_conv1_Conv",
        "small.block_conv2_Conv",
        "small.fc_Gemm",
    ]
    assert "note: skipped 4 nodes" in result.stderr
