"""Entry point: import every command module (each registers on ``app``) and map errors to exit 2."""

from __future__ import annotations

import sys

import click

from mapsearch.cli.app import app, err_console
from mapsearch.errors import MapsearchError


def run() -> None:
    """Run the CLI; a ``MapsearchError`` becomes a one-line message and exit code 2."""
    try:
        app(standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except MapsearchError as e:
        err_console.print(f"error: {e}", markup=False, highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    run()
