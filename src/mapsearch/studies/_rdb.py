"""Optuna's relational tables, read and written in bulk with SQLAlchemy Core.

Writing trials through Optuna's API costs 5-12 ms per trial on SQLite (one transaction and
several queries per attribute), and reading them through it (``get_all_trials``, and
``get_n_trials``, which loads every trial) builds one object per trial. These functions
use Optuna's own table models instead, so that every Optuna reader (``optuna.load_study``,
optuna-dashboard) sees ordinary trials, at one transaction per batch and one query per
table; counts and best values are SQL aggregates.

Concurrency: every write transaction takes the study's write lock before it reads anything.
On SQLite the transactions of :func:`writer` begin with ``BEGIN IMMEDIATE`` (the database's
write lock; other writers wait up to the busy timeout); on other databases the study's row
is locked (``SELECT ... FOR UPDATE``). Under that lock the next trial number is
``max(number) + 1`` and the study's size is checked against its budget, so trial numbers
stay distinct and a budget is never exceeded, however many processes write. A study is
created in one transaction (its row, directions and user attributes together), so no
reader ever sees it half made.
"""

from __future__ import annotations

import datetime
import enum
import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    Column,
    DateTime,
    Enum,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    delete,
    event,
    exc,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Connection, Engine

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
T = TypeVar("T")

#: Seconds an SQLite writer waits for another process's write lock before giving up.
SQLITE_BUSY_TIMEOUT_S = 60
#: Attempts of a transaction that failed for a passing reason (lock timeout, deadlock, a
#: concurrent creator of the same row).
_ATTEMPTS = 20


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


def _table(name: str, *columns: Column[Any]) -> Table:
    return Table(name, _SCHEMA, *columns)


# NOTE: the columns of Optuna's tables that mapsearch reads and writes, with Optuna's types
# and enum type names; the tables themselves are always made by Optuna (an Optuna-made
# template, or ``RDBStorage``). Declaring them here spares importing Optuna's ORM models
# (and SQLAlchemy's ORM), a third of a second of every command's start-up.
_SCHEMA = MetaData()
_studies = _table(
    "studies", Column("study_id", Integer, primary_key=True), Column("study_name", Text)
)
_directions = _table(
    "study_directions",
    Column("study_direction_id", Integer, primary_key=True),
    Column("direction", Enum(StudyDirection, name="studydirection"), nullable=False),
    Column("study_id", Integer, nullable=False),
    Column("objective", Integer, nullable=False),
)


def _attr_table(name: str, owner: str) -> Table:
    return _table(
        name,
        Column(f"{name[:-1]}_id", Integer, primary_key=True),
        Column(owner, Integer),
        Column("key", Text),
        Column("value_json", Text),
    )


_study_attrs = _attr_table("study_user_attributes", "study_id")
_study_system_attrs = _attr_table("study_system_attributes", "study_id")
_trials = _table(
    "trials",
    Column("trial_id", Integer, primary_key=True),
    Column("number", Integer),
    Column("study_id", Integer),
    Column("state", Enum(TrialState, name="trialstate"), nullable=False),
    Column("datetime_start", DateTime),
    Column("datetime_complete", DateTime),
)
_params = _table(
    "trial_params",
    Column("param_id", Integer, primary_key=True),
    Column("trial_id", Integer),
    Column("param_name", Text),
    Column("param_value", Float(precision=53)),
    Column("distribution_json", Text),
)
_values = _table(
    "trial_values",
    Column("trial_value_id", Integer, primary_key=True),
    Column("trial_id", Integer, nullable=False),
    Column("objective", Integer, nullable=False),
    Column("value", Float(precision=53)),
    Column("value_type", Enum(TrialValueType, name="trialvaluetype"), nullable=False),
)
_trial_attrs = _attr_table("trial_user_attributes", "trial_id")
_FINITE = TrialValueType.FINITE


def _begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _driver_autocommit(dbapi_connection: Any, _record: Any) -> None:
    # NOTE: Python's sqlite3 opens transactions itself, lazily, at the first INSERT; turning
    # that off lets ``_begin_immediate`` open them, with the write lock, at the start.
    dbapi_connection.isolation_level = None


def writer(engine: Engine) -> Engine:
    """The engine to write with: for an SQLite file, a new engine whose transactions begin
    with ``BEGIN IMMEDIATE``; otherwise ``engine`` itself."""
    url = engine.url
    if engine.dialect.name != "sqlite" or url.database in (None, "", ":memory:"):
        return engine
    own = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    event.listen(own, "connect", _driver_autocommit)
    event.listen(own, "begin", _begin_immediate)
    return own


