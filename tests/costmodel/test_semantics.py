"""Semantics is an enum that reads its plain names, and every layer keeps the enum."""

from __future__ import annotations

import json

import pytest

from mapsearch.costmodel import Semantics
from mapsearch.errors import UnknownNameError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.studies.fingerprint import fingerprint, problem_from_fingerprint


def test_names_parse_in_any_case_and_unknown_names_list_the_known() -> None:
    assert Semantics.parse(" MAESTRO ") is Semantics.MAESTRO
    assert Semantics.parse("exact") is Semantics.EXACT
    with pytest.raises(UnknownNameError, match="exact"):
        Semantics.parse("exakt")


def test_a_problem_stores_the_enum_and_its_fingerprint_the_plain_name() -> None:
    layer = Layer.conv("s", K=4, C=4, R=3, S=3, Y=8, X=8)
    problem = Problem.create(layer, Hardware(num_pes=16), ["latency"], semantics="maestro")
    assert problem.semantics is Semantics.MAESTRO
    fp = json.loads(json.dumps(fingerprint(problem)))
    assert fp["semantics"] == "maestro"
    assert fp["objectives"] == [["latency", "minimize"]]
    assert problem_from_fingerprint(fp).semantics is Semantics.MAESTRO
