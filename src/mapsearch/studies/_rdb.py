"""Optuna's relational tables, read and written in bulk with SQL through the database driver.

Writing trials through Optuna's API costs 5-12 ms per trial on SQLite (one transaction and
several queries per attribute), and reading them through it (``get_all_trials``, and
``get_n_trials``, which loads every trial) builds one object per trial. These functions
write Optuna's own rows instead, so that every Optuna reader (``optuna.load_study``,
optuna-dashboard) sees ordinary trials, at one transaction per batch and one query per
table; counts and best values are SQL aggregates.

One implementation of each query, two ways to a database (:class:`Database`): an SQLite
file is opened with the standard library's ``sqlite3`` (a run on SQLite never imports
SQLAlchemy, a fifth of a second of start-up, nor pays its per-row parameter processing);
any other URL goes through the driver of an SQLAlchemy engine (``exec_driver_sql``, no SQL
compilation), which Optuna needs there anyway to make the tables. The queries are written
with ``?`` placeholders, turned into the driver's ``%s`` where it wants that. The values
are those SQLAlchemy would have bound for Optuna's column types: enums as their names,
datetimes on SQLite as SQLAlchemy's text (``2026-01-02 03:04:05.000006``), floats as
doubles (Optuna's ``Float(precision=53)``), an infinite objective value as its
``value_type`` with no value.

Concurrency: every write transaction takes the study's write lock before it reads anything.
On SQLite, write transactions begin with ``BEGIN IMMEDIATE`` (the database's write lock;
other writers wait up to the busy timeout); on other databases the study's row is locked
(``SELECT ... FOR UPDATE``). Under that lock the next trial number is the study's last
number + 1 and the study's size is checked against its budget, so trial numbers stay
distinct and a budget is never exceeded, however many processes write. A study's trials
are numbered 0, 1, 2, ... in the order of their ids (Optuna numbers a trial by the count of
the study's earlier trials, this module by the last number + 1, each under the study's
lock), so its last trial by id (an index lookup) gives both the next number and the
study's size; ``max(number)`` and ``count(*)`` read every trial of the study (150 ms a
write at 300,000 trials). A study is created in one transaction (its row, directions and
user attributes together), so no reader ever sees it half made. A read transaction sees one
snapshot of the study.
"""

from __future__ import annotations

import datetime
import enum
import functools
import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from mapsearch.errors import StudyError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
T = TypeVar("T")
Row = tuple[Any, ...]

#: Values one SQLite statement of :meth:`Sql.many` binds (at most 32,766 from SQLite 3.32 on,
#: 999 before).
BOUND_VALUES = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999
#: Rows a large query fetches at a time (:meth:`Sql.chunks`).
CHUNK_ROWS = 65536
#: Seconds an SQLite writer waits for another process's write lock before giving up.
SQLITE_BUSY_TIMEOUT_S = 60
#: Attempts of a transaction that failed for a passing reason (lock timeout, deadlock, a
#: concurrent creator of the same row).
_ATTEMPTS = 20
#: The positional placeholder of each DB-API parameter style that has one.
_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}
#: How SQLAlchemy stores a datetime in SQLite (always with microseconds).
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


class StudyDirection(enum.Enum):
    """Optuna's ``StudyDirection``, which its tables store by name (tests check the names):
    declared here so that reading and writing a study does not import Optuna."""

    NOT_SET = 0
    MINIMIZE = 1
    MAXIMIZE = 2


class TrialState(enum.Enum):
    """Optuna's ``TrialState``, stored by name (see :class:`StudyDirection`)."""

    RUNNING = 0
    COMPLETE = 1
    PRUNED = 2
    FAIL = 3
    WAITING = 4


class TrialValueType(enum.Enum):
    """How Optuna stores an objective value: finite (in ``value``) or an infinity (no value)."""

    FINITE = 1
    INF_POS = 2
    INF_NEG = 3


