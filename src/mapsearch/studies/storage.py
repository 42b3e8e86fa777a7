"""Studies: where every evaluation is kept (Optuna storage), and how a study is (re)opened.

A study holds one problem. Its fingerprint (:mod:`mapsearch.studies.fingerprint`) and description are
stored as study user attributes and checked when a study is reopened: a different problem
is refused with both descriptions. Each evaluation is one Optuna trial whose parameters are
the genotype (``mapsearch.spaces.optuna_params``): feasible candidates
are ``COMPLETE`` with their objective values; infeasible ones are ``FAIL`` with the user
attributes ``infeasible`` (the reason), ``violation`` and ``values`` (if scored).

Relational storages are read and written in bulk, in Optuna's own schema, with trial
numbers allocated under the study's write lock (see :mod:`mapsearch.studies._rdb`); the
journal storage goes through Optuna's API. Where storages live and how they are opened
safely: :mod:`mapsearch.studies.locations`, :mod:`mapsearch.studies.backends`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mapsearch.errors import StudyError, UnknownNameError
from mapsearch.objectives import Direction
from mapsearch.problem import Evaluation, Problem
from mapsearch.spaces.genes import Gene
from mapsearch.studies import _rdb
from mapsearch.studies.backends import (
    check_sqlite_file,
    engine_kwargs,
    guarded,
    open_storage,
    sqlite_database,
)
from mapsearch.studies.fingerprint import (
    fingerprint_json,
    problem_from_fingerprint,
    resumed_problem,
)
from mapsearch.studies.locations import (
    check_study_name,
    display_url,
    journal_path,
    scrub,
    sqlite_path,
)
from mapsearch.studies.provenance import creation_attrs
from mapsearch.studies.ranking import best_rows
from mapsearch.studies.trial_attrs import attr_rows

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

FINGERPRINT_ATTR = "mapsearch.problem"
DESCRIPTION_ATTR = "mapsearch.description"
#: Optuna's study system attribute behind ``Study.metric_names``.
METRIC_NAMES_ATTR = "study:metric_names"


def _direction(direction: Direction) -> _rdb.StudyDirection:
    return _rdb.StudyDirection[direction.name]


def distribution_json(genes: Sequence[Gene]) -> dict[str, str]:
    """The JSON text Optuna stores with each parameter (``distribution_to_json`` of
    :func:`mapsearch.spaces.optuna_params.distributions`), by gene name, written here so that
    a run on a relational storage does not import Optuna (tests check it is the same text).
    """
    out = {}
    for g in genes:
        if g.fixed:
            continue
        if g.ordered:
            name = "IntDistribution"
            attributes: dict[str, Any] = {"log": False, "step": 1, "low": 0, "high": g.size - 1}
        else:
            name = "CategoricalDistribution"
            attributes = {"choices": [str(c) for c in g.choices]}
        out[g.name] = json.dumps({"name": name, "attributes": attributes})
    return out


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


def _reading_database(url: str) -> _rdb.Database | None:
    """A relational storage opened for reading (None for a journal): an SQLite file with
    ``sqlite3``, else a plain SQLAlchemy engine; faster than Optuna's storage object, which
    checks and creates tables."""
    if journal_path(url) is not None:
        return None
    path = sqlite_path(url)
    if path is not None:
        if not path.exists():
            raise StudyError(f"no study database {path}; `mapsearch studies` lists the studies")
        check_sqlite_file(path)
        return _rdb.Database.sqlite(path)
    from sqlalchemy import create_engine

    try:
        return _rdb.Database.of_engine(create_engine(url, **engine_kwargs(url)))
    except Exception as e:  # unknown dialects, missing drivers, malformed URLs
        raise StudyError(f"cannot open storage {display_url(url)}: {scrub(str(e), url)}") from e


def list_studies(url: str) -> list[StoredStudy]:
    """Every study in ``url`` with its size and best value; on relational storages a few
    SQL queries per study (counts and best values are aggregates, no trial is loaded)."""
    db = _reading_database(url)
    if db is None:
        return _list_journal(url)
    out = []
    try:
        with guarded(url, decoding=True):
            for study_id, name, n, attrs in _rdb.list_studies(db):
                fp_text = attrs.get(FINGERPRINT_ATTR)
                fp = json.loads(fp_text) if isinstance(fp_text, str) else None
                n_best, best = 0, None
                if fp is not None:
                    signs = np.asarray([Direction(d).sign for _, d in fp["objectives"]])
                    _, _, values = _best_rdb(db, study_id, signs, limit=None)
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
        db.close()
    return out


def _list_journal(url: str) -> list[StoredStudy]:
    storage = open_storage(url, create=False)
    out = []
    with guarded(url, decoding=True):
        for s in storage.get_all_studies():
            fp = s.user_attrs.get(FINGERPRINT_ATTR)
            n_best, best = 0, None
            if isinstance(fp, str):
                with StudyRecord.load(url, s.study_name) as record:
                    _, ev = record.best(limit=None)
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
    db: _rdb.Database, study_id: int, signs: np.ndarray, limit: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(trial ids, numbers, values) of the best trials (``ranking.best_rows`` order): one
    objective, an ORDER BY with a limit; several, the values only, then the front."""
    if len(signs) == 1:
        return _rdb.best_of_one(db, study_id, maximize=signs[0] < 0, limit=1)
    ids, numbers, values = _rdb.objective_values(db, study_id, len(signs))
    rows = best_rows(values, np.ones(len(values), dtype=bool), signs)[:limit]
    return ids[rows], numbers[rows], values[rows]


