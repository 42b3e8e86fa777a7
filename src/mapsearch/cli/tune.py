"""``mapsearch tune`` and ``mapsearch space``: search mappings (and hardware) for a layer or a
model, and show the space searched.

Each command parses its flags, calls :func:`mapsearch.service.tune.tune`,
:func:`~mapsearch.service.tune.tune_model` or :func:`~mapsearch.service.tune.build_problem`,
and renders with :mod:`mapsearch.report.tune`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from mapsearch.cli.console import console, err_console
from mapsearch.cli.options import (
    DEFAULT_LEVELS,
    DEFAULT_SPACE,
    DEFAULT_TILES,
    CoDesign,
    Fix,
    HardwareName,
    LayerName,
    Levels,
    Pes,
    ShowProgress,
    SpaceKind,
    Tiles,
    check_format,
    space_options,
    usage_errors,
)
from mapsearch.cli.progress import RunBars
from mapsearch.hardware.energy import with_energy_table
from mapsearch.layers import Layer
from mapsearch.layers.zoo import find_layer
from mapsearch.models import Model, load_model
from mapsearch.objectives import Constraints, um2_from_mm2
from mapsearch.report.tune import model_report, outcome_report, space_table, write_pareto_plot
from mapsearch.service.hardware import resolve_hardware
from mapsearch.service.tune import (
    DEFAULT_OBJECTIVES,
    DEFAULT_SEMANTICS,
    build_problem,
    tune,
    tune_model,
)
from mapsearch.studies.run import DEFAULT_SEARCHER, INTERRUPTED_EXIT, RunConfig, sigterm_interrupts
from mapsearch.studies.tune import ModelOutcome, TuneOutcome, write_tuning_table

ModelName = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Tune every distinct layer shape of a zoo model, an .onnx file or a MAESTRO .m "
        "model file.",
    ),
]
Objectives = Annotated[
    list[str] | None,
    typer.Option(
        "--objective",
        "-o",
        help="latency, energy, edp, throughput, area, power, l1, l2, noc_bw; repeat for a Pareto search.",
    ),
]
L1 = Annotated[int | None, typer.Option("--l1", help="Override L1 size, words per PE.")]
L2 = Annotated[int | None, typer.Option("--l2", help="Override L2 size, words.")]
NocBw = Annotated[int | None, typer.Option("--noc-bw", help="Override NoC bandwidth, words/cycle.")]
OffchipBw = Annotated[
    int | None, typer.Option("--offchip-bw", help="Override off-chip bandwidth, words/cycle.")
]
VectorWidth = Annotated[
    int | None, typer.Option("--vector-width", help="Override MACs per PE per cycle.")
]
AreaBudget = Annotated[float | None, typer.Option("--area-budget", help="Area budget, mm2.")]
PowerBudget = Annotated[float | None, typer.Option("--power-budget", help="Power budget, mW.")]
MaxPes = Annotated[int | None, typer.Option("--max-pes", help="Most PEs a design may use.")]
MaxNocBw = Annotated[
    float | None,
    typer.Option("--max-noc-bw", help="Largest NoC bandwidth requirement allowed, words/cycle."),
]
MaxOffchipBw = Annotated[
    float | None,
    typer.Option(
        "--max-offchip-bw", help="Largest off-chip bandwidth requirement allowed, words/cycle."
    ),
]
Searcher = Annotated[
    str, typer.Option("--searcher", "-s", help="tpe, nsga2, cmaes, random, qmc, ga or exhaustive.")
]
Trials = Annotated[
    int | None,
    typer.Option(
        "--trials", "-n", help="Evaluations the study should hold (resuming counts earlier ones)."
    ),
]
Timeout = Annotated[float | None, typer.Option("--timeout", help="Stop after this many seconds.")]
Jobs = Annotated[int, typer.Option("--jobs", "-j", help="Worker processes sharing the study.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed (same seed and jobs: same result).")]
BatchSize = Annotated[
    int | None,
    typer.Option("--batch-size", help="Candidates per cost-model call (default: the searcher's)."),
]
SemanticsName = Annotated[
    str, typer.Option("--semantics", help="Cost model: exact (default) or maestro.")
]
SeedClassics = Annotated[
    bool,
    typer.Option("--seed-classics/--no-seed-classics", help="Start from the classic dataflows."),
]
Study = Annotated[
    str | None, typer.Option("--study", help="Study name (default: from the problem).")
]
TuneStorage = Annotated[
    str | None,
    typer.Option("--storage", help="Storage URL (default: sqlite:///studies/<study>.sqlite3)."),
]
Format = Annotated[str, typer.Option("--format", help="table or json.")]


def tune_command(
    layer: LayerName = None,
    model: ModelName = None,
    objective: Objectives = None,
    hw: HardwareName = None,
    pes: Pes = None,
    l1: L1 = None,
    l2: L2 = None,
    noc_bw: NocBw = None,
    offchip_bw: OffchipBw = None,
    vector_width: VectorWidth = None,
    co_design: CoDesign = False,
    area_budget: AreaBudget = None,
    power_budget: PowerBudget = None,
    max_pes: MaxPes = None,
    max_noc_bw: MaxNocBw = None,
    max_offchip_bw: MaxOffchipBw = None,
    searcher: Searcher = DEFAULT_SEARCHER,
    trials: Trials = None,
    timeout: Timeout = None,
    jobs: Jobs = 1,
    seed: Seed = 0,
    batch_size: BatchSize = None,
    semantics: SemanticsName = DEFAULT_SEMANTICS.value,
    levels: Levels = DEFAULT_LEVELS,
    tiles: Tiles = DEFAULT_TILES,
    space: SpaceKind = DEFAULT_SPACE,
    fix: Fix = None,
    seed_classics: SeedClassics = True,
    study: Study = None,
    storage: TuneStorage = None,
    fmt: Format = "table",
    progress: ShowProgress = True,
    energy: Annotated[
        str | None,
        typer.Option("--energy", help="Energy table: maestro, eyeriss_65nm or horowitz_45nm_int8."),
    ] = None,
    strict_capacity: Annotated[
        bool,
        typer.Option(
            "--strict-capacity",
            help="Refuse mappings whose L2 footprint or peak NoC bandwidth exceeds the hardware's.",
        ),
    ] = False,
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
    check_format(fmt, ("table", "json"))
    if (layer is None) == (model is None):
        raise typer.BadParameter("give exactly one of --layer NAME or --model MODEL")
    hardware = resolve_hardware(
        hw,
        num_pes=pes,
        l1_size_words=l1,
        l2_size_words=l2,
        noc_bw_words_per_cycle=noc_bw,
        offchip_bw_words_per_cycle=offchip_bw,
        vector_width=vector_width,
    )
    if energy is not None:
        hardware = with_energy_table(hardware, energy)
    with usage_errors():
        constraints = Constraints(
            area_budget_um2=None if area_budget is None else um2_from_mm2(area_budget),
            power_budget_mw=power_budget,
            max_pes=max_pes,
            max_noc_bw_words_per_cycle=max_noc_bw,
            max_offchip_bw_words_per_cycle=max_offchip_bw,
            strict_capacity=strict_capacity,
        )
        config = RunConfig.create(
            searcher=searcher,
            n_trials=trials,
            timeout_s=timeout,
            jobs=jobs,
            seed=seed,
            batch_size=batch_size,
        )
    objectives = tuple(objective or DEFAULT_OBJECTIVES)
    options = space_options(levels, tiles, fix, space)
    target = find_layer(str(layer)) if model is None else _load_model(model)
    number = itertools.count(1)
    with interruptible(), RunBars(config.n_trials, show=progress and fmt == "table") as bars:
        if isinstance(target, Layer):
            outcome = tune(
                target,
                hardware,
                objectives,
                config=config,
                options=options,
                constraints=constraints,
                co_design=co_design,
                semantics=semantics,
                study=study,
                storage=storage,
                seed_classics=seed_classics,
                progress=bars.task(),
            )
        else:
            result = tune_model(
                target,
                hardware,
                objectives,
                config=config,
                options=options,
                constraints=constraints,
                co_design=co_design,
                semantics=semantics,
                study=study,
                storage=storage,
                seed_classics=seed_classics,
                progress=lambda problem: bars.task(
                    f"layer {next(number)}/{len(target.distinct())}: {problem.layer.qualified_name}"
                ),
            )
    if write_m is not None:
        from mapsearch.exports import write_model_files

        whole = (
            Model(name=target.model or target.name, layers=(target,))
            if isinstance(target, Layer)
            else target
        )
        done = [outcome] if isinstance(target, Layer) else list(result.outcomes)
        for path in write_model_files(write_m, whole, done):
            (err_console if fmt == "json" else console).print(f"wrote {path}", markup=False)
    interrupted = _show_layer(outcome, fmt) if model is None else _show_model(result, model, fmt)
    if interrupted:
        # 128 + SIGINT, as a shell reports Ctrl-C: scripts can tell the run stopped early.
        raise typer.Exit(INTERRUPTED_EXIT)


def _load_model(name: str) -> Model:
    the_model = load_model(name)
    for note in the_model.notes:
        err_console.print(f"note: {note}", markup=False)
    return the_model


@contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM stops the block as Ctrl-C does; an interruption outside a search (whose runs
    keep what they found and report it) exits 130 with a note."""
    with sigterm_interrupts():
        try:
            yield
        except KeyboardInterrupt:
            err_console.print(
                "interrupted: every finished evaluation is kept; rerun the same command to resume"
            )
            raise typer.Exit(INTERRUPTED_EXIT) from None


