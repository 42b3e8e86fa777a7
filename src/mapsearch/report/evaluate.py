"""Scored mappings (``mapsearch evaluate`` records) as a table with units, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from mapsearch.hardware import Hardware
from mapsearch.hardware.energy import energy_unit_name
from mapsearch.schemas import SCHEMA_VERSION

#: (column title, record key); ``{unit}`` is the energy unit.
COLUMNS = (
    ("MACs", "macs"),
    ("runtime\n[cycles]", "runtime_cycles"),
    ("energy\n[{unit}]", "energy_total"),
    ("L1 req\n[words/PE]", "l1_size_words"),
    ("L2 req\n[words]", "l2_size_words"),
    ("peak NoC BW\n[words/cycle]", "peak_noc_bw_words_per_cycle"),
    ("off-chip BW\n[words/cycle]", "offchip_bw_words_per_cycle"),
    ("PEs used\n[avg]", "avg_utilized_pes"),
)


def number(v: Any) -> str:
    """A count with thousands separators; a fraction with two decimals."""
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.2f}"
    return f"{int(v):,}"


def evaluation_table(records: list[dict[str, Any]], hardware: Hardware) -> Table:
    """Aligned table with units; warnings and infeasibility reasons go in the caption."""
    semantics = records[0]["semantics"] if records else ""
    table = Table(title=f"{semantics} semantics on {hardware.name}: {hardware.describe()}")
    several = len({rec["file"] for rec in records}) > 1
    if several:
        table.add_column("file", no_wrap=True)
    table.add_column("layer", style="bold", no_wrap=True)
    unit = records[0]["energy_unit"] if records else "mac"
    unit_name = energy_unit_name(unit)
    for title, _ in COLUMNS:
        table.add_column(escape(title.format(unit=unit_name)), justify="right", no_wrap=True)
    notes = []
    for rec in records:
        cells = [number(rec[key]) for _, key in COLUMNS]
        first = [Path(rec["file"]).stem, rec["layer"]] if several else [rec["layer"]]
        table.add_row(*first, *cells)
        where = escape(" ".join(first))
        notes += [f"[yellow]warning[/]: {where}: {escape(w)}" for w in rec["warnings"]]
        if not rec["feasible"]:
            notes.append(f"[red]infeasible[/]: {where}: {escape(rec['reason'])}")
    if notes:
        table.caption = "\n".join(notes)
        table.caption_justify = "left"
    return table


def evaluation_json(records: list[dict[str, Any]]) -> str:
    """``evaluate --format json``: the records, each with its ``schema_version`` first."""
    return json.dumps([{"schema_version": SCHEMA_VERSION, **rec} for rec in records], indent=2)


def evaluation_csv(records: list[dict[str, Any]]) -> str:
    """One row per record; nested per-tensor counts become ``l2_reads.input`` etc."""
    rows = []
    for rec in records:
        flat: dict[str, Any] = {}
        for k, v in rec.items():
            if isinstance(v, dict):
                flat.update({f"{k}.{t}": x for t, x in v.items()})
            elif isinstance(v, list):
                flat[k] = "; ".join(v)
            else:
                flat[k] = v
        rows.append(flat)
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()
