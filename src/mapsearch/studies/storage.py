"""Studies: where every evaluation is kept (Optuna storage), and how a study is (re)opened.

A study holds one problem. Its fingerprint (``Problem.fingerprint``) and description are
stored as study user attributes and checked when a study is reopened: a different problem
is refused with both descriptions. Each evaluation is one Optuna trial whose parameters are
the genotype (``mapsearch.searchers.optuna_searchers.distributions``): feasible candidates
are ``COMPLETE`` with their objective values; infeasible ones are ``FAIL`` with the user
attributes ``infeasible`` (the reason), ``violation`` and ``values`` (if scored).

Storage URLs: any SQLAlchemy URL (``sqlite:///path``, ``postgresql://...``) or
``journal:PATH`` / a path ending in ``.log`` for Optuna's journal file storage (shared file
systems). The default is ``sqlite:///studies/<study name>.sqlite3`` under the CWD.

Relational storages are read and written in bulk, in Optuna's own schema, with trial
numbers allocated under the study's write lock (see :mod:`mapsearch.studies._rdb`); the
journal storage goes through Optuna's API.

Safety rules:

* Study names are names (:func:`check_study_name`): letters, digits and ``-_.+``, at most
  200 characters, so that a name never reaches outside ``studies/`` as a file name.
* A file that is not a study database (another kind of file, a directory, a damaged or
  truncated database) is refused with a one-line :class:`StudyError` naming it, and left
  untouched; so is any database error met while reading or writing a study.
* Passwords in URLs are never shown: messages and outputs use :func:`display_url`.
* PostgreSQL connections time out after :data:`PG_CONNECT_TIMEOUT_S` unless the URL sets
  ``connect_timeout``.
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.study import StudyDirection
from optuna.trial import TrialState, create_trial
from sqlalchemy.engine import Engine

from mapsearch.errors import MapsearchError, StudyError, UnknownNameError
from mapsearch.searchers.optuna_searchers import distributions, genotype_of, params_of
from mapsearch.searchers.problem import Evaluation, Problem
from mapsearch.studies import _rdb
from mapsearch.studies.ranking import best_rows

FINGERPRINT_ATTR = "mapsearch.problem"
DESCRIPTION_ATTR = "mapsearch.description"
DEFAULT_DIR = Path("studies")
#: Longest study name: the name is a file name (``<name>.sqlite3``, ``<name>.pareto.png``)
#: and most file systems stop at 255 bytes.
MAX_STUDY_NAME = 200
#: Seconds a PostgreSQL connection may take (a server that accepts and never answers would
#: otherwise hold a command for minutes).
PG_CONNECT_TIMEOUT_S = 10
_NAME = re.compile(r"[A-Za-z0-9_.+-]+")
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _direction(text: str) -> StudyDirection:
    return StudyDirection.MINIMIZE if text == "minimize" else StudyDirection.MAXIMIZE


# --- names, URLs and places ----------------------------------------------------------------
def check_study_name(name: str) -> str:
    """``name`` if it is a study name: letters, digits and ``-_.+``, at most 200 characters,
    not only dots. Anything else (``/``, ``?``, spaces, ...) is refused with a StudyError."""
    shown = name if len(name) <= 60 else name[:60] + "..."
    if len(name) > MAX_STUDY_NAME:
        raise StudyError(
            f"study name {shown!r} has {len(name)} characters; use at most {MAX_STUDY_NAME}"
        )
    if not _NAME.fullmatch(name) or set(name) == {"."}:
        raise StudyError(
            f"study name {shown!r} is not a name: use letters, digits and - _ . + only "
            "(a study is a file under studies/; --storage puts it elsewhere)"
        )
    return name


def default_storage_url(name: str, directory: Path = DEFAULT_DIR) -> str:
    """``sqlite:///<directory>/<name>.sqlite3`` (the directory is created when used)."""
    return f"sqlite:///{directory / (check_study_name(name) + '.sqlite3')}"


def _sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :].split("?", 1)[0]
        return None if path in ("", ":memory:") else Path(path)
    return None


