"""One error hierarchy for the package.

Every error is also a builtin (``KeyError``, ``ValueError``, ...) so that plain ``except``
clauses keep working. Messages follow *rule, value, fix*.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterable, Sequence

#: Set by the CLI when Ctrl-C comes, cleared when it ends: a ``KeyboardInterrupt`` raised in
#: a finalizer is ignored by Python, so a run also checks this between batches.
INTERRUPTED = threading.Event()
#: Exit status of an interrupted command, and of a worker whose parent died (128 + SIGINT).
INTERRUPTED_EXIT = 130


def interruption(e: BaseException) -> bool:
    """Whether ``e`` is an interruption (Ctrl-C, or SIGTERM where a run turns it into one):
    a ``KeyboardInterrupt``, or the ``SystemError`` a compiled (numba) function raises when
    one arrives while it runs Python code (loading a cached kernel on its first call)."""
    return isinstance(e, KeyboardInterrupt) or (
        isinstance(e, SystemError) and isinstance(e.__cause__, KeyboardInterrupt)
    )


class MapsearchError(Exception):
    """Root of every error mapsearch raises on purpose."""

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0]) if self.args else ""


class UnknownNameError(MapsearchError, KeyError):
    """A name (layer, dataflow, preset, objective, ...) that is not known.

    The message lists close matches (a short list of names whole when none is close), or
    the candidates when the name is ambiguous.
    """

    def __init__(self, kind: str, name: str, known: Iterable[str], *, ambiguous: bool = False):
        known = list(known)
        self.kind, self.name = kind, name
        if ambiguous:
            msg = f"{kind} {name!r} is ambiguous; candidates: {', '.join(known)}"
        else:
            close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
            if not close:
                low = name.lower()
                close = [k for k in known if low in k.lower()][:5]
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            if not close and 0 < len(known) <= 8:  # a short list is worth showing whole
                hint = f"; choose from {', '.join(known)}"
            msg = f"unknown {kind} {name!r}{hint}"
        super().__init__(msg)


class MappingError(MapsearchError, ValueError):
    """An illegal mapping. ``problems`` holds one line per problem, each naming its directive.

    When a batched cost-model call refuses only some mappings, ``rows`` holds their batch
    positions (as for :class:`UnsupportedError`).
    """

    def __init__(
        self, problems: Sequence[str], *, mapping_name: str = "", rows: Sequence[int] = ()
    ):
        self.problems = tuple(problems)
        self.rows = tuple(rows)
        where = f" {mapping_name!r}" if mapping_name else ""
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"illegal mapping{where} ({len(self.problems)} problem(s)):\n{lines}")


class LayerError(MapsearchError, ValueError):
    """An impossible layer shape."""


class HardwareError(MapsearchError, ValueError):
    """An impossible hardware configuration."""


class ParseError(MapsearchError, ValueError):
    """A malformed MAESTRO file: says which file, which line and what was expected."""

    def __init__(self, message: str, *, path: str = "<string>", line: int = 0):
        self.path, self.line = path, line
        super().__init__(f"{path}:{line}: {message}")


class ModelFileError(MapsearchError, ValueError):
    """A model file (ONNX, MAESTRO model) that cannot be read or imported; names the file."""

    def __init__(self, message: str, *, path: str):
        self.path = path
        super().__init__(f"{path}: {message}")


class UnsupportedError(MapsearchError, NotImplementedError):
    """A construct mapsearch recognises but does not model (e.g. a MAESTRO LSTM layer).

    When a batched cost-model call refuses only some mappings, ``rows`` holds their batch
    positions, so that a caller can score the others; empty when the whole call is refused.
    """

    def __init__(self, message: str, *, rows: Sequence[int] = ()):
        self.rows = tuple(rows)
        super().__init__(message)


class StudyError(MapsearchError, RuntimeError):
    """A study that cannot be opened, resumed or written as asked."""


class OverwriteError(MapsearchError, FileExistsError):
    """A file a command would write already exists (or is a study database, or a folder)."""


class ConfigError(MapsearchError, ValueError):
    """A setting out of its range (a budget, a seed, a limit, a batch size...)."""
