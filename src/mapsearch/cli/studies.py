"""``mapsearch show``, ``mapsearch export`` and ``mapsearch studies``: what the studies hold.

Each parses its flags, calls :mod:`mapsearch.service.studies` and renders with
:mod:`mapsearch.report` (tables, exports).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mapsearch.cli.console import console
from mapsearch.cli.options import Storage
from mapsearch.outputs import check_outputs
from mapsearch.report.export import export_paths, point_files_of
from mapsearch.service.studies import export_study, load_study, locate_study, study_listing
from mapsearch.studies.locations import DEFAULT_DIR, storage_file

StudyArgument = Annotated[str, typer.Argument(help="Study name (under studies/), or a study file.")]


def show_command(
    study: StudyArgument,
    storage: Storage = None,
    every: Annotated[int, typer.Option("--every", help="History row every N evaluations.")] = 0,
) -> None:
    """Print a study's problem, best mapping(s) and search history."""
    from mapsearch.report.tables import study_report

    with load_study(study, storage) as record:
        console.print(study_report(record, every))


def export_command(
    study: StudyArgument,
    fmt: Annotated[str, typer.Option("--format", help="maestro, json or csv.")] = "json",
    storage: Storage = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir", help="With --format maestro: one .m file per best point, here."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace --output if it exists (never the study).")
    ] = False,
) -> None:
    """Write a study's best mapping(s) (MAESTRO .m or JSON) or every evaluation (CSV)."""
    url, name = locate_study(study, storage)
    protected = [p for p in (storage_file(url),) if p is not None]
    if output_dir is not None:
        if fmt != "maestro" or output is not None:
            raise typer.BadParameter("--output-dir goes with --format maestro and no --output")
        with load_study(name, url) as record:
            files = point_files_of(record)
        paths = [output_dir / file_name for file_name, _ in files]
        check_outputs(paths, force=force, protected=protected)
        output_dir.mkdir(parents=True, exist_ok=True)
        for path, (_, text) in zip(paths, files, strict=True):
            path.write_text(text, encoding="utf-8")
        console.print(f"wrote {len(files)} mapping file(s) to {output_dir}", markup=False)
        return
    if output is not None:  # before any work: the single-file name is checked at least
        check_outputs([output], force=force, protected=protected)
    texts = export_study(name, fmt, storage=url)
    if output is None:
        typer.echo("\n".join(texts))
        return
    paths = export_paths(output, len(texts))
    check_outputs(paths, force=force, protected=protected)
    for path, text in zip(paths, texts, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text if text.endswith("\n") else text + "\n")
        console.print(f"wrote {path}")


def studies_command(
    storage: Annotated[
        str | None, typer.Option("--storage", help="List the studies of this storage URL.")
    ] = None,
    directory: Annotated[Path, typer.Option("--dir", help="Folder of study files.")] = DEFAULT_DIR,
) -> None:
    """List studies with their problem and best value."""
    from mapsearch.report.tables import studies_table

    rows = study_listing(storage, directory)
    if not rows:
        console.print(f"no studies in {storage or directory}")
        return
    console.print(studies_table(rows))
