"""Entry point: run the application (:mod:`mapsearch.cli.app`) and map errors to exit 2."""

from __future__ import annotations

import sys

from mapsearch.cli.app import app_for
from mapsearch.cli.console import err_console
from mapsearch.errors import MapsearchError


def run() -> None:
    """Run the CLI; a ``MapsearchError`` becomes an ``error: ...`` message and exit code 2.

    Usage errors (bad flags) are typer's own: a one-line message and exit code 2.
    """
    try:
        app_for(sys.argv[1:])()
    except MapsearchError as e:
        # soft_wrap: a one-line message stays one line, whatever the terminal's width.
        err_console.print(f"error: {e}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    run()
