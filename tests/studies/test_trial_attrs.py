"""Trial attributes encoded a batch at a time (``studies/trial_attrs.py``) are exactly what
``json.dumps`` writes for each trial's attribute values, in the documented order."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from mapsearch.costmodel.summary import TRIAL_METRICS, hardware_attrs
from mapsearch.hardware.presets import preset
from mapsearch.layers.zoo import find_layer
from mapsearch.problem import Evaluation, Problem
from mapsearch.studies.trial_attrs import attr_rows


def _expected(ev: Evaluation, k: int) -> dict[str, Any]:
    """Trial ``k``'s attributes as values, built from their definition."""
    out: dict[str, Any] = {}
    s = ev.summaries
    if s is not None and s.hardware[k] is not None:
        hw = s.hardware[k]
        out["mapping"] = s.mappings[k]
        out["hardware"] = hardware_attrs(hw)
        if np.isfinite(s.metrics[k]).all():
            out["metrics"] = {
                **{name: float(v) for name, v in zip(TRIAL_METRICS, s.metrics[k], strict=True)},
                "energy_unit": hw.energy.unit,
            }
    if ev.violation[k] != 0:
        values = [float(v) if math.isfinite(v) else None for v in ev.values[k]]
        out["infeasible"] = str(ev.reasons[k])
        out["violation"] = float(ev.violation[k])
        out["values"] = values if any(v is not None for v in values) else None
    return out


def test_attr_rows_are_json_dumps_of_each_attribute() -> None:
    problem = Problem.create(
        find_layer("conv3_1"), preset("edge_256"), ["edp", "latency"], semantics="maestro"
    )
    ev = problem.evaluate(problem.genome.random(300, np.random.default_rng(7)))
    # Cover what a search rarely meets: an infinite violation, a partly scored row.
    values = ev.values.copy()
    values[0, 1] = np.nan
    violation = ev.violation.copy()
    violation[0], violation[1] = 0.5, math.inf
    reasons = ev.reasons.copy()
    reasons[0], reasons[1] = 'quote " and \\ and é', "rejected"
    ev = Evaluation(
        genotypes=ev.genotypes,
        values=values,
        violation=violation,
        reasons=reasons,
        summaries=ev.summaries,
    )
    assert ev.feasible.any() and not ev.feasible.all()
    rows = attr_rows(ev)
    assert [k for k, _, _ in rows] == sorted(k for k, _, _ in rows)
    for k in range(len(ev)):
        got = [(key, text) for j, key, text in rows if j == k]
        assert got == [(key, json.dumps(v)) for key, v in _expected(ev, k).items()]


def test_attr_rows_without_summaries_keep_only_why_infeasible() -> None:
    ev = Evaluation(
        genotypes=np.zeros((2, 1), np.int64),
        values=np.asarray([[1.0], [np.nan]]),
        violation=np.asarray([0.0, math.inf]),
        reasons=np.asarray(["", "did not decode"], dtype=object),
    )
    assert attr_rows(ev) == [
        (1, "infeasible", '"did not decode"'),
        (1, "violation", "Infinity"),
        (1, "values", "null"),
    ]
