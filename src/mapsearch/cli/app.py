"""The typer application every command module registers on, and shared CLI helpers."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

app = typer.Typer(
    name="mapsearch",
    help="Search DNN-accelerator mappings (MAESTRO directives) with an analytical cost model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Width of output that is not a terminal (a pipe, a file, a test): wide enough that no
#: line a command prints (mapping, study name, table row) is cut or wrapped, as rich would
#: at 80 columns. Unset (the terminal's width) on a terminal.
PIPE_WIDTH = 1000

#: Tables and results go to stdout; progress and errors to stderr.
console = Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else PIPE_WIDTH)


def _version(value: bool) -> None:
    if value:
        from mapsearch import __version__

        console.print(f"mapsearch {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Search DNN-accelerator mappings (MAESTRO directives) with an analytical cost model."""
