"""What ``mapsearch dse`` prints for people: the sweep's headline, its summary line, the
invalid designs by rule and the Pareto designs as a table (numbers short, capacities in
K/M words as the axes are written)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from mapsearch.dse.space import DesignSpace
from mapsearch.dse.sweep import SweepResult
from mapsearch.report.dse import pareto_records


def dse_headline(model: str, n_layers: int, dataflow: str, space: DesignSpace) -> str:
    """The first line of a sweep: what is swept, for what."""
    return f"mapsearch dse: {model}, {n_layers} layer(s), {dataflow}; {space.describe()}"


def dse_report(result: SweepResult, files: dict[str, Path], top: int) -> Group:
    """Summary, invalid designs by rule, the ``top`` Pareto designs (or why none is valid)
    and the files written."""
    parts: list[object] = [
        summary_line(result),
        "invalid designs by rule: "
        + ", ".join(f"{r} {n:,}" for r, n in result.fails.items())
        + " (a design may break several)",
    ]
    if result.n_valid == 0:
        parts.append("no valid design: widen the axes or relax the budgets")
        reasons = result.table.reasons_of(0)
        if reasons:
            parts.append(Text(f"e.g. core 0: {reasons[0]}"))
    else:
        parts.append(pareto_designs_table(result, top))
    parts += [Text(f"wrote {name}: {path}") for name, path in files.items()]
    return Group(*parts)  # type: ignore[arg-type]


def short_number(v: Any) -> str:
    """Compact numbers for tables: 3 significant digits with k/M/G, exact below 10,000."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    a = abs(v)
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e4, "k")):
        if a >= scale:
            return f"{v / scale:.3g}{suffix}"
    return f"{v:,}" if float(v).is_integer() else f"{v:.4g}"


def words_text(v: int) -> str:
    """Capacities in words, with K/M (x1024) when exact, as the axes are written."""
    for scale, suffix in ((1024**2, "M"), (1024, "K")):
        if v >= scale and v % scale == 0:
            return f"{v // scale}{suffix}"
    return f"{v:,}"


def summary_line(result: SweepResult) -> str:
    pct = 100.0 * result.n_valid / max(result.n_designs, 1)
    return (
        f"designs {result.n_designs:,} | valid {result.n_valid:,} ({pct:.2f}%) | "
        f"Pareto {len(result.front)} | {result.wall_s:.2f} s (analysis {result.analysis_s:.2f} s, "
        f"sweep {result.sweep_s:.2f} s) | {result.designs_per_s:,.0f} designs/s"
    )


def pareto_designs_table(result: SweepResult, top: int) -> Table:
    unit = result.table.energy_unit
    t = Table(
        title=f"Pareto designs ({', '.join(o.name for o in result.problem.objectives)})",
        caption="NoC in words/cycle, L1 in words per PE, L2 in words (K/M = x1024)",
    )
    cols = [
        ("#", ""),
        ("PEs", "pes"),
        ("VW", "vector_width"),
        ("NoC", "noc_bw_words_per_cycle"),
        ("L1", "l1_words"),
        ("L2", "l2_words"),
        ("cycles", "runtime_cycles"),
        ("MACs/cyc", "throughput_macs_per_cycle"),
        (f"energy {unit}", "energy"),
        ("mm²", "area_mm2"),
        ("mW", "power_mw"),
    ]
    for name, _ in cols:
        t.add_column(name, justify="right")
    for rank, row in enumerate(pareto_records(result)[:top], start=1):
        t.add_row(
            str(rank),
            *(
                words_text(row[key]) if key in ("l1_words", "l2_words") else short_number(row[key])
                for _, key in cols[1:]
            ),
        )
    return t
