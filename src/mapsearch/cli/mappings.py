"""``mapsearch dataflows`` and ``mapsearch show-mapping``: the classic dataflows and one mapping.

Thin front ends: :func:`mapsearch.report.tables.dataflows_table` and
:func:`mapsearch.service.mappings.show_mapping_text` are the library calls behind them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mapsearch.cli.console import console
from mapsearch.hardware.presets import DEFAULT_PRESET
from mapsearch.report.tables import dataflows_table
from mapsearch.service.mappings import show_mapping_text


def dataflows_command() -> None:
    """List the classic dataflows: names, aliases, origin and directives."""
    console.print(dataflows_table())


def show_mapping_command(
    layer: Annotated[
        str | None,
        typer.Option(
            "--layer",
            "-l",
            help="Zoo layer (e.g. vgg16.conv3_1); with --mapping, a layer of that file.",
        ),
    ] = None,
    dataflow_name: Annotated[
        str | None,
        typer.Option("--dataflow", "-d", help="Classic dataflow name or alias (see `dataflows`)."),
    ] = None,
    mapping_file: Annotated[
        Path | None, typer.Option("--mapping", "-m", help="A MAESTRO .m file holding the mapping.")
    ] = None,
    hw: Annotated[
        str | None, typer.Option("--hw", help=f"Hardware preset (default {DEFAULT_PRESET}).")
    ] = None,
    pes: Annotated[
        int | None,
        typer.Option("--pes", min=1, help="Number of PEs (overrides the preset's)."),
    ] = None,
) -> None:
    """Show a mapping on a layer: resolved directives, validation status and loop nest."""
    if dataflow_name is not None and mapping_file is None:
        if layer is None:
            raise typer.BadParameter("--dataflow needs --layer", param_hint="--layer")
        source: str | Path = dataflow_name
    elif mapping_file is not None and dataflow_name is None:
        source = mapping_file
    else:
        raise typer.BadParameter("give exactly one of --dataflow NAME or --mapping FILE.m")
    text = show_mapping_text(layer=layer, source=source, hw=hw, pes=pes)
    console.print(text, markup=False, highlight=False, soft_wrap=True)
