"""A hardware sweep's results (``mapsearch dse``) as records, CSV files and a JSON summary.

Areas are in mm^2 here (``area_mm2`` columns and keys), as the ``--area-budget`` flag."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from mapsearch.dse.sweep import REASONS, SweepResult
from mapsearch.errors import OverwriteError
from mapsearch.hardware import UNLIMITED
from mapsearch.objectives import mm2_from_um2
from mapsearch.outputs import check_outputs
from mapsearch.studies.locations import DEFAULT_DIR

#: The record column that holds each sweep objective (whole-model numbers).
OBJECTIVE_COLUMNS = {
    "throughput": "throughput_macs_per_cycle",
    "energy": "energy",
    "latency": "runtime_cycles",
    "edp": "edp",
    "area": "area_mm2",
    "power": "power_mw",
}

#: Columns of the per-design CSV (``pareto.csv`` and ``--keep`` files), in order.
HARDWARE_COLUMNS = (
    "design",
    "pes",
    "vector_width",
    "noc_bw_words_per_cycle",
    "l1_words",
    "l2_words",
    "runtime_cycles",
    "throughput_macs_per_cycle",
    "energy",
    "edp",
    "area_mm2",
    "power_mw",
    "l1_req_words",
    "l2_req_words",
    "macs",
    "valid",
    "invalid_because",
)


def _plain(x: Any) -> Any:
    if isinstance(x, np.bool_ | bool):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        v = float(x)
        return int(v) if v.is_integer() and abs(v) < 2**53 else v
    return x


def pareto_records(result: SweepResult) -> list[dict[str, Any]]:
    """The Pareto designs (best first on the first objective) as JSON-ready dicts."""
    rec = result.records(result.front)
    return [{c: _plain(rec[c][i]) for c in HARDWARE_COLUMNS} for i in range(len(result.front))]


def per_layer_records(result: SweepResult) -> list[dict[str, Any]]:
    """Per-layer costs of every Pareto design (one dict per design and layer)."""
    t = result.table
    core, _, _ = result.problem.space.unravel(result.front)
    out = []
    for rank, (design, c) in enumerate(zip(result.front.tolist(), core.tolist(), strict=True)):
        for j, layer in enumerate(t.layers):
            rt = float(t.runtime_cycles[c, j])
            out.append(
                {
                    "rank": rank + 1,
                    "design": design,
                    "layer": layer.qualified_name,
                    "mapping": t.mapping_names[j],
                    "directives": str(t.mapping[c * len(t.layers) + j] or ""),
                    "runtime_cycles": _plain(t.runtime_cycles[c, j]),
                    "energy": _plain(t.energy[c, j]),
                    "macs": _plain(t.macs[c, j]),
                    "throughput_macs_per_cycle": float(t.macs[c, j]) / max(rt, 1.0),
                    "l1_req_words": _plain(t.l1_req_words[c, j]),
                    "l2_req_words": _plain(t.l2_req_words[c, j]),
                }
            )
    return out


def summary(result: SweepResult) -> dict[str, Any]:
    """Counts, rates and the best design per objective, JSON-ready."""
    p = result.problem
    sp = p.space
    best: dict[str, dict[str, Any] | None] = {}
    for name, idx in result.best.items():
        if idx < 0:
            best[name] = None
            continue
        rec = result.records([idx])
        best[name] = {"value": _plain(rec[OBJECTIVE_COLUMNS[name]][0]), "design": idx}
    return {
        "layers": [layer.qualified_name for layer in result.table.layers],
        "mappings": sorted(set(result.table.mapping_names)),
        "semantics": result.table.semantics,
        "energy_unit": result.table.energy_unit,
        "space": {
            **{k: list(v) for k, v in sp.axes().items()},
            "noc_latency_cycles": sp.noc_latency_cycles,
            "offchip_bw_words_per_cycle": None
            if sp.offchip_bw_words_per_cycle >= UNLIMITED
            else sp.offchip_bw_words_per_cycle,
        },
        "objectives": [o.name for o in p.objectives],
        "budget": {
            "area_mm2": None
            if p.constraints.area_budget_um2 is None
            else float(mm2_from_um2(p.constraints.area_budget_um2)),
            "power_mw": p.constraints.power_budget_mw,
        },
        "area_power_model": {"name": p.model.name, "source": p.model.source},
        "designs": result.n_designs,
        "cores": sp.n_cores,
        "valid": result.n_valid,
        "invalid_by_reason": {r: result.fails[r] for r in REASONS},
        "pareto_points": len(result.front),
        "best": best,
        "analysis_s": result.analysis_s,
        "sweep_s": result.sweep_s,
        "wall_s": result.wall_s,
        "designs_per_s": result.designs_per_s,
    }


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        if not rows:
            fh.write("")
            return
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def output_paths(out_dir: Path) -> dict[str, Path]:
    """Every file ``dse`` writes in ``out_dir``, by its key in the ``files`` record."""
    return {
        "pareto": out_dir / "pareto.csv",
        "per_layer": out_dir / "per_layer.csv",
        "summary": out_dir / "summary.json",
        "pareto_png": out_dir / "pareto.png",
        "per_layer_png": out_dir / "per_layer.png",
    }


def default_out_dir(model: str, dataflow: str) -> Path:
    """Where a sweep's files go unless told: ``studies/dse-<model>-<dataflow>``."""
    return DEFAULT_DIR / f"dse-{model}-{dataflow.strip().lower()}"