def _show_layer(outcome: TuneOutcome, fmt: str) -> bool:
    """Print one layer's outcome (writing its Pareto plot); whether the run was interrupted."""
    plot = write_pareto_plot(outcome)
    if fmt == "json":
        typer.echo(json.dumps(outcome.to_json(), indent=2))
    else:
        console.print(outcome_report(outcome, plot))
    return outcome.run.interrupted


def _show_model(result: ModelOutcome, model: str, fmt: str) -> bool:
    """Write a model's tuning table and print the outcome; whether the run was interrupted."""
    table = write_tuning_table(result.outcomes, result.table_path)
    if fmt == "json":
        typer.echo(json.dumps(result.to_json(model=model, tuning_table=table), indent=2))
    else:
        console.print(model_report(result, table))
    return result.interrupted


def space_command(
    layer: Annotated[str, typer.Option("--layer", "-l", help="Layer name.")],
    hw: Annotated[
        str | None, typer.Option("--hw", help="Hardware preset or file (for the PE count).")
    ] = None,
    pes: Pes = None,
    levels: Annotated[
        str, typer.Option("--levels", help="Allowed cluster levels, e.g. 1,2.")
    ] = DEFAULT_LEVELS,
    tiles: Annotated[str, typer.Option("--tiles", help="divisors or any.")] = DEFAULT_TILES,
    space: SpaceKind = DEFAULT_SPACE,
    fix: Annotated[list[str] | None, typer.Option("--fix", help="Pin a gene, GENE=VALUE.")] = None,
    co_design: Annotated[
        bool, typer.Option("--co-design", help="Include the hardware genes.")
    ] = False,
) -> None:
    """Print the genes of a layer's search space, their domains and the size of the space."""
    options = space_options(levels, tiles, fix, space)
    base = resolve_hardware(hw, num_pes=pes)
    with usage_errors():
        problem = build_problem(
            find_layer(layer), base, options=options, co_design=co_design, semantics="maestro"
        )
    console.print(space_table(problem))
