"""``mapsearch dataflows`` and ``mapsearch show-mapping``: the classic dataflows and one mapping.

Thin front ends: :func:`dataflows_table` and :func:`show_mapping_text` are the library calls
behind the two commands.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mapsearch.cli.app import app, console
from mapsearch.directives.dataflows import DATAFLOWS, dataflow, dataflow_info, dataflow_variant
from mapsearch.directives.directive import Mapping
from mapsearch.errors import LayerError, MappingError, UnknownNameError
from mapsearch.hardware import Hardware
from mapsearch.hardware.presets import DEFAULT_PRESET, preset
from mapsearch.layers import Layer
from mapsearch.report.loopnest import mapping_sheet


def dataflows_table() -> Table:
    """The classic dataflows: name, aliases, origin and description, directives (``Sz()`` kept)."""
    table = Table(title="Classic dataflows (MAESTRO)", show_lines=True)
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("aliases")
    table.add_column("origin")
    table.add_column("directives (CONV; GEMM form below when there is one)", overflow="fold")
    for name in DATAFLOWS:
        info = dataflow_info(name)
        directives = info.directives.replace("; ", ";\n")
        if info.gemm_directives:
            directives += "\nGEMM: " + info.gemm_directives
        table.add_row(
            info.name, ", ".join(info.aliases), f"{info.origin}\n{info.description}", directives
        )
    return table


def _hardware(hw: str | None, pes: int | None) -> Hardware:
    base = preset(hw if hw is not None else DEFAULT_PRESET)
    if pes is None or pes == base.num_pes:
        return base
    return replace(base, name=f"{base.name} with {pes} PEs", num_pes=pes)


def _from_file(path: Path, layer: str | None) -> tuple[Layer, Mapping]:
    """The layer named ``layer`` in a MAESTRO mapping file (or its only layer) and its mapping."""
    from mapsearch.directives.maestro_file import read_mapping_file

    network = read_mapping_file(path)
    entries = {e.layer.name.lower(): e for e in network.layers}
    if layer is None:
        if len(entries) != 1:
            names = ", ".join(e.layer.name for e in network.layers)
            raise LayerError(f"{path} holds {len(entries)} layers; pick one with --layer: {names}")
        (entry,) = entries.values()
    elif layer.lower() in entries:
        entry = entries[layer.lower()]
    else:
        raise UnknownNameError(f"layer in {path.name}", layer, entries)
    if entry.mapping is None:
        raise MappingError(
            [f"layer {entry.layer.name!r} of {path} has no Dataflow block; add one"],
            mapping_name=path.name,
        )
    return entry.layer, replace(entry.mapping, name=entry.mapping.name or path.name)


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
        the_layer, mapping = _from_file(source, layer)
        variant = f"from {source}"
    else:
        if layer is None:
            raise LayerError("a classic dataflow needs a layer: give --layer (e.g. vgg16.conv3_1)")
        the_layer = find_layer(layer)
        mapping = dataflow(source, the_layer)
        variant = dataflow_variant(source, the_layer)
    return mapping_sheet(mapping, the_layer, hardware, variant=variant)


@app.command("dataflows")
def dataflows_command() -> None:
    """List the classic dataflows: names, aliases, origin and directives."""
    console.print(dataflows_table())


@app.command("show-mapping")
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