class Sql:
    """The statements of one transaction, with positional parameters; the SQL is written
    with ``?`` placeholders and ``"key"`` quoted as in Optuna's tables (see
    :meth:`Database.of_engine` for other drivers)."""

    def __init__(
        self, execute: Callable[[str, Any], Any], *, sqlite: bool, row_locks: bool
    ) -> None:
        self._execute = execute
        #: Whether this is the ``sqlite3`` driver (SQLite's own SQL may be used).
        self.sqlite = sqlite
        #: Whether the database locks rows (``SELECT ... FOR UPDATE``; SQLite locks files).
        self.row_locks = row_locks

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._execute(sql, tuple(params))

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [tuple(row) for row in self._execute(sql, tuple(params)).fetchall()]

    def chunks(self, sql: str, params: Sequence[Any] = ()) -> Iterator[list[Row]]:
        """The rows of ``sql``, :data:`CHUNK_ROWS` at a time (a large table is never held
        whole)."""
        cursor = self._execute(sql, tuple(params))
        while rows := cursor.fetchmany(CHUNK_ROWS):
            yield rows

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = self._execute(sql, tuple(params)).fetchone()
        return None if row is None else tuple(row)

    def many(self, sql: str, rows: list[Row]) -> None:
        """``sql`` (``INSERT ... VALUES (?, ...)``) for every row: one ``executemany`` of
        the driver, except on SQLite, statements of up to :data:`BOUND_VALUES` values each,
        the rows one after another in their ``VALUES``.

        ``sqlite3`` runs each statement step without Python's global lock, and its
        ``executemany`` is a step per row: a writing thread then waits for the lock once
        per row, up to the interpreter's switch interval (5 ms) while the search holds it
        (3,000 trials took 25-45 s to write instead of 0.17 s beside a busy Python thread).
        Other drivers' ``executemany`` (through SQLAlchemy) already sends pages of rows."""
        if not rows:
            return
        if not self.sqlite:
            self._execute(sql, rows)
            return
        head, values, one = sql.rpartition("VALUES ")
        if not values:
            raise ValueError(f"not an INSERT ... VALUES statement: {sql}")
        per = max(1, BOUND_VALUES // len(rows[0]))
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            self._execute(
                head + values + ", ".join([one] * len(chunk)),
                tuple(v for row in chunk for v in row),
            )


class Database:
    """A relational study storage: an SQLite file (:meth:`sqlite`) or an SQLAlchemy engine
    (:meth:`of_engine`). Each transaction has a connection of its own, so that a
    ``Database`` may be used from several threads (a run writes from one)."""

    def __init__(
        self,
        transaction: Callable[[bool], AbstractContextManager[Sql]],
        retryable: tuple[type[BaseException], ...],
        close: Callable[[], None],
    ) -> None:
        self._transaction = transaction
        #: What a transaction that failed for a passing reason raises.
        self.retryable = retryable
        self._close = close

    @classmethod
    def sqlite(cls, path: Path) -> Database:
        """The SQLite file ``path`` (which must exist: it is opened, never created)."""
        uri = sqlite_uri(path, "rw")

        @contextmanager
        def transaction(write: bool) -> Iterator[Sql]:
            con = sqlite3.connect(
                uri,
                uri=True,
                timeout=SQLITE_BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
            try:
                # NOTE: autocommit mode (``isolation_level=None``): the transaction is opened
                # here, with the write lock first for a write.
                con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield Sql(_sqlite_execute(con), sqlite=True, row_locks=False)
                except BaseException:
                    con.rollback()
                    raise
                con.commit()
            finally:
                con.close()

        return cls(transaction, (sqlite3.OperationalError, sqlite3.IntegrityError), lambda: None)

    @classmethod
    def of_engine(cls, engine: Engine) -> Database:
        """The database of an SQLAlchemy ``engine``, through its driver: the statements'
        ``?`` become the driver's positional placeholder (``qmark``, ``format`` or
        ``pyformat`` drivers only) and ``"key"`` the dialect's quoting of it."""
        from sqlalchemy import exc

        style = engine.dialect.paramstyle
        mark = _PLACEHOLDER.get(style)
        if mark is None:
            raise StudyError(f"a driver with {style!r} placeholders cannot hold studies")
        key = engine.dialect.identifier_preparer.quote_identifier("key")
        row_locks = engine.dialect.name != "sqlite"

        @functools.lru_cache(maxsize=64)
        def text(sql: str) -> str:
            return sql.replace("?", mark).replace('"key"', key)

        @contextmanager
        def transaction(write: bool) -> Iterator[Sql]:
            with engine.begin() as conn:
                yield Sql(
                    lambda sql, params: conn.exec_driver_sql(text(sql), params or None),
                    sqlite=False,
                    row_locks=row_locks,
                )

        return cls(transaction, (exc.OperationalError, exc.IntegrityError), engine.dispose)

    def read(self) -> AbstractContextManager[Sql]:
        """A read transaction (one snapshot of the database)."""
        return self._transaction(False)

    def write(self) -> AbstractContextManager[Sql]:
        """A write transaction: on SQLite it holds the database's write lock from its start."""
        return self._transaction(True)

    def close(self) -> None:
        """Close the pooled connections of an engine (a file holds none between
        transactions)."""
        self._close()


def sqlite_uri(path: Path, mode: str) -> str:
    """The URI that opens the SQLite file ``path`` in ``mode`` (``ro``, ``rw``: never
    created), every character of the path quoted (a ``#`` or ``?`` would end it)."""
    return f"{path.resolve().as_uri()}?mode={mode}"


def _sqlite_execute(con: sqlite3.Connection) -> Callable[[str, Any], sqlite3.Cursor]:
    """``execute`` of ``con`` for one parameter tuple, ``executemany`` for a list of them."""

    def execute(sql: str, params: Any) -> sqlite3.Cursor:
        if isinstance(params, list):
            return con.executemany(sql, params)
        return con.execute(sql, params)

    return execute


def retrying(db: Database, attempt: Callable[[], T]) -> T:
    """``attempt()``, run again when it fails for a passing reason (a lock wait that timed
    out, a deadlock, another process inserting the same unique row first)."""
    for k in range(_ATTEMPTS):
        try:
            return attempt()
        except db.retryable:
            if k == _ATTEMPTS - 1:
                raise
            time.sleep(0.02 * (1 + k % 5))
    raise AssertionError("unreachable")


@contextmanager
def locked(db: Database, study_id: int) -> Iterator[Sql]:
    """A transaction that holds the write lock of study ``study_id`` (see module docs)."""
    with db.write() as sql:
        if sql.row_locks:
            sql.run("SELECT study_id FROM studies WHERE study_id = ? FOR UPDATE", (study_id,))
        yield sql


# --- studies -------------------------------------------------------------------------------
_FIND_STUDY = "SELECT study_id FROM studies WHERE study_name = ?"


def find_study(db: Database, name: str) -> int | None:
    with db.read() as sql:
        row = sql.one(_FIND_STUDY, (name,))
    return None if row is None else int(row[0])


def study_attrs(db: Database, study_id: int) -> dict[str, Any]:
    """The study's user attributes (JSON-decoded, as Optuna stores them)."""
    with db.read() as sql:
        rows = sql.all(
            'SELECT "key", value_json FROM study_user_attributes WHERE study_id = ?', (study_id,)
        )
    return {key: json.loads(text) for key, text in rows}


def ensure_study(
    db: Database,
    name: str,
    directions: Sequence[StudyDirection],
    attrs: dict[str, Any],
    system_attrs: dict[str, Any] | None = None,
) -> int:
    """The id of study ``name``, created with ``directions``, user attributes ``attrs`` and
    system attributes ``system_attrs`` (e.g. Optuna's metric names) in one transaction when
    absent.

    A study that exists with no user attribute and no trial (left half made by a process
    killed inside Optuna's ``create_study`` + ``set_user_attr``) is given ``attrs``.
    """

    def attempt() -> int:
        with db.write() as sql:
            found = sql.one(_FIND_STUDY, (name,))
            if found is None:
                sql.run("INSERT INTO studies (study_name) VALUES (?)", (name,))
                made = sql.one(_FIND_STUDY, (name,))
                assert made is not None
                study_id = int(made[0])
                sql.many(
                    "INSERT INTO study_directions (direction, study_id, objective) "
                    "VALUES (?, ?, ?)",
                    [(d.name, study_id, k) for k, d in enumerate(directions)],
                )
                _insert_attrs(sql, study_id, attrs, system_attrs or {})
                return study_id
            study_id = int(found[0])
            has_attr = sql.one(
                "SELECT count(*) FROM study_user_attributes WHERE study_id = ?", (study_id,)
            )
            has_trial = sql.one("SELECT count(*) FROM trials WHERE study_id = ?", (study_id,))
            if has_attr == (0,) and has_trial == (0,):
                _insert_attrs(sql, study_id, attrs, system_attrs or {})
            return study_id

    return retrying(db, attempt)


def set_study_attr(db: Database, study_id: int, key: str, value: Any) -> None:
    """Set (insert or replace) one user attribute of study ``study_id``, under its lock."""

    def attempt() -> None:
        with locked(db, study_id) as sql:
            sql.run(
                'DELETE FROM study_user_attributes WHERE study_id = ? AND "key" = ?',
                (study_id, key),
            )
            _insert_attrs(sql, study_id, {key: value}, {})

    retrying(db, attempt)


def _insert_attrs(
    sql: Sql, study_id: int, attrs: dict[str, Any], system_attrs: dict[str, Any]
) -> None:
    """Insert study user attributes ``attrs`` and system attributes ``system_attrs``."""
    for table, items in (
        ("study_user_attributes", attrs),
        ("study_system_attributes", system_attrs),
    ):
        sql.many(
            f'INSERT INTO {table} (study_id, "key", value_json) VALUES (?, ?, ?)',
            [(study_id, k, json.dumps(v)) for k, v in items.items()],
        )


def list_studies(db: Database) -> list[tuple[int, str, int, dict[str, Any]]]:
    """(study id, name, number of trials, user attributes) of every study, by name; three
    queries."""
    with db.read() as sql:
        studies = sql.all("SELECT study_id, study_name FROM studies")
        counts: dict[int, int] = dict(
            sql.all("SELECT study_id, count(*) FROM trials GROUP BY study_id")
        )
        attrs: dict[int, dict[str, Any]] = {}
        for sid, key, text in sql.all(
            'SELECT study_id, "key", value_json FROM study_user_attributes'
        ):
            attrs.setdefault(sid, {})[key] = json.loads(text)
    return sorted(
        (
            (int(sid), str(name), int(counts.get(sid, 0)), attrs.get(sid, {}))
            for sid, name in studies
        ),
        key=lambda row: row[1],
    )


# --- trials: writing -----------------------------------------------------------------------
#: The study's last trial, by id: (id, number), or no row.
_LAST_TRIAL = (
    "SELECT trial_id, number FROM trials WHERE study_id = ? ORDER BY trial_id DESC LIMIT 1"
)


def write_trials(
    db: Database,
    study_id: int,
    *,
    param_names: Sequence[str],
    params: FloatArray,
    distributions: dict[str, str],
    values: FloatArray,
    complete: BoolArray,
    attrs: Sequence[tuple[int, str, str]],
    limit: int | None = None,
) -> int:
    """Store finished trials, in order, column by column: trial ``k`` is COMPLETE with
    objective values ``values[k]`` where ``complete[k]``, else FAIL. ``params[k, j]`` is the
    internal representation of parameter ``param_names[j]`` (shape ``(n, len(param_names))``),
    ``distributions`` the JSON of each parameter's distribution, and ``attrs`` the user
    attributes as ``(k, key, JSON text)`` rows, ``k`` ascending.

    With ``limit``, only as many trials are stored as keep the study at ``limit`` trials or
    fewer (checked under the study's write lock). Returns the number stored.
    """
    names = list(param_names)
    dists = [distributions[name] for name in names]

    def attempt() -> int:
        with locked(db, study_id) as sql:
            last = sql.one(_LAST_TRIAL, (study_id,))
            # NOTE: numbers 0 .. start - 1 are taken: ``start`` is also the study's size.
            after, start = (-1, 0) if last is None else (int(last[0]), int(last[1]) + 1)
            n = len(complete) if limit is None else max(0, min(len(complete), limit - start))
            if n == 0:
                return 0
            now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
            stamp = now.strftime(_SQLITE_DATETIME) if sql.sqlite else now
            states = np.where(complete[:n], TrialState.COMPLETE.name, TrialState.FAIL.name)
            sql.many(
                "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) "
                "VALUES (?, ?, ?, ?, ?)",
                [(start + k, study_id, s, stamp, stamp) for k, s in enumerate(states.tolist())],
            )
            tids = _new_trial_ids(sql, study_id, after, n)
            _insert_params(sql, tids, names, dists, np.asarray(params[:n], dtype=np.float64))
            sql.many(
                "INSERT INTO trial_values (trial_id, objective, value, value_type) "
                "VALUES (?, ?, ?, ?)",
                _value_rows(tids, values[:n], complete[:n]),
            )
            _insert_trial_attrs(sql, tids, [row for row in attrs if row[0] < n])
            return n

    return retrying(db, attempt)


def _new_trial_ids(sql: Sql, study_id: int, after: int, n: int) -> IntArray:
    """The ids of the ``n`` trials just inserted into study ``study_id`` (whose last trial
    before them had id ``after``, -1 if none), in number order: a range of the study's
    index. One row when they are consecutive (as its locked transaction makes them on
    SQLite, in insertion order): ``sqlite3`` releases Python's global lock for each row it
    fetches and takes it back, which a busy search thread makes cost up to 5 ms a row."""
    first, last, count = sql.one(  # type: ignore[misc]
        "SELECT min(trial_id), max(trial_id), count(*) FROM trials "
        "WHERE study_id = ? AND trial_id > ?",
        (study_id, after),
    )
    if count == n and last - first + 1 == n:
        return np.arange(first, last + 1, dtype=np.int64)
    rows = sql.all(
        "SELECT trial_id FROM trials WHERE study_id = ? AND trial_id > ? ORDER BY number",
        (study_id, after),
    )
    return np.asarray([row[0] for row in rows], dtype=np.int64)


def _consecutive(tids: IntArray) -> bool:
    """Whether ``tids`` are consecutive ascending ids (as a locked transaction's inserts
    make them on SQLite): then trial ``k``'s id is ``tids[0] + k``."""
    return bool(np.array_equal(tids, np.arange(tids[0], tids[0] + len(tids))))


def _insert_params(
    sql: Sql, tids: IntArray, names: list[str], dists: list[str], params: FloatArray
) -> None:
    """Insert the parameter rows of trials ``tids`` (``params[k, j]``: trial ``k``'s value of
    ``names[j]``), trial by trial, in ``names`` order, as Optuna does.

    On SQLite, when the trial ids are consecutive (as a locked transaction's inserts make
    them), one ``INSERT ... SELECT`` makes every row from a JSON array of the values: SQLite
    writes each distribution's text (most of the bytes) from one copy, and the statement
    runs without Python's global lock, while the search goes on in the main thread.
    """
    n, p = params.shape
    if not n or not p:
        return
    if sql.sqlite and _SQLITE_HAS_JSON and _consecutive(tids):
        values = params.ravel()
        whole = values.astype(np.int64)
        # NOTE: the column is REAL: SQLite stores a whole number given as an integer as the
        # same REAL, and ``json.dumps`` writes integers faster than floats.
        exact = np.array_equal(whole, values)
        sql.run(
            _SQLITE_PARAMS,
            (
                json.dumps(names),
                json.dumps(dists),
                int(tids[0]),
                p,
                json.dumps(whole.tolist() if exact else values.tolist()),
                p,
            ),
        )
        return
    rows = zip(
        np.repeat(tids, p).tolist(), names * n, params.ravel().tolist(), dists * n, strict=True
    )
    sql.many(
        "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
        "VALUES (?, ?, ?, ?)",
        list(rows),
    )


#: SQLite has JSON functions built in from 3.38 (and ``MATERIALIZED`` from 3.35).
_SQLITE_HAS_JSON = sqlite3.sqlite_version_info >= (3, 38)
#: Parameter rows from JSON arrays: names and distributions (one per parameter), then the
#: values trial by trial; the k-th value belongs to trial ``first id + k // p``.
_SQLITE_PARAMS = """
INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json)
WITH d(j, name, dist) AS MATERIALIZED (
    SELECT n.key, n.value, d.value FROM json_each(?) AS n JOIN json_each(?) AS d ON d.key = n.key
)
SELECT ? + v.key / ?, d.name, v.value, d.dist
FROM json_each(?) AS v JOIN d ON d.j = v.key % ?
ORDER BY v.key
"""


def _insert_trial_attrs(sql: Sql, tids: IntArray, attrs: Sequence[tuple[int, str, str]]) -> None:
    """Insert user attribute rows ``(k, key, JSON text)`` of trials ``tids[k]``, in order, with
    one ``executemany``: the texts are bound as they are (a JSON document of them would
    escape each one again: about 1.8 times the CPU time in SQLite)."""
    tid = tids.tolist()
    sql.many(
        'INSERT INTO trial_user_attributes (trial_id, "key", value_json) VALUES (?, ?, ?)',
        [(tid[k], key, t) for k, key, t in attrs],
    )


def _value_rows(tids: IntArray, values: FloatArray, complete: BoolArray) -> list[Row]:
    """Rows of Optuna's values table for the complete trials, as
    ``TrialValueModel.value_to_stored_repr`` stores them (infinities as a type, no value)."""
    v = np.asarray(values, dtype=np.float64)[complete]
    n_obj = v.shape[1]
    kind = np.where(
        v == np.inf,
        TrialValueType.INF_POS.name,
        np.where(v == -np.inf, TrialValueType.INF_NEG.name, TrialValueType.FINITE.name),
    )
    stored = v.astype(object)
    stored[np.isinf(v)] = None
    return list(
        zip(
            np.repeat(tids[complete], n_obj).tolist(),
            np.tile(np.arange(n_obj), len(v)).tolist(),
            stored.ravel().tolist(),
            kind.ravel().tolist(),
            strict=True,
        )
    )


# --- trials: reading -----------------------------------------------------------------------
_COUNT = "SELECT count(*) FROM trials WHERE study_id = ?"
_MINE = "trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)"
#: A COMPLETE trial's finite value (the enum names are literals: no driver has to bind one).
_FINITE_VALUES = (
    "FROM trials AS t JOIN trial_values AS v ON v.trial_id = t.trial_id "
    f"WHERE t.study_id = ? AND t.state = '{TrialState.COMPLETE.name}' "
    f"AND v.value_type = '{TrialValueType.FINITE.name}'"
)


def count_trials(db: Database, study_id: int) -> int:
    with db.read() as sql:
        row = sql.one(_COUNT, (study_id,))
    assert row is not None
    return int(row[0])


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialTable:
    """Every finished trial of a study, in the order the database returns them: ``numbers``
    ``(n,)``; ``genotypes`` ``(n, len(columns))`` (the internal representation of each
    parameter, 0 where a trial has none); ``values`` ``(n, n_objectives)`` (NaN where not
    stored); ``complete`` ``(n,)``; ``failed``: per failed trial (its row), the user
    attributes :data:`FAILED_ATTRS` it has."""

    numbers: IntArray
    genotypes: IntArray
    values: FloatArray
    complete: BoolArray
    failed: dict[int, dict[str, Any]]


#: The user attributes a failed trial's evaluation is read back from (``trial_attrs``).
FAILED_ATTRS = ("infeasible", "violation", "values")


def read_trials(
    db: Database, study_id: int, columns: dict[str, int], n_objectives: int
) -> TrialTable:
    """Every finished trial (one snapshot), parameter ``name`` in column ``columns[name]``.

    Each table is read a chunk at a time straight into arrays, and only the attributes of
    failed trials that say why: a trial's other attributes (its mapping, hardware and
    metrics) are most of a study's bytes, and a proof stores hundreds of thousands of
    trials."""
    finished = (TrialState.COMPLETE.name, TrialState.FAIL.name)
    tids: list[int] = []
    numbers: list[int] = []
    complete: list[bool] = []
    with db.read() as sql:
        for chunk in sql.chunks(
            "SELECT trial_id, number, state FROM trials WHERE study_id = ? "
            f"AND state IN ('{finished[0]}', '{finished[1]}')",
            (study_id,),
        ):
            tids += (int(row[0]) for row in chunk)
            numbers += (int(row[1]) for row in chunk)
            complete += (str(row[2]) == finished[0] for row in chunk)
        ids = np.asarray(tids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]

        def rows_of(chunk: list[Row]) -> tuple[IntArray, BoolArray]:
            """The row of each row's trial id, and whether it is a finished trial's."""
            want = np.asarray([row[0] for row in chunk], dtype=np.int64)
            if not len(ids):
                return np.zeros(len(want), dtype=np.int64), np.zeros(len(want), dtype=bool)
            at = np.minimum(np.searchsorted(sorted_ids, want), len(ids) - 1)
            return order[at], sorted_ids[at] == want

        genotypes = np.zeros((len(ids), len(columns)), dtype=np.int64)
        for chunk in sql.chunks(
            f"SELECT trial_id, param_name, param_value FROM trial_params WHERE {_MINE}",
            (study_id,),
        ):
            rows, found = rows_of(chunk)
            col = np.asarray([columns.get(row[1], -1) for row in chunk], dtype=np.int64)
            keep = found & (col >= 0)
            # NOTE: the internal representation of both distributions is the choice index.
            value = np.asarray([row[2] for row in chunk], dtype=np.float64)
            genotypes[rows[keep], col[keep]] = value[keep].astype(np.int64)
        values = np.full((len(ids), n_objectives), np.nan)
        for chunk in sql.chunks(
            f"SELECT trial_id, objective, value, value_type FROM trial_values WHERE {_MINE}",
            (study_id,),
        ):
            rows, found = rows_of(chunk)
            objective = np.asarray([row[1] for row in chunk], dtype=np.int64)
            keep = found & (objective < n_objectives)
            value = np.asarray([_stored_value(row[2], row[3]) for row in chunk])
            values[rows[keep], objective[keep]] = value[keep]
        failed: dict[int, dict[str, Any]] = {}
        keys = ", ".join(f"'{key}'" for key in FAILED_ATTRS)
        for chunk in sql.chunks(
            'SELECT a.trial_id, a."key", a.value_json FROM trial_user_attributes AS a '
            "JOIN trials AS t ON t.trial_id = a.trial_id "
            f"WHERE t.study_id = ? AND t.state = '{finished[1]}' AND a.\"key\" IN ({keys})",
            (study_id,),
        ):
            rows, found = rows_of(chunk)
            for k, ok, row in zip(rows.tolist(), found.tolist(), chunk, strict=True):
                if ok:
                    failed.setdefault(k, {})[row[1]] = json.loads(row[2])
    return TrialTable(
        numbers=np.asarray(numbers, dtype=np.int64),
        genotypes=genotypes,
        values=values,
        complete=np.asarray(complete, dtype=bool),
        failed=failed,
    )


def _stored_value(value: float | None, kind: str) -> float:
    """The objective value Optuna stored as ``(value, value_type)``."""
    if kind == TrialValueType.INF_POS.name:
        return float("inf")
    if kind == TrialValueType.INF_NEG.name:
        return float("-inf")
    return float(value)  # type: ignore[arg-type]


def objective_values(
    db: Database, study_id: int, n_objectives: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """(trial ids, numbers, values) of the COMPLETE trials whose every value is finite,
    in trial-number order; reads the values table only."""
    with db.read() as sql:
        rows = sql.all(
            f"SELECT t.trial_id, t.number, v.objective, v.value {_FINITE_VALUES} "
            "AND v.objective < ?",
            (study_id, n_objectives),
        )
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, n_objectives))
    table = np.asarray([(r[0], r[1], r[2]) for r in rows], dtype=np.int64)
    ids, where = np.unique(table[:, 0], return_inverse=True)
    values = np.full((len(ids), n_objectives), np.nan)
    values[where, table[:, 2]] = np.asarray([r[3] for r in rows], dtype=np.float64)
    numbers = np.zeros(len(ids), np.int64)
    numbers[where] = table[:, 1]
    keep = np.isfinite(values).all(axis=1)
    order = np.argsort(numbers[keep], kind="stable")
    return ids[keep][order], numbers[keep][order], values[keep][order]


def best_of_one(
    db: Database, study_id: int, *, maximize: bool, limit: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """(trial ids, numbers, values) of the ``limit`` best COMPLETE trials of a
    single-objective study, best first, the lower trial number first among equals."""
    with db.read() as sql:
        rows = sql.all(
            f"SELECT t.trial_id, t.number, v.value {_FINITE_VALUES} AND v.objective = 0 "
            f"ORDER BY v.value {'DESC' if maximize else 'ASC'}, t.number ASC LIMIT ?",
            (study_id, limit),
        )
    return (
        np.asarray([r[0] for r in rows], dtype=np.int64),
        np.asarray([r[1] for r in rows], dtype=np.int64),
        np.asarray([[r[2]] for r in rows], dtype=np.float64).reshape(len(rows), 1),
    )


def trial_params(db: Database, trial_ids: Sequence[int]) -> dict[int, dict[str, float]]:
    """Parameters (internal representation) of the given trials only."""
    out: dict[int, dict[str, float]] = {}
    if not len(trial_ids):
        return out
    marks = ", ".join("?" * len(trial_ids))
    with db.read() as sql:
        rows = sql.all(
            "SELECT trial_id, param_name, param_value FROM trial_params "
            f"WHERE trial_id IN ({marks})",
            [int(t) for t in trial_ids],
        )
    for tid, name, value in rows:
        out.setdefault(tid, {})[name] = value
    return out
