"""Where the commands print: tables and results to stdout, errors, notes and progress to
stderr."""

from __future__ import annotations

from rich.console import Console

console = Console()
err_console = Console(stderr=True)
