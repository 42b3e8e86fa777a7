"""``mapsearch tune`` and ``mapsearch space``: the JSON contract, Pareto plots, model mode,
and errors that exit 2 with a message (through the real entry point)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from mapsearch.cli.app import app
from mapsearch.directives.maestro_file import parse_directives

# The metrics every result carries (issue 5 / the evaluate JSON keys).
METRICS = {
    "macs",
    "runtime_cycles",
    "energy_mac_units",
    "l1_size_words",
    "l2_size_words",
    "peak_noc_bw_words_per_cycle",
    "avg_utilized_pes",
    "l2_reads",
    "l2_writes",
    "l1_reads",
    "l1_writes",
}
FAST = ["--semantics", "maestro", "--no-progress", "--batch-size", "16"]


def invoke(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_json_contract(tmp_path, monkeypatch):
    out = invoke(
        [
            "tune",
            "--layer",
            "vgg16.conv5_1",
            "--objective",
            "edp",
            "--trials",
            "48",
            "--format",
            "json",
            *FAST,
        ],
        tmp_path,
        monkeypatch,
    )
    data = json.loads(out)
    assert {"study", "storage", "n_evaluations", "wall_s", "best"} <= set(data)
    assert data["study"] == "vgg16-conv5_1-edge_256-edp-maestro"
    assert data["storage"] == "sqlite:///studies/vgg16-conv5_1-edge_256-edp-maestro.sqlite3"
    assert (tmp_path / "studies" / "vgg16-conv5_1-edge_256-edp-maestro.sqlite3").exists()
    assert data["n_evaluations"] == 48 and data["wall_s"] > 0
    assert len(data["best"]) == 1
    best = data["best"][0]
    assert set(best["objectives"]) == {"edp"}
    assert set(best["metrics"]) == METRICS
    assert best["hardware"]["name"] == "edge_256"
    mapping = parse_directives(best["mapping"])
    assert len(mapping.directives) >= 3
    # edp = energy x runtime of the reported metrics
    m = best["metrics"]
    assert best["objectives"]["edp"] == pytest.approx(m["energy_mac_units"] * m["runtime_cycles"])
    # the search is seeded with the classic dataflows, so it never loses to them
    assert data["speedup"] is None or data["speedup"] >= 1.0
    # every tune reports its gap to a proven bound (maestro: its own runtime floor)
    cert = data["certificate"]
    assert cert["objective"] == "edp" and cert["best_value"] == best["objectives"]["edp"]
    assert 0 < cert["lower_bound"] <= cert["best_value"]
    assert cert["gap_percent"] == pytest.approx(
        100 * (cert["best_value"] - cert["lower_bound"]) / cert["lower_bound"]
    )
    assert cert["proved_optimal"] is False and cert["evaluated"] == 48


def test_optimal_json_contract_adds_a_certificate(tmp_path, monkeypatch):
    """Issue 14's contract: today's keys, plus the certificate with its types (on the
    compact space: proving the complete one takes much longer)."""
    args = ["tune", "--layer", "conv3_1", "--objective", "latency", "--pes", "168"]
    args += ["--space", "compact"]
    out = invoke(
        [*args, "--searcher", "optimal", "--format", "json", "--no-progress"],
        tmp_path,
        monkeypatch,
    )
    data = json.loads(out)
    assert {"study", "storage", "n_evaluations", "wall_s", "best", "baseline", "speedup"} <= set(
        data
    )
    cert = data["certificate"]
    types = {"lower_bound": float, "proved_optimal": bool, "space_size": int, "evaluated": int}
    for key, kind in types.items():
        assert type(cert[key]) is kind, (key, cert[key])
    assert isinstance(cert["gap_percent"], float)
    best = data["best"][0]["objectives"]["latency"]
    assert cert["proved_optimal"] and cert["lower_bound"] == best and cert["gap_percent"] == 0.0
    assert cert["evaluated"] == data["n_evaluations"] < cert["space_size"]
    # a proved optimum beats or ties every classic dataflow
    assert data["speedup"] >= 1.0


def test_a_heuristic_run_prints_its_gap_to_the_proven_bound(tmp_path, monkeypatch):
    out = invoke(
        ["tune", "--layer", "vgg16.conv5_1", "-o", "latency", "--trials", "24", *FAST],
        tmp_path,
        monkeypatch,
    )
    assert "how far from the best possible latency" in out
    assert "proven lower bound" in out and "not proved" in out


def test_table_output_shows_mapping_loop_nest_and_comparison(tmp_path, monkeypatch):
    out = invoke(
        ["tune", "--layer", "vgg16.conv5_1", "--trials", "32", *FAST], tmp_path, monkeypatch
    )
    assert "best mapping" in out and "SpatialMap" in out
    assert "loop nest" in out
    assert "than the best classic dataflow" in out


def test_multi_objective_prints_a_front_and_writes_a_plot(tmp_path, monkeypatch):
    args = [
        "tune",
        "--layer",
        "vgg16.conv5_1",
        "-o",
        "latency",
        "-o",
        "energy",
        "--trials",
        "48",
        "--format",
        "json",
        *FAST,
    ]
    data = json.loads(invoke(args, tmp_path, monkeypatch))
    lat = [b["objectives"]["latency"] for b in data["best"]]
    en = [b["objectives"]["energy"] for b in data["best"]]
    assert lat == sorted(lat) and en == sorted(en, reverse=True)
    assert (tmp_path / "studies" / f"{data['study']}.pareto.png").stat().st_size > 1000


def test_model_mode_writes_a_tuning_table(tmp_path, monkeypatch):
    out = invoke(["tune", "--model", "alexnet", "--trials", "20", *FAST], tmp_path, monkeypatch)
    assert "per-layer tuning" in out
    tables = list((tmp_path / "studies").glob("alexnet-*.tuning.json"))
    assert len(tables) == 1
    rows = json.loads(tables[0].read_text())
    assert rows and {"layer", "dims", "hardware", "mapping", "objectives"} <= set(rows[0])


def test_tuning_table_never_records_worse_than_a_classic_dataflow(tmp_path, monkeypatch):
    """With a small budget on AlexNet, every row of the table is at least as good as every
    classic dataflow (the search's mapping, or the classic one where the search lost:
    tests/studies/test_tuning_table.py makes both happen on purpose)."""
    from mapsearch.costmodel import evaluate
    from mapsearch.directives.dataflows import DATAFLOWS, dataflow
    from mapsearch.errors import MapsearchError
    from mapsearch.hardware.presets import preset
    from mapsearch.layers.zoo import find_layer

    args = ["tune", "--model", "alexnet", "--objective", "latency", "--trials", "16", *FAST]
    invoke(args, tmp_path, monkeypatch)
    rows = json.loads(next((tmp_path / "studies").glob("alexnet-*.tuning.json")).read_text())
    hw = preset("edge_256")
    for row in rows:
        layer = find_layer(row["layer"])
        classic = []
        for name in DATAFLOWS:
            try:
                r = evaluate(layer, hw, dataflow(name, layer), semantics="maestro")
            except MapsearchError:
                continue
            fits = r.l1_size_words[0] <= hw.l1_size_words and r.l2_size_words[0] <= hw.l2_size_words
            if r.feasible[0] and fits:
                classic.append(float(r.runtime_cycles[0]))
        assert row["objectives"]["latency"] <= min(classic), row["layer"]
        mapping = parse_directives(row["mapping"])
        got = evaluate(layer, hw, mapping, semantics="maestro")
        assert float(got.runtime_cycles[0]) == row["objectives"]["latency"]
        assert row["source"].split(":")[0] in ("search", "classic")
    assert rows


def test_co_design_searches_hardware_within_the_area_budget(tmp_path, monkeypatch):
    args = [
        "tune",
        "--layer",
        "vgg16.conv5_1",
        "--co-design",
        "--area-budget",
        "400",
        "--trials",
        "64",
        "--format",
        "json",
        *FAST,
    ]
    data = json.loads(invoke(args, tmp_path, monkeypatch))
    assert data["best"][0]["hardware"]["name"] == "edge_256+codesign"


@pytest.mark.parametrize(
    ("space", "size"),
    [
        # 4! orders x K9 C8 Y8 X8 divisor tiles, spatial fixed
        ("compact", 24 * 9 * 8 * 8 * 8),
        # 4! orders x diagonal{no,yes} x tiles: divisors, 1..16 and powers of two:
        # K{1..16,32,64,128,256} = 20, C{1..16,32,64,128} = 19,
        # Y' and X' (54 outputs) {1..16,18,27,32,54} = 20
        ("complete", 24 * 2 * 20 * 19 * 20 * 20),
    ],
)
def test_space_prints_genes_and_size(tmp_path, monkeypatch, space, size):
    args = ["space", "--layer", "conv3_1", "--levels", "1", "--fix", "L0.spatial=K"]
    out = invoke([*args, "--space", space], tmp_path, monkeypatch)
    assert f"{size:,} genotypes" in out
    assert "L0.tile.K" in out
    if space == "complete":
        assert "L0.diagonal" in out
        assert f"{size:,} genotypes" in invoke(args, tmp_path, monkeypatch)  # the default


def run_main(args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "mapsearch.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tune", "--layer", "conv99_9"], "unknown layer"),
        (["tune", "--layer", "conv3_1", "--objective", "speed"], "unknown objective 'speed'"),
        (["tune", "--layer", "conv3_1", "--searcher", "anneal"], "unknown searcher 'anneal'"),
        (
            ["tune", "--layer", "conv3_1", "--searcher", "cmaes", "-o", "latency", "-o", "energy"],
            "single objective",
        ),
        (
            [
                "tune",
                "--layer",
                "vgg16.conv5_1",
                "--co-design",
                "--area-budget",
                "0.000001",
                "--trials",
                "16",
                *FAST,
            ],
            "no feasible point",
        ),
        (
            ["tune", "--layer", "conv3_1", "--searcher", "optimal", "--semantics", "maestro"],
            "needs --semantics exact",
        ),
    ],
    ids=["layer", "objective", "searcher", "cmaes-multi", "infeasible-budget", "optimal-maestro"],
)
def test_errors_exit_2_with_a_message(args, message, tmp_path):
    result = run_main(args, tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr


def test_resuming_with_another_problem_is_refused(tmp_path):
    first = run_main(
        ["tune", "--layer", "vgg16.conv5_1", "--study", "x", "--trials", "16", *FAST], tmp_path
    )
    assert first.returncode == 0, first.stderr
    second = run_main(
        [
            "tune",
            "--layer",
            "vgg16.conv5_1",
            "--study",
            "x",
            "-o",
            "latency",
            "--trials",
            "16",
            *FAST,
        ],
        tmp_path,
    )
    assert second.returncode == 2
    assert "different problem" in second.stderr and "edp (minimize)" in second.stderr
    assert "latency (minimize)" in second.stderr


def test_a_study_resumes_in_its_own_space_unless_another_is_asked_for(tmp_path, monkeypatch):
    """A study made on the compact space resumes as compact without --space; --space
    complete is refused with both kinds named."""
    args = ["tune", "--layer", "vgg16.conv5_1", "--study", "x", "--format", "json", *FAST]
    first = json.loads(
        invoke([*args, "--space", "compact", "--trials", "16"], tmp_path, monkeypatch)
    )
    again = json.loads(invoke([*args, "--trials", "32"], tmp_path, monkeypatch))
    assert (first["n_evaluations"], again["n_evaluations"], again["n_new"]) == (16, 32, 16)
    refused = run_main([*args, "--space", "complete", "--trials", "48"], tmp_path)
    assert refused.returncode == 2
    assert "searches the compact space, not the complete space" in refused.stderr
    assert "--space compact (or without --space)" in refused.stderr


def test_readme_main_command_beats_every_classic_dataflow(tmp_path):
    """The README's front-door command, with every default (exact semantics, edge_256,
    the GA) but the space, finds a feasible mapping better than every classic dataflow. On
    the compact space: 4,000 evaluations of the complete one take minutes with the exact
    model (docs/search_space.md)."""
    args = ["tune", "--layer", "conv3_1", "--objective", "edp", "--no-progress", "--format", "json"]
    args += ["--space", "compact"]
    done = subprocess.run(
        [sys.executable, "-m", "mapsearch", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["n_evaluations"] >= 1000
    assert data["speedup"] is not None and data["speedup"] > 1.0
    # exact semantics: the MACs of the unpadded layer, K256 C128 3x3 over 54x54 outputs
    assert data["best"][0]["metrics"]["macs"] == 256 * 128 * 3 * 3 * 54 * 54


def test_model_mode_tunes_each_shape_of_an_onnx_file_once(small_onnx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["tune", "--model", str(small_onnx), "--trials", "16", "--format", "json", *FAST]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    data = json.loads(result.stdout)
    # three layers, two shapes: the second convolution reuses the first one's result
    assert [x["layer"] for x in data["layers"]] == ["small.block_conv1_Conv", "small.fc_Gemm"]
    assert data["repeats"] == {"small.block_conv1_Conv": ["small.block_conv2_Conv"]}
    assert data["tuning_table"] == "studies/small-edge_256-edp.tuning.json"
    rows = json.loads((tmp_path / data["tuning_table"]).read_text())
    assert [r["layer"] for r in rows] == ["small.block_conv1_Conv", "small.fc_Gemm"]
    assert "note: skipped 4 nodes" in result.stderr


def test_model_mode_reads_a_maestro_model_file(tmp_path, monkeypatch):
    path = tmp_path / "two.m"
    path.write_text(
        "Network two {\n"
        "  Layer first { Type: CONV\n Dimensions { K: 16, C: 8, R: 3, S: 3, Y: 10, X: 10 } }\n"
        "  Layer again { Type: CONV\n Dimensions { K: 16, C: 8, R: 3, S: 3, Y: 10, X: 10 } }\n"
        "}\n"
    )
    out = invoke(["tune", "--model", str(path), "--trials", "16", *FAST], tmp_path, monkeypatch)
    assert "two.first" in out and "two.again" not in out
    assert "two: 2 layers, 1 distinct (each shape is tuned once" in " ".join(out.split())
    assert (tmp_path / "studies" / "two-edge_256-edp.tuning.json").exists()
