"""Sweep plots (PNG, matplotlib's Agg backend): throughput vs energy with the Pareto front,
and the per-layer breakdown of the Pareto designs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mapsearch.dse.pareto import nondominated
from mapsearch.dse.sweep import SweepResult

#: Pareto designs shown in the per-layer breakdown (best first on the first objective).
MAX_BREAKDOWN_POINTS = 12


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _title(result: SweepResult) -> str:
    models = sorted({layer.model or "layers" for layer in result.table.layers})
    return (
        f"{', '.join(models)} ({', '.join(sorted(set(result.table.mapping_names)))}): "
        f"{result.n_designs:,} designs, {result.n_valid:,} valid, {len(result.front)} Pareto"
    )


def plot_pareto(result: SweepResult, path: Path) -> Path:
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
    ax.set_xlabel(f"energy ({unit} units)")
    ax.set_ylabel("throughput (MACs/cycle)")
    ax.set_title(_title(result), fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_per_layer(result: SweepResult, path: Path) -> Path:
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
        (axes[1], t.energy, f"energy ({t.energy_unit} units)"),
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
    fig.suptitle("per-layer breakdown of the Pareto designs: " + _title(result), fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
