"""``tune`` says what its hardware costs and where the best mapping needs more than it has;
``--strict-capacity`` makes L2 footprint and NoC bandwidth hard constraints."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from mapsearch.cli.app import app
from mapsearch.costmodel.area_power import area_um2, hardware_area_um2, power_mw
from mapsearch.errors import StudyError
from mapsearch.hardware import Hardware
from mapsearch.hardware.presets import preset

ARGS = ["tune", "--layer", "conv3_1", "--trials", "300", "--searcher", "random", "--no-progress"]


def tune_json(*extra: str) -> dict:
    result = CliRunner().invoke(app, [*ARGS, "--format", "json", *extra])
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def test_tune_states_area_power_and_the_capacity_it_exceeds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tune_json()
    hw = preset("edge_256")
    sizes = (
        hw.num_pes,
        hw.vector_width,
        hw.noc_bw_words_per_cycle,
        hw.l1_size_words,
        hw.l2_size_words,
    )
    assert data["hardware"]["name"] == "edge_256"
    assert data["hardware"]["area_mm2"] == float(area_um2(*sizes)) * 1e-6
    assert data["hardware"]["power_mw"] == float(power_mw(*sizes))
    best = data["best"][0]["metrics"]
    over = best["l2_size_words"] > hw.l2_size_words
    assert over == any("L2 footprint" in w for w in data["warnings"])
    # The default search on edge_256 picks a mapping whose footprint is far above the L2.
    assert over


def test_strict_capacity_keeps_the_best_mapping_within_the_hardware(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    small = ("--semantics", "maestro", "--noc-bw", "2", "--l2", "20000")
    loose = tune_json(*small)
    assert any("peak NoC bandwidth" in w for w in loose["warnings"])
    assert loose["best"][0]["metrics"]["peak_noc_bw_words_per_cycle"] > 2
    data = tune_json(*small, "--strict-capacity", "--study", "strict")
    best = data["best"][0]["metrics"]
    assert best["l2_size_words"] <= 20000
    assert best["peak_noc_bw_words_per_cycle"] <= 2
    assert data["warnings"] == []


def test_strict_capacity_says_why_nothing_fits(tmp_path, monkeypatch):
    """Under exact semantics every tensor of conv3_1 stays in L2 (1.4 M words > 110,592)."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [*ARGS, "--strict-capacity", "--trials", "100"])
    assert isinstance(result.exception, StudyError)
    assert "no feasible point" in str(result.exception)
    assert "L2 footprint exceeds" in str(result.exception)


def test_unlimited_hardware_has_no_area():
    assert hardware_area_um2(Hardware(num_pes=64)) is None
    assert (
        hardware_area_um2(
            Hardware(num_pes=64, l1_size_words=64, l2_size_words=1024, noc_bw_words_per_cycle=8)
        )
        is not None
    )
