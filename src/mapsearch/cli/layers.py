"""``mapsearch layers`` (the model zoo) and ``mapsearch presets`` (hardware presets).

The commands only pick the data and a renderer of :mod:`mapsearch.report.listings`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mapsearch.cli.console import console, err_console
from mapsearch.hardware.presets import PRESETS
from mapsearch.layers.zoo import CONVENTIONS, MODELS
from mapsearch.models import load_model
from mapsearch.report.listings import (
    OutputFormat,
    layers_csv,
    layers_json,
    layers_table,
    presets_csv,
    presets_json,
    presets_table,
)


def layers_command(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help=f"A zoo model ({', '.join(MODELS)}), an .onnx file or a MAESTRO .m model "
            "file; every zoo model when omitted.",
        ),
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = (
        OutputFormat.TABLE
    ),
    convention: Annotated[
        str,
        typer.Option(
            help=f"Layer shapes: {' or '.join(CONVENTIONS)} (padding and pooling as published)."
        ),
    ] = "maestro",
    distinct: Annotated[
        bool, typer.Option("--distinct", help="List only the first layer of each shape.")
    ] = False,
) -> None:
    """List the layers of the model zoo or a model file: shape, output size and MACs."""
    models = [load_model(m, convention=convention) for m in (MODELS if model is None else [model])]
    for note in (n for m in models for n in m.notes):
        err_console.print(f"note: {note}", markup=False)
    listing = [(m.name, m.distinct() if distinct else m.layers) for m in models]
    if fmt is OutputFormat.TABLE:
        console.print(layers_table(listing))
    elif fmt is OutputFormat.JSON:
        typer.echo(layers_json(listing))
    else:
        typer.echo(layers_csv(listing), nl=False)


def presets_command(
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = (
        OutputFormat.TABLE
    ),
) -> None:
    """List the hardware presets and where their numbers come from."""
    presets = list(PRESETS.values())
    if fmt is OutputFormat.TABLE:
        console.print(presets_table(presets))
    elif fmt is OutputFormat.JSON:
        typer.echo(presets_json(presets))
    else:
        typer.echo(presets_csv(presets), nl=False)