def retrying(attempt: Callable[[], T]) -> T:
    """``attempt()``, run again when it fails for a passing reason (a lock wait that timed
    out, a deadlock, another process inserting the same unique row first)."""
    for k in range(_ATTEMPTS):
        try:
            return attempt()
        except (exc.OperationalError, exc.IntegrityError):
            if k == _ATTEMPTS - 1:
                raise
            time.sleep(0.02 * (1 + k % 5))
    raise AssertionError("unreachable")


@contextmanager
def locked(engine: Engine, study_id: int) -> Iterator[Connection]:
    """A transaction that holds the write lock of study ``study_id`` (see module docs)."""
    with engine.begin() as conn:
        if conn.dialect.name != "sqlite":
            conn.execute(
                select(_studies.c.study_id).where(_studies.c.study_id == study_id).with_for_update()
            )
        yield conn


# --- studies -------------------------------------------------------------------------------
def find_study(engine: Engine, name: str) -> int | None:
    with engine.connect() as conn:
        return conn.execute(
            select(_studies.c.study_id).where(_studies.c.study_name == name)
        ).scalar_one_or_none()


def study_attrs(engine: Engine, study_id: int) -> dict[str, Any]:
    """The study's user attributes (JSON-decoded, as Optuna stores them)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(_study_attrs.c.key, _study_attrs.c.value_json).where(
                _study_attrs.c.study_id == study_id
            )
        ).all()
    return {key: json.loads(text) for key, text in rows}


def ensure_study(
    engine: Engine,
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
        with engine.begin() as conn:
            study_id = conn.execute(
                select(_studies.c.study_id).where(_studies.c.study_name == name)
            ).scalar_one_or_none()
            if study_id is None:
                key = conn.execute(insert(_studies).values(study_name=name)).inserted_primary_key
                assert key is not None
                study_id = int(key[0])
                conn.execute(
                    insert(_directions),
                    [
                        {"study_id": study_id, "objective": k, "direction": d}
                        for k, d in enumerate(directions)
                    ],
                )
                _insert_attrs(conn, study_id, attrs)
                _insert_attrs(conn, study_id, system_attrs or {}, _study_system_attrs)
                return study_id
            has_attr = conn.execute(
                select(func.count())
                .select_from(_study_attrs)
                .where(_study_attrs.c.study_id == study_id)
            ).scalar_one()
            has_trial = conn.execute(
                select(func.count()).select_from(_trials).where(_trials.c.study_id == study_id)
            ).scalar_one()
            if not has_attr and not has_trial:
                _insert_attrs(conn, study_id, attrs)
                _insert_attrs(conn, study_id, system_attrs or {}, _study_system_attrs)
            return int(study_id)

    return retrying(attempt)


def set_study_attr(engine: Engine, study_id: int, key: str, value: Any) -> None:
    """Set (insert or replace) one user attribute of study ``study_id``, under its lock."""

    def attempt() -> None:
        with locked(engine, study_id) as conn:
            conn.execute(
                delete(_study_attrs).where(
                    _study_attrs.c.study_id == study_id, _study_attrs.c.key == key
                )
            )
            _insert_attrs(conn, study_id, {key: value})

    retrying(attempt)


def _insert_attrs(
    conn: Connection, study_id: int, attrs: dict[str, Any], table: Any = _study_attrs
) -> None:
    if attrs:
        conn.execute(
            insert(table),
            [
                {"study_id": study_id, "key": k, "value_json": json.dumps(v)}
                for k, v in attrs.items()
            ],
        )


def list_studies(engine: Engine) -> list[tuple[int, str, int, dict[str, Any]]]:
    """(study id, name, number of trials, user attributes) of every study, by name; three
    queries."""
    with engine.connect() as conn:
        studies = conn.execute(select(_studies.c.study_id, _studies.c.study_name)).all()
        counts: dict[int, int] = dict(
            conn.execute(
                select(_trials.c.study_id, func.count()).group_by(_trials.c.study_id)
            ).all()
        )
        attrs: dict[int, dict[str, Any]] = {}
        for sid, key, text in conn.execute(
            select(_study_attrs.c.study_id, _study_attrs.c.key, _study_attrs.c.value_json)
        ).all():
            attrs.setdefault(sid, {})[key] = json.loads(text)
    return sorted(
        (
            (int(sid), str(name), int(counts.get(sid, 0)), attrs.get(sid, {}))
            for sid, name in studies
        ),
        key=lambda row: row[1],
    )


# --- trials: writing -----------------------------------------------------------------------
def write_trials(
    engine: Engine,
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
        with locked(engine, study_id) as conn:
            held, last = conn.execute(
                select(func.count(), func.max(_trials.c.number)).where(
                    _trials.c.study_id == study_id
                )
            ).one()
            n = len(complete) if limit is None else max(0, min(len(complete), limit - held))
            if n == 0:
                return 0
            start = 0 if last is None else int(last) + 1
            now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
            states = np.where(complete[:n], TrialState.COMPLETE.name, TrialState.FAIL.name)
            _insert_rows(
                conn,
                _trials,
                _TRIAL_COLUMNS,
                [(start + k, study_id, state, now, now) for k, state in enumerate(states.tolist())],
            )
            tids = np.asarray(
                conn.execute(
                    select(_trials.c.trial_id)
                    .where(_trials.c.study_id == study_id, _trials.c.number >= start)
                    .order_by(_trials.c.number)
                )
                .scalars()
                .all(),
                dtype=np.int64,
            )
            _insert_params(conn, tids, names, dists, np.asarray(params[:n], dtype=np.float64))
            _insert_rows(conn, _values, _VALUE_COLUMNS, _value_rows(tids, values[:n], complete[:n]))
            _insert_trial_attrs(conn, tids, [row for row in attrs if row[0] < n])
            return n

    return retrying(attempt)


def _insert_params(
    conn: Connection, tids: IntArray, names: list[str], dists: list[str], params: FloatArray
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
    one_statement = conn.dialect.name == "sqlite" and _SQLITE_HAS_JSON
    if one_statement and int(tids[-1]) - int(tids[0]) == n - 1:
        values = params.ravel()
        whole = values.astype(np.int64)
        # NOTE: the column is REAL: SQLite stores a whole number given as an integer as the
        # same REAL, and ``json.dumps`` writes integers faster than floats.
        exact = np.array_equal(whole, values)
        conn.exec_driver_sql(
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
    _insert_rows(conn, _params, _PARAM_COLUMNS, list(rows))


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


def _insert_trial_attrs(
    conn: Connection, tids: IntArray, attrs: Sequence[tuple[int, str, str]]
) -> None:
    """Insert user attribute rows ``(k, key, JSON text)`` of trials ``tids[k]``, in order, with
    one ``executemany``: the texts are bound as they are (a JSON document of them would
    escape each one again)."""
    tid = tids.tolist()
    _insert_rows(conn, _trial_attrs, _ATTR_COLUMNS, [(tid[k], key, t) for k, key, t in attrs])


def _value_rows(tids: IntArray, values: FloatArray, complete: BoolArray) -> list[tuple[Any, ...]]:
    """Rows of Optuna's values table for the complete trials, as
    ``TrialValueModel.value_to_stored_repr`` stores them (infinities as a type, no value)."""
    v = np.asarray(values, dtype=np.float64)[complete]
    n_obj = v.shape[1]
    kind = np.where(v == np.inf, "INF_POS", np.where(v == -np.inf, "INF_NEG", _FINITE.name))
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


_TRIAL_COLUMNS = ("number", "study_id", "state", "datetime_start", "datetime_complete")
_PARAM_COLUMNS = ("trial_id", "param_name", "param_value", "distribution_json")
_VALUE_COLUMNS = ("trial_id", "objective", "value", "value_type")
_ATTR_COLUMNS = ("trial_id", "key", "value_json")
#: The positional placeholder of each DB-API parameter style that has one.
_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _insert_rows(
    conn: Connection, table: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order; enums as their names, as SQLAlchemy
    stores them) into ``table`` with one ``executemany`` of the driver: SQLAlchemy's
    per-row parameter processing costs more than the database's insert. Datetimes are
    converted as SQLAlchemy would for the driver (SQLite stores text). Drivers with named
    placeholders only go through SQLAlchemy."""
    if not rows:
        return
    enums = {c for c in columns if hasattr(table.c[c].type, "enum_class")}
    mark = _PLACEHOLDER.get(conn.dialect.paramstyle)
    if mark is None:
        conn.execute(
            insert(table),
            [
                {
                    c: (table.c[c].type.enum_class[v] if c in enums else v)
                    for c, v in zip(columns, row, strict=True)
                }
                for row in rows
            ],
        )
        return
    times = [k for k, c in enumerate(columns) if isinstance(table.c[c].type, DateTime)]
    for k in times:
        convert = table.c[columns[k]].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if convert is not None:
            text = {v: convert(v) for v in {row[k] for row in rows}}  # a batch shares one time
            rows = [(*row[:k], text[row[k]], *row[k + 1 :]) for row in rows]
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    conn.exec_driver_sql(sql, rows)


