"""Studies: where every evaluation is kept (Optuna storage), and how a study is (re)opened.

A study holds one problem. Its fingerprint (:mod:`mapsearch.studies.fingerprint`) and description are
stored as study user attributes and checked when a study is reopened: a different problem
is refused with both descriptions. Each evaluation is one Optuna trial whose parameters are
the genotype (``mapsearch.spaces.optuna_params``): feasible candidates
are ``COMPLETE`` with their objective values; infeasible ones are ``FAIL`` with the user
attributes ``infeasible`` (the reason), ``violation`` and ``values`` (if scored).

Storage URLs: any SQLAlchemy URL (``sqlite:///path``, ``postgresql://...``) or
``journal:PATH`` / a path ending in ``.log`` for Optuna's journal file storage (shared file
systems). The default is ``sqlite:///studies/<problem slug>.sqlite3`` under the CWD.

NOTE: writing trials through Optuna's public API costs 5-12 ms per trial on SQLite (one
transaction and several queries per attribute). Relational storages are therefore written
in bulk, one transaction per batch, into Optuna's own tables (its schema, so that every
Optuna reader, ``optuna-dashboard`` included, sees ordinary trials); other storages go
through ``Study.add_trials``.
"""

from __future__ import annotations

import datetime
import json
import math
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.study import StudyDirection
from optuna.trial import TrialState, create_trial

from mapsearch.errors import StudyError
from mapsearch.problem import Evaluation, Problem
from mapsearch.spaces.optuna_params import distributions, genotype_of, params_of
from mapsearch.studies.fingerprint import fingerprint_json, problem_from_fingerprint

FINGERPRINT_ATTR = "mapsearch.problem"
DESCRIPTION_ATTR = "mapsearch.description"
DEFAULT_DIR = Path("studies")
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _direction(text: str) -> StudyDirection:
    return StudyDirection.MINIMIZE if text == "minimize" else StudyDirection.MAXIMIZE


def default_storage_url(name: str, directory: Path = DEFAULT_DIR) -> str:
    """``sqlite:///<directory>/<name>.sqlite3`` (the directory is created when used)."""
    return f"sqlite:///{directory / (name + '.sqlite3')}"


def _sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        return None if path in ("", ":memory:") else Path(path)
    return None


def _journal_path(url: str) -> Path | None:
    if url.startswith("journal:"):
        return Path(url[len("journal:") :])
    if url.endswith(".log") and "://" not in url:
        return Path(url)
    return None


