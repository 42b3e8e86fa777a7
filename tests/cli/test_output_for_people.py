"""What people and logs see: progress lines when stderr is not a terminal, layer i/N in a
model run, nothing cut when output is piped, and one energy-unit name (``--energy``)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from mapsearch.cli.app import app

LONG = "a-study-name-long-enough-to-be-cut-at-eighty-columns-" + "x" * 90


def invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_progress_lines_and_long_names_are_whole_when_piped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ("tune", "--layer", "conv3_1", "--trials", "120", "--searcher", "random")
    result = invoke(*args, "--study", LONG)
    assert "tuning: 120 new evaluations (budget 120)" in result.stderr
    assert "best " in result.stderr and "/s" in result.stderr
    lines = result.stdout.splitlines()
    assert any(LONG in line for line in lines)  # on one line, not folded
    assert any(f"sqlite:///studies/{LONG}.sqlite3" in line for line in lines)
    listing = invoke("studies").stdout.splitlines()
    assert any(LONG in line for line in listing)
    quiet = invoke(*args, "--study", "q", "--no-progress")
    assert "evaluations" not in quiet.stderr


def test_a_model_run_says_which_layer(small_onnx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("tune", "--model", str(small_onnx), "--trials", "40", "--searcher", "random")
    assert "layer 1/2: small.block_conv1_Conv\n" in result.stderr
    assert "layer 2/2: small.fc_Gemm\n" in result.stderr


def test_energy_selects_a_named_table_and_its_unit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = ("evaluate", "--layer", "conv3_1", "--dataflow", "kcp", "--hw", "edge_256")
    table = invoke(*base, "--energy", "horowitz_45nm_int8").stdout
    assert "[pJ]" in table
    assert "[MAC-energy units]" in invoke(*base).stdout
    (pj,) = json.loads(invoke(*base, "--energy", "horowitz_45nm_int8", "--format", "json").stdout)
    (mac,) = json.loads(invoke(*base, "--format", "json").stdout)
    assert pj["energy_unit"] == "pJ" and mac["energy_unit"] == "mac"
    assert pj["energy_total"] != mac["energy_total"]
    args = ("tune", "--layer", "conv3_1", "--trials", "40", "--searcher", "random")
    out = invoke(*args, "--energy", "horowitz_45nm_int8", "--format", "json").stdout
    assert json.loads(out)["best"][0]["hardware"]["energy"]["unit"] == "pJ"
    bad = CliRunner().invoke(app, [*base, "--energy", "horowitz"])
    assert bad.exit_code != 0 and "horowitz_45nm_int8" in str(bad.exception)


def test_unlimited_hardware_has_no_area_or_power(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = ("evaluate", "--layer", "conv3_1", "--dataflow", "kcp", "--format", "json")
    (free,) = json.loads(invoke(*base).stdout)
    assert free["area_um2"] is None and free["power_mw"] is None
    (sized,) = json.loads(invoke(*base, "--noc-bw", "64").stdout)
    assert 0 < sized["area_um2"] < 1e12 and 0 < sized["power_mw"] < 1e9
    csv_text = invoke(*base[:-2], "--format", "csv").stdout
    assert "8.27e+14" not in csv_text and "e+14" not in csv_text
