"""Studies on PostgreSQL, the storage that workers on several machines share.

Needs a server: ``MAPSEARCH_TEST_POSTGRES`` holds its URL (``.ci/run`` starts a throwaway
server and sets it). Each test works in a study of its own name, so reruns never collide.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import replace

import numpy as np
import pytest

from mapsearch.errors import StudyError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions
from mapsearch.studies import RunConfig, StudyRecord, run_study

URL = os.environ.get("MAPSEARCH_TEST_POSTGRES", "")
pytestmark = pytest.mark.skipif(
    not URL, reason="set MAPSEARCH_TEST_POSTGRES to a PostgreSQL URL (.ci/run does)"
)

LAYER = Layer.conv("small", K=8, C=4, R=3, S=3, Y=8, X=8)
HW = Hardware(name="hw16", num_pes=16, l1_size_words=256, offchip_bw_words_per_cycle=10**6)


def problem(objectives: tuple[str, ...] = ("edp",)) -> Problem:
    return Problem.create(
        LAYER, HW, list(objectives), options=SpaceOptions(levels=(1, 2)), semantics="maestro"
    )


def fresh_name() -> str:
    return f"pg-{uuid.uuid4().hex[:12]}"


def test_evaluations_round_trip() -> None:
    p = problem(("latency", "energy"))
    name = fresh_name()
    ev = p.evaluate(p.genome.random(40, np.random.default_rng(0)))
    StudyRecord.open(URL, name, p).write(ev)
    numbers, back = StudyRecord.load(URL, name).history()
    assert numbers.tolist() == list(range(40))
    assert np.array_equal(back.genotypes, ev.genotypes)
    assert np.array_equal(back.feasible, ev.feasible)
    assert np.array_equal(back.values[ev.feasible], ev.values[ev.feasible])
    assert back.reasons.tolist() == ev.reasons.tolist()


def test_two_workers_share_one_study_and_resume_it(tmp_path) -> None:
    """Two joblib workers write one PostgreSQL study; a rerun continues the numbering, and
    the same seed and worker count give the same evaluations as on SQLite."""
    p = problem()
    name = fresh_name()
    config = RunConfig(searcher="random", n_trials=64, jobs=2, seed=3, batch_size=16)
    first = run_study(p, StudyRecord.open(URL, name, p), config)
    assert first.n_new == 64 and first.n_evaluations == 64
    resumed = run_study(p, StudyRecord.open(URL, name, p), replace(config, n_trials=96))
    assert resumed.n_new == 32 and resumed.n_evaluations == 96
    numbers, pg = StudyRecord.load(URL, name).history()
    assert numbers.tolist() == list(range(96))

    lite = f"sqlite:///{tmp_path / 's.sqlite3'}"
    run_study(p, StudyRecord.open(lite, name, p), config)
    _, local = StudyRecord.load(lite, name).history()
    assert sorted(map(tuple, local.genotypes)) == sorted(map(tuple, pg.genotypes[:64]))


def test_a_different_problem_is_refused() -> None:
    name = fresh_name()
    StudyRecord.open(URL, name, problem(("edp",)))
    with pytest.raises(StudyError, match="latency"):
        StudyRecord.open(URL, name, problem(("latency",)))
