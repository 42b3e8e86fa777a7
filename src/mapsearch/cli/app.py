"""The ``mapsearch`` typer application: every command, registered here by name."""

from __future__ import annotations

from collections.abc import Callable

import typer

from mapsearch.cli import dse, evaluate, layers, mappings, studies, tune
from mapsearch.cli.console import console

#: Command name -> the function behind it, in the order ``--help`` lists them.
COMMANDS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("tune", tune.tune_command),
    ("space", tune.space_command),
    ("evaluate", evaluate.evaluate_command),
    ("dse", dse.dse_command),
    ("show", studies.show_command),
    ("export", studies.export_command),
    ("studies", studies.studies_command),
    ("layers", layers.layers_command),
    ("presets", layers.presets_command),
    ("dataflows", mappings.dataflows_command),
    ("show-mapping", mappings.show_mapping_command),
)


def _version(value: bool) -> None:
    if value:
        from mapsearch import __version__

        console.print(f"mapsearch {__version__}")
        raise typer.Exit()


def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Search DNN-accelerator mappings (MAESTRO directives) with an analytical cost model."""


def build_app() -> typer.Typer:
    """The application with every command of :data:`COMMANDS`."""
    application = typer.Typer(
        name="mapsearch",
        help="Search DNN-accelerator mappings (MAESTRO directives) with an analytical cost model.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    application.callback()(main)
    for name, command in COMMANDS:
        application.command(name)(command)
    return application


app = build_app()
