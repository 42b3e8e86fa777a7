"""``mapsearch dataflows`` and ``mapsearch show-mapping``: output and exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mapsearch.cli.app import app
from mapsearch.directives.dataflows import DATAFLOWS, dataflow_info
from mapsearch.errors import LayerError, UnknownNameError
from mapsearch.report.tables import dataflows_table
from mapsearch.service.mappings import show_mapping_text

DATA = Path(__file__).parent.parent / "data" / "maestro"
runner = CliRunner()


def run_main(*args: str) -> subprocess.CompletedProcess[str]:
    """The real entry point, with its error -> exit-code mapping."""
    return subprocess.run(
        [sys.executable, "-m", "mapsearch.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_dataflows_lists_every_dataflow() -> None:
    result = runner.invoke(app, ["dataflows"])
    assert result.exit_code == 0, result.output
    for name in DATAFLOWS:
        assert name in result.output
    assert "nvdla" in result.output and "eyeriss" in result.output


def test_dataflows_table_cells() -> None:
    table = dataflows_table()
    assert [c.header for c in table.columns][:3] == ["name", "aliases", "origin"]
    names = list(table.columns[0].cells)
    assert names == list(DATAFLOWS)
    directives = list(table.columns[3].cells)
    kcp = directives[0]
    assert isinstance(kcp, str)
    assert "TemporalMap(Sz(R),Sz(R)) R;" in kcp and "Cluster(64)" in kcp
    assert "GEMM: " + dataflow_info("kcp").gemm_directives in kcp


def test_show_mapping_kcp() -> None:
    result = runner.invoke(
        app, ["show-mapping", "--layer", "vgg16.conv3_1", "--dataflow", "nvdla", "--pes", "256"]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "mapping:  KC-P_kcp_ws (native)" in out
    assert "  TemporalMap(3,1) Y;" in out  # resolved
    assert "validation: legal" in out
    assert "par_for k0 in 256 over 4 units, 64 fold(s)" in out
    assert "MAC  # up to 9 MACs per PE per step" in out


def test_show_mapping_with_preset_and_pes_override() -> None:
    from mapsearch.hardware.presets import DEFAULT_PRESET, preset, preset_names

    default = preset(DEFAULT_PRESET)
    text = show_mapping_text(source="xp", layer="conv3_1")
    assert f"hardware: {default.name}: {default.describe()}" in text
    other = preset_names()[-1]
    text = show_mapping_text(source="xp", layer="conv3_1", hw=other)
    assert f"hardware: {preset(other).name}: {preset(other).describe()}" in text
    text = show_mapping_text(source="xp", layer="conv3_1", hw=other, pes=64)
    assert f"hardware: {preset(other).name} with 64 PEs:" in text
    assert "par_for x0 in 54 over 64 units, 1 fold(s)" in text


def test_show_mapping_reports_illegal_mapping() -> None:
    text = show_mapping_text(source="rs_vgg", layer="vgg16.conv3_1")
    assert "validation: ILLEGAL (2 problem(s))" in text
    assert "directive 7 'SpatialMap(1,1) X'" in text


def test_show_mapping_from_maestro_file() -> None:
    path = DATA / "inputs" / "mapping" / "VGG16__CONV3_1__YX_P_yxp_os.m"
    result = runner.invoke(app, ["show-mapping", "--mapping", str(path), "--pes", "256"])
    assert result.exit_code == 0, result.output
    assert "validation: legal" in result.output
    assert "for x0 in 7:" in result.output  # TemporalMap(10,8) X over 56


def test_show_mapping_file_with_many_layers_needs_layer() -> None:
    path = DATA / "examples" / "mapping" / "vgg16_nlr.m"
    with pytest.raises(LayerError, match="pick one with --layer: CONV1, CONV2"):
        show_mapping_text(source=path)
    assert "validation: legal" in show_mapping_text(source=path, layer="conv2")
    with pytest.raises(UnknownNameError, match="did you mean"):
        show_mapping_text(source=path, layer="conv14")


def test_unknown_layer_exits_2() -> None:
    result = run_main("show-mapping", "--layer", "vgg16.conv3_9", "--dataflow", "kcp")
    assert result.returncode == 2
    assert result.stderr.startswith("error: unknown layer 'vgg16.conv3_9'")
    assert "vgg16.conv3_1" in result.stderr


def test_unknown_dataflow_exits_2() -> None:
    result = run_main("show-mapping", "--layer", "vgg16.conv3_1", "--dataflow", "kcp_wz")
    assert result.returncode == 2
    assert "error: unknown dataflow 'kcp_wz'; did you mean" in result.stderr
    assert "kcp_ws" in result.stderr


def test_unsupported_gemm_dataflow_exits_2() -> None:
    result = run_main("show-mapping", "--layer", "bert_base.q_proj", "--dataflow", "yxp")
    assert result.returncode == 2
    assert "error: dataflow YX-P_yxp_os has no GEMM form" in result.stderr


def test_dataflow_and_mapping_are_exclusive() -> None:
    both = runner.invoke(
        app, ["show-mapping", "-l", "conv3_1", "-d", "kcp", "-m", "x.m"], catch_exceptions=False
    )
    assert both.exit_code == 2
    neither = runner.invoke(app, ["show-mapping", "-l", "conv3_1"])
    assert neither.exit_code == 2
    no_layer = runner.invoke(app, ["show-mapping", "-d", "kcp"])
    assert no_layer.exit_code == 2
