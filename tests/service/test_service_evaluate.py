"""evaluate_files: every layer of MAESTRO mapping files, scored, with capacity warnings."""

from __future__ import annotations

import csv
from pathlib import Path

from mapsearch.service import evaluate_files, mapping_from_file, resolve_hardware

DATA = Path(__file__).resolve().parents[1] / "data" / "maestro"
XP = DATA / "inputs" / "mapping" / "VGG16__CONV3_1__X_P_xp_ws.m"


def reference_row(mapping: Path, hw: str) -> dict[str, str]:
    with (DATA / "dev.csv").open() as fh:
        for row in csv.DictReader(fh):
            if Path(row["mapping_file"]).name == mapping.name and row["hw_name"] == hw:
                return row
    raise AssertionError(f"no reference row for {mapping.name} on {hw}")


def test_a_file_scores_like_maestro() -> None:
    hw = resolve_hardware(str(DATA / "inputs" / "hw" / "hw_pe64_bw32.m"))
    (rec,) = evaluate_files([XP], hw, semantics="maestro")
    row = reference_row(XP, "hw_pe64_bw32")
    assert rec["runtime_cycles"] == int(row["m_Runtime (Cycles)"])
    assert rec["file"] == str(XP) and rec["layer"] == "CONV3_1" and rec["hardware"] == hw.name


def test_warnings_name_what_exceeds_the_hardware() -> None:
    hw = resolve_hardware("hw_pe64_bw32", l1_size_words=1)
    (rec,) = evaluate_files([XP], hw, semantics="maestro")
    assert any(w.startswith("L1 size requirement") for w in rec["warnings"])
    layer, mapping = mapping_from_file(XP)
    assert layer.name == "CONV3_1" and mapping.name == XP.name