def check_sqlite_file(path: Path) -> None:
    """Refuse, without touching it, a file that is not an SQLite database of Optuna studies."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as f:
        head = f.read(len(_SQLITE_MAGIC))
    if head != _SQLITE_MAGIC:
        raise StudyError(
            f"{path} is not an SQLite database (corrupt, or another kind of file); it was left "
            "untouched. Move it away or pass another --storage/--study."
        )
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {
                r[0] for r in con.execute("select name from sqlite_master where type='table'")
            }
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


def open_storage(url: str, *, create: bool = True) -> BaseStorage:
    """The Optuna storage behind ``url`` (see the module docstring for the forms)."""
    journal = _journal_path(url)
    if journal is not None:
        if not create and not journal.exists():
            raise StudyError(f"no journal file {journal}")
        journal.parent.mkdir(parents=True, exist_ok=True)
        from optuna.storages.journal import JournalFileBackend

        return JournalStorage(JournalFileBackend(str(journal)))
    path = _sqlite_path(url)
    kwargs: dict[str, Any] = {}
    if path is not None:
        if not create and not path.exists():
            raise StudyError(f"no study database {path}; `mapsearch studies` lists the studies")
        check_sqlite_file(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"connect_args": {"timeout": 60}}
    try:
        return RDBStorage(url, engine_kwargs=kwargs)
    except Exception as e:  # SQLAlchemy raises many types for bad URLs and unreachable servers
        hint = ""
        if url.startswith("postgresql") and "import" in str(e).lower():
            hint = '; install the driver with `pip install -e ".[postgres]"`'
        raise StudyError(f"cannot open storage {url!r}: {e}{hint}") from e


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredStudy:
    """Summary of a study in a storage (for listings)."""

    name: str
    url: str
    n_trials: int
    description: str
    fingerprint: dict[str, Any] | None


def list_studies(url: str) -> list[StoredStudy]:
    storage = open_storage(url, create=False)
    out = []
    for s in storage.get_all_studies():
        fp = s.user_attrs.get(FINGERPRINT_ATTR)
        out.append(
            StoredStudy(
                name=s.study_name,
                url=url,
                n_trials=storage.get_n_trials(s._study_id),
                description=str(s.user_attrs.get(DESCRIPTION_ATTR, "(not a mapsearch study)")),
                fingerprint=json.loads(fp) if isinstance(fp, str) else None,
            )
        )
    return out


class StudyRecord:
    """An open study: reads its history and writes evaluations to it.

    Thread safety: one ``StudyRecord`` per process (workers open their own from the URL).
    """

    def __init__(
        self, storage: BaseStorage, url: str, name: str, study_id: int, problem: Problem
    ) -> None:
        self.storage = storage
        self.url = url
        self.name = name
        self.study_id = study_id
        self.problem = problem
        self._genes = problem.genes
        self._dists = distributions(self._genes)

    # --- opening --------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, name: str, problem: Problem, *, create: bool = True) -> StudyRecord:
        """Open study ``name`` for ``problem``, creating it if allowed; refuse another problem."""
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = open_storage(url, create=create)
        fp = fingerprint_json(problem)
        try:
            study_id = storage.get_study_id_from_name(name)
        except KeyError:
            if not create:
                raise StudyError(f"no study {name!r} in {url}") from None
            study = optuna.create_study(
                storage=storage,
                study_name=name,
                directions=[_direction(d) for d in problem.directions],
                load_if_exists=True,
            )
            study.set_user_attr(FINGERPRINT_ATTR, fp)
            study.set_user_attr(DESCRIPTION_ATTR, problem.description())
            study_id = storage.get_study_id_from_name(name)
        attrs = storage.get_study_user_attrs(study_id)
        stored = attrs.get(FINGERPRINT_ATTR)
        if stored is None:
            raise StudyError(
                f"study {name!r} in {url} was not created by mapsearch; choose another --study"
            )
        if json.loads(stored) != json.loads(fp):
            raise StudyError(
                f"study {name!r} in {url} holds a different problem; refusing to mix them.\n"
                f"stored problem:\n{_indent(attrs.get(DESCRIPTION_ATTR, stored))}\n"
                f"this problem:\n{_indent(problem.description())}\n"
                "Pass another --study name (or --storage) to start a new study."
            )
        return cls(storage, url, name, study_id, problem)

    @classmethod
    def load(cls, url: str, name: str) -> StudyRecord:
        """Open an existing study, rebuilding its problem from the stored fingerprint."""
        storage = open_storage(url, create=False)
        try:
            study_id = storage.get_study_id_from_name(name)
        except KeyError:
            known = [s.study_name for s in storage.get_all_studies()]
            from mapsearch.errors import UnknownNameError

            raise UnknownNameError(f"study in {url}", name, known) from None
        stored = storage.get_study_user_attrs(study_id).get(FINGERPRINT_ATTR)
        if stored is None:
            raise StudyError(f"study {name!r} in {url} was not created by mapsearch")
        problem = problem_from_fingerprint(json.loads(stored))
        return cls(storage, url, name, study_id, problem)

    # --- reading --------------------------------------------------------------------------
    def n_trials(self) -> int:
        return int(self.storage.get_n_trials(self.study_id))

    def history(self) -> tuple[np.ndarray, Evaluation]:
        """Trial numbers and evaluations of every finished trial, in trial order."""
        if isinstance(self.storage, RDBStorage):
            return self._history_rdb()
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

    def _history_rdb(self) -> tuple[np.ndarray, Evaluation]:
        """Bulk read of Optuna's tables (``get_all_trials`` builds one object per trial)."""
        from optuna.storages._rdb import models
        from sqlalchemy import select

        assert isinstance(self.storage, RDBStorage)
        trials_t = models.TrialModel.__table__
        params_t = models.TrialParamModel.__table__
        values_t = models.TrialValueModel.__table__
        attrs_t = models.TrialUserAttributeModel.__table__
        n_obj = len(self.problem.objectives)
        col = {g.name: k for k, g in enumerate(self._genes)}
        mine = select(trials_t.c.trial_id).where(trials_t.c.study_id == self.study_id)
        with self.storage.engine.connect() as conn:
            rows = conn.execute(
                select(trials_t.c.trial_id, trials_t.c.number, trials_t.c.state).where(
                    trials_t.c.study_id == self.study_id,
                    trials_t.c.state.in_([TrialState.COMPLETE, TrialState.FAIL]),
                )
            ).all()
            params = conn.execute(
                select(params_t.c.trial_id, params_t.c.param_name, params_t.c.param_value).where(
                    params_t.c.trial_id.in_(mine)
                )
            ).all()
            vals = conn.execute(
                select(
                    values_t.c.trial_id,
                    values_t.c.objective,
                    values_t.c.value,
                    values_t.c.value_type,
                ).where(values_t.c.trial_id.in_(mine))
            ).all()
            attrs = conn.execute(
                select(attrs_t.c.trial_id, attrs_t.c.key, attrs_t.c.value_json).where(
                    attrs_t.c.trial_id.in_(mine)
                )
            ).all()
        n = len(rows)
        ids = np.asarray([r[0] for r in rows], dtype=np.int64)
        numbers = np.asarray([r[1] for r in rows], dtype=np.int64)
        row_of = {int(t): k for k, t in enumerate(ids)}
        genotypes = np.zeros((n, len(self._genes)), dtype=np.int64)
        # NOTE: the internal representation of both distributions is the choice index.
        for tid, name, value in params:
            k = row_of.get(tid)
            if k is not None and name in col:
                genotypes[k, col[name]] = int(value)
        values = np.full((n, n_obj), np.nan)
        for tid, objective, value, kind in vals:
            k = row_of.get(tid)
            if k is not None and objective < n_obj:
                values[k, objective] = models.TrialValueModel.stored_repr_to_value(value, kind)
        violation = np.zeros(n)
        reasons = np.full(n, "", dtype=object)
        failed_attrs: dict[int, dict[str, Any]] = {}
        for tid, key, text in attrs:
            failed_attrs.setdefault(tid, {})[key] = json.loads(text)
        for k, r in enumerate(rows):
            if r[2] is TrialState.FAIL or r[2] == TrialState.FAIL.name:
                self._failed(k, failed_attrs.get(r[0], {}), values, violation, reasons)
        order = np.argsort(numbers, kind="stable")
        ev = Evaluation(genotypes=genotypes, values=values, violation=violation, reasons=reasons)
        return numbers[order], ev.take(order)

    # --- writing --------------------------------------------------------------------------
    def write(self, ev: Evaluation) -> None:
        """Record every evaluation of ``ev`` as a finished trial (one transaction on RDB storages)."""
        if len(ev) == 0:
            return
        if isinstance(self.storage, RDBStorage):
            self._write_rdb(ev)
        else:
            self._write_api(ev)

    def _attrs(self, ev: Evaluation, k: int) -> dict[str, Any]:
        if ev.violation[k] == 0:
            return {}
        values = [None if not np.isfinite(v) else float(v) for v in ev.values[k]]
        return {
            "infeasible": str(ev.reasons[k]),
            "violation": float(ev.violation[k]),
            "values": values if any(v is not None for v in values) else None,
        }

    def _write_api(self, ev: Evaluation) -> None:
        study = optuna.load_study(study_name=self.name, storage=self.storage)
        trials = []
        for k in range(len(ev)):
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

    def _write_rdb(self, ev: Evaluation) -> None:
        from optuna.distributions import distribution_to_json
        from optuna.storages._rdb import models
        from sqlalchemy import exc, func, insert, select

        assert isinstance(self.storage, RDBStorage)
        trials_t = models.TrialModel.__table__
        params_t = models.TrialParamModel.__table__
        values_t = models.TrialValueModel.__table__
        attrs_t = models.TrialUserAttributeModel.__table__
        studies_t = models.StudyModel.__table__
        dist_json = {n: distribution_to_json(d) for n, d in self._dists.items()}
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        n = len(ev)
        feasible = ev.violation == 0
        param_rows = [params_of(self._genes, ev.genotypes[k]) for k in range(n)]
        for attempt in range(20):
            try:
                with self.storage.engine.begin() as conn:
                    conn.execute(
                        select(studies_t.c.study_id)
                        .where(studies_t.c.study_id == self.study_id)
                        .with_for_update()
                    )
                    start = conn.execute(
                        select(func.count())
                        .select_from(trials_t)
                        .where(trials_t.c.study_id == self.study_id)
                    ).scalar_one()
                    conn.execute(
                        insert(trials_t),
                        [
                            {
                                "number": start + k,
                                "study_id": self.study_id,
                                "state": TrialState.COMPLETE if feasible[k] else TrialState.FAIL,
                                "datetime_start": now,
                                "datetime_complete": now,
                            }
                            for k in range(n)
                        ],
                    )
                    ids: dict[int, int] = dict(
                        conn.execute(
                            select(trials_t.c.number, trials_t.c.trial_id).where(
                                trials_t.c.study_id == self.study_id, trials_t.c.number >= start
                            )
                        ).all()
                    )
                    prow, vrow, arow = [], [], []
                    for k in range(n):
                        tid = ids[start + k]
                        for name, value in param_rows[k].items():
                            internal = self._dists[name].to_internal_repr(value)
                            prow.append(
                                {
                                    "trial_id": tid,
                                    "param_name": name,
                                    "param_value": internal,
                                    "distribution_json": dist_json[name],
                                }
                            )
                        if feasible[k]:
                            for j, v in enumerate(ev.values[k]):
                                stored, kind = models.TrialValueModel.value_to_stored_repr(float(v))
                                vrow.append(
                                    {
                                        "trial_id": tid,
                                        "objective": j,
                                        "value": stored,
                                        "value_type": kind,
                                    }
                                )
                        else:
                            for key, v in self._attrs(ev, k).items():
                                arow.append(
                                    {"trial_id": tid, "key": key, "value_json": json.dumps(v)}
                                )
                    for table, rows in ((params_t, prow), (values_t, vrow), (attrs_t, arow)):
                        if rows:
                            conn.execute(insert(table), rows)
                return
            except (
                exc.OperationalError
            ) as e:  # SQLite "database is locked" under concurrent writers
                if attempt == 19:
                    raise StudyError(f"cannot write to {self.url}: {e}") from e
                time.sleep(0.05 * (1 + attempt % 4))


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in str(text).splitlines())
