"""Read MAESTRO's reference rows (``tests/data/maestro/dev.csv``) into layers, mappings, hardware.

Shared by the maestro-semantics tests and ``benchmarks/fidelity.py``. Nothing here holds a
number from the CSV: every expected value is read from the file at run time.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from mapsearch.directives import Mapping
from mapsearch.directives.maestro_file import parse_directives
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

DATA = Path(__file__).resolve().parents[1] / "data" / "maestro"
CSV_PATH = DATA / "dev.csv"

#: (report metric, CSV column, relative tolerance): the issue's fidelity bar.
METRICS: tuple[tuple[str, str, float], ...] = (
    ("macs", "m_Num MACs", 0.0),
    ("runtime_cycles", "m_Runtime (Cycles)", 0.0),
    ("l2_read_input", "m_input l2 read", 0.0),
    ("l2_read_filter", "m_filter l2 read", 0.0),
    ("l2_write_output", "m_output l2 write", 0.0),
    ("l1_size_words", "m_L1 SRAM Size Req (Bytes)", 0.0),
    ("l2_size_words", "m_L2 SRAM Size Req (Bytes)", 0.0),
    ("peak_noc_bw_words_per_cycle", "m_Peak BW Req", 0.0),
    # MAESTRO prints 6 significant digits.
    ("energy_total", "scr_Total_energy_consumption", 5e-6),
)


@dataclass(frozen=True)
class Row:
    index: int
    raw: dict[str, str]
    layer: Layer
    mapping: Mapping
    hardware: Hardware

    @property
    def flags(self) -> str:
        return self.raw["flags"]

    @property
    def dataflow(self) -> str:
        return self.raw["dataflow"]

    def label(self) -> str:
        r = self.raw
        return f"row {self.index}: {r['net']} {r['layer']} {r['dataflow']} on {r['hw_name']}"


def _layer(r: dict[str, str]) -> Layer:
    common = {
        "R": int(r["R"]),
        "S": int(r["S"]),
        "Y": int(r["Y"]),
        "X": int(r["X"]),
        "N": int(r["N"]),
        "stride": int(r["stride"]),
        "model": r["net"],
    }
    if r["layer_type"] == "DSCONV":
        return Layer.dsconv(r["layer"], C=int(r["C"]), **common)
    return Layer.conv(r["layer"], K=int(r["K"]), C=int(r["C"]), **common)


def _hardware(r: dict[str, str]) -> Hardware:
    return Hardware(
        name=r["hw_name"],
        num_pes=int(r["num_pes"]),
        l1_size_words=int(float(r["l1_size_cstr"])),
        l2_size_words=int(float(r["l2_size_cstr"])),
        noc_bw_words_per_cycle=int(float(r["noc_bw_cstr"])),
        offchip_bw_words_per_cycle=int(float(r["offchip_bw_cstr"])),
        noc_latency_cycles=int(r["noc_latency_effective"]),
    )


def load_rows(path: Path = CSV_PATH) -> list[Row]:
    """Every single-layer row of the reference CSV."""
    with path.open(newline="") as fh:
        raw = list(csv.DictReader(fh))
    return [
        Row(
            index=i,
            raw=r,
            layer=_layer(r),
            mapping=parse_directives(r["directives"]),
            hardware=_hardware(r),
        )
        for i, r in enumerate(raw)
        if r["run_kind"] == "layer"
    ]


def report_metric(report: object, name: str, i: int = 0) -> float:
    """One metric of ``METRICS`` from a Report."""
    if name.startswith("l2_read_"):
        return float(getattr(report.l2_reads, name.removeprefix("l2_read_"))[i])  # type: ignore[attr-defined]
    if name.startswith("l2_write_"):
        return float(getattr(report.l2_writes, name.removeprefix("l2_write_"))[i])  # type: ignore[attr-defined]
    return float(getattr(report, name)[i])


def matches(got: float, want: float, rel: float) -> bool:
    return got == want if rel == 0.0 else abs(got - want) <= rel * abs(want)
