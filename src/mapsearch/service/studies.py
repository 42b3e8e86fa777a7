"""What the studies hold (``mapsearch show``, ``export``, ``studies``): find a study by name,
file or storage URL, load it, list the studies of a folder or storage, export one."""

from __future__ import annotations

from pathlib import Path

from mapsearch.errors import StudyError, UnknownNameError
from mapsearch.studies.locations import (
    DEFAULT_DIR,
    default_storage_url,
    directory_urls,
    display_url,
    file_url,
    storage_file,
)
from mapsearch.studies.storage import StoredStudy, StudyRecord, list_studies


def locate_study(study: str, storage: str | None = None) -> tuple[str, str]:
    """(storage URL, study name) for ``study``: a name in ``storage``, a study file (one
    holding a single study needs no name), or a name under ``studies/``."""
    if storage is not None:
        return storage, study
    path = Path(study)
    if path.is_file():
        url = file_url(path)
        names = [s.name for s in list_studies(url)]
        if len(names) != 1:
            raise StudyError(
                f"{path} holds {len(names)} studies ({', '.join(names)}); "
                f"pass --storage {url} and a study name"
            )
        return url, names[0]
    default = default_storage_url(study)
    stored = storage_file(default)
    if stored is None or not stored.exists():
        known = sorted(p.stem for p in DEFAULT_DIR.glob("*.sqlite3"))
        raise UnknownNameError(f"study (in {DEFAULT_DIR}/)", study, known)
    return default, study


def load_study(study: str, storage: str | None = None) -> StudyRecord:
    """The study ``study`` (see :func:`locate_study`) with its problem rebuilt."""
    return StudyRecord.load(*locate_study(study, storage))


def export_study(
    study: str | StudyRecord, fmt: str = "json", *, storage: str | None = None
) -> list[str]:
    """The texts of ``study`` (a record, or what :func:`load_study` takes) in ``fmt``:
    ``maestro`` (one ``.m`` text per best point), ``json`` or ``csv``
    (:func:`mapsearch.report.export.export_text`)."""
    from mapsearch.report.export import export_text

    if isinstance(study, StudyRecord):
        return export_text(study, fmt)
    with load_study(study, storage) as record:
        return export_text(record, fmt)


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
    """Every study in ``storage`` (or in every study file of ``directory``) with its best
    value. A storage that cannot be read (damaged, foreign) is one row named ``?`` saying
    why; the others are listed all the same."""
    out = []
    for url in [storage] if storage is not None else directory_urls(directory):
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
