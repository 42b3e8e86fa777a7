"""What ``mapsearch tune`` shows and writes beside its studies: a run's report (headline,
best mapping, loop nest, comparison or Pareto table), a model's, the Pareto plot of a
multi-objective run, and the search space's genes (``mapsearch space``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from mapsearch.costmodel import Semantics
from mapsearch.errors import MapsearchError

if TYPE_CHECKING:
    from mapsearch.problem import Problem
    from mapsearch.studies.tune import ModelOutcome, TuneOutcome


def outcome_report(outcome: TuneOutcome, plot: Path | None = None) -> Group:
    """The human-readable result: headline, best mapping, loop nest, comparison or Pareto
    table (and where the Pareto ``plot`` was written)."""
    from mapsearch.report.loopnest import loop_nest
    from mapsearch.report.tables import (
        baselines_table,
        certificate_table,
        comparison_table,
        exact_table,
        hardware_line,
        pareto_table,
    )

    problem, run = outcome.problem, outcome.run
    parts: list[object] = []
    status = " (interrupted)" if run.interrupted else ""
    parts.append(
        f"[bold]{problem.layer.qualified_name}[/] ({problem.layer.describe()}) on {problem.hardware.name}: "
        f"{run.n_evaluations:,} evaluations in the study, {run.n_new:,} new in {run.wall_s:.1f} s{status}\n"
        f"study [bold]{run.study}[/] in {run.storage}"
    )
    parts += [Text(f"note: {note}", style="yellow") for note in outcome.notes]
    base = outcome.best_baseline
    speed = outcome.speedup()
    first = problem.objectives[0]
    if speed is not None and base is not None:
        verb = "better" if speed >= 1 else "worse"
        colour = "green" if speed >= 1 else "yellow"
        parts.append(
            f"[bold {colour}]{speed:.2f}x {verb} {first.name}[/] than the best classic dataflow ({base.name})"
        )
    if outcome.classic_wins and base is not None:
        parts.append(
            f"[yellow]the search has not beaten {base.name} yet[/] (it is not in the search "
            "space): rerun with more --trials to resume, or widen the space (--tiles any, "
            "--levels 1,2,3); a tuning table records the classic mapping meanwhile"
        )
    best = outcome.points[0] if outcome.points else None
    if best is not None:
        parts.append(
            f"[bold]best mapping[/] (trial {best.trial}):\n{best.mapping.to_text(indent='  ')}"
        )
        parts.append(Text(hardware_line(outcome)))
        parts += [Text(f"warning: {w}", style="yellow") for w in outcome.capacity_warnings()]
        try:
            nest = loop_nest(best.mapping, problem.layer, num_pes=best.hardware.num_pes)
            parts += ["[bold]loop nest[/]:", Text(nest, no_wrap=True, overflow="ignore")]
        except MapsearchError as e:  # a mapping not readable as levels still has its result
            parts.append(f"(loop nest unavailable: {e})")
        parts.append(comparison_table(problem, best, base))
        parts.append(certificate_table(outcome.certificate))
    if len(problem.objectives) > 1 and outcome.points:
        parts.append(pareto_table(problem, outcome.points))
        if plot is not None:
            parts.append(f"Pareto plot: {plot}")
    if problem.semantics is not Semantics.EXACT and outcome.points:
        parts.append(exact_table(problem, outcome.points))
    if outcome.baselines:
        parts.append(baselines_table(problem, outcome.baselines))
    if run.interrupted:
        parts.append(
            "[yellow]interrupted[/]: every finished evaluation is kept; rerun the same command to resume."
        )
    return Group(*parts)  # type: ignore[arg-type]


def model_report(result: ModelOutcome, tuning_table: Path) -> Group:
    """A tuned model: a row per layer shape, the shapes' count, where the tuning table is,
    the layers skipped and whether the run was interrupted."""
    from mapsearch.report.tables import hardware_line, layers_table

    model = result.model
    parts: list[object] = [
        layers_table(list(result.outcomes)),
        f"{model.name}: {len(model.layers)} layers, {len(model.distinct())} distinct (each "
        "shape is tuned once, its repeats reuse the result)",
        f"tuning table (layer shape + hardware -> best mapping): {tuning_table}",
    ]
    parts += [Text(f"skipped {name}: {why}") for name, why in result.skipped]
    for o in result.outcomes:
        name = o.problem.layer.qualified_name
        parts += [Text(f"note: {name}: {note}") for note in o.notes]
        parts += [Text(f"warning: {name}: {w}") for w in o.capacity_warnings()]
    parts += [Text(line) for line in dict.fromkeys(hardware_line(o) for o in result.outcomes)]
    if result.interrupted:
        parts.append("[yellow]interrupted[/]: rerun the same command to resume.")
    return Group(*parts)  # type: ignore[arg-type]


def write_pareto_plot(outcome: TuneOutcome) -> Path | None:
    """The Pareto plot of a multi-objective run, beside its study
    (:func:`~mapsearch.studies.tune.pareto_plot_path`); None for one objective or no point."""
    if len(outcome.problem.objectives) < 2 or not outcome.points:
        return None
    from mapsearch.report.plots import pareto_plot
    from mapsearch.studies.tune import pareto_plot_path

    return pareto_plot(
        outcome.problem, outcome.points, outcome.baselines, pareto_plot_path(outcome.run)
    )


def space_table(problem: Problem) -> Table:
    """Genes, their domains and the size of the space."""
    table = Table(
        title=f"search space of {problem.layer.qualified_name} ({problem.layer.describe()}): {problem.genome.size:,} genotypes"
    )
    table.add_column("gene", style="bold")
    table.add_column("choices", justify="right")
    table.add_column("domain", overflow="fold")
    table.add_column("meaning")
    for g in problem.genes:
        table.add_row(g.name, str(g.size), g.describe(), g.doc + (" (fixed)" if g.fixed else ""))
    return table
