"""``mapsearch dse``: hardware design-space exploration for the layers of a model.

Parses its flags, calls :func:`mapsearch.dse.run_dse` and renders with
:mod:`mapsearch.report.dse` (files, JSON) and :mod:`mapsearch.report.dse_tables` (text)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from mapsearch.cli.console import console
from mapsearch.cli.options import check_format, load_model_with_notes
from mapsearch.cli.progress import SweepBar
from mapsearch.dse.mappings import (
    DEFAULT_TUNE_BUDGET,
    DEFAULT_TUNE_OBJECTIVE,
    DEFAULT_TUNE_SEARCHER,
    mapping_provider,
)
from mapsearch.dse.run import (
    DEFAULT_OBJECTIVES,
    DEFAULT_SEMANTICS,
    build_space,
    run_dse,
    select_layers,
    sweep_budget,
)
from mapsearch.dse.sweep import (
    DEFAULT_CHUNK_SIZE,
    SWEEP_OBJECTIVES,
    SweepResult,
    check_objectives,
)
from mapsearch.errors import UnknownNameError
from mapsearch.report.dse import (
    check_dse_outputs,
    default_out_dir,
    design_writer,
    dse_json,
    write_dse_files,
)
from mapsearch.report.dse_tables import dse_headline, dse_report

_OBJECTIVE_HELP = (
    "Objective, repeatable (default: throughput and energy): "
    + ", ".join(SWEEP_OBJECTIVES)
    + " (runtime: the former name of latency)."
)
_AXIS_HELP = "values: N, a,b,c, start:stop[:step] or start:stop:xF (geometric); K/M = x1024/x1024^2"


def dse_command(
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
    ] = DEFAULT_TUNE_OBJECTIVE,
    tune_searcher: Annotated[
        str, typer.Option("--tune-searcher", help="With --dataflow tuned: searcher.")
    ] = DEFAULT_TUNE_SEARCHER,
    tune_budget: Annotated[
        int,
        typer.Option(
            "--tune-budget",
            min=1,
            help="With --dataflow tuned: evaluations per layer shape and PE count.",
        ),
    ] = DEFAULT_TUNE_BUDGET,
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
    ] = DEFAULT_SEMANTICS.value,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="joblib workers (-1: all).")] = 1,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", min=1, help="Designs per chunk.")
    ] = DEFAULT_CHUNK_SIZE,
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
    check_format(fmt, ("table", "json"))
    keep_mode, kept = _keep(keep)
    objectives = check_objectives(objective or DEFAULT_OBJECTIVES)
    space = build_space(
        pes=pes,
        l1=l1,
        l2=l2,
        noc_bw=noc_bw,
        vector_width=vector_width,
        noc_latency=noc_latency,
        offchip_bw=offchip_bw,
    )
    the_model = load_model_with_notes(model)
    out = out or default_out_dir(the_model.name, dataflow)
    check_dse_outputs(out, kept, force=force)  # before the sweep: nothing replaced unasked
    layers = select_layers(the_model, layer or [])
    provider = mapping_provider(
        dataflow, objective=tune_objective, searcher=tune_searcher, budget=tune_budget, seed=seed
    )
    if fmt == "table":
        console.print(dse_headline(the_model.name, len(layers), dataflow, space))
    bar = SweepBar(space, len(layers), objectives[0], show=progress and fmt == "table")
    with design_writer(kept, [x.name for x in layers]) as writer, bar:
        result = run_dse(
            space,
            layers,
            provider,
            objectives=[o.name for o in objectives],
            constraints=sweep_budget(area_mm2=area_budget, power_mw=power_budget),
            semantics=semantics,
            chunk_size=chunk_size,
            jobs=jobs,
            keep=keep_mode,
            on_chunk=bar.on_chunk,
            on_kept=writer,
        )
    _show(result, out, kept, fmt, top)


def _keep(keep: tuple[str, str] | None) -> tuple[str, Path | None]:
    """``--keep MODE FILE``: the mode (``all``, ``valid``, or "" without the flag) and file."""
    keep_mode, keep_file = keep if keep else ("", "")
    if keep_mode and keep_mode not in ("all", "valid"):
        raise UnknownNameError("--keep mode", keep_mode, ("all", "valid"))
    return keep_mode, Path(keep_file) if keep_mode else None


def _show(result: SweepResult, out: Path, kept: Path | None, fmt: str, top: int) -> None:
    """Write the result's files into ``out`` and print them (JSON, or tables and paths)."""
    files = write_dse_files(result, out)
    if kept is not None:
        files["designs"] = kept
    if fmt == "json":
        console.print_json(json.dumps(dse_json(result, files)))
    else:
        console.print(dse_report(result, files, top))
