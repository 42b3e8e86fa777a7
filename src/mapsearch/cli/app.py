"""The typer application every command module registers on, and shared CLI helpers."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    name="mapsearch",
    help="Search DNN-accelerator mappings (MAESTRO directives) with an analytical cost model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Tables and progress go to stdout; errors to stderr.
console = Console()
err_console = Console(stderr=True)


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
