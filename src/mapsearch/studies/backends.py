"""Opening study storages safely: damaged or foreign files refused, database errors turned
into one-line errors, creation races serialised, connections that time out.

* A file that is not a study database (another kind of file, a directory, a damaged or
  truncated database) is refused with a one-line :class:`StudyError` naming it, and left
  untouched (:func:`check_sqlite_file`); so is any database error met while reading or
  writing a study (:func:`guarded`).
* Processes creating the same new SQLite file take turns (a ``flock`` of its folder), and
  so do processes creating Optuna's tables in a PostgreSQL database (an advisory lock).
* PostgreSQL connections time out after :data:`PG_CONNECT_TIMEOUT_S` unless the URL sets
  ``connect_timeout``.
* A new SQLite study file is a copy of an empty one Optuna made (:func:`sqlite_database`):
  Optuna's own set-up of a new file (its schema migrations) takes longer than a short
  search.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mapsearch.errors import MapsearchError, StudyError
from mapsearch.studies import _rdb
from mapsearch.studies.locations import (
    display_url,
    in_memory,
    journal_path,
    scrub,
    sqlite_path,
    where,
)

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

#: Seconds a PostgreSQL connection may take (a server that accepts and never answers would
#: otherwise hold a command for minutes).
PG_CONNECT_TIMEOUT_S = 10
_SQLITE_MAGIC = b"SQLite format 3\x00"


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
    # NOTE: closing any descriptor of the file drops every POSIX lock this process holds on
    # it, SQLite's too (sqlite.org/howtocorrupt.html, 2.2): so the header is read through
    # one descriptor, opened before the connection and closed after it.
    with path.open("rb") as f:
        if os.pread(f.fileno(), len(_SQLITE_MAGIC), 0) != _SQLITE_MAGIC:
            raise StudyError(
                f"{path} is not an SQLite database (corrupt, or another kind of file); it was "
                "left untouched. Move it away or pass another --storage/--study."
            )
        try:
            con = sqlite3.connect(
                _rdb.sqlite_uri(path, "ro"), uri=True, timeout=_rdb.SQLITE_BUSY_TIMEOUT_S
            )
            try:
                # A read transaction holds SQLite's shared lock, so no other process commits
                # while the header and the file size are compared: mid-commit, a writer's new
                # header can count pages it has not appended yet.
                con.execute("begin")
                objects = con.execute(
                    "select type, name, tbl_name from sqlite_master "
                    "where type in ('table', 'index')"
                ).fetchall()
                _refuse_damaged(path, f.fileno())
                tables = {name for kind, name, _ in objects if kind == "table"}
                if "studies" in tables:
                    _visit_every_page(con, objects)
            finally:
                con.close()
        except sqlite3.DatabaseError as e:
            _refuse_damaged(path, f.fileno())
            raise StudyError(
                f"{path} cannot be read as an SQLite database ({e}); it was left untouched"
            ) from e
    if tables and "studies" not in tables:
        raise StudyError(
            f"{path} is an SQLite database but holds no Optuna studies (tables: "
            f"{', '.join(sorted(tables))}); it was left untouched. Pass another --storage."
        )


def _refuse_damaged(path: Path, fd: int) -> None:
    """Refuse ``path`` (open as ``fd``) if its header disagrees with its size (see
    :func:`_header_problem`)."""
    damaged = _header_problem(
        os.pread(fd, 100, 0), os.fstat(fd).st_size, Path(f"{path}-wal").exists()
    )
    if damaged:
        raise StudyError(f"{path} is a damaged SQLite database ({damaged}); it was left untouched")


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


#: What decoding damaged content raises (a garbled JSON attribute, a missing key).
_DECODING_ERRORS: tuple[type[BaseException], ...] = (ValueError, KeyError, TypeError, IndexError)


def _db_errors() -> tuple[type[BaseException], ...]:
    """What a database raises: SQLite's errors, and SQLAlchemy's and Optuna's storage error
    where they are in use (a run on an SQLite file imports neither: an error never loaded
    cannot be raised)."""
    errors: list[type[BaseException]] = [sqlite3.Error]
    sqlalchemy_errors = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_errors is not None:
        errors.append(sqlalchemy_errors.SQLAlchemyError)
    optuna_errors = sys.modules.get("optuna.exceptions")
    if optuna_errors is not None:
        errors.append(optuna_errors.StorageInternalError)
    return tuple(errors)


@contextmanager
def guarded(url: str, *, decoding: bool = False) -> Iterator[None]:
    """Turn a database error met while using ``url`` (and, with ``decoding``, an error while
    decoding what it holds) into a one-line StudyError naming the file or server.

    The errors are listed when one is met, so that an Optuna the body imported is covered."""
    decoding_errors = _DECODING_ERRORS if decoding else ()
    try:
        yield
    except MapsearchError:
        raise
    except (*_db_errors(), *decoding_errors) as e:
        raise StudyError(
            f"{where(url)} cannot be used as a study database ({_first_line(e, url)}); "
            "it was left untouched"
        ) from e


def _first_line(error: BaseException, url: str) -> str:
    """The driver's own message of ``error`` (SQLAlchemy wraps it), first line, no password."""
    orig = getattr(error, "orig", None) or error
    lines = str(orig).strip().splitlines()
    return scrub(lines[0] if lines else type(orig).__name__, url)


