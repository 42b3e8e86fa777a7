"""A sweep's files: the Pareto CSV, the per-layer CSV, the JSON summary and --keep's CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from mapsearch.dse import FixedDataflow, build_space, run_dse, select_layers
from mapsearch.dse.sweep import REASONS, SweepResult
from mapsearch.report.dse import (
    HARDWARE_COLUMNS,
    DesignWriter,
    pareto_records,
    per_layer_records,
    summary,
    write_outputs,
)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_files_hold_the_front(sweep_result: SweepResult, tmp_path: Path) -> None:
    paths = write_outputs(sweep_result, tmp_path / "out")
    assert set(paths) == {"pareto", "per_layer", "summary"}
    pareto = read_csv(paths["pareto"])
    assert list(pareto[0]) == list(HARDWARE_COLUMNS)
    assert [int(r["design"]) for r in pareto] == sweep_result.front.tolist()
    assert all(r["valid"] == "True" and r["invalid_because"] == "" for r in pareto)
    assert all(float(r["area_mm2"]) <= 40 for r in pareto)
    # throughput = MACs / runtime and EDP = energy x runtime, per design
    for r in pareto:
        runtime = float(r["runtime_cycles"])
        assert float(r["throughput_macs_per_cycle"]) == pytest.approx(float(r["macs"]) / runtime)
        assert float(r["edp"]) == pytest.approx(float(r["energy"]) * runtime)
    per_layer = read_csv(paths["per_layer"])
    assert len(per_layer) == len(per_layer_records(sweep_result)) == 2 * len(pareto)
    for rank, row in enumerate(pareto, start=1):
        mine = [r for r in per_layer if r["rank"] == str(rank)]
        assert [r["layer"] for r in mine] == ["vgg16.CONV5_1", "vgg16.FC8"]
        assert all(r["design"] == row["design"] and r["mapping"] == "KC-P_kcp_ws" for r in mine)
        assert all("SpatialMap" in r["directives"] for r in mine)
        for key in ("runtime_cycles", "energy", "macs"):
            assert sum(float(r[key]) for r in mine) == pytest.approx(float(row[key]))
    assert json.loads(paths["summary"].read_text()) == json.loads(json.dumps(summary(sweep_result)))


def test_summary_keys_and_best_designs(sweep_result: SweepResult) -> None:
    s = summary(sweep_result)
    assert s["objectives"] == ["throughput", "energy", "area"]
    assert s["budget"] == {"area_mm2": 40.0, "power_mw": None}
    assert s["designs"] == sweep_result.n_designs == 96 and s["cores"] == 6
    assert s["valid"] == sweep_result.n_valid
    assert s["invalid_by_reason"] == {r: sweep_result.fails[r] for r in REASONS}
    assert s["pareto_points"] == len(pareto_records(sweep_result))
    assert s["space"]["pes"] == [64, 128, 256] and s["space"]["offchip_bw_words_per_cycle"] is None
    assert s["semantics"] == "exact" and s["mappings"] == ["KC-P_kcp_ws"]
    rec = sweep_result.records(np.arange(sweep_result.n_designs))
    valid = rec["valid"].astype(bool)
    for name, column, best in (
        ("throughput", "throughput_macs_per_cycle", np.max),
        ("energy", "energy", np.min),
        ("area", "area_mm2", np.min),
    ):
        assert s["best"][name]["value"] == pytest.approx(best(rec[column][valid].astype(float)))
        design = s["best"][name]["design"]
        assert rec[column][design] == pytest.approx(s["best"][name]["value"])
    assert {"analysis_s", "sweep_s", "wall_s", "designs_per_s"} <= set(s)


def test_latency_is_reported_under_its_name(tmp_path: Path) -> None:
    space = build_space(pes="64,128", noc_bw="16", l1="64", l2="64K")
    result = run_dse(
        space, select_layers("vgg16", ["fc8"]), FixedDataflow("kcp"), objectives=["runtime"]
    )
    s = summary(result)
    assert s["objectives"] == ["latency"] and set(s["best"]) == {"latency"}
    runtime = result.records(np.arange(space.size))["runtime_cycles"]
    assert s["best"]["latency"]["value"] == runtime.min()


def test_no_valid_design(empty_sweep: SweepResult, tmp_path: Path) -> None:
    paths = write_outputs(empty_sweep, tmp_path)
    assert paths["pareto"].read_text() == ",".join(HARDWARE_COLUMNS) + "\n"
    assert read_csv(paths["per_layer"]) == []
    s = json.loads(paths["summary"].read_text())
    assert s["valid"] == 0 and s["pareto_points"] == 0
    assert s["best"] == {"throughput": None, "energy": None}
    assert s["invalid_by_reason"]["power"] == s["designs"]


def test_design_writer_streams_kept_designs() -> None:
    space = build_space(pes="64,128", noc_bw="16,64", l1="8,64", l2="1K,64K")
    layers = select_layers("vgg16", ["conv5_1", "fc8"])
    fh = io.StringIO()
    writer = DesignWriter(fh, [x.name for x in layers])
    result = run_dse(space, layers, FixedDataflow("kcp"), keep="all", chunk_size=3, on_kept=writer)
    rows = list(csv.DictReader(io.StringIO(fh.getvalue())))
    assert writer.rows == len(rows) == result.n_designs
    assert list(rows[0]) == [
        *HARDWARE_COLUMNS,
        "runtime_cycles:CONV5_1",
        "runtime_cycles:FC8",
        "energy:CONV5_1",
        "energy:FC8",
    ]
    assert [int(r["design"]) for r in rows] == list(range(space.size))
    for r in rows:
        parts = float(r["energy:CONV5_1"]) + float(r["energy:FC8"])
        assert parts == pytest.approx(float(r["energy"]))
    empty = io.StringIO()
    DesignWriter(empty, ["FC8"])
    assert empty.getvalue().strip().split(",")[-1] == "energy:FC8"
