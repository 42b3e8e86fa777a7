"""A changed space changes the fingerprint; studies made before space kinds stay compact."""

from __future__ import annotations

import pytest

from mapsearch.errors import MapsearchError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions
from mapsearch.studies import StudyRecord
from mapsearch.studies.fingerprint import fingerprint, problem_from_fingerprint

LAYER = Layer.conv("small", K=8, C=4, R=3, S=3, Y=8, X=8)
HW = Hardware(num_pes=16)


def make(kind: str) -> Problem:
    return Problem.create(LAYER, HW, ["edp"], options=SpaceOptions(kind=kind))


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


def test_old_study_resumes_compact_and_refuses_the_complete_space(tmp_path):
    url = f"sqlite:///{tmp_path / 's'}.sqlite3"
    StudyRecord.open(url, "s", make("compact"))
    StudyRecord.open(url, "s", make("compact"))  # resumes
    with pytest.raises(MapsearchError, match=r"(?i)differ|problem"):
        StudyRecord.open(url, "s", make("complete"))