def check_dse_outputs(out_dir: Path, keep_file: Path | None, *, force: bool) -> None:
    """Refuse, before any work, to write over earlier results in ``out_dir`` or over
    ``keep_file`` unless ``force`` (``OverwriteError`` naming them), and an ``out_dir``
    that is a file."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OverwriteError(f"--out {out_dir} is a file; name a folder for the results")
    targets = [*output_paths(out_dir).values(), *([keep_file] if keep_file else [])]
    check_outputs(targets, force=force)


def write_dse_files(result: SweepResult, out_dir: Path) -> dict[str, Path]:
    """Every file of :func:`output_paths`: the CSV and JSON files and both plots."""
    from mapsearch.report.plots import sweep_pareto_plot, sweep_per_layer_plot

    files = write_outputs(result, out_dir)
    pngs = output_paths(out_dir)
    files["pareto_png"] = sweep_pareto_plot(result, pngs["pareto_png"])
    files["per_layer_png"] = sweep_per_layer_plot(result, pngs["per_layer_png"])
    return files


def dse_json(result: SweepResult, files: dict[str, Path]) -> dict[str, Any]:
    """The ``--format json`` contract: summary, Pareto designs, files written."""
    return {
        "summary": summary(result),
        "pareto": pareto_records(result),
        "files": {k: str(v) for k, v in files.items()},
    }


@contextmanager
def design_writer(path: Path | None, layer_names: Sequence[str]) -> Iterator[DesignWriter | None]:
    """A :class:`DesignWriter` on ``path`` for the sweep's block (None without a path)."""
    if path is None:
        yield None
        return
    with path.open("w", newline="") as fh:
        yield DesignWriter(fh, layer_names)


def write_outputs(result: SweepResult, out_dir: Path) -> dict[str, Path]:
    """``pareto.csv``, ``per_layer.csv`` and ``summary.json`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    every = output_paths(out_dir)
    paths = {k: every[k] for k in ("pareto", "per_layer", "summary")}
    pareto = pareto_records(result)
    if pareto:
        write_csv(paths["pareto"], pareto)
    else:
        paths["pareto"].write_text(",".join(HARDWARE_COLUMNS) + "\n")
    write_csv(paths["per_layer"], per_layer_records(result))
    paths["summary"].write_text(json.dumps(summary(result), indent=2) + "\n")
    return paths


class DesignWriter:
    """Streams designs into a CSV file, chunk by chunk (``dse --keep``): the
    :data:`HARDWARE_COLUMNS`, then the runtime and energy of every layer
    (``runtime_cycles:<layer>``, ``energy:<layer>``), as
    :func:`mapsearch.dse.sweep.kept_records` gives them. The header is written at once."""

    def __init__(self, fh: IO[str], layer_names: Sequence[str]) -> None:
        self._writer = csv.writer(fh)
        self._columns = [
            *HARDWARE_COLUMNS,
            *(f"runtime_cycles:{n}" for n in layer_names),
            *(f"energy:{n}" for n in layer_names),
        ]
        self._writer.writerow(self._columns)
        self.rows = 0

    def __call__(self, records: dict[str, npt.NDArray[np.generic]]) -> None:
        cols = [records[c].tolist() for c in self._columns]
        self._writer.writerows(zip(*cols, strict=True))
        self.rows += len(cols[0])