def _journal_path(url: str) -> Path | None:
    if url.startswith("journal:"):
        return Path(url[len("journal:") :])
    if url.endswith(".log") and "://" not in url:
        return Path(url)
    return None


def storage_file(url: str) -> Path | None:
    """The file of a file storage (SQLite or journal); None for a database server."""
    return _sqlite_path(url) or _journal_path(url)


def storage_dir(url: str) -> Path:
    """The folder of a file storage (SQLite or journal), else ``studies/``: where files that
    belong to its studies (plots, tuning tables) go."""
    path = storage_file(url)
    return DEFAULT_DIR if path is None else path.parent


def display_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for every message and output)."""
    if "@" not in url or "://" not in url:
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(//[^/@:]*:)[^@]*@", r"\1***@", url)


def _scrub(text: str, url: str) -> str:
    """``text`` without the password of ``url`` (driver messages may echo it)."""
    if "@" not in url or "://" not in url:
        return text
    from urllib.parse import unquote

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        password = None
    text = text.replace(url, display_url(url))
    for secret in {str(password or ""), unquote(str(password or ""))} - {""}:
        text = text.replace(secret, "***")
    return text


def _where(url: str) -> str:
    path = storage_file(url)
    return str(path) if path is not None else display_url(url)


# --- damaged and foreign files -------------------------------------------------------------
def check_sqlite_file(path: Path) -> None:
    """Refuse, without touching it, a path that is not an SQLite database of Optuna studies:
    a directory, another kind of file, a truncated or damaged database, a foreign one."""
    if path.is_dir():
        raise StudyError(
            f"{path} is a directory, not a study database; name a file, e.g. "
            f"sqlite:///{path / 'studies.sqlite3'}"
        )
    if not path.exists() or path.stat().st_size == 0:
        return
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(100)
    if head[: len(_SQLITE_MAGIC)] != _SQLITE_MAGIC:
        raise StudyError(
            f"{path} is not an SQLite database (corrupt, or another kind of file); it was left "
            "untouched. Move it away or pass another --storage/--study."
        )
    damaged = _header_problem(head, size, Path(f"{path}-wal").exists())
    if damaged:
        raise StudyError(f"{path} is a damaged SQLite database ({damaged}); it was left untouched")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            objects = con.execute(
                "select type, name, tbl_name from sqlite_master where type in ('table', 'index')"
            ).fetchall()
            tables = {name for kind, name, _ in objects if kind == "table"}
            if "studies" in tables:
                _visit_every_page(con, objects)
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        raise StudyError(
            f"{path} cannot be read as an SQLite database ({e}); it was left untouched"
        ) from e
    if tables and "studies" not in tables:
        raise StudyError(
            f"{path} is an SQLite database but holds no Optuna studies (tables: "
            f"{', '.join(sorted(tables))}); it was left untouched. Pass another --storage."
        )


def _header_problem(head: bytes, size: int, has_wal: bool) -> str:
    """What the 100-byte SQLite header says is wrong with a file of ``size`` bytes ("" if
    nothing): a page size that is not a power of two, a size that is not a whole number of
    pages, fewer pages than the header counts (sqlite.org/fileformat.html, section 1.3)."""
    if len(head) < 100:
        return f"{size} bytes, shorter than its 100-byte header"
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    if page < 512 or page & (page - 1):
        return f"page size {page} is not a power of two from 512 to 65536"
    if size % page:
        return f"{size} bytes is not a whole number of {page}-byte pages: truncated?"
    counted = int.from_bytes(head[28:32], "big")
    valid = head[24:28] == head[92:96]
    if valid and not has_wal and counted > size // page:
        return f"the header counts {counted} pages, the file holds {size // page}: truncated?"
    return ""


def _visit_every_page(con: sqlite3.Connection, objects: list[tuple[str, str, str]]) -> None:
    """Count the rows of every table and index, each through its own b-tree: SQLite then
    loads every page of the file's b-trees and raises on a damaged one (a zeroed or garbled
    page anywhere). About 5 ms per 4 MB, against 20 ms for ``PRAGMA quick_check``, which
    also checks each cell."""

    def quoted(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    for kind, name, table in objects:
        if kind == "table":
            con.execute(f"select count(*) from {quoted(name)} not indexed").fetchone()
        else:
            con.execute(
                f"select count(*) from {quoted(table)} indexed by {quoted(name)}"
            ).fetchone()


_DB_ERRORS: tuple[type[BaseException], ...] = (
    sqlite3.Error,
    optuna.exceptions.StorageInternalError,
)
#: What decoding damaged content raises (a garbled JSON attribute, a missing key).
_DECODING_ERRORS: tuple[type[BaseException], ...] = (ValueError, KeyError, TypeError, IndexError)


@contextmanager
def guarded(url: str, *, decoding: bool = False) -> Iterator[None]:
    """Turn a database error met while using ``url`` (and, with ``decoding``, an error while
    decoding what it holds) into a one-line StudyError naming the file or server."""
    from sqlalchemy.exc import SQLAlchemyError

    caught: tuple[type[BaseException], ...] = (
        *_DB_ERRORS,
        SQLAlchemyError,
        *(_DECODING_ERRORS if decoding else ()),
    )
    try:
        yield
    except MapsearchError:
        raise
    except caught as e:
        raise StudyError(
            f"{_where(url)} cannot be used as a study database ({_first_line(e, url)}); "
            "it was left untouched"
        ) from e


def _first_line(error: BaseException, url: str) -> str:
    """The driver's own message of ``error`` (SQLAlchemy wraps it), first line, no password."""
    orig = getattr(error, "orig", None) or error
    lines = str(orig).strip().splitlines()
    return _scrub(lines[0] if lines else type(orig).__name__, url)


