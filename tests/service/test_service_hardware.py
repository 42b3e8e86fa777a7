"""resolve_hardware: presets, MAESTRO hardware files, defaults and flag overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from mapsearch.errors import UnknownNameError
from mapsearch.hardware import Hardware
from mapsearch.hardware.presets import preset
from mapsearch.service import resolve_hardware

HW_FILE = (
    Path(__file__).resolve().parents[1] / "data" / "maestro" / "inputs" / "hw" / "hw_pe64_bw32.m"
)


def test_preset_file_and_default() -> None:
    assert resolve_hardware("nvdla_small") == preset("nvdla_small")
    assert resolve_hardware() == preset("edge_256")
    mine = Hardware(name="mine", num_pes=8)
    assert resolve_hardware(None, default=mine) is mine
    from_file = resolve_hardware(str(HW_FILE))
    # the file says 64 PEs and a NoC of 32 words/cycle; a hardware file's NoC latency is 1
    assert (from_file.num_pes, from_file.noc_bw_words_per_cycle) == (64, 32)
    assert from_file.noc_latency_cycles == 1 and from_file.name == "hw_pe64_bw32"


def test_flags_replace_values_and_keep_the_name() -> None:
    hw = resolve_hardware("edge_256", num_pes=64, l2_size_words=4096, noc_latency_cycles=3)
    base = preset("edge_256")
    assert (hw.name, hw.num_pes, hw.l2_size_words, hw.noc_latency_cycles) == (
        base.name,
        64,
        4096,
        3,
    )
    assert hw.l1_size_words == base.l1_size_words


def test_unknown_names_list_close_matches() -> None:
    with pytest.raises(UnknownNameError, match="edge_256"):
        resolve_hardware("edge_265")
