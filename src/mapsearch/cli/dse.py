"""``mapsearch dse``: hardware design-space exploration for the layers of a model."""

from __future__ import annotations

import json
import math
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from mapsearch.cli.app import app, console, err_console
from mapsearch.dse.hwcost import Budget
from mapsearch.dse.mappings import FixedDataflow, MappingProvider, TunedDataflow
from mapsearch.dse.output import (
    DesignWriter,
    output_paths,
    pareto_records,
    summary,
    write_outputs,
)
from mapsearch.dse.plots import plot_pareto, plot_per_layer
from mapsearch.dse.run import build_space, prepare_dse, select_layers
from mapsearch.dse.sweep import OBJECTIVES, ChunkResult, SweepResult, check_objectives, sweep
from mapsearch.errors import OverwriteError, UnknownNameError
from mapsearch.models import load_model
from mapsearch.outputs import check_outputs

_OBJECTIVE_HELP = (
    "Objective, repeatable (default: throughput and energy): " + ", ".join(OBJECTIVES) + "."
)
_AXIS_HELP = "values: N, a,b,c, start:stop[:step] or start:stop:xF (geometric); K/M = x1024/x1024^2"


def _num(v: Any) -> str:
    """Compact numbers for tables: 3 significant digits with k/M/G, exact below 10,000."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    a = abs(v)
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e4, "k")):
        if a >= scale:
            return f"{v / scale:.3g}{suffix}"
    return f"{v:,}" if float(v).is_integer() else f"{v:.4g}"


def _words(v: int) -> str:
    """Capacities in words, with K/M (x1024) when exact, as the axes are written."""
    for scale, suffix in ((1024**2, "M"), (1024, "K")):
        if v >= scale and v % scale == 0:
            return f"{v // scale}{suffix}"
    return f"{v:,}"


def _summary_line(result: SweepResult) -> str:
    pct = 100.0 * result.n_valid / max(result.n_designs, 1)
    return (
        f"designs {result.n_designs:,} | valid {result.n_valid:,} ({pct:.2f}%) | "
        f"Pareto {len(result.front)} | {result.wall_s:.2f} s (analysis {result.analysis_s:.2f} s, "
        f"sweep {result.sweep_s:.2f} s) | {result.designs_per_s:,.0f} designs/s"
    )


def _pareto_table(result: SweepResult, top: int) -> Table:
    unit = result.table.energy_unit
    t = Table(
        title=f"Pareto designs ({', '.join(result.problem.objectives)})",
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
                _words(row[key]) if key in ("l1_words", "l2_words") else _num(row[key])
                for _, key in cols[1:]
            ),
        )
    return t


@app.command("dse")
def dse(
    model: Annotated[
        str,
        typer.Option(
            "--model", "-m", help="A zoo model, an .onnx file or a MAESTRO .m model file."
        ),
    ] = "vgg16",
    layer: Annotated[
        list[str] | None,
        typer.Option("--layer", "-l", help="Layer of the model, repeatable (default: all)."),
    ] = None,
    dataflow: Annotated[
        str,
        typer.Option(
            "--dataflow",
            "-d",
            help="Classic dataflow for every layer (name or alias), or 'tuned': a mapping "
            "searched per layer shape and PE count.",
        ),
    ] = "kcp",
    tune_objective: Annotated[
        str,
        typer.Option("--tune-objective", help="With --dataflow tuned: objective of the search."),
    ] = "edp",
    tune_searcher: Annotated[
        str, typer.Option("--tune-searcher", help="With --dataflow tuned: searcher.")
    ] = "random",
    tune_budget: Annotated[
        int,
        typer.Option(
            "--tune-budget",
            min=1,
            help="With --dataflow tuned: evaluations per layer shape and PE count.",
        ),
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the tuned searches.")] = 0,
    pes: Annotated[str, typer.Option("--pes", help=f"PE counts; {_AXIS_HELP}.")] = "64:4096:x2",
    l1: Annotated[str, typer.Option("--l1", help="L1 capacity, words per PE.")] = "16:1024:x2",
    l2: Annotated[str, typer.Option("--l2", help="L2 capacity, words.")] = "16K:4M:x2",
    noc_bw: Annotated[
        str, typer.Option("--noc-bw", help="NoC bandwidth, words/cycle.")
    ] = "8:512:x2",
    vector_width: Annotated[
        str, typer.Option("--vector-width", help="MACs per PE per cycle.")
    ] = "1",
    noc_latency: Annotated[
        int, typer.Option("--noc-latency", help="NoC latency, cycles (fixed).")
    ] = 1,
    offchip_bw: Annotated[
        str,
        typer.Option("--offchip-bw", help="Off-chip bandwidth, words/cycle, or 'unlimited'."),
    ] = "unlimited",
    area_budget: Annotated[
        float, typer.Option("--area-budget", help="Area budget, mm² (default: none).")
    ] = math.inf,
    power_budget: Annotated[
        float, typer.Option("--power-budget", help="Power budget, mW (default: none).")
    ] = math.inf,
    objective: Annotated[
        list[str] | None,
        typer.Option("--objective", "-o", help=_OBJECTIVE_HELP),
    ] = None,
    semantics: Annotated[
        str, typer.Option("--semantics", help="Cost-model semantics: maestro or exact.")
    ] = "maestro",
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="joblib workers (-1: all).")] = 1,
    chunk_size: Annotated[int, typer.Option("--chunk-size", min=1, help="Designs per chunk.")] = 1
    << 19,
    keep: Annotated[
        tuple[str, str] | None,
        typer.Option(
            "--keep",
            metavar="MODE FILE",
            help="Also write every design (MODE all) or every valid one (valid) to CSV FILE.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Directory for pareto.csv, per_layer.csv, summary.json and the PNGs "
            "(default: studies/dse-MODEL-DATAFLOW).",
        ),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=0, help="Pareto designs shown in the table.")
    ] = 20,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = True,
    force: Annotated[
        bool, typer.Option("--force", help="Replace earlier results in --out and --keep.")
    ] = False,
) -> None:
    """Hardware design-space exploration: sweep PEs x vector width x NoC bandwidth x L1 x L2
    for a model's layers under a dataflow, keep the designs whose buffers hold what the
    mapping needs and that meet the budgets, and report the Pareto designs.

    Runtime and energy are whole-model sums; area and power use MAESTRO's model at the
    provisioned capacities. Example: mapsearch dse --model vgg16 --dataflow kcp
    --pes 64:4096:x2 --l1 16:1024:x2 --l2 16K:4M:x2 --noc-bw 8:512:x2 --area-budget 200
    """
    if fmt not in ("table", "json"):
        raise UnknownNameError("format", fmt, ("table", "json"))
    keep_mode, keep_file = keep if keep else ("", "")
    if keep_mode and keep_mode not in ("all", "valid"):
        raise UnknownNameError("--keep mode", keep_mode, ("all", "valid"))
    objectives = check_objectives(objective or ["throughput", "energy"])
    space = build_space(
        pes=pes,
        l1=l1,
        l2=l2,
        noc_bw=noc_bw,
        vector_width=vector_width,
        noc_latency=noc_latency,
        offchip_bw=offchip_bw,
    )
    the_model = load_model(model)
    for note in the_model.notes:
        err_console.print(f"note: {note}", markup=False)
    if out is None:
        out = Path("studies") / f"dse-{the_model.name}-{dataflow.strip().lower()}"
    if out.exists() and not out.is_dir():
        raise OverwriteError(f"--out {out} is a file; name a folder for the results")
    targets = list(output_paths(out).values()) + ([Path(keep_file)] if keep_mode else [])
    check_outputs(targets, force=force)  # before the sweep: nothing replaced unasked
    layers = select_layers(the_model, layer or [])
    provider: MappingProvider = (
        TunedDataflow(
            objective=tune_objective, searcher=tune_searcher, budget=tune_budget, seed=seed
        )
        if dataflow.strip().lower() == "tuned"
        else FixedDataflow(dataflow)
    )
    budget = Budget(area_mm2=area_budget, power_mw=power_budget)
    show = progress and fmt == "table"
    if fmt == "table":
        console.print(
            f"mapsearch dse: {the_model.name}, {len(layers)} layer(s), {dataflow}; {space.describe()}"
        )
    with (
        console.status(f"analysing {space.n_cores:,} cores x {len(layers)} layers", spinner="dots")
        if show
        else ExitStack()
    ):
        prep = prepare_dse(
            space,
            layers,
            provider,
            objectives=objectives,
            budget=budget,
            semantics=semantics,
            jobs=jobs,
        )
    first = objectives[0]
    sign = -1.0 if OBJECTIVES[first].maximise else 1.0
    bar = Progress(
        TextColumn("sweep"),
        BarColumn(bar_width=16),
        MofNCompleteColumn(),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not show,
    )
    task = bar.add_task("sweep", total=space.size, stats="")

    def on_chunk(acc: ChunkResult, elapsed: float) -> None:
        best = acc.best[0]
        best_txt = _num(sign * float(best.objectives[0, 0])) if len(best) else "-"
        rate = acc.n_designs / max(elapsed, 1e-9)
        bar.update(
            task,
            completed=acc.n_designs,
            stats=f"valid {acc.n_valid:,} | {rate:,.0f}/s | best {first} {best_txt}",
        )

    with ExitStack() as stack:
        writer = None
        if keep_mode:
            fh = stack.enter_context(Path(keep_file).open("w", newline=""))
            writer = DesignWriter(prep.problem, prep.table, fh)
        stack.enter_context(bar)
        result = sweep(
            prep.problem,
            prep.table,
            chunk_size=chunk_size,
            jobs=jobs,
            keep=keep_mode,
            on_chunk=on_chunk,
            on_kept=writer,
            analysis_s=prep.analysis_s,
        )
    files = write_outputs(result, out)
    pngs = output_paths(out)
    files["pareto_png"] = plot_pareto(result, pngs["pareto_png"])
    files["per_layer_png"] = plot_per_layer(result, pngs["per_layer_png"])
    if keep_mode:
        files["designs"] = Path(keep_file)
    if fmt == "json":
        doc = {
            "summary": summary(result),
            "pareto": pareto_records(result),
            "files": {k: str(v) for k, v in files.items()},
        }
        console.print_json(json.dumps(doc))
        return
    console.print(_summary_line(result))
    console.print(
        "invalid designs by rule: "
        + ", ".join(f"{r} {n:,}" for r, n in result.fails.items())
        + " (a design may break several)"
    )
    if result.n_valid == 0:
        console.print("no valid design: widen the axes or relax the budgets")
        reasons = prep.table.reasons_of(0)
        if reasons:
            console.print(f"e.g. core 0: {reasons[0]}", markup=False)
    else:
        console.print(_pareto_table(result, top))
    for name, path in files.items():
        console.print(f"wrote {name}: {path}", markup=False)
