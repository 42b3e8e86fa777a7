"""``mapsearch dataflows`` and ``mapsearch show-mapping``: the classic dataflows and one mapping.

Thin front ends: :func:`mapsearch.report.tables.dataflows_table` and
:func:`show_mapping_text` (a mapping sheet of :mod:`mapsearch.report.loopnest`) are the
library calls behind the two commands.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from mapsearch.cli.console import console
from mapsearch.directives.dataflows import dataflow, dataflow_variant
from mapsearch.errors import LayerError
from mapsearch.hardware import Hardware
from mapsearch.hardware.presets import DEFAULT_PRESET
from mapsearch.report.loopnest import mapping_sheet
from mapsearch.report.tables import dataflows_table
from mapsearch.service.evaluate import mapping_from_file
from mapsearch.service.hardware import resolve_hardware


def _hardware(hw: str | None, pes: int | None) -> Hardware:
    """The hardware ``hw`` names; a PE count other than its own shows in its name."""
    base = resolve_hardware(hw)
    if pes is None or pes == base.num_pes:
        return base
    return replace(base, name=f"{base.name} with {pes} PEs", num_pes=pes)


def show_mapping_text(
    *, source: str | Path, layer: str | None = None, hw: str | None = None, pes: int | None = None
) -> str:
    """Resolved directives, validation status and loop nest of one mapping on one layer.

    ``source`` is a classic dataflow name (``str``; ``layer`` is then a zoo layer name) or a
    MAESTRO ``.m`` file (``Path``; ``layer`` picks one of its layers, optional when it has
    only one).
    """
    from mapsearch.layers.zoo import find_layer

    hardware = _hardware(hw, pes)
    if isinstance(source, Path):
        the_layer, mapping = mapping_from_file(source, layer)
        variant = f"from {source}"
    else:
        if layer is None:
            raise LayerError("a classic dataflow needs a layer: give --layer (e.g. vgg16.conv3_1)")
        the_layer = find_layer(layer)
        mapping = dataflow(source, the_layer)
        variant = dataflow_variant(source, the_layer)
    return mapping_sheet(mapping, the_layer, hardware, variant=variant)


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
