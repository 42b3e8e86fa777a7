"""Plots for people: the Pareto front of a multi-objective study (PNG, matplotlib Agg)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mapsearch.hardware.energy import objective_unit

if TYPE_CHECKING:
    from mapsearch.searchers import Problem
    from mapsearch.studies.results import Baseline, Point


def pareto_plot(
    problem: Problem, points: Sequence[Point], baselines: Sequence[Baseline], path: Path
) -> Path:
    """Scatter the front on the first two objectives (log axes), classic dataflows beside it.

    Writes ``path`` (PNG) and returns it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x_obj, y_obj = problem.objectives[0], problem.objectives[1]
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    try:
        xs = [p.objectives[x_obj.name] for p in points]
        ys = [p.objectives[y_obj.name] for p in points]
        ax.plot(
            xs, ys, "o-", color="tab:blue", label="tuned (Pareto front)", drawstyle="steps-post"
        )
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
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path