# --- one study -----------------------------------------------------------------------------
def _open(url: str, *, create: bool) -> BaseStorage | _rdb.Database:
    """What a study is read and written through: a relational storage's database (a
    current SQLite file opened without Optuna, :func:`backends.sqlite_database`), else the
    journal storage. Optuna opens (and checks, or makes) the others first."""
    db = sqlite_database(url, create=create)
    if db is not None:
        return db
    from optuna.storages import RDBStorage

    storage = open_storage(url, create=create)
    if not isinstance(storage, RDBStorage):
        return storage
    path = sqlite_path(url)
    if path is None:
        return _rdb.Database.of_engine(storage.engine)
    storage.engine.dispose()
    return _rdb.Database.sqlite(path)


class StudyRecord:
    """An open study: reads its history and writes evaluations to it.

    Thread safety: one ``StudyRecord`` per process (workers open their own from the URL).
    """

    def __init__(
        self,
        storage: BaseStorage | _rdb.Database,
        url: str,
        name: str,
        study_id: int,
        problem: Problem,
    ) -> None:
        """``storage``: the Optuna journal storage, or the database of a relational one
        (then the Optuna storage object is opened only if :attr:`storage` is asked for)."""
        self._db = storage if isinstance(storage, _rdb.Database) else None
        self._storage = None if isinstance(storage, _rdb.Database) else storage
        self.url = url
        self.name = name
        self.study_id = study_id
        self.problem = problem
        self._genes = problem.genes
        # NOTE: the internal representation of both distributions is the choice index.
        self._free = [k for k, g in enumerate(self._genes) if not g.fixed]
        self._dist_json = distribution_json(self._genes)

    @property
    def storage(self) -> BaseStorage:
        """The study's Optuna storage (opened now if the study was opened on its database)."""
        if self._storage is None:
            self._storage = open_storage(self.url, create=False)
        return self._storage

    @property
    def display_url(self) -> str:
        """The storage URL with its password masked."""
        return display_url(self.url)

    def close(self) -> None:
        """Close the study's database connections (a pooled connection left to the garbage
        collector stays open on the server until then). The record is not used after."""
        if self._db is not None:
            self._db.close()
        engine = getattr(self._storage, "engine", None)  # an RDBStorage opened on demand
        if engine is not None:
            engine.dispose()

    def __enter__(self) -> StudyRecord:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- opening --------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        url: str,
        name: str,
        problem: Problem,
        *,
        create: bool = True,
        searcher: str | None = None,
        seed: int = 0,
    ) -> StudyRecord:
        """Open study ``name`` for ``problem``, creating it if allowed; refuse another problem.
        The record's problem is the one resumed: with an unchosen kind of space, the study's
        (:func:`~mapsearch.studies.fingerprint.resumed_problem`).

        A new study records the problem, Optuna's metric names (the objectives) and, when
        ``searcher`` is given, its provenance (:mod:`mapsearch.studies.provenance`).
        Processes opening the same new study at once all end up in that one study.
        """
        check_study_name(name)
        storage = _open(url, create=create)
        fp = fingerprint_json(problem)
        attrs: dict[str, Any] = {FINGERPRINT_ATTR: fp, DESCRIPTION_ATTR: problem.description()}
        if searcher is not None:
            attrs.update(creation_attrs(searcher, seed, str(problem.semantics)))
        system_attrs = {METRIC_NAMES_ATTR: [o.name for o in problem.objectives]}
        directions = [_direction(d) for d in problem.directions]
        with guarded(url):
            if isinstance(storage, _rdb.Database):
                if create:
                    study_id = _rdb.ensure_study(storage, name, directions, attrs, system_attrs)
                else:
                    found = _rdb.find_study(storage, name)
                    if found is None:
                        raise StudyError(f"no study {name!r} in {display_url(url)}")
                    study_id = found
                stored_attrs = _rdb.study_attrs(storage, study_id)
            else:
                study_id = cls._open_api(
                    storage, url, name, directions, attrs, system_attrs, create=create
                )
                stored_attrs = storage.get_study_user_attrs(study_id)
        stored = stored_attrs.get(FINGERPRINT_ATTR)
        where = display_url(url)
        if stored is None:
            raise StudyError(
                f"study {name!r} in {where} was not created by mapsearch; choose another --study"
            )
        resumed = resumed_problem(problem, json.loads(stored), study=name, where=where)
        if resumed is None:
            raise StudyError(
                f"study {name!r} in {where} holds a different problem; refusing to mix them.\n"
                f"stored problem:\n{_indent(stored_attrs.get(DESCRIPTION_ATTR, stored))}\n"
                f"this problem:\n{_indent(problem.description())}\n"
                "Pass another --study name (or --storage) to start a new study."
            )
        return cls(storage, url, name, study_id, resumed)

    @staticmethod
    def _open_api(
        storage: BaseStorage,
        url: str,
        name: str,
        directions: list[_rdb.StudyDirection],
        attrs: dict[str, Any],
        system_attrs: dict[str, Any],
        *,
        create: bool,
    ) -> int:
        """Open or create through Optuna's API (journal storage); a study left without
        attributes and trials by a killed process is taken over."""
        import optuna
        from optuna.study import StudyDirection

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            study_id = storage.get_study_id_from_name(name)
        except KeyError:
            if not create:
                raise StudyError(f"no study {name!r} in {display_url(url)}") from None
            optuna.create_study(
                storage=storage,
                study_name=name,
                directions=[StudyDirection[d.name] for d in directions],
                load_if_exists=True,
            )
            study_id = storage.get_study_id_from_name(name)
        if not storage.get_study_user_attrs(study_id) and storage.get_n_trials(study_id) == 0:
            for key, value in attrs.items():
                storage.set_study_user_attr(study_id, key, value)
            for key, value in system_attrs.items():
                storage.set_study_system_attr(study_id, key, value)
        return int(study_id)

    @classmethod
    def load(cls, url: str, name: str) -> StudyRecord:
        """Open an existing study, rebuilding its problem from the stored fingerprint."""
        storage = _open(url, create=False)
        with guarded(url, decoding=True):
            if isinstance(storage, _rdb.Database):
                found = _rdb.find_study(storage, name)
                study_id = -1 if found is None else found
                attrs = {} if found is None else _rdb.study_attrs(storage, found)
            else:
                try:
                    study_id = storage.get_study_id_from_name(name)
                    attrs = storage.get_study_user_attrs(study_id)
                except KeyError:
                    study_id, attrs = -1, {}
            if study_id < 0:
                if isinstance(storage, _rdb.Database):
                    known = [row[1] for row in _rdb.list_studies(storage)]
                else:
                    known = [s.study_name for s in storage.get_all_studies()]
                raise UnknownNameError(f"study in {display_url(url)}", name, known)
            stored = attrs.get(FINGERPRINT_ATTR)
            if stored is None:
                raise StudyError(
                    f"study {name!r} in {display_url(url)} was not created by mapsearch"
                )
            problem = problem_from_fingerprint(json.loads(stored))
        return cls(storage, url, name, study_id, problem)

    # --- study attributes -----------------------------------------------------------------
    def attrs(self) -> dict[str, Any]:
        """The study's user attributes."""
        with guarded(self.url, decoding=True):
            if self._db is not None:
                return _rdb.study_attrs(self._db, self.study_id)
            return dict(self.storage.get_study_user_attrs(self.study_id))

    def set_attr(self, key: str, value: Any) -> None:
        """Set one user attribute of the study (JSON-ready ``value``)."""
        with guarded(self.url):
            if self._db is not None:
                _rdb.set_study_attr(self._db, self.study_id, key, value)
            else:
                self.storage.set_study_user_attr(self.study_id, key, value)

    # --- reading --------------------------------------------------------------------------
    def n_trials(self) -> int:
        """Trials the study holds (an SQL count on relational storages)."""
        with guarded(self.url):
            if self._db is not None:
                return _rdb.count_trials(self._db, self.study_id)
            return int(self.storage.get_n_trials(self.study_id))

    def history(self) -> tuple[np.ndarray, Evaluation]:
        """Trial numbers and evaluations of every finished trial, in trial order."""
        with guarded(self.url, decoding=True):
            if self._db is not None:
                return self._history_rdb(self._db)
            return self._history_api()

    def best(self, limit: int | None = 50) -> tuple[np.ndarray, Evaluation]:
        """Trial numbers and evaluations of the best trials (``ranking.best_rows`` order), at
        most ``limit``: on relational storages, read without loading the history."""
        signs = np.asarray([o.sign for o in self.problem.objectives], dtype=np.float64)
        with guarded(self.url, decoding=True):
            if self._db is None:
                numbers, ev = self._history_api()
                rows = best_rows(ev.values, ev.feasible, signs)[:limit]
                return numbers[rows], ev.take(rows)
            ids, numbers, values = _best_rdb(self._db, self.study_id, signs, limit)
            params = _rdb.trial_params(self._db, ids.tolist())
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
        from optuna.trial import TrialState

        from mapsearch.spaces.optuna_params import genotype_of

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

    def _history_rdb(self, db: _rdb.Database) -> tuple[np.ndarray, Evaluation]:
        """Bulk read of Optuna's tables (``get_all_trials`` builds one object per trial)."""
        col = {g.name: k for k, g in enumerate(self._genes)}
        table = _rdb.read_trials(db, self.study_id, col, len(self.problem.objectives))
        values = table.values
        violation = np.zeros(len(values))
        reasons = np.full(len(values), "", dtype=object)
        for k in np.flatnonzero(~table.complete).tolist():
            self._failed(k, table.failed.get(k, {}), values, violation, reasons)
        order = np.argsort(table.numbers, kind="stable")
        ev = Evaluation(
            genotypes=table.genotypes, values=values, violation=violation, reasons=reasons
        )
        return table.numbers[order], ev.take(order)

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
            if self._db is not None:
                return self._write_rdb(self._db, ev, limit)
            return self._write_api(ev, limit)

    def _write_api(self, ev: Evaluation, limit: int | None) -> int:
        import optuna
        from optuna.trial import TrialState, create_trial

        from mapsearch.spaces.optuna_params import distributions, params_of

        dists = distributions(self._genes)
        n = len(ev) if limit is None else max(0, min(len(ev), limit - self.n_trials()))
        study = optuna.load_study(study_name=self.name, storage=self.storage)
        attrs: list[dict[str, Any]] = [{} for _ in range(n)]
        for k, key, text in attr_rows(ev.take(np.arange(n))):
            attrs[k][key] = json.loads(text)
        trials = []
        for k in range(n):
            params = params_of(self._genes, ev.genotypes[k])
            ok = ev.violation[k] == 0
            trials.append(
                create_trial(
                    params=params,
                    distributions={n: dists[n] for n in params},
                    values=[float(v) for v in ev.values[k]] if ok else None,
                    state=TrialState.COMPLETE if ok else TrialState.FAIL,
                    user_attrs=attrs[k],
                )
            )
        study.add_trials(trials)
        return n

    def _write_rdb(self, db: _rdb.Database, ev: Evaluation, limit: int | None) -> int:
        return _rdb.write_trials(
            db,
            self.study_id,
            param_names=[self._genes[k].name for k in self._free],
            params=ev.genotypes[:, self._free].astype(np.float64),
            distributions=self._dist_json,
            values=ev.values,
            complete=ev.violation == 0,
            attrs=attr_rows(ev),
            limit=limit,
        )


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in str(text).splitlines())
