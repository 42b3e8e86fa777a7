"""The ``mapsearch`` typer application: every command, registered here by name.

A command's module is imported only when the application is built with that command:
:func:`mapsearch.cli.main.run` builds it with the one command named on the command line, so
``mapsearch tune`` does not import what ``dse`` needs (and the other way round).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

import typer

from mapsearch.cli.console import console

#: Command name -> ``module:function`` behind it, in the order ``--help`` lists them.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("tune", "mapsearch.cli.tune:tune_command"),
    ("space", "mapsearch.cli.tune:space_command"),
    ("evaluate", "mapsearch.cli.evaluate:evaluate_command"),
    ("dse", "mapsearch.cli.dse:dse_command"),
    ("show", "mapsearch.cli.studies:show_command"),
    ("export", "mapsearch.cli.studies:export_command"),
    ("studies", "mapsearch.cli.studies:studies_command"),
    ("layers", "mapsearch.cli.layers:layers_command"),
    ("presets", "mapsearch.cli.layers:presets_command"),
    ("dataflows", "mapsearch.cli.mappings:dataflows_command"),
    ("show-mapping", "mapsearch.cli.mappings:show_mapping_command"),
)


def command(name: str) -> Callable[..., None]:
    """The function behind command ``name`` (its module imported now)."""
    module, function = dict(COMMANDS)[name].split(":")
    found: Callable[..., None] = getattr(importlib.import_module(module), function)
    return found


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


def build_app(names: Iterable[str] | None = None) -> typer.Typer:
    """The application with the commands ``names`` (default: every command of
    :data:`COMMANDS`), in :data:`COMMANDS` order."""
    wanted = None if names is None else set(names)
    application = typer.Typer(
        name="mapsearch",
        help="Search DNN-accelerator mappings (MAESTRO directives) with an analytical cost model.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    application.callback()(main)
    for name, _ in COMMANDS:
        if wanted is None or name in wanted:
            application.command(name)(command(name))
    return application


def app_for(args: list[str]) -> typer.Typer:
    """The application to run ``args`` (the command line without the program name): with
    only the command they name, or with every command when they name none (``--help``, a
    mistyped name: typer then lists them all or suggests the closest)."""
    first = next((a for a in args if not a.startswith("-")), None)
    return build_app([first] if first in dict(COMMANDS) else None)


def __getattr__(name: str) -> Any:
    """``app``: the application with every command, built on first use."""
    if name == "app":
        application = globals()["app"] = build_app()
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
