"""``mapsearch tune`` and ``mapsearch space``: search mappings (and hardware) for a layer or a model.

Thin front ends: :func:`build_problem`, :func:`space_table` and
:func:`mapsearch.studies.tune.tune` are the library calls behind them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from mapsearch.cli.app import app, console, err_console
from mapsearch.errors import MapsearchError, UnknownNameError, UnsupportedError
from mapsearch.hardware import Hardware
from mapsearch.hardware.energy import with_energy_table
from mapsearch.layers import Layer
from mapsearch.models import Model, load_model
from mapsearch.objectives import Constraints
from mapsearch.schemas import SCHEMA_VERSION
from mapsearch.searchers import SEARCHERS, Problem
from mapsearch.spaces import HardwareSpace, SpaceOptions
from mapsearch.studies.locations import check_study_name, derived_study_name
from mapsearch.studies.run import INTERRUPTED_EXIT, RunConfig, sigterm_interrupts
from mapsearch.studies.run import Progress as ProgressCallback
from mapsearch.studies.tune import TuneOutcome, tune, tuning_table_path, write_tuning_table

#: Defaults that make the bare ``mapsearch tune --layer conv3_1 --objective edp`` quick.
DEFAULT_SEARCHER = "ga"
DEFAULT_TRIALS = 4000


DEFAULT_SEMANTICS = "exact"


def load_hardware(hw: str | None) -> Hardware:
    """A preset name or a MAESTRO hardware file (default: the tune preset)."""
    from mapsearch.hardware.presets import DEFAULT_PRESET, preset

    if hw is None:
        return preset(DEFAULT_PRESET)
    path = Path(hw)
    if path.suffix == ".m" or path.exists():
        from mapsearch.directives.maestro_file import read_hardware_file

        return read_hardware_file(path)
    return preset(hw)


def parse_fixed(items: list[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise typer.BadParameter(f"--fix takes GENE=VALUE (e.g. L0.spatial=K), got {item!r}")
        out.append((name.strip(), value.strip()))
    return tuple(out)


def parse_levels(text: str) -> tuple[int, ...]:
    try:
        return tuple(sorted({int(v) for v in text.split(",") if v.strip()}))
    except ValueError:
        raise typer.BadParameter(
            f"--levels takes a comma-separated list such as 1,2, got {text!r}"
        ) from None


def build_problem(
    layer: Layer,
    hardware: Hardware,
    objectives: list[str],
    *,
    levels: tuple[int, ...] = (1, 2),
    tiles: str = "divisors",
    fixed: tuple[tuple[str, str], ...] = (),
    co_design: bool = False,
    area_budget_mm2: float | None = None,
    power_budget_mw: float | None = None,
    max_pes: int | None = None,
    max_noc_bw: float | None = None,
    max_offchip_bw: float | None = None,
    semantics: str = "exact",
    strict_capacity: bool = False,
) -> Problem:
    """The ``Problem`` the tune flags describe."""
    constraints = Constraints(
        area_budget_um2=None if area_budget_mm2 is None else area_budget_mm2 * 1e6,
        power_budget_mw=power_budget_mw,
        max_pes=max_pes,
        max_noc_bw_words_per_cycle=max_noc_bw,
        max_offchip_bw_words_per_cycle=max_offchip_bw,
        strict_capacity=strict_capacity,
    )
    hw_space = None
    if co_design:
        knobs = []
        if max_pes is not None:
            from mapsearch.spaces.hardware_space import DEFAULT_CHOICES

            pes = tuple(p for p in DEFAULT_CHOICES["num_pes"] if p <= max_pes) or (max_pes,)
            knobs.append(("num_pes", pes))
        hw_space = HardwareSpace.around(hardware, knobs)
    return Problem.create(
        layer,
        hardware,
        objectives,
        constraints=constraints,
        options=SpaceOptions(levels=levels, tiles=tiles, fixed=fixed),
        co_design=hw_space,
        semantics=semantics,
    )


def space_table(problem: Problem) -> Table:
    """Genes, their domains and the size of the space."""
    table = Table(
        title=f"search space of {problem.layer.qualified_name} ({problem.layer.describe()}): {problem.size:,} genotypes"
    )
    table.add_column("gene", style="bold")
    table.add_column("choices", justify="right")
    table.add_column("domain", overflow="fold")
    table.add_column("meaning")
    for g in problem.genes:
        table.add_row(g.name, str(g.size), g.describe(), g.doc + (" (fixed)" if g.fixed else ""))
    return table


def _hardware_flags(
    base: Hardware,
    pes: int | None,
    l1: int | None,
    l2: int | None,
    noc_bw: int | None,
    offchip_bw: int | None,
    vector_width: int | None,
) -> Hardware:
    changes: dict[str, Any] = {
        k: v
        for k, v in (
            ("num_pes", pes),
            ("l1_size_words", l1),
            ("l2_size_words", l2),
            ("noc_bw_words_per_cycle", noc_bw),
            ("offchip_bw_words_per_cycle", offchip_bw),
            ("vector_width", vector_width),
        )
        if v is not None
    }
    return replace(base, **changes) if changes else base


def _layers(layer: str | None, model: str | None) -> tuple[list[Layer], Model | None]:
    """The layers to tune: the named one, or one per distinct shape of the model."""
    from mapsearch.layers.zoo import find_layer

    if (layer is None) == (model is None):
        raise typer.BadParameter("give exactly one of --layer NAME or --model MODEL")
    if model is None:
        return [find_layer(str(layer))], None
    the_model = load_model(model)
    for note in the_model.notes:
        err_console.print(f"note: {note}", markup=False)
    return list(the_model.distinct()), the_model


def _check_searcher(name: str) -> str:
    key = name.strip().lower()
    if key not in SEARCHERS:
        raise UnknownNameError("searcher", name, list(SEARCHERS))
    return key


def render_outcome(outcome: TuneOutcome) -> Group:
    """The human-readable result: headline, best mapping, loop nest, comparison or Pareto table."""
    from mapsearch.report.loopnest import loop_nest
    from mapsearch.report.tables import (
        baselines_table,
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
    if len(problem.objectives) > 1 and outcome.points:
        parts.append(pareto_table(problem, outcome.points))
        if outcome.plot is not None:
            parts.append(f"Pareto plot: {outcome.plot}")
    if problem.semantics != "exact" and outcome.points:
        parts.append(exact_table(problem, outcome.points))
    if outcome.baselines:
        parts.append(baselines_table(problem, outcome.baselines))
    if run.interrupted:
        parts.append(
            "[yellow]interrupted[/]: every finished evaluation is kept; rerun the same command to resume."
        )
    return Group(*parts)  # type: ignore[arg-type]


def _progress_bar(total: int | None) -> tuple[Progress, TaskID]:
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} eval/s"),
        TextColumn("best {task.fields[best]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )
    task = progress.add_task("tuning", total=total, rate="-", best="-")
    return progress, task


@app.command("tune")
def tune_command(
    layer: Annotated[
        str | None, typer.Option("--layer", "-l", help="Layer name (e.g. conv3_1, vgg16.conv3_1).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Tune every distinct layer shape of a zoo model, an .onnx file or a MAESTRO .m "
            "model file.",
        ),
    ] = None,
    objective: Annotated[
        list[str] | None,
        typer.Option(
            "--objective",
            "-o",
            help="latency, energy, edp, throughput, area, power, l1, l2, noc_bw; repeat for a Pareto search.",
        ),
    ] = None,
    hw: Annotated[
        str | None,
        typer.Option("--hw", help="Hardware preset or MAESTRO hardware file (default: edge_256)."),
    ] = None,
    pes: Annotated[int | None, typer.Option("--pes", help="Override the number of PEs.")] = None,
    l1: Annotated[int | None, typer.Option("--l1", help="Override L1 size, words per PE.")] = None,
    l2: Annotated[int | None, typer.Option("--l2", help="Override L2 size, words.")] = None,
    noc_bw: Annotated[
        int | None, typer.Option("--noc-bw", help="Override NoC bandwidth, words/cycle.")
    ] = None,
    offchip_bw: Annotated[
        int | None, typer.Option("--offchip-bw", help="Override off-chip bandwidth, words/cycle.")
    ] = None,
    vector_width: Annotated[
        int | None, typer.Option("--vector-width", help="Override MACs per PE per cycle.")
    ] = None,
    energy: Annotated[
        str | None,
        typer.Option("--energy", help="Energy table: maestro, eyeriss_65nm or horowitz_45nm_int8."),
    ] = None,
    co_design: Annotated[
        bool,
        typer.Option(
            "--co-design", help="Search the hardware too (PEs, L1, L2, NoC BW, vector width)."
        ),
    ] = False,
    area_budget: Annotated[
        float | None, typer.Option("--area-budget", help="Area budget, mm2.")
    ] = None,
    power_budget: Annotated[
        float | None, typer.Option("--power-budget", help="Power budget, mW.")
    ] = None,
    max_pes: Annotated[
        int | None, typer.Option("--max-pes", help="Most PEs a design may use.")
    ] = None,
    max_noc_bw: Annotated[
        float | None,
        typer.Option(
            "--max-noc-bw", help="Largest NoC bandwidth requirement allowed, words/cycle."
        ),
    ] = None,
    max_offchip_bw: Annotated[
        float | None,
        typer.Option(
            "--max-offchip-bw", help="Largest off-chip bandwidth requirement allowed, words/cycle."
        ),
    ] = None,
    strict_capacity: Annotated[
        bool,
        typer.Option(
            "--strict-capacity",
            help="Refuse mappings whose L2 footprint or peak NoC bandwidth exceeds the hardware's.",
        ),
    ] = False,
    searcher: Annotated[
        str,
        typer.Option("--searcher", "-s", help="tpe, nsga2, cmaes, random, qmc, ga or exhaustive."),
    ] = DEFAULT_SEARCHER,
    trials: Annotated[
        int | None,
        typer.Option(
            "--trials",
            "-n",
            help="Evaluations the study should hold (resuming counts earlier ones).",
        ),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Stop after this many seconds.")
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Worker processes sharing the study.")
    ] = 1,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed (same seed and jobs: same result).")
    ] = 0,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size", help="Candidates per cost-model call (default: the searcher's)."
        ),
    ] = None,
    semantics: Annotated[
        str | None,
        typer.Option("--semantics", help="Cost model: exact (default) or maestro."),
    ] = None,
    levels: Annotated[
        str, typer.Option("--levels", help="Allowed cluster levels, e.g. 1,2 or 1,2,3.")
    ] = "1,2",
    tiles: Annotated[
        str, typer.Option("--tiles", help="divisors (no edge tiles) or any.")
    ] = "divisors",
    fix: Annotated[
        list[str] | None,
        typer.Option(
            "--fix",
            help="Pin a gene, GENE=VALUE (e.g. L0.spatial=K, L0.order=KCYX); see `mapsearch space`.",
        ),
    ] = None,
    seed_classics: Annotated[
        bool,
        typer.Option(
            "--seed-classics/--no-seed-classics", help="Start from the classic dataflows."
        ),
    ] = True,
    study: Annotated[
        str | None, typer.Option("--study", help="Study name (default: from the problem).")
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option("--storage", help="Storage URL (default: sqlite:///studies/<study>.sqlite3)."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar (on stderr).")
    ] = True,
    write_m: Annotated[
        Path | None,
        typer.Option(
            "--write-m",
            help="Write the tuned model (every layer with its best mapping) as DIR/<model>.m "
            "and its hardware as DIR/<model>.hw.m.",
        ),
    ] = None,
) -> None:
    """Find the best mapping (and hardware) for a layer or a model; resumable."""
    if fmt not in ("table", "json"):
        raise typer.BadParameter(f"--format must be table or json, got {fmt!r}")
    objectives = objective or ["edp"]
    searcher_name = _check_searcher(searcher)
    sem = semantics or DEFAULT_SEMANTICS
    base = _hardware_flags(load_hardware(hw), pes, l1, l2, noc_bw, offchip_bw, vector_width)
    if energy is not None:
        base = with_energy_table(base, energy)
    layers, the_model = _layers(layer, model)
    n_trials = trials if trials is not None else (None if timeout is not None else DEFAULT_TRIALS)
    try:
        config = RunConfig(
            searcher=searcher_name,
            n_trials=n_trials,
            timeout_s=timeout,
            jobs=jobs,
            seed=seed,
            batch_size=batch_size,
        )
        problems = [
            build_problem(
                the_layer,
                base,
                objectives,
                levels=parse_levels(levels),
                tiles=tiles,
                fixed=parse_fixed(fix or []),
                co_design=co_design,
                area_budget_mm2=area_budget,
                power_budget_mw=power_budget,
                max_pes=max_pes,
                max_noc_bw=max_noc_bw,
                max_offchip_bw=max_offchip_bw,
                semantics=sem,
                strict_capacity=strict_capacity,
            )
            for the_layer in layers
        ]
    except ValueError as e:
        if isinstance(e, MapsearchError):
            raise
        raise typer.BadParameter(str(e)) from e
    if study is not None:  # a name given is checked, not rewritten
        check_study_name(study)
    outcomes: list[TuneOutcome] = []
    skipped: list[tuple[str, str]] = []
    with sigterm_interrupts():
        try:
            for i, (the_layer, problem) in enumerate(zip(layers, problems, strict=True)):
                if the_model is not None and progress and fmt == "table":
                    err_console.print(
                        f"layer {i + 1}/{len(layers)}: {the_layer.qualified_name}",
                        markup=False,
                        highlight=False,
                    )
                study_name = (
                    study
                    if study is None or len(layers) == 1
                    else derived_study_name(f"{study}-{the_layer.name.lower()}")
                )
                try:
                    outcome = _tune_one(
                        problem,
                        config,
                        study_name,
                        storage,
                        seed_classics,
                        progress and fmt == "table",
                        require_feasible=model is None,
                    )
                except UnsupportedError as e:
                    if model is None:
                        raise
                    skipped.append((the_layer.qualified_name, str(e)))
                    continue
                outcomes.append(outcome)
                if outcome.run.interrupted:
                    break
        except KeyboardInterrupt:
            err_console.print(
                "interrupted: every finished evaluation is kept; rerun the same command to resume"
            )
            raise typer.Exit(INTERRUPTED_EXIT) from None
    if write_m is not None:
        from mapsearch.exports import write_model_files

        whole = the_model or Model(name=layers[0].model or layers[0].name, layers=tuple(layers))
        for path in write_model_files(write_m, whole, outcomes):
            (err_console if fmt == "json" else console).print(f"wrote {path}", markup=False)
    if the_model is None:
        if fmt == "json":
            typer.echo(json.dumps(outcomes[0].to_json(), indent=2))
        else:
            console.print(render_outcome(outcomes[0]))
        _exit_if_interrupted(outcomes)
        return
    from mapsearch.report.tables import hardware_line, layers_table

    table_path = write_tuning_table(
        outcomes, tuning_table_path(the_model.name, base.name, objectives, storage)
    )
    if fmt == "json":
        payload = {
            "schema_version": SCHEMA_VERSION,
            "model": model,
            "tuning_table": str(table_path),
            "layers": [o.to_json() for o in outcomes],
            "repeats": the_model.repeats(),
            "skipped": [{"layer": name, "reason": why} for name, why in skipped],
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        console.print(layers_table(outcomes))
        console.print(
            f"{the_model.name}: {len(the_model.layers)} layers, {len(layers)} distinct (each "
            "shape is tuned once, its repeats reuse the result)"
        )
        console.print(f"tuning table (layer shape + hardware -> best mapping): {table_path}")
        for name, why in skipped:
            console.print(f"skipped {name}: {why}", markup=False)
        for o in outcomes:
            for note in o.notes:
                console.print(f"note: {o.problem.layer.qualified_name}: {note}", markup=False)
            for w in o.capacity_warnings():
                console.print(f"warning: {o.problem.layer.qualified_name}: {w}", markup=False)
        for line in dict.fromkeys(hardware_line(o) for o in outcomes):
            console.print(line, markup=False)
        if outcomes and outcomes[-1].run.interrupted:
            console.print("[yellow]interrupted[/]: rerun the same command to resume.")
    _exit_if_interrupted(outcomes)


def _exit_if_interrupted(outcomes: list[TuneOutcome]) -> None:
    """Exit 130 (128 + SIGINT, as a shell reports Ctrl-C) when the run was interrupted, so
    that scripts can tell it stopped early; everything found is already printed and kept."""
    if outcomes and outcomes[-1].run.interrupted:
        raise typer.Exit(INTERRUPTED_EXIT)


def _tune_one(
    problem: Problem,
    config: RunConfig,
    study: str | None,
    storage: str | None,
    seed_classics: bool,
    show: bool,
    *,
    require_feasible: bool,
) -> TuneOutcome:
    """``tune`` with a progress bar on a terminal, plain progress lines elsewhere."""
    from mapsearch.report.progress import ProgressLines, ProgressState

    def run(progress: ProgressCallback | None) -> TuneOutcome:
        return tune(
            problem,
            config,
            study=study,
            storage=storage,
            seed_classics=seed_classics,
            progress=progress,
            require_feasible=require_feasible,
            on_start=started,
        )

    state = ProgressState(
        budget=config.n_trials, minimize=problem.objectives[0].direction == "minimize"
    )

    def started(n_held: int) -> None:
        if config.n_trials is not None:
            state.budget = max(config.n_trials - n_held, 0)

    if not show:
        return run(None)
    if not err_console.is_terminal:
        lines = ProgressLines(state, sys.stderr, f"tuning {problem.layer.qualified_name}")
        try:
            return run(lines)
        finally:
            lines.close()
    bar, task = _progress_bar(config.n_trials)

    def on_progress(n: int, best: float | None) -> None:
        state.update(n, best)
        shown = "-" if state.best is None else f"{state.best:.4g}"
        rate = f"{state.rate_per_s:,.0f}"
        bar.update(task, total=state.budget, advance=n, rate=rate, best=shown)

    with bar:
        return run(on_progress)


@app.command("space")
def space_command(
    layer: Annotated[str, typer.Option("--layer", "-l", help="Layer name.")],
    hw: Annotated[
        str | None, typer.Option("--hw", help="Hardware preset or file (for the PE count).")
    ] = None,
    pes: Annotated[int | None, typer.Option("--pes", help="Override the number of PEs.")] = None,
    levels: Annotated[
        str, typer.Option("--levels", help="Allowed cluster levels, e.g. 1,2.")
    ] = "1,2",
    tiles: Annotated[str, typer.Option("--tiles", help="divisors or any.")] = "divisors",
    fix: Annotated[list[str] | None, typer.Option("--fix", help="Pin a gene, GENE=VALUE.")] = None,
    co_design: Annotated[
        bool, typer.Option("--co-design", help="Include the hardware genes.")
    ] = False,
) -> None:
    """Print the genes of a layer's search space, their domains and the size of the space."""
    from mapsearch.layers.zoo import find_layer

    base = _hardware_flags(load_hardware(hw), pes, None, None, None, None, None)
    try:
        problem = build_problem(
            find_layer(layer),
            base,
            ["edp"],
            levels=parse_levels(levels),
            tiles=tiles,
            fixed=parse_fixed(fix or []),
            co_design=co_design,
            semantics="maestro",
        )
    except ValueError as e:
        if isinstance(e, MapsearchError):
            raise
        raise typer.BadParameter(str(e)) from e
    console.print(space_table(problem))
