"""A study exported (``mapsearch export``): its best mapping(s) as MAESTRO ``.m`` texts,
its best points and problem as JSON, or every evaluation as CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from mapsearch.errors import UnknownNameError
from mapsearch.exports import point_files, points_file
from mapsearch.studies.results import best_points, export_json
from mapsearch.studies.storage import StudyRecord

EXPORT_FORMATS = ("maestro", "json", "csv")


def export_text(record: StudyRecord, fmt: str) -> list[str]:
    """The study in ``fmt``: ``maestro`` (one ``.m`` text, a layer per best point), ``json``
    (best points and the problem), ``csv`` (every evaluation: objectives, genes, mapping)."""
    if fmt not in EXPORT_FORMATS:
        raise UnknownNameError("export format", fmt, EXPORT_FORMATS)
    problem = record.problem
    if fmt == "csv":
        return [evaluations_csv(record)]
    points = best_points(record)
    if fmt == "json":
        return [json.dumps(export_json(record, points), indent=2)]
    return [points_file(problem, points, record.name)]


def evaluations_csv(record: StudyRecord) -> str:
    """Every evaluation of the study: trial, feasibility, objectives, violation, reason,
    genes and the mapping, one row each."""
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
    if decoded.batch is not None:
        for k, row in enumerate(decoded.rows.tolist()):
            mappings[row] = str(decoded.batch.mapping(k))
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


def export_paths(output: Path, n: int) -> list[Path]:
    """The files ``n`` exported texts go to: ``output`` for one, else ``<stem>_p<i><suffix>``."""
    if n == 1:
        return [output]
    return [output.with_name(f"{output.stem}_p{i}{output.suffix}") for i in range(n)]


def point_files_of(record: StudyRecord) -> list[tuple[str, str]]:
    """(file name, text) of one MAESTRO mapping file per best point of the study."""
    return point_files(record.problem, best_points(record), record.name)
