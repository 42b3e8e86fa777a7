"""Entry point: run the application (:mod:`mapsearch.cli.app`), map errors to exit 2 and
an interruption no command handled (even while the modules load) to exit 130."""

from __future__ import annotations

import signal
import sys
from types import FrameType

from mapsearch.errors import INTERRUPTED, INTERRUPTED_EXIT, MapsearchError, interruption


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C: remember it (a compiled library interrupted while it loads, numba's first call
    of a kernel, may swallow the ``KeyboardInterrupt`` and fail later with another error;
    a finalizer ignores it), then stop as Python's own handler does."""
    INTERRUPTED.set()
    raise KeyboardInterrupt


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """A Ctrl-C raised in a finalizer is ignored there, but recorded: a run stops at its
    next batch, so it is not printed as an ignored exception."""
    if unraisable.exc_type is not KeyboardInterrupt:
        sys.__unraisablehook__(unraisable)


def run() -> None:
    """Run the CLI; a ``MapsearchError`` becomes an ``error: ...`` message and exit code 2.

    Usage errors (bad flags) are typer's own: a one-line message and exit code 2. A Ctrl-C
    that no command handled (e.g. while the command's modules load), or any error after
    one, says ``interrupted`` and exits 130: a search stores each batch as it goes, so
    nothing finished is lost.
    """
    INTERRUPTED.clear()
    previous, hook = signal.getsignal(signal.SIGINT), sys.unraisablehook
    if previous is signal.default_int_handler:  # not when ignored (a background job)
        signal.signal(signal.SIGINT, _interrupt)
        sys.unraisablehook = _unraisable
    try:
        from mapsearch.cli.app import app_for  # here: Ctrl-C while it loads is handled too

        app_for(sys.argv[1:])()
    except KeyboardInterrupt:
        _interrupted()
    except MapsearchError as e:
        if INTERRUPTED.is_set():
            _interrupted()
        from mapsearch.cli.console import err_console

        # soft_wrap: a one-line message stays one line, whatever the terminal's width.
        err_console.print(f"error: {e}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except Exception as e:
        if not (INTERRUPTED.is_set() or interruption(e)):
            raise
        _interrupted()
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = hook
        INTERRUPTED.clear()


def _interrupted() -> None:
    """Say so and exit 130 (plain print: the console's modules may be what was loading)."""
    print("interrupted", file=sys.stderr)
    sys.exit(INTERRUPTED_EXIT)


if __name__ == "__main__":
    run()
