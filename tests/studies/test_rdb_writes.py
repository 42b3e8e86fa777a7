"""Bulk trial writes (``studies/_rdb.py``) are ordinary Optuna trials, whichever way the
database is reached (an SQLite file with ``sqlite3``, or an SQLAlchemy engine's driver)."""

from __future__ import annotations

import math
import re
import sqlite3
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution, IntDistribution, distribution_to_json
from optuna.trial import TrialState
from sqlalchemy import create_engine

from mapsearch.studies import _rdb


def database(path: Path, way: str) -> _rdb.Database:
    if way == "sqlite3":
        return _rdb.Database.sqlite(path)
    return _rdb.Database.of_engine(create_engine(f"sqlite:///{path}"))


def _write_three(db: _rdb.Database, study_id: int) -> int:
    """Three trials of two parameters and two objectives, with attributes."""
    dists = {"a": IntDistribution(0, 9), "b": FloatDistribution(0.0, 1.0)}
    return _rdb.write_trials(
        db,
        study_id,
        param_names=["a", "b"],
        params=np.asarray([[3.0, 0.25], [7.0, 0.5], [1.0, 0.75]]),
        distributions={k: distribution_to_json(d) for k, d in dists.items()},
        values=np.asarray([[1.5, -2.0], [np.nan, np.nan], [math.inf, 4.0]]),
        complete=np.asarray([True, False, True]),
        attrs=[
            (0, "mapping", '"T(1,1) K"'),
            (0, "metrics", '{"x": 1}'),
            (1, "infeasible", '"why"'),
            (2, "mapping", '"S(2,2) C"'),
        ],
        limit=None,
    )


@pytest.mark.parametrize("way", ["sqlite3", "engine"])
def test_bulk_writes_read_back_through_optuna(tmp_path, way: str) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="s", storage=url, directions=["minimize", "maximize"])
    db = database(tmp_path / "s.db", way)
    n = _write_three(db, study._study_id)
    assert n == 3
    trials = optuna.load_study(study_name="s", storage=url).get_trials(deepcopy=False)
    assert [t.number for t in trials] == [0, 1, 2]
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.COMPLETE]
    assert [t.params for t in trials] == [
        {"a": 3, "b": 0.25},
        {"a": 7, "b": 0.5},
        {"a": 1, "b": 0.75},
    ]
    assert trials[0].values == [1.5, -2.0] and trials[2].values == [math.inf, 4.0]
    assert trials[0].user_attrs == {"mapping": "T(1,1) K", "metrics": {"x": 1}}
    assert trials[1].user_attrs == {"infeasible": "why"}
    assert trials[2].user_attrs == {"mapping": "S(2,2) C"}
    db.close()


def test_datetimes_are_stored_as_sqlalchemy_stores_them(tmp_path) -> None:
    """The trials' datetimes are the text SQLAlchemy writes in SQLite (always with
    microseconds), as Optuna's own trials have them, and read back as datetimes."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="s", storage=url)
    study.optimize(lambda t: t.suggest_int("a", 0, 9), n_trials=1)
    db = _rdb.Database.sqlite(tmp_path / "s.db")
    _rdb.write_trials(
        db,
        study._study_id,
        param_names=["a"],
        params=np.asarray([[3.0]]),
        distributions={"a": distribution_to_json(IntDistribution(0, 9))},
        values=np.asarray([[1.0]]),
        complete=np.asarray([True]),
        attrs=[],
    )
    with db.read() as sql:
        rows = sql.all("SELECT datetime_start, datetime_complete FROM trials ORDER BY number")
    shape = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")
    assert len(rows) == 2 and all(shape.fullmatch(t) for row in rows for t in row)
    back = optuna.load_study(study_name="s", storage=url).trials[1]
    assert back.datetime_start is not None and back.datetime_start == back.datetime_complete


def test_sqlite_one_statement_params_match_row_by_row(tmp_path) -> None:
    """Consecutive trial ids take SQLite's one-statement path, others the row-by-row one:
    both store the same rows, in the same order."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(study_name="s", storage=url)
    names = ["a", "b", "c"]
    dists = [distribution_to_json(IntDistribution(0, 9 + k)) for k in range(3)]
    params = np.arange(12, dtype=np.float64).reshape(4, 3) * 0.5
    with _rdb.Database.sqlite(tmp_path / "s.db").write() as sql:
        assert sql.sqlite
        _rdb._insert_params(sql, np.arange(1, 5), names, dists, params)  # consecutive
        _rdb._insert_params(sql, np.asarray([11, 12, 13, 15]), names, dists, params)  # a gap
        rows = sql.all(
            "SELECT trial_id, param_name, param_value, distribution_json FROM trial_params "
            "ORDER BY param_id"
        )
    one, by_row = rows[:12], rows[12:]
    assert [r[1:] for r in one] == [r[1:] for r in by_row]
    assert [r[0] for r in one] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    assert [r[0] for r in by_row] == [11, 11, 11, 12, 12, 12, 13, 13, 13, 15, 15, 15]
    assert [r[2] for r in one] == params.ravel().tolist()
    assert [r[3] for r in one] == dists * 4


