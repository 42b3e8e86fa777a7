"""Objectives read the right report fields; constraints measure violations and name them."""

from __future__ import annotations

import numpy as np
import pytest

from mapsearch.costmodel import MappingBatch, evaluate_batch
from mapsearch.errors import UnknownNameError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.objectives import OBJECTIVES, Constraints, get_objective, get_objectives

LAYER = Layer.conv("small", K=8, C=4, R=3, S=3, Y=8, X=8)


@pytest.fixture(scope="module")
def report(xp):
    hw = Hardware(num_pes=8, offchip_bw_words_per_cycle=10**6)
    return evaluate_batch(
        LAYER, hw, MappingBatch.from_mappings([xp(), xp()], LAYER), semantics="maestro"
    )


def test_objectives_read_report_fields(report):
    assert np.array_equal(OBJECTIVES["latency"].value(report), report.runtime_cycles)
    assert np.array_equal(
        OBJECTIVES["edp"].value(report), report.energy_total * report.runtime_cycles
    )
    assert np.array_equal(
        OBJECTIVES["throughput"].value(report), report.macs / report.runtime_cycles
    )
    assert (
        OBJECTIVES["throughput"].direction == "maximize" and OBJECTIVES["throughput"].sign == -1.0
    )
    assert {o.direction for n, o in OBJECTIVES.items() if n != "throughput"} == {"minimize"}


def test_unknown_objective_suggests_close_names():
    with pytest.raises(UnknownNameError, match="edp"):
        get_objective("epd")
    with pytest.raises(KeyError):  # the error is also a KeyError
        get_objective("speed")
    assert [o.name for o in get_objectives(["EDP", "noc-bw"])] == ["edp", "noc_bw"]
    with pytest.raises(ValueError, match="twice"):
        get_objectives(["edp", "edp"])


def test_buffer_constraint_measures_relative_excess(report):
    need = float(report.l1_size_words[0])
    limit = int(need // 2)
    hw = Hardware(num_pes=8, l1_size_words=limit)
    violation, reasons = Constraints().check(report, hw)
    assert violation[0] == pytest.approx(need / limit - 1.0)
    assert reasons[0] == f"L1 requirement exceeds {limit} words/PE"
    roomy = Hardware(num_pes=8, l1_size_words=int(need), l2_size_words=int(report.l2_size_words[0]))
    violation, reasons = Constraints().check(report, roomy)
    assert violation.tolist() == [0.0, 0.0] and reasons.tolist() == ["", ""]


def test_budgets_add_up(report):
    area, power = float(report.area_um2[0]), float(report.power_mw[0])
    c = Constraints(area_budget_um2=area / 4, power_budget_mw=power / 2, buffers=False)
    violation, reasons = c.check(report, Hardware(num_pes=8))
    assert violation[0] == pytest.approx(3.0 + 1.0)
    assert "area exceeds" in reasons[0] and "power exceeds" in reasons[0]


def test_nonpositive_limits_are_refused():
    with pytest.raises(ValueError, match="area_budget_um2=0"):
        Constraints(area_budget_um2=0)
