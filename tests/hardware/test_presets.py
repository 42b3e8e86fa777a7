"""Hardware presets against MAESTRO's hardware files, and the named energy tables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mapsearch.errors import UnknownNameError
from mapsearch.hardware.config import EnergyTable, Hardware
from mapsearch.hardware.energy import ENERGY_TABLES, energy_table
from mapsearch.hardware.presets import DEFAULT_PRESET, PRESETS, preset, preset_names

DATA = Path(__file__).parent.parent / "data" / "maestro"

#: MAESTRO hardware-file keys (and command-line flags) -> Hardware fields.
FIELDS = {
    "num_pes": "num_pes",
    "l1_size_cstr": "l1_size_words",
    "l2_size_cstr": "l2_size_words",
    "noc_bw_cstr": "noc_bw_words_per_cycle",
    "offchip_bw_cstr": "offchip_bw_words_per_cycle",
}


def read_hw_file(path: Path) -> tuple[dict[str, int], bool]:
    """(values, is_cli): ``key: value`` lines, or ``// --key=value`` comments of a CLI run."""
    text = path.read_text()
    pairs = re.findall(r"^\s*(\w+)\s*:\s*(\d+)\s*$", text, re.M)
    if pairs:
        return {k: int(v) for k, v in pairs}, False
    return {k: int(v) for k, v in re.findall(r"^//\s*--(\w+)=(\d+)\s*$", text, re.M)}, True


HW_FILES = sorted((DATA / "inputs" / "hw").glob("*.m"))


def test_there_are_reference_hardware_files() -> None:
    assert len(HW_FILES) >= 5


@pytest.mark.parametrize("path", HW_FILES, ids=lambda p: p.stem)
def test_each_maestro_hardware_file_has_its_preset(path: Path) -> None:
    values, is_cli = read_hw_file(path)
    assert set(values) == set(FIELDS)
    hw = preset(path.stem)
    assert hw.name == path.stem
    for key, value in values.items():
        assert getattr(hw, FIELDS[key]) == value, key
    # A hardware file sets the NoC latency to NoC_NumHops (default 1); MAESTRO's
    # command-line mode multiplies hops by a hop latency that defaults to 0.
    assert hw.noc_latency_cycles == (0 if is_cli else 1)
    assert (hw.vector_width, hw.word_bytes, hw.energy) == (1, 1, EnergyTable())


def test_shipped_accelerator_1_is_the_default_preset() -> None:
    values, _ = read_hw_file(DATA / "examples" / "hw" / "accelerator_1.m")
    hw = preset("hw_default_pe256")
    assert {FIELDS[k]: v for k, v in values.items()} == {f: getattr(hw, f) for f in FIELDS.values()}


def test_pe1024_preset_of_the_reference_table() -> None:
    hw = preset("hw_pe1024_bw256")
    assert (hw.num_pes, hw.l1_size_words, hw.l2_size_words) == (1024, 512, 2**20)
    assert (hw.noc_bw_words_per_cycle, hw.offchip_bw_words_per_cycle) == (256, 256)


def test_eyeriss_preset_follows_the_chip() -> None:
    hw = preset("eyeriss")
    assert hw.num_pes == 12 * 14
    assert hw.word_bytes == 2  # 16-bit fixed point
    assert hw.l1_size_words == 12 + 224 + 24  # ifmap + filter + psum scratchpads
    assert hw.l1_size_words * hw.word_bytes == pytest.approx(512, rel=0.05)  # "0.5 kB"
    assert hw.l2_size_words * hw.word_bytes == 108 * 1024  # 108 kB global buffer
    e = hw.energy
    assert (e.l1_read / e.mac, e.l2_read / e.mac, e.dram_access / e.mac) == (1, 6, 200)


def test_nvdla_small_and_edge_presets() -> None:
    nv = preset("nvdla_small")
    assert nv.num_pes == 8 * 8  # atomic-C x atomic-K
    assert nv.l2_size_words * nv.word_bytes == 128 * 1024  # convolution buffer
    edge = preset(DEFAULT_PRESET)
    assert edge.name == "edge_256"
    assert (edge.num_pes, edge.l1_size_words, edge.noc_bw_words_per_cycle) == (256, 512, 64)
    assert edge.offchip_bw_words_per_cycle == 16


def test_presets_are_named_sourced_and_listed() -> None:
    assert preset_names() == tuple(PRESETS)
    assert {p.stem for p in HW_FILES} <= set(preset_names())
    for name in preset_names():
        p = PRESETS[name]
        assert isinstance(p.hardware, Hardware)
        assert p.name == name and p.source


def test_lookup_forgives_case_and_dashes_and_lists_close_matches() -> None:
    assert preset("Eyeriss") == preset("eyeriss")
    assert preset("nvdla-small") == preset("nvdla_small")
    with pytest.raises(
        UnknownNameError, match=r"unknown hardware preset 'eyriss'; did you mean eyeriss"
    ):
        preset("eyriss")
    with pytest.raises(KeyError, match="did you mean hw_pe64_bw32"):
        preset("hw_pe64_bw16")


def test_energy_tables() -> None:
    assert energy_table("maestro") == EnergyTable()
    assert set(ENERGY_TABLES) == {"maestro", "eyeriss_65nm", "horowitz_45nm_int8"}
    h = energy_table("Horowitz-45nm-int8")
    assert h.unit == "pJ"
    assert h.mac == pytest.approx(0.2 + 0.03)  # 8-bit multiply + 8-bit add
    assert h.l1_read < h.l2_read < h.dram_access
    for t in ENERGY_TABLES.values():
        assert t.source
    with pytest.raises(UnknownNameError, match="did you mean eyeriss_65nm"):
        energy_table("eyeriss")
