"""Plots: every figure labels its axes with names and units, and the PNG files are written."""

from __future__ import annotations

from pathlib import Path

import pytest

from mapsearch.dse.sweep import SweepResult
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.report.plots import (
    pareto_figure,
    pareto_plot,
    sweep_pareto_figure,
    sweep_pareto_plot,
    sweep_per_layer_figure,
    sweep_per_layer_plot,
)
from mapsearch.studies.results import Point, classic_baselines, exact_score

PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG and path.stat().st_size > 1000


def test_tuning_pareto_plot(tmp_path: Path) -> None:
    layer = Layer.conv("small", K=8, C=4, R=3, S=3, Y=8, X=8, model="toy")
    hw = Hardware(name="hw16", num_pes=16, offchip_bw_words_per_cycle=10**6)
    problem = Problem.create(layer, hw, ["latency", "energy"], semantics="maestro")
    baselines = classic_baselines(problem)
    feasible = [b for b in baselines if b.feasible]
    points = [
        Point(
            trial=i,
            mapping=b.mapping,
            hardware=hw,
            objectives=b.objectives,
            metrics={},
            exact=exact_score(problem, b.mapping, hw),
        )
        for i, b in enumerate(feasible[:2])
    ]
    fig = pareto_figure(problem, points, baselines)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "latency (cycles, minimize)"
    assert ax.get_ylabel() == "energy (MAC-energy units, minimize)"
    assert ax.get_title() == "toy.small on hw16"
    assert ax.get_xscale() == ax.get_yscale() == "log"
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["tuned (Pareto front)", "classic dataflows"]
    assert {t.get_text() for t in ax.texts} == {b.name for b in feasible}
    path = pareto_plot(problem, points, baselines, tmp_path / "deep" / "front.png")
    assert path == tmp_path / "deep" / "front.png" and is_png(path)


def test_sweep_pareto_plot(sweep_result: SweepResult, tmp_path: Path) -> None:
    fig = sweep_pareto_figure(sweep_result)
    ax, colorbar = fig.axes
    assert ax.get_xlabel() == "energy (MAC-energy units)"
    assert ax.get_ylabel() == "throughput (MACs/cycle)"
    assert colorbar.get_ylabel() == "area (mm$^2$)"
    assert f"{sweep_result.n_designs:,} designs" in ax.get_title()
    labels = ax.get_legend_handles_labels()[1]
    assert sorted(labels) == ["Pareto designs", "throughput-energy front", "valid designs (sample)"]
    assert is_png(sweep_pareto_plot(sweep_result, tmp_path / "pareto.png"))


def test_sweep_per_layer_plot(sweep_result: SweepResult, tmp_path: Path) -> None:
    fig = sweep_per_layer_figure(sweep_result)
    runtime, energy = fig.axes
    assert runtime.get_xlabel() == "runtime (cycles)"
    assert energy.get_xlabel() == "energy (MAC-energy units)"
    ticks = [t.get_text() for t in runtime.get_yticklabels()]
    assert len(ticks) == len(sweep_result.front) and ticks[0].startswith("#1 ")
    assert energy.get_legend_handles_labels()[1] == ["CONV5_1", "FC8"]
    assert is_png(sweep_per_layer_plot(sweep_result, tmp_path / "per_layer.png"))


@pytest.mark.parametrize("figure", [sweep_pareto_figure, sweep_per_layer_figure])
def test_sweep_plots_without_a_valid_design_say_so(empty_sweep: SweepResult, figure) -> None:  # type: ignore[no-untyped-def]
    fig = figure(empty_sweep)
    ax = fig.axes[0]
    assert ax.get_xlabel() in ("energy (MAC-energy units)", "runtime (cycles)")
    assert {t.get_text() for t in ax.texts} & {"no valid design", "no Pareto design"}
