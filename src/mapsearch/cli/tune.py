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
    load_model_with_notes,
    space_options,
    usage_errors,
)
from mapsearch.cli.progress import RunBars
from mapsearch.errors import INTERRUPTED_EXIT, interruption
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.layers.zoo import find_layer
from mapsearch.models import Model
from mapsearch.objectives import Constraints, um2_from_mm2
from mapsearch.report.tune import model_report, outcome_report, space_table, write_pareto_plot
from mapsearch.service.hardware import resolve_hardware
from mapsearch.service.tune import (
    DEFAULT_OBJECTIVES,
    DEFAULT_SEMANTICS,
    LayerProgress,
    TuneRequest,
    build_problem,
    tune_target,
)
from mapsearch.studies.run import DEFAULT_SEARCHER, RunConfig, sigterm_interrupts
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
    str,
    typer.Option(
        "--searcher",
        "-s",
        help="tpe, nsga2, cmaes, random, qmc, ga, exhaustive or optimal (branch and bound: "
        "proves the optimum, exact semantics; runs until proved unless --trials/--timeout).",
    ),
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
    hardware = _hardware(hw, pes, l1, l2, noc_bw, offchip_bw, vector_width, energy)
    with usage_errors():
        request = TuneRequest(
            hardware=hardware,
            objectives=tuple(objective or DEFAULT_OBJECTIVES),
            config=_run_config(searcher, trials, timeout, jobs, seed, batch_size),
            options=space_options(levels, tiles, fix, space),
            constraints=_constraints(
                area_budget, power_budget, max_pes, max_noc_bw, max_offchip_bw, strict_capacity
            ),
            co_design=co_design,
            semantics=semantics,
            study=study,
            storage=storage,
            seed_classics=seed_classics,
        )
    target = find_layer(str(layer)) if model is None else load_model_with_notes(model)
    with (
        interruptible(),
        RunBars(request.config.n_trials, show=progress and fmt == "table") as bars,
    ):
        result = tune_target(target, request, _bar_per_layer(bars, target))
    if write_m is not None:
        from mapsearch.exports import write_tuned_files  # MAESTRO files: with --write-m only

        for path in write_tuned_files(write_m, result):
            (err_console if fmt == "json" else console).print(f"wrote {path}", markup=False)
    if _show(result, model, fmt):
        # 128 + SIGINT, as a shell reports Ctrl-C: scripts can tell the run stopped early.
        raise typer.Exit(INTERRUPTED_EXIT)


def _hardware(
    hw: str | None,
    pes: int | None,
    l1: int | None,
    l2: int | None,
    noc_bw: int | None,
    offchip_bw: int | None,
    vector_width: int | None,
    energy: str | None,
) -> Hardware:
    """The hardware of ``--hw`` and the flags that override its values."""
    return resolve_hardware(
        hw,
        num_pes=pes,
        l1_size_words=l1,
        l2_size_words=l2,
        noc_bw_words_per_cycle=noc_bw,
        offchip_bw_words_per_cycle=offchip_bw,
        vector_width=vector_width,
        energy=energy,
    )


def _run_config(
    searcher: str,
    trials: int | None,
    timeout: float | None,
    jobs: int,
    seed: int,
    batch_size: int | None,
) -> RunConfig:
    """How to search: ``--searcher``, ``--trials``, ``--timeout``, ``--jobs``, ``--seed``,
    ``--batch-size``."""
    return RunConfig.create(
        searcher=searcher,
        n_trials=trials,
        timeout_s=timeout,
        jobs=jobs,
        seed=seed,
        batch_size=batch_size,
    )


def _constraints(
    area_budget_mm2: float | None,
    power_budget_mw: float | None,
    max_pes: int | None,
    max_noc_bw: float | None,
    max_offchip_bw: float | None,
    strict_capacity: bool,
) -> Constraints:
    """The budgets and limits of the flags (the area budget converted from mm2)."""
    return Constraints(
        area_budget_um2=None if area_budget_mm2 is None else um2_from_mm2(area_budget_mm2),
        power_budget_mw=power_budget_mw,
        max_pes=max_pes,
        max_noc_bw_words_per_cycle=max_noc_bw,
        max_offchip_bw_words_per_cycle=max_offchip_bw,
        strict_capacity=strict_capacity,
    )


def _bar_per_layer(bars: RunBars, target: Layer | Model) -> LayerProgress:
    """A progress bar per layer searched, titled ``layer i/N: name`` in a model."""
    if isinstance(target, Layer):
        return lambda problem, elapsed_s=None: bars.task(elapsed_s=elapsed_s)
    number, total = itertools.count(1), len(target.distinct())
    return lambda problem, elapsed_s=None: bars.task(
        f"layer {next(number)}/{total}: {problem.layer.qualified_name}", elapsed_s
    )


@contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM stops the block as Ctrl-C does; an interruption outside a search (whose runs
    keep what they found and report it) exits 130 with a note."""
    with sigterm_interrupts():
        try:
            yield
        except (KeyboardInterrupt, SystemError) as e:
            if not interruption(e):
                raise
            err_console.print(
                "interrupted: every finished evaluation is kept; rerun the same command to resume"
            )
            raise typer.Exit(INTERRUPTED_EXIT) from None


def _show(result: TuneOutcome | ModelOutcome, model: str | None, fmt: str) -> bool:
    """Print a layer's outcome (writing its Pareto plot) or a model's (writing its tuning
    table); whether the run was interrupted."""
    if isinstance(result, TuneOutcome):
        plot = write_pareto_plot(result)
        if fmt == "json":
            typer.echo(json.dumps(result.to_json(), indent=2))
        else:
            console.print(outcome_report(result, plot))
        return result.run.interrupted
    table = write_tuning_table(result.outcomes, result.table_path)
    if fmt == "json":
        typer.echo(json.dumps(result.to_json(model=str(model), tuning_table=table), indent=2))
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
