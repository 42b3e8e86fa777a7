"""Entry point: run the application (:mod:`mapsearch.cli.app`), map errors to exit 2 and
an interruption no command handled (even while the modules load) to exit 130."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

from mapsearch.errors import INTERRUPTED_EXIT, MapsearchError, interruption

#: Set once Ctrl-C has come: a compiled library interrupted while it loads (numba's first
#: call of a kernel) may swallow the ``KeyboardInterrupt`` and fail later with another error.
_INTERRUPTED = threading.Event()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C: remember it, then stop as Python's own handler does."""
    _INTERRUPTED.set()
    raise KeyboardInterrupt


def run() -> None:
    """Run the CLI; a ``MapsearchError`` becomes an ``error: ...`` message and exit code 2.

    Usage errors (bad flags) are typer's own: a one-line message and exit code 2. A Ctrl-C
    that no command handled (e.g. while the command's modules load), or any error after
    one, says ``interrupted`` and exits 130: a search stores each batch as it goes, so
    nothing finished is lost.
    """
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:  # not when ignored (a background job)
        signal.signal(signal.SIGINT, _interrupt)
    try:
        from mapsearch.cli.app import app_for  # here: Ctrl-C while it loads is handled too

        app_for(sys.argv[1:])()
    except KeyboardInterrupt:
        _interrupted()
    except MapsearchError as e:
        if _INTERRUPTED.is_set():
            _interrupted()
        from mapsearch.cli.console import err_console

        # soft_wrap: a one-line message stays one line, whatever the terminal's width.
        err_console.print(f"error: {e}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except Exception as e:
        if not (_INTERRUPTED.is_set() or interruption(e)):
            raise
        _interrupted()
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupted() -> None:
    """Say so and exit 130 (plain print: the console's modules may be what was loading)."""
    print("interrupted", file=sys.stderr)
    sys.exit(INTERRUPTED_EXIT)


if __name__ == "__main__":
    run()
