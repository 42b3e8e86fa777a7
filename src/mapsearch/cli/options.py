"""Flags that several commands share, each declared once (name, help, parsing), and the
checks of flag values that typer does not make itself."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated

import typer

from mapsearch.cli.console import err_console
from mapsearch.errors import MapsearchError, UnknownNameError
from mapsearch.models import Model
from mapsearch.spaces import SpaceOptions, mapping_space

LayerName = Annotated[
    str | None, typer.Option("--layer", "-l", help="Layer name (e.g. conv3_1, vgg16.conv3_1).")
]
HardwareName = Annotated[
    str | None,
    typer.Option("--hw", help="Hardware preset or MAESTRO hardware file (default: edge_256)."),
]
Pes = Annotated[int | None, typer.Option("--pes", help="Override the number of PEs.")]
Levels = Annotated[str, typer.Option("--levels", help="Allowed cluster levels, e.g. 1,2 or 1,2,3.")]
Tiles = Annotated[str, typer.Option("--tiles", help="divisors (no edge tiles) or any.")]
SpaceKind = Annotated[
    str | None,
    typer.Option(
        "--space",
        help="complete (the default: every classic dataflow, row stationary, any cluster "
        "size) or compact (one spatial dimension per level, clusters dividing the PEs: "
        "smaller, faster to search). A study resumed without --space keeps its own.",
    ),
]
Fix = Annotated[
    list[str] | None,
    typer.Option(
        "--fix",
        help="Pin a gene, GENE=VALUE (e.g. L0.spatial=K, L0.order=KCYX); see `mapsearch space`.",
    ),
]
CoDesign = Annotated[
    bool,
    typer.Option(
        "--co-design", help="Search the hardware too (PEs, L1, L2, NoC BW, vector width)."
    ),
]
Storage = Annotated[str | None, typer.Option("--storage", help="Storage URL holding the study.")]
ShowProgress = Annotated[
    bool, typer.Option("--progress/--no-progress", help="Show a progress bar (on stderr).")
]
#: The space's defaults (:class:`~mapsearch.spaces.SpaceOptions`), as the flags spell them.
DEFAULT_LEVELS = ",".join(str(n) for n in mapping_space.DEFAULT_LEVELS)
DEFAULT_TILES = mapping_space.DEFAULT_TILES
#: No ``--space``: the default kind for a new study, a resumed study's own kind.
DEFAULT_SPACE = None


def check_format(fmt: str, allowed: Sequence[str]) -> str:
    """``fmt`` if it is one of ``allowed`` (``--format``)."""
    if fmt not in allowed:
        raise UnknownNameError("format", fmt, list(allowed))
    return fmt


def load_model_with_notes(name: str) -> Model:
    """``--model``: a zoo model, ``.onnx`` or MAESTRO ``.m`` file; its notes (unsupported
    operators, ...) go to stderr."""
    from mapsearch.models import load_model  # its readers: with --model only

    model = load_model(name)
    for note in model.notes:
        err_console.print(f"note: {note}", markup=False)
    return model


def parse_fixed(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``--fix GENE=VALUE`` pairs."""
    out = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise typer.BadParameter(f"--fix takes GENE=VALUE (e.g. L0.spatial=K), got {item!r}")
        out.append((name.strip(), value.strip()))
    return tuple(out)


def parse_levels(text: str) -> tuple[int, ...]:
    """``--levels 1,2``: the allowed cluster levels, sorted, once each."""
    try:
        return tuple(sorted({int(v) for v in text.split(",") if v.strip()}))
    except ValueError:
        raise typer.BadParameter(
            f"--levels takes a comma-separated list such as 1,2, got {text!r}"
        ) from None


def space_options(
    levels: str, tiles: str, fix: Sequence[str] | None, kind: str | None = DEFAULT_SPACE
) -> SpaceOptions:
    """The mapping space the ``--levels``, ``--tiles``, ``--fix`` and ``--space`` flags
    describe."""
    with usage_errors():
        return SpaceOptions(
            levels=parse_levels(levels), tiles=tiles, fixed=parse_fixed(fix or []), kind=kind
        )


@contextmanager
def usage_errors() -> Iterator[None]:
    """A plain ``ValueError`` from building values out of flags is a usage error (exit 2
    with typer's message); a ``MapsearchError`` keeps its own one-line message."""
    try:
        yield
    except ValueError as e:
        if isinstance(e, MapsearchError):
            raise
        raise typer.BadParameter(str(e)) from e
