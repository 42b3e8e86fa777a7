"""Plots for people (PNG, matplotlib's Agg backend): the Pareto front of a multi-objective
tuning study; a hardware sweep's throughput vs energy with its Pareto front, and the
per-layer breakdown of its Pareto designs.

Each ``*_figure`` function builds a matplotlib ``Figure`` (to show or adjust in a notebook);
each ``*_plot`` function writes that figure to a PNG file and closes it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mapsearch.hardware.energy import energy_unit_name, objective_unit
from mapsearch.objectives import nondominated

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from mapsearch.dse.sweep import SweepResult
    from mapsearch.problem import Problem
    from mapsearch.studies.results import Baseline, Point

#: Pareto designs shown in the per-layer breakdown (best first on the first objective).
MAX_BREAKDOWN_POINTS = 12


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Figure, path: Path, *, dpi: float | None = None) -> Path:
    """Write ``fig`` to ``path`` (PNG; folders created), close it, return ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi or "figure")
    finally:
        _pyplot().close(fig)
    return path


def pareto_plot(
    problem: Problem, points: Sequence[Point], baselines: Sequence[Baseline], path: Path
) -> Path:
    """Write :func:`pareto_figure` to ``path`` (PNG) and return it."""
    return save(pareto_figure(problem, points, baselines), path, dpi=110)


def pareto_figure(
    problem: Problem, points: Sequence[Point], baselines: Sequence[Baseline]
) -> Figure:
    """Scatter the front on the first two objectives (log axes), classic dataflows beside it."""
    plt = _pyplot()
    x_obj, y_obj = problem.objectives[0], problem.objectives[1]
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    xs = [p.objectives[x_obj.name] for p in points]
    ys = [p.objectives[y_obj.name] for p in points]
    ax.plot(xs, ys, "o-", color="tab:blue", label="tuned (Pareto front)", drawstyle="steps-post")
    classic = [b for b in baselines if b.feasible]
    if classic:
        bx = [b.objectives[x_obj.name] for b in classic]
        by = [b.objectives[y_obj.name] for b in classic]
        ax.plot(bx, by, "s", color="tab:orange", label="classic dataflows")
        for b, x, y in zip(classic, bx, by, strict=True):
            ax.annotate(b.name, (x, y), fontsize=7)
    if all(v > 0 for v in xs) and all(v > 0 for v in ys):
        ax.set_xscale("log")
        ax.set_yscale("log")
    energy = problem.hardware.energy.unit
    for axis, obj in ((ax.xaxis, x_obj), (ax.yaxis, y_obj)):
        axis.set_label_text(f"{obj.name} ({objective_unit(obj.unit, energy)}, {obj.direction})")
    ax.set_title(f"{problem.layer.qualified_name} on {problem.hardware.name}")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def _sweep_title(result: SweepResult) -> str:
    models = sorted({layer.model or "layers" for layer in result.table.layers})
    return (
        f"{', '.join(models)} ({', '.join(sorted(set(result.table.mapping_names)))}): "
        f"{result.n_designs:,} designs, {result.n_valid:,} valid, {len(result.front)} Pareto"
    )


def sweep_pareto_plot(result: SweepResult, path: Path) -> Path:
    """Write :func:`sweep_pareto_figure` to ``path`` (PNG) and return it."""
    return save(sweep_pareto_figure(result), path)


def sweep_pareto_figure(result: SweepResult) -> Figure:
    """Throughput vs energy of sampled valid designs coloured by area, Pareto designs on top."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    unit = result.table.energy_unit
    s = result.records(np.sort(result.sample))
    f = result.records(result.front)
    areas = np.concatenate([s["area_mm2"], f["area_mm2"]]).astype(float)
    vmin, vmax = (float(areas.min()), float(areas.max())) if len(areas) else (0.0, 1.0)
    if len(s["design"]):
        sc = ax.scatter(
            s["energy"],
            s["throughput_macs_per_cycle"],
            c=s["area_mm2"],
            cmap="viridis",
            vmin=vmin,
            vmax=vmax,
            s=8,
            alpha=0.5,
            linewidths=0,
            label="valid designs (sample)",
        )
    if len(f["design"]):
        # the throughput-energy staircase through the Pareto designs
        two = nondominated(
            np.stack([f["energy"].astype(float), -f["throughput_macs_per_cycle"].astype(float)], 1)
        )
        order = two[np.argsort(f["energy"][two])]
        sc = ax.scatter(
            f["energy"],
            f["throughput_macs_per_cycle"],
            c=f["area_mm2"],
            cmap="viridis",
            vmin=vmin,
            vmax=vmax,
            s=46,
            edgecolors="red",
            linewidths=1.2,
            label="Pareto designs",
            zorder=3,
        )
        ax.plot(
            f["energy"][order],
            f["throughput_macs_per_cycle"][order],
            color="red",
            lw=0.9,
            alpha=0.7,
            zorder=2,
            drawstyle="steps-post",
            label="throughput-energy front",
        )
    if len(s["design"]) or len(f["design"]):
        fig.colorbar(sc, ax=ax, label="area (mm$^2$)")
        ax.legend(loc="best", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no valid design", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel(f"energy ({energy_unit_name(unit)})")
    ax.set_ylabel("throughput (MACs/cycle)")
    ax.set_title(_sweep_title(result), fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def sweep_per_layer_plot(result: SweepResult, path: Path) -> Path:
    """Write :func:`sweep_per_layer_figure` to ``path`` (PNG) and return it."""
    return save(sweep_per_layer_figure(result), path)


def sweep_per_layer_figure(result: SweepResult) -> Figure:
    """Stacked per-layer runtime and energy of the Pareto designs (up to 12)."""
    plt = _pyplot()
    t = result.table
    front = result.front[:MAX_BREAKDOWN_POINTS]
    core, _, _ = result.problem.space.unravel(front)
    rec = result.records(front)
    labels = [
        f"#{i + 1} {p}PE vw{v} bw{b} L1 {l1} L2 {l2}"
        for i, (p, v, b, l1, l2) in enumerate(
            zip(
                rec["pes"],
                rec["vector_width"],
                rec["noc_bw_words_per_cycle"],
                rec["l1_words"],
                rec["l2_words"],
                strict=True,
            )
        )
    ]
    n_layers = len(t.layers)
    fig, axes = plt.subplots(
        1, 2, figsize=(12, 1.5 + 0.45 * max(len(front), 1)), dpi=110, sharey=True
    )
    cmap = plt.get_cmap("tab20")
    y = np.arange(len(front))
    for ax, values, xlabel in (
        (axes[0], t.runtime_cycles, "runtime (cycles)"),
        (axes[1], t.energy, f"energy ({energy_unit_name(t.energy_unit)})"),
    ):
        left = np.zeros(len(front))
        for j in range(n_layers):
            v = values[core, j] if len(front) else np.zeros(0)
            ax.barh(y, v, left=left, color=cmap(j % 20), label=t.layers[j].name, height=0.7)
            left = left + v
        ax.set_xlabel(xlabel)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, labels, fontsize=7)
    axes[0].invert_yaxis()
    if not len(front):
        axes[0].text(0.5, 0.5, "no Pareto design", ha="center", transform=axes[0].transAxes)
    axes[1].legend(
        loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, ncol=1 + n_layers // 20
    )
    fig.suptitle("per-layer breakdown of the Pareto designs: " + _sweep_title(result), fontsize=9)
    fig.tight_layout()
    return fig
