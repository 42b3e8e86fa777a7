"""``mapsearch evaluate``: the JSON contract, hardware-flag meanings, formats and errors.

Expected numbers are read from MAESTRO's reference CSV at test time.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mapsearch.cli.app import app
from mapsearch.service.evaluate import command_hardware, evaluate_jobs, jobs_from_files

DATA = Path(__file__).resolve().parents[1] / "data" / "maestro"
MAPPINGS = DATA / "inputs" / "mapping"
HW = DATA / "inputs" / "hw"
KCP = MAPPINGS / "VGG16__CONV3_1__KC_P_kcp_ws.m"
XP = MAPPINGS / "VGG16__CONV3_1__X_P_xp_ws.m"
RS_VGG = MAPPINGS / "VGG16__CONV1_1__YR_P_rs_vgg.m"
KEYS = {
    "file",
    "layer",
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
runner = CliRunner()


def _row(mapping_file: Path, hw_name: str) -> dict[str, str]:
    with (DATA / "dev.csv").open(newline="") as fh:
        for r in csv.DictReader(fh):
            if r["mapping_file"] == f"mapping/{mapping_file.name}" and r["hw_name"] == hw_name:
                return r
    raise LookupError((mapping_file, hw_name))


def _json(args: list[str]) -> list[dict]:
    res = runner.invoke(app, ["evaluate", *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_json_contract_for_several_files_in_one_call() -> None:
    out = _json(
        [
            "--mapping",
            str(KCP),
            str(XP),
            "--hw",
            str(HW / "hw_default_pe256.m"),
            "--semantics",
            "maestro",
        ]
    )
    assert [Path(r["file"]).name for r in out] == [KCP.name, XP.name]
    for rec in out:
        assert set(rec) >= KEYS
        for key in ("l2_reads", "l2_writes", "l1_reads", "l1_writes"):
            assert set(rec[key]) == {"input", "filter", "output"}
        assert rec["layer"] == "CONV3_1"


@pytest.mark.parametrize("mapping_file", [KCP, XP])
def test_hw_file_matches_maestro(mapping_file: Path) -> None:
    (rec,) = _json(
        [
            "--mapping",
            str(mapping_file),
            "--hw",
            str(HW / "hw_default_pe256.m"),
            "--semantics",
            "maestro",
        ]
    )
    row = _row(mapping_file, "hw_default_pe256")
    assert rec["runtime_cycles"] == int(row["m_Runtime (Cycles)"])
    assert rec["macs"] == int(row["m_Num MACs"])
    assert rec["l2_reads"]["input"] == int(row["m_input l2 read"])
    assert rec["energy_mac_units"] == pytest.approx(
        float(row["scr_Total_energy_consumption"]), rel=5e-6
    )


def test_flags_alone_mean_maestro_command_line_latency_zero() -> None:
    row = _row(KCP, "cli_default_pe256")
    flags = [
        "--pes",
        "256",
        "--noc-bw",
        "1000",
        "--offchip-bw",
        "50",
        "--l1-size",
        "100",
        "--l2-size",
        "3000",
    ]
    (rec,) = _json(["--mapping", str(KCP), *flags, "--semantics", "maestro"])
    assert rec["runtime_cycles"] == int(row["m_Runtime (Cycles)"])
    (with_latency,) = _json(
        ["--mapping", str(KCP), *flags, "--noc-latency", "1", "--semantics", "maestro"]
    )
    assert with_latency["runtime_cycles"] == int(
        _row(KCP, "hw_default_pe256")["m_Runtime (Cycles)"]
    )


def test_flags_override_a_preset() -> None:
    hw = command_hardware("hw_pe64_bw32", noc_bw=7, pes=128)
    assert (hw.num_pes, hw.noc_bw_words_per_cycle, hw.noc_latency_cycles) == (128, 7, 1)
    assert command_hardware(pes=16).noc_latency_cycles == 0


def test_layer_and_dataflow_by_name_default_semantics() -> None:
    (rec,) = _json(["--layer", "vgg16.conv3_1", "--dataflow", "kcp", "--pes", "256"])
    assert rec["semantics"] == "exact"
    assert rec["layer"] == "CONV3_1"
    assert rec["macs"] == 256 * 128 * 9 * 54 * 54


def test_table_has_units_and_capacity_warnings() -> None:
    res = runner.invoke(
        app,
        [
            "evaluate",
            "--mapping",
            str(KCP),
            "--hw",
            str(HW / "hw_default_pe256.m"),
            "--semantics",
            "maestro",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "[cycles]" in res.output and "[words/PE]" in res.output
    # MAESTRO's own warn_* flags for this row: L2 and off-chip exceeded.
    row = _row(KCP, "hw_default_pe256")
    assert ("L2 size requirement" in res.output) == (row["warn_l2_buffer"] == "1")
    assert ("off-chip bandwidth requirement" in res.output) == (row["warn_offchip_bw"] == "1")
    assert ("L1 size requirement" in res.output) == (row["warn_l1_buffer"] == "1")


def test_exact_notes_an_l2_footprint_instead_of_a_requirement() -> None:
    """Exact keeps every tensor in L2 (footprint = input + filter + output words) and
    requires none of it: the table notes the footprint and never calls it a requirement."""
    args = ["--layer", "vgg16.conv3_1", "--dataflow", "kcp", "--pes", "256", "--l2-size", "1000"]
    res = runner.invoke(app, ["evaluate", *args])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    footprint = 128 * 56 * 56 + 256 * 128 * 3 * 3 + 256 * 54 * 54
    assert f"L2 footprint {footprint:,} words exceeds the hardware's 1,000" in text
    assert "L2 size requirement" not in text
    (rec,) = _json(args)
    assert rec["l2_size_words"] == footprint and rec["l2_required_words"] == 0


def test_csv_format_flattens_tensor_counts() -> None:
    res = runner.invoke(
        app, ["evaluate", "--mapping", str(XP), "--semantics", "maestro", "--format", "csv"]
    )
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(res.output.splitlines()))
    assert len(rows) == 1
    assert {"l2_reads.input", "l1_writes.output", "runtime_cycles", "file", "layer"} <= set(rows[0])


def test_library_call_without_argv() -> None:
    jobs = jobs_from_files([XP])
    (rec,) = evaluate_jobs(jobs, command_hardware(str(HW / "hw_pe64_bw32.m")), semantics="maestro")
    assert rec["runtime_cycles"] == int(_row(XP, "hw_pe64_bw32")["m_Runtime (Cycles)"])


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mapsearch.cli.main", "evaluate", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_illegal_mapping_names_the_directive_and_exits_2() -> None:
    res = _run("--mapping", str(RS_VGG), "--pes", "256", "--semantics", "maestro")
    assert res.returncode == 2
    assert res.stderr.startswith("error:")
    assert "SpatialMap(1,1) X" in res.stderr


def test_unknown_dataflow_and_missing_source_exit_2() -> None:
    res = _run("--layer", "vgg16.conv3_1", "--dataflow", "no-such-flow")
    assert res.returncode == 2 and "unknown dataflow" in res.stderr
    res = _run("--pes", "4")
    assert res.returncode == 2 and "--mapping" in res.stderr
