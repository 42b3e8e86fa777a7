"""``mapsearch show``, ``mapsearch export`` and ``mapsearch studies``: what the studies hold.

Thin front ends over :mod:`mapsearch.studies`: :func:`locate`, :func:`study_listing`,
:func:`export_text` are the library calls behind them.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Group

from mapsearch.cli.app import app, console
from mapsearch.errors import StudyError
from mapsearch.outputs import check_outputs
from mapsearch.studies.locations import (
    DEFAULT_DIR,
    default_storage_url,
    display_url,
    storage_file,
)
from mapsearch.studies.results import best_points, export_json
from mapsearch.studies.storage import StoredStudy, StudyRecord, list_studies

EXPORT_FORMATS = ("maestro", "json", "csv")


def locate(study: str, storage: str | None) -> tuple[str, str]:
    """(storage URL, study name) for ``study``: a name under ``studies/``, a study file, or a
    name in ``storage``. A file holding one study needs no name."""
    if storage is not None:
        return storage, study
    path = Path(study)
    if path.is_file():
        url = f"sqlite:///{path}" if path.suffix != ".log" else f"journal:{path}"
        names = [s.name for s in list_studies(url)]
        if len(names) != 1:
            raise StudyError(
                f"{path} holds {len(names)} studies ({', '.join(names)}); pass --storage {url} and a study name"
            )
        return url, names[0]
    default = default_storage_url(study)
    if not Path(default[len("sqlite:///") :]).exists():
        known = sorted(p.stem for p in DEFAULT_DIR.glob("*.sqlite3"))
        from mapsearch.errors import UnknownNameError

        raise UnknownNameError(f"study (in {DEFAULT_DIR}/)", study, known)
    return default, study


def best_text(study: StoredStudy) -> str:
    """The best value of a listed study: ``edp 1.2e+17``, ``7 Pareto points; best latency
    ...``, ``no feasible point``, or ``-`` for a study mapsearch did not make."""
    if study.fingerprint is None:
        return "-"
    if study.n_best == 0 or study.best_value is None:
        return "no feasible point"
    first = study.fingerprint["objectives"][0][0]
    if len(study.fingerprint["objectives"]) > 1:
        return f"{study.n_best} Pareto points; best {first} {study.best_value:.4g}"
    return f"{first} {study.best_value:.4g}"


def study_listing(
    storage: str | None, directory: Path = DEFAULT_DIR
) -> list[tuple[StoredStudy, str]]:
    """Every study in ``storage`` (or in every ``*.sqlite3``/``*.log`` under ``directory``)
    with its best value. A storage that cannot be read (damaged, foreign) is one row named
    ``?`` saying why; the others are listed all the same."""
    urls = (
        [storage]
        if storage is not None
        else [f"sqlite:///{p}" for p in sorted(directory.glob("*.sqlite3"))]
        + [f"journal:{p}" for p in sorted(directory.glob("*.log"))]
    )
    out = []
    for url in urls:
        try:
            found = list_studies(url)
        except StudyError as e:
            bad = StoredStudy(
                name="?", url=display_url(url), n_trials=0, description=str(e), fingerprint=None
            )
            out.append((bad, "unreadable"))
            continue
        out += [(s, best_text(s)) for s in found]
    return out


def export_text(record: StudyRecord, fmt: str) -> list[str]:
    """The study in ``fmt``: ``maestro`` (one ``.m`` text per best point), ``json`` (best
    points and the problem), ``csv`` (every evaluation: objectives, genes, mapping)."""
    if fmt not in EXPORT_FORMATS:
        raise typer.BadParameter(
            f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}"
        )
    problem = record.problem
    if fmt == "csv":
        return [_csv(record)]
    points = best_points(record)
    if fmt == "json":
        return [json.dumps(export_json(record, points), indent=2)]
    from mapsearch.exports import points_file

    return [points_file(problem, points, record.name)]


def _csv(record: StudyRecord) -> str:
    problem = record.problem
    numbers, ev = record.history()
    buf = io.StringIO()
    w = csv.writer(buf)
    genes = problem.genes
    w.writerow(
        [
            "trial",
            "feasible",
            *(o.name for o in problem.objectives),
            "violation",
            "reason",
            *(g.name for g in genes),
            "mapping",
        ]
    )
    mappings = np.full(len(ev), "", dtype=object)
    decoded, _, _ = problem.decode(ev.genotypes)
    for rows, batch in decoded.groups:
        for k, row in enumerate(rows):
            mappings[row] = str(batch.mapping(k))
    for i in range(len(ev)):
        w.writerow(
            [
                int(numbers[i]),
                bool(ev.feasible[i]),
                *("" if not np.isfinite(v) else repr(float(v)) for v in ev.values[i]),
                "" if not np.isfinite(ev.violation[i]) else repr(float(ev.violation[i])),
                ev.reasons[i],
                *(g.choices[int(x)] for g, x in zip(genes, ev.genotypes[i], strict=True)),
                mappings[i],
            ]
        )
    return buf.getvalue()


@app.command("show")
def show_command(
    study: Annotated[str, typer.Argument(help="Study name (under studies/), or a study file.")],
    storage: Annotated[
        str | None, typer.Option("--storage", help="Storage URL holding the study.")
    ] = None,
    every: Annotated[int, typer.Option("--every", help="History row every N evaluations.")] = 0,
) -> None:
    """Print a study's problem, best mapping(s) and search history."""
    from mapsearch.report.tables import history_table, pareto_table

    url, name = locate(study, storage)
    record = StudyRecord.load(url, name)
    problem = record.problem
    numbers, ev = record.history()
    points = best_points(record)
    parts: list[object] = [
        f"[bold]study {name}[/] in {display_url(url)}: {len(ev):,} evaluations, {int(ev.feasible.sum()):,} feasible",
        problem.description(),
    ]
    if points:
        best = points[0]
        parts.append(
            f"[bold]best mapping[/] (trial {best.trial}): "
            + ", ".join(f"{k} {v:.4g}" for k, v in best.objectives.items())
            + f"\n{best.mapping.to_text(indent='  ')}"
        )
        if len(problem.objectives) > 1:
            parts.append(pareto_table(problem, points))
    else:
        parts.append("no feasible point yet")
    if len(ev):
        step = every if every > 0 else max(1, len(ev) // 10)
        parts.append(
            history_table(problem, numbers.tolist(), ev.values, [str(r) for r in ev.reasons], step)
        )
    console.print(Group(*parts))  # type: ignore[arg-type]


@app.command("export")
def export_command(
    study: Annotated[str, typer.Argument(help="Study name (under studies/), or a study file.")],
    fmt: Annotated[str, typer.Option("--format", help="maestro, json or csv.")] = "json",
    storage: Annotated[
        str | None, typer.Option("--storage", help="Storage URL holding the study.")
    ] = None,
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
    url, name = locate(study, storage)
    protected = [p for p in (storage_file(url),) if p is not None]
    if output_dir is not None:
        _export_point_files(StudyRecord.load(url, name), output_dir, fmt, output, force, protected)
        return
    if output is not None:  # before any work: the single-file name is checked at least
        check_outputs([output], force=force, protected=protected)
    texts = export_text(StudyRecord.load(url, name), fmt)
    if output is None:
        typer.echo("\n".join(texts))
        return
    paths = (
        [output]
        if len(texts) == 1
        else [output.with_name(f"{output.stem}_p{i}{output.suffix}") for i in range(len(texts))]
    )
    check_outputs(paths, force=force, protected=protected)
    for path, text in zip(paths, texts, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text if text.endswith("\n") else text + "\n")
        console.print(f"wrote {path}")


def _export_point_files(
    record: StudyRecord,
    folder: Path,
    fmt: str,
    output: Path | None,
    force: bool,
    protected: list[Path],
) -> None:
    from mapsearch.exports import point_files

    if fmt != "maestro" or output is not None:
        raise typer.BadParameter("--output-dir goes with --format maestro and no --output")
    files = [
        (folder / n, t) for n, t in point_files(record.problem, best_points(record), record.name)
    ]
    check_outputs([p for p, _ in files], force=force, protected=protected)
    folder.mkdir(parents=True, exist_ok=True)
    for path, text in files:
        path.write_text(text, encoding="utf-8")
    console.print(f"wrote {len(files)} mapping file(s) to {folder}", markup=False)


@app.command("studies")
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