def test_sqlite_attrs_are_stored_in_order(tmp_path) -> None:
    """User attributes are stored row by row, in order, with their trials' ids: consecutive
    ids or a gap, rows in key order or not."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(study_name="s", storage=url)
    attrs = [(0, "mapping", '"a"'), (0, "metrics", "{}"), (2, "mapping", '"b\\u00e9"')]
    attrs += [(2, "infeasible", '"why"'), (3, "metrics", "[1, 2]")]
    unordered = [(0, "infeasible", '"x"'), (1, "mapping", '"y"'), (1, "infeasible", '"z"')]
    with _rdb.Database.sqlite(tmp_path / "s.db").write() as sql:
        _rdb._insert_trial_attrs(sql, np.arange(1, 5), attrs)  # consecutive
        _rdb._insert_trial_attrs(sql, np.asarray([11, 12, 13, 15]), attrs)  # a gap
        _rdb._insert_trial_attrs(sql, np.arange(21, 23), unordered)  # keys out of order
        rows = sql.all(
            "SELECT trial_id, key, value_json FROM trial_user_attributes "
            "ORDER BY trial_user_attribute_id"
        )
    one, by_row, rest = rows[:5], rows[5:10], rows[10:]
    assert [tuple(r) for r in one] == [(k + 1, key, text) for k, key, text in attrs]
    assert [r[1:] for r in by_row] == [r[1:] for r in one]
    assert [r[0] for r in by_row] == [11, 11, 13, 13, 15]
    assert [tuple(r) for r in rest] == [(k + 21, key, text) for k, key, text in unordered]


@pytest.mark.parametrize("way", ["sqlite3", "engine"])
def test_rows_split_over_statements_keep_their_order(tmp_path, way: str, monkeypatch) -> None:
    """With 10 values a statement, the rows of a table span several statements and a last
    short one (on SQLite; an engine's driver pages the rows itself); Optuna reads back the
    same trials."""
    monkeypatch.setattr(_rdb, "BOUND_VALUES", 10)
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="s", storage=url, directions=["minimize", "maximize"])
    db = database(tmp_path / "s.db", way)
    assert _write_three(db, study._study_id) == 3
    assert _write_three(db, study._study_id) == 3
    trials = optuna.load_study(study_name="s", storage=url).get_trials(deepcopy=False)
    assert [t.number for t in trials] == list(range(6))
    assert [t.params for t in trials] == [
        {"a": 3, "b": 0.25},
        {"a": 7, "b": 0.5},
        {"a": 1, "b": 0.75},
    ] * 2
    assert [t.values for t in trials] == [[1.5, -2.0], None, [math.inf, 4.0]] * 2
    assert [t.user_attrs for t in trials] == [
        {"mapping": "T(1,1) K", "metrics": {"x": 1}},
        {"infeasible": "why"},
        {"mapping": "S(2,2) C"},
    ] * 2
    db.close()


def test_a_batch_is_a_few_statements_whatever_its_size(tmp_path, monkeypatch) -> None:
    """``sqlite3`` runs each statement (and fetches each row) without Python's global lock
    and takes it back after: a write of one statement per row waited for that lock once per
    row while a search thread held it. A batch of 3,000 trials is as many statements as
    one of 3, and none is an ``executemany``."""
    statements: list[tuple[int, bool]] = []
    execute = _rdb._sqlite_execute

    def counting(con):  # type: ignore[no-untyped-def]
        run = execute(con)

        def counted(sql, params):  # type: ignore[no-untyped-def]
            statements.append((len(sql), isinstance(params, list)))
            return run(sql, params)

        return counted

    monkeypatch.setattr(_rdb, "_sqlite_execute", counting)
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="s", storage=url)
    db = _rdb.Database.sqlite(tmp_path / "s.db")
    counts = []
    for n in (3, 3000):
        statements.clear()
        rng = np.random.default_rng(n)
        stored = _rdb.write_trials(
            db,
            study._study_id,
            param_names=["a"],
            params=rng.integers(0, 9, size=(n, 1)).astype(np.float64),
            distributions={"a": distribution_to_json(IntDistribution(0, 9))},
            values=rng.random((n, 1)),
            complete=np.ones(n, dtype=bool),
            attrs=[(k, key, '"x"') for k in range(n) for key in ("mapping", "metrics")],
            limit=None,
        )
        assert stored == n
        assert not any(many for _, many in statements)
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert len(optuna.load_study(study_name="s", storage=url).trials) == 3003


def test_a_write_does_not_read_every_trial_of_the_study(tmp_path, monkeypatch) -> None:
    """The next trial number and the study's size come from its last trial by id (an
    index lookup): writing 10 trials into a study of 5,000 runs about as many SQLite
    instructions as into one of 100. ``count(*)`` and ``max(number)`` read every trial of
    the study, 150 ms a write at 300,000 trials."""
    ticks = [0]
    connect = sqlite3.connect

    def tick() -> int:
        ticks[0] += 1
        return 0  # go on

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        con = connect(*args, **kwargs)
        con.set_progress_handler(tick, 100)  # every 100 SQLite instructions
        return con

    def write(db: _rdb.Database, study_id: int, n: int, limit: int | None) -> int:
        return _rdb.write_trials(
            db,
            study_id,
            param_names=["a"],
            params=np.zeros((n, 1)),
            distributions={"a": distribution_to_json(IntDistribution(0, 9))},
            values=np.ones((n, 1)),
            complete=np.ones(n, dtype=bool),
            attrs=[],
            limit=limit,
        )

    cost = []
    for held in (100, 5_000):
        url = f"sqlite:///{tmp_path / f'{held}.db'}"
        study = optuna.create_study(study_name="s", storage=url)
        db = _rdb.Database.sqlite(tmp_path / f"{held}.db")
        write(db, study._study_id, held - 1, None)
        optuna.load_study(study_name="s", storage=url).ask()  # the last trial is Optuna's
        with monkeypatch.context() as m:
            m.setattr(_rdb.sqlite3, "connect", counting)
            ticks[0] = 0
            assert write(db, study._study_id, 10, held + 5) == 5
            cost.append(ticks[0])
        with db.read() as sql:
            numbers = sql.all("SELECT number FROM trials ORDER BY trial_id")
        assert [n for (n,) in numbers] == list(range(held + 5))
    assert cost[1] < 2 * cost[0] + 50, cost