# --- trials: reading -----------------------------------------------------------------------
def count_trials(engine: Engine, study_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(_trials).where(_trials.c.study_id == study_id)
            ).scalar_one()
        )


def _trial_ids_of(study_id: int) -> Any:
    return select(_trials.c.trial_id).where(_trials.c.study_id == study_id)


def read_trials(
    engine: Engine, study_id: int
) -> tuple[
    list[tuple[int, int, bool]],
    dict[int, dict[str, float]],
    dict[int, dict[int, float]],
    dict[int, dict[str, Any]],
]:
    """Every finished trial: ``(trial_id, number, complete)`` rows, then parameters, values
    and user attributes keyed by trial id (one query per table)."""
    mine = _trial_ids_of(study_id)
    with engine.connect() as conn:
        rows = conn.execute(
            select(_trials.c.trial_id, _trials.c.number, _trials.c.state).where(
                _trials.c.study_id == study_id,
                _trials.c.state.in_([TrialState.COMPLETE, TrialState.FAIL]),
            )
        ).all()
        params = conn.execute(
            select(_params.c.trial_id, _params.c.param_name, _params.c.param_value).where(
                _params.c.trial_id.in_(mine)
            )
        ).all()
        vals = conn.execute(
            select(
                _values.c.trial_id, _values.c.objective, _values.c.value, _values.c.value_type
            ).where(_values.c.trial_id.in_(mine))
        ).all()
        attrs = conn.execute(
            select(_trial_attrs.c.trial_id, _trial_attrs.c.key, _trial_attrs.c.value_json).where(
                _trial_attrs.c.trial_id.in_(mine)
            )
        ).all()
    out_params: dict[int, dict[str, float]] = {}
    for tid, name, value in params:
        out_params.setdefault(tid, {})[name] = value
    out_values: dict[int, dict[int, float]] = {}
    for tid, objective, value, kind in vals:
        out_values.setdefault(tid, {})[objective] = _stored_value(value, kind)
    out_attrs: dict[int, dict[str, Any]] = {}
    for tid, key, text in attrs:
        out_attrs.setdefault(tid, {})[key] = json.loads(text)
    trials = [
        (int(tid), int(number), state in (TrialState.COMPLETE, TrialState.COMPLETE.name))
        for tid, number, state in rows
    ]
    return trials, out_params, out_values, out_attrs