# --- opening storages ----------------------------------------------------------------------
def _engine_kwargs(url: str) -> dict[str, Any]:
    if _sqlite_path(url) is not None:
        return {"connect_args": {"timeout": _rdb.SQLITE_BUSY_TIMEOUT_S}}
    if url.startswith("postgresql") and "connect_timeout" not in url:
        return {"connect_args": {"connect_timeout": PG_CONNECT_TIMEOUT_S}}
    return {}


@contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    """An exclusive ``flock`` of ``directory``: processes creating the same new SQLite file
    take turns (Optuna's table creation is not safe under a race)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        with suppress(OSError):  # a file system without flock: no lock
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextmanager
def _advisory_lock(url: str) -> Iterator[None]:
    """A PostgreSQL advisory lock, so that processes creating the tables take turns."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool, **_engine_kwargs(url))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(5177247)"))
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(5177247)"))
    finally:
        engine.dispose()


def open_storage(url: str, *, create: bool = True) -> BaseStorage:
    """The Optuna storage behind ``url`` (see the module docstring for the forms).

    With ``create``, a new SQLite file (or new tables in a database) may be made; processes
    doing it at once take turns.
    """
    journal = _journal_path(url)
    if journal is not None:
        if journal.is_dir():
            raise StudyError(f"{journal} is a directory, not a journal file; name a file")
        if not create and not journal.exists():
            raise StudyError(f"no journal file {journal}")
        journal.parent.mkdir(parents=True, exist_ok=True)
        from optuna.storages.journal import JournalFileBackend

        with guarded(url):
            return JournalStorage(JournalFileBackend(str(journal)))
    path = _sqlite_path(url)
    lock: AbstractContextManager[None] = nullcontext()
    if path is not None:
        if not create and not path.exists():
            raise StudyError(f"no study database {path}; `mapsearch studies` lists the studies")
        check_sqlite_file(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StudyError(f"cannot create the folder of {path}: {e.strerror}") from e
        if create:
            lock = _directory_lock(path.parent)
    try:
        if create and url.startswith("postgresql"):
            lock = _advisory_lock(url)
        with lock:
            return RDBStorage(url, engine_kwargs=_engine_kwargs(url))
    except Exception as e:  # SQLAlchemy raises many types for bad URLs and unreachable servers
        hint = ""
        if url.startswith("postgresql") and "import" in str(e).lower():
            hint = '; install the driver with `pip install -e ".[postgres]"`'
        raise StudyError(
            f"cannot open storage {display_url(url)}: {_first_line(e, url)}{hint}"
        ) from e


# --- listing -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class StoredStudy:
    """Summary of a study in a storage (for listings): ``url`` has its password masked;
    ``n_best`` is the number of best points (1, or the Pareto front's size; 0 when nothing
    is feasible) and ``best_value`` the best first-objective value."""

    name: str
    url: str
    n_trials: int
    description: str
    fingerprint: dict[str, Any] | None
    n_best: int = 0
    best_value: float | None = None


def _reading_engine(url: str) -> Engine | None:
    """A plain SQLAlchemy engine for reading a relational storage (None for a journal):
    faster than Optuna's storage object, which checks and creates tables."""
    if _journal_path(url) is not None:
        return None
    path = _sqlite_path(url)
    if path is not None:
        if not path.exists():
            raise StudyError(f"no study database {path}; `mapsearch studies` lists the studies")
        check_sqlite_file(path)
    from sqlalchemy import create_engine

    try:
        return create_engine(url, **_engine_kwargs(url))
    except Exception as e:  # unknown dialects, missing drivers, malformed URLs
        raise StudyError(f"cannot open storage {display_url(url)}: {_scrub(str(e), url)}") from e


def list_studies(url: str) -> list[StoredStudy]:
    """Every study in ``url`` with its size and best value; on relational storages a few
    SQL queries per study (counts and best values are aggregates, no trial is loaded)."""
    engine = _reading_engine(url)
    if engine is None:
        return _list_journal(url)
    out = []
    try:
        with guarded(url, decoding=True):
            for study_id, name, n, attrs in _rdb.list_studies(engine):
                fp_text = attrs.get(FINGERPRINT_ATTR)
                fp = json.loads(fp_text) if isinstance(fp_text, str) else None
                n_best, best = 0, None
                if fp is not None:
                    signs = np.asarray(
                        [1.0 if d == "minimize" else -1.0 for _, d in fp["objectives"]]
                    )
                    _, _, values = _best_rdb(engine, study_id, signs, limit=None)
                    n_best = len(values)
                    best = float(values[0, 0]) if n_best else None
                out.append(
                    StoredStudy(
                        name=name,
                        url=display_url(url),
                        n_trials=n,
                        description=str(attrs.get(DESCRIPTION_ATTR, "(not a mapsearch study)")),
                        fingerprint=fp,
                        n_best=n_best,
                        best_value=best,
                    )
                )
    finally:
        engine.dispose()
    return out


def _list_journal(url: str) -> list[StoredStudy]:
    storage = open_storage(url, create=False)
    out = []
    with guarded(url, decoding=True):
        for s in storage.get_all_studies():
            fp = s.user_attrs.get(FINGERPRINT_ATTR)
            n_best, best = 0, None
            if isinstance(fp, str):
                _, ev = StudyRecord.load(url, s.study_name).best(limit=None)
                n_best = len(ev)
                best = float(ev.values[0, 0]) if n_best else None
            out.append(
                StoredStudy(
                    name=s.study_name,
                    url=url,
                    n_trials=storage.get_n_trials(s._study_id),
                    description=str(s.user_attrs.get(DESCRIPTION_ATTR, "(not a mapsearch study)")),
                    fingerprint=json.loads(fp) if isinstance(fp, str) else None,
                    n_best=n_best,
                    best_value=best,
                )
            )
    return out


def _best_rdb(
    engine: Engine, study_id: int, signs: np.ndarray, limit: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(trial ids, numbers, values) of the best trials (``ranking.best_rows`` order): one
    objective, an ORDER BY with a limit; several, the values only, then the front."""
    if len(signs) == 1:
        return _rdb.best_of_one(engine, study_id, maximize=signs[0] < 0, limit=1)
    ids, numbers, values = _rdb.objective_values(engine, study_id, len(signs))
    rows = best_rows(values, np.ones(len(values), dtype=bool), signs)[:limit]
    return ids[rows], numbers[rows], values[rows]


# --- one study -----------------------------------------------------------------------------
class StudyRecord:
    """An open study: reads its history and writes evaluations to it.

    Thread safety: one ``StudyRecord`` per process (workers open their own from the URL).
    """

    def __init__(
        self,
        storage: BaseStorage,
        url: str,
        name: str,
        study_id: int,
        problem: Problem,
        *,
        writer: Engine | None = None,
    ) -> None:
        self.storage = storage
        self.url = url
        self.name = name
        self.study_id = study_id
        self.problem = problem
        self._genes = problem.genes
        self._dists = distributions(self._genes)
        self._engine: Engine | None = None
        self._writer: Engine | None = None
        if isinstance(storage, RDBStorage):
            self._engine = storage.engine
            self._writer = writer or _rdb.writer(storage.engine)

    @property
    def display_url(self) -> str:
        """The storage URL with its password masked."""
        return display_url(self.url)

    # --- opening --------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, name: str, problem: Problem, *, create: bool = True) -> StudyRecord:
        """Open study ``name`` for ``problem``, creating it if allowed; refuse another problem.

        Processes opening the same new study at once all end up in that one study.
        """
        check_study_name(name)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = open_storage(url, create=create)
        fp = problem.fingerprint_json()
        attrs = {FINGERPRINT_ATTR: fp, DESCRIPTION_ATTR: problem.description()}
        directions = [_direction(d) for d in problem.directions]
        writer = None
        with guarded(url):
            if isinstance(storage, RDBStorage):
                writer = _rdb.writer(storage.engine)
                if create:
                    study_id = _rdb.ensure_study(writer, name, directions, attrs)
                else:
                    found = _rdb.find_study(storage.engine, name)
                    if found is None:
                        raise StudyError(f"no study {name!r} in {display_url(url)}")
                    study_id = found
                stored = _rdb.study_attrs(storage.engine, study_id).get(FINGERPRINT_ATTR)
            else:
                study_id = cls._open_api(storage, url, name, directions, attrs, create=create)
                stored = storage.get_study_user_attrs(study_id).get(FINGERPRINT_ATTR)
        where = display_url(url)
        if stored is None:
            raise StudyError(
                f"study {name!r} in {where} was not created by mapsearch; choose another --study"
            )
        if json.loads(stored) != json.loads(fp):
            stored_attrs = storage.get_study_user_attrs(study_id)
            raise StudyError(
                f"study {name!r} in {where} holds a different problem; refusing to mix them.\n"
                f"stored problem:\n{_indent(stored_attrs.get(DESCRIPTION_ATTR, stored))}\n"
                f"this problem:\n{_indent(problem.description())}\n"
                "Pass another --study name (or --storage) to start a new study."
            )
        return cls(storage, url, name, study_id, problem, writer=writer)

    @staticmethod
    def _open_api(
        storage: BaseStorage,
        url: str,
        name: str,
        directions: list[StudyDirection],
        attrs: dict[str, str],
        *,
        create: bool,
    ) -> int:
        """Open or create through Optuna's API (journal storage); a study left without
        attributes and trials by a killed process is taken over."""
        try:
            study_id = storage.get_study_id_from_name(name)
        except KeyError:
            if not create:
                raise StudyError(f"no study {name!r} in {display_url(url)}") from None
            optuna.create_study(
                storage=storage, study_name=name, directions=directions, load_if_exists=True
            )
            study_id = storage.get_study_id_from_name(name)
        if not storage.get_study_user_attrs(study_id) and storage.get_n_trials(study_id) == 0:
            for key, value in attrs.items():
                storage.set_study_user_attr(study_id, key, value)
        return int(study_id)

    @classmethod
    def load(cls, url: str, name: str) -> StudyRecord:
        """Open an existing study, rebuilding its problem from the stored fingerprint."""
        storage = open_storage(url, create=False)
        with guarded(url, decoding=True):
            if isinstance(storage, RDBStorage):
                found = _rdb.find_study(storage.engine, name)
                study_id = -1 if found is None else found
                attrs = {} if found is None else _rdb.study_attrs(storage.engine, found)
            else:
                try:
                    study_id = storage.get_study_id_from_name(name)
                    attrs = storage.get_study_user_attrs(study_id)
                except KeyError:
                    study_id, attrs = -1, {}
            if study_id < 0:
                known = [s.study_name for s in storage.get_all_studies()]
                raise UnknownNameError(f"study in {display_url(url)}", name, known)
            stored = attrs.get(FINGERPRINT_ATTR)
            if stored is None:
                raise StudyError(
                    f"study {name!r} in {display_url(url)} was not created by mapsearch"
                )
            problem = Problem.from_fingerprint(json.loads(stored))
        return cls(storage, url, name, study_id, problem)

    # --- reading --------------------------------------------------------------------------
    def n_trials(self) -> int:
        """Trials the study holds (an SQL count on relational storages)."""
        with guarded(self.url):
            if self._engine is not None:
                return _rdb.count_trials(self._engine, self.study_id)
            return int(self.storage.get_n_trials(self.study_id))

    def history(self) -> tuple[np.ndarray, Evaluation]:
        """Trial numbers and evaluations of every finished trial, in trial order."""
        with guarded(self.url, decoding=True):
            if self._engine is not None:
                return self._history_rdb(self._engine)
            return self._history_api()

    def best(self, limit: int | None = 50) -> tuple[np.ndarray, Evaluation]:
        """Trial numbers and evaluations of the best trials (``ranking.best_rows`` order), at
        most ``limit``: on relational storages, read without loading the history."""
        signs = np.asarray([o.sign for o in self.problem.objectives], dtype=np.float64)
        with guarded(self.url, decoding=True):
            if self._engine is None:
                numbers, ev = self._history_api()
                rows = best_rows(ev.values, ev.feasible, signs)[:limit]
                return numbers[rows], ev.take(rows)
            ids, numbers, values = _best_rdb(self._engine, self.study_id, signs, limit)
            params = _rdb.trial_params(self._engine, ids.tolist())
            genotypes = np.zeros((len(ids), len(self._genes)), dtype=np.int64)
            col = {g.name: k for k, g in enumerate(self._genes)}
            for k, tid in enumerate(ids.tolist()):
                for name, value in params.get(tid, {}).items():
                    if name in col:
                        genotypes[k, col[name]] = int(value)
        ev = Evaluation(
            genotypes=genotypes,
            values=values,
            violation=np.zeros(len(ids)),
            reasons=np.full(len(ids), "", dtype=object),
        )
        return numbers, ev

    def _history_api(self) -> tuple[np.ndarray, Evaluation]:
        trials = self.storage.get_all_trials(
            self.study_id, deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL)
        )
        n_obj = len(self.problem.objectives)
        numbers = np.asarray([t.number for t in trials], dtype=np.int64)
        if not trials:
            return numbers, Evaluation.concat([], len(self._genes), n_obj)
        genotypes = np.stack([genotype_of(self._genes, t.params) for t in trials])
        values = np.full((len(trials), n_obj), np.nan)
        violation = np.zeros(len(trials))
        reasons = np.full(len(trials), "", dtype=object)
        for k, t in enumerate(trials):
            if t.state is TrialState.COMPLETE:
                values[k] = t.values
                continue
            self._failed(k, t.user_attrs, values, violation, reasons)
        order = np.argsort(numbers, kind="stable")
        ev = Evaluation(genotypes=genotypes, values=values, violation=violation, reasons=reasons)
        return numbers[order], ev.take(order)

    @staticmethod
    def _failed(
        k: int,
        attrs: dict[str, Any],
        values: np.ndarray,
        violation: np.ndarray,
        reasons: np.ndarray,
    ) -> None:
        stored = attrs.get("values")
        if stored is not None:
            values[k] = [np.nan if v is None else v for v in stored]
        violation[k] = float(attrs.get("violation", math.inf))
        reasons[k] = str(attrs.get("infeasible", "failed"))

    def _history_rdb(self, engine: Engine) -> tuple[np.ndarray, Evaluation]:
        """Bulk read of Optuna's tables (``get_all_trials`` builds one object per trial)."""
        trials, params, vals, attrs = _rdb.read_trials(engine, self.study_id)
        n, n_obj = len(trials), len(self.problem.objectives)
        col = {g.name: k for k, g in enumerate(self._genes)}
        numbers = np.asarray([t[1] for t in trials], dtype=np.int64)
        genotypes = np.zeros((n, len(self._genes)), dtype=np.int64)
        values = np.full((n, n_obj), np.nan)
        violation = np.zeros(n)
        reasons = np.full(n, "", dtype=object)
        for k, (tid, _, complete) in enumerate(trials):
            # NOTE: the internal representation of both distributions is the choice index.
            for name, value in params.get(tid, {}).items():
                if name in col:
                    genotypes[k, col[name]] = int(value)
            for objective, value in vals.get(tid, {}).items():
                if objective < n_obj:
                    values[k, objective] = value
            if not complete:
                self._failed(k, attrs.get(tid, {}), values, violation, reasons)
        order = np.argsort(numbers, kind="stable")
        ev = Evaluation(genotypes=genotypes, values=values, violation=violation, reasons=reasons)
        return numbers[order], ev.take(order)

    # --- writing --------------------------------------------------------------------------
    def write(self, ev: Evaluation, *, limit: int | None = None) -> int:
        """Record the evaluations of ``ev`` as finished trials, in order; returns how many.

        With ``limit``, only as many as keep the study at ``limit`` trials or fewer are
        recorded: on relational storages this is checked under the study's write lock, so
        processes sharing a study never take it past ``limit``; on a journal storage it is
        checked just before writing (concurrent processes may pass it by a batch each).
        """
        if len(ev) == 0:
            return 0
        with guarded(self.url):
            if self._writer is not None:
                return self._write_rdb(self._writer, ev, limit)
            return self._write_api(ev, limit)

    def _attrs(self, ev: Evaluation, k: int) -> dict[str, Any]:
        if ev.violation[k] == 0:
            return {}
        values = [None if not np.isfinite(v) else float(v) for v in ev.values[k]]
        return {
            "infeasible": str(ev.reasons[k]),
            "violation": float(ev.violation[k]),
            "values": values if any(v is not None for v in values) else None,
        }

    def _write_api(self, ev: Evaluation, limit: int | None) -> int:
        n = len(ev) if limit is None else max(0, min(len(ev), limit - self.n_trials()))
        study = optuna.load_study(study_name=self.name, storage=self.storage)
        trials = []
        for k in range(n):
            params = params_of(self._genes, ev.genotypes[k])
            ok = ev.violation[k] == 0
            trials.append(
                create_trial(
                    params=params,
                    distributions={n: self._dists[n] for n in params},
                    values=[float(v) for v in ev.values[k]] if ok else None,
                    state=TrialState.COMPLETE if ok else TrialState.FAIL,
                    user_attrs=self._attrs(ev, k),
                )
            )
        study.add_trials(trials)
        return n

    def _write_rdb(self, writer: Engine, ev: Evaluation, limit: int | None) -> int:
        from optuna.distributions import distribution_to_json

        feasible = ev.violation == 0
        params = []
        for k in range(len(ev)):
            chosen = params_of(self._genes, ev.genotypes[k])
            params.append({n: self._dists[n].to_internal_repr(v) for n, v in chosen.items()})
        return _rdb.write_trials(
            writer,
            self.study_id,
            params=params,
            distributions={n: distribution_to_json(d) for n, d in self._dists.items()},
            values=[
                [float(v) for v in ev.values[k]] if feasible[k] else None for k in range(len(ev))
            ],
            attrs=[self._attrs(ev, k) for k in range(len(ev))],
            limit=limit,
        )


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in str(text).splitlines())
