"""A changed space changes the fingerprint; studies made before space kinds stay compact,
and a run that does not choose a kind resumes a study with the study's own kind."""

from __future__ import annotations

import pytest

from mapsearch.errors import StudyError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.service.tune import tune
from mapsearch.spaces import SpaceOptions
from mapsearch.studies import RunConfig, StudyRecord
from mapsearch.studies.fingerprint import fingerprint, problem_from_fingerprint

LAYER = Layer.conv("small", K=8, C=4, R=3, S=3, Y=8, X=8)
HW = Hardware(num_pes=16)


def make(kind: str | None, objective: str = "edp") -> Problem:
    """The problem of ``LAYER`` on ``HW``; kind None: not chosen."""
    return Problem.create(LAYER, HW, [objective], options=SpaceOptions(kind=kind))


def test_complete_and_compact_spaces_have_different_fingerprints():
    complete, compact = fingerprint(make("complete")), fingerprint(make("compact"))
    assert complete != compact
    assert complete["space"]["kind"] == "complete"
    # the compact space's fingerprint is the one stored before space kinds existed
    assert set(compact["space"]) == {"levels", "tiles", "fixed", "clusters"}
    assert compact["space"]["clusters"] == [2, 4, 8, 16]
    assert complete["space"]["clusters"] == list(range(1, 17))


@pytest.mark.parametrize("kind", ["complete", "compact"])
def test_fingerprint_rebuilds_the_same_space(kind):
    p = make(kind)
    again = problem_from_fingerprint(fingerprint(p))
    assert again.space.options.kind == kind
    assert [g.name for g in again.genes] == [g.name for g in p.genes]
    assert fingerprint(again) == fingerprint(p)


def test_the_default_space_is_the_complete_one():
    unchosen = make(None)
    assert unchosen.space.complete
    assert fingerprint(unchosen) == fingerprint(make("complete"))


def test_old_study_resumes_compact_and_refuses_the_complete_space(tmp_path):
    url = f"sqlite:///{tmp_path / 's'}.sqlite3"
    # the compact fingerprint is also the one studies made before space kinds hold
    with StudyRecord.open(url, "s", make("compact")):
        pass
    with StudyRecord.open(url, "s", make("compact")) as record:  # resumes
        assert record.problem.space.options.kind == "compact"
    with StudyRecord.open(url, "s", make(None)) as record:  # no kind chosen: the study's
        assert record.problem.space.options.built_kind == "compact"
        assert not record.problem.space.complete
    with pytest.raises(StudyError, match=r"searches the compact space, not the complete"):
        StudyRecord.open(url, "s", make("complete"))


def test_complete_study_refuses_the_compact_space_and_resumes_unchosen(tmp_path):
    url = f"sqlite:///{tmp_path / 's'}.sqlite3"
    with StudyRecord.open(url, "s", make("complete")):
        pass
    with StudyRecord.open(url, "s", make(None)) as record:
        assert record.problem.space.complete
    with pytest.raises(StudyError, match=r"--space complete \(or without --space\)"):
        StudyRecord.open(url, "s", make("compact"))


def test_another_problem_is_refused_whatever_the_kind(tmp_path):
    url = f"sqlite:///{tmp_path / 's'}.sqlite3"
    with StudyRecord.open(url, "s", make("compact")):
        pass
    for kind in (None, "complete", "compact"):
        with pytest.raises(StudyError, match="different problem"):
            StudyRecord.open(url, "s", make(kind, "latency"))


def test_tune_without_a_kind_resumes_an_old_compact_study(tmp_path):
    """The Python API: a study made on the compact space gets more evaluations of it."""
    storage = f"sqlite:///{tmp_path / 's'}.sqlite3"
    settings = {"study": "s", "storage": storage, "semantics": "maestro", "seed_classics": False}
    compact = SpaceOptions(kind="compact")
    first = tune(LAYER, HW, options=compact, config=RunConfig(n_trials=8), **settings)
    again = tune(LAYER, HW, options=SpaceOptions(), config=RunConfig(n_trials=16), **settings)
    assert first.run.n_evaluations == 8 and again.run.n_evaluations == 16
    assert again.problem.space.options.built_kind == "compact"
    assert [g.name for g in again.problem.genes] == [g.name for g in first.problem.genes]