def _stored_value(value: float | None, kind: Any) -> float:
    """The objective value Optuna stored as ``(value, value_type)``."""
    name = kind.name if isinstance(kind, TrialValueType) else str(kind)
    if name == TrialValueType.INF_POS.name:
        return float("inf")
    if name == TrialValueType.INF_NEG.name:
        return float("-inf")
    return float(value)  # type: ignore[arg-type]


def objective_values(
    engine: Engine, study_id: int, n_objectives: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """(trial ids, numbers, values) of the COMPLETE trials whose every value is finite,
    in trial-number order; reads the values table only."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(_trials.c.trial_id, _trials.c.number, _values.c.objective, _values.c.value)
            .join(_values, _values.c.trial_id == _trials.c.trial_id)
            .where(
                _trials.c.study_id == study_id,
                _trials.c.state == TrialState.COMPLETE,
                _values.c.value_type == _FINITE,
                _values.c.objective < n_objectives,
            )
        ).all()
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
    engine: Engine, study_id: int, *, maximize: bool, limit: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """(trial ids, numbers, values) of the ``limit`` best COMPLETE trials of a
    single-objective study, best first, the lower trial number first among equals."""
    value = _values.c.value
    with engine.connect() as conn:
        rows = conn.execute(
            select(_trials.c.trial_id, _trials.c.number, value)
            .join(_values, _values.c.trial_id == _trials.c.trial_id)
            .where(
                _trials.c.study_id == study_id,
                _trials.c.state == TrialState.COMPLETE,
                _values.c.objective == 0,
                _values.c.value_type == _FINITE,
            )
            .order_by(value.desc() if maximize else value.asc(), _trials.c.number.asc())
            .limit(limit)
        ).all()
    return (
        np.asarray([r[0] for r in rows], dtype=np.int64),
        np.asarray([r[1] for r in rows], dtype=np.int64),
        np.asarray([[r[2]] for r in rows], dtype=np.float64).reshape(len(rows), 1),
    )


def trial_params(engine: Engine, trial_ids: Sequence[int]) -> dict[int, dict[str, float]]:
    """Parameters (internal representation) of the given trials only."""
    out: dict[int, dict[str, float]] = {}
    if not len(trial_ids):
        return out
    with engine.connect() as conn:
        for tid, name, value in conn.execute(
            select(_params.c.trial_id, _params.c.param_name, _params.c.param_value).where(
                _params.c.trial_id.in_([int(t) for t in trial_ids])
            )
        ).all():
            out.setdefault(tid, {})[name] = value
    return out
