"""Where the commands print: tables and results to stdout, errors, notes and progress to
stderr."""

from __future__ import annotations

import sys

from rich.console import Console

#: Width of output that is not a terminal (a pipe, a file, a test): wide enough that no
#: line a command prints (mapping, study name, table row) is cut or wrapped, as rich would
#: at 80 columns. Unset (the terminal's width) on a terminal.
PIPE_WIDTH = 1000

console = Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else PIPE_WIDTH)