def engine_kwargs(url: str) -> dict[str, Any]:
    """SQLAlchemy's engine options for ``url``: timeouts, and for an SQLite database in
    memory one connection shared by every thread (each connection has a database of its own,
    and a run writes its trials from a thread)."""
    if in_memory(url):
        from sqlalchemy.pool import StaticPool

        return {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    if sqlite_path(url) is not None:
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

    engine = create_engine(url, poolclass=NullPool, **engine_kwargs(url))
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
    """The Optuna storage behind ``url`` (forms: :mod:`mapsearch.studies.locations`).

    With ``create``, a new SQLite file (or new tables in a database) may be made; processes
    doing it at once take turns.
    """
    import optuna
    from optuna.storages import JournalStorage, RDBStorage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    journal = journal_path(url)
    if journal is not None:
        if journal.is_dir():
            raise StudyError(f"{journal} is a directory, not a journal file; name a file")
        if not create and not journal.exists():
            raise StudyError(f"no journal file {journal}")
        journal.parent.mkdir(parents=True, exist_ok=True)
        from optuna.storages.journal import JournalFileBackend

        with guarded(url):
            return JournalStorage(JournalFileBackend(str(journal)))
    path = sqlite_path(url)
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
            return RDBStorage(url, engine_kwargs=engine_kwargs(url))
    except Exception as e:  # SQLAlchemy raises many types for bad URLs and unreachable servers
        hint = ""
        if url.startswith("postgresql") and "import" in str(e).lower():
            hint = '; install the driver with `pip install -e ".[postgres]"`'
        raise StudyError(
            f"cannot open storage {display_url(url)}: {_first_line(e, url)}{hint}"
        ) from e


def cache_dir() -> Path:
    """Where mapsearch keeps what it can remake: ``$XDG_CACHE_HOME/mapsearch``, by default
    ``~/.cache/mapsearch``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mapsearch"


def _schema_revision(path: Path) -> str | None:
    """The schema revision Optuna stamped on the SQLite file ``path`` (None if none)."""
    try:
        con = sqlite3.connect(
            _rdb.sqlite_uri(path, "ro"), uri=True, timeout=_rdb.SQLITE_BUSY_TIMEOUT_S
        )
        try:
            row = con.execute("select version_num from alembic_version").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])


def _copy_atomically(source: Path, target: Path) -> None:
    """``target`` becomes a copy of ``source``; no reader ever sees it half written."""
    part = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        shutil.copyfile(source, part)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)


@functools.cache
def _template() -> tuple[Path, str] | None:
    """(path, schema revision) of an empty study database made by Optuna itself (this
    version of it), kept in :func:`cache_dir`; None when it cannot be made there.

    Optuna is imported only to make the template: its version is read from the installed
    package's metadata."""
    path = cache_dir() / f"optuna-{importlib.metadata.version('optuna')}-empty.sqlite3"
    try:
        if _schema_revision(path) is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _directory_lock(path.parent):
                if _schema_revision(path) is None:
                    made = path.with_name(f".{path.name}.{os.getpid()}.new")
                    made.unlink(missing_ok=True)
                    _make_template(made)
                    os.replace(made, path)
    except Exception as e:  # a folder that cannot be written, a database error
        if isinstance(e, (OSError, *_db_errors())):
            return None
        raise
    revision = _schema_revision(path)
    return None if revision is None else (path, revision)


def _make_template(path: Path) -> None:
    """An empty study database at ``path``, made by Optuna's ``RDBStorage``."""
    from optuna.storages import RDBStorage

    RDBStorage(f"sqlite:///{path}").engine.dispose()


def sqlite_database(url: str, *, create: bool = True) -> _rdb.Database | None:
    """The SQLite study file of ``url``, opened with ``sqlite3``, when its tables are those
    of this version of Optuna (the schema revision Optuna stamps, as on :func:`_template`);
    None when Optuna has to open it itself (:func:`open_storage`): not an SQLite URL,
    another schema revision, no template.

    With ``create``, a missing (or empty) file is made as a copy of the template, the file
    Optuna would have made, without Optuna's schema migrations (about a second); processes
    doing it at once take turns. Files that are not study databases are refused as by
    :func:`open_storage`.
    """
    path = sqlite_path(url)
    if path is None:
        return None
    template = _template()
    if template is None:
        return None
    if not create and not path.exists():
        raise StudyError(f"no study database {path}; `mapsearch studies` lists the studies")
    check_sqlite_file(path)
    if create and (not path.exists() or path.stat().st_size == 0):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StudyError(f"cannot create the folder of {path}: {e.strerror}") from e
        with _directory_lock(path.parent):
            if not path.exists() or path.stat().st_size == 0:
                try:
                    _copy_atomically(template[0], path)
                except OSError as e:
                    raise StudyError(f"cannot create {path}: {e.strerror}") from e
    if _schema_revision(path) != template[1]:
        return None
    return _rdb.Database.sqlite(path)
