"""Files a command writes for its user: nothing is replaced unless asked (``--force``), and a
study database is never written over, asked or not. Checked before any work is done."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from mapsearch.errors import OverwriteError


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(paths: Iterable[Path], *, force: bool, protected: Iterable[Path] = ()) -> None:
    """Refuse to write ``paths`` (raising :class:`OverwriteError` naming them) when one is a
    folder or one of ``protected`` (e.g. the study being exported), and, without ``force``,
    when one already exists."""
    paths = list(paths)
    guarded = [p for p in protected if p.exists()]
    for path in paths:
        if any(_same(path, g) for g in guarded):
            raise OverwriteError(
                f"{path} is the study database being read; it was left untouched. "
                "Write the output elsewhere"
            )
        if path.is_dir():
            raise OverwriteError(f"{path} is a folder; name a file to write")
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        raise OverwriteError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
            "nothing was written. Pass --force to replace, or write elsewhere"
        )
