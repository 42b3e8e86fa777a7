"""``mapsearch evaluate``: score mappings (MAESTRO files or classic dataflows) on hardware.

Thin front end over :mod:`mapsearch.service.evaluate` (scoring) and
:mod:`mapsearch.report.evaluate` (table, JSON, CSV).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from mapsearch.cli.console import console
from mapsearch.hardware import Hardware
from mapsearch.report.evaluate import evaluation_csv, evaluation_json, evaluation_table
from mapsearch.service.evaluate import (
    command_hardware,
    evaluate_jobs,
    jobs_from_files,
    jobs_from_names,
)

FORMATS = ("table", "json", "csv")
#: Width of the table when the output is not a terminal, in characters.
TABLE_WIDTH = 150


def evaluate_command(
    extra_files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="More mapping files after --mapping (--mapping a.m b.m).", show_default=False
        ),
    ] = None,
    mapping: Annotated[
        list[Path] | None,
        typer.Option("--mapping", "-m", help="MAESTRO mapping file(s); every layer is scored."),
    ] = None,
    layer: Annotated[
        str | None, typer.Option("--layer", "-l", help="Zoo layer, e.g. vgg16.conv3_1.")
    ] = None,
    dataflow: Annotated[
        str | None, typer.Option("--dataflow", "-d", help="Classic dataflow, e.g. kcp.")
    ] = None,
    hw: Annotated[
        str | None,
        typer.Option("--hw", help="MAESTRO hardware file (.m) or preset name (see `presets`)."),
    ] = None,
    pes: Annotated[int | None, typer.Option("--pes", min=1, help="Number of PEs.")] = None,
    noc_bw: Annotated[
        int | None, typer.Option("--noc-bw", min=1, help="NoC bandwidth [words/cycle].")
    ] = None,
    noc_latency: Annotated[
        int | None, typer.Option("--noc-latency", min=0, help="NoC latency [cycles].")
    ] = None,
    offchip_bw: Annotated[
        int | None, typer.Option("--offchip-bw", min=1, help="Off-chip bandwidth [words/cycle].")
    ] = None,
    l1_size: Annotated[
        int | None, typer.Option("--l1-size", min=1, help="L1 size per PE [words].")
    ] = None,
    l2_size: Annotated[
        int | None, typer.Option("--l2-size", min=1, help="L2 size [words].")
    ] = None,
    vector_width: Annotated[
        int | None, typer.Option("--vector-width", min=1, help="MACs per PE per cycle.")
    ] = None,
    semantics: Annotated[
        str, typer.Option("--semantics", help="Cost-model semantics: exact or maestro.")
    ] = "exact",
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
    energy: Annotated[
        str | None,
        typer.Option("--energy", help="Energy table: maestro, eyeriss_65nm or horowitz_45nm_int8."),
    ] = None,
) -> None:
    """Score mappings: every layer of MAESTRO mapping files, or a zoo layer with a dataflow."""
    if fmt not in FORMATS:
        raise typer.BadParameter(
            f"must be one of {', '.join(FORMATS)}, got {fmt!r}", param_hint="--format"
        )
    files = [*(mapping or []), *(extra_files or [])]
    if extra_files and not mapping:
        raise typer.BadParameter("give mapping files after --mapping", param_hint="--mapping")
    if files and (layer or dataflow):
        raise typer.BadParameter(
            "use either --mapping or --layer with --dataflow", param_hint="--mapping"
        )
    if files:
        jobs = jobs_from_files(files)
    elif layer and dataflow:
        jobs = jobs_from_names(layer, dataflow)
    else:
        raise typer.BadParameter(
            "give --mapping FILE.m [FILE.m ...], or --layer NAME with --dataflow NAME",
            param_hint="--mapping",
        )
    hardware = command_hardware(
        hw,
        pes=pes,
        noc_bw=noc_bw,
        noc_latency=noc_latency,
        offchip_bw=offchip_bw,
        l1_size=l1_size,
        l2_size=l2_size,
        vector_width=vector_width,
        energy=energy,
    )
    _render(evaluate_jobs(jobs, hardware, semantics=semantics), hardware, fmt)


def _render(records: list[dict[str, Any]], hardware: Hardware, fmt: str) -> None:
    """Print the records as JSON, CSV or a table."""
    if fmt == "json":
        console.print(evaluation_json(records), markup=False, highlight=False, soft_wrap=True)
    elif fmt == "csv":
        console.print(
            evaluation_csv(records), markup=False, highlight=False, soft_wrap=True, end=""
        )
    else:
        # Piped output gets a wide console: rich would squeeze the table to 80 columns.
        out = console if console.is_terminal else Console(width=TABLE_WIDTH)
        out.print(evaluation_table(records, hardware))
