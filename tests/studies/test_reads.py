"""Reading studies at speed: counts and best points come from SQL, a run reads its history
once (to resume) and never through Optuna's per-trial objects, and the SQL answers equal
the ones computed from the whole history."""

from __future__ import annotations

import numpy as np
import pytest
from optuna.storages import RDBStorage

from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions
from mapsearch.studies import RunConfig, StudyRecord, list_studies, run_study
from mapsearch.studies.results import best_indices, best_points
from mapsearch.studies.tune import tune

LAYER = Layer.conv("small", K=8, C=4, R=3, S=3, Y=8, X=8)
HW = Hardware(name="hw16", num_pes=16, l1_size_words=256, offchip_bw_words_per_cycle=10**6)


def problem(objectives: tuple[str, ...]) -> Problem:
    return Problem.create(
        LAYER, HW, list(objectives), options=SpaceOptions(levels=(1, 2)), semantics="maestro"
    )


@pytest.fixture
def no_optuna_trial_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("read every trial through Optuna")

    monkeypatch.setattr(RDBStorage, "get_all_trials", refuse)
    monkeypatch.setattr(RDBStorage, "get_n_trials", refuse)


@pytest.mark.parametrize("objectives", [("edp",), ("latency", "energy"), ("throughput",)])
def test_sql_best_points_equal_the_ones_of_the_history(objectives, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    p = problem(objectives)
    record = StudyRecord.open(url, "s", p)
    run_study(p, record, RunConfig(searcher="random", n_trials=300, batch_size=50))
    numbers, ev = record.history()
    expected = best_indices(p, ev)
    assert len(expected) >= 1
    points = best_points(record)
    assert [pt.trial for pt in points] == numbers[expected].tolist()
    for pt, i in zip(points, expected, strict=True):
        assert list(pt.objectives.values()) == ev.values[i].tolist()
        mapping, _, _ = p.report(ev.genotypes[i])
        assert pt.mapping == mapping
    (listed,) = list_studies(url)
    assert listed.n_trials == 300 and listed.n_best == len(expected)
    assert listed.best_value == ev.values[expected[0], 0]


def test_a_run_reads_its_history_once_and_counts_by_sql(
    tmp_path, monkeypatch, no_optuna_trial_reads
) -> None:
    reads = []
    history = StudyRecord.history

    def counted(self: StudyRecord) -> tuple[np.ndarray, object]:
        reads.append(self.name)
        return history(self)

    monkeypatch.setattr(StudyRecord, "history", counted)
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    config = RunConfig(searcher="ga", n_trials=96, batch_size=16)
    outcome = tune(problem(("latency", "energy")), config, study="s", storage=url)
    assert outcome.run.n_evaluations == 96 and outcome.points
    assert reads == ["s"]  # to resume; nothing is read back in full at the end
    assert list_studies(url)[0].n_trials == 96
